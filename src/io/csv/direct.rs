//! Our decoder of a partition's records: each field goes straight from the bytes into its
//! column's builder, record after record, for a whole partition at once — no 64K-row
//! batches concatenated afterwards, and timestamps in the ISO form `write_csv` (and most
//! producers) write parsed without chrono's general parser.
//!
//! It is a fast path, never a second dialect: it takes only what it can decode exactly as
//! arrow-csv does (the same tokenizer settings, the same null rule, arrow's own parsers for
//! every value except the ISO timestamps, which are checked against arrow's in the tests).
//! Anything else — a column type it does not build, a field count that differs, a value
//! that does not parse, bytes that are not UTF-8 — makes it return `None`, and the caller
//! decodes the range with arrow-csv, whose errors (with their line and column) the user
//! sees.
//!
//! Records are split by csv-core (the tokenizer under arrow-csv, set up the same way),
//! except in a range without a quote, escape or carriage-return byte: there a record is a
//! line and a field the bytes between delimiters — what csv-core makes of such bytes — and
//! `memchr` finds them several times faster than its state machine.

use super::split::Dialect;
use arrow_array::builder::{
    BooleanBuilder, PrimitiveBuilder, StringBuilder, StringDictionaryBuilder,
};
use arrow_array::types::*;
use arrow_array::{ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_cast::parse::{string_to_datetime, Parser};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use std::sync::Arc;

/// Which fields are null: those equal to one of `values`, and the empty field when
/// `empty` — what arrow-csv's null expressions made by `null_regex` and
/// `string_null_regex` match.
#[derive(Debug, Clone)]
pub(crate) struct NullRule {
    pub values: Vec<String>,
    pub empty: bool,
}

impl NullRule {
    #[inline]
    fn is_null(&self, s: &str) -> bool {
        (s.is_empty() && self.empty) || self.values.iter().any(|v| v == s)
    }
}

/// One column being built; `push` is false when the field cannot be decoded.
trait Sink {
    fn push(&mut self, s: &str) -> bool;
    fn finish(&mut self) -> ArrayRef;
}

struct Primitive<T: ArrowPrimitiveType> {
    values: PrimitiveBuilder<T>,
    nulls: NullRule,
}

impl<T: ArrowPrimitiveType + Parser> Sink for Primitive<T> {
    #[inline]
    fn push(&mut self, s: &str) -> bool {
        if self.nulls.is_null(s) {
            self.values.append_null();
            return true;
        }
        match T::parse(s) {
            Some(v) => {
                self.values.append_value(v);
                true
            }
            None => false,
        }
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(self.values.finish())
    }
}

/// arrow-csv's booleans: `true` or `false` in any case.
struct Boolean {
    values: BooleanBuilder,
    nulls: NullRule,
}

impl Sink for Boolean {
    fn push(&mut self, s: &str) -> bool {
        if self.nulls.is_null(s) {
            self.values.append_null();
        } else if s.eq_ignore_ascii_case("true") {
            self.values.append_value(true);
        } else if s.eq_ignore_ascii_case("false") {
            self.values.append_value(false);
        } else {
            return false;
        }
        true
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(self.values.finish())
    }
}

/// Timestamps without a time zone: arrow-csv reads them as UTC.
struct Timestamp<T: ArrowTimestampType> {
    values: PrimitiveBuilder<T>,
    nulls: NullRule,
}

impl<T: ArrowTimestampType> Sink for Timestamp<T> {
    #[inline]
    fn push(&mut self, s: &str) -> bool {
        if self.nulls.is_null(s) {
            self.values.append_null();
            return true;
        }
        match timestamp_in(T::UNIT, s) {
            Some(v) => {
                self.values.append_value(v);
                true
            }
            None => false,
        }
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(self.values.finish())
    }
}

/// `s` in `unit`s since the epoch, as arrow-csv computes it: the ISO form by
/// [`iso_timestamp`], any other through arrow's parser.
fn timestamp_in(unit: TimeUnit, s: &str) -> Option<i64> {
    let (secs, nanos) = match iso_timestamp(s.as_bytes()) {
        Some(t) => t,
        None => {
            let t = string_to_datetime(&chrono::Utc, s).ok()?;
            (t.timestamp(), t.timestamp_subsec_nanos())
        }
    };
    let (per_second, nanos_per) = match unit {
        TimeUnit::Second => return Some(secs),
        TimeUnit::Millisecond => (1_000, 1_000_000),
        TimeUnit::Microsecond => (1_000_000, 1_000),
        TimeUnit::Nanosecond => (1_000_000_000, 1),
    };
    secs.checked_mul(per_second)?
        .checked_add(i64::from(nanos / nanos_per))
}

/// Seconds and nanoseconds since the epoch of `YYYY-MM-DD[T ]HH:MM:SS[.f]` (1 to 9
/// fraction digits, no zone: a UTC time, as arrow reads it), `None` for any other text,
/// out-of-range fields included (arrow's parser then has its say).
fn iso_timestamp(s: &[u8]) -> Option<(i64, u32)> {
    if s.len() < 19 {
        return None;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        s[from..to].iter().try_fold(0u32, |n, &b| {
            let d = b.wrapping_sub(b'0');
            (d < 10).then_some(n * 10 + u32::from(d))
        })
    };
    let separators = s[4] == b'-'
        && s[7] == b'-'
        && (s[10] == b'T' || s[10] == b' ')
        && s[13] == b':'
        && s[16] == b':';
    if !separators {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    let nanos = match s.len() {
        19 => 0,
        n if (21..=29).contains(&n) && s[19] == b'.' => digits(20, n)? * 10u32.pow((29 - n) as u32),
        _ => return None,
    };
    let in_range = (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour < 24
        && minute < 60
        && second < 60;
    if !in_range {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some((secs, nanos))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar: count in 400-year
/// eras of 146,097 days from 0000-03-01, the leap day then falling at the end of a year.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

struct Strings {
    values: StringBuilder,
    bytes: usize,
    nulls: NullRule,
}

impl Sink for Strings {
    #[inline]
    fn push(&mut self, s: &str) -> bool {
        if self.nulls.is_null(s) {
            self.values.append_null();
            return true;
        }
        // 32-bit offsets: a partition of more string bytes goes to arrow-csv's batches.
        self.bytes += s.len();
        if self.bytes > i32::MAX as usize {
            return false;
        }
        self.values.append_value(s);
        true
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(self.values.finish())
    }
}

struct Dictionary {
    values: StringDictionaryBuilder<Int32Type>,
    nulls: NullRule,
}

impl Sink for Dictionary {
    fn push(&mut self, s: &str) -> bool {
        if self.nulls.is_null(s) {
            self.values.append_null();
            return true;
        }
        self.values.append(s).is_ok()
    }
    fn finish(&mut self) -> ArrayRef {
        Arc::new(self.values.finish())
    }
}

/// The builder of a column of type `t`, `None` for a type left to arrow-csv.
fn sink(t: &DataType, nulls: NullRule, rows: usize) -> Option<Box<dyn Sink>> {
    fn primitive<T: ArrowPrimitiveType + Parser>(nulls: NullRule, rows: usize) -> Box<dyn Sink> {
        Box::new(Primitive::<T> {
            values: PrimitiveBuilder::with_capacity(rows),
            nulls,
        })
    }
    fn timestamp<T: ArrowTimestampType>(nulls: NullRule, rows: usize) -> Box<dyn Sink> {
        Box::new(Timestamp::<T> {
            values: PrimitiveBuilder::with_capacity(rows),
            nulls,
        })
    }
    Some(match t {
        DataType::Boolean => Box::new(Boolean {
            values: BooleanBuilder::with_capacity(rows),
            nulls,
        }),
        DataType::Int8 => primitive::<Int8Type>(nulls, rows),
        DataType::Int16 => primitive::<Int16Type>(nulls, rows),
        DataType::Int32 => primitive::<Int32Type>(nulls, rows),
        DataType::Int64 => primitive::<Int64Type>(nulls, rows),
        DataType::UInt8 => primitive::<UInt8Type>(nulls, rows),
        DataType::UInt16 => primitive::<UInt16Type>(nulls, rows),
        DataType::UInt32 => primitive::<UInt32Type>(nulls, rows),
        DataType::UInt64 => primitive::<UInt64Type>(nulls, rows),
        DataType::Float32 => primitive::<Float32Type>(nulls, rows),
        DataType::Float64 => primitive::<Float64Type>(nulls, rows),
        DataType::Date32 => primitive::<Date32Type>(nulls, rows),
        DataType::Timestamp(unit, None) => match unit {
            TimeUnit::Second => timestamp::<TimestampSecondType>(nulls, rows),
            TimeUnit::Millisecond => timestamp::<TimestampMillisecondType>(nulls, rows),
            TimeUnit::Microsecond => timestamp::<TimestampMicrosecondType>(nulls, rows),
            TimeUnit::Nanosecond => timestamp::<TimestampNanosecondType>(nulls, rows),
        },
        DataType::Utf8 => Box::new(Strings {
            values: StringBuilder::with_capacity(rows, 0),
            bytes: 0,
            nulls,
        }),
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            Box::new(Dictionary {
                values: StringDictionaryBuilder::new(),
                nulls,
            })
        }
        _ => return None,
    })
}

/// Decodes `bytes` (whole records of `schema`'s columns) into one batch of the
/// `projection`'s columns (`nulls`: each projected column's rule), at most `limit` rows;
/// `None` when arrow-csv must decode the range (see the module's note).
pub(crate) fn decode(
    bytes: &[u8],
    dialect: Dialect,
    schema: &SchemaRef,
    projection: &[usize],
    nulls: &[NullRule],
    limit: Option<u64>,
) -> Option<RecordBatch> {
    let text = std::str::from_utf8(bytes).ok()?;
    let width = schema.fields().len();
    // The rows, guessed from the first 64 KiB, for the builders' first capacity.
    let sample = &bytes[..bytes.len().min(1 << 16)];
    let lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let rows = (bytes.len() / sample.len().div_ceil(lines).max(1) + 1)
        .min(limit.map_or(usize::MAX, |l| l as usize));
    let mut sinks: Vec<Box<dyn Sink>> = projection
        .iter()
        .zip(nulls)
        .map(|(&j, rule)| sink(schema.field(j).data_type(), rule.clone(), rows))
        .collect::<Option<_>>()?;
    // The sink of each field of a record, if it is decoded.
    let mut target: Vec<Option<usize>> = vec![None; width];
    for (k, &j) in projection.iter().enumerate() {
        target[j] = Some(k);
    }
    let limit = limit.unwrap_or(u64::MAX);
    let plain = dialect.delimiter.is_ascii()
        && memchr::memchr3(dialect.quote, b'\r', dialect.escape.unwrap_or(b'\r'), bytes).is_none();
    let count = if plain {
        split_plain(text, dialect.delimiter, width, &target, &mut sinks, limit)?
    } else {
        split_quoted(bytes, dialect, width, &target, &mut sinks, limit)?
    };
    let columns: Vec<ArrayRef> = sinks.iter_mut().map(|s| s.finish()).collect();
    let projected = Arc::new(schema.project(projection).ok()?);
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(count));
    RecordBatch::try_new_with_options(projected, columns, &options).ok()
}

/// Records as lines and fields between delimiters (no quote, escape or CR in `text`);
/// empty lines are skipped, as csv-core skips them. The number of records decoded.
fn split_plain(
    text: &str,
    delimiter: u8,
    width: usize,
    target: &[Option<usize>],
    sinks: &mut [Box<dyn Sink>],
    limit: u64,
) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut count = 0usize;
    let mut start = 0usize;
    let line_ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for end in line_ends {
        if count as u64 >= limit {
            break;
        }
        let (from, to) = (start, end);
        start = end + 1;
        if from >= to {
            continue;
        }
        let mut field = 0usize;
        let mut at = from;
        let delimiters = memchr::memchr_iter(delimiter, &bytes[from..to]);
        for d in delimiters.map(|d| from + d).chain(std::iter::once(to)) {
            if field >= width {
                return None;
            }
            if let Some(k) = target[field] {
                // Delimiters and newlines are ASCII: every cut is on a character boundary.
                if !sinks[k].push(text.get(at..d)?) {
                    return None;
                }
            }
            field += 1;
            at = d + 1;
        }
        if field != width {
            return None;
        }
        count += 1;
    }
    Some(count)
}

/// Records through csv-core, set up as arrow-csv sets it up. The number decoded.
fn split_quoted(
    bytes: &[u8],
    dialect: Dialect,
    width: usize,
    target: &[Option<usize>],
    sinks: &mut [Box<dyn Sink>],
    limit: u64,
) -> Option<usize> {
    use csv_core::ReadRecordResult as R;
    let mut reader = csv_core::ReaderBuilder::new()
        .delimiter(dialect.delimiter)
        .quote(dialect.quote)
        .escape(dialect.escape)
        .build();
    let mut out = vec![0u8; 1 << 12];
    // One more end than fields: a record with too many fails `OutputEndsFull`.
    let mut ends = vec![0usize; width + 1];
    let (mut input, mut used, mut fields) = (bytes, 0usize, 0usize);
    let mut count = 0usize;
    while (count as u64) < limit {
        let (result, read, written, ended) =
            reader.read_record(input, &mut out[used..], &mut ends[fields..]);
        input = &input[read..];
        used += written;
        fields += ended;
        match result {
            R::InputEmpty => {}
            R::OutputFull => out.resize(out.len() * 2, 0),
            R::OutputEndsFull => return None,
            R::Record => {
                if fields != width {
                    return None;
                }
                let record = std::str::from_utf8(&out[..used]).ok()?;
                let mut at = 0usize;
                for (field, &end) in ends[..width].iter().enumerate() {
                    if let Some(k) = target[field] {
                        if !sinks[k].push(record.get(at..end)?) {
                            return None;
                        }
                    }
                    at = end;
                }
                count += 1;
                used = 0;
                fields = 0;
            }
            R::End => break,
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ours against arrow's parser, which arrow-csv calls for every timestamp.
    fn arrow_parts(s: &str) -> Option<(i64, u32)> {
        string_to_datetime(&chrono::Utc, s)
            .ok()
            .map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
    }

    #[test]
    fn iso_timestamps_are_read_as_arrow_reads_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut checked = 0;
        for _ in 0..200_000 {
            // Fields over their ranges and a little past them (month 13, day 32, ...).
            let (y, mo, d) = (next(10_000), next(14), next(33));
            let (h, mi, s) = (next(25), next(61), next(61));
            let sep = if next(2) == 0 { 'T' } else { ' ' };
            let mut text = format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}");
            if next(3) == 0 {
                let digits = 1 + next(10) as usize;
                let frac: String = (0..digits)
                    .map(|_| (b'0' + next(10) as u8) as char)
                    .collect();
                text = format!("{text}.{frac}");
            }
            let ours = iso_timestamp(text.as_bytes());
            if let Some(t) = ours {
                assert_eq!(Some(t), arrow_parts(&text), "{text}");
                checked += 1;
            }
            // What ours leaves to arrow is arrow's to decide; what arrow refuses, ours refuses.
            if arrow_parts(&text).is_none() {
                assert_eq!(ours, None, "{text}");
            }
        }
        assert!(checked > 50_000, "only {checked} read by the fast path");
        for text in [
            "1970-01-01T00:00:00",
            "2024-02-29 23:59:59.999999999",
            "0000-03-01T00:00:00",
        ] {
            assert_eq!(iso_timestamp(text.as_bytes()), arrow_parts(text), "{text}");
        }
        for text in [
            "2023-02-29T00:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01",
            "2024-01-01T24:00:00",
        ] {
            assert_eq!(iso_timestamp(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn units_truncate_like_chrono() {
        let s = "1969-12-31T23:59:59.123456789";
        assert_eq!(timestamp_in(TimeUnit::Second, s), Some(-1));
        assert_eq!(timestamp_in(TimeUnit::Millisecond, s), Some(-1000 + 123));
        assert_eq!(
            timestamp_in(TimeUnit::Microsecond, s),
            Some(-1_000_000 + 123_456)
        );
        assert_eq!(
            timestamp_in(TimeUnit::Nanosecond, s),
            Some(-1_000_000_000 + 123_456_789)
        );
        // Past 2262 nanoseconds overflow: an error, as arrow-csv's.
        assert_eq!(
            timestamp_in(TimeUnit::Nanosecond, "3000-01-01T00:00:00"),
            None
        );
    }
}
