//! One frame: raw bytes, maybe lz4-compressed, with the checksum of what is stored.
//!
//! Compression is decided per frame the way Dask's `maybe_compress` does: small frames are
//! stored as they are; larger ones have a sample compressed first, and are compressed only
//! when the sample shrinks by more than 10% (random floats do not, zeros and repeated
//! patterns do); a compressed frame that did not shrink by 10% is stored raw after all.

use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// Whether frames are lz4-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// When a sample shows it pays (the default).
    #[default]
    Auto,
    /// Every frame that shrinks.
    Lz4,
    /// Never.
    None,
}

impl Compression {
    /// From the C ABI's code: 0 auto, 1 lz4, 2 none.
    pub fn from_code(code: u32) -> Result<Compression> {
        match code {
            0 => Ok(Compression::Auto),
            1 => Ok(Compression::Lz4),
            2 => Ok(Compression::None),
            c => Err(Error::invalid(format!(
                "compression {c} is not DASK_COMPRESSION_AUTO, _LZ4 or _NONE"
            ))),
        }
    }
}

/// Frames below this size are never compressed (the header would dominate).
const MIN_COMPRESS: usize = 10_000;
/// Bytes sampled (in five evenly spaced pieces) to decide.
const SAMPLE: usize = 10_000;
/// Compression is kept only below this fraction of the original size.
const KEEP_RATIO: f64 = 0.9;
/// LZ4 cannot expand data by more than this factor: a larger claimed size is corrupt.
const MAX_LZ4_RATIO: usize = 255;

pub(super) const CODEC_RAW: u8 = 0;
pub(super) const CODEC_LZ4: u8 = 1;

/// A frame's descriptor in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameMeta {
    pub(super) raw_len: usize,
    pub(super) stored_len: usize,
    pub(super) codec: u8,
    pub(super) checksum: u64,
}

impl FrameMeta {
    pub(super) fn write(&self, w: &mut Writer) {
        w.u64(self.raw_len as u64);
        w.u64(self.stored_len as u64);
        w.u8(self.codec);
        w.u64(self.checksum);
    }

    pub(super) fn read(r: &mut Reader) -> Result<FrameMeta> {
        let m = FrameMeta {
            raw_len: r.len()?,
            stored_len: r.len()?,
            codec: r.u8()?,
            checksum: r.u64()?,
        };
        let consistent = match m.codec {
            CODEC_RAW => m.raw_len == m.stored_len,
            CODEC_LZ4 => {
                m.raw_len
                    <= m.stored_len
                        .saturating_mul(MAX_LZ4_RATIO)
                        .saturating_add(64)
            }
            _ => false,
        };
        if !consistent {
            return Err(r.corrupt(format!(
                "frame of {} bytes stored as {} with codec {}",
                m.raw_len, m.stored_len, m.codec
            )));
        }
        Ok(m)
    }
}

pub(super) fn checksum(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// Five evenly spaced pieces of `raw`, `SAMPLE` bytes in all.
fn sample(raw: &[u8]) -> Vec<u8> {
    let piece = SAMPLE / 5;
    let step = (raw.len() - piece) / 4;
    (0..5)
        .flat_map(|k| &raw[k * step..k * step + piece])
        .copied()
        .collect()
}

fn lz4(raw: &[u8]) -> Vec<u8> {
    super::lz4::compress(raw)
}

/// The stored form of `raw` under `setting`, with its descriptor. A frame stored raw gets
/// its checksum later, while it is written (`Encoded` knows which ones): hashing a large
/// block piece by piece just before each piece is copied out reads it from memory once, not
/// twice.
pub(super) fn store(raw: &[u8], setting: Compression) -> (FrameMeta, Cow<'_, [u8]>) {
    let compressed = match setting {
        Compression::None => None,
        _ if raw.len() < MIN_COMPRESS => None,
        Compression::Auto => {
            let s = sample(raw);
            if (lz4(&s).len() as f64) < KEEP_RATIO * s.len() as f64 {
                Some(lz4(raw))
            } else {
                None
            }
        }
        Compression::Lz4 => Some(lz4(raw)),
    }
    .filter(|c| (c.len() as f64) < KEEP_RATIO * raw.len() as f64);
    let (codec, stored) = match compressed {
        Some(c) => (CODEC_LZ4, Cow::Owned(c)),
        None => (CODEC_RAW, Cow::Borrowed(raw)),
    };
    let meta = FrameMeta {
        raw_len: raw.len(),
        stored_len: stored.len(),
        codec,
        checksum: if codec == CODEC_RAW {
            0
        } else {
            checksum(&stored)
        },
    };
    (meta, stored)
}

/// Whether `bytes` have the checksum `sum` — always, in a fuzzing build (`cargo fuzz` sets
/// `cfg(fuzzing)`): a fuzzer cannot make checksums, and the decoders behind them are what
/// it is there to reach.
pub(super) fn sum_matches(bytes: &[u8], sum: u64) -> bool {
    cfg!(fuzzing) || checksum(bytes) == sum
}

/// Whether a checksum computed piece by piece differs from the one sent (never, in a
/// fuzzing build: see [`sum_matches`]).
pub(super) fn sums_differ(computed: u64, sent: u64) -> bool {
    !cfg!(fuzzing) && computed != sent
}

/// Checks a stored frame and writes its raw bytes into `out` (`meta.raw_len` bytes).
pub(super) fn restore(meta: &FrameMeta, stored: &[u8], out: &mut [u8], what: &str) -> Result<()> {
    if stored.len() != meta.stored_len || out.len() != meta.raw_len {
        return Err(Error::Corrupt(format!("{what}: a frame is truncated")));
    }
    if !sum_matches(stored, meta.checksum) {
        return Err(Error::Corrupt(format!(
            "{what}: a frame's checksum does not match (the data was damaged)"
        )));
    }
    match meta.codec {
        CODEC_RAW => out.copy_from_slice(stored),
        _ => super::lz4::decompress(stored, out, what)?,
    }
    Ok(())
}

/// Checks a raw frame in place (no copy), for frames read straight into their final memory.
pub(super) fn verify_in_place(meta: &FrameMeta, bytes: &[u8], what: &str) -> Result<()> {
    if bytes.len() != meta.stored_len || !sum_matches(bytes, meta.checksum) {
        return Err(Error::Corrupt(format!(
            "{what}: a frame's checksum does not match (the data was damaged)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(raw_len: u64, stored_len: u64, codec: u8) -> Vec<u8> {
        let mut w = Writer { bytes: Vec::new() };
        w.u64(raw_len);
        w.u64(stored_len);
        w.u8(codec);
        w.u64(0);
        w.bytes
    }

    /// Found by fuzz/fuzz_targets/decode.rs: a compressed frame claiming a stored length
    /// near the top of `usize` overflowed the ratio check (a panic where overflow is
    /// checked, a wrong bound where it wraps).
    #[test]
    fn descriptors_with_extreme_lengths_are_errors() {
        // (raw length, stored length, codec, consistent by the descriptor alone: a frame
        // as large as memory is; its length is checked against the message's later).
        for (raw, stored, codec, consistent) in [
            (u64::MAX, u64::MAX, CODEC_LZ4, true),
            (u64::MAX, u64::MAX / 2, CODEC_LZ4, true),
            (1 << 40, 1, CODEC_LZ4, false),
            (u64::MAX, 3, CODEC_RAW, false),
            (5, 5, 7, false),
        ] {
            let bytes = descriptor(raw, stored, codec);
            let m = FrameMeta::read(&mut Reader::new(&bytes, "key-1"));
            assert_eq!(m.is_ok(), consistent, "{raw} {stored} {codec}");
        }
        let ok = descriptor(4096, 100, CODEC_LZ4);
        assert!(FrameMeta::read(&mut Reader::new(&ok, "key-1")).is_ok());
    }
}
