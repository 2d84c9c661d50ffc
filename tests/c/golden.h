/*
 * Reading the conformance golden files (tests/conformance/<name>.golden.gz, made by
 * conformance/generate_*.py; the format is in conformance/README.md) from C: dtypes, host
 * tensors, the `<dtype>:<shape>:<values>` encoding, the file itself (through `gzip -dc`), and
 * the bridge to library arrays (a chunked array over a tensor; a computed array back into
 * one). Shared by tests/c/test_conformance.c (ufuncs) and tests/c/test_conformance_arrays.c
 * (array operations); the Rust replays have the same in tests/golden/mod.rs.
 *
 * Include it first (it includes harness.h, which sets _POSIX_C_SOURCE before any system
 * header). Everything here is `static inline`, so a program may use any part of it.
 *
 * The Makefile's rule for build/c/test_* lists harness.h and array_helpers.h but not this
 * header: after editing only golden.h, touch the .c files (or remove the binaries).
 */
#ifndef DASK_TEST_GOLDEN_H
#define DASK_TEST_GOLDEN_H

#include "harness.h"

#include <inttypes.h>
#include <math.h>

#ifndef MAX_DIMS
#define MAX_DIMS 8
#endif

/* =======================================================================================
 * Dtypes
 * ===================================================================================== */

static const struct {
    const char *name;
    dask_dtype dt;
    size_t size;
} DTYPES[] HARNESS_UNUSED = {
    {"bool", DASK_BOOL, 1},       {"int8", DASK_INT8, 1},       {"uint8", DASK_UINT8, 1},
    {"int16", DASK_INT16, 2},     {"uint16", DASK_UINT16, 2},   {"int32", DASK_INT32, 4},
    {"uint32", DASK_UINT32, 4},   {"int64", DASK_INT64, 8},     {"uint64", DASK_UINT64, 8},
    {"float32", DASK_FLOAT32, 4}, {"float64", DASK_FLOAT64, 8},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

/* The dtype named `name`; 0 (no dtype) when there is none. */
static inline dask_dtype dtype_by_name(const char *name) {
    for (size_t i = 0; i < N_DTYPES; ++i)
        if (strcmp(DTYPES[i].name, name) == 0) return DTYPES[i].dt;
    return 0;
}

static inline const char *dtype_name(dask_dtype dt) {
    for (size_t i = 0; i < N_DTYPES; ++i)
        if (DTYPES[i].dt == dt) return DTYPES[i].name;
    return "?";
}

static inline size_t dtype_size(dask_dtype dt) {
    for (size_t i = 0; i < N_DTYPES; ++i)
        if (DTYPES[i].dt == dt) return DTYPES[i].size;
    return 0;
}

static inline bool is_float(dask_dtype dt) { return dt == DASK_FLOAT32 || dt == DASK_FLOAT64; }
static inline bool is_unsigned_int(dask_dtype dt) {
    return dt == DASK_UINT8 || dt == DASK_UINT16 || dt == DASK_UINT32 || dt == DASK_UINT64;
}

/* =======================================================================================
 * Host tensors
 * ===================================================================================== */

/* A typed n-d array in host memory, row-major. */
typedef struct {
    dask_dtype dt;
    size_t ndim;
    size_t shape[MAX_DIMS];
    size_t n;
    void *data; /* n * dtype_size(dt) bytes (malloc'd, at least 1 byte) */
} tensor;

static inline void tensor_free(tensor *t) {
    free(t->data);
    t->data = NULL;
}

static inline const void *elem_ptr(const tensor *t, size_t i) { return (const char *)t->data + i * dtype_size(t->dt); }

/* Element i as a double (exact for floats and bools, rounded for 64-bit integers). */
static inline double elem_f64(const tensor *t, size_t i) {
    const void *p = elem_ptr(t, i);
    switch (t->dt) {
    case DASK_BOOL: { uint8_t x; memcpy(&x, p, 1); return x; }
    case DASK_INT8: { int8_t x; memcpy(&x, p, 1); return x; }
    case DASK_UINT8: { uint8_t x; memcpy(&x, p, 1); return x; }
    case DASK_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case DASK_UINT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case DASK_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case DASK_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case DASK_INT64: { int64_t x; memcpy(&x, p, 8); return (double)x; }
    case DASK_UINT64: { uint64_t x; memcpy(&x, p, 8); return (double)x; }
    case DASK_FLOAT32: { float x; memcpy(&x, p, 4); return x; }
    case DASK_FLOAT64: { double x; memcpy(&x, p, 8); return x; }
    default: return __builtin_nan("");
    }
}

/* Element i as text, exactly (floats with enough digits to round-trip). */
static inline void elem_str(const tensor *t, size_t i, char *buf, size_t len) {
    const void *p = elem_ptr(t, i);
    if (t->dt == DASK_FLOAT32) {
        float x;
        memcpy(&x, p, 4);
        snprintf(buf, len, "%.9g", (double)x);
    } else if (t->dt == DASK_FLOAT64) {
        double x;
        memcpy(&x, p, 8);
        snprintf(buf, len, "%.17g", x);
    } else if (t->dt == DASK_UINT64) {
        uint64_t x;
        memcpy(&x, p, 8);
        snprintf(buf, len, "%" PRIu64, x);
    } else if (t->dt == DASK_INT64) {
        int64_t x;
        memcpy(&x, p, 8);
        snprintf(buf, len, "%" PRId64, x);
    } else {
        snprintf(buf, len, "%.0f", elem_f64(t, i));
    }
}

/* A shape as the files write it: dims joined by `x`, `-` for 0-d. */
static inline void shape_str(size_t ndim, const size_t *shape, char *buf, size_t len) {
    if (ndim == 0) {
        snprintf(buf, len, "-");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < ndim && used < len; ++k)
        used += (size_t)snprintf(buf + used, len - used, k ? "x%zu" : "%zu", shape[k]);
}

/* =======================================================================================
 * Parsing values and arrays
 * ===================================================================================== */

/* Stores the low `size` bytes of `bits` as a native integer of that size. */
static inline void put_int(void *out, size_t size, uint64_t bits) {
    uint8_t u8 = (uint8_t)bits;
    uint16_t u16 = (uint16_t)bits;
    uint32_t u32 = (uint32_t)bits;
    switch (size) {
    case 1: memcpy(out, &u8, 1); break;
    case 2: memcpy(out, &u16, 2); break;
    case 4: memcpy(out, &u32, 4); break;
    default: memcpy(out, &bits, 8); break;
    }
}

/* Parses one decimal value of dtype `dt` into `out`; false when malformed or out of range.
 * Floats are parsed in their own precision (strtof for float32), as the file writes them. */
static inline bool parse_value(const char *s, dask_dtype dt, void *out) {
    char *end = NULL;
    size_t size = dtype_size(dt);
    errno = 0;
    if (dt == DASK_FLOAT32) {
        float x = strtof(s, &end); /* ERANGE for subnormals is fine */
        memcpy(out, &x, 4);
    } else if (dt == DASK_FLOAT64) {
        double x = strtod(s, &end);
        memcpy(out, &x, 8);
    } else if (dt == DASK_BOOL) {
        if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) return false;
        put_int(out, 1, (uint64_t)(s[0] - '0'));
        return true;
    } else if (is_unsigned_int(dt)) {
        unsigned long long x = strtoull(s, &end, 10);
        if (s[0] == '-' || errno != 0 || (size < 8 && x >> (8 * size) != 0)) return false;
        put_int(out, size, (uint64_t)x);
    } else {
        long long x = strtoll(s, &end, 10);
        long long lim = size < 8 ? 1ll << (8 * size - 1) : 0;
        if (errno != 0 || (size < 8 && (x < -lim || x >= lim))) return false;
        put_int(out, size, (uint64_t)x);
    }
    return end != s && *end == '\0';
}

/* `<dtype>:<shape>:<values>` (the text after `a:` or `=`, cut up in place), into a new
 * tensor (free it with tensor_free, also after a failure). */
static inline bool parse_tensor(char *text, tensor *t, char *err, size_t errlen) {
    memset(t, 0, sizeof *t);
    char *save = NULL;
    char *dts = strtok_r(text, ":", &save), *shs = strtok_r(NULL, ":", &save), *vals = strtok_r(NULL, ":", &save);
    if (!dts || !shs || !vals || strtok_r(NULL, ":", &save)) {
        snprintf(err, errlen, "malformed array token");
        return false;
    }
    t->dt = dtype_by_name(dts);
    if (t->dt == 0) {
        snprintf(err, errlen, "unknown dtype '%s'", dts);
        return false;
    }
    t->n = 1;
    if (strcmp(shs, "-") != 0) {
        char *s2 = NULL;
        for (char *d = strtok_r(shs, "x", &s2); d; d = strtok_r(NULL, "x", &s2)) {
            char *end = NULL;
            unsigned long v = strtoul(d, &end, 10);
            if (t->ndim == MAX_DIMS || end == d || *end != '\0') {
                snprintf(err, errlen, "malformed shape");
                return false;
            }
            t->shape[t->ndim++] = v;
            t->n *= v;
        }
    }
    size_t sz = dtype_size(t->dt);
    t->data = calloc(t->n ? t->n : 1, sz);
    if (!t->data) exit(2);
    size_t count = 0;
    if (strcmp(vals, "-") != 0) {
        char *s3 = NULL;
        for (char *v = strtok_r(vals, ",", &s3); v; v = strtok_r(NULL, ",", &s3)) {
            if (count == t->n || !parse_value(v, t->dt, (char *)t->data + count * sz)) {
                snprintf(err, errlen, "bad value '%s' (element %zu of %zu) for %s", v, count, t->n, dts);
                return false;
            }
            ++count;
        }
    }
    if (count != t->n) {
        snprintf(err, errlen, "%zu values for %zu elements", count, t->n);
        return false;
    }
    return true;
}

/* =======================================================================================
 * Comparing floats
 * ===================================================================================== */

/* Distance in units in the last place, in dt's precision (float32: both rounded to float
 * first), through the ordered-integer mapping of the bit patterns: -0.0 and +0.0 are 0 apart. */
static inline uint64_t ulps(double a, double b, dask_dtype dt) {
    int64_t ka, kb;
    if (dt == DASK_FLOAT32) {
        float fa = (float)a, fb = (float)b;
        int32_t ia, ib;
        memcpy(&ia, &fa, 4);
        memcpy(&ib, &fb, 4);
        ka = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
        kb = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
    } else {
        memcpy(&ka, &a, 8);
        memcpy(&kb, &b, 8);
        ka = ka < 0 ? INT64_MIN - ka : ka;
        kb = kb < 0 ? INT64_MIN - kb : kb;
    }
    /* The difference of two such keys fits in an unsigned 64-bit integer. */
    return ka > kb ? (uint64_t)ka - (uint64_t)kb : (uint64_t)kb - (uint64_t)ka;
}

static inline bool same_bits(double a, double b) {
    uint64_t ua, ub;
    memcpy(&ua, &a, 8);
    memcpy(&ub, &b, 8);
    return ua == ub;
}

/* =======================================================================================
 * Reading a golden file
 * ===================================================================================== */

typedef struct {
    FILE *f;
    char cmd[4200];
    char *line; /* the current line (getline's buffer), without its newline */
    size_t cap;
    long lineno;         /* of the current line, from 1 */
    long cases;          /* case lines read so far */
    long total_declared; /* from "# cases total <n>", or -1 */
    char version[128];   /* the first line, without its "# " ("numpy 2.3.5") */
} golden_reader;

static inline void strip_newline(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
}

/* Starts reading `<dir>/<file>` through `gzip -dc`. False (after a FAIL line) when it cannot. */
static inline bool golden_open(golden_reader *g, const char *dir, const char *file) {
    memset(g, 0, sizeof *g);
    g->total_declared = -1;
    snprintf(g->cmd, sizeof g->cmd, "gzip -dc '%s/%s'", dir, file);
    g->f = popen(g->cmd, "r");
    if (!g->f) {
        fprintf(stderr, "FAIL cannot run %s\n", g->cmd);
        return false;
    }
    return true;
}

/* The next case line (comments and empty lines skipped; "# cases total" and the version
 * noted), or NULL at the end. The line stays valid until the next call. */
static inline char *golden_next(golden_reader *g) {
    while (getline(&g->line, &g->cap, g->f) >= 0) {
        ++g->lineno;
        strip_newline(g->line);
        if (g->line[0] == '#') {
            if (g->lineno == 1) snprintf(g->version, sizeof g->version, "%s", g->line + (g->line[1] == ' ' ? 2 : 1));
            sscanf(g->line, "# cases total %ld", &g->total_declared);
            continue;
        }
        if (g->line[0] == '\0') continue;
        g->cases++;
        return g->line;
    }
    return NULL;
}

/* Ends the reading. False (after a FAIL line) when gzip failed or the file's declared case
 * total is not the number of case lines read (so a truncated file fails). */
static inline bool golden_close(golden_reader *g) {
    free(g->line);
    g->line = NULL;
    int rc = pclose(g->f);
    g->f = NULL;
    if (rc != 0) {
        fprintf(stderr, "FAIL '%s' exited with status %d\n", g->cmd, rc);
        return false;
    }
    if (g->total_declared != g->cases) {
        fprintf(stderr, "FAIL the golden file declares %ld cases, it has %ld\n", g->total_declared, g->cases);
        return false;
    }
    return true;
}

/* =======================================================================================
 * The deliberate differences (tests/conformance/allowed.txt)
 * ===================================================================================== */

/* The rules of allowed.txt each replay applies. Every replay reads the whole file: it
 * applies its own rules and passes over those of the others, and a rule that no replay
 * applies is an error (so the file and the replays stay in sync). The sparse replay
 * (tests/conformance_sparse.rs, Rust only) names its rules pydata-* and sparse-*. */
static const char *const GOLDEN_UFUNC_RULES[] HARNESS_UNUSED = {
    "float16", "saturating-cast", "int-reciprocal-of-zero", "signed-zero-ties", "float32-var-in-float64",
    "numpy-reduce-fold", "ldexp-reduce", NULL};
static const char *const GOLDEN_ARRAY_RULES[] HARNESS_UNUSED = {
    "masked-assignment-order", "arange-checked-range", "python-int-past-int64", "broadcast-mask",
    "arange-float-bounds", NULL};
static const char *const GOLDEN_SPARSE_RULE_PREFIXES[] HARNESS_UNUSED = {"pydata-", "sparse-", NULL};

static inline bool golden_rule_in(const char *rule, const char *const *list) {
    for (; *list; ++list)
        if (strcmp(rule, *list) == 0) return true;
    return false;
}

/* Is `rule` one the other replays apply (see above)? */
static inline bool golden_rule_elsewhere(const char *rule) {
    if (golden_rule_in(rule, GOLDEN_UFUNC_RULES) || golden_rule_in(rule, GOLDEN_ARRAY_RULES)) return true;
    for (const char *const *p = GOLDEN_SPARSE_RULE_PREFIXES; *p; ++p)
        if (strncmp(rule, *p, strlen(*p)) == 0) return true;
    return false;
}

/* Reads allowed.txt (`<rule> <reason>` lines; `#` comments): enabled[r] tells whether
 * own[r] (n_own names) is listed. A listed rule that is neither one of `own` nor one another
 * replay applies is an error (a FAIL line naming `program`; false). Own rules not listed are
 * noted (they are then not applied). */
static inline bool golden_read_allowed(const char *path, const char *program, const char *const *own, size_t n_own,
                                       bool *enabled) {
    for (size_t r = 0; r < n_own; ++r) enabled[r] = false;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "FAIL cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = true;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0') continue;
        char rule[64];
        if (sscanf(line, "%63s", rule) != 1) continue;
        size_t r = 0;
        while (r < n_own && strcmp(own[r], rule) != 0) ++r;
        if (r < n_own) {
            enabled[r] = true;
        } else if (!golden_rule_elsewhere(rule)) {
            fprintf(stderr,
                    "FAIL %s lists the rule '%s', which %s does not implement, nor does another replay "
                    "(tests/c/golden.h lists the rules of each)\n",
                    path, rule, program);
            ok = false;
        }
    }
    free(line);
    fclose(f);
    for (size_t r = 0; r < n_own; ++r)
        if (!enabled[r])
            fprintf(stderr, "note: rule '%s' is implemented here but not listed in %s: not applied\n", own[r], path);
    return ok;
}

/* =======================================================================================
 * Library arrays
 * ===================================================================================== */

/* A chunked array over a copy of `t`, in blocks of shape `chunks` (t->ndim entries). */
static inline dask_status golden_make_array(const tensor *t, const size_t *chunks, dask_array **out) {
    dask_value *v = NULL;
    dask_status st = dask_value_copy_buffer(t->dt, t->ndim, t->shape, t->data, &v);
    if (st != DASK_OK) return st;
    st = dask_array_from_value(v, chunks, out);
    dask_value_free(v);
    return st;
}

/* Writes "<step>: <status>: <last error message>" to err; returns false. */
static inline bool golden_fail(char *err, size_t errlen, const char *step, dask_status st) {
    snprintf(err, errlen, "%s: %s: %s", step, dask_status_name(st), dask_last_error_message());
    return false;
}

/* Computes `a` (dask_array_compute: a buffer value in host memory) and copies it into `t`,
 * with the dtype and shape the array reports (the buffer must agree with them). False with
 * the reason in `err` otherwise; t->data may then be allocated (tensor_free it either way). */
static inline bool golden_fetch(const dask_client *client, const dask_array *a, tensor *t, char *err,
                                size_t errlen) {
    memset(t, 0, sizeof *t);
    dask_status st;
    if ((st = dask_array_dtype(a, &t->dt)) != DASK_OK) return golden_fail(err, errlen, "dask_array_dtype", st);
    if ((st = dask_array_ndim(a, &t->ndim)) != DASK_OK) return golden_fail(err, errlen, "dask_array_ndim", st);
    if (t->ndim > MAX_DIMS || dtype_size(t->dt) == 0) {
        snprintf(err, errlen, "result has ndim %zu, dtype code %u", t->ndim, (unsigned)t->dt);
        return false;
    }
    if ((st = dask_array_shape(a, t->shape)) != DASK_OK) return golden_fail(err, errlen, "dask_array_shape", st);
    t->n = 1;
    for (size_t k = 0; k < t->ndim; ++k) t->n *= t->shape[k];
    size_t sz = dtype_size(t->dt);
    t->data = calloc(t->n ? t->n : 1, sz);
    if (!t->data) exit(2);

    dask_value *v = NULL;
    if ((st = dask_array_compute(client, a, &v)) != DASK_OK)
        return golden_fail(err, errlen, "dask_array_compute", st);
    dask_buffer_view bv;
    bool ok = (st = dask_value_buffer(v, &bv, sizeof bv)) == DASK_OK ||
              golden_fail(err, errlen, "dask_value_buffer", st);
    bool agrees = ok && bv.dtype == t->dt && bv.itemsize == sz && bv.ndim == t->ndim && bv.len == t->n;
    for (size_t k = 0; agrees && k < t->ndim; ++k) agrees = bv.shape[k] == t->shape[k];
    if (ok && !agrees) {
        char as[64], bs[64];
        shape_str(t->ndim, t->shape, as, sizeof as);
        shape_str(bv.ndim <= MAX_DIMS ? bv.ndim : 0, bv.shape, bs, sizeof bs);
        snprintf(err, errlen, "the computed buffer (%s:%s) is not what the array reports (%s:%s)",
                 dtype_name(bv.dtype), bs, dtype_name(t->dt), as);
        ok = false;
    }
    for (size_t i = 0; ok && i < t->n; ++i) { /* row-major copy through the view's strides */
        ptrdiff_t off = 0;
        size_t rest = i;
        for (size_t k = t->ndim; k-- > 0;) {
            off += (ptrdiff_t)(rest % t->shape[k]) * bv.strides[k];
            rest /= t->shape[k];
        }
        memcpy((char *)t->data + i * sz, (const char *)bv.data + off, sz);
    }
    dask_value_free(v);
    return ok;
}

#endif /* DASK_TEST_GOLDEN_H */
