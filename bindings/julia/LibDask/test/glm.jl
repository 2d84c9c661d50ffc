# GLMs (fit/coef/predict/predict_proba/score): each result against plain Julia on the same
# data — closed forms, gradients and KKT conditions computed here, never the library's own
# numbers. Included by runtests.jl (its default client: the pool, or a local cluster).
# Tolerances: `tol` bounds the gradient's (KKT residual's) largest entry divided by n, which
# is what the gradient checks assert. Solvers whose line search needs the objective to
# fall cannot go much below 1e-8 (the objective is then flat to machine precision), so the
# first-order ones are held to 1e-7.

using LibDask, Test, LinearAlgebra, Random, Statistics, SparseArrays

glm_sigmoid(t) = 1 / (1 + exp(-t))

"""Knuth's Poisson draw (no Distributions.jl): fine for the small means used here."""
function glm_poisson(rng, mu)
    limit, k, q = exp(-mu), 0, rand(rng)
    while q > limit
        k += 1
        q *= rand(rng)
    end
    k
end

"""Logistic data: X (n × p, standard normal) and Bool y from the model β, b."""
function glm_logistic_data(rng, n, beta, b)
    X = randn(rng, n, length(beta))
    X, rand(rng, n) .< glm_sigmoid.(X * beta .+ b)
end

@testset "GLMs against plain Julia" begin
rng = MersenneTwister(20240618)
n = 2000

@testset "least squares: [X ones(n)] \\ y, ridge's closed form, C = 1 / lambda, weights" begin
    X = randn(rng, n, 5)
    y = X * [1.5, -2.0, 0.0, 0.7, 3.0] .+ 4.0 .+ 0.5 .* randn(rng, n)
    Z = [X ones(n)]
    ls = Z \ y
    for solver in (:newton, :lbfgs)
        m = fit(LinearRegression, X, y; solver = solver, tol = 1e-10)
        @test fitinfo(m).converged
        @test coef(m) isa Vector{Float64} && intercept(m) isa Float64
        @test maximum(abs, [coef(m); intercept(m)] - ls) <= 1e-6
    end
    # Ridge: sum((y - Zβ)²)/2 + λ‖β‖²/2, the intercept unpenalised.
    λ = 250.0
    D = Diagonal([ones(5); 0.0])
    ridge = (Z' * Z + λ * D) \ (Z' * y)
    mλ = fit(LinearRegression, X, y; penalty = :l2, lambda = λ, tol = 1e-10)
    @test maximum(abs, [coef(mλ); intercept(mλ)] - ridge) <= 1e-6
    mC = fit(LinearRegression, X, y; penalty = :l2, C = 1 / λ, tol = 1e-10)
    @test maximum(abs, [coef(mC); intercept(mC)] - [coef(mλ); intercept(mλ)]) <= 1e-8
    # A strength without a penalty is ridge, not silently ignored.
    m0 = fit(LinearRegression, X, y; lambda = λ, tol = 1e-10)
    @test m0.estimator.penalty === :l2 && maximum(abs, coef(m0) - coef(mλ)) <= 1e-8
    # Weighted: (Z'WZ + λD) \ Z'Wy.
    w = rand(rng, 1:3, n) .* 1.0
    W = Diagonal(w)
    wridge = (Z' * W * Z + λ * D) \ (Z' * W * y)
    mw = fit(LinearRegression, X, y; lambda = λ, weights = w, tol = 1e-10)
    @test maximum(abs, [coef(mw); intercept(mw)] - wridge) <= 1e-6
    # Without an intercept: X \ y, and intercept 0.
    mn = fit(LinearRegression, X, y; fit_intercept = false, solver = :newton, tol = 1e-10)
    @test intercept(mn) === 0.0 && maximum(abs, coef(mn) - X \ y) <= 1e-6
    # predict is the mean response; score is R².
    Xt = randn(rng, 50, 5)
    ŷ = predict(m0, Xt)
    @test ŷ isa Vector{Float64} && ŷ ≈ Xt * coef(m0) .+ intercept(m0)
    @test decision_function(m0, Xt) ≈ ŷ
    fitted = Z * [coef(m0); intercept(m0)]
    @test score(m0, X, y) ≈ 1 - sum(abs2, y - fitted) / sum(abs2, y .- mean(y))
    # Integer and Float32 X are the same numbers.
    Xi = round.(Int, X .* 10)
    @test coef(fit(LinearRegression, Xi, y; tol = 1e-10)) ≈ (Float64.([Xi ones(n)]) \ y)[1:5] atol = 1e-6
    @test coef(fit(LinearRegression, Float32.(X), y; tol = 1e-10)) ≈ ([Float64.(Float32.(X)) ones(n)] \ y)[1:5] atol = 1e-6
end

@testset "logistic regression: zero gradient, probabilities, labels of any type" begin
    X, yb = glm_logistic_data(rng, n, [1.0, -2.0, 0.5, 0.0], 0.3)
    tol = 1e-8
    m = fit(LogisticRegression, X, yb; tol = tol) # otherwise scikit-learn's defaults: L2, C = 1, lbfgs
    β, b = coef(m), intercept(m)
    @test fitinfo(m).converged && fitinfo(m).kkt_residual <= tol
    # ∇[Σ softplus(η) − yη + ‖β‖²/2] = [X'(μ − y) + β; Σ(μ − y)] is zero at the optimum.
    μ = glm_sigmoid.(X * β .+ b)
    g = [X' * (μ .- yb) .+ β; sum(μ .- yb)]
    @test maximum(abs, g) / n <= tol
    # The objective the library reports is the same one, on the mean scale.
    obj = sum(log1p.(exp.(X * β .+ b)) .- yb .* (X * β .+ b)) + sum(abs2, β) / 2
    @test fitinfo(m).objective ≈ obj / n rtol = 1e-10
    # predict_proba: [1 − σ(η) σ(η)], n × 2 in classes order, rows summing to 1.
    P = predict_proba(m, X)
    @test P isa Matrix{Float64} && size(P) == (n, 2)
    @test P[:, 2] ≈ μ rtol = 1e-12
    @test P[:, 1] ≈ 1 .- μ rtol = 1e-12
    @test all(s -> isapprox(s, 1; atol = 1e-14), sum(P; dims = 2))
    @test decision_function(m, X) ≈ X * β .+ b
    # Labels of any type: the same model, labels back with y's element type.
    yint = ifelse.(yb, 7, -3)
    for (labels, y) in ((Bool[false, true], yb), ([-3, 7], yint),
                        (["no", "yes"], ifelse.(yb, "yes", "no")),
                        ([:neg, :pos], ifelse.(yb, :pos, :neg)), ([0.25, 1.5], ifelse.(yb, 1.5, 0.25)))
        my = fit(LogisticRegression, X, y; tol = tol)
        @test classes(my) == labels && eltype(classes(my)) == eltype(y)
        @test coef(my) ≈ β && intercept(my) ≈ b
        ŷ = predict(my, X)
        @test ŷ isa Vector{eltype(y)}
        μy = glm_sigmoid.(X * coef(my) .+ intercept(my))
        @test ŷ == [labels[argmax(r)] for r in eachrow([1 .- μy μy])] # argmax of plain-Julia probabilities
        @test score(my, X, y) ≈ mean(ŷ .== y)
    end
    # The second class (sorted) is the one coef favours: swapping which label sorts first
    # flips the signs.
    flipped = fit(LogisticRegression, X, ifelse.(yb, "a", "b"); tol = tol)
    @test classes(flipped) == ["a", "b"]
    @test maximum(abs, [coef(flipped); intercept(flipped)] + [β; b]) <= 1e-6
    # A label score never saw counts as wrong.
    ys = ifelse.(yb, "yes", "no")
    ms = fit(LogisticRegression, X, ys)
    ys2 = copy(ys); ys2[1:100] .= "maybe"
    @test score(ms, X, ys2) ≈ mean(predict(ms, X) .== ys2)
end

@testset "Poisson regression: zero gradient, expected counts, D²" begin
    X = 0.5 .* randn(rng, n, 3)
    y = [glm_poisson(rng, exp(dot(X[i, :], [0.8, -0.4, 0.0]) + 0.5)) for i in 1:n]
    m = fit(PoissonRegression, X, y; solver = :newton, tol = 1e-10)
    β, b = coef(m), intercept(m)
    μ = exp.(X * β .+ b)
    # ∇[Σ exp(η) − yη] = [X'(μ − y); Σ(μ − y)]
    @test maximum(abs, [X' * (μ .- y); sum(μ .- y)]) / n <= 1e-9
    @test predict(m, X) ≈ μ rtol = 1e-12
    dev(mu) = 2 * sum((y .> 0) .* y .* log.(max.(y, 1) ./ mu) .- (y .- mu))
    @test score(m, X, y) ≈ 1 - dev(μ) / dev(fill(mean(y), n)) rtol = 1e-8
    # L2 on counts: the same gradient plus λβ.
    mλ = fit(PoissonRegression, X, y; lambda = 40.0, tol = 1e-8)
    μλ = exp.(X * coef(mλ) .+ intercept(mλ))
    @test maximum(abs, [X' * (μλ .- y) .+ 40.0 .* coef(mλ); sum(μλ .- y)]) / n <= 1e-8
end

@testset "every solver finds the same logistic model" begin
    X, y = glm_logistic_data(rng, n, [1.0, -2.0, 0.5, 0.0, 0.0, 0.3], 0.3)
    ref = fit(LogisticRegression, X, y; solver = :newton, tol = 1e-10)
    for solver in (:lbfgs, :gradient_descent, :proximal_grad, :admm, "lbfgs", "ADMM")
        m = fit(LogisticRegression, X, y; solver = solver, tol = 1e-7, max_iter = 10_000)
        @test fitinfo(m).converged
        @test maximum(abs, [coef(m); intercept(m)] - [coef(ref); intercept(ref)]) <= 1e-5
    end
end

@testset "L1 and elastic net: exact zeros and the KKT conditions" begin
    X, y = glm_logistic_data(rng, n, [1.0, -2.0, 0.5, 0.0, 0.0, 0.3], 0.3)
    # Σ loss + λ‖β‖₁: ∇loss_j = −λ sign(β_j) where β_j ≠ 0, |∇loss_j| ≤ λ where β_j = 0,
    # and ∇loss for the (unpenalised) intercept is 0.
    kkt(β, b, λ1, λ2) = begin
        μ = glm_sigmoid.(X * β .+ b)
        g = X' * (μ .- y) .+ λ2 .* β
        r = [iszero(β[j]) ? max(abs(g[j]) - λ1, 0.0) : abs(g[j] + λ1 * sign(β[j])) for j in eachindex(β)]
        max(maximum(r), abs(sum(μ .- y))) / n
    end
    λ = 50.0
    for solver in (:proximal_grad, :admm)
        m = fit(LogisticRegression, X, y; penalty = :l1, lambda = λ, solver = solver, tol = 1e-7, max_iter = 10_000)
        β = coef(m)
        @test fitinfo(m).converged
        @test count(iszero, β) >= 2 && count(!iszero, β) >= 3
        @test kkt(β, intercept(m), λ, 0.0) <= 2e-7 # tol, up to rounding
    end
    # Elastic net: λ(α‖β‖₁ + (1 − α)‖β‖²/2).
    α = 0.7
    m = fit(LogisticRegression, X, y; penalty = :elasticnet, lambda = λ, l1_ratio = α,
            solver = :proximal_grad, tol = 1e-7, max_iter = 10_000)
    @test fitinfo(m).converged && any(iszero, coef(m))
    @test kkt(coef(m), intercept(m), α * λ, (1 - α) * λ) <= 2e-7
end

@testset "DaskArray inputs: the same model, lazy predictions" begin
    X, yb = glm_logistic_data(rng, n, [0.8, -1.0, 0.4], -0.2)
    yi = Int.(yb)
    xd = DaskArray(X; chunks = (300, 3)) # 7 row blocks: one task each per pass
    m = fit(LogisticRegression, X, yi; tol = 1e-8)
    md = fit(LogisticRegression, xd, DaskArray(yi; chunks = 500); tol = 1e-8)
    @test maximum(abs, [coef(md); intercept(md)] - [coef(m); intercept(m)]) <= 1e-6
    @test classes(md) == [0, 1] && eltype(classes(md)) == Int
    # Julia X gives Julia arrays; DaskArray X lazy DaskArrays of the same values.
    for model in (m, md)
        p = predict_proba(model, xd)
        @test p isa DaskArray{Float64,2} && size(p) == (n, 2)
        @test collect(p) ≈ predict_proba(model, X) rtol = 1e-12
        l = predict(model, xd)
        @test l isa DaskArray{Int,1} && collect(l) == predict(model, X)
        d = decision_function(model, xd)
        @test d isa DaskArray{Float64,1} && collect(d) ≈ decision_function(model, X)
        @test score(model, xd, DaskArray(yi)) ≈ score(model, X, yi)
    end
    # Julia labels stored as codes come back as labels through a lazy prediction too.
    mb = fit(LogisticRegression, X, ifelse.(yb, 10, 20))
    @test eltype(predict(mb, xd)) == Int && collect(predict(mb, xd)) == predict(mb, X)
    @test score(mb, xd, DaskArray(ifelse.(yb, 10, 20))) ≈ score(mb, X, ifelse.(yb, 10, 20))
    mB = fit(LogisticRegression, X, yb)
    @test eltype(predict(mB, xd)) == Bool && collect(predict(mB, xd)) == predict(mB, X)
    # Labels no DaskArray holds come back computed, as labels.
    ms = fit(LogisticRegression, X, ifelse.(yb, "y", "n"))
    @test predict(ms, xd) isa Vector{String} && predict(ms, xd) == predict(ms, X)
    # Regressions: weights and y as DaskArrays too.
    yr = X * [1.0, 2.0, 3.0] .+ randn(rng, n)
    w = rand(rng, n)
    lr = fit(LinearRegression, X, yr; weights = w, tol = 1e-10)
    lrd = fit(LinearRegression, xd, DaskArray(yr); weights = DaskArray(w), tol = 1e-10)
    @test maximum(abs, [coef(lrd); intercept(lrd)] - [coef(lr); intercept(lr)]) <= 1e-7
    @test predict(lrd, xd) isa DaskArray{Float64,1} && collect(predict(lrd, xd)) ≈ predict(lrd, X)
    @test score(lrd, xd, DaskArray(yr)) ≈ score(lrd, X, yr)
end

@testset "estimators, display, lifetime" begin
    for name in (:LogisticRegression, :LinearRegression, :PoissonRegression, :fit, :coef,
                 :intercept, :classes, :predict, :predict_proba, :decision_function, :score, :fitinfo)
        @test name in names(LibDask) # exported, with a docstring (Julia 1.5 has no Docs.hasdoc)
        @test haskey(Base.Docs.meta(LibDask), Base.Docs.Binding(LibDask, name))
    end
    e = LogisticRegression(C = 10, solver = "Newton")
    @test e.penalty === :l2 && e.C === 10.0 && e.solver === :newton
    @test sprint(show, e) == "LogisticRegression(penalty = :l2, C = 10.0, solver = :newton, tol = 0.0001, max_iter = 100)"
    @test LinearRegression().penalty === :none && PoissonRegression(C = 2).penalty === :l2
    @test LinearRegression().solver === :lbfgs && LogisticRegression(penalty = :l1).solver === :proximal_grad
    @test LinearRegression(penalty = :elasticnet, solver = :admm).solver === :admm
    X, y = glm_logistic_data(rng, 500, [1.0, -1.0], 0.0)
    m = fit(e, X, ifelse.(y, "spam", "ham"))
    @test m isa LibDask.GLMModel{LogisticRegression,String}
    @test sprint(show, m) == "LogisticRegression fitted on 2 features, classes [\"ham\", \"spam\"]"
    s = sprint(show, MIME"text/plain"(), m)
    @test occursin("coef:", s) && occursin("converged", s) && occursin("C = 10.0", s)
    c = coef(m)
    c[1] = 1e9 # a copy: the model is unchanged
    @test coef(m)[1] != 1e9
    @test occursin("1 feature", sprint(show, fit(LinearRegression, X[:, 1:1], X[:, 2])))
    close(m)
    close(m) # twice is fine
    @test !isopen(m) && endswith(sprint(show, m), "(closed)")
    @test coef(m) isa Vector{Float64} # what was read stays readable
    @test_throws DaskError predict(m, X)
end

@testset "not converging is a warning, not an error" begin
    X, y = glm_logistic_data(rng, n, [1.0, -2.0, 0.5], 0.3)
    m = @test_logs (:warn, r"did not converge within max_iter = 2") fit(LogisticRegression, X, y; max_iter = 2, tol = 1e-12)
    @test fitinfo(m).converged == false && fitinfo(m).n_iter == 2
    @test fitinfo(m) isa NamedTuple{(:converged, :n_iter, :passes, :objective, :kkt_residual)}
    @test fitinfo(m).kkt_residual > 1e-12
    @test predict(m, X) isa Vector{Bool} # still a usable model
end

@testset "bad input: clear errors" begin
    X, y = glm_logistic_data(rng, 300, [1.0, -1.0, 0.5], 0.0)
    msg(f) = try f(); "" catch err sprint(showerror, err) end
    # One class only.
    @test_throws ArgumentError fit(LogisticRegression, X, fill("a", 300))
    @test occursin("one class", msg(() -> fit(LogisticRegression, X, fill("a", 300))))
    @test_throws DaskError fit(LogisticRegression, DaskArray(X), DaskArray(ones(300)))
    # NaN, Inf, missing.
    Xn = copy(X); Xn[17, 2] = NaN
    @test_throws ArgumentError fit(LogisticRegression, Xn, y)
    @test occursin("X[17, 2] is NaN", msg(() -> fit(LogisticRegression, Xn, y)))
    e = try fit(LogisticRegression, DaskArray(Xn), y) catch err err end # the library's check
    @test e isa DaskError && occursin("NaN", e.message)
    Xi = copy(X); Xi[3, 1] = Inf
    @test_throws ArgumentError fit(LinearRegression, Xi, randn(rng, 300))
    Xm = Matrix{Union{Missing,Float64}}(X); Xm[5, 1] = missing
    @test occursin("missing", msg(() -> fit(LogisticRegression, Xm, y)))
    @test coef(fit(LogisticRegression, Matrix{Union{Missing,Float64}}(X), y)) ≈ coef(fit(LogisticRegression, X, y))
    @test_throws ArgumentError fit(LogisticRegression, X, [missing; y[2:end]])
    @test_throws ArgumentError fit(LinearRegression, X, [NaN; randn(rng, 299)])
    @test_throws ArgumentError fit(LogisticRegression, X, [NaN; ones(299)])
    @test_throws ArgumentError fit(LinearRegression, ["a" "b"; "c" "d"], [1.0, 2.0])
    @test_throws ArgumentError fit(LogisticRegression, X, Any[isodd(i) ? 1 : "a" for i in 1:300])
    # Shapes.
    @test_throws DimensionMismatch fit(LogisticRegression, X, y[1:299])
    @test_throws DimensionMismatch fit(LogisticRegression, X, y; weights = ones(10))
    @test_throws DimensionMismatch fit(LogisticRegression, DaskArray(X), DaskArray(Float64.(y[1:299])))
    @test_throws ArgumentError fit(LinearRegression, X[:, 1], y) # a vector X
    @test occursin("reshape(x, :, 1)", msg(() -> fit(LinearRegression, X[:, 1], y)))
    @test_throws ArgumentError fit(LinearRegression, zeros(0, 3), Float64[])
    m = fit(LogisticRegression, X, y)
    @test_throws DimensionMismatch predict(m, X[:, 1:2])
    @test_throws DimensionMismatch predict_proba(m, DaskArray(X[:, 1:2]))
    @test_throws DimensionMismatch score(m, X, y[1:10])
    # Unknown names, contradictory strengths: ArgumentError naming the choices.
    @test_throws ArgumentError fit(LogisticRegression, X, y; penalty = :l3)
    @test occursin(":elasticnet", msg(() -> LogisticRegression(penalty = :l3)))
    @test_throws ArgumentError fit(LogisticRegression, X, y; solver = :sgd)
    @test occursin(":proximal_grad", msg(() -> LogisticRegression(solver = "sgd")))
    @test_throws ArgumentError LogisticRegression(C = 1, lambda = 1)
    @test_throws ArgumentError LogisticRegression(C = 0)
    @test_throws ArgumentError LogisticRegression(lambda = -1) # not the library's "unset"
    @test_throws ArgumentError LinearRegression(penalty = :none, lambda = 1)
    @test_throws ArgumentError LogisticRegression(max_iter = 0)
    @test_throws ArgumentError LogisticRegression(tol = 0)
    # L1 with a solver that cannot take it: the library says which can.
    e = try fit(LogisticRegression, X, y; penalty = :l1, solver = :lbfgs) catch err err end
    @test e isa DaskError && occursin("proximal_grad", e.message)
    # What only the family knows: a negative count.
    @test_throws DaskError fit(PoissonRegression, X, [-1.0; ones(299)])
    # Verbs that a model kind does not have.
    lr = fit(LinearRegression, X, randn(rng, 300))
    @test_throws ArgumentError predict_proba(lr, X)
    @test_throws ArgumentError classes(lr)
end

@testset "multinomial: the softmax's gradient, probabilities and labels in plain Julia" begin
    X = randn(rng, n, 3)
    S = X * [1.0 -0.5 0.0; 0.0 1.0 -1.0; 0.5 0.0 0.8] .+ [0.2 0.0 -0.1]
    G = -log.(-log.(rand(rng, n, 3)))                  # Gumbel-max: a softmax draw
    names = ["cat", "dog", "eel"]
    y = names[map(i -> argmax(S[i, :] .+ G[i, :]), 1:n)]
    λ = 3.0
    m = fit(LogisticRegression, X, y; lambda = λ, tol = 1e-9, max_iter = 1000)
    @test fitinfo(m).converged && classes(m) == names
    W, b = coef(m), intercept(m)
    @test W isa Matrix{Float64} && size(W) == (3, 3) && b isa Vector{Float64} && length(b) == 3
    softmax(r) = exp.(r .- maximum(r)) ./ sum(exp.(r .- maximum(r)))
    P = reduce(vcat, [softmax(W * X[i, :] .+ b)' for i in 1:n])
    Y = Float64[y[i] == names[k] for i in 1:n, k in 1:3]
    @test maximum(abs, ((P - Y)' * X)' ./ n .+ λ .* W' ./ n) <= 1e-8   # ∂/∂W
    @test maximum(abs, sum(P - Y; dims = 1) ./ n) <= 1e-8             # ∂/∂b
    pp = predict_proba(m, X)
    @test pp isa Matrix{Float64} && size(pp) == (n, 3) && maximum(abs, pp - P) <= 1e-12
    labels = predict(m, X)
    @test labels isa Vector{String} && labels == names[map(i -> argmax(P[i, :]), 1:n)]
    @test score(m, X, y) ≈ mean(labels .== y)
    # Lazy on a DaskArray X, the same numbers.
    @test maximum(abs, collect(predict_proba(m, DaskArray(X; chunks = (500, 3)))) - P) <= 1e-12
    e = try fit(LogisticRegression, X, y; solver = :newton) catch err err end
    @test e isa DaskError && occursin("lbfgs", e.message)
end

@testset "a SparseMatrixCSC X stays sparse and fits to a zero gradient in plain Julia" begin
    X = sprandn(rng, n, 6, 0.3)
    y = rand(rng, n) .< glm_sigmoid.(X * [1.0, -1.0, 0.5, 0.0, 2.0, -0.5] .+ 0.2)
    @test LibDask.kind(LibDask.lib_rows(X)) === :chunked_sparse
    m = fit(LogisticRegression, X, y; solver = :newton, C = 10.0, tol = 1e-10)
    β, b = coef(m), intercept(m)
    r = glm_sigmoid.(X * β .+ b) .- y
    @test maximum(abs, [X' * r .+ β ./ 10.0; sum(r)] ./ n) <= 1e-10
    @test maximum(abs, predict_proba(m, X)[:, 2] - glm_sigmoid.(X * β .+ b)) <= 1e-12
    @test predict(m, X) isa Vector{Bool}
    bad = copy(X)
    nonzeros(bad)[3] = NaN
    @test_throws ArgumentError fit(LogisticRegression, bad, y)
end

@testset "the README example" begin
    # (kept in step with the README's Julia GLM snippet)
    X = randn(1000, 3)
    y = ifelse.(X * [1.0, -2.0, 0.5] .+ 0.3 .+ randn(1000) .> 0, "spam", "ham")
    model = fit(LogisticRegression, X, y; penalty = :l2, C = 1.0, solver = :lbfgs)
    coef(model), intercept(model)     # 3 coefficients (log-odds of "spam"), 1 intercept
    classes(model)                    # ["ham", "spam"]: predict_proba's columns
    predict(model, X[1:5, :])         # a Vector{String} of labels
    predict_proba(model, X[1:5, :])   # 5×2 Matrix{Float64}
    score(model, X, y)                # accuracy
    fitinfo(model).converged          # true (a warning when max_iter runs out)
    xd = DaskArray(X; chunks = (250, 3))                   # row blocks, one task each
    lasso = fit(LinearRegression, xd, DaskArray(X[:, 1] .+ 0.1 .* randn(1000));
                penalty = :l1, lambda = 20.0)             # solver: :proximal_grad
    collect(predict(lasso, xd))       # lazy until collected
    @test classes(model) == ["ham", "spam"] && predict(model, X[1:5, :]) isa Vector{String}
    @test fitinfo(model).converged && fitinfo(lasso).converged && count(iszero, coef(lasso)) == 2
end

end # GLMs
