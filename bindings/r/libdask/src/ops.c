/* Lazy operations: each is one library call. Axes and shapes arrive in the library's order;
 * the R side maps R's dims onto them (reversed). */
#include "glue.h"

#include <string.h>

/* An R operand: a dask_array, or a length-1 double/integer/logical scalar. Integer and
 * logical NA are the int32 INT32_MIN (R's NA_integer_ and NA_LOGICAL, which the library's
 * NA-aware ufuncs read as missing); the R side passes them only next to int32 arrays (a
 * double NA is NA_real_, whose bit pattern the float kernels keep). */
static dask_operand operand(SEXP x) {
    dask_operand o;
    memset(&o, 0, sizeof o);
    if (TYPEOF(x) == EXTPTRSXP) {
        o.kind = DASK_OPERAND_ARRAY;
        o.array = dk_array(x);
        return o;
    }
    if (Rf_xlength(x) != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "an operand is a dask_array or a single number");
    switch (TYPEOF(x)) {
    case REALSXP: o.kind = DASK_OPERAND_FLOAT; o.f = REAL(x)[0]; break;
    case INTSXP: o.kind = DASK_OPERAND_INT; o.i = INTEGER(x)[0]; break;
    case LGLSXP:
        if (LOGICAL(x)[0] == NA_LOGICAL) {
            o.kind = DASK_OPERAND_INT;
            o.i = INT32_MIN;
        } else {
            o.kind = DASK_OPERAND_BOOL;
            o.i = LOGICAL(x)[0];
        }
        break;
    default: dk_fail(DASK_ERR_DTYPE, "an operand is a dask_array or a single number");
    }
    return o;
}

static SEXP wrap(dask_array *a) { return dk_wrap(DK_ARRAY, a, R_NilValue); }

SEXP dk_ufunc(SEXP name, SEXP args) {
    dk_drain();
    size_t n = (size_t)Rf_xlength(args);
    dask_operand *ops = (dask_operand *)R_alloc(n + 1, sizeof *ops);
    for (size_t i = 0; i < n; ++i) ops[i] = operand(VECTOR_ELT(args, (R_xlen_t)i));
    dask_ufunc *u = NULL;
    dk_check(dask_ufunc_lookup(CHAR(STRING_ELT(name, 0)), &u));
    dask_array *out = NULL;
    dask_status st = dask_ufunc_call(u, ops, n, &out);
    dask_ufunc_free(u);
    dk_check(st);
    return wrap(out);
}

/* axes: library axes (0-based) or NULL for all. */
SEXP dk_reduce(SEXP x, SEXP op, SEXP axes, SEXP keepdims, SEXP ddof) {
    dk_drain();
    size_t n = 0;
    const size_t *ax = Rf_isNull(axes) ? NULL : dk_sizes(axes, &n);
    dask_array *out = NULL;
    dk_check(dask_array_reduce(dk_array(x), (dask_reduce_op)Rf_asInteger(op), ax, n,
                               Rf_asLogical(keepdims) == TRUE, Rf_asReal(ddof), 0, &out));
    return wrap(out);
}

SEXP dk_arg_reduce(SEXP x, SEXP max) {
    dk_drain();
    dask_array *out = NULL;
    dk_check(dask_array_arg_reduce(dk_array(x), Rf_asLogical(max) == TRUE, 0, true, &out));
    return wrap(out);
}

SEXP dk_accumulate(SEXP name, SEXP x, SEXP axis) {
    dk_drain();
    dask_ufunc *u = NULL;
    dk_check(dask_ufunc_lookup(CHAR(STRING_ELT(name, 0)), &u));
    dask_array *out = NULL;
    dask_status st = dask_ufunc_accumulate(u, dk_array(x), (size_t)Rf_asInteger(axis), &out);
    dask_ufunc_free(u);
    dk_check(st);
    return wrap(out);
}

SEXP dk_where(SEXP cond, SEXP a, SEXP b) {
    dk_drain();
    dask_operand oa = operand(a), ob = operand(b);
    dask_array *out = NULL;
    dk_check(dask_array_where(dk_array(cond), &oa, &ob, &out));
    return wrap(out);
}

SEXP dk_set_where(SEXP x, SEXP mask, SEXP value) {
    dk_drain();
    dask_operand v = operand(value);
    dask_array *out = NULL;
    dk_check(dask_array_set_where(dk_array(x), dk_array(mask), &v, &out));
    return wrap(out);
}

SEXP dk_select(SEXP client, SEXP x, SEXP mask) {
    dk_drain();
    dask_array *out = NULL;
    dk_check(dask_array_select(dk_client(client), dk_array(x), dk_array(mask), &out));
    return wrap(out);
}

SEXP dk_astype(SEXP x, SEXP dtype) {
    dk_drain();
    dask_array *out = NULL;
    dk_check(dask_array_astype(dk_array(x), (dask_dtype)Rf_asInteger(dtype), &out));
    return wrap(out);
}

SEXP dk_matmul(SEXP a, SEXP b) {
    dk_drain();
    dask_array *out = NULL;
    dk_check(dask_array_matmul(dk_array(a), dk_array(b), &out));
    return wrap(out);
}

/* perm: library axes, or NULL to reverse them. */
SEXP dk_transpose(SEXP x, SEXP perm) {
    dk_drain();
    size_t n = 0;
    const size_t *p = Rf_isNull(perm) ? NULL : dk_sizes(perm, &n);
    dask_array *out = NULL;
    dk_check(dask_array_transpose(dk_array(x), p, &out));
    return wrap(out);
}

/* index: a numeric matrix with one column per library axis: kind, start, stop, step,
 * has_start, has_stop (as dask_index). */
SEXP dk_slice(SEXP x, SEXP index) {
    dk_drain();
    if (TYPEOF(index) != REALSXP || Rf_length(index) % 6 != 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "bad index");
    size_t n = (size_t)Rf_length(index) / 6;
    dask_index *ix = (dask_index *)R_alloc(n + 1, sizeof *ix);
    const double *d = REAL(index);
    for (size_t k = 0; k < n; ++k) {
        memset(&ix[k], 0, sizeof ix[k]);
        ix[k].kind = (dask_index_kind)d[6 * k];
        ix[k].start = (int64_t)d[6 * k + 1];
        ix[k].stop = (int64_t)d[6 * k + 2];
        ix[k].step = (int64_t)d[6 * k + 3];
        ix[k].has_start = d[6 * k + 4] != 0;
        ix[k].has_stop = d[6 * k + 5] != 0;
    }
    dask_array *out = NULL;
    dk_check(dask_array_slice(dk_array(x), ix, n, &out));
    return wrap(out);
}

/* indices: 0-based positions along library `axis`. */
SEXP dk_take(SEXP x, SEXP indices, SEXP axis) {
    dk_drain();
    size_t n = 0;
    const int64_t *ix = dk_int64s(indices, &n);
    dask_array *out = NULL;
    dk_check(dask_array_take(dk_array(x), ix, n, (size_t)Rf_asInteger(axis), &out));
    return wrap(out);
}

SEXP dk_reshape(SEXP x, SEXP shape) {
    dk_drain();
    size_t n = 0;
    const int64_t *s = dk_int64s(shape, &n);
    dask_array *out = NULL;
    dk_check(dask_array_reshape(dk_array(x), n, s, &out));
    return wrap(out);
}

SEXP dk_rechunk(SEXP x, SEXP chunks) {
    dk_drain();
    size_t n = 0;
    const size_t *c = Rf_isNull(chunks) ? NULL : dk_sizes(chunks, &n);
    dask_array *out = NULL;
    dk_check(dask_array_rechunk(dk_array(x), c, &out));
    return wrap(out);
}

/* arrays: a list of dask_arrays; stack when `stack`, else concatenate along library axis. */
SEXP dk_join(SEXP arrays, SEXP axis, SEXP stack) {
    dk_drain();
    size_t n = (size_t)Rf_xlength(arrays);
    const dask_array **xs = (const dask_array **)R_alloc(n + 1, sizeof *xs);
    for (size_t i = 0; i < n; ++i) xs[i] = dk_array(VECTOR_ELT(arrays, (R_xlen_t)i));
    dask_array *out = NULL;
    size_t ax = (size_t)Rf_asInteger(axis);
    if (Rf_asLogical(stack) == TRUE) dk_check(dask_array_stack(xs, n, ax, &out));
    else dk_check(dask_array_concatenate(xs, n, ax, &out));
    return wrap(out);
}
