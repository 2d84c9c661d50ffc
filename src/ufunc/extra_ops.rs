//! The operations behind NumPy's less common ufuncs (inverse hyperbolics, `logaddexp`,
//! angle conversions, `heaviside`, `gcd`/`lcm`, `bitwise_count`, the parts of `frexp` and
//! `modf`, …) and the integer loops of the rounding functions, each with NumPy's result at
//! the edges.

use super::elem::{Float, Int, Num};
use super::float_parts::{frexp, frexp_f32, InverseHyperbolic, ModfFloat, StepFloat};
use super::loops::{binary_op, unary_op, BinaryOp, Elem, UnaryOp, B8};

/// What the integer ufuncs need beyond `Int`: magnitudes as u64 and C's operators.
pub trait IntBits: Int {
    /// |x| as an unsigned number (|MIN| = 2^(bits-1)).
    fn magnitude(self) -> u64;
    /// `u` truncated to this type (two's complement).
    fn from_u64_wrapping(u: u64) -> Self;
    /// C's `%`: the sign of the dividend; 0 for a zero divisor (NumPy's value, whose
    /// warning this library does not give) and for MIN % -1.
    fn c_rem(a: Self, b: Self) -> Self;
    /// `1 / x` truncated (NumPy computes `1.0 / x` and casts): 1, -1 or 0.
    fn recip(self) -> Self;
}

macro_rules! int_bits {
    ($($t:ty),*) => {$(
        impl IntBits for $t {
            #[allow(unused_comparisons)]
            fn magnitude(self) -> u64 {
                if self < 0 { (self as i64).unsigned_abs() } else { self as u64 }
            }
            fn from_u64_wrapping(u: u64) -> Self { u as $t }
            fn c_rem(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a.wrapping_rem(b) } }
            fn recip(self) -> Self { if self == 0 { 0 } else { (1 as $t).wrapping_div(self) } }
        }
    )*};
}
int_bits!(i8, u8, i16, u16, i32, u32, i64, u64);

fn gcd_u64(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// Integers.
binary_op!(Gcd, IntBits, T, |a, b| T::from_u64_wrapping(gcd_u64(
    a.magnitude(),
    b.magnitude()
)));
binary_op!(Lcm, IntBits, T, |a, b| {
    let (a, b) = (a.magnitude(), b.magnitude());
    let g = gcd_u64(a, b);
    T::from_u64_wrapping(a.checked_div(g).map_or(0, |q| q.wrapping_mul(b)))
});
unary_op!(BitwiseCount, IntBits, u8, |x| x.magnitude().count_ones()
    as u8);
binary_op!(IntFmod, IntBits, T, |a, b| T::c_rem(a, b));
unary_op!(IntReciprocal, IntBits, T, |x| x.recip());
// `floor`, `ceil`, `trunc`, `round`, `positive`, `conjugate` of a real integer: itself.
unary_op!(Identity, Num, T, |x| x);
impl UnaryOp<B8> for Identity {
    type Out = B8;
    fn f(x: B8) -> B8 {
        x
    }
}

// Floats.
unary_op!(Arcsinh, InverseHyperbolic, T, |x| x.libm_asinh());
unary_op!(Arccosh, InverseHyperbolic, T, |x| x.libm_acosh());
unary_op!(Arctanh, InverseHyperbolic, T, |x| x.libm_atanh());
unary_op!(Fabs, Float, T, |x| T::abs(x));
binary_op!(Nextafter, StepFloat, T, |a, b| a.next_toward(b));
unary_op!(Spacing, StepFloat, T, |x| x.spacing());
unary_op!(ModfFraction, ModfFloat, T, |x| x.modf_parts().0);
unary_op!(ModfIntegral, ModfFloat, T, |x| x.modf_parts().1);
binary_op!(Heaviside, Num, T, |x, h0| {
    if T::is_nan(x) {
        x
    } else if x < T::ZERO {
        T::ZERO
    } else if x > T::ZERO {
        T::ONE
    } else {
        h0
    }
});
// NumPy's npy_logaddexp: equal arguments first (so that inf + inf stays inf), then the
// larger plus log1p of the smaller's share.
binary_op!(Logaddexp, Float, T, |a, b| T::map2(a, b, |x, y| {
    if x == y {
        return x + std::f64::consts::LN_2;
    }
    let d = x - y;
    if d > 0.0 {
        x + (-d).exp().ln_1p()
    } else if d <= 0.0 {
        y + d.exp().ln_1p()
    } else {
        d
    }
}));
binary_op!(Logaddexp2, Float, T, |a, b| T::map2(a, b, |x, y| {
    if x == y {
        return x + 1.0;
    }
    let d = x - y;
    let log2_1p = |v: f64| std::f64::consts::LOG2_E * v.ln_1p();
    if d > 0.0 {
        x + log2_1p((-d).exp2())
    } else if d <= 0.0 {
        y + log2_1p(d.exp2())
    } else {
        d
    }
}));
binary_op!(FloatPower, Float, T, |a, b| T::map2(a, b, f64::powf));

/// Angles, with NumPy's constants in the element's own precision.
pub trait Angle: Copy {
    fn to_radians_np(self) -> Self;
    fn to_degrees_np(self) -> Self;
    fn sign_bit(self) -> bool;
    fn frexp_parts(self) -> (Self, i32);
}
impl Angle for f64 {
    fn to_radians_np(self) -> f64 {
        self * (std::f64::consts::PI / 180.0)
    }
    fn to_degrees_np(self) -> f64 {
        self * (180.0 / std::f64::consts::PI)
    }
    fn sign_bit(self) -> bool {
        self.is_sign_negative()
    }
    fn frexp_parts(self) -> (f64, i32) {
        frexp(self)
    }
}
impl Angle for f32 {
    fn to_radians_np(self) -> f32 {
        self * (std::f32::consts::PI / 180.0)
    }
    fn to_degrees_np(self) -> f32 {
        self * (180.0 / std::f32::consts::PI)
    }
    fn sign_bit(self) -> bool {
        self.is_sign_negative()
    }
    fn frexp_parts(self) -> (f32, i32) {
        frexp_f32(self)
    }
}
unary_op!(Deg2rad, Angle, T, |x| x.to_radians_np());
unary_op!(Rad2deg, Angle, T, |x| x.to_degrees_np());
unary_op!(Signbit, Angle, B8, |x| B8::of(x.sign_bit()));
unary_op!(FrexpMantissa, Angle, T, |x| x.frexp_parts().0);
unary_op!(FrexpExponent, Angle, i32, |x| x.frexp_parts().1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_functions_match_numpy() {
        assert_eq!(
            <Gcd as BinaryOp<i8>>::f(-128, 0),
            -128,
            "|MIN| wraps as NumPy's"
        );
        assert_eq!(<Gcd as BinaryOp<i32>>::f(-12, 18), 6);
        assert_eq!(<Lcm as BinaryOp<i32>>::f(-4, 6), 12);
        assert_eq!(<Lcm as BinaryOp<u8>>::f(0, 0), 0);
        assert_eq!(<BitwiseCount as UnaryOp<i64>>::f(-1), 1);
        assert_eq!(<BitwiseCount as UnaryOp<i64>>::f(i64::MIN), 1);
        assert_eq!(<BitwiseCount as UnaryOp<u16>>::f(65535), 16);
        assert_eq!(<IntFmod as BinaryOp<i8>>::f(i8::MIN, -1), 0);
        assert_eq!(<IntFmod as BinaryOp<i32>>::f(-7, 2), -1);
        assert_eq!(<IntFmod as BinaryOp<u32>>::f(7, 0), 0);
        assert_eq!(<IntReciprocal as UnaryOp<i32>>::f(2), 0);
        assert_eq!(<IntReciprocal as UnaryOp<i32>>::f(-1), -1);
    }

    #[test]
    fn float_functions_match_numpy() {
        assert_eq!(
            <Logaddexp as BinaryOp<f64>>::f(f64::INFINITY, f64::INFINITY),
            f64::INFINITY
        );
        assert_eq!(
            <Logaddexp as BinaryOp<f64>>::f(0.0, 0.0),
            std::f64::consts::LN_2
        );
        assert_eq!(<Logaddexp2 as BinaryOp<f64>>::f(1.0, 1.0), 2.0);
        assert_eq!(<Heaviside as BinaryOp<f64>>::f(0.0, 0.5), 0.5);
        assert_eq!(<Heaviside as BinaryOp<f64>>::f(-3.0, 0.5), 0.0);
        assert!(<Signbit as UnaryOp<f64>>::f(-0.0).get());
        assert_eq!(<FrexpExponent as UnaryOp<f32>>::f(8.0), 4);
        assert_eq!(<Rad2deg as UnaryOp<f64>>::f(std::f64::consts::PI), 180.0);
        assert_eq!(<Arccosh as UnaryOp<f64>>::f(1.0), 0.0);
    }
}
