//! Tasks as messages: a task's key, its operation's stable name, and its arguments — values
//! (each one a whole value message, so blocks and operation parameters keep their frames) or
//! the keys of other tasks' results. What a worker process needs to run a task made
//! elsewhere, and what the runtime's task capture writes.
//!
//! Layout: magic `DSKt`, version (u16), header length (u32), header checksum (u64), the
//! header (key, operation name, argument kinds and keys, each value argument's message
//! length), then the value arguments' messages back to back.

use super::message::{decode, encode};
use super::Compression;
use crate::error::{Error, Result};
use crate::value::Value;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"DSKt";
const VERSION: u16 = 1;
const PREFIX: usize = 4 + 2 + 4 + 8;
/// Largest task header accepted (keys and names, not data).
const MAX_HEADER: usize = 1 << 24;

/// One argument of a task on the wire.
#[derive(Debug, Clone)]
pub enum WireArg {
    Value(Arc<Value>),
    /// The result of the task with this key.
    Key(String),
}

/// A task on the wire: the key of its result, its operation's name, its arguments.
#[derive(Debug, Clone)]
pub struct WireTask {
    pub key: String,
    pub op: String,
    pub args: Vec<WireArg>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Encodes `task` (value arguments compressed per `compression`).
pub fn encode_task(task: &WireTask, compression: Compression) -> Result<Vec<u8>> {
    let mut header = Vec::new();
    put_str(&mut header, &task.key);
    put_str(&mut header, &task.op);
    header.extend_from_slice(&(task.args.len() as u32).to_le_bytes());
    let mut bodies = Vec::new();
    for (i, arg) in task.args.iter().enumerate() {
        match arg {
            WireArg::Value(v) => {
                let message = encode(v, compression)
                    .map_err(|e| match e {
                        Error::NotImplemented(why) => Error::NotImplemented(format!(
                            "argument {i} of task '{}' ({}) cannot travel: {why}",
                            task.key, task.op
                        )),
                        other => other,
                    })?
                    .to_vec();
                header.push(0);
                header.extend_from_slice(&(message.len() as u64).to_le_bytes());
                bodies.push(message);
            }
            WireArg::Key(k) => {
                header.push(1);
                put_str(&mut header, k);
            }
        }
    }
    let mut out = Vec::with_capacity(PREFIX + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&super::frame::checksum(&header).to_le_bytes());
    out.extend_from_slice(&header);
    for b in bodies {
        out.extend_from_slice(&b);
    }
    Ok(out)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'a str,
}

impl<'a> Cursor<'a> {
    fn corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::Corrupt(format!("{}: task message: {why}", self.what))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.corrupt("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| self.corrupt("a name is not UTF-8"))
    }
}

/// Decodes one task message from the start of `bytes`; returns it and the bytes it took.
/// `what` names the source in errors.
pub fn decode_task(bytes: &[u8], what: &str) -> Result<(WireTask, usize)> {
    let mut c = Cursor { bytes, at: 0, what };
    if c.take(4)? != MAGIC {
        return Err(c.corrupt("not a task message (bad magic)"));
    }
    let version = u16::from_le_bytes(c.take(2)?.try_into().expect("2"));
    if version != VERSION {
        return Err(c.corrupt(format!(
            "format version {version}; this library reads version {VERSION}"
        )));
    }
    let hlen = c.u32()? as usize;
    let sum = c.u64()?;
    if hlen > MAX_HEADER {
        return Err(c.corrupt(format!("a header of {hlen} bytes")));
    }
    let header = c.take(hlen)?;
    if !super::frame::sum_matches(header, sum) {
        return Err(c.corrupt("the header's checksum does not match (damaged)"));
    }
    let body_start = c.at;
    let mut h = Cursor {
        bytes: header,
        at: 0,
        what,
    };
    let key = h.str()?;
    let op = h.str()?;
    let nargs = h.u32()? as usize;
    let mut kinds = Vec::new();
    for _ in 0..nargs.min(header.len()) {
        match h.take(1)?[0] {
            0 => kinds.push(Err(h.u64()?)),
            1 => kinds.push(Ok(h.str()?)),
            k => return Err(h.corrupt(format!("argument kind {k}"))),
        }
    }
    if kinds.len() != nargs || h.at != header.len() {
        return Err(h.corrupt("the argument list does not match its count"));
    }
    c.at = body_start;
    let mut args = Vec::with_capacity(nargs);
    for (i, kind) in kinds.into_iter().enumerate() {
        args.push(match kind {
            Ok(k) => WireArg::Key(k),
            Err(len) => {
                let len = usize::try_from(len).map_err(|_| c.corrupt("a huge argument"))?;
                let body = c.take(len)?;
                WireArg::Value(Arc::new(decode(
                    body,
                    &format!("{what}: argument {i} of task '{key}'"),
                )?))
            }
        });
    }
    Ok((WireTask { key, op, args }, c.at))
}
