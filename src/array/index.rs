//! Slicing, integer indexing, rechunking plans, and boolean-mask selection.
//!
//! A plan says, for each output block along one axis, which input blocks it is cut from
//! (`AxisPiece`s); the `Assemble` operation combines the per-axis plans. Slicing keeps the
//! input's block boundaries (each output block comes from one input block); rechunking cuts
//! and joins pieces.

use super::node::{AxisPiece, AxisPlan};
use crate::error::{Error, Result};
use crate::value::Buffer;

pub use crate::value::index::{resolve_index, resolve_shape, resolve_slice, AxisSlice};

fn block_bounds(sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut acc = 0;
    sizes
        .iter()
        .map(|&s| {
            let b = (acc, acc + s);
            acc += s;
            b
        })
        .collect()
}

/// The plan of a slice along an axis with block `sizes`: one output block per input block
/// that has selected elements; returns the plan and the output chunk sizes.
pub fn slice_plan(sizes: &[usize], s: AxisSlice) -> (AxisPlan, Vec<usize>) {
    let mut plan = Vec::new();
    let mut out = Vec::new();
    if s.len == 0 {
        // An empty selection keeps one empty block.
        plan.push(vec![AxisPiece {
            block: 0,
            start: 0,
            step: 1,
            len: 0,
        }]);
        out.push(0);
        return (plan, out);
    }
    let bounds = block_bounds(sizes);
    let order: Vec<usize> = if s.step > 0 {
        (0..sizes.len()).collect()
    } else {
        (0..sizes.len()).rev().collect()
    };
    let (first, step, len) = (s.start as i64, s.step as i64, s.len as i64);
    let last = first + step * (len - 1);
    for b in order {
        let (lo, hi) = (bounds[b].0 as i64, bounds[b].1 as i64);
        // Selected k with lo <= first + k*step < hi.
        let (kmin, kmax) = if step > 0 {
            let kmin = if lo <= first {
                0
            } else {
                (lo - first + step - 1) / step
            };
            let kmax = if hi > last {
                len - 1
            } else {
                (hi - 1 - first).div_euclid(step)
            };
            (kmin, kmax)
        } else {
            let st = -step;
            let kmin = if hi > first {
                0
            } else {
                (first - (hi - 1) + st - 1) / st
            };
            let kmax = if lo <= last {
                len - 1
            } else {
                (first - lo).div_euclid(st)
            };
            (kmin, kmax)
        };
        if kmax < kmin || kmin >= len || kmax < 0 {
            continue;
        }
        let count = (kmax - kmin + 1) as usize;
        let start_global = first + kmin * step;
        plan.push(vec![AxisPiece {
            block: b,
            start: (start_global - lo) as usize,
            step: s.step,
            len: count,
        }]);
        out.push(count);
    }
    (plan, out)
}

/// The plan of a single index along an axis (the axis is then dropped).
pub fn index_plan(sizes: &[usize], i: usize) -> AxisPlan {
    let bounds = block_bounds(sizes);
    let b = bounds
        .iter()
        .position(|&(lo, hi)| i >= lo && i < hi)
        .expect("index resolved in range");
    vec![vec![AxisPiece {
        block: b,
        start: i - bounds[b].0,
        step: 1,
        len: 1,
    }]]
}

/// The plan that recuts an axis from block `sizes` into blocks `new_sizes`.
pub fn rechunk_plan(sizes: &[usize], new_sizes: &[usize]) -> AxisPlan {
    let bounds = block_bounds(sizes);
    let mut plan = Vec::with_capacity(new_sizes.len());
    let mut at = 0usize;
    for &n in new_sizes {
        let (a, b) = (at, at + n);
        let mut pieces = Vec::new();
        for (blk, &(lo, hi)) in bounds.iter().enumerate() {
            let (s, e) = (a.max(lo), b.min(hi));
            if s < e || (n == 0 && blk == 0 && pieces.is_empty()) {
                pieces.push(AxisPiece {
                    block: blk,
                    start: s.saturating_sub(lo).min(hi - lo),
                    step: 1,
                    len: e.saturating_sub(s),
                });
            }
        }
        plan.push(pieces);
        at = b;
    }
    plan
}

/// The elements of `x` where `mask` is true, in row-major order, as a 1-d block.
pub fn select_block(x: &Buffer, mask: &Buffer) -> Result<Buffer> {
    if x.shape() != mask.shape() {
        return Err(Error::Shape(format!(
            "boolean index of shape {:?} does not match the array's {:?}",
            mask.shape(),
            x.shape()
        )));
    }
    let x = crate::value::block::contiguous(x)?;
    let m = crate::value::block::contiguous(&crate::ufunc::kernel::cast_block(
        mask,
        crate::value::DType::Bool,
    )?)?;
    let isz = x.dtype().itemsize();
    let keep = m.as_slice::<u8>().or_else(|_| {
        // Bool buffers are read as bytes.
        Ok::<_, Error>(unsafe_bytes(&m))
    })?;
    let count = keep.iter().filter(|&&b| b != 0).count();
    let mut out = Buffer::zeros(x.dtype(), &[count])?;
    let dst = out.as_mut_bytes()?;
    let src = x.as_ptr();
    let mut j = 0;
    for (i, &k) in keep.iter().enumerate() {
        if k != 0 {
            // SAFETY: `i` < len of the contiguous block `x`.
            let s = unsafe { std::slice::from_raw_parts(src.add(i * isz), isz) };
            dst[j * isz..(j + 1) * isz].copy_from_slice(s);
            j += 1;
        }
    }
    Ok(out)
}

fn unsafe_bytes(b: &Buffer) -> &[u8] {
    if b.is_empty() {
        return &[];
    }
    // SAFETY: a contiguous boolean buffer of `len` one-byte elements.
    unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indices(n: usize, sizes: &[usize], s: AxisSlice) -> Vec<usize> {
        let (plan, _) = slice_plan(sizes, s);
        let offs: Vec<usize> = std::iter::once(0)
            .chain(sizes.iter().scan(0, |a, &x| {
                *a += x;
                Some(*a)
            }))
            .collect();
        let mut out = Vec::new();
        for pieces in plan {
            for p in pieces {
                for k in 0..p.len {
                    out.push(
                        (offs[p.block] as isize + p.start as isize + k as isize * p.step) as usize,
                    );
                }
            }
        }
        let _ = n;
        out
    }

    #[test]
    fn slices_match_python_semantics() {
        let sizes = [3, 4, 3];
        for (start, stop, step) in [
            (None, None, 1),
            (Some(1), Some(9), 2),
            (None, None, -1),
            (Some(8), Some(1), -3),
            (Some(-3), None, 1),
            (Some(5), Some(5), 1),
        ] {
            let s = resolve_slice(10, start, stop, step).unwrap();
            let expected: Vec<usize> = {
                let n = 10i64;
                let norm = |v: i64| if v < 0 { v + n } else { v };
                let mut v = Vec::new();
                let mut i = start.map(norm).unwrap_or(if step > 0 { 0 } else { n - 1 });
                let stop = stop.map(norm).unwrap_or(if step > 0 { n } else { -1 });
                while (step > 0 && i < stop) || (step < 0 && i > stop) {
                    v.push(i as usize);
                    i += step;
                }
                v
            };
            assert_eq!(
                indices(10, &sizes, s),
                expected,
                "{start:?}:{stop:?}:{step}"
            );
        }
    }
}
