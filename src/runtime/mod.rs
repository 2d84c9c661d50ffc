//! The task runtime: clients, graphs, the scheduler and its thread pool, futures.

mod capture;
mod client;
mod config;
mod future;
mod graph;
mod host;
mod op;
mod pool;
mod progress;
mod run;
mod signal;
mod task;

pub use client::Client;
pub use config::Config;
pub use future::{wait_all, AsCompleted, Future};
pub use graph::Graph;
pub(crate) use host::HOST_TAG_SHIFT;
pub use host::{release_host_ref, take_released_host_refs, HostNotify};
pub(crate) use op::register_builtin;
pub use op::{library_op_names, lookup_op, op_by_id, register_op, OpDef, OpFn, OpId, Operation};
pub use progress::ProgressFn;
pub use run::FutureStatus;
pub use task::{run_wire_task, Arg, Task, TaskId};

/// True on a worker thread of some client's pool: code that could spread work over threads
/// of its own stays on one there, as the pool already runs tasks side by side.
pub(crate) fn on_worker_thread() -> bool {
    pool::current_worker().is_some()
}
