//! Taking floats apart and stepping between them, bit-exactly as C99 defines it (what NumPy
//! calls): `frexp`, `ldexp`, `modf`, `nextafter`, `spacing`. Also the libm functions Rust's
//! standard library computes its own way (`asinh`, `acosh`, `atanh`): called from the
//! platform's libm, which is what NumPy calls, so the results agree bit for bit.

/// `x = m · 2^e` with `0.5 <= |m| < 1`; zero, infinities and NaN give `(x, 0)`.
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (x, shift) = if x.abs() < f64::MIN_POSITIVE {
        (x * f64::powi(2.0, 64), -64) // subnormal: normalise first (exact)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022u64 << 52));
    (m, biased - 1022 + shift)
}

/// `frexp` for float32 (exact through float64).
pub fn frexp_f32(x: f32) -> (f32, i32) {
    let (m, e) = frexp(x as f64);
    (m as f32, e)
}

/// `x · 2^e` with a single rounding.
pub fn ldexp(x: f64, e: i64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let (m, k) = frexp(x);
    let t = (k as i64).saturating_add(e); // x = m · 2^t, 0.5 <= |m| < 1
    if t > 1024 {
        return f64::INFINITY.copysign(x);
    }
    if t == 1024 {
        // 2^1024 is no double: scale in two exact steps (overflowing to inf if it must).
        return (m * 2.0) * pow2(1023);
    }
    if t >= -1021 {
        // A normal result: exact.
        return m * pow2(t as i32);
    }
    if t <= -1075 {
        // Below half the smallest subnormal.
        return 0.0f64.copysign(x);
    }
    // A subnormal result: m · 2^-1021 is exact, the second product rounds once.
    (m * pow2(-1021)) * pow2((t + 1021) as i32)
}

/// `x · 2^e` for float32 with a single rounding (exact in float64 first).
pub fn ldexp_f32(x: f32, e: i64) -> f32 {
    ldexp(x as f64, e.clamp(-400, 400)) as f32
}

/// 2^e for a normal exponent.
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The fractional and integral parts, both with the sign of `x` (`modf(-2.5)` is
/// `(-0.5, -2.0)`, `modf(inf)` is `(0.0, inf)`).
pub fn modf<T: ModfFloat>(x: T) -> (T, T) {
    x.modf_parts()
}

pub trait ModfFloat: Copy {
    fn modf_parts(self) -> (Self, Self);
}

macro_rules! float_impls {
    ($t:ty, $bits:ty) => {
        impl ModfFloat for $t {
            fn modf_parts(self) -> ($t, $t) {
                if self.is_nan() {
                    return (self, self);
                }
                let i = self.trunc();
                let f = if self.is_infinite() { 0.0 } else { self - i };
                (f.copysign(self), i)
            }
        }
        impl StepFloat for $t {
            fn next_toward(self, y: $t) -> $t {
                if self.is_nan() || y.is_nan() {
                    return self + y;
                }
                if self == y {
                    return y;
                }
                if self == 0.0 {
                    return <$t>::from_bits(1).copysign(y);
                }
                let b = self.to_bits();
                let away = (y > self) == (self > 0.0);
                <$t>::from_bits(if away { b + 1 } else { b - 1 })
            }
            fn spacing(self) -> $t {
                if self.is_nan() || self.is_infinite() {
                    return <$t>::NAN;
                }
                if self == 0.0 {
                    return <$t>::from_bits(1); // NumPy: positive for both zeros
                }
                let toward = <$t>::INFINITY.copysign(self);
                self.next_toward(toward) - self
            }
        }
    };
}

/// `nextafter` and NumPy's `spacing` (the distance to the next float away from zero, signed).
pub trait StepFloat: Copy {
    fn next_toward(self, y: Self) -> Self;
    fn spacing(self) -> Self;
}

float_impls!(f64, u64);
float_impls!(f32, u32);

/// cbindgen:ignore
mod libm {
    extern "C" {
        pub fn asinh(x: f64) -> f64;
        pub fn acosh(x: f64) -> f64;
        pub fn atanh(x: f64) -> f64;
        pub fn asinhf(x: f32) -> f32;
        pub fn acoshf(x: f32) -> f32;
        pub fn atanhf(x: f32) -> f32;
    }
}
use libm::{acosh, acoshf, asinh, asinhf, atanh, atanhf};

/// The inverse hyperbolic functions of the platform's libm.
pub trait InverseHyperbolic: Copy {
    fn libm_asinh(self) -> Self;
    fn libm_acosh(self) -> Self;
    fn libm_atanh(self) -> Self;
}

impl InverseHyperbolic for f64 {
    fn libm_asinh(self) -> f64 {
        // SAFETY: a pure libm function of one double.
        unsafe { asinh(self) }
    }
    fn libm_acosh(self) -> f64 {
        // SAFETY: as above.
        unsafe { acosh(self) }
    }
    fn libm_atanh(self) -> f64 {
        // SAFETY: as above.
        unsafe { atanh(self) }
    }
}

impl InverseHyperbolic for f32 {
    fn libm_asinh(self) -> f32 {
        // SAFETY: a pure libm function of one float.
        unsafe { asinhf(self) }
    }
    fn libm_acosh(self) -> f32 {
        // SAFETY: as above.
        unsafe { acoshf(self) }
    }
    fn libm_atanh(self) -> f32 {
        // SAFETY: as above.
        unsafe { atanhf(self) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frexp_and_ldexp_round_trip() {
        for x in [1.0, -3.5, 1e-310, f64::MAX, f64::MIN_POSITIVE, 5e-324, 0.1] {
            let (m, e) = frexp(x);
            assert!((0.5..1.0).contains(&m.abs()), "{x}: {m}");
            assert_eq!(ldexp(m, e as i64), x, "{x}");
        }
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(0.0), (0.0, 0));
        assert_eq!(ldexp(1.0, -1074), 5e-324);
        assert_eq!(
            ldexp(1.0, -1075),
            0.0,
            "half the smallest subnormal rounds to even"
        );
        assert_eq!(ldexp(1.5, -1075), 5e-324);
        assert_eq!(ldexp(1.0, 1024), f64::INFINITY);
        assert_eq!(ldexp(3.0, i64::MIN), 0.0);
        assert_eq!(ldexp(0.75, 1024), 0.75 * 2f64.powi(1023) * 2.0);
        assert_eq!(ldexp_f32(1.0, -149), f32::from_bits(1));
    }

    #[test]
    fn modf_nextafter_spacing() {
        assert_eq!(modf(-2.5f64), (-0.5, -2.0));
        let (f, i) = modf(f64::NEG_INFINITY);
        assert!(f == 0.0 && f.is_sign_negative() && i == f64::NEG_INFINITY);
        assert!(modf(-3.0f64).0.is_sign_negative());
        assert_eq!(1.0f64.next_toward(2.0), 1.0 + f64::EPSILON);
        assert_eq!(0.0f64.next_toward(-1.0), -5e-324);
        assert_eq!(1.0f64.spacing(), f64::EPSILON);
        assert_eq!((-1.0f64).spacing(), -f64::EPSILON);
        assert!(f64::INFINITY.spacing().is_nan());
        assert_eq!(f64::MAX.spacing(), f64::INFINITY);
        assert_eq!(1.0f32.spacing(), f32::EPSILON);
    }
}
