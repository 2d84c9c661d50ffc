//! Evaluating a row expression on a record batch, node by node in order (no recursion).
//!
//! Types follow NumPy's rules for a column against a Python scalar: a literal takes the
//! column's type where it fits exactly, and where it does not the answer is still exact
//! (`int8 column < 300` is true for every row, `int column < 2.5` is `<= 2`). Float
//! comparisons are IEEE's, not Arrow's total order: NaN matches nothing but `!=`, and
//! -0.0 equals 0.0 — what NumPy, pandas and pyarrow's compute functions say.

use super::expr::{CmpOp, Expr, Node, Scalar};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::ArrowPrimitiveType;
use arrow_array::{
    new_null_array, Array, ArrayRef, BooleanArray, Datum, Float64Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_cast::{cast_with_options, CastOptions};
use arrow_schema::DataType;
use std::collections::HashSet;
use std::sync::Arc;

/// A node's value: a column (or computed array) with a name for messages, or a literal.
enum Operand {
    Array(ArrayRef, String),
    Scalar(Scalar),
}

/// The rows of `batch` where `expr` is true (false or null elsewhere).
pub fn evaluate_filter(expr: &Expr, batch: &RecordBatch) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    let mut values: Vec<Operand> = Vec::with_capacity(expr.nodes().len());
    let inner = if expr.nodes().iter().any(|n| matches!(n, Node::Call(..))) {
        super::compute::inner_calls(expr)
    } else {
        vec![]
    };
    for (i, node) in expr.nodes().iter().enumerate() {
        let v = match node {
            // Built into the call that uses it.
            Node::Call(..) if inner[i] => Operand::Scalar(Scalar::Null),
            Node::Call(name, _) => Operand::Array(
                super::compute::evaluate_call(expr, i, batch)?,
                format!("{name}()"),
            ),
            Node::Column(c) => {
                let a = batch.column_by_name(c).ok_or_else(|| {
                    Error::NotFound(format!(
                        "no column '{c}' (the columns: {})",
                        batch
                            .schema()
                            .fields()
                            .iter()
                            .map(|f| f.name().as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
                Operand::Array(a.clone(), format!("column '{c}'"))
            }
            Node::Literal(s) => Operand::Scalar(s.clone()),
            Node::Cmp(op, a, b) => condition(compare(&values[*a], &values[*b], *op, rows)?),
            Node::And(a, b) => condition(
                arrow_arith::boolean::and_kleene(
                    &as_bool(&values[*a], rows)?,
                    &as_bool(&values[*b], rows)?,
                )
                .map_err(arrow_error)?,
            ),
            Node::Or(a, b) => condition(
                arrow_arith::boolean::or_kleene(
                    &as_bool(&values[*a], rows)?,
                    &as_bool(&values[*b], rows)?,
                )
                .map_err(arrow_error)?,
            ),
            Node::Not(a) => condition(
                arrow_arith::boolean::not(&as_bool(&values[*a], rows)?).map_err(arrow_error)?,
            ),
            Node::IsNull(a) => condition(match &values[*a] {
                Operand::Array(x, _) => {
                    arrow_arith::boolean::is_null(x.as_ref()).map_err(arrow_error)?
                }
                Operand::Scalar(s) => constant(matches!(s, Scalar::Null), rows),
            }),
            Node::IsIn(a, list) => condition(match &values[*a] {
                Operand::Array(x, name) => isin(x, name, list)?,
                Operand::Scalar(s) => {
                    let x = scalar_array(s)?;
                    let one = isin(&x, "a literal", list)?;
                    broadcast(&one, rows)
                }
            }),
        };
        values.push(v);
    }
    as_bool(values.last().expect("an expression has a root"), rows)
}

fn condition(b: BooleanArray) -> Operand {
    Operand::Array(Arc::new(b), "a condition".into())
}

fn arrow_error(e: arrow_schema::ArrowError) -> Error {
    Error::invalid(e.to_string())
}

fn constant(v: bool, rows: usize) -> BooleanArray {
    BooleanArray::from(vec![v; rows])
}

/// A one-row result repeated `rows` times.
fn broadcast(one: &BooleanArray, rows: usize) -> BooleanArray {
    if one.is_null(0) {
        BooleanArray::new_null(rows)
    } else {
        constant(one.value(0), rows)
    }
}

fn as_bool(v: &Operand, rows: usize) -> Result<BooleanArray> {
    match v {
        Operand::Array(a, name) => match a.data_type() {
            DataType::Boolean => Ok(a.as_boolean().clone()),
            t => Err(Error::invalid(format!(
                "{name} ({t}) is not a condition: compare it with something"
            ))),
        },
        Operand::Scalar(Scalar::Bool(b)) => Ok(constant(*b, rows)),
        Operand::Scalar(Scalar::Null) => Ok(BooleanArray::new_null(rows)),
        Operand::Scalar(s) => Err(Error::invalid(format!(
            "the literal {s} is not a condition"
        ))),
    }
}

/// The type a column's values have (a dictionary's values' type).
fn value_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, v) => v,
        t => t,
    }
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

fn no_cast_loss() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn cast(a: &dyn Array, t: &DataType) -> Result<ArrayRef> {
    cast_with_options(a, t, &no_cast_loss()).map_err(arrow_error)
}

/// A literal as a one-row array of its natural type.
fn scalar_array(s: &Scalar) -> Result<ArrayRef> {
    Ok(match s {
        Scalar::Null => new_null_array(&DataType::Null, 1),
        Scalar::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
        Scalar::Int(v) => Arc::new(Int64Array::from(vec![*v])),
        Scalar::Float(v) => Arc::new(Float64Array::from(vec![*v])),
        Scalar::Str(v) => Arc::new(StringArray::from(vec![v.as_str()])),
    })
}

fn compare(l: &Operand, r: &Operand, op: CmpOp, rows: usize) -> Result<BooleanArray> {
    match (l, r) {
        (Operand::Array(a, an), Operand::Array(b, bn)) => compare_arrays(a, an, b, bn, op),
        (Operand::Array(a, name), Operand::Scalar(s)) => compare_array_scalar(a, name, s, op),
        (Operand::Scalar(s), Operand::Array(a, name)) => {
            compare_array_scalar(a, name, s, op.flipped())
        }
        (Operand::Scalar(x), Operand::Scalar(y)) => {
            let one = compare_array_scalar(&scalar_array(x)?, &format!("{x}"), y, op)?;
            Ok(broadcast(&one, rows))
        }
    }
}

/// Arrow's comparison kernels (dictionaries compared by value).
fn ord_cmp(l: &dyn Datum, r: &dyn Datum, op: CmpOp) -> Result<BooleanArray> {
    use arrow_ord::cmp;
    match op {
        CmpOp::Eq => cmp::eq(l, r),
        CmpOp::Ne => cmp::neq(l, r),
        CmpOp::Lt => cmp::lt(l, r),
        CmpOp::Le => cmp::lt_eq(l, r),
        CmpOp::Gt => cmp::gt(l, r),
        CmpOp::Ge => cmp::gt_eq(l, r),
    }
    .map_err(arrow_error)
}

fn ieee<T: PartialOrd>(x: T, y: T, op: CmpOp) -> bool {
    match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        CmpOp::Ge => x >= y,
    }
}

/// Every non-null row gets the same answer (a literal outside the column's range).
fn uniform(a: &dyn Array, v: bool) -> BooleanArray {
    let values = if v {
        BooleanBuffer::new_set(a.len())
    } else {
        BooleanBuffer::new_unset(a.len())
    };
    BooleanArray::new(values, a.logical_nulls())
}

/// The answer for every row when the literal lies above (or below) every value the
/// column's type can hold.
fn outside(a: &dyn Array, above: bool, op: CmpOp) -> BooleanArray {
    let v = match op {
        CmpOp::Ne => true,
        CmpOp::Eq => false,
        CmpOp::Lt | CmpOp::Le => above,
        CmpOp::Gt | CmpOp::Ge => !above,
    };
    uniform(a, v)
}

fn mismatch(name: &str, t: &DataType, s: &Scalar) -> Error {
    Error::invalid(format!("cannot compare {name} ({t}) with the literal {s}"))
}

/// `a op s` for a column `a` (a dictionary compares by value) and a literal.
pub(crate) fn compare_array_scalar(
    a: &ArrayRef,
    name: &str,
    s: &Scalar,
    op: CmpOp,
) -> Result<BooleanArray> {
    let t = value_type(a.data_type()).clone();
    if matches!(s, Scalar::Null) {
        return Ok(BooleanArray::new_null(a.len()));
    }
    match (&t, s) {
        (DataType::Float64, Scalar::Int(i)) => float_vs(a, *i as f64, op),
        (DataType::Float64, Scalar::Float(f)) => float_vs(a, *f, op),
        // NumPy: a Python scalar takes a float32 array's type.
        (DataType::Float32, Scalar::Int(i)) => float_vs(a, *i as f32, op),
        (DataType::Float32, Scalar::Float(f)) => float_vs(a, *f as f32, op),
        (t, Scalar::Int(v)) if t.is_integer() => compare_int(a, &t.clone(), *v, op),
        (t, Scalar::Float(f)) if t.is_integer() => {
            let f = *f;
            if f.is_nan() {
                return Ok(uniform(a, op == CmpOp::Ne));
            }
            const TWO_63: f64 = 9_223_372_036_854_775_808.0;
            if !(-TWO_63..TWO_63).contains(&f) {
                return Ok(outside(a, f > 0.0, op));
            }
            if f.fract() == 0.0 {
                return compare_int(a, t, f as i64, op);
            }
            // Not an integer: x < 2.5 is x <= 2, x > 2.5 is x >= 3, x == 2.5 never.
            match op {
                CmpOp::Eq => Ok(uniform(a, false)),
                CmpOp::Ne => Ok(uniform(a, true)),
                CmpOp::Lt | CmpOp::Le => compare_int(a, t, f.floor() as i64, CmpOp::Le),
                CmpOp::Gt | CmpOp::Ge => compare_int(a, t, f.ceil() as i64, CmpOp::Ge),
            }
        }
        (DataType::Boolean, Scalar::Bool(v)) => {
            let s = arrow_array::Scalar::new(BooleanArray::from(vec![*v]));
            ord_cmp(a, &s, op)
        }
        (DataType::Utf8, Scalar::Str(v)) => {
            let s = arrow_array::Scalar::new(StringArray::from(vec![v.as_str()]));
            ord_cmp(a, &s, op)
        }
        (DataType::LargeUtf8, Scalar::Str(v)) => {
            let s = arrow_array::Scalar::new(LargeStringArray::from(vec![v.as_str()]));
            ord_cmp(a, &s, op)
        }
        (DataType::Date32 | DataType::Timestamp(..), Scalar::Str(v)) => {
            let parsed = cast(&StringArray::from(vec![v.as_str()]), &t).map_err(|e| {
                Error::invalid(format!("{name} ({t}): the literal {s} is not a {t}: {e}"))
            })?;
            ord_cmp(a, &arrow_array::Scalar::new(parsed), op)
        }
        (DataType::Date32 | DataType::Timestamp(..), Scalar::Int(v)) => {
            // Days since the epoch for dates; the column's own unit for timestamps.
            let raw = Int64Array::from(vec![*v]);
            let storage = if t == DataType::Date32 {
                DataType::Int32
            } else {
                DataType::Int64
            };
            let Ok(narrow) = cast(&raw, &storage) else {
                return Ok(outside(a, *v > 0, op));
            };
            let typed = narrow.to_data().into_builder().data_type(t.clone()).build();
            let typed = arrow_array::make_array(typed.map_err(arrow_error)?);
            ord_cmp(a, &arrow_array::Scalar::new(typed), op)
        }
        _ => Err(mismatch(name, a.data_type(), s)),
    }
}

/// A float column against a literal of its type, by IEEE's rules.
fn float_vs<T: FloatLiteral>(a: &ArrayRef, v: T, op: CmpOp) -> Result<BooleanArray> {
    let x = cast(a, &T::ArrowType::DATA_TYPE)?;
    let x = x.as_primitive::<T::ArrowType>();
    let vals = x.values();
    Ok(BooleanArray::new(
        BooleanBuffer::collect_bool(x.len(), |i| ieee(vals[i], v, op)),
        x.nulls().cloned(),
    ))
}

/// `f32` and `f64` with their Arrow types.
trait FloatLiteral: arrow_buffer::ArrowNativeType + PartialOrd {
    type ArrowType: arrow_array::ArrowPrimitiveType<Native = Self>;
}
impl FloatLiteral for f32 {
    type ArrowType = Float32Type;
}
impl FloatLiteral for f64 {
    type ArrowType = Float64Type;
}

/// An integer column against an integer literal: in the column's type when the literal
/// fits it, else the same answer for every row.
fn compare_int(a: &ArrayRef, t: &DataType, v: i64, op: CmpOp) -> Result<BooleanArray> {
    let fitted = arrow_cast::cast(&Int64Array::from(vec![v]), t).map_err(arrow_error)?;
    if fitted.is_null(0) {
        return Ok(outside(a, v > 0, op));
    }
    ord_cmp(a, &arrow_array::Scalar::new(fitted), op)
}

/// The type two different column types are compared in (NumPy's promotion for numbers).
fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    let signed = |t: &DataType| t.is_signed_integer();
    let unsigned = |t: &DataType| t.is_unsigned_integer();
    if a.is_numeric() && b.is_numeric() {
        return Some(if is_float(a) || is_float(b) {
            Float64
        } else if signed(a) && signed(b) {
            Int64
        } else if unsigned(a) && unsigned(b) {
            UInt64
        } else if *a == UInt64 || *b == UInt64 {
            Float64
        } else {
            Int64
        });
    }
    match (a, b) {
        (Utf8 | LargeUtf8, Utf8 | LargeUtf8) => Some(LargeUtf8),
        (Date32, Timestamp(..)) => Some(b.clone()),
        (Timestamp(..), Date32) => Some(a.clone()),
        (Timestamp(ua, _), Timestamp(ub, _)) => Some(if ua >= ub { a.clone() } else { b.clone() }),
        _ => None,
    }
}

fn compare_arrays(
    a: &ArrayRef,
    an: &str,
    b: &ArrayRef,
    bn: &str,
    op: CmpOp,
) -> Result<BooleanArray> {
    let (ta, tb) = (value_type(a.data_type()), value_type(b.data_type()));
    let (a, b) = if ta == tb {
        (a.clone(), b.clone())
    } else {
        let t = common_type(ta, tb).ok_or_else(|| {
            Error::invalid(format!(
                "cannot compare {an} ({}) with {bn} ({})",
                a.data_type(),
                b.data_type()
            ))
        })?;
        (cast(a, &t)?, cast(b, &t)?)
    };
    match value_type(a.data_type()) {
        DataType::Float64 | DataType::Float32 => {
            let (x, y) = (cast(&a, &DataType::Float64)?, cast(&b, &DataType::Float64)?);
            let (x, y) = (
                x.as_primitive::<Float64Type>(),
                y.as_primitive::<Float64Type>(),
            );
            let (xv, yv) = (x.values(), y.values());
            Ok(BooleanArray::new(
                BooleanBuffer::collect_bool(x.len(), |i| ieee(xv[i], yv[i], op)),
                NullBuffer::union(x.nulls(), y.nulls()),
            ))
        }
        _ => ord_cmp(&a, &b, op),
    }
}

/// Lists longer than this are matched through a hash set where the type allows.
const ISIN_SCAN: usize = 16;

/// Whether each value of `a` is one of `list` (nulls in `a` give null, in `list` nothing).
fn isin(a: &ArrayRef, name: &str, list: &[Scalar]) -> Result<BooleanArray> {
    let list: Vec<&Scalar> = list.iter().filter(|s| **s != Scalar::Null).collect();
    if let DataType::Dictionary(..) = a.data_type() {
        // Decide once per distinct value, then look the answers up by key.
        let dict = a.as_any_dictionary();
        let owned: Vec<Scalar> = list.iter().map(|s| (*s).clone()).collect();
        let on_values = isin(dict.values(), name, &owned)?;
        let taken = arrow_select::take::take(&on_values, dict.keys(), None).map_err(arrow_error)?;
        return Ok(taken.as_boolean().clone());
    }
    let t = a.data_type();
    if list.is_empty() {
        return Ok(uniform(a, false));
    }
    if list.len() > ISIN_SCAN {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 => {
                let mut set = HashSet::new();
                for s in &list {
                    match s {
                        Scalar::Str(v) => set.insert(v.as_str()),
                        other => return Err(mismatch(name, t, other)),
                    };
                }
                let hit = |v: &str| set.contains(v);
                let values = match t {
                    DataType::Utf8 => {
                        let x = a.as_string::<i32>();
                        BooleanBuffer::collect_bool(x.len(), |i| hit(x.value(i)))
                    }
                    _ => {
                        let x = a.as_string::<i64>();
                        BooleanBuffer::collect_bool(x.len(), |i| hit(x.value(i)))
                    }
                };
                return Ok(BooleanArray::new(values, a.logical_nulls()));
            }
            t if (t.is_integer() && *t != DataType::UInt64)
                || matches!(t, DataType::Date32 | DataType::Timestamp(..)) =>
            {
                // Each literal is brought to the column's type as a comparison would
                // (one that cannot equal any value is left out), then both to int64.
                let mut set = HashSet::new();
                for s in &list {
                    let probe = new_null_array(t, 0);
                    let _ = compare_array_scalar(&probe, name, s, CmpOp::Eq)?;
                    if let Some(v) = literal_as_i64(t, s)? {
                        set.insert(v);
                    }
                }
                let storage = if *t == DataType::Date32 {
                    DataType::Int32
                } else if t.is_integer() {
                    t.clone()
                } else {
                    DataType::Int64
                };
                let raw = arrow_array::make_array(
                    a.to_data()
                        .into_builder()
                        .data_type(storage)
                        .build()
                        .map_err(arrow_error)?,
                );
                let wide = cast(&raw, &DataType::Int64)?;
                let x = wide.as_primitive::<Int64Type>();
                let xv = x.values();
                let values = BooleanBuffer::collect_bool(x.len(), |i| set.contains(&xv[i]));
                return Ok(BooleanArray::new(values, a.logical_nulls()));
            }
            _ => {}
        }
    }
    let mut acc: Option<BooleanArray> = None;
    for s in list {
        let eq = compare_array_scalar(a, name, s, CmpOp::Eq)?;
        acc = Some(match acc {
            None => eq,
            Some(x) => arrow_arith::boolean::or(&x, &eq).map_err(arrow_error)?,
        });
    }
    Ok(acc.expect("a non-empty list"))
}

/// A literal as the int64 storage value it equals in a column of type `t` (dates in days,
/// timestamps in the column's unit), or `None` when no value of `t` equals it.
fn literal_as_i64(t: &DataType, s: &Scalar) -> Result<Option<i64>> {
    match s {
        Scalar::Int(v) => {
            let fitted = arrow_cast::cast(&Int64Array::from(vec![*v]), value_storage(t))
                .map_err(arrow_error)?;
            Ok((!fitted.is_null(0)).then_some(*v))
        }
        Scalar::Float(f) => {
            if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(f)
            {
                literal_as_i64(t, &Scalar::Int(*f as i64))
            } else {
                Ok(None)
            }
        }
        Scalar::Str(v) => {
            let parsed = cast(&StringArray::from(vec![v.as_str()]), t)?;
            let raw = arrow_array::make_array(
                parsed
                    .to_data()
                    .into_builder()
                    .data_type(value_storage(t).clone())
                    .build()
                    .map_err(arrow_error)?,
            );
            let wide = cast(&raw, &DataType::Int64)?;
            Ok(Some(wide.as_primitive::<Int64Type>().value(0)))
        }
        _ => Ok(None),
    }
}

/// The integer type a column's values are stored as.
fn value_storage(t: &DataType) -> &DataType {
    match t {
        DataType::Date32 => &DataType::Int32,
        DataType::Timestamp(..) => &DataType::Int64,
        t => t,
    }
}
