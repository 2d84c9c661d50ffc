# Reductions with Julia's semantics: over all elements they return a number (computed);
# with `dims` they return a lazy DaskArray keeping the reduced dimensions (size 1).

"""Library axes (C order) of Julia dims of an N-d array."""
lib_axes(dims, N) = Csize_t[N - d for d in (dims isa Integer ? (dims,) : Tuple(dims))]

function check_dims(dims, N)
    for d in (dims isa Integer ? (dims,) : Tuple(dims))
        1 <= d <= N || throw(DaskError(CAPI.DASK_ERR_INVALID_ARGUMENT,
                                       "dims $d out of range for a $N-dimensional array"))
    end
end

function reduce_lazy(x::DaskArray{T,N}, op, dims; ddof = 0.0) where {T,N}
    check_dims(dims, N)
    axes = lib_axes(dims, N)
    DaskArray(out_ptr(o -> CAPI.dask_array_reduce(x, op, axes, length(axes), true, Float64(ddof), 0, o),
                      dask_array))
end

function reduce_all(x::DaskArray, op; ddof = 0.0)
    r = DaskArray(out_ptr(o -> CAPI.dask_array_reduce(x, op, C_NULL, 0, false, Float64(ddof), 0, o),
                          dask_array))
    collect(r)[]
end

reduction(x, op, dims; ddof = 0.0) =
    dims === Colon() ? reduce_all(x, op; ddof = ddof) : reduce_lazy(x, op, dims; ddof = ddof)

Base.sum(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_SUM, dims)
Base.prod(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_PROD, dims)
Base.maximum(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_MAX, dims)
Base.minimum(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_MIN, dims)
Base.any(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_ANY, dims)
Base.all(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_ALL, dims)
Statistics.mean(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_MEAN, dims)

function Statistics.var(x::DaskArray; dims = :, corrected::Bool = true, mean = nothing)
    mean === nothing || throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED, "var with a given mean"))
    reduction(x, CAPI.DASK_REDUCE_VAR, dims; ddof = corrected ? 1 : 0)
end
function Statistics.std(x::DaskArray; dims = :, corrected::Bool = true, mean = nothing)
    mean === nothing || throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED, "std with a given mean"))
    reduction(x, CAPI.DASK_REDUCE_STD, dims; ddof = corrected ? 1 : 0)
end

# count: of true elements, or of elements where a predicate with a library ufunc holds.
Base.count(x::DaskArray; dims = :) = reduction(x, CAPI.DASK_REDUCE_COUNT_NONZERO, dims)
function Base.count(pred, x::DaskArray; dims = :)
    m = if pred === identity
        x
    elseif typeof(pred) === typeof(!iszero)
        return reduction(x, CAPI.DASK_REDUCE_COUNT_NONZERO, dims)
    elseif pred === iszero
        apply_ufunc("equal", x, 0)
    else
        apply_ufunc(ufunc_name(pred, 1), x)
    end
    reduction(m, CAPI.DASK_REDUCE_COUNT_NONZERO, dims)
end
