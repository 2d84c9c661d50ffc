//! A lazy table: a schema and partitions, each the last node of a graph of table operations
//! (a source such as a file's row groups, the steps applied to it, the reductions that join
//! partitions), lowered to the task graph when computed.

use super::eval::evaluate_filter;
use super::expr::{Expr, FilterParams};
use crate::error::{Error, Result};
use crate::runtime::{Arg, Client, Graph, OpDef, Operation, Task, TaskId};
use crate::value::{Params, Value};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::collections::HashMap;
use std::sync::Arc;

/// An argument of a node: a value given now, or the result of another node.
#[derive(Clone, Debug)]
pub(crate) enum NodeArg {
    Value(Arc<Value>),
    Node(Arc<Node>),
}

/// One task-to-be: a registered operation and its arguments. Nodes are shared between the
/// tables built from one another, so a graph lowers each node once.
pub(crate) struct Node {
    op: &'static OpDef,
    args: Vec<NodeArg>,
}

impl Node {
    pub(crate) fn new(op: &'static OpDef, args: Vec<NodeArg>) -> Arc<Node> {
        Arc::new(Node { op, args })
    }

    /// `op` applied to `params` and then the results of `inputs`.
    pub(crate) fn apply(
        op: &'static OpDef,
        params: impl Params,
        inputs: impl IntoIterator<Item = Arc<Node>>,
    ) -> Arc<Node> {
        let mut args = vec![NodeArg::Value(Arc::new(Value::Params(Arc::new(params))))];
        args.extend(inputs.into_iter().map(NodeArg::Node));
        Node::new(op, args)
    }

    /// This node making only its first `rows` rows, when it is a source that can stop
    /// early (see `Params::limited`), or column selections of one.
    fn limited(self: &Arc<Node>, rows: u64) -> Option<Arc<Node>> {
        // Down through the selections (they keep rows and their order) to the source.
        let mut selections: Vec<&Node> = Vec::new();
        let mut n: &Node = self;
        while std::ptr::eq(n.op, super::ops::select_op()) {
            selections.push(n);
            n = &**n.inputs().next()?;
        }
        let [NodeArg::Value(v)] = &n.args[..] else {
            return None;
        };
        let Value::Params(p) = &**v else {
            return None;
        };
        let source = NodeArg::Value(Arc::new(Value::Params(p.limited(rows)?)));
        let mut limited = Node::new(n.op, vec![source]);
        while let Some(s) = selections.pop() {
            let mut args = s.args.clone();
            args.retain(|a| matches!(a, NodeArg::Value(_)));
            args.push(NodeArg::Node(limited));
            limited = Node::new(s.op, args);
        }
        Some(limited)
    }

    /// This node making only `columns`, in that order, when it is a source that can leave
    /// the others unread (see `Params::projected`).
    fn projected(self: &Arc<Node>, columns: &[String]) -> Option<Arc<Node>> {
        let [NodeArg::Value(v)] = &self.args[..] else {
            return None;
        };
        let Value::Params(p) = &**v else {
            return None;
        };
        let source = NodeArg::Value(Arc::new(Value::Params(p.projected(columns)?)));
        Some(Node::new(self.op, vec![source]))
    }

    fn inputs(&self) -> impl Iterator<Item = &Arc<Node>> {
        self.args.iter().filter_map(|a| match a {
            NodeArg::Node(n) => Some(n),
            NodeArg::Value(_) => None,
        })
    }
}

/// The operation and what its arguments are, not the nodes behind them: a chain can be as
/// long as the steps a user applies.
impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args: Vec<&str> = self
            .args
            .iter()
            .map(|a| match a {
                NodeArg::Value(v) => v.kind_name(),
                NodeArg::Node(n) => n.op.name(),
            })
            .collect();
        write!(f, "{}({})", self.op.name(), args.join(", "))
    }
}

/// Chains of nodes are as long as the steps a user applies: dropped with a stack, not by
/// recursion.
impl Drop for Node {
    fn drop(&mut self) {
        let mut stack: Vec<NodeArg> = std::mem::take(&mut self.args);
        while let Some(arg) = stack.pop() {
            if let NodeArg::Node(n) = arg {
                if let Some(mut n) = Arc::into_inner(n) {
                    stack.append(&mut n.args);
                }
            }
        }
    }
}

/// One partition: the node that computes it, and its rows when known without computing
/// (from file metadata).
#[derive(Clone, Debug)]
pub struct TablePart {
    node: Arc<Node>,
    rows: Option<u64>,
}

impl TablePart {
    /// A partition made by `op` from `params` alone.
    pub(crate) fn source(op: &'static OpDef, params: impl Params, rows: Option<u64>) -> Self {
        TablePart {
            node: Node::apply(op, params, []),
            rows,
        }
    }

    pub(crate) fn from_node(node: Arc<Node>, rows: Option<u64>) -> Self {
        TablePart { node, rows }
    }

    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
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

    /// A table of record batches already in memory, a partition each (each travels with the
    /// graph that uses it). Every batch must have `schema`'s column names and types; a column
    /// the schema says is not nullable must hold no null.
    pub fn from_batches(schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<Table> {
        for f in schema.fields() {
            super::check_type(f.data_type())
                .map_err(|e| Error::invalid(format!("column {:?}: {e}", f.name())))?;
        }
        let parts = batches
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                let same = b.num_columns() == schema.fields().len()
                    && b.schema()
                        .fields()
                        .iter()
                        .zip(schema.fields())
                        .all(|(a, f)| a.name() == f.name() && a.data_type() == f.data_type());
                if !same {
                    return Err(Error::invalid(format!(
                        "batch {i} has columns {} where the table has {}",
                        describe(&b.schema()),
                        describe(&schema)
                    )));
                }
                let rows = b.num_rows() as u64;
                let b = RecordBatch::try_new(schema.clone(), b.columns().to_vec())
                    .map_err(|e| Error::invalid(format!("batch {i}: {e}")))?;
                let value = NodeArg::Value(Arc::new(Value::Table(b)));
                Ok(TablePart::from_node(
                    Node::new(super::ops::value_op(), vec![value]),
                    Some(rows),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Table::new(schema, parts))
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

    /// What the table is, without computing anything: its partitions, its rows (where the
    /// metadata tells them), and a line per column with its type. For printing it.
    pub fn describe(&self) -> String {
        let known = self.parts.iter().filter(|p| p.rows.is_some()).count();
        let rows = match self.num_rows() {
            Some(n) => format!("{n} rows"),
            None if known == 0 => "rows unknown until computed".to_string(),
            None => format!("rows known for {known} of them"),
        };
        let mut out = format!(
            "lazy table: {} columns, {} partitions, {rows}",
            self.schema.fields().len(),
            self.parts.len()
        );
        for f in self.schema.fields() {
            out.push_str(&format!("\n  {}: {}", f.name(), f.data_type()));
        }
        out
    }

    pub(crate) fn parts(&self) -> &[TablePart] {
        &self.parts
    }

    /// The parameters of the source tasks (those with no input: what the table reads), each
    /// once, in partition order.
    pub(crate) fn sources(&self) -> Vec<&dyn Params> {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<&Node> = self.parts.iter().rev().map(|p| &*p.node).collect();
        let mut out = Vec::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n as *const Node) {
                continue;
            }
            let before = stack.len();
            let inputs: Vec<&Node> = n.inputs().map(|i| &**i).collect();
            stack.extend(inputs.into_iter().rev());
            if stack.len() == before {
                out.extend(n.args.iter().find_map(|a| match a {
                    NodeArg::Value(v) => match &**v {
                        Value::Params(p) => Some(&**p),
                        _ => None,
                    },
                    NodeArg::Node(_) => None,
                }));
            }
        }
        out
    }

    /// The rows where `expr` is true (lazy: a step added to every partition). Unknown
    /// columns and literals of the wrong type are refused now.
    pub fn filter(&self, expr: &Expr) -> Result<Table> {
        evaluate_filter(expr, &RecordBatch::new_empty(self.schema.clone()))
            .map_err(|e| prefix_error(e, &format!("filter {expr}")))?;
        let params = Arc::new(Value::Params(Arc::new(FilterParams(expr.clone()))));
        let parts = self
            .parts
            .iter()
            .map(|p| {
                let args = vec![
                    NodeArg::Value(params.clone()),
                    NodeArg::Node(p.node.clone()),
                ];
                TablePart::from_node(Node::new(super::ops::filter_op(), args), None)
            })
            .collect();
        Ok(Table::new(self.schema.clone(), parts))
    }

    /// The table with column `name` computed by `expr` (`Expr::call`, arithmetic on
    /// columns: `col("x").apply("exp") * lit(2.0)`), replacing a column of that name or
    /// added after the others (lazy: a step added to every partition, the whole expression
    /// one fused ufunc program). Unknown columns, ufuncs and types are refused now.
    pub fn with_column(&self, name: &str, expr: &Expr) -> Result<Table> {
        let what = format!("column '{name}' = {expr}");
        let empty = RecordBatch::new_empty(self.schema.clone());
        let values = super::compute::evaluate(expr, &empty).map_err(|e| prefix_error(e, &what))?;
        super::check_type(values.data_type())
            .map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        let schema = super::ops::with_column(&empty, name, values)
            .map_err(|e| Error::invalid(format!("{what}: {e}")))?
            .schema();
        let params = Arc::new(Value::Params(Arc::new(super::ops::WithColumnParams(
            name.to_string(),
            expr.clone(),
        ))));
        let parts = self
            .parts
            .iter()
            .map(|p| {
                let args = vec![
                    NodeArg::Value(params.clone()),
                    NodeArg::Node(p.node.clone()),
                ];
                TablePart::from_node(Node::new(super::ops::with_column_op(), args), p.rows)
            })
            .collect();
        Ok(Table::new(schema, parts))
    }

    /// Columns `columns`, in that order (lazy: a step added to every partition, or, on a
    /// partition read from a file, a read of only those columns). Unknown names are
    /// refused now.
    pub fn select(&self, columns: &[&str]) -> Result<Table> {
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let idx = super::ops::column_indices(&self.schema, &columns)
            .map_err(|e| prefix_error(Error::invalid(e), "select"))?;
        let schema = Arc::new(
            self.schema
                .project(&idx)
                .map_err(|e| Error::invalid(format!("select: {e}")))?,
        );
        let params = Arc::new(Value::Params(Arc::new(super::ops::SelectParams(
            columns.clone(),
        ))));
        let parts = self
            .parts
            .iter()
            .map(|p| {
                if let Some(read) = p.node.projected(&columns) {
                    return TablePart::from_node(read, p.rows);
                }
                let args = vec![
                    NodeArg::Value(params.clone()),
                    NodeArg::Node(p.node.clone()),
                ];
                TablePart::from_node(Node::new(super::ops::select_op(), args), p.rows)
            })
            .collect();
        Ok(Table::new(schema, parts))
    }

    /// The first `n` rows (all of them when there are fewer), computed now: partitions are
    /// computed in order until `n` rows are found, only those rows come back, and a source
    /// that can stop early (a Parquet read without a filter) reads only the row groups
    /// that hold them.
    pub fn head(&self, n: usize, client: &Client) -> Result<RecordBatch> {
        let mut got = Vec::new();
        let mut need = n as u64;
        for p in &self.parts {
            if need == 0 {
                break;
            }
            if p.rows == Some(0) {
                continue;
            }
            let node = p.node.limited(need).unwrap_or_else(|| p.node.clone());
            let first = Node::apply(super::ops::head_op(), super::ops::HeadParams(need), [node]);
            let one = Table::new(self.schema.clone(), vec![TablePart::from_node(first, None)]);
            let batch = one.compute(client)?.pop().expect("one partition");
            need -= (batch.num_rows() as u64).min(need);
            got.push(batch);
        }
        arrow_select::concat::concat_batches(&self.schema, &got)
            .map_err(|e| Error::invalid(format!("joining the partitions: {e}")))
    }

    /// `op` applied to each partition with parameters `params(i)` for partition `i`,
    /// computed on `client`: each task's value (tasks run for what they do with a
    /// partition, such as writing it).
    pub(crate) fn apply_each<P: Params>(
        &self,
        op: &'static OpDef,
        params: impl Fn(usize) -> P,
        client: &Client,
    ) -> Result<Vec<Arc<Value>>> {
        let nodes: Vec<Arc<Node>> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| Node::apply(op, params(i), [p.node.clone()]))
            .collect();
        let (g, outs) = lower_all(&nodes);
        client
            .compute(g, &outs)?
            .iter()
            .map(|f| f.result())
            .collect()
    }

    /// The graph that computes every partition, and the task of each.
    pub fn graph(&self) -> (Graph, Vec<TaskId>) {
        let nodes: Vec<Arc<Node>> = self.parts.iter().map(|p| p.node.clone()).collect();
        lower_all(&nodes)
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

/// `name: type, ...` of a schema, for messages.
fn describe(schema: &arrow_schema::Schema) -> String {
    let fields: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.data_type()))
        .collect();
    format!("({})", fields.join(", "))
}

/// The graph that computes `nodes`, and the task of each.
pub(crate) fn lower_all(nodes: &[Arc<Node>]) -> (Graph, Vec<TaskId>) {
    let mut g = Graph::new();
    let mut lowered: HashMap<*const Node, TaskId> = HashMap::new();
    let outs = nodes
        .iter()
        .map(|n| lower(n, &mut g, &mut lowered))
        .collect();
    (g, outs)
}

/// Adds `root` and the nodes it needs (those not in `lowered` yet) to `g`, inputs first:
/// depth-first with an explicit stack, as chains can be long.
fn lower(root: &Arc<Node>, g: &mut Graph, lowered: &mut HashMap<*const Node, TaskId>) -> TaskId {
    let mut stack: Vec<(&Node, bool)> = vec![(&**root, false)];
    while let Some((n, inputs_done)) = stack.pop() {
        let key = n as *const Node;
        if lowered.contains_key(&key) {
            continue;
        }
        if !inputs_done {
            stack.push((n, true));
            stack.extend(
                n.inputs()
                    .filter(|i| !lowered.contains_key(&(&***i as *const Node)))
                    .map(|i| (&**i, false)),
            );
            continue;
        }
        let args = n
            .args
            .iter()
            .map(|a| match a {
                NodeArg::Value(v) => Arg::Value(v.clone()),
                NodeArg::Node(i) => Arg::Task(lowered[&(&**i as *const Node)]),
            })
            .collect();
        lowered.insert(key, g.add(Task::new(Operation::Registered(n.op), args)));
    }
    lowered[&(&**root as *const Node)]
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
