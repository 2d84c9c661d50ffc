//! The `table.read_parquet` task: some row groups and columns of one file, read with the
//! `parquet` crate's Arrow record-batch reader into one partition.

use crate::error::{Error, Result};
use crate::runtime::{register_builtin, OpDef};
use crate::table::eval::evaluate_filter;
use crate::table::expr::Expr;
use crate::value::{register_params, Params, ParamsReader, ParamsWriter, Value};
use arrow_array::{RecordBatch, RecordBatchReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// What one partition reads: a file's row groups, and its columns by name (all when `None`),
/// in the order given, keeping the rows where `filter` is true.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadPart {
    pub path: String,
    pub row_groups: Vec<usize>,
    pub columns: Option<Vec<String>>,
    pub filter: Option<Expr>,
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
    Ok(Arc::new(ReadPart {
        path,
        row_groups,
        columns: some.then_some(columns),
        filter,
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
    let rows: i64 = p
        .row_groups
        .iter()
        .map(|&g| meta.metadata().row_group(g).num_rows())
        .sum();
    // The filter's columns are read too, and dropped once it has run.
    let wanted = p.columns.clone().map(|mut cols| {
        for c in p.filter.iter().flat_map(Expr::columns) {
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
        cols
    });
    // The crate gives projected columns in the file's order; `order` puts them in the
    // order asked for.
    let (mask, order) = match &wanted {
        None => (ProjectionMask::all(), None),
        Some(cols) => {
            let schema = meta.schema();
            let mut idx = Vec::with_capacity(cols.len());
            for c in cols {
                let i = schema
                    .index_of(c)
                    .map_err(|_| Error::NotFound(format!("{}: no column '{c}'", at())))?;
                if idx.contains(&i) {
                    return Err(Error::invalid(format!("column '{c}' is asked for twice")));
                }
                idx.push(i);
            }
            let mut sorted = idx.clone();
            sorted.sort_unstable();
            let order: Vec<usize> = idx
                .iter()
                .map(|i| sorted.binary_search(i).expect("present"))
                .collect();
            (
                ProjectionMask::roots(meta.parquet_schema(), idx),
                Some(order),
            )
        }
    };
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta)
        .with_row_groups(p.row_groups.clone())
        .with_projection(mask)
        .with_batch_size((rows.max(1) as usize).min(1 << 24))
        .build()
        .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let batch = match batches.len() {
        1 => batches.into_iter().next().expect("one"),
        _ => arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?,
    };
    let batch = match order {
        None => batch,
        Some(order) => batch
            .project(&order)
            .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?,
    };
    let Some(filter) = &p.filter else {
        return Ok(batch);
    };
    let keep = evaluate_filter(filter, &batch)
        .map_err(|e| Error::invalid(format!("{}: filter {filter}: {e}", at())))?;
    let kept = arrow_select::filter::filter_record_batch(&batch, &keep)
        .map_err(|e| Error::invalid(format!("{}: {e}", at())))?;
    match &p.columns {
        None => Ok(kept),
        Some(cols) => kept
            .project(&(0..cols.len()).collect::<Vec<_>>())
            .map_err(|e| Error::invalid(format!("{}: {e}", at()))),
    }
}
