/*
 * Arrow's C stream interface from plain C arrays, and reading the arrays a stream hands out,
 * in a few dozen lines each: what a C program needs to give libdask a table
 * (dask_table_from_stream) and to read one back (dask_table_to_stream) without an Arrow
 * library. Programs with nanoarrow, DuckDB or arrow-glib use theirs instead.
 *
 * Producer: columns_stream() makes a stream of record batches of `batch_rows` rows over
 * int64 ('l'), float64 ('g') and UTF-8 string ('u') columns, each with an optional validity
 * array (one byte per row, 0 = null). The column arrays are read while the stream is
 * consumed: keep them alive until it is released. Each batch owns copies of its rows.
 *
 * Consumer: arrow_valid / arrow_i64 / arrow_f64 / arrow_str / arrow_text read element i of
 * a child of a struct array as the interface lays it out (offsets, validity bitmaps,
 * dictionaries).
 */
#ifndef DASK_EXAMPLE_ARROW_COLUMNS_H
#define DASK_EXAMPLE_ARROW_COLUMNS_H

#include "dask.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    char kind; /* 'l' int64, 'g' float64, 'u' utf8 */
    const int64_t *i64;
    const double *f64;
    const char *const *str;
    const uint8_t *valid; /* NULL: no nulls */
} column_spec;

/* ----- producer ------------------------------------------------------------------------ */

typedef struct {
    const column_spec *cols;
    int ncols;
    int64_t rows, batch_rows, next_row;
    char error[128];
} columns_stream_state;

/* One array's own memory: its buffer pointer list and the buffers. */
typedef struct {
    const void *buffers[3];
    void *owned[3];
} array_memory;

static void columns_release_array(struct ArrowArray *a) {
    if (a->release == NULL) return;
    for (int64_t c = 0; c < a->n_children; c++) {
        if (a->children[c]->release != NULL) a->children[c]->release(a->children[c]);
        free(a->children[c]);
    }
    free(a->children);
    array_memory *m = (array_memory *)a->private_data;
    for (int b = 0; b < 3; b++) free(m->owned[b]);
    free(m);
    a->release = NULL;
}

static void columns_release_schema(struct ArrowSchema *s) {
    if (s->release == NULL) return;
    for (int64_t c = 0; c < s->n_children; c++) {
        if (s->children[c]->release != NULL) s->children[c]->release(s->children[c]);
        free(s->children[c]);
    }
    free(s->children);
    s->release = NULL;
}

static int columns_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out) {
    columns_stream_state *state = (columns_stream_state *)st->private_data;
    memset(out, 0, sizeof *out);
    out->format = "+s";
    out->name = "";
    out->n_children = state->ncols;
    out->children = (struct ArrowSchema **)calloc((size_t)state->ncols, sizeof *out->children);
    if (out->children == NULL) return ENOMEM;
    for (int c = 0; c < state->ncols; c++) {
        struct ArrowSchema *ch = (struct ArrowSchema *)calloc(1, sizeof *ch);
        if (ch == NULL) {
            out->n_children = c;
            out->release = columns_release_schema;
            columns_release_schema(out);
            return ENOMEM;
        }
        ch->format = state->cols[c].kind == 'l' ? "l" : state->cols[c].kind == 'g' ? "g" : "u";
        ch->name = state->cols[c].name;
        ch->flags = ARROW_FLAG_NULLABLE;
        ch->release = columns_release_schema;
        out->children[c] = ch;
    }
    out->release = columns_release_schema;
    return 0;
}

/* Fills `a` with rows [from, from + n) of column `col`; 0 or ENOMEM. */
static int columns_fill(struct ArrowArray *a, const column_spec *col, int64_t from, int64_t n) {
    array_memory *m = (array_memory *)calloc(1, sizeof *m);
    if (m == NULL) return ENOMEM;
    memset(a, 0, sizeof *a);
    a->length = n;
    a->n_buffers = col->kind == 'u' ? 3 : 2;
    a->buffers = m->buffers;
    a->private_data = m;
    a->release = columns_release_array;
    if (col->valid != NULL) {
        uint8_t *bits = (uint8_t *)calloc((size_t)(n + 7) / 8 + 1, 1);
        if (bits == NULL) return ENOMEM;
        for (int64_t i = 0; i < n; i++) {
            if (col->valid[from + i]) bits[i / 8] |= (uint8_t)(1u << (i % 8));
            else a->null_count++;
        }
        m->owned[0] = bits;
    }
    m->buffers[0] = m->owned[0];
    if (col->kind == 'u') {
        int32_t *offsets = (int32_t *)malloc((size_t)(n + 1) * sizeof *offsets);
        if (offsets == NULL) return ENOMEM;
        size_t bytes = 0;
        offsets[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            bool is_null = col->valid != NULL && !col->valid[from + i];
            bytes += is_null ? 0 : strlen(col->str[from + i]);
            offsets[i + 1] = (int32_t)bytes;
        }
        char *data = (char *)malloc(bytes + 1);
        if (data == NULL) { free(offsets); return ENOMEM; }
        for (int64_t i = 0; i < n; i++)
            memcpy(data + offsets[i], col->str[from + i], (size_t)(offsets[i + 1] - offsets[i]));
        m->owned[1] = offsets;
        m->owned[2] = data;
        m->buffers[2] = data;
    } else {
        size_t width = 8;
        void *values = malloc((size_t)n * width + 1);
        if (values == NULL) return ENOMEM;
        memcpy(values, col->kind == 'l' ? (const void *)(col->i64 + from) : (const void *)(col->f64 + from),
               (size_t)n * width);
        m->owned[1] = values;
    }
    m->buffers[1] = m->owned[1];
    return 0;
}

static int columns_get_next(struct ArrowArrayStream *st, struct ArrowArray *out) {
    columns_stream_state *state = (columns_stream_state *)st->private_data;
    memset(out, 0, sizeof *out);
    if (state->next_row >= state->rows) return 0; /* released array: the end */
    int64_t n = state->rows - state->next_row;
    if (n > state->batch_rows) n = state->batch_rows;
    array_memory *m = (array_memory *)calloc(1, sizeof *m);
    struct ArrowArray **children = (struct ArrowArray **)calloc((size_t)state->ncols, sizeof *children);
    if (m == NULL || children == NULL) { free(m); free(children); return ENOMEM; }
    out->length = n;
    out->n_buffers = 1; /* a struct array: only a validity buffer, absent */
    out->buffers = m->buffers;
    out->children = children;
    out->private_data = m;
    out->release = columns_release_array;
    for (int c = 0; c < state->ncols; c++) {
        children[c] = (struct ArrowArray *)calloc(1, sizeof *children[c]);
        if (children[c] != NULL) out->n_children = c + 1;
        if (children[c] == NULL || columns_fill(children[c], &state->cols[c], state->next_row, n) != 0) {
            columns_release_array(out);
            snprintf(state->error, sizeof state->error, "out of memory for batch at row %lld",
                     (long long)state->next_row);
            return ENOMEM;
        }
    }
    state->next_row += n;
    return 0;
}

static const char *columns_last_error(struct ArrowArrayStream *st) {
    return ((columns_stream_state *)st->private_data)->error;
}

static void columns_release_stream(struct ArrowArrayStream *st) {
    if (st->release == NULL) return;
    free(st->private_data);
    st->release = NULL;
}

/* A stream over `ncols` columns of `rows` rows, in batches of `batch_rows`; 0 or ENOMEM. */
static inline int columns_stream(struct ArrowArrayStream *out, const column_spec *cols, int ncols,
                                 int64_t rows, int64_t batch_rows) {
    columns_stream_state *state = (columns_stream_state *)calloc(1, sizeof *state);
    if (state == NULL) return ENOMEM;
    state->cols = cols;
    state->ncols = ncols;
    state->rows = rows;
    state->batch_rows = batch_rows > 0 ? batch_rows : 1;
    out->get_schema = columns_get_schema;
    out->get_next = columns_get_next;
    out->get_last_error = columns_last_error;
    out->release = columns_release_stream;
    out->private_data = state;
    return 0;
}

/* ----- consumer: element i of an array as the interface lays it out -------------------- */

static inline bool arrow_valid(const struct ArrowArray *a, int64_t i) {
    const uint8_t *bits = (const uint8_t *)a->buffers[0];
    int64_t j = a->offset + i;
    return bits == NULL || (bits[j / 8] >> (j % 8)) & 1;
}

static inline int64_t arrow_i64(const struct ArrowArray *a, int64_t i) {
    return ((const int64_t *)a->buffers[1])[a->offset + i];
}

static inline double arrow_f64(const struct ArrowArray *a, int64_t i) {
    return ((const double *)a->buffers[1])[a->offset + i];
}

/* The string at i (not NUL-terminated) and its length. */
static inline const char *arrow_str(const struct ArrowArray *a, int64_t i, int32_t *len) {
    const int32_t *offsets = (const int32_t *)a->buffers[1];
    int64_t j = a->offset + i;
    *len = offsets[j + 1] - offsets[j];
    return (const char *)a->buffers[2] + offsets[j];
}

/* The text at i of a string column ("u") or of a dictionary-encoded one (integer codes
 * into a "u" dictionary), not NUL-terminated, and its length; NULL for another type. */
static inline const char *arrow_text(const struct ArrowSchema *s, const struct ArrowArray *a, int64_t i,
                                     int32_t *len) {
    if (strcmp(s->format, "u") == 0) return arrow_str(a, i, len);
    if (s->dictionary == NULL || a->dictionary == NULL || strcmp(s->dictionary->format, "u") != 0)
        return NULL;
    int64_t j = a->offset + i, code;
    switch (s->format[0]) {
    case 'c': code = ((const int8_t *)a->buffers[1])[j]; break;
    case 's': code = ((const int16_t *)a->buffers[1])[j]; break;
    case 'i': code = ((const int32_t *)a->buffers[1])[j]; break;
    case 'l': code = ((const int64_t *)a->buffers[1])[j]; break;
    default: return NULL;
    }
    return arrow_str(a->dictionary, code, len);
}

/* The index of the child called `name` of a struct schema, or -1. */
static inline int arrow_child(const struct ArrowSchema *s, const char *name) {
    for (int64_t c = 0; c < s->n_children; c++)
        if (strcmp(s->children[c]->name, name) == 0) return (int)c;
    return -1;
}

#endif /* DASK_EXAMPLE_ARROW_COLUMNS_H */
