//! A table computed as a stream of its partitions, in order, for a consumer that takes them
//! one at a time (the Arrow C stream interface, a writer): a bounded number of partitions
//! are finished ahead of the consumer, so a table larger than memory streams through.

use super::Table;
use crate::error::{Error, Result};
use crate::runtime::{Client, Future};
use crate::value::Value;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use std::collections::VecDeque;

/// The partitions of a table, computed as they are taken (an iterator of record batches
/// with the table's schema). Dropping it cancels what is left.
pub struct PartitionStream {
    schema: SchemaRef,
    pending: VecDeque<Future>,
    /// The partitions taken so far (for messages).
    taken: usize,
}

impl Table {
    /// Computes the table on `client` as a stream of its partitions, in order: at most
    /// `ahead` finished partitions wait for the consumer (at least 1), the tasks after them
    /// wait to start.
    pub fn stream(&self, client: &Client, ahead: usize) -> Result<PartitionStream> {
        let (g, outs) = self.graph();
        let futures = client.compute_paced(g, &outs, ahead.max(1))?;
        Ok(PartitionStream {
            schema: self.schema().clone(),
            pending: futures.into(),
            taken: 0,
        })
    }
}

impl PartitionStream {
    /// The next partition, `None` after the last.
    pub fn next_partition(&mut self) -> Option<Result<RecordBatch>> {
        let future = self.pending.pop_front()?;
        let i = self.taken;
        self.taken += 1;
        let batch = future.result().and_then(|v| match &*v {
            Value::Table(b) if b.schema().fields() == self.schema.fields() => Ok(b.clone()),
            Value::Table(b) => RecordBatch::try_new(self.schema.clone(), b.columns().to_vec())
                .map_err(|e| Error::invalid(format!("partition {i}: {e}"))),
            other => Err(Error::invalid(format!(
                "partition {i} computed to {}, not a table partition",
                other.kind_name()
            ))),
        });
        Some(batch)
    }

    /// Partitions not taken yet.
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }
}

impl Iterator for PartitionStream {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_partition()
            .map(|r| r.map_err(|e| ArrowError::ExternalError(Box::new(e))))
    }
}

impl RecordBatchReader for PartitionStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
