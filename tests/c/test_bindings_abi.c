/*
 * The parts of the ABI the host-language bindings stand on: one future for a whole array
 * (dask_array_submit: awaited without blocking, polled, cancelled) and host references
 * released on the host's own thread (dask_host_ref_release / dask_host_refs_released), and
 * the NaN-skipping reductions behind R's na.rm = TRUE.
 */
#include "harness.h"

#define NAN_VALUE (0.0 / 0.0)

/* Sum of all elements of a computed float64 buffer value. */
static double buffer_sum(const dask_value *v, size_t *out_len) {
    dask_buffer_view view;
    if (!CHECK_OK(dask_value_buffer(v, &view, sizeof view))) return -1.0;
    const double *d = view.data;
    double s = 0;
    for (size_t i = 0; i < view.len; ++i) s += d[i];
    *out_len = view.len;
    return s;
}

/* exp of random numbers, lazy: `*x` the random array, the result `exp(x)`. */
static dask_array *exp_of_random(uint64_t seed, size_t ndim, const size_t *shape, const size_t *chunks,
                                 dask_array **x) {
    dask_array *y = NULL;
    dask_ufunc *e = NULL;
    CHECK_OK(dask_array_random_uniform(seed, 0.0, 1.0, ndim, shape, chunks, x));
    CHECK_OK(dask_ufunc_lookup("exp", &e));
    dask_operand arg = {.kind = DASK_OPERAND_ARRAY, .array = *x};
    CHECK_OK(dask_ufunc_call(e, &arg, 1, &y));
    dask_ufunc_free(e);
    return y;
}

static void test_submit_matches_compute(const dask_client *c) {
    size_t shape[2] = {300, 200}, chunks[2] = {64, 50};
    dask_array *x = NULL;
    dask_array *y = exp_of_random(7, 2, shape, chunks, &x);
    dask_future *f = NULL;
    CHECK_OK(dask_array_submit(c, y, &f));
    dask_value *got = NULL, *want = NULL;
    CHECK_OK(dask_future_result(f, -1.0, &got));
    CHECK_OK(dask_array_compute(c, y, &want));
    size_t n1 = 0, n2 = 0;
    dask_buffer_view g, w;
    CHECK_OK(dask_value_buffer(got, &g, sizeof g));
    CHECK_OK(dask_value_buffer(want, &w, sizeof w));
    CHECK(g.ndim == 2 && g.shape[0] == 300 && g.shape[1] == 200 && g.c_contiguous, "shape and layout");
    CHECK(g.len == w.len && memcmp(g.data, w.data, g.len * 8) == 0, "submit gathers exactly what compute returns");
    CHECK(buffer_sum(got, &n1) == buffer_sum(want, &n2) && n1 == 60000, "same sum");
    /* A reduction: one block, passed through. */
    dask_array *s = NULL;
    CHECK_OK(dask_array_reduce(y, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s));
    dask_future *fs = NULL;
    dask_value *sv = NULL;
    CHECK_OK(dask_array_submit(c, s, &fs));
    CHECK_OK(dask_future_result(fs, -1.0, &sv));
    double total = buffer_sum(sv, &n2); /* a 0-d buffer */
    double direct = buffer_sum(want, &n1);
    double diff = total > direct ? total - direct : direct - total;
    CHECK(n2 == 1 && diff <= 1e-9 * direct, "sum %.17g vs %.17g", total, direct);
    dask_value_free(sv);
    dask_future_free(fs);
    dask_array_free(s);
    dask_value_free(got);
    dask_value_free(want);
    dask_future_free(f);
    dask_array_free(y);
    dask_array_free(x);
}

static void on_done(void *ctx) { atomic_fetch_add((atomic_int *)ctx, 1); }

static void test_submit_does_not_block_and_cancels(const dask_client *c) {
    /* Large enough to still be running when cancelled: 64 blocks of 4M elements. */
    size_t shape[1] = {(size_t)1 << 28}, chunks[1] = {(size_t)1 << 22};
    dask_array *x = NULL;
    dask_array *y = exp_of_random(3, 1, shape, chunks, &x);
    atomic_int done = 0;
    dask_future *f = NULL;
    CHECK_OK(dask_array_submit(c, y, &f)); /* returns without waiting: not done below */
    CHECK_OK(dask_future_add_done_callback(f, on_done, &done));
    bool is_done = true;
    CHECK_OK(dask_future_is_done(f, &is_done));
    CHECK(!is_done, "2 GiB of exp is not done at once");
    CHECK_ERR(dask_future_wait(f, 0.01), DASK_ERR_TIMEOUT);
    CHECK_OK(dask_future_cancel(f));
    WAIT_UNTIL(atomic_load(&done) == 1, patience_s());
    CHECK(atomic_load(&done) == 1, "the done callback ran once after cancelling");
    dask_value *v = NULL;
    CHECK_ERR(dask_future_result(f, -1.0, &v), DASK_ERR_CANCELLED);
    dask_future_free(f);
    dask_array_free(y);
    dask_array_free(x);
}

/* This test's host id, in the tokens' top 16 bits. */
#define HOST 0x43u
#define TOKEN(n) (((uint64_t)HOST << DASK_HOST_TAG_SHIFT) | (n))

static void test_host_refs(const dask_client *c) {
    size_t n = 0;
    uint64_t got[8];
    CHECK_OK(dask_host_refs_released(HOST, got, 8, &n)); /* drain anything earlier */
    /* A host buffer lent without copying, released through the queue. */
    static double data[6] = {1, 2, 3, 4, 5, 6};
    size_t shape[2] = {2, 3};
    dask_value *v = NULL;
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, shape, NULL, data, sizeof data, dask_host_ref_release,
                                    (void *)(uintptr_t)TOKEN(41), &v));
    dask_future *f = NULL;
    CHECK_OK(dask_client_scatter(c, v, &f));
    dask_value_free(v);
    CHECK_OK(dask_host_refs_released(HOST, got, 8, &n));
    CHECK(n == 0, "still referenced by the scattered future");
    dask_future_free(f);
    CHECK_OK(dask_host_refs_released(HOST + 1, got, 8, &n));
    CHECK(n == 0, "another host does not see this host's tokens");
    CHECK_OK(dask_host_refs_released(HOST, got, 8, &n));
    CHECK(n == 1 && got[0] == TOKEN(41), "released once the last reference went (n=%zu)", n);
    /* An opaque host object, released from a pool thread. */
    dask_value *o = NULL;
    CHECK_OK(dask_value_from_opaque((void *)(uintptr_t)TOKEN(42), dask_host_ref_release, &o));
    void *back = NULL;
    CHECK_OK(dask_value_opaque(o, &back));
    CHECK((uintptr_t)back == TOKEN(42), "the token travels as the opaque pointer");
    dask_value_free(o);
    CHECK_OK(dask_host_refs_released(HOST, got, 8, &n));
    CHECK(n == 1 && got[0] == TOKEN(42), "opaque token released");
    /* Capacity limits the batch; the rest waits for the next call; other hosts' tokens stay. */
    dask_host_ref_release((void *)(uintptr_t)(((uint64_t)(HOST + 1) << DASK_HOST_TAG_SHIFT) | 7));
    for (uint64_t t = 100; t < 105; ++t) dask_host_ref_release((void *)(uintptr_t)TOKEN(t));
    CHECK_OK(dask_host_refs_released(HOST, got, 2, &n));
    CHECK(n == 2 && got[0] == TOKEN(100) && got[1] == TOKEN(101), "oldest first, at most capacity");
    CHECK_OK(dask_host_refs_released(HOST, got, 8, &n));
    CHECK(n == 3 && got[2] == TOKEN(104), "the rest");
    CHECK_OK(dask_host_refs_released(HOST + 1, got, 8, &n));
    CHECK(n == 1 && got[0] == (((uint64_t)(HOST + 1) << DASK_HOST_TAG_SHIFT) | 7), "the other host's token");
    CHECK_ERR(dask_host_refs_released(HOST, NULL, 4, &n), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_host_refs_released(HOST, got, 4, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_host_refs_released(HOST, NULL, 0, &n));
}

/* na.rm = TRUE for R: the NaN-skipping reductions, against a plain loop. */
static void test_nan_reductions(const dask_client *c) {
    enum { R = 40, C = 30 };
    static double data[R * C];
    for (size_t i = 0; i < R * C; ++i) data[i] = (i % 7 == 0 || i / C == 3) ? NAN_VALUE : (double)(i % 11) - 5.0;
    size_t shape[2] = {R, C}, chunks[2] = {16, 16};
    dask_value *v = NULL;
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, shape, NULL, data, sizeof data, NULL, NULL, &v));
    dask_array *x = NULL;
    CHECK_OK(dask_array_from_value(v, chunks, &x));
    size_t axis = 1;
    dask_array *sum = NULL, *mean = NULL, *max = NULL;
    CHECK_OK(dask_array_reduce(x, DASK_REDUCE_NANSUM, &axis, 1, false, 0, 0, &sum));
    CHECK_OK(dask_array_reduce(x, DASK_REDUCE_NANMEAN, &axis, 1, false, 0, 0, &mean));
    CHECK_OK(dask_array_reduce(x, DASK_REDUCE_NANMAX, &axis, 1, false, 0, 0, &max));
    double got_sum[R], got_mean[R], got_max[R];
    CHECK_OK(dask_array_compute_into(c, sum, DASK_FLOAT64, got_sum, sizeof got_sum));
    CHECK_OK(dask_array_compute_into(c, mean, DASK_FLOAT64, got_mean, sizeof got_mean));
    CHECK_OK(dask_array_compute_into(c, max, DASK_FLOAT64, got_max, sizeof got_max));
    int bad = 0;
    for (size_t r = 0; r < R; ++r) {
        double s = 0, m = -1e300;
        size_t n = 0;
        for (size_t k = 0; k < C; ++k) {
            double e = data[r * C + k];
            if (e != e) continue;
            s += e;
            m = e > m ? e : m;
            ++n;
        }
        if (n == 0) {
            /* row 3 is all NaN: sum 0, mean and max NaN */
            bad += got_sum[r] != 0 || got_mean[r] == got_mean[r] || got_max[r] == got_max[r];
        } else {
            bad += got_sum[r] != s || got_max[r] != m;
            double mm = s / (double)n, d = got_mean[r] - mm;
            bad += d > 1e-12 || d < -1e-12;
        }
    }
    CHECK(bad == 0, "%d rows differ from the plain loop", bad);
    /* Sparse arrays: a clear NOT_IMPLEMENTED, not wrong numbers. */
    dask_array *sp = NULL, *out = NULL;
    CHECK_OK(dask_array_random_sparse(1, 0.1, 2, shape, NULL, &sp));
    dask_array *whole = NULL;
    CHECK_OK(dask_array_compute_sparse(c, sp, &whole));
    CHECK_ERR(dask_array_reduce(whole, DASK_REDUCE_NANSUM, NULL, 0, false, 0, 0, &out), DASK_ERR_NOT_IMPLEMENTED);
    /* What each handle holds, without probing other calls for errors. */
    dask_array_kind kind = 0;
    CHECK_OK(dask_array_get_kind(x, &kind));
    CHECK(kind == DASK_ARRAY_CHUNKED, "a chunked dense array (kind %u)", kind);
    CHECK_OK(dask_array_get_kind(sp, &kind));
    CHECK(kind == DASK_ARRAY_CHUNKED_SPARSE, "chunked sparse blocks (kind %u)", kind);
    CHECK_OK(dask_array_get_kind(whole, &kind));
    CHECK(kind == DASK_ARRAY_SPARSE, "one whole sparse array (kind %u)", kind);
    /* A dense block from host data: its kind, and the same elements back. */
    {
        int32_t host[6] = {1, -2, 3, -4, 5, 2147483647};
        size_t bshape[2] = {2, 3};
        dask_value *hv = NULL, *back = NULL;
        dask_array *blk = NULL;
        CHECK_OK(dask_value_copy_buffer(DASK_INT32, 2, bshape, host, &hv));
        CHECK_OK(dask_array_block_from_value(hv, &blk));
        dask_value_free(hv); /* the block keeps its own reference */
        CHECK_OK(dask_array_get_kind(blk, &kind));
        CHECK(kind == DASK_ARRAY_BLOCK, "one dense block (kind %u)", kind);
        CHECK_OK(dask_array_compute(c, blk, &back));
        dask_buffer_view bv;
        CHECK_OK(dask_value_buffer(back, &bv, sizeof bv));
        CHECK(bv.dtype == DASK_INT32 && bv.ndim == 2 && bv.shape[0] == 2 && bv.shape[1] == 3,
              "the block keeps dtype and shape");
        for (size_t i = 0; i < 2; ++i)
            for (size_t j = 0; j < 3; ++j) {
                int32_t e;
                memcpy(&e, (const char *)bv.data + (ptrdiff_t)i * bv.strides[0] + (ptrdiff_t)j * bv.strides[1],
                       sizeof e);
                CHECK(e == host[i * 3 + j], "element (%zu, %zu) is %d, host %d", i, j, e, host[i * 3 + j]);
            }
        dask_value_free(back);
        dask_array_free(blk);
    }
    CHECK_ERR(dask_array_get_kind(x, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_get_kind(NULL, &kind), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_reduce(x, 99, NULL, 0, false, 0, 0, &out), DASK_ERR_INVALID_ARGUMENT);
    dask_array_free(whole);
    dask_array_free(sp);
    dask_array_free(sum);
    dask_array_free(mean);
    dask_array_free(max);
    dask_array_free(x);
    dask_value_free(v);
}

/* A whole sparse matrix times a chunked dense array, both ways, against a plain loop. */
static void test_sparse_times_chunked(const dask_client *c) {
    enum { M = 30, K = 40, N = 7 };
    uint64_t coords[2 * 3] = {0, 5, 29, /* rows */ 1, 39, 0 /* cols */};
    static double vals[3] = {2.0, -1.5, 4.0};
    size_t shape_s[2] = {M, K}, one[1] = {3};
    dask_value *data = NULL;
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 1, one, NULL, vals, sizeof vals, NULL, NULL, &data));
    dask_array *s = NULL;
    CHECK_OK(dask_sparse_from_triplets(2, shape_s, coords, data, 0.0, &s));
    static double dense[K * N];
    for (size_t i = 0; i < K * N; ++i) dense[i] = (double)(i % 13) - 6.0;
    size_t shape_d[2] = {K, N}, chunks_d[2] = {16, 4};
    dask_value *dv = NULL;
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, shape_d, NULL, dense, sizeof dense, NULL, NULL, &dv));
    dask_array *d = NULL, *p = NULL;
    CHECK_OK(dask_array_from_value(dv, chunks_d, &d));
    CHECK_OK(dask_array_matmul(s, d, &p));
    dask_array_kind kind = 0;
    CHECK_OK(dask_array_get_kind(p, &kind));
    CHECK(kind == DASK_ARRAY_CHUNKED, "a chunked result (kind %u)", kind);
    double got[M * N], want[M * N] = {0};
    CHECK_OK(dask_array_compute_into(c, p, DASK_FLOAT64, got, sizeof got));
    for (size_t e = 0; e < 3; ++e)
        for (size_t j = 0; j < N; ++j) want[coords[e] * N + j] += vals[e] * dense[coords[3 + e] * N + j];
    CHECK(memcmp(got, want, sizeof got) == 0, "sparse @ chunked equals the plain loop");
    /* dense (N x M) @ sparse (M x K) */
    static double left[N * M];
    for (size_t i = 0; i < N * M; ++i) left[i] = (double)(i % 5) + 0.5;
    size_t shape_l[2] = {N, M}, chunks_l[2] = {4, 8};
    dask_value *lv = NULL;
    dask_array *l = NULL, *q = NULL;
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 2, shape_l, NULL, left, sizeof left, NULL, NULL, &lv));
    CHECK_OK(dask_array_from_value(lv, chunks_l, &l));
    CHECK_OK(dask_array_matmul(l, s, &q));
    double got2[N * K], want2[N * K] = {0};
    CHECK_OK(dask_array_compute_into(c, q, DASK_FLOAT64, got2, sizeof got2));
    for (size_t i = 0; i < N; ++i)
        for (size_t e = 0; e < 3; ++e) want2[i * K + coords[3 + e]] += left[i * M + coords[e]] * vals[e];
    CHECK(memcmp(got2, want2, sizeof got2) == 0, "chunked @ sparse equals the plain loop");
    dask_array_free(q);
    dask_array_free(l);
    dask_value_free(lv);
    dask_array_free(p);
    dask_array_free(d);
    dask_value_free(dv);
    dask_array_free(s);
    dask_value_free(data);
}

int main(void) {
    watchdog(small_mode() ? 900 : 120);
    dask_client *c = new_client(2);
    test_submit_matches_compute(c);
    test_submit_does_not_block_and_cancels(c);
    test_host_refs(c);
    test_nan_reductions(c);
    test_sparse_times_chunked(c);
    dask_array *bad = NULL;
    dask_future *f = NULL;
    CHECK_ERR(dask_array_submit(c, NULL, &f), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_array_zeros(DASK_FLOAT64, 1, (size_t[]){4}, (size_t[]){2}, &bad));
    CHECK_ERR(dask_array_submit(c, bad, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_array_free(bad);
    dask_client_free(c);
    return test_finish();
}
