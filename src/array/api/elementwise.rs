//! Elementwise operations: ufuncs through the dispatch tables (a lazy node that fuses with its
//! neighbours), casts, `where` and masked assignment.

use super::ChunkSpec;
use crate::array::chunks::Chunks;
use crate::array::node::{Arg, Array, Op};
use crate::array::operand::Operand;
use crate::error::{Error, Result};
use crate::ufunc::kernel::broadcast_shapes;
use crate::ufunc::{ufunc, Ufunc};
use crate::value::DType;
use std::sync::Arc;

/// The common refinement of several chunkings of one axis (the union of their boundaries).
fn refine(axes: &[&[usize]]) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    for sizes in axes {
        let mut acc = 0;
        for &s in sizes.iter() {
            acc += s;
            cuts.push(acc);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        if c > prev {
            out.push(c - prev);
            prev = c;
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

impl Array {
    /// Applies a ufunc (looked up by name) to operands; see [`apply_ufunc`].
    pub fn ufunc(name: &str, args: &[Operand]) -> Result<Operand> {
        crate::array::dispatch::apply_ufunc(&ufunc(name)?, args)
    }

    /// `ufunc(self, other)` as an array (the usual binary-operator form).
    pub fn binary(&self, name: &str, other: impl Into<Operand>) -> Result<Array> {
        crate::array::dispatch::apply_ufunc(&ufunc(name)?, &[self.into(), other.into()])?
            .into_array()
    }

    /// `ufunc(self)` as an array.
    pub fn unary(&self, name: &str) -> Result<Array> {
        crate::array::dispatch::apply_ufunc(&ufunc(name)?, &[self.into()])?.into_array()
    }

    /// The chunked-array implementation of a ufunc: a lazy elementwise node; operands are
    /// broadcast and their chunks unified (rechunked to a common grid where they differ).
    pub(crate) fn map_chunked(u: &Arc<Ufunc>, args: &[Operand]) -> Result<Array> {
        let mut arrays: Vec<Array> = Vec::new();
        for a in args {
            match a {
                Operand::Array(x) => arrays.push(x.clone()),
                Operand::Block(b) => arrays.push(Array::from_buffer(
                    b,
                    &ChunkSpec::Explicit(b.shape().iter().map(|&n| vec![n]).collect()),
                )?),
                Operand::Scalar(_) => {}
                Operand::Foreign(f) => {
                    return Err(Error::invalid(format!(
                        "a chunked array cannot hold a '{}' array",
                        f.kind.name
                    )))
                }
                Operand::Sparse(_) => {
                    return Err(Error::NotImplemented(
                        "mixing a sparse array with a chunked array (make the chunked array's blocks sparse instead)".into(),
                    ))
                }
            }
        }
        let shapes: Vec<Vec<usize>> = arrays.iter().map(Array::shape).collect();
        let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let shape = broadcast_shapes(&refs)?;
        let nd = shape.len();
        // Unified chunks per output axis from the operands that span it.
        let mut out_axes: Vec<Vec<usize>> = Vec::with_capacity(nd);
        for (ax, &len) in shape.iter().enumerate() {
            let spans: Vec<&[usize]> = arrays
                .iter()
                .filter_map(|x| {
                    let lead = nd - x.ndim();
                    (ax >= lead && x.shape()[ax - lead] == len).then(|| x.chunks().axis(ax - lead))
                })
                .collect();
            out_axes.push(if spans.is_empty() {
                vec![len]
            } else {
                refine(&spans)
            });
        }
        let mut converted = Vec::with_capacity(args.len());
        let mut dtypes = Vec::new();
        for a in args {
            match a {
                Operand::Scalar(s) => converted.push(Arg::Scalar(*s)),
                _ => {
                    let x = arrays.remove(0);
                    let lead = nd - x.ndim();
                    let wanted: Vec<Vec<usize>> = (0..x.ndim())
                        .map(|k| {
                            if x.shape()[k] == shape[lead + k] {
                                out_axes[lead + k].clone()
                            } else {
                                // A broadcast axis (length 1) is one block: the lowering
                                // reads its block 0, which must not be a zero-size block.
                                vec![1]
                            }
                        })
                        .collect();
                    let x = if wanted.as_slice() != x.chunks().axes() {
                        x.rechunk(&ChunkSpec::Explicit(wanted))?
                    } else {
                        x
                    };
                    dtypes.push(x.dtype());
                    converted.push(Arg::Array(x));
                }
            }
        }
        let types: Vec<crate::ufunc::nep50::OperandType> = converted
            .iter()
            .map(|a| match a {
                Arg::Array(x) => crate::ufunc::nep50::OperandType::Array(x.dtype()),
                Arg::Scalar(s) => crate::ufunc::nep50::OperandType::Scalar(*s),
            })
            .collect();
        let operand_dtypes = crate::ufunc::nep50::operand_dtypes(u, &types)?;
        let out_dtype = u.resolve(&operand_dtypes)?.output();
        let chunks = Chunks::from_sizes(&shape, out_axes)?;
        Ok(Array::new(
            out_dtype,
            chunks,
            Op::Map {
                ufunc: u.clone(),
                args: converted,
            },
        ))
    }

    /// The array converted to `dtype` (lazy; fuses with neighbours).
    pub fn astype(&self, dtype: DType) -> Array {
        if dtype == self.dtype() {
            return self.clone();
        }
        Array::new(dtype, self.chunks().clone(), Op::Astype(self.clone()))
    }

    /// `where(cond, a, b)`.
    pub fn where_(cond: &Array, a: impl Into<Operand>, b: impl Into<Operand>) -> Result<Array> {
        crate::array::dispatch::apply_ufunc(
            &ufunc("where")?,
            &[cond.astype(DType::Bool).into(), a.into(), b.into()],
        )?
        .into_array()
    }

    /// The masked assignment `x[mask] = value`, as a new array of the same dtype and shape:
    /// `mask` has x's shape (or broadcasts to it: a row mask applies to every row); `value`
    /// is a scalar or an array broadcast to x's shape (taken
    /// where the mask is true). A scalar enters x's dtype directly (never through float64,
    /// so unmasked int64 elements stay exact); an integer that does not fit, or NaN or an
    /// infinity into integers, is an error as in NumPy; a float into integers truncates.
    pub fn set_where(&self, mask: &Array, value: impl Into<Operand>) -> Result<Array> {
        let (ms, xs) = (mask.shape(), self.shape());
        if broadcast_shapes(&[&ms[..], &xs[..]])? != xs {
            return Err(Error::Shape(format!(
                "x[mask] = value: a mask of shape {ms:?} does not fit the array's {xs:?}"
            )));
        }
        let d = self.dtype();
        let value = match value.into() {
            Operand::Array(v) => {
                let (vs, xs) = (v.shape(), self.shape());
                let joined = broadcast_shapes(&[&vs[..], &xs[..]])?;
                if joined != self.shape() {
                    return Err(Error::Shape(format!(
                        "x[mask] = value: a value of shape {:?} does not fit the array's {:?}",
                        v.shape(),
                        self.shape()
                    )));
                }
                Operand::Array(v.astype(d))
            }
            Operand::Scalar(s) => Operand::Block(scalar_as(s, d)?),
            other => other,
        };
        Ok(Array::where_(mask, value, self)?.astype(d))
    }
}

/// A scalar as a 0-d block of `d` (the value assigned into an array of that dtype).
fn scalar_as(s: crate::value::Scalar, d: DType) -> Result<crate::value::Buffer> {
    use crate::value::Scalar;
    let integral = !matches!(d, DType::Float32 | DType::Float64 | DType::Bool);
    match s {
        Scalar::Int(v) if integral => {
            let dt = crate::ufunc::nep50::operand_dtypes(
                &*ufunc("add")?,
                &[
                    crate::ufunc::nep50::OperandType::Array(d),
                    crate::ufunc::nep50::OperandType::Scalar(s),
                ],
            )
            .map_err(|_| {
                Error::invalid(format!(
                    "x[mask] = {v}: the value is out of bounds for {}",
                    d.name()
                ))
            })?;
            debug_assert_eq!(dt[1], d);
        }
        Scalar::Float(f) if integral => {
            // Truncated, as NumPy's int(f); NaN, infinities and values out of range fail.
            let (lo, hi) = crate::value::dtype::int_bounds(d);
            if !f.is_finite() || f.trunc() < lo || f.trunc() > hi {
                return Err(Error::invalid(format!(
                    "x[mask] = {f}: cannot convert it to {}",
                    d.name()
                )));
            }
        }
        _ => {}
    }
    let mut b = crate::value::Buffer::zeros(d, &[])?;
    b.as_mut_bytes()?
        .copy_from_slice(&s.to_element(d)[..d.itemsize()]);
    Ok(b)
}
