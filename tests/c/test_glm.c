/*
 * GLMs through the C ABI, checked against plain C: least squares and ridge against the
 * normal equations solved here, the decision function against X·coef + intercept, the
 * versioned params and info structs, and every kind of bad input refused with a message.
 */
#include "harness.h"

#include <math.h>

#define N 2000
#define P 3

static dask_client *C;
static double X[N * P], Y[N];

static dask_array *array_of(const double *data, size_t ndim, const size_t *shape,
                            const size_t *chunks) {
    dask_value *v = NULL;
    dask_array *a = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, ndim, shape, data, &v));
    CHECK_OK(dask_array_from_value(v, chunks, &a));
    dask_value_free(v);
    return a;
}

/* Solves the q×q system a·x = b (Gaussian elimination, partial pivoting). */
static void solve(double *a, double *b, size_t q, double *x) {
    for (size_t c = 0; c < q; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < q; r++)
            if ((a[r * q + c] < 0 ? -a[r * q + c] : a[r * q + c]) >
                (a[piv * q + c] < 0 ? -a[piv * q + c] : a[piv * q + c]))
                piv = r;
        for (size_t k = 0; k < q; k++) {
            double t = a[c * q + k];
            a[c * q + k] = a[piv * q + k];
            a[piv * q + k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (size_t r = c + 1; r < q; r++) {
            double f = a[r * q + c] / a[c * q + c];
            for (size_t k = c; k < q; k++) a[r * q + k] -= f * a[c * q + k];
            b[r] -= f * b[c];
        }
    }
    for (size_t r = q; r-- > 0;) {
        double s = b[r];
        for (size_t k = r + 1; k < q; k++) s -= a[r * q + k] * x[k];
        x[r] = s / a[r * q + r];
    }
}

/* Ridge (lambda on the coefficients, not the intercept) by its normal equations. */
static void ridge_on(const double *X, double lambda, double *out) {
    double a[(P + 1) * (P + 1)] = {0}, b[P + 1] = {0};
    for (size_t r = 0; r < N; r++) {
        double z[P + 1];
        for (size_t j = 0; j < P; j++) z[j] = X[r * P + j];
        z[P] = 1.0;
        for (size_t i = 0; i <= P; i++) {
            b[i] += z[i] * Y[r];
            for (size_t j = 0; j <= P; j++) a[i * (P + 1) + j] += z[i] * z[j];
        }
    }
    for (size_t j = 0; j < P; j++) a[j * (P + 1) + j] += lambda;
    solve(a, b, P + 1, out);
}

static void ridge_direct(double lambda, double *out) { ridge_on(X, lambda, out); }

static double fabs_(double x) { return x < 0 ? -x : x; }

int main(void) {
    CHECK_OK(dask_client_new_default(&C));
    uint64_t s = 42;
    for (size_t r = 0; r < N; r++) {
        double eta = 0.25;
        for (size_t j = 0; j < P; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            X[r * P + j] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
            eta += (0.5 - (double)j * 0.4) * X[r * P + j];
        }
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        Y[r] = eta + ((double)(s >> 11) / 9007199254740992.0 - 0.5);
    }
    size_t xs_shape[2] = {N, P}, xc[2] = {512, P}, ys[1] = {N}, yc[1] = {512};
    dask_array *x = array_of(X, 2, xs_shape, xc), *y = array_of(Y, 1, ys, yc);

    /* Least squares and ridge (lambda, then the same strength as C) equal the direct solve. */
    const char *solvers[] = {"newton", "lbfgs", "admm"};
    for (int pen = 0; pen < 3; pen++) {
        for (size_t k = 0; k < 3; k++) {
            dask_glm_params p;
            CHECK_OK(dask_glm_params_init(&p, sizeof p));
            p.family = "gaussian";
            p.solver = solvers[k];
            p.tol = k == 2 ? 1e-9 : 1e-11;
            p.max_iter = 2000;
            double lambda = 0.0;
            if (pen == 1) {
                p.penalty = "l2", p.lambda = lambda = 80.0;
            } else if (pen == 2) {
                p.penalty = "l2", p.C = 1.0 / 80.0, lambda = 80.0;
            }
            dask_glm_model *m = NULL;
            if (!CHECK_OK(dask_glm_fit(C, &p, x, y, NULL, &m))) continue;
            double want[P + 1], coef[P], b0 = 0;
            ridge_direct(lambda, want);
            size_t n = 0;
            CHECK_OK(dask_glm_n_features(m, &n));
            CHECK(n == P, "%zu features", n);
            CHECK_OK(dask_glm_coef(m, coef, P, &b0));
            for (size_t j = 0; j < P; j++)
                CHECK(fabs_(coef[j] - want[j]) < 1e-6, "%s pen %d coef %zu: %g vs %g", solvers[k],
                      pen, j, coef[j], want[j]);
            CHECK(fabs_(b0 - want[P]) < 1e-6, "intercept %g vs %g", b0, want[P]);
            dask_glm_info info;
            CHECK_OK(dask_glm_fit_info(m, &info, sizeof info));
            CHECK(info.struct_size == sizeof info && info.converged && info.passes > 0 &&
                      info.kkt_residual <= p.tol,
                  "info: %u %u %llu %g", info.struct_size, info.converged,
                  (unsigned long long)info.passes, info.kkt_residual);

            /* The decision function is X·coef + intercept, row by row. */
            dask_array *d = NULL;
            if (CHECK_OK(dask_glm_predict(m, DASK_GLM_DECISION_FUNCTION, x, &d))) {
                static double got[N];
                CHECK_OK(dask_array_compute_into(C, d, DASK_FLOAT64, got, sizeof got));
                double worst = 0;
                for (size_t r = 0; r < N; r++) {
                    double f = b0;
                    for (size_t j = 0; j < P; j++) f += X[r * P + j] * coef[j];
                    if (fabs_(got[r] - f) > worst) worst = fabs_(got[r] - f);
                }
                CHECK(worst < 1e-12, "decision function off by %g", worst);
            }
            dask_array_free(d);
            double r2 = 0;
            CHECK_OK(dask_glm_score(C, m, x, y, &r2));
            CHECK(r2 > 0.5 && r2 < 1.0, "R² %g", r2);
            double classes[2];
            CHECK_ERR(dask_glm_classes(m, classes, 2), DASK_ERR_INVALID_ARGUMENT);
            CHECK_ERR(dask_glm_coef(m, coef, P - 1, NULL), DASK_ERR_SHAPE);
            dask_glm_model_free(m);
        }
    }

    /* A binary classifier: labels 3 and 5 (Y above 0.25), kept in increasing order; the
     * coefficients are one row (the log-odds of 5); predict_proba's columns are 1 - p and p
     * with p the logistic function of the decision function. */
    {
        static double L[N], got[N * 2], eta[N];
        for (size_t r = 0; r < N; r++) L[r] = Y[r] > 0.25 ? 5.0 : 3.0;
        dask_array *l = array_of(L, 1, ys, yc), *pr = NULL, *d = NULL;
        dask_glm_model *m = NULL;
        if (CHECK_OK(dask_glm_fit(C, NULL, x, l, NULL, &m))) {
            size_t k = 0;
            double classes[2] = {0}, coef[P], b0[1];
            CHECK_OK(dask_glm_n_classes(m, &k));
            CHECK(k == 2, "%zu classes", k);
            CHECK_OK(dask_glm_classes(m, classes, 2));
            CHECK(classes[0] == 3.0 && classes[1] == 5.0, "classes %g %g", classes[0], classes[1]);
            CHECK_ERR(dask_glm_classes(m, classes, 3), DASK_ERR_SHAPE);
            CHECK_OK(dask_glm_coef(m, coef, P, b0));
            CHECK(coef[0] > 0 && coef[2] < 0, "coef %g %g %g", coef[0], coef[1], coef[2]);
            CHECK_OK(dask_glm_predict(m, DASK_GLM_PREDICT_PROBA, x, &pr));
            CHECK_OK(dask_glm_predict(m, DASK_GLM_DECISION_FUNCTION, x, &d));
            CHECK_OK(dask_array_compute_into(C, pr, DASK_FLOAT64, got, sizeof got));
            CHECK_OK(dask_array_compute_into(C, d, DASK_FLOAT64, eta, sizeof eta));
            double worst = 0;
            for (size_t r = 0; r < N; r++) {
                double f = b0[0];
                for (size_t j = 0; j < P; j++) f += X[r * P + j] * coef[j];
                double p1 = 1.0 / (1.0 + exp(-f));
                double e = fabs_(got[2 * r + 1] - p1) + fabs_(got[2 * r] - (1.0 - p1)) +
                           fabs_(eta[r] - f);
                if (e > worst) worst = e;
            }
            CHECK(worst < 1e-12, "probabilities off by %g", worst);
        }
        dask_array_free(pr);
        dask_array_free(d);
        dask_array_free(l);
        dask_glm_model_free(m);
    }

    /* Three classes: a multinomial model, one row of coefficients and one intercept per
     * class; predict_proba is the softmax of the decision function, computed here. */
    {
        static double L[N], got[N * 3];
        for (size_t r = 0; r < N; r++) L[r] = Y[r] < -0.3 ? 1.0 : Y[r] < 0.6 ? 2.0 : 4.0;
        dask_array *l = array_of(L, 1, ys, yc), *pr = NULL;
        dask_glm_model *m = NULL;
        if (CHECK_OK(dask_glm_fit(C, NULL, x, l, NULL, &m))) {
            size_t k = 0;
            double classes[3], coef[3 * P], b[3];
            CHECK_OK(dask_glm_n_classes(m, &k));
            CHECK(k == 3, "%zu classes", k);
            CHECK_OK(dask_glm_classes(m, classes, 3));
            CHECK(classes[0] == 1.0 && classes[1] == 2.0 && classes[2] == 4.0, "classes");
            CHECK_ERR(dask_glm_coef(m, coef, P, b), DASK_ERR_SHAPE);
            CHECK_OK(dask_glm_coef(m, coef, 3 * P, b));
            CHECK_OK(dask_glm_predict(m, DASK_GLM_PREDICT_PROBA, x, &pr));
            CHECK_OK(dask_array_compute_into(C, pr, DASK_FLOAT64, got, sizeof got));
            double worst = 0;
            for (size_t r = 0; r < N; r++) {
                double s[3], total = 0;
                for (size_t c = 0; c < 3; c++) {
                    s[c] = b[c];
                    for (size_t j = 0; j < P; j++) s[c] += X[r * P + j] * coef[c * P + j];
                    total += exp(s[c]);
                }
                for (size_t c = 0; c < 3; c++) {
                    double e = fabs_(got[3 * r + c] - exp(s[c]) / total);
                    if (e > worst) worst = e;
                }
            }
            CHECK(worst < 1e-12, "multinomial probabilities off by %g", worst);
            dask_glm_params p;
            CHECK_OK(dask_glm_params_init(&p, sizeof p));
            p.solver = "newton";
            dask_glm_model *none = NULL;
            CHECK_ERR(dask_glm_fit(C, &p, x, l, NULL, &none), DASK_ERR_INVALID_ARGUMENT);
            CHECK(strstr(dask_last_error_message(), "lbfgs") != NULL, "%s",
                  dask_last_error_message());
        }
        dask_array_free(pr);
        dask_array_free(l);
        dask_glm_model_free(m);
    }

    /* A sparse X (half its entries zero, chunked COO blocks): least squares equals the
     * direct solve on the same numbers. */
    {
        static double XS[N * P];
        for (size_t i = 0; i < N * P; i++) XS[i] = (i * 7 + i / 5) % 2 ? X[i] : 0.0;
        dask_value *v = NULL;
        dask_array *whole = NULL, *xs = NULL;
        dask_glm_model *m = NULL;
        CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, xs_shape, XS, &v));
        CHECK_OK(dask_sparse_from_dense(v, 0.0, &whole));
        CHECK_OK(dask_array_rechunk(whole, xc, &xs));
        dask_glm_params p;
        CHECK_OK(dask_glm_params_init(&p, sizeof p));
        p.family = "gaussian", p.solver = "newton", p.tol = 1e-11;
        if (CHECK_OK(dask_glm_fit(C, &p, xs, y, NULL, &m))) {
            double want[P + 1], coef[P], b0;
            ridge_on(XS, 0.0, want);
            CHECK_OK(dask_glm_coef(m, coef, P, &b0));
            for (size_t j = 0; j < P; j++)
                CHECK(fabs_(coef[j] - want[j]) < 1e-6, "sparse coef %zu: %g vs %g", j, coef[j],
                      want[j]);
            CHECK(fabs_(b0 - want[P]) < 1e-6, "sparse intercept %g vs %g", b0, want[P]);
        }
        dask_glm_model_free(m);
        dask_array_free(xs);
        dask_array_free(whole);
        dask_value_free(v);
    }

    /* Bad input. */
    dask_glm_model *m = NULL;
    dask_glm_params p;
    CHECK_OK(dask_glm_params_init(&p, sizeof p));
    /* NULL params: logistic regression, and a continuous y has too many classes (found
     * where y's blocks are read: a task error naming it). */
    CHECK_ERR(dask_glm_fit(C, NULL, x, y, NULL, &m), DASK_ERR_TASK);
    CHECK(strstr(dask_last_error_message(), "labels") || strstr(dask_last_error_message(), "classes"),
          "%s", dask_last_error_message());
    p.family = "gamma";
    CHECK_ERR(dask_glm_fit(C, &p, x, y, NULL, &m), DASK_ERR_INVALID_ARGUMENT);
    CHECK(strstr(dask_last_error_message(), "gamma") != NULL, "%s", dask_last_error_message());
    p.family = "gaussian", p.penalty = "l1", p.solver = "newton", p.lambda = 1.0;
    CHECK_ERR(dask_glm_fit(C, &p, x, y, NULL, &m), DASK_ERR_INVALID_ARGUMENT);
    CHECK(strstr(dask_last_error_message(), "proximal_grad") != NULL, "%s",
          dask_last_error_message());
    p.penalty = "l2", p.C = 2.0;
    CHECK_ERR(dask_glm_fit(C, &p, x, y, NULL, &m), DASK_ERR_INVALID_ARGUMENT);
    CHECK(strstr(dask_last_error_message(), "not both") != NULL, "%s", dask_last_error_message());
    dask_glm_params_init(&p, sizeof p);
    p.family = "gaussian";
    CHECK_ERR(dask_glm_fit(C, &p, x, x, NULL, &m), DASK_ERR_SHAPE);
    CHECK_ERR(dask_glm_fit(NULL, &p, x, y, NULL, &m), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_glm_fit(C, &p, x, y, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    p.struct_size = 3;
    CHECK_ERR(dask_glm_fit(C, &p, x, y, NULL, &m), DASK_ERR_INVALID_ARGUMENT);
    CHECK(m == NULL, "no model on failure");
    dask_glm_model_free(NULL);

    dask_array_free(x);
    dask_array_free(y);
    dask_client_free(C);
    return test_finish();
}
