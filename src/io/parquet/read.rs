//! The `table.read_parquet` task: some row groups and columns of one file, read with the
//! `parquet` crate's Arrow record-batch reader into one partition.

use super::{hive, unify};
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, OpDef};
use crate::table::eval::evaluate_filter;
use crate::table::expr::{read_scalar, write_scalar, Expr, Scalar};
use crate::table::{check_type, prefix_error};
use crate::value::{register_params, Params, ParamsReader, ParamsWriter, Value};
use arrow_array::RecordBatchOptions;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// What one partition reads: a file's row groups, and its columns by name (all when `None`:
/// the file's, then the partition's), in the order given, keeping the rows where `filter`
/// is true. `partition`: the hive keys of the file's directories, columns of every row.
/// `adapt`: the table's columns this file lacks or holds as another type (see `unify`),
/// made null or cast right after reading. `limit`: at most this many rows (the first ones),
/// for `Table::head`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadPart {
    pub path: String,
    pub row_groups: Vec<usize>,
    pub columns: Option<Vec<String>>,
    pub filter: Option<Expr>,
    pub partition: Vec<PartitionValue>,
    pub adapt: Vec<Field>,
    pub limit: Option<u64>,
}

/// One hive key of a file: its column's name and type, and its value (`None`: null).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PartitionValue {
    pub name: String,
    pub dtype: DataType,
    pub value: Option<Scalar>,
}

impl Params for ReadPart {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.read_parquet"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.path);
        w.usizes(&self.row_groups);
        w.bool(self.columns.is_some());
        let columns = self.columns.as_deref().unwrap_or(&[]);
        w.usize(columns.len());
        columns.iter().for_each(|c| w.str(c));
        w.bool(self.filter.is_some());
        if let Some(f) = &self.filter {
            f.encode(w);
        }
        w.usize(self.partition.len());
        for k in &self.partition {
            w.str(&k.name);
            w.u8(hive::type_code(&k.dtype));
            write_scalar(w, k.value.as_ref().unwrap_or(&Scalar::Null));
        }
        w.usize(self.adapt.len());
        for f in &self.adapt {
            w.str(f.name());
            w.str(&f.data_type().to_string());
            w.bool(f.is_nullable());
        }
        w.bool(self.limit.is_some());
        w.u64(self.limit.unwrap_or(0));
    }

    /// Without a filter, the rows wanted are the file's first ones: only the row groups
    /// holding them are read.
    fn limited(&self, rows: u64) -> Option<Arc<dyn Params>> {
        let limit = self.limit.map_or(rows, |l| l.min(rows));
        Some(Arc::new(ReadPart {
            limit: Some(limit),
            ..self.clone()
        }))
    }
}

fn decode(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    let path = r.str()?.to_string();
    let row_groups = r.usizes()?;
    let some = r.bool()?;
    let n = r.count()?;
    let columns = (0..n)
        .map(|_| r.str().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let filter = if r.bool()? {
        Some(Expr::decode(r)?)
    } else {
        None
    };
    let keys = r.count()?;
    let mut partition = Vec::with_capacity(keys);
    for _ in 0..keys {
        let name = r.str()?.to_string();
        let code = r.u8()?;
        let dtype = hive::type_of_code(code)
            .ok_or_else(|| r.corrupt(format!("partition column type {code}")))?;
        let value = match read_scalar(r)? {
            Scalar::Null => None,
            v => Some(v),
        };
        partition.push(PartitionValue { name, dtype, value });
    }
    let n = r.count()?;
    let mut adapt = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?.to_string();
        let text = r.str()?;
        let dtype: DataType = text
            .parse()
            .map_err(|e| r.corrupt(format!("column type '{text}': {e}")))?;
        check_type(&dtype).map_err(|e| r.corrupt(e))?;
        adapt.push(Field::new(name, dtype, r.bool()?));
    }
    let limited = r.bool()?;
    let limit = r.u64()?;
    Ok(Arc::new(ReadPart {
        path,
        row_groups,
        columns: some.then_some(columns),
        filter,
        partition,
        adapt,
        limit: limited.then_some(limit),
    }))
}

static READ: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.read_parquet", decode);
    register_builtin("table.read_parquet", |inputs| {
        let p = inputs
            .first()
            .and_then(|v| v.params::<ReadPart>())
            .ok_or("table.read_parquet: missing parameters")?;
        read_part(p)
            .map(|b| Arc::new(Value::Table(b)))
            .map_err(|e| e.to_string())
    })
});

pub(crate) fn read_op() -> &'static OpDef {
    *READ
}

pub(crate) fn register_ops() {
    let _ = read_op();
}

/// Reads one partition; errors name the file (and the column or row group).
pub(crate) fn read_part(p: &ReadPart) -> Result<RecordBatch> {
    super::contained(Path::new(&p.path), || read_part_here(p))
}

fn read_part_here(p: &ReadPart) -> Result<RecordBatch> {
    let path = Path::new(&p.path);
    let at = || path.display();
    let file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("cannot open {}: {e}", at())))?;
    let meta = super::footer_cache::load(path, &file)?;
    let groups = meta.metadata().num_row_groups();
    if let Some(&g) = p.row_groups.iter().find(|&&g| g >= groups) {
        return Err(Error::invalid(format!(
            "{}: no row group {g} (it has {groups})",
            at()
        )));
    }
    // With a limit and no filter, the row groups that hold the first `limit` rows.
    let mut row_groups = p.row_groups.clone();
    if let (Some(limit), None) = (p.limit, &p.filter) {
        let mut covered = 0u64;
        let keep = row_groups
            .iter()
            .take_while(|&&g| {
                let more = covered < limit;
                covered += meta.metadata().row_group(g).num_rows().max(0) as u64;
                more
            })
            .count();
        row_groups.truncate(keep);
    }
    let rows: i64 = row_groups
        .iter()
        .map(|&g| meta.metadata().row_group(g).num_rows())
        .sum();
    let file_schema = meta.schema().clone();
    let partition = |name: &str| p.partition.iter().find(|k| k.name == name);
    let adapted = |name: &str| p.adapt.iter().find(|f| f.name() == name);
    // What comes out (all: the file's columns, then the partition's), and what is made
    // before filtering: that and the filter's columns, dropped once it has run.
    let out: Vec<String> = match &p.columns {
        Some(cols) => cols.clone(),
        None => file_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .chain(p.partition.iter().map(|k| k.name.clone()))
            .collect(),
    };
    let mut wanted = out.clone();
    for c in p.filter.iter().flat_map(Expr::columns) {
        if !wanted.contains(&c) {
            wanted.push(c);
        }
    }
    let mut idx = Vec::new();
    for c in wanted.iter().filter(|c| partition(c).is_none()) {
        let i = match file_schema.index_of(c) {
            Ok(i) => i,
            // The table has it, this file does not: nulls.
            Err(_) if adapted(c).is_some() => continue,
            Err(_) => return Err(Error::NotFound(format!("{}: no column '{c}'", at()))),
        };
        if idx.contains(&i) {
            return Err(Error::invalid(format!("column '{c}' is asked for twice")));
        }
        idx.push(i);
    }
    let mask = ProjectionMask::roots(meta.parquet_schema(), idx);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
        .with_row_groups(row_groups)
        .with_projection(mask)
        .with_batch_size((rows.max(1) as usize).min(1 << 24))
        .build()
        .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let read = match batches.len() {
        1 => batches.into_iter().next().expect("one"),
        _ => arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?,
    };
    // The columns in the order wanted, the partition's as constants.
    let n = if read.num_columns() > 0 {
        read.num_rows()
    } else {
        rows.max(0) as usize
    };
    let mut fields = Vec::with_capacity(wanted.len());
    let mut columns = Vec::with_capacity(wanted.len());
    for c in &wanted {
        match (partition(c), adapted(c)) {
            (Some(k), _) => {
                fields.push(Field::new(c, k.dtype.clone(), true));
                columns.push(hive::constant(&k.dtype, k.value.as_ref(), n)?);
            }
            (None, Some(field)) => {
                let read = schema.index_of(c).ok().map(|i| read.column(i));
                let column =
                    unify::adapt(read, field, n).map_err(|e| prefix_error(e, &at().to_string()))?;
                fields.push(field.clone());
                columns.push(column);
            }
            (None, None) => {
                let i = schema.index_of(c).expect("read");
                fields.push(schema.field(i).clone());
                columns.push(read.column(i).clone());
            }
        }
    }
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(n)),
    )
    .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let batch = match &p.filter {
        None => batch,
        Some(filter) => {
            let keep = evaluate_filter(filter, &batch)
                .map_err(|e| Error::invalid(format!("{}: filter {filter}: {e}", at())))?;
            arrow_select::filter::filter_record_batch(&batch, &keep)
                .map_err(|e| Error::invalid(format!("{}: {e}", at())))?
        }
    };
    let batch = match p.limit {
        Some(l) if (l as usize) < batch.num_rows() => batch.slice(0, l as usize),
        _ => batch,
    };
    if batch.num_columns() == out.len() {
        return Ok(batch);
    }
    batch
        .project(&(0..out.len()).collect::<Vec<_>>())
        .map_err(|e| Error::invalid(format!("{}: {e}", at())))
}
