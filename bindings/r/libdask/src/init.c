/* Registers the .Call routines; symbols are not looked up dynamically (R_useDynamicSymbols
 * FALSE) and R code must name them through their objects (R_forceSymbols TRUE: C_dk_*). */
#include "glue.h"

#include <R_ext/Rdynload.h>

SEXP dk_close(SEXP);
SEXP dk_is_closed(SEXP);
SEXP dk_live_counts(void);
SEXP dk_version(void);
SEXP dk_compute(SEXP, SEXP, SEXP);
SEXP dk_persist(SEXP, SEXP);
SEXP dk_from_r(SEXP, SEXP);
SEXP dk_make(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_info(SEXP);
SEXP dk_meta(SEXP);
SEXP dk_ufunc(SEXP, SEXP);
SEXP dk_reduce(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_arg_reduce(SEXP, SEXP);
SEXP dk_accumulate(SEXP, SEXP, SEXP);
SEXP dk_where(SEXP, SEXP, SEXP);
SEXP dk_set_where(SEXP, SEXP, SEXP);
SEXP dk_select(SEXP, SEXP, SEXP);
SEXP dk_astype(SEXP, SEXP);
SEXP dk_matmul(SEXP, SEXP);
SEXP dk_transpose(SEXP, SEXP);
SEXP dk_slice(SEXP, SEXP);
SEXP dk_take(SEXP, SEXP, SEXP);
SEXP dk_reshape(SEXP, SEXP);
SEXP dk_rechunk(SEXP, SEXP);
SEXP dk_join(SEXP, SEXP, SEXP);
SEXP dk_client_new(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_client_default(void);
SEXP dk_cluster_local(SEXP, SEXP, SEXP, SEXP);
SEXP dk_cluster_info(SEXP);
SEXP dk_cluster_kill(SEXP, SEXP);
SEXP dk_cluster_slurm(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_cluster_wait(SEXP, SEXP, SEXP);
SEXP dk_cluster_adapt(SEXP);
SEXP dk_publish(SEXP, SEXP, SEXP);
SEXP dk_get_dataset(SEXP, SEXP);
SEXP dk_list_datasets(SEXP);
SEXP dk_unpublish(SEXP, SEXP);
SEXP dk_client_threads(SEXP);
SEXP dk_submit(SEXP, SEXP, SEXP);
SEXP dk_future_value(SEXP);
SEXP dk_future_resolved(SEXP);
SEXP dk_future_status(SEXP);
SEXP dk_future_cancel(SEXP);
SEXP dk_sparse_from_csc(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_sparse_from_triplets(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_sparse_export(SEXP, SEXP, SEXP);
SEXP dk_binding_name(SEXP, SEXP);
SEXP dk_glm_fit(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_glm_info(SEXP);
SEXP dk_glm_predict(SEXP, SEXP, SEXP);
SEXP dk_glm_score(SEXP, SEXP, SEXP, SEXP);
SEXP dk_read_parquet(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_read_csv(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_table_write_csv(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_table_info(SEXP);
SEXP dk_table_select(SEXP, SEXP);
SEXP dk_table_filter(SEXP, SEXP);
SEXP dk_table_aggregate(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_table_head(SEXP, SEXP, SEXP);
SEXP dk_table_sort(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_table_write_parquet(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP dk_table_collect(SEXP, SEXP);
SEXP dk_expr_column(SEXP);
SEXP dk_expr_literal(SEXP);
SEXP dk_expr_binary(SEXP, SEXP, SEXP);
SEXP dk_expr_unary(SEXP, SEXP);
SEXP dk_expr_isin(SEXP, SEXP);
SEXP dk_expr_text(SEXP);

SEXP dk_version(void) {
    SEXP v = PROTECT(Rf_allocVector(STRSXP, 2));
    SET_STRING_ELT(v, 0, Rf_mkChar(dask_version()));
    char abi[16];
    snprintf(abi, sizeof abi, "%u", (unsigned)dask_abi_version());
    SET_STRING_ELT(v, 1, Rf_mkChar(abi));
    UNPROTECT(1);
    return v;
}

static const R_CallMethodDef calls[] = {
    {"dk_close", (DL_FUNC)&dk_close, 1},
    {"dk_is_closed", (DL_FUNC)&dk_is_closed, 1},
    {"dk_live_counts", (DL_FUNC)&dk_live_counts, 0},
    {"dk_version", (DL_FUNC)&dk_version, 0},
    {"dk_compute", (DL_FUNC)&dk_compute, 3},
    {"dk_persist", (DL_FUNC)&dk_persist, 2},
    {"dk_from_r", (DL_FUNC)&dk_from_r, 2},
    {"dk_make", (DL_FUNC)&dk_make, 7},
    {"dk_info", (DL_FUNC)&dk_info, 1},
    {"dk_meta", (DL_FUNC)&dk_meta, 1},
    {"dk_ufunc", (DL_FUNC)&dk_ufunc, 2},
    {"dk_reduce", (DL_FUNC)&dk_reduce, 5},
    {"dk_arg_reduce", (DL_FUNC)&dk_arg_reduce, 2},
    {"dk_accumulate", (DL_FUNC)&dk_accumulate, 3},
    {"dk_where", (DL_FUNC)&dk_where, 3},
    {"dk_set_where", (DL_FUNC)&dk_set_where, 3},
    {"dk_select", (DL_FUNC)&dk_select, 3},
    {"dk_astype", (DL_FUNC)&dk_astype, 2},
    {"dk_matmul", (DL_FUNC)&dk_matmul, 2},
    {"dk_transpose", (DL_FUNC)&dk_transpose, 2},
    {"dk_slice", (DL_FUNC)&dk_slice, 2},
    {"dk_take", (DL_FUNC)&dk_take, 3},
    {"dk_reshape", (DL_FUNC)&dk_reshape, 2},
    {"dk_rechunk", (DL_FUNC)&dk_rechunk, 2},
    {"dk_join", (DL_FUNC)&dk_join, 3},
    {"dk_client_new", (DL_FUNC)&dk_client_new, 7},
    {"dk_client_default", (DL_FUNC)&dk_client_default, 0},
    {"dk_cluster_local", (DL_FUNC)&dk_cluster_local, 4},
    {"dk_cluster_info", (DL_FUNC)&dk_cluster_info, 1},
    {"dk_cluster_kill", (DL_FUNC)&dk_cluster_kill, 2},
    {"dk_cluster_slurm", (DL_FUNC)&dk_cluster_slurm, 8},
    {"dk_cluster_wait", (DL_FUNC)&dk_cluster_wait, 3},
    {"dk_cluster_adapt", (DL_FUNC)&dk_cluster_adapt, 1},
    {"dk_publish", (DL_FUNC)&dk_publish, 3},
    {"dk_get_dataset", (DL_FUNC)&dk_get_dataset, 2},
    {"dk_list_datasets", (DL_FUNC)&dk_list_datasets, 1},
    {"dk_unpublish", (DL_FUNC)&dk_unpublish, 2},
    {"dk_client_threads", (DL_FUNC)&dk_client_threads, 1},
    {"dk_submit", (DL_FUNC)&dk_submit, 3},
    {"dk_future_value", (DL_FUNC)&dk_future_value, 1},
    {"dk_future_resolved", (DL_FUNC)&dk_future_resolved, 1},
    {"dk_future_status", (DL_FUNC)&dk_future_status, 1},
    {"dk_future_cancel", (DL_FUNC)&dk_future_cancel, 1},
    {"dk_sparse_from_csc", (DL_FUNC)&dk_sparse_from_csc, 5},
    {"dk_sparse_from_triplets", (DL_FUNC)&dk_sparse_from_triplets, 5},
    {"dk_sparse_export", (DL_FUNC)&dk_sparse_export, 3},
    {"dk_binding_name", (DL_FUNC)&dk_binding_name, 2},
    {"dk_glm_fit", (DL_FUNC)&dk_glm_fit, 5},
    {"dk_glm_info", (DL_FUNC)&dk_glm_info, 1},
    {"dk_glm_predict", (DL_FUNC)&dk_glm_predict, 3},
    {"dk_glm_score", (DL_FUNC)&dk_glm_score, 4},
    {"dk_read_parquet", (DL_FUNC)&dk_read_parquet, 5},
    {"dk_read_csv", (DL_FUNC)&dk_read_csv, 12},
    {"dk_table_write_csv", (DL_FUNC)&dk_table_write_csv, 5},
    {"dk_table_info", (DL_FUNC)&dk_table_info, 1},
    {"dk_table_select", (DL_FUNC)&dk_table_select, 2},
    {"dk_table_filter", (DL_FUNC)&dk_table_filter, 2},
    {"dk_table_aggregate", (DL_FUNC)&dk_table_aggregate, 7},
    {"dk_table_head", (DL_FUNC)&dk_table_head, 3},
    {"dk_table_sort", (DL_FUNC)&dk_table_sort, 5},
    {"dk_table_write_parquet", (DL_FUNC)&dk_table_write_parquet, 6},
    {"dk_table_collect", (DL_FUNC)&dk_table_collect, 2},
    {"dk_expr_column", (DL_FUNC)&dk_expr_column, 1},
    {"dk_expr_literal", (DL_FUNC)&dk_expr_literal, 1},
    {"dk_expr_binary", (DL_FUNC)&dk_expr_binary, 3},
    {"dk_expr_unary", (DL_FUNC)&dk_expr_unary, 2},
    {"dk_expr_isin", (DL_FUNC)&dk_expr_isin, 2},
    {"dk_expr_text", (DL_FUNC)&dk_expr_text, 1},
    {NULL, NULL, 0}};

void R_init_libdask(DllInfo *dll) {
    R_registerRoutines(dll, NULL, calls, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
}
