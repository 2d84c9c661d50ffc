//! C ABI: ufuncs (lookup, calls, reduce/accumulate, user ufuncs) and array kinds from C.

use super::array::{array_arg, dask_array, operand_list, put_operand};
use super::client::SendPtr;
use super::handle::{self, handle_type, Shell};
use super::value::dask_dtype;
use super::{c_str, dask_status, guard, guard_void, out, slice, DASK_ERR_NOT_IMPLEMENTED, DASK_OK};
use crate::array::{apply_ufunc, register_foreign_kind, ForeignArray, ForeignKind, Operand};
use crate::error::{Error, Result};
use crate::ufunc::{register_user_ufunc, ufunc, Ufunc, UserLoop};
use crate::value::DType;
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

/// A ufunc. Opaque; immutable, usable from any thread.
pub struct dask_ufunc(Shell<Arc<Ufunc>>);
handle_type!(dask_ufunc, Arc<Ufunc>, 0x6461_736b_7566_756e, "dask_ufunc");

/// One typed inner loop of a user ufunc: `types` lists the input dtypes then the output dtype
/// (nin + 1 entries); `fn` has NumPy's generic-loop shape: `args[i]` points at the first
/// element of argument i (inputs, then the output), `n` elements, `steps[i]` bytes apart (0
/// for a broadcast scalar); `data` is passed through. Loops run on pool threads, possibly
/// concurrently, and must not keep the pointers.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_ufunc_loop {
    pub types: *const dask_dtype,
    pub func: dask_loop_fn,
    pub data: *mut c_void,
}

/// An inner loop (see `dask_ufunc_loop`).
pub type dask_loop_fn = Option<
    unsafe extern "C" fn(args: *mut *mut u8, n: usize, steps: *const isize, data: *mut c_void),
>;

/// Looks up a ufunc by NumPy name ("add", "exp", "greater", "where", …, or a user ufunc).
/// `*out_ufunc` is owned by the caller (`dask_ufunc_free`). Any thread.
///
/// # Safety
/// `name` is a string; `out_ufunc` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_lookup(
    name: *const c_char,
    out_ufunc: *mut *mut dask_ufunc,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_ufunc, "out_ufunc") }?;
        *slot = handle::new_handle(ufunc(unsafe { c_str(name, "name") }?)?);
        Ok(())
    })
}

/// Frees a ufunc handle. NULL is a no-op. Only the handle's ownership ends: the ufunc itself
/// (built-in or registered) stays available to `dask_ufunc_lookup`. Any thread, but not while
/// another thread still uses `u`.
///
/// # Safety
/// `u` is NULL or a ufunc handle.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_free(u: *mut dask_ufunc) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(u) })
}

/// The number of inputs of the ufunc. Writes `*out_nin` only; nothing to free. Any thread.
///
/// # Safety
/// `u` is a live ufunc; `out_nin` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_nin(u: *const dask_ufunc, out_nin: *mut usize) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        *unsafe { out(out_nin, "out_nin") }? = unsafe { handle::get(u) }?.nin();
        Ok(())
    })
}

/// The number of outputs of the ufunc (2 for `divmod`, `modf` and `frexp`, 1 for the
/// others). Writes `*out_nout` only; nothing to free. Any thread.
///
/// # Safety
/// `u` is a live ufunc; `out_nout` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_nout(
    u: *const dask_ufunc,
    out_nout: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        *unsafe { out(out_nout, "out_nout") }? = unsafe { handle::get(u) }?.nout();
        Ok(())
    })
}

/// Applies a ufunc with any number of outputs (`divmod`: quotient and remainder; `modf`:
/// fractional and integral parts; `frexp`: mantissa and int32 exponent) to `n_args`
/// operands, writing one new array per output to `out_arrays[0 .. n_out]` (`n_out` must be
/// the ufunc's `nout`). Each output is made like `dask_ufunc_call`'s result (lazy on
/// chunked arrays), each owned by the caller (`dask_array_free`); the operands are borrowed
/// for the call. On failure nothing is written. Thread-safe.
///
/// # Safety
/// `u` is live; `args` holds `n_args` valid operands; `out_arrays` is valid for `n_out`
/// writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_call_multi(
    u: *const dask_ufunc,
    args: *const super::array::dask_operand,
    n_args: usize,
    out_arrays: *mut *mut dask_array,
    n_out: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let u = unsafe { handle::get(u) }?;
        if out_arrays.is_null() {
            return Err(Error::NullArgument("out_arrays".into()));
        }
        if n_out != u.nout() {
            return Err(Error::invalid(format!(
                "ufunc '{}' has {} output(s), n_out is {n_out}",
                u.name(),
                u.nout()
            )));
        }
        let ops = unsafe { operand_list(args, n_args) }?;
        let results = crate::array::apply_ufunc_multi(u, &ops)?;
        for (k, r) in results.into_iter().enumerate() {
            // SAFETY: `out_arrays` is valid for `n_out` writes (the count was checked).
            put_operand(unsafe { &mut *out_arrays.add(k) }, r)?;
        }
        Ok(())
    })
}

/// Applies a ufunc to `n_args` operands (arrays of any kind, scalars). The implementation
/// is chosen by the operands' kinds (highest priority first, NEP 13): on a lazy chunked array
/// the result is lazy; on dense arrays it is computed at once; a kind that implements
/// nothing for this ufunc gives `DASK_ERR_NOT_IMPLEMENTED`, never a silent conversion.
/// `*out_array` is a new array owned by the caller. Thread-safe.
///
/// # Safety
/// `u` is live; `args` holds `n_args` valid operands; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_call(
    u: *const dask_ufunc,
    args: *const super::array::dask_operand,
    n_args: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let u = unsafe { handle::get(u) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        let ops = unsafe { operand_list(args, n_args) }?;
        put_operand(slot, apply_ufunc(u, &ops)?)
    })
}

/// `ufunc.reduce(x, axis)`: reduces along `axis` (or over all axes when `all_axes`) with any
/// binary ufunc (`add.reduce` is a sum; `bitwise_or`, `logical_xor` and user ufuncs with an
/// identity fold with their own loops as a tree; one without an identity — `subtract`,
/// `power`, `arctan2`, … — folds in order along one axis, and is refused over several axes
/// or an empty one, as in NumPy). Lazy. `*out_array` owned by the caller. `x` is borrowed
/// for the call: the new array keeps what it needs, so the caller may free it right after.
/// Any thread.
///
/// # Safety
/// `u` and `x` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_reduce(
    u: *const dask_ufunc,
    x: *const dask_array,
    axis: usize,
    all_axes: bool,
    keepdims: bool,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let u = unsafe { handle::get(u) }?;
        let x = unsafe { array_arg(x) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        let axes = [axis];
        let r = x.reduce_ufunc(
            u.name(),
            if all_axes { None } else { Some(&axes) },
            keepdims,
        )?;
        put_operand(slot, Operand::Array(r))
    })
}

/// `ufunc.accumulate(x, axis)` for any binary ufunc with loops `(t, t) -> t`: `add`
/// (cumsum), `multiply` (cumprod), `maximum` and `minimum` (cummax, cummin: NaN propagates)
/// with their own kernels, any other (`logical_or`, `fmax`, `subtract`, …) folded in order
/// along the axis, as NumPy's. Lazy. `*out_array` is a
/// new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call:
/// the new array keeps what it needs, so the caller may free it right after. Any thread.
///
/// # Safety
/// `u` and `x` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_accumulate(
    u: *const dask_ufunc,
    x: *const dask_array,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let u = unsafe { handle::get(u) }?;
        let x = unsafe { array_arg(x) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        let r = x.accumulate_ufunc(u.name(), axis)?;
        put_operand(slot, Operand::Array(r))
    })
}

/// Registers a user ufunc named `name` with `nin` inputs (1 to 3) and `n_loops` typed loops
/// (tried in order, like NumPy's: put the smallest types first). `has_identity`/`identity`
/// give the reduction identity. The ufunc then works on dense and chunked arrays like a
/// built-in, fusion included. Loops and their data must stay valid for the rest of the
/// process. `*out_ufunc` is owned by the caller. Thread-safe.
///
/// # Safety
/// `name` is a string; `loops` holds `n_loops` loops each with `nin + 1` types.
#[no_mangle]
pub unsafe extern "C" fn dask_ufunc_register(
    name: *const c_char,
    nin: usize,
    has_identity: bool,
    identity: i64,
    loops: *const dask_ufunc_loop,
    n_loops: usize,
    out_ufunc: *mut *mut dask_ufunc,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(name, "name") }?;
        let slot = unsafe { out(out_ufunc, "out_ufunc") }?;
        let loops = unsafe { slice(loops, n_loops, "loops") }?
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let types = unsafe { slice(l.types, nin + 1, "loop types") }?
                    .iter()
                    .map(|&t| DType::from_code(t))
                    .collect::<Result<Vec<_>>>()?;
                let func: crate::ufunc::ForeignLoopFn = l
                    .func
                    .ok_or_else(|| Error::NullArgument(format!("loops[{i}].func is NULL")))?;
                Ok(UserLoop {
                    types,
                    func,
                    data: l.data,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let u = register_user_ufunc(name, nin, has_identity.then_some(identity), loops)?;
        *slot = handle::new_handle(u);
        Ok(())
    })
}

/// The functions of an array kind implemented in C: a versioned input struct (set
/// `struct_size` to `sizeof(dask_kind_vtable)`; functions past the caller's size count as
/// NULL).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_kind_vtable {
    /// `sizeof(dask_kind_vtable)` as the caller was compiled.
    pub struct_size: u32,
    /// Implements `ufunc_name` over `n` operands (arrays of this or other kinds, scalars):
    /// write a new object of this kind to `*out_object` and return `DASK_OK`; return
    /// `DASK_ERR_NOT_IMPLEMENTED` to decline (another kind may then implement it); any other
    /// code is an error (set a message with `dask_error_set`). Called on the caller's thread.
    pub ufunc_call: Option<
        unsafe extern "C" fn(
            kind_ctx: *mut c_void,
            ufunc_name: *const c_char,
            args: *const super::array::dask_operand,
            n: usize,
            out_object: *mut *mut c_void,
        ) -> i32,
    >,
    /// Releases an object of this kind (when its last array handle is freed). May be NULL.
    pub release: Option<unsafe extern "C" fn(kind_ctx: *mut c_void, object: *mut c_void)>,
}

/// Identifies a registered array kind.
pub type dask_kind_id = u32;

/// Registers an array kind implemented in C with `priority` (the built-in kinds: dense 0,
/// chunked 10; higher is asked first). Its arrays are made with `dask_array_from_object`.
/// `vtable` is copied; `kind_ctx` must stay valid for the rest of the process. Thread-safe.
///
/// # Safety
/// `name` is a string; `vtable` points to an initialised vtable; `out_kind` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_kind_register(
    name: *const c_char,
    priority: i32,
    vtable: *const dask_kind_vtable,
    kind_ctx: *mut c_void,
    out_kind: *mut dask_kind_id,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(name, "name") }?.to_string();
        let size = unsafe { super::versioned::struct_size(vtable, 4, "dask_kind_vtable") }?;
        unsafe { super::versioned::check_unknown_zero(vtable, size, "dask_kind_vtable") }?;
        let none = dask_kind_vtable {
            struct_size: size as u32,
            ufunc_call: None,
            release: None,
        };
        let vt = super::versioned::read_fields!(
            vtable,
            size,
            dask_kind_vtable,
            none,
            [ufunc_call, release]
        );
        let slot = unsafe { out(out_kind, "out_kind") }?;
        let call = vt.ufunc_call.ok_or_else(|| {
            Error::NullArgument(format!(
                "vtable.ufunc_call is NULL or beyond the vtable's struct_size ({size})"
            ))
        })?;
        let ctx = SendPtr(kind_ctx);
        let release = vt.release.map(|f| {
            Arc::new(move |object: usize| {
                let ctx = &ctx;
                // SAFETY: the kind's release function, called once for each object it made.
                unsafe { f(ctx.0, object as *mut c_void) }
            }) as Arc<crate::array::ForeignRelease>
        });
        let kind = Arc::new_cyclic(|me: &std::sync::Weak<ForeignKind>| {
            let me = me.clone();
            ForeignKind {
                name: name.clone(),
                priority,
                release,
                call: Box::new(move |u: &Arc<Ufunc>, ops: &[Operand]| {
                    let ctx = &ctx;
                    let (handles, c_ops) = super::array::borrowed_operands(ops);
                    let uname = CString::new(u.name()).unwrap_or_default();
                    let mut obj: *mut c_void = std::ptr::null_mut();
                    super::clear_callback_error();
                    // SAFETY: the registrant's callback, with borrowed operands valid for the
                    // call.
                    let rc = unsafe {
                        call(ctx.0, uname.as_ptr(), c_ops.as_ptr(), c_ops.len(), &mut obj)
                    };
                    drop(handles);
                    let message = super::take_callback_error();
                    match rc {
                        DASK_OK => {
                            let me = me
                                .upgrade()
                                .ok_or_else(|| Error::invalid("kind vanished"))?;
                            Ok(Some(Operand::Foreign(ForeignArray::new(&me, obj as usize))))
                        }
                        DASK_ERR_NOT_IMPLEMENTED => Ok(None),
                        rc => Err(super::error_from_status(
                            rc,
                            message.unwrap_or_else(|| {
                                format!("kind '{name}' failed with status {rc}")
                            }),
                        )),
                    }
                }),
            }
        });
        *slot = register_foreign_kind(kind)?;
        Ok(())
    })
}

/// Makes an array of a C kind from `object` (ownership moves to the array: the kind's
/// `release` frees it with the last handle). `*out_array` is owned by the caller. Any thread; the
/// kind's `release` may run on whichever thread drops the last handle.
///
/// # Safety
/// `out_array` valid for writes; `object` is an object of that kind.
#[no_mangle]
pub unsafe extern "C" fn dask_array_from_object(
    kind: dask_kind_id,
    object: *mut c_void,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let k = crate::array::foreign_kind(kind)?;
        put_operand(
            slot,
            Operand::Foreign(ForeignArray::new(&k, object as usize)),
        )
    })
}
