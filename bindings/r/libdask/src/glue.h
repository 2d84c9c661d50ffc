/* Shared declarations of the C glue between R and libdask's C ABI.
 *
 * Rules every file follows (why: R errors are longjmps, and the library's threads must never
 * touch R):
 *   - library handles are put into classed external pointers (handles.c) as soon as they
 *     are made, so a later R error cannot leak them: the GC's finalizer frees them;
 *   - a non-OK status is turned into an R condition of class `dask_error` (errors.c) only
 *     after every temporary handle of the call has been freed;
 *   - only R's main thread runs R code: callbacks the library may call on its own threads
 *     (buffer releases) only queue work (refs.c), drained by the next entry from R. */
#ifndef LIBDASK_GLUE_H
#define LIBDASK_GLUE_H

#define R_NO_REMAP
#include <R.h>
#include <Rinternals.h>
#include <stdbool.h>
#include <stdint.h>

#include "dask.h"

/* errors.c */
void dk_check(dask_status st); /* raises a dask_error unless st is DASK_OK */
void NORET dk_fail(dask_status st, const char *message);

/* refs.c: R objects the library holds by reference (zero-copy buffers, host values). */
uint64_t dk_ref_new(SEXP obj);          /* roots obj; its id (> 0) */
SEXP dk_ref_get(uint64_t id);           /* R_NilValue when unknown */
void dk_ref_release_cb(void *ctx);      /* dask_release_fn: any thread, only queues */
void dk_drain(void);                    /* R thread: unroots what the library gave back */
size_t dk_ref_live(void);

/* handles.c: typed external pointers. */
typedef enum {
    DK_ARRAY = 0,
    DK_CLIENT = 1,
    DK_FUTURE = 2,
    DK_CLUSTER = 3,
    DK_GLM = 4,
    DK_TABLE = 5,
    DK_EXPR = 6
} dk_kind;
#define DK_KINDS 7
SEXP dk_wrap(dk_kind kind, void *handle, SEXP prot);
void *dk_get(SEXP x, dk_kind kind); /* errors when x is not of kind, or closed */
dask_array *dk_array(SEXP x);
dask_client *dk_client(SEXP x);
dask_future *dk_future(SEXP x);
dask_cluster *dk_cluster(SEXP x);
dask_glm_model *dk_glm(SEXP x);
dask_table *dk_table(SEXP x);
dask_expr *dk_expr(SEXP x);
double dk_live(dk_kind kind);

/* convert.c: values into R objects, R vectors into arrays. */
SEXP dk_value_to_r(const dask_value *v);
SEXP dk_value_to_r_as(const dask_value *v, bool logical); /* int32 buffers as logical */
SEXP dk_buffer_to_r(const dask_value *v, bool logical);
SEXP dk_value_to_r_free(dask_value *v); /* frees v, also on an R error */
SEXP dk_value_to_r_free_as(dask_value *v, bool logical);
dask_array *dk_vector_to_array(SEXP x, SEXP chunks); /* caller owns the result */
const size_t *dk_sizes(SEXP x, size_t *n);          /* R numbers -> size_t (R_alloc) */
const int64_t *dk_int64s(SEXP x, size_t *n);        /* R doubles -> int64_t, truncated (R_alloc) */

/* wait.c: waits on a future from R, interruptible. */
void dk_wait(dask_future *f, bool owned);
bool dk_is_sparse(const dask_array *x); /* one whole sparse array (not chunked) */

/* errors.c */
SEXP dk_namespace(void);

/* host.c */
void dk_host_interrupt_check(void);

/* eventloop.c: host tasks run while R is idle. */
void dk_eventloop_add(SEXP client);
void dk_eventloop_remove(dask_client *c);

#endif
