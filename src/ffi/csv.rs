//! CSV through the C ABI: `dask_read_csv` into a lazy table and `dask_table_write_csv`,
//! with versioned options structs (see `versioned`).

use super::client::dask_client;
use super::expr::{dask_expr, expr_arg};
use super::handle;
use super::table::{dask_table, put_table, strings, table_arg};
use super::{c_str, dask_status, guard};
use crate::error::{Error, Result};
use crate::io::csv::{read_csv, write_csv, BadRows, CsvOptions, CsvWriteOptions};
use arrow_schema::DataType;
use std::ffi::c_char;

/// How `dask_read_csv` reads (a versioned input struct: `dask_csv_options_init(&o, sizeof
/// o)` first, then set fields). Everything is copied during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_csv_options {
    /// `sizeof(dask_csv_options)` as the caller was compiled; set by the init function.
    pub struct_size: u32,
    /// Nonzero (the default): the first line of each file names the columns.
    pub header: u32,
    /// The field delimiter; default ','.
    pub delimiter: u32,
    /// The quote; default '"' (quotes inside quoted fields are doubled).
    pub quote: u32,
    /// Inside quoted fields, makes the next byte literal; 0 (the default): none.
    pub escape: u32,
    /// Nonzero: rows that do not parse are left out; 0 (the default): they are an error
    /// naming the file, line and column.
    pub skip_bad_rows: u32,
    /// Bytes per partition (a partition ends at the first record end after it); 0 (the
    /// default): 64 MiB.
    pub blocksize: u64,
    /// Column names (`nnames`) instead of the header's (or `column_1`, … without one); NULL
    /// (the default): the header's.
    pub names: *const *const c_char,
    pub nnames: usize,
    /// Types of some columns: `dtype_columns[i]` has the Arrow C data interface format
    /// `dtype_formats[i]` ("l" int64, "g" float64, "u" utf8, "tdD" date32, "tsu:" timestamp
    /// [us], …); `ndtypes` of each. The others are inferred from the start of the first
    /// file. NULL (the default): all inferred.
    pub dtype_columns: *const *const c_char,
    pub dtype_formats: *const *const c_char,
    pub ndtypes: usize,
    /// Values read as null besides the empty field (`nna_values`, e.g. "NA"); NULL (the
    /// default): the empty field only.
    pub na_values: *const *const c_char,
    pub nna_values: usize,
    /// Only these `ncolumns` columns, in this order; NULL (the default): all of them.
    pub columns: *const *const c_char,
    pub ncolumns: usize,
    /// Only the rows where this expression is true; NULL (the default): all rows.
    pub filter: *const dask_expr,
    /// Nonzero: an empty field of a string column is an empty string (only `na_values` are
    /// nulls there), as R's `read.csv` and pyarrow read; 0 (the default): a null, as pandas
    /// and CSV.jl read.
    pub empty_strings: u32,
}

fn read_defaults(struct_size: u32) -> dask_csv_options {
    dask_csv_options {
        struct_size,
        header: 1,
        delimiter: b',' as u32,
        quote: b'"' as u32,
        escape: 0,
        skip_bad_rows: 0,
        blocksize: 0,
        names: std::ptr::null(),
        nnames: 0,
        dtype_columns: std::ptr::null(),
        dtype_formats: std::ptr::null(),
        ndtypes: 0,
        na_values: std::ptr::null(),
        nna_values: 0,
        columns: std::ptr::null(),
        ncolumns: 0,
        filter: std::ptr::null(),
        empty_strings: 0,
    }
}

super::versioned::input_struct!(
    dask_csv_options,
    read_defaults,
    init_read_options,
    read_options,
    [
        header,
        delimiter,
        quote,
        escape,
        skip_bad_rows,
        blocksize,
        names,
        nnames,
        dtype_columns,
        dtype_formats,
        ndtypes,
        na_values,
        nna_values,
        columns,
        ncolumns,
        filter,
        empty_strings
    ]
);

/// Fills `*options` (whose `struct_size` bytes are the caller's `sizeof`) with the defaults
/// and sets its `struct_size`. Any thread; nothing to free.
///
/// # Safety
/// `options` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_csv_options_init(
    options: *mut dask_csv_options,
    struct_size: usize,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| unsafe { init_read_options(options, struct_size) })
}

/// A single byte option (delimiter, quote, escape).
fn byte(v: u32, what: &str) -> Result<u8> {
    u8::try_from(v)
        .ok()
        .filter(|b| b.is_ascii())
        .ok_or_else(|| Error::invalid(format!("options.{what}: {v} is not an ASCII character")))
}

/// An Arrow C data interface format string as a column type (not a dictionary: CSV columns
/// are plain).
fn format_type(format: &str, column: &str) -> Result<DataType> {
    let schema = arrow_schema::ffi::FFI_ArrowSchema::try_new(format, vec![], None)
        .map_err(|e| Error::invalid(format!("dtype of '{column}': {e}")))?;
    DataType::try_from(&schema)
        .map_err(|e| Error::invalid(format!("dtype of '{column}': format {format:?}: {e}")))
}

/// A lazy table over CSV files: `npaths` paths, each a file, a directory (its `.csv`, `.tsv`
/// and `.txt` files at every level) or a glob pattern. `options` NULL means the defaults.
/// Each file is scanned once now for its record ends (a quoted field holding newlines is
/// never cut) and the column types inferred from the start of the first one; nothing is
/// decoded until computed. Errors name the file: a missing path, an unclosed quote, headers
/// that differ, a dtype for no column. `*out_table` is owned by the caller
/// (`dask_table_free`). Any thread.
///
/// # Safety
/// `paths` holds `npaths` NUL-terminated strings; `options` NULL or initialised by
/// `dask_csv_options_init`; `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_read_csv(
    paths: *const *const c_char,
    npaths: usize,
    options: *const dask_csv_options,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let paths = unsafe { strings(paths, npaths, "paths") }?;
        // SAFETY: per the contract.
        let o = unsafe { read_options(options) }?;
        // SAFETY (each list): per the contract, `n` strings or NULL.
        let list = |p: *const *const c_char, n: usize, what: &str| -> Result<Option<Vec<String>>> {
            if p.is_null() {
                return Ok(None);
            }
            unsafe { strings(p, n, what) }.map(Some)
        };
        let names = list(o.names, o.nnames, "options.names")?;
        let columns = list(o.columns, o.ncolumns, "options.columns")?;
        let na_values = list(o.na_values, o.nna_values, "options.na_values")?.unwrap_or_default();
        let dtype_columns = list(o.dtype_columns, o.ndtypes, "options.dtype_columns")?;
        let dtype_formats = list(o.dtype_formats, o.ndtypes, "options.dtype_formats")?;
        let dtypes = match (dtype_columns, dtype_formats) {
            (None, None) => vec![],
            (Some(c), Some(f)) => c
                .into_iter()
                .zip(f)
                .map(|(c, f)| format_type(&f, &c).map(|t| (c, t)))
                .collect::<Result<Vec<_>>>()?,
            _ => {
                return Err(Error::NullArgument(
                    "options.dtype_columns and options.dtype_formats go together".into(),
                ))
            }
        };
        let filters = if o.filter.is_null() {
            None
        } else {
            // SAFETY: per the contract.
            Some(unsafe { expr_arg(o.filter) }?.clone())
        };
        let defaults = CsvOptions::default();
        let read = CsvOptions {
            blocksize: if o.blocksize == 0 {
                defaults.blocksize
            } else {
                o.blocksize
            },
            header: o.header != 0,
            names,
            dtypes,
            delimiter: byte(o.delimiter, "delimiter")?,
            quote: byte(o.quote, "quote")?,
            escape: match o.escape {
                0 => None,
                e => Some(byte(e, "escape")?),
            },
            na_values,
            empty_strings: o.empty_strings != 0,
            columns,
            filters,
            bad_rows: if o.skip_bad_rows != 0 {
                BadRows::Skip
            } else {
                BadRows::Error
            },
            ..defaults
        };
        put_table(out_table, read_csv(&paths, &read)?)
    })
}

/// Writes `table` into the directory `dir` (made if missing), computing it on `client`: a
/// file `part.NNNNN.csv` per partition, each with a header line when `header` is nonzero,
/// fields separated by `delimiter`, written under a temporary name and renamed when
/// complete. Everything given is borrowed for the call. `*out_rows` (may be NULL): rows
/// written. Blocks; any thread.
///
/// # Safety
/// `client`, `table` live handles; `dir` a NUL-terminated string; `out_rows` NULL or valid
/// for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_write_csv(
    client: *const dask_client,
    table: *const dask_table,
    dir: *const c_char,
    header: u32,
    delimiter: u32,
    out_rows: *mut u64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let dir = unsafe { c_str(dir, "dir") }?;
        let options = CsvWriteOptions {
            header: header != 0,
            delimiter: byte(delimiter, "delimiter")?,
        };
        let rows = write_csv(t, dir, &options, c)?;
        // SAFETY: per the contract, NULL or writable.
        if let Some(slot) = unsafe { out_rows.as_mut() } {
            *slot = rows;
        }
        Ok(())
    })
}
