//! Chunk kernels for chunked arrays whose blocks are sparse (COO): the same registered
//! operations as dense blocks, dispatching on the block kind, so a chunked sparse computation
//! never densifies a block unless asked (`to_dense`).

use super::operand::Operand;
use super::ops::{AssembleBlock, Piece};
use super::reduce_kernel::{Partial, ReduceOp};
use crate::error::{Error, Result};
use crate::sparse::{self, Coo, Reduced};
use crate::ufunc::kernel::{Instr, Program, Src};
use crate::value::Scalar;
use crate::value::{Buffer, DType, Value};
use std::sync::Arc;

/// A block value as an operand (sparse or dense).
pub(crate) fn operand_of(v: &Value) -> Result<Operand> {
    match v {
        Value::Sparse(c) => Ok(Operand::Sparse(c.clone())),
        Value::Buffer(b) => Ok(Operand::Block(b.clone())),
        other => Err(Error::invalid(format!(
            "a block is {}, not an array",
            other.kind_name()
        ))),
    }
}

/// The operand as a block value.
pub(crate) fn value_of(op: Operand) -> Result<Value> {
    match op {
        Operand::Sparse(c) => Ok(Value::Sparse(c)),
        Operand::Block(b) => Ok(Value::Buffer(b)),
        Operand::Scalar(s) => Ok(Value::Buffer(Operand::Scalar(s).into_block()?)),
        _ => Err(Error::invalid("a block operation produced a non-block")),
    }
}

fn cast(op: Operand, to: DType) -> Result<Operand> {
    Ok(match op {
        Operand::Sparse(c) => Operand::Sparse(c.astype(to)?),
        Operand::Block(b) => Operand::Block(crate::ufunc::kernel::cast_block(&b, to)?),
        Operand::Scalar(s) => Operand::Block(crate::ufunc::kernel::cast_block(
            &Operand::Scalar(s).into_block()?,
            to,
        )?),
        other => other,
    })
}

/// Evaluates a fused program instruction by instruction through the ufunc dispatch (the
/// sparse kind implements each step), for blocks of any kind.
pub(crate) fn interpret(program: &Program, inputs: &[&Arc<Value>]) -> Result<Operand> {
    let mut regs: Vec<Operand> = Vec::with_capacity(program.instrs.len());
    let get = |regs: &Vec<Operand>, s: Src| -> Result<Operand> {
        Ok(match s {
            Src::Input(k) => operand_of(
                inputs
                    .get(k)
                    .ok_or_else(|| Error::invalid("missing block"))?,
            )?,
            Src::Const(k) => {
                let (d, bytes) = program.consts[k];
                Operand::Scalar(Scalar::from_element(&bytes, d))
            }
            Src::Reg(k) => regs[k].clone(),
        })
    };
    for instr in &program.instrs {
        let r = match instr {
            Instr::Cast { src, to } => cast(get(&regs, *src)?, *to)?,
            Instr::Apply { ufunc, args, .. } => {
                let ops = args
                    .iter()
                    .map(|&a| get(&regs, a))
                    .collect::<Result<Vec<_>>>()?;
                super::dispatch::apply_ufunc(ufunc, &ops)?
            }
        };
        regs.push(r);
    }
    let out = program
        .output
        .ok_or_else(|| Error::invalid("program has no output"))?;
    let r = get(&regs, out)?;
    // Keep the program's dtype exactly (scalars re-enter dispatch as weak scalars).
    let want = program.out_dtype();
    match &r {
        Operand::Sparse(c) if c.dtype() != want => cast(r, want),
        Operand::Block(b) if b.dtype() != want => cast(r, want),
        _ => Ok(r),
    }
}

/// The per-chunk partial of a reduction of a sparse block (dense partial buffers, shaped like
/// the block with reduced axes of length 1, in the dtypes the combine step expects).
pub(crate) fn sparse_partial(op: ReduceOp, block: &Coo, reduced: &[bool]) -> Result<Partial> {
    let pshape: Vec<usize> = block
        .shape()
        .iter()
        .zip(reduced)
        .map(|(&n, &r)| if r { 1 } else { n })
        .collect();
    let dense = |r: Reduced| -> Result<Buffer> {
        let b = match r {
            Reduced::Dense(b) => b,
            Reduced::Sparse(c) => c.to_dense()?,
        };
        crate::value::block::reshape_block(&b, &pshape)
    };
    let bufs = match op {
        ReduceOp::Mean => {
            let per: usize = block
                .shape()
                .iter()
                .zip(reduced)
                .filter(|(_, &r)| r)
                .map(|(&n, _)| n)
                .product();
            let sum = dense(sparse::reduce(
                &block.astype(DType::Float64)?,
                ReduceOp::Sum,
                reduced,
            )?)?;
            let count = Buffer::from_vec(vec![per as f64; sum.len()], &pshape)?;
            vec![count, sum]
        }
        ReduceOp::Var { .. } | ReduceOp::Std { .. } | ReduceOp::Ufunc(_) => {
            return Err(Error::NotImplemented(format!(
                "{} of sparse blocks (densify with to_dense first)",
                op.name()
            )))
        }
        other => {
            let r = dense(sparse::reduce(block, other, reduced)?)?;
            // The dtype the combine step expects: counts are int64 partials.
            let dt = if other == ReduceOp::CountNonzero {
                DType::Int64
            } else {
                other.input_dtype(block.dtype())
            };
            vec![crate::ufunc::kernel::cast_block(&r, dt)?]
        }
    };
    Ok(Partial { op, bufs })
}

/// A sparse block assembled from pieces of sparse input blocks (slicing, rechunking).
pub(crate) fn assemble_sparse(p: &AssembleBlock, inputs: &[&Coo]) -> Result<Coo> {
    let cut = |piece: &Piece| -> Result<Coo> {
        let b = inputs
            .get(piece.arg)
            .ok_or_else(|| Error::invalid("assemble: piece refers to a missing block"))?;
        b.slice(&piece.sel, &[])
    };
    let placed: Vec<(Vec<usize>, Coo)> = p
        .pieces
        .iter()
        .map(|pc| Ok((pc.at.clone(), cut(pc)?)))
        .collect::<Result<_>>()?;
    let whole = place(&placed, &p.assembled_shape)?;
    if whole.shape() == p.shape.as_slice() {
        Ok(whole)
    } else {
        whole.reshape(&p.shape)
    }
}

/// Sparse pieces placed at offsets in an array of `shape` (one fill value). Pieces laid out
/// in row-major block order along the first axis come out sorted already; otherwise the
/// entries are sorted once.
pub(crate) fn place(pieces: &[(Vec<usize>, Coo)], shape: &[usize]) -> Result<Coo> {
    let fill = pieces
        .first()
        .map(|p| p.1.fill_value())
        .unwrap_or(Scalar::Float(0.0));
    let dtype = pieces
        .first()
        .map(|p| p.1.dtype())
        .unwrap_or(DType::Float64);
    let strides = crate::value::coords::linear_strides(shape)?;
    let isz = dtype.itemsize();
    for (_, c) in pieces {
        if c.dtype() != dtype || !crate::sparse::same_scalar(c.fill_value(), fill) {
            return Err(Error::invalid(
                "sparse blocks of one array must share dtype and fill value",
            ));
        }
    }
    let total: usize = pieces.iter().map(|p| p.1.nnz()).sum();
    let mut data = Buffer::zeros(dtype, &[total])?;
    {
        let bytes = data.as_mut_bytes()?;
        let mut at = 0;
        for (_, c) in pieces {
            let n = c.nnz() * isz;
            if n > 0 {
                // SAFETY: a canonical COO's data is contiguous with `nnz` elements.
                bytes[at..at + n]
                    .copy_from_slice(unsafe { std::slice::from_raw_parts(c.data().as_ptr(), n) });
            }
            at += n;
        }
    }
    // Row blocks in order (the usual case: blocks along the first axis) are already sorted
    // once shifted: check where one block meets the next, then shift coordinates directly.
    let position = |at: &[usize], c: &Coo, i: usize| -> u64 {
        (0..c.ndim())
            .map(|a| (c.coord(a, i) + at[a] as u64) * strides[a])
            .sum()
    };
    let mut last: Option<u64> = None;
    let mut sorted = true;
    for (at, c) in pieces.iter().filter(|p| p.1.nnz() > 0) {
        if last.is_some_and(|l| l >= position(at, c, 0)) {
            sorted = false;
            break;
        }
        last = Some(position(at, c, c.nnz() - 1));
    }
    if sorted {
        let parts: Vec<(&crate::sparse::Coords, usize, &[usize])> = pieces
            .iter()
            .map(|(at, c)| (c.coords(), c.nnz(), at.as_slice()))
            .collect();
        let coords = crate::sparse::Coords::concat_shifted(shape, &parts);
        return Coo::from_canonical(shape, coords, data, fill.to_element(dtype));
    }
    let mut linear: Vec<u64> = Vec::with_capacity(total);
    for (at, c) in pieces {
        let base: u64 = at.iter().zip(&strides).map(|(&o, &s)| o as u64 * s).sum();
        let start = linear.len();
        linear.resize(start + c.nnz(), base);
        for (a, &s) in strides.iter().enumerate() {
            c.coords().add_scaled(a, c.nnz(), s, &mut linear[start..]);
        }
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_unstable_by_key(|&i| linear[i]);
    let mut sorted_data = Buffer::zeros(dtype, &[total])?;
    {
        let (src, dst) = (data.as_mut_bytes()?.to_vec(), sorted_data.as_mut_bytes()?);
        for (j, &i) in order.iter().enumerate() {
            dst[j * isz..(j + 1) * isz].copy_from_slice(&src[i * isz..(i + 1) * isz]);
        }
    }
    let linear: Vec<u64> = order.iter().map(|&i| linear[i]).collect();
    Coo::from_sorted(shape, linear, sorted_data, fill.to_element(dtype))
}

fn dot_arg(v: &Value) -> Result<sparse::DotArg<'_>> {
    match v {
        Value::Sparse(c) => Ok(sparse::DotArg::Sparse(c)),
        Value::Buffer(b) => Ok(sparse::DotArg::Dense(b)),
        other => Err(Error::invalid(format!(
            "tensordot block is {}",
            other.kind_name()
        ))),
    }
}

/// Sum of tensordot products of block pairs, some sparse.
pub(crate) fn tensordot_pairs(
    pairs: &[(&Value, &Value)],
    axes_a: &[usize],
    axes_b: &[usize],
) -> Result<Operand> {
    let add = crate::ufunc::ufunc("add")?;
    let mut acc: Option<Operand> = None;
    for (a, b) in pairs {
        let r = match (a, b) {
            (Value::Buffer(x), Value::Buffer(y)) => {
                Operand::Block(super::linalg::tensordot_blocks(&[x, y], axes_a, axes_b)?)
            }
            _ => match sparse::tensordot(
                &dot_arg(a)?,
                &dot_arg(b)?,
                axes_a,
                axes_b,
                sparse::ReturnType::Auto,
            )? {
                sparse::DotResult::Sparse(c) => Operand::Sparse(c),
                sparse::DotResult::Dense(d) => Operand::Block(d),
            },
        };
        acc = Some(match acc {
            None => r,
            Some(prev) => super::dispatch::apply_ufunc(&add, &[prev, r])?,
        });
    }
    acc.ok_or_else(|| Error::invalid("no block pairs"))
}
