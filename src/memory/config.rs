//! Memory settings of a client (Dask's worker memory settings).

use crate::protocol::Compression;
use std::path::PathBuf;

/// Memory management of a client. With no `limit`, values are only counted; with one, the
/// least recently used values are spilled to disk past `target`, and new tasks wait past
/// `pause`.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// Bytes the client may hold in memory; `None`: no limit (nothing is spilled).
    pub limit: Option<usize>,
    /// Fraction of the limit of managed memory (stored values) past which the least
    /// recently used values are spilled.
    pub target: f64,
    /// Fraction of the limit of process memory (values and everything else) past which
    /// values are spilled too.
    pub spill: f64,
    /// Fraction of the limit of process memory past which no new task starts until memory
    /// falls.
    pub pause: f64,
    /// Where spill files go; `None`: a fresh temporary directory, removed when the client
    /// closes.
    pub spill_dir: Option<PathBuf>,
    /// Bytes of spill files allowed on disk; `None`: no limit but the disk's.
    pub disk_limit: Option<u64>,
    /// Compression of spill files.
    pub spill_compression: Compression,
    /// Compression of network messages (the distributed mode).
    pub network_compression: Compression,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            limit: None,
            target: 0.6,
            spill: 0.7,
            pause: 0.8,
            spill_dir: None,
            disk_limit: None,
            spill_compression: Compression::Auto,
            network_compression: Compression::Auto,
        }
    }
}

impl MemoryConfig {
    /// A limit as a fraction of the machine's memory.
    pub fn limit_fraction(fraction: f64) -> Option<usize> {
        super::process::total_memory().map(|t| (t as f64 * fraction) as usize)
    }

    pub(crate) fn check(&self) -> crate::error::Result<()> {
        let ok = |f: f64| f > 0.0 && f <= 1.0;
        if !(ok(self.target) && ok(self.spill) && ok(self.pause)) {
            return Err(crate::error::Error::invalid(format!(
                "memory thresholds must be in (0, 1]: target {}, spill {}, pause {}",
                self.target, self.spill, self.pause
            )));
        }
        if self.limit == Some(0) {
            return Err(crate::error::Error::invalid("a memory limit of 0 bytes"));
        }
        Ok(())
    }
}
