/*
 * Shared helpers of the C test suite: an assertion harness (CHECK, CHECK_OK, CHECK_ERR,
 * test_finish), timing and sleeping, a watchdog, an xorshift RNG, and random task graphs with
 * their sequential evaluation.
 *
 * Include this header first (it sets _POSIX_C_SOURCE before any system header).
 *
 * Every program prints, as its last line, exactly "N passed, N failed" and exits non-zero when
 * a check failed. Checks may be made from any thread (the counters are atomic).
 */
#ifndef DASK_TEST_HARNESS_H
#define DASK_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "dask.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_UNUSED __attribute__((unused))

/* ---------------------------------------------------------------------------------------
 * Assertions
 * ------------------------------------------------------------------------------------- */

static atomic_long harness_passed HARNESS_UNUSED;
static atomic_long harness_failed HARNESS_UNUSED;

__attribute__((format(printf, 4, 5))) static inline bool
harness_check(bool ok, const char *file, int line, const char *fmt, ...) {
    if (ok) {
        atomic_fetch_add(&harness_passed, 1);
#ifdef HARNESS_TRACE
        fprintf(stderr, "PASS %s:%d\n", file, line);
#endif
        return true;
    }
    atomic_fetch_add(&harness_failed, 1);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    return false;
}

/* CHECK(cond, "fmt", args...): counts a pass or a failure (printed with the message).
 * Evaluates to the truth of `cond`. */
#define CHECK(cond, ...) harness_check((cond) ? true : false, __FILE__, __LINE__, __VA_ARGS__)

static inline bool harness_check_ok(dask_status st, const char *expr, const char *file, int line) {
    if (st == DASK_OK) {
        atomic_fetch_add(&harness_passed, 1);
#ifdef HARNESS_TRACE
        fprintf(stderr, "PASS %s:%d\n", file, line);
#endif
        return true;
    }
    return harness_check(false, file, line, "%s returned %s (%d): %s", expr, dask_status_name(st), (int)st,
                         dask_last_error_message());
}

/* CHECK_OK(call): the call must return DASK_OK; otherwise prints its status and
 * dask_last_error_message(). Evaluates to true on success. */
#define CHECK_OK(expr) harness_check_ok((expr), #expr, __FILE__, __LINE__)

/* Makes the calling thread's last error message a known sentinel, so that a later check can
 * tell that a call set a fresh message (the library never clears the message on success). */
#define HARNESS_SENTINEL "ctest-sentinel-no-such-op"
static inline void error_sentinel(void) {
    dask_op_id id;
    (void)dask_op_lookup(HARNESS_SENTINEL, &id);
}

static inline bool harness_check_err(dask_status st, dask_status want, const char *expr, const char *file,
                                     int line) {
    const char *msg = dask_last_error_message();
    bool fresh = msg != NULL && msg[0] != '\0' && strstr(msg, HARNESS_SENTINEL) == NULL;
    return harness_check(st == want && fresh, file, line, "%s returned %s (%d), want %s; message \"%s\"%s", expr,
                         dask_status_name(st), (int)st, dask_status_name(want), msg ? msg : "(NULL)",
                         fresh ? "" : " (not set by this call)");
}

/* CHECK_ERR(call, DASK_ERR_x): the call must fail with exactly that status and set a new,
 * non-empty dask_last_error_message() (checked against a sentinel set just before). */
#define CHECK_ERR(expr, want)                                                                          \
    (error_sentinel(), harness_check_err((expr), (want), #expr, __FILE__, __LINE__))

/* True when the thread's last error message was set since error_sentinel() and contains
 * `needle` (NULL: any non-empty message). */
static inline bool last_error_has(const char *needle) {
    const char *msg = dask_last_error_message();
    if (msg == NULL || msg[0] == '\0' || strstr(msg, HARNESS_SENTINEL) != NULL) return false;
    return needle == NULL || strstr(msg, needle) != NULL;
}

/* Prints the summary line (last line of output) and returns the exit code. */
static inline int test_finish(void) {
    long p = atomic_load(&harness_passed), f = atomic_load(&harness_failed);
    fflush(stderr);
    printf("%ld passed, %ld failed\n", p, f);
    fflush(stdout);
    return f == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------------------------
 * Time, sleeping, watchdog, environment
 * ------------------------------------------------------------------------------------- */

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void sleep_ms(double ms) {
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls `cond` every ~0.2 ms until it holds or `timeout_s` passes; evaluates to its final value. */
#define WAIT_UNTIL(cond, timeout_s)                                                                    \
    __extension__({                                                                                    \
        double wu_deadline_ = now_s() + (timeout_s);                                                   \
        while (!(cond) && now_s() < wu_deadline_) sleep_ms(0.2);                                       \
        (cond) ? true : false;                                                                         \
    })

/* DASK_STRESS_SMALL=1 (used under valgrind) shrinks the work 10x. */
static inline bool small_mode(void) {
    const char *s = getenv("DASK_STRESS_SMALL");
    return s != NULL && s[0] != '\0' && strcmp(s, "0") != 0;
}

static inline size_t scaled(size_t n) { return small_mode() ? (n / 10 > 0 ? n / 10 : 1) : n; }

/* How long the slowest legitimate wait may take (much longer under valgrind). */
static inline double patience_s(void) { return small_mode() ? 60.0 : 20.0; }

HARNESS_UNUSED static void harness_on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL watchdog: the test hung (no progress before the deadline)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

/* Kills the program with a message if it runs longer than `seconds` (a hang is a failure).
 * DASK_TEST_TIMEOUT overrides the limit. */
static inline void watchdog(unsigned seconds) {
    const char *s = getenv("DASK_TEST_TIMEOUT");
    if (s != NULL && atoi(s) > 0) seconds = (unsigned)atoi(s);
    signal(SIGALRM, harness_on_alarm);
    alarm(seconds);
}

/* ---------------------------------------------------------------------------------------
 * Random numbers (xorshift64)
 * ------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t s;
} rng_t;

static inline rng_t rng_new(uint64_t seed) {
    rng_t r = {seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull};
    if (r.s == 0) r.s = 1;
    return r;
}

static inline uint64_t rng_next(rng_t *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static inline uint64_t rng_below(rng_t *r, uint64_t n) { return n == 0 ? 0 : rng_next(r) % n; }

/* ---------------------------------------------------------------------------------------
 * The "mix" operation: an order-sensitive hash of int inputs, computed the same way by the
 * C task callback and by the sequential reference evaluation.
 * ------------------------------------------------------------------------------------- */

static inline int64_t mix_seq(const int64_t *xs, size_t n) {
    uint64_t acc = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    for (size_t i = 0; i < n; ++i) {
        acc = (acc ^ (uint64_t)xs[i]) * 0x100000001B3ull;
        acc ^= acc >> 29;
    }
    return (int64_t)(acc >> 3);
}

#define MIX_MAX_INPUTS 16

/* Counters an op callback may update; its ctx. */
typedef struct {
    atomic_long calls;
} op_counter;

/* dask_task_fn: mix of the int inputs (read with dask_value_as_i64). ctx: op_counter or NULL. */
static inline int32_t mix_task(void *ctx, const dask_value *const *inputs, size_t n_inputs, dask_value **output) {
    if (ctx != NULL) atomic_fetch_add(&((op_counter *)ctx)->calls, 1);
    int64_t xs[MIX_MAX_INPUTS];
    if (n_inputs > MIX_MAX_INPUTS) {
        dask_error_set("mix: too many inputs");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n_inputs; ++i) {
        dask_status st = dask_value_as_i64(inputs[i], &xs[i]);
        if (st != DASK_OK) {
            dask_error_set("mix: an input is not an int");
            return st;
        }
    }
    return dask_value_from_i64(mix_seq(xs, n_inputs), output);
}

/* ---------------------------------------------------------------------------------------
 * Random DAGs
 *
 * Task i has a literal int, 0-3 dependencies on earlier tasks (half of them close by, so
 * there are long paths) and sometimes one external future, in a random argument order; its
 * value is mix(argument values). Tasks are added to the graph in a locally shuffled order:
 * a dependency already added is referred to by index (DASK_ARG_TASK) or by key
 * (DASK_ARG_KEY); one not added yet by key (a forward reference). Some tasks that are never
 * referred to before they are added are anonymous (no key).
 * ------------------------------------------------------------------------------------- */

enum { DAG_ARG_DEP = 0, DAG_ARG_LIT = 1, DAG_ARG_EXT = 2 };

typedef struct {
    uint8_t kind;
    int64_t ref; /* DEP: task index; LIT: the literal; EXT: index into the external futures */
} dag_arg;

typedef struct {
    size_t n;
    size_t *arg_start; /* n + 1 offsets into args */
    dag_arg *args;
    int64_t *expected; /* sequential evaluation */
    uint8_t *host;     /* which of two ops the task uses (1: the "host" op of test_host) */
    uint8_t *has_dependents;
    uint8_t *anonymous;
    size_t *order; /* insertion order */
    size_t *index; /* graph index of each task, filled by dag_add_to_graph */
    /* Filled by dag_add_to_graph: arguments added per DASK_ARG_* kind, keys referenced before
     * their task was added, anonymous tasks. */
    size_t used[5], forward_keys, anonymous_count;
} dag_t;

/* Generates a DAG of n tasks; `ext_vals` are the values of `n_ext` external futures that
 * tasks may read; `host_pct` percent of the tasks use op 1. */
static inline void dag_generate(dag_t *d, size_t n, uint64_t seed, size_t n_ext, const int64_t *ext_vals,
                                unsigned host_pct) {
    rng_t r = rng_new(seed);
    memset(d, 0, sizeof *d);
    d->n = n;
    d->arg_start = calloc(n + 1, sizeof *d->arg_start);
    d->args = calloc(n * 5 + 1, sizeof *d->args);
    d->expected = calloc(n, sizeof *d->expected);
    d->host = calloc(n, 1);
    d->has_dependents = calloc(n, 1);
    d->anonymous = calloc(n, 1);
    d->order = calloc(n, sizeof *d->order);
    d->index = calloc(n, sizeof *d->index);
    if (!d->arg_start || !d->args || !d->expected || !d->host || !d->has_dependents || !d->anonymous ||
        !d->order || !d->index) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    size_t na = 0;
    for (size_t i = 0; i < n; ++i) {
        d->arg_start[i] = na;
        size_t k = i == 0 ? 0 : (size_t)rng_below(&r, 4);
        dag_arg a[5];
        size_t m = 0;
        for (size_t j = 0; j < k; ++j) {
            size_t dep;
            if (rng_below(&r, 2) == 0) {
                size_t w = i < 32 ? i : 32;
                dep = i - 1 - (size_t)rng_below(&r, w);
            } else {
                dep = (size_t)rng_below(&r, i);
            }
            a[m].kind = DAG_ARG_DEP;
            a[m].ref = (int64_t)dep;
            ++m;
            d->has_dependents[dep] = 1;
        }
        a[m].kind = DAG_ARG_LIT;
        a[m].ref = (int64_t)(rng_next(&r) >> 4) - (int64_t)(1ll << 58);
        ++m;
        if (n_ext > 0 && rng_below(&r, 16) == 0) {
            a[m].kind = DAG_ARG_EXT;
            a[m].ref = (int64_t)rng_below(&r, n_ext);
            ++m;
        }
        for (size_t j = m; j > 1; --j) { /* shuffle the argument order */
            size_t s = (size_t)rng_below(&r, j);
            dag_arg t = a[j - 1];
            a[j - 1] = a[s];
            a[s] = t;
        }
        int64_t xs[5];
        for (size_t j = 0; j < m; ++j) {
            d->args[na++] = a[j];
            xs[j] = a[j].kind == DAG_ARG_DEP ? d->expected[a[j].ref]
                    : a[j].kind == DAG_ARG_LIT ? a[j].ref
                                               : ext_vals[a[j].ref];
        }
        d->expected[i] = mix_seq(xs, m);
        d->host[i] = rng_below(&r, 100) < host_pct;
    }
    d->arg_start[n] = na;

    /* Insertion order: identity, locally shuffled, with a few long-range swaps. */
    for (size_t i = 0; i < n; ++i) d->order[i] = i;
    for (size_t s = 0; s < n / 2; ++s) {
        size_t i = (size_t)rng_below(&r, n);
        size_t j = i + (size_t)rng_below(&r, 100);
        if (j >= n) j = n - 1;
        size_t t = d->order[i];
        d->order[i] = d->order[j];
        d->order[j] = t;
    }
    for (size_t s = 0; s < n / 100; ++s) {
        size_t i = (size_t)rng_below(&r, n), j = (size_t)rng_below(&r, n);
        size_t t = d->order[i];
        d->order[i] = d->order[j];
        d->order[j] = t;
    }
    /* A task may be anonymous if no dependent is added before it. */
    size_t *pos = calloc(n, sizeof *pos);
    uint8_t *forward = calloc(n, 1);
    if (!pos || !forward) exit(2);
    for (size_t p = 0; p < n; ++p) pos[d->order[p]] = p;
    for (size_t i = 0; i < n; ++i)
        for (size_t a = d->arg_start[i]; a < d->arg_start[i + 1]; ++a)
            if (d->args[a].kind == DAG_ARG_DEP && pos[d->args[a].ref] > pos[i]) forward[d->args[a].ref] = 1;
    for (size_t i = 0; i < n; ++i) d->anonymous[i] = !forward[i] && rng_below(&r, 4) == 0;
    free(pos);
    free(forward);
}

static inline void dag_key(char *buf, size_t len, size_t i) { snprintf(buf, len, "ctest-t%zu", i); }

/* Adds every task of the DAG to `g` (ops[d->host[i]]), with `ext` the external futures.
 * Literal values are created per task and freed right after dask_graph_add_task (the task
 * keeps its own reference). Returns false (after a failed check) on an error. */
static inline bool dag_add_to_graph(dag_t *d, dask_graph *g, const dask_op_id ops[2], dask_future *const *ext,
                                    uint64_t seed) {
    rng_t r = rng_new(seed ^ 0xABCDEFull);
    uint8_t *added = calloc(d->n, 1);
    if (!added) exit(2);
    bool ok = true;
    for (size_t p = 0; p < d->n && ok; ++p) {
        size_t i = d->order[p];
        dask_arg args[5];
        char keys[5][32];
        dask_value *lits[5];
        size_t m = 0, nl = 0;
        memset(args, 0, sizeof args);
        for (size_t a = d->arg_start[i]; a < d->arg_start[i + 1]; ++a, ++m) {
            const dag_arg *x = &d->args[a];
            if (x->kind == DAG_ARG_DEP) {
                size_t dep = (size_t)x->ref;
                if (added[dep] && (d->anonymous[dep] || rng_below(&r, 2) == 0)) {
                    args[m].kind = DASK_ARG_TASK;
                    args[m].task = d->index[dep];
                } else {
                    args[m].kind = DASK_ARG_KEY;
                    dag_key(keys[m], sizeof keys[m], dep);
                    args[m].key = keys[m];
                    d->forward_keys += !added[dep];
                }
            } else if (x->kind == DAG_ARG_LIT) {
                dask_status vs = dask_value_from_i64(x->ref, &lits[nl]);
                if (vs != DASK_OK) {
                    ok = CHECK_OK(vs);
                    break;
                }
                args[m].kind = DASK_ARG_VALUE;
                args[m].value = lits[nl++];
            } else {
                args[m].kind = DASK_ARG_FUTURE;
                args[m].future = ext[x->ref];
            }
        }
        char key[32];
        dag_key(key, sizeof key, i);
        if (ok) {
            dask_status st =
                dask_graph_add_task(g, d->anonymous[i] ? NULL : key, ops[d->host[i]], args, m, &d->index[i]);
            if (st != DASK_OK) ok = CHECK_OK(st);
            for (size_t j = 0; j < m; ++j) d->used[args[j].kind < 5 ? args[j].kind : 0]++;
            d->anonymous_count += d->anonymous[i];
        }
        for (size_t j = 0; j < nl; ++j) dask_value_free(lits[j]);
        added[i] = 1;
    }
    free(added);
    return ok;
}

/* Marks in `needed` every task that `outputs` need (outputs and their ancestors); returns
 * how many there are. */
static inline size_t dag_needed(const dag_t *d, const size_t *outputs, size_t n_out, uint8_t *needed) {
    memset(needed, 0, d->n);
    for (size_t o = 0; o < n_out; ++o) needed[outputs[o]] = 1;
    size_t count = 0;
    for (size_t i = d->n; i-- > 0;) {
        if (!needed[i]) continue;
        ++count;
        for (size_t a = d->arg_start[i]; a < d->arg_start[i + 1]; ++a)
            if (d->args[a].kind == DAG_ARG_DEP) needed[d->args[a].ref] = 1;
    }
    return count;
}

static inline void dag_free(dag_t *d) {
    free(d->arg_start);
    free(d->args);
    free(d->expected);
    free(d->host);
    free(d->has_dependents);
    free(d->anonymous);
    free(d->order);
    free(d->index);
    memset(d, 0, sizeof *d);
}

/* Computes `outputs` (DAG task numbers) of a DAG built in `g` and checks every result against
 * the sequential evaluation. Returns the number of mismatches (each also a failed check);
 * a summary check is counted either way. */
static inline size_t dag_compute_and_check(const dask_client *c, dask_graph *g, const dag_t *d,
                                           const size_t *outputs, size_t n_out, const char *what) {
    size_t *idx = malloc((n_out + 1) * sizeof *idx);
    dask_future **fs = calloc(n_out + 1, sizeof *fs);
    if (!idx || !fs) exit(2);
    for (size_t o = 0; o < n_out; ++o) idx[o] = d->index[outputs[o]];
    size_t bad = 0;
    if (!CHECK_OK(dask_client_compute(c, g, idx, n_out, fs))) {
        free(idx);
        free(fs);
        return n_out;
    }
    for (size_t o = 0; o < n_out; ++o) {
        dask_value *v = NULL;
        int64_t x = 0;
        dask_status st = dask_future_result(fs[o], -1.0, &v);
        if (st == DASK_OK) st = dask_value_as_i64(v, &x);
        if (st != DASK_OK || x != d->expected[outputs[o]]) {
            if (bad < 5)
                CHECK(false, "%s: task %zu: status %s (%s), got %lld, want %lld", what, outputs[o],
                      dask_status_name(st), st ? dask_last_error_message() : "", (long long)x,
                      (long long)d->expected[outputs[o]]);
            ++bad;
        }
        dask_value_free(v);
        dask_future_free(fs[o]);
    }
    CHECK(bad == 0, "%s: %zu of %zu outputs differ from the sequential evaluation", what, bad, n_out);
    free(idx);
    free(fs);
    return bad;
}

/* Outputs for a DAG: every sink (task nothing depends on) below `sink_frac` of the tasks, plus
 * `extra` random tasks. Writes at most d->n + extra entries to `out`; returns the count. */
static inline size_t dag_pick_outputs(const dag_t *d, double sink_frac, size_t extra, uint64_t seed, size_t *out) {
    rng_t r = rng_new(seed ^ 0x5555ull);
    size_t n_out = 0, lim = (size_t)((double)d->n * sink_frac);
    for (size_t i = 0; i < lim; ++i)
        if (!d->has_dependents[i]) out[n_out++] = i;
    for (size_t e = 0; e < extra; ++e) out[n_out++] = (size_t)rng_below(&r, d->n);
    return n_out;
}

/* Threads of this process (entries of /proc/self/task), or -1. */
#include <dirent.h>
static inline long count_threads(void) {
    DIR *dir = opendir("/proc/self/task");
    if (!dir) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.') ++n;
    closedir(dir);
    return n;
}

/* A client for a test: the embedded pool, or — when the test runs under `libdask
 * local-cluster` (DASK_SCHEDULER_ADDRESS set) — a client of that cluster, so the same suite
 * checks the cluster's answers. */
static inline dask_client *new_client(uint32_t threads) {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = threads;
#ifndef DASK_HARNESS_OLD_CONFIG /* tests/abi/old_layout.c: a dask_config without these */
    cfg.address = getenv("DASK_SCHEDULER_ADDRESS");
    cfg.tls_ca = getenv("DASK_TLS_CA");
    cfg.tls_cert = getenv("DASK_TLS_CERT");
    cfg.tls_key = getenv("DASK_TLS_KEY");
#endif
    dask_client *c = NULL;
    if (!CHECK_OK(dask_client_new(&cfg, &c))) {
        fprintf(stderr, "cannot create a client\n");
        printf("%ld passed, %ld failed\n", atomic_load(&harness_passed), atomic_load(&harness_failed));
        exit(1);
    }
    return c;
}

#endif /* DASK_TEST_HARNESS_H */
