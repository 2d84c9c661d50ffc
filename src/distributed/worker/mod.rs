//! The worker process: runs the tasks the scheduler sends on the existing local runtime (its
//! thread pool, memory manager and spilling), fetches their inputs from the workers holding
//! them, and serves its results to peers and clients.
//!
//! Results stay as futures of the local runtime, so a memory limit spills them to disk like
//! any local result; a task's inputs fetched from a peer live only as long as the task.

mod tasks;

use super::conn::{accept, connect, local_ip_towards, Addr, Conn, Hello};
use super::msg::{Limits, Message, Msg, Role};
use super::tls::Security;
use crate::error::{Error, Result};
use crate::memory::MemoryConfig;
use crate::protocol::Compression;
use crate::runtime::{Client, Config, Future};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Results up to this many bytes travel with the worker's report to the scheduler.
const SMALL_RESULT: usize = 1024;

/// Most `Compute`s submitted to the local runtime as one graph.
const COMPUTE_BATCH: usize = 256;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The scheduler's address.
    pub scheduler: String,
    pub name: String,
    pub nthreads: usize,
    pub memory: MemoryConfig,
    /// The host to serve data on (the interface the scheduler is reached through when
    /// empty).
    pub listen_host: String,
    pub security: Security,
    /// Exit after this long without a scheduler.
    pub death_timeout: Duration,
    pub heartbeat: Duration,
    pub limits: Limits,
    /// Compression of the data this worker sends (`Auto`: none when the scheduler is on
    /// loopback, else lz4 where it pays).
    pub compression: Compression,
    /// The allow-listed directory of plugins (shared libraries of C operations) loaded at
    /// start: the only C operations this worker runs.
    pub plugin_dir: Option<std::path::PathBuf>,
    /// Set while connected to the scheduler (the health endpoint's `/ready`).
    pub ready: Option<crate::distributed::health::Readiness>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            scheduler: "tcp://127.0.0.1:8786".into(),
            name: format!("worker-{}", std::process::id()),
            nthreads: 0,
            memory: MemoryConfig::default(),
            listen_host: String::new(),
            security: Security::plain(),
            death_timeout: Duration::from_secs(60),
            heartbeat: Duration::from_millis(500),
            limits: Limits::default(),
            compression: Compression::Auto,
            plugin_dir: None,
            ready: None,
        }
    }
}

/// What the worker's tasks share.
struct Shared {
    client: Client,
    data: Mutex<HashMap<String, Future>>,
    peers: Peers,
    compression: Compression,
    /// "name (data address)", for messages that must say which worker speaks.
    who: String,
    /// Tasks received and not finished: whether each is waiting, started, or stolen.
    pending: Mutex<HashMap<String, Arc<AtomicU8>>>,
}

/// States of a pending task (`Shared::pending`).
const WAITING: u8 = 0;
const STARTED: u8 = 1;
const STOLEN: u8 = 2;

/// Connections to other workers' data ports, reused: a request takes an idle one (or
/// connects) and puts it back once answered, so requests to one worker may run side by side
/// on their own connections.
pub(crate) struct Peers {
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    security: Security,
    limits: Limits,
    me: Role,
    name: String,
}

/// Most idle connections kept to one worker.
const IDLE_PER_PEER: usize = 4;

impl Peers {
    pub(crate) fn new(security: Security, limits: Limits, me: Role, name: String) -> Peers {
        Peers {
            idle: Mutex::new(HashMap::new()),
            security,
            limits,
            me,
            name,
        }
    }

    /// Sends `m` to the worker serving data at `addr` and returns its answer.
    pub(crate) async fn ask(&self, addr: &str, m: &Message) -> Result<Message> {
        // The connection is out of the idle list while in use: a request given up half way
        // (its future dropped) takes its connection with it, never leaving an answer unread
        // on a connection the next request would use.
        let idle = self.idle.lock().get_mut(addr).and_then(Vec::pop);
        let mut conn = match idle {
            Some(c) => c,
            None => {
                let a = Addr::parse(addr)?;
                let hello = Hello {
                    role: self.me,
                    name: self.name.clone(),
                    nthreads: 0,
                    memory_limit: 0,
                    data_addr: None,
                };
                connect(&a, &self.security, &hello, Role::Worker, self.limits)
                    .await?
                    .0
            }
        };
        let answer = conn.ask(m).await;
        if answer.is_ok() {
            // An error drops the connection: the next request connects again.
            let mut idle = self.idle.lock();
            let list = idle.entry(addr.to_string()).or_default();
            if list.len() < IDLE_PER_PEER {
                list.push(conn);
            }
        }
        answer
    }

    /// The values of `keys` from the worker at `addr`.
    pub(crate) async fn get_data(
        &self,
        addr: &str,
        keys: Vec<String>,
    ) -> Result<Vec<Arc<crate::value::Value>>> {
        let answer = self
            .ask(addr, &Message::new(Msg::GetData { keys: keys.clone() }))
            .await?;
        match answer.msg {
            Msg::Data { keys: got, missing } => {
                if !missing.is_empty() {
                    return Err(Error::Io(format!(
                        "the worker at {addr} does not hold {}",
                        missing.join(", ")
                    )));
                }
                if got != keys || answer.values.len() != keys.len() {
                    return Err(Error::Corrupt(format!(
                        "the worker at {addr} answered with other keys"
                    )));
                }
                Ok(answer.values)
            }
            other => Err(Error::Io(format!(
                "the worker at {addr} answered GetData with {other:?}"
            ))),
        }
    }
}

/// How long a leaving worker waits for the scheduler's moves, and spends handing its data
/// over, before it leaves anyway (what it did not move is recomputed from lineage).
const RETIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// How a connection to the scheduler ended.
enum Ended {
    /// The scheduler said to close.
    Closed,
    /// We left on `stop`, after handing our data over.
    Retired,
    /// The connection was lost.
    Lost(String),
}

/// Runs a worker until the scheduler tells it to close, or is lost for `death_timeout`.
pub async fn run_worker(opts: WorkerOptions) -> Result<()> {
    run_worker_until(opts, std::future::pending::<&'static str>()).await
}

/// Like [`run_worker`], and when `stop` fires (SIGTERM), leaves gracefully: no new work,
/// its results that are still needed copied to other workers first, then goodbye.
pub async fn run_worker_until(
    opts: WorkerOptions,
    stop: impl std::future::Future<Output = &'static str>,
) -> Result<()> {
    crate::catalog::ensure();
    if let Some(dir) = &opts.plugin_dir {
        for (file, ops) in crate::ffi::load_plugin_dir(dir)
            .map_err(|e| Error::invalid(format!("worker {}: {e}", opts.name)))?
        {
            eprintln!(
                "libdask worker {}: loaded plugin {} (operations: {})",
                opts.name,
                file.display(),
                if ops.is_empty() {
                    "none".into()
                } else {
                    ops.join(", ")
                }
            );
        }
    }
    let sched = Addr::parse(&opts.scheduler)?;
    let client = Client::new(Config {
        threads: opts.nthreads,
        memory: opts.memory.clone(),
        ..Config::default()
    })?;
    let nthreads = client.threads() as u32;
    // Data is served on the interface the scheduler reaches us through.
    let host = if opts.listen_host.is_empty() {
        local_ip_towards(&sched).await?.to_string()
    } else {
        opts.listen_host.clone()
    };
    let listener = TcpListener::bind(format!("{host}:0"))
        .await
        .map_err(|e| Error::Io(format!("cannot listen on {host}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?
        .port();
    let data_addr = Addr {
        tls: sched.tls,
        host: host.clone(),
        port,
    }
    .to_string();
    let shared = Arc::new(Shared {
        client,
        data: Mutex::new(HashMap::new()),
        peers: Peers::new(
            opts.security.clone(),
            opts.limits,
            Role::Worker,
            opts.name.clone(),
        ),
        compression: sched.compression(opts.compression),
        who: format!("{} ({data_addr})", opts.name),
        pending: Mutex::new(HashMap::new()),
    });
    let hello = Hello {
        role: Role::Worker,
        name: opts.name.clone(),
        nthreads,
        memory_limit: opts.memory.limit.unwrap_or(0) as u64,
        data_addr: Some(data_addr.clone()),
    };
    // Data port.
    {
        let shared = shared.clone();
        let security = opts.security.clone();
        let limits = opts.limits;
        let tls = sched.tls;
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                let security = security.clone();
                tokio::spawn(async move {
                    match accept(
                        stream,
                        tls,
                        &security,
                        Role::Worker,
                        &[Role::Client, Role::Worker],
                        limits,
                    )
                    .await
                    {
                        Ok((conn, _)) => serve_data(conn, shared).await,
                        Err(e) => eprintln!("libdask worker: refused a data connection: {e}"),
                    }
                });
            }
        });
    }
    let mut stop = std::pin::pin!(stop);
    let mut connected_before = false;
    loop {
        // Without a scheduler for `death_timeout`, the worker exits.
        let deadline = tokio::time::Instant::now() + opts.death_timeout;
        let conn = loop {
            match connect(&sched, &opts.security, &hello, Role::Scheduler, opts.limits).await {
                Ok((c, _)) => break c,
                Err(e) if tokio::time::Instant::now() < deadline && is_retryable(&e) => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                        sig = &mut stop => {
                            eprintln!("libdask worker {}: {sig} while without a scheduler: leaving", opts.name);
                            return Ok(());
                        }
                    }
                }
                Err(e) => {
                    return Err(Error::Io(format!(
                        "worker {}: no scheduler at {sched} (for {:?}): {e}",
                        opts.name, opts.death_timeout
                    )))
                }
            }
        };
        eprintln!(
            "libdask worker {}: {} the scheduler at {sched}; {nthreads} threads; data at {data_addr}",
            opts.name,
            if connected_before { "reconnected to" } else { "connected to" }
        );
        connected_before = true;
        let set_ready = |on: bool| {
            if let Some(r) = &opts.ready {
                r.store(on, std::sync::atomic::Ordering::SeqCst);
            }
        };
        set_ready(true);
        let ended = serve_scheduler(conn, &shared, &opts, &mut stop).await;
        set_ready(false);
        match ended {
            Ended::Closed => return Ok(()),
            Ended::Retired => return Ok(()),
            Ended::Lost(why) => {
                // A scheduler that comes back knows nothing of what we hold: start afresh.
                shared.data.lock().clear();
                eprintln!(
                    "libdask worker {}: lost the scheduler ({why}); trying to reconnect for {:?}",
                    opts.name, opts.death_timeout
                );
            }
        }
    }
}

/// Serves one connection to the scheduler: tasks in, reports and heartbeats out.
async fn serve_scheduler(
    conn: Conn,
    shared: &Arc<Shared>,
    opts: &WorkerOptions,
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = &'static str>>,
) -> Ended {
    let Conn {
        mut r,
        mut w,
        limits,
        ..
    } = conn;
    let (tx, mut outbox) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let _ = super::msg::pump(&mut outbox, &mut w).await;
    });
    // Messages are read by their own task, so waiting for one can be interrupted safely.
    let (in_tx, mut inbox) = mpsc::unbounded_channel::<Result<Option<Message>>>();
    let reader = tokio::spawn(async move {
        loop {
            let m = super::msg::read_message(&mut r, &limits).await;
            let last = !matches!(m, Ok(Some(_)));
            if in_tx.send(m).is_err() || last {
                return;
            }
        }
    });
    let heartbeat = {
        let tx = tx.clone();
        let shared = shared.clone();
        let every = opts.heartbeat;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let stats = shared.client.memory_stats();
                let m = Message::new(Msg::Heartbeat {
                    memory: stats.process_bytes as u64,
                    // Past the pause threshold the scheduler sends no new work here.
                    paused: stats.paused,
                });
                if tx.send(m).is_err() {
                    break;
                }
            }
        })
    };
    let name = &opts.name;
    let mut retiring: Option<tokio::time::Instant> = None;
    // A message read ahead while gathering `Compute`s, handled next.
    let mut held: Option<Result<Option<Message>>> = None;
    let ended = loop {
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let next = match held.take() {
            Some(m) => Some(m),
            None => tokio::select! {
                m = inbox.recv() => m,
                sig = stop.as_mut(), if retiring.is_none() => {
                    eprintln!("libdask worker {name}: {sig}: handing data to peers, then leaving");
                    let _ = tx.send(Message::new(Msg::Retiring));
                    retiring = Some(tokio::time::Instant::now() + RETIRE_TIMEOUT);
                    continue;
                }
                _ = tokio::time::sleep_until(retiring.unwrap_or(far)), if retiring.is_some() => {
                    eprintln!("libdask worker {name}: the scheduler did not answer in {RETIRE_TIMEOUT:?}: leaving");
                    break Ended::Retired;
                }
            },
        };
        match next {
            Some(Ok(Some(m))) => match m.msg {
                Msg::Compute { key, deps } => {
                    // The `Compute`s already read go to the local runtime together.
                    let mut batch = vec![tasks::Received {
                        key,
                        deps,
                        frame: m.frames.into_iter().next().unwrap_or_default(),
                    }];
                    while batch.len() < COMPUTE_BATCH {
                        match inbox.try_recv() {
                            Ok(Ok(Some(Message {
                                msg: Msg::Compute { key, deps },
                                frames,
                                ..
                            }))) => batch.push(tasks::Received {
                                key,
                                deps,
                                frame: frames.into_iter().next().unwrap_or_default(),
                            }),
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    tasks::receive(shared, batch, &tx);
                }
                Msg::Steal { key } => {
                    // Given up only if it has not started; then it never will here.
                    let flag = shared.pending.lock().get(&key).cloned();
                    let ok = flag.is_some_and(|f| {
                        f.compare_exchange(WAITING, STOLEN, SeqCst, SeqCst).is_ok()
                    });
                    let _ = tx.send(Message::new(Msg::StealReply { key, ok }));
                }
                Msg::Free { keys } => {
                    let mut data = shared.data.lock();
                    for k in keys {
                        data.remove(&k);
                    }
                }
                Msg::Retire if retiring.is_none() => {
                    eprintln!("libdask worker {name}: the scheduler lets this idle worker go: handing data to peers, then leaving");
                    let _ = tx.send(Message::new(Msg::Retiring));
                    retiring = Some(tokio::time::Instant::now() + RETIRE_TIMEOUT);
                }
                Msg::Retire => {} // leaving already
                Msg::RetireMoves { moves } => {
                    let n = moves.len();
                    let moved = tokio::time::timeout(RETIRE_TIMEOUT, hand_over(shared, moves, &tx))
                        .await
                        .unwrap_or(0);
                    eprintln!(
                        "libdask worker {name}: handed {moved} of {n} results to peers; leaving"
                    );
                    let _ = tx.send(Message::new(Msg::Close {
                        why: format!("retired: {moved} of {n} results handed to peers"),
                    }));
                    break Ended::Retired;
                }
                Msg::Close { why } => {
                    eprintln!("libdask worker {name}: the scheduler closed: {why}");
                    break Ended::Closed;
                }
                other => eprintln!("libdask worker {name}: unexpected {other:?}"),
            },
            // Lost while leaving: nothing more to hand over to.
            Some(Ok(None)) | None if retiring.is_some() => break Ended::Retired,
            Some(Err(_)) if retiring.is_some() => break Ended::Retired,
            Some(Ok(None)) | None => break Ended::Lost("it closed the connection".into()),
            Some(Err(e)) => break Ended::Lost(e.to_string()),
        }
    };
    heartbeat.abort();
    reader.abort();
    drop(tx);
    if matches!(ended, Ended::Retired) {
        // Let the goodbye leave.
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    } else {
        writer.abort();
    }
    ended
}

/// Copies results to the workers the scheduler chose, telling it of each; returns how many
/// arrived.
async fn hand_over(
    shared: &Arc<Shared>,
    moves: Vec<(String, String, u64)>,
    tx: &mpsc::UnboundedSender<Message>,
) -> usize {
    let mut moved = 0;
    for (key, addr, to) in moves {
        let Some(f) = shared.data.lock().get(&key).cloned() else {
            continue;
        };
        let Ok(v) = f.result() else { continue };
        let nbytes = v.nbytes() as u64;
        let m = Message::with_values(
            Msg::PutData {
                keys: vec![key.clone()],
            },
            vec![v],
            shared.compression,
        );
        if let Ok(Message { msg: Msg::Ack, .. }) = shared.peers.ask(&addr, &m).await {
            moved += 1;
            let _ = tx.send(Message::new(Msg::Moved { key, to, nbytes }));
        }
    }
    moved
}

/// A failure to reach the scheduler (not yet listening, not routable, a connection reset
/// while it starts or stops), worth retrying until `death_timeout`; a refusal after the
/// handshake (TLS, version, role) is not.
fn is_retryable(e: &Error) -> bool {
    let t = e.to_string();
    let refused = [
        "refused the connection",
        "version",
        "certificate",
        "TLS",
        "plaintext",
    ];
    matches!(e, Error::Io(_)) && !refused.iter().any(|r| t.contains(r))
}

/// Serves one data connection (a peer or a client): `GetData`, `PutData`.
async fn serve_data(mut conn: Conn, shared: Arc<Shared>) {
    let _ = conn
        .send(&Message::new(Msg::Welcome {
            version: super::msg::PROTOCOL_VERSION,
            id: 0,
            workers: Vec::new(),
        }))
        .await;
    loop {
        let m = match conn.recv().await {
            Ok(m) => m,
            Err(_) => return,
        };
        let answer = match m.msg {
            Msg::GetData { keys } => {
                let futures: Vec<Option<Future>> = {
                    let data = shared.data.lock();
                    keys.iter().map(|k| data.get(k).cloned()).collect()
                };
                let mut found = Vec::new();
                let mut missing = Vec::new();
                let mut values = Vec::new();
                for (k, f) in keys.into_iter().zip(futures) {
                    match f.map(|f| f.result()) {
                        Some(Ok(v)) => {
                            found.push(k);
                            values.push(v);
                        }
                        _ => missing.push(k),
                    }
                }
                Message::with_values(
                    Msg::Data {
                        keys: found,
                        missing,
                    },
                    values,
                    shared.compression,
                )
            }
            Msg::PutData { keys } => {
                let mut ok = keys.len() == m.values.len();
                for (k, v) in keys.iter().zip(m.values) {
                    match shared.client.scatter(v) {
                        Ok(fut) => {
                            shared.data.lock().insert(k.clone(), fut);
                        }
                        Err(_) => ok = false,
                    }
                }
                if ok {
                    Message::new(Msg::Ack)
                } else {
                    Message::new(Msg::Refused {
                        why: "the data was not taken".into(),
                    })
                }
            }
            Msg::Close { .. } => return,
            other => Message::new(Msg::Refused {
                why: format!("a data port does not answer {other:?}"),
            }),
        };
        if conn.send(&answer).await.is_err() {
            return;
        }
    }
}
