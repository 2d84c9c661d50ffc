# The dask.array tour from Julia: lazy chunked arrays, fused broadcasting, reductions,
# slicing, products, persist, sparse arrays and Julia functions as tasks — all run by
# libdask's thread pool. Run: scripts/julia examples/julia/array_tour.jl
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..", "bindings", "julia")))
using LibDask, Statistics, SparseArrays

# A 10000×10000 random array in 1000×1000 blocks: nothing is computed yet.
x = rand(DaskArray, 10_000, 10_000; chunks = (1000, 1000), seed = 42)
println(x)

# Broadcasting builds one fused expression; reductions return numbers, or lazy arrays
# when given dims.
y = exp.(x) .* 2 .+ 1
println("sum(exp.(x) .* 2 .+ 1) = ", sum(y))
col = mean(y; dims = 1)
println("mean over dims=1: ", col, " -> first values ", round.(collect(col)[1:3], digits = 4))
println("std(x) = ", round(std(x), digits = 5), " (uniform: ", round(sqrt(1 / 12), digits = 5), ")")
println("count(x .> 0.9) = ", count(x .> 0.9))

# Slicing and products, in Julia's dims and 1-based indices.
top = x[1:2000, :]
println("x[1:2000, :] is ", top)
g = top' * top # 10000×10000 Gram matrix, block by block
println("trace of x[1:2000,:]' * x[1:2000,:] over the first 5: ",
        round(sum(collect(g[1:5, 1:5])[i, i] for i in 1:5), digits = 3))

# Julia arrays go in without copying and come back as Julia arrays.
A = rand(1000, 300)
d = DaskArray(A; chunks = (250, 100))
@assert collect(sqrt.(d) .+ d .^ 2) ≈ sqrt.(A) .+ A .^ 2
println("a Julia array round-trips through the library: ok")

# persist keeps computed blocks in the library; later work starts from them.
p = persist(x[1:1000, 1:1000] .* 10)
println(p, ", max = ", round(maximum(p), digits = 4))

# Sparse: SparseMatrixCSC in and out, same broadcasting and reductions.
S = sprand(2000, 2000, 0.001)
s = DaskArray(S)
@assert SparseMatrixCSC(s .* 3) ≈ S .* 3
println("sparse: nnz ", nnz(S), ", sum ", round(sum(s), digits = 4), " = ", round(sum(S), digits = 4))

# Julia functions as tasks (run on Julia's thread), with scattered data shared by all.
shared = scatter(A)
futures = map(default_client(), 1:4; shared = (shared,)) do k, arr
    sum(arr[:, k])
end
println("column sums from Julia tasks: ", round.(fetch.(futures), digits = 3))
@assert fetch.(futures) ≈ [sum(A[:, k]) for k in 1:4]
println("tour done")
