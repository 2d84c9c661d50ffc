//! C ABI: registering C functions as operations.

use super::client::SendPtr;
use super::value::{borrowed_handle, dask_value, take_value};
use super::{
    c_str, clear_callback_error, dask_status, guard, out, status_name, take_callback_error,
};
use crate::error::Error;
use crate::runtime::{lookup_op, register_op};
use crate::value::Value;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Identifier of a registered operation.
#[allow(non_camel_case_types)]
pub type dask_op_id = u32;

/// Flag for `dask_op_register`: run the operation on the host thread (inside its waits and
/// `dask_client_run_host_tasks`), never on a pool thread. For Julia and R functions.
pub const DASK_OP_HOST: u32 = 1;

/// A task implemented in C.
///
/// `inputs` are the task's `n_inputs` argument values, **borrowed** for the duration of the
/// call (read them with `dask_value_*`; do not free them; `dask_value_clone` keeps one).
/// Write the result to `*output` as a new value (or leave it NULL for "no value"); an input
/// may be returned as is. Return 0 on success; on failure return non-zero (a `dask_status`,
/// e.g. `DASK_ERR_INVALID_ARGUMENT`) after `dask_error_set("what went wrong")`; the task then
/// fails with that message and its dependents fail with it.
///
/// Runs on a pool thread (or the host thread for `DASK_OP_HOST`), possibly on many threads at
/// once with the same `ctx`. It must not unwind or longjmp out (R: no `Rf_error` inside).
#[allow(non_camel_case_types)]
pub type dask_task_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        inputs: *const *const dask_value,
        n_inputs: usize,
        output: *mut *mut dask_value,
    ) -> i32,
>;

/// Calls a C task function over `inputs`.
fn call_c_task(
    f: unsafe extern "C" fn(
        *mut c_void,
        *const *const dask_value,
        usize,
        *mut *mut dask_value,
    ) -> i32,
    ctx: SendPtr,
    inputs: &[Arc<Value>],
) -> Result<Arc<Value>, String> {
    let handles: Vec<dask_value> = inputs.iter().map(borrowed_handle).collect();
    let ptrs: Vec<*const dask_value> = handles.iter().map(|h| h as *const dask_value).collect();
    let mut output: *mut dask_value = std::ptr::null_mut();
    clear_callback_error();
    // SAFETY: the registrant promised a function with this signature, callable from any thread.
    let rc = unsafe { f(ctx.0, ptrs.as_ptr(), ptrs.len(), &mut output) };
    let message = take_callback_error();
    let value = if output.is_null() {
        Ok(Arc::new(Value::None))
    } else if let Some(i) = ptrs.iter().position(|&p| std::ptr::eq(p, output)) {
        Ok(inputs[i].clone())
    } else {
        // SAFETY: a non-input output must be a value handle the callback created.
        unsafe { take_value(output) }
            .map_err(|e| format!("callback returned a bad output handle: {e}"))
    };
    if rc != 0 {
        return Err(
            message.unwrap_or_else(|| format!("callback returned {} ({rc})", status_name(rc)))
        );
    }
    value
}

/// Registers a C function as an operation named `name` (unique in the process) and writes its
/// id. `flags` is 0 or `DASK_OP_HOST`. Operations live for the rest of the process, so `ctx`
/// must stay valid that long. Thread-safe. `name` is copied; `fn` and `ctx` are kept for the rest
/// of the process (operations are never unregistered).
///
/// # Safety
/// `name` is a NUL-terminated string; `fn` follows the `dask_task_fn` contract with `ctx`;
/// `out_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_op_register(
    name: *const c_char,
    func: dask_task_fn,
    ctx: *mut c_void,
    flags: u32,
    out_id: *mut dask_op_id,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(name, "name") }?;
        let slot = unsafe { out(out_id, "out_id") }?;
        let f = func.ok_or_else(|| Error::NullArgument("fn is NULL".into()))?;
        if flags & !DASK_OP_HOST != 0 {
            return Err(Error::invalid(format!("unknown flags {flags:#x}")));
        }
        let ctx = SendPtr(ctx);
        let id = register_op(name, flags & DASK_OP_HOST != 0, move |inputs| {
            call_c_task(f, ctx, inputs)
        })?;
        *slot = id.0;
        Ok(())
    })
}

/// Looks up an operation by name (built-ins: "noop", "identity", "sum"). Thread-safe. `name` is
/// read during the call only; an operation id is a plain number, nothing to free.
///
/// # Safety
/// `name` is a NUL-terminated string; `out_id` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_op_lookup(
    name: *const c_char,
    out_id: *mut dask_op_id,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let def = lookup_op(unsafe { c_str(name, "name") }?)?;
        *unsafe { out(out_id, "out_id") }? = def.id().0;
        Ok(())
    })
}
