//! NumPy's basic indexing and reshaping rules: an index entry (a slice, a position, a new
//! axis) resolved against an axis length, and a new shape with one inferred length. Shared by
//! chunked and sparse arrays.

use crate::error::{Error, Result};

/// One index of `Array::slice`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Index {
    /// `start:stop:step` (None: the default bound).
    Slice(Option<i64>, Option<i64>, i64),
    /// A single position; the axis is dropped.
    At(i64),
    /// `np.newaxis`: a new axis of length 1.
    NewAxis,
}

impl Index {
    /// `:` (the whole axis).
    pub const ALL: Index = Index::Slice(None, None, 1);
}

/// A resolved slice along one axis: the first index, the step (non-zero) and the count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisSlice {
    pub start: usize,
    pub step: isize,
    pub len: usize,
}

/// Resolves Python slice bounds (`None` = default, negatives count from the end) for an axis
/// of length `n`.
pub fn resolve_slice(
    n: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
) -> Result<AxisSlice> {
    if step == 0 {
        return Err(Error::invalid("slice step cannot be zero"));
    }
    // In 128 bits: starts, stops and steps near ±2^63 neither overflow nor wrap. A step of
    // -2^63 acts as -(2^63 - 1), as Python clamps it.
    let n = n as i128;
    let step = (step as i128).max(-(i64::MAX as i128));
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: i64| {
        let v = v as i128;
        if v < 0 {
            v + n
        } else {
            v
        }
    };
    let (start, stop) = if step > 0 {
        (
            start.map_or(0, |s| clamp(norm(s), 0, n)),
            stop.map_or(n, |s| clamp(norm(s), 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |s| clamp(norm(s), -1, n - 1)),
            stop.map_or(-1, |s| clamp(norm(s), -1, n - 1)),
        )
    };
    let len = if step > 0 {
        if stop > start {
            (stop - start + step - 1) / step
        } else {
            0
        }
    } else if start > stop {
        (start - stop + (-step) - 1) / (-step)
    } else {
        0
    };
    // A step past the axis takes at most one element, for which the step does not matter:
    // then 1, so that no later offset arithmetic meets a step near 2^63.
    let step = if len <= 1 { 1 } else { step as i64 };
    Ok(AxisSlice {
        start: if len == 0 { 0 } else { start as usize },
        step: step as isize,
        len: len as usize,
    })
}

/// A new shape for `n` elements, with one `-1` inferred (NumPy's `reshape` rule).
pub fn resolve_shape(n: usize, shape: &[i64]) -> Result<Vec<usize>> {
    // Any negative length is the one inferred (NumPy takes -2 like -1).
    if shape.iter().filter(|&&s| s < 0).count() > 1 {
        return Err(Error::invalid(format!(
            "reshape: can only infer one length, but {shape:?} has several -1"
        )));
    }
    let known = shape
        .iter()
        .filter(|&&s| s >= 0)
        .try_fold(1usize, |acc, &s| acc.checked_mul(s as usize));
    let too_big = || {
        Error::Shape(format!(
            "cannot reshape array of size {n} into shape {shape:?}"
        ))
    };
    let known = known.ok_or_else(too_big)?;
    if known == 0 && shape.iter().any(|&s| s < 0) {
        // NumPy: the inferred length is ambiguous next to a zero length.
        return Err(Error::Shape(format!(
            "cannot reshape array of size {n} into shape {shape:?} (-1 is ambiguous next \
             to a length 0)"
        )));
    }
    let new: Vec<usize> = shape
        .iter()
        .map(|&s| {
            if s < 0 {
                n.checked_div(known).unwrap_or(0)
            } else {
                s as usize
            }
        })
        .collect();
    if new.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s)) != Some(n) {
        return Err(too_big());
    }
    Ok(new)
}

/// Resolves an integer index (negative counts from the end).
pub fn resolve_index(n: usize, i: i64) -> Result<usize> {
    let j = if i < 0 { i + n as i64 } else { i };
    if j < 0 || j >= n as i64 {
        return Err(Error::invalid(format!(
            "index {i} is out of bounds for an axis of length {n}"
        )));
    }
    Ok(j as usize)
}
