/* Distributed mode: a local cluster (scheduler and worker processes) and named datasets. */
#include "glue.h"

SEXP dk_cluster_local(SEXP n_workers, SEXP threads, SEXP memory_limit, SEXP tls) {
    dk_drain();
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.memory_limit = (uint64_t)Rf_asReal(memory_limit);
    cfg.require_encryption = Rf_asLogical(tls) == 1;
    dask_cluster *c = NULL;
    dk_check(dask_cluster_local((size_t)Rf_asInteger(n_workers), (size_t)Rf_asInteger(threads), &cfg, &c));
    return dk_wrap(DK_CLUSTER, c, R_NilValue);
}

/* list(address, tls_dir or NULL) */
SEXP dk_cluster_info(SEXP cluster) {
    dask_cluster *c = dk_cluster(cluster);
    const char *dir = dask_cluster_tls_dir(c);
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 2));
    SET_VECTOR_ELT(out, 0, Rf_mkString(dask_cluster_address(c)));
    SET_VECTOR_ELT(out, 1, dir ? Rf_mkString(dir) : R_NilValue);
    UNPROTECT(1);
    return out;
}

SEXP dk_cluster_kill(SEXP cluster, SEXP index) {
    dk_check(dask_cluster_kill_worker(dk_cluster(cluster), (size_t)Rf_asInteger(index)));
    return R_NilValue;
}

SEXP dk_publish(SEXP client, SEXP x, SEXP name) {
    dk_drain();
    dk_check(dask_array_publish(dk_client(client), dk_array(x), Rf_translateCharUTF8(STRING_ELT(name, 0))));
    return R_NilValue;
}

SEXP dk_get_dataset(SEXP client, SEXP name) {
    dk_drain();
    dask_array *a = NULL;
    dk_check(dask_array_from_dataset(dk_client(client), Rf_translateCharUTF8(STRING_ELT(name, 0)), &a));
    return dk_wrap(DK_ARRAY, a, R_NilValue);
}

SEXP dk_list_datasets(SEXP client) {
    dask_value *v = NULL;
    dk_check(dask_client_list_datasets(dk_client(client), &v));
    const void *data = NULL;
    size_t len = 0;
    dask_status st = dask_value_bytes(v, &data, &len);
    if (st != DASK_OK) {
        dask_value_free(v);
        dk_check(st);
    }
    /* split at newlines */
    size_t n = len ? 1 : 0;
    for (size_t i = 0; i < len; ++i) n += ((const char *)data)[i] == '\n';
    SEXP out = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)n));
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= len && len; ++i) {
        if (i == len || ((const char *)data)[i] == '\n') {
            SET_STRING_ELT(out, (R_xlen_t)k++,
                           Rf_mkCharLenCE((const char *)data + start, (int)(i - start), CE_UTF8));
            start = i + 1;
        }
    }
    dask_value_free(v);
    UNPROTECT(1);
    return out;
}

SEXP dk_unpublish(SEXP client, SEXP name) {
    dk_drain();
    dk_check(dask_client_unpublish_dataset(dk_client(client), Rf_translateCharUTF8(STRING_ELT(name, 0))));
    return R_NilValue;
}
