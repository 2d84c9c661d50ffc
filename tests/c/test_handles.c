/*
 * Handles under abuse: 8 threads freeing the same handles at once (exactly one free of each
 * succeeds, the others are told the handle was freed already, and valgrind sees no double
 * free), and array handles lent to a C array kind's callback (freeing one is refused, the
 * call still works).
 */
#include "harness.h"

#include <pthread.h>

#define N_THREADS 8

static size_t n_handles;
static dask_value **values;
static dask_array **arrays;
static pthread_barrier_t start;
static atomic_long value_frees, array_frees, refusals_with_message;

static void *racer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    for (size_t i = 0; i < n_handles; ++i) {
        error_sentinel();
        dask_value_free(values[i]);
        if (last_error_has("freed already"))
            atomic_fetch_add(&refusals_with_message, 1);
        else if (!last_error_has(NULL))
            atomic_fetch_add(&value_frees, 1);
        error_sentinel();
        dask_array_free(arrays[i]);
        if (last_error_has("freed already"))
            atomic_fetch_add(&refusals_with_message, 1);
        else if (!last_error_has(NULL))
            atomic_fetch_add(&array_frees, 1);
    }
    return NULL;
}

static void test_racing_frees(void) {
    n_handles = scaled(2000);
    values = calloc(n_handles, sizeof *values);
    arrays = calloc(n_handles, sizeof *arrays);
    size_t shape[2] = {4, 4};
    for (size_t i = 0; i < n_handles; ++i) {
        CHECK_OK(dask_value_from_i64((int64_t)i, &values[i]));
        CHECK_OK(dask_array_ones(DASK_FLOAT64, 2, shape, NULL, &arrays[i]));
    }
    pthread_barrier_init(&start, NULL, N_THREADS);
    pthread_t t[N_THREADS];
    for (int k = 0; k < N_THREADS; ++k) pthread_create(&t[k], NULL, racer, NULL);
    for (int k = 0; k < N_THREADS; ++k) pthread_join(t[k], NULL);
    pthread_barrier_destroy(&start);
    CHECK(atomic_load(&value_frees) == (long)n_handles, "each value freed once: %ld of %zu",
          atomic_load(&value_frees), n_handles);
    CHECK(atomic_load(&array_frees) == (long)n_handles, "each array freed once: %ld of %zu",
          atomic_load(&array_frees), n_handles);
    CHECK(atomic_load(&refusals_with_message) == (long)(2 * n_handles * (N_THREADS - 1)),
          "every other free is refused with a message: %ld", atomic_load(&refusals_with_message));
    free(values);
    free(arrays);
}

/* A C array kind whose objects are doubles; its ufunc_call tries to free the handles it was
 * lent (refused), then adds the scalars. */
static atomic_int lent_free_refused, lent_calls;

static int32_t kind_call(void *kind_ctx, const char *name, const dask_operand *args, size_t n,
                         void **out_object) {
    (void)kind_ctx;
    if (strcmp(name, "add") != 0 || n != 2) return DASK_ERR_NOT_IMPLEMENTED;
    atomic_fetch_add(&lent_calls, 1);
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        if (args[i].kind == DASK_OPERAND_ARRAY) {
            error_sentinel();
            dask_array_free((dask_array *)args[i].array);
            if (last_error_has("lent")) atomic_fetch_add(&lent_free_refused, 1);
            void *obj = NULL;
            if (dask_array_object(args[i].array, &obj) != DASK_OK) return DASK_ERR_INVALID_HANDLE;
            sum += *(double *)obj;
        } else {
            sum += args[i].f;
        }
    }
    double *out = malloc(sizeof *out);
    *out = sum;
    *out_object = out;
    return DASK_OK;
}

static void kind_release(void *kind_ctx, void *object) {
    (void)kind_ctx;
    free(object);
}

static void test_lent_operands(void) {
    dask_kind_vtable vt = {.struct_size = sizeof vt, .ufunc_call = kind_call, .release = kind_release};
    dask_kind_id kind = 0;
    if (!CHECK_OK(dask_kind_register("ctest.handles.scalar", 5, &vt, NULL, &kind))) return;
    double *obj = malloc(sizeof *obj);
    *obj = 2.5;
    dask_array *x = NULL, *y = NULL;
    if (!CHECK_OK(dask_array_from_object(kind, obj, &x))) return;
    dask_ufunc *add = NULL;
    CHECK_OK(dask_ufunc_lookup("add", &add));
    dask_operand args[2] = {{.kind = DASK_OPERAND_ARRAY, .array = x}, {.kind = DASK_OPERAND_FLOAT, .f = 1.0}};
    if (CHECK_OK(dask_ufunc_call(add, args, 2, &y))) {
        void *r = NULL;
        CHECK_OK(dask_array_object(y, &r));
        CHECK(r != NULL && *(double *)r == 3.5, "the kind's result is 2.5 + 1");
    }
    CHECK(atomic_load(&lent_calls) == 1 && atomic_load(&lent_free_refused) == 1,
          "freeing a lent operand is refused with a message naming it lent");
    /* The caller's own handle is still live and freed normally. */
    error_sentinel();
    dask_array_free(x);
    CHECK(!last_error_has(NULL), "the caller frees its own handle");
    dask_array_free(y);
    dask_ufunc_free(add);
}

int main(void) {
    watchdog(small_mode() ? 300 : 60);
    test_racing_frees();
    test_lent_operands();
    return test_finish();
}
