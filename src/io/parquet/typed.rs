//! The `column` engine's decoding: a flat numeric column of a partition, through the
//! `parquet` crate's typed column reader, into the Arrow buffer the partition keeps — one
//! allocation sized from the footer, filled a row group at a time by jobs side by side.
//! Each column chunk is fetched with one positioned read (its pages are then slices of that
//! buffer, not separate reads and copies).

use super::pages::{min_value_bytes, CheckedPages};
use crate::error::{Error, Result};
use arrow_array::{make_array, ArrayRef};
use arrow_buffer::{ArrowNativeType, BooleanBuffer, BooleanBufferBuilder, Buffer, NullBuffer};
use arrow_data::ArrayData;
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::column::reader::ColumnReaderImpl;
use parquet::data_type::{DataType as ParquetType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::serialized_reader::SerializedPageReader;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// One typed column of a partition, decoded a row group at a time — by jobs on several
/// threads — straight into its final buffer: allocated once when the partition has several
/// row groups (each job copying its rows in), the decoder's own output when it has one.
pub(crate) struct TypedColumn {
    arrow_type: DataType,
    width: usize,
    rows: usize,
    /// Several row groups: the buffer their jobs write, and its start for their disjoint
    /// writes. None for one row group, whose job hands over its values instead.
    shared: Option<(Vec<u64>, usize)>,
    handed: parking_lot::Mutex<Option<Buffer>>,
}

impl TypedColumn {
    /// A column of `rows` rows of `arrow_type` (one [`super::engine::typed_decodes`]
    /// accepts) over `groups` row groups.
    pub(crate) fn new(arrow_type: &DataType, rows: usize, groups: usize) -> Result<TypedColumn> {
        let width = arrow_type
            .primitive_width()
            .filter(|w| [4, 8].contains(w))
            .ok_or_else(|| Error::invalid(format!("the column engine reads no {arrow_type}")))?;
        let bytes = rows
            .checked_mul(width)
            .ok_or_else(|| Error::Memory(format!("{rows} rows of {arrow_type}")))?;
        let shared = if groups > 1 {
            // Not zeroed (that would be a serial pass over memory the jobs write anyway):
            // every byte is written by `decode_group` before `finish` makes it the column —
            // but the last word's bytes past the rows, zeroed here. Words of 8 bytes keep
            // any value type aligned.
            let words = bytes.div_ceil(8);
            let mut buffer = try_vec::<u64>(words, &format_args!("{rows} rows of {arrow_type}"))?;
            if words > 0 {
                // SAFETY: within the capacity just reserved.
                unsafe { buffer.as_mut_ptr().add(words - 1).write(0) };
            }
            let base = buffer.as_mut_ptr() as usize;
            crate::memory::huge_pages::advise(base, bytes);
            Some((buffer, base))
        } else {
            None
        };
        Ok(TypedColumn {
            arrow_type: arrow_type.clone(),
            width,
            rows,
            shared,
            handed: parking_lot::Mutex::new(None),
        })
    }

    /// Decodes `source` (a column chunk) into rows `at..at + n` of this column (`n`: the
    /// group's rows, or those its runs keep — the others are skipped, whole pages without
    /// decompressing them). Returns the rows' validity when some are null.
    ///
    /// # Safety
    /// Calls that run at the same time cover disjoint rows.
    pub(crate) unsafe fn decode_group(
        &self,
        source: Source<'_>,
        at: usize,
    ) -> Result<Option<BooleanBuffer>> {
        let group = source.group;
        let n = source.rows()?;
        if at.checked_add(n).is_none_or(|end| end > self.rows) {
            return Err(Error::Corrupt(format!(
                "row group {group}: {n} rows at row {at} of a {}-row partition",
                self.rows
            )));
        }
        // Rows `at..at + n` lie inside the shared buffer's capacity (checked above) and no
        // other call writes them meanwhile (the caller's promise).
        let out = self.shared.as_ref().map(|&(_, base)| Rows {
            start: (base + at * self.width) as *mut u8,
            n,
        });
        let (handed, valid) = match (self.width, &self.arrow_type) {
            (4, DataType::Float32) => source.decode::<FloatType>(out, n),
            (4, _) => source.decode::<Int32Type>(out, n),
            (8, DataType::Float64) => source.decode::<DoubleType>(out, n),
            _ => source.decode::<Int64Type>(out, n),
        }?;
        if let Some(buffer) = handed {
            *self.handed.lock() = Some(buffer);
        }
        Ok(valid)
    }

    /// The column, once every row group was decoded: `validity` holds each group's rows and
    /// what [`decode_group`](Self::decode_group) returned for it, in row order.
    pub(crate) fn finish(self, validity: Vec<(usize, Option<BooleanBuffer>)>) -> Result<ArrayRef> {
        let written: usize = validity.iter().map(|(n, _)| n).sum();
        let buffer = match (self.shared, self.handed.into_inner()) {
            (Some((mut buffer, _)), None) if written == self.rows => {
                // SAFETY: every row was written by `decode_group` (the groups' rows add up to
                // the column's, each group written once), the last word's other bytes by
                // `new`, all within the capacity reserved there.
                unsafe { buffer.set_len((self.rows * self.width).div_ceil(8)) };
                Buffer::from_vec(buffer)
            }
            (None, Some(buffer)) if written == self.rows => buffer,
            _ => {
                return Err(Error::Corrupt(format!(
                    "{written} rows decoded for a {}-row partition",
                    self.rows
                )))
            }
        };
        let nulls = validity.iter().any(|(_, v)| v.is_some()).then(|| {
            let mut bits = BooleanBufferBuilder::new(self.rows);
            for (n, v) in &validity {
                match v {
                    Some(v) => bits.append_buffer(v),
                    None => bits.append_n(*n, true),
                }
            }
            NullBuffer::new(bits.finish())
        });
        let data = ArrayData::builder(self.arrow_type)
            .len(self.rows)
            .add_buffer(buffer)
            .nulls(nulls)
            .build()
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(make_array(data))
    }
}

/// Where one job's values come from: leaf column `leaf` of row group `group` of `file`
/// (`file_len` bytes long, `meta` its footer).
pub(crate) struct Source<'a> {
    pub file: &'a File,
    pub file_len: u64,
    pub meta: &'a ParquetMetaData,
    pub leaf: usize,
    pub group: usize,
    /// The runs of rows to read and to skip; `None`: read them all.
    pub runs: Option<&'a [(u64, bool)]>,
}

impl Source<'_> {
    /// The group's rows in the file.
    fn file_rows(&self) -> Result<usize> {
        usize::try_from(self.meta.row_group(self.group).num_rows())
            .map_err(|_| Error::Corrupt(format!("row group {}: negative row count", self.group)))
    }

    /// The rows read (those the runs keep).
    fn rows(&self) -> Result<usize> {
        match self.runs {
            None => self.file_rows(),
            Some(r) => Ok(r
                .iter()
                .filter(|(_, keep)| *keep)
                .map(|&(n, _)| n as usize)
                .sum()),
        }
    }

    /// Decodes the chunk's `n` rows: a slot per row, a null's slot zero, into `out` when
    /// given (through the thread's scratch vectors), else into a buffer of their own, which
    /// is returned. Also returns the validity when some row is null.
    fn decode<T: ParquetType>(
        &self,
        out: Option<Rows>,
        n: usize,
    ) -> Result<(Option<Buffer>, Option<BooleanBuffer>)>
    where
        T::T: ArrowNativeType + Scratch,
    {
        let mut levels = LEVELS.with(|l| l.take());
        let decoded = match out {
            Some(out) => {
                let mut values = T::T::take_scratch();
                let valid = self.decode_into::<T>(out, &mut values, &mut levels);
                T::T::keep_scratch(values);
                valid.map(|v| (None, v))
            }
            None => self.decode_owned::<T>(n, &mut levels),
        };
        keep(&LEVELS, levels);
        decoded
    }

    /// The chunk's values (only the defined ones) and, for a nullable column, its
    /// definition levels, checked to hold `n` rows.
    fn read<T: ParquetType>(
        &self,
        n: usize,
        values: &mut Vec<T::T>,
        levels: &mut Vec<i16>,
    ) -> Result<()> {
        let g = self.group;
        let descr = self.meta.file_metadata().schema_descr().column(self.leaf);
        let nullable = descr.max_def_level() > 0;
        let chunk = self.meta.row_group(g).column(self.leaf);
        let (start, len) = chunk.byte_range();
        let bytes = self.fetch(start, len)?;
        let all = self.file_rows()?;
        let pages = SerializedPageReader::new(Arc::new(ChunkAt { start, bytes }), chunk, all, None)
            .map_err(|e| Error::Corrupt(format!("row group {g}: {e}")))?;
        let value_bytes = min_value_bytes(descr.physical_type(), descr.type_length());
        let pages = CheckedPages::new(pages, value_bytes);
        let mut reader = ColumnReaderImpl::<T>::new(descr.clone(), Box::new(pages));
        values.clear();
        levels.clear();
        let whole = [(all as u64, true)];
        let mut records = 0;
        for &(count, keep) in self.runs.unwrap_or(&whole) {
            let count = count as usize;
            let done = if keep {
                reader
                    .read_records(count, nullable.then_some(&mut *levels), None, values)
                    .map(|(r, _, _)| r)
            } else {
                reader.skip_records(count)
            }
            .map_err(|e| Error::Corrupt(format!("row group {g}: {e}")))?;
            if done != count {
                return Err(Error::Corrupt(format!(
                    "row group {g}: column '{}' ends {} rows early",
                    descr.name(),
                    count - done
                )));
            }
            records += if keep { done } else { 0 };
        }
        let short = |what: &str, got: usize| {
            Error::Corrupt(format!(
                "row group {g}: column '{}' holds {got} {what} for its {n} rows",
                descr.name()
            ))
        };
        if records != n {
            return Err(short("rows", records));
        }
        if values.len() != n {
            let defined = levels.iter().filter(|&&l| l > 0).count();
            if !nullable || levels.len() != n || values.len() != defined {
                return Err(short("values", values.len()));
            }
        }
        Ok(())
    }

    fn decode_into<T: ParquetType>(
        &self,
        out: Rows,
        values: &mut Vec<T::T>,
        levels: &mut Vec<i16>,
    ) -> Result<Option<BooleanBuffer>>
    where
        T::T: ArrowNativeType,
    {
        let n = out.n;
        self.read::<T>(n, values, levels)?;
        let out = out.start as *mut T::T;
        if values.len() == n {
            // No nulls: the values are the rows.
            // SAFETY: `out` holds `n` rows (see `Rows`), aligned for `T::T` (an Arrow buffer
            // is 64-byte aligned and rows start at multiples of the width).
            unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, n) };
            return Ok(None);
        }
        let mut next = values.iter();
        for (row, &level) in levels.iter().enumerate() {
            let value = match level {
                0 => T::T::default(),
                _ => *next
                    .next()
                    .expect("as many values as defined levels (read checks)"),
            };
            // SAFETY: as above; row < n.
            unsafe { out.add(row).write(value) };
        }
        Ok(Some(BooleanBuffer::collect_bool(n, |row| levels[row] > 0)))
    }

    fn decode_owned<T: ParquetType>(
        &self,
        n: usize,
        levels: &mut Vec<i16>,
    ) -> Result<(Option<Buffer>, Option<BooleanBuffer>)>
    where
        T::T: ArrowNativeType,
    {
        let mut values: Vec<T::T> = try_vec(n, &format_args!("row group {}", self.group))?;
        let bytes = n * std::mem::size_of::<T::T>();
        crate::memory::huge_pages::advise(values.as_mut_ptr() as usize, bytes);
        self.read::<T>(n, &mut values, levels)?;
        if values.len() == n {
            return Ok((Some(Buffer::from_vec(values)), None));
        }
        // Spread the defined values to their rows, from the end so that none is overwritten
        // before it moved.
        let mut next = values.len();
        values.resize(n, T::T::default());
        for row in (0..n).rev() {
            values[row] = match levels[row] {
                0 => T::T::default(),
                _ => {
                    next -= 1;
                    values[next]
                }
            };
        }
        let valid = BooleanBuffer::collect_bool(n, |row| levels[row] > 0);
        Ok((Some(Buffer::from_vec(values)), Some(valid)))
    }

    /// The file's bytes `start..start + len`, checked against its length first (a damaged
    /// footer must not make us allocate what the file cannot hold).
    fn fetch(&self, start: u64, len: u64) -> Result<Bytes> {
        let end = start.checked_add(len).filter(|&e| e <= self.file_len);
        if end.is_none() {
            return Err(Error::Corrupt(format!(
                "row group {}: a column chunk at {start}..+{len} lies outside the file ({} bytes)",
                self.group, self.file_len
            )));
        }
        let len = len as usize;
        let mut buf = FETCHED.with(|f| f.take());
        if buf.len() < len {
            buf.resize(len, 0);
        }
        self.file
            .read_exact_at(&mut buf[..len], start)
            .map_err(|e| Error::Io(format!("reading {len} bytes at {start}: {e}")))?;
        Ok(Bytes::from_owner(Fetched { buf, len }))
    }
}

/// An empty vector with room for `n` values, or an error where the system cannot give that
/// much — never the allocator's abort: a damaged footer may claim any row count.
fn try_vec<T>(n: usize, what: &dyn std::fmt::Display) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::Memory(format!("cannot allocate the buffer for {what}")))?;
    Ok(v)
}

/// Where a job writes: `n` rows of a column's buffer from `start`, which only this job
/// writes and which lie within the buffer's capacity.
struct Rows {
    start: *mut u8,
    n: usize,
}

/// A column chunk held in memory, addressed by file offsets (what the page reader asks
/// for), its pages handed out as slices of one buffer.
struct ChunkAt {
    start: u64,
    bytes: Bytes,
}

impl ChunkAt {
    fn range(&self, start: u64, len: usize) -> parquet::errors::Result<std::ops::Range<usize>> {
        let from = start
            .checked_sub(self.start)
            .map(|o| o as usize)
            .filter(|&o| o.checked_add(len).is_some_and(|e| e <= self.bytes.len()));
        from.map(|o| o..o + len).ok_or_else(|| {
            parquet::errors::ParquetError::EOF(format!(
                "{len} bytes at {start} lie outside the column chunk at {}..+{}",
                self.start,
                self.bytes.len()
            ))
        })
    }
}

impl Length for ChunkAt {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for ChunkAt {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest = (self.start + self.bytes.len() as u64).saturating_sub(start) as usize;
        let range = self.range(start, rest)?;
        Ok(bytes::Buf::reader(self.bytes.slice(range)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.bytes.slice(self.range(start, length)?))
    }
}

/// The largest scratch buffer a pool thread keeps between jobs (bytes). Decoding a row group
/// needs its values and levels once more than the output, and the compressed chunk: fresh
/// memory for those each time costs more in page faults than the decoding itself (measured:
/// benches/README.md, "the column engine"), so each thread keeps them — up to a row group of
/// 4M doubles; larger ones are allocated and freed per job.
const SCRATCH_KEPT: usize = 32 << 20;

thread_local! {
    static LEVELS: std::cell::Cell<Vec<i16>> = const { std::cell::Cell::new(Vec::new()) };
    static FETCHED: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Puts `v` back into `slot` for the thread's next job, unless it is too large to keep.
fn keep<T: 'static>(slot: &'static std::thread::LocalKey<std::cell::Cell<Vec<T>>>, v: Vec<T>) {
    if v.capacity() * std::mem::size_of::<T>() <= SCRATCH_KEPT {
        slot.with(|s| s.set(v));
    }
}

/// A value type with a per-thread scratch vector of its own.
pub(crate) trait Scratch: Sized + 'static {
    fn take_scratch() -> Vec<Self>;
    fn keep_scratch(v: Vec<Self>);
}

macro_rules! scratch {
    ($($t:ty => $slot:ident),*) => {$(
        thread_local! {
            static $slot: std::cell::Cell<Vec<$t>> = const { std::cell::Cell::new(Vec::new()) };
        }
        impl Scratch for $t {
            fn take_scratch() -> Vec<$t> {
                $slot.with(|s| s.take())
            }
            fn keep_scratch(v: Vec<$t>) {
                keep(&$slot, v)
            }
        }
    )*};
}
scratch!(i32 => SCRATCH_I32, i64 => SCRATCH_I64, f32 => SCRATCH_F32, f64 => SCRATCH_F64);

/// A fetched column chunk: the first `len` bytes of a thread's fetch buffer, given back to
/// the thread that drops it once the page reader is done with it.
struct Fetched {
    buf: Vec<u8>,
    len: usize,
}

impl AsRef<[u8]> for Fetched {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        keep(&FETCHED, std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_count_no_memory_can_hold_is_an_error_not_an_abort() {
        let huge = usize::MAX / 16;
        let e = TypedColumn::new(&DataType::Float64, huge, 3)
            .err()
            .expect("refused");
        assert!(matches!(e, Error::Memory(_)), "{e}");
        let e = try_vec::<f64>(huge, &"a test").unwrap_err();
        assert!(e.to_string().contains("a test"), "{e}");
    }
}
