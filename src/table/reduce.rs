//! Reductions and group-by aggregation of a lazy table, in two stages as Dask does it: each
//! partition becomes a small table of per-group states (`table.agg_partial`), states merge
//! eight at a time in a tree (`table.agg_merge`) so no task holds more than a few, and one
//! task turns the last state into the answer, sorted by the keys (`table.agg_final`).
//! `n_unique` cannot merge counts: its distinct (keys, value) rows travel up a tree of
//! their own (`table.distinct`) and are counted at the end.
//!
//! A state table holds the group keys (named as in the input) and then each aggregation's
//! state columns (`accumulate`), named `<aggregation number>.<state column>`.

use super::accumulate::{self, Ids};
use super::agg::{Agg, AggFn, AggSpec, DistinctSpec};
use super::group::{canonical_floats, distinct, group_rows, take_rows, KeyRows};
use super::lazy::{prefix_error, Node, NodeArg, TablePart};
use super::Table;
use crate::error::{Error, Result};
use crate::value::Value;
use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, RecordBatchOptions};
use arrow_row::Row;
use arrow_schema::{Field, Schema, SchemaRef, SortOptions};
use std::collections::HashMap;
use std::sync::Arc;

type OpResult<T> = std::result::Result<T, String>;

/// States merged per task: Dask's `split_every` for tree reductions.
const FAN_IN: usize = 8;

/// How many state columns `func` keeps.
fn state_width(func: AggFn) -> usize {
    match func {
        AggFn::NUnique => 0,
        AggFn::Mean => 2,
        AggFn::Var { .. } | AggFn::Std { .. } => 3,
        _ => 1,
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> OpResult<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let names: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        format!("no column {name:?} (the table has {})", names.join(", "))
    })
}

fn arrow_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `batch` without the rows where one of `keys` is null.
fn drop_null_keys(batch: &RecordBatch, keys: &[String]) -> OpResult<RecordBatch> {
    let mut keep: Option<BooleanArray> = None;
    for k in keys {
        let Some(nulls) = column(batch, k)?.logical_nulls() else {
            continue;
        };
        let valid = BooleanArray::new(nulls.inner().clone(), None);
        keep = Some(match keep {
            None => valid,
            Some(k) => arrow_arith::boolean::and(&k, &valid).map_err(arrow_err)?,
        });
    }
    match keep {
        Some(keep) => arrow_select::filter::filter_record_batch(batch, &keep).map_err(arrow_err),
        None => Ok(batch.clone()),
    }
}

/// A batch of `columns` named `names` with `rows` rows (also when there are no columns).
fn batch_of(names: Vec<String>, columns: Vec<ArrayRef>, rows: usize) -> OpResult<RecordBatch> {
    let fields: Vec<Field> = names
        .into_iter()
        .zip(&columns)
        .map(|(n, c)| Field::new(n, c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(arrow_err)
}

/// The groups of `keys` (none: every row in one group) and each group's key values (floats
/// canonical: a group of 0.0 and -0.0 is 0.0).
fn groups_of(keys: &[ArrayRef]) -> OpResult<(Option<Vec<u32>>, usize, Vec<ArrayRef>)> {
    if keys.is_empty() {
        return Ok((None, 1, vec![]));
    }
    let g = group_rows(keys)?;
    let first = arrow_array::UInt32Array::from(g.first.clone());
    let key_values = keys
        .iter()
        .map(|k| arrow_select::take::take(&canonical_floats(k), &first, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(arrow_err)?;
    let n = g.len();
    Ok((Some(g.ids), n, key_values))
}

fn agg_error(a: &Agg, e: String) -> String {
    format!("{} of column {:?}: {e}", a.func.label(), a.column)
}

/// A partition's per-group states.
pub(crate) fn partial(spec: &AggSpec, batch: &RecordBatch) -> OpResult<RecordBatch> {
    let batch = if spec.dropna {
        drop_null_keys(batch, &spec.keys)?
    } else {
        batch.clone()
    };
    let keys = spec
        .keys
        .iter()
        .map(|k| column(&batch, k).cloned())
        .collect::<OpResult<Vec<_>>>()?;
    let (ids, n, mut columns) = groups_of(&keys)?;
    let mut names = spec.keys.clone();
    for (j, a) in spec.aggs.iter().enumerate() {
        let values = column(&batch, &a.column)?;
        let states = accumulate::partial(a.func, values, Ids(ids.as_deref()), n)
            .map_err(|e| agg_error(a, e))?;
        names.extend((0..states.len()).map(|i| format!("{j}.{i}")));
        columns.extend(states);
    }
    batch_of(names, columns, n)
}

/// Several state tables merged into one.
pub(crate) fn merge(spec: &AggSpec, states: &[RecordBatch]) -> OpResult<RecordBatch> {
    let Some(first) = states.first() else {
        return Err("nothing to merge".into());
    };
    let all = arrow_select::concat::concat_batches(&first.schema(), states).map_err(arrow_err)?;
    let nk = spec.keys.len();
    let (ids, n, mut columns) = groups_of(&all.columns()[..nk])?;
    let mut names = spec.keys.clone();
    let mut at = nk;
    for (j, a) in spec.aggs.iter().enumerate() {
        let w = state_width(a.func);
        let state = all
            .columns()
            .get(at..at + w)
            .ok_or("a state table lacks columns")?;
        let merged = accumulate::merge(a.func, state, Ids(ids.as_deref()), n)
            .map_err(|e| agg_error(a, e))?;
        names.extend((0..w).map(|i| format!("{j}.{i}")));
        columns.extend(merged);
        at += w;
    }
    batch_of(names, columns, n)
}

/// The answer: keys (sorted, nulls last) and one column per aggregation. `distinct` holds
/// the distinct (keys, value) rows of each `n_unique`, in order.
pub(crate) fn finish(
    spec: &AggSpec,
    state: &RecordBatch,
    distinct: &[RecordBatch],
) -> OpResult<RecordBatch> {
    let nk = spec.keys.len();
    let state = if nk > 0 && state.num_rows() > 1 {
        let sort: Vec<arrow_ord::sort::SortColumn> = state.columns()[..nk]
            .iter()
            .map(|c| arrow_ord::sort::SortColumn {
                values: c.clone(),
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
            })
            .collect();
        let order = arrow_ord::sort::lexsort_to_indices(&sort, None).map_err(arrow_err)?;
        take_rows(state, order.values())?
    } else {
        state.clone()
    };
    let rows = state.num_rows();
    let keys = &state.columns()[..nk];
    let mut columns: Vec<ArrayRef> = keys.to_vec();
    let mut names = spec.keys.clone();
    let mut at = nk;
    let mut distinct = distinct.iter();
    for a in &spec.aggs {
        let column = if a.func == AggFn::NUnique {
            let d = distinct
                .next()
                .ok_or("an n_unique lacks its distinct values")?;
            count_distinct(keys, d, rows).map_err(|e| agg_error(a, e))?
        } else {
            let w = state_width(a.func);
            let s = state
                .columns()
                .get(at..at + w)
                .ok_or("a state table lacks columns")?;
            at += w;
            accumulate::finish(a.func, s).map_err(|e| agg_error(a, e))?
        };
        names.push(a.name.clone());
        columns.push(column);
    }
    // Groups with a null in a keep_nulls aggregation's column: null; the counts go.
    for (i, _) in spec.aggs.iter().enumerate().filter(|(_, a)| a.keep_nulls) {
        let hidden = names
            .iter()
            .position(|n| *n == null_count_name(i))
            .ok_or("a keep_nulls aggregation lacks its null count")?;
        let counts = columns[hidden]
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("a null count is not int64")?;
        let has_null: BooleanArray = counts.iter().map(|c| Some(c.unwrap_or(0) > 0)).collect();
        columns[nk + i] =
            arrow_select::nullif::nullif(&columns[nk + i], &has_null).map_err(arrow_err)?;
    }
    let shown = names.iter().filter(|n| !n.starts_with('\0')).count();
    names.truncate(shown);
    columns.truncate(shown);
    batch_of(names, columns, rows)
}

/// Per group of `keys` (`rows` of them), the distinct non-null values in `d` (its key
/// columns, then the value).
fn count_distinct(keys: &[ArrayRef], d: &RecordBatch, rows: usize) -> OpResult<ArrayRef> {
    let nk = keys.len();
    let values = d
        .columns()
        .get(nk)
        .ok_or("distinct values lack their column")?;
    let valid = |i: usize| values.is_valid(i) as i64;
    if nk == 0 {
        let n: i64 = (0..d.num_rows()).map(valid).sum();
        return Ok(Arc::new(Int64Array::from(vec![n; rows])));
    }
    let converter = KeyRows::new(keys.iter().map(|k| k.data_type().clone()))?;
    let seen = converter.rows(&d.columns()[..nk])?;
    let mut counts: HashMap<Row<'_>, i64> = HashMap::new();
    for i in 0..d.num_rows() {
        *counts.entry(seen.row(i)).or_default() += valid(i);
    }
    let wanted = converter.rows(keys)?;
    Ok(Arc::new(Int64Array::from_iter_values((0..rows).map(|i| {
        counts.get(&wanted.row(i)).copied().unwrap_or(0)
    }))))
}

/// The distinct rows of (keys, column) over `inputs` (partitions or earlier distinct rows).
pub(crate) fn distinct_rows(spec: &DistinctSpec, inputs: &[RecordBatch]) -> OpResult<RecordBatch> {
    let projected = inputs
        .iter()
        .map(|b| {
            let b = if spec.dropna {
                drop_null_keys(b, &spec.keys)?
            } else {
                b.clone()
            };
            let columns = spec
                .keys
                .iter()
                .chain([&spec.column])
                .map(|c| column(&b, c).cloned())
                .collect::<OpResult<Vec<_>>>()?;
            let names = (0..columns.len()).map(|i| format!("{i}")).collect();
            batch_of(names, columns, b.num_rows())
        })
        .collect::<OpResult<Vec<_>>>()?;
    let Some(first) = projected.first() else {
        return Err("no rows to take distinct values of".into());
    };
    let all =
        arrow_select::concat::concat_batches(&first.schema(), &projected).map_err(arrow_err)?;
    // Named by position: a key may also be the counted column.
    let d = distinct(&all)?;
    let names = spec.keys.iter().chain([&spec.column]).cloned().collect();
    batch_of(names, d.columns().to_vec(), d.num_rows())
}

/// Group-by aggregation of a table (`Table::group_by`).
#[derive(Clone, Debug)]
pub struct GroupBy {
    table: Table,
    keys: Vec<String>,
    dropna: bool,
}

impl GroupBy {
    /// Whether rows with a null key are left out (the default, as in pandas and R) or make
    /// groups of their own (as in SQL and polars).
    pub fn dropna(mut self, dropna: bool) -> Self {
        self.dropna = dropna;
        self
    }

    /// One row per group (sorted by the keys, null keys last), the keys then `aggs` (lazy).
    pub fn agg(&self, aggs: &[Agg]) -> Result<Table> {
        aggregate(
            &self.table,
            AggSpec {
                keys: self.keys.clone(),
                dropna: self.dropna,
                aggs: aggs.to_vec(),
            },
        )
    }
}

impl Table {
    /// Reductions of whole columns: a one-row table of `aggs` (lazy).
    pub fn agg(&self, aggs: &[Agg]) -> Result<Table> {
        aggregate(
            self,
            AggSpec {
                keys: vec![],
                dropna: true,
                aggs: aggs.to_vec(),
            },
        )
    }

    /// Groups of rows by the values of `keys`, to aggregate (`GroupBy::agg`).
    pub fn group_by(&self, keys: &[&str]) -> GroupBy {
        GroupBy {
            table: self.clone(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            dropna: true,
        }
    }
}

/// The lazy table of `spec` over `table`: checked now (unknown columns, types without the
/// function, clashing names), by running it on no rows, which also gives its schema.
fn aggregate(table: &Table, spec: AggSpec) -> Result<Table> {
    let what = if spec.keys.is_empty() {
        "aggregate".to_string()
    } else {
        format!("group by {}", spec.keys.join(", "))
    };
    let fail = |e: String| prefix_error(Error::invalid(e), &what);
    let mut names = std::collections::HashSet::new();
    for n in spec.keys.iter().chain(spec.aggs.iter().map(|a| &a.name)) {
        if !names.insert(n) {
            return Err(fail(format!("two output columns are named {n:?}")));
        }
    }
    let spec = with_null_counts(spec).map_err(fail)?;
    let empty = RecordBatch::new_empty(table.schema().clone());
    let schema = dry_run(&spec, &empty).map_err(fail)?;
    let table = &read_only_used(table, &spec)?;

    let spec_value = NodeArg::Value(Arc::new(Value::Params(Arc::new(spec.clone()))));
    let inputs: Vec<NodeArg> = if table.num_partitions() == 0 {
        vec![NodeArg::Value(Arc::new(Value::Table(empty)))]
    } else {
        table
            .parts()
            .iter()
            .map(|p| NodeArg::Node(p.node().clone()))
            .collect()
    };
    let ops = super::ops::agg_ops();
    let partials = inputs
        .iter()
        .map(|i| Node::new(ops.partial, vec![spec_value.clone(), i.clone()]))
        .collect();
    let mut final_args = vec![
        spec_value.clone(),
        NodeArg::Node(tree(partials, ops.merge, &spec_value)),
    ];
    for a in spec.aggs.iter().filter(|a| a.func == AggFn::NUnique) {
        let d = NodeArg::Value(Arc::new(Value::Params(Arc::new(DistinctSpec {
            keys: spec.keys.clone(),
            column: a.column.clone(),
            dropna: spec.dropna,
        }))));
        let leaves = inputs
            .iter()
            .map(|i| Node::new(ops.distinct, vec![d.clone(), i.clone()]))
            .collect();
        final_args.push(NodeArg::Node(tree(leaves, ops.distinct, &d)));
    }
    let rows = spec.keys.is_empty().then_some(1);
    let part = TablePart::from_node(Node::new(ops.finish, final_args), rows);
    Ok(Table::new(schema, vec![part]))
}

/// `table` narrowed to the columns `spec` reads (its keys and the aggregations' columns),
/// so that a partition read from a file decodes only those (`Table::select`).
fn read_only_used(table: &Table, spec: &AggSpec) -> Result<Table> {
    let used = |name: &str| {
        spec.keys.iter().any(|k| k == name) || spec.aggs.iter().any(|a| a.column == name)
    };
    let columns: Vec<&str> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|n| used(n))
        .collect();
    if columns.len() == table.schema().fields().len() {
        return Ok(table.clone());
    }
    table.select(&columns)
}

/// Names of the hidden null counts that `keep_nulls` aggregations read (a NUL byte: no
/// user's column name has one).
fn null_count_name(i: usize) -> String {
    format!("\0nulls.{i}")
}

/// `spec` with a hidden null count of the column of every `keep_nulls` aggregation, which
/// `finish` uses to null those groups and then drops.
fn with_null_counts(mut spec: AggSpec) -> OpResult<AggSpec> {
    let mut hidden = Vec::new();
    for (i, a) in spec.aggs.iter().enumerate().filter(|(_, a)| a.keep_nulls) {
        if matches!(a.func, AggFn::Count | AggFn::NullCount | AggFn::NUnique) {
            return Err(format!(
                "{} of column {:?}: keep_nulls applies to sum, mean, min, max, var and std",
                a.func.label(),
                a.column
            ));
        }
        hidden.push(Agg::new(AggFn::NullCount, &a.column).alias(&null_count_name(i)));
    }
    spec.aggs.extend(hidden);
    Ok(spec)
}

/// The output schema of `spec` over a table shaped like `empty` (every step run on it).
fn dry_run(spec: &AggSpec, empty: &RecordBatch) -> OpResult<SchemaRef> {
    let state = merge(spec, &[partial(spec, empty)?])?;
    let distinct = spec
        .aggs
        .iter()
        .filter(|a| a.func == AggFn::NUnique)
        .map(|a| {
            let d = DistinctSpec {
                keys: spec.keys.clone(),
                column: a.column.clone(),
                dropna: spec.dropna,
            };
            distinct_rows(&d, std::slice::from_ref(empty))
        })
        .collect::<OpResult<Vec<_>>>()?;
    Ok(finish(spec, &state, &distinct)?.schema())
}

/// `level` joined `FAN_IN` at a time by `op` until one node is left.
fn tree(
    mut level: Vec<Arc<Node>>,
    op: &'static crate::runtime::OpDef,
    params: &NodeArg,
) -> Arc<Node> {
    while level.len() > 1 {
        level = level
            .chunks(FAN_IN)
            .map(|c| match c {
                [one] => one.clone(),
                _ => {
                    let mut args = vec![params.clone()];
                    args.extend(c.iter().cloned().map(NodeArg::Node));
                    Node::new(op, args)
                }
            })
            .collect();
    }
    level.pop().expect("a reduction has at least one input")
}
