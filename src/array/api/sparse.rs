//! Chunked arrays of sparse (COO) blocks: conversions both ways, random sparse arrays, computing
//! into one COO array.

use super::ChunkSpec;
use crate::array::chunks::Chunks;
use crate::array::create::CreateSpec;
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::runtime::Client;
use crate::value::{DType, Scalar, Value};
use std::sync::Arc;

impl Array {
    /// The array with sparse (COO) blocks: each block keeps the elements that differ from
    /// `fill` (dask's `x.map_blocks(sparse.COO)`). Operations then dispatch on the block kind.
    pub fn to_sparse(&self, fill: impl Into<Scalar>) -> Array {
        if self.is_sparse() {
            return self.clone();
        }
        Array::new(
            self.dtype(),
            self.chunks().clone(),
            Op::ToSparse {
                input: self.clone(),
                fill: fill.into(),
            },
        )
    }

    /// A chunked sparse array over a sparse array, cut into blocks of `block` (each block a
    /// slice of `coo`).
    pub fn from_sparse_blocks(coo: &crate::sparse::Coo, block: &[usize]) -> Result<Array> {
        let chunks = Chunks::regular(coo.shape(), block)?;
        let mut blocks = Vec::with_capacity(chunks.nblocks());
        for i in 0..chunks.nblocks() {
            let idx = chunks.unravel(i);
            let sel: Vec<(usize, isize, usize)> = idx
                .iter()
                .enumerate()
                .map(|(ax, &k)| (chunks.offsets(ax)[k], 1, chunks.axis(ax)[k]))
                .collect();
            blocks.push(Arc::new(Value::Sparse(coo.slice(&sel, &[])?)));
        }
        Ok(Array::with_kind(
            coo.dtype(),
            chunks,
            Op::Blocks(blocks),
            true,
        ))
    }

    /// The array with dense blocks (the explicit densify of a sparse array).
    pub fn to_dense(&self) -> Array {
        if !self.is_sparse() {
            return self.clone();
        }
        Array::new(
            self.dtype(),
            self.chunks().clone(),
            Op::ToDense {
                input: self.clone(),
            },
        )
    }

    /// A random sparse float64 array: each element is stored with probability `density`,
    /// with a value uniform in (0, 1] (same seed, same array, whatever the chunking). Blocks are
    /// generated sparse: the cost is in the stored elements, not the dense size.
    pub fn random_sparse(
        seed: u64,
        density: f64,
        shape: &[usize],
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        if !(0.0..=1.0).contains(&density) {
            return Err(Error::invalid(format!(
                "density {density} is not in [0, 1]"
            )));
        }
        Self::created(
            shape,
            DType::Float64,
            chunks,
            CreateSpec::SparseUniform { seed, density },
        )
    }

    /// Computes a sparse array into one COO array (blocks placed at their offsets).
    pub fn compute_sparse(&self, client: &Client) -> Result<crate::sparse::Coo> {
        if !self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are dense: use compute, or to_sparse first",
            ));
        }
        let mut pieces: Vec<(Vec<usize>, crate::sparse::Coo)> = Vec::with_capacity(self.nblocks());
        let fs = self.run(client)?;
        let chunks = self.chunks().clone();
        for (i, f) in fs.into_iter().enumerate() {
            let v = f.result()?;
            let c = match &*v {
                Value::Sparse(c) => c.clone(),
                Value::Buffer(b) => crate::sparse::Coo::from_dense(b, Scalar::Float(0.0))?,
                other => {
                    return Err(Error::invalid(format!(
                        "block task returned {}",
                        other.kind_name()
                    )))
                }
            };
            let offset = chunks.block_offset(i);
            pieces.push((offset, c));
        }
        crate::array::sparse_blocks::place(&pieces, &self.shape())
    }
}
