# Products and axis permutations. With shapes reversed, Julia's A * B is the library's
# B_lib @ A_lib, and Julia's dims permutation maps onto reversed library axes.

matmul_lib(a, b) = DaskArray(out_ptr(o -> CAPI.dask_array_matmul(a, b, o), dask_array))

Base.:*(a::DaskArray{<:Any,2}, b::DaskArray{<:Any,2}) = matmul_lib(b, a)
Base.:*(a::DaskArray{<:Any,2}, v::DaskArray{<:Any,1}) = matmul_lib(v, a)
Base.:*(a::DaskArray{<:Any,2}, b::AbstractMatrix) = a * DaskArray(b)
Base.:*(a::DaskArray{<:Any,2}, b::AbstractVector) = a * DaskArray(b)
Base.:*(a::AbstractMatrix, b::DaskArray{<:Any,2}) = DaskArray(a) * b
Base.:*(a::AbstractMatrix, b::DaskArray{<:Any,1}) = DaskArray(a) * b

function Base.permutedims(x::DaskArray{T,N}, perm) where {T,N}
    p = Tuple(perm)
    (length(p) == N && sort(collect(p)) == collect(1:N)) ||
        throw(DaskError(CAPI.DASK_ERR_INVALID_ARGUMENT, "permutedims: $perm is not a permutation of 1:$N"))
    # Library axis b is Julia dim N - b; new Julia dim j takes old dim p[j].
    axes = Csize_t[N - p[N - b] for b in 0:N-1]
    DaskArray(out_ptr(o -> CAPI.dask_array_transpose(x, axes, o), dask_array))
end
Base.permutedims(x::DaskArray{T,2}) where {T} = permutedims(x, (2, 1))
Base.transpose(x::DaskArray{<:Real,2}) = permutedims(x, (2, 1))
Base.adjoint(x::DaskArray{<:Real,2}) = permutedims(x, (2, 1))
