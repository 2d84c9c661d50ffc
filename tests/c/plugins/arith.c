/*
 * A plugin of C operations for the workers of tests/c/test_plugin.c: built as a shared
 * library without -ldask (its dask_* calls resolve to the process that loads it: a worker
 * of the libdask program, or a client linked with libdask.so).
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"

#include <stdint.h>
#include <time.h>
#include <unistd.h>

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

/* plugin_sleep_pid(ms, ...) sleeps ms milliseconds and gives the id of the process that ran
 * it (which worker did the work); further inputs are only read as dependencies. */
static int32_t sleep_pid(void *ctx, const dask_value *const *inputs, size_t n, dask_value **out) {
    (void)ctx;
    int64_t ms = 0;
    if (n < 1 || dask_value_as_i64(inputs[0], &ms) != DASK_OK || ms < 0 || ms > 10000) {
        dask_error_set("plugin_sleep_pid takes a number of milliseconds (0 to 10000)");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return dask_value_from_i64((int64_t)getpid(), out);
}

int32_t dask_plugin_init(void) {
    dask_op_id id;
    dask_status st = dask_op_register("plugin_square", square, NULL, 0, &id);
    if (st != DASK_OK) return st;
    st = dask_op_register("plugin_checked_div", checked_div, NULL, 0, &id);
    if (st != DASK_OK) return st;
    return dask_op_register("plugin_sleep_pid", sleep_pid, NULL, 0, &id);
}
