//! Tables from files: Parquet (through the `parquet` crate, Apache Arrow's Rust
//! implementation; no hand-written decoding). Each file, or each of its row groups, becomes
//! one partition of a lazy [`Table`](crate::table::Table): a task that reads it when computed.

pub mod parquet;

/// Registers the operations and parameter types of this module.
pub(crate) fn register_ops() {
    parquet::register_ops();
}
