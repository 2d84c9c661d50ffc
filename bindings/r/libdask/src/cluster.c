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

/* A scheduler here, workers as Slurm jobs; strings: time, partition, account, dir (NA: default);
 * adapt: integer(2) min, max or NULL. Checked in R first. */
SEXP dk_cluster_slurm(SEXP workers, SEXP cpus, SEXP mem, SEXP strings, SEXP tls, SEXP adapt, SEXP idle_grace,
                      SEXP max_pending) {
    dk_drain();
    dask_slurm_options o;
    dk_check(dask_slurm_options_init(&o, sizeof o));
    o.workers = (size_t)Rf_asInteger(workers);
    o.cpus_per_worker = (size_t)Rf_asInteger(cpus);
    o.mem_per_worker = (uint64_t)Rf_asReal(mem);
    o.tls = Rf_asLogical(tls) == 1;
    const char **fields[4] = {&o.time, &o.partition, &o.account, &o.dir};
    for (int i = 0; i < 4; i++) {
        SEXP s = STRING_ELT(strings, i);
        if (s != NA_STRING) *fields[i] = Rf_translateCharUTF8(s);
    }
    if (!Rf_isNull(adapt)) {
        o.adapt_min = (size_t)INTEGER(adapt)[0];
        o.adapt_max = (size_t)INTEGER(adapt)[1];
    }
    o.idle_grace = Rf_asReal(idle_grace);
    o.max_pending = (size_t)Rf_asInteger(max_pending);
    dask_cluster *c = NULL;
    dk_check(dask_cluster_slurm(&o, &c));
    return dk_wrap(DK_CLUSTER, c, R_NilValue);
}

SEXP dk_cluster_wait(SEXP cluster, SEXP n, SEXP timeout) {
    dk_check(dask_cluster_wait_for_workers(dk_cluster(cluster), (size_t)Rf_asInteger(n), Rf_asReal(timeout)));
    return R_NilValue;
}

/* c(workers = connected, pending = jobs waiting to start) after one adaptive step. */
SEXP dk_cluster_adapt(SEXP cluster) {
    size_t workers = 0, pending = 0;
    dk_check(dask_cluster_adapt(dk_cluster(cluster), &workers, &pending));
    SEXP out = PROTECT(Rf_allocVector(INTSXP, 2));
    INTEGER(out)[0] = (int)workers;
    INTEGER(out)[1] = (int)pending;
    SEXP names = PROTECT(Rf_allocVector(STRSXP, 2));
    SET_STRING_ELT(names, 0, Rf_mkChar("workers"));
    SET_STRING_ELT(names, 1, Rf_mkChar("pending"));
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
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
