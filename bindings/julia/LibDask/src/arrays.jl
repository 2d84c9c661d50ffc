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

"""Library block shape (reversed) from Julia chunks: an Int, a tuple (-1 or `:` for a whole
dimension), or `nothing` (auto)."""
function lib_chunks(chunks, dims)
    chunks === nothing && return C_NULL
    c = chunks isa Integer ? ntuple(_ -> Int(chunks), length(dims)) : Tuple(chunks)
    length(c) == length(dims) || throw(DaskError(CAPI.DASK_ERR_SHAPE,
        "chunks $(c) do not match the $(length(dims)) dimensions"))
    c = map(c, Tuple(dims)) do k, n
        k isa Colon || k == -1 ? max(n, 1) :
        k isa Integer && k > 0 ? Int(k) :
        throw(DaskError(CAPI.DASK_ERR_SHAPE, "chunk size $k: a positive size, -1 or `:` (whole dimension)"))
    end
    Csize_t[reverse(c)...]
end

irregular(chunks) = chunks isa Tuple && any(c -> c isa AbstractVector, chunks)

"""`x` cut into the irregular blocks `chunks` (a list of block sizes per dimension, or one
size, -1 or `:`), as dask's `chunks=((3, 3, 1), (2, 5))`: slices joined per dimension."""
function irregular_chunks(x::DaskArray, chunks)
    length(chunks) == ndims(x) || throw(DaskError(CAPI.DASK_ERR_SHAPE,
        "chunks $(chunks) do not match the $(ndims(x)) dimensions"))
    regular = map((c, n) -> c isa AbstractVector ? max(n, 1) : c, chunks, size(x))
    x = rechunk(x, regular)
    for (d, c) in enumerate(chunks)
        c isa AbstractVector || continue
        sum(c) == size(x, d) && all(>(0), c) || throw(DaskError(CAPI.DASK_ERR_SHAPE,
            "chunks $(c) of dimension $d do not add up to its length $(size(x, d))"))
        stops = cumsum(c)
        pieces = [index(x, ntuple(k -> k == d ? (s - len + 1:s) : Colon(), ndims(x))...)
                  for (s, len) in zip(stops, c)]
        x = length(pieces) == 1 ? pieces[1] : cat(pieces...; dims = d)
    end
    x
end

"""
    DaskArray(A::Array; chunks = nothing)

A chunked array over `A`'s memory, without copying (`A` stays rooted while the library
uses it). `chunks`: block size per dimension (an Int for all), or `nothing` for ~128 MiB.
"""
function DaskArray(a::Array{T}; chunks = nothing) where {T}
    irregular(chunks) && return irregular_chunks(DaskArray(a), chunks)
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
    irregular(chunks) && return irregular_chunks(x, chunks)
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
Base.zeros(::Type{DaskArray{T}}, dims::Tuple{Vararg{Integer}}; chunks = nothing) where {T} = filled(T, dims, chunks, 0)
Base.zeros(::Type{DaskArray}, dims::Tuple{Vararg{Integer}}; chunks = nothing) = filled(Float64, dims, chunks, 0)
Base.ones(::Type{DaskArray{T}}, dims::Tuple{Vararg{Integer}}; chunks = nothing) where {T} = filled(T, dims, chunks, 1)
Base.ones(::Type{DaskArray}, dims::Tuple{Vararg{Integer}}; chunks = nothing) = filled(Float64, dims, chunks, 1)
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

"""`rand(DaskArray{T}, dims...)`: uniform numbers of a float type `T` (made as Float64,
converted block by block)."""
function Base.rand(::Type{DaskArray{T}}, dims::Integer...; chunks = nothing, seed::Integer = 0) where {T<:AbstractFloat}
    x = rand(DaskArray, dims...; chunks = chunks, seed = seed)
    T === Float64 ? x : astype(x, T)
end
Base.rand(::Type{DaskArray}, dims::Tuple{Vararg{Integer}}; kwargs...) = rand(DaskArray, dims...; kwargs...)

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
function Base.collect(x::DaskArray; progress::Bool = SHOW_PROGRESS[])
    r = fetch(submit(x); progress = progress)
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
Base.Matrix(x::DaskArray{T,2}) where {T} = collect(x)
Base.Vector(x::DaskArray{T,1}) where {T} = collect(x)
Base.Array{T}(x::DaskArray) where {T} = convert(Array{T}, collect(x))
Base.Array{T,N}(x::DaskArray{S,N}) where {T,S,N} = convert(Array{T,N}, collect(x))
# DaskArrays are immutable: `similar` gives the mutable Julia array a result would fill.
Base.similar(x::DaskArray{T}, ::Type{S} = T, dims::Dims = size(x)) where {T,S} = Array{S}(undef, dims)
Base.isapprox(x::DaskArray, y::AbstractArray; kwargs...) = isapprox(collect(x), y; kwargs...)
Base.isapprox(x::AbstractArray, y::DaskArray; kwargs...) = isapprox(x, collect(y); kwargs...)
Base.isapprox(x::DaskArray, y::DaskArray; kwargs...) = isapprox(collect(x), collect(y); kwargs...)
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
