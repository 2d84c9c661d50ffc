//! A lazy table: a schema and partitions, each a chain of tasks (a source such as a file's
//! row groups, then the operations applied to it), lowered to the task graph when computed.

use super::eval::evaluate_filter;
use super::expr::{Expr, FilterParams};
use crate::error::{Error, Result};
use crate::runtime::{Arg, Client, Graph, OpDef, Operation, Task, TaskId};
use crate::value::{Params, Value};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::sync::Arc;

/// One partition: its steps (the first makes it from its parameters alone, each later one
/// takes the previous result and its parameters), and its rows when known without
/// computing (from file metadata).
#[derive(Clone, Debug)]
pub struct TablePart {
    steps: Vec<(&'static OpDef, Arc<Value>)>,
    rows: Option<u64>,
}

impl TablePart {
    /// A partition made by `op` from `params` alone.
    pub(crate) fn source(op: &'static OpDef, params: impl Params, rows: Option<u64>) -> Self {
        TablePart {
            steps: vec![(op, Arc::new(Value::Params(Arc::new(params))))],
            rows,
        }
    }
}

/// A lazy, partitioned table (see the module notes).
#[derive(Clone, Debug)]
pub struct Table {
    schema: SchemaRef,
    parts: Vec<TablePart>,
}

impl Table {
    pub(crate) fn new(schema: SchemaRef, parts: Vec<TablePart>) -> Self {
        Table { schema, parts }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn num_partitions(&self) -> usize {
        self.parts.len()
    }

    /// Rows of each partition, where known without computing.
    pub fn partition_rows(&self) -> Vec<Option<u64>> {
        self.parts.iter().map(|p| p.rows).collect()
    }

    /// All rows, when every partition's count is known without computing.
    pub fn num_rows(&self) -> Option<u64> {
        self.parts.iter().map(|p| p.rows).sum()
    }

    /// The parameters of each partition's source task (what it reads).
    pub(crate) fn sources(&self) -> impl Iterator<Item = &dyn Params> + '_ {
        self.parts.iter().filter_map(|p| match &*p.steps[0].1 {
            Value::Params(params) => Some(&**params),
            _ => None,
        })
    }

    /// The rows where `expr` is true (lazy: a step added to every partition). Unknown
    /// columns and literals of the wrong type are refused now.
    pub fn filter(&self, expr: &Expr) -> Result<Table> {
        evaluate_filter(expr, &RecordBatch::new_empty(self.schema.clone()))
            .map_err(|e| prefix_error(e, &format!("filter {expr}")))?;
        let step = (
            super::ops::filter_op(),
            Arc::new(Value::Params(Arc::new(FilterParams(expr.clone())))),
        );
        let parts = self
            .parts
            .iter()
            .map(|p| {
                let mut steps = p.steps.clone();
                steps.push(step.clone());
                TablePart { steps, rows: None }
            })
            .collect();
        Ok(Table::new(self.schema.clone(), parts))
    }

    /// The graph that computes every partition, and the task of each.
    pub fn graph(&self) -> (Graph, Vec<TaskId>) {
        let mut g = Graph::new();
        let outs = self
            .parts
            .iter()
            .map(|p| {
                let mut last: Option<TaskId> = None;
                for (op, params) in &p.steps {
                    let mut args = vec![Arg::Value(params.clone())];
                    args.extend(last.map(Arg::Task));
                    last = Some(g.add(Task::new(Operation::Registered(op), args)));
                }
                last.expect("a partition has a source")
            })
            .collect();
        (g, outs)
    }

    /// Every partition, computed on `client`.
    pub fn compute(&self, client: &Client) -> Result<Vec<RecordBatch>> {
        let (g, outs) = self.graph();
        let futures = client.compute(g, &outs)?;
        futures
            .iter()
            .map(|f| match &*f.result()? {
                Value::Table(b) => Ok(b.clone()),
                other => Err(Error::invalid(format!(
                    "a table partition computed to {}",
                    other.kind_name()
                ))),
            })
            .collect()
    }

    /// The whole table as one record batch.
    pub fn collect(&self, client: &Client) -> Result<RecordBatch> {
        let parts = self.compute(client)?;
        arrow_select::concat::concat_batches(&self.schema, &parts)
            .map_err(|e| Error::invalid(format!("joining the partitions: {e}")))
    }
}

/// `e` with `what` in front of its message, its kind kept.
pub(crate) fn prefix_error(e: Error, what: &str) -> Error {
    match e {
        Error::NotFound(m) => Error::NotFound(format!("{what}: {m}")),
        Error::NotImplemented(m) => Error::NotImplemented(format!("{what}: {m}")),
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("{what}: {m}")),
        e => Error::invalid(format!("{what}: {e}")),
    }
}
