//! The protocol decoder on arbitrary bytes: errors are fine, panics and crashes are not.
//! Run: `cd fuzz && mkdir -p corpus/decode && cargo +nightly fuzz run decode corpus/decode
//! seeds/decode` (needs cargo-fuzz). The seeds are messages of every value kind (dense,
//! lz4, sparse, streamed with trailing checksums, a string, parameters, a table of every
//! column type), written by `DASK_FUZZ_SEEDS=fuzz/seeds/decode cargo test --release --test
//! protocol every_flipped`. A fuzzing build (`cfg(fuzzing)`) skips the checksum checks —
//! a fuzzer cannot make checksums, and the value decoders behind them are the point.
//! The stable-Rust stand-ins that CI runs are in `tests/protocol.rs`
//! (`arbitrary_bytes_never_panic`, `every_flipped_byte_and_every_truncation_is_a_clear_error`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dask::protocol::decode(data, "fuzz");
    let _ = dask::protocol::read_value(&mut &data[..], data.len(), "fuzz");
});
