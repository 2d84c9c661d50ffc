//! NEP 50: how a Python-like scalar joins a ufunc call.
//!
//! A scalar is "weak": the loop is chosen as if it had the arrays' dtype (within its kind),
//! and then its *value* enters that loop's input type directly. So `divide(int16, 70000)`
//! divides by 70000.0 (the loop is float64) and `add(int8, 300)` is an error, as in NumPy 2 —
//! never 300 wrapped into int8. Comparisons are exact whatever the value: an integer scalar
//! outside the array's range compares as int64 (`less(int8 127, 300)` is true).

use super::promote::{promote, weak_scalar_dtype};
use super::Ufunc;
use crate::error::{Error, Result};
use crate::value::dtype::int_range;
use crate::value::{DType, Scalar};

/// An operand of a ufunc call as resolution sees it.
#[derive(Debug, Clone, Copy)]
pub enum OperandType {
    Array(DType),
    Scalar(Scalar),
}

/// The ufuncs NumPy computes exactly with an integer of any size (comparisons and truth
/// values).
const EXACT_WITH_ANY_INT: [&str; 9] = [
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
];

fn smallest_signed(v: i64) -> DType {
    [DType::Int8, DType::Int16, DType::Int32]
        .into_iter()
        .find(|&d| int_range(d).is_some_and(|(lo, hi)| (lo..=hi).contains(&(v as i128))))
        .unwrap_or(DType::Int64)
}

/// The dtype each operand enters `u` with: arrays keep theirs; a scalar takes the input type
/// of the loop chosen with it weak (an error when an integer value does not fit there, as
/// NumPy's OverflowError), or int64 in a comparison it would not fit.
pub fn operand_dtypes(u: &Ufunc, ops: &[OperandType]) -> Result<Vec<DType>> {
    let arrays: Vec<DType> = ops
        .iter()
        .filter_map(|o| match o {
            OperandType::Array(d) => Some(*d),
            OperandType::Scalar(_) => None,
        })
        .collect();
    let joined = arrays.iter().copied().reduce(promote);
    let weak: Vec<DType> = ops
        .iter()
        .map(|o| match o {
            OperandType::Array(d) => *d,
            OperandType::Scalar(s) => match joined {
                Some(j) => weak_scalar_dtype(s.kind(), j),
                None => super::promote::scalar_default_dtype(s.kind()),
            },
        })
        .collect();
    // `where` selects values: NumPy's `where(c, int8, 300)` wraps the scalar (it is not a
    // ufunc there), and so does this one.
    if arrays.len() == ops.len() || (u.is_builtin() && u.name() == "where") {
        return Ok(weak);
    }
    let lp = match u.resolve(&weak) {
        Ok(lp) => lp,
        Err(e) if !(u.is_builtin() && u.name() == "ldexp") => return Err(e),
        Err(e) => {
            // NumPy's legacy resolver of ldexp lets a Python integer take any integer type
            // its value fits: retry with it as the smallest signed one.
            let by_value: Vec<DType> = ops
                .iter()
                .zip(&weak)
                .map(|(o, &w)| match o {
                    OperandType::Scalar(Scalar::Int(v)) => smallest_signed(*v),
                    OperandType::Scalar(Scalar::Bool(_)) => DType::Int8,
                    _ => w,
                })
                .collect();
            u.resolve(&by_value).map_err(|_| e)?
        }
    };
    let mut out = weak.clone();
    for (k, o) in ops.iter().enumerate() {
        let OperandType::Scalar(s) = o else { continue };
        let target = lp.inputs()[k];
        out[k] = target;
        let Scalar::Int(v) = *s else { continue };
        // NumPy's ldexp takes a Python integer exponent as int32 whatever the loop.
        let target = if u.is_builtin() && u.name() == "ldexp" && k == 1 {
            DType::Int32
        } else {
            target
        };
        let Some((lo, hi)) = int_range(target) else {
            continue;
        };
        if (lo..=hi).contains(&(v as i128)) {
            continue;
        }
        if u.is_builtin() && EXACT_WITH_ANY_INT.contains(&u.name()) {
            // Exact: the value as int64 (the comparison loops mix int64 and uint64 exactly).
            out[k] = DType::Int64;
            continue;
        }
        return Err(Error::invalid(format!(
            "ufunc '{}': Python integer {v} out of bounds for {} (NumPy's OverflowError: \
             make the array a wider dtype, or pass the scalar as a typed array)",
            u.name(),
            target.name()
        )));
    }
    Ok(out)
}

/// `operand_dtypes` for the scalars only, in operand order (what a program's constants take).
pub fn scalar_dtypes(u: &Ufunc, ops: &[OperandType]) -> Result<Vec<DType>> {
    let all = operand_dtypes(u, ops)?;
    Ok(ops
        .iter()
        .zip(all)
        .filter(|(o, _)| matches!(o, OperandType::Scalar(_)))
        .map(|(_, d)| d)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ufunc::ufunc;
    use DType::*;
    use OperandType::{Array as A, Scalar as S};

    #[test]
    fn scalars_follow_nep_50() {
        let add = ufunc("add").unwrap();
        assert_eq!(
            operand_dtypes(&add, &[A(Int8), S(Scalar::Int(3))]).unwrap(),
            [Int8, Int8]
        );
        let e = operand_dtypes(&add, &[A(Int8), S(Scalar::Int(300))]).unwrap_err();
        assert!(e.to_string().contains("out of bounds for int8"), "{e}");
        assert!(operand_dtypes(&add, &[A(UInt8), S(Scalar::Int(-1))]).is_err());
        let div = ufunc("divide").unwrap();
        assert_eq!(
            operand_dtypes(&div, &[A(Int16), S(Scalar::Int(70000))]).unwrap(),
            [Int16, Float64],
            "true division takes the exact value"
        );
        let less = ufunc("less").unwrap();
        assert_eq!(
            operand_dtypes(&less, &[A(Int8), S(Scalar::Int(300))]).unwrap(),
            [Int8, Int64]
        );
        assert_eq!(
            operand_dtypes(&add, &[A(Float32), S(Scalar::Int(1 << 40))]).unwrap(),
            [Float32, Float32]
        );
        assert_eq!(
            operand_dtypes(&add, &[A(Bool), S(Scalar::Int(300))]).unwrap(),
            [Bool, Int64]
        );
    }
}
