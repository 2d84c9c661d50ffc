"""scikit-learn (and dask-glm, when installed) on the data `cargo bench --bench glm -- --data PATH`
wrote: the same 5,000,000 x 20 logistic regression, C = 1e6, tol = 1e-6, each solver's time
and final objective on the mean scale, mean(log(1 + exp(z)) - y z) + ||w||^2 / (2 C n), the
objective libdask reports.

With --lasso-path: the 1,000,000 x 100 least squares of `cargo bench --bench glm --
lasso_path --data PATH`, scikit-learn's lasso_path over the same 10 alphas.

With --sparse: the 1,000,000 x 1,000 sparse (1% stored) logistic regression of `cargo bench
--bench glm -- sparse --data PATH`, scikit-learn on the same matrix as scipy CSR, C = 1.

With --multinomial: the 1,000,000 x 50, 10-class data of `cargo bench --bench glm --
multinomial --data PATH`, scikit-learn's multinomial lbfgs at C = 1, tol = 1e-6.

Run: python3 -m venv build/glm-venv && build/glm-venv/bin/pip install scikit-learn dask-glm
     build/glm-venv/bin/python benches/peers/glm_peer.py [--multinomial] PATH
"""
import sys
import time

import numpy as np


def multinomial(path):
    n, p, k, c = 1_000_000, 50, 10, 1.0
    raw = np.fromfile(path, dtype="<f8")
    X = raw[: n * p].reshape(n, p)
    y = raw[n * p :]
    from sklearn.linear_model import LogisticRegression
    from scipy.special import logsumexp

    def objective(coef, intercept):
        z = X @ coef.T + intercept
        loss = logsumexp(z, axis=1) - z[np.arange(n), y.astype(int)]
        return loss.mean() + (coef * coef).sum() / (2 * c * n)

    print(f"scikit-learn multinomial, {n} x {p}, {k} classes, C = {c:g}, tol = 1e-6:")
    t0 = time.perf_counter()
    m = LogisticRegression(C=c, tol=1e-6, max_iter=300).fit(X, y)
    t = time.perf_counter() - t0
    print(f"  lbfgs             {t:7.3f} s  objective {objective(m.coef_, m.intercept_):.10f}  iterations {m.n_iter_[0]}")


def lasso_path_peer(path):
    n, p = 1_000_000, 100
    alphas = [0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.001]
    raw = np.fromfile(path, dtype="<f8")
    X = raw[: n * p].reshape(n, p)
    y = raw[n * p :]
    from sklearn.linear_model import lasso_path

    print(f"scikit-learn lasso_path, {n} x {p}, {len(alphas)} penalties (warm starts):")
    t0 = time.perf_counter()
    _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=1e-6)
    t = time.perf_counter() - t0
    objs = []
    for k, a in enumerate(alphas):
        w = coefs[:, k]
        r = y - X @ w
        objs.append(f"{r @ r / (2 * n) + a * np.abs(w).sum():.8f}")
    nz = [int((coefs[:, k] != 0).sum()) for k in range(len(alphas))]
    print(f"  coordinate descent {t:7.3f} s  nonzeros {nz}")
    print(f"    objectives {' '.join(objs)}")


def binary_fits(X, y, c, max_iter, objective):
    """scikit-learn's lbfgs and newton-cholesky at tol = 1e-6, each timed and reported."""
    from sklearn.linear_model import LogisticRegression

    for solver in ["lbfgs", "newton-cholesky"]:
        t0 = time.perf_counter()
        m = LogisticRegression(solver=solver, C=c, tol=1e-6, max_iter=max_iter).fit(X, y)
        t = time.perf_counter() - t0
        print(f"  {solver:<17} {t:7.3f} s  objective {objective(m.coef_[0], m.intercept_[0]):.10f}  iterations {m.n_iter_[0]}")


def sparse_peer(path):
    n, p, c = 1_000_000, 1_000, 1.0
    raw = np.fromfile(path, dtype="<f8")
    nnz = int(raw[0])
    rows, cols = raw[1 : 1 + nnz].astype(np.int64), raw[1 + nnz : 1 + 2 * nnz].astype(np.int64)
    vals, y = raw[1 + 2 * nnz : 1 + 3 * nnz], raw[1 + 3 * nnz :]
    import scipy.sparse

    X = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, p))

    def objective(coef, intercept):
        z = X @ coef + intercept
        return (np.logaddexp(0, z) - y * z).mean() + coef @ coef / (2 * c * n)

    print(f"scikit-learn sparse (CSR), {n} x {p}, {nnz} stored, C = {c:g}, tol = 1e-6:")
    binary_fits(X, y, c, 500, objective)


if sys.argv[1] == "--sparse":
    sparse_peer(sys.argv[2])
    sys.exit(0)

if sys.argv[1] == "--lasso-path":
    lasso_path_peer(sys.argv[2])
    sys.exit(0)

if sys.argv[1] == "--multinomial":
    multinomial(sys.argv[2])
    sys.exit(0)

N, P = 5_000_000, 20
C = 1e6

raw = np.fromfile(sys.argv[1], dtype="<f8")
X = raw[: N * P].reshape(N, P)
y = raw[N * P :]
assert y.shape == (N,)


def objective(coef, intercept):
    z = X @ coef + intercept
    loss = np.logaddexp(0, z) - y * z
    return loss.mean() + coef @ coef / (2 * C * N)


print(f"scikit-learn, {N} x {P}, C = {C:g}, tol = 1e-6:")
binary_fits(X, y, C, 200, objective)

try:
    import dask.array as da
    from dask_glm.estimators import LogisticRegression as DLR

    Xd = da.from_array(X, chunks=(500_000, P))
    yd = da.from_array(y, chunks=500_000)
    t0 = time.perf_counter()
    m = DLR(solver="newton", regularizer="l2", lamduh=0.0).fit(Xd, yd)
    t = time.perf_counter() - t0
    print(f"  dask-glm newton   {t:7.3f} s  objective {objective(np.asarray(m.coef_), m.intercept_):.10f}")
except Exception as e:  # dask-glm is optional here
    print(f"  dask-glm: not run ({type(e).__name__}: {str(e)[:100]})")
