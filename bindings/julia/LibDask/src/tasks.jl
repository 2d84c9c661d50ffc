# Tasks: Julia functions run as the library's host tasks (on Julia's thread, when the
# client's runner is woken), C functions run on the pool.

"""A registered library operation (a C function, or a built-in such as "sum")."""
struct Op
    id::UInt32
    name::String
end

"""Looks up a registered operation by name (built-ins: "noop", "identity", "sum")."""
function Op(name::AbstractString)
    id = Ref{UInt32}(0)
    check(CAPI.dask_op_lookup(name, id))
    Op(id[], String(name))
end

"""
    register_op(name, f::Ptr{Cvoid}; ctx = C_NULL, host = false) -> Op

Registers a C function (`@cfunction` with the `dask_task_fn` signature
`Int32 (Ptr{Cvoid}, Ptr{Ptr{dask_value}}, Csize_t, Ptr{Ptr{dask_value}})`) as an operation
that runs on the pool threads. A Julia `@cfunction` must not be registered this way: Julia
code cannot run on the library's threads (submit the Julia function itself instead).
"""
function register_op(name::AbstractString, f::Ptr{Cvoid}; ctx::Ptr{Cvoid} = C_NULL, host::Bool = false)
    id = Ref{UInt32}(0)
    check(CAPI.dask_op_register(name, f, ctx, host ? CAPI.DASK_OP_HOST : 0, id))
    Op(id[], String(name))
end

const JULIA_CALL = Ref{UInt32}(0)
# How many host tasks are running (nested): a wait inside one must run the others itself,
# since the client's runner is busy running it.
const HOST_DEPTH = Ref(0)

# Runs a Julia host task: inputs[1] is the function, the rest its arguments.
function host_call(::Ptr{Cvoid}, inputs::Ptr{Ptr{dask_value}}, n::Csize_t,
                   output::Ptr{Ptr{dask_value}})::Int32
    try
        args = Any[from_value(unsafe_load(inputs, i); owned = false) for i in 1:n]
        HOST_DEPTH[] += 1
        r = try
            args[1](args[2:end]...)
        finally
            HOST_DEPTH[] -= 1
        end
        unsafe_store!(output, to_value(r))
        return CAPI.DASK_OK
    catch e
        # No exception may leave a C callback: the message is made safe for a C string.
        CAPI.dask_error_set(stash_exception(e))
        return CAPI.DASK_ERR_TASK
    end
end

function init_tasks()
    f = @cfunction(host_call, Int32, (Ptr{Cvoid}, Ptr{Ptr{dask_value}}, Csize_t, Ptr{Ptr{dask_value}}))
    id = Ref{UInt32}(0)
    st = CAPI.dask_op_lookup("julia.call", id)
    if st != CAPI.DASK_OK # registered once per process
        check(CAPI.dask_op_register("julia.call", f, C_NULL, CAPI.DASK_OP_HOST, id))
    end
    JULIA_CALL[] = id[]
    nothing
end

"""Builds the C argument list for `args`: futures become dependencies, anything else a
value. Returns the arguments and the value handles to free after the call."""
function task_args(args)
    cargs = dask_arg[]
    owned = Ptr{dask_value}[]
    for a in args
        if a isa Future
            push!(cargs, dask_arg(CAPI.DASK_ARG_FUTURE, 0, C_NULL, C_NULL, live(a.h)))
        else
            v = to_value(a)
            push!(owned, v)
            push!(cargs, dask_arg(CAPI.DASK_ARG_VALUE, 0, C_NULL, v, C_NULL))
        end
    end
    cargs, owned
end

function submit_op(client::Client, op::UInt32, args)
    cargs, owned = task_args(args)
    try
        GC.@preserve args Future(out_ptr(o -> CAPI.dask_client_submit(client, op, cargs, length(cargs), o),
                                         dask_future))
    finally
        foreach(CAPI.dask_value_free, owned)
    end
end

"""
    submit(f, args...; client = default_client()) -> Future

Runs `f(args...)` as a task. A Julia function runs on Julia's thread (the library's host
tasks: it is queued, and the client's Julia task runs it between other Julia work); an
`Op` runs on the pool. `Future` arguments are dependencies: the task gets their results.
"""
submit(f, args...; client::Client = default_client()) = submit_op(client, JULIA_CALL[], (f, args...))
submit(op::Op, args...; client::Client = default_client()) = submit_op(client, op.id, args)

"""
    map(f, client::Client, items; shared = ()) -> Vector{Future}

`f(item, shared...)` for every item, as tasks. `shared` entries are typically futures of
`scatter`ed data: every task reads the same stored value, never a copy.
"""
Base.map(f, client::Client, items; shared = ()) = [submit(f, item, shared...; client = client) for item in items]

"""
    scatter(x; client = default_client()) -> Future

Stores `x` in the client once (a numeric Array is lent without copying) and returns a
future on it, to pass to many tasks.
"""
function scatter(x; client::Client = default_client())
    v = to_value(x)
    try
        Future(out_ptr(o -> CAPI.dask_client_scatter(client, v, o), dask_future))
    finally
        CAPI.dask_value_free(v)
    end
end
