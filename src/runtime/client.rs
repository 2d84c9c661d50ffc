//! The client: the entry point of the runtime. It owns the thread pool, the store and the host
//! queue; it turns graphs, single tasks, scattered data and parallel maps into runs.

use super::backend::{Backend, LocalBackend};
use super::config::Config;
use super::graph::{Graph, Plan};
use super::local::HostNotify;
use super::op::Operation;
use super::progress::ProgressFn;
use super::scheduler::{Future, NodeSpec, SpecInput};
use super::task::{Task, TaskId};
use crate::error::Result;
use crate::memory::MemoryStats;
use crate::value::Value;
use std::sync::Arc;

/// A connection to the runtime (here: the embedded thread pool). Cheap to clone; the pool shuts
/// down when the last clone is dropped: its threads are joined and unfinished tasks cancelled.
///
/// Every call goes to the client's backend, so the same calls work whichever runtime is behind
/// it (the local thread pool now; a remote scheduler is the next backend).
#[derive(Clone)]
pub struct Client {
    backend: Arc<dyn Backend>,
    /// The process that started the runtime (see `fork`).
    pid: u32,
}

impl Client {
    /// Starts a runtime as configured: the embedded thread pool, or a connection to the
    /// cluster at `config.address`.
    pub fn new(config: Config) -> Result<Client> {
        let backend: Arc<dyn Backend> = match config.address.clone() {
            Some(addr) => Arc::new(crate::distributed::RemoteBackend::connect(
                &addr,
                config.security.clone(),
                config,
            )?),
            None => Arc::new(LocalBackend::start(config)?),
        };
        Ok(Client {
            backend,
            pid: super::fork::current(),
        })
    }

    /// Connects to the scheduler at `address` (`tcp://host:port` or `tls://host:port`):
    /// every call then runs on that cluster.
    pub fn connect(address: &str, security: crate::distributed::Security) -> Result<Client> {
        Client::new(Config {
            threads: 1,
            address: Some(address.to_string()),
            security,
            ..Config::default()
        })
    }

    /// Publishes `futures` under `name` (with a description, `meta`): they stay computed
    /// until unpublished, and any client of the same runtime (the same process, or the same
    /// cluster) gets them by name. An error when the name is taken.
    pub fn publish_dataset(&self, name: &str, futures: &[Future], meta: Vec<u8>) -> Result<()> {
        self.backend.publish(name, futures, meta)
    }

    /// The futures and description published under `name`.
    pub fn get_dataset(&self, name: &str) -> Result<(Vec<Future>, Vec<u8>)> {
        self.backend.get_dataset(name)
    }

    /// The names of the published datasets.
    pub fn list_datasets(&self) -> Result<Vec<String>> {
        self.backend.list_datasets()
    }

    /// Forgets a published dataset (its data goes once no future holds it).
    pub fn unpublish_dataset(&self, name: &str) -> Result<()> {
        self.backend.unpublish(name)
    }

    /// The cluster's workers (an error for a client on its own thread pool).
    pub fn cluster_workers(&self) -> Result<Vec<crate::distributed::WorkerInfo>> {
        self.backend.cluster_workers()
    }

    /// What the cluster's scheduler wants of an adaptive cluster now, from its own queue:
    /// how many workers, and which idle ones it has just told to retire (an error for a
    /// client on its own thread pool).
    pub fn adapt_advice(
        &self,
        rule: &crate::distributed::AdaptRule,
    ) -> Result<crate::distributed::ClusterAdvice> {
        self.backend.adapt_advice(rule)
    }

    /// For each future, the data addresses of the cluster workers holding its value (Dask's
    /// `Client.who_has`), after waiting for it; an empty list for a value that lives only in
    /// this process. An error for a client on its own thread pool.
    pub fn who_has(&self, futures: &[Future]) -> Result<Vec<Vec<String>>> {
        self.backend.who_has(futures)
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.backend.threads()
    }

    /// Computes the tasks of `graph` needed for `outputs` (the rest is culled) and returns one
    /// future per output. Errors (cycle, missing key, bad output) come before anything runs.
    pub fn compute(&self, graph: Graph, outputs: &[TaskId]) -> Result<Vec<Future>> {
        self.check_process()?;
        self.backend.compute(graph.lower(outputs)?)
    }

    /// Like [`compute`](Self::compute), for a consumer that takes the outputs one by one:
    /// while `window` outputs are finished and their futures still held, the graph's tasks
    /// that have not started wait. Dropping an output's future lets the next one go. A
    /// computation larger than memory then streams through a slow consumer in bounded
    /// memory, with or without a memory limit (`Array::store` works this way).
    pub fn compute_paced(
        &self,
        graph: Graph,
        outputs: &[TaskId],
        window: usize,
    ) -> Result<Vec<Future>> {
        self.check_process()?;
        let mut plan = graph.lower(outputs)?;
        plan.pace = Some(window);
        self.backend.compute(plan)
    }

    /// Submits one task.
    pub fn submit(&self, task: Task) -> Result<Future> {
        let mut graph = Graph::new();
        let id = graph.add(task);
        Ok(self.compute(graph, &[id])?.remove(0))
    }

    /// Puts `value` into the store once; tasks given the future read it by reference.
    pub fn scatter(&self, value: impl Into<Arc<Value>>) -> Result<Future> {
        self.check_process()?;
        self.backend.scatter(value.into())
    }

    /// Runs `op(item, shared...)` for every item, in parallel; one future per item. The
    /// `shared` futures (typically scattered data) are passed by reference to every task,
    /// never copied.
    pub fn map(
        &self,
        op: &Operation,
        items: Vec<Arc<Value>>,
        shared: &[Future],
        progress: Option<ProgressFn>,
    ) -> Result<Vec<Future>> {
        self.check_process()?;
        let outputs: Vec<u32> = (0..items.len() as u32).collect();
        let nodes = items
            .into_iter()
            .map(|item| {
                let mut inputs = Vec::with_capacity(1 + shared.len());
                inputs.push(SpecInput::Value(item));
                inputs.extend(shared.iter().map(|f| SpecInput::Extern(f.clone())));
                NodeSpec {
                    key: None,
                    op: op.clone(),
                    inputs,
                }
            })
            .collect();
        self.backend.compute(Plan {
            nodes,
            outputs,
            progress,
            pace: None,
        })
    }

    /// Fails in a forked child: this client's threads are in its parent.
    pub fn check_process(&self) -> Result<()> {
        super::fork::check(self.pid, "client")
    }

    /// Runs up to `max` queued host tasks on the calling thread (for hosts that poll from an
    /// event loop); returns how many ran. Waiting on a future runs them too.
    pub fn run_host_tasks(&self, max: usize) -> usize {
        if self.check_process().is_err() {
            return 0; // the parent's tasks, queued for the parent's host
        }
        self.backend.run_host_tasks(max)
    }

    /// Host tasks waiting for a host thread.
    pub fn pending_host_tasks(&self) -> usize {
        self.backend.pending_host_tasks()
    }

    /// Sets (or clears) the function called, from any thread, whenever a host task is queued.
    pub fn set_host_notify(&self, notify: Option<HostNotify>) {
        self.backend.set_host_notify(notify);
    }

    /// What the store holds now: memory, spill files, spill and unspill activity.
    pub fn memory_stats(&self) -> MemoryStats {
        self.backend.memory_stats()
    }

    /// Why spilling stopped, if it did (the disk is full, the disk limit is reached, nothing
    /// left can be spilled); `None` while spilling works or is not needed.
    pub fn spill_problem(&self) -> Option<String> {
        self.backend.spill_problem()
    }

    /// The directory spill files go to (with a memory limit).
    pub fn spill_dir(&self) -> Option<std::path::PathBuf> {
        self.backend.spill_dir()
    }
}
