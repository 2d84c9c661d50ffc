//! The spill directory: one file per spilled value, in the protocol's message format.

use crate::error::{Error, Result};
use crate::protocol::{encode, read_file, Compression};
use crate::value::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Why a value was not spilled (it stays in memory in every case).
#[derive(Debug)]
pub(crate) enum SpillError {
    /// The value has no serialized form (an opaque host value): it is never tried again.
    NotSerializable(String),
    /// The disk is full or the disk limit is reached: spilling stops for a while.
    NoSpace(String),
    /// Any other failure to write.
    Io(String),
}

pub(crate) struct SpillDir {
    path: PathBuf,
    disk_limit: Option<u64>,
    /// Bytes of complete spill files (what `used` reports).
    used: AtomicU64,
    /// `used` plus the bytes of writes in flight: checked against the disk limit, so that
    /// spills running on several threads at once cannot overshoot it together.
    claimed: AtomicU64,
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

impl SpillDir {
    /// A fresh directory for one client under `parent` (the system's temporary directory when
    /// `None`), checked to be writable: a client that could not spill fails at creation, not
    /// later under memory pressure.
    pub(crate) fn create(parent: Option<&Path>, disk_limit: Option<u64>) -> Result<SpillDir> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let name = format!(
            "dask-spill-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        );
        let path = parent.join(name);
        let fail = |e: std::io::Error| {
            Error::Io(format!(
                "the spill directory {} is not usable: {e}",
                parent.display()
            ))
        };
        std::fs::create_dir_all(&path).map_err(fail)?;
        let probe = path.join("probe");
        std::fs::write(&probe, b"probe").map_err(fail)?;
        std::fs::remove_file(&probe).map_err(fail)?;
        Ok(SpillDir {
            path,
            disk_limit,
            used: AtomicU64::new(0),
            claimed: AtomicU64::new(0),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, id: u64) -> PathBuf {
        self.path.join(id.to_string())
    }

    /// Bytes of spill files on disk.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Writes `value` as file `id`; returns its length. A failed write leaves no file.
    pub(crate) fn write(
        &self,
        id: u64,
        value: &Value,
        compression: Compression,
    ) -> std::result::Result<u64, SpillError> {
        let e =
            encode(value, compression).map_err(|e| SpillError::NotSerializable(e.to_string()))?;
        let len = e.len() as u64;
        let before = self.claimed.fetch_add(len, Ordering::Relaxed);
        if let Some(limit) = self.disk_limit {
            if before + len > limit {
                self.claimed.fetch_sub(len, Ordering::Relaxed);
                return Err(SpillError::NoSpace(format!(
                    "the spill disk limit of {limit} bytes is reached ({before} used)"
                )));
            }
        }
        let path = self.file(id);
        let written = File::create(&path).and_then(|f| e.write_file(&f));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&path);
            self.claimed.fetch_sub(len, Ordering::Relaxed);
            return Err(if err.raw_os_error() == Some(libc::ENOSPC) {
                SpillError::NoSpace(format!(
                    "the disk holding the spill directory {} is full",
                    self.path.display()
                ))
            } else {
                SpillError::Io(format!("writing {}: {err}", path.display()))
            });
        }
        self.used.fetch_add(len, Ordering::Relaxed);
        Ok(len)
    }

    /// Reads file `id` back (`len` bytes); `key` names the value in errors.
    pub(crate) fn read(&self, id: u64, len: u64, key: &str) -> Result<Value> {
        let path = self.file(id);
        let what = format!("spilled value of '{key}' ({})", path.display());
        let on_disk = std::fs::metadata(&path)
            .map_err(|e| Error::Io(format!("{what}: {e}")))?
            .len();
        if on_disk != len {
            return Err(Error::Corrupt(format!(
                "{what}: the file has {on_disk} bytes, {len} were written (truncated?)"
            )));
        }
        // Mapped: a dense block is used where it lies in the page cache.
        read_file(&path, len as usize, &what)
    }

    /// Deletes file `id` of `len` bytes.
    pub(crate) fn remove(&self, id: u64, len: u64) {
        let _ = std::fs::remove_file(self.file(id));
        self.used.fetch_sub(len, Ordering::Relaxed);
        self.claimed.fetch_sub(len, Ordering::Relaxed);
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
