//! One submitted graph in execution: its nodes, their states and results, and the transitions
//! between them (ready, run, finish, fail, cancel, release).
//!
//! A graph is lowered to a `Run` with nodes in priority order (dependencies first, depth-first),
//! so a node's index is its priority. All per-node bookkeeping is a few atomics:
//! - `remaining`: dependencies not finished yet; the node becomes ready at zero;
//! - `consumers`: pending dependents that will read this node's value;
//! - `handles`: live [`Future`]s on the node.
//!
//! A finished value is released (freed) as soon as `consumers` and `handles` are both zero; a
//! pending node in that situation is cancelled, which in turn releases what only it needed.
//! Cross-graph dependencies (a task reading an earlier future) are waiters on the other node.

use super::future::Future;
use super::{Executor, Job};
use crate::error::TaskError;
use crate::memory::Stored;
use crate::runtime::op::Operation;
use crate::runtime::progress::{Progress, ProgressFn};
use crate::runtime::signal::Signal;
use crate::value::Value;
use parking_lot::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};
use std::sync::Arc;
use std::task::Waker;

pub(crate) const WAITING: u8 = 0;
pub(crate) const READY: u8 = 1;
pub(crate) const RUNNING: u8 = 2;
pub(crate) const DONE: u8 = 3;
pub(crate) const FAILED: u8 = 4;
pub(crate) const CANCELLED: u8 = 5;

/// A node as handed to [`Run::start`]: inputs refer to other nodes by index (which must be
/// lower: nodes come in dependency order) or to futures of earlier runs.
pub(crate) struct NodeSpec {
    pub(crate) key: Option<Arc<str>>,
    pub(crate) op: Operation,
    pub(crate) inputs: Vec<SpecInput>,
}

pub(crate) enum SpecInput {
    Value(Arc<Value>),
    Local(u32),
    Extern(Future),
}

enum Input {
    Value(Arc<Value>),
    Local(u32),
    Extern(Cell),
}

struct NodeTask {
    op: Operation,
    inputs: Vec<Input>,
}

/// Someone to tell when a node finishes.
pub(crate) enum Waiter {
    /// A sleeping thread.
    Signal(Arc<Signal>),
    /// An async task (std::future::Future).
    Waker(Arc<Mutex<Option<Waker>>>),
    /// A done-callback.
    Callback(Box<dyn FnOnce() + Send>),
    /// A node of another run that takes this node's value as input.
    Dependent(Cell),
}

enum Slot {
    Empty,
    Value(Stored),
    Error(Arc<TaskError>),
    Released,
}

struct Node {
    state: AtomicU8,
    cancel_requested: AtomicBool,
    has_waiters: AtomicBool,
    /// Counted in the progress already (a cancelled running node is counted at cancel time).
    counted: AtomicBool,
    host_affine: bool,
    remaining: AtomicU32,
    consumers: AtomicU32,
    handles: AtomicU32,
    label: &'static str,
    key: Option<Arc<str>>,
    task: Mutex<Option<NodeTask>>,
    slot: Mutex<Slot>,
    waiters: Mutex<Vec<Waiter>>,
}

/// Pacing of a run whose outputs a consumer takes one by one (`Client::compute_paced`): while
/// `window` outputs are finished and still held, the run's tasks that have not started wait
/// (parked, not queued), so a slow consumer bounds the memory of a computation larger than
/// memory even without a memory limit.
struct Pace {
    window: usize,
    /// Outputs finished and not yet let go by the consumer.
    held: AtomicU32,
    is_output: Box<[bool]>,
    parked: Mutex<Vec<u32>>,
    /// Threads waiting on a future of the run right now, and the highest node index they
    /// wait on. A consumer that waits for an output it needs next must never find it held
    /// back behind outputs it has not let go: nodes up to that index (its inputs among them,
    /// as nodes come in dependency order) are not held back while it waits.
    waiting: AtomicU32,
    waited_upto: AtomicU32,
}

pub(crate) struct Run {
    /// Who runs this graph's tasks.
    pub(crate) exec: Arc<dyn Executor>,
    pace: Option<Pace>,
    id: u64,
    nodes: Box<[Node]>,
    /// Dependents in CSR form: those of node i are `dependents[dep_offsets[i]..dep_offsets[i+1]]`,
    /// in increasing index (= priority) order.
    dep_offsets: Box<[u32]>,
    dependents: Box<[u32]>,
    progress: Option<Progress>,
    /// The process the run's executor lives in (see `runtime::fork`).
    pub(crate) pid: u32,
}

/// A reference to one node of a run.
#[derive(Clone)]
pub(crate) struct Cell {
    pub(crate) run: Arc<Run>,
    pub(crate) idx: u32,
}

/// Deferred state changes, processed with an explicit stack so that failing or cancelling a
/// 100,000-long chain does not recurse.
enum Work {
    Terminate {
        cell: Cell,
        error: Arc<TaskError>,
        explicit: bool,
    },
    Release(Cell),
}

fn process(mut work: Vec<Work>) {
    while let Some(w) = work.pop() {
        match w {
            Work::Terminate {
                cell,
                error,
                explicit,
            } => cell.run.terminate(cell.idx, error, explicit, &mut work),
            Work::Release(cell) => cell.run.release(cell.idx, &mut work),
        }
    }
}

fn is_terminal(state: u8) -> bool {
    state >= DONE
}

fn label_of(op: &Operation) -> &'static str {
    match op {
        Operation::Registered(def) => def.name(),
        Operation::Local { .. } => "local",
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

impl Run {
    /// Builds a run from nodes in dependency order, returns futures on `outputs`, and starts
    /// the nodes that have nothing to wait for.
    pub(crate) fn start(
        exec: &Arc<dyn Executor>,
        specs: Vec<NodeSpec>,
        outputs: &[u32],
        progress: Option<ProgressFn>,
        pace: Option<usize>,
    ) -> (Arc<Run>, Vec<Future>) {
        let n = specs.len();
        let pace = pace.map(|window| {
            let mut is_output = vec![false; n];
            for &o in outputs {
                is_output[o as usize] = true;
            }
            Pace {
                window: window.max(1),
                held: AtomicU32::new(0),
                is_output: is_output.into_boxed_slice(),
                parked: Mutex::new(Vec::new()),
                waiting: AtomicU32::new(0),
                waited_upto: AtomicU32::new(0),
            }
        });
        let mut offsets = vec![0u32; n + 1];
        for spec in &specs {
            for input in &spec.inputs {
                if let SpecInput::Local(j) = input {
                    offsets[*j as usize + 1] += 1;
                }
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        let mut dependents = vec![0u32; offsets[n] as usize];
        let mut held: Vec<Future> = Vec::new();
        let mut has_extern = vec![false; n];
        let mut nodes = Vec::with_capacity(n);
        for (i, spec) in specs.into_iter().enumerate() {
            let mut waits = 0u32;
            let inputs = spec
                .inputs
                .into_iter()
                .map(|input| match input {
                    SpecInput::Value(v) => Input::Value(v),
                    SpecInput::Local(j) => {
                        debug_assert!((j as usize) < i, "nodes come in dependency order");
                        dependents[cursor[j as usize] as usize] = i as u32;
                        cursor[j as usize] += 1;
                        waits += 1;
                        Input::Local(j)
                    }
                    SpecInput::Extern(f) => {
                        has_extern[i] = true;
                        waits += 1;
                        let cell = f.cell().clone();
                        held.push(f);
                        Input::Extern(cell)
                    }
                })
                .collect();
            // Nodes with external inputs hold one extra count until their waiters are set up.
            let hold = has_extern[i] as u32;
            let own_consumers = offsets[i + 1] - offsets[i];
            nodes.push(Node {
                state: AtomicU8::new(WAITING),
                cancel_requested: AtomicBool::new(false),
                has_waiters: AtomicBool::new(false),
                counted: AtomicBool::new(false),
                host_affine: spec.op.is_host_affine(),
                remaining: AtomicU32::new(waits + hold),
                consumers: AtomicU32::new(own_consumers),
                handles: AtomicU32::new(0),
                label: label_of(&spec.op),
                key: spec.key,
                task: Mutex::new(Some(NodeTask {
                    op: spec.op,
                    inputs,
                })),
                slot: Mutex::new(Slot::Empty),
                waiters: Mutex::new(Vec::new()),
            });
        }
        let run = Arc::new(Run {
            exec: exec.clone(),
            pace,
            id: exec.next_run_id(),
            nodes: nodes.into_boxed_slice(),
            dep_offsets: offsets.into_boxed_slice(),
            dependents: dependents.into_boxed_slice(),
            progress: progress.map(|p| Progress::new(n, p)),
            pid: crate::runtime::fork::current(),
        });
        exec.register_run(&run);
        let futures = outputs
            .iter()
            .map(|&o| {
                Future::new(Cell {
                    run: run.clone(),
                    idx: o,
                })
            })
            .collect();

        for (i, _) in has_extern.iter().enumerate().filter(|(_, e)| **e) {
            let externs: Vec<Cell> = match run.nodes[i].task.lock().as_ref() {
                Some(task) => task
                    .inputs
                    .iter()
                    .filter_map(|input| match input {
                        Input::Extern(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect(),
                None => Vec::new(),
            };
            let me = Cell {
                run: run.clone(),
                idx: i as u32,
            };
            for c in externs {
                c.node().consumers.fetch_add(1, SeqCst);
                c.add_waiter(Waiter::Dependent(me.clone()));
            }
            run.dep_done(i as u32);
        }
        drop(held);

        let roots = (0..n as u32).filter(|&i| {
            !has_extern[i as usize] && run.nodes[i as usize].remaining.load(SeqCst) == 0
        });
        if exec.on_worker() {
            // Our own deque is LIFO: push in reverse so the highest priority runs first.
            let roots: Vec<u32> = roots.collect();
            for i in roots.into_iter().rev() {
                run.ready(i);
            }
        } else {
            for i in roots {
                run.ready(i);
            }
        }
        (run, futures)
    }

    /// A run of one node that is finished already, holding `value` (scatter).
    pub(crate) fn finished(
        exec: &Arc<dyn Executor>,
        key: Option<Arc<str>>,
        value: Arc<Value>,
    ) -> Future {
        let stored = exec.store().keep(value, || {
            key.clone().unwrap_or_else(|| Arc::from("scattered value"))
        });
        let node = Node {
            state: AtomicU8::new(DONE),
            cancel_requested: AtomicBool::new(false),
            has_waiters: AtomicBool::new(false),
            counted: AtomicBool::new(true),
            host_affine: false,
            remaining: AtomicU32::new(0),
            consumers: AtomicU32::new(0),
            handles: AtomicU32::new(0),
            label: "scatter",
            key,
            task: Mutex::new(None),
            slot: Mutex::new(Slot::Value(stored)),
            waiters: Mutex::new(Vec::new()),
        };
        let run = Arc::new(Run {
            exec: exec.clone(),
            pace: None,
            id: exec.next_run_id(),
            nodes: vec![node].into_boxed_slice(),
            dep_offsets: vec![0, 0].into_boxed_slice(),
            dependents: Box::new([]),
            progress: None,
            pid: crate::runtime::fork::current(),
        });
        Future::new(Cell { run, idx: 0 })
    }

    /// A run of nodes computed elsewhere (a cluster): each node is running from the start and
    /// is concluded by [`settle`](Self::settle) when the cluster reports it. `keys` name the
    /// nodes (`None`: a generated key with `label`); `progress` counts them as they conclude.
    pub(crate) fn external(
        exec: &Arc<dyn Executor>,
        keys: Vec<Option<Arc<str>>>,
        label: &'static str,
        progress: Option<ProgressFn>,
    ) -> (Arc<Run>, Vec<Future>) {
        let n = keys.len();
        let nodes: Vec<Node> = keys
            .into_iter()
            .map(|key| Node {
                state: AtomicU8::new(RUNNING),
                cancel_requested: AtomicBool::new(false),
                has_waiters: AtomicBool::new(false),
                counted: AtomicBool::new(false),
                host_affine: false,
                remaining: AtomicU32::new(0),
                consumers: AtomicU32::new(0),
                handles: AtomicU32::new(0),
                label,
                key,
                task: Mutex::new(None),
                slot: Mutex::new(Slot::Empty),
                waiters: Mutex::new(Vec::new()),
            })
            .collect();
        let run = Arc::new(Run {
            exec: exec.clone(),
            pace: None,
            id: exec.next_run_id(),
            nodes: nodes.into_boxed_slice(),
            dep_offsets: vec![0; n + 1].into_boxed_slice(),
            dependents: Box::new([]),
            // Counted per node concluded: a cluster reports the outputs, not every task.
            progress: progress.map(|p| Progress::new(n, p)),
            pid: crate::runtime::fork::current(),
        });
        let futures = (0..n as u32)
            .map(|idx| {
                Future::new(Cell {
                    run: run.clone(),
                    idx,
                })
            })
            .collect();
        (run, futures)
    }

    /// Concludes a node of an [`external`](Self::external) run (once; later calls are
    /// ignored).
    pub(crate) fn settle(self: &Arc<Self>, idx: u32, outcome: Result<Stored, Arc<TaskError>>) {
        let node = &self.nodes[idx as usize];
        if node.state.load(SeqCst) != RUNNING || !matches!(*node.slot.lock(), Slot::Empty) {
            return;
        }
        let outcome = match outcome {
            // Cancelled by the user while running: whatever the body ended with (a value, or
            // the error of work cut short by the cancel flag), the outcome is the cancel.
            _ if node.cancel_requested.load(SeqCst) => Err(TaskError::cancelled(
                self.key(idx),
                "cancelled while running",
            )),
            o => o,
        };
        let mut work = Vec::new();
        match outcome {
            Ok(stored) => {
                self.conclude(idx, Slot::Value(stored), &mut work);
                if node.handles.load(SeqCst) == 0 && node.consumers.load(SeqCst) == 0 {
                    work.push(Work::Release(self.cell(idx)));
                }
            }
            Err(e) => self.conclude(idx, Slot::Error(e), &mut work),
        }
        process(work);
    }

    fn dependents_of(&self, idx: u32) -> &[u32] {
        let i = idx as usize;
        &self.dependents[self.dep_offsets[i] as usize..self.dep_offsets[i + 1] as usize]
    }

    pub(crate) fn key(&self, idx: u32) -> String {
        let node = &self.nodes[idx as usize];
        match &node.key {
            Some(k) => k.to_string(),
            None => format!("{}-{}-{}", node.label, self.id, idx),
        }
    }

    fn cell(self: &Arc<Self>, idx: u32) -> Cell {
        Cell {
            run: self.clone(),
            idx,
        }
    }

    /// One dependency of `idx` finished with a value.
    fn dep_done(self: &Arc<Self>, idx: u32) {
        if self.nodes[idx as usize].remaining.fetch_sub(1, SeqCst) == 1 {
            self.ready(idx);
        }
    }

    /// Marks a node ready and queues it (pool or host), unless it was cancelled meanwhile.
    fn ready(self: &Arc<Self>, idx: u32) {
        if self.make_ready(idx) {
            self.schedule(idx);
        }
    }

    fn make_ready(&self, idx: u32) -> bool {
        self.nodes[idx as usize]
            .state
            .compare_exchange(WAITING, READY, SeqCst, SeqCst)
            .is_ok()
    }

    fn schedule(self: &Arc<Self>, idx: u32) {
        if self.exec.is_closed() {
            // Nobody will run it: cancel rather than queue (a queued job would also keep its
            // run, and through it the pool, alive).
            self.cancel_one(idx, "the client was closed");
            return;
        }
        let job = Job {
            run: self.clone(),
            idx,
        };
        if self.nodes[idx as usize].host_affine {
            self.exec.queue_host(job);
        } else {
            self.exec.queue(job);
        }
    }

    /// Runs node `idx` if it is still ready; returns a dependent that became ready and that
    /// the calling worker should run next (depth-first, without a trip through a queue).
    ///
    /// A panic anywhere in it — not only in the task's own body, which fails just that task,
    /// but in admitting it, reading its inputs, storing its result or telling its waiters — is
    /// contained here: the thread goes on, and a node left without an outcome fails with an
    /// error naming the panic (its dependents with it), so no future waits forever.
    pub(crate) fn execute(self: &Arc<Self>, idx: u32) -> Option<u32> {
        match catch_unwind(AssertUnwindSafe(|| self.execute_inner(idx))) {
            Ok(next) => next,
            Err(payload) => {
                self.fail_internal(idx, &panic_message(payload));
                None
            }
        }
    }

    /// Fails node `idx` after a panic in the runtime's own handling of it, if the panic left
    /// it without an outcome.
    fn fail_internal(self: &Arc<Self>, idx: u32, why: &str) {
        let node = &self.nodes[idx as usize];
        if node.state.load(SeqCst) != RUNNING {
            return; // concluded before the panic, or never claimed
        }
        let error = TaskError::failed(
            self.key(idx),
            format!("internal error in the runtime while running the task: {why}"),
        );
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let mut work = Vec::new();
            if let Some(task) = node.task.lock().take() {
                self.release_inputs(&task.inputs, &mut work);
            }
            self.conclude(idx, Slot::Error(error.clone()), &mut work);
            for &d in self.dependents_of(idx) {
                work.push(Work::Terminate {
                    cell: self.cell(d),
                    error: error.clone(),
                    explicit: false,
                });
            }
            process(work);
        }));
    }

    fn execute_inner(self: &Arc<Self>, idx: u32) -> Option<u32> {
        if self.park(idx) {
            return None;
        }
        let node = &self.nodes[idx as usize];
        if node
            .state
            .compare_exchange(READY, RUNNING, SeqCst, SeqCst)
            .is_err()
        {
            return None;
        }
        let task = node.task.lock().take()?;
        // Memory first: past the pause threshold no new task starts until memory falls, and
        // with memory high, tasks that only make new data wait for those that consume it.
        let consumes = task.inputs.iter().any(|i| !matches!(i, Input::Value(_)));
        let admitted = self.exec.admit(consumes);
        let mut values = Vec::with_capacity(task.inputs.len());
        let mut missing = None;
        for input in &task.inputs {
            let v = match input {
                Input::Value(v) => Some(Ok(v.clone())),
                Input::Local(j) => self.value_of(*j),
                Input::Extern(c) => c.run.value_of(c.idx),
            };
            match v {
                Some(Ok(v)) => values.push(v),
                Some(Err(e)) => {
                    missing = Some(format!(
                        "input {} could not be read back: {e}",
                        values.len()
                    ));
                    break;
                }
                None => {
                    missing = Some(format!("input {} is no longer available", values.len()));
                    break;
                }
            }
        }
        let result = match (admitted, missing) {
            (Err(e), _) => Err(e.to_string()),
            (_, Some(why)) => Err(why),
            (Ok(()), None) => match catch_unwind(AssertUnwindSafe(|| {
                // Parallel work inside the task stops being handed out once it is cancelled.
                crate::parallel::with_cancel_flag(&node.cancel_requested, || task.op.call(&values))
            })) {
                Ok(r) => r,
                Err(payload) => Err(format!("panicked: {}", panic_message(payload))),
            },
        };
        if let Ok(v) = &result {
            crate::runtime::capture::record(&task.op, || self.key(idx), &values, v);
        }
        drop(values);
        let result = result.map_err(|msg| TaskError::failed(self.key(idx), msg));
        let mut work = Vec::new();
        self.release_inputs(&task.inputs, &mut work);
        drop(task);
        // Inputs nobody else needs are freed before the result is published.
        process(std::mem::take(&mut work));
        let next = self.finish(idx, result, &mut work);
        process(work);
        next
    }

    /// The value of a finished node (read back from disk if it was spilled); `None` when
    /// it is gone.
    fn value_of(&self, idx: u32) -> Option<Result<Arc<Value>, String>> {
        let stored = match &*self.nodes[idx as usize].slot.lock() {
            Slot::Value(s) => s.clone(),
            _ => return None,
        };
        // Outside the slot's lock: reading a spilled value back takes time.
        Some(stored.get().map_err(|e| e.to_string()))
    }

    fn release_inputs(self: &Arc<Self>, inputs: &[Input], work: &mut Vec<Work>) {
        for input in inputs {
            match input {
                Input::Value(_) => {}
                Input::Local(j) => {
                    if self.nodes[*j as usize].consumers.fetch_sub(1, SeqCst) == 1 {
                        work.push(Work::Release(self.cell(*j)));
                    }
                }
                Input::Extern(c) => {
                    if c.node().consumers.fetch_sub(1, SeqCst) == 1 {
                        work.push(Work::Release(c.clone()));
                    }
                }
            }
        }
    }

    fn finish(
        self: &Arc<Self>,
        idx: u32,
        result: Result<Arc<Value>, Arc<TaskError>>,
        work: &mut Vec<Work>,
    ) -> Option<u32> {
        let node = &self.nodes[idx as usize];
        let result = match result {
            // Cancelled by the user while running: whatever the body ended with (a value, or
            // the error of work cut short by the cancel flag), the outcome is the cancel.
            _ if node.cancel_requested.load(SeqCst) => Err(TaskError::cancelled(
                self.key(idx),
                "cancelled while running",
            )),
            r => r,
        };
        let value = match result {
            Ok(value) => value,
            Err(error) => {
                self.conclude(idx, Slot::Error(error.clone()), work);
                for &d in self.dependents_of(idx) {
                    work.push(Work::Terminate {
                        cell: self.cell(d),
                        error: error.clone(),
                        explicit: false,
                    });
                }
                return None;
            }
        };
        crate::failpoint::hit("run.finish");
        let stored = self.exec.store().keep(value, || Arc::from(self.key(idx)));
        if let Some(pace) = &self.pace {
            if pace.is_output[idx as usize] {
                pace.held.fetch_add(1, SeqCst);
            }
        }
        self.conclude(idx, Slot::Value(stored), work);

        let in_pool = self.exec.on_worker();
        let mut next = None;
        let mut extra = Vec::new();
        for &d in self.dependents_of(idx) {
            let dn = &self.nodes[d as usize];
            if dn.remaining.fetch_sub(1, SeqCst) == 1 && self.make_ready(d) {
                if dn.host_affine || !in_pool {
                    self.schedule(d);
                } else if next.is_none() {
                    next = Some(d);
                } else {
                    extra.push(d);
                }
            }
        }
        for &d in extra.iter().rev() {
            self.schedule(d);
        }
        if node.handles.load(SeqCst) == 0 && node.consumers.load(SeqCst) == 0 {
            work.push(Work::Release(self.cell(idx)));
        }
        next
    }

    /// Stores the outcome, publishes the terminal state, tells the waiters, counts progress.
    fn conclude(self: &Arc<Self>, idx: u32, outcome: Slot, work: &mut Vec<Work>) {
        let node = &self.nodes[idx as usize];
        let (state, failure) = match &outcome {
            Slot::Value(_) => (DONE, None),
            Slot::Error(e) if e.is_cancelled() => (CANCELLED, Some(e.clone())),
            Slot::Error(e) => (FAILED, Some(e.clone())),
            Slot::Empty | Slot::Released => unreachable!("conclude takes an outcome"),
        };
        *node.slot.lock() = outcome;
        // Progress first: once a future reports done, its computation's progress callback has
        // made its last call for it (so the caller may free the callback's context).
        self.count_progress(idx);
        node.state.store(state, SeqCst);
        if node.has_waiters.load(SeqCst) {
            let waiters = std::mem::take(&mut *node.waiters.lock());
            for w in waiters {
                fire(w, failure.as_ref(), work);
            }
        }
    }

    /// How many of the run's nodes have concluded (done, failed or cancelled) and how many it
    /// has: read by scanning their states, so that following a computation's progress costs
    /// its tasks nothing (a bar reads it a few times a second).
    pub(crate) fn concluded(&self) -> (usize, usize) {
        let done = self
            .nodes
            .iter()
            .filter(|n| is_terminal(n.state.load(Relaxed)))
            .count();
        (done, self.nodes.len())
    }

    /// Counts node `idx` as finished for progress, once.
    fn count_progress(&self, idx: u32) {
        if let Some(p) = &self.progress {
            if !self.nodes[idx as usize].counted.swap(true, SeqCst) {
                p.tick();
            }
        }
    }

    /// Fails or cancels a node that has not run (dependency failed, explicit cancel, nobody
    /// needs it any more). A running node that is cancelled explicitly finishes as cancelled.
    fn terminate(
        self: &Arc<Self>,
        idx: u32,
        error: Arc<TaskError>,
        explicit: bool,
        work: &mut Vec<Work>,
    ) {
        let node = &self.nodes[idx as usize];
        loop {
            match node.state.load(SeqCst) {
                s @ (WAITING | READY) => {
                    // Claim the node (as if running) so no worker starts it while we conclude.
                    if node
                        .state
                        .compare_exchange(s, RUNNING, SeqCst, SeqCst)
                        .is_ok()
                    {
                        break;
                    }
                }
                RUNNING => {
                    if explicit {
                        node.cancel_requested.store(true, SeqCst);
                        // Counted now, so progress is complete when cancel returns.
                        self.count_progress(idx);
                        self.exec.cancel_requested(self, idx);
                    }
                    return;
                }
                _ => return,
            }
        }
        self.conclude(idx, Slot::Error(error.clone()), work);
        let task = node.task.lock().take();
        if let Some(task) = task {
            self.release_inputs(&task.inputs, work);
        }
        for &d in self.dependents_of(idx) {
            work.push(Work::Terminate {
                cell: self.cell(d),
                error: error.clone(),
                explicit: false,
            });
        }
    }

    /// Parks ready node `idx` instead of running it when the run is paced and its window of
    /// held outputs is full; true when parked.
    fn park(&self, idx: u32) -> bool {
        let Some(pace) = &self.pace else {
            return false;
        };
        let mut parked = pace.parked.lock();
        if pace.held.load(SeqCst) < pace.window as u32
            || (pace.waiting.load(SeqCst) > 0 && idx <= pace.waited_upto.load(SeqCst))
        {
            return false;
        }
        parked.push(idx);
        true
    }

    /// A thread starts waiting on node `idx` of this run: it and the nodes before it are not
    /// held back meanwhile.
    pub(crate) fn wait_begins(self: &Arc<Self>, idx: u32) {
        let Some(pace) = &self.pace else {
            return;
        };
        let mut ready = {
            let mut parked = pace.parked.lock();
            pace.waiting.fetch_add(1, SeqCst);
            let upto = pace.waited_upto.fetch_max(idx, SeqCst).max(idx);
            let (go, stay): (Vec<u32>, Vec<u32>) = parked.iter().partition(|&&i| i <= upto);
            *parked = stay;
            go
        };
        ready.sort_unstable();
        for i in ready {
            self.schedule(i);
        }
    }

    /// The wait that `wait_begins` announced is over.
    pub(crate) fn wait_ends(&self) {
        if let Some(pace) = &self.pace {
            let _parked = pace.parked.lock();
            if pace.waiting.fetch_sub(1, SeqCst) == 1 {
                pace.waited_upto.store(0, SeqCst);
            }
        }
    }

    /// The consumer let go of a finished output: parked nodes go back to the queue (in
    /// priority order; those that find the window full again park again).
    fn unpark(self: &Arc<Self>) {
        let Some(pace) = &self.pace else {
            return;
        };
        let mut ready = {
            let mut parked = pace.parked.lock();
            pace.held.fetch_sub(1, SeqCst);
            std::mem::take(&mut *parked)
        };
        ready.sort_unstable();
        for idx in ready {
            self.schedule(idx);
        }
    }

    /// Frees a finished value, or cancels a pending node, once nobody needs it.
    fn release(self: &Arc<Self>, idx: u32, work: &mut Vec<Work>) {
        let node = &self.nodes[idx as usize];
        if node.handles.load(SeqCst) != 0 || node.consumers.load(SeqCst) != 0 {
            return;
        }
        self.exec.released(self, idx);
        match node.state.load(SeqCst) {
            DONE => {
                // Dropped outside the lock: freeing a spilled value deletes its file.
                let old = std::mem::replace(&mut *node.slot.lock(), Slot::Released);
                let was_value = matches!(old, Slot::Value(_));
                drop(old);
                if was_value
                    && self
                        .pace
                        .as_ref()
                        .is_some_and(|p| p.is_output[idx as usize])
                {
                    self.unpark();
                }
            }
            WAITING | READY => work.push(Work::Terminate {
                cell: self.cell(idx),
                error: TaskError::cancelled(
                    self.key(idx),
                    "no future or task needs its result any more",
                ),
                explicit: false,
            }),
            _ => {}
        }
    }

    /// Cancels node `idx` (and what only it needed) if it has not finished.
    pub(crate) fn cancel_one(self: &Arc<Self>, idx: u32, reason: &str) {
        process(vec![Work::Terminate {
            cell: self.cell(idx),
            error: TaskError::cancelled(self.key(idx), reason),
            explicit: true,
        }]);
    }

    /// Cancels every node that has not finished (client shutdown).
    pub(crate) fn cancel_pending(self: &Arc<Self>, reason: &str) {
        let mut work = Vec::new();
        for idx in 0..self.nodes.len() as u32 {
            if !is_terminal(self.nodes[idx as usize].state.load(SeqCst)) {
                work.push(Work::Terminate {
                    cell: self.cell(idx),
                    error: TaskError::cancelled(self.key(idx), reason),
                    explicit: true,
                });
            }
        }
        process(work);
    }
}

fn fire(waiter: Waiter, failure: Option<&Arc<TaskError>>, work: &mut Vec<Work>) {
    match waiter {
        Waiter::Signal(s) => s.notify(),
        Waiter::Waker(w) => {
            if let Some(w) = w.lock().take() {
                w.wake();
            }
        }
        Waiter::Callback(cb) => {
            // A panicking callback must not take the runtime down with it.
            let _ = catch_unwind(AssertUnwindSafe(cb));
        }
        Waiter::Dependent(cell) => match failure {
            None => cell.run.dep_done(cell.idx),
            Some(error) => work.push(Work::Terminate {
                cell,
                error: error.clone(),
                explicit: false,
            }),
        },
    }
}

/// The observable state of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FutureStatus {
    /// Waiting for dependencies or for a thread.
    Pending,
    Running,
    Finished,
    Error,
    Cancelled,
}

impl Cell {
    fn node(&self) -> &Node {
        &self.run.nodes[self.idx as usize]
    }

    pub(crate) fn state(&self) -> u8 {
        self.node().state.load(SeqCst)
    }

    pub(crate) fn is_terminal(&self) -> bool {
        is_terminal(self.state())
    }

    pub(crate) fn status(&self) -> FutureStatus {
        match self.state() {
            WAITING | READY => FutureStatus::Pending,
            RUNNING => FutureStatus::Running,
            DONE => FutureStatus::Finished,
            FAILED => FutureStatus::Error,
            _ => FutureStatus::Cancelled,
        }
    }

    pub(crate) fn key(&self) -> String {
        self.run.key(self.idx)
    }

    /// The outcome of a terminal node.
    pub(crate) fn outcome(&self) -> Option<Result<Arc<Value>, Arc<TaskError>>> {
        if !self.is_terminal() {
            return None;
        }
        let stored = match &*self.node().slot.lock() {
            Slot::Value(s) => s.clone(),
            Slot::Error(e) => return Some(Err(e.clone())),
            Slot::Empty | Slot::Released => return None,
        };
        // A spilled value is read back outside the slot's lock; a file that cannot be read
        // back fails the future with an error naming the key.
        Some(
            stored
                .get()
                .map_err(|e| TaskError::failed(self.key(), e.to_string())),
        )
    }

    /// Starts bringing a finished value held elsewhere (a worker of a cluster) here, so a
    /// read soon after does not wait for the network; nothing for a value already here.
    pub(crate) fn prefetch(&self) {
        let remote = match &*self.node().slot.lock() {
            Slot::Value(Stored::Remote(r)) => r.clone(),
            _ => return,
        };
        remote.prefetch();
    }

    /// The error of a failed or cancelled node (a value is not read, so nothing spilled is
    /// brought back).
    pub(crate) fn failure(&self) -> Option<Arc<TaskError>> {
        match &*self.node().slot.lock() {
            Slot::Error(e) => Some(e.clone()),
            _ => None,
        }
    }

    pub(crate) fn add_handle(&self) {
        self.node().handles.fetch_add(1, SeqCst);
    }

    pub(crate) fn drop_handle(&self) {
        if self.node().handles.fetch_sub(1, SeqCst) == 1 {
            process(vec![Work::Release(self.clone())]);
        }
    }

    /// Registers a waiter; fires it at once when the node has finished already.
    pub(crate) fn add_waiter(&self, waiter: Waiter) {
        let node = self.node();
        let mut list = node.waiters.lock();
        node.has_waiters.store(true, SeqCst);
        if is_terminal(node.state.load(SeqCst)) {
            drop(list);
            let failure = self.failure();
            let mut work = Vec::new();
            fire(waiter, failure.as_ref(), &mut work);
            process(work);
        } else {
            list.push(waiter);
        }
    }

    /// Makes `signal` fire when the node finishes (once, however often it is asked).
    pub(crate) fn wake_on_finish(&self, signal: &Arc<Signal>) {
        let registered = self
            .node()
            .waiters
            .lock()
            .iter()
            .any(|w| matches!(w, Waiter::Signal(s) if Arc::ptr_eq(s, signal)));
        if !registered {
            self.add_waiter(Waiter::Signal(signal.clone()));
        }
    }

    /// Cancels the node and what only it needed; dependents fail as cancelled.
    pub(crate) fn cancel(&self) {
        process(vec![Work::Terminate {
            cell: self.clone(),
            error: TaskError::cancelled(self.key(), "cancelled by the user"),
            explicit: true,
        }]);
    }
}
