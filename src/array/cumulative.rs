//! Cumulative sums and products along an axis: each block is accumulated locally, then the
//! running total of the previous block along the axis is carried in (a chain per row of
//! blocks, like `dask.array.cumsum`).

use super::reduce_kernel::sum_dtype;
use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::kernel::cast_block;
use crate::value::block::contiguous;
use crate::value::{Buffer, DType, Element};

fn cum_typed<T: Num + Element>(b: &Buffer, axis: usize, multiply: bool) -> Result<Buffer> {
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
                *c = if multiply {
                    T::mul(*c, p)
                } else {
                    T::add(*c, p)
                };
            }
        }
    }
    Buffer::from_vec(data, &shape)
}

/// The dtype a cumulative sum/product produces (NumPy: like `sum`).
pub fn cum_dtype(d: DType) -> DType {
    sum_dtype(d)
}

macro_rules! by_dtype {
    ($d:expr, $f:ident, $($args:expr),*) => {
        match $d {
            DType::Int64 => $f::<i64>($($args),*),
            DType::UInt64 => $f::<u64>($($args),*),
            DType::Float32 => $f::<f32>($($args),*),
            DType::Float64 => $f::<f64>($($args),*),
            other => Err(Error::DType(format!("cumulative operations need a sum dtype, not {}", other.name()))),
        }
    };
}

/// Cumulative sum/product of one block along `axis`.
pub fn cum_block(b: &Buffer, axis: usize, multiply: bool) -> Result<Buffer> {
    let b = cast_block(b, cum_dtype(b.dtype()))?;
    by_dtype!(b.dtype(), cum_typed, &b, axis, multiply)
}

fn carry_typed<T: Num + Element>(
    local: &Buffer,
    prev: &Buffer,
    axis: usize,
    multiply: bool,
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
                *x = if multiply {
                    T::mul(*x, c)
                } else {
                    T::add(*x, c)
                };
            }
        }
    }
    Buffer::from_vec(data, &shape)
}

/// `local` (a block's own cumulative result) continued from `prev`, the final result of the
/// previous block along `axis`.
pub fn cum_carry(local: &Buffer, prev: &Buffer, axis: usize, multiply: bool) -> Result<Buffer> {
    if local.dtype() != prev.dtype() {
        return Err(Error::DType(
            "cumulative carry between different dtypes".into(),
        ));
    }
    by_dtype!(local.dtype(), carry_typed, local, prev, axis, multiply)
}
