# Sparse arrays: SparseMatrixCSC in and out (a Julia CSC matrix of size (m, n) is exactly
# the library's CSR matrix of shape (n, m)), N-d COO by coordinates, and chunked random
# sparse arrays. Broadcasting and reductions dispatch to the library's sparse kernels.

"""A sparse DaskArray (fill 0) from a SparseMatrixCSC; the arrays are copied once."""
function DaskArray(s::SparseMatrixCSC{Tv}; chunks = nothing) where {Tv}
    m, n = size(s)
    indptr = Csize_t[p - 1 for p in s.colptr]
    indices = Csize_t[r - 1 for r in rowvals(s)]
    data = lend(Vector{Tv}(nonzeros(s)))
    try
        x = DaskArray(out_ptr(o -> CAPI.dask_sparse_from_compressed(n, m, false, indptr, indices, data, o),
                             dask_array))
        chunks === nothing ? x : rechunk(x, chunks)
    finally
        CAPI.dask_value_free(data)
    end
end

"""What `x` holds: `:chunked`, `:chunked_sparse`, `:block`, `:sparse` (one computed sparse
array), `:foreign` or `:scalar`. Never computes."""
function kind(x::DaskArray)
    k = Ref{UInt32}(0)
    check(CAPI.dask_array_get_kind(x, k))
    (:chunked, :chunked_sparse, :block, :sparse, :foreign, :scalar)[k[]]
end

"""Whether `x` is one computed sparse array (not chunked)."""
is_coo(x::DaskArray) = kind(x) === :sparse

"""The whole sparse array behind `x`, computing chunked sparse blocks first."""
function as_coo(x::DaskArray; client::Client = default_client())
    is_coo(x) && return x
    DaskArray(out_ptr(o -> CAPI.dask_array_compute_sparse(client, x, o), dask_array))
end

"""Computes a 2-d sparse DaskArray into a SparseMatrixCSC."""
function SparseArrays.SparseMatrixCSC(x::DaskArray{T,2}) where {T}
    c = as_coo(x)
    m, n = size(c)
    nnz = Ref{Csize_t}(0)
    check(CAPI.dask_sparse_info(c, nnz, Ref{Csize_t}(0), Ref{Float64}(0)))
    indptr = zeros(Csize_t, n + 1)
    indices = zeros(Csize_t, nnz[])
    data = out_ptr(o -> CAPI.dask_sparse_to_compressed(c, false, indptr, indices, o), dask_value)
    vals = copy(from_value(data; owned = true))
    SparseMatrixCSC{T,Int}(m, n, Int[p + 1 for p in indptr], Int[i + 1 for i in indices], vals)
end
SparseArrays.sparse(x::DaskArray{T,2}) where {T} = SparseMatrixCSC(x)

"""
    sparse_coo(I, V, dims) -> DaskArray

An N-d sparse array (fill 0) with values `V` at the 1-based coordinates in the columns of
`I` (size `length(dims)` × nnz), like `sparse(I, J, V, m, n)` for any number of dimensions.
"""
function sparse_coo(I::AbstractMatrix{<:Integer}, V::AbstractVector, dims)
    dims = dims_tuple(dims)
    N = length(dims)
    size(I, 1) == N || throw(DaskError(CAPI.DASK_ERR_SHAPE, "I needs $N rows (one per dimension)"))
    size(I, 2) == length(V) || throw(DaskError(CAPI.DASK_ERR_SHAPE, "I has $(size(I, 2)) columns, V $(length(V)) values"))
    nnz = length(V)
    # Axis-major library coordinates: library axis b is Julia dim N - b.
    coords = Vector{UInt64}(undef, N * nnz)
    for b in 0:N-1, k in 1:nnz
        i = I[N - b, k]
        1 <= i <= dims[N - b] || throw(BoundsError(1:dims[N - b], i))
        coords[b * nnz + k] = i - 1
    end
    shape = Csize_t[reverse(dims)...]
    data = lend(Vector(V))
    try
        DaskArray(out_ptr(o -> CAPI.dask_sparse_from_triplets(N, shape, coords, data, 0.0, o), dask_array))
    finally
        CAPI.dask_value_free(data)
    end
end

"""The coordinates (N × nnz, 1-based) and values of a sparse DaskArray."""
function coo(x::DaskArray{T,N}) where {T,N}
    c = as_coo(x)
    nnz = Ref{Csize_t}(0)
    check(CAPI.dask_sparse_info(c, nnz, Ref{Csize_t}(0), Ref{Float64}(0)))
    k = Int(nnz[])
    coords = Vector{UInt64}(undef, N * k)
    check(CAPI.dask_sparse_coords(c, coords))
    I = Matrix{Int}(undef, N, k)
    for b in 0:N-1, j in 1:k
        I[N - b, j] = coords[b * k + j] + 1
    end
    V = copy(from_value(out_ptr(o -> CAPI.dask_sparse_data(c, o), dask_value); owned = true))
    I, V
end

"""Random sparse Float64 array with the given density, made block by block."""
function SparseArrays.sprand(::Type{DaskArray}, dims::Integer...; density::Real, chunks = nothing, seed::Integer = 0)
    shape = Csize_t[reverse(dims_tuple(dims))...]
    c = lib_chunks(chunks, dims)
    DaskArray(out_ptr(o -> CAPI.dask_array_random_sparse(UInt64(seed), Float64(density), length(dims),
                                                         shape, c, o), dask_array))
end

# A sparse value fetched from a future: a DaskArray over it.
function wrap_sparse_value(v::Ptr{dask_value})
    DaskArray(out_ptr(o -> CAPI.dask_array_from_value(v, C_NULL, o), dask_array))
end

"""Number of stored entries (computing chunked sparse blocks first)."""
function SparseArrays.nnz(x::DaskArray)
    c = as_coo(x)
    n = Ref{Csize_t}(0)
    check(CAPI.dask_sparse_info(c, n, C_NULL, C_NULL))
    Int(n[])
end

"""
    tensordot(a, b, dims_a, dims_b) -> DaskArray

Contracts Julia dims `dims_a` of `a` with `dims_b` of `b` (sparse or dense, lazy): the
result's dims are `a`'s free dims, then `b`'s. Like `numpy.tensordot` with Julia's dims.
"""
function tensordot(a::DaskArray, b::DaskArray, dims_a, dims_b)
    da, db = Tuple(dims_a), Tuple(dims_b)
    length(da) == length(db) || throw(DimensionMismatch("tensordot: $(length(da)) dims of a, $(length(db)) of b"))
    for (i, j) in zip(da, db)
        size(a, i) == size(b, j) || throw(DimensionMismatch(
            "tensordot: dim $i of a has length $(size(a, i)), dim $j of b $(size(b, j))"))
    end
    # A computed sparse array joins a chunked one as a chunked sparse array of one block.
    chunked(x) = kind(x) === :sparse ? rechunk(x, size(x)) : x
    a, b = chunked(a), chunked(b)
    # Julia's result dims (free of a, then free of b) reversed are the library's (free of b
    # reversed, then free of a reversed): contract b with a on the library's axes.
    axes_b = Csize_t[ndims(b) - j for j in db]
    axes_a = Csize_t[ndims(a) - i for i in da]
    DaskArray(out_ptr(o -> CAPI.dask_array_tensordot(b, a, axes_b, axes_a, length(axes_a), o), dask_array))
end
