/*
 * A plugin of C operations for the workers of tests/c/test_plugin.c: built as a shared
 * library without -ldask (its dask_* calls resolve to the process that loads it: a worker
 * of the libdask program, or a client linked with libdask.so).
 */
#include "dask.h"

#include <stdint.h>

/* plugin_square(i) = i * i */
static int32_t square(void *ctx, const dask_value *const *inputs, size_t n, dask_value **out) {
    (void)ctx;
    int64_t x = 0;
    if (n != 1) {
        dask_error_set("plugin_square takes one integer");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    if (dask_value_as_i64(inputs[0], &x) != DASK_OK) {
        dask_error_set("plugin_square: the input is not an integer");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    return dask_value_from_i64(x * x, out);
}

/* plugin_checked_div(a, b) = a / b, refusing b = 0 with a message */
static int32_t checked_div(void *ctx, const dask_value *const *inputs, size_t n, dask_value **out) {
    (void)ctx;
    int64_t a = 0, b = 0;
    if (n != 2 || dask_value_as_i64(inputs[0], &a) != DASK_OK || dask_value_as_i64(inputs[1], &b) != DASK_OK) {
        dask_error_set("plugin_checked_div takes two integers");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    if (b == 0) {
        dask_error_set("plugin_checked_div: division by zero");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    return dask_value_from_i64(a / b, out);
}

int32_t dask_plugin_init(void) {
    dask_op_id id;
    dask_status st = dask_op_register("plugin_square", square, NULL, 0, &id);
    if (st != DASK_OK) return st;
    return dask_op_register("plugin_checked_div", checked_div, NULL, 0, &id);
}
