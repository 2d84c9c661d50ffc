//! C ABI: sparse (COO) arrays. They are `dask_array` handles of the sparse kind: ufuncs
//! (`dask_ufunc_call`), `dask_array_reduce`, `dask_array_tensordot`/`matmul`,
//! `dask_array_transpose` and the queries work on them directly; this file adds creation,
//! conversion and the sparse-only operations.

use super::array::{dask_array, put_operand, sparse_arg};
use super::handle;
use super::value::{dask_value, value_arg, ValueRef};
use super::{dask_status, guard, out, slice};
use crate::array::{Operand, Scalar};
use crate::error::{Error, Result};
use crate::sparse::{self, Coo, ReturnType};
use crate::value::Value;
use std::sync::Arc;

/// `return_type` of sparse products.
pub type dask_return_type = u32;
/// Sparse when both operands are sparse, else dense.
pub const DASK_RETURN_AUTO: dask_return_type = 0;
pub const DASK_RETURN_SPARSE: dask_return_type = 1;
pub const DASK_RETURN_DENSE: dask_return_type = 2;

fn coo_arg<'a>(x: *const dask_array) -> Result<&'a Coo> {
    // SAFETY: exported functions pass their caller's handle, valid per their contract.
    unsafe { sparse_arg(x) }?.ok_or_else(|| Error::invalid("not a sparse array"))
}

fn return_type(rt: dask_return_type) -> Result<ReturnType> {
    match rt {
        DASK_RETURN_AUTO => Ok(ReturnType::Auto),
        DASK_RETURN_SPARSE => Ok(ReturnType::Sparse),
        DASK_RETURN_DENSE => Ok(ReturnType::Dense),
        other => Err(Error::invalid(format!(
            "{other} is not a DASK_RETURN_* code"
        ))),
    }
}

/// # Safety
/// `a` and `b` are live array handles.
unsafe fn tensordot_any(
    a: *const dask_array,
    b: *const dask_array,
    axes_a: &[usize],
    axes_b: &[usize],
    rt: dask_return_type,
) -> Result<Operand> {
    // SAFETY: per the contract.
    let (x, y) = unsafe { (handle::get(a)?, handle::get(b)?) };
    x.tensordot(y, axes_a, axes_b, return_type(rt)?)
}

/// Makes a sparse array from triplets: `coords` holds `ndim x nnz` coordinates (axis-major:
/// all coordinates of axis 0, then axis 1, …), `data` is a 1-d buffer value of `nnz` values
/// (any dtype); duplicates are summed, entries equal to `fill` dropped, out-of-range
/// coordinates rejected. `*out_array` is owned by the caller. `shape` and `coords` are copied, and
/// so are the values of `data`, whose handle stays the caller's. Any thread.
///
/// # Safety
/// `shape` holds `ndim` entries; `coords` holds `ndim * nnz` entries where `nnz` is the length
/// of `data`; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_from_triplets(
    ndim: usize,
    shape: *const usize,
    coords: *const u64,
    data: *const dask_value,
    fill: f64,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let shape = unsafe { slice(shape, ndim, "shape") }?;
        let v = unsafe { value_arg(data) }?;
        let d = v
            .as_buffer()
            .ok_or_else(|| Error::DType(format!("data is {}, not a buffer", v.kind_name())))?;
        let c = unsafe { slice(coords, ndim * d.len(), "coords") }?;
        put_operand(
            slot,
            Operand::Sparse(Coo::from_triplets(shape, c, d, Scalar::Float(fill))?),
        )
    })
}

/// Makes a sparse array of the elements of a dense buffer value that differ from `fill` (they are
/// copied; `value` is only borrowed for the call). `*out_array` is a new array owned by the caller
/// (free it with `dask_array_free`). Any thread.
///
/// # Safety
/// `value` is a live buffer value; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_from_dense(
    value: *const dask_value,
    fill: f64,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let v = unsafe { value_arg(value) }?;
        let b = v
            .as_buffer()
            .ok_or_else(|| Error::DType(format!("value is {}, not a buffer", v.kind_name())))?;
        put_operand(
            slot,
            Operand::Sparse(Coo::from_dense(b, Scalar::Float(fill))?),
        )
    })
}

/// Densifies explicitly: a new C-contiguous buffer value (owned by the caller). `x` is only
/// borrowed for the call. Any thread.
///
/// # Safety
/// `x` is a live sparse array; `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_to_dense(
    x: *const dask_array,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_value, "out_value") }?;
        let d = coo_arg(x)?.to_dense()?;
        *slot = handle::new_handle(ValueRef::Owned(Arc::new(Value::Buffer(d))));
        Ok(())
    })
}

/// Writes the number of stored entries, the bytes of coordinates and data (as pydata/sparse
/// counts `nbytes`) and the density; any out-pointer may be NULL. Writes the non-NULL out-pointers
/// only; nothing to free. Any thread.
///
/// # Safety
/// `x` is a live sparse array; non-NULL out-pointers are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_info(
    x: *const dask_array,
    out_nnz: *mut usize,
    out_nbytes: *mut usize,
    out_density: *mut f64,
) -> dask_status {
    guard(|| {
        let s = coo_arg(x)?;
        // SAFETY: per the contract.
        unsafe {
            if let Some(p) = out_nnz.as_mut() {
                *p = s.nnz();
            }
            if let Some(p) = out_nbytes.as_mut() {
                *p = s.nbytes();
            }
            if let Some(p) = out_density.as_mut() {
                *p = s.density();
            }
        }
        Ok(())
    })
}

/// Copies the coordinates (`ndim x nnz`, axis-major, sorted row-major) into `out_coords`.
/// Any thread.
///
/// # Safety
/// `x` is a live sparse array; `out_coords` has room for `ndim * nnz` entries.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_coords(
    x: *const dask_array,
    out_coords: *mut u64,
) -> dask_status {
    guard(|| {
        let s = coo_arg(x)?;
        let n = s.ndim() * s.nnz();
        if n > 0 && out_coords.is_null() {
            return Err(Error::NullArgument("out_coords is NULL".into()));
        }
        for k in 0..n {
            // SAFETY: room for `n` entries per the contract.
            unsafe { *out_coords.add(k) = s.coords().get(k) };
        }
        Ok(())
    })
}

/// The stored values as a 1-d buffer value (shared, not copied; owned by the caller). Any thread.
///
/// # Safety
/// `x` is a live sparse array; `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_data(
    x: *const dask_array,
    out_value: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_value, "out_value") }?;
        let b = coo_arg(x)?.data().clone();
        *slot = handle::new_handle(ValueRef::Owned(Arc::new(Value::Buffer(b))));
        Ok(())
    })
}

/// The fill value (as a double). Writes `*out_fill` only; nothing to free. Any thread.
///
/// # Safety
/// `x` is a live sparse array; `out_fill` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_fill_value(
    x: *const dask_array,
    out_fill: *mut f64,
) -> dask_status {
    guard(|| {
        let f = coo_arg(x)?.fill_value().as_f64();
        // SAFETY: per the contract.
        *unsafe { out(out_fill, "out_fill") }? = f;
        Ok(())
    })
}

/// Whether operations on sparse arrays may produce dense results (e.g. adding a dense
/// array): false (the default) makes them fail with a message saying so. Process-wide. Any thread
/// may call it, but the setting is global: it applies at once to every thread and every client of
/// the process (set it once at start-up rather than around a call).
#[no_mangle]
pub extern "C" fn dask_sparse_set_auto_densify(allow: bool) {
    sparse::set_auto_densify(allow);
}

/// `tensordot` with at least one sparse operand (the other sparse or a dense array) and an
/// explicit `return_type` (`DASK_RETURN_*`). `dask_array_tensordot` is the same with
/// `DASK_RETURN_AUTO`. `*out_array` is a new array owned by the caller (free it with
/// `dask_array_free`). `a` and `b` are borrowed for the call: the new array keeps what it needs, so
/// the caller may free them right after. `axes_a` and `axes_b` are copied. Any thread.
///
/// # Safety
/// `a`, `b` are live; `axes_a`, `axes_b` hold `n_axes` entries; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_tensordot(
    a: *const dask_array,
    b: *const dask_array,
    axes_a: *const usize,
    axes_b: *const usize,
    n_axes: usize,
    rt: dask_return_type,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let (ia, ib) = (unsafe { slice(axes_a, n_axes, "axes_a") }?, unsafe {
            slice(axes_b, n_axes, "axes_b")
        }?);
        put_operand(slot, unsafe { tensordot_any(a, b, ia, ib, rt) }?)
    })
}

/// The sparse array with another shape of the same size. `*out_array` is a new array owned by the
/// caller (free it with `dask_array_free`). `x` is borrowed for the call: the new array keeps what
/// it needs, so the caller may free it right after. `shape` is copied. Any thread.
///
/// # Safety
/// `x` is a live sparse array; `shape` holds `ndim` entries; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_reshape(
    x: *const dask_array,
    ndim: usize,
    shape: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let shape = unsafe { slice(shape, ndim, "shape") }?;
        put_operand(slot, Operand::Sparse(coo_arg(x)?.reshape(shape)?))
    })
}

fn coo_list<'a>(xs: *const *const dask_array, n: usize) -> Result<Vec<&'a Coo>> {
    // SAFETY: exported functions pass their caller's array, valid per their contract.
    unsafe { slice(xs, n, "arrays") }?
        .iter()
        .map(|&p| coo_arg(p))
        .collect()
}

/// Joins `n` sparse arrays (one dtype and fill value) along `axis`. `*out_array` is a new array
/// owned by the caller (free it with `dask_array_free`). The list `arrays` and its arrays are
/// borrowed for the call. Any thread.
///
/// # Safety
/// `arrays` holds `n` live sparse arrays; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_concatenate(
    arrays: *const *const dask_array,
    n: usize,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(
            slot,
            Operand::Sparse(Coo::concatenate(&coo_list(arrays, n)?, axis)?),
        )
    })
}

/// Joins `n` sparse arrays of one shape along a new `axis`. `*out_array` is a new array owned by
/// the caller (free it with `dask_array_free`). The list `arrays` and its arrays are borrowed for
/// the call. Any thread.
///
/// # Safety
/// `arrays` holds `n` live sparse arrays; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_stack(
    arrays: *const *const dask_array,
    n: usize,
    axis: usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        put_operand(
            slot,
            Operand::Sparse(Coo::stack(&coo_list(arrays, n)?, axis)?),
        )
    })
}

/// The chunked array with sparse blocks (`x.map_blocks(sparse.COO)`): each block keeps the
/// elements that differ from `fill`. Lazy; operations then dispatch on the block kind. `*out_array`
/// is a new array owned by the caller (free it with `dask_array_free`). `x` is borrowed for the
/// call: the new array keeps what it needs, so the caller may free it right after. Any thread.
///
/// # Safety
/// `x` is a live chunked array; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_to_sparse(
    x: *const dask_array,
    fill: f64,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let a = unsafe { super::array::array_arg(x) }?;
        put_operand(slot, Operand::Array(a.to_sparse(Scalar::Float(fill))))
    })
}

/// The chunked array with dense blocks: the explicit densify of a chunked sparse array. Lazy.
/// `*out_array` is a new array owned by the caller (free it with `dask_array_free`). `x` is
/// borrowed for the call: the new array keeps what it needs, so the caller may free it right after.
/// Any thread.
///
/// # Safety
/// `x` is a live chunked array; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_to_dense(
    x: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let a = unsafe { super::array::array_arg(x) }?;
        put_operand(slot, Operand::Array(a.to_dense()))
    })
}

/// A random sparse float64 chunked array: elements stored with probability `density`, values
/// uniform in (0, 1]; chunking-independent for a seed. `chunks`: block shape or NULL (auto).
/// Blocks are generated sparse: the cost follows the stored elements, not the dense size.
/// `*out_array` is a new array owned by the caller (free it with `dask_array_free`). `shape` and
/// `chunks` are copied. Any thread.
///
/// # Safety
/// `shape` (and `chunks` unless NULL) hold `ndim` entries; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_random_sparse(
    seed: u64,
    density: f64,
    ndim: usize,
    shape: *const usize,
    chunks: *const usize,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let shape = unsafe { slice(shape, ndim, "shape") }?;
        let spec = if chunks.is_null() {
            crate::array::ChunkSpec::Auto
        } else {
            crate::array::ChunkSpec::Regular(unsafe { slice(chunks, ndim, "chunks") }?.to_vec())
        };
        put_operand(
            slot,
            Operand::Array(crate::array::Array::random_sparse(
                seed, density, shape, &spec,
            )?),
        )
    })
}

/// Computes a chunked sparse array into one sparse array (owned by the caller). `x` is only
/// borrowed for the call. Any thread, also several at once on the same client.
///
/// # Safety
/// `client` and `x` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_compute_sparse(
    client: *const super::client::dask_client,
    x: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let slot = unsafe { out(out_array, "out_array") }?;
        let a = unsafe { super::array::array_arg(x) }?;
        put_operand(slot, Operand::Sparse(a.compute_sparse(c)?))
    })
}

/// Writes a 2-d sparse array (fill 0) in compressed form, through `sprs`: CSR when
/// `by_columns` is false (`out_indptr` gets rows + 1 entries, `out_indices` the column of each
/// of the nnz entries), CSC when true (cols + 1 pointers, row indices). `*out_data` gets the
/// values as a new 1-d buffer value (owned by the caller). `out_indptr` and `out_indices` are
/// written during the call only. Any thread.
///
/// # Safety
/// `x` is a live sparse array; `out_indptr` and `out_indices` have room as described (see
/// `dask_sparse_info` for nnz); `out_data` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_to_compressed(
    x: *const dask_array,
    by_columns: bool,
    out_indptr: *mut usize,
    out_indices: *mut usize,
    out_data: *mut *mut dask_value,
) -> dask_status {
    guard(|| {
        let s = coo_arg(x)?;
        // SAFETY: per the contract.
        let slot = unsafe { out(out_data, "out_data") }?;
        let layout = if by_columns {
            sparse::Compressed::Cols
        } else {
            sparse::Compressed::Rows
        };
        let (indptr, indices, data) = sparse::to_compressed(s, layout)?;
        if out_indptr.is_null() || (!indices.is_empty() && out_indices.is_null()) {
            return Err(Error::NullArgument(
                "out_indptr or out_indices is NULL".into(),
            ));
        }
        // SAFETY: room for these entries per the contract.
        unsafe {
            std::ptr::copy_nonoverlapping(indptr.as_ptr(), out_indptr, indptr.len());
            if !indices.is_empty() {
                std::ptr::copy_nonoverlapping(indices.as_ptr(), out_indices, indices.len());
            }
        }
        *slot = handle::new_handle(ValueRef::Owned(Arc::new(Value::Buffer(data))));
        Ok(())
    })
}

/// Makes a 2-d sparse array (fill 0) from compressed arrays, validated by `sprs` (monotone
/// pointers, sorted in-range indices): CSR when `by_columns` is false, CSC when true. `data`
/// is a 1-d buffer value with one value per index. The arrays are copied. `*out_array` is owned by
/// the caller; `data` is only borrowed for the call. Any thread.
///
/// # Safety
/// `indptr` holds rows + 1 (CSR) or cols + 1 (CSC) entries and `indices` as many as `data`
/// has values; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_sparse_from_compressed(
    rows: usize,
    cols: usize,
    by_columns: bool,
    indptr: *const usize,
    indices: *const usize,
    data: *const dask_value,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let v = unsafe { value_arg(data) }?;
        let d = v
            .as_buffer()
            .ok_or_else(|| Error::DType(format!("data is {}, not a buffer", v.kind_name())))?;
        let outer = if by_columns { cols } else { rows };
        let ptr = super::try_copy(unsafe { slice(indptr, outer + 1, "indptr") }?, "indptr")?;
        let idx = super::try_copy(unsafe { slice(indices, d.len(), "indices") }?, "indices")?;
        let layout = if by_columns {
            sparse::Compressed::Cols
        } else {
            sparse::Compressed::Rows
        };
        put_operand(
            slot,
            Operand::Sparse(sparse::from_compressed((rows, cols), layout, ptr, idx, d)?),
        )
    })
}
