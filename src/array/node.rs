//! Lazy arrays: a DAG of array operations, lowered to chunk tasks only when computed.

use super::chunks::Chunks;
use super::create::CreateSpec;
use super::reduce_kernel::ReduceOp;
use crate::runtime::{Future, OpDef};
use crate::ufunc::Ufunc;
use crate::value::Scalar;
use crate::value::{DType, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A chunked, lazy n-dimensional array (`dask.array.Array`). Cheap to clone. Operations build
/// new arrays; nothing runs until `compute`, `persist` or `store`.
#[derive(Clone)]
pub struct Array {
    pub(crate) node: Arc<Node>,
}

pub(crate) struct Node {
    pub(crate) id: u64,
    pub(crate) dtype: DType,
    pub(crate) chunks: Chunks,
    pub(crate) op: Op,
    /// True when the blocks are sparse (COO) rather than dense.
    pub(crate) sparse: bool,
}

/// An operand of an elementwise operation.
#[derive(Clone)]
pub(crate) enum Arg {
    Array(Array),
    Scalar(Scalar),
}

/// How each output block along one axis of a slice is cut from the input.
#[derive(Debug, Clone)]
pub(crate) struct AxisPiece {
    /// Input block index along the axis.
    pub(crate) block: usize,
    /// First element within that block, step, and number of elements.
    pub(crate) start: usize,
    pub(crate) step: isize,
    pub(crate) len: usize,
}

/// For each output block along one axis: the input pieces it is assembled from, in order.
pub(crate) type AxisPlan = Vec<Vec<AxisPiece>>;

pub(crate) enum Op {
    /// Blocks in memory, row-major over the grid.
    Blocks(Vec<Arc<Value>>),
    /// Blocks held in the store (a persisted array).
    Futures(Vec<Future>),
    Create(CreateSpec),
    /// A ufunc over operands broadcast together; chunks are aligned.
    Map {
        ufunc: Arc<Ufunc>,
        args: Vec<Arg>,
    },
    Astype(Array),
    Reduce {
        input: Array,
        op: ReduceOp,
        axes: Vec<bool>,
        keepdims: bool,
        split_every: usize,
    },
    ArgReduce {
        input: Array,
        max: bool,
        axis: Option<usize>,
    },
    Transpose {
        input: Array,
        perm: Vec<usize>,
    },
    /// Output blocks cut and assembled from input blocks, one plan per output axis
    /// (slicing, rechunking). `drop_axes` are removed from the result (integer indexing);
    /// `new_axes` are inserted (newaxis), both as positions in the output.
    Assemble {
        input: Array,
        plans: Vec<AxisPlan>,
        drop_axes: Vec<usize>,
        new_axes: Vec<usize>,
    },
    /// Blocks of several arrays laid side by side along `axis` (no data moves).
    Concatenate {
        inputs: Vec<Array>,
        axis: usize,
    },
    /// Per-block reshape where the chunking allows it.
    Reshape {
        input: Array,
    },
    Tensordot {
        a: Array,
        b: Array,
        axes_a: Vec<usize>,
        axes_b: Vec<usize>,
        split_every: usize,
    },
    /// Blocks made by an operation from their position (see `Array::from_block_fn`).
    BlockFn {
        op: &'static OpDef,
    },
    /// A user or library operation applied to aligned blocks of the inputs.
    MapBlocks {
        op: &'static OpDef,
        inputs: Vec<Array>,
    },
    /// Cumulative sum, product, maximum or minimum along an axis.
    Cumulative {
        input: Array,
        op: super::cumulative::CumOp,
        axis: usize,
    },
    /// Elements where the boolean mask (same shape, same chunks) is true, flattened.
    Select {
        input: Array,
        mask: Array,
    },
    /// Each block made sparse (`map_blocks(sparse.COO)`), dropping `fill`.
    ToSparse {
        input: Array,
        fill: Scalar,
    },
    /// Each block made dense (the explicit densify).
    ToDense {
        input: Array,
    },
}

impl Op {
    /// The arrays this operation reads, taken out of it (what `Drop` walks).
    fn into_inputs(self) -> Vec<Array> {
        match self {
            Op::Blocks(_) | Op::Futures(_) | Op::Create(_) | Op::BlockFn { .. } => vec![],
            Op::Map { args, .. } => args
                .into_iter()
                .filter_map(|a| match a {
                    Arg::Array(x) => Some(x),
                    Arg::Scalar(_) => None,
                })
                .collect(),
            Op::Astype(x)
            | Op::Reduce { input: x, .. }
            | Op::ArgReduce { input: x, .. }
            | Op::Transpose { input: x, .. }
            | Op::Assemble { input: x, .. }
            | Op::Reshape { input: x }
            | Op::Cumulative { input: x, .. }
            | Op::ToSparse { input: x, .. }
            | Op::ToDense { input: x } => vec![x],
            Op::Concatenate { inputs, .. } | Op::MapBlocks { inputs, .. } => inputs,
            Op::Tensordot { a, b, .. } => vec![a, b],
            Op::Select { input, mask } => vec![input, mask],
        }
    }
}

/// Dropping the last handle on a chain of a million operations must not recurse a million
/// times: the nodes that lose their last reference here are taken apart on an explicit stack.
impl Drop for Node {
    fn drop(&mut self) {
        let op = std::mem::replace(&mut self.op, Op::Blocks(Vec::new()));
        let mut stack = op.into_inputs();
        while let Some(a) = stack.pop() {
            if let Some(mut node) = Arc::into_inner(a.node) {
                let op = std::mem::replace(&mut node.op, Op::Blocks(Vec::new()));
                stack.extend(op.into_inputs());
                // `node` drops here with an empty operation: nothing below it is reached.
            }
        }
    }
}

impl Array {
    pub(crate) fn new(dtype: DType, chunks: Chunks, op: Op) -> Array {
        // Sparse blocks stay sparse through operations that keep the block kind.
        let sparse = match &op {
            Op::Map { args, .. } => args
                .iter()
                .any(|a| matches!(a, Arg::Array(x) if x.is_sparse())),
            Op::Astype(x)
            | Op::Transpose { input: x, .. }
            | Op::Assemble { input: x, .. }
            | Op::Reshape { input: x } => x.is_sparse(),
            Op::Concatenate { inputs, .. } => inputs.iter().all(Array::is_sparse),
            Op::Tensordot { a, b, .. } => a.is_sparse() && b.is_sparse(),
            Op::ToSparse { .. } | Op::Create(CreateSpec::SparseUniform { .. }) => true,
            _ => false,
        };
        Array::with_kind(dtype, chunks, op, sparse)
    }

    /// A node whose block kind is given (sparse or dense).
    pub(crate) fn with_kind(dtype: DType, chunks: Chunks, op: Op, sparse: bool) -> Array {
        Array {
            node: Arc::new(Node {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                dtype,
                chunks,
                op,
                sparse,
            }),
        }
    }

    /// True when the array's blocks are sparse (COO).
    pub fn is_sparse(&self) -> bool {
        self.node.sparse
    }

    pub fn dtype(&self) -> DType {
        self.node.dtype
    }

    pub fn shape(&self) -> Vec<usize> {
        self.node.chunks.shape()
    }

    pub fn ndim(&self) -> usize {
        self.node.chunks.ndim()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn chunks(&self) -> &Chunks {
        &self.node.chunks
    }

    /// Number of blocks.
    pub fn nblocks(&self) -> usize {
        self.node.chunks.nblocks()
    }

    /// True when the blocks are computed already (in memory or persisted in the store).
    pub fn is_computed(&self) -> bool {
        matches!(self.node.op, Op::Blocks(_) | Op::Futures(_))
    }

    pub(crate) fn inputs(&self) -> Vec<&Array> {
        match &self.node.op {
            Op::Blocks(_) | Op::Futures(_) | Op::Create(_) | Op::BlockFn { .. } => vec![],
            Op::Map { args, .. } => args
                .iter()
                .filter_map(|a| match a {
                    Arg::Array(x) => Some(x),
                    Arg::Scalar(_) => None,
                })
                .collect(),
            Op::Astype(x)
            | Op::Reduce { input: x, .. }
            | Op::ArgReduce { input: x, .. }
            | Op::Transpose { input: x, .. }
            | Op::Assemble { input: x, .. }
            | Op::Reshape { input: x }
            | Op::Cumulative { input: x, .. } => vec![x],
            Op::Concatenate { inputs, .. } | Op::MapBlocks { inputs, .. } => {
                inputs.iter().collect()
            }
            Op::Tensordot { a, b, .. } => vec![a, b],
            Op::Select { input, mask } => vec![input, mask],
            Op::ToSparse { input, .. } | Op::ToDense { input } => vec![input],
        }
    }

    /// A short description of the operation (for `Debug` and error messages).
    pub(crate) fn op_name(&self) -> String {
        match &self.node.op {
            Op::Blocks(_) => "blocks".into(),
            Op::Futures(_) => "persisted".into(),
            Op::Create(c) => c.name().into(),
            Op::Map { ufunc, .. } => ufunc.name().into(),
            Op::Astype(_) => "astype".into(),
            Op::Reduce { op, .. } => op.name().into(),
            Op::ArgReduce { max, .. } => if *max { "argmax" } else { "argmin" }.into(),
            Op::Transpose { .. } => "transpose".into(),
            Op::Assemble { .. } => "getitem/rechunk".into(),
            Op::Concatenate { .. } => "concatenate".into(),
            Op::Reshape { .. } => "reshape".into(),
            Op::Tensordot { .. } => "tensordot".into(),
            Op::MapBlocks { op, .. } | Op::BlockFn { op } => op.name().into(),
            Op::Cumulative { op, .. } => op.name().into(),
            Op::Select { .. } => "select".into(),
            Op::ToSparse { .. } => "to_sparse".into(),
            Op::ToDense { .. } => "to_dense".into(),
        }
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let block: Vec<usize> = self
            .node
            .chunks
            .axes()
            .iter()
            .map(|s| s.first().copied().unwrap_or(0))
            .collect();
        write!(
            f,
            "dask.array<{}, shape={:?}, dtype={}, chunksize={:?}, blocks={}{}>",
            self.op_name(),
            self.shape(),
            self.dtype().name(),
            block,
            self.nblocks(),
            if self.is_computed() {
                ", computed"
            } else {
                ", lazy"
            }
        )
    }
}
