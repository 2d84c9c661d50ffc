# Slurm clusters from Julia (run by tests/slurm/run.sh on its single-node Slurm):
# SlurmCluster with two workers, then adaptive 0:2, which scales on its own while `fetch`
# waits without blocking other Julia tasks (one of them counts the workers); every result against Julia's own arrays.
#   julia tests/slurm/slurm.jl DIR
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..", "bindings", "julia")))
using LibDask, Test

dir = ARGS[1]
@testset "Slurm from Julia" begin
    A = rand(Float64, 300, 200)
    cl = SlurmCluster(workers = 2, cpus_per_worker = 1, mem_per_worker = "512MiB",
                      time = "10:00", dir = joinpath(dir, "fixed"))
    @test startswith(LibDask.address(cl), "tcp://")
    wait_for_workers(cl, 2)
    c = Client(cl)
    @test LibDask.threads(c) == 2
    r = fetch(submit(DaskArray(A; chunks = (100, 100)) .* 2 .+ 1; client = c))
    @test r isa Matrix{Float64}
    @test r == A .* 2 .+ 1
    @test_throws DaskError adapt_step!(cl)
    close(c)
    close(cl)
    @test !isopen(cl)

    cl = SlurmCluster(adapt = 0:2, idle_grace = 3, cpus_per_worker = 1,
                      mem_per_worker = "512MiB", time = "10:00", dir = joinpath(dir, "adaptive"))
    c = Client(cl)
    # Other Julia tasks run while the result is awaited: this one counts the workers.
    work = @async fetch(submit(DaskArray(A; chunks = (100, 100)) .- 0.5; client = c))
    most, last = 0, (-1, -1)
    deadline = time() + 120
    while time() < deadline
        sleep(0.3)
        last = adapt_step!(cl)
        most = max(most, last[1])
        istaskdone(work) && most > 0 && last == (0, 0) && break
        # The last worker holding results a future still wants stays: collect the futures.
        istaskdone(work) && GC.gc()
    end
    @test fetch(work) == A .- 0.5
    @test most == 2
    @test last == (0, 0)
    close(c)
    close(cl)
    @test_throws ArgumentError SlurmCluster(adapt = 3:2)
end
