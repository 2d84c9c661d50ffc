# Indexing with Julia's rules (1-based, inclusive ranges, integer indices drop the
# dimension), translated to the library's basic indexing on reversed axes.

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
index_entry(i, n, d) = throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED,
    "index $(typeof(i)) in dimension $d: use integers, ranges, `:` or one vector of integers"))

function Base.getindex(x::DaskArray{T,N}, I...) where {T,N}
    length(I) == N || throw(DaskError(CAPI.DASK_ERR_INVALID_ARGUMENT,
        "a $N-dimensional DaskArray takes $N indices, not $(length(I))"))
    # One vector of integers: a take along that dimension, after the other indices.
    vec = findall(i -> i isa AbstractVector{<:Integer} && !(i isa AbstractRange), collect(I))
    if length(vec) > 1
        throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED, "more than one vector index"))
    elseif length(vec) == 1
        d = vec[1]
        idx = I[d]
        for i in idx
            1 <= i <= size(x, d) || throw(BoundsError(1:size(x, d), i))
        end
        rest = ntuple(k -> k == d ? Colon() : I[k], N)
        y = x[rest...]
        # Dimensions before d that were integer-indexed are gone.
        dd = d - count(k -> I[k] isa Integer, 1:d-1)
        axis = ndims(y) - dd
        ids = Int64[i - 1 for i in idx]
        return DaskArray(out_ptr(o -> CAPI.dask_array_take(y, ids, length(ids), axis, o), dask_array))
    end
    entries = [index_entry(I[d], size(x, d), d) for d in N:-1:1]
    y = DaskArray(out_ptr(o -> CAPI.dask_array_slice(x, entries, length(entries), o), dask_array))
    all(i -> i isa Integer, I) ? collect(y)[] : y
end
