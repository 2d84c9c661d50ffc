//! What each aggregation keeps per group while partitions are reduced (its state columns),
//! how a partition's rows become states, how states of several partitions merge, and the
//! answer a state gives. The semantics are in `agg`'s notes.
//!
//! States: sum — one column, int64 / uint64 / float64; count, null_count — int64; mean —
//! float64 sum and int64 count; min, max — the value's type; var, std — count, mean and the
//! sum of squared deviations (merged with Chan et al.'s formula, which stays accurate where
//! sums of squares lose every digit); n_unique — none here (its distinct values travel
//! apart, see `reduce`).

use super::agg::AggFn;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
use arrow_array::{
    downcast_primitive_array, Array, ArrayRef, ArrowPrimitiveType, Float64Array, Int64Array,
    PrimitiveArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, SortOptions};
use std::cmp::Ordering;
use std::sync::Arc;

type Result<T> = std::result::Result<T, String>;

/// The group of each row: all in group 0 (`None`, a table without keys), or given.
#[derive(Clone, Copy)]
pub(crate) struct Ids<'a>(pub Option<&'a [u32]>);

impl Ids<'_> {
    #[inline]
    fn of(&self, row: usize) -> usize {
        match self.0 {
            None => 0,
            Some(ids) => ids[row] as usize,
        }
    }
}

/// The rows of `a` that are not null, in order.
fn valid_rows(a: &dyn Array) -> Box<dyn Iterator<Item = usize> + '_> {
    match a.logical_nulls() {
        None => Box::new(0..a.len()),
        Some(nulls) if nulls.null_count() == 0 => Box::new(0..a.len()),
        Some(nulls) => Box::new(nulls.inner().set_indices().collect::<Vec<_>>().into_iter()),
    }
}

fn cast(a: &ArrayRef, t: &DataType) -> Result<ArrayRef> {
    arrow_cast::cast(a, t).map_err(|e| e.to_string())
}

/// What a sum adds up in, by the column's type.
enum SumKind {
    Signed,
    Unsigned,
    Float,
}

fn sum_kind(t: &DataType) -> Option<SumKind> {
    match t {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64 => Some(SumKind::Signed),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            Some(SumKind::Unsigned)
        }
        DataType::Float32 | DataType::Float64 => Some(SumKind::Float),
        _ => None,
    }
}

/// Whether `func` applies to a column of type `t` (an error saying why not).
pub(crate) fn check(func: AggFn, t: &DataType) -> Result<()> {
    let numeric = sum_kind(t).is_some();
    match func {
        AggFn::Sum | AggFn::Mean | AggFn::Var { .. } | AggFn::Std { .. } if !numeric => {
            Err(format!(
                "a {t} column has no {} (numbers and booleans do)",
                func.label()
            ))
        }
        _ => Ok(()),
    }
}

/// The state columns of `func` over the rows of `values` in `n` groups.
pub(crate) fn partial(func: AggFn, values: &ArrayRef, ids: Ids, n: usize) -> Result<Vec<ArrayRef>> {
    check(func, values.data_type())?;
    Ok(match func {
        AggFn::Sum => vec![match sum_kind(values.data_type()) {
            Some(SumKind::Signed) => sum_signed(&cast(values, &DataType::Int64)?, ids, n)?,
            Some(SumKind::Unsigned) => sum_unsigned(&cast(values, &DataType::UInt64)?, ids, n)?,
            _ => sum_float(&cast(values, &DataType::Float64)?, ids, n),
        }],
        AggFn::Count => vec![count(values, ids, n, true)],
        AggFn::NullCount => vec![count(values, ids, n, false)],
        AggFn::Mean => {
            let x = cast(values, &DataType::Float64)?;
            vec![sum_float(&x, ids, n), count(&x, ids, n, true)]
        }
        AggFn::Min | AggFn::Max => vec![min_max(values, ids, n, func == AggFn::Max)?],
        AggFn::Var { .. } | AggFn::Std { .. } => {
            moments(&cast(values, &DataType::Float64)?, ids, n)
        }
        AggFn::NUnique => vec![],
    })
}

/// The states of `func` of several partitions (`states`: its columns, the rows of all the
/// partitions) merged into `n` groups.
pub(crate) fn merge(func: AggFn, states: &[ArrayRef], ids: Ids, n: usize) -> Result<Vec<ArrayRef>> {
    let col = |i: usize| {
        states
            .get(i)
            .cloned()
            .ok_or_else(|| format!("a {} state lacks column {i}", func.label()))
    };
    Ok(match func {
        AggFn::Sum => {
            let s = col(0)?;
            vec![match s.data_type() {
                DataType::Int64 => sum_signed(&s, ids, n)?,
                DataType::UInt64 => sum_unsigned(&s, ids, n)?,
                DataType::Float64 => sum_float(&s, ids, n),
                t => return Err(format!("a sum state of type {t}")),
            }]
        }
        AggFn::Count | AggFn::NullCount => vec![sum_signed(&col(0)?, ids, n)?],
        AggFn::Mean => vec![sum_float(&col(0)?, ids, n), sum_signed(&col(1)?, ids, n)?],
        AggFn::Min | AggFn::Max => vec![min_max(&col(0)?, ids, n, func == AggFn::Max)?],
        AggFn::Var { .. } | AggFn::Std { .. } => {
            merge_moments(&col(0)?, &col(1)?, &col(2)?, ids, n)?
        }
        AggFn::NUnique => vec![],
    })
}

/// The answer of each group's state.
pub(crate) fn finish(func: AggFn, states: &[ArrayRef]) -> Result<ArrayRef> {
    let col = |i: usize| {
        states
            .get(i)
            .ok_or_else(|| format!("a {} state lacks column {i}", func.label()))
    };
    Ok(match func {
        AggFn::Sum | AggFn::Count | AggFn::NullCount | AggFn::Min | AggFn::Max => col(0)?.clone(),
        AggFn::Mean => {
            let (s, c) = (
                col(0)?.as_primitive::<Float64Type>(),
                col(1)?.as_primitive::<Int64Type>(),
            );
            Arc::new(Float64Array::from_iter((0..s.len()).map(|g| {
                (c.value(g) > 0).then(|| s.value(g) / c.value(g) as f64)
            })))
        }
        AggFn::Var { ddof } | AggFn::Std { ddof } => {
            let c = col(0)?.as_primitive::<Int64Type>();
            let m2 = col(2)?.as_primitive::<Float64Type>();
            let root = matches!(func, AggFn::Std { .. });
            Arc::new(Float64Array::from_iter((0..c.len()).map(|g| {
                let n = c.value(g);
                (n > ddof as i64).then(|| {
                    let v = m2.value(g) / (n - ddof as i64) as f64;
                    if root {
                        v.sqrt()
                    } else {
                        v
                    }
                })
            })))
        }
        AggFn::NUnique => return Err("n_unique has no state of its own".into()),
    })
}

fn overflow(kind: &str) -> String {
    format!("the sum does not fit in {kind} (cast the column to float64 to sum it approximately)")
}

fn sum_signed(values: &ArrayRef, ids: Ids, n: usize) -> Result<ArrayRef> {
    let a = values.as_primitive::<Int64Type>();
    let v = a.values();
    let mut acc = vec![0i128; n];
    if ids.0.is_none() && a.null_count() == 0 {
        acc[0] = v.iter().map(|&x| x as i128).sum();
    } else {
        for i in valid_rows(a) {
            acc[ids.of(i)] += v[i] as i128;
        }
    }
    let sums = acc
        .into_iter()
        .map(|s| i64::try_from(s).map_err(|_| overflow("int64")))
        .collect::<Result<Vec<i64>>>()?;
    Ok(Arc::new(Int64Array::from(sums)))
}

fn sum_unsigned(values: &ArrayRef, ids: Ids, n: usize) -> Result<ArrayRef> {
    let a = values.as_primitive::<UInt64Type>();
    let v = a.values();
    let mut acc = vec![0u128; n];
    for i in valid_rows(a) {
        acc[ids.of(i)] += v[i] as u128;
    }
    let sums = acc
        .into_iter()
        .map(|s| u64::try_from(s).map_err(|_| overflow("uint64")))
        .collect::<Result<Vec<u64>>>()?;
    Ok(Arc::new(UInt64Array::from(sums)))
}

/// A sum in eight independent lanes: the loop vectorises, and rounding errors grow more
/// slowly than in one running sum.
fn lane_sum(v: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let tail: f64 = chunks.remainder().iter().sum();
    let pairs = [
        lanes[0] + lanes[4],
        lanes[1] + lanes[5],
        lanes[2] + lanes[6],
        lanes[3] + lanes[7],
    ];
    (pairs[0] + pairs[2]) + (pairs[1] + pairs[3]) + tail
}

fn sum_float(values: &ArrayRef, ids: Ids, n: usize) -> ArrayRef {
    let a = values.as_primitive::<Float64Type>();
    let v = a.values();
    let mut acc = vec![0.0f64; n];
    match ids.0 {
        None if a.null_count() == 0 => acc[0] = lane_sum(v),
        Some(ids) if a.null_count() == 0 => {
            for (&g, &x) in ids.iter().zip(v.iter()) {
                acc[g as usize] += x;
            }
        }
        _ => {
            for i in valid_rows(a) {
                acc[ids.of(i)] += v[i];
            }
        }
    }
    Arc::new(Float64Array::from(acc))
}

/// Per group, the values that are (`valid`) or are not null.
fn count(values: &ArrayRef, ids: Ids, n: usize, valid: bool) -> ArrayRef {
    let mut acc = vec![0i64; n];
    let nulls = values.logical_nulls();
    match (ids.0, &nulls) {
        (None, _) => {
            let nulls = nulls.as_ref().map_or(0, |b| b.null_count());
            acc[0] = (if valid { values.len() - nulls } else { nulls }) as i64;
        }
        (Some(ids), None) => {
            if valid {
                for &g in ids {
                    acc[g as usize] += 1;
                }
            }
        }
        (Some(ids), Some(b)) => {
            for (i, &g) in ids.iter().enumerate() {
                acc[g as usize] += (b.is_valid(i) == valid) as i64;
            }
        }
    }
    Arc::new(Int64Array::from(acc))
}

/// Whether `x` should replace `best` as the least (`max` false) or greatest value: a NaN
/// never replaces a number, a number always replaces a NaN.
#[inline]
#[allow(clippy::eq_op)]
fn better<T: PartialOrd + Copy>(x: T, best: T, max: bool) -> bool {
    let best_is_nan = best != best;
    let x_is_nan = x != x;
    if x_is_nan {
        return false;
    }
    best_is_nan || if max { x > best } else { x < best }
}

fn min_max_primitive<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    ids: Ids,
    n: usize,
    max: bool,
) -> PrimitiveArray<T> {
    let v = a.values();
    if a.null_count() == 0 {
        return min_max_dense(v, ids, n, max).with_data_type(a.data_type().clone());
    }
    let mut best: Vec<Option<T::Native>> = vec![None; n];
    for i in valid_rows(a) {
        let b = &mut best[ids.of(i)];
        match b {
            None => *b = Some(v[i]),
            Some(c) if better(v[i], *c, max) => *b = Some(v[i]),
            _ => {}
        }
    }
    PrimitiveArray::<T>::from_iter(best).with_data_type(a.data_type().clone())
}

/// [`min_max_primitive`] of a column without nulls: loops the compiler can vectorise (eight
/// independent lanes for a whole column; one pass over the group ids otherwise), the same
/// `better` rule (a NaN only where a group holds nothing else).
fn min_max_dense<T: ArrowPrimitiveType>(
    v: &[T::Native],
    ids: Ids,
    n: usize,
    max: bool,
) -> PrimitiveArray<T> {
    let pick = |best: T::Native, x: T::Native| if better(x, best, max) { x } else { best };
    match ids.0 {
        _ if v.is_empty() => PrimitiveArray::<T>::from_iter(vec![None; n]),
        None => {
            const LANES: usize = 8;
            let mut lanes = [v[0]; LANES];
            let mut chunks = v.chunks_exact(LANES);
            for c in &mut chunks {
                for l in 0..LANES {
                    lanes[l] = pick(lanes[l], c[l]);
                }
            }
            let best = chunks
                .remainder()
                .iter()
                .fold(lanes.iter().fold(v[0], |b, &x| pick(b, x)), |b, &x| {
                    pick(b, x)
                });
            let mut out = vec![None; n];
            if let Some(first) = out.first_mut() {
                *first = Some(best);
            }
            PrimitiveArray::<T>::from_iter(out)
        }
        Some(ids) => {
            let mut best = vec![T::Native::default(); n];
            let mut seen = vec![false; n];
            for (&g, &x) in ids.iter().zip(v) {
                let g = g as usize;
                best[g] = if seen[g] { pick(best[g], x) } else { x };
                seen[g] = true;
            }
            PrimitiveArray::<T>::from_iter(best.into_iter().zip(seen).map(|(b, s)| s.then_some(b)))
        }
    }
}

/// Least or greatest value per group, of `values`' type (a dictionary's value type).
fn min_max(values: &ArrayRef, ids: Ids, n: usize, max: bool) -> Result<ArrayRef> {
    downcast_primitive_array!(
        values => Ok(Arc::new(min_max_primitive(values, ids, n, max)) as ArrayRef),
        DataType::Dictionary(_, v) => min_max(&cast(values, v)?, ids, n, max),
        DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 => {
            let cmp = arrow_ord::ord::make_comparator(
                values.as_ref(),
                values.as_ref(),
                SortOptions::default(),
            )
            .map_err(|e| e.to_string())?;
            let worse = if max { Ordering::Less } else { Ordering::Greater };
            let mut best: Vec<Option<u32>> = vec![None; n];
            for i in valid_rows(values.as_ref()) {
                let b = &mut best[ids.of(i)];
                match b {
                    Some(c) if cmp(*c as usize, i) != worse => {}
                    _ => *b = Some(i as u32),
                }
            }
            arrow_select::take::take(values, &UInt32Array::from(best), None)
                .map_err(|e| e.to_string())
        },
        t => Err(format!("no min or max for a {t} column"))
    )
}

/// Count, mean and sum of squared deviations per group: a pass for the means, one for the
/// deviations.
fn moments(values: &ArrayRef, ids: Ids, n: usize) -> Vec<ArrayRef> {
    let a = values.as_primitive::<Float64Type>();
    let v = a.values();
    let mut count = vec![0i64; n];
    let mut sum = vec![0.0f64; n];
    let rows: Vec<usize> = valid_rows(a).collect();
    for &i in &rows {
        let g = ids.of(i);
        count[g] += 1;
        sum[g] += v[i];
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
        .collect();
    let mut m2 = vec![0.0f64; n];
    for &i in &rows {
        let g = ids.of(i);
        let d = v[i] - mean[g];
        m2[g] += d * d;
    }
    vec![
        Arc::new(Int64Array::from(count)),
        Arc::new(Float64Array::from(mean)),
        Arc::new(Float64Array::from(m2)),
    ]
}

/// Chan, Golub and LeVeque's pairwise update: (n, mean, M2) of two sets from each's.
fn merge_moments(
    count: &ArrayRef,
    mean: &ArrayRef,
    m2: &ArrayRef,
    ids: Ids,
    n: usize,
) -> Result<Vec<ArrayRef>> {
    let (c, m, s) = (
        count.as_primitive::<Int64Type>(),
        mean.as_primitive::<Float64Type>(),
        m2.as_primitive::<Float64Type>(),
    );
    let mut nc = vec![0i64; n];
    let mut nm = vec![0.0f64; n];
    let mut ns = vec![0.0f64; n];
    for r in 0..c.len() {
        let (g, nb) = (ids.of(r), c.value(r));
        if nb == 0 {
            continue;
        }
        let na = nc[g];
        let total = na + nb;
        let delta = m.value(r) - nm[g];
        nm[g] += delta * nb as f64 / total as f64;
        ns[g] += s.value(r) + delta * delta * (na as f64) * (nb as f64) / total as f64;
        nc[g] = total;
    }
    Ok(vec![
        Arc::new(Int64Array::from(nc)),
        Arc::new(Float64Array::from(nm)),
        Arc::new(Float64Array::from(ns)),
    ])
}
