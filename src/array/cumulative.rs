//! Cumulative sums, products, maxima and minima along an axis: each block is accumulated
//! locally, then the running result of the previous block along the axis is carried in (a
//! chain per row of blocks, like `dask.array.cumsum`). `ufunc.accumulate` with any other
//! binary ufunc folds in order instead: each block's scan starts from the previous block's
//! last row (associativity is not assumed, so `subtract.accumulate` is NumPy's too).

use super::reduce_kernel::{sum_dtype, UfuncRef};
use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::kernel::cast_block;
use crate::value::block::contiguous;
use crate::value::{Buffer, DType, Element};

/// What accumulates: NumPy's `add`, `multiply`, `maximum` and `minimum` `.accumulate` (R's
/// `cumsum`, `cumprod`, `cummax`, `cummin`; NaN propagates through the last two, as in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CumOp {
    Sum,
    Prod,
    Max,
    Min,
    /// `ufunc.accumulate` with a binary ufunc of loops `(t, t) -> t`, folded in order.
    Ufunc(UfuncRef),
}

impl CumOp {
    #[inline(always)]
    fn combine<T: Num>(self, x: T, prev: T) -> T {
        match self {
            CumOp::Sum => T::add(x, prev),
            CumOp::Prod => T::mul(x, prev),
            CumOp::Max => T::maximum(prev, x),
            CumOp::Min => T::minimum(prev, x),
            CumOp::Ufunc(_) => unreachable!("ufunc accumulations run their loop"),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            CumOp::Sum => 0,
            CumOp::Prod => 1,
            CumOp::Max => 2,
            CumOp::Min => 3,
            CumOp::Ufunc(_) => 4,
        }
    }

    /// The operation of `code` (for `CumOp::Ufunc`, the ufunc named `ufunc`).
    pub fn from_code(c: u8, ufunc: Option<&str>) -> Result<CumOp> {
        match (c, ufunc) {
            (4, Some(name)) => Ok(CumOp::Ufunc(UfuncRef::of_any(&crate::ufunc::ufunc(name)?)?)),
            (0..=3, _) => Ok([CumOp::Sum, CumOp::Prod, CumOp::Max, CumOp::Min][c as usize]),
            _ => Err(Error::Corrupt(format!("cumulative operation code {c}"))),
        }
    }

    /// `op.accumulate` as NumPy's methods name it: the fast kernels for `add`, `multiply`,
    /// `maximum` and `minimum` on numbers, an in-order fold with the ufunc's loop otherwise.
    pub fn for_ufunc(u: &std::sync::Arc<crate::ufunc::Ufunc>, d: DType) -> Result<CumOp> {
        Ok(match (u.name(), d) {
            ("add", _) => CumOp::Sum,
            ("multiply", _) => CumOp::Prod,
            ("maximum", dt) if dt != DType::Bool => CumOp::Max,
            ("minimum", dt) if dt != DType::Bool => CumOp::Min,
            _ => CumOp::Ufunc(UfuncRef::of_any(u)?),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            CumOp::Sum => "cumsum",
            CumOp::Prod => "cumprod",
            CumOp::Max => "cummax",
            CumOp::Min => "cummin",
            CumOp::Ufunc(_) => "accumulate",
        }
    }

    /// The result dtype: sums and products widen like `sum` (NumPy); maxima and minima keep
    /// the input's.
    pub fn dtype(self, d: DType) -> Result<DType> {
        match self {
            CumOp::Sum | CumOp::Prod => Ok(sum_dtype(d)),
            CumOp::Ufunc(r) => r.fold_loop(d).map(|l| l.output()),
            _ if d == DType::Bool => Err(Error::DType(format!(
                "{} of bool: convert to an integer type first",
                self.name()
            ))),
            _ => Ok(d),
        }
    }
}

fn cum_typed<T: Num + Element>(b: &Buffer, axis: usize, op: CumOp) -> Result<Buffer> {
    let c = contiguous(b)?;
    let mut data: Vec<T> = c.as_slice::<T>()?.to_vec();
    let shape = c.shape().to_vec();
    let inner: usize = shape[axis + 1..].iter().product();
    let len = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    for o in 0..outer {
        for k in 1..len {
            let (prev, cur) = data[o * len * inner..].split_at_mut(k * inner);
            let prev = &prev[(k - 1) * inner..];
            for (c, &p) in cur[..inner].iter_mut().zip(prev) {
                *c = op.combine(*c, p);
            }
        }
    }
    Buffer::from_vec(data, &shape)
}

macro_rules! by_dtype {
    ($d:expr, $f:ident, $($args:expr),*) => {
        match $d {
            DType::Int8 => $f::<i8>($($args),*),
            DType::UInt8 => $f::<u8>($($args),*),
            DType::Int16 => $f::<i16>($($args),*),
            DType::UInt16 => $f::<u16>($($args),*),
            DType::Int32 => $f::<i32>($($args),*),
            DType::UInt32 => $f::<u32>($($args),*),
            DType::Int64 => $f::<i64>($($args),*),
            DType::UInt64 => $f::<u64>($($args),*),
            DType::Float32 => $f::<f32>($($args),*),
            DType::Float64 => $f::<f64>($($args),*),
            DType::Bool => Err(Error::DType("cumulative operations over bool blocks".into())),
        }
    };
}

/// The cumulative `op` of one block along `axis`.
pub fn cum_block(b: &Buffer, axis: usize, op: CumOp) -> Result<Buffer> {
    if let CumOp::Ufunc(r) = op {
        return fold_scan(b, None, axis, r);
    }
    let b = cast_block(b, op.dtype(b.dtype())?)?;
    by_dtype!(b.dtype(), cum_typed, &b, axis, op)
}

/// The in-order scan of `b` along `axis` with the ufunc's `(t, t) -> t` loop: row k becomes
/// `f(row k-1, row k)`, the first row starting from `seed`'s last row when given.
fn fold_scan(b: &Buffer, seed: Option<&Buffer>, axis: usize, r: UfuncRef) -> Result<Buffer> {
    let lp = r.fold_loop(b.dtype())?;
    let t = lp.output();
    let src = contiguous(&cast_block(b, t)?)?;
    let shape = src.shape().to_vec();
    let isz = t.itemsize();
    // A private copy to scan in place (the input may be shared).
    let mut data = Buffer::zeros(t, &shape)?;
    // SAFETY: `src` is contiguous with `len` elements of `t`.
    let src_bytes = unsafe { std::slice::from_raw_parts(src.as_ptr(), src.len() * isz) };
    data.as_mut_bytes()?.copy_from_slice(src_bytes);
    let inner: usize = shape[axis + 1..].iter().product();
    let len = shape[axis];
    let outer: usize = shape[..axis].iter().product();
    let seed = match seed {
        Some(p) => Some(contiguous(&cast_block(p, t)?)?),
        None => None,
    };
    let row = inner * isz;
    let mut scratch = vec![0u8; row];
    let bytes = data.as_mut_bytes()?;
    for o in 0..outer {
        let start = if seed.is_some() { 0 } else { 1 };
        for k in start..len {
            let at = (o * len + k) * row;
            let prev: *const u8 = if k == 0 {
                let p = seed.as_ref().expect("a seed for the first row");
                let plen = p.shape()[axis];
                if plen == 0 {
                    continue;
                }
                // SAFETY: the seed's last row along the axis, `inner` elements of `t`.
                unsafe { p.as_ptr().add((o * plen + plen - 1) * row) }
            } else {
                bytes[at - row..at].as_ptr()
            };
            let mut args = [
                prev as *mut u8,
                bytes[at..at + row].as_mut_ptr(),
                scratch.as_mut_ptr(),
            ];
            let steps = [isz as isize; 3];
            // SAFETY: three rows of `inner` elements of the loop's type; the output is
            // the scratch row, apart from both inputs.
            unsafe { lp.run(&mut args, inner, &steps) }?;
            bytes[at..at + row].copy_from_slice(&scratch);
        }
    }
    Ok(data)
}

fn carry_typed<T: Num + Element>(
    local: &Buffer,
    prev: &Buffer,
    axis: usize,
    op: CumOp,
) -> Result<Buffer> {
    let local = contiguous(local)?;
    let prev = contiguous(prev)?;
    let shape = local.shape().to_vec();
    let pshape = prev.shape();
    let inner: usize = shape[axis + 1..].iter().product();
    let (len, plen) = (shape[axis], pshape[axis]);
    let mut data: Vec<T> = local.as_slice::<T>()?.to_vec();
    let p = prev.as_slice::<T>()?;
    if plen == 0 {
        return Buffer::from_vec(data, &shape);
    }
    let outer: usize = shape[..axis].iter().product();
    for o in 0..outer {
        let last = &p[(o * plen + plen - 1) * inner..(o * plen + plen) * inner];
        for k in 0..len {
            let row = &mut data[(o * len + k) * inner..(o * len + k + 1) * inner];
            for (x, &c) in row.iter_mut().zip(last) {
                *x = op.combine(*x, c);
            }
        }
    }
    Buffer::from_vec(data, &shape)
}

/// `local` (a block's own cumulative result) continued from `prev`, the final result of the
/// previous block along `axis`.
pub fn cum_carry(local: &Buffer, prev: &Buffer, axis: usize, op: CumOp) -> Result<Buffer> {
    if let CumOp::Ufunc(r) = op {
        // `local` is the block itself here: its scan starts from `prev`.
        return fold_scan(local, Some(prev), axis, r);
    }
    if local.dtype() != prev.dtype() {
        return Err(Error::DType(
            "cumulative carry between different dtypes".into(),
        ));
    }
    by_dtype!(local.dtype(), carry_typed, local, prev, axis, op)
}
