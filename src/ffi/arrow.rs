//! C ABI: the Arrow C data and stream interfaces, both ways. A table's schema and its
//! computed partitions leave as `struct ArrowSchema` / `struct ArrowArrayStream`, which
//! DuckDB, polars, pyarrow, nanoarrow and arrow-rs consumers take without a copy; any
//! producer's stream comes in as a table whose partitions keep the producer's buffers.
//!
//! The structs are Arrow's ABI (defined in the header under Arrow's own include guards, so
//! a program that also includes another definition of them compiles). A struct handed out
//! is owned by the caller: call its `release` when done. A stream handed in is taken over (its
//! `release` is set to NULL, Arrow's "moved" mark).

use super::client::dask_client;
use super::table::{dask_table, put_table, table_arg};
use super::value::{dask_value, value_arg};
use super::{dask_status, guard, out};
use crate::error::{Error, Result};
use crate::table::Table;
use crate::value::Value;
use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::RecordBatchReader;
use arrow_array::{Array, StructArray};

/// Writes `value` into the caller's uninitialised struct (nothing there is dropped).
fn emit<T>(slot: *mut T, what: &str, value: T) -> Result<()> {
    // SAFETY: the exported functions pass their out-pointer, valid for writes per their
    // contract; `write` does not read or drop what was there.
    let slot = unsafe { out(slot, what) }?;
    unsafe { std::ptr::write(slot, value) };
    Ok(())
}

/// The table's schema as an Arrow C schema (a struct type whose children are the columns),
/// known without computing. `*out_schema` is owned by the caller: call `out_schema->release`.
/// Any thread.
///
/// # Safety
/// `table` a live table handle; `out_schema` valid for writes of a `struct ArrowSchema`.
#[no_mangle]
pub unsafe extern "C" fn dask_table_schema(
    table: *const dask_table,
    out_schema: *mut FFI_ArrowSchema,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let t = unsafe { table_arg(table) }?;
        let schema = FFI_ArrowSchema::try_from(t.schema().as_ref())
            .map_err(|e| Error::invalid(format!("exporting the schema: {e}")))?;
        emit(out_schema, "out_schema", schema)
    })
}

/// Computes `table` on `client` as an Arrow C stream of its partitions, in order: each
/// `get_next` hands out the next partition as a struct array (the producer's buffers, no
/// copy), then the end-of-stream mark. At most `ahead` finished partitions wait for the
/// consumer (0: twice the client's threads), so a table larger than memory streams through
/// in bounded memory. Releasing the stream early cancels the rest. `*out_stream` is the
/// caller's (owned by the caller): call `out_stream->release`. Starts now and returns;
/// `get_next` blocks until its partition is computed. Any thread; the stream may then move
/// to another thread, used by one thread at a time.
///
/// # Safety
/// `client`, `table` live handles; `out_stream` valid for writes of a
/// `struct ArrowArrayStream`.
#[no_mangle]
pub unsafe extern "C" fn dask_table_to_stream(
    client: *const dask_client,
    table: *const dask_table,
    ahead: usize,
    out_stream: *mut FFI_ArrowArrayStream,
) -> dask_status {
    guard(|| {
        if out_stream.is_null() {
            return Err(Error::NullArgument("out_stream is NULL".into()));
        }
        // SAFETY: per the contract.
        let c = unsafe { super::handle::get(client) }?;
        let t = unsafe { table_arg(table) }?;
        let ahead = if ahead == 0 { 2 * c.threads() } else { ahead };
        let stream = t.stream(c, ahead)?;
        emit(
            out_stream,
            "out_stream",
            FFI_ArrowArrayStream::new(Box::new(stream) as Box<dyn RecordBatchReader + Send>),
        )
    })
}

/// A table of what an Arrow C stream produces (any producer: DuckDB's
/// `duckdb_result_arrow_array`-based streams, polars, pyarrow's `_export_to_c`,
/// nanoarrow), one partition per batch. The stream is read to its end now and released;
/// the batches keep the producer's buffers (released when the table's last use of them
/// goes). Column types a table cannot hold are an error naming the column; the stream is
/// released in every case, and `stream->release` is NULL afterwards. `*out_table` is the
/// caller's (owned by the caller). Any thread.
///
/// # Safety
/// `stream` points to a valid `struct ArrowArrayStream` (not released); `out_table` valid
/// for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_table_from_stream(
    stream: *mut FFI_ArrowArrayStream,
    out_table: *mut *mut dask_table,
) -> dask_status {
    guard(|| {
        if stream.is_null() {
            return Err(Error::NullArgument("stream is NULL".into()));
        }
        // SAFETY: non-NULL, valid per the contract; `from_raw` moves it out, leaving the
        // caller's struct released.
        let reader = unsafe { RecordBatchStreamReader::from_raw(stream) }
            .map_err(|e| Error::invalid(format!("reading the Arrow stream: {e}")))?;
        let schema = reader.schema();
        let batches = reader
            .enumerate()
            .map(|(i, b)| b.map_err(|e| Error::invalid(format!("Arrow stream batch {i}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        put_table(out_table, Table::from_batches(schema, batches)?)
    })
}

/// A table partition value (a `DASK_VALUE_TABLE`, e.g. the result of `dask_table_submit`)
/// as an Arrow C struct array and its schema, without copying: the array refers to the
/// value's buffers and keeps them alive until released, so `value` may be freed first.
/// `*out_schema` and `*out_array` are owned by the caller: call each one's `release`.
/// Any thread.
///
/// # Safety
/// `value` a live value handle; `out_schema` and `out_array` valid for writes of a
/// `struct ArrowSchema` and a `struct ArrowArray`.
#[no_mangle]
pub unsafe extern "C" fn dask_value_table_export(
    value: *const dask_value,
    out_schema: *mut FFI_ArrowSchema,
    out_array: *mut FFI_ArrowArray,
) -> dask_status {
    guard(|| {
        if out_schema.is_null() || out_array.is_null() {
            return Err(Error::NullArgument(
                "out_schema or out_array is NULL".into(),
            ));
        }
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let Value::Table(batch) = &**v else {
            return Err(Error::invalid(format!(
                "a {} value is not a table partition",
                v.kind_name()
            )));
        };
        let data = StructArray::from(batch.clone()).into_data();
        let (array, schema) = arrow_array::ffi::to_ffi(&data)
            .map_err(|e| Error::invalid(format!("exporting the partition: {e}")))?;
        emit(out_schema, "out_schema", schema)?;
        emit(out_array, "out_array", array)
    })
}
