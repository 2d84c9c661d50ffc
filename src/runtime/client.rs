//! The client: the entry point of the runtime. It owns the thread pool, the store and the host
//! queue; it turns graphs, single tasks, scattered data and parallel maps into runs.

use super::config::Config;
use super::future::Future;
use super::graph::Graph;
use super::host::HostNotify;
use super::op::Operation;
use super::pool::{is_worker_of, worker_main, Shared};
use super::progress::ProgressFn;
use super::run::{NodeSpec, Run, SpecInput};
use super::task::{Task, TaskId};
use crate::error::{Error, Result};
use crate::memory::MemoryStats;
use crate::value::Value;
use parking_lot::Mutex;
use std::sync::Arc;
use std::thread::JoinHandle;

/// A connection to the runtime (here: the embedded thread pool). Cheap to clone; the pool shuts
/// down when the last clone is dropped: its threads are joined and unfinished tasks cancelled.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    n_threads: usize,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        self.shared.shut_down();
        // Cancel before joining: a task waiting inside the pool on pending work then returns,
        // so its thread can exit.
        self.shared.cancel_all();
        let handles = std::mem::take(&mut *self.threads.lock());
        // A client dropped from one of its own tasks cannot join its own thread; the threads
        // exit on their own once they see the shutdown.
        if !is_worker_of(&self.shared) {
            for h in handles {
                let _ = h.join();
            }
        }
        // Work submitted while the first sweep ran is cancelled by this one.
        self.shared.cancel_all();
    }
}

impl Client {
    /// Starts a runtime as configured.
    pub fn new(config: Config) -> Result<Client> {
        let n = config.resolved_threads();
        let store = crate::memory::Store::new(&config.memory)?;
        let (shared, locals) = Shared::new(n, store);
        let mut threads = Vec::with_capacity(n);
        for (index, local) in locals.into_iter().enumerate() {
            let for_thread = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("dask-worker-{index}"))
                .spawn(move || worker_main(for_thread, local, index));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    shared.shut_down();
                    for h in threads {
                        let _ = h.join();
                    }
                    return Err(Error::Io(format!(
                        "cannot start worker thread {index}: {e}"
                    )));
                }
            }
        }
        Ok(Client {
            inner: Arc::new(ClientInner {
                shared,
                threads: Mutex::new(threads),
                n_threads: n,
            }),
        })
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.inner.n_threads
    }

    fn shared(&self) -> Result<&Arc<Shared>> {
        let shared = &self.inner.shared;
        if shared.is_shut_down() {
            return Err(Error::Closed("no new work is accepted".into()));
        }
        Ok(shared)
    }

    /// Computes the tasks of `graph` needed for `outputs` (the rest is culled) and returns one
    /// future per output. Errors (cycle, missing key, bad output) come before anything runs.
    pub fn compute(&self, graph: Graph, outputs: &[TaskId]) -> Result<Vec<Future>> {
        let shared = self.shared()?;
        let plan = graph.lower(outputs)?;
        let (_, futures) = Run::start(shared, plan.nodes, &plan.outputs, plan.progress);
        Ok(futures)
    }

    /// Submits one task.
    pub fn submit(&self, task: Task) -> Result<Future> {
        let mut graph = Graph::new();
        let id = graph.add(task);
        Ok(self.compute(graph, &[id])?.remove(0))
    }

    /// Puts `value` into the store once; tasks given the future read it by reference.
    pub fn scatter(&self, value: impl Into<Arc<Value>>) -> Result<Future> {
        Ok(Run::finished(self.shared()?, None, value.into()))
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
        let sh = self.shared()?;
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
        let (_, futures) = Run::start(sh, nodes, &outputs, progress);
        Ok(futures)
    }

    /// Runs up to `max` queued host tasks on the calling thread (for hosts that poll from an
    /// event loop); returns how many ran. Waiting on a future runs them too.
    pub fn run_host_tasks(&self, max: usize) -> usize {
        self.inner.shared.host.run_pending(max)
    }

    /// Host tasks waiting for a host thread.
    pub fn pending_host_tasks(&self) -> usize {
        self.inner.shared.host.len()
    }

    /// Sets (or clears) the function called, from any thread, whenever a host task is queued.
    pub fn set_host_notify(&self, notify: Option<HostNotify>) {
        self.inner.shared.host.set_notify(notify);
    }

    /// What the store holds now: memory, spill files, spill and unspill activity.
    pub fn memory_stats(&self) -> MemoryStats {
        self.inner.shared.store.stats()
    }

    /// Why spilling stopped, if it did (the disk is full, the disk limit is reached, nothing
    /// left can be spilled); `None` while spilling works or is not needed.
    pub fn spill_problem(&self) -> Option<String> {
        self.inner.shared.store.spill_problem()
    }

    /// The directory spill files go to (with a memory limit).
    pub fn spill_dir(&self) -> Option<std::path::PathBuf> {
        self.inner.shared.store.spill_dir().map(|p| p.to_path_buf())
    }
}
