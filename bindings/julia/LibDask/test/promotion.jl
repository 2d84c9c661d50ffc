# Broadcasting over DaskArrays gives what broadcasting over `Array`s gives: the same element
# type and the same values, or an exception where Julia throws one. Included by runtests.jl.

const ALL_ELTYPES = (Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64)

# Small values of each type, with negatives where the type has them and zero only in Bool
# (false), so divisions by zero are exercised once per type pair without drowning the grid.
sample(::Type{Bool}) = [true, false, true, true]
sample(::Type{T}) where {T<:Signed} = T[-3, 2, 5, 1]
sample(::Type{T}) where {T<:Unsigned} = T[3, 2, 5, 1]
sample(::Type{T}) where {T<:AbstractFloat} = T[-2.5, 1.5, 3.0, 0.25]

const BINARY_FUNCTIONS = (+, -, *, /, ^, min, max, fld, mod, rem, div, ==, !=, <, <=, >, >=, &, |, xor,
                hypot, copysign, atan)
const SCALAR_OPERANDS = (true, 3, -2, Int32(4), UInt8(7), 2.5, 1.5f0, π)
const UNARY_FUNCTIONS = (-, abs, abs2, sign, exp, sqrt, sin, floor, ceil, trunc, round, inv, isnan,
               isinf, isfinite, !, ~, cbrt, exp2, log1p, asinh, acosh, atanh, deg2rad,
               rad2deg, signbit, count_ones, nextfloat, prevfloat, conj, +)

"""`f.(args...)` on Arrays, or the exception Julia throws: element by element with Julia's
scalar methods (broadcasting itself would compile a kernel per case, minutes for the grid),
the element type being that of the values Julia's own `f` returns."""
function julia_result(@nospecialize(f), @nospecialize(args...))
    n = maximum(a -> a isa Array ? length(a) : 1, args)
    vals = Vector{Any}(undef, n)
    try
        for i in 1:n
            xs = Any[a isa Array ? a[i] : a for a in args]
            vals[i] = f(xs...)
        end
    catch e
        return e
    end
    T = typeof(vals[1])
    all(v -> typeof(v) === T, vals) || return ErrorException("mixed result types")
    r = Vector{T}(undef, n)
    copyto!(r, vals)
end

"""The same through DaskArrays (Array arguments wrapped), collected. The grid calls the
binding's broadcast lowering directly (what `f.(x, y)` on DaskArrays reaches) so that
Julia compiles no broadcast machinery per case; the dotted syntax is tested above."""
function dask_result(@nospecialize(f), @nospecialize(args...))
    try
        xs = Any[a isa Array ? DaskArray(a; chunks = 2) : a for a in args]
        r = LibDask.broadcast_call(f, xs...)
        r isa DaskArray ? collect(r) : r
    catch e
        e
    end
end

# Calls whose Julia methods the library does not reproduce (signed and unsigned integers
# promoted to unsigned, an irrational to integer powers) or whose Julia result has an
# element type no DaskArray holds (Irrational) are refused with a clear error, never
# answered with a different value.
refused(got) = got isa DaskError &&
    (got.code == "DASK_ERR_NOT_IMPLEMENTED" && occursin("not implemented on DaskArrays", got.message) ||
     got.code == "DASK_ERR_DTYPE" && occursin("which a DaskArray cannot hold", got.message))

function agrees(want, got)
    refused(got) && return true
    if want isa Exception
        # Julia throws: so must we (a wrong value is the one thing not allowed).
        return got isa Exception
    elseif got isa Exception
        return false
    end
    eltype(got) == eltype(want) || return false
    eltype(want) <: AbstractFloat ? isapprox(got, want; nans = true, rtol = 4eps(eltype(want))) :
                                    isequal(got, want)
end

@testset "promotion: Julia's eltypes and values" begin
    # The cases the library got wrong with NumPy's rules.
    x = DaskArray(fill(Int32(2e9), 3, 4))
    @test collect(x .+ 1_000_000_000) == fill(Int32(2e9), 3, 4) .+ 1_000_000_000
    @test eltype(x .+ 1_000_000_000) == Int64
    @test collect(DaskArray(UInt8[200]) .+ 100) == UInt8[200] .+ 100 == [300]
    @test collect(DaskArray([true]) .+ DaskArray([true])) == [2]
    @test collect(DaskArray([1, 2, 3]) .^ -1) == [1, 2, 3] .^ -1
    @test eltype(DaskArray(Float32[1]) .* 2.0) == Float64
    @test eltype(DaskArray(Int32[1]) .* DaskArray(Float32[2])) == Float32
    # Integer errors are Julia's own.
    @test_throws DivideError collect(fld.(DaskArray([1, 2]), 0))
    @test_throws DivideError collect(DaskArray(Int8[-128]) .÷ Int8(-1))
    @test collect(DaskArray([7, -7, 9]) .÷ 2) == [7, -7, 9] .÷ 2
    @test collect(DaskArray([7.5, -7.5]) .÷ 2.0) == [7.5, -7.5] .÷ 2.0
    # Literal powers are Julia's literal_pow: products, and inv(x)^p for negative p.
    for T in (Int8, Int64, UInt16, Float32, Bool)
        a = sample(T)
        for (got, want) in ((DaskArray(a) .^ 2, a .^ 2), (DaskArray(a) .^ 3, a .^ 3),
                            (DaskArray(a) .^ -2, a .^ -2), (DaskArray(a) .^ 0, a .^ 0))
            @test eltype(got) == eltype(want) && collect(got) ≈ want
        end
    end
    n = -2
    @test_throws DomainError collect(DaskArray([2, 3]) .^ n)
    @test collect(DaskArray([1, -1]) .^ n) == [1, -1] .^ n # 1 and -1 have integer inverses
    # Exact comparisons across signedness, and against Float32.
    @test collect(DaskArray(Int64[-1, 5]) .< DaskArray(UInt64[3, 2])) == (Int64[-1, 5] .< UInt64[3, 2])
    big = Int64(2)^24 + 1
    @test collect(DaskArray([big]) .== Float32(2^24)) == ([big] .== Float32(2^24))
    # Shifts past the width and negative counts.
    @test collect(DaskArray(Int8[1, 2, -4]) .<< DaskArray([-1, 9, 1])) == (Int8[1, 2, -4] .<< [-1, 9, 1])
    @test collect(DaskArray(Int8[-4, 64]) .>> 70) == (Int8[-4, 64] .>> 70)
    # Overflow wraps as in Julia.
    @test collect(DaskArray(Int8[100, -100]) .* Int8(3)) == Int8[100, -100] .* Int8(3)

    mismatches = String[]
    for f in BINARY_FUNCTIONS, Ta in ALL_ELTYPES, Tb in ALL_ELTYPES
        a, b = sample(Ta), sample(Tb)
        agrees(julia_result(f, a, b), dask_result(f, a, b)) || push!(mismatches, "$f($Ta, $Tb)")
    end
    for f in BINARY_FUNCTIONS, T in ALL_ELTYPES, s in SCALAR_OPERANDS
        a = sample(T)
        agrees(julia_result(f, a, s), dask_result(f, a, s)) || push!(mismatches, "$f($T, $(typeof(s)))")
        agrees(julia_result(f, s, a), dask_result(f, s, a)) || push!(mismatches, "$f($(typeof(s)), $T)")
    end
    for f in UNARY_FUNCTIONS, T in ALL_ELTYPES
        a = sample(T)
        agrees(julia_result(f, a), dask_result(f, a)) || push!(mismatches, "$f($T)")
    end
    for p in (-3, -2, -1, 0, 1, 2, 3, 5), T in ALL_ELTYPES
        a = sample(T)
        # A variable exponent: `^` itself (DomainError for integers to negative powers).
        agrees(julia_result(^, a, p), dask_result(^, a, p)) || push!(mismatches, "$T .^ $p")
    end
    isempty(mismatches) || @info "differs from Array broadcasting" mismatches
    @test isempty(mismatches)
end
