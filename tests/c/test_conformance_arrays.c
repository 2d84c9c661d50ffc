/*
 * NumPy conformance of the array operations through the C ABI: replays every case of
 * tests/conformance/arrays.golden.gz (NumPy 2.3.5, made by `conformance/generate_arrays.py
 * arrays`; format and ops in conformance/README.md) and compares dtype, shape and values, or
 * that the call fails where NumPy raised.
 *
 * The reference is the Rust replay, tests/conformance_arrays.rs: the same operations with the
 * same parameter handling (axes checked and made non-negative before the call, the same
 * flattening for `axis=none`, the same 0-d handling), the same chunkings (every array operand
 * in one chunk, in chunks of 2 and in chunks of 1 along every axis; arange in one block of
 * 2^20, or blocks of 2 or 1), the same comparison (exact, NaN matches NaN; for the summing
 * ops — reduce_sum, reduce_mean, cumsum, cumprod, tensordot, matmul — finite floats within
 * 2·n·eps·S², or 2 ulps, n the largest operand's element count, S the largest |finite
 * element| of the operands and at least 1), and the same rules of
 * tests/conformance/allowed.txt with the same narrow checks (`excused_error`,
 * `excused_value`, `where_form`, `float_bounds`).
 *
 * Each C ABI call is the one behind the Rust method: Array::slice ↔ dask_array_slice,
 * take ↔ dask_array_take, transpose/t ↔ dask_array_transpose (perm, or NULL), reshape ↔
 * dask_array_reshape, concatenate/stack ↔ dask_array_concatenate/stack, tensordot ↔
 * dask_array_tensordot, matmul ↔ dask_array_matmul, reduce ↔ dask_array_reduce (axes NULL
 * for none, a list of 0 for `()`), set_where ↔ dask_array_set_where, arange ↔
 * dask_array_arange, select ↔ dask_array_select, where_ ↔ dask_array_where, cumulative(Sum,
 * Prod) ↔ dask_ufunc_accumulate with add, multiply (the same CumOp), astype ↔
 * dask_array_astype, compute ↔ dask_array_compute.
 *
 * What the C ABI cannot express is counted as "not replayed in C" (with the reason, in the
 * summary), never as a pass or a failure:
 * - tensordot with axis lists of different lengths (dask_array_tensordot takes one n_axes
 *   for both lists; the Rust replay reaches Array::tensordot, which refuses them);
 * - transpose with a permutation whose length is not the array's ndim (dask_array_transpose
 *   reads exactly ndim entries of perm; the Rust replay reaches Array::transpose, which
 *   refuses it).
 *
 * DASK_STRESS_SMALL=1 (valgrind): every 50th case, in chunks of 2 only. Environment as
 * test_conformance.c: DASK_CONFORMANCE_DIR (directory of the golden file and allowed.txt,
 * default tests/conformance), DASK_CONFORMANCE_LIST=1 (every failure as one LIST line, every
 * case not replayed as one NOT-REPLAYED line).
 *
 * The last line is the harness's "N passed, N failed" (one check per replayed case and
 * chunking, and a few about the file).
 */
#include "golden.h" /* dtypes, tensors, the value encoding, reading the file (includes harness.h) */

#include <float.h>

#define MAX_OPERANDS 3
#define MAX_PARAMS 8
#define MAX_OWNED 64
#define SHOWN_PER_OP 4
#define LINE_SHOWN 220

__extension__ typedef __int128 i128;

/* =======================================================================================
 * Cases
 * ===================================================================================== */

/* A parameter value, as parse_param of the Rust replay reads it. */
typedef enum { P_INT, P_LIST, P_NONE, P_TEXT } param_kind;

typedef struct {
    const char *key;  /* borrowed from the case's buffer */
    const char *text; /* the value as written (borrowed) */
    param_kind kind;
    int64_t i;     /* P_INT */
    int64_t *list; /* P_LIST (malloc'd; NULL when empty) */
    size_t n;
} param;

typedef enum { OPND_ARRAY, OPND_INT, OPND_FLOAT, OPND_BOOL, OPND_BIGINT } opnd_kind;

typedef struct {
    opnd_kind kind;
    tensor t;         /* OPND_ARRAY */
    int64_t i;        /* OPND_INT, OPND_BOOL */
    double f;         /* OPND_FLOAT */
    const char *text; /* OPND_BIGINT: the digits (borrowed) */
} opnd;

typedef struct {
    long lineno;
    const char *line; /* the case's text (borrowed) */
    char op[24];
    size_t nparams;
    param params[MAX_PARAMS];
    size_t nops;
    opnd ops[MAX_OPERANDS];
    bool expect_error;
    char error_class[48];
    tensor want; /* when !expect_error */
} acase;

static void case_free(acase *c) {
    for (size_t p = 0; p < c->nparams; ++p) free(c->params[p].list);
    for (size_t o = 0; o < c->nops; ++o)
        if (c->ops[o].kind == OPND_ARRAY) tensor_free(&c->ops[o].t);
    tensor_free(&c->want);
    c->nparams = c->nops = 0;
}

/* Rust's `str::parse::<i64>`: an optional sign, then only decimal digits, in range. */
static bool parse_i64(const char *s, size_t len, int64_t *out) {
    size_t k = 0;
    bool neg = false;
    if (k < len && (s[k] == '+' || s[k] == '-')) neg = s[k++] == '-';
    if (k == len) return false;
    uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < len; ++k) {
        if (s[k] < '0' || s[k] > '9') return false;
        unsigned d = (unsigned)(s[k] - '0');
        if (mag > (lim - d) / 10) return false;
        mag = mag * 10 + d;
    }
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return true;
}

/* `none`, `()` (the empty list), an integer, integers joined by `,`, or text. */
static void parse_param(param *p) {
    const char *v = p->text;
    if (strcmp(v, "none") == 0) {
        p->kind = P_NONE;
        return;
    }
    if (strcmp(v, "()") == 0) {
        p->kind = P_LIST;
        return;
    }
    if (parse_i64(v, strlen(v), &p->i)) {
        p->kind = P_INT;
        return;
    }
    size_t n = 1;
    for (const char *q = v; *q; ++q) n += *q == ',';
    p->list = malloc(n * sizeof *p->list);
    if (!p->list) exit(2);
    const char *start = v;
    for (size_t k = 0; k < n; ++k) {
        const char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if (!parse_i64(start, len, &p->list[k])) {
            free(p->list);
            p->list = NULL;
            p->kind = P_TEXT;
            return;
        }
        start += len + 1;
    }
    p->kind = P_LIST;
    p->n = n;
}

static const param *find_param(const acase *c, const char *key) {
    for (size_t p = 0; p < c->nparams; ++p)
        if (strcmp(c->params[p].key, key) == 0) return &c->params[p];
    return NULL;
}

/* Case::int: an integer (or a one-element list). */
static bool param_int(const acase *c, const char *key, int64_t *out) {
    const param *p = find_param(c, key);
    if (p && p->kind == P_INT) *out = p->i;
    else if (p && p->kind == P_LIST && p->n == 1) *out = p->list[0];
    else return false;
    return true;
}

static int64_t param_int_or(const acase *c, const char *key, int64_t dflt) {
    int64_t v;
    return param_int(c, key, &v) ? v : dflt;
}

/* Case::list: a list (an integer is a one-element list). `*n` 0 and `*v` NULL-or-not for an
 * empty list; false when absent, none or text (callers then use the empty list). */
static bool param_list(const acase *c, const char *key, const int64_t **v, size_t *n) {
    const param *p = find_param(c, key);
    *v = NULL;
    *n = 0;
    if (p && p->kind == P_LIST) *v = p->list, *n = p->n;
    else if (p && p->kind == P_INT) *v = &p->i, *n = 1;
    else return false;
    return true;
}

/* Case::text: the value as text (integers and lists re-joined, as Rust prints them); ""
 * when absent. False when it does not fit in `len` bytes. */
static bool param_text(const acase *c, const char *key, char *buf, size_t len) {
    const param *p = find_param(c, key);
    size_t used = 0;
    buf[0] = '\0';
    if (!p) return true;
    switch (p->kind) {
    case P_TEXT: used = (size_t)snprintf(buf, len, "%s", p->text); break;
    case P_INT: used = (size_t)snprintf(buf, len, "%" PRId64, p->i); break;
    case P_NONE: used = (size_t)snprintf(buf, len, "none"); break;
    case P_LIST:
        for (size_t k = 0; k < p->n && used < len; ++k)
            used += (size_t)snprintf(buf + used, len - used, k ? ",%" PRId64 : "%" PRId64, p->list[k]);
        break;
    }
    return used < len;
}

static bool parse_operand(char *tok, opnd *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (strncmp(tok, "a:", 2) == 0) {
        o->kind = OPND_ARRAY;
        return parse_tensor(tok + 2, &o->t, err, errlen);
    }
    if (strncmp(tok, "i:", 2) == 0) {
        o->kind = OPND_INT;
        if (parse_i64(tok + 2, strlen(tok + 2), &o->i)) return true;
        /* A Python integer past int64 (Opnd::BigInt): digits only. */
        const char *d = tok + 2 + (tok[2] == '-' || tok[2] == '+');
        if (*d == '\0' || strspn(d, "0123456789") != strlen(d) || strlen(d) > 38) {
            snprintf(err, errlen, "malformed operand '%.40s'", tok);
            return false;
        }
        o->kind = OPND_BIGINT;
        o->text = tok + 2;
        return true;
    }
    if (strncmp(tok, "f:", 2) == 0) {
        char *end = NULL;
        o->kind = OPND_FLOAT;
        o->f = strtod(tok + 2, &end);
        if (end == tok + 2 || *end != '\0') {
            snprintf(err, errlen, "malformed operand '%.40s'", tok);
            return false;
        }
        return true;
    }
    if (strncmp(tok, "b:", 2) == 0) {
        o->kind = OPND_BOOL;
        o->i = strcmp(tok + 2, "1") == 0;
        return true;
    }
    snprintf(err, errlen, "unknown operand kind '%.40s'", tok);
    return false;
}

/* `<op> <params> <n> <operand>... <result>` (cut up in place: `buf` is a copy of `line`). */
static bool parse_case(char *buf, const char *line, long lineno, acase *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->lineno = lineno;
    c->line = line;
    char *save = NULL;
    char *op = strtok_r(buf, " ", &save), *ps = strtok_r(NULL, " ", &save), *ns = strtok_r(NULL, " ", &save);
    if (!op || !ps || !ns || strlen(op) >= sizeof c->op) {
        snprintf(err, errlen, "malformed case header");
        return false;
    }
    snprintf(c->op, sizeof c->op, "%s", op);
    char *end = NULL;
    unsigned long n = strtoul(ns, &end, 10);
    if (end == ns || *end != '\0' || n > MAX_OPERANDS) {
        snprintf(err, errlen, "bad operand count '%s'", ns);
        return false;
    }
    /* The operands and the result first: the parameters are cut up after (strtok_r). */
    for (size_t k = 0; k < n; ++k) {
        char *tok = strtok_r(NULL, " ", &save);
        if (!tok) {
            snprintf(err, errlen, "missing operand %zu", k);
            return false;
        }
        c->nops = k + 1;
        if (!parse_operand(tok, &c->ops[k], err, errlen)) return false;
    }
    char *r = strtok_r(NULL, " ", &save);
    if (!r) {
        snprintf(err, errlen, "no result");
        return false;
    }
    if (r[0] == '!') {
        c->expect_error = true;
        snprintf(c->error_class, sizeof c->error_class, "%s", r + 1);
    } else if (r[0] != '=' || !parse_tensor(r + 1, &c->want, err, errlen)) {
        if (r[0] != '=') snprintf(err, errlen, "malformed result '%.40s'", r);
        return false;
    }
    if (strcmp(ps, "-") != 0) {
        char *s2 = NULL;
        for (char *kv = strtok_r(ps, ";", &s2); kv; kv = strtok_r(NULL, ";", &s2)) {
            char *eq = strchr(kv, '=');
            if (!eq || c->nparams == MAX_PARAMS) {
                snprintf(err, errlen, "malformed parameter '%.40s'", kv);
                return false;
            }
            *eq = '\0';
            param *p = &c->params[c->nparams++];
            p->key = kv;
            p->text = eq + 1;
            parse_param(p);
        }
    }
    return true;
}

/* =======================================================================================
 * Running a case through the C ABI (as run() of tests/conformance_arrays.rs)
 * ===================================================================================== */

typedef enum { NR_TENSORDOT_LENGTHS, NR_TRANSPOSE_LENGTH, N_NOT_REPLAYED } not_replayed_id;
static const char *const NOT_REPLAYED[N_NOT_REPLAYED] = {
    "tensordot with axis lists of different lengths: dask_array_tensordot takes one n_axes for both",
    "transpose with a perm of another length than ndim: dask_array_transpose reads ndim entries",
};

/* What the library gave for a case. */
typedef struct {
    bool failed;       /* the Rust replay's Err: an error of the library or of the replay */
    char error[512];   /* why */
    int not_replayed;  /* -1, or the not_replayed_id: the C ABI cannot express the call */
    bool have_out;
    tensor out;
} run_result;

/* One run: the chunking, the arrays made on the way (freed at the end), the result. */
typedef struct {
    const dask_client *client;
    const dask_ufunc *add, *multiply;
    const acase *c;
    size_t chunk; /* 0: one chunk */
    dask_array *owned[MAX_OWNED];
    size_t nowned;
    void *scratch[MAX_OWNED]; /* malloc'd lists, freed at the end */
    size_t nscratch;
    run_result *r;
} run_ctx;

/* The replay's own error (Rust: `bad(...)`, an InvalidArgument before the library call). */
__attribute__((format(printf, 2, 3))) static bool bad(run_ctx *x, const char *fmt, ...) {
    x->r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->r->error, sizeof x->r->error, fmt, ap);
    va_end(ap);
    return false;
}

static bool not_replayed(run_ctx *x, not_replayed_id why) {
    x->r->not_replayed = (int)why;
    return false;
}

static void own(run_ctx *x, dask_array *a) {
    if (x->nowned == MAX_OWNED) {
        fprintf(stderr, "FAIL line %ld: more than %d arrays in one replay\n", x->c->lineno, MAX_OWNED);
        exit(2);
    }
    x->owned[x->nowned++] = a;
}

/* Room for n elements of `size` bytes (at least one), freed when the run ends. */
static void *scratch(run_ctx *x, size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p || x->nscratch == MAX_OWNED) exit(2);
    x->scratch[x->nscratch++] = p;
    return p;
}

/* Checks a library call that made `*slot` (kept until the run ends); false on an error. */
static bool lib(run_ctx *x, const char *step, dask_status st, dask_array *const *slot) {
    if (st != DASK_OK) {
        x->r->failed = true;
        golden_fail(x->r->error, sizeof x->r->error, step, st);
        if (*slot) own(x, *slot);
        return false;
    }
    own(x, *slot);
    return true;
}

static size_t ndim_of(const dask_array *a) {
    size_t nd = 0;
    if (dask_array_ndim(a, &nd) != DASK_OK) return 0; /* never: every array here has a layout */
    return nd;
}

/* Length of axis k (ndim_of(a) > k). */
static size_t len_of(const dask_array *a, size_t k) {
    size_t shape[64] = {0};
    if (ndim_of(a) > 64 || dask_array_shape(a, shape) != DASK_OK) return 0;
    return shape[k];
}

/* `axis(a, nd)`: an axis as NumPy takes it (negative from the end), checked against nd. */
static bool axis_of(run_ctx *x, int64_t a, size_t nd, size_t *out) {
    int64_t k = a < 0 ? a + (int64_t)nd : a;
    if (k < 0 || k >= (int64_t)nd) return bad(x, "axis %" PRId64 " is out of bounds for %zu dimensions", a, nd);
    *out = (size_t)k;
    return true;
}

/* `axes(v, nd)` into `out` (room for n entries; n may be 0). */
static bool axes_of(run_ctx *x, const int64_t *v, size_t n, size_t nd, size_t *out) {
    for (size_t k = 0; k < n; ++k)
        if (!axis_of(x, v[k], nd, &out[k])) return false;
    return true;
}

/* `array_of(o, chunk)`: a chunked array over an array operand (blocks of the chunk along
 * every axis, at most the axis' length and at least 1), or a Python scalar as a 0-d array of
 * its default dtype (Operand::Scalar(s).into_array()). */
static bool array_of(run_ctx *x, const opnd *o, dask_array **out) {
    *out = NULL;
    if (o->kind == OPND_BIGINT) return bad(x, "Python integer %s has no int64 scalar", o->text);
    if (o->kind == OPND_ARRAY) {
        size_t blocks[MAX_DIMS];
        for (size_t k = 0; k < o->t.ndim; ++k) {
            size_t n = o->t.shape[k] > 0 ? o->t.shape[k] : 1;
            blocks[k] = x->chunk == 0 || x->chunk > n ? n : x->chunk;
        }
        return lib(x, "making an input array (dask_value_copy_buffer, dask_array_from_value)",
                   golden_make_array(&o->t, blocks, out), out);
    }
    tensor t;
    memset(&t, 0, sizeof t);
    uint8_t b = (uint8_t)(o->i != 0);
    t.n = 1;
    if (o->kind == OPND_FLOAT) t.dt = DASK_FLOAT64, t.data = (void *)&o->f;
    else if (o->kind == OPND_INT) t.dt = DASK_INT64, t.data = (void *)&o->i;
    else t.dt = DASK_BOOL, t.data = &b;
    size_t none[1] = {0};
    return lib(x, "making a 0-d array of a Python scalar", golden_make_array(&t, none, out), out);
}

/* `operand_of(o, chunk)`: a Python scalar as a scalar operand, else an array. */
static bool operand_of(run_ctx *x, const opnd *o, dask_operand *out) {
    memset(out, 0, sizeof *out);
    switch (o->kind) {
    case OPND_INT: out->kind = DASK_OPERAND_INT; out->i = o->i; return true;
    case OPND_FLOAT: out->kind = DASK_OPERAND_FLOAT; out->f = o->f; return true;
    case OPND_BOOL: out->kind = DASK_OPERAND_BOOL; out->i = o->i; return true;
    case OPND_BIGINT: return bad(x, "Python integer %s has no int64 scalar", o->text);
    case OPND_ARRAY: break;
    }
    dask_array *a = NULL;
    if (!array_of(x, o, &a)) return false;
    out->kind = DASK_OPERAND_ARRAY;
    out->array = a;
    return true;
}

static bool reshape(run_ctx *x, const dask_array *a, size_t nd, const int64_t *shape, dask_array **out) {
    static const int64_t none[1] = {0};
    *out = NULL;
    return lib(x, "dask_array_reshape", dask_array_reshape(a, nd, nd ? shape : none, out), out);
}

/* `flat(x)`: x.reshape(&[-1]). */
static bool flat(run_ctx *x, const dask_array *a, dask_array **out) {
    static const int64_t minus_one[1] = {-1};
    return reshape(x, a, 1, minus_one, out);
}

/* Case::text in a run: a value too long for `buf` is the replay's error. */
static bool text_param(run_ctx *x, const char *key, char *buf, size_t len) {
    return param_text(x->c, key, buf, len) || bad(x, "parameter %s is too long for this replay", key);
}

/* `dtype_named(case.text("dtype"))` (an unknown name panics in the Rust replay: an error). */
static bool dtype_param(run_ctx *x, dask_dtype *out) {
    char name[64];
    if (!text_param(x, "dtype", name, sizeof name)) return false;
    *out = dtype_by_name(name);
    return *out != 0 || bad(x, "the replay panicked (unknown dtype %s)", name);
}

/* `index_items(spec)`: `a:b:c` (parts may be empty), an integer, or `new`; `()` or nothing
 * is the empty tuple. */
static bool index_items(run_ctx *x, const char *spec, dask_index **out, size_t *n) {
    *n = 0;
    size_t cap = 1;
    for (const char *q = spec; *q; ++q) cap += *q == ',';
    dask_index *items = *out = scratch(x, cap, sizeof *items);
    if (strcmp(spec, "()") == 0 || spec[0] == '\0') return true;
    const char *item = spec;
    for (;;) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        dask_index *e = &items[(*n)++];
        memset(e, 0, sizeof *e);
        const char *colon = memchr(item, ':', len);
        if (len == 3 && strncmp(item, "new", 3) == 0) {
            e->kind = DASK_INDEX_NEWAXIS;
        } else if (!colon) {
            e->kind = DASK_INDEX_AT;
            if (!parse_i64(item, len, &e->start)) return bad(x, "the replay panicked (an index: '%.*s')", (int)len, item);
        } else {
            /* Parts 0, 1 and 2 (any further ones are ignored, as the Rust replay does). */
            const char *part[3] = {item, colon + 1, NULL};
            size_t plen[3] = {(size_t)(colon - item), 0, 0};
            const char *c2 = memchr(part[1], ':', (size_t)(item + len - part[1]));
            plen[1] = c2 ? (size_t)(c2 - part[1]) : (size_t)(item + len - part[1]);
            if (c2) {
                part[2] = c2 + 1;
                const char *c3 = memchr(part[2], ':', (size_t)(item + len - part[2]));
                plen[2] = c3 ? (size_t)(c3 - part[2]) : (size_t)(item + len - part[2]);
            }
            e->kind = DASK_INDEX_SLICE;
            e->step = 1;
            if (plen[0] && !parse_i64(part[0], plen[0], &e->start)) return bad(x, "the replay panicked (a bound)");
            if (plen[1] && !parse_i64(part[1], plen[1], &e->stop)) return bad(x, "the replay panicked (a bound)");
            if (part[2] && plen[2] && !parse_i64(part[2], plen[2], &e->step))
                return bad(x, "the replay panicked (a bound)");
            e->has_start = plen[0] != 0;
            e->has_stop = plen[1] != 0;
        }
        if (!comma) return true;
        item = comma + 1;
    }
}

/* Applies the case's operation (its arrays are kept in x); `*res` is the array to compute. */
static bool apply(run_ctx *x, const dask_array **res) {
    const acase *c = x->c;
    const char *op = c->op;
    dask_array *a = NULL, *b = NULL, *y = NULL, *z = NULL;
    const int64_t *list = NULL;
    size_t n = 0;
    char text[4096];
    if (strcmp(op, "slice") == 0) {
        dask_index *items = NULL;
        size_t ni = 0;
        if (!text_param(x, "idx", text, sizeof text) || !index_items(x, text, &items, &ni)) return false;
        for (size_t k = 0; k < ni; ++k)
            if (items[k].kind == DASK_INDEX_SLICE && items[k].step == 0) return bad(x, "slice step cannot be zero");
        if (!array_of(x, &c->ops[0], &a)) return false;
        if (!lib(x, "dask_array_slice", dask_array_slice(a, items, ni, &y), &y)) return false;
    } else if (strcmp(op, "take") == 0) {
        param_list(c, "indices", &list, &n);
        static const int64_t no_index[1] = {0};
        const int64_t *ind = n ? list : no_index;
        int64_t ax64 = 0;
        if (param_int(c, "axis", &ax64)) {
            if (!array_of(x, &c->ops[0], &a)) return false;
            size_t nd = ndim_of(a);
            bool zero_d = nd == 0;
            if (zero_d) {
                static const int64_t one[1] = {1};
                if (!reshape(x, a, 1, one, &a)) return false;
                nd = 1;
            }
            size_t ax = 0;
            if (!axis_of(x, ax64, nd, &ax)) return false;
            int64_t len = (int64_t)len_of(a, ax);
            for (size_t k = 0; k < n; ++k)
                if (ind[k] < -len || ind[k] >= len) return bad(x, "index out of bounds");
            if (!lib(x, "dask_array_take", dask_array_take(a, ind, n, ax, &y), &y)) return false;
            /* A 0-d operand: reshaped to n ones, then to (n,), as the Rust replay does. */
            bool operand_0d = c->nops > 0 && c->ops[0].kind == OPND_ARRAY && c->ops[0].t.ndim == 0;
            if (operand_0d) {
                int64_t *ones = scratch(x, n, sizeof *ones);
                for (size_t k = 0; k < n; ++k) ones[k] = 1;
                int64_t len1[1] = {(int64_t)n};
                if (!reshape(x, y, n, ones, &z) || !reshape(x, z, 1, len1, &y)) return false;
            }
        } else {
            if (!array_of(x, &c->ops[0], &a) || !flat(x, a, &b)) return false;
            int64_t len = (int64_t)len_of(b, 0);
            for (size_t k = 0; k < n; ++k)
                if (ind[k] < -len || ind[k] >= len) return bad(x, "index out of bounds");
            if (!lib(x, "dask_array_take", dask_array_take(b, ind, n, 0, &y), &y)) return false;
        }
    } else if (strcmp(op, "transpose") == 0) {
        if (!array_of(x, &c->ops[0], &a)) return false;
        size_t nd = ndim_of(a);
        if (param_list(c, "perm", &list, &n)) {
            if (n == 0 && nd > 0) return bad(x, "axes don't match array");
            size_t *perm = scratch(x, n, sizeof *perm);
            if (!axes_of(x, list, n, nd, perm)) return false;
            if (n != nd) return not_replayed(x, NR_TRANSPOSE_LENGTH);
            if (!lib(x, "dask_array_transpose", dask_array_transpose(a, perm, &y), &y)) return false;
        } else if (!lib(x, "dask_array_transpose", dask_array_transpose(a, NULL, &y), &y)) {
            return false;
        }
    } else if (strcmp(op, "reshape") == 0) {
        param_list(c, "shape", &list, &n);
        if (!array_of(x, &c->ops[0], &a) || !reshape(x, a, n, list, &y)) return false;
    } else if (strcmp(op, "concatenate") == 0 || strcmp(op, "stack") == 0) {
        dask_array *xs[MAX_OPERANDS];
        for (size_t k = 0; k < c->nops; ++k)
            if (!array_of(x, &c->ops[k], &xs[k])) return false;
        if (c->nops == 0) return bad(x, "the replay panicked (no arrays)");
        int64_t ax64 = 0;
        bool has_axis = param_int(c, "axis", &ax64);
        size_t nd0 = ndim_of(xs[0]), ax = 0;
        if (strcmp(op, "concatenate") == 0 && !has_axis) {
            dask_array *fl[MAX_OPERANDS];
            for (size_t k = 0; k < c->nops; ++k)
                if (!flat(x, xs[k], &fl[k])) return false;
            if (!lib(x, "dask_array_concatenate",
                     dask_array_concatenate((const dask_array *const *)fl, c->nops, 0, &y), &y))
                return false;
        } else if (strcmp(op, "concatenate") == 0) {
            for (size_t k = 0; k < c->nops; ++k)
                if (ndim_of(xs[k]) != nd0)
                    return bad(x, "all the input arrays must have the same number of dimensions");
            if (!axis_of(x, ax64, nd0, &ax)) return false;
            if (!lib(x, "dask_array_concatenate",
                     dask_array_concatenate((const dask_array *const *)xs, c->nops, ax, &y), &y))
                return false;
        } else {
            if (!axis_of(x, has_axis ? ax64 : 0, nd0 + 1, &ax)) return false;
            if (!lib(x, "dask_array_stack", dask_array_stack((const dask_array *const *)xs, c->nops, ax, &y), &y))
                return false;
        }
    } else if (strcmp(op, "tensordot") == 0) {
        if (c->nops < 2) return bad(x, "the replay panicked (tensordot of %zu operands)", c->nops);
        if (!array_of(x, &c->ops[0], &a) || !array_of(x, &c->ops[1], &b)) return false;
        const int64_t *la = NULL, *lb = NULL;
        size_t na = 0, nb = 0;
        param_list(c, "axes_a", &la, &na);
        param_list(c, "axes_b", &lb, &nb);
        size_t *aa = scratch(x, na, sizeof *aa), *ab = scratch(x, nb, sizeof *ab);
        if (!axes_of(x, la, na, ndim_of(a), aa) || !axes_of(x, lb, nb, ndim_of(b), ab)) return false;
        if (na != nb) return not_replayed(x, NR_TENSORDOT_LENGTHS);
        if (!lib(x, "dask_array_tensordot", dask_array_tensordot(a, b, aa, ab, na, &y), &y)) return false;
    } else if (strcmp(op, "matmul") == 0) {
        if (c->nops < 2) return bad(x, "the replay panicked (matmul of %zu operands)", c->nops);
        if (!array_of(x, &c->ops[0], &a) || !array_of(x, &c->ops[1], &b)) return false;
        if (!lib(x, "dask_array_matmul", dask_array_matmul(a, b, &y), &y)) return false;
    } else if (strcmp(op, "reduce_sum") == 0 || strcmp(op, "reduce_max") == 0 || strcmp(op, "reduce_mean") == 0) {
        if (!array_of(x, &c->ops[0], &a)) return false;
        dask_reduce_op rop = strcmp(op, "reduce_sum") == 0   ? DASK_REDUCE_SUM
                             : strcmp(op, "reduce_max") == 0 ? DASK_REDUCE_MAX
                                                              : DASK_REDUCE_MEAN;
        bool keep = param_int_or(c, "keepdims", 0) == 1;
        const size_t *axes_arg = NULL;
        if (param_list(c, "axes", &list, &n)) {
            size_t *axes = scratch(x, n, sizeof *axes);
            if (!axes_of(x, list, n, ndim_of(a), axes)) return false;
            axes_arg = axes; /* non-NULL: these axes (none when n is 0, NumPy's axis=()) */
        }
        if (!lib(x, "dask_array_reduce", dask_array_reduce(a, rop, axes_arg, n, keep, 0.0, 8, &y), &y)) return false;
    } else if (strcmp(op, "set_where") == 0) {
        if (c->nops < 3) return bad(x, "the replay panicked (set_where of %zu operands)", c->nops);
        if (!array_of(x, &c->ops[0], &a) || !array_of(x, &c->ops[1], &b)) return false;
        dask_operand v;
        if (!operand_of(x, &c->ops[2], &v)) return false;
        if (!lib(x, "dask_array_set_where", dask_array_set_where(a, b, &v, &y), &y)) return false;
    } else if (strcmp(op, "arange") == 0) {
        dask_dtype d;
        if (!dtype_param(x, &d)) return false;
        int64_t start = param_int_or(c, "start", 0), stop = param_int_or(c, "stop", 0),
                step = param_int_or(c, "step", 1);
        size_t chunk = x->chunk == 0 ? (size_t)1 << 20 : x->chunk;
        if (!lib(x, "dask_array_arange",
                 dask_array_arange((double)start, (double)stop, (double)step, d, chunk, &y), &y))
            return false;
    } else if (strcmp(op, "mask1d") == 0) {
        if (c->nops < 2) return bad(x, "the replay panicked (mask1d of %zu operands)", c->nops);
        if (!array_of(x, &c->ops[0], &a) || !array_of(x, &c->ops[1], &b)) return false;
        if (!lib(x, "dask_array_select", dask_array_select(x->client, a, b, &y), &y)) return false;
    } else if (strcmp(op, "where") == 0) {
        if (c->nops < 3) return bad(x, "the replay panicked (where of %zu operands)", c->nops);
        dask_operand va, vb;
        if (!array_of(x, &c->ops[0], &a) || !operand_of(x, &c->ops[1], &va) || !operand_of(x, &c->ops[2], &vb))
            return false;
        if (!lib(x, "dask_array_where", dask_array_where(a, &va, &vb, &y), &y)) return false;
    } else if (strcmp(op, "cumsum") == 0 || strcmp(op, "cumprod") == 0) {
        /* dask_ufunc_accumulate with add/multiply is Array::cumulative(axis, CumOp::Sum/Prod). */
        const dask_ufunc *u = strcmp(op, "cumsum") == 0 ? x->add : x->multiply;
        if (!array_of(x, &c->ops[0], &a)) return false;
        int64_t ax64 = 0;
        size_t ax = 0;
        if (!param_int(c, "axis", &ax64)) {
            if (!flat(x, a, &b)) return false;
        } else if (ndim_of(a) == 0) {
            static const int64_t one[1] = {1};
            if (!axis_of(x, ax64, 1, &ax) || !reshape(x, a, 1, one, &b)) return false;
            ax = 0;
        } else {
            if (!axis_of(x, ax64, ndim_of(a), &ax)) return false;
            b = a;
        }
        if (!lib(x, "dask_ufunc_accumulate", dask_ufunc_accumulate(u, b, ax, &y), &y)) return false;
    } else if (strcmp(op, "astype") == 0) {
        dask_dtype d;
        if (!array_of(x, &c->ops[0], &a) || !dtype_param(x, &d)) return false;
        if (!lib(x, "dask_array_astype", dask_array_astype(a, d, &y), &y)) return false;
    } else {
        return bad(x, "the replay panicked (unknown op %s)", op);
    }
    *res = y;
    return true;
}

/* Runs case `c` with `chunk` (0: one chunk); fills `r`. */
static void run_case(const dask_client *client, const dask_ufunc *add, const dask_ufunc *multiply, const acase *c,
                     size_t chunk, run_result *r) {
    memset(r, 0, sizeof *r);
    r->not_replayed = -1;
    run_ctx x;
    memset(&x, 0, sizeof x);
    x.client = client;
    x.add = add;
    x.multiply = multiply;
    x.c = c;
    x.chunk = chunk;
    x.r = r;
    const dask_array *res = NULL;
    if (apply(&x, &res)) {
        r->have_out = true;
        if (!golden_fetch(client, res, &r->out, r->error, sizeof r->error)) r->failed = true;
    } else if (!r->failed && r->not_replayed < 0) {
        r->failed = true; /* every path out of apply says why; this one did not */
        snprintf(r->error, sizeof r->error, "the replay stopped without a reason (a bug of this test)");
    }
    for (size_t k = 0; k < x.nowned; ++k) dask_array_free(x.owned[k]);
    for (size_t k = 0; k < x.nscratch; ++k) free(x.scratch[k]);
}

static void run_result_free(run_result *r) {
    if (r->have_out) tensor_free(&r->out);
    r->have_out = false;
}

/* =======================================================================================
 * Comparing (as judge() and judge_strictly() of tests/conformance_arrays.rs)
 * ===================================================================================== */

typedef enum {
    RULE_MASKED_ASSIGNMENT_ORDER,
    RULE_ARANGE_CHECKED_RANGE,
    RULE_PYTHON_INT_PAST_INT64,
    RULE_BROADCAST_MASK,
    RULE_ARANGE_FLOAT_BOUNDS,
    N_RULES,
    RULE_NONE = N_RULES
} rule_id;

static const char *const RULE_NAMES[N_RULES] = {
    "masked-assignment-order", "arange-checked-range", "python-int-past-int64", "broadcast-mask",
    "arange-float-bounds",
};

static bool enabled[N_RULES];

static bool is_signed_int(dask_dtype dt) {
    return dt == DASK_INT8 || dt == DASK_INT16 || dt == DASK_INT32 || dt == DASK_INT64;
}

/* An integer or bool element exactly (a bool byte reads as 0 or 1, as B8::get). */
static i128 elem_int(const tensor *t, size_t i) {
    const void *p = elem_ptr(t, i);
    switch (t->dt) {
    case DASK_BOOL: { uint8_t v; memcpy(&v, p, 1); return v != 0; }
    case DASK_INT8: { int8_t v; memcpy(&v, p, 1); return v; }
    case DASK_UINT8: { uint8_t v; memcpy(&v, p, 1); return v; }
    case DASK_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case DASK_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case DASK_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case DASK_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case DASK_INT64: { int64_t v; memcpy(&v, p, 8); return v; }
    case DASK_UINT64: { uint64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

static bool same_shape(const tensor *a, const tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (size_t k = 0; k < a->ndim; ++k)
        if (a->shape[k] != b->shape[k]) return false;
    return true;
}

static bool summing(const char *op) {
    static const char *const S[] = {"reduce_sum", "reduce_mean", "cumsum", "cumprod", "tensordot", "matmul", NULL};
    return golden_rule_in(op, S);
}

/* The rule that excuses this case's error, if any (NumPy gave values). */
static rule_id excused_error(const acase *c) {
    for (size_t k = 0; k < c->nops; ++k)
        if (c->ops[k].kind == OPND_BIGINT) return RULE_PYTHON_INT_PAST_INT64;
    if (strcmp(c->op, "set_where") == 0 && c->nops >= 3 && c->ops[0].kind == OPND_ARRAY &&
        c->ops[2].kind == OPND_ARRAY) {
        const tensor *x = &c->ops[0].t, *v = &c->ops[2].t;
        bool fits = v->ndim <= x->ndim;
        for (size_t k = 0; fits && k < v->ndim; ++k) {
            size_t a = v->shape[v->ndim - 1 - k], b = x->shape[x->ndim - 1 - k];
            fits = a == b || a == 1;
        }
        if (!fits) return RULE_MASKED_ASSIGNMENT_ORDER;
    }
    if (strcmp(c->op, "arange") == 0) {
        char text[64];
        dask_dtype d = param_text(c, "dtype", text, sizeof text) ? dtype_by_name(text) : 0;
        i128 start = param_int_or(c, "start", 0), stop = param_int_or(c, "stop", 0),
             step = param_int_or(c, "step", 1), lo, hi;
        switch (d) {
        case DASK_BOOL: lo = 0, hi = 1; break;
        case DASK_INT8: lo = INT8_MIN, hi = INT8_MAX; break;
        case DASK_UINT8: lo = 0, hi = UINT8_MAX; break;
        case DASK_INT16: lo = INT16_MIN, hi = INT16_MAX; break;
        case DASK_UINT16: lo = 0, hi = UINT16_MAX; break;
        case DASK_INT32: lo = INT32_MIN, hi = INT32_MAX; break;
        case DASK_UINT32: lo = 0, hi = UINT32_MAX; break;
        case DASK_INT64: lo = INT64_MIN, hi = INT64_MAX; break;
        case DASK_UINT64: lo = 0, hi = UINT64_MAX; break;
        default: return RULE_NONE;
        }
        if (step != 0) {
            i128 signum = step > 0 ? 1 : -1;
            i128 n = ((stop - start) + step - signum) / step; /* truncates toward zero, as Rust */
            i128 last = start + step * ((n > 1 ? n : 1) - 1);
            if (n > 0 && (start < lo || start > hi || last < lo || last > hi)) return RULE_ARANGE_CHECKED_RANGE;
        }
    }
    return RULE_NONE;
}

/* The rule that excuses a value where NumPy raised, if any. */
static rule_id excused_value(const acase *c) {
    if (strcmp(c->op, "set_where") == 0 && c->nops >= 2 && c->ops[0].kind == OPND_ARRAY &&
        c->ops[1].kind == OPND_ARRAY) {
        if (!same_shape(&c->ops[1].t, &c->ops[0].t)) return RULE_BROADCAST_MASK;
        /* An array value in the where form, where NumPy wanted the selection's length. */
        if (c->nops >= 3 && c->ops[2].kind == OPND_ARRAY) return RULE_MASKED_ASSIGNMENT_ORDER;
    }
    return RULE_NONE;
}

/* Integer bounds a float64 cannot hold exactly (the arange rule). */
static bool float_bounds(const acase *c) {
    if (strcmp(c->op, "arange") != 0) return false;
    static const char *const K[] = {"start", "stop", "step"};
    for (size_t k = 0; k < 3; ++k) {
        int64_t v;
        if (param_int(c, K[k], &v)) {
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            if (mag > (uint64_t)1 << 53) return true;
        }
    }
    return false;
}

/* `x[mask] = v` in the where form, computed here: v broadcast to x's shape, taken where the
 * mask is true. False when the case is not one of an integer array value and a mask of x's
 * shape. `out` has room for x's elements. */
static bool where_form(const acase *c, i128 *out) {
    if (c->nops < 3 || c->ops[0].kind != OPND_ARRAY || c->ops[1].kind != OPND_ARRAY || c->ops[2].kind != OPND_ARRAY)
        return false;
    const tensor *x = &c->ops[0].t, *m = &c->ops[1].t, *v = &c->ops[2].t;
    if (!same_shape(m, x) || is_float(x->dt) || is_float(v->dt)) return false;
    size_t nd = x->ndim;
    if (v->ndim > nd) return false;
    size_t lead = nd - v->ndim;
    unsigned bits = 8 * (unsigned)dtype_size(x->dt);
    bool sign = is_signed_int(x->dt);
    i128 mod = (i128)1 << bits;
    for (size_t k = 0; k < x->n; ++k) {
        size_t rest = k, vk = 0, vstride = 1;
        for (size_t a = nd; a-- > 0;) {
            size_t i = rest % x->shape[a];
            rest /= x->shape[a];
            if (a >= lead) {
                size_t n = v->shape[a - lead];
                vk += n == 1 ? 0 : i * vstride;
                vstride *= n;
            }
        }
        bool on = !is_float(m->dt) && elem_int(m, k) != 0;
        if (on && vk < v->n) {
            i128 i = elem_int(v, vk);
            if (x->dt == DASK_BOOL) {
                out[k] = i != 0;
            } else {
                i128 w = i % mod;
                if (w < 0) w += mod;
                if (sign && w >= mod / 2) w -= mod;
                out[k] = w;
            }
        } else {
            out[k] = elem_int(x, k);
        }
    }
    return true;
}

typedef enum { OUTCOME_MATCH, OUTCOME_ALLOWED, OUTCOME_DIFFER } outcome;

static void shape_text(const tensor *t, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (size_t k = 0; k < t->ndim && used < len; ++k)
        used += (size_t)snprintf(buf + used, len - used, k ? ", %zu" : "%zu", t->shape[k]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

/* An element as the Rust replay prints a Num: F(1.5), I(-3). */
static void elem_text(const tensor *t, size_t i, char *buf, size_t len) {
    if (is_float(t->dt)) snprintf(buf, len, "F(%.17g)", elem_f64(t, i));
    else if (t->dt == DASK_UINT64) snprintf(buf, len, "I(%" PRIu64 ")", (uint64_t)elem_int(t, i));
    else snprintf(buf, len, "I(%" PRId64 ")", (int64_t)elem_int(t, i));
}

static outcome judge_strictly(const acase *c, const run_result *r, rule_id *rule, char *why, size_t len) {
    *rule = RULE_NONE;
    if (c->expect_error && r->failed) return OUTCOME_MATCH;
    if (c->expect_error) {
        rule_id v = excused_value(c);
        if (v != RULE_NONE && enabled[v]) {
            *rule = v;
            return OUTCOME_ALLOWED;
        }
        char sh[128];
        shape_text(&r->out, sh, sizeof sh);
        snprintf(why, len, "NumPy raises %s; got %s %s", c->error_class, dtype_name(r->out.dt), sh);
        return OUTCOME_DIFFER;
    }
    if (r->failed) {
        rule_id e = excused_error(c);
        if (e != RULE_NONE && enabled[e]) {
            *rule = e;
            return OUTCOME_ALLOWED;
        }
        snprintf(why, len, "error: %s", r->error);
        return OUTCOME_DIFFER;
    }
    const tensor *w = &c->want, *g = &r->out;
    if (g->dt != w->dt || !same_shape(g, w)) {
        char gs[128], ws[128];
        shape_text(g, gs, sizeof gs);
        shape_text(w, ws, sizeof ws);
        snprintf(why, len, "got %s %s, NumPy %s %s", dtype_name(g->dt), gs, dtype_name(w->dt), ws);
        return OUTCOME_DIFFER;
    }
    /* S: the largest |finite element| of the array operands (at least 1); n: the largest
     * element count (a scalar counts 1; at least 1). */
    double s = 1.0, n = 1.0;
    for (size_t k = 0; k < c->nops; ++k) {
        const opnd *o = &c->ops[k];
        double cnt = o->kind == OPND_ARRAY ? (double)o->t.n : 1.0;
        if (cnt > n) n = cnt;
        if (o->kind != OPND_ARRAY) continue;
        for (size_t i = 0; i < o->t.n; ++i) {
            double v = elem_f64(&o->t, i);
            double m = isfinite(v) ? __builtin_fabs(v) : 0.0;
            if (m > s) s = m;
        }
    }
    /* got_values != w.values (Num equality: integers exactly, floats by ==). */
    bool equal = true;
    for (size_t i = 0; equal && i < w->n; ++i)
        equal = is_float(w->dt) ? elem_f64(g, i) == elem_f64(w, i) : elem_int(g, i) == elem_int(w, i);
    if (!equal && enabled[RULE_MASKED_ASSIGNMENT_ORDER] && c->nops >= 1 && c->ops[0].kind == OPND_ARRAY &&
        !is_float(g->dt) && c->ops[0].t.n == g->n) {
        i128 *form = malloc((g->n ? g->n : 1) * sizeof *form);
        if (!form) exit(2);
        bool same = where_form(c, form);
        for (size_t i = 0; same && i < g->n; ++i) same = form[i] == elem_int(g, i);
        free(form);
        if (same) {
            *rule = RULE_MASKED_ASSIGNMENT_ORDER;
            return OUTCOME_ALLOWED;
        }
    }
    double eps = w->dt == DASK_FLOAT32 ? (double)FLT_EPSILON : DBL_EPSILON;
    for (size_t i = 0; i < w->n; ++i) {
        bool ok;
        if (is_float(w->dt)) {
            double a = elem_f64(g, i), b = elem_f64(w, i);
            ok = (isnan(a) && isnan(b)) || same_bits(a, b) ||
                 (summing(c->op) && isfinite(a) && isfinite(b) &&
                  (__builtin_fabs(a - b) <= 2.0 * n * eps * s * s || ulps(a, b, w->dt) <= 2));
        } else {
            ok = elem_int(g, i) == elem_int(w, i);
        }
        if (!ok) {
            char gv[64], wv[64];
            elem_text(g, i, gv, sizeof gv);
            elem_text(w, i, wv, sizeof wv);
            snprintf(why, len, "element %zu: got %s, NumPy %s", i, gv, wv);
            return OUTCOME_DIFFER;
        }
    }
    return OUTCOME_MATCH;
}

static outcome judge(const acase *c, const run_result *r, rule_id *rule, char *why, size_t len) {
    outcome o = judge_strictly(c, r, rule, why, len);
    if (o == OUTCOME_DIFFER && float_bounds(c) && enabled[RULE_ARANGE_FLOAT_BOUNDS]) {
        *rule = RULE_ARANGE_FLOAT_BOUNDS;
        return OUTCOME_ALLOWED;
    }
    return o;
}

/* =======================================================================================
 * Driver
 * ===================================================================================== */

static const size_t CHUNKINGS[] = {0, 2, 1};
#define N_CHUNKINGS (sizeof CHUNKINGS / sizeof CHUNKINGS[0])

static const char *chunking_name(size_t chunk) {
    return chunk == 0 ? "one chunk" : chunk == 2 ? "chunks of 2" : "chunks of 1";
}

#define MAX_OPS 32

typedef struct {
    long cases, replays, matched, allowed[N_RULES], differ, not_replayed[N_NOT_REPLAYED], broken;
    char ops[MAX_OPS][24]; /* failures per op */
    long op_failures[MAX_OPS];
    size_t nops;
} tally;

static long *failures_of_op(tally *t, const char *op) {
    for (size_t k = 0; k < t->nops; ++k)
        if (strcmp(t->ops[k], op) == 0) return &t->op_failures[k];
    if (t->nops == MAX_OPS) return &t->op_failures[MAX_OPS - 1];
    snprintf(t->ops[t->nops], sizeof t->ops[0], "%s", op);
    return &t->op_failures[t->nops++];
}

static void report(const acase *c, const char *mode, const char *why, long nth_of_op, bool list) {
    if (nth_of_op <= SHOWN_PER_OP) {
        size_t L = strlen(c->line);
        fprintf(stderr, "FAIL line %ld (%s): %s\n    %.*s%s\n", c->lineno, mode, why, LINE_SHOWN, c->line,
                L > LINE_SHOWN ? " ..." : "");
    }
    if (list) printf("LIST %ld|%s|%s|%s\n", c->lineno, mode, c->op, why);
}

static void replay(const dask_client *client, const dask_ufunc *add, const dask_ufunc *multiply, const acase *c,
                   bool small, bool list, tally *t) {
    for (size_t m = 0; m < N_CHUNKINGS; ++m) {
        size_t chunk = CHUNKINGS[m];
        if (small && chunk != 2) continue;
        t->replays++;
        run_result r;
        run_case(client, add, multiply, c, chunk, &r);
        if (r.not_replayed >= 0) {
            t->not_replayed[r.not_replayed]++;
            if (list) printf("NOT-REPLAYED %ld|%s|%s|%s\n", c->lineno, chunking_name(chunk), c->op, NOT_REPLAYED[r.not_replayed]);
            run_result_free(&r);
            continue;
        }
        char why[1024] = "";
        rule_id rule = RULE_NONE;
        outcome o = judge(c, &r, &rule, why, sizeof why);
        run_result_free(&r);
        if (o == OUTCOME_DIFFER) {
            t->differ++;
            atomic_fetch_add(&harness_failed, 1);
            long *k = failures_of_op(t, c->op);
            report(c, chunking_name(chunk), why, ++*k, list);
        } else {
            atomic_fetch_add(&harness_passed, 1);
            if (o == OUTCOME_ALLOWED) t->allowed[rule]++;
            else t->matched++;
        }
    }
}

/* Reads and replays every case of the golden file. False when it cannot be read whole. */
static bool replay_file(const dask_client *client, const dask_ufunc *add, const dask_ufunc *multiply, const char *dir,
                        bool small, bool list, tally *t, char *version, size_t vlen) {
    golden_reader g;
    if (!golden_open(&g, dir, "arrays.golden.gz")) return false;
    char *buf = NULL;
    size_t bufcap = 0;
    long index = 0;
    const char *line;
    while ((line = golden_next(&g)) != NULL) {
        t->cases++;
        if (small && index++ % 50 != 0) continue;
        size_t len = strlen(line);
        if (len + 1 > bufcap) {
            bufcap = len + 1;
            buf = realloc(buf, bufcap);
            if (!buf) exit(2);
        }
        memcpy(buf, line, len + 1);
        acase c;
        char err[256] = "";
        if (!parse_case(buf, line, g.lineno, &c, err, sizeof err)) {
            t->broken++;
            atomic_fetch_add(&harness_failed, 1);
            fprintf(stderr, "FAIL line %ld: cannot parse the case: %s\n    %.*s\n", g.lineno, err, LINE_SHOWN, line);
            case_free(&c);
            continue;
        }
        replay(client, add, multiply, &c, small, list, t);
        case_free(&c);
    }
    free(buf);
    snprintf(version, vlen, "%s", g.version);
    return golden_close(&g);
}

int main(void) {
    bool small = small_mode();
    watchdog(small ? 900 : 300);
    const char *dir = getenv("DASK_CONFORMANCE_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "tests/conformance";
    const char *ls = getenv("DASK_CONFORMANCE_LIST");
    bool list = ls != NULL && ls[0] != '\0' && strcmp(ls, "0") != 0;

    char allowed_path[4200];
    snprintf(allowed_path, sizeof allowed_path, "%s/allowed.txt", dir);
    if (!golden_read_allowed(allowed_path, "test_conformance_arrays.c", RULE_NAMES, N_RULES, enabled))
        atomic_fetch_add(&harness_failed, 1);

    dask_client *client = new_client(2);
    dask_ufunc *add = NULL, *multiply = NULL;
    if (!CHECK_OK(dask_ufunc_lookup("add", &add)) || !CHECK_OK(dask_ufunc_lookup("multiply", &multiply))) {
        dask_ufunc_free(add);
        dask_client_free(client);
        return test_finish();
    }
    tally t;
    memset(&t, 0, sizeof t);
    char version[128] = "";
    double t0 = now_s();
    if (!replay_file(client, add, multiply, dir, small, list, &t, version, sizeof version))
        atomic_fetch_add(&harness_failed, 1);
    double secs = now_s() - t0;
    dask_ufunc_free(add);
    dask_ufunc_free(multiply);
    dask_client_free(client);
    CHECK(t.cases > 3000, "the golden file holds the cases (%ld)", t.cases);

    long allowed = 0, skipped = 0;
    char per_rule[512] = "", per_reason[1024] = "";
    size_t used = 0;
    for (size_t r = 0; r < N_RULES; ++r) {
        allowed += t.allowed[r];
        if (t.allowed[r] && used < sizeof per_rule)
            used += (size_t)snprintf(per_rule + used, sizeof per_rule - used, "%s%s %ld", used ? ", " : "",
                                     RULE_NAMES[r], t.allowed[r]);
    }
    used = 0;
    for (size_t k = 0; k < N_NOT_REPLAYED; ++k) {
        skipped += t.not_replayed[k];
        if (t.not_replayed[k] && used < sizeof per_reason)
            used += (size_t)snprintf(per_reason + used, sizeof per_reason - used, "%s%ld: %s", used ? "; " : "",
                                     t.not_replayed[k], NOT_REPLAYED[k]);
    }
    if (t.differ > 0) {
        fprintf(stderr, "replays that differ, per op (the first %d of each shown above):\n", SHOWN_PER_OP);
        for (size_t k = 0; k < t.nops; ++k) fprintf(stderr, "  %6ld  %s\n", t.op_failures[k], t.ops[k]);
    }
    fflush(stderr);
    printf("array conformance (C, %s): %ld cases%s, %ld replays: %ld match, %ld allowed (%s), %ld differ, "
           "%ld not replayed in C%s%s%s%s (%.1f s)\n",
           version[0] ? version : "?", t.cases, small ? " (every 50th, in chunks of 2 only)" : "", t.replays,
           t.matched, allowed, allowed ? per_rule : "none", t.differ, skipped, skipped ? " (" : "",
           per_reason, skipped ? ")" : "", t.broken ? ", and cases that do not parse (see above)" : "", secs);
    return test_finish();
}
