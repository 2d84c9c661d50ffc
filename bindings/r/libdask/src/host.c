/* Clients, futures, and R functions as host tasks.
 *
 * dask_submit(fun, ...) submits one task of the operation "libdask.r.call", registered with
 * DASK_OP_HOST: the library runs it only on the host thread, i.e. R's own, inside a wait
 * from R (dk_wait) or resolved(). Its inputs are the function and the arguments as opaque
 * values holding rooted R objects (refs.c), or results of other futures; its result is the
 * R value, rooted the same way. The R call is evaluated by libdask:::.dask_run_host, which
 * catches R errors (and interrupts) itself, inside R_ToplevelExec so that nothing can
 * longjmp through the library's frames. */
#include "glue.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static dask_op_id host_op;
static bool host_op_ready;
static int host_interrupted; /* an R function running as a host task got Ctrl-C */

typedef struct {
    const dask_value *const *in;
    size_t n;
    dask_value *out;
    char *err;
} host_ctx;

static void host_body(void *p) {
    host_ctx *h = p;
    SEXP args = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)h->n));
    for (size_t i = 0; i < h->n; ++i) SET_VECTOR_ELT(args, (R_xlen_t)i, dk_value_to_r(h->in[i]));
    SEXP call = PROTECT(Rf_lang2(Rf_install(".dask_run_host"), args));
    SEXP res = PROTECT(Rf_eval(call, dk_namespace()));
    /* res: list(ok, value or message, interrupted) */
    if (Rf_asLogical(VECTOR_ELT(res, 0)) == TRUE) {
        uint64_t id = dk_ref_new(VECTOR_ELT(res, 1));
        if (dask_value_from_opaque((void *)(uintptr_t)id, dk_ref_release_cb, &h->out) != DASK_OK)
            h->err = strdup(dask_last_error_message());
    } else {
        h->err = strdup(CHAR(STRING_ELT(VECTOR_ELT(res, 1), 0)));
        if (Rf_asLogical(VECTOR_ELT(res, 2)) == TRUE) host_interrupted = 1;
    }
    UNPROTECT(3);
}

static int32_t host_call(void *ctx, const dask_value *const *in, size_t n, dask_value **out) {
    (void)ctx;
    host_ctx h = {in, n, NULL, NULL};
    bool ok = R_ToplevelExec(host_body, &h);
    if (ok && !h.err) {
        *out = h.out;
        return DASK_OK;
    }
    dask_value_free(h.out);
    dask_error_set(h.err ? h.err : "the R host task could not run (R error outside the function)");
    free(h.err);
    return DASK_ERR_TASK;
}

/* After a wait: an interrupt caught inside a host task is raised again here, on R's
 * thread, so that it reaches the user as the interrupt it was (and the wait's cleanup
 * cancels the rest). */
void dk_host_interrupt_check(void) {
    if (!host_interrupted) return;
    host_interrupted = 0;
    raise(SIGINT); /* R's handler marks the interrupt pending */
    R_CheckUserInterrupt();
}

static void ensure_host_op(void) {
    if (host_op_ready) return;
    dask_status st = dask_op_register("libdask.r.call", host_call, NULL, DASK_OP_HOST, &host_op);
    if (st == DASK_ERR_ALREADY_EXISTS) st = dask_op_lookup("libdask.r.call", &host_op);
    dk_check(st);
    host_op_ready = true;
}

static const char *opt_string(SEXP x) {
    return Rf_isNull(x) ? NULL : Rf_translateCharUTF8(STRING_ELT(x, 0));
}

/* tls: NULL or a character vector (ca, cert, key); cluster: NULL or a dask_cluster, whose
 * address and certificates the client then uses. */
SEXP dk_client_new(SEXP threads, SEXP memory_limit, SEXP spill_dir, SEXP address, SEXP tls,
                   SEXP require_encryption, SEXP cluster) {
    dk_drain();
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = (uint32_t)Rf_asInteger(threads);
    cfg.memory_limit = (uint64_t)Rf_asReal(memory_limit);
    cfg.spill_dir = opt_string(spill_dir);
    cfg.address = opt_string(address);
    if (!Rf_isNull(tls)) {
        cfg.tls_ca = Rf_translateCharUTF8(STRING_ELT(tls, 0));
        cfg.tls_cert = Rf_translateCharUTF8(STRING_ELT(tls, 1));
        cfg.tls_key = Rf_translateCharUTF8(STRING_ELT(tls, 2));
    }
    cfg.require_encryption = (uint32_t)Rf_asLogical(require_encryption) == 1;
    dask_client *c = NULL;
    if (Rf_isNull(cluster))
        dk_check(dask_client_new(&cfg, &c));
    else
        dk_check(dask_cluster_client(dk_cluster(cluster), &cfg, &c));
    SEXP out = PROTECT(dk_wrap(DK_CLIENT, c, R_NilValue));
    dk_eventloop_add(out);
    UNPROTECT(1);
    return out;
}

/* The default client: the cluster at DASK_SCHEDULER_ADDRESS when set, else the pool. */
SEXP dk_client_default(void) {
    dk_drain();
    dask_client *c = NULL;
    dk_check(dask_client_new_default(&c));
    SEXP out = PROTECT(dk_wrap(DK_CLIENT, c, R_NilValue));
    dk_eventloop_add(out);
    UNPROTECT(1);
    return out;
}

SEXP dk_client_threads(SEXP client) {
    size_t n = 0;
    dk_check(dask_client_threads(dk_client(client), &n));
    return Rf_ScalarInteger((int)n);
}

/* An R object as a new opaque value (owned by the caller). */
static dask_value *ref_value(SEXP x) {
    uint64_t id = dk_ref_new(x);
    dask_value *v = NULL;
    dk_check(dask_value_from_opaque((void *)(uintptr_t)id, dk_ref_release_cb, &v));
    return v;
}

static bool is_future(SEXP x) {
    return TYPEOF(x) == EXTPTRSXP && R_ExternalPtrTag(x) == Rf_install("dask_future");
}

/* args: a list; dask_future elements are passed as the future (the task waits for it and
 * receives its value), anything else as the R object itself. */
SEXP dk_submit(SEXP client, SEXP fun, SEXP args) {
    dk_drain();
    dask_client *c = dk_client(client);
    ensure_host_op();
    size_t n = (size_t)Rf_xlength(args);
    for (size_t i = 0; i < n; ++i) /* checked first: nothing below may fail half-way */
        if (is_future(VECTOR_ELT(args, (R_xlen_t)i))) dk_future(VECTOR_ELT(args, (R_xlen_t)i));
    dask_arg *a = (dask_arg *)R_alloc(n + 1, sizeof *a);
    dask_value **vals = (dask_value **)R_alloc(n + 1, sizeof *vals);
    memset(a, 0, (n + 1) * sizeof *a);
    memset(vals, 0, (n + 1) * sizeof *vals);
    vals[0] = ref_value(fun);
    a[0].kind = DASK_ARG_VALUE;
    a[0].value = vals[0];
    for (size_t i = 0; i < n; ++i) {
        SEXP x = VECTOR_ELT(args, (R_xlen_t)i);
        if (is_future(x)) {
            a[i + 1].kind = DASK_ARG_FUTURE;
            a[i + 1].future = R_ExternalPtrAddr(x);
        } else {
            vals[i + 1] = ref_value(x);
            a[i + 1].kind = DASK_ARG_VALUE;
            a[i + 1].value = vals[i + 1];
        }
    }
    dask_future *f = NULL;
    dask_status st = dask_client_submit(c, host_op, a, n + 1, &f);
    for (size_t i = 0; i <= n; ++i) dask_value_free(vals[i]);
    dk_check(st);
    return dk_wrap(DK_FUTURE, f, client); /* the future keeps its client alive */
}

SEXP dk_future_value(SEXP future) {
    dk_drain();
    dask_future *f = dk_future(future);
    dk_wait(f, false);
    dask_value *v = NULL;
    dk_check(dask_future_result(f, 0.0, &v));
    return dk_value_to_r_free(v);
}

/* Non-blocking: runs the host tasks queued so far (R functions only progress while R lets
 * them), then reports whether the future is done. */
SEXP dk_future_resolved(SEXP future) {
    dk_drain();
    dask_future *f = dk_future(future);
    SEXP client = R_ExternalPtrProtected(future);
    if (TYPEOF(client) == EXTPTRSXP && R_ExternalPtrAddr(client))
        dk_check(dask_client_run_host_tasks(R_ExternalPtrAddr(client), 64, NULL));
    dk_host_interrupt_check();
    bool done = false;
    dk_check(dask_future_is_done(f, &done));
    return Rf_ScalarLogical(done);
}

SEXP dk_future_status(SEXP future) {
    dask_future_state s = 0;
    dk_check(dask_future_status(dk_future(future), &s));
    static const char *names[] = {"pending", "running", "finished", "error", "cancelled"};
    return Rf_mkString(s <= 4 ? names[s] : "unknown");
}

SEXP dk_future_cancel(SEXP future) {
    dk_drain();
    dk_check(dask_future_cancel(dk_future(future)));
    return R_NilValue;
}
