//! Arrays as named datasets (Dask's `publish_dataset`/`get_dataset`): the blocks' futures and
//! a description (dtype, block kind, chunks) any client of the same runtime reads back. The
//! description is plain data, so a C program, a Julia session and an R session connected to
//! one cluster share an array by name, each in its own layout.

use crate::array::chunks::Chunks;
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::runtime::Client;
use crate::value::DType;
use serde::{Deserialize, Serialize};

/// What a published array is, besides its blocks (in C order of the block grid).
#[derive(Serialize, Deserialize)]
struct Description {
    kind: String,
    dtype: u32,
    sparse: bool,
    chunks: Vec<Vec<usize>>,
}

const KIND: &str = "libdask.array.v1";

impl Array {
    /// Publishes the array under `name` on `client`'s runtime (persisting it first when it is
    /// not computed yet). An error when the name is taken.
    pub fn publish(&self, client: &Client, name: &str) -> Result<()> {
        let persisted;
        let a = if matches!(self.node.op, Op::Futures(_)) {
            self
        } else {
            persisted = self.persist(client)?;
            &persisted
        };
        let Op::Futures(fs) = &a.node.op else {
            unreachable!("persist gives futures")
        };
        let d = Description {
            kind: KIND.into(),
            dtype: a.dtype() as u32,
            sparse: a.is_sparse(),
            chunks: a.chunks().axes().to_vec(),
        };
        let meta = rmp_serde::to_vec(&d)
            .map_err(|e| Error::Io(format!("cannot describe the array: {e}")))?;
        client.publish_dataset(name, fs, meta)
    }

    /// The array published under `name`.
    pub fn from_dataset(client: &Client, name: &str) -> Result<Array> {
        let (futures, meta) = client.get_dataset(name)?;
        let d: Description = rmp_serde::from_slice(&meta)
            .ok()
            .filter(|d: &Description| d.kind == KIND)
            .ok_or_else(|| Error::invalid(format!("dataset '{name}' is not an array")))?;
        let dtype = DType::from_code(d.dtype)?;
        let shape: Vec<usize> = d.chunks.iter().map(|a| a.iter().sum()).collect();
        let chunks = Chunks::from_sizes(&shape, d.chunks)?;
        if chunks.nblocks() != futures.len() {
            return Err(Error::Corrupt(format!(
                "dataset '{name}' describes {} blocks but holds {}",
                chunks.nblocks(),
                futures.len()
            )));
        }
        Ok(Array::with_kind(
            dtype,
            chunks,
            Op::Futures(futures),
            d.sparse,
        ))
    }
}
