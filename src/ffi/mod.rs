//! The C ABI (`include/dask.h` is generated from these files by cbindgen).
//!
//! Conventions, shared by every function:
//! - fallible functions return a `dask_status` (`DASK_OK` is 0) and write results through
//!   out-parameters; `dask_last_error_message()` gives the text of the last failure on the
//!   calling thread;
//! - handles are opaque; each type has `dask_<type>_free`, which accepts NULL; a freed handle
//!   used again is detected (best effort: recently freed handles are kept in quarantine) and
//!   reported as `DASK_ERR_INVALID_HANDLE`;
//! - panics never cross the boundary: they become `DASK_ERR_PANIC`.
//!
//! This layer converts and forwards; the logic lives in the Rust modules.

#![allow(non_camel_case_types)]

mod array;
mod arrow;
mod client;
mod cluster;
mod csv;
mod expr;
mod future;
mod glm;
mod graph;
mod handle;
mod mpi;
mod op;
mod plugin;
mod progress;
mod slurm;
mod sparse;
mod status;
mod table;
mod ufunc;
mod value;
mod versioned;

pub use array::*;
pub use arrow::*;
pub use client::*;
pub use cluster::*;
pub use expr::*;
pub use future::*;
pub use glm::*;
pub use graph::*;
pub use mpi::*;
pub use op::*;
pub(crate) use plugin::load_plugin_dir;
pub use plugin::*;
pub use progress::*;
pub use slurm::*;
pub use sparse::*;
pub use status::*;
pub use table::*;
pub use ufunc::*;
pub use value::*;

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static CALLBACK_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

/// Runs the body of an exported function: errors become a status and the thread's last error
/// message; a panic becomes `DASK_ERR_PANIC`.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> dask_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => DASK_OK,
        Ok(Err(e)) => {
            set_last_error(&e.to_string());
            status_of(&e)
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal panic: {msg}"));
            DASK_ERR_PANIC
        }
    }
}

/// Like [`guard`] for functions that cannot report a status (the `_free` functions): errors
/// only set the last error message.
pub(crate) fn guard_void(body: impl FnOnce() -> Result<()>) {
    let _ = guard(body);
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string valid for the call.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::NullArgument(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// An out-parameter, checked for NULL.
///
/// # Safety
/// `ptr` is NULL or valid for writes of `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: the caller promises validity when non-null.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::NullArgument(format!("{what} is NULL")))
}

/// An input array of `n` elements (NULL allowed when `n` is 0).
///
/// # Safety
/// `ptr` is valid for reads of `n` elements when `n > 0`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, n: usize, what: &str) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::NullArgument(format!(
            "{what} is NULL but its length is {n}"
        )));
    }
    // SAFETY: non-null, and the caller promises `n` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// A copy of caller data whose size the caller chose: an error, not an abort, when the memory
/// is not there.
pub(crate) fn try_copy<T: Clone>(src: &[T], what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(src.len()).map_err(|_| {
        Error::Memory(format!(
            "cannot allocate {} bytes to copy {what}",
            std::mem::size_of_val(src)
        ))
    })?;
    v.extend_from_slice(src);
    Ok(v)
}

/// A timeout in seconds as the C ABI takes it: negative means wait forever.
pub(crate) fn timeout(seconds: f64) -> Result<Option<std::time::Duration>> {
    if seconds.is_nan() {
        return Err(Error::invalid("timeout is NaN"));
    }
    if seconds < 0.0 || seconds.is_infinite() {
        return Ok(None);
    }
    Ok(Some(std::time::Duration::from_secs_f64(seconds.min(1e9))))
}

/// The message set by the current callback with `dask_error_set`, taken.
pub(crate) fn take_callback_error() -> Option<String> {
    CALLBACK_ERROR.with(|e| e.borrow_mut().take())
}

pub(crate) fn clear_callback_error() {
    CALLBACK_ERROR.with(|e| *e.borrow_mut() = None);
}

/// The major version of the header (and library) the caller compiled against. Compare with
/// `dask_version_number()` at run time to learn which library was loaded.
pub const DASK_VERSION_MAJOR: u32 = 0;
/// The minor version of the header.
pub const DASK_VERSION_MINOR: u32 = 2;
/// The patch version of the header.
pub const DASK_VERSION_PATCH: u32 = 0;
/// `MAJOR * 1000000 + MINOR * 1000 + PATCH` of the header (as `dask_version_number()`).
pub const DASK_VERSION_NUMBER: u32 =
    DASK_VERSION_MAJOR * 1_000_000 + DASK_VERSION_MINOR * 1_000 + DASK_VERSION_PATCH;
/// The ABI version of the header: the N of the soname `libdask.so.N`, bumped only on an
/// incompatible change (compare with `dask_abi_version()`).
pub const DASK_ABI_VERSION: u32 = 1;

const _: () = assert!(DASK_ABI_VERSION == crate::ABI_VERSION);

/// The library's version number, `MAJOR * 1000000 + MINOR * 1000 + PATCH` (compare with
/// `DASK_VERSION_NUMBER` of the header compiled against). Any thread.
#[no_mangle]
pub extern "C" fn dask_version_number() -> u32 {
    DASK_VERSION_NUMBER
}

/// The library version, e.g. "0.2.0". Static storage; never free it. Any thread.
#[no_mangle]
pub extern "C" fn dask_version() -> *const c_char {
    static VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

/// The ABI version (the N of the soname `libdask.so.N`). Any thread.
#[no_mangle]
pub extern "C" fn dask_abi_version() -> u32 {
    crate::ABI_VERSION
}

/// The message of the last failed call on the calling thread ("" if none failed yet).
///
/// The string belongs to the library and stays valid until the next failing call on this
/// thread; copy it to keep it. Any thread (each thread has its own last error).
#[no_mangle]
pub extern "C" fn dask_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Sets the error message of the running task callback: call it from a `dask_task_fn` before
/// returning a non-zero status, and the task fails with this message. `message` is copied;
/// NULL clears it. Call it only from the thread running the callback. The message is kept per
/// thread: it applies to the callback running on the calling thread, and another thread's callback
/// never sees it.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn dask_error_set(message: *const c_char) {
    // SAFETY: forwarded from the caller's contract.
    let text = if message.is_null() {
        None
    } else {
        Some(
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    CALLBACK_ERROR.with(|e| *e.borrow_mut() = text);
}

/// Frees a string returned by the library (e.g. by `dask_future_key`). NULL is a no-op. Only for
/// strings whose ownership the library gave to the caller (so far `dask_future_key`); never for the
/// strings it lends (`dask_last_error_message`, `dask_future_error_message`) or keeps in
/// static storage (`dask_version`, `dask_status_name`). Any thread, once per string.
///
/// # Safety
/// `s` is NULL or a string returned by the library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn dask_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller promises the string came from `CString::into_raw` here.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Copies `s` into a newly allocated C string (freed with `dask_string_free`).
pub(crate) fn owned_c_string(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', " "))
        .unwrap_or_default()
        .into_raw()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_version_constants_are_the_crate_version() {
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(
            super::DASK_VERSION_MAJOR,
            parse(env!("CARGO_PKG_VERSION_MAJOR"))
        );
        assert_eq!(
            super::DASK_VERSION_MINOR,
            parse(env!("CARGO_PKG_VERSION_MINOR"))
        );
        assert_eq!(
            super::DASK_VERSION_PATCH,
            parse(env!("CARGO_PKG_VERSION_PATCH"))
        );
    }
}
