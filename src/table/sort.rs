//! Sorting a table by a column across partitions, as Dask's `sort_values` does: a sample of
//! each partition's keys (computed now) gives the boundaries of the output partitions; each
//! input partition is sorted and cut at the boundaries, and output partition `j` joins
//! piece `j` of every input and sorts it. The output partitions, in order, are the table
//! sorted. Where nulls and NaN keys go is the caller's [`SortOrder`]: by default nulls and
//! NaN last in either direction (pandas' and Dask's `na_position="last"`, R's
//! `na.last = TRUE`); NaN above every number (NumPy, Julia's `isless`) and nulls first (Julia's
//! `rev = true`) on request. NaN keys are placed by that rule whatever their sign bit (x86
//! makes `0/0` a negative NaN, which IEEE's total order would put before every number).
//!
//! The graph: a sort task per input, a slice task per (input, output) pair (zero-copy
//! slices of the sorted input, so on a cluster only each output's own rows travel to it),
//! and a merge task per output.

use super::lazy::{Node, NodeArg, Table, TablePart};
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, Client, OpDef};
use crate::value::{register_params, Params, ParamsWriter, Value};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_ord::ord::make_comparator;
use arrow_schema::SortOptions;
use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

/// Keys sampled from each partition (evenly spaced in its sorted keys).
const SAMPLES: usize = 128;

/// Where NaN keys of a float column go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NanOrder {
    /// With the nulls (pandas, Dask, R: NaN is a missing value); -0.0 and 0.0 are equal
    /// keys.
    #[default]
    WithNulls,
    /// Above every number, nulls above them, -0.0 before 0.0: Julia's `isless`.
    Largest,
}

/// How [`Table::sort_by`] orders its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SortOrder {
    pub descending: bool,
    /// Nulls before every other key (after them by default), in either direction.
    pub nulls_first: bool,
    pub nan: NanOrder,
}

/// What the sort tasks need: the key column, its order, and (for slices) the output
/// partition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortParams {
    pub column: String,
    pub order: SortOrder,
    pub piece: u64,
}

impl Params for SortParams {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.sort"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.column);
        w.bool(self.order.descending);
        w.bool(self.order.nulls_first);
        w.bool(self.order.nan == NanOrder::Largest);
        w.u64(self.piece);
    }
}

fn options(order: SortOrder) -> SortOptions {
    SortOptions {
        descending: order.descending,
        nulls_first: order.nulls_first,
    }
}

/// The keys the rows are ordered by: the column as `p.order.nan` sees it (see
/// [`nan_placed`]).
fn key(batch: &RecordBatch, p: &SortParams) -> std::result::Result<ArrayRef, String> {
    let k = batch
        .column_by_name(&p.column)
        .cloned()
        .ok_or_else(|| format!("sort: no column {:?}", p.column))?;
    Ok(nan_placed(k, p.order.nan))
}

/// A float key column as Arrow's total order must see it to follow `nan`: with the nulls,
/// NaN keys become null and -0.0 becomes 0.0 (pandas, R and NumPy compare them equal, so a
/// stable sort keeps their rows' order); largest, every NaN becomes the one positive NaN,
/// which the total order puts above every number (Julia's `isless`, which also puts -0.0
/// before 0.0, as the total order does). Only the keys change: the rows keep their values.
fn nan_placed(k: ArrayRef, nan: NanOrder) -> ArrayRef {
    use arrow_array::types::{Float32Type, Float64Type};
    use arrow_array::{ArrowPrimitiveType, PrimitiveArray};
    use arrow_buffer::{BooleanBuffer, NullBuffer};
    /// `odd`: a value the order must see otherwise; `seen`: how it sees a value.
    fn placed<T: ArrowPrimitiveType>(
        k: &ArrayRef,
        nan: NanOrder,
        is_nan: fn(T::Native) -> bool,
        odd: fn(T::Native) -> bool,
        seen: fn(T::Native) -> T::Native,
    ) -> ArrayRef {
        let a = k
            .as_any()
            .downcast_ref::<PrimitiveArray<T>>()
            .expect("typed");
        if !a.values().iter().any(|&v| odd(v)) {
            return k.clone();
        }
        let keys = a.unary::<_, T>(seen);
        match nan {
            NanOrder::WithNulls => {
                let numbers = BooleanBuffer::from_iter(a.values().iter().map(|&v| !is_nan(v)));
                let nulls = NullBuffer::union(a.nulls(), Some(&NullBuffer::new(numbers)));
                Arc::new(PrimitiveArray::<T>::new(keys.values().clone(), nulls))
            }
            NanOrder::Largest => Arc::new(keys),
        }
    }
    use arrow_schema::DataType::{Float32, Float64};
    match (k.data_type(), nan) {
        (Float64, NanOrder::WithNulls) => placed::<Float64Type>(
            &k,
            nan,
            f64::is_nan,
            |v| v.is_nan() || (v == 0.0 && v.is_sign_negative()),
            |v| if v == 0.0 { 0.0 } else { v },
        ),
        (Float64, NanOrder::Largest) => {
            placed::<Float64Type>(&k, nan, f64::is_nan, f64::is_nan, |v| {
                if v.is_nan() {
                    f64::NAN
                } else {
                    v
                }
            })
        }
        (Float32, NanOrder::WithNulls) => placed::<Float32Type>(
            &k,
            nan,
            f32::is_nan,
            |v| v.is_nan() || (v == 0.0 && v.is_sign_negative()),
            |v| if v == 0.0 { 0.0 } else { v },
        ),
        (Float32, NanOrder::Largest) => {
            placed::<Float32Type>(&k, nan, f32::is_nan, f32::is_nan, |v| {
                if v.is_nan() {
                    f32::NAN
                } else {
                    v
                }
            })
        }
        _ => k,
    }
}

/// `batch` sorted by `column`, stably: rows with equal keys keep their order.
fn sorted(batch: &RecordBatch, p: &SortParams) -> std::result::Result<RecordBatch, String> {
    let k = key(batch, p)?;
    let idx = stable_indices(&k, p.order).map_err(|e| format!("sort by {}: {e}", p.column))?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c, &idx, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("sort by {}: {e}", p.column))?;
    RecordBatch::try_new(batch.schema(), columns).map_err(|e| e.to_string())
}

/// The order of `k`'s rows, rows with equal keys in their original order: Arrow's sort
/// (unstable), then each run of equal keys put back in row order.
fn stable_indices(k: &ArrayRef, order: SortOrder) -> std::result::Result<UInt32Array, String> {
    let idx = arrow_ord::sort::sort_to_indices(k, Some(options(order)), None)
        .map_err(|e| e.to_string())?;
    let cmp = make_comparator(k.as_ref(), k.as_ref(), options(order)).map_err(|e| e.to_string())?;
    let mut idx: Vec<u32> = idx.values().to_vec();
    let mut start = 0usize;
    while start < idx.len() {
        let first = idx[start] as usize;
        let mut end = start + 1;
        while end < idx.len() && cmp(first, idx[end] as usize) == Ordering::Equal {
            end += 1;
        }
        if end - start > 1 {
            idx[start..end].sort_unstable();
        }
        start = end;
    }
    Ok(UInt32Array::from(idx))
}

/// The first row of the sorted `keys` that sorts at or after `bound[0]`.
fn first_at_or_after(keys: &ArrayRef, bound: &ArrayRef, order: SortOrder) -> Result<usize> {
    let cmp = make_comparator(keys.as_ref(), bound.as_ref(), options(order))
        .map_err(|e| Error::invalid(format!("sort: {e}")))?;
    let (mut lo, mut hi) = (0usize, keys.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if cmp(mid, 0) == Ordering::Less {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

type TaskResult = std::result::Result<Arc<Value>, String>;

fn table_input<'a>(
    inputs: &'a [Arc<Value>],
    k: usize,
    what: &str,
) -> std::result::Result<&'a RecordBatch, String> {
    match inputs.get(k).map(|v| &**v) {
        Some(Value::Table(b)) => Ok(b),
        _ => Err(format!("{what}: takes table partitions")),
    }
}

fn params<'a>(inputs: &'a [Arc<Value>], what: &str) -> std::result::Result<&'a SortParams, String> {
    inputs
        .first()
        .and_then(|v| v.params::<SortParams>())
        .ok_or_else(|| format!("{what}: missing parameters"))
}

struct SortOps {
    sample: &'static OpDef,
    sort: &'static OpDef,
    slice: &'static OpDef,
    merge: &'static OpDef,
}

static OPS: LazyLock<SortOps> = LazyLock::new(|| {
    register_params("table.sort", |r| {
        Ok(Arc::new(SortParams {
            column: r.str()?.to_string(),
            order: SortOrder {
                descending: r.bool()?,
                nulls_first: r.bool()?,
                nan: if r.bool()? {
                    NanOrder::Largest
                } else {
                    NanOrder::WithNulls
                },
            },
            piece: r.u64()?,
        }))
    });
    // Evenly spaced keys of the sorted partition (nulls left out), as a one-column batch.
    let sample = register_builtin("table.sort_sample", |inputs| -> TaskResult {
        let p = params(inputs, "table.sort_sample")?;
        let batch = table_input(inputs, 1, "table.sort_sample")?;
        let k = key(batch, p)?;
        let idx = arrow_ord::sort::sort_to_indices(&k, Some(options(p.order)), None)
            .map_err(|e| e.to_string())?;
        let valid = k.len() - k.null_count();
        // The non-null keys: the first `valid` indices, or the last when nulls come first.
        let skip = if p.order.nulls_first {
            k.null_count()
        } else {
            0
        };
        let n = valid.min(SAMPLES);
        let picks: Vec<u32> = (0..n)
            .map(|i| idx.value(skip + ((2 * i + 1) * valid) / (2 * n)))
            .collect();
        let picked = arrow_select::take::take(&k, &arrow_array::UInt32Array::from(picks), None)
            .map_err(|e| e.to_string())?;
        RecordBatch::try_from_iter([(p.column.as_str(), picked)])
            .map(|b| Arc::new(Value::Table(b)))
            .map_err(|e| e.to_string())
    });
    let sort = register_builtin("table.sort_partition", |inputs| -> TaskResult {
        let p = params(inputs, "table.sort_partition")?;
        let batch = table_input(inputs, 1, "table.sort_partition")?;
        sorted(batch, p).map(|b| Arc::new(Value::Table(b)))
    });
    // Piece `piece` of a sorted partition: the rows between boundaries piece-1 and piece.
    let slice = register_builtin("table.sort_slice", |inputs| -> TaskResult {
        let p = params(inputs, "table.sort_slice")?;
        let bounds = table_input(inputs, 1, "table.sort_slice")?;
        let batch = table_input(inputs, 2, "table.sort_slice")?;
        let keys = key(batch, p)?;
        let b = bounds.column(0);
        let j = p.piece as usize;
        let at = |i: usize| -> std::result::Result<usize, String> {
            first_at_or_after(&keys, &b.slice(i, 1), p.order).map_err(|e| e.to_string())
        };
        let start = if j == 0 { 0 } else { at(j - 1)? };
        let end = if j < b.len() {
            at(j)?
        } else {
            batch.num_rows()
        };
        Ok(Arc::new(Value::Table(
            batch.slice(start, end.max(start) - start),
        )))
    });
    let merge = register_builtin("table.sort_merge", |inputs| -> TaskResult {
        let p = params(inputs, "table.sort_merge")?;
        let pieces = (1..inputs.len())
            .map(|k| table_input(inputs, k, "table.sort_merge").cloned())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let Some(first) = pieces.first() else {
            return Err("table.sort_merge: no pieces".into());
        };
        let joined = arrow_select::concat::concat_batches(&first.schema(), &pieces)
            .map_err(|e| e.to_string())?;
        sorted(&joined, p).map(|b| Arc::new(Value::Table(b)))
    });
    SortOps {
        sample,
        sort,
        slice,
        merge,
    }
});

pub(crate) fn register_ops() {
    let _ = &*OPS;
}

fn with_params(op: &'static OpDef, p: SortParams, inputs: Vec<NodeArg>) -> Arc<Node> {
    let mut args = vec![NodeArg::Value(Arc::new(Value::Params(Arc::new(p))))];
    args.extend(inputs);
    Node::new(op, args)
}

impl Table {
    /// The table sorted by `column`, nulls and NaN last (see [`Table::sort_by`]).
    pub fn sort(&self, column: &str, descending: bool, client: &Client) -> Result<Table> {
        let order = SortOrder {
            descending,
            ..SortOrder::default()
        };
        self.sort_by(column, order, client)
    }

    /// The table sorted by `column` in `order` (see the module notes): as many partitions
    /// as it has (one when no key is non-null), their boundaries from a sample of every
    /// partition's keys computed now on `client`. The sort is stable, as Julia's, R's
    /// `order` and pandas' `kind="stable"`: rows with equal keys keep their order in the
    /// table (each partition sorts stably, a run of equal keys never straddles two outputs,
    /// and each output joins its pieces in partition order).
    pub fn sort_by(&self, column: &str, order: SortOrder, client: &Client) -> Result<Table> {
        let field = self.schema().field_with_name(column).map_err(|_| {
            Error::NotFound(format!(
                "sort: no column '{column}' (the columns: {})",
                self.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        // Refused now when the column's type has no order.
        let _ = make_comparator(
            arrow_array::new_empty_array(field.data_type()).as_ref(),
            arrow_array::new_empty_array(field.data_type()).as_ref(),
            options(order),
        )
        .map_err(|e| Error::invalid(format!("sort by '{column}': {e}")))?;
        let n = self.num_partitions();
        let p = |piece: usize| SortParams {
            column: column.to_string(),
            order,
            piece: piece as u64,
        };
        if n == 0 {
            return Ok(self.clone());
        }
        let ops = &*OPS;
        // The boundaries: n - 1 keys evenly spaced in the pooled sample.
        let samples: Vec<TablePart> = self
            .parts()
            .iter()
            .map(|part| {
                TablePart::from_node(
                    with_params(ops.sample, p(0), vec![NodeArg::Node(part.node().clone())]),
                    None,
                )
            })
            .collect();
        let key_schema = Arc::new(arrow_schema::Schema::new(vec![field.clone()]));
        let pooled = Table::new(key_schema.clone(), samples).collect(client)?;
        let pooled = sorted(&pooled, &p(0)).map_err(Error::invalid)?;
        let m = pooled.num_rows();
        let picks: Vec<u32> = (1..n)
            .filter(|_| m > 0)
            .map(|j| ((j * m) / n) as u32)
            .collect();
        let bounds = arrow_select::take::take(
            pooled.column(0),
            &arrow_array::UInt32Array::from(picks),
            None,
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        let bounds = RecordBatch::try_new(key_schema, vec![bounds])
            .map_err(|e| Error::invalid(e.to_string()))?;
        let outputs = bounds.num_rows() + 1;
        let bounds = NodeArg::Value(Arc::new(Value::Table(bounds)));
        // Sort each input, slice it at the boundaries, merge each output's pieces.
        let sorted_inputs: Vec<Arc<Node>> = self
            .parts()
            .iter()
            .map(|part| with_params(ops.sort, p(0), vec![NodeArg::Node(part.node().clone())]))
            .collect();
        let parts = (0..outputs)
            .map(|j| {
                let pieces = sorted_inputs
                    .iter()
                    .map(|s| {
                        NodeArg::Node(with_params(
                            ops.slice,
                            p(j),
                            vec![bounds.clone(), NodeArg::Node(s.clone())],
                        ))
                    })
                    .collect();
                TablePart::from_node(with_params(ops.merge, p(j), pieces), None)
            })
            .collect();
        Ok(Table::new(self.schema().clone(), parts))
    }
}
