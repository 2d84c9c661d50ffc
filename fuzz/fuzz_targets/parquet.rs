//! The Parquet read path on arbitrary bytes — the footer, then every row group's pages
//! through both engines (`read_parquet_file` reads the numeric columns with the typed
//! readers and the others with the Arrow reader): errors are fine; panics, crashes and
//! allocations the file cannot justify (libFuzzer's `-malloc_limit_mb`) are not.
//! Run: `cd fuzz && cargo +nightly fuzz run parquet -- -malloc_limit_mb=512`; seed the
//! corpus with real files (`tests/data/tables/people/*.parquet`).
//! The stable-Rust stand-ins that CI runs: tests/table_parquet.rs (every damaged footer
//! byte and truncation) and tests/table_engine.rs (damaged data pages, every engine).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    // The reader takes paths: one scratch file per fuzzing process.
    let path = std::env::temp_dir().join(format!("dask-fuzz-{}.parquet", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("scratch file");
    f.write_all(data).expect("scratch file written");
    drop(f);
    let _ = dask::io::parquet::read_parquet_file(&path, None);
});
