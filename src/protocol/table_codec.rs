//! A table partition (an Arrow record batch) on the wire: its schema and every array's
//! layout in the header, every Arrow buffer as a raw frame of its own bytes (borrowed on
//! encode, so a partition spills and travels without being copied into a message first).
//!
//! Decoding allocates each buffer (64-byte aligned, as Arrow wants) once the frames are known
//! to be as long as the header says, reads the frames into them, and rebuilds the arrays with
//! Arrow's full validation (offsets, UTF-8, dictionary keys in range): bytes from a damaged
//! file or a hostile peer give an error, never an array that lies about its contents.

use super::wire::{Reader, Writer};
use crate::error::{Error, Result};
use crate::table::{check_type, DICTIONARY_VALUE_TYPES};
use arrow_array::{make_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_buffer::{BooleanBuffer, Buffer, MutableBuffer, NullBuffer};
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::borrow::Cow;
use std::sync::Arc;

/// Most columns a header may declare.
const MAX_COLUMNS: u32 = 1 << 20;

/// Most buffers one array may declare (Arrow's types here have at most 3).
const MAX_BUFFERS: u32 = 4;

/// Type codes of the supported Arrow types.
const T_BOOL: u8 = 0;
const T_I8: u8 = 1;
const T_I16: u8 = 2;
const T_I32: u8 = 3;
const T_I64: u8 = 4;
const T_U8: u8 = 5;
const T_U16: u8 = 6;
const T_U32: u8 = 7;
const T_U64: u8 = 8;
const T_F32: u8 = 9;
const T_F64: u8 = 10;
const T_UTF8: u8 = 11;
const T_LARGE_UTF8: u8 = 12;
const T_DATE32: u8 = 13;
const T_TIMESTAMP: u8 = 14;
const T_DICTIONARY: u8 = 15;

fn write_str(w: &mut Writer, s: &str) {
    w.u32(s.len() as u32);
    w.raw(s.as_bytes());
}

fn read_str(r: &mut Reader) -> Result<String> {
    let n = r.u32()? as usize;
    String::from_utf8(r.take(n)?.to_vec()).map_err(|_| r.corrupt("a name is not UTF-8"))
}

fn write_type(w: &mut Writer, t: &DataType) {
    let code = match t {
        DataType::Boolean => T_BOOL,
        DataType::Int8 => T_I8,
        DataType::Int16 => T_I16,
        DataType::Int32 => T_I32,
        DataType::Int64 => T_I64,
        DataType::UInt8 => T_U8,
        DataType::UInt16 => T_U16,
        DataType::UInt32 => T_U32,
        DataType::UInt64 => T_U64,
        DataType::Float32 => T_F32,
        DataType::Float64 => T_F64,
        DataType::Utf8 => T_UTF8,
        DataType::LargeUtf8 => T_LARGE_UTF8,
        DataType::Date32 => T_DATE32,
        DataType::Timestamp(unit, tz) => {
            w.u8(T_TIMESTAMP);
            w.u8(match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            });
            write_str(w, tz.as_deref().unwrap_or(""));
            return;
        }
        DataType::Dictionary(key, value) => {
            w.u8(T_DICTIONARY);
            write_type(w, key); // checked: an integer type (no further nesting)
            write_type(w, value); // checked: one of DICTIONARY_VALUE_TYPES
            return;
        }
        other => unreachable!("{other} was refused by check_type"),
    };
    w.u8(code);
}

/// A type without dictionaries, or a dictionary of such types (`nested` false inside one).
fn read_type(r: &mut Reader, nested: bool) -> Result<DataType> {
    Ok(match r.u8()? {
        T_BOOL => DataType::Boolean,
        T_I8 => DataType::Int8,
        T_I16 => DataType::Int16,
        T_I32 => DataType::Int32,
        T_I64 => DataType::Int64,
        T_U8 => DataType::UInt8,
        T_U16 => DataType::UInt16,
        T_U32 => DataType::UInt32,
        T_U64 => DataType::UInt64,
        T_F32 => DataType::Float32,
        T_F64 => DataType::Float64,
        T_UTF8 => DataType::Utf8,
        T_LARGE_UTF8 => DataType::LargeUtf8,
        T_DATE32 => DataType::Date32,
        T_TIMESTAMP => {
            let unit = match r.u8()? {
                0 => TimeUnit::Second,
                1 => TimeUnit::Millisecond,
                2 => TimeUnit::Microsecond,
                3 => TimeUnit::Nanosecond,
                u => return Err(r.corrupt(format!("timestamp unit {u}"))),
            };
            let tz = read_str(r)?;
            DataType::Timestamp(unit, (!tz.is_empty()).then(|| tz.into()))
        }
        T_DICTIONARY if nested => {
            let key = read_type(r, false)?;
            let value = read_type(r, false)?;
            if !key.is_dictionary_key_type() || !DICTIONARY_VALUE_TYPES.contains(&value) {
                return Err(r.corrupt(format!("a dictionary of {key} keys and {value} values")));
            }
            DataType::Dictionary(Box::new(key), Box::new(value))
        }
        c => return Err(r.corrupt(format!("column type code {c}"))),
    })
}

/// The bytes of an Arrow buffer, for as long as the batch that holds it.
///
/// SAFETY (of the lifetime): Arrow buffers are immutable and reference-counted; `to_data()`
/// clones the references of the batch's own arrays, so the batch borrowed as `'a` keeps
/// these bytes alive and unchanged for `'a`.
fn borrowed<'a>(b: &Buffer) -> Cow<'a, [u8]> {
    Cow::Borrowed(unsafe { std::slice::from_raw_parts(b.as_ptr(), b.len()) })
}

/// One array's layout (length, offset, nulls, buffer lengths) and frames (nulls first).
fn write_array<'a>(w: &mut Writer, frames: &mut Vec<Cow<'a, [u8]>>, d: &ArrayData) {
    w.u64(d.len() as u64);
    w.u64(d.offset() as u64);
    match d.nulls() {
        Some(n) => {
            w.u8(1);
            w.u64(n.offset() as u64);
            frames.push(borrowed(n.buffer()));
        }
        None => w.u8(0),
    }
    w.u32(d.buffers().len() as u32);
    for b in d.buffers() {
        frames.push(borrowed(b));
    }
}

/// The header body (after the kind) and frames of a partition.
pub(super) fn layout<'a>(
    batch: &'a RecordBatch,
    w: &mut Writer,
    frames: &mut Vec<Cow<'a, [u8]>>,
) -> Result<()> {
    let schema = batch.schema();
    w.u32(schema.fields().len() as u32);
    w.u64(batch.num_rows() as u64);
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        check_type(field.data_type())
            .map_err(|e| Error::NotImplemented(format!("column '{}': {e}", field.name())))?;
        write_str(w, field.name());
        w.u8(field.is_nullable() as u8);
        write_type(w, field.data_type());
        let data = column.to_data();
        write_array(w, frames, &data);
        if let DataType::Dictionary(..) = field.data_type() {
            write_array(w, frames, &data.child_data()[0]);
        }
    }
    Ok(())
}

/// An array's layout as the header gives it; its buffers come from the frames.
pub(super) struct ArrayLayout {
    len: usize,
    offset: usize,
    /// The null bitmap's bit offset, when there is one (its bytes are the first frame).
    nulls: Option<usize>,
    buffers: usize,
}

/// A partition before its frames are read: the schema, each column's arrays (the
/// dictionary's values after its keys), and the memory the frames go into.
pub(super) struct PendingTable {
    rows: usize,
    fields: Vec<Field>,
    arrays: Vec<Vec<ArrayLayout>>,
    memory: Vec<MutableBuffer>,
}

fn read_array(r: &mut Reader, sizes: &mut Vec<usize>) -> Result<ArrayLayout> {
    let len = r.len()?;
    let offset = r.len()?;
    let nulls = match r.u8()? {
        0 => None,
        1 => {
            sizes.push(usize::MAX);
            Some(r.len()?)
        }
        b => return Err(r.corrupt(format!("null flag {b}"))),
    };
    let buffers = r.u32()?;
    if buffers > MAX_BUFFERS {
        return Err(r.corrupt(format!("{buffers} buffers in one array")));
    }
    // Each buffer's length comes with its frame; Arrow checks it against the type and
    // length when the array is built.
    sizes.extend(std::iter::repeat_n(usize::MAX, buffers as usize));
    Ok(ArrayLayout {
        len,
        offset,
        nulls,
        buffers: buffers as usize,
    })
}

/// Parses the header body (after the kind); the frames' sizes come with the frames.
pub(super) fn parse(r: &mut Reader) -> Result<(PendingTable, Vec<usize>)> {
    let ncols = r.u32()?;
    if ncols > MAX_COLUMNS {
        return Err(r.corrupt(format!("{ncols} columns")));
    }
    let rows = r.len()?;
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    let mut sizes = Vec::new();
    for _ in 0..ncols {
        let name = read_str(r)?;
        let nullable = match r.u8()? {
            0 => false,
            1 => true,
            b => return Err(r.corrupt(format!("nullable flag {b}"))),
        };
        let t = read_type(r, true)?;
        let mut column = vec![read_array(r, &mut sizes)?];
        if let DataType::Dictionary(..) = t {
            column.push(read_array(r, &mut sizes)?);
        }
        fields.push(Field::new(name, t, nullable));
        arrays.push(column);
    }
    Ok((
        PendingTable {
            rows,
            fields,
            arrays,
            memory: Vec::new(),
        },
        sizes,
    ))
}

impl PendingTable {
    /// Allocates each frame's memory once its length (`raw`) is known.
    pub(super) fn allocate(&mut self, raw: &[usize]) -> Result<()> {
        self.memory = raw
            .iter()
            .map(|&n| {
                let mut b = MutableBuffer::new(0);
                b.try_reserve(n).map_err(|_| {
                    Error::Memory(format!("cannot allocate {n} bytes to read a table"))
                })?;
                b.resize(n, 0);
                Ok(b)
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    pub(super) fn frames_mut(&mut self) -> Vec<&mut [u8]> {
        self.memory.iter_mut().map(|b| b.as_slice_mut()).collect()
    }

    /// The record batch, every array validated by Arrow.
    pub(super) fn finish(self, what: &str) -> Result<RecordBatch> {
        let corrupt = |e: String| Error::Corrupt(format!("{what}: table partition: {e}"));
        let mut memory = self.memory.into_iter().map(Buffer::from);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.fields.len());
        for (field, layouts) in self.fields.iter().zip(self.arrays) {
            // The dictionary's values are built first: they are the keys' child.
            let mut built: Vec<ArrayData> = Vec::with_capacity(2);
            let mut types = vec![field.data_type().clone()];
            if let DataType::Dictionary(_, v) = field.data_type() {
                types.push((**v).clone());
            }
            let mut parts = Vec::new();
            for l in layouts {
                let nulls = match l.nulls {
                    Some(bit_offset) => {
                        let bytes = memory
                            .next()
                            .ok_or_else(|| corrupt("a frame is missing".into()))?;
                        let bits = bytes.len().saturating_mul(8);
                        if bit_offset.checked_add(l.len).is_none_or(|end| end > bits) {
                            return Err(corrupt(format!(
                                "column '{}': a null bitmap of {bits} bits for {} rows at {bit_offset}",
                                field.name(),
                                l.len
                            )));
                        }
                        Some(NullBuffer::new(BooleanBuffer::new(
                            bytes, bit_offset, l.len,
                        )))
                    }
                    None => None,
                };
                let buffers = (0..l.buffers)
                    .map(|_| {
                        memory
                            .next()
                            .ok_or_else(|| corrupt("a frame is missing".into()))
                    })
                    .collect::<Result<Vec<_>>>()?;
                parts.push((l.len, l.offset, nulls, buffers));
            }
            while let Some((len, offset, nulls, buffers)) = parts.pop() {
                let t = types.pop().expect("one type per array");
                let children = std::mem::take(&mut built);
                let data = ArrayData::builder(t)
                    .len(len)
                    .offset(offset)
                    .nulls(nulls)
                    .buffers(buffers)
                    .child_data(children)
                    .build()
                    .map_err(|e| corrupt(format!("column '{}': {e}", field.name())))?;
                built.push(data);
            }
            columns.push(make_array(built.pop().expect("the column's array")));
        }
        if memory.next().is_some() {
            return Err(corrupt("more frames than arrays".into()));
        }
        let schema = Arc::new(Schema::new(self.fields));
        RecordBatch::try_new_with_options(
            schema,
            columns,
            &RecordBatchOptions::new().with_row_count(Some(self.rows)),
        )
        .map_err(|e| corrupt(e.to_string()))
    }
}
