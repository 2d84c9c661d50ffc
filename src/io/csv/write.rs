//! `write_csv`: a table into a directory of CSV files, one task per partition
//! (`part.00000.csv`, numbered in partition order), each written under a hidden temporary
//! name and renamed when complete. Dictionary columns are written as their values; floats in
//! their shortest exact form, so `read_csv` gives back the same numbers.

use crate::error::{Error, Result};
use crate::runtime::{register_builtin, Client, OpDef};
use crate::table::Table;
use crate::value::{register_params, Params, ParamsWriter, Value};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// How `write_csv` writes.
#[derive(Debug, Clone)]
pub struct CsvWriteOptions {
    /// A first line naming the columns, in every file.
    pub header: bool,
    pub delimiter: u8,
}

impl Default for CsvWriteOptions {
    fn default() -> Self {
        CsvWriteOptions {
            header: true,
            delimiter: b',',
        }
    }
}

/// What one `table.write_csv` task writes: partition `part` of `parts` into `dir`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WriteCsvPart {
    pub dir: String,
    pub part: u64,
    pub parts: u64,
    pub header: bool,
    pub delimiter: u8,
}

impl Params for WriteCsvPart {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.write_csv"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.dir);
        w.u64(self.part);
        w.u64(self.parts);
        w.bool(self.header);
        w.u8(self.delimiter);
    }
}

static WRITE: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.write_csv", |r| {
        Ok(Arc::new(WriteCsvPart {
            dir: r.str()?.to_string(),
            part: r.u64()?,
            parts: r.u64()?,
            header: r.bool()?,
            delimiter: r.u8()?,
        }))
    });
    register_builtin("table.write_csv", |inputs| {
        let (Some(p), Some(Value::Table(batch))) = (
            inputs.first().and_then(|v| v.params::<WriteCsvPart>()),
            inputs.get(1).map(|v| &**v),
        ) else {
            return Err("table.write_csv: takes its parameters and a partition".into());
        };
        write_part(p, batch)
            .map(|rows| Arc::new(Value::Int(rows as i64)))
            .map_err(|e| e.to_string())
    })
});

pub(crate) fn register_ops() {
    let _ = *WRITE;
}

fn file_name(part: u64, parts: u64) -> String {
    let width = parts.saturating_sub(1).to_string().len().max(5);
    format!("part.{part:0width$}.csv")
}

/// Dictionary columns as their values (the CSV writer writes plain columns).
fn plain(batch: &RecordBatch) -> std::result::Result<RecordBatch, String> {
    if !batch
        .schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
    {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        match f.data_type() {
            DataType::Dictionary(_, v) => {
                columns.push(arrow_cast::cast(c, v).map_err(|e| e.to_string())?);
                fields.push(Field::new(f.name(), (**v).clone(), true));
            }
            _ => {
                columns.push(c.clone());
                fields.push(f.as_ref().clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

fn write_part(p: &WriteCsvPart, batch: &RecordBatch) -> std::result::Result<u64, String> {
    let dir = PathBuf::from(&p.dir);
    let path = dir.join(file_name(p.part, p.parts));
    let tmp = dir.join(format!(".{}.tmp", file_name(p.part, p.parts)));
    let result = (|| {
        let file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        let mut w = arrow_csv::WriterBuilder::new()
            .with_header(p.header)
            .with_delimiter(p.delimiter)
            .build(std::io::BufWriter::with_capacity(1 << 20, file));
        w.write(&plain(batch)?).map_err(|e| e.to_string())?;
        let out = w.into_inner();
        out.into_inner().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| e.to_string())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })?;
    Ok(batch.num_rows() as u64)
}

/// Writes `table` into `dir` (made when missing), a CSV file per partition; returns the
/// rows written.
pub fn write_csv(
    table: &Table,
    dir: impl AsRef<Path>,
    options: &CsvWriteOptions,
    client: &Client,
) -> Result<u64> {
    let dir = dir.as_ref();
    if matches!(options.delimiter, b'"' | b'\n' | b'\r') {
        return Err(Error::invalid(format!(
            "write_csv: the delimiter {:?} cannot be a quote or a newline",
            options.delimiter as char
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?;
    let dir =
        std::fs::canonicalize(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let parts = table.num_partitions() as u64;
    let written = table.apply_each(
        *WRITE,
        |i| WriteCsvPart {
            dir: dir.to_string_lossy().into_owned(),
            part: i as u64,
            parts,
            header: options.header,
            delimiter: options.delimiter,
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
