//! Memory: the client's store of results, its accounting, and spilling to disk under a
//! memory limit (least recently used values first, read back transparently on access, new
//! tasks paused when memory is high). Spill files use the protocol's frames.

mod config;
pub(crate) mod huge_pages;
pub mod process;
mod spill_dir;
mod store;

pub use config::MemoryConfig;
pub use store::MemoryStats;
pub(crate) use store::{AdmitWait, RemoteValue, Store, Stored};
