/*
 * Tables from C on the embedded pool: 2,000,000 sales rows made in C and handed over as an
 * Arrow C stream, written as a Parquet dataset partitioned by region, read back lazily with
 * a filter pushed into the read, grouped by region, and read out through the Arrow C stream
 * interface (the same stream DuckDB's, polars' or pyarrow's importers take).
 */
#define _POSIX_C_SOURCE 200809L
#include "dask.h"
#include "arrow_columns.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROWS 2000000
#define BATCH 250000

static void die(const char *what, dask_status st) {
    fprintf(stderr, "%s failed: %s: %s\n", what, dask_status_name(st), dask_last_error_message());
    exit(1);
}
#define TRY(call) do { dask_status st_ = (call); if (st_ != DASK_OK) die(#call, st_); } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *REGIONS[] = {"north", "south", "east", "west", "centre"};

/* Prints every row of `t`, computed on `c`, through the Arrow C stream interface. */
static void print_rows(dask_client *c, const dask_table *t) {
    struct ArrowArrayStream s;
    TRY(dask_table_to_stream(c, t, 0, &s));
    struct ArrowSchema schema;
    if (s.get_schema(&s, &schema) != 0) die("get_schema", DASK_ERR_INVALID_ARGUMENT);
    for (int64_t k = 0; k < schema.n_children; k++) printf("%14s", schema.children[k]->name);
    printf("\n");
    struct ArrowArray a;
    while (s.get_next(&s, &a) == 0 && a.release != NULL) {
        for (int64_t i = 0; i < a.length; i++) {
            for (int64_t k = 0; k < a.n_children; k++) {
                const struct ArrowArray *col = a.children[k];
                const char *format = schema.children[k]->format;
                if (!arrow_valid(col, i)) printf("%14s", "null");
                else if (format[0] == 'l') printf("%14lld", (long long)arrow_i64(col, i));
                else if (format[0] == 'g') printf("%14.3f", arrow_f64(col, i));
                else {
                    int32_t len;
                    const char *str = arrow_text(schema.children[k], col, i, &len);
                    if (str != NULL) printf("%14.*s", (int)len, str);
                    else printf("%14s", format);
                }
            }
            printf("\n");
        }
        a.release(&a);
    }
    schema.release(&schema);
    s.release(&s);
}

int main(void) {
    /* The rows, in plain C arrays. */
    int64_t *id = malloc(ROWS * sizeof *id), *qty = malloc(ROWS * sizeof *qty);
    double *amount = malloc(ROWS * sizeof *amount);
    const char **region = malloc(ROWS * sizeof *region);
    if (!id || !qty || !amount || !region) return 1;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (int64_t i = 0; i < ROWS; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        id[i] = i;
        region[i] = REGIONS[rng % 5];
        qty[i] = 1 + (int64_t)(rng >> 40) % 20;
        amount[i] = (double)qty[i] * (5.0 + (double)((rng >> 20) % 1000) / 10.0);
    }
    const column_spec columns[] = {
        {"id", 'l', id, NULL, NULL, NULL},
        {"region", 'u', NULL, NULL, region, NULL},
        {"qty", 'l', qty, NULL, NULL, NULL},
        {"amount", 'g', NULL, amount, NULL, NULL},
    };

    dask_config cfg;
    TRY(dask_config_init(&cfg, sizeof cfg));
    dask_client *client = NULL;
    TRY(dask_client_new(&cfg, &client));

    /* 1. C arrays -> an Arrow C stream -> a table of 8 partitions. */
    struct ArrowArrayStream in;
    if (columns_stream(&in, columns, 4, ROWS, BATCH) != 0) return 1;
    dask_table *sales = NULL;
    TRY(dask_table_from_stream(&in, &sales));

    /* 2. A Parquet dataset, hive-partitioned by region. */
    char dir[] = "/tmp/dask-tables-example-XXXXXX";
    if (mkdtemp(dir) == NULL) return 1;
    char data[64];
    snprintf(data, sizeof data, "%s/sales", dir);
    dask_parquet_write_options w;
    TRY(dask_parquet_write_options_init(&w, sizeof w));
    const char *by[] = {"region"};
    w.partition_on = by;
    w.npartition_on = 1;
    w.compression = "zstd";
    double t0 = now();
    uint64_t written = 0;
    TRY(dask_table_write_parquet(client, sales, data, &w, &written));
    printf("wrote %llu rows to %s (region=.../part.NNNNN.parquet) in %.0f ms\n",
           (unsigned long long)written, data, (now() - t0) * 1e3);

    /* 3. Read it back lazily: only the files of two regions are opened, only two columns
     *    read, and only rows with amount > 500 kept. */
    dask_expr *amt = NULL, *lim = NULL, *big = NULL, *reg = NULL, *n = NULL, *e = NULL, *two = NULL,
              *filter = NULL;
    TRY(dask_expr_column("amount", &amt));
    TRY(dask_expr_float(500.0, &lim));
    TRY(dask_expr_compare(amt, DASK_CMP_GT, lim, &big));
    TRY(dask_expr_column("region", &reg));
    TRY(dask_expr_string("north", &n));
    TRY(dask_expr_string("east", &e));
    const dask_expr *names[] = {n, e};
    TRY(dask_expr_isin(reg, names, 2, &two));
    TRY(dask_expr_and(big, two, &filter));
    dask_parquet_options o;
    TRY(dask_parquet_options_init(&o, sizeof o));
    const char *wanted[] = {"region", "amount"};
    o.columns = wanted;
    o.ncolumns = 2;
    o.filter = filter;
    const char *paths[] = {data};
    dask_table *read = NULL;
    TRY(dask_read_parquet(paths, 1, &o, &read));
    char *text = NULL, *ftext = NULL;
    TRY(dask_table_describe(read, &text));
    TRY(dask_expr_to_string(filter, &ftext));
    printf("\nread_parquet(filter = %s):\n%s\n", ftext, text);
    dask_string_free(text);
    dask_string_free(ftext);

    /* 4. Group by region; the answer streams out through Arrow's C interface. */
    const char *keys[] = {"region"};
    dask_agg aggs[] = {
        {"count", "amount", "orders", 0, false},
        {"sum", "amount", "revenue", 0, false},
        {"mean", "amount", NULL, 0, false},
        {"std", "amount", NULL, 1, false},
    };
    dask_table *grouped = NULL;
    TRY(dask_table_group_by(read, keys, 1, true, aggs, 4, &grouped));
    t0 = now();
    printf("\ngroup by region (big orders in the north and east):\n");
    print_rows(client, grouped);
    printf("(read, filtered and aggregated in %.0f ms)\n", (now() - t0) * 1e3);

    /* 5. The first rows, and the numeric columns as a chunked array for the GLMs. */
    dask_table *head = NULL;
    TRY(dask_table_head(client, sales, 3, &head));
    printf("\nhead(3) of the table made in C:\n");
    print_rows(client, head);
    const char *numeric[] = {"qty", "amount"};
    dask_array *x = NULL;
    TRY(dask_table_to_array(client, sales, numeric, 2, 0, &x));
    size_t shape[2];
    TRY(dask_array_shape(x, shape));
    printf("\nto_array(qty, amount): a %zu x %zu float64 array, a row block per partition\n", shape[0],
           shape[1]);

    dask_array_free(x);
    dask_table_free(head);
    dask_table_free(grouped);
    dask_table_free(read);
    dask_table_free(sales);
    dask_expr_free(amt), dask_expr_free(lim), dask_expr_free(big), dask_expr_free(reg);
    dask_expr_free(n), dask_expr_free(e), dask_expr_free(two), dask_expr_free(filter);
    dask_client_free(client);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(id), free(qty), free(amount), free(region);
    return 0;
}
