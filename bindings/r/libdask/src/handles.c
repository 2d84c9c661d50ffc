/* Library handles as classed R external pointers. The C finalizer (also run at exit) frees
 * the handle; close() frees it early and clears the pointer, after which any use is a
 * dask_error ("... was closed"), never a dangling pointer. */
#include "glue.h"

static const char *names[DK_KINDS] = {"dask_array", "dask_client", "dask_future", "dask_cluster",
                                      "dask_glm_model", "dask_table", "dask_expr"};
static double live[DK_KINDS];

static void free_handle(dk_kind kind, void *h) {
    switch (kind) {
    case DK_ARRAY: dask_array_free(h); break;
    case DK_CLIENT:
        dk_eventloop_remove(h);
        dask_client_free(h);
        break;
    case DK_FUTURE: dask_future_free(h); break;
    case DK_CLUSTER: dask_cluster_free(h); break;
    case DK_GLM: dask_glm_model_free(h); break;
    case DK_TABLE: dask_table_free(h); break;
    case DK_EXPR: dask_expr_free(h); break;
    }
    live[kind] -= 1;
}

static dk_kind kind_of(SEXP p) {
    SEXP tag = R_ExternalPtrTag(p);
    for (int k = 0; k < DK_KINDS; ++k)
        if (tag == Rf_install(names[k])) return (dk_kind)k;
    return (dk_kind)-1;
}

static void finalize(SEXP p) {
    void *h = R_ExternalPtrAddr(p);
    if (!h) return;
    R_ClearExternalPtr(p);
    free_handle(kind_of(p), h);
}

SEXP dk_wrap(dk_kind kind, void *handle, SEXP prot) {
    SEXP p = PROTECT(R_MakeExternalPtr(handle, Rf_install(names[kind]), prot));
    R_RegisterCFinalizerEx(p, finalize, TRUE);
    live[kind] += 1;
    Rf_setAttrib(p, R_ClassSymbol, Rf_mkString(names[kind]));
    UNPROTECT(1);
    return p;
}

void *dk_get(SEXP x, dk_kind kind) {
    if (TYPEOF(x) != EXTPTRSXP || R_ExternalPtrTag(x) != Rf_install(names[kind])) {
        char msg[96];
        snprintf(msg, sizeof msg, "expected a %s", names[kind]);
        dk_fail(DASK_ERR_INVALID_ARGUMENT, msg);
    }
    void *h = R_ExternalPtrAddr(x);
    if (!h) {
        char msg[96];
        snprintf(msg, sizeof msg, "this %s was closed", names[kind]);
        dk_fail(DASK_ERR_INVALID_HANDLE, msg);
    }
    return h;
}

dask_array *dk_array(SEXP x) { return dk_get(x, DK_ARRAY); }
dask_client *dk_client(SEXP x) { return dk_get(x, DK_CLIENT); }
dask_future *dk_future(SEXP x) { return dk_get(x, DK_FUTURE); }
dask_cluster *dk_cluster(SEXP x) { return dk_get(x, DK_CLUSTER); }
dask_glm_model *dk_glm(SEXP x) { return dk_get(x, DK_GLM); }
double dk_live(dk_kind kind) { return live[kind]; }

/* close(x) for any handle: frees it now; closing twice is harmless. */
SEXP dk_close(SEXP x) {
    dk_drain();
    if (TYPEOF(x) != EXTPTRSXP) dk_fail(DASK_ERR_INVALID_ARGUMENT, "not a libdask handle");
    dk_kind k = kind_of(x);
    if ((int)k < 0) dk_fail(DASK_ERR_INVALID_ARGUMENT, "not a libdask handle");
    void *h = R_ExternalPtrAddr(x);
    if (h) {
        R_ClearExternalPtr(x);
        free_handle(k, h);
    }
    dk_drain();
    return R_NilValue;
}

SEXP dk_is_closed(SEXP x) {
    return Rf_ScalarLogical(TYPEOF(x) == EXTPTRSXP && R_ExternalPtrAddr(x) == NULL);
}

/* Live handles per kind and rooted R objects: for the leak tests. */
SEXP dk_live_counts(void) {
    dk_drain();
    static const dk_kind counted[] = {DK_ARRAY, DK_CLIENT, DK_FUTURE, DK_GLM};
    const int n = (int)(sizeof counted / sizeof counted[0]);
    SEXP out = PROTECT(Rf_allocVector(REALSXP, n + 1));
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, n + 1));
    for (int k = 0; k < n; ++k) {
        REAL(out)[k] = live[counted[k]];
        SET_STRING_ELT(nm, k, Rf_mkChar(names[counted[k]] + 5));
    }
    REAL(out)[n] = (double)dk_ref_live();
    SET_STRING_ELT(nm, n, Rf_mkChar("r_objects"));
    Rf_setAttrib(out, R_NamesSymbol, nm);
    UNPROTECT(2);
    return out;
}
