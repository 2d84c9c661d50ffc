//! The client side of a cluster: a `Backend` that sends graphs to a scheduler as task
//! messages and gives back ordinary futures, concluded when the scheduler reports their keys.
//! A finished future holds a reference to its data on a worker; reading it fetches the value
//! from there (Dask gathers on request). Dropping the last future on a key releases it on the
//! cluster.
//!
//! One tokio runtime with two threads (named `dask-io`: two let fetches of large results
//! decode side by side) carries the sockets; callers block on it only from their own
//! threads. A blocking call from that thread — a done-callback that
//! waits on another future — is an error, never a hang.

use super::conn::{connect, Addr, Hello};
use super::graph_parts::{self, GraphParts};
use super::msg::{Limits, Message, Msg, Role, TaskHead, WorkerInfo};
use super::tls::Security;
use super::worker::Peers;
use crate::error::{Error, Result, TaskError};
use crate::memory::{MemoryStats, RemoteValue, Stored};
use crate::protocol::{encode, encode_task, Compression, WireArg, WireTask};
use crate::runtime::backend::{Backend, LocalBackend};
use crate::runtime::graph::Plan;
use crate::runtime::local::HostNotify;
use crate::runtime::scheduler::{Cell, Executor, Future, Job, NodeSpec, Run, SpecInput};
use crate::runtime::Config;
use crate::runtime::Operation;
use crate::value::Value;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a value waits for the cluster's first worker before failing.
const WAIT_FOR_A_WORKER: Duration = Duration::from_secs(60);
use tokio::sync::{mpsc, oneshot};

thread_local! {
    static ON_IO_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn on_io_thread() -> bool {
    ON_IO_THREAD.with(|c| c.get())
}

const BLOCKING_FROM_CALLBACK: &str = "a blocking call (waiting on or reading a future of a cluster) was made from a completion callback, which runs on the client's network thread: read the value from another thread, or use the future's async form";

/// A node of an external run, held weakly (the run goes when its futures do).
type NodeRef = (Weak<Run>, u32);

/// Everything the network thread and the callers share.
struct Inner {
    id: u64,
    scheduler: String,
    handle: tokio::runtime::Handle,
    tx: mpsc::UnboundedSender<Message>,
    /// Outputs waiting for their keys: wire key -> nodes of external runs.
    pending: Mutex<HashMap<String, Vec<NodeRef>>>,
    /// The wire key of each live node of an external run.
    wire_of: Mutex<HashMap<(usize, u32), String>>,
    /// Answers the scheduler owes us, in the order asked.
    replies: Mutex<VecDeque<oneshot::Sender<Message>>>,
    workers: Mutex<Vec<WorkerInfo>>,
    peers: Peers,
    next_run: AtomicU64,
    next_scatter: AtomicU64,
    lost: Mutex<Option<String>>,
    compression: Compression,
}

impl Inner {
    fn check(&self) -> Result<()> {
        match &*self.lost.lock() {
            Some(why) => Err(Error::Closed(why.clone())),
            None => Ok(()),
        }
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.send(Message::new(m));
    }

    /// Blocks the calling thread on `f` (never the network thread's).
    fn block_on<T>(&self, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        if on_io_thread() || tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(BLOCKING_FROM_CALLBACK));
        }
        self.handle.block_on(f)
    }

    /// Asks the scheduler something it answers in order (WhoHas, Workers).
    async fn ask_scheduler(&self, m: Msg) -> Result<Message> {
        let (tx, rx) = oneshot::channel();
        {
            // Queue the reply slot and send under one lock so replies keep the order asked.
            let mut replies = self.replies.lock();
            replies.push_back(tx);
            self.tx
                .send(Message::new(m))
                .map_err(|_| Error::Closed("the connection to the scheduler is closed".into()))?;
        }
        rx.await.map_err(|_| {
            Error::Closed(format!(
                "the scheduler at {} did not answer (connection lost)",
                self.scheduler
            ))
        })
    }

    async fn refresh_workers(&self) -> Result<Vec<WorkerInfo>> {
        match self.ask_scheduler(Msg::Workers).await?.msg {
            Msg::WorkersReply { workers } => {
                *self.workers.lock() = workers.clone();
                Ok(workers)
            }
            other => Err(Error::Io(format!("unexpected answer {other:?}"))),
        }
    }

    async fn fetch(&self, key: &str) -> Result<Arc<Value>> {
        let reply = self
            .ask_scheduler(Msg::WhoHas {
                keys: vec![key.to_string()],
            })
            .await?;
        let addrs = match reply.msg {
            Msg::WhoHasReply { mut sources } if sources.len() == 1 => sources.remove(0).addrs,
            other => return Err(Error::Io(format!("unexpected answer {other:?}"))),
        };
        let mut last = format!("no worker holds '{key}' any more");
        for addr in addrs {
            match self.peers.get_data(&addr, vec![key.to_string()]).await {
                Ok(mut v) => return Ok(v.remove(0)),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Io(last))
    }

    /// Puts an encoded value on a worker (the `n`-th of the known ones, round robin) under
    /// `key` and returns the worker's id; the caller tells the scheduler.
    async fn put_on_a_worker(&self, key: &str, value: Arc<Value>, n: u64) -> Result<u64> {
        let mut workers = self.workers.lock().clone();
        // No worker yet (an adaptive cluster starts them as the scheduler asks; a value a
        // client computes counts as work waiting): wait for one, as Dask's scatter does.
        let deadline = tokio::time::Instant::now() + WAIT_FOR_A_WORKER;
        while workers.is_empty() {
            workers = self.refresh_workers().await?;
            if workers.is_empty() {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Error::invalid(format!(
                        "the cluster has no workers to put data on (waited {WAIT_FOR_A_WORKER:?})"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let w = workers[(n as usize) % workers.len()].clone();
        let answer = self
            .peers
            .ask(
                &w.data_addr,
                &Message::with_values(
                    Msg::PutData {
                        keys: vec![key.to_string()],
                    },
                    vec![value],
                    self.compression,
                ),
            )
            .await?;
        match answer.msg {
            Msg::Ack => Ok(w.id),
            other => Err(Error::Io(format!(
                "worker {} did not take the data: {other:?}",
                w.data_addr
            ))),
        }
    }

    /// Concludes the nodes waiting for `key`.
    fn settle(self: &Arc<Self>, key: &str, outcome: Result<Stored, Arc<TaskError>>) {
        let nodes = self.pending.lock().remove(key).unwrap_or_default();
        for (run, idx) in nodes {
            if let Some(run) = run.upgrade() {
                run.settle(idx, outcome.clone());
            }
        }
    }

    /// The connection is gone: every pending future fails.
    fn lose(self: &Arc<Self>, why: String) {
        *self.lost.lock() = Some(why.clone());
        let all: Vec<String> = self.pending.lock().keys().cloned().collect();
        for k in all {
            self.settle(&k, Err(TaskError::failed(display_key(&k), why.clone())));
        }
        self.replies.lock().clear();
    }
}

/// What users see of a wire key: a user's key without the per-computation suffix.
fn display_key(wire: &str) -> String {
    wire.split_once('@').map_or(wire, |(k, _)| k).to_string()
}

/// A value on a worker, fetched when read (from where the scheduler said it was, or, when
/// that worker is gone, from where it says now).
struct RemoteRef {
    key: String,
    addrs: Vec<String>,
    inner: Weak<Inner>,
    /// A fetch started ahead of the read (`prefetch`): the read takes its value.
    ahead: Mutex<Option<oneshot::Receiver<Result<Arc<Value>>>>>,
}

impl RemoteRef {
    fn new(key: String, addrs: Vec<String>, inner: &Arc<Inner>) -> RemoteRef {
        RemoteRef {
            key,
            addrs,
            inner: Arc::downgrade(inner),
            ahead: Mutex::new(None),
        }
    }
}

/// Fetches `key` from one of `addrs`, or from wherever the scheduler says it is now.
async fn fetch_value(inner: &Inner, key: &str, addrs: &[String]) -> Result<Arc<Value>> {
    for addr in addrs {
        if let Ok(mut v) = inner.peers.get_data(addr, vec![key.to_string()]).await {
            return Ok(v.remove(0));
        }
    }
    inner.fetch(key).await
}

impl RemoteValue for RemoteRef {
    fn fetch(&self) -> Result<Arc<Value>> {
        let inner = self
            .inner
            .upgrade()
            .ok_or_else(|| Error::Closed("the client is closed".into()))?;
        inner.check()?;
        let ahead = self.ahead.lock().take();
        inner.block_on(async {
            if let Some(rx) = ahead {
                if let Ok(Ok(v)) = rx.await {
                    return Ok(v);
                }
            }
            fetch_value(&inner, &self.key, &self.addrs).await
        })
    }

    fn prefetch(&self) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let mut ahead = self.ahead.lock();
        if ahead.is_some() || inner.check().is_err() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        *ahead = Some(rx);
        let (key, addrs) = (self.key.clone(), self.addrs.clone());
        inner.handle.clone().spawn(async move {
            let _ = tx.send(fetch_value(&inner, &key, &addrs).await);
        });
    }
}

/// The executor of external runs: waiting, storing and host tasks are the local pool's; the
/// nodes' lifetimes are told to the scheduler.
struct RemoteExec {
    local: Arc<dyn Executor>,
    inner: Arc<Inner>,
}

impl Executor for RemoteExec {
    fn queue(&self, job: Job) {
        self.local.queue(job)
    }
    fn queue_host(&self, job: Job) {
        self.local.queue_host(job)
    }
    fn on_worker(&self) -> bool {
        self.local.on_worker()
    }
    fn is_closed(&self) -> bool {
        self.local.is_closed()
    }
    fn store(&self) -> &crate::memory::Store {
        self.local.store()
    }
    fn admit(&self, consumes: bool) -> Result<()> {
        self.local.admit(consumes)
    }
    fn wait(&self, cell: &Cell, deadline: Option<Instant>) -> bool {
        if on_io_thread() {
            // Nothing can finish while the network thread waits: refuse rather than hang.
            return cell.is_terminal();
        }
        self.local.wait(cell, deadline)
    }
    fn next_run_id(&self) -> u64 {
        self.inner.next_run.fetch_add(1, Ordering::Relaxed)
    }
    fn register_run(&self, run: &Arc<Run>) {
        self.local.register_run(run)
    }
    fn released(&self, run: &Arc<Run>, idx: u32) {
        let key = self
            .inner
            .wire_of
            .lock()
            .remove(&(Arc::as_ptr(run) as usize, idx));
        if let Some(key) = key {
            self.inner.pending.lock().remove(&key);
            self.inner.send(Msg::Release { keys: vec![key] });
        }
    }
    fn cancel_requested(&self, run: &Arc<Run>, idx: u32) {
        let key = self
            .inner
            .wire_of
            .lock()
            .get(&(Arc::as_ptr(run) as usize, idx))
            .cloned();
        if let Some(key) = key {
            self.inner.send(Msg::Cancel { keys: vec![key] });
        }
    }
}

/// A client's connection to a cluster.
pub(crate) struct RemoteBackend {
    local: LocalBackend,
    exec: Arc<dyn Executor>,
    inner: Arc<Inner>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl RemoteBackend {
    pub(crate) fn connect(
        address: &str,
        security: Security,
        config: Config,
    ) -> Result<RemoteBackend> {
        let addr = Addr::parse(address)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dask-io")
            .on_thread_start(|| ON_IO_THREAD.with(|c| c.set(true)))
            .enable_all()
            .build()
            .map_err(|e| Error::Io(format!("cannot start the network thread: {e}")))?;
        let limits = Limits::default();
        let hello = Hello {
            role: Role::Client,
            name: format!("client-{}", std::process::id()),
            nthreads: 0,
            memory_limit: 0,
            data_addr: None,
        };
        let (conn, welcome) =
            runtime.block_on(connect(&addr, &security, &hello, Role::Scheduler, limits))?;
        let (id, workers) = match welcome {
            Msg::Welcome { id, workers, .. } => (id, workers),
            _ => unreachable!("connect returns a Welcome"),
        };
        let (tx, mut outbox) = mpsc::unbounded_channel::<Message>();
        let inner = Arc::new(Inner {
            id,
            scheduler: addr.to_string(),
            handle: runtime.handle().clone(),
            tx,
            pending: Mutex::new(HashMap::new()),
            wire_of: Mutex::new(HashMap::new()),
            replies: Mutex::new(VecDeque::new()),
            workers: Mutex::new(workers),
            peers: Peers::new(security, limits, Role::Client, hello.name.clone()),
            next_run: AtomicU64::new(1),
            next_scatter: AtomicU64::new(1),
            lost: Mutex::new(None),
            compression: addr.compression(config.memory.network_compression),
        });
        let super::conn::Conn {
            mut r,
            mut w,
            limits,
            ..
        } = conn;
        // Why sending failed, for the error the reader reports when the scheduler then
        // closes the connection (a message this client could not send, not the scheduler,
        // is the cause to name).
        let send_failed = Arc::new(Mutex::new(None::<String>));
        let send_failure = send_failed.clone();
        runtime.spawn(async move {
            if let Err(e) = super::msg::pump(&mut outbox, &mut w).await {
                *send_failure.lock() = Some(e.to_string());
            }
        });
        let weak = Arc::downgrade(&inner);
        let scheduler = addr.to_string();
        runtime.spawn(async move {
            let why = loop {
                let m = match super::msg::read_message(&mut r, &limits).await {
                    Ok(Some(m)) => m,
                    Ok(None) => {
                        break format!("the scheduler at {scheduler} closed the connection")
                    }
                    Err(e) => {
                        break format!("the connection to the scheduler at {scheduler} failed: {e}")
                    }
                };
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                match m.msg {
                    Msg::KeyDone { key, addrs, .. } => {
                        // A small value came along; a larger one is fetched when read.
                        let small = m
                            .frames
                            .first()
                            .and_then(|f| crate::protocol::decode(f, &key).ok());
                        let stored = match small {
                            Some(v) => Stored::Inline(Arc::new(v)),
                            None => {
                                Stored::Remote(Arc::new(RemoteRef::new(key.clone(), addrs, &inner)))
                            }
                        };
                        inner.settle(&key, Ok(stored));
                    }
                    Msg::KeyErred {
                        key,
                        error,
                        cancelled,
                        origin,
                    } => {
                        let origin = display_key(&origin);
                        let e = if cancelled {
                            TaskError::cancelled(origin, error)
                        } else {
                            TaskError::failed(origin, error)
                        };
                        inner.settle(&key, Err(e));
                    }
                    Msg::WhoHasReply { .. }
                    | Msg::WorkersReply { .. }
                    | Msg::AdaptReply { .. }
                    | Msg::DatasetReply { .. } => {
                        let slot = inner.replies.lock().pop_front();
                        if let Some(s) = slot {
                            let _ = s.send(m);
                        }
                    }
                    Msg::Close { why } => {
                        break format!("the scheduler at {scheduler} closed: {why}")
                    }
                    _ => {}
                }
            };
            let why = match send_failed.lock().take() {
                Some(e) => format!("sending to the scheduler at {scheduler} failed: {e}"),
                None => why,
            };
            if let Some(inner) = weak.upgrade() {
                inner.lose(why);
            }
        });
        let local = LocalBackend::start(Config {
            address: None,
            ..config
        })?;
        let exec: Arc<dyn Executor> = Arc::new(RemoteExec {
            local: local.executor(),
            inner: inner.clone(),
        });
        Ok(RemoteBackend {
            local,
            exec,
            inner,
            runtime: Mutex::new(Some(runtime)),
        })
    }

    fn is_ours(&self, run: &Arc<Run>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&run.exec), Arc::as_ptr(&self.exec))
    }

    fn wire_key_of(&self, f: &Future) -> Result<String> {
        let cell = f.cell();
        if !self.is_ours(&cell.run) {
            return Err(Error::invalid(format!(
                "future '{}' belongs to another client: a cluster's tasks can read only this client's futures",
                f.key()
            )));
        }
        if let Some(e) = f.error() {
            return Err(Error::Task(e));
        }
        self.inner
            .wire_of
            .lock()
            .get(&(Arc::as_ptr(&cell.run) as usize, cell.idx))
            .cloned()
            .ok_or_else(|| Error::invalid(format!("future '{}' was released", f.key())))
    }

    /// The wire key of `f` for a task of a new graph. A future computed in this process (a
    /// host task's) gets a key on first use and goes into `provided`: the client puts its
    /// value on a worker once it is done.
    fn wire_key_or_provide(
        &self,
        f: &Future,
        provided: &mut Vec<(String, Future)>,
    ) -> Result<String> {
        match self.wire_key_of(f) {
            Ok(k) => Ok(k),
            Err(e) => {
                let cell = f.cell();
                let here = self.is_ours(&cell.run) && f.error().is_none();
                if !here {
                    return Err(e);
                }
                let node = (Arc::as_ptr(&cell.run) as usize, cell.idx);
                let mut wire_of = self.inner.wire_of.lock();
                if let Some(k) = wire_of.get(&node) {
                    return Ok(k.clone());
                }
                let n = self.inner.next_scatter.fetch_add(1, Ordering::Relaxed);
                let key = format!("host-{}.{n}", self.inner.id);
                wire_of.insert(node, key.clone());
                provided.push((key.clone(), f.clone()));
                Ok(key)
            }
        }
    }

    /// Sends a dataset request and waits for its answer: keys, description, names.
    fn dataset_request(&self, m: Msg) -> Result<(Vec<String>, Vec<u8>, Vec<String>)> {
        let inner = self.inner.clone();
        let reply = inner.block_on(async { inner.ask_scheduler(m).await })?;
        match reply.msg {
            Msg::DatasetReply { error: Some(e), .. } => Err(Error::invalid(e)),
            Msg::DatasetReply {
                keys, meta, names, ..
            } => Ok((keys, meta, names)),
            other => Err(Error::Io(format!("unexpected answer {other:?}"))),
        }
    }

    /// Queues a message of a graph for the scheduler.
    fn send_part(&self, m: Message) -> Result<()> {
        self.inner
            .tx
            .send(m)
            .map_err(|_| Error::Closed("the connection to the scheduler is closed".into()))
    }

    /// Registers the nodes of an external run under their wire keys.
    fn track(&self, run: &Arc<Run>, keys: &[String], pending: bool) {
        let mut wire_of = self.inner.wire_of.lock();
        let mut waiting = self.inner.pending.lock();
        for (idx, k) in keys.iter().enumerate() {
            wire_of.insert((Arc::as_ptr(run) as usize, idx as u32), k.clone());
            if pending {
                waiting
                    .entry(k.clone())
                    .or_default()
                    .push((Arc::downgrade(run), idx as u32));
            }
        }
    }
}

impl Drop for RemoteBackend {
    fn drop(&mut self) {
        self.inner.send(Msg::Close {
            why: "the client closed".into(),
        });
        if let Some(rt) = self.runtime.lock().take() {
            // Give the goodbye a moment to leave, then stop without blocking on tasks.
            if !on_io_thread() && tokio::runtime::Handle::try_current().is_err() {
                rt.block_on(async {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                });
            }
            rt.shutdown_background();
        }
        self.inner.lose("the client was closed".into());
    }
}

/// Once `f` (computed in this process) is done, puts its value on a worker under `key` and
/// tells the scheduler, or tells it the key failed. The future is held until then, so its
/// release reaches the scheduler after the value.
fn provide(inner: &Arc<Inner>, f: &Future, key: String) {
    let weak = Arc::downgrade(inner);
    f.add_done_callback(move |f| {
        let Some(inner) = weak.upgrade() else {
            return;
        };
        let f = f.clone();
        let outcome = match f.error() {
            Some(e) => Err((
                e.message().to_string(),
                e.key().to_string(),
                e.is_cancelled(),
            )),
            None => f
                .result()
                .map(|v| {
                    let n = v.nbytes() as u64;
                    (v, n)
                })
                .map_err(|e| (e.to_string(), display_key(&key), false)),
        };
        let n = inner.next_scatter.fetch_add(1, Ordering::Relaxed);
        let handle = inner.handle.clone();
        handle.spawn(async move {
            let sent = match outcome {
                Ok((value, nbytes)) => inner
                    .put_on_a_worker(&key, value, n)
                    .await
                    .map(|w| (w, nbytes))
                    .map_err(|e| (e.to_string(), display_key(&key), false)),
                Err(e) => Err(e),
            };
            match sent {
                Ok((worker, nbytes)) => inner.send(Msg::Scattered {
                    key,
                    worker,
                    nbytes,
                }),
                Err((error, origin, cancelled)) => inner.send(Msg::ExternalErred {
                    key,
                    error,
                    origin,
                    cancelled,
                }),
            }
            drop(f);
        });
    });
}

impl Backend for RemoteBackend {
    fn threads(&self) -> usize {
        let known: usize = self
            .inner
            .workers
            .lock()
            .iter()
            .map(|w| w.nthreads as usize)
            .sum();
        known.max(1)
    }

    fn compute(&self, plan: Plan) -> Result<Vec<Future>> {
        self.inner.check()?;
        let cid = self.inner.id;
        let run_no = self.inner.next_run.fetch_add(1, Ordering::Relaxed);
        let n = plan.nodes.len();
        // Host-language tasks run here, on this process's host thread, as they do on the
        // embedded pool; everything else runs on the workers.
        let here: Vec<bool> = plan.nodes.iter().map(|n| n.op.is_host_affine()).collect();
        let mut keys: Vec<String> = Vec::with_capacity(n);
        for (i, node) in plan.nodes.iter().enumerate() {
            let name = match &node.op {
                Operation::Registered(def) => def.name(),
                Operation::Local { host_affine, .. } if *host_affine => "host",
                Operation::Local { .. } => {
                    return Err(Error::NotImplemented(format!(
                        "task {i} runs a Rust closure, which cannot travel to a cluster: register it as an operation with a name"
                    )))
                }
            };
            keys.push(match &node.key {
                Some(k) => format!("{k}@{cid}.{run_no}"),
                None => format!("{name}-{cid}.{run_no}-{i}"),
            });
        }
        // What crosses between the two sides: remote results host tasks read, and host
        // results remote tasks read (the client puts those on a worker when they are done).
        let mut read_here = vec![false; n];
        let mut read_there = vec![false; n];
        let mut is_output = vec![false; n];
        for &o in &plan.outputs {
            is_output[o as usize] = true;
        }
        for (i, node) in plan.nodes.iter().enumerate() {
            for input in &node.inputs {
                if let SpecInput::Local(j) = input {
                    let j = *j as usize;
                    if here[i] && !here[j] {
                        read_here[j] = true;
                    }
                    if !here[i] && here[j] {
                        read_there[j] = true;
                    }
                }
            }
        }

        // The workers' part, sent in parts as it is encoded (see `graph_parts`). Earlier
        // futures the remote tasks read that live here are put on a worker by this process:
        // like host results remote tasks read, they are declared in the first part.
        let mut provided: Vec<(String, Future)> = Vec::new();
        let mut extern_keys = Vec::new();
        for (i, node) in plan.nodes.iter().enumerate() {
            if !here[i] {
                for input in &node.inputs {
                    if let SpecInput::Extern(f) = input {
                        extern_keys.push(self.wire_key_or_provide(f, &mut provided)?);
                    }
                }
            }
        }
        let externals: Vec<String> = (0..n)
            .filter(|&j| read_there[j])
            .map(|j| keys[j].clone())
            .chain(provided.iter().map(|(k, _)| k.clone()))
            .collect();
        let remote: Vec<usize> = (0..n).filter(|&i| !here[i]).collect();
        let remote_outs: Vec<usize> = remote
            .iter()
            .copied()
            .filter(|&i| is_output[i] || read_here[i])
            .collect();
        let has_host = here.iter().any(|&h| h);
        let mut progress = plan.progress;
        let mut remote_future: HashMap<usize, Future> = HashMap::new();
        if !remote.is_empty() {
            // Remote results a later part reads ("bridges", see `graph_parts`).
            let mut part = vec![usize::MAX; n];
            for (pos, &i) in remote.iter().enumerate() {
                part[i] = graph_parts::part_of(pos);
            }
            let mut bridge = vec![false; n];
            for &i in &remote {
                for input in &plan.nodes[i].inputs {
                    if let SpecInput::Local(j) = input {
                        let j = *j as usize;
                        if !here[j] && part[j] < part[i] {
                            bridge[j] = true;
                        }
                    }
                }
            }
            let out_keys: Vec<String> = remote_outs.iter().map(|&o| keys[o].clone()).collect();
            let display: Vec<Option<Arc<str>>> = remote_outs
                .iter()
                .map(|&o| {
                    Some(
                        plan.nodes[o]
                            .key
                            .clone()
                            .unwrap_or_else(|| Arc::from(keys[o].as_str())),
                    )
                })
                .collect();
            let (run, futures) = Run::external(&self.exec, display, "remote", progress.take());
            self.track(&run, &out_keys, true);
            remote_future.extend(remote_outs.iter().copied().zip(futures));
            let mut wanted = vec![false; n];
            for &o in &remote_outs {
                wanted[o] = true;
            }
            let mut parts = GraphParts::new(&externals);
            let mut extern_keys = extern_keys.into_iter();
            let sent = (|| -> Result<()> {
                for &i in &remote {
                    let node = &plan.nodes[i];
                    let Operation::Registered(def) = &node.op else {
                        unreachable!("closures were refused above")
                    };
                    let mut deps = Vec::new();
                    let mut args = Vec::with_capacity(node.inputs.len());
                    for input in &node.inputs {
                        let k = match input {
                            SpecInput::Value(v) => {
                                args.push(WireArg::Value(v.clone()));
                                continue;
                            }
                            SpecInput::Local(j) => keys[*j as usize].clone(),
                            SpecInput::Extern(_) => {
                                extern_keys.next().expect("collected above, in this order")
                            }
                        };
                        if !deps.contains(&k) {
                            deps.push(k.clone());
                        }
                        args.push(WireArg::Key(k));
                    }
                    let task = WireTask {
                        key: keys[i].clone(),
                        op: def.name().to_string(),
                        args,
                    };
                    let frame = encode_task(&task, self.inner.compression)?;
                    let head = TaskHead {
                        key: task.key,
                        deps,
                        frame: 0,
                        external: false,
                    };
                    if let Some(m) = parts.push(head, frame, wanted[i], bridge[i]) {
                        self.send_part(m)?;
                    }
                }
                Ok(())
            })();
            match sent {
                Ok(()) => {
                    let (last, release) = parts.finish();
                    self.send_part(last)?;
                    if let Some(r) = release {
                        self.send_part(r)?;
                    }
                }
                Err(e) => {
                    if let Some(r) = parts.abandon() {
                        let _ = self.send_part(r);
                    }
                    return Err(e);
                }
            }
        }
        for (key, f) in provided {
            provide(&self.inner, &f, key);
        }

        // This process's part: the host tasks, reading remote results as external futures.
        let mut host_future: HashMap<usize, Future> = HashMap::new();
        if has_host {
            let mut local_of = vec![u32::MAX; n];
            let mut specs = Vec::new();
            let mut host_nodes = Vec::new();
            for (i, node) in plan.nodes.into_iter().enumerate() {
                if !here[i] {
                    continue;
                }
                let inputs = node
                    .inputs
                    .into_iter()
                    .map(|input| match input {
                        SpecInput::Local(j) if here[j as usize] => {
                            SpecInput::Local(local_of[j as usize])
                        }
                        SpecInput::Local(j) => {
                            SpecInput::Extern(remote_future[&(j as usize)].clone())
                        }
                        other => other,
                    })
                    .collect();
                local_of[i] = specs.len() as u32;
                host_nodes.push(i);
                specs.push(NodeSpec {
                    key: node.key,
                    op: node.op,
                    inputs,
                });
            }
            let wanted: Vec<usize> = host_nodes
                .iter()
                .copied()
                .filter(|&i| is_output[i] || read_there[i])
                .collect();
            let outs: Vec<u32> = wanted.iter().map(|&i| local_of[i]).collect();
            let (run, futures) = Run::start(&self.exec, specs, &outs, progress, plan.pace);
            for (&i, f) in wanted.iter().zip(futures) {
                if read_there[i] {
                    self.inner
                        .wire_of
                        .lock()
                        .insert((Arc::as_ptr(&run) as usize, local_of[i]), keys[i].clone());
                    provide(&self.inner, &f, keys[i].clone());
                }
                host_future.insert(i, f);
            }
        }
        Ok(plan
            .outputs
            .iter()
            .map(|&o| {
                let o = o as usize;
                if here[o] {
                    host_future[&o].clone()
                } else {
                    remote_future[&o].clone()
                }
            })
            .collect())
    }

    fn scatter(&self, value: Arc<Value>) -> Result<Future> {
        self.inner.check()?;
        let inner = self.inner.clone();
        let n = inner.next_scatter.fetch_add(1, Ordering::Relaxed);
        let key = format!("scatter-{}.{n}", inner.id);
        // Refused here, before anything is sent, when the value cannot travel.
        encode(&value, crate::protocol::Compression::None)?;
        let nbytes = value.nbytes() as u64;
        let k = key.clone();
        let worker = inner.block_on(async { inner.put_on_a_worker(&k, value, n).await })?;
        inner.send(Msg::Scattered {
            key: key.clone(),
            worker,
            nbytes,
        });
        let (run, mut futures) = Run::external(
            &self.exec,
            vec![Some(Arc::from(key.as_str()))],
            "scatter",
            None,
        );
        self.track(&run, std::slice::from_ref(&key), false);
        run.settle(
            0,
            Ok(Stored::Remote(Arc::new(RemoteRef::new(
                key,
                Vec::new(),
                &inner,
            )))),
        );
        Ok(futures.remove(0))
    }

    fn run_host_tasks(&self, max: usize) -> usize {
        self.local.run_host_tasks(max)
    }

    fn pending_host_tasks(&self) -> usize {
        self.local.pending_host_tasks()
    }

    fn set_host_notify(&self, notify: Option<HostNotify>) {
        self.local.set_host_notify(notify)
    }

    fn memory_stats(&self) -> MemoryStats {
        self.local.memory_stats()
    }

    fn spill_problem(&self) -> Option<String> {
        self.local.spill_problem()
    }

    fn spill_dir(&self) -> Option<std::path::PathBuf> {
        self.local.spill_dir()
    }

    fn publish(&self, name: &str, futures: &[Future], meta: Vec<u8>) -> Result<()> {
        self.inner.check()?;
        let keys = futures
            .iter()
            .map(|f| {
                f.wait();
                self.wire_key_of(f)
            })
            .collect::<Result<Vec<_>>>()?;
        let m = Msg::Publish {
            name: name.to_string(),
            keys,
            meta,
        };
        self.dataset_request(m).map(drop)
    }

    fn get_dataset(&self, name: &str) -> Result<(Vec<Future>, Vec<u8>)> {
        self.inner.check()?;
        let (keys, meta, _) = self.dataset_request(Msg::GetDataset {
            name: name.to_string(),
        })?;
        let display = keys
            .iter()
            .map(|k| Some(Arc::from(display_key(k).as_str())))
            .collect();
        let (run, futures) = Run::external(&self.exec, display, "dataset", None);
        self.track(&run, &keys, true);
        // Wanting the keys makes the scheduler hold them for this client too, and report
        // them done (they are in memory) to conclude the futures.
        self.inner.send(Msg::UpdateGraph {
            tasks: Vec::new(),
            wanted: keys,
            more: false,
        });
        Ok((futures, meta))
    }

    fn list_datasets(&self) -> Result<Vec<String>> {
        self.inner.check()?;
        Ok(self.dataset_request(Msg::ListDatasets)?.2)
    }

    fn unpublish(&self, name: &str) -> Result<()> {
        self.inner.check()?;
        self.dataset_request(Msg::Unpublish {
            name: name.to_string(),
        })
        .map(drop)
    }

    fn adapt_advice(&self, rule: &super::AdaptRule) -> Result<super::ClusterAdvice> {
        self.inner.check()?;
        let inner = self.inner.clone();
        let ask = Msg::Adapt {
            min: rule.min.min(u32::MAX as usize) as u32,
            max: rule.max.min(u32::MAX as usize) as u32,
            threads_per_worker: rule.threads_per_worker.min(u32::MAX as usize) as u32,
            idle_grace_ms: rule.idle_grace.as_millis().min(u64::MAX as u128) as u64,
        };
        match inner
            .block_on(async { inner.ask_scheduler(ask).await })?
            .msg
        {
            Msg::AdaptReply {
                target,
                workers,
                retiring,
            } => Ok(super::ClusterAdvice {
                target: target as usize,
                workers,
                retiring,
            }),
            other => Err(Error::Io(format!("unexpected answer {other:?}"))),
        }
    }

    fn cluster_workers(&self) -> Result<Vec<WorkerInfo>> {
        self.inner.check()?;
        let inner = self.inner.clone();
        inner.block_on(async { inner.refresh_workers().await })
    }

    fn who_has(&self, futures: &[Future]) -> Result<Vec<Vec<String>>> {
        self.inner.check()?;
        // A future computed in this process (a host task's) has no key on the cluster.
        let keys: Vec<Option<String>> = futures
            .iter()
            .map(|f| {
                f.wait();
                match self.wire_key_of(f) {
                    Ok(k) => Ok(Some(k)),
                    Err(_) if self.is_ours(&f.cell().run) && f.error().is_none() => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .collect::<Result<_>>()?;
        let asked: Vec<String> = keys.iter().flatten().cloned().collect();
        let n = asked.len();
        let inner = self.inner.clone();
        let reply =
            inner.block_on(async { inner.ask_scheduler(Msg::WhoHas { keys: asked }).await })?;
        match reply.msg {
            Msg::WhoHasReply { sources } if sources.len() == n => {
                let mut sources = sources.into_iter();
                Ok(keys
                    .iter()
                    .map(|k| match k {
                        Some(_) => sources.next().map(|s| s.addrs).unwrap_or_default(),
                        None => Vec::new(),
                    })
                    .collect())
            }
            other => Err(Error::Io(format!(
                "the scheduler answered WhoHas with {other:?}"
            ))),
        }
    }
}
