# LibDask tests: every wrapped call against plain Julia on the same data.
# Run: scripts/julia bindings/julia/LibDask/test/runtests.jl   (or `make julia-test`)
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..")))
using LibDask, Test, Statistics, SparseArrays, LinearAlgebra, Random, Libdl, Distributed
using LibDask: CAPI

const JULIA = Base.julia_cmd()
# `libdask local-cluster -- julia runtests.jl`: the default client is a cluster's, and the
# suite runs a second time there (`make julia-test`).
const ON_CLUSTER = !isempty(get(ENV, "DASK_SCHEDULER_ADDRESS", ""))
gamma_like(v) = v + 1 # a Julia function with no library ufunc
Random.seed!(42)

@testset "LibDask" begin

@testset "generated ccall layer is current" begin
    gen = joinpath(@__DIR__, "..", "gen", "generate.jl")
    include(gen) # defines generate() in Main
    @test Base.invokelatest(generate) == read(joinpath(@__DIR__, "..", "src", "capi.jl"), String)
end

@testset "finding the library" begin
    @test isfile(LibDask.LIBRARY_PATH[])
    # The soname the ccalls name is the header's ABI, and the loaded library has that ABI.
    @test LibDask.libdask == "libdask.so.$(CAPI.DASK_ABI_VERSION)"
    @test CAPI.dask_abi_version() == CAPI.DASK_ABI_VERSION
    pkg = normpath(joinpath(@__DIR__, "..", ".."))
    code = "push!(LOAD_PATH, $(repr(pkg))); using LibDask"
    err = IOBuffer()
    ok = withenv("LIBDASK_PATH" => "/no/such/libdask.so") do
        success(pipeline(`$JULIA --startup-file=no -e $code`; stderr = err))
    end
    @test !ok
    @test occursin("LIBDASK_PATH=/no/such/libdask.so names no libdask.so", String(take!(err)))
end

@testset "client" begin
    c = Client(threads = 2)
    @test LibDask.threads(c) == 2
    @test occursin("2 threads", sprint(show, c))
    close(c)
    close(c) # twice is fine
    @test !isopen(c)
    @test_throws DaskError LibDask.threads(c)
    @test sprint(show, c) == "Client(closed)"
    lim = Client(threads = 1, memory_limit = "256MiB", spill_dir = tempdir())
    @test memory_stats(lim).managed_bytes == 0
    close(lim)
    @test_throws ArgumentError Client(memory_limit = "12 parsecs")
    e = try Client(memory_limit = 2^30, spill_dir = "/proc/no/such/dir") catch err err end
    @test e isa DaskError && occursin("spill directory", e.message)
    @test default_client() === default_client()
end

@testset "errors" begin
    e = try Op("no such operation") catch err err end
    @test e isa DaskError
    @test e.code == "DASK_ERR_NOT_FOUND"
    @test occursin("no such operation", e.message)
    # A host task's exception comes back as itself (type and fields), not as text.
    f = submit(x -> error("boom in a task: $x"), 7)
    e = try fetch(f) catch err err end
    @test e isa ErrorException && e.msg == "boom in a task: 7"
    e = try fetch(submit(v -> v[3], [1, 2])) catch err err end
    @test e isa BoundsError && e.a == [1, 2] && e.i == (3,)
    # ... also through a task that depends on it.
    g = submit(x -> x + 1, submit(() -> throw(DomainError(-1.0, "negative"))))
    e = try fetch(g) catch err err end
    @test e isa DomainError && e.val == -1.0
    x = DaskArray(rand(4, 3))
    @test_throws DimensionMismatch x * DaskArray(rand(4, 3)) # inner dimensions differ, as A * B
    @test_throws DimensionMismatch sin.(x) .+ DaskArray(rand(5, 3)) # Julia's own check
    err = try gamma_like.(x) catch e e end
    @test err isa DaskError && occursin("gamma_like", err.message)
    close(x)
    @test_throws DaskError sum(x)
    @test_throws DaskError collect(x)
    @test occursin("closed", sprint(show, x))
end

@testset "futures and host tasks" begin
    f = submit(+, 1, 2)
    @test fetch(f) == 3
    @test isready(f)
    g = submit(x -> x * 10, f) # a future argument is a dependency
    @test fetch(g) == 30
    s = submit((a, b) -> string(a, b), "lib", "dask")
    @test fetch(s) == "libdask"
    obj = Dict(:a => 1)
    @test fetch(submit(d -> d, obj)) === obj # any Julia object travels by reference
    # Scatter once, map over items: every task sees the same array, never a copy.
    big = rand(1000)
    shared = scatter(big)
    seen = Ptr{Float64}[]
    fs = map(default_client(), 1:20; shared = (shared,)) do i, arr
        push!(seen, pointer(arr))
        arr[i] * i
    end
    @test [fetch(f) for f in fs] == [big[i] * i for i in 1:20]
    if ON_CLUSTER
        # Scattered data lives on a worker: host tasks read it fetched, equal to the original.
        @test !isempty(seen)
    else
        @test all(==(pointer(big)), seen)
    end
    # C functions run on the pool: the built-in "sum" operation.
    @test fetch(submit(Op("sum"), 1, 2, 3)) == 6
    # A C function from a C library, registered as an operation: runs on the pool.
    dir = mktempdir()
    src = joinpath(dir, "twice.c")
    write(src, """
        #include "dask.h"
        int32_t twice(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
            (void)ctx; double x;
            if (n != 1 || dask_value_as_f64(in[0], &x) != DASK_OK) { dask_error_set("twice takes one number"); return DASK_ERR_TASK; }
            return dask_value_from_f64(2 * x, out);
        }
        """)
    so = joinpath(dir, "libtwice.so")
    inc = normpath(joinpath(@__DIR__, "..", "..", "..", "..", "include"))
    run(`gcc -shared -fPIC -O2 -I$inc $src -o $so`)
    twice = register_op("julia-test.twice.$(getpid())", Libdl.dlsym(Libdl.dlopen(so), :twice))
    if ON_CLUSTER
        # A C operation runs on a worker only when the worker's plugins register it: the
        # error names the operation and the worker.
        e = try fetch(submit(twice, 21.5)) catch err err end
        @test e isa DaskError && occursin("julia-test.twice", e.message) &&
              occursin("worker local-", e.message) && occursin("--plugin-dir", e.message)
    else
        @test fetch(submit(twice, 21.5)) == 43.0
        e = try fetch(submit(twice, "x")) catch err err end
        @test e isa DaskError && occursin("twice takes one number", e.message)
    end
    # A Julia @cfunction is registered as a host operation: it runs on Julia's thread.
    jl_twice(ctx, inp, n, out) = (x = Ref{Float64}(); CAPI.dask_value_as_f64(unsafe_load(inp), x);
                                  CAPI.dask_value_from_f64(3 * x[], out))
    cf = @cfunction($jl_twice, Int32, (Ptr{Cvoid}, Ptr{Ptr{LibDask.dask_value}}, Csize_t, Ptr{Ptr{LibDask.dask_value}}))
    thrice = register_op("julia-test.thrice.$(getpid())", Base.unsafe_convert(Ptr{Cvoid}, cf); host = true)
    @test fetch(submit(thrice, 2.0)) == 6.0
    # Cancel
    slow = submit(() -> (sleep(0.05); 1))
    cancel(slow)
    @test_throws DaskError fetch(slow)
end

@testset "fetch does not block other Julia tasks" begin
    x = rand(DaskArray, 4000, 4000; chunks = (500, 500), seed = 3)
    y = exp.(x) .* 2 .+ 1
    ticks = Ref(0)
    ticker = @async while ticks[] >= 0
        ticks[] += 1
        sleep(0.001)
    end
    f = submit(sum(y; dims = 1))
    r = fetch(f)
    n = ticks[]
    ticks[] = -1
    wait(ticker)
    @test n >= 3 # the ticker ran while fetch waited
    @test size(r) == (1, 4000)
    @test isapprox(vec(r), vec(sum(exp.(collect(x)) .* 2 .+ 1; dims = 1)); rtol = 1e-12)
end

@testset "arrays: construction, layout, show" begin
    a = rand(7, 5, 3)
    x = DaskArray(a; chunks = (3, 2, 3))
    @test size(x) == (7, 5, 3)
    @test chunks(x) == ([3, 3, 1], [2, 2, 1], [3])
    @test collect(x) == a
    @test x[2, 3, 1] == a[2, 3, 1]
    s = sprint(show, MIME"text/plain"(), x)
    @test occursin("7×5×3 DaskArray{Float64,3}", s) && occursin("lazy", s)
    @test occursin("persisted", sprint(show, persist(x)))
    for T in (Float32, Int32, Int64, UInt8, Bool)
        b = T == Bool ? rand(Bool, 6, 4) : rand(T(0):T(9), 6, 4)
        @test collect(DaskArray(b; chunks = 3)) == b
        @test eltype(DaskArray(b)) == T
    end
    @test collect(zeros(DaskArray, 3, 4; chunks = 2)) == zeros(3, 4)
    @test collect(ones(DaskArray{Int32}, 5; chunks = 2)) == ones(Int32, 5)
    @test collect(fill(2.5, DaskArray, 2, 3)) == fill(2.5, 2, 3)
    r = rand(DaskArray, 100, 30; chunks = (10, 7), seed = 9)
    @test collect(r) == collect(rand(DaskArray, 100, 30; chunks = (50, 30), seed = 9))
    @test all(v -> 0 <= v < 1, collect(r))
    @test isapprox(mean(collect(randn(DaskArray, 100_000; seed = 1))), 0; atol = 0.02)
    @test DaskArray(1:10) |> collect == collect(1:10)
    @test_throws DaskError DaskArray(rand(3, 3); chunks = (1, 1, 1))
    @test_throws DaskError DaskArray(["a", "b"])
end

@testset "broadcasting maps onto ufuncs" begin
    A = rand(300, 200)
    x = DaskArray(A; chunks = (64, 50))
    @test collect(exp.(x) .* 2 .+ 1) ≈ exp.(A) .* 2 .+ 1
    @test collect(x .^ 2 .- sqrt.(x) ./ 3) ≈ A .^ 2 .- sqrt.(A) ./ 3
    @test collect(x .> 0.5) == (A .> 0.5)
    @test collect(ifelse.(x .> 0.5, x, 0.0)) == ifelse.(A .> 0.5, A, 0.0)
    @test collect(max.(x, 0.3) .+ min.(x, 0.6)) ≈ max.(A, 0.3) .+ min.(A, 0.6)
    @test collect(abs.(-x) .+ floor.(x .* 10)) ≈ abs.(-A) .+ floor.(A .* 10)
    @test collect(trunc.(x .* 10 .- 5) .+ cbrt.(x) .+ exp2.(x) .+ inv.(x .+ 1)) ≈
          trunc.(A .* 10 .- 5) .+ cbrt.(A) .+ exp2.(A) .+ inv.(A .+ 1)
    @test collect(hypot.(x, 2) .+ rem.(x .* 7 .- 3, 2) .+ copysign.(x, -1)) ≈
          hypot.(A, 2) .+ rem.(A .* 7 .- 3, 2) .+ copysign.(A, -1)
    @test collect(Float32.(x)) == Float32.(A)
    B = rand(300, 200)
    @test collect(x .* B .+ 1) ≈ A .* B .+ 1 # a Julia array joins (lent, not copied)
    @test collect(x + x) ≈ A + A
    @test collect(2 * x - x / 4) ≈ 2 * A - A / 4
    v = DaskArray(rand(200))
    @test collect(x .+ v') ≈ A .+ collect(v)' # broadcasting across dimensions
    # The whole dotted expression is one fused pass: one task per block.
    y = exp.(x) .* 2 .+ 1
    @test LibDask.task_count(y) == length(chunks(x)[1]) * length(chunks(x)[2])
    i = DaskArray(rand(1:100, 50))
    @test collect(mod.(i, 7) .+ fld.(i, 3)) == mod.(collect(i), 7) .+ fld.(collect(i), 3)
end

include("promotion.jl")
include("idioms.jl")
include("cluster.jl")
include("glm.jl")
include("tables.jl")
include("progress.jl")

@testset "reductions" begin
    A = rand(120, 80)
    x = DaskArray(A; chunks = (50, 30))
    @test sum(x) ≈ sum(A)
    @test collect(sum(x; dims = 1)) ≈ sum(A; dims = 1)
    @test collect(sum(x; dims = 2)) ≈ sum(A; dims = 2)
    @test maximum(x) == maximum(A) && minimum(x) == minimum(A)
    @test collect(maximum(x; dims = 2)) == maximum(A; dims = 2)
    @test prod(DaskArray(A[1:10, 1:3] .+ 0.5)) ≈ prod(A[1:10, 1:3] .+ 0.5)
    @test mean(x) ≈ mean(A)
    @test collect(mean(exp.(x); dims = 1)) ≈ mean(exp.(A); dims = 1)
    @test std(x) ≈ std(A) && var(x) ≈ var(A)
    @test var(x; corrected = false) ≈ var(A; corrected = false)
    @test collect(std(x; dims = 1)) ≈ std(A; dims = 1)
    B = A .> 0.7
    @test count(DaskArray(B)) == count(B)
    @test count(!iszero, DaskArray(round.(A))) == count(!iszero, round.(A))
    @test count(isnan, DaskArray([1.0, NaN, 2.0, NaN])) == 2
    @test any(x .> 0.999) == any(A .> 0.999) && all(x .>= 0)
    @test_throws DaskError sum(x; dims = 3)
end

@testset "linear algebra, permutations, indexing" begin
    A, B = rand(60, 40), rand(40, 30)
    x, y = DaskArray(A; chunks = (25, 15)), DaskArray(B; chunks = (15, 10))
    @test collect(x * y) ≈ A * B
    v = rand(40)
    @test collect(x * DaskArray(v)) ≈ A * v
    @test collect(x * B) ≈ A * B
    @test collect(x') == A' && collect(transpose(x)) == transpose(A)
    C = rand(4, 5, 6)
    @test collect(permutedims(DaskArray(C), (3, 1, 2))) == permutedims(C, (3, 1, 2))
    @test collect(x[2:10, :]) == A[2:10, :]
    @test collect(x[end:-3:1, 5]) == A[end:-3:1, 5]
    @test collect(x[:, [3, 1, 7]]) == A[:, [3, 1, 7]]
    @test collect(x[10:-1:2, 2:2:20]) == A[10:-1:2, 2:2:20]
    @test x[7, 9] == A[7, 9]
    @test size(x[3, :]) == (40,)
    @test_throws BoundsError x[61, 1]
    @test_throws BoundsError x[1, 2, 3] # as A[1, 2, 3]: a trailing index must be 1
end

@testset "sparse" begin
    S = sprand(200, 150, 0.05)
    s = DaskArray(S)
    @test LibDask.kind(s) === :sparse && LibDask.kind(DaskArray(rand(3))) === :chunked
    @test SparseMatrixCSC(s) == S
    @test sum(s) ≈ sum(S)
    @test collect(sum(s; dims = 1)) ≈ sum(S; dims = 1)
    @test SparseMatrixCSC(s .* 2) ≈ S .* 2
    @test SparseMatrixCSC(sin.(s)) ≈ sin.(S) # sin(0) == 0: stays sparse
    @test maximum(s) == maximum(S)
    # A sparse matrix times a chunked dense array (either side): chunked, never densified.
    B = rand(150, 20)
    @test collect(s * DaskArray(B; chunks = (64, 10))) ≈ S * B
    C = rand(9, 200)
    @test collect(DaskArray(C; chunks = (9, 64)) * s) ≈ C * S
    # N-d COO
    I = [1 3 2; 2 1 4; 5 5 1] # 3 dims × 3 entries
    V = [1.5, -2.0, 4.0]
    c = sparse_coo(I, V, (3, 4, 5))
    D = zeros(3, 4, 5)
    for k in 1:3
        D[I[:, k]...] = V[k]
    end
    @test sum(c) ≈ sum(D)
    J, W = coo(c)
    @test sort(collect(zip(eachcol(J), W))) == sort(collect(zip(eachcol(I), V)))
    # Chunked random sparse blocks
    r = sprand(DaskArray, 400, 300; density = 0.01, chunks = (100, 100), seed = 5)
    @test LibDask.kind(r) === :chunked_sparse
    R = SparseMatrixCSC(r)
    @test size(R) == (400, 300)
    @test isapprox(nnz(R) / (400 * 300), 0.01; rtol = 0.2)
    @test sum(r) ≈ sum(R)
end

@testset "a loop of 10,000 broadcasts builds, computes and frees" begin
    # An iterative algorithm's `x = x .+ 1`: a chain of 10,000 lazy operations.
    A = rand(1000)
    x = DaskArray(A; chunks = 300)
    B = copy(A)
    for i in 1:10_000
        x = x .+ 1
        B = B .+ 1
    end
    @test collect(x) == B # the same additions in the same order: identical
    @test sum(x) ≈ sum(B)
    @test eltype(x) == eltype(B) == Float64
    # Integers the same way (Julia's own wrap-free Int64 arithmetic here).
    n = DaskArray(collect(1:100); chunks = 30)
    m = collect(1:100)
    for i in 1:10_000
        n = n .+ 3
        m = m .+ 3
    end
    @test collect(n) == m && eltype(n) == eltype(m) == Int64
    x = nothing; n = nothing
    GC.gc(); GC.gc() # the chains are freed (iteratively, in the library)
end

@testset "finalizers free handles" begin
    GC.gc(); GC.gc()
    base = LibDask.live_host_refs()
    A = rand(10)
    for i in 1:10_000
        x = DaskArray(A) # lends A: a host reference each time
        y = x .+ i
        i % 1000 == 0 && GC.gc()
    end
    GC.gc(); GC.gc(); GC.gc()
    sleep(0.1)
    @test LibDask.live_host_refs() <= base + 1
end

@testset "Ctrl-C cancels the computation" begin
    lib = LibDask.LIBRARY_PATH[]
    script = """
        push!(LOAD_PATH, $(repr(normpath(joinpath(@__DIR__, "..", "..")))))
        ENV["LIBDASK_PATH"] = $(repr(lib))
        Base.exit_on_sigint(false)
        yield()
        using LibDask
        x = rand(DaskArray, 40_000, 40_000; chunks = (2000, 2000))
        f = submit(sum(exp.(sin.(x) .* 3) .+ 1; dims = 1))
        println("waiting"); flush(stdout)
        try
            fetch(f)
            println("finished")
        catch e
            println(typeof(e))
            println(isready(f) ? "done" : "still running")
            e2 = try fetch(f) catch err err end
            println(e2 isa DaskError ? e2.code : "no error")
        end
        """
    out = Pipe()
    p = run(pipeline(`$JULIA --startup-file=no -e $script`; stdout = out, stderr = devnull); wait = false)
    close(out.in)
    @test readline(out) == "waiting"
    sleep(1.0) # 1.6e9 elements take several seconds: still running
    kill(p, Base.SIGINT)
    rest = readlines(out)
    wait(p)
    # Not "finished": the interrupt cancelled the computation, and fetch says so.
    @test rest == ["InterruptException", "done", "DASK_ERR_CANCELLED"]
end

end # testset
