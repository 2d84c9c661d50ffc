//! `read_parquet`: files, directories or lists of them into a lazy table. The footers are
//! read when the table is made (schema, row groups, row counts), the data when it is
//! computed, one task per partition.

mod engine;
mod footer_cache;
mod hive;
mod pages;
mod prune;
mod read;
mod typed;
mod unify;
mod write;

pub use engine::Engine;
use read::PartitionValue;
pub(crate) use read::ReadPart;
pub use write::{write_parquet, WriteOptions};

pub(crate) fn register_ops() {
    read::register_ops();
    write::register_ops();
}

use crate::error::{Error, Result};
use crate::table::eval::evaluate_filter;
use crate::table::expr::Expr;
use crate::table::{check_type, prefix_error, Table, TablePart};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How `read_parquet` reads.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only these columns, in this order (all when `None`).
    pub columns: Option<Vec<String>>,
    /// One partition per row group instead of one per file.
    pub split_row_groups: bool,
    /// Only the rows where this is true. Row groups whose statistics show no row can
    /// match are not read at all; files left without row groups make no partition, and
    /// files whose hive keys rule a match out are not even opened.
    pub filters: Option<Expr>,
    /// Types for hive partition columns (int64, int32, date32, utf8 or dictionary<int32,
    /// utf8>) instead of the inferred ones, by column name.
    pub partition_types: Vec<(String, arrow_schema::DataType)>,
    /// Which of the `parquet` crate's readers decodes each column (see [`Engine`]); every
    /// engine gives the same table.
    pub engine: Engine,
}

/// One file's footer: what the table needs before reading any data.
pub(crate) struct Footer {
    pub path: PathBuf,
    pub schema: SchemaRef,
    /// Rows of each row group.
    pub row_groups: Vec<u64>,
    pub meta: ArrowReaderMetadata,
}

/// Runs `f` on `path`'s contents, with the reader's panics turned into errors: the parquet
/// crate asserts on some malformed files instead of returning an error, and a damaged file
/// must not take the caller's thread down.
pub(crate) fn contained<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a malformed file".into());
        Err(Error::Corrupt(format!(
            "{}: the Parquet reader failed: {why}",
            path.display()
        )))
    })
}

/// Reads `path`'s footer (its schema as Arrow types, its row groups).
pub(crate) fn footer(path: &Path) -> Result<Footer> {
    contained(path, || read_footer(path))
}

fn read_footer(path: &Path) -> Result<Footer> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::Io(format!("cannot open {}: {e}", path.display())))?;
    let meta = footer_cache::load(path, &file)?;
    let row_groups = meta
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    Ok(Footer {
        path: path.to_path_buf(),
        schema: meta.schema().clone(),
        row_groups,
        meta,
    })
}

/// The footers of `files`, read side by side on the client's pool (a dataset of many files
/// on a network filesystem waits on each footer's reads); the first error in file order.
fn footers_of(files: &[&Path]) -> Result<Vec<Footer>> {
    let slots: Vec<parking_lot::Mutex<Option<Result<Footer>>>> = files
        .iter()
        .map(|_| parking_lot::Mutex::new(None))
        .collect();
    crate::parallel::for_each(files.len(), |i| *slots[i].lock() = Some(footer(files[i])));
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, f)| {
            slot.into_inner().unwrap_or_else(|| {
                // Not handed out: the read was cancelled (only inside a task).
                Err(Error::invalid(format!(
                    "{}: not read (cancelled)",
                    f.display()
                )))
            })
        })
        .collect()
}

/// A lazy table over Parquet files, directories or glob patterns (see [`ReadOptions`]). Reads every footer
/// now; nothing else until the table is computed.
pub fn read_parquet(paths: &[impl AsRef<Path>], options: &ReadOptions) -> Result<Table> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    let listed = crate::io::files::list(&paths, "Parquet", &[".parquet", ".parq"])?;
    let keys = partition_keys(&listed, &options.partition_types)?;
    // The table's key columns (every file has the same keys).
    let key_fields: Vec<Field> = keys
        .first()
        .map(|part| {
            part.iter()
                .map(|k| Field::new(&k.name, k.dtype.clone(), true))
                .collect()
        })
        .unwrap_or_default();
    // Files whose keys rule a match out are dropped before any footer is read (the first
    // footer is read anyway when all are: it gives the schema).
    let mut files = Vec::new();
    for ((file, _), part) in listed.iter().zip(keys) {
        let keep = match &options.filters {
            Some(f) => prune::file_can_match(f, &part)
                .map_err(|e| prefix_error(e, &format!("{}: filter {f}", file.display())))?,
            None => true,
        };
        if keep {
            files.push((file.clone(), part));
        }
    }
    let footers = if files.is_empty() {
        vec![footer(&listed[0].0)?]
    } else {
        footers_of(&files.iter().map(|(f, _)| f.as_path()).collect::<Vec<_>>())?
    };
    let first = &footers[0];
    for f in &footers {
        for field in f.schema.fields() {
            check_type(field.data_type()).map_err(|e| {
                Error::NotImplemented(format!(
                    "{}: column '{}': {e}",
                    f.path.display(),
                    field.name()
                ))
            })?;
        }
    }
    let files_schema = unify::unify(&footers)?;
    // The table's columns: the files', then the hive keys'.
    for k in &key_fields {
        if files_schema.field_with_name(k.name()).is_ok() {
            return Err(Error::invalid(format!(
                "{}: the partition key '{}' is also a column of the file",
                first.path.display(),
                k.name()
            )));
        }
    }
    let full: SchemaRef = Arc::new(Schema::new(
        files_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .chain(key_fields)
            .collect::<Vec<_>>(),
    ));
    let schema = match &options.columns {
        None => full.clone(),
        Some(cols) => project(&full, cols, &first.path)?,
    };
    if let Some(filter) = &options.filters {
        // Unknown columns and literals of the wrong type are refused now, not when a
        // partition is computed.
        evaluate_filter(filter, &arrow_array::RecordBatch::new_empty(full.clone()))
            .map_err(|e| prefix_error(e, &format!("{}: filter {filter}", first.path.display())))?;
    }
    let mut parts = Vec::new();
    for ((_, partition), f) in files.iter().zip(&footers) {
        let path = f.path.to_string_lossy().into_owned();
        // A file whose columns differ from the table's (in type, presence or order) reads
        // the table's columns by name and adapts them (see `unify`).
        let adapt = unify::adaptations(&f.schema, &files_schema);
        let columns = match &options.columns {
            Some(c) => Some(c.clone()),
            None if f.schema.fields() == files_schema.fields() => None,
            None => Some(full.fields().iter().map(|f| f.name().clone()).collect()),
        };
        let groups = match &options.filters {
            None => (0..f.row_groups.len()).collect(),
            Some(filter) => prune::row_groups_to_read(
                filter,
                &f.schema,
                f.meta.metadata(),
                &f.path,
                partition,
                &adapt,
            )?,
        };
        if groups.is_empty() {
            continue;
        }
        // Rows are known from the footer only where nothing is filtered out.
        let rows = |gs: &[usize]| {
            options
                .filters
                .is_none()
                .then(|| gs.iter().map(|&g| f.row_groups[g]).sum())
        };
        let part = |gs: Vec<usize>| {
            TablePart::source(
                read::read_op(),
                ReadPart {
                    path: path.clone(),
                    row_groups: gs.clone(),
                    columns: columns.clone(),
                    filter: options.filters.clone(),
                    partition: partition.clone(),
                    adapt: adapt.clone(),
                    limit: None,
                    engine: options.engine,
                },
                rows(&gs),
            )
        };
        if options.split_row_groups {
            parts.extend(groups.into_iter().map(|g| part(vec![g])));
        } else {
            parts.push(part(groups));
        }
    }
    Ok(Table::new(schema, parts))
}

/// Each file's hive keys with their values, typed: the same keys in the same order under
/// every directory given, types inferred from all the values or taken from `types`.
fn partition_keys(
    files: &[(PathBuf, Option<PathBuf>)],
    types: &[(String, DataType)],
) -> Result<Vec<Vec<PartitionValue>>> {
    let raw: Vec<Vec<(String, Option<String>)>> = files
        .iter()
        .map(|(f, root)| root.as_ref().map(|r| hive::keys(r, f)).unwrap_or_default())
        .collect();
    let Some(first) = raw.first() else {
        return Ok(vec![]);
    };
    let names: Vec<&String> = first.iter().map(|(k, _)| k).collect();
    for ((file, _), keys) in files.iter().zip(&raw) {
        let these: Vec<&String> = keys.iter().map(|(k, _)| k).collect();
        if these != names {
            return Err(Error::invalid(format!(
                "{}: its partition keys ({}) differ from {}'s ({})",
                file.display(),
                these
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                files[0].0.display(),
                names
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    for (name, t) in types {
        if !names.contains(&name) {
            return Err(Error::NotFound(format!(
                "partition_types: no partition key '{name}' (the keys: {})",
                names
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !hive::allowed(t) {
            return Err(Error::invalid(format!(
                "partition_types: '{name}' cannot be a {t} (int64, int32, date32, utf8 or \
                 dictionary<int32, utf8>)"
            )));
        }
    }
    let dtypes: Vec<DataType> = (0..names.len())
        .map(|i| {
            types
                .iter()
                .find(|(n, _)| n == names[i])
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| {
                    let values: Vec<Option<&str>> =
                        raw.iter().map(|keys| keys[i].1.as_deref()).collect();
                    hive::infer(&values)
                })
        })
        .collect();
    files
        .iter()
        .zip(&raw)
        .map(|((file, _), keys)| {
            keys.iter()
                .zip(&dtypes)
                .map(|((name, v), t)| {
                    Ok(PartitionValue {
                        name: name.clone(),
                        dtype: t.clone(),
                        value: hive::value(v.as_deref(), t, name, file)?,
                    })
                })
                .collect()
        })
        .collect()
}

/// One Parquet file read now, on the calling thread, into one batch: all its row groups,
/// `columns` as in [`ReadOptions`]. (A table reads the same way, one task per partition.)
pub fn read_parquet_file(
    path: impl AsRef<Path>,
    columns: Option<Vec<String>>,
) -> Result<arrow_array::RecordBatch> {
    read_parquet_file_with(path, columns, Engine::Auto)
}

/// [`read_parquet_file`] with the decoding `engine` of [`ReadOptions::engine`].
pub fn read_parquet_file_with(
    path: impl AsRef<Path>,
    columns: Option<Vec<String>>,
    engine: Engine,
) -> Result<arrow_array::RecordBatch> {
    let f = footer(path.as_ref())?;
    read::read_part(&ReadPart {
        path: path.as_ref().to_string_lossy().into_owned(),
        row_groups: (0..f.row_groups.len()).collect(),
        columns,
        filter: None,
        partition: vec![],
        adapt: vec![],
        limit: None,
        engine,
    })
}

/// The columns of the Parquet file at `path` that `engine` decodes with the `parquet`
/// crate's typed column readers (the others go through its Arrow reader), in file order.
pub fn typed_columns(path: impl AsRef<Path>, engine: Engine) -> Result<Vec<String>> {
    let f = footer(path.as_ref())?;
    let roots: Vec<usize> = (0..f.schema.fields().len()).collect();
    Ok(read::typed_roots(&f.meta, &roots, engine)
        .into_iter()
        .map(|(root, _)| f.schema.field(root).name().clone())
        .collect())
}

/// Rows that reads in this process skipped by their files' page indexes (pages whose
/// statistics rule a filter out, inside row groups that were read), in all.
pub fn rows_skipped_by_page_index() -> u64 {
    read::page_rows_skipped()
}

/// The row groups `table`'s partitions read from their files (after pruning), in all.
/// Zero for a table not read from Parquet.
pub fn row_groups_read(table: &Table) -> usize {
    table
        .sources()
        .into_iter()
        .filter_map(|p| p.as_any().downcast_ref::<ReadPart>())
        .map(|p| p.row_groups.len())
        .sum()
}

/// The schema of `columns` of `schema` (in that order); an unknown name is an error naming
/// the file and the columns it has.
pub(crate) fn project(schema: &SchemaRef, columns: &[String], path: &Path) -> Result<SchemaRef> {
    let fields = columns
        .iter()
        .map(|c| {
            schema.field_with_name(c).cloned().map_err(|_| {
                Error::NotFound(format!(
                    "{}: no column '{c}' (its columns: {})",
                    path.display(),
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(std::sync::Arc::new(arrow_schema::Schema::new(fields)))
}
