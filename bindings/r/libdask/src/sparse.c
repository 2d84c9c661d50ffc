/* The Matrix package's sparse matrices and the library's sparse (COO) arrays. An R matrix
 * (m x n) is the library's (n x m): the columns of a dgCMatrix (CSC) are the library
 * matrix's rows, so its p/i/x are exactly the library's CSR, with no transposition. */
#include "glue.h"

#include <string.h>

static size_t *size_ts(SEXP x) { /* R integer vector (0-based indices) -> size_t */
    R_xlen_t n = Rf_xlength(x);
    size_t *out = (size_t *)R_alloc((size_t)n + 1, sizeof *out);
    for (R_xlen_t i = 0; i < n; ++i) {
        if (INTEGER(x)[i] < 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "negative sparse index");
        out[i] = (size_t)INTEGER(x)[i];
    }
    return out;
}

static dask_value *copy_values(SEXP x) {
    size_t n = (size_t)Rf_xlength(x);
    dask_value *v = NULL;
    dk_check(dask_value_copy_buffer(DASK_FLOAT64, 1, &n, REAL(x), &v));
    return v;
}

/* p, i: integer; x: double; nrow, ncol: R's dims. */
SEXP dk_sparse_from_csc(SEXP p, SEXP i, SEXP x, SEXP nrow, SEXP ncol) {
    dk_drain();
    size_t m = (size_t)Rf_asInteger(nrow), n = (size_t)Rf_asInteger(ncol);
    if ((size_t)Rf_xlength(p) != n + 1 || Rf_xlength(i) != Rf_xlength(x))
        dk_fail(DASK_ERR_SHAPE, "inconsistent dgCMatrix slots");
    const size_t *pp = size_ts(p), *ii = size_ts(i);
    dask_value *data = copy_values(x);
    dask_array *out = NULL;
    dask_status st = dask_sparse_from_compressed(n, m, false, pp, ii, data, &out);
    dask_value_free(data);
    dk_check(st);
    return dk_wrap(DK_ARRAY, out, R_NilValue);
}

/* i, j: 0-based R row and column indices (duplicates are summed, as Matrix does). */
SEXP dk_sparse_from_triplets(SEXP i, SEXP j, SEXP x, SEXP nrow, SEXP ncol) {
    dk_drain();
    size_t nnz = (size_t)Rf_xlength(x);
    if ((size_t)Rf_xlength(i) != nnz || (size_t)Rf_xlength(j) != nnz) dk_fail(DASK_ERR_SHAPE, "inconsistent triplets");
    uint64_t *coords = (uint64_t *)R_alloc(2 * nnz + 1, sizeof *coords);
    for (size_t k = 0; k < nnz; ++k) {
        if (INTEGER(i)[k] < 0 || INTEGER(j)[k] < 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "negative sparse index");
        coords[k] = (uint64_t)INTEGER(j)[k];       /* library axis 0: R's columns */
        coords[nnz + k] = (uint64_t)INTEGER(i)[k]; /* library axis 1: R's rows */
    }
    size_t shape[2] = {(size_t)Rf_asInteger(ncol), (size_t)Rf_asInteger(nrow)};
    dask_value *data = copy_values(x);
    dask_array *out = NULL;
    dask_status st = dask_sparse_from_triplets(2, shape, coords, data, 0.0, &out);
    dask_value_free(data);
    dk_check(st);
    return dk_wrap(DK_ARRAY, out, R_NilValue);
}

/* A sparse array, or a chunked array computed into one (its blocks made sparse first). */
static dask_array *as_sparse(SEXP client, dask_array *x, bool *owned) {
    *owned = false;
    if (dk_is_sparse(x)) return x;
    dask_array *blocks = NULL, *out = NULL;
    dk_check(dask_array_to_sparse(x, 0.0, &blocks));
    dask_status st = dask_array_compute_sparse(dk_client(client), blocks, &out);
    dask_array_free(blocks);
    dk_check(st);
    *owned = true;
    return out;
}

/* list(p, i, x, dim) of the dgCMatrix (or, when `triplets`, list(i, j, x, dim)). */
SEXP dk_sparse_export(SEXP client, SEXP x, SEXP triplets) {
    dk_drain();
    bool owned = false;
    dask_array *s = as_sparse(client, dk_array(x), &owned);
    /* Wrapped at once so that an R error below cannot leak it. */
    PROTECT(owned ? dk_wrap(DK_ARRAY, s, R_NilValue) : x);
    size_t ndim = 0, nnz = 0, shape[2];
    dk_check(dask_array_ndim(s, &ndim));
    if (ndim != 2) dk_fail(DASK_ERR_SHAPE, "only 2-d sparse arrays convert to a Matrix sparse matrix");
    dk_check(dask_array_shape(s, shape));
    double fill = 0;
    dk_check(dask_sparse_fill_value(s, &fill));
    if (fill != 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "only sparse arrays with fill value 0 convert to Matrix");
    dk_check(dask_sparse_info(s, &nnz, NULL, NULL));
    if (shape[0] > INT_MAX || shape[1] > INT_MAX || nnz > INT_MAX) dk_fail(DASK_ERR_SHAPE, "too large for the Matrix package");

    SEXP out = PROTECT(Rf_allocVector(VECSXP, 4));
    SEXP dim = PROTECT(Rf_allocVector(INTSXP, 2));
    INTEGER(dim)[0] = (int)shape[1];
    INTEGER(dim)[1] = (int)shape[0];
    SET_VECTOR_ELT(out, 3, dim);
    dask_value *data = NULL;
    if (Rf_asLogical(triplets) == TRUE) {
        uint64_t *coords = (uint64_t *)R_alloc(2 * nnz + 1, sizeof *coords);
        dk_check(dask_sparse_coords(s, coords));
        SEXP ri = Rf_allocVector(INTSXP, (R_xlen_t)nnz);
        SET_VECTOR_ELT(out, 0, ri);
        SEXP rj = Rf_allocVector(INTSXP, (R_xlen_t)nnz);
        SET_VECTOR_ELT(out, 1, rj);
        for (size_t k = 0; k < nnz; ++k) {
            INTEGER(ri)[k] = (int)coords[nnz + k];
            INTEGER(rj)[k] = (int)coords[k];
        }
        dk_check(dask_sparse_data(s, &data));
    } else {
        size_t *indptr = (size_t *)R_alloc(shape[0] + 1, sizeof *indptr);
        size_t *indices = (size_t *)R_alloc(nnz + 1, sizeof *indices);
        dk_check(dask_sparse_to_compressed(s, false, indptr, indices, &data));
        SEXP rp = Rf_allocVector(INTSXP, (R_xlen_t)shape[0] + 1);
        SET_VECTOR_ELT(out, 0, rp);
        SEXP ri = Rf_allocVector(INTSXP, (R_xlen_t)nnz);
        SET_VECTOR_ELT(out, 1, ri);
        for (size_t k = 0; k <= shape[0]; ++k) INTEGER(rp)[k] = (int)indptr[k];
        for (size_t k = 0; k < nnz; ++k) INTEGER(ri)[k] = (int)indices[k];
    }
    SET_VECTOR_ELT(out, 2, dk_value_to_r_free(data));
    UNPROTECT(3);
    return out;
}
