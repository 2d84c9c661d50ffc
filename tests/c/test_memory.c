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
        if (CHECK_OK(dask_value_buffer(v, &view))) out = *(const double *)view.data;
        dask_value_free(v);
    }
    dask_array_free(s);
    return out;
}

static void test_spill(void) {
    dask_config cfg;
    dask_config_init(&cfg);
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
    CHECK_OK(dask_client_memory_stats(c, &st));
    CHECK(st.spill_count > 0 && st.spilled_bytes > 0, "4x the limit spills (%llu spills)",
          (unsigned long long)st.spill_count);
    CHECK(st.managed_bytes <= cfg.memory_limit, "managed %llu bytes within the limit",
          (unsigned long long)st.managed_bytes);
    double got = array_sum(c, p);
    CHECK_OK(dask_client_memory_stats(c, &st));
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
    dask_config_init(&cfg);
    cfg.memory_limit = 1u << 20;
    cfg.spill_dir = "/proc/no-such-dir/spill";
    dask_client *c = NULL;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_IO);
    CHECK(last_error_has("spill directory"), "names the spill directory: %s", dask_last_error_message());
    CHECK(c == NULL, "no client on failure");
    dask_config_init(&cfg);
    cfg.spill_compression = 7;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("DASK_COMPRESSION"), "names the codes: %s", dask_last_error_message());
    dask_config_init(&cfg);
    cfg.memory_limit = 1u << 20;
    cfg.memory_pause = 1.5;
    CHECK_ERR(dask_client_new(&cfg, &c), DASK_ERR_INVALID_ARGUMENT);
    CHECK(c == NULL, "no client on failure");
}

int main(void) {
    watchdog(small_mode() ? 300 : 120);
    test_bad_config();
    test_spill();
    return test_finish();
}
