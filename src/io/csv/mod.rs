//! `read_csv` and `write_csv`: CSV files into lazy tables and back, through arrow-csv.
//!
//! A file is cut into partitions of about `blocksize` bytes, each ending at a record end
//! found by a quote-aware scan of the file (`split`): a quoted field holding newlines is
//! never cut, so a large CSV streams partition by partition whatever its quoting. Column
//! types come from a sample at the start of the first file unless given; a value later in
//! the data that does not parse as its column's type is an error naming the file, line and
//! column (or the row is skipped, when asked).

mod direct;
mod read;
mod split;
mod write;

pub use write::{write_csv, CsvWriteOptions};

pub(crate) fn register_ops() {
    read::register_ops();
    write::register_ops();
}

use crate::error::{Error, Result};
use crate::table::eval::evaluate_filter;
use crate::table::expr::Expr;
use crate::table::{check_type, prefix_error, Table, TablePart};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
pub(crate) use read::ReadCsvPart;
use split::{Dialect, Splitter};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to do with a row that does not parse (a value not of its column's type, a wrong
/// number of fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadRows {
    /// Fail, naming the file, line and column.
    #[default]
    Error,
    /// Leave the row out.
    Skip,
}

/// How `read_csv` reads.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Bytes per partition (about: a partition ends at the first record end after it).
    pub blocksize: u64,
    /// The first line of each file names the columns.
    pub header: bool,
    /// Column names (instead of the header's, or `column_1`, … without one).
    pub names: Option<Vec<String>>,
    /// Types of some columns by name; the others are inferred from `sample` bytes at the
    /// start of the first file (integers, floats, booleans, dates, timestamps, else
    /// strings).
    pub dtypes: Vec<(String, DataType)>,
    pub sample: usize,
    pub delimiter: u8,
    pub quote: u8,
    /// Inside quoted fields, makes the next byte literal (none by default: quotes are
    /// escaped by doubling them, as RFC 4180 says).
    pub escape: Option<u8>,
    /// Values read as null besides the empty field (e.g. "NA", "NULL").
    pub na_values: Vec<String>,
    /// An empty field of a string column is an empty string, not a null (only `na_values`
    /// are nulls there): R's `read.csv` and pyarrow do so; pandas and CSV.jl do not (the
    /// default).
    pub empty_strings: bool,
    /// Only these columns, in this order (all when `None`).
    pub columns: Option<Vec<String>>,
    /// Only the rows where this is true.
    pub filters: Option<Expr>,
    pub bad_rows: BadRows,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            blocksize: 64 << 20,
            header: true,
            names: None,
            dtypes: vec![],
            sample: 1 << 20,
            delimiter: b',',
            quote: b'"',
            escape: None,
            na_values: vec![],
            empty_strings: false,
            columns: None,
            filters: None,
            bad_rows: BadRows::Error,
        }
    }
}

impl CsvOptions {
    fn dialect(&self) -> Dialect {
        Dialect {
            delimiter: self.delimiter,
            quote: self.quote,
            escape: self.escape,
        }
    }
}

/// One file's plan: where its data starts (after the header) and its partitions' byte
/// ranges.
struct FilePlan {
    header: Option<Vec<u8>>,
    ranges: Vec<(u64, u64)>,
}

/// Scans `path` once: the header record (when there is one) and record ends about every
/// `blocksize` bytes after it.
fn plan_file(path: &Path, options: &CsvOptions) -> Result<FilePlan> {
    let at = || path.display();
    let mut file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("cannot open {}: {e}", at())))?;
    let size = file
        .metadata()
        .map_err(|e| Error::Io(format!("{}: {e}", at())))?
        .len();
    let blocksize = options.blocksize.max(1);
    let mut splitter = Splitter::new(options.dialect());
    let mut ends: Vec<u64> = Vec::new();
    let mut header_end: Option<u64> = None;
    let mut header = Vec::new();
    // The header ends at the first record end; then every `blocksize` bytes.
    let mut want = if options.header { 1 } else { blocksize };
    let mut buf = vec![0u8; 4 << 20];
    let mut pos = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Io(format!("reading {}: {e}", at()))),
        };
        if options.header && header_end.is_none() {
            header.extend_from_slice(&buf[..n]);
        }
        splitter.feed(&buf[..n], &mut want, &mut |end| {
            if options.header && header_end.is_none() {
                header_end = Some(end);
            } else {
                ends.push(end);
            }
            end + blocksize
        });
        pos += n as u64;
    }
    if pos != size {
        return Err(Error::Io(format!(
            "{}: read {pos} bytes of {size} (the file changed while it was read)",
            at()
        )));
    }
    if splitter.in_quotes() {
        return Err(Error::Corrupt(format!(
            "{}: a quoted field opened by a '{}' is not closed before the end of the file",
            at(),
            options.quote as char
        )));
    }
    let start = match (options.header, header_end) {
        (false, _) => 0,
        (true, Some(e)) => e,
        // A header without a newline after it: no data.
        (true, None) => size,
    };
    let header = options.header.then(|| {
        header.truncate((start as usize).min(header.len()));
        header
    });
    let mut ranges = Vec::new();
    let mut from = start;
    for e in ends.into_iter().chain([size]) {
        if e > from {
            ranges.push((from, e));
            from = e;
        }
    }
    Ok(FilePlan { header, ranges })
}

/// Each file's plan, the files scanned side by side on the client's pool; the first error
/// in file order.
fn plan_files(files: &[crate::io::files::Listed], options: &CsvOptions) -> Result<Vec<FilePlan>> {
    let slots: Vec<parking_lot::Mutex<Option<Result<FilePlan>>>> = files
        .iter()
        .map(|_| parking_lot::Mutex::new(None))
        .collect();
    crate::parallel::for_each(files.len(), |i| {
        *slots[i].lock() = Some(plan_file(&files[i].0, options))
    });
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, (f, _))| {
            slot.into_inner().unwrap_or_else(|| {
                // Not handed out: the read was cancelled (only inside a task).
                Err(Error::invalid(format!(
                    "{}: not scanned (cancelled)",
                    f.display()
                )))
            })
        })
        .collect()
}

/// The arrow-csv format of `options`, for inference and the header.
pub(crate) fn format(options: &CsvOptions, header: bool) -> Result<arrow_csv::reader::Format> {
    let mut f = arrow_csv::reader::Format::default()
        .with_header(header)
        .with_delimiter(options.delimiter)
        .with_quote(options.quote);
    if let Some(e) = options.escape {
        f = f.with_escape(e);
    }
    if let Some(r) = null_regex(&options.na_values)? {
        f = f.with_null_regex(r);
    }
    Ok(f)
}

/// The expression matching the empty field and `na_values` exactly (`None`: the empty
/// field only, arrow-csv's default).
pub(crate) fn null_regex(na_values: &[String]) -> Result<Option<regex::Regex>> {
    if na_values.is_empty() {
        return Ok(None);
    }
    let alternatives: Vec<String> = na_values.iter().map(|v| regex::escape(v)).collect();
    regex::Regex::new(&format!("^(?:{})?$", alternatives.join("|")))
        .map(Some)
        .map_err(|e| Error::invalid(format!("na_values: {e}")))
}

/// The expression matching `na_values` exactly, and never the empty field (the null values
/// of string columns that keep empty strings).
pub(crate) fn string_null_regex(na_values: &[String]) -> Result<regex::Regex> {
    let pattern = if na_values.is_empty() {
        // Matches nothing.
        "[^\\s\\S]".to_string()
    } else {
        let alternatives: Vec<String> = na_values
            .iter()
            .filter(|v| !v.is_empty())
            .map(|v| regex::escape(v))
            .collect();
        format!("^(?:{})$", alternatives.join("|"))
    };
    regex::Regex::new(&pattern).map_err(|e| Error::invalid(format!("na_values: {e}")))
}

/// The column names of a header record.
fn header_names(header: &[u8], options: &CsvOptions, path: &Path) -> Result<Vec<String>> {
    let (schema, _) = format(options, true)?
        .infer_schema(header, Some(0))
        .map_err(|e| Error::Corrupt(format!("{}: its header: {e}", path.display())))?;
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// The files' columns: names from the header (or `names`), types from `dtypes` or
/// inferred from the first `sample` bytes of data.
fn infer_schema(path: &Path, plan: &FilePlan, options: &CsvOptions) -> Result<SchemaRef> {
    let at = || path.display();
    let mut sample = Vec::new();
    if let Some(h) = &plan.header {
        sample.extend_from_slice(h);
    }
    if let (Some(&(start, _)), Some(&(_, end))) = (plan.ranges.first(), plan.ranges.last()) {
        let want = (options.sample as u64).min(end - start) as usize;
        let mut file = std::fs::File::open(path)
            .map_err(|e| Error::Io(format!("cannot open {}: {e}", at())))?;
        let mut data = vec![0u8; want];
        read::read_at(&mut file, start, &mut data, path)?;
        // Whole records only: the sample's last end is inside a record unless a newline
        // ends it.
        if (want as u64) < end - start {
            let ends = split::record_ends(&data, options.dialect());
            let whole = ends
                .iter()
                .rev()
                .copied()
                .find(|&e| data[..e].ends_with(b"\n"))
                .unwrap_or(data.len());
            data.truncate(whole);
        }
        sample.extend_from_slice(&data);
    }
    // Rows of another length are not the sample's business: reading them is an error that
    // names their line (or skips them).
    let (inferred, _) = format(options, options.header)?
        .with_truncated_rows(true)
        .infer_schema(&sample[..], None)
        .map_err(|e| Error::Corrupt(format!("{}: {e}", at())))?;
    let mut names: Vec<String> = inferred.fields().iter().map(|f| f.name().clone()).collect();
    if let Some(given) = &options.names {
        if !names.is_empty() && given.len() != names.len() {
            return Err(Error::invalid(format!(
                "{}: {} names given for {} columns",
                at(),
                given.len(),
                names.len()
            )));
        }
        names = given.clone();
    }
    for (name, t) in &options.dtypes {
        if !names.contains(name) {
            return Err(Error::NotFound(format!(
                "dtypes: {}: no column '{name}' (its columns: {})",
                at(),
                names.join(", ")
            )));
        }
        check_type(t).map_err(|e| Error::invalid(format!("dtypes: column '{name}': {e}")))?;
    }
    let fields: Vec<Field> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let t = match options.dtypes.iter().find(|(n, _)| n == name) {
                Some((_, t)) => t.clone(),
                None => match inferred.fields().get(i).map(|f| f.data_type()) {
                    // A column empty in the whole sample: strings hold any value.
                    None | Some(DataType::Null) => DataType::Utf8,
                    Some(t) => t.clone(),
                },
            };
            Field::new(name, t, true)
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(Error::invalid(format!(
            "{}: the column name '{dup}' appears twice",
            at()
        )));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// A lazy table over CSV files, directories (their `.csv` files) or glob patterns (see
/// [`CsvOptions`]). Each file is scanned once now for its record ends; nothing is decoded
/// until the table is computed.
pub fn read_csv(paths: &[impl AsRef<Path>], options: &CsvOptions) -> Result<Table> {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    let files = crate::io::files::list(&paths, "CSV", &[".csv", ".tsv", ".txt"])?;
    if options.delimiter == options.quote || options.delimiter == b'\n' {
        return Err(Error::invalid(format!(
            "read_csv: the delimiter {:?} cannot be the quote or a newline",
            options.delimiter as char
        )));
    }
    let plans = plan_files(&files, options)?;
    let first = &files[0].0;
    let schema = infer_schema(first, &plans[0], options)?;
    if options.header && options.names.is_none() {
        // Every file's header names the same columns.
        let expected: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        for ((f, _), plan) in files.iter().zip(&plans).skip(1) {
            let names = header_names(plan.header.as_deref().unwrap_or(&[]), options, f)?;
            if names.iter().collect::<Vec<_>>() != expected {
                return Err(Error::invalid(format!(
                    "{}: its header ({}) differs from {}'s ({})",
                    f.display(),
                    names.join(", "),
                    first.display(),
                    expected
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    let out = match &options.columns {
        None => schema.clone(),
        Some(cols) => crate::io::parquet::project(&schema, cols, first)?,
    };
    if let Some(filter) = &options.filters {
        evaluate_filter(filter, &arrow_array::RecordBatch::new_empty(schema.clone()))
            .map_err(|e| prefix_error(e, &format!("{}: filter {filter}", first.display())))?;
    }
    let mut parts = Vec::new();
    for ((f, _), plan) in files.iter().zip(&plans) {
        for &(start, end) in &plan.ranges {
            parts.push(TablePart::source(
                read::read_op(),
                ReadCsvPart {
                    path: f.to_string_lossy().into_owned(),
                    start,
                    end,
                    schema: schema.clone(),
                    columns: options.columns.clone(),
                    filter: options.filters.clone(),
                    dialect: options.dialect(),
                    na_values: options.na_values.clone(),
                    empty_strings: options.empty_strings,
                    skip_bad_rows: options.bad_rows == BadRows::Skip,
                    limit: None,
                },
                None,
            ));
        }
    }
    Ok(Table::new(out, parts))
}

/// The byte ranges `table`'s partitions read (path, start, end), in order. Empty for a table
/// not read from CSV.
pub fn byte_ranges(table: &Table) -> Vec<(String, u64, u64)> {
    table
        .sources()
        .into_iter()
        .filter_map(|p| p.as_any().downcast_ref::<ReadCsvPart>())
        .map(|p| (p.path.clone(), p.start, p.end))
        .collect()
}
