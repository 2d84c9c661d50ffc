# Julia objects lent to the library (arrays wrapped without copying, functions and values
# carried by host tasks) are rooted here under a token. The library may drop its last
# reference on any thread; it then only queues the token (dask_host_ref_release), and the
# queue is drained here, on Julia's thread, where unrooting is allowed.

const REFS = Dict{UInt64,Any}()
# Julia's host id ('J') in the tokens' top bits: another host in this process (R) drains its own.
const HOST_ID = UInt16('J')
const NEXT_REF = Ref{UInt64}(UInt64(HOST_ID) << CAPI.DASK_HOST_TAG_SHIFT)
const RELEASE = Ref{Ptr{Cvoid}}(C_NULL)
const DRAIN_BUFFER = UInt64[]

init_hostrefs() = (RELEASE[] = Libdl.dlsym(Libdl.dlopen(LIBRARY_PATH[]), :dask_host_ref_release);
                   resize!(DRAIN_BUFFER, 256); nothing)

"""Roots `x` until the library releases the returned token."""
function hostref(x)
    drain_released()
    t = (NEXT_REF[] += 1)
    REFS[t] = x
    t
end

"""Unroots every object the library has let go of since the last call."""
function drain_released()
    n = Ref{Csize_t}(0)
    while true
        check(CAPI.dask_host_refs_released(HOST_ID, DRAIN_BUFFER, length(DRAIN_BUFFER), n))
        for i in 1:n[]
            delete!(REFS, DRAIN_BUFFER[i])
        end
        n[] < length(DRAIN_BUFFER) && return nothing
    end
end

"""Number of Julia objects the library holds right now (after unrooting released ones)."""
live_host_refs() = (drain_released(); length(REFS))
