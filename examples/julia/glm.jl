# Generalized linear models from Julia: logistic, linear (ridge, lasso) and Poisson regression
# fitted by libdask's solvers over the row blocks of X — on this machine's pool, or on a
# cluster when run under `libdask local-cluster -- …`. Run: scripts/julia examples/julia/glm.jl
push!(LOAD_PATH, normpath(joinpath(@__DIR__, "..", "..", "bindings", "julia")))
using LibDask, Random, Statistics

Random.seed!(1)
n = 5000
X = randn(n, 4)

# Logistic regression with labels of any type (scikit-learn's defaults: L2, C = 1, lbfgs).
odds = X * [1.5, -2.0, 0.0, 0.5] .+ 0.25
y = ifelse.(rand(n) .< 1 ./ (1 .+ exp.(-odds)), "spam", "ham")
model = fit(LogisticRegression, X, y)
display(model); println()
println("classes: ", classes(model), " (predict_proba's columns; coef favours \"spam\")")
println("first predictions: ", predict(model, X[1:5, :]))
println("P(ham), P(spam) of row 1: ", round.(predict_proba(model, X[1:1, :]); digits = 3))
println("accuracy: ", round(score(model, X, y); digits = 3))

# The same fit from a chunked DaskArray: row blocks of 1000 are the units of work, and the
# predictions stay lazy until collected.
xd = DaskArray(X; chunks = (1000, :))
md = fit(LogisticRegression, xd, DaskArray(Float64.(y .== "spam")))
println("DaskArray fit, same coefficients: ", isapprox(coef(md), coef(model); rtol = 1e-6))
p = predict_proba(md, xd)
println(p, " -> mean P(spam) ", round(mean(collect(p)[:, 2]); digits = 3))

# Least squares: plain, ridge (a lambda alone means L2) and lasso (L1: exact zeros).
t = X * [3.0, 0.0, -1.0, 0.0] .+ 2.0 .+ 0.5 .* randn(n)
println("least squares: ", round.(coef(fit(LinearRegression, X, t)); digits = 3))
println("ridge, lambda = 1000: ", round.(coef(fit(LinearRegression, X, t; lambda = 1000)); digits = 3))
lasso = fit(LinearRegression, X, t; penalty = :l1, lambda = 500)
println("lasso, lambda = 500: ", round.(coef(lasso); digits = 3), ", R² ", round(score(lasso, X, t); digits = 3))

# Poisson regression of counts: predict gives expected counts.
# (a Poisson draw: the arrivals of a rate-1 process before the mean)
counts = [sum(cumsum(-log.(rand(30))) .< exp(0.4 * X[i, 1] + 1.0)) for i in 1:n]
pm = fit(PoissonRegression, X, counts)
println("Poisson: coef ", round.(coef(pm); digits = 3), ", intercept ", round(intercept(pm); digits = 3),
        ", fit ", fitinfo(pm))
println("glm tour done")
