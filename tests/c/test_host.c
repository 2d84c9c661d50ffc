/*
 * Host tasks from C: operations registered with DASK_OP_HOST run only on the host thread
 * (here: main), inside its waits or dask_client_run_host_tasks; pool operations never do.
 * Also the polling path with a host notifier.
 */
#include "harness.h"

#include <pthread.h>

static pthread_t main_thread;

typedef struct {
    atomic_long calls, on_main, off_main;
} thread_counter;

static thread_counter host_count, pool_count;
static dask_op_id op_host_mix, op_pool_mix, op_pool_sleep;

static void count_thread(thread_counter *t) {
    atomic_fetch_add(&t->calls, 1);
    if (pthread_equal(pthread_self(), main_thread))
        atomic_fetch_add(&t->on_main, 1);
    else
        atomic_fetch_add(&t->off_main, 1);
}

/* The same mix function as an op of each kind, counting where it runs. */
static int32_t host_mix(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    count_thread(ctx);
    return mix_task(NULL, in, n, out);
}

static int32_t pool_mix(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    count_thread(ctx);
    return mix_task(NULL, in, n, out);
}

static int32_t pool_sleep(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    count_thread(ctx);
    sleep_ms(20);
    return mix_task(NULL, in, n, out);
}

static void reset(thread_counter *t) {
    atomic_store(&t->calls, 0);
    atomic_store(&t->on_main, 0);
    atomic_store(&t->off_main, 0);
}

/* A random DAG mixing pool and host operations, computed from main. */
static void test_mixed_dag(const dask_client *c, size_t n, uint64_t seed) {
    dag_t d;
    dag_generate(&d, n, seed, 0, NULL, 30);
    size_t n_host = 0;
    for (size_t i = 0; i < n; ++i) n_host += d.host[i];
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    dask_op_id ops[2] = {op_pool_mix, op_host_mix};
    CHECK(dag_add_to_graph(&d, g, ops, NULL, seed), "mixed DAG built");
    size_t *outs = malloc(n * sizeof *outs);
    if (!outs) exit(2);
    for (size_t i = 0; i < n; ++i) outs[i] = i; /* every task is an output: all run */
    reset(&host_count);
    reset(&pool_count);
    dag_compute_and_check(c, g, &d, outs, n, "mixed host/pool DAG");
    CHECK(atomic_load(&host_count.calls) == (long)n_host, "every host task ran once (%ld of %zu)",
          atomic_load(&host_count.calls), n_host);
    CHECK(atomic_load(&host_count.off_main) == 0, "host tasks ran only on the main thread (%ld elsewhere)",
          atomic_load(&host_count.off_main));
    CHECK(atomic_load(&pool_count.calls) == (long)(n - n_host), "every pool task ran once (%ld of %zu)",
          atomic_load(&pool_count.calls), n - n_host);
    CHECK(atomic_load(&pool_count.off_main) > 0 && atomic_load(&pool_count.on_main) == 0,
          "pool tasks ran on pool threads, never on main (%ld on main, %ld elsewhere)",
          atomic_load(&pool_count.on_main), atomic_load(&pool_count.off_main));
    fprintf(stderr, "  mixed DAG: %zu tasks, %zu host tasks\n", n, n_host);
    dask_graph_free(g);
    free(outs);
    dag_free(&d);
}

static atomic_long notify_calls, notify_off_main;
static void on_host_notify(void *ctx) {
    atomic_fetch_add((atomic_long *)ctx, 1);
    if (!pthread_equal(pthread_self(), main_thread)) atomic_fetch_add(&notify_off_main, 1);
}

/* Polls dask_client_run_host_tasks (bounded) until `f` is done; returns how many host tasks ran. */
static size_t poll_until_done(const dask_client *c, const dask_future *f) {
    size_t total = 0;
    double deadline = now_s() + patience_s();
    bool done = false;
    while (now_s() < deadline) {
        size_t ran = 0;
        dask_status st = dask_client_run_host_tasks(c, 16, &ran);
        if (st != DASK_OK) {
            CHECK_OK(st);
            break;
        }
        total += ran;
        if (dask_future_is_done(f, &done) != DASK_OK || done) break;
        sleep_ms(0.5);
    }
    CHECK(done, "the host task finished while polling");
    return total;
}

static dask_future *submit_host(const dask_client *c, dask_op_id op, int64_t x, const dask_future *dep) {
    dask_value *v = NULL;
    CHECK_OK(dask_value_from_i64(x, &v));
    dask_arg a[2];
    memset(a, 0, sizeof a);
    a[0].kind = DASK_ARG_VALUE;
    a[0].value = v;
    a[1].kind = DASK_ARG_FUTURE;
    a[1].future = dep;
    dask_future *f = NULL;
    CHECK_OK(dask_client_submit(c, op, a, dep ? 2 : 1, &f));
    dask_value_free(v);
    return f;
}

/* Reads a future that must be done already (no waiting, so no host tasks run here). */
static int64_t done_result(const dask_future *f) {
    dask_value *v = NULL;
    int64_t x = INT64_MIN;
    if (CHECK_OK(dask_future_result(f, 0.0, &v))) CHECK_OK(dask_value_as_i64(v, &x));
    dask_value_free(v);
    return x;
}

static void test_polling(const dask_client *c) {
    CHECK_OK(dask_client_set_host_notify(c, on_host_notify, &notify_calls));
    reset(&host_count);

    /* 1. A host task queued by submit on this thread: notified at once, runs only when polled. */
    long before = atomic_load(&notify_calls);
    dask_future *h1 = submit_host(c, op_host_mix, 7, NULL);
    CHECK(atomic_load(&notify_calls) >= before + 1, "the notifier fired when the host task was queued");
    sleep_ms(20);
    bool done = true;
    CHECK_OK(dask_future_is_done(h1, &done));
    CHECK(!done && atomic_load(&host_count.calls) == 0, "a host task does not run until the host polls or waits");
    size_t ran = poll_until_done(c, h1);
    CHECK(ran >= 1, "dask_client_run_host_tasks ran it (%zu)", ran);
    int64_t x7[1] = {7};
    CHECK(done_result(h1) == mix_seq(x7, 1), "host task result");
    CHECK(atomic_load(&host_count.on_main) == 1 && atomic_load(&host_count.off_main) == 0,
          "the polled host task ran on main");
    dask_future_free(h1);

    /* 2. A host task that depends on a pool task: queued (and notified) from a pool thread. */
    before = atomic_load(&notify_calls);
    long off_before = atomic_load(&notify_off_main);
    dask_value *v = NULL;
    CHECK_OK(dask_value_from_i64(3, &v));
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_VALUE;
    a.value = v;
    dask_future *p = NULL;
    CHECK_OK(dask_client_submit(c, op_pool_sleep, &a, 1, &p));
    dask_value_free(v);
    dask_future *h2 = submit_host(c, op_host_mix, 11, p);
    ran = poll_until_done(c, h2);
    CHECK(ran >= 1, "the dependent host task ran when polled (%zu)", ran);
    CHECK(atomic_load(&notify_calls) >= before + 1 && atomic_load(&notify_off_main) >= off_before + 1,
          "the notifier fired from the pool thread that readied the host task");
    int64_t x3[1] = {3};
    int64_t xs[2] = {11, mix_seq(x3, 1)};
    CHECK(done_result(h2) == mix_seq(xs, 2), "dependent host task result");
    CHECK(atomic_load(&host_count.off_main) == 0, "host tasks only on main");
    dask_future_free(p);
    dask_future_free(h2);

    /* 3. run_host_tasks honours max; max 0 runs nothing; out_ran may be NULL. */
    dask_future *hs[3];
    for (int i = 0; i < 3; ++i) hs[i] = submit_host(c, op_host_mix, 100 + i, NULL);
    ran = 99;
    CHECK_OK(dask_client_run_host_tasks(c, 0, &ran));
    CHECK(ran == 0, "max 0 runs nothing (%zu)", ran);
    CHECK_OK(dask_client_run_host_tasks(c, 1, &ran));
    CHECK(ran == 1, "max 1 runs one of three queued host tasks (%zu)", ran);
    int n_done = 0;
    for (int i = 0; i < 3; ++i) {
        CHECK_OK(dask_future_is_done(hs[i], &done));
        n_done += done;
    }
    CHECK(n_done == 1, "exactly one of them is done (%d)", n_done);
    CHECK_OK(dask_client_run_host_tasks(c, 10, &ran));
    CHECK(ran == 2, "the other two run next (%zu)", ran);
    CHECK_OK(dask_client_run_host_tasks(c, 10, NULL));
    for (int i = 0; i < 3; ++i) {
        int64_t xi[1] = {100 + i};
        CHECK(done_result(hs[i]) == mix_seq(xi, 1), "queued host task %d result", i);
        dask_future_free(hs[i]);
    }

    /* 4. Clearing the notifier: no more calls; polling still works. */
    CHECK_OK(dask_client_set_host_notify(c, NULL, NULL));
    before = atomic_load(&notify_calls);
    dask_future *h3 = submit_host(c, op_host_mix, 5, NULL);
    ran = poll_until_done(c, h3);
    CHECK(ran >= 1, "host task ran without a notifier (%zu)", ran);
    CHECK(atomic_load(&notify_calls) == before, "a cleared notifier is not called (%ld calls after clearing)",
          atomic_load(&notify_calls) - before);
    int64_t x5[1] = {5};
    CHECK(done_result(h3) == mix_seq(x5, 1), "result after clearing the notifier");
    dask_future_free(h3);
    CHECK(atomic_load(&host_count.off_main) == 0, "host tasks only ever ran on main");
}

/* Waiting on a future from main runs queued host tasks (no polling needed). */
static void test_wait_runs_host_tasks(const dask_client *c) {
    reset(&host_count);
    dask_future *h = submit_host(c, op_host_mix, 9, NULL);
    dask_value *r = NULL;
    int64_t x = 0;
    CHECK_OK(dask_future_result(h, patience_s(), &r));
    CHECK_OK(dask_value_as_i64(r, &x));
    int64_t x9[1] = {9};
    CHECK(x == mix_seq(x9, 1) && atomic_load(&host_count.on_main) == 1,
          "dask_future_result on main ran the host task on main");
    dask_value_free(r);
    dask_future_free(h);
}

/* Host tasks never run when nobody polls or waits; closing the client cancels them. */
static void test_close_with_queued_host_tasks(void) {
    dask_client *c = new_client(2);
    reset(&host_count);
    dask_future *h[3];
    for (int i = 0; i < 3; ++i) h[i] = submit_host(c, op_host_mix, i, NULL);
    dask_client_free(c);
    bool all = true;
    for (int i = 0; i < 3; ++i) {
        dask_future_state st = 99;
        CHECK_OK(dask_future_status(h[i], &st));
        all = all && st == DASK_FUTURE_CANCELLED;
        dask_value *v = NULL;
        dask_status rs = dask_future_result(h[i], 1.0, &v);
        CHECK(rs == DASK_ERR_CANCELLED, "a queued host task reports DASK_ERR_CANCELLED after close (%s)",
              dask_status_name(rs));
        dask_value_free(v);
        dask_future_free(h[i]);
    }
    CHECK(all, "queued host tasks are CANCELLED when the client closes");
    CHECK(atomic_load(&host_count.calls) == 0, "they never ran (%ld)", atomic_load(&host_count.calls));
}

int main(void) {
    main_thread = pthread_self();
    watchdog(small_mode() ? 900 : 120);
    double t0 = now_s();
    CHECK_OK(dask_op_register("ctest.host.host_mix", host_mix, &host_count, DASK_OP_HOST, &op_host_mix));
    CHECK_OK(dask_op_register("ctest.host.pool_mix", pool_mix, &pool_count, 0, &op_pool_mix));
    CHECK_OK(dask_op_register("ctest.host.pool_sleep", pool_sleep, &pool_count, 0, &op_pool_sleep));
    dask_client *c = new_client(3);
    test_wait_runs_host_tasks(c);
    test_mixed_dag(c, scaled(5000), 777);
    test_polling(c);
    dask_client_free(c);
    test_close_with_queued_host_tasks();
    fprintf(stderr, "  test_host: %.2f s\n", now_s() - t0);
    return test_finish();
}
