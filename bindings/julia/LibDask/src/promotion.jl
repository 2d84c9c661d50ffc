# Julia's promotion rules on DaskArrays. The library resolves types like NumPy (NEP 50: a
# Python-like scalar never widens an array); a Julia user expects what broadcasting over an
# `Array` gives. So the result type is Julia's own (`Base.promote_op` on the element types)
# and the operands are converted to it before the library's ufunc runs: the library then
# computes in exactly the type Julia would, and its loop resolution has nothing to decide.
# Comparisons are the exception (their result is Bool): they compare in a type that holds
# both operands exactly, with a sign test where one is signed and the other unsigned.

elt(x::DaskArray) = eltype(x)
elt(x::Number) = typeof(x)

const COMPARISONS = (==, !=, <, <=, >, >=)
const PREDICATES = (isnan, isinf, isfinite, !, signbit)
const ROUNDINGS = (floor, ceil, trunc, round)
# Integer functions whose mixed signed/unsigned methods Julia defines by formulas of their
# own (or by checked conversion): refused when the result is unsigned, never guessed.
const MIXED_SIGN_OK = (+, -, *, &, |, xor, ^, ==, !=, <, <=, >, >=)
# Real functions that throw DomainError in Julia where NumPy's give NaN.
const DOMAIN_CHECKED = (sqrt, log, log2, log10, log1p, sin, cos, tan, asin, acos, acosh, atanh, ^)

"""`x` with element type `T`: a lazy cast of an array, a Julia conversion of a number
(integers wrap into integer types as Julia's mixed-type arithmetic does)."""
to_type(x::DaskArray, ::Type{T}) where {T} = eltype(x) === T ? x : astype(x, T)
to_type(x::Integer, ::Type{T}) where {T<:Integer} = T === Bool ? Bool(x) : x % T
to_type(x::Number, ::Type{T}) where {T} = convert(T, x)

function result_type(@nospecialize(f), @nospecialize(args))
    R = Base.promote_op(f, map(elt, args)...)
    if R === Union{} || !(R isa DataType) || !haskey(DTYPES, R)
        # No method (e.g. `!` of an Int), or a result the library cannot hold (Rational).
        R === Union{} && throw(MethodError(f, Tuple(a isa DaskArray ? zero(eltype(a)) : a for a in args)))
        throw(DaskError(CAPI.DASK_ERR_DTYPE,
            "$(f) over element types $(join(map(elt, args), ", ")) gives $R in Julia, " *
            "which a DaskArray cannot hold"))
    end
    R
end

"""Applies Julia function `f` elementwise over DaskArrays and numbers with Julia's result
type (lazy)."""
function broadcast_call(@nospecialize(f), @nospecialize(args...))
    all(a -> a isa Number, args) && return f(args...) # a scalar sub-expression
    R = result_type(f, args)
    if (unsigned_mix(args) && !any(g -> g === f, MIXED_SIGN_OK)) ||
       (any(g -> g === f, (fld, mod, rem, div)) && mixed_signs(args))
        refuse("$f of signed and unsigned integers ($(join(map(elt, args), ", ")))")
    elseif f === (^) && args[1] isa Irrational && integer_kind(elt(args[2]))
        refuse("an irrational number to integer powers (Julia multiplies it out)")
    end
    r = if any(g -> g === f, COMPARISONS) && length(args) == 2
        compare(f, args...)
    elseif any(g -> g === f, PREDICATES)
        apply_ufunc(ufunc_name(f, length(args)), args...)
    elseif any(g -> g === f, ROUNDINGS) && elt(args[1]) <: Integer
        args[1] # rounding an integer is the integer itself
    elseif f === sign && elt(args[1]) === Bool
        args[1] # sign(true) is true (NumPy refuses sign of booleans)
    elseif f === conj
        args[1] # the conjugate of a real number is itself
    elseif f === count_ones
        # Julia counts the two's-complement bits; NumPy's bitwise_count those of |x|.
        T = elt(args[1])
        apply_ufunc("bitwise_count", to_type(args[1], T === Bool ? UInt8 : T <: Signed ? unsigned(T) : T))
    elseif f === nextfloat || f === prevfloat
        apply_ufunc("nextafter", to_type(args[1], R), R(f === nextfloat ? Inf : -Inf))
    elseif f === ldexp
        e = args[2]
        elt(e) === UInt64 && refuse("ldexp with UInt64 exponents")
        # Exponents past ±2^30 all overflow or underflow alike; the library takes a scalar
        # exponent as int32 (NumPy's rule).
        e = e isa Number ? clamp(Int128(e), -2^30, 2^30) % Int32 : to_type(e, Int64)
        apply_ufunc("ldexp", to_type(args[1], R), e)
    elseif f === (<<) || f === (>>)
        shift(f, args[1], args[2], R)
    elseif f === div
        truncated_division(to_type(args[1], R), to_type(args[2], R), R)
    elseif f === (^) && R <: Integer
        integer_power(args[1], args[2])
    elseif f === copysign
        copy_sign(args[1], args[2], R)
    elseif f === fld && R <: AbstractFloat
        # Julia's float fld: the quotient of x - mod(x, y), so fld(x, 0.0) is NaN.
        x, y = to_type(args[1], R), to_type(args[2], R)
        apply_ufunc("rint", apply_ufunc("true_divide",
                    apply_ufunc("subtract", x, apply_ufunc("remainder", x, y)), y))
    else
        xs = map(a -> to_type(a, R), args)
        y = apply_ufunc(checked(ufunc_name(f, length(args)), R), xs...)
        R <: AbstractFloat && any(g -> g === f, DOMAIN_CHECKED) ? domain_checked(y, xs) : y
    end
    to_type(r, R)
end

integer_kind(T) = T <: Integer && T !== Bool

function mixed_signs(args)
    ints = [elt(a) for a in args if integer_kind(elt(a))]
    any(T -> T <: Signed, ints) && any(T -> T <: Unsigned, ints)
end

"""Signed and unsigned integers that Julia promotes to an unsigned type (same width or a
wider unsigned one): there each function has a method of its own for the mix (a checked
conversion, or a formula), which the library does not reproduce."""
function unsigned_mix(args)
    ints = [elt(a) for a in args if integer_kind(elt(a))]
    any(T -> T <: Signed, ints) && any(T -> T <: Unsigned, ints) && promote_type(ints...) <: Unsigned
end

refuse(what) = throw(DaskError(CAPI.DASK_ERR_NOT_IMPLEMENTED,
    "$what: Julia's semantics here are not implemented on DaskArrays; convert an operand first"))

"""`copysign(x, y)`: for integers Julia negates `x` (wrapping) where the signs differ."""
function copy_sign(x, y, R)
    if R <: AbstractFloat
        return apply_ufunc("copysign", to_type(x, R), to_type(y, R))
    end
    negative(v::Number) = v isa AbstractFloat ? signbit(v) : v isa Signed ? v < 0 : false
    negative(v::DaskArray) =
        elt(v) <: AbstractFloat ? apply_ufunc("less", apply_ufunc("copysign", 1.0, v), 0) :
        elt(v) <: Signed ? apply_ufunc("less", v, 0) : false
    minus(v) = v isa Number ? -v : to_type(apply_ufunc("negative", v), R)
    xr = to_type(x, R)
    sx, sy = negative(x), negative(y)
    if sx isa Bool && sy isa Bool # neither can be negative, or only a known scalar
        r = sx == sy ? xr : minus(xr)
        # A scalar x against an array y: the result still has y's shape.
        return r isa Number ? where_(apply_ufunc("isnan", y), r, r) : r
    end
    flip = sx isa Bool ? (sx ? apply_ufunc("logical_not", sy) : sy) :
           sy isa Bool ? (sy ? apply_ufunc("logical_not", sx) : sx) :
           apply_ufunc("not_equal", sx, sy)
    where_(flip, minus(xr), xr)
end

"""`y`, failing with Julia's DomainError where it is NaN although the arguments `xs` were
not (`sqrt(-1.0)`, `sin(Inf)`): the check fuses into the same kernel."""
domain_checked(y, xs) = apply_ufunc("checked_nan", y, xs[1], xs[end])

"""Integer `x ^ n` as Julia computes it (power by squaring, wrapping; a negative exponent
is a DomainError but for bases 1 and -1): in 64 bits, signed unless the exponent is
unsigned, then wrapped into Julia's result type by the caller."""
function integer_power(x, n)
    W = elt(n) <: Unsigned ? UInt64 : Int64
    apply_ufunc("checked_power", to_type(x, W), to_type(n, W))
end

# Integer division and powers raise in Julia where NumPy's ufuncs give 0: the library's
# checked ufuncs fail there instead (DivideError, DomainError in `julia_exception`).
const CHECKED = ("floor_divide", "remainder", "fmod", "power")
# Float powers use C's pow (NumPy computes x ^ 0.5 as a square root, so (-0.0)^0.5 would be
# -0.0 where Julia gives 0.0).
checked(name, R) = R <: Integer && name in CHECKED ? "checked_" * name :
                   name == "power" ? "c_power" : name

"""`x .^ p` for a literal integer `p`, as Julia's `literal_pow` computes it: products for
small powers, `inv(x)^-p` for negative powers of integers."""
function literal_power(@nospecialize(x), p::Integer)
    x isa Number && return Base.literal_pow(^, x, Val(p))
    R = Base.promote_op(Base.literal_pow, typeof(^), elt(x), Val{p})
    haskey(DTYPES, R) || throw(DaskError(CAPI.DASK_ERR_DTYPE, "x .^ $p of $(elt(x)) gives $R in Julia"))
    if p < 0 && !(elt(x) <: AbstractFloat)
        x, p = apply_ufunc("reciprocal", to_type(x, Float64)), -p
    end
    x = to_type(x, R)
    r = p == 1 ? x :
        p == 2 ? apply_ufunc("multiply", x, x) :
        p == 3 ? apply_ufunc("multiply", apply_ufunc("multiply", x, x), x) :
        apply_ufunc("power", x, to_type(p, R)) # p ≥ 0 here
    to_type(r, R)
end

"""`div(a, b)` (`a ÷ b`, rounding toward zero) from the library's ufuncs: `a - rem(a, b)`
is an exact multiple of `b`, so flooring its quotient is exact (and checked for integers)."""
function truncated_division(@nospecialize(a), @nospecialize(b), R)
    if R <: Integer
        whole = apply_ufunc("subtract", a, apply_ufunc("checked_fmod", a, b))
        return apply_ufunc("checked_floor_divide", whole, b)
    end
    whole = apply_ufunc("subtract", a, apply_ufunc("fmod", a, b))
    apply_ufunc("rint", apply_ufunc("true_divide", whole, b))
end

"""Comparison with Julia's exact semantics across element types."""
function compare(@nospecialize(f), @nospecialize(a), @nospecialize(b))
    Ta, Tb = elt(a), elt(b)
    name = ufunc_name(f, 2)
    C = promote_type(Ta, Tb)
    if Ta <: Integer && Tb <: Integer && !(Ta === Bool || Tb === Bool) &&
       (Ta <: Signed) != (Tb <: Signed) && C <: Unsigned
        return mixed_sign_compare(f, a, b, C)
    elseif C <: AbstractFloat && (Ta <: Integer || Tb <: Integer)
        C = Float64 # integers compare against Float32 without rounding to 24 bits
    end
    apply_ufunc(name, to_type(a, C), to_type(b, C))
end

# A signed integer s against an unsigned u, both compared as unsigned C: a negative s is
# below every u, whatever its unsigned bits say.
function mixed_sign_compare(@nospecialize(f), @nospecialize(a), @nospecialize(b), C)
    left_signed = elt(a) <: Signed
    s = left_signed ? a : b
    negative = s isa Number ? s < 0 : apply_ufunc("less", s, 0)
    core = apply_ufunc(ufunc_name(f, 2), to_type(a, C), to_type(b, C))
    # Which comparisons a negative signed operand makes true.
    true_when_negative = left_signed ? (f === (<) || f === (<=) || f === (!=)) :
                                       (f === (>) || f === (>=) || f === (!=))
    if true_when_negative
        apply_ufunc("logical_or", negative, core)
    else
        apply_ufunc("logical_and", negative isa Bool ? !negative : apply_ufunc("logical_not", negative), core)
    end
end

"""`x << n` / `x >> n` with Julia's rules: a count past the width shifts everything out, a
negative count shifts the other way; the result has `x`'s type."""
function shift(@nospecialize(f), @nospecialize(x), @nospecialize(n), R)
    x = to_type(x, R)
    other = f === (<<) ? (>>) : (<<)
    bits = 8 * sizeof(R)
    name(g) = g === (<<) ? "left_shift" : "right_shift"
    if n isa Number
        g, m = n < 0 ? (other, -Int128(n)) : (f, Int128(n))
        return apply_ufunc(name(g), x, R(min(m, bits)))
    end
    clamp_count(m) = to_type(apply_ufunc("minimum", m, bits), R) # counts ≥ width act alike
    forward = apply_ufunc(name(f), x, clamp_count(n))
    elt(n) <: Unsigned && return forward
    backward = apply_ufunc(name(other), x, clamp_count(apply_ufunc("negative", n)))
    where_(apply_ufunc("less", n, 0), backward, forward)
end

"""`T.(x)`: Julia's conversion, exact or an InexactError (a float to an integer type must be
a whole number in range; an integer must fit), never a wrapped or saturated value."""
function convert_exact(@nospecialize(x), ::Type{T}) where {T}
    x isa Number && return T(x)
    S = elt(x)
    (T <: AbstractFloat || S === T || !(T <: Integer)) && return to_type(x, T)
    lo, hi = T === Bool ? (0.0, 2.0) : (Float64(typemin(T)), Float64(typemax(T)) + 1)
    if S <: AbstractFloat
        checked = apply_ufunc("checked_integral", x, S(lo), S(hi))
        return T === Bool ? apply_ufunc("not_equal", checked, 0) : astype(checked, T)
    end
    # Integers: the check runs on a float copy (exact for the range test) and joins the
    # result as an added zero, so the exact integer values pass through untouched.
    typemin(S) >= lo && Float64(typemax(S)) < hi && return to_type(x, T) # always fits
    ok = apply_ufunc("checked_integral", astype(x, Float64), lo, hi)
    zero_if_ok = astype(apply_ufunc("multiply", ok, 0.0), T === Bool ? Int8 : T)
    T === Bool && return apply_ufunc("not_equal", apply_ufunc("add", x, zero_if_ok), 0)
    apply_ufunc("add", astype(x, T), zero_if_ok)
end

const ROUNDING_UFUNCS = IdDict{Any,String}(round => "rint", floor => "floor", ceil => "ceil",
                                           trunc => "trunc")

"""`round.(T, x)` (and floor, ceil, trunc): rounded, then converted exactly to `T`."""
function round_to(f, ::Type{T}, @nospecialize(x)) where {T}
    x isa Number && return f(T, x)
    elt(x) <: AbstractFloat || return convert_exact(x, T)
    convert_exact(apply_ufunc(ROUNDING_UFUNCS[f], x), T)
end
