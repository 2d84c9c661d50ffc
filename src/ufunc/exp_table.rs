//! Table-driven `exp` for AVX-512, the loop behind `exp(x)` on float64 blocks when the CPU has
//! it. Against the polynomial-only kernel of `fastmath` (degree 13 on |r| <= ln2/2) it reduces
//! the argument sixteen times further, so a degree-7 polynomial suffices: with
//! x = (16e + j)·ln2/16 + r and |r| <= ln2/32, exp(x) = 2^e · 2^(j/16) · exp(r). The sixteen
//! values 2^(j/16) fit in two registers, so looking one up is a single in-register permute (no
//! memory gather), and `vscalefpd` applies 2^e with one rounding, overflowing to inf and
//! underflowing through the subnormals to 0 like libm. The loop prefetches 4 KiB ahead: the
//! values come from memory once (`exp(x).mean()`), and without it the kernel waited on loads
//! (measured in benches/README.md, "exp, table-driven").

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// 2^(j/16), j = 0..15, each the float64 nearest the exact value (computed to 60 digits).
const TABLE: [u64; 16] = [
    0x3FF0_0000_0000_0000,
    0x3FF0_B558_6CF9_890F,
    0x3FF1_72B8_3C7D_517B,
    0x3FF2_387A_6E75_6238,
    0x3FF3_06FE_0A31_B715,
    0x3FF3_DEA6_4C12_3422,
    0x3FF4_BFDA_D536_2A27,
    0x3FF5_AB07_DD48_5429,
    0x3FF6_A09E_667F_3BCD,
    0x3FF7_A114_73EB_0187,
    0x3FF8_ACE5_422A_A0DB,
    0x3FF9_C491_82A3_F090,
    0x3FFA_E89F_995A_D3AD,
    0x3FFC_199B_DD85_529C,
    0x3FFD_5818_DCFB_A487,
    0x3FFE_A4AF_A2A4_90DA,
];

// fdlibm's split of ln 2 divided by 16 (exact: a power of two); the high part has 32 trailing
// zero bits, so k · LN2_16_HI is exact for the k reachable here.
#[allow(clippy::excessive_precision)]
const LN2_16_HI: f64 = 6.931_471_803_691_238_164_90e-1 / 16.0;
#[allow(clippy::excessive_precision)]
const LN2_16_LO: f64 = 1.908_214_929_270_587_700_02e-10 / 16.0;
const SIXTEEN_OVER_LN2: f64 = 16.0 * std::f64::consts::LOG2_E;
/// 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits, whose low four
/// bits are then the table index (2^51 is a multiple of 16, so negative k wraps correctly).
const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// Beyond these exp is inf or 0 anyway; clamping keeps k far from the shifter's range.
const CLAMP: f64 = 1_000.0;

/// The table's value at `j` (for the tests).
#[cfg(test)]
pub(crate) fn table(j: usize) -> f64 {
    f64::from_bits(TABLE[j])
}

const PREFETCH: usize = 768;

/// exp of eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn exp8(x: __m512d, lo: __m512d, hi: __m512d) -> __m512d {
    // min/max return their second operand when either is NaN: a NaN x passes through.
    let xc = _mm512_max_pd(
        _mm512_set1_pd(-CLAMP),
        _mm512_min_pd(_mm512_set1_pd(CLAMP), x),
    );
    let t = _mm512_fmadd_pd(
        xc,
        _mm512_set1_pd(SIXTEEN_OVER_LN2),
        _mm512_set1_pd(SHIFTER),
    );
    let k = _mm512_sub_pd(t, _mm512_set1_pd(SHIFTER));
    let r = _mm512_fnmadd_pd(k, _mm512_set1_pd(LN2_16_HI), xc);
    let r = _mm512_fnmadd_pd(k, _mm512_set1_pd(LN2_16_LO), r);
    // q = exp(r) - 1 = r + r²/2! + … + r⁷/7!; the first left-out term is below 2e-18.
    let mut p = _mm512_set1_pd(1.0 / 5_040.0);
    for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0] {
        p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
    }
    let q = _mm512_mul_pd(p, r);
    let s = _mm512_permutex2var_pd(lo, _mm512_castpd_si512(t), hi);
    let y = _mm512_fmadd_pd(s, q, s);
    // 2^floor(k / 16): k / 16 is exact, and scalef takes the floor itself.
    _mm512_scalef_pd(y, _mm512_mul_pd(k, _mm512_set1_pd(1.0 / 16.0)))
}

/// `exp` over contiguous values with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn exp_slice(x: &[f64], out: &mut [f64]) {
    let n = x.len().min(out.len());
    // SAFETY: loads and stores stay within the first `n` elements of both slices (the last,
    // partial group through masks); the table is 16 values.
    unsafe {
        let lo = _mm512_loadu_pd(TABLE.as_ptr().cast());
        let hi = _mm512_loadu_pd(TABLE.as_ptr().add(8).cast());
        let (xp, op) = (x.as_ptr(), out.as_mut_ptr());
        let mut i = 0;
        while i + 16 <= n {
            _mm_prefetch::<_MM_HINT_T0>(xp.wrapping_add(i + PREFETCH).cast());
            _mm_prefetch::<_MM_HINT_T0>(xp.wrapping_add(i + PREFETCH + 8).cast());
            let a = exp8(_mm512_loadu_pd(xp.add(i)), lo, hi);
            let b = exp8(_mm512_loadu_pd(xp.add(i + 8)), lo, hi);
            _mm512_storeu_pd(op.add(i), a);
            _mm512_storeu_pd(op.add(i + 8), b);
            i += 16;
        }
        while i < n {
            let left = (n - i).min(8);
            let mask: __mmask8 = ((1u16 << left) - 1) as u8;
            let v = exp8(_mm512_maskz_loadu_pd(mask, xp.add(i)), lo, hi);
            _mm512_mask_storeu_pd(op.add(i), mask, v);
            i += left;
        }
    }
}
