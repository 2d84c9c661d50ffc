//! The scheduler: the state machine of submitted graphs (task states, dependencies,
//! priorities, cancellation, results) and the futures on their nodes, apart from whatever
//! runs the tasks. It hands ready tasks to an [`Executor`] and is told when they finish; the
//! local thread pool is one executor, remote workers will be another.

mod future;
mod run;

pub use future::{wait_all, AsCompleted, Future};
pub use run::FutureStatus;
pub(crate) use run::{Cell, NodeSpec, Run, SpecInput};

use crate::error::Result;
use crate::memory::Store;
use std::sync::Arc;
use std::time::Instant;

/// One task to run: a node of a submitted graph.
pub(crate) struct Job {
    pub(crate) run: Arc<Run>,
    pub(crate) idx: u32,
}

impl Job {
    /// Runs the task and then, while its run hands back a ready dependent to continue with,
    /// that one too: chains never go through a queue.
    pub(crate) fn run(self) {
        let Job { run, mut idx } = self;
        while let Some(next) = run.execute(idx) {
            idx = next;
        }
    }
}

/// What the scheduler needs from whoever runs its tasks.
pub(crate) trait Executor: Send + Sync {
    /// Queues a ready task (highest priority first when several are queued in a row from one
    /// worker: they go to its own LIFO deque).
    fn queue(&self, job: Job);
    /// Queues a ready host-affine task: it runs on the host's thread.
    fn queue_host(&self, job: Job);
    /// True on one of this executor's worker threads: a finishing task's first ready
    /// dependent then runs next on the same thread (depth-first, no queue).
    fn on_worker(&self) -> bool;
    /// True once no new task may be queued (the client was closed).
    fn is_closed(&self) -> bool;
    /// Where results are kept.
    fn store(&self) -> &Store;
    /// Waits until a task may start as far as memory goes (see `Store::admission`); an error
    /// fails the task.
    fn admit(&self, consumes: bool) -> Result<()>;
    /// Waits until `cell` finished or `deadline` passed (true when finished), keeping the
    /// waiting thread useful meanwhile.
    fn wait(&self, cell: &Cell, deadline: Option<Instant>) -> bool;
    /// A number for the next run (it names unkeyed tasks).
    fn next_run_id(&self) -> u64;
    /// Remembers a run (weakly), so closing the client can cancel what it has pending.
    fn register_run(&self, run: &Arc<Run>);
    /// Nobody needs node `idx` of `run` any more (no future, no dependent): an executor
    /// whose nodes live elsewhere lets their data go.
    fn released(&self, _run: &Arc<Run>, _idx: u32) {}
    /// Node `idx` of `run` was cancelled while running.
    fn cancel_requested(&self, _run: &Arc<Run>, _idx: u32) {}
}
