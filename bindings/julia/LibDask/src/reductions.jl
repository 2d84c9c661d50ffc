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
    elseif mappable(pred)
        broadcast_call(pred, x)
    else
        # Any other Julia predicate (a closure, say) cannot run on the library's threads:
        # the array is computed and Julia counts.
        return count(pred, collect(x); dims = dims)
    end
    reduction(m, CAPI.DASK_REDUCE_COUNT_NONZERO, dims)
end

"""Whether broadcasting `f` over one array maps onto the library (else Julia computes)."""
mappable(f) = (names = get(UFUNCS, f, nothing); names !== nothing && names[1] !== nothing)

# Reductions of a mapped function: sum(abs2, x) is one fused pass, as sum(abs2.(x)). Any
# other Julia function (a closure) cannot run on the library's threads: computed, then Julia's.
for red in (:sum, :prod, :maximum, :minimum, :any, :all)
    @eval Base.$red(f::Function, x::DaskArray; dims = :) =
        mappable(f) ? $red(broadcast_call(f, x); dims = dims) : $red(f, collect(x); dims = dims)
end
Statistics.mean(f::Function, x::DaskArray) = mappable(f) ? mean(broadcast_call(f, x)) : mean(f, collect(x))

"""`map(f, xs...)` over same-sized DaskArrays: `f.(xs...)` (a function the library maps)."""
function Base.map(f, x::DaskArray, ys::DaskArray...)
    all(y -> size(y) == size(x), ys) || throw(DimensionMismatch("map over arrays of sizes $(map(size, (x, ys...)))"))
    broadcast_call(f, x, ys...)
end

Base.extrema(x::DaskArray; dims = :) = dims === Colon() ? (minimum(x), maximum(x)) :
    map(tuple, collect(minimum(x; dims = dims)), collect(maximum(x; dims = dims)))

"""`argmax`/`argmin` as Julia gives them: a linear index for vectors, a CartesianIndex
otherwise; NaN is the largest (and the first NaN wins), ties go to the first."""
function arg_extreme(x::DaskArray, largest::Bool)
    isempty(x) && throw(ArgumentError("collection must be non-empty"))
    i = collect(DaskArray(out_ptr(o -> CAPI.dask_array_arg_reduce(x, largest, 0, true, o), dask_array)))[] + 1
    ndims(x) == 1 ? i : CartesianIndices(size(x))[i]
end
Base.argmax(x::DaskArray) = arg_extreme(x, true)
Base.argmin(x::DaskArray) = arg_extreme(x, false)

"""`cumsum`/`cumprod` along `dims` (required but for vectors, as Julia), with Julia's
widening of small integers (as `sum`)."""
function accumulate_lazy(name, x::DaskArray{T,N}, dims) where {T,N}
    dims === nothing && N > 1 && throw(ArgumentError("dims must be specified"))
    d = dims === nothing ? 1 : Int(dims)
    1 <= d <= N || throw(ArgumentError("dims $d out of range for a $N-dimensional array"))
    W = T === Bool || (T <: Integer && sizeof(T) < 8) ? (T <: Unsigned ? UInt64 : Int64) : T
    x = to_type(x, W)
    DaskArray(out_ptr(o -> CAPI.dask_ufunc_accumulate(ufunc(name), x, N - d, o), dask_array))
end
Base.cumsum(x::DaskArray; dims = nothing) = accumulate_lazy("add", x, dims)
Base.cumprod(x::DaskArray; dims = nothing) = accumulate_lazy("multiply", x, dims)

"""`accumulate(op, x; dims)` for `+`, `*`, `max`, `min` (running maxima and minima keep the
element type, as Julia's)."""
function Base.accumulate(op, x::DaskArray{T,N}; dims = nothing) where {T,N}
    op === (+) && return to_type(cumsum(x; dims = dims), Base.promote_op(+, T, T))
    op === (*) && return to_type(cumprod(x; dims = dims), Base.promote_op(*, T, T))
    (op === max || op === min) || throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED,
        "accumulate($op, ...): only +, *, max and min run in the library"))
    dims === nothing && N > 1 && throw(ArgumentError("dims must be specified"))
    d = dims === nothing ? 1 : Int(dims)
    name = op === max ? "maximum" : "minimum"
    DaskArray(out_ptr(o -> CAPI.dask_ufunc_accumulate(ufunc(name), x, N - d, o), dask_array))
end

# Order statistics need the data sorted: computed, then Julia's own functions.
Statistics.median(x::DaskArray; dims = :) = dims === Colon() ? median(collect(x)) : median(collect(x); dims = dims)
Statistics.quantile(x::DaskArray, p; kwargs...) = quantile(vec(collect(x)), p; kwargs...)
