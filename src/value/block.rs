//! Layout operations on single dense blocks (typed buffers): copies to C order, views,
//! concatenation, and walking a shape in row-major runs. No arithmetic here (that is the
//! ufunc layer's): these are shared by every layer that holds blocks.

use super::buffer::c_strides;
use super::Buffer;
use crate::error::{Error, Result};

/// Calls `f(offset_elements_in_run, run_len, multi_index)` for each innermost-axis run of the
/// flat range `[start, end)` of `shape` (row-major).
pub fn for_each_run(
    shape: &[usize],
    start: usize,
    end: usize,
    mut f: impl FnMut(usize, usize, &[usize]),
) {
    if start >= end {
        return;
    }
    let nd = shape.len();
    if nd == 0 {
        if start < end {
            f(0, 1, &[]);
        }
        return;
    }
    let mut idx = vec![0usize; nd];
    let mut rest = start;
    for a in (0..nd).rev() {
        idx[a] = rest % shape[a];
        rest /= shape[a];
    }
    let mut pos = start;
    while pos < end {
        let run = (shape[nd - 1] - idx[nd - 1]).min(end - pos);
        f(pos - start, run, &idx);
        pos += run;
        idx[nd - 1] += run;
        let mut a = nd - 1;
        while a > 0 && idx[a] >= shape[a] {
            idx[a] = 0;
            idx[a - 1] += 1;
            a -= 1;
        }
    }
}

/// A C-contiguous copy of `b` (or `b` itself when it is one already).
pub fn contiguous(b: &Buffer) -> Result<Buffer> {
    if b.is_c_contiguous() {
        return Ok(b.clone());
    }
    let mut out = Buffer::zeros(b.dtype(), b.shape())?;
    let n = b.len();
    if n == 0 {
        return Ok(out);
    }
    let isz = b.dtype().itemsize();
    let (shape, strides) = (b.shape().to_vec(), b.strides().to_vec());
    let inner = *strides.last().unwrap_or(&0);
    let src = b.as_ptr();
    let dst = out.as_mut_bytes()?.as_mut_ptr();
    for_each_run(&shape, 0, n, |at, run, idx| {
        let off: isize = idx
            .iter()
            .zip(&strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        // SAFETY: the index lies inside the view (its shape and strides were checked when it
        // was made) and `out` holds `n` elements in C order.
        unsafe {
            let from = src.offset(off);
            let to = dst.add(at * isz);
            if inner == isz as isize {
                std::ptr::copy_nonoverlapping(from, to, run * isz);
            } else {
                for j in 0..run {
                    std::ptr::copy_nonoverlapping(
                        from.offset(j as isize * inner),
                        to.add(j * isz),
                        isz,
                    );
                }
            }
        }
    });
    Ok(out)
}

/// `b` with another shape of the same size (a view when `b` is contiguous).
pub fn reshape_block(b: &Buffer, shape: &[usize]) -> Result<Buffer> {
    if b.len() != shape.iter().product::<usize>() {
        return Err(Error::Shape(format!(
            "cannot reshape {:?} into {shape:?}",
            b.shape()
        )));
    }
    let c = contiguous(b)?;
    c.view(shape, &c_strides(shape, c.dtype().itemsize()), 0)
}

/// A view of `b` with its axes permuted (`perm[i]` is the source axis of axis i).
pub fn transpose_block(b: &Buffer, perm: &[usize]) -> Result<Buffer> {
    let shape: Vec<usize> = perm.iter().map(|&a| b.shape()[a]).collect();
    let strides: Vec<isize> = perm.iter().map(|&a| b.strides()[a]).collect();
    b.view(&shape, &strides, 0)
}

/// A view of `b` selecting `start + k*step` for k < `len` along each axis (steps may be
/// negative).
pub fn slice_block(b: &Buffer, sel: &[(usize, isize, usize)]) -> Result<Buffer> {
    if sel.len() != b.ndim() {
        return Err(Error::Shape("slice rank differs from block rank".into()));
    }
    let mut offset = 0isize;
    let mut shape = Vec::with_capacity(sel.len());
    let mut strides = Vec::with_capacity(sel.len());
    for (a, &(start, step, len)) in sel.iter().enumerate() {
        if len > 0 {
            offset += start as isize * b.strides()[a];
        }
        shape.push(len);
        strides.push(b.strides()[a] * step);
    }
    b.view(&shape, &strides, offset)
}

/// Concatenates blocks along `axis` into a new C-contiguous block.
pub fn concat_blocks(blocks: &[&Buffer], axis: usize) -> Result<Buffer> {
    let first = blocks
        .first()
        .ok_or_else(|| Error::invalid("nothing to concatenate"))?;
    let dtype = first.dtype();
    let mut shape = first.shape().to_vec();
    if axis >= shape.len() {
        return Err(Error::Shape(format!(
            "axis {axis} out of range for {}-d blocks",
            shape.len()
        )));
    }
    shape[axis] = 0;
    for b in blocks {
        if b.dtype() != dtype || b.ndim() != first.ndim() {
            return Err(Error::Shape(
                "concatenated blocks differ in dtype or rank".into(),
            ));
        }
        for (a, (&n, &m)) in b.shape().iter().zip(first.shape()).enumerate() {
            if a != axis && n != m {
                return Err(Error::Shape(format!(
                    "blocks of shapes {:?} and {:?} do not fit along axis {axis}",
                    first.shape(),
                    b.shape()
                )));
            }
        }
        shape[axis] += b.shape()[axis];
    }
    let mut out = Buffer::zeros(dtype, &shape)?;
    let out_strides = out.strides().to_vec();
    let isz = dtype.itemsize();
    let out_inner = shape[axis..].iter().product::<usize>() * isz;
    let dst = out.as_mut_bytes()?.as_mut_ptr();
    let mut at = 0usize;
    for b in blocks {
        let c = contiguous(b)?;
        // Copy row-major: for each index of the axes before `axis`, the block's contiguous slab.
        let outer: usize = c.shape()[..axis].iter().product();
        let inner: usize = c.shape()[axis..].iter().product::<usize>() * isz;
        let src = c.as_ptr();
        for o in 0..outer {
            let dst_off = o * out_inner + at * out_strides[axis] as usize;
            // SAFETY: `outer` slabs of `inner` bytes inside both blocks.
            unsafe { std::ptr::copy_nonoverlapping(src.add(o * inner), dst.add(dst_off), inner) };
        }
        at += c.shape()[axis];
    }
    Ok(out)
}
