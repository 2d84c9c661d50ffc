/*
 * Tables from C: a table imported from a C-made Arrow stream, written to Parquet and read
 * back, filtered, reduced, grouped, cut to its head and turned into an array, each result
 * read out through the Arrow C stream interface and compared with the same computation done
 * here row by row; then the errors (bad arguments, freed handles, a file damaged between
 * planning and computing) and a stream released early.
 */
#include "harness.h"
#include "array_helpers.h"
#include "arrow_columns.h"

#include <math.h>
#include <sys/stat.h>

#define N 3000
#define BATCH 1000

static const char *WORDS[] = {"alpha", "beta", "gamma", "delta", "epsilon"};
static int64_t ids[N];
static double xs[N];
static const char *names[N];
static uint8_t x_valid[N], name_valid[N];

static void make_data(void) {
    rng_t r = rng_new(19);
    for (int i = 0; i < N; i++) {
        ids[i] = i;
        xs[i] = (double)rng_below(&r, 1000000) / 1e6;
        x_valid[i] = i % 7 != 3;
        names[i] = WORDS[rng_below(&r, 5)];
        name_valid[i] = i % 11 != 5;
    }
}

static const column_spec COLUMNS[] = {
    {"id", 'l', ids, NULL, NULL, NULL},
    {"x", 'g', NULL, xs, NULL, x_valid},
    {"name", 'u', NULL, NULL, names, name_valid},
};

static dask_table *imported(void) {
    struct ArrowArrayStream s;
    CHECK(columns_stream(&s, COLUMNS, 3, N, BATCH) == 0, "made the stream");
    dask_table *t = NULL;
    CHECK_OK(dask_table_from_stream(&s, &t));
    CHECK(s.release == NULL, "the stream was taken over");
    return t;
}

static long parquet_files(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".parquet") != NULL && e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static bool same_str(const char *a, int32_t len, const char *b) {
    return (size_t)len == strlen(b) && memcmp(a, b, (size_t)len) == 0;
}

/* Reads every batch of `t` computed on `c` and calls `row(schema, batch, i, ctx)` per row. */
typedef void (*row_fn)(const struct ArrowSchema *, const struct ArrowArray *, int64_t, void *);
static int64_t each_row(dask_client *c, const dask_table *t, row_fn row, void *ctx) {
    struct ArrowArrayStream s;
    if (!CHECK_OK(dask_table_to_stream(c, t, 0, &s))) return -1;
    struct ArrowSchema schema;
    CHECK(s.get_schema(&s, &schema) == 0, "get_schema");
    int64_t rows = 0;
    for (;;) {
        struct ArrowArray a;
        int rc = s.get_next(&s, &a);
        if (!CHECK(rc == 0, "get_next: %s", s.get_last_error(&s))) break;
        if (a.release == NULL) break;
        CHECK(a.n_children == schema.n_children, "a child per column");
        for (int64_t i = 0; i < a.length; i++) row(&schema, &a, i, ctx);
        rows += a.length;
        a.release(&a);
    }
    schema.release(&schema);
    s.release(&s);
    return rows;
}

/* ---- the imported table comes back as it went in ---- */

static void check_source_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    int64_t *seen = (int64_t *)ctx;
    const struct ArrowArray *id = a->children[arrow_child(s, "id")];
    const struct ArrowArray *x = a->children[arrow_child(s, "x")];
    const struct ArrowArray *name = a->children[arrow_child(s, "name")];
    int64_t k = arrow_i64(id, i);
    bool ok = k == *seen && arrow_valid(x, i) == (bool)x_valid[k] &&
              (!x_valid[k] || arrow_f64(x, i) == xs[k]) && arrow_valid(name, i) == (bool)name_valid[k];
    if (ok && name_valid[k]) {
        int32_t len;
        const char *str = arrow_str(name, i, &len);
        ok = same_str(str, len, names[k]);
    }
    if (!ok) CHECK(false, "row %lld differs from the source", (long long)k);
    ++*seen;
}

static void test_import_export(dask_client *c) {
    dask_table *t = imported();
    size_t n = 0;
    CHECK_OK(dask_table_num_partitions(t, &n));
    CHECK(n == N / BATCH, "a partition per batch (%zu)", n);
    int64_t rows = 0;
    CHECK_OK(dask_table_num_rows(t, &rows));
    CHECK(rows == N, "rows known (%lld)", (long long)rows);
    CHECK_OK(dask_table_num_columns(t, &n));
    CHECK(n == 3, "three columns");
    const char *want_type[] = {"l", "g", "u"};
    for (size_t i = 0; i < 3; i++) {
        const char *name = NULL, *type = NULL;
        CHECK_OK(dask_table_column_name(t, i, &name));
        CHECK_OK(dask_table_column_type(t, i, &type));
        CHECK(strcmp(name, COLUMNS[i].name) == 0 && strcmp(type, want_type[i]) == 0,
              "column %zu: %s %s", i, name, type);
    }
    const char *name = NULL;
    CHECK_ERR(dask_table_column_name(t, 3, &name), DASK_ERR_INVALID_ARGUMENT);

    struct ArrowSchema schema;
    CHECK_OK(dask_table_schema(t, &schema));
    CHECK(strcmp(schema.format, "+s") == 0 && schema.n_children == 3, "a struct schema of 3");
    CHECK(strcmp(schema.children[2]->format, "u") == 0 && strcmp(schema.children[2]->name, "name") == 0,
          "the name column");
    schema.release(&schema);

    char *text = NULL;
    CHECK_OK(dask_table_describe(t, &text));
    CHECK(strstr(text, "3 partitions") && strstr(text, "3000 rows") && strstr(text, "name: Utf8"),
          "describe: %s", text);
    dask_string_free(text);

    int64_t seen = 0;
    CHECK(each_row(c, t, check_source_row, &seen) == N, "every row streams back");

    /* all rows as one future (what the bindings wait on), exported as one struct array */
    dask_future *f = NULL;
    CHECK_OK(dask_table_submit(c, t, &f));
    dask_value *v = NULL;
    CHECK_OK(dask_future_result(f, -1.0, &v));
    struct ArrowSchema vs;
    struct ArrowArray va;
    CHECK_OK(dask_value_table_export(v, &vs, &va));
    dask_value_free(v); /* the exported array keeps the buffers */
    dask_future_free(f);
    CHECK(va.length == N && va.n_children == 3, "one batch of every row (%lld)", (long long)va.length);
    seen = 0;
    for (int64_t i = 0; i < va.length; i++) check_source_row(&vs, &va, i, &seen);
    CHECK(seen == N, "the exported rows are the source's");
    va.release(&va);
    vs.release(&vs);
    dask_value *not_table = NULL;
    CHECK_OK(dask_value_from_f64(1.5, &not_table));
    CHECK_ERR(dask_value_table_export(not_table, &vs, &va), DASK_ERR_INVALID_ARGUMENT);
    dask_value_free(not_table);
    dask_table_free(t);
}

/* ---- Parquet, filters, aggregations against the row-by-row answers ---- */

typedef struct {
    double sum[5];
    int64_t count[5], rows;
    double sumsq[5];
    int64_t ok_rows;
} group_check;

static int word(const char *s, int32_t len) {
    for (int w = 0; w < 5; w++)
        if (same_str(s, len, WORDS[w])) return w;
    return -1;
}

static bool kept(int i) {
    /* x > 0.5 and name in ("alpha", "gamma") */
    return x_valid[i] && xs[i] > 0.5 && name_valid[i] &&
           (strcmp(names[i], "alpha") == 0 || strcmp(names[i], "gamma") == 0);
}

static void check_group_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    group_check *g = (group_check *)ctx;
    int32_t len = 0;
    int k = arrow_child(s, "name");
    const char *key = arrow_text(s->children[k], a->children[k], i, &len);
    int w = key != NULL ? word(key, len) : -1;
    CHECK(w >= 0, "group key %d is one of the words", (int)i);
    double sum = arrow_f64(a->children[arrow_child(s, "x_sum")], i);
    int64_t count = arrow_i64(a->children[arrow_child(s, "n")], i);
    double var = arrow_f64(a->children[arrow_child(s, "x_var")], i);
    g->rows++;
    if (w < 0) return;
    double mean = g->sum[w] / (double)g->count[w];
    double want_var = (g->sumsq[w] - g->count[w] * mean * mean) / (double)(g->count[w] - 1);
    bool ok = count == g->count[w] && fabs(sum - g->sum[w]) <= 1e-9 * fabs(g->sum[w]) + 1e-12 &&
              fabs(var - want_var) <= 1e-9;
    if (ok) g->ok_rows++;
    else CHECK(false, "group %s: %g %lld %g, want %g %lld %g", WORDS[w], sum, (long long)count, var,
               g->sum[w], (long long)g->count[w], want_var);
}

static dask_expr *the_filter(void) {
    dask_expr *x = NULL, *half = NULL, *gt = NULL, *name = NULL, *a = NULL, *b = NULL, *in = NULL,
              *both = NULL;
    CHECK_OK(dask_expr_column("x", &x));
    CHECK_OK(dask_expr_float(0.5, &half));
    CHECK_OK(dask_expr_compare(x, DASK_CMP_GT, half, &gt));
    CHECK_OK(dask_expr_column("name", &name));
    CHECK_OK(dask_expr_string("alpha", &a));
    CHECK_OK(dask_expr_string("gamma", &b));
    const dask_expr *values[] = {a, b};
    CHECK_OK(dask_expr_isin(name, values, 2, &in));
    CHECK_OK(dask_expr_and(gt, in, &both));
    char *text = NULL;
    CHECK_OK(dask_expr_to_string(both, &text));
    CHECK(strstr(text, "x") && strstr(text, "alpha") && strstr(text, "gamma"), "printed: %s", text);
    dask_string_free(text);
    /* isin takes literals only */
    dask_expr *bad = NULL;
    const dask_expr *not_literal[] = {x};
    CHECK_ERR(dask_expr_isin(name, not_literal, 1, &bad), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("literal"), "says why: %s", dask_last_error_message());
    CHECK_ERR(dask_expr_compare(x, 99, half, &bad), DASK_ERR_INVALID_ARGUMENT);
    dask_expr_free(x), dask_expr_free(half), dask_expr_free(gt), dask_expr_free(name);
    dask_expr_free(a), dask_expr_free(b), dask_expr_free(in);
    return both;
}

static void check_groups(dask_client *c, const dask_table *filtered, const char *what) {
    group_check g;
    memset(&g, 0, sizeof g);
    for (int i = 0; i < N; i++) {
        if (!kept(i)) continue;
        int w = word(names[i], (int32_t)strlen(names[i]));
        g.sum[w] += xs[i], g.sumsq[w] += xs[i] * xs[i], g.count[w]++;
    }
    const char *keys[] = {"name"};
    dask_agg aggs[] = {
        {"sum", "x", NULL, 0, false},
        {"count", "x", "n", 0, false},
        {"var", "x", NULL, 1, false},
    };
    dask_table *grouped = NULL;
    CHECK_OK(dask_table_group_by(filtered, keys, 1, true, aggs, 3, &grouped));
    each_row(c, grouped, check_group_row, &g);
    CHECK(g.rows == 2 && g.ok_rows == 2, "%s: two groups, both right (%lld, %lld)", what,
          (long long)g.rows, (long long)g.ok_rows);
    dask_table_free(grouped);
}

typedef struct {
    int64_t rows;
    double id_sum, x_mean;
    int64_t x_nulls, names;
    bool na_sum_valid;
} whole_check;

static void read_whole(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    whole_check *w = (whole_check *)ctx;
    w->rows++;
    w->id_sum = (double)arrow_i64(a->children[arrow_child(s, "id_sum")], i);
    w->x_mean = arrow_f64(a->children[arrow_child(s, "x_mean")], i);
    w->x_nulls = arrow_i64(a->children[arrow_child(s, "x_null_count")], i);
    w->names = arrow_i64(a->children[arrow_child(s, "name_n_unique")], i);
    w->na_sum_valid = arrow_valid(a->children[arrow_child(s, "x_sum_na")], i);
}

static void check_head_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    int64_t *next = (int64_t *)ctx;
    CHECK(arrow_i64(a->children[arrow_child(s, "id")], i) == *next, "head row %lld", (long long)*next);
    ++*next;
}

static void test_parquet(dask_client *c, const char *dir) {
    dask_table *t = imported();
    dask_parquet_write_options w;
    CHECK_OK(dask_parquet_write_options_init(&w, sizeof w));
    w.compression = "zstd";
    w.row_group_size = 250;
    uint64_t written = 0;
    CHECK_OK(dask_table_write_parquet(c, t, dir, &w, &written));
    CHECK(written == N, "rows written (%llu)", (unsigned long long)written);
    CHECK(parquet_files(dir) == N / BATCH, "a file per partition (%ld)", parquet_files(dir));
    /* a directory that holds files is refused, nothing overwritten */
    CHECK_ERR(dask_table_write_parquet(c, t, dir, NULL, NULL), DASK_ERR_INVALID_ARGUMENT);
    dask_table_free(t);

    const char *paths[] = {dir};
    dask_table *back = NULL;
    CHECK_OK(dask_read_parquet(paths, 1, NULL, &back));
    int64_t rows = 0;
    CHECK_OK(dask_table_num_rows(back, &rows));
    CHECK(rows == N, "rows from the footers (%lld)", (long long)rows);
    int64_t seen = 0;
    CHECK(each_row(c, back, check_source_row, &seen) == N, "every row read back");
    /* every engine reads the same rows; an unknown one is refused */
    const char *engines[] = {"arrow", "column", "auto"};
    for (int e = 0; e < 3; e++) {
        dask_parquet_options eo;
        CHECK_OK(dask_parquet_options_init(&eo, sizeof eo));
        eo.engine = engines[e];
        dask_table *by = NULL;
        CHECK_OK(dask_read_parquet(paths, 1, &eo, &by));
        int64_t rows_by = 0;
        CHECK(each_row(c, by, check_source_row, &rows_by) == N, "engine %s: every row read back", engines[e]);
        dask_table_free(by);
    }
    dask_parquet_options unknown;
    CHECK_OK(dask_parquet_options_init(&unknown, sizeof unknown));
    unknown.engine = "fastparquet";
    dask_table *none = NULL;
    CHECK_ERR(dask_read_parquet(paths, 1, &unknown, &none), DASK_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL && last_error_has("fastparquet"), "an unknown engine: %s", dask_last_error_message());

    /* the filter two ways: applied to the table, and pushed into the read */
    dask_expr *f = the_filter();
    dask_table *filtered = NULL;
    CHECK_OK(dask_table_filter(back, f, &filtered));
    check_groups(c, filtered, "filter after reading");
    dask_parquet_options o;
    CHECK_OK(dask_parquet_options_init(&o, sizeof o));
    o.filter = f;
    o.split_row_groups = 1;
    const char *cols[] = {"name", "x"};
    o.columns = cols;
    o.ncolumns = 2;
    dask_table *pushed = NULL;
    CHECK_OK(dask_read_parquet(paths, 1, &o, &pushed));
    size_t parts = 0;
    CHECK_OK(dask_table_num_partitions(pushed, &parts));
    CHECK(parts == N / 250, "a partition per row group (%zu)", parts);
    check_groups(c, pushed, "filter in the read");
    dask_expr_free(f);
    dask_table_free(filtered);
    dask_table_free(pushed);

    /* whole-column reductions */
    dask_agg aggs[] = {
        {"sum", "id", NULL, 0, false},
        {"mean", "x", NULL, 0, false},
        {"null_count", "x", NULL, 0, false},
        {"n_unique", "name", NULL, 0, false},
        {"sum", "x", "x_sum_na", 0, true}, /* R's sum without na.rm: NA */
    };
    dask_table *reduced = NULL;
    CHECK_OK(dask_table_agg(back, aggs, 5, &reduced));
    whole_check got;
    memset(&got, 0, sizeof got);
    each_row(c, reduced, read_whole, &got);
    double x_sum = 0;
    int64_t x_n = 0;
    for (int i = 0; i < N; i++)
        if (x_valid[i]) x_sum += xs[i], x_n++;
    CHECK(got.rows == 1 && got.id_sum == (double)N * (N - 1) / 2 && fabs(got.x_mean - x_sum / x_n) < 1e-12 &&
              got.x_nulls == N - x_n && got.names == 5 && !got.na_sum_valid,
          "reductions: %g %g %lld %lld", got.id_sum, got.x_mean, (long long)got.x_nulls, (long long)got.names);
    dask_table_free(reduced);

    /* head: the first rows, computed now */
    dask_table *head = NULL;
    CHECK_OK(dask_table_head(c, back, 5, &head));
    CHECK_OK(dask_table_num_rows(head, &rows));
    CHECK(rows == 5, "five rows (%lld)", (long long)rows);
    int64_t next = 0;
    each_row(c, head, check_head_row, &next);
    CHECK(next == 5, "head streamed 5 rows");
    dask_table_free(head);

    /* to_array: id and x as float64 (NumPy's promotion), nulls NaN */
    const char *numeric[] = {"id", "x"};
    dask_array *arr = NULL;
    CHECK_OK(dask_table_to_array(c, back, numeric, 2, 0, &arr));
    size_t shape[2] = {0, 0};
    CHECK_OK(dask_array_shape(arr, shape));
    CHECK(shape[0] == N && shape[1] == 2, "shape %zu x %zu", shape[0], shape[1]);
    double *m = alloc_d(2 * N);
    CHECK_OK(dask_array_compute_into(c, arr, DASK_FLOAT64, m, sizeof(double) * 2 * N));
    int bad = 0;
    for (int i = 0; i < N; i++)
        if (m[2 * i] != (double)i || (x_valid[i] ? m[2 * i + 1] != xs[i] : !isnan(m[2 * i + 1]))) bad++;
    CHECK(bad == 0, "to_array: %d rows differ", bad);
    free(m);
    dask_array_free(arr);
    dask_array *ints = NULL;
    /* computed now, so the null is found by the task that meets it */
    CHECK_ERR(dask_table_to_array(c, back, numeric, 2, DASK_INT64, &ints), DASK_ERR_TASK);
    CHECK(last_error_has("null"), "an integer array cannot hold the nulls: %s", dask_last_error_message());
    dask_table_free(back);
}

/* ---- a hive dataset: the name column becomes directories and comes back as a dictionary ---- */

static void test_hive(dask_client *c, const char *dir) {
    dask_table *t = imported();
    dask_parquet_write_options w;
    CHECK_OK(dask_parquet_write_options_init(&w, sizeof w));
    const char *by[] = {"name"};
    w.partition_on = by;
    w.npartition_on = 1;
    CHECK_OK(dask_table_write_parquet(c, t, dir, &w, NULL));
    dask_table_free(t);
    const char *paths[] = {dir};
    dask_table *back = NULL;
    CHECK_OK(dask_read_parquet(paths, 1, NULL, &back));
    size_t ncols = 0;
    CHECK_OK(dask_table_num_columns(back, &ncols));
    const char *last = NULL, *type = NULL;
    CHECK_OK(dask_table_column_name(back, ncols - 1, &last));
    CHECK_OK(dask_table_column_type(back, ncols - 1, &type));
    CHECK(strcmp(last, "name") == 0 && strcmp(type, "i") == 0, "the key last, int32 codes: %s %s", last,
          type);
    dask_expr *f = the_filter();
    dask_table *filtered = NULL;
    CHECK_OK(dask_table_filter(back, f, &filtered));
    check_groups(c, filtered, "hive dataset");
    dask_expr_free(f);
    dask_table_free(filtered);
    dask_table_free(back);
}

/* ---- errors lose nothing ---- */

static void test_errors(dask_client *c, const char *dir) {
    dask_table *t = imported(), *out = NULL;
    const char *nope[] = {"nope"};
    CHECK_ERR(dask_table_select(t, nope, 1, &out), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("nope"), "names the column: %s", dask_last_error_message());
    dask_agg bad_func[] = {{"median", "x", NULL, 0, false}};
    CHECK_ERR(dask_table_agg(t, bad_func, 1, &out), DASK_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has("median"), "names the function: %s", dask_last_error_message());
    dask_agg sum_name[] = {{"sum", "name", NULL, 0, false}};
    CHECK(dask_table_agg(t, sum_name, 1, &out) != DASK_OK, "a sum of strings is refused");
    CHECK_ERR(dask_table_agg(t, NULL, 0, &out), DASK_ERR_INVALID_ARGUMENT);
    dask_agg count_na[] = {{"count", "x", NULL, 0, true}};
    CHECK_ERR(dask_table_agg(t, count_na, 1, &out), DASK_ERR_INVALID_ARGUMENT);
    dask_agg ok[] = {{"sum", "x", NULL, 0, false}};
    CHECK_ERR(dask_table_group_by(t, NULL, 0, true, ok, 1, &out), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_table_from_stream(NULL, &out), DASK_ERR_NULL_ARGUMENT);
    struct ArrowArrayStream released;
    memset(&released, 0, sizeof released);
    CHECK(dask_table_from_stream(&released, &out) != DASK_OK, "a released stream is refused");
    const char *missing[] = {"/nonexistent/dask/table.parquet"};
    CHECK_ERR(dask_read_parquet(missing, 1, NULL, &out), DASK_ERR_NOT_FOUND);
    CHECK(last_error_has("/nonexistent/dask/table.parquet"), "names the path");
    dask_parquet_write_options w;
    CHECK_OK(dask_parquet_write_options_init(&w, sizeof w));
    w.compression = "brotli-9000";
    CHECK_ERR(dask_table_write_parquet(c, t, "/tmp/never-written", &w, NULL), DASK_ERR_INVALID_ARGUMENT);
    struct stat st;
    CHECK(stat("/tmp/never-written", &st) != 0, "nothing written for a refused codec");
    CHECK(out == NULL, "no table made by the failures");

    /* a file damaged after the table was planned: the stream reports it, the process lives
       (a copy of its own: the tasks that read the other one are replayed by travel-test) */
    CHECK_OK(dask_table_write_parquet(c, t, dir, NULL, NULL));
    const char *paths[] = {dir};
    dask_table *planned = NULL;
    CHECK_OK(dask_read_parquet(paths, 1, NULL, &planned));
    char victim[600];
    snprintf(victim, sizeof victim, "%s/part.00001.parquet", dir);
    FILE *fh = fopen(victim, "r+b");
    CHECK(fh != NULL, "open %s", victim);
    if (fh != NULL) {
        fseek(fh, 0, SEEK_END);
        long size = ftell(fh);
        fseek(fh, size / 2, SEEK_SET);
        char junk[64];
        memset(junk, 0x5a, sizeof junk);
        fwrite(junk, 1, sizeof junk, fh);
        fseek(fh, 4, SEEK_SET);
        fwrite(junk, 1, sizeof junk, fh);
        fclose(fh);
    }
    struct ArrowArrayStream s;
    CHECK_OK(dask_table_to_stream(c, planned, 1, &s));
    int failures = 0, batches = 0;
    for (int k = 0; k < 10; k++) {
        struct ArrowArray a;
        if (s.get_next(&s, &a) != 0) {
            failures++;
            const char *msg = s.get_last_error(&s);
            CHECK(msg != NULL && strstr(msg, "part.00001.parquet"), "names the file: %s", msg ? msg : "(null)");
            break;
        }
        if (a.release == NULL) break;
        batches++;
        a.release(&a);
    }
    CHECK(failures == 1 && batches == 1, "the first partition, then the damaged one's error (%d, %d)", batches,
          failures);
    s.release(&s);
    dask_table_free(planned);

    /* a stream released before its end cancels the rest */
    struct ArrowArrayStream early;
    CHECK_OK(dask_table_to_stream(c, t, 1, &early));
    struct ArrowArray first;
    CHECK(early.get_next(&early, &first) == 0 && first.release != NULL, "the first batch");
    first.release(&first);
    early.release(&early);
    CHECK(early.release == NULL, "released");

    /* freed handles are recognised */
    dask_table_free(t);
    size_t n;
    CHECK_ERR(dask_table_num_columns(t, &n), DASK_ERR_INVALID_HANDLE);
    dask_table_free(NULL);
    dask_expr_free(NULL);
    CHECK_ERR(dask_table_num_columns(NULL, &n), DASK_ERR_NULL_ARGUMENT);
}

/* ---- computed columns: a fused ufunc expression against C's own arithmetic ---- */

static void check_computed_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    int *ok = (int *)ctx;
    const struct ArrowArray *id = a->children[arrow_child(s, "id")];
    const struct ArrowArray *y = a->children[arrow_child(s, "y")];
    int64_t k = arrow_i64(id, i);
    if (!x_valid[k]) {
        *ok &= !arrow_valid(y, i);
        return;
    }
    double want = exp(xs[k]) * 2.0 + (double)k;
    double got = arrow_f64(y, i);
    *ok &= arrow_valid(y, i) && fabs(got - want) <= 1e-14 * fabs(want);
}

static void test_computed(dask_client *c) {
    dask_table *t = imported();
    dask_expr *x, *two, *id, *ex, *scaled, *y;
    CHECK_OK(dask_expr_column("x", &x));
    CHECK_OK(dask_expr_float(2.0, &two));
    CHECK_OK(dask_expr_column("id", &id));
    CHECK_OK(dask_expr_call("exp", (const dask_expr *[]){x}, 1, &ex));
    CHECK_OK(dask_expr_call("multiply", (const dask_expr *[]){ex, two}, 2, &scaled));
    CHECK_OK(dask_expr_call("add", (const dask_expr *[]){scaled, id}, 2, &y));
    char *text = NULL;
    CHECK_OK(dask_expr_to_string(y, &text));
    CHECK(strcmp(text, "add(multiply(exp(x), 2.0), id)") == 0, "printed: %s", text);
    dask_string_free(text);
    dask_table *with = NULL;
    CHECK_OK(dask_table_with_column(t, "y", y, &with));
    const char *type = NULL;
    CHECK_OK(dask_table_column_type(with, 3, &type));
    CHECK(strcmp(type, "g") == 0, "y is float64 (%s)", type);
    int ok = 1;
    CHECK(each_row(c, with, check_computed_row, &ok) == N && ok, "exp(x) * 2 + id row by row");
    /* errors: an unknown ufunc, a string column, no operands */
    dask_expr *bad = NULL, *name = NULL;
    CHECK_OK(dask_expr_call("no_such_ufunc", (const dask_expr *[]){x}, 1, &bad));
    dask_table *none = NULL;
    CHECK_ERR(dask_table_with_column(t, "z", bad, &none), DASK_ERR_NOT_FOUND);
    dask_expr_free(bad);
    CHECK_OK(dask_expr_column("name", &name));
    CHECK_OK(dask_expr_call("exp", (const dask_expr *[]){name}, 1, &bad));
    CHECK_ERR(dask_table_with_column(t, "z", bad, &none), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_expr_call("exp", NULL, 0, &bad), DASK_ERR_INVALID_ARGUMENT);
    dask_expr_free(bad);
    dask_expr_free(name);
    dask_expr *all[] = {x, two, id, ex, scaled, y};
    for (size_t i = 0; i < sizeof all / sizeof *all; ++i) dask_expr_free(all[i]);
    dask_table_free(with);
    dask_table_free(t);
}

/* ---- sort: the partitions in order are the rows sorted ---- */

static void check_sorted_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    double *last = (double *)ctx; /* last[0]: previous x (descending), last[1]: nulls seen, last[2]: rows */
    const struct ArrowArray *x = a->children[arrow_child(s, "x")];
    const struct ArrowArray *id = a->children[arrow_child(s, "id")];
    int64_t k = arrow_i64(id, i);
    last[2] += 1;
    if (!arrow_valid(x, i)) {
        if (x_valid[k]) CHECK(false, "row %lld: a null where x is %g", (long long)k, xs[k]);
        last[1] += 1;
        return;
    }
    if (last[1] > 0) CHECK(false, "a value after the nulls (row %lld)", (long long)k);
    if (!(arrow_f64(x, i) <= last[0]) || arrow_f64(x, i) != xs[k])
        CHECK(false, "row %lld out of order or moved without its x", (long long)k);
    last[0] = arrow_f64(x, i);
}

/* The same, nulls first: a null after a value is out of order. */
static void check_nulls_first_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    double *last = (double *)ctx; /* last[0]: previous x, last[1]: values seen, last[2]: rows */
    const struct ArrowArray *x = a->children[arrow_child(s, "x")];
    int64_t k = arrow_i64(a->children[arrow_child(s, "id")], i);
    last[2] += 1;
    if (!arrow_valid(x, i)) {
        if (last[1] > 0 || x_valid[k]) CHECK(false, "row %lld: a null after a value, or not null", (long long)k);
        return;
    }
    if (!(arrow_f64(x, i) <= last[0]) || arrow_f64(x, i) != xs[k])
        CHECK(false, "row %lld out of order or moved without its x", (long long)k);
    last[0] = arrow_f64(x, i);
    last[1] += 1;
}

static void test_sort(dask_client *c) {
    dask_table *t = imported(), *sorted = NULL;
    CHECK_OK(dask_table_sort(c, t, "x", true, &sorted));
    size_t parts = 0;
    CHECK_OK(dask_table_num_partitions(sorted, &parts));
    CHECK(parts == N / BATCH, "as many partitions (%zu)", parts);
    double state[3] = {INFINITY, 0, 0};
    each_row(c, sorted, check_sorted_row, state);
    int64_t nulls = 0;
    for (int i = 0; i < N; ++i) nulls += !x_valid[i];
    CHECK(state[2] == N && state[1] == (double)nulls, "every row, nulls last (%g, %g)", state[2], state[1]);
    dask_table *first = NULL;
    CHECK_OK(dask_table_sort_by(c, t, "x", true, true, DASK_NAN_LARGEST, &first));
    double state2[3] = {INFINITY, 0, 0};
    each_row(c, first, check_nulls_first_row, state2);
    CHECK(state2[2] == N && state2[1] == (double)(N - nulls), "every row, nulls first (%g)", state2[1]);
    dask_table_free(first);
    dask_table *none = NULL;
    CHECK_ERR(dask_table_sort_by(c, t, "x", false, false, 7, &none), DASK_ERR_INVALID_ARGUMENT);
    CHECK_ERR(dask_table_sort(c, t, "nope", false, &none), DASK_ERR_NOT_FOUND);
    CHECK_ERR(dask_table_sort(NULL, t, "x", false, &none), DASK_ERR_NULL_ARGUMENT);
    dask_table_free(sorted);
    dask_table_free(t);
}

/* ---- CSV: a round trip through files, quoting, null values, bad rows ---- */

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "open %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void check_note_row(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i, void *ctx) {
    int *ok = (int *)ctx;
    const struct ArrowArray *k = a->children[arrow_child(s, "k")];
    const struct ArrowArray *note = a->children[arrow_child(s, "note")];
    int32_t len;
    const char *str = arrow_str(note, i, &len);
    if (!arrow_valid(k, i)) *ok &= same_str(str, len, "x, \"quoted\"");
    else if (arrow_i64(k, i) == 1) *ok &= same_str(str, len, "two\nlines");
    else *ok &= arrow_i64(k, i) == 2 && same_str(str, len, "plain");
}

static void test_csv(dask_client *c, const char *dir) {
    char out[128], notes[160], bad[160];
    snprintf(out, sizeof out, "%s/out", dir);
    dask_table *t = imported();
    uint64_t written = 0;
    CHECK_OK(dask_table_write_csv(c, t, out, 1, ',', &written));
    CHECK(written == N, "rows written as CSV (%llu)", (unsigned long long)written);
    dask_table_free(t);

    /* read back in 4 KiB partitions, the types given as Arrow formats */
    dask_csv_options o;
    CHECK_OK(dask_csv_options_init(&o, sizeof o));
    CHECK(o.header == 1 && o.delimiter == ',' && o.quote == '"', "the defaults");
    const char *cols[] = {"id", "x", "name"}, *formats[] = {"l", "g", "u"};
    o.dtype_columns = cols;
    o.dtype_formats = formats;
    o.ndtypes = 3;
    o.blocksize = 4096;
    const char *paths[] = {out};
    dask_table *back = NULL;
    CHECK_OK(dask_read_csv(paths, 1, &o, &back));
    size_t parts = 0;
    CHECK_OK(dask_table_num_partitions(back, &parts));
    CHECK(parts > N / BATCH, "4 KiB blocks cut the files (%zu partitions)", parts);
    int64_t rows = 0;
    CHECK_OK(dask_table_num_rows(back, &rows));
    CHECK(rows == -1, "rows of a CSV are unknown before reading");
    int64_t seen = 0;
    CHECK(each_row(c, back, check_source_row, &seen) == N, "every row read back from CSV");
    dask_table_free(back);

    /* a quoted newline, a doubled quote, a null value, a semicolon delimiter */
    snprintf(notes, sizeof notes, "%s/notes.csv", dir);
    write_text(notes, "k;note\n1;\"two\nlines\"\n2;plain\nNA;\"x, \"\"quoted\"\"\"\n");
    CHECK_OK(dask_csv_options_init(&o, sizeof o));
    o.delimiter = ';';
    const char *na[] = {"NA"};
    o.na_values = na;
    o.nna_values = 1;
    o.blocksize = 8;
    const char *np[] = {notes};
    dask_table *nt = NULL;
    CHECK_OK(dask_read_csv(np, 1, &o, &nt));
    const char *type = NULL;
    CHECK_OK(dask_table_column_type(nt, 0, &type));
    CHECK(strcmp(type, "l") == 0, "k inferred as int64 (%s)", type);
    int ok = 1;
    CHECK(each_row(c, nt, check_note_row, &ok) == 3 && ok, "quoted fields whole, NA a null");
    dask_table_free(nt);

    /* a value that is not of its column's type: the stream's error names file, line, column */
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    write_text(bad, "k,v\n1,2\n3,zz\n");
    CHECK_OK(dask_csv_options_init(&o, sizeof o));
    const char *kv[] = {"v"}, *int64[] = {"l"};
    o.dtype_columns = kv;
    o.dtype_formats = int64;
    o.ndtypes = 1;
    const char *bp[] = {bad};
    dask_table *bt = NULL;
    CHECK_OK(dask_read_csv(bp, 1, &o, &bt));
    struct ArrowArrayStream s;
    CHECK_OK(dask_table_to_stream(c, bt, 0, &s));
    struct ArrowArray a;
    int rc = s.get_next(&s, &a);
    const char *why = rc ? s.get_last_error(&s) : "";
    CHECK(rc != 0 && strstr(why, "bad.csv, line 3, column 'v'") && strstr(why, "zz"),
          "the error names the file, line and column: %s", why);
    s.release(&s);
    dask_table_free(bt);
    o.skip_bad_rows = 1;
    CHECK_OK(dask_read_csv(bp, 1, &o, &bt));
    int64_t kept = 0;
    CHECK_OK(dask_table_to_stream(c, bt, 0, &s));
    while (s.get_next(&s, &a) == 0 && a.release != NULL) {
        kept += a.length;
        a.release(&a);
    }
    s.release(&s);
    CHECK(kept == 1, "the bad row skipped (%lld kept)", (long long)kept);
    dask_table_free(bt);

    /* bad arguments */
    CHECK_OK(dask_csv_options_init(&o, sizeof o));
    o.dtype_columns = kv;
    o.dtype_formats = (const char *[]){"not a format"};
    o.ndtypes = 1;
    CHECK_ERR(dask_read_csv(bp, 1, &o, &bt), DASK_ERR_INVALID_ARGUMENT);
    CHECK_OK(dask_csv_options_init(&o, sizeof o));
    o.delimiter = 300;
    CHECK_ERR(dask_read_csv(bp, 1, &o, &bt), DASK_ERR_INVALID_ARGUMENT);
    const char *missing[] = {"/nonexistent/none.csv"};
    CHECK_ERR(dask_read_csv(missing, 1, NULL, &bt), DASK_ERR_NOT_FOUND);
    CHECK_ERR(dask_read_csv(NULL, 1, NULL, &bt), DASK_ERR_NULL_ARGUMENT);
    CHECK_ERR(dask_table_write_csv(c, NULL, out, 1, ',', NULL), DASK_ERR_NULL_ARGUMENT);
}

int main(void) {
    watchdog(300);
    make_data();
    dask_client *c = new_client(2);
    char dir[] = "/tmp/dask-table-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "a scratch directory");
    char data[64], damaged[64];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(damaged, sizeof damaged, "%s/damaged", dir);
    test_import_export(c);
    test_computed(c);
    test_sort(c);
    test_parquet(c, data);
    test_errors(c, damaged);
    snprintf(data, sizeof data, "%s/hive", dir);
    test_hive(c, data);
    snprintf(data, sizeof data, "%s/csv", dir);
    CHECK(mkdir(data, 0755) == 0, "made %s", data);
    test_csv(c, data);
    dask_client_free(c);
    /* Kept when tasks are captured: travel-test reads the files again. */
    if (getenv("DASK_CAPTURE_TASKS") == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0, "removed %s", dir);
    }
    return test_finish();
}
