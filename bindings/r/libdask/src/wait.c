/* Waiting on the library from R. The wait is cut into short slices so that R's interrupt
 * (Ctrl-C, SIGINT) is seen: R_CheckUserInterrupt longjmps out, and the unwind-protect
 * cleanup cancels the computation first (and frees the future when the wait owns it), so
 * an interrupted computation stops and releases its handles instead of running on. Host
 * tasks (R functions) run inside dask_future_wait on this thread. */
#include "glue.h"

typedef struct {
    dask_future *f;
    bool owned;
} wait_ctx;

static SEXP wait_body(void *p) {
    wait_ctx *w = p;
    for (;;) {
        dask_status st = dask_future_wait(w->f, 0.05);
        dk_drain();
        dk_host_interrupt_check();
        if (st != DASK_ERR_TIMEOUT) return R_NilValue; /* done; the caller reads the outcome */
        R_CheckUserInterrupt();
    }
}

static void wait_cleanup(void *p, Rboolean jump) {
    wait_ctx *w = p;
    if (!jump) return;
    dask_future_cancel(w->f);
    if (w->owned) dask_future_free(w->f);
}

void dk_wait(dask_future *f, bool owned) {
    wait_ctx w = {f, owned};
    R_UnwindProtect(wait_body, &w, wait_cleanup, &w, NULL);
}
