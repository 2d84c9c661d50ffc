/*
 * One cluster, three languages (with read.jl and read.R, run by tests/cross/run.sh under
 * `libdask local-cluster`): this program publishes arrays made from C data, the Julia and R
 * sessions read them in their own layouts, then this program checks and unpublishes them.
 *   datasets publish | datasets unpublish
 */
#include "../c/harness.h"

static dask_array *from_host(dask_dtype dt, const void *data, size_t rows, size_t cols) {
    size_t shape[2] = {rows, cols}, chunks[2] = {2, 3};
    dask_value *v = NULL;
    dask_array *a = NULL;
    CHECK_OK(dask_value_copy_buffer(dt, 2, shape, data, &v));
    CHECK_OK(dask_array_from_value(v, chunks, &a));
    dask_value_free(v);
    return a;
}

int main(int argc, char **argv) {
    watchdog(120);
    const char *what = argc > 1 ? argv[1] : "";
    CHECK(getenv("DASK_SCHEDULER_ADDRESS") != NULL, "run under libdask local-cluster");
    dask_client *c = new_client(1);
    if (strcmp(what, "publish") == 0) {
        /* row-major 3 x 4: element [i][j] = 4 i + j */
        double f[12];
        int32_t k[12];
        for (int i = 0; i < 12; ++i) {
            f[i] = i + 0.5;
            k[i] = i - 6;
        }
        dask_array *a = from_host(DASK_FLOAT64, f, 3, 4), *b = from_host(DASK_INT32, k, 3, 4);
        CHECK_OK(dask_array_publish(c, a, "from_c_f64"));
        CHECK_OK(dask_array_publish(c, b, "from_c_i32"));
        dask_array_free(a);
        dask_array_free(b);
    } else if (strcmp(what, "unpublish") == 0) {
        /* Julia and R published theirs: a 2 x 3 matrix 1..6 in their column-major layout,
         * which is the library's 3 x 2 row-major (transposed) shape. */
        const char *names[2] = {"from_julia", "from_r"};
        for (int n = 0; n < 2; ++n) {
            dask_array *x = NULL;
            if (!CHECK_OK(dask_array_from_dataset(c, names[n], &x))) continue;
            dask_value *v = NULL;
            CHECK_OK(dask_array_compute(c, x, &v));
            dask_buffer_view bv;
            if (CHECK_OK(dask_value_buffer(v, &bv, sizeof bv))) {
                CHECK(bv.dtype == DASK_FLOAT64 && bv.ndim == 2 && bv.shape[0] == 3 && bv.shape[1] == 2,
                      "%s is float64 3 x 2 here", names[n]);
                /* Julia/R element (r, c) (1-based) = r + 2 (c - 1) sits at row-major [c-1][r-1] */
                int bad = 0;
                for (size_t i = 0; i < 3; ++i)
                    for (size_t j = 0; j < 2; ++j) {
                        double e;
                        memcpy(&e, (const char *)bv.data + (ptrdiff_t)i * bv.strides[0] + (ptrdiff_t)j * bv.strides[1],
                               sizeof e);
                        bad += e != (double)((j + 1) + 2 * i);
                    }
                CHECK(bad == 0, "%s has the other language's values in its layout", names[n]);
            }
            dask_value_free(v);
            dask_array_free(x);
            CHECK_OK(dask_client_unpublish_dataset(c, names[n]));
        }
        CHECK_OK(dask_client_unpublish_dataset(c, "from_c_f64"));
        CHECK_OK(dask_client_unpublish_dataset(c, "from_c_i32"));
        dask_value *list = NULL;
        CHECK_OK(dask_client_list_datasets(c, &list));
        const void *text = NULL;
        size_t len = 1;
        CHECK_OK(dask_value_bytes(list, &text, &len));
        CHECK(len == 0, "every dataset unpublished");
        dask_value_free(list);
    } else {
        CHECK(false, "usage: datasets publish|unpublish");
    }
    dask_client_free(c);
    return test_finish();
}
