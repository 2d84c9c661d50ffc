/*
 * dask.array through the C ABI, every result checked against plain C loops over the same
 * data (copied out with dask_array_compute): creation (chunking-independent random numbers),
 * arrays over copied and borrowed (zero-copy, released once) host buffers, ufunc calls with
 * broadcasting and scalars, astype, reductions, arg-reductions, ufunc reduce/accumulate,
 * tensordot/matmul, transpose, slicing, take, boolean select, masked assignment, reshape,
 * rechunk, concatenate/stack, map_blocks and from_block_fn with C operations, store,
 * compute_into, persist, fusion (task counts), a user ufunc with a C inner loop, and an array
 * kind implemented in C.
 *
 * No libm: the reference exp is computed here (the test links only libdask and pthreads).
 */
#include "harness.h"
#include "array_helpers.h"

#include <pthread.h>

static dask_client *C;
static pthread_t main_thread;

/* ---------------------------------------------------------------------------------------
 * Arrays made by a test section are kept here and freed at its end.
 * ------------------------------------------------------------------------------------- */

#define POOL_MAX 4096
static dask_array *pool[POOL_MAX];
static size_t npool;

static dask_array *keep(dask_array *a) {
    if (a != NULL) {
        if (npool == POOL_MAX) {
            fprintf(stderr, "array pool full\n");
            exit(2);
        }
        pool[npool++] = a;
    }
    return a;
}

static void drop_all(void) {
    for (size_t i = 0; i < npool; ++i) dask_array_free(pool[i]);
    npool = 0;
}

/* Runs `call` (which writes to &out_) and keeps the result: evaluates to the array or NULL. */
#define MK(call_with_out)                                                                              \
    __extension__({                                                                                    \
        dask_array *out_ = NULL;                                                                       \
        dask_array **OUT = &out_;                                                                      \
        (void)OUT;                                                                                     \
        CHECK_OK(call_with_out) ? keep(out_) : NULL;                                                   \
    })

/* ---------------------------------------------------------------------------------------
 * Operands, ufunc calls
 * ------------------------------------------------------------------------------------- */


static dask_ufunc *ufn(const char *name) {
    dask_ufunc *u = NULL;
    if (!CHECK_OK(dask_ufunc_lookup(name, &u))) fprintf(stderr, "  (ufunc %s)\n", name);
    return u;
}

static dask_array *ucall(const char *name, const dask_operand *args, size_t n) {
    dask_ufunc *u = ufn(name);
    dask_array *r = NULL;
    dask_status st = dask_ufunc_call(u, args, n, &r);
    if (!CHECK_OK(st)) fprintf(stderr, "  (ufunc %s)\n", name);
    dask_ufunc_free(u);
    return keep(r);
}
static dask_array *u1(const char *name, dask_operand a) { return ucall(name, &a, 1); }
static dask_array *u2(const char *name, dask_operand a, dask_operand b) {
    dask_operand args[2] = {a, b};
    return ucall(name, args, 2);
}
static dask_array *u3(const char *name, dask_operand a, dask_operand b, dask_operand c) {
    dask_operand args[3] = {a, b, c};
    return ucall(name, args, 3);
}

static dask_array *reduce(const dask_array *x, dask_reduce_op op, const size_t *axes, size_t nax, bool keepdims,
                          double ddof) {
    dask_array *r = NULL;
    if (!CHECK_OK(dask_array_reduce(x, op, axes, nax, keepdims, ddof, 0, &r)))
        fprintf(stderr, "  (reduce op %u, %zu axes)\n", op, nax);
    return keep(r);
}

static dask_array *rand_array(uint64_t seed, size_t r, size_t c, size_t cr, size_t cc) {
    size_t shape[2] = {r, c}, chunks[2] = {cr, cc};
    return MK(dask_array_random_uniform(seed, 0.0, 1.0, 2, shape, chunks, OUT));
}

/* ---------------------------------------------------------------------------------------
 * Host copies of computed arrays (every dtype converted to double)
 * ------------------------------------------------------------------------------------- */



static size_t dtype_size(dask_dtype dt) {
    switch (dt) {
    case DASK_BOOL: case DASK_INT8: case DASK_UINT8: return 1;
    case DASK_INT16: case DASK_UINT16: return 2;
    case DASK_INT32: case DASK_UINT32: case DASK_FLOAT32: return 4;
    default: return 8;
    }
}

/* Computes `a` and copies it out. On failure h->d is NULL (a failed check was counted). */
#define fetch(a, h) fetch_as((a), (h), #a)
static bool fetch_as(const dask_array *a, host *h, const char *what) {
    memset(h, 0, sizeof *h);
    if (a == NULL) return CHECK(false, "%s: no array (an earlier call failed)", what);
    dask_value *v = NULL;
    if (!CHECK_OK(dask_array_compute(C, a, &v))) {
        fprintf(stderr, "  (computing %s)\n", what);
        return false;
    }
    dask_buffer_view bv;
    bool ok = CHECK_OK(dask_value_buffer(v, &bv, sizeof bv));
    if (ok) ok = CHECK(bv.ndim <= 8 && bv.itemsize == dtype_size(bv.dtype), "a sane buffer view");
    if (ok) {
        size_t n = 1;
        for (size_t k = 0; k < bv.ndim; ++k) n *= bv.shape[k];
        ok = CHECK(n == bv.len && bv.c_contiguous, "compute gives a C-contiguous buffer (len %zu, %zu elements)",
                   bv.len, n);
        /* Its metadata agrees with the array's. */
        size_t nd = 99, shape[8];
        dask_dtype dt = 0;
        if (dask_array_ndim(a, &nd) == DASK_OK && nd == bv.ndim && dask_array_shape(a, shape) == DASK_OK &&
            dask_array_dtype(a, &dt) == DASK_OK) {
            bool same = dt == bv.dtype;
            for (size_t k = 0; k < nd; ++k) same = same && shape[k] == bv.shape[k];
            ok = CHECK(same, "computed buffer has the array's dtype and shape") && ok;
        } else {
            ok = CHECK(false, "ndim/shape/dtype of the array: %s", dask_last_error_message()) && ok;
        }
    }
    if (ok) {
        h->dt = bv.dtype;
        h->ndim = bv.ndim;
        h->n = bv.len;
        for (size_t k = 0; k < bv.ndim; ++k) h->shape[k] = bv.shape[k];
        h->d = malloc((bv.len ? bv.len : 1) * sizeof(double));
        if (!h->d) exit(2);
        for (size_t i = 0; i < bv.len; ++i) h->d[i] = view_elem(&bv, i);
    }
    dask_value_free(v);
    return ok;
}

static void host_free(host *h) {
    free(h->d);
    h->d = NULL;
}

static bool shape_is(const host *h, size_t ndim, const size_t *shape, const char *what) {
    bool ok = h->d != NULL && h->ndim == ndim;
    for (size_t k = 0; ok && k < ndim; ++k) ok = h->shape[k] == shape[k];
    char got[128] = "", want[128] = "";
    for (size_t k = 0; k < h->ndim && k < 8; ++k)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%zu,", h->shape[k]);
    for (size_t k = 0; k < ndim; ++k) snprintf(want + strlen(want), sizeof want - strlen(want), "%zu,", shape[k]);
    return CHECK(ok, "%s: shape (%s), want (%s)", what, got, want);
}

static bool close_enough(double got, double want, double rtol, double atol) {
    if (want != want) return got != got; /* NaN wants NaN */
    double diff = got - want;
    if (diff < 0) diff = -diff;
    double mag = want < 0 ? -want : want;
    return diff <= atol + rtol * mag;
}

/* One check: `n` values equal `want` within tolerance (exact when both are 0). */
static bool values_are(const host *h, const double *want, size_t n, double rtol, double atol, const char *what) {
    if (h->d == NULL) return CHECK(false, "%s: no data", what);
    if (h->n != n) return CHECK(false, "%s: %zu elements, want %zu", what, h->n, n);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; ++i)
        if (!close_enough(h->d[i], want[i], rtol, atol)) {
            if (bad++ == 0) first = i;
        }
    return CHECK(bad == 0, "%s: %zu of %zu values differ; first at %zu: got %.17g, want %.17g", what, bad, n,
                 first, bad ? h->d[first] : 0.0, bad ? want[first] : 0.0);
}

static bool dtype_is(const host *h, dask_dtype dt, const char *what) {
    return CHECK(h->d != NULL && h->dt == dt, "%s: dtype %u, want %u", what, h->d ? h->dt : 0u, dt);
}

/* Fetches `a` and checks dtype, shape and values in one go. */
static bool expect(const dask_array *a, dask_dtype dt, size_t ndim, const size_t *shape, const double *want,
                   double rtol, double atol, const char *what) {
    host h;
    bool ok = fetch_as(a, &h, what);
    if (ok) {
        ok = dtype_is(&h, dt, what);
        ok = shape_is(&h, ndim, shape, what) && ok;
        size_t n = 1;
        for (size_t k = 0; k < ndim; ++k) n *= shape[k];
        ok = values_are(&h, want, n, rtol, atol, what) && ok;
    }
    host_free(&h);
    return ok;
}

static bool expect_scalar(const dask_array *a, dask_dtype dt, double want, double rtol, const char *what) {
    return expect(a, dt, 0, NULL, &want, rtol, 0.0, what);
}

/* ---------------------------------------------------------------------------------------
 * Reference math without libm
 * ------------------------------------------------------------------------------------- */

/* exp(x) for |x| < 700: x = k ln2 + r with |r| <= ln2/2, Taylor series of e^r, times 2^k. */
static double ref_exp(double x) {
    const double ln2 = 0.69314718055994530942;
    double kf = x / ln2;
    long k = (long)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = x - (double)k * ln2;
    double term = 1.0, sum = 1.0;
    for (int i = 1; i < 30; ++i) {
        term *= r / i;
        sum += term;
    }
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return sum * scale;
}

static size_t prod(const size_t *s, size_t n) {
    size_t p = 1;
    for (size_t i = 0; i < n; ++i) p *= s[i];
    return p;
}


/* Expected chunk sizes along one axis. */
static bool chunks_are(const dask_array *a, size_t axis, const size_t *want, size_t n, const char *what) {
    size_t got[64], count = 0;
    if (!CHECK_OK(dask_array_chunks(a, axis, got, 64, &count))) return false;
    bool ok = count == n;
    for (size_t i = 0; ok && i < n; ++i) ok = got[i] == want[i];
    return CHECK(ok, "%s: axis %zu has %zu blocks (first %zu), want %zu (first %zu)", what, axis, count,
                 count ? got[0] : 0, n, n ? want[0] : 0);
}

/* ---------------------------------------------------------------------------------------
 * Creation
 * ------------------------------------------------------------------------------------- */

static void test_creation(void) {
    size_t shape[2] = {7, 5}, ch[2] = {3, 2};
    double *want = alloc_d(64);

    dask_array *z = MK(dask_array_zeros(DASK_INT32, 2, shape, ch, OUT));
    for (size_t i = 0; i < 35; ++i) want[i] = 0;
    expect(z, DASK_INT32, 2, shape, want, 0, 0, "zeros int32");
    size_t c0[3] = {3, 3, 1}, c1[3] = {2, 2, 1};
    chunks_are(z, 0, c0, 3, "zeros chunks");
    chunks_are(z, 1, c1, 3, "zeros chunks");
    size_t tasks = 0;
    CHECK_OK(dask_array_task_count(z, &tasks));
    CHECK(tasks == 9, "zeros (7,5) in (3,2) blocks is 9 tasks, got %zu", tasks);

    dask_array *o = MK(dask_array_ones(DASK_FLOAT32, 2, shape, ch, OUT));
    for (size_t i = 0; i < 35; ++i) want[i] = 1;
    expect(o, DASK_FLOAT32, 2, shape, want, 0, 0, "ones float32");

    dask_array *f = MK(dask_array_full(DASK_INT64, 2, shape, NULL, -3.0, OUT));
    for (size_t i = 0; i < 35; ++i) want[i] = -3;
    expect(f, DASK_INT64, 2, shape, want, 0, 0, "full int64 (auto chunks)");
    dask_array *f2 = MK(dask_array_full(DASK_FLOAT64, 2, shape, ch, 2.5, OUT));
    for (size_t i = 0; i < 35; ++i) want[i] = 2.5;
    expect(f2, DASK_FLOAT64, 2, shape, want, 0, 0, "full float64");

    dask_array *ar = MK(dask_array_arange(0.0, 10.0, 0.5, DASK_FLOAT64, 7, OUT));
    size_t n20[1] = {20};
    for (size_t i = 0; i < 20; ++i) want[i] = 0.5 * (double)i;
    expect(ar, DASK_FLOAT64, 1, n20, want, 0, 0, "arange(0, 10, 0.5)");
    size_t c7[3] = {7, 7, 6};
    chunks_are(ar, 0, c7, 3, "arange chunks");
    dask_array *ai = MK(dask_array_arange(2.0, 20.0, 3.0, DASK_INT64, 4, OUT));
    size_t n6[1] = {6};
    for (size_t i = 0; i < 6; ++i) want[i] = 2.0 + 3.0 * (double)i;
    expect(ai, DASK_INT64, 1, n6, want, 0, 0, "arange(2, 20, 3) int64");
    dask_array *ad = MK(dask_array_arange(5.0, -1.0, -2.0, DASK_INT32, 2, OUT));
    size_t n3[1] = {3};
    want[0] = 5, want[1] = 3, want[2] = 1;
    expect(ad, DASK_INT32, 1, n3, want, 0, 0, "arange(5, -1, -2) int32");

    dask_array *ls = MK(dask_array_linspace(0.0, 1.0, 11, true, 4, OUT));
    size_t n11[1] = {11};
    for (size_t i = 0; i < 11; ++i) want[i] = (double)i / 10.0;
    expect(ls, DASK_FLOAT64, 1, n11, want, 1e-15, 1e-15, "linspace(0, 1, 11)");
    dask_array *ls2 = MK(dask_array_linspace(-2.0, 3.0, 10, false, 3, OUT));
    size_t n10[1] = {10};
    for (size_t i = 0; i < 10; ++i) want[i] = -2.0 + 0.5 * (double)i;
    expect(ls2, DASK_FLOAT64, 1, n10, want, 1e-15, 1e-15, "linspace(-2, 3, 10, endpoint=False)");

    for (int64_t k = -2; k <= 1; k += 3) {
        dask_array *e = MK(dask_array_eye(5, 7, k, DASK_FLOAT64, 3, OUT));
        size_t s57[2] = {5, 7};
        for (size_t i = 0; i < 5; ++i)
            for (size_t j = 0; j < 7; ++j) want[i * 7 + j] = (int64_t)j - (int64_t)i == k ? 1.0 : 0.0;
        char what[64];
        snprintf(what, sizeof what, "eye(5, 7, k=%lld)", (long long)k);
        expect(e, DASK_FLOAT64, 2, s57, want, 0, 0, what);
    }
    free(want);

    /* Random numbers: the same seed gives the same values whatever the chunking. */
    size_t rs[2] = {50, 40};
    dask_array *r1 = rand_array(42, 50, 40, 7, 9);
    dask_array *r2 = rand_array(42, 50, 40, 25, 13);
    dask_array *r3 = MK(dask_array_random_uniform(42, 0.0, 1.0, 2, rs, NULL, OUT));
    dask_array *r4 = rand_array(43, 50, 40, 7, 9);
    size_t sc[2] = {10, 40};
    dask_array *r5 = MK(dask_array_random_uniform(42, -3.0, 5.0, 2, rs, sc, OUT));
    host h1, h2, h3, h4, h5;
    fetch(r1, &h1);
    fetch(r2, &h2);
    fetch(r3, &h3);
    fetch(r4, &h4);
    fetch(r5, &h5);
    if (h1.d && h2.d && h3.d && h4.d && h5.d) {
        CHECK(memcmp(h1.d, h2.d, 2000 * sizeof(double)) == 0, "uniform: (7,9) and (25,13) blocks give the same values");
        CHECK(memcmp(h1.d, h3.d, 2000 * sizeof(double)) == 0, "uniform: (7,9) and auto blocks give the same values");
        size_t same = 0, out_of_range = 0, out5 = 0;
        double sum = 0;
        for (size_t i = 0; i < 2000; ++i) {
            same += h1.d[i] == h4.d[i];
            out_of_range += !(h1.d[i] >= 0.0 && h1.d[i] < 1.0);
            out5 += !(h5.d[i] >= -3.0 && h5.d[i] < 5.0);
            sum += h1.d[i];
        }
        CHECK(same < 5, "uniform: another seed gives other values (%zu equal)", same);
        CHECK(out_of_range == 0 && out5 == 0, "uniform: values in [low, high) (%zu, %zu outside)", out_of_range, out5);
        CHECK(sum / 2000 > 0.45 && sum / 2000 < 0.55, "uniform: mean of 2000 values near 0.5 (%g)", sum / 2000);
        size_t distinct_rows = 0;
        for (size_t i = 1; i < 50; ++i) distinct_rows += memcmp(h1.d, h1.d + 40 * i, 40 * sizeof(double)) != 0;
        CHECK(distinct_rows == 49, "uniform: blocks are not copies of each other");
    }
    host_free(&h1);
    host_free(&h2);
    host_free(&h3);
    host_free(&h4);
    host_free(&h5);

    dask_array *n1 = MK(dask_array_random_normal(7, 10.0, 2.0, 2, rs, sc, OUT));
    size_t sc2[2] = {17, 3};
    dask_array *n2 = MK(dask_array_random_normal(7, 10.0, 2.0, 2, rs, sc2, OUT));
    fetch(n1, &h1);
    fetch(n2, &h2);
    if (h1.d && h2.d) {
        CHECK(memcmp(h1.d, h2.d, 2000 * sizeof(double)) == 0, "normal: chunking-independent");
        double s = 0, s2 = 0;
        for (size_t i = 0; i < 2000; ++i) s += h1.d[i];
        double m = s / 2000;
        for (size_t i = 0; i < 2000; ++i) s2 += (h1.d[i] - m) * (h1.d[i] - m);
        CHECK(m > 9.8 && m < 10.2 && s2 / 1999 > 3.5 && s2 / 1999 < 4.5, "normal(10, 2): mean %g, var %g", m,
              s2 / 1999);
    }
    host_free(&h1);
    host_free(&h2);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Arrays over host buffers: copied, and borrowed without a copy
 * ------------------------------------------------------------------------------------- */

static dask_op_id op_double, op_blockfn;

typedef struct {
    atomic_long calls, bad, inside;
    const char *lo, *hi; /* host memory range: blocks seen inside it are views of it */
} double_ctx;
static double_ctx dctx;

/* double(block) = 2 * block as a new C-contiguous float64 buffer (input read via strides). */
static int32_t double_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    double_ctx *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK || v.dtype != DASK_FLOAT64) {
        atomic_fetch_add(&c->bad, 1);
        dask_error_set("double takes one float64 block");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    if (c->lo != NULL && (const char *)v.data >= c->lo && (const char *)v.data < c->hi)
        atomic_fetch_add(&c->inside, 1);
    dask_value *res = NULL;
    void *data = NULL;
    dask_status st = dask_value_new_buffer(DASK_FLOAT64, v.ndim, v.shape, &res, &data);
    if (st != DASK_OK) return st;
    double *o = data;
    for (size_t k = 0; k < v.len; ++k) o[k] = 2.0 * view_elem(&v, k);
    *out = res;
    return 0;
}

typedef struct {
    atomic_long released;
    atomic_long wrong_ctx;
} release_ctx;
static release_ctx rel;

static void on_release(void *ctx) {
    if (ctx != &rel) atomic_fetch_add(&rel.wrong_ctx, 1);
    atomic_fetch_add(&rel.released, 1);
}

static void test_from_value(void) {
    enum { R = 13, K = 11 };
    size_t shape[2] = {R, K}, ch[2] = {4, 3};
    double *data = alloc_d(R * K), *want = alloc_d(R * K);
    for (size_t i = 0; i < R * K; ++i) data[i] = want[i] = (double)i * 0.25 - 7.0;

    /* Copy: later changes to the host memory do not show. */
    dask_value *v = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, shape, data, &v));
    dask_array *x = MK(dask_array_from_value(v, ch, OUT));
    dask_value_free(v);
    for (size_t i = 0; i < R * K; ++i) data[i] = -1.0;
    expect(x, DASK_FLOAT64, 2, shape, want, 0, 0, "from_value(copy)");
    size_t c0[4] = {4, 4, 4, 1};
    chunks_are(x, 0, c0, 4, "from_value chunks");
    int32_t ints[6] = {3, -1, 4, 1, -5, 9};
    size_t s23[2] = {2, 3};
    CHECK_OK(dask_value_copy_buffer(DASK_INT32, 2, s23, ints, &v));
    dask_array *xi = MK(dask_array_from_value(v, NULL, OUT));
    dask_value_free(v);
    double wi[6] = {3, -1, 4, 1, -5, 9};
    expect(xi, DASK_INT32, 2, s23, wi, 0, 0, "from_value(copy int32, auto chunks)");
    drop_all();

    /* Borrow: blocks are views of the host memory, released once after the last user. */
    for (size_t i = 0; i < R * K; ++i) data[i] = want[i];
    atomic_store(&rel.released, 0);
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, shape, NULL, data, R * K * sizeof(double), on_release, &rel, &v));
    dask_array *b = NULL, *y = NULL, *s = NULL;
    CHECK_OK(dask_array_from_value(v, ch, &b));
    dask_value_free(v);
    CHECK(atomic_load(&rel.released) == 0, "wrap: not released while an array uses the memory");
    dctx.lo = (const char *)data;
    dctx.hi = (const char *)(data + R * K);
    atomic_store(&dctx.inside, 0);
    atomic_store(&dctx.calls, 0);
    const dask_array *ins[1] = {b};
    CHECK_OK(dask_array_map_blocks(op_double, ins, 1, DASK_FLOAT64, &y));
    dask_ufunc *add = ufn("add");
    dask_operand args[2] = {opa(b), opf(1.0)};
    CHECK_OK(dask_ufunc_call(add, args, 2, &s));
    dask_ufunc_free(add);
    dask_array_free(b); /* y and s still need the memory */
    CHECK(atomic_load(&rel.released) == 0, "wrap: not released while derived arrays need it");
    double *w2 = alloc_d(R * K);
    for (size_t i = 0; i < R * K; ++i) w2[i] = 2.0 * want[i];
    expect(y, DASK_FLOAT64, 2, shape, w2, 0, 0, "map_blocks(double) over borrowed memory");
    CHECK(atomic_load(&dctx.inside) == 16 && atomic_load(&dctx.calls) == 16,
          "wrap: each of the 16 blocks is a view into the host memory (%ld of %ld calls)",
          atomic_load(&dctx.inside), atomic_load(&dctx.calls));
    dctx.lo = dctx.hi = NULL;
    for (size_t i = 0; i < R * K; ++i) w2[i] = want[i] + 1.0;
    expect(s, DASK_FLOAT64, 2, shape, w2, 0, 0, "add(borrowed, 1.0)");
    CHECK(atomic_load(&rel.released) == 0, "wrap: computing does not release it");
    dask_array_free(y);
    CHECK(atomic_load(&rel.released) == 0, "wrap: not released while one array is left");
    dask_array_free(s);
    CHECK(WAIT_UNTIL(atomic_load(&rel.released) == 1, patience_s()), "wrap: released after the last array");
    sleep_ms(5);
    CHECK(atomic_load(&rel.released) == 1 && atomic_load(&rel.wrong_ctx) == 0,
          "wrap: released exactly once, with its ctx (%ld)", atomic_load(&rel.released));

    /* A borrowed value with strides (a transposed view of host memory, no copy). */
    atomic_store(&rel.released, 0);
    size_t tshape[2] = {K, R};
    ptrdiff_t tstr[2] = {(ptrdiff_t)sizeof(double), (ptrdiff_t)(K * sizeof(double))};
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, tshape, tstr, data, R * K * sizeof(double), on_release, &rel, &v));
    size_t tch[2] = {5, 6};
    dask_array *t = NULL;
    CHECK_OK(dask_array_from_value(v, tch, &t));
    for (size_t i = 0; i < K; ++i)
        for (size_t j = 0; j < R; ++j) w2[i * R + j] = want[j * K + i];
    expect(t, DASK_FLOAT64, 2, tshape, w2, 0, 0, "from_value(strided borrowed view)");
    dask_array_free(t);
    CHECK(atomic_load(&rel.released) == 0, "wrap: the value handle still holds the memory");
    dask_value_free(v);
    CHECK(WAIT_UNTIL(atomic_load(&rel.released) == 1, patience_s()), "wrap (strided): released once at the end");
    free(w2);
    free(data);
    free(want);
}

/* ---------------------------------------------------------------------------------------
 * Elementwise
 * ------------------------------------------------------------------------------------- */

static void test_elementwise(void) {
    enum { R = 40, K = 30 };
    size_t shape[2] = {R, K};
    dask_array *x = rand_array(1, R, K, 7, 8);
    dask_array *v = MK(dask_array_linspace(-1.0, 2.0, K, true, 9, OUT));
    host hx, hv;
    fetch(x, &hx);
    fetch(v, &hv);
    if (!hx.d || !hv.d) {
        host_free(&hx);
        host_free(&hv);
        drop_all();
        return;
    }
    const double *X = hx.d, *V = hv.d;
    double *w = alloc_d(R * K);

    /* add with broadcasting (40,30) + (30,), different chunks on the shared axis */
    dask_array *s = u2("add", opa(x), opa(v));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = X[i * K + j] + V[j];
    expect(s, DASK_FLOAT64, 2, shape, w, 0, 0, "add((40,30), (30,))");
    dask_array *s2 = u2("add", opa(v), opa(x)); /* the other way round */
    expect(s2, DASK_FLOAT64, 2, shape, w, 0, 0, "add((30,), (40,30))");

    /* (40,1) + (30,) -> (40,30) */
    dask_array *col = NULL;
    {
        dask_array *a40 = MK(dask_array_arange(0.0, 40.0, 1.0, DASK_FLOAT64, 16, OUT));
        int64_t s401[2] = {40, 1};
        col = MK(dask_array_reshape(a40, 2, s401, OUT));
    }
    dask_array *outer = u2("multiply", opa(col), opa(v));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = (double)i * V[j];
    expect(outer, DASK_FLOAT64, 2, shape, w, 0, 0, "multiply((40,1), (30,))");

    /* multiply by a float scalar; an int scalar keeps float64 */
    dask_array *m = u2("multiply", opa(x), opf(2.5));
    for (size_t i = 0; i < R * K; ++i) w[i] = X[i] * 2.5;
    expect(m, DASK_FLOAT64, 2, shape, w, 0, 0, "multiply(x, 2.5)");
    dask_array *m3 = u2("subtract", opi(3), opa(x));
    for (size_t i = 0; i < R * K; ++i) w[i] = 3.0 - X[i];
    expect(m3, DASK_FLOAT64, 2, shape, w, 0, 0, "subtract(3, x)");

    /* exp */
    dask_array *e = u1("exp", opa(x));
    for (size_t i = 0; i < R * K; ++i) w[i] = ref_exp(X[i]);
    expect(e, DASK_FLOAT64, 2, shape, w, 1e-14, 0, "exp(x)");
    dask_array *e2 = u1("exp", opa(v));
    double w30[30];
    for (size_t j = 0; j < K; ++j) w30[j] = ref_exp(V[j]);
    size_t s30[1] = {30};
    expect(e2, DASK_FLOAT64, 1, s30, w30, 1e-14, 0, "exp(linspace)");

    /* greater -> bool */
    dask_array *g = u2("greater", opa(x), opf(0.5));
    for (size_t i = 0; i < R * K; ++i) w[i] = X[i] > 0.5;
    expect(g, DASK_BOOL, 2, shape, w, 0, 0, "greater(x, 0.5)");
    dask_array *gv = u2("greater", opa(x), opa(v));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = X[i * K + j] > V[j];
    expect(gv, DASK_BOOL, 2, shape, w, 0, 0, "greater(x, v) broadcast");

    /* where (the ufunc, and dask_array_where) */
    dask_array *wh = u3("where", opa(g), opa(x), opf(-1.0));
    for (size_t i = 0; i < R * K; ++i) w[i] = X[i] > 0.5 ? X[i] : -1.0;
    expect(wh, DASK_FLOAT64, 2, shape, w, 0, 0, "where(x > 0.5, x, -1.0)");
    dask_operand a = opa(v), b = opa(x);
    dask_array *wh2 = MK(dask_array_where(gv, &a, &b, OUT));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = X[i * K + j] > V[j] ? V[j] : X[i * K + j];
    expect(wh2, DASK_FLOAT64, 2, shape, w, 0, 0, "dask_array_where(x > v, v, x) (= minimum)");
    dask_array *mn = u2("minimum", opa(x), opa(v));
    expect(mn, DASK_FLOAT64, 2, shape, w, 0, 0, "minimum(x, v)");

    /* logical_and of two comparisons */
    dask_array *lo = u2("greater", opa(x), opf(0.2));
    dask_array *hi = u2("less", opa(x), opf(0.7));
    dask_array *la = u2("logical_and", opa(lo), opa(hi));
    for (size_t i = 0; i < R * K; ++i) w[i] = X[i] > 0.2 && X[i] < 0.7;
    expect(la, DASK_BOOL, 2, shape, w, 0, 0, "logical_and(x > 0.2, x < 0.7)");
    dask_array *ln = u1("logical_not", opa(la));
    for (size_t i = 0; i < R * K; ++i) w[i] = !(X[i] > 0.2 && X[i] < 0.7);
    expect(ln, DASK_BOOL, 2, shape, w, 0, 0, "logical_not(...)");

    /* integer arithmetic stays integer */
    dask_array *ia = MK(dask_array_arange(0.0, 12.0, 1.0, DASK_INT64, 5, OUT));
    dask_array *ib = u2("add", opa(ia), opi(-4));
    dask_array *ic = u2("multiply", opa(ib), opa(ib));
    double w12[12];
    for (int i = 0; i < 12; ++i) w12[i] = (double)((i - 4) * (i - 4));
    size_t s12[1] = {12};
    expect(ic, DASK_INT64, 1, s12, w12, 0, 0, "(arange(12) - 4)**2 int64");
    dask_array *id = u2("add", opa(ia), opf(0.5));
    for (int i = 0; i < 12; ++i) w12[i] = i + 0.5;
    expect(id, DASK_FLOAT64, 1, s12, w12, 0, 0, "int64 array + float scalar -> float64");

    /* scalars only: a 0-d dense result */
    dask_array *sc = u2("add", opf(2.0), opf(3.5));
    expect_scalar(sc, DASK_FLOAT64, 5.5, 0, "add(2.0, 3.5) on scalars");
    size_t nd = 9;
    CHECK_OK(dask_array_ndim(sc, &nd));
    CHECK(nd == 0, "a scalar result has 0 dimensions (%zu)", nd);

    /* a long chain, all fused */
    dask_array *c1 = u1("exp", opa(x));
    dask_array *c2 = u2("multiply", opa(c1), opf(2.0));
    dask_array *c3 = u2("add", opa(c2), opf(1.0));
    dask_array *c4 = u2("true_divide", opa(c3), opa(v));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = (ref_exp(X[i * K + j]) * 2.0 + 1.0) / V[j];
    expect(c4, DASK_FLOAT64, 2, shape, w, 1e-13, 0, "(exp(x)*2+1)/v");

    free(w);
    host_free(&hx);
    host_free(&hv);
    drop_all();
}

static void test_astype(void) {
    size_t shape[2] = {9, 8}, ch[2] = {4, 3};
    size_t n = 72;
    dask_array *x = MK(dask_array_random_uniform(5, -20.0, 20.0, 2, shape, ch, OUT));
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    double w[72];
    dask_array *i32 = MK(dask_array_astype(x, DASK_INT32, OUT));
    for (size_t i = 0; i < n; ++i) w[i] = (double)(int32_t)hx.d[i]; /* truncation toward zero */
    expect(i32, DASK_INT32, 2, shape, w, 0, 0, "astype(int32) truncates");
    dask_array *f32 = MK(dask_array_astype(x, DASK_FLOAT32, OUT));
    for (size_t i = 0; i < n; ++i) w[i] = (double)(float)hx.d[i];
    expect(f32, DASK_FLOAT32, 2, shape, w, 0, 0, "astype(float32)");
    dask_array *bo = MK(dask_array_astype(i32, DASK_BOOL, OUT));
    for (size_t i = 0; i < n; ++i) w[i] = (int32_t)hx.d[i] != 0;
    expect(bo, DASK_BOOL, 2, shape, w, 0, 0, "astype(int32 -> bool)");
    dask_array *back = MK(dask_array_astype(bo, DASK_FLOAT64, OUT));
    expect(back, DASK_FLOAT64, 2, shape, w, 0, 0, "astype(bool -> float64)");
    dask_array *u8 = MK(dask_array_astype(back, DASK_UINT8, OUT));
    expect(u8, DASK_UINT8, 2, shape, w, 0, 0, "astype(float64 -> uint8)");
    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Reductions
 * ------------------------------------------------------------------------------------- */

enum { RD_SUM, RD_MEAN, RD_MIN, RD_MAX, RD_VAR1, RD_VAR0, RD_ANY, RD_ALL, RD_CNZ, RD_PROD };

/* Reference reduction of an r x c matrix: axis -1 all, 0, or 1. Writes 1, c or r values. */
static void ref_reduce(const double *x, size_t r, size_t c, int op, int axis, double *out) {
    size_t nout = axis < 0 ? 1 : axis == 0 ? c : r;
    size_t len = axis < 0 ? r * c : axis == 0 ? r : c;
    for (size_t o = 0; o < nout; ++o) {
#define AT(k) (axis < 0 ? x[k] : axis == 0 ? x[(k) * c + o] : x[o * c + (k)])
        double acc = 0;
        switch (op) {
        case RD_SUM: case RD_MEAN:
            for (size_t k = 0; k < len; ++k) acc += AT(k);
            if (op == RD_MEAN) acc /= (double)len;
            break;
        case RD_PROD:
            acc = 1;
            for (size_t k = 0; k < len; ++k) acc *= AT(k);
            break;
        case RD_MIN: case RD_MAX:
            acc = AT(0);
            for (size_t k = 1; k < len; ++k) {
                double y = AT(k);
                if (op == RD_MIN ? y < acc : y > acc) acc = y;
            }
            break;
        case RD_VAR0: case RD_VAR1: {
            double m = 0;
            for (size_t k = 0; k < len; ++k) m += AT(k);
            m /= (double)len;
            for (size_t k = 0; k < len; ++k) acc += (AT(k) - m) * (AT(k) - m);
            acc /= (double)len - (op == RD_VAR1 ? 1.0 : 0.0);
            break;
        }
        case RD_ANY:
            for (size_t k = 0; k < len; ++k) acc = acc || AT(k) != 0;
            break;
        case RD_ALL:
            acc = 1;
            for (size_t k = 0; k < len; ++k) acc = acc && AT(k) != 0;
            break;
        case RD_CNZ:
            for (size_t k = 0; k < len; ++k) acc += AT(k) != 0;
            break;
        }
        out[o] = acc;
#undef AT
    }
}

static void check_reduction(const dask_array *x, const host *hx, dask_reduce_op op, int ref_op, double ddof,
                            dask_dtype want_dt, const char *name) {
    size_t r = hx->shape[0], c = hx->shape[1];
    double *w = alloc_d(r > c ? r : c);
    double rtol = want_dt == DASK_FLOAT64 ? 1e-12 : 0.0;
    for (int axis = -1; axis <= 1; ++axis) {
        for (int kd = 0; kd <= 1; ++kd) {
            size_t ax = (size_t)(axis < 0 ? 0 : axis);
            dask_array *res = reduce(x, op, axis < 0 ? NULL : &ax, axis < 0 ? 0 : 1, kd, ddof);
            ref_reduce(hx->d, r, c, ref_op, axis, w);
            size_t shape[2], nd = 0;
            if (axis < 0) {
                if (kd) shape[0] = shape[1] = 1, nd = 2;
            } else if (kd) {
                shape[0] = axis == 0 ? 1 : r;
                shape[1] = axis == 0 ? c : 1;
                nd = 2;
            } else {
                shape[0] = axis == 0 ? c : r;
                nd = 1;
            }
            char what[96];
            snprintf(what, sizeof what, "%s(axis=%s, keepdims=%d)", name,
                     axis < 0 ? "None" : axis == 0 ? "0" : "1", kd);
            if (op == DASK_REDUCE_STD) {
                /* std: compare its square with the reference variance (no sqrt without libm) */
                host h;
                if (fetch_as(res, &h, what)) {
                    shape_is(&h, nd, shape, what);
                    dtype_is(&h, want_dt, what);
                    for (size_t i = 0; i < h.n; ++i) h.d[i] = h.d[i] * h.d[i];
                    values_are(&h, w, prod(shape, nd), 1e-12, 0, what);
                }
                host_free(&h);
            } else {
                expect(res, want_dt, nd, shape, w, rtol, 0, what);
            }
        }
    }
    free(w);
}

static void test_reductions(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(2, R, K, 7, 8);
    /* some exact zeros for count_nonzero/any/all */
    dask_array *lt = u2("less", opa(x), opf(0.3));
    dask_operand zero = opf(0.0);
    dask_array *xz = MK(dask_array_set_where(x, lt, &zero, OUT));
    host hx, hz;
    fetch(x, &hx);
    fetch(xz, &hz);
    if (!hx.d || !hz.d) {
        host_free(&hx);
        host_free(&hz);
        drop_all();
        return;
    }
    check_reduction(x, &hx, DASK_REDUCE_SUM, RD_SUM, 0, DASK_FLOAT64, "sum");
    check_reduction(x, &hx, DASK_REDUCE_MEAN, RD_MEAN, 0, DASK_FLOAT64, "mean");
    check_reduction(x, &hx, DASK_REDUCE_MIN, RD_MIN, 0, DASK_FLOAT64, "min");
    check_reduction(x, &hx, DASK_REDUCE_MAX, RD_MAX, 0, DASK_FLOAT64, "max");
    check_reduction(x, &hx, DASK_REDUCE_VAR, RD_VAR1, 1.0, DASK_FLOAT64, "var(ddof=1)");
    check_reduction(x, &hx, DASK_REDUCE_VAR, RD_VAR0, 0.0, DASK_FLOAT64, "var(ddof=0)");
    check_reduction(x, &hx, DASK_REDUCE_STD, RD_VAR1, 1.0, DASK_FLOAT64, "std(ddof=1)");
    check_reduction(x, &hx, DASK_REDUCE_STD, RD_VAR0, 0.0, DASK_FLOAT64, "std(ddof=0)");
    check_reduction(xz, &hz, DASK_REDUCE_COUNT_NONZERO, RD_CNZ, 0, DASK_INT64, "count_nonzero");
    check_reduction(xz, &hz, DASK_REDUCE_ANY, RD_ANY, 0, DASK_BOOL, "any");
    check_reduction(xz, &hz, DASK_REDUCE_ALL, RD_ALL, 0, DASK_BOOL, "all");
    check_reduction(xz, &hz, DASK_REDUCE_SUM, RD_SUM, 0, DASK_FLOAT64, "sum(with zeros)");

    /* all/any over boolean arrays with a known answer */
    dask_array *ge0 = u2("greater_equal", opa(x), opf(0.0));
    expect_scalar(reduce(ge0, DASK_REDUCE_ALL, NULL, 0, false, 0), DASK_BOOL, 1, 0, "all(x >= 0)");
    dask_array *gt2 = u2("greater", opa(x), opf(2.0));
    expect_scalar(reduce(gt2, DASK_REDUCE_ANY, NULL, 0, false, 0), DASK_BOOL, 0, 0, "any(x > 2)");

    /* prod of values near 1 */
    dask_array *near1 = u2("add", opa(u2("multiply", opa(x), opf(0.01))), opf(0.995));
    host hn;
    if (fetch(near1, &hn)) check_reduction(near1, &hn, DASK_REDUCE_PROD, RD_PROD, 0, DASK_FLOAT64, "prod");
    host_free(&hn);

    /* split_every changes the tree, not the answer */
    dask_array *sa = NULL;
    CHECK_OK(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0, 2, &sa));
    keep(sa);
    double ws;
    ref_reduce(hx.d, R, K, RD_SUM, -1, &ws);
    expect_scalar(sa, DASK_FLOAT64, ws, 1e-12, "sum with split_every=2");

    /* integer sums are exact and int64; mean of ints is float64 */
    dask_array *ai = MK(dask_array_arange(1.0, 1001.0, 1.0, DASK_INT32, 64, OUT));
    expect_scalar(reduce(ai, DASK_REDUCE_SUM, NULL, 0, false, 0), DASK_INT64, 500500, 0, "sum(arange(1,1001) int32)");
    expect_scalar(reduce(ai, DASK_REDUCE_MEAN, NULL, 0, false, 0), DASK_FLOAT64, 500.5, 1e-15, "mean of int32");
    expect_scalar(reduce(ai, DASK_REDUCE_MAX, NULL, 0, false, 0), DASK_INT32, 1000, 0, "max of int32 keeps int32");

    /* reducing both axes listed explicitly is the same as all axes */
    size_t both[2] = {1, 0};
    expect_scalar(reduce(x, DASK_REDUCE_SUM, both, 2, false, 0), DASK_FLOAT64, ws, 1e-12, "sum(axis=(1,0))");

    /* sum of an empty array is 0; 3-d reduction over the middle axis */
    size_t e0[2] = {0, 5}, ech[2] = {3, 3};
    dask_array *empty = MK(dask_array_zeros(DASK_FLOAT64, 2, e0, ech, OUT));
    expect_scalar(reduce(empty, DASK_REDUCE_SUM, NULL, 0, false, 0), DASK_FLOAT64, 0, 0, "sum of an empty array");
    int64_t s3[3] = {4, 10, 30};
    dask_array *x3 = MK(dask_array_reshape(x, 3, s3, OUT));
    size_t mid = 1;
    dask_array *r3 = reduce(x3, DASK_REDUCE_MAX, &mid, 1, false, 0);
    double w3[120];
    for (size_t a = 0; a < 4; ++a)
        for (size_t c = 0; c < 30; ++c) {
            double m = -1;
            for (size_t b = 0; b < 10; ++b) {
                double y = hx.d[(a * 10 + b) * 30 + c];
                if (y > m) m = y;
            }
            w3[a * 30 + c] = m;
        }
    size_t s430[2] = {4, 30};
    expect(r3, DASK_FLOAT64, 2, s430, w3, 0, 0, "max over the middle axis of (4,10,30)");

    host_free(&hx);
    host_free(&hz);
    drop_all();
}

static void test_argreduce(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(3, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    for (int mx = 0; mx <= 1; ++mx) {
        dask_array *all = NULL, *a0 = NULL, *a1 = NULL;
        CHECK_OK(dask_array_arg_reduce(x, mx, 0, true, &all));
        CHECK_OK(dask_array_arg_reduce(x, mx, 0, false, &a0));
        CHECK_OK(dask_array_arg_reduce(x, mx, 1, false, &a1));
        keep(all), keep(a0), keep(a1);
        size_t best = 0;
        for (size_t i = 1; i < R * K; ++i)
            if (mx ? hx.d[i] > hx.d[best] : hx.d[i] < hx.d[best]) best = i;
        expect_scalar(all, DASK_INT64, (double)best, 0, mx ? "argmax()" : "argmin()");
        double w0[K], w1[R];
        for (size_t j = 0; j < K; ++j) {
            size_t b = 0;
            for (size_t i = 1; i < R; ++i)
                if (mx ? hx.d[i * K + j] > hx.d[b * K + j] : hx.d[i * K + j] < hx.d[b * K + j]) b = i;
            w0[j] = (double)b;
        }
        for (size_t i = 0; i < R; ++i) {
            size_t b = 0;
            for (size_t j = 1; j < K; ++j)
                if (mx ? hx.d[i * K + j] > hx.d[i * K + b] : hx.d[i * K + j] < hx.d[i * K + b]) b = j;
            w1[i] = (double)b;
        }
        size_t sk[1] = {K}, sr[1] = {R};
        expect(a0, DASK_INT64, 1, sk, w0, 0, 0, mx ? "argmax(axis=0)" : "argmin(axis=0)");
        expect(a1, DASK_INT64, 1, sr, w1, 0, 0, mx ? "argmax(axis=1)" : "argmin(axis=1)");
    }

    /* ties across blocks resolve to the first occurrence; NaN wins */
    double d[30];
    for (int i = 0; i < 30; ++i) d[i] = (double)(i % 7);
    d[4] = 9, d[22] = 9, d[9] = -2, d[27] = -2;
    size_t s30[1] = {30}, c4[1] = {4};
    dask_value *v = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, s30, d, &v));
    dask_array *t = MK(dask_array_from_value(v, c4, OUT));
    dask_value_free(v);
    dask_array *amax = MK(dask_array_arg_reduce(t, true, 0, true, OUT));
    dask_array *amin = MK(dask_array_arg_reduce(t, false, 0, false, OUT));
    expect_scalar(amax, DASK_INT64, 4, 0, "argmax with a tie: first occurrence");
    expect_scalar(amin, DASK_INT64, 9, 0, "argmin with a tie: first occurrence");
    d[13] = __builtin_nan("");
    d[25] = __builtin_nan("");
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, s30, d, &v));
    dask_array *tn = MK(dask_array_from_value(v, c4, OUT));
    dask_value_free(v);
    expect_scalar(MK(dask_array_arg_reduce(tn, true, 0, true, OUT)), DASK_INT64, 13, 0, "argmax with NaN: the first NaN");
    expect_scalar(MK(dask_array_arg_reduce(tn, false, 0, true, OUT)), DASK_INT64, 13, 0, "argmin with NaN: the first NaN");
    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * ufunc.reduce and ufunc.accumulate
 * ------------------------------------------------------------------------------------- */

static void test_ufunc_reduce_accumulate(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(4, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    const double *X = hx.d;
    dask_ufunc *add = ufn("add"), *mul = ufn("multiply"), *mx = ufn("maximum");
    size_t nin = 0;
    CHECK_OK(dask_ufunc_nin(add, &nin));
    CHECK(nin == 2, "add takes 2 inputs (%zu)", nin);

    double w[R * K];
    dask_array *r = NULL;
    CHECK_OK(dask_ufunc_reduce(add, x, 0, true, false, &r));
    ref_reduce(X, R, K, RD_SUM, -1, w);
    expect_scalar(keep(r), DASK_FLOAT64, w[0], 1e-12, "add.reduce(x, axis=None)");
    CHECK_OK(dask_ufunc_reduce(add, x, 0, false, false, &r));
    ref_reduce(X, R, K, RD_SUM, 0, w);
    size_t sk[1] = {K}, sr[1] = {R}, s1k[2] = {1, K};
    expect(keep(r), DASK_FLOAT64, 1, sk, w, 1e-12, 0, "add.reduce(x, axis=0)");
    CHECK_OK(dask_ufunc_reduce(add, x, 0, false, true, &r));
    expect(keep(r), DASK_FLOAT64, 2, s1k, w, 1e-12, 0, "add.reduce(x, axis=0, keepdims)");
    CHECK_OK(dask_ufunc_reduce(mx, x, 1, false, false, &r));
    ref_reduce(X, R, K, RD_MAX, 1, w);
    expect(keep(r), DASK_FLOAT64, 1, sr, w, 0, 0, "maximum.reduce(x, axis=1)");

    /* cumsum along each axis (crossing block boundaries) */
    size_t shape[2] = {R, K};
    CHECK_OK(dask_ufunc_accumulate(add, x, 0, &r));
    for (size_t j = 0; j < K; ++j) {
        double acc = 0;
        for (size_t i = 0; i < R; ++i) w[i * K + j] = acc += X[i * K + j];
    }
    expect(keep(r), DASK_FLOAT64, 2, shape, w, 1e-12, 0, "add.accumulate(x, axis=0)");
    CHECK_OK(dask_ufunc_accumulate(add, x, 1, &r));
    for (size_t i = 0; i < R; ++i) {
        double acc = 0;
        for (size_t j = 0; j < K; ++j) w[i * K + j] = acc += X[i * K + j];
    }
    expect(keep(r), DASK_FLOAT64, 2, shape, w, 1e-12, 0, "add.accumulate(x, axis=1)");
    /* cumprod of 1 + x/10 along axis 1 */
    dask_array *y = u2("add", opf(1.0), opa(u2("true_divide", opa(x), opf(10.0))));
    CHECK_OK(dask_ufunc_accumulate(mul, y, 1, &r));
    for (size_t i = 0; i < R; ++i) {
        double acc = 1;
        for (size_t j = 0; j < K; ++j) w[i * K + j] = acc *= 1.0 + X[i * K + j] / 10.0;
    }
    expect(keep(r), DASK_FLOAT64, 2, shape, w, 1e-12, 0, "multiply.accumulate(1 + x/10, axis=1)");
    /* cumsum of int32 is int64 */
    dask_array *ai = MK(dask_array_arange(0.0, 50.0, 1.0, DASK_INT32, 8, OUT));
    CHECK_OK(dask_ufunc_accumulate(add, ai, 0, &r));
    double w50[50];
    for (int i = 0; i < 50; ++i) w50[i] = (double)(i * (i + 1) / 2);
    size_t s50[1] = {50};
    expect(keep(r), DASK_INT64, 1, s50, w50, 0, 0, "add.accumulate(arange(50) int32) -> int64");

    dask_ufunc_free(add);
    dask_ufunc_free(mul);
    dask_ufunc_free(mx);
    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Linear algebra, transpose
 * ------------------------------------------------------------------------------------- */

static void test_linalg(void) {
    dask_array *a = rand_array(5, 20, 30, 7, 8);
    dask_array *b = rand_array(6, 30, 10, 9, 4); /* contracted axis chunked differently */
    host ha, hb;
    fetch(a, &ha);
    fetch(b, &hb);
    if (!ha.d || !hb.d) {
        host_free(&ha);
        host_free(&hb);
        drop_all();
        return;
    }
    double w[1600];
    size_t one = 1, zero = 0;
    dask_array *t = MK(dask_array_tensordot(a, b, &one, &zero, 1, OUT));
    for (size_t i = 0; i < 20; ++i)
        for (size_t j = 0; j < 10; ++j) {
            double s = 0;
            for (size_t k = 0; k < 30; ++k) s += ha.d[i * 30 + k] * hb.d[k * 10 + j];
            w[i * 10 + j] = s;
        }
    size_t s2010[2] = {20, 10};
    expect(t, DASK_FLOAT64, 2, s2010, w, 1e-12, 0, "tensordot(a, b, axes=(1, 0))");
    dask_array *mm = MK(dask_array_matmul(a, b, OUT));
    expect(mm, DASK_FLOAT64, 2, s2010, w, 1e-12, 0, "a @ b");

    /* x @ x.T and its sum */
    dask_array *x = rand_array(7, 40, 30, 7, 8);
    host hx;
    if (fetch(x, &hx)) {
        dask_array *xt = MK(dask_array_transpose(x, NULL, OUT));
        dask_array *g = MK(dask_array_matmul(x, xt, OUT));
        double total = 0;
        for (size_t i = 0; i < 40; ++i)
            for (size_t j = 0; j < 40; ++j) {
                double s = 0;
                for (size_t k = 0; k < 30; ++k) s += hx.d[i * 30 + k] * hx.d[j * 30 + k];
                w[i * 40 + j] = s;
                total += s;
            }
        size_t s4040[2] = {40, 40};
        expect(g, DASK_FLOAT64, 2, s4040, w, 1e-12, 0, "x @ x.T");
        expect_scalar(reduce(g, DASK_REDUCE_SUM, NULL, 0, false, 0), DASK_FLOAT64, total, 1e-12, "sum(x @ x.T)");
        /* x.T @ x via tensordot over axis 0 of both */
        dask_array *gt = MK(dask_array_tensordot(x, x, &zero, &zero, 1, OUT));
        for (size_t i = 0; i < 30; ++i)
            for (size_t j = 0; j < 30; ++j) {
                double s = 0;
                for (size_t k = 0; k < 40; ++k) s += hx.d[k * 30 + i] * hx.d[k * 30 + j];
                w[i * 30 + j] = s;
            }
        size_t s3030[2] = {30, 30};
        expect(gt, DASK_FLOAT64, 2, s3030, w, 1e-12, 0, "tensordot(x, x, axes=(0, 0))");
        /* matrix @ vector and vector @ vector */
        dask_array *v = MK(dask_array_linspace(0.0, 1.0, 30, true, 11, OUT));
        dask_array *mv = MK(dask_array_matmul(x, v, OUT));
        for (size_t i = 0; i < 40; ++i) {
            double s = 0;
            for (size_t k = 0; k < 30; ++k) s += hx.d[i * 30 + k] * ((double)k / 29.0);
            w[i] = s;
        }
        size_t s40[1] = {40};
        expect(mv, DASK_FLOAT64, 1, s40, w, 1e-12, 1e-14, "x @ v");
        dask_array *vv = MK(dask_array_matmul(v, v, OUT));
        double dot = 0;
        for (size_t k = 0; k < 30; ++k) dot += ((double)k / 29.0) * ((double)k / 29.0);
        expect_scalar(vv, DASK_FLOAT64, dot, 1e-12, "v @ v");
    }
    host_free(&hx);

    /* 3-d tensordot contracting two axes: (6,5,4) . (5,4,3) over ((1,2),(0,1)) */
    size_t sa[3] = {6, 5, 4}, ca[3] = {4, 2, 3}, sb[3] = {5, 4, 3}, cb[3] = {3, 4, 2};
    dask_array *p = MK(dask_array_random_uniform(8, -1.0, 1.0, 3, sa, ca, OUT));
    dask_array *q = MK(dask_array_random_uniform(9, -1.0, 1.0, 3, sb, cb, OUT));
    host hp, hq;
    fetch(p, &hp);
    fetch(q, &hq);
    if (hp.d && hq.d) {
        size_t axa[2] = {1, 2}, axb[2] = {0, 1};
        dask_array *pq = MK(dask_array_tensordot(p, q, axa, axb, 2, OUT));
        for (size_t i = 0; i < 6; ++i)
            for (size_t l = 0; l < 3; ++l) {
                double s = 0;
                for (size_t j = 0; j < 5; ++j)
                    for (size_t k = 0; k < 4; ++k) s += hp.d[(i * 5 + j) * 4 + k] * hq.d[(j * 4 + k) * 3 + l];
                w[i * 3 + l] = s;
            }
        size_t s63[2] = {6, 3};
        expect(pq, DASK_FLOAT64, 2, s63, w, 1e-12, 1e-14, "tensordot of 3-d arrays over two axes");
        /* transpose with a permutation: (6,5,4) -> axes (2,0,1) = (4,6,5) */
        size_t perm[3] = {2, 0, 1};
        dask_array *pt = MK(dask_array_transpose(p, perm, OUT));
        for (size_t k = 0; k < 4; ++k)
            for (size_t i = 0; i < 6; ++i)
                for (size_t j = 0; j < 5; ++j) w[(k * 6 + i) * 5 + j] = hp.d[(i * 5 + j) * 4 + k];
        size_t s465[3] = {4, 6, 5};
        expect(pt, DASK_FLOAT64, 3, s465, w, 0, 0, "transpose(p, (2,0,1))");
        dask_array *pr = MK(dask_array_transpose(p, NULL, OUT));
        for (size_t k = 0; k < 4; ++k)
            for (size_t j = 0; j < 5; ++j)
                for (size_t i = 0; i < 6; ++i) w[(k * 5 + j) * 6 + i] = hp.d[(i * 5 + j) * 4 + k];
        size_t s456[3] = {4, 5, 6};
        expect(pr, DASK_FLOAT64, 3, s456, w, 0, 0, "transpose(p) reverses the axes");
        size_t c2[2] = {3, 1}; /* the chunks follow the permutation */
        chunks_are(pt, 0, c2, 2, "transposed chunks (axis 0 from axis 2)");
    }
    host_free(&hp);
    host_free(&hq);
    host_free(&ha);
    host_free(&hb);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Indexing
 * ------------------------------------------------------------------------------------- */

/* Python's slice.indices(n): first index and length. */
static void py_slice(int64_t n, bool has_start, int64_t start, bool has_stop, int64_t stop, int64_t step,
                     int64_t *first, int64_t *len) {
    int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
    if (!has_start) {
        start = step < 0 ? upper : lower;
    } else {
        if (start < 0) start += n;
        if (start < lower) start = lower;
        if (start > upper) start = upper;
    }
    if (!has_stop) {
        stop = step < 0 ? lower : upper;
    } else {
        if (stop < 0) stop += n;
        if (stop < lower) stop = lower;
        if (stop > upper) stop = upper;
    }
    if (step > 0)
        *len = start < stop ? (stop - start - 1) / step + 1 : 0;
    else
        *len = stop < start ? (start - stop - 1) / (-step) + 1 : 0;
    *first = start;
}

static dask_index sl(bool hs, int64_t s, bool he, int64_t e, int64_t step) {
    dask_index i;
    memset(&i, 0, sizeof i);
    i.kind = DASK_INDEX_SLICE;
    i.has_start = hs;
    i.start = s;
    i.has_stop = he;
    i.stop = e;
    i.step = step;
    return i;
}
static dask_index at(int64_t k) {
    dask_index i;
    memset(&i, 0, sizeof i);
    i.kind = DASK_INDEX_AT;
    i.start = k;
    return i;
}
static dask_index newaxis(void) {
    dask_index i;
    memset(&i, 0, sizeof i);
    i.kind = DASK_INDEX_NEWAXIS;
    return i;
}

/* Checks x[s0, s1] for slices on both axes of a 2-d host copy. */
static void check_slice2(const dask_array *x, const host *hx, dask_index i0, dask_index i1, const char *what) {
    int64_t R = (int64_t)hx->shape[0], K = (int64_t)hx->shape[1];
    int64_t f0, n0, f1, n1;
    py_slice(R, i0.has_start, i0.start, i0.has_stop, i0.stop, i0.step, &f0, &n0);
    py_slice(K, i1.has_start, i1.start, i1.has_stop, i1.stop, i1.step, &f1, &n1);
    double *w = alloc_d((size_t)(n0 * n1));
    for (int64_t a = 0; a < n0; ++a)
        for (int64_t b = 0; b < n1; ++b) w[a * n1 + b] = hx->d[(f0 + a * i0.step) * K + (f1 + b * i1.step)];
    dask_index idx[2] = {i0, i1};
    dask_array *s = MK(dask_array_slice(x, idx, 2, OUT));
    size_t shape[2] = {(size_t)n0, (size_t)n1};
    expect(s, hx->dt, 2, shape, w, 0, 0, what);
    free(w);
}

static void test_slicing(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(10, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    const double *X = hx.d;
    check_slice2(x, &hx, sl(false, 0, false, 0, -1), sl(true, 2, true, 20, 3), "x[::-1, 2:20:3]");
    check_slice2(x, &hx, sl(true, -5, true, 2, -2), sl(false, 0, false, 0, 1), "x[-5:2:-2, :]");
    check_slice2(x, &hx, sl(true, 3, true, 39, 5), sl(true, 29, true, -31, -4), "x[3:39:5, 29:-31:-4]");
    check_slice2(x, &hx, sl(true, 10, true, 10, 1), sl(false, 0, false, 0, 1), "x[10:10] (empty)");
    check_slice2(x, &hx, sl(true, -100, true, 100, 7), sl(true, 100, false, 0, -7), "x[-100:100:7, 100::-7] (clamped)");

    /* x[-5:2:-2, 3] drops axis 1 */
    dask_index i1[2] = {sl(true, -5, true, 2, -2), at(3)};
    dask_array *s1 = MK(dask_array_slice(x, i1, 2, OUT));
    double w[R * K];
    size_t n = 0;
    for (int64_t i = R - 5; i > 2; i -= 2) w[n++] = X[i * K + 3];
    size_t sh1[1] = {n};
    expect(s1, DASK_FLOAT64, 1, sh1, w, 0, 0, "x[-5:2:-2, 3]");

    /* x[newaxis, -1, ::-4]: shape (1, 8) */
    dask_index i2[3] = {newaxis(), at(-1), sl(false, 0, false, 0, -4)};
    dask_array *s2 = MK(dask_array_slice(x, i2, 3, OUT));
    n = 0;
    for (int64_t j = K - 1; j >= 0; j -= 4) w[n++] = X[(R - 1) * K + j];
    size_t sh2[2] = {1, n};
    expect(s2, DASK_FLOAT64, 2, sh2, w, 0, 0, "x[newaxis, -1, ::-4]");

    /* x[7, newaxis, 5:9, newaxis] -> (1, 4, 1); only one index given: the rest is ':' */
    dask_index i3[4] = {at(7), newaxis(), sl(true, 5, true, 9, 1), newaxis()};
    dask_array *s3 = MK(dask_array_slice(x, i3, 4, OUT));
    for (int j = 0; j < 4; ++j) w[j] = X[7 * K + 5 + j];
    size_t sh3[3] = {1, 4, 1};
    expect(s3, DASK_FLOAT64, 3, sh3, w, 0, 0, "x[7, newaxis, 5:9, newaxis]");
    dask_index i4[1] = {at(-40)};
    dask_array *s4 = MK(dask_array_slice(x, i4, 1, OUT));
    size_t sh4[1] = {K};
    expect(s4, DASK_FLOAT64, 1, sh4, X, 0, 0, "x[-40] (first row)");
    dask_index i5[2] = {at(12), at(-7)};
    expect_scalar(MK(dask_array_slice(x, i5, 2, OUT)), DASK_FLOAT64, X[12 * K + 23], 0, "x[12, -7]");

    /* a slice of a slice */
    dask_index r1[1] = {sl(false, 0, false, 0, -1)};
    dask_array *rev = MK(dask_array_slice(x, r1, 1, OUT));
    dask_index r2[2] = {sl(true, 1, false, 0, 3), sl(true, -2, true, 0, -5)};
    dask_array *rr = MK(dask_array_slice(rev, r2, 2, OUT));
    n = 0;
    size_t rows = 0;
    for (int64_t i = 1; i < R; i += 3, ++rows)
        for (int64_t j = K - 2; j > 0; j -= 5) w[n++] = X[(R - 1 - i) * K + j];
    size_t shr[2] = {rows, n / rows};
    expect(rr, DASK_FLOAT64, 2, shr, w, 0, 0, "x[::-1][1::3, -2:0:-5]");

    /* take along each axis, with repeats and negative indices */
    int64_t ti[6] = {0, -1, 5, 5, 12, 33};
    dask_array *t0 = MK(dask_array_take(x, ti, 6, 0, OUT));
    for (int a = 0; a < 6; ++a)
        for (int j = 0; j < K; ++j) w[a * K + j] = X[(ti[a] < 0 ? ti[a] + R : ti[a]) * K + j];
    size_t st0[2] = {6, K};
    expect(t0, DASK_FLOAT64, 2, st0, w, 0, 0, "take(x, [0,-1,5,5,12,33], axis=0)");
    int64_t tj[4] = {29, -30, 8, 8};
    dask_array *t1 = MK(dask_array_take(x, tj, 4, 1, OUT));
    for (int i = 0; i < R; ++i)
        for (int b = 0; b < 4; ++b) w[i * 4 + b] = X[i * K + (tj[b] < 0 ? tj[b] + K : tj[b])];
    size_t st1[2] = {R, 4};
    expect(t1, DASK_FLOAT64, 2, st1, w, 0, 0, "take(x, [29,-30,8,8], axis=1)");

    host_free(&hx);
    drop_all();
}

static void test_select_set_where(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(11, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    const double *X = hx.d;
    double w[R * K];

    /* x[x < 0.3] */
    dask_array *mask = u2("less", opa(x), opf(0.3));
    dask_array *sel = MK(dask_array_select(C, x, mask, OUT));
    size_t n = 0;
    for (size_t i = 0; i < R * K; ++i)
        if (X[i] < 0.3) w[n++] = X[i];
    size_t sh[1] = {n};
    expect(sel, DASK_FLOAT64, 1, sh, w, 0, 0, "x[x < 0.3]");
    /* select with a mask chunked differently from x, over a derived array */
    dask_array *x2 = u2("multiply", opa(x), opf(3.0));
    size_t ch2[2] = {11, 30};
    dask_array *mask2 = MK(dask_array_rechunk(u2("greater", opa(x), opf(0.8)), ch2, OUT));
    dask_array *sel2 = MK(dask_array_select(C, x2, mask2, OUT));
    n = 0;
    for (size_t i = 0; i < R * K; ++i)
        if (X[i] > 0.8) w[n++] = X[i] * 3.0;
    sh[0] = n;
    expect(sel2, DASK_FLOAT64, 1, sh, w, 0, 0, "(3x)[rechunked x > 0.8]");
    dask_array *none = u2("greater", opa(x), opf(5.0));
    dask_array *sel3 = MK(dask_array_select(C, x, none, OUT));
    sh[0] = 0;
    expect(sel3, DASK_FLOAT64, 1, sh, w, 0, 0, "x[x > 5] is empty");

    /* x[x < 0.9] = 0, then count_nonzero */
    dask_array *lt = u2("less", opa(x), opf(0.9));
    dask_operand zero = opf(0.0);
    dask_array *y = MK(dask_array_set_where(x, lt, &zero, OUT));
    size_t nz = 0;
    for (size_t i = 0; i < R * K; ++i) {
        w[i] = X[i] < 0.9 ? 0.0 : X[i];
        nz += w[i] != 0;
    }
    size_t shape[2] = {R, K};
    expect(y, DASK_FLOAT64, 2, shape, w, 0, 0, "x[x < 0.9] = 0");
    expect_scalar(reduce(y, DASK_REDUCE_COUNT_NONZERO, NULL, 0, false, 0), DASK_INT64, (double)nz, 0,
                  "count_nonzero after x[x < 0.9] = 0");
    CHECK(nz > 60 && nz < 180, "about a tenth of the values survive (%zu)", nz);

    /* masked assignment of an array value, and of an int scalar into an int array */
    dask_array *neg = u1("negative", opa(x));
    dask_array *gt = u2("greater", opa(x), opf(0.5));
    dask_operand nv = opa(neg);
    dask_array *y2 = MK(dask_array_set_where(x, gt, &nv, OUT));
    for (size_t i = 0; i < R * K; ++i) w[i] = X[i] > 0.5 ? -X[i] : X[i];
    expect(y2, DASK_FLOAT64, 2, shape, w, 0, 0, "x[x > 0.5] = -x[x > 0.5]");
    dask_array *xi = MK(dask_array_astype(u2("multiply", opa(x), opf(100.0)), DASK_INT64, OUT));
    dask_array *odd = u2("equal", opa(u2("remainder", opa(xi), opi(2))), opi(1));
    dask_operand m7 = opi(-7);
    dask_array *y3 = MK(dask_array_set_where(xi, odd, &m7, OUT));
    for (size_t i = 0; i < R * K; ++i) {
        int64_t k = (int64_t)(X[i] * 100.0);
        w[i] = k % 2 == 1 ? -7.0 : (double)k;
    }
    expect(y3, DASK_INT64, 2, shape, w, 0, 0, "xi[xi % 2 == 1] = -7 (int64)");
    /* a broadcast mask: a (30,) row mask applied to every row */
    dask_array *v = MK(dask_array_arange(0.0, 30.0, 1.0, DASK_INT64, 7, OUT));
    dask_array *ev = u2("less", opa(v), opi(10));
    dask_operand one = opf(1.0);
    dask_array *y4 = MK(dask_array_set_where(x, ev, &one, OUT));
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = j < 10 ? 1.0 : X[i * K + j];
    expect(y4, DASK_FLOAT64, 2, shape, w, 0, 0, "x[:, :10] = 1 via a broadcast mask");

    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Zero-size arrays and zero-size blocks (NumPy: valid, just empty)
 * ------------------------------------------------------------------------------------- */

static void test_empty(void) {
    double none[1] = {0};
    size_t s05[2] = {0, 5}, c05[2] = {3, 3};
    expect(MK(dask_array_zeros(DASK_FLOAT64, 2, s05, c05, OUT)), DASK_FLOAT64, 2, s05, none, 0, 0,
           "zeros((0, 5)) computes to an empty array");
    size_t s30[2] = {3, 0};
    dask_array *ru = MK(dask_array_random_uniform(1, 0.0, 1.0, 2, s30, NULL, OUT));
    expect(ru, DASK_FLOAT64, 2, s30, none, 0, 0, "random_uniform((3, 0))");
    expect_scalar(reduce(ru, DASK_REDUCE_SUM, NULL, 0, false, 0), DASK_FLOAT64, 0, 0, "sum(random_uniform((3, 0)))");
    size_t s0[1] = {0};
    expect(MK(dask_array_linspace(0.0, 1.0, 0, true, 4, OUT)), DASK_FLOAT64, 1, s0, none, 0, 0, "linspace(0, 1, 0)");
    dask_array *a = MK(dask_array_arange(0.0, 10.0, 1.0, DASK_FLOAT64, 3, OUT));
    int64_t idx[1] = {0};
    expect(MK(dask_array_take(a, idx, 0, 0, OUT)), DASK_FLOAT64, 1, s0, none, 0, 0, "take(a, [])");
    /* a selection where one block contributes nothing: a zero-size block in the middle */
    dask_array *m = u2("less", opa(a), opf(6.5)); /* blocks [0,1,2] [3,4,5] [6,7,8] [9] */
    dask_array *sel = MK(dask_array_select(C, a, m, OUT));
    double w[7] = {0, 1, 2, 3, 4, 5, 6};
    size_t s7[1] = {7};
    expect(sel, DASK_FLOAT64, 1, s7, w, 0, 0, "arange(10)[arange(10) < 6.5] with chunks of 3");
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Restructuring
 * ------------------------------------------------------------------------------------- */

static void test_reshape_rechunk(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(12, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    const double *X = hx.d;
    int64_t f1[1] = {-1};
    size_t s1200[1] = {1200};
    expect(MK(dask_array_reshape(x, 1, f1, OUT)), DASK_FLOAT64, 1, s1200, X, 0, 0, "reshape(-1)");
    int64_t f2[2] = {20, 60};
    size_t s2060[2] = {20, 60};
    expect(MK(dask_array_reshape(x, 2, f2, OUT)), DASK_FLOAT64, 2, s2060, X, 0, 0, "reshape(20, 60)");
    int64_t f3[3] = {-1, 6, 25};
    size_t s8625[3] = {8, 6, 25};
    dask_array *r3 = MK(dask_array_reshape(x, 3, f3, OUT));
    expect(r3, DASK_FLOAT64, 3, s8625, X, 0, 0, "reshape(-1, 6, 25)");
    int64_t f4[2] = {30, 40};
    size_t s3040[2] = {30, 40};
    expect(MK(dask_array_reshape(r3, 2, f4, OUT)), DASK_FLOAT64, 2, s3040, X, 0, 0, "reshape(-1,6,25) then (30,40)");
    /* a reshape of a transposed array follows the transposed order */
    dask_array *xt = MK(dask_array_transpose(x, NULL, OUT));
    int64_t f5[1] = {1200};
    double w[R * K];
    for (size_t j = 0; j < K; ++j)
        for (size_t i = 0; i < R; ++i) w[j * R + i] = X[i * K + j];
    expect(MK(dask_array_reshape(xt, 1, f5, OUT)), DASK_FLOAT64, 1, s1200, w, 0, 0, "x.T.reshape(1200)");

    /* rechunk keeps the values and gives the asked chunks */
    size_t nc[2] = {13, 11};
    dask_array *rc = MK(dask_array_rechunk(x, nc, OUT));
    size_t shape[2] = {R, K};
    expect(rc, DASK_FLOAT64, 2, shape, X, 0, 0, "rechunk((13, 11))");
    size_t c0[4] = {13, 13, 13, 1}, c1[3] = {11, 11, 8};
    chunks_are(rc, 0, c0, 4, "rechunk");
    chunks_are(rc, 1, c1, 3, "rechunk");
    size_t whole[2] = {40, 30};
    dask_array *one = MK(dask_array_rechunk(rc, whole, OUT));
    expect(one, DASK_FLOAT64, 2, shape, X, 0, 0, "rechunk to one block");
    size_t t1 = 0;
    dask_array *back = MK(dask_array_rechunk(one, (size_t[]){1, 30}, OUT));
    CHECK_OK(dask_array_chunks(back, 0, NULL, 0, &t1));
    CHECK(t1 == 40, "rechunk to rows: 40 blocks along axis 0 (%zu)", t1);
    expect(back, DASK_FLOAT64, 2, shape, X, 0, 0, "rechunk to rows");
    host_free(&hx);
    drop_all();
}

static void test_concat_stack(void) {
    dask_array *a = rand_array(13, 10, 6, 4, 4);
    dask_array *b = rand_array(14, 7, 6, 3, 5);
    dask_array *bi = MK(dask_array_astype(u2("multiply", opa(b), opf(10.0)), DASK_INT64, OUT));
    host ha, hb, hbi;
    fetch(a, &ha);
    fetch(b, &hb);
    fetch(bi, &hbi);
    if (!ha.d || !hb.d || !hbi.d) {
        host_free(&ha);
        host_free(&hb);
        host_free(&hbi);
        drop_all();
        return;
    }
    double w[600];
    const dask_array *ab[3] = {a, bi, a};
    dask_array *c0 = MK(dask_array_concatenate(ab, 3, 0, OUT));
    memcpy(w, ha.d, 60 * sizeof(double));
    memcpy(w + 60, hbi.d, 42 * sizeof(double));
    memcpy(w + 102, ha.d, 60 * sizeof(double));
    size_t s276[2] = {27, 6};
    expect(c0, DASK_FLOAT64, 2, s276, w, 0, 0, "concatenate([a, int64 b, a], axis=0) promotes to float64");
    size_t cc[9] = {4, 4, 2, 3, 3, 1, 4, 4, 2};
    chunks_are(c0, 0, cc, 9, "concatenate keeps the inputs' blocks");

    /* axis 1: a (10,6) with a.T-like (10, 7) from b.T + a slice */
    dask_array *bt = MK(dask_array_transpose(b, NULL, OUT)); /* (6,7) */
    dask_index ix[1] = {sl(true, 0, true, 6, 1)};
    dask_array *a6 = MK(dask_array_slice(a, ix, 1, OUT)); /* (6,6) */
    const dask_array *pair[2] = {a6, bt};
    dask_array *c1 = MK(dask_array_concatenate(pair, 2, 1, OUT));
    for (size_t i = 0; i < 6; ++i) {
        for (size_t j = 0; j < 6; ++j) w[i * 13 + j] = ha.d[i * 6 + j];
        for (size_t j = 0; j < 7; ++j) w[i * 13 + 6 + j] = hb.d[j * 6 + i];
    }
    size_t s613[2] = {6, 13};
    expect(c1, DASK_FLOAT64, 2, s613, w, 0, 0, "concatenate([a[:6], b.T], axis=1)");

    /* stack three (6,6) arrays along each new axis */
    dask_array *d6 = u2("add", opa(a6), opf(100.0));
    dask_array *e6 = MK(dask_array_astype(a6, DASK_FLOAT32, OUT));
    const dask_array *tri[3] = {a6, d6, e6};
    for (size_t axis = 0; axis <= 2; ++axis) {
        dask_array *s = MK(dask_array_stack(tri, 3, axis, OUT));
        size_t shape[3];
        for (size_t k = 0, m = 0; k < 3; ++k) shape[k] = k == axis ? 3 : (++m, 6);
        for (size_t t = 0; t < 3; ++t)
            for (size_t i = 0; i < 6; ++i)
                for (size_t j = 0; j < 6; ++j) {
                    double val = ha.d[i * 6 + j];
                    if (t == 1) val += 100.0;
                    if (t == 2) val = (double)(float)val;
                    size_t idx[3];
                    if (axis == 0) idx[0] = t, idx[1] = i, idx[2] = j;
                    else if (axis == 1) idx[0] = i, idx[1] = t, idx[2] = j;
                    else idx[0] = i, idx[1] = j, idx[2] = t;
                    w[(idx[0] * shape[1] + idx[1]) * shape[2] + idx[2]] = val;
                }
        char what[64];
        snprintf(what, sizeof what, "stack([a, a+100, float32 a], axis=%zu)", axis);
        expect(s, DASK_FLOAT64, 3, shape, w, 0, 0, what);
    }
    host_free(&ha);
    host_free(&hb);
    host_free(&hbi);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * map_blocks and from_block_fn with C operations
 * ------------------------------------------------------------------------------------- */

typedef struct {
    atomic_long calls, bad;
    size_t chunk[2]; /* regular block shape expected */
    size_t shape[2];
} blockfn_ctx;
static blockfn_ctx bctx;

/* block(info) = a float64 block whose element (i, j) is (row * 1000 + col) in the array.
 * info is int64 (3, 2): grid index, block shape, block offset. */
static int32_t blockfn_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    blockfn_ctx *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK || v.dtype != DASK_INT64 || v.ndim != 2 ||
        v.shape[0] != 3 || v.shape[1] != 2) {
        atomic_fetch_add(&c->bad, 1);
        dask_error_set("block fn: want an int64 (3, 2) info buffer");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    int64_t info[6];
    for (size_t k = 0; k < 6; ++k) info[k] = (int64_t)view_elem(&v, k);
    /* the offset is grid index * regular block shape; the shape is clipped at the edge */
    for (size_t ax = 0; ax < 2; ++ax) {
        int64_t g = info[ax], bs = info[2 + ax], off = info[4 + ax];
        int64_t want_off = g * (int64_t)c->chunk[ax];
        int64_t rest = (int64_t)c->shape[ax] - want_off;
        int64_t want_bs = rest < (int64_t)c->chunk[ax] ? rest : (int64_t)c->chunk[ax];
        if (off != want_off || bs != want_bs) atomic_fetch_add(&c->bad, 1);
    }
    size_t bshape[2] = {(size_t)info[2], (size_t)info[3]};
    dask_value *res = NULL;
    void *data = NULL;
    dask_status st = dask_value_new_buffer(DASK_FLOAT64, 2, bshape, &res, &data);
    if (st != DASK_OK) return st;
    double *o = data;
    for (size_t i = 0; i < bshape[0]; ++i)
        for (size_t j = 0; j < bshape[1]; ++j) o[i * bshape[1] + j] = (double)(info[4] + (int64_t)i) * 1000.0 + (double)(info[5] + (int64_t)j);
    *out = res;
    return 0;
}

static void test_map_blocks(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(15, R, K, 7, 8);
    host hx;
    if (!fetch(x, &hx)) {
        drop_all();
        return;
    }
    double w[R * K];
    size_t shape[2] = {R, K};
    atomic_store(&dctx.calls, 0);
    const dask_array *in1[1] = {x};
    dask_array *d = MK(dask_array_map_blocks(op_double, in1, 1, DASK_FLOAT64, OUT));
    for (size_t i = 0; i < R * K; ++i) w[i] = 2.0 * hx.d[i];
    expect(d, DASK_FLOAT64, 2, shape, w, 0, 0, "map_blocks(double, x)");
    CHECK(atomic_load(&dctx.calls) == 24, "double ran once per block (%ld of 24)", atomic_load(&dctx.calls));
    /* over a strided input (a reversed, transposed view) and then fused ufuncs */
    dask_index rv[2] = {sl(false, 0, false, 0, -1), sl(false, 0, false, 0, -1)};
    dask_array *xr = MK(dask_array_slice(MK(dask_array_transpose(x, NULL, OUT)), rv, 2, OUT));
    const dask_array *in2[1] = {xr};
    dask_array *d2 = MK(dask_array_map_blocks(op_double, in2, 1, DASK_FLOAT64, OUT));
    dask_array *d3 = u2("add", opa(d2), opf(1.0));
    for (size_t j = 0; j < K; ++j)
        for (size_t i = 0; i < R; ++i) w[j * R + i] = 2.0 * hx.d[(R - 1 - i) * K + (K - 1 - j)] + 1.0;
    size_t tshape[2] = {K, R};
    expect(d3, DASK_FLOAT64, 2, tshape, w, 0, 0, "map_blocks(double, x.T[::-1, ::-1]) + 1");
    CHECK(atomic_load(&dctx.bad) == 0, "double never saw a bad input");

    /* from_block_fn */
    size_t bs[2] = {23, 17}, bch[2] = {5, 6};
    bctx.chunk[0] = 5, bctx.chunk[1] = 6, bctx.shape[0] = 23, bctx.shape[1] = 17;
    dask_array *bf = MK(dask_array_from_block_fn(op_blockfn, DASK_FLOAT64, 2, bs, bch, OUT));
    for (size_t i = 0; i < 23; ++i)
        for (size_t j = 0; j < 17; ++j) w[i * 17 + j] = (double)i * 1000.0 + (double)j;
    expect(bf, DASK_FLOAT64, 2, bs, w, 0, 0, "from_block_fn");
    CHECK(atomic_load(&bctx.calls) == 15 && atomic_load(&bctx.bad) == 0,
          "from_block_fn: one call per block (%ld of 15) with the right grid index, shape and offset (%ld bad)",
          atomic_load(&bctx.calls), atomic_load(&bctx.bad));
    /* part of it: only the blocks needed run */
    atomic_store(&bctx.calls, 0);
    dask_index part[2] = {sl(true, 0, true, 4, 1), sl(true, 7, true, 9, 1)};
    dask_array *bp = MK(dask_array_slice(bf, part, 2, OUT));
    for (size_t i = 0; i < 4; ++i)
        for (size_t j = 0; j < 2; ++j) w[i * 2 + j] = (double)i * 1000.0 + (double)(7 + j);
    size_t s42[2] = {4, 2};
    expect(bp, DASK_FLOAT64, 2, s42, w, 0, 0, "from_block_fn()[0:4, 7:9]");
    CHECK(atomic_load(&bctx.calls) == 1, "slicing one block runs one block task (%ld)", atomic_load(&bctx.calls));
    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * store, compute_into, persist, fusion
 * ------------------------------------------------------------------------------------- */

typedef struct {
    double *dst;
    size_t rows, cols, calls, bad, seen_mask;
} store_ctx;

static int32_t store_block(void *ctx, size_t block, const size_t *offset, const dask_value *value) {
    store_ctx *s = ctx;
    ++s->calls;
    if (!pthread_equal(pthread_self(), main_thread)) ++s->bad;
    dask_buffer_view v;
    if (dask_value_buffer(value, &v, sizeof v) != DASK_OK || v.dtype != DASK_FLOAT64 || v.ndim != 2) {
        ++s->bad;
        return 0;
    }
    if (block < 64) {
        if (s->seen_mask & ((size_t)1 << block)) ++s->bad; /* each block once */
        s->seen_mask |= (size_t)1 << block;
    }
    if (offset[0] + v.shape[0] > s->rows || offset[1] + v.shape[1] > s->cols) {
        ++s->bad;
        return 0;
    }
    for (size_t k = 0; k < v.len; ++k) {
        size_t i = k / v.shape[1], j = k % v.shape[1];
        s->dst[(offset[0] + i) * s->cols + offset[1] + j] = view_elem(&v, k);
    }
    return 0;
}

static void test_store_into_persist(void) {
    enum { R = 40, K = 30 };
    dask_array *x = rand_array(16, R, K, 7, 8);
    dask_array *y = u2("add", opa(u1("exp", opa(x))), opf(-1.0));
    host hx, hy;
    fetch(x, &hx);
    fetch(y, &hy);
    if (!hx.d || !hy.d) {
        host_free(&hx);
        host_free(&hy);
        drop_all();
        return;
    }
    double w[R * K];
    for (size_t i = 0; i < R * K; ++i) w[i] = ref_exp(hx.d[i]) - 1.0;
    values_are(&hy, w, R * K, 1e-13, 1e-15, "exp(x) - 1");

    /* store: every block once, on this thread, at its offset */
    double *dst = alloc_d(R * K);
    for (size_t i = 0; i < R * K; ++i) dst[i] = -99;
    store_ctx sc = {dst, R, K, 0, 0, 0};
    CHECK_OK(dask_array_store(C, y, store_block, &sc));
    CHECK(sc.calls == 24 && sc.bad == 0 && sc.seen_mask == ((size_t)1 << 24) - 1,
          "store: 24 blocks, each once, on the calling thread (%zu calls, %zu bad)", sc.calls, sc.bad);
    CHECK(memcmp(dst, hy.d, R * K * sizeof(double)) == 0, "store wrote exactly what compute gives");

    /* compute_into */
    for (size_t i = 0; i < R * K; ++i) dst[i] = -99;
    CHECK_OK(dask_array_compute_into(C, y, DASK_FLOAT64, dst, R * K * sizeof(double)));
    CHECK(memcmp(dst, hy.d, R * K * sizeof(double)) == 0, "compute_into wrote exactly what compute gives");
    int32_t idst[12];
    dask_array *ai = MK(dask_array_arange(0.0, 12.0, 1.0, DASK_INT32, 5, OUT));
    CHECK_OK(dask_array_compute_into(C, ai, DASK_INT32, idst, sizeof idst));
    bool ok = true;
    for (int i = 0; i < 12; ++i) ok = ok && idst[i] == i;
    CHECK(ok, "compute_into of an int32 arange");
    free(dst);

    /* persist: the blocks are computed once; later work starts from them */
    atomic_store(&dctx.calls, 0);
    const dask_array *in1[1] = {y};
    dask_array *d = MK(dask_array_map_blocks(op_double, in1, 1, DASK_FLOAT64, OUT));
    dask_array *p = MK(dask_array_persist(C, d, OUT));
    CHECK(atomic_load(&dctx.calls) == 24, "persist ran the 24 block tasks (%ld)", atomic_load(&dctx.calls));
    size_t tp = 99;
    CHECK_OK(dask_array_task_count(p, &tp));
    CHECK(tp == 0, "a persisted array needs no tasks (%zu)", tp);
    for (size_t i = 0; i < R * K; ++i) w[i] = 2.0 * hy.d[i];
    size_t shape[2] = {R, K};
    expect(p, DASK_FLOAT64, 2, shape, w, 0, 0, "persist(map_blocks(double, y))");
    dask_array *ps = reduce(p, DASK_REDUCE_SUM, NULL, 0, false, 0);
    double s = 0;
    for (size_t i = 0; i < R * K; ++i) s += w[i];
    expect_scalar(ps, DASK_FLOAT64, s, 1e-12, "sum of the persisted array");
    expect_scalar(ps, DASK_FLOAT64, s, 1e-12, "computed twice");
    CHECK(atomic_load(&dctx.calls) == 24, "computing from the persisted array reruns nothing (%ld)",
          atomic_load(&dctx.calls));
    dask_memory_stats ms;
    CHECK_OK(dask_client_memory_stats(C, &ms, sizeof ms));
    CHECK(ms.managed_bytes >= R * K * sizeof(double), "persisted blocks are held in the store (%llu bytes)",
          (unsigned long long)ms.managed_bytes);
    host_free(&hx);
    host_free(&hy);
    drop_all();
    CHECK(WAIT_UNTIL((dask_client_memory_stats(C, &ms, sizeof ms), ms.managed_bytes < R * K * sizeof(double)), patience_s()),
          "freeing the persisted array frees its blocks (%llu bytes left)", (unsigned long long)ms.managed_bytes);
}

static void test_fusion(void) {
    size_t nb = 0;
    dask_array *x = rand_array(17, 40, 30, 10, 10); /* 12 blocks */
    CHECK_OK(dask_array_task_count(x, &nb));
    CHECK(nb == 12, "x has 12 block tasks (%zu)", nb);
    dask_array *chain = u2("add", opa(u2("multiply", opa(u1("exp", opa(x))), opf(2.0))), opf(1.0));
    size_t tc = 0, te = 0;
    CHECK_OK(dask_array_task_count(chain, &tc));
    CHECK_OK(dask_array_task_count(u1("exp", opa(x)), &te));
    /* creation is one task per block, the whole elementwise chain one more per block */
    CHECK(tc == te && tc == 2 * nb, "exp(x)*2+1 is one fused task per block, like exp(x) (%zu and %zu tasks, x has %zu)",
          tc, te, nb);
    size_t ts = 0, tsc = 0;
    CHECK_OK(dask_array_task_count(reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0), &ts));
    dask_array *sc = reduce(chain, DASK_REDUCE_SUM, NULL, 0, false, 0);
    CHECK_OK(dask_array_task_count(sc, &tsc));
    CHECK(tsc == ts, "sum(exp(x)*2+1) has as many tasks as sum(x) (%zu vs %zu)", tsc, ts);
    CHECK(ts > nb, "a sum over 12 blocks needs a combine step (%zu tasks)", ts);
    /* the elementwise chain on a persisted input: also no extra tasks */
    dask_array *xp = MK(dask_array_persist(C, x, OUT));
    dask_array *cp = u2("add", opa(u2("multiply", opa(u1("exp", opa(xp))), opf(2.0))), opf(1.0));
    size_t tcp = 0;
    CHECK_OK(dask_array_task_count(reduce(cp, DASK_REDUCE_SUM, NULL, 0, false, 0), &tcp));
    CHECK(tcp <= tsc, "sum of the chain on persisted x: %zu tasks (<= %zu)", tcp, tsc);
    host hx;
    if (fetch(x, &hx)) {
        double s = 0;
        for (size_t i = 0; i < hx.n; ++i) s += ref_exp(hx.d[i]) * 2.0 + 1.0;
        expect_scalar(sc, DASK_FLOAT64, s, 1e-12, "sum(exp(x)*2+1)");
        expect_scalar(reduce(cp, DASK_REDUCE_SUM, NULL, 0, false, 0), DASK_FLOAT64, s, 1e-12,
                      "sum(exp(persisted x)*2+1)");
    }
    host_free(&hx);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * One lazy array shared by several threads (arrays are immutable)
 * ------------------------------------------------------------------------------------- */

typedef struct {
    const dask_array *x;
    double want_sum;
    const double *want_data;
    size_t n;
    atomic_long bad;
} share_ctx;

static void *share_thread(void *arg) {
    share_ctx *s = arg;
    for (int round = 0; round < 3; ++round) {
        dask_array *r = NULL;
        double got = -1;
        if (dask_array_reduce(s->x, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &r) != DASK_OK ||
            dask_array_compute_into(C, r, DASK_FLOAT64, &got, sizeof got) != DASK_OK || !close_enough(got, s->want_sum, 1e-12, 0))
            atomic_fetch_add(&s->bad, 1);
        dask_array_free(r);
        double *buf = malloc(s->n * sizeof(double));
        if (!buf) exit(2);
        if (dask_array_compute_into(C, s->x, DASK_FLOAT64, buf, s->n * sizeof(double)) != DASK_OK ||
            memcmp(buf, s->want_data, s->n * sizeof(double)) != 0)
            atomic_fetch_add(&s->bad, 1);
        free(buf);
    }
    return NULL;
}

static void test_shared_between_threads(void) {
    dask_array *x = rand_array(19, 40, 30, 7, 8);
    dask_array *y = u2("add", opa(u1("exp", opa(x))), opf(-1.0));
    host hy;
    if (!fetch(y, &hy)) {
        drop_all();
        return;
    }
    share_ctx s;
    memset(&s, 0, sizeof s);
    s.x = y;
    s.want_data = hy.d;
    s.n = hy.n;
    for (size_t i = 0; i < hy.n; ++i) s.want_sum += hy.d[i];
    enum { T = 4 };
    pthread_t th[T];
    int started = 0;
    for (int i = 0; i < T; ++i) started += pthread_create(&th[i], NULL, share_thread, &s) == 0;
    CHECK(started == T, "started %d threads", started);
    for (int i = 0; i < started; ++i) pthread_join(th[i], NULL);
    CHECK(atomic_load(&s.bad) == 0, "4 threads computing one shared array agree with the C sum (%ld bad)",
          atomic_load(&s.bad));
    host_free(&hy);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * A user ufunc with a C inner loop
 * ------------------------------------------------------------------------------------- */

typedef struct {
    atomic_long calls, elements, zero_steps;
} loop_ctx;
static loop_ctx hyp;

/* hypot2(a, b) = a*a + b*b (the squared hypotenuse), NumPy generic-loop shape. */
static void hypot2_loop(uint8_t **args, size_t n, const ptrdiff_t *steps, void *data) {
    loop_ctx *c = data;
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_add(&c->elements, (long)n);
    if (steps[0] == 0 || steps[1] == 0) atomic_fetch_add(&c->zero_steps, 1);
    const uint8_t *a = args[0], *b = args[1];
    uint8_t *o = args[2];
    for (size_t i = 0; i < n; ++i, a += steps[0], b += steps[1], o += steps[2]) {
        double x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        double r = x * x + y * y;
        memcpy(o, &r, sizeof r);
    }
}

/* float32 loop: the float32 result of the same formula. */
static void hypot2_loop_f32(uint8_t **args, size_t n, const ptrdiff_t *steps, void *data) {
    (void)data;
    const uint8_t *a = args[0], *b = args[1];
    uint8_t *o = args[2];
    for (size_t i = 0; i < n; ++i, a += steps[0], b += steps[1], o += steps[2]) {
        float x, y;
        memcpy(&x, a, sizeof x);
        memcpy(&y, b, sizeof y);
        float r = x * x + y * y;
        memcpy(o, &r, sizeof r);
    }
}

static void test_user_ufunc(void) {
    static const dask_dtype t64[3] = {DASK_FLOAT64, DASK_FLOAT64, DASK_FLOAT64};
    static const dask_dtype t32[3] = {DASK_FLOAT32, DASK_FLOAT32, DASK_FLOAT32};
    dask_ufunc_loop loops[2];
    memset(loops, 0, sizeof loops);
    loops[0].types = t32;
    loops[0].func = hypot2_loop_f32;
    loops[0].data = NULL;
    loops[1].types = t64;
    loops[1].func = hypot2_loop;
    loops[1].data = &hyp;
    dask_ufunc *u = NULL;
    if (!CHECK_OK(dask_ufunc_register("ctest.hypot2", 2, true, 0, loops, 2, &u))) return;
    size_t nin = 0;
    CHECK_OK(dask_ufunc_nin(u, &nin));
    CHECK(nin == 2, "hypot2 takes 2 inputs (%zu)", nin);
    dask_ufunc *again = ufn("ctest.hypot2");
    CHECK(again != NULL, "a user ufunc can be looked up by name");

    enum { R = 40, K = 30 };
    dask_array *x = rand_array(18, R, K, 7, 8);
    dask_array *v = MK(dask_array_linspace(-1.0, 1.0, K, true, 9, OUT));
    host hx, hv;
    fetch(x, &hx);
    fetch(v, &hv);
    if (!hx.d || !hv.d) {
        host_free(&hx);
        host_free(&hv);
        dask_ufunc_free(u);
        dask_ufunc_free(again);
        drop_all();
        return;
    }
    double w[R * K];
    size_t shape[2] = {R, K};
    dask_operand a2[2] = {opa(x), opa(v)};
    dask_array *h = NULL;
    CHECK_OK(dask_ufunc_call(u, a2, 2, &h));
    keep(h);
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) w[i * K + j] = hx.d[i * K + j] * hx.d[i * K + j] + hv.d[j] * hv.d[j];
    atomic_store(&hyp.calls, 0);
    atomic_store(&hyp.elements, 0);
    expect(h, DASK_FLOAT64, 2, shape, w, 0, 0, "hypot2(x, v) on chunked arrays (broadcast)");
    CHECK(atomic_load(&hyp.calls) > 0 && atomic_load(&hyp.elements) >= R * K,
          "the C loop ran (%ld calls, %ld elements)", atomic_load(&hyp.calls), atomic_load(&hyp.elements));

    /* with a scalar operand (a broadcast scalar may come with step 0) */
    dask_operand as[2] = {opf(3.0), opa(x)};
    dask_array *hs = NULL;
    CHECK_OK(dask_ufunc_call(again, as, 2, &hs));
    keep(hs);
    for (size_t i = 0; i < R * K; ++i) w[i] = 9.0 + hx.d[i] * hx.d[i];
    atomic_store(&hyp.zero_steps, 0);
    expect(hs, DASK_FLOAT64, 2, shape, w, 0, 0, "hypot2(3.0, x)");
    CHECK(atomic_load(&hyp.zero_steps) > 0, "the scalar reaches the loop with step 0 (%ld calls)",
          atomic_load(&hyp.zero_steps));

    /* fused with built-ins, then reduced */
    dask_array *e = u1("negative", opa(x));
    dask_operand ae[2] = {opa(e), opa(x)};
    dask_array *he = NULL;
    CHECK_OK(dask_ufunc_call(u, ae, 2, &he));
    keep(he);
    dask_array *hsum = reduce(he, DASK_REDUCE_SUM, NULL, 0, false, 0);
    double s = 0;
    for (size_t i = 0; i < R * K; ++i) s += 2.0 * hx.d[i] * hx.d[i];
    expect_scalar(hsum, DASK_FLOAT64, s, 1e-12, "sum(hypot2(-x, x))");
    size_t t1 = 0, t2 = 0, t3 = 0;
    CHECK_OK(dask_array_task_count(he, &t1));
    CHECK_OK(dask_array_task_count(u2("add", opa(e), opa(x)), &t2));
    CHECK_OK(dask_array_task_count(hsum, &t3));
    CHECK(t1 == t2, "a user ufunc fuses like a built-in (%zu vs %zu tasks)", t1, t2);
    size_t t4 = 0;
    CHECK_OK(dask_array_task_count(reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0), &t4));
    CHECK(t3 == t4, "sum(hypot2(-x, x)) has as many tasks as sum(x) (%zu vs %zu)", t3, t4);

    /* int32 inputs use the float64 loop (the first loop they cast to safely) */
    dask_array *ii = MK(dask_array_arange(0.0, 10.0, 1.0, DASK_INT32, 3, OUT));
    dask_operand a3[2] = {opa(ii), opa(ii)};
    dask_array *hi = NULL;
    CHECK_OK(dask_ufunc_call(u, a3, 2, &hi));
    keep(hi);
    double w10[10];
    for (int i = 0; i < 10; ++i) w10[i] = 2.0 * i * i;
    size_t s10[1] = {10};
    expect(hi, DASK_FLOAT64, 1, s10, w10, 0, 0, "hypot2(int32, int32) -> float64 loop");
    /* float32 inputs use the float32 loop */
    dask_array *f = MK(dask_array_astype(v, DASK_FLOAT32, OUT));
    dask_operand a4[2] = {opa(f), opa(f)};
    dask_array *hf = NULL;
    CHECK_OK(dask_ufunc_call(u, a4, 2, &hf));
    keep(hf);
    double w30[30];
    for (size_t j = 0; j < K; ++j) {
        float fv = (float)hv.d[j];
        float r = fv * fv + fv * fv;
        w30[j] = r;
    }
    size_t s30[1] = {30};
    expect(hf, DASK_FLOAT32, 1, s30, w30, 0, 0, "hypot2(float32, float32) -> float32 loop");

    host_free(&hx);
    host_free(&hv);
    dask_ufunc_free(u);
    dask_ufunc_free(again);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * An array kind implemented in C
 * ------------------------------------------------------------------------------------- */

#define TOY_MAGIC 0x70796f74u
typedef struct {
    uint32_t magic;
    double v;
} toy;

typedef struct {
    atomic_long made, released, calls, wrong_thread, bad_release;
} toy_kind_ctx;
static toy_kind_ctx tk;
static dask_kind_id toy_kind;

static toy *toy_new(double v) {
    toy *t = malloc(sizeof *t);
    if (!t) exit(2);
    t->magic = TOY_MAGIC;
    t->v = v;
    atomic_fetch_add(&tk.made, 1);
    return t;
}

/* The value of a toy operand (a toy array or a number); false for anything else. */
static bool toy_value(const dask_operand *o, double *v, bool *is_toy) {
    *is_toy = false;
    if (o->kind == DASK_OPERAND_FLOAT) return *v = o->f, true;
    if (o->kind == DASK_OPERAND_INT) return *v = (double)o->i, true;
    if (o->kind != DASK_OPERAND_ARRAY) return false;
    void *obj = NULL;
    if (dask_array_object(o->array, &obj) != DASK_OK || obj == NULL) return false;
    const toy *t = obj;
    if (t->magic != TOY_MAGIC) return false;
    *is_toy = true;
    *v = t->v;
    return true;
}

static int32_t toy_ufunc_call(void *kind_ctx, const char *name, const dask_operand *args, size_t n, void **out) {
    toy_kind_ctx *k = kind_ctx;
    atomic_fetch_add(&k->calls, 1);
    if (!pthread_equal(pthread_self(), main_thread)) atomic_fetch_add(&k->wrong_thread, 1);
    if (strcmp(name, "add") != 0 || n != 2) return DASK_ERR_NOT_IMPLEMENTED;
    double a, b;
    bool ta, tb;
    if (!toy_value(&args[0], &a, &ta) || !toy_value(&args[1], &b, &tb) || !(ta || tb))
        return DASK_ERR_NOT_IMPLEMENTED;
    *out = toy_new(a + b);
    return DASK_OK;
}

static void toy_release(void *kind_ctx, void *object) {
    toy_kind_ctx *k = kind_ctx;
    toy *t = object;
    if (k != &tk || t == NULL || t->magic != TOY_MAGIC) {
        atomic_fetch_add(&tk.bad_release, 1);
        return;
    }
    t->magic = 0;
    free(t);
    atomic_fetch_add(&k->released, 1);
}

static double toy_of(const dask_array *a) {
    void *obj = NULL;
    if (!CHECK_OK(dask_array_object(a, &obj)) || obj == NULL) return -12345;
    const toy *t = obj;
    return t->magic == TOY_MAGIC ? t->v : -54321;
}

static void test_kind(void) {
    dask_kind_vtable vt;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.ufunc_call = toy_ufunc_call;
    vt.release = toy_release;
    if (!CHECK_OK(dask_kind_register("ctest.toy", 20, &vt, &tk, &toy_kind))) return;

    dask_array *a = NULL, *b = NULL;
    CHECK_OK(dask_array_from_object(toy_kind, toy_new(1.5), &a));
    CHECK_OK(dask_array_from_object(toy_kind, toy_new(2.25), &b));
    dask_ufunc *add = ufn("add"), *ex = ufn("exp"), *mul = ufn("multiply");

    dask_operand ab[2] = {opa(a), opa(b)};
    dask_array *r = NULL;
    long calls0 = atomic_load(&tk.calls);
    CHECK_OK(dask_ufunc_call(add, ab, 2, &r));
    CHECK(atomic_load(&tk.calls) == calls0 + 1, "add(toy, toy) dispatched to the toy kind once");
    CHECK(toy_of(r) == 3.75, "add(toy 1.5, toy 2.25) = toy %g", toy_of(r));
    dask_operand af[2] = {opa(a), opf(10.0)};
    dask_array *r2 = NULL;
    CHECK_OK(dask_ufunc_call(add, af, 2, &r2));
    CHECK(toy_of(r2) == 11.5, "add(toy 1.5, 10.0) = toy %g", toy_of(r2));
    dask_operand ia[2] = {opi(5), opa(r)};
    dask_array *r3 = NULL;
    CHECK_OK(dask_ufunc_call(add, ia, 2, &r3));
    CHECK(toy_of(r3) == 8.75, "add(5, toy 3.75) = toy %g", toy_of(r3));

    /* exp and multiply are declined: NOT_IMPLEMENTED naming the kind, never a conversion */
    dask_operand a1[1] = {opa(a)};
    dask_array *bad = NULL;
    CHECK_ERR(dask_ufunc_call(ex, a1, 1, &bad), DASK_ERR_NOT_IMPLEMENTED);
    CHECK(last_error_has("ctest.toy") && last_error_has("exp"), "the message names the ufunc and the kind: %s",
          dask_last_error_message());
    CHECK(bad == NULL, "no array on failure");
    CHECK_ERR(dask_ufunc_call(mul, ab, 2, &bad), DASK_ERR_NOT_IMPLEMENTED);
    CHECK(last_error_has("ctest.toy"), "multiply: the message names the kind: %s", dask_last_error_message());
    /* toy + chunked array: the toy kind declines, and the chunked kind does not convert it */
    size_t s3[1] = {3};
    dask_array *z = NULL;
    CHECK_OK(dask_array_zeros(DASK_FLOAT64, 1, s3, NULL, &z));
    dask_operand az[2] = {opa(a), opa(z)};
    CHECK_ERR(dask_ufunc_call(add, az, 2, &bad), DASK_ERR_NOT_IMPLEMENTED);
    CHECK(last_error_has("ctest.toy") && last_error_has("chunked"), "toy + chunked: names both kinds: %s",
          dask_last_error_message());
    /* chunked-array operations on a toy array are refused clearly */
    size_t nd = 0;
    CHECK_ERR(dask_array_ndim(a, &nd), DASK_ERR_NOT_IMPLEMENTED);
    dask_array *sum = NULL;
    CHECK_ERR(dask_array_reduce(a, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &sum), DASK_ERR_NOT_IMPLEMENTED);
    CHECK(last_error_has("ctest.toy"), "reduce on a toy: the message names the kind: %s", dask_last_error_message());
    CHECK(atomic_load(&tk.wrong_thread) == 0, "ufunc_call ran on the caller's thread");

    /* release: once per object, when its last handle goes */
    CHECK(atomic_load(&tk.released) == 0, "nothing released while the arrays live");
    dask_array_free(a);
    CHECK(atomic_load(&tk.released) == 1, "freeing a releases its object (%ld)", atomic_load(&tk.released));
    dask_array_free(r);
    dask_array_free(r2);
    dask_array_free(r3);
    dask_array_free(b);
    dask_array_free(z);
    CHECK(atomic_load(&tk.released) == atomic_load(&tk.made) && atomic_load(&tk.made) == 5,
          "every toy released once (%ld of %ld made)", atomic_load(&tk.released), atomic_load(&tk.made));
    CHECK(atomic_load(&tk.bad_release) == 0, "release got the kind's ctx and live objects");
    dask_array_free(a); /* a second free is refused, not a crash */
    CHECK(atomic_load(&tk.released) == 5, "a second free releases nothing");
    dask_ufunc_free(add);
    dask_ufunc_free(ex);
    dask_ufunc_free(mul);
}

/* ---------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------- */

int main(void) {
    watchdog(small_mode() ? 300 : 60);
    main_thread = pthread_self();
    C = new_client(3);
    CHECK_OK(dask_op_register("ctest.arr.double", double_task, &dctx, 0, &op_double));
    CHECK_OK(dask_op_register("ctest.arr.blockfn", blockfn_task, &bctx, 0, &op_blockfn));

    double t0 = now_s();
    test_creation();
    test_from_value();
    test_elementwise();
    test_astype();
    test_reductions();
    test_argreduce();
    test_ufunc_reduce_accumulate();
    test_linalg();
    test_slicing();
    test_select_set_where();
    test_empty();
    test_reshape_rechunk();
    test_concat_stack();
    test_map_blocks();
    test_store_into_persist();
    test_fusion();
    test_shared_between_threads();
    test_user_ufunc();
    test_kind();
    fprintf(stderr, "test_array: %.2f s\n", now_s() - t0);

    dask_client_free(C);
    return test_finish();
}
