# Distributed mode from Julia: a LocalCluster (scheduler and worker processes), a Client of
# it, and the same operations as on Julia's own arrays — values and types.
@testset "cluster" begin
    cl = LocalCluster(2; threads_per_worker = 1)
    @test startswith(LibDask.address(cl), "tcp://127.0.0.1:")
    @test LibDask.tls_dir(cl) === nothing
    c = Client(cl)
    @test LibDask.threads(c) == 2
    A = rand(Float64, 37, 23)
    x = DaskArray(A; chunks = (10, 7))
    y = x .* 2 .+ 1
    r = fetch(submit(y; client = c))
    @test r isa Matrix{Float64}
    @test r == A .* 2 .+ 1
    I = rand(Int32(-50):Int32(50), 12, 9)
    xi = DaskArray(I; chunks = (5, 4))
    ri = fetch(submit(xi .+ Int32(3); client = c))
    @test eltype(ri) == eltype(I .+ Int32(3))
    @test ri == I .+ Int32(3)
    # A persisted array published by one client, read by another: Julia's dims both times.
    p = persist(y; client = c)
    publish_dataset(c, "y", p)
    @test_throws DaskError publish_dataset(c, "y", p)
    c2 = Client(cl)
    @test list_datasets(c2) == ["y"]
    g = get_dataset(c2, "y")
    @test size(g) == size(A)
    @test fetch(submit(g; client = c2)) == A .* 2 .+ 1
    unpublish_dataset(c2, "y")
    @test isempty(list_datasets(c2))
    @test_throws DaskError get_dataset(c2, "y")
    close(c2)
    close(c)
    close(cl)
    @test !isopen(cl)
    @test sprint(show, cl) == "LocalCluster(closed)"

    # TLS: the cluster's files let a client in; none keep it out.
    tl = LocalCluster(1; tls = true)
    @test startswith(LibDask.address(tl), "tls://")
    ct = Client(tl)
    @test fetch(submit(DaskArray(A; chunks = 8) .+ 0.5; client = ct)) == A .+ 0.5
    e = try Client(LibDask.address(tl)) catch err err end
    @test e isa DaskError && occursin("TLS credentials", e.message)
    close(ct)
    close(tl)
end
