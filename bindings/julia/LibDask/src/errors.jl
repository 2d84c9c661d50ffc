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
