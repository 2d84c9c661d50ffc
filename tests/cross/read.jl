# Reads what tests/cross/datasets.c published and publishes a Julia matrix for it.
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..", "bindings", "julia")))
using LibDask, Test
addr = ENV["DASK_SCHEDULER_ADDRESS"]
c = haskey(ENV, "DASK_TLS_CA") ?
    Client(addr; ca = ENV["DASK_TLS_CA"], cert = ENV["DASK_TLS_CERT"], key = ENV["DASK_TLS_KEY"]) :
    Client(addr)
@testset "datasets from C, in Julia" begin
    @test issubset(["from_c_f64", "from_c_i32"], list_datasets(c))
    f = get_dataset(c, "from_c_f64")
    k = get_dataset(c, "from_c_i32")
    # C's row-major 3 x 4 [i][j] = 4i + j (+ 0.5) is Julia's 4 x 3 x[j+1, i+1].
    @test size(f) == (4, 3) && eltype(f) == Float64
    @test fetch(submit(f; client = c)) == reshape(collect(0.0:11.0) .+ 0.5, 4, 3)
    @test eltype(k) == Int32
    kk = fetch(submit(k; client = c))
    @test kk isa Matrix{Int32} && kk == reshape(Int32.(-6:5), 4, 3)
    publish_dataset(c, "from_julia", DaskArray(Float64[1 3 5; 2 4 6]))
end
close(c)
