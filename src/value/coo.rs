//! The COO sparse block: shape, sorted and deduplicated coordinates, data, fill value —
//! the value kind that sparse arrays are made of, with the constructors that check its
//! invariants. The sparse kernels (elementwise, products, reductions, restructuring) are in
//! `crate::sparse`.

use super::block::contiguous;
use super::coords::{linear_strides, Coords};
use super::{Buffer, DType, Scalar};
use crate::error::{Error, Result};
use std::sync::Arc;

/// An n-dimensional sparse array in coordinate format (pydata/sparse's `COO`), in canonical
/// form: entries sorted by row-major position, no duplicates, no stored entry equal to the
/// fill value. Immutable; cheap to clone (coordinates and data are shared).
#[derive(Debug, Clone)]
pub struct Coo {
    pub(crate) shape: Vec<usize>,
    pub(crate) coords: Arc<Coords>,
    pub(crate) data: Buffer,
    /// The fill value as one element of the dtype (native byte order, zero-padded).
    pub(crate) fill: [u8; 8],
}

/// The bytes of element `i` of a contiguous buffer.
pub(crate) fn elem(b: &Buffer, i: usize) -> &[u8] {
    let isz = b.dtype().itemsize();
    // SAFETY: callers pass contiguous buffers and `i < len`.
    unsafe { std::slice::from_raw_parts(b.as_ptr().add(i * isz), isz) }
}

/// Indices of the elements of `bytes` (elements of `isz` bytes) that differ bitwise from
/// `fill`, compared as integers of the element's width (no byte-slice comparisons).
pub(crate) fn not_fill(bytes: &[u8], isz: usize, fill: &[u8]) -> Vec<usize> {
    macro_rules! scan {
        ($t:ty) => {{
            let f = <$t>::from_ne_bytes(fill[..isz].try_into().expect("sized"));
            bytes
                .chunks_exact(isz)
                .enumerate()
                .filter(|(_, e)| <$t>::from_ne_bytes((*e).try_into().expect("sized")) != f)
                .map(|(i, _)| i)
                .collect()
        }};
    }
    match isz {
        1 => scan!(u8),
        2 => scan!(u16),
        4 => scan!(u32),
        _ => scan!(u64),
    }
}

/// True when some element of `bytes` equals `fill` bitwise.
fn holds_fill(bytes: &[u8], isz: usize, fill: &[u8]) -> bool {
    macro_rules! any {
        ($t:ty) => {{
            let f = <$t>::from_ne_bytes(fill[..isz].try_into().expect("sized"));
            bytes
                .chunks_exact(isz)
                .any(|e| <$t>::from_ne_bytes(e.try_into().expect("sized")) == f)
        }};
    }
    match isz {
        1 => any!(u8),
        2 => any!(u16),
        4 => any!(u32),
        _ => any!(u64),
    }
}

/// Scalars equal as numbers (NaN equal to NaN).
pub(crate) fn same_scalar(a: Scalar, b: Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(x), Scalar::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (x, y) => x == y,
    }
}

impl Coo {
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }
    /// Stored entries over elements.
    pub fn density(&self) -> f64 {
        if self.size() == 0 {
            0.0
        } else {
            self.nnz() as f64 / self.size() as f64
        }
    }
    /// Bytes of coordinates and data (as pydata/sparse counts `nbytes`).
    pub fn nbytes(&self) -> usize {
        self.coords.nbytes() + self.data.len() * self.dtype().itemsize()
    }
    pub fn coords(&self) -> &Coords {
        &self.coords
    }
    /// The stored values (1-d, C-contiguous).
    pub fn data(&self) -> &Buffer {
        &self.data
    }
    pub fn fill_value(&self) -> Scalar {
        Scalar::from_element(&self.fill, self.dtype())
    }
    /// True when the fill values are the same number (-0.0 equals 0.0, NaN equals NaN), as
    /// pydata/sparse compares them.
    pub fn same_fill(&self, other: &Coo) -> bool {
        same_scalar(self.fill_value(), other.fill_value())
    }

    pub(crate) fn fill_bytes(&self) -> &[u8] {
        &self.fill[..self.dtype().itemsize()]
    }

    /// Coordinate of entry `i` along `axis`.
    pub fn coord(&self, axis: usize, i: usize) -> u64 {
        self.coords.get(axis * self.nnz() + i)
    }

    /// Row-major linear index of every entry.
    pub fn linear(&self) -> Vec<u64> {
        let strides = linear_strides(&self.shape).expect("checked at construction");
        let n = self.nnz();
        let mut out = vec![0u64; n];
        for (a, &s) in strides.iter().enumerate() {
            self.coords.add_scaled(a, n, s, &mut out);
        }
        out
    }

    /// A COO from entries already in canonical order (sorted unique `linear`, `data` 1-d),
    /// dropping entries equal to the fill value.
    pub(crate) fn from_sorted(
        shape: &[usize],
        linear: Vec<u64>,
        data: Buffer,
        fill: [u8; 8],
    ) -> Result<Coo> {
        linear_strides(shape)?;
        let data = contiguous(&data)?;
        let isz = data.dtype().itemsize();
        let bytes: &[u8] = if data.is_empty() {
            &[]
        } else {
            // SAFETY: a contiguous buffer of `len * isz` bytes.
            unsafe { std::slice::from_raw_parts(data.as_ptr(), data.len() * isz) }
        };
        let fillb = &fill[..isz];
        let has_fill = holds_fill(bytes, isz, fillb);
        let keep: Vec<usize> = if has_fill {
            not_fill(bytes, isz, fillb)
        } else {
            Vec::new()
        };
        let (linear, data) = if !has_fill {
            (linear, data)
        } else {
            let mut out = Buffer::zeros(data.dtype(), &[keep.len()])?;
            let bytes = out.as_mut_bytes()?;
            for (j, &i) in keep.iter().enumerate() {
                bytes[j * isz..(j + 1) * isz].copy_from_slice(elem(&data, i));
            }
            (keep.iter().map(|&i| linear[i]).collect(), out)
        };
        Ok(Coo {
            shape: shape.to_vec(),
            coords: Arc::new(Coords::from_linear(shape, &linear)),
            data,
            fill,
        })
    }

    /// A COO from canonical parts (sorted, unique, no stored fill): trusted, not re-checked
    /// beyond lengths.
    pub(crate) fn from_canonical(
        shape: &[usize],
        coords: Coords,
        data: Buffer,
        fill: [u8; 8],
    ) -> Result<Coo> {
        linear_strides(shape)?;
        if coords.len() != shape.len() * data.len() {
            return Err(Error::Shape("coordinates and data differ in length".into()));
        }
        Ok(Coo {
            shape: shape.to_vec(),
            coords: Arc::new(coords),
            data: contiguous(&data)?,
            fill,
        })
    }

    /// An array with this one's stored positions and new values (one per entry) and fill:
    /// the coordinates are shared, not rebuilt, unless some values equal the new fill and are
    /// dropped.
    pub(crate) fn with_values(&self, data: Buffer, fill: [u8; 8]) -> Result<Coo> {
        let data = contiguous(&data)?;
        if data.len() != self.nnz() {
            return Err(Error::Shape("one value per stored entry".into()));
        }
        let isz = data.dtype().itemsize();
        let bytes: &[u8] = if data.is_empty() {
            &[]
        } else {
            // SAFETY: a contiguous buffer of `len * isz` bytes.
            unsafe { std::slice::from_raw_parts(data.as_ptr(), data.len() * isz) }
        };
        if !holds_fill(bytes, isz, &fill[..isz]) {
            return Ok(Coo {
                shape: self.shape.clone(),
                coords: self.coords.clone(),
                data,
                fill,
            });
        }
        let keep = not_fill(bytes, isz, &fill[..isz]);
        let mut out = Buffer::zeros(data.dtype(), &[keep.len()])?;
        let ob = out.as_mut_bytes()?;
        for (j, &i) in keep.iter().enumerate() {
            ob[j * isz..(j + 1) * isz].copy_from_slice(&bytes[i * isz..(i + 1) * isz]);
        }
        Ok(Coo {
            shape: self.shape.clone(),
            coords: Arc::new(self.coords.select(self.nnz(), &keep)),
            data: out,
            fill,
        })
    }

    /// A COO from parts that claim to be canonical (decoded from a file or a message),
    /// checking every invariant: coordinate width and count, bounds, strictly increasing
    /// positions, no stored fill value.
    pub(crate) fn from_checked_parts(
        shape: &[usize],
        coords: Coords,
        data: Buffer,
        fill: [u8; 8],
    ) -> Result<Coo> {
        let nnz = data.len();
        if data.ndim() != 1 || coords.len() != shape.len() * nnz {
            return Err(Error::Shape("coordinates and data differ in length".into()));
        }
        if coords.width() != Coords::width_for(shape) {
            return Err(Error::invalid(format!(
                "coordinates of {} bytes for shape {shape:?}",
                coords.width()
            )));
        }
        for (a, &n) in shape.iter().enumerate() {
            let mut max = vec![0u64; nnz];
            coords.add_scaled(a, nnz, 1, &mut max);
            if let Some(&c) = max.iter().find(|&&c| c >= n as u64) {
                return Err(Error::invalid(format!(
                    "coordinate {c} outside axis {a} of length {n}"
                )));
            }
        }
        let c = Coo::from_canonical(shape, coords, data, fill)?;
        if !c.linear().windows(2).all(|w| w[0] < w[1]) {
            return Err(Error::invalid("positions are not sorted and unique"));
        }
        let isz = c.dtype().itemsize();
        let bytes: &[u8] = if nnz == 0 {
            &[]
        } else {
            // SAFETY: from_canonical made the data contiguous, `nnz * isz` bytes.
            unsafe { std::slice::from_raw_parts(c.data.as_ptr(), nnz * isz) }
        };
        if holds_fill(bytes, isz, &fill[..isz]) {
            return Err(Error::invalid("an entry stores the fill value"));
        }
        Ok(c)
    }
}
