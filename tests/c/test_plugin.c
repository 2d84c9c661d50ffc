/*
 * C operations on a cluster's workers: a plugin (tests/c/plugins/arith.c, a shared library
 * exporting dask_plugin_init) loaded by the client with dask_plugin_load and by the workers
 * from their --plugin-dir (here DASK_WORKER_PLUGIN_DIR). Its operations give the answers a
 * plain C loop gives, on the embedded pool and on the cluster; an operation the workers lack
 * fails with an error naming it and the worker; bad plugins and unsafe directories are
 * refused with a clear message.
 */
#include "harness.h"

#include <limits.h>
#include <sys/stat.h>

static char plugin_dir[PATH_MAX / 2 + 16];
static char plugin_path[PATH_MAX];

/* The plugins are built beside this program: <build>/c/test_plugin -> <build>/plugins. */
static bool find_plugin(void) {
    char exe[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return false;
    *slash = '\0';
    snprintf(plugin_dir, sizeof plugin_dir, "%s/../plugins", exe);
    snprintf(plugin_path, sizeof plugin_path, "%s/libarith.so", plugin_dir);
    return access(plugin_path, R_OK) == 0;
}

/* sum over i < n of plugin_square(i) / (i % 7 + 1), as a graph of plugin operations
 * gathered by the built-in "sum"; its future's value, or INT64_MIN with the error. */
static int64_t run(const dask_client *c, int64_t n, const char *op_name, char *err, size_t err_len) {
    dask_op_id sq, div, sum;
    if (!CHECK_OK(dask_op_lookup(op_name, &sq)) || !CHECK_OK(dask_op_lookup("plugin_checked_div", &div)) ||
        !CHECK_OK(dask_op_lookup("sum", &sum)))
        return INT64_MIN;
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    size_t parts[64];
    for (int64_t i = 0; i < n; ++i) {
        dask_value *x = NULL, *d = NULL;
        dask_value_from_i64(i, &x);
        dask_value_from_i64(i % 7 + 1, &d);
        size_t s = 0;
        dask_arg a1[1] = {{.kind = DASK_ARG_VALUE, .value = x}};
        CHECK_OK(dask_graph_add_task(g, NULL, sq, a1, 1, &s));
        dask_arg a2[2] = {{.kind = DASK_ARG_TASK, .task = s}, {.kind = DASK_ARG_VALUE, .value = d}};
        CHECK_OK(dask_graph_add_task(g, NULL, div, a2, 2, &parts[i]));
        dask_value_free(x);
        dask_value_free(d);
    }
    dask_arg all[64];
    for (int64_t i = 0; i < n; ++i) all[i] = (dask_arg){.kind = DASK_ARG_TASK, .task = parts[i]};
    size_t total = 0;
    CHECK_OK(dask_graph_add_task(g, NULL, sum, all, (size_t)n, &total));
    dask_future *f = NULL;
    int64_t out = INT64_MIN;
    if (CHECK_OK(dask_client_compute(c, g, &total, 1, &f))) {
        dask_value *v = NULL;
        if (dask_future_result(f, 60.0, &v) == DASK_OK)
            dask_value_as_i64(v, &out);
        else if (err != NULL)
            snprintf(err, err_len, "%s", dask_last_error_message());
        dask_value_free(v);
    }
    dask_future_free(f);
    dask_graph_free(g);
    return out;
}

static int64_t expected(int64_t n) {
    int64_t s = 0;
    for (int64_t i = 0; i < n; ++i) s += i * i / (i % 7 + 1);
    return s;
}

static void loading(void) {
    CHECK_ERR(dask_plugin_load(NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_plugin_load("/nonexistent/libnothing.so"), DASK_ERR_NOT_FOUND);
    /* A shared library that is not a plugin. */
    char lib[PATH_MAX];
    snprintf(lib, sizeof lib, "%s/../../../target/release/libdask.so", plugin_dir);
    if (access(lib, R_OK) == 0) {
        CHECK_ERR(dask_plugin_load(lib), DASK_ERR_INVALID_ARGUMENT);
        CHECK(last_error_has("dask_plugin_init"), "%s", dask_last_error_message());
    }
    CHECK_OK(dask_plugin_load(plugin_path));
    CHECK_OK(dask_plugin_load(plugin_path)); /* a second load does nothing */
}

/* An operation only this client has: registered here, in no plugin. */
static int32_t client_only(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    (void)n;
    int64_t x = 0;
    dask_value_as_i64(in[0], &x);
    return dask_value_from_i64(x * x, out);
}

/* Work stealing: tasks that all read one scattered value are placed where it is; the idle
 * worker takes those the busy one has not started, so both workers' processes run some. */
static void steals(const dask_client *c) {
    dask_op_id sleep_pid;
    if (!CHECK_OK(dask_op_lookup("plugin_sleep_pid", &sleep_pid))) return;
    dask_value *blob = NULL;
    dask_value_from_i64(42, &blob);
    dask_future *shared = NULL;
    if (!CHECK_OK(dask_client_scatter(c, blob, &shared))) return;
    enum { N = 8 };
    dask_value *items[N];
    for (int i = 0; i < N; ++i) dask_value_from_i64(150, &items[i]);
    dask_future *fs[N] = {0};
    const dask_future *sh[1] = {shared};
    int64_t pids[N];
    int distinct = 0;
    if (CHECK_OK(dask_client_map(c, sleep_pid, (const dask_value *const *)items, N, sh, 1, NULL, NULL, fs))) {
        for (int i = 0; i < N; ++i) {
            dask_value *v = NULL;
            pids[i] = -1;
            if (CHECK_OK(dask_future_result(fs[i], 60.0, &v))) dask_value_as_i64(v, &pids[i]);
            dask_value_free(v);
            bool seen = false;
            for (int j = 0; j < i; ++j) seen = seen || pids[j] == pids[i];
            if (!seen && pids[i] > 0) ++distinct;
            dask_future_free(fs[i]);
        }
    }
    CHECK(distinct == 2, "the tasks ran in %d worker processes (want both)", distinct);
    for (int i = 0; i < N; ++i) dask_value_free(items[i]);
    dask_value_free(blob);
    dask_future_free(shared);
}

static void on_a_cluster(const dask_client *here) {
    dask_op_id id;
    CHECK_OK(dask_op_register("client_only_square", client_only, NULL, 0, &id));
    CHECK(run(here, 40, "client_only_square", NULL, 0) == expected(40), "the client's own op on the pool");

    setenv("DASK_WORKER_PLUGIN_DIR", plugin_dir, 1);
    dask_cluster *cl = NULL;
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    if (!CHECK_OK(dask_cluster_local(2, 1, &cfg, &cl))) return;
    dask_client *c = NULL;
    if (CHECK_OK(dask_cluster_client(cl, NULL, &c))) {
        for (int64_t n = 1; n <= 64; n *= 4) {
            int64_t got = run(c, n, "plugin_square", NULL, 0);
            CHECK(got == expected(n), "n=%lld: cluster %lld, a plain loop %lld", (long long)n, (long long)got,
                  (long long)expected(n));
        }
        /* The plugin's own error message travels back. */
        dask_op_id div;
        dask_op_lookup("plugin_checked_div", &div);
        dask_graph *g = NULL;
        dask_graph_new(&g);
        dask_value *one = NULL, *zero = NULL;
        dask_value_from_i64(1, &one);
        dask_value_from_i64(0, &zero);
        dask_arg a[2] = {{.kind = DASK_ARG_VALUE, .value = one}, {.kind = DASK_ARG_VALUE, .value = zero}};
        size_t t = 0;
        dask_graph_add_task(g, NULL, div, a, 2, &t);
        dask_future *f = NULL;
        dask_value *v = NULL;
        if (CHECK_OK(dask_client_compute(c, g, &t, 1, &f))) {
            CHECK_ERR(dask_future_result(f, 60.0, &v), DASK_ERR_TASK);
            CHECK(last_error_has("division by zero"), "%s", dask_last_error_message());
        }
        dask_future_free(f);
        dask_value_free(one);
        dask_value_free(zero);
        dask_graph_free(g);
        /* An operation no worker has: the error names it, the worker, and the fix. */
        char err[1024] = "";
        CHECK(run(c, 3, "client_only_square", err, sizeof err) == INT64_MIN, "refused");
        CHECK(strstr(err, "client_only_square") != NULL && strstr(err, "worker local-") != NULL &&
                  strstr(err, "--plugin-dir") != NULL,
              "%s", err);
        steals(c);
        dask_client_free(c);
    }
    dask_cluster_free(cl);

    /* A plugin directory every user may write to is refused, and the cluster says why. */
    char unsafe_dir[] = "/tmp/libdask-plugins-XXXXXX";
    if (CHECK(mkdtemp(unsafe_dir) != NULL, "mkdtemp")) {
        chmod(unsafe_dir, 0777);
        setenv("DASK_WORKER_PLUGIN_DIR", unsafe_dir, 1);
        cl = NULL;
        CHECK_ERR(dask_cluster_local(1, 1, &cfg, &cl), DASK_ERR_IO);
        CHECK(last_error_has("writable by every user"), "%s", dask_last_error_message());
        CHECK(cl == NULL, "no cluster");
        rmdir(unsafe_dir);
    }
    unsetenv("DASK_WORKER_PLUGIN_DIR");
}

int main(void) {
    watchdog(300);
    if (!find_plugin()) {
        printf("SKIP: the test plugin was not built beside this program (%s)\n", plugin_path);
        return test_finish();
    }
    loading();
    dask_client *here = new_client(2);
    int64_t got = run(here, 50, "plugin_square", NULL, 0);
    CHECK(got == expected(50), "pool: %lld, a plain loop %lld", (long long)got, (long long)expected(50));
    on_a_cluster(here);
    dask_client_free(here);
    return test_finish();
}
