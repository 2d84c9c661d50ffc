# Concatenation with Julia's rules: `cat(xs...; dims)` joins along Julia dim `dims` (library
# axis N - dims of the reversed shapes); arrays with fewer dims count as having trailing dims
# of 1; element types promote as Julia's `cat` promotes them. Lazy.

function Base.cat(xs::DaskArray...; dims)
    d = Int(only(Tuple(dims)))
    d >= 1 || throw(ArgumentError("cat: dims must be positive"))
    N = max(d, maximum(ndims, xs))
    T = promote_type(map(eltype, xs)...)
    parts = map(xs) do x
        x = to_type(x, T)
        ndims(x) < N ? reshape(x, (size(x)..., ntuple(_ -> 1, N - ndims(x))...)) : x
    end
    for p in parts, k in 1:N
        k == d || size(p, k) == size(parts[1], k) || throw(DimensionMismatch(
            "mismatch in dimension $k (expected $(size(parts[1], k)) got $(size(p, k)))"))
    end
    handles = Ptr{dask_array}[live(p.h) for p in parts]
    GC.@preserve parts DaskArray(out_ptr(o -> CAPI.dask_array_concatenate(handles, length(handles), N - d, o), dask_array))
end
Base.vcat(xs::DaskArray...) = cat(xs...; dims = 1)
Base.hcat(xs::DaskArray...) = cat(xs...; dims = 2)
# Mixed with Julia arrays (lent, not copied).
Base.vcat(x::DaskArray, ys::AbstractArray...) = vcat(x, map(lower, ys)...)
Base.hcat(x::DaskArray, ys::AbstractArray...) = hcat(x, map(lower, ys)...)
