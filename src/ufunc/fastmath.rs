//! Vectorisable transcendental kernels. `exp` is the hot one in array work (`exp(x).mean()`),
//! and libm's scalar `exp` does not vectorise, so float64 `exp` has its own kernel: range
//! reduction by ln 2 with a Cody–Waite split, a degree-13 Taylor polynomial on |r| <= ln2/2
//! (truncation error below 1e-17), and 2^k built from exponent bits in two halves so that
//! overflow and underflow come out as inf and 0 without branches. Everything is branch-free
//! arithmetic, so the compiler vectorises it; on CPUs with AVX2 and FMA a copy compiled for
//! them is chosen at run time, and with AVX-512 the table-driven loop of `exp_table`.

use super::loops::LoopFn;
use std::ffi::c_void;
use std::sync::OnceLock;

// fdlibm's split of ln 2, written with its canonical digits.
#[allow(clippy::excessive_precision)]
const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
#[allow(clippy::excessive_precision)]
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INV_LN2: f64 = std::f64::consts::LOG2_E;
/// 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0;

#[inline(always)]
pub(crate) fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `exp(x)` within 2 ulps, branch-free (see the module's note).
#[inline(always)]
pub(crate) fn exp1<const FMA: bool>(x: f64) -> f64 {
    let xc = x.clamp(-746.0, 710.0);
    let t = madd::<FMA>(xc, INV_LN2, SHIFTER);
    let k = t - SHIFTER;
    let ki = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let r = madd::<FMA>(-k, LN2_LO, madd::<FMA>(-k, LN2_HI, xc));
    // Taylor coefficients 1/n!, n = 13 down to 0, by Horner's rule.
    let mut p = 1.0 / 6_227_020_800.0;
    p = madd::<FMA>(p, r, 1.0 / 479_001_600.0);
    p = madd::<FMA>(p, r, 1.0 / 39_916_800.0);
    p = madd::<FMA>(p, r, 1.0 / 3_628_800.0);
    p = madd::<FMA>(p, r, 1.0 / 362_880.0);
    p = madd::<FMA>(p, r, 1.0 / 40_320.0);
    p = madd::<FMA>(p, r, 1.0 / 5_040.0);
    p = madd::<FMA>(p, r, 1.0 / 720.0);
    p = madd::<FMA>(p, r, 1.0 / 120.0);
    p = madd::<FMA>(p, r, 1.0 / 24.0);
    p = madd::<FMA>(p, r, 1.0 / 6.0);
    p = madd::<FMA>(p, r, 0.5);
    p = madd::<FMA>(p, r, 1.0);
    p = madd::<FMA>(p, r, 1.0);
    // floor(ki / 2) with a logical shift (AVX2 has no 64-bit arithmetic shift); |ki| <= 1077.
    let k1 = (((ki + 2048) as u64) >> 1) as i64 - 1024;
    let k2 = ki - k1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    let y = p * s1 * s2;
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `log(1 + x)` for `0 <= x <= 1` (what the logistic loss needs: `x = exp(-|eta|)`),
/// branch-free so loops over it vectorise: `2 atanh(s)` with `s = x / (2 + x) <= 1/3`, the
/// odd series to `s^33` (the next term is below 1e-17 of the sum).
#[inline(always)]
pub(crate) fn log1p_unit<const FMA: bool>(x: f64) -> f64 {
    let s = x / (2.0 + x);
    let s2 = s * s;
    let mut p = 1.0 / 33.0;
    for k in (1..16).rev() {
        p = madd::<FMA>(p, s2, 1.0 / (2 * k + 1) as f64);
    }
    2.0 * madd::<FMA>(p * s2, s, s)
}

#[inline(always)]
fn exp_slice<const FMA: bool>(x: &[f64], out: &mut [f64]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp1::<FMA>(v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn exp_slice_avx2(x: &[f64], out: &mut [f64]) {
    exp_slice::<true>(x, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn exp_slice_avx512(x: &[f64], out: &mut [f64]) {
    // SAFETY: this function's own features include AVX-512F.
    unsafe { super::exp_table::exp_slice(x, out) }
}

pub(crate) fn has_avx512() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx512f") && has_avx2_fma()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

pub(crate) fn has_avx2_fma() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// `exp` over contiguous float64 values.
pub fn exp_f64(x: &[f64], out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked at run time).
        return unsafe { exp_slice_avx512(x, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
        return unsafe { exp_slice_avx2(x, out) };
    }
    exp_slice::<false>(x, out)
}

/// The float64 `exp` loop for the ufunc table.
///
/// # Safety
/// As for any [`LoopFn`].
pub unsafe fn exp_f64_loop(args: &[*mut u8], n: usize, steps: &[isize], _: *const c_void) {
    if steps[0] == 8 && steps[1] == 8 {
        // SAFETY: contiguous arguments of `n` elements; the output does not alias the input.
        let (x, o) = unsafe {
            (
                std::slice::from_raw_parts(args[0] as *const f64, n),
                std::slice::from_raw_parts_mut(args[1] as *mut f64, n),
            )
        };
        exp_f64(x, o);
    } else {
        for i in 0..n as isize {
            // SAFETY: strided access within the described extents.
            unsafe {
                let v = *(args[0] as *const f64).byte_offset(i * steps[0]);
                *(args[1] as *mut f64).byte_offset(i * steps[1]) = exp1::<false>(v);
            }
        }
    }
}

/// The loop, as stored in the table.
pub const EXP_F64: LoopFn = exp_f64_loop;

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn the_exp_table_holds_the_powers_of_two_to_the_sixteenths() {
        for j in 0..16 {
            let want = (j as f64 / 16.0).exp2();
            assert!(
                ulps(super::super::exp_table::table(j), want) <= 1,
                "2^({j}/16)"
            );
        }
    }

    #[test]
    fn log1p_on_the_unit_interval_is_within_two_ulps_of_libm() {
        let mut worst = 0;
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut xs: Vec<f64> = (0..200_000)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        xs.extend([0.0, 1.0, 1e-300, 5e-324, 1e-17, 1e-8, 0.5, (-30.0f64).exp()]);
        for &x in &xs {
            for y in [log1p_unit::<false>(x), log1p_unit::<true>(x)] {
                worst = worst.max(ulps(y, x.ln_1p()));
            }
        }
        assert!(worst <= 2, "worst error {worst} ulps");
    }

    #[test]
    fn exp_is_within_two_ulps_of_libm_and_handles_the_edges() {
        let mut worst = 0;
        let mut xs = Vec::new();
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            xs.push((s >> 11) as f64 / (1u64 << 53) as f64 * 1400.0 - 700.0);
        }
        xs.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            1e-300,
            709.78,
            -708.0,
            -745.0,
            1e-10,
            0.5 * std::f64::consts::LN_2,
        ]);
        let mut out = vec![0.0; xs.len()];
        // Every variant this CPU can run: baseline, AVX2+FMA, AVX-512.
        for variant in 0..3 {
            match variant {
                0 => exp_slice::<false>(&xs, &mut out),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: run only when the CPU has the features.
                1 if has_avx2_fma() => unsafe { exp_slice_avx2(&xs, &mut out) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                2 if has_avx512() => unsafe { exp_slice_avx512(&xs, &mut out) },
                _ => continue,
            }
            for (&x, &y) in xs.iter().zip(&out) {
                let want = x.exp();
                if want.is_normal() {
                    worst = worst.max(ulps(y, want));
                } else {
                    assert!(
                        (y - want).abs() <= f64::MIN_POSITIVE * 4.0,
                        "exp({x}) = {y}, want {want}"
                    );
                }
            }
        }
        assert!(worst <= 2, "worst error {worst} ulps");
        // Every length's last, partial group (masked loads and stores in the AVX-512 loop):
        // right values, and nothing written past the end.
        for len in 0..40 {
            let mut part = vec![-1.0; len + 1];
            exp_f64(&xs[100..100 + len], &mut part[..len]);
            for (&x, &y) in xs[100..100 + len].iter().zip(&part) {
                assert!(
                    ulps(y, x.exp()) <= 2,
                    "exp({x}) = {y} in a {len}-element call"
                );
            }
            assert_eq!(part[len], -1.0, "written past {len} elements");
        }
        let mut edge = [0.0; 6];
        exp_f64(
            &[
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                710.0,
                -746.0,
                800.0,
            ],
            &mut edge,
        );
        assert!(edge[0].is_nan());
        assert_eq!(edge[1], f64::INFINITY);
        assert_eq!(edge[2], 0.0);
        assert_eq!(edge[3], f64::INFINITY);
        assert_eq!(edge[4], 0.0);
        assert_eq!(edge[5], f64::INFINITY);
    }
}
