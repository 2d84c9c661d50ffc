/*
 * Stress: 8 threads submitting random DAGs (and maps) concurrently to one client, each
 * checked against a sequential evaluation; 200 clients created and freed (threads must not
 * accumulate); one 100,000-task random DAG. DASK_STRESS_SMALL=1 shrinks everything 10x.
 */
#include "harness.h"

#include <pthread.h>

#define N_THREADS 8
#define DAGS_PER_THREAD 5

static dask_op_id op_mix, op_big;
static op_counter big_counter;
static dask_client *shared_client;
static dask_future *shared_ext[2];
static int64_t shared_ext_vals[2] = {987654321, -5};

typedef struct {
    int id;
    size_t tasks_checked;
    size_t outputs_checked;
} worker_arg;

/* One thread's work: several random DAGs computed and checked, a map, and an abandoned DAG
 * whose futures are freed at once (its pending tasks are cancelled). */
static void *worker(void *p) {
    worker_arg *w = p;
    const dask_client *c = shared_client;
    size_t n = scaled(3000);
    /* Externals: the two shared futures and one of our own. */
    int64_t ext_vals[3] = {shared_ext_vals[0], shared_ext_vals[1], 1000 + w->id};
    dask_future *ext[3] = {shared_ext[0], shared_ext[1], NULL};
    dask_value *own = NULL;
    CHECK_OK(dask_value_from_i64(ext_vals[2], &own));
    CHECK_OK(dask_client_scatter(c, own, &ext[2]));
    dask_value_free(own);
    dask_op_id ops[2] = {op_mix, op_mix};
    for (int r = 0; r < DAGS_PER_THREAD; ++r) {
        uint64_t seed = (uint64_t)w->id * 1000 + (uint64_t)r + 1;
        dag_t d;
        dag_generate(&d, n, seed, 3, ext_vals, 0);
        dask_graph *g = NULL;
        CHECK_OK(dask_graph_new(&g));
        if (dag_add_to_graph(&d, g, ops, ext, seed)) {
            size_t *outs = malloc((n + 32) * sizeof *outs);
            if (!outs) exit(2);
            size_t n_out = dag_pick_outputs(&d, 0.95, 32, seed, outs);
            char what[64];
            snprintf(what, sizeof what, "thread %d DAG %d", w->id, r);
            dag_compute_and_check(c, g, &d, outs, n_out, what);
            w->tasks_checked += n;
            w->outputs_checked += n_out;
            free(outs);
        }
        dask_graph_free(g);
        dag_free(&d);
    }

    /* A map over items with a shared scattered input. */
    enum { ITEMS = 64 };
    dask_value *items[ITEMS];
    dask_future *fs[ITEMS];
    for (int i = 0; i < ITEMS; ++i) CHECK_OK(dask_value_from_i64(w->id * 100 + i, &items[i]));
    const dask_future *sh[1] = {shared_ext[0]};
    if (CHECK_OK(dask_client_map(c, op_mix, (const dask_value *const *)items, ITEMS, sh, 1, NULL, NULL, fs))) {
        size_t bad = 0;
        for (int i = 0; i < ITEMS; ++i) {
            dask_value *v = NULL;
            int64_t x = 0;
            int64_t in[2] = {w->id * 100 + i, shared_ext_vals[0]};
            if (dask_future_result(fs[i], -1.0, &v) != DASK_OK || dask_value_as_i64(v, &x) != DASK_OK ||
                x != mix_seq(in, 2))
                ++bad;
            dask_value_free(v);
            dask_future_free(fs[i]);
        }
        CHECK(bad == 0, "thread %d: map results (%zu bad)", w->id, bad);
    }
    for (int i = 0; i < ITEMS; ++i) dask_value_free(items[i]);

    /* An abandoned DAG: futures freed right away, while tasks run. */
    {
        uint64_t seed = (uint64_t)w->id * 1000 + 999;
        dag_t d;
        dag_generate(&d, n, seed, 3, ext_vals, 0);
        dask_graph *g = NULL;
        CHECK_OK(dask_graph_new(&g));
        if (dag_add_to_graph(&d, g, ops, ext, seed)) {
            size_t *outs = malloc((n + 32) * sizeof *outs);
            size_t *idx = malloc((n + 32) * sizeof *idx);
            dask_future **afs = calloc(n + 32, sizeof *afs);
            if (!outs || !idx || !afs) exit(2);
            size_t n_out = dag_pick_outputs(&d, 1.0, 0, seed, outs);
            for (size_t o = 0; o < n_out; ++o) idx[o] = d.index[outs[o]];
            if (CHECK_OK(dask_client_compute(c, g, idx, n_out, afs)))
                for (size_t o = 0; o < n_out; ++o) dask_future_free(afs[o]);
            free(outs);
            free(idx);
            free(afs);
        }
        dask_graph_free(g);
        dag_free(&d);
    }
    dask_future_free(ext[2]);
    return NULL;
}

static void test_concurrent_submitters(void) {
    double t0 = now_s();
    shared_client = new_client(4);
    for (int i = 0; i < 2; ++i) {
        dask_value *v = NULL;
        CHECK_OK(dask_value_from_i64(shared_ext_vals[i], &v));
        CHECK_OK(dask_client_scatter(shared_client, v, &shared_ext[i]));
        dask_value_free(v);
    }
    pthread_t th[N_THREADS];
    worker_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; ++i) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].id = i;
        CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0, "pthread_create %d", i);
    }
    size_t tasks = 0, outputs = 0;
    for (int i = 0; i < N_THREADS; ++i) {
        pthread_join(th[i], NULL);
        tasks += args[i].tasks_checked;
        outputs += args[i].outputs_checked;
    }
    CHECK(tasks == (size_t)N_THREADS * DAGS_PER_THREAD * scaled(3000), "every thread computed its DAGs (%zu tasks)",
          tasks);
    dask_future_free(shared_ext[0]);
    dask_future_free(shared_ext[1]);
    /* Abandoned work drains; the store empties. */
    dask_memory_stats s;
    memset(&s, 1, sizeof s);
    double deadline = now_s() + patience_s();
    do {
        CHECK_OK(dask_client_memory_stats(shared_client, &s, sizeof s));
        if (s.managed_bytes == 0 && s.values == 0) break;
        sleep_ms(1);
    } while (now_s() < deadline);
    CHECK(s.managed_bytes == 0 && s.values == 0, "store empty after the concurrent phase (%llu, %llu)",
          (unsigned long long)s.managed_bytes, (unsigned long long)s.values);
    dask_client_free(shared_client);
    fprintf(stderr, "  %d threads x %d DAGs: %zu tasks, %zu outputs checked in %.2f s\n", N_THREADS, DAGS_PER_THREAD,
            tasks, outputs, now_s() - t0);
}

/* One future used from many threads at once (wait, result, clone, key, status, callbacks),
 * and operations registered concurrently. */
static dask_future *hot_future;
static int64_t hot_expected;
static atomic_int hot_callbacks;
static dask_op_id registered[N_THREADS];
static void on_hot_done(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&hot_callbacks, 1);
}
static int32_t slow_mix(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    sleep_ms(30);
    return mix_task(ctx, in, n, out);
}
static void *hot_worker(void *p) {
    int id = *(int *)p;
    char name[64];
    snprintf(name, sizeof name, "ctest.stress.reg%d", id);
    CHECK_OK(dask_op_register(name, mix_task, NULL, 0, &registered[id]));
    for (int k = 0; k < 20; ++k) {
        dask_future *f = NULL;
        if (!CHECK_OK(dask_future_clone(hot_future, &f))) break;
        if (k == 0) CHECK_OK(dask_future_add_done_callback(f, on_hot_done, NULL));
        dask_future_state st;
        bool done;
        char *key = NULL;
        CHECK_OK(dask_future_status(f, &st));
        CHECK_OK(dask_future_is_done(hot_future, &done));
        CHECK_OK(dask_future_key(f, &key));
        dask_string_free(key);
        dask_value *v = NULL;
        int64_t x = 0;
        dask_status rs = dask_future_result(k % 2 ? f : hot_future, -1.0, &v);
        if (rs == DASK_OK) rs = dask_value_as_i64(v, &x);
        if (rs != DASK_OK || x != hot_expected) CHECK(false, "thread %d: shared future result %lld", id, (long long)x);
        dask_value_free(v);
        dask_future_free(f);
    }
    return NULL;
}

static void test_shared_future(void) {
    dask_client *c = new_client(2);
    dask_op_id slow;
    CHECK_OK(dask_op_register("ctest.stress.slow_mix", slow_mix, NULL, 0, &slow));
    dask_value *v = NULL;
    CHECK_OK(dask_value_from_i64(31337, &v));
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_VALUE;
    a.value = v;
    CHECK_OK(dask_client_submit(c, slow, &a, 1, &hot_future));
    dask_value_free(v);
    int64_t in[1] = {31337};
    hot_expected = mix_seq(in, 1);
    pthread_t th[N_THREADS];
    int ids[N_THREADS];
    for (int i = 0; i < N_THREADS; ++i) {
        ids[i] = i;
        CHECK(pthread_create(&th[i], NULL, hot_worker, &ids[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < N_THREADS; ++i) pthread_join(th[i], NULL);
    CHECK(WAIT_UNTIL(atomic_load(&hot_callbacks) == N_THREADS, patience_s()), "one done callback per thread (%d)",
          atomic_load(&hot_callbacks));
    int dup = 0;
    for (int i = 0; i < N_THREADS; ++i)
        for (int j = i + 1; j < N_THREADS; ++j) dup += registered[i] == registered[j];
    CHECK(dup == 0, "operations registered concurrently get distinct ids");
    dask_future_free(hot_future);
    dask_client_free(c);
}

/* Many clients created and freed: no thread may outlive its client. */
static void test_client_churn(void) {
    double t0 = now_s();
    size_t rounds = scaled(200);
    long baseline = count_threads();
    CHECK(baseline > 0, "can count threads in /proc/self/task (%ld)", baseline);
    long peak = baseline;
    size_t bad = 0;
    for (size_t i = 0; i < rounds; ++i) {
        dask_config cfg;
        dask_config_init(&cfg, sizeof cfg);
        cfg.threads = 1 + (uint32_t)(i % 3);
        dask_client *c = NULL;
        dask_status st = dask_client_new(&cfg, &c);
        if (st != DASK_OK) {
            CHECK_OK(st);
            break;
        }
        if (i % 4 == 0) { /* some clients do work, some are freed idle */
            dask_value *v = NULL;
            (void)dask_value_from_i64((int64_t)i, &v);
            dask_arg a;
            memset(&a, 0, sizeof a);
            a.kind = DASK_ARG_VALUE;
            a.value = v;
            dask_future *f = NULL;
            dask_value *r = NULL;
            int64_t x = 0;
            int64_t in[1] = {(int64_t)i};
            if (dask_client_submit(c, op_mix, &a, 1, &f) != DASK_OK || dask_future_result(f, -1.0, &r) != DASK_OK ||
                dask_value_as_i64(r, &x) != DASK_OK || x != mix_seq(in, 1))
                ++bad;
            dask_value_free(r);
            dask_value_free(v);
            if (i % 8 == 0) {
                dask_client_free(c); /* the future outlives its client */
                c = NULL;
            }
            dask_future_free(f);
        }
        long now = count_threads();
        if (now > peak) peak = now;
        dask_client_free(c);
    }
    CHECK(bad == 0, "tasks on short-lived clients (%zu bad)", bad);
    long after = count_threads();
    if (after > baseline + 2) {
        WAIT_UNTIL(count_threads() <= baseline + 2, 2.0);
        after = count_threads();
    }
    CHECK(after <= baseline + 2, "threads do not accumulate: %ld before, %ld after %zu clients (peak %ld)", baseline,
          after, rounds, peak);
    CHECK(peak <= baseline + 3 + 2, "at most one client's threads alive at a time (peak %ld, baseline %ld)", peak,
          baseline);
    fprintf(stderr, "  %zu clients created and freed in %.2f s (threads %ld -> %ld, peak %ld)\n", rounds,
            now_s() - t0, baseline, after, peak);
}

/* One big random DAG. */
static void test_big_dag(void) {
    double t0 = now_s();
    size_t n = scaled(100000);
    dask_client *c = new_client(0); /* one thread per core */
    size_t threads = 0;
    CHECK_OK(dask_client_threads(c, &threads));
    CHECK(threads >= 1, "default thread count (%zu)", threads);
    int64_t ext_vals[1] = {77};
    dask_future *ext[1] = {NULL};
    dask_value *v = NULL;
    CHECK_OK(dask_value_from_i64(ext_vals[0], &v));
    CHECK_OK(dask_client_scatter(c, v, &ext[0]));
    dask_value_free(v);
    dag_t d;
    dag_generate(&d, n, 4242, 1, ext_vals, 0);
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    dask_op_id ops[2] = {op_big, op_big};
    double t1 = now_s();
    if (CHECK(dag_add_to_graph(&d, g, ops, ext, 4242), "big DAG built")) {
        size_t *outs = malloc((n + 100) * sizeof *outs);
        uint8_t *needed = malloc(n);
        if (!outs || !needed) exit(2);
        size_t n_out = dag_pick_outputs(&d, 0.95, 100, 4242, outs);
        size_t n_needed = dag_needed(&d, outs, n_out, needed);
        atomic_store(&big_counter.calls, 0);
        double t2 = now_s();
        dag_compute_and_check(c, g, &d, outs, n_out, "100k DAG");
        double t3 = now_s();
        CHECK(atomic_load(&big_counter.calls) == (long)n_needed, "each needed task ran once (%ld calls, %zu needed)",
              atomic_load(&big_counter.calls), n_needed);
        fprintf(stderr,
                "  big DAG: %zu tasks (%zu needed, %zu outputs, %zu threads): generate %.2f s, build %.2f s, "
                "compute+check %.2f s\n",
                n, n_needed, n_out, threads, t1 - t0, t2 - t1, t3 - t2);
        free(outs);
        free(needed);
    }
    dask_future_free(ext[0]);
    dask_graph_free(g);
    dag_free(&d);
    dask_client_free(c);
}

int main(void) {
    watchdog(small_mode() ? 1200 : 180);
    double t0 = now_s();
    CHECK_OK(dask_op_register("ctest.stress.mix", mix_task, NULL, 0, &op_mix));
    CHECK_OK(dask_op_register("ctest.stress.big", mix_task, &big_counter, 0, &op_big));
    test_big_dag();
    int rounds = small_mode() ? 1 : 3; /* repeated: races show up by chance */
    for (int r = 0; r < rounds; ++r) test_concurrent_submitters();
    test_shared_future();
    test_client_churn();
    fprintf(stderr, "  test_stress: %.2f s\n", now_s() - t0);
    return test_finish();
}
