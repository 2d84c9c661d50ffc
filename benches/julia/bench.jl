# LibDask against plain Julia on the same data, in the same run (issue 7's benchmark).
# Reproduce: scripts/julia benches/julia/bench.jl     (figures in benches/README.md)
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..", "bindings", "julia")))
using LibDask, Statistics

function best(f; n = 3)
    b = Inf
    for _ in 1:n
        GC.gc()
        b = min(b, @elapsed f())
    end
    b
end

n = 10^8
x = rand(n)
m = reshape(x, 10^4, 10^4)
client = default_client()
dx = DaskArray(x; chunks = 2^22)     # lent without copying: 32 MiB blocks
dm = DaskArray(m; chunks = (10^4, 500))

println("LibDask vs plain Julia $(VERSION), 1e8 Float64, $(LibDask.threads(client)) threads; ",
        "reproduce: scripts/julia benches/julia/bench.jl")
rows = [
    ("sum(exp.(x) .* 2 .+ 1)", () -> sum(exp.(x) .* 2 .+ 1), () -> sum(exp.(dx) .* 2 .+ 1)),
    ("sum(x .+ 1)", () -> sum(x .+ 1), () -> sum(dx .+ 1)),
    ("mean(exp.(m), dims=1)", () -> mean(exp.(m), dims = 1), () -> collect(mean(exp.(dm), dims = 1))),
]
for (name, plain, lib) in rows
    a, b = plain(), lib() # warm up, and check they agree
    @assert isapprox(a, b; rtol = 1e-10) "$name: LibDask $(b) vs Julia $(a)"
    tp, tl = best(plain), best(lib)
    println(rpad(name, 24), "  Julia ", lpad(round(tp, digits = 3), 6), " s   LibDask ",
            lpad(round(tl, digits = 3), 6), " s   ", round(tp / tl, digits = 1), "x")
end
