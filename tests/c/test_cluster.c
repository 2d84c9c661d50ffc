/*
 * Distributed mode through the C ABI: a local cluster (dask_cluster_local: a scheduler and
 * worker processes of the libdask program), clients connected with dask_config.address, the
 * same calls as on the embedded pool — graphs, scatter/map, arrays, named datasets — checked
 * against the embedded pool; a worker killed mid-computation; a TLS cluster reached with
 * certificate files, and refused without them.
 */
#include "harness.h"

#include <math.h>
#include <pthread.h>

static int64_t int_of(const dask_future *f) {
    dask_value *v = NULL;
    int64_t i = INT64_MIN;
    if (CHECK_OK(dask_future_result(f, -1.0, &v))) CHECK_OK(dask_value_as_i64(v, &i));
    dask_value_free(v);
    return i;
}

/* A layered graph of "sum" tasks; the outputs' values. */
static void layered(const dask_client *c, int64_t *out, size_t width, size_t layers) {
    dask_op_id sum;
    CHECK_OK(dask_op_lookup("sum", &sum));
    dask_graph *g = NULL;
    CHECK_OK(dask_graph_new(&g));
    size_t prev[64], cur[64];
    for (size_t i = 0; i < width; ++i) {
        dask_value *a = NULL, *b = NULL;
        dask_value_from_i64((int64_t)i, &a);
        dask_value_from_i64(1, &b);
        dask_arg args[2] = {{.kind = DASK_ARG_VALUE, .value = a}, {.kind = DASK_ARG_VALUE, .value = b}};
        CHECK_OK(dask_graph_add_task(g, NULL, sum, args, 2, &prev[i]));
        dask_value_free(a);
        dask_value_free(b);
    }
    for (size_t l = 1; l < layers; ++l) {
        for (size_t i = 0; i < width; ++i) {
            dask_arg args[3];
            for (size_t k = 0; k < 3; ++k)
                args[k] = (dask_arg){.kind = DASK_ARG_TASK, .task = prev[(i * 7 + k * 3 + l) % width]};
            CHECK_OK(dask_graph_add_task(g, NULL, sum, args, 3, &cur[i]));
        }
        memcpy(prev, cur, sizeof prev);
    }
    dask_future *fs[64] = {0};
    CHECK_OK(dask_client_compute(c, g, prev, width, fs));
    for (size_t i = 0; i < width; ++i) {
        out[i] = int_of(fs[i]);
        dask_future_free(fs[i]);
    }
    dask_graph_free(g);
}

static double sum_of(const dask_client *c, const dask_array *x) {
    dask_array *s = NULL;
    dask_value *v = NULL;
    double d = NAN;
    if (CHECK_OK(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &s)) &&
        CHECK_OK(dask_array_compute(c, s, &v))) {
        dask_buffer_view bv;
        if (CHECK_OK(dask_value_buffer(v, &bv, sizeof bv))) memcpy(&d, bv.data, sizeof d);
    }
    dask_value_free(v);
    dask_array_free(s);
    return d;
}

static dask_array *random_array(size_t n0, size_t n1, size_t c0, size_t c1) {
    size_t shape[2] = {n0, n1}, chunks[2] = {c0, c1};
    dask_array *x = NULL;
    CHECK_OK(dask_array_random_normal(5, 0.0, 1.0, 2, shape, chunks, &x));
    return x;
}

static void same_answers_as_the_pool(dask_cluster *cl, const dask_client *here) {
    dask_client *remote = NULL;
    if (!CHECK_OK(dask_cluster_client(cl, NULL, &remote))) return;
    size_t threads = 0;
    CHECK_OK(dask_client_threads(remote, &threads));
    CHECK(threads == 4, "the cluster's 2 workers x 2 threads (%zu)", threads);

    int64_t a[32], b[32];
    layered(remote, a, 32, 5);
    layered(here, b, 32, 5);
    CHECK(memcmp(a, b, sizeof a) == 0, "a layered graph gives the pool's values");

    /* scatter once, map over it */
    dask_op_id sum;
    CHECK_OK(dask_op_lookup("sum", &sum));
    dask_value *big = NULL;
    dask_value_from_i64(1000, &big);
    dask_future *shared = NULL;
    CHECK_OK(dask_client_scatter(remote, big, &shared));
    dask_value *items[10];
    for (int i = 0; i < 10; ++i) dask_value_from_i64(i, &items[i]);
    dask_future *fs[10] = {0};
    const dask_future *sh[1] = {shared};
    CHECK_OK(dask_client_map(remote, sum, (const dask_value *const *)items, 10, sh, 1, NULL, NULL, fs));
    int bad = 0;
    for (int i = 0; i < 10; ++i) {
        bad += int_of(fs[i]) != 1000 + i;
        dask_future_free(fs[i]);
        dask_value_free(items[i]);
    }
    CHECK(bad == 0, "map over scattered data: %d wrong", bad);
    dask_future_free(shared);
    dask_value_free(big);

    /* arrays: (x + 1).sum() bit for bit */
    dask_array *x = random_array(400, 300, 64, 50), *y = NULL;
    dask_operand args[2] = {{.kind = DASK_OPERAND_ARRAY, .array = x}, {.kind = DASK_OPERAND_FLOAT, .f = 1.0}};
    dask_ufunc *add = NULL;
    CHECK_OK(dask_ufunc_lookup("add", &add));
    CHECK_OK(dask_ufunc_call(add, args, 2, &y));
    double s_remote = sum_of(remote, y), s_here = sum_of(here, y);
    CHECK(memcmp(&s_remote, &s_here, sizeof s_remote) == 0, "(x + 1).sum() %.17g on the cluster, %.17g here",
          s_remote, s_here);

    /* named datasets: published from this client, read by a second one */
    CHECK_OK(dask_array_publish(remote, y, "y"));
    CHECK_ERR(dask_array_publish(remote, y, "y"), DASK_ERR_INVALID_ARGUMENT);
    dask_client *other = NULL;
    CHECK_OK(dask_cluster_client(cl, NULL, &other));
    dask_value *names = NULL;
    CHECK_OK(dask_client_list_datasets(other, &names));
    const void *text = NULL;
    size_t len = 0;
    CHECK_OK(dask_value_bytes(names, &text, &len));
    CHECK(len == 1 && memcmp(text, "y", 1) == 0, "the dataset is listed");
    dask_value_free(names);
    dask_array *got = NULL;
    if (CHECK_OK(dask_array_from_dataset(other, "y", &got))) {
        double s_got = sum_of(other, got);
        CHECK(memcmp(&s_got, &s_here, sizeof s_got) == 0, "the published array reads back");
        dask_array_free(got);
    }
    CHECK_OK(dask_client_unpublish_dataset(other, "y"));
    CHECK_ERR(dask_array_from_dataset(other, "y", &got), DASK_ERR_INVALID_ARGUMENT);
    dask_client_free(other);
    dask_array_free(y);
    dask_array_free(x);
    dask_ufunc_free(add);
    dask_client_free(remote);
}

typedef struct {
    const dask_client *client;
    const dask_array *x;
    double sum;
} sum_job;

static void *sum_in_thread(void *p) {
    sum_job *j = p;
    j->sum = sum_of(j->client, j->x);
    return NULL;
}

static void survives_a_killed_worker(const dask_client *here) {
    dask_cluster *cl = NULL;
    if (!CHECK_OK(dask_cluster_local(3, 1, NULL, &cl))) return;
    dask_client *remote = NULL;
    CHECK_OK(dask_cluster_client(cl, NULL, &remote));
    dask_array *x = random_array(3000, 2000, 100, 100), *e = NULL;
    dask_ufunc *exp_u = NULL;
    CHECK_OK(dask_ufunc_lookup("exp", &exp_u));
    dask_operand arg = {.kind = DASK_OPERAND_ARRAY, .array = x};
    CHECK_OK(dask_ufunc_call(exp_u, &arg, 1, &e));
    double want = sum_of(here, e);
    /* How long it takes on the cluster, then again with a worker killed a third of the way. */
    double t0 = now_s();
    sum_job first = {remote, e, 0};
    sum_in_thread(&first);
    double whole = now_s() - t0;
    sum_job job = {remote, e, 0};
    pthread_t th;
    pthread_create(&th, NULL, sum_in_thread, &job);
    struct timespec pause = {0, (long)(whole / 3 * 1e9)};
    nanosleep(&pause, NULL);
    CHECK_OK(dask_cluster_kill_worker(cl, 0));
    pthread_join(th, NULL);
    CHECK(memcmp(&first.sum, &want, sizeof want) == 0, "the sum on the cluster: %.17g, want %.17g", first.sum, want);
    CHECK(memcmp(&job.sum, &want, sizeof want) == 0, "the sum through a worker's death: %.17g, want %.17g", job.sum,
          want);
    CHECK_ERR(dask_cluster_kill_worker(cl, 0), DASK_ERR_INVALID_ARGUMENT);
    dask_array_free(e);
    dask_array_free(x);
    dask_ufunc_free(exp_u);
    dask_client_free(remote);
    dask_cluster_free(cl);
}

static void tls_cluster(void) {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.require_encryption = 1;
    dask_cluster *cl = NULL;
    if (!CHECK_OK(dask_cluster_local(1, 1, &cfg, &cl))) return;
    const char *addr = dask_cluster_address(cl);
    const char *dir = dask_cluster_tls_dir(cl);
    CHECK(addr && strncmp(addr, "tls://", 6) == 0, "a tls:// address (%s)", addr ? addr : "NULL");
    CHECK(dir != NULL, "the certificates' directory");
    if (!addr || !dir) {
        dask_cluster_free(cl);
        return;
    }
    char ca[4200], cert[4200], key[4200];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/client.pem", dir);
    snprintf(key, sizeof key, "%s/client-key.pem", dir);
    dask_config cc;
    dask_config_init(&cc, sizeof cc);
    cc.address = addr;
    cc.tls_ca = ca;
    cc.tls_cert = cert;
    cc.tls_key = key;
    cc.threads = 1;
    dask_client *c = NULL;
    if (CHECK_OK(dask_client_new(&cc, &c))) {
        int64_t a[8];
        layered(c, a, 8, 3);
        dask_client *here = new_client(1);
        int64_t b[8];
        layered(here, b, 8, 3);
        CHECK(memcmp(a, b, sizeof a) == 0, "the TLS cluster computes");
        dask_client_free(here);
        dask_client_free(c);
    }
    /* without certificates: refused with a clear message */
    dask_config none;
    dask_config_init(&none, sizeof none);
    none.address = addr;
    c = NULL;
    CHECK_ERR(dask_client_new(&none, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(strstr(dask_last_error_message(), "TLS credentials") != NULL, "%s", dask_last_error_message());
    /* a worker's certificate presented by a client */
    snprintf(cert, sizeof cert, "%s/worker.pem", dir);
    snprintf(key, sizeof key, "%s/worker-key.pem", dir);
    CHECK(dask_client_new(&cc, &c) != DASK_OK, "a client with a worker's certificate is refused");
    CHECK(strstr(dask_last_error_message(), "certificate is a worker's") != NULL, "%s", dask_last_error_message());
    /* half the TLS fields */
    cc.tls_key = NULL;
    CHECK_ERR(dask_client_new(&cc, &c), DASK_ERR_INVALID_ARGUMENT);
    dask_cluster_free(cl);
}

int main(void) {
    watchdog(300);
    dask_client *here = new_client(2);
    dask_cluster *cl = NULL;
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    CHECK_ERR(dask_cluster_local(0, 1, NULL, &cl), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_cluster_local(1, 1, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK(dask_cluster_address(NULL) == NULL, "no address for NULL");
    dask_cluster_free(NULL);
    if (CHECK_OK(dask_cluster_local(2, 2, &cfg, &cl))) {
        same_answers_as_the_pool(cl, here);
        dask_cluster_free(cl);
    }
    survives_a_killed_worker(here);
    tls_cluster();
    dask_client_free(here);
    return test_finish();
}
