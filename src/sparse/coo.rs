//! COO sparse arrays: conversions to and from dense blocks and triplets, casts, and the
//! restructuring operations (transpose, reshape, slice, concatenate, stack).

use crate::error::{Error, Result};
use crate::ufunc::kernel::cast_block;
use crate::value::block::contiguous;
use crate::value::coo::{elem, not_fill};
use crate::value::coords::{linear_strides, Coords};
use crate::value::{Buffer, Coo, DType, Scalar};
use std::sync::Arc;

impl Coo {
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
        let mut linear = Vec::new();
        linear.try_reserve_exact(nnz).map_err(|_| {
            Error::Memory(format!("cannot allocate the positions of {nnz} entries"))
        })?;
        linear.resize(nnz, 0u64);
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
                unsafe { lp.run(&mut args, 1, &[0, 0, 0]) }?;
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

    /// Joins arrays of one fill value along `axis`, their dtypes promoted together
    /// (NumPy's `result_type` of all of them).
    pub fn concatenate(parts: &[&Coo], axis: usize) -> Result<Coo> {
        let dtypes: Vec<DType> = parts.iter().map(|p| p.dtype()).collect();
        if let Some(d) = crate::ufunc::promote::promote_all(&dtypes) {
            if dtypes.iter().any(|&x| x != d) {
                let converted = parts
                    .iter()
                    .map(|p| p.astype(d))
                    .collect::<Result<Vec<_>>>()?;
                let refs: Vec<&Coo> = converted.iter().collect();
                return Coo::concatenate(&refs, axis);
            }
        }
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
                    "concatenated sparse arrays must share rank and fill value",
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
