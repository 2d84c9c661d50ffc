/* Making arrays and reading their properties. */
#include "glue.h"

SEXP dk_from_r(SEXP x, SEXP chunks) {
    dk_drain();
    dask_array *a = dk_vector_to_array(x, chunks);
    return dk_wrap(DK_ARRAY, a, R_NilValue);
}

/* shape and chunks arrive in the library's order (R reverses them). */
static const size_t *opt_sizes(SEXP x, size_t ndim) {
    if (Rf_isNull(x)) return NULL;
    size_t n = 0;
    const size_t *s = dk_sizes(x, &n);
    if (n != ndim) dk_fail(DASK_ERR_INVALID_ARGUMENT, "chunks must have one entry per dimension");
    return s;
}

/* kind: 0 uniform(a, b), 1 normal(a = mean, b = sd), 2 full(a) of dtype. */
SEXP dk_make(SEXP kind, SEXP shape, SEXP chunks, SEXP seed, SEXP a, SEXP b, SEXP dtype) {
    dk_drain();
    size_t ndim = 0;
    const size_t *s = dk_sizes(shape, &ndim);
    const size_t *ch = opt_sizes(chunks, ndim);
    dask_array *out = NULL;
    uint64_t sd = (uint64_t)Rf_asReal(seed);
    switch (Rf_asInteger(kind)) {
    case 0: dk_check(dask_array_random_uniform(sd, Rf_asReal(a), Rf_asReal(b), ndim, s, ch, &out)); break;
    case 1: dk_check(dask_array_random_normal(sd, Rf_asReal(a), Rf_asReal(b), ndim, s, ch, &out)); break;
    default:
        dk_check(dask_array_full((dask_dtype)Rf_asInteger(dtype), ndim, s, ch, Rf_asReal(a), &out));
    }
    return dk_wrap(DK_ARRAY, out, R_NilValue);
}

/* list(shape, dtype, chunks (list per axis), tasks, sparse, nnz, fill) in the library's order;
 * fill is the fill value of a sparse array (NA for a dense one). */
/* What dk_info and dk_meta both report: shape (R_alloc'ed), dtype, sparseness and fill. */
typedef struct {
    size_t ndim;
    size_t *shape;
    dask_dtype dt;
    bool sparse;
    double fill;
} dk_basics;

static dk_basics dk_read_basics(const dask_array *a) {
    dk_basics b = {0, NULL, 0, false, NA_REAL};
    dk_check(dask_array_ndim(a, &b.ndim));
    b.shape = (size_t *)R_alloc(b.ndim + 1, sizeof *b.shape);
    dk_check(dask_array_shape(a, b.shape));
    dk_check(dask_array_dtype(a, &b.dt));
    b.sparse = dk_is_sparse(a);
    if (b.sparse) dk_check(dask_sparse_fill_value(a, &b.fill));
    return b;
}

SEXP dk_info(SEXP x) {
    dk_drain();
    dask_array *a = dk_array(x);
    dk_basics b = dk_read_basics(a);
    size_t ndim = b.ndim, *shape = b.shape;
    dask_dtype dt = b.dt;
    bool sparse = b.sparse;
    double fill = b.fill;
    size_t nnz = 0;
    if (sparse) dk_check(dask_sparse_info(a, &nnz, NULL, NULL));

    SEXP out = PROTECT(Rf_allocVector(VECSXP, 7));
    SEXP sh = PROTECT(Rf_allocVector(REALSXP, (R_xlen_t)ndim));
    for (size_t k = 0; k < ndim; ++k) REAL(sh)[k] = (double)shape[k];
    SET_VECTOR_ELT(out, 0, sh);
    SET_VECTOR_ELT(out, 1, Rf_ScalarInteger((int)dt));
    SEXP chunks = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)ndim));
    SEXP tasks = PROTECT(Rf_ScalarReal(NA_REAL));
    if (!sparse) {
        for (size_t k = 0; k < ndim; ++k) {
            size_t count = 0;
            dk_check(dask_array_chunks(a, k, NULL, 0, &count));
            size_t *sizes = (size_t *)R_alloc(count + 1, sizeof *sizes);
            dk_check(dask_array_chunks(a, k, sizes, count, &count));
            SEXP c = Rf_allocVector(REALSXP, (R_xlen_t)count);
            SET_VECTOR_ELT(chunks, (R_xlen_t)k, c);
            for (size_t i = 0; i < count; ++i) REAL(c)[i] = (double)sizes[i];
        }
        size_t t = 0;
        if (dask_array_task_count(a, &t) == DASK_OK) REAL(tasks)[0] = (double)t;
    }
    SET_VECTOR_ELT(out, 2, chunks);
    SET_VECTOR_ELT(out, 3, tasks);
    SET_VECTOR_ELT(out, 4, Rf_ScalarLogical(sparse));
    SET_VECTOR_ELT(out, 5, Rf_ScalarReal((double)nnz));
    SET_VECTOR_ELT(out, 6, Rf_ScalarReal(fill));
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, 7));
    const char *names[] = {"shape", "dtype", "chunks", "tasks", "sparse", "nnz", "fill"};
    for (int i = 0; i < 7; ++i) SET_STRING_ELT(nm, i, Rf_mkChar(names[i]));
    Rf_setAttrib(out, R_NamesSymbol, nm);
    UNPROTECT(5);
    return out;
}

/* list(shape, dtype, sparse, fill): what operations need to know, cheaply (dk_info also
 * counts the tasks of the optimised graph, which costs a walk of the whole graph). */
SEXP dk_meta(SEXP x) {
    dk_drain();
    dk_basics b = dk_read_basics(dk_array(x));
    size_t ndim = b.ndim, *shape = b.shape;
    dask_dtype dt = b.dt;
    bool sparse = b.sparse;
    double fill = b.fill;
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 4));
    SEXP sh = Rf_allocVector(REALSXP, (R_xlen_t)ndim);
    SET_VECTOR_ELT(out, 0, sh);
    for (size_t k = 0; k < ndim; ++k) REAL(sh)[k] = (double)shape[k];
    SET_VECTOR_ELT(out, 1, Rf_ScalarInteger((int)dt));
    SET_VECTOR_ELT(out, 2, Rf_ScalarLogical(sparse));
    SET_VECTOR_ELT(out, 3, Rf_ScalarReal(fill));
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, 4));
    const char *names[] = {"shape", "dtype", "sparse", "fill"};
    for (int i = 0; i < 4; ++i) SET_STRING_ELT(nm, i, Rf_mkChar(names[i]));
    Rf_setAttrib(out, R_NamesSymbol, nm);
    UNPROTECT(2);
    return out;
}
