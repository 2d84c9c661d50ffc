//! The 2-d matrix view of a sparse operand of a product: its axes permuted and grouped into
//! rows and columns, in compressed-row form. Borrowed from the COO array when the layout
//! already is the matrix's, so a block task that multiplies by a large shared operand does not
//! copy it.

use crate::error::{Error, Result};
use crate::ufunc::kernel::cast_block;
use crate::value::Coo;
use crate::value::Coords;
use crate::value::Element;
use std::borrow::Cow;

/// A column index of a compressed matrix: u32 when the columns fit (half the memory
/// traffic), u64 otherwise.
pub(super) trait Index: Copy + Send + Sync + 'static {
    fn at(self) -> usize;
    fn of(c: usize) -> Self;
    /// The stored coordinates themselves, when they already have this width.
    fn borrow(coords: &Coords, range: std::ops::Range<usize>) -> Option<&[Self]>;
}

impl Index for u32 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn of(c: usize) -> Self {
        c as u32
    }
    fn borrow(coords: &Coords, range: std::ops::Range<usize>) -> Option<&[Self]> {
        match coords {
            Coords::U32(v) => Some(&v[range]),
            _ => None,
        }
    }
}

impl Index for u64 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn of(c: usize) -> Self {
        c as u64
    }
    fn borrow(coords: &Coords, range: std::ops::Range<usize>) -> Option<&[Self]> {
        match coords {
            Coords::U64(v) => Some(&v[range]),
            _ => None,
        }
    }
}

/// Compressed rows of a matrix: row starts, column indices, values (typed). Indices and
/// values are borrowed from the COO array when its layout already is the matrix's (a 2-d
/// array in row order, coordinates of the index width, data of the value type).
pub(super) struct Csr<'a, T: Clone, I: Clone> {
    pub rows: usize,
    pub cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Cow<'a, [I]>,
    pub values: Cow<'a, [T]>,
}

/// `x` (transposed by `perm`, then seen as rows x cols in row-major order) in CSR form.
/// Rows are grouped, but the entries of a row are only sorted when no transposition was
/// needed: every product below accumulates or sorts within a row.
pub(super) fn to_csr<'a, T: Element + Copy, I: Index>(
    x: &'a Coo,
    perm: &[usize],
    split: usize,
) -> Result<Csr<'a, T, I>> {
    let fill = x.fill_value().as_f64();
    if fill != 0.0 {
        return Err(Error::invalid(format!(
            "tensordot of a sparse array needs fill value 0, not {fill}"
        )));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let rows: usize = shape[..split].iter().product();
    let cols: usize = shape[split..].iter().product();
    let n = x.nnz();
    let src: Cow<'a, [T]> = if x.dtype() == T::DTYPE {
        Cow::Borrowed(x.data().as_slice::<T>()?)
    } else {
        Cow::Owned(cast_block(x.data(), T::DTYPE)?.as_slice::<T>()?.to_vec())
    };
    let mut indptr = vec![0usize; rows + 1];
    let identity = perm.iter().enumerate().all(|(i, &p)| i == p);
    if identity && x.ndim() == 2 && split == 1 {
        // Already in row order, and rows and columns are the coordinates themselves.
        let mut row_of = vec![0u64; n];
        x.coords.add_scaled(0, n, 1, &mut row_of);
        for &r in &row_of {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        let indices = match I::borrow(&x.coords, n..2 * n) {
            Some(v) => Cow::Borrowed(v),
            None => {
                let mut c = vec![0u64; n];
                x.coords.add_scaled(1, n, 1, &mut c);
                Cow::Owned(c.into_iter().map(|c| I::of(c as usize)).collect())
            }
        };
        return Ok(Csr {
            rows,
            cols,
            indptr,
            indices,
            values: src,
        });
    }
    // (row, column) of every entry in the permuted layout, then a counting sort by row
    // (stable, O(nnz + rows)).
    let mut row_of = vec![0u64; n];
    let mut col_of = vec![0u64; n];
    for (k, &p) in perm.iter().enumerate() {
        let (target, group, within) = if k < split {
            (&mut row_of, &shape[..split], k)
        } else {
            (&mut col_of, &shape[split..], k - split)
        };
        let stride: u64 = group[within + 1..].iter().map(|&d| d as u64).product();
        x.coords.add_scaled(p, n, stride, target);
    }
    for &r in &row_of {
        indptr[r as usize + 1] += 1;
    }
    for r in 0..rows {
        indptr[r + 1] += indptr[r];
    }
    let mut next = indptr[..rows].to_vec();
    let mut indices = vec![I::of(0); n];
    let mut values: Vec<T> = src.to_vec(); // placeholders, each overwritten below
    for i in 0..n {
        let r = row_of[i] as usize;
        indices[next[r]] = I::of(col_of[i] as usize);
        values[next[r]] = src[i];
        next[r] += 1;
    }
    Ok(Csr {
        rows,
        cols,
        indptr,
        indices: Cow::Owned(indices),
        values: Cow::Owned(values),
    })
}
