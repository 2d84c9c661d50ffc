//! The protocol decoder on arbitrary bytes: errors are fine, panics and crashes are not.
//! Run: `cargo +nightly fuzz run decode` (from the repository root; needs cargo-fuzz).
//! The stable-Rust stand-in that CI runs is `tests/protocol.rs` (`arbitrary_bytes_never_panic`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dask::protocol::decode(data, "fuzz");
    let _ = dask::protocol::read_value(&mut &data[..], data.len(), "fuzz");
});
