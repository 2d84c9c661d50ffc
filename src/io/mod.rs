//! Tables from files: Parquet (through the `parquet` crate, Apache Arrow's Rust
//! implementation) and CSV (through arrow-csv); no hand-written decoding. Each file, or each of its row groups, becomes
//! one partition of a lazy [`Table`](crate::table::Table): a task that reads it when computed.

pub mod csv;
mod files;
pub mod parquet;

/// Registers the operations and parameter types of this module.
pub(crate) fn register_ops() {
    parquet::register_ops();
    csv::register_ops();
}
