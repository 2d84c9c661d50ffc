//! A table partition with a column of every supported type, and the file helpers of the
//! table suites.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMicrosecondArray, TimestampNanosecondArray, UInt16Array, UInt32Array, UInt64Array,
    UInt8Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fresh, empty directory `suite/name` under Cargo's scratch directory for integration
/// tests (kept after the run: captured tasks that read files there are replayed later by
/// `make travel-test`).
pub fn scratch_dir(suite: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(suite)
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `batch` as one Parquet file at `path` (its directories made), with `props` or the
/// writer's defaults.
pub fn write_parquet(path: &Path, batch: &RecordBatch, props: Option<WriterProperties>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), props).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Partitions of `sizes` rows with one schema (every column nullable).
pub fn partitions(sizes: &[usize], seed: u64) -> (arrow_schema::SchemaRef, Vec<RecordBatch>) {
    let fields: Vec<Field> = table(1, 0)
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batches = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            RecordBatch::try_new(schema.clone(), table(n, seed + i as u64).columns().to_vec())
                .unwrap()
        })
        .collect();
    (schema, batches)
}

/// SplitMix64: a deterministic stream of well-mixed 64-bit values from a counter.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A partition with a column of every supported type, nulls in most of them (`n` rows).
pub fn table(n: usize, seed: u64) -> RecordBatch {
    let r = |i: usize, k: u64| splitmix64(seed ^ (i as u64) << 8 ^ k);
    let null = |i: usize, k: u64| r(i, k) % 5 == 0;
    let opt = |i: usize, k: u64| (!null(i, k)).then_some(r(i, k));
    let words = [
        "",
        "a",
        "héllo",
        "wörld, with a comma",
        "x".repeat(40).leak(),
    ];
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "bool",
            Arc::new(BooleanArray::from_iter(
                (0..n).map(|i| opt(i, 1).map(|x| x % 2 == 0)),
            )),
        ),
        (
            "i8",
            Arc::new(Int8Array::from_iter(
                (0..n).map(|i| opt(i, 2).map(|x| x as i8)),
            )),
        ),
        (
            "i16",
            Arc::new(Int16Array::from_iter_values((0..n).map(|i| r(i, 3) as i16))),
        ),
        (
            "i32",
            Arc::new(Int32Array::from_iter(
                (0..n).map(|i| opt(i, 4).map(|x| x as i32)),
            )),
        ),
        (
            "i64",
            Arc::new(Int64Array::from_iter(
                (0..n).map(|i| opt(i, 5).map(|x| x as i64)),
            )),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from_iter_values((0..n).map(|i| r(i, 6) as u8))),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from_iter(
                (0..n).map(|i| opt(i, 7).map(|x| x as u16)),
            )),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from_iter(
                (0..n).map(|i| opt(i, 8).map(|x| x as u32)),
            )),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from_iter_values((0..n).map(|i| r(i, 9)))),
        ),
        (
            "f32",
            Arc::new(Float32Array::from_iter(
                (0..n).map(|i| opt(i, 10).map(|x| x as f32 / 7.0)),
            )),
        ),
        (
            "f64",
            Arc::new(Float64Array::from_iter((0..n).map(|i| match i % 9 {
                0 => Some(f64::NAN),
                1 => Some(-0.0),
                2 => None,
                _ => Some(r(i, 11) as f64 / 3.0),
            }))),
        ),
        (
            "utf8",
            Arc::new(StringArray::from_iter(
                (0..n).map(|i| opt(i, 12).map(|x| words[x as usize % 5])),
            )),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from_iter(
                (0..n).map(|i| opt(i, 13).map(|x| words[x as usize % 5])),
            )),
        ),
        (
            "date32",
            Arc::new(Date32Array::from_iter(
                (0..n).map(|i| opt(i, 14).map(|x| (x % 40_000) as i32)),
            )),
        ),
        (
            "ts_us_utc",
            Arc::new(
                TimestampMicrosecondArray::from_iter(
                    (0..n).map(|i| opt(i, 15).map(|x| (x >> 12) as i64)),
                )
                .with_timezone("UTC"),
            ),
        ),
        (
            "ts_ns",
            Arc::new(TimestampNanosecondArray::from_iter_values(
                (0..n).map(|i| (r(i, 16) >> 2) as i64),
            )),
        ),
        (
            "dict",
            Arc::new(DictionaryArray::<Int32Type>::from_iter(
                (0..n).map(|i| opt(i, 17).map(|x| words[x as usize % 5])),
            )),
        ),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, a)| Field::new(*name, a.data_type().clone(), a.null_count() > 0))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

/// One cell, as the oracle sees it: integers (dates and timestamps by their stored
/// number) exactly, floats, strings.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    Null,
    B(bool),
    I(i128),
    F(f64),
    S(String),
}

pub fn cell(a: &ArrayRef, i: usize) -> V {
    if a.is_null(i) {
        return V::Null;
    }
    match a.data_type() {
        DataType::Boolean => V::B(a.as_boolean().value(i)),
        DataType::Int8 => V::I(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => V::I(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => V::I(a.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => V::I(a.as_primitive::<Int64Type>().value(i).into()),
        DataType::UInt8 => V::I(a.as_primitive::<UInt8Type>().value(i).into()),
        DataType::UInt16 => V::I(a.as_primitive::<UInt16Type>().value(i).into()),
        DataType::UInt32 => V::I(a.as_primitive::<UInt32Type>().value(i).into()),
        DataType::UInt64 => V::I(a.as_primitive::<UInt64Type>().value(i).into()),
        DataType::Float32 => V::F(a.as_primitive::<Float32Type>().value(i).into()),
        DataType::Float64 => V::F(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => V::S(a.as_string::<i32>().value(i).into()),
        DataType::LargeUtf8 => V::S(a.as_string::<i64>().value(i).into()),
        DataType::Date32 => V::I(a.as_primitive::<Date32Type>().value(i).into()),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            V::I(a.as_primitive::<TimestampMicrosecondType>().value(i).into())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            V::I(a.as_primitive::<TimestampNanosecondType>().value(i).into())
        }
        DataType::Dictionary(..) => {
            let d = a.as_dictionary::<Int32Type>();
            let k = d.keys().value(i) as usize;
            cell(d.values(), k)
        }
        t => panic!("no oracle for {t}"),
    }
}
