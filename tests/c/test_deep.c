/*
 * Deep lazy graphs through the C ABI: the loop `x = x + 1` of an iterative algorithm, run
 * 8,000, 100,000 and 1,000,000 times with dask_ufunc_call, then summed, computed and freed.
 * Each result is checked against the same recurrence run in plain C. Freeing a chain that was
 * never computed must not crash either. DASK_STRESS_SMALL=1 (valgrind) shortens the chains.
 */
#include "harness.h"

static dask_client *C;

/* x = arange(len) in blocks of `chunk`; then `n` times x = x + 1.0; returns x. */
static dask_array *add_chain(size_t n, size_t len, size_t chunk) {
    dask_ufunc *add = NULL;
    dask_array *x = NULL;
    if (!CHECK_OK(dask_ufunc_lookup("add", &add)) ||
        !CHECK_OK(dask_array_arange(0.0, (double)len, 1.0, DASK_FLOAT64, chunk, &x)))
        return NULL;
    for (size_t i = 0; i < n; ++i) {
        dask_operand args[2] = {{.kind = DASK_OPERAND_ARRAY, .array = x},
                                {.kind = DASK_OPERAND_FLOAT, .f = 1.0}};
        dask_array *next = NULL;
        dask_status st = dask_ufunc_call(add, args, 2, &next);
        if (st != DASK_OK) {
            CHECK_OK(st);
            dask_array_free(x);
            dask_ufunc_free(add);
            return NULL;
        }
        /* The new array keeps what it needs: the caller's handle can go at once, as a
         * binding's garbage collector would let it go. */
        dask_array_free(x);
        x = next;
    }
    dask_ufunc_free(add);
    return x;
}

/* The sum of x, computed, as a double. */
static bool sum_of(const dask_array *x, double *out) {
    dask_array *s = NULL;
    dask_value *v = NULL;
    /* A full reduction is a 0-d value, read as a number directly. */
    bool ok = CHECK_OK(dask_array_reduce(x, DASK_REDUCE_SUM, NULL, 0, false, 0.0, 0, &s)) &&
              CHECK_OK(dask_array_compute(C, s, &v)) && CHECK_OK(dask_value_as_f64(v, out));
    dask_value_free(v);
    dask_array_free(s);
    return ok;
}

static void chain_case(size_t n, size_t len, size_t chunk, bool compute_elements) {
    double t0 = now_s();
    dask_array *x = add_chain(n, len, chunk);
    if (x == NULL) return;
    double total = 0.0, want = 0.0;
    for (size_t i = 0; i < len; ++i) want += (double)(i + n);
    if (sum_of(x, &total)) CHECK(total == want, "sum after %zu adds: %.17g, want %.17g", n, total, want);
    if (compute_elements) {
        double *out = malloc(len * sizeof *out);
        if (CHECK_OK(dask_array_compute_into(C, x, DASK_FLOAT64, out, len * sizeof *out))) {
            size_t bad = 0;
            for (size_t i = 0; i < len; ++i) bad += out[i] != (double)(i + n);
            CHECK(bad == 0, "%zu of %zu elements differ from i + %zu", bad, len, n);
        }
        free(out);
    }
    dask_array_free(x);
    printf("chain of %zu adds over %zu elements: built, computed and freed in %.2f s\n", n, len,
           now_s() - t0);
}

static void uncomputed_chain_is_freed(size_t n) {
    dask_array *x = add_chain(n, 16, 4);
    CHECK(x != NULL, "a chain of %zu adds is built", n);
    dask_array_free(x); /* the whole chain goes here */
}

int main(void) {
    alarm(small_mode() ? 1800 : 300);
    signal(SIGALRM, harness_on_alarm);
    if (!CHECK_OK(dask_client_new(NULL, &C))) return test_finish();
    bool small = small_mode();
    /* The case from the report: 8,000 adds then a sum (crashed before). */
    chain_case(8000, 1000, 100, true);
    chain_case(small ? 10000 : 100000, 1000, 300, true);
    chain_case(small ? 20000 : 1000000, 64, 64, !small);
    uncomputed_chain_is_freed(small ? 20000 : 1000000);
    dask_client_free(C);
    return test_finish();
}
