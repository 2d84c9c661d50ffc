/*
 * Bad input to the array, ufunc and kind functions of the C ABI: every misuse must give the
 * documented status and a fresh, non-empty dask_last_error_message() naming the problem,
 * write no output, leak nothing (valgrind) and leave the library usable. Covers NULL
 * pointers, broadcasting and other shape mismatches, bad dtype codes, bad axes, out-of-bounds
 * indices, tensordot/matmul/reshape size errors, freed and mistyped handles, wrong operand
 * counts, reductions of empty arrays without identity, compute_into with a wrong size, failing
 * C callbacks (map_blocks, from_block_fn, store, kinds), bad user ufunc and kind registrations.
 */
#include "harness.h"
#include "array_helpers.h"

static dask_client *C;

/* Arrays made here are freed at the end of each section. */
#define POOL_MAX 1024
static dask_array *pool[POOL_MAX];
static size_t npool;

static dask_array *keep(dask_array *a) {
    if (a != NULL && npool < POOL_MAX) pool[npool++] = a;
    return a;
}
static void drop_all(void) {
    for (size_t i = 0; i < npool; ++i) dask_array_free(pool[i]);
    npool = 0;
}


static dask_ufunc *ufn(const char *name) {
    dask_ufunc *u = NULL;
    CHECK_OK(dask_ufunc_lookup(name, &u));
    return u;
}

static dask_array *rand2(size_t r, size_t c, size_t cr, size_t cc) {
    size_t shape[2] = {r, c}, ch[2] = {cr, cc};
    dask_array *a = NULL;
    CHECK_OK(dask_array_random_uniform(1, 0.0, 1.0, 2, shape, ch, &a));
    return keep(a);
}

static dask_array *call2(const char *name, dask_operand a, dask_operand b) {
    dask_ufunc *u = ufn(name);
    dask_operand args[2] = {a, b};
    dask_array *r = NULL;
    CHECK_OK(dask_ufunc_call(u, args, 2, &r));
    dask_ufunc_free(u);
    return keep(r);
}

/* The call must fail with `want`, set a fresh message containing `needle` (NULL: any), and
 * leave the out-pointer untouched (NULL). */
#define CHECK_FAILS(call, want, needle, outp)                                                         \
    do {                                                                                               \
        if (CHECK_ERR((call), (want)) && (needle) != NULL)                                             \
            CHECK(last_error_has(needle), "%s: the message names \"%s\": %s", #call, (const char *)(needle), \
                  dask_last_error_message());                                                          \
        CHECK((outp) == NULL, "%s: no output on failure", #call);                                      \
        if ((outp) != NULL) dask_array_free((dask_array *)(outp));                                     \
    } while (0)

static double sum_of(const dask_array *a) {
    dask_array *s = NULL;
    double x = -1;
    if (CHECK_OK(dask_array_reduce(a, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &s)))
        CHECK_OK(dask_array_compute_into(C, s, DASK_FLOAT64, &x, sizeof x));
    dask_array_free(s);
    return x;
}

/* ---------------------------------------------------------------------------------------
 * NULL pointers
 * ------------------------------------------------------------------------------------- */

static void test_null(void) {
    size_t shape[2] = {4, 3};
    dask_array *x = rand2(4, 3, 2, 2), *r = NULL;
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 2, NULL, NULL, &r), DASK_ERR_NULL_ARGUMENT, "shape", r);
    CHECK_ERR(dask_array_zeros(DASK_FLOAT64, 2, shape, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_random_uniform(1, 0, 1, 2, NULL, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_ERR(dask_array_arange(0, 5, 1, DASK_INT64, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_value *v = NULL;
    CHECK_ERR(dask_array_compute(NULL, x, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK(last_error_has("client"), "names the client: %s", dask_last_error_message());
    CHECK_ERR(dask_array_compute(C, NULL, &v), DASK_ERR_NULL_ARGUMENT);
    CHECK(last_error_has("array"), "names the array: %s", dask_last_error_message());
    CHECK_ERR(dask_array_compute(C, x, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK(v == NULL, "no value on failure");
    double buf[12];
    CHECK_ERR(dask_array_compute_into(C, x, DASK_FLOAT64, NULL, sizeof buf), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_compute_into(NULL, x, DASK_FLOAT64, buf, sizeof buf), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_persist(C, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_ERR(dask_array_store(C, x, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_array_select(NULL, x, x, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);

    dask_ufunc *u = NULL;
    CHECK_ERR(dask_ufunc_lookup(NULL, &u), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_ufunc_lookup("add", NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK(u == NULL, "no ufunc on failure");
    dask_ufunc *add = ufn("add");
    dask_operand args[2] = {opa(x), opf(1.0)};
    CHECK_FAILS(dask_ufunc_call(NULL, args, 2, &r), DASK_ERR_NULL_ARGUMENT, "ufunc", r);
    CHECK_FAILS(dask_ufunc_call(add, NULL, 2, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_ERR(dask_ufunc_call(add, args, 2, NULL), DASK_ERR_NULL_ARGUMENT);
    dask_operand nullarr[2] = {opa(NULL), opf(1.0)};
    CHECK_FAILS(dask_ufunc_call(add, nullarr, 2, &r), DASK_ERR_NULL_ARGUMENT, "array", r);
    size_t nin = 0;
    CHECK_ERR(dask_ufunc_nin(NULL, &nin), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_ufunc_nin(add, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_FAILS(dask_ufunc_reduce(add, NULL, 0, true, false, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_ufunc_accumulate(NULL, x, 0, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);

    CHECK_FAILS(dask_array_reduce(NULL, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 1, false, 0, 0, &r), DASK_ERR_NULL_ARGUMENT, "axes", r);
    CHECK_FAILS(dask_array_slice(x, NULL, 1, &r), DASK_ERR_NULL_ARGUMENT, "index", r);
    CHECK_FAILS(dask_array_take(x, NULL, 3, 0, &r), DASK_ERR_NULL_ARGUMENT, "indices", r);
    CHECK_FAILS(dask_array_reshape(x, 1, NULL, &r), DASK_ERR_NULL_ARGUMENT, "shape", r);
    CHECK_FAILS(dask_array_concatenate(NULL, 2, 0, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    const dask_array *with_null[2] = {x, NULL};
    CHECK_FAILS(dask_array_concatenate(with_null, 2, 0, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_stack(with_null, 2, 0, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_tensordot(x, x, NULL, NULL, 1, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_matmul(x, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    dask_operand one = opf(1.0);
    CHECK_FAILS(dask_array_where(x, NULL, &one, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_where(NULL, &one, &one, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_set_where(x, x, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_from_value(NULL, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_block_from_value(NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    {
        dask_value *text = NULL;
        CHECK_OK(dask_value_from_string("not a buffer", &text));
        CHECK_FAILS(dask_array_block_from_value(text, &r), DASK_ERR_DTYPE, "not a buffer", r);
        dask_value_free(text);
    }
    CHECK_FAILS(dask_array_map_blocks(0, NULL, 1, DASK_FLOAT64, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_astype(NULL, DASK_FLOAT32, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_transpose(NULL, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_rechunk(NULL, NULL, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_arg_reduce(NULL, true, 0, true, &r), DASK_ERR_NULL_ARGUMENT, NULL, r);
    size_t nd = 0, count = 0;
    dask_dtype dt = 0;
    CHECK_ERR(dask_array_ndim(NULL, &nd), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_ndim(x, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_shape(x, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_dtype(x, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_dtype(NULL, &dt), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_chunks(x, 0, NULL, 0, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_chunks(NULL, 0, NULL, 0, &count), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_array_task_count(x, NULL), DASK_ERR_NULL_ARGUMENT);
    void *obj = NULL;
    CHECK_ERR(dask_array_object(NULL, &obj), DASK_ERR_NULL_ARGUMENT);
    dask_array_free(NULL);
    dask_ufunc_free(NULL);
    CHECK(true, "freeing NULL handles is a no-op");
    dask_ufunc_free(add);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Shapes, dtypes, axes, indices
 * ------------------------------------------------------------------------------------- */

static void test_shapes(void) {
    dask_array *x = rand2(40, 30, 7, 8), *r = NULL;
    dask_array *v40 = NULL, *v30 = NULL;
    CHECK_OK(dask_array_linspace(0, 1, 40, true, 9, &v40));
    CHECK_OK(dask_array_linspace(0, 1, 30, true, 9, &v30));
    keep(v40), keep(v30);
    dask_ufunc *add = ufn("add"), *wh = ufn("where");

    /* broadcasting (40,30) with (40,) fails; (40,30) with (30,) works */
    dask_operand bad[2] = {opa(x), opa(v40)};
    CHECK_FAILS(dask_ufunc_call(add, bad, 2, &r), DASK_ERR_SHAPE, "40", r);
    dask_operand good[2] = {opa(x), opa(v30)};
    CHECK_OK(dask_ufunc_call(add, good, 2, &r));
    keep(r), r = NULL;
    dask_array *m40 = call2("greater", opa(v40), opf(0.5));
    dask_operand w3[3] = {opa(m40), opa(x), opf(0.0)};
    CHECK_FAILS(dask_ufunc_call(wh, w3, 3, &r), DASK_ERR_SHAPE, NULL, r);
    dask_operand zero = opf(0.0), xo = opa(x);
    CHECK_FAILS(dask_array_where(m40, &xo, &zero, &r), DASK_ERR_SHAPE, NULL, r);
    CHECK_FAILS(dask_array_set_where(x, m40, &zero, &r), DASK_ERR_SHAPE, NULL, r);
    dask_array *xt = NULL;
    CHECK_OK(dask_array_transpose(x, NULL, &xt));
    keep(xt);
    dask_array *mt = call2("greater", opa(xt), opf(0.5));
    CHECK_FAILS(dask_array_select(C, x, mt, &r), DASK_ERR_SHAPE, NULL, r);
    const dask_array *pair[2] = {x, xt};
    CHECK_FAILS(dask_array_concatenate(pair, 2, 0, &r), DASK_ERR_SHAPE, NULL, r);
    CHECK_FAILS(dask_array_stack(pair, 2, 0, &r), DASK_ERR_SHAPE, "stack:", r);
    dask_op_id op_sum = 0;
    CHECK_OK(dask_op_lookup("identity", &op_sum));
    dask_array *y = rand2(40, 30, 10, 10);
    const dask_array *grids[2] = {x, y};
    CHECK_FAILS(dask_array_map_blocks(op_sum, grids, 2, DASK_FLOAT64, &r), DASK_ERR_SHAPE, NULL, r);

    /* tensordot / matmul with mismatched sizes */
    size_t a1 = 1, a0 = 0, a2 = 2;
    CHECK_FAILS(dask_array_tensordot(x, x, &a1, &a0, 1, &r), DASK_ERR_SHAPE, "tensordot", r);
    CHECK_FAILS(dask_array_matmul(x, x, &r), DASK_ERR_SHAPE, "matmul:", r);
    CHECK_FAILS(dask_array_tensordot(x, x, &a2, &a0, 1, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    size_t rep_a[2] = {1, 1}, rep_b[2] = {1, 1};
    CHECK_FAILS(dask_array_tensordot(x, xt, rep_a, rep_b, 2, &r), DASK_ERR_SHAPE, NULL, r);
    size_t s3[3] = {2, 3, 4};
    dask_array *t3 = NULL;
    CHECK_OK(dask_array_zeros(DASK_FLOAT64, 3, s3, NULL, &t3));
    keep(t3);
    CHECK_FAILS(dask_array_matmul(t3, x, &r), DASK_ERR_SHAPE, "contracted", r); /* 4 vs 40 */
    CHECK_OK(dask_array_matmul(x, xt, &r)); /* the right way round works */
    keep(r), r = NULL;

    /* reshape to a wrong size */
    int64_t s77[2] = {7, 7}, two_inf[2] = {-1, -1}, neg[2] = {-2, 600}, inf_bad[2] = {-1, 7};
    CHECK_FAILS(dask_array_reshape(x, 2, s77, &r), DASK_ERR_SHAPE, "1200", r);
    CHECK_FAILS(dask_array_reshape(x, 2, two_inf, &r), DASK_ERR_INVALID_ARGUMENT, "-1", r);
    /* Any negative length is the inferred one, as in NumPy: (-2, 600) is (2, 600). */
    CHECK_OK(dask_array_reshape(x, 2, neg, &r));
    size_t got_shape[2] = {0, 0};
    if (r) CHECK_OK(dask_array_shape(r, got_shape));
    CHECK(got_shape[0] == 2 && got_shape[1] == 600, "reshape (-2, 600) gives (%zu, %zu)", got_shape[0],
          got_shape[1]);
    keep(r), r = NULL;
    int64_t neg3[2] = {-3, -1};
    CHECK_FAILS(dask_array_reshape(x, 2, neg3, &r), DASK_ERR_INVALID_ARGUMENT, "one length", r);
    CHECK_FAILS(dask_array_reshape(x, 2, inf_bad, &r), DASK_ERR_SHAPE, NULL, r);

    /* bad dtype codes */
    size_t shape[2] = {4, 3};
    CHECK_FAILS(dask_array_zeros(99, 2, shape, NULL, &r), DASK_ERR_DTYPE, "99", r);
    CHECK_FAILS(dask_array_zeros(0, 2, shape, NULL, &r), DASK_ERR_DTYPE, NULL, r);
    CHECK_FAILS(dask_array_full(12, 2, shape, NULL, 1.0, &r), DASK_ERR_DTYPE, NULL, r);
    CHECK_FAILS(dask_array_arange(0, 5, 1, 1000, 0, &r), DASK_ERR_DTYPE, NULL, r);
    CHECK_FAILS(dask_array_eye(3, 3, 0, 77, 0, &r), DASK_ERR_DTYPE, NULL, r);
    CHECK_FAILS(dask_array_astype(x, 42, &r), DASK_ERR_DTYPE, "42", r);
    const dask_array *one[1] = {x};
    CHECK_FAILS(dask_array_map_blocks(op_sum, one, 1, 31, &r), DASK_ERR_DTYPE, NULL, r);
    CHECK_FAILS(dask_array_from_block_fn(op_sum, 0xFFFF, 2, shape, NULL, &r), DASK_ERR_DTYPE, NULL, r);
    /* no loop for these input types (bitwise invert of floats) */
    dask_ufunc *inv = ufn("invert");
    dask_operand xi[1] = {opa(x)};
    CHECK_FAILS(dask_ufunc_call(inv, xi, 1, &r), DASK_ERR_DTYPE, "invert", r);
    dask_ufunc_free(inv);
    /* a value that is not a buffer */
    dask_value *iv = NULL;
    CHECK_OK(dask_value_from_i64(5, &iv));
    CHECK_FAILS(dask_array_from_value(iv, NULL, &r), DASK_ERR_DTYPE, "buffer", r);
    dask_value_free(iv);

    /* bad axes */
    size_t ax2 = 2;
    CHECK_FAILS(dask_array_reduce(x, DASK_REDUCE_SUM, &ax2, 1, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    CHECK_FAILS(dask_array_reduce(x, DASK_REDUCE_MEAN, &ax2, 1, true, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "axis", r);
    CHECK_FAILS(dask_array_arg_reduce(x, true, 2, false, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    CHECK_FAILS(dask_ufunc_reduce(add, x, 5, false, false, &r), DASK_ERR_INVALID_ARGUMENT, "axis 5", r);
    CHECK_FAILS(dask_ufunc_accumulate(add, x, 2, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    int64_t idx1[1] = {0};
    CHECK_FAILS(dask_array_take(x, idx1, 1, 2, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    const dask_array *same[2] = {x, x};
    CHECK_FAILS(dask_array_concatenate(same, 2, 2, &r), DASK_ERR_INVALID_ARGUMENT, "axis 2", r);
    CHECK_FAILS(dask_array_stack(same, 2, 3, &r), DASK_ERR_INVALID_ARGUMENT, "axis 3", r);
    size_t cnt = 0;
    CHECK_ERR(dask_array_chunks(x, 2, NULL, 0, &cnt), DASK_ERR_INVALID_ARGUMENT);
    size_t perm_dup[2] = {0, 0}, perm_big[2] = {0, 2};
    CHECK_FAILS(dask_array_transpose(x, perm_dup, &r), DASK_ERR_INVALID_ARGUMENT, "permutation", r);
    CHECK_FAILS(dask_array_transpose(x, perm_big, &r), DASK_ERR_INVALID_ARGUMENT, "permutation", r);
    size_t dup_axes[2] = {0, 0};
    CHECK_FAILS(dask_array_tensordot(x, x, dup_axes, dup_axes, 2, &r), DASK_ERR_INVALID_ARGUMENT, "repeated", r);

    /* bad indices: out of bounds is an error, not a clamp or a crash */
    dask_index at40;
    memset(&at40, 0, sizeof at40);
    at40.kind = DASK_INDEX_AT;
    at40.start = 40;
    CHECK_FAILS(dask_array_slice(x, &at40, 1, &r), DASK_ERR_INVALID_ARGUMENT, "40", r);
    at40.start = -41;
    CHECK_FAILS(dask_array_slice(x, &at40, 1, &r), DASK_ERR_INVALID_ARGUMENT, "-41", r);
    dask_index two[2];
    memset(two, 0, sizeof two);
    two[0].kind = DASK_INDEX_SLICE;
    two[0].step = 1;
    two[1].kind = DASK_INDEX_AT;
    two[1].start = 30;
    CHECK_FAILS(dask_array_slice(x, two, 2, &r), DASK_ERR_INVALID_ARGUMENT, "30", r);
    dask_index three[3];
    memset(three, 0, sizeof three);
    for (int i = 0; i < 3; ++i) three[i].kind = DASK_INDEX_AT;
    CHECK_FAILS(dask_array_slice(x, three, 3, &r), DASK_ERR_INVALID_ARGUMENT, "too many", r);
    /* A zeroed entry is `:` (kind 0 is a slice and step 0 means 1), so a zeroed index works. */
    dask_index zeroed[2];
    memset(zeroed, 0, sizeof zeroed);
    if (CHECK_OK(dask_array_slice(x, zeroed, 2, &r))) {
        CHECK(sum_of(r) == sum_of(x), "a zeroed index is the whole array");
        dask_array_free(r);
        r = NULL;
    }
    dask_index badkind;
    memset(&badkind, 0, sizeof badkind);
    badkind.kind = 9;
    CHECK_FAILS(dask_array_slice(x, &badkind, 1, &r), DASK_ERR_INVALID_ARGUMENT, "kind", r);
    int64_t tk_bad[3] = {0, 40, 1}, tk_neg[1] = {-41};
    CHECK_FAILS(dask_array_take(x, tk_bad, 3, 0, &r), DASK_ERR_INVALID_ARGUMENT, "40", r);
    CHECK_FAILS(dask_array_take(x, tk_neg, 1, 0, &r), DASK_ERR_INVALID_ARGUMENT, "-41", r);

    /* bad chunks and creation arguments */
    size_t ch0[2] = {0, 3};
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 2, shape, ch0, &r), DASK_ERR_SHAPE, "chunk size 0", r);
    CHECK_FAILS(dask_array_rechunk(x, ch0, &r), DASK_ERR_SHAPE, "chunk size 0", r);
    CHECK_FAILS(dask_array_arange(0, 5, 0, DASK_FLOAT64, 0, &r), DASK_ERR_INVALID_ARGUMENT, "step", r);
    CHECK_FAILS(dask_array_arange(0, 5, __builtin_nan(""), DASK_FLOAT64, 0, &r), DASK_ERR_INVALID_ARGUMENT, "step",
                r);
    CHECK_FAILS(dask_array_reduce(x, 77, NULL, 0, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "77", r);
    const dask_array *none[1] = {NULL};
    CHECK_FAILS(dask_array_concatenate(none, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_stack(none, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_map_blocks(op_sum, none, 0, DASK_FLOAT64, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    CHECK_FAILS(dask_array_map_blocks(999999, one, 1, DASK_FLOAT64, &r), DASK_ERR_NOT_FOUND, NULL, r);
    CHECK_FAILS(dask_array_from_block_fn(999999, DASK_FLOAT64, 2, shape, NULL, &r), DASK_ERR_NOT_FOUND, NULL, r);

    dask_ufunc_free(add);
    dask_ufunc_free(wh);
    /* the arrays used above are intact */
    double s = sum_of(x);
    CHECK(s > 400 && s < 800, "x still computes after all that (sum %g)", s);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Handles, operands, ufunc misuse, empty reductions, compute_into sizes
 * ------------------------------------------------------------------------------------- */

static void test_handles_and_ufuncs(void) {
    dask_array *r = NULL;
    dask_array *x = NULL, *y = NULL;
    size_t shape[2] = {6, 5}, ch[2] = {4, 4};
    CHECK_OK(dask_array_ones(DASK_FLOAT64, 2, shape, ch, &x));
    dask_ufunc *add = ufn("add"), *ex = ufn("exp"), *wh = ufn("where");
    dask_operand xa[2] = {opa(x), opf(1.0)};
    CHECK_OK(dask_ufunc_call(add, xa, 2, &y));

    /* a freed array used again */
    dask_array_free(x);
    size_t nd = 0;
    CHECK_ERR(dask_array_ndim(x, &nd), DASK_ERR_INVALID_HANDLE);
    CHECK(last_error_has("freed"), "the message says it was freed: %s", dask_last_error_message());
    CHECK_FAILS(dask_ufunc_call(add, xa, 2, &r), DASK_ERR_INVALID_HANDLE, "freed", r);
    dask_value *v = NULL;
    CHECK_ERR(dask_array_compute(C, x, &v), DASK_ERR_INVALID_HANDLE);
    CHECK_FAILS(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &r), DASK_ERR_INVALID_HANDLE, NULL, r);
    dask_array_free(x); /* a double free is refused, not a crash */
    CHECK(last_error_has("freed"), "a second free is reported: %s", dask_last_error_message());
    /* what was computed from it lives on */
    CHECK(sum_of(y) == 60.0, "an array made from a freed one still computes (%g)", sum_of(y));
    dask_array_free(y);

    /* a handle of another type */
    CHECK_OK(dask_value_from_f64(1.0, &v));
    CHECK_ERR(dask_array_ndim((const dask_array *)(const void *)v, &nd), DASK_ERR_INVALID_HANDLE);
    CHECK(last_error_has("dask_array"), "names the expected handle type: %s", dask_last_error_message());
    dask_operand vo[2] = {opa((const dask_array *)(const void *)v), opf(1.0)};
    CHECK_FAILS(dask_ufunc_call(add, vo, 2, &r), DASK_ERR_INVALID_HANDLE, NULL, r);
    dask_value_free(v);
    dask_array *cl = NULL;
    CHECK_OK(dask_array_ones(DASK_FLOAT64, 2, shape, ch, &cl));
    keep(cl);
    CHECK_ERR(dask_array_compute((const dask_client *)(const void *)cl, cl, &v), DASK_ERR_INVALID_HANDLE);
    CHECK(last_error_has("dask_client"), "names the client type: %s", dask_last_error_message());
    size_t nin = 0;
    CHECK_ERR(dask_ufunc_nin((const dask_ufunc *)(const void *)cl, &nin), DASK_ERR_INVALID_HANDLE);
    dask_ufunc *tmp = ufn("multiply");
    dask_ufunc_free(tmp);
    CHECK_ERR(dask_ufunc_nin(tmp, &nin), DASK_ERR_INVALID_HANDLE);

    /* wrong number of operands, bad operand kinds, unknown names */
    dask_operand one[1] = {opa(cl)};
    CHECK_FAILS(dask_ufunc_call(add, one, 1, &r), DASK_ERR_INVALID_ARGUMENT, "2 inputs", r);
    dask_operand three[3] = {opa(cl), opa(cl), opa(cl)};
    CHECK_FAILS(dask_ufunc_call(add, three, 3, &r), DASK_ERR_INVALID_ARGUMENT, "add", r);
    dask_operand two[2] = {opa(cl), opa(cl)};
    CHECK_FAILS(dask_ufunc_call(ex, two, 2, &r), DASK_ERR_INVALID_ARGUMENT, "exp", r);
    CHECK_FAILS(dask_ufunc_call(wh, two, 2, &r), DASK_ERR_INVALID_ARGUMENT, "where", r);
    CHECK_FAILS(dask_ufunc_call(ex, one, 0, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    dask_operand badk[2] = {opa(cl), opf(1.0)};
    badk[1].kind = 17;
    CHECK_FAILS(dask_ufunc_call(add, badk, 2, &r), DASK_ERR_INVALID_ARGUMENT, "17", r);
    dask_ufunc *nf = NULL;
    CHECK_ERR(dask_ufunc_lookup("no_such_ufunc", &nf), DASK_ERR_NOT_FOUND);
    CHECK(last_error_has("no_such_ufunc") && nf == NULL, "names the missing ufunc: %s", dask_last_error_message());
    CHECK_FAILS(dask_ufunc_reduce(ex, cl, 0, true, false, &r), DASK_ERR_INVALID_ARGUMENT, "exp", r);
    dask_ufunc *less = ufn("less"); /* accumulate needs loops of the form (t, t) -> t */
    CHECK_FAILS(dask_ufunc_accumulate(less, cl, 0, &r), DASK_ERR_DTYPE, "less", r);
    dask_ufunc_free(less);

    /* a scalar-only ufunc result is a dense block: chunked-only functions say so */
    dask_operand ss[2] = {opf(1.0), opf(2.0)};
    dask_array *blk = NULL;
    CHECK_OK(dask_ufunc_call(add, ss, 2, &blk));
    keep(blk);
    CHECK_FAILS(dask_array_reduce(blk, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "dense",
                r);
    void *obj = NULL;
    CHECK_ERR(dask_array_object(cl, &obj), DASK_ERR_INVALID_ARGUMENT);

    /* min/max/argmin of an empty array: no identity, an error (sum is fine) */
    size_t e0[2] = {0, 5}, ech[2] = {2, 2};
    dask_array *e = NULL;
    CHECK_OK(dask_array_zeros(DASK_FLOAT64, 2, e0, ech, &e));
    keep(e);
    CHECK_FAILS(dask_array_reduce(e, DASK_REDUCE_MIN, NULL, 0, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "identity",
                r);
    CHECK_FAILS(dask_array_reduce(e, DASK_REDUCE_MAX, NULL, 0, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, "max", r);
    size_t ax0 = 0, ax1 = 1;
    CHECK_FAILS(dask_array_reduce(e, DASK_REDUCE_MIN, &ax0, 1, false, 0, 0, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    CHECK_OK(dask_array_reduce(e, DASK_REDUCE_MIN, &ax1, 1, false, 0, 0, &r)); /* (0,) result: nothing reduced empty */
    keep(r), r = NULL;
    CHECK_FAILS(dask_array_arg_reduce(e, false, 0, true, &r), DASK_ERR_INVALID_ARGUMENT, "empty", r);
    CHECK_FAILS(dask_array_arg_reduce(e, true, 0, false, &r), DASK_ERR_INVALID_ARGUMENT, "empty", r);
    dask_ufunc *mn = ufn("minimum");
    CHECK_FAILS(dask_ufunc_reduce(mn, e, 0, true, false, &r), DASK_ERR_INVALID_ARGUMENT, NULL, r);
    dask_ufunc_free(mn);
    CHECK(sum_of(e) == 0.0, "sum of the empty array is 0");

    /* compute_into with a wrong size writes nothing */
    double buf[31];
    for (int i = 0; i < 31; ++i) buf[i] = -7.0;
    CHECK_ERR(dask_array_compute_into(C, cl, DASK_FLOAT64, buf, 29 * sizeof(double)), DASK_ERR_SHAPE);
    CHECK(last_error_has("240"), "names the needed size: %s", dask_last_error_message());
    CHECK_ERR(dask_array_compute_into(C, cl, DASK_FLOAT64, buf, 31 * sizeof(double)), DASK_ERR_SHAPE);
    CHECK_ERR(dask_array_compute_into(C, cl, DASK_FLOAT64, buf, 0), DASK_ERR_SHAPE);
    bool untouched = true;
    for (int i = 0; i < 31; ++i) untouched = untouched && buf[i] == -7.0;
    CHECK(untouched, "a failed compute_into wrote nothing");
    CHECK_OK(dask_array_compute_into(C, cl, DASK_FLOAT64, buf, 30 * sizeof(double)));
    CHECK(buf[0] == 1.0 && buf[29] == 1.0 && buf[30] == -7.0, "the right size works and stays in bounds");

    dask_ufunc_free(add);
    dask_ufunc_free(ex);
    dask_ufunc_free(wh);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Failing C callbacks
 * ------------------------------------------------------------------------------------- */

#define FAIL_TEXT "ctest: block 3 is cursed"
static dask_op_id op_fail_some, op_wrong_shape, op_wrong_shape_bf, op_wrong_dtype, op_no_output;

/* Fails on the block whose first element is 3 (of an arange with chunk 3: the second block). */
static int32_t fail_some_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK || v.dtype != DASK_FLOAT64) return DASK_ERR_INVALID_ARGUMENT;
    double first;
    memcpy(&first, v.data, sizeof first);
    if (first == 3.0) {
        dask_error_set(FAIL_TEXT);
        return DASK_ERR_INVALID_ARGUMENT;
    }
    dask_value *res = NULL;
    void *data = NULL;
    dask_status st = dask_value_new_buffer(DASK_FLOAT64, v.ndim, v.shape, &res, &data);
    if (st != DASK_OK) return st;
    memcpy(data, v.data, v.len * sizeof(double)); /* a fresh 1-d arange block is contiguous */
    *out = res;
    return 0;
}

/* Returns a 1-d block one element shorter than asked (a longer one would make the library
 * write past its output buffer: see the report). */
static int32_t wrong_shape_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK || v.len < 2) return DASK_ERR_INVALID_ARGUMENT;
    size_t shape[1] = {v.len - 1};
    void *data = NULL;
    return dask_value_new_buffer(DASK_FLOAT64, 1, shape, out, &data);
}

/* from_block_fn: returns a block one element shorter than the (3, 1) info says. */
static int32_t wrong_shape_blockfn(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK || v.dtype != DASK_INT64 || v.len != 3)
        return DASK_ERR_INVALID_ARGUMENT;
    int64_t info[3];
    memcpy(info, v.data, sizeof info);
    size_t shape[1] = {(size_t)info[1] - 1};
    void *data = NULL;
    return dask_value_new_buffer(DASK_FLOAT64, 1, shape, out, &data);
}

/* Returns an int64 block of the right shape (the array says float64; same item size). */
static int32_t wrong_dtype_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    dask_buffer_view v;
    if (n != 1 || dask_value_buffer(in[0], &v, sizeof v) != DASK_OK) return DASK_ERR_INVALID_ARGUMENT;
    void *data = NULL;
    return dask_value_new_buffer(DASK_INT64, v.ndim, v.shape, out, &data);
}

/* Returns no value at all. */
static int32_t no_output_task(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx, (void)in, (void)n, (void)out;
    return 0;
}

static int store_calls;
static int32_t store_fail(void *ctx, size_t block, const size_t *offset, const dask_value *value) {
    (void)ctx, (void)block, (void)offset, (void)value;
    if (++store_calls == 2) {
        dask_error_set("ctest: disk full");
        return DASK_ERR_IO;
    }
    return 0;
}
static int32_t store_fail_silent(void *ctx, size_t block, const size_t *offset, const dask_value *value) {
    (void)ctx, (void)block, (void)offset, (void)value;
    return 42;
}

static atomic_long released;
static void on_release(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&released, 1);
}

static void test_callbacks(void) {
    CHECK_OK(dask_op_register("ctest.arrerr.fail_some", fail_some_task, NULL, 0, &op_fail_some));
    CHECK_OK(dask_op_register("ctest.arrerr.wrong_shape", wrong_shape_task, NULL, 0, &op_wrong_shape));
    CHECK_OK(dask_op_register("ctest.arrerr.wrong_shape_bf", wrong_shape_blockfn, NULL, 0, &op_wrong_shape_bf));
    CHECK_OK(dask_op_register("ctest.arrerr.wrong_dtype", wrong_dtype_task, NULL, 0, &op_wrong_dtype));
    CHECK_OK(dask_op_register("ctest.arrerr.no_output", no_output_task, NULL, 0, &op_no_output));
    dask_array *a = NULL, *r = NULL;
    CHECK_OK(dask_array_arange(0, 12, 1, DASK_FLOAT64, 3, &a));
    keep(a);
    const dask_array *in[1] = {a};
    dask_value *v = NULL;

    /* a failing map_blocks task fails the computation with the task's message */
    CHECK_OK(dask_array_map_blocks(op_fail_some, in, 1, DASK_FLOAT64, &r));
    keep(r);
    CHECK_ERR(dask_array_compute(C, r, &v), DASK_ERR_TASK);
    CHECK(last_error_has(FAIL_TEXT), "the task's message comes through: %s", dask_last_error_message());
    CHECK(v == NULL, "no value on failure");
    double buf[12];
    CHECK_ERR(dask_array_compute_into(C, r, DASK_FLOAT64, buf, sizeof buf), DASK_ERR_TASK);
    dask_array *s = NULL;
    CHECK_OK(dask_array_reduce(r, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &s));
    keep(s);
    CHECK_ERR(dask_array_compute(C, s, &v), DASK_ERR_TASK);
    CHECK(last_error_has(FAIL_TEXT), "dependents fail with the original message: %s", dask_last_error_message());
    CHECK_ERR(dask_array_persist(C, r, &s), DASK_ERR_TASK);

    /* blocks of the wrong shape, dtype, or no block at all: an error, not garbage */
    r = NULL;
    CHECK_OK(dask_array_map_blocks(op_wrong_shape, in, 1, DASK_FLOAT64, &r));
    keep(r);
    dask_status st = dask_array_compute(C, r, &v);
    CHECK(st != DASK_OK && st != DASK_ERR_PANIC && last_error_has(NULL),
          "a block of the wrong shape is an error: %s: %s", dask_status_name(st), dask_last_error_message());
    CHECK(last_error_has("shape"), "the message says shape: %s", dask_last_error_message());
    dask_value_free(v), v = NULL;
    r = NULL;
    CHECK_OK(dask_array_map_blocks(op_wrong_dtype, in, 1, DASK_FLOAT64, &r));
    keep(r);
    st = dask_array_compute(C, r, &v);
    CHECK(st != DASK_OK && st != DASK_ERR_PANIC && last_error_has(NULL),
          "a block of the wrong dtype is an error: %s: %s", dask_status_name(st), dask_last_error_message());
    CHECK(last_error_has("int64") || last_error_has("dtype"), "the message names the dtype: %s",
          dask_last_error_message());
    dask_value_free(v), v = NULL;
    r = NULL;
    CHECK_OK(dask_array_map_blocks(op_no_output, in, 1, DASK_FLOAT64, &r));
    keep(r);
    st = dask_array_compute(C, r, &v);
    CHECK(st != DASK_OK && st != DASK_ERR_PANIC && last_error_has(NULL), "a block task with no output is an error: %s: %s",
          dask_status_name(st), dask_last_error_message());
    dask_value_free(v), v = NULL;
    size_t bs[1] = {10}, bch[1] = {4};
    r = NULL;
    CHECK_OK(dask_array_from_block_fn(op_wrong_shape_bf, DASK_FLOAT64, 1, bs, bch, &r));
    keep(r);
    st = dask_array_compute(C, r, &v);
    CHECK(st != DASK_OK && st != DASK_ERR_PANIC && last_error_has(NULL),
          "from_block_fn giving a wrong shape is an error: %s: %s", dask_status_name(st), dask_last_error_message());
    dask_value_free(v), v = NULL;

    /* a store callback that fails stops the store with its status and message */
    store_calls = 0;
    CHECK_ERR(dask_array_store(C, a, store_fail, NULL), DASK_ERR_IO);
    CHECK(last_error_has("disk full"), "the callback's message comes through: %s", dask_last_error_message());
    CHECK(store_calls == 2, "no block is written after the failure (%d calls)", store_calls);
    st = dask_array_store(C, a, store_fail_silent, NULL);
    CHECK(st != DASK_OK && last_error_has("42"), "a bare non-zero return stops the store: %s: %s",
          dask_status_name(st), dask_last_error_message());

    /* wrapping host memory: a bad call still releases it exactly once */
    double host[4] = {1, 2, 3, 4};
    size_t big[1] = {8};
    atomic_store(&released, 0);
    CHECK_ERR(dask_value_wrap_buffer(DASK_FLOAT64, 1, big, NULL, host, sizeof host, on_release, NULL, &v),
              DASK_ERR_SHAPE);
    CHECK(atomic_load(&released) == 1, "a failed wrap releases the memory once (%ld)", atomic_load(&released));
    CHECK(v == NULL, "no value from a failed wrap");
    size_t four[1] = {4};
    CHECK_ERR(dask_value_wrap_buffer(77, 1, four, NULL, host, sizeof host, on_release, NULL, &v), DASK_ERR_DTYPE);
    CHECK(atomic_load(&released) == 2, "a wrap with a bad dtype releases the memory once (%ld)",
          atomic_load(&released));
    size_t zch[1] = {0};
    CHECK_OK(dask_value_wrap_buffer(DASK_FLOAT64, 1, four, NULL, host, sizeof host, on_release, NULL, &v));
    r = NULL;
    CHECK_FAILS(dask_array_from_value(v, zch, &r), DASK_ERR_SHAPE, "chunk size 0", r);
    dask_value_free(v), v = NULL;
    CHECK(WAIT_UNTIL(atomic_load(&released) == 3, patience_s()), "released after a failed from_value (%ld)",
          atomic_load(&released));
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * User ufunc and array kind registration
 * ------------------------------------------------------------------------------------- */

static void copy_loop(uint8_t **args, size_t n, const ptrdiff_t *steps, void *data) {
    (void)data;
    for (size_t i = 0; i < n; ++i) memcpy(args[1] + (ptrdiff_t)i * steps[1], args[0] + (ptrdiff_t)i * steps[0], 8);
}

static int32_t kind_call_fails(void *ctx, const char *name, const dask_operand *args, size_t n, void **out) {
    (void)ctx, (void)args, (void)n, (void)out;
    if (strcmp(name, "add") == 0) {
        dask_error_set("ctest kind: add is forbidden");
        return DASK_ERR_DTYPE;
    }
    if (strcmp(name, "subtract") == 0) return DASK_ERR_INVALID_ARGUMENT; /* no message */
    return DASK_ERR_NOT_IMPLEMENTED;
}
static atomic_long kind_released;
static void kind_release(void *ctx, void *obj) {
    (void)ctx;
    free(obj);
    atomic_fetch_add(&kind_released, 1);
}

static void test_registration(void) {
    static const dask_dtype f64x2[2] = {DASK_FLOAT64, DASK_FLOAT64};
    static const dask_dtype bad_t[2] = {DASK_FLOAT64, 99};
    dask_ufunc_loop l;
    memset(&l, 0, sizeof l);
    l.types = f64x2;
    l.func = copy_loop;
    dask_ufunc *u = NULL;
    CHECK_ERR(dask_ufunc_register(NULL, 1, false, 0, &l, 1, &u), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, NULL, 1, &u), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, &l, 1, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 0, false, 0, &l, 1, &u), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("inputs"), "names the input count: %s", dask_last_error_message());
    static const dask_dtype f64x5[5] = {DASK_FLOAT64, DASK_FLOAT64, DASK_FLOAT64, DASK_FLOAT64, DASK_FLOAT64};
    dask_ufunc_loop l5 = l;
    l5.types = f64x5;
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 4, false, 0, &l5, 1, &u), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, &l, 0, &u), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_ufunc_register("", 1, false, 0, &l, 1, &u), DASK_ERR_INVALID_ARGUMENT);
    dask_ufunc_loop nf = l;
    nf.func = NULL;
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, &nf, 1, &u), DASK_ERR_NULL_ARGUMENT);
    CHECK(last_error_has("func"), "names the NULL loop function: %s", dask_last_error_message());
    dask_ufunc_loop bt = l;
    bt.types = bad_t;
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, &bt, 1, &u), DASK_ERR_DTYPE);
    CHECK(u == NULL, "no ufunc from failed registrations");
    CHECK_ERR(dask_ufunc_register("exp", 1, false, 0, &l, 1, &u), DASK_ERR_ALREADY_EXISTS);
    CHECK(last_error_has("exp"), "a built-in name is taken: %s", dask_last_error_message());
    static const dask_dtype f64x3[3] = {DASK_FLOAT64, DASK_FLOAT64, DASK_FLOAT64};
    dask_ufunc_loop l2 = l;
    l2.types = f64x3;
    CHECK_ERR(dask_ufunc_register("add", 2, false, 0, &l2, 1, &u), DASK_ERR_ALREADY_EXISTS);
    CHECK_OK(dask_ufunc_register("ctest.e.copy", 1, false, 0, &l, 1, &u));
    dask_ufunc *u2 = NULL;
    CHECK_ERR(dask_ufunc_register("ctest.e.copy", 1, false, 0, &l, 1, &u2), DASK_ERR_ALREADY_EXISTS);
    /* a user ufunc has no reduce */
    dask_array *x = NULL, *r = NULL;
    size_t s[1] = {5};
    CHECK_OK(dask_array_ones(DASK_INT64, 1, s, NULL, &x));
    keep(x);
    CHECK_FAILS(dask_ufunc_reduce(u, x, 0, true, false, &r), DASK_ERR_INVALID_ARGUMENT, "ctest.e.copy", r);
    dask_ufunc_free(u);

    /* kinds */
    dask_kind_vtable vt;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.ufunc_call = kind_call_fails;
    vt.release = kind_release;
    dask_kind_id k = 0;
    dask_kind_vtable small = vt;
    small.struct_size = 4;
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, &small, NULL, &k), DASK_ERR_NULL_ARGUMENT);
    CHECK(last_error_has("struct_size"), "names struct_size: %s", dask_last_error_message());
    small.struct_size = 3;
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, &small, NULL, &k), DASK_ERR_INVALID_ARGUMENT);
    dask_kind_vtable nocall = vt;
    nocall.ufunc_call = NULL;
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, &nocall, NULL, &k), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, NULL, NULL, &k), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_kind_register(NULL, 5, &vt, NULL, &k), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, &vt, NULL, NULL), DASK_ERR_NULL_ARGUMENT);
    CHECK_OK(dask_kind_register("ctest.e.kind", 5, &vt, NULL, &k));
    dask_kind_id k2 = 0;
    CHECK_ERR(dask_kind_register("ctest.e.kind", 5, &vt, NULL, &k2), DASK_ERR_ALREADY_EXISTS);
    CHECK_ERR(dask_kind_register("chunked", 5, &vt, NULL, &k2), DASK_ERR_ALREADY_EXISTS);
    void *mem = malloc(8);
    CHECK_FAILS(dask_array_from_object(k + 1000, mem, &r), DASK_ERR_NOT_FOUND, "kind", r);
    free(mem); /* a failed call does not take the object */
    dask_array *obj = NULL;
    CHECK_OK(dask_array_from_object(k, malloc(8), &obj));
    dask_ufunc *add = ufn("add"), *sub = ufn("subtract"), *ex = ufn("exp");
    dask_operand oo[2] = {opa(obj), opa(obj)};
    dask_status st = dask_ufunc_call(add, oo, 2, &r);
    CHECK(st != DASK_OK && last_error_has("add is forbidden"), "a kind's error comes through with its message: %s: %s",
          dask_status_name(st), dask_last_error_message());
    CHECK(r == NULL, "no output");
    st = dask_ufunc_call(sub, oo, 2, &r);
    CHECK(st == DASK_ERR_INVALID_ARGUMENT && last_error_has("ctest.e.kind"),
          "a kind failing without a message: status and a message naming the kind: %s: %s", dask_status_name(st),
          dask_last_error_message());
    CHECK(r == NULL, "no output");
    dask_operand o1[1] = {opa(obj)};
    CHECK_FAILS(dask_ufunc_call(ex, o1, 1, &r), DASK_ERR_NOT_IMPLEMENTED, "ctest.e.kind", r);
    size_t nd = 0;
    CHECK_ERR(dask_array_ndim(obj, &nd), DASK_ERR_NOT_IMPLEMENTED);
    dask_value *v = NULL;
    CHECK_ERR(dask_array_compute(C, obj, &v), DASK_ERR_NOT_IMPLEMENTED);
    CHECK(last_error_has("ctest.e.kind"), "compute names the kind: %s", dask_last_error_message());
    dask_array_free(obj);
    CHECK(atomic_load(&kind_released) == 1, "the object was released once (%ld)", atomic_load(&kind_released));
    dask_ufunc_free(add);
    dask_ufunc_free(sub);
    dask_ufunc_free(ex);
    drop_all();
}

/* ---------------------------------------------------------------------------------------
 * Shapes too large to exist, and grids with too many blocks: refused when the array is made
 * (they used to abort the process allocating the block sizes, or wrap around silently).
 * ------------------------------------------------------------------------------------- */

static void test_huge(void) {
    dask_array *r = NULL;
    size_t n36 = (size_t)1 << 36, one = 1;
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 1, &n36, &one, &r), DASK_ERR_SHAPE, "larger chunks", r);
    size_t n60 = (size_t)1 << 60;
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 1, &n60, NULL, &r), DASK_ERR_SHAPE, "too large", r);
    size_t n59 = (size_t)1 << 59; /* 512 PiB of int8: addressable, but 2^32 auto blocks */
    CHECK_FAILS(dask_array_zeros(DASK_INT8, 1, &n59, NULL, &r), DASK_ERR_SHAPE, "blocks", r);
    size_t half[2] = {SIZE_MAX / 2, 2}, maxes[2] = {SIZE_MAX, SIZE_MAX};
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 2, half, NULL, &r), DASK_ERR_SHAPE, "too large", r);
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 2, maxes, maxes, &r), DASK_ERR_SHAPE, "too large", r);
    size_t big[2] = {(size_t)1 << 33, (size_t)1 << 33};
    CHECK_FAILS(dask_array_random_uniform(1, 0, 1, 2, big, big, &r), DASK_ERR_SHAPE, "too large", r);
    CHECK_FAILS(dask_array_zeros(DASK_FLOAT64, 65, maxes, NULL, &r), DASK_ERR_SHAPE, "ndim 65", r);
    /* Large but possible shapes stay lazy and work. */
    size_t ok_shape[2] = {(size_t)1 << 29, (size_t)1 << 30}, ok_chunks[2] = {(size_t)1 << 16, (size_t)1 << 16};
    CHECK_OK(dask_array_zeros(DASK_FLOAT64, 2, ok_shape, ok_chunks, &r));
    dask_array_free(r);
}

/* A full reduction's 0-d result reads as a number with dask_value_as_f64 / _as_i64; what
 * does not fit (a float as an integer, a uint64 above INT64_MAX, a 1-d block) is refused. */
static void test_zero_d(void) {
    size_t n = 100, ch = 30;
    dask_array *x = NULL, *s = NULL, *f = NULL, *fs = NULL, *big = NULL, *bs = NULL;
    dask_value *v = NULL, *fv = NULL, *bv = NULL, *whole = NULL;
    CHECK_OK(dask_array_arange(0, 100, 1, DASK_INT64, ch, &x));
    CHECK_OK(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &s));
    CHECK_OK(dask_array_compute(C, s, &v));
    int64_t i = 0;
    double d = 0;
    CHECK(CHECK_OK(dask_value_as_i64(v, &i)) && i == 4950, "int64 sum as int64: %lld", (long long)i);
    CHECK(CHECK_OK(dask_value_as_f64(v, &d)) && d == 4950.0, "int64 sum as double: %g", d);
    CHECK_OK(dask_array_astype(x, DASK_FLOAT32, &f));
    CHECK_OK(dask_array_reduce(f, DASK_REDUCE_MEAN, NULL, 0, false, 0, 0, &fs));
    CHECK_OK(dask_array_compute(C, fs, &fv));
    CHECK(CHECK_OK(dask_value_as_f64(fv, &d)) && d == 49.5, "float32 mean as double: %g", d);
    CHECK_ERR(dask_value_as_i64(fv, &i), DASK_ERR_DTYPE);
    CHECK(last_error_has("float32"), "the message names the dtype");
    CHECK_OK(dask_array_full(DASK_UINT64, 1, &n, &ch, 1.8446744073709552e19 / 2 + 4096, &big));
    CHECK_OK(dask_array_reduce(big, DASK_REDUCE_MAX, NULL, 0, false, 0, 0, &bs));
    CHECK_OK(dask_array_compute(C, bs, &bv));
    CHECK_ERR(dask_value_as_i64(bv, &i), DASK_ERR_DTYPE);
    CHECK_OK(dask_array_compute(C, x, &whole));
    CHECK_ERR(dask_value_as_f64(whole, &d), DASK_ERR_DTYPE);
    CHECK(last_error_has("shape [100]"), "a 1-d block is not a number: %s", dask_last_error_message());
    dask_value_free(v), dask_value_free(fv), dask_value_free(bv), dask_value_free(whole);
    dask_array_free(x), dask_array_free(s), dask_array_free(f), dask_array_free(fs);
    dask_array_free(big), dask_array_free(bs);
}

int main(void) {
    watchdog(small_mode() ? 300 : 60);
    C = new_client(2);
    double t0 = now_s();
    test_null();
    test_shapes();
    test_huge();
    test_zero_d();
    test_handles_and_ufuncs();
    test_callbacks();
    test_registration();
    /* the library still works */
    size_t s[2] = {30, 20}, ch[2] = {7, 7};
    dask_array *x = NULL;
    CHECK_OK(dask_array_ones(DASK_FLOAT64, 2, s, ch, &x));
    CHECK(sum_of(x) == 600.0, "a computation after all the errors is right");
    dask_array_free(x);
    fprintf(stderr, "test_array_errors: %.2f s\n", now_s() - t0);
    dask_client_free(C);
    return test_finish();
}
