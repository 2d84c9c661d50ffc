//! The runtime operations behind array graphs. Each takes plain-data parameters (a
//! `Value::Params`) and blocks, and returns a block or a partial result; they are registered
//! once, by name, so array graphs are data like any other graph.

use super::create::{create_block, create_sparse_block, CreateBlock, CreateSpec};
use super::linalg::tensordot_blocks;
use super::operand::Operand;
use super::reduce_kernel::{combine, finalize, reduce_block, Partial, ReduceOp};
use super::sparse_blocks as sb;
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, OpDef};
use crate::ufunc::kernel::{eval, eval_block, Program};
use crate::value::block::{contiguous, reshape_block, slice_block, transpose_block};
use crate::value::{Buffer, DType, Value};
use std::sync::{Arc, LazyLock};

/// A fused elementwise program over a block's inputs.
#[derive(Debug, Clone)]
pub struct FusedBlock {
    pub program: Program,
    pub shape: Vec<usize>,
}

/// The per-chunk step of a reduction (with the chunk's elementwise program fused in).
#[derive(Debug, Clone)]
pub struct ReduceBlock {
    pub program: Program,
    pub shape: Vec<usize>,
    pub reduced: Vec<bool>,
    pub op: ReduceOp,
}

/// The final step of a reduction: the result block's dtype and shape.
#[derive(Debug, Clone)]
pub struct FinalizeBlock {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// One piece of an assembled block: input `arg` sliced by `sel` (start, step, len per input
/// axis) and placed at `at` in the output.
#[derive(Debug, Clone)]
pub struct Piece {
    pub arg: usize,
    pub sel: Vec<(usize, isize, usize)>,
    pub at: Vec<usize>,
}

/// A block cut and assembled from pieces of input blocks, then reshaped to `shape` (which
/// drops or inserts length-1 axes).
#[derive(Debug, Clone)]
pub struct AssembleBlock {
    pub dtype: DType,
    pub pieces: Vec<Piece>,
    pub assembled_shape: Vec<usize>,
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct TransposeBlock {
    pub perm: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct ReshapeBlock {
    pub shape: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct TensordotBlock {
    pub axes_a: Vec<usize>,
    pub axes_b: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct CumBlock {
    pub axis: usize,
    pub op: super::cumulative::CumOp,
}

fn params<'a, T: 'static>(
    inputs: &'a [Arc<Value>],
    what: &str,
) -> std::result::Result<&'a T, String> {
    inputs
        .first()
        .and_then(|v| v.params::<T>())
        .ok_or_else(|| format!("{what}: missing parameters"))
}

fn buffer<'a>(v: &'a Arc<Value>, what: &str) -> std::result::Result<&'a Buffer, String> {
    v.as_buffer()
        .ok_or_else(|| format!("{what}: input is {}, not a block", v.kind_name()))
}

fn blocks<'a>(vs: &'a [Arc<Value>], what: &str) -> std::result::Result<Vec<&'a Buffer>, String> {
    vs.iter().map(|v| buffer(v, what)).collect()
}

fn partial(v: &Arc<Value>) -> std::result::Result<&Partial, String> {
    v.params::<Partial>()
        .ok_or_else(|| "reduction input is not a partial result".to_string())
}

fn ok_value(r: Result<Value>) -> std::result::Result<Arc<Value>, String> {
    r.map(Arc::new).map_err(|e| e.to_string())
}

fn any_sparse(vs: &[Arc<Value>]) -> bool {
    vs.iter().any(|v| matches!(**v, Value::Sparse(_)))
}

fn sparse_blocks(vs: &[Arc<Value>]) -> std::result::Result<Vec<&crate::sparse::Coo>, String> {
    vs.iter()
        .map(|v| match &**v {
            Value::Sparse(c) => Ok(c),
            other => Err(format!("a sparse array's block is {}", other.kind_name())),
        })
        .collect()
}

/// Parameters of `array.to_sparse`: the fill value.
#[derive(Debug, Clone)]
pub struct ToSparse {
    pub fill: crate::value::Scalar,
}

fn ok_block(r: Result<Buffer>) -> std::result::Result<Arc<Value>, String> {
    r.map(|b| Arc::new(Value::Buffer(b)))
        .map_err(|e| e.to_string())
}

/// The registered array operations.
pub struct ArrayOps {
    pub fused: &'static OpDef,
    pub create: &'static OpDef,
    pub reduce_block: &'static OpDef,
    pub reduce_combine: &'static OpDef,
    pub reduce_finalize: &'static OpDef,
    pub assemble: &'static OpDef,
    pub transpose: &'static OpDef,
    pub reshape: &'static OpDef,
    pub tensordot: &'static OpDef,
    pub add_blocks: &'static OpDef,
    pub cum_block: &'static OpDef,
    pub cum_carry: &'static OpDef,
    pub select: &'static OpDef,
    pub arg_block: &'static OpDef,
    pub arg_combine: &'static OpDef,
    pub arg_finalize: &'static OpDef,
    pub count_block: &'static OpDef,
    pub to_sparse: &'static OpDef,
    pub to_dense: &'static OpDef,
    pub check: &'static OpDef,
}

pub static OPS: LazyLock<ArrayOps> = LazyLock::new(|| {
    super::wire::register_decoders();
    ArrayOps {
        fused: register_builtin("array.fused", |inputs| {
            let p = params::<FusedBlock>(inputs, "array.fused")?;
            if any_sparse(&inputs[1..]) {
                let refs: Vec<&Arc<Value>> = inputs[1..].iter().collect();
                return ok_value(sb::interpret(&p.program, &refs).and_then(sb::value_of));
            }
            ok_block(eval_block(
                &p.program,
                &blocks(&inputs[1..], "array.fused")?,
                &p.shape,
            ))
        }),
        create: register_builtin("array.create", |inputs| {
            let p = params::<CreateBlock>(inputs, "array.create")?;
            if matches!(p.spec, CreateSpec::SparseUniform { .. }) {
                return ok_value(create_sparse_block(p).map(Value::Sparse));
            }
            ok_block(create_block(p))
        }),
        reduce_block: register_builtin("array.reduce_block", |inputs| {
            let p = params::<ReduceBlock>(inputs, "array.reduce_block")?;
            if any_sparse(&inputs[1..]) {
                let refs: Vec<&Arc<Value>> = inputs[1..].iter().collect();
                let part = sb::interpret(&p.program, &refs).and_then(|op| match op {
                    Operand::Sparse(c) => sb::sparse_partial(p.op, &c, &p.reduced),
                    other => {
                        let b = other.into_block()?;
                        let mut id = Program::default();
                        let x = id.add_input(b.dtype());
                        id.finish(x);
                        reduce_block(p.op, b.dtype(), &p.shape, &p.reduced, |sink| {
                            eval(&id, &[&b], &p.shape, sink)
                        })
                    }
                });
                return part
                    .map(|part| Arc::new(Value::Params(Arc::new(part))))
                    .map_err(|e| e.to_string());
            }
            let bs = blocks(&inputs[1..], "array.reduce_block")?;
            let dtype = p.program.out_dtype();
            reduce_block(p.op, dtype, &p.shape, &p.reduced, |sink| {
                eval(&p.program, &bs, &p.shape, sink)
            })
            .map(|part| Arc::new(Value::Params(Arc::new(part))))
            .map_err(|e| e.to_string())
        }),
        reduce_combine: register_builtin("array.reduce_combine", |inputs| {
            let parts = inputs
                .iter()
                .map(partial)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            combine(&parts)
                .map(|p| Arc::new(Value::Params(Arc::new(p))))
                .map_err(|e| e.to_string())
        }),
        reduce_finalize: register_builtin("array.reduce_finalize", |inputs| {
            let p = params::<FinalizeBlock>(inputs, "array.reduce_finalize")?;
            let part = partial(inputs.get(1).ok_or("array.reduce_finalize: no partial")?)?;
            ok_block(finalize(part, p.dtype, &p.shape))
        }),
        assemble: register_builtin("array.assemble", |inputs| {
            let p = params::<AssembleBlock>(inputs, "array.assemble")?;
            if any_sparse(&inputs[1..]) {
                let cs = sparse_blocks(&inputs[1..])?;
                return ok_value(sb::assemble_sparse(p, &cs).map(Value::Sparse));
            }
            ok_block(assemble(p, &blocks(&inputs[1..], "array.assemble")?))
        }),
        transpose: register_builtin("array.transpose", |inputs| {
            let p = params::<TransposeBlock>(inputs, "array.transpose")?;
            if let Some(Value::Sparse(c)) = inputs.get(1).map(|v| &**v) {
                return ok_value(c.transpose(&p.perm).map(Value::Sparse));
            }
            ok_block(transpose_block(
                buffer(&inputs[1], "array.transpose")?,
                &p.perm,
            ))
        }),
        reshape: register_builtin("array.reshape", |inputs| {
            let p = params::<ReshapeBlock>(inputs, "array.reshape")?;
            if let Some(Value::Sparse(c)) = inputs.get(1).map(|v| &**v) {
                return ok_value(c.reshape(&p.shape).map(Value::Sparse));
            }
            ok_block(reshape_block(
                buffer(&inputs[1], "array.reshape")?,
                &p.shape,
            ))
        }),
        tensordot: register_builtin("array.tensordot", |inputs| {
            let p = params::<TensordotBlock>(inputs, "array.tensordot")?;
            if any_sparse(&inputs[1..]) {
                let pairs: Vec<(&Value, &Value)> =
                    inputs[1..].chunks(2).map(|c| (&*c[0], &*c[1])).collect();
                return ok_value(
                    sb::tensordot_pairs(&pairs, &p.axes_a, &p.axes_b).and_then(sb::value_of),
                );
            }
            let bs = blocks(&inputs[1..], "array.tensordot")?;
            if bs.len() % 2 != 0 || bs.is_empty() {
                return Err("array.tensordot takes pairs of blocks".into());
            }
            ok_block(tensordot_blocks(&bs, &p.axes_a, &p.axes_b))
        }),
        add_blocks: register_builtin("array.add_blocks", |inputs| {
            if any_sparse(inputs) {
                let add = crate::ufunc::ufunc("add").map_err(|e| e.to_string())?;
                let mut acc = sb::operand_of(&inputs[0]).map_err(|e| e.to_string())?;
                for v in &inputs[1..] {
                    let op = sb::operand_of(v).map_err(|e| e.to_string())?;
                    acc = super::dispatch::apply_ufunc(&add, &[acc, op])
                        .map_err(|e| e.to_string())?;
                }
                return ok_value(sb::value_of(acc));
            }
            ok_block(add_blocks(&blocks(inputs, "array.add_blocks")?))
        }),
        to_sparse: register_builtin("array.to_sparse", |inputs| {
            let fill = params::<ToSparse>(inputs, "array.to_sparse")?.fill;
            match inputs.get(1).map(|v| &**v) {
                Some(Value::Sparse(c)) => Ok(Arc::new(Value::Sparse(c.clone()))),
                Some(v) => {
                    let b = v.as_buffer().ok_or("array.to_sparse: not a block")?;
                    ok_value(crate::sparse::Coo::from_dense(b, fill).map(Value::Sparse))
                }
                None => Err("array.to_sparse: no block".into()),
            }
        }),
        to_dense: register_builtin("array.to_dense", |inputs| {
            match inputs.first().map(|v| &**v) {
                Some(Value::Sparse(c)) => ok_block(c.to_dense()),
                Some(v @ Value::Buffer(_)) => Ok(Arc::new(v.clone())),
                _ => Err("array.to_dense: not a block".into()),
            }
        }),
        cum_block: register_builtin("array.cum_block", |inputs| {
            let p = params::<CumBlock>(inputs, "array.cum_block")?;
            ok_block(super::cumulative::cum_block(
                buffer(&inputs[1], "array.cum_block")?,
                p.axis,
                p.op,
            ))
        }),
        cum_carry: register_builtin("array.cum_carry", |inputs| {
            let p = params::<CumBlock>(inputs, "array.cum_carry")?;
            ok_block(super::cumulative::cum_carry(
                buffer(&inputs[1], "array.cum_carry")?,
                buffer(&inputs[2], "array.cum_carry")?,
                p.axis,
                p.op,
            ))
        }),
        select: register_builtin("array.select", |inputs| {
            let bs = blocks(inputs, "array.select")?;
            ok_block(super::index::select_block(bs[0], bs[1]))
        }),
        arg_block: register_builtin("array.arg_block", |inputs| {
            let p = params::<super::argreduce::ArgBlock>(inputs, "array.arg_block")?;
            super::argreduce::arg_block(p, buffer(&inputs[1], "array.arg_block")?)
                .map(|a| Arc::new(Value::Params(Arc::new(a))))
                .map_err(|e| e.to_string())
        }),
        arg_combine: register_builtin("array.arg_combine", |inputs| {
            let parts = inputs
                .iter()
                .map(|v| {
                    v.params::<super::argreduce::ArgPartial>()
                        .ok_or("not an arg partial")
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            super::argreduce::arg_combine(&parts)
                .map(|a| Arc::new(Value::Params(Arc::new(a))))
                .map_err(|e| e.to_string())
        }),
        arg_finalize: register_builtin("array.arg_finalize", |inputs| {
            let p = params::<FinalizeBlock>(inputs, "array.arg_finalize")?;
            let part = inputs
                .get(1)
                .and_then(|v| v.params::<super::argreduce::ArgPartial>())
                .ok_or("array.arg_finalize: no partial")?;
            ok_block(super::argreduce::arg_finalize(part, &p.shape))
        }),
        check: register_builtin("array.check", |inputs| {
            let p = params::<FinalizeBlock>(inputs, "array.check")?;
            let v = inputs.get(1).ok_or("array.check: no block")?;
            if let Value::Sparse(c) = &**v {
                if c.dtype() != p.dtype || c.shape() != p.shape.as_slice() {
                    return Err(format!(
                    "a block function returned a sparse {} block of shape {:?}; the array needs {} blocks of shape {:?}",
                    c.dtype().name(),
                    c.shape(),
                    p.dtype.name(),
                    p.shape
                ));
                }
                return Ok(v.clone());
            }
            let b = buffer(v, "a block function")?;
            if b.dtype() != p.dtype || b.shape() != p.shape.as_slice() {
                return Err(format!(
                "a block function returned a {} block of shape {:?}; the array needs {} blocks of shape {:?} here",
                b.dtype().name(),
                b.shape(),
                p.dtype.name(),
                p.shape
            ));
            }
            Ok(v.clone())
        }),
        count_block: register_builtin("array.count_block", |inputs| {
            let b = buffer(
                inputs.first().ok_or("array.count_block: no block")?,
                "array.count_block",
            )?;
            let bytes = crate::ufunc::kernel::cast_block(b, DType::Bool)
                .and_then(|m| contiguous(&m))
                .map_err(|e| e.to_string())?;
            // SAFETY: a contiguous boolean block of `len` one-byte elements.
            let flags = if bytes.is_empty() {
                &[][..]
            } else {
                unsafe { std::slice::from_raw_parts(bytes.as_ptr(), bytes.len()) }
            };
            let count = flags.iter().filter(|&&f| f != 0).count() as i64;
            ok_block(Buffer::from_vec(vec![count], &vec![1; b.ndim()]))
        }),
    }
});

/// Cuts the pieces out of the input blocks and places them; a single piece covering the whole
/// output is a view (no copy).
pub fn assemble(p: &AssembleBlock, inputs: &[&Buffer]) -> Result<Buffer> {
    let cut = |piece: &Piece| -> Result<Buffer> {
        let b = inputs
            .get(piece.arg)
            .ok_or_else(|| Error::invalid("assemble: piece refers to a missing block"))?;
        slice_block(b, &piece.sel)
    };
    let assembled = if p.pieces.len() == 1 && p.pieces[0].at.iter().all(|&a| a == 0) {
        cut(&p.pieces[0])?
    } else {
        let mut out = Buffer::zeros(p.dtype, &p.assembled_shape)?;
        let strides = out.strides().to_vec();
        let isz = p.dtype.itemsize();
        let dst = out.as_mut_bytes()?.as_mut_ptr();
        for piece in p
            .pieces
            .iter()
            .filter(|piece| piece.sel.iter().all(|s| s.2 > 0))
        {
            let src = contiguous(&cut(piece)?)?;
            let base: isize = piece
                .at
                .iter()
                .zip(&strides)
                .map(|(&a, &s)| a as isize * s)
                .sum();
            let sp = src.as_ptr();
            let shape = src.shape().to_vec();
            let n = src.len();
            crate::ufunc::kernel::for_each_run(&shape, 0, n, |at, run, idx| {
                let off: isize = idx
                    .iter()
                    .zip(&strides)
                    .map(|(&i, &s)| i as isize * s)
                    .sum::<isize>()
                    + base;
                // SAFETY: the piece lies inside the output (planned so) and `src` holds `n`
                // contiguous elements.
                unsafe {
                    std::ptr::copy_nonoverlapping(sp.add(at * isz), dst.offset(off), run * isz)
                };
            });
        }
        out
    };
    if assembled.shape() == p.shape.as_slice() {
        Ok(assembled)
    } else {
        reshape_block(&assembled, &p.shape)
    }
}

/// Elementwise sum of blocks of one shape.
pub fn add_blocks(bs: &[&Buffer]) -> Result<Buffer> {
    let add = crate::ufunc::ufunc("add")?;
    let mut acc = (*bs.first().ok_or_else(|| Error::invalid("nothing to add"))?).clone();
    for b in &bs[1..] {
        let mut p = Program::default();
        let x = p.add_input(acc.dtype());
        let y = p.add_input(b.dtype());
        let z = p.apply(&add, &[x, y])?;
        p.finish(z);
        acc = eval_block(&p, &[&acc, b], acc.shape())?;
    }
    Ok(acc)
}
