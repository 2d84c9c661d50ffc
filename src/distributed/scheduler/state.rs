//! The scheduler's state machine, apart from any socket: every key's state, where its data
//! is, which worker runs what. Events come in as method calls; what must be sent goes to
//! `out`. The server (`server.rs`) feeds it from connections; the simulated benchmark feeds
//! it directly.
//!
//! States: waiting (for inputs), queued (ready, waiting for a worker slot), processing (on a
//! worker), memory (on one or more workers), erred, released (data freed; the record stays
//! while a pending task may need it again — lineage). Priorities are Dask's: graphs in the
//! order they came, and inside a graph the client's depth-first order.
//!
//! Placement: a task whose inputs are on workers goes to the worker holding most of their
//! bytes, occupancy breaking ties; a task without inputs (a root) waits in the scheduler's
//! queue until a worker has a free slot (threads + 1), so roots spread over the workers as
//! they free up (Dask's queuing) and no worker hoards work another could do.

use super::super::msg::{DepSource, Message, Msg, WorkerInfo};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Instant;

mod adapt;
pub use adapt::{AdaptRule, Advice};

pub type WorkerId = u64;
pub type ClientId = u64;

/// Where a message goes.
#[derive(Debug)]
pub enum Dest {
    Worker(WorkerId),
    Client(ClientId),
}

#[derive(Debug, Clone, PartialEq)]
enum St {
    Waiting,
    Queued,
    Processing(WorkerId),
    Memory,
    Erred(Arc<str>, bool),
    Released,
    /// Computed by its client (a host-language task, which runs on the client's own thread):
    /// waiting for the client to put the value on a worker.
    External,
}

struct TaskRec {
    key: Arc<str>,
    /// The encoded task; `None` for scattered data (no lineage: lost is lost).
    spec: Option<Arc<Vec<u8>>>,
    deps: Vec<u32>,
    dependents: Vec<u32>,
    state: St,
    who_has: Vec<WorkerId>,
    nbytes: u64,
    priority: (u64, u32),
    wanted_by: Vec<ClientId>,
    /// Inputs not in memory yet.
    waiting_on: u32,
    /// Workers lost while running this task.
    failures: u32,
    /// Attempts whose inputs could not be fetched.
    fetch_failures: u32,
    /// When erred: the key of the task that failed first (itself, or an input).
    origin: Option<Arc<str>>,
    /// A small result's encoded value, handed to clients with `KeyDone`.
    small: Option<Arc<Vec<u8>>>,
    /// While processing: its place in the worker's `processing` list (removal in O(1)).
    slot: u32,
}

impl TaskRec {
    /// A record with no dependencies, data or history yet.
    fn new(key: Arc<str>, spec: Option<Arc<Vec<u8>>>, state: St, priority: (u64, u32)) -> TaskRec {
        TaskRec {
            key,
            spec,
            deps: Vec::new(),
            dependents: Vec::new(),
            state,
            who_has: Vec::new(),
            nbytes: 0,
            priority,
            wanted_by: Vec::new(),
            waiting_on: 0,
            failures: 0,
            fetch_failures: 0,
            origin: None,
            small: None,
            slot: 0,
        }
    }
}

struct WorkerRec {
    info: WorkerInfo,
    processing: Vec<u32>,
    paused: bool,
    /// Leaving (SIGTERM): gets no new work while it hands its data to peers.
    retiring: bool,
    memory: u64,
    /// Running average of how long its tasks take (µs) and how large their results are.
    avg_us: f64,
    avg_bytes: f64,
    /// Its entry in `State::open`, if it is there.
    open_key: Option<(u64, WorkerId)>,
    /// Since when it has had nothing to run (adaptive clusters let idle workers go).
    idle_since: Option<Instant>,
}

impl WorkerRec {
    fn load_key(&self) -> (u64, WorkerId) {
        let per_thread = (self.processing.len() as u64 * 1024) / self.info.nthreads.max(1) as u64;
        (per_thread, self.info.id)
    }

    /// Tasks without inputs it may hold at once: one per thread plus one, and, when its
    /// tasks are short and small, enough more to cover a message's round trip (so short
    /// tasks do not wait on the network); large results never queue ahead (memory).
    fn slots(&self) -> usize {
        let t = self.info.nthreads.max(1) as usize;
        if self.avg_bytes > (1 << 20) as f64 {
            return t + 1;
        }
        const ROUND_TRIP_US: f64 = 250.0;
        let extra = (ROUND_TRIP_US / self.avg_us.max(0.5)) * t as f64;
        t + 1 + extra.min((64 * t) as f64) as usize
    }
}

/// What the scheduler does, in numbers (the simulated benchmark reports them).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    pub transitions: u64,
    pub recomputed: u64,
    /// Tasks moved from a busy worker to an idle one before they started.
    pub stolen: u64,
}

pub struct State {
    tasks: Vec<Option<TaskRec>>,
    free_slots: Vec<u32>,
    index: HashMap<Arc<str>, u32>,
    workers: BTreeMap<WorkerId, WorkerRec>,
    /// The workers with a free slot, least occupied (tasks per thread, scaled) first: where
    /// a queued task goes, found without looking at every worker.
    open: BTreeSet<(u64, WorkerId)>,
    queued: BinaryHeap<Reverse<((u64, u32), u32)>>,
    /// Steals asked of a victim and not answered yet: task -> thief.
    stealing: HashMap<u32, WorkerId>,
    generation: u64,
    allowed_failures: u32,
    pub out: Vec<(Dest, Message)>,
    pub counters: Counters,
}

const MAX_FETCH_FAILURES: u32 = 5;

/// Tasks shorter than this (µs, on average on their worker) are not stolen: moving them
/// costs more than waiting for them.
const MIN_STEAL_US: f64 = 1000.0;

impl State {
    pub fn new(allowed_failures: u32) -> State {
        State {
            tasks: Vec::new(),
            free_slots: Vec::new(),
            index: HashMap::new(),
            workers: BTreeMap::new(),
            open: BTreeSet::new(),
            queued: BinaryHeap::new(),
            stealing: HashMap::new(),
            generation: 0,
            allowed_failures,
            out: Vec::new(),
            counters: Counters::default(),
        }
    }

    fn t(&self, i: u32) -> &TaskRec {
        self.tasks[i as usize].as_ref().expect("live task")
    }

    fn tm(&mut self, i: u32) -> &mut TaskRec {
        self.tasks[i as usize].as_mut().expect("live task")
    }

    fn set_state(&mut self, i: u32, st: St) {
        self.counters.transitions += 1;
        self.tm(i).state = st;
    }

    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.workers.values().map(|w| w.info.clone()).collect()
    }

    /// Whether worker `w` is leaving (SIGTERM, or let go by an adaptive cluster).
    pub fn is_retiring(&self, w: WorkerId) -> bool {
        self.workers.get(&w).is_some_and(|r| r.retiring)
    }

    pub fn n_tasks(&self) -> usize {
        self.index.len()
    }

    /// The state of `key` as a word (tests, logs).
    pub fn state_of(&self, key: &str) -> Option<&'static str> {
        let i = *self.index.get(key)?;
        Some(match self.t(i).state {
            St::Waiting => "waiting",
            St::Queued => "queued",
            St::Processing(_) => "processing",
            St::Memory => "memory",
            St::Erred(..) => "erred",
            St::Released => "released",
            St::External => "external",
        })
    }

    // ---- workers --------------------------------------------------------------------------

    pub fn add_worker(&mut self, info: WorkerInfo) {
        let id = info.id;
        self.workers.insert(
            info.id,
            WorkerRec {
                info,
                processing: Vec::new(),
                paused: false,
                retiring: false,
                memory: 0,
                // Until measured, as if tasks were long: no queue ahead.
                avg_us: 1e6,
                avg_bytes: 0.0,
                open_key: None,
                idle_since: Some(Instant::now()),
            },
        );
        self.refresh(id);
        self.fill_slots();
    }

    /// Puts worker `w` in `open` (or takes it out) after its load, pause or slots changed.
    fn refresh(&mut self, w: WorkerId) {
        let Some(rec) = self.workers.get_mut(&w) else {
            return;
        };
        if let Some(k) = rec.open_key.take() {
            self.open.remove(&k);
        }
        match (rec.processing.is_empty(), rec.idle_since.is_some()) {
            (true, false) => rec.idle_since = Some(Instant::now()),
            (false, true) => rec.idle_since = None,
            _ => {}
        }
        if !rec.paused && !rec.retiring && rec.processing.len() < rec.slots() {
            let k = rec.load_key();
            rec.open_key = Some(k);
            self.open.insert(k);
        }
    }

    pub fn heartbeat(&mut self, w: WorkerId, memory: u64, paused: bool) {
        if let Some(rec) = self.workers.get_mut(&w) {
            let resumed = rec.paused && !paused;
            let changed = rec.paused != paused;
            rec.paused = paused;
            rec.memory = memory;
            if changed {
                self.refresh(w);
            }
            if resumed {
                self.fill_slots();
            }
        }
    }

    /// Worker `w` is leaving gracefully: it gets no new work, and each result only it holds
    /// that is still needed is given a new home among the other workers (least loaded
    /// first) — the moves it makes (key, destination's data address and id) before it
    /// closes. What it could not move is recomputed from lineage when it is gone.
    pub fn retire_worker(&mut self, w: WorkerId) -> Vec<(String, String, WorkerId)> {
        let Some(rec) = self.workers.get_mut(&w) else {
            return Vec::new();
        };
        rec.retiring = true;
        self.refresh(w);
        let mut homes: Vec<(usize, WorkerId, String)> = self
            .workers
            .values()
            .filter(|r| !r.retiring && r.info.id != w)
            .map(|r| (r.processing.len(), r.info.id, r.info.data_addr.clone()))
            .collect();
        if homes.is_empty() {
            return Vec::new();
        }
        homes.sort();
        let mut moves = Vec::new();
        for i in 0..self.tasks.len() as u32 {
            let Some(t) = self.tasks[i as usize].as_ref() else {
                continue;
            };
            // Held nowhere else that stays (a copy on another leaving worker goes too).
            let only_leaving = t
                .who_has
                .iter()
                .all(|h| self.workers.get(h).is_none_or(|r| r.retiring));
            if t.state == St::Memory && only_leaving && t.who_has.contains(&w) && self.needed(i) {
                let (_, id, addr) = &homes[moves.len() % homes.len()];
                moves.push((t.key.to_string(), addr.clone(), *id));
            }
        }
        moves
    }

    /// A retiring worker copied `key` to worker `to`.
    pub fn moved(&mut self, key: &str, to: WorkerId, nbytes: u64) {
        if !self.workers.contains_key(&to) {
            return;
        }
        let Some(&i) = self.index.get(key) else {
            // Forgotten meanwhile: the copy may go.
            self.free_on(to, key);
            return;
        };
        let t = self.tm(i);
        if t.state == St::Memory && !t.who_has.contains(&to) {
            t.who_has.push(to);
            t.nbytes = nbytes;
        }
    }

    /// Work stealing (called periodically): a worker with idle threads takes tasks that a
    /// worker with more tasks than threads has not started yet. The victim is asked first
    /// (`Steal`) and answers whether the task was still waiting (`steal_reply`); the most
    /// recently assigned tasks go first, as they are the least likely to have started.
    pub fn balance(&mut self) {
        let mut idle: Vec<(WorkerId, usize)> = Vec::new();
        let mut victims: Vec<(usize, WorkerId)> = Vec::new();
        let mut incoming: HashMap<WorkerId, usize> = HashMap::new();
        for &thief in self.stealing.values() {
            *incoming.entry(thief).or_default() += 1;
        }
        for r in self.workers.values() {
            let threads = r.info.nthreads.max(1) as usize;
            let busy = r.processing.len() + incoming.get(&r.info.id).copied().unwrap_or(0);
            if busy < threads && !r.paused && !r.retiring {
                idle.push((r.info.id, threads - busy));
            } else if r.processing.len() > threads && r.avg_us >= MIN_STEAL_US {
                // Its tasks are long enough to be worth a round trip and a transfer.
                victims.push((r.processing.len() - threads, r.info.id));
            }
        }
        if idle.is_empty() || victims.is_empty() {
            return;
        }
        victims.sort_unstable_by(|a, b| b.cmp(a));
        let mut v = 0;
        for (thief, mut want) in idle {
            while want > 0 && v < victims.len() {
                let (excess, victim) = victims[v];
                if excess == 0 {
                    v += 1;
                    continue;
                }
                let pick = self.workers[&victim]
                    .processing
                    .iter()
                    .rev()
                    .copied()
                    .find(|i| !self.stealing.contains_key(i));
                let Some(i) = pick else {
                    v += 1;
                    continue;
                };
                self.stealing.insert(i, thief);
                victims[v].0 -= 1;
                want -= 1;
                let key = self.t(i).key.to_string();
                self.out
                    .push((Dest::Worker(victim), Message::new(Msg::Steal { key })));
            }
        }
    }

    /// Worker `victim` answered a steal of `key`: `ok` when it had not started it (and will
    /// not), so the task goes to the thief chosen when asking.
    pub fn steal_reply(&mut self, victim: WorkerId, key: &str, ok: bool) {
        let Some(&i) = self.index.get(key) else {
            return;
        };
        let Some(thief) = self.stealing.remove(&i) else {
            return;
        };
        if !ok || self.t(i).state != St::Processing(victim) {
            return;
        }
        self.unassign(i, victim);
        self.counters.stolen += 1;
        let usable = self
            .workers
            .get(&thief)
            .is_some_and(|r| !r.paused && !r.retiring);
        if usable {
            self.send_to(i, thief);
        } else {
            self.set_state(i, St::Waiting);
            self.make_ready(i);
        }
        self.fill_slots();
    }

    /// A worker is gone (closed connection, missed heartbeats, left): what it ran is run
    /// elsewhere, what only it held is computed again from its inputs.
    pub fn remove_worker(&mut self, w: WorkerId, why: &str) {
        let Some(rec) = self.workers.remove(&w) else {
            return;
        };
        if let Some(k) = rec.open_key {
            self.open.remove(&k);
        }
        // Data it held.
        let mut lost = Vec::new();
        for i in 0..self.tasks.len() as u32 {
            let Some(t) = self.tasks[i as usize].as_mut() else {
                continue;
            };
            if let Some(p) = t.who_has.iter().position(|&x| x == w) {
                t.who_has.swap_remove(p);
                if t.who_has.is_empty() && t.state == St::Memory {
                    lost.push(i);
                }
            }
        }
        self.release_lost(&lost);
        // What it was running.
        for i in rec.processing {
            if self.tasks[i as usize].is_none() || self.t(i).state != St::Processing(w) {
                continue;
            }
            self.tm(i).failures += 1;
            if self.tm(i).failures > self.allowed_failures {
                let msg = format!(
                    "killed worker: task '{}' was running on {} workers that died (the last: {why})",
                    self.t(i).key,
                    self.t(i).failures
                );
                self.err(i, Arc::from(msg), false);
                continue;
            }
            let waiting_on = self.count_missing(i);
            self.tm(i).waiting_on = waiting_on;
            self.set_state(i, St::Waiting);
            if waiting_on == 0 {
                self.make_ready(i);
            }
        }
        self.find_lost(lost);
        self.fill_slots();
    }

    /// Values no worker holds any more: released, and their dependents that counted them as
    /// present wait for them again.
    fn release_lost(&mut self, lost: &[u32]) {
        for &i in lost {
            self.set_state(i, St::Released);
            let dependents = self.t(i).dependents.clone();
            for d in dependents {
                match self.t(d).state {
                    St::Waiting => self.tm(d).waiting_on += 1,
                    St::Queued => {
                        self.tm(d).waiting_on += 1;
                        self.set_state(d, St::Waiting);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Computes lost values again from their inputs where still needed (forgets the rest).
    fn find_lost(&mut self, lost: Vec<u32>) {
        for i in lost {
            if self.needed(i) {
                self.ensure(i);
            } else {
                self.maybe_forget(i);
            }
        }
    }

    // ---- clients --------------------------------------------------------------------------

    /// A client's graph: tasks (key, dependency keys, encoded task) in its priority order, and
    /// the keys it wants. Keys already known are the same tasks (not run twice).
    pub fn update_graph(
        &mut self,
        client: ClientId,
        tasks: Vec<(String, Vec<String>, Vec<u8>)>,
        wanted: Vec<String>,
    ) {
        self.generation += 1;
        let gen = self.generation;
        let mut new = Vec::new();
        for (pos, (key, deps, spec)) in tasks.into_iter().enumerate() {
            if self.index.contains_key(key.as_str()) {
                continue;
            }
            let mut dep_ids = Vec::with_capacity(deps.len());
            let mut unknown = None;
            for d in &deps {
                match self.index.get(d.as_str()) {
                    Some(&j) => dep_ids.push(j),
                    None => unknown = Some(d.clone()),
                }
            }
            let key: Arc<str> = Arc::from(key);
            let i = self.insert(TaskRec {
                deps: dep_ids.clone(),
                ..TaskRec::new(
                    key.clone(),
                    Some(Arc::new(spec)),
                    St::Waiting,
                    (gen, pos as u32),
                )
            });
            for &j in &dep_ids {
                self.tm(j).dependents.push(i);
            }
            if let Some(d) = unknown {
                let msg = format!("task '{key}' reads '{d}', which the scheduler does not know (released, or never sent)");
                self.tm(i).state = St::Erred(Arc::from(msg), false);
            }
            new.push(i);
        }
        for w in &wanted {
            if let Some(&i) = self.index.get(w.as_str()) {
                if !self.t(i).wanted_by.contains(&client) {
                    self.tm(i).wanted_by.push(client);
                }
                // Already finished (another client's, or recomputed): tell at once.
                match self.t(i).state.clone() {
                    St::Memory => self.tell_done(i, Some(client)),
                    St::Erred(e, c) => self.tell_erred(i, &e, c, Some(client)),
                    _ => {}
                }
            } else {
                self.out.push((
                    Dest::Client(client),
                    Message::new(Msg::KeyErred {
                        key: w.clone(),
                        error: format!("'{w}' is not a task of the graph"),
                        cancelled: false,
                        origin: w.clone(),
                    }),
                ));
            }
        }
        for i in new {
            if let St::Erred(e, c) = self.t(i).state.clone() {
                self.err(i, e, c);
                continue;
            }
            if self.t(i).state != St::Waiting {
                continue; // erred through a dependency meanwhile
            }
            // An input that failed fails this task; one released (freed earlier) is made again.
            let deps = self.t(i).deps.clone();
            let mut failed = None;
            for &j in &deps {
                match self.t(j).state.clone() {
                    St::Erred(e, c) => {
                        let o = self
                            .t(j)
                            .origin
                            .clone()
                            .unwrap_or_else(|| self.t(j).key.clone());
                        failed = Some((o, e, c))
                    }
                    St::Released => self.ensure(j),
                    _ => {}
                }
            }
            if let Some((o, e, c)) = failed {
                self.err_from(i, e, c, o);
                continue;
            }
            let missing = self.count_missing(i);
            self.tm(i).waiting_on = missing;
            if missing == 0 {
                self.make_ready(i);
            }
        }
        self.fill_slots();
    }

    /// Keys `client` computes itself and will put on a worker (`scattered`) or report failed
    /// (`external_erred`); the tasks of its graphs may read them meanwhile. Known keys are
    /// left as they are.
    pub fn expect_from_client(&mut self, client: ClientId, keys: Vec<String>) {
        self.generation += 1;
        let gen = self.generation;
        for key in keys {
            if self.index.contains_key(key.as_str()) {
                continue;
            }
            self.insert(TaskRec {
                wanted_by: vec![client],
                ..TaskRec::new(Arc::from(key), None, St::External, (gen, 0))
            });
        }
    }

    /// The client could not compute `key` (its host task failed, or `origin` did): the key
    /// and what reads it fail.
    pub fn external_erred(&mut self, key: &str, error: &str, origin: &str, cancelled: bool) {
        let Some(&i) = self.index.get(key) else {
            return;
        };
        if self.t(i).state == St::External {
            self.err_from(i, Arc::from(error), cancelled, Arc::from(origin));
            self.fill_slots();
        }
    }

    /// A client put `key` on worker `w` (scatter).
    pub fn scattered(&mut self, client: ClientId, key: String, w: WorkerId, nbytes: u64) {
        if !self.workers.contains_key(&w) {
            self.out.push((
                Dest::Client(client),
                Message::new(Msg::KeyErred {
                    key: key.clone(),
                    error: format!("worker {w} left before the scattered data was registered"),
                    cancelled: false,
                    origin: key,
                }),
            ));
            return;
        }
        let key: Arc<str> = Arc::from(key);
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.generation += 1;
                let gen = self.generation;
                self.insert(TaskRec {
                    nbytes,
                    ..TaskRec::new(key.clone(), None, St::Memory, (gen, 0))
                })
            }
        };
        let t = self.tm(i);
        if !t.who_has.contains(&w) {
            t.who_has.push(w);
        }
        t.nbytes = nbytes;
        if !t.wanted_by.contains(&client) {
            t.wanted_by.push(client);
        }
        if self.t(i).state == St::External {
            self.set_state(i, St::Memory);
            self.inputs_arrived(i);
            self.fill_slots();
        }
    }

    /// A client no longer needs `keys`.
    pub fn release(&mut self, client: ClientId, keys: &[String]) {
        for k in keys {
            let Some(&i) = self.index.get(k.as_str()) else {
                continue;
            };
            self.tm(i).wanted_by.retain(|&c| c != client);
            self.let_go(i);
        }
        self.fill_slots();
    }

    /// A client went away: everything it wanted is released.
    pub fn remove_client(&mut self, client: ClientId) {
        let keys: Vec<String> = self
            .tasks
            .iter()
            .flatten()
            .filter(|t| t.wanted_by.contains(&client))
            .map(|t| t.key.to_string())
            .collect();
        self.release(client, &keys);
    }

    /// Cancels keys that have not finished (and what depends on them).
    pub fn cancel(&mut self, keys: &[String]) {
        for k in keys {
            let Some(&i) = self.index.get(k.as_str()) else {
                continue;
            };
            match self.t(i).state {
                St::Memory | St::Erred(..) => {}
                _ => {
                    self.err(i, Arc::from("cancelled by the user"), true);
                    self.drop_unneeded_inputs(i);
                }
            }
        }
        self.fill_slots();
    }

    /// After `i` was cancelled or released: its pending inputs that nothing else needs are
    /// cancelled too, and theirs (explicit stack), as a local run cancels "the tasks that
    /// only it needed" — a cancelled reduction leaves no work behind on the workers.
    fn drop_unneeded_inputs(&mut self, i: u32) {
        let mut stack: Vec<u32> = self.t(i).deps.clone();
        while let Some(j) = stack.pop() {
            if self.tasks[j as usize].is_none() || self.needed(j) {
                continue;
            }
            match self.t(j).state {
                St::Waiting | St::Queued | St::Processing(_) | St::External => {
                    self.err(j, Arc::from("cancelled: nothing needs it any more"), true);
                    stack.extend(self.t(j).deps.iter().copied());
                }
                St::Memory => self.maybe_free(j),
                _ => {}
            }
        }
    }

    /// Where keys are (for clients gathering results).
    pub fn who_has(&self, keys: &[String]) -> Vec<DepSource> {
        keys.iter()
            .map(|k| DepSource {
                key: k.clone(),
                addrs: self
                    .index
                    .get(k.as_str())
                    .map(|&i| self.addrs_of(i))
                    .unwrap_or_default(),
            })
            .collect()
    }

    // ---- reports from workers -------------------------------------------------------------

    /// Worker `w` computed `key`: `nbytes` of result, `duration_us` of running, and the
    /// encoded value when it is small.
    pub fn finished(
        &mut self,
        w: WorkerId,
        key: &str,
        nbytes: u64,
        duration_us: u64,
        small: Option<Vec<u8>>,
    ) {
        if let Some(r) = self.workers.get_mut(&w) {
            r.avg_us = 0.9 * r.avg_us.min(1e5) + 0.1 * duration_us as f64;
            r.avg_bytes = 0.9 * r.avg_bytes + 0.1 * nbytes as f64;
            self.refresh(w); // its slots may have changed
        }
        let Some(&i) = self.index.get(key) else {
            // Forgotten meanwhile: the worker may drop it.
            self.free_on(w, key);
            return;
        };
        self.unassign(i, w);
        match self.t(i).state {
            St::Processing(p) if p == w => {}
            St::Memory => {
                let t = self.tm(i);
                if !t.who_has.contains(&w) {
                    t.who_has.push(w);
                }
                return;
            }
            _ => {
                // Cancelled, erred or moved elsewhere meanwhile.
                self.free_on(w, key);
                return;
            }
        }
        {
            let t = self.tm(i);
            t.who_has = vec![w];
            t.nbytes = nbytes;
            t.small = small.map(Arc::new);
        }
        self.set_state(i, St::Memory);
        self.tell_done(i, None);
        self.inputs_arrived(i);
        let deps = self.t(i).deps.clone();
        for j in deps {
            self.maybe_free(j);
        }
        if !self.needed(i) {
            self.maybe_free(i);
            self.maybe_forget(i);
        }
        self.fill_slots();
    }

    pub fn erred(&mut self, w: WorkerId, key: &str, error: &str) {
        let Some(&i) = self.index.get(key) else {
            return;
        };
        self.unassign(i, w);
        if self.t(i).state != St::Processing(w) {
            return;
        }
        self.err(i, Arc::from(error), false);
        self.fill_slots();
    }

    /// Worker `w` could not fetch input `dep` of `key` from any holder.
    pub fn missing_dep(&mut self, w: WorkerId, key: &str, dep: &str, from: &[String], why: &str) {
        let Some(&i) = self.index.get(key) else {
            return;
        };
        self.unassign(i, w);
        if self.t(i).state != St::Processing(w) {
            return;
        }
        self.forget_holders(dep, from);
        self.tm(i).fetch_failures += 1;
        if self.t(i).fetch_failures > MAX_FETCH_FAILURES {
            let msg = format!("input '{dep}' of '{key}' could not be fetched from any worker holding it ({MAX_FETCH_FAILURES} attempts; the last: {why})");
            self.err(i, Arc::from(msg), false);
            self.fill_slots();
            return;
        }
        let missing = self.count_missing(i);
        self.tm(i).waiting_on = missing;
        self.set_state(i, St::Waiting);
        if missing == 0 {
            self.make_ready(i);
        }
        self.fill_slots();
    }

    /// The workers at data addresses `from` did not give `dep`: dead before the scheduler
    /// noticed, unreachable, or no longer holding it. A value that can be computed again is
    /// no longer looked for there (with no holder left it is computed again from its inputs);
    /// scattered data, which cannot, keeps its holders (a worker back on its link still has it).
    fn forget_holders(&mut self, dep: &str, from: &[String]) {
        let Some(&d) = self.index.get(dep) else {
            return;
        };
        if self.t(d).state != St::Memory || self.t(d).spec.is_none() {
            return;
        }
        let failed: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, r)| from.contains(&r.info.data_addr))
            .map(|(&id, _)| id)
            .collect();
        self.tm(d).who_has.retain(|w| !failed.contains(w));
        if self.t(d).who_has.is_empty() {
            self.release_lost(&[d]);
            self.find_lost(vec![d]);
        }
    }

    // ---- transitions ----------------------------------------------------------------------

    /// `i` is in memory now: its waiting dependents have one input fewer to wait for.
    fn inputs_arrived(&mut self, i: u32) {
        let dependents = self.t(i).dependents.clone();
        for d in dependents {
            if self.t(d).state == St::Waiting {
                let t = self.tm(d);
                t.waiting_on = t.waiting_on.saturating_sub(1);
                if t.waiting_on == 0 {
                    self.make_ready(d);
                }
            }
        }
    }

    fn insert(&mut self, rec: TaskRec) -> u32 {
        let key = rec.key.clone();
        let i = match self.free_slots.pop() {
            Some(i) => {
                self.tasks[i as usize] = Some(rec);
                i
            }
            None => {
                self.tasks.push(Some(rec));
                (self.tasks.len() - 1) as u32
            }
        };
        self.index.insert(key, i);
        self.counters.transitions += 1;
        i
    }

    fn count_missing(&self, i: u32) -> u32 {
        self.t(i)
            .deps
            .iter()
            .filter(|&&j| self.t(j).state != St::Memory)
            .count() as u32
    }

    /// Still needed: wanted by a client, or read by a task that has not run.
    fn needed(&self, i: u32) -> bool {
        let t = self.t(i);
        !t.wanted_by.is_empty()
            || t.dependents.iter().any(|&d| {
                matches!(
                    self.t(d).state,
                    St::Waiting | St::Queued | St::Processing(_)
                )
            })
    }

    fn unassign(&mut self, i: u32, w: WorkerId) {
        let Some(rec) = self.workers.get_mut(&w) else {
            return;
        };
        let Some(t) = self.tasks[i as usize].as_ref() else {
            return;
        };
        let p = t.slot as usize;
        if rec.processing.get(p) != Some(&i) {
            return; // not processing there
        }
        rec.processing.swap_remove(p);
        if let Some(&moved) = rec.processing.get(p) {
            if let Some(m) = self.tasks[moved as usize].as_mut() {
                m.slot = p as u32;
            }
        }
        self.refresh(w);
    }

    fn addrs_of(&self, i: u32) -> Vec<String> {
        self.t(i)
            .who_has
            .iter()
            .filter_map(|w| self.workers.get(w).map(|r| r.info.data_addr.clone()))
            .collect()
    }

    fn make_ready(&mut self, i: u32) {
        if self.t(i).deps.is_empty() {
            self.queue(i);
            return;
        }
        // The worker holding most of the input bytes; the least occupied on a tie.
        let mut held: Vec<(WorkerId, u64)> = Vec::new();
        for &j in &self.t(i).deps {
            let t = self.t(j);
            for w in &t.who_has {
                match held.iter_mut().find(|(x, _)| x == w) {
                    Some(e) => e.1 += t.nbytes.max(1),
                    None => held.push((*w, t.nbytes.max(1))),
                }
            }
        }
        let best = held
            .iter()
            .filter(|(w, _)| {
                self.workers
                    .get(w)
                    .is_some_and(|r| !r.paused && !r.retiring)
            })
            .max_by(|a, b| {
                a.1.cmp(&b.1)
                    .then_with(|| self.occupancy(b.0).total_cmp(&self.occupancy(a.0)))
            })
            .map(|e| e.0);
        match best {
            Some(w) => self.send_to(i, w),
            None => self.queue(i),
        }
    }

    fn queue(&mut self, i: u32) {
        self.set_state(i, St::Queued);
        let p = self.t(i).priority;
        self.queued.push(Reverse((p, i)));
    }

    fn occupancy(&self, w: WorkerId) -> f64 {
        let r = &self.workers[&w];
        r.processing.len() as f64 / r.info.nthreads.max(1) as f64
    }

    /// Hands queued tasks to workers with a free slot, highest priority first.
    fn fill_slots(&mut self) {
        while let Some(&Reverse((p, i))) = self.queued.peek() {
            let live = self.tasks[i as usize]
                .as_ref()
                .is_some_and(|t| t.state == St::Queued && t.priority == p);
            if !live {
                self.queued.pop();
                continue;
            }
            // The least occupied worker with a free slot.
            let free = self.open.first().map(|&(_, w)| w);
            let Some(w) = free else {
                return;
            };
            self.queued.pop();
            self.send_to(i, w);
        }
    }

    fn send_to(&mut self, i: u32, w: WorkerId) {
        self.set_state(i, St::Processing(w));
        let rec = self.workers.get_mut(&w).unwrap();
        let at = rec.processing.len() as u32;
        rec.processing.push(i);
        self.tm(i).slot = at;
        self.refresh(w);
        let deps = self
            .t(i)
            .deps
            .iter()
            .map(|&j| DepSource {
                key: self.t(j).key.to_string(),
                addrs: self.addrs_of(j),
            })
            .collect();
        let t = self.t(i);
        let spec = t
            .spec
            .as_ref()
            .map(|s| s.as_ref().clone())
            .unwrap_or_default();
        self.out.push((
            Dest::Worker(w),
            Message::with_frames(
                Msg::Compute {
                    key: t.key.to_string(),
                    deps,
                },
                vec![spec],
            ),
        ));
    }

    fn tell_done(&mut self, i: u32, only: Option<ClientId>) {
        let t = self.t(i);
        let (key, nbytes) = (t.key.to_string(), t.nbytes);
        let small = t.small.clone();
        let clients: Vec<ClientId> = match only {
            Some(c) => vec![c],
            None => t.wanted_by.clone(),
        };
        if clients.is_empty() {
            return;
        }
        let addrs = self.addrs_of(i);
        for c in clients {
            let frames = small.iter().map(|b| b.as_ref().clone()).collect();
            self.out.push((
                Dest::Client(c),
                Message::with_frames(
                    Msg::KeyDone {
                        key: key.clone(),
                        nbytes,
                        addrs: addrs.clone(),
                    },
                    frames,
                ),
            ));
        }
    }

    fn tell_erred(&mut self, i: u32, error: &str, cancelled: bool, only: Option<ClientId>) {
        let t = self.t(i);
        let key = t.key.to_string();
        let origin = t.origin.as_deref().unwrap_or(&t.key).to_string();
        let clients: Vec<ClientId> = match only {
            Some(c) => vec![c],
            None => t.wanted_by.clone(),
        };
        for c in clients {
            self.out.push((
                Dest::Client(c),
                Message::new(Msg::KeyErred {
                    key: key.clone(),
                    error: error.to_string(),
                    cancelled,
                    origin: origin.clone(),
                }),
            ));
        }
    }

    /// Fails `i` and everything that depends on it (explicit stack: chains may be long).
    /// Dependents carry the same message and name `i` (or `origin`) as the task that failed
    /// first, as a local run does.
    fn err(&mut self, i: u32, error: Arc<str>, cancelled: bool) {
        let origin = self.t(i).key.clone();
        self.err_from(i, error, cancelled, origin);
    }

    fn err_from(&mut self, i: u32, error: Arc<str>, cancelled: bool, origin: Arc<str>) {
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            if matches!(self.t(j).state, St::Erred(..) | St::Memory) {
                continue;
            }
            if let St::Processing(w) = self.t(j).state {
                self.unassign(j, w);
                let key = self.t(j).key.to_string();
                self.free_on(w, &key);
            }
            self.set_state(j, St::Erred(error.clone(), cancelled));
            self.tm(j).origin = Some(origin.clone());
            self.tell_erred(j, &error, cancelled, None);
            stack.extend(self.t(j).dependents.iter().copied());
        }
        // Inputs nobody else waits for can go.
        let deps = self.t(i).deps.clone();
        for j in deps {
            self.maybe_free(j);
        }
    }

    /// Makes released key `i` again (and its released inputs): lineage.
    fn ensure(&mut self, i: u32) {
        let mut stack = vec![i];
        let mut order = Vec::new();
        while let Some(j) = stack.pop() {
            if self.t(j).state != St::Released {
                continue;
            }
            if self.t(j).spec.is_none() {
                let msg = format!(
                    "'{}' was scattered data held only by a worker that was lost",
                    self.t(j).key
                );
                self.err(j, Arc::from(msg), false);
                continue;
            }
            self.counters.recomputed += 1;
            self.set_state(j, St::Waiting);
            order.push(j);
            for &d in &self.t(j).deps.clone() {
                if self.t(d).state == St::Released {
                    stack.push(d);
                }
            }
        }
        for j in order {
            if self.t(j).state != St::Waiting {
                continue;
            }
            if let Some((e, c, o)) = self.t(j).deps.iter().find_map(|&d| {
                let t = self.t(d);
                match &t.state {
                    St::Erred(e, c) => {
                        Some((e.clone(), *c, t.origin.clone().unwrap_or(t.key.clone())))
                    }
                    _ => None,
                }
            }) {
                self.err_from(j, e, c, o);
                continue;
            }
            let missing = self.count_missing(j);
            self.tm(j).waiting_on = missing;
            if missing == 0 {
                self.make_ready(j);
            }
        }
    }

    fn free_on(&mut self, w: WorkerId, key: &str) {
        if self.workers.contains_key(&w) {
            self.out.push((
                Dest::Worker(w),
                Message::new(Msg::Free {
                    keys: vec![key.to_string()],
                }),
            ));
        }
    }

    /// Frees the data of `i` on its workers once nobody needs it (the record stays while a
    /// dependent may need it recomputed).
    fn maybe_free(&mut self, i: u32) {
        if self.tasks[i as usize].is_none() || self.t(i).state != St::Memory || self.needed(i) {
            return;
        }
        let holders = std::mem::take(&mut self.tm(i).who_has);
        self.tm(i).small = None;
        let key = self.t(i).key.to_string();
        for w in holders {
            self.free_on(w, &key);
        }
        self.set_state(i, St::Released);
        self.maybe_forget(i);
    }

    /// A key nobody wants: cancel it if pending and unneeded, free it, forget it.
    fn let_go(&mut self, i: u32) {
        if self.needed(i) {
            return;
        }
        match self.t(i).state {
            St::Waiting | St::Queued | St::External => {
                self.err(i, Arc::from("released before it ran"), true);
                self.drop_unneeded_inputs(i);
            }
            St::Memory => self.maybe_free(i),
            _ => {}
        }
        self.maybe_forget(i);
    }

    /// Drops records nobody can need again: not wanted, no dependents, not running; then
    /// their inputs, which may have become the same (explicit stack).
    fn maybe_forget(&mut self, i: u32) {
        let mut stack = vec![i];
        while let Some(j) = stack.pop() {
            let Some(t) = self.tasks[j as usize].as_ref() else {
                continue;
            };
            let done = matches!(t.state, St::Released | St::Erred(..));
            if !t.wanted_by.is_empty() || !t.dependents.is_empty() || !done {
                continue;
            }
            let t = self.tasks[j as usize].take().unwrap();
            self.index.remove(&t.key);
            self.free_slots.push(j);
            self.counters.transitions += 1;
            for d in t.deps {
                if self.tasks[d as usize].is_none() {
                    continue;
                }
                self.tm(d).dependents.retain(|&x| x != j);
                // No pending dependent left and nobody wants it: free its data (then it may
                // be forgotten too).
                if self.t(d).state == St::Memory && !self.needed(d) {
                    let holders = std::mem::take(&mut self.tm(d).who_has);
                    let key = self.t(d).key.to_string();
                    for w in holders {
                        self.free_on(w, &key);
                    }
                    self.set_state(d, St::Released);
                }
                stack.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn worker(id: u64, threads: u32) -> WorkerInfo {
        WorkerInfo {
            id,
            data_addr: format!("tcp://w{id}"),
            nthreads: threads,
        }
    }

    /// Pulls the Compute messages out, per worker.
    pub(super) fn computes(s: &mut State) -> Vec<(WorkerId, String)> {
        let mut v = Vec::new();
        for (d, m) in s.out.drain(..) {
            if let (Dest::Worker(w), Msg::Compute { key, .. }) = (d, m.msg) {
                v.push((w, key));
            }
        }
        v
    }

    fn chain_graph(n: usize) -> Vec<(String, Vec<String>, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let deps = if i == 0 {
                    vec![]
                } else {
                    vec![format!("t{}", i - 1)]
                };
                (format!("t{i}"), deps, vec![])
            })
            .collect()
    }

    #[test]
    fn a_chain_runs_where_its_input_is_and_is_forgotten_when_released() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.add_worker(worker(2, 1));
        s.update_graph(7, chain_graph(3), vec!["t2".into()]);
        let c = computes(&mut s);
        assert_eq!(c.len(), 1);
        let w = c[0].0;
        s.finished(w, "t0", 8, 1, None);
        let c = computes(&mut s);
        assert_eq!(c, vec![(w, "t1".to_string())], "runs where t0 is");
        s.finished(w, "t1", 8, 1, None);
        assert_eq!(
            s.state_of("t0"),
            Some("released"),
            "t0 freed once t1 has it"
        );
        let c = computes(&mut s);
        assert_eq!(c, vec![(w, "t2".to_string())]);
        s.finished(w, "t2", 8, 1, None);
        let done: Vec<_> = s
            .out
            .drain(..)
            .filter(|(_, m)| matches!(m.msg, Msg::KeyDone { .. }))
            .collect();
        assert_eq!(done.len(), 1);
        s.release(7, &["t2".into()]);
        assert_eq!(s.n_tasks(), 0, "everything forgotten");
    }

    #[test]
    fn a_graph_taken_in_parts_keeps_what_later_parts_read_until_released() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        let g = chain_graph(3);
        // Part one: t0, t1; t1 is read by the next part, so the client wants it meanwhile.
        s.update_graph(7, g[..2].to_vec(), vec!["t1".into()]);
        let c = computes(&mut s);
        s.finished(c[0].0, "t0", 8, 1, None);
        let c = computes(&mut s);
        s.finished(c[0].0, "t1", 8, 1, None);
        assert_eq!(
            s.state_of("t1"),
            Some("memory"),
            "kept for the part to come"
        );
        // The last part, then the client's release of the bridge key.
        s.update_graph(7, g[2..].to_vec(), vec!["t2".into()]);
        s.release(7, &["t1".into()]);
        assert_eq!(s.state_of("t1"), Some("memory"), "t2 still reads it");
        let c = computes(&mut s);
        assert_eq!(c.len(), 1, "t2 runs on t1's worker without recomputing t1");
        s.finished(c[0].0, "t2", 8, 1, None);
        assert_eq!(s.state_of("t1"), Some("released"));
        s.release(7, &["t2".into()]);
        assert_eq!(s.n_tasks(), 0, "everything forgotten");
    }

    #[test]
    fn cancelling_a_result_cancels_the_inputs_only_it_needed() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        // Two reductions over their own roots, sharing root "shared".
        let mut tasks = vec![("shared".to_string(), vec![], vec![])];
        for r in ["a", "b"] {
            for i in 0..3 {
                tasks.push((format!("{r}{i}"), vec![], vec![]));
            }
            let deps = (0..3)
                .map(|i| format!("{r}{i}"))
                .chain(["shared".to_string()])
                .collect();
            tasks.push((format!("{r}-sum"), deps, vec![]));
        }
        s.update_graph(7, tasks, vec!["a-sum".into(), "b-sum".into()]);
        let running = computes(&mut s);
        assert!(!running.is_empty());
        s.cancel(&["a-sum".into()]);
        for i in 0..3 {
            assert_eq!(s.state_of(&format!("a{i}")), Some("erred"), "a{i}");
            assert_ne!(s.state_of(&format!("b{i}")), Some("erred"), "b{i}");
        }
        assert_ne!(s.state_of("shared"), Some("erred"), "b-sum still needs it");
        // The rest still completes.
        let mut left: Vec<String> = computes(&mut s).into_iter().map(|c| c.1).collect();
        left.extend(running.into_iter().map(|c| c.1));
        let mut steps = 0;
        while let Some(k) = left.pop() {
            s.finished(1, &k, 8, 1, None);
            left.extend(computes(&mut s).into_iter().map(|c| c.1));
            steps += 1;
            assert!(steps < 100);
        }
        assert_eq!(s.state_of("b-sum"), Some("memory"));
    }

    #[test]
    fn idle_workers_steal_tasks_a_busy_worker_has_not_started() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.add_worker(worker(2, 2));
        s.scattered(7, "big".into(), 1, 1 << 20);
        let tasks = (0..8)
            .map(|i| (format!("t{i}"), vec!["big".to_string()], vec![]))
            .collect();
        s.update_graph(7, tasks, (0..8).map(|i| format!("t{i}")).collect());
        let c = computes(&mut s);
        assert_eq!(c.len(), 8);
        assert!(c.iter().all(|(w, _)| *w == 1), "all where 'big' is: {c:?}");
        s.balance();
        let steals: Vec<String> = s
            .out
            .drain(..)
            .filter_map(|(d, m)| match (d, m.msg) {
                (Dest::Worker(1), Msg::Steal { key }) => Some(key),
                _ => None,
            })
            .collect();
        assert_eq!(steals.len(), 2, "worker 2 has two idle threads");
        s.balance();
        assert!(
            s.out
                .iter()
                .all(|(_, m)| !matches!(m.msg, Msg::Steal { .. })),
            "no second ask while the first is unanswered"
        );
        // The victim had started one of them: only the other moves.
        s.steal_reply(1, &steals[0], false);
        s.steal_reply(1, &steals[1], true);
        let c = computes(&mut s);
        assert_eq!(c, vec![(2, steals[1].clone())]);
        assert_eq!(s.counters.stolen, 1);
        // Its result reported by the thief is the result; the victim's is never sent.
        s.finished(2, &steals[1], 8, 5000, None);
        assert_eq!(s.state_of(&steals[1]), Some("memory"));
    }

    #[test]
    fn a_lost_worker_s_results_are_recomputed_from_their_inputs() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.update_graph(7, chain_graph(3), vec!["t2".into()]);
        s.finished(1, "t0", 8, 1, None);
        s.finished(1, "t1", 8, 1, None);
        s.add_worker(worker(2, 1));
        computes(&mut s);
        // Worker 1 dies while running t2: t0 and t1 are gone with it.
        s.remove_worker(1, "connection closed");
        let c = computes(&mut s);
        assert_eq!(c, vec![(2, "t0".to_string())], "recomputed from the start");
        s.finished(2, "t0", 8, 1, None);
        assert_eq!(computes(&mut s), vec![(2, "t1".to_string())]);
        s.finished(2, "t1", 8, 1, None);
        assert_eq!(computes(&mut s), vec![(2, "t2".to_string())]);
        s.finished(2, "t2", 8, 1, None);
        assert_eq!(s.state_of("t2"), Some("memory"));
        assert!(s.counters.recomputed >= 2);
    }

    #[test]
    fn an_input_its_holder_did_not_give_is_computed_again() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        s.add_worker(worker(2, 1));
        let graph = vec![
            ("a".to_string(), vec![], vec![]),
            ("b".to_string(), vec![], vec![]),
            ("c".to_string(), vec!["a".into(), "b".into()], vec![]),
        ];
        s.update_graph(7, graph, vec!["c".into()]);
        let roots = computes(&mut s);
        assert_eq!(roots.len(), 2, "one root on each worker");
        for (w, k) in &roots {
            s.finished(*w, k, 8, 1, None);
        }
        let c = computes(&mut s);
        assert_eq!(c.len(), 1);
        let (runs_on, _) = c[0].clone();
        let (other, remote_key) = roots.iter().find(|(w, _)| *w != runs_on).unwrap().clone();
        // The worker running c could not get the other root from its holder (dead before
        // the scheduler noticed): that root is computed again, then c.
        s.missing_dep(
            runs_on,
            "c",
            &remote_key,
            &[format!("tcp://w{other}")],
            "connection refused",
        );
        let again = computes(&mut s);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].1, remote_key, "the input is recomputed");
        s.finished(again[0].0, &remote_key, 8, 1, None);
        assert_eq!(computes(&mut s).len(), 1, "then c runs again");
        assert!(s.counters.recomputed >= 1);
    }

    #[test]
    fn a_task_that_kills_workers_fails_after_allowed_failures() {
        let mut s = State::new(1);
        s.update_graph(7, chain_graph(1), vec!["t0".into()]);
        for w in 1..=2 {
            s.add_worker(worker(w, 1));
            assert_eq!(computes(&mut s), vec![(w, "t0".to_string())]);
            s.remove_worker(w, "crashed");
        }
        let erred: Vec<String> = s
            .out
            .drain(..)
            .filter_map(|(_, m)| match m.msg {
                Msg::KeyErred { error, .. } => Some(error),
                _ => None,
            })
            .collect();
        assert_eq!(erred.len(), 1);
        assert!(
            erred[0].contains("killed worker") && erred[0].contains("t0"),
            "{}",
            erred[0]
        );
    }

    #[test]
    fn roots_wait_for_free_slots_and_go_in_priority_order() {
        let mut s = State::new(3);
        let tasks = (0..10).map(|i| (format!("r{i}"), vec![], vec![])).collect();
        s.update_graph(1, tasks, (0..10).map(|i| format!("r{i}")).collect());
        s.add_worker(worker(1, 2));
        let c = computes(&mut s);
        let keys: Vec<&str> = c.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(keys, vec!["r0", "r1", "r2"], "threads + 1 slots, in order");
        s.finished(1, "r0", 1, 1, None);
        assert_eq!(computes(&mut s), vec![(1, "r3".to_string())]);
    }

    #[test]
    fn errors_propagate_to_dependents_without_recursion() {
        let mut s = State::new(3);
        s.add_worker(worker(1, 1));
        let n = 100_000;
        s.update_graph(1, chain_graph(n), vec![format!("t{}", n - 1)]);
        computes(&mut s);
        s.erred(1, "t0", "boom");
        let e = s
            .out
            .drain(..)
            .find_map(|(_, m)| match m.msg {
                Msg::KeyErred {
                    key, error, origin, ..
                } => Some((key, error, origin)),
                _ => None,
            })
            .unwrap();
        assert_eq!(e.0, format!("t{}", n - 1));
        assert_eq!(e.2, "t0", "names the task that failed first");
        assert_eq!(e.1, "boom");
        s.release(1, &[format!("t{}", n - 1)]);
        assert_eq!(s.n_tasks(), 0);
    }
}
