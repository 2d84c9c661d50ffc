/* Generalized linear models: dask_glm_fit and the fitted model's numbers and predictions.
 * R/glm.R turns R's arguments (family objects, factors, NA handling, names) into the
 * library's; every number is the library's. Models are external pointers of kind DK_GLM
 * (handles.c), freed by their finalizer or close(). Arrays cross in the library's layout:
 * X is n x p there (R passes its n x p matrix transposed, which is no copy: convert.c). */
#include "glue.h"

#include <string.h>

/* The element `name` of the R list `params`, or R_NilValue. */
static SEXP param(SEXP params, const char *name) {
    SEXP nm = Rf_getAttrib(params, R_NamesSymbol);
    for (R_xlen_t i = 0; i < Rf_xlength(params); ++i)
        if (strcmp(CHAR(STRING_ELT(nm, i)), name) == 0) return VECTOR_ELT(params, i);
    return R_NilValue;
}

/* A string parameter (NULL: the library's default). The characters belong to `params`,
 * which the .Call keeps alive for the whole fit. */
static const char *param_string(SEXP params, const char *name) {
    SEXP v = param(params, name);
    if (Rf_isNull(v)) return NULL;
    if (TYPEOF(v) != STRSXP || Rf_xlength(v) != 1 || STRING_ELT(v, 0) == NA_STRING)
        dk_fail(DASK_ERR_INVALID_ARGUMENT, "a GLM option that must be a string is not one");
    return CHAR(STRING_ELT(v, 0));
}

/* A number parameter, or `dflt` when absent. */
static double param_number(SEXP params, const char *name, double dflt) {
    SEXP v = param(params, name);
    if (Rf_isNull(v)) return dflt;
    if (!Rf_isNumeric(v) && !Rf_isLogical(v)) dk_fail(DASK_ERR_INVALID_ARGUMENT, "a GLM option that must be a number is not one");
    return Rf_asReal(v);
}

/* params: a named list (family, penalty, solver, C, lambda, l1_ratio, tol, max_iter,
 * intercept); absent entries keep the library's defaults. x is the library's n x p, y and
 * w (or NULL) n. Blocks until fitted. */
SEXP dk_glm_fit(SEXP client, SEXP params, SEXP x, SEXP y, SEXP w) {
    dk_drain();
    dask_client *c = dk_client(client);
    dask_array *xa = dk_array(x), *ya = dk_array(y);
    dask_array *wa = Rf_isNull(w) ? NULL : dk_array(w);
    dask_glm_params p;
    dk_check(dask_glm_params_init(&p, sizeof p));
    p.family = param_string(params, "family");
    p.penalty = param_string(params, "penalty");
    p.solver = param_string(params, "solver");
    p.C = param_number(params, "C", p.C);
    p.lambda = param_number(params, "lambda", p.lambda);
    p.l1_ratio = param_number(params, "l1_ratio", p.l1_ratio);
    p.tol = param_number(params, "tol", p.tol);
    double max_iter = param_number(params, "max_iter", (double)p.max_iter);
    if (!(max_iter >= 1 && max_iter <= 4294967295.0))
        dk_fail(DASK_ERR_INVALID_ARGUMENT, "maxit must be a whole number of at least 1");
    p.max_iter = (uint32_t)max_iter;
    p.fit_intercept = param_number(params, "intercept", 1) != 0;
    dask_glm_model *m = NULL;
    dk_check(dask_glm_fit(c, &p, xa, ya, wa, &m));
    SEXP out = dk_wrap(DK_GLM, m, R_NilValue);
    PROTECT(out);
    dk_drain();
    UNPROTECT(1);
    return out;
}

/* Everything the model knows, as list(n_features, n_classes, classes, coef, intercept,
 * converged, n_iter, passes, objective, kkt_residual). coef is an R matrix n_features x rows
 * (the library's row-major rows x n_features, column k the coefficients of row k: one row
 * for a regression or a binary classifier, one per class for a multinomial one); classes
 * is NULL for a regression. */
SEXP dk_glm_info(SEXP model) {
    dk_drain();
    dask_glm_model *m = dk_glm(model);
    size_t p = 0, k = 0;
    dk_check(dask_glm_n_features(m, &p));
    dk_check(dask_glm_n_classes(m, &k));
    size_t rows = k > 2 ? k : 1;
    if (p > INT_MAX || rows > INT_MAX) dk_fail(DASK_ERR_SHAPE, "too many coefficients for R");
    dask_glm_info info;
    dk_check(dask_glm_fit_info(m, &info, sizeof info));

    const char *names[] = {"n_features", "n_classes", "classes", "coef", "intercept",
                           "converged", "n_iter", "passes", "objective", "kkt_residual"};
    const int n_out = (int)(sizeof names / sizeof names[0]);
    SEXP out = PROTECT(Rf_allocVector(VECSXP, n_out));
    SET_VECTOR_ELT(out, 0, Rf_ScalarReal((double)p));
    SET_VECTOR_ELT(out, 1, Rf_ScalarReal((double)k));
    if (k > 0) {
        SEXP cl = Rf_allocVector(REALSXP, (R_xlen_t)k);
        SET_VECTOR_ELT(out, 2, cl);
        dk_check(dask_glm_classes(m, REAL(cl), k));
    }
    SEXP coef = Rf_allocMatrix(REALSXP, (int)p, (int)rows);
    SET_VECTOR_ELT(out, 3, coef);
    SEXP icpt = Rf_allocVector(REALSXP, (R_xlen_t)rows);
    SET_VECTOR_ELT(out, 4, icpt);
    dk_check(dask_glm_coef(m, REAL(coef), p * rows, REAL(icpt)));
    SET_VECTOR_ELT(out, 5, Rf_ScalarLogical(info.converged != 0));
    SET_VECTOR_ELT(out, 6, Rf_ScalarReal((double)info.n_iter));
    SET_VECTOR_ELT(out, 7, Rf_ScalarReal((double)info.passes));
    SET_VECTOR_ELT(out, 8, Rf_ScalarReal(info.objective));
    SET_VECTOR_ELT(out, 9, Rf_ScalarReal(info.kkt_residual));
    SEXP nm = PROTECT(Rf_allocVector(STRSXP, n_out));
    for (int i = 0; i < n_out; ++i) SET_STRING_ELT(nm, i, Rf_mkChar(names[i]));
    Rf_setAttrib(out, R_NamesSymbol, nm);
    UNPROTECT(2);
    return out;
}

/* kind: DASK_GLM_PREDICT (0), DASK_GLM_PREDICT_PROBA (1) or DASK_GLM_DECISION_FUNCTION
 * (2); x is the library's n x p. A lazy array (n, or n x columns in the library's order). */
SEXP dk_glm_predict(SEXP model, SEXP kind, SEXP x) {
    dk_drain();
    dask_glm_model *m = dk_glm(model);
    dask_array *xa = dk_array(x);
    dask_array *out = NULL;
    dk_check(dask_glm_predict(m, (dask_glm_predict_kind)Rf_asInteger(kind), xa, &out));
    return dk_wrap(DK_ARRAY, out, R_NilValue);
}

/* Accuracy (classifiers), R^2 (gaussian) or D^2 (poisson) on (x, y), computed on client. */
SEXP dk_glm_score(SEXP client, SEXP model, SEXP x, SEXP y) {
    dk_drain();
    dask_client *c = dk_client(client);
    dask_glm_model *m = dk_glm(model);
    dask_array *xa = dk_array(x), *ya = dk_array(y);
    double s = NA_REAL;
    dk_check(dask_glm_score(c, m, xa, ya, &s));
    dk_drain();
    return Rf_ScalarReal(s);
}
