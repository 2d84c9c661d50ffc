/*
 * A caller compiled against an older header: built with build/abi/dask.h, a copy of today's
 * header whose versioned structs (dask_config, dask_memory_stats, dask_buffer_view,
 * dask_kind_vtable) have an older, smaller layout, and linked with today's library. The
 * library must read and write only the bytes the caller's struct sizes cover: canaries
 * placed right after each struct must survive, the fields the caller knows must work, and
 * the ones it does not know must take their defaults.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#define DASK_HARNESS_OLD_CONFIG /* the shrunk dask_config has no cluster fields */
#include "../c/harness.h"

#include <sys/mman.h>

#define CANARY 0xA5

typedef struct {
    unsigned char bytes[64];
} canary_t;

static bool canary_intact(const canary_t *c) {
    for (size_t i = 0; i < sizeof c->bytes; ++i)
        if (c->bytes[i] != CANARY) return false;
    return true;
}

/* `size` bytes that end right before an inaccessible page: reading or writing one byte past
 * them faults, so an over-read is a crash here rather than a silent wrong number. */
static void *at_page_end(size_t size) {
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + page, (size_t)page, PROT_NONE) != 0) {
        perror("mmap");
        exit(2);
    }
    return p + page - size;
}

static int32_t old_kind_call(void *ctx, const char *name, const dask_operand *args, size_t n, void **out) {
    (void)ctx, (void)args, (void)n;
    if (strcmp(name, "negative") != 0) return DASK_ERR_NOT_IMPLEMENTED;
    static int made;
    *out = &made;
    return DASK_OK;
}

int main(void) {
    watchdog(small_mode() ? 300 : 60);

    /* dask_config of the older layout: struct_size, threads, memory_limit. */
    struct {
        dask_config cfg;
        canary_t after;
    } c;
    memset(&c, 0x5A, sizeof c);
    memset(&c.after, CANARY, sizeof c.after);
    CHECK_OK(dask_config_init(&c.cfg, sizeof c.cfg));
    CHECK(canary_intact(&c.after), "dask_config_init writes nothing past the caller's struct");
    CHECK(c.cfg.struct_size == sizeof c.cfg && c.cfg.threads == 0 && c.cfg.memory_limit == 0,
          "the fields the caller knows get their defaults");
    c.cfg.threads = 3;
    c.cfg.memory_limit = (uint64_t)1 << 30; /* a limit, so the store spills and counts */
    dask_client *client = NULL;
    if (!CHECK_OK(dask_client_new(&c.cfg, &client))) return test_finish();
    size_t threads = 0;
    CHECK_OK(dask_client_threads(client, &threads));
    CHECK(threads == 3, "the thread count of an older config is honoured (%zu)", threads);
    CHECK(canary_intact(&c.after), "dask_client_new reads nothing past the caller's struct");

    /* A value stored, then the older dask_memory_stats: struct_size, managed_bytes, values. */
    double data[1000];
    for (int i = 0; i < 1000; ++i) data[i] = i;
    size_t shape = 1000;
    dask_value *v = NULL;
    dask_future *f = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, &shape, data, &v));
    CHECK_OK(dask_client_scatter(client, v, &f));
    struct {
        dask_memory_stats st;
        canary_t after;
    } m;
    memset(&m, 0, sizeof m);
    memset(&m.after, CANARY, sizeof m.after);
    CHECK_OK(dask_client_memory_stats(client, &m.st, sizeof m.st));
    CHECK(canary_intact(&m.after), "memory stats write nothing past the caller's struct");
    CHECK(m.st.struct_size == sizeof m.st, "struct_size says the bytes filled (%u)", m.st.struct_size);
    CHECK(m.st.values == 1 && m.st.managed_bytes == sizeof data, "the known fields are right (%llu values, %llu bytes)",
          (unsigned long long)m.st.values, (unsigned long long)m.st.managed_bytes);

    /* The older dask_buffer_view: struct_size, data, dtype. */
    struct {
        dask_buffer_view view;
        canary_t after;
    } b;
    memset(&b, 0, sizeof b);
    memset(&b.after, CANARY, sizeof b.after);
    CHECK_OK(dask_value_buffer(v, &b.view, sizeof b.view));
    CHECK(canary_intact(&b.after), "dask_value_buffer writes nothing past the caller's struct");
    CHECK(b.view.dtype == DASK_FLOAT64 && ((const double *)b.view.data)[999] == 999.0,
          "the view's known fields describe the buffer");

    /* An older config and vtable at the very end of the readable memory: any read past
     * their size faults. */
    dask_config *edge = at_page_end(sizeof *edge);
    CHECK_OK(dask_config_init(edge, sizeof *edge));
    edge->threads = 2;
    dask_client *edge_client = NULL;
    if (CHECK_OK(dask_client_new(edge, &edge_client))) {
        CHECK_OK(dask_client_threads(edge_client, &threads));
        CHECK(threads == 2, "a config at the end of the memory works (%zu threads)", threads);
        dask_client_free(edge_client);
    }

    /* The older dask_kind_vtable: struct_size, ufunc_call (no release: objects are static). */
    dask_kind_vtable *vt = at_page_end(sizeof *vt);
    vt->struct_size = sizeof *vt;
    vt->ufunc_call = old_kind_call;
    dask_kind_id kind = 0;
    if (CHECK_OK(dask_kind_register("abi.old.kind", 3, vt, NULL, &kind))) {
        static int obj;
        dask_array *x = NULL, *y = NULL;
        dask_ufunc *neg = NULL;
        CHECK_OK(dask_array_from_object(kind, &obj, &x));
        CHECK_OK(dask_ufunc_lookup("negative", &neg));
        dask_operand arg = {.kind = DASK_OPERAND_ARRAY, .array = x};
        CHECK_OK(dask_ufunc_call(neg, &arg, 1, &y));
        dask_array_free(y); /* no release function: the library calls nothing */
        dask_array_free(x);
        dask_ufunc_free(neg);
    }

    dask_future_free(f);
    dask_value_free(v);
    dask_client_free(client);
    return test_finish();
}
