//! `read_parquet`'s engines: "arrow" (the parquet crate's Arrow reader), "column" (its typed
//! column readers straight into our buffers) and "auto" give the same table on every
//! fixture — every column type with and without nulls, every codec, dictionary and plain
//! pages, data pages v1 and v2, many small pages, uneven row groups, all-null and empty
//! files — read whole and by row group, projected, filtered and cut by `head`; and each
//! equals what was written. Damaged data pages are errors naming the file under either.
//!
//! The fixtures stay in cargo's test scratch directory (see tests/table_parquet.rs).

mod common;

use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use common::client;
use common::table::{table, write_parquet};
use dask::io::parquet::{read_parquet, typed_columns, Engine, ReadOptions};
use dask::table::{col, lit, Expr};
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterVersion};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ENGINES: [Engine; 3] = [Engine::Arrow, Engine::Column, Engine::Auto];

fn scratch(name: &str) -> PathBuf {
    common::table::scratch_dir("table_engine", name)
}

fn props() -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder().set_max_row_group_row_count(Some(1_000))
}

type Fixture = (String, PathBuf, Vec<RecordBatch>);

/// The fixtures, written once per process (the tests run side by side and read them).
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: std::sync::OnceLock<Vec<Fixture>> = std::sync::OnceLock::new();
    FIXTURES.get_or_init(write_fixtures)
}

/// A directory per writer setting, each file and the batch it holds.
fn write_fixtures() -> Vec<Fixture> {
    let settings: Vec<(&str, WriterProperties)> = vec![
        (
            "snappy",
            props().set_compression(Compression::SNAPPY).build(),
        ),
        (
            "zstd",
            props()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .build(),
        ),
        ("lz4", props().set_compression(Compression::LZ4_RAW).build()),
        (
            "gzip",
            props()
                .set_compression(Compression::GZIP(GzipLevel::default()))
                .build(),
        ),
        ("plain", props().set_dictionary_enabled(false).build()),
        (
            "v2_pages",
            props()
                .set_writer_version(WriterVersion::PARQUET_2_0)
                .build(),
        ),
        (
            "small_pages",
            props()
                .set_data_page_row_count_limit(64)
                .set_write_batch_size(64)
                .set_dictionary_page_size_limit(256)
                .build(),
        ),
        (
            "uneven_groups",
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(777))
                .build(),
        ),
    ];
    let mut out = Vec::new();
    for (i, (name, p)) in settings.into_iter().enumerate() {
        let dir = scratch(name);
        let mut written = Vec::new();
        for f in 0..2 {
            let b = table(2_500, 40 + 10 * i as u64 + f);
            write_parquet(&dir.join(format!("part-{f}.parquet")), &b, Some(p.clone()));
            written.push(b);
        }
        out.push((name.to_string(), dir, written));
    }
    // Nulls only, and no rows at all.
    let dir = scratch("edge");
    let nulls = all_nulls(1_500);
    write_parquet(&dir.join("a-nulls.parquet"), &nulls, Some(props().build()));
    let empty = nulls.slice(0, 0);
    write_parquet(&dir.join("b-empty.parquet"), &empty, Some(props().build()));
    out.push(("edge".into(), dir, vec![nulls, empty]));
    out
}

fn all_nulls(n: usize) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![None::<i64>; n])),
        Arc::new(Float64Array::from(vec![None::<f64>; n])),
        Arc::new(Int32Array::from_iter(
            (0..n).map(|i| (i % 3 != 0).then_some(i as i32)),
        )),
    ];
    let schema = Schema::new(vec![
        Field::new("i64", DataType::Int64, true),
        Field::new("f64", DataType::Float64, true),
        Field::new("i32", DataType::Int32, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

fn read(
    dir: &Path,
    engine: Engine,
    split: bool,
    columns: Option<&[&str]>,
    filter: Option<Expr>,
) -> dask::table::Table {
    read_parquet(
        &[dir],
        &ReadOptions {
            engine,
            split_row_groups: split,
            columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
            filters: filter,
            ..ReadOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn every_engine_reads_every_fixture_to_what_was_written() {
    for (name, dir, written) in fixtures() {
        let want = concat(written);
        let projection: Vec<&str> = ["f64", "dict", "i32", "ts_ns", "i16", "i64"]
            .into_iter()
            .filter(|c| want.schema().index_of(c).is_ok())
            .collect();
        let idx: Vec<usize> = projection
            .iter()
            .map(|c| want.schema().index_of(c).unwrap())
            .collect();
        for engine in ENGINES {
            for split in [false, true] {
                let what = format!("{name}, engine {}, split {split}", engine.name());
                let t = read(dir, engine, split, None, None);
                let got = t.collect(client()).unwrap();
                assert_eq!(got, want, "{what}");
                // Each partition equals its rows of the files.
                let parts = t.compute(client()).unwrap();
                assert_eq!(
                    parts.iter().map(|p| p.num_rows()).sum::<usize>(),
                    want.num_rows(),
                    "{what}"
                );
                let projected = read(dir, engine, split, Some(&projection), None);
                assert_eq!(
                    projected.collect(client()).unwrap(),
                    want.project(&idx).unwrap(),
                    "{what}, projected"
                );
                let head = read(dir, engine, split, None, None)
                    .head(1_234, client())
                    .unwrap();
                let n = want.num_rows().min(1_234);
                assert_eq!(head, want.slice(0, n), "{what}, head");
            }
        }
    }
}

#[test]
fn filtered_reads_agree_across_engines_and_with_the_rows_kept_by_hand() {
    for (name, dir, written) in fixtures() {
        let want = concat(written);
        if want.schema().index_of("i64").is_err() || want.num_rows() == 0 {
            continue;
        }
        // Rows whose i64 is above the median (nulls never match).
        let i64s = want
            .column_by_name("i64")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        let mut values: Vec<i64> = i64s.iter().flatten().collect();
        if values.is_empty() {
            continue;
        }
        values.sort_unstable();
        let cut = values[values.len() / 2];
        let keep = arrow_array::BooleanArray::from_iter(
            i64s.iter().map(|v| Some(v.is_some_and(|v| v > cut))),
        );
        let by_hand = arrow_select::filter::filter_record_batch(&want, &keep).unwrap();
        for engine in ENGINES {
            for split in [false, true] {
                let got = read(dir, engine, split, None, Some(col("i64").gt(lit(cut))))
                    .collect(client())
                    .unwrap();
                assert_eq!(
                    got,
                    by_hand,
                    "{name}, engine {}, split {split}",
                    engine.name()
                );
            }
        }
    }
}

#[test]
fn the_column_engine_takes_the_numeric_columns_and_leaves_the_rest_to_arrow() {
    let dir = scratch("which");
    let path = dir.join("t.parquet");
    write_parquet(&path, &table(100, 1), Some(props().build()));
    let numeric = [
        "i32",
        "i64",
        "u32",
        "u64",
        "f32",
        "f64",
        "date32",
        "ts_us_utc",
        "ts_ns",
    ];
    assert_eq!(typed_columns(&path, Engine::Column).unwrap(), numeric);
    assert_eq!(typed_columns(&path, Engine::Auto).unwrap(), numeric);
    assert!(typed_columns(&path, Engine::Arrow).unwrap().is_empty());
    assert!(Engine::from_name("fastparquet")
        .unwrap_err()
        .to_string()
        .contains("\"auto\", \"arrow\", \"column\""));
}

#[test]
fn damaged_data_pages_are_errors_naming_the_file_under_every_engine() {
    let dir = scratch("damaged");
    let good = dir.join("good.parquet");
    let batch = table(3_000, 5);
    write_parquet(
        &good,
        &batch,
        Some(props().set_compression(Compression::UNCOMPRESSED).build()),
    );
    let bytes = std::fs::read(&good).unwrap();
    let footer_len =
        u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let data_end = bytes.len() - 8 - footer_len;
    let mut errors = 0;
    let mut tried = 0;
    for at in (4..data_end).step_by(data_end / 97 + 1) {
        let mut b = bytes.clone();
        b[at] ^= 0xff;
        // A file of its own for each damage: `make travel-test` reads them again later.
        let bad_dir = dir.join(format!("bad-{at}"));
        std::fs::create_dir_all(&bad_dir).unwrap();
        std::fs::write(bad_dir.join("bad.parquet"), &b).unwrap();
        for engine in ENGINES {
            tried += 1;
            let t = read(&bad_dir, engine, false, None, None);
            match t.collect(client()) {
                Ok(got) => assert_eq!(got.num_rows(), batch.num_rows()),
                Err(e) => {
                    errors += 1;
                    assert!(e.to_string().contains("bad.parquet"), "{e}");
                }
            }
        }
    }
    // Damage to a page header or a level run is caught (damage inside a value reads as
    // another value: Parquet has no checksum unless the writer adds one).
    assert!(
        errors > 0 && tried > 200,
        "{errors} errors of {tried} reads"
    );
}

#[test]
fn a_large_partition_of_many_row_groups_decodes_side_by_side_into_one_buffer() {
    // 1.5M rows in 6 row groups, one partition: each typed column is a 12 MB buffer (huge
    // pages advised) written by six jobs; one column has nulls, one has none.
    let n = 1_500_000;
    let dir = scratch("large");
    let ints = Int64Array::from_iter((0..n).map(|i| (i % 11 != 0).then_some(i as i64 * 7 - 3)));
    let floats = Float64Array::from_iter_values((0..n).map(|i| (i as f64).sqrt()));
    let schema = Schema::new(vec![
        Field::new("i", DataType::Int64, true),
        Field::new("x", DataType::Float64, false),
    ]);
    let batch =
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(ints), Arc::new(floats)]).unwrap();
    write_parquet(
        &dir.join("big.parquet"),
        &batch,
        Some(
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(250_000))
                .build(),
        ),
    );
    for engine in ENGINES {
        let t = read(&dir, engine, false, None, None);
        assert_eq!(t.num_partitions(), 1);
        assert_eq!(t.collect(client()).unwrap(), batch, "{}", engine.name());
    }
}

#[test]
fn pages_found_by_the_fuzzer_are_errors_not_panics_or_huge_allocations() {
    // Files from fuzz/fuzz_targets/parquet.rs: a dictionary-encoded data page with no
    // dictionary page (the crate's column reader asserts), and a dictionary page claiming
    // far more values than its bytes hold (the crate would allocate and zero them all).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tables/fuzzed");
    // (Each file has other damage too; which error is reported first depends on which job
    // meets its damage first. The checks' exact messages are tested in io::parquet::pages.)
    for file in ["dictionary-missing.parquet", "dictionary-oversized.parquet"] {
        let path = dir.join(file);
        for engine in ENGINES {
            let e = dask::io::parquet::read_parquet_file_with(&path, None, engine).unwrap_err();
            let e = e.to_string();
            assert!(e.contains(file), "{engine:?}: {e}");
            // Stopped by a check of ours or the crate's errors, not by catching its panic.
            assert!(!e.contains("the Parquet reader failed"), "{engine:?}: {e}");
        }
        let t = read_parquet(&[&path], &ReadOptions::default()).unwrap();
        let e = t.collect(client()).unwrap_err().to_string();
        assert!(e.contains(file), "{e}");
    }
}
