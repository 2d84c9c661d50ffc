//! C ABI: chunked arrays (`dask.array`): creation, elementwise (through ufuncs), reductions,
//! linear algebra, indexing, restructuring, computing.

use super::client::{dask_client, SendPtr};
use super::handle::{self, handle_type, Shell};
use super::op::dask_op_id;
use super::value::{dask_dtype, dask_value, value_arg, ValueRef};
use super::{dask_status, guard, guard_void, out, slice};
use crate::array::{Array, ChunkSpec, Index, NanOp, Operand, ReduceOp, Scalar};
use crate::error::{Error, Result};
use crate::runtime::{op_by_id, OpId};
use crate::sparse::ReturnType;
use crate::value::{DType, Value};
use std::ffi::c_void;
use std::sync::Arc;

/// An array: lazy and chunked (the usual kind), a dense block (a ufunc result on dense
/// inputs), or an object of a kind registered from C. Opaque; immutable (operations return
/// new arrays), so it may be shared between threads.
pub struct dask_array(Shell<Operand>);
handle_type!(dask_array, Operand, 0x6461_736b_6172_7261, "dask_array");

/// Kinds of `dask_operand`.
pub type dask_operand_kind = u32;
/// `dask_operand.array`.
pub const DASK_OPERAND_ARRAY: dask_operand_kind = 1;
/// `dask_operand.f` as a (weak, NEP 50) float scalar.
pub const DASK_OPERAND_FLOAT: dask_operand_kind = 2;
/// `dask_operand.i` as a (weak) integer scalar.
pub const DASK_OPERAND_INT: dask_operand_kind = 3;
/// `dask_operand.i != 0` as a boolean scalar.
pub const DASK_OPERAND_BOOL: dask_operand_kind = 4;

/// An operand of a ufunc call: an array or a scalar. Set `kind` and the matching field.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_operand {
    pub kind: dask_operand_kind,
    pub array: *const dask_array,
    pub f: f64,
    pub i: i64,
}

/// Kinds of `dask_index`.
pub type dask_index_kind = u32;
/// `start:stop:step` (`has_start`/`has_stop` false: the default bound; `step` 0 means 1).
/// Kind 0 is a slice too, so a zero-initialised `dask_index` is `:`.
pub const DASK_INDEX_SLICE: dask_index_kind = 1;
/// A single position `start` (negative counts from the end); the axis is dropped.
pub const DASK_INDEX_AT: dask_index_kind = 2;
/// `np.newaxis`.
pub const DASK_INDEX_NEWAXIS: dask_index_kind = 3;

/// One entry of a basic index (`x[2:10:-1, 3, newaxis]`). Zero-initialised, it is `:` (the
/// whole axis). A fixed-layout element struct (passed in arrays): it never changes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_index {
    pub kind: dask_index_kind,
    pub start: i64,
    pub stop: i64,
    pub step: i64,
    pub has_start: bool,
    pub has_stop: bool,
}

/// Reductions for `dask_array_reduce`.
pub type dask_reduce_op = u32;
pub const DASK_REDUCE_SUM: dask_reduce_op = 1;
pub const DASK_REDUCE_PROD: dask_reduce_op = 2;
pub const DASK_REDUCE_MEAN: dask_reduce_op = 3;
pub const DASK_REDUCE_MIN: dask_reduce_op = 4;
pub const DASK_REDUCE_MAX: dask_reduce_op = 5;
/// Variance with `ddof` (0: population, 1: sample).
pub const DASK_REDUCE_VAR: dask_reduce_op = 6;
pub const DASK_REDUCE_STD: dask_reduce_op = 7;
pub const DASK_REDUCE_ANY: dask_reduce_op = 8;
pub const DASK_REDUCE_ALL: dask_reduce_op = 9;
pub const DASK_REDUCE_COUNT_NONZERO: dask_reduce_op = 10;
/// NaN-skipping reductions (NumPy's nansum … nanstd; R's `na.rm = TRUE`): a slice without a
/// number gives 0 (sum), 1 (prod) or NaN (the others). Dense arrays; integers reduce as usual.
pub const DASK_REDUCE_NANSUM: dask_reduce_op = 11;
pub const DASK_REDUCE_NANPROD: dask_reduce_op = 12;
pub const DASK_REDUCE_NANMEAN: dask_reduce_op = 13;
pub const DASK_REDUCE_NANMIN: dask_reduce_op = 14;
pub const DASK_REDUCE_NANMAX: dask_reduce_op = 15;
pub const DASK_REDUCE_NANVAR: dask_reduce_op = 16;
pub const DASK_REDUCE_NANSTD: dask_reduce_op = 17;

/// Receives each computed block of `dask_array_store`: its row-major block number, its
/// offset in the array (ndim entries), and the block (borrowed for the call). Return 0 to go
/// on; non-zero stops the store with that status. Called on the calling thread.
pub type dask_block_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        block: usize,
        offset: *const usize,
        value: *const dask_value,
    ) -> i32,
>;

/// The lazy array behind a handle argument (other kinds are rejected with a clear error).
///
/// # Safety
/// `ptr` is NULL or an array handle.
pub(crate) unsafe fn array_arg<'a>(ptr: *const dask_array) -> Result<&'a Array> {
    // SAFETY: per the contract.
    unsafe { handle::get(ptr) }?.as_array()
}

pub(crate) fn put_operand(slot: &mut *mut dask_array, op: Operand) -> Result<()> {
    *slot = handle::new_handle(op);
    Ok(())
}

fn put(slot: *mut *mut dask_array, a: Array) -> Result<()> {
    // SAFETY: callers pass their out-pointer argument, valid per their contract.
    let slot = unsafe { out(slot, "out_array") }?;
    put_operand(slot, Operand::Array(a))
}

/// Converts `n` C operands.
///
/// # Safety
/// `args` holds `n` operands whose array pointers are live handles.
pub(crate) unsafe fn operand_list(args: *const dask_operand, n: usize) -> Result<Vec<Operand>> {
    // SAFETY: per the contract.
    unsafe { slice(args, n, "args") }?
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(match a.kind {
                // SAFETY: per the contract.
                DASK_OPERAND_ARRAY => unsafe { handle::get(a.array) }?.clone(),
                DASK_OPERAND_FLOAT => Operand::Scalar(Scalar::Float(a.f)),
                DASK_OPERAND_INT => Operand::Scalar(Scalar::Int(a.i)),
                DASK_OPERAND_BOOL => Operand::Scalar(Scalar::Bool(a.i != 0)),
                k => {
                    return Err(Error::invalid(format!(
                        "args[{i}].kind {k} is not a DASK_OPERAND_* kind"
                    )))
                }
            })
        })
        .collect()
}

/// Temporary C operands for `ops`: the array handles live in the returned vector, which
/// must outlive every use of the operands.
pub(crate) fn borrowed_operands(ops: &[Operand]) -> (Vec<dask_array>, Vec<dask_operand>) {
    let handles: Vec<dask_array> = ops
        .iter()
        .filter(|op| !matches!(op, Operand::Scalar(_)))
        .map(|op| handle::borrowed(op.clone()))
        .collect();
    let mut next = 0;
    let operands = ops
        .iter()
        .map(|op| {
            let (kind, f, i) = match op {
                Operand::Scalar(Scalar::Float(x)) => (DASK_OPERAND_FLOAT, *x, 0),
                Operand::Scalar(Scalar::Int(i)) => (DASK_OPERAND_INT, 0.0, *i),
                Operand::Scalar(Scalar::Bool(b)) => (DASK_OPERAND_BOOL, 0.0, *b as i64),
                _ => {
                    next += 1;
                    return dask_operand {
                        kind: DASK_OPERAND_ARRAY,
                        array: &handles[next - 1] as *const dask_array,
                        f: 0.0,
                        i: 0,
                    };
                }
            };
            dask_operand {
                kind,
                array: std::ptr::null(),
                f,
                i,
            }
        })
        .collect();
    (handles, operands)
}

/// The sparse array behind a handle argument, if it is one.
///
/// # Safety
/// `ptr` is NULL or an array handle.
pub(crate) unsafe fn sparse_arg<'a>(
    ptr: *const dask_array,
) -> Result<Option<&'a crate::sparse::Coo>> {
    // SAFETY: per the contract.
    Ok(match unsafe { handle::get(ptr) }? {
        Operand::Sparse(s) => Some(s),
        _ => None,
    })
}

/// The error for asking an array of a C kind (or a scalar) for a shape or dtype.
fn no_layout(op: &Operand) -> Error {
    match op {
        Operand::Foreign(f) => Error::NotImplemented(format!(
            "arrays of kind '{}' have no shape or dtype the library knows",
            f.kind.name
        )),
        _ => Error::invalid("a scalar has no shape or dtype here"),
    }
}

fn dtype(d: dask_dtype) -> Result<DType> {
    DType::from_code(d)
}

/// Most axes an array may have (NumPy's limit): a larger `ndim` is a caller's mistake,
/// refused before the library reads that many entries.
const MAX_NDIM: usize = 64;

fn check_ndim(ndim: usize) -> Result<()> {
    if ndim > MAX_NDIM {
        return Err(Error::Shape(format!(
            "ndim {ndim} is more than the {MAX_NDIM} axes an array may have"
        )));
    }
    Ok(())
}

fn shape_of<'a>(ndim: usize, shape: *const usize) -> Result<&'a [usize]> {
    check_ndim(ndim)?;
    // SAFETY: exported functions pass their caller's arrays, valid per their contract.
    unsafe { slice(shape, ndim, "shape") }
}

/// The chunk spec: `chunks` NULL means "auto" (~128 MiB blocks), else a block shape.
fn chunk_spec(ndim: usize, chunks: *const usize) -> Result<ChunkSpec> {
    check_ndim(ndim)?;
    if chunks.is_null() {
        return Ok(ChunkSpec::Auto);
    }
    // SAFETY: as above.
    Ok(ChunkSpec::Regular(
        unsafe { slice(chunks, ndim, "chunks") }?.to_vec(),
    ))
}

/// Frees an array handle. NULL is a no-op. Any thread, but not while another thread still uses `x`.
/// Only this handle's ownership ends: arrays made from `x` keep what they need and stay valid.
///
/// # Safety
/// `x` is NULL or an array handle.
#[no_mangle]
pub unsafe extern "C" fn dask_array_free(x: *mut dask_array) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(x) })
}

/// An array of zeros (`chunks`: block shape with `ndim` entries, or NULL for auto).
/// `*out_array` owned by the caller. Lazy: nothing is allocated until computed. `shape` and
/// `chunks` are copied. Any thread.
///
/// # Safety
/// `shape` (and `chunks`, unless NULL) hold `ndim` entries; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_zeros(
    dt: dask_dtype,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::zeros(
                shape_of(ndim, shape)?,
                dtype(dt)?,
                &chunk_spec(ndim, chunks)?,
            )?,
        )
    })
}

/// An array of ones (see `dask_array_zeros`). `*out_array` is a new array owned by the caller (free
/// it with `dask_array_free`). `shape` and `chunks` are copied. Any thread.
///
/// # Safety
/// As `dask_array_zeros`.
#[no_mangle]
pub unsafe extern "C" fn dask_array_ones(
    dt: dask_dtype,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::ones(
                shape_of(ndim, shape)?,
                dtype(dt)?,
                &chunk_spec(ndim, chunks)?,
            )?,
        )
    })
}

/// An array filled with `value` (converted to `dt`). `*out_array` is a new array owned by the
/// caller (free it with `dask_array_free`). `shape` and `chunks` are copied. Any thread.
///
/// # Safety
/// As `dask_array_zeros`.
#[no_mangle]
pub unsafe extern "C" fn dask_array_full(
    dt: dask_dtype,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    value: f64,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::full(
                shape_of(ndim, shape)?,
                value,
                dtype(dt)?,
                &chunk_spec(ndim, chunks)?,
            )?,
        )
    })
}

/// `arange(start, stop, step)` as a 1-d array of `dt`; `chunk` elements per block (0: auto).
/// `*out_array` is a new array owned by the caller (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_arange(
    start: f64,
    stop: f64,
    step: f64,
    dt: dask_dtype,
    chunk: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let spec = if chunk == 0 {
            ChunkSpec::Auto
        } else {
            ChunkSpec::Regular(vec![chunk])
        };
        put(
            out_array,
            Array::arange(start, stop, step, dtype(dt)?, &spec)?,
        )
    })
}

/// `linspace(start, stop, num, endpoint)` as a 1-d float64 array; `chunk` per block (0: auto).
/// `*out_array` is a new array owned by the caller (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
    chunk: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let spec = if chunk == 0 {
            ChunkSpec::Auto
        } else {
            ChunkSpec::Regular(vec![chunk])
        };
        put(
            out_array,
            Array::linspace(start, stop, num, endpoint, DType::Float64, &spec)?,
        )
    })
}

/// An `n` x `m` array with ones on diagonal `k`; `chunk` x `chunk` blocks (0: auto). `*out_array`
/// is a new array owned by the caller (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_eye(
    n: usize,
    m: usize,
    k: i64,
    dt: dask_dtype,
    chunk: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let spec = if chunk == 0 {
            ChunkSpec::Auto
        } else {
            ChunkSpec::Regular(vec![chunk, chunk])
        };
        put(out_array, Array::eye(n, m, k, dtype(dt)?, &spec)?)
    })
}

/// Uniform random float64 numbers in [low, high) from `seed` (the same seed gives the same
/// numbers whatever the chunking). `*out_array` is a new array owned by the caller (free it with
/// `dask_array_free`). `shape` and `chunks` are copied. Any thread.
///
/// # Safety
/// As `dask_array_zeros`.
#[no_mangle]
pub unsafe extern "C" fn dask_array_random_uniform(
    seed: u64,
    low: f64,
    high: f64,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let a = Array::random_uniform(
            seed,
            low,
            high,
            shape_of(ndim, shape)?,
            DType::Float64,
            &chunk_spec(ndim, chunks)?,
        )?;
        put(out_array, a)
    })
}

/// Normally distributed float64 numbers (mean, std) from `seed`, chunking-independent. `*out_array`
/// is a new array owned by the caller (free it with `dask_array_free`). `shape` and `chunks` are
/// copied. Any thread.
///
/// # Safety
/// As `dask_array_zeros`.
#[no_mangle]
pub unsafe extern "C" fn dask_array_random_normal(
    seed: u64,
    mean: f64,
    std: f64,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let a = Array::random_normal(
            seed,
            mean,
            std,
            shape_of(ndim, shape)?,
            DType::Float64,
            &chunk_spec(ndim, chunks)?,
        )?;
        put(out_array, a)
    })
}

/// A chunked array over a buffer value (from `dask_value_copy_buffer` to copy host data, or
/// `dask_value_wrap_buffer` to borrow it without copying: the release callback then runs once
/// the array and everything computed from it no longer need the memory). Blocks are views
/// of the buffer. `chunks`: block shape or NULL (auto). A sparse value (a task's sparse result)
/// gives that sparse array, unchunked. `value` is borrowed for the call (the array keeps its own
/// reference to the buffer, so the caller may free `value` right after); `*out_array` is a new
/// array owned by the caller (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `value` is a live buffer value; `chunks` NULL or `ndim` entries of the buffer's rank.
#[no_mangle]
pub unsafe extern "C" fn dask_array_from_value(
    value: *const dask_value,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        if let Value::Sparse(c) = &**v {
            // A sparse value (e.g. a task's result) is the sparse array itself; `chunks`
            // applies to buffers only.
            let slot = unsafe { out(out_array, "out_array") }?;
            return put_operand(slot, Operand::Sparse(c.clone()));
        }
        let b = v.as_buffer().ok_or_else(|| {
            Error::DType(format!(
                "value is {}, not a buffer or sparse array",
                v.kind_name()
            ))
        })?;
        put(
            out_array,
            Array::from_buffer(b, &chunk_spec(b.ndim(), chunks)?)?,
        )
    })
}

/// One dense block (`DASK_ARRAY_BLOCK`) over a buffer value: what a task's dense result is, made
/// from host data. Unlike `dask_array_from_value` it is not chunked, so it combines with sparse
/// arrays as NumPy arrays combine with pydata/sparse ones (`exp`, `tensordot`, `+` on a block
/// and a sparse array give the same kinds as a task's block would). The block shares the buffer
/// (no copy); `value` is borrowed for the call. `*out_array` is a new array owned by the caller
/// (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `value` is a live buffer value; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_block_from_value(
    value: *const dask_value,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let v = unsafe { value_arg(value) }?;
        let b = v
            .as_buffer()
            .ok_or_else(|| Error::DType(format!("value is {}, not a buffer", v.kind_name())))?;
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, Operand::Block(b.clone()))
    })
}

/// An array whose blocks come from a registered operation (`dask_op_register`): the task
/// receives one int64 buffer of shape (3, ndim) — block grid index, block shape, block offset —
/// and returns a buffer of `dt` with that shape. `*out_array` is a new array owned by the caller
/// (free it with `dask_array_free`). `shape` and `chunks` are copied. Any thread.
///
/// # Safety
/// As `dask_array_zeros`.
#[no_mangle]
pub unsafe extern "C" fn dask_array_from_block_fn(
    op: dask_op_id,
    dt: dask_dtype,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::from_block_fn(
                op_by_id(OpId(op))?,
                shape_of(ndim, shape)?,
                dtype(dt)?,
                &chunk_spec(ndim, chunks)?,
            )?,
        )
    })
}

/// What an array handle holds (`dask_array_get_kind`).
pub type dask_array_kind = u32;
/// A chunked array (lazy or persisted) with dense blocks.
pub const DASK_ARRAY_CHUNKED: dask_array_kind = 1;
/// A chunked array whose blocks are sparse (`dask_array_to_sparse`, `dask_array_random_sparse`).
pub const DASK_ARRAY_CHUNKED_SPARSE: dask_array_kind = 2;
/// One computed dense block.
pub const DASK_ARRAY_BLOCK: dask_array_kind = 3;
/// One whole sparse (COO) array: the `dask_sparse_*` functions apply.
pub const DASK_ARRAY_SPARSE: dask_array_kind = 4;
/// An object of a kind registered from C (`dask_kind_register`).
pub const DASK_ARRAY_FOREIGN: dask_array_kind = 5;
/// A scalar (a ufunc's result on scalars).
pub const DASK_ARRAY_SCALAR: dask_array_kind = 6;

/// Writes what `x` holds (`DASK_ARRAY_*`), so bindings can pick a path without probing
/// other calls for errors. Never computes. Writes `*out_kind` only; nothing to free. Any thread,
/// also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `out_kind` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_get_kind(
    x: *const dask_array,
    out_kind: *mut dask_array_kind,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_kind, "out_kind") }?;
        *slot = match unsafe { handle::get(x) }? {
            Operand::Array(a) if a.is_sparse() => DASK_ARRAY_CHUNKED_SPARSE,
            Operand::Array(_) => DASK_ARRAY_CHUNKED,
            Operand::Block(_) => DASK_ARRAY_BLOCK,
            Operand::Sparse(_) => DASK_ARRAY_SPARSE,
            Operand::Foreign(_) => DASK_ARRAY_FOREIGN,
            Operand::Scalar(_) => DASK_ARRAY_SCALAR,
        };
        Ok(())
    })
}

/// The number of dimensions (any kind of array with a shape; objects of C kinds have none). Writes
/// `*out_ndim` only; nothing to free. Any thread, also concurrently on the same arrays (arrays are
/// immutable).
///
/// # Safety
/// `x` is live; `out_ndim` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_ndim(
    x: *const dask_array,
    out_ndim: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let n = match unsafe { handle::get(x) }? {
            Operand::Array(a) => a.ndim(),
            Operand::Block(b) => b.ndim(),
            Operand::Sparse(c) => c.ndim(),
            other => return Err(no_layout(other)),
        };
        *unsafe { out(out_ndim, "out_ndim") }? = n;
        Ok(())
    })
}

/// Writes the shape (`ndim` entries; see `dask_array_ndim`). The caller's `out_shape` is written
/// during the call only; nothing to free. Any thread, also concurrently on the same arrays (arrays
/// are immutable).
///
/// # Safety
/// `x` is live; `out_shape` has room for `ndim` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_shape(
    x: *const dask_array,
    out_shape: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let shape = match unsafe { handle::get(x) }? {
            Operand::Array(a) => a.shape(),
            Operand::Block(b) => b.shape().to_vec(),
            Operand::Sparse(c) => c.shape().to_vec(),
            other => return Err(no_layout(other)),
        };
        if !shape.is_empty() && out_shape.is_null() {
            return Err(Error::NullArgument("out_shape is NULL".into()));
        }
        for (i, &n) in shape.iter().enumerate() {
            // SAFETY: room for ndim entries per the contract.
            unsafe { *out_shape.add(i) = n };
        }
        Ok(())
    })
}

/// Writes the element type. Writes `*out_dtype` only; nothing to free. Any thread, also
/// concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `out_dtype` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_dtype(
    x: *const dask_array,
    out_dtype: *mut dask_dtype,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let d = match unsafe { handle::get(x) }? {
            Operand::Array(a) => a.dtype(),
            Operand::Block(b) => b.dtype(),
            Operand::Sparse(c) => c.dtype(),
            other => return Err(no_layout(other)),
        };
        *unsafe { out(out_dtype, "out_dtype") }? = d as u32;
        Ok(())
    })
}

/// Writes the bytes the array's elements take as `dt` (0: the array's own dtype): its length
/// times the item size, what `dask_array_compute_into` needs (for a sparse array, the size of
/// its dense form). Any thread. Writes `*out_nbytes` only; nothing to free.
///
/// # Safety
/// `x` is live; `out_nbytes` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_nbytes(
    x: *const dask_array,
    dt: dask_dtype,
    out_nbytes: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let (len, own) = match unsafe { handle::get(x) }? {
            Operand::Array(a) => (a.len(), a.dtype()),
            Operand::Block(b) => (b.len(), b.dtype()),
            Operand::Sparse(c) => (c.size(), c.dtype()),
            other => return Err(no_layout(other)),
        };
        let d = if dt == 0 { own } else { dtype(dt)? };
        *unsafe { out(out_nbytes, "out_nbytes") }? = len
            .checked_mul(d.itemsize())
            .ok_or_else(|| Error::Shape("the array's size in bytes overflows size_t".into()))?;
        Ok(())
    })
}

/// Writes the block sizes along `axis` into `out_sizes` (room for `capacity` entries) and
/// their count to `*out_count` (also when the room is too small: call again with more). Writes the
/// caller's `out_sizes` and `*out_count` during the call only; nothing to free. Any thread, also
/// concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `out_sizes` has room for `capacity` entries (may be NULL when 0).
#[no_mangle]
pub unsafe extern "C" fn dask_array_chunks(
    x: *const dask_array,
    axis: usize,
    out_sizes: *mut usize,
    capacity: usize,
    out_count: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let a = unsafe { array_arg(x) }?;
        if axis >= a.ndim() {
            return Err(Error::invalid(format!(
                "axis {axis} is out of bounds for a {}-d array",
                a.ndim()
            )));
        }
        let sizes = a.chunks().axis(axis);
        *unsafe { out(out_count, "out_count") }? = sizes.len();
        for (i, &s) in sizes.iter().take(capacity).enumerate() {
            // SAFETY: room for `capacity` entries per the contract.
            unsafe { *out_sizes.add(i) = s };
        }
        Ok(())
    })
}

/// Whether the array is lazy (not computed), and its number of tasks after optimisation
/// (culling, fusion): the graph `dask_array_compute` would run. Writes `*out_tasks` only;
/// nothing to free. Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `out_tasks` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_task_count(
    x: *const dask_array,
    out_tasks: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let a = unsafe { array_arg(x) }?;
        *unsafe { out(out_tasks, "out_tasks") }? = a.task_count()?;
        Ok(())
    })
}

/// The array converted to `dt` (lazy for chunked arrays; at once for a sparse array, which
/// stays sparse with its fill converted, and for a dense block). `*out_array` is a new array owned by the caller (free it
/// with `dask_array_free`). `x` is borrowed for the call: the new array keeps what it needs, so the
/// caller may free it right after. Any thread, also concurrently on the same arrays (arrays are
/// immutable).
///
/// # Safety
/// `x` is live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_astype(
    x: *const dask_array,
    dt: dask_dtype,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        let d = dtype(dt)?;
        // SAFETY: per the contract.
        match unsafe { handle::get(x) }? {
            Operand::Sparse(c) => {
                // SAFETY: per the contract.
                put_operand(
                    unsafe { out(out_array, "out_array") }?,
                    Operand::Sparse(c.astype(d)?),
                )
            }
            Operand::Block(b) => put_operand(
                // SAFETY: per the contract.
                unsafe { out(out_array, "out_array") }?,
                Operand::Block(crate::ufunc::kernel::cast_block(b, d)?),
            ),
            // SAFETY: per the contract.
            _ => put(out_array, unsafe { array_arg(x) }?.astype(d)),
        }
    })
}

fn one_operand(o: *const dask_operand) -> Result<Operand> {
    // SAFETY: exported functions pass their caller's operand, valid per their contract.
    Ok(unsafe { operand_list(o, 1) }?.remove(0))
}

/// `where(cond, a, b)` elementwise (lazy). `*out_array` is a new array owned by the caller (free it
/// with `dask_array_free`). `cond` and the arrays in `a` and `b` are borrowed for the call (the new
/// array keeps what it needs). Any thread, also concurrently on the same arrays (arrays are
/// immutable).
///
/// # Safety
/// `cond` is live; `a` and `b` point to valid operands.
#[no_mangle]
pub unsafe extern "C" fn dask_array_where(
    cond: *const dask_array,
    a: *const dask_operand,
    b: *const dask_operand,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { array_arg(cond) }?;
        put(
            out_array,
            Array::where_(c, one_operand(a)?, one_operand(b)?)?,
        )
    })
}

/// The masked assignment `x[mask] = value` as a new array of `x`'s dtype (lazy). `*out_array` is a
/// new array owned by the caller (free it with `dask_array_free`). `x`, `mask` and an array in
/// `value` are borrowed for the call: the new array keeps what it needs, so the caller may free
/// them right after. Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` and `mask` are live; `value` points to a valid operand.
#[no_mangle]
pub unsafe extern "C" fn dask_array_set_where(
    x: *const dask_array,
    mask: *const dask_array,
    value: *const dask_operand,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let (x, m) = (unsafe { array_arg(x) }?, unsafe { array_arg(mask) }?);
        put(out_array, x.set_where(m, one_operand(value)?)?)
    })
}

/// Reduces over the `n_axes` axes `axes` (`axes` NULL: all axes; a non-NULL `axes` with
/// `n_axes` 0: no axis, as NumPy's `axis=()`; an axis twice is an error). `ddof` is used by
/// var/std; `split_every` is the fan-in of the combine tree (0: default 8). Lazy. `*out_array` is a
/// new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call:
/// the new array keeps what it needs, so the caller may free it right after. `axes` is copied.
/// Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `axes` holds `n_axes` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_reduce(
    x: *const dask_array,
    op: dask_reduce_op,
    axes: *const usize,
    n_axes: usize,
    keepdims: bool,
    ddof: f64,
    split_every: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let axes_list = unsafe { slice(axes, n_axes, "axes") }?;
        // NULL: every axis; an empty list: none (NumPy's `axis=()`).
        let axes = (!axes.is_null()).then_some(axes_list);
        let every = if split_every == 0 { 8 } else { split_every };
        let nan_op = match op {
            DASK_REDUCE_NANSUM => Some(NanOp::Sum),
            DASK_REDUCE_NANPROD => Some(NanOp::Prod),
            DASK_REDUCE_NANMEAN => Some(NanOp::Mean),
            DASK_REDUCE_NANMIN => Some(NanOp::Min),
            DASK_REDUCE_NANMAX => Some(NanOp::Max),
            DASK_REDUCE_NANVAR => Some(NanOp::Var { ddof }),
            DASK_REDUCE_NANSTD => Some(NanOp::Std { ddof }),
            _ => None,
        };
        // SAFETY: per the contract.
        let x = unsafe { handle::get(x) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        if let Some(nan_op) = nan_op {
            return put_operand(slot, x.nan_reduce(nan_op, axes, keepdims, every)?);
        }
        let op = match op {
            DASK_REDUCE_SUM => ReduceOp::Sum,
            DASK_REDUCE_PROD => ReduceOp::Prod,
            DASK_REDUCE_MEAN => ReduceOp::Mean,
            DASK_REDUCE_MIN => ReduceOp::Min,
            DASK_REDUCE_MAX => ReduceOp::Max,
            DASK_REDUCE_VAR => ReduceOp::Var { ddof },
            DASK_REDUCE_STD => ReduceOp::Std { ddof },
            DASK_REDUCE_ANY => ReduceOp::Any,
            DASK_REDUCE_ALL => ReduceOp::All,
            DASK_REDUCE_COUNT_NONZERO => ReduceOp::CountNonzero,
            other => {
                return Err(Error::invalid(format!(
                    "{other} is not a DASK_REDUCE_* code"
                )))
            }
        };
        put_operand(slot, x.reduce(op, axes, keepdims, every)?)
    })
}

/// Index of the smallest (`max` false) or largest element along `axis`, or over the flattened
/// array when `all_axes`. Ties and NaN resolve to the first occurrence. Lazy; int64. `*out_array`
/// is a new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the
/// call: the new array keeps what it needs, so the caller may free it right after. Any thread, also
/// concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_arg_reduce(
    x: *const dask_array,
    max: bool,
    axis: usize,
    all_axes: bool,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let a = unsafe { array_arg(x) }?;
        let axis = (!all_axes).then_some(axis);
        put(
            out_array,
            if max {
                a.argmax(axis)?
            } else {
                a.argmin(axis)?
            },
        )
    })
}

/// `tensordot(a, b, axes=(axes_a, axes_b))` with `n_axes` contracted pairs. Lazy; a
/// contraction over many chunks streams (partial products are summed in a tree). `*out_array` is a
/// new array owned by the caller (free it with `dask_array_free`). `a` and `b` are borrowed for the
/// call: the new array keeps what it needs, so the caller may free them right after. `axes_a` and
/// `axes_b` are copied. Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `a`, `b` are live; `axes_a`, `axes_b` hold `n_axes` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_tensordot(
    a: *const dask_array,
    b: *const dask_array,
    axes_a: *const usize,
    axes_b: *const usize,
    n_axes: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let (ia, ib) = (unsafe { slice(axes_a, n_axes, "axes_a") }?, unsafe {
            slice(axes_b, n_axes, "axes_b")
        }?);
        let (x, y) = unsafe { (handle::get(a)?, handle::get(b)?) };
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, x.tensordot(y, ia, ib, ReturnType::Auto)?)
    })
}

/// The matrix product `a @ b` (1-d and 2-d arrays). Lazy. A whole sparse matrix times a
/// chunked array (or the other way round) is a chunked product over sparse blocks. `*out_array` is
/// a new array owned by the caller (free it with `dask_array_free`). `a` and `b` are borrowed for
/// the call: the new array keeps what it needs, so the caller may free them right after.
/// Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `a`, `b` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_matmul(
    a: *const dask_array,
    b: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| {
        let (x, y) = unsafe { (handle::get(a)?, handle::get(b)?) };
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, x.matmul(y, ReturnType::Auto)?)
    })
}

/// The axes permuted (`perm` has `ndim` entries; NULL reverses them, like `.T`). Lazy. `*out_array`
/// is a new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the
/// call: the new array keeps what it needs, so the caller may free it right after. `perm` is
/// copied. Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `perm` NULL or `ndim` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_transpose(
    x: *const dask_array,
    perm: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let x = unsafe { handle::get(x) }?;
        let perm = if perm.is_null() {
            None
        } else {
            let ndim = match x {
                Operand::Array(a) => a.ndim(),
                Operand::Sparse(c) => c.ndim(),
                Operand::Block(b) => b.ndim(),
                other => return Err(no_layout(other)),
            };
            Some(unsafe { slice(perm, ndim, "perm") }?)
        };
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, x.transpose(perm)?)
    })
}

/// Basic indexing with `n` entries (missing trailing entries mean `:`). Lazy for chunked
/// arrays; a sparse array is indexed at once (a new sparse array). `*out_array` is a new array
/// owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call: the new
/// array keeps what it needs, so the caller may free it right after. `index` is copied. Any thread,
/// also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `index` holds `n` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_slice(
    x: *const dask_array,
    index: *const dask_index,
    n: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let x = unsafe { handle::get(x) }?;
        let idx = unsafe { slice(index, n, "index") }?
            .iter()
            .enumerate()
            .map(|(i, e)| match e.kind {
                // A zeroed entry is `:` (kind 0 is a slice, step 0 means 1).
                0 | DASK_INDEX_SLICE => Ok(Index::Slice(
                    e.has_start.then_some(e.start),
                    e.has_stop.then_some(e.stop),
                    if e.step == 0 { 1 } else { e.step },
                )),
                DASK_INDEX_AT => Ok(Index::At(e.start)),
                DASK_INDEX_NEWAXIS => Ok(Index::NewAxis),
                k => Err(Error::invalid(format!(
                    "index[{i}].kind {k} is not a DASK_INDEX_* kind"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, x.slice(&idx)?)
    })
}

/// Elements at `indices` (negative count from the end) along `axis`. Lazy. `*out_array` is a new
/// array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call: the
/// new array keeps what it needs, so the caller may free it right after. `indices` is copied.
/// Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `indices` holds `n` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_take(
    x: *const dask_array,
    indices: *const i64,
    n: usize,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| {
        put(
            out_array,
            unsafe { array_arg(x) }?.take(unsafe { slice(indices, n, "indices") }?, axis)?,
        )
    })
}

/// `x[mask]` for a boolean mask of `x`'s shape: the selected elements as a 1-d array. Counts
/// the mask per block on `client` first (the selection itself stays lazy). A 1-d mask of
/// `x`'s first length on an array of more axes selects rows (NumPy's `x[mask_1d]`). `*out_array` is a new
/// array owned by the caller (free it with `dask_array_free`). `x` and `mask` are borrowed for the
/// call: the new array keeps what it needs, so the caller may free them right after. Any thread
/// (the client is thread-safe; the arrays are immutable).
///
/// # Safety
/// `client`, `x`, `mask` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_select(
    client: *const dask_client,
    x: *const dask_array,
    mask: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        put(
            out_array,
            unsafe { array_arg(x) }?.select(unsafe { array_arg(mask) }?, c)?,
        )
    })
}

/// A new shape (`ndim` entries; one may be -1). Lazy; rechunks first where blocks do not
/// line up. A sparse array is reshaped at once (a new sparse array). `*out_array` is a new array
/// owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call: the new
/// array keeps what it needs, so the caller may free it right after. `shape` is copied. Any thread,
/// also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `shape` holds `ndim` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_reshape(
    x: *const dask_array,
    ndim: usize,
    shape: *const i64,
    out_array: *mut *mut dask_array,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| {
        let shape = unsafe { slice(shape, ndim, "shape") }?;
        let x = unsafe { handle::get(x) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(slot, x.reshape(shape)?)
    })
}

/// Recuts into blocks of shape `chunks` (`ndim` entries; NULL: auto). Lazy. A sparse array
/// (one COO: `DASK_ARRAY_SPARSE`) is cut into sparse blocks of `chunks` (NULL is an error): a
/// chunked sparse array. `*out_array` is a new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the call: the
/// new array keeps what it needs, so the caller may free it right after. `chunks` is copied.
/// Any thread, also concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `x` is live; `chunks` NULL or `ndim` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_array_rechunk(
    x: *const dask_array,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let x = unsafe { handle::get(x) }?;
        if let Operand::Sparse(c) = x {
            // One sparse array cut into sparse blocks of `chunks` (a chunked sparse array).
            let block = match chunk_spec(c.ndim(), chunks)? {
                ChunkSpec::Regular(b) => b,
                _ => {
                    return Err(Error::invalid(
                        "chunking a sparse array needs a block shape",
                    ))
                }
            };
            return put(out_array, Array::from_sparse_blocks(c, &block)?);
        }
        let a = x.as_array()?;
        put(out_array, a.rechunk(&chunk_spec(a.ndim(), chunks)?)?)
    })
}

fn array_list(xs: *const *const dask_array, n: usize) -> Result<Vec<Array>> {
    // SAFETY: exported functions pass their caller's arrays, valid per their contract.
    unsafe { slice(xs, n, "arrays") }?
        .iter()
        .map(|&p| unsafe { array_arg(p) }.cloned())
        .collect()
}

/// Joins `n` arrays along existing `axis` (dtypes promoted). Lazy. `*out_array` is a new array
/// owned by the caller (free it with `dask_array_free`). The list `arrays` and its arrays are
/// borrowed for the call (the new array keeps what it needs). Any thread, also concurrently on the
/// same arrays (arrays are immutable).
///
/// # Safety
/// `arrays` holds `n` live arrays.
#[no_mangle]
pub unsafe extern "C" fn dask_array_concatenate(
    arrays: *const *const dask_array,
    n: usize,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::concatenate(&array_list(arrays, n)?, axis)?,
        )
    })
}

/// Joins `n` arrays of one shape along a new `axis`. Lazy. `*out_array` is a new array owned by the
/// caller (free it with `dask_array_free`). The list `arrays` and its arrays are borrowed for the
/// call (the new array keeps what it needs). Any thread, also concurrently on the same arrays
/// (arrays are immutable).
///
/// # Safety
/// `arrays` holds `n` live arrays.
#[no_mangle]
pub unsafe extern "C" fn dask_array_stack(
    arrays: *const *const dask_array,
    n: usize,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| put(out_array, Array::stack(&array_list(arrays, n)?, axis)?))
}

/// Applies a registered operation (`dask_op_register`; its task callback receives the aligned
/// blocks of the `n` inputs as buffer values) to every block; the results form an array of
/// `dt` with the first input's chunks. Lazy. Also `blockwise` over aligned inputs. `*out_array` is
/// a new array owned by the caller (free it with `dask_array_free`). The list `inputs` and its
/// arrays are borrowed for the call (the new array keeps what it needs). Any thread, also
/// concurrently on the same arrays (arrays are immutable).
///
/// # Safety
/// `inputs` holds `n` live arrays.
#[no_mangle]
pub unsafe extern "C" fn dask_array_map_blocks(
    op: dask_op_id,
    inputs: *const *const dask_array,
    n: usize,
    dt: dask_dtype,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        put(
            out_array,
            Array::map_blocks(
                op_by_id(OpId(op))?,
                &array_list(inputs, n)?,
                dtype(dt)?,
                None,
            )?,
        )
    })
}

/// Computes the array on `client` into a new C-contiguous buffer value (owned by the caller).
/// A dense-kind array is returned as it is. Blocks until done; runs host tasks meanwhile.
/// Any thread, also several at once on the same client and array.
///
/// # Safety
/// `client` and `x` are live; `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_compute(
    client: *const dask_client,
    x: *const dask_array,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let slot = unsafe { out(out_value, "out_value") }?;
        let b = match unsafe { handle::get(x) }? {
            Operand::Block(b) => b.clone(),
            _ => unsafe { array_arg(x) }?.compute(c)?,
        };
        *slot = handle::new_handle(ValueRef::Owned(Arc::new(Value::Buffer(b))));
        Ok(())
    })
}

/// Computes the array into caller memory holding elements of `dt`: `out` holds `nbytes`
/// bytes, exactly the array's length times the size of `dt`, in C order. Elements are
/// converted to `dt` as `dask_array_astype` converts them (so an int64 array computed into
/// `double` memory gives doubles). Blocks as they finish. The caller's memory is written
/// only during the call. Thread-safe. No pointer to `out_data` is kept after the call returns.
///
/// # Safety
/// `client` and `x` are live; `out` is valid for writes of `nbytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_compute_into(
    client: *const dask_client,
    x: *const dask_array,
    dt: dask_dtype,
    out_data: *mut c_void,
    nbytes: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let a = unsafe { array_arg(x) }?.astype(dtype(dt)?);
        if out_data.is_null() && nbytes > 0 {
            return Err(Error::NullArgument("out is NULL".into()));
        }
        let buf: &mut [u8] = if nbytes == 0 {
            &mut []
        } else {
            unsafe { std::slice::from_raw_parts_mut(out_data as *mut u8, nbytes) }
        };
        a.compute_into(c, buf)
    })
}

/// Starts computing the array on `client` and writes one future (owned by the caller) whose
/// result is the whole array: a C-contiguous buffer value, or a sparse value for a sparse
/// array. Does not block: hosts with an event loop wait on it without blocking (see
/// `dask_future_add_done_callback`), hosts that check for interrupts poll it
/// (`dask_future_wait` with a timeout), and `dask_future_cancel` on it cancels the whole
/// computation. An already computed block or sparse array is returned as a finished future. `x` is
/// only borrowed for the call. Any thread, also several at once on the same client.
///
/// # Safety
/// `client` and `x` are live; `out_future` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_submit(
    client: *const dask_client,
    x: *const dask_array,
    out_future: *mut *mut super::future::dask_future,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let slot = unsafe { out(out_future, "out_future") }?;
        let f = match unsafe { handle::get(x) }? {
            Operand::Block(b) => c.scatter(Value::Buffer(b.clone()))?,
            Operand::Sparse(s) => c.scatter(Value::Sparse(s.clone()))?,
            _ => unsafe { array_arg(x) }?.submit(c)?,
        };
        *slot = handle::new_handle(f);
        Ok(())
    })
}

/// Computes the blocks and keeps them in the client's store; `*out_array` is an array over
/// them (owned by the caller). Further operations start from the stored blocks. `x` is only
/// borrowed for the call. Any thread, also several at once on the same client.
///
/// # Safety
/// `client` and `x` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_persist(
    client: *const dask_client,
    x: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        put(out_array, unsafe { array_arg(x) }?.persist(c)?)
    })
}

/// Computes the array and hands each block to `write` as it is finished, then frees it: a
/// result larger than memory can be written out block by block. `write` runs on the calling thread,
/// one block at a time, and never after this function returns, so `ctx` need only be valid for the
/// call; the block value and `offset` are lent to `write` for the duration of its call
/// (`dask_value_clone` keeps the block). Any thread may call this, also several at once on the same
/// client.
///
/// # Safety
/// `client` and `x` are live; `write` is callable with `ctx` on this thread.
#[no_mangle]
pub unsafe extern "C" fn dask_array_store(
    client: *const dask_client,
    x: *const dask_array,
    write: dask_block_fn,
    ctx: *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let a = unsafe { array_arg(x) }?;
        let f = write.ok_or_else(|| Error::NullArgument("write is NULL".into()))?;
        let ctx = SendPtr(ctx);
        a.store(c, |i, offset, block| {
            let v = Arc::new(Value::Buffer(block.clone()));
            let h = super::value::borrowed_handle(&v);
            super::clear_callback_error();
            // SAFETY: the caller's callback, with a borrowed value valid for the call.
            let rc = unsafe { f(ctx.0, i, offset.as_ptr(), &h) };
            if rc != 0 {
                let msg = super::take_callback_error()
                    .unwrap_or_else(|| format!("store callback returned {rc} for block {i}"));
                return Err(super::error_from_status(rc, msg));
            }
            Ok(())
        })
    })
}

/// The object of a C-kind array (borrowed; see `dask_array_from_object`). The object stays owned by
/// the array (its kind's `release` frees it): never free it; it is valid while `x` is alive.
/// Any thread.
///
/// # Safety
/// `x` is live; `out_object` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_object(
    x: *const dask_array,
    out_object: *mut *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let obj = match unsafe { handle::get(x) }? {
            Operand::Foreign(f) => f.object.address() as *mut c_void,
            _ => return Err(Error::invalid("not an array of a C kind")),
        };
        *unsafe { out(out_object, "out_object") }? = obj;
        Ok(())
    })
}
