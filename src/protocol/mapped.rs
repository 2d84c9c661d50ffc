//! Reading a message file through a memory map: a dense block stored raw is used where it
//! lies in the page cache (checked, not copied); anything else is decoded from the map.
//! Mapping with `MAP_POPULATE` sets up all pages at once instead of faulting 4 KiB at a time.

use super::frame::verify_in_place;
use super::message::{decode, dense_frame, read_value, DenseFrame};
use crate::error::{Error, Result};
use crate::value::{Buffer, Value};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// Files below this size are read, not mapped.
const MAP_FROM: usize = 1 << 20;

/// A read-only mapping of a whole file, unmapped on drop.
struct Mapping {
    addr: usize,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr..addr+len` is a mapping this value owns, and nothing refers to it
        // any more (the buffer that did has released it).
        unsafe {
            libc::munmap(self.addr as *mut libc::c_void, self.len);
        }
    }
}

#[cfg(target_os = "linux")]
fn map(f: &File, len: usize) -> Option<Mapping> {
    use std::os::fd::AsRawFd;
    // SAFETY: a private read-only mapping of an open file; failure is reported as MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
            f.as_raw_fd(),
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(Mapping {
        addr: p as usize,
        len,
    })
}

#[cfg(not(target_os = "linux"))]
fn map(_: &File, _: usize) -> Option<Mapping> {
    None
}

/// Reads the message in file `path` (`len` bytes); `what` names the value in errors.
pub fn read_file(path: &Path, len: usize, what: &str) -> Result<Value> {
    let f = File::open(path).map_err(|e| Error::Io(format!("{what}: {e}")))?;
    let mapping = if len >= MAP_FROM { map(&f, len) } else { None };
    let Some(mapping) = mapping else {
        return read_value(&mut BufReader::with_capacity(1 << 16, f), len, what);
    };
    // SAFETY: the mapping covers `len` readable bytes and lives as long as `mapping`.
    let bytes = unsafe { std::slice::from_raw_parts(mapping.addr as *const u8, len) };
    match dense_frame(bytes, what)? {
        Some(DenseFrame {
            dtype,
            shape,
            offset,
            meta,
        }) => {
            let frame = &bytes[offset..offset + meta.stored_len];
            verify_in_place(&meta, frame, what)?;
            let ptr = frame.as_ptr();
            let release: Box<dyn FnOnce() + Send + Sync> = Box::new(move || drop(mapping));
            // SAFETY: the frame lies in the mapping (64-byte aligned in the file, the map
            // page-aligned), which stays until `release` runs; the map is private and
            // read-only, so nothing writes to it.
            let b = unsafe {
                Buffer::from_foreign(ptr, meta.raw_len, dtype, &shape, None, Some(release))
            }?;
            Ok(Value::Buffer(b))
        }
        None => decode(bytes, what),
    }
}
