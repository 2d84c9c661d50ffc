# Julia's own semantics for indexing, collect, host tasks, clients and display, each against
# the same operation on Arrays. Included by runtests.jl.

@testset "indexing as Julia defines it" begin
    A = rand(10, 6)
    x = DaskArray(A; chunks = (4, 4))
    m = rand(Bool, 10)
    @test collect(x[trues(10), :]) == A[trues(10), :]
    @test collect(x[m, 2:3]) == A[m, 2:3]
    @test collect(x[m, [true, false, true, false, false, true]]) == A[m, [true, false, true, false, false, true]]
    @test_throws ArgumentError x[true, 3]
    @test_throws BoundsError x[falses(9), :]
    mask = A .> 0.5
    @test collect(x[mask]) == A[mask] # a same-shaped mask: the selected elements, column-major
    @test collect(x[DaskArray(mask)]) == A[mask]
    @test collect(x[[1, 3], [2, 4]]) == A[[1, 3], [2, 4]] # two vectors: orthogonal
    @test collect(x[7:13]) == A[7:13] # linear indexing
    @test x[17] == A[17]
    @test collect(x[[3, 60, 1]]) == A[[3, 60, 1]]
    @test collect(x[:]) == A[:]
    @test_throws BoundsError x[61]
    B = rand(3, 4, 5)
    y = DaskArray(B)
    @test y[2, 3, 1, 1] == B[2, 3, 1, 1] # trailing ones
    @test_throws BoundsError y[2, 7] # Julia has no partial linear indexing
    z = DaskArray(rand(3, 4, 1))
    @test z[2, 3] == collect(z)[2, 3]
    # view, reshape, vec: lazy library operations, not element-by-element Base wrappers.
    @test collect(view(x, 2:5, 3)) == view(A, 2:5, 3)
    v = view(x, 2:5, :)
    @test v isa DaskArray && collect(v) == A[2:5, :]
    @test reshape(x, 6, 10) isa DaskArray
    @test collect(reshape(x, 6, 10)) == reshape(A, 6, 10)
    @test collect(reshape(x, :, 3)) == reshape(A, :, 3)
    @test collect(reshape(y, (4, 15))) == reshape(B, (4, 15))
    @test collect(vec(x)) == vec(A)
    @test_throws DimensionMismatch reshape(x, 7, 7)
end

@testset "collect always gives a new array" begin
    a = rand(3, 3)
    c = collect(DaskArray(a))
    c[1] = 99
    @test a[1] != 99
    p = persist(DaskArray(rand(4)) .+ 1)
    c1 = collect(p)
    c1[1] = -1
    @test collect(p)[1] != -1
end

@testset "host tasks that wait on host tasks" begin
    t = @async fetch(submit(() -> fetch(submit(+, 20, 22))))
    for _ in 1:200
        istaskdone(t) && break
        sleep(0.05)
    end
    @test istaskdone(t) && fetch(t) == 42
    # Deeper: three levels, through a future passed in.
    inner = submit(() -> 2)
    @test fetch(submit(f -> fetch(submit(g -> fetch(g) * 3, f)) + 1, inner)) == 7
end

@testset "clients are finalised with their host-task runner" begin
    nthreads() = length(readdir("/proc/self/task"))
    GC.gc()
    before = nthreads()
    refs = WeakRef[]
    function use_client(i)
        c = Client(threads = 2)
        @test fetch(submit(+, 1, i; client = c)) == 1 + i
        push!(refs, WeakRef(c))
        nothing
    end
    foreach(use_client, 1:10)
    for _ in 1:5
        GC.gc()
        sleep(0.1)
    end
    @test count(w -> w.value !== nothing, refs) == 0
    @test nthreads() <= before # the pools' 20 threads are gone
    # The do-block form closes its client.
    kept = Ref{Any}(nothing)
    r = Client(threads = 1) do c
        kept[] = c
        fetch(submit(*, 6, 7; client = c))
    end
    @test r == 42 && !isopen(kept[])
end

@testset "show and display" begin
    f = submit(+, 1, 2)
    fetch(f)
    @test occursin("finished", sprint(show, f))
    S = sprand(30, 20, 0.1)
    s = DaskArray(S)
    @test sprint(show, s) == "30×20 sparse DaskArray{Float64,2} with $(nnz(S)) stored entries"
    @test occursin("sparse", sprint(show, MIME"text/plain"(), s))
    c = DaskArray(S; chunks = (8, 8))
    @test LibDask.kind(c) === :chunked_sparse && chunks(c) == ([8, 8, 8, 6], [8, 8, 4])
    @test SparseMatrixCSC(c) == S && nnz(c) == nnz(S) && nnz(s) == nnz(S)
    @test nbytes(DaskArray(rand(Float32, 10, 3))) == 120
    A = rand(20, 7)
    @test collect(tensordot(s, DaskArray(A), (2,), (1,))) ≈ S * A
    B, C = rand(3, 4, 5), rand(5, 4, 2)
    want = [sum(B[i, j, k] * C[k, j, l] for j in 1:4, k in 1:5) for i in 1:3, l in 1:2]
    @test collect(tensordot(DaskArray(B), DaskArray(C), (2, 3), (2, 1))) ≈ want
    # Errors speak of Julia's dims, through Julia's own exception types.
    @test_throws DimensionMismatch DaskArray(rand(10, 20)) + DaskArray(rand(10, 21))
    e = try DaskArray(rand(10, 20)) + DaskArray(rand(10, 21)) catch err err end
    @test occursin("Base.OneTo(20)", sprint(showerror, e)) && occursin("Base.OneTo(21)", sprint(showerror, e))
end

@testset "Julia idioms against Array" begin
    A = rand(12, 7)
    x = DaskArray(A; chunks = (5, 3))
    @test collect(map(sin, x)) ≈ map(sin, A)
    @test collect(map(+, x, x)) ≈ map(+, A, A)
    @test sum(abs2, x) ≈ sum(abs2, A) && maximum(abs, x .- 0.5) ≈ maximum(abs, A .- 0.5)
    @test extrema(x) == extrema(A)
    @test extrema(x; dims = 1) == extrema(A; dims = 1)
    @test count(v -> v > 0.5, x) == count(v -> v > 0.5, A) == count(x .> 0.5)
    @test sum(v -> v > 0.5 ? v : 0.0, x) ≈ sum(v -> v > 0.5 ? v : 0.0, A) # closures: computed
    @test any(isnan, x) == any(isnan, A) && all(isfinite, x)
    @test collect(cumsum(x; dims = 1)) ≈ cumsum(A; dims = 1)
    @test collect(cumsum(x; dims = 2)) ≈ cumsum(A; dims = 2)
    @test_throws ArgumentError cumsum(x)
    i8 = Int8[100, 100, 100]
    @test collect(cumsum(DaskArray(i8))) == cumsum(i8) && eltype(cumsum(DaskArray(i8))) == eltype(cumsum(i8))
    @test collect(cumprod(DaskArray([1.5, 2.0, -1.0]))) == cumprod([1.5, 2.0, -1.0])
    @test collect(accumulate(max, x; dims = 1)) == accumulate(max, A; dims = 1)
    @test collect(accumulate(min, DaskArray(Int8[3, -2, 7, -5]))) == accumulate(min, Int8[3, -2, 7, -5])
    @test eltype(accumulate(min, DaskArray(Int8[3, -2]))) == Int8
    @test collect(accumulate(+, DaskArray(Int8[100, 100]))) == accumulate(+, Int8[100, 100]) # Julia wraps here
    B = rand(8)
    @test collect(vcat(x, DaskArray(A))) == vcat(A, A)
    @test collect(hcat(x, DaskArray(A[:, 1:2]))) == hcat(A, A[:, 1:2])
    @test collect(hcat(DaskArray(B), DaskArray(B))) == hcat(B, B)
    @test collect(vcat(DaskArray(B), DaskArray([1, 2]))) == vcat(B, [1, 2])
    @test eltype(vcat(DaskArray(Int32[1]), DaskArray([2.5]))) == eltype(vcat(Int32[1], [2.5]))
    @test collect(cat(DaskArray(A), DaskArray(A); dims = 3)) == cat(A, A; dims = 3)
    @test_throws DimensionMismatch vcat(x, DaskArray(rand(2, 3)))
    @test Matrix(x) == A && Matrix(x) isa Matrix{Float64}
    @test Array{Float32}(x) == Array{Float32}(A)
    @test x ≈ A && A ≈ x && !(x ≈ A .+ 1)
    s = similar(x)
    @test s isa Matrix{Float64} && size(s) == size(A)
    @test collect(zeros(DaskArray, (3, 4))) == zeros(3, 4)
    r = rand(DaskArray{Float32}, 50, 4; chunks = (20, 4))
    @test eltype(r) == Float32 && all(v -> 0 <= v < 1, collect(r))
    # Chunks: irregular lists and whole dimensions.
    y = DaskArray(A; chunks = ([5, 5, 2], -1))
    @test chunks(y) == ([5, 5, 2], [7]) && collect(y) == A
    @test chunks(DaskArray(A; chunks = (:, 4))) == ([12], [4, 3])
    @test_throws DaskError DaskArray(A; chunks = ([5, 5], 7))
    # π and rationals join as Julia converts them.
    @test collect(x .* π) ≈ A .* π && eltype(x .* π) == Float64
    @test eltype(DaskArray(Float32[1, 2]) .* π) == Float32
    @test collect(x .+ 1 // 3) ≈ A .+ 1 // 3
    @test_throws DaskError DaskArray([1, 2]) .* (1 // 3) # a Rational{Int} result: no DaskArray holds it
    @test collect(clamp.(x, 0.2, 0.8)) == clamp.(A, 0.2, 0.8)
    @test collect(round.(Int, x .* 10)) == round.(Int, A .* 10)
    @test_throws InexactError collect(Int.(x))
    @test argmax(x) == argmax(A) && argmin(x) == argmin(A)
    @test argmax(DaskArray(B)) == argmax(B)
    @test argmax(DaskArray([1.0, NaN, 3.0, NaN])) == argmax([1.0, NaN, 3.0, NaN])
    @test norm(x) ≈ norm(A) && norm(x, 1) ≈ norm(A, 1) && norm(x, Inf) == norm(A, Inf)
    @test norm(x, 3) ≈ norm(A, 3)
    @test norm(DaskArray([1e200, 1e200])) ≈ norm([1e200, 1e200]) # no overflow
    @test dot(DaskArray(B), DaskArray(B)) ≈ dot(B, B) && dot(DaskArray(B), B) ≈ dot(B, B)
    @test median(x) == median(A) && quantile(DaskArray(B), 0.3) == quantile(B, 0.3)
    @test mean(abs2, x) ≈ mean(abs2, A)
    st = memory_stats()
    @test !occursin("0x", sprint(show, st))
end

@testset "powers with 0.5 are Julia's, not a square root" begin
    A = [-0.0, 0.0, 4.0, 2.0, -Inf, Inf]
    @test isequal(collect(DaskArray(A) .^ 0.5), A .^ 0.5)
    @test !signbit(collect(DaskArray([-0.0]) .^ 0.5)[1])
    @test_throws DomainError collect(DaskArray([-4.0]) .^ 0.5)
end

@testset "modf, frexp and ldexp as Julia's" begin
    A = [-2.5, -0.0, 0.0, 1.75, 3.0, Inf, -Inf, NaN, 5e-324, floatmax()]
    x = DaskArray(A)
    f, i = modf(x)
    @test isequal(collect(f), first.(modf.(A))) && isequal(collect(i), last.(modf.(A)))
    @test eltype(f) === Float64 && all(signbit.(collect(f)) .== signbit.(first.(modf.(A))))
    F = Float32[-2.5, 0.0, 1.0f-40, 3.0, Inf32]
    m, e = frexp(DaskArray(F))
    @test isequal(collect(m), first.(frexp.(F))) && collect(e) == last.(frexp.(F))
    @test eltype(m) === Float32 && eltype(e) === Int
    @test_throws MethodError frexp(DaskArray([1, 2]))
    f2, i2 = modf(DaskArray(Int8[3, -4]))
    @test collect(i2) == [3.0, -4.0] && eltype(f2) === Float64
    for T in (Float32, Float64), E in (Int8, Int32, Int64)
        B = T[1.5, -0.75, 3.0, 0.0, floatmin(T)]
        k = E[3, -2, 100, 5, -20]
        @test isequal(collect(ldexp.(DaskArray(B), DaskArray(k))), ldexp.(B, k))
        @test isequal(collect(ldexp.(DaskArray(B), 7)), ldexp.(B, 7))
    end
    @test collect(ldexp.(DaskArray([1.0]), typemax(Int64))) == [Inf]
end

@testset "Distributed workers each run their own runtime" begin
    # addprocs starts fresh processes (no fork): each loads the library and makes its own
    # client; results come back to the master.
    pkg = normpath(joinpath(@__DIR__, "..", ".."))
    ps = addprocs(2; exeflags = "--startup-file=no")
    try
        Distributed.remotecall_eval(Main, ps, :(push!(LOAD_PATH, $pkg); using LibDask))
        sums = [remotecall_fetch(n -> sum(Main.LibDask.DaskArray(collect(1.0:n))), p, 10 * p) for p in ps]
        @test sums == [sum(1.0:10p) for p in ps]
    finally
        rmprocs(ps)
    end
end
