//! `write_parquet`: tables written and read back (every column type, every codec, row
//! group sizes, empty partitions), hive directories for `partition_on` (nulls, escapes)
//! that read back as columns, and the refusals.
//!
//! The fixtures stay in cargo's test scratch directory, for `make travel-test`.

mod common;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use common::client;
use common::table::{cell, partitions, scratch_dir, V};
use dask::io::parquet::{read_parquet, write_parquet, ReadOptions, WriteOptions};
use dask::table::Table;
use std::sync::Arc;

fn same_cells(a: &RecordBatch, b: &RecordBatch) {
    assert_eq!(a.num_rows(), b.num_rows());
    assert_eq!(a.num_columns(), b.num_columns());
    for c in 0..a.num_columns() {
        for r in 0..a.num_rows() {
            let (x, y) = (cell(a.column(c), r), cell(b.column(c), r));
            let same = match (&x, &y) {
                (V::F(p), V::F(q)) => p.to_bits() == q.to_bits(),
                _ => x == y,
            };
            assert!(same, "column {c}, row {r}: {x:?} vs {y:?}");
        }
    }
}

#[test]
fn written_tables_read_back_the_same_with_every_codec() {
    let sizes = [0, 1, 37, 500, 1000];
    let (schema, batches) = partitions(&sizes, 900);
    let t = Table::from_batches(schema.clone(), batches.clone()).unwrap();
    let whole = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    for (codec, group) in [
        ("snappy", None),
        ("zstd", Some(100)),
        ("lz4", Some(333)),
        ("gzip", None),
        ("none", Some(1)),
    ] {
        let dir = scratch_dir("table_write", codec);
        std::fs::remove_dir(&dir).unwrap(); // write_parquet makes it
        let options = WriteOptions {
            compression: codec.into(),
            row_group_size: group,
            ..Default::default()
        };
        let rows = write_parquet(&t, &dir, &options, client()).unwrap();
        assert_eq!(rows, whole.num_rows() as u64);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let want: Vec<String> = (0..sizes.len())
            .map(|i| format!("part.0000{i}.parquet"))
            .collect();
        assert_eq!(names, want, "{codec}");
        let back = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
        assert_eq!(back.schema().fields(), schema.fields(), "{codec}");
        assert_eq!(back.num_rows(), Some(whole.num_rows() as u64));
        same_cells(&back.collect(client()).unwrap(), &whole);
        // Row groups of the size asked for (a partition per row group).
        let split = ReadOptions {
            split_row_groups: true,
            ..Default::default()
        };
        let groups = read_parquet(&[&dir], &split).unwrap().num_partitions();
        let per = group.unwrap_or(1 << 20);
        let want: usize = sizes.iter().map(|n| n.div_ceil(per)).sum();
        assert_eq!(groups, want, "{codec}");
    }
}

#[test]
fn partition_on_writes_hive_directories_that_read_back_as_columns() {
    let n = 600;
    let cities = [Some("New York"), Some("a/b=c%d"), None, Some("Paris")];
    let part = |lo: usize, hi: usize| {
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(lo as i64..hi as i64)),
            ),
            (
                "city",
                Arc::new(StringArray::from_iter((lo..hi).map(|i| cities[i % 4]))),
            ),
            (
                "year",
                Arc::new(Int32Array::from_iter(
                    (lo..hi).map(|i| Some(2020 + (i % 3) as i32)),
                )),
            ),
            (
                "v",
                Arc::new(Float64Array::from_iter(
                    (lo..hi).map(|i| (!i.is_multiple_of(7)).then_some(i as f64 / 4.0)),
                )),
            ),
        ];
        RecordBatch::try_from_iter(cols).unwrap()
    };
    let batches = vec![part(0, 250), part(250, 250), part(250, n)];
    let t = Table::from_batches(batches[0].schema(), batches.clone()).unwrap();
    let dir = scratch_dir("table_write", "hive");
    let options = WriteOptions {
        partition_on: vec!["year".into(), "city".into()],
        ..Default::default()
    };
    assert_eq!(
        write_parquet(&t, &dir, &options, client()).unwrap(),
        n as u64
    );
    for d in [
        "year=2020/city=New%20York/part.00000.parquet",
        "year=2021/city=a%2Fb%3Dc%25d/part.00002.parquet",
        "year=2022/city=__HIVE_DEFAULT_PARTITION__/part.00000.parquet",
    ] {
        assert!(dir.join(d).is_file(), "{d}");
    }
    let back = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
    let names: Vec<&str> = back
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "v", "year", "city"]);
    let got = back.collect(client()).unwrap();
    assert_eq!(got.num_rows(), n);
    // Every row once, with its keys: found by id.
    let ids = got.column(0);
    let mut seen = vec![false; n];
    for r in 0..n {
        let V::I(id) = cell(ids, r) else { panic!("id") };
        let i = id as usize;
        assert!(!seen[i], "row {i} twice");
        seen[i] = true;
        assert_eq!(cell(got.column(2), r), V::I(2020 + (i % 3) as i128));
        let city = cities[i % 4].map(|c| V::S(c.into())).unwrap_or(V::Null);
        assert_eq!(cell(got.column(3), r), city);
        let v = if !i.is_multiple_of(7) {
            V::F(i as f64 / 4.0)
        } else {
            V::Null
        };
        assert_eq!(cell(got.column(1), r), v);
    }
    // Filters on the keys read only the files under matching directories.
    let only = ReadOptions {
        filters: Some(dask::table::col("year").eq(dask::table::lit(2021))),
        ..Default::default()
    };
    let t = read_parquet(&[&dir], &only).unwrap();
    assert_eq!(t.collect(client()).unwrap().num_rows(), n / 3);
}

#[test]
fn bad_writes_are_refused_before_anything_is_written() {
    let b = RecordBatch::try_from_iter([
        (
            "x",
            Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
        ),
        ("k", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
    ])
    .unwrap();
    let t = Table::from_batches(b.schema(), vec![b]).unwrap();
    let dir = scratch_dir("table_write", "refusals");
    let err = |o: WriteOptions, d: &std::path::Path| {
        write_parquet(&t, d, &o, client()).unwrap_err().to_string()
    };
    let fresh = dir.join("fresh");
    for (o, want) in [
        (
            WriteOptions {
                compression: "brotli9".into(),
                ..Default::default()
            },
            "compression \"brotli9\"",
        ),
        (
            WriteOptions {
                partition_on: vec!["nope".into()],
                ..Default::default()
            },
            "no column \"nope\"",
        ),
        (
            WriteOptions {
                partition_on: vec!["x".into()],
                ..Default::default()
            },
            "cannot partition on \"x\"",
        ),
        (
            WriteOptions {
                partition_on: vec!["x".into(), "k".into()],
                ..Default::default()
            },
            "cannot partition",
        ),
        (
            WriteOptions {
                row_group_size: Some(0),
                ..Default::default()
            },
            "row_group_size of 0",
        ),
    ] {
        let m = err(o, &fresh);
        assert!(m.contains(want), "{m}");
        assert!(!fresh.exists(), "nothing made for: {m}");
    }
    std::fs::write(dir.join("other.txt"), b"keep me").unwrap();
    let m = err(WriteOptions::default(), &dir);
    assert!(m.contains("is not empty"), "{m}");
    assert_eq!(std::fs::read(dir.join("other.txt")).unwrap(), b"keep me");
}
