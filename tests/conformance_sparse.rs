//! pydata/sparse conformance: replays every case pydata/sparse 0.19 (and scipy, for CSR/CSC)
//! recorded in tests/conformance/sparse.golden.gz (made by `conformance/generate_arrays.py
//! sparse`; format and ops in conformance/README.md) through the library's sparse API — COO
//! arrays built from the recorded triplets, dense operands as blocks, Python scalars as weak
//! scalars — and compares dtype, shape and values (integers exactly, floats bit-exact except
//! sums, products, means, variances and tensor products, within a summation bound), the fill
//! value of a sparse result, whether the result is sparse or dense, the CSR/CSC arrays, or
//! that the call fails where pydata raised.
//!
//! pydata/sparse has bugs (README's list). Where pydata is wrong and NumPy is right, the
//! library must give NumPy's answer: such a case is compared with a naive dense evaluation
//! of the op written here (on the densified operands; it never calls the library) and counted
//! under a `pydata-bug-*` rule of tests/conformance/allowed.txt, each checked narrowly (only
//! the cases the bug concerns, only when the library matches NumPy). Deliberate differences
//! of the library are `pydata-*` rules too. Anything else must match pydata.
//!
//! pydata returns a dense array where sparse op dense cannot stay sparse: the library does so
//! under its densify policy, which this replay turns on. One summary line; the differences
//! grouped by cause with three examples each (`CONFORMANCE_ALL=1`: every one;
//! `CONFORMANCE_SHOW_RULE=<rule>`: the cases a rule allowed).

mod common;
mod golden;

use dask::array::{apply_ufunc, Operand};
use dask::sparse::{self, Compressed, Coo, ReturnType};
use dask::ufunc::ReduceOp;
use dask::value::{Index, Scalar};
use dask::{Buffer, DType};
use golden::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

// ---- the cases --------------------------------------------------------------------------------

/// What kind of array pydata returned.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A COO array with this fill value.
    Sparse(Num),
    /// A NumPy array or scalar.
    Dense,
}

#[derive(Debug)]
enum Expect {
    Error(String),
    Value {
        arr: Arr,
        kind: Option<Kind>,
        /// tocsr/tocsc: indptr, indices, data.
        csr: Option<Box<[Arr; 3]>>,
    },
}

#[derive(Debug)]
struct Case {
    line_no: usize,
    line: String,
    op: String,
    params: BTreeMap<String, String>,
    operands: Vec<Opnd>,
    expect: Expect,
}

fn parse_case(line_no: usize, line: &str) -> Case {
    let t: Vec<&str> = line.split(' ').collect();
    let params: BTreeMap<String, String> = if t[1] == "-" {
        BTreeMap::new()
    } else {
        t[1].split(';')
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("key=value");
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let n: usize = t[2].parse().expect("operand count");
    let operands = t[3..3 + n].iter().map(|o| parse_operand(o)).collect();
    let rest = &t[3 + n..];
    let expect = if let Some(e) = rest[0].strip_prefix('!') {
        Expect::Error(e.to_string())
    } else {
        let arr = parse_arr(rest[0].strip_prefix('=').expect("=result"));
        let mut kind = None;
        let mut csr = None;
        if t[0] == "tocsr" || t[0] == "tocsc" {
            let a = |k: usize| parse_arr(rest[k].strip_prefix('=').expect("=array"));
            csr = Some(Box::new([a(1), a(2), a(3)]));
        } else {
            kind = Some(match rest.get(1).copied() {
                Some("sparse") => {
                    let f = rest[2].strip_prefix("fill=").expect("fill=");
                    Kind::Sparse(parse_num(f, arr.dtype))
                }
                Some("dense") => Kind::Dense,
                other => panic!("line {line_no}: result kind {other:?}"),
            });
        }
        Expect::Value { arr, kind, csr }
    };
    Case {
        line_no,
        line: line.to_string(),
        op: t[0].to_string(),
        params,
        operands,
        expect,
    }
}

impl Case {
    fn param(&self, k: &str) -> &str {
        self.params
            .get(k)
            .unwrap_or_else(|| panic!("line {}: no parameter {k}", self.line_no))
    }
}

/// A recorded integer list: `none`, `()` (empty) or integers joined by `,`.
fn int_list(s: &str) -> Option<Vec<i64>> {
    match s {
        "none" => None,
        "()" => Some(vec![]),
        _ => Some(s.split(',').map(|v| v.parse().expect("integer")).collect()),
    }
}

/// Axis `a` of an `nd`-d array as a binding passes it (negative counts from the end); one
/// still out of range is passed as an impossible axis for the library to reject.
fn norm_axis(a: i64, nd: usize) -> usize {
    let v = if a < 0 { a + nd as i64 } else { a };
    if v < 0 {
        usize::MAX
    } else {
        v as usize
    }
}

// ---- the rules --------------------------------------------------------------------------------

/// The rules of allowed.txt this replay implements. `saturating-cast` and
/// `float32-var-in-float64` are the ufunc replay's (the library's float->int cast, float32
/// moments in float64), the `pydata-*` ones this replay's own.
const RULES: &[&str] = &[
    "saturating-cast",
    "pydata-bug-uint64-python-int",
    "pydata-bug-reduce-fill-dtype",
    "pydata-bug-empty-reduction",
    "pydata-bug-negative-step-slice",
    "pydata-bug-product-skips-inf-times-zero",
    "sparse-products-skip-implicit-zeros",
    "sparse-fill-signed-zero",
    "sparse-stacked-matmul-dense",
    "pydata-bug-tensordot-0d-return-type",
    "pydata-bug-matmul-vector-stacked",
    "pydata-mixed-broadcast",
    "pydata-full-reduction-dense",
    "pydata-index-0d-sparse",
    "pydata-canonical-no-stored-fill",
    "pydata-0d-fill-is-value",
    "pydata-vector-dot-dense",
    "pydata-scipy-toarray-negative-zero",
    "pydata-float32-mean-in-float64",
    "float32-var-in-float64",
];

fn allowed_rules() -> Vec<String> {
    allowed_rule_names()
        .into_iter()
        .filter(|rule| {
            // The other replays' rules are theirs; a pydata rule must be one implemented here.
            assert!(
                !rule.starts_with("pydata-") || RULES.contains(&rule.as_str()),
                "allowed.txt names rule '{rule}' this replay does not implement"
            );
            RULES.contains(&rule.as_str())
        })
        .collect()
}

// ---- numbers ----------------------------------------------------------------------------------

fn fnum(v: &Num) -> f64 {
    match v {
        Num::I(i) => *i as f64,
        Num::F(f) => *f,
    }
}

fn is_signed(d: DType) -> bool {
    matches!(d, DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64)
}

fn is_int(d: DType) -> bool {
    !is_float(d) && d != DType::Bool
}

/// `i` wrapped into integer dtype `d` (bool: non-zero).
fn wrap(i: i128, d: DType) -> i128 {
    match d {
        DType::Bool => (i != 0) as i128,
        DType::Int8 => i as i8 as i128,
        DType::UInt8 => i as u8 as i128,
        DType::Int16 => i as i16 as i128,
        DType::UInt16 => i as u16 as i128,
        DType::Int32 => i as i32 as i128,
        DType::UInt32 => i as u32 as i128,
        DType::Int64 => i as i64 as i128,
        DType::UInt64 => i as u64 as i128,
        _ => unreachable!("wrap to {d:?}"),
    }
}

/// `np.result_type` of two array dtypes.
fn promote(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    match (a, b) {
        (Bool, x) | (x, Bool) => x,
        (Float64, _) | (_, Float64) => Float64,
        (Float32, x) | (x, Float32) => {
            if x.itemsize() <= 2 {
                Float32
            } else {
                Float64
            }
        }
        _ if is_signed(a) == is_signed(b) => {
            if a.itemsize() >= b.itemsize() {
                a
            } else {
                b
            }
        }
        _ => {
            let (s, u) = if is_signed(a) { (a, b) } else { (b, a) };
            if s.itemsize() > u.itemsize() {
                s
            } else {
                match u.itemsize() {
                    1 => Int16,
                    2 => Int32,
                    4 => Int64,
                    _ => Float64,
                }
            }
        }
    }
}

/// NumPy's cast of one value (float -> int only for values in range).
fn cast_num(v: Num, to: DType) -> Num {
    match (v, to) {
        (Num::I(i), DType::Bool) => Num::I((i != 0) as i128),
        (Num::F(f), DType::Bool) => Num::I((f != 0.0) as i128),
        (Num::I(i), DType::Float64) => Num::F(i as f64),
        (Num::I(i), DType::Float32) => Num::F(i as f32 as f64),
        (Num::F(f), DType::Float64) => Num::F(f),
        (Num::F(f), DType::Float32) => Num::F(f as f32 as f64),
        (Num::I(i), d) => Num::I(wrap(i, d)),
        (Num::F(f), d) => Num::I(wrap(f as i128, d)),
    }
}

/// `v` rounded to float dtype `d`.
fn round_to(v: f64, d: DType) -> f64 {
    if d == DType::Float32 {
        v as f32 as f64
    } else {
        v
    }
}

/// A binary op on two values already of dtype `t`, in `t`'s arithmetic.
fn arith(op: &str, a: Num, b: Num, t: DType) -> Num {
    match (a, b) {
        (Num::I(x), Num::I(y)) => {
            let r = match (op, t) {
                ("add", DType::Bool) => x | y,
                ("multiply", DType::Bool) => x & y,
                ("maximum", _) => x.max(y),
                ("add", _) => x.wrapping_add(y),
                ("subtract", _) => x.wrapping_sub(y),
                ("multiply", _) => x.wrapping_mul(y),
                _ => unreachable!("op {op}"),
            };
            Num::I(wrap(r, t))
        }
        (Num::F(x), Num::F(y)) => {
            // One f64 operation rounded once to float32 is float32's own operation.
            let r = match op {
                "add" => x + y,
                "subtract" => x - y,
                "multiply" => x * y,
                "maximum" if x.is_nan() || y.is_nan() => f64::NAN,
                "maximum" => {
                    if x >= y {
                        x
                    } else {
                        y
                    }
                }
                _ => unreachable!("op {op}"),
            };
            Num::F(round_to(r, t))
        }
        _ => unreachable!("mixed values"),
    }
}

fn scalar_of(v: Num, d: DType) -> Scalar {
    match v {
        Num::I(i) if d == DType::Bool => Scalar::Bool(i != 0),
        // uint64 beyond i64: the same 64 bits (to_element casts back with `as u64`).
        Num::I(i) => Scalar::Int(i as i64),
        Num::F(f) => Scalar::Float(f),
    }
}

/// The fill value of `c`: exactly, from the dense value at a position that is not stored
/// when there is one; else as `fill_value()` gives it (a float for uint64 fills past int64,
/// where that accessor is inexact).
fn fill_num(c: &Coo, dense: &Arr) -> Num {
    let stored = c.linear();
    if let Some(free) =
        (0..dense.values.len()).find(|&i| stored.binary_search(&(i as u64)).is_err())
    {
        return dense.values[free];
    }
    let d = c.dtype();
    match c.fill_value() {
        Scalar::Bool(b) => Num::I(b as i128),
        Scalar::Int(i) if d == DType::UInt64 => Num::I(i as u64 as i128),
        Scalar::Int(i) => Num::I(i as i128),
        Scalar::Float(f) => Num::F(f),
    }
}

/// A fill value against the recorded one (a float read of an integer fill compares as
/// float64, the accessor's precision).
fn fill_matches(got: &Num, want: &Num, tol: Tol, d: DType) -> bool {
    match (got, want) {
        (Num::F(g), Num::I(w)) if !is_float(d) => *g == *w as f64,
        _ => num_matches(got, want, tol, d),
    }
}

// ---- dense references (NumPy's answers, written out) --------------------------------------------

fn size(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * shape[k + 1];
    }
    s
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0usize; shape.len()];
    for k in (0..shape.len()).rev() {
        if shape[k] > 0 {
            idx[k] = i % shape[k];
            i /= shape[k];
        }
    }
    idx
}

fn densify(s: &Sp) -> Arr {
    let n = size(&s.shape);
    let mut values = vec![s.fill; n];
    let st = strides(&s.shape);
    for (e, v) in s.data.iter().enumerate() {
        let l: usize = (0..s.shape.len())
            .map(|a| s.coords[a][e] as usize * st[a])
            .sum();
        values[l] = *v;
    }
    Arr {
        dtype: s.dtype,
        shape: s.shape.clone(),
        values,
    }
}

fn dense_operand(o: &Opnd) -> Option<Arr> {
    match o {
        Opnd::Arr(a) => Some(a.clone()),
        Opnd::Sparse(s) => Some(densify(s)),
        Opnd::Scalar(_) | Opnd::BigInt(_) => None,
    }
}

/// Largest |finite value| of an operand (its fill too when some element is not stored).
fn max_abs(o: &Opnd) -> f64 {
    dense_operand(o)
        .map(|a| {
            a.values
                .iter()
                .map(fnum)
                .filter(|v| v.is_finite())
                .fold(0.0f64, |m, v| m.max(v.abs()))
        })
        .unwrap_or(0.0)
}

fn broadcast(shapes: &[&[usize]]) -> Result<Vec<usize>, String> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    for s in shapes {
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[nd - s.len() + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return Err("ValueError".into());
            }
        }
    }
    Ok(out)
}

/// Element of `a` (broadcast to `shape`) at the result's multi-index `idx`.
fn at_broadcast(a: &Arr, shape: &[usize], idx: &[usize]) -> Num {
    let lead = shape.len() - a.shape.len();
    let st = strides(&a.shape);
    let l: usize = (0..a.shape.len())
        .map(|k| {
            if a.shape[k] == 1 {
                0
            } else {
                idx[lead + k] * st[k]
            }
        })
        .sum();
    a.values[l]
}

enum ROp {
    A(Arr),
    S(Scalar),
}

/// NumPy's `np.<op>(a, b)` on dense arrays and Python scalars (NEP 50).
fn ref_binary(op: &str, args: &[ROp]) -> Result<Arr, String> {
    let mut t: Option<DType> = None;
    for a in args {
        if let ROp::A(x) = a {
            t = Some(t.map_or(x.dtype, |d| promote(d, x.dtype)));
        }
    }
    let mut t = t.expect("an array operand");
    for a in args {
        match a {
            ROp::S(Scalar::Int(_)) if t == DType::Bool => t = DType::Int64,
            ROp::S(Scalar::Float(_)) if !is_float(t) => t = DType::Float64,
            _ => {}
        }
    }
    for a in args {
        if let ROp::S(Scalar::Int(i)) = a {
            if is_int(t) && wrap(*i as i128, t) != *i as i128 {
                return Err("OverflowError".into());
            }
        }
    }
    if op == "subtract" && t == DType::Bool {
        return Err("TypeError".into());
    }
    let shapes: Vec<&[usize]> = args
        .iter()
        .filter_map(|a| match a {
            ROp::A(x) => Some(x.shape.as_slice()),
            ROp::S(_) => None,
        })
        .collect();
    let shape = broadcast(&shapes)?;
    let values = (0..size(&shape))
        .map(|i| {
            let idx = unravel(i, &shape);
            let v: Vec<Num> = args
                .iter()
                .map(|a| match a {
                    ROp::A(x) => cast_num(at_broadcast(x, &shape, &idx), t),
                    ROp::S(Scalar::Int(s)) => cast_num(Num::I(*s as i128), t),
                    ROp::S(Scalar::Bool(b)) => cast_num(Num::I(*b as i128), t),
                    ROp::S(Scalar::Float(f)) => cast_num(Num::F(*f), t),
                })
                .collect();
            arith(op, v[0], v[1], t)
        })
        .collect();
    Ok(Arr {
        dtype: t,
        shape,
        values,
    })
}

/// Normalizes NumPy axes (AxisError for out of range, ValueError for duplicates).
fn np_axes(axes: &[i64], nd: usize) -> Result<Vec<usize>, String> {
    let mut out: Vec<usize> = Vec::new();
    for &a in axes {
        let v = if a < 0 { a + nd as i64 } else { a };
        if v < 0 || v >= nd as i64 {
            return Err("AxisError".into());
        }
        if out.contains(&(v as usize)) {
            return Err("ValueError".into());
        }
        out.push(v as usize);
    }
    Ok(out)
}

/// `np.<op>(x, axis=axes, keepdims=keepdims)` (ddof 0).
fn ref_reduce(op: &str, x: &Arr, axes: Option<&[i64]>, keepdims: bool) -> Result<Arr, String> {
    let nd = x.shape.len();
    let axes = match axes {
        None => (0..nd).collect(),
        Some(a) => np_axes(a, nd)?,
    };
    let reduced: Vec<bool> = (0..nd).map(|k| axes.contains(&k)).collect();
    let m: usize = (0..nd)
        .filter(|&k| reduced[k])
        .map(|k| x.shape[k])
        .product();
    let kept: Vec<usize> = (0..nd)
        .filter(|&k| !reduced[k])
        .map(|k| x.shape[k])
        .collect();
    if op == "max" && m == 0 {
        return Err("ValueError".into());
    }
    let d = x.dtype;
    let out_dtype = match op {
        "sum" | "prod" if d == DType::Bool || is_signed(d) => DType::Int64,
        "sum" | "prod" if is_int(d) => DType::UInt64,
        "mean" | "var" | "std" if d != DType::Float32 => DType::Float64,
        _ => d,
    };
    let mut groups: Vec<Vec<Num>> = vec![Vec::new(); size(&kept)];
    let kst = strides(&kept);
    for (i, v) in x.values.iter().enumerate() {
        let idx = unravel(i, &x.shape);
        let g: usize = (0..nd)
            .filter(|&k| !reduced[k])
            .zip(&kst)
            .map(|(k, s)| idx[k] * s)
            .sum();
        groups[g].push(*v);
    }
    // Float sums accumulate in the output's precision (float32 in float32, as NumPy's).
    let fsum = |vals: &[f64], t: DType| vals.iter().fold(0.0, |acc, &v| round_to(acc + v, t));
    let values = groups
        .iter()
        .map(|g| match op {
            "sum" | "prod" if !is_float(out_dtype) => {
                let mut acc: i128 = if op == "sum" { 0 } else { 1 };
                for v in g {
                    let Num::I(i) = v else { unreachable!() };
                    acc = if op == "sum" {
                        acc.wrapping_add(*i)
                    } else {
                        acc.wrapping_mul(*i)
                    };
                }
                Num::I(wrap(acc, out_dtype))
            }
            "sum" => Num::F(fsum(&g.iter().map(fnum).collect::<Vec<_>>(), out_dtype)),
            "prod" => Num::F(
                g.iter()
                    .fold(1.0, |acc, v| round_to(acc * fnum(v), out_dtype)),
            ),
            "max" => {
                if is_float(d) {
                    Num::F(g.iter().map(fnum).fold(f64::NEG_INFINITY, |a, v| {
                        if a.is_nan() || v.is_nan() {
                            f64::NAN
                        } else {
                            a.max(v)
                        }
                    }))
                } else {
                    *g.iter()
                        .max_by_key(|v| match v {
                            Num::I(i) => *i,
                            Num::F(_) => unreachable!(),
                        })
                        .expect("non-empty")
                }
            }
            "mean" | "var" | "std" => {
                let vals: Vec<f64> = g.iter().map(|v| round_to(fnum(v), out_dtype)).collect();
                let n = vals.len() as f64;
                let mean = round_to(fsum(&vals, out_dtype) / n, out_dtype);
                if op == "mean" {
                    return Num::F(mean);
                }
                let sq: Vec<f64> = vals
                    .iter()
                    .map(|v| {
                        let dv = round_to(v - mean, out_dtype);
                        round_to(dv * dv, out_dtype)
                    })
                    .collect();
                let var = round_to(fsum(&sq, out_dtype) / n, out_dtype);
                Num::F(if op == "var" {
                    var
                } else {
                    round_to(var.sqrt(), out_dtype)
                })
            }
            _ => unreachable!("reduction {op}"),
        })
        .collect();
    let shape = if keepdims {
        (0..nd)
            .map(|k| if reduced[k] { 1 } else { x.shape[k] })
            .collect()
    } else {
        kept
    };
    Ok(Arr {
        dtype: out_dtype,
        shape,
        values,
    })
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Slice(Option<i64>, Option<i64>, Option<i64>),
    At(i64),
    New,
}

fn parse_idx(spec: &str) -> Vec<Item> {
    if spec == "()" {
        return vec![];
    }
    let opt = |s: &str| {
        if s.is_empty() {
            None
        } else {
            Some(s.parse::<i64>().expect("bound"))
        }
    };
    spec.split(',')
        .map(|it| {
            if it == "new" {
                Item::New
            } else if it.contains(':') {
                let p: Vec<&str> = it.split(':').collect();
                Item::Slice(opt(p[0]), opt(p[1]), p.get(2).and_then(|s| opt(s)))
            } else {
                Item::At(it.parse().expect("index"))
            }
        })
        .collect()
}

/// Python's `slice(start, stop, step).indices(n)`, as the positions taken.
fn py_slice(n: usize, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Vec<usize> {
    let n = n as i128;
    let step = step.unwrap_or(1) as i128;
    let step = step.max(-(i64::MAX as i128));
    let adjust = |v: Option<i64>, default: i128| match v {
        None => default,
        Some(v) => {
            let mut v = v as i128;
            if v < 0 {
                v += n;
                if v < 0 {
                    v = if step < 0 { -1 } else { 0 };
                }
            } else if v >= n {
                v = if step < 0 { n - 1 } else { n };
            }
            v
        }
    };
    let (start, stop) = if step < 0 {
        (adjust(start, n - 1), adjust(stop, -1))
    } else {
        (adjust(start, 0), adjust(stop, n))
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    out
}

/// NumPy's `x[idx]` (basic indexing).
fn ref_slice(x: &Arr, spec: &str) -> Result<Arr, String> {
    let items = parse_idx(spec);
    let consumed = items.iter().filter(|i| !matches!(i, Item::New)).count();
    if consumed > x.shape.len() {
        return Err("IndexError".into());
    }
    // Per source axis the positions taken, and the result's shape.
    let mut picks: Vec<Vec<usize>> = Vec::new();
    let mut shape = Vec::new();
    let mut axis = 0;
    for it in &items {
        match *it {
            Item::New => shape.push(1),
            Item::At(i) => {
                let n = x.shape[axis] as i64;
                let j = if i < 0 {
                    i as i128 + n as i128
                } else {
                    i as i128
                };
                if j < 0 || j >= n as i128 {
                    return Err("IndexError".into());
                }
                picks.push(vec![j as usize]);
                axis += 1;
            }
            Item::Slice(a, b, c) => {
                if c == Some(0) {
                    return Err("ValueError".into());
                }
                let p = py_slice(x.shape[axis], a, b, c);
                shape.push(p.len());
                picks.push(p);
                axis += 1;
            }
        }
    }
    for &n in &x.shape[axis..] {
        picks.push((0..n).collect());
        shape.push(n);
    }
    let lens: Vec<usize> = picks.iter().map(|p| p.len()).collect();
    let st = strides(&x.shape);
    let values = (0..size(&lens))
        .map(|i| {
            let idx = unravel(i, &lens);
            let l: usize = idx
                .iter()
                .enumerate()
                .map(|(a, &k)| picks[a][k] * st[a])
                .sum();
            x.values[l]
        })
        .collect();
    Ok(Arr {
        dtype: x.dtype,
        shape,
        values,
    })
}

/// Sum of products in dtype `t` (integers wrapping, floats in float64 rounded once, bool or).
fn dot_values(pairs: impl Iterator<Item = (Num, Num)>, t: DType) -> Num {
    if is_float(t) {
        let s: f64 = pairs.map(|(a, b)| fnum(&a) * fnum(&b)).sum();
        Num::F(round_to(s, t))
    } else {
        let mut acc: i128 = 0;
        for (a, b) in pairs {
            let (Num::I(x), Num::I(y)) = (a, b) else {
                unreachable!()
            };
            acc = if t == DType::Bool {
                acc | (x & y)
            } else {
                acc.wrapping_add(x.wrapping_mul(y))
            };
        }
        Num::I(wrap(acc, t))
    }
}

/// `np.tensordot(a, b, axes=(axes_a, axes_b))`.
fn ref_tensordot(a: &Arr, b: &Arr, axes_a: &[i64], axes_b: &[i64]) -> Result<Arr, String> {
    if axes_a.len() != axes_b.len() {
        return Err("ValueError".into());
    }
    let norm = |ax: &[i64], nd: usize| -> Result<Vec<usize>, String> {
        ax.iter()
            .map(|&x| {
                let v = if x < 0 { x + nd as i64 } else { x };
                if v < 0 || v >= nd as i64 {
                    Err("IndexError".to_string())
                } else {
                    Ok(v as usize)
                }
            })
            .collect()
    };
    let (xa, xb) = (norm(axes_a, a.shape.len())?, norm(axes_b, b.shape.len())?);
    if xa.iter().zip(&xb).any(|(&i, &j)| a.shape[i] != b.shape[j]) {
        return Err("ValueError".into());
    }
    let t = promote(a.dtype, b.dtype);
    let free_a: Vec<usize> = (0..a.shape.len()).filter(|k| !xa.contains(k)).collect();
    let free_b: Vec<usize> = (0..b.shape.len()).filter(|k| !xb.contains(k)).collect();
    let con: Vec<usize> = xa.iter().map(|&k| a.shape[k]).collect();
    let shape: Vec<usize> = free_a
        .iter()
        .map(|&k| a.shape[k])
        .chain(free_b.iter().map(|&k| b.shape[k]))
        .collect();
    let (sa, sb) = (strides(&a.shape), strides(&b.shape));
    let values = (0..size(&shape))
        .map(|i| {
            let idx = unravel(i, &shape);
            let (ia, ib) = idx.split_at(free_a.len());
            let base_a: usize = free_a.iter().zip(ia).map(|(&k, &v)| v * sa[k]).sum();
            let base_b: usize = free_b.iter().zip(ib).map(|(&k, &v)| v * sb[k]).sum();
            let pairs = (0..size(&con)).map(|c| {
                let ci = unravel(c, &con);
                let la = base_a + xa.iter().zip(&ci).map(|(&k, &v)| v * sa[k]).sum::<usize>();
                let lb = base_b + xb.iter().zip(&ci).map(|(&k, &v)| v * sb[k]).sum::<usize>();
                (cast_num(a.values[la], t), cast_num(b.values[lb], t))
            });
            dot_values(pairs, t)
        })
        .collect();
    Ok(Arr {
        dtype: t,
        shape,
        values,
    })
}

/// `np.matmul(a, b)`: 1-d operands promoted to matrices, batch axes broadcast.
fn ref_matmul(a: &Arr, b: &Arr) -> Result<Arr, String> {
    if a.shape.is_empty() || b.shape.is_empty() {
        return Err("ValueError".into());
    }
    let (a1, b1) = (a.shape.len() == 1, b.shape.len() == 1);
    let ash: Vec<usize> = if a1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let bsh: Vec<usize> = if b1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (m, k) = (ash[ash.len() - 2], ash[ash.len() - 1]);
    let (k2, n) = (bsh[bsh.len() - 2], bsh[bsh.len() - 1]);
    if k != k2 {
        return Err("ValueError".into());
    }
    let batch_a = &ash[..ash.len() - 2];
    let batch_b = &bsh[..bsh.len() - 2];
    let batch = broadcast(&[batch_a, batch_b])?;
    let t = promote(a.dtype, b.dtype);
    let aa = Arr {
        dtype: a.dtype,
        shape: ash.clone(),
        values: a.values.clone(),
    };
    let bb = Arr {
        dtype: b.dtype,
        shape: bsh.clone(),
        values: b.values.clone(),
    };
    let mut full = batch.clone();
    full.extend([m, n]);
    let values: Vec<Num> = (0..size(&full))
        .map(|i| {
            let idx = unravel(i, &full);
            let (bi, mn) = idx.split_at(batch.len());
            let pairs = (0..k).map(|kk| {
                let mut ia: Vec<usize> = bi.to_vec();
                ia.extend([mn[0], kk]);
                let mut ib: Vec<usize> = bi.to_vec();
                ib.extend([kk, mn[1]]);
                let mut sa = batch.clone();
                sa.extend([m, k]);
                let mut sb = batch.clone();
                sb.extend([k, n]);
                (
                    cast_num(at_broadcast(&aa, &sa, &ia), t),
                    cast_num(at_broadcast(&bb, &sb, &ib), t),
                )
            });
            dot_values(pairs, t)
        })
        .collect();
    let mut shape = batch;
    if !a1 {
        shape.push(m);
    }
    if !b1 {
        shape.push(n);
    }
    Ok(Arr {
        dtype: t,
        shape,
        values,
    })
}

// ---- running a case through the library ---------------------------------------------------------

/// What the library gave: the dense value, whether it is sparse (and its fill), and for
/// tocsr/tocsc the compressed arrays.
#[derive(Debug)]
struct Got {
    arr: Arr,
    kind: Kind,
    csr: Option<(Vec<usize>, Vec<usize>, Arr)>,
}

fn arr_of(b: &Buffer) -> Arr {
    Arr {
        dtype: b.dtype(),
        shape: b.shape().to_vec(),
        values: values_of(b),
    }
}

fn got_sparse(c: &Coo) -> Result<Got, String> {
    let arr = arr_of(&c.to_dense().map_err(|e| e.to_string())?);
    Ok(Got {
        kind: Kind::Sparse(fill_num(c, &arr)),
        arr,
        csr: None,
    })
}

fn got_of(o: Operand) -> Result<Got, String> {
    match o {
        Operand::Sparse(c) => got_sparse(&c),
        Operand::Block(b) => Ok(Got {
            arr: arr_of(&b),
            kind: Kind::Dense,
            csr: None,
        }),
        // A lazy chunked result (stacked products): computed, dense.
        Operand::Array(a) => Ok(Got {
            arr: arr_of(&a.compute(common::client()).map_err(|e| e.to_string())?),
            kind: Kind::Dense,
            csr: None,
        }),
        other => Err(format!("unexpected result operand {other:?}")),
    }
}

/// A COO array of the recorded triplets, with `fill`, in `shape`.
fn coo_with(sp: &Sp, shape: &[usize], fill: Num) -> Result<Coo, String> {
    let flat: Vec<u64> = sp.coords.iter().flatten().copied().collect();
    let data = buffer_of(&Arr {
        dtype: sp.dtype,
        shape: vec![sp.data.len()],
        values: sp.data.clone(),
    });
    Coo::from_triplets(shape, &flat, &data, scalar_of(fill, sp.dtype))
        .map_err(|e| format!("building the operand: {e}"))
}

fn coo_of(sp: &Sp) -> Result<Coo, String> {
    coo_with(sp, &sp.shape, sp.fill)
}

fn operand_of(o: &Opnd) -> Result<Operand, String> {
    Ok(match o {
        Opnd::Sparse(s) => Operand::Sparse(coo_of(s)?),
        Opnd::Arr(a) => Operand::Block(buffer_of(a)),
        Opnd::Scalar(s) => Operand::Scalar(*s),
        Opnd::BigInt(_) => return Err("a Python integer past int64".into()),
    })
}

fn sparse_operand(o: &Opnd) -> &Sp {
    match o {
        Opnd::Sparse(s) => s,
        other => panic!("a sparse operand expected, not {other:?}"),
    }
}

fn reduce_op(name: &str) -> ReduceOp {
    match name {
        "sum" => ReduceOp::Sum,
        "prod" => ReduceOp::Prod,
        "max" => ReduceOp::Max,
        "mean" => ReduceOp::Mean,
        "var" => ReduceOp::Var { ddof: 0.0 },
        "std" => ReduceOp::Std { ddof: 0.0 },
        other => panic!("reduction {other}"),
    }
}

fn to_index(items: &[Item]) -> Vec<Index> {
    items
        .iter()
        .map(|it| match *it {
            Item::New => Index::NewAxis,
            Item::At(i) => Index::At(i),
            Item::Slice(a, b, c) => Index::Slice(a, b, c.unwrap_or(1)),
        })
        .collect()
}

fn run(case: &Case) -> Result<Got, String> {
    let e = |e: dask::Error| e.to_string();
    let op = case.op.as_str();
    match op {
        "add" | "multiply" | "subtract" | "maximum" => {
            let ops = case
                .operands
                .iter()
                .map(operand_of)
                .collect::<Result<Vec<_>, _>>()?;
            let u = dask::ufunc::ufunc(op).map_err(e)?;
            got_of(apply_ufunc(&u, &ops).map_err(e)?)
        }
        "sum" | "max" | "mean" | "var" | "std" | "prod" => {
            let sp = sparse_operand(&case.operands[0]);
            let x = Operand::Sparse(coo_of(sp)?);
            let nd = sp.shape.len();
            let axes: Option<Vec<usize>> =
                int_list(case.param("axes")).map(|l| l.iter().map(|&a| norm_axis(a, nd)).collect());
            let keepdims = case.param("keepdims") == "1";
            got_of(
                x.reduce(reduce_op(op), axes.as_deref(), keepdims, 8)
                    .map_err(e)?,
            )
        }
        "astype" => {
            let c = coo_of(sparse_operand(&case.operands[0]))?;
            got_sparse(&c.astype(dtype_named(case.param("dtype"))).map_err(e)?)
        }
        "transpose" => {
            let sp = sparse_operand(&case.operands[0]);
            let x = Operand::Sparse(coo_of(sp)?);
            let perm: Option<Vec<usize>> = int_list(case.param("perm"))
                .map(|l| l.iter().map(|&a| norm_axis(a, sp.shape.len())).collect());
            got_of(x.transpose(perm.as_deref()).map_err(e)?)
        }
        "reshape" => {
            let x = Operand::Sparse(coo_of(sparse_operand(&case.operands[0]))?);
            let shape = int_list(case.param("shape")).expect("a shape");
            got_of(x.reshape(&shape).map_err(e)?)
        }
        "slice" => {
            let x = Operand::Sparse(coo_of(sparse_operand(&case.operands[0]))?);
            got_of(
                x.slice(&to_index(&parse_idx(case.param("idx"))))
                    .map_err(e)?,
            )
        }
        "concatenate" | "stack" => {
            let parts = case
                .operands
                .iter()
                .map(|o| coo_of(sparse_operand(o)))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&Coo> = parts.iter().collect();
            let nd = parts[0].ndim() + (op == "stack") as usize;
            let axis: i64 = case.param("axis").parse().expect("axis");
            let axis = norm_axis(axis, nd);
            let r = if op == "stack" {
                Coo::stack(&refs, axis)
            } else {
                Coo::concatenate(&refs, axis)
            };
            got_sparse(&r.map_err(e)?)
        }
        "tensordot" | "matmul" => {
            let a = operand_of(&case.operands[0])?;
            let b = operand_of(&case.operands[1])?;
            if op == "matmul" {
                return got_of(a.matmul(&b, ReturnType::Auto).map_err(e)?);
            }
            let nd = |o: &Opnd| dense_operand(o).map_or(0, |x| x.shape.len());
            let axes = |k: &str, o: &Opnd| -> Vec<usize> {
                int_list(case.param(k))
                    .expect("axes")
                    .iter()
                    .map(|&x| norm_axis(x, nd(o)))
                    .collect()
            };
            let rt = match case.param("return") {
                "auto" => ReturnType::Auto,
                "sparse" => ReturnType::Sparse,
                "dense" => ReturnType::Dense,
                other => panic!("return type {other}"),
            };
            got_of(
                a.tensordot(
                    &b,
                    &axes("axes_a", &case.operands[0]),
                    &axes("axes_b", &case.operands[1]),
                    rt,
                )
                .map_err(e)?,
            )
        }
        "tocsr" | "tocsc" => {
            let c = coo_of(sparse_operand(&case.operands[0]))?;
            let layout = if op == "tocsr" {
                Compressed::Rows
            } else {
                Compressed::Cols
            };
            let (indptr, indices, data) = sparse::to_compressed(&c, layout).map_err(e)?;
            let mut g = got_sparse(&c)?;
            g.csr = Some((indptr, indices, arr_of(&data)));
            Ok(g)
        }
        "from_triplets" => {
            let sp = sparse_operand(&case.operands[0]);
            let shape: Vec<usize> = int_list(case.param("shape"))
                .expect("a shape")
                .iter()
                .map(|&n| n as usize)
                .collect();
            let fill = parse_num(case.param("fill"), sp.dtype);
            got_sparse(&coo_with(sp, &shape, fill)?)
        }
        other => panic!("line {}: unknown op {other}", case.line_no),
    }
}

// ---- comparing ----------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Tol {
    Exact,
    /// |got - want| <= bound, or 2 ulp (NaN and infinities exactly).
    Abs(f64),
    /// relative bound, or 2 ulp.
    Rel(f64),
}

fn tolerance(case: &Case, out: DType) -> Tol {
    if !is_float(out) {
        return Tol::Exact;
    }
    let eps = eps_of(out);
    let first = &case.operands[0];
    let n = dense_operand(first).map_or(1, |a| a.values.len().max(1)) as f64;
    let s = max_abs(first);
    match case.op.as_str() {
        "sum" | "mean" => Tol::Abs(2.0 * n * eps * s),
        "prod" => Tol::Rel(2.0 * n * eps),
        "var" => Tol::Abs(4.0 * n * eps * s * s),
        "std" => Tol::Abs((4.0 * n * eps * s * s).sqrt()),
        "tensordot" | "matmul" => {
            let s2 = max_abs(&case.operands[1]);
            let n2 = dense_operand(&case.operands[1]).map_or(1, |a| a.values.len().max(1));
            let k = (n as usize).min(n2) as f64;
            Tol::Abs(2.0 * k * eps * s * s2)
        }
        _ => Tol::Exact,
    }
}

fn float_matches(got: f64, want: f64, tol: Tol, d: DType) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return got == want;
    }
    if got.to_bits() == want.to_bits() {
        return true;
    }
    match tol {
        Tol::Exact => false,
        Tol::Abs(bound) => (got - want).abs() <= bound || ulps(got, want, d) <= 2,
        Tol::Rel(r) => (got - want).abs() <= r * want.abs() || ulps(got, want, d) <= 2,
    }
}

fn num_matches(got: &Num, want: &Num, tol: Tol, d: DType) -> bool {
    match (got, want) {
        (Num::I(a), Num::I(b)) => a == b,
        (Num::F(a), Num::F(b)) => float_matches(*a, *b, tol, d),
        _ => false,
    }
}

/// Dtype, shape and values of `got` against `want`; the first difference.
fn compare(got: &Arr, want: &Arr, tol: Tol) -> Result<(), String> {
    if got.dtype != want.dtype || got.shape != want.shape {
        return Err(format!(
            "got {} {:?}, want {} {:?}",
            got.dtype.name(),
            got.shape,
            want.dtype.name(),
            want.shape
        ));
    }
    for (k, (g, w)) in got.values.iter().zip(&want.values).enumerate() {
        if !num_matches(g, w, tol, want.dtype) {
            return Err(format!("element {k}: got {g:?}, want {w:?} ({tol:?})"));
        }
    }
    Ok(())
}

/// Equal shape and dtype, and every differing element is one where NumPy's or ours is NaN
/// or infinite (the products of non-finite values with implicit zeros).
fn only_non_finite_differ(got: &Arr, want: &Arr, tol: Tol) -> bool {
    got.dtype == want.dtype
        && got.shape == want.shape
        && got
            .values
            .iter()
            .zip(&want.values)
            .all(|(g, w)| match (g, w) {
                (Num::F(gf), Num::F(wf)) => {
                    num_matches(g, w, tol, want.dtype)
                        || (gf.is_nan() && wf.is_nan())
                        || !wf.is_finite()
                        || !gf.is_finite()
                }
                _ => g == w,
            })
}

fn show_kind(k: &Kind) -> String {
    match k {
        Kind::Sparse(f) => format!("sparse (fill {f:?})"),
        Kind::Dense => "dense".into(),
    }
}

fn is_reduction(op: &str) -> bool {
    matches!(op, "sum" | "max" | "mean" | "var" | "std" | "prod")
}

/// NumPy's answer for the case, computed here on the densified operands (None: no dense
/// reference is written for this op).
fn numpy_reference(case: &Case) -> Option<Result<Arr, String>> {
    let op = case.op.as_str();
    let dense = |k: usize| dense_operand(&case.operands[k]);
    Some(match op {
        "add" | "multiply" | "subtract" | "maximum" => {
            let args: Vec<ROp> = case
                .operands
                .iter()
                .map(|o| match o {
                    Opnd::Scalar(s) => ROp::S(*s),
                    Opnd::BigInt(_) => unreachable!("not replayed"),
                    other => ROp::A(dense_operand(other).expect("array")),
                })
                .collect();
            ref_binary(op, &args)
        }
        _ if is_reduction(op) => {
            let axes = int_list(case.param("axes"));
            ref_reduce(
                op,
                &dense(0)?,
                axes.as_deref(),
                case.param("keepdims") == "1",
            )
        }
        "slice" => ref_slice(&dense(0)?, case.param("idx")),
        "tensordot" => {
            let a = int_list(case.param("axes_a")).expect("axes");
            let b = int_list(case.param("axes_b")).expect("axes");
            ref_tensordot(&dense(0)?, &dense(1)?, &a, &b)
        }
        "matmul" => ref_matmul(&dense(0)?, &dense(1)?),
        _ => return None,
    })
}

/// The pydata/sparse bug (README's list) this case is one of, if any: only then is the
/// library compared with NumPy's answer instead of pydata's.
fn pydata_bug(case: &Case) -> Option<&'static str> {
    let op = case.op.as_str();
    let ops = &case.operands;
    match op {
        "add" | "multiply" | "subtract" | "maximum" => {
            let uint64 = ops
                .iter()
                .any(|o| matches!(o, Opnd::Sparse(s) if s.dtype == DType::UInt64));
            let py_int = ops
                .iter()
                .any(|o| matches!(o, Opnd::Scalar(Scalar::Int(_))));
            (uint64 && py_int).then_some("pydata-bug-uint64-python-int")
        }
        _ if is_reduction(op) => {
            let sp = sparse_operand(&ops[0]);
            let nd = sp.shape.len();
            let axes = match int_list(case.param("axes")) {
                None => Some((0..nd).collect::<Vec<_>>()),
                Some(a) => np_axes(&a, nd).ok(),
            }?;
            let m: usize = axes.iter().map(|&k| sp.shape[k]).product();
            if m == 0 {
                return Some("pydata-bug-empty-reduction");
            }
            let folded = op != "max"
                && !is_float(sp.dtype)
                && sp.data.len() < size(&sp.shape)
                && !matches!(sp.fill, Num::I(0));
            folded.then_some("pydata-bug-reduce-fill-dtype")
        }
        "slice" => parse_idx(case.param("idx"))
            .iter()
            .any(|it| matches!(it, Item::Slice(_, _, Some(c)) if *c < 0))
            .then_some("pydata-bug-negative-step-slice"),
        "tensordot" | "matmul" => {
            let nd = |o: &Opnd| dense_operand(o).map_or(0, |a| a.shape.len());
            let (na, nb) = (nd(&ops[0]), nd(&ops[1]));
            if op == "matmul" && ((na == 1 && nb > 2) || (nb == 1 && na > 2)) {
                return Some("pydata-bug-matmul-vector-stacked");
            }
            let special = |o: &Opnd| {
                dense_operand(o).is_some_and(|a| a.values.iter().any(|v| !fnum(v).is_finite()))
            };
            (special(&ops[0]) || special(&ops[1]))
                .then_some("pydata-bug-product-skips-inf-times-zero")
        }
        _ => None,
    }
}

/// A deliberate difference in the kind of result (sparse or dense) with the same values.
fn kind_rule(case: &Case, got: &Got, want: &Kind) -> Option<&'static str> {
    let op = case.op.as_str();
    match (op, &got.kind, want) {
        // Every axis reduced: a dense 0-d (or all-ones keepdims) block here.
        (_, Kind::Dense, Kind::Sparse(_)) if is_reduction(op) => {
            let nd = sparse_operand(&case.operands[0]).shape.len();
            let all = match int_list(case.param("axes")) {
                None => true,
                Some(a) => np_axes(&a, nd).is_ok_and(|v| v.len() == nd),
            };
            all.then_some("pydata-full-reduction-dense")
        }
        // Stacks of matrices multiply densified (NumPy's broadcasting matmul), dense here.
        ("matmul", Kind::Dense, Kind::Sparse(_))
            if case
                .operands
                .iter()
                .any(|o| dense_operand(o).is_some_and(|a| a.shape.len() > 2)) =>
        {
            Some("sparse-stacked-matmul-dense")
        }
        ("matmul", Kind::Dense, Kind::Sparse(_)) if got.arr.shape.is_empty() => {
            Some("pydata-vector-dot-dense")
        }
        ("slice", Kind::Sparse(_), Kind::Dense) if got.arr.shape.is_empty() => {
            Some("pydata-index-0d-sparse")
        }
        ("tensordot", _, _) => {
            let zero_d = case
                .operands
                .iter()
                .any(|o| dense_operand(o).is_some_and(|a| a.shape.is_empty()));
            zero_d.then_some("pydata-bug-tensordot-0d-return-type")
        }
        _ => None,
    }
}

#[derive(Debug)]
enum Verdict {
    Match,
    Allowed(Vec<&'static str>),
    /// (cause, detail)
    Differs(String, String),
}

/// Element `k` of an astype result is a float value outside the target's range (or NaN,
/// inf), where NumPy's C cast is platform-defined and the library saturates.
fn saturating_cast_excuses(case: &Case, got: &Arr, want: &Arr) -> bool {
    if case.op != "astype" {
        return false;
    }
    let src = dense_operand(&case.operands[0]).expect("array");
    if !is_float(src.dtype) || !is_int(want.dtype) {
        return false;
    }
    if got.dtype != want.dtype || got.shape != want.shape {
        return false;
    }
    let (lo, hi) = match want.dtype {
        DType::UInt64 => (0.0, 18446744073709551615.0),
        DType::Int64 => (-9223372036854775808.0, 9223372036854775807.0),
        d => {
            let bits = d.itemsize() as i32 * 8;
            if is_signed(d) {
                (-(2f64.powi(bits - 1)), 2f64.powi(bits - 1) - 1.0)
            } else {
                (0.0, 2f64.powi(bits) - 1.0)
            }
        }
    };
    got.values
        .iter()
        .zip(&want.values)
        .zip(&src.values)
        .all(|((g, w), s)| {
            let x = fnum(s);
            g == w || !x.is_finite() || x.trunc() < lo || x.trunc() > hi
        })
}

/// The recorded CSR/CSC arrays without the entries that store the fill (0).
fn without_stored_zeros(csr: &[Arr; 3]) -> (Vec<usize>, Vec<usize>, Vec<Num>) {
    let is_zero = |v: &Num| match v {
        Num::I(i) => *i == 0,
        Num::F(f) => f.to_bits() == 0,
    };
    let ip: Vec<usize> = csr[0].values.iter().map(|v| fnum(v) as usize).collect();
    let mut indptr = vec![0usize];
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    for r in 0..ip.len().saturating_sub(1) {
        for p in ip[r]..ip[r + 1] {
            if !is_zero(&csr[2].values[p]) {
                indices.push(fnum(&csr[1].values[p]) as usize);
                data.push(csr[2].values[p]);
            }
        }
        indptr.push(indices.len());
    }
    (indptr, indices, data)
}

fn show_reference(r: &Option<Result<Arr, String>>) -> String {
    match r {
        Some(Ok(r)) => {
            let v: String = format!("{:?}", r.values).chars().take(160).collect();
            format!("{} {:?} {v}", r.dtype.name(), r.shape)
        }
        Some(Err(e)) => format!("raises {e}"),
        None => "-".into(),
    }
}

/// The fill a reduction's result should have under NumPy's arithmetic: the reduction of a
/// group of fills as large as the reduced axes.
fn reference_fill(case: &Case, acc64: bool) -> Option<Num> {
    if !is_reduction(&case.op) {
        return None;
    }
    let sp = sparse_operand(&case.operands[0]);
    let nd = sp.shape.len();
    let axes = match int_list(case.param("axes")) {
        None => (0..nd).collect(),
        Some(a) => np_axes(&a, nd).ok()?,
    };
    let m: usize = axes.iter().map(|&k| sp.shape[k]).product();
    let group = Arr {
        dtype: if acc64 && is_float(sp.dtype) {
            DType::Float64
        } else {
            sp.dtype
        },
        shape: vec![m],
        values: vec![sp.fill; m],
    };
    let v = ref_reduce(&case.op, &group, None, false).ok()?.values[0];
    Some(if acc64 { cast_num(v, sp.dtype) } else { v })
}

/// pydata/sparse takes a 0-d sparse operand whose element is stored as that value (a scalar),
/// so its result's fill is `f` of the value; the library's is `f` of the operands' fills
/// (the stored element is broadcast as an entry everywhere: the dense values are the same).
/// Checks both fills against `f` computed here.
fn zero_d_operand_fill(case: &Case, got: &Num, want: &Num, d: DType) -> Option<&'static str> {
    let op = case.op.as_str();
    if !matches!(op, "add" | "multiply" | "subtract" | "maximum") {
        return None;
    }
    let stored_0d =
        |o: &Opnd| matches!(o, Opnd::Sparse(s) if s.shape.is_empty() && !s.data.is_empty());
    if !case.operands.iter().any(stored_0d) {
        return None;
    }
    let fill_of = |use_value: bool| -> Option<Num> {
        let args: Vec<ROp> = case
            .operands
            .iter()
            .map(|o| match o {
                Opnd::Scalar(s) => Some(ROp::S(*s)),
                Opnd::Sparse(s) => Some(ROp::A(Arr {
                    dtype: s.dtype,
                    shape: vec![],
                    values: vec![if use_value && stored_0d(o) {
                        s.data[0]
                    } else {
                        s.fill
                    }],
                })),
                // pydata meets a dense operand's values with the fills: one value (checked
                // constant by the result being sparse); an empty one as its dtype's zero.
                Opnd::Arr(a) => Some(ROp::A(Arr {
                    dtype: a.dtype,
                    shape: vec![],
                    values: vec![a
                        .values
                        .first()
                        .copied()
                        .unwrap_or(cast_num(Num::I(0), a.dtype))],
                })),
                Opnd::BigInt(_) => None,
            })
            .collect::<Option<_>>()?;
        ref_binary(op, &args).ok().map(|r| r.values[0])
    };
    let same = |a: &Num, b: &Num| fnum(a) == fnum(b) || fnum(a).is_nan() && fnum(b).is_nan();
    let ok = fill_of(true).is_some_and(|f| same(&f, want))
        && fill_of(false).is_some_and(|f| same(&f, got) || fill_matches(got, &f, Tol::Exact, d));
    ok.then_some("pydata-0d-fill-is-value")
}

/// Positions of the result (of an elementwise op) where some sparse operand stores an entry
/// equal to its fill: pydata computes there with the stored entry, the library (whose arrays
/// never store the fill) with the fill — the same number, up to the sign of a zero.
fn stored_fill_positions(case: &Case, shape: &[usize]) -> Vec<bool> {
    let mut out = vec![false; size(shape)];
    for o in &case.operands {
        let Opnd::Sparse(sp) = o else { continue };
        let mut marks = Arr {
            dtype: DType::Bool,
            shape: sp.shape.clone(),
            values: vec![Num::I(0); size(&sp.shape)],
        };
        let st = strides(&sp.shape);
        for (e, v) in sp.data.iter().enumerate() {
            if fnum(v) == fnum(&sp.fill) {
                let l: usize = (0..sp.shape.len())
                    .map(|a| sp.coords[a][e] as usize * st[a])
                    .sum();
                marks.values[l] = Num::I(1);
            }
        }
        if broadcast(&[&sp.shape, shape]).ok().as_deref() != Some(shape) {
            continue;
        }
        for (i, o) in out.iter_mut().enumerate() {
            if at_broadcast(&marks, shape, &unravel(i, shape)) == Num::I(1) {
                *o = true;
            }
        }
    }
    out
}

/// A rule that excuses the library's values differing from pydata's (pydata not being wrong
/// by NumPy's measure there), if one applies.
fn value_excuse(
    case: &Case,
    got: &Arr,
    want: &Arr,
    listed: &dyn Fn(&str) -> bool,
) -> Option<&'static str> {
    let op = case.op.as_str();
    let non_finite_operand = case
        .operands
        .iter()
        .any(|o| dense_operand(o).is_some_and(|a| a.values.iter().any(|v| !fnum(v).is_finite())));
    if matches!(op, "tensordot" | "matmul")
        && listed("sparse-products-skip-implicit-zeros")
        && non_finite_operand
        && only_non_finite_differ(got, want, tolerance(case, want.dtype))
    {
        return Some("sparse-products-skip-implicit-zeros");
    }
    if listed("saturating-cast") && saturating_cast_excuses(case, got, want) {
        return Some("saturating-cast");
    }
    let same_layout = got.dtype == want.dtype && got.shape == want.shape;
    // Float32 moments accumulated in float64: finite where float32 arithmetic overflows.
    if matches!(op, "mean" | "var" | "std") && same_layout && want.dtype == DType::Float32 {
        let rule = if op == "mean" {
            "pydata-float32-mean-in-float64"
        } else {
            "float32-var-in-float64"
        };
        let x = dense_operand(&case.operands[0]).expect("array");
        let x64 = Arr {
            dtype: DType::Float64,
            ..x
        };
        let axes = int_list(case.param("axes"));
        if let Ok(r) = ref_reduce(op, &x64, axes.as_deref(), case.param("keepdims") == "1") {
            let r32 = Arr {
                dtype: DType::Float32,
                shape: r.shape.clone(),
                values: r
                    .values
                    .iter()
                    .map(|v| cast_num(*v, DType::Float32))
                    .collect(),
            };
            let only_overflow = got
                .values
                .iter()
                .zip(&want.values)
                .all(|(g, w)| g == w || fnum(w).is_infinite() && fnum(g).is_finite());
            if listed(rule)
                && only_overflow
                && compare(got, &r32, tolerance(case, DType::Float32)).is_ok()
            {
                return Some(rule);
            }
        }
    }
    // Entries that store the fill: the same number up to the sign of a zero.
    if matches!(op, "add" | "multiply" | "subtract" | "maximum") && same_layout {
        let at = stored_fill_positions(case, &want.shape);
        let ok = got
            .values
            .iter()
            .zip(&want.values)
            .zip(&at)
            .all(|((g, w), &a)| g == w || (a && fnum(g) == fnum(w)));
        if ok && listed("pydata-canonical-no-stored-fill") {
            return Some("pydata-canonical-no-stored-fill");
        }
    }
    // scipy's toarray adds the stored values into zeros: a stored -0.0 comes out 0.0.
    if matches!(op, "tocsr" | "tocsc") && same_layout {
        let ok = got.values.iter().zip(&want.values).all(|(g, w)| {
            g == w
                || matches!((g, w), (Num::F(a), Num::F(b))
                    if a.to_bits() == (-0.0f64).to_bits() && b.to_bits() == 0)
        });
        if ok && listed("pydata-scipy-toarray-negative-zero") {
            return Some("pydata-scipy-toarray-negative-zero");
        }
    }
    None
}

fn judge(case: &Case, got: Result<Got, String>, rules: &[String]) -> Verdict {
    let listed = |r: &str| rules.iter().any(|x| x == r);
    let op = case.op.as_str();
    let differs = |cause: &str, why: String| Verdict::Differs(format!("{op}: {cause}"), why);
    // Where pydata has a bug, NumPy's answer (computed here) is the one the library must give.
    let bug = pydata_bug(case).filter(|r| listed(r));
    let reference = bug.and_then(|_| numpy_reference(case));
    let (want, want_kind, want_csr, got) = match (&case.expect, got) {
        (Expect::Error(_), Err(_)) => return Verdict::Match,
        (Expect::Error(e), Ok(g)) => {
            // pydata raised; NumPy may not have (mixed sparse-dense broadcasting, a bug).
            let reference = numpy_reference(case);
            if let Some(Ok(r)) = &reference {
                let mixed = matches!(op, "add" | "multiply" | "subtract" | "maximum")
                    && e == "ValueError"
                    && case
                        .operands
                        .iter()
                        .any(|o| matches!(o, Opnd::Arr(a) if a.shape != r.shape));
                let np_ok = compare(&g.arr, r, tolerance(case, r.dtype)).is_ok();
                if mixed && g.kind == Kind::Dense && np_ok && listed("pydata-mixed-broadcast") {
                    return Verdict::Allowed(vec!["pydata-mixed-broadcast"]);
                }
                if let Some(rule) = bug.filter(|_| np_ok) {
                    return Verdict::Allowed(vec![rule]);
                }
            }
            // Fills 0.0 and -0.0 are one fill here (equal numbers); pydata tells them apart.
            let zero_fills: Vec<f64> = case
                .operands
                .iter()
                .filter_map(|o| match o {
                    Opnd::Sparse(sp) => Some(fnum(&sp.fill)),
                    _ => None,
                })
                .collect();
            if matches!(op, "concatenate" | "stack")
                && listed("sparse-fill-signed-zero")
                && zero_fills.iter().all(|&f| f == 0.0)
                && zero_fills.iter().any(|f| f.is_sign_negative())
                && zero_fills.iter().any(|f| f.is_sign_positive())
            {
                return Verdict::Allowed(vec!["sparse-fill-signed-zero"]);
            }
            return differs(
                &format!("pydata raises {e}, the library does not"),
                format!(
                    "got {} {:?} {}; NumPy: {}",
                    g.arr.dtype.name(),
                    g.arr.shape,
                    show_kind(&g.kind),
                    show_reference(&reference)
                ),
            );
        }
        (Expect::Value { .. }, Err(err)) => {
            // The library refused; NumPy raises where pydata has a bug (max of nothing).
            if let (Some(rule), Some(Err(_))) = (bug, &reference) {
                return Verdict::Allowed(vec![rule]);
            }
            let cause = if err.starts_with("panic") {
                "the library panics"
            } else {
                "the library refuses (pydata gives a value)"
            };
            let np = match reference.or_else(|| numpy_reference(case)) {
                Some(r) => format!("; NumPy: {}", show_reference(&Some(r))),
                None => String::new(),
            };
            return differs(cause, format!("{err}{np}"));
        }
        (Expect::Value { arr, kind, csr }, Ok(g)) => (arr, kind, csr, g),
    };
    let mut allowed: Vec<&'static str> = Vec::new();
    let tol = tolerance(case, want.dtype);

    // Values: NumPy's where pydata is wrong by NumPy's measure, else pydata's.
    let pydata_wrong = match &reference {
        Some(Ok(r)) => compare(want, r, tolerance(case, r.dtype)).is_err(),
        Some(Err(_)) => true,
        None => false,
    };
    if pydata_wrong {
        let rule = bug.expect("a bug rule");
        match reference.as_ref().expect("a reference") {
            Ok(r) => match compare(&got.arr, r, tolerance(case, r.dtype)) {
                Ok(()) => allowed.push(rule),
                // Deliberate: sparse products skip the elements not stored (scipy's and
                // pydata's semantics), so inf or nan times an implicit zero adds nothing;
                // the only differences are NaN/inf where NumPy multiplied them out.
                Err(_)
                    if rule == "pydata-bug-product-skips-inf-times-zero"
                        && listed("sparse-products-skip-implicit-zeros")
                        && only_non_finite_differ(&got.arr, r, tolerance(case, r.dtype)) =>
                {
                    allowed.push("sparse-products-skip-implicit-zeros")
                }
                Err(why) => {
                    let cause = if compare(&got.arr, want, tol).is_ok() {
                        format!("gives pydata's wrong answer ({rule}), not NumPy's")
                    } else {
                        "values".to_string()
                    };
                    return differs(&cause, format!("NumPy: {why}"));
                }
            },
            Err(e) => {
                return differs(
                    &format!("gives pydata's wrong answer ({rule}), NumPy raises"),
                    format!(
                        "NumPy raises {e}; got {} {:?}",
                        got.arr.dtype.name(),
                        got.arr.shape
                    ),
                )
            }
        }
    } else if let Err(why) = compare(&got.arr, want, tol) {
        match value_excuse(case, &got.arr, want, &listed) {
            Some(rule) => allowed.push(rule),
            None => {
                let np = match numpy_reference(case) {
                    Some(Ok(r)) => match compare(&got.arr, &r, tolerance(case, r.dtype)) {
                        Ok(()) => "the library matches NumPy (no rule)".to_string(),
                        Err(w) => format!("NumPy: {w}"),
                    },
                    Some(Err(e)) => format!("NumPy raises {e}"),
                    None => String::new(),
                };
                let cause = if got.arr.dtype != want.dtype || got.arr.shape != want.shape {
                    "dtype or shape"
                } else {
                    "values"
                };
                return differs(cause, format!("{why}; {np}"));
            }
        }
    }

    // Sparse or dense, and the fill value.
    if let Some(wk) = want_kind {
        match (&got.kind, wk) {
            (Kind::Sparse(g), Kind::Sparse(w)) if !fill_matches(g, w, tol, want.dtype) => {
                let by_numpy = reference_fill(case, false)
                    .is_some_and(|f| num_matches(g, &f, tol, want.dtype));
                let f32_rule = allowed.iter().copied().find(|r| {
                    matches!(
                        *r,
                        "float32-var-in-float64" | "pydata-float32-mean-in-float64"
                    )
                });
                if let (true, Some(rule)) = (by_numpy, bug) {
                    // pydata's fill is folded the buggy way; NumPy's is the reference.
                    allowed.push(rule);
                } else if let Some(rule) = f32_rule.filter(|_| {
                    fnum(w).is_infinite()
                        && reference_fill(case, true)
                            .is_some_and(|f| num_matches(g, &f, tol, want.dtype))
                }) {
                    // Accumulated in float64: finite where float32 overflows.
                    allowed.push(rule);
                } else if let Some(rule) = zero_d_operand_fill(case, g, w, want.dtype) {
                    allowed.push(rule);
                } else if pydata_wrong && !is_reduction(op) {
                    // Checked through the dense values (against NumPy's).
                } else if want.shape.is_empty()
                    && num_matches(w, &want.values[0], tol, want.dtype)
                    && listed("pydata-0d-fill-is-value")
                {
                    allowed.push("pydata-0d-fill-is-value");
                } else {
                    return differs(
                        "fill value",
                        format!("got {}, pydata {}", show_kind(&got.kind), show_kind(wk)),
                    );
                }
            }
            (Kind::Sparse(_), Kind::Sparse(_)) | (Kind::Dense, Kind::Dense) => {}
            _ => match kind_rule(case, &got, wk).filter(|r| listed(r)) {
                Some(rule) => allowed.push(rule),
                None => {
                    return differs(
                        "sparse or dense",
                        format!("got {}, pydata {}", show_kind(&got.kind), show_kind(wk)),
                    )
                }
            },
        }
    }

    // CSR/CSC arrays.
    if let (Some(wc), Some((indptr, indices, data))) = (want_csr, &got.csr) {
        let as_arr = |v: &[usize]| Arr {
            dtype: DType::UInt64,
            shape: vec![v.len()],
            values: v.iter().map(|&x| Num::I(x as i128)).collect(),
        };
        let exact = compare(&as_arr(indptr), &wc[0], Tol::Exact)
            .and_then(|_| compare(&as_arr(indices), &wc[1], Tol::Exact))
            .and_then(|_| compare(data, &wc[2], Tol::Exact));
        if let Err(why) = exact {
            // scipy keeps stored zeros; canonical COO arrays here never store the fill.
            let (ip, ix, dv) = without_stored_zeros(wc);
            let stripped = Arr {
                dtype: wc[2].dtype,
                shape: vec![dv.len()],
                values: dv,
            };
            let ok = listed("pydata-canonical-no-stored-fill")
                && *indptr == ip
                && *indices == ix
                && compare(data, &stripped, Tol::Exact).is_ok();
            if !ok {
                return differs("compressed arrays", why);
            }
            allowed.push("pydata-canonical-no-stored-fill");
        }
    }
    allowed.dedup();
    if allowed.is_empty() {
        Verdict::Match
    } else {
        Verdict::Allowed(allowed)
    }
}

#[test]
fn pydata_sparse_conformance() {
    let started = std::time::Instant::now();
    let (version, lines) = read_golden("sparse.golden.gz");
    let cases: Vec<Case> = lines.iter().map(|(n, l)| parse_case(*n, l)).collect();
    assert!(cases.len() > 3000, "the golden file holds the cases");
    let rules = allowed_rules();
    // pydata/sparse returns dense arrays where a result cannot stay sparse; the library does
    // so only under its densify policy.
    sparse::set_auto_densify(true);
    let mut matched = 0usize;
    let mut allowed_cases = 0usize;
    let mut allowed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failed = 0usize;
    let mut not_replayed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_cause: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for case in &cases {
        // No library scalar holds a Python integer past int64 (none in the file at present).
        if case.operands.iter().any(|o| matches!(o, Opnd::BigInt(_))) {
            *not_replayed.entry("python-int-past-int64").or_default() += 1;
            continue;
        }
        // Library panics are failures of the case (reported below), not of the replay.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = catch_unwind(AssertUnwindSafe(|| run(case)));
        std::panic::set_hook(hook);
        let got = match result {
            Ok(r) => r,
            Err(p) => Err(format!(
                "panic: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        match judge(case, got, &rules) {
            Verdict::Match => matched += 1,
            Verdict::Allowed(rs) => {
                if let Some(show) = std::env::var_os("CONFORMANCE_SHOW_RULE") {
                    if rs.iter().any(|r| show == *r) {
                        println!("allowed line {}: {}", case.line_no, case.line);
                    }
                }
                allowed_cases += 1;
                for r in rs {
                    *allowed.entry(r).or_default() += 1;
                }
            }
            Verdict::Differs(cause, why) => {
                failed += 1;
                let entry = by_cause.entry(cause).or_default();
                entry.0 += 1;
                if entry.1.len() < 3 || std::env::var_os("CONFORMANCE_ALL").is_some() {
                    let shown: String = case.line.chars().take(300).collect();
                    entry
                        .1
                        .push(format!("line {}: {why}\n      {shown}", case.line_no));
                }
            }
        }
    }
    println!(
        "sparse conformance ({version}): {} cases: {matched} match, {allowed_cases} allowed \
         {allowed:?}, {} not replayed {not_replayed:?}, {failed} differ ({:.2} s)",
        cases.len(),
        not_replayed.values().sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        for (cause, (n, examples)) in &by_cause {
            println!("  {n:5}  {cause}");
            for ex in examples {
                println!("    {ex}");
            }
        }
        panic!("{failed} cases differ from pydata/sparse");
    }
}
