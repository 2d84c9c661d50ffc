//! The array API, one file per concern: creation, elementwise operations (through the ufunc
//! dispatch), reductions, linear algebra, indexing, restructuring, sparse blocks, computing.
//! Each adds methods to [`Array`](super::Array); the lowering (`lower`) and the block kernels
//! (`ops`) sit below.

mod compute;
mod creation;
mod dataset;
mod elementwise;
mod gufunc;
mod indexing;
mod linalg;
mod reductions;
mod sparse;
mod structure;

pub use crate::value::Index;
pub(super) use compute::copy_block_into;

use crate::array::chunks::{Chunks, AUTO_BLOCK_BYTES};
use crate::error::{Error, Result};
use crate::value::DType;

/// How to chunk a new array.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// Blocks of about 128 MiB (`chunks="auto"`).
    Auto,
    /// The same block shape everywhere (the last block of an axis may be smaller).
    Regular(Vec<usize>),
    /// Explicit block sizes per axis.
    Explicit(Vec<Vec<usize>>),
}

impl ChunkSpec {
    pub fn resolve(&self, shape: &[usize], dtype: DType) -> Result<Chunks> {
        match self {
            ChunkSpec::Auto => Chunks::auto(shape, dtype.itemsize(), AUTO_BLOCK_BYTES),
            ChunkSpec::Regular(b) => Chunks::regular(shape, b),
            ChunkSpec::Explicit(s) => Chunks::from_sizes(shape, s.clone()),
        }
    }
}

pub(super) fn check_axis(axis: usize, ndim: usize) -> Result<()> {
    if axis >= ndim {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for a {ndim}-d array"
        )));
    }
    Ok(())
}
