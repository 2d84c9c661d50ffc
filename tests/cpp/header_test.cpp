// The header is usable from C++17: this program includes it (with -Wall -Wextra -Werror),
// links libdask.so and runs a small graph, checking the result against plain C++.
#include "dask.h"

#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

static int failures = 0;
static int passes = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            ++passes;                                                                 \
        } else {                                                                      \
            ++failures;                                                               \
            std::fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, \
                         dask_last_error_message());                                  \
        }                                                                             \
    } while (0)

// Doubles every element of a float64 buffer into a new buffer.
extern "C" int32_t twice(void *, const dask_value *const *inputs, size_t n, dask_value **out) {
    if (n != 1) {
        dask_error_set("twice takes one buffer");
        return DASK_ERR_INVALID_ARGUMENT;
    }
    dask_buffer_view view;
    if (dask_value_buffer(inputs[0], &view, sizeof view) != DASK_OK || view.dtype != DASK_FLOAT64 || !view.c_contiguous) {
        dask_error_set("twice takes a contiguous float64 buffer");
        return DASK_ERR_DTYPE;
    }
    void *data = nullptr;
    int32_t st = dask_value_new_buffer(DASK_FLOAT64, view.ndim, view.shape, out, &data);
    if (st != DASK_OK) return st;
    const double *src = static_cast<const double *>(view.data);
    double *dst = static_cast<double *>(data);
    for (size_t i = 0; i < view.len; ++i) dst[i] = 2.0 * src[i];
    return DASK_OK;
}

int main() {
    dask_config cfg;
    dask_config_init(&cfg, sizeof cfg);
    cfg.threads = 2;
    dask_client *client = nullptr;
    CHECK(dask_client_new(&cfg, &client) == DASK_OK);

    dask_op_id op = 0, sum = 0;
    CHECK(dask_op_register("cpp.twice", twice, nullptr, 0, &op) == DASK_OK);
    CHECK(dask_op_lookup("sum", &sum) == DASK_OK);

    std::vector<double> host(1000);
    std::iota(host.begin(), host.end(), 0.0);
    size_t shape[1] = {host.size()};
    dask_value *input = nullptr;
    CHECK(dask_value_copy_buffer(DASK_FLOAT64, 1, shape, host.data(), &input) == DASK_OK);

    dask_graph *g = nullptr;
    CHECK(dask_graph_new(&g) == DASK_OK);
    dask_arg a{};
    a.kind = DASK_ARG_VALUE;
    a.value = input;
    size_t doubled = 0;
    CHECK(dask_graph_add_task(g, "doubled", op, &a, 1, &doubled) == DASK_OK);
    dask_future *f = nullptr;
    CHECK(dask_client_compute(client, g, &doubled, 1, &f) == DASK_OK);
    dask_value *result = nullptr;
    CHECK(dask_future_result(f, -1.0, &result) == DASK_OK);
    dask_buffer_view view;
    CHECK(dask_value_buffer(result, &view, sizeof view) == DASK_OK);
    const double *out = static_cast<const double *>(view.data);
    bool same = view.len == host.size();
    for (size_t i = 0; same && i < host.size(); ++i) same = out[i] == 2.0 * host[i];
    CHECK(same);

    dask_value_free(result);
    dask_future_free(f);
    dask_graph_free(g);
    dask_value_free(input);
    dask_client_free(client);
    std::printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
