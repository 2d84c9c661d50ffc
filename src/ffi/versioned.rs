//! Structs that grow: the one rule every versioned struct of the C ABI follows.
//!
//! A versioned struct starts with `uint32_t struct_size`, and the caller's `sizeof` travels
//! with it: input structs carry it in `struct_size` (their `_init` function sets it), output
//! structs get it as a `size_t struct_size` argument next to the pointer (the compiler then
//! makes every caller pass it). Fields are only ever appended, each new one starting at or
//! after the previous version's `sizeof` (never in tail padding), so a size says exactly which
//! fields the caller knows.
//! - Input structs (the caller fills them): the library reads only the fields the caller's
//!   size covers; the others take their defaults. A caller's struct larger than the library's
//!   (a newer header on an older library) is accepted when the bytes the library does not know
//!   are zero — a field left at its default — and refused otherwise (Linux's rule for
//!   `clone3` and `openat2`).
//! - Output structs (the library fills them): the library writes only the fields the
//!   caller's size covers, zeroes the bytes it does not know, and sets `struct_size` to the
//!   number of bytes it filled.
//!
//! The library never reads or writes a byte beyond the caller's `struct_size`.

use crate::error::{Error, Result};

/// Larger than any struct of the ABI will be: a `struct_size` above it was never set.
const MAX_STRUCT: usize = 4096;

/// Checks a caller's struct size (an argument or the first field) for `what`.
pub(crate) fn check_size(size: usize, min: usize, what: &str) -> Result<usize> {
    if size < min || size > MAX_STRUCT {
        return Err(Error::invalid(format!(
            "the struct_size of {what} is {size}: it must be sizeof({what}) as compiled \
             (at least {min})"
        )));
    }
    Ok(size)
}

/// Reads `struct_size` (the first field) of a caller's input struct, checking it holds at
/// least `min` bytes.
///
/// # Safety
/// `ptr` is NULL or points to at least 4 readable bytes (a struct that starts with
/// `uint32_t struct_size`).
pub(crate) unsafe fn struct_size<T>(ptr: *const T, min: usize, what: &str) -> Result<usize> {
    if ptr.is_null() {
        return Err(Error::NullArgument(format!("{what} is NULL")));
    }
    // SAFETY: per the contract, the first 4 bytes are the caller's struct_size.
    let size = unsafe { ptr.cast::<u32>().read_unaligned() } as usize;
    check_size(size, min, what)
}

/// Checks that the bytes of a caller's input struct beyond what the library knows are zero.
///
/// # Safety
/// `ptr` points to `size` readable bytes.
pub(crate) unsafe fn check_unknown_zero<T>(ptr: *const T, size: usize, what: &str) -> Result<()> {
    let known = std::mem::size_of::<T>();
    if size <= known {
        return Ok(());
    }
    // SAFETY: per the contract, `size` bytes are readable.
    let extra = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>().add(known), size - known) };
    if extra.iter().any(|&b| b != 0) {
        return Err(Error::invalid(format!(
            "{what} sets fields this library ({} {}) does not know: its struct_size is {size}, \
             the library's {known}",
            "libdask",
            crate::VERSION
        )));
    }
    Ok(())
}

/// Zeroes the bytes of a caller's output struct beyond what the library knows, and returns
/// how many bytes the library fills (what goes into `struct_size`).
///
/// # Safety
/// `ptr` points to `size` writable bytes.
pub(crate) unsafe fn zero_unknown<T>(ptr: *mut T, size: usize) -> usize {
    let known = std::mem::size_of::<T>();
    if size > known {
        // SAFETY: per the contract, `size` bytes are writable.
        unsafe { std::ptr::write_bytes(ptr.cast::<u8>().add(known), 0, size - known) };
    }
    size.min(known)
}

/// Copies the fields of `$src` (a `$T`) that a caller's struct of `$size` bytes at `$ptr`
/// holds into it, field by field (never a byte past `$size`).
macro_rules! write_fields {
    ($ptr:expr, $size:expr, $T:ty, $src:expr, [$($f:ident),* $(,)?]) => {{
        let ptr: *mut $T = $ptr;
        let src: &$T = &$src;
        $(
            if std::mem::offset_of!($T, $f) + std::mem::size_of_val(&src.$f) <= $size {
                // SAFETY: the field lies within the caller's `$size` bytes.
                unsafe { std::ptr::addr_of_mut!((*ptr).$f).write_unaligned(src.$f) };
            }
        )*
    }};
}
pub(crate) use write_fields;

/// A `$T` with the fields a caller's struct of `$size` bytes at `$ptr` holds, the others
/// from `$defaults` (never a byte past `$size` is read).
macro_rules! read_fields {
    ($ptr:expr, $size:expr, $T:ty, $defaults:expr, [$($f:ident),* $(,)?]) => {{
        let ptr: *const $T = $ptr;
        #[allow(unused_mut)]
        let mut out: $T = $defaults;
        $(
            if std::mem::offset_of!($T, $f) + std::mem::size_of_val(&out.$f) <= $size {
                // SAFETY: the field lies within the caller's `$size` bytes.
                out.$f = unsafe { std::ptr::addr_of!((*ptr).$f).read_unaligned() };
            }
        )*
        out
    }};
}
pub(crate) use read_fields;

/// For an input struct `$T` with fields `$f…` and defaults `$defaults(struct_size)`: the
/// body of its `_init` function, `$init(ptr, struct_size)`, and `$read(ptr)`, the caller's
/// struct as the library sees it (NULL: every default).
macro_rules! input_struct {
    ($T:ident, $defaults:ident, $init:ident, $read:ident, [$($f:ident),* $(,)?]) => {
        /// Fills the caller's struct with the defaults and sets its `struct_size`.
        ///
        /// # Safety
        /// `ptr` is NULL or valid for writes of `struct_size` bytes.
        unsafe fn $init(ptr: *mut $T, struct_size: usize) -> $crate::error::Result<()> {
            if ptr.is_null() {
                return Err($crate::error::Error::NullArgument(
                    concat!(stringify!($T), " is NULL").into(),
                ));
            }
            $crate::ffi::versioned::check_size(struct_size, 8, stringify!($T))?;
            // SAFETY: per the contract, `struct_size` bytes are writable.
            let filled = unsafe { $crate::ffi::versioned::zero_unknown(ptr, struct_size) };
            $crate::ffi::versioned::write_fields!(
                ptr, filled, $T, $defaults(struct_size as u32), [$($f),*]
            );
            // SAFETY: `struct_size` (4 bytes at offset 0) is within the caller's struct.
            unsafe {
                std::ptr::addr_of_mut!((*ptr).struct_size).write_unaligned(struct_size as u32)
            };
            Ok(())
        }

        /// The caller's struct (NULL: the defaults), fields its size does not cover at
        /// their defaults.
        ///
        /// # Safety
        /// `ptr` is NULL or a struct initialised by the `_init` function.
        unsafe fn $read(ptr: *const $T) -> $crate::error::Result<$T> {
            if ptr.is_null() {
                return Ok($defaults(std::mem::size_of::<$T>() as u32));
            }
            // SAFETY: per the contract.
            let size = unsafe { $crate::ffi::versioned::struct_size(ptr, 8, stringify!($T)) }?;
            // SAFETY: per the contract.
            unsafe { $crate::ffi::versioned::check_unknown_zero(ptr, size, stringify!($T)) }?;
            Ok($crate::ffi::versioned::read_fields!(
                ptr, size, $T, $defaults(size as u32), [$($f),*]
            ))
        }
    };
}
pub(crate) use input_struct;

#[cfg(test)]
mod tests {
    use super::super::{
        dask_buffer_view, dask_config, dask_kind_vtable, dask_memory_stats, dask_parquet_options,
        dask_parquet_write_options,
    };
    use std::mem::{offset_of, size_of};

    /// Every released size of a struct must fall between fields: a field lies wholly before
    /// it or starts at or after it (never in what was an older version's tail padding).
    fn check(name: &str, sizes: &[usize], fields: &[(usize, usize)]) {
        for &size in sizes {
            for &(offset, len) in fields {
                assert!(
                    offset + len <= size || offset >= size,
                    "{name}: a field at {offset}..{} straddles the released size {size}",
                    offset + len
                );
            }
        }
    }

    macro_rules! fields {
        ($T:ty: $($f:ident),*) => {{
            let t: $T = unsafe { std::mem::zeroed() };
            vec![$((offset_of!($T, $f), std::mem::size_of_val(&t.$f))),*]
        }};
    }

    #[test]
    fn appended_fields_never_sit_in_an_older_versions_padding() {
        // Released layouts: dask_config had {struct_size, threads} (8 bytes) before the
        // memory fields were appended, then 72 bytes before the cluster fields; the others
        // were first versioned in ABI 1. Append a struct's new size here when its fields grow.
        check(
            "dask_config",
            &[8, 72, size_of::<dask_config>()],
            &fields!(dask_config: struct_size, threads, memory_limit, memory_target,
                memory_spill, memory_pause, spill_dir, disk_limit, spill_compression,
                network_compression, memory_fraction, address, tls_ca, tls_cert, tls_key,
                require_encryption),
        );
        check(
            "dask_memory_stats",
            // ABI 1 released it without the files_written fields (120 bytes).
            &[120, size_of::<dask_memory_stats>()],
            &fields!(dask_memory_stats: struct_size, managed_bytes, values, unmanaged_bytes,
                process_bytes, spilled_bytes, spilled_values, spill_count, spill_bytes,
                spill_seconds, unspill_count, unspill_bytes, unspill_seconds,
                unspillable_values, paused, files_written, file_bytes_written),
        );
        check(
            "dask_buffer_view",
            &[size_of::<dask_buffer_view>()],
            &fields!(dask_buffer_view: struct_size, data, dtype, itemsize, ndim, shape,
                strides, len, c_contiguous),
        );
        check(
            "dask_parquet_options",
            &[size_of::<dask_parquet_options>()],
            &fields!(dask_parquet_options: struct_size, split_row_groups, columns, ncolumns,
                filter),
        );
        check(
            "dask_parquet_write_options",
            &[size_of::<dask_parquet_write_options>()],
            &fields!(dask_parquet_write_options: struct_size, partition_on, npartition_on,
                compression, row_group_size),
        );
        check(
            "dask_kind_vtable",
            &[size_of::<dask_kind_vtable>()],
            &fields!(dask_kind_vtable: struct_size, ufunc_call, release),
        );
    }
}
