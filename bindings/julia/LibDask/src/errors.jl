"""
    DaskError(status, code, message)

A failed library call: `code` is the status name (`"DASK_ERR_TASK"`, …) and `message` the
library's own explanation (`dask_last_error_message()`), e.g. the failing task's key.
"""
struct DaskError <: Exception
    status::Int32
    code::String
    message::String
end

Base.showerror(io::IO, e::DaskError) = print(io, "DaskError (", e.code, "): ", e.message)

function DaskError(status::Integer)
    name = unsafe_string(CAPI.dask_status_name(Int32(status)))
    msg = Ptr{UInt8}(CAPI.dask_last_error_message())
    DaskError(Int32(status), name, msg == C_NULL ? "" : unsafe_string(msg))
end

DaskError(status::Integer, message::AbstractString) =
    DaskError(Int32(status), unsafe_string(CAPI.dask_status_name(Int32(status))), message)

"""Throws the library's error for a non-OK status."""
@inline check(status::Integer) = status == CAPI.DASK_OK ? nothing : throw(DaskError(status))

# Exceptions thrown by Julia host tasks, kept so `fetch` rethrows the very exception (type,
# fields, message) rather than its text: the library carries only the token in its message.
const TASK_EXCEPTIONS = Dict{Int,Any}()
const NEXT_EXCEPTION = Ref(0)
const KEPT_EXCEPTIONS = 10_000 # the oldest are dropped past this (their text remains)

function stash_exception(e)
    n = (NEXT_EXCEPTION[] += 1)
    TASK_EXCEPTIONS[n] = e
    delete!(TASK_EXCEPTIONS, n - KEPT_EXCEPTIONS)
    "[julia exception $n] " * replace(sprint(showerror, e), '\0' => ' ')
end

"""The Julia exception a library failure stands for: a host task's own exception, Julia's
`DivideError`/`DomainError` for the checked integer ufuncs, or the `DaskError` itself."""
function julia_exception(e::DaskError)
    m = match(r"\[julia exception (\d+)\]", e.message)
    if m !== nothing
        original = get(TASK_EXCEPTIONS, parse(Int, m.captures[1]), nothing)
        original === nothing || return original
    end
    if occursin("integer division by zero", e.message) || occursin("integer division overflow", e.message)
        return DivideError()
    elseif occursin("integer to a negative power", e.message)
        return DomainError("x^y", "Cannot raise an integer x to a negative power y.")
    elseif occursin("not exactly representable in the integer type", e.message)
        return InexactError(:convert, Integer, e.message)
    elseif occursin("outside the function's real domain", e.message)
        return DomainError("x", "a real function was given an argument outside its domain " *
                                "(it would be complex or undefined): $(e.message)")
    end
    e
end

"""Runs `f()`, turning library failures into the Julia exceptions they stand for."""
function julia_errors(f)
    try
        f()
    catch e
        e isa DaskError ? throw(julia_exception(e)) : rethrow()
    end
end
