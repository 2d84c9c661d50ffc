# Julia values <-> library values. Numeric arrays cross without copying in both directions:
# a Julia `Array` is lent (rooted until the library lets go), a library buffer is wrapped
# as a Julia `Array` that keeps the library's value alive. Julia is column-major and the
# library C-ordered, so an array of size (m, n) is the library's shape (n, m) over the same
# memory; every wrapper reverses shapes and axes accordingly.

const DTYPES = Dict{DataType,UInt32}(
    Bool => CAPI.DASK_BOOL, Int8 => CAPI.DASK_INT8, Int16 => CAPI.DASK_INT16,
    Int32 => CAPI.DASK_INT32, Int64 => CAPI.DASK_INT64, UInt8 => CAPI.DASK_UINT8,
    UInt16 => CAPI.DASK_UINT16, UInt32 => CAPI.DASK_UINT32, UInt64 => CAPI.DASK_UINT64,
    Float32 => CAPI.DASK_FLOAT32, Float64 => CAPI.DASK_FLOAT64)
const ELTYPES = Dict{UInt32,DataType}(v => k for (k, v) in DTYPES)

dtype_of(::Type{T}) where {T} = get(DTYPES, T) do
    throw(DaskError(CAPI.DASK_ERR_DTYPE, "element type $T has no library dtype " *
                    "(supported: $(join(sort!(string.(keys(DTYPES))), ", ")))"))
end
eltype_of(dt::Integer) = ELTYPES[UInt32(dt)]

"""Lends a Julia array to the library without copying: a new value handle (caller owns)."""
function lend(a::Array{T}) where {T}
    dt = dtype_of(T)
    shape = Csize_t[reverse(size(a))...]
    token = hostref(a)
    out_ptr(dask_value) do out
        CAPI.dask_value_wrap_buffer(dt, ndims(a), shape, C_NULL, pointer(a), sizeof(a),
                                    RELEASE[], Ptr{Cvoid}(token), out)
    end
end

"""A new library value for `x` (caller owns the handle)."""
function to_value(x)::Ptr{dask_value}
    if x isa Bool
        out_ptr(o -> CAPI.dask_value_from_bool(x, o), dask_value)
    elseif x isa Integer
        out_ptr(o -> CAPI.dask_value_from_i64(Int64(x), o), dask_value)
    elseif x isa Union{Float16,Float32,Float64}
        out_ptr(o -> CAPI.dask_value_from_f64(Float64(x), o), dask_value)
    elseif x isa String
        out_ptr(o -> CAPI.dask_value_from_string(x, o), dask_value)
    elseif x isa Array && haskey(DTYPES, eltype(x))
        lend(x)
    else
        # Any other Julia object travels untouched, by token.
        token = hostref(x)
        out_ptr(o -> CAPI.dask_value_from_opaque(Ptr{Cvoid}(token), RELEASE[], o), dask_value)
    end
end

"""The Julia value of a library value. `owned`: the handle is ours to keep or free."""
function from_value(v::Ptr{dask_value}; owned::Bool)
    kind = Ref{UInt32}(0)
    check(CAPI.dask_value_get_kind(v, kind))
    k = kind[]
    result = if k == CAPI.DASK_VALUE_NONE
        nothing
    elseif k == CAPI.DASK_VALUE_BOOL || k == CAPI.DASK_VALUE_INT
        i = Ref{Int64}(0)
        check(CAPI.dask_value_as_i64(v, i))
        k == CAPI.DASK_VALUE_BOOL ? i[] != 0 : i[]
    elseif k == CAPI.DASK_VALUE_FLOAT
        f = Ref{Float64}(0)
        check(CAPI.dask_value_as_f64(v, f))
        f[]
    elseif k == CAPI.DASK_VALUE_STRING || k == CAPI.DASK_VALUE_BYTES
        data = Ref{Ptr{Cvoid}}(C_NULL)
        len = Ref{Csize_t}(0)
        check(CAPI.dask_value_bytes(v, data, len))
        bytes = unsafe_wrap(Array, Ptr{UInt8}(data[]), len[]; own = false)
        k == CAPI.DASK_VALUE_STRING ? String(copy(bytes)) : copy(bytes)
    elseif k == CAPI.DASK_VALUE_BUFFER
        # The Array keeps its own handle on the value: it outlives `v`.
        keep = owned ? v : out_ptr(o -> CAPI.dask_value_clone(v, o), dask_value)
        owned = false
        wrap_buffer(keep)
    elseif k == CAPI.DASK_VALUE_OPAQUE
        p = Ref{Ptr{Cvoid}}(C_NULL)
        check(CAPI.dask_value_opaque(v, p))
        token = UInt64(p[])
        haskey(REFS, token) || throw(DaskError(CAPI.DASK_ERR_DTYPE,
                                               "an opaque value that is not a Julia object"))
        REFS[token]
    elseif k == CAPI.DASK_VALUE_SPARSE
        wrap_sparse_value(v)
    else
        throw(DaskError(CAPI.DASK_ERR_DTYPE, "a library value of kind $k has no Julia form"))
    end
    owned && CAPI.dask_value_free(v)
    result
end

"""Wraps a buffer value (whose handle the result takes over) as a Julia Array."""
function wrap_buffer(v::Ptr{dask_value})
    view = Ref{dask_buffer_view}()
    st = CAPI.dask_value_buffer(v, view, sizeof(dask_buffer_view))
    if st != CAPI.DASK_OK
        err = DaskError(st)
        CAPI.dask_value_free(v)
        throw(err)
    end
    bv = view[]
    T = eltype_of(bv.dtype)
    shape = [Int(unsafe_load(bv.shape, i)) for i in 1:bv.ndim]
    if !bv.c_contiguous
        CAPI.dask_value_free(v)
        throw(DaskError(CAPI.DASK_ERR_INVALID_ARGUMENT, "a strided buffer view"))
    end
    a = if prod(shape) == 0
        Array{T}(undef, reverse(shape)...)
    else
        unsafe_wrap(Array, Ptr{T}(bv.data), Tuple(reverse(shape)); own = false)
    end
    if prod(shape) == 0
        CAPI.dask_value_free(v)
    else
        finalizer(_ -> CAPI.dask_value_free(v), a)
    end
    a
end
