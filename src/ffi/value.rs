//! C ABI: values (scalars, strings, bytes, typed buffers, opaque host data).

use super::client::SendPtr;
use super::handle::{self, handle_type, Shell};
use super::{c_str, dask_status, guard, guard_void, out, slice};
use crate::error::{Error, Result};
use crate::value::{Buffer, DType, Opaque, Value};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// A value: a task input or result. Opaque. Immutable once created (except the data of a
/// buffer from `dask_value_new_buffer` before it is handed to the library), so it may be read
/// from any thread.
pub struct dask_value(Shell<ValueRef>);
handle_type!(dask_value, ValueRef, 0x6461_736b_7661_6c75, "dask_value");
// SAFETY: a borrowed value points into a task's input list, which outlives the callback that
// sees it; values themselves are immutable and Send + Sync.
unsafe impl Send for dask_value {}

/// A value handle owns its value, or (for the inputs of a task callback) borrows it.
pub enum ValueRef {
    Owned(Arc<Value>),
    Borrowed(*const Arc<Value>),
}

impl ValueRef {
    pub(crate) fn arc(&self) -> &Arc<Value> {
        match self {
            ValueRef::Owned(v) => v,
            // SAFETY: borrowed handles live only while the task's inputs do.
            ValueRef::Borrowed(p) => unsafe { &**p },
        }
    }
}

/// A value handle that borrows `v` (task callback inputs); never boxed, never freed by users.
pub(crate) fn borrowed_handle(v: &Arc<Value>) -> dask_value {
    handle::borrowed(ValueRef::Borrowed(v as *const Arc<Value>))
}

/// Turns a handle returned by a callback into the value it holds, consuming owned handles.
///
/// # Safety
/// `ptr` is a value handle from this library.
pub(crate) unsafe fn take_value(ptr: *mut dask_value) -> Result<Arc<Value>> {
    // SAFETY: per the contract.
    let v = unsafe { handle::get(ptr) }?.arc().clone();
    // SAFETY: per the contract.
    if !unsafe { handle::is_borrowed(ptr) }? {
        // SAFETY: per the contract.
        unsafe { handle::free(ptr) }?;
    }
    Ok(v)
}

/// The value behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a value handle from this library.
pub(crate) unsafe fn value_arg<'a>(ptr: *const dask_value) -> Result<&'a Arc<Value>> {
    // SAFETY: per the contract.
    Ok(unsafe { handle::get(ptr) }?.arc())
}

pub(crate) fn put_value(out_value: *mut *mut dask_value, v: Value) -> Result<()> {
    put(out_value, v)
}

fn put(out_value: *mut *mut dask_value, v: Value) -> Result<()> {
    // SAFETY: the exported functions pass their caller's out-pointer, valid per their contract.
    let slot = unsafe { out(out_value, "out_value") }?;
    *slot = handle::new_handle(ValueRef::Owned(Arc::new(v)));
    Ok(())
}

/// Element type codes (`dask_dtype`).
#[allow(non_camel_case_types)]
pub type dask_dtype = u32;
pub const DASK_BOOL: dask_dtype = 1;
pub const DASK_INT8: dask_dtype = 2;
pub const DASK_INT16: dask_dtype = 3;
pub const DASK_INT32: dask_dtype = 4;
pub const DASK_INT64: dask_dtype = 5;
pub const DASK_UINT8: dask_dtype = 6;
pub const DASK_UINT16: dask_dtype = 7;
pub const DASK_UINT32: dask_dtype = 8;
pub const DASK_UINT64: dask_dtype = 9;
pub const DASK_FLOAT32: dask_dtype = 10;
pub const DASK_FLOAT64: dask_dtype = 11;

/// Value kind codes (`dask_value_kind`).
#[allow(non_camel_case_types)]
pub type dask_value_kind = u32;
pub const DASK_VALUE_NONE: dask_value_kind = 0;
pub const DASK_VALUE_BOOL: dask_value_kind = 1;
pub const DASK_VALUE_INT: dask_value_kind = 2;
pub const DASK_VALUE_FLOAT: dask_value_kind = 3;
pub const DASK_VALUE_STRING: dask_value_kind = 4;
pub const DASK_VALUE_BYTES: dask_value_kind = 5;
pub const DASK_VALUE_BUFFER: dask_value_kind = 6;
pub const DASK_VALUE_OPAQUE: dask_value_kind = 7;
/// Parameters of a library operation (read-only to C).
pub const DASK_VALUE_PARAMS: dask_value_kind = 8;
/// A sparse (COO) block (read it through a sparse array, see `dask_sparse_*`).
pub const DASK_VALUE_SPARSE: dask_value_kind = 9;
/// A table partition (an Arrow record batch).
pub const DASK_VALUE_TABLE: dask_value_kind = 10;

/// Gives host memory back; called once, from any thread, when the library no longer uses it.
#[allow(non_camel_case_types)]
pub type dask_release_fn = Option<unsafe extern "C" fn(ctx: *mut c_void)>;

/// A typed n-d buffer as the library lends it: valid while the value it came from is alive.
/// A versioned output struct (see `dask_value_buffer`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_buffer_view {
    /// Bytes the library filled (set by the call).
    pub struct_size: u32,
    /// Address of element (0, …, 0). Read-only.
    pub data: *const c_void,
    pub dtype: dask_dtype,
    /// Bytes per element.
    pub itemsize: usize,
    pub ndim: usize,
    /// `ndim` extents.
    pub shape: *const usize,
    /// `ndim` strides in bytes (may be negative).
    pub strides: *const isize,
    /// Number of elements.
    pub len: usize,
    /// True when the elements are dense in C (row-major) order.
    pub c_contiguous: bool,
}

fn shape_arg<'a>(ndim: usize, shape: *const usize) -> Result<&'a [usize]> {
    // SAFETY: the exported functions pass their caller's pointer, valid per their contract.
    unsafe { slice(shape, ndim, "shape") }
}

/// Creates an integer value; `*out_value` is owned by the caller (`dask_value_free`). Any thread.
///
/// # Safety
/// `out_value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_i64(
    x: i64,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| put(out_value, Value::Int(x)))
}

/// Creates a floating-point value; owned by the caller. Any thread.
///
/// # Safety
/// `out_value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_f64(
    x: f64,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| put(out_value, Value::Float(x)))
}

/// Creates a boolean value; owned by the caller. Any thread.
///
/// # Safety
/// `out_value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_bool(
    x: bool,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| put(out_value, Value::Bool(x)))
}

/// Creates a string value from a NUL-terminated UTF-8 string (copied); owned by the caller.
/// Any thread.
///
/// # Safety
/// `s` is a NUL-terminated string; `out_value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_string(
    s: *const c_char,
    out_value: *mut *mut dask_value,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| put(out_value, Value::Str(unsafe { c_str(s, "s") }?.into())))
}

/// Creates a bytes value from `len` bytes at `data` (copied); owned by the caller. Any thread.
///
/// # Safety
/// `data` is valid for `len` bytes (may be NULL when `len` is 0); `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_bytes(
    data: *const c_void,
    len: usize,
    out_value: *mut *mut dask_value,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| {
        put(
            out_value,
            Value::Bytes(
                super::try_copy(unsafe { slice(data as *const u8, len, "data") }?, "data")?.into(),
            ),
        )
    })
}

/// Allocates a zero-filled, C-contiguous buffer of `dtype` and `shape` and returns it with a
/// pointer to its data (`*out_data`), which the caller may fill **until the value is handed to
/// the library** (returned from a task, scattered, used as an argument); after that it is
/// read-only. Owned by the caller. Any thread.
///
/// # Safety
/// `shape` has `ndim` elements; the out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_new_buffer(
    dtype: dask_dtype,
    ndim: usize,
    shape: *const usize,
    out_value: *mut *mut dask_value,
    out_data: *mut *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let data_slot = unsafe { out(out_data, "out_data") }?;
        let buffer = Buffer::zeros(DType::from_code(dtype)?, shape_arg(ndim, shape)?)?;
        *data_slot = buffer.as_ptr() as *mut c_void;
        put(out_value, Value::Buffer(buffer))
    })
}

/// Creates a buffer value by copying C-contiguous data of `dtype` and `shape`. Owned by the
/// caller. Any thread.
///
/// # Safety
/// `shape` has `ndim` elements and `data` holds the product of `shape` elements of `dtype`.
#[no_mangle]
pub unsafe extern "C" fn dask_value_copy_buffer(
    dtype: dask_dtype,
    ndim: usize,
    shape: *const usize,
    data: *const c_void,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        let mut buffer = Buffer::zeros(DType::from_code(dtype)?, shape_arg(ndim, shape)?)?;
        let n = buffer.storage_len();
        // SAFETY: per the contract, `data` holds exactly the buffer's bytes.
        let src = unsafe { slice(data as *const u8, n, "data") }?;
        buffer.as_mut_bytes()?.copy_from_slice(src);
        put(out_value, Value::Buffer(buffer))
    })
}

/// Wraps host memory as a buffer value **without copying**. `strides` are in bytes (NULL: C
/// order); `nbytes` is the size of the memory at `data`, which must contain every element the
/// shape and strides reach (checked). The library calls `release(release_ctx)` exactly once,
/// from any thread, when it no longer needs the memory (also when this call fails); until then
/// the memory must stay valid and unchanged. Owned by the caller.
///
/// # Safety
/// As described; `shape` (and `strides`, if not NULL) have `ndim` elements.
#[no_mangle]
pub unsafe extern "C" fn dask_value_wrap_buffer(
    dtype: dask_dtype,
    ndim: usize,
    shape: *const usize,
    strides: *const isize,
    data: *const c_void,
    nbytes: usize,
    release: dask_release_fn,
    release_ctx: *mut c_void,
    out_value: *mut *mut dask_value,
) -> dask_status {
    let ctx = SendPtr(release_ctx);
    let release_box: Option<Box<dyn FnOnce() + Send + Sync>> = release.map(|f| {
        Box::new(move || {
            let ctx = ctx;
            // SAFETY: the caller provided a release function callable from any thread.
            unsafe { f(ctx.0) }
        }) as Box<dyn FnOnce() + Send + Sync>
    });
    let mut release_box = Some(release_box);
    let status = guard(|| {
        let dtype = DType::from_code(dtype)?;
        let shape = shape_arg(ndim, shape)?;
        let strides = if strides.is_null() {
            None
        } else {
            // SAFETY: per the contract.
            Some(unsafe { slice(strides, ndim, "strides") }?)
        };
        // SAFETY: the caller vouches for the memory until `release` runs.
        let buffer = unsafe {
            Buffer::from_foreign(
                data as *const u8,
                nbytes,
                dtype,
                shape,
                strides,
                release_box.take().flatten(),
            )
        }?;
        put(out_value, Value::Buffer(buffer))
    });
    // If we failed before handing the release to a buffer, still honour "exactly once".
    if let Some(Some(r)) = release_box.take() {
        r();
    }
    status
}

/// Wraps a host pointer the library never looks into (e.g. a rooted Julia or R object):
/// `release(ptr)` runs once, from any thread, when the last reference goes (NULL: nothing to
/// release) — also when this call fails, so the caller never releases it itself. Owned by
/// the caller.
///
/// # Safety
/// `release`, if not NULL, is safe to call with `ptr` from any thread.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_opaque(
    ptr: *mut c_void,
    release: dask_release_fn,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        let p = SendPtr(ptr);
        let release = release.map(|f| {
            Box::new(move || {
                let p = p;
                // SAFETY: per the contract.
                unsafe { f(p.0) }
            }) as Box<dyn FnOnce() + Send + Sync>
        });
        put(out_value, Value::Opaque(Opaque::new(ptr as usize, release)))
    })
}

/// Writes the kind of the value (`DASK_VALUE_*`). Any thread. Writes `*out_kind` only;
/// nothing to free.
///
/// # Safety
/// `value` is a live value; `out_kind` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_get_kind(
    value: *const dask_value,
    out_kind: *mut dask_value_kind,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        *unsafe { out(out_kind, "out_kind") }? = match **v {
            Value::None => DASK_VALUE_NONE,
            Value::Bool(_) => DASK_VALUE_BOOL,
            Value::Int(_) => DASK_VALUE_INT,
            Value::Float(_) => DASK_VALUE_FLOAT,
            Value::Str(_) => DASK_VALUE_STRING,
            Value::Bytes(_) => DASK_VALUE_BYTES,
            Value::Buffer(_) => DASK_VALUE_BUFFER,
            Value::Opaque(_) => DASK_VALUE_OPAQUE,
            Value::Params(_) => DASK_VALUE_PARAMS,
            Value::Sparse(_) => DASK_VALUE_SPARSE,
            Value::Table(_) => DASK_VALUE_TABLE,
        };
        Ok(())
    })
}

/// The kind of a value for messages: a buffer with its dtype and shape.
fn describe(v: &Value) -> String {
    match v {
        Value::Buffer(b) => format!("a {} buffer of shape {:?}", b.dtype().name(), b.shape()),
        other => other.kind_name().to_string(),
    }
}

/// Reads an int or bool value, or a 0-d buffer of integers or booleans (the result of a full
/// reduction such as a sum), as int64; `DASK_ERR_DTYPE` for other kinds, floats, and uint64
/// values above INT64_MAX. Any thread. Writes `*out_x` only; nothing to free.
///
/// # Safety
/// `value` is a live value; `out_x` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_as_i64(
    value: *const dask_value,
    out_x: *mut i64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let x = v
            .as_i64()
            .ok_or_else(|| Error::DType(format!("value is {}, not an int", describe(v))))?;
        *unsafe { out(out_x, "out_x") }? = x;
        Ok(())
    })
}

/// Reads a numeric value, or a 0-d buffer of numbers (the result of a full reduction such as
/// a sum), as double; `DASK_ERR_DTYPE` for other kinds. Any thread. Writes `*out_x` only;
/// nothing to free.
///
/// # Safety
/// `value` is a live value; `out_x` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_as_f64(
    value: *const dask_value,
    out_x: *mut f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let x = v
            .as_f64()
            .ok_or_else(|| Error::DType(format!("value is {}, not a number", describe(v))))?;
        *unsafe { out(out_x, "out_x") }? = x;
        Ok(())
    })
}

/// Lends the bytes of a string or bytes value (strings are not NUL-terminated here; use the
/// length). Valid while the value is alive. Any thread.
///
/// # Safety
/// `value` is a live value; the out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_bytes(
    value: *const dask_value,
    out_data: *mut *const c_void,
    out_len: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let bytes: &[u8] = match &**v {
            Value::Str(s) => s.as_bytes(),
            Value::Bytes(b) => b,
            other => {
                return Err(Error::DType(format!(
                    "value is {}, not a string or bytes",
                    other.kind_name()
                )))
            }
        };
        *unsafe { out(out_data, "out_data") }? = bytes.as_ptr() as *const c_void;
        *unsafe { out(out_len, "out_len") }? = bytes.len();
        Ok(())
    })
}

/// Describes a buffer value (pointer, dtype, shape, strides) in the caller's view of
/// `struct_size` bytes (pass `sizeof(dask_buffer_view)`); the view borrows from the value and
/// is valid while it is alive. Any thread.
///
/// # Safety
/// `value` is a live value; `out_view` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_buffer(
    value: *const dask_value,
    out_view: *mut dask_buffer_view,
    struct_size: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let b = v
            .as_buffer()
            .ok_or_else(|| Error::DType(format!("value is {}, not a buffer", v.kind_name())))?;
        let size = super::versioned::check_size(struct_size, 4, "dask_buffer_view")?;
        if out_view.is_null() {
            return Err(Error::NullArgument("out_view is NULL".into()));
        }
        let view = dask_buffer_view {
            struct_size: 0,
            data: b.as_ptr() as *const c_void,
            dtype: b.dtype() as u32,
            itemsize: b.dtype().itemsize(),
            ndim: b.ndim(),
            shape: b.shape().as_ptr(),
            strides: b.strides().as_ptr(),
            len: b.len(),
            c_contiguous: b.is_c_contiguous(),
        };
        // SAFETY: `size` bytes are writable per the contract.
        let filled = unsafe { super::versioned::zero_unknown(out_view, size) };
        super::versioned::write_fields!(
            out_view,
            filled,
            dask_buffer_view,
            view,
            [
                data,
                dtype,
                itemsize,
                ndim,
                shape,
                strides,
                len,
                c_contiguous
            ]
        );
        // SAFETY: the first 4 bytes are the caller's struct_size.
        unsafe { out_view.cast::<u32>().write_unaligned(filled as u32) };
        Ok(())
    })
}

/// The pointer wrapped by `dask_value_from_opaque`. Any thread. The pointer is lent: the value
/// still owns the object (its `release` runs with the last reference), so never free it; it is
/// valid while the value is alive.
///
/// # Safety
/// `value` is a live value; `out_ptr` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_opaque(
    value: *const dask_value,
    out_ptr: *mut *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let Value::Opaque(o) = &**v else {
            return Err(Error::DType(format!(
                "value is {}, not opaque",
                v.kind_name()
            )));
        };
        *unsafe { out(out_ptr, "out_ptr") }? = o.address() as *mut c_void;
        Ok(())
    })
}

/// A new handle on the same value (no data is copied); owned by the caller. Use it to keep a
/// task input beyond the callback, or to return an input as the output. Any thread.
///
/// # Safety
/// `value` is a live value; `out_value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_value_clone(
    value: *const dask_value,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?.clone();
        // SAFETY: per the contract.
        let slot = unsafe { out(out_value, "out_value") }?;
        *slot = handle::new_handle(ValueRef::Owned(v));
        Ok(())
    })
}

/// Frees a value handle (the value itself lives on while tasks or futures use it). NULL is a
/// no-op. The inputs given to a task callback are borrowed: freeing one is refused. Any thread.
///
/// # Safety
/// `value` is NULL or a value handle from this library.
#[no_mangle]
pub unsafe extern "C" fn dask_value_free(value: *mut dask_value) {
    // SAFETY: per the contract; a lent handle (a task input) is refused by `free`.
    guard_void(|| unsafe { handle::free(value) })
}

/// Serializes an opaque host object: writes a new bytes value (`dask_value_from_bytes`) to
/// `*out_bytes` and returns `DASK_OK`, or an error status. Called from any thread (the
/// spiller's).
#[allow(non_camel_case_types)]
pub type dask_opaque_serialize_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        object: *mut c_void,
        out_bytes: *mut *mut dask_value,
    ) -> i32,
>;

/// Rebuilds an opaque host object from `len` bytes a serializer produced: writes its address
/// to `*out_object` and returns `DASK_OK`, or an error status. Called from any thread.
#[allow(non_camel_case_types)]
pub type dask_opaque_deserialize_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        data: *const c_void,
        len: usize,
        out_object: *mut *mut c_void,
    ) -> i32,
>;

/// A codec whose callbacks are C functions.
struct CCodec {
    name: String,
    serialize: unsafe extern "C" fn(*mut c_void, *mut c_void, *mut *mut dask_value) -> i32,
    deserialize: unsafe extern "C" fn(*mut c_void, *const c_void, usize, *mut *mut c_void) -> i32,
    release: dask_release_fn,
    ctx: SendPtr,
}

impl CCodec {
    fn failed(&self, what: &str, status: i32) -> Error {
        let msg = format!(
            "the {what} callback of opaque codec '{}' failed ({})",
            self.name,
            super::status::status_name(status)
        );
        super::status::error_from_status(status, msg)
    }
}

impl crate::value::OpaqueCodec for CCodec {
    fn name(&self) -> &str {
        &self.name
    }

    fn serialize(&self, address: usize) -> Result<Vec<u8>> {
        let mut out: *mut dask_value = std::ptr::null_mut();
        // SAFETY: the registration's contract.
        let status = unsafe { (self.serialize)(self.ctx.0, address as *mut c_void, &mut out) };
        if status != 0 {
            if !out.is_null() {
                // SAFETY: a handle the callback made.
                let _ = unsafe { handle::free(out) };
            }
            return Err(self.failed("serialize", status));
        }
        if out.is_null() {
            return Err(Error::NullArgument(format!(
                "the serialize callback of opaque codec '{}' returned no bytes",
                self.name
            )));
        }
        // SAFETY: a handle the callback made, ours now.
        let v = unsafe { take_value(out) }?;
        match &*v {
            Value::Bytes(b) => Ok(b.to_vec()),
            Value::Str(s) => Ok(s.as_bytes().to_vec()),
            other => Err(Error::DType(format!(
                "the serialize callback of opaque codec '{}' returned {}, not bytes",
                self.name,
                other.kind_name()
            ))),
        }
    }

    fn deserialize(&self, bytes: &[u8]) -> Result<usize> {
        let mut object: *mut c_void = std::ptr::null_mut();
        // SAFETY: the registration's contract.
        let status = unsafe {
            (self.deserialize)(self.ctx.0, bytes.as_ptr().cast(), bytes.len(), &mut object)
        };
        if status != 0 {
            return Err(self.failed("deserialize", status));
        }
        Ok(object as usize)
    }

    fn release(&self, address: usize) {
        if let Some(f) = self.release {
            // SAFETY: the registration's contract: `release` takes any object of the codec.
            unsafe { f(address as *mut c_void) }
        }
    }
}

/// Registers, process-wide, a serializer for opaque host objects under `name` (copied):
/// values made with `dask_value_from_opaque_codec(.., name, ..)` then count towards the memory
/// limit and can be spilled to disk and read back. `release(object)` frees an object of this
/// codec (also those `deserialize` makes). A name can be registered once. Any thread.
///
/// # Safety
/// `name` is a NUL-terminated string; the callbacks are safe to call with `ctx` (and
/// `release` with any object of the codec) from any thread for as long as the process runs.
#[no_mangle]
pub unsafe extern "C" fn dask_opaque_codec_register(
    name: *const c_char,
    serialize: dask_opaque_serialize_fn,
    deserialize: dask_opaque_deserialize_fn,
    release: dask_release_fn,
    ctx: *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(name, "name") }?.to_string();
        let (Some(serialize), Some(deserialize)) = (serialize, deserialize) else {
            return Err(Error::NullArgument(
                "serialize and deserialize callbacks are required".into(),
            ));
        };
        crate::value::register_opaque_codec(Arc::new(CCodec {
            name,
            serialize,
            deserialize,
            release,
            ctx: SendPtr(ctx),
        }))
    })
}

/// Wraps a host object of the opaque codec `codec` (see `dask_opaque_codec_register`) that
/// holds about `nbytes` of memory: it is released with the codec's `release`, counts towards
/// the memory limit, and is spilled through the codec when memory is high. Owned by the
/// caller. Any thread.
///
/// # Safety
/// `ptr` is an object the codec can serialize and release; `codec` is NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn dask_value_from_opaque_codec(
    ptr: *mut c_void,
    nbytes: usize,
    codec: *const c_char,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(codec, "codec") }?;
        let slot = unsafe { out(out_value, "out_value") }?;
        let c = crate::value::opaque_codec(name).ok_or_else(|| {
            Error::NotFound(format!("no opaque codec named '{name}' is registered"))
        })?;
        let v = Value::Opaque(Opaque::with_codec(ptr as usize, c, nbytes));
        *slot = handle::new_handle(ValueRef::Owned(Arc::new(v)));
        Ok(())
    })
}
