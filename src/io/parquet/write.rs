//! `write_parquet`: a table into a directory of Parquet files, one task per partition, each
//! writing its own file (`part.00000.parquet`, numbered in partition order so that the
//! files sort as the partitions do), with column statistics, so `read_parquet` of the
//! directory gives the table back and its filters can skip row groups. With `partition_on`,
//! each partition's rows are split by the values of those columns into hive directories
//! (`year=2024/city=Paris/part.00000.parquet`), the columns themselves left out of the files
//! as Hive, pyarrow and Dask do.
//!
//! A file is written under a hidden temporary name and renamed when complete, so a failed
//! or repeated task leaves no partial file that a reader would take for data.

use super::hive;
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, Client, OpDef};
use crate::table::Table;
use crate::value::{register_params, Params, ParamsWriter, Value};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// How `write_parquet` writes.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Columns whose values name hive directories (integers, dates, strings); left out of
    /// the files.
    pub partition_on: Vec<String>,
    /// "snappy" (the default, as Dask's), "zstd", "lz4", "gzip" or "none".
    pub compression: String,
    /// Rows per row group (the writer's default, 1,048,576, when `None`).
    pub row_group_size: Option<usize>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            partition_on: vec![],
            compression: "snappy".into(),
            row_group_size: None,
        }
    }
}

fn codec(name: &str) -> Result<Compression> {
    Ok(match name {
        "snappy" => Compression::SNAPPY,
        "zstd" => Compression::ZSTD(ZstdLevel::default()),
        "lz4" => Compression::LZ4_RAW,
        "gzip" => Compression::GZIP(GzipLevel::default()),
        "none" | "uncompressed" => Compression::UNCOMPRESSED,
        other => {
            return Err(Error::invalid(format!(
                "compression {other:?} (snappy, zstd, lz4, gzip or none)"
            )))
        }
    })
}

/// What one `table.write_parquet` task writes: partition `part` of `parts` into `dir`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WritePart {
    pub dir: String,
    pub part: u64,
    pub parts: u64,
    pub partition_on: Vec<String>,
    pub compression: String,
    pub row_group_size: u64,
}

impl Params for WritePart {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.write_parquet"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.dir);
        w.u64(self.part);
        w.u64(self.parts);
        w.usize(self.partition_on.len());
        self.partition_on.iter().for_each(|c| w.str(c));
        w.str(&self.compression);
        w.u64(self.row_group_size);
    }
}

static WRITE: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.write_parquet", |r| {
        let dir = r.str()?.to_string();
        let part = r.u64()?;
        let parts = r.u64()?;
        let partition_on = (0..r.count()?)
            .map(|_| r.str().map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        let compression = r.str()?.to_string();
        let row_group_size = r.u64()?;
        Ok(Arc::new(WritePart {
            dir,
            part,
            parts,
            partition_on,
            compression,
            row_group_size,
        }))
    });
    register_builtin("table.write_parquet", |inputs| {
        let (Some(p), Some(Value::Table(batch))) = (
            inputs.first().and_then(|v| v.params::<WritePart>()),
            inputs.get(1).map(|v| &**v),
        ) else {
            return Err("table.write_parquet: takes its parameters and a partition".into());
        };
        write_part(p, batch)
            .map(|rows| Arc::new(Value::Int(rows as i64)))
            .map_err(|e| e.to_string())
    })
});

pub(crate) fn register_ops() {
    let _ = *WRITE;
}

/// The file name of partition `part` of `parts`: zero-padded so names sort in order.
fn file_name(part: u64, parts: u64) -> String {
    let width = parts.saturating_sub(1).to_string().len().max(5);
    format!("part.{part:0width$}.parquet")
}

/// Bytes other than letters, digits and `-._~` as `%XX` (what `read_parquet` decodes).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The directory name of row `row` of key column `key`.
fn key_dir(name: &str, key: &ArrayRef, row: usize) -> std::result::Result<String, String> {
    let value = if key.is_null(row) {
        hive::NULL_VALUE.to_string()
    } else {
        match key.data_type() {
            DataType::Date32 => {
                let days = key.as_primitive::<Date32Type>().value(row);
                arrow_array::temporal_conversions::date32_to_datetime(days)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .ok_or_else(|| format!("column {name:?}: date {days} out of range"))?
            }
            DataType::Dictionary(..) => {
                let d = key.as_dictionary::<Int32Type>();
                let s = arrow_cast::cast(d.values(), &DataType::Utf8).map_err(|e| e.to_string())?;
                percent_encode(s.as_string::<i32>().value(d.keys().value(row) as usize))
            }
            _ => {
                let s = arrow_cast::display::array_value_to_string(key, row)
                    .map_err(|e| e.to_string())?;
                percent_encode(&s)
            }
        }
    };
    Ok(format!("{}={value}", percent_encode(name)))
}

/// Whether a column of type `t` can name hive directories that read back as its values.
fn partitionable(t: &DataType) -> bool {
    t.is_integer()
        || matches!(t, DataType::Date32 | DataType::Utf8 | DataType::LargeUtf8)
        || matches!(t, DataType::Dictionary(k, v)
            if **k == DataType::Int32 && matches!(**v, DataType::Utf8 | DataType::LargeUtf8))
}

/// Writes `batch` to `path` through a hidden temporary file, renamed when complete.
fn write_file(path: &Path, batch: &RecordBatch, p: &WritePart) -> std::result::Result<(), String> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let name = path.file_name().expect("a file name").to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    let props = WriterProperties::builder()
        .set_compression(codec(&p.compression).map_err(|e| e.to_string())?)
        .set_max_row_group_row_count(Some(p.row_group_size.max(1) as usize))
        .build();
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut w =
            ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| e.to_string())?;
        w.write(batch).map_err(|e| e.to_string())?;
        w.close().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })
}

/// Writes one partition (split by its keys when partitioned); the rows written.
fn write_part(p: &WritePart, batch: &RecordBatch) -> std::result::Result<u64, String> {
    let dir = PathBuf::from(&p.dir);
    let name = file_name(p.part, p.parts);
    if p.partition_on.is_empty() {
        write_file(&dir.join(&name), batch, p)?;
        return Ok(batch.num_rows() as u64);
    }
    let schema = batch.schema();
    let keys = p
        .partition_on
        .iter()
        .map(|k| {
            schema
                .index_of(k)
                .map_err(|_| format!("no column {k:?} to partition on"))
        })
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    let rest: Vec<usize> = (0..batch.num_columns())
        .filter(|i| !keys.contains(i))
        .collect();
    let key_columns: Vec<ArrayRef> = keys.iter().map(|&i| batch.column(i).clone()).collect();
    if batch.num_rows() == 0 {
        return Ok(0);
    }
    let groups = crate::table::group_rows(&key_columns)?;
    // The rows of each group, in order.
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); groups.first.len()];
    for (r, &g) in groups.ids.iter().enumerate() {
        rows[g as usize].push(r as u32);
    }
    let data = batch.project(&rest).map_err(|e| e.to_string())?;
    for (g, &first) in groups.first.iter().enumerate() {
        let mut path = dir.clone();
        for (name, key) in p.partition_on.iter().zip(&key_columns) {
            path.push(key_dir(name, key, first as usize)?);
        }
        let part = crate::table::take_rows(&data, &rows[g])?;
        write_file(&path.join(&name), &part, p)?;
    }
    Ok(batch.num_rows() as u64)
}

/// Writes `table` into `dir` (made if missing; refused if it holds anything), a file per
/// partition (see the module notes), computing the table on `client`; the rows written.
pub fn write_parquet(
    table: &Table,
    dir: impl AsRef<Path>,
    options: &WriteOptions,
    client: &Client,
) -> Result<u64> {
    let dir = dir.as_ref();
    codec(&options.compression)?;
    for k in &options.partition_on {
        let f = table.schema().field_with_name(k).map_err(|_| {
            Error::NotFound(format!("write_parquet: no column {k:?} to partition on"))
        })?;
        if !partitionable(f.data_type()) {
            return Err(Error::invalid(format!(
                "write_parquet: cannot partition on {k:?}, a {} column (integers, dates and \
                 strings name directories that read back as their values)",
                f.data_type()
            )));
        }
    }
    if options.partition_on.len() == table.schema().fields().len()
        && !options.partition_on.is_empty()
    {
        return Err(Error::invalid(
            "write_parquet: partitioning on every column leaves no data to write",
        ));
    }
    if options.row_group_size == Some(0) {
        return Err(Error::invalid("write_parquet: row_group_size of 0"));
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::invalid(format!(
                    "write_parquet: {} is not empty",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?,
        Err(e) => return Err(Error::Io(format!("{}: {e}", dir.display()))),
    }
    let dir =
        std::fs::canonicalize(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let parts = table.num_partitions() as u64;
    let written = table.apply_each(
        *WRITE,
        |i| WritePart {
            dir: dir.to_string_lossy().into_owned(),
            part: i as u64,
            parts,
            partition_on: options.partition_on.clone(),
            compression: options.compression.clone(),
            row_group_size: options.row_group_size.unwrap_or(1 << 20) as u64,
        },
        client,
    )?;
    let mut rows = 0u64;
    for v in written {
        rows += v
            .as_i64()
            .ok_or_else(|| Error::invalid("a write task returned no row count"))?
            as u64;
    }
    Ok(rows)
}
