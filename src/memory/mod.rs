//! Memory: the client's store accounting. The spill-aware manager (limit, LRU spill to disk,
//! pause) grows here; every value enters and leaves the store through [`Store`], so that is
//! where it will plug in.

mod store;

pub use store::MemoryStats;
pub(crate) use store::Store;
