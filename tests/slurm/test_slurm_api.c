/*
 * Slurm clusters through the C ABI (dask_cluster_slurm, dask_cluster_wait_for_workers,
 * dask_cluster_adapt), on the single-node Slurm tests/slurm/run.sh starts:
 *   1. two workers as batch jobs: an array computed there equals the same array on the
 *      thread pool, its sum a C loop's;
 *   2. adaptive 0..2: no worker until work waits, two while it runs, none once idle (the
 *      cluster adapts on its own; this thread samples with dask_cluster_adapt while
 *      another computes);
 *   3. misuse gets clear errors.
 * The jobs left after dask_cluster_free are checked by run.sh (squeue empty).
 *   test_slurm_api DIR
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 1000
#define COLS 800
#define BLOCK 200

static int failures = 0;
#define EXPECT(cond, ...)                                                                              \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                     \
            fprintf(stderr, __VA_ARGS__);                                                              \
            fprintf(stderr, " (%s)\n", dask_last_error_message());                                     \
            failures++;                                                                                \
        }                                                                                              \
    } while (0)
#define TRY(call)                                                                                      \
    do {                                                                                               \
        dask_status st_ = (call);                                                                      \
        if (st_ != DASK_OK) {                                                                          \
            fprintf(stderr, "%s failed: %s: %s\n", #call, dask_status_name(st_), dask_last_error_message()); \
            exit(1);                                                                                   \
        }                                                                                              \
    } while (0)

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static dask_array *random_array(void) {
    size_t shape[2] = {ROWS, COLS}, chunks[2] = {BLOCK, BLOCK};
    dask_array *x = NULL;
    TRY(dask_array_random_uniform(7, -1.0, 1.0, 2, shape, chunks, &x));
    return x;
}

/* The array computed by `client`, compared with the pool's `want`; its sum by the cluster
 * with a C loop's. Returns 1 when all agree. */
static int check_on(const dask_client *client, const double *want) {
    dask_array *x = random_array(), *s = NULL;
    double *got = malloc(sizeof(double) * ROWS * COLS), total = 0.0, c_total = 0.0;
    if (!got) exit(2);
    TRY(dask_array_compute_into(client, x, DASK_FLOAT64, got, sizeof(double) * ROWS * COLS));
    TRY(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s));
    TRY(dask_array_compute_into(client, s, DASK_FLOAT64, &total, sizeof total));
    int same = memcmp(got, want, sizeof(double) * ROWS * COLS) == 0;
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++) c_total += want[i];
    int close = fabs(total - c_total) <= 1e-9 * (fabs(c_total) + ROWS * COLS);
    free(got);
    dask_array_free(s);
    dask_array_free(x);
    return same && close;
}

struct work {
    const dask_client *client;
    const double *want;
    int ok;
};

static void *compute(void *arg) {
    struct work *w = arg;
    w->ok = check_on(w->client, w->want);
    return NULL;
}

static void options(dask_slurm_options *o, const char *dir) {
    TRY(dask_slurm_options_init(o, sizeof *o));
    o->cpus_per_worker = 1;
    o->mem_per_worker = 512u << 20;
    o->time = "10:00";
    o->dir = dir;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: test_slurm_api DIR\n");
        return 2;
    }
    char fixed_dir[4096], adapt_dir[4096];
    snprintf(fixed_dir, sizeof fixed_dir, "%s/fixed", argv[1]);
    snprintf(adapt_dir, sizeof adapt_dir, "%s/adaptive", argv[1]);

    /* The reference: the same array on this process's pool. */
    double *want = malloc(sizeof(double) * ROWS * COLS);
    if (!want) return 2;
    dask_client *pool = NULL;
    TRY(dask_client_new(NULL, &pool));
    dask_array *x = random_array();
    TRY(dask_array_compute_into(pool, x, DASK_FLOAT64, want, sizeof(double) * ROWS * COLS));
    dask_array_free(x);
    dask_client_free(pool);

    /* 1. Two workers. */
    dask_slurm_options o;
    options(&o, fixed_dir);
    o.workers = 2;
    dask_cluster *cluster = NULL;
    TRY(dask_cluster_slurm(&o, &cluster));
    TRY(dask_cluster_wait_for_workers(cluster, 2, 120.0));
    EXPECT(strncmp(dask_cluster_address(cluster), "tcp://", 6) == 0, "address %s", dask_cluster_address(cluster));
    dask_client *client = NULL;
    TRY(dask_cluster_client(cluster, NULL, &client));
    size_t threads = 0;
    TRY(dask_client_threads(client, &threads));
    EXPECT(threads == 2, "two workers of one thread: %zu threads", threads);
    EXPECT(check_on(client, want), "the array on two Slurm workers");
    EXPECT(dask_cluster_adapt(cluster, NULL, NULL) == DASK_ERR_INVALID_ARGUMENT, "a fixed cluster does not adapt");
    EXPECT(dask_cluster_kill_worker(cluster, 0) == DASK_ERR_INVALID_ARGUMENT, "Slurm workers are jobs");
    dask_client_free(client);
    dask_cluster_free(cluster);
    printf("fixed: two Slurm workers computed the array\n");

    /* 2. Adaptive 0..2. */
    options(&o, adapt_dir);
    o.adapt_min = 0;
    o.adapt_max = 2;
    o.idle_grace = 2.0;
    TRY(dask_cluster_slurm(&o, &cluster));
    TRY(dask_cluster_client(cluster, NULL, &client));
    size_t workers = 9, pending = 9, most = 0;
    TRY(dask_cluster_adapt(cluster, &workers, &pending));
    EXPECT(workers == 0 && pending == 0, "no work, no job: %zu workers, %zu pending", workers, pending);
    struct work w = {client, want, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, compute, &w) != 0) return 2;
    /* Driven from here while the other thread waits for its results. */
    double deadline = now() + 120.0;
    for (;;) {
        sleep_ms(300);
        TRY(dask_cluster_adapt(cluster, &workers, &pending));
        if (workers > most) most = workers;
        if (most > 0 && workers == 0 && pending == 0) break;
        if (now() > deadline) break;
    }
    pthread_join(t, NULL);
    EXPECT(w.ok, "the array on adaptive Slurm workers");
    EXPECT(most == 2, "two workers while the blocks waited (saw at most %zu)", most);
    EXPECT(workers == 0 && pending == 0, "idle workers let go: %zu workers, %zu pending", workers, pending);
    dask_client_free(client);
    dask_cluster_free(cluster);
    printf("adaptive: 0 -> %zu -> %zu workers\n", most, workers);

    /* 3. Misuse. */
    options(&o, adapt_dir);
    o.adapt_min = 1;
    EXPECT(dask_cluster_slurm(&o, &cluster) == DASK_ERR_INVALID_ARGUMENT && cluster == NULL, "min without max");
    o.adapt_min = 3;
    o.adapt_max = 2;
    EXPECT(dask_cluster_slurm(&o, &cluster) == DASK_ERR_INVALID_ARGUMENT, "min above max");
    o.adapt_min = 0;
    o.idle_grace = NAN;
    EXPECT(dask_cluster_slurm(&o, &cluster) == DASK_ERR_INVALID_ARGUMENT, "idle_grace NaN");
    options(&o, adapt_dir);
    o.cpus_per_worker = 0;
    EXPECT(dask_cluster_slurm(&o, &cluster) == DASK_ERR_INVALID_ARGUMENT, "no CPU");
    EXPECT(dask_cluster_slurm(NULL, NULL) == DASK_ERR_NULL_ARGUMENT, "NULL out_cluster");
    EXPECT(dask_slurm_options_init(NULL, sizeof o) == DASK_ERR_NULL_ARGUMENT, "NULL options");
    EXPECT(dask_cluster_wait_for_workers(NULL, 1, 1.0) != DASK_OK, "NULL cluster");
    EXPECT(dask_cluster_adapt(NULL, NULL, NULL) != DASK_OK, "NULL cluster");
    dask_cluster_free(NULL);

    free(want);
    printf("%s\n", failures ? "FAILED" : "slurm C API: all checks passed");
    return failures ? 1 : 0;
}
