//! Elementwise operations on sparse arrays through the ufunc tables.
//!
//! The result of `f(a, b, …)` is sparse with fill value `f(fill_a, fill_b, …)`: it is computed
//! on the union of the operands' stored positions, everywhere else it is the new fill. A dense
//! operand keeps the result sparse only when `f` with the sparse fills gives one value over
//! the whole dense operand; otherwise the result would be dense, and the densify policy
//! decides: an error by default (saying how to allow it), or a dense result when allowed.

use crate::error::{Error, Result};
use crate::ufunc::kernel::{broadcast_shapes, eval_block, Program};
use crate::ufunc::nep50::OperandType;
use crate::ufunc::Ufunc;
use crate::value::block::contiguous;
use crate::value::coo::elem;
use crate::value::Coo;
use crate::value::Scalar;
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

/// Stored positions of a sparse operand at the result's shape (sorted), and the entry each
/// came from (`None`: entry `i` is position `i`, no broadcasting).
struct Entries {
    linear: Vec<u64>,
    from: Option<Vec<usize>>,
}

impl Entries {
    fn source(&self, k: usize) -> usize {
        self.from.as_ref().map_or(k, |f| f[k])
    }
}

/// Stored positions of `s` broadcast to `shape` (size-1 axes replicated).
fn broadcast_entries(s: &Coo, shape: &[usize]) -> Entries {
    if s.shape() == shape {
        return Entries {
            linear: s.linear(),
            from: None,
        };
    }
    let nd = shape.len();
    let lead = nd - s.ndim();
    let strides = crate::value::coords::linear_strides(shape).expect("checked");
    let mut out: Vec<(u64, usize)> = Vec::with_capacity(s.nnz());
    let mut partial: Vec<u64> = Vec::new();
    for i in 0..s.nnz() {
        partial.clear();
        partial.push(0);
        for a in 0..nd {
            let (src_len, c) = if a < lead {
                (1, 0)
            } else {
                (s.shape()[a - lead], s.coord(a - lead, i))
            };
            if src_len == 1 && shape[a] != 1 {
                let step = strides[a];
                let base = std::mem::take(&mut partial);
                partial.extend(
                    base.iter()
                        .flat_map(|&p| (0..shape[a] as u64).map(move |k| p + k * step)),
                );
            } else {
                for p in partial.iter_mut() {
                    *p += c * strides[a];
                }
            }
        }
        out.extend(partial.iter().map(|&l| (l, i)));
    }
    out.sort_unstable_by_key(|e| e.0);
    Entries {
        linear: out.iter().map(|e| e.0).collect(),
        from: Some(out.into_iter().map(|e| e.1).collect()),
    }
}

/// The sorted union of sorted, duplicate-free lists (merged pairwise).
fn union_of(lists: &[&[u64]]) -> Vec<u64> {
    let mut acc: Vec<u64> = lists.first().map(|l| l.to_vec()).unwrap_or_default();
    for l in &lists[1.min(lists.len())..] {
        let mut out = Vec::with_capacity(acc.len() + l.len());
        let (mut i, mut j) = (0, 0);
        while i < acc.len() && j < l.len() {
            let (a, b) = (acc[i], l[j]);
            out.push(a.min(b));
            i += (a <= b) as usize;
            j += (b <= a) as usize;
        }
        out.extend_from_slice(&acc[i..]);
        out.extend_from_slice(&l[j..]);
        acc = out;
    }
    acc
}

/// Copies element `src` of `from` to element `dst` of `to` (both `isz`-byte elements),
/// as one typed move.
#[inline]
fn copy_elem(to: &mut [u8], dst: usize, from: &[u8], src: usize, isz: usize) {
    match isz {
        8 => to[dst * 8..dst * 8 + 8].copy_from_slice(&from[src * 8..src * 8 + 8]),
        4 => to[dst * 4..dst * 4 + 4].copy_from_slice(&from[src * 4..src * 4 + 4]),
        2 => to[dst * 2..dst * 2 + 2].copy_from_slice(&from[src * 2..src * 2 + 2]),
        _ => to[dst * isz..(dst + 1) * isz].copy_from_slice(&from[src * isz..(src + 1) * isz]),
    }
}

/// Applies `ufunc` to sparse, dense and scalar operands (at least one sparse).
pub fn elementwise(ufunc: &Arc<Ufunc>, args: &[SparseArg]) -> Result<SparseResult> {
    let shapes: Vec<&[usize]> = args.iter().map(shape_of).collect();
    let shape = broadcast_shapes(&shapes)?;
    let types: Vec<OperandType> = args
        .iter()
        .map(|a| match a {
            SparseArg::Sparse(s) => OperandType::Array(s.dtype()),
            SparseArg::Dense(d) => OperandType::Array(d.dtype()),
            SparseArg::Scalar(s) => OperandType::Scalar(*s),
        })
        .collect();
    let operand_dtypes = crate::ufunc::nep50::operand_dtypes(ufunc, &types)?;
    // The program: inputs are 1-d value buffers (one per non-scalar operand).
    let mut p = Program::default();
    let mut srcs = Vec::with_capacity(args.len());
    for (a, &d) in args.iter().zip(&operand_dtypes) {
        srcs.push(match a {
            SparseArg::Sparse(s) => p.add_input(s.dtype()),
            SparseArg::Dense(d) => p.add_input(d.dtype()),
            SparseArg::Scalar(s) => p.add_const(*s, d),
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
    let fills = crate::value::block::contiguous(&eval_block(&p, &refs, &fill_shape)?)?;
    let isz = out_dtype.itemsize();
    if fills.is_empty() {
        // No elements at all (a zero-length axis): the result is empty; its fill is f at the
        // sparse fills with zeros for the (empty) dense operands, as pydata/sparse gives it.
        let stand_ins: Vec<Buffer> = args
            .iter()
            .filter_map(|a| match a {
                SparseArg::Sparse(s) => {
                    let mut b = Buffer::zeros(s.dtype(), &[]).ok()?;
                    b.as_mut_bytes().ok()?.copy_from_slice(s.fill_bytes());
                    Some(b)
                }
                SparseArg::Dense(d) => Buffer::zeros(d.dtype(), &[]).ok(),
                SparseArg::Scalar(_) => None,
            })
            .collect();
        let refs: Vec<&Buffer> = stand_ins.iter().collect();
        let at_fills = crate::value::block::contiguous(&eval_block(&p, &refs, &[])?)?;
        let mut fill = [0u8; 8];
        fill[..isz].copy_from_slice(elem(&at_fills, 0));
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

    // The common case (`s * 2 + s`): every operand is sparse or scalar, at the result's shape,
    // with the same stored positions. The values are then computed in place of the data, and
    // the coordinates are shared.
    let sparse: Vec<&Coo> = args
        .iter()
        .filter_map(|a| match a {
            SparseArg::Sparse(s) => Some(*s),
            _ => None,
        })
        .collect();
    let only_sparse = !args.iter().any(|a| matches!(a, SparseArg::Dense(_)));
    if only_sparse
        && sparse.iter().all(|s| {
            // Equal coordinates with equal counts (0-d arrays have no coordinates to tell
            // an empty array from one with its single element stored).
            s.shape() == shape.as_slice()
                && s.nnz() == sparse[0].nnz()
                && (Arc::ptr_eq(&s.coords, &sparse[0].coords) || s.coords == sparse[0].coords)
        })
    {
        let datas: Vec<&Buffer> = sparse.iter().map(|s| &s.data).collect();
        let values = eval_block(&p, &datas, &[sparse[0].nnz()])?;
        return Ok(SparseResult::Sparse(sparse[0].with_values(values, fill)?));
    }

    // Union of stored positions of the sparse operands (broadcast to the result's shape).
    let per_sparse: Vec<Option<Entries>> = args
        .iter()
        .map(|a| match a {
            SparseArg::Sparse(s) => Some(broadcast_entries(s, &shape)),
            _ => None,
        })
        .collect();
    let lists: Vec<&[u64]> = per_sparse
        .iter()
        .flatten()
        .map(|e| e.linear.as_slice())
        .collect();
    let union = union_of(&lists);
    let n = union.len();
    // Gather each operand's values at the union positions.
    let strides = crate::value::coords::linear_strides(&shape)?;
    let mut gathered: Vec<Buffer> = Vec::new();
    for (a, entries) in args.iter().zip(&per_sparse) {
        match (a, entries) {
            (SparseArg::Sparse(s), Some(entries)) => {
                let isz = s.dtype().itemsize();
                let mut b = Buffer::zeros(s.dtype(), &[n])?;
                let bytes = b.as_mut_bytes()?;
                let data = contiguous(&s.data)?;
                let src: &[u8] = if data.is_empty() {
                    &[]
                } else {
                    // SAFETY: a contiguous buffer of `len * isz` bytes.
                    unsafe { std::slice::from_raw_parts(data.as_ptr(), data.len() * isz) }
                };
                let fill = s.fill_bytes();
                let stored = &entries.linear;
                let mut k = 0;
                for (j, &l) in union.iter().enumerate() {
                    while k < stored.len() && stored[k] < l {
                        k += 1;
                    }
                    if k < stored.len() && stored[k] == l {
                        copy_elem(bytes, j, src, entries.source(k), isz);
                    } else {
                        copy_elem(bytes, j, fill, 0, isz);
                    }
                }
                gathered.push(b);
            }
            (SparseArg::Dense(d), _) => {
                let d = crate::value::block::contiguous(d)?;
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
