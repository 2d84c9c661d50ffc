//! Cumulative sums, products, maxima and minima along an axis: each block is accumulated
//! locally, then the running result of the previous block along the axis is carried in (a
//! chain per row of blocks, like `dask.array.cumsum`).

use super::reduce_kernel::sum_dtype;
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
}

impl CumOp {
    #[inline(always)]
    fn combine<T: Num>(self, x: T, prev: T) -> T {
        match self {
            CumOp::Sum => T::add(x, prev),
            CumOp::Prod => T::mul(x, prev),
            CumOp::Max => T::maximum(prev, x),
            CumOp::Min => T::minimum(prev, x),
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Result<CumOp> {
        [CumOp::Sum, CumOp::Prod, CumOp::Max, CumOp::Min]
            .get(c as usize)
            .copied()
            .ok_or_else(|| Error::Corrupt(format!("cumulative operation code {c}")))
    }

    pub fn name(self) -> &'static str {
        match self {
            CumOp::Sum => "cumsum",
            CumOp::Prod => "cumprod",
            CumOp::Max => "cummax",
            CumOp::Min => "cummin",
        }
    }

    /// The result dtype: sums and products widen like `sum` (NumPy); maxima and minima keep
    /// the input's.
    pub fn dtype(self, d: DType) -> Result<DType> {
        match self {
            CumOp::Sum | CumOp::Prod => Ok(sum_dtype(d)),
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
    let b = cast_block(b, op.dtype(b.dtype())?)?;
    by_dtype!(b.dtype(), cum_typed, &b, axis, op)
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
    if local.dtype() != prev.dtype() {
        return Err(Error::DType(
            "cumulative carry between different dtypes".into(),
        ));
    }
    by_dtype!(local.dtype(), carry_typed, local, prev, axis, op)
}
