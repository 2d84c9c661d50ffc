//! Coordinates of a COO array, stored in the smallest unsigned type that holds the largest
//! index of the shape (u8 for a (10,10,10,10) array): small arrays stay small, as nbytes shows.

use crate::error::{Error, Result};

/// `ndim x nnz` coordinates, axis-major (`coords[axis * nnz + i]`), like pydata/sparse's
/// `coords` array.
#[derive(Debug, Clone, PartialEq)]
pub enum Coords {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Coords {
    /// Bytes per coordinate needed for `shape`.
    pub fn width_for(shape: &[usize]) -> usize {
        let max = shape.iter().copied().max().unwrap_or(0).saturating_sub(1) as u64;
        if max <= u8::MAX as u64 {
            1
        } else if max <= u16::MAX as u64 {
            2
        } else if max <= u32::MAX as u64 {
            4
        } else {
            8
        }
    }

    /// Coordinates of the entries with row-major linear indices `linear` in `shape`.
    pub fn from_linear(shape: &[usize], linear: &[u64]) -> Coords {
        let nd = shape.len();
        let nnz = linear.len();
        let mut all = vec![0u64; nd * nnz];
        for (i, &l) in linear.iter().enumerate() {
            let mut rest = l;
            for a in (1..nd).rev() {
                let n = shape[a].max(1) as u64;
                all[a * nnz + i] = rest % n;
                rest /= n;
            }
            if nd > 0 {
                all[i] = rest;
            }
        }
        Coords::narrow(shape, all)
    }

    /// Stores `all` (u64, axis-major) in the width `shape` needs.
    pub fn narrow(shape: &[usize], all: Vec<u64>) -> Coords {
        match Coords::width_for(shape) {
            1 => Coords::U8(all.into_iter().map(|c| c as u8).collect()),
            2 => Coords::U16(all.into_iter().map(|c| c as u16).collect()),
            4 => Coords::U32(all.into_iter().map(|c| c as u32).collect()),
            _ => Coords::U64(all),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Coords::U8(v) => v.len(),
            Coords::U16(v) => v.len(),
            Coords::U32(v) => v.len(),
            Coords::U64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Coordinate `k` of the flat (axis-major) storage.
    pub fn get(&self, k: usize) -> u64 {
        match self {
            Coords::U8(v) => v[k] as u64,
            Coords::U16(v) => v[k] as u64,
            Coords::U32(v) => v[k] as u64,
            Coords::U64(v) => v[k],
        }
    }

    /// Adds `stride` times every coordinate along `axis` (of `nnz` entries) to `out`: the
    /// building block of linear indices, one typed pass per axis.
    pub fn add_scaled(&self, axis: usize, nnz: usize, stride: u64, out: &mut [u64]) {
        fn go<C: Copy + Into<u64>>(row: &[C], stride: u64, out: &mut [u64]) {
            for (o, &c) in out.iter_mut().zip(row) {
                *o += c.into() * stride;
            }
        }
        let range = axis * nnz..(axis + 1) * nnz;
        match self {
            Coords::U8(v) => go(&v[range], stride, out),
            Coords::U16(v) => go(&v[range], stride, out),
            Coords::U32(v) => go(&v[range], stride, out),
            Coords::U64(v) => go(&v[range], stride, out),
        }
    }

    /// The coordinates of the entries `keep` (ascending) of the `nnz` entries.
    pub fn select(&self, nnz: usize, keep: &[usize]) -> Coords {
        fn go<C: Copy>(v: &[C], nnz: usize, keep: &[usize]) -> Vec<C> {
            let axes = v.len().checked_div(nnz).unwrap_or(0);
            (0..axes)
                .flat_map(|a| keep.iter().map(move |&i| v[a * nnz + i]))
                .collect()
        }
        match self {
            Coords::U8(v) => Coords::U8(go(v, nnz, keep)),
            Coords::U16(v) => Coords::U16(go(v, nnz, keep)),
            Coords::U32(v) => Coords::U32(go(v, nnz, keep)),
            Coords::U64(v) => Coords::U64(go(v, nnz, keep)),
        }
    }

    /// The coordinates of `parts` (each `(coords, nnz, offset per axis)`) one after the
    /// other, shifted by their offsets, in the width `shape` needs.
    pub fn concat_shifted(shape: &[usize], parts: &[(&Coords, usize, &[usize])]) -> Coords {
        fn go<C: Copy + TryFrom<u64>>(
            shape: &[usize],
            parts: &[(&Coords, usize, &[usize])],
        ) -> Vec<C> {
            let total: usize = parts.iter().map(|p| p.1).sum();
            let mut out: Vec<C> = Vec::with_capacity(shape.len() * total);
            let narrow = |x: u64| C::try_from(x).ok().expect("coordinate fits the shape");
            for a in 0..shape.len() {
                for &(coords, nnz, offset) in parts {
                    let o = offset[a] as u64;
                    let range = a * nnz..(a + 1) * nnz;
                    match coords {
                        Coords::U8(v) => out.extend(v[range].iter().map(|&c| narrow(c as u64 + o))),
                        Coords::U16(v) => {
                            out.extend(v[range].iter().map(|&c| narrow(c as u64 + o)))
                        }
                        Coords::U32(v) => {
                            out.extend(v[range].iter().map(|&c| narrow(c as u64 + o)))
                        }
                        Coords::U64(v) => out.extend(v[range].iter().map(|&c| narrow(c + o))),
                    }
                }
            }
            out
        }
        match Coords::width_for(shape) {
            1 => Coords::U8(go(shape, parts)),
            2 => Coords::U16(go(shape, parts)),
            4 => Coords::U32(go(shape, parts)),
            _ => Coords::U64(go(shape, parts)),
        }
    }

    /// Bytes held.
    pub fn nbytes(&self) -> usize {
        match self {
            Coords::U8(v) => v.len(),
            Coords::U16(v) => v.len() * 2,
            Coords::U32(v) => v.len() * 4,
            Coords::U64(v) => v.len() * 8,
        }
    }

    /// Bytes per coordinate.
    pub fn width(&self) -> usize {
        match self {
            Coords::U8(_) => 1,
            Coords::U16(_) => 2,
            Coords::U32(_) => 4,
            Coords::U64(_) => 8,
        }
    }
}

/// Row-major strides (in elements) of `shape`, checking that its size fits in u64.
pub fn linear_strides(shape: &[usize]) -> Result<Vec<u64>> {
    let mut strides = vec![1u64; shape.len()];
    let mut acc: u64 = 1;
    for a in (0..shape.len()).rev() {
        strides[a] = acc;
        acc = acc
            .checked_mul(shape[a].max(1) as u64)
            .ok_or_else(|| Error::Shape(format!("shape {shape:?} has more than 2^64 elements")))?;
    }
    Ok(strides)
}
