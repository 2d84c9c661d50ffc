# Finding libdask.so. `ccall`s name the library by its soname; once the file found here is
# loaded, the dynamic linker answers every later lookup of that soname with it.

"""The soname every `ccall` in CAPI names."""
const libdask = "libdask.so.0"

"""Where the library was loaded from (set by `__init__`)."""
const LIBRARY_PATH = Ref{String}("")

function library_candidates()
    tried = String[]
    env = get(ENV, "LIBDASK_PATH", "")
    if !isempty(env)
        p = isdir(env) ? joinpath(env, "libdask.so") : env
        isfile(p) && return p, tried
        push!(tried, "LIBDASK_PATH=$env (no such file)")
    else
        push!(tried, "the environment variable LIBDASK_PATH (not set)")
    end
    repo = normpath(joinpath(@__DIR__, "..", "..", "..", "..", "target", "release", "libdask.so"))
    isfile(repo) && return repo, tried
    push!(tried, "the repository's build output $repo (run `make build`)")
    push!(tried, "the system library path ($libdask; `make install`)")
    return nothing, tried
end

function load_library()
    path, tried = library_candidates()
    if path === nothing
        h = Libdl.dlopen_e(libdask, Libdl.RTLD_GLOBAL)
        h == C_NULL && error("LibDask: libdask not found. Looked in:\n  " * join(tried, "\n  "))
        LIBRARY_PATH[] = Libdl.dlpath(h)
    else
        Libdl.dlopen(path, Libdl.RTLD_GLOBAL)
        LIBRARY_PATH[] = path
    end
    nothing
end
