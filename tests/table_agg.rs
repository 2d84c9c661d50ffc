//! Reductions and group-by aggregation against a row-by-row evaluation in plain Rust, on
//! partitions with a column of every type (nulls, NaN, -0.0): every aggregation of every
//! column, by no key, one key, several keys (dictionary, float, timestamp keys among them),
//! null keys dropped or kept; more partitions than one merge task takes (a tree of merges);
//! tables from memory and from Parquet files; no partitions at all; and the errors.
//!
//! The fixtures stay in cargo's test scratch directory, for `make travel-test`.

mod common;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Schema};
use common::client;
use common::table::{cell, partitions, scratch_dir, write_parquet, V};
use dask::io::columns_read;
use dask::io::parquet::{read_parquet, ReadOptions};
use dask::table::{agg, Agg, AggFn, Table};
use std::cmp::Ordering;
use std::sync::Arc;

/// Partition sizes: an empty one, a one-row one, uneven others.
const SIZES: [usize; 6] = [0, 1, 37, 500, 1000, 2000];

/// Columns that have a sum, mean and variance (i64 and u64 hold full-range random numbers,
/// whose sums do not fit: tested apart).
const NUMERIC: [&str; 9] = ["bool", "i8", "i16", "i32", "u8", "u16", "u32", "f32", "f64"];

/// Every aggregation of every column it applies to.
fn every_aggregation(schema: &Schema) -> Vec<Agg> {
    let mut aggs = Vec::new();
    for f in schema.fields() {
        let c = f.name().as_str();
        aggs.extend([
            agg::count(c),
            agg::null_count(c),
            agg::min(c),
            agg::max(c),
            agg::n_unique(c),
        ]);
        if NUMERIC.contains(&c) {
            aggs.extend([
                agg::sum(c),
                agg::mean(c),
                agg::var(c),
                Agg::new(AggFn::Std { ddof: 0 }, c),
            ]);
        }
    }
    aggs
}

// ---- the oracle --------------------------------------------------------------------------

/// -0.0 as 0.0, every NaN the same: how keys and distinct values compare.
fn canon(v: V) -> V {
    match v {
        V::F(f) if f.is_nan() => V::F(f64::NAN),
        V::F(f) => V::F(f + 0.0),
        v => v,
    }
}

fn same(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::F(x), V::F(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

/// Key order: numbers, NaN after them, null last.
fn key_cmp(a: &V, b: &V) -> Ordering {
    match (a, b) {
        (V::Null, V::Null) => Ordering::Equal,
        (V::Null, _) => Ordering::Greater,
        (_, V::Null) => Ordering::Less,
        (V::B(x), V::B(y)) => x.cmp(y),
        (V::I(x), V::I(y)) => x.cmp(y),
        (V::F(x), V::F(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => x.partial_cmp(y).unwrap(),
        },
        (V::S(x), V::S(y)) => x.cmp(y),
        _ => panic!("keys of different kinds: {a:?}, {b:?}"),
    }
}

fn as_f64(v: &V) -> f64 {
    match v {
        V::B(b) => *b as u8 as f64,
        V::I(i) => *i as f64,
        V::F(f) => *f,
        _ => panic!("not a number: {v:?}"),
    }
}

/// The expected answer of `func` over one group's cells of a column of type `t`.
fn expected(func: AggFn, t: &DataType, cells: &[V]) -> V {
    let values: Vec<&V> = cells.iter().filter(|v| **v != V::Null).collect();
    let n = values.len();
    let float = matches!(t, DataType::Float32 | DataType::Float64);
    match func {
        AggFn::Count => V::I(n as i128),
        AggFn::NullCount => V::I((cells.len() - n) as i128),
        AggFn::NUnique => {
            let mut seen: Vec<V> = Vec::new();
            for v in &values {
                let v = canon((*v).clone());
                if !seen.iter().any(|s| same(s, &v)) {
                    seen.push(v);
                }
            }
            V::I(seen.len() as i128)
        }
        AggFn::Min | AggFn::Max => {
            let numbers: Vec<&&V> = values
                .iter()
                .filter(|v| !matches!(v, V::F(f) if f.is_nan()))
                .collect();
            let pick = |a: &V, b: &V| {
                let o = key_cmp(b, a);
                if (func == AggFn::Min && o == Ordering::Less)
                    || (func == AggFn::Max && o == Ordering::Greater)
                {
                    b.clone()
                } else {
                    a.clone()
                }
            };
            match (numbers.first(), values.first()) {
                (Some(first), _) => numbers.iter().fold((**first).clone(), |a, b| pick(&a, b)),
                (None, Some(_)) => V::F(f64::NAN),
                (None, None) => V::Null,
            }
        }
        AggFn::Sum if float => V::F(values.iter().map(|v| as_f64(v)).sum()),
        AggFn::Sum => V::I(
            values
                .iter()
                .map(|v| match v {
                    V::B(b) => *b as i128,
                    V::I(i) => *i,
                    _ => unreachable!(),
                })
                .sum(),
        ),
        AggFn::Mean if n == 0 => V::Null,
        AggFn::Mean => V::F(values.iter().map(|v| as_f64(v)).sum::<f64>() / n as f64),
        AggFn::Var { ddof } | AggFn::Std { ddof } => {
            if n <= ddof as usize {
                return V::Null;
            }
            let mean = values.iter().map(|v| as_f64(v)).sum::<f64>() / n as f64;
            let m2: f64 = values.iter().map(|v| (as_f64(v) - mean).powi(2)).sum();
            let var = m2 / (n - ddof as usize) as f64;
            V::F(if matches!(func, AggFn::Std { .. }) {
                var.sqrt()
            } else {
                var
            })
        }
    }
}

/// The output type of `func` over a column of type `t`.
fn expected_type(func: AggFn, t: &DataType) -> DataType {
    match func {
        AggFn::Count | AggFn::NullCount | AggFn::NUnique => DataType::Int64,
        AggFn::Mean | AggFn::Var { .. } | AggFn::Std { .. } => DataType::Float64,
        AggFn::Sum => match t {
            DataType::Float32 | DataType::Float64 => DataType::Float64,
            DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
                DataType::UInt64
            }
            _ => DataType::Int64,
        },
        AggFn::Min | AggFn::Max => match t {
            DataType::Dictionary(_, v) => (**v).clone(),
            t => t.clone(),
        },
    }
}

fn close(got: &V, want: &V) -> bool {
    match (got, want) {
        (V::F(g), V::F(w)) => {
            (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-9 * (w.abs() + 1.0) || g == w
        }
        _ => got == want,
    }
}

/// A cell's place: (partition, row).
type Cell = (usize, usize);

/// Checks `out` (the library's answer) against the oracle over `batches`.
fn check(out: &RecordBatch, batches: &[RecordBatch], keys: &[&str], dropna: bool, aggs: &[Agg]) {
    let schema = batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| out.schema());
    // The groups, in key order, with each group's rows (partition, row).
    let mut groups: Vec<(Vec<V>, Vec<Cell>)> = Vec::new();
    if keys.is_empty() {
        groups.push((vec![], vec![]));
    }
    for (p, b) in batches.iter().enumerate() {
        for r in 0..b.num_rows() {
            let key: Vec<V> = keys
                .iter()
                .map(|k| canon(cell(b.column_by_name(k).unwrap(), r)))
                .collect();
            if dropna && key.contains(&V::Null) {
                continue;
            }
            match groups
                .iter_mut()
                .find(|(g, _)| g.iter().zip(&key).all(|(a, b)| same(a, b)))
            {
                Some((_, rows)) => rows.push((p, r)),
                None => groups.push((key, vec![(p, r)])),
            }
        }
    }
    groups.sort_by(|(a, _), (b, _)| {
        a.iter()
            .zip(b)
            .map(|(x, y)| key_cmp(x, y))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    assert_eq!(out.num_rows(), groups.len(), "groups by {keys:?}");
    let names: Vec<String> = keys
        .iter()
        .map(|k| k.to_string())
        .chain(aggs.iter().map(|a| a.name().to_string()))
        .collect();
    let out_names: Vec<String> = out
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(out_names, names);
    for (g, (key, rows)) in groups.iter().enumerate() {
        for (k, want) in keys.iter().zip(key) {
            let got = canon(cell(out.column_by_name(k).unwrap(), g));
            assert!(
                same(&got, want),
                "key {k} of group {g}: {got:?}, expected {want:?}"
            );
        }
        for (j, a) in aggs.iter().enumerate() {
            let column = schema.field_with_name(a.column()).unwrap();
            let cells: Vec<V> = rows
                .iter()
                .map(|&(p, r)| cell(batches[p].column_by_name(a.column()).unwrap(), r))
                .collect();
            let want = if a.keeps_nulls() && cells.contains(&V::Null) {
                V::Null
            } else {
                expected(a.func(), column.data_type(), &cells)
            };
            let got = cell(out.column(keys.len() + j), g);
            assert!(
                close(&got, &want),
                "{} by {keys:?}, group {key:?}: {got:?}, expected {want:?}",
                a.name()
            );
        }
    }
    for (j, a) in aggs.iter().enumerate() {
        let t = schema
            .field_with_name(a.column())
            .unwrap()
            .data_type()
            .clone();
        assert_eq!(
            out.column(keys.len() + j).data_type(),
            &expected_type(a.func(), &t),
            "type of {}",
            a.name()
        );
    }
}

fn run(table: &Table, keys: &[&str], dropna: bool, aggs: &[Agg]) -> RecordBatch {
    let lazy = if keys.is_empty() {
        table.agg(aggs).unwrap()
    } else {
        table.group_by(keys).dropna(dropna).agg(aggs).unwrap()
    };
    assert_eq!(lazy.num_partitions(), 1);
    let mut parts = lazy.compute(client()).unwrap();
    let out = parts.pop().unwrap();
    assert_eq!(
        out.schema(),
        *lazy.schema(),
        "the schema known before computing"
    );
    out
}

// ---- the tests ---------------------------------------------------------------------------

#[test]
fn every_aggregation_of_every_column_matches_a_row_by_row_evaluation() {
    let (schema, batches) = partitions(&SIZES, 100);
    let aggs = every_aggregation(&schema);
    let t = Table::from_batches(schema, batches.clone()).unwrap();
    assert_eq!(t.num_rows(), Some(SIZES.iter().sum::<usize>() as u64));
    check(&run(&t, &[], true, &aggs), &batches, &[], true, &aggs);
}

#[test]
fn group_by_one_or_several_keys_matches_a_row_by_row_evaluation() {
    let (schema, batches) = partitions(&SIZES, 200);
    let aggs = every_aggregation(&schema);
    let t = Table::from_batches(schema, batches.clone()).unwrap();
    let cases: [(&[&str], bool); 7] = [
        (&["bool"], true),
        (&["i8"], true),
        (&["dict", "bool"], true),
        (&["f64"], true),
        (&["utf8", "date32"], true),
        (&["utf8", "date32"], false),
        (&["ts_us_utc"], false),
    ];
    for (keys, dropna) in cases {
        check(&run(&t, keys, dropna, &aggs), &batches, keys, dropna, &aggs);
    }
}

/// R's and Julia's rule, asked for per aggregation: a group holding a null gives null, the
/// others what the skipping aggregation gives; the counts refuse it.
#[test]
fn keep_nulls_gives_null_for_groups_that_hold_one() {
    let (schema, batches) = partitions(&SIZES, 300);
    let mut aggs = Vec::new();
    for f in schema.fields() {
        let c = f.name().as_str();
        aggs.push(agg::min(c).alias(&format!("{c}_min_na")).keep_nulls(true));
        aggs.push(agg::max(c).keep_nulls(true));
        if NUMERIC.contains(&c) {
            aggs.push(agg::sum(c).keep_nulls(true));
            aggs.push(agg::sum(c).alias(&format!("{c}_sum_skip")));
            aggs.push(agg::mean(c).keep_nulls(true));
            aggs.push(agg::var(c).keep_nulls(true));
            aggs.push(Agg::new(AggFn::Std { ddof: 0 }, c).keep_nulls(true));
        }
    }
    let t = Table::from_batches(schema, batches.clone()).unwrap();
    check(&run(&t, &[], true, &aggs), &batches, &[], true, &aggs);
    for (keys, dropna) in [(&["i8"][..], false), (&["dict", "i8"][..], true)] {
        let out = run(&t, keys, dropna, &aggs);
        check(&out, &batches, keys, dropna, &aggs);
        // Both kinds of group occur: some sums are null, some not.
        let sums = out.column_by_name("f64_sum").unwrap();
        assert!(
            sums.null_count() > 0 && sums.null_count() < sums.len(),
            "by {keys:?}"
        );
    }
    for bad in [
        agg::count("f64"),
        agg::null_count("f64"),
        agg::n_unique("f64"),
    ] {
        let e = t.agg(&[bad.keep_nulls(true)]).unwrap_err().to_string();
        assert!(e.contains("keep_nulls applies to"), "{e}");
    }
}

#[test]
fn more_partitions_than_a_merge_takes_reduce_through_a_tree() {
    let sizes: Vec<usize> = (0..70).map(|i| (i * 37) % 101).collect();
    let (schema, batches) = partitions(&sizes, 300);
    let aggs = [
        agg::sum("i16"),
        agg::mean("f64"),
        agg::var("u32"),
        agg::n_unique("utf8"),
        agg::min("large_utf8"),
        agg::max("ts_ns"),
        agg::count("dict"),
    ];
    let t = Table::from_batches(schema, batches.clone()).unwrap();
    check(
        &run(&t, &["i8"], true, &aggs),
        &batches,
        &["i8"],
        true,
        &aggs,
    );
    check(&run(&t, &[], true, &aggs), &batches, &[], true, &aggs);
}

#[test]
fn tables_read_from_parquet_aggregate_like_the_batches_they_hold() {
    let (schema, batches) = partitions(&SIZES, 400);
    let dir = scratch_dir("table_agg", "parquet");
    for (i, b) in batches.iter().enumerate() {
        write_parquet(&dir.join(format!("part-{i}.parquet")), b, None);
    }
    let t = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
    let aggs = every_aggregation(&schema);
    check(&run(&t, &[], true, &aggs), &batches, &[], true, &aggs);
    check(
        &run(&t, &["dict"], false, &aggs),
        &batches,
        &["dict"],
        false,
        &aggs,
    );
    // A filtered table aggregates its remaining rows.
    let filtered = t
        .filter(&dask::table::col("i8").gt(dask::table::lit(0)))
        .unwrap();
    let kept: Vec<RecordBatch> = batches
        .iter()
        .map(|b| {
            let keep = arrow_array::BooleanArray::from_iter((0..b.num_rows()).map(|r| {
                Some(matches!(cell(b.column_by_name("i8").unwrap(), r), V::I(v) if v > 0))
            }));
            arrow_select::filter::filter_record_batch(b, &keep).unwrap()
        })
        .collect();
    check(
        &run(&filtered, &["bool"], true, &aggs),
        &kept,
        &["bool"],
        true,
        &aggs,
    );
}

#[test]
fn aggregations_of_a_file_read_decode_only_the_columns_they_use() {
    let (schema, batches) = partitions(&SIZES, 700);
    let dir = scratch_dir("table_agg", "projected");
    for (i, b) in batches.iter().enumerate() {
        write_parquet(&dir.join(format!("part-{i}.parquet")), b, None);
    }
    let t = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
    assert!(columns_read(&t).iter().all(Option::is_none));
    let aggs = [agg::sum("f64"), agg::max("i32"), agg::n_unique("utf8")];
    let out = run(&t, &["dict"], true, &aggs);
    check(&out, &batches, &["dict"], true, &aggs);
    let by_dict = t.group_by(&["dict"]).agg(&aggs).unwrap();
    // The columns in the file's order: the partitions read those and no others.
    let used: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| ["dict", "f64", "i32", "utf8"].contains(&n.as_str()))
        .collect();
    assert_eq!(used.len(), 4);
    assert_eq!(columns_read(&by_dict), vec![Some(used); t.num_partitions()]);
    // Whole-table reductions too; and a selection reads only what it selects.
    let whole = t.agg(&[agg::mean("f32")]).unwrap();
    assert_eq!(
        columns_read(&whole),
        vec![Some(vec!["f32".to_string()]); t.num_partitions()]
    );
    check(
        &run(&t, &[], true, &[agg::mean("f32")]),
        &batches,
        &[],
        true,
        &[agg::mean("f32")],
    );
    let picked = t.select(&["u8", "bool"]).unwrap();
    assert_eq!(
        columns_read(&picked),
        vec![Some(vec!["u8".to_string(), "bool".to_string()]); t.num_partitions()]
    );
    let got = picked.collect(client()).unwrap();
    let want = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    assert_eq!(
        got.column(0).as_ref(),
        want.column_by_name("u8").unwrap().as_ref()
    );
    assert_eq!(
        got.column(1).as_ref(),
        want.column_by_name("bool").unwrap().as_ref()
    );
}

#[test]
fn a_table_without_partitions_reduces_to_one_row_and_groups_to_none() {
    let (schema, _) = partitions(&[1], 500);
    let aggs = every_aggregation(&schema);
    let t = Table::from_batches(schema.clone(), vec![]).unwrap();
    let empty = [RecordBatch::new_empty(schema)];
    check(&run(&t, &[], true, &aggs), &empty, &[], true, &aggs);
    check(
        &run(&t, &["i8", "utf8"], false, &aggs),
        &empty,
        &["i8", "utf8"],
        false,
        &aggs,
    );
}

#[test]
fn bad_aggregations_are_refused_before_computing_and_overflow_is_an_error() {
    let (schema, batches) = partitions(&[10, 20], 600);
    let t = Table::from_batches(schema, batches).unwrap();
    let message = |r: dask::error::Result<Table>| r.unwrap_err().to_string();
    let m = message(t.agg(&[agg::sum("utf8")]));
    assert!(
        m.contains("sum of column \"utf8\"") && m.contains("no sum"),
        "{m}"
    );
    let m = message(t.agg(&[agg::mean("nope")]));
    assert!(m.contains("no column \"nope\""), "{m}");
    let m = message(t.group_by(&["missing"]).agg(&[agg::count("i8")]));
    assert!(
        m.contains("group by missing") && m.contains("no column \"missing\""),
        "{m}"
    );
    let m = message(t.agg(&[agg::sum("i8"), agg::sum("i8")]));
    assert!(m.contains("two output columns are named \"i8_sum\""), "{m}");
    let m = message(t.group_by(&["i8"]).agg(&[agg::count("u8").alias("i8")]));
    assert!(m.contains("named \"i8\""), "{m}");

    // int64 sums that do not fit: an error when computed, never a wrapped number; the
    // client goes on working.
    let big = Arc::new(Int64Array::from(vec![i64::MAX / 2 + 1; 3])) as ArrayRef;
    let b = RecordBatch::try_from_iter([("x", big)]).unwrap();
    let t = Table::from_batches(b.schema(), vec![b.clone(), b.clone()]).unwrap();
    let lazy = t.agg(&[agg::sum("x")]).unwrap();
    let m = lazy.collect(client()).unwrap_err().to_string();
    assert!(m.contains("does not fit in int64"), "{m}");
    let mean = t.agg(&[agg::mean("x")]).unwrap().collect(client()).unwrap();
    let want = (i64::MAX / 2 + 1) as f64;
    assert!(matches!(cell(mean.column(0), 0), V::F(v) if (v - want).abs() <= want * 1e-15));
    // Sums that fit in int64 only at the end are exact.
    let parts: Vec<RecordBatch> = [i64::MAX - 5, 3, 2]
        .iter()
        .map(|&v| {
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![v])) as ArrayRef)])
                .unwrap()
        })
        .collect();
    let t = Table::from_batches(parts[0].schema(), parts).unwrap();
    let s = t.agg(&[agg::sum("x")]).unwrap().collect(client()).unwrap();
    assert_eq!(cell(s.column(0), 0), V::I((i64::MAX) as i128));
    // Batches that do not fit the schema are refused.
    let other =
        RecordBatch::try_from_iter([("y", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
            .unwrap();
    let m = Table::from_batches(s.schema(), vec![other])
        .unwrap_err()
        .to_string();
    assert!(m.contains("batch 0 has columns (y: Int64)"), "{m}");
}

#[test]
fn to_array_puts_numeric_columns_in_row_blocks_that_follow_the_partitions() {
    use dask::value::DType;
    let sizes = [3, 0, 40, 17];
    let (schema, batches) = partitions(&sizes, 700);
    let t = Table::from_batches(schema, batches.clone()).unwrap();
    let client = client();
    // The value each cell should have in a float64 array (nulls as NaN).
    let want = |columns: &[&str]| -> Vec<f64> {
        batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).flat_map(move |r| {
                    columns
                        .iter()
                        .map(move |c| match cell(b.column_by_name(c).unwrap(), r) {
                            V::Null => f64::NAN,
                            v => as_f64(&v),
                        })
                })
            })
            .collect()
    };
    let same_numbers = |got: &[f64], want: &[f64]| {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| g == w || (g.is_nan() && w.is_nan()))
    };
    // NumPy's promotion: int8 with float32 is float32; with nulls as NaN.
    let a = t.to_array(&["i8", "f32"], None, client).unwrap();
    assert_eq!(a.dtype(), DType::Float32);
    assert_eq!(a.shape(), [60, 2]);
    assert_eq!(a.chunks().axis(0), sizes);
    let got: Vec<f64> = a
        .compute(client)
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    assert!(same_numbers(&got, &want(&["i8", "f32"])));
    // Integers without nulls stay integers (int16 with uint8: int16).
    let a = t.to_array(&["i16", "u8"], None, client).unwrap();
    assert_eq!(a.dtype(), DType::Int16);
    let got: Vec<f64> = a
        .compute(client)
        .unwrap()
        .as_slice::<i16>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    assert_eq!(got, want(&["i16", "u8"]));
    // Asked for float64: every column, nulls NaN; the array computes further like any.
    let a = t
        .to_array(&["bool", "u32", "f64", "i64"], Some(DType::Float64), client)
        .unwrap();
    let got = a
        .compute(client)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()
        .to_vec();
    assert!(same_numbers(&got, &want(&["bool", "u32", "f64", "i64"])));
    // An int8 array cannot hold a null, nor an int8 column hold uint16 values.
    let m = t.to_array(&["i8"], None, client).unwrap_err().to_string();
    assert!(m.contains("column \"i8\" has a null"), "{m}");
    let m = t
        .to_array(&["u16"], Some(DType::Int8), client)
        .unwrap_err()
        .to_string();
    assert!(m.contains("cannot hold"), "{m}");
    let m = t.to_array(&["utf8"], None, client).unwrap_err().to_string();
    assert!(m.contains("not a number"), "{m}");
    // No partitions: an empty array.
    let none = Table::from_batches(t.schema().clone(), vec![]).unwrap();
    let a = none.to_array(&["f64"], None, client).unwrap();
    assert_eq!(a.shape(), [0, 1]);
}

#[test]
fn a_chain_of_two_hundred_thousand_steps_lowers_prints_and_drops_without_recursing() {
    let (schema, batches) = partitions(&[5], 800);
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut t = Table::from_batches(schema, batches).unwrap();
    let keep = dask::table::col("u8").ge(dask::table::lit(0));
    for i in 0..200_000 {
        t = if i % 2 == 0 {
            t.filter(&keep).unwrap()
        } else {
            t.select(&names).unwrap()
        };
    }
    let reduced = t.agg(&[agg::count("u8")]).unwrap();
    let (g, outs) = reduced.graph();
    assert_eq!(outs.len(), 1);
    // The source, the steps, the selection of the one column the reduction reads, the
    // partial state and the final task.
    assert_eq!(g.len(), 200_004);
    let shown = format!("{reduced:?}");
    assert!(
        shown.len() < 10_000 && shown.contains("table.agg_final"),
        "{shown}"
    );
    drop(g);
    drop(t);
    drop(reduced);
}
