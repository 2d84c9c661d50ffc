//! tensordot / matmul with sparse operands: operands are laid out as 2-d matrices (free axes x
//! contracted axes), multiplied row by row (Gustavson's algorithm for sparse x sparse, a dense
//! accumulator per row), and the result is shaped back. Sparse x sparse gives a sparse result
//! by default; any dense operand gives a dense one; `return_type` overrides both.

use super::matrix::{to_csr, Csr, Index};
use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::kernel::cast_block;
use crate::ufunc::promote::promote;
use crate::value::block::{contiguous, transpose_block};
use crate::value::Coo;
use crate::value::{Buffer, DType, Element};

/// The layout of a tensordot result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnType {
    /// Sparse when both operands are sparse, else dense (pydata/sparse's default).
    Auto,
    Sparse,
    Dense,
}

/// An operand of `tensordot`.
#[derive(Debug, Clone)]
pub enum DotArg<'a> {
    Sparse(&'a Coo),
    Dense(&'a Buffer),
}

/// A result of `tensordot`.
#[derive(Debug, Clone)]
pub enum DotResult {
    Sparse(Coo),
    Dense(Buffer),
}

fn sp_dense<T: Element + Num, I: Index>(a: &Csr<T, I>, b: &[T], n: usize) -> Vec<T> {
    let mut out = vec![T::ZERO; a.rows * n];
    for r in 0..a.rows {
        let row = &mut out[r * n..(r + 1) * n];
        for p in a.indptr[r]..a.indptr[r + 1] {
            let (k, v) = (a.indices[p].at(), a.values[p]);
            for (o, &x) in row.iter_mut().zip(&b[k * n..(k + 1) * n]) {
                *o = T::add(*o, T::mul(v, x));
            }
        }
    }
    out
}

/// Dense `x` permuted by `perm`, as a row-major `rows x cols` vector of T.
fn dense_matrix<T: Element + Copy>(x: &Buffer, perm: &[usize]) -> Result<Vec<T>> {
    let t = contiguous(&transpose_block(&cast_block(x, T::DTYPE)?, perm)?)?;
    Ok(t.as_slice::<T>()?.to_vec())
}

fn typed<T: Element + Num>(
    a: &DotArg,
    b: &DotArg,
    axes_a: &[usize],
    axes_b: &[usize],
    rt: ReturnType,
    shape: &[usize],
) -> Result<DotResult> {
    // Matrix columns are the contracted size (left) and the right's free size.
    let contracted: usize = axes_a.iter().map(|&k| arg_shape(a)[k]).product();
    let free: usize = (0..arg_shape(b).len())
        .filter(|k| !axes_b.contains(k))
        .map(|k| arg_shape(b)[k])
        .product();
    if contracted.max(free) <= u32::MAX as usize + 1 {
        typed_with::<T, u32>(a, b, axes_a, axes_b, rt, shape)
    } else {
        typed_with::<T, u64>(a, b, axes_a, axes_b, rt, shape)
    }
}

fn typed_with<T: Element + Num, I: Index>(
    a: &DotArg,
    b: &DotArg,
    axes_a: &[usize],
    axes_b: &[usize],
    rt: ReturnType,
    shape: &[usize],
) -> Result<DotResult> {
    let (nda, ndb) = (arg_shape(a).len(), arg_shape(b).len());
    let free_a: Vec<usize> = (0..nda).filter(|k| !axes_a.contains(k)).collect();
    let free_b: Vec<usize> = (0..ndb).filter(|k| !axes_b.contains(k)).collect();
    let perm_a: Vec<usize> = free_a.iter().chain(axes_a).copied().collect();
    let perm_b: Vec<usize> = axes_b.iter().chain(&free_b).copied().collect();
    let n: usize = free_b.iter().map(|&k| arg_shape(b)[k]).product();
    let dense_out = |v: Vec<T>| Buffer::from_vec(v, shape);
    let result = match (a, b) {
        (DotArg::Sparse(x), DotArg::Sparse(y)) => {
            let (ca, cb) = (
                to_csr::<T, I>(x, &perm_a, free_a.len())?,
                to_csr::<T, I>(y, &perm_b, axes_b.len())?,
            );
            // Matrix rows and columns are the result's coordinates when each side keeps one axis.
            let rows_and_cols = free_a.len() == 1 && free_b.len() == 1;
            DotResult::Sparse(super::spgemm::multiply(&ca, &cb, shape, rows_and_cols)?)
        }
        (DotArg::Sparse(x), DotArg::Dense(y)) => {
            let ca = to_csr::<T, I>(x, &perm_a, free_a.len())?;
            DotResult::Dense(dense_out(sp_dense(
                &ca,
                &dense_matrix::<T>(y, &perm_b)?,
                n,
            ))?)
        }
        (DotArg::Dense(x), DotArg::Sparse(y)) => {
            // (A B) = (B^T A^T)^T: multiply with the sparse operand on the left.
            let cb_t = to_csr::<T, I>(
                y,
                &free_b.iter().chain(axes_b).copied().collect::<Vec<_>>(),
                free_b.len(),
            )?;
            let m: usize = free_a.iter().map(|&k| arg_shape(a)[k]).product();
            let at = dense_matrix::<T>(
                x,
                &axes_a.iter().chain(&free_a).copied().collect::<Vec<_>>(),
            )?;
            let prod_t = sp_dense(&cb_t, &at, m); // n x m
            let mut out = vec![T::ZERO; m * n];
            for i in 0..n {
                for j in 0..m {
                    out[j * n + i] = prod_t[i * m + j];
                }
            }
            DotResult::Dense(dense_out(out)?)
        }
        (DotArg::Dense(_), DotArg::Dense(_)) => {
            return Err(Error::invalid("sparse tensordot needs a sparse operand"))
        }
    };
    Ok(match (result, rt) {
        (DotResult::Sparse(c), ReturnType::Dense) => DotResult::Dense(c.to_dense()?),
        (DotResult::Dense(d), ReturnType::Sparse) => {
            DotResult::Sparse(Coo::from_dense(&d, crate::value::Scalar::Int(0))?)
        }
        (r, _) => r,
    })
}

fn arg_shape<'a>(a: &'a DotArg) -> &'a [usize] {
    match a {
        DotArg::Sparse(s) => s.shape(),
        DotArg::Dense(d) => d.shape(),
    }
}

fn arg_dtype(a: &DotArg) -> DType {
    match a {
        DotArg::Sparse(s) => s.dtype(),
        DotArg::Dense(d) => d.dtype(),
    }
}

/// `tensordot(a, b, axes=(axes_a, axes_b))` with at least one sparse operand.
pub fn tensordot(
    a: &DotArg,
    b: &DotArg,
    axes_a: &[usize],
    axes_b: &[usize],
    rt: ReturnType,
) -> Result<DotResult> {
    let (sa, sb) = (arg_shape(a), arg_shape(b));
    if axes_a.len() != axes_b.len() {
        return Err(Error::Shape(
            "tensordot: the two axis lists differ in length".into(),
        ));
    }
    for (&i, &j) in axes_a.iter().zip(axes_b) {
        if i >= sa.len() || j >= sb.len() || sa[i] != sb[j] {
            return Err(Error::Shape(format!(
                "tensordot: axes {axes_a:?} of {sa:?} and {axes_b:?} of {sb:?} do not match"
            )));
        }
    }
    let shape: Vec<usize> = (0..sa.len())
        .filter(|k| !axes_a.contains(k))
        .map(|k| sa[k])
        .chain((0..sb.len()).filter(|k| !axes_b.contains(k)).map(|k| sb[k]))
        .collect();
    let dtype = promote(arg_dtype(a), arg_dtype(b));
    let r = match dtype {
        DType::Float32 => typed::<f32>(a, b, axes_a, axes_b, rt, &shape)?,
        DType::Float64 => typed::<f64>(a, b, axes_a, axes_b, rt, &shape)?,
        DType::UInt64 | DType::UInt32 | DType::UInt16 | DType::UInt8 => {
            typed::<u64>(a, b, axes_a, axes_b, rt, &shape)?
        }
        _ => typed::<i64>(a, b, axes_a, axes_b, rt, &shape)?,
    };
    // Results come in the promoted dtype (bool and small ints are computed wider).
    Ok(match r {
        DotResult::Sparse(c) if c.dtype() != dtype => DotResult::Sparse(c.astype(dtype)?),
        DotResult::Dense(d) if d.dtype() != dtype => DotResult::Dense(cast_block(&d, dtype)?),
        r => r,
    })
}

/// `a @ b` for 2-d (and 1-d) operands.
pub fn matmul(a: &DotArg, b: &DotArg, rt: ReturnType) -> Result<DotResult> {
    let (na, nb) = (arg_shape(a).len(), arg_shape(b).len());
    if na == 0 || nb == 0 || na > 2 || nb > 2 {
        return Err(Error::Shape(format!(
            "matmul of {na}-d and {nb}-d arrays (1-d and 2-d only)"
        )));
    }
    tensordot(a, b, &[na - 1], &[0], rt)
}
