//! The task runtime: graphs of tasks (`graph`, `task`, `op`), the scheduler's state machine
//! and the futures on it (`scheduler`), the executors that run tasks (`local`: the embedded
//! thread pool), and the client that sits over a backend (`client`, `backend`).

pub(crate) mod backend;
mod capture;
mod client;
mod config;
pub(crate) mod fork;
pub(crate) mod graph;
pub(crate) mod local;
mod op;
mod progress;
pub(crate) mod scheduler;
mod signal;
mod task;

pub use client::Client;
pub use config::Config;
pub use graph::Graph;
pub(crate) use local::HOST_TAG_SHIFT;
pub use local::{release_host_ref, take_released_host_refs, HostNotify};
pub(crate) use op::register_builtin;
pub use op::{
    library_op_names, lookup_op, op_by_id, op_count, op_names_since, register_op, OpDef, OpFn,
    OpId, Operation,
};
pub use progress::ProgressFn;
pub use scheduler::FutureStatus;
pub use scheduler::{wait_all, AsCompleted, Future};
pub use task::{run_wire_task, Arg, Task, TaskId};

/// True on a worker thread of some client's pool: code that could spread work over threads
/// of its own stays on one there, as the pool already runs tasks side by side.
pub(crate) fn on_worker_thread() -> bool {
    local::current_worker().is_some()
}
