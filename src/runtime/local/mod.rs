//! The local executor: the embedded thread pool that runs a client's tasks in this process,
//! and the host queue where tasks for the host language's own thread wait.

mod host;
mod pool;

pub(crate) use host::HOST_TAG_SHIFT;
pub use host::{release_host_ref, take_released_host_refs, HostNotify};
pub(crate) use pool::{current_worker, is_worker_of, worker_main, Pool};
