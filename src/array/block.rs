//! Operations on single dense blocks (typed buffers): casts, copies, views, concatenation.
//! These are the kernels behind chunk tasks; they work on any layout.

use super::kernel::{eval_block, Program};
use crate::error::{Error, Result};
use crate::value::buffer_layout::c_strides;
use crate::value::{Buffer, DType};

/// `b` converted to `dtype` (a new C-contiguous block), or `b` itself when it has that dtype.
pub fn cast_block(b: &Buffer, dtype: DType) -> Result<Buffer> {
    if b.dtype() == dtype {
        return Ok(b.clone());
    }
    let mut p = Program::default();
    let x = p.add_input(b.dtype());
    let y = p.cast(x, dtype);
    p.finish(y);
    eval_block(&p, &[b], b.shape())
}

/// A C-contiguous copy of `b` (or `b` itself when it is one already).
pub fn contiguous(b: &Buffer) -> Result<Buffer> {
    if b.is_c_contiguous() {
        return Ok(b.clone());
    }
    let mut p = Program::default();
    let x = p.add_input(b.dtype());
    p.finish(x);
    eval_block(&p, &[b], b.shape())
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
