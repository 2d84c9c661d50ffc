//! Missing values and three-valued (Kleene) logic, for hosts whose languages have them (R's
//! `NA`; Julia's `missing`). NumPy has neither: its comparisons with NaN are false, so
//! `all(x > 0)`, `sum(x > 2)` or `x[x > 2]` silently differ from R's answers.
//!
//! A three-valued logical is an int32 holding 0 (false), 1 (true) or [`NA`] (`i32::MIN`),
//! exactly R's layout of logical vectors, which therefore cross without conversion. A missing
//! float is a NaN; R's own `NA_real_` is the NaN whose low word is 1954, which the float
//! kernels carry through (IEEE 754 arithmetic propagates a NaN operand's payload), and which
//! `isna` tells apart from other NaNs. An int32 `NA` is R's `NA_integer_`.

use super::elem::Num;
use super::loops::{binary_loop, unary_loop, BinaryOp, Elem, UnaryOp, B8};
use super::registry::{Loop, Ufunc};
use crate::value::{DType, Element};

/// The missing logical (and int32) value: R's `NA_LOGICAL` / `NA_INTEGER` (C: `INT32_MIN`).
/// cbindgen:ignore
pub const NA: i32 = i32::MIN;

/// The low word of R's `NA_real_` (a NaN with this payload).
const R_NA_PAYLOAD: u32 = 1954;

/// R's `NA_real_` bit pattern.
/// cbindgen:ignore
pub const R_NA_F64: u64 = 0x7FF0_0000_0000_0000 | R_NA_PAYLOAD as u64;

/// Element types with a missing value.
pub trait Missing: Num + Elem {
    /// NaN for floats, [`NA`] for int32; integers of other widths have none.
    fn missing(self) -> bool {
        false
    }
    /// R's `NA` itself (not any NaN).
    fn is_r_na(self) -> bool {
        false
    }
}

impl Missing for f64 {
    fn missing(self) -> bool {
        self.is_nan()
    }
    fn is_r_na(self) -> bool {
        self.is_nan() && self.to_bits() as u32 == R_NA_PAYLOAD
    }
}
impl Missing for f32 {
    fn missing(self) -> bool {
        self.is_nan()
    }
    fn is_r_na(self) -> bool {
        self.is_nan() && self.to_bits() & 0x007F_FFFF == R_NA_PAYLOAD
    }
}
impl Missing for i32 {
    fn missing(self) -> bool {
        self == NA
    }
    fn is_r_na(self) -> bool {
        self == NA
    }
}
impl Missing for i8 {}
impl Missing for u8 {}
impl Missing for i16 {}
impl Missing for u16 {}
impl Missing for u32 {}
impl Missing for i64 {}
impl Missing for u64 {}

/// The three-valued truth of `x`: missing stays missing, otherwise non-zero is true.
#[inline(always)]
fn truth<T: Missing>(x: T) -> i32 {
    if x.missing() {
        NA
    } else {
        T::truthy(x) as i32
    }
}

/// A comparison whose result is missing when either operand is (R: `NA > 1` is `NA`, and so
/// is `NaN > 1`). `K` picks the comparison: ==, !=, <, <=, >, >=.
pub struct NaCompare<const K: u8>;
impl<T: Missing, const K: u8> BinaryOp<T> for NaCompare<K> {
    type Out = i32;
    #[inline(always)]
    fn f(a: T, b: T) -> i32 {
        if a.missing() || b.missing() {
            return NA;
        }
        (match K {
            0 => a == b,
            1 => a != b,
            2 => a < b,
            3 => a <= b,
            4 => a > b,
            _ => a >= b,
        }) as i32
    }
}

/// Kleene's and: false wins over missing, missing over true.
pub struct KleeneAnd;
impl BinaryOp<i32> for KleeneAnd {
    type Out = i32;
    #[inline(always)]
    fn f(a: i32, b: i32) -> i32 {
        if a == 0 || b == 0 {
            0
        } else if a == NA || b == NA {
            NA
        } else {
            1
        }
    }
}

/// Kleene's or: true wins over missing, missing over false.
pub struct KleeneOr;
impl BinaryOp<i32> for KleeneOr {
    type Out = i32;
    #[inline(always)]
    fn f(a: i32, b: i32) -> i32 {
        if (a != 0 && a != NA) || (b != 0 && b != NA) {
            1
        } else if a == NA || b == NA {
            NA
        } else {
            0
        }
    }
}

/// Kleene's not.
pub struct KleeneNot;
impl UnaryOp<i32> for KleeneNot {
    type Out = i32;
    #[inline(always)]
    fn f(x: i32) -> i32 {
        match x {
            NA => NA,
            0 => 1,
            _ => 0,
        }
    }
}

/// Any number as a three-valued logical.
pub struct AsKleene;
impl<T: Missing> UnaryOp<T> for AsKleene {
    type Out = i32;
    #[inline(always)]
    fn f(x: T) -> i32 {
        truth(x)
    }
}

/// The rank of a three-valued logical in the order false < missing < true: `any` is the
/// maximum rank and `all` the minimum (Kleene's quantifiers as plain max/min reductions).
pub struct KleeneRank;
impl UnaryOp<i32> for KleeneRank {
    type Out = i32;
    #[inline(always)]
    fn f(x: i32) -> i32 {
        match x {
            NA => 1,
            0 => 0,
            _ => 2,
        }
    }
}

/// A rank back to the three-valued logical.
pub struct KleeneUnrank;
impl UnaryOp<i32> for KleeneUnrank {
    type Out = i32;
    #[inline(always)]
    fn f(x: i32) -> i32 {
        match x {
            0 => 0,
            1 => NA,
            _ => 1,
        }
    }
}

/// R's `NA` (not other NaNs): R's `is.na(x) & !is.nan(x)`.
pub struct IsNa;
impl<T: Missing> UnaryOp<T> for IsNa {
    type Out = B8;
    #[inline(always)]
    fn f(x: T) -> B8 {
        B8::of(x.is_r_na())
    }
}

/// An int32 as float64 with [`NA`] becoming R's `NA_real_` (R's own coercion of integers and
/// logicals to doubles; a plain cast would make it -2147483648).
pub struct NaAsDouble;
impl UnaryOp<i32> for NaAsDouble {
    type Out = f64;
    #[inline(always)]
    fn f(x: i32) -> f64 {
        if x == NA {
            f64::from_bits(R_NA_F64)
        } else {
            x as f64
        }
    }
}

/// R's integer arithmetic: `NA` in gives `NA` out, and so does a result outside int32 (R
/// warns "NAs produced by integer overflow") or a division by zero (`5L %/% 0L` is `NA`).
/// `K`: +, -, *, %/% (floored), %% (sign of the divisor).
pub struct NaIntArith<const K: u8>;
impl<const K: u8> BinaryOp<i32> for NaIntArith<K> {
    type Out = i32;
    #[inline(always)]
    fn f(a: i32, b: i32) -> i32 {
        if a == NA || b == NA {
            return NA;
        }
        let r = match K {
            0 => a.checked_add(b),
            1 => a.checked_sub(b),
            2 => a.checked_mul(b),
            3 => (b != 0).then(|| <i32 as Num>::floor_div(a, b)),
            _ => (b != 0).then(|| <i32 as Num>::modulo(a, b)),
        };
        // i32::MIN is NA itself, so it is never a valid result either.
        r.filter(|&v| v != NA).unwrap_or(NA)
    }
}

/// R's integer negation (`NA` stays `NA`).
pub struct NaIntNegative;
impl UnaryOp<i32> for NaIntNegative {
    type Out = i32;
    #[inline(always)]
    fn f(x: i32) -> i32 {
        if x == NA {
            NA
        } else {
            -x
        }
    }
}

macro_rules! each_missing {
    ($m:ident) => {
        $m!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64)
    };
}

fn make(name: &str, nin: usize, loops: Vec<Loop>) -> Ufunc {
    Ufunc::new(name, nin, None, loops, true).expect("built-in ufuncs are well-formed")
}

fn compare<const K: u8>(name: &str) -> Ufunc {
    macro_rules! loops {
        ($($t:ty),*) => {
            vec![$(Loop::rust(
                &[<$t>::DTYPE, <$t>::DTYPE, DType::Int32],
                binary_loop::<$t, NaCompare<K>>,
            )),*]
        };
    }
    make(name, 2, each_missing!(loops))
}

fn na_int(name: &str, f: super::loops::LoopFn) -> Ufunc {
    make(name, 2, vec![Loop::rust(&[DType::Int32; 3], f)])
}

/// Loops of a unary op over every element type with a missing value.
macro_rules! unary_all {
    ($op:ty, $out:expr) => {
        vec![
            Loop::rust(&[DType::Int8, $out], unary_loop::<i8, $op>),
            Loop::rust(&[DType::UInt8, $out], unary_loop::<u8, $op>),
            Loop::rust(&[DType::Int16, $out], unary_loop::<i16, $op>),
            Loop::rust(&[DType::UInt16, $out], unary_loop::<u16, $op>),
            Loop::rust(&[DType::Int32, $out], unary_loop::<i32, $op>),
            Loop::rust(&[DType::UInt32, $out], unary_loop::<u32, $op>),
            Loop::rust(&[DType::Int64, $out], unary_loop::<i64, $op>),
            Loop::rust(&[DType::UInt64, $out], unary_loop::<u64, $op>),
            Loop::rust(&[DType::Float32, $out], unary_loop::<f32, $op>),
            Loop::rust(&[DType::Float64, $out], unary_loop::<f64, $op>),
        ]
    };
}

/// The ufuncs of this module.
pub(super) fn ufuncs() -> Vec<Ufunc> {
    let i32_unary = |f| vec![Loop::rust(&[DType::Int32, DType::Int32], f)];
    vec![
        compare::<0>("na_equal"),
        compare::<1>("na_not_equal"),
        compare::<2>("na_less"),
        compare::<3>("na_less_equal"),
        compare::<4>("na_greater"),
        compare::<5>("na_greater_equal"),
        make(
            "kleene_and",
            2,
            vec![Loop::rust(
                &[DType::Int32; 3],
                binary_loop::<i32, KleeneAnd>,
            )],
        ),
        make(
            "kleene_or",
            2,
            vec![Loop::rust(&[DType::Int32; 3], binary_loop::<i32, KleeneOr>)],
        ),
        make("kleene_not", 1, i32_unary(unary_loop::<i32, KleeneNot>)),
        make("kleene_rank", 1, i32_unary(unary_loop::<i32, KleeneRank>)),
        make(
            "kleene_unrank",
            1,
            i32_unary(unary_loop::<i32, KleeneUnrank>),
        ),
        make("as_kleene", 1, unary_all!(AsKleene, DType::Int32)),
        make("isna", 1, unary_all!(IsNa, DType::Bool)),
        na_int("na_add", binary_loop::<i32, NaIntArith<0>>),
        na_int("na_subtract", binary_loop::<i32, NaIntArith<1>>),
        na_int("na_multiply", binary_loop::<i32, NaIntArith<2>>),
        na_int("na_floor_divide", binary_loop::<i32, NaIntArith<3>>),
        na_int("na_remainder", binary_loop::<i32, NaIntArith<4>>),
        make(
            "na_negative",
            1,
            i32_unary(unary_loop::<i32, NaIntNegative>),
        ),
        make(
            "na_as_double",
            1,
            vec![Loop::rust(
                &[DType::Int32, DType::Float64],
                unary_loop::<i32, NaAsDouble>,
            )],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kleene_truth_tables() {
        let vals = [0, 1, NA];
        let and = |a, b| <KleeneAnd as BinaryOp<i32>>::f(a, b);
        let or = |a, b| <KleeneOr as BinaryOp<i32>>::f(a, b);
        // R: FALSE & NA is FALSE, TRUE & NA is NA; TRUE | NA is TRUE, FALSE | NA is NA.
        let want_and = [[0, 0, 0], [0, 1, NA], [0, NA, NA]];
        let want_or = [[0, 1, NA], [1, 1, 1], [NA, 1, NA]];
        for (i, &a) in vals.iter().enumerate() {
            for (j, &b) in vals.iter().enumerate() {
                assert_eq!(and(a, b), want_and[i][j], "{a} & {b}");
                assert_eq!(or(a, b), want_or[i][j], "{a} | {b}");
            }
        }
        let not = |x| <KleeneNot as UnaryOp<i32>>::f(x);
        assert_eq!([not(0), not(1), not(NA), not(7)], [1, 0, NA, 0]);
        let rank = |x| <KleeneRank as UnaryOp<i32>>::f(x);
        let unrank = |x| <KleeneUnrank as UnaryOp<i32>>::f(x);
        for x in vals {
            assert_eq!(unrank(rank(x)), x);
        }
    }

    #[test]
    fn missing_values_and_r_na() {
        let r_na = std::hint::black_box(f64::from_bits(R_NA_F64)); // no constant folding
        assert!(r_na.is_r_na() && !f64::NAN.is_r_na() && r_na.missing() && f64::NAN.missing());
        // Arithmetic carries R's NA payload (what R itself relies on).
        let (one, two) = std::hint::black_box((1.0, 2.0));
        assert!((r_na + one).is_r_na() && (two * r_na).is_r_na());
        let lt = |a: f64, b: f64| <NaCompare<2> as BinaryOp<f64>>::f(a, b);
        assert_eq!(
            [lt(1.0, 2.0), lt(2.0, 1.0), lt(r_na, 1.0), lt(1.0, f64::NAN)],
            [1, 0, NA, NA]
        );
        assert_eq!(<NaCompare<0> as BinaryOp<i32>>::f(NA, NA), NA);
        assert!(<NaAsDouble as UnaryOp<i32>>::f(NA).is_r_na());
        // R's integers: overflow and division by zero are NA, NA propagates.
        let add = |a, b| <NaIntArith<0> as BinaryOp<i32>>::f(a, b);
        assert_eq!(
            [add(1, 2), add(i32::MAX, 1), add(NA, 1), add(-i32::MAX, -1)],
            [3, NA, NA, NA]
        );
        let fdiv = |a, b| <NaIntArith<3> as BinaryOp<i32>>::f(a, b);
        let rem = |a, b| <NaIntArith<4> as BinaryOp<i32>>::f(a, b);
        assert_eq!(
            [fdiv(-7, 2), fdiv(5, 0), rem(-7, 2), rem(7, -2), rem(5, 0)],
            [-4, NA, 1, -1, NA]
        );
        assert_eq!(<NaIntArith<2> as BinaryOp<i32>>::f(65536, 65536), NA);
        assert_eq!(<NaAsDouble as UnaryOp<i32>>::f(-3), -3.0);
    }
}
