# Indexing with Julia's rules (1-based, inclusive ranges, integer indices drop the
# dimension, Bool masks, linear indexing), translated to the library's basic indexing and
# takes on reversed axes. `view`, `reshape` and `vec` are the same lazy operations.

function index_entry(i::Integer, n::Int, d::Int)
    1 <= i <= n || throw(BoundsError(1:n, i))
    dask_index(CAPI.DASK_INDEX_AT, i - 1, 0, 1, true, false)
end
index_entry(::Colon, n::Int, d::Int) = dask_index(CAPI.DASK_INDEX_SLICE, 0, 0, 1, false, false)
function index_entry(r::AbstractRange{<:Integer}, n::Int, d::Int)
    isempty(r) && return dask_index(CAPI.DASK_INDEX_SLICE, 0, 0, 1, true, true)
    (1 <= first(r) <= n && 1 <= last(r) <= n) || throw(BoundsError(1:n, r))
    s = step(r)
    if s > 0
        dask_index(CAPI.DASK_INDEX_SLICE, first(r) - 1, last(r), s, true, true)
    else
        stop = last(r) - 2 # exclusive, 0-based; -1 would mean "from the end"
        dask_index(CAPI.DASK_INDEX_SLICE, first(r) - 1, max(stop, 0), s, true, stop >= 0)
    end
end
# Vectors are taken after the slice (see `index`): the slice keeps the whole axis.
index_entry(::AbstractVector{<:Integer}, n::Int, d::Int) = index_entry(Colon(), n, d)

is_take(i) = i isa AbstractVector{<:Integer} && !(i isa AbstractRange)

"""One Julia index of dimension `d` (extent `n`) in the forms `index` handles: a Bool vector
becomes the positions it selects, as Julia defines masks."""
function normalize_index(i, n::Int, d::Int)
    if i isa Bool
        throw(ArgumentError("invalid index: $i of type Bool"))
    elseif i isa AbstractVector{Bool} || i isa DaskArray{Bool,1}
        m = i isa DaskArray ? collect(i) : i
        length(m) == n || throw(BoundsError(1:n, m))
        return findall(m)
    elseif i isa Integer || i isa Colon || i isa AbstractRange{<:Integer}
        return i
    elseif i isa AbstractVector{<:Integer}
        for k in i
            1 <= k <= n || throw(BoundsError(1:n, k))
        end
        return i
    elseif i isa DaskArray{<:Integer,1}
        return normalize_index(collect(i), n, d)
    end
    throw(ArgumentError("invalid index: $(typeof(i)) in dimension $d (integers, ranges, `:`, " *
                        "integer or Bool vectors)"))
end

"""`x[I...]` as a lazy DaskArray (all-integer indices give a 0-dimensional one)."""
function index(x::DaskArray{T,N}, I...) where {T,N}
    if length(I) == 1 && N != 1
        return linear_index(x, I[1])
    elseif length(I) > N
        # Julia allows trailing indices of 1 beyond the dimensions.
        for k in N+1:length(I)
            (I[k] isa Integer && I[k] == 1) || I[k] isa Colon ||
                throw(BoundsError(x, I))
        end
        I = I[1:N]
    elseif length(I) < N
        # Fewer indices than dimensions: only when the dimensions left out have extent 1.
        k = length(I)
        all(==(1), size(x)[k+1:end]) || throw(BoundsError(x, I))
        return index(reshape(x, size(x)[1:k]), I...)
    end
    J = ntuple(d -> normalize_index(I[d], size(x, d), d), N)
    entries = [index_entry(J[d], size(x, d), d) for d in N:-1:1]
    y = DaskArray(out_ptr(o -> CAPI.dask_array_slice(x, entries, length(entries), o), dask_array))
    # Vector indices, one axis after another: each an independent take (Julia's indexing
    # by vectors is orthogonal, an outer product of the positions).
    kept = 0
    for d in 1:N
        J[d] isa Integer && continue
        kept += 1
        is_take(J[d]) || continue
        axis = ndims(y) - kept
        ids = Int64[k - 1 for k in J[d]]
        y = DaskArray(out_ptr(o -> CAPI.dask_array_take(y, ids, length(ids), axis, o), dask_array))
    end
    y
end

"""`x[i]` with one index on an array of several dimensions: a same-shaped Bool mask, or
linear indices in column-major order (the library's C order of the reversed dims)."""
function linear_index(x::DaskArray, i)
    if i isa AbstractArray{Bool} && ndims(i) > 1 || i isa DaskArray{Bool}
        size(i) == size(x) || throw(BoundsError(x, i))
        m = i isa DaskArray ? i : DaskArray(convert(Array{Bool}, i))
        return DaskArray(out_ptr(o -> CAPI.dask_array_select(default_client(), x, m, o), dask_array))
    end
    index(vec(x), i)
end

function Base.getindex(x::DaskArray, I...)
    if isempty(I) # x[] of a one-element array
        length(x) == 1 || throw(BoundsError(x, ()))
        return collect(x)[]
    end
    y = index(x, I...)
    ndims(y) == 0 && all(i -> i isa Integer, I) ? collect(y)[] : y
end

Base.view(x::DaskArray, I...) = index(x, I...)

"""A lazy reshape in Julia's column-major order (the library's row-major order of the
reversed dims is the same element order)."""
function reshape_lazy(x::DaskArray, dims::Tuple)
    if any(d -> d isa Colon, dims)
        count(d -> d isa Colon, dims) == 1 || throw(DimensionMismatch(
            "new dimensions $dims may have at most one omitted dimension specified (Colon())"))
        known = reduce(*, (d for d in dims if !(d isa Colon)); init = 1)
        (known != 0 && length(x) % known == 0) || throw(DimensionMismatch(
            "array size $(length(x)) must be divisible by the product of the new dimensions $dims"))
        dims = map(d -> d isa Colon ? length(x) ÷ known : d, dims)
    end
    dims = map(Int, dims)
    reduce(*, dims; init = 1) == length(x) || throw(DimensionMismatch(
        "new dimensions $(dims) must be consistent with array size $(length(x))"))
    dims == size(x) && return x
    shape = Int64[reverse(dims)...]
    DaskArray(out_ptr(o -> CAPI.dask_array_reshape(x, length(shape), shape, o), dask_array))
end
Base.reshape(x::DaskArray, dims::Tuple{Vararg{Int}}) = reshape_lazy(x, dims)
Base.reshape(x::DaskArray, dims::Tuple{Vararg{Union{Int,Colon}}}) = reshape_lazy(x, dims)
Base.reshape(x::DaskArray, dims::Int...) = reshape_lazy(x, dims)
Base.reshape(x::DaskArray, dims::Union{Int,Colon}...) = reshape_lazy(x, dims)
Base.vec(x::DaskArray) = reshape_lazy(x, (length(x),))
