//! NumPy conformance: replays every case NumPy 2.x recorded (tests/conformance/
//! ufuncs.golden.gz, made by conformance/generate_ufuncs.py; format in conformance/README.md)
//! through the library — dense blocks at once, and chunked arrays in one chunk and in chunks
//! of 2 — and compares dtype, shape and values, or that the call fails where NumPy raised.
//! A difference is accepted only under a rule of tests/conformance/allowed.txt.

mod common;
mod golden;

use common::client;
use dask::array::{apply_ufunc_multi, Array, ChunkSpec, CumOp, NanOp, Operand};
use dask::ufunc::ReduceOp;
use dask::value::Scalar;
use dask::{Buffer, DType};
use golden::*;
use std::collections::BTreeMap;

// ---- the cases --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    Call,
    Reduce(Option<usize>),
    Accumulate(usize),
}

#[derive(Debug)]
enum Expect {
    Values(Vec<Arr>),
    Error(String),
}

#[derive(Debug)]
struct Case {
    line_no: usize,
    line: String,
    name: String,
    method: Method,
    operands: Vec<Opnd>,
    expect: Expect,
    float16: bool,
}

fn parse_case(line_no: usize, line: &str) -> Case {
    let t: Vec<&str> = line.split(' ').collect();
    let method = match t[1] {
        "call" => Method::Call,
        m if m.starts_with("reduce:") => Method::Reduce(match &m[7..] {
            "all" => None,
            a => Some(a.parse().unwrap()),
        }),
        m if m.starts_with("accumulate:") => Method::Accumulate(m[11..].parse().unwrap()),
        m => panic!("line {line_no}: method {m}"),
    };
    let n: usize = t[2].parse().unwrap();
    let operands = t[3..3 + n].iter().map(|o| parse_operand(o)).collect();
    let rest = &t[3 + n..];
    let float16 = rest.contains(&"allow:float16");
    let expect = if let Some(e) = rest[0].strip_prefix('!') {
        Expect::Error(e.to_string())
    } else {
        Expect::Values(
            rest.iter()
                .filter_map(|r| r.strip_prefix('='))
                .map(parse_arr)
                .collect(),
        )
    };
    Case {
        line_no,
        line: line.to_string(),
        name: t[0].to_string(),
        method,
        operands,
        expect,
        float16,
    }
}

fn read_cases() -> (String, Vec<Case>) {
    let (version, lines) = read_golden("ufuncs.golden.gz");
    let cases = lines.iter().map(|(n, l)| parse_case(*n, l)).collect();
    (version, cases)
}

fn allowed_rules() -> Vec<String> {
    let known = [
        "float16",
        "saturating-cast",
        "int-reciprocal-of-zero",
        "signed-zero-ties",
        "float32-var-in-float64",
        "numpy-reduce-fold",
        "ldexp-reduce",
        // Rules of the array and sparse replays (tests/conformance_*.rs).
        "masked-assignment-order",
        "arange-checked-range",
        "python-int-past-int64",
        "broadcast-mask",
        "arange-float-bounds",
    ];
    allowed_rule_names()
        .into_iter()
        // The sparse replay's rules (tests/conformance_sparse.rs).
        .filter(|r| !r.starts_with("pydata-") && !r.starts_with("sparse-"))
        .inspect(|rule| {
            assert!(
                known.contains(&rule.as_str()),
                "allowed.txt names rule '{rule}' this replay does not implement"
            )
        })
        .collect()
}

// ---- building operands and reading results ------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Dense blocks, computed at once (calls only).
    Blocks,
    /// Chunked arrays with blocks of at most this length along every axis (0: one chunk).
    Chunked(usize),
}

fn operand_of(o: &Opnd, mode: Mode) -> Operand {
    match (o, mode) {
        (Opnd::Scalar(s), _) => Operand::Scalar(*s),
        (Opnd::Sparse(_) | Opnd::BigInt(_), _) => {
            unreachable!("the ufunc cases have no sparse or big-integer operands")
        }
        (Opnd::Arr(a), Mode::Blocks) => Operand::Block(buffer_of(a)),
        (Opnd::Arr(a), Mode::Chunked(c)) => {
            let b = buffer_of(a);
            let blocks: Vec<usize> = a
                .shape
                .iter()
                .map(|&n| if c == 0 { n.max(1) } else { c.min(n.max(1)) })
                .collect();
            Operand::Array(Array::from_buffer(&b, &ChunkSpec::Regular(blocks)).unwrap())
        }
    }
}

fn array_of(o: &Opnd, mode: Mode) -> Array {
    operand_of(o, mode).into_array().unwrap()
}

fn computed(op: Operand) -> dask::Result<Buffer> {
    match op {
        Operand::Array(a) => a.compute(client()),
        other => other.into_block(),
    }
}

fn reduce_op(name: &str) -> Option<Result<ReduceOp, NanOp>> {
    Some(match name {
        "sum" => Ok(ReduceOp::Sum),
        "prod" => Ok(ReduceOp::Prod),
        "mean" => Ok(ReduceOp::Mean),
        "min" => Ok(ReduceOp::Min),
        "max" => Ok(ReduceOp::Max),
        "var" => Ok(ReduceOp::Var { ddof: 0.0 }),
        "std" => Ok(ReduceOp::Std { ddof: 0.0 }),
        "any" => Ok(ReduceOp::Any),
        "all" => Ok(ReduceOp::All),
        "nansum" => Err(NanOp::Sum),
        "nanprod" => Err(NanOp::Prod),
        "nanmean" => Err(NanOp::Mean),
        "nanmin" => Err(NanOp::Min),
        "nanmax" => Err(NanOp::Max),
        "nanvar" => Err(NanOp::Var { ddof: 0.0 }),
        "nanstd" => Err(NanOp::Std { ddof: 0.0 }),
        _ => return None,
    })
}

/// Runs a case in `mode`; None when the mode does not apply.
fn run(case: &Case, mode: Mode) -> Option<dask::Result<Vec<Buffer>>> {
    let ops: Vec<Operand> = case.operands.iter().map(|o| operand_of(o, mode)).collect();
    let name = case.name.as_str();
    if mode == Mode::Blocks && (case.method != Method::Call || name.starts_with("astype:")) {
        return None;
    }
    let result: dask::Result<Vec<Operand>> = (|| match case.method {
        Method::Call => {
            if let Some(dt) = name.strip_prefix("astype:") {
                return Ok(vec![Operand::Array(
                    array_of(&case.operands[0], mode).astype(dtype_named(dt)),
                )]);
            }
            let u = dask::ufunc::ufunc(name)?;
            apply_ufunc_multi(&u, &ops)
        }
        Method::Reduce(axis) => {
            let x = array_of(&case.operands[0], mode);
            let axes = axis.map(|a| vec![a]);
            let axes = axes.as_deref();
            let r = match name {
                "argmin" => x.argmin(axis)?,
                "argmax" => x.argmax(axis)?,
                _ => match reduce_op(name) {
                    Some(Ok(op)) => x.reduce(op, axes, false, 8)?,
                    Some(Err(op)) => x.nan_reduce(op, axes, false, 8)?,
                    None => x.reduce_ufunc(name, axes, false)?,
                },
            };
            Ok(vec![Operand::Array(r)])
        }
        Method::Accumulate(axis) => {
            let x = array_of(&case.operands[0], mode);
            Ok(vec![Operand::Array(match name {
                "cumsum" => x.cumulative(axis, CumOp::Sum)?,
                "cumprod" => x.cumulative(axis, CumOp::Prod)?,
                other => x.accumulate_ufunc(other, axis)?,
            })])
        }
    })();
    Some(result.and_then(|outs| outs.into_iter().map(computed).collect()))
}

// ---- comparing ----------------------------------------------------------------------------------

const TRANSCENDENTAL: &[&str] = &[
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "asin",
    "acos",
    "atan",
    "arctan2",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "asinh",
    "acosh",
    "atanh",
    "cbrt",
    "power",
    "pow",
    "float_power",
    "logaddexp",
    "logaddexp2",
    "hypot",
];

#[derive(Debug, Clone, Copy)]
enum Tol {
    Exact,
    Ulps(u64),
    /// |got - expected| <= bound (NaN and infinities exactly).
    Abs(f64),
    /// relative 2·n·eps, or 2 ulp.
    Rel(f64),
}

fn max_abs(a: &Opnd) -> f64 {
    match a {
        Opnd::Arr(a) => a
            .values
            .iter()
            .map(|v| match v {
                Num::I(i) => (*i as f64).abs(),
                Num::F(f) if f.is_finite() => f.abs(),
                Num::F(_) => 0.0,
            })
            .fold(0.0, f64::max),
        Opnd::Scalar(_) | Opnd::Sparse(_) | Opnd::BigInt(_) => 0.0,
    }
}

fn tolerance(case: &Case, out: DType) -> Tol {
    if !is_float(out) {
        return Tol::Exact;
    }
    let n = match case.operands.first() {
        Some(Opnd::Arr(a)) => a.values.len().max(1) as f64,
        _ => 1.0,
    };
    let eps = eps_of(out);
    let s = case.operands.first().map(max_abs).unwrap_or(0.0);
    let name = case.name.as_str();
    let summation = matches!(
        (name, case.method),
        ("sum" | "nansum" | "mean" | "nanmean", Method::Reduce(_))
            | ("add", Method::Reduce(_) | Method::Accumulate(_))
            | ("cumsum", _)
    );
    if summation {
        return Tol::Abs(2.0 * n * eps * s);
    }
    if matches!(name, "matmul" | "vecdot" | "matvec" | "vecmat") {
        let s2 = case.operands.get(1).map(max_abs).unwrap_or(0.0);
        return Tol::Abs(2.0 * n * eps * s * s2);
    }
    if matches!(name, "var" | "nanvar") {
        return Tol::Abs(4.0 * n * eps * s * s);
    }
    if matches!(name, "std" | "nanstd") {
        return Tol::Abs((4.0 * n * eps * s * s).sqrt());
    }
    if matches!(name, "prod" | "nanprod" | "cumprod")
        || (name == "multiply" && case.method != Method::Call)
    {
        return Tol::Rel(2.0 * n * eps);
    }
    if TRANSCENDENTAL.contains(&name) {
        return if case.method == Method::Call {
            Tol::Ulps(2)
        } else {
            Tol::Ulps(2 * n as u64)
        };
    }
    Tol::Exact
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
        Tol::Ulps(n) => got != 0.0 && want != 0.0 && ulps(got, want, d) <= n,
        Tol::Abs(bound) => (got - want).abs() <= bound || ulps(got, want, d) <= 2,
        Tol::Rel(r) => (got - want).abs() <= r * want.abs() || ulps(got, want, d) <= 2,
    }
}

/// Operand `o`'s value at element `k` of a broadcast call (a scalar everywhere).
fn value_at(o: &Opnd, k: usize) -> f64 {
    let num = |v: &Num| match v {
        Num::I(i) => *i as f64,
        Num::F(f) => *f,
    };
    match o {
        Opnd::Arr(a) if a.values.len() == 1 => num(&a.values[0]),
        Opnd::Arr(a) => a.values.get(k).map(num).unwrap_or(f64::NAN),
        Opnd::Scalar(Scalar::Int(i)) => *i as f64,
        Opnd::Scalar(Scalar::Float(f)) => *f,
        Opnd::Scalar(Scalar::Bool(b)) => *b as u8 as f64,
        Opnd::Sparse(_) | Opnd::BigInt(_) => f64::NAN,
    }
}

/// Which rule excuses element `k` of output `out` (got `got`, NumPy `want`), if any.
fn excused(case: &Case, rules: &[String], k: usize, got: &Num, want: &Num) -> Option<&'static str> {
    let listed = |r: &str| rules.iter().any(|x| x == r);
    let (Num::F(g), Num::F(w)) = (got, want) else {
        return excused_int(case, rules, k);
    };
    let zero_ties = listed("signed-zero-ties") && *g == 0.0 && *w == 0.0;
    if zero_ties
        && matches!(case.name.as_str(), "fmax" | "fmin")
        && case.method == Method::Call
        && case.operands.iter().all(|o| value_at(o, k) == 0.0)
    {
        return Some("signed-zero-ties");
    }
    if let ("power" | "pow" | "arctan2" | "atan2", Method::Reduce(Some(axis)), Some(Opnd::Arr(x))) =
        (case.name.as_str(), case.method, case.operands.first())
    {
        if listed("numpy-reduce-fold") && x.shape.len() == 2 && x.shape[axis] > 0 {
            // The in-order fold, computed here in float64.
            let at = |i: usize, j: usize| value_at(&case.operands[0], i * x.shape[1] + j);
            let line: Vec<f64> = if axis == 0 {
                (0..x.shape[0]).map(|i| at(i, k)).collect()
            } else {
                (0..x.shape[1]).map(|j| at(k, j)).collect()
            };
            let f = |a: f64, b: f64| match case.name.as_str() {
                "power" | "pow" => a.powf(b),
                _ => a.atan2(b),
            };
            let folded = line[1..].iter().fold(line[0], |acc, &v| f(acc, v));
            let d = if x.dtype == DType::Float64 {
                DType::Float64
            } else {
                DType::Float32
            };
            let near = (folded.is_nan() && g.is_nan())
                || folded == *g
                || ulps(folded, *g, d) <= 4 * line.len() as u64;
            if near {
                return Some("numpy-reduce-fold");
            }
        }
    }
    // Reductions that pick the larger or smaller of 0.0 and -0.0.
    if zero_ties
        && matches!(
            (case.name.as_str(), case.method),
            ("fmax" | "fmin", Method::Reduce(_) | Method::Accumulate(_)) | ("nanmax" | "nanmin", _)
        )
    {
        return Some("signed-zero-ties");
    }
    if matches!(case.name.as_str(), "var" | "std" | "nanvar" | "nanstd")
        && listed("float32-var-in-float64")
        && matches!(case.operands.first(), Some(Opnd::Arr(a)) if a.dtype == DType::Float32)
        && w.is_infinite()
        && g.is_finite()
    {
        return Some("float32-var-in-float64");
    }
    None
}

/// Which rule excuses element `k` of an integer result, if any.
fn excused_int(case: &Case, rules: &[String], k: usize) -> Option<&'static str> {
    excused_input(case, rules, k).then(|| {
        if case.name.starts_with("astype:") {
            "saturating-cast"
        } else {
            "int-reciprocal-of-zero"
        }
    })
}

/// Whether the input element `k` is one a rule on integer results names.
fn excused_input(case: &Case, rules: &[String], k: usize) -> bool {
    let input = match case.operands.first() {
        Some(Opnd::Arr(a)) => a,
        _ => return false,
    };
    if let Some(dt) = case.name.strip_prefix("astype:") {
        if rules.iter().any(|r| r == "saturating-cast") && is_float(input.dtype) {
            let to = dtype_named(dt);
            if let (Num::F(x), Some((lo, hi))) = (input.values[k], int_range(to)) {
                return !x.is_finite() || x.trunc() < lo || x.trunc() > hi;
            }
        }
    }
    if case.name == "reciprocal"
        && !is_float(input.dtype)
        && rules.iter().any(|r| r == "int-reciprocal-of-zero")
    {
        return matches!(input.values[k], Num::I(0));
    }
    false
}

fn int_range(d: DType) -> Option<(f64, f64)> {
    Some(match d {
        DType::Int8 => (-128.0, 127.0),
        DType::UInt8 => (0.0, 255.0),
        DType::Int16 => (-32768.0, 32767.0),
        DType::UInt16 => (0.0, 65535.0),
        DType::Int32 => (-2147483648.0, 2147483647.0),
        DType::UInt32 => (0.0, 4294967295.0),
        DType::Int64 => (-9223372036854775808.0, 9223372036854775807.0),
        DType::UInt64 => (0.0, 18446744073709551615.0),
        _ => return None,
    })
}

enum Verdict {
    Match,
    Allowed(&'static str),
    Differs(String),
}

fn judge(case: &Case, got: dask::Result<Vec<Buffer>>, rules: &[String]) -> Verdict {
    let want = match (&case.expect, got) {
        (Expect::Error(_), Err(_)) => return Verdict::Match,
        (Expect::Error(e), Ok(outs)) => {
            let shown: Vec<String> = outs
                .iter()
                .map(|b| format!("{} {:?}", b.dtype().name(), b.shape()))
                .collect();
            return Verdict::Differs(format!("NumPy raises {e}; got {}", shown.join(", ")));
        }
        (Expect::Values(_), Err(_))
            if case.name == "ldexp"
                && matches!(case.method, Method::Reduce(_))
                && rules.iter().any(|r| r == "ldexp-reduce") =>
        {
            return Verdict::Allowed("ldexp-reduce")
        }
        (Expect::Values(_), Err(e)) => return Verdict::Differs(format!("error: {e}")),
        (Expect::Values(want), Ok(outs)) => (want, outs),
    };
    let (want, outs) = want;
    if want.len() != outs.len() {
        return Verdict::Differs(format!("{} outputs, NumPy {}", outs.len(), want.len()));
    }
    let mut excuse: Option<&'static str> = None;
    for (w, g) in want.iter().zip(&outs) {
        if g.dtype() != w.dtype || g.shape() != w.shape.as_slice() {
            return Verdict::Differs(format!(
                "got {} {:?}, NumPy {} {:?}",
                g.dtype().name(),
                g.shape(),
                w.dtype.name(),
                w.shape
            ));
        }
        let tol = tolerance(case, w.dtype);
        for (k, (gv, wv)) in values_of(g).iter().zip(&w.values).enumerate() {
            let ok = match (gv, wv) {
                (Num::I(a), Num::I(b)) => a == b,
                (Num::F(a), Num::F(b)) => float_matches(*a, *b, tol, w.dtype),
                _ => false,
            };
            if ok {
                continue;
            }
            if let Some(rule) = excused(case, rules, k, gv, wv) {
                excuse = Some(rule);
                continue;
            }
            return Verdict::Differs(format!("element {k}: got {gv:?}, NumPy {wv:?} ({tol:?})"));
        }
    }
    if case.float16 {
        if !rules.iter().any(|r| r == "float16") {
            return Verdict::Differs("a float16 result, and float16 is not an allowed rule".into());
        }
        return Verdict::Allowed("float16");
    }
    match excuse {
        Some(rule) => Verdict::Allowed(rule),
        None => Verdict::Match,
    }
}

#[test]
fn numpy_conformance() {
    let (version, cases) = read_cases();
    let rules = allowed_rules();
    assert!(cases.len() > 30_000, "the golden file holds the cases");
    let mut matched = 0usize;
    let mut allowed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut by_cause: BTreeMap<String, usize> = BTreeMap::new();
    let mut replays = 0usize;
    for case in &cases {
        for mode in [Mode::Blocks, Mode::Chunked(0), Mode::Chunked(2)] {
            let Some(got) = run(case, mode) else { continue };
            replays += 1;
            match judge(case, got, &rules) {
                Verdict::Match => matched += 1,
                Verdict::Allowed(rule) => *allowed.entry(rule).or_default() += 1,
                Verdict::Differs(why) => {
                    let cause = by_cause
                        .entry(format!("{} {:?}", case.name, case.method))
                        .or_default();
                    *cause += 1;
                    if *cause <= 3 && failures.len() < 300 {
                        let shown: String = case.line.chars().take(240).collect();
                        failures.push(format!(
                            "line {} ({mode:?}): {why}\n    {shown}",
                            case.line_no
                        ));
                    }
                }
            }
        }
    }
    let n_allowed: usize = allowed.values().sum();
    let failed = replays - matched - n_allowed;
    println!(
        "conformance ({version}): {} cases, {replays} replays: {matched} match, \
         {n_allowed} allowed {allowed:?}, {failed} differ",
        cases.len()
    );
    if failed > 0 {
        for (cause, n) in &by_cause {
            println!("  {n:6}  {cause}");
        }
        for f in &failures {
            println!("{f}");
        }
        panic!("{failed} replays differ from NumPy");
    }
}
