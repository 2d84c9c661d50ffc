//! `read_parquet` into lazy tables: files written here with the `parquet` crate's own
//! writer (every supported column type, nulls, several row groups, every codec) read back
//! to exactly the batches written — whole, by row group, by column — and bad input is an
//! error naming the file (and the column).
//!
//! The fixtures stay in cargo's test scratch directory: `make travel-test` replays the read
//! tasks captured here in a fresh process, and they read the same files.

mod common;

use arrow_array::RecordBatch;
use common::client;
use common::table::table;
use dask::error::Error;
use dask::io::parquet::{read_parquet, read_parquet_file, ReadOptions};
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ROWS_PER_FILE: usize = 2_500;
const ROW_GROUP: usize = 1_000;

fn scratch(name: &str) -> PathBuf {
    common::table::scratch_dir("table_parquet", name)
}

fn write(path: &Path, batch: &RecordBatch, codec: Compression) {
    let props = WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    common::table::write_parquet(path, batch, Some(props));
}

/// A directory of files, one per codec, and the batch each holds (in file-name order).
fn dataset(name: &str) -> (PathBuf, Vec<RecordBatch>) {
    let dir = scratch(name);
    let codecs = [
        Compression::SNAPPY,
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4_RAW,
        Compression::GZIP(GzipLevel::default()),
        Compression::UNCOMPRESSED,
    ];
    let mut batches = Vec::new();
    for (i, codec) in codecs.into_iter().enumerate() {
        let b = table(ROWS_PER_FILE, 100 + i as u64);
        write(&dir.join(format!("part-{i}.parquet")), &b, codec);
        batches.push(b);
    }
    // What readers skip: metadata and hidden files, other files.
    std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
    std::fs::write(dir.join(".hidden.parquet"), b"not parquet").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not parquet").unwrap();
    (dir, batches)
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

#[test]
fn a_directory_reads_back_every_file_with_its_row_counts_known_before_computing() {
    let (dir, written) = dataset("whole");
    let t = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
    assert_eq!(t.num_partitions(), written.len(), "one partition per file");
    assert_eq!(
        t.num_rows(),
        Some((ROWS_PER_FILE * written.len()) as u64),
        "from the footers"
    );
    assert_eq!(t.schema().fields(), written[0].schema().fields());
    let parts = t.compute(client()).unwrap();
    for (i, (got, want)) in parts.iter().zip(&written).enumerate() {
        assert_eq!(got, want, "file {i}");
    }
    assert_eq!(t.collect(client()).unwrap(), concat(&written));
    // A list of files reads the same as their directory.
    let files: Vec<PathBuf> = (0..written.len())
        .map(|i| dir.join(format!("part-{i}.parquet")))
        .collect();
    let listed = read_parquet(&files, &ReadOptions::default()).unwrap();
    assert_eq!(listed.collect(client()).unwrap(), concat(&written));
}

#[test]
fn row_groups_as_partitions_and_projected_columns_in_the_order_asked() {
    let (dir, written) = dataset("split");
    let t = read_parquet(
        &[&dir],
        &ReadOptions {
            split_row_groups: true,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let groups = ROWS_PER_FILE.div_ceil(ROW_GROUP);
    assert_eq!(t.num_partitions(), written.len() * groups);
    let parts = t.compute(client()).unwrap();
    for (i, got) in parts.iter().enumerate() {
        let (file, g) = (i / groups, i % groups);
        let len = ROW_GROUP.min(ROWS_PER_FILE - g * ROW_GROUP);
        assert_eq!(t.partition_rows()[i], Some(len as u64));
        assert_eq!(
            got,
            &written[file].slice(g * ROW_GROUP, len),
            "file {file} group {g}"
        );
    }

    let cols = ["dict", "f64", "bool", "ts_us_utc"];
    let projected = read_parquet(
        &[&dir],
        &ReadOptions {
            columns: Some(cols.iter().map(|c| c.to_string()).collect()),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let names: Vec<&str> = projected
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, cols);
    let want = concat(&written);
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| want.schema().index_of(c).unwrap())
        .collect();
    assert_eq!(
        projected.collect(client()).unwrap(),
        want.project(&idx).unwrap()
    );
}

#[test]
fn bad_paths_files_and_columns_are_errors_naming_them() {
    let dir = scratch("bad");
    let good = dir.join("good.parquet");
    let b = table(300, 7);
    write(&good, &b, Compression::SNAPPY);
    let bytes = std::fs::read(&good).unwrap();

    let missing = dir.join("missing.parquet");
    match read_parquet(&[&missing], &ReadOptions::default()) {
        Err(Error::NotFound(m)) => assert!(m.contains("missing.parquet"), "{m}"),
        other => panic!("missing file: {other:?}"),
    }
    let empty = scratch("bad-empty-dir");
    match read_parquet(&[&empty], &ReadOptions::default()) {
        Err(Error::NotFound(m)) => assert!(m.contains("without Parquet files"), "{m}"),
        other => panic!("empty directory: {other:?}"),
    }

    // Cut short: the footer is gone.
    let cut = dir.join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match read_parquet(&[&cut], &ReadOptions::default()) {
        Err(Error::Corrupt(m)) => assert!(m.contains("cut.parquet"), "{m}"),
        other => panic!("truncated file: {other:?}"),
    }

    // The footer intact, the data damaged: found when the partition is read, and the
    // error names the file.
    let damaged = dir.join("damaged.parquet");
    let mut d = bytes.clone();
    for x in &mut d[8..bytes.len() / 3] {
        *x ^= 0x5a;
    }
    std::fs::write(&damaged, &d).unwrap();
    let t = read_parquet(&[&damaged], &ReadOptions::default()).unwrap();
    match t.compute(client()) {
        Err(e) => assert!(e.to_string().contains("damaged.parquet"), "{e}"),
        Ok(parts) => panic!("damaged data read as {} rows", parts[0].num_rows()),
    }

    let wrong_column = ReadOptions {
        columns: Some(vec!["f64".into(), "nope".into()]),
        ..ReadOptions::default()
    };
    match read_parquet(&[&good], &wrong_column) {
        Err(Error::NotFound(m)) => {
            assert!(m.contains("'nope'") && m.contains("good.parquet"), "{m}")
        }
        other => panic!("unknown column: {other:?}"),
    }

    // Two files whose column types have no common type.
    let other = dir.join("other.parquet");
    let flag = RecordBatch::try_from_iter([(
        "f64",
        Arc::new(arrow_array::BooleanArray::from(vec![true, false])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    write(&other, &flag, Compression::SNAPPY);
    match read_parquet(&[&good, &other], &ReadOptions::default()) {
        Err(Error::InvalidArgument(m)) => {
            assert!(
                m.contains("good.parquet") && m.contains("other.parquet") && m.contains("'f64'"),
                "{m}"
            )
        }
        other => panic!("types without a common one: {other:?}"),
    }
}

/// Damaged files never take the process down: every byte of the footer flipped and every
/// truncation give a table or an error, and reading the file gives a batch or an error
/// naming it (the stable-Rust stand-in for fuzzing the read path). Read on this thread
/// (`read_parquet_file`, the tasks' own read): tasks would be captured for travel-test's
/// replay, and this one file is rewritten thousands of times.
#[test]
fn every_damaged_footer_byte_and_truncation_is_an_error_or_a_table() {
    let dir = scratch("fuzz");
    let good = dir.join("good.parquet");
    write(&good, &table(200, 11), Compression::SNAPPY);
    let bytes = std::fs::read(&good).unwrap();
    let footer_len =
        u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let footer_start = bytes.len() - 8 - footer_len;
    let bad = dir.join("bad.parquet");
    let mut tried = 0;
    let mut read_back = 0;
    let mut check = |b: &[u8]| {
        std::fs::write(&bad, b).unwrap();
        tried += 1;
        if read_parquet(&[&bad], &ReadOptions::default()).is_ok() {
            match read_parquet_file(&bad, None) {
                Ok(_) => read_back += 1,
                // Even where the reader itself panics, the error names the file.
                Err(e) => assert!(e.to_string().contains("bad.parquet"), "{e}"),
            }
        }
    };
    for i in footer_start..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            check(&b);
        }
    }
    for n in (0..bytes.len()).step_by(7) {
        check(&bytes[..n]);
    }
    assert!(tried > 3 * footer_len, "{tried} files tried");
    // Most damage is caught (a flip inside a statistic or a name may still read).
    assert!(
        read_back < tried,
        "{read_back} of {tried} damaged files read"
    );
}

#[test]
fn a_file_rewritten_in_place_with_the_same_size_and_mtime_reads_its_new_contents() {
    use arrow_array::Int64Array;
    let dir = scratch("rewritten");
    let path = dir.join("t.parquet");
    let batch = |base: i64| {
        let a = Int64Array::from_iter_values((0..1000).map(|i| base + i));
        RecordBatch::try_from_iter([("a", Arc::new(a) as arrow_array::ArrayRef)]).unwrap()
    };
    let client = client();
    write(&path, &batch(1_000_000), Compression::UNCOMPRESSED);
    let (len, mtime) = {
        let m = std::fs::metadata(&path).unwrap();
        (m.len(), m.modified().unwrap())
    };
    // Read eagerly (not as a task: `make travel-test` replays tasks against the file as
    // it is at the end, rewritten), which caches its footer.
    assert_eq!(read_parquet_file(&path, None).unwrap(), batch(1_000_000));
    // Same size (same widths, no compression), other values and statistics, and the old
    // modification time put back.
    write(&path, &batch(2_000_000), Compression::UNCOMPRESSED);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let m = std::fs::metadata(&path).unwrap();
    assert_eq!((m.len(), m.modified().unwrap()), (len, mtime));
    let second = read_parquet(&[&path], &ReadOptions::default()).unwrap();
    assert_eq!(second.collect(client).unwrap(), batch(2_000_000));
    assert_eq!(read_parquet_file(&path, None).unwrap(), batch(2_000_000));
}

/// Files written at different times: a column added later is null in the older files' rows,
/// a widened one (int32 → int64, float32 → float64, dictionary → plain strings) takes the
/// wider type, values exactly those written; a filter on the added column skips the files
/// that lack it without reading them.
#[test]
fn files_with_different_schemas_read_as_one_unified_table() {
    use arrow_array::types::Int32Type;
    use arrow_array::{
        Array, ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
        StringArray,
    };
    use dask::table::{col, lit};
    let dir = scratch("unified");
    let old = RecordBatch::try_from_iter([
        ("id", Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "x",
            Arc::new(Float32Array::from(vec![0.5, 1.5, 2.5])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(DictionaryArray::<Int32Type>::from_iter(["a", "b", "a"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let new = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from(vec![4_000_000_000, 5])) as ArrayRef,
        ),
        (
            "extra",
            Arc::new(StringArray::from(vec![Some("e"), None])) as ArrayRef,
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![0.1, 0.2])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec!["c", "d"])) as ArrayRef,
        ),
    ])
    .unwrap();
    write(&dir.join("a-old.parquet"), &old, Compression::SNAPPY);
    write(&dir.join("b-new.parquet"), &new, Compression::SNAPPY);

    let t = read_parquet(&[&dir], &ReadOptions::default()).unwrap();
    let names: Vec<String> = t
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "x", "name", "extra"]);
    let types: Vec<String> = t
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().to_string())
        .collect();
    assert_eq!(types[0], "Int64");
    assert_eq!(types[1], "Float64");
    assert_eq!(types[2], "Utf8");
    let parts = t.compute(client()).unwrap();
    assert_eq!(parts.len(), 2);
    for p in &parts {
        assert_eq!(p.schema().fields(), t.schema().fields(), "partition schema");
    }
    let all = concat(&parts);
    let id = all.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(id.values(), &[1, 2, 3, 4_000_000_000, 5]);
    let x = all
        .column(1)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    // float32 values widened exactly (0.5, 1.5, 2.5 are exact in both), float64 kept.
    assert_eq!(x.values(), &[0.5, 1.5, 2.5, 0.1, 0.2]);
    let name = all
        .column(2)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        name.iter().collect::<Vec<_>>(),
        [Some("a"), Some("b"), Some("a"), Some("c"), Some("d")]
    );
    let extra = all
        .column(3)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        extra.iter().collect::<Vec<_>>(),
        [None, None, None, Some("e"), None]
    );

    // A filter on the added column: the old file provably holds no match (all null).
    let only_e = ReadOptions {
        filters: Some(col("extra").eq(lit("e"))),
        columns: Some(vec!["id".into(), "extra".into()]),
        ..ReadOptions::default()
    };
    let t = read_parquet(&[&dir], &only_e).unwrap();
    assert_eq!(dask::io::parquet::row_groups_read(&t), 1);
    let got = concat(&t.compute(client()).unwrap());
    assert_eq!(got.num_rows(), 1);
    let id = got.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(id.value(0), 4_000_000_000);
    // Missing in the old file and asked for by name: nulls there too.
    let is_null = ReadOptions {
        filters: Some(col("extra").is_null()),
        ..ReadOptions::default()
    };
    let got = concat(
        &read_parquet(&[&dir], &is_null)
            .unwrap()
            .compute(client())
            .unwrap(),
    );
    assert_eq!(got.num_rows(), 4);
    assert_eq!(got.column(3).null_count(), 4);
}
