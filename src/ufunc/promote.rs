//! NumPy's type promotion for the supported dtypes: which casts are safe, what two dtypes
//! promote to, and how Python-like scalars join arrays (NEP 50: a scalar is "weak" and takes
//! the array's dtype within its kind).

use crate::value::DType;

fn kind(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => 1,
        DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 => 2,
        DType::Float32 | DType::Float64 => 3,
    }
}

fn bits(d: DType) -> usize {
    d.itemsize() * 8
}

/// True when every value of `from` is represented exactly in `to` (NumPy's "safe" casting).
pub fn can_cast_safely(from: DType, to: DType) -> bool {
    if from == to || from == DType::Bool {
        return true;
    }
    match (kind(from), kind(to)) {
        (_, 0) => false,
        (1, 1) | (2, 2) | (3, 3) => bits(to) >= bits(from),
        (1, 2) => bits(to) > bits(from),
        (2, 1) => false,
        (1 | 2, 3) => match to {
            DType::Float32 => bits(from) <= 16,
            _ => true,
        },
        _ => false,
    }
}

/// The smallest dtype both `a` and `b` cast to safely (`np.result_type` of two arrays).
pub fn promote(a: DType, b: DType) -> DType {
    if can_cast_safely(a, b) {
        return b;
    }
    if can_cast_safely(b, a) {
        return a;
    }
    for d in [
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::Float32,
        DType::Float64,
    ] {
        if can_cast_safely(a, d) && can_cast_safely(b, d) {
            return d;
        }
    }
    DType::Float64
}

/// `np.result_type` of several dtypes at once: the smallest dtype every one casts to
/// safely. Not a fold of `promote` (which is not associative): uint16, int16 and float32
/// give float32 here, as in NumPy, where pairwise promotion would give float64.
pub fn promote_all(dtypes: &[DType]) -> Option<DType> {
    const ORDER: [DType; 11] = [
        DType::Bool,
        DType::UInt8,
        DType::Int8,
        DType::UInt16,
        DType::Int16,
        DType::UInt32,
        DType::Int32,
        DType::UInt64,
        DType::Int64,
        DType::Float32,
        DType::Float64,
    ];
    if dtypes.is_empty() {
        return None;
    }
    Some(
        ORDER
            .into_iter()
            .find(|&to| dtypes.iter().all(|&d| can_cast_safely(d, to)))
            .unwrap_or(DType::Float64),
    )
}

pub use crate::value::ScalarKind;

/// The dtype a weak scalar of `kind` takes next to an array of `array` (NEP 50): within the
/// array's kind or below, the array's dtype; a float scalar with an integer array, float64;
/// an int scalar with a bool array, int64.
pub fn weak_scalar_dtype(kind_of_scalar: ScalarKind, array: DType) -> DType {
    match (kind_of_scalar, kind(array)) {
        (ScalarKind::Bool, _) => array,
        (ScalarKind::Int, 1..=3) => array,
        (ScalarKind::Int, _) => DType::Int64,
        (ScalarKind::Float, 3) => array,
        (ScalarKind::Float, _) => DType::Float64,
    }
}

/// The dtype a scalar operand takes in an elementwise operation with `arrays` (NEP 50).
pub fn scalar_dtype(s: crate::value::Scalar, arrays: &[DType]) -> DType {
    match arrays.iter().copied().reduce(promote) {
        Some(d) => weak_scalar_dtype(s.kind(), d),
        None => scalar_default_dtype(s.kind()),
    }
}

/// The dtype of a scalar on its own (no array to join).
pub fn scalar_default_dtype(kind_of_scalar: ScalarKind) -> DType {
    match kind_of_scalar {
        ScalarKind::Bool => DType::Bool,
        ScalarKind::Int => DType::Int64,
        ScalarKind::Float => DType::Float64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promotion_matches_numpy() {
        assert_eq!(promote(Int32, Float32), Float64);
        assert_eq!(promote(Int16, Float32), Float32);
        assert_eq!(promote(UInt64, Int64), Float64);
        assert_eq!(promote(UInt8, Int8), Int16);
        assert_eq!(promote(UInt32, Int32), Int64);
        assert_eq!(promote(Bool, Int8), Int8);
        assert_eq!(promote(Float32, Float64), Float64);
        assert_eq!(promote(UInt16, UInt64), UInt64);
        assert!(can_cast_safely(Int64, Float64));
        assert!(!can_cast_safely(Int32, Float32));
        assert!(!can_cast_safely(Float64, Int64));
        assert_eq!(weak_scalar_dtype(ScalarKind::Float, Float32), Float32);
        assert_eq!(weak_scalar_dtype(ScalarKind::Float, Int32), Float64);
        assert_eq!(weak_scalar_dtype(ScalarKind::Int, UInt8), UInt8);
        assert_eq!(promote_all(&[UInt16, Int16, Float32]), Some(Float32));
        assert_eq!(promote_all(&[Int8, UInt8, Bool]), Some(Int16));
        assert_eq!(promote_all(&[Float32, Int64]), Some(Float64));
        assert_eq!(promote_all(&[UInt64, Int64]), Some(Float64));
        // The pairwise answers agree with promote for two dtypes.
        let all = [
            Bool, Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64,
        ];
        for a in all {
            for b in all {
                assert_eq!(promote_all(&[a, b]), Some(promote(a, b)), "{a:?} {b:?}");
            }
        }
    }
}
