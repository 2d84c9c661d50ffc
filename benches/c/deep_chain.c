/*
 * A deep lazy chain from C: an iterative algorithm's `x = x + 1`, a million times, through
 * dask_ufunc_call, then a sum; prints the time to build, compute and free the chain.
 *   make bench-deep      (or: build/bench_deep [n])
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    dask_client *c = NULL;
    dask_ufunc *add = NULL;
    dask_array *x = NULL, *s = NULL;
    if (dask_client_new(NULL, &c) != DASK_OK || dask_ufunc_lookup("add", &add) != DASK_OK ||
        dask_array_arange(0, 64, 1, DASK_FLOAT64, 64, &x) != DASK_OK) {
        fprintf(stderr, "%s\n", dask_last_error_message());
        return 1;
    }
    double t = now();
    for (long i = 0; i < n; i++) {
        dask_operand a[2] = {{.kind = DASK_OPERAND_ARRAY, .array = x}, {.kind = DASK_OPERAND_FLOAT, .f = 1}};
        dask_array *next = NULL;
        if (dask_ufunc_call(add, a, 2, &next) != DASK_OK) return 1;
        dask_array_free(x);
        x = next;
    }
    double built = now() - t;
    t = now();
    dask_value *v = NULL;
    double total = 0;
    if (dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0, 0, &s) != DASK_OK ||
        dask_array_compute(c, s, &v) != DASK_OK || dask_value_as_f64(v, &total) != DASK_OK) {
        fprintf(stderr, "%s\n", dask_last_error_message());
        return 1;
    }
    double computed = now() - t;
    t = now();
    dask_value_free(v);
    dask_array_free(s);
    dask_array_free(x);
    double freed = now() - t;
    double want = 64.0 * 63 / 2 + 64.0 * (double)n;
    printf("chain of %ld adds: built %.2f s, summed %.2f s, freed %.2f s (sum %.17g, %s)\n", n, built,
           computed, freed, total, total == want ? "exact" : "WRONG");
    dask_ufunc_free(add);
    dask_client_free(c);
    return total == want ? 0 : 1;
}
