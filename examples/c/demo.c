/*
 * libdask flagship demo (the embedded default: a local thread pool).
 *
 * 1. Wraps a 256 MB host array without copying and scatters it once.
 * 2. Maps a C function over 4,096 chunk indices of that shared array (joblib's `scatter=`
 *    pattern) with a progress bar, then reduces the partial sums with a task graph.
 * 3. Checks the result against a sequential loop and prints both times.
 * 4. Shows what a failing task looks like: its dependents fail with the original message.
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N (32u * 1024u * 1024u) /* 32 Mi doubles = 256 MB */
#define CHUNKS 4096u

static void die(const char *what, dask_status st) {
    fprintf(stderr, "%s failed: %s: %s\n", what, dask_status_name(st), dask_last_error_message());
    exit(1);
}
#define TRY(call) do { dask_status st_ = (call); if (st_ != DASK_OK) die(#call, st_); } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The per-chunk work: sum of sqrt(|x|) over chunk `i` of the shared array. */
static double chunk_sum(const double *x, size_t n, size_t i) {
    size_t lo = n / CHUNKS * i, hi = i + 1 == CHUNKS ? n : n / CHUNKS * (i + 1);
    double s = 0.0;
    for (size_t k = lo; k < hi; ++k) s += sqrt(fabs(x[k]));
    return s;
}

static int32_t chunk_op(void *ctx, const dask_value *const *in, size_t n_in, dask_value **out) {
    (void)ctx;
    int64_t i;
    dask_buffer_view v;
    if (n_in != 2 || dask_value_as_i64(in[0], &i) != DASK_OK || dask_value_buffer(in[1], &v, sizeof v) != DASK_OK) {
        dask_error_set("chunk_op takes (index, shared float64 array)");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    return dask_value_from_f64(chunk_sum(v.data, v.len, (size_t)i), out);
}

static int32_t checked_log(void *ctx, const dask_value *const *in, size_t n_in, dask_value **out) {
    (void)ctx;
    double x;
    if (n_in != 1 || dask_value_as_f64(in[0], &x) != DASK_OK) return DASK_ERR_INVALID_ARGUMENT;
    if (x <= 0) {
        dask_error_set("log of a non-positive number");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    return dask_value_from_f64(log(x), out);
}

static void progress_bar(void *ctx, size_t done, size_t total) {
    const char *label = ctx;
    int width = 40, filled = (int)(width * done / (total ? total : 1));
    static int tty = -1;
    if (tty < 0) tty = isatty(2);
    if (!tty && done != total && done * 10 % total >= 10) return; /* logs: ~every 10% */
    fprintf(stderr, "\r%-10s [", label);
    for (int k = 0; k < width; ++k) fputc(k < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %zu/%zu%s", done, total, done == total || !tty ? "\n" : "");
    fflush(stderr);
}

static void release_array(void *ctx) { free(ctx); }

int main(void) {
    dask_client *client;
    TRY(dask_client_new(NULL, &client));
    size_t threads;
    TRY(dask_client_threads(client, &threads));
    printf("libdask %s demo: local thread pool with %zu threads\n", dask_version(), threads);
    fflush(stdout);

    /* 1. A host array, lent to the library without a copy; freed when the library is done. */
    double *x = malloc((size_t)N * sizeof *x);
    if (!x) return 1;
    uint64_t s = 88172645463325252ull;
    for (size_t k = 0; k < N; ++k) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[k] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
    }
    size_t shape[1] = {N};
    dask_value *array;
    TRY(dask_value_wrap_buffer(DASK_FLOAT64, 1, shape, NULL, x, (size_t)N * sizeof *x,
                               release_array, x, &array));
    dask_future *shared;
    TRY(dask_client_scatter(client, array, &shared));
    dask_value_free(array);

    /* 2. map over chunk indices with the shared array, then a tree reduction graph. */
    dask_op_id chunk, sum, logop;
    TRY(dask_op_register("demo.chunk_sum", chunk_op, NULL, 0, &chunk));
    TRY(dask_op_register("demo.checked_log", checked_log, NULL, 0, &logop));
    TRY(dask_op_lookup("sum", &sum));
    dask_value *items[CHUNKS];
    for (size_t i = 0; i < CHUNKS; ++i) TRY(dask_value_from_i64((int64_t)i, &items[i]));
    dask_future *parts[CHUNKS];
    const dask_future *shared_list[1] = {shared};
    double t0 = now();
    TRY(dask_client_map(client, chunk, (const dask_value *const *)items, CHUNKS, shared_list, 1,
                        progress_bar, "map", parts));
    dask_graph *g;
    TRY(dask_graph_new(&g));
    size_t level[CHUNKS], n = CHUNKS;
    for (size_t i = 0; i < n; ++i) {
        dask_arg a = {.kind = DASK_ARG_FUTURE, .future = parts[i]};
        TRY(dask_graph_add_task(g, NULL, sum, &a, 1, &level[i]));
    }
    while (n > 1) { /* pairwise sums, like dask.array's tree reductions */
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2) {
            dask_arg a[2] = {{.kind = DASK_ARG_TASK, .task = level[i]},
                             {.kind = DASK_ARG_TASK, .task = level[i + 1 < n ? i + 1 : i]}};
            TRY(dask_graph_add_task(g, NULL, sum, a, i + 1 < n ? 2 : 1, &level[m++]));
        }
        n = m;
    }
    dask_future *total;
    TRY(dask_client_compute(client, g, &level[0], 1, &total));
    dask_value *result;
    TRY(dask_future_result(total, -1.0, &result));
    double parallel;
    TRY(dask_value_as_f64(result, &parallel));
    double t_par = now() - t0;

    /* 3. The same computation, sequentially, as a check. */
    t0 = now();
    double sequential = 0.0;
    for (size_t i = 0; i < CHUNKS; ++i) sequential += chunk_sum(x, N, i);
    double t_seq = now() - t0;
    printf("sum of sqrt|x| over %u doubles in %u chunks: %.6f (sequential %.6f)\n", N, CHUNKS,
           parallel, sequential);
    printf("libdask: %.3f s   sequential loop: %.3f s   speed-up %.2fx\n", t_par, t_seq, t_seq / t_par);
    int ok = fabs(parallel - sequential) <= 1e-9 * fabs(sequential);
    printf("result matches the sequential loop: %s\n", ok ? "yes" : "NO");

    /* 4. A failing task: its dependents fail with the original message and key. */
    dask_graph *g2;
    TRY(dask_graph_new(&g2));
    dask_value *minus_one;
    TRY(dask_value_from_f64(-1.0, &minus_one));
    dask_arg la = {.kind = DASK_ARG_VALUE, .value = minus_one};
    TRY(dask_graph_add_task(g2, "log-of-minus-one", logop, &la, 1, NULL));
    dask_arg da = {.kind = DASK_ARG_KEY, .key = "log-of-minus-one"};
    size_t downstream;
    TRY(dask_graph_add_task(g2, "downstream", sum, &da, 1, &downstream));
    dask_future *bad;
    TRY(dask_client_compute(client, g2, &downstream, 1, &bad));
    dask_value *none = NULL;
    dask_status st = dask_future_result(bad, -1.0, &none);
    printf("a failing task: %s: %s\n", dask_status_name(st), dask_last_error_message());

    for (size_t i = 0; i < CHUNKS; ++i) {
        dask_value_free(items[i]);
        dask_future_free(parts[i]);
    }
    dask_value_free(result);
    dask_value_free(minus_one);
    dask_future_free(total);
    dask_future_free(bad);
    dask_future_free(shared);
    dask_graph_free(g);
    dask_graph_free(g2);
    dask_client_free(client);
    return ok && st == DASK_ERR_TASK ? 0 : 1;
}
