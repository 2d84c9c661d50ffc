//! Chunked dense arrays (`dask.array`), natively: lazy arrays lowered to graphs of chunk
//! tasks, with elementwise chains fused into tiled kernels.

mod api;
mod argreduce;
mod chunks;
mod create;
mod cumulative;
mod dispatch;
mod gather;
pub(crate) mod index;
pub(crate) mod linalg;
mod lower;
mod nan_reduce;
mod node;
mod operand;
mod ops;
pub mod reduce_kernel;
mod sparse_blocks;
mod wire;

pub use crate::value::Scalar;
pub use api::{ChunkSpec, Index};
pub use chunks::{checked_len, Chunks, AUTO_BLOCK_BYTES, MAX_BLOCKS, MAX_ELEMENTS};
pub use cumulative::CumOp;
pub use dispatch::{
    apply_ufunc, apply_ufunc_multi, foreign_kind, register_foreign_kind, register_kind, ArrayKind,
    ForeignArray, ForeignCall, ForeignKind, ForeignRelease,
};
pub use linalg::uses_blas;
pub use nan_reduce::NanOp;
pub use node::Array;
pub use operand::Operand;
pub use ops::FusedBlock;
pub use reduce_kernel::ReduceOp;

/// Registers the array operations and their parameter types (they are otherwise registered
/// on first use): a process that runs array tasks made by another calls this first.
pub fn register_ops() {
    std::sync::LazyLock::force(&ops::OPS);
    std::sync::LazyLock::force(&gather::GATHER);
}
