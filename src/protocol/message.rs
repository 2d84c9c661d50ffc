//! Whole messages: the fixed prefix, the checksummed header, the frames at 64-byte offsets.
//! Written to any `Write` (a spill file, later a socket) without assembling a copy; read
//! from any `Read` with the frames going straight into the value's final memory.

use super::codec::{layout, parse, Pending};
use super::frame::{restore, store, verify_in_place, Compression, FrameMeta, CODEC_RAW};
use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
use crate::value::Value;
use std::borrow::Cow;
use std::io::{Read, Write};

const MAGIC: &[u8; 4] = b"DSKv";
const VERSION: u16 = 1;
/// magic, version, flags, header length, header checksum.
const PREFIX: usize = 4 + 2 + 2 + 4 + 8;
/// Frames start at multiples of this offset in a message.
const ALIGN: usize = 64;
/// Largest header accepted (a 64-d shape and a few frames take well under 1 KiB).
const MAX_HEADER: usize = 1 << 16;

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

    /// Writes the message to a stream.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        const ZEROS: [u8; ALIGN] = [0; ALIGN];
        let head = self.sealed_head();
        w.write_all(&head)?;
        w.write_all(&ZEROS[..pad(head.len())])?;
        for f in &self.frames {
            w.write_all(f)?;
            w.write_all(&ZEROS[..pad(f.len())])?;
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

/// The parsed prefix and header: the value to fill, and its frames' descriptors.
fn header(
    prefix: &[u8],
    read_header: impl FnOnce(usize) -> Result<Vec<u8>>,
    what: &str,
) -> Result<(Pending, Vec<FrameMeta>, usize)> {
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
    let hlen = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes")) as usize;
    let sum = u64::from_le_bytes(prefix[12..20].try_into().expect("8 bytes"));
    if hlen > MAX_HEADER {
        return Err(corrupt(&format!("a header of {hlen} bytes")));
    }
    let hbytes = read_header(hlen)?;
    if super::frame::checksum(&hbytes) != sum {
        return Err(corrupt(
            "the header's checksum does not match (the data was damaged)",
        ));
    }
    let mut r = Reader::new(&hbytes, what);
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
    Ok((pending, metas, PREFIX + hlen))
}

/// The parsed header of a message held in memory, its frames checked to be there.
fn header_in(bytes: &[u8], what: &str) -> Result<(Pending, Vec<FrameMeta>, usize)> {
    let (pending, metas, head) = header(
        &bytes[..PREFIX.min(bytes.len())],
        |hlen| {
            bytes
                .get(PREFIX..PREFIX + hlen)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| Error::Corrupt(format!("{what}: the header is truncated")))
        },
        what,
    )?;
    frames_len(&metas, head, bytes.len(), what)?;
    Ok((pending, metas, head))
}

/// The frames' total length in the message (with padding), checked against `available`.
fn frames_len(metas: &[FrameMeta], head: usize, available: usize, what: &str) -> Result<()> {
    let mut n = head + pad(head);
    for m in metas {
        n = n
            .checked_add(m.stored_len)
            .and_then(|n| n.checked_add(pad(m.stored_len)))
            .ok_or_else(|| Error::Corrupt(format!("{what}: frame lengths overflow")))?;
    }
    if n > available {
        return Err(Error::Corrupt(format!(
            "{what}: the message needs {n} bytes but only {available} are there (truncated)"
        )));
    }
    Ok(())
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

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
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
    let mut prefix = [0u8; PREFIX];
    if available < PREFIX {
        return Err(Error::Corrupt(format!(
            "{what}: {available} bytes, shorter than a message header (truncated?)"
        )));
    }
    read_exact(r, &mut prefix, what)?;
    let (mut pending, metas, head) = header(
        &prefix,
        |hlen| {
            if PREFIX + hlen > available {
                return Err(Error::Corrupt(format!("{what}: the header is truncated")));
            }
            let mut h = vec![0u8; hlen];
            read_exact(r, &mut h, what)?;
            Ok(h)
        },
        what,
    )?;
    frames_len(&metas, head, available, what)?;
    let raw: Vec<usize> = metas.iter().map(|m| m.raw_len).collect();
    pending.allocate(&raw, what)?;
    let mut skip = [0u8; ALIGN];
    read_exact(r, &mut skip[..pad(head)], what)?;
    let mut scratch: Vec<u8> = Vec::new();
    for (m, out) in metas.iter().zip(pending.frames_mut()?) {
        if m.codec == CODEC_RAW {
            read_exact(r, out, what)?;
            verify_in_place(m, out, what)?;
        } else {
            scratch.clear();
            scratch
                .try_reserve_exact(m.stored_len)
                .map_err(|_| Error::Memory(format!("{what}: no memory to read a frame")))?;
            scratch.resize(m.stored_len, 0);
            read_exact(r, &mut scratch, what)?;
            restore(m, &scratch, out, what)?;
        }
        read_exact(r, &mut skip[..pad(m.stored_len)], what)?;
    }
    pending.finish(what)
}
