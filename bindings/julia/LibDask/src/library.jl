# Finding libdask.so. `ccall`s name the library by its soname; once the file found here is
# loaded, the dynamic linker answers every later lookup of that soname with it.

"""The soname every `ccall` in CAPI names."""
const libdask = "libdask.so.1"

"""Where the library was loaded from (set by `__init__`)."""
const LIBRARY_PATH = Ref{String}("")

"""The repository's build output, when this package sits in the libdask repository."""
repo_library() = normpath(joinpath(@__DIR__, "..", "..", "..", "..", "target", "release", "libdask.so"))

"""
Loads libdask from, in order: the file (or directory holding libdask.so) named by the
environment variable `LIBDASK_PATH`; the repository's build output; the system library
path. An explicit `LIBDASK_PATH` that names no library is an error, not skipped.
"""
function load_library()
    env = get(ENV, "LIBDASK_PATH", "")
    if !isempty(env)
        p = isdir(env) ? joinpath(env, "libdask.so") : env
        isfile(p) || error("LibDask: LIBDASK_PATH=$env names no libdask.so")
        Libdl.dlopen(p, Libdl.RTLD_GLOBAL)
        LIBRARY_PATH[] = p
        return nothing
    end
    repo = repo_library()
    if isfile(repo)
        Libdl.dlopen(repo, Libdl.RTLD_GLOBAL)
        LIBRARY_PATH[] = repo
        return nothing
    end
    h = Libdl.dlopen_e(libdask, Libdl.RTLD_GLOBAL)
    h == C_NULL && error("LibDask: libdask not found. Looked in:\n" *
                         "  1. the environment variable LIBDASK_PATH (not set)\n" *
                         "  2. the repository's build output $repo (run `make build`)\n" *
                         "  3. the system library path, as $libdask (`make install`)")
    LIBRARY_PATH[] = Libdl.dlpath(h)
    nothing
end
