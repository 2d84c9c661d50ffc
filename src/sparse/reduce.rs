//! Reductions of sparse arrays over any axes. Each output position combines its stored
//! entries with the fill value standing in for every element that is not stored, so the result
//! is exact whatever the fill. Reducing every axis gives a dense 0-d result; otherwise the
//! result is sparse, with the reduction of the fill as its new fill value.

use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::kernel::cast_block;
use crate::ufunc::loops::B8;
use crate::ufunc::ReduceOp;
use crate::value::block::contiguous;
use crate::value::Coo;
use crate::value::Scalar;
use crate::value::{Buffer, DType, Element};

/// The result of a reduction.
#[derive(Debug, Clone)]
pub enum Reduced {
    Dense(Buffer),
    Sparse(Coo),
}

trait Acc: Element + Copy + Default {
    /// The reduction of nothing (sum 0, prod 1, all true, any false).
    fn identity(op: ReduceOp) -> Self;
    fn combine(op: ReduceOp, a: Self, b: Self) -> Self;
    /// `v` combined with itself `k` times (k >= 1).
    fn repeat(op: ReduceOp, v: Self, k: u64) -> Self;
    fn read(bytes: &[u8]) -> Self;
}

macro_rules! num_acc {
    ($($t:ty),*) => {$(
        impl Acc for $t {
            fn identity(op: ReduceOp) -> Self {
                if op == ReduceOp::Prod { <$t as Num>::ONE } else { <$t as Num>::ZERO }
            }
            fn combine(op: ReduceOp, a: Self, b: Self) -> Self {
                match op {
                    ReduceOp::Sum => <$t as Num>::add(a, b),
                    ReduceOp::Prod => <$t as Num>::mul(a, b),
                    ReduceOp::Min => <$t as Num>::minimum(a, b),
                    _ => <$t as Num>::maximum(a, b),
                }
            }
            fn repeat(op: ReduceOp, v: Self, k: u64) -> Self {
                match op {
                    ReduceOp::Sum => <$t as Num>::mul(v, k as $t),
                    ReduceOp::Prod => {
                        // Square-and-multiply keeps integer wrapping and float rounding honest.
                        let (mut acc, mut base, mut e) = (<$t as Num>::ONE, v, k);
                        while e > 0 {
                            if e & 1 == 1 { acc = <$t as Num>::mul(acc, base); }
                            base = <$t as Num>::mul(base, base);
                            e >>= 1;
                        }
                        acc
                    }
                    _ => v,
                }
            }
            fn read(bytes: &[u8]) -> Self {
                <$t>::from_ne_bytes(bytes[..std::mem::size_of::<$t>()].try_into().expect("sized"))
            }
        }
    )*};
}
num_acc!(i64, u64, f32, f64);

impl Acc for B8 {
    fn identity(op: ReduceOp) -> Self {
        B8::of(matches!(op, ReduceOp::All | ReduceOp::Min | ReduceOp::Prod))
    }
    fn combine(op: ReduceOp, a: Self, b: Self) -> Self {
        match op {
            ReduceOp::All | ReduceOp::Min | ReduceOp::Prod => B8::of(a.get() && b.get()),
            _ => B8::of(a.get() || b.get()),
        }
    }
    fn repeat(_: ReduceOp, v: Self, _: u64) -> Self {
        v
    }
    fn read(bytes: &[u8]) -> Self {
        B8(bytes[0])
    }
}

/// Largest output (in elements) reduced into a dense accumulator rather than by sorting.
const DENSE_OUTPUT_LIMIT: u64 = 1 << 26;

fn reduce_typed<T: Acc>(op: ReduceOp, x: &Coo, reduced: &[bool], m: u64) -> Result<Reduced> {
    let data = contiguous(&cast_block(&x.data, T::DTYPE)?)?;
    let vals = data.as_slice::<T>()?;
    let fill_b = Scalar::from_element(&x.fill, x.dtype()).to_element(T::DTYPE);
    let fill = T::read(&fill_b);
    // An output position's value: its stored entries (folded in entry order), then the fill
    // standing in for the `m - count` elements that are not stored.
    let finish = |acc: Option<T>, count: u64| -> T {
        match (acc, m - count) {
            (Some(a), 0) => a,
            (Some(a), k) => T::combine(op, a, T::repeat(op, fill, k)),
            (None, k) => T::repeat(op, fill, k),
        }
    };
    let fold = |acc: Option<T>, v: T| Some(acc.map_or(v, |a| T::combine(op, a, v)));
    let new_fill = if m > 0 {
        finish(None, 0)
    } else {
        T::identity(op)
    };
    let nnz = x.nnz();
    let out_shape: Vec<usize> = x
        .shape()
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| !r)
        .map(|(&n, _)| n)
        .collect();
    if out_shape.is_empty() {
        let acc = vals.iter().fold(None, |a, &v| fold(a, v));
        let v = if acc.is_some() {
            finish(acc, nnz as u64)
        } else {
            new_fill
        };
        return Ok(Reduced::Dense(Buffer::from_vec(vec![v], &[])?));
    }
    // Output position of every entry.
    let strides = crate::value::coords::linear_strides(&out_shape)?;
    let mut keys = vec![0u64; nnz];
    for (a, &s) in (0..x.ndim()).filter(|&a| !reduced[a]).zip(&strides) {
        x.coords.add_scaled(a, nnz, s, &mut keys);
    }
    let out_size: u64 = out_shape.iter().map(|&n| n as u64).product();
    let (mut linear, mut values) = (Vec::new(), Vec::new());
    if out_size <= DENSE_OUTPUT_LIMIT && out_size <= (4 * nnz as u64).max(1 << 16) {
        // Few output positions: accumulate in place, then read them out in order.
        let mut acc = vec![T::identity(op); out_size as usize];
        let mut count = vec![0u64; out_size as usize];
        for (&k, &v) in keys.iter().zip(vals) {
            let k = k as usize;
            acc[k] = if count[k] == 0 {
                v
            } else {
                T::combine(op, acc[k], v)
            };
            count[k] += 1;
        }
        for (p, (&a, &c)) in acc.iter().zip(&count).enumerate() {
            if c > 0 {
                linear.push(p as u64);
                values.push(finish(Some(a), c));
            }
        }
    } else {
        // Many output positions: sort the entries by position (stable within a position).
        let mut order: Vec<(u64, usize)> = keys.into_iter().zip(0..nnz).collect();
        order.sort_unstable();
        let mut run = 0;
        while run < order.len() {
            let key = order[run].0;
            let (mut acc, mut count) = (None, 0u64);
            while run < order.len() && order[run].0 == key {
                acc = fold(acc, vals[order[run].1]);
                count += 1;
                run += 1;
            }
            linear.push(key);
            values.push(finish(acc, count));
        }
    }
    let n = values.len();
    let mut fb = [0u8; 8];
    let fill_buf = Buffer::from_vec(vec![new_fill], &[])?;
    // SAFETY: a 0-d contiguous buffer holds one element of `size_of::<T>()` bytes.
    let fill_bytes =
        unsafe { std::slice::from_raw_parts(fill_buf.as_ptr(), std::mem::size_of::<T>()) };
    fb[..fill_bytes.len()].copy_from_slice(fill_bytes);
    Ok(Reduced::Sparse(Coo::from_sorted(
        &out_shape,
        linear,
        Buffer::from_vec(values, &[n])?,
        fb,
    )?))
}

/// Reduces over the axes marked in `reduced` (sum, prod, min, max, any, all, count_nonzero,
/// mean, var, std).
pub fn reduce(x: &Coo, op: ReduceOp, reduced: &[bool]) -> Result<Reduced> {
    if reduced.len() != x.ndim() {
        return Err(Error::invalid("one flag per axis"));
    }
    let m: u64 = x
        .shape()
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| r)
        .map(|(&n, _)| n as u64)
        .product();
    if m == 0 && matches!(op, ReduceOp::Min | ReduceOp::Max) {
        return Err(Error::invalid(format!(
            "zero-size array to reduction operation {} which has no identity",
            op.name()
        )));
    }
    match op {
        ReduceOp::Sum | ReduceOp::Prod => match op.input_dtype(x.dtype()) {
            DType::Int64 => reduce_typed::<i64>(op, x, reduced, m),
            DType::UInt64 => reduce_typed::<u64>(op, x, reduced, m),
            DType::Float32 => reduce_typed::<f32>(op, x, reduced, m),
            _ => reduce_typed::<f64>(op, x, reduced, m),
        },
        ReduceOp::Min | ReduceOp::Max => {
            let r = match x.dtype() {
                DType::Float32 => reduce_typed::<f32>(op, x, reduced, m)?,
                DType::Float64 => reduce_typed::<f64>(op, x, reduced, m)?,
                DType::Bool => reduce_typed::<B8>(op, x, reduced, m)?,
                DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => {
                    reduce_typed::<u64>(op, x, reduced, m)?
                }
                _ => reduce_typed::<i64>(op, x, reduced, m)?,
            };
            cast_reduced(r, x.dtype())
        }
        ReduceOp::Any | ReduceOp::All => {
            reduce_typed::<B8>(op, &x.astype(DType::Bool)?, reduced, m)
        }
        ReduceOp::CountNonzero => {
            let nz = elementwise_not_zero(x)?;
            reduce_typed::<i64>(ReduceOp::Sum, &nz, reduced, m)
        }
        ReduceOp::Mean => {
            let s = reduce_typed::<f64>(ReduceOp::Sum, &x.astype(DType::Float64)?, reduced, m)?;
            let div = crate::ufunc::ufunc("true_divide")?;
            let denom = Scalar::Float(m as f64);
            let r = match s {
                Reduced::Dense(b) => Reduced::Dense(crate::ufunc::kernel::apply_dense(
                    &div,
                    &[
                        crate::ufunc::kernel::DenseArg::Block(&b),
                        crate::ufunc::kernel::DenseArg::Scalar(denom),
                    ],
                )?),
                Reduced::Sparse(c) => match super::elementwise::elementwise(
                    &div,
                    &[
                        super::SparseArg::Sparse(&c),
                        super::SparseArg::Scalar(denom),
                    ],
                )? {
                    super::SparseResult::Sparse(c) => Reduced::Sparse(c),
                    super::SparseResult::Dense(b) => Reduced::Dense(b),
                },
            };
            if x.dtype() == DType::Float32 {
                cast_reduced(r, DType::Float32)
            } else {
                Ok(r)
            }
        }
        ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => {
            let var = variance(x, reduced, m, ddof)?;
            let var = if matches!(op, ReduceOp::Std { .. }) {
                map_reduced(var, "sqrt", None)?
            } else {
                var
            };
            if x.dtype() == DType::Float32 {
                cast_reduced(var, DType::Float32)
            } else {
                Ok(var)
            }
        }
        other => Err(Error::NotImplemented(format!(
            "{} of a sparse array",
            other.name()
        ))),
    }
}

/// The variance over the reduced axes, in two passes as NumPy's: the mean (broadcast back
/// over the reduced axes), then the mean square deviation, the fill standing in for every
/// element that is not stored; divided by `m - ddof`.
fn variance(x: &Coo, reduced: &[bool], m: u64, ddof: f64) -> Result<Reduced> {
    let xf = x.astype(DType::Float64)?;
    let subtract = crate::ufunc::ufunc("subtract")?;
    let mean = reduce(&xf, ReduceOp::Mean, reduced)?;
    let centered = match mean {
        Reduced::Dense(b) => {
            let mu = crate::value::block::contiguous(&b)?.as_slice::<f64>()?[0];
            super::elementwise::elementwise(
                &subtract,
                &[
                    super::SparseArg::Sparse(&xf),
                    super::SparseArg::Scalar(Scalar::Float(mu)),
                ],
            )?
        }
        Reduced::Sparse(c) => {
            let keep: Vec<usize> = x
                .shape()
                .iter()
                .zip(reduced)
                .map(|(&n, &r)| if r { 1 } else { n })
                .collect();
            let mu = c.reshape(&keep)?;
            super::elementwise::elementwise(
                &subtract,
                &[super::SparseArg::Sparse(&xf), super::SparseArg::Sparse(&mu)],
            )?
        }
    };
    let super::SparseResult::Sparse(centered) = centered else {
        return Err(Error::invalid("variance: the deviations came out dense"));
    };
    let squares = match super::elementwise::elementwise(
        &crate::ufunc::ufunc("square")?,
        &[super::SparseArg::Sparse(&centered)],
    )? {
        super::SparseResult::Sparse(c) => c,
        super::SparseResult::Dense(_) => {
            return Err(Error::invalid("variance: the squares came out dense"))
        }
    };
    let sum = reduce_typed::<f64>(ReduceOp::Sum, &squares, reduced, m)?;
    map_reduced(sum, "true_divide", Some(Scalar::Float(m as f64 - ddof)))
}

/// `ufunc(r)` or `ufunc(r, scalar)` on a reduction's result, dense or sparse.
fn map_reduced(r: Reduced, name: &str, scalar: Option<Scalar>) -> Result<Reduced> {
    let u = crate::ufunc::ufunc(name)?;
    Ok(match r {
        Reduced::Dense(b) => {
            let mut args = vec![crate::ufunc::kernel::DenseArg::Block(&b)];
            args.extend(scalar.map(crate::ufunc::kernel::DenseArg::Scalar));
            Reduced::Dense(crate::ufunc::kernel::apply_dense(&u, &args)?)
        }
        Reduced::Sparse(c) => {
            let mut args = vec![super::SparseArg::Sparse(&c)];
            args.extend(scalar.map(super::SparseArg::Scalar));
            match super::elementwise::elementwise(&u, &args)? {
                super::SparseResult::Sparse(c) => Reduced::Sparse(c),
                super::SparseResult::Dense(b) => Reduced::Dense(b),
            }
        }
    })
}

fn cast_reduced(r: Reduced, d: DType) -> Result<Reduced> {
    Ok(match r {
        Reduced::Dense(b) => Reduced::Dense(cast_block(&b, d)?),
        Reduced::Sparse(c) => Reduced::Sparse(c.astype(d)?),
    })
}

/// 1 where `x` is non-zero (including the fill), as int64.
fn elementwise_not_zero(x: &Coo) -> Result<Coo> {
    let b = x.astype(DType::Bool)?;
    b.astype(DType::Int64)
}
