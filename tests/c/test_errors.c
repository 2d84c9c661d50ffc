/*
 * Bad input through the C ABI: every misuse must give a clear status and a fresh, non-empty
 * dask_last_error_message(), never a crash. Also failing and cancelled tasks, malformed
 * graphs, and closing a client with work pending.
 */
#include "harness.h"

#include <math.h>
#include <pthread.h>

static dask_op_id op_mix, op_fail, op_fail_silent, op_stale, op_free_input, op_slow, op_count, op_fail_output;
static op_counter fail_dep_counter, slow_counter;

#define FAIL_TEXT "ctest: deliberate failure 42"

/* Fails with a message set by dask_error_set. */
static int32_t fail_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)in;
    (void)n;
    (void)out;
    dask_error_set(FAIL_TEXT);
    return DASK_ERR_INVALID_ARGUMENT;
}

/* Creates an output value, then fails: the library must drop the output (valgrind: no leak). */
static int32_t fail_with_output_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)in;
    (void)n;
    dask_value *v = NULL;
    void *data = NULL;
    size_t shape[1] = {1000};
    if (dask_value_new_buffer(DASK_FLOAT64, 1, shape, &v, &data) == DASK_OK) *out = v;
    dask_error_set("ctest: failed after making an output");
    return DASK_ERR_SHAPE;
}

/* Progress reports of a graph (the last one at done == total). */
typedef struct {
    atomic_size_t last_done, total;
    atomic_long calls;
} progress_ctx;
static void on_progress(void *ctx, size_t done, size_t total) {
    progress_ctx *p = ctx;
    atomic_store(&p->total, total);
    atomic_store(&p->last_done, done);
    atomic_fetch_add(&p->calls, 1);
}

/* wait_inside(): submits a task that depends on a host task nobody runs, and waits for it
 * inside the pool. Only closing the client can end that wait. */
static dask_client *inner_client;
static dask_op_id op_host_never, op_wait_inside;
static atomic_int inside_waiting, host_never_ran;
static int32_t host_never_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    atomic_store(&host_never_ran, 1);
    return mix_task(NULL, in, n, out);
}
static int32_t wait_inside_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)in;
    (void)n;
    dask_future *h = NULL, *b = NULL;
    dask_status st = dask_client_submit(inner_client, op_host_never, NULL, 0, &h);
    if (st != DASK_OK) return st;
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_FUTURE;
    a.future = h;
    st = dask_client_submit(inner_client, op_mix, &a, 1, &b);
    if (st == DASK_OK) {
        atomic_store(&inside_waiting, 1);
        st = dask_future_result(b, -1.0, out);
    }
    dask_future_free(h);
    dask_future_free(b);
    return st;
}

/* Fails without a message. */
static int32_t fail_silent_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)in;
    (void)n;
    (void)out;
    return DASK_ERR_INVALID_ARGUMENT;
}

/* Sets an error message but succeeds: the message must not leak into a later failure. */
static int32_t stale_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)in;
    (void)n;
    dask_error_set("ctest: stale message from a task that succeeded");
    return dask_value_from_i64(1, out);
}

/* Tries to free its borrowed input (refused), then still reads it: returns input + 1. */
static atomic_int free_refused_msg, read_after_free_ok;
static int32_t free_input_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    if (n != 1) return DASK_ERR_INVALID_ARGUMENT;
    error_sentinel();
    dask_value_free((dask_value *)in[0]);
    if (last_error_has(NULL)) atomic_store(&free_refused_msg, 1);
    int64_t x = 0;
    if (dask_value_as_i64(in[0], &x) == DASK_OK) atomic_store(&read_after_free_ok, 1);
    return dask_value_from_i64(x + 1, out);
}

/* Sleeps a little and counts its runs; result = 1 + its int input. */
static int32_t slow_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    atomic_fetch_add(&((op_counter *)ctx)->calls, 1);
    sleep_ms(small_mode() ? 20 : 10);
    int64_t x = 0;
    if (n >= 1) (void)dask_value_as_i64(in[0], &x);
    return dask_value_from_i64(x + 1, out);
}

static void register_ops(void) {
    CHECK_OK(dask_op_register("ctest.err.mix", mix_task, NULL, 0, &op_mix));
    CHECK_OK(dask_op_register("ctest.err.fail", fail_task, NULL, 0, &op_fail));
    CHECK_OK(dask_op_register("ctest.err.fail_silent", fail_silent_task, NULL, 0, &op_fail_silent));
    CHECK_OK(dask_op_register("ctest.err.stale", stale_task, NULL, 0, &op_stale));
    CHECK_OK(dask_op_register("ctest.err.free_input", free_input_task, NULL, 0, &op_free_input));
    CHECK_OK(dask_op_register("ctest.err.slow", slow_task, &slow_counter, 0, &op_slow));
    CHECK_OK(dask_op_register("ctest.err.count", mix_task, &fail_dep_counter, 0, &op_count));
    CHECK_OK(dask_op_register("ctest.err.fail_output", fail_with_output_task, NULL, 0, &op_fail_output));
    CHECK_OK(dask_op_register("ctest.err.host_never", host_never_task, NULL, DASK_OP_HOST, &op_host_never));
    CHECK_OK(dask_op_register("ctest.err.wait_inside", wait_inside_task, NULL, 0, &op_wait_inside));
}

static dask_arg arg_value(const dask_value *v) {
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_VALUE;
    a.value = v;
    return a;
}
static dask_arg arg_key(const char *k) {
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_KEY;
    a.key = k;
    return a;
}
static dask_arg arg_task(size_t i) {
    dask_arg a;
    memset(&a, 0, sizeof a);
    a.kind = DASK_ARG_TASK;
    a.task = i;
    return a;
}

static void test_status_names(void) {
#define NAME_IS(code) CHECK(strcmp(dask_status_name(code), #code) == 0, "dask_status_name(%d) is %s (%s)", code, #code, \
                            dask_status_name(code))
    NAME_IS(DASK_OK);
    NAME_IS(DASK_ERR_INVALID_ARGUMENT);
    NAME_IS(DASK_ERR_NULL_ARGUMENT);
    NAME_IS(DASK_ERR_INVALID_HANDLE);
    NAME_IS(DASK_ERR_GRAPH);
    NAME_IS(DASK_ERR_TASK);
    NAME_IS(DASK_ERR_CANCELLED);
    NAME_IS(DASK_ERR_TIMEOUT);
    NAME_IS(DASK_ERR_NOT_FOUND);
    NAME_IS(DASK_ERR_ALREADY_EXISTS);
    NAME_IS(DASK_ERR_DTYPE);
    NAME_IS(DASK_ERR_SHAPE);
    NAME_IS(DASK_ERR_CLOSED);
    NAME_IS(DASK_ERR_IO);
    NAME_IS(DASK_ERR_PANIC);
    NAME_IS(DASK_ERR_NOT_IMPLEMENTED);
    NAME_IS(DASK_ERR_CORRUPT);
    NAME_IS(DASK_ERR_MEMORY);
#undef NAME_IS
    int unknown[4] = {-1, DASK_ERR_MEMORY + 1, 1000, INT32_MIN};
    for (int i = 0; i < 4; ++i)
        CHECK(strcmp(dask_status_name(unknown[i]), "DASK_ERR_UNKNOWN") == 0, "dask_status_name(%d) is unknown",
              unknown[i]);
}

/* NULL handles and NULL out-pointers. */
static void test_null_arguments(const dask_client *c) {
    dask_client *cl = NULL;
    dask_graph *g = NULL;
    dask_future *f = NULL;
    dask_value *v = NULL;
    size_t n = 0;
    int64_t x = 0;
    double d = 0;
    bool b = false;
    dask_future_state fst = 0;
    dask_value_kind k = 0;
    dask_memory_stats ms;
    dask_buffer_view view;
    char *key = NULL;
    const char *msg = NULL;
    const void *p = NULL;
    void *pv = NULL;
    dask_op_id id = 0;
    dask_as_completed *it = NULL;

    /* client */
    CHECK_ERR(dask_client_new(NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK(last_error_has("NULL"), "message names the NULL argument: %s", dask_last_error_message());
    CHECK_ERR(dask_client_threads(NULL, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_threads(c, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_memory_stats(NULL, &ms, sizeof ms), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_memory_stats(c, NULL, sizeof(dask_memory_stats)), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_run_host_tasks(NULL, 1, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_set_host_notify(NULL, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_submit(NULL, op_mix, NULL, 0, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_submit(c, op_mix, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_submit(c, op_mix, NULL, 2, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_scatter(c, NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_scatter(NULL, NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_map(c, op_mix, NULL, 3, NULL, 0, NULL, NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK(f == NULL, "no future written on failure");

    /* graph */
    CHECK_ERR(dask_graph_new(NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_graph_add_task(NULL, "k", op_mix, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_graph_len(NULL, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_graph_new(&g));
    CHECK_ERR(dask_graph_len(g, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_graph_index_of(g, NULL, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_graph_add_task(g, "k", op_mix, NULL, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_arg bad_value = arg_value(NULL);
    CHECK_ERR(dask_graph_add_task(g, "k", op_mix, &bad_value, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_arg bad_key = arg_key(NULL);
    CHECK_ERR(dask_graph_add_task(g, "k", op_mix, &bad_key, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_arg bad_future;
    memset(&bad_future, 0, sizeof bad_future);
    bad_future.kind = DASK_ARG_FUTURE;
    CHECK_ERR(dask_graph_add_task(g, "k", op_mix, &bad_future, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    size_t len = 99;
    CHECK_OK(dask_graph_len(g, &len));
    CHECK(len == 0, "failed add_task calls add nothing (%zu)", len);
    CHECK_ERR(dask_graph_set_progress(NULL, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_compute(NULL, g, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_client_compute(c, NULL, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_graph_add_task(g, "k", op_mix, NULL, 0, &n));
    CHECK_ERR(dask_client_compute(c, g, NULL, 1, &f), DASK_ERR_NULL_ARGUMENT);
    dask_graph_free(g);
    g = NULL;
    CHECK_OK(dask_graph_new(&g));
    CHECK_OK(dask_graph_add_task(g, "k", op_mix, NULL, 0, &n));
    CHECK_ERR(dask_client_compute(c, g, &n, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_graph_free(g);

    /* future */
    CHECK_ERR(dask_future_wait(NULL, 0.0), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_is_done(NULL, &b), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_status(NULL, &fst), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_result(NULL, 0.0, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_key(NULL, &key), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_cancel(NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_clone(NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_error_message(NULL, &msg), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_add_done_callback(NULL, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_wait_all(NULL, 2, 0.0), DASK_ERR_NULL_ARGUMENT);
    const dask_future *nulls[2] = {NULL, NULL};
    CHECK_ERR(dask_wait_all(nulls, 2, 0.0), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_as_completed_new(NULL, 1, &it), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_as_completed_next(NULL, 0.0, &b, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK(it == NULL, "no iterator written on failure");
    dask_value *one = NULL;
    CHECK_OK(dask_value_from_i64(1, &one));
    dask_arg a1 = arg_value(one);
    CHECK_OK(dask_client_submit(c, op_mix, &a1, 1, &f));
    CHECK_OK(dask_future_wait(f, -1.0));
    CHECK_ERR(dask_future_is_done(f, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_status(f, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_result(f, -1.0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_key(f, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_clone(f, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_error_message(f, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_add_done_callback(f, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_future_wait(f, (double)NAN), DASK_ERR_INVALID_ARGUMENT); /* NaN timeout */
    const dask_future *fl[1] = {f};
    CHECK_ERR(dask_as_completed_new(fl, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_as_completed_new(fl, 1, &it));
    CHECK_ERR(dask_as_completed_next(it, 0.0, NULL, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_as_completed_next(it, 0.0, &b, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_as_completed_free(it);
    dask_future_free(f);
    f = NULL;

    /* value */
    CHECK_ERR(dask_value_from_i64(1, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_from_f64(1.0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_from_bool(true, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_from_string(NULL, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_from_string("s", NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_from_bytes(NULL, 4, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_as_i64(NULL, &x), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_as_i64(one, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_as_f64(NULL, &d), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_as_f64(one, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_get_kind(NULL, &k), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_get_kind(one, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_bytes(NULL, &p, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_buffer(NULL, &view, sizeof view), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_opaque(NULL, &pv), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_clone(NULL, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_clone(one, NULL), DASK_ERR_NULL_ARGUMENT);
    size_t shape[1] = {4};
    void *data = NULL;
    CHECK_ERR(dask_value_new_buffer(DASK_FLOAT64, 1, shape, &v, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_new_buffer(DASK_FLOAT64, 1, shape, NULL, &data), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_new_buffer(DASK_FLOAT64, 1, NULL, &v, &data), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_value_copy_buffer(DASK_FLOAT64, 1, shape, NULL, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK(v == NULL, "no value written on failure");
    dask_value_free(one);

    /* ops */
    CHECK_ERR(dask_op_register(NULL, mix_task, NULL, 0, &id), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_op_register("ctest.err.nullfn", NULL, NULL, 0, &id), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_op_register("ctest.err.nullout", mix_task, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_op_lookup(NULL, &id), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_op_lookup("ctest.err.mix", NULL), DASK_ERR_NULL_ARGUMENT);

    /* NULL is a no-op for every _free */
    dask_client_free(NULL);
    dask_graph_free(NULL);
    dask_future_free(NULL);
    dask_value_free(NULL);
    dask_as_completed_free(NULL);
    dask_string_free(NULL);
    dask_config_init(NULL, sizeof(dask_config));
    CHECK(true, "every _free accepts NULL");
    (void)cl;
}

/* Freed handles, and handles of the wrong type. */
static void test_invalid_handles(const dask_client *c) {
    dask_value *one = NULL;
    CHECK_OK(dask_value_from_i64(1, &one));
    dask_arg a1 = arg_value(one);
    dask_future *f = NULL;
    CHECK_OK(dask_client_submit(c, op_mix, &a1, 1, &f));
    CHECK_OK(dask_future_wait(f, -1.0));
    dask_future_free(f);
    /* The handle is dead: the library keeps recently freed handles recognisable. */
    CHECK_ERR(dask_future_wait(f, 0.0), DASK_ERR_INVALID_HANDLE);
    CHECK(last_error_has("freed"), "message says the future was freed: %s", dask_last_error_message());
    bool done;
    CHECK_ERR(dask_future_is_done(f, &done), DASK_ERR_INVALID_HANDLE);
    dask_value *v = NULL;
    CHECK_ERR(dask_future_result(f, 0.0, &v), DASK_ERR_INVALID_HANDLE);
    const dask_future *fl[1] = {f};
    CHECK_ERR(dask_wait_all(fl, 1, 0.0), DASK_ERR_INVALID_HANDLE);
    dask_arg af;
    memset(&af, 0, sizeof af);
    af.kind = DASK_ARG_FUTURE;
    af.future = f;
    dask_future *f2 = NULL;
    CHECK_ERR(dask_client_submit(c, op_mix, &af, 1, &f2), DASK_ERR_INVALID_HANDLE);
    /* A second free is refused (reported through the last error), not a double free. */
    error_sentinel();
    dask_future_free(f);
    CHECK(last_error_has(NULL), "freeing a future twice sets an error message: %s", dask_last_error_message());

    /* A freed value. */
    dask_value *tmp = NULL;
    CHECK_OK(dask_value_from_i64(5, &tmp));
    dask_value_free(tmp);
    int64_t x;
    CHECK_ERR(dask_value_as_i64(tmp, &x), DASK_ERR_INVALID_HANDLE);
    dask_arg av = arg_value(tmp);
    CHECK_ERR(dask_client_submit(c, op_mix, &av, 1, &f2), DASK_ERR_INVALID_HANDLE);
    error_sentinel();
    dask_value_free(tmp);
    CHECK(last_error_has(NULL), "freeing a value twice sets an error message");

    /* A freed graph. */
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    dask_graph_free(g);
    size_t len;
    CHECK_ERR(dask_graph_len(g, &len), DASK_ERR_INVALID_HANDLE);
    CHECK_ERR(dask_graph_add_task(g, NULL, op_mix, NULL, 0, NULL), DASK_ERR_INVALID_HANDLE);

    /* A handle of another type where a future (or client, graph, value) is expected. */
    CHECK_OK(dask_graph_new(&g));
    CHECK_ERR(dask_future_wait((const dask_future *)g, 0.0), DASK_ERR_INVALID_HANDLE);
    CHECK(last_error_has("dask_future"), "message names the expected type: %s", dask_last_error_message());
    CHECK_ERR(dask_future_cancel((const dask_future *)g), DASK_ERR_INVALID_HANDLE);
    error_sentinel();
    dask_future_free((dask_future *)g);
    CHECK(last_error_has(NULL), "dask_future_free of a graph is refused with a message");
    size_t n = 99;
    CHECK_OK(dask_graph_len(g, &n)); /* still a live graph */
    CHECK(n == 0, "the graph survived being passed as a future");
    CHECK_ERR(dask_client_threads((const dask_client *)one, &n), DASK_ERR_INVALID_HANDLE);
    CHECK_ERR(dask_value_as_i64((const dask_value *)g, &x), DASK_ERR_INVALID_HANDLE);
    CHECK_ERR(dask_graph_len((const dask_graph *)c, &n), DASK_ERR_INVALID_HANDLE);
    CHECK_ERR(dask_value_as_i64((const dask_value *)c, &x), DASK_ERR_INVALID_HANDLE);
    dask_arg ag;
    memset(&ag, 0, sizeof ag);
    ag.kind = DASK_ARG_FUTURE;
    ag.future = (const dask_future *)g;
    CHECK_ERR(dask_client_submit(c, op_mix, &ag, 1, &f2), DASK_ERR_INVALID_HANDLE);
    error_sentinel();
    dask_client_free((dask_client *)g);
    CHECK(last_error_has(NULL), "dask_client_free of a graph is refused with a message");
    error_sentinel();
    dask_value_free((dask_value *)g);
    CHECK(last_error_has(NULL), "dask_value_free of a graph is refused with a message");
    dask_graph_free(g);
    dask_value_free(one);
}

/* Failing callbacks: the message names the callback's text and the failing key; dependents
 * fail with the same message and never run. */
static void test_task_failure(const dask_client *c) {
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    size_t ibad, id1, id2, iok;
    CHECK_OK(dask_graph_add_task(g, "ctest-fail-key", op_fail, NULL, 0, &ibad));
    dask_arg d1 = arg_key("ctest-fail-key");
    CHECK_OK(dask_graph_add_task(g, "ctest-dep1", op_count, &d1, 1, &id1));
    dask_arg d2[2] = {arg_task(id1), arg_key("ctest-ok")};
    CHECK_OK(dask_graph_add_task(g, "ctest-dep2", op_count, d2, 2, &id2));
    CHECK_OK(dask_graph_add_task(g, "ctest-ok", op_mix, NULL, 0, &iok));
    size_t outs[3] = {ibad, id2, iok};
    dask_future *fs[3] = {NULL, NULL, NULL};
    static progress_ctx prog; /* static: it must outlive late reports */
    CHECK_OK(dask_graph_set_progress(g, on_progress, &prog));
    CHECK_OK(dask_client_compute(c, g, outs, 3, fs));
    dask_graph_free(g);

    dask_value *v = NULL;
    CHECK_ERR(dask_future_result(fs[0], -1.0, &v), DASK_ERR_TASK);
    CHECK(last_error_has(FAIL_TEXT) && last_error_has("ctest-fail-key"),
          "failure message has the callback's text and the key: %s", dask_last_error_message());
    char bad_msg[512];
    snprintf(bad_msg, sizeof bad_msg, "%s", dask_last_error_message());
    CHECK_ERR(dask_future_result(fs[1], -1.0, &v), DASK_ERR_TASK);
    CHECK(strcmp(dask_last_error_message(), bad_msg) == 0,
          "the dependent fails with the same message, naming the failing key: \"%s\" vs \"%s\"",
          dask_last_error_message(), bad_msg);
    CHECK(v == NULL, "no value from a failed task");
    dask_future_state st = 99;
    CHECK_OK(dask_future_status(fs[0], &st));
    CHECK(st == DASK_FUTURE_ERROR, "failed task is in ERROR (%u)", st);
    CHECK_OK(dask_future_status(fs[1], &st));
    CHECK(st == DASK_FUTURE_ERROR, "dependent is in ERROR (%u)", st);
    const char *m = NULL;
    CHECK_OK(dask_future_error_message(fs[1], &m));
    CHECK(m != NULL && strstr(m, FAIL_TEXT) && strstr(m, "ctest-fail-key"),
          "dask_future_error_message of the dependent names the failing key: %s", m ? m : "NULL");
    CHECK(atomic_load(&fail_dep_counter.calls) == 0, "dependents of a failed task never run (%ld)",
          atomic_load(&fail_dep_counter.calls));
    CHECK_OK(dask_future_result(fs[2], -1.0, &v));
    CHECK(v != NULL, "an independent task of the same graph succeeds");
    CHECK(WAIT_UNTIL(atomic_load(&prog.last_done) == 4 && atomic_load(&prog.total) == 4, patience_s()),
          "progress counts failed tasks and ends at total (%zu of %zu)", (size_t)atomic_load(&prog.last_done),
          (size_t)atomic_load(&prog.total));
    dask_value_free(v);
    v = NULL;
    for (int i = 0; i < 3; ++i) dask_future_free(fs[i]);

    /* Without a message: still DASK_ERR_TASK with a non-empty message naming the key. On a
     * one-thread client, after a task that set a message but succeeded (no stale text). */
    dask_client *c1 = NULL;
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 1;
    CHECK_OK(dask_client_new(&cfg, &c1));
    CHECK_OK(dask_graph_new(&g));
    size_t is, isil;
    CHECK_OK(dask_graph_add_task(g, "ctest-stale", op_stale, NULL, 0, &is));
    dask_arg ds = arg_task(is);
    CHECK_OK(dask_graph_add_task(g, "ctest-silent", op_fail_silent, &ds, 1, &isil));
    dask_future *fsil = NULL;
    CHECK_OK(dask_client_compute(c1, g, &isil, 1, &fsil));
    dask_graph_free(g);
    CHECK_ERR(dask_future_result(fsil, -1.0, &v), DASK_ERR_TASK);
    CHECK(last_error_has("ctest-silent"), "a failure without message still names the key: %s",
          dask_last_error_message());
    CHECK(!last_error_has("stale message"), "no stale dask_error_set text from an earlier task: %s",
          dask_last_error_message());
    dask_future_free(fsil);
    dask_client_free(c1);

    /* A task that made an output before failing. */
    dask_future *fo = NULL;
    CHECK_OK(dask_client_submit(c, op_fail_output, NULL, 0, &fo));
    CHECK_ERR(dask_future_result(fo, -1.0, &v), DASK_ERR_TASK);
    CHECK(last_error_has("failed after making an output"), "its message is kept: %s", dask_last_error_message());
    dask_future_free(fo);

    /* A task failing through dask_client_submit. */
    dask_future *ff = NULL;
    CHECK_OK(dask_client_submit(c, op_fail, NULL, 0, &ff));
    CHECK_ERR(dask_future_result(ff, -1.0, &v), DASK_ERR_TASK);
    CHECK(last_error_has(FAIL_TEXT), "submitted failure keeps its message");
    CHECK_OK(dask_future_wait(ff, -1.0)); /* waiting on a failed future is fine */
    dask_future_free(ff);

    /* A task given a string where it wants an int fails (dask_value_as_i64 -> DTYPE inside). */
    dask_value *s = NULL;
    CHECK_OK(dask_value_from_string("not a number", &s));
    dask_arg as = arg_value(s);
    CHECK_OK(dask_client_submit(c, op_mix, &as, 1, &ff));
    CHECK_ERR(dask_future_result(ff, -1.0, &v), DASK_ERR_TASK);
    CHECK(last_error_has("not an int"), "a type error inside a task: %s", dask_last_error_message());
    dask_future_free(ff);
    dask_value_free(s);
}

static void test_graph_errors(const dask_client *c) {
    dask_graph *g = NULL;
    dask_future *f = NULL;
    size_t ix, iy, len;
    /* cycle */
    CHECK_OK(dask_graph_new(&g));
    dask_arg ax = arg_key("ctest-y");
    dask_arg ay = arg_key("ctest-x");
    CHECK_OK(dask_graph_add_task(g, "ctest-x", op_mix, &ax, 1, &ix));
    CHECK_OK(dask_graph_add_task(g, "ctest-y", op_mix, &ay, 1, &iy));
    CHECK_ERR(dask_client_compute(c, g, &iy, 1, &f), DASK_ERR_GRAPH);
    CHECK(last_error_has("cycle") && last_error_has("ctest-x") && last_error_has("ctest-y"),
          "cycle message names the cycle: %s", dask_last_error_message());
    CHECK_OK(dask_graph_len(g, &len));
    CHECK(len == 0, "graph empty after a failed compute (%zu)", len);
    /* self-cycle through an index */
    dask_arg self = arg_task(0);
    CHECK_OK(dask_graph_add_task(g, "ctest-self", op_mix, &self, 1, &ix));
    CHECK_ERR(dask_client_compute(c, g, &ix, 1, &f), DASK_ERR_GRAPH);
    CHECK(last_error_has("cycle"), "self-dependency is a cycle: %s", dask_last_error_message());

    /* missing key */
    dask_arg am = arg_key("ctest-nowhere");
    CHECK_OK(dask_graph_add_task(g, "ctest-m", op_mix, &am, 1, &ix));
    CHECK_ERR(dask_client_compute(c, g, &ix, 1, &f), DASK_ERR_GRAPH);
    CHECK(last_error_has("missing key") && last_error_has("ctest-nowhere"), "missing key message: %s",
          dask_last_error_message());

    /* duplicate key */
    CHECK_OK(dask_graph_add_task(g, "ctest-dup", op_mix, NULL, 0, &ix));
    CHECK_ERR(dask_graph_add_task(g, "ctest-dup", op_mix, NULL, 0, &iy), DASK_ERR_ALREADY_EXISTS);
    CHECK(last_error_has("ctest-dup"), "duplicate key message names it: %s", dask_last_error_message());
    CHECK_OK(dask_graph_len(g, &len));
    CHECK(len == 1, "the duplicate was not added (%zu)", len);

    /* bad output index, bad task index */
    size_t bad = 7;
    CHECK_ERR(dask_client_compute(c, g, &bad, 1, &f), DASK_ERR_GRAPH);
    CHECK_OK(dask_graph_len(g, &len));
    CHECK(len == 0, "graph empty after a bad output index (%zu)", len);
    CHECK_OK(dask_graph_add_task(g, "ctest-out", op_mix, NULL, 0, &ix));
    size_t huge = SIZE_MAX;
    CHECK_ERR(dask_client_compute(c, g, &huge, 1, &f), DASK_ERR_GRAPH);
    CHECK_OK(dask_graph_len(g, &len));
    CHECK(len == 0, "graph empty after a bad output index beyond 32 bits, as documented (%zu tasks left)", len);
    dask_graph_free(g);
    CHECK_OK(dask_graph_new(&g));
    dask_arg far = arg_task(12345);
    CHECK_OK(dask_graph_add_task(g, "ctest-far", op_mix, &far, 1, &ix));
    CHECK_ERR(dask_client_compute(c, g, &ix, 1, &f), DASK_ERR_GRAPH);

    /* unknown op id, bad argument kind, graph args outside a graph */
    CHECK_ERR(dask_graph_add_task(g, "ctest-op", 987654321u, NULL, 0, &ix), DASK_ERR_NOT_FOUND);
    CHECK_ERR(dask_client_submit(c, 987654321u, NULL, 0, &f), DASK_ERR_NOT_FOUND);
    dask_op_id id;
    CHECK_ERR(dask_op_lookup("ctest.err.no-such-op", &id), DASK_ERR_NOT_FOUND);
    CHECK_ERR(dask_op_register("ctest.err.mix", mix_task, NULL, 0, &id), DASK_ERR_ALREADY_EXISTS);
    CHECK_ERR(dask_op_register("ctest.err.flags", mix_task, NULL, 0x10, &id), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_op_register("", mix_task, NULL, 0, &id), DASK_ERR_INVALID_ARGUMENT);
    dask_arg weird;
    memset(&weird, 0, sizeof weird);
    weird.kind = 77;
    CHECK_ERR(dask_graph_add_task(g, "ctest-weird", op_mix, &weird, 1, &ix), DASK_ERR_INVALID_ARGUMENT);
    dask_arg t0 = arg_task(0);
    CHECK_ERR(dask_client_submit(c, op_mix, &t0, 1, &f), DASK_ERR_INVALID_ARGUMENT);
    dask_arg k0 = arg_key("ctest-dup");
    CHECK_ERR(dask_client_submit(c, op_mix, &k0, 1, &f), DASK_ERR_INVALID_ARGUMENT);
    size_t idx;
    CHECK_ERR(dask_graph_index_of(g, "ctest-not-there", &idx), DASK_ERR_NOT_FOUND);
    dask_graph_free(g);

    /* a config without struct_size */
    dask_config cfg;
    memset(&cfg, 0, sizeof cfg);
    dask_client *c2 = NULL;
    CHECK_ERR(dask_client_new(&cfg, &c2), DASK_ERR_INVALID_ARGUMENT);
    CHECK(c2 == NULL, "no client on failure");
}

static atomic_int rel_count;
static void release_count(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&rel_count, 1);
}

static void test_value_errors(void) {
    dask_value *v = NULL;
    void *data = NULL;
    size_t shape[2] = {2, 3};
    CHECK_ERR(dask_value_new_buffer(99, 2, shape, &v, &data), DASK_ERR_DTYPE);
    CHECK_ERR(dask_value_new_buffer(0, 2, shape, &v, &data), DASK_ERR_DTYPE);
    double host[6] = {0};
    CHECK_ERR(dask_value_copy_buffer(12, 2, shape, host, &v), DASK_ERR_DTYPE);
    atomic_store(&rel_count, 0);
    CHECK_ERR(dask_value_wrap_buffer(1000, 2, shape, NULL, host, sizeof host, release_count, NULL, &v), DASK_ERR_DTYPE);
    CHECK(atomic_load(&rel_count) == 1, "failed wrap (bad dtype) releases once (%d)", atomic_load(&rel_count));
    atomic_store(&rel_count, 0);
    CHECK_ERR(dask_value_wrap_buffer(DASK_FLOAT64, 2, NULL, NULL, host, sizeof host, release_count, NULL, &v),
              DASK_ERR_NULL_ARGUMENT);
    CHECK(atomic_load(&rel_count) == 1, "failed wrap (NULL shape) releases once (%d)", atomic_load(&rel_count));
    atomic_store(&rel_count, 0);
    CHECK(dask_value_wrap_buffer(DASK_FLOAT64, 1, shape, NULL, (const char *)host + 1, 40, release_count, NULL, &v) !=
              DASK_OK,
          "a misaligned float64 pointer is refused");
    CHECK(atomic_load(&rel_count) == 1, "failed wrap (misaligned) releases once (%d)", atomic_load(&rel_count));
    CHECK(v == NULL, "no value on failure");
    size_t huge[2] = {SIZE_MAX / 2, 4};
    CHECK_ERR(dask_value_new_buffer(DASK_FLOAT64, 2, huge, &v, &data), DASK_ERR_SHAPE);

    dask_value *s = NULL;
    CHECK_OK(dask_value_from_string("text", &s));
    int64_t x;
    double d;
    dask_buffer_view view;
    void *p;
    CHECK_ERR(dask_value_as_i64(s, &x), DASK_ERR_DTYPE);
    CHECK(last_error_has("not an int"), "as_i64 on a string says it is not an int: %s", dask_last_error_message());
    CHECK_ERR(dask_value_as_f64(s, &d), DASK_ERR_DTYPE);
    CHECK_ERR(dask_value_buffer(s, &view, sizeof view), DASK_ERR_DTYPE);
    CHECK_ERR(dask_value_opaque(s, &p), DASK_ERR_DTYPE);
    dask_value *i = NULL;
    CHECK_OK(dask_value_from_i64(3, &i));
    const void *bp;
    size_t bl;
    CHECK_ERR(dask_value_bytes(i, &bp, &bl), DASK_ERR_DTYPE);
    dask_value_free(i);
    dask_value_free(s);
    char invalid_utf8[3] = {(char)0xff, (char)0xfe, 0};
    CHECK_ERR(dask_value_from_string(invalid_utf8, &v), DASK_ERR_INVALID_ARGUMENT);
}

/* Freeing a borrowed input inside a callback is refused; the task still works. */
static void test_free_borrowed_input(const dask_client *c) {
    dask_value *v = NULL;
    CHECK_OK(dask_value_from_i64(41, &v));
    dask_arg a = arg_value(v);
    dask_future *f = NULL;
    CHECK_OK(dask_client_submit(c, op_free_input, &a, 1, &f));
    dask_value *r = NULL;
    int64_t x = 0;
    CHECK_OK(dask_future_result(f, -1.0, &r));
    CHECK_OK(dask_value_as_i64(r, &x));
    CHECK(x == 42, "the task read its input after the refused free (%lld)", (long long)x);
    CHECK(atomic_load(&free_refused_msg) == 1, "freeing a borrowed input sets an error message");
    CHECK(atomic_load(&read_after_free_ok) == 1, "the input is still readable after the refused free");
    x = 0;
    CHECK_OK(dask_value_as_i64(v, &x));
    CHECK(x == 41, "the caller's own handle is unaffected");
    dask_value_free(r);
    dask_value_free(v);
    dask_future_free(f);
}

/* Cancelling the end of a running chain of slow tasks stops the chain. */
static void test_cancel_chain(const dask_client *c) {
    const size_t N = 40;
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    size_t prev = 0, last = 0, mid = 0;
    for (size_t i = 0; i < N; ++i) {
        dask_arg a = arg_task(prev);
        CHECK_OK(dask_graph_add_task(g, NULL, op_slow, i == 0 ? NULL : &a, i == 0 ? 0 : 1, &last));
        if (i == N / 2) mid = last;
        prev = last;
    }
    size_t outs[1] = {last};
    dask_future *end = NULL;
    atomic_store(&slow_counter.calls, 0);
    static progress_ctx prog; /* static: it must outlive late reports */
    CHECK_OK(dask_graph_set_progress(g, on_progress, &prog));
    CHECK_OK(dask_client_compute(c, g, outs, 1, &end));
    dask_graph_free(g);
    (void)mid;
    CHECK(WAIT_UNTIL(atomic_load(&slow_counter.calls) >= 2, patience_s()), "the chain is running");
    CHECK_OK(dask_future_cancel(end));
    /* Counted when cancel returned: at most a task that was just starting may still run. */
    long at_cancel = atomic_load(&slow_counter.calls);
    dask_value *v = NULL;
    CHECK_ERR(dask_future_result(end, -1.0, &v), DASK_ERR_CANCELLED);
    CHECK(last_error_has("cancel"), "message says cancelled: %s", dask_last_error_message());
    dask_future_state st = 99;
    CHECK_OK(dask_future_status(end, &st));
    CHECK(st == DASK_FUTURE_CANCELLED, "chain end is CANCELLED (%u)", st);
    bool done = false;
    CHECK_OK(dask_future_is_done(end, &done));
    CHECK(done, "a cancelled future is done");
    /* Give the task that was running time to finish, and any wrongly continuing chain time to
     * show itself (several task durations). */
    sleep_ms(small_mode() ? 200 : 80);
    long ran = atomic_load(&slow_counter.calls);
    CHECK(ran <= at_cancel + 1 && ran < (long)N / 2,
          "cancelling stopped the chain: %ld of %zu tasks ran (%ld when cancelled)", ran, N, at_cancel);
    CHECK(WAIT_UNTIL(atomic_load(&prog.last_done) == N, patience_s()) && atomic_load(&prog.total) == N,
          "progress counts cancelled tasks and ends at total (%zu of %zu)", (size_t)atomic_load(&prog.last_done),
          (size_t)atomic_load(&prog.total));
    CHECK_OK(dask_future_cancel(end)); /* cancelling again is harmless */
    dask_future_free(end);

    /* Cancelling a middle task: its dependents fail as cancelled. */
    CHECK_OK(dask_graph_new(&g));
    size_t ids[6];
    for (size_t i = 0; i < 6; ++i) {
        dask_arg a = arg_task(i == 0 ? 0 : ids[i - 1]);
        CHECK_OK(dask_graph_add_task(g, NULL, op_slow, i == 0 ? NULL : &a, i == 0 ? 0 : 1, &ids[i]));
    }
    size_t o2[2] = {ids[3], ids[5]};
    dask_future *fs[2] = {NULL, NULL};
    CHECK_OK(dask_client_compute(c, g, o2, 2, fs));
    dask_graph_free(g);
    CHECK_OK(dask_future_cancel(fs[0]));
    CHECK_ERR(dask_future_result(fs[1], -1.0, &v), DASK_ERR_CANCELLED);
    CHECK_OK(dask_future_status(fs[1], &st));
    CHECK(st == DASK_FUTURE_CANCELLED, "a dependent of a cancelled task is CANCELLED (%u)", st);
    const char *m = NULL;
    CHECK_OK(dask_future_error_message(fs[1], &m));
    CHECK(m != NULL && m[0] != '\0', "it has an error message (%s)", m ? m : "NULL");
    dask_future_free(fs[0]);
    dask_future_free(fs[1]);

    /* Cancelling a finished task changes nothing. */
    dask_value *one = NULL;
    CHECK_OK(dask_value_from_i64(1, &one));
    dask_arg a1 = arg_value(one);
    dask_future *f = NULL;
    CHECK_OK(dask_client_submit(c, op_mix, &a1, 1, &f));
    CHECK_OK(dask_future_wait(f, -1.0));
    CHECK_OK(dask_future_cancel(f));
    CHECK_OK(dask_future_result(f, -1.0, &v));
    dask_value_free(v);
    dask_value_free(one);
    dask_future_free(f);
}

/* Closing a client with pending work: futures stay valid and report DASK_ERR_CANCELLED. */
static void test_free_client_with_pending(void) {
    dask_client *c = NULL;
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 1;
    CHECK_OK(dask_client_new(&cfg, &c));
    enum { M = 12 };
    dask_future *fs[M];
    atomic_store(&slow_counter.calls, 0);
    for (int i = 0; i < M; ++i) {
        dask_value *v = NULL;
        CHECK_OK(dask_value_from_i64(i, &v));
        dask_arg a = arg_value(v);
        CHECK_OK(dask_client_submit(c, op_slow, &a, 1, &fs[i]));
        dask_value_free(v);
    }
    /* a pending graph too, depending on the submitted work */
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    dask_arg af;
    memset(&af, 0, sizeof af);
    af.kind = DASK_ARG_FUTURE;
    af.future = fs[M - 1];
    size_t gi;
    CHECK_OK(dask_graph_add_task(g, "ctest-after-close", op_mix, &af, 1, &gi));
    dask_future *gf = NULL;
    CHECK_OK(dask_client_compute(c, g, &gi, 1, &gf));
    dask_graph_free(g);
    CHECK(WAIT_UNTIL(atomic_load(&slow_counter.calls) >= 1, patience_s()), "the first task started");
    long before = atomic_load(&slow_counter.calls);
    dask_client_free(c);
    long ran = atomic_load(&slow_counter.calls);
    CHECK(ran <= before + 1 && ran < M, "queued tasks did not run after close (%ld of %d ran, %ld before close)",
          ran, M, before);
    int cancelled = 0, finished = 0, other = 0;
    for (int i = 0; i < M; ++i) {
        dask_future_state st = 99;
        bool done = false;
        CHECK_OK(dask_future_is_done(fs[i], &done));
        CHECK(done, "future %d is done after close", i);
        CHECK_OK(dask_future_status(fs[i], &st));
        if (st == DASK_FUTURE_CANCELLED) {
            ++cancelled;
            dask_value *v = NULL;
            CHECK_ERR(dask_future_result(fs[i], -1.0, &v), DASK_ERR_CANCELLED);
        } else if (st == DASK_FUTURE_FINISHED) {
            ++finished;
        } else {
            ++other;
        }
    }
    /* A task running at close completes; whether its result is kept is not specified. */
    CHECK(cancelled >= M - ran && other == 0 && finished <= ran && cancelled + finished == M,
          "after close: %d cancelled, %d finished (= %ld ran), %d other", cancelled, finished, ran, other);
    dask_value *v = NULL;
    CHECK_ERR(dask_future_result(gf, 1.0, &v), DASK_ERR_CANCELLED);
    CHECK(last_error_has(NULL), "the pending graph task reports a message: %s", dask_last_error_message());
    char *key = NULL;
    CHECK_OK(dask_future_key(gf, &key));
    CHECK(key && strcmp(key, "ctest-after-close") == 0, "futures stay usable after close (key %s)", key ? key : "NULL");
    dask_string_free(key);
    /* The freed client is recognised, not used. */
    size_t n;
    CHECK_ERR(dask_client_threads(c, &n), DASK_ERR_INVALID_HANDLE);
    for (int i = 0; i < M; ++i) dask_future_free(fs[i]);
    dask_future_free(gf);
}

/* Closing a client while one of its tasks waits inside the pool on work that can never run
 * (a host task nobody runs): the close must not hang, and the futures end. */
static void test_free_client_while_task_waits(void) {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 1;
    CHECK_OK(dask_client_new(&cfg, &inner_client));
    dask_future *a = NULL;
    CHECK_OK(dask_client_submit(inner_client, op_wait_inside, NULL, 0, &a));
    CHECK(WAIT_UNTIL(atomic_load(&inside_waiting) == 1, patience_s()), "the task is waiting inside the pool");
    sleep_ms(10); /* let it go to sleep in its wait */
    double t0 = now_s();
    dask_client_free(inner_client); /* a hang here is caught by the watchdog */
    inner_client = NULL;
    double el = now_s() - t0;
    CHECK(el < patience_s(), "closing the client returned (%.3f s)", el);
    bool done = false;
    dask_future_state st = 99;
    CHECK_OK(dask_future_is_done(a, &done));
    CHECK_OK(dask_future_status(a, &st));
    CHECK(done && (st == DASK_FUTURE_CANCELLED || st == DASK_FUTURE_ERROR),
          "the waiting task ended as cancelled or failed (state %u)", st);
    CHECK(atomic_load(&host_never_ran) == 0, "the host task never ran (nobody ran host tasks)");
    dask_value *v = NULL;
    dask_status rs = dask_future_result(a, 1.0, &v);
    CHECK(rs == DASK_ERR_CANCELLED || rs == DASK_ERR_TASK, "its result reports it (%s)", dask_status_name(rs));
    dask_value_free(v);
    dask_future_free(a);
}

/* The error message is per thread. */
static void *other_thread(void *arg) {
    int64_t x;
    (void)dask_value_as_i64(NULL, &x);
    snprintf((char *)arg, 256, "%s", dask_last_error_message());
    return NULL;
}

static void test_thread_local_message(void) {
    dask_value *s = NULL;
    CHECK_OK(dask_value_from_string("t", &s));
    int64_t x;
    CHECK_ERR(dask_value_as_i64(s, &x), DASK_ERR_DTYPE);
    char mine[256], theirs[256] = "";
    snprintf(mine, sizeof mine, "%s", dask_last_error_message());
    pthread_t t;
    pthread_create(&t, NULL, other_thread, theirs);
    pthread_join(t, NULL);
    CHECK(strcmp(mine, dask_last_error_message()) == 0 && strcmp(theirs, mine) != 0 && theirs[0] != '\0',
          "each thread has its own last error (%s | %s)", mine, theirs);
    dask_value_free(s);
}

int main(void) {
    watchdog(small_mode() ? 900 : 120);
    double t0 = now_s();
    register_ops();
    dask_client *c = NULL;
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 3;
    if (!CHECK_OK(dask_client_new(&cfg, &c))) return test_finish();
    test_status_names();
    test_null_arguments(c);
    test_invalid_handles(c);
    test_task_failure(c);
    test_graph_errors(c);
    test_value_errors();
    test_free_borrowed_input(c);
    test_cancel_chain(c);
    test_thread_local_message();
    dask_client_free(c);
    test_free_client_with_pending();
    test_free_client_while_task_waits();
    fprintf(stderr, "  test_errors: %.2f s\n", now_s() - t0);
    return test_finish();
}
