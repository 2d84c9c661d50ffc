//! Row-group pruning: which row groups a filter may keep rows from, decided from the
//! footer's statistics (min, max, null count) without reading any data.
//!
//! Every node gets, per row group, whether it *can* be true and whether it *can* be false
//! there; `not` swaps the two, `and`/`or` combine them, and a group is read when the root
//! can be true. Anything the statistics cannot decide (a missing statistic, a comparison
//! of two columns, a float column's NaNs) answers "can" both ways: pruning only ever skips
//! groups that provably hold no matching row, and the rows read are filtered exactly.

use super::read::PartitionValue;
use crate::error::{Error, Result};
use crate::table::eval::compare_array_scalar;
use crate::table::expr::{CmpOp, Expr, Node, Scalar};
use arrow_array::{Array, ArrayRef, BooleanArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::file::metadata::page_index::PageIndex;
use parquet::file::metadata::ParquetMetaData;
use std::path::Path;

/// What a node is known to be over each row group.
enum Known {
    Column {
        name: String,
        min: ArrayRef,
        max: ArrayRef,
        /// Per group; `None` where unknown.
        nulls: Vec<Option<u64>>,
        /// Per group: min and max are values of the column (not truncated bounds).
        exact: Vec<bool>,
        float: bool,
    },
    Literal(Scalar),
    Condition {
        can_true: Vec<bool>,
        can_false: Vec<bool>,
    },
    /// Nothing known (a non-boolean computed value).
    Unknown,
}

/// Row groups of the file whose statistics allow a row matching `filter`, in order (the
/// file's hive keys, `partition`, are columns of one value).
pub(crate) fn row_groups_to_read(
    filter: &Expr,
    schema: &Schema,
    meta: &ParquetMetaData,
    path: &Path,
    partition: &[PartitionValue],
    adapt: &[Field],
) -> Result<Vec<usize>> {
    let rows: Vec<u64> = meta
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let can_true = evaluate(filter, &rows, |c| match key(partition, c) {
        Some(k) => constant(k, &rows),
        None => match adapt.iter().find(|f| f.name() == c) {
            // The table's column, not this file's: null in every row.
            Some(f) if schema.field_with_name(c).is_err() => constant(
                &PartitionValue {
                    name: c.to_string(),
                    dtype: f.data_type().clone(),
                    value: None,
                },
                &rows,
            ),
            // Held as another type: its statistics are of that type; nothing pruned.
            Some(_) => Ok(Known::Unknown),
            None => column_statistics(c, schema, meta, path),
        },
    })?;
    Ok((0..rows.len()).filter(|&g| can_true[g]).collect())
}

/// Within row group `group`, the runs of rows the page index (`pages`) allows a match in:
/// `(rows, keep)` in order, adjacent runs alike merged; `None` when every row may match
/// (nothing to skip). The group's rows are cut at every page start of the filter's columns;
/// each piece is judged by the statistics of the pages that hold it, as a row group is by
/// its own (`exact` is not claimed for pages: a page's min and max may be truncated).
pub(crate) fn page_runs(
    filter: &Expr,
    schema: &Schema,
    meta: &ParquetMetaData,
    pages: &PageIndex,
    group: usize,
    partition: &[PartitionValue],
    adapt: &[Field],
) -> Result<Option<Vec<(u64, bool)>>> {
    let group_rows = meta.row_group(group).num_rows().max(0) as u64;
    // Each filter column's pages in this group: their first rows and statistics.
    struct Pages {
        starts: Vec<u64>,
        min: ArrayRef,
        max: ArrayRef,
        nulls: Vec<Option<u64>>,
        rows: Vec<u64>,
        float: bool,
    }
    let mut of_column: Vec<(String, Pages)> = Vec::new();
    for c in filter.columns() {
        if key(partition, &c).is_some() || adapt.iter().any(|f| f.name() == &c) {
            continue;
        }
        let Ok(field) = schema.field_with_name(&c) else {
            continue;
        };
        let Ok(converter) =
            StatisticsConverter::try_new(&c, schema, meta.file_metadata().schema_descr())
        else {
            continue;
        };
        let groups = [group];
        let (Ok(Some(rows)), Ok(min), Ok(max), Ok(nulls)) = (
            converter.data_page_row_counts(pages, meta.row_groups(), &groups),
            converter.data_page_mins(pages, &groups),
            converter.data_page_maxes(pages, &groups),
            converter.data_page_null_counts(pages, &groups),
        ) else {
            continue;
        };
        if rows.null_count() > 0 || rows.is_empty() || min.len() != rows.len() {
            continue;
        }
        let rows: Vec<u64> = rows.values().to_vec();
        if rows.iter().sum::<u64>() != group_rows {
            continue;
        }
        let starts = rows
            .iter()
            .scan(0, |at, &n| {
                *at += n;
                Some(*at - n)
            })
            .collect();
        of_column.push((
            c.clone(),
            Pages {
                starts,
                min,
                max,
                nulls: (0..nulls.len())
                    .map(|p| nulls.is_valid(p).then(|| nulls.value(p)))
                    .collect(),
                rows,
                float: matches!(
                    field.data_type(),
                    DataType::Float16 | DataType::Float32 | DataType::Float64
                ),
            },
        ));
    }
    if of_column.is_empty() {
        return Ok(None);
    }
    // The pieces: cut at every page start of every column.
    let mut cuts: Vec<u64> = of_column
        .iter()
        .flat_map(|(_, p)| p.starts.iter().copied())
        .chain([group_rows])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let pieces: Vec<(u64, u64)> = cuts.windows(2).map(|w| (w[0], w[1] - w[0])).collect();
    let rows: Vec<u64> = pieces.iter().map(|&(_, n)| n).collect();
    let can_true = evaluate(filter, &rows, |c| {
        if let Some(k) = key(partition, c) {
            return constant(k, &rows);
        }
        let Some((_, p)) = of_column.iter().find(|(name, _)| name == c) else {
            return Ok(Known::Unknown);
        };
        // The page holding each piece (pieces never straddle a page start).
        let page: Vec<u32> = pieces
            .iter()
            .map(|&(at, _)| (p.starts.partition_point(|&s| s <= at) - 1) as u32)
            .collect();
        let take = |a: &ArrayRef| {
            arrow_select::take::take(
                a.as_ref(),
                &arrow_array::UInt32Array::from(page.clone()),
                None,
            )
            .map_err(|e| Error::invalid(format!("page statistics of '{c}': {e}")))
        };
        Ok(Known::Column {
            name: c.to_string(),
            min: take(&p.min)?,
            max: take(&p.max)?,
            // A piece is all null when its page is; free of nulls when its page is.
            nulls: pieces
                .iter()
                .zip(&page)
                .map(|(&(_, n), &pg)| match p.nulls[pg as usize] {
                    Some(0) => Some(0),
                    Some(k) if k == p.rows[pg as usize] => Some(n),
                    _ => None,
                })
                .collect(),
            exact: vec![false; pieces.len()],
            float: p.float,
        })
    })?;
    if can_true.iter().all(|&t| t) {
        return Ok(None);
    }
    let mut runs: Vec<(u64, bool)> = Vec::new();
    for (&(_, n), keep) in pieces.iter().zip(can_true) {
        match runs.last_mut() {
            Some((m, k)) if *k == keep => *m += n,
            _ => runs.push((n, keep)),
        }
    }
    Ok(Some(runs))
}

/// Whether a file with hive keys `partition` may hold a row matching `filter`, decided
/// from the keys alone (without opening the file).
pub(crate) fn file_can_match(filter: &Expr, partition: &[PartitionValue]) -> Result<bool> {
    let rows = [1];
    let can_true = evaluate(filter, &rows, |c| match key(partition, c) {
        Some(k) => constant(k, &rows),
        None => Ok(Known::Unknown),
    })?;
    Ok(can_true[0])
}

fn key<'a>(partition: &'a [PartitionValue], name: &str) -> Option<&'a PartitionValue> {
    partition.iter().find(|k| k.name == name)
}

/// A hive key as a column whose every group holds its one value.
fn constant(k: &PartitionValue, rows: &[u64]) -> Result<Known> {
    let n = rows.len();
    let values = super::hive::constant(&k.dtype, k.value.as_ref(), n)?;
    Ok(Known::Column {
        name: k.name.clone(),
        min: values.clone(),
        max: values,
        nulls: rows
            .iter()
            .map(|&r| Some(if k.value.is_none() { r } else { 0 }))
            .collect(),
        exact: vec![true; n],
        float: false,
    })
}

/// Per group (of `rows` rows each), whether `filter` can be true there; `column` gives
/// what is known of a column.
fn evaluate(
    filter: &Expr,
    rows: &[u64],
    mut column: impl FnMut(&str) -> Result<Known>,
) -> Result<Vec<bool>> {
    let n = rows.len();
    let rows = rows.to_vec();
    let anything = || Known::Condition {
        can_true: vec![true; n],
        can_false: vec![true; n],
    };
    let mut known: Vec<Known> = Vec::with_capacity(filter.nodes().len());
    for node in filter.nodes() {
        let k = match node {
            Node::Column(c) => column(c)?,
            Node::Literal(s) => Known::Literal(s.clone()),
            // A computed value: nothing known from the statistics.
            Node::Call(..) => Known::Unknown,
            Node::Cmp(op, a, b) => match (&known[*a], &known[*b]) {
                (col @ Known::Column { .. }, Known::Literal(s)) => compare(col, s, *op, &rows)?,
                (Known::Literal(s), col @ Known::Column { .. }) => {
                    compare(col, s, op.flipped(), &rows)?
                }
                _ => anything(),
            },
            Node::And(a, b) => {
                let (ta, fa) = condition(&known[*a], n);
                let (tb, fb) = condition(&known[*b], n);
                Known::Condition {
                    can_true: zip(&ta, &tb, |x, y| x && y),
                    can_false: zip(&fa, &fb, |x, y| x || y),
                }
            }
            Node::Or(a, b) => {
                let (ta, fa) = condition(&known[*a], n);
                let (tb, fb) = condition(&known[*b], n);
                Known::Condition {
                    can_true: zip(&ta, &tb, |x, y| x || y),
                    can_false: zip(&fa, &fb, |x, y| x && y),
                }
            }
            Node::Not(a) => {
                let (t, f) = condition(&known[*a], n);
                Known::Condition {
                    can_true: f,
                    can_false: t,
                }
            }
            Node::IsNull(a) => match &known[*a] {
                Known::Column { nulls, .. } => Known::Condition {
                    can_true: (0..n).map(|g| nulls[g].is_none_or(|c| c > 0)).collect(),
                    can_false: (0..n)
                        .map(|g| nulls[g].is_none_or(|c| c < rows[g]))
                        .collect(),
                },
                _ => anything(),
            },
            Node::IsIn(a, values) => match &known[*a] {
                col @ Known::Column { .. } => {
                    let mut can_true = vec![false; n];
                    for v in values.iter().filter(|v| **v != Scalar::Null) {
                        if let Known::Condition { can_true: t, .. } =
                            compare(col, v, CmpOp::Eq, &rows)?
                        {
                            can_true.iter_mut().zip(t).for_each(|(c, t)| *c |= t);
                        }
                    }
                    Known::Condition {
                        can_true,
                        can_false: vec![true; n],
                    }
                }
                _ => anything(),
            },
        };
        known.push(k);
    }
    let (can_true, _) = condition(known.last().expect("a root"), n);
    Ok(can_true)
}

fn zip(a: &[bool], b: &[bool], f: impl Fn(bool, bool) -> bool) -> Vec<bool> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

fn condition(k: &Known, n: usize) -> (Vec<bool>, Vec<bool>) {
    match k {
        Known::Condition {
            can_true,
            can_false,
        } => (can_true.clone(), can_false.clone()),
        Known::Literal(Scalar::Bool(b)) => (vec![*b; n], vec![!*b; n]),
        Known::Literal(Scalar::Null) => (vec![false; n], vec![false; n]),
        _ => (vec![true; n], vec![true; n]),
    }
}

fn column_statistics(
    name: &str,
    schema: &Schema,
    meta: &ParquetMetaData,
    path: &Path,
) -> Result<Known> {
    let field = schema.field_with_name(name).map_err(|_| {
        Error::NotFound(format!(
            "{}: the filter reads column '{name}', which is not in the file",
            path.display()
        ))
    })?;
    let converter =
        match StatisticsConverter::try_new(name, schema, meta.file_metadata().schema_descr()) {
            Ok(c) => c.with_missing_null_counts_as_zero(false),
            Err(_) => return Ok(Known::Unknown),
        };
    let groups = meta.row_groups();
    let (Ok(min), Ok(max), Ok(nulls), Ok(min_exact), Ok(max_exact)) = (
        converter.row_group_mins(groups),
        converter.row_group_maxes(groups),
        converter.row_group_null_counts(groups),
        converter.row_group_is_min_value_exact(groups),
        converter.row_group_is_max_value_exact(groups),
    ) else {
        return Ok(Known::Unknown);
    };
    let float = matches!(
        field.data_type(),
        DataType::Float16 | DataType::Float32 | DataType::Float64
    );
    Ok(Known::Column {
        name: name.to_string(),
        min,
        max,
        nulls: (0..nulls.len())
            .map(|g| nulls.is_valid(g).then(|| nulls.value(g)))
            .collect(),
        exact: (0..groups.len())
            .map(|g| {
                let yes = |a: &BooleanArray| a.len() > g && a.is_valid(g) && a.value(g);
                yes(&min_exact) && yes(&max_exact)
            })
            .collect(),
        float,
    })
}

/// `column op literal` over each group from its min and max.
fn compare(col: &Known, s: &Scalar, op: CmpOp, rows: &[u64]) -> Result<Known> {
    let Known::Column {
        name,
        min,
        max,
        nulls,
        exact,
        float,
    } = col
    else {
        unreachable!("called with a column");
    };
    let n = rows.len();
    if *s == Scalar::Null {
        // A comparison with null is null everywhere: never true, never false.
        return Ok(Known::Condition {
            can_true: vec![false; n],
            can_false: vec![false; n],
        });
    }
    let what = format!("column '{name}'");
    // Unknown statistics (null in the arrays) answer true: "can".
    let test = |a: &ArrayRef, op: CmpOp| -> Result<Vec<bool>> {
        let r: BooleanArray = compare_array_scalar(a, &what, s, op)?;
        Ok((0..n).map(|g| r.is_null(g) || r.value(g)).collect())
    };
    let all = vec![true; n];
    let (mut can_true, mut can_false) = match op {
        CmpOp::Eq | CmpOp::Ne => {
            let in_range = zip(&test(min, CmpOp::Le)?, &test(max, CmpOp::Ge)?, |x, y| {
                x && y
            });
            // Not everything equals the literal unless min == max == literal (and they
            // are the column's values, not truncated bounds).
            let varies = zip(&test(min, CmpOp::Ne)?, &test(max, CmpOp::Ne)?, |x, y| {
                x || y
            });
            let varies = zip(&varies, exact, |v, e| v || !e);
            if op == CmpOp::Eq {
                (in_range, varies)
            } else {
                (varies, in_range)
            }
        }
        CmpOp::Lt => (test(min, CmpOp::Lt)?, test(max, CmpOp::Ge)?),
        CmpOp::Le => (test(min, CmpOp::Le)?, test(max, CmpOp::Gt)?),
        CmpOp::Gt => (test(max, CmpOp::Gt)?, test(min, CmpOp::Le)?),
        CmpOp::Ge => (test(max, CmpOp::Ge)?, test(min, CmpOp::Lt)?),
    };
    if *float {
        // NaNs are left out of the statistics: they make every comparison false (and
        // `!=` true) whatever the range says.
        if op == CmpOp::Ne {
            can_true = all;
        } else {
            can_false = all;
        }
    }
    // A group of nulls only: its rows compare to null, neither true nor false.
    for g in 0..n {
        if nulls[g] == Some(rows[g]) {
            can_true[g] = false;
            can_false[g] = false;
        }
    }
    Ok(Known::Condition {
        can_true,
        can_false,
    })
}
