"""
    Future

A task's result in the library. `fetch` and `wait` suspend only the calling Julia task
(the library wakes it through the event loop); `isready` polls; `cancel` stops the task and
the tasks only it needed. Ctrl-C while waiting cancels the computation and raises
`InterruptException`.
"""
struct Future
    h::FutureHandle
end
Future(p::Ptr{dask_future}) = Future(FutureHandle(p))

Base.unsafe_convert(::Type{Ptr{dask_future}}, f::Future) = live(f.h)
Base.close(f::Future) = close(f.h)
Base.isopen(f::Future) = isopen(f.h)

const UV_ASYNC_SEND = Ref{Ptr{Cvoid}}(C_NULL)
# Conditions whose done callback may still fire after their waiter was interrupted: they
# stay alive (the library will signal them once), never freed under the callback.
const ORPHANS = Base.AsyncCondition[]

init_futures() = (UV_ASYNC_SEND[] = cglobal(:uv_async_send); nothing)

function Base.isready(f::Future)
    done = Ref{Bool}(false)
    check(CAPI.dask_future_is_done(f, done))
    done[]
end

"""Cancels the computation of `f` (and of the tasks only it needed)."""
cancel(f::Future) = check(CAPI.dask_future_cancel(f))

"""The library's task key of `f`."""
function key(f::Future)
    p = Ref{Ptr{UInt8}}(C_NULL)
    check(CAPI.dask_future_key(f, p))
    s = unsafe_string(p[])
    CAPI.dask_string_free(p[])
    s
end

"""Suspends the calling Julia task until `f` is done; other tasks run meanwhile. With
`progress` (default `SHOW_PROGRESS[]`), a wait longer than `PROGRESS_DELAY[]` seconds draws
the computation's progress bar on stderr."""
function wait_done(f::Future; progress::Bool = SHOW_PROGRESS[])
    isready(f) && return nothing
    HOST_DEPTH[] > 0 && return wait_running_host_tasks(f)
    cond = Base.AsyncCondition()
    st = CAPI.dask_future_add_done_callback(f, UV_ASYNC_SEND[], cond.handle)
    if st != CAPI.DASK_OK
        close(cond) # never registered: nothing will signal it
        throw(DaskError(st))
    end
    interrupted = false
    bar = progress ? start_progress(f) : nothing
    try
        wait(cond) # the callback signals exactly once, when the task is done
    catch e
        interrupted = true
        e isa InterruptException && cancel(f)
        push!(ORPHANS, cond)
        rethrow()
    finally
        bar === nothing || stop_progress(bar, !interrupted)
        interrupted || close(cond)
        drain_released()
    end
    nothing
end

Base.wait(f::Future; progress::Bool = SHOW_PROGRESS[]) = wait_done(f; progress = progress)

# A host task waiting on a future: the tasks it waits for may be host tasks queued behind it,
# so it runs them itself, and polls (other Julia tasks run during the sleeps).
function wait_running_host_tasks(f::Future)
    pause = 0.0005
    while !isready(f)
        if run_all_host_tasks() > 0
            pause = 0.0005
        else
            sleep(pause)
            pause = min(2pause, 0.01)
        end
    end
    nothing
end

"""The task's result as a Julia value (arrays are wrapped, not copied). `progress = false`:
no progress bar however long it waits."""
function Base.fetch(f::Future; progress::Bool = SHOW_PROGRESS[])
    wait_done(f; progress = progress)
    v = julia_errors(() -> out_ptr(o -> CAPI.dask_future_result(f, -1.0, o), dask_value))
    from_value(v; owned = true)
end

function Base.show(io::IO, f::Future)
    isopen(f) || return print(io, "Future(closed)")
    st = Ref{UInt32}(0)
    check(CAPI.dask_future_status(f, st))
    names = ("pending", "running", "finished", "error", "cancelled")
    i = Int(st[]) + 1
    print(io, "Future(", repr(key(f)), ", ", 1 <= i <= length(names) ? names[i] : "unknown", ")")
end
