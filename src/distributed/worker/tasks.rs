//! The worker's tasks, from the scheduler's `Compute` to the `Finished` report: inputs from
//! here or from peers, then the local runtime.
//!
//! Tasks whose inputs are all here go to the local runtime at once, many in one graph when
//! several arrived together, and report from their completion callback: no async task, no
//! wake-up between the pool and the network per task (short tasks are many, and every hop
//! between threads costs more than running them).

use super::{Shared, SMALL_RESULT, STARTED, STOLEN, WAITING};
use crate::distributed::msg::{DepSource, Message, Msg};
use crate::error::{Error, Result};
use crate::protocol::{decode_task, encode, Compression, WireArg};
use crate::runtime::{lookup_op, Arg, Future, Graph, Operation, Task};
use std::collections::HashMap;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU64, AtomicU8};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// A task as the scheduler sent it.
pub(super) struct Received {
    pub key: String,
    pub deps: Vec<DepSource>,
    pub frame: Vec<u8>,
}

/// A task with its inputs at hand, until it has run.
struct Ready {
    key: String,
    frame: Vec<u8>,
    /// Its entry in `Shared::pending`: waiting, started, or stolen.
    flag: Arc<AtomicU8>,
    inputs: HashMap<String, Future>,
}

impl Ready {
    fn stolen(&self) -> bool {
        self.flag.load(SeqCst) == STOLEN
    }
}

/// Takes tasks the scheduler sent: those with every input here start now (in one local
/// graph), the others once their inputs are fetched from peers.
pub(super) fn receive(shared: &Arc<Shared>, batch: Vec<Received>, tx: &UnboundedSender<Message>) {
    let flags: Vec<Arc<AtomicU8>> = {
        let mut pending = shared.pending.lock();
        batch
            .iter()
            .map(|t| {
                let flag = Arc::new(AtomicU8::new(WAITING));
                pending.insert(t.key.clone(), flag.clone());
                flag
            })
            .collect()
    };
    let mut ready = Vec::new();
    for (t, flag) in batch.into_iter().zip(flags) {
        let mut inputs = HashMap::new();
        let mut remote = Vec::new();
        {
            let data = shared.data.lock();
            for d in t.deps {
                match data.get(&d.key) {
                    Some(f) => {
                        inputs.insert(d.key, f.clone());
                    }
                    None => remote.push(d),
                }
            }
        }
        let task = Ready {
            key: t.key,
            frame: t.frame,
            flag,
            inputs,
        };
        if remote.is_empty() {
            ready.push(task);
        } else {
            tokio::spawn(fetch_then_run(shared.clone(), task, remote, tx.clone()));
        }
    }
    run(shared, ready, tx);
}

/// Fetches a task's missing inputs from their holders, then runs it; a key no holder gave
/// is reported as missing (the scheduler then recomputes it).
async fn fetch_then_run(
    shared: Arc<Shared>,
    mut task: Ready,
    remote: Vec<DepSource>,
    tx: UnboundedSender<Message>,
) {
    let fetched = fetch_deps(&shared, remote).await;
    if task.stolen() {
        return forget(&shared, &task);
    }
    let fetched = match fetched {
        Ok(v) => v,
        Err(NotFetched {
            key: dep,
            from,
            why,
        }) => {
            let _ = tx.send(Message::new(Msg::MissingDep {
                key: task.key.clone(),
                dep,
                from,
                why,
            }));
            return forget(&shared, &task);
        }
    };
    for (k, v) in fetched {
        match shared.client.scatter(v) {
            Ok(f) => {
                task.inputs.insert(k, f);
            }
            Err(e) => {
                let _ = tx.send(erred(&task.key, e.to_string()));
                return forget(&shared, &task);
            }
        }
    }
    run(&shared, vec![task], &tx);
}

/// Submits `tasks` to the local runtime as one graph; each reports when done.
fn run(shared: &Arc<Shared>, tasks: Vec<Ready>, tx: &UnboundedSender<Message>) {
    let mut graph = Graph::new();
    let mut ids = Vec::with_capacity(tasks.len());
    let mut submitted = Vec::with_capacity(tasks.len());
    for t in tasks {
        match local_task(shared, &t) {
            Ok((task, ran_for)) => {
                ids.push(graph.add(task));
                submitted.push((t, ran_for));
            }
            Err(e) => {
                if !t.stolen() {
                    let _ = tx.send(erred(&t.key, e.to_string()));
                }
                forget(shared, &t);
            }
        }
    }
    if ids.is_empty() {
        return;
    }
    match shared.client.compute(graph, &ids) {
        Ok(futures) => {
            for (f, (t, ran_for)) in futures.into_iter().zip(submitted) {
                let shared = shared.clone();
                let tx = tx.clone();
                f.add_done_callback(move |f| report(&shared, t, &ran_for, f, &tx));
            }
        }
        Err(e) => {
            for (t, _) in submitted {
                let _ = tx.send(erred(&t.key, e.to_string()));
                forget(shared, &t);
            }
        }
    }
}

/// The local task for `t`: its operation resolved here (a C operation only from a plugin),
/// timed, and refusing to start once stolen. The counter receives its run time in µs.
fn local_task(shared: &Shared, t: &Ready) -> Result<(Task, Arc<AtomicU64>)> {
    let (wire, _) = decode_task(&t.frame, &t.key)?;
    let def = lookup_op(&wire.op).map_err(|_| {
        Error::invalid(format!(
            "worker {} has no operation '{}': a C operation runs on a worker only when a plugin in the worker's --plugin-dir registers it (or it is a library operation of another version)",
            shared.who, wire.op
        ))
    })?;
    if def.is_host_affine() {
        return Err(Error::invalid(format!(
            "operation '{}' runs on its host language's thread and cannot run on a worker",
            wire.op
        )));
    }
    let args = wire
        .args
        .into_iter()
        .map(|a| match a {
            WireArg::Value(v) => Ok(Arg::Value(v)),
            WireArg::Key(k) => t
                .inputs
                .get(&k)
                .cloned()
                .map(Arg::Future)
                .ok_or_else(|| Error::invalid(format!("input '{k}' was not sent"))),
        })
        .collect::<Result<Vec<_>>>()?;
    // How long tasks run tells the scheduler how many to queue here.
    let ran_for = Arc::new(AtomicU64::new(0));
    let timer = ran_for.clone();
    let flag = t.flag.clone();
    let timed = Operation::local(move |inputs| {
        if flag
            .compare_exchange(WAITING, STARTED, SeqCst, SeqCst)
            .is_err()
        {
            return Err("given to another worker before it started".into());
        }
        let t0 = std::time::Instant::now();
        let r = Operation::Registered(def).call(inputs);
        timer.store(t0.elapsed().as_micros() as u64, Relaxed);
        r
    });
    Ok((Task::new(timed, args), ran_for))
}

/// Tells the scheduler how `t` ended (nothing when it was stolen: it runs on the thief) and
/// keeps its result here. Runs on the thread that finished it.
fn report(
    shared: &Shared,
    t: Ready,
    ran_for: &AtomicU64,
    f: &Future,
    tx: &UnboundedSender<Message>,
) {
    forget(shared, &t);
    if t.stolen() {
        return;
    }
    let Ready { key, inputs, .. } = t;
    drop(inputs);
    let reply = match f.error() {
        Some(e) => erred(&key, e.message().to_string()),
        None => {
            let value = f.result().ok();
            let nbytes = value.as_ref().map_or(0, |v| v.nbytes() as u64);
            // A small result travels with the report (clients then need no trip here).
            let small = value
                .filter(|v| v.nbytes() <= SMALL_RESULT)
                .and_then(|v| encode(&v, Compression::None).ok().map(|e| e.to_vec()))
                .filter(|b| b.len() <= 2 * SMALL_RESULT);
            shared.data.lock().insert(key.clone(), f.clone());
            Message::with_frames(
                Msg::Finished {
                    key,
                    nbytes,
                    duration_us: ran_for.load(Relaxed),
                },
                small.into_iter().collect(),
            )
        }
    };
    let _ = tx.send(reply);
}

fn erred(key: &str, error: String) -> Message {
    Message::new(Msg::Erred {
        key: key.to_string(),
        error,
    })
}

/// Drops `t`'s entry in `Shared::pending` (unless the key was sent again meanwhile: that
/// entry belongs to the new task).
fn forget(shared: &Shared, t: &Ready) {
    let mut pending = shared.pending.lock();
    if pending.get(&t.key).is_some_and(|f| Arc::ptr_eq(f, &t.flag)) {
        pending.remove(&t.key);
    }
}
/// Most keys asked of one worker in one request: the answer streams them back to back
/// (no round trip between blocks) while staying a bounded message.
const FETCH_BATCH: usize = 8;

/// Requests in flight to one worker at a time. With one, the link idles at every batch's
/// end: the holder waits for the next request while the asker drains what the sockets
/// still hold (megabytes on loopback). With two, the next batch is under way meanwhile.
const FETCH_LANES: usize = 2;

/// The values of `deps` from the workers holding them: keys held by the same worker are
/// asked together (up to [`FETCH_BATCH`] a request, [`FETCH_LANES`] requests at once),
/// different workers are asked at once, and a key its first holder did not give is asked
/// of the others. The error names a key no holder gave.
async fn fetch_deps(
    shared: &Arc<Shared>,
    deps: Vec<DepSource>,
) -> std::result::Result<Vec<(String, Arc<crate::value::Value>)>, NotFetched> {
    let mut by_holder: HashMap<String, Vec<DepSource>> = HashMap::new();
    for d in deps {
        match d.addrs.first() {
            Some(a) => by_holder.entry(a.clone()).or_default().push(d),
            None => {
                return Err(NotFetched {
                    key: d.key,
                    from: Vec::new(),
                    why: "the scheduler named no holder".into(),
                })
            }
        }
    }
    let mut asks = tokio::task::JoinSet::new();
    for (addr, deps) in by_holder {
        let batches: Vec<Vec<DepSource>> = deps
            .chunks(FETCH_BATCH)
            .map(<[DepSource]>::to_vec)
            .collect();
        // Batches dealt to the lanes in turn, so each lane's share is about equal.
        let mut lanes: Vec<Vec<Vec<DepSource>>> = vec![Vec::new(); FETCH_LANES];
        for (i, b) in batches.into_iter().enumerate() {
            lanes[i % FETCH_LANES].push(b);
        }
        for lane in lanes.into_iter().filter(|l| !l.is_empty()) {
            let shared = shared.clone();
            let addr = addr.clone();
            asks.spawn(fetch_lane(shared, addr, lane));
        }
    }
    // Every request runs to its end (one failing does not cut the others off).
    let mut all = Vec::new();
    let mut failed = None;
    while let Some(done) = asks.join_next().await {
        match done {
            Ok(Ok(v)) => all.extend(v),
            Ok(Err(e)) => failed = failed.or(Some(e)),
            Err(e) => {
                failed = failed.or(Some(NotFetched {
                    key: String::new(),
                    from: Vec::new(),
                    why: e.to_string(),
                }))
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(all),
    }
}

/// Asks the worker at `addr` for `batches` one after the other (one lane of `fetch_deps`).
async fn fetch_lane(
    shared: Arc<Shared>,
    addr: String,
    batches: Vec<Vec<DepSource>>,
) -> std::result::Result<Vec<(String, Arc<crate::value::Value>)>, NotFetched> {
    let mut got = Vec::new();
    for batch in &batches {
        let keys: Vec<String> = batch.iter().map(|d| d.key.clone()).collect();
        if let Ok(values) = shared.peers.get_data(&addr, keys.clone()).await {
            got.extend(keys.into_iter().zip(values));
            continue;
        }
        for d in batch {
            let mut value = None;
            let mut why = String::new();
            for other in &d.addrs {
                match shared.peers.get_data(other, vec![d.key.clone()]).await {
                    Ok(mut v) => {
                        value = v.pop();
                        break;
                    }
                    Err(e) => why = e.to_string(),
                }
            }
            let value = value.ok_or_else(|| NotFetched {
                key: d.key.clone(),
                from: d.addrs.clone(),
                why,
            })?;
            got.push((d.key.clone(), value));
        }
    }
    Ok(got)
}

/// An input no holder gave: its key, the data addresses asked, and the last error.
struct NotFetched {
    key: String,
    from: Vec<String>,
    why: String,
}
