//! C ABI: lazy tables (`dask::table`): reading Parquet, inspecting the schema without
//! computing, projection, filters, reductions, group-by, head, conversion to an array, and
//! writing Parquet. Computed rows leave through the Arrow C stream interface (`arrow.rs`).

use super::array::{dask_array, put_operand};
use super::client::dask_client;
use super::expr::{dask_expr, expr_arg};
use super::handle::{self, handle_type, Shell};
use super::{c_str, dask_status, guard, guard_void, out, owned_c_string, slice};
use crate::array::Operand;
use crate::error::{Error, Result};
use crate::io::parquet::{read_parquet, write_parquet, Engine, ReadOptions, WriteOptions};
use crate::table::{Agg, AggFn, NanOrder, SortOrder, Table};
use crate::value::DType;
use std::ffi::{c_char, CString};

/// A table and the C strings the schema lends to callers (names and Arrow format strings),
/// made once so a lent pointer stays valid for the handle's life.
pub(crate) struct TableHandle {
    pub(crate) table: Table,
    names: Vec<CString>,
    formats: Vec<CString>,
}

impl TableHandle {
    pub(crate) fn new(table: Table) -> Result<TableHandle> {
        let c = |s: &str| CString::new(s.replace('\0', " ")).unwrap_or_default();
        let fields = table.schema().fields();
        let names = fields.iter().map(|f| c(f.name())).collect();
        let formats = fields
            .iter()
            .map(|f| {
                arrow_schema::ffi::FFI_ArrowSchema::try_from(f.data_type())
                    .map(|s| c(s.format()))
                    .map_err(|e| Error::invalid(format!("column {:?}: {e}", f.name())))
            })
            .collect::<Result<_>>()?;
        Ok(TableHandle {
            table,
            names,
            formats,
        })
    }
}

/// A lazy table: a schema and partitions, computed when asked (`dask_table_to_stream`, …).
/// Opaque; immutable (operations return new tables), so it may be shared between threads.
pub struct dask_table(Shell<TableHandle>);
handle_type!(dask_table, TableHandle, 0x6461_736b_7462_6c65, "dask_table");

/// The table behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a table handle.
pub(crate) unsafe fn table_arg<'a>(ptr: *const dask_table) -> Result<&'a Table> {
    // SAFETY: per the contract.
    Ok(&unsafe { handle::get(ptr) }?.table)
}

pub(crate) fn put_table(slot: *mut *mut dask_table, t: Table) -> Result<()> {
    // SAFETY: callers pass their out-pointer argument, valid per their contract.
    let slot = unsafe { out(slot, "out_table") }?;
    *slot = handle::new_handle(TableHandle::new(t)?);
    Ok(())
}

/// `n` C strings (NULL allowed when n is 0), copied.
pub(crate) unsafe fn strings(
    ptr: *const *const c_char,
    n: usize,
    what: &str,
) -> Result<Vec<String>> {
    // SAFETY: per the caller's contract.
    unsafe { slice(ptr, n, what) }?
        .iter()
        .enumerate()
        // SAFETY: per the caller's contract, each entry is a NUL-terminated string.
        .map(|(i, &s)| unsafe { c_str(s, &format!("{what}[{i}]")) }.map(str::to_string))
        .collect()
}

/// How `dask_read_parquet` reads (a versioned input struct: `dask_parquet_options_init(&o,
/// sizeof o)` first, then set fields). Everything is copied during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_parquet_options {
    /// `sizeof(dask_parquet_options)` as the caller was compiled; set by the init function.
    pub struct_size: u32,
    /// Nonzero: a partition per row group instead of one per file. Default 0.
    pub split_row_groups: u32,
    /// Only these `ncolumns` columns, in this order; NULL (the default): all of them, the
    /// files' then the hive keys'.
    pub columns: *const *const c_char,
    pub ncolumns: usize,
    /// Only the rows where this expression is true; row groups (and files, by their hive
    /// keys) whose statistics rule a match out are not read. NULL (the default): all rows.
    pub filter: *const dask_expr,
    /// Which reader decodes the columns: "auto" (the default, also for NULL), "arrow" (the
    /// parquet crate's Arrow reader for every column) or "column" (its typed column readers
    /// for the flat numeric columns, straight into the table's buffers). The same table
    /// either way. Callers compiled before this field existed get "auto".
    pub engine: *const c_char,
}

fn read_defaults(struct_size: u32) -> dask_parquet_options {
    dask_parquet_options {
        struct_size,
        split_row_groups: 0,
        columns: std::ptr::null(),
        ncolumns: 0,
        filter: std::ptr::null(),
        engine: std::ptr::null(),
    }
}

super::versioned::input_struct!(
    dask_parquet_options,
    read_defaults,
    init_read_options,
    read_options,
    [split_row_groups, columns, ncolumns, filter, engine]
);

/// Fills `*options` (whose `struct_size` bytes are the caller's `sizeof`) with the defaults
/// and sets its `struct_size`. Any thread; nothing to free.
///
/// # Safety
/// `options` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_parquet_options_init(
    options: *mut dask_parquet_options,
    struct_size: usize,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| unsafe { init_read_options(options, struct_size) })
}

/// A lazy table over Parquet files: `npaths` paths, each a file or a directory (its
/// `.parquet` files at every level, hive `key=value` directories becoming columns).
/// `options` NULL means the defaults. Reads every footer now (schema, row groups, row
/// counts) and no data. Errors name the file (and column): a missing path, a file that is
/// not Parquet, an unknown column, schemas that differ. `*out_table` is owned by the caller
/// (`dask_table_free`). Any thread.
///
/// # Safety
/// `paths` holds `npaths` NUL-terminated strings; `options` NULL or initialised by
/// `dask_parquet_options_init`; `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_read_parquet(
    paths: *const *const c_char,
    npaths: usize,
    options: *const dask_parquet_options,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let paths = unsafe { strings(paths, npaths, "paths") }?;
        // SAFETY: per the contract.
        let o = unsafe { read_options(options) }?;
        let columns = if o.columns.is_null() {
            None
        } else {
            // SAFETY: per the contract.
            Some(unsafe { strings(o.columns, o.ncolumns, "options.columns") }?)
        };
        let filters = if o.filter.is_null() {
            None
        } else {
            // SAFETY: per the contract.
            Some(unsafe { expr_arg(o.filter) }?.clone())
        };
        let engine = if o.engine.is_null() {
            Engine::Auto
        } else {
            // SAFETY: per the contract.
            Engine::from_name(unsafe { c_str(o.engine, "options.engine") }?)?
        };
        let read = ReadOptions {
            columns,
            split_row_groups: o.split_row_groups != 0,
            filters,
            partition_types: vec![],
            engine,
        };
        put_table(out_table, read_parquet(&paths, &read)?)
    })
}

/// Number of columns. `table` is borrowed for the call. Any thread.
///
/// # Safety
/// `table` a live table handle; `out_n` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_num_columns(
    table: *const dask_table,
    out_n: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_n, "out_n") }?;
        *slot = unsafe { table_arg(table) }?.schema().fields().len();
        Ok(())
    })
}

/// The name of column `i`, lent: valid while `table` is alive; do not free it. Any thread.
///
/// # Safety
/// `table` a live table handle; `out_name` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_column_name(
    table: *const dask_table,
    i: usize,
    out_name: *mut *const c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_name, "out_name") }?;
        let h = unsafe { handle::get(table) }?;
        *slot = column(&h.names, i)?.as_ptr();
        Ok(())
    })
}

/// The type of column `i` as its Arrow C data interface format string ("l" int64, "g"
/// float64, "u" utf8, "tdD" date32, "tsu:UTC" timestamp[us, UTC], "c" int8 … ; a dictionary
/// column gives its index type, e.g. "i" for int32 codes: `dask_table_schema` has the
/// whole type). Lent: valid while `table` is alive. Any thread.
///
/// # Safety
/// `table` a live table handle; `out_format` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_column_type(
    table: *const dask_table,
    i: usize,
    out_format: *mut *const c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_format, "out_format") }?;
        let h = unsafe { handle::get(table) }?;
        *slot = column(&h.formats, i)?.as_ptr();
        Ok(())
    })
}

fn column(list: &[CString], i: usize) -> Result<&CString> {
    list.get(i)
        .ok_or_else(|| Error::invalid(format!("column {i} of a table of {} columns", list.len())))
}

/// Number of partitions. `table` is borrowed for the call. Any thread.
///
/// # Safety
/// `table` a live table handle; `out_n` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_num_partitions(
    table: *const dask_table,
    out_n: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_n, "out_n") }?;
        *slot = unsafe { table_arg(table) }?.num_partitions();
        Ok(())
    })
}

/// Rows of the table when known without computing (from file metadata, before any filter),
/// else -1. `table` is borrowed for the call. Any thread.
///
/// # Safety
/// `table` a live table handle; `out_rows` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_num_rows(
    table: *const dask_table,
    out_rows: *mut i64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_rows, "out_rows") }?;
        *slot = unsafe { table_arg(table) }?
            .num_rows()
            .map_or(-1, |n| n as i64);
        Ok(())
    })
}

/// What the table is, without computing: partitions, rows where known, a line per column
/// with its type. A new string owned by the caller (free it with `dask_string_free`). Any thread.
///
/// # Safety
/// `table` a live table handle; `out_string` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_describe(
    table: *const dask_table,
    out_string: *mut *mut c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_string, "out_string") }?;
        *slot = owned_c_string(&unsafe { table_arg(table) }?.describe());
        Ok(())
    })
}

/// Columns `columns` (n names), in that order (lazy). An unknown name is an error now.
/// `*out_table` is owned by the caller. Any thread.
///
/// # Safety
/// `table` a live table handle; `columns` holds `n` NUL-terminated strings; `out_table`
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_select(
    table: *const dask_table,
    columns: *const *const c_char,
    n: usize,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let cols = unsafe { strings(columns, n, "columns") }?;
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        put_table(out_table, t.select(&cols)?)
    })
}

/// The rows where `filter` is true (lazy; rows where it is null are dropped, as in SQL and
/// pandas). Unknown columns and literals of the wrong type are errors now. `filter` is
/// copied; `*out_table` is owned by the caller. Any thread.
///
/// # Safety
/// `table` a live table handle; `filter` a live expression handle; `out_table` valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_filter(
    table: *const dask_table,
    filter: *const dask_expr,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let e = unsafe { expr_arg(filter) }?;
        put_table(out_table, t.filter(e)?)
    })
}

/// The table with column `name` computed by `expr` (`dask_expr_call` on columns and
/// literals: `exp(x) * 2 + y`), replacing the column of that name or added after the
/// others (lazy: the whole expression one fused ufunc program per partition). Unknown
/// columns or ufuncs and non-numeric operands are errors now. `name` and `expr` are copied;
/// `*out_table` is owned by the caller. Any thread.
///
/// # Safety
/// `table` a live table handle; `name` a NUL-terminated string; `expr` a live expression
/// handle; `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_with_column(
    table: *const dask_table,
    name: *const c_char,
    expr: *const dask_expr,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let name = unsafe { c_str(name, "name") }?;
        let e = unsafe { expr_arg(expr) }?;
        put_table(out_table, t.with_column(name, e)?)
    })
}

/// The table sorted by `column` (ascending unless `descending`; nulls and NaN last either
/// way, as pandas' `na_position="last"`; `dask_table_sort_by` chooses otherwise), as
/// many partitions as it has (one when every key is null): the partitions' boundaries come from a sample of every
/// partition's keys, computed now on `client` (this blocks); sorting the rows is lazy.
/// Concatenated in order, the partitions are the table sorted, stably (rows with equal keys
/// keep their order). `*out_table` is owned by the
/// caller. Any thread.
///
/// # Safety
/// `client`, `table` live handles; `column` a NUL-terminated string; `out_table` valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_sort(
    client: *const dask_client,
    table: *const dask_table,
    column: *const c_char,
    descending: bool,
    out_table: *mut *mut dask_table,
) -> dask_status {
    // SAFETY: the same contract.
    unsafe {
        dask_table_sort_by(
            client,
            table,
            column,
            descending,
            false,
            DASK_NAN_WITH_NULLS,
            out_table,
        )
    }
}

/// Where `dask_table_sort_by` puts NaN keys of a float column.
pub type dask_nan_order = u32;
/// With the nulls (pandas, Dask, R: NaN is a missing value; -0.0 and 0.0 equal keys); the
/// default of `dask_table_sort`.
pub const DASK_NAN_WITH_NULLS: dask_nan_order = 0;
/// Above every number, whatever the NaN's sign bit; nulls above them; -0.0 before 0.0
/// (Julia's `isless`).
pub const DASK_NAN_LARGEST: dask_nan_order = 1;

/// `dask_table_sort` with the place of nulls and NaN keys chosen: nulls before every other
/// key when `nulls_first` (after them otherwise), in either direction; NaN as `nan` says.
/// Julia's `sort(rev = r)` is `descending = r, nulls_first = r, DASK_NAN_LARGEST`; R's
/// `order(decreasing = d)` is `descending = d, nulls_first = false, DASK_NAN_WITH_NULLS`.
/// `*out_table` is owned by the caller. Any thread.
///
/// # Safety
/// `client`, `table` live handles; `column` a NUL-terminated string; `out_table` valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_sort_by(
    client: *const dask_client,
    table: *const dask_table,
    column: *const c_char,
    descending: bool,
    nulls_first: bool,
    nan: dask_nan_order,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let column = unsafe { c_str(column, "column") }?;
        let nan = match nan {
            DASK_NAN_WITH_NULLS => NanOrder::WithNulls,
            DASK_NAN_LARGEST => NanOrder::Largest,
            other => {
                return Err(Error::invalid(format!(
                    "nan order {other} (DASK_NAN_WITH_NULLS is 0, DASK_NAN_LARGEST 1)"
                )))
            }
        };
        let order = SortOrder {
            descending,
            nulls_first,
            nan,
        };
        put_table(out_table, t.sort_by(column, order, c)?)
    })
}

/// One aggregation (an element struct passed in arrays; its layout never changes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_agg {
    /// "sum", "mean", "min", "max", "count" (non-null values), "null_count", "n_unique",
    /// "var" or "std".
    pub func: *const c_char,
    /// The column aggregated.
    pub column: *const c_char,
    /// The output column's name; NULL: "<column>_<func>".
    pub name: *const c_char,
    /// For "var" and "std": delta degrees of freedom, 1 for the sample variance (R's `var`,
    /// pandas' default), 0 for the population's. Ignored by the others.
    pub ddof: u32,
    /// false: nulls are skipped (Arrow, SQL, pandas, polars); true: a group holding a null
    /// gives null (R without `na.rm`, Julia's `sum` over `missing`). For sum, mean, min,
    /// max, var and std (an error for the counts).
    pub keep_nulls: bool,
}

unsafe fn aggs_arg(aggs: *const dask_agg, n: usize) -> Result<Vec<Agg>> {
    // SAFETY: per the caller's contract.
    let list = unsafe { slice(aggs, n, "aggs") }?;
    if list.is_empty() {
        return Err(Error::invalid("no aggregations given"));
    }
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            // SAFETY: per the caller's contract, the strings are NUL-terminated.
            let func = unsafe { c_str(a.func, &format!("aggs[{i}].func")) }?;
            let column = unsafe { c_str(a.column, &format!("aggs[{i}].column")) }?;
            let func = match AggFn::from_label(func) {
                Some(AggFn::Var { .. }) => AggFn::Var { ddof: a.ddof },
                Some(AggFn::Std { .. }) => AggFn::Std { ddof: a.ddof },
                Some(f) => f,
                None => {
                    return Err(Error::invalid(format!(
                        "aggs[{i}].func {func:?} (sum, mean, min, max, count, null_count, \
                         n_unique, var or std)"
                    )))
                }
            };
            let agg = Agg::new(func, column).keep_nulls(a.keep_nulls);
            Ok(if a.name.is_null() {
                agg
            } else {
                // SAFETY: as above.
                agg.alias(unsafe { c_str(a.name, &format!("aggs[{i}].name")) }?)
            })
        })
        .collect()
}

/// Reductions of whole columns: a one-row table of the `n` aggregations (lazy; checked
/// now: unknown columns, a function the column's type lacks, clashing names). Nulls are
/// skipped; integer sums are exact (an overflow is an error). `*out_table` is owned by the caller.
/// Any thread.
///
/// # Safety
/// `table` a live table handle; `aggs` holds `n` entries whose strings are NUL-terminated;
/// `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_agg(
    table: *const dask_table,
    aggs: *const dask_agg,
    n: usize,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let aggs = unsafe { aggs_arg(aggs, n) }?;
        put_table(out_table, t.agg(&aggs)?)
    })
}

/// Group-by aggregation: one row per distinct value of the `nkeys` key columns, the keys
/// then the `naggs` aggregations, sorted by the keys (nulls last) (lazy; checked now).
/// `dropna`: rows with a null key are left out (pandas' and R's default) or, false, make
/// groups of their own (SQL's). `*out_table` is owned by the caller. Any thread.
///
/// # Safety
/// `table` a live table handle; `keys` holds `nkeys` NUL-terminated strings; `aggs`
/// `naggs` entries; `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_group_by(
    table: *const dask_table,
    keys: *const *const c_char,
    nkeys: usize,
    dropna: bool,
    aggs: *const dask_agg,
    naggs: usize,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let keys = unsafe { strings(keys, nkeys, "keys") }?;
        if keys.is_empty() {
            return Err(Error::invalid(
                "group_by: no keys given (dask_table_agg reduces whole columns)",
            ));
        }
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let aggs = unsafe { aggs_arg(aggs, naggs) }?;
        put_table(out_table, t.group_by(&keys).dropna(dropna).agg(&aggs)?)
    })
}

/// The first `n` rows, computed now on `client` (partitions in order until n are found; a
/// Parquet source without a filter reads only the row groups holding them), as a computed
/// table of one partition. `*out_table` is owned by the caller. Blocks; any thread.
///
/// # Safety
/// `client`, `table` live handles; `out_table` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_head(
    client: *const dask_client,
    table: *const dask_table,
    n: usize,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let batch = t.head(n, c)?;
        put_table(
            out_table,
            Table::from_batches(t.schema().clone(), vec![batch])?,
        )
    })
}

/// Starts computing all of `table` on `client` into one partition and writes a future
/// (owned by the caller, `dask_future_free`) whose value is that partition (read it with
/// `dask_value_table_export`). Does not block: hosts with an event loop wait on the future
/// without blocking (`dask_future_add_done_callback`), and `dask_future_cancel` stops the
/// whole computation. `table` is borrowed for the call. Any thread.
///
/// # Safety
/// `client`, `table` live handles; `out_future` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_submit(
    client: *const dask_client,
    table: *const dask_table,
    out_future: *mut *mut super::future::dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_future, "out_future") }?;
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        *slot = handle::new_handle(t.submit(c)?);
        Ok(())
    })
}

/// Numeric (and boolean) `columns` (n names) as a 2-D array with a row block per partition,
/// of their common type (NumPy's promotion) or of `dtype` (0: promote). Nulls are NaN in a
/// float array and an error in an integer one. Computed now on `client` (the blocks stay in
/// the store, held by the array, as Dask's `to_dask_array(lengths=True)`). `*out_array` is
/// owned by the caller (`dask_array_free`). Blocks; any thread.
///
/// # Safety
/// `client`, `table` live handles; `columns` holds `n` NUL-terminated strings; `out_array`
/// valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_to_array(
    client: *const dask_client,
    table: *const dask_table,
    columns: *const *const c_char,
    n: usize,
    dtype: super::value::dask_dtype,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let cols = unsafe { strings(columns, n, "columns") }?;
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        let dtype = match dtype {
            0 => None,
            d => Some(DType::from_code(d)?),
        };
        put_operand(slot, Operand::Array(t.to_array(&cols, dtype, c)?))
    })
}

/// How `dask_table_write_parquet` writes (a versioned input struct:
/// `dask_parquet_write_options_init(&o, sizeof o)` first). Copied during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_parquet_write_options {
    /// `sizeof(dask_parquet_write_options)` as the caller was compiled.
    pub struct_size: u32,
    /// Columns (`npartition_on`) whose values name hive directories `key=value/`: integers,
    /// dates and strings; left out of the files. NULL (the default): none.
    pub partition_on: *const *const c_char,
    pub npartition_on: usize,
    /// "snappy" (the default, NULL), "zstd", "lz4", "gzip" or "none".
    pub compression: *const c_char,
    /// Rows per row group; 0 (the default): the writer's, 1,048,576.
    pub row_group_size: u64,
}

fn write_defaults(struct_size: u32) -> dask_parquet_write_options {
    dask_parquet_write_options {
        struct_size,
        partition_on: std::ptr::null(),
        npartition_on: 0,
        compression: std::ptr::null(),
        row_group_size: 0,
    }
}

super::versioned::input_struct!(
    dask_parquet_write_options,
    write_defaults,
    init_write_options,
    write_options,
    [partition_on, npartition_on, compression, row_group_size]
);

/// Fills `*options` with the defaults and sets its `struct_size` (the caller's `sizeof`).
/// Any thread; nothing to free.
///
/// # Safety
/// `options` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_parquet_write_options_init(
    options: *mut dask_parquet_write_options,
    struct_size: usize,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| unsafe { init_write_options(options, struct_size) })
}

/// Writes `table` into the directory `dir` (made if missing; refused if it holds
/// anything), computing it on `client`: a file `part.NNNNN.parquet` per partition (under
/// hive directories with `partition_on`), each written under a temporary name and renamed
/// when complete. `options` NULL: the defaults; everything given is borrowed for the call.
/// `*out_rows` (may be NULL): rows written. Blocks; any thread.
///
/// # Safety
/// `client`, `table` live handles; `dir` a NUL-terminated string; `options` NULL or
/// initialised; `out_rows` NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_write_parquet(
    client: *const dask_client,
    table: *const dask_table,
    dir: *const c_char,
    options: *const dask_parquet_write_options,
    out_rows: *mut u64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let dir = unsafe { c_str(dir, "dir") }?;
        // SAFETY: per the contract.
        let o = unsafe { write_options(options) }?;
        let partition_on = if o.partition_on.is_null() {
            vec![]
        } else {
            // SAFETY: per the contract.
            unsafe { strings(o.partition_on, o.npartition_on, "options.partition_on") }?
        };
        let compression = if o.compression.is_null() {
            "snappy".to_string()
        } else {
            // SAFETY: per the contract.
            unsafe { c_str(o.compression, "options.compression") }?.to_string()
        };
        let write = WriteOptions {
            partition_on,
            compression,
            row_group_size: (o.row_group_size > 0).then_some(o.row_group_size as usize),
        };
        let rows = write_parquet(t, dir, &write, c)?;
        // SAFETY: per the contract, NULL or writable.
        if let Some(slot) = unsafe { out_rows.as_mut() } {
            *slot = rows;
        }
        Ok(())
    })
}

/// Frees a table handle (NULL is a no-op): only this handle's ownership ends; tables made
/// from it keep what they need. Any thread, once per handle, not while another thread
/// still uses it.
///
/// # Safety
/// `table` is NULL or a table handle.
#[no_mangle]
pub unsafe extern "C" fn dask_table_free(table: *mut dask_table) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(table) })
}
