//! Computing: graphs lowered and submitted, results persisted, gathered into memory, or handed
//! over block by block.

use crate::array::lower::{lower_all, task_ids};
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::runtime::{Arg as GArg, AsCompleted, Client, Future};
use crate::ufunc::kernel::for_each_run;
use crate::value::block::contiguous;
use crate::value::Buffer;

impl Array {
    /// Number of tasks of the optimised graph (after culling and fusion).
    pub fn task_count(&self) -> Result<usize> {
        Ok(lower_all(&[self])?.0.len())
    }

    /// Starts computing the array on `client` and returns one future per block (row-major),
    /// without waiting: Dask's `client.compute` on the blocks.
    pub fn submit_blocks(&self, client: &Client) -> Result<Vec<Future>> {
        self.run(client)
    }

    pub(super) fn run(&self, client: &Client) -> Result<Vec<Future>> {
        self.run_paced(client, None)
    }

    /// Starts the blocks' graph; with `pace`, at most that many finished blocks are held at
    /// a time (see `Client::compute_paced`).
    fn run_paced(&self, client: &Client, pace: Option<usize>) -> Result<Vec<Future>> {
        let (graph, outs) = lower_all(&[self])?;
        let blocks = &outs[0];
        let ids = task_ids(blocks);
        let computed = match pace {
            Some(window) => client.compute_paced(graph, &ids, window)?,
            None => client.compute(graph, &ids)?,
        };
        let mut computed = computed.into_iter();
        blocks
            .iter()
            .map(|b| match b {
                GArg::Task(_) => Ok(computed.next().expect("one future per task")),
                GArg::Future(f) => Ok(f.clone()),
                GArg::Value(v) => client.scatter(v.clone()),
                GArg::Key(_) => Err(Error::invalid("unexpected key in array graph")),
            })
            .collect()
    }

    /// Computes the blocks and keeps them in the client's store; the result is an array over
    /// those blocks (further operations start from them).
    pub fn persist(&self, client: &Client) -> Result<Array> {
        let fs = self.run(client)?;
        for f in &fs {
            // Waits without reading the value: a block spilled meanwhile stays on disk.
            f.wait();
            if let Some(e) = f.error() {
                return Err(Error::Task(e));
            }
        }
        Ok(Array::with_kind(
            self.dtype(),
            self.chunks().clone(),
            Op::Futures(fs),
            self.is_sparse(),
        ))
    }

    /// Computes the array into a new C-contiguous buffer.
    pub fn compute(&self, client: &Client) -> Result<Buffer> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: use compute_sparse, or densify explicitly with to_dense",
            ));
        }
        let mut out = Buffer::zeros(self.dtype(), &self.shape())?;
        let bytes = out.as_mut_bytes()?;
        self.compute_into(client, bytes)?;
        Ok(out)
    }

    /// Computes the array into `out` (C order, `len() * itemsize` bytes).
    pub fn compute_into(&self, client: &Client, out: &mut [u8]) -> Result<()> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: use compute_sparse, or densify explicitly with to_dense",
            ));
        }
        let isz = self.dtype().itemsize();
        if out.len() != self.len() * isz {
            return Err(Error::Shape(format!(
                "output buffer has {} bytes, the array needs {}",
                out.len(),
                self.len() * isz
            )));
        }
        let shape = self.shape();
        let ptr = out.as_mut_ptr() as usize;
        self.store(client, |_, offset, block| {
            copy_block_into(ptr as *mut u8, &shape, isz, offset, block)
        })
    }

    /// Computes the array and hands each block to `write(block_index, offset, block)` as it is
    /// finished, then lets it go: a result larger than memory can be written out. The graph
    /// runs at most `threads + 2` finished blocks ahead of `write`, so a slow consumer holds
    /// memory to a few blocks, with or without a memory limit.
    pub fn store(
        &self,
        client: &Client,
        mut write: impl FnMut(usize, &[usize], &Buffer) -> Result<()>,
    ) -> Result<()> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: store writes dense blocks; densify explicitly with to_dense",
            ));
        }
        // Blocks are computed ahead of the consumer by at most a few per thread: a result
        // larger than memory streams through `write` in bounded memory, limit or not.
        let fs = self.run_paced(client, Some(client.threads() + 2))?;
        let chunks = self.chunks().clone();
        let mut done = AsCompleted::new(fs);
        // Finished blocks held on a cluster's workers are fetched a few ahead of the one
        // being written, so transfers overlap (a no-op for blocks held here).
        let ahead = PREFETCH_BLOCKS.min(client.threads() + 2);
        let mut window: std::collections::VecDeque<(usize, Future)> =
            std::collections::VecDeque::new();
        loop {
            while window.len() < ahead {
                let next = if window.is_empty() {
                    done.next_timeout(None)?
                } else {
                    match done.next_timeout(Some(std::time::Duration::ZERO)) {
                        Ok(n) => n,
                        Err(Error::Timeout(_)) => break,
                        Err(e) => return Err(e),
                    }
                };
                let Some((idx, f)) = next else { break };
                f.prefetch();
                window.push_back((idx, f));
            }
            let Some((idx, f)) = window.pop_front() else {
                break;
            };
            let v = f.result()?;
            drop(f);
            let b = v
                .as_buffer()
                .ok_or_else(|| Error::invalid(format!("block task returned {}", v.kind_name())))?;
            let offset = chunks.block_offset(idx);
            write(idx, &offset, b)?;
        }
        Ok(())
    }
}

/// Blocks fetched ahead of the one being written when they live on a cluster.
const PREFETCH_BLOCKS: usize = 4;

/// Copies `block` into the C-contiguous array at `out` (of `shape`) at `offset`.
pub(crate) fn copy_block_into(
    out: *mut u8,
    shape: &[usize],
    isz: usize,
    offset: &[usize],
    block: &Buffer,
) -> Result<()> {
    if block.is_empty() {
        return Ok(()); // nothing to copy (`for_each_run` needs a non-empty shape)
    }
    let b = contiguous(block)?;
    let bshape = b.shape().to_vec();
    let nd = shape.len();
    let mut strides = vec![1usize; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let src = b.as_ptr();
    for_each_run(&bshape, 0, b.len(), |at, run, idx| {
        let dst: usize = idx
            .iter()
            .zip(offset)
            .zip(&strides)
            .map(|((&i, &o), &s)| (i + o) * s)
            .sum();
        // SAFETY: the block lies inside the array (its offset and shape come from the grid)
        // and `out` holds the whole array.
        unsafe { std::ptr::copy_nonoverlapping(src.add(at * isz), out.add(dst * isz), run * isz) };
    });
    Ok(())
}
