/*
 * Logistic regression from C on the embedded pool: 1,000,000 rows × 8 features drawn with
 * known coefficients, fitted by newton over 10 row blocks, then the recovered coefficients
 * next to the true ones, the fit's diagnostics, the accuracy, and class probabilities.
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 1000000u
#define P 8u

static void die(const char *what, dask_status st) {
    fprintf(stderr, "%s failed: %s: %s\n", what, dask_status_name(st), dask_last_error_message());
    exit(1);
}
#define TRY(call) do { dask_status st_ = (call); if (st_ != DASK_OK) die(#call, st_); } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15u;
static double uniform(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static dask_array *array_over(double *data, size_t ndim, const size_t *shape, const size_t *chunks) {
    dask_value *v = NULL;
    dask_array *a = NULL;
    TRY(dask_value_copy_buffer(DASK_FLOAT64, ndim, shape, data, &v));
    TRY(dask_array_from_value(v, chunks, &a));
    dask_value_free(v);
    return a;
}

int main(void) {
    static const double truth[P] = {1.5, -2.0, 0.5, 0.0, 0.8, -0.3, 0.0, 1.1};
    const double truth_b0 = -0.4;
    double *x = malloc(sizeof(double) * N * P), *y = malloc(sizeof(double) * N);
    if (x == NULL || y == NULL) return 1;
    for (size_t r = 0; r < N; r++) {
        double eta = truth_b0;
        for (size_t j = 0; j < P; j++) {
            x[r * P + j] = uniform() * 2.0 - 1.0;
            eta += truth[j] * x[r * P + j];
        }
        y[r] = uniform() < 1.0 / (1.0 + exp(-eta)) ? 1.0 : 0.0;
    }
    dask_client *client = NULL;
    TRY(dask_client_new_default(&client));
    size_t xs[2] = {N, P}, xc[2] = {N / 10, P}, ys[1] = {N}, yc[1] = {N / 10};
    dask_array *X = array_over(x, 2, xs, xc), *Y = array_over(y, 1, ys, yc);

    dask_glm_params params;
    TRY(dask_glm_params_init(&params, sizeof params));
    params.family = "binomial";
    params.solver = "newton";
    params.penalty = "none";
    params.tol = 1e-8;
    double t0 = now();
    dask_glm_model *model = NULL;
    TRY(dask_glm_fit(client, &params, X, Y, NULL, &model));
    double t = now() - t0;

    double coef[P], b0;
    dask_glm_info info;
    TRY(dask_glm_coef(model, coef, P, &b0));
    TRY(dask_glm_fit_info(model, &info, sizeof info));
    printf("logistic regression, %u x %u, newton: %.3f s, %llu iterations, %llu passes, "
           "converged %s, objective %.6f\n",
           N, P, t, (unsigned long long)info.n_iter, (unsigned long long)info.passes,
           info.converged ? "yes" : "no", info.objective);
    printf("  %-10s %9s %9s\n", "", "fitted", "true");
    for (size_t j = 0; j < P; j++) printf("  coef[%zu]    %9.4f %9.4f\n", j, coef[j], truth[j]);
    printf("  intercept  %9.4f %9.4f\n", b0, truth_b0);

    double acc = 0;
    TRY(dask_glm_score(client, model, X, Y, &acc));
    printf("  accuracy on the training rows: %.4f\n", acc);
    dask_array *proba = NULL;
    TRY(dask_glm_predict(model, DASK_GLM_PREDICT_PROBA, X, &proba));
    double *p = malloc(sizeof(double) * N * 2);
    if (p == NULL) return 1;
    TRY(dask_array_compute_into(client, proba, DASK_FLOAT64, p, sizeof(double) * N * 2));
    printf("  P(y = 0), P(y = 1) of the first rows:");
    for (size_t r = 0; r < 3; r++) printf(" (%.3f, %.3f)", p[2 * r], p[2 * r + 1]);
    printf("\n");

    /* The fit recovers the truth: every coefficient within 0.05 of it. */
    int ok = info.converged;
    for (size_t j = 0; j < P; j++) ok &= fabs(coef[j] - truth[j]) < 0.05;
    free(p);
    free(x);
    free(y);
    dask_array_free(proba);
    dask_array_free(X);
    dask_array_free(Y);
    dask_glm_model_free(model);
    dask_client_free(client);
    if (!ok) {
        fprintf(stderr, "the fitted coefficients are not close to the true ones\n");
        return 1;
    }
    return 0;
}
