/* Host tasks while R is idle. R functions submitted with dask_submit() run on R's thread,
 * which the library cannot enter on its own: R runs them when it waits on the library
 * (value(), compute()) or polls (resolved()), and, through this file, when it is idle at
 * the prompt (or in Sys.sleep()), from its event loop.
 *
 * Each client's host-notify callback (called by the library on any thread each time a host
 * task is queued) writes a byte to a non-blocking pipe; R's event loop watches the pipe's
 * read end (addInputHandler) and, when it is readable, runs the queued host tasks of every
 * live client. The callback only writes (async-signal-safe, never blocks: a full pipe
 * already wakes R); everything else happens on R's thread. Clients are held through weak
 * references, protected while their tasks run, so a client collected meanwhile is never
 * used.
 *
 * After a fork (parallel::mclapply), the child inherits the pipe and the handler, but the
 * pipe is shared with the parent: a child's event loop would eat the parent's wake-ups.
 * The child drops both (its handler is removed the first time it fires there, or when the
 * child registers a client of its own, which then gets a pipe of its own). */
#include "glue.h"

#include <R_ext/eventloop.h>
#include <fcntl.h>
#include <unistd.h>

#define ACTIVITY 77 /* R's activity id for this handler (any value; only for removal) */
#define BATCH 64    /* host tasks per wake-up; more wake R again */

static int fds[2] = {-1, -1};
static InputHandler *handler;
static pid_t owner; /* the process that made the pipe */
static SEXP clients = NULL; /* a preserved pairlist of weak references to client handles */

static void wake(void *ctx) {
    (void)ctx;
    char b = 1;
    ssize_t n = write(fds[1], &b, 1); /* EAGAIN (pipe full) is fine: R is woken anyway */
    (void)n;
}

/* In a forked child: forget the parent's pipe, handler and clients (without touching the
 * pipe's contents, which are the parent's). */
static void drop_inherited(void) {
    if (!handler || owner == getpid()) return;
    removeInputHandler(&R_InputHandlers, handler);
    handler = NULL;
    close(fds[0]);
    close(fds[1]);
    fds[0] = fds[1] = -1;
    if (clients) SETCDR(clients, R_NilValue);
}

static void on_input(void *data) {
    (void)data;
    if (owner != getpid()) { /* a forked child: the byte is the parent's */
        drop_inherited();
        return;
    }
    char buf[256];
    while (read(fds[0], buf, sizeof buf) > 0) {
    }
    dk_drain();
    /* The live clients, held (protected) while their tasks run: R code in a task may
     * register clients or collect garbage. */
    R_xlen_t n = 0;
    for (SEXP w = CDR(clients); w != R_NilValue; w = CDR(w)) ++n;
    SEXP live = PROTECT(Rf_allocVector(VECSXP, n));
    n = 0;
    for (SEXP w = CDR(clients); w != R_NilValue; w = CDR(w)) SET_VECTOR_ELT(live, n++, R_WeakRefKey(CAR(w)));
    bool more = false;
    for (R_xlen_t i = 0; i < n; ++i) {
        SEXP c = VECTOR_ELT(live, i);
        void *h = TYPEOF(c) == EXTPTRSXP ? R_ExternalPtrAddr(c) : NULL;
        size_t ran = 0;
        if (h && dask_client_run_host_tasks(h, BATCH, &ran) == DASK_OK && ran == BATCH) more = true;
    }
    UNPROTECT(1);
    if (more) wake(NULL);
    dk_drain();
    dk_host_interrupt_check(); /* a Ctrl-C caught in a task reaches the prompt */
}

static bool setup(void) {
    drop_inherited();
    if (handler) return true;
    if (pipe(fds) != 0) return false;
    owner = getpid();
    for (int i = 0; i < 2; ++i) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
    }
    if (!clients) {
        clients = Rf_cons(R_NilValue, R_NilValue); /* a head cell, so the list is never empty */
        R_PreserveObject(clients);
    }
    handler = addInputHandler(R_InputHandlers, fds[0], on_input, ACTIVITY);
    return handler != NULL;
}

/* Registers a new client (its R handle): its host tasks then also run while R is idle. */
void dk_eventloop_add(SEXP client) {
    if (!setup()) return; /* no pipe: host tasks run in waits and polls only */
    /* Drop the references of collected or closed clients first. */
    for (SEXP prev = clients, w = CDR(clients); w != R_NilValue; w = CDR(w)) {
        SEXP c = R_WeakRefKey(CAR(w));
        if (TYPEOF(c) != EXTPTRSXP || R_ExternalPtrAddr(c) == NULL) SETCDR(prev, CDR(w));
        else prev = w;
    }
    SEXP ref = PROTECT(R_MakeWeakRef(client, R_NilValue, R_NilValue, FALSE));
    SETCDR(clients, Rf_cons(ref, CDR(clients)));
    UNPROTECT(1);
    dk_check(dask_client_set_host_notify(dk_client(client), wake, NULL));
}

/* Before a client is freed: the library must not call the notifier for it any more. */
void dk_eventloop_remove(dask_client *c) { dask_client_set_host_notify(c, NULL, NULL); }
