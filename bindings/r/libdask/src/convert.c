/* Moving data between R and the library.
 *
 * Layout: R is column-major and the library row-major, so an R array of dim (d1, ..., dk) is
 * exactly a library array of shape (dk, ..., d1) over the same memory: shapes are reversed
 * here and nothing is transposed or copied for layout. */
#include "glue.h"

#include <string.h>

const size_t *dk_sizes(SEXP x, size_t *n) {
    if (TYPEOF(x) != REALSXP && TYPEOF(x) != INTSXP)
        dk_fail(DASK_ERR_INVALID_ARGUMENT, "sizes must be numbers");
    R_xlen_t len = Rf_xlength(x);
    size_t *out = (size_t *)R_alloc((size_t)len + 1, sizeof *out);
    for (R_xlen_t i = 0; i < len; ++i) {
        double d = TYPEOF(x) == REALSXP ? REAL(x)[i]
                   : INTEGER(x)[i] == NA_INTEGER ? NA_REAL : (double)INTEGER(x)[i];
        if (!(d >= 0 && d < 9e15) || d != (double)(size_t)d)
            dk_fail(DASK_ERR_INVALID_ARGUMENT, "sizes must be non-negative whole numbers");
        out[i] = (size_t)d;
    }
    *n = (size_t)len;
    return out;
}

const int64_t *dk_int64s(SEXP x, size_t *n) {
    if (TYPEOF(x) != REALSXP) dk_fail(DASK_ERR_INVALID_ARGUMENT, "positions and shapes must be doubles");
    R_xlen_t len = Rf_xlength(x);
    int64_t *out = (int64_t *)R_alloc((size_t)len + 1, sizeof *out);
    for (R_xlen_t i = 0; i < len; ++i) out[i] = (int64_t)REAL(x)[i];
    *n = (size_t)len;
    return out;
}

/* The dims of an R vector as a library shape (reversed); a vector without dim is 1-d. */
static const size_t *lib_shape(SEXP x, size_t *ndim) {
    SEXP dim = Rf_getAttrib(x, R_DimSymbol);
    if (dim == R_NilValue) {
        size_t *s = (size_t *)R_alloc(1, sizeof *s);
        s[0] = (size_t)Rf_xlength(x);
        *ndim = 1;
        return s;
    }
    size_t n = (size_t)Rf_length(dim);
    size_t *s = (size_t *)R_alloc(n + 1, sizeof *s);
    for (size_t k = 0; k < n; ++k) s[k] = (size_t)INTEGER(dim)[n - 1 - k];
    *ndim = n;
    return s;
}

/* Chunks given in R's dim order (NULL: auto) reversed into the library's. */
static const size_t *lib_chunks(SEXP chunks, size_t ndim) {
    if (Rf_isNull(chunks)) return NULL;
    size_t n = 0;
    const size_t *c = dk_sizes(chunks, &n);
    if (n != ndim) dk_fail(DASK_ERR_INVALID_ARGUMENT, "chunks must have one entry per dimension");
    size_t *r = (size_t *)R_alloc(ndim + 1, sizeof *r);
    for (size_t k = 0; k < ndim; ++k) {
        if (c[ndim - 1 - k] == 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "chunk sizes must be positive");
        r[k] = c[ndim - 1 - k];
    }
    return r;
}

/* An R double, integer or logical vector (or matrix, array) as a chunked array over its own
 * memory, without a copy: doubles are float64, integers int32 and logicals int32 too (R's
 * logical layout is the library's three-valued logical: 0, 1 and INT32_MIN for NA; the R
 * side marks the array as logical). NA is kept: NA_real_ is a NaN, NA_integer_ and NA
 * INT32_MIN. The R object is rooted until the library releases the memory, and marked
 * immutable so that R copies it on modification instead of writing under the library. */
dask_array *dk_vector_to_array(SEXP x, SEXP chunks) {
    size_t ndim = 0;
    const size_t *shape = lib_shape(x, &ndim);
    const size_t *ch = lib_chunks(chunks, ndim);
    R_xlen_t n = Rf_xlength(x);
    dask_value *v = NULL;
    const void *data;
    dask_dtype dt;
    switch (TYPEOF(x)) {
    case REALSXP: data = REAL(x); dt = DASK_FLOAT64; break;
    case INTSXP:
        if (Rf_inherits(x, "factor")) dk_fail(DASK_ERR_DTYPE, "factors are not numeric arrays");
        data = INTEGER(x);
        dt = DASK_INT32;
        break;
    case LGLSXP: data = LOGICAL(x); dt = DASK_INT32; break;
    default:
        dk_fail(DASK_ERR_DTYPE, "only double, integer and logical vectors, matrices and arrays convert to a dask_array");
    }
    size_t width = dt == DASK_FLOAT64 ? sizeof(double) : sizeof(int);
    MARK_NOT_MUTABLE(x);
    uint64_t id = dk_ref_new(x);
    dask_status st = dask_value_wrap_buffer(dt, ndim, shape, NULL, data, (size_t)n * width,
                                            dk_ref_release_cb, (void *)(uintptr_t)id, &v);
    dk_check(st);
    dask_array *a = NULL;
    st = dask_array_from_value(v, ch, &a);
    dask_value_free(v);
    dk_check(st);
    return a;
}

/* Element i (C order) of a strided view, as double. */
static double elem(const dask_buffer_view *v, size_t flat) {
    ptrdiff_t off = 0;
    for (size_t k = v->ndim; k-- > 0;) {
        size_t i = flat % v->shape[k];
        flat /= v->shape[k];
        off += (ptrdiff_t)i * v->strides[k];
    }
    const char *p = (const char *)v->data + off;
    switch (v->dtype) {
    case DASK_BOOL: return (double)*(const uint8_t *)p;
    case DASK_INT8: return (double)*(const int8_t *)p;
    case DASK_INT16: return (double)*(const int16_t *)p;
    case DASK_INT32: return (double)*(const int32_t *)p;
    case DASK_INT64: return (double)*(const int64_t *)p;
    case DASK_UINT8: return (double)*(const uint8_t *)p;
    case DASK_UINT16: return (double)*(const uint16_t *)p;
    case DASK_UINT32: return (double)*(const uint32_t *)p;
    case DASK_UINT64: return (double)*(const uint64_t *)p;
    case DASK_FLOAT32: return (double)*(const float *)p;
    default: return *(const double *)p;
    }
}

/* A buffer value as an R vector: float64 and the 64-bit and float32 types give doubles
 * (R has no 64-bit integers), bool gives logical, the small integer types integer; int32
 * gives logical when `logical` (a three-valued logical: R's own layout, NA included). The
 * dims are the reversed shape; 0-d and 1-d results are plain vectors. */
SEXP dk_buffer_to_r(const dask_value *value, bool logical) {
    dask_buffer_view v;
    dk_check(dask_value_buffer(value, &v, sizeof v));
    SEXPTYPE type;
    switch (v.dtype) {
    case DASK_BOOL: type = LGLSXP; break;
    case DASK_INT32: type = logical ? LGLSXP : INTSXP; break;
    case DASK_INT8: case DASK_INT16: case DASK_UINT8: case DASK_UINT16: type = INTSXP; break;
    default: type = REALSXP;
    }
    SEXP out = PROTECT(Rf_allocVector(type, (R_xlen_t)v.len));
    if (v.c_contiguous && v.dtype == DASK_FLOAT64) {
        if (v.len) memcpy(REAL(out), v.data, v.len * sizeof(double));
    } else if (v.c_contiguous && v.dtype == DASK_INT32) {
        if (v.len) memcpy(type == LGLSXP ? LOGICAL(out) : INTEGER(out), v.data, v.len * sizeof(int));
    } else {
        for (size_t i = 0; i < v.len; ++i) {
            double d = elem(&v, i);
            if (type == REALSXP) REAL(out)[i] = d;
            else if (type == LGLSXP) LOGICAL(out)[i] = v.dtype == DASK_INT32 ? (int)d : d != 0;
            else INTEGER(out)[i] = (int)d;
        }
    }
    if (v.ndim >= 2) {
        SEXP dim = PROTECT(Rf_allocVector(INTSXP, (R_xlen_t)v.ndim));
        for (size_t k = 0; k < v.ndim; ++k) {
            if (v.shape[v.ndim - 1 - k] > INT_MAX) dk_fail(DASK_ERR_SHAPE, "a dimension is too large for R");
            INTEGER(dim)[k] = (int)v.shape[v.ndim - 1 - k];
        }
        Rf_setAttrib(out, R_DimSymbol, dim);
        UNPROTECT(1);
    }
    UNPROTECT(1);
    return out;
}

/* Any value as an R object; opaque values are R objects the glue rooted (refs.c). */
SEXP dk_value_to_r(const dask_value *v) { return dk_value_to_r_as(v, false); }

/* The same, an int32 buffer as a logical vector when `logical`. */
SEXP dk_value_to_r_as(const dask_value *v, bool logical) {
    dask_value_kind kind = 0;
    dk_check(dask_value_get_kind(v, &kind));
    switch (kind) {
    case DASK_VALUE_NONE: return R_NilValue;
    case DASK_VALUE_BOOL: {
        int64_t x = 0;
        dk_check(dask_value_as_i64(v, &x));
        return Rf_ScalarLogical(x != 0);
    }
    case DASK_VALUE_INT: {
        int64_t x = 0;
        dk_check(dask_value_as_i64(v, &x));
        if (x > INT_MIN && x <= INT_MAX) return Rf_ScalarInteger((int)x);
        return Rf_ScalarReal((double)x);
    }
    case DASK_VALUE_FLOAT: {
        double x = 0;
        dk_check(dask_value_as_f64(v, &x));
        return Rf_ScalarReal(x);
    }
    case DASK_VALUE_STRING:
    case DASK_VALUE_BYTES: {
        const void *p = NULL;
        size_t n = 0;
        dk_check(dask_value_bytes(v, &p, &n));
        if (kind == DASK_VALUE_STRING)
            return Rf_ScalarString(Rf_mkCharLenCE(p, (int)n, CE_UTF8));
        SEXP r = PROTECT(Rf_allocVector(RAWSXP, (R_xlen_t)n));
        if (n) memcpy(RAW(r), p, n);
        UNPROTECT(1);
        return r;
    }
    case DASK_VALUE_BUFFER: return dk_buffer_to_r(v, logical);
    case DASK_VALUE_OPAQUE: {
        void *p = NULL;
        dk_check(dask_value_opaque(v, &p));
        return dk_ref_get((uint64_t)(uintptr_t)p);
    }
    default:
        dk_fail(DASK_ERR_NOT_IMPLEMENTED, "this kind of value has no R form");
    }
}

/* dk_value_to_r_as that frees the value afterwards, also when the conversion raises an R
 * error. */
typedef struct {
    dask_value *v;
    bool logical;
} convert_ctx;
static SEXP convert_body(void *p) {
    convert_ctx *c = p;
    return dk_value_to_r_as(c->v, c->logical);
}
static void convert_cleanup(void *p, Rboolean jump) {
    (void)jump;
    dask_value_free(((convert_ctx *)p)->v);
}
SEXP dk_value_to_r_free_as(dask_value *v, bool logical) {
    convert_ctx c = {v, logical};
    return R_UnwindProtect(convert_body, &c, convert_cleanup, &c, NULL);
}
SEXP dk_value_to_r_free(dask_value *v) { return dk_value_to_r_free_as(v, false); }
