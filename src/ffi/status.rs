//! Status codes of the C ABI, and the one mapping from [`Error`] to them.

use crate::error::Error;
use std::ffi::c_char;

/// The result of a fallible call: `DASK_OK` (0) or one of the `DASK_ERR_*` codes. The text of
/// the failure is in `dask_last_error_message()`.
#[allow(non_camel_case_types)]
pub type dask_status = i32;

/// Success.
pub const DASK_OK: dask_status = 0;
/// An argument was invalid (value out of range, wrong length, …).
pub const DASK_ERR_INVALID_ARGUMENT: dask_status = 1;
/// A required pointer was NULL.
pub const DASK_ERR_NULL_ARGUMENT: dask_status = 2;
/// A handle was freed already, or is not of the expected type.
pub const DASK_ERR_INVALID_HANDLE: dask_status = 3;
/// The graph is malformed: a cycle, a missing key, a duplicate key, a bad output index.
pub const DASK_ERR_GRAPH: dask_status = 4;
/// A task failed (or depends on one that failed); the message names the failing key.
pub const DASK_ERR_TASK: dask_status = 5;
/// The task was cancelled (by the user, or because the client was closed).
pub const DASK_ERR_CANCELLED: dask_status = 6;
/// A wait timed out; the work goes on.
pub const DASK_ERR_TIMEOUT: dask_status = 7;
/// A name was not found (operation, key).
pub const DASK_ERR_NOT_FOUND: dask_status = 8;
/// A name is taken already.
pub const DASK_ERR_ALREADY_EXISTS: dask_status = 9;
/// Wrong element type.
pub const DASK_ERR_DTYPE: dask_status = 10;
/// Wrong shape.
pub const DASK_ERR_SHAPE: dask_status = 11;
/// The client was closed.
pub const DASK_ERR_CLOSED: dask_status = 12;
/// An operating-system error (files, threads).
pub const DASK_ERR_IO: dask_status = 13;
/// The library panicked internally; the panic was contained and nothing was changed.
pub const DASK_ERR_PANIC: dask_status = 14;
/// No implementation for these operands (e.g. a ufunc an array kind does not implement);
/// also what a C array kind returns to decline a ufunc.
pub const DASK_ERR_NOT_IMPLEMENTED: dask_status = 15;
/// Stored or received data failed its checks (checksum, lengths, format): a corrupt or
/// truncated spill file or message. The message names the key or file.
pub const DASK_ERR_CORRUPT: dask_status = 16;
/// Memory ran out and spilling could not free it (disk full, disk limit reached, values
/// that cannot be serialized).
pub const DASK_ERR_MEMORY: dask_status = 17;

pub(crate) fn status_of(e: &Error) -> dask_status {
    match e {
        Error::InvalidArgument(_) => DASK_ERR_INVALID_ARGUMENT,
        Error::NullArgument(_) => DASK_ERR_NULL_ARGUMENT,
        Error::InvalidHandle(_) => DASK_ERR_INVALID_HANDLE,
        Error::Graph(_) => DASK_ERR_GRAPH,
        Error::Task(t) if t.is_cancelled() => DASK_ERR_CANCELLED,
        Error::Task(_) => DASK_ERR_TASK,
        Error::Timeout(_) => DASK_ERR_TIMEOUT,
        Error::NotFound(_) => DASK_ERR_NOT_FOUND,
        Error::AlreadyExists(_) => DASK_ERR_ALREADY_EXISTS,
        Error::DType(_) => DASK_ERR_DTYPE,
        Error::Shape(_) => DASK_ERR_SHAPE,
        Error::Closed(_) => DASK_ERR_CLOSED,
        Error::Io(_) => DASK_ERR_IO,
        Error::Panic(_) => DASK_ERR_PANIC,
        Error::NotImplemented(_) => DASK_ERR_NOT_IMPLEMENTED,
        Error::Corrupt(_) => DASK_ERR_CORRUPT,
        Error::Memory(_) => DASK_ERR_MEMORY,
    }
}

pub(crate) fn status_name(status: dask_status) -> String {
    // SAFETY: `dask_status_name` returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(dask_status_name(status)) }
        .to_string_lossy()
        .into_owned()
}

/// The error for a status code a callback returned (so the caller sees the same code).
pub(crate) fn error_from_status(status: dask_status, message: String) -> Error {
    match status {
        DASK_ERR_NULL_ARGUMENT => Error::NullArgument(message),
        DASK_ERR_INVALID_HANDLE => Error::InvalidHandle(message),
        DASK_ERR_GRAPH => Error::Graph(message),
        DASK_ERR_NOT_FOUND => Error::NotFound(message),
        DASK_ERR_ALREADY_EXISTS => Error::AlreadyExists(message),
        DASK_ERR_DTYPE => Error::DType(message),
        DASK_ERR_SHAPE => Error::Shape(message),
        DASK_ERR_CLOSED => Error::Closed(message),
        DASK_ERR_IO => Error::Io(message),
        DASK_ERR_NOT_IMPLEMENTED => Error::NotImplemented(message),
        DASK_ERR_CORRUPT => Error::Corrupt(message),
        DASK_ERR_MEMORY => Error::Memory(message),
        _ => Error::InvalidArgument(message),
    }
}

/// The name of a status code ("DASK_ERR_TASK"), or "DASK_ERR_UNKNOWN". Static storage. Any thread.
#[no_mangle]
pub extern "C" fn dask_status_name(status: dask_status) -> *const c_char {
    let name: &'static std::ffi::CStr = match status {
        DASK_OK => c"DASK_OK",
        DASK_ERR_INVALID_ARGUMENT => c"DASK_ERR_INVALID_ARGUMENT",
        DASK_ERR_NULL_ARGUMENT => c"DASK_ERR_NULL_ARGUMENT",
        DASK_ERR_INVALID_HANDLE => c"DASK_ERR_INVALID_HANDLE",
        DASK_ERR_GRAPH => c"DASK_ERR_GRAPH",
        DASK_ERR_TASK => c"DASK_ERR_TASK",
        DASK_ERR_CANCELLED => c"DASK_ERR_CANCELLED",
        DASK_ERR_TIMEOUT => c"DASK_ERR_TIMEOUT",
        DASK_ERR_NOT_FOUND => c"DASK_ERR_NOT_FOUND",
        DASK_ERR_ALREADY_EXISTS => c"DASK_ERR_ALREADY_EXISTS",
        DASK_ERR_DTYPE => c"DASK_ERR_DTYPE",
        DASK_ERR_SHAPE => c"DASK_ERR_SHAPE",
        DASK_ERR_CLOSED => c"DASK_ERR_CLOSED",
        DASK_ERR_IO => c"DASK_ERR_IO",
        DASK_ERR_PANIC => c"DASK_ERR_PANIC",
        DASK_ERR_NOT_IMPLEMENTED => c"DASK_ERR_NOT_IMPLEMENTED",
        DASK_ERR_CORRUPT => c"DASK_ERR_CORRUPT",
        DASK_ERR_MEMORY => c"DASK_ERR_MEMORY",
        _ => c"DASK_ERR_UNKNOWN",
    };
    name.as_ptr()
}
