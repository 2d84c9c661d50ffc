//! tensordot / matmul with sparse operands: operands are laid out as 2-d matrices (free axes x
//! contracted axes), multiplied row by row (Gustavson's algorithm for sparse x sparse, a dense
//! accumulator per row), and the result is shaped back. Sparse x sparse gives a sparse result
//! by default; any dense operand gives a dense one; `return_type` overrides both.

use super::coo::Coo;
use crate::array::block::{cast_block, contiguous, transpose_block};
use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::promote::promote;
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

/// Compressed rows of a matrix: row starts, column indices, values (typed).
struct Csr<T> {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<T>,
}

/// `x` (transposed by `perm`, then seen as rows x cols in row-major order) in CSR form.
fn to_csr<T: Element + Copy>(x: &Coo, perm: &[usize], split: usize) -> Result<Csr<T>> {
    let fill = x.fill_value().as_f64();
    if fill != 0.0 {
        return Err(Error::invalid(format!(
            "tensordot of a sparse array needs fill value 0, not {fill}"
        )));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let rows: usize = shape[..split].iter().product();
    let cols: usize = shape[split..].iter().product();
    let data = cast_block(x.data(), T::DTYPE)?;
    let src = data.as_slice::<T>()?;
    let n = x.nnz();
    let mut indptr = vec![0usize; rows + 1];
    let mut indices = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    let identity = perm.iter().enumerate().all(|(i, &p)| i == p);
    if identity && x.ndim() == 2 && split == 1 {
        // Already in row order, and rows and columns are the coordinates themselves.
        for i in 0..n {
            indptr[x.coord(0, i) as usize + 1] += 1;
            indices.push(x.coord(1, i) as usize);
        }
        values.extend_from_slice(src);
    } else {
        // (row, column) of every entry in the permuted layout, then one sort by position:
        // the transpose without building an intermediate COO.
        let mut row_of = vec![0u64; n];
        let mut col_of = vec![0u64; n];
        for (k, &p) in perm.iter().enumerate() {
            let (target, within) = if k < split {
                (&mut row_of, k)
            } else {
                (&mut col_of, k - split)
            };
            let group = if k < split {
                &shape[..split]
            } else {
                &shape[split..]
            };
            let stride: u64 = group[within + 1..].iter().map(|&d| d as u64).product();
            for (i, t) in target.iter_mut().enumerate() {
                *t += x.coord(p, i) * stride;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        if !identity {
            order.sort_unstable_by_key(|&i| (row_of[i], col_of[i]));
        }
        for &i in &order {
            indptr[row_of[i] as usize + 1] += 1;
            indices.push(col_of[i] as usize);
            values.push(src[i]);
        }
    }
    for r in 0..rows {
        indptr[r + 1] += indptr[r];
    }
    Ok(Csr {
        rows,
        cols,
        indptr,
        indices,
        values,
    })
}

/// Row-by-row product for wide results: the products of a result row are gathered as (column, value) pairs,
/// sorted by column and summed run by run. This keeps every access sequential (no
/// accumulator the width of the matrix) and yields each row already sorted. Returns the
/// (row, column, value) triplets in row-major order without entries that cancel to zero, so
/// the result is canonical.
fn spgemm_sorted<T: Element + Num>(a: &Csr<T>, b: &Csr<T>) -> (Vec<u64>, Vec<u64>, Vec<T>) {
    // Upper bound of the output size, to allocate once.
    let bound: usize = (0..a.rows)
        .map(|r| {
            (a.indptr[r]..a.indptr[r + 1])
                .map(|p| b.indptr[a.indices[p] + 1] - b.indptr[a.indices[p]])
                .sum::<usize>()
        })
        .sum();
    let (mut rows, mut cols, mut values) = (
        Vec::with_capacity(bound),
        Vec::with_capacity(bound),
        Vec::with_capacity(bound),
    );
    let mut pairs: Vec<(u32, T)> = Vec::new();
    let wide = b.cols > u32::MAX as usize;
    let mut wide_pairs: Vec<(usize, T)> = Vec::new();
    for r in 0..a.rows {
        pairs.clear();
        wide_pairs.clear();
        for p in a.indptr[r]..a.indptr[r + 1] {
            let (k, v) = (a.indices[p], a.values[p]);
            for q in b.indptr[k]..b.indptr[k + 1] {
                let prod = T::mul(v, b.values[q]);
                if wide {
                    wide_pairs.push((b.indices[q], prod));
                } else {
                    pairs.push((b.indices[q] as u32, prod));
                }
            }
        }
        let mut emit = |c: usize, v: T| {
            if v != T::ZERO {
                rows.push(r as u64);
                cols.push(c as u64);
                values.push(v);
            }
        };
        if wide {
            wide_pairs.sort_unstable_by_key(|e| e.0);
            let mut it = wide_pairs.iter().peekable();
            while let Some(&(c, mut v)) = it.next() {
                while let Some(&&(c2, v2)) = it.peek() {
                    if c2 != c {
                        break;
                    }
                    v = T::add(v, v2);
                    it.next();
                }
                emit(c, v);
            }
        } else {
            pairs.sort_unstable_by_key(|e| e.0);
            let mut it = pairs.iter().peekable();
            while let Some(&(c, mut v)) = it.next() {
                while let Some(&&(c2, v2)) = it.peek() {
                    if c2 != c {
                        break;
                    }
                    v = T::add(v, v2);
                    it.next();
                }
                emit(c as usize, v);
            }
        }
    }
    (rows, cols, values)
}

/// Gustavson's row-by-row product with a dense accumulator row (best when the result has
/// few columns: the accumulator stays in cache); returns the result's (row, column, value) triplets in
/// row-major order, without the entries that cancel to zero (so the result is canonical).
fn spgemm_acc<T: Element + Num>(a: &Csr<T>, b: &Csr<T>) -> (Vec<u64>, Vec<u64>, Vec<T>) {
    let n = b.cols;
    let mut acc = vec![T::ZERO; n];
    let mut seen = vec![false; n];
    let mut touched: Vec<usize> = Vec::new();
    let (mut rows, mut cols, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..a.rows {
        for p in a.indptr[r]..a.indptr[r + 1] {
            let (k, v) = (a.indices[p], a.values[p]);
            for q in b.indptr[k]..b.indptr[k + 1] {
                let c = b.indices[q];
                acc[c] = T::add(acc[c], T::mul(v, b.values[q]));
                if !seen[c] {
                    seen[c] = true;
                    touched.push(c);
                }
            }
        }
        touched.sort_unstable();
        for &c in &touched {
            if acc[c] != T::ZERO {
                rows.push(r as u64);
                cols.push(c as u64);
                values.push(acc[c]);
            }
            acc[c] = T::ZERO;
            seen[c] = false;
        }
        touched.clear();
    }
    (rows, cols, values)
}

/// The product of two CSR matrices, in the form that suits the result's width.
fn spgemm<T: Element + Num>(a: &Csr<T>, b: &Csr<T>) -> (Vec<u64>, Vec<u64>, Vec<T>) {
    // An accumulator row of up to 32k values (256 KiB of f64) stays in L2.
    if b.cols <= 32_768 {
        spgemm_acc(a, b)
    } else {
        spgemm_sorted(a, b)
    }
}

fn sp_dense<T: Element + Num>(a: &Csr<T>, b: &[T], n: usize) -> Vec<T> {
    let mut out = vec![T::ZERO; a.rows * n];
    for r in 0..a.rows {
        let row = &mut out[r * n..(r + 1) * n];
        for p in a.indptr[r]..a.indptr[r + 1] {
            let (k, v) = (a.indices[p], a.values[p]);
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
                to_csr::<T>(x, &perm_a, free_a.len())?,
                to_csr::<T>(y, &perm_b, axes_b.len())?,
            );
            let (rows, cols, values) = spgemm(&ca, &cb);
            let nnz = values.len();
            let data = Buffer::from_vec(values, &[nnz])?;
            // Matrix rows and columns are the result's coordinates when each side keeps one axis.
            DotResult::Sparse(if free_a.len() == 1 && free_b.len() == 1 {
                let mut all = rows;
                all.extend_from_slice(&cols);
                Coo::from_canonical(
                    shape,
                    crate::sparse::Coords::narrow(shape, all),
                    data,
                    [0u8; 8],
                )?
            } else {
                let n = cb.cols as u64;
                let linear = rows.iter().zip(&cols).map(|(&r, &c)| r * n + c).collect();
                Coo::from_sorted(shape, linear, data, [0u8; 8])?
            })
        }
        (DotArg::Sparse(x), DotArg::Dense(y)) => {
            let ca = to_csr::<T>(x, &perm_a, free_a.len())?;
            DotResult::Dense(dense_out(sp_dense(
                &ca,
                &dense_matrix::<T>(y, &perm_b)?,
                n,
            ))?)
        }
        (DotArg::Dense(x), DotArg::Sparse(y)) => {
            // (A B) = (B^T A^T)^T: multiply with the sparse operand on the left.
            let cb_t = to_csr::<T>(
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
            DotResult::Sparse(Coo::from_dense(&d, crate::array::Scalar::Int(0))?)
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
