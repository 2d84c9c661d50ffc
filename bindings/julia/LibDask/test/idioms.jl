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
