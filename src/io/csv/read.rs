//! The `table.read_csv` task: one byte range of a CSV file (whole records, from `split`)
//! decoded by arrow-csv into one partition. When the decoder refuses the range, the records
//! are decoded again in small runs to find the one at fault: its file line and column make
//! the error, or, when bad rows are skipped, every other record is kept.

use super::direct::{self, NullRule};
use super::split::{self, Dialect};
use crate::error::{Error, Result};
use crate::runtime::{register_builtin, OpDef};
use crate::table::eval::evaluate_filter;
use crate::table::expr::Expr;
use crate::table::{check_type, prefix_error};
use crate::value::{register_params, Params, ParamsReader, ParamsWriter, Value};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_csv::reader::Decoder;
use arrow_csv::ReaderBuilder;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, LazyLock};

/// Rows decoded per arrow-csv batch.
const BATCH_ROWS: usize = 1 << 16;
/// Records decoded together while looking for a bad one.
const RUN: usize = 512;

/// What one partition reads: bytes `start..end` of a file (whole records), whose columns
/// are `schema`; `columns`, `filter` and `limit` as for Parquet partitions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReadCsvPart {
    pub path: String,
    pub start: u64,
    pub end: u64,
    pub schema: SchemaRef,
    pub columns: Option<Vec<String>>,
    pub filter: Option<Expr>,
    pub dialect: Dialect,
    pub na_values: Vec<String>,
    /// Empty fields of string columns are empty strings, not nulls.
    pub empty_strings: bool,
    pub skip_bad_rows: bool,
    pub limit: Option<u64>,
}

impl Params for ReadCsvPart {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        "table.read_csv"
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.str(&self.path);
        w.u64(self.start);
        w.u64(self.end);
        w.usize(self.schema.fields().len());
        for f in self.schema.fields() {
            w.str(f.name());
            w.str(&f.data_type().to_string());
        }
        w.bool(self.columns.is_some());
        let columns = self.columns.as_deref().unwrap_or(&[]);
        w.usize(columns.len());
        columns.iter().for_each(|c| w.str(c));
        w.bool(self.filter.is_some());
        if let Some(f) = &self.filter {
            f.encode(w);
        }
        w.u8(self.dialect.delimiter);
        w.u8(self.dialect.quote);
        w.bool(self.dialect.escape.is_some());
        w.u8(self.dialect.escape.unwrap_or(0));
        w.usize(self.na_values.len());
        self.na_values.iter().for_each(|v| w.str(v));
        w.bool(self.empty_strings);
        w.bool(self.skip_bad_rows);
        w.bool(self.limit.is_some());
        w.u64(self.limit.unwrap_or(0));
    }

    /// The first rows: decoding stops once they are read (all decoded when filtering).
    fn limited(&self, rows: u64) -> Option<Arc<dyn Params>> {
        let limit = self.limit.map_or(rows, |l| l.min(rows));
        Some(Arc::new(ReadCsvPart {
            limit: Some(limit),
            ..self.clone()
        }))
    }

    /// Only those columns are decoded (and those the filter reads, dropped after it).
    fn projected(&self, columns: &[String]) -> Option<Arc<dyn Params>> {
        Some(Arc::new(ReadCsvPart {
            columns: Some(columns.to_vec()),
            ..self.clone()
        }))
    }
}

fn decode_params(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    let path = r.str()?.to_string();
    let start = r.u64()?;
    let end = r.u64()?;
    if end < start {
        return Err(r.corrupt(format!("the byte range {start}..{end}")));
    }
    let n = r.count()?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?.to_string();
        let text = r.str()?;
        let t: DataType = text
            .parse()
            .map_err(|e| r.corrupt(format!("column type '{text}': {e}")))?;
        check_type(&t).map_err(|e| r.corrupt(e))?;
        fields.push(Field::new(name, t, true));
    }
    let some = r.bool()?;
    let columns = (0..r.count()?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let filter = if r.bool()? {
        Some(Expr::decode(r)?)
    } else {
        None
    };
    let delimiter = r.u8()?;
    let quote = r.u8()?;
    let has_escape = r.bool()?;
    let escape = r.u8()?;
    let na_values = (0..r.count()?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let empty_strings = r.bool()?;
    let skip_bad_rows = r.bool()?;
    let limited = r.bool()?;
    let limit = r.u64()?;
    Ok(Arc::new(ReadCsvPart {
        path,
        start,
        end,
        schema: Arc::new(Schema::new(fields)),
        columns: some.then_some(columns),
        filter,
        dialect: Dialect {
            delimiter,
            quote,
            escape: has_escape.then_some(escape),
        },
        na_values,
        empty_strings,
        skip_bad_rows,
        limit: limited.then_some(limit),
    }))
}

static READ: LazyLock<&'static OpDef> = LazyLock::new(|| {
    register_params("table.read_csv", decode_params);
    register_builtin("table.read_csv", |inputs| {
        let p = inputs
            .first()
            .and_then(|v| v.params::<ReadCsvPart>())
            .ok_or("table.read_csv: missing parameters")?;
        read_part(p)
            .map(|b| Arc::new(Value::Table(b)))
            .map_err(|e| e.to_string())
    })
});

pub(crate) fn read_op() -> &'static OpDef {
    *READ
}

pub(crate) fn register_ops() {
    let _ = read_op();
}

/// Fills `buf` from `offset` of `file`; a file shorter than planned is an error.
pub(crate) fn read_at(
    file: &mut std::fs::File,
    offset: u64,
    buf: &mut [u8],
    path: &Path,
) -> Result<()> {
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(buf))
        .map_err(|e| {
            Error::Io(format!(
                "{}: cannot read bytes {offset}..{} ({e}; was the file changed after the table \
                 was made?)",
                path.display(),
                offset + buf.len() as u64
            ))
        })
}

/// Bytes `start..end` of `file`, read without first zeroing a buffer the read overwrites.
fn read_range(file: &mut std::fs::File, start: u64, end: u64, path: &Path) -> Result<Vec<u8>> {
    let want = (end - start) as usize;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(want).map_err(|_| {
        Error::Memory(format!(
            "{}: no memory for the {want} bytes to read",
            path.display()
        ))
    })?;
    let short = |got: usize| {
        Error::Io(format!(
            "{}: cannot read bytes {start}..{end} (got {got}; was the file changed after the \
             table was made?)",
            path.display()
        ))
    };
    file.seek(SeekFrom::Start(start))
        .and_then(|_| (&mut *file).take(want as u64).read_to_end(&mut bytes))
        .map_err(|e| {
            Error::Io(format!(
                "{}: reading bytes {start}..{end}: {e}",
                path.display()
            ))
        })?;
    if bytes.len() != want {
        return Err(short(bytes.len()));
    }
    Ok(bytes)
}

/// The type arrow-csv decodes a column of type `t` as (it has no large strings): cast to
/// `t` after decoding.
fn decoded_type(t: &DataType) -> DataType {
    match t {
        DataType::LargeUtf8 => DataType::Utf8,
        DataType::Dictionary(k, v) if **v == DataType::LargeUtf8 => {
            DataType::Dictionary(k.clone(), Box::new(DataType::Utf8))
        }
        t => t.clone(),
    }
}

/// A decoder of `schema`'s `projection` with the part's dialect and null values (`strings`:
/// for string columns whose empty fields stay empty strings).
fn decoder(
    p: &ReadCsvPart,
    schema: &SchemaRef,
    projection: Vec<usize>,
    rows: usize,
    strings: bool,
) -> Result<Decoder> {
    let mut b = ReaderBuilder::new(schema.clone())
        .with_header(false)
        .with_delimiter(p.dialect.delimiter)
        .with_quote(p.dialect.quote)
        .with_projection(projection)
        .with_batch_size(rows.max(1));
    if let Some(e) = p.dialect.escape {
        b = b.with_escape(e);
    }
    let nulls = if strings {
        Some(super::string_null_regex(&p.na_values)?)
    } else {
        super::null_regex(&p.na_values)?
    };
    if let Some(r) = nulls {
        b = b.with_null_regex(r);
    }
    Ok(b.build_decoder())
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Dictionary(..)
    )
}

/// How a part's columns are decoded: one decoder for all, or, when empty fields of string
/// columns stay empty strings, one for the string columns (their own null values) and one
/// for the others, over the same records, their columns put back in order.
struct Columns<'a> {
    p: &'a ReadCsvPart,
    schema: SchemaRef,
    projection: Vec<usize>,
    /// Positions in `projection` of each decoder's columns, and whether they are strings
    /// read with `ReadCsvPart::empty_strings`.
    groups: Vec<(Vec<usize>, bool)>,
}

impl<'a> Columns<'a> {
    fn new(p: &'a ReadCsvPart, schema: SchemaRef, projection: Vec<usize>) -> Self {
        let text = |k: &usize| p.empty_strings && is_text(schema.field(projection[*k]).data_type());
        let (strings, others): (Vec<usize>, Vec<usize>) = (0..projection.len()).partition(text);
        let groups = match (strings.is_empty(), others.is_empty()) {
            (true, _) => vec![(others, false)],
            (false, true) => vec![(strings, true)],
            (false, false) => vec![(others, false), (strings, true)],
        };
        Columns {
            p,
            schema,
            projection,
            groups,
        }
    }

    /// Whether column `j` of the schema is decoded as a string keeping empty fields.
    fn keeps_empty(&self, j: usize) -> bool {
        self.p.empty_strings && is_text(self.schema.field(j).data_type())
    }

    /// The fields of column `j` that are null, as the decoder of its group is told.
    fn null_rule(&self, j: usize) -> NullRule {
        let na = &self.p.na_values;
        if self.keeps_empty(j) {
            let values = na.iter().filter(|v| !v.is_empty()).cloned().collect();
            NullRule {
                values,
                empty: false,
            }
        } else {
            NullRule {
                values: na.clone(),
                empty: true,
            }
        }
    }

    fn projected(&self) -> Result<SchemaRef> {
        Ok(Arc::new(
            self.schema
                .project(&self.projection)
                .map_err(|e| Error::invalid(e.to_string()))?,
        ))
    }

    /// Decodes `bytes` (whole records): batches of `rows` rows, after `limit` rows none.
    fn decode(&self, bytes: &[u8], rows: usize, limit: Option<u64>) -> Result<Vec<RecordBatch>> {
        let arrow = |e: ArrowError| Error::invalid(e.to_string());
        if let [(_, strings)] = &self.groups[..] {
            let d = decoder(
                self.p,
                &self.schema,
                self.projection.clone(),
                rows,
                *strings,
            )?;
            return decode_all(d, bytes, limit).map_err(arrow);
        }
        let mut decoded = Vec::with_capacity(self.groups.len());
        for (positions, strings) in &self.groups {
            let cols = positions.iter().map(|&k| self.projection[k]).collect();
            let d = decoder(self.p, &self.schema, cols, rows, *strings)?;
            decoded.push(decode_all(d, bytes, limit).map_err(arrow)?);
        }
        let projected = self.projected()?;
        let n = decoded[0].len();
        if decoded.iter().any(|d| d.len() != n) {
            return Err(Error::invalid("the column groups decoded differently"));
        }
        (0..n)
            .map(|b| {
                let mut columns: Vec<Option<ArrayRef>> = vec![None; self.projection.len()];
                for ((positions, _), batches) in self.groups.iter().zip(&decoded) {
                    for (&k, c) in positions.iter().zip(batches[b].columns()) {
                        columns[k] = Some(c.clone());
                    }
                }
                RecordBatch::try_new(
                    projected.clone(),
                    columns
                        .into_iter()
                        .map(|c| c.expect("every column decoded"))
                        .collect(),
                )
                .map_err(arrow)
            })
            .collect()
    }
}

/// Decodes `bytes` (whole records) into batches; stops after `limit` rows.
fn decode_all(
    mut d: Decoder,
    mut bytes: &[u8],
    limit: Option<u64>,
) -> std::result::Result<Vec<RecordBatch>, ArrowError> {
    let mut batches = Vec::new();
    let mut rows = 0u64;
    loop {
        let n = d.decode(bytes)?;
        bytes = &bytes[n..];
        if n == 0 || d.capacity() == 0 {
            match d.flush()? {
                Some(b) => {
                    rows += b.num_rows() as u64;
                    batches.push(b);
                    if limit.is_some_and(|l| rows >= l) {
                        break;
                    }
                }
                None => break,
            }
        }
    }
    Ok(batches)
}

/// Reads one partition; errors name the file (and the line and column).
pub(crate) fn read_part(p: &ReadCsvPart) -> Result<RecordBatch> {
    let path = Path::new(&p.path);
    let at = || path.display();
    let mut file =
        std::fs::File::open(path).map_err(|e| Error::Io(format!("cannot open {}: {e}", at())))?;
    let bytes = read_range(&mut file, p.start, p.end, path)?;
    // What comes out, and what is decoded: that and the filter's columns.
    let out: Vec<String> = match &p.columns {
        Some(c) => c.clone(),
        None => p.schema.fields().iter().map(|f| f.name().clone()).collect(),
    };
    let mut wanted = out.clone();
    for c in p.filter.iter().flat_map(Expr::columns) {
        if !wanted.contains(&c) {
            wanted.push(c);
        }
    }
    let projection = wanted
        .iter()
        .map(|c| {
            p.schema
                .index_of(c)
                .map_err(|_| Error::NotFound(format!("{}: no column '{c}'", at())))
        })
        .collect::<Result<Vec<usize>>>()?;
    let schema: SchemaRef = Arc::new(Schema::new(
        p.schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), decoded_type(f.data_type()), true))
            .collect::<Vec<_>>(),
    ));
    let limit = if p.filter.is_some() { None } else { p.limit };
    let rows = limit.map_or(BATCH_ROWS, |l| (l as usize).clamp(1, BATCH_ROWS));
    let columns = Columns::new(p, schema, projection.clone());
    let rules: Vec<NullRule> = projection.iter().map(|&j| columns.null_rule(j)).collect();
    let direct = direct::decode(
        &bytes,
        p.dialect,
        &columns.schema,
        &projection,
        &rules,
        limit,
    );
    let batches = match direct {
        Some(b) => vec![b],
        None => match columns.decode(&bytes, rows, limit) {
            Ok(b) => b,
            Err(first) => careful(&columns, &bytes, &mut file, first)?,
        },
    };
    let projected = columns.projected()?;
    let batch = match batches.len() {
        0 => RecordBatch::new_empty(projected),
        1 => batches.into_iter().next().expect("one"),
        _ => arrow_select::concat::concat_batches(&projected, &batches)
            .map_err(|e| Error::invalid(format!("{}: {e}", at())))?,
    };
    // Columns of large strings, decoded as strings.
    let target: Vec<&Field> = projection.iter().map(|&i| p.schema.field(i)).collect();
    let batch = if target
        .iter()
        .zip(batch.columns())
        .all(|(f, c)| f.data_type() == c.data_type())
    {
        batch
    } else {
        let columns = target
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| arrow_cast::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<ArrayRef>, _>>()
            .map_err(|e| Error::invalid(format!("{}: {e}", at())))?;
        let fields: Vec<Field> = target.iter().map(|f| (*f).clone()).collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .map_err(|e| Error::invalid(format!("{}: {e}", at())))?
    };
    let batch = match &p.filter {
        None => batch,
        Some(filter) => {
            let keep = evaluate_filter(filter, &batch)
                .map_err(|e| Error::invalid(format!("{}: filter {filter}: {e}", at())))?;
            arrow_select::filter::filter_record_batch(&batch, &keep)
                .map_err(|e| Error::invalid(format!("{}: {e}", at())))?
        }
    };
    let batch = match p.limit {
        Some(l) if (l as usize) < batch.num_rows() => batch.slice(0, l as usize),
        _ => batch,
    };
    if batch.num_columns() == out.len() {
        return Ok(batch);
    }
    batch
        .project(&(0..out.len()).collect::<Vec<_>>())
        .map_err(|e| Error::invalid(format!("{}: {e}", at())))
}

/// The range again, in runs of records, after the decoder refused it: the first bad record
/// is the error (with its line and column), or every bad one is left out when the part
/// skips them.
fn careful(
    columns: &Columns,
    bytes: &[u8],
    file: &mut std::fs::File,
    first: Error,
) -> Result<Vec<RecordBatch>> {
    let p = columns.p;
    let ends = split::record_ends(bytes, p.dialect);
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut begin = 0usize;
    for run in ends.chunks(RUN) {
        let run_end = *run.last().expect("a run is not empty");
        let decode = |from: usize, to: usize| columns.decode(&bytes[from..to], RUN, None);
        match decode(begin, run_end) {
            Ok(b) => batches.extend(b),
            Err(_) => {
                let mut from = begin;
                for &end in run {
                    match decode(from, end) {
                        Ok(b) => batches.extend(b),
                        Err(_) if p.skip_bad_rows => {}
                        Err(_) => return Err(bad_record(columns, bytes, from, end, file)),
                    }
                    from = end;
                }
            }
        }
        begin = run_end;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if p.limit
            .is_some_and(|l| p.filter.is_none() && rows as u64 >= l)
        {
            break;
        }
    }
    if !p.skip_bad_rows && batches.is_empty() && !bytes.is_empty() {
        // Each run decoded alone, yet the whole did not.
        return Err(prefix_error(first, &p.path));
    }
    Ok(batches)
}

/// The error for the record at `bytes[from..to]`: its line in the file and the column at
/// fault (the first that does not decode alone), or its number of fields.
fn bad_record(
    columns: &Columns,
    bytes: &[u8],
    from: usize,
    to: usize,
    file: &mut std::fs::File,
) -> Error {
    let (p, schema) = (columns.p, &columns.schema);
    let record = &bytes[from..to];
    let line = lines_before(file, p.start).unwrap_or(0)
        + bytes[..from].iter().filter(|&&b| b == b'\n').count() as u64
        + 1;
    let at = format!("{}, line {line}", p.path);
    let one = |j: usize, schema: &SchemaRef| {
        decoder(p, schema, vec![j], 1, columns.keeps_empty(j))
            .and_then(|d| decode_all(d, record, None).map_err(|e| Error::invalid(e.to_string())))
    };
    for &j in &columns.projection {
        if one(j, schema).is_ok() {
            continue;
        }
        // The column as text: its value, for the message.
        let mut as_text: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        as_text[j] = Field::new(schema.field(j).name(), DataType::Utf8, true);
        let as_text = Arc::new(Schema::new(as_text));
        let Ok(text) = one(j, &as_text) else {
            break;
        };
        let value = text
            .first()
            .filter(|b| b.num_rows() == 1)
            .and_then(|b| arrow_cast::display::array_value_to_string(b.column(0), 0).ok())
            .unwrap_or_default();
        return Error::invalid(format!(
            "{at}, column '{}': cannot read {value:?} as {} (give the column's type in dtypes, \
             or skip bad rows)",
            schema.field(j).name(),
            p.schema.field(j).data_type()
        ));
    }
    let fields = split::count_fields(record, p.dialect);
    Error::invalid(format!(
        "{at}: {fields} fields where the table has {} (or skip bad rows)",
        schema.fields().len()
    ))
}

/// The newlines in `file` before `offset`: the line a range starts at, for errors.
fn lines_before(file: &mut std::fs::File, offset: u64) -> Option<u64> {
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut left = offset;
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = (left as usize).min(buf.len());
        file.read_exact(&mut buf[..n]).ok()?;
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        left -= n as u64;
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::TimeUnit;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len() as u64) as usize]
        }
    }

    /// A field of a column of type `t`: mostly valid, sometimes a null marker, now and
    /// then text the type does not take.
    fn field(r: &mut Rng, t: &DataType, quoting: bool) -> String {
        match r.below(12) {
            0 => return String::new(),
            1 => return r.pick(&["NA", "-", " "]).to_string(),
            2 if r.below(8) == 0 => return r.pick(&["x1", "1.5.", "+-3", "2024-13-01"]).into(),
            _ => {}
        }
        let n = r.below(2_000_000) as i64 - 1_000_000;
        match t {
            DataType::Boolean => r.pick(&["true", "False", "TRUE", "false"]).into(),
            DataType::Int8 => (n % 128).to_string(),
            DataType::Int32 | DataType::Int64 => {
                r.pick(&["", "+", "-"]).to_string() + &n.abs().to_string()
            }
            DataType::UInt16 => (n.unsigned_abs() % 65_536).to_string(),
            DataType::Float32 | DataType::Float64 => {
                r.pick(&["", "1e3", "inf", "NaN", "-0.0"]).to_string()
                    + &format!("{}", n as f64 / 7.0)
            }
            DataType::Date32 => format!(
                "{:04}-{:02}-{:02}",
                1900 + r.below(200),
                1 + r.below(12),
                1 + r.below(28)
            ),
            DataType::Timestamp(..) => {
                let base = format!(
                    "{:04}-{:02}-{:02}{}{:02}:{:02}:{:02}",
                    1900 + r.below(300),
                    1 + r.below(12),
                    1 + r.below(28),
                    r.pick(&["T", " "]),
                    r.below(24),
                    r.below(60),
                    r.below(60)
                );
                base + r.pick(&["", ".5", ".123456", ".123456789", "Z", "+01:00"])
            }
            _ => {
                let s = r
                    .pick(&["a", "b c", "déjà", "x,y", "q\"q", "line\nbreak", "NA"])
                    .to_string();
                match quoting {
                    true if r.below(3) == 0 || s.contains([',', '"', '\n']) => {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    }
                    _ => s.replace([',', '"', '\n'], "_"),
                }
            }
        }
    }

    #[test]
    fn the_direct_decoder_gives_arrow_csvs_values_or_leaves_the_range_to_it() {
        let types = [
            DataType::Boolean,
            DataType::Int8,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt16,
            DataType::Float32,
            DataType::Float64,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Second, None),
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            DataType::Utf8,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        ];
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut direct_read, mut both_refused) = (0, 0);
        for case in 0..1500 {
            let width = 1 + r.below(4) as usize;
            let fields: Vec<Field> = (0..width)
                .map(|i| {
                    Field::new(
                        format!("c{i}"),
                        types[r.below(types.len() as u64) as usize].clone(),
                        true,
                    )
                })
                .collect();
            let schema: SchemaRef = Arc::new(Schema::new(fields));
            let quoting = r.below(2) == 0;
            let newline = if r.below(4) == 0 { "\r\n" } else { "\n" };
            let mut text = String::new();
            for _ in 0..r.below(30) {
                if r.below(20) == 0 {
                    text.push_str(newline); // an empty line
                }
                // Now and then a record with a field more or less.
                let n = match r.below(60) {
                    0 => width + 1,
                    1 if width > 1 => width - 1,
                    _ => width,
                };
                let record: Vec<String> = (0..n)
                    .map(|i| field(&mut r, schema.field(i.min(width - 1)).data_type(), quoting))
                    .collect();
                text.push_str(&record.join(","));
                text.push_str(newline);
            }
            if r.below(4) == 0 && text.ends_with(newline) {
                text.truncate(text.len() - newline.len()); // no newline after the last record
            }
            let projection: Vec<usize> = (0..width).filter(|_| r.below(4) != 0).collect();
            let part = ReadCsvPart {
                path: "case.csv".into(),
                start: 0,
                end: text.len() as u64,
                schema: schema.clone(),
                columns: None,
                filter: None,
                dialect: Dialect {
                    delimiter: b',',
                    quote: b'"',
                    escape: None,
                },
                na_values: match r.below(3) {
                    0 => vec![],
                    1 => vec!["NA".into()],
                    _ => vec!["NA".into(), "-".into(), "".into()],
                },
                empty_strings: r.below(2) == 0,
                skip_bad_rows: false,
                limit: None,
            };
            let limit = (r.below(5) == 0).then(|| r.below(10));
            let columns = Columns::new(&part, schema.clone(), projection.clone());
            let rules: Vec<NullRule> = projection.iter().map(|&j| columns.null_rule(j)).collect();
            let ours = direct::decode(
                text.as_bytes(),
                part.dialect,
                &schema,
                &projection,
                &rules,
                limit,
            );
            let arrow = columns.decode(text.as_bytes(), 7, limit).and_then(|b| {
                arrow_select::concat::concat_batches(&columns.projected()?, &b)
                    .map_err(|e| Error::invalid(e.to_string()))
            });
            // arrow-csv decodes whole batches, and may meet a bad record past the limit.
            let arrow =
                arrow.map(|b| b.slice(0, b.num_rows().min(limit.unwrap_or(u64::MAX) as usize)));
            match (ours, arrow) {
                (Some(_), Err(_)) if limit.is_some() => {}
                (Some(ours), Ok(arrow)) => {
                    assert_eq!(ours, arrow, "case {case}: {text:?}");
                    direct_read += 1;
                }
                (None, Err(_)) => both_refused += 1,
                (ours, arrow) => panic!(
                    "case {case}: ours {:?}, arrow-csv {:?}, of {text:?} ({schema:?}, {projection:?})",
                    ours.map(|b| b.num_rows()),
                    arrow.map(|b| b.num_rows())
                ),
            }
        }
        assert!(
            direct_read > 300 && both_refused > 100,
            "{direct_read} read, {both_refused} refused"
        );
    }
}
