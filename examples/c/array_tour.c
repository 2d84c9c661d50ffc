/*
 * A tour of libdask's arrays (dask.array) from C.
 *
 *   x = random((2000, 1000), chunks=(500, 500))
 *   y = x.copy(); y[x < 0.9] = 0;  count_nonzero(y)
 *   exp(y).sum(),  x.sum(),  x.mean(axis=0),  x.max()
 *   (y @ y.T).sum(),  (y @ y.T)[:4, :4]
 *
 * Every result is checked against a plain C loop over the computed data (copied out once
 * with dask_array_compute_into); the program exits with status 1 on any mismatch.
 * Needs only libdask (no libm: the reference exp is computed here).
 *
 * Runs on the embedded thread pool, or on the cluster at DASK_SCHEDULER_ADDRESS when that is
 * set, as `libdask local-cluster -- array_tour` and `libdask slurm ... -- array_tour` do.
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 2000
#define COLS 1000
#define BLOCK 500

static dask_client *client;
static int failures;

static void die(const char *what, dask_status st) {
    fprintf(stderr, "%s failed: %s: %s\n", what, dask_status_name(st), dask_last_error_message());
    exit(2);
}
#define TRY(call)                                                                                      \
    do {                                                                                               \
        dask_status st_ = (call);                                                                      \
        if (st_ != DASK_OK) die(#call, st_);                                                           \
    } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* exp without libm: x = k ln2 + r, a Taylor series for e^r, times 2^k (|x| < 700). */
static double ref_exp(double x) {
    const double ln2 = 0.69314718055994530942;
    double kf = x / ln2;
    long k = (long)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = x - (double)k * ln2, term = 1.0, sum = 1.0;
    for (int i = 1; i < 30; ++i) {
        term *= r / i;
        sum += term;
    }
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return sum * scale;
}

static bool close_to(double got, double want, double rtol) {
    double d = got - want, m = want < 0 ? -want : want;
    if (d < 0) d = -d;
    return d <= rtol * m + 1e-300;
}

/* Prints one result line with its check (`rtol` 0: exact; counts print without decimals). */
static void report(const char *what, double got, double want, double rtol, double seconds) {
    bool ok = close_to(got, want, rtol);
    if (!ok) ++failures;
    int prec = rtol == 0 && got == (double)(int64_t)got ? 0 : 6;
    const char *verdict = ok ? "ok" : "MISMATCH";
    printf("  %-36s %17.*f   C loop %17.*f   ", what, prec, got, prec, want);
    if (seconds > 0)
        printf("%-8s %6.1f ms\n", verdict, seconds * 1e3);
    else
        printf("%s\n", verdict);
}

/* A 0-d array's value as a double (an int64 result is converted on the way). */
static double scalar(const dask_array *a) {
    double x = 0;
    TRY(dask_array_compute_into(client, a, DASK_FLOAT64, &x, sizeof x));
    return x;
}

static dask_array *reduce_all(const dask_array *x, dask_reduce_op op) {
    dask_array *r = NULL;
    TRY(dask_array_reduce(x, op, NULL, 0, false, 0.0, 0, &r));
    return r;
}

static dask_array *ufunc2(const char *name, dask_operand a, dask_operand b) {
    dask_ufunc *u = NULL;
    TRY(dask_ufunc_lookup(name, &u));
    dask_operand args[2] = {a, b};
    dask_array *r = NULL;
    TRY(dask_ufunc_call(u, args, 2, &r));
    dask_ufunc_free(u);
    return r;
}

static dask_operand arr(const dask_array *a) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    o.kind = DASK_OPERAND_ARRAY;
    o.array = a;
    return o;
}

static dask_operand num(double f) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    o.kind = DASK_OPERAND_FLOAT;
    o.f = f;
    return o;
}

int main(void) {
    TRY(dask_client_new_default(&client));
    size_t threads = 0;
    TRY(dask_client_threads(client, &threads));
    printf("libdask %s array tour (%zu worker threads)\n\n", dask_version(), threads);
    double t_all = now(), t;

    /* x = random((2000, 1000), chunks=(500, 500)) */
    size_t shape[2] = {ROWS, COLS}, chunks[2] = {BLOCK, BLOCK};
    dask_array *x = NULL;
    TRY(dask_array_random_uniform(2024, 0.0, 1.0, 2, shape, chunks, &x));
    size_t tasks = 0, nb0 = 0, nb1 = 0;
    TRY(dask_array_task_count(x, &tasks));
    TRY(dask_array_chunks(x, 0, NULL, 0, &nb0));
    TRY(dask_array_chunks(x, 1, NULL, 0, &nb1));
    printf("x = random((%d, %d), chunks=(%d, %d)): %zu x %zu blocks, %zu tasks, %.1f MB\n", ROWS, COLS, BLOCK,
           BLOCK, nb0, nb1, tasks, ROWS * COLS * 8.0 / 1e6);
    double *X = malloc(sizeof(double) * ROWS * COLS), *Y = malloc(sizeof(double) * ROWS * COLS);
    if (!X || !Y) return 2;
    t = now();
    TRY(dask_array_compute_into(client, x, DASK_FLOAT64, X, sizeof(double) * ROWS * COLS));
    printf("  computed into host memory in %.1f ms\n\n", (now() - t) * 1e3);

    /* y = x; y[x < 0.9] = 0 */
    dask_array *mask = ufunc2("less", arr(x), num(0.9));
    dask_operand zero = num(0.0);
    dask_array *y = NULL;
    TRY(dask_array_set_where(x, mask, &zero, &y));
    TRY(dask_array_compute_into(client, y, DASK_FLOAT64, Y, sizeof(double) * ROWS * COLS));
    size_t n = (size_t)ROWS * COLS, kept = 0, y_ok = 0;
    for (size_t i = 0; i < n; ++i) {
        kept += X[i] >= 0.9;
        y_ok += Y[i] == (X[i] < 0.9 ? 0.0 : X[i]);
    }
    printf("y = x; y[x < 0.9] = 0\n");
    report("y matches the C masking (elements)", (double)y_ok, (double)n, 0, 0);
    t = now();
    dask_array *nz = reduce_all(y, DASK_REDUCE_COUNT_NONZERO);
    double got = scalar(nz);
    report("count_nonzero(y)", got, (double)kept, 0, now() - t);

    /* exp(y).sum(): one fused task per block plus the combine */
    dask_ufunc *ex = NULL;
    TRY(dask_ufunc_lookup("exp", &ex));
    dask_operand yo = arr(y);
    dask_array *e = NULL;
    TRY(dask_ufunc_call(ex, &yo, 1, &e));
    dask_array *es = reduce_all(e, DASK_REDUCE_SUM);
    size_t es_tasks = 0;
    TRY(dask_array_task_count(es, &es_tasks));
    t = now();
    got = scalar(es);
    double dt = now() - t, want = 0;
    for (size_t i = 0; i < n; ++i) want += ref_exp(Y[i]);
    report("exp(y).sum()", got, want, 1e-9, dt);
    dask_array *s = reduce_all(x, DASK_REDUCE_SUM);
    size_t s_tasks = 0;
    TRY(dask_array_task_count(s, &s_tasks));
    printf("    (%zu tasks, as many as x.sum() has (%zu): the mask, the assignment and exp\n"
           "     fuse into the per-block sums)\n\n",
           es_tasks, s_tasks);

    /* reductions of x */
    printf("reductions of x\n");
    t = now();
    got = scalar(s);
    dt = now() - t;
    want = 0;
    for (size_t i = 0; i < n; ++i) want += X[i];
    report("x.sum()", got, want, 1e-9, dt);

    size_t axis0 = 0;
    dask_array *m0 = NULL;
    TRY(dask_array_reduce(x, DASK_REDUCE_MEAN, &axis0, 1, false, 0.0, 0, &m0));
    double *M0 = malloc(sizeof(double) * COLS), *W0 = calloc(COLS, sizeof(double));
    if (!M0 || !W0) return 2;
    t = now();
    TRY(dask_array_compute_into(client, m0, DASK_FLOAT64, M0, sizeof(double) * COLS));
    dt = now() - t;
    for (size_t i = 0; i < ROWS; ++i)
        for (size_t j = 0; j < COLS; ++j) W0[j] += X[i * COLS + j];
    size_t col_ok = 0;
    double first_got = M0[0], first_want = W0[0] / ROWS;
    for (size_t j = 0; j < COLS; ++j) col_ok += close_to(M0[j], W0[j] / ROWS, 1e-12);
    report("x.mean(axis=0): columns matching", (double)col_ok, (double)COLS, 0, dt);
    report("x.mean(axis=0)[0]", first_got, first_want, 1e-12, 0);

    t = now();
    dask_array *mx = reduce_all(x, DASK_REDUCE_MAX);
    got = scalar(mx);
    dt = now() - t;
    want = X[0];
    for (size_t i = 1; i < n; ++i)
        if (X[i] > want) want = X[i];
    report("x.max()", got, want, 0, dt);
    printf("\n");

    /* y @ y.T */
    printf("g = y @ y.T (%d x %d)\n", ROWS, ROWS);
    dask_array *yt = NULL, *g = NULL;
    TRY(dask_array_transpose(y, NULL, &yt));
    TRY(dask_array_matmul(y, yt, &g));
    dask_array *gs = reduce_all(g, DASK_REDUCE_SUM);
    t = now();
    got = scalar(gs);
    dt = now() - t;
    /* sum_ij (y y^T)_ij = sum_k (sum_i y_ik)^2 */
    for (size_t j = 0; j < COLS; ++j) W0[j] = 0;
    for (size_t i = 0; i < ROWS; ++i)
        for (size_t j = 0; j < COLS; ++j) W0[j] += Y[i * COLS + j];
    want = 0;
    for (size_t j = 0; j < COLS; ++j) want += W0[j] * W0[j];
    report("g.sum()", got, want, 1e-9, dt);

    dask_index corner[2];
    memset(corner, 0, sizeof corner);
    for (int k = 0; k < 2; ++k) {
        corner[k].kind = DASK_INDEX_SLICE;
        corner[k].has_stop = true;
        corner[k].stop = 4;
        corner[k].step = 1;
    }
    dask_array *gc = NULL;
    TRY(dask_array_slice(g, corner, 2, &gc));
    double G[16];
    t = now();
    TRY(dask_array_compute_into(client, gc, DASK_FLOAT64, G, sizeof G));
    dt = now() - t;
    size_t entries_ok = 0;
    double worst = 0;
    for (size_t i = 0; i < 4; ++i)
        for (size_t j = 0; j < 4; ++j) {
            double d = 0;
            for (size_t k = 0; k < COLS; ++k) d += Y[i * COLS + k] * Y[j * COLS + k];
            entries_ok += close_to(G[i * 4 + j], d, 1e-12);
            double diff = G[i * 4 + j] - d;
            if (diff < 0) diff = -diff;
            if (diff > worst) worst = diff;
        }
    report("g[:4, :4] entries matching", (double)entries_ok, 16, 0, dt);
    printf("    (largest difference from the C dot products: %.3g)\n\n", worst);

    dask_array *all[] = {x, mask, y, nz, e, es, s, m0, mx, yt, g, gs, gc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) dask_array_free(all[i]);
    dask_ufunc_free(ex);
    free(X);
    free(Y);
    free(M0);
    free(W0);
    dask_client_free(client);
    printf("%s (%.2f s in all)\n", failures ? "SOME RESULTS DIFFER FROM THE C LOOPS" : "every result matches the C loops",
           now() - t_all);
    return failures ? 1 : 0;
}
