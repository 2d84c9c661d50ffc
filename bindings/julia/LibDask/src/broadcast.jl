# Broadcasting: `exp.(x) .* 2 .+ 1` on DaskArrays is flattened into library ufunc calls —
# Julia's own `__array_ufunc__`. The library fuses elementwise chains, so the whole dotted
# expression runs as one pass per block; no Julia loop touches the data.

struct DaskStyle <: Broadcast.AbstractArrayStyle{Any} end
DaskStyle(::Val) = DaskStyle()
Base.BroadcastStyle(::Type{<:DaskArray}) = DaskStyle()
Base.BroadcastStyle(::DaskStyle, ::Broadcast.AbstractArrayStyle) = DaskStyle()
Base.BroadcastStyle(::DaskStyle, ::Broadcast.DefaultArrayStyle) = DaskStyle()

# Julia function => (library ufunc with one argument, with two arguments).
const UFUNCS = IdDict{Any,Tuple{Union{String,Nothing},Union{String,Nothing}}}(
    (+) => ("positive", "add"), (-) => ("negative", "subtract"), (*) => (nothing, "multiply"),
    (/) => (nothing, "true_divide"), (^) => (nothing, "power"), fld => (nothing, "floor_divide"),
    mod => (nothing, "remainder"), exp => ("exp", nothing), expm1 => ("expm1", nothing),
    log => ("log", nothing), log1p => ("log1p", nothing), log2 => ("log2", nothing),
    log10 => ("log10", nothing), sqrt => ("sqrt", nothing), sin => ("sin", nothing),
    cos => ("cos", nothing), tan => ("tan", nothing), asin => ("arcsin", nothing),
    acos => ("arccos", nothing), atan => ("arctan", "arctan2"), sinh => ("sinh", nothing),
    cosh => ("cosh", nothing), tanh => ("tanh", nothing), abs => ("absolute", nothing),
    abs2 => ("square", nothing), sign => ("sign", nothing), floor => ("floor", nothing),
    ceil => ("ceil", nothing), round => ("rint", nothing), isnan => ("isnan", nothing),
    isinf => ("isinf", nothing), isfinite => ("isfinite", nothing),
    (>) => (nothing, "greater"), (<) => (nothing, "less"), (>=) => (nothing, "greater_equal"),
    (<=) => (nothing, "less_equal"), (==) => (nothing, "equal"), (!=) => (nothing, "not_equal"),
    (!) => ("logical_not", nothing), (&) => (nothing, "bitwise_and"), (|) => (nothing, "bitwise_or"),
    xor => (nothing, "bitwise_xor"), (~) => ("invert", nothing), min => (nothing, "minimum"),
    max => (nothing, "maximum"), (<<) => (nothing, "left_shift"), (>>) => (nothing, "right_shift"),
    trunc => ("trunc", nothing), cbrt => ("cbrt", nothing), exp2 => ("exp2", nothing),
    inv => ("reciprocal", nothing), hypot => (nothing, "hypot"), rem => (nothing, "fmod"),
    copysign => (nothing, "copysign"), asinh => ("arcsinh", nothing),
    acosh => ("arccosh", nothing), atanh => ("arctanh", nothing),
    deg2rad => ("deg2rad", nothing), rad2deg => ("rad2deg", nothing),
    signbit => ("signbit", nothing), count_ones => ("bitwise_count", nothing),
    nextfloat => ("nextafter", nothing), prevfloat => ("nextafter", nothing),
    conj => ("conjugate", nothing), ldexp => (nothing, "ldexp"),
)

const UFUNC_CACHE = Dict{String,Ptr{dask_ufunc}}()

function ufunc(name::String)
    get!(UFUNC_CACHE, name) do
        out_ptr(o -> CAPI.dask_ufunc_lookup(name, o), dask_ufunc)
    end
end

operand(x::DaskArray) = dask_operand(CAPI.DASK_OPERAND_ARRAY, live(x.h), 0.0, 0)
operand(x::Bool) = dask_operand(CAPI.DASK_OPERAND_BOOL, C_NULL, 0.0, Int64(x))
operand(x::Integer) = dask_operand(CAPI.DASK_OPERAND_INT, C_NULL, 0.0, Int64(x))
# An unsigned number past Int64 cannot be a library integer scalar: it joins as a typed
# 0-dimensional array instead (see `apply_ufunc`).
operand_value(x::Unsigned) = x > typemax(Int64) ? DaskArray(fill(x)) : x
operand_value(x) = x
operand(x::AbstractFloat) = dask_operand(CAPI.DASK_OPERAND_FLOAT, C_NULL, Float64(x), 0)
operand(x) = throw(DaskError(CAPI.DASK_ERR_DTYPE, "a $(typeof(x)) cannot take part in a DaskArray expression"))

"""Calls the library ufunc `name` with several outputs (`frexp`, `modf`, `divmod`) on
DaskArrays and numbers (lazy): a tuple of DaskArrays, one per output."""
function apply_ufunc_multi(name::String, @nospecialize(args...))
    u = ufunc(name)
    nout = Ref{Csize_t}(0)
    check(CAPI.dask_ufunc_nout(u, nout))
    args = map(operand_value, args)
    ops = dask_operand[operand(a) for a in args]
    outs = fill(Ptr{dask_array}(C_NULL), nout[])
    GC.@preserve args check(CAPI.dask_ufunc_call_multi(u, ops, length(ops), outs, length(outs)))
    Tuple(DaskArray(p) for p in outs)
end

"""`modf(x)` of a DaskArray: its fractional and integral parts, as Julia's `modf` of a
number gives them (a tuple; both in x's float type, signs kept: `modf(-2.5)` is
`(-0.5, -2.0)`). Lazy."""
Base.modf(x::DaskArray) = apply_ufunc_multi("modf", to_type(x, float(eltype(x))))

"""`frexp(x)` of a float DaskArray: mantissas in [0.5, 1) and `Int` exponents with
`x == m * 2^e`, as Julia's `frexp` of a number. Lazy."""
function Base.frexp(x::DaskArray{T}) where {T<:AbstractFloat}
    m, e = apply_ufunc_multi("frexp", x)
    (m, to_type(e, Int))
end

"""Calls the library ufunc `name` on DaskArrays and numbers (lazy), with the library's
(NumPy's) type rules: Julia's are applied by `broadcast_call`."""
function apply_ufunc(name::String, @nospecialize(args...))
    args = map(operand_value, args)
    ops = dask_operand[operand(a) for a in args]
    GC.@preserve args DaskArray(out_ptr(o -> CAPI.dask_ufunc_call(ufunc(name), ops, length(ops), o),
                                        dask_array))
end

function ufunc_name(f, nargs::Int)
    names = get(UFUNCS, f, nothing)
    name = names === nothing ? nothing : names[min(nargs, 2)]
    if name === nothing || nargs > 2
        throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED,
            "$(f) with $nargs argument(s) has no library ufunc: it cannot be broadcast over a " *
            "DaskArray (Julia functions do not run on the library's threads; use " *
            "`submit`, or the operations listed in LibDask.UFUNCS)"))
    end
    name
end

# Operands of a broadcast: DaskArrays and numbers stay; Julia arrays are lent (no copy);
# Refs and 0-d containers are scalars.
lower(x::DaskArray) = x
lower(x::Number) = x
lower(x::Base.RefValue) = lower(x[])
lower(x::Type) = x # round.(Int, x)
lower(x::Array) = DaskArray(x)
lower(x::AbstractArray) = DaskArray(collect(x))
lower(x) = throw(DaskError(CAPI.DASK_ERR_DTYPE, "a $(typeof(x)) cannot be broadcast with a DaskArray"))

function lower(@nospecialize(bc::Broadcast.Broadcasted))
    f = bc.f
    if f === Base.literal_pow # x .^ 2 arrives as literal_pow(^, x, Val(2))
        return literal_power(lower(bc.args[2]), lower_val(bc.args[3]))
    end
    args = map(lower, bc.args)
    if f isa Type && f <: Number # Float32.(x), Int.(x)
        return convert_exact(only(args), f)
    elseif any(g -> g === f, ROUNDINGS) && length(args) == 2 && args[1] isa Type # round.(Int, x)
        return round_to(f, args[1], args[2])
    elseif f === clamp && length(args) == 3
        R = result_type(f, args)
        return to_type(broadcast_call(min, broadcast_call(max, args[1], args[2]), args[3]), R)
    elseif f === ifelse
        return where_(args...)
    elseif f === identity
        return only(args)
    elseif f === (+) && length(args) == 1 # +true is 1 (an Int) in Julia
        return to_type(only(args), result_type(+, args))
    elseif length(args) > 2 && (f === (+) || f === (*)) # a .+ b .+ c folds pairwise
        return foldl((a, b) -> broadcast_call(f, a, b), args)
    end
    broadcast_call(f, args...)
end
lower_val(::Base.RefValue{Val{p}}) where {p} = p
lower_val(::Val{p}) where {p} = p

Base.copy(bc::Broadcast.Broadcasted{DaskStyle}) = lower(bc)

"""The array converted to element type `T` (lazy)."""
astype(x::DaskArray, ::Type{T}) where {T} =
    DaskArray(out_ptr(o -> CAPI.dask_array_astype(x, dtype_of(T), o), dask_array))
astype(x::Number, ::Type{T}) where {T} = T(x)

"""`ifelse.(cond, a, b)`: elements of `a` where `cond`, else of `b` (lazy)."""
function where_(cond, a, b)
    c = cond isa DaskArray ? cond : throw(DaskError(CAPI.DASK_ERR_INVALID_ARGUMENT,
                                                    "ifelse over a DaskArray needs an array condition"))
    oa, ob = operand(a), operand(b)
    GC.@preserve a b DaskArray(out_ptr(o -> CAPI.dask_array_where(c, Ref(oa), Ref(ob), o), dask_array))
end

# Operators outside broadcasting, where Julia defines them for arrays (same sizes required).
function same_size(op, a, b)
    size(a) == size(b) || throw(DimensionMismatch(
        "dimensions must match: a has dims $(axes(a)), b has dims $(axes(b)), mismatch at " *
        "$(findfirst(d -> size(a, d) != size(b, d), 1:max(ndims(a), ndims(b))))"))
    broadcast_call(op, a, b)
end
Base.:+(a::DaskArray, b::DaskArray) = same_size(+, a, b)
Base.:-(a::DaskArray, b::DaskArray) = same_size(-, a, b)
Base.:+(a::DaskArray, b::AbstractArray) = same_size(+, a, lower(b))
Base.:+(a::AbstractArray, b::DaskArray) = same_size(+, lower(a), b)
Base.:-(a::DaskArray, b::AbstractArray) = same_size(-, a, lower(b))
Base.:-(a::AbstractArray, b::DaskArray) = same_size(-, lower(a), b)
Base.:-(a::DaskArray) = broadcast_call(-, a)
Base.:*(a::DaskArray, b::Number) = broadcast_call(*, a, b)
Base.:*(a::Number, b::DaskArray) = broadcast_call(*, a, b)
Base.:/(a::DaskArray, b::Number) = broadcast_call(/, a, b)
