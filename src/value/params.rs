//! Parameters of library operations (`Value::Params`): a chunk's slice, a fused kernel's
//! program, a reduction's partial state. Plain data with a stable tag, written field by field
//! and read back by the decoder registered for the tag, so a task that carries them can be
//! spilled, sent to another process, and run there.
//!
//! The byte layout is the parameter type's own (little-endian fields in the order its
//! `encode` writes them); buffers go to frames of their own, so a large partial result is
//! never copied into the byte stream.

use super::{Buffer, DType};
use crate::error::{Error, Result};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// Plain-data parameters carried by [`super::Value::Params`].
pub trait Params: std::fmt::Debug + Send + Sync + 'static {
    fn as_any(&self) -> &dyn std::any::Any;
    /// Bytes of payload held (for accounting).
    fn nbytes(&self) -> usize {
        0
    }
    /// The stable name of this parameter type in spill files and messages. It never
    /// changes once released; a decoder is registered under it (`register_params`).
    fn tag(&self) -> &'static str;
    /// Writes the parameters, to be read back by the decoder registered for `tag`.
    fn encode(&self, w: &mut ParamsWriter);
    /// For the parameters of a source task (one that makes a table partition from them
    /// alone): parameters that make only the partition's first `rows` rows, when the source
    /// can stop early (`Table::head`). `None`: it cannot; the whole partition is made.
    fn limited(&self, _rows: u64) -> Option<Arc<dyn Params>> {
        None
    }

    /// For the parameters of a source task: parameters that make only `columns` of its
    /// partition, in that order, when the source can leave the others unread (a Parquet or
    /// CSV read: column projection, so that `read_parquet(p).group_by(k).agg(sum(x))`
    /// decodes only `k` and `x`). `None`: it cannot; the columns are selected after it.
    fn projected(&self, _columns: &[String]) -> Option<Arc<dyn Params>> {
        None
    }
}

/// Builds the byte stream and the buffer list of encoded parameters.
#[derive(Default)]
pub struct ParamsWriter {
    pub(crate) bytes: Vec<u8>,
    pub(crate) buffers: Vec<Buffer>,
}

impl ParamsWriter {
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.u64(v as u64);
    }
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.usize(v.len());
        self.bytes.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub fn dtype(&mut self, d: DType) {
        self.u32(d as u32);
    }
    pub fn usizes(&mut self, v: &[usize]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.usize(x));
    }
    pub fn i64s(&mut self, v: &[i64]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.i64(x));
    }
    pub fn bools(&mut self, v: &[bool]) {
        self.usize(v.len());
        v.iter().for_each(|&x| self.bool(x));
    }
    /// A buffer, carried in a frame of its own (gathered to C order there).
    pub fn buffer(&mut self, b: &Buffer) {
        self.usize(self.buffers.len());
        self.buffers.push(b.clone());
    }

    /// The byte stream and the buffers written (what `decode_params` takes back).
    pub fn finish(self) -> (Vec<u8>, Vec<Buffer>) {
        (self.bytes, self.buffers)
    }
}

/// Reads encoded parameters back; every read is checked (a short or damaged stream is a
/// `Corrupt` error naming what was being read, never a panic or a wild allocation).
pub struct ParamsReader<'a> {
    bytes: &'a [u8],
    at: usize,
    buffers: Vec<Option<Buffer>>,
    what: &'a str,
}

/// Most elements a length read from a stream may announce before the stream is checked to
/// hold them (each costs at least one byte, so a longer one is corrupt).
fn check_count(n: usize, left: usize, r: &ParamsReader) -> Result<usize> {
    if n > left {
        return Err(r.corrupt(format!("a list of {n} entries in {left} bytes")));
    }
    Ok(n)
}

impl<'a> ParamsReader<'a> {
    pub(crate) fn new(bytes: &'a [u8], buffers: Vec<Buffer>, what: &'a str) -> Self {
        ParamsReader {
            bytes,
            at: 0,
            buffers: buffers.into_iter().map(Some).collect(),
            what,
        }
    }

    /// An error for a stream that does not hold valid parameters.
    pub fn corrupt(&self, why: impl std::fmt::Display) -> Error {
        Error::Corrupt(format!("{}: operation parameters: {why}", self.what))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.corrupt("the parameters are truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.corrupt(format!("boolean byte {b}"))),
        }
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4")))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    pub fn usize(&mut self) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| self.corrupt(format!("{v} does not fit in usize")))
    }
    /// A count of entries that each take at least one more byte of the stream.
    pub fn count(&mut self) -> Result<usize> {
        let n = self.usize()?;
        check_count(n, self.bytes.len() - self.at, self)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.usize()?;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str> {
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| self.corrupt("a name is not UTF-8"))
    }
    pub fn dtype(&mut self) -> Result<DType> {
        let code = self.u32()?;
        DType::from_code(code).map_err(|_| self.corrupt(format!("dtype code {code}")))
    }
    pub fn usizes(&mut self) -> Result<Vec<usize>> {
        let n = self.count()?;
        (0..n).map(|_| self.usize()).collect()
    }
    pub fn i64s(&mut self) -> Result<Vec<i64>> {
        let n = self.count()?;
        (0..n).map(|_| self.i64()).collect()
    }
    pub fn bools(&mut self) -> Result<Vec<bool>> {
        let n = self.count()?;
        (0..n).map(|_| self.bool()).collect()
    }
    /// The next buffer (each is read once).
    pub fn buffer(&mut self) -> Result<Buffer> {
        let i = self.usize()?;
        self.buffers
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| self.corrupt(format!("buffer {i} is missing or read twice")))
    }

    /// Checks that everything was read.
    pub(crate) fn finished(&self) -> Result<()> {
        if self.at != self.bytes.len() {
            return Err(self.corrupt("trailing bytes"));
        }
        if self.buffers.iter().any(Option::is_some) {
            return Err(self.corrupt("a buffer was not used"));
        }
        Ok(())
    }
}

/// Reads a parameter type back from its encoding.
pub type ParamsDecoder = fn(&mut ParamsReader) -> Result<Arc<dyn Params>>;

static DECODERS: LazyLock<RwLock<HashMap<&'static str, ParamsDecoder>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// Registers the decoder of a parameter type (modules register theirs with their
/// operations). Registering the same tag again replaces nothing and is not an error.
pub fn register_params(tag: &'static str, decode: ParamsDecoder) {
    DECODERS.write().entry(tag).or_insert(decode);
}

/// Decodes parameters of type `tag`.
pub fn decode_params(
    tag: &str,
    bytes: &[u8],
    buffers: Vec<Buffer>,
    what: &str,
) -> Result<Arc<dyn Params>> {
    let decode = DECODERS.read().get(tag).copied().ok_or_else(|| {
        Error::NotFound(format!(
            "{what}: no decoder for operation parameters '{tag}' is registered in this process"
        ))
    })?;
    let mut r = ParamsReader::new(bytes, buffers, what);
    let p = decode(&mut r)?;
    r.finished()?;
    Ok(p)
}
