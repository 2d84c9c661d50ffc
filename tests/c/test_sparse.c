/*
 * Sparse (COO) arrays through the C ABI, every result checked against plain C loops over the
 * same data: the pydata/sparse 2017 example (a (10,10,10,10) array with entries < 0.9 zeroed:
 * nbytes, nnz, sorted coordinates, data, and tensordot(axes=((1,0,3),(2,1,0))).sum(axis=1)),
 * construction from triplets (unsorted, duplicates summed, errors), elementwise ufuncs (scalars,
 * two sparse operands, broadcasting, exp with its fill of 1, dense block operands, the densify
 * policy, chunked operands refused), reductions over one, several and all axes, tensordot and
 * matmul with every return type, transpose, reshape, concatenate and stack, chunked sparse
 * arrays (random_sparse, compute_sparse, to_sparse/to_dense, ufuncs, reductions; no silent
 * densify), NULL arguments and freed or mistyped handles.
 *
 * No libm: the reference exp is computed here (the test links only libdask and pthreads).
 */
#include "harness.h"
#include "array_helpers.h"

static dask_client *C;

/* ---------------------------------------------------------------------------------------
 * Arrays made by a test section are kept here and freed at its end.
 * ------------------------------------------------------------------------------------- */

#define POOL_MAX 1024
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

/* Runs `call` (which writes to OUT) and keeps the result: evaluates to the array or NULL. */
#define MK(call_with_out)                                                                              \
    __extension__({                                                                                    \
        dask_array *out_ = NULL;                                                                       \
        dask_array **OUT = &out_;                                                                      \
        (void)OUT;                                                                                     \
        CHECK_OK(call_with_out) ? keep(out_) : NULL;                                                   \
    })

/* The call must fail with `want`, set a fresh message containing `needle` (NULL: any), and
 * leave the out-pointer untouched (NULL). */
#define CHECK_FAILS(call, want, needle, outp)                                                         \
    do {                                                                                               \
        if (CHECK_ERR((call), (want)) && (needle) != NULL)                                             \
            CHECK(last_error_has(needle), "%s: the message names \"%s\": %s", #call,                  \
                  (const char *)(needle), dask_last_error_message());                                  \
        CHECK((outp) == NULL, "%s: no output on failure", #call);                                      \
        if ((outp) != NULL) dask_array_free((dask_array *)(outp));                                     \
        (outp) = NULL;                                                                                 \
    } while (0)

/* ---------------------------------------------------------------------------------------
 * Operands and ufunc calls
 * ------------------------------------------------------------------------------------- */


/* The ufunc applied to `n` operands: the status, the result in *out (not kept). */
static dask_status ucall_st(const char *name, const dask_operand *args, size_t n, dask_array **out) {
    dask_ufunc *u = NULL;
    *out = NULL;
    if (!CHECK_OK(dask_ufunc_lookup(name, &u))) return DASK_ERR_NOT_FOUND;
    dask_status st = dask_ufunc_call(u, args, n, out);
    /* dask_ufunc_free never fails, so the thread's last error message is the call's. */
    dask_ufunc_free(u);
    return st;
}

static dask_array *ucall(const char *name, const dask_operand *args, size_t n) {
    dask_array *r = NULL;
    dask_status st = ucall_st(name, args, n, &r);
    if (!CHECK_OK(st)) fprintf(stderr, "  (ufunc %s)\n", name);
    return keep(r);
}
static dask_array *u1(const char *name, dask_operand a) { return ucall(name, &a, 1); }
static dask_array *u2(const char *name, dask_operand a, dask_operand b) {
    dask_operand args[2] = {a, b};
    return ucall(name, args, 2);
}

static dask_array *reduce(const dask_array *x, dask_reduce_op op, const size_t *axes, size_t nax, bool keepdims) {
    dask_array *r = NULL;
    if (!CHECK_OK(dask_array_reduce(x, op, axes, nax, keepdims, 0.0, 0, &r)))
        fprintf(stderr, "  (reduce op %u, %zu axes)\n", op, nax);
    return keep(r);
}

/* ---------------------------------------------------------------------------------------
 * Host copies (every dtype converted to double) and comparisons
 * ------------------------------------------------------------------------------------- */




static void host_free(host *h) {
    free(h->d);
    h->d = NULL;
}

/* Copies a buffer value out (takes ownership of `v` and frees it). */
static bool host_of_value(dask_value *v, host *h, const char *what) {
    memset(h, 0, sizeof *h);
    dask_buffer_view bv;
    bool ok = CHECK_OK(dask_value_buffer(v, &bv, sizeof bv));
    if (ok) ok = CHECK(bv.ndim <= 8, "%s: rank %zu", what, bv.ndim);
    if (ok) {
        size_t n = 1;
        for (size_t k = 0; k < bv.ndim; ++k) n *= bv.shape[k];
        ok = CHECK(n == bv.len, "%s: buffer len %zu, shape gives %zu", what, bv.len, n);
    }
    if (ok) {
        h->dt = bv.dtype;
        h->ndim = bv.ndim;
        h->n = bv.len;
        for (size_t k = 0; k < bv.ndim; ++k) h->shape[k] = bv.shape[k];
        h->d = alloc_d(bv.len);
        for (size_t i = 0; i < bv.len; ++i) h->d[i] = view_elem(&bv, i);
    }
    dask_value_free(v);
    return ok;
}

/* The explicit densify of a sparse array. */
static bool dense_of(const dask_array *s, host *h, const char *what) {
    memset(h, 0, sizeof *h);
    if (s == NULL) return CHECK(false, "%s: no array (an earlier call failed)", what);
    dask_value *v = NULL;
    if (!CHECK_OK(dask_sparse_to_dense(s, &v))) {
        fprintf(stderr, "  (densifying %s)\n", what);
        return false;
    }
    return host_of_value(v, h, what);
}

/* dask_array_compute of a dense block or chunked array. */
static bool computed(const dask_array *a, host *h, const char *what) {
    memset(h, 0, sizeof *h);
    if (a == NULL) return CHECK(false, "%s: no array (an earlier call failed)", what);
    dask_value *v = NULL;
    if (!CHECK_OK(dask_array_compute(C, a, &v))) {
        fprintf(stderr, "  (computing %s)\n", what);
        return false;
    }
    return host_of_value(v, h, what);
}

static bool close_enough(double got, double want, double rtol, double atol) {
    if (want != want) return got != got; /* NaN wants NaN */
    double diff = got - want;
    if (diff < 0) diff = -diff;
    double mag = want < 0 ? -want : want;
    return diff <= atol + rtol * mag;
}

static bool meta_is(const host *h, dask_dtype dt, size_t ndim, const size_t *shape, const char *what) {
    if (h->d == NULL) return CHECK(false, "%s: no data", what);
    bool ok = h->ndim == ndim;
    for (size_t k = 0; ok && k < ndim; ++k) ok = h->shape[k] == shape[k];
    char got[128] = "", want[128] = "";
    for (size_t k = 0; k < h->ndim && k < 8; ++k)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%zu,", h->shape[k]);
    for (size_t k = 0; k < ndim; ++k) snprintf(want + strlen(want), sizeof want - strlen(want), "%zu,", shape[k]);
    ok = CHECK(ok, "%s: shape (%s), want (%s)", what, got, want);
    return CHECK(h->dt == dt, "%s: dtype %u, want %u", what, h->dt, dt) && ok;
}

/* One check: `n` values equal `want` within tolerance (exact when rtol = atol = 0). */
static bool values_are(const host *h, const double *want, size_t n, double rtol, double atol, const char *what) {
    if (h->d == NULL) return CHECK(false, "%s: no data", what);
    if (h->n != n) return CHECK(false, "%s: %zu elements, want %zu", what, h->n, n);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; ++i)
        if (!close_enough(h->d[i], want[i], rtol, atol)) {
            if (bad++ == 0) first = i;
        }
    return CHECK(bad == 0, "%s: %zu of %zu values differ; first at %zu: got %.17g, want %.17g", what, bad, n, first,
                 bad ? h->d[first] : 0.0, bad ? want[first] : 0.0);
}

static size_t prod(const size_t *s, size_t n) {
    size_t p = 1;
    for (size_t i = 0; i < n; ++i) p *= s[i];
    return p;
}

/* Dense block or chunked array: computed, with dtype, shape and values checked. */
static bool expect_dense(const dask_array *a, dask_dtype dt, size_t ndim, const size_t *shape, const double *want,
                         double rtol, double atol, const char *what) {
    host h;
    bool ok = computed(a, &h, what);
    if (ok) {
        ok = meta_is(&h, dt, ndim, shape, what);
        ok = values_are(&h, want, prod(shape, ndim), rtol, atol, what) && ok;
    }
    host_free(&h);
    return ok;
}

/* A uniform double in [0, 1) from the harness's xorshift generator. */
static double unif(rng_t *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

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

/* ---------------------------------------------------------------------------------------
 * The full check of a sparse array against its expected dense contents
 * ------------------------------------------------------------------------------------- */

typedef struct {
    size_t nnz;
    uint64_t *coords; /* ndim x nnz, axis-major */
    host data;
    double fill;
} sparse_host;

static void sparse_host_free(sparse_host *s) {
    free(s->coords);
    host_free(&s->data);
    memset(s, 0, sizeof *s);
}

/* Reads nnz, coordinates, data and fill value of a sparse array. */
static bool sparse_read(const dask_array *s, size_t ndim, sparse_host *out, const char *what) {
    memset(out, 0, sizeof *out);
    if (s == NULL) return CHECK(false, "%s: no array (an earlier call failed)", what);
    if (!CHECK_OK(dask_sparse_info(s, &out->nnz, NULL, NULL))) return false;
    out->coords = calloc(ndim * out->nnz + 1, sizeof *out->coords);
    if (!out->coords) exit(2);
    bool ok = CHECK_OK(dask_sparse_coords(s, out->coords));
    dask_value *v = NULL;
    if (ok && CHECK_OK(dask_sparse_data(s, &v))) {
        ok = host_of_value(v, &out->data, what);
        if (ok) ok = CHECK(out->data.ndim == 1 && out->data.n == out->nnz, "%s: data is 1-d of nnz (%zu) values, got %zu",
                           what, out->nnz, out->data.n);
    } else {
        ok = false;
    }
    if (ok) ok = CHECK_OK(dask_sparse_fill_value(s, &out->fill));
    return ok;
}

/*
 * Checks `s` against `want` (the dense contents, row-major) and `fill`:
 *  - ndim/shape/dtype queries;
 *  - coordinates in range and strictly increasing in row-major order (canonical);
 *  - no stored value equals the fill; every element not stored equals the fill in `want`;
 *  - stored values equal `want` at their positions (within tolerance);
 *  - nnz, nbytes (coordinate width from the largest extent, data itemsize) and density;
 *  - when `exact_nnz`, the stored positions are exactly those where `want` differs from fill;
 *  - dask_sparse_to_dense equals `want`.
 */
static bool expect_sparse(const dask_array *s, dask_dtype dt, size_t ndim, const size_t *shape, double fill,
                          const double *want, double rtol, double atol, bool exact_nnz, const char *what) {
    if (s == NULL) return CHECK(false, "%s: no array (an earlier call failed)", what);
    bool ok = true;
    size_t nd = 99, sh[8] = {0};
    dask_dtype got_dt = 0;
    ok = CHECK_OK(dask_array_ndim(s, &nd)) && ok;
    ok = CHECK(nd == ndim, "%s: ndim %zu, want %zu", what, nd, ndim) && ok;
    if (!ok) return false;
    ok = CHECK_OK(dask_array_shape(s, sh)) && ok;
    bool same = true;
    for (size_t k = 0; k < ndim; ++k) same = same && sh[k] == shape[k];
    ok = CHECK(same, "%s: dask_array_shape gives the expected shape", what) && ok;
    ok = CHECK_OK(dask_array_dtype(s, &got_dt)) && ok;
    ok = CHECK(got_dt == dt, "%s: dtype %u, want %u", what, got_dt, dt) && ok;

    size_t n = prod(shape, ndim);
    sparse_host sp;
    if (!sparse_read(s, ndim, &sp, what)) {
        sparse_host_free(&sp);
        return false;
    }
    ok = CHECK(sp.fill == fill || (fill != fill && sp.fill != sp.fill), "%s: fill value %g, want %g", what, sp.fill,
               fill) && ok;
    ok = CHECK(sp.data.dt == dt, "%s: data dtype %u, want %u", what, sp.data.dt, dt) && ok;

    /* Coordinates: in range, sorted, unique. */
    size_t bad_range = 0, bad_order = 0, bad_val = 0, stored_fill = 0, first_bad = 0;
    uint64_t prev = 0;
    uint8_t *stored = calloc(n + 1, 1);
    if (!stored) exit(2);
    for (size_t i = 0; i < sp.nnz; ++i) {
        uint64_t lin = 0;
        bool in_range = true;
        for (size_t a = 0; a < ndim; ++a) {
            uint64_t c = sp.coords[a * sp.nnz + i];
            if (c >= shape[a]) in_range = false;
            lin = lin * shape[a] + c;
        }
        if (!in_range) {
            ++bad_range;
            continue;
        }
        if (i > 0 && lin <= prev) ++bad_order;
        prev = lin;
        stored[lin] = 1;
        double v = sp.data.d[i];
        if (v == fill || (fill != fill && v != v)) ++stored_fill;
        if (!close_enough(v, want[lin], rtol, atol)) {
            if (bad_val++ == 0) first_bad = i;
        }
    }
    ok = CHECK(bad_range == 0, "%s: %zu coordinates out of range", what, bad_range) && ok;
    ok = CHECK(bad_order == 0, "%s: %zu entries out of row-major order (or duplicated)", what, bad_order) && ok;
    ok = CHECK(stored_fill == 0, "%s: %zu stored entries equal the fill value", what, stored_fill) && ok;
    ok = CHECK(bad_val == 0, "%s: %zu stored values differ; first entry %zu: got %.17g", what, bad_val, first_bad,
               bad_val ? sp.data.d[first_bad] : 0.0) && ok;
    size_t unstored_bad = 0, want_nnz = 0;
    for (size_t l = 0; l < n; ++l) {
        bool differs = !(want[l] == fill || (fill != fill && want[l] != want[l]));
        want_nnz += differs;
        if (!stored[l] && !close_enough(fill, want[l], rtol, atol)) ++unstored_bad;
    }
    ok = CHECK(unstored_bad == 0, "%s: %zu elements not stored but not equal to the fill", what, unstored_bad) && ok;
    if (exact_nnz) ok = CHECK(sp.nnz == want_nnz, "%s: nnz %zu, want %zu", what, sp.nnz, want_nnz) && ok;
    free(stored);

    /* nbytes and density as pydata/sparse counts them. */
    size_t maxdim = 0;
    for (size_t k = 0; k < ndim; ++k) maxdim = shape[k] > maxdim ? shape[k] : maxdim;
    uint64_t maxidx = maxdim > 0 ? maxdim - 1 : 0;
    size_t width = maxidx <= 0xff ? 1 : maxidx <= 0xffff ? 2 : maxidx <= 0xffffffffull ? 4 : 8;
    size_t isz = dt == DASK_BOOL || dt == DASK_INT8 || dt == DASK_UINT8     ? 1
                 : dt == DASK_INT16 || dt == DASK_UINT16                    ? 2
                 : dt == DASK_INT32 || dt == DASK_UINT32 || dt == DASK_FLOAT32 ? 4
                                                                            : 8;
    size_t nnz2 = 0, nbytes = 0;
    double density = -1;
    ok = CHECK_OK(dask_sparse_info(s, &nnz2, &nbytes, &density)) && ok;
    ok = CHECK(nnz2 == sp.nnz && nbytes == sp.nnz * (ndim * width + isz),
               "%s: nbytes %zu, want %zu x (%zu x %zu + %zu)", what, nbytes, sp.nnz, ndim, width, isz) && ok;
    double want_density = n ? (double)sp.nnz / (double)n : 0.0;
    ok = CHECK(close_enough(density, want_density, 1e-15, 0), "%s: density %g, want %g", what, density,
               want_density) && ok;

    /* The explicit densify. */
    host h;
    if (dense_of(s, &h, what)) {
        ok = meta_is(&h, dt, ndim, shape, what) && ok;
        ok = values_are(&h, want, n, rtol, atol, what) && ok;
    } else {
        ok = false;
    }
    host_free(&h);
    sparse_host_free(&sp);
    return ok;
}

/* A sparse float64 array from dense host data (kept). */
static dask_array *sparse_from(const double *x, size_t ndim, const size_t *shape, double fill) {
    dask_value *v = NULL;
    if (!CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, ndim, shape, x, &v))) return NULL;
    dask_array *s = MK(dask_sparse_from_dense(v, fill, OUT));
    dask_value_free(v);
    return s;
}

/* Random dense data: each element non-zero with probability `density`, then lo + (hi-lo)u
 * (never exactly 0). */
static double *random_dense(uint64_t seed, size_t n, double density, double lo, double hi) {
    rng_t r = rng_new(seed);
    double *x = alloc_d(n);
    for (size_t i = 0; i < n; ++i) {
        double keep_it = unif(&r), u = unif(&r);
        if (keep_it < density) {
            x[i] = lo + (hi - lo) * u;
            if (x[i] == 0.0) x[i] = 0.5;
        }
    }
    return x;
}

/* The sparse identity of size n (for dense blocks: tensordot with RETURN_DENSE). */
static dask_array *sparse_eye(size_t n) {
    double *x = alloc_d(n * n);
    for (size_t i = 0; i < n; ++i) x[i * n + i] = 1.0;
    size_t shape[2] = {n, n};
    dask_array *e = sparse_from(x, 2, shape, 0.0);
    free(x);
    return e;
}

/* A dense block holding `s` (sparse, 2-d, fill 0): s @ I with DASK_RETURN_DENSE. */
static dask_array *dense_block_of(const dask_array *s, size_t cols) {
    dask_array *eye = sparse_eye(cols);
    size_t a1 = 1, b0 = 0;
    return MK(dask_sparse_tensordot(s, eye, &a1, &b0, 1, DASK_RETURN_DENSE, OUT));
}

static bool is_sparse(const dask_array *a) {
    size_t nnz = 0;
    return a != NULL && dask_sparse_info(a, &nnz, NULL, NULL) == DASK_OK;
}

/* ---------------------------------------------------------------------------------------
 * The pydata/sparse 2017 example
 * ------------------------------------------------------------------------------------- */

static void test_log_example(void) {
    enum { N = 10, NN = N * N * N * N };
    size_t shape[4] = {N, N, N, N};
    double *x = alloc_d(NN);
    rng_t r = rng_new(2017);
    size_t count = 0;
    for (size_t i = 0; i < NN; ++i) {
        double u = unif(&r);
        x[i] = u < 0.9 ? 0.0 : u;
        count += x[i] != 0.0;
    }
    dask_array *s = sparse_from(x, 4, shape, 0.0);
    if (s == NULL) {
        free(x);
        return;
    }

    size_t nnz = 0, nbytes = 0;
    double density = 0;
    CHECK_OK(dask_sparse_info(s, &nnz, &nbytes, &density));
    CHECK(nnz == count, "2017 example: nnz %zu, C count %zu", nnz, count);
    CHECK(nbytes <= 12888 && nbytes < 80000, "2017 example: nbytes %zu <= 12888 (the 2017 log) and < 80000 (dense)",
          nbytes);
    CHECK(nbytes == count * (4 * 1 + 8), "2017 example: nbytes %zu = nnz x (4 u8 coordinates + 8)", nbytes);
    CHECK(close_enough(density, (double)count / NN, 1e-15, 0), "2017 example: density %g", density);

    /* Coordinates: exactly the C list of non-zero positions, in row-major order. */
    uint64_t *coords = calloc(4 * nnz + 1, sizeof *coords);
    if (!coords) exit(2);
    if (CHECK_OK(dask_sparse_coords(s, coords)) && nnz == count) {
        size_t k = 0, bad = 0;
        for (size_t l = 0; l < NN; ++l) {
            if (x[l] == 0.0) continue;
            uint64_t lin = ((coords[k] * N + coords[nnz + k]) * N + coords[2 * nnz + k]) * N + coords[3 * nnz + k];
            bad += lin != l;
            ++k;
        }
        CHECK(bad == 0, "2017 example: %zu of %zu coordinates differ from the C non-zero positions", bad, nnz);
    }
    dask_value *dv = NULL;
    host data;
    if (CHECK_OK(dask_sparse_data(s, &dv)) && host_of_value(dv, &data, "2017 data") && nnz == count) {
        size_t k = 0, bad = 0;
        for (size_t l = 0; l < NN; ++l)
            if (x[l] != 0.0) bad += data.d[k++] != x[l];
        CHECK(data.dt == DASK_FLOAT64 && data.ndim == 1 && data.n == nnz && bad == 0,
              "2017 example: data is the %zu non-zero values in order (%zu differ)", nnz, bad);
        host_free(&data);
    }
    free(coords);
    expect_sparse(s, DASK_FLOAT64, 4, shape, 0.0, x, 0, 0, true, "2017 example");

    /* tensordot(s, s, axes=((1, 0, 3), (2, 1, 0))): t[i][l] = sum_{p,q,r} x[p,q,i,r] x[r,p,q,l]. */
    double *t = alloc_d(N * N), *ts = alloc_d(N);
    for (size_t i = 0; i < N; ++i)
        for (size_t l = 0; l < N; ++l) {
            double acc = 0;
            for (size_t p = 0; p < N; ++p)
                for (size_t q = 0; q < N; ++q)
                    for (size_t rr = 0; rr < N; ++rr)
                        acc += x[((p * N + q) * N + i) * N + rr] * x[((rr * N + p) * N + q) * N + l];
            t[i * N + l] = acc;
            ts[i] += acc;
        }
    size_t axa[3] = {1, 0, 3}, axb[3] = {2, 1, 0}, s2[2] = {N, N}, s1[1] = {N};
    dask_array *td = MK(dask_array_tensordot(s, s, axa, axb, 3, OUT));
    CHECK(is_sparse(td), "2017 example: tensordot of two sparse arrays is sparse");
    expect_sparse(td, DASK_FLOAT64, 2, s2, 0.0, t, 1e-12, 0, false, "2017 example: tensordot");
    size_t ax1 = 1;
    dask_array *sum1 = reduce(td, DASK_REDUCE_SUM, &ax1, 1, false);
    CHECK(is_sparse(sum1), "2017 example: a sum over one of two axes of a sparse array is sparse");
    expect_sparse(sum1, DASK_FLOAT64, 1, s1, 0.0, ts, 1e-12, 0, false, "2017 example: tensordot(...).sum(axis=1)");
    /* A sparse result is not silently densified by dask_array_compute. */
    dask_value *v = NULL;
    if (sum1 != NULL) {
        CHECK_ERR(dask_array_compute(C, sum1, &v), DASK_ERR_NOT_IMPLEMENTED);
        CHECK(v == NULL, "no value from computing a sparse array");
    }
    /* The same product with a dense result, read with dask_array_compute. */
    dask_array *tdd = MK(dask_sparse_tensordot(s, s, axa, axb, 3, DASK_RETURN_DENSE, OUT));
    CHECK(tdd != NULL && !is_sparse(tdd), "2017 example: DASK_RETURN_DENSE gives a dense array");
    expect_dense(tdd, DASK_FLOAT64, 2, s2, t, 1e-12, 0, "2017 example: tensordot, dense result");
    /* A dense block is reduced as a chunked array over its computed value. */
    dask_value *tv = NULL;
    if (tdd != NULL && CHECK_OK(dask_array_compute(C, tdd, &tv))) {
        dask_array *tc = MK(dask_array_from_value(tv, NULL, OUT));
        dask_value_free(tv);
        dask_array *sumd = tc ? reduce(tc, DASK_REDUCE_SUM, &ax1, 1, false) : NULL;
        expect_dense(sumd, DASK_FLOAT64, 1, s1, ts, 1e-12, 0, "2017 example: dense tensordot(...).sum(axis=1)");
    }
    /* Over all axes the sum is a dense 0-d array. */
    double total = 0;
    for (size_t i = 0; i < N; ++i) total += ts[i];
    dask_array *sall = reduce(td, DASK_REDUCE_SUM, NULL, 0, false);
    CHECK(sall != NULL && !is_sparse(sall), "2017 example: a sum over all axes is dense");
    expect_dense(sall, DASK_FLOAT64, 0, NULL, &total, 1e-12, 0, "2017 example: tensordot(...).sum()");

    free(t);
    free(ts);
    free(x);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Triplets
 * ------------------------------------------------------------------------------------- */

static dask_array *from_triplets(size_t ndim, const size_t *shape, const uint64_t *coords, dask_dtype dt,
                                 const void *data, size_t nnz, double fill) {
    dask_value *v = NULL;
    size_t n1[1] = {nnz};
    if (!CHECK_OK(dask_value_copy_buffer(dt, 1, n1, data, &v))) return NULL;
    dask_array *s = MK(dask_sparse_from_triplets(ndim, shape, coords, v, fill, OUT));
    dask_value_free(v);
    return s;
}

static void test_triplets(void) {
    /* Unsorted, with duplicates (summed), one pair cancelling to the fill (dropped), an
     * explicit fill value (dropped). */
    size_t shape[2] = {4, 5};
    enum { K = 9 };
    const uint64_t rows[K] = {3, 0, 2, 0, 3, 1, 2, 1, 3};
    const uint64_t cols[K] = {4, 1, 2, 1, 4, 0, 2, 3, 0};
    const double vals[K] = {1.5, 2.0, -1.0, 3.0, 0.25, 7.0, 1.0, 0.0, -4.5};
    uint64_t coords[2 * K];
    double want[20] = {0};
    for (size_t i = 0; i < K; ++i) {
        coords[i] = rows[i];
        coords[K + i] = cols[i];
        want[rows[i] * 5 + cols[i]] += vals[i];
    }
    dask_array *s = from_triplets(2, shape, coords, DASK_FLOAT64, vals, K, 0.0);
    expect_sparse(s, DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "triplets: unsorted with duplicates");
    size_t nnz = 0;
    if (s) CHECK_OK(dask_sparse_info(s, &nnz, NULL, NULL));
    CHECK(nnz == 4, "triplets: (0,1) 2+3, (1,0) 7, (3,0) -4.5, (3,4) 1.5+0.25 stored; (2,2) cancels, (1,3) is 0: "
                    "nnz %zu", nnz);

    /* Many random triplets in 3-d, integer-valued doubles (so any summation order is exact). */
    size_t sh3[3] = {7, 6, 5};
    enum { M = 400 };
    uint64_t *c3 = calloc(3 * M, sizeof *c3);
    double *v3 = alloc_d(M), *w3 = alloc_d(210);
    int64_t *vi = calloc(M, sizeof *vi);
    if (!c3 || !vi) exit(2);
    rng_t r = rng_new(77);
    for (size_t i = 0; i < M; ++i) {
        for (size_t a = 0; a < 3; ++a) c3[a * M + i] = rng_below(&r, sh3[a]);
        vi[i] = (int64_t)rng_below(&r, 21) - 10;
        v3[i] = (double)vi[i];
        w3[(c3[i] * 6 + c3[M + i]) * 5 + c3[2 * M + i]] += v3[i];
    }
    dask_array *s3 = from_triplets(3, sh3, c3, DASK_FLOAT64, v3, M, 0.0);
    expect_sparse(s3, DASK_FLOAT64, 3, sh3, 0.0, w3, 0, 0, true, "triplets: 400 random in (7,6,5), float64");
    dask_array *s3i = from_triplets(3, sh3, c3, DASK_INT64, vi, M, 0.0);
    expect_sparse(s3i, DASK_INT64, 3, sh3, 0.0, w3, 0, 0, true, "triplets: 400 random in (7,6,5), int64");

    /* A non-zero fill: stored values equal to it are dropped, the rest is the fill. */
    double w1[210];
    double *v1 = alloc_d(M);
    for (size_t l = 0; l < 210; ++l) w1[l] = 1.0;
    uint8_t seen[210] = {0};
    for (size_t i = 0; i < M; ++i) {
        size_t l = (c3[i] * 6 + c3[M + i]) * 5 + c3[2 * M + i];
        v1[i] = v3[i];
        if (!seen[l]) {
            seen[l] = 1;
            w1[l] = 0.0;
        }
        w1[l] += v3[i];
    }
    dask_array *sf = from_triplets(3, sh3, c3, DASK_FLOAT64, v1, M, 1.0);
    expect_sparse(sf, DASK_FLOAT64, 3, sh3, 1.0, w1, 0, 0, true, "triplets: fill value 1");

    /* No entries at all. */
    double none_want[20] = {0};
    dask_value *empty = NULL;
    size_t n0[1] = {0};
    double dummy = 0;
    dask_array *e = NULL;
    if (CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, n0, &dummy, &empty))) {
        e = MK(dask_sparse_from_triplets(2, shape, NULL, empty, 0.0, OUT));
        expect_sparse(e, DASK_FLOAT64, 2, shape, 0.0, none_want, 0, 0, true, "triplets: none");
        if (e) CHECK_OK(dask_sparse_coords(e, NULL));
    }

    /* A zero-length axis: reductions over it give the identity, max has none. */
    size_t s30[2] = {3, 0}, s3_[1] = {3}, s0[1] = {0};
    dask_array *z = NULL;
    if (empty != NULL) z = MK(dask_sparse_from_triplets(2, s30, NULL, empty, 0.0, OUT));
    if (z != NULL) {
        size_t ax0 = 0, ax1 = 1;
        double zeros3[3] = {0, 0, 0};
        expect_sparse(reduce(z, DASK_REDUCE_SUM, &ax1, 1, false), DASK_FLOAT64, 1, s3_, 0.0, zeros3, 0, 0, true,
                      "sum over a zero-length axis");
        expect_sparse(reduce(z, DASK_REDUCE_SUM, &ax0, 1, false), DASK_FLOAT64, 1, s0, 0.0, zeros3, 0, 0, true,
                      "sum of a (3, 0) array over axis 0");
        dask_array *zo = NULL;
        CHECK_FAILS(dask_array_reduce(z, DASK_REDUCE_MAX, &ax1, 1, false, 0, 0, &zo), DASK_ERR_INVALID_ARGUMENT,
                    "zero-size", zo);
    }

    /* A NaN fill: every element that is not NaN is stored. */
    double xn[12], nan = __builtin_nan("");
    size_t s34[2] = {3, 4};
    for (size_t i = 0; i < 12; ++i) xn[i] = i % 3 == 1 ? (double)i - 5.0 : nan;
    dask_array *sn = sparse_from(xn, 2, s34, nan);
    double fn = 0;
    if (sn) CHECK_OK(dask_sparse_fill_value(sn, &fn));
    CHECK(fn != fn, "fill value NaN (%g)", fn);
    expect_sparse(sn, DASK_FLOAT64, 2, s34, nan, xn, 0, 0, true, "from_dense with a NaN fill");

    /* Errors: an out-of-range coordinate, data that is not a buffer or not 1-d, lengths. */
    dask_value *vbuf = NULL, *vnum = NULL, *v2d = NULL;
    size_t nk[1] = {K}, s22[2] = {3, 3};
    double nine[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, nk, vals, &vbuf));
    CHECK_OK(dask_value_from_f64(1.0, &vnum));
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, s22, nine, &v2d));
    uint64_t bad[2 * K];
    memcpy(bad, coords, sizeof bad);
    bad[K + 3] = 5; /* column 5 of a 5-column array */
    dask_array *out = NULL;
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, bad, vbuf, 0.0, &out), DASK_ERR_INVALID_ARGUMENT, "out of range",
                out);
    memcpy(bad, coords, sizeof bad);
    bad[0] = 4; /* row 4 of a 4-row array */
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, bad, vbuf, 0.0, &out), DASK_ERR_INVALID_ARGUMENT, "out of range",
                out);
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, coords, vnum, 0.0, &out), DASK_ERR_DTYPE, "not a buffer", out);
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, coords, v2d, 0.0, &out), DASK_ERR_SHAPE, "1-d", out);
    CHECK_FAILS(dask_sparse_from_dense(vnum, 0.0, &out), DASK_ERR_DTYPE, "not a buffer", out);
    dask_value_free(vbuf);
    dask_value_free(vnum);
    dask_value_free(v2d);
    dask_value_free(empty);
    free(c3);
    free(v3);
    free(w3);
    free(vi);
    free(v1);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Elementwise
 * ------------------------------------------------------------------------------------- */

static void test_elementwise(void) {
    enum { R = 6, K = 7, N = R * K };
    size_t shape[2] = {R, K};
    double *a = random_dense(101, N, 0.35, 0.1, 1.1), *b = random_dense(202, N, 0.35, 0.1, 1.1);
    double want[N];
    dask_array *A = sparse_from(a, 2, shape, 0.0), *B = sparse_from(b, 2, shape, 0.0);
    if (!A || !B) goto done;

    /* Scalars on either side. */
    for (size_t i = 0; i < N; ++i) want[i] = a[i] * 2.5;
    expect_sparse(u2("multiply", opa(A), opf(2.5)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A * 2.5");
    expect_sparse(u2("multiply", opf(2.5), opa(A)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "2.5 * A");
    for (size_t i = 0; i < N; ++i) want[i] = a[i] + 1.0;
    expect_sparse(u2("add", opa(A), opf(1.0)), DASK_FLOAT64, 2, shape, 1.0, want, 0, 0, false, "A + 1 (fill 1)");

    /* Two sparse operands: the union of their positions. */
    for (size_t i = 0; i < N; ++i) want[i] = a[i] + b[i];
    expect_sparse(u2("add", opa(A), opa(B)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A + B");
    for (size_t i = 0; i < N; ++i) want[i] = a[i] * b[i];
    expect_sparse(u2("multiply", opa(A), opa(B)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A * B");
    for (size_t i = 0; i < N; ++i) want[i] = a[i] - b[i];
    expect_sparse(u2("subtract", opa(A), opa(B)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A - B");

    /* Broadcasting a sparse row over a sparse matrix. */
    size_t sk[1] = {K};
    double row[K] = {0, 0.5, 0, 0, 2.0, 0, -1.0};
    dask_array *Rw = sparse_from(row, 1, sk, 0.0);
    for (size_t i = 0; i < R; ++i)
        for (size_t j = 0; j < K; ++j) want[i * K + j] = a[i * K + j] + row[j];
    expect_sparse(u2("add", opa(A), opa(Rw)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A + row (broadcast)");

    /* exp: every element not stored becomes exp(0) = 1, the new fill. */
    for (size_t i = 0; i < N; ++i) want[i] = ref_exp(a[i]);
    dask_array *E = u1("exp", opa(A));
    double fill = -1;
    if (E) CHECK_OK(dask_sparse_fill_value(E, &fill));
    CHECK(fill == 1.0, "exp(A) has fill value 1 (got %g)", fill);
    expect_sparse(E, DASK_FLOAT64, 2, shape, 1.0, want, 1e-15, 0, false, "exp(A)");
    size_t nA = 0, nE = 0;
    if (E) {
        CHECK_OK(dask_sparse_info(A, &nA, NULL, NULL));
        CHECK_OK(dask_sparse_info(E, &nE, NULL, NULL));
        CHECK(nA == nE, "exp(A) stores the positions of A (%zu, %zu)", nE, nA);
    }
    /* ... which reductions honour: the sum counts the fill of every element not stored. */
    double total = 0;
    for (size_t i = 0; i < N; ++i) total += want[i];
    expect_dense(reduce(E, DASK_REDUCE_SUM, NULL, 0, false), DASK_FLOAT64, 0, NULL, &total, 1e-13, 0,
                 "exp(A).sum() with fill 1");
    /* Operands with different fills. */
    for (size_t i = 0; i < N; ++i) want[i] = ref_exp(a[i]) + b[i];
    expect_sparse(u2("add", opa(E), opa(B)), DASK_FLOAT64, 2, shape, 1.0, want, 1e-15, 0, false, "exp(A) + B");

    /* A comparison: a bool sparse array with fill false. */
    for (size_t i = 0; i < N; ++i) want[i] = a[i] > 0.6;
    expect_sparse(u2("greater", opa(A), opf(0.6)), DASK_BOOL, 2, shape, 0.0, want, 0, 0, true, "A > 0.6");

    /* Dense blocks: a 0-d block (a ufunc of scalars) keeps the result sparse with a new fill. */
    dask_array *five = u2("add", opf(2.0), opf(3.0));
    CHECK(five != NULL && !is_sparse(five), "a ufunc of scalars is a dense block");
    for (size_t i = 0; i < N; ++i) want[i] = a[i] + 5.0;
    expect_sparse(u2("add", opa(A), opa(five)), DASK_FLOAT64, 2, shape, 5.0, want, 0, 0, false,
                  "A + 0-d dense block (fill 5)");

    /* A 2-d dense block: sparse * dense stays sparse (0 * anything finite is 0), sparse +
     * dense would be dense: refused unless auto-densify is on. */
    dask_array *D = dense_block_of(B, K);
    CHECK(D != NULL && !is_sparse(D), "B @ I with DASK_RETURN_DENSE is a dense block");
    expect_dense(D, DASK_FLOAT64, 2, shape, b, 0, 0, "dense block of B");
    for (size_t i = 0; i < N; ++i) want[i] = a[i] * b[i];
    expect_sparse(u2("multiply", opa(A), opa(D)), DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "A * dense B");
    dask_operand ad[2] = {opa(A), opa(D)};
    dask_array *res = NULL;
    dask_sparse_set_auto_densify(false);
    error_sentinel();
    dask_status st = ucall_st("add", ad, 2, &res);
    if (CHECK(st == DASK_ERR_INVALID_ARGUMENT, "A + dense block without auto-densify: %s", dask_status_name(st)))
        CHECK(last_error_has("set_auto_densify"), "the message says how to allow it: %s", dask_last_error_message());
    CHECK(res == NULL, "no result when the densify is refused");
    dask_array_free(res);
    res = NULL;
    dask_sparse_set_auto_densify(true);
    st = ucall_st("add", ad, 2, &res);
    keep(res);
    if (CHECK_OK(st)) {
        CHECK(!is_sparse(res), "A + dense block with auto-densify is dense");
        for (size_t i = 0; i < N; ++i) want[i] = a[i] + b[i];
        expect_dense(res, DASK_FLOAT64, 2, shape, want, 0, 0, "A + dense B (auto-densify)");
    }
    dask_sparse_set_auto_densify(false);
    res = NULL;
    error_sentinel();
    st = ucall_st("add", ad, 2, &res);
    CHECK(st == DASK_ERR_INVALID_ARGUMENT && res == NULL && last_error_has("dense"),
          "auto-densify off again refuses: %s (%s)", dask_status_name(st), dask_last_error_message());
    dask_array_free(res);

    /* A chunked array operand: the result would be dense, so the densify policy (off here)
     * refuses it, naming the policy and the explicit conversions. */
    dask_value *bv = NULL;
    if (CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, shape, b, &bv))) {
        size_t ch[2] = {3, 4};
        dask_array *X = MK(dask_array_from_value(bv, ch, OUT));
        dask_value_free(bv);
        dask_operand ax[2] = {opa(A), opa(X)}, xa[2] = {opa(X), opa(A)};
        res = NULL;
        error_sentinel();
        st = ucall_st("add", ax, 2, &res);
        CHECK(st == DASK_ERR_INVALID_ARGUMENT && res == NULL && last_error_has("dask_sparse_set_auto_densify") &&
                  last_error_has("dask_array_to_dense"),
              "sparse + chunked: %s, message \"%s\"", dask_status_name(st), dask_last_error_message());
        dask_array_free(res);
        res = NULL;
        error_sentinel();
        st = ucall_st("add", xa, 2, &res);
        CHECK(st == DASK_ERR_INVALID_ARGUMENT && res == NULL && last_error_has("densify"),
              "chunked + sparse: %s, message \"%s\"", dask_status_name(st), dask_last_error_message());
        dask_array_free(res);
    }

    /* Shapes that do not broadcast. */
    size_t s3[1] = {3};
    double three[3] = {1, 2, 3};
    dask_array *T3 = sparse_from(three, 1, s3, 0.0);
    dask_operand bad[2] = {opa(A), opa(T3)};
    res = NULL;
    error_sentinel();
    st = ucall_st("add", bad, 2, &res);
    CHECK(st != DASK_OK && res == NULL && last_error_has(NULL), "(6,7) + (3,) is refused: %s (%s)",
          dask_status_name(st), dask_last_error_message());
    dask_array_free(res);

done:
    free(a);
    free(b);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Reductions
 * ------------------------------------------------------------------------------------- */

enum { RA = 5, RB = 6, RC = 7 };

/* The square root by Newton's method (the tests link without libm). */
static double newton_sqrt(double v) {
    double r = v > 1 ? v : 1;
    for (int i = 0; i < 200; ++i) r = 0.5 * (r + v / r);
    return r;
}

/* The C reduction of the (5,6,7) array `x` over the axes flagged in `red` (sum, max, min,
 * count_nonzero), into `out` laid out row-major over the kept axes. */
static void ref_reduce(const double *x, dask_reduce_op op, const bool red[3], double *out, size_t *out_n) {
    size_t dims[3] = {RA, RB, RC}, kept[3], nk = 0;
    for (size_t a = 0; a < 3; ++a)
        if (!red[a]) kept[nk++] = a;
    size_t n = 1;
    for (size_t k = 0; k < nk; ++k) n *= dims[kept[k]];
    bool *init = calloc(n, 1);
    if (!init) exit(2);
    for (size_t i = 0; i < n; ++i) out[i] = 0;
    for (size_t i = 0; i < RA; ++i)
        for (size_t j = 0; j < RB; ++j)
            for (size_t k = 0; k < RC; ++k) {
                size_t idx[3] = {i, j, k}, o = 0;
                for (size_t q = 0; q < nk; ++q) o = o * dims[kept[q]] + idx[kept[q]];
                double v = x[(i * RB + j) * RC + k];
                switch (op) {
                case DASK_REDUCE_SUM: out[o] += v; break;
                case DASK_REDUCE_COUNT_NONZERO: out[o] += v != 0.0; break;
                case DASK_REDUCE_MAX: out[o] = !init[o] || v > out[o] ? v : out[o]; break;
                case DASK_REDUCE_MIN: out[o] = !init[o] || v < out[o] ? v : out[o]; break;
                default: break;
                }
                init[o] = true;
            }
    free(init);
    *out_n = n;
}

static void test_reductions(void) {
    size_t shape[3] = {RA, RB, RC};
    double *x = random_dense(303, RA * RB * RC, 0.3, -1.0, 1.0);
    dask_array *S = sparse_from(x, 3, shape, 0.0);
    if (!S) {
        free(x);
        return;
    }
    double want[RA * RB * RC];
    size_t n = 0;
    const dask_reduce_op ops[4] = {DASK_REDUCE_SUM, DASK_REDUCE_MAX, DASK_REDUCE_MIN, DASK_REDUCE_COUNT_NONZERO};
    const char *names[4] = {"sum", "max", "min", "count_nonzero"};
    for (size_t oi = 0; oi < 4; ++oi) {
        dask_reduce_op op = ops[oi];
        dask_dtype dt = op == DASK_REDUCE_COUNT_NONZERO ? DASK_INT64 : DASK_FLOAT64;
        double rtol = op == DASK_REDUCE_SUM ? 1e-12 : 0, atol = op == DASK_REDUCE_SUM ? 1e-15 : 0;
        char what[96];
        /* One axis at a time: sparse results. */
        for (size_t ax = 0; ax < 3; ++ax) {
            bool red[3] = {ax == 0, ax == 1, ax == 2};
            ref_reduce(x, op, red, want, &n);
            size_t osh[2], k = 0;
            for (size_t a = 0; a < 3; ++a)
                if (a != ax) osh[k++] = shape[a];
            snprintf(what, sizeof what, "%s over axis %zu", names[oi], ax);
            dask_array *r = reduce(S, op, &ax, 1, false);
            CHECK(is_sparse(r), "%s is sparse", what);
            expect_sparse(r, dt, 2, osh, 0.0, want, rtol, atol, op != DASK_REDUCE_SUM, what);
        }
        /* Axes 0 and 2, with and without keepdims. */
        size_t ax02[2] = {0, 2};
        bool red02[3] = {true, false, true};
        ref_reduce(x, op, red02, want, &n);
        size_t s1[1] = {RB}, s161[3] = {1, RB, 1};
        snprintf(what, sizeof what, "%s over axes (0, 2)", names[oi]);
        expect_sparse(reduce(S, op, ax02, 2, false), dt, 1, s1, 0.0, want, rtol, atol, op != DASK_REDUCE_SUM, what);
        snprintf(what, sizeof what, "%s over axes (0, 2), keepdims", names[oi]);
        expect_sparse(reduce(S, op, ax02, 2, true), dt, 3, s161, 0.0, want, rtol, atol, op != DASK_REDUCE_SUM, what);
        /* All axes: a dense 0-d result. */
        bool all[3] = {true, true, true};
        ref_reduce(x, op, all, want, &n);
        snprintf(what, sizeof what, "%s over all axes", names[oi]);
        dask_array *r = reduce(S, op, NULL, 0, false);
        CHECK(r != NULL && !is_sparse(r), "%s is dense", what);
        expect_dense(r, dt, 0, NULL, want, rtol, atol, what);
        size_t s111[3] = {1, 1, 1};
        snprintf(what, sizeof what, "%s over all axes, keepdims", names[oi]);
        expect_dense(reduce(S, op, NULL, 0, true), dt, 3, s111, want, rtol, atol, what);
    }

    /* Reductions with a non-zero fill: max of (S + 2) over axis 1 counts the fill 2. */
    double *y = alloc_d(RA * RB * RC);
    for (size_t i = 0; i < RA * RB * RC; ++i) y[i] = x[i] + 2.0;
    dask_array *S2 = u2("add", opa(S), opf(2.0));
    bool red1[3] = {false, true, false};
    size_t ax1 = 1, s57[2] = {RA, RC};
    ref_reduce(y, DASK_REDUCE_MAX, red1, want, &n);
    expect_sparse(reduce(S2, DASK_REDUCE_MAX, &ax1, 1, false), DASK_FLOAT64, 2, s57, 2.0, want, 0, 0, false,
                  "max of (S + 2) over axis 1 (fill 2)");
    ref_reduce(y, DASK_REDUCE_SUM, red1, want, &n);
    expect_sparse(reduce(S2, DASK_REDUCE_SUM, &ax1, 1, false), DASK_FLOAT64, 2, s57, 12.0, want, 1e-12, 1e-14, false,
                  "sum of (S + 2) over axis 1 (fill 6 x 2)");
    free(y);

    /* var and std over every axis (the fill counted), against two passes over x. */
    double mean = 0, ss = 0;
    size_t nall = (size_t)RA * RB * RC;
    for (size_t i = 0; i < nall; ++i) mean += x[i];
    mean /= (double)nall;
    for (size_t i = 0; i < nall; ++i) ss += (x[i] - mean) * (x[i] - mean);
    double var1 = ss / (double)(nall - 1), sd0 = newton_sqrt(ss / (double)nall);
    dask_array *vr = NULL, *sr = NULL;
    CHECK_OK(dask_array_reduce(S, DASK_REDUCE_VAR, NULL, 0, false, 1.0, 0, &vr));
    keep(vr);
    expect_dense(vr, DASK_FLOAT64, 0, NULL, &var1, 1e-12, 1e-14, "var(S, ddof=1)");
    CHECK_OK(dask_array_reduce(S, DASK_REDUCE_STD, NULL, 0, false, 0.0, 0, &sr));
    keep(sr);
    expect_dense(sr, DASK_FLOAT64, 0, NULL, &sd0, 1e-12, 1e-14, "std(S)");
    /* astype keeps a sparse array sparse. */
    dask_array *s32 = NULL;
    CHECK_OK(dask_array_astype(S, DASK_FLOAT32, &s32));
    keep(s32);
    dask_array_kind kind = 0;
    CHECK_OK(dask_array_get_kind(s32, &kind));
    CHECK(kind == DASK_ARRAY_SPARSE, "astype of a sparse array is sparse (kind %u)", kind);

    /* Errors: an axis out of bounds, an unknown reduction. */
    dask_array *out = NULL;
    size_t ax9 = 9;
    CHECK_FAILS(dask_array_reduce(S, DASK_REDUCE_SUM, &ax9, 1, false, 0, 0, &out), DASK_ERR_INVALID_ARGUMENT,
                "out of bounds", out);
    CHECK_FAILS(dask_array_reduce(S, 99, NULL, 0, false, 0, 0, &out), DASK_ERR_INVALID_ARGUMENT, NULL, out);
    free(x);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Products and restructuring
 * ------------------------------------------------------------------------------------- */

static void ref_matmul(const double *a, const double *b, size_t m, size_t k, size_t n, double *out) {
    for (size_t i = 0; i < m; ++i)
        for (size_t j = 0; j < n; ++j) {
            double acc = 0;
            for (size_t q = 0; q < k; ++q) acc += a[i * k + q] * b[q * n + j];
            out[i * n + j] = acc;
        }
}

static void test_products(void) {
    enum { M = 8, K = 9, N = 6 };
    size_t sa[2] = {M, K}, sb[2] = {K, N}, sc[2] = {M, N};
    double *a = random_dense(404, M * K, 0.3, 0.1, 1.1), *b = random_dense(505, K * N, 0.3, 0.1, 1.1);
    double want[M * K * 4];
    dask_array *A = sparse_from(a, 2, sa, 0.0), *B = sparse_from(b, 2, sb, 0.0);
    if (!A || !B) goto done;
    ref_matmul(a, b, M, K, N, want);
    size_t a1 = 1, b0 = 0;

    /* sparse x sparse: sparse by default and with DASK_RETURN_SPARSE, dense on request. */
    dask_array *p = MK(dask_array_matmul(A, B, OUT));
    CHECK(is_sparse(p), "matmul of sparse arrays is sparse");
    expect_sparse(p, DASK_FLOAT64, 2, sc, 0.0, want, 1e-12, 0, true, "A @ B");
    expect_sparse(MK(dask_array_tensordot(A, B, &a1, &b0, 1, OUT)), DASK_FLOAT64, 2, sc, 0.0, want, 1e-12, 0, true,
                  "tensordot(A, B, 1)");
    expect_sparse(MK(dask_sparse_tensordot(A, B, &a1, &b0, 1, DASK_RETURN_SPARSE, OUT)), DASK_FLOAT64, 2, sc, 0.0,
                  want, 1e-12, 0, true, "tensordot(A, B), DASK_RETURN_SPARSE");
    expect_sparse(MK(dask_sparse_tensordot(A, B, &a1, &b0, 1, DASK_RETURN_AUTO, OUT)), DASK_FLOAT64, 2, sc, 0.0,
                  want, 1e-12, 0, true, "tensordot(A, B), DASK_RETURN_AUTO");
    dask_array *pd = MK(dask_sparse_tensordot(A, B, &a1, &b0, 1, DASK_RETURN_DENSE, OUT));
    CHECK(pd != NULL && !is_sparse(pd), "DASK_RETURN_DENSE gives a dense block");
    expect_dense(pd, DASK_FLOAT64, 2, sc, want, 1e-12, 0, "tensordot(A, B), DASK_RETURN_DENSE");

    /* sparse x dense block (and dense x sparse): dense by default, sparse on request. */
    dask_array *Bd = dense_block_of(B, N);
    dask_array *pm = MK(dask_array_matmul(A, Bd, OUT));
    CHECK(pm != NULL && !is_sparse(pm), "sparse @ dense is dense");
    expect_dense(pm, DASK_FLOAT64, 2, sc, want, 1e-12, 0, "A @ dense B");
    expect_sparse(MK(dask_sparse_tensordot(A, Bd, &a1, &b0, 1, DASK_RETURN_SPARSE, OUT)), DASK_FLOAT64, 2, sc, 0.0,
                  want, 1e-12, 0, true, "tensordot(A, dense B), DASK_RETURN_SPARSE");
    dask_array *Ad = dense_block_of(A, K);
    expect_dense(MK(dask_array_matmul(Ad, B, OUT)), DASK_FLOAT64, 2, sc, want, 1e-12, 0, "dense A @ B");

    /* Contracting two axes of a 3-d array with a 2-d one; 1-d operands. */
    size_t s3[3] = {4, 3, 5}, s35[2] = {3, 5}, s4[1] = {4};
    double *t3 = random_dense(606, 60, 0.4, 0.1, 1.1), *m35 = random_dense(707, 15, 0.6, 0.1, 1.1);
    dask_array *T3 = sparse_from(t3, 3, s3, 0.0), *M35 = sparse_from(m35, 2, s35, 0.0);
    size_t ta[2] = {1, 2}, tb[2] = {0, 1};
    for (size_t i = 0; i < 4; ++i) {
        double acc = 0;
        for (size_t j = 0; j < 3; ++j)
            for (size_t k = 0; k < 5; ++k) acc += t3[(i * 3 + j) * 5 + k] * m35[j * 5 + k];
        want[i] = acc;
    }
    expect_sparse(MK(dask_array_tensordot(T3, M35, ta, tb, 2, OUT)), DASK_FLOAT64, 1, s4, 0.0, want, 1e-12, 0, false,
                  "tensordot over axes (1,2) x (0,1)");
    size_t sk[1] = {K}, sm[1] = {M};
    double vec[K] = {0, 1.5, 0, 0, -2.0, 0, 0, 0.25, 0};
    dask_array *V = sparse_from(vec, 1, sk, 0.0);
    for (size_t i = 0; i < M; ++i) {
        double acc = 0;
        for (size_t q = 0; q < K; ++q) acc += a[i * K + q] * vec[q];
        want[i] = acc;
    }
    expect_sparse(MK(dask_array_matmul(A, V, OUT)), DASK_FLOAT64, 1, sm, 0.0, want, 1e-12, 1e-15, false,
                  "A @ sparse vector");

    /* Exact cancellation leaves no stored entry; integer products stay integers. */
    size_t s12[2] = {1, 2}, s21[2] = {2, 1}, s11[2] = {1, 1};
    double one_one[2] = {1.0, 1.0}, one_minus[2] = {1.0, -1.0}, zero1[1] = {0.0};
    dask_array *P1 = sparse_from(one_one, 2, s12, 0.0), *P2 = sparse_from(one_minus, 2, s21, 0.0);
    expect_sparse(MK(dask_array_matmul(P1, P2, OUT)), DASK_FLOAT64, 2, s11, 0.0, zero1, 0, 0, true,
                  "[1 1] @ [1 -1]' cancels to no entry");
    {
        enum { IM = 7, IK = 11, IN = 5, NT = 30 };
        size_t si1[2] = {IM, IK}, si2[2] = {IK, IN}, sio[2] = {IM, IN};
        uint64_t c1[2 * NT], c2[2 * NT];
        int64_t v1[NT], v2[NT];
        double d1[IM * IK] = {0}, d2[IK * IN] = {0}, wi[IM * IN];
        rng_t ri = rng_new(4242);
        for (size_t i = 0; i < NT; ++i) {
            c1[i] = rng_below(&ri, IM);
            c1[NT + i] = rng_below(&ri, IK);
            v1[i] = (int64_t)rng_below(&ri, 2000001) - 1000000;
            d1[c1[i] * IK + c1[NT + i]] += (double)v1[i];
            c2[i] = rng_below(&ri, IK);
            c2[NT + i] = rng_below(&ri, IN);
            v2[i] = (int64_t)rng_below(&ri, 2000001) - 1000000;
            d2[c2[i] * IN + c2[NT + i]] += (double)v2[i];
        }
        ref_matmul(d1, d2, IM, IK, IN, wi);
        dask_array *I1 = from_triplets(2, si1, c1, DASK_INT64, v1, NT, 0.0);
        dask_array *I2 = from_triplets(2, si2, c2, DASK_INT64, v2, NT, 0.0);
        expect_sparse(MK(dask_array_matmul(I1, I2, OUT)), DASK_INT64, 2, sio, 0.0, wi, 0, 0, true, "int64 matmul");
        expect_dense(MK(dask_sparse_tensordot(I1, I2, &a1, &b0, 1, DASK_RETURN_DENSE, OUT)), DASK_INT64, 2, sio, wi, 0,
                     0, "int64 tensordot, dense result");
    }

    /* Errors. */
    dask_array *out = NULL;
    CHECK_FAILS(dask_array_matmul(B, A, &out), DASK_ERR_SHAPE, NULL, out);
    CHECK_FAILS(dask_sparse_tensordot(A, B, &a1, &b0, 1, 7, &out), DASK_ERR_INVALID_ARGUMENT, "DASK_RETURN", out);
    size_t bad_axis = 5;
    CHECK_FAILS(dask_array_tensordot(A, B, &bad_axis, &b0, 1, &out), DASK_ERR_SHAPE, NULL, out);
    dask_array *E = u1("exp", opa(A));
    CHECK_FAILS(dask_array_matmul(E, B, &out), DASK_ERR_INVALID_ARGUMENT, "fill value 0", out);
    size_t shc[2] = {K, N}, chc[2] = {4, 4};
    dask_array *ch = MK(dask_array_ones(DASK_FLOAT64, 2, shc, chc, OUT));
    /* A sparse matrix times a chunked dense one: a chunked product over sparse blocks. */
    dask_array *Ach = MK(dask_array_matmul(A, ch, OUT));
    double *got_ch = malloc(M * N * sizeof *got_ch);
    CHECK_OK(dask_array_compute_into(C, Ach, DASK_FLOAT64, got_ch, M * N * sizeof *got_ch));
    bool same = true;
    for (size_t i = 0; i < M; ++i) {
        double row = 0;
        for (size_t k = 0; k < K; ++k) row += a[i * K + k];
        for (size_t j = 0; j < N; ++j) same = same && close_enough(got_ch[i * N + j], row, 1e-12, 1e-12);
    }
    CHECK(same, "sparse @ chunked ones equals the row sums");
    free(got_ch);
    CHECK_FAILS(dask_array_matmul(E, ch, &out), DASK_ERR_INVALID_ARGUMENT, "fill value 0", out);
    CHECK_FAILS(dask_sparse_tensordot(Ad, Bd, &a1, &b0, 1, DASK_RETURN_AUTO, &out), DASK_ERR_INVALID_ARGUMENT, "sparse",
                out);

    /* Transpose: reversed (NULL) and an explicit permutation. */
    size_t st_[2] = {K, M};
    for (size_t i = 0; i < M; ++i)
        for (size_t j = 0; j < K; ++j) want[j * M + i] = a[i * K + j];
    dask_array *At = MK(dask_array_transpose(A, NULL, OUT));
    CHECK(is_sparse(At), "the transpose of a sparse array is sparse");
    expect_sparse(At, DASK_FLOAT64, 2, st_, 0.0, want, 0, 0, true, "A.T");
    size_t perm[3] = {2, 0, 1}, sp[3] = {5, 4, 3};
    for (size_t i = 0; i < 4; ++i)
        for (size_t j = 0; j < 3; ++j)
            for (size_t k = 0; k < 5; ++k) want[(k * 4 + i) * 3 + j] = t3[(i * 3 + j) * 5 + k];
    expect_sparse(MK(dask_array_transpose(T3, perm, OUT)), DASK_FLOAT64, 3, sp, 0.0, want, 0, 0, true,
                  "transpose (2, 0, 1)");
    size_t bad_perm[3] = {0, 0, 1};
    CHECK_FAILS(dask_array_transpose(T3, bad_perm, &out), DASK_ERR_INVALID_ARGUMENT, "permutation", out);

    /* Reshape: the same row-major elements. */
    size_t r2[2] = {12, 5}, r4[4] = {2, 2, 15, 1}, r1[1] = {60};
    expect_sparse(MK(dask_sparse_reshape(T3, 2, r2, OUT)), DASK_FLOAT64, 2, r2, 0.0, t3, 0, 0, true, "reshape (12, 5)");
    expect_sparse(MK(dask_sparse_reshape(T3, 4, r4, OUT)), DASK_FLOAT64, 4, r4, 0.0, t3, 0, 0, true,
                  "reshape (2, 2, 15, 1)");
    expect_sparse(MK(dask_sparse_reshape(T3, 1, r1, OUT)), DASK_FLOAT64, 1, r1, 0.0, t3, 0, 0, true, "reshape (60,)");
    size_t r_bad[2] = {7, 9};
    CHECK_FAILS(dask_sparse_reshape(T3, 2, r_bad, &out), DASK_ERR_SHAPE, "reshape", out);

    /* Concatenate along either axis; stack along a new first and last axis. */
    double *c = random_dense(808, 3 * K, 0.4, 0.1, 1.1), *d = random_dense(909, M * 4, 0.4, 0.1, 1.1);
    size_t s3k[2] = {3, K}, sm4[2] = {M, 4};
    dask_array *Cc = sparse_from(c, 2, s3k, 0.0), *Dd = sparse_from(d, 2, sm4, 0.0);
    const dask_array *rows2[2] = {A, Cc}, *cols2[2] = {A, Dd}, *three[3] = {A, Cc, A};
    size_t scat0[2] = {M + 3, K}, scat1[2] = {M, K + 4}, scat3[2] = {2 * M + 3, K};
    memcpy(want, a, sizeof(double) * M * K);
    memcpy(want + M * K, c, sizeof(double) * 3 * K);
    expect_sparse(MK(dask_sparse_concatenate(rows2, 2, 0, OUT)), DASK_FLOAT64, 2, scat0, 0.0, want, 0, 0, true,
                  "concatenate axis 0");
    memcpy(want + (M + 3) * K, a, sizeof(double) * M * K);
    expect_sparse(MK(dask_sparse_concatenate(three, 3, 0, OUT)), DASK_FLOAT64, 2, scat3, 0.0, want, 0, 0, true,
                  "concatenate three along axis 0");
    for (size_t i = 0; i < M; ++i) {
        for (size_t j = 0; j < K; ++j) want[i * (K + 4) + j] = a[i * K + j];
        for (size_t j = 0; j < 4; ++j) want[i * (K + 4) + K + j] = d[i * 4 + j];
    }
    expect_sparse(MK(dask_sparse_concatenate(cols2, 2, 1, OUT)), DASK_FLOAT64, 2, scat1, 0.0, want, 0, 0, true,
                  "concatenate axis 1");
    dask_array *A2 = u2("multiply", opa(A), opf(3.0));
    const dask_array *pair[2] = {A, A2};
    size_t sst0[3] = {2, M, K}, sst2[3] = {M, K, 2};
    for (size_t i = 0; i < M * K; ++i) {
        want[i] = a[i];
        want[M * K + i] = 3.0 * a[i];
    }
    expect_sparse(MK(dask_sparse_stack(pair, 2, 0, OUT)), DASK_FLOAT64, 3, sst0, 0.0, want, 0, 0, true, "stack axis 0");
    for (size_t i = 0; i < M * K; ++i) {
        want[2 * i] = a[i];
        want[2 * i + 1] = 3.0 * a[i];
    }
    expect_sparse(MK(dask_sparse_stack(pair, 2, 2, OUT)), DASK_FLOAT64, 3, sst2, 0.0, want, 0, 0, true, "stack axis 2");

    /* A negative scalar factor makes the fill -0.0, which equals 0 (as pydata/sparse compares
     * fill values): products and joins must accept it like a fill of 0. */
    dask_array *An = u2("multiply", opa(A), opf(-3.0));
    double fneg = 1;
    if (An) CHECK_OK(dask_sparse_fill_value(An, &fneg));
    CHECK(fneg == 0.0, "A * -3 has a zero fill value (%g)", fneg);
    for (size_t i = 0; i < M * K; ++i) want[i] = -3.0 * a[i];
    expect_sparse(An, DASK_FLOAT64, 2, sa, 0.0, want, 0, 0, true, "A * -3");
    double wneg[M * N];
    ref_matmul(want, b, M, K, N, wneg);
    expect_sparse(MK(dask_array_matmul(An, B, OUT)), DASK_FLOAT64, 2, sc, 0.0, wneg, 1e-12, 0, true,
                  "(A * -3) @ B (fill -0.0)");
    const dask_array *negpair[2] = {A, An};
    for (size_t i = 0; i < M * K; ++i) {
        want[i] = a[i];
        want[M * K + i] = -3.0 * a[i];
    }
    expect_sparse(MK(dask_sparse_stack(negpair, 2, 0, OUT)), DASK_FLOAT64, 3, sst0, 0.0, want, 0, 0, true,
                  "stack of A and A * -3 (fills 0.0 and -0.0)");
    CHECK_FAILS(dask_sparse_concatenate(cols2, 2, 0, &out), DASK_ERR_SHAPE, "differ", out);
    CHECK_FAILS(dask_sparse_concatenate(rows2, 2, 2, &out), DASK_ERR_INVALID_ARGUMENT, "out of bounds", out);
    CHECK_FAILS(dask_sparse_stack(rows2, 2, 0, &out), DASK_ERR_SHAPE, NULL, out);
    const dask_array *mixed_fill[2] = {A, E};
    CHECK_FAILS(dask_sparse_concatenate(mixed_fill, 2, 0, &out), DASK_ERR_INVALID_ARGUMENT, "fill", out);
    CHECK_FAILS(dask_sparse_concatenate(rows2, 0, 0, &out), DASK_ERR_INVALID_ARGUMENT, NULL, out);
    free(t3);
    free(m35);
    free(c);
    free(d);
done:
    free(a);
    free(b);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Chunked arrays with sparse blocks
 * ------------------------------------------------------------------------------------- */

static bool chunks_are(const dask_array *a, size_t axis, const size_t *want, size_t n, const char *what) {
    size_t got[64], count = 0;
    if (!CHECK_OK(dask_array_chunks(a, axis, got, 64, &count))) return false;
    bool ok = count == n;
    for (size_t i = 0; ok && i < n; ++i) ok = got[i] == want[i];
    return CHECK(ok, "%s: axis %zu has %zu blocks (first %zu), want %zu (first %zu)", what, axis, count,
                 count ? got[0] : 0, n, n ? want[0] : 0);
}

static int32_t store_block(void *ctx, size_t block, const size_t *offset, const dask_value *value) {
    (void)block;
    (void)offset;
    (void)value;
    ++*(size_t *)ctx;
    return 0;
}

static void test_chunked(void) {
    enum { R = 60, K = 80, N = R * K };
    size_t shape[2] = {R, K}, ch[2] = {20, 30}, ch2[2] = {7, 13};
    dask_array *X = MK(dask_array_random_sparse(12345, 0.05, 2, shape, ch, OUT));
    dask_array *X2 = MK(dask_array_random_sparse(12345, 0.05, 2, shape, ch2, OUT));
    dask_array *X3 = MK(dask_array_random_sparse(12345, 0.05, 2, shape, NULL, OUT));
    dask_array *Y = MK(dask_array_random_sparse(54321, 0.05, 2, shape, ch, OUT));
    if (!X || !X2 || !X3 || !Y) {
        drop_all();
        return;
    }
    size_t nd = 0, sh[2] = {0};
    dask_dtype dt = 0;
    CHECK_OK(dask_array_ndim(X, &nd));
    CHECK_OK(dask_array_shape(X, sh));
    CHECK_OK(dask_array_dtype(X, &dt));
    CHECK(nd == 2 && sh[0] == R && sh[1] == K && dt == DASK_FLOAT64, "random_sparse: (60, 80) float64");
    size_t c0[3] = {20, 20, 20}, c1[3] = {30, 30, 20};
    chunks_are(X, 0, c0, 3, "random_sparse chunks");
    chunks_are(X, 1, c1, 3, "random_sparse chunks");
    CHECK(!is_sparse(X), "a chunked sparse array is not itself a sparse (COO) array");

    /* Computed into one sparse array: canonical, values in (0, 1), density near 0.05. */
    dask_array *S = MK(dask_array_compute_sparse(C, X, OUT));
    dask_array *S2 = MK(dask_array_compute_sparse(C, X2, OUT));
    dask_array *S3 = MK(dask_array_compute_sparse(C, X3, OUT));
    dask_array *SY = MK(dask_array_compute_sparse(C, Y, OUT));
    sparse_host h, h2, h3, hy;
    bool ok = sparse_read(S, 2, &h, "compute_sparse (20,30)") && sparse_read(S2, 2, &h2, "compute_sparse (7,13)") &&
              sparse_read(S3, 2, &h3, "compute_sparse auto") && sparse_read(SY, 2, &hy, "compute_sparse seed 2");
    double *dense = alloc_d(N);
    if (ok) {
        CHECK(h.nnz > 150 && h.nnz < 350, "random_sparse: %zu stored of 4800 at density 0.05", h.nnz);
        size_t out_of_range = 0;
        for (size_t i = 0; i < h.nnz; ++i) {
            out_of_range += !(h.data.d[i] > 0.0 && h.data.d[i] < 1.0);
            dense[h.coords[i] * K + h.coords[h.nnz + i]] = h.data.d[i];
        }
        CHECK(out_of_range == 0 && h.fill == 0.0, "random_sparse: values in (0, 1), fill 0 (%zu outside)",
              out_of_range);
        CHECK(h2.nnz == h.nnz && memcmp(h2.coords, h.coords, 2 * h.nnz * sizeof *h.coords) == 0 &&
                  memcmp(h2.data.d, h.data.d, h.nnz * sizeof(double)) == 0,
              "random_sparse: (7,13) blocks give the same coordinates and data as (20,30) (%zu, %zu)", h2.nnz, h.nnz);
        CHECK(h3.nnz == h.nnz && memcmp(h3.coords, h.coords, 2 * h.nnz * sizeof *h.coords) == 0 &&
                  memcmp(h3.data.d, h.data.d, h.nnz * sizeof(double)) == 0,
              "random_sparse: auto blocks give the same coordinates and data (%zu, %zu)", h3.nnz, h.nnz);
        CHECK(hy.nnz != h.nnz || memcmp(hy.coords, h.coords, 2 * h.nnz * sizeof *h.coords) != 0,
              "random_sparse: another seed gives other positions");
        /* The whole structure check against the dense picture built from the coordinates. */
        expect_sparse(S, DASK_FLOAT64, 2, shape, 0.0, dense, 0, 0, true, "compute_sparse (20,30)");
    }
    sparse_host_free(&h);
    sparse_host_free(&h2);
    sparse_host_free(&h3);
    sparse_host_free(&hy);

    /* The explicit densify of the chunked array equals the densified computed array. */
    dask_array *XD = MK(dask_array_to_dense(X, OUT));
    expect_dense(XD, DASK_FLOAT64, 2, shape, dense, 0, 0, "to_dense(random_sparse) computed");
    chunks_are(XD, 1, c1, 3, "to_dense keeps the chunks");

    /* No silent densify: compute, compute_into and store refuse sparse blocks. */
    dask_value *v = NULL;
    CHECK_ERR(dask_array_compute(C, X, &v), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("sparse"), "compute of a chunked sparse array says why: %s", dask_last_error_message());
    CHECK(v == NULL, "no value from computing a chunked sparse array");
    dask_value_free(v);
    double *buf = alloc_d(N);
    error_sentinel();
    dask_status st = dask_array_compute_into(C, X, DASK_FLOAT64, buf, N * sizeof(double));
    CHECK(st != DASK_OK && last_error_has("sparse"), "compute_into of a chunked sparse array fails: %s (%s)",
          dask_status_name(st), dask_last_error_message());
    size_t blocks = 0;
    error_sentinel();
    st = dask_array_store(C, X, store_block, &blocks);
    CHECK(st != DASK_OK && blocks == 0 && last_error_has("sparse"),
          "store of a chunked sparse array fails before any block: %s, %zu blocks (%s)", dask_status_name(st), blocks,
          dask_last_error_message());
    free(buf);
    dask_array *out = NULL;
    CHECK_FAILS(dask_array_compute_sparse(C, XD, &out), DASK_ERR_INVALID_ARGUMENT, "dense", out);

    /* Operations on the chunked array keep sparse blocks. */
    dask_array *X3x = u2("multiply", opa(X), opf(3.0));
    double *want = alloc_d(N);
    for (size_t i = 0; i < N; ++i) want[i] = dense[i] * 3.0;
    dask_array *S3x = X3x ? MK(dask_array_compute_sparse(C, X3x, OUT)) : NULL;
    expect_sparse(S3x, DASK_FLOAT64, 2, shape, 0.0, want, 0, 0, true, "chunked: X * 3");
    /* A reduction of a chunked sparse array is a chunked dense array. */
    size_t ax0 = 0, sk[1] = {K};
    for (size_t j = 0; j < K; ++j) {
        double acc = 0;
        for (size_t i = 0; i < R; ++i) acc += dense[i * K + j];
        want[j] = acc;
    }
    expect_dense(reduce(X, DASK_REDUCE_SUM, &ax0, 1, false), DASK_FLOAT64, 1, sk, want, 1e-12, 0,
                 "chunked: X.sum(axis=0)");
    double total = 0;
    for (size_t i = 0; i < N; ++i) total += dense[i];
    expect_dense(reduce(X, DASK_REDUCE_SUM, NULL, 0, false), DASK_FLOAT64, 0, NULL, &total, 1e-12, 0,
                 "chunked: X.sum()");
    /* Adding a chunked array of ones keeps sparse blocks, with fill 1. */
    dask_array *ones = MK(dask_array_ones(DASK_FLOAT64, 2, shape, ch2, OUT));
    dask_array *X1 = u2("add", opa(X), opa(ones));
    for (size_t i = 0; i < N; ++i) want[i] = dense[i] + 1.0;
    expect_sparse(X1 ? MK(dask_array_compute_sparse(C, X1, OUT)) : NULL, DASK_FLOAT64, 2, shape, 1.0, want, 0, 0, true,
                  "chunked: X + ones (fill 1)");
    /* Adding a chunked array of varying values would densify every block: the computation
     * fails. */
    dask_array *unif_x = MK(dask_array_random_uniform(5, 1.0, 2.0, 2, shape, ch, OUT));
    dask_array *XO = unif_x ? u2("add", opa(X), opa(unif_x)) : NULL;
    if (XO != NULL) {
        out = NULL;
        error_sentinel();
        st = dask_array_compute_sparse(C, XO, &out);
        CHECK(st != DASK_OK && out == NULL && last_error_has("dense"),
              "chunked sparse + chunked dense fails when computed (no silent densify): %s (%s)",
              dask_status_name(st), dask_last_error_message());
        dask_array_free(out);
        out = NULL;
    }

    /* to_sparse of a chunked dense array: the same as sparse_from_dense of its data. */
    double *x = random_dense(1001, N, 0.1, 0.1, 1.1);
    dask_value *xv = NULL;
    if (CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, shape, x, &xv))) {
        dask_array *XC = MK(dask_array_from_value(xv, ch2, OUT));
        dask_value_free(xv);
        dask_array *XS = MK(dask_array_to_sparse(XC, 0.0, OUT));
        dask_array *got = XS ? MK(dask_array_compute_sparse(C, XS, OUT)) : NULL;
        expect_sparse(got, DASK_FLOAT64, 2, shape, 0.0, x, 0, 0, true, "to_sparse of a chunked dense array");
        dask_array *back = XS ? MK(dask_array_to_dense(XS, OUT)) : NULL;
        expect_dense(back, DASK_FLOAT64, 2, shape, x, 0, 0, "to_dense(to_sparse(x))");
    }
    free(x);
    free(want);
    free(dense);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * NULL arguments, freed and mistyped handles
 * ------------------------------------------------------------------------------------- */

static void test_null_and_handles(void) {
    size_t shape[2] = {3, 4};
    double x[12] = {0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 0, 4};
    dask_array *s = sparse_from(x, 2, shape, 0.0);
    dask_value *v = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 2, shape, x, &v));
    size_t n4[1] = {4};
    double vals[4] = {1, 2, 3, 4};
    dask_value *tv = NULL;
    CHECK_OK(dask_value_copy_buffer(DASK_FLOAT64, 1, n4, vals, &tv));
    uint64_t coords[8] = {0, 1, 1, 2, 1, 0, 3, 3};
    size_t chs[2] = {2, 2};
    dask_array *chunked = MK(dask_array_ones(DASK_FLOAT64, 2, shape, chs, OUT));
    if (!s || !v || !tv || !chunked) {
        dask_value_free(v);
        dask_value_free(tv);
        drop_all();
        return;
    }
    dask_array *out = NULL;
    dask_value *vout = NULL;
    size_t nnz = 0;
    double f = 0;
    uint64_t cbuf[16];

    CHECK_FAILS(dask_sparse_from_triplets(2, NULL, coords, tv, 0.0, &out), DASK_ERR_NULL_ARGUMENT, "shape", out);
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, NULL, tv, 0.0, &out), DASK_ERR_NULL_ARGUMENT, "coords", out);
    CHECK_FAILS(dask_sparse_from_triplets(2, shape, coords, NULL, 0.0, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_sparse_from_triplets(2, shape, coords, tv, 0.0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_sparse_from_dense(NULL, 0.0, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_sparse_from_dense(v, 0.0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_to_dense(NULL, &vout), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_to_dense(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_info(NULL, &nnz, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_sparse_info(s, NULL, NULL, NULL));
    CHECK_ERR(dask_sparse_coords(NULL, cbuf), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_coords(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_data(NULL, &vout), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_data(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_fill_value(NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_sparse_fill_value(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK(vout == NULL, "no value written by the failed calls");
    size_t a1 = 1, b0 = 0;
    CHECK_FAILS(dask_sparse_tensordot(NULL, s, &a1, &b0, 1, DASK_RETURN_AUTO, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_sparse_tensordot(s, NULL, &a1, &b0, 1, DASK_RETURN_AUTO, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_sparse_tensordot(s, s, NULL, &b0, 1, DASK_RETURN_AUTO, &out), DASK_ERR_NULL_ARGUMENT, "axes_a",
                out);
    CHECK_FAILS(dask_sparse_tensordot(s, s, &a1, NULL, 1, DASK_RETURN_AUTO, &out), DASK_ERR_NULL_ARGUMENT, "axes_b",
                out);
    CHECK_ERR(dask_sparse_tensordot(s, s, &a1, &b0, 1, DASK_RETURN_AUTO, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_tensordot(NULL, s, &a1, &b0, 1, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_array_tensordot(s, NULL, &a1, &b0, 1, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_array_tensordot(s, s, &a1, &b0, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_matmul(s, NULL, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_array_matmul(s, s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_transpose(s, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_reduce(s, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_reduce(s, DASK_REDUCE_SUM, NULL, 1, false, 0, 0, &out), DASK_ERR_NULL_ARGUMENT, "axes", out);
    size_t s62[2] = {6, 2};
    CHECK_FAILS(dask_sparse_reshape(NULL, 2, s62, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_sparse_reshape(s, 2, NULL, &out), DASK_ERR_NULL_ARGUMENT, "shape", out);
    CHECK_ERR(dask_sparse_reshape(s, 2, s62, NULL), DASK_ERR_NULL_ARGUMENT);
    const dask_array *with_null[2] = {s, NULL};
    CHECK_FAILS(dask_sparse_concatenate(NULL, 2, 0, &out), DASK_ERR_NULL_ARGUMENT, "arrays", out);
    CHECK_FAILS(dask_sparse_concatenate(with_null, 2, 0, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_sparse_stack(NULL, 2, 0, &out), DASK_ERR_NULL_ARGUMENT, "arrays", out);
    CHECK_FAILS(dask_sparse_stack(with_null, 2, 0, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    const dask_array *two[2] = {s, s};
    CHECK_ERR(dask_sparse_stack(two, 2, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_to_sparse(NULL, 0.0, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_array_to_sparse(chunked, 0.0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_to_dense(NULL, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_array_to_dense(chunked, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_random_sparse(1, 0.1, 2, NULL, NULL, &out), DASK_ERR_NULL_ARGUMENT, "shape", out);
    CHECK_ERR(dask_array_random_sparse(1, 0.1, 2, shape, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_compute_sparse(NULL, chunked, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_FAILS(dask_array_compute_sparse(C, NULL, &out), DASK_ERR_NULL_ARGUMENT, NULL, out);
    CHECK_ERR(dask_array_compute_sparse(C, chunked, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_ndim(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_shape(s, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_dtype(s, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_sparse_set_auto_densify(false); /* a void function: nothing to check but no crash */

    /* Other bad arguments. */
    CHECK_FAILS(dask_array_random_sparse(1, 1.5, 2, shape, NULL, &out), DASK_ERR_INVALID_ARGUMENT, "density", out);
    CHECK_FAILS(dask_array_random_sparse(1, -0.1, 2, shape, NULL, &out), DASK_ERR_INVALID_ARGUMENT, "density", out);

    /* Wrong kinds: a chunked array where a sparse one is needed, and the other way round. */
    CHECK_ERR(dask_sparse_info(chunked, &nnz, NULL, NULL), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("sparse"), "names the problem: %s", dask_last_error_message());
    CHECK_ERR(dask_sparse_to_dense(chunked, &vout), DASK_ERR_INVALID_ARGUMENT);
    CHECK_FAILS(dask_sparse_reshape(chunked, 2, s62, &out), DASK_ERR_INVALID_ARGUMENT, "sparse", out);
    const dask_array *mixed[2] = {s, chunked};
    CHECK_FAILS(dask_sparse_concatenate(mixed, 2, 0, &out), DASK_ERR_INVALID_ARGUMENT, "sparse", out);
    CHECK_FAILS(dask_array_to_sparse(s, 0.0, &out), DASK_ERR_NOT_IMPLEMENTED, "sparse", out);
    CHECK_FAILS(dask_array_to_dense(s, &out), DASK_ERR_NOT_IMPLEMENTED, "sparse", out);
    CHECK_FAILS(dask_array_compute_sparse(C, s, &out), DASK_ERR_NOT_IMPLEMENTED, "sparse", out);
    dask_index idx;
    memset(&idx, 0, sizeof idx);
    idx.kind = DASK_INDEX_AT;
    CHECK(is_sparse(MK(dask_array_slice(s, &idx, 1, OUT))), "slicing a sparse array gives a sparse one");

    /* Lifetimes: the data value and derived arrays outlive the array they came from. */
    dask_array *s2 = NULL, *d2 = NULL;
    CHECK_OK(dask_sparse_from_dense(v, 0.0, &s2));
    dask_value *data = NULL;
    if (s2 != NULL) {
        CHECK_OK(dask_sparse_data(s2, &data));
        dask_operand args[2] = {opa(s2), opf(10.0)};
        CHECK_OK(ucall_st("multiply", args, 2, &d2));
        dask_array_free(s2);
        /* A freed sparse array is recognised, not used. */
        CHECK_ERR(dask_sparse_info(s2, &nnz, NULL, NULL), DASK_ERR_INVALID_HANDLE);
        CHECK(last_error_has("freed"), "the message says it was freed: %s", dask_last_error_message());
        CHECK_ERR(dask_sparse_to_dense(s2, &vout), DASK_ERR_INVALID_HANDLE);
        CHECK_FAILS(dask_array_reduce(s2, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &out), DASK_ERR_INVALID_HANDLE,
                    "freed", out);
        CHECK_FAILS(dask_array_transpose(s2, NULL, &out), DASK_ERR_INVALID_HANDLE, "freed", out);
        dask_operand fo[2] = {opa(s2), opf(1.0)};
        error_sentinel();
        dask_status st = ucall_st("add", fo, 2, &out);
        CHECK(st == DASK_ERR_INVALID_HANDLE && out == NULL && last_error_has("freed"),
              "a ufunc on a freed sparse array: %s (%s)", dask_status_name(st), dask_last_error_message());
        dask_array_free(out);
        out = NULL;
        /* Freeing it again is detected (the message is set), not a crash. */
        error_sentinel();
        dask_array_free(s2);
        CHECK(last_error_has("freed"), "a second free of a sparse array is reported: %s", dask_last_error_message());
    }
    if (data != NULL) {
        host hd;
        if (host_of_value(data, &hd, "data of a freed sparse array")) {
            CHECK(hd.n == 4 && hd.d[0] == 1 && hd.d[1] == 2 && hd.d[2] == 3 && hd.d[3] == 4,
                  "the data value outlives its array: [%g %g %g %g]", hd.n > 0 ? hd.d[0] : -1,
                  hd.n > 1 ? hd.d[1] : -1, hd.n > 2 ? hd.d[2] : -1, hd.n > 3 ? hd.d[3] : -1);
        }
        host_free(&hd);
        /* host_of_value freed it: a second free is detected. */
        error_sentinel();
        dask_value_free(data);
        CHECK(last_error_has(NULL), "a second free of the data value is reported: %s", dask_last_error_message());
    }
    if (d2 != NULL) {
        double w[12];
        for (size_t i = 0; i < 12; ++i) w[i] = x[i] * 10.0;
        expect_sparse(d2, DASK_FLOAT64, 2, shape, 0.0, w, 0, 0, true, "s * 10 after s was freed");
        dask_array_free(d2);
    }

    /* A handle of another type. */
    CHECK_ERR(dask_sparse_info((const dask_array *)(const void *)v, &nnz, NULL, NULL), DASK_ERR_INVALID_HANDLE);
    CHECK_FAILS(dask_sparse_from_dense((const dask_value *)(const void *)s, 0.0, &out), DASK_ERR_INVALID_HANDLE, NULL,
                out);
    dask_value_free(v);
    dask_value_free(tv);
    drop_all();
}

/* dask_array_slice and dask_array_reshape on a sparse handle: the result stays sparse and
 * equals the same indexing of the dense array, computed here by hand. */
static void test_slice_reshape(void) {
    const size_t shape[3] = {4, 5, 6};
    const size_t n = 4 * 5 * 6;
    double *x = random_dense(91, n, 0.3, 1.0, 2.0);
    dask_array *s = sparse_from(x, 3, shape, 0.0);
    /* s[-1, 1:5:2, ::-1] -> shape (2, 6) */
    dask_index idx[3] = {
        {.kind = DASK_INDEX_AT, .start = -1},
        {.kind = DASK_INDEX_SLICE, .start = 1, .has_start = true, .stop = 5, .has_stop = true, .step = 2},
        {.kind = DASK_INDEX_SLICE, .step = -1},
    };
    dask_array *t = MK(dask_array_slice(s, idx, 3, OUT));
    CHECK(is_sparse(t), "a sliced sparse array stays sparse");
    double want[12];
    for (size_t j = 0; j < 2; ++j)
        for (size_t k = 0; k < 6; ++k) want[j * 6 + k] = x[(3 * 5 + (1 + 2 * j)) * 6 + (5 - k)];
    host h;
    if (dense_of(t, &h, "s[-1, 1:5:2, ::-1]")) {
        const size_t ws[2] = {2, 6};
        meta_is(&h, DASK_FLOAT64, 2, ws, "s[-1, 1:5:2, ::-1]");
        values_are(&h, want, 12, 0, 0, "s[-1, 1:5:2, ::-1]");
    }
    host_free(&h);
    /* reshape to (-1, 3): row-major order kept */
    const int64_t rs[2] = {-1, 3};
    dask_array *r = MK(dask_array_reshape(t, 2, rs, OUT));
    CHECK(is_sparse(r), "a reshaped sparse array stays sparse");
    if (dense_of(r, &h, "reshape(-1, 3)")) {
        const size_t ws[2] = {4, 3};
        meta_is(&h, DASK_FLOAT64, 2, ws, "reshape(-1, 3)");
        values_are(&h, want, 12, 0, 0, "reshape(-1, 3)");
    }
    host_free(&h);
    /* errors: an index past the end, a shape of another size */
    dask_index bad = {.kind = DASK_INDEX_AT, .start = 4};
    dask_array *o = NULL;
    CHECK_FAILS(dask_array_slice(s, &bad, 1, &o), DASK_ERR_INVALID_ARGUMENT, "out of bounds", o);
    const int64_t bs[2] = {5, 5};
    CHECK_FAILS(dask_array_reshape(t, 2, bs, &o), DASK_ERR_SHAPE, "cannot reshape", o);
    free(x);
    drop_all();
}

int main(void) {
    watchdog(small_mode() ? 300 : 60);
    C = new_client(2);
    dask_sparse_set_auto_densify(false);

    double t0 = now_s();
    test_log_example();
    test_triplets();
    test_elementwise();
    test_reductions();
    test_products();
    test_chunked();
    test_slice_reshape();
    test_null_and_handles();
    fprintf(stderr, "test_sparse: %.3f s\n", now_s() - t0);

    dask_sparse_set_auto_densify(false);
    dask_client_free(C);
    return test_finish();
}
