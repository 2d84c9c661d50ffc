/*
 * NumPy conformance through the C ABI: replays every case of the golden file
 * tests/conformance/ufuncs.golden.gz (format: conformance/README.md) against libdask and
 * compares dtype, shape and values with what NumPy 2.x recorded.
 *
 * Each case runs twice: with every array operand as one chunk, and with chunks of 2 along
 * every axis (irregular last blocks; a 0-length axis is one chunk of 0). Under
 * DASK_STRESS_SMALL=1 (valgrind) only every 50th case runs, in the many-chunks mode only.
 *
 * Deliberate differences are accepted only under a rule of tests/conformance/allowed.txt, and
 * each rule only for the cases and elements it names (see `excused` and `judge`). The file
 * also holds the rules of the array and sparse replays (passed over here); a rule that no
 * replay implements fails the test (golden.h), so the list and the code stay in sync. The
 * rules and the tolerances are those of the Rust replay, tests/conformance.rs (the reference).
 *
 * Float comparison (n: the first operand's element count, S: its largest |finite element|):
 * exact (NaN matches NaN, ±0 and ±inf by sign) except for the summation kinds (sum, mean,
 * nansum, nanmean reduce, add reduce/accumulate, cumsum: |got - expected| <= 2·n·eps·S, or 2
 * ulp), the matrix products (2·n·eps·S·S2, S2 of the second operand), var/std (4·n·eps·S², its
 * square root), the product kinds (prod, nanprod, cumprod, multiply reduce/accumulate: relative
 * 2·n·eps, or 2 ulp) and the transcendental ufuncs (2 ulp; 2·n ulp for their reduce/accumulate;
 * never across zero).
 *
 * Environment: DASK_CONFORMANCE_DIR overrides the directory of the golden file and of
 * allowed.txt (default tests/conformance, relative to the repository root where the test
 * runs). DASK_CONFORMANCE_LIST=1 prints every failure as one line (for grouping them).
 *
 * The last line is the harness's "N passed, N failed" (one check per case and chunking).
 */
#include "golden.h" /* dtypes, tensors, the value encoding, reading the file (includes harness.h) */

#include <dlfcn.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>

#define MAX_ARGS 3
#define MAX_OUTS 2
#define FIRST_FAILURES_SHOWN 40
#define LINE_SHOWN 300

/* =======================================================================================
 * Parsing the golden file
 * ===================================================================================== */

typedef enum { ARG_ARRAY, ARG_INT, ARG_FLOAT, ARG_BOOL } arg_kind;

typedef struct {
    arg_kind kind;
    tensor t;  /* ARG_ARRAY */
    int64_t i; /* ARG_INT, ARG_BOOL */
    double f;  /* ARG_FLOAT */
} golden_arg;

typedef enum { METHOD_CALL, METHOD_REDUCE, METHOD_ACCUMULATE } method_kind;

typedef struct {
    long lineno;
    const char *line; /* the case's text (borrowed) */
    char name[48];
    char method_text[24];
    method_kind method;
    bool all_axes;
    size_t axis;
    size_t nargs;
    golden_arg args[MAX_ARGS];
    bool expect_error;
    char error_class[48];
    size_t nres;
    tensor res[MAX_OUTS];
    bool allow_float16;
} golden_case;

static void case_free(golden_case *c) {
    for (size_t a = 0; a < c->nargs; ++a)
        if (c->args[a].kind == ARG_ARRAY) tensor_free(&c->args[a].t);
    for (size_t r = 0; r < c->nres; ++r) tensor_free(&c->res[r]);
    c->nargs = c->nres = 0;
}

static bool parse_arg(char *tok, golden_arg *a, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    char *end = NULL;
    errno = 0;
    if (strncmp(tok, "a:", 2) == 0) {
        a->kind = ARG_ARRAY;
        return parse_tensor(tok + 2, &a->t, err, errlen);
    } else if (strncmp(tok, "i:", 2) == 0) {
        a->kind = ARG_INT;
        a->i = strtoll(tok + 2, &end, 10);
    } else if (strncmp(tok, "f:", 2) == 0) {
        a->kind = ARG_FLOAT;
        a->f = strtod(tok + 2, &end);
    } else if (strcmp(tok, "b:0") == 0 || strcmp(tok, "b:1") == 0) {
        a->kind = ARG_BOOL;
        a->i = tok[2] - '0';
        return true;
    }
    if (end == NULL || end == tok + 2 || *end != '\0' || (errno != 0 && a->kind == ARG_INT)) {
        snprintf(err, errlen, "malformed operand '%.40s'", tok);
        return false;
    }
    return true;
}

/* Parses a case line (modified in place: tokens are cut out of `buf`, a copy of the line). */
static bool parse_case(char *buf, const char *line, long lineno, golden_case *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->lineno = lineno;
    c->line = line;
    char *save = NULL;
    char *name = strtok_r(buf, " ", &save), *method = strtok_r(NULL, " ", &save), *ns = strtok_r(NULL, " ", &save);
    if (!name || !method || !ns || strlen(name) >= sizeof c->name || strlen(method) >= sizeof c->method_text) {
        snprintf(err, errlen, "malformed case header");
        return false;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->method_text, sizeof c->method_text, "%s", method);
    if (strcmp(method, "call") == 0) {
        c->method = METHOD_CALL;
    } else {
        const char *ax;
        if (strncmp(method, "reduce:", 7) == 0) {
            c->method = METHOD_REDUCE;
            ax = method + 7;
        } else if (strncmp(method, "accumulate:", 11) == 0) {
            c->method = METHOD_ACCUMULATE;
            ax = method + 11;
        } else {
            snprintf(err, errlen, "unknown method '%s'", method);
            return false;
        }
        if (c->method == METHOD_REDUCE && strcmp(ax, "all") == 0) {
            c->all_axes = true;
        } else {
            char *end = NULL;
            c->axis = strtoul(ax, &end, 10);
            if (end == ax || *end != '\0') {
                snprintf(err, errlen, "bad axis '%s'", ax);
                return false;
            }
        }
    }
    char *end = NULL;
    unsigned long nargs = strtoul(ns, &end, 10);
    if (end == ns || *end != '\0' || nargs == 0 || nargs > MAX_ARGS) {
        snprintf(err, errlen, "bad operand count '%s'", ns);
        return false;
    }
    for (size_t a = 0; a < nargs; ++a) {
        char *tok = strtok_r(NULL, " ", &save);
        if (!tok) {
            snprintf(err, errlen, "missing operand %zu", a);
            return false;
        }
        c->nargs = a + 1;
        if (!parse_arg(tok, &c->args[a], err, errlen)) return false;
    }
    for (char *tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (tok[0] == '=' && !c->expect_error && c->nres < MAX_OUTS) {
            if (!parse_tensor(tok + 1, &c->res[c->nres], err, errlen)) {
                tensor_free(&c->res[c->nres]);
                return false;
            }
            c->nres++;
        } else if (tok[0] == '!' && c->nres == 0 && !c->expect_error && strlen(tok) < sizeof c->error_class) {
            c->expect_error = true;
            snprintf(c->error_class, sizeof c->error_class, "%s", tok + 1);
        } else if (strcmp(tok, "allow:float16") == 0) {
            c->allow_float16 = true;
        } else {
            snprintf(err, errlen, "unexpected token '%.40s' (an unknown allow: tag, or a malformed result)", tok);
            return false;
        }
    }
    if (c->nres == 0 && !c->expect_error) {
        snprintf(err, errlen, "no result");
        return false;
    }
    return true;
}

/* =======================================================================================
 * libm (pow, atan2, sqrt)
 * ===================================================================================== */

/* The Makefile links this test without -lm. fabs and the classification macros are inlined;
 * pow, atan2 and sqrt are taken from the libm libdask itself depends on (already loaded), so
 * they are the functions the Rust replay calls (its sqrt is correctly rounded, as glibc's).
 * dlopen is in libc since glibc 2.34. */
static struct {
    void *handle;
    double (*pow)(double, double);
    double (*atan2)(double, double);
    double (*sqrt)(double);
} libm;

static bool libm_open(void) {
    libm.handle = dlopen("libm.so.6", RTLD_NOW);
    if (libm.handle == NULL) {
        fprintf(stderr, "FAIL dlopen(libm.so.6): %s\n", dlerror());
        return false;
    }
    /* POSIX's way of converting dlsym's object pointer to a function pointer. */
    *(void **)&libm.pow = dlsym(libm.handle, "pow");
    *(void **)&libm.atan2 = dlsym(libm.handle, "atan2");
    *(void **)&libm.sqrt = dlsym(libm.handle, "sqrt");
    if (libm.pow == NULL || libm.atan2 == NULL || libm.sqrt == NULL) {
        fprintf(stderr, "FAIL libm.so.6 lacks pow, atan2 or sqrt\n");
        return false;
    }
    return true;
}

static void libm_close(void) {
    if (libm.handle) dlclose(libm.handle);
    memset(&libm, 0, sizeof libm);
}

/* =======================================================================================
 * Comparison tolerances (as tolerance() and float_matches() of tests/conformance.rs)
 * ===================================================================================== */

typedef enum { TOL_EXACT, TOL_ULPS, TOL_ABS, TOL_REL } tol_kind;

typedef struct {
    tol_kind kind;
    uint64_t ulps; /* TOL_ULPS: at most this many ulps apart (neither value a zero) */
    double bound;  /* TOL_ABS: |got - expected| <= bound; TOL_REL: <= bound * |expected| (or 2 ulps) */
} tolerance;

static bool name_in(const char *name, const char *const *list) {
    for (; *list; ++list)
        if (strcmp(name, *list) == 0) return true;
    return false;
}

static const char *const TRANSCENDENTAL[] = {
    "exp",    "exp2",    "expm1",   "log",   "log2",  "log10", "log1p",  "sin",     "cos",         "tan",
    "arcsin", "arccos",  "arctan",  "asin",  "acos",  "atan",  "arctan2", "atan2",  "sinh",        "cosh",
    "tanh",   "arcsinh", "arccosh", "arctanh", "asinh", "acosh", "atanh", "cbrt",   "power",       "pow",
    "float_power", "logaddexp", "logaddexp2", "hypot", NULL};
static const char *const MATRIX_PRODUCTS[] = {"matmul", "vecdot", "matvec", "vecmat", NULL};

/* The largest |finite element| of an array operand; 0 for a Python scalar. */
static double max_abs(const golden_arg *a) {
    double m = 0.0;
    if (a->kind != ARG_ARRAY) return m;
    for (size_t i = 0; i < a->t.n; ++i) {
        double v = elem_f64(&a->t, i);
        if (isfinite(v) && fabs(v) > m) m = fabs(v);
    }
    return m;
}

/* The tolerance for an output of dtype `out`. n is the first operand's element count (at
 * least 1; 1 for a scalar), S the largest |finite element| of the first operand. */
static tolerance tolerance_for(const golden_case *c, dask_dtype out) {
    tolerance t = {TOL_EXACT, 0, 0.0};
    if (!is_float(out)) return t;
    const golden_arg *x = &c->args[0];
    double n = x->kind == ARG_ARRAY && x->t.n > 0 ? (double)x->t.n : 1.0;
    double eps = out == DASK_FLOAT32 ? (double)FLT_EPSILON : DBL_EPSILON;
    double s = max_abs(x);
    const char *nm = c->name;
    bool red = c->method == METHOD_REDUCE, acc = c->method == METHOD_ACCUMULATE;
    bool summation = (red && name_in(nm, (const char *const[]){"sum", "nansum", "mean", "nanmean", NULL})) ||
                     ((red || acc) && strcmp(nm, "add") == 0) || strcmp(nm, "cumsum") == 0;
    if (summation) {
        t.kind = TOL_ABS;
        t.bound = 2.0 * n * eps * s;
    } else if (name_in(nm, MATRIX_PRODUCTS)) {
        double s2 = c->nargs > 1 ? max_abs(&c->args[1]) : 0.0;
        t.kind = TOL_ABS;
        t.bound = 2.0 * n * eps * s * s2;
    } else if (name_in(nm, (const char *const[]){"var", "nanvar", NULL})) {
        t.kind = TOL_ABS;
        t.bound = 4.0 * n * eps * s * s;
    } else if (name_in(nm, (const char *const[]){"std", "nanstd", NULL})) {
        t.kind = TOL_ABS;
        t.bound = libm.sqrt(4.0 * n * eps * s * s);
    } else if (name_in(nm, (const char *const[]){"prod", "nanprod", "cumprod", NULL}) ||
               (strcmp(nm, "multiply") == 0 && c->method != METHOD_CALL)) {
        t.kind = TOL_REL;
        t.bound = 2.0 * n * eps;
    } else if (name_in(nm, TRANSCENDENTAL)) {
        t.kind = TOL_ULPS;
        t.ulps = c->method == METHOD_CALL ? 2 : 2 * (uint64_t)n;
    }
    return t;
}

static void tolerance_str(const tolerance *t, char *buf, size_t len) {
    switch (t->kind) {
    case TOL_EXACT: snprintf(buf, len, "exact"); break;
    case TOL_ULPS: snprintf(buf, len, "%" PRIu64 " ulps", t->ulps); break;
    case TOL_ABS: snprintf(buf, len, "|difference| <= %.3g, or 2 ulps", t->bound); break;
    case TOL_REL: snprintf(buf, len, "relative %.3g, or 2 ulps", t->bound); break;
    }
}

/* Does float `got` match `want` (both of dtype dt, held exactly in doubles) under `t`?
 * NaN matches NaN, infinities only themselves, and identical bits always match. */
static bool float_matches(double got, double want, const tolerance *t, dask_dtype dt) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got)) return got == want;
    if (same_bits(got, want)) return true;
    switch (t->kind) {
    case TOL_EXACT: return false;
    case TOL_ULPS: return got != 0.0 && want != 0.0 && ulps(got, want, dt) <= t->ulps;
    case TOL_ABS: return fabs(got - want) <= t->bound || ulps(got, want, dt) <= 2;
    case TOL_REL: return fabs(got - want) <= t->bound * fabs(want) || ulps(got, want, dt) <= 2;
    }
    return false;
}

/* =======================================================================================
 * Deliberate differences (allowed.txt; as excused() and judge() of tests/conformance.rs)
 * ===================================================================================== */

typedef enum {
    RULE_FLOAT16,
    RULE_SATURATING_CAST,
    RULE_INT_RECIPROCAL_OF_ZERO,
    RULE_SIGNED_ZERO_TIES,
    RULE_FLOAT32_VAR_IN_FLOAT64,
    RULE_NUMPY_REDUCE_FOLD,
    RULE_LDEXP_REDUCE,
    N_RULES,
    RULE_NONE = N_RULES
} rule_id;

static const char *const RULE_NAMES[N_RULES] = {
    "float16",          "saturating-cast",        "int-reciprocal-of-zero", "signed-zero-ties",
    "float32-var-in-float64", "numpy-reduce-fold", "ldexp-reduce",
};

/* Reads allowed.txt into `enabled` (golden_read_allowed: a rule that neither this file nor
 * another replay implements is an error). */
static bool read_allowed(const char *path, bool enabled[N_RULES]) {
    return golden_read_allowed(path, "test_conformance.c", RULE_NAMES, N_RULES, enabled);
}

/* Operand `a`'s value at element k of a broadcast call: a one-element array or a scalar
 * everywhere, NaN past the end of an array. */
static double value_at(const golden_arg *a, size_t k) {
    switch (a->kind) {
    case ARG_ARRAY:
        if (a->t.n == 1) return elem_f64(&a->t, 0);
        return k < a->t.n ? elem_f64(&a->t, k) : NAN;
    case ARG_INT:
    case ARG_BOOL: return (double)a->i;
    case ARG_FLOAT: return a->f;
    }
    return NAN;
}

/* The range of an integer dtype, as doubles (the 64-bit maxima round up to 2^63 and 2^64). */
static bool int_range(dask_dtype dt, double *lo, double *hi) {
    switch (dt) {
    case DASK_INT8: *lo = -128.0, *hi = 127.0; return true;
    case DASK_UINT8: *lo = 0.0, *hi = 255.0; return true;
    case DASK_INT16: *lo = -32768.0, *hi = 32767.0; return true;
    case DASK_UINT16: *lo = 0.0, *hi = 65535.0; return true;
    case DASK_INT32: *lo = -2147483648.0, *hi = 2147483647.0; return true;
    case DASK_UINT32: *lo = 0.0, *hi = 4294967295.0; return true;
    case DASK_INT64: *lo = -9223372036854775808.0, *hi = 9223372036854775807.0; return true;
    case DASK_UINT64: *lo = 0.0, *hi = 18446744073709551615.0; return true;
    default: return false;
    }
}

/* trunc(x) without libm: a double of magnitude 2^52 or more is already an integer. */
static double trunc_no_libm(double x) { return fabs(x) < 0x1p52 ? (double)(int64_t)x : x; }

/* Is input element k (of the first operand) one a rule on integer results names? */
static rule_id excused_int(const golden_case *c, const bool enabled[N_RULES], size_t k) {
    if (c->args[0].kind != ARG_ARRAY || k >= c->args[0].t.n) return RULE_NONE;
    const tensor *in = &c->args[0].t;
    double x = elem_f64(in, k), lo, hi;
    /* saturating-cast: NaN, ±inf, or a value whose truncation is outside the target type. */
    if (strncmp(c->name, "astype:", 7) == 0 && enabled[RULE_SATURATING_CAST] && is_float(in->dt) &&
        int_range(dtype_by_name(c->name + 7), &lo, &hi) &&
        (!isfinite(x) || trunc_no_libm(x) < lo || trunc_no_libm(x) > hi))
        return RULE_SATURATING_CAST;
    /* int-reciprocal-of-zero: an integer (or bool) 0. */
    if (strcmp(c->name, "reciprocal") == 0 && !is_float(in->dt) && enabled[RULE_INT_RECIPROCAL_OF_ZERO] && x == 0.0)
        return RULE_INT_RECIPROCAL_OF_ZERO;
    return RULE_NONE;
}

/* numpy-reduce-fold: is `got`, element k of power/arctan2.reduce along axis 0 or 1 of a 2-d
 * array, the in-order fold f(f(f(x0, x1), x2), ...) of its line, computed here in float64
 * (within 4 ulps per element, in float32 for float32 input)? */
static bool is_in_order_fold(const golden_case *c, size_t k, double got) {
    const tensor *x = &c->args[0].t;
    size_t len = c->axis == 0 ? x->shape[0] : x->shape[1];
    if (len == 0) return false;
    bool power = strcmp(c->name, "power") == 0 || strcmp(c->name, "pow") == 0;
    double folded = 0.0;
    for (size_t m = 0; m < len; ++m) {
        size_t at = c->axis == 0 ? m * x->shape[1] + k : k * x->shape[1] + m;
        double v = value_at(&c->args[0], at);
        folded = m == 0 ? v : power ? libm.pow(folded, v) : libm.atan2(folded, v);
    }
    dask_dtype d = x->dt == DASK_FLOAT64 ? DASK_FLOAT64 : DASK_FLOAT32;
    return (isnan(folded) && isnan(got)) || folded == got || ulps(folded, got, d) <= 4 * (uint64_t)len;
}

/* The rule that excuses element k of an output (got `g`, NumPy `w`, same dtype), if any. */
static rule_id excused(const golden_case *c, const bool enabled[N_RULES], size_t k, const tensor *g,
                       const tensor *w) {
    if (!is_float(w->dt)) return excused_int(c, enabled, k);
    double got = elem_f64(g, k), want = elem_f64(w, k);
    const char *nm = c->name;
    const golden_arg *x = &c->args[0];
    bool fmax_fmin = strcmp(nm, "fmax") == 0 || strcmp(nm, "fmin") == 0;
    bool zero_ties = enabled[RULE_SIGNED_ZERO_TIES] && got == 0.0 && want == 0.0;
    /* signed-zero-ties, calls: every operand is a zero at k. */
    if (zero_ties && fmax_fmin && c->method == METHOD_CALL) {
        bool all_zero = true;
        for (size_t a = 0; a < c->nargs; ++a) all_zero = all_zero && value_at(&c->args[a], k) == 0.0;
        if (all_zero) return RULE_SIGNED_ZERO_TIES;
    }
    /* numpy-reduce-fold: power/arctan2.reduce along one axis of a 2-d array. */
    if (enabled[RULE_NUMPY_REDUCE_FOLD] && c->method == METHOD_REDUCE && !c->all_axes &&
        name_in(nm, (const char *const[]){"power", "pow", "arctan2", "atan2", NULL}) && x->kind == ARG_ARRAY &&
        x->t.ndim == 2 && is_in_order_fold(c, k, got))
        return RULE_NUMPY_REDUCE_FOLD;
    /* signed-zero-ties, reductions that pick the larger or smaller of 0.0 and -0.0. */
    bool nanmax_nanmin = strcmp(nm, "nanmax") == 0 || strcmp(nm, "nanmin") == 0;
    if (zero_ties && ((fmax_fmin && c->method != METHOD_CALL) || nanmax_nanmin)) return RULE_SIGNED_ZERO_TIES;
    /* float32-var-in-float64: NumPy's float32 squares overflowed to inf, the library's did not. */
    if (enabled[RULE_FLOAT32_VAR_IN_FLOAT64] && x->kind == ARG_ARRAY && x->t.dt == DASK_FLOAT32 && isinf(want) &&
        isfinite(got) && name_in(nm, (const char *const[]){"var", "std", "nanvar", "nanstd", NULL}))
        return RULE_FLOAT32_VAR_IN_FLOAT64;
    return RULE_NONE;
}

/* =======================================================================================
 * Running a case through the C ABI
 * ===================================================================================== */

typedef enum { MODE_ONE_CHUNK, MODE_MANY_CHUNKS, N_MODES } chunk_mode;
static const char *const MODE_NAMES[N_MODES] = {"one chunk", "chunks of 2"};

/* What the library gave for a case: outputs in host memory, or the failure. */
typedef struct {
    bool failed;
    char error[400]; /* where and why, when failed */
    size_t nout;
    tensor out[MAX_OUTS];
} run_result;

static void run_result_free(run_result *r) {
    for (size_t o = 0; o < r->nout; ++o) tensor_free(&r->out[o]);
    r->nout = 0;
}

static bool run_fail(run_result *r, const char *step, dask_status st) {
    r->failed = true;
    snprintf(r->error, sizeof r->error, "%s: %s: %s", step, dask_status_name(st), dask_last_error_message());
    return false;
}

/* A chunked array over a copy of `t`, with this mode's chunks. */
static dask_status make_array(const tensor *t, chunk_mode mode, dask_array **out) {
    size_t chunks[MAX_DIMS];
    for (size_t k = 0; k < t->ndim; ++k) {
        size_t len = t->shape[k];
        chunks[k] = mode == MODE_ONE_CHUNK || len < 2 ? len : 2;
    }
    return golden_make_array(t, chunks, out);
}

/* Computes `a` into `t` (golden_fetch); on a failure, `r` says why. */
static bool fetch_result(const dask_client *client, const dask_array *a, tensor *t, run_result *r) {
    if (golden_fetch(client, a, t, r->error, sizeof r->error)) return true;
    r->failed = true;
    return false;
}

static const struct {
    const char *name;
    dask_reduce_op op;
} ARRAY_REDUCTIONS[] = {
    {"sum", DASK_REDUCE_SUM},         {"prod", DASK_REDUCE_PROD},       {"mean", DASK_REDUCE_MEAN},
    {"min", DASK_REDUCE_MIN},         {"max", DASK_REDUCE_MAX},         {"var", DASK_REDUCE_VAR},
    {"std", DASK_REDUCE_STD},         {"any", DASK_REDUCE_ANY},         {"all", DASK_REDUCE_ALL},
    {"nansum", DASK_REDUCE_NANSUM},   {"nanprod", DASK_REDUCE_NANPROD}, {"nanmean", DASK_REDUCE_NANMEAN},
    {"nanmin", DASK_REDUCE_NANMIN},   {"nanmax", DASK_REDUCE_NANMAX},   {"nanvar", DASK_REDUCE_NANVAR},
    {"nanstd", DASK_REDUCE_NANSTD},
};

static bool array_reduction(const char *name, dask_reduce_op *op) {
    for (size_t i = 0; i < sizeof ARRAY_REDUCTIONS / sizeof ARRAY_REDUCTIONS[0]; ++i)
        if (strcmp(ARRAY_REDUCTIONS[i].name, name) == 0) {
            *op = ARRAY_REDUCTIONS[i].op;
            return true;
        }
    return false;
}

/* Applies the case's operation to the operands (`x`: the first array operand), writing the
 * outputs (owned by the caller) to `outs`. */
static bool apply(const golden_case *c, const dask_operand *ops, const dask_array *x, dask_array **outs,
                  size_t *nout, run_result *r) {
    dask_status st;
    dask_reduce_op rop;
    bool needs_array = c->method != METHOD_CALL || strncmp(c->name, "astype:", 7) == 0;
    if (needs_array && (x == NULL || c->nargs != 1)) {
        r->failed = true;
        snprintf(r->error, sizeof r->error, "malformed case: this operation takes one array");
        return false;
    }
    *nout = 1;
    if (strncmp(c->name, "astype:", 7) == 0 && c->method == METHOD_CALL) {
        dask_dtype to = dtype_by_name(c->name + 7);
        if (to == 0) {
            r->failed = true;
            snprintf(r->error, sizeof r->error, "unknown dtype in '%s'", c->name);
            return false;
        }
        st = dask_array_astype(x, to, &outs[0]);
        return st == DASK_OK || run_fail(r, "dask_array_astype", st);
    }
    if (c->method == METHOD_REDUCE && array_reduction(c->name, &rop)) {
        size_t axes[1] = {c->axis};
        st = dask_array_reduce(x, rop, c->all_axes ? NULL : axes, c->all_axes ? 0 : 1, false, 0.0, 0, &outs[0]);
        return st == DASK_OK || run_fail(r, "dask_array_reduce", st);
    }
    if (c->method == METHOD_REDUCE && (strcmp(c->name, "argmin") == 0 || strcmp(c->name, "argmax") == 0)) {
        st = dask_array_arg_reduce(x, strcmp(c->name, "argmax") == 0, c->axis, c->all_axes, &outs[0]);
        return st == DASK_OK || run_fail(r, "dask_array_arg_reduce", st);
    }
    const char *ufunc_name = c->name;
    if (c->method == METHOD_ACCUMULATE && strcmp(c->name, "cumsum") == 0) ufunc_name = "add";
    if (c->method == METHOD_ACCUMULATE && strcmp(c->name, "cumprod") == 0) ufunc_name = "multiply";

    dask_ufunc *u = NULL;
    if ((st = dask_ufunc_lookup(ufunc_name, &u)) != DASK_OK) {
        /* Counted as a failure even when NumPy raised: NumPy has this ufunc. */
        run_fail(r, "dask_ufunc_lookup", st);
        snprintf(r->error + strlen(r->error), sizeof r->error - strlen(r->error), " (no such ufunc)");
        return false;
    }
    size_t nout_u = 1;
    if (c->method == METHOD_CALL && (st = dask_ufunc_nout(u, &nout_u)) != DASK_OK) {
        dask_ufunc_free(u);
        return run_fail(r, "dask_ufunc_nout", st);
    }
    const char *step;
    if (c->method == METHOD_REDUCE) {
        step = "dask_ufunc_reduce";
        st = dask_ufunc_reduce(u, x, c->axis, c->all_axes, false, &outs[0]);
    } else if (c->method == METHOD_ACCUMULATE) {
        step = "dask_ufunc_accumulate";
        st = dask_ufunc_accumulate(u, x, c->axis, &outs[0]);
    } else if (nout_u > 1) {
        step = "dask_ufunc_call_multi";
        if (nout_u > MAX_OUTS) {
            dask_ufunc_free(u);
            r->failed = true;
            snprintf(r->error, sizeof r->error, "ufunc has %zu outputs", nout_u);
            return false;
        }
        st = dask_ufunc_call_multi(u, ops, c->nargs, outs, nout_u);
        if (st == DASK_OK) *nout = nout_u;
    } else {
        step = "dask_ufunc_call";
        st = dask_ufunc_call(u, ops, c->nargs, &outs[0]);
    }
    dask_ufunc_free(u);
    return st == DASK_OK || run_fail(r, step, st);
}

/* Runs case `c` in `mode` on `client`; fills `r` (outputs in host memory, or the failure). */
static void run_case(const dask_client *client, const golden_case *c, chunk_mode mode, run_result *r) {
    memset(r, 0, sizeof *r);
    dask_array *inputs[MAX_ARGS] = {NULL};
    dask_operand ops[MAX_ARGS];
    const dask_array *first_array = NULL;
    memset(ops, 0, sizeof ops);
    bool ok = true;
    for (size_t a = 0; a < c->nargs && ok; ++a) {
        const golden_arg *g = &c->args[a];
        switch (g->kind) {
        case ARG_ARRAY: {
            dask_status st = make_array(&g->t, mode, &inputs[a]);
            if (st != DASK_OK) {
                ok = run_fail(r, "making an input array (dask_value_copy_buffer, dask_array_from_value)", st);
                break;
            }
            ops[a].kind = DASK_OPERAND_ARRAY;
            ops[a].array = inputs[a];
            if (!first_array) first_array = inputs[a];
            break;
        }
        case ARG_INT: ops[a].kind = DASK_OPERAND_INT; ops[a].i = g->i; break;
        case ARG_FLOAT: ops[a].kind = DASK_OPERAND_FLOAT; ops[a].f = g->f; break;
        case ARG_BOOL: ops[a].kind = DASK_OPERAND_BOOL; ops[a].i = g->i; break;
        }
    }
    dask_array *outs[MAX_OUTS] = {NULL};
    size_t nout = 0;
    if (ok) ok = apply(c, ops, first_array, outs, &nout, r);
    for (size_t a = 0; a < c->nargs; ++a) dask_array_free(inputs[a]); /* results keep what they need */
    for (size_t o = 0; o < nout; ++o) {
        if (ok) {
            ok = fetch_result(client, outs[o], &r->out[o], r);
            r->nout = o + 1; /* r->out[o] is allocated (maybe half filled) */
        }
        dask_array_free(outs[o]);
    }
    if (!ok) run_result_free(r);
}

/* =======================================================================================
 * Comparing a run with the recorded result
 * ===================================================================================== */

typedef enum { OUTCOME_MATCHED, OUTCOME_ALLOWED, OUTCOME_FAILED } outcome;

/* Compares output `o` element by element. Returns false on a difference no rule accepts
 * (described in `what`); records in `*used_rule` a rule that accepted a difference. */
static bool compare_values(const golden_case *c, const bool enabled[N_RULES], size_t o, const tensor *got,
                           rule_id *used_rule, char *what, size_t len) {
    const tensor *exp = &c->res[o];
    tolerance tol = tolerance_for(c, exp->dt);
    size_t sz = dtype_size(exp->dt), bad = 0, first_bad = 0;
    for (size_t i = 0; i < exp->n; ++i) {
        bool same = is_float(exp->dt) ? float_matches(elem_f64(got, i), elem_f64(exp, i), &tol, exp->dt)
                                      : memcmp(elem_ptr(got, i), elem_ptr(exp, i), sz) == 0;
        if (same) continue;
        rule_id rule = excused(c, enabled, i, got, exp);
        if (rule != RULE_NONE) {
            *used_rule = rule;
            continue;
        }
        if (bad++ == 0) first_bad = i;
    }
    if (bad == 0) return true;
    char g[48], e[48], inputs[160] = "";
    elem_str(got, first_bad, g, sizeof g);
    elem_str(exp, first_bad, e, sizeof e);
    /* Elementwise cases: the inputs of that element. */
    if (c->method == METHOD_CALL && !name_in(c->name, MATRIX_PRODUCTS)) {
        size_t used = 0;
        for (size_t a = 0; a < c->nargs; ++a) {
            const golden_arg *ga = &c->args[a];
            char v[48];
            if (ga->kind == ARG_ARRAY && ga->t.n == exp->n) elem_str(&ga->t, first_bad, v, sizeof v);
            else if (ga->kind == ARG_ARRAY) snprintf(v, sizeof v, "[array]");
            else if (ga->kind == ARG_FLOAT) snprintf(v, sizeof v, "%.17g", ga->f);
            else snprintf(v, sizeof v, "%" PRId64, ga->i);
            used += (size_t)snprintf(inputs + used, sizeof inputs - used, "%s%s", a ? ", " : " of (", v);
            if (used >= sizeof inputs) break;
        }
        if (used < sizeof inputs) snprintf(inputs + used, sizeof inputs - used, ")");
    }
    char ts[64];
    tolerance_str(&tol, ts, sizeof ts);
    snprintf(what, len, "values: output %zu: %zu of %zu elements differ; first [%zu]%s: got %s, expected %s (%s)", o,
             bad, exp->n, first_bad, inputs, g, e, ts);
    return false;
}

/* The verdict on one run of a case; `what` says what differed, `*rule` the rule that allowed. */
static outcome judge(const golden_case *c, const bool enabled[N_RULES], const run_result *r, char *what, size_t len,
                     rule_id *rule) {
    *rule = RULE_NONE;
    if (c->expect_error) {
        if (r->failed) return OUTCOME_MATCHED;
        char sh[64];
        shape_str(r->out[0].ndim, r->out[0].shape, sh, sizeof sh);
        snprintf(what, len, "missing error: NumPy raised %s, libdask gave =%s:%s", c->error_class,
                 dtype_name(r->out[0].dt), sh);
        return OUTCOME_FAILED;
    }
    if (r->failed && enabled[RULE_LDEXP_REDUCE] && strcmp(c->name, "ldexp") == 0 && c->method == METHOD_REDUCE) {
        *rule = RULE_LDEXP_REDUCE;
        return OUTCOME_ALLOWED;
    }
    if (r->failed) {
        snprintf(what, len, "unexpected error: %s", r->error);
        return OUTCOME_FAILED;
    }
    if (r->nout != c->nres) {
        snprintf(what, len, "outputs: got %zu, expected %zu", r->nout, c->nres);
        return OUTCOME_FAILED;
    }
    for (size_t o = 0; o < c->nres; ++o) {
        const tensor *g = &r->out[o], *e = &c->res[o];
        bool same_shape = g->ndim == e->ndim;
        for (size_t k = 0; same_shape && k < g->ndim; ++k) same_shape = g->shape[k] == e->shape[k];
        if (g->dt != e->dt || !same_shape) {
            char gs[64], es[64];
            shape_str(g->ndim, g->shape, gs, sizeof gs);
            shape_str(e->ndim, e->shape, es, sizeof es);
            snprintf(what, len, "%s: output %zu: got %s:%s, expected %s:%s", g->dt != e->dt ? "dtype" : "shape", o,
                     dtype_name(g->dt), gs, dtype_name(e->dt), es);
            return OUTCOME_FAILED;
        }
    }
    for (size_t o = 0; o < c->nres; ++o)
        if (!compare_values(c, enabled, o, &r->out[o], rule, what, len)) return OUTCOME_FAILED;
    /* A float16 case counts as such even when another rule excused some of its elements. */
    if (c->allow_float16) {
        if (!enabled[RULE_FLOAT16]) {
            snprintf(what, len, "carries allow:float16, but the float16 rule is not in allowed.txt");
            return OUTCOME_FAILED;
        }
        *rule = RULE_FLOAT16;
        return OUTCOME_ALLOWED;
    }
    return *rule != RULE_NONE ? OUTCOME_ALLOWED : OUTCOME_MATCHED;
}

/* =======================================================================================
 * Driver
 * ===================================================================================== */

typedef struct {
    long cases, matched, allowed[N_RULES], failed; /* failed etc. count (case, chunking) runs */
} tally;

/* One line per failure (DASK_CONFORMANCE_LIST=1): line, mode, ufunc, method, operand kinds, what. */
static void list_failure(const golden_case *c, chunk_mode mode, const char *what) {
    char ops[128] = "";
    size_t used = 0;
    for (size_t a = 0; a < c->nargs && used < sizeof ops; ++a) {
        const golden_arg *g = &c->args[a];
        const char *k = g->kind == ARG_ARRAY ? dtype_name(g->t.dt)
                        : g->kind == ARG_INT ? "int"
                        : g->kind == ARG_FLOAT ? "float"
                                                 : "pybool";
        used += (size_t)snprintf(ops + used, sizeof ops - used, "%s%s", a ? "," : "", k);
    }
    printf("LIST %ld|%d|%s|%s|%s|%s|%s\n", c->lineno, (int)mode, c->name, c->method_text, ops,
           c->expect_error ? c->error_class : (c->nres ? dtype_name(c->res[0].dt) : "?"), what);
}

/* Prints the `nth` failure if it is among the first FIRST_FAILURES_SHOWN. */
static void report_failure(const golden_case *c, const char *mode, const char *what, long nth) {
    if (nth > FIRST_FAILURES_SHOWN) return;
    size_t L = strlen(c->line);
    fprintf(stderr, "FAIL line %ld [%s]: %.*s%s\n      %s\n", c->lineno, mode, LINE_SHOWN, c->line,
            L > LINE_SHOWN ? " ..." : "", what);
}

static void replay(const dask_client *client, const golden_case *c, const bool enabled[N_RULES], bool small,
                   bool list, tally *t) {
    for (int m = small ? MODE_MANY_CHUNKS : MODE_ONE_CHUNK; m < N_MODES; ++m) {
        run_result r;
        char what[1024] = "";
        run_case(client, c, (chunk_mode)m, &r);
        rule_id rule = RULE_NONE;
        outcome oc = judge(c, enabled, &r, what, sizeof what, &rule);
        run_result_free(&r);
        if (oc == OUTCOME_FAILED) {
            t->failed++;
            atomic_fetch_add(&harness_failed, 1);
            report_failure(c, MODE_NAMES[m], what, t->failed);
            if (list) list_failure(c, (chunk_mode)m, what);
        } else {
            atomic_fetch_add(&harness_passed, 1);
            if (oc == OUTCOME_ALLOWED) t->allowed[rule]++;
            else t->matched++;
        }
    }
}

/* Reads and replays every case of the golden file. False when it cannot be read whole. */
static bool replay_file(const dask_client *client, const char *dir, const bool enabled[N_RULES], bool small,
                        bool list, tally *t) {
    golden_reader g;
    if (!golden_open(&g, dir, "ufuncs.golden.gz")) return false;
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
        golden_case c;
        char err[256] = "";
        if (!parse_case(buf, line, g.lineno, &c, err, sizeof err)) {
            char what[300];
            snprintf(what, sizeof what, "cannot parse the case: %s", err);
            t->failed++;
            atomic_fetch_add(&harness_failed, 1);
            report_failure(&c, "parse", what, t->failed);
            case_free(&c);
            continue;
        }
        replay(client, &c, enabled, small, list, t);
        case_free(&c);
    }
    free(buf);
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
    bool enabled[N_RULES];
    if (!read_allowed(allowed_path, enabled)) atomic_fetch_add(&harness_failed, 1);

    if (!libm_open()) {
        atomic_fetch_add(&harness_failed, 1);
        return test_finish();
    }
    dask_client *client = new_client(2);
    tally t;
    memset(&t, 0, sizeof t);
    double t0 = now_s();
    if (!replay_file(client, dir, enabled, small, list, &t)) atomic_fetch_add(&harness_failed, 1);
    double secs = now_s() - t0;
    dask_client_free(client);
    libm_close();

    long allowed = 0;
    char per_rule[256] = "";
    size_t used = 0;
    for (size_t r = 0; r < N_RULES; ++r) {
        allowed += t.allowed[r];
        if (t.allowed[r] && used < sizeof per_rule)
            used += (size_t)snprintf(per_rule + used, sizeof per_rule - used, "%s%s %ld", used ? ", " : "",
                                     RULE_NAMES[r], t.allowed[r]);
    }
    if (t.failed > FIRST_FAILURES_SHOWN)
        fprintf(stderr, "(%ld more failures not shown; DASK_CONFORMANCE_LIST=1 lists them all)\n",
                t.failed - FIRST_FAILURES_SHOWN);
    fflush(stderr);
    printf("conformance (C): %ld cases%s x %d chunking%s: %ld matched, %ld allowed (%s), %ld failed", t.cases,
           small ? " (every 50th replayed)" : "", small ? 1 : 2, small ? "" : "s", t.matched, allowed,
           allowed ? per_rule : "none", t.failed);
    printf(" (%.1f s)\n", secs);
    return test_finish();
}
