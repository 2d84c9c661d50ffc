//! The cluster message decoder on arbitrary bytes (a hostile or broken peer): errors are fine,
//! panics, crashes and allocations the limits forbid are not. Every frame of a message that
//! decodes is then decoded as a task and as a value, as a worker would.
//! Run: `cargo +nightly fuzz run message` (from the repository root; needs cargo-fuzz).
//! The stable-Rust stand-in that CI runs is the `msg` unit tests
//! (`every_truncation_and_mutation_is_an_error_or_a_message`).

#![no_main]

use dask::distributed::msg::{decode_message, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_message: 1 << 24,
        ..Limits::default()
    };
    if let Ok((m, _)) = decode_message(data, &limits) {
        for f in &m.frames {
            let _ = dask::protocol::decode_task(f, "fuzz");
            let _ = dask::protocol::decode(f, "fuzz");
        }
    }
});
