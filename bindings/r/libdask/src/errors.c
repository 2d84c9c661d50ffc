/* Non-OK statuses become R conditions of class `dask_error`. The condition is built in R
 * (libdask:::.dask_raise), which also finds the user-facing call to report. */
#include "glue.h"

#include <string.h>

SEXP dk_namespace(void) {
    static SEXP ns = NULL;
    if (ns == NULL) {
        SEXP name = PROTECT(Rf_mkString("libdask"));
        ns = R_FindNamespace(name); /* namespaces are never collected while loaded */
        R_PreserveObject(ns);
        UNPROTECT(1);
    }
    return ns;
}

void NORET dk_fail(dask_status st, const char *message) {
    SEXP msg = PROTECT(Rf_mkString(message ? message : ""));
    SEXP status = PROTECT(Rf_mkString(dask_status_name(st)));
    SEXP call = PROTECT(Rf_lang3(Rf_install(".dask_raise"), msg, status));
    Rf_eval(call, dk_namespace());
    UNPROTECT(3);
    Rf_error("%s", message); /* not reached: .dask_raise always signals */
}

void dk_check(dask_status st) {
    if (st == DASK_OK) return;
    /* Copied: evaluating R code may call the library and overwrite the thread's message. */
    const char *m = dask_last_error_message();
    size_t n = strlen(m);
    char *copy = R_alloc(n + 1, 1);
    memcpy(copy, m, n + 1);
    dk_fail(st, copy);
}

/* The name of a variable bound to `obj` itself (the same R object) in frame `env` or its
 * enclosures up to the global environment, or NULL. Promises are looked into only when
 * already forced, and active bindings not at all: naming must never evaluate anything. */
SEXP dk_binding_name(SEXP env, SEXP obj) {
    for (; TYPEOF(env) == ENVSXP && env != R_EmptyEnv; env = ENCLOS(env)) {
        SEXP names = PROTECT(R_lsInternal3(env, TRUE, TRUE));
        for (R_xlen_t i = 0; i < Rf_xlength(names); ++i) {
            SEXP sym = Rf_installChar(STRING_ELT(names, i));
            if (R_BindingIsActive(sym, env)) continue;
            SEXP v = Rf_findVarInFrame3(env, sym, TRUE);
            if (TYPEOF(v) == PROMSXP) v = PRVALUE(v);
            if (v == obj) {
                SEXP out = Rf_ScalarString(STRING_ELT(names, i));
                UNPROTECT(1);
                return out;
            }
        }
        UNPROTECT(1);
        if (env == R_GlobalEnv) break;
    }
    return R_NilValue;
}
