//! The client's store of task results: accounting of every stored value and, with a memory
//! limit, spilling the least recently used ones to disk and reading them back on access.
//!
//! A result with a payload is held as an [`Entry`]: in memory, on disk, or in memory for good
//! (a value that cannot be serialized). Futures and tasks reach values only through
//! [`Stored::get`], so where a value lives is invisible to them. A background thread (the
//! spiller) does the disk writes; tasks never wait for spill I/O, only for a spilled input
//! being read back.

use super::config::MemoryConfig;
use super::process;
use super::spill_dir::{SpillDir, SpillError};
use crate::error::{Error, Result};
use crate::value::Value;
use parking_lot::{Condvar, Mutex};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A snapshot of the store's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryStats {
    /// Bytes of payload of the values held in memory.
    pub managed_bytes: usize,
    /// Values held in memory that have a payload.
    pub values: usize,
    /// Bytes of spill files on disk, and the values they hold.
    pub spilled_bytes: u64,
    pub spilled_values: usize,
    /// Resident memory of the process, and the part of it that is not stored values.
    pub process_bytes: usize,
    pub unmanaged_bytes: usize,
    /// Values moved out of memory so far: how many, their in-memory bytes, the time it took.
    /// A value read back whose file is still there goes out again without a write.
    pub spill_count: u64,
    pub spill_bytes: u64,
    pub spill_nanos: u64,
    /// Spill files written so far, and their bytes (each value is written once however often
    /// it goes out and comes back).
    pub files_written: u64,
    pub file_bytes_written: u64,
    /// Values read back from disk so far.
    pub unspill_count: u64,
    pub unspill_bytes: u64,
    pub unspill_nanos: u64,
    /// Values that could not be serialized and stay in memory.
    pub unspillable_values: usize,
    /// True while new tasks wait for memory to fall.
    pub paused: bool,
}

/// The store of one client.
pub(crate) struct Store {
    core: Arc<Core>,
    spiller: Option<std::thread::JoinHandle<()>>,
}

thread_local! {
    /// Set on a spiller thread (a store dropped there must not join its own thread).
    static ON_SPILLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What a task waiting for admission remembers between looks (see `Store::admission`).
#[derive(Default)]
pub(crate) struct AdmitWait {
    exhausted_at: Option<Instant>,
    /// Spiller rounds started before this task first looked: only a failure of a later round
    /// is this task's to report (an earlier one may have been cured since).
    spiller_rounds_before: Option<u64>,
}

/// State shared by the store, its entries and the spiller thread.
pub(crate) struct Core {
    config: MemoryConfig,
    dir: Option<SpillDir>,
    managed: AtomicUsize,
    values: AtomicUsize,
    spilled_values: AtomicUsize,
    unspillable: AtomicUsize,
    /// Values in memory that may be spilled, by last use (oldest first).
    lru: Mutex<BTreeMap<u64, Weak<Entry>>>,
    clock: AtomicU64,
    next_id: AtomicU64,
    paused: AtomicBool,
    /// Managed memory is above the target (and spilling can bring it down): tasks that only
    /// make new data wait, tasks that consume inputs go on.
    high: AtomicBool,
    /// Why spilling stopped (disk full, disk limit): shown in errors and the pause message.
    stuck: Mutex<Option<String>>,
    /// The last refused write: when, why, and the bytes on disk then. New writes wait for
    /// `RETRY_REFUSED` or for files to be removed, instead of failing every round.
    refused: Mutex<Option<(Instant, String, u64)>>,
    exhausted: AtomicBool,
    counters: [AtomicU64; 8],
    wake: (Mutex<bool>, Condvar),
    /// Tasks waiting in `admit` sleep here; the spiller wakes them whenever it has updated
    /// the flags they wait on (the counter makes a wake-up between check and sleep count).
    admission: (Mutex<u64>, Condvar),
    /// Why the spiller's last round panicked, if it did, with that round's number: tasks
    /// waiting for memory then fail with this instead of waiting forever.
    spiller_failure: Mutex<Option<(u64, String)>>,
    /// Spiller rounds started so far (numbers the rounds for `spiller_failure`).
    spiller_rounds: AtomicU64,
    /// The client's pool: the spiller's lanes run on it.
    lanes: std::sync::OnceLock<std::sync::Weak<dyn crate::parallel::Lanes>>,
    shutdown: AtomicBool,
}

const SPILL_COUNT: usize = 0;
const SPILL_BYTES: usize = 1;
const SPILL_NANOS: usize = 2;
const UNSPILL_COUNT: usize = 3;
const UNSPILL_BYTES: usize = 4;
const UNSPILL_NANOS: usize = 5;
const FILES_WRITTEN: usize = 6;
const FILE_BYTES_WRITTEN: usize = 7;

/// How long a task waits for memory over the limit to come down before it fails.
const EXHAUSTED_GRACE: Duration = Duration::from_secs(1);

/// How long after a refused write (disk full, disk limit) before writing is tried again,
/// unless spill files are removed first.
const RETRY_REFUSED: Duration = Duration::from_secs(1);

/// How often the spiller looks at process memory when nothing wakes it.
const POLL: Duration = Duration::from_millis(20);
/// Lanes that write spill files at once: one per thread of the client's pool.
fn lanes() -> usize {
    crate::parallel::width()
}

/// What the lanes of one spill round share.
struct Round {
    /// Values still to look at (each is looked at once per round).
    rounds: usize,
    /// Why the disk refused a write, once it has.
    failure: Option<String>,
    /// Process memory as last read.
    process: usize,
    /// Bytes of the values being written right now.
    in_flight: usize,
}

enum State {
    /// In memory; `on_disk` is the length of a spill file that still holds the same value
    /// (values never change, so a value read back can be spilled again without writing).
    Memory {
        value: Arc<Value>,
        on_disk: Option<u64>,
    },
    Disk(u64),
    /// In memory for good: the value cannot be serialized.
    Pinned(Arc<Value>),
}

/// One stored value with a payload.
pub(crate) struct Entry {
    id: u64,
    key: Arc<str>,
    nbytes: usize,
    state: Mutex<State>,
    tick: AtomicU64,
    core: Arc<Core>,
}

/// A stored result, as held by the graph node that produced it (cheap to clone).
#[derive(Clone)]
pub(crate) enum Stored {
    /// A value without payload (a scalar, None): not counted, never spilled.
    Inline(Arc<Value>),
    Entry(Arc<Entry>),
    /// A value held elsewhere (a worker of a cluster), fetched when read.
    Remote(Arc<dyn RemoteValue>),
}

/// A value that lives in another process: what a client's future on a cluster holds until it
/// is read (Dask gathers on request, not when a task finishes).
pub(crate) trait RemoteValue: Send + Sync {
    fn fetch(&self) -> Result<Arc<Value>>;
    /// Starts a fetch whose value the next `fetch` takes (without waiting for it, if it
    /// arrived meanwhile).
    fn prefetch(&self) {}
}

impl Stored {
    /// The value, read back from disk first if it was spilled (or fetched from the worker
    /// holding it).
    pub(crate) fn get(&self) -> Result<Arc<Value>> {
        match self {
            Stored::Inline(v) => Ok(v.clone()),
            Stored::Entry(e) => e.get(),
            Stored::Remote(r) => r.fetch(),
        }
    }
}

impl Store {
    /// The store for `config`; with a limit, the spill directory is created (and checked to
    /// be writable) and the spiller thread started.
    pub(crate) fn new(config: &MemoryConfig) -> Result<Store> {
        config.check()?;
        if let Some(limit) = config.limit {
            crate::value::huge_bound_by_limit(limit);
        }
        let dir = match config.limit {
            Some(_) => Some(SpillDir::create(
                config.spill_dir.as_deref(),
                config.disk_limit,
            )?),
            None => None,
        };
        let core = Arc::new(Core {
            config: config.clone(),
            dir,
            managed: AtomicUsize::new(0),
            values: AtomicUsize::new(0),
            spilled_values: AtomicUsize::new(0),
            unspillable: AtomicUsize::new(0),
            lru: Mutex::new(BTreeMap::new()),
            clock: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            paused: AtomicBool::new(false),
            high: AtomicBool::new(false),
            stuck: Mutex::new(None),
            refused: Mutex::new(None),
            exhausted: AtomicBool::new(false),
            counters: Default::default(),
            wake: (Mutex::new(false), Condvar::new()),
            admission: (Mutex::new(0), Condvar::new()),
            spiller_failure: Mutex::new(None),
            spiller_rounds: AtomicU64::new(0),
            lanes: std::sync::OnceLock::new(),
            shutdown: AtomicBool::new(false),
        });
        let spiller = match config.limit {
            Some(_) => {
                let c = core.clone();
                Some(
                    std::thread::Builder::new()
                        .name("dask-spiller".into())
                        .spawn(move || c.spiller())
                        .map_err(|e| Error::Io(format!("starting the spiller thread: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Store { core, spiller })
    }

    /// Stores `value` (the result of the task `key`).
    pub(crate) fn keep(&self, value: Arc<Value>, key: impl FnOnce() -> Arc<str>) -> Stored {
        let nbytes = value.nbytes();
        if nbytes == 0 {
            return Stored::Inline(value);
        }
        let core = &self.core;
        core.managed.fetch_add(nbytes, Relaxed);
        core.values.fetch_add(1, Relaxed);
        let entry = Arc::new(Entry {
            id: core.next_id.fetch_add(1, Relaxed),
            key: key(),
            nbytes,
            state: Mutex::new(State::Memory {
                value,
                on_disk: None,
            }),
            tick: AtomicU64::new(0),
            core: core.clone(),
        });
        if core.config.limit.is_some() {
            entry.touch();
            core.check_after_growth();
        }
        Stored::Entry(entry)
    }

    /// Whether a task may start now, as far as memory goes: `None` when it may; otherwise the
    /// admission round to wait for (see `wait_admission`) and, when set, the moment the wait
    /// must be looked at again; an error when the task must fail.
    ///
    /// A task waits while memory is above the pause threshold (no new task starts
    /// meanwhile), and, for a task that consumes no other task's result (`consumes` false: it
    /// only makes new data, like creating or reading a block), while managed memory is above
    /// the target: with memory high, the tasks that free memory run first. When the stored
    /// values exceed the limit and the disk takes no more, it waits too, for running tasks to
    /// let go of values (read-back values can then leave without new disk space); only when
    /// that lasts `EXHAUSTED_GRACE` does the task fail, with a clear error. Waiting is
    /// event-driven: the spiller starts a new round of admission after each of its rounds.
    pub(crate) fn admission(
        &self,
        consumes: bool,
        wait: &mut AdmitWait,
    ) -> Result<Option<(u64, Option<Instant>)>> {
        let core = &self.core;
        let free = || !core.paused.load(Relaxed) && (consumes || !core.high.load(Relaxed));
        if core.config.limit.is_none()
            || core.shutdown.load(Relaxed)
            || (free() && !core.exhausted.load(Relaxed))
        {
            return Ok(None); // the common case: no lock, no wait
        }
        let round = *core.admission.0.lock();
        let deadline = if core.exhausted.load(Relaxed) {
            let since = *wait.exhausted_at.get_or_insert_with(Instant::now);
            if since.elapsed() > EXHAUSTED_GRACE {
                let why = core.stuck.lock().clone().unwrap_or_default();
                return Err(Error::Memory(format!(
                    "memory is above the limit of {} bytes and cannot be spilled: {why}",
                    core.config.limit.unwrap_or(0)
                )));
            }
            Some(since + EXHAUSTED_GRACE)
        } else if free() {
            return Ok(None);
        } else {
            wait.exhausted_at = None;
            // A failure of a round that started while this task waited (an older one may
            // be cured by now).
            let before = *wait
                .spiller_rounds_before
                .get_or_insert_with(|| core.spiller_rounds.load(SeqCst));
            if let Some((round, why)) = core.spiller_failure.lock().clone() {
                if round > before {
                    return Err(Error::Memory(format!(
                        "memory is above the pause threshold and the spiller failed: {why}"
                    )));
                }
            }
            None
        };
        core.wake_spiller();
        Ok(Some((round, deadline)))
    }

    /// Sleeps until the admission round moves past `round` (the spiller finished a round, or
    /// parallel work was offered) or `deadline` passes.
    pub(crate) fn wait_admission(&self, round: u64, deadline: Option<Instant>) {
        let core = &self.core;
        let (lock, cv) = &core.admission;
        let mut current = lock.lock();
        while *current == round && !core.shutdown.load(Relaxed) {
            match deadline {
                Some(d) => {
                    if cv.wait_until(&mut current, d).timed_out() {
                        return;
                    }
                }
                None => cv.wait(&mut current),
            }
        }
    }

    /// Starts a new admission round: tasks waiting for memory look again (used when
    /// parallel work is offered, which waiting tasks take on).
    pub(crate) fn poke_admission(&self) {
        if self.core.config.limit.is_some() {
            self.core.wake_admission();
        }
    }

    /// The pool the spiller's lanes run on (set once by the runtime, which owns the pool).
    pub(crate) fn set_lanes(&self, lanes: std::sync::Weak<dyn crate::parallel::Lanes>) {
        let _ = self.core.lanes.set(lanes);
    }

    pub(crate) fn stats(&self) -> MemoryStats {
        let c = &self.core;
        let managed = c.managed.load(Relaxed);
        let process = process::resident_bytes().unwrap_or(0);
        MemoryStats {
            managed_bytes: managed,
            values: c.values.load(Relaxed),
            spilled_bytes: c.dir.as_ref().map_or(0, SpillDir::used),
            spilled_values: c.spilled_values.load(Relaxed),
            process_bytes: process,
            unmanaged_bytes: process.saturating_sub(managed),
            spill_count: c.counters[SPILL_COUNT].load(Relaxed),
            spill_bytes: c.counters[SPILL_BYTES].load(Relaxed),
            spill_nanos: c.counters[SPILL_NANOS].load(Relaxed),
            files_written: c.counters[FILES_WRITTEN].load(Relaxed),
            file_bytes_written: c.counters[FILE_BYTES_WRITTEN].load(Relaxed),
            unspill_count: c.counters[UNSPILL_COUNT].load(Relaxed),
            unspill_bytes: c.counters[UNSPILL_BYTES].load(Relaxed),
            unspill_nanos: c.counters[UNSPILL_NANOS].load(Relaxed),
            unspillable_values: c.unspillable.load(Relaxed),
            paused: c.paused.load(Relaxed),
        }
    }

    /// Why spilling stopped, if it did (disk full, disk limit reached).
    pub(crate) fn spill_problem(&self) -> Option<String> {
        self.core.stuck.lock().clone()
    }

    /// The spill directory (with a memory limit).
    pub(crate) fn spill_dir(&self) -> Option<&std::path::Path> {
        self.core.dir.as_ref().map(SpillDir::path)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.core.shutdown.store(true, Relaxed);
        self.core.wake_spiller();
        self.core.wake_admission();
        if let Some(t) = self.spiller.take() {
            // The store may be dropped on the spiller thread itself (it held the pool last
            // during a round): that thread ends on its own, seeing the shutdown.
            if !ON_SPILLER.get() {
                let _ = t.join();
            }
        }
    }
}

impl Entry {
    /// True when spilling the entry means writing a file: it is in memory, has no file from
    /// an earlier spill, and no task or caller holds it.
    fn needs_write(&self) -> bool {
        matches!(&*self.state.lock(),
            State::Memory { value, on_disk: None } if Arc::strong_count(value) == 1)
    }

    /// Marks the entry as just used (it moves to the young end of the spill order).
    fn touch(self: &Arc<Self>) {
        let core = &self.core;
        let now = core.clock.fetch_add(1, Relaxed) + 1;
        let old = self.tick.swap(now, Relaxed);
        let mut lru = core.lru.lock();
        if old != 0 {
            lru.remove(&old);
        }
        lru.insert(now, Arc::downgrade(self));
    }

    fn get(self: &Arc<Self>) -> Result<Arc<Value>> {
        let mut state = self.state.lock();
        let limited = self.core.config.limit.is_some();
        match &*state {
            State::Memory { value, .. } => {
                let v = value.clone();
                drop(state);
                if limited {
                    self.touch();
                }
                Ok(v)
            }
            State::Pinned(v) => Ok(v.clone()),
            State::Disk(len) => {
                let len = *len;
                let core = &self.core;
                let dir = core.dir.as_ref().expect("spilled values have a directory");
                let t = Instant::now();
                let v = Arc::new(dir.read(self.id, len, &self.key)?);
                core.spilled_values.fetch_sub(1, Relaxed);
                core.managed.fetch_add(self.nbytes, Relaxed);
                core.values.fetch_add(1, Relaxed);
                core.counters[UNSPILL_COUNT].fetch_add(1, Relaxed);
                core.counters[UNSPILL_BYTES].fetch_add(self.nbytes as u64, Relaxed);
                core.counters[UNSPILL_NANOS].fetch_add(t.elapsed().as_nanos() as u64, Relaxed);
                *state = State::Memory {
                    value: v.clone(),
                    on_disk: Some(len),
                };
                drop(state);
                self.touch();
                core.check_after_growth();
                Ok(v)
            }
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let core = &self.core;
        if core.paused.load(Relaxed) || core.high.load(Relaxed) {
            // Memory falls: let the spiller look again now, so waiting tasks go on at once.
            core.wake_spiller();
        }
        let tick = self.tick.load(Relaxed);
        if tick != 0 {
            core.lru.lock().remove(&tick);
        }
        match self.state.get_mut() {
            state @ (State::Memory { .. } | State::Pinned(_)) => {
                core.managed.fetch_sub(self.nbytes, Relaxed);
                core.values.fetch_sub(1, Relaxed);
                match state {
                    State::Memory {
                        on_disk: Some(len), ..
                    } => {
                        if let Some(dir) = &core.dir {
                            dir.remove(self.id, *len);
                        }
                    }
                    State::Pinned(_) => {
                        core.unspillable.fetch_sub(1, Relaxed);
                    }
                    _ => {}
                }
            }
            State::Disk(len) => {
                if let Some(dir) = &core.dir {
                    dir.remove(self.id, *len);
                }
                core.spilled_values.fetch_sub(1, Relaxed);
            }
        }
    }
}

/// What one attempt to spill an entry did.
enum Attempt {
    Spilled,
    /// A task holds the value right now: writing it would free nothing.
    InUse,
    /// It needs a new file and the disk refused a write recently: it waits in memory.
    HeldBack,
    Gone,
    Failed(SpillError),
}

impl Core {
    fn limit(&self) -> usize {
        self.config.limit.unwrap_or(usize::MAX)
    }

    fn wake_spiller(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() = true;
        cv.notify_one();
    }

    /// After memory grew: wake the spiller past the target, and pause at once past the pause
    /// threshold (the decision does not wait for the spiller or for any I/O).
    fn check_after_growth(&self) {
        let managed = self.managed.load(Relaxed) as f64;
        let limit = self.limit() as f64;
        if managed > self.config.target * limit {
            self.high.store(true, Relaxed);
            self.wake_spiller();
        }
        if managed > self.config.pause * limit {
            // The spiller's next round clears this if the disk cannot take more.
            self.paused.store(true, Relaxed);
        }
    }

    /// Wakes the tasks waiting in `admit` to look at the flags again.
    fn wake_admission(&self) {
        let (lock, cv) = &self.admission;
        *lock.lock() += 1;
        cv.notify_all();
    }

    fn spiller(self: Arc<Self>) {
        ON_SPILLER.set(true);
        let (lock, cv) = &self.wake;
        loop {
            {
                let mut woken = lock.lock();
                if !*woken {
                    cv.wait_for(&mut woken, POLL);
                }
                *woken = false;
            }
            if self.shutdown.load(Relaxed) {
                return;
            }
            // A panic in a round must not end the spiller (memory would never come down and
            // paused tasks would wait forever): it is recorded, tasks waiting for memory
            // fail with it, and the next round tries again.
            // The round's lanes run on the client's pool (its idle threads, and threads of
            // tasks waiting for memory).
            let pool = self.lanes.get().and_then(std::sync::Weak::upgrade);
            crate::parallel::set_thread_lanes(pool);
            let number = self.spiller_rounds.fetch_add(1, SeqCst) + 1;
            let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::failpoint::hit("spiller.round");
                self.balance()
            }));
            crate::parallel::set_thread_lanes(None);
            *self.spiller_failure.lock() = round.err().map(|p| {
                let why = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                (number, why)
            });
            self.wake_admission();
        }
    }

    /// True while memory is above where spilling should start, once the `in_flight` bytes
    /// being written now are gone.
    fn over_target(&self, process: usize, in_flight: usize) -> bool {
        let limit = self.limit() as f64;
        let managed = self.managed.load(Relaxed).saturating_sub(in_flight);
        managed as f64 > self.config.target * limit
            || process.saturating_sub(in_flight) as f64 > self.config.spill * limit
    }

    /// Spills least recently used values until memory is below the thresholds, then sets the
    /// pause flag from what memory is.
    fn balance(&self) {
        let round = Mutex::new(Round {
            rounds: self.lru.lock().len(),
            failure: self.recent_refusal(),
            process: process::resident_bytes().unwrap_or(0),
            in_flight: 0,
        });
        let work = {
            let r = round.lock();
            r.rounds > 0 && self.over_target(r.process, 0)
        };
        if work {
            self.spill_round(&round);
        }
        let Round {
            failure, process, ..
        } = round.into_inner();
        let nothing_left = self.lru.lock().is_empty();
        let limit = self.limit() as f64;
        let managed_high = self.managed.load(Relaxed) as f64 > self.config.pause * limit;
        let process_high = process as f64 > self.config.pause * limit;
        let disk_failed = failure.is_some();
        *self.stuck.lock() = failure.or_else(|| {
            (nothing_left && process_high)
                .then(|| "nothing left in memory can be spilled".to_string())
        });
        let stuck = self.stuck.lock().is_some();
        // Too many stored values: wait for the spiller (unless the disk failed). Memory the
        // library does not manage: wait only while spilling can still help. Stuck, tasks go
        // on (pausing forever would hang the computation) until the stored values exceed
        // the limit; then they fail with a clear error.
        self.paused.store(
            (managed_high && !disk_failed) || (process_high && !stuck),
            Relaxed,
        );
        self.high.store(
            self.managed.load(Relaxed) as f64 > self.config.target * limit && !stuck,
            Relaxed,
        );
        // Exhausted means the values themselves exceed the limit and cannot go to disk;
        // memory the library does not manage never fails a task.
        self.exhausted
            .store(stuck && self.managed.load(Relaxed) > self.limit(), Relaxed);
        if process.saturating_sub(self.managed.load(Relaxed)) as f64
            > (1.0 - self.config.target) * self.limit() as f64
        {
            process::trim();
        }
    }

    /// Acts on what an attempt to spill `entry` did.
    fn settle(&self, entry: &Arc<Entry>, attempt: Attempt, failure: &mut Option<String>) {
        match attempt {
            Attempt::Spilled | Attempt::Gone => {}
            Attempt::InUse | Attempt::HeldBack => entry.touch(),
            Attempt::Failed(SpillError::NotSerializable(_)) => {
                self.unspillable.fetch_add(1, Relaxed);
            }
            Attempt::Failed(SpillError::NoSpace(why) | SpillError::Io(why)) => {
                entry.touch();
                let on_disk = self.dir.as_ref().map_or(0, SpillDir::used);
                *self.refused.lock() = Some((Instant::now(), why.clone(), on_disk));
                failure.get_or_insert(why);
            }
        }
    }

    /// Why writing is held back: a write was refused less than `RETRY_REFUSED` ago and no
    /// spill file has been removed since.
    fn recent_refusal(&self) -> Option<String> {
        let refused = self.refused.lock();
        let (at, why, on_disk) = refused.as_ref()?;
        let used = self.dir.as_ref().map_or(0, SpillDir::used);
        (at.elapsed() < RETRY_REFUSED && used >= *on_disk).then(|| why.clone())
    }

    /// The next least recently used value that needs a file written, while memory is over
    /// the target (counting the values being written as gone). Values on the way that need
    /// no write (in use, or read back with their file still there) are settled here.
    fn next_victim(&self, r: &mut Round) -> Option<Arc<Entry>> {
        while r.rounds > 0 && self.over_target(r.process, r.in_flight) {
            r.rounds -= 1;
            let (tick, weak) = self.lru.lock().pop_first()?;
            let Some(entry) = weak.upgrade() else {
                continue;
            };
            if entry.tick.load(Relaxed) != tick {
                continue; // touched meanwhile; its newer position is in the queue
            }
            entry.tick.store(0, Relaxed);
            if entry.needs_write() {
                r.in_flight += entry.nbytes;
                return Some(entry);
            }
            let attempt = self.spill(&entry, r.failure.is_none());
            let freed = matches!(attempt, Attempt::Spilled);
            self.settle(&entry, attempt, &mut r.failure);
            if freed {
                r.process = process::resident_bytes().unwrap_or(0);
            }
        }
        None
    }

    /// Writes victims on one lane per core until none is left: each lane takes the next
    /// least recently used value as soon as its last write is done, so no core waits for
    /// another's write. Once the disk has refused, only values whose file is still there
    /// (read back earlier) go, since that needs no new space.
    fn spill_round(&self, round: &Mutex<Round>) {
        let threads = lanes();
        let lane = || {
            let run = || loop {
                let (entry, may_write) = {
                    let mut r = round.lock();
                    match self.next_victim(&mut r) {
                        Some(e) => (e, r.failure.is_none()),
                        None => return,
                    }
                };
                let attempt = self.spill(&entry, may_write);
                let process = process::resident_bytes().unwrap_or(0);
                let mut r = round.lock();
                r.in_flight -= entry.nbytes;
                r.process = process;
                self.settle(&entry, attempt, &mut r.failure);
            };
            // With a lane on every core, a frame's compression stays on its lane.
            if threads > 1 {
                crate::protocol::on_this_core(run)
            } else {
                run()
            }
        };
        crate::parallel::lanes(threads, &lane);
    }

    /// Spills `entry`; writes a file only when `may_write` (a value read back earlier still
    /// has its file and goes without writing).
    fn spill(&self, entry: &Arc<Entry>, may_write: bool) -> Attempt {
        let mut state = entry.state.lock();
        let State::Memory { value: v, on_disk } = &*state else {
            return Attempt::Gone;
        };
        // A value a task or a caller holds right now would stay in memory anyway.
        if Arc::strong_count(v) > 1 {
            return Attempt::InUse;
        }
        let dir = self.dir.as_ref().expect("a limit has a spill directory");
        let t = Instant::now();
        let written = match *on_disk {
            Some(len) => Ok(len), // its file is still there: nothing is written again
            None if may_write => {
                let r = dir.write(entry.id, v, self.config.spill_compression);
                if let Ok(len) = r {
                    self.counters[FILES_WRITTEN].fetch_add(1, Relaxed);
                    self.counters[FILE_BYTES_WRITTEN].fetch_add(len, Relaxed);
                }
                r
            }
            None => return Attempt::HeldBack,
        };
        match written {
            Ok(len) => {
                *state = State::Disk(len);
                drop(state);
                self.managed.fetch_sub(entry.nbytes, Relaxed);
                self.values.fetch_sub(1, Relaxed);
                self.spilled_values.fetch_add(1, Relaxed);
                self.counters[SPILL_COUNT].fetch_add(1, Relaxed);
                self.counters[SPILL_BYTES].fetch_add(entry.nbytes as u64, Relaxed);
                self.counters[SPILL_NANOS].fetch_add(t.elapsed().as_nanos() as u64, Relaxed);
                Attempt::Spilled
            }
            Err(SpillError::NotSerializable(why)) => {
                let kept = v.clone();
                *state = State::Pinned(kept);
                Attempt::Failed(SpillError::NotSerializable(why))
            }
            Err(e) => Attempt::Failed(e),
        }
    }
}
