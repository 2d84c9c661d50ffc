//! Out of core (issue 19): a 4 GiB Parquet dataset — 44 files of 4M rows (key int32 in
//! 0..1000, x and y float64, n int64; snappy; 1M-row groups), 4.2 GiB on disk and 4.6 GiB
//! decoded — grouped by `key` (sum x, mean y, max n, count) and reduced whole (sum, min, max
//! of x: only x is read) by a client limited to 1 GiB on 2 threads. Prints the wall time, this process's
//! peak resident memory during the aggregation (VmHWM, reset before it) and what spilled;
//! with `BENCH_PYTHON=<python with polars, dask, pyarrow>`, the same group-by by polars'
//! streaming engine, dask.dataframe (threads, 2 workers) and pyarrow's Acero, each in its
//! own process with its own peak.
//!
//! Reproduce: `BENCH_PYTHON=/tmp/dvenv/bin/python cargo bench --features blas --bench
//! table_out_of_core` (the dataset is written once to `$TMPDIR/libdask-bench-ooc/`, ~1 min).

use arrow_array::{Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use dask::io::parquet::{read_parquet, ReadOptions};
use dask::memory::MemoryConfig;
use dask::table::agg;
use dask::{Client, Config};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use support::{peak_rss, reset_peak_rss, run_python, splitmix};

mod support;

const FILES: usize = 44;
const FILE_ROWS: usize = 4_000_000;
const GROUP: usize = 1_000_000;
const KEYS: u64 = 1000;
const LIMIT: usize = 1 << 30;

fn unit(i: u64) -> f64 {
    (splitmix(i) >> 11) as f64 / (1u64 << 53) as f64
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int32, false),
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
        Field::new("n", DataType::Int64, false),
    ]))
}

fn write_file(path: &Path, file: usize) {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP))
        .build();
    let tmp = path.with_extension("partial");
    let out = std::fs::File::create(&tmp).unwrap();
    let mut w = ArrowWriter::try_new(out, schema(), Some(props)).unwrap();
    for g in 0..FILE_ROWS / GROUP {
        let rows =
            (file * FILE_ROWS + g * GROUP) as u64..(file * FILE_ROWS + (g + 1) * GROUP) as u64;
        let key: Int32Array = rows
            .clone()
            .map(|i| (splitmix(i ^ 0x55) % KEYS) as i32)
            .collect();
        let x: Float64Array = rows.clone().map(|i| unit(i << 2)).collect();
        let y: Float64Array = rows.clone().map(|i| unit(i << 2 | 1) * 100.0).collect();
        let n: Int64Array = rows.map(|i| (splitmix(i << 2 | 2) >> 1) as i64).collect();
        let batch = RecordBatch::try_new(
            schema(),
            vec![Arc::new(key), Arc::new(x), Arc::new(y), Arc::new(n)],
        )
        .unwrap();
        w.write(&batch).unwrap();
    }
    w.close().unwrap();
    std::fs::rename(tmp, path).unwrap();
}

/// The dataset's files, written on two threads the first time.
fn dataset() -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join("libdask-bench-ooc");
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = (0..FILES)
        .map(|f| dir.join(format!("part-{f:03}.parquet")))
        .collect();
    let missing: Vec<usize> = (0..FILES).filter(|&f| !files[f].exists()).collect();
    if !missing.is_empty() {
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for half in missing.chunks(missing.len().div_ceil(2)) {
                let files = &files;
                s.spawn(move || half.iter().for_each(|&f| write_file(&files[f], f)));
            }
        });
        println!(
            "wrote {} files in {:.1} s",
            missing.len(),
            t0.elapsed().as_secs_f64()
        );
    }
    (dir, files)
}

fn gib(bytes: f64) -> f64 {
    bytes / (1u64 << 30) as f64
}

fn main() {
    let (dir, files) = dataset();
    let disk: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let rows = FILES * FILE_ROWS;
    let client = Client::new(Config {
        memory: MemoryConfig {
            limit: Some(LIMIT),
            ..Default::default()
        },
        ..Config::with_threads(2)
    })
    .unwrap();
    let table = read_parquet(&files, &ReadOptions::default()).unwrap();
    println!(
        "{FILES} files, {rows} rows, {:.2} GiB on disk, {:.2} GiB decoded; limit {:.0} GiB, 2 threads:",
        gib(disk as f64),
        gib((rows * (4 + 8 + 8 + 8)) as f64),
        gib(LIMIT as f64)
    );
    let by_key = table
        .group_by(&["key"])
        .agg(&[
            agg::sum("x"),
            agg::mean("y"),
            agg::max("n"),
            agg::count("x"),
        ])
        .unwrap();
    let whole = table
        .agg(&[agg::sum("x"), agg::min("x"), agg::max("x")])
        .unwrap();
    // What each decodes per row: all four columns; x alone (a reduction of one column
    // reads only that column).
    let cases = [
        ("group_by(key)", &by_key, KEYS as usize, 4 + 8 + 8 + 8),
        ("sum/min/max x", &whole, 1, 8),
    ];
    for (what, t, groups, row_bytes) in cases {
        let mut best = f64::MAX;
        let mut peak = 0;
        for _ in 0..3 {
            reset_peak_rss();
            let t0 = Instant::now();
            let out = t.collect(&client).unwrap();
            best = best.min(t0.elapsed().as_secs_f64());
            peak = peak.max(peak_rss());
            assert_eq!(out.num_rows(), groups);
            if groups > 1 {
                let counts = out
                    .column_by_name("x_count")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap();
                assert_eq!(counts.iter().map(|c| c.unwrap()).sum::<i64>(), rows as i64);
            }
        }
        let stats = client.memory_stats();
        println!(
            "  {what:<14} {best:>6.2} s = {:.2} GiB/s decoded, peak RSS {:.0} MiB, spilled so far {} values ({:.0} MiB)",
            gib((rows * row_bytes) as f64) / best,
            peak as f64 / (1 << 20) as f64,
            stats.spill_count,
            stats.spill_bytes as f64 / (1 << 20) as f64,
        );
    }
    if let Ok(py) = std::env::var("BENCH_PYTHON") {
        let dir = dir.display();
        let peers = [
            (
                "polars streaming",
                format!(
                    r#"import polars as pl
q = pl.scan_parquet("{dir}/*.parquet").group_by("key").agg(pl.col("x").sum(), pl.col("y").mean(), pl.col("n").max(), pl.len())
run = lambda: q.collect(engine="streaming")
w = pl.scan_parquet("{dir}/*.parquet").select(pl.col("x").sum().alias("s"), pl.col("x").min().alias("lo"), pl.col("x").max().alias("hi"))
whole = lambda: w.collect(engine="streaming")
"#
                ),
            ),
            (
                "dask.dataframe",
                format!(
                    r#"import dask, dask.dataframe as dd
dask.config.set(scheduler="threads", num_workers=2)
q = dd.read_parquet("{dir}").groupby("key").agg({{"x": "sum", "y": "mean", "n": "max"}})
run = lambda: q.compute()
x = dd.read_parquet("{dir}", columns=["x"]).x
whole = lambda: dask.compute(x.sum(), x.min(), x.max())
"#
                ),
            ),
            (
                "pyarrow acero",
                format!(
                    r#"import pyarrow.dataset as ds, pyarrow.acero as ac
def run():
    scan = ac.Declaration("scan", ac.ScanNodeOptions(ds.dataset("{dir}")))
    agg = ac.Declaration("aggregate", ac.AggregateNodeOptions([("x", "hash_sum", None, "x"), ("y", "hash_mean", None, "y"), ("n", "hash_max", None, "n")], keys=["key"]))
    return ac.Declaration.from_sequence([scan, agg]).to_table(use_threads=True)
def whole():
    scan = ac.Declaration("scan", ac.ScanNodeOptions(ds.dataset("{dir}"), columns=["x"]))
    agg = ac.Declaration("aggregate", ac.AggregateNodeOptions([("x", "sum", None, "s"), ("x", "min", None, "lo"), ("x", "max", None, "hi")]))
    return ac.Declaration.from_sequence([scan, agg]).to_table(use_threads=True)
"#
                ),
            ),
        ];
        for (name, setup) in peers {
            let script = format!(
                r#"
import resource
try:
{setup}
    t, r = best(run, 3)
    assert len(r) == {KEYS}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {name:<17} group_by(key) {{t:6.2f}} s, peak RSS {{peak:.0f}} MiB (its own process)")
    t, r = best(whole, 3)
    print(f"  {name:<17} sum/min/max x {{t:6.2f}} s")
except ImportError as e:
    print(f"  {name}: not installed in BENCH_PYTHON ({{e}})")
"#,
                setup = setup
                    .lines()
                    .map(|l| format!("    {l}\n"))
                    .collect::<String>()
            );
            run_python(&py, &script);
        }
    }
    println!("reproduce: BENCH_PYTHON=<python with polars, dask, pyarrow> cargo bench --features blas --bench table_out_of_core");
}
