//! Element arithmetic with NumPy's semantics, written once per kind of number so the loops in
//! `builtin.rs` are generic. Integers wrap on overflow (as NumPy does); integer division or
//! modulo by zero gives 0 (NumPy gives 0 with a warning); floats follow IEEE 754.

use super::fault::{raise, Fault};

/// Arithmetic shared by every numeric element type.
pub trait Num: Copy + PartialOrd + Send + Sync + 'static {
    const ZERO: Self;
    const ONE: Self;
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn floor_div(a: Self, b: Self) -> Self;
    /// Python-style modulo: the result has the sign of the divisor.
    fn modulo(a: Self, b: Self) -> Self;
    fn power(a: Self, b: Self) -> Self;
    /// `floor_div`, `modulo`, the truncated remainder (C's `fmod`, the sign of the dividend)
    /// and `power`, raising a fault (`super::fault`) where an integer result is undefined
    /// instead of NumPy's placeholder values. Floats never fault.
    fn checked_floor_div(a: Self, b: Self) -> Self {
        Self::floor_div(a, b)
    }
    fn checked_modulo(a: Self, b: Self) -> Self {
        Self::modulo(a, b)
    }
    fn checked_rem(a: Self, b: Self) -> Self;
    fn checked_power(a: Self, b: Self) -> Self {
        Self::power(a, b)
    }
    fn neg(a: Self) -> Self;
    fn abs(a: Self) -> Self;
    fn sign(a: Self) -> Self;
    fn is_nan(a: Self) -> bool;
    fn is_inf(a: Self) -> bool;
    fn truthy(a: Self) -> bool;
    /// NumPy's `maximum`/`minimum` propagate NaN; `fmax`/`fmin` ignore it. Between equal
    /// values (0.0 and -0.0) all four give the second operand, as NumPy's loops do.
    fn maximum(a: Self, b: Self) -> Self {
        if Self::is_nan(a) || a > b {
            a
        } else {
            b
        }
    }
    fn minimum(a: Self, b: Self) -> Self {
        if Self::is_nan(a) || a < b {
            a
        } else {
            b
        }
    }
    fn fmax(a: Self, b: Self) -> Self {
        if Self::is_nan(b) || a > b {
            a
        } else {
            b
        }
    }
    fn fmin(a: Self, b: Self) -> Self {
        if Self::is_nan(b) || a < b {
            a
        } else {
            b
        }
    }
}

/// Integer-only operations.
pub trait Int: Num {
    fn bit_and(a: Self, b: Self) -> Self;
    fn bit_or(a: Self, b: Self) -> Self;
    fn bit_xor(a: Self, b: Self) -> Self;
    fn bit_not(a: Self) -> Self;
    fn shl(a: Self, b: Self) -> Self;
    fn shr(a: Self, b: Self) -> Self;
}

/// Floating-point-only operations.
pub trait Float: Num {
    fn map(a: Self, f: fn(f64) -> f64) -> Self;
    fn map2(a: Self, b: Self, f: fn(f64, f64) -> f64) -> Self;
    fn true_div(a: Self, b: Self) -> Self;
    fn atan2(a: Self, b: Self) -> Self;
    fn exp(a: Self) -> Self;
    fn ln(a: Self) -> Self;
    fn sqrt(a: Self) -> Self;
    fn floor(a: Self) -> Self;
    fn ceil(a: Self) -> Self;
    /// Round half to even, like `np.round` with 0 decimals.
    fn rint(a: Self) -> Self;
}

/// `a` to the power `e` with wrapping products, by squaring (exact for any 64-bit `e`).
macro_rules! pow_wrapping {
    ($a:expr, $e:expr) => {{
        let (mut base, mut e, mut r) = ($a, $e, 1 as Self);
        while e > 0 {
            if e & 1 == 1 {
                r = r.wrapping_mul(base);
            }
            base = base.wrapping_mul(base);
            e >>= 1;
        }
        r
    }};
}

macro_rules! signed_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            fn sub(a: Self, b: Self) -> Self { a.wrapping_sub(b) }
            fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            fn floor_div(a: Self, b: Self) -> Self {
                if b == 0 { return 0; }
                // Wrapping: MIN // -1 is MIN, as NumPy gives (plain `/` and `%` would panic).
                let q = a.wrapping_div(b);
                if (a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q }
            }
            fn modulo(a: Self, b: Self) -> Self {
                if b == 0 { return 0; }
                let r = a.wrapping_rem(b);
                if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }
            }
            fn power(a: Self, b: Self) -> Self {
                // NumPy: "Integers to negative integer powers are not allowed" (any base).
                if b < 0 { raise(Fault::NegativePower); return 0; }
                pow_wrapping!(a, b as u64)
            }
            fn checked_floor_div(a: Self, b: Self) -> Self {
                if b == 0 { raise(Fault::DivideByZero); return 0; }
                if a == <$t>::MIN && b == -1 { raise(Fault::DivideOverflow); return a; }
                Self::floor_div(a, b)
            }
            fn checked_modulo(a: Self, b: Self) -> Self {
                if b == 0 { raise(Fault::DivideByZero); return 0; }
                Self::modulo(a, b)
            }
            fn checked_rem(a: Self, b: Self) -> Self {
                if b == 0 { raise(Fault::DivideByZero); return 0; }
                a.wrapping_rem(b)
            }
            fn checked_power(a: Self, b: Self) -> Self {
                if b < 0 {
                    return match a {
                        1 => 1,
                        -1 => if b % 2 == 0 { 1 } else { -1 },
                        _ => { raise(Fault::NegativePower); 0 }
                    };
                }
                pow_wrapping!(a, b as u64)
            }
            fn neg(a: Self) -> Self { a.wrapping_neg() }
            fn abs(a: Self) -> Self { a.wrapping_abs() }
            fn sign(a: Self) -> Self { a.signum() }
            fn is_nan(_: Self) -> bool { false }
            fn is_inf(_: Self) -> bool { false }
            fn truthy(a: Self) -> bool { a != 0 }
        }
        impl Int for $t {
            fn bit_and(a: Self, b: Self) -> Self { a & b }
            fn bit_or(a: Self, b: Self) -> Self { a | b }
            fn bit_xor(a: Self, b: Self) -> Self { a ^ b }
            fn bit_not(a: Self) -> Self { !a }
            // Counts compare in 64 bits: a count of 2^53 + 1 shifts everything out.
            fn shl(a: Self, b: Self) -> Self { if b < 0 || b as u64 >= <$t>::BITS as u64 { 0 } else { a << b } }
            fn shr(a: Self, b: Self) -> Self {
                if b < 0 || b as u64 >= <$t>::BITS as u64 { if a < 0 { -1 } else { 0 } } else { a >> b }
            }
        }
    )*};
}

macro_rules! unsigned_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            fn sub(a: Self, b: Self) -> Self { a.wrapping_sub(b) }
            fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            fn floor_div(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a / b } }
            fn modulo(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a % b } }
            fn power(a: Self, b: Self) -> Self { pow_wrapping!(a, b as u64) }
            fn checked_floor_div(a: Self, b: Self) -> Self {
                if b == 0 { raise(Fault::DivideByZero); return 0; }
                a / b
            }
            fn checked_modulo(a: Self, b: Self) -> Self {
                if b == 0 { raise(Fault::DivideByZero); return 0; }
                a % b
            }
            fn checked_rem(a: Self, b: Self) -> Self { Self::checked_modulo(a, b) }
            fn checked_power(a: Self, b: Self) -> Self { pow_wrapping!(a, b as u64) }
            fn neg(a: Self) -> Self { a.wrapping_neg() }
            fn abs(a: Self) -> Self { a }
            fn sign(a: Self) -> Self { (a > 0) as $t }
            fn is_nan(_: Self) -> bool { false }
            fn is_inf(_: Self) -> bool { false }
            fn truthy(a: Self) -> bool { a != 0 }
        }
        impl Int for $t {
            fn bit_and(a: Self, b: Self) -> Self { a & b }
            fn bit_or(a: Self, b: Self) -> Self { a | b }
            fn bit_xor(a: Self, b: Self) -> Self { a ^ b }
            fn bit_not(a: Self) -> Self { !a }
            fn shl(a: Self, b: Self) -> Self { if b as u64 >= <$t>::BITS as u64 { 0 } else { a << b } }
            fn shr(a: Self, b: Self) -> Self { if b as u64 >= <$t>::BITS as u64 { 0 } else { a >> b } }
        }
    )*};
}

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn add(a: Self, b: Self) -> Self { a + b }
            fn sub(a: Self, b: Self) -> Self { a - b }
            fn mul(a: Self, b: Self) -> Self { a * b }
            fn floor_div(a: Self, b: Self) -> Self {
                // NumPy's npy_divmod: floor((a - fmod(a, b)) / b), corrected, so that
                // a == b * (a // b) + a % b holds as exactly as floats allow (1.0 // 0.1 == 9).
                if b == 0.0 { return a / b; }
                let m = a % b;
                let mut div = (a - m) / b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) { div -= 1.0; }
                if div == 0.0 { return (0.0 as $t).copysign(a / b); }
                let f = div.floor();
                if div - f > 0.5 { f + 1.0 } else { f }
            }
            fn modulo(a: Self, b: Self) -> Self {
                if b == 0.0 { return <$t>::NAN; }
                let r = a % b;
                // NumPy's npy_divmod: a zero remainder takes the divisor's sign.
                if r == 0.0 { return (0.0 as $t).copysign(b); }
                if (r < 0.0) != (b < 0.0) { r + b } else { r }
            }
            fn power(a: Self, b: Self) -> Self { a.powf(b) }
            fn checked_rem(a: Self, b: Self) -> Self { a % b }
            fn neg(a: Self) -> Self { -a }
            fn abs(a: Self) -> Self { a.abs() }
            // NumPy: sign(-0.0) is 0.0; NaN stays NaN.
            fn sign(a: Self) -> Self { if a > 0.0 { 1.0 } else if a < 0.0 { -1.0 } else if a == 0.0 { 0.0 } else { a } }
            fn is_nan(a: Self) -> bool { a.is_nan() }
            fn is_inf(a: Self) -> bool { a.is_infinite() }
            fn truthy(a: Self) -> bool { a != 0.0 }
        }
        impl Float for $t {
            fn map(a: Self, f: fn(f64) -> f64) -> Self { f(a as f64) as $t }
            fn map2(a: Self, b: Self, f: fn(f64, f64) -> f64) -> Self { f(a as f64, b as f64) as $t }
            fn true_div(a: Self, b: Self) -> Self { a / b }
            fn atan2(a: Self, b: Self) -> Self { a.atan2(b) }
            fn exp(a: Self) -> Self { a.exp() }
            fn ln(a: Self) -> Self { a.ln() }
            fn sqrt(a: Self) -> Self { a.sqrt() }
            fn floor(a: Self) -> Self { a.floor() }
            fn ceil(a: Self) -> Self { a.ceil() }
            fn rint(a: Self) -> Self { a.round_ties_even() }
        }
    )*};
}

signed_int!(i8, i16, i32, i64);
unsigned_int!(u8, u16, u32, u64);
float!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_style_integer_division_and_modulo() {
        assert_eq!(<i32 as Num>::floor_div(-7, 2), -4);
        assert_eq!(<i32 as Num>::modulo(-7, 2), 1);
        assert_eq!(<i32 as Num>::modulo(7, -2), -1);
        assert_eq!(<i32 as Num>::floor_div(7, 0), 0);
        assert_eq!(<f64 as Num>::modulo(-7.0, 2.0), 1.0);
        assert_eq!(<i8 as Num>::add(127, 1), -128, "integers wrap");
        assert_eq!(<f64 as Float>::rint(2.5), 2.0);
        assert!(<f64 as Num>::maximum(f64::NAN, 1.0).is_nan());
        assert_eq!(<f64 as Num>::fmax(f64::NAN, 1.0), 1.0);
    }

    /// NumPy 2's results at the edges (issue 16's list), never a panic.
    #[test]
    fn numpy_edges_of_integer_and_float_arithmetic() {
        use crate::ufunc::fault::check;
        assert_eq!(
            <i64 as Num>::floor_div(i64::MIN, -1),
            i64::MIN,
            "MIN // -1 is MIN"
        );
        assert_eq!(<i8 as Num>::floor_div(i8::MIN, -1), i8::MIN);
        assert_eq!(<i64 as Num>::floor_div(-7, 2), -4);
        assert_eq!(
            <i64 as Int>::shl(1, (1 << 53) + 1),
            0,
            "a wide count shifts everything out"
        );
        assert_eq!(<i64 as Int>::shr(-8, 1 << 40), -1);
        assert_eq!(
            <i64 as Num>::power(3, (1 << 32) + 1),
            3i64.wrapping_pow(1 << 31)
                .wrapping_mul(3i64.wrapping_pow(1 << 31))
                .wrapping_mul(3)
        );
        assert_eq!(
            <u64 as Num>::power(3, (1 << 32) + 1),
            3u64.wrapping_pow(1 << 31)
                .wrapping_mul(3u64.wrapping_pow(1 << 31))
                .wrapping_mul(3)
        );
        assert!(check().is_ok());
        let _ = <i32 as Num>::power(2, -1);
        let e = check().expect_err("NumPy raises for negative integer powers");
        assert!(e.to_string().contains("negative power"), "{e}");
        let _ = <i32 as Num>::power(1, -1);
        assert!(check().is_err(), "also for base 1, as NumPy");
        let r = <f64 as Num>::modulo(-1.0, 1.0);
        assert!(
            r == 0.0 && r.is_sign_positive(),
            "remainder(-1.0, 1) is 0.0"
        );
        let r = <f64 as Num>::modulo(2.5, -0.5);
        assert!(
            r == 0.0 && r.is_sign_negative(),
            "remainder(2.5, -0.5) is -0.0"
        );
        assert_eq!(<f64 as Num>::modulo(-7.0, 2.0), 1.0);
        let s = <f64 as Num>::sign(-0.0);
        assert!(s == 0.0 && s.is_sign_positive(), "sign(-0.0) is 0.0");
        assert!(<f64 as Num>::sign(f64::NAN).is_nan());
    }

    #[test]
    fn checked_integer_operations_fault_where_the_result_is_undefined() {
        use crate::ufunc::fault::check;
        assert_eq!(<i32 as Num>::checked_floor_div(-7, 2), -4);
        assert_eq!(
            <i64 as Num>::checked_rem(-7, 2),
            -1,
            "the sign of the dividend"
        );
        assert_eq!(<i8 as Num>::checked_power(-1, -3), -1);
        assert_eq!(<i64 as Num>::checked_power(3, 40), 3i64.wrapping_pow(40));
        assert_eq!(
            <u64 as Num>::checked_power(2, 1 << 40),
            0,
            "a wide exponent is not truncated"
        );
        assert!(check().is_ok());
        let cases: [(fn(), Fault); 4] = [
            (
                || {
                    let _ = <i32 as Num>::checked_floor_div(1, 0);
                },
                Fault::DivideByZero,
            ),
            (
                || {
                    let _ = <i8 as Num>::checked_floor_div(i8::MIN, -1);
                },
                Fault::DivideOverflow,
            ),
            (
                || {
                    let _ = <u16 as Num>::checked_modulo(1, 0);
                },
                Fault::DivideByZero,
            ),
            (
                || {
                    let _ = <i64 as Num>::checked_power(2, -1);
                },
                Fault::NegativePower,
            ),
        ];
        for (op, want) in cases {
            op();
            let e = check().expect_err("the fault is reported");
            assert!(e.to_string().contains(want.message()), "{e}");
            assert!(check().is_ok(), "and cleared");
        }
        assert!(<f64 as Num>::checked_floor_div(1.0, 0.0).is_infinite());
        assert!(check().is_ok(), "floats never fault");
    }
}
