/* Lazy tables: dask_read_parquet and the table operations, filter expressions, and the
 * computed rows read out of Arrow's C data interface into R vectors. R/tables.R turns R's
 * idioms (subset() conditions, aggregate(), as.data.frame()) into these calls; every row and
 * number is the library's. Tables and expressions are external pointers (handles.c). */
#include "glue.h"

#include <math.h>
#include <string.h>

dask_table *dk_table(SEXP x) { return dk_get(x, DK_TABLE); }
dask_expr *dk_expr(SEXP x) { return dk_get(x, DK_EXPR); }

/* A character vector as C strings (R_alloc: freed when the .Call returns). */
static const char **strings(SEXP x, size_t *n, const char *what) {
    if (Rf_isNull(x)) {
        *n = 0;
        return NULL;
    }
    if (TYPEOF(x) != STRSXP) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be a character vector", what);
        dk_fail(DASK_ERR_INVALID_ARGUMENT, msg);
    }
    *n = (size_t)Rf_xlength(x);
    const char **out = (const char **)R_alloc(*n + 1, sizeof *out);
    for (size_t i = 0; i < *n; ++i) {
        if (STRING_ELT(x, i) == NA_STRING) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s holds NA", what);
            dk_fail(DASK_ERR_INVALID_ARGUMENT, msg);
        }
        out[i] = Rf_translateCharUTF8(STRING_ELT(x, i));
    }
    return out;
}

SEXP dk_read_parquet(SEXP paths, SEXP columns, SEXP filter, SEXP split, SEXP engine) {
    dk_drain();
    size_t np = 0, nc = 0;
    const char **p = strings(paths, &np, "path");
    dask_parquet_options o;
    dk_check(dask_parquet_options_init(&o, sizeof o));
    o.columns = Rf_isNull(columns) ? NULL : strings(columns, &nc, "columns");
    o.ncolumns = nc;
    o.filter = Rf_isNull(filter) ? NULL : dk_expr(filter);
    o.split_row_groups = Rf_asLogical(split) == TRUE;
    o.engine = CHAR(STRING_ELT(engine, 0));
    dask_table *t = NULL;
    dk_check(dask_read_parquet(p, np, &o, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

/* list(names, types (Arrow format strings), partitions, rows (NA: unknown), text) */
SEXP dk_table_info(SEXP x) {
    dk_drain();
    dask_table *t = dk_table(x);
    size_t n = 0, parts = 0;
    int64_t rows = 0;
    dk_check(dask_table_num_columns(t, &n));
    dk_check(dask_table_num_partitions(t, &parts));
    dk_check(dask_table_num_rows(t, &rows));
    char *text = NULL;
    dk_check(dask_table_describe(t, &text));
    SEXP out = PROTECT(Rf_allocVector(VECSXP, 5));
    SEXP desc = PROTECT(Rf_mkCharCE(text, CE_UTF8));
    dask_string_free(text);
    SEXP names = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)n));
    SEXP types = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)n));
    for (size_t i = 0; i < n; ++i) {
        const char *name = NULL, *type = NULL;
        dk_check(dask_table_column_name(t, i, &name));
        dk_check(dask_table_column_type(t, i, &type));
        SET_STRING_ELT(names, (R_xlen_t)i, Rf_mkCharCE(name, CE_UTF8));
        SET_STRING_ELT(types, (R_xlen_t)i, Rf_mkChar(type));
    }
    SET_VECTOR_ELT(out, 0, names);
    SET_VECTOR_ELT(out, 1, types);
    SET_VECTOR_ELT(out, 2, Rf_ScalarReal((double)parts));
    SET_VECTOR_ELT(out, 3, Rf_ScalarReal(rows < 0 ? NA_REAL : (double)rows));
    SET_VECTOR_ELT(out, 4, Rf_ScalarString(desc));
    UNPROTECT(4);
    return out;
}

SEXP dk_table_select(SEXP x, SEXP columns) {
    dk_drain();
    size_t n = 0;
    const char **c = strings(columns, &n, "select");
    dask_table *t = NULL;
    dk_check(dask_table_select(dk_table(x), c, n, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

SEXP dk_table_filter(SEXP x, SEXP e) {
    dk_drain();
    dask_table *t = NULL;
    dk_check(dask_table_filter(dk_table(x), dk_expr(e), &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

/* keys: character (empty: whole-table reductions); funcs, columns, names: character of one
 * length; ddof: integer; keep_nulls: logical (R's NA rule: a group holding NA gives NA). */
SEXP dk_table_aggregate(SEXP x, SEXP keys, SEXP dropna, SEXP funcs, SEXP columns, SEXP names,
                        SEXP keep_nulls) {
    dk_drain();
    size_t nk = 0, nf = 0, nc = 0, nn = 0;
    const char **k = strings(keys, &nk, "by");
    const char **f = strings(funcs, &nf, "FUN");
    const char **c = strings(columns, &nc, "columns");
    const char **n = strings(names, &nn, "names");
    if (nc != nf || nn != nf || Rf_xlength(keep_nulls) != (R_xlen_t)nf)
        dk_fail(DASK_ERR_INVALID_ARGUMENT, "aggregate: mismatched lengths");
    dask_agg *aggs = (dask_agg *)R_alloc(nf + 1, sizeof *aggs);
    for (size_t i = 0; i < nf; ++i) {
        aggs[i].func = f[i];
        aggs[i].column = c[i];
        aggs[i].name = n[i];
        aggs[i].ddof = 1; /* R's var and sd */
        aggs[i].keep_nulls = LOGICAL(keep_nulls)[i] == TRUE;
    }
    dask_table *t = NULL;
    if (nk == 0) dk_check(dask_table_agg(dk_table(x), aggs, nf, &t));
    else dk_check(dask_table_group_by(dk_table(x), k, nk, Rf_asLogical(dropna) == TRUE, aggs, nf, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

/* R's order(): NA and NaN together, last unless na.last is FALSE; stable. */
SEXP dk_table_sort(SEXP client, SEXP x, SEXP by, SEXP decreasing, SEXP na_last) {
    dk_drain();
    if (!Rf_isString(by) || Rf_xlength(by) != 1 || STRING_ELT(by, 0) == NA_STRING)
        dk_fail(DASK_ERR_INVALID_ARGUMENT, "by must be one column name");
    int dec = Rf_asLogical(decreasing), last = Rf_asLogical(na_last);
    if (dec == NA_LOGICAL) dk_fail(DASK_ERR_INVALID_ARGUMENT, "decreasing must be TRUE or FALSE");
    if (last == NA_LOGICAL)
        dk_fail(DASK_ERR_INVALID_ARGUMENT,
                "na.last must be TRUE or FALSE (NA, dropping the rows, is not supported: subset() them first)");
    dask_table *t = NULL;
    dk_check(dask_table_sort_by(dk_client(client), dk_table(x), Rf_translateCharUTF8(STRING_ELT(by, 0)),
                                dec == TRUE, last == FALSE, DASK_NAN_WITH_NULLS, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

SEXP dk_table_head(SEXP client, SEXP x, SEXP n) {
    dk_drain();
    double rows = Rf_asReal(n);
    if (!(rows >= 0)) dk_fail(DASK_ERR_INVALID_ARGUMENT, "n must be a non-negative number");
    dask_table *t = NULL;
    dk_check(dask_table_head(dk_client(client), dk_table(x), (size_t)rows, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

SEXP dk_table_write_parquet(SEXP client, SEXP x, SEXP dir, SEXP partition_on, SEXP compression,
                            SEXP row_group_size) {
    dk_drain();
    size_t nd = 0, np = 0, ncomp = 0;
    const char **d = strings(dir, &nd, "dir");
    if (nd != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "dir must be one path");
    dask_parquet_write_options o;
    dk_check(dask_parquet_write_options_init(&o, sizeof o));
    o.partition_on = strings(partition_on, &np, "partition_on");
    o.npartition_on = np;
    const char **comp = strings(compression, &ncomp, "compression");
    if (ncomp != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "compression must be one string");
    o.compression = comp[0];
    double rg = Rf_asReal(row_group_size);
    o.row_group_size = rg > 0 ? (uint64_t)rg : 0;
    uint64_t rows = 0;
    dk_check(dask_table_write_parquet(dk_client(client), dk_table(x), d[0], &o, &rows));
    return Rf_ScalarReal((double)rows);
}

/* One ASCII character of a one-character string argument. */
static uint32_t one_char(SEXP x, const char *what) {
    size_t n = 0;
    const char **s = strings(x, &n, what);
    if (n != 1 || strlen(s[0]) != 1 || (unsigned char)s[0][0] > 127) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be one ASCII character", what);
        dk_fail(DASK_ERR_INVALID_ARGUMENT, msg);
    }
    return (uint32_t)(unsigned char)s[0][0];
}

SEXP dk_read_csv(SEXP paths, SEXP header, SEXP sep, SEXP quote, SEXP na, SEXP names, SEXP dtype_cols,
                 SEXP dtype_formats, SEXP columns, SEXP filter, SEXP blocksize, SEXP skip) {
    dk_drain();
    size_t np = 0, nn = 0, nna = 0, nd = 0, nf = 0, nc = 0;
    const char **p = strings(paths, &np, "file");
    dask_csv_options o;
    dk_check(dask_csv_options_init(&o, sizeof o));
    o.header = Rf_asLogical(header) == TRUE;
    o.delimiter = one_char(sep, "sep");
    o.quote = one_char(quote, "quote");
    o.na_values = strings(na, &nna, "na.strings");
    o.nna_values = nna;
    o.names = strings(names, &nn, "col.names");
    o.nnames = nn;
    o.dtype_columns = strings(dtype_cols, &nd, "colClasses");
    o.dtype_formats = strings(dtype_formats, &nf, "colClasses");
    if (nd != nf) dk_fail(DASK_ERR_INVALID_ARGUMENT, "colClasses: a type per column");
    o.ndtypes = nd;
    o.columns = strings(columns, &nc, "columns");
    o.ncolumns = nc;
    o.filter = Rf_isNull(filter) ? NULL : dk_expr(filter);
    double bs = Rf_asReal(blocksize);
    if (!(bs >= 1)) dk_fail(DASK_ERR_INVALID_ARGUMENT, "blocksize must be a positive number of bytes");
    o.blocksize = (uint64_t)bs;
    o.skip_bad_rows = Rf_asLogical(skip) == TRUE;
    /* R's read.csv: an empty field of a character column is "", not NA */
    o.empty_strings = 1;
    dask_table *t = NULL;
    dk_check(dask_read_csv(p, np, &o, &t));
    return dk_wrap(DK_TABLE, t, R_NilValue);
}

SEXP dk_table_write_csv(SEXP client, SEXP x, SEXP dir, SEXP header, SEXP sep) {
    dk_drain();
    size_t nd = 0;
    const char **d = strings(dir, &nd, "dir");
    if (nd != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "dir must be one path");
    uint64_t rows = 0;
    dk_check(dask_table_write_csv(dk_client(client), dk_table(x), d[0], Rf_asLogical(header) == TRUE,
                                  one_char(sep, "sep"), &rows));
    return Rf_ScalarReal((double)rows);
}

/* ---- expressions ---------------------------------------------------------------------- */

/* `e` is read after the call made its status (C does not order the evaluation of
 * arguments, so the expression itself cannot be an argument next to that call). */
static SEXP wrap_expr(dask_status st, dask_expr **e) {
    dk_check(st);
    return dk_wrap(DK_EXPR, *e, R_NilValue);
}

SEXP dk_expr_column(SEXP name) {
    size_t n = 0;
    const char **s = strings(name, &n, "column");
    if (n != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "a column is one name");
    dask_expr *e = NULL;
    return wrap_expr(dask_expr_column(s[0], &e), &e);
}

/* A literal of a length-one R vector (NA: the null literal). Dates and date-times are
 * given as ISO 8601 text by R/tables.R. */
SEXP dk_expr_literal(SEXP v) {
    if (Rf_xlength(v) != 1) dk_fail(DASK_ERR_INVALID_ARGUMENT, "a literal is one value");
    dask_expr *e = NULL;
    switch (TYPEOF(v)) {
    case LGLSXP:
        if (LOGICAL(v)[0] == NA_LOGICAL) return wrap_expr(dask_expr_null(&e), &e);
        return wrap_expr(dask_expr_bool(LOGICAL(v)[0] != 0, &e), &e);
    case INTSXP:
        if (INTEGER(v)[0] == NA_INTEGER) return wrap_expr(dask_expr_null(&e), &e);
        return wrap_expr(dask_expr_int(INTEGER(v)[0], &e), &e);
    case REALSXP: {
        double d = REAL(v)[0];
        if (ISNA(d)) return wrap_expr(dask_expr_null(&e), &e);
        return wrap_expr(dask_expr_float(d, &e), &e);
    }
    case STRSXP:
        if (STRING_ELT(v, 0) == NA_STRING) return wrap_expr(dask_expr_null(&e), &e);
        return wrap_expr(dask_expr_string(Rf_translateCharUTF8(STRING_ELT(v, 0)), &e), &e);
    default: dk_fail(DASK_ERR_INVALID_ARGUMENT, "a literal must be logical, numeric or character");
    }
}

/* op: "==", "!=", "<", "<=", ">", ">=", "&", "|" */
SEXP dk_expr_binary(SEXP op, SEXP a, SEXP b) {
    const char *o = CHAR(STRING_ELT(op, 0));
    dask_expr *e = NULL;
    static const char *cmp[] = {"==", "!=", "<", "<=", ">", ">="};
    for (unsigned i = 0; i < 6; ++i)
        if (strcmp(o, cmp[i]) == 0) return wrap_expr(dask_expr_compare(dk_expr(a), i + 1, dk_expr(b), &e), &e);
    if (strcmp(o, "&") == 0) return wrap_expr(dask_expr_and(dk_expr(a), dk_expr(b), &e), &e);
    if (strcmp(o, "|") == 0) return wrap_expr(dask_expr_or(dk_expr(a), dk_expr(b), &e), &e);
    dk_fail(DASK_ERR_INVALID_ARGUMENT, "unknown operator");
}

/* op: "!", "is.na" */
SEXP dk_expr_unary(SEXP op, SEXP a) {
    const char *o = CHAR(STRING_ELT(op, 0));
    dask_expr *e = NULL;
    if (strcmp(o, "!") == 0) return wrap_expr(dask_expr_not(dk_expr(a), &e), &e);
    return wrap_expr(dask_expr_is_null(dk_expr(a), &e), &e);
}

/* a %in% values (a list of literal expressions) */
SEXP dk_expr_isin(SEXP a, SEXP values) {
    R_xlen_t n = Rf_xlength(values);
    const dask_expr **v = (const dask_expr **)R_alloc((size_t)n + 1, sizeof *v);
    for (R_xlen_t i = 0; i < n; ++i) v[i] = dk_expr(VECTOR_ELT(values, i));
    dask_expr *e = NULL;
    return wrap_expr(dask_expr_isin(dk_expr(a), v, (size_t)n, &e), &e);
}

SEXP dk_expr_text(SEXP a) {
    char *s = NULL;
    dk_check(dask_expr_to_string(dk_expr(a), &s));
    SEXP out = PROTECT(Rf_mkCharCE(s, CE_UTF8));
    dask_string_free(s);
    out = Rf_ScalarString(out);
    UNPROTECT(1);
    return out;
}

/* ---- computed rows: Arrow's C data interface into R vectors --------------------------- */

static const void *buf(const struct ArrowArray *a, int i) { return a->buffers[i]; }

static bool valid_at(const struct ArrowArray *a, int64_t i) {
    const uint8_t *bits = buf(a, 0);
    int64_t j = a->offset + i;
    return bits == NULL || a->null_count == 0 || (bits[j >> 3] >> (j & 7)) & 1;
}

static int64_t int_at(const char *fmt, const struct ArrowArray *a, int64_t i) {
    int64_t j = a->offset + i;
    switch (fmt[0]) {
    case 'c': return ((const int8_t *)buf(a, 1))[j];
    case 'C': return ((const uint8_t *)buf(a, 1))[j];
    case 's': return ((const int16_t *)buf(a, 1))[j];
    case 'S': return ((const uint16_t *)buf(a, 1))[j];
    case 'i': return ((const int32_t *)buf(a, 1))[j];
    case 'I': return ((const uint32_t *)buf(a, 1))[j];
    default: return ((const int64_t *)buf(a, 1))[j];
    }
}

static SEXP strings_of(const char *fmt, const struct ArrowArray *a) {
    SEXP out = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)a->length));
    const char *data = buf(a, 2);
    for (int64_t i = 0; i < a->length; ++i) {
        if (!valid_at(a, i)) {
            SET_STRING_ELT(out, i, NA_STRING);
            continue;
        }
        int64_t j = a->offset + i, from, to;
        if (fmt[0] == 'u') from = ((const int32_t *)buf(a, 1))[j], to = ((const int32_t *)buf(a, 1))[j + 1];
        else from = ((const int64_t *)buf(a, 1))[j], to = ((const int64_t *)buf(a, 1))[j + 1];
        if (to - from > INT32_MAX) dk_fail(DASK_ERR_INVALID_ARGUMENT, "a string longer than R's limit");
        SET_STRING_ELT(out, i, Rf_mkCharLenCE(data + from, (int)(to - from), CE_UTF8));
    }
    UNPROTECT(1);
    return out;
}

/* One column as an R vector: NA for nulls; int64 and uint64 as doubles (an error when a
 * value is beyond 2^53, where a double would silently round it); dictionary columns as
 * list(codes, levels) of class "dk_dictionary" (R/tables.R makes the factor). */
static SEXP column_to_r(const struct ArrowSchema *s, const struct ArrowArray *a) {
    const char *fmt = s->format;
    R_xlen_t n = (R_xlen_t)a->length;
    if (s->dictionary != NULL) {
        SEXP out = PROTECT(Rf_allocVector(VECSXP, 2));
        SEXP codes = Rf_allocVector(INTSXP, n);
        SET_VECTOR_ELT(out, 0, codes);
        for (R_xlen_t i = 0; i < n; ++i)
            INTEGER(codes)[i] = valid_at(a, i) ? (int)int_at(fmt, a, i) + 1 : NA_INTEGER;
        SET_VECTOR_ELT(out, 1, column_to_r(s->dictionary, a->dictionary));
        Rf_setAttrib(out, R_ClassSymbol, Rf_mkString("dk_dictionary"));
        UNPROTECT(1);
        return out;
    }
    if (strcmp(fmt, "u") == 0 || strcmp(fmt, "U") == 0) return strings_of(fmt, a);
    if (strcmp(fmt, "b") == 0) {
        SEXP out = PROTECT(Rf_allocVector(LGLSXP, n));
        const uint8_t *bits = buf(a, 1);
        for (R_xlen_t i = 0; i < n; ++i) {
            int64_t j = a->offset + i;
            LOGICAL(out)[i] = valid_at(a, i) ? (bits[j >> 3] >> (j & 7)) & 1 : NA_LOGICAL;
        }
        UNPROTECT(1);
        return out;
    }
    if (strchr("cCsSi", fmt[0]) && fmt[1] == '\0') {
        SEXP out = PROTECT(Rf_allocVector(INTSXP, n));
        for (R_xlen_t i = 0; i < n; ++i) INTEGER(out)[i] = valid_at(a, i) ? (int)int_at(fmt, a, i) : NA_INTEGER;
        UNPROTECT(1);
        return out;
    }
    SEXP out = PROTECT(Rf_allocVector(REALSXP, n));
    double *d = REAL(out);
    if (strcmp(fmt, "g") == 0 || strcmp(fmt, "f") == 0) {
        for (R_xlen_t i = 0; i < n; ++i)
            d[i] = !valid_at(a, i) ? NA_REAL
                   : fmt[0] == 'g' ? ((const double *)buf(a, 1))[a->offset + i]
                                   : ((const float *)buf(a, 1))[a->offset + i];
    } else if (strcmp(fmt, "I") == 0) {
        for (R_xlen_t i = 0; i < n; ++i) d[i] = valid_at(a, i) ? (double)int_at(fmt, a, i) : NA_REAL;
    } else if (strcmp(fmt, "l") == 0 || strcmp(fmt, "L") == 0) {
        for (R_xlen_t i = 0; i < n; ++i) {
            if (!valid_at(a, i)) {
                d[i] = NA_REAL;
                continue;
            }
            int64_t v = int_at(fmt, a, i);
            bool unsigned_big = fmt[0] == 'L' && (uint64_t)v > (1ULL << 53);
            if (unsigned_big || (fmt[0] == 'l' && (v > (1LL << 53) || v < -(1LL << 53))))
                dk_fail(DASK_ERR_INVALID_ARGUMENT,
                        "a 64-bit integer beyond 2^53 has no exact R number (a double would round it)");
            d[i] = (double)v;
        }
    } else if (strcmp(fmt, "tdD") == 0) {
        for (R_xlen_t i = 0; i < n; ++i) d[i] = valid_at(a, i) ? (double)int_at("i", a, i) : NA_REAL;
        Rf_setAttrib(out, R_ClassSymbol, Rf_mkString("Date"));
    } else if (strncmp(fmt, "ts", 2) == 0 && fmt[3] == ':') {
        double per_second = fmt[2] == 's' ? 1 : fmt[2] == 'm' ? 1e3 : fmt[2] == 'u' ? 1e6 : 1e9;
        for (R_xlen_t i = 0; i < n; ++i)
            d[i] = valid_at(a, i) ? (double)int_at("l", a, i) / per_second : NA_REAL;
        SEXP cls = PROTECT(Rf_allocVector(STRSXP, 2));
        SET_STRING_ELT(cls, 0, Rf_mkChar("POSIXct"));
        SET_STRING_ELT(cls, 1, Rf_mkChar("POSIXt"));
        Rf_setAttrib(out, R_ClassSymbol, cls);
        Rf_setAttrib(out, Rf_install("tzone"), Rf_mkString(fmt[4] ? fmt + 4 : "UTC"));
        UNPROTECT(1);
    } else {
        char msg[96];
        snprintf(msg, sizeof msg, "column %s: Arrow type \"%s\" has no R conversion", s->name, fmt);
        dk_fail(DASK_ERR_NOT_IMPLEMENTED, msg);
    }
    UNPROTECT(1);
    return out;
}

typedef struct {
    struct ArrowSchema schema;
    struct ArrowArray array;
} exported;

static SEXP to_r_body(void *p) {
    exported *x = p;
    const struct ArrowSchema *s = &x->schema;
    const struct ArrowArray *a = &x->array;
    SEXP out = PROTECT(Rf_allocVector(VECSXP, (R_xlen_t)s->n_children));
    SEXP names = PROTECT(Rf_allocVector(STRSXP, (R_xlen_t)s->n_children));
    for (int64_t k = 0; k < s->n_children; ++k) {
        SET_VECTOR_ELT(out, k, column_to_r(s->children[k], a->children[k]));
        SET_STRING_ELT(names, k, Rf_mkCharCE(s->children[k]->name, CE_UTF8));
    }
    Rf_setAttrib(out, R_NamesSymbol, names);
    UNPROTECT(2);
    return out;
}

static void release_exported(void *p, Rboolean jump) {
    (void)jump;
    exported *x = p;
    if (x->array.release) x->array.release(&x->array);
    if (x->schema.release) x->schema.release(&x->schema);
}

/* Computes the table (waiting interruptibly) and returns its columns as a named list. */
SEXP dk_table_collect(SEXP client, SEXP x) {
    dk_drain();
    dask_future *f = NULL;
    dk_check(dask_table_submit(dk_client(client), dk_table(x), &f));
    SEXP fp = PROTECT(dk_wrap(DK_FUTURE, f, R_NilValue)); /* freed by the GC on an error */
    dk_wait(f, false);
    dask_value *v = NULL;
    dk_check(dask_future_result(f, -1.0, &v));
    exported *e = (exported *)R_alloc(1, sizeof *e);
    memset(e, 0, sizeof *e);
    dask_status st = dask_value_table_export(v, &e->schema, &e->array);
    dask_value_free(v);
    dk_check(st);
    /* the cleanup releases the exported structs whether or not the conversion fails */
    SEXP out = R_UnwindProtect(to_r_body, e, release_exported, e, NULL);
    UNPROTECT(1);
    return out;
}
