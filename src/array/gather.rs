//! One future for a whole array: a last task gathers the computed blocks into one C-ordered
//! buffer (or one sparse array). Hosts that must not block — Julia's event loop, R's
//! interrupt checks — wait on, poll and cancel that single future; cancelling it cancels
//! every block task only it needed.

use super::api::copy_block_into;
use super::lower::lower_all;
use super::node::Array;
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, Arg as GArg, Client, Future, OpDef, Operation, Task};
use crate::value::block::contiguous;
use crate::value::{Buffer, DType, Params, ParamsReader, ParamsWriter, Value};
use std::sync::{Arc, LazyLock};

/// Parameters of `array.gather`: the whole array's dtype and shape, each block's offset.
#[derive(Debug)]
struct GatherBlocks {
    dtype: DType,
    shape: Vec<usize>,
    offsets: Vec<Vec<usize>>,
}

impl Params for GatherBlocks {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "array.gather"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.dtype(self.dtype);
        w.usizes(&self.shape);
        w.usize(self.offsets.len());
        self.offsets.iter().for_each(|o| w.usizes(o));
    }
}

fn decode_gather(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    let dtype = r.dtype()?;
    let shape = r.usizes()?;
    let n = r.count()?;
    let offsets = (0..n).map(|_| r.usizes()).collect::<Result<_>>()?;
    Ok(Arc::new(GatherBlocks {
        dtype,
        shape,
        offsets,
    }))
}

/// Results at least this large are copied on all cores (fresh pages fault in parallel).
const PARALLEL_COPY_FROM: usize = 64 << 20;

pub(super) static GATHER: LazyLock<&'static OpDef> = LazyLock::new(|| {
    crate::value::register_params("array.gather", decode_gather);
    register_builtin("array.gather", |inputs| {
        let p = inputs
            .first()
            .and_then(|v| v.params::<GatherBlocks>())
            .ok_or("array.gather: missing parameters")?;
        gather(p, &inputs[1..]).map_err(|e| e.to_string())
    })
});

fn gather(p: &GatherBlocks, blocks: &[Arc<Value>]) -> Result<Arc<Value>> {
    if let Some(Value::Sparse(_)) = blocks.first().map(|b| &**b) {
        let pieces = blocks
            .iter()
            .zip(&p.offsets)
            .map(|(b, at)| match &**b {
                Value::Sparse(c) => Ok((at.clone(), c.clone())),
                other => Err(Error::invalid(format!(
                    "a sparse array's block is {}",
                    other.kind_name()
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let whole = super::sparse_blocks::place(&pieces, &p.shape)?;
        return Ok(Arc::new(Value::Sparse(whole)));
    }
    let dense = blocks
        .iter()
        .map(|b| {
            b.as_buffer()
                .ok_or_else(|| Error::invalid(format!("block task returned {}", b.kind_name())))
        })
        .collect::<Result<Vec<&Buffer>>>()?;
    if let [only] = dense[..] {
        if only.shape() == p.shape {
            return Ok(Arc::new(Value::Buffer(contiguous(only)?)));
        }
    }
    let mut out = Buffer::zeros(p.dtype, &p.shape)?;
    let isz = p.dtype.itemsize();
    let bytes = out.as_mut_bytes()?;
    let total = bytes.len();
    let base = bytes.as_mut_ptr() as usize;
    let copy = |i: usize| -> Result<()> {
        copy_block_into(base as *mut u8, &p.shape, isz, &p.offsets[i], dense[i])
    };
    if total < PARALLEL_COPY_FROM {
        (0..dense.len()).try_for_each(copy)?;
    } else {
        // Blocks cover disjoint parts of `out`: copied on the client's pool.
        let failed = parking_lot::Mutex::new(None);
        let done = crate::parallel::for_each(dense.len(), |i| {
            if let Err(e) = copy(i) {
                failed.lock().get_or_insert(e);
            }
        });
        if let Some(e) = failed.into_inner() {
            return Err(e);
        }
        if !done {
            return Err(Error::invalid("gathering the blocks was cancelled"));
        }
    }
    Ok(Arc::new(Value::Buffer(out)))
}

impl Array {
    /// Starts computing the array on `client` and returns one future whose result is the
    /// whole array: a C-contiguous buffer, or a sparse array for sparse blocks. Cancelling
    /// the future cancels the blocks' tasks.
    pub fn submit(&self, client: &Client) -> Result<Future> {
        let (mut graph, outs) = lower_all(&[self])?;
        let offsets = (0..self.nblocks())
            .map(|i| self.chunks().block_offset(i))
            .collect();
        let params = GatherBlocks {
            dtype: self.dtype(),
            shape: self.shape(),
            offsets,
        };
        let mut args = Vec::with_capacity(outs[0].len() + 1);
        args.push(GArg::Value(Arc::new(Value::Params(Arc::new(params)))));
        args.extend(outs[0].iter().cloned());
        let last = graph.add(Task::new(Operation::Registered(*GATHER), args));
        Ok(client
            .compute(graph, &[last])?
            .pop()
            .expect("one future per output"))
    }
}
