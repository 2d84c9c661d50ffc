//! The COO sparse array: shape, sorted and deduplicated coordinates, data, fill value.

use super::coords::{linear_strides, Coords};
use crate::array::block::{cast_block, contiguous};
use crate::array::Scalar;
use crate::error::{Error, Result};
use crate::value::{Buffer, DType};
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

    /// All elements of `dense` that differ from `fill` (bitwise, so a NaN fill works too).
    pub fn from_dense(dense: &Buffer, fill: Scalar) -> Result<Coo> {
        let d = contiguous(dense)?;
        let dt = d.dtype();
        let isz = dt.itemsize();
        let fillb = fill.to_element(dt);
        let all: &[u8] = if d.is_empty() {
            &[]
        } else {
            // SAFETY: a contiguous buffer of `len * isz` bytes.
            unsafe { std::slice::from_raw_parts(d.as_ptr(), d.len() * isz) }
        };
        let linear: Vec<u64> = not_fill(all, isz, &fillb[..isz])
            .into_iter()
            .map(|i| i as u64)
            .collect();
        let mut data = Buffer::zeros(dt, &[linear.len()])?;
        let bytes = data.as_mut_bytes()?;
        for (j, &i) in linear.iter().enumerate() {
            bytes[j * isz..(j + 1) * isz].copy_from_slice(elem(&d, i as usize));
        }
        Coo::from_sorted(d.shape(), linear, data, fillb)
    }

    /// The dense array (C-contiguous).
    pub fn to_dense(&self) -> Result<Buffer> {
        let dt = self.dtype();
        let isz = dt.itemsize();
        let mut out = Buffer::zeros(dt, &self.shape)?;
        let bytes = out.as_mut_bytes()?;
        if self.fill_bytes().iter().any(|&b| b != 0) {
            for chunk in bytes.chunks_exact_mut(isz) {
                chunk.copy_from_slice(self.fill_bytes());
            }
        }
        for (i, l) in self.linear().into_iter().enumerate() {
            let l = l as usize;
            bytes[l * isz..(l + 1) * isz].copy_from_slice(elem(&self.data, i));
        }
        Ok(out)
    }

    /// A COO from triplets: `coords` is `ndim x nnz` (axis-major, any order, duplicates
    /// allowed and summed, as pydata/sparse does), `data` has `nnz` values.
    pub fn from_triplets(
        shape: &[usize],
        coords: &[u64],
        data: &Buffer,
        fill: Scalar,
    ) -> Result<Coo> {
        let nd = shape.len();
        let nnz = data.len();
        if data.ndim() != 1 {
            return Err(Error::Shape("triplet data must be 1-d".into()));
        }
        if coords.len() != nd * nnz {
            return Err(Error::Shape(format!(
                "{} coordinates given for {nnz} entries of a {nd}-d array (need ndim x nnz = {})",
                coords.len(),
                nd * nnz
            )));
        }
        let strides = linear_strides(shape)?;
        let mut linear = vec![0u64; nnz];
        for a in 0..nd {
            for i in 0..nnz {
                let c = coords[a * nnz + i];
                if c >= shape[a] as u64 {
                    return Err(Error::invalid(format!(
                        "coordinate {c} of entry {i} is out of range for axis {a} of length {}",
                        shape[a]
                    )));
                }
                linear[i] += c * strides[a];
            }
        }
        let data = contiguous(data)?;
        let mut order: Vec<usize> = (0..nnz).collect();
        order.sort_by_key(|&i| linear[i]);
        let add = crate::ufunc::ufunc("add")?;
        let lp = add.resolve(&[data.dtype(), data.dtype()])?.clone();
        let isz = data.dtype().itemsize();
        let same_type = lp.output() == data.dtype() && lp.inputs()[0] == data.dtype();
        let mut out_lin: Vec<u64> = Vec::with_capacity(nnz);
        let mut out_bytes: Vec<u8> = Vec::with_capacity(nnz * isz);
        for &i in &order {
            let v = elem(&data, i);
            if out_lin.last() == Some(&linear[i]) {
                // A duplicate: add it to the previous entry (with the dtype's own `add`).
                if !same_type {
                    return Err(Error::DType(format!(
                        "cannot sum duplicate {} entries",
                        data.dtype().name()
                    )));
                }
                let k = out_bytes.len() - isz;
                let mut acc = [0u8; 8];
                acc[..isz].copy_from_slice(&out_bytes[k..]);
                let mut res = [0u8; 8];
                let mut args = [acc.as_mut_ptr(), v.as_ptr() as *mut u8, res.as_mut_ptr()];
                // SAFETY: one element each, of the loop's type; distinct buffers.
                unsafe { lp.run(&mut args, 1, &[0, 0, 0]) };
                out_bytes[k..].copy_from_slice(&res[..isz]);
            } else {
                out_lin.push(linear[i]);
                out_bytes.extend_from_slice(v);
            }
        }
        let mut b = Buffer::zeros(data.dtype(), &[out_lin.len()])?;
        b.as_mut_bytes()?.copy_from_slice(&out_bytes);
        Coo::from_sorted(shape, out_lin, b, fill.to_element(data.dtype()))
    }

    /// The array with its values converted to `dtype` (the fill value too).
    pub fn astype(&self, dtype: DType) -> Result<Coo> {
        let data = cast_block(&self.data, dtype)?;
        let fill = Scalar::from_element(&self.fill, self.dtype()).to_element(dtype);
        Coo::from_sorted(&self.shape, self.linear(), data, fill)
    }

    /// The axes permuted (`perm[i]` is the source axis of axis i).
    pub fn transpose(&self, perm: &[usize]) -> Result<Coo> {
        let mut sorted = perm.to_vec();
        sorted.sort_unstable();
        if sorted != (0..self.ndim()).collect::<Vec<_>>() {
            return Err(Error::invalid(format!(
                "{perm:?} is not a permutation of {} axes",
                self.ndim()
            )));
        }
        let shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let strides = linear_strides(&shape)?;
        let n = self.nnz();
        let mut linear = vec![0u64; n];
        for (k, &p) in perm.iter().enumerate() {
            for (i, l) in linear.iter_mut().enumerate() {
                *l += self.coord(p, i) * strides[k];
            }
        }
        self.reordered(&shape, linear)
    }

    /// Entries placed at new linear positions (any order) in `shape`, re-sorted.
    pub(crate) fn reordered(&self, shape: &[usize], linear: Vec<u64>) -> Result<Coo> {
        let mut order: Vec<usize> = (0..linear.len()).collect();
        order.sort_by_key(|&i| linear[i]);
        let isz = self.dtype().itemsize();
        let mut data = Buffer::zeros(self.dtype(), &[order.len()])?;
        let bytes = data.as_mut_bytes()?;
        for (j, &i) in order.iter().enumerate() {
            bytes[j * isz..(j + 1) * isz].copy_from_slice(elem(&self.data, i));
        }
        let sorted: Vec<u64> = order.iter().map(|&i| linear[i]).collect();
        Coo::from_sorted(shape, sorted, data, self.fill)
    }

    /// The same elements under another shape of equal size (row-major, like NumPy).
    pub fn reshape(&self, shape: &[usize]) -> Result<Coo> {
        if shape.iter().product::<usize>() != self.size() {
            return Err(Error::Shape(format!(
                "cannot reshape {:?} into {shape:?}",
                self.shape
            )));
        }
        Coo::from_sorted(shape, self.linear(), self.data.clone(), self.fill)
    }

    /// Basic slicing: per axis (start, step, len), as the dense arrays resolve slices;
    /// `drop` lists axes indexed by a single position (removed from the result).
    pub fn slice(&self, sel: &[(usize, isize, usize)], drop: &[usize]) -> Result<Coo> {
        if sel.len() != self.ndim() {
            return Err(Error::Shape("slice rank differs from the array's".into()));
        }
        for (a, &(start, step, len)) in sel.iter().enumerate() {
            if step == 0 {
                return Err(Error::invalid(format!("slice step of axis {a} is zero")));
            }
            if len > 0 {
                let last = start as i64 + (len as i64 - 1) * step as i64;
                let n = self.shape[a] as i64;
                if start as i64 >= n || last < 0 || last >= n {
                    return Err(Error::invalid(format!(
                        "slice ({start}, {step}, {len}) reaches outside axis {a} of length {n}"
                    )));
                }
            }
        }
        for &d in drop {
            if d >= self.ndim() || sel[d].2 != 1 {
                return Err(Error::invalid(format!(
                    "axis {d} can be dropped only when one element of it is selected"
                )));
            }
        }
        let shape: Vec<usize> = sel.iter().map(|s| s.2).collect();
        let kept: Vec<usize> = (0..self.ndim()).filter(|a| !drop.contains(a)).collect();
        let out_shape: Vec<usize> = kept.iter().map(|&a| shape[a]).collect();
        let strides = linear_strides(&out_shape)?;
        let n = self.nnz();
        let mut linear = Vec::new();
        let mut take = Vec::new();
        'entries: for i in 0..n {
            let mut l = 0u64;
            let mut k = 0;
            for (a, &(start, step, len)) in sel.iter().enumerate() {
                let c = self.coord(a, i) as i64;
                let off = c - start as i64;
                if off % step as i64 != 0 {
                    continue 'entries;
                }
                let j = off / step as i64;
                if j < 0 || j >= len as i64 {
                    continue 'entries;
                }
                if !drop.contains(&a) {
                    l += j as u64 * strides[k];
                    k += 1;
                }
            }
            linear.push(l);
            take.push(i);
        }
        let isz = self.dtype().itemsize();
        let mut data = Buffer::zeros(self.dtype(), &[take.len()])?;
        let bytes = data.as_mut_bytes()?;
        for (j, &i) in take.iter().enumerate() {
            bytes[j * isz..(j + 1) * isz].copy_from_slice(elem(&self.data, i));
        }
        let picked = Coo {
            shape: out_shape.clone(),
            coords: Arc::new(Coords::U64(vec![])),
            data,
            fill: self.fill,
        };
        picked.reordered(&out_shape, linear)
    }

    /// Joins arrays of one dtype and fill value along `axis`.
    pub fn concatenate(parts: &[&Coo], axis: usize) -> Result<Coo> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("concatenate needs at least one array"))?;
        if axis >= first.ndim() {
            return Err(Error::invalid(format!(
                "axis {axis} is out of bounds for {}-d arrays",
                first.ndim()
            )));
        }
        let mut shape = first.shape.clone();
        shape[axis] = 0;
        for p in parts {
            if p.ndim() != first.ndim() || p.dtype() != first.dtype() || !p.same_fill(first) {
                return Err(Error::invalid(
                    "concatenated sparse arrays must share rank, dtype and fill value",
                ));
            }
            if p.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .any(|(a, (x, y))| a != axis && x != y)
            {
                return Err(Error::Shape(format!(
                    "shapes {:?} and {:?} differ outside axis {axis}",
                    first.shape, p.shape
                )));
            }
            shape[axis] += p.shape[axis];
        }
        let strides = linear_strides(&shape)?;
        let mut linear = Vec::new();
        let mut bytes = Vec::new();
        let mut offset = 0u64;
        for p in parts {
            for i in 0..p.nnz() {
                let mut l = 0;
                for (a, &s) in strides.iter().enumerate() {
                    let c = p.coord(a, i) + if a == axis { offset } else { 0 };
                    l += c * s;
                }
                linear.push(l);
                bytes.extend_from_slice(elem(&p.data, i));
            }
            offset += p.shape[axis] as u64;
        }
        let mut data = Buffer::zeros(first.dtype(), &[linear.len()])?;
        data.as_mut_bytes()?.copy_from_slice(&bytes);
        let all = Coo {
            shape: shape.clone(),
            coords: Arc::new(Coords::U64(vec![])),
            data,
            fill: first.fill,
        };
        all.reordered(&shape, linear)
    }

    /// Joins arrays of one shape along a new `axis`.
    pub fn stack(parts: &[&Coo], axis: usize) -> Result<Coo> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("stack needs at least one array"))?;
        if axis > first.ndim() {
            return Err(Error::invalid(format!(
                "axis {axis} is out of bounds for stacking {}-d arrays",
                first.ndim()
            )));
        }
        let expanded = parts
            .iter()
            .map(|p| {
                let mut s = p.shape.clone();
                s.insert(axis, 1);
                p.reshape(&s)
            })
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&Coo> = expanded.iter().collect();
        Coo::concatenate(&refs, axis)
    }
}
