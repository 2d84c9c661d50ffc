//! Messages between clients, the scheduler and workers: a compact msgpack header (what to do,
//! keys, sizes) followed by raw frames (encoded tasks and values, the same bytes as spill
//! files). No code travels: operations are names, data is frames.
//!
//! On the wire: magic `DSKm`, header length (u32), frame count (u32), each frame's length
//! (u64), the header, the frames. Every length is checked against the limits before anything
//! is allocated, so a corrupt or hostile prefix costs nothing.

use crate::error::{Error, Result};
use crate::protocol::{encode, read_value_async, Compression, Encoded, FrameSum, Streamed};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The version of these messages; peers of another version are refused at the handshake.
pub const PROTOCOL_VERSION: u32 = 4;
const MAGIC: &[u8; 4] = b"DSKm";
/// Largest header accepted (keys and names, never data).
pub const MAX_HEADER: usize = 16 << 20;
/// Most frames in one message.
pub const MAX_FRAMES: usize = 1 << 20;
/// Largest message accepted by default (headers and frames together).
pub const DEFAULT_MAX_MESSAGE: u64 = 16 << 30;

/// Who is at the other end of a connection.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Scheduler,
    Worker,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Scheduler => "scheduler",
            Role::Worker => "worker",
        }
    }
}

/// A worker as the scheduler tells clients and other workers about it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    pub id: u64,
    /// Where its data is served (`GetData`, `PutData`).
    pub data_addr: String,
    pub nthreads: u32,
}

/// One task of a graph sent by a client: its key, the keys it reads, and which frame of the
/// message holds it (an encoded `WireTask`).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TaskHead {
    pub key: String,
    pub deps: Vec<String>,
    pub frame: u32,
    /// Computed by the client itself (a host-language task): no frame; the client puts the
    /// value on a worker (`Scattered`) or reports it failed (`ExternalErred`).
    #[serde(default)]
    pub external: bool,
}

/// Where a dependency of a task can be fetched from.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct DepSource {
    pub key: String,
    pub addrs: Vec<String>,
}

/// The header of a message.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum Msg {
    /// First message on every connection, from the side that connected.
    Hello {
        role: Role,
        version: u32,
        name: String,
        nthreads: u32,
        memory_limit: u64,
        data_addr: Option<String>,
    },
    /// The answer to `Hello`: the connection's id on the scheduler and the workers known.
    Welcome {
        version: u32,
        id: u64,
        workers: Vec<WorkerInfo>,
    },
    /// The connection is refused (version, role, security), with the reason.
    Refused {
        why: String,
    },

    // client -> scheduler
    /// Tasks to run (frames: the encoded tasks) and the keys the client wants. A large
    /// graph comes in parts, dependencies first: every part but the last has `more`; the
    /// scheduler takes each part as it arrives. A part's `wanted` also holds its keys that
    /// later parts read, released by the client after the last part (`graph_parts`).
    UpdateGraph {
        tasks: Vec<TaskHead>,
        wanted: Vec<String>,
        more: bool,
    },
    /// The client no longer needs these keys.
    Release {
        keys: Vec<String>,
    },
    /// Cancel these keys if they have not finished.
    Cancel {
        keys: Vec<String>,
    },
    /// The client put this key on that worker (`PutData`).
    Scattered {
        key: String,
        worker: u64,
        nbytes: u64,
    },
    /// The client could not compute a key it said it would (`TaskHead::external`): its
    /// error, and the key that failed first.
    ExternalErred {
        key: String,
        error: String,
        origin: String,
        cancelled: bool,
    },
    /// Where are these keys?
    WhoHas {
        keys: Vec<String>,
    },
    /// Which workers are there?
    Workers,
    /// How many workers should an adaptive cluster have now (Dask's `adaptive_target` and
    /// `workers_to_close`)? The scheduler answers from its own queue with `AdaptReply`, and
    /// tells the idle workers it gives up to retire.
    Adapt {
        min: u32,
        max: u32,
        /// Threads of each worker the cluster would start.
        threads_per_worker: u32,
        /// A worker idle this long may be let go.
        idle_grace_ms: u64,
    },
    /// Keep `keys` under `name` (with the client's description of them, `meta`) until
    /// unpublished.
    Publish {
        name: String,
        keys: Vec<String>,
        meta: Vec<u8>,
    },
    GetDataset {
        name: String,
    },
    ListDatasets,
    Unpublish {
        name: String,
    },

    // scheduler -> client
    /// `key` is computed; its data is at `addrs` (and, when small, in frame 0 already).
    KeyDone {
        key: String,
        nbytes: u64,
        addrs: Vec<String>,
    },
    KeyErred {
        key: String,
        error: String,
        cancelled: bool,
        /// The task that failed first (this one, or an input).
        origin: String,
    },
    WhoHasReply {
        sources: Vec<DepSource>,
    },
    WorkersReply {
        workers: Vec<WorkerInfo>,
    },
    /// The answer to `Adapt`: the number of workers wanted, the names of the workers that
    /// stay, and of those told to retire now.
    AdaptReply {
        target: u32,
        workers: Vec<String>,
        retiring: Vec<String>,
    },
    /// The answer to the dataset requests: an error, or the keys and description of one
    /// dataset, or the names of all.
    DatasetReply {
        error: Option<String>,
        keys: Vec<String>,
        meta: Vec<u8>,
        names: Vec<String>,
    },

    // scheduler -> worker
    /// Run this task (frame 0: the encoded task); its inputs are at `deps`.
    Compute {
        key: String,
        deps: Vec<DepSource>,
    },
    /// Drop these keys' data.
    Free {
        keys: Vec<String>,
    },
    /// Leave as on SIGTERM (an adaptive cluster lets this idle worker go): `Retiring`,
    /// the moves, goodbye.
    Retire,

    // work stealing
    /// scheduler -> worker: give `key` up if it has not started.
    Steal {
        key: String,
    },
    /// worker -> scheduler: whether `key` was given up (then it never runs there).
    StealReply {
        key: String,
        ok: bool,
    },

    // a worker leaving (SIGTERM)
    /// worker -> scheduler: I am leaving; where should my data go?
    Retiring,
    /// scheduler -> worker: copy each key to the worker serving data at that address (id).
    RetireMoves {
        moves: Vec<(String, String, u64)>,
    },
    /// worker -> scheduler: `key` is now also on worker `to`.
    Moved {
        key: String,
        to: u64,
        nbytes: u64,
    },

    // worker -> scheduler
    /// `key` is computed here: its size, how long the operation ran, and — when small — the
    /// encoded value in frame 0 (the scheduler hands it to the clients with `KeyDone`, saving
    /// them a trip to the worker).
    Finished {
        key: String,
        nbytes: u64,
        duration_us: u64,
    },
    Erred {
        key: String,
        error: String,
    },
    /// An input of `key` could not be fetched from any holder: the scheduler finds it again
    /// (`from`: the data addresses that did not give it; `why`: the last error).
    MissingDep {
        key: String,
        dep: String,
        from: Vec<String>,
        why: String,
    },
    Heartbeat {
        memory: u64,
        paused: bool,
    },

    // anyone -> a worker's data port
    /// Send these keys' values.
    GetData {
        keys: Vec<String>,
    },
    /// Values (frames, in `keys` order) and the keys this worker does not hold.
    Data {
        keys: Vec<String>,
        missing: Vec<String>,
    },
    /// Keep these values (frames, in `keys` order).
    PutData {
        keys: Vec<String>,
    },
    Ack,
    /// The sender is going away.
    Close {
        why: String,
    },
}

/// A message: header and frames.
#[derive(Debug, Clone)]
pub struct Message {
    pub msg: Msg,
    pub frames: Vec<Vec<u8>>,
    /// The values of a message that carries them (`Data`, `PutData`, see
    /// [`Msg::carries_values`]): encoded as they are written, from their own memory, and
    /// decoded as they are read, into their final memory — a block is not copied in between.
    pub values: Vec<Arc<Value>>,
    /// How `values` are compressed on the way out.
    pub compression: Compression,
}

impl Message {
    pub fn new(msg: Msg) -> Message {
        Message::with_frames(msg, Vec::new())
    }

    pub fn with_frames(msg: Msg, frames: Vec<Vec<u8>>) -> Message {
        Message {
            msg,
            frames,
            values: Vec::new(),
            compression: Compression::None,
        }
    }

    /// A message carrying values (its frames are their encodings).
    pub fn with_values(msg: Msg, values: Vec<Arc<Value>>, compression: Compression) -> Message {
        debug_assert!(msg.carries_values());
        Message {
            msg,
            frames: Vec::new(),
            values,
            compression,
        }
    }
}

impl Msg {
    /// True for the messages whose frames are values (each an encoded value, named by the
    /// key at its position).
    pub fn carries_values(&self) -> bool {
        matches!(self, Msg::Data { .. } | Msg::PutData { .. })
    }

    /// The name of the `i`-th value of a message carrying values (for errors).
    fn value_name(&self, i: usize) -> String {
        match self {
            Msg::Data { keys, .. } | Msg::PutData { keys } if i < keys.len() => keys[i].clone(),
            _ => format!("value {i} of a message"),
        }
    }
}

/// Limits applied to what is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message: u64,
    /// How long the rest of a message may take once its first bytes arrived.
    pub stall: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: DEFAULT_MAX_MESSAGE,
            stall: Duration::from_secs(30),
        }
    }
}

/// The bytes of a message before its frames: prefix, frame lengths, header.
fn encode_head(msg: &Msg, lengths: &[u64]) -> Result<Vec<u8>> {
    let header = rmp_serde::to_vec(msg)
        .map_err(|e| Error::Io(format!("cannot encode a message header: {e}")))?;
    if header.len() > MAX_HEADER {
        return Err(Error::invalid(format!(
            "message header of {} bytes is past the limit of {MAX_HEADER}",
            header.len()
        )));
    }
    let mut out = Vec::with_capacity(12 + 8 * lengths.len() + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&(lengths.len() as u32).to_le_bytes());
    for l in lengths {
        out.extend_from_slice(&l.to_le_bytes());
    }
    out.extend_from_slice(&header);
    Ok(out)
}

/// A message made ready to write: its values encoded (borrowing their memory) and the
/// head that announces every frame's length. Values travel with their raw frames' checksums
/// trailing, computed as the frames go out.
struct Outgoing<'a> {
    head: Vec<u8>,
    frames: &'a [Vec<u8>],
    values: Vec<Encoded<'a>>,
}

impl<'a> Outgoing<'a> {
    fn new(m: &'a Message) -> Result<Outgoing<'a>> {
        let values = m
            .values
            .iter()
            .map(|v| encode(v, m.compression))
            .collect::<Result<Vec<_>>>()?;
        let lengths: Vec<u64> = m
            .frames
            .iter()
            .map(Vec::len)
            .chain(values.iter().map(|e| e.streamed().len()))
            .map(|l| l as u64)
            .collect();
        Ok(Outgoing {
            head: encode_head(&m.msg, &lengths)?,
            frames: &m.frames,
            values,
        })
    }
}

/// Frames at least this large are written from their own memory, not gathered with the
/// small pieces around them.
const DIRECT: usize = 64 << 10;

/// Writes `m`: its small pieces are gathered in `bytes` (the caller writes what is left
/// there), each large piece is written from its own memory after what was gathered before
/// it, and a value's raw frames are hashed piece by piece just before each piece goes.
async fn put<W: AsyncWrite + Unpin>(w: &mut W, m: &Message, bytes: &mut Vec<u8>) -> Result<()> {
    let io = |e| io_error("sending a message", e);
    let out = Outgoing::new(m)?;
    let mut pieces = Pieces { w, bytes };
    pieces.put(&out.head).await.map_err(io)?;
    for f in out.frames {
        pieces.put(f).await.map_err(io)?;
    }
    for e in &out.values {
        let s = e.streamed();
        pieces.put(&s.head).await.map_err(io)?;
        let mut sums = Vec::new();
        for (f, hash, padding) in s.frames() {
            if hash {
                let mut sum = FrameSum::default();
                for p in FrameSum::pieces(f) {
                    sum.add(p);
                    pieces.put(p).await.map_err(io)?;
                }
                sums.push(sum.finish());
            } else {
                pieces.put(f).await.map_err(io)?;
            }
            pieces.put(padding).await.map_err(io)?;
        }
        pieces.put(&Streamed::trailer(&sums)).await.map_err(io)?;
    }
    Ok(())
}

/// Small pieces gathered, large ones written as they are.
struct Pieces<'w, W> {
    w: &'w mut W,
    bytes: &'w mut Vec<u8>,
}

impl<W: AsyncWrite + Unpin> Pieces<'_, W> {
    async fn put(&mut self, p: &[u8]) -> std::io::Result<()> {
        if p.len() >= DIRECT {
            self.w.write_all(self.bytes).await?;
            self.bytes.clear();
            self.w.write_all(p).await
        } else {
            self.bytes.extend_from_slice(p);
            Ok(())
        }
    }
}

/// The bytes of a message.
pub fn encode_message(m: &Message) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut small = Vec::new();
    crate::protocol::run_ready(put(&mut out, m, &mut small))?;
    out.extend_from_slice(&small);
    Ok(out)
}

/// Checks a message's prefix (magic, header length, frame count) against the limits.
fn check_prefix(prefix: &[u8; 12]) -> Result<(usize, usize)> {
    if &prefix[..4] != MAGIC {
        return Err(Error::Corrupt(format!(
            "not a libdask message (starts with {:02x?}): is the peer speaking TLS, HTTP or another protocol?",
            &prefix[..4]
        )));
    }
    let header = u32::from_le_bytes(prefix[4..8].try_into().unwrap()) as usize;
    let frames = u32::from_le_bytes(prefix[8..12].try_into().unwrap()) as usize;
    if header > MAX_HEADER {
        return Err(Error::Corrupt(format!(
            "message header of {header} bytes is past the limit of {MAX_HEADER}"
        )));
    }
    if frames > MAX_FRAMES {
        return Err(Error::Corrupt(format!(
            "message of {frames} frames is past the limit of {MAX_FRAMES}"
        )));
    }
    Ok((header, frames))
}

/// Checks the frame lengths against the message limit; the total size.
fn check_sizes(header: usize, lengths: &[u64], limits: &Limits) -> Result<u64> {
    let mut total = header as u64;
    for &l in lengths {
        total = total.saturating_add(l);
    }
    if total > limits.max_message {
        return Err(Error::Corrupt(format!(
            "message of {total} bytes is past the limit of {} bytes",
            limits.max_message
        )));
    }
    Ok(total)
}

fn decode_header(bytes: &[u8]) -> Result<Msg> {
    rmp_serde::from_slice(bytes)
        .map_err(|e| Error::Corrupt(format!("message header does not decode: {e}")))
}

/// Decodes one whole message from `bytes` (the fuzz target's entry): the message and the
/// bytes it took.
pub fn decode_message(bytes: &[u8], limits: &Limits) -> Result<(Message, usize)> {
    let short = || Error::Corrupt("message is cut short".into());
    let prefix: &[u8; 12] = bytes.get(..12).ok_or_else(short)?.try_into().unwrap();
    let (header, n) = check_prefix(prefix)?;
    let lens_end = 12 + 8 * n;
    let lens_bytes = bytes.get(12..lens_end).ok_or_else(short)?;
    let lengths: Vec<u64> = lens_bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let total = check_sizes(header, &lengths, limits)?;
    if ((bytes.len() - lens_end) as u64) < total {
        return Err(short());
    }
    let msg = decode_header(&bytes[lens_end..lens_end + header])?;
    let mut at = lens_end + header;
    let mut m = Message::new(msg);
    for (i, l) in lengths.into_iter().enumerate() {
        let f = &bytes[at..at + l as usize];
        if m.msg.carries_values() {
            let v = crate::protocol::decode(f, &m.msg.value_name(i))?;
            m.values.push(Arc::new(v));
        } else {
            m.frames.push(f.to_vec());
        }
        at += l as usize;
    }
    Ok((m, at))
}

/// Reads one message. `Ok(None)` when the peer closed the connection between messages; an
/// error when it closed or stalled in the middle of one, or sent something malformed.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    limits: &Limits,
) -> Result<Option<Message>> {
    read_message_within(r, limits, None).await
}

/// Like [`read_message`], but the message must start within `first` (an answer to a
/// request: a peer that went silent — a cut link sends nothing, not even a reset — is given
/// up instead of waited on for ever).
pub async fn read_message_within<R: AsyncRead + Unpin>(
    r: &mut R,
    limits: &Limits,
    first: Option<Duration>,
) -> Result<Option<Message>> {
    let mut prefix = [0u8; 12];
    // Without `first`, the first byte may take as long as the peer likes (an idle connection).
    let start = r.read(&mut prefix[..1]);
    let started = match first {
        None => start.await,
        Some(d) => tokio::time::timeout(d, start)
            .await
            .map_err(|_| Error::Io(format!("the peer did not answer within {d:?}")))?,
    };
    match started {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(io_error("reading a message", e)),
    }
    let rest = async {
        r.read_exact(&mut prefix[1..])
            .await
            .map_err(|e| io_error("reading a message", e))?;
        let (header, n) = check_prefix(&prefix)?;
        let mut lens = vec![0u8; 8 * n];
        r.read_exact(&mut lens)
            .await
            .map_err(|e| io_error("reading frame lengths", e))?;
        let lengths: Vec<u64> = lens
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        check_sizes(header, &lengths, limits)?;
        let mut head = vec![0u8; header];
        r.read_exact(&mut head)
            .await
            .map_err(|e| io_error("reading a message header", e))?;
        let mut m = Message::new(decode_header(&head)?);
        for (i, l) in lengths.into_iter().enumerate() {
            let mut frame = (&mut *r).take(l);
            if m.msg.carries_values() {
                let what = m.msg.value_name(i);
                let v = read_value_async(&mut frame, l as usize, &what).await?;
                if frame.limit() != 0 {
                    return Err(Error::Corrupt(format!(
                        "{what}: {} bytes past the value in its frame",
                        frame.limit()
                    )));
                }
                m.values.push(Arc::new(v));
                continue;
            }
            // Straight into the frame's own memory, without zeroing it first, and never
            // past it: `read_to_end` would probe for more once it is full and grow (copy)
            // the whole frame to do so.
            let mut f = Vec::with_capacity(l as usize);
            while f.len() < l as usize {
                let got = frame
                    .read_buf(&mut f)
                    .await
                    .map_err(|e| io_error("reading a frame", e))?;
                if got == 0 {
                    return Err(Error::Io(
                        "the peer closed in the middle of a message".into(),
                    ));
                }
            }
            m.frames.push(f);
        }
        Ok::<_, Error>(m)
    };
    // A message already in the buffer needs no timer (arming one per message was a
    // measurable share of the scheduler's time): the stall clock starts only when the rest
    // has to be waited for.
    let mut rest = std::pin::pin!(rest);
    let first_try = std::future::poll_fn(|cx| Poll::Ready(rest.as_mut().poll(cx))).await;
    if let Poll::Ready(m) = first_try {
        return m.map(Some);
    }
    match tokio::time::timeout(limits.stall, rest).await {
        Ok(m) => m.map(Some),
        Err(_) => Err(Error::Io(format!(
            "the peer stopped in the middle of a message for {:?}",
            limits.stall
        ))),
    }
}

/// Writes one message.
pub async fn write_message<W: AsyncWrite + Unpin>(w: &mut W, m: &Message) -> Result<()> {
    let io = |e| io_error("sending a message", e);
    let mut bytes = Vec::new();
    put(w, m, &mut bytes).await?;
    w.write_all(&bytes).await.map_err(io)?;
    w.flush().await.map_err(io)
}

/// Most keys one merged `Release` or `Free` carries (a bounded header).
const MAX_MERGED_KEYS: usize = 4096;

/// The keys of a message of which several in a row mean the same as one with all their keys.
fn merged_keys(m: &mut Msg) -> Option<&mut Vec<String>> {
    match m {
        Msg::Release { keys } | Msg::Free { keys } => Some(keys),
        _ => None,
    }
}

/// Sends what `queue` yields until it closes (or a `Close` message went out): the messages
/// waiting at each wake-up leave together, in one write (thousands of small task messages
/// cost one system call, not one each), and `Release`s or `Free`s waiting back to back as one.
pub async fn pump<W: AsyncWrite + Unpin>(
    queue: &mut tokio::sync::mpsc::UnboundedReceiver<Message>,
    w: &mut W,
) -> Result<()> {
    const MAX_BATCH_BYTES: usize = 4 << 20;
    let io = |e| io_error("sending messages", e);
    let mut bytes = Vec::new();
    while let Some(first) = queue.recv().await {
        bytes.clear();
        let mut next = Some(first);
        let mut closing = false;
        while let Some(mut m) = next.take() {
            let mut after = None;
            let kind = std::mem::discriminant(&m.msg);
            if let Some(keys) = merged_keys(&mut m.msg) {
                // Releases (and frees) waiting together leave as one message: a graph's
                // futures are often dropped at once, thousands of them.
                while keys.len() < MAX_MERGED_KEYS {
                    match queue.try_recv() {
                        Ok(mut other) if std::mem::discriminant(&other.msg) == kind => {
                            if let Some(more) = merged_keys(&mut other.msg) {
                                keys.append(more);
                            }
                        }
                        Ok(other) => {
                            after = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
            }
            closing = matches!(m.msg, Msg::Close { .. });
            put(w, &m, &mut bytes).await?;
            if after.is_some() {
                next = after;
            } else if !closing && bytes.len() < MAX_BATCH_BYTES {
                next = queue.try_recv().ok();
            }
        }
        w.write_all(&bytes).await.map_err(io)?;
        w.flush().await.map_err(io)?;
        if closing {
            break;
        }
    }
    Ok(())
}

pub(crate) fn io_error(doing: &str, e: std::io::Error) -> Error {
    Error::Io(format!("{doing}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message::with_frames(
            Msg::UpdateGraph {
                tasks: vec![TaskHead {
                    key: "a".into(),
                    deps: vec!["b".into()],
                    frame: 0,
                    external: false,
                }],
                wanted: vec!["a".into()],
                more: false,
            },
            vec![vec![1, 2, 3], vec![]],
        )
    }

    #[test]
    fn round_trip() {
        let bytes = encode_message(&sample()).unwrap();
        let (m, used) = decode_message(&bytes, &Limits::default()).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(m.frames, vec![vec![1, 2, 3], vec![]]);
        match m.msg {
            Msg::UpdateGraph { tasks, wanted, .. } => {
                assert_eq!(tasks[0].key, "a");
                assert_eq!(tasks[0].deps, vec!["b".to_string()]);
                assert_eq!(wanted, vec!["a".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn oversized_length_is_refused_before_allocating() {
        let mut bytes = encode_message(&sample()).unwrap();
        // Frame 0 claims 2^62 bytes.
        bytes[12..20].copy_from_slice(&(1u64 << 62).to_le_bytes());
        let e = decode_message(&bytes, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("past the limit"), "{e}");
    }

    #[test]
    fn every_truncation_and_mutation_is_an_error_or_a_message() {
        let bytes = encode_message(&sample()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode_message(&bytes[..n], &Limits::default()).is_err());
        }
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..20_000 {
            let mut b = bytes.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % b.len();
                b[i] = (seed >> 32) as u8;
            }
            let _ = decode_message(&b, &Limits::default());
        }
    }

    #[test]
    fn a_peer_that_stops_mid_message_is_dropped_after_the_stall_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut a, mut b) = tokio::io::duplex(1 << 16);
            let bytes = encode_message(&sample()).unwrap();
            a.write_all(&bytes[..10]).await.unwrap();
            let limits = Limits {
                stall: Duration::from_millis(100),
                ..Limits::default()
            };
            let e = read_message(&mut b, &limits).await.unwrap_err();
            assert!(e.to_string().contains("stopped in the middle"), "{e}");
        });
    }
}
