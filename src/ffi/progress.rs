//! The C ABI of progress: how far a computation is, a terminal bar while waiting for it, and
//! the bar's text for bindings that draw it themselves (Julia's and R's consoles).

use super::future::{dask_future, future_arg};
use super::{dask_status, guard, out, timeout};
use crate::error::Error;
use crate::observe::{render, Bar};
use std::ffi::c_char;
use std::time::Duration;

/// Writes the progress of the computation `future` belongs to: its tasks concluded (done,
/// failed or cancelled) to `*out_done` and its tasks in all to `*out_total` (on a cluster,
/// the computation's outputs, which the cluster reports). Never blocks; costs a scan of the
/// computation's task states, so a few calls a second are cheap. `future` is only borrowed;
/// nothing to free. Any thread.
///
/// # Safety
/// `future` is live; `out_done` and `out_total` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_future_progress(
    future: *const dask_future,
    out_done: *mut usize,
    out_total: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let (done_slot, total_slot) =
            unsafe { (out(out_done, "out_done")?, out(out_total, "out_total")?) };
        let (done, total) = f.progress();
        *done_slot = done;
        *total_slot = total;
        Ok(())
    })
}

/// Waits like `dask_future_wait` while drawing the computation's progress bar on file
/// descriptor `fd` (2: stderr): tasks done of all, rate and time left, redrawn in place ten
/// times a second when `fd` is a terminal (its width from `COLUMNS`, else 80), a plain line
/// every 5 s and one at the end otherwise (log files and CI stay readable). Nothing is drawn
/// for waits shorter than `delay_seconds` (0: draw at once). `DASK_OK` when the future is
/// done, `DASK_ERR_TIMEOUT` after `timeout_seconds` (negative: no limit; the bar's line is
/// ended). Write errors on `fd` are ignored: a closed stream never fails the computation.
/// `future` is only borrowed for the call and `fd` is not closed; nothing to free.
/// Thread-safe.
///
/// # Safety
/// `future` is live.
#[no_mangle]
pub unsafe extern "C" fn dask_future_wait_progress(
    future: *const dask_future,
    fd: i32,
    delay_seconds: f64,
    timeout_seconds: f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let f = unsafe { future_arg(future) }?;
        let limit = timeout(timeout_seconds)?;
        if !(delay_seconds.is_finite() && delay_seconds >= 0.0) {
            return Err(Error::invalid(format!(
                "delay_seconds must be a number of seconds, 0 or more (got {delay_seconds})"
            )));
        }
        if fd < 0 {
            return Err(Error::invalid(format!("fd {fd} is not a file descriptor")));
        }
        if !f.is_done() {
            f.check_process()?;
        }
        let mut bar = Bar::on_fd(fd).with_delay(Duration::from_secs_f64(delay_seconds));
        if f.wait_showing_progress(&mut bar, limit) {
            Ok(())
        } else {
            Err(Error::Timeout(limit.unwrap_or_default()))
        }
    })
}

/// Writes the text of a progress bar at `done` of `total` tasks after `elapsed_seconds` into
/// `buf` (`buf_len` bytes with the NUL; truncated to fit, at a character boundary) and its
/// full length in bytes to `*out_len` (NULL: not wanted): the bar `[####----]  41% 412/1000
/// tasks | 1.2k tasks/s | 5s left` fitted to `width` columns when `terminal`, otherwise the
/// sentence `412/1000 tasks (41%), 1.2k tasks/s, 5s left`; no line ending. For bindings that
/// draw on their own console; the text is copied into the caller's `buf`. Pure; any thread.
///
/// # Safety
/// `buf` is valid for writes of `buf_len` bytes (NULL when `buf_len` is 0).
#[no_mangle]
pub unsafe extern "C" fn dask_progress_format(
    done: usize,
    total: usize,
    elapsed_seconds: f64,
    terminal: bool,
    width: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> dask_status {
    guard(|| {
        if !(elapsed_seconds.is_finite() && elapsed_seconds >= 0.0) {
            return Err(Error::invalid(format!(
                "elapsed_seconds must be 0 or more (got {elapsed_seconds})"
            )));
        }
        let text = render(
            done,
            total,
            Duration::from_secs_f64(elapsed_seconds),
            terminal,
            width,
        );
        if !out_len.is_null() {
            // SAFETY: non-null, and the caller promises validity.
            unsafe { *out_len = text.len() };
        }
        if buf_len == 0 {
            return Ok(());
        }
        if buf.is_null() {
            return Err(Error::NullArgument(
                "buf is NULL but buf_len is not 0".into(),
            ));
        }
        let mut n = text.len().min(buf_len - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `buf` holds `buf_len` > n bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
        Ok(())
    })
}
