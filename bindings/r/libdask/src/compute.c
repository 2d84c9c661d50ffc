/* Computing arrays into R objects. */
#include "glue.h"

/* The array's result as a library value (owned by the caller). The computation runs as one
 * future, waited on in slices so that Ctrl-C cancels it (wait.c). */
static dask_value *compute_value(dask_client *c, dask_array *x) {
    dask_future *f = NULL;
    dk_check(dask_array_submit(c, x, &f));
    dk_wait(f, true); /* frees f if interrupted */
    dask_value *v = NULL;
    dask_status st = dask_future_result(f, 0.0, &v);
    dask_future_free(f);
    dk_check(st);
    return v;
}

/* Whether x is a (single, in-memory) sparse array. */
bool dk_is_sparse(const dask_array *x) {
    dask_array_kind kind = 0;
    dk_check(dask_array_get_kind(x, &kind));
    return kind == DASK_ARRAY_SPARSE;
}

/* logical: the array is an R logical (int32, three-valued): the result is a logical vector. */
SEXP dk_compute(SEXP client, SEXP x, SEXP logical) {
    dk_drain();
    dask_client *c = dk_client(client);
    dask_array *a = dk_array(x);
    dask_value *v = NULL;
    if (dk_is_sparse(a)) {
        dk_check(dask_sparse_to_dense(a, &v));
    } else {
        v = compute_value(c, a);
    }
    return dk_value_to_r_free_as(v, Rf_asLogical(logical) == TRUE);
}

/* persist(): the blocks computed and kept in the client's memory. */
SEXP dk_persist(SEXP client, SEXP x) {
    dk_drain();
    dask_array *out = NULL;
    dk_check(dask_array_persist(dk_client(client), dk_array(x), &out));
    return dk_wrap(DK_ARRAY, out, R_NilValue);
}
