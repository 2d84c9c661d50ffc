/*
 * pydata/sparse conformance through the C ABI: replays tests/conformance/sparse.golden.gz
 * (pydata/sparse 0.19.3 and scipy, made by `conformance/generate_arrays.py sparse`; format and
 * ops in conformance/README.md). The reference is the Rust replay, tests/conformance_sparse.rs:
 * the same operands (sparse operands built from the recorded triplets with
 * dask_sparse_from_triplets, dense operands as arrays over a buffer, Python scalars as
 * dask_operand scalars), the same densify policy (dask_sparse_set_auto_densify(true)), the same
 * comparison (dtype, shape, values: integers exactly, floats bit-exact except sum/mean/prod/
 * var/std and tensordot/matmul within the Rust replay's `tolerance`), the fill value of a sparse
 * result (read as the Rust replay reads it: the dense value at an unstored position, else
 * dask_sparse_fill_value), sparse or dense (dask_array_get_kind), the CSR/CSC arrays exactly,
 * or an error where pydata raised.
 *
 * C calls behind the Rust ones: apply_ufunc <-> dask_ufunc_call; Operand::reduce <->
 * dask_array_reduce (split_every 8); Coo::astype <-> dask_array_astype; transpose <->
 * dask_array_transpose; Operand::reshape <-> dask_array_reshape; slice <-> dask_array_slice;
 * Coo::concatenate/stack <-> dask_sparse_concatenate/stack; tensordot <->
 * dask_sparse_tensordot (return type); matmul (ReturnType::Auto) <-> dask_array_matmul;
 * to_compressed <-> dask_sparse_to_compressed; Coo::from_triplets <-> dask_sparse_from_triplets.
 *
 * Every case is replayed, dense operands as one dense block (dask_array_block_from_value, the
 * Rust replay's Operand::Block). A result must match pydata, unless the case may fall under a
 * rule of tests/conformance/allowed.txt: `rule_of` selects those structurally before the call,
 * as the Rust replay's `pydata_bug`, `kind_rule`, `value_excuse` and fill checks do, but as a
 * superset of them; the Rust replay checks each allowed difference narrowly (element by
 * element, against NumPy's answer computed independently), and the C ABI calls the same code.
 * Such a case that matches counts as a match, one that differs as "differ under a rule" with
 * the rule's name. A case the C ABI cannot express is "not replayed in C", with the reason.
 *
 * DASK_STRESS_SMALL=1 (valgrind): every 50th case. DASK_CONFORMANCE_DIR: directory of the
 * golden file and allowed.txt (default tests/conformance). DASK_CONFORMANCE_LIST=1: every
 * failure as a LIST line and every case not replayed as a NOT-REPLAYED line.
 */
#include "golden.h"

#define MAX_OPERANDS 3
#define MAX_PARAMS 8
#define LINE_SHOWN 220

__extension__ typedef __int128 i128;

/* ---- cases ------------------------------------------------------------------------------ */

typedef enum { OPND_ARRAY, OPND_SPARSE, OPND_INT, OPND_FLOAT, OPND_BOOL, OPND_BIGINT } opnd_kind;

typedef struct {
    opnd_kind kind;
    tensor t;        /* OPND_ARRAY: the array; OPND_SPARSE: the data (1-d, nnz) */
    tensor dense;    /* OPND_SPARSE: densified (for tolerances and rule checks) */
    size_t ndim;     /* OPND_SPARSE */
    size_t shape[MAX_DIMS];
    unsigned char fill[8];
    uint64_t *coords; /* ndim * nnz, axis-major */
    size_t nnz;
    int64_t i;
    double f;
} opnd;

typedef struct {
    const char *key, *text;
} param;

typedef enum { K_NONE, K_SPARSE, K_DENSE } want_kind;

typedef struct {
    long lineno;
    const char *line;
    char op[24];
    size_t nparams;
    param params[MAX_PARAMS];
    size_t nops;
    opnd ops[MAX_OPERANDS];
    bool expect_error;
    tensor want;
    want_kind kind;
    unsigned char want_fill[8];
    tensor csr[3];
} scase;

static void case_free(scase *c) {
    for (size_t o = 0; o < c->nops; ++o) {
        tensor_free(&c->ops[o].t);
        tensor_free(&c->ops[o].dense);
        free(c->ops[o].coords);
    }
    tensor_free(&c->want);
    for (int k = 0; k < 3; ++k) tensor_free(&c->csr[k]);
}

static bool parse_i64(const char *s, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0) return false;
    *out = v;
    return true;
}

static const char *param_of(const scase *c, const char *key) {
    for (size_t p = 0; p < c->nparams; ++p)
        if (strcmp(c->params[p].key, key) == 0) return c->params[p].text;
    return NULL;
}

/* `none` (false), `()` (n 0) or integers joined by `,`. */
static bool int_list(const char *s, int64_t *v, size_t *n) {
    *n = 0;
    if (!s || strcmp(s, "none") == 0) return false;
    if (strcmp(s, "()") == 0) return true;
    const char *p = s;
    while (*p && *n < MAX_DIMS * 2) {
        char *end = NULL;
        v[(*n)++] = strtoll(p, &end, 10);
        p = *end == ',' ? end + 1 : end;
        if (end == p && *end == '\0') break;
    }
    return true;
}

/* Number k of a tensor: integer or float. */
typedef struct {
    bool isf;
    double f;
    i128 i;
} num;

static num num_of_bytes(const void *p, dask_dtype dt) {
    num r = {false, 0, 0};
    switch (dt) {
    case DASK_BOOL: { uint8_t x; memcpy(&x, p, 1); r.i = x != 0; break; }
    case DASK_INT8: { int8_t x; memcpy(&x, p, 1); r.i = x; break; }
    case DASK_UINT8: { uint8_t x; memcpy(&x, p, 1); r.i = x; break; }
    case DASK_INT16: { int16_t x; memcpy(&x, p, 2); r.i = x; break; }
    case DASK_UINT16: { uint16_t x; memcpy(&x, p, 2); r.i = x; break; }
    case DASK_INT32: { int32_t x; memcpy(&x, p, 4); r.i = x; break; }
    case DASK_UINT32: { uint32_t x; memcpy(&x, p, 4); r.i = x; break; }
    case DASK_INT64: { int64_t x; memcpy(&x, p, 8); r.i = x; break; }
    case DASK_UINT64: { uint64_t x; memcpy(&x, p, 8); r.i = x; break; }
    case DASK_FLOAT32: { float x; memcpy(&x, p, 4); r.isf = true; r.f = x; break; }
    default: { double x; memcpy(&x, p, 8); r.isf = true; r.f = x; break; }
    }
    return r;
}

static num num_at(const tensor *t, size_t i) { return num_of_bytes(elem_ptr(t, i), t->dt); }
static double fnum(num v) { return v.isf ? v.f : (double)v.i; }

static bool parse_shape(char *s, size_t *ndim, size_t *shape) {
    *ndim = 0;
    if (strcmp(s, "-") == 0) return true;
    char *save = NULL;
    for (char *d = strtok_r(s, "x", &save); d; d = strtok_r(NULL, "x", &save)) {
        if (*ndim == MAX_DIMS) return false;
        shape[(*ndim)++] = strtoul(d, NULL, 10);
    }
    return true;
}

/* `s:<dtype>:<shape>:<fill>:<nnz>:<coords>:<data>` (after `s:`). */
static bool parse_sparse(char *text, opnd *o, char *err, size_t errlen) {
    char *part[7];
    char *save = NULL;
    for (int k = 0; k < 6; ++k) {
        part[k] = strtok_r(k ? NULL : text, ":", &save);
        if (!part[k]) {
            snprintf(err, errlen, "malformed sparse operand");
            return false;
        }
    }
    dask_dtype dt = dtype_by_name(part[0]);
    if (!dt || !parse_shape(part[1], &o->ndim, o->shape) || !parse_value(part[2], dt, o->fill)) {
        snprintf(err, errlen, "malformed sparse operand header");
        return false;
    }
    o->nnz = strtoul(part[3], NULL, 10);
    o->coords = calloc(o->ndim * o->nnz + 1, sizeof *o->coords);
    if (!o->coords) exit(2);
    if (strcmp(part[4], "-") != 0) {
        size_t k = 0;
        for (char *p = part[4]; *p && k < o->ndim * o->nnz;) {
            char *end = NULL;
            o->coords[k++] = strtoull(p, &end, 10);
            p = (*end == ',' || *end == '/') ? end + 1 : end;
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s:%zu:", part[0], o->nnz);
    size_t dl = strlen(part[5]);
    char *dtext = malloc(strlen(buf) + dl + 1);
    if (!dtext) exit(2);
    memcpy(dtext, buf, strlen(buf));
    memcpy(dtext + strlen(buf), part[5], dl + 1);
    bool ok = parse_tensor(dtext, &o->t, err, errlen);
    free(dtext);
    if (!ok) return false;
    /* Densified (duplicates: the last one written; only from_triplets has them). */
    tensor *d = &o->dense;
    d->dt = dt;
    d->ndim = o->ndim;
    d->n = 1;
    for (size_t k = 0; k < o->ndim; ++k) d->shape[k] = o->shape[k], d->n *= o->shape[k];
    size_t sz = dtype_size(dt);
    d->data = malloc((d->n ? d->n : 1) * sz);
    if (!d->data) exit(2);
    for (size_t i = 0; i < d->n; ++i) memcpy((char *)d->data + i * sz, o->fill, sz);
    for (size_t e = 0; e < o->nnz; ++e) {
        size_t l = 0;
        bool in = true;
        for (size_t a = 0; a < o->ndim; ++a) {
            uint64_t c = o->coords[a * o->nnz + e];
            in = in && c < o->shape[a];
            l = l * o->shape[a] + (size_t)c;
        }
        if (in && l < d->n) memcpy((char *)d->data + l * sz, elem_ptr(&o->t, e), sz);
    }
    return true;
}

static bool parse_operand(char *tok, opnd *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (strncmp(tok, "a:", 2) == 0) {
        o->kind = OPND_ARRAY;
        return parse_tensor(tok + 2, &o->t, err, errlen);
    }
    if (strncmp(tok, "s:", 2) == 0) {
        o->kind = OPND_SPARSE;
        return parse_sparse(tok + 2, o, err, errlen);
    }
    if (strncmp(tok, "i:", 2) == 0) {
        o->kind = parse_i64(tok + 2, &o->i) ? OPND_INT : OPND_BIGINT;
        return true;
    }
    if (strncmp(tok, "f:", 2) == 0) {
        o->kind = OPND_FLOAT;
        o->f = strtod(tok + 2, NULL);
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

static bool parse_case(char *buf, const char *line, long lineno, scase *c, char *err, size_t errlen) {
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
    unsigned long n = strtoul(ns, NULL, 10);
    if (n > MAX_OPERANDS) {
        snprintf(err, errlen, "bad operand count");
        return false;
    }
    for (size_t k = 0; k < n; ++k) {
        char *tok = strtok_r(NULL, " ", &save);
        if (!tok) {
            snprintf(err, errlen, "missing operand");
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
    } else {
        if (r[0] != '=' || !parse_tensor(r + 1, &c->want, err, errlen)) return false;
        if (strcmp(c->op, "tocsr") == 0 || strcmp(c->op, "tocsc") == 0) {
            for (int k = 0; k < 3; ++k) {
                char *a = strtok_r(NULL, " ", &save);
                if (!a || a[0] != '=' || !parse_tensor(a + 1, &c->csr[k], err, errlen)) {
                    snprintf(err, errlen, "malformed compressed arrays");
                    return false;
                }
            }
        } else {
            char *k = strtok_r(NULL, " ", &save);
            if (k && strcmp(k, "dense") == 0) {
                c->kind = K_DENSE;
            } else if (k && strcmp(k, "sparse") == 0) {
                char *f = strtok_r(NULL, " ", &save);
                if (!f || strncmp(f, "fill=", 5) != 0 || !parse_value(f + 5, c->want.dt, c->want_fill)) {
                    snprintf(err, errlen, "malformed fill");
                    return false;
                }
                c->kind = K_SPARSE;
            } else {
                snprintf(err, errlen, "no result kind");
                return false;
            }
        }
    }
    if (strcmp(ps, "-") != 0) {
        char *s2 = NULL;
        for (char *kv = strtok_r(ps, ";", &s2); kv; kv = strtok_r(NULL, ";", &s2)) {
            char *eq = strchr(kv, '=');
            if (!eq || c->nparams == MAX_PARAMS) {
                snprintf(err, errlen, "malformed parameter");
                return false;
            }
            *eq = '\0';
            c->params[c->nparams].key = kv;
            c->params[c->nparams++].text = eq + 1;
        }
    }
    return true;
}

/* ---- which cases are replayed --------------------------------------------------------------- */

static const char *const RULE_NAMES[] = {
    "saturating-cast", "pydata-bug-uint64-python-int", "pydata-bug-reduce-fill-dtype",
    "pydata-bug-empty-reduction", "pydata-bug-negative-step-slice", "pydata-bug-product-skips-inf-times-zero",
    "sparse-products-skip-implicit-zeros", "sparse-fill-signed-zero", "sparse-stacked-matmul-dense",
    "pydata-bug-tensordot-0d-return-type", "pydata-bug-matmul-vector-stacked", "pydata-mixed-broadcast",
    "pydata-full-reduction-dense", "pydata-index-0d-sparse", "pydata-canonical-no-stored-fill",
    "pydata-0d-fill-is-value", "pydata-vector-dot-dense", "pydata-scipy-toarray-negative-zero",
    "pydata-float32-mean-in-float64", "float32-var-in-float64",
};
#define N_RULES (sizeof RULE_NAMES / sizeof RULE_NAMES[0])
static bool enabled[N_RULES];

/* Counts per reason: of the cases not replayed (what the C ABI cannot express), and of the
 * differences a rule allows. */
#define MAX_REASONS 40
typedef struct {
    const char *name[MAX_REASONS];
    long count[MAX_REASONS];
    size_t n;
} tally;
static tally not_replayed, allowed_by;

static void count_reason(tally *t, const char *why) {
    size_t k = 0;
    while (k < t->n && strcmp(t->name[k], why) != 0) ++k;
    if (k == t->n && t->n < MAX_REASONS) t->name[t->n++] = why;
    if (k < MAX_REASONS) t->count[k]++;
}

static void show_tally(const tally *t, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < t->n && used < len; ++k)
        used += (size_t)snprintf(out + used, len - used, "%s%ld: %s", used ? "; " : "", t->count[k], t->name[k]);
}

static bool rule_enabled(const char *name) {
    for (size_t k = 0; k < N_RULES; ++k)
        if (!strcmp(RULE_NAMES[k], name)) return enabled[k];
    return false;
}

static bool is_reduction(const char *op) {
    return !strcmp(op, "sum") || !strcmp(op, "max") || !strcmp(op, "mean") || !strcmp(op, "var") ||
           !strcmp(op, "std") || !strcmp(op, "prod");
}
static bool is_elementwise(const char *op) {
    return !strcmp(op, "add") || !strcmp(op, "multiply") || !strcmp(op, "subtract") || !strcmp(op, "maximum");
}

static const tensor *dense_of(const opnd *o) {
    return o->kind == OPND_ARRAY ? &o->t : o->kind == OPND_SPARSE ? &o->dense : NULL;
}

static bool any_nonfinite(const tensor *t) {
    if (!t || !is_float(t->dt)) return false;
    for (size_t i = 0; i < t->n; ++i)
        if (!isfinite(elem_f64(t, i))) return true;
    return false;
}

/* The axes of a reduction (np_axes): false when invalid. */
static bool reduce_axes(const scase *c, size_t nd, bool *red, size_t *nred) {
    int64_t v[MAX_DIMS * 2];
    size_t n;
    for (size_t k = 0; k < nd; ++k) red[k] = false;
    *nred = 0;
    if (!int_list(param_of(c, "axes"), v, &n)) {
        for (size_t k = 0; k < nd; ++k) red[k] = true;
        *nred = nd;
        return true;
    }
    for (size_t k = 0; k < n; ++k) {
        int64_t a = v[k] < 0 ? v[k] + (int64_t)nd : v[k];
        if (a < 0 || a >= (int64_t)nd || red[a]) return false;
        red[a] = true;
        ++*nred;
    }
    return true;
}

/* The rule of allowed.txt this case may fall under (a superset of the cases the Rust replay
 * allows under it), or NULL. */
static const char *rule_of(const scase *c) {
    const char *op = c->op;
    const opnd *o0 = &c->ops[0];
    for (size_t k = 0; k < c->nops; ++k) /* a 0-d sparse operand whose element is stored */
        if (c->ops[k].kind == OPND_SPARSE && c->ops[k].ndim == 0) return "pydata-0d-fill-is-value";
    if (c->kind == K_SPARSE && c->want.ndim == 0) {
        num f = num_of_bytes(c->want_fill, c->want.dt), v = num_at(&c->want, 0);
        if (f.isf ? !same_bits(f.f, v.f) : f.i != v.i) return "pydata-0d-fill-is-value";
    }
    if (is_elementwise(op)) {
        bool u64 = false, pyint = false, dense_arr = false, stored_fill = false;
        for (size_t k = 0; k < c->nops; ++k) {
            const opnd *o = &c->ops[k];
            if (o->kind == OPND_SPARSE && o->t.dt == DASK_UINT64) u64 = true;
            if (o->kind == OPND_INT) pyint = true;
            if (o->kind == OPND_ARRAY) dense_arr = true;
            if (o->kind == OPND_SPARSE) {
                double f = fnum(num_of_bytes(o->fill, o->t.dt));
                for (size_t e = 0; e < o->nnz; ++e)
                    if (fnum(num_at(&o->t, e)) == f) stored_fill = true;
            }
        }
        if (u64 && pyint) return "pydata-bug-uint64-python-int";
        if (c->expect_error && dense_arr) return "pydata-mixed-broadcast";
        if (stored_fill) return "pydata-canonical-no-stored-fill";
        return NULL;
    }
    if (is_reduction(op)) {
        bool red[MAX_DIMS];
        size_t nred;
        if (!reduce_axes(c, o0->ndim, red, &nred)) return NULL;
        size_t m = 1;
        for (size_t k = 0; k < o0->ndim; ++k)
            if (red[k]) m *= o0->shape[k];
        if (m == 0) return "pydata-bug-empty-reduction";
        num fill = num_of_bytes(o0->fill, o0->t.dt);
        if (strcmp(op, "max") != 0 && !is_float(o0->t.dt) && o0->nnz < o0->dense.n && fill.i != 0)
            return "pydata-bug-reduce-fill-dtype";
        if (nred == o0->ndim && c->kind == K_SPARSE) return "pydata-full-reduction-dense";
        if (o0->t.dt == DASK_FLOAT32 && !c->expect_error) {
            bool inf = c->kind == K_SPARSE && isinf(fnum(num_of_bytes(c->want_fill, c->want.dt)));
            for (size_t i = 0; i < c->want.n; ++i) inf = inf || isinf(elem_f64(&c->want, i));
            if (inf && !strcmp(op, "mean")) return "pydata-float32-mean-in-float64";
            if (inf && (!strcmp(op, "var") || !strcmp(op, "std"))) return "float32-var-in-float64";
        }
        return NULL;
    }
    if (!strcmp(op, "slice")) {
        const char *idx = param_of(c, "idx");
        /* a negative step: a third part of a slice item starting with '-' */
        for (const char *p = idx; p && *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            int colons = 0;
            for (size_t k = 0; k < len; ++k)
                if (p[k] == ':' && ++colons == 2 && k + 1 < len && p[k + 1] == '-')
                    return "pydata-bug-negative-step-slice";
            p = end ? end + 1 : NULL;
        }
        if (c->kind == K_DENSE && c->want.ndim == 0) return "pydata-index-0d-sparse";
        return NULL;
    }
    if (!strcmp(op, "tensordot") || !strcmp(op, "matmul")) {
        const tensor *a = dense_of(&c->ops[0]), *b = dense_of(&c->ops[1]);
        size_t na = a ? a->ndim : 0, nb = b ? b->ndim : 0;
        if (!strcmp(op, "matmul") && ((na == 1 && nb > 2) || (nb == 1 && na > 2)))
            return "pydata-bug-matmul-vector-stacked";
        if (any_nonfinite(a) || any_nonfinite(b)) return "pydata-bug-product-skips-inf-times-zero";
        if (!strcmp(op, "tensordot") && (na == 0 || nb == 0)) return "pydata-bug-tensordot-0d-return-type";
        if (!strcmp(op, "matmul") && c->kind == K_SPARSE && (na > 2 || nb > 2)) return "sparse-stacked-matmul-dense";
        if (!strcmp(op, "matmul") && c->kind == K_SPARSE && c->want.ndim == 0 &&
            (c->ops[0].kind == OPND_ARRAY || c->ops[1].kind == OPND_ARRAY))
            return "pydata-vector-dot-dense";
        return NULL;
    }
    if (!strcmp(op, "concatenate") || !strcmp(op, "stack")) {
        bool pos = false, neg = false, zero = true;
        for (size_t k = 0; k < c->nops; ++k) {
            double f = fnum(num_of_bytes(c->ops[k].fill, c->ops[k].t.dt));
            zero = zero && f == 0.0;
            if (signbit(f)) neg = true; else pos = true;
        }
        if (c->expect_error && zero && pos && neg) return "sparse-fill-signed-zero";
        return NULL;
    }
    if (!strcmp(op, "tocsr") || !strcmp(op, "tocsc")) {
        if (c->expect_error) return NULL;
        for (size_t e = 0; e < o0->nnz; ++e) {
            double v = fnum(num_at(&o0->t, e));
            if (v == 0.0 && signbit(v)) return "pydata-scipy-toarray-negative-zero";
        }
        for (size_t e = 0; e < c->csr[2].n; ++e)
            if (fnum(num_at(&c->csr[2], e)) == 0.0) return "pydata-canonical-no-stored-fill";
        return NULL;
    }
    if (!strcmp(op, "astype")) {
        dask_dtype to = c->expect_error ? 0 : c->want.dt;
        if (to && is_float(o0->t.dt) && !is_float(to) && to != DASK_BOOL) {
            const tensor *d = &o0->dense;
            for (size_t i = 0; i < d->n; ++i) {
                double x = elem_f64(d, i);
                /* beyond every integer dtype's exact range check: out of range for `to` */
                size_t bits = dtype_size(to) * 8;
                double p2 = 1.0;
                for (size_t b = 1; b < bits; ++b) p2 *= 2.0;
                double lo = is_unsigned_int(to) ? 0.0 : -p2;
                double hi = is_unsigned_int(to) ? 2.0 * p2 : p2;
                if (!isfinite(x) || x <= lo - 1.0 || x >= hi) return "saturating-cast";
            }
        }
        return NULL;
    }
    return NULL;
}

/* ---- running a case ------------------------------------------------------------------------ */

typedef struct {
    bool ok;
    char err[512];
    tensor arr;
    bool sparse;
    num fill;
    bool fill_from_accessor; /* fill read as a double (every position stored) */
    size_t *indptr, *indices;
    size_t n_indptr, n_indices;
    tensor csr_data;
} got;

static void got_free(got *g) {
    tensor_free(&g->arr);
    tensor_free(&g->csr_data);
    free(g->indptr);
    free(g->indices);
}

static bool fail(got *g, const char *step, dask_status st) {
    return golden_fail(g->err, sizeof g->err, step, st);
}

static bool value_to_tensor(dask_value *v, tensor *t, char *err, size_t errlen) {
    dask_buffer_view bv;
    dask_status st = dask_value_buffer(v, &bv, sizeof bv);
    if (st != DASK_OK) return golden_fail(err, errlen, "dask_value_buffer", st);
    memset(t, 0, sizeof *t);
    t->dt = bv.dtype;
    t->ndim = bv.ndim;
    t->n = bv.len;
    size_t sz = dtype_size(t->dt);
    if (t->ndim > MAX_DIMS || !sz) {
        snprintf(err, errlen, "bad buffer");
        return false;
    }
    for (size_t k = 0; k < t->ndim; ++k) t->shape[k] = bv.shape[k];
    t->data = calloc(t->n ? t->n : 1, sz);
    if (!t->data) exit(2);
    for (size_t i = 0; i < t->n; ++i) {
        ptrdiff_t off = 0;
        size_t rest = i;
        for (size_t k = t->ndim; k-- > 0;) {
            off += (ptrdiff_t)(rest % t->shape[k]) * bv.strides[k];
            rest /= t->shape[k];
        }
        memcpy((char *)t->data + i * sz, (const char *)bv.data + off, sz);
    }
    return true;
}

/* A sparse result: dense value and fill (as the Rust replay's fill_num). */
static bool fetch_sparse(const dask_array *a, got *g) {
    dask_value *v = NULL;
    dask_status st = dask_sparse_to_dense(a, &v);
    if (st != DASK_OK) return fail(g, "dask_sparse_to_dense", st);
    bool ok = value_to_tensor(v, &g->arr, g->err, sizeof g->err);
    dask_value_free(v);
    if (!ok) return false;
    g->sparse = true;
    size_t nnz = 0;
    if ((st = dask_sparse_info(a, &nnz, NULL, NULL)) != DASK_OK) return fail(g, "dask_sparse_info", st);
    size_t nd = g->arr.ndim;
    uint64_t *co = calloc(nd * nnz + 1, sizeof *co);
    bool *stored = calloc(g->arr.n + 1, 1);
    if (!co || !stored) exit(2);
    if ((st = dask_sparse_coords(a, co)) != DASK_OK) {
        free(co);
        free(stored);
        return fail(g, "dask_sparse_coords", st);
    }
    for (size_t e = 0; e < nnz; ++e) {
        size_t l = 0;
        for (size_t k = 0; k < nd; ++k) l = l * g->arr.shape[k] + (size_t)co[k * nnz + e];
        if (l < g->arr.n) stored[l] = true;
    }
    size_t free_at = g->arr.n;
    for (size_t i = 0; i < g->arr.n && free_at == g->arr.n; ++i)
        if (!stored[i]) free_at = i;
    free(co);
    free(stored);
    if (free_at < g->arr.n) {
        g->fill = num_at(&g->arr, free_at);
    } else {
        double f;
        if ((st = dask_sparse_fill_value(a, &f)) != DASK_OK) return fail(g, "dask_sparse_fill_value", st);
        g->fill.isf = true;
        g->fill.f = f;
        g->fill_from_accessor = true;
    }
    return true;
}

static bool fetch_any(const dask_client *client, const dask_array *a, got *g) {
    dask_array_kind k;
    dask_status st = dask_array_get_kind(a, &k);
    if (st != DASK_OK) return fail(g, "dask_array_get_kind", st);
    if (k == DASK_ARRAY_SPARSE) return fetch_sparse(a, g);
    g->sparse = false;
    return golden_fetch(client, a, &g->arr, g->err, sizeof g->err);
}

static dask_status make_sparse(const opnd *o, size_t ndim, const size_t *shape, const void *fill, dask_array **out) {
    dask_value *v = NULL;
    size_t n = o->nnz;
    dask_status st = dask_value_copy_buffer(o->t.dt, 1, &n, o->t.data, &v);
    if (st != DASK_OK) return st;
    st = dask_sparse_from_triplets(ndim, shape, o->coords, v, fnum(num_of_bytes(fill, o->t.dt)), out);
    dask_value_free(v);
    return st;
}

/* Can the fill go through dask_sparse_from_triplets' double exactly? */
static bool fill_exact(const opnd *o, const void *fill) {
    num f = num_of_bytes(fill, o->t.dt);
    return f.isf || (i128)(double)f.i == f.i;
}

static size_t norm_axis(int64_t a, size_t nd) {
    int64_t v = a < 0 ? a + (int64_t)nd : a;
    return v < 0 ? SIZE_MAX : (size_t)v;
}

#define MAX_OWNED 8
typedef struct {
    dask_array *owned[MAX_OWNED];
    size_t n;
} owner;
static dask_array **slot(owner *w) { return &w->owned[w->n++]; }

static bool array_of(const opnd *o, owner *w, got *g) {
    dask_status st;
    if (o->kind == OPND_SPARSE) {
        if ((st = make_sparse(o, o->ndim, o->shape, o->fill, slot(w))) != DASK_OK)
            return fail(g, "dask_sparse_from_triplets", st);
    } else {
        /* A dense block, as the Rust replay's Operand::Block (a chunked array would stay chunked). */
        dask_value *v = NULL;
        if ((st = dask_value_copy_buffer(o->t.dt, o->t.ndim, o->t.shape, o->t.data, &v)) != DASK_OK)
            return fail(g, "dask_value_copy_buffer", st);
        st = dask_array_block_from_value(v, slot(w));
        dask_value_free(v);
        if (st != DASK_OK) return fail(g, "dask_array_block_from_value", st);
    }
    return true;
}

static const struct {
    const char *name;
    dask_reduce_op op;
} REDUCE_OPS[] = {{"sum", DASK_REDUCE_SUM}, {"prod", DASK_REDUCE_PROD}, {"max", DASK_REDUCE_MAX},
                  {"mean", DASK_REDUCE_MEAN}, {"var", DASK_REDUCE_VAR}, {"std", DASK_REDUCE_STD}};

/* Runs the case: g->ok with the result, or the library's refusal in g->err. Returns NULL, or
 * the reason the C ABI cannot express the case. */
static const char *run(const dask_client *client, const scase *c, got *g) {
    owner w = {{0}, 0};
    const char *op = c->op;
    const opnd *o0 = &c->ops[0];
    dask_status st = DASK_OK;
    dask_array *res = NULL;
    const char *cannot = NULL;
    for (size_t k = 0; k < c->nops; ++k)
        if (c->ops[k].kind == OPND_SPARSE && !fill_exact(&c->ops[k], c->ops[k].fill)) {
            cannot = "fill past 2^53 (dask_sparse_from_triplets takes a double fill)";
            goto done;
        }
    g->ok = false;
    if (is_elementwise(op)) {
        dask_operand args[MAX_OPERANDS];
        memset(args, 0, sizeof args);
        for (size_t k = 0; k < c->nops; ++k) {
            const opnd *o = &c->ops[k];
            switch (o->kind) {
            case OPND_ARRAY:
            case OPND_SPARSE:
                if (!array_of(o, &w, g)) goto done;
                args[k].kind = DASK_OPERAND_ARRAY;
                args[k].array = w.owned[w.n - 1];
                break;
            case OPND_INT: args[k].kind = DASK_OPERAND_INT; args[k].i = o->i; break;
            case OPND_BOOL: args[k].kind = DASK_OPERAND_BOOL; args[k].i = o->i; break;
            case OPND_FLOAT: args[k].kind = DASK_OPERAND_FLOAT; args[k].f = o->f; break;
            default: cannot = "python-int-past-int64"; goto done;
            }
        }
        dask_ufunc *u = NULL;
        if ((st = dask_ufunc_lookup(op, &u)) != DASK_OK) {
            fail(g, "dask_ufunc_lookup", st);
            goto done;
        }
        st = dask_ufunc_call(u, args, c->nops, &res);
        dask_ufunc_free(u);
        if (st != DASK_OK) {
            fail(g, "dask_ufunc_call", st);
            goto done;
        }
    } else if (is_reduction(op)) {
        if (!array_of(o0, &w, g)) goto done;
        dask_reduce_op rop = 0;
        for (size_t k = 0; k < sizeof REDUCE_OPS / sizeof REDUCE_OPS[0]; ++k)
            if (!strcmp(REDUCE_OPS[k].name, op)) rop = REDUCE_OPS[k].op;
        int64_t v[MAX_DIMS * 2];
        size_t n, axes[MAX_DIMS * 2];
        bool some = int_list(param_of(c, "axes"), v, &n);
        for (size_t k = 0; some && k < n; ++k) axes[k] = norm_axis(v[k], o0->ndim);
        const char *kd = param_of(c, "keepdims");
        st = dask_array_reduce(w.owned[0], rop, some ? axes : NULL, some ? n : 0, kd && !strcmp(kd, "1"), 0.0, 8,
                               &res);
        if (st != DASK_OK) {
            fail(g, "dask_array_reduce", st);
            goto done;
        }
    } else if (!strcmp(op, "astype")) {
        if (!array_of(o0, &w, g)) goto done;
        dask_dtype dt = dtype_by_name(param_of(c, "dtype"));
        if ((st = dask_array_astype(w.owned[0], dt, &res)) != DASK_OK) {
            fail(g, "dask_array_astype", st);
            goto done;
        }
    } else if (!strcmp(op, "transpose")) {
        if (!array_of(o0, &w, g)) goto done;
        int64_t v[MAX_DIMS * 2];
        size_t n, perm[MAX_DIMS * 2];
        bool some = int_list(param_of(c, "perm"), v, &n);
        if (some && n != o0->ndim) {
            cannot = "transpose perm of another length than ndim (dask_array_transpose reads ndim entries)";
            goto done;
        }
        for (size_t k = 0; some && k < n; ++k) perm[k] = norm_axis(v[k], o0->ndim);
        if ((st = dask_array_transpose(w.owned[0], some ? perm : NULL, &res)) != DASK_OK) {
            fail(g, "dask_array_transpose", st);
            goto done;
        }
    } else if (!strcmp(op, "reshape")) {
        if (!array_of(o0, &w, g)) goto done;
        int64_t v[MAX_DIMS * 2];
        size_t n;
        int_list(param_of(c, "shape"), v, &n);
        if ((st = dask_array_reshape(w.owned[0], n, v, &res)) != DASK_OK) {
            fail(g, "dask_array_reshape", st);
            goto done;
        }
    } else if (!strcmp(op, "slice")) {
        if (!array_of(o0, &w, g)) goto done;
        const char *spec = param_of(c, "idx");
        dask_index idx[MAX_DIMS * 2];
        size_t n = 0;
        memset(idx, 0, sizeof idx);
        if (strcmp(spec, "()") != 0) {
            char buf[512];
            snprintf(buf, sizeof buf, "%s", spec);
            char *save = NULL;
            for (char *it = strtok_r(buf, ",", &save); it && n < MAX_DIMS * 2; it = strtok_r(NULL, ",", &save)) {
                dask_index *x = &idx[n++];
                if (!strcmp(it, "new")) {
                    x->kind = DASK_INDEX_NEWAXIS;
                } else if (!strchr(it, ':')) {
                    x->kind = DASK_INDEX_AT;
                    parse_i64(it, &x->start);
                } else {
                    x->kind = DASK_INDEX_SLICE;
                    char *c1 = strchr(it, ':'), *c2 = strchr(c1 + 1, ':');
                    *c1 = '\0';
                    if (c2) *c2 = '\0';
                    if (*it) x->has_start = parse_i64(it, &x->start);
                    if (c1[1]) x->has_stop = parse_i64(c1 + 1, &x->stop);
                    x->step = 1;
                    if (c2 && c2[1]) {
                        parse_i64(c2 + 1, &x->step);
                        if (x->step == 0) {
                            cannot = "slice step 0 (dask_index step 0 means 1)";
                            goto done;
                        }
                    }
                }
            }
        }
        if ((st = dask_array_slice(w.owned[0], idx, n, &res)) != DASK_OK) {
            fail(g, "dask_array_slice", st);
            goto done;
        }
    } else if (!strcmp(op, "concatenate") || !strcmp(op, "stack")) {
        for (size_t k = 0; k < c->nops; ++k)
            if (!array_of(&c->ops[k], &w, g)) goto done;
        int64_t a = 0;
        parse_i64(param_of(c, "axis"), &a);
        bool stack = !strcmp(op, "stack");
        size_t axis = norm_axis(a, o0->ndim + stack);
        st = stack ? dask_sparse_stack((const dask_array *const *)w.owned, c->nops, axis, &res)
                   : dask_sparse_concatenate((const dask_array *const *)w.owned, c->nops, axis, &res);
        if (st != DASK_OK) {
            fail(g, op, st);
            goto done;
        }
    } else if (!strcmp(op, "tensordot") || !strcmp(op, "matmul")) {
        if (!array_of(&c->ops[0], &w, g) || !array_of(&c->ops[1], &w, g)) goto done;
        if (!strcmp(op, "matmul")) {
            st = dask_array_matmul(w.owned[0], w.owned[1], &res);
        } else {
            int64_t va[MAX_DIMS * 2], vb[MAX_DIMS * 2];
            size_t na, nb, aa[MAX_DIMS * 2], ab[MAX_DIMS * 2];
            int_list(param_of(c, "axes_a"), va, &na);
            int_list(param_of(c, "axes_b"), vb, &nb);
            if (na != nb) {
                cannot = "tensordot axis lists of different lengths (one n_axes)";
                goto done;
            }
            for (size_t k = 0; k < na; ++k) {
                aa[k] = norm_axis(va[k], dense_of(&c->ops[0])->ndim);
                ab[k] = norm_axis(vb[k], dense_of(&c->ops[1])->ndim);
            }
            const char *r = param_of(c, "return");
            dask_return_type rt = !strcmp(r, "sparse") ? DASK_RETURN_SPARSE
                                  : !strcmp(r, "dense") ? DASK_RETURN_DENSE : DASK_RETURN_AUTO;
            st = dask_sparse_tensordot(w.owned[0], w.owned[1], aa, ab, na, rt, &res);
        }
        if (st != DASK_OK) {
            fail(g, op, st);
            goto done;
        }
    } else if (!strcmp(op, "tocsr") || !strcmp(op, "tocsc")) {
        if (!array_of(o0, &w, g)) goto done;
        if (o0->ndim != 2) {
            cannot = "tocsr/tocsc of a non-2-d array (dask_sparse_to_compressed sizes its output from 2 axes)";
            goto done;
        }
        bool cols = !strcmp(op, "tocsc");
        size_t nnz = 0;
        if ((st = dask_sparse_info(w.owned[0], &nnz, NULL, NULL)) != DASK_OK) {
            fail(g, "dask_sparse_info", st);
            goto done;
        }
        g->n_indptr = (cols ? o0->shape[1] : o0->shape[0]) + 1;
        g->n_indices = nnz;
        g->indptr = calloc(g->n_indptr, sizeof(size_t));
        g->indices = calloc(nnz + 1, sizeof(size_t));
        if (!g->indptr || !g->indices) exit(2);
        dask_value *dv = NULL;
        if ((st = dask_sparse_to_compressed(w.owned[0], cols, g->indptr, g->indices, &dv)) != DASK_OK) {
            fail(g, "dask_sparse_to_compressed", st);
            goto done;
        }
        bool ok = value_to_tensor(dv, &g->csr_data, g->err, sizeof g->err);
        dask_value_free(dv);
        if (!ok) goto done;
        res = w.owned[0];
        w.owned[0] = NULL;
    } else if (!strcmp(op, "from_triplets")) {
        int64_t v[MAX_DIMS * 2];
        size_t n, shape[MAX_DIMS * 2];
        int_list(param_of(c, "shape"), v, &n);
        for (size_t k = 0; k < n; ++k) shape[k] = (size_t)v[k];
        unsigned char fill[8];
        if (!parse_value(param_of(c, "fill"), o0->t.dt, fill)) {
            snprintf(g->err, sizeof g->err, "bad fill parameter");
            goto done;
        }
        if (!fill_exact(o0, fill)) {
            cannot = "fill past 2^53 (dask_sparse_from_triplets takes a double fill)";
            goto done;
        }
        if ((st = make_sparse(o0, n, shape, fill, &res)) != DASK_OK) {
            fail(g, "dask_sparse_from_triplets", st);
            goto done;
        }
    } else {
        snprintf(g->err, sizeof g->err, "unknown op %s", op);
        goto done;
    }
    g->ok = fetch_any(client, res, g);
done:
    dask_array_free(res);
    for (size_t k = 0; k < w.n; ++k) dask_array_free(w.owned[k]);
    return cannot;
}

/* ---- comparing (the Rust replay's tolerance, float_matches, compare, fill_matches) ------------ */

typedef struct {
    int kind; /* 0 exact, 1 abs, 2 rel */
    double b;
} tol;

static double max_abs(const opnd *o) {
    const tensor *t = dense_of(o);
    double m = 0;
    for (size_t i = 0; t && i < t->n; ++i) {
        double v = elem_f64(t, i);
        if (isfinite(v) && fabs(v) > m) m = fabs(v);
    }
    return m;
}

/* sqrt without libm (Newton's method; the tolerance needs no last-bit accuracy). */
static double root(double x) {
    if (!(x > 0) || isinf(x)) return x > 0 ? x : 0;
    double r = x > 1 ? x : 1;
    for (int k = 0; k < 2000; ++k) {
        double n = 0.5 * (r + x / r);
        if (n >= r) break;
        r = n;
    }
    return r;
}

static tol tolerance(const scase *c, dask_dtype out) {
    tol t = {0, 0};
    if (!is_float(out)) return t;
    double eps = out == DASK_FLOAT32 ? 1.1920928955078125e-07 : 2.220446049250313e-16;
    const tensor *d0 = dense_of(&c->ops[0]);
    double n = d0 && d0->n ? (double)d0->n : 1.0, s = max_abs(&c->ops[0]);
    const char *op = c->op;
    if (!strcmp(op, "sum") || !strcmp(op, "mean")) t = (tol){1, 2 * n * eps * s};
    else if (!strcmp(op, "prod")) t = (tol){2, 2 * n * eps};
    else if (!strcmp(op, "var")) t = (tol){1, 4 * n * eps * s * s};
    else if (!strcmp(op, "std")) t = (tol){1, root(4 * n * eps * s * s)};
    else if (!strcmp(op, "tensordot") || !strcmp(op, "matmul")) {
        const tensor *d1 = dense_of(&c->ops[1]);
        double n2 = d1 && d1->n ? (double)d1->n : 1.0;
        t = (tol){1, 2 * (n < n2 ? n : n2) * eps * s * max_abs(&c->ops[1])};
    }
    return t;
}

static bool num_matches(num g, num w, tol t, dask_dtype d) {
    if (!g.isf || !w.isf) return !g.isf && !w.isf && g.i == w.i;
    if (isnan(g.f) || isnan(w.f)) return isnan(g.f) && isnan(w.f);
    if (isinf(g.f) || isinf(w.f)) return g.f == w.f;
    if (same_bits(g.f, w.f)) return true;
    if (t.kind == 0) return false;
    if (ulps(g.f, w.f, d) <= 2) return true;
    return fabs(g.f - w.f) <= (t.kind == 1 ? t.b : t.b * fabs(w.f));
}

static bool compare(const tensor *g, const tensor *w, tol t, char *why, size_t len) {
    bool same = g->dt == w->dt && g->ndim == w->ndim;
    for (size_t k = 0; same && k < g->ndim; ++k) same = g->shape[k] == w->shape[k];
    if (!same) {
        char gs[64], ws[64];
        shape_str(g->ndim, g->shape, gs, sizeof gs);
        shape_str(w->ndim, w->shape, ws, sizeof ws);
        snprintf(why, len, "got %s %s, want %s %s", dtype_name(g->dt), gs, dtype_name(w->dt), ws);
        return false;
    }
    for (size_t i = 0; i < w->n; ++i)
        if (!num_matches(num_at(g, i), num_at(w, i), t, w->dt)) {
            char gv[48], wv[48];
            elem_str(g, i, gv, sizeof gv);
            elem_str(w, i, wv, sizeof wv);
            snprintf(why, len, "element %zu: got %s, want %s", i, gv, wv);
            return false;
        }
    return true;
}

static bool csr_matches(const size_t *v, size_t n, const tensor *w) {
    if (w->n != n) return false;
    for (size_t i = 0; i < n; ++i)
        if (num_at(w, i).i != (i128)v[i]) return false;
    return true;
}

/* True when the replay agrees with pydata; else the difference in why. */
static bool judge(const scase *c, const got *g, char *why, size_t len) {
    if (c->expect_error) {
        if (!g->ok) return true;
        snprintf(why, len, "pydata raises, the library gives %s (%s)", dtype_name(g->arr.dt),
                 g->sparse ? "sparse" : "dense");
        return false;
    }
    if (!g->ok) {
        snprintf(why, len, "the library refuses: %s", g->err);
        return false;
    }
    tol t = tolerance(c, c->want.dt);
    if (!compare(&g->arr, &c->want, t, why, len)) return false;
    if (c->kind != K_NONE && g->sparse != (c->kind == K_SPARSE)) {
        snprintf(why, len, "got %s, pydata %s", g->sparse ? "sparse" : "dense", c->kind == K_SPARSE ? "sparse" : "dense");
        return false;
    }
    if (c->kind == K_SPARSE) {
        num w = num_of_bytes(c->want_fill, c->want.dt);
        bool ok = (g->fill_from_accessor && !is_float(c->want.dt)) ? g->fill.f == (double)w.i
                                                                    : num_matches(g->fill, w, t, c->want.dt);
        if (!ok) {
            snprintf(why, len, "fill value: got %.17g, pydata %.17g", fnum(g->fill), fnum(w));
            return false;
        }
    }
    if (c->csr[0].data) {
        tol ex = {0, 0};
        char w2[128];
        if (!csr_matches(g->indptr, g->n_indptr, &c->csr[0]) || !csr_matches(g->indices, g->n_indices, &c->csr[1]) ||
            !compare(&g->csr_data, &c->csr[2], ex, w2, sizeof w2)) {
            snprintf(why, len, "compressed arrays differ");
            return false;
        }
    }
    return true;
}

/* ---- the file -------------------------------------------------------------------------------- */

int main(void) {
    bool small = small_mode();
    watchdog(small ? 900 : 300);
    const char *dir = getenv("DASK_CONFORMANCE_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "tests/conformance";
    const char *ls = getenv("DASK_CONFORMANCE_LIST");
    bool list = ls != NULL && ls[0] != '\0' && strcmp(ls, "0") != 0;
    char allowed_path[4200];
    snprintf(allowed_path, sizeof allowed_path, "%s/allowed.txt", dir);
    if (!golden_read_allowed(allowed_path, "test_conformance_sparse.c", RULE_NAMES, N_RULES, enabled))
        atomic_fetch_add(&harness_failed, 1);
    dask_sparse_set_auto_densify(true);
    dask_client *client = new_client(2);
    golden_reader rd;
    long cases = 0, replayed = 0, matched = 0, allowed = 0, differ = 0, skipped = 0, broken = 0, index = 0;
    double t0 = now_s();
    if (!golden_open(&rd, dir, "sparse.golden.gz")) return test_finish();
    char *buf = NULL;
    size_t cap = 0;
    const char *line;
    while ((line = golden_next(&rd)) != NULL) {
        cases++;
        if (small && index++ % 50 != 0) continue;
        size_t len = strlen(line);
        if (len + 1 > cap) {
            cap = len + 1;
            buf = realloc(buf, cap);
            if (!buf) exit(2);
        }
        memcpy(buf, line, len + 1);
        scase c;
        char err[256] = "";
        if (!parse_case(buf, line, rd.lineno, &c, err, sizeof err)) {
            broken++;
            atomic_fetch_add(&harness_failed, 1);
            fprintf(stderr, "FAIL line %ld: cannot parse the case: %s\n", rd.lineno, err);
            case_free(&c);
            continue;
        }
        const char *rule = rule_of(&c);
        got g;
        memset(&g, 0, sizeof g);
        const char *cannot = run(client, &c, &g);
        if (cannot) {
            skipped++;
            count_reason(&not_replayed, cannot);
            if (list) printf("NOT-REPLAYED line %ld: %s\n", c.lineno, cannot);
        } else {
            replayed++;
            char why[600] = "";
            bool ok = judge(&c, &g, why, sizeof why);
            if (ok) matched++;
            else if (rule && rule_enabled(rule)) {
                allowed++;
                count_reason(&allowed_by, rule);
                if (list) printf("ALLOWED line %ld: %s: %s\n", c.lineno, rule, why);
            } else {
                differ++;
                if (list || differ <= 20)
                    printf("%s line %ld: %s: %s\n    %.*s\n", list ? "LIST" : "DIFFER", c.lineno, c.op, why, LINE_SHOWN,
                           c.line);
            }
            CHECK(ok || (rule && rule_enabled(rule)), "line %ld (%s) matches pydata/sparse", c.lineno, c.op);
        }
        got_free(&g);
        case_free(&c);
    }
    free(buf);
    char version[128];
    snprintf(version, sizeof version, "%s", rd.version);
    if (!golden_close(&rd)) atomic_fetch_add(&harness_failed, 1);
    double secs = now_s() - t0;
    dask_client_free(client);
    CHECK(cases > 3000, "the golden file holds the cases (%ld)", cases);
    char why_not[2048], why_allowed[2048];
    show_tally(&not_replayed, why_not, sizeof why_not);
    show_tally(&allowed_by, why_allowed, sizeof why_allowed);
    printf("sparse conformance (C, %s): %ld cases%s, %ld replayed: %ld match, %ld differ under a rule (%s), %ld differ; "
           "%ld not replayed in C%s%s%s%s (%.1f s)\n",
           version, cases, small ? " (every 50th)" : "", replayed, matched, allowed, why_allowed, differ, skipped,
           skipped ? " (" : "", why_not, skipped ? ")" : "", broken ? ", and cases that do not parse" : "", secs);
    return test_finish();
}
