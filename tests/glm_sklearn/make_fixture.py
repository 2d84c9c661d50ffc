"""Makes the scikit-learn fixture of tests/glm_sklearn.rs: small data sets (CSV) and the
coefficients scikit-learn fits to them (expected.csv), so the GLM suite compares against
scikit-learn without Python at test time. Run once; the outputs are committed.

    python3 -m venv /tmp/skvenv && /tmp/skvenv/bin/pip install scikit-learn
    /tmp/skvenv/bin/python tests/glm_sklearn/make_fixture.py

Each case states its strength in scikit-learn's terms and, in `lambda`, in libdask's
(objective `sum(loss) + lambda * R(beta)`; written for scikit-learn 1.8's LogisticRegression,
where `C=np.inf` means no penalty and `l1_ratio=1` the L1 one): LogisticRegression's C is 1/lambda; the
regressors' `alpha` is on the mean loss, so lambda = alpha * n (Ridge: its loss is the plain
sum of squares, twice libdask's, so lambda = alpha).
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression,
                                  PoissonRegressor, Ridge)

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2017)
N, P = 400, 4


def write_data(name, x, y):
    with open(os.path.join(HERE, f"{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(x.shape[1])] + ["y"])
        for row, t in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [repr(float(t))])


x = rng.normal(size=(N, P)) * np.array([1.0, 0.5, 2.0, 1.5])
beta = np.array([0.8, -1.2, 0.3, 0.0])
eta = 0.4 + x @ beta
y_bin = (rng.random(N) < 1 / (1 + np.exp(-eta))).astype(float)
scores = np.stack([0.3 * x[:, 0] - x[:, 1], 0.2 + 0.5 * x[:, 2], -0.4 * x[:, 3] + 0.1 * x[:, 0]], 1)
prob = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
y_multi = np.array([[-1.0, 2.0, 5.0][rng.choice(3, p=p)] for p in prob])
y_pois = rng.poisson(np.exp(0.2 + 0.3 * x @ beta)).astype(float)
y_gauss = 1.5 + x @ beta + rng.normal(scale=0.7, size=N)
write_data("binary", x, y_bin)
write_data("multiclass", x, y_multi)
write_data("counts", x, y_pois)
write_data("gaussian", x, y_gauss)

tight = dict(tol=1e-12, max_iter=100000)
cases = []  # (case, data, family, penalty, lambda, l1_ratio, estimator)
cases.append(("logistic_l2", "binary", "binomial", "l2", 1 / 0.5, 0.5,
              LogisticRegression(C=0.5, **tight)))
cases.append(("logistic_none", "binary", "binomial", "none", 0.0, 0.5,
              LogisticRegression(C=np.inf, **tight)))
cases.append(("logistic_l1", "binary", "binomial", "l1", 1 / 0.05, 0.5,
              LogisticRegression(l1_ratio=1.0, C=0.05, solver="saga", **tight)))
cases.append(("multinomial_l2", "multiclass", "binomial", "l2", 1 / 0.3, 0.5,
              LogisticRegression(C=0.3, **tight)))
cases.append(("poisson_l2", "counts", "poisson", "l2", 0.01 * N, 0.5,
              PoissonRegressor(alpha=0.01, **tight)))
cases.append(("ols", "gaussian", "gaussian", "none", 0.0, 0.5, LinearRegression()))
cases.append(("ridge", "gaussian", "gaussian", "l2", 25.0, 0.5, Ridge(alpha=25.0)))
cases.append(("lasso", "gaussian", "gaussian", "l1", 0.1 * N, 0.5,
              Lasso(alpha=0.1, **tight)))
cases.append(("elasticnet", "gaussian", "gaussian", "elasticnet", 0.1 * N, 0.3,
              ElasticNet(alpha=0.1, l1_ratio=0.3, **tight)))

data = {"binary": y_bin, "multiclass": y_multi, "counts": y_pois, "gaussian": y_gauss}
with open(os.path.join(HERE, "expected.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case", "data", "family", "penalty", "lambda", "l1_ratio", "row",
                "intercept"] + [f"coef{j}" for j in range(P)])
    for case, name, fam, pen, lam, l1, est in cases:
        est.fit(x, data[name])
        coef = np.atleast_2d(est.coef_)
        icpt = np.atleast_1d(est.intercept_)
        for r in range(coef.shape[0]):
            w.writerow([case, name, fam, pen, repr(float(lam)), repr(l1), r,
                        repr(float(icpt[r]))] + [repr(float(v)) for v in coef[r]])
print(f"scikit-learn {sklearn.__version__}: wrote {len(cases)} cases to {HERE}")
