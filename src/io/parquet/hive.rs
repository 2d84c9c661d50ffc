//! Hive-style partitioned datasets: directories named `key=value` under a dataset's root
//! become columns of every row of the files below them (`year=2024/month=01/part.parquet`),
//! with types inferred from all the values (int64, then date32, else dictionary-encoded
//! strings, as pyarrow and Dask make them categorical), or given by the caller.
//! `__HIVE_DEFAULT_PARTITION__` is a null; values are percent-decoded.

use crate::error::{Error, Result};
use crate::table::expr::Scalar;
use arrow_array::types::Int32Type;
use arrow_array::{new_null_array, ArrayRef, Date32Array, DictionaryArray, Int32Array, Int64Array};
use arrow_schema::DataType;
use std::path::Path;
use std::sync::Arc;

/// The value Hive writes for a null key.
pub(crate) const NULL_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// The dictionary-encoded string type partition keys that are not numbers or dates get.
pub(crate) fn string_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The types a partition column may be given.
pub(crate) fn allowed(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int64 | DataType::Int32 | DataType::Date32 | DataType::Utf8
    ) || *t == string_type()
}

/// The `key=value` directories between `root` and `file`, decoded (`None` for a null).
pub(crate) fn keys(root: &Path, file: &Path) -> Vec<(String, Option<String>)> {
    let Ok(rel) = file.strip_prefix(root) else {
        return vec![];
    };
    let dirs: Vec<_> = rel.parent().map(|p| p.iter().collect()).unwrap_or_default();
    dirs.iter()
        .filter_map(|c| {
            let c = c.to_string_lossy();
            let (k, v) = c.split_once('=')?;
            let v = percent_decode(v);
            Some((percent_decode(k), (v != NULL_VALUE).then_some(v)))
        })
        .collect()
}

/// `%XX` escapes decoded; malformed escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// Days since the epoch of an ISO date (`2024-01-05`), when `s` is one.
fn parse_date(s: &str) -> Option<i32> {
    if s.len() != 10 {
        return None;
    }
    let parsed = arrow_cast::cast_with_options(
        &arrow_array::StringArray::from(vec![s]),
        &DataType::Date32,
        &arrow_cast::CastOptions {
            safe: false,
            ..Default::default()
        },
    )
    .ok()?;
    use arrow_array::cast::AsArray;
    Some(
        parsed
            .as_primitive::<arrow_array::types::Date32Type>()
            .value(0),
    )
}

/// The type all of a key's values fit: int64, else date32, else strings.
pub(crate) fn infer(values: &[Option<&str>]) -> DataType {
    let present = || values.iter().flatten();
    if present().all(|v| v.parse::<i64>().is_ok()) && present().next().is_some() {
        DataType::Int64
    } else if present().all(|v| parse_date(v).is_some()) && present().next().is_some() {
        DataType::Date32
    } else {
        string_type()
    }
}

/// One key's value as a literal of type `t` (dates as days); an error names the file.
pub(crate) fn value(
    raw: Option<&str>,
    t: &DataType,
    key: &str,
    file: &Path,
) -> Result<Option<Scalar>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let bad = || {
        Error::invalid(format!(
            "{}: the partition value {key}={raw} is not a {t}",
            file.display()
        ))
    };
    Ok(Some(match t {
        DataType::Int64 => Scalar::Int(raw.parse().map_err(|_| bad())?),
        DataType::Int32 => Scalar::Int(raw.parse::<i32>().map_err(|_| bad())?.into()),
        DataType::Date32 => Scalar::Int(parse_date(raw).ok_or_else(bad)?.into()),
        _ => Scalar::Str(raw.to_string()),
    }))
}

/// A column of `rows` copies of a partition value.
pub(crate) fn constant(t: &DataType, v: Option<&Scalar>, rows: usize) -> Result<ArrayRef> {
    let Some(v) = v else {
        return Ok(new_null_array(t, rows));
    };
    Ok(match (t, v) {
        (DataType::Int64, Scalar::Int(i)) => Arc::new(Int64Array::from_value(*i, rows)),
        (DataType::Int32, Scalar::Int(i)) => Arc::new(Int32Array::from_value(*i as i32, rows)),
        (DataType::Date32, Scalar::Int(i)) => Arc::new(Date32Array::from_value(*i as i32, rows)),
        (DataType::Utf8, Scalar::Str(s)) => Arc::new(arrow_array::StringArray::from_iter_values(
            std::iter::repeat_n(s, rows),
        )),
        (DataType::Dictionary(..), Scalar::Str(s)) => Arc::new(DictionaryArray::<Int32Type>::new(
            Int32Array::from_value(0, rows),
            Arc::new(arrow_array::StringArray::from(vec![s.as_str()])),
        )),
        (t, v) => {
            return Err(Error::invalid(format!(
                "a partition value {v} cannot be a {t}"
            )))
        }
    })
}

/// Code of a partition column's type in task parameters.
pub(crate) fn type_code(t: &DataType) -> u8 {
    match t {
        DataType::Int64 => 0,
        DataType::Int32 => 1,
        DataType::Date32 => 2,
        DataType::Utf8 => 3,
        _ => 4,
    }
}

pub(crate) fn type_of_code(c: u8) -> Option<DataType> {
    Some(match c {
        0 => DataType::Int64,
        1 => DataType::Int32,
        2 => DataType::Date32,
        3 => DataType::Utf8,
        4 => string_type(),
        _ => return None,
    })
}
