#!/usr/bin/env python3
"""Record NumPy 2.x array operations and pydata/sparse COO semantics as golden cases.

Usage:
    generate_arrays.py arrays [--out FILE]   NumPy array operations (arrays.golden.gz)
    generate_arrays.py sparse [--out FILE]   pydata/sparse (+ scipy CSR/CSC) operations (sparse.golden.gz)
    generate_arrays.py --check FILE          re-read a golden file of either kind (.gz or plain), validate it

The format is described in conformance/README.md.  In short, one case per line:

    <op> <params> <n> <operand_1> ... <operand_n> <result>...

Output is deterministic: every section draws from its own random.Random seeded with a fixed
string (so adding cases to one section leaves the others as they were), in a fixed order.
Per-section totals go to stderr (and as trailing `# cases` comment lines in the file).
For the sparse file, `--verbose` also lists where pydata/sparse's result differs from NumPy's
on the same (densified) operands.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import math
import os
import platform
import random
import re
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate_ufuncs import (  # noqa: E402  (shared encoding and validation)
    DTYPE_SET,
    DTYPES,
    FLOAT_DTYPES,
    INT_RANGES,
    INT_RE,
    check_array,
    check_operand,
    enc_array,
    enc_operand,
    exc_name,
    fmt_shape,
    fmt_values,
    make_array,
)

NAN = float("nan")
INF = float("inf")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
SEED = "libdask-conformance-2025"
NUMERIC = [d for d in DTYPES if d != "bool"]

# ---------------------------------------------------------------------------
# random operands
# ---------------------------------------------------------------------------


def rng_for(section: str) -> random.Random:
    # str seeds are hashed with SHA-512 (seed version 2): stable across runs and platforms.
    return random.Random(f"{SEED}:{section}")


def rand_value(rng: random.Random, dt: str, edge: float = 0.0, small: bool = False):
    """One value of dtype dt: mostly small exact numbers, sometimes (prob. edge) an edge value."""
    if dt == "bool":
        return rng.random() < 0.5
    if dt in INT_RANGES:
        lo, hi = INT_RANGES[dt]
        if rng.random() < edge:
            return rng.choice([lo, hi, lo + 1, hi - 1, 0])
        v = rng.randrange(-3, 4) if small else rng.randrange(-9, 10)
        return abs(v) if lo == 0 else v
    if rng.random() < edge:
        return rng.choice([NAN, INF, -INF, -0.0, 1e30])
    # quarter steps: exact in float32 and float64, so sums do not depend on the order
    return rng.randrange(-12, 13) / 4 if small else rng.randrange(-40, 41) / 4


def rand_array(rng, dt: str, shape, edge: float = 0.0, small: bool = False) -> np.ndarray:
    n = math.prod(shape)
    return make_array(dt, [rand_value(rng, dt, edge, small) for _ in range(n)], tuple(shape))


def rand_dim(rng, allow0: bool = True, hi: int = 5) -> int:
    r = rng.random()
    if allow0 and r < 0.07:
        return 0
    if r < 0.25:
        return 1
    return rng.randrange(2, hi + 1)


def rand_shape(rng, ndim: int, max_size: int = 48, allow0: bool = True) -> tuple:
    while True:
        shape = tuple(rand_dim(rng, allow0) for _ in range(ndim))
        if math.prod(shape) <= max_size:
            return shape


def rand_ndim(rng, lo: int = 0, hi: int = 3) -> int:
    # 0-d less often than the rest
    if lo == 0 and rng.random() < 0.08:
        return 0
    return rng.randrange(max(lo, 1), hi + 1)


def rand_axes(rng, ndim: int):
    """An axes argument: None, (), an ordered subset with negatives, or an invalid one."""
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.22:
        return ()
    if ndim > 0 and r < 0.30:  # invalid: a duplicate (also via a negative alias) or out of range
        a = rng.randrange(ndim)
        return rng.choice([(a, a), (a, a - ndim), (ndim,), (-ndim - 1,)])
    if ndim == 0:
        return rng.choice([None, (), (0,), (-1,)])
    k = rng.randrange(1, ndim + 1)
    axes = rng.sample(range(ndim), k)
    return tuple(a - ndim if rng.random() < 0.3 else a for a in axes)


# ---------------------------------------------------------------------------
# params
# ---------------------------------------------------------------------------


def fmt_pval(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (tuple, list)):
        return ",".join(str(int(x)) for x in v) if len(v) else "()"
    raise TypeError(f"bad param value {v!r}")


def fmt_params(pairs) -> str:
    if not pairs:
        return "-"
    return ";".join(f"{k}={fmt_pval(v)}" for k, v in pairs)


def fmt_idx(items) -> str:
    """A basic index (tuple of slice / int / None) as the idx= spec."""
    if not items:
        return "()"
    out = []
    for it in items:
        if it is None:
            out.append("new")
        elif isinstance(it, slice):
            p = (lambda v: "" if v is None else str(v))
            s = f"{p(it.start)}:{p(it.stop)}"
            if it.step is not None:
                s += f":{it.step}"
            out.append(s)
        else:
            out.append(str(int(it)))
    return ",".join(out)


def fmt_scalar(v, dt: str) -> str:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fmt_values(np.asarray(v).astype(dt).reshape(1))


# ---------------------------------------------------------------------------
# running one case
# ---------------------------------------------------------------------------

SKIPS: dict[str, int] = {}
SKIPPED_CASES: list[str] = []
DIFFS: dict[str, list[str]] = {}  # sparse: op -> cases where pydata differs from NumPy
NOTES: dict[str, int] = {}


def _skip(reason: str, line: str) -> None:
    SKIPS[reason] = SKIPS.get(reason, 0) + 1
    SKIPPED_CASES.append(f"{line}: {reason}")


def _run(fn, operands):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*operands)


class Triplets:
    """Raw COO input (coordinates may repeat, in any order) for from_triplets."""

    def __init__(self, dt, shape, fill, coords, data):
        self.dtype = np.dtype(dt)
        self.shape = tuple(shape)
        self.fill_value = fill
        self.coords = np.asarray(coords, dtype=np.intp).reshape(len(shape), len(data))
        self.data = make_array(dt, data, (len(data),))


def enc_sparse(s) -> str:
    dt = s.dtype.name
    nd = len(s.shape)
    nnz = int(s.coords.shape[1])
    if nd == 0 or nnz == 0:
        coords = "-"
    else:
        coords = "/".join(",".join(str(int(c)) for c in s.coords[i]) for i in range(nd))
    data = fmt_values(np.asarray(s.data).astype(dt))
    return f"s:{dt}:{fmt_shape(s.shape)}:{fmt_scalar(s.fill_value, dt)}:{nnz}:{coords}:{data}"


def enc_any(op) -> str:
    if isinstance(op, np.ndarray):
        return enc_operand(op)
    if isinstance(op, (bool, int, float)):
        return enc_operand(op)
    return enc_sparse(op)  # sparse.COO or Triplets


def _describe(op) -> str:
    if hasattr(op, "shape") and hasattr(op, "dtype"):
        kind = "a" if isinstance(op, np.ndarray) else "s"
        return f"{kind}:{op.dtype.name}{list(op.shape)}"
    return enc_operand(op)


def array_result(r) -> tuple[str | None, str]:
    """'=<array>' for a NumPy result, or (None, reason)."""
    a = np.asarray(r)
    if a.dtype.name not in DTYPE_SET:
        return None, f"result dtype {a.dtype.name}"
    return "=" + enc_array(a), ""


def case(op: str, params, fn, operands) -> str | None:
    """A NumPy case: fn(*operands) -> one array."""
    head = f"{op} {fmt_params(params)} {len(operands)}"
    ops = " ".join(enc_any(o) for o in operands)
    line = f"{head} {ops}" if operands else head
    try:
        r = _run(fn, operands)
    except Exception as e:  # noqa: BLE001 - every error is a recorded outcome
        return f"{line} !{exc_name(e)}"
    res, why = array_result(r)
    if res is None:
        _skip(why, f"{op} {fmt_params(params)} {' '.join(_describe(o) for o in operands)}")
        return None
    return f"{line} {res}"


# --- sparse -----------------------------------------------------------------

def _sp():
    import sparse  # noqa: PLC0415 - only the sparse file needs it
    return sparse


def densify(op):
    if isinstance(op, Triplets):
        return _densify_triplets(op)
    if hasattr(op, "todense"):
        return op.todense()
    return op


def _densify_triplets(op):
    with np.errstate(all="ignore"):
        out = np.full(op.shape, op.fill_value, dtype=op.dtype)
        seen = set()
        for k in range(op.coords.shape[1]):
            c = tuple(int(x) for x in op.coords[:, k])
            if c not in seen:
                out[c] = 0
                seen.add(c)
            out[c] += op.data[k]
        return out


def sparse_result(r) -> tuple[str | None, str]:
    sparse = _sp()
    import scipy.sparse as ssp  # noqa: PLC0415
    if isinstance(r, sparse.SparseArray):
        d = r.todense()
        res, why = array_result(d)
        if res is None:
            return None, why
        fv = np.asarray(r.fill_value)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = fv.astype(r.dtype)
        if not (_same(back.astype(fv.dtype), fv) or (fv.dtype.kind == "f" and np.isnan(fv))):
            NOTES["result fill_value not representable in the result dtype"] = NOTES.get(
                "result fill_value not representable in the result dtype", 0) + 1
        return f"{res} sparse fill={fmt_scalar(r.fill_value, r.dtype.name)}", ""
    if ssp.issparse(r):
        d = r.toarray()
        res, why = array_result(d)
        if res is None:
            return None, why
        ip = np.asarray(r.indptr).astype(np.uint64)
        ix = np.asarray(r.indices).astype(np.uint64)
        return f"{res} ={enc_array(ip)} ={enc_array(ix)} ={enc_array(np.asarray(r.data))}", ""
    res, why = array_result(r)
    if res is None:
        return None, why
    return f"{res} dense", ""


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.all(a == b))


def _outcome(fn, operands):
    try:
        return True, np.asarray(densify(_run(fn, operands)))
    except Exception as e:  # noqa: BLE001
        return False, exc_name(e)


def _sparse_case_eval(op: str, params, fn, operands, np_fn):
    """(line | None, skip reason | None, difference from NumPy | None) for one sparse case."""
    head = f"{op} {fmt_params(params)} {len(operands)}"
    line = f"{head} {' '.join(enc_any(o) for o in operands)}"
    try:
        r = _run(fn, operands)
    except Exception as e:  # noqa: BLE001
        res = "!" + exc_name(e)
        ok, val = False, exc_name(e)
    else:
        res, why = sparse_result(r)
        if res is None:
            return None, why, None
        ok, val = True, np.asarray(densify(r))
    diff = None
    if np_fn is not None:
        nok, nval = _outcome(np_fn, [densify(o) for o in operands])
        if ok and nok:
            if not _same(val, nval):
                diff = f"values/dtype differ: numpy {nval.dtype.name}{list(nval.shape)}"
        elif ok != nok:
            diff = (f"pydata {'gives a result' if ok else 'raises ' + val}, numpy "
                    f"{'gives ' + nval.dtype.name + str(list(nval.shape)) if nok else 'raises ' + nval}")
        if diff:
            diff = f"{line[:300]} {res[:120]}  [{diff}]"
    return f"{line} {res}", None, diff


HANG_TIMEOUT = 15.0


def _forked(thunk):
    """thunk() in a child process; None when it does not finish within HANG_TIMEOUT seconds.
    (Some pydata/sparse numba kernels loop forever, e.g. COO x ndarray tensordot whose result
    has a zero-length axis; nopython code cannot be interrupted by a signal.)"""
    import pickle  # noqa: PLC0415
    import select  # noqa: PLC0415
    import time  # noqa: PLC0415
    sys.stdout.flush()
    sys.stderr.flush()
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(rfd)
        try:
            payload = pickle.dumps(("ok", thunk()))
        except BaseException as e:  # noqa: BLE001
            payload = pickle.dumps(("err", repr(e)))
        with os.fdopen(wfd, "wb") as w:
            w.write(payload)
        os._exit(0)
    os.close(wfd)
    chunks, deadline = [], time.monotonic() + HANG_TIMEOUT
    with os.fdopen(rfd, "rb") as r:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return None
            b = os.read(r.fileno(), 1 << 20)
            if not b:
                break
            chunks.append(b)
    os.waitpid(pid, 0)
    status, value = pickle.loads(b"".join(chunks))
    if status != "ok":
        raise RuntimeError(f"child failed: {value}")
    return value


def _risky(op: str, operands) -> bool:
    return op in ("tensordot", "matmul") and any(
        getattr(o, "size", 1) == 0 or 0 in getattr(o, "shape", ()) for o in operands)


def sparse_case(op: str, params, fn, operands, np_fn=None) -> str | None:
    """A pydata/sparse case; np_fn (optional) is the NumPy equivalent on the dense operands,
    used only to report where pydata/sparse differs from NumPy (--verbose)."""
    thunk = (lambda: _sparse_case_eval(op, params, fn, operands, np_fn))
    if _risky(op, operands):
        out = _forked(thunk)
        if out is None:
            out = (None, f"pydata/sparse does not return (killed after {HANG_TIMEOUT:.0f} s)", None)
    else:
        out = thunk()
    line, skip, diff = out
    if skip:
        _skip(skip, f"{op} {fmt_params(params)} {' '.join(_describe(o) for o in operands)}")
        return None
    if diff:
        DIFFS.setdefault(op, []).append(diff)
    return line


# ---------------------------------------------------------------------------
# basic-index specs (shared by both files)
# ---------------------------------------------------------------------------

BIG_STEPS = [I64_MAX, -I64_MAX, I64_MIN, 2**62]
EDGE_STEPS = [None, 1, -1, 2, -2, 3, -3, I64_MAX, -I64_MAX, I64_MIN, 0]
EDGE_BOUNDS = [(None, None), (None, 3), (2, None), (-1, None), (-7, 7), (7, -7),
               (I64_MAX, I64_MIN), (I64_MIN, I64_MAX), (3, 1), (1, 3)]


def rand_bound(rng, dim: int):
    r = rng.random()
    if r < 0.3:
        return None
    if r < 0.92:
        return rng.randrange(-dim - 3, dim + 4)
    return rng.choice([I64_MAX, I64_MIN, -I64_MAX])


def rand_step(rng):
    r = rng.random()
    if r < 0.35:
        return None
    if r < 0.9:
        return rng.choice([1, -1, 2, -2, 3, -3])
    if r < 0.985:
        return rng.choice(BIG_STEPS)
    return 0


def rand_index(rng, shape) -> tuple:
    nd = len(shape)
    r = rng.random()
    n_real = nd if r < 0.7 else rng.randrange(0, nd + 1)
    if rng.random() < 0.04:
        n_real = nd + 1  # too many indices
    items = []
    for i in range(n_real):
        dim = shape[i] if i < nd else 1
        if rng.random() < 0.25:
            if rng.random() < 0.06:
                items.append(rng.choice([I64_MAX, I64_MIN]))
            else:
                items.append(rng.randrange(-dim - 2, dim + 2))
        else:
            items.append(slice(rand_bound(rng, dim), rand_bound(rng, dim), rand_step(rng)))
    while rng.random() < 0.2:
        items.insert(rng.randrange(len(items) + 1), None)
    return tuple(items)


def edge_index_specs():
    """(length, index) pairs over 1-d operands: every edge step with a spread of bounds."""
    for n in (5, 1, 0):
        bounds = EDGE_BOUNDS if n == 5 else EDGE_BOUNDS[:2] + EDGE_BOUNDS[4:7]
        for step in EDGE_STEPS:
            for a, b in bounds:
                yield n, (slice(a, b, step),)
    for k in (-6, -5, -1, 0, 4, 5, I64_MAX, I64_MIN):
        yield 5, (k,)
    for k in (0, -1):
        yield 0, (k,)
    yield 5, (None,)
    yield 5, (None, slice(None, None, -1), None)


ZERO_D_INDICES = [(), (None,), (0,), (None, None), (slice(None),), (-1,)]

# ---------------------------------------------------------------------------
# arrays.golden.gz sections
# ---------------------------------------------------------------------------


def sec_slice():
    rng = rng_for("slice")
    for n, idx in edge_index_specs():
        x = make_array("int64", list(range(10, 10 + n)), (n,))
        yield case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [x])
    for dt in ("int32", "float64", "bool"):
        x = rand_array(rng, dt, ())
        for idx in ZERO_D_INDICES:
            yield case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [x])
    for _ in range(360):
        dt = rng.choice(DTYPES)
        shape = rand_shape(rng, rng.randrange(1, 4))
        x = rand_array(rng, dt, shape)
        idx = rand_index(rng, shape)
        yield case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [x])


def _take(v, ind, axis):
    return np.take(v, np.asarray(ind, dtype=np.intp), axis=axis)


def sec_take():
    rng = rng_for("take")
    # edge cases: empty axes, empty index lists, 0-d operands, extreme indices
    x = rand_array(rng, "int16", (0, 3))
    for ind, ax in [((), 0), ((0,), 0), ((-1,), 0), ((), 1), ((0, 2), 1), ((), None), ((0,), None)]:
        yield case("take", [("indices", ind), ("axis", ax)], lambda v, i=ind, a=ax: _take(v, i, a), [x])
    x0 = rand_array(rng, "float64", ())
    for ind, ax in [((0,), None), ((0, 0, -1), None), ((1,), None), ((0,), 0), ((), None)]:
        yield case("take", [("indices", ind), ("axis", ax)], lambda v, i=ind, a=ax: _take(v, i, a), [x0])
    x = make_array("int64", list(range(7)), (7,))
    for ind in [(I64_MAX,), (I64_MIN,), (-7,), (-8,), (6,), (7,), (3, -3, 3, 0, -1)]:
        yield case("take", [("indices", ind), ("axis", 0)], lambda v, i=ind: _take(v, i, 0), [x])
    for _ in range(240):
        dt = rng.choice(DTYPES)
        nd = rng.randrange(1, 4)
        shape = rand_shape(rng, nd)
        x = rand_array(rng, dt, shape)
        r = rng.random()
        if r < 0.12:
            ax = None
            dim = x.size
        elif r < 0.16:
            ax = rng.choice([nd, -nd - 1])
            dim = 3
        else:
            ax = rng.randrange(-nd, nd)
            dim = shape[ax]
        k = rng.choice([0, 1, 1, 2, 3, 4, 5])
        ind = []
        for _ in range(k):
            if rng.random() < 0.08:
                ind.append(rng.choice([dim, -dim - 1, dim + 5]))
            else:
                ind.append(rng.randrange(-dim, dim) if dim else 0)
        ind = tuple(ind)
        yield case("take", [("indices", ind), ("axis", ax)], lambda v, i=ind, a=ax: _take(v, i, a), [x])


def rand_perm(rng, nd: int):
    r = rng.random()
    if r < 0.15:
        return None
    if nd > 0 and r < 0.27:  # invalid
        p = list(range(nd))
        kind = rng.randrange(4)
        if kind == 0 and nd > 1:
            p[0] = p[1]  # duplicate
        elif kind == 1:
            p.append(nd)  # too long
        elif kind == 2:
            p[rng.randrange(nd)] = rng.choice([nd, -nd - 1])  # out of range
        else:
            p = p[:-1]  # too short
        return tuple(p)
    p = list(range(nd))
    rng.shuffle(p)
    return tuple(a - nd if rng.random() < 0.25 else a for a in p)


def sec_transpose():
    rng = rng_for("transpose")
    x0 = rand_array(rng, "int8", ())
    for perm in [None, (), (0,), (-1,)]:
        yield case("transpose", [("perm", perm)], lambda v, p=perm: np.transpose(v, p), [x0])
    for _ in range(150):
        dt = rng.choice(DTYPES)
        nd = rng.randrange(1, 5)
        x = rand_array(rng, dt, rand_shape(rng, nd))
        perm = rand_perm(rng, nd)
        yield case("transpose", [("perm", perm)], lambda v, p=perm: np.transpose(v, p), [x])


def factor_shape(rng, size: int, nd: int) -> list:
    """A random shape with nd dims and the given size (size 0: dims with a 0 somewhere)."""
    if nd == 0:
        return []
    if size == 0:
        dims = [rng.choice([0, 1, 2, 3]) for _ in range(nd)]
        dims[rng.randrange(nd)] = 0
        return dims
    dims = [1] * nd
    n = size
    p = 2
    factors = []
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    for f in factors:
        dims[rng.randrange(nd)] *= f
    return dims


def rand_newshape(rng, size: int) -> tuple:
    r = rng.random()
    nd = rng.randrange(0 if size == 1 else 1, 5)
    if r < 0.12:  # wrong size
        dims = factor_shape(rng, size + rng.choice([1, 2, 5]), max(nd, 1))
        return tuple(dims)
    dims = factor_shape(rng, size, nd)
    if nd and r < 0.55:
        dims[rng.randrange(nd)] = -1
    if nd > 1 and r > 0.95:
        dims[0] = dims[-1] = -1  # two unknowns
    if nd and 0.93 < r <= 0.95:
        dims[rng.randrange(nd)] = -2
    return tuple(dims)


RESHAPE_EDGES = [
    ((0,), (-1, 0)), ((0,), (0, -1)), ((0,), (-1,)), ((0,), (0,)), ((0,), (2, 0, 3)),
    ((0, 3), (-1, 3)), ((0, 3), (3, -1)), ((0, 3), (-1,)), ((0, 3), ()),
    ((1,), ()), ((1, 1), ()), ((), ()), ((), (1,)), ((), (-1,)), ((), (1, 1, -1)),
    ((6,), (-1, -1)), ((6,), (4, -1)), ((6,), (-2, -3)), ((6,), (7,)), ((2, 3), (3, 2)),
    ((2, 3), (6, 1, 1)), ((2, 3), (-1, 1, 2)),
]


def sec_reshape():
    rng = rng_for("reshape")
    for shape, new in RESHAPE_EDGES:
        x = rand_array(rng, "uint8", shape)
        yield case("reshape", [("shape", new)], lambda v, s=new: v.reshape(s), [x])
    for _ in range(230):
        dt = rng.choice(DTYPES)
        shape = rand_shape(rng, rand_ndim(rng, 0, 4))
        x = rand_array(rng, dt, shape)
        new = rand_newshape(rng, x.size)
        yield case("reshape", [("shape", new)], lambda v, s=new: v.reshape(s), [x])


JOIN_DTYPES = [
    ("uint16", "int16", "float32"), ("int8", "uint8", "bool"), ("float32", "int64"),
    ("uint64", "int64"), ("int32", "float32"), ("bool", "float64"), ("uint8", "int8"),
    ("uint32", "int32", "int8"), ("float32", "float64"), ("bool", "bool", "bool"),
    ("uint64", "float32"), ("int16", "uint8", "uint16"), ("uint64", "bool", "int8"),
    ("float64", "int64", "uint64"), ("uint32", "float32"), ("int64", "int64"),
]


def join_dtypes(rng, i: int):
    if i < 2 * len(JOIN_DTYPES):
        return JOIN_DTYPES[i % len(JOIN_DTYPES)]
    return tuple(rng.choice(DTYPES) for _ in range(rng.choice([2, 3])))


def sec_concatenate():
    rng = rng_for("concatenate")
    for i in range(220):
        dts = join_dtypes(rng, i)
        nd = rng.randrange(1, 4)
        base = list(rand_shape(rng, nd, max_size=16))
        r = rng.random()
        if r < 0.08:
            ax = None
        elif r < 0.13:
            ax = rng.choice([nd, -nd - 1])
        else:
            ax = rng.randrange(-nd, nd)
        ops = []
        for dt in dts:
            s = list(base)
            if ax is not None and -nd <= ax < nd:
                s[ax] = rng.choice([0, 1, 2, 3])
            if rng.random() < 0.05:  # incompatible
                if nd > 1 and rng.random() < 0.6:
                    j = rng.randrange(nd)
                    s[j] += 1
                else:
                    s.append(2)
            ops.append(rand_array(rng, dt, tuple(s), edge=0.15))
        yield case("concatenate", [("axis", ax)], lambda *v, a=ax: np.concatenate(v, axis=a), ops)
    # 0-d operands cannot be concatenated
    ops = [rand_array(rng, "int8", ()), rand_array(rng, "float32", ())]
    yield case("concatenate", [("axis", 0)], lambda *v: np.concatenate(v, axis=0), ops)
    yield case("concatenate", [("axis", None)], lambda *v: np.concatenate(v, axis=None), ops)


def sec_stack():
    rng = rng_for("stack")
    for i in range(200):
        dts = join_dtypes(rng, i)
        nd = rand_ndim(rng, 0, 3)
        base = rand_shape(rng, nd, max_size=16)
        r = rng.random()
        ax = rng.choice([nd + 1, -nd - 2]) if r < 0.06 else rng.randrange(-nd - 1, nd + 1)
        ops = []
        for dt in dts:
            s = list(base)
            if rng.random() < 0.05:
                if nd and rng.random() < 0.6:
                    s[rng.randrange(nd)] += 1
                else:
                    s.append(1)
            ops.append(rand_array(rng, dt, tuple(s), edge=0.15))
        yield case("stack", [("axis", ax)], lambda *v, a=ax: np.stack(v, axis=a), ops)


TD_SHAPES = [(), (2,), (3,), (2, 3), (3, 2), (2, 2), (2, 3, 2), (3, 2, 2), (0, 2), (2, 0)]
TD_DTYPES = [("float64", "float64"), ("int64", "int64"), ("int32", "float64"),
             ("int8", "uint8"), ("float64", "int16"), ("uint32", "int64")]


def axis_combos(sa, sb):
    """Every contraction of sa with sb: axes of a in increasing order, b's in every order."""
    for k in range(0, min(len(sa), len(sb)) + 1):
        for pa in itertools.combinations(range(len(sa)), k):
            for pb in itertools.permutations(range(len(sb)), k):
                if all(sa[i] == sb[j] for i, j in zip(pa, pb)):
                    yield pa, pb


def _td(a, b, pa, pb):
    return np.tensordot(a, b, axes=(list(pa), list(pb)))


def sec_tensordot():
    rng = rng_for("tensordot")
    i = 0
    for sa in TD_SHAPES:
        for sb in TD_SHAPES:
            for pa, pb in axis_combos(sa, sb):
                da, db = TD_DTYPES[i % len(TD_DTYPES)]
                i += 1
                a, b = rand_array(rng, da, sa, small=True), rand_array(rng, db, sb, small=True)
                yield case("tensordot", [("axes_a", pa), ("axes_b", pb)],
                           lambda x, y, pa=pa, pb=pb: _td(x, y, pa, pb), [a, b])
    # shapes whose axes all match each other: every combination, float64 with int64
    for sa, sb in [((2, 2, 2), (2, 2)), ((2, 3, 2), (2, 3, 2)), ((2, 2, 2), (2, 2, 2))]:
        for pa, pb in axis_combos(sa, sb):
            a, b = rand_array(rng, "float64", sa, small=True), rand_array(rng, "int64", sb, small=True)
            yield case("tensordot", [("axes_a", pa), ("axes_b", pb)],
                       lambda x, y, pa=pa, pb=pb: _td(x, y, pa, pb), [a, b])
    # negative axes, axes of a out of order, and invalid combinations
    extra = [((2, 3), (3, 2), (-1,), (0,)), ((2, 3), (3, 2), (-1, -2), (-2, -1)),
             ((2, 3, 2), (3, 2, 2), (1, 0), (0, 1)), ((2, 3, 2), (3, 2, 2), (2, 1), (1, 0)),
             ((2, 3), (3, 2), (0,), (0,)), ((2, 3), (3, 2), (0, 0), (1, 1)),
             ((2, 3), (3, 2), (2,), (0,)), ((2, 3), (3, 2), (0,), (0, 1)),
             ((2, 3), (3,), (1,), (-2,)), ((3,), (3,), (0,), (0,)), ((3,), (3,), (), ()),
             ((), (), (), ()), ((), (2,), (0,), (0,))]
    for sa, sb, pa, pb in extra:
        a, b = rand_array(rng, "float64", sa, small=True), rand_array(rng, "int32", sb, small=True)
        yield case("tensordot", [("axes_a", pa), ("axes_b", pb)],
                   lambda x, y, pa=pa, pb=pb: _td(x, y, pa, pb), [a, b])


MATMUL_EDGES = [
    ((2, 3, 2), (2,)), ((2, 1, 3, 4), (5, 4, 2)), ((3,), (3,)), ((4,), (2, 4, 3)),
    ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (2, 3)), ((), (3,)), ((3,), ()),
    ((2, 2, 3), (3, 3, 2)), ((2, 0), (0, 3)), ((0, 3), (3, 2)), ((0, 2, 3), (3, 1)),
    ((1, 2, 3), (4, 3, 2)), ((3,), (4,)), ((1, 1, 3), (3,)), ((2, 3), (3, 0)),
    ((0,), (0,)), ((0,), (0, 2)),
]


def rand_matmul_shapes(rng):
    n, k, m = rng.randrange(1, 4), rng.randrange(1, 5), rng.randrange(1, 4)
    if rng.random() < 0.08:
        n, k, m = rng.choice([(0, 2, 3), (2, 0, 3), (2, 3, 0)])
    a = [n, k] if rng.random() < 0.8 else [k]
    b = [k, m] if rng.random() < 0.8 else [k]
    nb = rng.randrange(0, 3)
    batch = [rng.randrange(1, 4) for _ in range(nb)]
    ba = [d if rng.random() < 0.7 else 1 for d in batch]
    bb = [d if rng.random() < 0.7 else 1 for d in batch]
    ba = ba[rng.randrange(0, nb + 1):] if rng.random() < 0.3 else ba
    bb = bb[rng.randrange(0, nb + 1):] if rng.random() < 0.3 else bb
    if len(a) == 1:
        ba = []
    if len(b) == 1:
        bb = []
    sa, sb = ba + a, bb + b
    r = rng.random()
    if r < 0.06:
        sb[-2 if len(b) == 2 else -1] += 1  # contraction mismatch
    elif r < 0.1 and ba and bb:
        ba2 = [d + 1 if d > 1 else 2 for d in ba]
        sa = ba2 + a
    return tuple(sa), tuple(sb)


def sec_matmul():
    rng = rng_for("matmul")
    for i, (sa, sb) in enumerate(MATMUL_EDGES):
        da, db = ("float64", "float64") if i % 2 == 0 else ("int64", "int32")
        a, b = rand_array(rng, da, sa, small=True), rand_array(rng, db, sb, small=True)
        yield case("matmul", [], np.matmul, [a, b])
    for _ in range(230):
        sa, sb = rand_matmul_shapes(rng)
        if math.prod(sa) > 60 or math.prod(sb) > 60:
            continue
        da = rng.choice(DTYPES)
        db = da if rng.random() < 0.4 else rng.choice(DTYPES)
        a, b = rand_array(rng, da, sa, small=True), rand_array(rng, db, sb, small=True)
        yield case("matmul", [], np.matmul, [a, b])


def _reduce(f):
    def run(v, axes, kd):
        return f(v, axis=axes, keepdims=kd)
    return run


def sec_reduce(name: str, f):
    def gen():
        rng = rng_for(name)
        run = _reduce(f)
        # empty tuples, empty arrays, 0-d
        for dt in DTYPES:
            x = rand_array(rng, dt, (2, 3), edge=0.1)
            for axes, kd in [((), False), ((), True)]:
                yield case(name, [("axes", axes), ("keepdims", kd)],
                           lambda v, a=axes, k=kd: run(v, a, k), [x])
        for shape in [(0,), (0, 3), (3, 0), ()]:
            x = rand_array(rng, "float64", shape)
            for axes in [None, (0,), (-1,), ()]:
                for kd in (False, True):
                    yield case(name, [("axes", axes), ("keepdims", kd)],
                               lambda v, a=axes, k=kd: run(v, a, k), [x])
        for _ in range(250):
            dt = rng.choice(DTYPES)
            nd = rand_ndim(rng, 0, 3)
            x = rand_array(rng, dt, rand_shape(rng, nd), edge=0.08)
            axes = rand_axes(rng, nd)
            kd = rng.random() < 0.35
            yield case(name, [("axes", axes), ("keepdims", kd)],
                       lambda v, a=axes, k=kd: run(v, a, k), [x])
    return gen


def _set_where(x, m, v):
    y = x.copy()
    y[m] = v
    return y


SET_WHERE_SCALARS = [0, 1, -1, 7, 300, -129, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 2**64 - 1,
                     0.0, -0.0, 1.5, -2.5, 2.5e9, NAN, INF, 1e300, True, False]


def sec_set_where():
    rng = rng_for("set_where")
    # integer values near 2**53 and 2**63 with float 0.0: unmasked elements stay exact
    big = {
        "int64": [2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 2**63 - 2, 9007199254740993, 7],
        "uint64": [2**53 + 1, 2**63, 2**64 - 1, 2**63 + 1, 9007199254740993, 0, 18446744073709551557],
    }
    for dt, vals in big.items():
        x = make_array(dt, vals, (len(vals),))
        m = make_array("bool", [1, 0, 0, 1, 0, 0, 1], (7,))
        for v in [0.0, 1.5, 0, 2**63 - 1, -1, NAN, make_array("float64", [0.5, 1e19, 3.0], (3,)),
                  make_array("int64", [5], (1,))]:
            yield case("set_where", [], _set_where, [x, m, v])
    x8 = make_array("int8", [1, -2, 3, 4], (2, 2))
    m8 = make_array("bool", [1, 0, 0, 1], (2, 2))
    for v in [300, -129, 127, 1.9, -1.9, 1e300, True, make_array("int64", [300], (1,)),
              make_array("float64", [7.9, -7.9], (2,)), make_array("int8", [1, 2, 3], (3,)),
              make_array("int16", [], (0,)), make_array("uint8", [200], ())]:
        yield case("set_where", [], _set_where, [x8, m8, v])
    # masks of another shape
    x = rand_array(rng, "float32", (3, 4))
    for ms in [(4, 3), (3, 5), (2,), (1, 4), (3, 4, 1), (12,), ()]:
        m = rand_array(rng, "bool", ms)
        yield case("set_where", [], _set_where, [x, m, 1.0])
    # 0-d and empty
    for dt in ("int32", "float64", "bool"):
        x0 = rand_array(rng, dt, ())
        for mv in (0, 1):
            yield case("set_where", [], _set_where, [x0, make_array("bool", [mv], ()), 2])
    xe = rand_array(rng, "int16", (0, 3))
    yield case("set_where", [], _set_where, [xe, rand_array(rng, "bool", (0, 3)), 5])
    yield case("set_where", [], _set_where, [xe, rand_array(rng, "bool", (0, 3)), make_array("int16", [], (0,))])
    for _ in range(170):
        dt = rng.choice(DTYPES)
        shape = rand_shape(rng, rand_ndim(rng, 0, 3), allow0=False)
        x = rand_array(rng, dt, shape, edge=0.1)
        m = rand_array(rng, "bool", shape)
        cnt = int(m.sum())
        r = rng.random()
        if r < 0.55:
            v = rng.choice(SET_WHERE_SCALARS)
        elif r < 0.8:
            v = rand_array(rng, rng.choice(DTYPES), (cnt,), edge=0.05)
        elif r < 0.9:
            v = rand_array(rng, rng.choice(DTYPES), rng.choice([(1,), ()]), edge=0.05)
        else:
            v = rand_array(rng, rng.choice(DTYPES), (cnt + rng.choice([1, 2]),))
        yield case("set_where", [], _set_where, [x, m, v])


ARANGE_TRIPLES = [
    (0, 5, 1), (0, 0, 1), (5, 0, 1), (5, 0, -1), (0, 10, 3), (10, 0, -3), (-3, 5, 1), (-5, -1, 2),
    (0, 5, 0), (3, 3, -1), (250, 260, 3), (250, 255, 10), (-1, 0, 1), (0, 2, 1), (0, 3, 1),
    (1, 2, 1), (0, 1, 1), (1, -1, -1), (2, 0, -1), (0, 7, 7), (0, 8, 7),
    (I64_MAX - 10, I64_MAX, 3), (I64_MIN, I64_MIN + 10, 4), (I64_MIN + 5, I64_MIN, -2),
    (0, 1000, 100), (-100, 100, 37), (65530, 65540, 3), (2147483645, 2147483650, 2),
    (4294967290, 4294967300, 4), (0, 5, I64_MAX), (5, 0, I64_MIN), (9007199254740990, 9007199254740995, 1),
]


def sec_arange():
    for dt in DTYPES:
        for start, stop, step in ARANGE_TRIPLES:
            params = [("start", start), ("stop", stop), ("step", step), ("dtype", dt)]
            yield case("arange", params,
                       lambda a=start, b=stop, s=step, d=dt: np.arange(a, b, s, dtype=d), [])


def sec_mask1d():
    rng = rng_for("mask1d")
    for _ in range(140):
        dt = rng.choice(DTYPES)
        nd = rng.randrange(1, 4)
        shape = rand_shape(rng, nd)
        x = rand_array(rng, dt, shape)
        n = shape[0]
        if rng.random() < 0.08:
            n = n + rng.choice([1, -1]) if n else 1
        m = rand_array(rng, "bool", (n,))
        yield case("mask1d", [("axis", 0)], lambda v, k: v[k], [x, m])


def broadcast_partner(rng, shape, mismatch=0.06):
    """A shape that broadcasts with shape: dims dropped from the left, some set to 1."""
    s = list(shape)
    if s and rng.random() < 0.3:
        s = s[rng.randrange(len(s) + 1):]
    s = [1 if rng.random() < 0.25 else d for d in s]
    if rng.random() < 0.15 and len(s) < 3:
        s = [rng.randrange(1, 3)] + s
    if s and rng.random() < mismatch:
        j = rng.randrange(len(s))
        s[j] = s[j] + 2 if s[j] != 1 else 3
        if tuple(s[-len(shape):]) == tuple(shape):
            s[j] += 1
    return tuple(s)


WHERE_SCALARS = [0, 1, -1, 300, 2**63, 0.5, NAN, True, False]


def sec_where():
    rng = rng_for("where")
    for _ in range(240):
        shape = rand_shape(rng, rand_ndim(rng, 0, 3))
        cond = rand_array(rng, "bool", broadcast_partner(rng, shape))
        ops = [cond]
        for _k in range(2):
            if rng.random() < 0.2:
                ops.append(rng.choice(WHERE_SCALARS))
            else:
                ops.append(rand_array(rng, rng.choice(DTYPES), broadcast_partner(rng, shape), edge=0.1))
        yield case("where", [], np.where, ops)


def sec_cumulative(name: str, f):
    def gen():
        rng = rng_for(name)
        for _ in range(170):
            dt = rng.choice(DTYPES)
            nd = rand_ndim(rng, 0, 3)
            x = rand_array(rng, dt, rand_shape(rng, nd), edge=0.05, small=(name == "cumprod"))
            r = rng.random()
            if r < 0.1:
                ax = None
            elif r < 0.14 or nd == 0:
                ax = rng.choice([nd, -nd - 1, 0])
            else:
                ax = rng.randrange(-nd, nd)
            yield case(name, [("axis", ax)], lambda v, a=ax: f(v, axis=a), [x])
    return gen


def astype_source(rng, src: str, dst: str, shape):
    """Values that convert the same way on every platform (no NaN/inf/out-of-range float -> int)."""
    if src in FLOAT_DTYPES and dst != "bool" and dst not in FLOAT_DTYPES:
        lo, hi = INT_RANGES[dst]
        vals = []
        for _ in range(math.prod(shape)):
            v = rng.randrange(-40, 41) / 4
            if lo == 0:
                v = abs(v)
            vals.append(max(min(v, hi), lo))
        return make_array(src, vals, shape)
    return rand_array(rng, src, shape, edge=0.3)


def sec_astype():
    rng = rng_for("astype")
    for src in DTYPES:
        for dst in DTYPES:
            for shape in [(7,), rand_shape(rng, rand_ndim(rng, 0, 3))]:
                x = astype_source(rng, src, dst, shape)
                yield case("astype", [("dtype", dst)], lambda v, d=dst: v.astype(d), [x])


ARRAY_SECTIONS = [
    ("slice", sec_slice),
    ("take", sec_take),
    ("transpose", sec_transpose),
    ("reshape", sec_reshape),
    ("concatenate", sec_concatenate),
    ("stack", sec_stack),
    ("tensordot", sec_tensordot),
    ("matmul", sec_matmul),
    ("reduce_sum", sec_reduce("reduce_sum", np.sum)),
    ("reduce_max", sec_reduce("reduce_max", np.max)),
    ("reduce_mean", sec_reduce("reduce_mean", np.mean)),
    ("set_where", sec_set_where),
    ("arange", sec_arange),
    ("mask1d", sec_mask1d),
    ("where", sec_where),
    ("cumsum", sec_cumulative("cumsum", np.cumsum)),
    ("cumprod", sec_cumulative("cumprod", np.cumprod)),
    ("astype", sec_astype),
]

# ---------------------------------------------------------------------------
# sparse.golden.gz sections
# ---------------------------------------------------------------------------


def rand_fill(rng, dt: str):
    r = rng.random()
    if dt == "bool":
        return r < 0.2
    if dt in INT_RANGES:
        if r < 0.7:
            return 0
        lo = INT_RANGES[dt][0]
        return rng.choice([1, 7] if lo == 0 else [1, -1, 7])
    if r < 0.6:
        return 0.0
    return rng.choice([1.5, 1.5, NAN, NAN, -1.0, INF, -0.0])


def mk_coo(dt: str, shape, fill, flat_positions, values):
    sparse = _sp()
    shape = tuple(shape)
    flat = np.asarray(sorted(flat_positions), dtype=np.intp)
    if len(shape) == 0:
        coords = np.zeros((0, len(flat)), dtype=np.intp)
    else:
        coords = np.asarray(np.unravel_index(flat, shape), dtype=np.intp).reshape(len(shape), -1)
    data = make_array(dt, values, (len(flat),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sparse.COO(coords, data, shape=shape, fill_value=np.asarray(fill).astype(dt)[()],
                          has_duplicates=False, sorted=True)


def rand_coo(rng, dt: str, shape, fill=None, density=None, small=False):
    if fill is None:
        fill = rand_fill(rng, dt)
    size = math.prod(shape)
    if density is None:
        density = 0.0 if rng.random() < 0.1 else rng.random() * 0.6
    nnz = min(size, int(round(density * size)))
    pos = rng.sample(range(size), nnz)
    vals = []
    for _ in range(nnz):
        if rng.random() < 0.04:
            vals.append(fill)  # an explicitly stored fill value
        else:
            v = rand_value(rng, dt, 0.04, small)
            if dt == "bool":
                v = not fill if rng.random() < 0.85 else v
            vals.append(v)
    return mk_coo(dt, shape, fill, pos, vals)


def empty_coo(dt, shape, fill):
    return mk_coo(dt, shape, fill, [], [])


SP_SCALARS = [0, 1, -2, 3, 300, 1.5, -0.0, NAN, INF, True, False]


def sec_sparse_elemwise(name: str):
    uf = getattr(np, name)

    def gen():
        rng = rng_for(f"sparse:{name}")
        # 0-d operands, empty ones with a non-zero fill
        z = empty_coo("int64", (), 0)
        two = mk_coo("int64", (), 0, [0], [2])
        for a, b in [(z, two), (two, z), (z, make_array("int64", [2], ())), (z, 2), (2, z),
                     (empty_coo("float64", (), 1.5), two), (empty_coo("float64", (), NAN), 1.0),
                     (two, make_array("float32", [0.5], ())), (empty_coo("int8", (), 3), 300)]:
            yield sparse_case(name, [], uf, [a, b], uf)
        # sparse with dense: pydata returns a COO when func(fill, dense) is constant, an ndarray
        # when the dense operand has the sparse operand's shape, and raises otherwise
        s32 = mk_coo("int64", (3, 2), 0, [1, 4], [5, -3])
        u64 = mk_coo("uint64", (3,), 0, [0, 1], [2**64 - 2, 5])
        for a, b in [(s32, make_array("int64", [1] * 6, (3, 2))), (s32, make_array("int64", list(range(6)), (3, 2))),
                     (s32, make_array("int64", [0] * 6, (3, 2))), (s32, make_array("int64", [1, 2], (2,))),
                     (s32, make_array("int64", [1, 1], (2,))), (s32, make_array("int64", [0, 0], (2,))),
                     (s32, make_array("int64", [2, 3, 4], (3, 1))), (make_array("float64", [0.5] * 6, (3, 2)), s32),
                     (300, u64), (u64, 300), (u64, -1), (u64, make_array("uint64", [300], ())),
                     (mk_coo("float64", (2,), -0.0, [], []), 0.0), (mk_coo("float64", (2,), 0.0, [1], [INF]), NAN)]:
            yield sparse_case(name, [], uf, [a, b], uf)
        for dt in ("int64", "float64", "bool", "uint8"):
            e1 = empty_coo(dt, (2, 3), rand_fill(rng, dt) if dt != "float64" else 1.5)
            e2 = rand_coo(rng, dt, (2, 3))
            for a, b in [(e1, e2), (e2, e1), (e1, 1), (e1, make_array(dt, [1, 0, 1, 0, 1, 0], (2, 3)))]:
                yield sparse_case(name, [], uf, [a, b], uf)
        for _ in range(190):
            nd = rand_ndim(rng, 0, 3)
            shape = rand_shape(rng, nd, max_size=30)
            da = rng.choice(DTYPES)
            a = rand_coo(rng, da, shape)
            r = rng.random()
            if r < 0.45:
                db = da if rng.random() < 0.4 else rng.choice(DTYPES)
                b = rand_coo(rng, db, broadcast_partner(rng, shape, 0.04))
            elif r < 0.75:
                b = rng.choice(SP_SCALARS)
            else:
                db = da if rng.random() < 0.4 else rng.choice(DTYPES)
                b = rand_array(rng, db, broadcast_partner(rng, shape, 0.04), edge=0.05)
            ops = [a, b] if rng.random() < 0.6 else [b, a]
            yield sparse_case(name, [], uf, ops, uf)
    return gen


def sec_sparse_reduce(name: str):
    def gen():
        rng = rng_for(f"sparse:{name}")

        def run(s, axes, kd):
            return getattr(s, name)(axis=axes, keepdims=kd)

        def nprun(d, axes, kd):
            return getattr(np, name)(d, axis=axes, keepdims=kd)

        for shape in [(), (0,), (0, 3), (3, 0)]:
            for fill in (0.0, 1.5, NAN):
                s = empty_coo("float64", shape, fill)
                for axes in ([None, (), (0,)] if shape else [None, ()]):
                    for kd in (False, True):
                        p = [("axes", axes), ("keepdims", kd)]
                        yield sparse_case(name, p, lambda v, a=axes, k=kd: run(v, a, k), [s],
                                          lambda v, a=axes, k=kd: nprun(v, a, k))
        # reductions over fill values in narrow dtypes (pydata folds the fill in its own dtype)
        for s in [empty_coo("int8", (4,), 100), mk_coo("int8", (2, 3), 100, [0, 4], [1, -100]),
                  empty_coo("uint8", (4,), 7), mk_coo("uint8", (3, 4), 7, [0, 1, 3, 5], [1, 2, 3, 3]),
                  empty_coo("bool", (5,), True), empty_coo("float32", (3,), 1e30),
                  mk_coo("float32", (2, 2), 3e38, [0], [3e38]), empty_coo("int16", (3, 2), -32768),
                  mk_coo("uint64", (3,), 2**63, [1], [2**63])]:
            for axes in [None, (0,), (-1,)]:
                p = [("axes", axes), ("keepdims", False)]
                yield sparse_case(name, p, lambda v, a=axes: run(v, a, False), [s],
                                  lambda v, a=axes: nprun(v, a, False))
        for _ in range(110):
            dt = rng.choice(DTYPES)
            nd = rand_ndim(rng, 0, 3)
            s = rand_coo(rng, dt, rand_shape(rng, nd, max_size=30), small=(name == "prod"))
            axes = rand_axes(rng, nd)
            kd = rng.random() < 0.3
            p = [("axes", axes), ("keepdims", kd)]
            yield sparse_case(name, p, lambda v, a=axes, k=kd: run(v, a, k), [s],
                              lambda v, a=axes, k=kd: nprun(v, a, k))
    return gen


def sec_sparse_astype():
    rng = rng_for("sparse:astype")
    for src in DTYPES:
        for dst in DTYPES:
            shape = rand_shape(rng, rand_ndim(rng, 0, 3), max_size=24)
            if src in FLOAT_DTYPES and dst not in FLOAT_DTYPES and dst != "bool":
                # no NaN/inf/negative fills or values where the float -> int cast is platform-defined
                fill = rng.choice([0.0, 1.5, 2.0])
                s = rand_coo(rng, src, shape, fill=fill)
                d = np.abs(s.data)
                d[~np.isfinite(d)] = 1.0
                s = mk_coo(src, shape, fill, np.ravel_multi_index(s.coords, shape).tolist() if shape else
                           list(range(s.nnz)), d.tolist())
            else:
                s = rand_coo(rng, src, shape)
            yield sparse_case("astype", [("dtype", dst)], lambda v, t=dst: v.astype(t), [s],
                              lambda v, t=dst: v.astype(t))


def sec_sparse_transpose():
    rng = rng_for("sparse:transpose")
    s0 = mk_coo("float64", (), 1.5, [0], [2.0])
    for perm in [None, (), (0,)]:
        yield sparse_case("transpose", [("perm", perm)], lambda v, p=perm: v.transpose(p), [s0],
                          lambda v, p=perm: np.transpose(v, p))
    for _ in range(90):
        dt = rng.choice(DTYPES)
        nd = rng.randrange(1, 5)
        s = rand_coo(rng, dt, rand_shape(rng, nd, max_size=36))
        perm = rand_perm(rng, nd)
        yield sparse_case("transpose", [("perm", perm)], lambda v, p=perm: v.transpose(p), [s],
                          lambda v, p=perm: np.transpose(v, p))


def sec_sparse_reshape():
    rng = rng_for("sparse:reshape")
    for shape, new in RESHAPE_EDGES:
        s = rand_coo(rng, "float64", shape)
        yield sparse_case("reshape", [("shape", new)], lambda v, n=new: v.reshape(n), [s],
                          lambda v, n=new: v.reshape(n))
    for _ in range(110):
        dt = rng.choice(DTYPES)
        s = rand_coo(rng, dt, rand_shape(rng, rand_ndim(rng, 0, 4), max_size=36))
        new = rand_newshape(rng, s.size)
        yield sparse_case("reshape", [("shape", new)], lambda v, n=new: v.reshape(n), [s],
                          lambda v, n=new: v.reshape(n))


def sec_sparse_slice():
    rng = rng_for("sparse:slice")
    for n, idx in edge_index_specs():
        s = rand_coo(rng, "int64", (n,), fill=0, density=0.6)
        yield sparse_case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [s],
                          lambda v, i=idx: v[i])
    s0 = mk_coo("float64", (), NAN, [0], [2.5])
    for idx in ZERO_D_INDICES:
        yield sparse_case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [s0],
                          lambda v, i=idx: v[i])
    for _ in range(220):
        dt = rng.choice(DTYPES)
        shape = rand_shape(rng, rng.randrange(1, 4), max_size=36)
        s = rand_coo(rng, dt, shape)
        idx = rand_index(rng, shape)
        yield sparse_case("slice", [("idx", fmt_idx(idx))], lambda v, i=idx: v[i], [s],
                          lambda v, i=idx: v[i])


def sec_sparse_join(name: str):
    def gen():
        sparse = _sp()
        rng = rng_for(f"sparse:{name}")
        f = getattr(sparse, name)
        nf = getattr(np, name)
        for i in range(110):
            dts = join_dtypes(rng, i)
            nd = rng.randrange(1, 4) if name == "concatenate" else rand_ndim(rng, 0, 3)
            base = list(rand_shape(rng, nd, max_size=12))
            if name == "concatenate":
                ax = rng.choice([nd, -nd - 1]) if rng.random() < 0.05 else rng.randrange(-nd, nd)
            else:
                ax = rng.choice([nd + 1, -nd - 2]) if rng.random() < 0.05 else rng.randrange(-nd - 1, nd + 1)
            fill = 0 if rng.random() < 0.7 else rng.choice([1, NAN])
            ops = []
            for dt in dts:
                s = list(base)
                if name == "concatenate" and -nd <= ax < nd:
                    s[ax] = rng.choice([0, 1, 2, 3])
                if rng.random() < 0.04 and nd:
                    s[rng.randrange(nd)] += 1
                fl = fill if (dt in FLOAT_DTYPES or not (isinstance(fill, float) and math.isnan(fill))) else 0
                if rng.random() < 0.06:
                    fl = rand_fill(rng, dt)  # fills that differ
                ops.append(rand_coo(rng, dt, tuple(s), fill=fl))
            yield sparse_case(name, [("axis", ax)], lambda *v, a=ax: f(list(v), axis=a), ops,
                              lambda *v, a=ax: nf(v, axis=a))
    return gen


TD_RETURNS = {"auto": None, "sparse": "sparse", "dense": "dense"}


def _sp_td(a, b, pa, pb, ret):
    sparse = _sp()
    rt = {"auto": None, "sparse": sparse.COO, "dense": np.ndarray}[ret]
    return sparse.tensordot(a, b, axes=(list(pa), list(pb)), return_type=rt)


def sec_sparse_tensordot():
    rng = rng_for("sparse:tensordot")
    shapes = [(), (2,), (3,), (2, 3), (3, 2), (2, 2), (2, 3, 2), (0, 2)]
    i = 0
    for sa in shapes:
        for sb in shapes:
            for pa, pb in axis_combos(sa, sb):
                if rng.random() < 0.2:
                    continue
                da, db = TD_DTYPES[i % len(TD_DTYPES)]
                kind = ["ss", "sd", "ds"][i % 3]
                ret = ["auto", "sparse", "dense"][(i // 3) % 3]
                i += 1
                a = rand_coo(rng, da, sa, fill=0, small=True) if kind[0] == "s" else \
                    rand_array(rng, da, sa, small=True)
                b = rand_coo(rng, db, sb, fill=0, small=True) if kind[1] == "s" else \
                    rand_array(rng, db, sb, small=True)
                yield sparse_case("tensordot", [("axes_a", pa), ("axes_b", pb), ("return", ret)],
                                  lambda x, y, pa=pa, pb=pb, r=ret: _sp_td(x, y, pa, pb, r), [a, b],
                                  lambda x, y, pa=pa, pb=pb: _td(x, y, pa, pb))
    # non-zero fills, mismatches
    a = rand_coo(rng, "float64", (2, 3), fill=1.5)
    b = rand_coo(rng, "float64", (3, 2), fill=0.0)
    for x, y in [(a, b), (b.T, a.T), (a, np.ones((3, 2)))]:
        yield sparse_case("tensordot", [("axes_a", (1,)), ("axes_b", (0,)), ("return", "auto")],
                          lambda x, y: _sp_td(x, y, (1,), (0,), "auto"), [x, y],
                          lambda x, y: _td(x, y, (1,), (0,)))
    for pa, pb in [((0,), (0,)), ((0, 0), (1, 1)), ((2,), (0,)), ((-1,), (-2,))]:
        yield sparse_case("tensordot", [("axes_a", pa), ("axes_b", pb), ("return", "auto")],
                          lambda x, y, pa=pa, pb=pb: _sp_td(x, y, pa, pb, "auto"), [a.astype("float64"), b],
                          lambda x, y, pa=pa, pb=pb: _td(x, y, pa, pb))


def sec_sparse_matmul():
    rng = rng_for("sparse:matmul")
    edges = [((5,), (5,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 2)), ((2, 3, 2), (2,)),
             ((2, 1, 3, 4), (5, 4, 2)), ((2, 3), (2, 3)), ((), (3,)), ((0, 3), (3, 2)),
             ((2, 0), (0, 3)), ((3,), (4,)), ((2, 2, 3), (3, 3, 2))]
    for i, (sa, sb) in enumerate(edges):
        for kind in ("ss", "sd", "ds"):
            da, db = TD_DTYPES[i % len(TD_DTYPES)]
            a = rand_coo(rng, da, sa, fill=0, small=True) if kind[0] == "s" else rand_array(rng, da, sa, small=True)
            b = rand_coo(rng, db, sb, fill=0, small=True) if kind[1] == "s" else rand_array(rng, db, sb, small=True)
            yield sparse_case("matmul", [], lambda x, y: x @ y, [a, b], np.matmul)
    # non-zero fills
    f15 = rand_coo(rng, "float64", (2, 3), fill=1.5, density=0.5)
    fnan = rand_coo(rng, "float64", (3, 2), fill=NAN, density=0.5)
    i1 = rand_coo(rng, "int64", (3, 3), fill=1, density=0.5)
    for a, b in [(f15, rand_array(rng, "float64", (3, 2), small=True)),
                 (rand_array(rng, "float64", (2, 3), small=True), fnan), (f15, fnan), (i1, i1),
                 (mk_coo("float64", (3,), 1.5, [], []), rand_array(rng, "float64", (3,), small=True))]:
        yield sparse_case("matmul", [], lambda x, y: x @ y, [a, b], np.matmul)
    for i in range(90):
        sa, sb = rand_matmul_shapes(rng)
        if math.prod(sa) > 40 or math.prod(sb) > 40:
            continue
        da, db = rng.choice(NUMERIC), rng.choice(NUMERIC)
        kind = ["ss", "sd", "ds"][i % 3]
        fa = 0 if rng.random() < 0.93 else 1.5
        a = rand_coo(rng, da, sa, fill=fa if da in FLOAT_DTYPES else 0, small=True) if kind[0] == "s" \
            else rand_array(rng, da, sa, small=True)
        b = rand_coo(rng, db, sb, fill=0, small=True) if kind[1] == "s" else rand_array(rng, db, sb, small=True)
        yield sparse_case("matmul", [], lambda x, y: x @ y, [a, b], np.matmul)


def sec_sparse_tocsx(name: str):
    def gen():
        rng = rng_for(f"sparse:{name}")
        # duplicates summing to zero stay stored: built through from_triplets-like input
        sparse = _sp()
        t = sparse.COO(np.array([[0, 0, 1, 1, 0], [1, 1, 0, 2, 0]]), np.array([1.0, -1.0, 3.0, 0.0, 2.0]),
                       shape=(2, 3), has_duplicates=True)
        yield sparse_case(name, [], lambda v: getattr(v, name)(), [t])
        for shape in [(0, 3), (3, 0), (1, 1), (4,), (2, 2, 2), ()]:
            s = rand_coo(rng, "float64", shape, fill=0.0)
            yield sparse_case(name, [], lambda v: getattr(v, name)(), [s])
        for fill in (1.5, NAN):
            s = rand_coo(rng, "float64", (3, 3), fill=fill, density=0.4)
            yield sparse_case(name, [], lambda v: getattr(v, name)(), [s])
        for _ in range(60):
            dt = rng.choice(DTYPES)
            shape = rand_shape(rng, 2, max_size=30)
            s = rand_coo(rng, dt, shape, fill=(False if dt == "bool" else 0))
            yield sparse_case(name, [], lambda v: getattr(v, name)(), [s])
    return gen


def _from_triplets(t):
    sparse = _sp()
    return sparse.COO(t.coords, t.data, shape=t.shape,
                      fill_value=np.asarray(t.fill_value).astype(t.dtype)[()], has_duplicates=True)


def sec_sparse_from_triplets():
    rng = rng_for("sparse:from_triplets")
    fixed = [
        ("float64", (2, 3), 0.0, [[0, 0, 1, 0], [1, 1, 2, 1]], [1.0, 2.0, 3.0, 4.0]),
        ("float64", (2, 3), 1.5, [[0, 0, 1, 0], [1, 1, 2, 1]], [1.0, 2.0, 3.0, 4.0]),
        ("float64", (2, 2), NAN, [[1, 1], [0, 0]], [1.0, -1.0]),
        ("int8", (3,), 0, [[2, 2, 2, 0]], [100, 100, -50, 1]),
        ("uint8", (2,), 1, [[0, 0]], [200, 100]),
        ("bool", (2, 2), False, [[0, 0, 1], [0, 0, 1]], [True, True, False]),
        ("int64", (), 0, [[], [], []], [1, 2, 3]),
        ("float32", (4,), 0.0, [[3, 1, 3, 1, 0]], [0.5, 0.25, 0.5, -0.25, 1.0]),
        ("int64", (2, 2), 7, [[1, 0, 1, 0], [1, 1, 1, 1]], [-3, 4, 3, -4]),
    ]
    for dt, shape, fill, coords, data in fixed:
        t = Triplets(dt, shape, fill, coords, data)
        yield sparse_case("from_triplets", [("shape", shape), ("fill", fmt_scalar(fill, dt))],
                          _from_triplets, [t], lambda d: d)
    for _ in range(100):
        dt = rng.choice(DTYPES)
        nd = rand_ndim(rng, 1, 3)
        shape = rand_shape(rng, nd, max_size=24, allow0=False)
        size = math.prod(shape)
        n = rng.randrange(0, min(2 * size, 12) + 1)
        flat = [rng.randrange(size) for _ in range(n)]
        coords = [list(np.unravel_index(flat, shape)[i].tolist()) for i in range(nd)] if n else [[]] * nd
        data = [rand_value(rng, dt, 0.03) for _ in range(n)]
        fill = rand_fill(rng, dt)
        t = Triplets(dt, shape, fill, coords, data)
        yield sparse_case("from_triplets", [("shape", shape), ("fill", fmt_scalar(fill, dt))],
                          _from_triplets, [t], lambda d: d)


SPARSE_SECTIONS = [
    ("add", sec_sparse_elemwise("add")),
    ("multiply", sec_sparse_elemwise("multiply")),
    ("subtract", sec_sparse_elemwise("subtract")),
    ("maximum", sec_sparse_elemwise("maximum")),
    ("sum", sec_sparse_reduce("sum")),
    ("max", sec_sparse_reduce("max")),
    ("mean", sec_sparse_reduce("mean")),
    ("var", sec_sparse_reduce("var")),
    ("std", sec_sparse_reduce("std")),
    ("prod", sec_sparse_reduce("prod")),
    ("astype", sec_sparse_astype),
    ("transpose", sec_sparse_transpose),
    ("reshape", sec_sparse_reshape),
    ("slice", sec_sparse_slice),
    ("concatenate", sec_sparse_join("concatenate")),
    ("stack", sec_sparse_join("stack")),
    ("tensordot", sec_sparse_tensordot),
    ("matmul", sec_sparse_matmul),
    ("tocsr", sec_sparse_tocsx("tocsr")),
    ("tocsc", sec_sparse_tocsx("tocsc")),
    ("from_triplets", sec_sparse_from_triplets),
]

# ---------------------------------------------------------------------------
# the op table: parameter keys per op (used by --check too)
# ---------------------------------------------------------------------------

ARRAY_PARAMS = {
    "slice": ["idx"], "take": ["indices", "axis"], "transpose": ["perm"], "reshape": ["shape"],
    "concatenate": ["axis"], "stack": ["axis"], "tensordot": ["axes_a", "axes_b"], "matmul": [],
    "reduce_sum": ["axes", "keepdims"], "reduce_max": ["axes", "keepdims"],
    "reduce_mean": ["axes", "keepdims"], "set_where": [],
    "arange": ["start", "stop", "step", "dtype"], "mask1d": ["axis"], "where": [],
    "cumsum": ["axis"], "cumprod": ["axis"], "astype": ["dtype"],
}
SPARSE_PARAMS = {
    "add": [], "multiply": [], "subtract": [], "maximum": [],
    "sum": ["axes", "keepdims"], "max": ["axes", "keepdims"], "mean": ["axes", "keepdims"],
    "var": ["axes", "keepdims"], "std": ["axes", "keepdims"], "prod": ["axes", "keepdims"],
    "astype": ["dtype"], "transpose": ["perm"], "reshape": ["shape"], "slice": ["idx"],
    "concatenate": ["axis"], "stack": ["axis"], "tensordot": ["axes_a", "axes_b", "return"],
    "matmul": [], "tocsr": [], "tocsc": [], "from_triplets": ["shape", "fill"],
}
# value kinds: int, int|none, list, list|none, bool01, dtype, idx, return, fill (in the operand's dtype)
PARAM_KINDS = {
    "idx": "idx", "indices": "list", "axis": "int|none", "perm": "list|none", "shape": "list",
    "axes_a": "list", "axes_b": "list", "axes": "list|none", "keepdims": "bool01",
    "start": "int", "stop": "int", "step": "int", "dtype": "dtype", "return": "return",
    "fill": "fill",
}

# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def versions(kind: str) -> list[str]:
    if kind == "arrays":
        return [f"# numpy {np.__version__}"]
    import numba  # noqa: PLC0415
    import scipy  # noqa: PLC0415
    sparse = _sp()
    return [f"# sparse {sparse.__version__}", f"# numpy {np.__version__}",
            f"# scipy {scipy.__version__}", f"# numba {numba.__version__}"]


def generate(kind: str, out) -> dict[str, int]:
    sections = ARRAY_SECTIONS if kind == "arrays" else SPARSE_SECTIONS
    table = ARRAY_PARAMS if kind == "arrays" else SPARSE_PARAMS
    lines = versions(kind) + [
        f"# libdask conformance golden cases ({kind}): generated by conformance/generate_arrays.py; "
        "do not edit.",
        f"# python {platform.python_version()} on {platform.system()} {platform.machine()}",
        "# format: <op> <params> <n> <operand_1> ... <operand_n> <result>... (see conformance/README.md)",
    ]
    for op, keys in table.items():
        lines.append(f"# op {op} {','.join(keys) if keys else '-'}")
    for line in lines:
        out.write(line + "\n")
    counts: dict[str, int] = {}
    for sec, fn in sections:
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
# --check
# ---------------------------------------------------------------------------

PINT_RE = re.compile(r"^-?(0|[1-9][0-9]*)$")
LIST_RE = re.compile(r"^(\(\)|-?(0|[1-9][0-9]*)(,-?(0|[1-9][0-9]*))*)$")
IDX_ITEM_RE = re.compile(r"^(new|-?(0|[1-9][0-9]*)|(-?[0-9]*):(-?[0-9]*)(:-?[0-9]+)?)$")


def _check_i64(s: str) -> None:
    if not I64_MIN <= int(s) <= I64_MAX:
        raise ValueError(f"parameter integer {s} outside int64")


def check_param_value(kind: str, v: str, operands: list[str]) -> None:
    alts = kind.split("|")
    if "none" in alts and v == "none":
        return
    base = alts[0]
    if base == "int":
        if not PINT_RE.match(v):
            raise ValueError(f"bad int parameter {v!r}")
        _check_i64(v)
    elif base == "list":
        if not LIST_RE.match(v):
            raise ValueError(f"bad list parameter {v!r}")
        if v != "()":
            for x in v.split(","):
                _check_i64(x)
    elif base == "bool01":
        if v not in ("0", "1"):
            raise ValueError(f"bad 0/1 parameter {v!r}")
    elif base == "dtype":
        if v not in DTYPE_SET:
            raise ValueError(f"bad dtype parameter {v!r}")
    elif base == "return":
        if v not in TD_RETURNS:
            raise ValueError(f"bad return parameter {v!r}")
    elif base == "idx":
        if v == "()":
            return
        for item in v.split(","):
            m = IDX_ITEM_RE.match(item)
            if not m:
                raise ValueError(f"bad index item {item!r}")
            for part in re.split(r":", item):
                if part not in ("", "new"):
                    _check_i64(part)
    elif base == "fill":
        dt = operands[0].split(":")[1] if operands else ""
        check_array(f"{dt}:-:{v}")
    else:
        raise ValueError(f"unknown parameter kind {kind}")


def check_params(tok: str, keys: list[str], operands: list[str]) -> None:
    if tok == "-":
        if keys:
            raise ValueError(f"missing parameters {keys}")
        return
    pairs = [p.split("=", 1) for p in tok.split(";")]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"bad params {tok!r}")
    if [k for k, _ in pairs] != keys:
        raise ValueError(f"params {[k for k, _ in pairs]} but the op takes {keys}")
    for k, v in pairs:
        check_param_value(PARAM_KINDS[k], v, operands)


def check_sparse_operand(tok: str, canonical: bool = True) -> None:
    parts = tok.split(":")
    if len(parts) != 7 or parts[0] != "s":
        raise ValueError(f"bad sparse operand {tok[:80]!r}")
    _, dt, shape, fill, nnz, coords, data = parts
    check_array(f"{dt}:-:{fill}")
    if not nnz.isdigit():
        raise ValueError(f"bad nnz {nnz!r}")
    k = int(nnz)
    check_array(f"{dt}:{k}:{data}" if k else f"{dt}:0:-")
    dims = [] if shape == "-" else [int(d) for d in shape.split("x")]
    if not re.match(r"^(-|[0-9]+(x[0-9]+)*)$", shape):
        raise ValueError(f"bad shape {shape!r}")
    if len(dims) == 0 or k == 0:
        if coords != "-":
            raise ValueError("coords must be '-' for 0-d or nnz=0")
        if canonical and len(dims) == 0 and k > 1:
            raise ValueError("a 0-d operand with more than one entry")
        return
    lists = coords.split("/")
    if len(lists) != len(dims):
        raise ValueError(f"{len(lists)} coordinate lists for {len(dims)} dims")
    cols = []
    for d, lst in zip(dims, lists):
        cs = lst.split(",")
        if len(cs) != k:
            raise ValueError(f"{len(cs)} coordinates, nnz {k}")
        for c in cs:
            if not INT_RE.match(c) or not 0 <= int(c) < d:
                raise ValueError(f"coordinate {c} out of range for dim {d}")
        cols.append([int(c) for c in cs])
    if canonical:  # row-major order, no duplicates
        entries = list(zip(*cols))
        if any(entries[i] >= entries[i + 1] for i in range(len(entries) - 1)):
            raise ValueError("coordinates not in strictly increasing row-major order")


def check_any_operand(tok: str, canonical: bool = True) -> None:
    if tok.startswith("s:"):
        check_sparse_operand(tok, canonical)
    else:
        check_operand(tok)


def check_line(line: str, kind: str, table: dict) -> None:
    toks = line.split(" ")
    if len(toks) < 4 or any(t == "" for t in toks):
        raise ValueError("too few tokens or a double space")
    op, params, n = toks[0], toks[1], toks[2]
    if op not in table:
        raise ValueError(f"unknown op {op!r}")
    if not n.isdigit():
        raise ValueError(f"bad operand count {n!r}")
    k = int(n)
    ops, res = toks[3:3 + k], toks[3 + k:]
    if len(ops) != k:
        raise ValueError("fewer operands than announced")
    for o in ops:
        check_any_operand(o, canonical=(op != "from_triplets"))
        if o.startswith("s:") and kind != "sparse":
            raise ValueError("sparse operand in the arrays file")
    check_params(params, table[op], ops)
    if not res:
        raise ValueError("no result")
    if res[0].startswith("!"):
        if len(res) != 1 or not res[0][1:].isidentifier():
            raise ValueError(f"bad error result {' '.join(res)!r}")
        return
    if kind == "sparse" and op in ("tocsr", "tocsc"):
        if len(res) != 4 or not all(r.startswith("=") for r in res):
            raise ValueError("tocsr/tocsc: dense result + indptr, indices, data")
        for r in res:
            check_array(r[1:])
        if res[1].split(":")[0] != "=uint64" or res[2].split(":")[0] != "=uint64":
            raise ValueError("indptr and indices are uint64")
        return
    if kind == "sparse":
        if res[-1] == "dense":
            body = res[:-1]
        elif len(res) >= 3 and res[-2] == "sparse" and res[-1].startswith("fill="):
            body = res[:-2]
            dt = body[0][1:].split(":")[0] if body else ""
            check_array(f"{dt}:-:{res[-1][5:]}")
        else:
            raise ValueError("a sparse-file result ends in 'dense' or 'sparse fill=<v>'")
    else:
        body = res
    if len(body) != 1 or not body[0].startswith("="):
        raise ValueError(f"bad result {' '.join(res)[:80]!r}")
    check_array(body[0][1:])


def check(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("ascii")
    lines = text.split("\n")
    if lines[-1] != "":
        print("check: file does not end with a newline", file=sys.stderr)
        return 1
    lines = lines[:-1]
    m_np = re.match(r"^# numpy (2\.[0-9]+\.[0-9]+\S*)$", lines[0])
    m_sp = re.match(r"^# sparse ([0-9]+\.[0-9]+\.[0-9]+\S*)$", lines[0])
    if m_np:
        kind, table, ver = "arrays", ARRAY_PARAMS, f"numpy {m_np.group(1)}"
    elif m_sp:
        kind, table, ver = "sparse", SPARSE_PARAMS, f"sparse {m_sp.group(1)}"
        if not re.match(r"^# numpy 2\.", lines[1]):
            print(f"check: second line {lines[1]!r} is not '# numpy 2.x'", file=sys.stderr)
            return 1
    else:
        print(f"check: bad first line {lines[0]!r}", file=sys.stderr)
        return 1
    errors, cases, declared = 0, 0, None
    per: dict[str, int] = {}
    declared_per: dict[str, int] = {}
    for i, line in enumerate(lines, 1):
        if line.startswith("#"):
            dm = re.match(r"^# cases (\S+) ([0-9]+)$", line)
            if dm:
                if dm.group(1) == "total":
                    declared = int(dm.group(2))
                else:
                    declared_per[dm.group(1)] = int(dm.group(2))
            continue
        cases += 1
        per[line.split(" ", 1)[0]] = per.get(line.split(" ", 1)[0], 0) + 1
        try:
            check_line(line, kind, table)
        except (ValueError, ArithmeticError, IndexError) as e:
            errors += 1
            if errors <= 20:
                print(f"check: line {i}: {e}: {line[:200]}", file=sys.stderr)
    if declared is not None and declared != cases:
        print(f"check: {cases} cases but the file declares {declared}", file=sys.stderr)
        errors += 1
    for sec, n in declared_per.items():
        if per.get(sec, 0) != n:
            print(f"check: section {sec}: {per.get(sec, 0)} cases, declared {n}", file=sys.stderr)
            errors += 1
    missing = [op for op in table if per.get(op, 0) == 0]
    if missing:
        print(f"check: no cases for {missing}", file=sys.stderr)
        errors += 1
    print(f"check: {path}: {kind}, {ver}, {cases} cases, {errors} errors", file=sys.stderr)
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", nargs="?", choices=["arrays", "sparse"], help="which golden file")
    ap.add_argument("--out", default="-", help="where to write the golden text (default stdout)")
    ap.add_argument("--check", metavar="FILE", help="validate FILE instead of generating")
    ap.add_argument("--verbose", action="store_true",
                    help="list skipped cases (and, for sparse, differences from NumPy) on stderr")
    args = ap.parse_args()
    if args.check:
        return check(args.check)
    if args.kind is None:
        ap.error("say which file: arrays or sparse")
    if int(np.__version__.split(".")[0]) < 2:
        print(f"numpy 2.x needed, have {np.__version__}", file=sys.stderr)
        return 1
    if args.out == "-":
        counts = generate(args.kind, sys.stdout)
    else:
        with open(args.out, "w", encoding="ascii", newline="\n") as f:
            counts = generate(args.kind, f)
    for sec, n in counts.items():
        extra = f"  ({len(DIFFS[sec])} differ from NumPy)" if sec in DIFFS else ""
        print(f"{sec:>17} {n:7d} cases{extra}", file=sys.stderr)
    print(f"{'total':>17} {sum(counts.values()):7d} cases", file=sys.stderr)
    for reason, n in sorted(SKIPS.items()):
        print(f"  skipped {n:6d}: {reason}", file=sys.stderr)
    for note, n in sorted(NOTES.items()):
        print(f"  note    {n:6d}: {note}", file=sys.stderr)
    if args.verbose:
        for line in SKIPPED_CASES:
            print(f"  skipped: {line}", file=sys.stderr)
        for op, lst in DIFFS.items():
            for d in lst:
                print(f"  differs: {d}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
