//! The `table.read_parquet` task: some row groups and columns of one file, read with the
//! `parquet` crate's Arrow record-batch reader into one partition.

use super::engine::Engine;
use super::{hive, typed, unify};
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, OpDef};
use crate::table::eval::evaluate_filter;
use crate::table::expr::{read_scalar, write_scalar, Expr, Scalar};
use crate::table::{check_type, prefix_error};
use crate::value::{register_params, Params, ParamsReader, ParamsWriter, Value};
use arrow_array::RecordBatchOptions;
use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::{ColumnChunkMask, PageIndexPolicy, ParquetMetaDataReader};
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
    /// Which reader decodes each column.
    pub engine: Engine,
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
        w.u8(self.engine.code());
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

    /// Only those columns are decoded (and those the filter reads, dropped after it).
    fn projected(&self, columns: &[String]) -> Option<Arc<dyn Params>> {
        Some(Arc::new(ReadPart {
            columns: Some(columns.to_vec()),
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
    let code = r.u8()?;
    let engine = Engine::from_code(code).ok_or_else(|| r.corrupt(format!("engine {code}")))?;
    Ok(Arc::new(ReadPart {
        path,
        row_groups,
        columns: some.then_some(columns),
        filter,
        partition,
        adapt,
        limit: limited.then_some(limit),
        engine,
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
    // With a filter, the runs of rows the page index rules out in each group are skipped.
    let runs = match &p.filter {
        Some(filter) => page_runs(&file, &meta, &row_groups, filter, p)
            .map_err(|e| in_file(e, &at().to_string()))?,
        None => vec![None; row_groups.len()],
    };
    let rows: i64 = row_groups
        .iter()
        .zip(&runs)
        .map(|(&g, r)| selected(meta.metadata().row_group(g).num_rows(), r.as_deref()))
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
    let read = read_columns(
        &file,
        meta,
        (&row_groups, &runs),
        &idx,
        rows.max(0) as usize,
        engine_for(p.engine, &runs),
        &at().to_string(),
    )?;
    let schema = read.schema();
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

/// The file's root columns `roots` (indices into its schema) over `row_groups` (the rows
/// of each that its `runs` keep), in `roots`' order, as one batch of `rows` rows: the
/// columns `engine` gives the typed readers decoded a row group at a time, each a job of
/// its own, the others by one Arrow reader as one more job, the jobs side by side on the
/// client's pool. Errors say where, after `at` (the file).
fn read_columns(
    file: &std::fs::File,
    meta: ArrowReaderMetadata,
    (row_groups, runs): (&[usize], &[Option<Runs>]),
    roots: &[usize],
    rows: usize,
    engine: Engine,
    at: &str,
) -> Result<RecordBatch> {
    let file_schema = meta.schema().clone();
    let typed = typed_roots(&meta, roots, engine);
    let mut by_arrow: Vec<usize> = roots
        .iter()
        .copied()
        .filter(|r| !typed.iter().any(|(t, _)| t == r))
        .collect();
    by_arrow.sort_unstable();
    let file_len = file
        .metadata()
        .map_err(|e| Error::Io(format!("{at}: {e}")))?
        .len();
    // A job per typed column and row group (a partition of one large file still keeps
    // every thread busy), each writing its rows of the column's one buffer, and one job for
    // the Arrow reader's columns.
    let group_rows: Vec<usize> = row_groups
        .iter()
        .zip(runs)
        .map(|(&g, r)| selected(meta.metadata().row_group(g).num_rows(), r.as_deref()) as usize)
        .collect();
    let group_at: Vec<usize> = group_rows
        .iter()
        .scan(0, |at, &n| {
            *at += n;
            Some(*at - n)
        })
        .collect();
    let outputs = typed
        .iter()
        .map(|&(root, _)| {
            typed::TypedColumn::new(file_schema.field(root).data_type(), rows, row_groups.len())
        })
        .collect::<Result<Vec<_>>>()?;
    let groups = row_groups.len();
    let typed_jobs = typed.len() * groups;
    let jobs = typed_jobs + usize::from(!by_arrow.is_empty());
    let results: Vec<parking_lot::Mutex<Option<Result<ReadJob>>>> =
        (0..jobs).map(|_| parking_lot::Mutex::new(None)).collect();
    let finished = crate::parallel::for_each(jobs, |j| {
        let out = if j < typed_jobs {
            let (k, i) = (j / groups, j % groups);
            let (root, leaf) = typed[k];
            // SAFETY: job (k, i) alone writes column k's rows of group i.
            unsafe {
                outputs[k].decode_group(
                    typed::Source {
                        file,
                        file_len,
                        meta: meta.metadata(),
                        leaf,
                        group: row_groups[i],
                        runs: runs[i].as_deref(),
                    },
                    group_at[i],
                )
            }
            .map(ReadJob::Typed)
            .map_err(|e| {
                let name = file_schema.field(root).name();
                in_file(e, &format!("{at}: column '{name}'"))
            })
        } else {
            read_with_arrow(file, &meta, row_groups, runs, &by_arrow, rows, at).map(ReadJob::Arrow)
        };
        *results[j].lock() = Some(out);
    });
    if !finished {
        return Err(Error::invalid(format!("{at}: the read was cancelled")));
    }
    let mut validity = Vec::with_capacity(typed_jobs);
    let mut arrow_batch = None;
    for slot in results {
        match slot.into_inner().expect("every job ran")? {
            ReadJob::Typed(valid) => validity.push(valid),
            ReadJob::Arrow(batch) => arrow_batch = Some(batch),
        }
    }
    let mut validity = validity.into_iter();
    let mut typed_columns = Vec::with_capacity(typed.len());
    for (output, &(root, _)) in outputs.into_iter().zip(&typed) {
        let of_groups = group_rows
            .iter()
            .map(|&n| (n, validity.next().expect("a job per group")))
            .collect();
        let column = output.finish(of_groups).map_err(|e| {
            in_file(
                e,
                &format!("{at}: column '{}'", file_schema.field(root).name()),
            )
        })?;
        typed_columns.push((file_schema.field(root).clone(), column));
    }
    let mut fields = Vec::with_capacity(roots.len());
    let mut columns = Vec::with_capacity(roots.len());
    for root in roots {
        if let Some(k) = typed.iter().position(|(r, _)| r == root) {
            let (field, array) = &typed_columns[k];
            fields.push(field.clone());
            columns.push(array.clone());
        } else {
            let batch = arrow_batch.as_ref().expect("the Arrow reader ran");
            let k = by_arrow
                .binary_search(root)
                .expect("read by the Arrow reader");
            fields.push(batch.schema().field(k).clone());
            columns.push(batch.column(k).clone());
        }
    }
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| Error::Corrupt(format!("{at}: {e}")))
}

/// What one job of [`read_columns`] made: a typed column's row group (written into the
/// column's buffer), or the Arrow reader's columns.
enum ReadJob {
    /// The group's validity when some rows are null.
    Typed(Option<arrow_buffer::BooleanBuffer>),
    Arrow(RecordBatch),
}

/// The root columns `roots` (ascending) of `row_groups` through the crate's Arrow reader.
fn read_with_arrow(
    file: &std::fs::File,
    meta: &ArrowReaderMetadata,
    row_groups: &[usize],
    runs: &[Option<Runs>],
    roots: &[usize],
    rows: usize,
    at: &str,
) -> Result<RecordBatch> {
    let file = file
        .try_clone()
        .map_err(|e| Error::Io(format!("{at}: {e}")))?;
    check_dictionaries(&file, meta, row_groups, roots)
        .map_err(|e| Error::Corrupt(format!("{at}: {e}")))?;
    let mask = ProjectionMask::roots(meta.parquet_schema(), roots.iter().copied());
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_row_groups(row_groups.to_vec())
        .with_projection(mask)
        .with_batch_size(rows.clamp(1, 1 << 24));
    if runs.iter().any(Option::is_some) {
        let mut selectors = Vec::new();
        for (&g, r) in row_groups.iter().zip(runs) {
            let all = meta.metadata().row_group(g).num_rows().max(0) as u64;
            for &(n, keep) in r.as_deref().unwrap_or(&[(all, true)]) {
                selectors.push(match keep {
                    true => RowSelector::select(n as usize),
                    false => RowSelector::skip(n as usize),
                });
            }
        }
        builder = builder.with_row_selection(RowSelection::from(selectors));
    }
    let reader = builder
        .build()
        .map_err(|e| Error::Corrupt(format!("{at}: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Corrupt(format!("{at}: {e}")))?;
    let batch = match batches.len() {
        1 => batches.into_iter().next().expect("one"),
        _ => arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| Error::Corrupt(format!("{at}: {e}")))?,
    };
    if batch.num_rows() != rows {
        return Err(Error::Corrupt(format!(
            "{at}: {} rows read where the footer (and page index) promise {rows}",
            batch.num_rows()
        )));
    }
    Ok(batch)
}

/// The dictionary pages the Arrow reader will decode for `roots` of `row_groups`, checked
/// first (`pages::check_chunk_dictionary`: it would trust their headers).
fn check_dictionaries(
    file: &std::fs::File,
    meta: &ArrowReaderMetadata,
    row_groups: &[usize],
    roots: &[usize],
) -> parquet::errors::Result<()> {
    let schema = meta.parquet_schema();
    let leaves: Vec<usize> = (0..schema.num_columns())
        .filter(|&l| roots.contains(&schema.get_column_root_idx(l)))
        .collect();
    let file = Arc::new(file.try_clone()?);
    for &g in row_groups {
        let group = meta.metadata().row_group(g);
        for &l in &leaves {
            let rows = group.num_rows().max(0) as usize;
            super::pages::check_chunk_dictionary(file.clone(), group.column(l), rows).map_err(
                |e| {
                    parquet::errors::ParquetError::General(format!(
                        "row group {g}, column '{}': {e}",
                        group.column(l).column_path().string()
                    ))
                },
            )?;
        }
    }
    Ok(())
}

/// `e` with `what` (the file, the column) in front, of the same kind.
fn in_file(e: Error, what: &str) -> Error {
    match e {
        Error::Corrupt(m) => Error::Corrupt(format!("{what}: {m}")),
        Error::Io(m) => Error::Io(format!("{what}: {m}")),
        e => prefix_error(e, what),
    }
}

/// The roots of `roots` that `engine` decodes with the typed readers, each with its leaf
/// column: flat columns of a type [`Engine::typed_for`] takes.
pub(crate) fn typed_roots(
    meta: &ArrowReaderMetadata,
    roots: &[usize],
    engine: Engine,
) -> Vec<(usize, usize)> {
    let leaves = meta.parquet_schema();
    // A root's leaf column, when it has exactly one (a flat column).
    let leaf_of = |root: usize| {
        let mut of_root =
            (0..leaves.num_columns()).filter(|&l| leaves.get_column_root_idx(l) == root);
        match (of_root.next(), of_root.next()) {
            (Some(leaf), None) => Some(leaf),
            _ => None,
        }
    };
    roots
        .iter()
        .filter_map(|&root| {
            let leaf = leaf_of(root)?;
            let arrow_type = meta.schema().field(root).data_type();
            engine
                .typed_for(&leaves.column(leaf), arrow_type)
                .then_some((root, leaf))
        })
        .collect()
}

/// Runs of a row group's rows, `(rows, keep)` in order: what the page index leaves to read.
pub(crate) type Runs = Vec<(u64, bool)>;

/// Rows the page index let the reads skip, in all (for the tests and benchmarks).
static PAGE_ROWS_SKIPPED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub(crate) fn page_rows_skipped() -> u64 {
    PAGE_ROWS_SKIPPED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A row group's rows (`all`) that `runs` keeps.
fn selected(all: i64, runs: Option<&[(u64, bool)]>) -> i64 {
    match runs {
        None => all.max(0),
        Some(r) => r
            .iter()
            .filter(|(_, keep)| *keep)
            .map(|(n, _)| *n as i64)
            .sum(),
    }
}

/// For each of `row_groups`, the runs of rows `filter` may match according to the file's
/// page index (`None`: read it all) — when the file has one: the indexes of the filter's
/// column chunks in these groups are read now, a few KiB each.
fn page_runs(
    file: &std::fs::File,
    meta: &ArrowReaderMetadata,
    row_groups: &[usize],
    filter: &Expr,
    p: &ReadPart,
) -> Result<Vec<Option<Runs>>> {
    let md = meta.metadata();
    // Only the filter's columns in this partition's row groups: a file split into a
    // partition per row group must not have every partition read every group's index.
    let leaves = md.file_metadata().schema_descr();
    let names = filter.columns();
    let wanted: Vec<usize> = (0..leaves.num_columns())
        .filter(|&l| {
            names
                .iter()
                .any(|n| leaves.column(l).path().parts()[0] == *n)
        })
        .collect();
    let indexed = row_groups.iter().any(|&g| {
        wanted.iter().any(|&l| {
            let c = md.row_group(g).column(l);
            c.column_index_offset().is_some() && c.offset_index_offset().is_some()
        })
    });
    if !indexed {
        return Ok(vec![None; row_groups.len()]);
    }
    let mask = ColumnChunkMask::row_groups_and_columns(row_groups.iter().copied(), wanted);
    let (_, pages) = ParquetMetaDataReader::new_with_metadata(md.as_ref().clone())
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_page_index_mask(mask)
        .read_page_index_and_finish(file)
        .map_err(|e| Error::Corrupt(format!("its page index: {e}")))?;
    let Some(pages) = pages else {
        return Ok(vec![None; row_groups.len()]);
    };
    let runs = row_groups
        .iter()
        .map(|&g| {
            super::prune::page_runs(filter, meta.schema(), md, &pages, g, &p.partition, &p.adapt)
        })
        .collect::<Result<Vec<_>>>()?;
    let skipped: u64 = runs
        .iter()
        .flatten()
        .flat_map(|r| r.iter().filter(|(_, keep)| !keep).map(|(n, _)| n))
        .sum();
    PAGE_ROWS_SKIPPED.fetch_add(skipped, std::sync::atomic::Ordering::Relaxed);
    Ok(runs)
}

/// The engine a read uses: auto reads with the Arrow reader where the page index skips rows
/// (it fetches only the pages it decodes; the typed readers fetch whole column chunks:
/// measured 3.2–3.4 ms against 5.1–5.4 ms for a 50,000-row window, benches/README.md).
fn engine_for(asked: Engine, runs: &[Option<Runs>]) -> Engine {
    match asked {
        Engine::Auto if runs.iter().any(Option::is_some) => Engine::Arrow,
        e => e,
    }
}
