//! Tables from files: Parquet (through the `parquet` crate, Apache Arrow's Rust
//! implementation) and CSV (through arrow-csv); no hand-written decoding. Each file, or each of its row groups, becomes
//! one partition of a lazy [`Table`](crate::table::Table): a task that reads it when computed.

pub mod csv;
mod files;
pub mod parquet;

/// The columns each partition of `table` read from its file (`None`: all of them), in
/// the order of the partitions' reads; empty for a table not read from files. Selections
/// and aggregations that use some columns are read as reads of only those.
pub fn columns_read(table: &crate::table::Table) -> Vec<Option<Vec<String>>> {
    table
        .sources()
        .into_iter()
        .filter_map(|p| {
            let any = p.as_any();
            match (
                any.downcast_ref::<parquet::ReadPart>(),
                any.downcast_ref::<csv::ReadCsvPart>(),
            ) {
                (Some(r), _) => Some(r.columns.clone()),
                (_, Some(r)) => Some(r.columns.clone()),
                _ => None,
            }
        })
        .collect()
}

/// Registers the operations and parameter types of this module.
pub(crate) fn register_ops() {
    parquet::register_ops();
    csv::register_ops();
}
