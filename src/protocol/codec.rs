//! Each value kind's layout: what its header says and which raw frames carry its bytes.
//! Encoding borrows the value's memory wherever it is contiguous; decoding allocates the
//! final memory first (`Pending`), so frames are read or decompressed straight into it.

use super::table_codec::{self, PendingTable};
use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
use crate::value::block::contiguous;
use crate::value::{Buffer, DType, Value};
use crate::value::{Coo, Coords};
use std::borrow::Cow;

const KIND_NONE: u8 = 0;
const KIND_BOOL: u8 = 1;
const KIND_INT: u8 = 2;
const KIND_FLOAT: u8 = 3;
const KIND_STR: u8 = 4;
const KIND_BYTES: u8 = 5;
const KIND_DENSE: u8 = 6;
const KIND_SPARSE: u8 = 7;
const KIND_OPAQUE: u8 = 8;
const KIND_PARAMS: u8 = 9;
const KIND_TABLE: u8 = 10;

/// Most axes a header may declare (NumPy's limit is 64).
const MAX_NDIM: u32 = 64;

/// The bytes of a contiguous buffer (its storage must outlive the borrow).
fn bytes_of(b: &Buffer) -> &[u8] {
    if b.is_empty() {
        return &[];
    }
    // SAFETY: a C-contiguous buffer of `len` elements of `itemsize` bytes starts at `as_ptr`.
    unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len() * b.dtype().itemsize()) }
}

fn coords_bytes(c: &Coords) -> &[u8] {
    fn cast<T>(v: &[T]) -> &[u8] {
        // SAFETY: plain unsigned integers; any byte view of them is valid.
        unsafe { std::slice::from_raw_parts(v.as_ptr().cast(), std::mem::size_of_val(v)) }
    }
    match c {
        Coords::U8(v) => cast(v),
        Coords::U16(v) => cast(v),
        Coords::U32(v) => cast(v),
        Coords::U64(v) => cast(v),
    }
}

fn write_shape(w: &mut Writer, dtype: DType, shape: &[usize]) {
    w.u32(dtype as u32);
    w.u32(shape.len() as u32);
    for &n in shape {
        w.u64(n as u64);
    }
}

/// The header body of `v` and its raw frames.
pub(super) fn layout(v: &Value) -> Result<(Writer, Vec<Cow<'_, [u8]>>)> {
    let mut w = Writer::default();
    let mut frames: Vec<Cow<[u8]>> = Vec::new();
    match v {
        Value::None => w.u8(KIND_NONE),
        Value::Bool(b) => {
            w.u8(KIND_BOOL);
            w.u8(*b as u8);
        }
        Value::Int(i) => {
            w.u8(KIND_INT);
            w.u64(*i as u64);
        }
        Value::Float(f) => {
            w.u8(KIND_FLOAT);
            w.u64(f.to_bits());
        }
        Value::Str(s) => {
            w.u8(KIND_STR);
            frames.push(Cow::Borrowed(s.as_bytes()));
        }
        Value::Bytes(b) => {
            w.u8(KIND_BYTES);
            frames.push(Cow::Borrowed(&b[..]));
        }
        Value::Buffer(b) => {
            w.u8(KIND_DENSE);
            write_shape(&mut w, b.dtype(), b.shape());
            if b.is_c_contiguous() {
                frames.push(Cow::Borrowed(bytes_of(b)));
            } else {
                // A strided view: gathered into C order once.
                frames.push(Cow::Owned(bytes_of(&contiguous(b)?).to_vec()));
            }
        }
        Value::Sparse(c) => {
            w.u8(KIND_SPARSE);
            write_shape(&mut w, c.dtype(), c.shape());
            w.u8(c.coords().width() as u8);
            w.u64(c.nnz() as u64);
            w.raw(&c.fill); // all 8 bytes, whatever the dtype
            frames.push(Cow::Borrowed(coords_bytes(c.coords())));
            frames.push(Cow::Borrowed(bytes_of(c.data())));
        }
        Value::Opaque(o) => {
            let Some(codec) = o.codec() else {
                return Err(Error::NotImplemented(
                    "an opaque host value has no serializer (register a codec): it cannot \
                     be spilled or sent"
                        .into(),
                ));
            };
            w.u8(KIND_OPAQUE);
            let name = codec.name().as_bytes();
            w.u32(name.len() as u32);
            w.raw(name);
            w.u64(o.nbytes() as u64);
            frames.push(Cow::Owned(codec.serialize(o.address())?));
        }
        Value::Table(batch) => {
            w.u8(KIND_TABLE);
            table_codec::layout(batch, &mut w, &mut frames)?;
        }
        Value::Params(p) => {
            // The tag and each buffer's layout in the header; the parameters' bytes, then
            // each buffer's bytes, in frames.
            let mut pw = crate::value::ParamsWriter::default();
            p.encode(&mut pw);
            w.u8(KIND_PARAMS);
            let tag = p.tag().as_bytes();
            w.u32(tag.len() as u32);
            w.raw(tag);
            w.u32(pw.buffers.len() as u32);
            for b in &pw.buffers {
                write_shape(&mut w, b.dtype(), b.shape());
            }
            frames.push(Cow::Owned(pw.bytes));
            for b in &pw.buffers {
                frames.push(Cow::Owned(bytes_of(&contiguous(b)?).to_vec()));
            }
        }
    }
    Ok((w, frames))
}

/// A decoded value whose frames are still to be filled in.
pub(super) enum Pending {
    Ready(Value),
    Str(Vec<u8>),
    Bytes(Vec<u8>),
    /// A dense block before its memory is allocated.
    DenseShape(DType, Vec<usize>),
    Dense(Buffer),
    Opaque {
        codec: String,
        nbytes: usize,
        bytes: Vec<u8>,
    },
    Sparse {
        shape: Vec<usize>,
        coords: Coords,
        data: Buffer,
        fill: [u8; 8],
    },
    /// A table partition: its schema and arrays, then its buffers' memory.
    Table(PendingTable),
    /// Operation parameters: the tag, the byte stream, the buffers (their layouts first,
    /// then their memory once allocated).
    Params {
        tag: String,
        bytes: Vec<u8>,
        layouts: Vec<(DType, Vec<usize>)>,
        buffers: Vec<Buffer>,
    },
}

fn read_shape(r: &mut Reader) -> Result<(DType, Vec<usize>)> {
    let code = r.u32()?;
    let dtype = DType::from_code(code).map_err(|_| r.corrupt(format!("dtype code {code}")))?;
    let ndim = r.u32()?;
    if ndim > MAX_NDIM {
        return Err(r.corrupt(format!("{ndim} dimensions")));
    }
    let shape = (0..ndim).map(|_| r.len()).collect::<Result<Vec<_>>>()?;
    Ok((dtype, shape))
}

/// Zeroed bytes for a frame of `n` bytes (an error, not an abort, when memory is short).
fn byte_vec(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::Memory(format!("cannot allocate {n} bytes to read a value")))?;
    v.resize(n, 0);
    Ok(v)
}

fn zeroed_coords(width: u8, n: usize, r: &Reader) -> Result<Coords> {
    let short = || Error::Memory(format!("cannot allocate {n} coordinates to read a value"));
    fn zeroed<T: Clone + Default>(n: usize) -> Option<Vec<T>> {
        let mut v = Vec::new();
        v.try_reserve_exact(n).ok()?;
        v.resize(n, T::default());
        Some(v)
    }
    Ok(match width {
        1 => Coords::U8(zeroed(n).ok_or_else(short)?),
        2 => Coords::U16(zeroed(n).ok_or_else(short)?),
        4 => Coords::U32(zeroed(n).ok_or_else(short)?),
        8 => Coords::U64(zeroed(n).ok_or_else(short)?),
        w => return Err(r.corrupt(format!("coordinate width {w}"))),
    })
}

/// Parses the header body; returns the value to fill and the raw size of each frame.
pub(super) fn parse(r: &mut Reader) -> Result<(Pending, Vec<usize>)> {
    let kind = r.u8()?;
    Ok(match kind {
        KIND_NONE => (Pending::Ready(Value::None), vec![]),
        KIND_BOOL => (Pending::Ready(Value::Bool(r.u8()? != 0)), vec![]),
        KIND_INT => (Pending::Ready(Value::Int(r.u64()? as i64)), vec![]),
        KIND_FLOAT => (
            Pending::Ready(Value::Float(f64::from_bits(r.u64()?))),
            vec![],
        ),
        // Lengths of strings and bytes come with their frame (checked against the input).
        KIND_STR => (Pending::Str(Vec::new()), vec![usize::MAX]),
        KIND_BYTES => (Pending::Bytes(Vec::new()), vec![usize::MAX]),
        KIND_DENSE => {
            let (dtype, shape) = read_shape(r)?;
            let n = shape
                .iter()
                .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| r.corrupt(format!("dense block {shape:?} is too large")))?;
            (Pending::DenseShape(dtype, shape), vec![n])
        }
        KIND_SPARSE => {
            let (dtype, shape) = read_shape(r)?;
            let width = r.u8()?;
            let nnz = r.len()?;
            let fill: [u8; 8] = r.take(8)?.try_into().expect("8 bytes");
            let ncoords = nnz
                .checked_mul(shape.len())
                .ok_or_else(|| r.corrupt("coordinate count overflows"))?;
            let coords_len = ncoords
                .checked_mul(width as usize)
                .ok_or_else(|| r.corrupt("coordinate bytes overflow"))?;
            let data_len = nnz
                .checked_mul(dtype.itemsize())
                .ok_or_else(|| r.corrupt("data length overflows"))?;
            // Sizes are only checked against the frames' lengths here; nothing is allocated
            // until the frames are known to be that long (see `allocate`).
            (
                Pending::Sparse {
                    shape,
                    coords: zeroed_coords(width, 0, r)?,
                    data: Buffer::zeros(dtype, &[0])?,
                    fill,
                },
                vec![coords_len, data_len],
            )
        }
        KIND_OPAQUE => {
            let n = r.u32()? as usize;
            let codec = String::from_utf8(r.take(n)?.to_vec())
                .map_err(|_| r.corrupt("a codec name is not UTF-8"))?;
            let nbytes = r.len()?;
            (
                Pending::Opaque {
                    codec,
                    nbytes,
                    bytes: Vec::new(),
                },
                vec![usize::MAX],
            )
        }
        KIND_PARAMS => {
            let n = r.u32()? as usize;
            let tag = String::from_utf8(r.take(n)?.to_vec())
                .map_err(|_| r.corrupt("a parameter tag is not UTF-8"))?;
            let nbuf = r.u32()?;
            if nbuf > 1024 {
                return Err(r.corrupt(format!("{nbuf} parameter buffers")));
            }
            let mut layouts = Vec::new();
            let mut sizes = vec![usize::MAX]; // the byte stream's length comes with its frame
            for _ in 0..nbuf {
                let (dtype, shape) = read_shape(r)?;
                let n = shape
                    .iter()
                    .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d))
                    .ok_or_else(|| {
                        r.corrupt(format!("a parameter buffer {shape:?} is too large"))
                    })?;
                sizes.push(n);
                layouts.push((dtype, shape));
            }
            (
                Pending::Params {
                    tag,
                    bytes: Vec::new(),
                    layouts,
                    buffers: Vec::new(),
                },
                sizes,
            )
        }
        KIND_TABLE => {
            let (table, sizes) = table_codec::parse(r)?;
            (Pending::Table(table), sizes)
        }
        k => return Err(r.corrupt(format!("value kind {k}"))),
    })
}

impl Pending {
    /// Allocates the memory of the frames once their raw sizes (`raw`) are known to match
    /// the header's.
    pub(super) fn allocate(&mut self, raw: &[usize], what: &str) -> Result<()> {
        match self {
            Pending::Ready(_) | Pending::Dense(_) => {}
            Pending::DenseShape(dtype, shape) => {
                *self = Pending::Dense(Buffer::to_fill(*dtype, shape)?)
            }
            Pending::Str(v) | Pending::Bytes(v) | Pending::Opaque { bytes: v, .. } => {
                *v = byte_vec(raw[0])?
            }
            Pending::Table(t) => t.allocate(raw)?,
            Pending::Sparse {
                shape,
                coords,
                data,
                ..
            } => {
                let dtype = data.dtype();
                let nnz = raw[1] / dtype.itemsize();
                let r = Reader::new(&[], what);
                *coords = zeroed_coords(coords.width() as u8, nnz * shape.len(), &r)?;
                *data = Buffer::zeros(dtype, &[nnz])?;
            }
            Pending::Params {
                bytes,
                layouts,
                buffers,
                ..
            } => {
                *bytes = byte_vec(raw[0])?;
                *buffers = layouts
                    .iter()
                    .map(|(d, s)| Buffer::zeros(*d, s))
                    .collect::<Result<_>>()?;
            }
        }
        Ok(())
    }

    /// The memory of each frame, to be filled in order.
    pub(super) fn frames_mut(&mut self) -> Result<Vec<&mut [u8]>> {
        fn cast<T>(v: &mut [T]) -> &mut [u8] {
            // SAFETY: plain unsigned integers; any bytes are valid values.
            unsafe {
                std::slice::from_raw_parts_mut(v.as_mut_ptr().cast(), std::mem::size_of_val(v))
            }
        }
        Ok(match self {
            Pending::Ready(_) | Pending::DenseShape(..) => vec![],
            Pending::Str(v) | Pending::Bytes(v) | Pending::Opaque { bytes: v, .. } => {
                vec![&mut v[..]]
            }
            Pending::Dense(b) => vec![b.as_mut_bytes()?],
            Pending::Table(t) => t.frames_mut(),
            Pending::Sparse { coords, data, .. } => {
                let c = match coords {
                    Coords::U8(v) => cast(v),
                    Coords::U16(v) => cast(v),
                    Coords::U32(v) => cast(v),
                    Coords::U64(v) => cast(v),
                };
                vec![c, data.as_mut_bytes()?]
            }
            Pending::Params { bytes, buffers, .. } => {
                let mut out: Vec<&mut [u8]> = vec![&mut bytes[..]];
                for b in buffers.iter_mut() {
                    out.push(b.as_mut_bytes()?);
                }
                out
            }
        })
    }

    /// The value, its invariants checked (a sparse array's coordinates must be canonical).
    pub(super) fn finish(self, what: &str) -> Result<Value> {
        Ok(match self {
            Pending::Ready(v) => v,
            Pending::Str(v) => Value::Str(
                String::from_utf8(v)
                    .map_err(|_| Error::Corrupt(format!("{what}: a string is not UTF-8")))?
                    .into(),
            ),
            Pending::Bytes(v) => Value::Bytes(v.into()),
            Pending::Opaque {
                codec,
                nbytes,
                bytes,
            } => {
                let c = crate::value::opaque_codec(&codec).ok_or_else(|| {
                    Error::NotFound(format!(
                        "{what}: no opaque codec named '{codec}' is registered"
                    ))
                })?;
                let address = c.deserialize(&bytes)?;
                Value::Opaque(crate::value::Opaque::with_codec(address, c, nbytes))
            }
            Pending::Dense(b) => Value::Buffer(b),
            Pending::Table(t) => Value::Table(t.finish(what)?),
            Pending::DenseShape(..) => {
                return Err(Error::Corrupt(format!("{what}: a frame is missing")))
            }
            Pending::Params {
                tag,
                bytes,
                buffers,
                ..
            } => Value::Params(crate::value::decode_params(&tag, &bytes, buffers, what)?),
            Pending::Sparse {
                shape,
                coords,
                data,
                fill,
            } => Value::Sparse(
                Coo::from_checked_parts(&shape, coords, data, fill)
                    .map_err(|e| Error::Corrupt(format!("{what}: sparse block: {e}")))?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzz/fuzz_targets/decode.rs: a sparse header whose coordinate count fits
    /// but whose coordinate bytes do not overflowed (a panic where overflow is checked, a
    /// wrong frame length where it wraps).
    #[test]
    fn a_sparse_header_whose_coordinate_bytes_overflow_is_an_error() {
        let mut w = Writer { bytes: Vec::new() };
        w.u8(KIND_SPARSE);
        write_shape(&mut w, DType::Float64, &[1, 1]);
        w.u8(8);
        w.u64((usize::MAX / 2) as u64);
        w.raw(&[0; 8]);
        let e = parse(&mut Reader::new(&w.bytes, "key-3"))
            .err()
            .expect("an error");
        assert!(e.to_string().contains("coordinate bytes overflow"), "{e}");
    }
}
