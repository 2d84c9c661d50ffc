#!/usr/bin/env python3
"""Record NumPy 2.x's ufunc behaviour as golden cases for libdask's conformance suite.

Usage:
    generate_ufuncs.py [--out FILE]     write the golden text (uncompressed) to FILE or stdout
    generate_ufuncs.py --check FILE     re-read a golden file (.gz or plain) and validate it

The format is described in conformance/README.md.  In short, one case per line:

    <ufunc> <method> <n> <operand_1> ... <operand_n> <result>...

Output is deterministic: no randomness, fixed iteration order.  Per-section totals
go to stderr (and as trailing `# cases` comment lines in the file).
"""

from __future__ import annotations

import argparse
import gzip
import math
import platform
import re
import sys
import warnings
from fractions import Fraction

import numpy as np

# ---------------------------------------------------------------------------
# dtypes and edge values
# ---------------------------------------------------------------------------

DTYPES = [
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "float32", "float64",
]
DTYPE_SET = frozenset(DTYPES)
INT_DTYPES = [d for d in DTYPES if d.startswith(("int", "uint"))]
FLOAT_DTYPES = ["float32", "float64"]
NAN = float("nan")
INF = float("inf")

EDGES = {
    "bool": [0, 1],
    "int8": [-128, -7, -1, 0, 1, 2, 3, 127],
    "uint8": [0, 1, 2, 3, 7, 128, 255],
    "int16": [-32768, -300, -1, 0, 1, 2, 7, 32767],
    "uint16": [0, 1, 2, 7, 300, 65535],
    "int32": [-2147483648, -70000, -1, 0, 1, 3, 31, 2147483647],
    "uint32": [0, 1, 3, 32, 70000, 4294967295],
    "int64": [-9223372036854775808, -9007199254740993, -7, -1, 0, 1, 2, 63,
              9007199254740993, 9223372036854775807],
    "uint64": [0, 1, 2, 63, 9007199254740993, 9223372036854775808,
               18446744073709551615],
    "float32": [NAN, -INF, -1e30, -2.5, -1.0, -0.5, -0.0, 0.0, 1e-40, 0.5, 1.0,
                1.5, 2.0, 3.0, 100.0, INF],
    "float64": [NAN, -INF, -1e300, -1e30, -2.5, -1.0, -0.5, -0.0, 0.0, 5e-324, 0.5,
                1.0, 1.5, 2.0, 3.0, 100.0, INF],
}

# A second, benign 3x4 array per dtype for the reduction sections (the edge-value
# arrays overflow or turn NaN almost everywhere; this one exercises the ordinary path:
# no zeros, so products and divisions stay informative; products still overflow int8).
SMALL_3X4 = {
    "bool": [1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1],
    "signed": [3, -1, 2, 1, 1, 2, -3, 1, 2, 1, 4, -2],
    "unsigned": [3, 1, 2, 1, 1, 2, 5, 1, 2, 1, 4, 2],
    "float": [1.5, -0.5, 2.0, 1.0, 1.0, 2.5, -3.0, 1.0, 0.25, 1.0, 4.0, -2.0],
}


def small_values(dt: str) -> list:
    if dt == "bool":
        return SMALL_3X4["bool"]
    if dt.startswith("uint"):
        return SMALL_3X4["unsigned"]
    if dt.startswith("int"):
        return SMALL_3X4["signed"]
    return SMALL_3X4["float"]


def make_array(dt: str, values, shape) -> np.ndarray:
    if dt == "bool":
        values = [bool(v) for v in values]
    return np.array(values, dtype=dt).reshape(shape)


def edge_array(dt: str) -> np.ndarray:
    return make_array(dt, EDGES[dt], (len(EDGES[dt]),))


def grid_arrays(dt: str) -> list[np.ndarray]:
    """The 3x4 operands of the reduction sections: edge values cycling, then small values."""
    edges = EDGES[dt]
    cyc = [edges[i % len(edges)] for i in range(12)]
    return [make_array(dt, cyc, (3, 4)), make_array(dt, small_values(dt), (3, 4))]


# ---------------------------------------------------------------------------
# Python scalar operands
# ---------------------------------------------------------------------------

NEP50_SCALARS = [
    0, 1, -1, 2, 3, 127, 128, 255, 256, 300, -300, 70000, -70000, 2147483648,
    4294967296, 9007199254740993, 9223372036854775807, -9223372036854775808,
    0.5, -0.0, 2.5, NAN, INF, 1e300, False, True,
]
SCALAR_PAIR_SET = [3, -2, 1.5, True]
UNARY_SCALARS = [3, -2, 1.5, -0.0, True]
WHERE_SCALARS = [0, 300, 0.5, True]

# ---------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------


def fmt_float(v, dt: str) -> str:
    x = float(v)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if dt == "float32":
        # NumPy's Dragon4 in unique mode: the shortest string that reads back to this float32.
        return str(np.float32(v))
    return repr(x)


def fmt_values(arr: np.ndarray) -> str:
    dt = arr.dtype.name
    flat = arr.reshape(-1)
    if flat.size == 0:
        return "-"
    if dt == "bool":
        return ",".join("1" if v else "0" for v in flat.tolist())
    if dt in FLOAT_DTYPES:
        return ",".join(fmt_float(v, dt) for v in flat)
    return ",".join(str(int(v)) for v in flat.tolist())


def fmt_shape(shape) -> str:
    if len(shape) == 0:
        return "-"
    return "x".join(str(d) for d in shape)


def enc_array(arr: np.ndarray) -> str:
    return f"{arr.dtype.name}:{fmt_shape(arr.shape)}:{fmt_values(arr)}"


def enc_operand(op) -> str:
    if isinstance(op, np.ndarray):
        return "a:" + enc_array(op)
    if isinstance(op, bool):
        return "b:1" if op else "b:0"
    if isinstance(op, int):
        return f"i:{op}"
    if isinstance(op, float):
        return "f:" + fmt_float(op, "float64")
    raise TypeError(f"unsupported operand {op!r}")


def exc_name(e: BaseException) -> str:
    """The name of the first builtin class in the exception's MRO (UFuncTypeError -> TypeError)."""
    for cls in type(e).__mro__:
        if cls.__module__ == "builtins":
            return cls.__name__
    return type(e).__name__


# ---------------------------------------------------------------------------
# running one case
# ---------------------------------------------------------------------------

SKIPS: dict[str, int] = {}
SKIPPED_CASES: list[str] = []  # (for --verbose) what was skipped and why
FLOAT16_RECAST = {"count": 0}
_LAST_SKIP = {"reason": ""}


def _skip(reason: str) -> None:
    SKIPS[reason] = SKIPS.get(reason, 0) + 1
    _LAST_SKIP["reason"] = reason


def _describe(op) -> str:
    return f"{op.dtype.name}{list(op.shape)}" if isinstance(op, np.ndarray) else enc_operand(op)


def _call(fn, operands):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fn(*operands)
    outs = r if isinstance(r, tuple) else (r,)
    return [np.asarray(o) for o in outs]


def evaluate(fn, operands) -> str | None:
    """The result token(s) of fn(*operands), or None when the case is to be skipped."""
    try:
        outs = _call(fn, operands)
    except Exception as e:  # noqa: BLE001 - every NumPy error is a recorded outcome
        return "!" + exc_name(e)
    suffix = ""
    if any(o.dtype == np.float16 for o in outs):
        recast = [
            op.astype(np.float32)
            if isinstance(op, np.ndarray) and op.dtype.name in ("bool", "int8", "uint8")
            else op
            for op in operands
        ]
        try:
            outs = _call(fn, recast)
        except Exception:  # noqa: BLE001
            _skip("float16 result; raises after the float32 cast")
            return None
        if any(o.dtype == np.float16 for o in outs):
            _skip("float16 result; still float16 after the float32 cast")
            return None
        suffix = " allow:float16"
        FLOAT16_RECAST["count"] += 1
    for o in outs:
        if o.dtype.name not in DTYPE_SET:
            _skip(f"result dtype {o.dtype.name}")
            return None
    return " ".join("=" + enc_array(o) for o in outs) + suffix


def case(name: str, method: str, fn, operands) -> str | None:
    res = evaluate(fn, operands)
    if res is None:
        SKIPPED_CASES.append(f"{name} {method} {' '.join(_describe(op) for op in operands)}: "
                             f"{_LAST_SKIP['reason']}")
        return None
    ops = " ".join(enc_operand(op) for op in operands)
    return f"{name} {method} {len(operands)} {ops} {res}"


# ---------------------------------------------------------------------------
# the ufunc lists, taken from NumPy itself
# ---------------------------------------------------------------------------

REAL_CHARS = set("?bBhHiIlLqQefdg")


def _has_real_loop(u: np.ufunc) -> bool:
    for t in u.types:
        ins, outs = t.split("->")
        if all(c in REAL_CHARS for c in ins + outs):
            return True
    return False


def ufunc_lists():
    """(unary, binary, gufuncs): lists of (name, ufunc) sorted by name."""
    unary, binary, gufuncs = [], [], []
    for name in sorted(dir(np)):
        u = getattr(np, name)
        if not isinstance(u, np.ufunc) or name == "isnat" or not _has_real_loop(u):
            continue
        if u.signature is not None:
            if name in ("matmul", "vecdot", "matvec", "vecmat"):
                gufuncs.append((name, u))
            continue
        if u.nin == 1:
            unary.append((name, u))
        elif u.nin == 2:
            binary.append((name, u))
    return unary, binary, gufuncs


UNARY, BINARY, GUFUNCS = ufunc_lists()

ARRAY_REDUCTIONS = [
    "sum", "prod", "mean", "min", "max", "var", "std", "any", "all",
    "nansum", "nanprod", "nanmean", "nanmin", "nanmax", "nanvar", "nanstd",
    "argmin", "argmax",
]
ACCUMULATE_UFUNCS = ["add", "multiply", "maximum", "minimum", "fmax", "fmin",
                     "logical_and", "logical_or", "bitwise_or"]
CUMULATIVE = ["cumsum", "cumprod"]


def axis_arg(axis: str):
    return None if axis == "all" else int(axis)


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------


def section_unary():
    for name, u in UNARY:
        for dt in DTYPES:
            yield case(name, "call", u, [edge_array(dt)])


def cross(dta: str, dtb: str):
    a, b = EDGES[dta], EDGES[dtb]
    av = [x for x in a for _ in b]
    bv = [y for _ in a for y in b]
    return make_array(dta, av, (len(av),)), make_array(dtb, bv, (len(bv),))


def section_binary():
    # dtype pair outermost: the same operand arrays then repeat line after line (gzip likes it)
    for dta in DTYPES:
        for dtb in DTYPES:
            a, b = cross(dta, dtb)
            for name, u in BINARY:
                yield case(name, "call", u, [a, b])


def section_nep50_scalars():
    """An array of edge values with a Python scalar, in both orders (NEP 50 weak scalars)."""
    for name, u in BINARY:
        for dt in DTYPES:
            arr = edge_array(dt)
            for s in NEP50_SCALARS:
                yield case(name, "call", u, [arr, s])
                yield case(name, "call", u, [s, arr])


def section_scalar_pairs():
    """Two Python scalars: NumPy returns a NumPy scalar, recorded as a 0-d result."""
    for name, u in BINARY:
        for s in SCALAR_PAIR_SET:
            for t in SCALAR_PAIR_SET:
                yield case(name, "call", u, [s, t])


def section_unary_scalars():
    for name, u in UNARY:
        for s in UNARY_SCALARS:
            yield case(name, "call", u, [s])


def where_values(dt: str, reverse: bool) -> list:
    edges = EDGES[dt][::-1] if reverse else EDGES[dt]
    # spread over the edge set: first, last and middle values, cycling when short
    idx = [0, len(edges) - 1, len(edges) // 2, 1, len(edges) - 2, len(edges) // 2 - 1]
    return [edges[i % len(edges)] for i in idx]


def section_where():
    cond = np.array([True, False, True, False, True, False])
    for dta in DTYPES:
        a = make_array(dta, where_values(dta, False), (6,))
        for dtb in DTYPES:
            b = make_array(dtb, where_values(dtb, True), (6,))
            yield case("where", "call", np.where, [cond, a, b])
        for s in WHERE_SCALARS:
            yield case("where", "call", np.where, [cond, a, s])


def section_ufunc_reduce():
    for name, u in BINARY:
        if u.nout != 1:
            continue  # ufunc.reduce is only defined for single-output ufuncs
        for dt in DTYPES:
            for x in grid_arrays(dt):
                for axis in ("0", "1", "all"):
                    ax = axis_arg(axis)
                    yield case(name, f"reduce:{axis}",
                               lambda v, u=u, ax=ax: u.reduce(v, axis=ax), [x])
            empty = make_array(dt, [], (0, 3))
            yield case(name, "reduce:0", lambda v, u=u: u.reduce(v, axis=0), [empty])
    for name in ACCUMULATE_UFUNCS:
        u = getattr(np, name)
        for dt in DTYPES:
            for x in grid_arrays(dt):
                for axis in (0, 1):
                    yield case(name, f"accumulate:{axis}",
                               lambda v, u=u, ax=axis: u.accumulate(v, axis=ax), [x])


def section_array_reductions():
    for name in ARRAY_REDUCTIONS:
        f = getattr(np, name)
        for dt in DTYPES:
            for x in grid_arrays(dt):
                for axis in ("0", "1", "all"):
                    ax = axis_arg(axis)
                    yield case(name, f"reduce:{axis}", lambda v, f=f, ax=ax: f(v, axis=ax), [x])
            empty = make_array(dt, [], (0, 3))
            for axis in ("0", "all"):
                ax = axis_arg(axis)
                yield case(name, f"reduce:{axis}", lambda v, f=f, ax=ax: f(v, axis=ax), [empty])


def section_astype():
    for src in DTYPES:
        x = edge_array(src)
        for dst in DTYPES:
            yield case(f"astype:{dst}", "call", lambda v, dst=dst: v.astype(dst), [x])


def section_cumulative():
    for name in CUMULATIVE:
        f = getattr(np, name)
        for dt in DTYPES:
            for x in grid_arrays(dt):
                for axis in (0, 1):
                    yield case(name, f"accumulate:{axis}", lambda v, f=f, ax=axis: f(v, axis=ax), [x])


GUFUNC_SHAPES = {
    "matmul": [((2, 3), (3, 2)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 2, 3), (3, 2))],
    "vecdot": [((2, 3), (2, 3))],
    "matvec": [((2, 3), (3,))],
    "vecmat": [((3,), (3, 2))],
}
GU_VALUES = {
    "bool": [1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1],
    "signed": [1, 2, -1, 3, 0, -2, 2, 1, 1, -3, 2, 0],
    "unsigned": [1, 2, 3, 0, 4, 1, 2, 2, 1, 3, 0, 5],
    "float": [1.0, 2.5, -0.5, 3.0, 0.0, -2.0, 1.5, 0.25, 4.0, -1.0, 2.0, 0.5],
}


def gu_array(dt: str, shape, offset: int) -> np.ndarray:
    if dt == "bool":
        vals = GU_VALUES["bool"]
    elif dt.startswith("uint"):
        vals = GU_VALUES["unsigned"]
    elif dt.startswith("int"):
        vals = GU_VALUES["signed"]
    else:
        vals = GU_VALUES["float"]
    n = int(np.prod(shape))
    return make_array(dt, [vals[(offset + i) % len(vals)] for i in range(n)], shape)


def section_gufuncs():
    for name, u in GUFUNCS:
        for sa, sb in GUFUNC_SHAPES[name]:
            for dta in DTYPES:
                a = gu_array(dta, sa, 0)
                for dtb in DTYPES:
                    b = gu_array(dtb, sb, 5)
                    yield case(name, "call", u, [a, b])


SECTIONS = [
    ("unary", section_unary),
    ("binary", section_binary),
    ("nep50_scalars", section_nep50_scalars),
    ("scalar_pairs", section_scalar_pairs),
    ("unary_scalars", section_unary_scalars),
    ("where", section_where),
    ("ufunc_reduce", section_ufunc_reduce),
    ("array_reductions", section_array_reductions),
    ("astype", section_astype),
    ("cumulative", section_cumulative),
    ("gufuncs", section_gufuncs),
]

# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def header_lines() -> list[str]:
    lines = [
        f"# numpy {np.__version__}",
        "# libdask conformance golden cases: generated by conformance/generate_ufuncs.py; do not edit.",
        f"# python {platform.python_version()} on {platform.system()} {platform.machine()}",
        "# format: <ufunc> <method> <n> <operand_1> ... <operand_n> <result>... (see conformance/README.md)",
        "# ufuncs included: <kind> <name> <nin> <nout> [signature]",
    ]
    for name, u in UNARY:
        lines.append(f"# unary {name} {u.nin} {u.nout}")
    for name, u in BINARY:
        lines.append(f"# binary {name} {u.nin} {u.nout}")
    for name, u in GUFUNCS:
        lines.append(f"# gufunc {name} {u.nin} {u.nout} {u.signature}")
    lines.append("# pseudo " + " ".join(["where"] + ARRAY_REDUCTIONS + CUMULATIVE
                                         + [f"astype:{d}" for d in DTYPES]))
    return lines


def generate(out) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in header_lines():
        out.write(line + "\n")
    for sec, fn in SECTIONS:
        out.write(f"# section {sec}\n")
        n = 0
        for line in fn():
            if line is None:
                continue
            out.write(line + "\n")
            n += 1
        counts[sec] = n
    for sec, n in counts.items():
        out.write(f"# cases {sec} {n}\n")
    out.write(f"# cases total {sum(counts.values())}\n")
    return counts


# ---------------------------------------------------------------------------
# --check: re-read and validate
# ---------------------------------------------------------------------------

INT_RANGES = {d: (int(np.iinfo(d).min), int(np.iinfo(d).max)) for d in INT_DTYPES}
INT_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")
FLOAT_RE = re.compile(r"^(nan|inf|-inf|-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)$")
SHAPE_RE = re.compile(r"^(-|[0-9]+(x[0-9]+)*)$")
METHOD_RE = re.compile(r"^(call|reduce:(-?[0-9]+|all)|accumulate:-?[0-9]+)$")
NAME_RE = re.compile(r"^[a-z0-9_]+(:[a-z0-9]+)?$")

_F32_CACHE: dict[str, bool] = {}


def _f32_exact_parse(s: str) -> np.float32:
    """The float32 nearest to the decimal s (ties to even), computed exactly."""
    target = Fraction(s)
    c = np.float32(float(s))
    with np.errstate(all="ignore"):
        cands = {c, np.nextafter(c, np.float32(INF)), np.nextafter(c, np.float32(-INF))}
    best = None
    for x in cands:
        if not np.isfinite(x):
            continue
        d = abs(Fraction(float(x)) - target)
        key = (d, int(np.array(x).view(np.uint32)) & 1)
        if best is None or key < best[0]:
            best = (key, x)
    return best[1]


def check_float(s: str, dt: str) -> None:
    if not FLOAT_RE.match(s):
        raise ValueError(f"bad float {s!r}")
    if s in ("nan", "inf", "-inf"):
        return
    if dt == "float64":
        if fmt_float(float(s), dt) != s:
            raise ValueError(f"float64 {s!r} does not round-trip")
        return
    ok = _F32_CACHE.get(s)
    if ok is None:
        f64 = float(s)
        if abs(f64) >= 3.4028235677973366e38:  # past float32's max: overflows on parse
            ok = False
        else:
            x = _f32_exact_parse(s)
            if s.startswith("-") and x == 0:
                x = np.float32(-0.0)
            ok = fmt_float(x, "float32") == s
        _F32_CACHE[s] = ok
    if not ok:
        raise ValueError(f"float32 {s!r} does not round-trip")


def check_array(tok: str) -> None:
    parts = tok.split(":")
    if len(parts) != 3:
        raise ValueError(f"bad array token {tok!r}")
    dt, shape, values = parts
    if dt not in DTYPE_SET:
        raise ValueError(f"bad dtype {dt!r}")
    if not SHAPE_RE.match(shape):
        raise ValueError(f"bad shape {shape!r}")
    n = 1 if shape == "-" else math.prod(int(d) for d in shape.split("x"))
    vals = [] if values == "-" else values.split(",")
    if len(vals) != n:
        raise ValueError(f"{len(vals)} values for shape {shape}")
    for v in vals:
        if dt == "bool":
            if v not in ("0", "1"):
                raise ValueError(f"bad bool {v!r}")
        elif dt in INT_RANGES:
            if not INT_RE.match(v):
                raise ValueError(f"bad int {v!r}")
            lo, hi = INT_RANGES[dt]
            if not lo <= int(v) <= hi:
                raise ValueError(f"{v} out of range for {dt}")
        else:
            check_float(v, dt)


def check_operand(tok: str) -> None:
    kind, _, rest = tok.partition(":")
    if kind == "a":
        check_array(rest)
    elif kind == "i":
        if not INT_RE.match(rest):
            raise ValueError(f"bad int scalar {tok!r}")
    elif kind == "f":
        check_float(rest, "float64")
    elif kind == "b":
        if rest not in ("0", "1"):
            raise ValueError(f"bad bool scalar {tok!r}")
    else:
        raise ValueError(f"bad operand {tok!r}")


def check_line(line: str, names: set[str]) -> None:
    toks = line.split(" ")
    if len(toks) < 4 or any(t == "" for t in toks):
        raise ValueError("too few tokens or a double space")
    name, method, n = toks[0], toks[1], toks[2]
    if name not in names or not NAME_RE.match(name):
        raise ValueError(f"unknown name {name!r}")
    if not METHOD_RE.match(method):
        raise ValueError(f"bad method {method!r}")
    if not n.isdigit():
        raise ValueError(f"bad operand count {n!r}")
    k = int(n)
    ops, res = toks[3:3 + k], toks[3 + k:]
    if len(ops) != k:
        raise ValueError("fewer operands than announced")
    for op in ops:
        check_operand(op)
    if not res:
        raise ValueError("no result")
    if res[-1] == "allow:float16":
        res = res[:-1]
        if not res or res[0].startswith("!"):
            raise ValueError("allow:float16 without a result")
    if res[0].startswith("!"):
        if len(res) != 1 or not res[0][1:].isidentifier():
            raise ValueError(f"bad error result {' '.join(res)!r}")
        return
    for r in res:
        if not r.startswith("="):
            raise ValueError(f"bad result token {r!r}")
        check_array(r[1:])


def check(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        data = gzip.decompress(data)
    text = data.decode("ascii")
    lines = text.split("\n")
    if lines[-1] != "":
        print("check: file does not end with a newline", file=sys.stderr)
        return 1
    lines = lines[:-1]
    m = re.match(r"^# numpy (2\.[0-9]+\.[0-9]+\S*)$", lines[0])
    if not m:
        print(f"check: bad first line {lines[0]!r}", file=sys.stderr)
        return 1
    names = {"where"} | set(ARRAY_REDUCTIONS) | set(CUMULATIVE) | {f"astype:{d}" for d in DTYPES}
    for line in lines:
        hm = re.match(r"^# (unary|binary|gufunc) (\w+) ", line)
        if hm:
            names.add(hm.group(2))
    errors, cases, declared = 0, 0, None
    for i, line in enumerate(lines, 1):
        if line.startswith("#"):
            dm = re.match(r"^# cases total ([0-9]+)$", line)
            if dm:
                declared = int(dm.group(1))
            continue
        cases += 1
        try:
            check_line(line, names)
        except (ValueError, ArithmeticError) as e:
            errors += 1
            if errors <= 20:
                print(f"check: line {i}: {e}: {line[:200]}", file=sys.stderr)
    if declared is not None and declared != cases:
        print(f"check: {cases} cases but the file declares {declared}", file=sys.stderr)
        errors += 1
    print(f"check: {path}: numpy {m.group(1)}, {cases} cases, {errors} errors", file=sys.stderr)
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="-", help="where to write the golden text (default stdout)")
    ap.add_argument("--check", metavar="FILE", help="validate FILE instead of generating")
    ap.add_argument("--verbose", action="store_true", help="list every skipped case on stderr")
    args = ap.parse_args()
    if args.check:
        return check(args.check)
    if int(np.__version__.split(".")[0]) < 2:
        print(f"numpy 2.x needed, have {np.__version__}", file=sys.stderr)
        return 1
    if args.out == "-":
        counts = generate(sys.stdout)
    else:
        with open(args.out, "w", encoding="ascii", newline="\n") as f:
            counts = generate(f)
    for sec, n in counts.items():
        print(f"{sec:>17} {n:7d} cases", file=sys.stderr)
    print(f"{'total':>17} {sum(counts.values()):7d} cases "
          f"({FLOAT16_RECAST['count']} recorded through the float16 -> float32 rule)",
          file=sys.stderr)
    for reason, n in sorted(SKIPS.items()):
        print(f"  skipped {n:6d}: {reason}", file=sys.stderr)
    if args.verbose:
        for line in SKIPPED_CASES:
            print(f"  skipped: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
