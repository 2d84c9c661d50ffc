"""
    Client(; threads = 0, memory_limit = nothing, spill_dir = nothing)
    Client(address; ca = nothing, cert = nothing, key = nothing, require_encryption = false)
    Client(cluster::LocalCluster)

A libdask scheduler. Without an address: a local thread pool (`threads = 0`: one per core)
and a store of results; `memory_limit` is bytes (`2^30`), a fraction of the machine's memory
(`0.5`) or a string (`"4GiB"`, `"500MB"`); past it, results spill to `spill_dir` (default: a
fresh temporary directory). With an address (`"tcp://host:8786"`, `"tls://host:8786"` with
the cluster's CA and this client's certificate and key files): a client of that cluster,
where arrays, futures and datasets then live. Julia functions submitted as tasks run on
Julia's thread, woken through the event loop; `close(client)` stops it (a finalizer does
otherwise).
"""
mutable struct Client
    ptr::Ptr{dask_client}
    wake::Base.AsyncCondition
end

Base.isopen(c::Client) = c.ptr != C_NULL
function Base.unsafe_convert(::Type{Ptr{dask_client}}, c::Client)
    c.ptr == C_NULL && throw(DaskError(CAPI.DASK_ERR_INVALID_HANDLE, "this Client was closed"))
    c.ptr
end

const UNITS = Dict("" => 1, "B" => 1, "KB" => 10^3, "MB" => 10^6, "GB" => 10^9, "TB" => 10^12,
                   "KIB" => 2^10, "MIB" => 2^20, "GIB" => 2^30, "TIB" => 2^40)

function parse_bytes(s::AbstractString)
    m = match(r"^\s*([0-9.]+)\s*([A-Za-z]*)\s*$", s)
    m === nothing && throw(ArgumentError("memory_limit: cannot read \"$s\" (e.g. \"4GiB\")"))
    unit = uppercase(m.captures[2])
    haskey(UNITS, unit) || throw(ArgumentError("memory_limit: unknown unit \"$(m.captures[2])\""))
    round(UInt64, parse(Float64, m.captures[1]) * UNITS[unit])
end

optional_string(x) = x === nothing ? nothing : String(x)
c_string(x) = x === nothing ? Ptr{UInt8}(C_NULL) : pointer(x)

function Client(address::AbstractString; ca = nothing, cert = nothing, key = nothing,
                require_encryption::Bool = false, threads::Integer = 1, kwargs...)
    Client(; address, ca, cert, key, require_encryption, threads, kwargs...)
end

function Client(; threads::Integer = 0, memory_limit = nothing, spill_dir = nothing,
                address = nothing, ca = nothing, cert = nothing, key = nothing,
                require_encryption::Bool = false)
    cfg = Ref{dask_config}()
    check(CAPI.dask_config_init(cfg, sizeof(dask_config)))
    c = cfg[]
    limit, fraction = c.memory_limit, c.memory_fraction
    if memory_limit isa AbstractFloat
        fraction = Float64(memory_limit)
    elseif memory_limit isa Integer
        limit = UInt64(memory_limit)
    elseif memory_limit isa AbstractString
        limit = parse_bytes(memory_limit)
    elseif memory_limit !== nothing
        throw(ArgumentError("memory_limit: bytes, a fraction or a string, not $(typeof(memory_limit))"))
    end
    dir, addr = optional_string(spill_dir), optional_string(address)
    ca, cert, key = optional_string(ca), optional_string(cert), optional_string(key)
    ptr = GC.@preserve dir addr ca cert key begin
        cfg[] = dask_config(c.struct_size, UInt32(threads), limit, c.memory_target,
                            c.memory_spill, c.memory_pause, c_string(dir),
                            c.disk_limit, c.spill_compression, c.network_compression, fraction,
                            c_string(addr), c_string(ca), c_string(cert), c_string(key),
                            UInt32(require_encryption))
        out_ptr(o -> CAPI.dask_client_new(cfg, o), dask_client)
    end
    wrap_client(ptr)
end

# A Julia Client around a new library client: its host tasks (Julia functions) run here.
function wrap_client(ptr::Ptr{dask_client})
    client = Client(ptr, Base.AsyncCondition())
    finalizer(close, client)
    # Host tasks (Julia functions) queue in the library; it signals this condition and a
    # Julia task runs them. The runner holds the client weakly, so it can be collected.
    check(CAPI.dask_client_set_host_notify(client, UV_ASYNC_SEND[], client.wake.handle))
    register_client(client)
    start_host_loop(WeakRef(client), client.wake)
    client
end

@noinline start_host_loop(wr, wake) = (@async host_loop(wr, wake); nothing)

"""
    Client(f; kwargs...)

Runs `f(client)` with a new client and closes it afterwards: `Client() do c … end`.
"""
function Client(f::Function; kwargs...)
    c = Client(; kwargs...)
    try
        f(c)
    finally
        close(c)
    end
end

function host_loop(wr::WeakRef, wake::Base.AsyncCondition)
    while true
        try
            wait(wake)
        catch
            return # closed with the client
        end
        run_queued(wr) || return
        drain_released()
    end
end

# The client is held only inside this call: a reference left in the loop's own frame would
# stay rooted while the loop waits, and the client would never be finalised.
@noinline function run_queued(wr::WeakRef)
    c = wr.value
    (c === nothing || !isopen(c)) && return false
    run_host_tasks(c)
    true
end

# Every open client, weakly: a host task that waits runs the queued host tasks itself.
const CLIENTS = WeakRef[]

function register_client(c::Client)
    filter!(w -> w.value !== nothing, CLIENTS)
    push!(CLIENTS, WeakRef(c))
end

"""Runs the host tasks queued in every open client; the number run."""
function run_all_host_tasks()
    n = 0
    for w in copy(CLIENTS)
        c = w.value
        c isa Client && isopen(c) && (n += run_host_tasks(c))
    end
    n
end

"""Runs the Julia host tasks queued in `c` (normally done by the client's own Julia task)."""
function run_host_tasks(c::Client)
    ran = Ref{Csize_t}(0)
    check(CAPI.dask_client_run_host_tasks(c, typemax(Csize_t), ran))
    Int(ran[])
end

function Base.close(c::Client)
    p = c.ptr
    p == C_NULL && return nothing
    c.ptr = C_NULL
    CAPI.dask_client_set_host_notify(p, C_NULL, C_NULL)
    CAPI.dask_client_free(p)
    close(c.wake)
    nothing
end

threads(c::Client) = (n = Ref{Csize_t}(0); check(CAPI.dask_client_threads(c, n)); Int(n[]))

function Base.show(io::IO, c::Client)
    isopen(c) || return print(io, "Client(closed)")
    print(io, "Client(", threads(c), " threads)")
end

const DEFAULT_CLIENT = Ref{Union{Client,Nothing}}(nothing)

"""
The client used when none is given, created on first use: the cluster at
`ENV["DASK_SCHEDULER_ADDRESS"]` when set (TLS files from `DASK_TLS_CA`, `DASK_TLS_CERT`,
`DASK_TLS_KEY`; `libdask local-cluster -- julia …` sets them), else one thread per core here.
"""
function default_client()
    c = DEFAULT_CLIENT[]
    if c === nothing || !isopen(c)
        c = wrap_client(out_ptr(o -> CAPI.dask_client_new_default(o), dask_client))
        DEFAULT_CLIENT[] = c
    end
    c
end

"""The memory counters of `client` as a NamedTuple (managed, spilled, paused, …)."""
function memory_stats(client::Client = default_client())
    s = Ref{dask_memory_stats}()
    check(CAPI.dask_client_memory_stats(client, s, sizeof(dask_memory_stats)))
    x = s[]
    names = filter(!=(:struct_size), fieldnames(dask_memory_stats))
    # Counts and bytes as plain Ints (UInt64 would print in hex).
    NamedTuple{names}(Tuple(getfield(x, f) isa Unsigned ? Int(getfield(x, f)) : getfield(x, f) for f in names))
end
