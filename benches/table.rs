//! Parquet into tables (issue 19): a 10M-row × 4-column file read whole and one column, on
//! the embedded pool (2 threads), a partition per row group. The file is the one
//! `../shared/bench/anchors.py parquet` measures pyarrow on (10M rows: float64, int64 in
//! 0..1000, float64, int32 in 0..10; snappy; 1M-row groups), or one written here to the
//! same recipe when `--data` is not given.
//!
//! Reproduce: `cargo bench --features blas --bench table [-- --data ../shared/bench/t.parquet]`,
//! then `python ../shared/bench/anchors.py parquet` in a venv with pyarrow and dask.
//!
//! `-- footers`: planning a read of 400 small files (their footers, none cached).
//!
//! `-- filtered`: the issue's table (10M rows: id int64, x float64, name dictionary
//! string, ts timestamp; ts and id ascending; snappy, 1M-row groups) read whole and with
//! `ts >= <the 8,000,000th row's time>` (2 of 10 row groups can match). With
//! `BENCH_PYTHON=<a python with pyarrow>` the same reads by pyarrow run in the same session.

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use dask::io::parquet::{read_parquet, Engine, ReadOptions};
use dask::{Client, Config};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use support::{run_python, splitmix};

mod support;

const ROWS: usize = 10_000_000;
const GROUP: usize = 1_000_000;

fn unit(i: usize, k: u64) -> f64 {
    (splitmix((i as u64) << 2 | k) >> 11) as f64 / (1u64 << 53) as f64
}

/// The anchor's recipe: columns a (≈ normal), b (0..1000), c (uniform), d (int32 0..10).
fn write_dataset(path: &PathBuf) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float64, false),
        Field::new("b", DataType::Int64, false),
        Field::new("c", DataType::Float64, false),
        Field::new("d", DataType::Int32, false),
    ]));
    write_groups(path, schema, |rows| {
        let a: Float64Array = rows
            .clone()
            .map(|i| (0..12).map(|k| unit(i, k)).sum::<f64>() - 6.0)
            .collect();
        let b: Int64Array = rows
            .clone()
            .map(|i| (splitmix(i as u64 ^ 7) % 1000) as i64)
            .collect();
        let c: Float64Array = rows.clone().map(|i| unit(i, 13)).collect();
        let d: Int32Array = rows.map(|i| (splitmix(i as u64 ^ 9) % 10) as i32).collect();
        vec![Arc::new(a), Arc::new(b), Arc::new(c), Arc::new(d)]
    });
}

/// Writes ROWS rows of `schema` to `path` (snappy, GROUP-row row groups), one row group at a
/// time from `group(rows)`: the columns of those rows.
fn write_groups(
    path: &PathBuf,
    schema: Arc<Schema>,
    group: impl Fn(std::ops::Range<usize>) -> Vec<ArrayRef>,
) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    for g in 0..ROWS / GROUP {
        let batch =
            RecordBatch::try_new(schema.clone(), group(g * GROUP..(g + 1) * GROUP)).unwrap();
        w.write(&batch).unwrap();
    }
    w.close().unwrap();
}

fn best_of(n: usize, mut f: impl FnMut() -> usize) -> f64 {
    (0..n)
        .map(|_| {
            let t0 = Instant::now();
            assert_eq!(f(), ROWS);
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min)
}

/// The issue's table: id, x, name (50 words, dictionary-encoded), ts (one row a second
/// from 2024-01-01, microseconds).
fn write_filtered_dataset(path: &PathBuf) {
    use arrow_array::types::Int32Type;
    use arrow_array::{DictionaryArray, TimestampMicrosecondArray};
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new(
            "name",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(
            "ts",
            DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, None),
            false,
        ),
    ]));
    let words: Vec<String> = (0..50).map(|i| format!("name-{i:02}")).collect();
    write_groups(path, schema, |rows| {
        let id: Int64Array = rows.clone().map(|i| i as i64).collect();
        let x: Float64Array = rows.clone().map(|i| unit(i, 3)).collect();
        let name: DictionaryArray<Int32Type> = rows
            .clone()
            .map(|i| words[(splitmix(i as u64) % 50) as usize].as_str())
            .collect();
        let ts = TimestampMicrosecondArray::from_iter_values(
            rows.map(|i| FILTERED_T0_US + i as i64 * 1_000_000),
        );
        vec![Arc::new(id), Arc::new(x), Arc::new(name), Arc::new(ts)]
    });
}

/// 2024-01-01T00:00:00 in microseconds.
const FILTERED_T0_US: i64 = 1_704_067_200_000_000;

fn filtered(client: &Client) {
    use dask::table::{col, lit};
    let path = std::env::temp_dir().join("libdask-bench-f.parquet");
    if !path.exists() {
        write_filtered_dataset(&path);
    }
    let cut = FILTERED_T0_US + 8_000_000 * 1_000_000;
    let expected = ROWS - 8_000_000;
    let read = |filters: Option<dask::table::Expr>, engine: Engine| {
        let t = read_parquet(
            &[&path],
            &ReadOptions {
                filters,
                split_row_groups: true,
                engine,
                ..Default::default()
            },
        )
        .unwrap();
        let groups = dask::io::parquet::row_groups_read(&t);
        let rows = t
            .compute(client)
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>();
        (groups, rows)
    };
    let time = |f: &dyn Fn() -> (usize, usize), rows: usize| {
        (0..10)
            .map(|_| {
                let t0 = Instant::now();
                let (_, n) = f();
                assert_eq!(n, rows);
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let size = std::fs::metadata(&path).unwrap().len() as f64 / (1 << 20) as f64;
    println!(
        "read_parquet {} ({size:.0} MiB; id, x, name dict, ts), 2 threads:",
        path.display()
    );
    let filter = col("ts").ge(lit(cut));
    // A window of 50,000 rows inside one row group: the page index narrows the read to
    // the pages holding it.
    let w0 = FILTERED_T0_US + 8_200_000 * 1_000_000;
    let w1 = w0 + 50_000 * 1_000_000;
    let window = col("ts").ge(lit(w0)).and(col("ts").lt(lit(w1)));
    for engine in [Engine::Arrow, Engine::Auto] {
        let skipped = dask::io::parquet::rows_skipped_by_page_index();
        let t = time(&|| read(Some(window.clone()), engine), 50_000);
        let skipped = (dask::io::parquet::rows_skipped_by_page_index() - skipped) / 10;
        println!(
            "  {:<6} ts in 50k-row window {:>7.1} ms  (1 row group, {skipped} of its rows skipped by the page index)",
            engine.name(),
            t * 1e3
        );
    }
    for engine in [Engine::Arrow, Engine::Auto] {
        let whole = time(&|| read(None, engine), ROWS);
        println!(
            "  {:<6} whole            {:>7.1} ms",
            engine.name(),
            whole * 1e3
        );
        let (groups, _) = read(Some(filter.clone()), engine);
        let t = time(&|| read(Some(filter.clone()), engine), expected);
        println!(
            "  {:<6} ts >= row 8M     {:>7.1} ms  ({groups} of {} row groups read, {expected} rows)",
            engine.name(),
            t * 1e3,
            ROWS / GROUP
        );
    }
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let script = format!(
            r#"
import time, pyarrow as pa, pyarrow.parquet as pq
p = "{path}"
t, r = best(lambda: pq.read_table(p))
print(f"  pyarrow whole           {{t*1e3:7.1f}} ms")
cut = pa.scalar({cut}, type=pa.timestamp("us"))
t, r = best(lambda: pq.read_table(p, filters=[("ts", ">=", cut)]))
assert r.num_rows == {expected}, r.num_rows
print(f"  pyarrow ts >= row 8M    {{t*1e3:7.1f}} ms")
w0 = pa.scalar({w0}, type=pa.timestamp("us")); w1 = pa.scalar({w1}, type=pa.timestamp("us"))
t, r = best(lambda: pq.read_table(p, filters=[("ts", ">=", w0), ("ts", "<", w1)]))
assert r.num_rows == 50000, r.num_rows
print(f"  pyarrow ts in 50k-row window {{t*1e3:7.1f}} ms")
"#,
            path = path.display()
        );
        run_python(&py, &script);
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow> cargo bench --features blas --bench table -- filtered");
}

/// Group-by sum and mean of x by name (50 groups) and whole-column reductions over the
/// filtered dataset, read and reduced in one graph; pyarrow, polars and dask.dataframe in
/// the same run when BENCH_PYTHON has them.
fn groupby(client: &Client) {
    use dask::table::agg;
    let path = std::env::temp_dir().join("libdask-bench-f.parquet");
    if !path.exists() {
        write_filtered_dataset(&path);
    }
    let table = read_parquet(
        &[&path],
        &ReadOptions {
            columns: Some(vec!["name".into(), "x".into()]),
            split_row_groups: true,
            ..Default::default()
        },
    )
    .unwrap();
    let time = |f: &dyn Fn() -> usize, rows: usize| {
        (0..5)
            .map(|_| {
                let t0 = Instant::now();
                assert_eq!(f(), rows);
                t0.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    println!(
        "{ROWS} rows of {} (name dict, x), 2 threads:",
        path.display()
    );
    let by_name = table
        .group_by(&["name"])
        .agg(&[agg::sum("x"), agg::mean("x")])
        .unwrap();
    let t = time(&|| by_name.collect(client).unwrap().num_rows(), 50);
    println!("  group_by(name) sum, mean of x   {:>7.1} ms", t * 1e3);
    let whole = table
        .agg(&[
            agg::sum("x"),
            agg::min("x"),
            agg::max("x"),
            agg::n_unique("name"),
        ])
        .unwrap();
    let t = time(&|| whole.collect(client).unwrap().num_rows(), 1);
    println!("  sum, min, max x, n_unique name  {:>7.1} ms", t * 1e3);
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let script = format!(
            r#"
import time, pyarrow.parquet as pq, pyarrow.compute as pc
p = "{path}"
# Each row group's dictionary differs: pyarrow's group_by needs them unified first.
t, r = best(lambda: pq.read_table(p, columns=["name", "x"]).unify_dictionaries().group_by("name").aggregate([("x", "sum"), ("x", "mean")]), 5)
assert r.num_rows == 50
print(f"  pyarrow group_by                {{t*1e3:7.1f}} ms")
def whole():
    t = pq.read_table(p, columns=["name", "x"]).unify_dictionaries()
    return pc.sum(t["x"]), pc.min_max(t["x"]), len(t["name"].unique())
t, r = best(whole, 5)
print(f"  pyarrow sum, min_max, n_unique  {{t*1e3:7.1f}} ms")
try:
    import polars as pl
    t, r = best(lambda: pl.read_parquet(p, columns=["name", "x"]).group_by("name").agg(pl.col("x").sum().alias("x_sum"), pl.col("x").mean().alias("x_mean")), 5)
    assert r.height == 50
    print(f"  polars group_by                 {{t*1e3:7.1f}} ms  (polars {{pl.__version__}})")
except ImportError:
    print("  polars: not installed in BENCH_PYTHON")
try:
    import dask, dask.dataframe as dd
    with dask.config.set(scheduler="threads", num_workers=2):
        t, r = best(lambda: dd.read_parquet(p, columns=["name", "x"]).groupby("name", observed=True).x.agg(["sum", "mean"]).compute(), 3)
    assert len(r) == 50
    print(f"  dask.dataframe groupby          {{t*1e3:7.1f}} ms  (dask {{dask.__version__}})")
except ImportError:
    print("  dask.dataframe: not installed in BENCH_PYTHON")
"#,
            path = path.display()
        );
        run_python(&py, &script);
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow, polars, dask> cargo bench --features blas --bench table -- groupby");
}

/// write_parquet of the filtered dataset (read by us) against pyarrow's writer, and the
/// round trips through pyarrow: it reads our files, we read its hive dataset.
fn write(client: &Client) {
    use dask::io::parquet::{write_parquet, WriteOptions};
    use dask::table::agg;
    let path = std::env::temp_dir().join("libdask-bench-f.parquet");
    if !path.exists() {
        write_filtered_dataset(&path);
    }
    let ours = std::env::temp_dir().join("libdask-bench-w");
    let options = ReadOptions {
        split_row_groups: true,
        ..Default::default()
    };
    let table = read_parquet(&[&path], &options).unwrap();
    let sum_x = |t: &dask::table::Table| {
        let r = t.agg(&[agg::sum("x")]).unwrap().collect(client).unwrap();
        r.column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .value(0)
    };
    let want = sum_x(&table);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&ours);
        let t0 = Instant::now();
        let rows = write_parquet(&table, &ours, &WriteOptions::default(), client).unwrap();
        best = best.min(t0.elapsed().as_secs_f64());
        assert_eq!(rows as usize, ROWS);
    }
    println!("{ROWS} rows (id, x, name dict, ts), read and written as 10 snappy files, 2 threads:");
    println!("  libdask read + write_parquet  {:>7.1} ms", best * 1e3);
    let back = read_parquet(&[&ours], &ReadOptions::default()).unwrap();
    assert_eq!(back.num_rows(), Some(ROWS as u64));
    assert!((sum_x(&back) - want).abs() <= 1e-9 * want.abs());
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let theirs = std::env::temp_dir().join("libdask-bench-pw");
        let _ = std::fs::remove_dir_all(&theirs);
        let script = format!(
            r#"
import time, os, shutil, pyarrow.parquet as pq, pyarrow.compute as pc
p, ours, theirs = "{path}", "{ours}", "{theirs}"
b = 1e9
for _ in range(3):
    shutil.rmtree("/tmp/libdask-bench-pyw", ignore_errors=True)
    t0 = time.perf_counter()
    pq.write_to_dataset(pq.read_table(p), "/tmp/libdask-bench-pyw")
    b = min(b, time.perf_counter() - t0)
print(f"  pyarrow read + write_to_dataset {{b*1e3:7.1f}} ms")
t = pq.read_table(ours)
assert t.num_rows == {rows}, t.num_rows
s = pc.sum(t["x"]).as_py()
assert abs(s - {want:?}) <= 1e-9 * abs({want:?}), (s, {want:?})
print("  pyarrow reads libdask's files: same rows, same sum of x")
pq.write_to_dataset(pq.read_table(p, columns=["name", "x"]), theirs, partition_cols=["name"])
"#,
            path = path.display(),
            ours = ours.display(),
            theirs = theirs.display(),
            rows = ROWS,
        );
        run_python(&py, &script);
        let hive = read_parquet(&[&theirs], &ReadOptions::default()).unwrap();
        let r = hive
            .agg(&[agg::sum("x"), agg::n_unique("name"), agg::count("x")])
            .unwrap()
            .collect(client)
            .unwrap();
        let got = r
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .value(0);
        let names = r
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        let count = r
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!((names, count as usize), (50, ROWS));
        assert!((got - want).abs() <= 1e-9 * want.abs());
        println!("  libdask reads pyarrow's hive dataset (partition_cols=[name]): 50 names, same rows and sum of x");
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow> cargo bench --features blas --bench table -- write");
}

/// The filtered dataset written as 10 CSV files (by `write_csv`), read back by `read_csv`
/// (types inferred, 64 MiB blocks) against pyarrow's multithreaded CSV reader on the same
/// files, and against our own Parquet read of the same rows: the log's point, as a ratio.
fn csv(client: &Client) {
    use dask::io::csv::{read_csv, write_csv, CsvOptions, CsvWriteOptions};
    let path = std::env::temp_dir().join("libdask-bench-f.parquet");
    if !path.exists() {
        write_filtered_dataset(&path);
    }
    let dir = std::env::temp_dir().join("libdask-bench-csv");
    let options = ReadOptions {
        split_row_groups: true,
        ..Default::default()
    };
    let parquet = read_parquet(&[&path], &options).unwrap();
    if !dir.join("part.00009.csv").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        write_csv(&parquet, &dir, &CsvWriteOptions::default(), client).unwrap();
    }
    let bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let rows = |parts: Vec<RecordBatch>| parts.iter().map(|b| b.num_rows()).sum::<usize>();
    let t_csv = best_of(5, || {
        let t = read_csv(&[&dir], &CsvOptions::default()).unwrap();
        let n = rows(t.compute(client).unwrap());
        assert_eq!(n, ROWS);
        n
    });
    let mut t_plan = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        read_csv(&[&dir], &CsvOptions::default()).unwrap();
        t_plan = t_plan.min(t0.elapsed().as_secs_f64());
    }
    let t_parquet = best_of(5, || rows(parquet.compute(client).unwrap()));
    let schema = read_csv(&[&dir], &CsvOptions::default())
        .unwrap()
        .schema()
        .clone();
    println!(
        "{ROWS} rows (id, x, name, ts) as 10 CSV files ({:.0} MiB), 2 threads:",
        bytes as f64 / (1 << 20) as f64
    );
    println!(
        "  read_csv (types inferred: {})  {:>7.1} ms = {:.0} MB/s",
        schema
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        t_csv * 1e3,
        bytes as f64 / t_csv / 1e6
    );
    println!(
        "    of which planning (the record-end scan, sample)  {:>7.1} ms",
        t_plan * 1e3
    );
    println!(
        "  read_parquet of the same rows  {:>7.1} ms (CSV takes {:.1}x as long)",
        t_parquet * 1e3,
        t_csv / t_parquet
    );
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let script = format!(
            r#"
import time, glob, pyarrow as pa, pyarrow.csv as pc
files = sorted(glob.glob("{dir}/part.*.csv"))
b = 1e9
for _ in range(5):
    t0 = time.perf_counter()
    t = pa.concat_tables([pc.read_csv(f) for f in files])
    b = min(b, time.perf_counter() - t0)
assert t.num_rows == {rows}, t.num_rows
print(f"  pyarrow.csv.read_csv (threads) {{b*1e3:7.1f}} ms")
"#,
            dir = dir.display(),
            rows = ROWS
        );
        run_python(&py, &script);
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow> cargo bench --features blas --bench table -- csv");
}

/// Planning a read of many files: 400 small files (1,000 rows of the anchor's four
/// columns each), their footers read and parsed when the table is made (none from the
/// cache). pyarrow's `dataset` (which
/// reads the footers when it makes fragments' row counts known) in the same run.
fn footers(client: &Client) {
    let dir = std::env::temp_dir().join("libdask-bench-footers");
    const FILES: usize = 400;
    if !dir.join(format!("part-{:03}.parquet", FILES - 1)).exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float64, false),
            Field::new("b", DataType::Int64, false),
            Field::new("c", DataType::Float64, false),
            Field::new("d", DataType::Int32, false),
        ]));
        for f in 0..FILES {
            let rows = f * 1000..(f + 1) * 1000;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(rows.clone().map(|i| unit(i, 0)).collect::<Float64Array>()),
                Arc::new(rows.clone().map(|i| i as i64).collect::<Int64Array>()),
                Arc::new(rows.clone().map(|i| unit(i, 1)).collect::<Float64Array>()),
                Arc::new(rows.map(|i| (i % 10) as i32).collect::<Int32Array>()),
            ];
            let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
            let file = std::fs::File::create(dir.join(format!("part-{f:03}.parquet"))).unwrap();
            let mut w = ArrowWriter::try_new(file, schema.clone(), None).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
        }
    }
    // The footers are read on this client's pool (the newest client's, for a thread of
    // its own such as this one).
    let _ = client;
    // Parsed footers are cached by path: each run reads the files under new names (hard
    // links in a directory of its own), so every footer is read and parsed.
    let best = (0..10)
        .map(|run| {
            let names = dir.join(format!("run-{run}-{}", std::process::id()));
            std::fs::create_dir_all(&names).unwrap();
            for f in 0..FILES {
                let name = format!("part-{f:03}.parquet");
                std::fs::hard_link(dir.join(&name), names.join(&name)).unwrap();
            }
            let t0 = Instant::now();
            let t = read_parquet(&[&names], &ReadOptions::default()).unwrap();
            let took = t0.elapsed().as_secs_f64();
            assert_eq!(t.num_rows(), Some((FILES * 1000) as u64));
            std::fs::remove_dir_all(&names).unwrap();
            took
        })
        .fold(f64::MAX, f64::min);
    println!(
        "read_parquet of {FILES} files (footers read, none cached), 2 threads: {:.1} ms",
        best * 1e3
    );
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let script = format!(
            r#"
import time, pyarrow.dataset as ds
def plan():
    d = ds.dataset("{dir}", format="parquet")
    assert sum(fr.count_rows() for fr in d.get_fragments()) == {rows}
print(f"  pyarrow dataset + row counts: {{best(plan)[0]*1e3:.1f}} ms")
"#,
            dir = dir.display(),
            rows = FILES * 1000
        );
        run_python(&py, &script);
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow> cargo bench --features blas --bench table -- footers");
}

/// Snappy decompression alone, ours (the `snap` crate, which the parquet crate's page
/// reader calls) against pyarrow's codec on the same bytes: the issue's table's columns,
/// 1M values each (a row group's), as the page reader sees them. Reads of Snappy files are
/// bound by this step on both sides.
fn snappy() {
    let n = 1_000_000i64;
    let le = |v: Vec<i64>| -> Vec<u8> { v.into_iter().flat_map(i64::to_le_bytes).collect() };
    let columns = [
        ("id (int64, ascending)", le((0..n).collect())),
        (
            "ts (timestamp[us], 1 s apart)",
            le((0..n)
                .map(|i| 1_704_067_200_000_000 + i * 1_000_000)
                .collect()),
        ),
        (
            "x (float64, uniform)",
            (0..n as u64)
                .flat_map(|i| ((splitmix(i) >> 11) as f64 / (1u64 << 53) as f64).to_le_bytes())
                .collect(),
        ),
    ];
    let dir = std::env::temp_dir().join("libdask-bench-snappy");
    std::fs::create_dir_all(&dir).unwrap();
    println!("snappy decompression of 1M values (8 MB), one thread, best of 20:");
    let mut files = Vec::new();
    for (k, (name, raw)) in columns.iter().enumerate() {
        let packed = snap::raw::Encoder::new().compress_vec(raw).unwrap();
        let mut out = vec![0u8; raw.len()];
        let mut d = snap::raw::Decoder::new();
        let best = (0..20)
            .map(|_| {
                let t = Instant::now();
                d.decompress(&packed, &mut out).unwrap();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min);
        assert!(out == *raw);
        println!(
            "  snap     {name:32} {:>6.2} ms = {:.2} GB/s ({} bytes packed)",
            best * 1e3,
            raw.len() as f64 / best / 1e9,
            packed.len()
        );
        let f = dir.join(format!("{k}.snappy"));
        std::fs::write(&f, &packed).unwrap();
        files.push((name, f, raw.len()));
    }
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let calls: String = files
            .iter()
            .map(|(name, f, size)| {
                format!(
                    "c = open({f:?}, 'rb').read()\n\
                     b = best(lambda: codec.decompress(c, decompressed_size={size}), 20)[0]\n\
                     print(f'  pyarrow  {name:32} {{b*1e3:6.2f}} ms = {{{size}/b/1e9:.2f}} GB/s')\n"
                )
            })
            .collect();
        run_python(
            &py,
            &format!("import pyarrow as pa\ncodec = pa.Codec('snappy')\n{calls}"),
        );
    }
    println!("reproduce: BENCH_PYTHON=<python with pyarrow> cargo bench --features blas --bench table -- snappy");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "snappy") {
        snappy();
        return;
    }
    if args.iter().any(|a| a == "footers") {
        let client = Client::new(Config::with_threads(2)).unwrap();
        footers(&client);
        return;
    }
    if args.iter().any(|a| a == "csv") {
        let client = Client::new(Config::with_threads(2)).unwrap();
        csv(&client);
        return;
    }
    if args.iter().any(|a| a == "write") {
        let client = Client::new(Config::with_threads(2)).unwrap();
        write(&client);
        return;
    }
    if args.iter().any(|a| a == "groupby") {
        let client = Client::new(Config::with_threads(2)).unwrap();
        groupby(&client);
        return;
    }
    if args.iter().any(|a| a == "filtered") {
        let client = Client::new(Config::with_threads(2)).unwrap();
        filtered(&client);
        return;
    }
    let path = match args.iter().position(|a| a == "--data") {
        Some(i) => PathBuf::from(&args[i + 1]),
        None => {
            let p = std::env::temp_dir().join("libdask-bench-t.parquet");
            if !p.exists() {
                write_dataset(&p);
            }
            p
        }
    };
    let size = std::fs::metadata(&path).unwrap().len() as f64 / (1 << 20) as f64;
    let client = Client::new(Config::with_threads(2)).unwrap();
    // `SPLIT=0`: a partition per file (the default of `read_parquet`), not per row group.
    let split = std::env::var("SPLIT").map_or(true, |v| v != "0");
    let read = |columns: Option<Vec<String>>, engine: Engine| {
        let t = read_parquet(
            &[&path],
            &ReadOptions {
                columns,
                split_row_groups: split,
                engine,
                ..Default::default()
            },
        )
        .unwrap();
        t.compute(&client)
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>()
    };
    println!(
        "read_parquet {} ({size:.0} MiB), 2 threads, a partition per {}:",
        path.display(),
        if split { "row group" } else { "file" }
    );
    for engine in [Engine::Arrow, Engine::Column, Engine::Auto] {
        let t = best_of(10, || read(None, engine));
        println!(
            "  engine {:<7} all 4 columns {:>7.1} ms = {:.1} Mrows/s",
            engine.name(),
            t * 1e3,
            ROWS as f64 / t / 1e6
        );
        let t = best_of(10, || read(Some(vec!["a".into()]), engine));
        println!(
            "  engine {:<7} column a      {:>7.1} ms",
            engine.name(),
            t * 1e3
        );
    }
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let script = format!(
            r#"
import time, pyarrow.parquet as pq
p = "{path}"
print(f"  pyarrow        all 4 columns {{best(lambda: pq.read_table(p))[0]*1e3:7.1f}} ms")
print(f"  pyarrow        column a      {{best(lambda: pq.read_table(p, columns=['a']))[0]*1e3:7.1f}} ms")
"#,
            path = path.display()
        );
        run_python(&py, &script);
    }
    println!(
        "reproduce: cargo bench --features blas --bench table -- --data {}",
        path.display()
    );
}
