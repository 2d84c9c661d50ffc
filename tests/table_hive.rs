//! Hive-partitioned datasets (`year=2024/city=Paris/part-0.parquet`): the keys become
//! columns with inferred (or given) types, nulls and percent-escapes decoded, and filters on
//! them skip whole files without opening them — shown by filling every file a filter rules
//! out with garbage and still reading.
//!
//! The fixtures stay in cargo's test scratch directory, for `make travel-test`.

mod common;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::DataType;
use common::client;
use dask::io::parquet::{read_parquet, row_groups_read, ReadOptions};
use dask::table::{col, lit};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn scratch(name: &str) -> PathBuf {
    common::table::scratch_dir("table_hive", name)
}

fn part(seed: i64, rows: usize) -> RecordBatch {
    let k = Int64Array::from_iter_values((0..rows as i64).map(|i| seed * 1000 + i));
    let v = Float64Array::from_iter_values((0..rows).map(|i| (seed as f64) + i as f64 / 8.0));
    RecordBatch::try_from_iter([
        ("k", Arc::new(k) as ArrayRef),
        ("v", Arc::new(v) as ArrayRef),
    ])
    .unwrap()
}

fn write(path: &Path, batch: &RecordBatch) {
    common::table::write_parquet(path, batch, None);
}

/// (year directory, city directory, the city it decodes to) in the order files sort.
const LAYOUT: [(&str, &str, Option<&str>); 5] = [
    ("2023", "New%20York", Some("New York")),
    ("2023", "Paris", Some("Paris")),
    ("2024", "New%20York", Some("New York")),
    ("2024", "Paris", Some("Paris")),
    ("2024", "__HIVE_DEFAULT_PARTITION__", None),
];

fn dataset(name: &str) -> (PathBuf, Vec<(PathBuf, RecordBatch)>) {
    let root = scratch(name);
    let mut files = Vec::new();
    for (i, (year, city, _)) in LAYOUT.iter().enumerate() {
        let path = root
            .join(format!("year={year}"))
            .join(format!("city={city}"))
            .join("part-0.parquet");
        let b = part(i as i64, 100 + i * 10);
        write(&path, &b);
        files.push((path, b));
    }
    std::fs::write(root.join("_common_metadata"), b"skipped").unwrap();
    (root, files)
}

fn check_rows(got: &RecordBatch, files: &[(PathBuf, RecordBatch)], picked: &[usize]) {
    let mut at = 0;
    for &i in picked {
        let b = &files[i].1;
        let n = b.num_rows();
        let slice = got.slice(at, n);
        assert_eq!(
            slice.column(0).as_ref(),
            b.column(0).as_ref(),
            "file {i}: k"
        );
        assert_eq!(
            slice.column(1).as_ref(),
            b.column(1).as_ref(),
            "file {i}: v"
        );
        let year = slice.column(2).as_primitive::<Int64Type>();
        assert!(year.iter().all(|y| y == Some(LAYOUT[i].0.parse().unwrap())));
        let city = slice.column(3).as_dictionary::<Int32Type>();
        for r in 0..n {
            let want = LAYOUT[i].2;
            let have = (!city.is_null(r)).then(|| {
                let key = city.keys().value(r) as usize;
                city.values().as_string::<i32>().value(key).to_string()
            });
            assert_eq!(have.as_deref(), want, "file {i} row {r}");
        }
        at += n;
    }
    assert_eq!(got.num_rows(), at);
}

#[test]
fn hive_keys_become_typed_columns_with_nulls_and_escapes_decoded() {
    let (root, files) = dataset("whole");
    let t = read_parquet(&[&root], &ReadOptions::default()).unwrap();
    let schema = t.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["k", "v", "year", "city"]);
    assert_eq!(schema.field(2).data_type(), &DataType::Int64);
    assert_eq!(
        schema.field(3).data_type(),
        &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
    );
    assert_eq!(t.num_partitions(), 5);
    let got = t.collect(client()).unwrap();
    check_rows(&got, &files, &[0, 1, 2, 3, 4]);

    // Projection picks key columns like any other, in the order asked.
    let opts = ReadOptions {
        columns: Some(vec!["city".into(), "k".into()]),
        ..Default::default()
    };
    let got = read_parquet(&[&root], &opts)
        .unwrap()
        .collect(client())
        .unwrap();
    assert_eq!(got.num_columns(), 2);
    assert_eq!(got.schema().field(0).name(), "city");
    assert_eq!(
        got.num_rows(),
        files.iter().map(|f| f.1.num_rows()).sum::<usize>()
    );

    // Rows per year from the keys alone: the files are read for no column of theirs, only
    // their row counts (the aggregation reads only the columns it uses).
    let per_year = t
        .group_by(&["year"])
        .agg(&[dask::table::agg::count("year")])
        .unwrap();
    assert_eq!(
        dask::io::columns_read(&per_year),
        vec![Some(vec!["year".to_string()]); 5]
    );
    let got = per_year.collect(client()).unwrap();
    let years = got.column(0).as_primitive::<Int64Type>();
    let counts = got.column(1).as_primitive::<Int64Type>();
    for (y, year) in [(0, 2023i64), (1, 2024)] {
        let want: usize = LAYOUT
            .iter()
            .zip(&files)
            .filter(|((dir, _, _), _)| dir.parse::<i64>().unwrap() == year)
            .map(|(_, f)| f.1.num_rows())
            .sum();
        assert_eq!((years.value(y), counts.value(y)), (year, want as i64));
    }

    // Given types win over inference: the year as int32, and as strings.
    let opts = ReadOptions {
        partition_types: vec![("year".into(), DataType::Int32)],
        ..Default::default()
    };
    let got = read_parquet(&[&root], &opts)
        .unwrap()
        .collect(client())
        .unwrap();
    let year = got.column(2).as_primitive::<Int32Type>();
    assert_eq!(year.value(0), 2023);
    let opts = ReadOptions {
        partition_types: vec![("year".into(), DataType::Utf8)],
        ..Default::default()
    };
    let got = read_parquet(&[&root], &opts)
        .unwrap()
        .collect(client())
        .unwrap();
    assert_eq!(got.column(2).as_string::<i32>().value(0), "2023");
}

#[test]
fn dates_infer_as_dates_and_mixed_values_as_strings() {
    let root = scratch("dates");
    for (i, day) in ["2024-01-05", "2024-02-29"].iter().enumerate() {
        write(
            &root.join(format!("day={day}/tag=t{i}/p.parquet")),
            &part(i as i64, 10),
        );
    }
    let t = read_parquet(&[&root], &ReadOptions::default()).unwrap();
    assert_eq!(t.schema().field(2).data_type(), &DataType::Date32);
    let got = t.collect(client()).unwrap();
    let day = got.column(2).as_primitive::<Date32Type>();
    // 2024-01-05 is day 19,727 since 1970-01-01; 2024-02-29 is 55 days later.
    assert_eq!((day.value(0), day.value(10)), (19_727, 19_782));
    let f = ReadOptions {
        filters: Some(col("day").gt(lit("2024-02-01"))),
        ..Default::default()
    };
    let got = read_parquet(&[&root], &f)
        .unwrap()
        .collect(client())
        .unwrap();
    assert_eq!(got.num_rows(), 10);
    // A value that is not a date makes the key a string.
    write(&root.join("day=soon/tag=t9/p.parquet"), &part(9, 10));
    let t = read_parquet(&[&root], &ReadOptions::default()).unwrap();
    assert!(matches!(
        t.schema().field(2).data_type(),
        DataType::Dictionary(..)
    ));
}

#[test]
fn filters_on_keys_skip_files_without_opening_them() {
    let cases: Vec<(&str, dask::table::Expr, Vec<usize>)> = vec![
        ("year", col("year").eq(lit(2024)), vec![2, 3, 4]),
        ("city", col("city").eq(lit("New York")), vec![0, 2]),
        ("null", col("city").is_null(), vec![4]),
        (
            "both",
            col("year").lt(lit(2024)).and(col("city").ne(lit("Paris"))),
            vec![0],
        ),
        ("isin", col("city").isin(["Paris", "Rome"]), vec![1, 3]),
        // A key and a file column: files by the key, rows by the column.
        (
            "mixed",
            col("year").eq(lit(2023)).and(col("k").lt(lit(1_005))),
            vec![0, 1],
        ),
    ];
    for (name, filter, picked) in cases {
        let (root, files) = dataset(name);
        // Every file the keys rule out becomes garbage: opening one would fail.
        for (i, (path, _)) in files.iter().enumerate() {
            if !picked.contains(&i) {
                std::fs::write(path, b"this is not a parquet file at all").unwrap();
            }
        }
        let opts = ReadOptions {
            filters: Some(filter.clone()),
            ..Default::default()
        };
        let t = read_parquet(&[&root], &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(row_groups_read(&t), picked.len(), "{name}");
        let got = t.collect(client()).unwrap();
        if name == "mixed" {
            // k < 1005: all of file 0 (k 0..99), the first five of file 1 (k 1000..1004).
            let k = got.column(0).as_primitive::<Int64Type>();
            let want: Vec<i64> = (0..100).chain(1000..1005).collect();
            assert_eq!(k.values().to_vec(), want, "{name}");
            continue;
        }
        check_rows(&got, &files, &picked);
    }
}

#[test]
fn inconsistent_keys_collisions_and_bad_types_are_errors_naming_the_file() {
    let (root, _) = dataset("bad_keys");
    write(&root.join("year=2025/other.parquet"), &part(7, 5));
    let err = read_parquet(&[&root], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other.parquet") && err.contains("partition keys"),
        "{err}"
    );

    let root = scratch("collision");
    write(&root.join("k=1/p.parquet"), &part(1, 5));
    let err = read_parquet(&[&root], &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'k' is also a column"), "{err}");

    let (root, _) = dataset("bad_type");
    for (types, want) in [
        (vec![("city".to_string(), DataType::Int64)], "not a Int64"),
        (
            vec![("nope".to_string(), DataType::Int64)],
            "no partition key 'nope'",
        ),
        (
            vec![("year".to_string(), DataType::Float64)],
            "cannot be a Float64",
        ),
    ] {
        let opts = ReadOptions {
            partition_types: types,
            ..Default::default()
        };
        let err = read_parquet(&[&root], &opts).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
    let opts = ReadOptions {
        filters: Some(col("year").eq(lit("x"))),
        ..Default::default()
    };
    let err = read_parquet(&[&root], &opts).unwrap_err().to_string();
    assert!(err.contains("cannot compare column 'year'"), "{err}");
}
