//! Computing a table for a consumer outside the graph: as a stream of its partitions, in
//! order, for one that takes them one at a time (the Arrow C stream interface, a writer) —
//! a bounded number of partitions are finished ahead of it, so a table larger than memory
//! streams through — or as one future of all its rows, for a host that waits without
//! blocking its event loop (the Julia and R bindings' `collect`).

use super::lazy::{lower_all, Node, NodeArg};
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

impl Table {
    /// Starts computing the whole table on `client` into one partition (its partitions
    /// joined in order by a last task); the future's value is that record batch. A table
    /// without partitions gives an empty batch of its schema.
    pub fn submit(&self, client: &Client) -> Result<Future> {
        let node = if self.parts().is_empty() {
            let empty = RecordBatch::new_empty(self.schema().clone());
            Node::new(
                super::ops::value_op(),
                vec![NodeArg::Value(std::sync::Arc::new(Value::Table(empty)))],
            )
        } else {
            let inputs = self
                .parts()
                .iter()
                .map(|p| NodeArg::Node(p.node().clone()))
                .collect();
            Node::new(super::ops::concat_op(), inputs)
        };
        let (g, outs) = lower_all(&[node]);
        Ok(client.compute(g, &outs)?.remove(0))
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
