//! The work-stealing thread pool of the embedded runtime: the local [`Executor`].
//!
//! Each worker owns a LIFO deque: a task's newly ready dependents go there, so a worker keeps
//! going depth-first and frees intermediate results early (Dask's `order` idea, applied
//! dynamically). Roots of a submitted graph go to the shared FIFO injector in priority order.
//! Idle workers spin briefly, then sleep on their own [`Signal`]; pushers wake one sleeper.
//! There is no busy-waiting: the spin is bounded and the sleep is a condition variable.

use super::host::HostQueue;
use crate::error::Result;
use crate::memory::{AdmitWait, Store};
use crate::parallel::{HelpJob, Lanes};
use crate::runtime::scheduler::{Cell, Executor, Job, Run};
use crate::runtime::signal::Signal;
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use parking_lot::Mutex;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// State shared by a client's workers, its host queue and every graph it runs.
pub(crate) struct Pool {
    injector: Injector<Job>,
    stealers: Vec<Stealer<Job>>,
    /// Parallel work inside running tasks (`crate::parallel`): idle workers take it before
    /// starting new tasks, as it finishes a task already under way.
    help: Injector<Arc<dyn HelpJob>>,
    sleepers: Mutex<Vec<Arc<Signal>>>,
    n_sleepers: AtomicUsize,
    shutdown: AtomicBool,
    pub(crate) host: HostQueue,
    pub(crate) store: Store,
    runs: Mutex<RunRegistry>,
    next_run_id: AtomicU64,
}

/// Weak references to the graphs submitted, so that closing the client can cancel what is
/// still pending. Dead entries are pruned as the list grows.
struct RunRegistry {
    runs: Vec<Weak<Run>>,
    prune_at: usize,
}

/// What a worker thread knows about itself; reachable through a thread-local so that code
/// deep in task completion can push to the local deque.
pub(crate) struct WorkerCtx {
    pub(crate) pool: Arc<Pool>,
    local: Worker<Job>,
    index: usize,
    pub(crate) signal: Arc<Signal>,
}

thread_local! {
    static WORKER: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
}

/// The worker context of the current thread, if it is a pool thread.
pub(crate) fn current_worker() -> Option<Rc<WorkerCtx>> {
    WORKER.with(|w| w.borrow().clone())
}

/// True when the current thread is a worker of `pool`.
pub(crate) fn is_worker_of(pool: &Pool) -> bool {
    WORKER.with(|w| {
        w.borrow()
            .as_ref()
            .is_some_and(|w| std::ptr::eq(Arc::as_ptr(&w.pool), pool))
    })
}

/// Bounded spin before sleeping: long enough to catch work that arrives within microseconds,
/// short enough not to burn a core.
const SPIN_ROUNDS: usize = 64;

impl Pool {
    /// Creates the shared state and the workers' deques (one per thread, to move into threads).
    pub(crate) fn new(threads: usize, store: Store) -> (Arc<Pool>, Vec<Worker<Job>>) {
        let locals: Vec<Worker<Job>> = (0..threads).map(|_| Worker::new_lifo()).collect();
        let shared = Arc::new(Pool {
            injector: Injector::new(),
            stealers: locals.iter().map(Worker::stealer).collect(),
            help: Injector::new(),
            sleepers: Mutex::new(Vec::new()),
            n_sleepers: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            host: HostQueue::default(),
            store,
            runs: Mutex::new(RunRegistry {
                runs: Vec::new(),
                prune_at: 64,
            }),
            next_run_id: AtomicU64::new(1),
        });
        // The spiller's lanes run on this pool.
        let weak: std::sync::Weak<dyn Lanes> = Arc::downgrade(&(shared.clone() as Arc<dyn Lanes>));
        shared.store.set_lanes(weak);
        (shared, locals)
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Queues a ready pool task: on the current worker's own deque when this thread is one of
    /// our workers (depth-first), else on the injector. Wakes a sleeper if there is one.
    pub(crate) fn push(&self, job: Job) {
        let job = WORKER.with(|w| match w.borrow().as_ref() {
            Some(w) if std::ptr::eq(Arc::as_ptr(&w.pool), self) => {
                w.local.push(job);
                None
            }
            _ => Some(job),
        });
        if let Some(job) = job {
            self.injector.push(job);
        }
        self.wake_one();
    }

    fn wake_one(&self) {
        fence(Ordering::SeqCst);
        if self.n_sleepers.load(Ordering::SeqCst) > 0 {
            let signal = {
                let mut sleepers = self.sleepers.lock();
                let s = sleepers.pop();
                if s.is_some() {
                    self.n_sleepers.fetch_sub(1, Ordering::SeqCst);
                }
                s
            };
            if let Some(s) = signal {
                s.notify();
            }
        }
    }

    fn wake_all(&self) {
        let all: Vec<_> = {
            let mut sleepers = self.sleepers.lock();
            self.n_sleepers.store(0, Ordering::SeqCst);
            sleepers.drain(..).collect()
        };
        for s in all {
            s.notify();
        }
    }

    fn has_work(&self) -> bool {
        !self.help.is_empty()
            || !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// The next piece of parallel work offered by a running task, if any.
    pub(crate) fn pop_help(&self) -> Option<Arc<dyn HelpJob>> {
        loop {
            match self.help.steal() {
                Steal::Success(h) => return Some(h),
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Stops the workers (they finish the task in hand) and cancels all pending tasks.
    pub(crate) fn shut_down(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Cancels every task that has not finished (after the workers stopped).
    pub(crate) fn cancel_all(&self) {
        let runs: Vec<Arc<Run>> = self
            .runs
            .lock()
            .runs
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        for run in runs {
            run.cancel_pending("the client was closed");
        }
        while !self.injector.is_empty() {
            let _ = self.injector.steal();
        }
        self.host.clear();
    }
}

impl WorkerCtx {
    /// The next job: own deque first (depth-first), then a batch from the injector, then
    /// stealing from the other workers.
    pub(crate) fn find_job(&self) -> Option<Job> {
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        loop {
            match self.pool.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(job) => return Some(job),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        let n = self.pool.stealers.len();
        for k in 1..n {
            let victim = &self.pool.stealers[(self.index + k) % n];
            loop {
                match victim.steal() {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        None
    }

    /// Sleeps until work is pushed, `done()` turns true (the caller registered our signal
    /// where that happens), shutdown, or the deadline.
    pub(crate) fn sleep(&self, done: &dyn Fn() -> bool, deadline: Option<Instant>) {
        let shared = &self.pool;
        {
            let mut sleepers = shared.sleepers.lock();
            sleepers.push(self.signal.clone());
            shared.n_sleepers.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        if !(shared.has_work() || shared.is_shut_down() || done()) {
            self.signal.wait(deadline);
        }
        let mut sleepers = shared.sleepers.lock();
        if let Some(pos) = sleepers.iter().position(|s| Arc::ptr_eq(s, &self.signal)) {
            sleepers.swap_remove(pos);
            shared.n_sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Runs one piece of work if there is one (parallel work of a running task first, then
    /// a task); false when there was none.
    pub(crate) fn run_next(&self) -> bool {
        if let Some(h) = self.pool.pop_help() {
            h.help();
            return true;
        }
        match self.find_job() {
            Some(job) => {
                run_job(job);
                true
            }
            None => false,
        }
    }

    /// Runs pool work until `cell` has finished (or the deadline passes): a task that waits on
    /// a future from inside the pool keeps its thread useful and cannot deadlock the pool.
    pub(crate) fn help_until(&self, cell: &Cell, deadline: Option<Instant>) -> bool {
        loop {
            if cell.is_terminal() {
                return true;
            }
            if self.run_next() {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return cell.is_terminal();
            }
            cell.wake_on_finish(&self.signal);
            self.sleep(&|| cell.is_terminal(), deadline);
        }
    }
}

/// Runs a job (see [`Job::run`]).
pub(crate) fn run_job(job: Job) {
    job.run()
}

/// The body of a worker thread.
pub(crate) fn worker_main(shared: Arc<Pool>, local: Worker<Job>, index: usize) {
    let ctx = Rc::new(WorkerCtx {
        pool: shared,
        local,
        index,
        signal: Arc::new(Signal::default()),
    });
    WORKER.with(|w| *w.borrow_mut() = Some(ctx.clone()));
    // Parallel work inside this thread's tasks is shared with this pool.
    crate::parallel::set_thread_lanes(Some(ctx.pool.clone() as Arc<dyn Lanes>));
    while !ctx.pool.is_shut_down() {
        // A panic in the loop's own machinery (a task's is contained in `Run::execute`)
        // must not end the thread: the pool would lose a worker for good.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::failpoint::hit("worker.loop");
            if ctx.run_next() {
                return;
            }
            for _ in 0..SPIN_ROUNDS {
                std::hint::spin_loop();
                if ctx.run_next() {
                    return;
                }
            }
            ctx.sleep(&|| false, None);
        }));
    }
    // Jobs left in our deque hold their runs, which hold this pool: drop them (their nodes are
    // cancelled by the shutdown).
    while ctx.local.pop().is_some() {}
    crate::parallel::set_thread_lanes(None);
    WORKER.with(|w| *w.borrow_mut() = None);
}

thread_local! {
    /// What a host thread (one that is no pool's worker) sleeps on while it waits.
    static HOST_SIGNAL: Arc<Signal> = Arc::new(Signal::default());
}

impl Pool {
    /// A non-pool thread waits: it runs queued host tasks of this client meanwhile.
    fn wait_as_host(&self, cell: &Cell, deadline: Option<Instant>) -> bool {
        let signal = HOST_SIGNAL.with(Arc::clone);
        let host = &self.host;
        cell.wake_on_finish(&signal);
        host.add_waiter(&signal);
        let done = loop {
            if cell.is_terminal() {
                break true;
            }
            if let Some(job) = host.pop() {
                run_job(job);
                continue;
            }
            if !signal.wait(deadline) && deadline.is_some_and(|d| Instant::now() >= d) {
                break cell.is_terminal();
            }
        };
        host.remove_waiter(&signal);
        done
    }
}

impl Executor for Pool {
    fn queue(&self, job: Job) {
        self.push(job);
    }

    fn queue_host(&self, job: Job) {
        self.host.push(job);
    }

    fn on_worker(&self) -> bool {
        is_worker_of(self)
    }

    fn is_closed(&self) -> bool {
        self.is_shut_down()
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn admit(&self, consumes: bool) -> Result<()> {
        // While a task waits for memory, its thread takes parallel work of running tasks
        // (the spiller's lanes among them): the wait is what lets the spiller use the pool.
        let mut wait = AdmitWait::default();
        loop {
            let Some((round, deadline)) = self.store.admission(consumes, &mut wait)? else {
                return Ok(());
            };
            if let Some(h) = self.pop_help() {
                h.help();
                continue;
            }
            self.store.wait_admission(round, deadline);
        }
    }

    fn wait(&self, cell: &Cell, deadline: Option<Instant>) -> bool {
        // A pool thread (of this client or another) keeps running its own pool's work while
        // it waits; any other thread runs this client's host tasks.
        match current_worker() {
            Some(worker) => worker.help_until(cell, deadline),
            None => self.wait_as_host(cell, deadline),
        }
    }

    fn next_run_id(&self) -> u64 {
        self.next_run_id.fetch_add(1, Ordering::Relaxed)
    }

    fn register_run(&self, run: &Arc<Run>) {
        let mut reg = self.runs.lock();
        reg.runs.push(Arc::downgrade(run));
        if reg.runs.len() >= reg.prune_at {
            reg.runs.retain(|w| w.strong_count() > 0);
            reg.prune_at = reg.runs.len() * 2 + 64;
        }
    }
}

impl Lanes for Pool {
    fn width(&self) -> usize {
        self.stealers.len()
    }

    fn offer(&self, helpers: usize, job: Arc<dyn HelpJob>) {
        if self.is_shut_down() {
            return;
        }
        for _ in 0..helpers {
            self.help.push(job.clone());
            self.wake_one();
        }
        // Tasks waiting for memory take parallel work too.
        self.store.poke_admission();
    }
}
