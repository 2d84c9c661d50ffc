//! The seam between a client and what runs its graphs. Every public call — from Rust, C,
//! Julia or R — reaches a backend through [`Client`](super::Client), whichever backend it is:
//! the local thread pool now, a connection to a remote scheduler next.

use super::config::Config;
use super::graph::Plan;
use super::local::{is_worker_of, worker_main, HostNotify, Pool};
use super::scheduler::{Executor, Future, Run};
use crate::error::{Error, Result};
use crate::memory::MemoryStats;
use crate::value::Value;
use parking_lot::Mutex;
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a client asks of the runtime behind it.
pub(crate) trait Backend: Send + Sync {
    /// Worker threads (of this process, or of the cluster).
    fn threads(&self) -> usize;
    /// Starts a lowered graph; one future per requested output.
    fn compute(&self, plan: Plan) -> Result<Vec<Future>>;
    /// Puts a value into the store once.
    fn scatter(&self, value: Arc<Value>) -> Result<Future>;
    /// Runs up to `max` queued host tasks on the calling thread.
    fn run_host_tasks(&self, max: usize) -> usize;
    fn pending_host_tasks(&self) -> usize;
    fn set_host_notify(&self, notify: Option<HostNotify>);
    fn memory_stats(&self) -> MemoryStats;
    fn spill_problem(&self) -> Option<String>;
    fn spill_dir(&self) -> Option<std::path::PathBuf>;
    /// Keeps `futures` (with a description, `meta`) under `name` until unpublished, for any
    /// client of the same runtime to get (Dask's named datasets).
    fn publish(&self, name: &str, futures: &[Future], meta: Vec<u8>) -> Result<()>;
    /// The futures and description published under `name`.
    fn get_dataset(&self, name: &str) -> Result<(Vec<Future>, Vec<u8>)>;
    fn list_datasets(&self) -> Result<Vec<String>>;
    fn unpublish(&self, name: &str) -> Result<()>;
    /// The workers of the cluster behind a remote backend.
    fn cluster_workers(&self) -> Result<Vec<crate::distributed::WorkerInfo>> {
        Err(Error::invalid(
            "this client runs on its own thread pool, not on a cluster",
        ))
    }
    /// The scheduler's advice to an adaptive cluster (it tells the idle workers it lets go
    /// to retire).
    fn adapt_advice(
        &self,
        _rule: &crate::distributed::AdaptRule,
    ) -> Result<crate::distributed::ClusterAdvice> {
        Err(Error::invalid(
            "this client runs on its own thread pool, not on a cluster",
        ))
    }
    /// For each future, the data addresses of the workers holding its value (waiting for it
    /// first).
    fn who_has(&self, _futures: &[Future]) -> Result<Vec<Vec<String>>> {
        Err(Error::invalid(
            "this client runs on its own thread pool, not on a cluster",
        ))
    }
}

/// A published dataset: its futures and their description.
type Dataset = (Vec<Future>, Vec<u8>);

/// The embedded default: a work-stealing pool of threads in this process, with the store.
/// Dropped (with the last client clone), it stops its threads and cancels what is pending.
pub(crate) struct LocalBackend {
    pool: Arc<Pool>,
    exec: Arc<dyn Executor>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    n_threads: usize,
    /// The process whose threads these are (see `runtime::fork`).
    pid: u32,
    datasets: Mutex<std::collections::BTreeMap<String, Dataset>>,
}

impl LocalBackend {
    pub(crate) fn start(config: Config) -> Result<LocalBackend> {
        super::fork::runtime_starts()?;
        let started = Self::start_pool(config);
        if started.is_err() {
            super::fork::runtime_stops();
        }
        started
    }

    fn start_pool(config: Config) -> Result<LocalBackend> {
        let n = config.resolved_threads();
        crate::array::linalg::single_threaded_blas();
        let store = crate::memory::Store::new(&config.memory)?;
        let (pool, locals) = Pool::new(n, store);
        let mut threads = Vec::with_capacity(n);
        for (index, local) in locals.into_iter().enumerate() {
            let for_thread = pool.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("dask-worker-{index}"))
                .spawn(move || worker_main(for_thread, local, index));
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    pool.shut_down();
                    for h in threads {
                        let _ = h.join();
                    }
                    return Err(Error::Io(format!(
                        "cannot start worker thread {index}: {e}"
                    )));
                }
            }
        }
        let exec: Arc<dyn Executor> = pool.clone();
        // The newest client's pool runs parallel work started outside any pool (as Dask's
        // newest client becomes the default).
        let lanes: Arc<dyn crate::parallel::Lanes> = pool.clone();
        crate::parallel::set_default_lanes(Arc::downgrade(&lanes));
        Ok(LocalBackend {
            pool,
            exec,
            threads: Mutex::new(threads),
            n_threads: n,
            pid: super::fork::current(),
            datasets: Mutex::new(Default::default()),
        })
    }

    /// The pool as the scheduler's executor (a remote backend waits and stores through it).
    pub(crate) fn executor(&self) -> Arc<dyn Executor> {
        self.exec.clone()
    }

    fn open(&self) -> Result<()> {
        if self.pool.is_shut_down() {
            return Err(Error::Closed("no new work is accepted".into()));
        }
        Ok(())
    }
}

impl Drop for LocalBackend {
    fn drop(&mut self) {
        if self.pid != super::fork::current() {
            // A forked child's copy: its threads never existed here, and a lock one of them
            // held at the fork would stay held. Leave everything as it is.
            std::mem::forget(std::mem::take(&mut *self.threads.get_mut()));
            return;
        }
        self.pool.shut_down();
        // Cancel before joining: a task waiting inside the pool on pending work then returns,
        // so its thread can exit.
        self.pool.cancel_all();
        let handles = std::mem::take(&mut *self.threads.lock());
        // A client dropped from one of its own tasks cannot join its own thread; the threads
        // exit on their own once they see the shutdown.
        if !is_worker_of(&self.pool) {
            for h in handles {
                let _ = h.join();
            }
        }
        // Work submitted while the first sweep ran is cancelled by this one.
        self.pool.cancel_all();
        super::fork::runtime_stops();
    }
}

impl Backend for LocalBackend {
    fn threads(&self) -> usize {
        self.n_threads
    }

    fn compute(&self, plan: Plan) -> Result<Vec<Future>> {
        self.open()?;
        let (_, futures) = Run::start(
            &self.exec,
            plan.nodes,
            &plan.outputs,
            plan.progress,
            plan.pace,
        );
        Ok(futures)
    }

    fn scatter(&self, value: Arc<Value>) -> Result<Future> {
        self.open()?;
        Ok(Run::finished(&self.exec, None, value))
    }

    fn run_host_tasks(&self, max: usize) -> usize {
        self.pool.host.run_pending(max)
    }

    fn pending_host_tasks(&self) -> usize {
        self.pool.host.len()
    }

    fn set_host_notify(&self, notify: Option<HostNotify>) {
        self.pool.host.set_notify(notify);
    }

    fn memory_stats(&self) -> MemoryStats {
        self.pool.store.stats()
    }

    fn spill_problem(&self) -> Option<String> {
        self.pool.store.spill_problem()
    }

    fn spill_dir(&self) -> Option<std::path::PathBuf> {
        self.pool.store.spill_dir().map(|p| p.to_path_buf())
    }

    fn publish(&self, name: &str, futures: &[Future], meta: Vec<u8>) -> Result<()> {
        let mut d = self.datasets.lock();
        if d.contains_key(name) {
            return Err(Error::invalid(format!(
                "a dataset named '{name}' exists already (unpublish it first)"
            )));
        }
        d.insert(name.to_string(), (futures.to_vec(), meta));
        Ok(())
    }

    fn get_dataset(&self, name: &str) -> Result<(Vec<Future>, Vec<u8>)> {
        self.datasets
            .lock()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("no dataset named '{name}'")))
    }

    fn list_datasets(&self) -> Result<Vec<String>> {
        Ok(self.datasets.lock().keys().cloned().collect())
    }

    fn unpublish(&self, name: &str) -> Result<()> {
        let gone = self.datasets.lock().remove(name);
        gone.map(drop)
            .ok_or_else(|| Error::invalid(format!("no dataset named '{name}'")))
    }
}
