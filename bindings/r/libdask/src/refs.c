/* R objects the library refers to without copying them: the memory of wrapped R vectors and
 * opaque host values (R objects passed to and returned by host tasks).
 *
 * Each is rooted in one R list (the table) under a token, its slot number. The library may
 * drop its last reference on any thread, where R must not be touched, so the release
 * callback is the library's dask_host_ref_release, which only queues the token; dk_drain(),
 * called on R's thread by every entry point and wait loop, collects the tokens with
 * dask_host_refs_released and unroots the objects. */
#include "glue.h"

#include <stdlib.h>

/* R's host id ('R') in the tokens' top bits: another host in this process (Julia through
 * JuliaCall, say) drains only its own tokens. */
#define R_HOST ((uint16_t)'R')
#define TOKEN(id) (((uint64_t)R_HOST << DASK_HOST_TAG_SHIFT) | (id))
#define SLOT(token) ((token) & ((UINT64_C(1) << DASK_HOST_TAG_SHIFT) - 1))

static SEXP table = NULL; /* VECSXP, preserved; slot id-1 holds the object */
static R_xlen_t table_len = 0;
static uint64_t *free_ids = NULL; /* free slots (ids), a stack with room for all */
static size_t n_free = 0;
static size_t live = 0;

static void grow(void) {
    R_xlen_t n = table_len ? table_len * 2 : 64;
    uint64_t *f = realloc(free_ids, (size_t)n * sizeof *f);
    if (!f) Rf_error("libdask: out of memory");
    free_ids = f;
    SEXP t = PROTECT(Rf_allocVector(VECSXP, n));
    for (R_xlen_t i = 0; i < table_len; ++i) SET_VECTOR_ELT(t, i, VECTOR_ELT(table, i));
    R_PreserveObject(t);
    if (table) R_ReleaseObject(table);
    UNPROTECT(1);
    for (R_xlen_t i = n; i > table_len; --i) free_ids[n_free++] = (uint64_t)i;
    table = t;
    table_len = n;
}

uint64_t dk_ref_new(SEXP obj) {
    PROTECT(obj);
    dk_drain();
    if (n_free == 0) grow();
    uint64_t id = free_ids[--n_free];
    SET_VECTOR_ELT(table, (R_xlen_t)id - 1, obj);
    ++live;
    UNPROTECT(1);
    return TOKEN(id);
}

SEXP dk_ref_get(uint64_t token) {
    uint64_t id = SLOT(token);
    if (token != TOKEN(id) || id == 0 || (R_xlen_t)id > table_len) return R_NilValue;
    return VECTOR_ELT(table, (R_xlen_t)id - 1);
}

void dk_ref_release_cb(void *ctx) { dask_host_ref_release(ctx); }

void dk_drain(void) {
    uint64_t tokens[256];
    size_t n = 0;
    do {
        if (dask_host_refs_released(R_HOST, tokens, 256, &n) != DASK_OK) return;
        for (size_t k = 0; k < n; ++k) {
            uint64_t id = SLOT(tokens[k]);
            if (id == 0 || (R_xlen_t)id > table_len || VECTOR_ELT(table, (R_xlen_t)id - 1) == R_NilValue)
                continue; /* not one of ours */
            SET_VECTOR_ELT(table, (R_xlen_t)id - 1, R_NilValue);
            free_ids[n_free++] = id;
            --live;
        }
    } while (n == 256);
}

size_t dk_ref_live(void) { return live; }
