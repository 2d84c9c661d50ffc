//! The Parquet read path on arbitrary bytes — the footer, then every row group's pages
//! through both engines (`column`: the numeric columns through the typed readers, the
//! others through the Arrow reader; `arrow`: all through the Arrow reader). Errors are
//! fine; escaping panics, crashes and memory the file cannot justify are not.
//!
//! Run: `cd fuzz && mkdir -p corpus/parquet && cargo +nightly fuzz run parquet corpus/parquet
//! seeds/parquet ../tests/data/tables/people -- -malloc_limit_mb=2049 -rss_limit_mb=2048`
//! (new inputs go to the first directory; the others seed it). The malloc limit is above
//! 2 GiB because the crate reserves a page's claimed uncompressed size (an i32) before
//! decompressing into it — address space, not memory, until written; memory actually used
//! is what the RSS limit watches.
//!
//! What it found (both now refused before the crate's readers, `io::parquet::pages`): a
//! dictionary page claiming half a billion values in 12 bytes, which the crate allocated
//! and zeroed, and a dictionary-encoded page with no dictionary, on which it asserts. The
//! library turns the crate's remaining assertions into errors (`io::parquet::contained`):
//! that is the contract checked here — the panic hook is quiet, so a contained panic
//! passes, and one that escapes still aborts (libfuzzer-sys's `catch_unwind` around every
//! input).
//! The stable-Rust stand-ins that CI runs: tests/table_parquet.rs (every damaged footer
//! byte and truncation), tests/table_engine.rs (damaged data pages under every engine, and
//! the files this target found) and the unit tests of `io::parquet::pages`.

#![no_main]

use dask::io::parquet::{read_parquet, read_parquet_file_with, Engine, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

/// The most rows a fuzzed file's footer may claim (8 MiB per int64 column).
const MAX_ROWS: u64 = 1 << 20;

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    // The reader takes paths: one scratch file per fuzzing process.
    let path = std::env::temp_dir().join(format!("dask-fuzz-{}.parquet", std::process::id()));
    let mut f = std::fs::File::create(&path).expect("scratch file");
    f.write_all(data).expect("scratch file written");
    drop(f);
    // A footer may claim any number of rows (a constant column of a billion rows is a few
    // bytes of RLE), and a partition's buffers are sized from that claim, fallibly: such
    // inputs are left out so that `-malloc_limit_mb` flags allocations the data itself
    // drives (dictionaries, pages), not the ones the footer's row counts justify.
    match read_parquet(&[&path], &ReadOptions::default()).map(|t| t.num_rows()) {
        Ok(Some(rows)) if rows <= MAX_ROWS => {}
        _ => return,
    }
    for engine in [Engine::Arrow, Engine::Column] {
        let _ = read_parquet_file_with(&path, None, engine);
    }
});
