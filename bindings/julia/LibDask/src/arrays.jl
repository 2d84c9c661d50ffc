"""
    DaskArray{T,N}

A lazy chunked array in the library. Julia's dims and indices throughout (the library's
C-ordered shape is the reverse, over the same memory). Broadcasting and reductions build
library graphs; `collect` (or `Array`) computes; `persist` computes and keeps the blocks.
Blocks may be dense or sparse.
"""
mutable struct DaskArray{T,N} <: AbstractArray{T,N}
    h::ArrayHandle
    dims::NTuple{N,Int}
    persisted::Bool
end

Base.unsafe_convert(::Type{Ptr{dask_array}}, x::DaskArray) = live(x.h)
Base.close(x::DaskArray) = close(x.h)
Base.isopen(x::DaskArray) = isopen(x.h)
Base.size(x::DaskArray) = x.dims

"""Takes over a library array handle."""
function DaskArray(p::Ptr{dask_array}; persisted::Bool = false)
    h = ArrayHandle(p)
    nd = Ref{Csize_t}(0)
    check(CAPI.dask_array_ndim(h, nd))
    shape = zeros(Csize_t, max(Int(nd[]), 1))
    check(CAPI.dask_array_shape(h, shape))
    dt = Ref{UInt32}(0)
    check(CAPI.dask_array_dtype(h, dt))
    N = Int(nd[])
    DaskArray{eltype_of(dt[]),N}(h, NTuple{N,Int}(reverse(Int.(shape[1:N]))), persisted)
end

"""Library block shape (reversed) from Julia chunks: an Int, a tuple, or `nothing` (auto)."""
function lib_chunks(chunks, dims)
    chunks === nothing && return C_NULL
    c = chunks isa Integer ? ntuple(_ -> Int(chunks), length(dims)) : Tuple(chunks)
    length(c) == length(dims) || throw(DaskError(CAPI.DASK_ERR_SHAPE,
        "chunks $(c) do not match the $(length(dims)) dimensions"))
    Csize_t[reverse(c)...]
end

"""
    DaskArray(A::Array; chunks = nothing)

A chunked array over `A`'s memory, without copying (`A` stays rooted while the library
uses it). `chunks`: block size per dimension (an Int for all), or `nothing` for ~128 MiB.
"""
function DaskArray(a::Array{T}; chunks = nothing) where {T}
    v = lend(a)
    try
        c = lib_chunks(chunks, size(a))
        DaskArray(out_ptr(o -> CAPI.dask_array_from_value(v, c, o), dask_array))
    finally
        CAPI.dask_value_free(v)
    end
end
DaskArray(a::AbstractArray; chunks = nothing) = DaskArray(collect(a); chunks = chunks)
DaskArray(x::DaskArray; chunks = nothing) = chunks === nothing ? x : rechunk(x, chunks)

function rechunk(x::DaskArray, chunks)
    c = lib_chunks(chunks, size(x))
    DaskArray(out_ptr(o -> CAPI.dask_array_rechunk(x, c, o), dask_array))
end

"""The block sizes along each dimension (Julia order), like dask's `.chunks` (one block
per dimension for a computed sparse array)."""
function chunks(x::DaskArray{T,N}) where {T,N}
    kind(x) === :sparse && return ntuple(d -> [size(x, d)], N)
    ntuple(N) do d
        axis = N - d
        count = Ref{Csize_t}(0)
        check(CAPI.dask_array_chunks(x, axis, C_NULL, 0, count))
        sizes = zeros(Csize_t, count[])
        check(CAPI.dask_array_chunks(x, axis, sizes, length(sizes), count))
        Int.(sizes)
    end
end

dims_tuple(dims) = Tuple(Int(d) for d in dims)
const Dims_ = Union{Integer,Tuple{Vararg{Integer}}}

function filled(T, dims, chunks, value)
    dims = dims_tuple(dims)
    shape = Csize_t[reverse(dims)...]
    c = lib_chunks(chunks === nothing ? dims : chunks, dims)
    DaskArray(out_ptr(o -> CAPI.dask_array_full(dtype_of(T), length(dims), shape, c, Float64(value), o),
                      dask_array))
end

Base.zeros(::Type{DaskArray{T}}, dims::Integer...; chunks = nothing) where {T} = filled(T, dims, chunks, 0)
Base.zeros(::Type{DaskArray}, dims::Integer...; chunks = nothing) = filled(Float64, dims, chunks, 0)
Base.ones(::Type{DaskArray{T}}, dims::Integer...; chunks = nothing) where {T} = filled(T, dims, chunks, 1)
Base.ones(::Type{DaskArray}, dims::Integer...; chunks = nothing) = filled(Float64, dims, chunks, 1)
Base.fill(v::Number, ::Type{DaskArray}, dims::Integer...; chunks = nothing) = filled(typeof(v), dims, chunks, v)

"""
    rand(DaskArray, dims...; chunks, seed = 0)

Uniform [0, 1) Float64 numbers made in the library, block by block (the same seed gives
the same numbers whatever the chunking).
"""
function Base.rand(::Type{DaskArray}, dims::Integer...; chunks = nothing, seed::Integer = 0)
    shape = Csize_t[reverse(dims_tuple(dims))...]
    c = lib_chunks(chunks, dims)
    DaskArray(out_ptr(o -> CAPI.dask_array_random_uniform(UInt64(seed), 0.0, 1.0, length(dims),
                                                          shape, c, o), dask_array))
end

"""Standard normal Float64 numbers, like `rand(DaskArray, ...)`."""
function Base.randn(::Type{DaskArray}, dims::Integer...; chunks = nothing, seed::Integer = 0)
    shape = Csize_t[reverse(dims_tuple(dims))...]
    c = lib_chunks(chunks, dims)
    DaskArray(out_ptr(o -> CAPI.dask_array_random_normal(UInt64(seed), 0.0, 1.0, length(dims),
                                                         shape, c, o), dask_array))
end

"""
    submit(x::DaskArray; client) -> Future

Starts computing `x`; `fetch` gives the Julia array (the library's memory, wrapped).
"""
function submit(x::DaskArray; client::Client = default_client())
    Future(out_ptr(o -> CAPI.dask_array_submit(client, x, o), dask_future))
end

"""Computes `x` into a new dense Julia Array, as `collect` always gives (the computed
result may share memory with `x`'s source or persisted blocks, so it is copied once;
`fetch(submit(x))` gives the library's memory itself, wrapped). A sparse array is densified
here, explicitly; `SparseMatrixCSC(x)` keeps it sparse."""
function Base.collect(x::DaskArray)
    r = fetch(submit(x))
    r isa DaskArray || return copy(r)
    wrap_buffer(out_ptr(o -> CAPI.dask_sparse_to_dense(r, o), dask_value))
end
Base.Array(x::DaskArray) = collect(x)

"""
    persist(x; client) -> DaskArray

Computes the blocks and keeps them in the client; later operations start from them.
"""
function persist(x::DaskArray; client::Client = default_client())
    p = out_ptr(o -> CAPI.dask_array_persist(client, x, o), dask_array)
    y = DaskArray(p; persisted = true)
    y
end

"""Number of tasks the computation of `x` would run (after fusion)."""
function task_count(x::DaskArray)
    n = Ref{Csize_t}(0)
    check(CAPI.dask_array_task_count(x, n))
    Int(n[])
end

Base.copy(x::DaskArray) = x
"""Bytes of the elements (of the dense form, for a sparse array: see `nnz`)."""
function nbytes(x::DaskArray)
    n = Ref{Csize_t}(0)
    check(CAPI.dask_array_nbytes(x, 0, n))
    Int(n[])
end
Base.iterate(x::DaskArray, state...) = throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED,
    "iterating a DaskArray element by element would compute each element: collect(x) first"))
Base.:(==)(a::DaskArray, b::AbstractArray) = collect(a) == b
Base.:(==)(a::AbstractArray, b::DaskArray) = a == collect(b)
Base.:(==)(a::DaskArray, b::DaskArray) = collect(a) == collect(b)

function describe(io::IO, x::DaskArray{T,N}) where {T,N}
    if !isopen(x)
        return print(io, "DaskArray{", T, ",", N, "} (closed)")
    end
    if kind(x) === :sparse
        n = SparseArrays.nnz(x)
        return print(io, N == 1 ? "$(size(x, 1))-element" : join(size(x), "×"), " sparse DaskArray{",
                     T, ",", N, "} with ", n, " stored ", n == 1 ? "entry" : "entries")
    end
    dims = N == 0 ? "0-dimensional" : join(size(x), "×")
    cs = N == 0 ? "" : ", chunks " * join(map(c -> isempty(c) ? "0" : string(maximum(c)), chunks(x)), "×") *
         " ($(prod(length.(chunks(x)))) blocks)"
    print(io, dims, " DaskArray{", T, ",", N, "}", cs, ", ", x.persisted ? "persisted" : "lazy")
end
Base.show(io::IO, x::DaskArray) = describe(io, x)
Base.show(io::IO, ::MIME"text/plain", x::DaskArray) = describe(io, x)
Base.summary(io::IO, x::DaskArray) = describe(io, x)
