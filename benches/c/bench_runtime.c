/*
 * Runtime overhead through the C API (graph construction included in every timing).
 * Reproduce: `make bench-c` (or `make bench`). Best of 7 repetitions.
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define REPS 7
#define CHECK(call) do { dask_status st_ = (call); if (st_ != DASK_OK) { \
    fprintf(stderr, "%s: %s\n", #call, dask_last_error_message()); exit(1); } } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static dask_client *client;
static dask_op_id noop, read_byte;

/* Reads one byte of the shared bytes value: constant work whatever the shared size. */
static int32_t read_byte_op(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    int64_t i;
    const void *data;
    size_t len;
    if (n != 2 || dask_value_as_i64(in[0], &i) != DASK_OK || dask_value_bytes(in[1], &data, &len) != DASK_OK)
        return DASK_ERR_INVALID_ARGUMENT;
    return dask_value_from_i64(((const unsigned char *)data)[(size_t)i % len], out);
}

static void free_all(dask_future **fs, size_t n) {
    for (size_t i = 0; i < n; ++i) dask_future_free(fs[i]);
}

static double independent(size_t n) {
    size_t *ids = malloc(n * sizeof *ids);
    dask_future **fs = malloc(n * sizeof *fs);
    double t0 = now();
    dask_graph *g;
    CHECK(dask_graph_new(&g));
    for (size_t i = 0; i < n; ++i) CHECK(dask_graph_add_task(g, NULL, noop, NULL, 0, &ids[i]));
    CHECK(dask_client_compute(client, g, ids, n, fs));
    CHECK(dask_wait_all((const dask_future *const *)fs, n, -1.0));
    double t = now() - t0;
    free_all(fs, n);
    dask_graph_free(g);
    free(ids);
    free(fs);
    return t;
}

static double tree(size_t leaves, size_t *tasks) {
    size_t *level = malloc(leaves * sizeof *level);
    double t0 = now();
    dask_graph *g;
    CHECK(dask_graph_new(&g));
    size_t n = leaves;
    *tasks = leaves;
    for (size_t i = 0; i < n; ++i) CHECK(dask_graph_add_task(g, NULL, noop, NULL, 0, &level[i]));
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2) {
            dask_arg a[2] = {{.kind = DASK_ARG_TASK, .task = level[i]},
                             {.kind = DASK_ARG_TASK, .task = i + 1 < n ? level[i + 1] : level[i]}};
            CHECK(dask_graph_add_task(g, NULL, noop, a, i + 1 < n ? 2 : 1, &level[m++]));
        }
        *tasks += m;
        n = m;
    }
    dask_future *f;
    CHECK(dask_client_compute(client, g, &level[0], 1, &f));
    CHECK(dask_future_wait(f, -1.0));
    double t = now() - t0;
    dask_future_free(f);
    dask_graph_free(g);
    free(level);
    return t;
}

static double chain(size_t n) {
    double t0 = now();
    dask_graph *g;
    CHECK(dask_graph_new(&g));
    size_t prev;
    CHECK(dask_graph_add_task(g, NULL, noop, NULL, 0, &prev));
    for (size_t i = 1; i < n; ++i) {
        dask_arg a = {.kind = DASK_ARG_TASK, .task = prev};
        CHECK(dask_graph_add_task(g, NULL, noop, &a, 1, &prev));
    }
    dask_future *f;
    CHECK(dask_client_compute(client, g, &prev, 1, &f));
    CHECK(dask_future_wait(f, -1.0));
    double t = now() - t0;
    dask_future_free(f);
    dask_graph_free(g);
    return t;
}

static double map_shared(size_t n, size_t shared_bytes) {
    unsigned char *bytes = malloc(shared_bytes);
    for (size_t i = 0; i < shared_bytes; ++i) bytes[i] = (unsigned char)i;
    dask_value *v;
    CHECK(dask_value_from_bytes(bytes, shared_bytes, &v));
    free(bytes);
    dask_future *shared;
    CHECK(dask_client_scatter(client, v, &shared));
    dask_value_free(v);
    dask_value **items = malloc(n * sizeof *items);
    for (size_t i = 0; i < n; ++i) CHECK(dask_value_from_i64((int64_t)i, &items[i]));
    dask_future **fs = malloc(n * sizeof *fs);
    const dask_future *sh[1] = {shared};
    double best = 1e9;
    for (int r = 0; r < REPS; ++r) {
        double t0 = now();
        CHECK(dask_client_map(client, read_byte, (const dask_value *const *)items, n, sh, 1, NULL, NULL, fs));
        CHECK(dask_wait_all((const dask_future *const *)fs, n, -1.0));
        double t = now() - t0;
        free_all(fs, n);
        if (t < best) best = t;
    }
    for (size_t i = 0; i < n; ++i) dask_value_free(items[i]);
    free(items);
    free(fs);
    dask_future_free(shared);
    return best;
}

int main(void) {
    CHECK(dask_client_new(NULL, &client));
    CHECK(dask_op_lookup("noop", &noop));
    CHECK(dask_op_register("bench.read_byte", read_byte_op, NULL, 0, &read_byte));
    size_t threads;
    CHECK(dask_client_threads(client, &threads));
    printf("libdask runtime benchmarks (C API), %zu threads\nreproduce: make bench-c\n", threads);
    const size_t n = 100000;
    double best = 1e9;
    for (int r = 0; r < REPS; ++r) { double t = independent(n); if (t < best) best = t; }
    printf("independent no-op tasks: %zu in %.1f ms = %.2f M tasks/s (target >= 1.5 M/s)\n", n,
           best * 1e3, n / best / 1e6);
    size_t tasks = 0;
    best = 1e9;
    for (int r = 0; r < REPS; ++r) { double t = tree(n, &tasks); if (t < best) best = t; }
    printf("binary reduction tree: %zu tasks (%zu leaves) in %.1f ms = %.3f us/task (target < 1 us)\n",
           tasks, n, best * 1e3, best * 1e6 / tasks);
    const size_t len = 10000;
    best = 1e9;
    for (int r = 0; r < REPS; ++r) { double t = chain(len); if (t < best) best = t; }
    printf("chain: %zu dependent tasks in %.2f ms = %.3f us/task (target < 1 us)\n", len, best * 1e3,
           best * 1e6 / len);
    size_t sizes[2] = {1u << 20, 200u << 20};
    for (int k = 0; k < 2; ++k) {
        double t = map_shared(n, sizes[k]);
        printf("map over %zu items with a %zu MB scattered array: %.1f ms (%.2f M items/s)\n", n,
               sizes[k] >> 20, t * 1e3, n / t / 1e6);
    }
    dask_client_free(client);
    return 0;
}
