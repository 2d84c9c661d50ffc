# Progress bars while `fetch`, `wait` and `collect` wait: drawn on stderr by a Julia task
# that wakes ten times a second (the waiting task stays suspended on the library's callback,
# as without a bar). The text comes from the library (`dask_progress_format`), the same bar
# as C's; on a terminal it is redrawn in place, elsewhere a plain line every 5 s.

"""
    LibDask.SHOW_PROGRESS[] = false

Whether waits longer than `LibDask.PROGRESS_DELAY[]` seconds (default 1) draw a progress
bar on stderr (default `true`); `fetch(f; progress = false)` and
`collect(x; progress = false)` turn it off for one call.
"""
const SHOW_PROGRESS = Ref(true)
const PROGRESS_DELAY = Ref(1.0)

"""
    progress(f::Future) -> (done, total)

Tasks of `f`'s computation concluded so far, and its tasks in all.
"""
function progress(f::Future)
    done = Ref{Csize_t}(0)
    total = Ref{Csize_t}(0)
    check(CAPI.dask_future_progress(f, done, total))
    (Int(done[]), Int(total[]))
end

"""The bar's text at `done` of `total` after `elapsed` seconds (no line ending)."""
function progress_text(done::Integer, total::Integer, elapsed::Real; terminal::Bool = true,
                       width::Integer = 80)
    buf = Vector{UInt8}(undef, 512)
    n = Ref{Csize_t}(0)
    GC.@preserve buf check(CAPI.dask_progress_format(done, total, Float64(elapsed), terminal,
                                                     width, Cstring(pointer(buf)), length(buf), n))
    String(buf[1:min(Int(n[]), length(buf) - 1)])
end

mutable struct ProgressDrawing
    f::Future
    io::IO
    started::Float64
    terminal::Bool
    last::Float64      # when the last line was drawn (0: never)
    stopped::Bool
    # A write to a terminal may yield: the waiter's final bar waits for a drawing in flight.
    lock::ReentrantLock
end

function draw(p::ProgressDrawing, final::Bool)
    lock(p.lock) do
        (p.stopped && !final) && return
        done, total = progress(p.f)
        width = p.terminal ? displaysize(p.io)[2] : 80
        line = progress_text(done, total, time() - p.started; terminal = p.terminal, width = width)
        p.last = time()
        write(p.io, p.terminal ? string("\r", line, "\e[K", final ? "\n" : "") : line * "\n")
        flush(p.io)
    end
end

"""Starts drawing `f`'s progress on `io` once `PROGRESS_DELAY[]` has passed; returns the
drawing, to hand to `stop_progress`."""
function start_progress(f::Future, io::IO = stderr)
    p = ProgressDrawing(f, io, time(), io isa Base.TTY, 0.0, false, ReentrantLock())
    waiter = current_task()
    @async try
        while !p.stopped
            sleep(0.1)
            p.stopped && break
            time() - p.started < PROGRESS_DELAY[] && continue
            (p.terminal || time() - p.last >= 5.0) && draw(p, false)
        end
    catch e
        if e isa InterruptException
            # Ctrl-C reached this task (it was awake): the waiter gets it, to cancel the
            # computation as without a bar.
            p.stopped || schedule(waiter, e; error = true)
        elseif !(e isa Base.IOError) # a closed stream never fails the wait
            rethrow()
        end
    end
    p
end

"""Ends the drawing: the final bar when one was drawn (`completed`), or just the end of the
line (an interrupted wait)."""
function stop_progress(p::ProgressDrawing, completed::Bool)
    p.stopped = true
    try
        lock(p.lock) do
            p.last == 0.0 && return
            if completed
                draw(p, true)
            elseif p.terminal
                write(p.io, "\n")
            end
        end
    catch e
        e isa Base.IOError || rethrow()
    end
    nothing
end
