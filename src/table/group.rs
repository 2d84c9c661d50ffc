//! Rows into groups by the values of key columns: each row gets the number of its group
//! (groups numbered in the order they first appear), each group the row it first appears in.
//! Keys are compared through arrow-row's byte encoding (any column type, several columns at
//! once, dictionaries by value), with floats made canonical first so that -0.0 and 0.0 are
//! one key and every NaN another (what NumPy's and pandas' hashing do).

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, DictionaryArray, PrimitiveArray, RecordBatch, UInt32Array,
};
use arrow_row::{Row, RowConverter, Rows, SortField};
use arrow_schema::DataType;
use std::collections::HashMap;
use std::sync::Arc;

type Result<T> = std::result::Result<T, String>;

/// Which group each row is in.
pub(crate) struct Groups {
    /// The group of each row.
    pub ids: Vec<u32>,
    /// The first row of each group.
    pub first: Vec<u32>,
}

impl Groups {
    pub fn len(&self) -> usize {
        self.first.len()
    }
}

/// `a` with -0.0 made 0.0 and every NaN the same NaN (other types unchanged).
pub(crate) fn canonical_floats(a: &ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|v| if v.is_nan() { f64::NAN } else { v + 0.0 }),
        ),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|v| if v.is_nan() { f32::NAN } else { v + 0.0 }),
        ),
        _ => a.clone(),
    }
}

/// The byte rows of `keys` (canonical floats), all through one converter so that rows of
/// different batches compare.
pub(crate) struct KeyRows {
    converter: RowConverter,
}

impl KeyRows {
    pub fn new(types: impl IntoIterator<Item = DataType>) -> Result<Self> {
        let fields = types.into_iter().map(SortField::new).collect();
        Ok(KeyRows {
            converter: RowConverter::new(fields).map_err(|e| format!("group keys: {e}"))?,
        })
    }

    pub fn rows(&self, keys: &[ArrayRef]) -> Result<Rows> {
        let canonical: Vec<ArrayRef> = keys.iter().map(canonical_floats).collect();
        self.converter
            .convert_columns(&canonical)
            .map_err(|e| format!("group keys: {e}"))
    }
}

/// The groups of the rows of `keys` (at least one column, all of one length).
pub(crate) fn group_rows(keys: &[ArrayRef]) -> Result<Groups> {
    // One integer or dictionary key, the common case, without the row encoding.
    if let [k] = keys {
        let fast = match k.data_type() {
            DataType::Int8 => Some(group_integers(k.as_primitive::<Int8Type>())),
            DataType::Int16 => Some(group_integers(k.as_primitive::<Int16Type>())),
            DataType::Int32 => Some(group_integers(k.as_primitive::<Int32Type>())),
            DataType::Int64 => Some(group_integers(k.as_primitive::<Int64Type>())),
            DataType::UInt8 => Some(group_integers(k.as_primitive::<UInt8Type>())),
            DataType::UInt16 => Some(group_integers(k.as_primitive::<UInt16Type>())),
            DataType::UInt32 => Some(group_integers(k.as_primitive::<UInt32Type>())),
            DataType::UInt64 => Some(group_integers(k.as_primitive::<UInt64Type>())),
            DataType::Date32 => Some(group_integers(k.as_primitive::<Date32Type>())),
            DataType::Dictionary(kt, vt) if **kt == DataType::Int32 && **vt == DataType::Utf8 => {
                Some(group_dictionary(k.as_dictionary::<Int32Type>()))
            }
            _ => None,
        };
        if let Some(g) = fast {
            return Ok(g);
        }
    }
    let rows = KeyRows::new(keys.iter().map(|k| k.data_type().clone()))?.rows(keys)?;
    Ok(group_key_rows(&rows))
}

/// Key ranges up to this many values are grouped through a table indexed by the value.
const DIRECT_RANGE: u64 = 1 << 16;

/// Groups of an integer column: through a table indexed by the value when the values span
/// a small range (no hashing: the common case of codes, years, small ids), else its values
/// hashed directly; nulls one group. Either way groups are numbered in order of first row.
fn group_integers<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>) -> Groups
where
    T::Native: std::hash::Hash + Eq,
{
    if a.null_count() == 0 && !a.is_empty() {
        if let Some(g) = group_small_range(a.values()) {
            return g;
        }
    }
    let mut index: HashMap<T::Native, u32, ahash::RandomState> =
        HashMap::with_hasher(ahash::RandomState::new());
    let mut null_group: Option<u32> = None;
    let mut ids = Vec::with_capacity(a.len());
    let mut first = Vec::new();
    let new_group = |first: &mut Vec<u32>, row: usize| {
        first.push(row as u32);
        first.len() as u32 - 1
    };
    for (i, &v) in a.values().iter().enumerate() {
        let id = if a.is_null(i) {
            *null_group.get_or_insert_with(|| new_group(&mut first, i))
        } else {
            *index.entry(v).or_insert_with(|| new_group(&mut first, i))
        };
        ids.push(id);
    }
    Groups { ids, first }
}

/// [`group_integers`] of values without nulls spanning at most [`DIRECT_RANGE`] values;
/// `None` when they span more.
fn group_small_range<V: arrow_buffer::ArrowNativeType>(values: &[V]) -> Option<Groups> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for v in values {
        // u64 values past i64::MAX: hashed instead.
        let v = v.to_i64()?;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi as i128 - lo as i128 >= DIRECT_RANGE as i128 {
        return None;
    }
    let mut slot = vec![u32::MAX; (hi as i128 - lo as i128 + 1) as usize];
    let mut ids = Vec::with_capacity(values.len());
    let mut first = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = (v.to_i64().expect("checked above") as i128 - lo as i128) as usize;
        let s = &mut slot[at];
        if *s == u32::MAX {
            *s = first.len() as u32;
            first.push(i as u32);
        }
        ids.push(*s);
    }
    Some(Groups { ids, first })
}

/// Groups of a dictionary-encoded string column: each dictionary entry's group is found once
/// (by its value, so repeated values in the dictionary are one group); nulls one group.
fn group_dictionary(d: &DictionaryArray<Int32Type>) -> Groups {
    let values = d.values().as_string::<i32>();
    let nulls = d.logical_nulls();
    let mut slot = vec![u32::MAX; values.len()];
    let mut by_value: HashMap<Option<&str>, u32, ahash::RandomState> =
        HashMap::with_hasher(ahash::RandomState::new());
    let mut ids = Vec::with_capacity(d.len());
    let mut first = Vec::new();
    for (i, &k) in d.keys().values().iter().enumerate() {
        let valid = nulls.as_ref().is_none_or(|n| n.is_valid(i));
        let id = if !valid {
            *by_value.entry(None).or_insert_with(|| {
                first.push(i as u32);
                first.len() as u32 - 1
            })
        } else {
            let k = k as usize;
            if slot[k] == u32::MAX {
                slot[k] = *by_value.entry(Some(values.value(k))).or_insert_with(|| {
                    first.push(i as u32);
                    first.len() as u32 - 1
                });
            }
            slot[k]
        };
        ids.push(id);
    }
    Groups { ids, first }
}

pub(crate) fn group_key_rows(rows: &Rows) -> Groups {
    let n = rows.num_rows();
    let mut index: HashMap<Row<'_>, u32, ahash::RandomState> =
        HashMap::with_hasher(ahash::RandomState::new());
    let mut ids = Vec::with_capacity(n);
    let mut first = Vec::new();
    for i in 0..n {
        let next = first.len() as u32;
        let id = *index.entry(rows.row(i)).or_insert_with(|| {
            first.push(i as u32);
            next
        });
        ids.push(id);
    }
    Groups { ids, first }
}

/// The rows of `batch` at `rows`.
pub(crate) fn take_rows(batch: &RecordBatch, rows: &[u32]) -> Result<RecordBatch> {
    let indices = UInt32Array::from(rows.to_vec());
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c, &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    RecordBatch::try_new(batch.schema(), columns).map_err(|e| e.to_string())
}

/// The distinct rows of `batch` (by all its columns, floats canonical), in the order they
/// first appear.
pub(crate) fn distinct(batch: &RecordBatch) -> Result<RecordBatch> {
    if batch.num_columns() == 0 || batch.num_rows() == 0 {
        return Ok(batch.clone());
    }
    let columns: Vec<ArrayRef> = batch.columns().iter().map(canonical_floats).collect();
    let groups = group_rows(&columns)?;
    let canonical = RecordBatch::try_new(batch.schema(), columns).map_err(|e| e.to_string())?;
    take_rows(&canonical, &groups.first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array, StringArray};

    #[test]
    fn rows_group_by_value_with_signed_zeros_and_nans_together() {
        let k: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::NAN),
            None,
            Some(-f64::NAN),
            None,
            Some(1.5),
        ]));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["a"; 7]));
        let g = group_rows(&[k, s]).unwrap();
        assert_eq!(g.ids, [0, 0, 1, 2, 1, 2, 3]);
        assert_eq!(g.first, [0, 2, 3, 6]);
        let b = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(vec![3, 1, 3, 3, 2])) as ArrayRef,
        )])
        .unwrap();
        let d = distinct(&b).unwrap();
        assert_eq!(
            d.column(0)
                .as_primitive::<arrow_array::types::Int64Type>()
                .values(),
            &[3, 1, 2]
        );
    }
}
