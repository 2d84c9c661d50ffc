# Generalized linear models (dask_glm_*): the verbs GLM.jl, MLJ and scikit-learn users know —
# `fit`, `coef`, `predict`, `predict_proba` — over the library's solvers. The library does
# all the numerics, in Float64, on the rows of an n × p X; Julia only translates: Julia's
# rows become the library's rows, class labels of any type become codes 0, 1, … and back,
# and Julia's exception types report what Julia can check before the call.

using .CAPI: dask_glm_model, dask_glm_params, dask_glm_info

@handle GLMHandle dask_glm_model CAPI.dask_glm_model_free

"""
    GLMEstimator

What a generalized linear model is to be (family, penalty, solver, stopping rule), before
any data: `LogisticRegression`, `LinearRegression`, `PoissonRegression`. `fit` turns one
and the data into a fitted `GLMModel`.
"""
abstract type GLMEstimator end

const PENALTIES = (:none, :l2, :l1, :elasticnet)
const SOLVERS = (:newton, :lbfgs, :gradient_descent, :proximal_grad, :admm, :cd)

"""`x` (a Symbol or a string, any case) as one of `choices`, or an ArgumentError naming them."""
function choice(what::String, x, choices)
    names = join(map(repr, choices), ", ")
    s = x isa Union{Symbol,AbstractString} ? Symbol(lowercase(String(x))) :
        throw(ArgumentError("$what must be a Symbol, one of $names; got $(repr(x))"))
    s in choices || throw(ArgumentError("unknown $what $(repr(x)): one of $names"))
    s
end

# The settings of every estimator, checked where a Julia user expects it: at construction,
# with ArgumentError. `nothing` for C and lambda means unset (the library's -1).
function settings(default_penalty::Symbol; penalty = nothing, C = nothing, lambda = nothing,
                  l1_ratio::Real = 0.5, solver = nothing, tol::Real = 1e-4,
                  max_iter::Integer = 100, fit_intercept::Bool = true)
    C !== nothing && lambda !== nothing && throw(ArgumentError(
        "give the penalty's strength as C or as lambda, not both (C = 1 / lambda)"))
    C === nothing || (C isa Real && C > 0) || throw(ArgumentError("C must be positive, not $C"))
    lambda === nothing || (lambda isa Real && 0 <= lambda < Inf) ||
        throw(ArgumentError("lambda must be finite and not negative, not $lambda"))
    strength = C !== nothing || lambda !== nothing
    # A strength without a penalty is a ridge (L2) fit: LinearRegression(lambda = 1) is not
    # silently unpenalised. An explicit :none with a strength contradicts itself.
    pen = penalty === nothing ? (strength ? :l2 : default_penalty) :
          choice("penalty", penalty, PENALTIES)
    pen === :none && strength && throw(ArgumentError(
        "penalty = :none takes no C or lambda (give penalty = :l2, :l1 or :elasticnet)"))
    # An L1 part needs a solver that takes it; unless one is named, that is proximal_grad.
    solver = solver === nothing ? (pen in (:l1, :elasticnet) ? :proximal_grad : :lbfgs) :
             choice("solver", solver, SOLVERS)
    0 <= l1_ratio <= 1 || throw(ArgumentError("l1_ratio must lie in [0, 1], not $l1_ratio"))
    tol > 0 || throw(ArgumentError("tol must be positive, not $tol"))
    1 <= max_iter <= typemax(UInt32) ||
        throw(ArgumentError("max_iter must be at least 1 (and below 2^32), not $max_iter"))
    (pen, C === nothing ? nothing : Float64(C), lambda === nothing ? nothing : Float64(lambda),
     Float64(l1_ratio), solver, Float64(tol), Int(max_iter), fit_intercept)
end

for (E, fam, default_penalty) in ((:LogisticRegression, "binomial", :l2),
                                  (:LinearRegression, "gaussian", :none),
                                  (:PoissonRegression, "poisson", :none))
    @eval begin
        struct $E <: GLMEstimator
            penalty::Symbol
            C::Union{Nothing,Float64}
            lambda::Union{Nothing,Float64}
            l1_ratio::Float64
            solver::Symbol
            tol::Float64
            max_iter::Int
            fit_intercept::Bool
        end
        $E(; kwargs...) = $E(settings($(QuoteNode(default_penalty)); kwargs...)...)
        family(::Type{$E}) = $fam
    end
end

@doc """
    LogisticRegression(; penalty = :l2, C = 1.0, lambda, l1_ratio = 0.5, solver = :lbfgs,
                         tol = 1e-4, max_iter = 100, fit_intercept = true)

Binary logistic regression (the binomial family) with scikit-learn's `LogisticRegression`
defaults, so results compare one to one. Labels may be of any type; `predict` gives them
back. The objective is `sum(loss) + lambda * R(coef)` with `C = 1 / lambda` (give one of
them): `R` is `‖β‖²/2` (`:l2`), `‖β‖₁` (`:l1`) or `l1_ratio‖β‖₁ + (1 − l1_ratio)‖β‖²/2`
(`:elasticnet`); the intercept is never penalised. An L1 part needs `solver =
:proximal_grad` (then the default) or `:admm`. `tol` bounds the largest entry of the
objective's gradient (KKT residual) divided by the number of rows, so it means the same for
any n. Use it as `fit(LogisticRegression, X, y; kwargs...)` or
`fit(LogisticRegression(; kwargs...), X, y)`.
""" LogisticRegression

@doc """
    LinearRegression(; penalty = :none, C, lambda, l1_ratio = 0.5, solver = :lbfgs,
                       tol = 1e-4, max_iter = 100, fit_intercept = true)

Least squares (the gaussian family: loss `(y − ŷ)²/2` per row). Unpenalised by default;
a `lambda` (or `C`) without a `penalty` makes it ridge regression, `penalty = :l1` the lasso
(solved by `:proximal_grad` unless `solver = :admm`, or `:cd`: coordinate descent on the
Gram matrix, one pass over the data). Options as for `LogisticRegression`.
""" LinearRegression

@doc """
    PoissonRegression(; penalty = :none, C, lambda, l1_ratio = 0.5, solver = :lbfgs,
                        tol = 1e-4, max_iter = 100, fit_intercept = true)

Regression of counts (the Poisson family, log link): `predict` gives the expected count
`exp(X β + b)`. Unpenalised by default; options as for `LogisticRegression`.
""" PoissonRegression

function Base.show(io::IO, e::GLMEstimator)
    print(io, nameof(typeof(e)), "(penalty = ", repr(e.penalty))
    e.C === nothing || print(io, ", C = ", e.C)
    e.lambda === nothing || print(io, ", lambda = ", e.lambda)
    e.penalty === :elasticnet && print(io, ", l1_ratio = ", e.l1_ratio)
    print(io, ", solver = ", repr(e.solver), ", tol = ", e.tol, ", max_iter = ", e.max_iter)
    e.fit_intercept || print(io, ", fit_intercept = false")
    print(io, ")")
end

"""
    GLMModel

A fitted generalized linear model, made by `fit`: it owns the library's model (freed by a
finalizer, or at once by `close`), and keeps the coefficients, the classes and the fit's
diagnostics as Julia values, so reading them and showing the model never computes.
"""
struct GLMModel{E<:GLMEstimator,L}
    estimator::E
    h::GLMHandle
    client::Client
    n_features::Int
    coef::Union{Vector{Float64},Matrix{Float64}}
    intercept::Union{Float64,Vector{Float64}}
    # Classifiers: the labels in the library's class order (sorted), and the values the
    # library knows them by (codes 0, 1, … for Julia labels; the values of a DaskArray y).
    labels::Vector{L}
    lib_classes::Vector{Float64}
    info::NamedTuple{(:converged, :n_iter, :passes, :objective, :kkt_residual),
                     Tuple{Bool,Int,Int,Float64,Float64}}
end

Base.close(m::GLMModel) = close(m.h)
Base.isopen(m::GLMModel) = isopen(m.h)

const Classifier = GLMModel{LogisticRegression}

# Whether the library knows the classes by the labels' own values (a DaskArray y, or Julia
# labels that are the codes 0, 1, … already), so no translation is needed either way.
own_values(m::GLMModel) = m.lib_classes == m.labels

# ---- Julia data as the library's (n × p C-ordered X, n-vectors) ----

bad_value(v) = v === missing || (v isa Number && !isfinite(v))

function check_reals(a::AbstractArray, what::String)
    if !(eltype(a) <: Real)
        any(ismissing, a) &&
            throw(ArgumentError("$what holds missing values: drop those rows first"))
        all(v -> v isa Real, a) || throw(ArgumentError(
            "$what must hold real numbers, not $(eltype(a))"))
    end
    i = findfirst(bad_value, a)
    i === nothing || throw(ArgumentError(
        "$what[$(join(Tuple(CartesianIndices(a)[i]), ", "))] is $(a[i]) ($what must be finite)"))
    nothing
end

"""X as the library reads it: observations in rows, each row block one C-ordered buffer."""
function lib_rows(X::AbstractMatrix)
    n, p = size(X)
    (n == 0 || p == 0) && throw(ArgumentError("X of size $(size(X)) has no data"))
    check_reals(X, "X")
    # Julia's p × n column-major copy is the library's n × p in C order (and converts to
    # Float64, the library's working type, on the way).
    xt = Matrix{Float64}(undef, p, n)
    permutedims!(xt, X, (2, 1))
    DaskArray(xt)
end
"""A SparseMatrixCSC stays sparse: the library reads its stored entries row by row, in
row blocks of about 2^20 entries (one task each)."""
function lib_rows(X::SparseMatrixCSC)
    n, p = size(X)
    (n == 0 || p == 0) && throw(ArgumentError("X of size $(size(X)) has no data"))
    k = findfirst(bad_value, nonzeros(X))
    if k !== nothing
        j = searchsortedlast(X.colptr, k)
        throw(ArgumentError("X[$(rowvals(X)[k]), $j] is $(nonzeros(X)[k]) (X must be finite)"))
    end
    per_row = max(1, nnz(X)) / n
    rows = clamp(round(Int, 2^20 / per_row), 1, n)
    permutedims(DaskArray(X; chunks = (rows, p)))
end

# A lazy transpose: the library converts to Float64 and lays each row block out in C order
# itself, once, when the fit persists X.
lib_rows(X::DaskArray{T,2}) where {T} = permutedims(X)
lib_rows(X::Union{AbstractArray,DaskArray}) = throw(ArgumentError(
    "X must be a matrix, n observations × p features, not of size $(size(X))" *
    (ndims(X) == 1 ? " (one feature: reshape(x, :, 1))" : "")))
lib_rows(X) = throw(ArgumentError("X must be a Matrix or a 2-d DaskArray, not a $(typeof(X))"))

function check_rows(v, n::Int, what::String)
    ndims(v) == 1 || throw(ArgumentError("$what must be a vector, not of size $(size(v))"))
    length(v) == n || throw(DimensionMismatch("$what has $(length(v)) elements but X has $n rows"))
end

"""A response or weight vector as the library reads it (Float64)."""
function lib_vector(v::AbstractArray, n::Int, what::String)
    check_rows(v, n, what)
    check_reals(v, what)
    DaskArray(Vector{Float64}(v))
end
lib_vector(v::DaskArray, n::Int, what::String) = (check_rows(v, n, what); v)
lib_vector(v, n::Int, what::String) = throw(ArgumentError(
    "$what must be a Vector or a DaskArray, not a $(typeof(v))"))

"""Julia class labels as codes 0, 1, … (in sorted label order), for the library."""
function encode(y::AbstractArray, n::Int)
    check_rows(y, n, "y")
    any(ismissing, y) && throw(ArgumentError("y holds missing values: drop those rows first"))
    any(v -> v isa Number && isnan(v), y) &&
        throw(ArgumentError("y holds NaN, which is not a class label"))
    labels = try
        sort!(unique(y))
    catch e
        e isa MethodError || rethrow()
        throw(ArgumentError("the labels in y cannot be sorted: $(e.f) has no method for them"))
    end
    length(labels) < 2 && throw(ArgumentError(
        "y has one class only ($(repr(labels[1]))): a classifier needs two"))
    code = Dict(l => Float64(k - 1) for (k, l) in enumerate(labels))
    DaskArray([code[v] for v in y]), labels
end

# ---- the params struct ----

function fit_params(e::GLMEstimator, fam::String, penalty::String, solver::String)
    r = Ref{dask_glm_params}()
    check(CAPI.dask_glm_params_init(r, sizeof(dask_glm_params)))
    d = r[]
    r[] = dask_glm_params(d.struct_size, UInt32(e.fit_intercept), pointer(fam), pointer(penalty),
                          pointer(solver), e.C === nothing ? d.C : e.C,
                          e.lambda === nothing ? d.lambda : e.lambda, e.l1_ratio, e.tol,
                          UInt32(e.max_iter))
    r
end

"""
    fit(LogisticRegression, X, y; penalty, C, lambda, l1_ratio, solver, tol, max_iter,
        fit_intercept, weights = nothing, client = default_client()) -> GLMModel
    fit(estimator::GLMEstimator, X, y; weights, client) -> GLMModel

Fits a generalized linear model to the rows of `X` (n observations × p features) and `y`
(a Vector or a DaskArray; for `LogisticRegression` labels of any type — String, Symbol,
Bool, Int, … — which `predict` gives back). `weights` are per-row sample weights. The fit
runs in the library on `client` (the local pool, or a cluster) and blocks until done.

A Julia `X` (any real element type) is copied once, into the library's row-major Float64
layout; a DaskArray `X` is transposed block by block in the library, and its row blocks
(`DaskArray(X; chunks = (rows, :))`) are the units of work: one task each per pass. A
`SparseMatrixCSC` stays sparse (only its stored entries are read, in row blocks).

Not converging within `max_iter` is a warning, not an error, as in scikit-learn: the model is
returned and `fitinfo(model).converged` is `false`. Bad data (NaN, `missing`, one class only,
mismatched lengths) is an `ArgumentError` or `DimensionMismatch` before the library is
called; what only the library can see (a negative count for Poisson, L1 with a solver that
cannot take it) is its `DaskError`.

`fit`, `coef`, `predict` and `score` are also StatsBase's names; LibDask cannot extend
StatsBase's functions (it uses only the standard library), so with both loaded, qualify
them: `LibDask.fit(...)`.
"""
function fit(::Type{E}, X, y; weights = nothing, client::Client = default_client(),
             kwargs...) where {E<:GLMEstimator}
    fit(E(; kwargs...), X, y; weights = weights, client = client)
end

function fit(e::E, X, y; weights = nothing,
             client::Client = default_client()) where {E<:GLMEstimator}
    x = lib_rows(X)
    n = size(X, 1)
    if E === LogisticRegression && !(y isa DaskArray)
        y isa AbstractArray ||
            throw(ArgumentError("y must be a Vector or a DaskArray, not a $(typeof(y))"))
        ylib, labels = encode(y, n)
    else
        ylib, labels = lib_vector(y, n, "y"), nothing
    end
    w = weights === nothing ? nothing : lib_vector(weights, n, "weights")
    fam, penalty, solver = family(E), String(e.penalty), String(e.solver)
    params = fit_params(e, fam, penalty, solver)
    ptr = GC.@preserve fam penalty solver out_ptr(dask_glm_model) do o
        CAPI.dask_glm_fit(client, params, x, ylib, w === nothing ? C_NULL : w, o)
    end
    h = GLMHandle(ptr)
    model = read_model(e, h, client, labels, eltype(y))
    info = model.info
    info.converged || @warn("$(nameof(E)) did not converge within max_iter = $(e.max_iter) " *
                            "iterations (KKT residual $(info.kkt_residual) > tol = $(e.tol)): " *
                            "raise max_iter or tol, scale X, or try another solver")
    model
end

# The fitted model's values, read once (copies; nothing stays borrowed).
function read_model(e::E, h::GLMHandle, client::Client, labels, ::Type{T}) where {E,T}
    p, k = Ref{Csize_t}(0), Ref{Csize_t}(0)
    check(CAPI.dask_glm_n_features(h, p))
    check(CAPI.dask_glm_n_classes(h, k))
    p, k = Int(p[]), Int(k[])
    rows = k > 2 ? k : 1 # one row per class for a multinomial model
    c, b = zeros(rows * p), zeros(rows)
    check(CAPI.dask_glm_coef(h, c, length(c), b))
    # Row-major rows × p is Julia's column-major p × rows.
    coef = rows == 1 ? c : permutedims(reshape(c, p, rows))
    lib_classes = zeros(k)
    k > 0 && check(CAPI.dask_glm_classes(h, lib_classes, k))
    if labels === nothing # a regression, or a DaskArray y: the library's values are the labels
        L = k > 0 ? T : Float64
        labels = k > 0 ? L[convert(L, v) for v in lib_classes] : Float64[]
    end
    i = Ref{dask_glm_info}()
    check(CAPI.dask_glm_fit_info(h, i, sizeof(dask_glm_info)))
    i = i[]
    info = (converged = i.converged != 0, n_iter = Int(i.n_iter), passes = Int(i.passes),
            objective = i.objective, kkt_residual = i.kkt_residual)
    GLMModel{E,eltype(labels)}(e, h, client, p, coef, rows == 1 ? b[1] : b, labels,
                               lib_classes, info)
end

# ---- what a fitted model knows ----

"""
    coef(model) -> Vector{Float64} (or Matrix{Float64}, classes × features)

The coefficients of the features, without the intercept (`intercept`), in X's column order
— scikit-learn's `coef_`, so `X * coef(m) .+ intercept(m)` is `decision_function(m, X)`. A
binary classifier's are the log-odds of its second class (`classes(m)[2]`); a multinomial
one has a row per class. Also StatsBase's name: see `fit`.
"""
coef(m::GLMModel) = copy(m.coef)

"""
    intercept(model) -> Float64 (or a Vector, one per class, for a multinomial model)

The unpenalised constant term (`0.0` when fitted with `fit_intercept = false`); kept apart
from `coef`, as in scikit-learn, so that penalised and unpenalised parts never mix.
"""
intercept(m::GLMModel) = copy(m.intercept)

"""
    classes(model) -> Vector

A classifier's class labels, sorted (`sort(unique(y))`), with y's element type: the order of
`predict_proba`'s columns, and the second is the one a binary model's `coef` favours.
"""
function classes(m::GLMModel)
    m isa Classifier || throw(ArgumentError("a $(nameof(typeof(m.estimator))) has no classes"))
    copy(m.labels)
end

"""
    fitinfo(model) -> NamedTuple (converged, n_iter, passes, objective, kkt_residual)

How the fit went, for judging a model the fit did not reject: whether the KKT residual
reached `tol`, the iterations and passes over the data it took, and the objective divided
by the total sample weight at the result.
"""
fitinfo(m::GLMModel) = m.info

# ---- predictions ----

"""The library's lazy prediction of `kind` for the rows of X (checked against the model)."""
function lib_predict(m::GLMModel, kind, X)
    x = lib_rows(X)
    check_columns(m, X)
    DaskArray(out_ptr(o -> CAPI.dask_glm_predict(m.h, kind, x, o), dask_array))
end

check_columns(m::GLMModel, X) = size(X, 2) == m.n_features || throw(DimensionMismatch(
    "X has $(size(X, 2)) columns; the model was fitted on $(m.n_features)"))

"""Computes `a` on the model's client: a new Julia Array."""
function computed(m::GLMModel, a::DaskArray)
    r = fetch(submit(a; client = m.client))
    r isa Array ? copy(r) : collect(r)
end

# A library n × k result is Julia's k × n: transposed back to Julia's n × k.
as_julia(m, a::DaskArray{<:Any,1}) = computed(m, a)
as_julia(m, a::DaskArray{<:Any,2}) = permutedims(computed(m, a))
lazy_rows(a::DaskArray{<:Any,1}) = a
lazy_rows(a::DaskArray{<:Any,2}) = permutedims(a)

"""
    decision_function(model, X)

The linear predictor `X β + b` of each row (n; n × classes for a multinomial model): the
scores before the link, for ROC curves and margins. A Julia array for a Julia `X`; a lazy
DaskArray for a DaskArray `X`.
"""
decision_function(m::GLMModel, X) =
    as_julia(m, lib_predict(m, CAPI.DASK_GLM_DECISION_FUNCTION, X))
decision_function(m::GLMModel, X::DaskArray) =
    lazy_rows(lib_predict(m, CAPI.DASK_GLM_DECISION_FUNCTION, X))

"""
    predict_proba(model, X) -> Matrix{Float64} (n × classes)

Each row's probability of each class, columns in `classes(model)` order, rows summing to 1:
for thresholds other than 1/2 and for calibrated decisions. A lazy DaskArray for a DaskArray
`X`. Classifiers only.
"""
function predict_proba(m::GLMModel, X)
    m isa Classifier || throw(ArgumentError("predict_proba is for classifiers; a " *
        "$(nameof(typeof(m.estimator))) predicts the mean response: predict(model, X)"))
    a = lib_predict(m, CAPI.DASK_GLM_PREDICT_PROBA, X)
    X isa DaskArray ? lazy_rows(a) : as_julia(m, a)
end

"""
    predict(model, X)

A classifier's most probable label for each row, as a Vector of y's element type with y's
own labels; a regression's mean response (Poisson: the expected count). A lazy DaskArray
for a DaskArray `X` — except for labels no DaskArray can hold (strings, symbols, …), which
come back computed as a Vector. Also StatsBase's name: see `fit`.
"""
function predict(m::GLMModel, X)
    a = lib_predict(m, CAPI.DASK_GLM_PREDICT, X)
    m isa Classifier || return X isa DaskArray ? a : computed(m, a)
    L = eltype(m.labels)
    if X isa DaskArray && haskey(DTYPES, L)
        own_values(m) && return to_type(a, L)
        # The library's codes to the labels, lazily (one fused pass).
        r = ifelse.(a .== m.lib_classes[2], m.labels[2], m.labels[1])
        for k in 3:length(m.labels)
            r = ifelse.(a .== m.lib_classes[k], m.labels[k], r)
        end
        return to_type(r, L)
    end
    L[m.labels[searchsortedfirst(m.lib_classes, v)] for v in computed(m, a)]
end

"""
    score(model, X, y; client) -> Float64

How well the model does on (X, y), in scikit-learn's terms so the numbers compare: accuracy
for a classifier (labels it never saw count as wrong), R² for `LinearRegression`, D² (the
share of the null deviance explained) for `PoissonRegression`. Computed in the library on
`client` (the one the model was fitted on, by default). Also StatsBase's name: see `fit`.
"""
function score(m::GLMModel, X, y; client::Client = m.client)
    x = lib_rows(X)
    check_columns(m, X)
    n = size(X, 1)
    ylib = if m isa Classifier && !own_values(m)
        y isa Union{AbstractArray,DaskArray} ||
            throw(ArgumentError("y must be a Vector or a DaskArray, not a $(typeof(y))"))
        check_rows(y, n, "y")
        if y isa DaskArray
            haskey(DTYPES, eltype(m.labels)) || throw(ArgumentError(
                "the model's labels are $(eltype(m.labels))s, which a DaskArray y cannot hold"))
            c = ifelse.(y .== m.labels[1], m.lib_classes[1], -1.0)
            for k in 2:length(m.labels)
                c = ifelse.(y .== m.labels[k], m.lib_classes[k], c)
            end
            c
        else
            code = Dict(zip(m.labels, m.lib_classes))
            DaskArray(Float64[get(code, v, -1.0) for v in y]) # an unseen label: never right
        end
    else
        lib_vector(y, n, "y")
    end
    s = Ref{Float64}(0)
    check(CAPI.dask_glm_score(client, m.h, x, ylib, s))
    s[]
end

# ---- display (never computes) ----

function Base.show(io::IO, m::GLMModel)
    print(io, nameof(typeof(m.estimator)), " fitted on ", m.n_features, " feature",
          m.n_features == 1 ? "" : "s")
    m isa Classifier && print(io, ", classes ", repr(m.labels))
    isopen(m) || print(io, " (closed)")
end

function Base.show(io::IO, ::MIME"text/plain", m::GLMModel)
    show(io, m)
    print(io, "\n  ", m.estimator)
    print(io, "\n  coef: ")
    show(IOContext(io, :compact => true, :limit => true), m.coef)
    print(io, "\n  intercept: ")
    show(IOContext(io, :compact => true), m.intercept)
    i = m.info
    print(io, "\n  ", i.converged ? "converged" : "did NOT converge", " in ", i.n_iter,
          " iterations (", i.passes, " passes over the data); objective ",
          round(i.objective; sigdigits = 6), ", KKT residual ",
          round(i.kkt_residual; sigdigits = 3))
end
