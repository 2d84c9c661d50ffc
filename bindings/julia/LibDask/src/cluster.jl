"""
    LocalCluster(n_workers = 2; threads_per_worker = 1, memory_limit = nothing, tls = false)

A scheduler and `n_workers` worker processes of the `libdask` program on this machine (Dask's
`LocalCluster`), for tests and laptops; `Client(cluster)` connects to it. With `tls = true`
every connection uses mutual TLS with a fresh CA (`tls_dir(cluster)` holds the files, for
clients in other processes). `close(cluster)` stops the processes (a finalizer does
otherwise).
"""
mutable struct LocalCluster
    ptr::Ptr{CAPI.dask_cluster}
end

function LocalCluster(n_workers::Integer = 2; threads_per_worker::Integer = 1,
                      memory_limit = nothing, tls::Bool = false)
    n_workers >= 1 || throw(ArgumentError("a cluster needs at least one worker"))
    cfg = Ref{dask_config}()
    check(CAPI.dask_config_init(cfg, sizeof(dask_config)))
    c = cfg[]
    limit = memory_limit === nothing ? UInt64(0) :
            memory_limit isa AbstractString ? parse_bytes(memory_limit) : UInt64(memory_limit)
    cfg[] = dask_config(c.struct_size, c.threads, limit, c.memory_target, c.memory_spill,
                        c.memory_pause, c.spill_dir, c.disk_limit, c.spill_compression,
                        c.network_compression, c.memory_fraction, c.address, c.tls_ca,
                        c.tls_cert, c.tls_key, UInt32(tls))
    p = out_ptr(o -> CAPI.dask_cluster_local(n_workers, threads_per_worker, cfg, o),
                CAPI.dask_cluster)
    cl = LocalCluster(p)
    finalizer(close, cl)
    cl
end

function live(cl::LocalCluster)
    cl.ptr == C_NULL && throw(DaskError(CAPI.DASK_ERR_INVALID_HANDLE, "this LocalCluster was closed"))
    cl.ptr
end

"""The scheduler's address (`"tcp://127.0.0.1:PORT"` or `"tls://…"`)."""
address(cl::LocalCluster) = unsafe_string(CAPI.dask_cluster_address(live(cl)))

"""The directory of a TLS cluster's certificate files (`ca.pem`, `client.pem`,
`client-key.pem`, …), or `nothing` for plain TCP."""
function tls_dir(cl::LocalCluster)
    p = CAPI.dask_cluster_tls_dir(live(cl))
    p == C_NULL ? nothing : unsafe_string(p)
end

function Client(cl::LocalCluster; kwargs...)
    dir = tls_dir(cl)
    dir === nothing && return Client(address(cl); kwargs...)
    Client(address(cl); ca = joinpath(dir, "ca.pem"), cert = joinpath(dir, "client.pem"),
           key = joinpath(dir, "client-key.pem"), kwargs...)
end

"""Kills worker `i` (1-based, in start order) at once, as a crash would."""
kill_worker(cl::LocalCluster, i::Integer) = check(CAPI.dask_cluster_kill_worker(live(cl), i - 1))

function Base.close(cl::LocalCluster)
    p = cl.ptr
    p == C_NULL && return nothing
    cl.ptr = C_NULL
    CAPI.dask_cluster_free(p)
    nothing
end

Base.isopen(cl::LocalCluster) = cl.ptr != C_NULL
Base.show(io::IO, cl::LocalCluster) =
    isopen(cl) ? print(io, "LocalCluster(\"", address(cl), "\")") : print(io, "LocalCluster(closed)")

"""
    publish_dataset(client, name, x::DaskArray)

Keeps `x` (persisted first if needed) under `name` on the client's scheduler: any client of
the same cluster — this session, a C program, an R session — gets it with `get_dataset`
until `unpublish_dataset`. Dask's `client.publish_dataset`.
"""
publish_dataset(client::Client, name::AbstractString, x::DaskArray) =
    check(CAPI.dask_array_publish(client, x, String(name)))

"""The array published under `name` (Julia's dims: the reverse of the library's shape)."""
get_dataset(client::Client, name::AbstractString) =
    DaskArray(out_ptr(o -> CAPI.dask_array_from_dataset(client, String(name), o), dask_array);
              persisted = true)

"""The names of the published datasets."""
function list_datasets(client::Client)
    v = out_ptr(o -> CAPI.dask_client_list_datasets(client, o), dask_value)
    text = try
        data = Ref{Ptr{Cvoid}}(C_NULL)
        len = Ref{Csize_t}(0)
        check(CAPI.dask_value_bytes(v, data, len))
        unsafe_string(Ptr{UInt8}(data[]), len[])
    finally
        CAPI.dask_value_free(v)
    end
    isempty(text) ? String[] : split(text, '\n') .|> String
end

"""Forgets the dataset `name` (its data goes once nothing holds it)."""
unpublish_dataset(client::Client, name::AbstractString) =
    check(CAPI.dask_client_unpublish_dataset(client, String(name)))
