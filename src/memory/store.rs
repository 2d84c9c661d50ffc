//! Accounting of the values held by a client's store.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counters of what the store holds.
#[derive(Default)]
pub(crate) struct Store {
    managed_bytes: AtomicUsize,
    values: AtomicUsize,
}

/// A snapshot of the store's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryStats {
    /// Bytes of payload held by stored values (buffers, bytes, strings).
    pub managed_bytes: usize,
    /// Number of stored values that hold a payload.
    pub values: usize,
}

impl Store {
    /// A value of `nbytes` entered the store. Values without payload are not counted, which
    /// keeps the hot path of tiny tasks free of shared-counter traffic.
    pub(crate) fn added(&self, nbytes: usize) {
        if nbytes > 0 {
            self.managed_bytes.fetch_add(nbytes, Ordering::Relaxed);
            self.values.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A value of `nbytes` left the store.
    pub(crate) fn removed(&self, nbytes: usize) {
        if nbytes > 0 {
            self.managed_bytes.fetch_sub(nbytes, Ordering::Relaxed);
            self.values.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn stats(&self) -> MemoryStats {
        MemoryStats {
            managed_bytes: self.managed_bytes.load(Ordering::Relaxed),
            values: self.values.load(Ordering::Relaxed),
        }
    }
}
