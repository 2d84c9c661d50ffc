# Products and axis permutations. With shapes reversed, Julia's A * B is the library's
# B_lib @ A_lib, and Julia's dims permutation maps onto reversed library axes.

matmul_lib(a, b) = DaskArray(out_ptr(o -> CAPI.dask_array_matmul(a, b, o), dask_array))

# Julia's check and message, in Julia's dims (the library would name its reversed shapes).
function check_product(a, b)
    size(a, 2) == size(b, 1) || throw(DimensionMismatch(
        "A has dimensions $(size(a)) but B has dimensions $(size(b))"))
end

Base.:*(a::DaskArray{<:Any,2}, b::DaskArray{<:Any,2}) = (check_product(a, b); matmul_lib(b, a))
Base.:*(a::DaskArray{<:Any,2}, v::DaskArray{<:Any,1}) = (check_product(a, v); matmul_lib(v, a))
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

"""The p-norm of all elements (as `norm` of the collected array; p = 2 scales by the
largest magnitude first, as LinearAlgebra does, so it neither overflows nor underflows)."""
function LinearAlgebra.norm(x::DaskArray, p::Real = 2)
    isempty(x) && return float(zero(eltype(x)))
    if p == 2
        m = maximum(abs, x)
        (iszero(m) || !isfinite(m)) && return float(m)
        return m * sqrt(sum(abs2, x ./ m))
    elseif p == 1
        return float(sum(abs, x))
    elseif p == Inf
        return float(maximum(abs, x))
    elseif p == -Inf
        return float(minimum(abs, x))
    elseif p == 0
        return float(count(!iszero, x))
    end
    float(sum(broadcast_call(^, broadcast_call(abs, x), p)))^(1 / p)
end

function LinearAlgebra.dot(x::DaskArray, y::DaskArray)
    length(x) == length(y) || throw(DimensionMismatch("dot product arguments have lengths $(length(x)) and $(length(y))"))
    sum(broadcast_call(*, vec(x), vec(y)))
end
LinearAlgebra.dot(x::DaskArray, y::AbstractArray) = dot(x, DaskArray(collect(y)))
LinearAlgebra.dot(x::AbstractArray, y::DaskArray) = dot(DaskArray(collect(x)), y)
