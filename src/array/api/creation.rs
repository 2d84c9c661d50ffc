//! Making arrays: constant fills, ranges, identity matrices, random numbers (the same for any
//! chunking), arrays over existing buffers and over block functions.

use super::ChunkSpec;
use crate::array::create::CreateSpec;
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::runtime::OpDef;
use crate::value::{Buffer, DType, Scalar, Value};
use std::sync::Arc;

impl Array {
    pub(super) fn created(
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
        spec: CreateSpec,
    ) -> Result<Array> {
        Ok(Array::new(
            dtype,
            chunks.resolve(shape, dtype)?,
            Op::Create(spec),
        ))
    }

    pub fn zeros(shape: &[usize], dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::full(shape, Scalar::Int(0), dtype, chunks)
    }

    pub fn ones(shape: &[usize], dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::full(shape, Scalar::Int(1), dtype, chunks)
    }

    pub fn full(
        shape: &[usize],
        value: impl Into<Scalar>,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(shape, dtype, chunks, CreateSpec::Full(value.into()))
    }

    /// `start, start+step, …` below `stop` (NumPy's `arange`).
    pub fn arange(
        start: f64,
        stop: f64,
        step: f64,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        if step == 0.0 || !step.is_finite() {
            return Err(Error::invalid("arange step must be finite and non-zero"));
        }
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        if n > 0 && !matches!(dtype, DType::Float32 | DType::Float64) {
            // Every value must fit the integer dtype (NumPy fails rather than wrap).
            let last = start + step * (n - 1) as f64;
            let (lo, hi) = crate::value::dtype::int_bounds(dtype);
            for v in [start, last] {
                if v < lo || v > hi {
                    return Err(Error::invalid(format!(
                        "arange: {v} is out of bounds for {}",
                        dtype.name()
                    )));
                }
            }
        }
        Self::created(&[n], dtype, chunks, CreateSpec::Arange { start, step })
    }

    pub fn linspace(
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(
            &[num],
            dtype,
            chunks,
            CreateSpec::Linspace {
                start,
                stop,
                num,
                endpoint,
            },
        )
    }

    /// An n x m array with ones on diagonal `k`.
    pub fn eye(n: usize, m: usize, k: i64, dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::created(&[n, m], dtype, chunks, CreateSpec::Eye { k })
    }

    /// Uniform random numbers in [low, high); the same seed gives the same numbers whatever
    /// the chunking.
    pub fn random_uniform(
        seed: u64,
        low: f64,
        high: f64,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(
            shape,
            dtype,
            chunks,
            CreateSpec::Uniform { seed, low, high },
        )
    }

    /// Normally distributed random numbers; chunking-independent like `random_uniform`.
    pub fn random_normal(
        seed: u64,
        mean: f64,
        std: f64,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(shape, dtype, chunks, CreateSpec::Normal { seed, mean, std })
    }

    /// An array over an existing buffer: its blocks are views of the buffer (no copy; a
    /// buffer wrapping host memory keeps that memory until the last block is dropped).
    pub fn from_buffer(b: &Buffer, chunks: &ChunkSpec) -> Result<Array> {
        let chunks = chunks.resolve(b.shape(), b.dtype())?;
        let mut blocks = Vec::with_capacity(chunks.nblocks());
        for i in 0..chunks.nblocks() {
            let idx = chunks.unravel(i);
            let sel: Vec<(usize, isize, usize)> = idx
                .iter()
                .enumerate()
                .map(|(ax, &k)| (chunks.offsets(ax)[k], 1, chunks.axis(ax)[k]))
                .collect();
            blocks.push(Arc::new(Value::Buffer(crate::value::block::slice_block(
                b, &sel,
            )?)));
        }
        Ok(Array::new(b.dtype(), chunks, Op::Blocks(blocks)))
    }

    /// An array over dense blocks already computed and held by `futures` (row-major over the
    /// grid of `chunks`, each of `dtype` and its chunk's shape): how other collections (a
    /// table's `to_array`) hand their results to arrays without moving them.
    pub(crate) fn from_futures(
        dtype: DType,
        chunks: crate::array::Chunks,
        futures: Vec<crate::runtime::Future>,
    ) -> Result<Array> {
        if futures.len() != chunks.nblocks() {
            return Err(Error::invalid(format!(
                "{} blocks for a grid of {}",
                futures.len(),
                chunks.nblocks()
            )));
        }
        Ok(Array::new(dtype, chunks, Op::Futures(futures)))
    }

    /// An array whose blocks are produced by a registered operation: `op` is called once per
    /// block with one int64 buffer of shape (3, ndim) — the block's grid index, its shape and
    /// its offset in the array — and must return a block of `dtype` and that shape.
    pub fn from_block_fn(
        op: &'static OpDef,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        let chunks = chunks.resolve(shape, dtype)?;
        Ok(Array::new(dtype, chunks, Op::BlockFn { op }))
    }
}
