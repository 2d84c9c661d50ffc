//! Computed columns and filters: ufunc calls on columns (`exp(x) * 2 + id`) run as one
//! fused program of the ufunc tables, each against the same arithmetic done row by row in
//! Rust; NumPy's types for literals (NEP 50) and columns; nulls where an input is null.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::DataType;
use common::client;
use dask::table::{col, lit, Expr, Table};
use std::sync::Arc;

fn table() -> (Table, Vec<RecordBatch>) {
    let batches: Vec<RecordBatch> = (0..3)
        .map(|p| {
            let ids: Vec<i64> = (0..1000).map(|i| p * 1000 + i).collect();
            let x: Float64Array = ids
                .iter()
                .map(|&i| (i % 13 != 4).then(|| (i as f64 - 1500.0) / 700.0))
                .collect();
            let small: Int32Array = ids.iter().map(|&i| Some((i % 100) as i32 - 50)).collect();
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("x", Arc::new(x) as ArrayRef),
                ("small", Arc::new(small) as ArrayRef),
            ])
            .unwrap()
        })
        .collect();
    let t = Table::from_batches(batches[0].schema(), batches.clone()).unwrap();
    (t, batches)
}

fn all(t: &Table) -> RecordBatch {
    let parts = t.compute(client()).unwrap();
    arrow_select::concat::concat_batches(&parts[0].schema(), &parts).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

#[test]
fn a_computed_column_matches_row_by_row_arithmetic_with_nulls_kept() {
    let (t, batches) = table();
    let e = col("x").apply("exp") * lit(2.0) + col("id");
    assert_eq!(e.to_string(), "add(multiply(exp(x), 2.0), id)");
    let with = t.with_column("y", &e).unwrap();
    assert_eq!(with.schema().field(3).name(), "y");
    assert_eq!(with.schema().field(3).data_type(), &DataType::Float64);
    let got = all(&with);
    let y = got.column(3).as_primitive::<Float64Type>();
    let mut k = 0;
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let x = b.column(1).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if x.is_null(i) {
                assert!(y.is_null(k), "row {k}: a null x gives a null");
            } else {
                let want = x.value(i).exp() * 2.0 + ids.value(i) as f64;
                assert!(
                    close(y.value(k), want),
                    "row {k}: {} against {want}",
                    y.value(k)
                );
            }
            k += 1;
        }
    }
    assert_eq!(k, got.num_rows());
    // Replacing a column keeps its place.
    let replaced = all(&t.with_column("x", &(col("x") * lit(-1.0))).unwrap());
    assert_eq!(replaced.num_columns(), 3);
    let x = replaced.column(1).as_primitive::<Float64Type>();
    let x0 = batches[0].column(1).as_primitive::<Float64Type>();
    assert_eq!(x.value(5), -x0.value(5));
}

#[test]
fn numpy_types_for_literals_and_mixed_columns() {
    let (t, batches) = table();
    let types = |e: Expr| {
        t.with_column("z", &e)
            .unwrap()
            .schema()
            .field(3)
            .data_type()
            .clone()
    };
    // A Python-like integer literal takes the column's type; a float one makes floats.
    assert_eq!(types(col("small") * lit(3)), DataType::Int32);
    assert_eq!(types(col("small") + lit(0.5)), DataType::Float64);
    assert_eq!(types(col("small") * col("id")), DataType::Int64);
    assert_eq!(types(col("small").apply("sqrt")), DataType::Float64);
    assert_eq!(types(col("x").gt(lit(0.0))), DataType::Boolean);
    let got = all(&t.with_column("z", &(col("small") * lit(3))).unwrap());
    let z = got.column(3).as_primitive::<Int32Type>();
    let small = batches[0].column(2).as_primitive::<Int32Type>();
    for i in 0..1000 {
        assert_eq!(z.value(i), small.value(i) * 3);
    }
    // An integer that does not fit the column's type is NumPy's OverflowError, not a wrap.
    assert!(t
        .with_column("z", &(col("small") * lit(10_000_000_000i64)))
        .is_err());
}

#[test]
fn filters_compare_computed_values() {
    let (t, batches) = table();
    let f = col("x")
        .apply("square")
        .gt(lit(1.0))
        .and(col("id").apply("negative").lt(lit(-10)));
    let got = all(&t.filter(&f).unwrap());
    let mut want = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let x = b.column(1).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if x.is_valid(i) && x.value(i) * x.value(i) > 1.0 && -ids.value(i) < -10 {
                want.push(ids.value(i));
            }
        }
    }
    assert!(!want.is_empty());
    assert_eq!(
        got.column(0).as_primitive::<Int64Type>().values().to_vec(),
        want
    );
}

#[test]
fn long_chains_build_and_run_without_recursion_and_bad_calls_are_refused() {
    let (t, batches) = table();
    let mut e = col("id");
    for _ in 0..20_000 {
        e = e + lit(1);
    }
    let got = all(&t.with_column("far", &e).unwrap());
    let far = got.column(3).as_primitive::<Int64Type>();
    let ids = batches[2].column(0).as_primitive::<Int64Type>();
    assert_eq!(far.value(2999), ids.value(999) + 20_000);
    for (bad, says) in [
        (Expr::call("no_such_ufunc", [col("x")]), "no_such_ufunc"),
        (col("nope").apply("exp"), "nope"),
        (Expr::call("add", [lit(1), lit(2)]), "literal"),
        (col("x") + lit("text"), "text"),
    ] {
        let e = t.with_column("w", &bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}
