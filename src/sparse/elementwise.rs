//! Elementwise operations on sparse arrays through the ufunc tables.
//!
//! The result of `f(a, b, …)` is sparse with fill value `f(fill_a, fill_b, …)`: it is computed
//! on the union of the operands' stored positions, everywhere else it is the new fill. A dense
//! operand keeps the result sparse only when `f` with the sparse fills gives one value over
//! the whole dense operand; otherwise the result would be dense, and the densify policy
//! decides: an error by default (saying how to allow it), or a dense result when allowed.

use super::coo::{elem, Coo};
use crate::array::kernel::{broadcast_shapes, eval_block, Program};
use crate::array::Scalar;
use crate::error::{Error, Result};
use crate::ufunc::promote::{promote, weak_scalar_dtype};
use crate::ufunc::Ufunc;
use crate::value::{Buffer, DType};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

static AUTO_DENSIFY: AtomicBool = AtomicBool::new(false);

/// Whether operations that would produce a dense result from sparse inputs may do so
/// (default false: they fail with a message that says how to allow it). Process-wide, like
/// pydata/sparse's `SPARSE_AUTO_DENSIFY`.
pub fn set_auto_densify(allow: bool) {
    AUTO_DENSIFY.store(allow, Ordering::SeqCst);
}

pub fn auto_densify() -> bool {
    AUTO_DENSIFY.load(Ordering::SeqCst)
}

/// Equal as values: floats compare numerically (NaN equal to NaN), others bitwise.
fn same_value(a: &[u8], b: &[u8], dtype: DType) -> bool {
    match dtype {
        DType::Float64 => {
            let (x, y) = (
                f64::from_ne_bytes(a.try_into().expect("8 bytes")),
                f64::from_ne_bytes(b.try_into().expect("8 bytes")),
            );
            x == y || (x.is_nan() && y.is_nan())
        }
        DType::Float32 => {
            let (x, y) = (
                f32::from_ne_bytes(a.try_into().expect("4 bytes")),
                f32::from_ne_bytes(b.try_into().expect("4 bytes")),
            );
            x == y || (x.is_nan() && y.is_nan())
        }
        _ => a == b,
    }
}

/// An operand of a sparse elementwise operation.
#[derive(Debug, Clone)]
pub enum SparseArg<'a> {
    Sparse(&'a Coo),
    Dense(&'a Buffer),
    Scalar(Scalar),
}

/// What an elementwise operation produced.
#[derive(Debug, Clone)]
pub enum SparseResult {
    Sparse(Coo),
    /// Dense, because the densify policy allowed it.
    Dense(Buffer),
}

fn shape_of<'a>(a: &'a SparseArg) -> &'a [usize] {
    match a {
        SparseArg::Sparse(s) => s.shape(),
        SparseArg::Dense(d) => d.shape(),
        SparseArg::Scalar(_) => &[],
    }
}

/// Stored positions of `s` broadcast to `shape` (size-1 axes replicated), with the index of
/// the entry each came from.
fn broadcast_entries(s: &Coo, shape: &[usize]) -> Vec<(u64, usize)> {
    let nd = shape.len();
    let lead = nd - s.ndim();
    let strides = super::coords::linear_strides(shape).expect("checked");
    let mut out: Vec<(u64, usize)> = Vec::with_capacity(s.nnz());
    for i in 0..s.nnz() {
        let mut partial = vec![0u64];
        for a in 0..nd {
            let (src_len, c) = if a < lead {
                (1, 0)
            } else {
                (s.shape()[a - lead], s.coord(a - lead, i))
            };
            if src_len == 1 && shape[a] != 1 {
                let step = strides[a];
                partial = partial
                    .iter()
                    .flat_map(|&p| (0..shape[a] as u64).map(move |k| p + k * step))
                    .collect();
            } else {
                for p in partial.iter_mut() {
                    *p += c * strides[a];
                }
            }
        }
        out.extend(partial.into_iter().map(|l| (l, i)));
    }
    out.sort_unstable_by_key(|e| e.0);
    out
}

/// Applies `ufunc` to sparse, dense and scalar operands (at least one sparse).
pub fn elementwise(ufunc: &Arc<Ufunc>, args: &[SparseArg]) -> Result<SparseResult> {
    let shapes: Vec<&[usize]> = args.iter().map(shape_of).collect();
    let shape = broadcast_shapes(&shapes)?;
    let array_dtypes: Vec<DType> = args
        .iter()
        .filter_map(|a| match a {
            SparseArg::Sparse(s) => Some(s.dtype()),
            SparseArg::Dense(d) => Some(d.dtype()),
            SparseArg::Scalar(_) => None,
        })
        .collect();
    let joined = array_dtypes
        .iter()
        .copied()
        .reduce(promote)
        .unwrap_or(DType::Float64);
    // The program: inputs are 1-d value buffers (one per non-scalar operand).
    let mut p = Program::default();
    let mut srcs = Vec::with_capacity(args.len());
    for a in args {
        srcs.push(match a {
            SparseArg::Sparse(s) => p.add_input(s.dtype()),
            SparseArg::Dense(d) => p.add_input(d.dtype()),
            SparseArg::Scalar(s) => p.add_const(*s, weak_scalar_dtype(s.kind(), joined)),
        });
    }
    let out = p.apply(ufunc, &srcs)?;
    p.finish(out);
    let out_dtype = p.out_dtype();

    // The new fill: f at the sparse operands' fills, over the dense operands' values.
    let fill_inputs: Vec<Buffer> = args
        .iter()
        .filter_map(|a| match a {
            SparseArg::Sparse(s) => {
                let mut b = Buffer::zeros(s.dtype(), &[]).ok()?;
                b.as_mut_bytes().ok()?.copy_from_slice(s.fill_bytes());
                Some(b)
            }
            SparseArg::Dense(d) => Some((*d).clone()),
            SparseArg::Scalar(_) => None,
        })
        .collect();
    let fill_shape = {
        let dense_shapes: Vec<&[usize]> = args
            .iter()
            .filter_map(|a| match a {
                SparseArg::Dense(d) => Some(d.shape()),
                _ => None,
            })
            .collect();
        broadcast_shapes(&dense_shapes)?
    };
    let refs: Vec<&Buffer> = fill_inputs.iter().collect();
    let fills = crate::array::block::contiguous(&eval_block(&p, &refs, &fill_shape)?)?;
    let isz = out_dtype.itemsize();
    if fills.is_empty() {
        // No elements at all (a zero-length axis): the result is empty, any fill is right.
        let mut fill = [0u8; 8];
        let zero = Buffer::zeros(out_dtype, &[])?;
        fill[..isz].copy_from_slice(elem(&zero, 0));
        return Ok(SparseResult::Sparse(Coo::from_sorted(
            &shape,
            Vec::new(),
            Buffer::zeros(out_dtype, &[0])?,
            fill,
        )?));
    }
    let first_fill = elem(&fills, 0).to_vec();
    // Constant by value, as pydata/sparse decides (so -0.0 equals 0.0 and NaN equals NaN).
    let constant = (0..fills.len()).all(|i| same_value(elem(&fills, i), &first_fill, out_dtype));
    if !constant {
        if !auto_densify() {
            return Err(Error::invalid(format!(
                "ufunc '{}' with these dense operands would make the sparse result dense; \
                 convert explicitly with to_dense, or allow it with set_auto_densify(true) \
                 (dask_sparse_set_auto_densify in C)",
                ufunc.name()
            )));
        }
        let dense: Vec<Buffer> = args
            .iter()
            .filter_map(|a| match a {
                SparseArg::Sparse(s) => s.to_dense().ok(),
                SparseArg::Dense(d) => Some((*d).clone()),
                SparseArg::Scalar(_) => None,
            })
            .collect();
        let refs: Vec<&Buffer> = dense.iter().collect();
        return Ok(SparseResult::Dense(eval_block(&p, &refs, &shape)?));
    }
    let mut fill = [0u8; 8];
    fill[..isz].copy_from_slice(&first_fill);

    // Union of stored positions of the sparse operands (broadcast to the result's shape).
    let per_sparse: Vec<Option<Vec<(u64, usize)>>> = args
        .iter()
        .map(|a| match a {
            SparseArg::Sparse(s) => Some(broadcast_entries(s, &shape)),
            _ => None,
        })
        .collect();
    let mut union: Vec<u64> = per_sparse
        .iter()
        .flatten()
        .flat_map(|e| e.iter().map(|x| x.0))
        .collect();
    union.sort_unstable();
    union.dedup();
    let n = union.len();
    // Gather each operand's values at the union positions.
    let strides = super::coords::linear_strides(&shape)?;
    let mut gathered: Vec<Buffer> = Vec::new();
    for (a, entries) in args.iter().zip(&per_sparse) {
        match (a, entries) {
            (SparseArg::Sparse(s), Some(entries)) => {
                let isz = s.dtype().itemsize();
                let mut b = Buffer::zeros(s.dtype(), &[n])?;
                let bytes = b.as_mut_bytes()?;
                let mut k = 0;
                for (j, &l) in union.iter().enumerate() {
                    while k < entries.len() && entries[k].0 < l {
                        k += 1;
                    }
                    let v = if k < entries.len() && entries[k].0 == l {
                        elem(&s.data, entries[k].1)
                    } else {
                        s.fill_bytes()
                    };
                    bytes[j * isz..(j + 1) * isz].copy_from_slice(v);
                }
                gathered.push(b);
            }
            (SparseArg::Dense(d), _) => {
                let d = crate::array::block::contiguous(d)?;
                let isz = d.dtype().itemsize();
                let lead = shape.len() - d.ndim();
                let mut dstr = vec![0u64; d.ndim()];
                let mut acc = 1u64;
                for k in (0..d.ndim()).rev() {
                    dstr[k] = if d.shape()[k] == 1 { 0 } else { acc };
                    acc *= d.shape()[k] as u64;
                }
                let mut b = Buffer::zeros(d.dtype(), &[n])?;
                let bytes = b.as_mut_bytes()?;
                for (j, &l) in union.iter().enumerate() {
                    let mut off = 0u64;
                    for (k, ds) in dstr.iter().enumerate() {
                        let c = (l / strides[lead + k]) % shape[lead + k] as u64;
                        off += c * ds;
                    }
                    bytes[j * isz..(j + 1) * isz].copy_from_slice(elem(&d, off as usize));
                }
                gathered.push(b);
            }
            _ => {}
        }
    }
    let refs: Vec<&Buffer> = gathered.iter().collect();
    let values = eval_block(&p, &refs, &[n])?;
    Ok(SparseResult::Sparse(Coo::from_sorted(
        &shape, union, values, fill,
    )?))
}
