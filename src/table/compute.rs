//! Computed values: the ufunc calls of an expression (`exp(x) * 2 + y`) compiled into one
//! fused program of the ufunc tables — the kernels chunked arrays use, with NumPy's types —
//! and run over a partition's columns: each input read once, no intermediate column made.
//! A row is null where any column the computation reads is null there.

use super::expr::{Expr, Node, Scalar};
use crate::error::{Error, Result};
use crate::ufunc::kernel::{eval_block, Program, Src};
use crate::ufunc::nep50::{operand_dtypes, OperandType};
use crate::value::{Buffer, DType, Scalar as Number, B8};
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray, RecordBatch};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::DataType;
use std::sync::Arc;

/// Call nodes evaluated as part of a larger call (every user of theirs is a call): their
/// programs are built into their users'.
pub(crate) fn inner_calls(expr: &Expr) -> Vec<bool> {
    let nodes = expr.nodes();
    let mut inner: Vec<bool> = nodes.iter().map(|n| matches!(n, Node::Call(..))).collect();
    let mut used = vec![false; nodes.len()];
    for n in nodes {
        let (operands, by_call): (Vec<usize>, bool) = match n {
            Node::Call(_, args) => (args.clone(), true),
            Node::Cmp(_, a, b) | Node::And(a, b) | Node::Or(a, b) => (vec![*a, *b], false),
            Node::Not(a) | Node::IsNull(a) | Node::IsIn(a, _) => (vec![*a], false),
            Node::Column(_) | Node::Literal(_) => (vec![], false),
        };
        for a in operands {
            used[a] = true;
            if !by_call {
                inner[a] = false;
            }
        }
    }
    // The root, or a call nothing uses, is evaluated on its own.
    for (i, u) in used.iter().enumerate() {
        if !u {
            inner[i] = false;
        }
    }
    inner
}

fn number(s: &Scalar, at: &str) -> Result<Number> {
    Ok(match s {
        Scalar::Bool(b) => Number::Bool(*b),
        Scalar::Int(i) => Number::Int(*i),
        Scalar::Float(f) => Number::Float(*f),
        other => {
            return Err(Error::invalid(format!(
                "{at}: the literal {other} is not a number or a boolean"
            )))
        }
    })
}

/// A column as a block of the ufunc tables (its values; nulls are kept apart).
fn block(a: &ArrayRef, name: &str) -> Result<Buffer> {
    let n = [a.len()];
    macro_rules! values {
        ($t:ty) => {
            Buffer::from_vec(a.as_primitive::<$t>().values().to_vec(), &n)
        };
    }
    match a.data_type() {
        DataType::Boolean => {
            let b = a.as_boolean();
            Buffer::from_vec((0..b.len()).map(|i| B8::of(b.value(i))).collect(), &n)
        }
        DataType::Int8 => values!(Int8Type),
        DataType::Int16 => values!(Int16Type),
        DataType::Int32 => values!(Int32Type),
        DataType::Int64 => values!(Int64Type),
        DataType::UInt8 => values!(UInt8Type),
        DataType::UInt16 => values!(UInt16Type),
        DataType::UInt32 => values!(UInt32Type),
        DataType::UInt64 => values!(UInt64Type),
        DataType::Float32 => values!(Float32Type),
        DataType::Float64 => values!(Float64Type),
        t => Err(Error::invalid(format!(
            "column '{name}' is {t}: ufuncs compute on numbers and booleans"
        ))),
    }
}

fn dtype_of(t: &DataType, name: &str) -> Result<DType> {
    super::to_array::dtype_of(t).ok_or_else(|| {
        Error::invalid(format!(
            "column '{name}' is {t}: ufuncs compute on numbers and booleans"
        ))
    })
}

/// A block of the ufunc tables as an Arrow column with `nulls`.
fn column(b: &Buffer, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
    macro_rules! prim {
        ($t:ty, $e:ty) => {
            Arc::new(PrimitiveArray::<$t>::new(
                ScalarBuffer::from(b.as_slice::<$e>()?.to_vec()),
                nulls,
            )) as ArrayRef
        };
    }
    Ok(match b.dtype() {
        DType::Bool => {
            let values: Vec<bool> = b.as_slice::<B8>()?.iter().map(|v| v.0 != 0).collect();
            Arc::new(BooleanArray::new(values.into(), nulls))
        }
        DType::Int8 => prim!(Int8Type, i8),
        DType::Int16 => prim!(Int16Type, i16),
        DType::Int32 => prim!(Int32Type, i32),
        DType::Int64 => prim!(Int64Type, i64),
        DType::UInt8 => prim!(UInt8Type, u8),
        DType::UInt16 => prim!(UInt16Type, u16),
        DType::UInt32 => prim!(UInt32Type, u32),
        DType::UInt64 => prim!(UInt64Type, u64),
        DType::Float32 => prim!(Float32Type, f32),
        DType::Float64 => prim!(Float64Type, f64),
    })
}

/// The value of call node `root` of `expr` over `batch`: the calls under it (through other
/// calls) compiled into one program.
pub(crate) fn evaluate_call(expr: &Expr, root: usize, batch: &RecordBatch) -> Result<ArrayRef> {
    let nodes = expr.nodes();
    // The nodes of the computation, found with a stack, then built in index order
    // (operands come before their users).
    let mut member = vec![false; root + 1];
    let mut stack = vec![root];
    while let Some(i) = stack.pop() {
        if member[i] {
            continue;
        }
        member[i] = true;
        if let Node::Call(_, args) = &nodes[i] {
            stack.extend(args.iter().copied());
        }
    }
    let mut program = Program::default();
    let mut src: Vec<Option<Src>> = vec![None; root + 1];
    let mut inputs: Vec<Buffer> = Vec::new();
    let mut read: Vec<String> = Vec::new();
    let mut nulls: Option<NullBuffer> = None;
    for i in (0..=root).filter(|&i| member[i]) {
        src[i] = match &nodes[i] {
            Node::Column(c) => {
                if let Some(k) = read.iter().position(|r| r == c) {
                    Some(Src::Input(k))
                } else {
                    let a = batch.column_by_name(c).ok_or_else(|| {
                        Error::NotFound(format!("no column '{c}' to compute with"))
                    })?;
                    let d = dtype_of(a.data_type(), c)?;
                    inputs.push(block(a, c)?);
                    nulls = NullBuffer::union(nulls.as_ref(), a.logical_nulls().as_ref());
                    read.push(c.clone());
                    Some(program.add_input(d))
                }
            }
            // Literals are added with their call, which gives them their dtype.
            Node::Literal(_) => None,
            Node::Call(name, args) => {
                let u = crate::ufunc::ufunc(name)?;
                let at = format!("{name}()");
                let types = args
                    .iter()
                    .map(|&a| match (&nodes[a], src[a]) {
                        (Node::Literal(s), _) => Ok(OperandType::Scalar(number(s, &at)?)),
                        (_, Some(s)) => Ok(OperandType::Array(program.dtype_of(s))),
                        (other, None) => Err(Error::invalid(format!(
                            "{at}: an operand that is not a column, a number or a ufunc call \
                             ({other:?})"
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                if types.iter().all(|t| matches!(t, OperandType::Scalar(_))) {
                    return Err(Error::invalid(format!(
                        "{at}: computes over columns; every operand is a literal"
                    )));
                }
                let dtypes = operand_dtypes(&u, &types)?;
                let operands: Vec<Src> = args
                    .iter()
                    .zip(types.iter().zip(dtypes))
                    .map(|(&a, (t, d))| match t {
                        OperandType::Scalar(s) => program.add_const(*s, d),
                        OperandType::Array(_) => src[a].expect("an array operand has a source"),
                    })
                    .collect();
                Some(program.apply(&u, &operands)?)
            }
            other => {
                return Err(Error::invalid(format!(
                    "a ufunc operand must be a column, a number or a ufunc call, not {other:?}"
                )))
            }
        };
    }
    let out = src[root].expect("the root is a call");
    program.finish(out);
    let refs: Vec<&Buffer> = inputs.iter().collect();
    let result = eval_block(&program, &refs, &[batch.num_rows()])?;
    column(&result, nulls)
}

/// The value of `expr` over `batch` as a column: a column read, a computation, or a
/// condition (true, false or null per row).
pub fn evaluate(expr: &Expr, batch: &RecordBatch) -> Result<ArrayRef> {
    let root = expr.root();
    match &expr.nodes()[root] {
        Node::Column(c) => batch
            .column_by_name(c)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no column '{c}'"))),
        Node::Call(..) => evaluate_call(expr, root, batch),
        Node::Literal(s) => Err(Error::invalid(format!(
            "a column cannot be the literal {s} alone (compute it from a column)"
        ))),
        _ => Ok(Arc::new(super::eval::evaluate_filter(expr, batch)?)),
    }
}
