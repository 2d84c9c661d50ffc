/* Memory limit and spilling from C: a persisted array four times the limit spills (the
 * stats say so) and reduces to the same sum as without a limit; an unusable spill directory
 * is an error at client creation; bad compression codes and thresholds are rejected. */
#include "harness.h"

static double array_sum(const dask_client *c, const dask_array *x) {
    dask_array *s = NULL;
    dask_value *v = NULL;
    double out = -1.0;
    if (!CHECK_OK(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s))) return out;
    if (CHECK_OK(dask_array_compute(c, s, &v))) {
        dask_buffer_view view;
        if (CHECK_OK(dask_value_buffer(v, &view, sizeof view))) out = *(const double *)view.data;
        dask_value_free(v);
    }
    dask_array_free(s);
    return out;
}

static void test_spill(void) {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 2;
    bool small = small_mode(); /* under valgrind: an eighth of the sizes */
    cfg.memory_limit = small ? 2u << 20 : 16u << 20;
    cfg.spill_compression = DASK_COMPRESSION_NONE;
    dask_client *c = NULL;
    if (!CHECK_OK(dask_client_new(&cfg, &c))) return;
    /* Four times the limit, in blocks of 1/16 of it. */
    const size_t shape[1] = {small ? 1u << 20 : 8u << 20}, chunks[1] = {small ? 1u << 14 : 1u << 17};
    dask_array *x = NULL, *p = NULL;
    CHECK_OK(dask_array_random_uniform(5, 0.0, 1.0, 1, shape, chunks, &x));
    CHECK_OK(dask_array_persist(c, x, &p));
    dask_memory_stats st;
    CHECK_OK(dask_client_memory_stats(c, &st, sizeof st));
    CHECK(st.spill_count > 0 && st.spilled_bytes > 0, "4x the limit spills (%llu spills)",
          (unsigned long long)st.spill_count);
    CHECK(st.managed_bytes <= cfg.memory_limit, "managed %llu bytes within the limit",
          (unsigned long long)st.managed_bytes);
    double got = array_sum(c, p);
    CHECK_OK(dask_client_memory_stats(c, &st, sizeof st));
    CHECK(st.unspill_count > 0, "the sum read spilled blocks back");
    dask_client *free_c = new_client(2);
    double want = array_sum(free_c, x);
    CHECK(got == want, "sum through spill %.17g, without limit %.17g", got, want);
    dask_array_free(p);
    dask_array_free(x);
    dask_client_free(free_c);
    dask_client_free(c);
}

static void test_bad_config(void) {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.memory_limit = 1u << 20;
    cfg.spill_dir = "/proc/no-such-dir/spill";
    dask_client *c = NULL;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_IO);
    CHECK(last_error_has("spill directory"), "names the spill directory: %s", dask_last_error_message());
    CHECK(c == NULL, "no client on failure");
    dask_config_init(&cfg, sizeof cfg);
    cfg.spill_compression = 7;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("DASK_COMPRESSION"), "names the codes: %s", dask_last_error_message());
    dask_config_init(&cfg, sizeof cfg);
    cfg.memory_fraction = 2.0;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("memory_fraction"), "names the field: %s", dask_last_error_message());
    /* A fraction of the machine's memory is a limit: stats work, nothing spills yet. */
    dask_config_init(&cfg, sizeof cfg);
    cfg.memory_fraction = 0.5;
    if (CHECK_OK(dask_client_new(&cfg, &c))) {
        dask_memory_stats st;
        CHECK_OK(dask_client_memory_stats(c, &st, sizeof st));
        CHECK(st.spill_count == 0 && st.process_bytes > 0, "a fresh limited client");
        dask_client_free(c);
        c = NULL;
    }
    dask_config_init(&cfg, sizeof cfg);
    cfg.memory_limit = 1u << 20;
    cfg.memory_pause = 1.5;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL, "no client on failure");
}

/* A host object type with its own serializer: a length and that many doubles. */
typedef struct {
    size_t n;
    double data[];
} blob;
static atomic_long blobs_alive, blobs_serialized, blobs_deserialized;

static blob *blob_new(size_t n, double base) {
    blob *b = malloc(sizeof(blob) + n * sizeof(double));
    b->n = n;
    for (size_t i = 0; i < n; ++i) b->data[i] = base + (double)i;
    atomic_fetch_add(&blobs_alive, 1);
    return b;
}
static int32_t blob_serialize(void *ctx, void *object, dask_value **out_bytes) {
    (void)ctx;
    const blob *b = object;
    atomic_fetch_add(&blobs_serialized, 1);
    return dask_value_from_bytes(b, sizeof(blob) + b->n * sizeof(double), out_bytes);
}
static int32_t blob_deserialize(void *ctx, const void *data, size_t len, void **out_object) {
    (void)ctx;
    const blob *src = data;
    if (len < sizeof(blob) || len != sizeof(blob) + src->n * sizeof(double)) return DASK_ERR_CORRUPT;
    blob *b = malloc(len);
    memcpy(b, data, len);
    atomic_fetch_add(&blobs_alive, 1);
    atomic_fetch_add(&blobs_deserialized, 1);
    *out_object = b;
    return DASK_OK;
}
static void blob_release(void *object) {
    free(object);
    atomic_fetch_sub(&blobs_alive, 1);
}

/* Host objects with a codec count towards the limit, are spilled through the codec, come back
 * equal, and are all released. Objects without one stay in memory. */
static void test_opaque_codec(void) {
    CHECK_OK(dask_opaque_codec_register("ctest-blob", blob_serialize, blob_deserialize, blob_release, NULL));
    CHECK_ERR(dask_opaque_codec_register("ctest-blob", blob_serialize, blob_deserialize, blob_release, NULL),
              DASK_ERR_ALREADY_EXISTS);
    dask_value *v = NULL;
    CHECK_ERR(dask_value_from_opaque_codec(NULL, 1, "ctest-no-such-codec", &v), DASK_ERR_NOT_FOUND);
    CHECK(v == NULL, "no value on failure");

    bool small = small_mode();
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 2;
    cfg.memory_limit = small ? 2u << 20 : 16u << 20;
    dask_client *c = NULL;
    if (!CHECK_OK(dask_client_new(&cfg, &c))) return;
    enum { N = 32 };
    const size_t n = cfg.memory_limit / 8 / sizeof(double); /* an eighth of the limit each */
    dask_future *fs[N];
    for (size_t k = 0; k < N; ++k) {
        blob *b = blob_new(n, 1000.0 * (double)k);
        dask_value *bv = NULL;
        CHECK_OK(dask_value_from_opaque_codec(b, sizeof(blob) + n * sizeof(double), "ctest-blob", &bv));
        CHECK_OK(dask_client_scatter(c, bv, &fs[k]));
        dask_value_free(bv);
    }
    dask_memory_stats st;
    WAIT_UNTIL((dask_client_memory_stats(c, &st, sizeof st) == DASK_OK && st.spilled_values >= N / 2), patience_s());
    CHECK(st.spilled_values >= N / 2, "opaque values were spilled (%llu)", (unsigned long long)st.spilled_values);
    CHECK(atomic_load(&blobs_serialized) >= N / 2, "through the codec");
    for (size_t k = 0; k < N; ++k) {
        dask_value *r = NULL;
        void *p = NULL;
        if (CHECK_OK(dask_future_result(fs[k], -1.0, &r)) && CHECK_OK(dask_value_opaque(r, &p))) {
            const blob *b = p;
            CHECK(b->n == n && b->data[0] == 1000.0 * (double)k && b->data[n - 1] == 1000.0 * (double)k + (double)(n - 1),
                  "object %zu comes back equal", k);
        }
        dask_value_free(r);
    }
    CHECK(atomic_load(&blobs_deserialized) > 0, "spilled objects were read back through the codec");
    for (size_t k = 0; k < N; ++k) dask_future_free(fs[k]);
    dask_client_free(c);
    CHECK(atomic_load(&blobs_alive) == 0, "every object was released (%ld alive)", atomic_load(&blobs_alive));
}

int main(void) {
    watchdog(small_mode() ? 300 : 120);
    test_bad_config();
    test_spill();
    test_opaque_codec();
    return test_finish();
}
