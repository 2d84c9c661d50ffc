# Library handles owned by Julia objects: a finalizer frees them, `close` frees them early
# (twice is fine), and a closed handle used again is a DaskError rather than a crash.

abstract type Handle end

Base.isopen(h::Handle) = getfield(h, :ptr) != C_NULL

function Base.close(h::Handle)
    p = getfield(h, :ptr)
    if p != C_NULL
        setfield!(h, :ptr, typeof(p)(C_NULL))
        free_handle(h, p)
    end
    nothing
end

"""The live pointer of `h`, or a DaskError when it was closed."""
function live(h::Handle)
    p = getfield(h, :ptr)
    p == C_NULL && throw(DaskError(CAPI.DASK_ERR_INVALID_HANDLE,
                                   "this $(nameof(typeof(h))) was closed"))
    p
end

"""Defines a handle type `T` owning a `Ptr{C}` freed by `free`."""
macro handle(T, C, free)
    esc(quote
        mutable struct $T <: Handle
            ptr::Ptr{$C}
            function $T(p::Ptr{$C})
                p == C_NULL && throw(ArgumentError("a NULL handle"))
                finalizer(close, new(p))
            end
        end
        free_handle(::$T, p) = $free(p)
        Base.unsafe_convert(::Type{Ptr{$C}}, h::$T) = live(h)
    end)
end

@handle FutureHandle dask_future CAPI.dask_future_free
@handle ArrayHandle dask_array CAPI.dask_array_free
@handle ValueHandle dask_value CAPI.dask_value_free

"""Calls `f(out)` with a fresh out-pointer slot and returns what the library wrote."""
function out_ptr(f, ::Type{T}) where {T}
    out = Ref{Ptr{T}}(C_NULL)
    check(f(out))
    out[]
end
