//! Whole messages: the fixed prefix, the checksummed header, the frames at 64-byte offsets.
//! Written to any `Write` (a spill file, later a socket) without assembling a copy; read
//! from any `Read` with the frames going straight into the value's final memory.

use super::codec::{layout, parse, Pending};
use super::frame::{restore, store, Compression, FrameMeta, CODEC_RAW};
use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
use crate::value::Value;
use std::borrow::Cow;
use std::future::Future;
use std::io::{Read, Write};
use tokio::io::{AsyncRead, AsyncReadExt};

const MAGIC: &[u8; 4] = b"DSKv";
const VERSION: u16 = 1;
/// magic, version, flags, header length, header checksum.
const PREFIX: usize = 4 + 2 + 2 + 4 + 8;
/// Frames start at multiples of this offset in a message.
const ALIGN: usize = 64;
/// Prefix flag: the checksums of the raw frames follow the frames (8 bytes each, in frame
/// order) and are zero in the header. A sender then hashes each piece of a frame as it sends
/// it, while the piece is in cache, instead of reading the whole frame once more before the
/// header can go; the reader hashes as it receives. Network messages travel this way; files
/// keep their checksums in the header.
const SUMS_TRAILING: u16 = 1;
/// Frames are hashed (and read) in pieces of this size, small enough to stay in cache
/// between the copy and the hash.
const HASH_PIECE: usize = 256 << 10;
/// Largest header accepted (a 64-d shape and a few frames take well under 1 KiB).
const MAX_HEADER: usize = 1 << 16;

/// Padding comes from here.
static ZEROS: [u8; ALIGN] = [0; ALIGN];

fn pad(n: usize) -> usize {
    n.next_multiple_of(ALIGN) - n
}

/// A value ready to be written: the prefix and header, then its stored frames (borrowed
/// from the value where they are raw and contiguous).
pub struct Encoded<'a> {
    /// The prefix and header, with the checksums of raw frames still zero: they are
    /// computed as the frames are written (see `store`), then the header is sealed.
    head: Vec<u8>,
    frames: Vec<Cow<'a, [u8]>>,
    /// For each frame, where its checksum goes in `head` if it is still to be computed.
    unsummed: Vec<Option<usize>>,
}

/// Raw frames are hashed and written in pieces that end at multiples of this offset in the
/// file: the page cache then holds each piece in one 2 MiB folio (smaller or straddling
/// writes make smaller folios, which a mapped read pages in at half the speed), and the
/// piece the hash has just read is still in the last-level cache when the copy to the file
/// reads it again.
const PIECE: u64 = 2 << 20;

impl Encoded<'_> {
    /// Bytes of the whole message.
    pub fn len(&self) -> usize {
        let mut n = self.head.len() + pad(self.head.len());
        for f in &self.frames {
            n += f.len() + pad(f.len());
        }
        n
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bytes of the frames as stored (after compression).
    pub fn stored_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.len()).sum()
    }

    /// The prefix and header with every checksum in place (hashing the raw frames whose
    /// checksum is still to be computed).
    pub fn sealed_head(&self) -> Vec<u8> {
        let mut head = self.head.clone();
        for (f, at) in self.frames.iter().zip(&self.unsummed) {
            if let Some(at) = *at {
                head[at..at + 8].copy_from_slice(&super::frame::checksum(f).to_le_bytes());
            }
        }
        seal(&mut head);
        head
    }

    /// The sealed head followed by its padding: the first bytes of the message.
    pub fn padded_head(&self) -> Vec<u8> {
        let mut head = self.sealed_head();
        head.extend_from_slice(&ZEROS[..pad(head.len())]);
        head
    }

    /// The rest of the message after [`Encoded::padded_head`], in order: each frame (from
    /// the value's own memory where it is raw) and its padding.
    pub fn body(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(2 * self.frames.len());
        for f in &self.frames {
            out.push(&f[..]);
            out.push(&ZEROS[..pad(f.len())]);
        }
        out
    }

    /// The message with its raw frames' checksums trailing (see [`SUMS_TRAILING`]), for a
    /// sender that hashes as it writes: the head to write first, then the frames.
    pub fn streamed(&self) -> Streamed<'_> {
        let mut head = self.head.clone();
        head[6..8].copy_from_slice(&SUMS_TRAILING.to_le_bytes());
        seal(&mut head);
        head.extend_from_slice(&ZEROS[..pad(head.len())]);
        Streamed {
            head,
            encoded: self,
        }
    }

    /// Writes the message to a stream.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.padded_head())?;
        for piece in self.body() {
            w.write_all(piece)?;
        }
        Ok(())
    }

    /// Writes the message into `file`, a new empty file. Its whole length is reserved first,
    /// so a full disk refuses the write before any byte is copied; raw frames are hashed
    /// piece by piece as they are written; the header goes last, so a write cut short leaves
    /// a file that fails to read (bad magic), never one that reads wrong.
    pub fn write_file(&self, file: &std::fs::File) -> std::io::Result<()> {
        use std::hash::Hasher;
        use std::os::unix::fs::FileExt;
        reserve(file, self.len() as u64)?;
        let mut head = self.head.clone();
        let mut at = (head.len() + pad(head.len())) as u64;
        for (f, sum_at) in self.frames.iter().zip(&self.unsummed) {
            match *sum_at {
                Some(sum_at) => {
                    let mut hash = twox_hash::XxHash3_64::new();
                    let mut rest: &[u8] = f;
                    while !rest.is_empty() {
                        let n = ((PIECE - at % PIECE) as usize).min(rest.len());
                        let (piece, tail) = rest.split_at(n);
                        hash.write(piece);
                        file.write_all_at(piece, at)?;
                        at += n as u64;
                        rest = tail;
                    }
                    head[sum_at..sum_at + 8].copy_from_slice(&hash.finish().to_le_bytes());
                }
                None => {
                    file.write_all_at(f, at)?;
                    at += f.len() as u64;
                }
            }
            at += pad(f.len()) as u64; // padding reads as zeros: the file already has its length
        }
        seal(&mut head);
        file.write_all_at(&head, 0)
    }

    /// The message as one vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_to(&mut v)
            .expect("writing to a vector does not fail");
        v
    }
}

/// A message whose raw frames' checksums trail the frames: write `head`, then each of
/// `frames()` (hashing those marked with a [`FrameSum`]), then `trailer` of the sums.
pub struct Streamed<'a> {
    pub head: Vec<u8>,
    encoded: &'a Encoded<'a>,
}

impl Streamed<'_> {
    /// Bytes of the whole message, trailer included.
    pub fn len(&self) -> usize {
        self.encoded.len() + 8 * self.sums()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of trailing checksums.
    fn sums(&self) -> usize {
        self.encoded.unsummed.iter().flatten().count()
    }

    /// Each frame, whether it is to be hashed on the way out, and its padding.
    pub fn frames(&self) -> Vec<(&[u8], bool, &'static [u8])> {
        let e = self.encoded;
        e.frames
            .iter()
            .zip(&e.unsummed)
            .map(|(f, sum)| (&f[..], sum.is_some(), &ZEROS[..pad(f.len())]))
            .collect()
    }

    /// The whole message in memory (hashing as [`Streamed::frames`] says).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = self.head.clone();
        let mut sums = Vec::new();
        for (f, hash, padding) in self.frames() {
            out.extend_from_slice(f);
            if hash {
                let mut sum = FrameSum::default();
                FrameSum::pieces(f).for_each(|p| sum.add(p));
                sums.push(sum.finish());
            }
            out.extend_from_slice(padding);
        }
        out.extend_from_slice(&Streamed::trailer(&sums));
        out
    }

    /// The trailer: the sums of the hashed frames, in order.
    pub fn trailer(sums: &[u64]) -> Vec<u8> {
        sums.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}

/// A frame's checksum computed piece by piece as the frame goes by.
#[derive(Default)]
pub struct FrameSum(twox_hash::XxHash3_64);

impl FrameSum {
    /// `bytes` in pieces small enough to hash and then send while they are in cache.
    pub fn pieces(bytes: &[u8]) -> std::slice::Chunks<'_, u8> {
        bytes.chunks(HASH_PIECE)
    }

    /// Hashes the next piece of the frame.
    pub fn add(&mut self, piece: &[u8]) {
        std::hash::Hasher::write(&mut self.0, piece)
    }

    pub fn finish(&self) -> u64 {
        std::hash::Hasher::finish(&self.0)
    }
}

/// Gives `file` its final length `len`, with the disk space allocated up front where the
/// file system can (elsewhere the file is only extended and space is found as it is written).
fn reserve(file: &std::fs::File, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if allocate(file, len)? {
        return Ok(());
    }
    file.set_len(len)
}

/// `fallocate`: true when the space is allocated, false when the file system cannot.
#[cfg(target_os = "linux")]
fn allocate(file: &std::fs::File, len: u64) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let len =
        libc::off_t::try_from(len).map_err(|_| std::io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: a valid open descriptor; fallocate only reads its arguments.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) } == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(err),
    }
}

/// Puts the header's checksum into the prefix (once the frames' checksums are in the header).
fn seal(head: &mut [u8]) {
    let sum = super::frame::checksum(&head[PREFIX..]);
    head[12..20].copy_from_slice(&sum.to_le_bytes());
}

/// Encodes `value` with frames compressed per `compression`. Fails for values that cannot be
/// serialized (opaque host values without a serializer, operation parameters).
pub fn encode(value: &Value, compression: Compression) -> Result<Encoded<'_>> {
    let (mut header, raw) = layout(value)?;
    header.u32(raw.len() as u32);
    let mut frames = Vec::with_capacity(raw.len());
    let mut unsummed = Vec::with_capacity(raw.len());
    for r in raw {
        let (meta, stored) = match r {
            Cow::Borrowed(b) => store(b, compression),
            Cow::Owned(b) => {
                let (meta, stored) = store(&b, compression);
                (meta, Cow::Owned(stored.into_owned()))
            }
        };
        meta.write(&mut header);
        // The checksum is the descriptor's last field.
        unsummed.push((meta.codec == CODEC_RAW).then(|| PREFIX + header.bytes.len() - 8));
        frames.push(stored);
    }
    let mut head = Writer::default();
    head.raw(MAGIC);
    head.raw(&VERSION.to_le_bytes());
    head.raw(&0u16.to_le_bytes());
    head.u32(header.bytes.len() as u32);
    head.u64(0); // the header's checksum: `seal`
    head.raw(&header.bytes);
    Ok(Encoded {
        head: head.bytes,
        frames,
        unsummed,
    })
}

/// Bytes `value` takes encoded (compressing to find out when `compression` asks for it).
pub fn encoded_len(value: &Value, compression: Compression) -> Result<usize> {
    Ok(encode(value, compression)?.len())
}

/// Encodes `value` to `w`; returns the bytes written.
pub fn write_value(value: &Value, w: &mut impl Write, compression: Compression) -> Result<usize> {
    let e = encode(value, compression)?;
    e.write_to(w)
        .map_err(|err| Error::Io(format!("writing a value: {err}")))?;
    Ok(e.len())
}

/// The header's length and checksum from a message's prefix (magic and version checked).
fn prefix_fields(prefix: &[u8], what: &str) -> Result<(usize, u64, bool)> {
    let corrupt = |why: &str| Error::Corrupt(format!("{what}: {why}"));
    if prefix.len() < PREFIX {
        return Err(corrupt("shorter than a message header (truncated?)"));
    }
    if &prefix[..4] != MAGIC {
        return Err(corrupt("not a libdask message (bad magic)"));
    }
    let version = u16::from_le_bytes([prefix[4], prefix[5]]);
    if version != VERSION {
        return Err(corrupt(&format!(
            "format version {version}; this library reads version {VERSION}"
        )));
    }
    let flags = u16::from_le_bytes([prefix[6], prefix[7]]);
    if flags & !SUMS_TRAILING != 0 {
        return Err(corrupt(&format!("unknown flags {flags:#x}")));
    }
    let hlen = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes")) as usize;
    let sum = u64::from_le_bytes(prefix[12..20].try_into().expect("8 bytes"));
    if hlen > MAX_HEADER {
        return Err(corrupt(&format!("a header of {hlen} bytes")));
    }
    Ok((hlen, sum, flags & SUMS_TRAILING != 0))
}

/// The parsed header (`hbytes`, whose checksum the prefix gave as `sum`): the value to
/// fill, its frames' descriptors, and where the header ends.
fn parse_header(hbytes: &[u8], sum: u64, what: &str) -> Result<(Pending, Vec<FrameMeta>, usize)> {
    if !super::frame::sum_matches(hbytes, sum) {
        return Err(Error::Corrupt(format!(
            "{what}: the header's checksum does not match (the data was damaged)"
        )));
    }
    let mut r = Reader::new(hbytes, what);
    let (pending, expected) = parse(&mut r)?;
    let nframes = r.u32()? as usize;
    if nframes != expected.len() {
        return Err(r.corrupt(format!("{nframes} frames, expected {}", expected.len())));
    }
    let metas = (0..nframes)
        .map(|_| FrameMeta::read(&mut r))
        .collect::<Result<Vec<_>>>()?;
    r.finished()?;
    for (m, &want) in metas.iter().zip(&expected) {
        if want != usize::MAX && m.raw_len != want {
            return Err(r.corrupt(format!(
                "a frame of {} bytes where the layout needs {want}",
                m.raw_len
            )));
        }
    }
    Ok((pending, metas, PREFIX + hbytes.len()))
}

/// The parsed header of a message held in memory, its frames checked to be there.
fn header_in(bytes: &[u8], what: &str) -> Result<(Pending, Vec<FrameMeta>, usize)> {
    let (hlen, sum, trailing) = prefix_fields(&bytes[..PREFIX.min(bytes.len())], what)?;
    let hbytes = bytes
        .get(PREFIX..PREFIX + hlen)
        .ok_or_else(|| Error::Corrupt(format!("{what}: the header is truncated")))?;
    let (pending, mut metas, head) = parse_header(hbytes, sum, what)?;
    let end = frames_len(&metas, head, trailing, bytes.len(), what)?;
    if trailing {
        // The sums after the frames go where the header would have had them.
        let mut at = end - 8 * trailing_sums(&metas, what)?;
        for m in metas.iter_mut().filter(|m| m.codec == CODEC_RAW) {
            m.checksum = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
            at += 8;
        }
    }
    Ok((pending, metas, head))
}

/// Where the message ends: the header, the frames with their padding, and the trailing
/// sums when `trailing`; checked against `available`.
fn frames_len(
    metas: &[FrameMeta],
    head: usize,
    trailing: bool,
    available: usize,
    what: &str,
) -> Result<usize> {
    let mut n = head + pad(head);
    for m in metas {
        n = n
            .checked_add(m.stored_len)
            .and_then(|n| n.checked_add(pad(m.stored_len)))
            .ok_or_else(|| Error::Corrupt(format!("{what}: frame lengths overflow")))?;
    }
    if trailing {
        n += 8 * metas.iter().filter(|m| m.codec == CODEC_RAW).count();
    }
    if n > available {
        return Err(Error::Corrupt(format!(
            "{what}: the message needs {n} bytes but only {available} are there (truncated)"
        )));
    }
    Ok(n)
}

/// The number of trailing sums of a message with [`SUMS_TRAILING`], whose header must then
/// hold no sum of a raw frame.
fn trailing_sums(metas: &[FrameMeta], what: &str) -> Result<usize> {
    let raw: Vec<&FrameMeta> = metas.iter().filter(|m| m.codec == CODEC_RAW).collect();
    if raw.iter().any(|m| m.checksum != 0) {
        return Err(Error::Corrupt(format!(
            "{what}: a frame's checksum is both in the header and after the frames"
        )));
    }
    Ok(raw.len())
}

/// A dense block stored in one raw frame: dtype, shape, where the frame starts, its
/// descriptor.
pub(super) struct DenseFrame {
    pub(super) dtype: crate::value::DType,
    pub(super) shape: Vec<usize>,
    pub(super) offset: usize,
    pub(super) meta: FrameMeta,
}

/// For a message holding a dense block in one raw (uncompressed) frame, where that frame is,
/// so it can be used where it lies (a mapped file). `None` for every other message.
pub(super) fn dense_frame(bytes: &[u8], what: &str) -> Result<Option<DenseFrame>> {
    let (pending, metas, head) = header_in(bytes, what)?;
    Ok(match (pending, metas.as_slice()) {
        (Pending::DenseShape(dtype, shape), [m]) if m.codec == CODEC_RAW => Some(DenseFrame {
            dtype,
            shape,
            offset: head + pad(head),
            meta: *m,
        }),
        _ => None,
    })
}

/// Decodes a whole message held in memory. `what` names the key or file in errors.
pub fn decode(bytes: &[u8], what: &str) -> Result<Value> {
    let (mut pending, metas, head) = header_in(bytes, what)?;
    let raw: Vec<usize> = metas.iter().map(|m| m.raw_len).collect();
    pending.allocate(&raw, what)?;
    let mut at = head + pad(head);
    for (m, out) in metas.iter().zip(pending.frames_mut()?) {
        restore(m, &bytes[at..at + m.stored_len], out, what)?;
        at += m.stored_len + pad(m.stored_len);
    }
    pending.finish(what)
}

async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf)
        .await
        .map(drop)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                Error::Corrupt(format!("{what}: the data ends early (truncated)"))
            }
            _ => Error::Io(format!("{what}: {e}")),
        })
}

/// Reads one message of at most `available` bytes from `r` (a file's length, a message's
/// length on the wire): raw frames are read straight into the value's memory and checked
/// there; compressed ones go through one buffer.
pub fn read_value(r: &mut impl Read, available: usize, what: &str) -> Result<Value> {
    run_ready(read_value_async(&mut Blocking(r), available, what))
}

/// Runs a future that never waits (its reads and writes go to blocking readers or to
/// memory) to its end, in one poll.
pub(crate) fn run_ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("a future that never waits returned Pending"),
    }
}

/// [`read_value`] from a socket (a value in a network message): the same bytes, the same
/// checks, raw frames read straight from the socket into the value's memory (one copy, the
/// kernel's).
pub async fn read_value_async<R: AsyncRead + Unpin>(
    r: &mut R,
    available: usize,
    what: &str,
) -> Result<Value> {
    let mut prefix = [0u8; PREFIX];
    if available < PREFIX {
        return Err(Error::Corrupt(format!(
            "{what}: {available} bytes, shorter than a message header (truncated?)"
        )));
    }
    read_exact(r, &mut prefix, what).await?;
    let (hlen, sum, trailing) = prefix_fields(&prefix, what)?;
    if PREFIX + hlen > available {
        return Err(Error::Corrupt(format!("{what}: the header is truncated")));
    }
    let mut hbytes = vec![0u8; hlen];
    read_exact(r, &mut hbytes, what).await?;
    let (mut pending, metas, head) = parse_header(&hbytes, sum, what)?;
    frames_len(&metas, head, trailing, available, what)?;
    if trailing {
        trailing_sums(&metas, what)?;
    }
    let raw: Vec<usize> = metas.iter().map(|m| m.raw_len).collect();
    pending.allocate(&raw, what)?;
    let mut skip = [0u8; ALIGN];
    read_exact(r, &mut skip[..pad(head)], what).await?;
    let mut scratch: Vec<u8> = Vec::new();
    let mut computed = Vec::new();
    let damaged = || {
        Error::Corrupt(format!(
            "{what}: a frame's checksum does not match (the data was damaged)"
        ))
    };
    for (m, out) in metas.iter().zip(pending.frames_mut()?) {
        if m.codec == CODEC_RAW {
            if out.len() != m.stored_len {
                return Err(damaged());
            }
            // Hashed piece by piece as it arrives, while each piece is in cache.
            let mut sum = FrameSum::default();
            for piece in out.chunks_mut(HASH_PIECE) {
                read_exact(r, piece, what).await?;
                sum.add(piece);
            }
            if trailing {
                computed.push(sum.finish());
            } else if super::frame::sums_differ(sum.finish(), m.checksum) {
                return Err(damaged());
            }
        } else {
            scratch.clear();
            scratch
                .try_reserve_exact(m.stored_len)
                .map_err(|_| Error::Memory(format!("{what}: no memory to read a frame")))?;
            scratch.resize(m.stored_len, 0);
            read_exact(r, &mut scratch, what).await?;
            restore(m, &scratch, out, what)?;
        }
        read_exact(r, &mut skip[..pad(m.stored_len)], what).await?;
    }
    for c in computed {
        let mut sent = [0u8; 8];
        read_exact(r, &mut sent, what).await?;
        if super::frame::sums_differ(c, u64::from_le_bytes(sent)) {
            return Err(damaged());
        }
    }
    pending.finish(what)
}

/// A blocking reader seen as an async one that is always ready (a file read through
/// [`read_value`]).
struct Blocking<'a, R>(&'a mut R);

impl<R: Read> AsyncRead for Blocking<'_, R> {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.get_mut().0.read(buf.initialize_unfilled())?;
        buf.advance(n);
        std::task::Poll::Ready(Ok(()))
    }
}
