"""
    LocalCluster(n_workers = 2; threads_per_worker = 1, memory_limit = nothing, tls = false)

A scheduler and `n_workers` worker processes of the `libdask` program on this machine (Dask's
`LocalCluster`), for tests and laptops; `Client(cluster)` connects to it. With `tls = true`
every connection uses mutual TLS with a fresh CA (`tls_dir(cluster)` holds the files, for
clients in other processes). `close(cluster)` stops the processes (a finalizer does
otherwise).
"""
abstract type AbstractCluster end

mutable struct LocalCluster <: AbstractCluster
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

function live(cl::AbstractCluster)
    cl.ptr == C_NULL && throw(DaskError(CAPI.DASK_ERR_INVALID_HANDLE, "this $(nameof(typeof(cl))) was closed"))
    cl.ptr
end

"""The scheduler's address (`"tcp://127.0.0.1:PORT"` or `"tls://…"`)."""
address(cl::AbstractCluster) = unsafe_string(CAPI.dask_cluster_address(live(cl)))

"""The directory of a TLS cluster's certificate files (`ca.pem`, `client.pem`,
`client-key.pem`, …), or `nothing` for plain TCP."""
function tls_dir(cl::AbstractCluster)
    p = CAPI.dask_cluster_tls_dir(live(cl))
    p == C_NULL ? nothing : unsafe_string(p)
end

function Client(cl::AbstractCluster; kwargs...)
    dir = tls_dir(cl)
    dir === nothing && return Client(address(cl); kwargs...)
    Client(address(cl); ca = joinpath(dir, "ca.pem"), cert = joinpath(dir, "client.pem"),
           key = joinpath(dir, "client-key.pem"), kwargs...)
end

"""Kills worker `i` (1-based, in start order) at once, as a crash would."""
kill_worker(cl::LocalCluster, i::Integer) = check(CAPI.dask_cluster_kill_worker(live(cl), i - 1))


Base.isopen(cl::AbstractCluster) = cl.ptr != C_NULL
Base.show(io::IO, cl::AbstractCluster) =
    isopen(cl) ? print(io, nameof(typeof(cl)), "(\"", address(cl), "\")") :
                 print(io, nameof(typeof(cl)), "(closed)")

"""
    SlurmCluster(; workers = 1, cpus_per_worker = 1, mem_per_worker = "1GiB", time = "1:00:00",
                 partition = nothing, account = nothing, tls = false, dir = nothing,
                 adapt = nothing, idle_grace = 10, max_pending = 4)

A scheduler on this node and its workers as Slurm batch jobs (dask-jobqueue's
`SLURMCluster`): each job asks for `cpus_per_worker` CPUs (the worker's threads),
`mem_per_worker` (its memory limit too) and the time limit `time`; the job script is written
to `dir/worker.sbatch` and each job's output to `dir/worker-<job>.log` (`dir` defaults to
`./libdask-slurm-<pid>`; keep it on a filesystem the nodes share). `Client(cluster)` connects;
`wait_for_workers(cluster, n)` waits for the jobs to start.

`adapt = 0:4` makes the cluster adaptive: every second the library asks the scheduler how
many workers it wants (from its own queue) and submits or cancels jobs to match, at most
`max_pending` waiting to start; workers idle for `idle_grace` seconds retire. That loop runs
in the library, so Julia need not do anything (`adapt_step!` takes a step at once and
reports). `close(cluster)` (or the finalizer) stops it, cancels the jobs (each worker retires
on Slurm's SIGTERM) and stops the scheduler.
"""
mutable struct SlurmCluster <: AbstractCluster
    ptr::Ptr{CAPI.dask_cluster}
end

function SlurmCluster(; workers::Integer = 1, cpus_per_worker::Integer = 1,
                      mem_per_worker = "1GiB", time::AbstractString = "1:00:00",
                      partition::Union{Nothing,AbstractString} = nothing,
                      account::Union{Nothing,AbstractString} = nothing, tls::Bool = false,
                      dir::Union{Nothing,AbstractString} = nothing,
                      adapt::Union{Nothing,AbstractUnitRange{<:Integer}} = nothing,
                      idle_grace::Real = 10, max_pending::Integer = 4)
    workers >= 0 || throw(ArgumentError("workers must be >= 0"))
    cpus_per_worker >= 1 || throw(ArgumentError("cpus_per_worker must be >= 1"))
    adapt === nothing || (first(adapt) >= 0 && last(adapt) >= max(first(adapt), 1)) ||
        throw(ArgumentError("adapt must be a range min:max with 0 <= min <= max, max >= 1"))
    mem = mem_per_worker isa AbstractString ? parse_bytes(mem_per_worker) : UInt64(mem_per_worker)
    opts = Ref{CAPI.dask_slurm_options}()
    check(CAPI.dask_slurm_options_init(opts, sizeof(CAPI.dask_slurm_options)))
    strs = [String(time), something(partition, ""), something(account, ""),
            dir === nothing ? "" : abspath(dir)]
    p = GC.@preserve strs begin
        ptr(s, given) = given ? pointer(s) : Ptr{UInt8}(C_NULL)
        o = opts[]
        opts[] = CAPI.dask_slurm_options(o.struct_size, UInt32(tls), workers, cpus_per_worker,
                                         mem, ptr(strs[1], true), ptr(strs[2], partition !== nothing),
                                         ptr(strs[3], account !== nothing), ptr(strs[4], dir !== nothing),
                                         adapt === nothing ? 0 : first(adapt),
                                         adapt === nothing ? 0 : last(adapt),
                                         Float64(idle_grace), max_pending)
        out_ptr(o -> CAPI.dask_cluster_slurm(opts, o), CAPI.dask_cluster)
    end
    cl = SlurmCluster(p)
    finalizer(close, cl)
    cl
end

"""
    adapt_step!(cluster::SlurmCluster) -> (workers, pending)

One step of an adaptive cluster now (the library takes one every second on its own): the
scheduler says how many workers it wants, jobs are submitted or cancelled. Returns the
workers connected and the jobs waiting to start.
"""
function adapt_step!(cl::SlurmCluster)
    w = Ref{Csize_t}(0)
    p = Ref{Csize_t}(0)
    check(CAPI.dask_cluster_adapt(live(cl), w, p))
    (Int(w[]), Int(p[]))
end

"""
    wait_for_workers(cluster, n; timeout = 120)

Waits until `n` workers have joined (Slurm jobs may wait in the queue first).
"""
wait_for_workers(cl::AbstractCluster, n::Integer; timeout::Real = 120) =
    check(CAPI.dask_cluster_wait_for_workers(live(cl), n, Float64(timeout)))

function Base.close(cl::AbstractCluster)
    p = cl.ptr
    p == C_NULL && return nothing
    cl.ptr = C_NULL
    CAPI.dask_cluster_free(p)
    nothing
end

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
