//! One schema for files written at different times: a column missing from some files is
//! null in their rows, and a column whose type changed between files (int32 → int64, float32
//! → float64, plain ↔ dictionary strings, a finer timestamp unit) takes the type every file's
//! values fit in, as pyarrow's permissive schema unification does. Types without one (a
//! boolean and a string, a date and a timestamp, int64 and uint64) are refused with an error
//! naming both files and the column.

use super::Footer;
use crate::error::{Error, Result};
use arrow_array::{new_null_array, ArrayRef};
use arrow_cast::{cast_with_options, CastOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// The columns of all `footers`: the first file's, then those only later files have, in the
/// order they first appear; each with the common type of its files and nullable if any
/// file's is or a file lacks it.
pub(crate) fn unify(footers: &[Footer]) -> Result<SchemaRef> {
    let first = &footers[0];
    if footers
        .iter()
        .all(|f| f.schema.fields() == first.schema.fields())
    {
        return Ok(first.schema.clone());
    }
    // Per column: its field so far and the file that set its type.
    let mut fields: Vec<(Field, usize)> = Vec::new();
    for (i, f) in footers.iter().enumerate() {
        for field in f.schema.fields() {
            match fields.iter_mut().find(|(g, _)| g.name() == field.name()) {
                None => {
                    let missing_before = i > 0;
                    let nullable = field.is_nullable() || missing_before;
                    fields.push((field.as_ref().clone().with_nullable(nullable), i));
                }
                Some((g, from)) => {
                    let t = common_type(g.data_type(), field.data_type()).ok_or_else(|| {
                        Error::invalid(format!(
                            "{}: column '{}' is {} there but {} in {}, and the two have no \
                             common type",
                            f.path.display(),
                            field.name(),
                            field.data_type(),
                            g.data_type(),
                            footers[*from].path.display()
                        ))
                    })?;
                    if &t != g.data_type() {
                        *from = i;
                    }
                    let nullable = g.is_nullable() || field.is_nullable();
                    *g = g.clone().with_data_type(t).with_nullable(nullable);
                }
            }
        }
    }
    // A column a file lacks is null in its rows.
    for (g, _) in fields.iter_mut() {
        if footers
            .iter()
            .any(|f| f.schema.field_with_name(g.name()).is_err())
        {
            *g = g.clone().with_nullable(true);
        }
    }
    Ok(Arc::new(Schema::new(
        fields.into_iter().map(|(g, _)| g).collect::<Vec<_>>(),
    )))
}

/// The fields of `table` a file with `file`'s schema does not give as they are (missing,
/// another type or nullability): what its partitions adapt after reading.
pub(crate) fn adaptations(file: &Schema, table: &Schema) -> Vec<Field> {
    table
        .fields()
        .iter()
        .filter(|t| match file.field_with_name(t.name()) {
            Ok(f) => f.data_type() != t.data_type() || f.is_nullable() != t.is_nullable(),
            Err(_) => true,
        })
        .map(|t| t.as_ref().clone())
        .collect()
}

/// `column` (as read, `None` when the file lacks it) as the table's `field`: cast to its
/// type, or nulls. A value that does not fit is an error, never a silent null.
pub(crate) fn adapt(column: Option<&ArrayRef>, field: &Field, rows: usize) -> Result<ArrayRef> {
    match column {
        None => Ok(new_null_array(field.data_type(), rows)),
        Some(c) if c.data_type() == field.data_type() => Ok(c.clone()),
        Some(c) => {
            let options = CastOptions {
                safe: false,
                ..Default::default()
            };
            cast_with_options(c, field.data_type(), &options).map_err(|e| {
                Error::invalid(format!(
                    "column '{}': its {} values do not fit the table's {}: {e}",
                    field.name(),
                    c.data_type(),
                    field.data_type()
                ))
            })
        }
    }
}

/// Width and signedness of an integer type.
fn integer(t: &DataType) -> Option<(u32, bool)> {
    Some(match t {
        DataType::Int8 => (8, true),
        DataType::Int16 => (16, true),
        DataType::Int32 => (32, true),
        DataType::Int64 => (64, true),
        DataType::UInt8 => (8, false),
        DataType::UInt16 => (16, false),
        DataType::UInt32 => (32, false),
        DataType::UInt64 => (64, false),
        _ => return None,
    })
}

fn integer_type(bits: u32, signed: bool) -> Option<DataType> {
    Some(match (bits, signed) {
        (8, true) => DataType::Int8,
        (16, true) => DataType::Int16,
        (32, true) => DataType::Int32,
        (64, true) => DataType::Int64,
        (8, false) => DataType::UInt8,
        (16, false) => DataType::UInt16,
        (32, false) => DataType::UInt32,
        (64, false) => DataType::UInt64,
        _ => return None,
    })
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8)
}

/// The type both `a`'s and `b`'s values fit in, if there is one.
pub(crate) fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    if let (Some((wa, sa)), Some((wb, sb))) = (integer(a), integer(b)) {
        return match (sa, sb) {
            _ if sa == sb => integer_type(wa.max(wb), sa),
            // A signed type wider than the unsigned one holds both; else the next wider
            // signed type, if there is one (int64 and uint64 have none).
            (true, false) if wa > wb => Some(a.clone()),
            (false, true) if wb > wa => Some(b.clone()),
            _ => integer_type(2 * wa.max(wb), true),
        };
    }
    let numeric = |t: &DataType| integer(t).is_some() || is_float(t);
    if numeric(a) && numeric(b) {
        // Floats with floats or integers: float64 (float32 only when both are).
        return Some(DataType::Float64);
    }
    match (a, b) {
        (DataType::Dictionary(ka, va), DataType::Dictionary(kb, vb)) => {
            let key = common_type(ka, kb).filter(|k| k.is_dictionary_key_type())?;
            let value = common_type(va, vb).filter(is_string)?;
            Some(DataType::Dictionary(Box::new(key), Box::new(value)))
        }
        // Plain strings with dictionary-encoded ones: plain.
        (DataType::Dictionary(_, v), s) | (s, DataType::Dictionary(_, v)) if is_string(s) => {
            common_type(v, s).filter(is_string)
        }
        (s, t) if is_string(s) && is_string(t) => Some(DataType::LargeUtf8),
        (DataType::Timestamp(ua, za), DataType::Timestamp(ub, zb)) if za == zb => {
            let rank = |u: &TimeUnit| match u {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 2,
                TimeUnit::Nanosecond => 3,
            };
            let unit = if rank(ua) >= rank(ub) { ua } else { ub };
            Some(DataType::Timestamp(*unit, za.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DataType::*;

    #[test]
    fn integers_widen_and_mixed_signs_take_a_signed_type_that_holds_both() {
        assert_eq!(common_type(&Int32, &Int64), Some(Int64));
        assert_eq!(common_type(&UInt8, &UInt32), Some(UInt32));
        assert_eq!(common_type(&Int64, &UInt32), Some(Int64));
        assert_eq!(common_type(&UInt32, &Int32), Some(Int64));
        assert_eq!(common_type(&UInt16, &Int8), Some(Int32));
        assert_eq!(common_type(&Int64, &UInt64), None);
        assert_eq!(common_type(&Float32, &Int16), Some(Float64));
        assert_eq!(common_type(&Float32, &Float64), Some(Float64));
    }

    #[test]
    fn strings_timestamps_and_what_has_no_common_type() {
        let dict = |k: DataType| Dictionary(Box::new(k), Box::new(Utf8));
        assert_eq!(common_type(&dict(Int8), &dict(Int32)), Some(dict(Int32)));
        assert_eq!(common_type(&dict(Int32), &Utf8), Some(Utf8));
        assert_eq!(common_type(&LargeUtf8, &dict(Int32)), Some(LargeUtf8));
        let ts = |u| Timestamp(u, None);
        assert_eq!(
            common_type(&ts(TimeUnit::Millisecond), &ts(TimeUnit::Nanosecond)),
            Some(ts(TimeUnit::Nanosecond))
        );
        assert_eq!(
            common_type(
                &ts(TimeUnit::Second),
                &Timestamp(TimeUnit::Second, Some("UTC".into()))
            ),
            None
        );
        assert_eq!(common_type(&Boolean, &Int8), None);
        assert_eq!(common_type(&Date32, &ts(TimeUnit::Second)), None);
        assert_eq!(common_type(&Utf8, &Int64), None);
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_not_a_null() {
        use arrow_array::{Array, Int64Array, UInt64Array};
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![1, u64::MAX]));
        let field = Field::new("x", Int64, true);
        assert!(adapt(Some(&big), &field, 2).is_err());
        let small: ArrayRef = Arc::new(UInt64Array::from(vec![1, 2]));
        let got = adapt(Some(&small), &field, 2).unwrap();
        assert_eq!(
            got.as_any().downcast_ref::<Int64Array>().unwrap().values(),
            &[1, 2]
        );
        let nulls = adapt(None, &field, 3).unwrap();
        assert_eq!(nulls.null_count(), 3);
    }
}
