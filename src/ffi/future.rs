//! C ABI: futures.

use super::client::{dask_callback_fn, SendPtr};
use super::handle::{self, handle_type, Shell};
use super::value::{dask_value, ValueRef};
use super::{dask_status, guard, guard_void, out, owned_c_string, slice, timeout};
use crate::error::{Error, Result};
use crate::runtime::{wait_all, AsCompleted, Future, FutureStatus};
use std::ffi::{c_char, c_void};

/// A handle on a task's result. Opaque. Thread-safe: any thread may wait on, query or cancel a
/// future; free it once, when no other thread uses it. While any handle on a result is alive
/// the result stays in memory; freeing the last one frees it (or cancels the task if it has
/// not run and nothing else needs it).
pub struct dask_future(Shell<Future>);
handle_type!(dask_future, Future, 0x6461_736b_6675_7472, "dask_future");

/// Iterates over futures in the order they finish. Opaque; use from one thread at a time.
pub struct dask_as_completed(Shell<AsCompleted>);
handle_type!(
    dask_as_completed,
    AsCompleted,
    0x6461_736b_6173_636d,
    "dask_as_completed"
);

/// Future states (`dask_future_state`).
#[allow(non_camel_case_types)]
pub type dask_future_state = u32;
/// Waiting for its inputs or for a thread.
pub const DASK_FUTURE_PENDING: dask_future_state = 0;
pub const DASK_FUTURE_RUNNING: dask_future_state = 1;
/// Finished with a value.
pub const DASK_FUTURE_FINISHED: dask_future_state = 2;
/// Failed (itself or an input).
pub const DASK_FUTURE_ERROR: dask_future_state = 3;
pub const DASK_FUTURE_CANCELLED: dask_future_state = 4;

/// The future behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a future handle from this library.
pub(crate) unsafe fn future_arg<'a>(ptr: *const dask_future) -> Result<&'a Future> {
    // SAFETY: per the contract.
    unsafe { handle::get(ptr) }
}

/// New references to the futures of a C array of `n` handles.
///
/// # Safety
/// `ptr` holds `n` future handles (NULL allowed when `n` is 0).
pub(crate) unsafe fn future_list(ptr: *const *const dask_future, n: usize) -> Result<Vec<Future>> {
    // SAFETY: per the contract.
    unsafe { slice(ptr, n, "futures") }?
        .iter()
        .map(|&f| unsafe { future_arg(f) }.cloned())
        .collect()
}

/// Writes new handles for `futures` to the array `dst`.
///
/// # Safety
/// `dst` has room for `futures.len()` pointers.
pub(crate) unsafe fn put_futures(futures: Vec<Future>, dst: *mut *mut dask_future) {
    for (i, f) in futures.into_iter().enumerate() {
        // SAFETY: per the contract.
        unsafe { *dst.add(i) = handle::new_handle(f) };
    }
}

/// Frees a future handle. NULL is a no-op. Ownership of this handle ends here: the result is freed
/// with its last handle, and other handles on it (`dask_future_clone`) stay valid. Any thread, but
/// not while another thread still uses this handle.
///
/// # Safety
/// `future` is NULL or a future handle not in use by other threads.
#[no_mangle]
pub unsafe extern "C" fn dask_future_free(future: *mut dask_future) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(future) })
}

/// A second handle on the same result (owned by the caller). Thread-safe.
///
/// # Safety
/// `future` is live; `out_future` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_clone(
    future: *const dask_future,
    out_future: *mut *mut dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?.clone();
        let slot = unsafe { out(out_future, "out_future") }?;
        *slot = handle::new_handle(f);
        Ok(())
    })
}

/// Waits until the task is done (finished, failed or cancelled): `DASK_OK`, or
/// `DASK_ERR_TIMEOUT` after `timeout_seconds` (negative: wait forever). Called from a host
/// thread, it runs queued host tasks while it waits; called inside a task, it runs other pool
/// tasks meanwhile (no deadlock). Thread-safe. `future` is only borrowed for the call;
/// nothing to free.
///
/// # Safety
/// `future` is live.
#[no_mangle]
pub unsafe extern "C" fn dask_future_wait(
    future: *const dask_future,
    timeout_seconds: f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let t = timeout(timeout_seconds)?;
        if !f.is_done() {
            f.check_process()?; // a fork's child: nothing here would ever finish it
        }
        match t {
            None => {
                f.wait();
                Ok(())
            }
            Some(t) if f.wait_timeout(t) => Ok(()),
            Some(t) => Err(Error::Timeout(t)),
        }
    })
}

/// Writes whether the task is done (finished, failed or cancelled). Never blocks. Writes
/// `*out_done` only; nothing to free. Any thread.
///
/// # Safety
/// `future` is live; `out_done` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_is_done(
    future: *const dask_future,
    out_done: *mut bool,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        *unsafe { out(out_done, "out_done") }? = unsafe { future_arg(future) }?.is_done();
        Ok(())
    })
}

/// Writes the state (`DASK_FUTURE_*`). Never blocks. Writes `*out_state` only; nothing to free.
/// Any thread.
///
/// # Safety
/// `future` is live; `out_state` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_status(
    future: *const dask_future,
    out_state: *mut dask_future_state,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let s = unsafe { future_arg(future) }?.status();
        *unsafe { out(out_state, "out_state") }? = match s {
            FutureStatus::Pending => DASK_FUTURE_PENDING,
            FutureStatus::Running => DASK_FUTURE_RUNNING,
            FutureStatus::Finished => DASK_FUTURE_FINISHED,
            FutureStatus::Error => DASK_FUTURE_ERROR,
            FutureStatus::Cancelled => DASK_FUTURE_CANCELLED,
        };
        Ok(())
    })
}

/// Waits (as `dask_future_wait`) and writes a new handle on the result value (owned by the
/// caller; the data is shared, not copied). A failed task gives `DASK_ERR_TASK` and a
/// cancelled one `DASK_ERR_CANCELLED`, with the task's message (naming the failing key) in
/// `dask_last_error_message()`. Thread-safe.
///
/// # Safety
/// `future` is live; `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_result(
    future: *const dask_future,
    timeout_seconds: f64,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let slot = unsafe { out(out_value, "out_value") }?;
        *slot = std::ptr::null_mut();
        let v = match timeout(timeout_seconds)? {
            None => f.result()?,
            Some(t) => f.result_timeout(t)?,
        };
        *slot = handle::new_handle(ValueRef::Owned(v));
        Ok(())
    })
}

/// Writes the error message of a failed or cancelled task ("task 'k' failed: …"), or NULL if
/// the task has not failed. The string belongs to the future and stays valid while it is
/// alive. Never blocks. Any thread.
///
/// # Safety
/// `future` is live; `out_message` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_error_message(
    future: *const dask_future,
    out_message: *mut *const c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let slot = unsafe { out(out_message, "out_message") }?;
        // The error lives as long as the node, which the future keeps alive.
        *slot = match f.error() {
            Some(e) => e.c_text().as_ptr(),
            None => std::ptr::null(),
        };
        Ok(())
    })
}

/// Writes the task's key as a new string (free it with `dask_string_free`). The string is owned by
/// the caller. Any thread.
///
/// # Safety
/// `future` is live; `out_key` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_key(
    future: *const dask_future,
    out_key: *mut *mut c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let slot = unsafe { out(out_key, "out_key") }?;
        *slot = owned_c_string(&f.key());
        Ok(())
    })
}

/// Cancels the task if it has not finished, and the tasks only it needed; tasks depending on
/// it fail as cancelled. A running task completes but its result is dropped. Thread-safe. The
/// handle stays owned by the caller, who still frees it with `dask_future_free`.
///
/// # Safety
/// `future` is live.
#[no_mangle]
pub unsafe extern "C" fn dask_future_cancel(future: *const dask_future) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        unsafe { future_arg(future) }?.cancel();
        Ok(())
    })
}

/// Calls `callback(ctx)` once the task is done: on the thread that finishes it (usually a
/// pool thread, so the callback must be thread-safe and quick; Julia passes `uv_async_send`),
/// or immediately on this thread if it is done already. Thread-safe. The library keeps `callback`
/// and `ctx` until the callback has run, once: `ctx` must stay valid until then. `future` is only
/// borrowed for this call.
///
/// # Safety
/// `future` is live; `callback` is callable from any thread with `ctx`, which stays valid
/// until the call.
#[no_mangle]
pub unsafe extern "C" fn dask_future_add_done_callback(
    future: *const dask_future,
    callback: dask_callback_fn,
    ctx: *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let cb = callback.ok_or_else(|| Error::NullArgument("callback is NULL".into()))?;
        let ctx = SendPtr(ctx);
        f.add_done_callback(move |_| {
            let ctx = ctx;
            // SAFETY: per the contract.
            unsafe { cb(ctx.0) }
        });
        Ok(())
    })
}

/// Waits until all `n` futures are done, or `DASK_ERR_TIMEOUT` after `timeout_seconds`
/// (negative: forever). Thread-safe. The list and its futures are only borrowed for the call;
/// nothing to free.
///
/// # Safety
/// `futures` holds `n` live futures.
#[no_mangle]
pub unsafe extern "C" fn dask_wait_all(
    futures: *const *const dask_future,
    n: usize,
    timeout_seconds: f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let fs = unsafe { future_list(futures, n) }?;
        wait_all(&fs, timeout(timeout_seconds)?)
    })
}

/// Starts iterating over `n` futures in completion order; the iterator (owned by the caller,
/// `dask_as_completed_free`) holds its own references to them. The caller's future handles stay
/// owned by the caller and may be freed right after. Any thread; the iterator is then used from
/// one thread at a time.
///
/// # Safety
/// `futures` holds `n` live futures; `out_iter` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_as_completed_new(
    futures: *const *const dask_future,
    n: usize,
    out_iter: *mut *mut dask_as_completed,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let fs = unsafe { future_list(futures, n) }?;
        let slot = unsafe { out(out_iter, "out_iter") }?;
        *slot = handle::new_handle(AsCompleted::new(fs));
        Ok(())
    })
}

/// Waits for the next future to finish and writes its position in the list given to
/// `dask_as_completed_new` to `*out_index`, with `*out_has_next` true; when every future has
/// been returned, `*out_has_next` is false. `DASK_ERR_TIMEOUT` after `timeout_seconds`
/// (negative: forever). Use `iter` from one thread at a time (it is not thread-safe). Writes
/// `*out_has_next` and `*out_index` only; no future handle is made, so there is nothing to free.
///
/// # Safety
/// `iter` is live; the out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_as_completed_next(
    iter: *mut dask_as_completed,
    timeout_seconds: f64,
    out_has_next: *mut bool,
    out_index: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let it = unsafe { handle::get_mut(iter) }?;
        let has = unsafe { out(out_has_next, "out_has_next") }?;
        let idx = unsafe { out(out_index, "out_index") }?;
        match it.next_timeout(timeout(timeout_seconds)?)? {
            Some((i, _)) => {
                *has = true;
                *idx = i;
            }
            None => *has = false,
        }
        Ok(())
    })
}

/// Frees the iterator. NULL is a no-op. Ownership of the iterator ends here (with its own
/// references to the futures; the caller's future handles stay theirs). Any thread, but not while
/// another thread uses `iter`.
///
/// # Safety
/// `iter` is NULL or a live iterator.
#[no_mangle]
pub unsafe extern "C" fn dask_as_completed_free(iter: *mut dask_as_completed) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(iter) })
}
