//! The scheduler process: accepts clients and workers, feeds their messages to the state
//! machine (one task owns it: no locks), and sends what it decides. A worker that closes its
//! connection or misses heartbeats is removed (its work is redone elsewhere).

use super::state::{AdaptRule, Dest, State};
use crate::distributed::conn::{accept, Addr, Conn};
use crate::distributed::msg::{Limits, Message, Msg, Role, TaskHead, WorkerInfo, PROTOCOL_VERSION};
use crate::distributed::tls::Security;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// How a scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// `tcp://host:port` or `tls://host:port` (port 0: any free port).
    pub listen: String,
    pub security: Security,
    /// Workers lost while running a task before it fails as a killed worker.
    pub allowed_failures: u32,
    /// A worker silent this long is considered lost.
    pub worker_timeout: Duration,
    pub limits: Limits,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            listen: "tcp://127.0.0.1:8786".into(),
            security: Security::plain(),
            allowed_failures: 3,
            worker_timeout: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

enum Event {
    Joined {
        id: u64,
        role: Role,
        name: String,
        nthreads: u32,
        data_addr: Option<String>,
        tx: mpsc::UnboundedSender<Message>,
    },
    Got(u64, Message),
    Left(u64, String),
    Tick,
    Balance,
}

struct Peer {
    role: Role,
    name: String,
    tx: mpsc::UnboundedSender<Message>,
    last_seen: Instant,
}

/// Binds the listening socket; `serve` then runs the scheduler. Returns the bound address
/// (with the real port when 0 was asked).
pub async fn bind(opts: &SchedulerOptions) -> Result<(TcpListener, Addr)> {
    let addr = Addr::parse(&opts.listen)?;
    if !addr.tls && opts.security.require_encryption {
        return Err(Error::invalid(format!(
            "{addr}: encryption is required, listen on a tls:// address"
        )));
    }
    let listener = TcpListener::bind(addr.socket())
        .await
        .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?
        .port();
    Ok((listener, Addr { port, ..addr }))
}

/// Runs the scheduler on `listener` until `stop` fires.
pub async fn serve(
    listener: TcpListener,
    addr: Addr,
    opts: SchedulerOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let (events, mut inbox) = mpsc::unbounded_channel::<Event>();
    let mut next_id = 1u64;
    let mut state = State::new(opts.allowed_failures);
    let mut peers: HashMap<u64, Peer> = HashMap::new();
    let mut datasets = Datasets::default();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    // Work stealing looks for idle workers this often (Dask's default interval).
    let mut steal_tick = tokio::time::interval(Duration::from_millis(100));
    eprintln!("libdask scheduler: listening on {addr}");
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => { eprintln!("libdask scheduler: accept failed: {e}"); continue; }
                };
                let id = next_id;
                next_id += 1;
                let events = events.clone();
                let security = opts.security.clone();
                let limits = opts.limits;
                let tls = addr.tls;
                tokio::spawn(async move {
                    let accepted = accept(stream, tls, &security, Role::Scheduler,
                                          &[Role::Client, Role::Worker], limits).await;
                    match accepted {
                        Ok((conn, hello)) => run_peer(id, conn, hello, events).await,
                        Err(e) => eprintln!("libdask scheduler: refused a connection: {e}"),
                    }
                });
            }
            _ = tick.tick() => { let _ = events.send(Event::Tick); }
            _ = steal_tick.tick() => { let _ = events.send(Event::Balance); }
            ev = inbox.recv() => {
                let Some(ev) = ev else { break };
                handle(ev, &mut state, &mut peers, &mut datasets, &opts);
                for (dest, m) in state.out.drain(..) {
                    let id = match dest { Dest::Worker(w) => w, Dest::Client(c) => c };
                    if let Some(p) = peers.get(&id) {
                        let _ = p.tx.send(m);
                    }
                }
            }
        }
    }
    for p in peers.values() {
        let _ = p.tx.send(Message::new(Msg::Close {
            why: "the scheduler is shutting down".into(),
        }));
    }
    // Let the writers flush the goodbyes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(())
}

fn dataset_reply(
    error: Option<String>,
    keys: Vec<String>,
    meta: Vec<u8>,
    names: Vec<String>,
) -> Message {
    Message::new(Msg::DatasetReply {
        error,
        keys,
        meta,
        names,
    })
}

/// Named datasets (Dask's `publish_dataset`): their keys are wanted by the scheduler itself
/// (client id 0, which no connection has) until unpublished, whoever published them.
#[derive(Default)]
struct Datasets {
    by_name: std::collections::BTreeMap<String, (Vec<String>, Vec<u8>)>,
}

const DATASETS: u64 = 0;

impl Datasets {
    fn publish(
        &mut self,
        state: &mut State,
        name: String,
        keys: Vec<String>,
        meta: Vec<u8>,
    ) -> Option<String> {
        if self.by_name.contains_key(&name) {
            return Some(format!(
                "a dataset named '{name}' exists already (unpublish it first)"
            ));
        }
        if let Some(k) = keys.iter().find(|k| state.state_of(k) != Some("memory")) {
            return Some(format!(
                "'{k}' is not computed on the cluster (persist before publishing)"
            ));
        }
        state.update_graph(DATASETS, Vec::new(), keys.clone());
        self.by_name.insert(name, (keys, meta));
        None
    }

    fn get(&self, name: &str) -> Option<&(Vec<String>, Vec<u8>)> {
        self.by_name.get(name)
    }

    fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }

    fn unpublish(&mut self, state: &mut State, name: &str) -> Option<String> {
        match self.by_name.remove(name) {
            Some((keys, _)) => {
                state.release(DATASETS, &keys);
                None
            }
            None => Some(format!("no dataset named '{name}'")),
        }
    }
}

fn handle(
    ev: Event,
    state: &mut State,
    peers: &mut HashMap<u64, Peer>,
    datasets: &mut Datasets,
    opts: &SchedulerOptions,
) {
    match ev {
        Event::Joined {
            id,
            role,
            name,
            nthreads,
            data_addr,
            tx,
        } => {
            let workers = state.workers();
            let _ = tx.send(Message::new(Msg::Welcome {
                version: PROTOCOL_VERSION,
                id,
                workers,
            }));
            eprintln!(
                "libdask scheduler: {} {name} connected (id {id}{})",
                role.name(),
                if role == Role::Worker {
                    format!(
                        ", {nthreads} threads, data at {}",
                        data_addr.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                }
            );
            peers.insert(
                id,
                Peer {
                    role,
                    name,
                    tx,
                    last_seen: Instant::now(),
                },
            );
            if role == Role::Worker {
                state.add_worker(WorkerInfo {
                    id,
                    data_addr: data_addr.unwrap_or_default(),
                    nthreads: nthreads.max(1),
                });
            }
        }
        Event::Left(id, why) => {
            if let Some(p) = peers.remove(&id) {
                eprintln!(
                    "libdask scheduler: {} {} disconnected (id {id}): {why}",
                    p.role.name(),
                    p.name
                );
                match p.role {
                    Role::Worker => state.remove_worker(id, &why),
                    _ => state.remove_client(id),
                }
            }
        }
        Event::Balance => state.balance(),
        Event::Tick => {
            let now = Instant::now();
            let silent: Vec<u64> = peers
                .iter()
                .filter(|(_, p)| {
                    p.role == Role::Worker && now.duration_since(p.last_seen) > opts.worker_timeout
                })
                .map(|(id, _)| *id)
                .collect();
            for id in silent {
                let why = format!("no heartbeat for {:?}", opts.worker_timeout);
                if let Some(p) = peers.remove(&id) {
                    eprintln!("libdask scheduler: worker {} lost (id {id}): {why}", p.name);
                    let _ = p.tx.send(Message::new(Msg::Close { why: why.clone() }));
                }
                state.remove_worker(id, &why);
            }
        }
        Event::Got(id, m) => {
            let Some(p) = peers.get_mut(&id) else {
                return;
            };
            p.last_seen = Instant::now();
            let role = p.role;
            match (role, m.msg) {
                (
                    Role::Client,
                    Msg::UpdateGraph {
                        tasks,
                        wanted,
                        more: _,
                    },
                ) => {
                    // Each part of a graph is taken as it arrives, so workers start while
                    // the client still sends the rest (parts come dependencies first, and
                    // the client keeps what later parts read wanted until they are in).
                    let mut frames = m.frames;
                    let (external, tasks): (Vec<TaskHead>, Vec<TaskHead>) =
                        tasks.into_iter().partition(|t| t.external);
                    state.expect_from_client(id, external.into_iter().map(|t| t.key).collect());
                    let graph = tasks
                        .into_iter()
                        .map(|t| {
                            let spec = frames
                                .get_mut(t.frame as usize)
                                .map(std::mem::take)
                                .unwrap_or_default();
                            (t.key, t.deps, spec)
                        })
                        .collect();
                    state.update_graph(id, graph, wanted);
                }
                (Role::Client, Msg::Release { keys }) => state.release(id, &keys),
                (Role::Client, Msg::Cancel { keys }) => state.cancel(&keys),
                (
                    Role::Client,
                    Msg::Scattered {
                        key,
                        worker,
                        nbytes,
                    },
                ) => state.scattered(id, key, worker, nbytes),
                (
                    Role::Client,
                    Msg::ExternalErred {
                        key,
                        error,
                        origin,
                        cancelled,
                    },
                ) => state.external_erred(&key, &error, &origin, cancelled),
                (_, Msg::WhoHas { keys }) => {
                    let sources = state.who_has(&keys);
                    let _ = p.tx.send(Message::new(Msg::WhoHasReply { sources }));
                }
                (Role::Client, Msg::Publish { name, keys, meta }) => {
                    let error = datasets.publish(state, name, keys, meta);
                    let _ = p.tx.send(dataset_reply(error, vec![], vec![], vec![]));
                }
                (Role::Client, Msg::GetDataset { name }) => {
                    let reply = match datasets.get(&name) {
                        Some((keys, meta)) => {
                            dataset_reply(None, keys.clone(), meta.clone(), vec![])
                        }
                        None => dataset_reply(
                            Some(format!("no dataset named '{name}'")),
                            vec![],
                            vec![],
                            vec![],
                        ),
                    };
                    let _ = p.tx.send(reply);
                }
                (Role::Client, Msg::ListDatasets) => {
                    let _ =
                        p.tx.send(dataset_reply(None, vec![], vec![], datasets.names()));
                }
                (Role::Client, Msg::Unpublish { name }) => {
                    let error = datasets.unpublish(state, &name);
                    let _ = p.tx.send(dataset_reply(error, vec![], vec![], vec![]));
                }
                (
                    Role::Client,
                    Msg::Adapt {
                        min,
                        max,
                        threads_per_worker,
                        idle_grace_ms,
                    },
                ) => {
                    let rule = AdaptRule {
                        min: min as usize,
                        max: max as usize,
                        threads_per_worker: threads_per_worker as usize,
                        idle_grace: Duration::from_millis(idle_grace_ms),
                    };
                    let advice = state.adapt(&rule, Instant::now());
                    let name = |w: &u64| peers.get(w).map_or_else(String::new, |p| p.name.clone());
                    let retiring: Vec<String> = advice.retiring.iter().map(name).collect();
                    for n in &retiring {
                        eprintln!("libdask scheduler: worker {n} is idle: asking it to retire");
                    }
                    let workers = state
                        .workers()
                        .iter()
                        .map(|w| w.id)
                        .filter(|w| !state.is_retiring(*w))
                        .map(|w| name(&w))
                        .collect();
                    let reply = Msg::AdaptReply {
                        target: advice.target as u32,
                        workers,
                        retiring,
                    };
                    if let Some(p) = peers.get(&id) {
                        let _ = p.tx.send(Message::new(reply));
                    }
                }
                (_, Msg::Workers) => {
                    let workers = state.workers();
                    let _ = p.tx.send(Message::new(Msg::WorkersReply { workers }));
                }
                (
                    Role::Worker,
                    Msg::Finished {
                        key,
                        nbytes,
                        duration_us,
                    },
                ) => {
                    let small = m.frames.into_iter().next();
                    state.finished(id, &key, nbytes, duration_us, small)
                }
                (Role::Worker, Msg::Erred { key, error }) => state.erred(id, &key, &error),
                (
                    Role::Worker,
                    Msg::MissingDep {
                        key,
                        dep,
                        from,
                        why,
                    },
                ) => state.missing_dep(id, &key, &dep, &from, &why),
                (Role::Worker, Msg::Heartbeat { memory, paused }) => {
                    state.heartbeat(id, memory, paused)
                }
                (Role::Worker, Msg::Retiring) => {
                    let moves = state.retire_worker(id);
                    eprintln!(
                        "libdask scheduler: worker {} is leaving; {} results move to peers",
                        p.name,
                        moves.len()
                    );
                    let _ = p.tx.send(Message::new(Msg::RetireMoves { moves }));
                }
                (Role::Worker, Msg::Moved { key, to, nbytes }) => state.moved(&key, to, nbytes),
                (Role::Worker, Msg::StealReply { key, ok }) => state.steal_reply(id, &key, ok),
                (_, Msg::Close { why }) => {
                    let name = p.name.clone();
                    peers.remove(&id);
                    eprintln!(
                        "libdask scheduler: {} {name} left (id {id}): {why}",
                        role.name()
                    );
                    match role {
                        Role::Worker => state.remove_worker(id, &why),
                        _ => state.remove_client(id),
                    }
                }
                (_, other) => {
                    eprintln!(
                        "libdask scheduler: unexpected message from {} {}: {other:?}",
                        role.name(),
                        p.name
                    );
                }
            }
        }
    }
}

/// One connection: a writer task draining the peer's queue, and this task reading.
async fn run_peer(
    id: u64,
    conn: Conn,
    hello: crate::distributed::conn::Hello,
    events: mpsc::UnboundedSender<Event>,
) {
    let Conn {
        mut r,
        mut w,
        limits,
        ..
    } = conn;
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let _ = crate::distributed::msg::pump(&mut rx, &mut w).await;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut w).await;
    });
    let _ = events.send(Event::Joined {
        id,
        role: hello.role,
        name: hello.name,
        nthreads: hello.nthreads,
        data_addr: hello.data_addr,
        tx,
    });
    let why = loop {
        match crate::distributed::msg::read_message(&mut r, &limits).await {
            Ok(Some(m)) => {
                if events.send(Event::Got(id, m)).is_err() {
                    break "the scheduler stopped".to_string();
                }
            }
            Ok(None) => break "connection closed".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    let _ = events.send(Event::Left(id, why));
    writer.abort();
}
