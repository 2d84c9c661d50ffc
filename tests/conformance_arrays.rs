//! NumPy conformance of the array operations: replays tests/conformance/arrays.golden.gz
//! (NumPy 2.3.5, made by `conformance/generate_arrays.py arrays`; format in
//! conformance/README.md) through chunked arrays in one chunk, in chunks of 2 and in chunks
//! of 1, and compares dtype, shape and values, or that the call fails where NumPy raised.

mod common;
mod golden;

use common::client;
use dask::array::{Array, ChunkSpec, CumOp, Index, Operand, ReduceOp};
use dask::{Buffer, DType};
use golden::*;
use std::collections::BTreeMap;

/// A parameter value: integers, a list of them, or none.
#[derive(Debug, Clone)]
enum P {
    Int(i64),
    List(Vec<i64>),
    None,
    Text(String),
}

struct Case {
    line_no: usize,
    line: String,
    op: String,
    params: BTreeMap<String, P>,
    operands: Vec<Opnd>,
    expect: Result<Arr, String>,
}

fn parse_param(v: &str) -> P {
    if v == "none" {
        return P::None;
    }
    if v == "()" {
        return P::List(vec![]);
    }
    if let Ok(i) = v.parse::<i64>() {
        return P::Int(i);
    }
    if v.split(',').all(|x| x.parse::<i64>().is_ok()) {
        return P::List(v.split(',').map(|x| x.parse().expect("int")).collect());
    }
    P::Text(v.to_string())
}

fn parse_case(line_no: usize, line: &str) -> Case {
    let t: Vec<&str> = line.split(' ').collect();
    let mut params = BTreeMap::new();
    if t[1] != "-" {
        for kv in t[1].split(';') {
            let (k, v) = kv.split_once('=').expect("key=value");
            params.insert(k.to_string(), parse_param(v));
        }
    }
    let n: usize = t[2].parse().expect("count");
    let operands = t[3..3 + n].iter().map(|o| parse_operand(o)).collect();
    let r = t[3 + n];
    let expect = match r.strip_prefix('!') {
        Some(e) => Err(e.to_string()),
        None => Ok(parse_arr(r.strip_prefix('=').expect("a result"))),
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
    fn int(&self, k: &str) -> Option<i64> {
        match self.params.get(k) {
            Some(P::Int(i)) => Some(*i),
            Some(P::List(v)) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }
    fn list(&self, k: &str) -> Option<Vec<i64>> {
        match self.params.get(k) {
            Some(P::List(v)) => Some(v.clone()),
            Some(P::Int(i)) => Some(vec![*i]),
            _ => None,
        }
    }
    fn text(&self, k: &str) -> String {
        match self.params.get(k) {
            Some(P::Text(s)) => s.clone(),
            Some(P::Int(i)) => i.to_string(),
            Some(P::List(v)) => v
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(","),
            Some(P::None) => "none".into(),
            None => String::new(),
        }
    }
}

// ---- running ------------------------------------------------------------------------------------

type R<T> = dask::Result<T>;

fn bad(msg: impl Into<String>) -> dask::Error {
    dask::Error::InvalidArgument(msg.into())
}

/// An axis as NumPy takes it (negative from the end), checked against `nd`.
fn axis(a: i64, nd: usize) -> R<usize> {
    let k = if a < 0 { a + nd as i64 } else { a };
    if k < 0 || k >= nd as i64 {
        return Err(bad(format!(
            "axis {a} is out of bounds for {nd} dimensions"
        )));
    }
    Ok(k as usize)
}

fn axes(v: &[i64], nd: usize) -> R<Vec<usize>> {
    v.iter().map(|&a| axis(a, nd)).collect()
}

fn array_of(o: &Opnd, chunk: usize) -> R<Array> {
    match o {
        Opnd::Arr(a) => {
            let b = buffer_of(a);
            let blocks: Vec<usize> = a
                .shape
                .iter()
                .map(|&n| {
                    if chunk == 0 {
                        n.max(1)
                    } else {
                        chunk.min(n.max(1))
                    }
                })
                .collect();
            Array::from_buffer(&b, &ChunkSpec::Regular(blocks))
        }
        Opnd::Scalar(s) => Operand::Scalar(*s).into_array(),
        Opnd::BigInt(v) => Err(bad(format!("Python integer {v} has no int64 scalar"))),
        Opnd::Sparse(_) => unreachable!("no sparse operands here"),
    }
}

fn operand_of(o: &Opnd, chunk: usize) -> R<Operand> {
    Ok(match o {
        Opnd::Scalar(s) => Operand::Scalar(*s),
        Opnd::BigInt(v) => return Err(bad(format!("Python integer {v} has no int64 scalar"))),
        _ => Operand::Array(array_of(o, chunk)?),
    })
}

fn flat(x: &Array) -> R<Array> {
    x.reshape(&[-1])
}

/// One basic-index item: `a:b:c` (parts may be empty), an integer, or `new`.
fn index_items(spec: &str) -> Vec<Index> {
    if spec == "()" || spec.is_empty() {
        return vec![];
    }
    spec.split(',')
        .map(|item| {
            if item == "new" {
                return Index::NewAxis;
            }
            if !item.contains(':') {
                return Index::At(item.parse().expect("an index"));
            }
            let p: Vec<&str> = item.split(':').collect();
            let num = |s: &str| (!s.is_empty()).then(|| s.parse::<i64>().expect("a bound"));
            let step = p.get(2).and_then(|s| num(s)).unwrap_or(1);
            Index::Slice(num(p[0]), num(p[1]), step)
        })
        .collect()
}

fn run(c: &Case, chunk: usize) -> R<Buffer> {
    let x = || array_of(&c.operands[0], chunk);
    let r: Array = match c.op.as_str() {
        "slice" => {
            let items = index_items(&c.text("idx"));
            if items.contains(&Index::Slice(None, None, 0))
                || items.iter().any(|i| matches!(i, Index::Slice(_, _, 0)))
            {
                return Err(bad("slice step cannot be zero"));
            }
            x()?.slice(&items)?
        }
        "take" => {
            let ind = c.list("indices").unwrap_or_default();
            match c.int("axis") {
                Some(a) => {
                    let x = x()?;
                    let nd = x.ndim().max(1);
                    let x = if x.ndim() == 0 { x.reshape(&[1])? } else { x };
                    let ax = axis(a, nd)?;
                    let n = x.shape()[ax] as i64;
                    if ind.iter().any(|&i| i < -n || i >= n) {
                        return Err(bad("index out of bounds"));
                    }
                    let r = x.take(&ind, ax)?;
                    if c.operands_0d() {
                        r.reshape(&ind.iter().map(|_| 1).collect::<Vec<i64>>())?
                            .reshape(&[ind.len() as i64])?
                    } else {
                        r
                    }
                }
                None => {
                    let f = flat(&x()?)?;
                    let n = f.shape()[0] as i64;
                    if ind.iter().any(|&i| i < -n || i >= n) {
                        return Err(bad("index out of bounds"));
                    }
                    f.take(&ind, 0)?
                }
            }
        }
        "transpose" => {
            let x = x()?;
            match c.list("perm") {
                Some(p) if !(p.is_empty() && x.ndim() > 0) => x.transpose(&axes(&p, x.ndim())?)?,
                Some(_) => return Err(bad("axes don't match array")),
                None => x.t(),
            }
        }
        "reshape" => x()?.reshape(&c.list("shape").unwrap_or_default())?,
        "concatenate" | "stack" => {
            let xs: Vec<Array> = c
                .operands
                .iter()
                .map(|o| array_of(o, chunk))
                .collect::<R<_>>()?;
            match (c.op.as_str(), c.int("axis")) {
                ("concatenate", None) => {
                    let fl: Vec<Array> = xs.iter().map(flat).collect::<R<_>>()?;
                    Array::concatenate(&fl, 0)?
                }
                ("concatenate", Some(a)) => {
                    if xs.iter().any(|x| x.ndim() != xs[0].ndim()) {
                        return Err(bad(
                            "all the input arrays must have the same number of dimensions",
                        ));
                    }
                    Array::concatenate(&xs, axis(a, xs[0].ndim())?)?
                }
                (_, a) => Array::stack(&xs, axis(a.unwrap_or(0), xs[0].ndim() + 1)?)?,
            }
        }
        "tensordot" => {
            let (a, b) = (x()?, array_of(&c.operands[1], chunk)?);
            let aa = axes(&c.list("axes_a").unwrap_or_default(), a.ndim())?;
            let ab = axes(&c.list("axes_b").unwrap_or_default(), b.ndim())?;
            a.tensordot(&b, &aa, &ab)?
        }
        "matmul" => x()?.matmul(&array_of(&c.operands[1], chunk)?)?,
        "reduce_sum" | "reduce_max" | "reduce_mean" => {
            let x = x()?;
            let op = match c.op.as_str() {
                "reduce_sum" => ReduceOp::Sum,
                "reduce_max" => ReduceOp::Max,
                _ => ReduceOp::Mean,
            };
            let keep = c.int("keepdims") == Some(1);
            match c.list("axes") {
                Some(v) => x.reduce(op, Some(&axes(&v, x.ndim())?), keep, 8)?,
                None => x.reduce(op, None, keep, 8)?,
            }
        }
        "set_where" => {
            let x = x()?;
            let mask = array_of(&c.operands[1], chunk)?;
            match &c.operands[2] {
                Opnd::Scalar(s) => x.set_where(&mask, *s)?,
                Opnd::BigInt(v) => {
                    return Err(bad(format!("Python integer {v} has no int64 scalar")))
                }
                v => x.set_where(&mask, &array_of(v, chunk)?)?,
            }
        }
        "arange" => {
            let d = dtype_named(&c.text("dtype"));
            let (start, stop, step) = (
                c.int("start").unwrap_or(0),
                c.int("stop").unwrap_or(0),
                c.int("step").unwrap_or(1),
            );
            Array::arange(
                start as f64,
                stop as f64,
                step as f64,
                d,
                &ChunkSpec::Regular(vec![if chunk == 0 { 1 << 20 } else { chunk }]),
            )?
        }
        "mask1d" => x()?.select(&array_of(&c.operands[1], chunk)?, client())?,
        "where" => {
            let cond = array_of(&c.operands[0], chunk)?;
            let a = operand_of(&c.operands[1], chunk)?;
            let b = operand_of(&c.operands[2], chunk)?;
            Array::where_(&cond, a, b)?
        }
        "cumsum" | "cumprod" => {
            let op = if c.op == "cumsum" {
                CumOp::Sum
            } else {
                CumOp::Prod
            };
            let x = x()?;
            match c.int("axis") {
                None => flat(&x)?.cumulative(0, op)?,
                Some(a) if x.ndim() == 0 => {
                    axis(a, 1)?;
                    x.reshape(&[1])?.cumulative(0, op)?
                }
                Some(a) => x.cumulative(axis(a, x.ndim())?, op)?,
            }
        }
        "astype" => x()?.astype(dtype_named(&c.text("dtype"))),
        other => panic!("line {}: unknown op {other}", c.line_no),
    };
    r.compute(client())
}

impl Case {
    fn operands_0d(&self) -> bool {
        matches!(self.operands.first(), Some(Opnd::Arr(a)) if a.shape.is_empty())
    }
}

// ---- comparing ----------------------------------------------------------------------------------

fn summing(op: &str) -> bool {
    matches!(
        op,
        "reduce_sum" | "reduce_mean" | "cumsum" | "cumprod" | "tensordot" | "matmul"
    )
}

/// The rule of tests/conformance/allowed.txt that excuses this case's error, if any (the
/// case must be one the rule names; NumPy gave values).
fn excused_error(c: &Case) -> Option<&'static str> {
    if c.operands.iter().any(|o| matches!(o, Opnd::BigInt(_))) {
        return Some("python-int-past-int64");
    }
    if c.op == "set_where" {
        if let (Some(Opnd::Arr(x)), Some(Opnd::Arr(v))) = (c.operands.first(), c.operands.get(2)) {
            let fits = v.shape.len() <= x.shape.len()
                && v.shape
                    .iter()
                    .rev()
                    .zip(x.shape.iter().rev())
                    .all(|(&a, &b)| a == b || a == 1);
            if !fits {
                return Some("masked-assignment-order");
            }
        }
    }
    if c.op == "arange" {
        let d = dtype_named(&c.text("dtype"));
        let (start, stop, step) = (
            c.int("start").unwrap_or(0) as i128,
            c.int("stop").unwrap_or(0) as i128,
            c.int("step").unwrap_or(1) as i128,
        );
        let (lo, hi): (i128, i128) = match d {
            DType::Bool => (0, 1),
            DType::Int8 => (-128, 127),
            DType::UInt8 => (0, 255),
            DType::Int16 => (-32768, 32767),
            DType::UInt16 => (0, 65535),
            DType::Int32 => (i32::MIN as i128, i32::MAX as i128),
            DType::UInt32 => (0, u32::MAX as i128),
            DType::Int64 => (i64::MIN as i128, i64::MAX as i128),
            DType::UInt64 => (0, u64::MAX as i128),
            _ => return None,
        };
        if step != 0 {
            let n = ((stop - start) + step - step.signum()) / step;
            let last = start + step * (n.max(1) - 1);
            if n > 0 && [start, last].iter().any(|v| *v < lo || *v > hi) {
                return Some("arange-checked-range");
            }
        }
    }
    None
}

/// The rule that excuses a value where NumPy raised, if any.
fn excused_value(c: &Case) -> Option<&'static str> {
    if let ("set_where", Some(Opnd::Arr(x)), Some(Opnd::Arr(m))) =
        (c.op.as_str(), c.operands.first(), c.operands.get(1))
    {
        if m.shape != x.shape {
            return Some("broadcast-mask");
        }
        // An array value in the where form, where NumPy wanted the selection's length.
        if matches!(c.operands.get(2), Some(Opnd::Arr(_))) {
            return Some("masked-assignment-order");
        }
    }
    None
}

/// Integer bounds a float64 cannot hold exactly (the arange rule).
fn float_bounds(c: &Case) -> bool {
    c.op == "arange"
        && ["start", "stop", "step"]
            .iter()
            .any(|k| c.int(k).is_some_and(|v| v.unsigned_abs() > 1 << 53))
}

fn judge(c: &Case, got: R<Buffer>, rules: &[String]) -> Result<Option<&'static str>, String> {
    let verdict = judge_strictly(c, got, rules);
    match verdict {
        Err(_) if float_bounds(c) && rules.iter().any(|r| r == "arange-float-bounds") => {
            Ok(Some("arange-float-bounds"))
        }
        other => other,
    }
}

/// `x[mask] = v` in the where form, computed here: v broadcast to x's shape, taken where
/// the mask is true (None when the case is not one of an array value of the mask's shape).
fn where_form(c: &Case) -> Option<Vec<Num>> {
    let (Some(Opnd::Arr(x)), Some(Opnd::Arr(m)), Some(Opnd::Arr(v))) =
        (c.operands.first(), c.operands.get(1), c.operands.get(2))
    else {
        return None;
    };
    if m.shape != x.shape || is_float(x.dtype) || is_float(v.dtype) {
        return None;
    }
    let nd = x.shape.len();
    let lead = nd.checked_sub(v.shape.len())?;
    let bits = 8 * x.dtype.itemsize() as u32;
    let signed = matches!(
        x.dtype,
        DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64
    );
    let wrap = |i: i128| -> i128 {
        let m = i.rem_euclid(1i128 << bits);
        if signed && m >= 1i128 << (bits - 1) {
            m - (1i128 << bits)
        } else {
            m
        }
    };
    let mut out = Vec::with_capacity(x.values.len());
    for k in 0..x.values.len() {
        // Unravel k in x's shape, then ravel into v's (broadcast) shape.
        let (mut rest, mut vk, mut vstride) = (k, 0usize, 1usize);
        for a in (0..nd).rev() {
            let i = rest % x.shape[a];
            rest /= x.shape[a];
            if a >= lead {
                let n = v.shape[a - lead];
                vk += if n == 1 { 0 } else { i * vstride };
                vstride *= n;
            }
        }
        let on = matches!(m.values[k], Num::I(b) if b != 0);
        out.push(match (on, v.values.get(vk)) {
            (true, Some(Num::I(i))) if x.dtype == DType::Bool => Num::I((*i != 0) as i128),
            (true, Some(Num::I(i))) => Num::I(wrap(*i)),
            _ => x.values[k],
        });
    }
    Some(out)
}

fn judge_strictly(
    c: &Case,
    got: R<Buffer>,
    rules: &[String],
) -> Result<Option<&'static str>, String> {
    let listed = |r: &'static str| rules.iter().any(|x| x == r).then_some(r);
    let want = match (&c.expect, got) {
        (Err(_), Err(_)) => return Ok(None),
        (Err(e), Ok(b)) if excused_value(c).and_then(listed).is_some() => {
            let _ = (e, b);
            return Ok(excused_value(c));
        }
        (Ok(_), Err(e)) => {
            return match excused_error(c) {
                Some(rule) if rules.iter().any(|r| r == rule) => Ok(Some(rule)),
                _ => Err(format!("error: {e}")),
            }
        }
        (Err(e), Ok(b)) => {
            return Err(format!(
                "NumPy raises {e}; got {} {:?}",
                b.dtype().name(),
                b.shape()
            ))
        }
        (Ok(w), Ok(b)) => (w, b),
    };
    let (w, g) = want;
    if g.dtype() != w.dtype || g.shape() != w.shape.as_slice() {
        return Err(format!(
            "got {} {:?}, NumPy {} {:?}",
            g.dtype().name(),
            g.shape(),
            w.dtype.name(),
            w.shape
        ));
    }
    let s = c
        .operands
        .iter()
        .map(|o| match o {
            Opnd::Arr(a) => a
                .values
                .iter()
                .map(|v| match v {
                    Num::I(i) => (*i as f64).abs(),
                    Num::F(f) if f.is_finite() => f.abs(),
                    _ => 0.0,
                })
                .fold(0.0, f64::max),
            _ => 0.0,
        })
        .fold(1.0, f64::max);
    let n = c
        .operands
        .iter()
        .map(|o| match o {
            Opnd::Arr(a) => a.values.len(),
            _ => 1,
        })
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let got_values = values_of(&g);
    if got_values != w.values && rules.iter().any(|r| r == "masked-assignment-order") {
        if let Some(form) = where_form(c) {
            if form == got_values {
                return Ok(Some("masked-assignment-order"));
            }
        }
    }
    for (k, (gv, wv)) in got_values.iter().zip(&w.values).enumerate() {
        let ok = match (gv, wv) {
            (Num::I(a), Num::I(b)) => a == b,
            (Num::F(a), Num::F(b)) => {
                (a.is_nan() && b.is_nan())
                    || a.to_bits() == b.to_bits()
                    || (summing(&c.op)
                        && a.is_finite()
                        && b.is_finite()
                        && ((a - b).abs() <= 2.0 * n * eps_of(w.dtype) * s * s
                            || ulps(*a, *b, w.dtype) <= 2))
            }
            _ => false,
        };
        if !ok {
            return Err(format!("element {k}: got {gv:?}, NumPy {wv:?}"));
        }
    }
    Ok(None)
}

#[test]
fn numpy_array_operations_conformance() {
    let (version, lines) = read_golden("arrays.golden.gz");
    let cases: Vec<Case> = lines.iter().map(|(n, l)| parse_case(*n, l)).collect();
    assert!(cases.len() > 3000, "the golden file holds the cases");
    let rules = allowed_rule_names();
    let (mut replays, mut matched) = (0usize, 0usize);
    let mut allowed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in &cases {
        for chunk in [0usize, 2, 1] {
            replays += 1;
            let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(c, chunk)))
                .unwrap_or_else(|_| Err(bad("the replay panicked")));
            match judge(c, got, &rules) {
                Ok(None) => matched += 1,
                Ok(Some(rule)) => *allowed.entry(rule).or_default() += 1,
                Err(why) => {
                    let k = by_op.entry(c.op.clone()).or_default();
                    *k += 1;
                    if *k <= 4 {
                        let shown: String = c.line.chars().take(220).collect();
                        failures.push(format!(
                            "line {} (chunks {chunk}): {why}\n    {shown}",
                            c.line_no
                        ));
                    }
                }
            }
        }
    }
    let n_allowed: usize = allowed.values().sum();
    let failed = replays - matched - n_allowed;
    println!(
        "array conformance ({version}): {} cases, {replays} replays: {matched} match, \
         {n_allowed} allowed {allowed:?}, {failed} differ",
        cases.len()
    );
    if failed > 0 {
        for (op, n) in &by_op {
            println!("  {n:6}  {op}");
        }
        for f in &failures {
            println!("{f}");
        }
        panic!("{failed} replays differ from NumPy");
    }
}
