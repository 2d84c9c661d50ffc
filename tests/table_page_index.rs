//! Page-level pruning: inside the row groups a filter reads, the pages whose column-index
//! statistics rule it out are skipped (by both engines, for every column read — including
//! columns whose pages begin at other rows), and the rows read are then filtered exactly.
//! Checked against the written rows filtered by hand, and by counting the rows skipped.
//!
//! One test function: the skipped-row counter is process-wide, and the checks of its
//! increments must not see another test's reads.

mod common;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use common::client;
use common::table::write_parquet;
use dask::io::parquet::{read_parquet, rows_skipped_by_page_index, Engine, ReadOptions};
use dask::table::{col, lit, Expr};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::path::Path;
use std::sync::Arc;

const ROWS: usize = 20_000;
const GROUP: usize = 10_000;
const PAGE: usize = 500;

/// id ascending; x; name (strings of varying length: its pages hold other row ranges than
/// id's); v nullable, null in rows 5,000..6,000 and every seventh row.
fn batch() -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(0..ROWS as i64)),
        Arc::new(Float64Array::from_iter_values(
            (0..ROWS).map(|i| (i as f64 * 0.37).sin()),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..ROWS).map(|i| "w".repeat(1 + i % 13)),
        )),
        Arc::new(Int32Array::from_iter((0..ROWS).map(|i| {
            if (5_000..6_000).contains(&i) || i % 7 == 0 {
                None
            } else {
                Some(i as i32)
            }
        }))),
    ];
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("v", DataType::Int32, true),
    ]);
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn write(dir: &Path, statistics: EnabledStatistics) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(GROUP))
        .set_data_page_row_count_limit(PAGE)
        .set_write_batch_size(PAGE)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(statistics)
        .build();
    write_parquet(&dir.join("t.parquet"), &batch(), Some(props));
}

/// The written rows where `keep(id, v)` holds, filtered here.
fn by_hand(keep: impl Fn(i64, Option<i32>) -> bool) -> RecordBatch {
    let b = batch();
    let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let vs = b.column(3).as_any().downcast_ref::<Int32Array>().unwrap();
    let mask = BooleanArray::from_iter(
        (0..b.num_rows()).map(|i| Some(keep(ids.value(i), vs.is_valid(i).then(|| vs.value(i))))),
    );
    arrow_select::filter::filter_record_batch(&b, &mask).unwrap()
}

fn read(dir: &Path, filter: &Expr, engine: Engine) -> (RecordBatch, u64) {
    let before = rows_skipped_by_page_index();
    let t = read_parquet(
        &[dir],
        &ReadOptions {
            filters: Some(filter.clone()),
            engine,
            ..ReadOptions::default()
        },
    )
    .unwrap();
    let got = t.collect(client()).unwrap();
    (got, rows_skipped_by_page_index() - before)
}

#[test]
fn pages_that_cannot_match_are_skipped_and_the_rest_filtered_exactly() {
    let indexed = common::table::scratch_dir("table_page_index", "indexed");
    write(&indexed, EnabledStatistics::Page);
    let plain = common::table::scratch_dir("table_page_index", "no_index");
    write(&plain, EnabledStatistics::Chunk);

    // (filter, rows kept by hand, rows the page index must let the read skip)
    let cases: Vec<(Expr, RecordBatch, u64)> = vec![
        (
            // Group 1 only (group 0 pruned by its statistics); of its 20 pages of id, the
            // two covering 12,000..13,000 are read.
            col("id")
                .ge(lit(12_345i64))
                .and(col("id").lt(lit(12_600i64))),
            by_hand(|id, _| (12_345..12_600).contains(&id)),
            (GROUP - 2 * PAGE) as u64,
        ),
        (
            // Both groups read, the first page of one and the last of the other.
            col("id").lt(lit(100i64)).or(col("id").ge(lit(19_900i64))),
            by_hand(|id, _| !(100..19_900).contains(&id)),
            (ROWS - 2 * PAGE) as u64,
        ),
        (
            // `not` swaps what the pages allow: only the pages at or past 19,000.
            col("id").lt(lit(19_000i64)).not(),
            by_hand(|id, _| id >= 19_000),
            (GROUP - 2 * PAGE) as u64,
        ),
        (
            // The null column: pages of v that are all null (5,000..6,000) are the only
            // ones `v > 0` can skip; other pages hold some non-null values.
            col("v").gt(lit(0i32)),
            by_hand(|_, v| v.is_some_and(|v| v > 0)),
            1_000,
        ),
    ];
    for (filter, want, skip) in &cases {
        for engine in [Engine::Arrow, Engine::Column, Engine::Auto] {
            let what = format!("{filter}, engine {}", engine.name());
            let (got, skipped) = read(&indexed, filter, engine);
            assert_eq!(got, *want, "{what}");
            assert_eq!(skipped, *skip, "{what}: rows skipped by the page index");
            // Without a page index: the same rows, nothing skipped inside row groups.
            let (got, skipped) = read(&plain, filter, engine);
            assert_eq!(got, *want, "{what}, no page index");
            assert_eq!(skipped, 0, "{what}, no page index");
        }
    }
}
