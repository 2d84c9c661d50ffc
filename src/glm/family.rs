//! Families of generalized linear models: what a model says about one observation given its
//! linear predictor `eta = x·β + b`. Each family is a small trait object found by its stable
//! name, so a block task that names it runs the same code in any process.

use crate::ufunc::fastmath::{exp1, has_avx2_fma, has_avx512, log1p_unit};
use std::collections::HashMap;
use std::sync::LazyLock;

/// One family with its canonical link. The loss is the observation's negative
/// log-likelihood up to a term that depends on `y` alone (so the solvers' objectives are
/// comparable with scikit-learn's and dask-glm's).
pub trait Family: Send + Sync {
    /// Stable name (`binomial`, `gaussian`, `poisson`): how tasks and bindings refer to it.
    fn name(&self) -> &'static str;
    /// The loss at `eta` for the response `y`, and its first and second derivatives in
    /// `eta` (the IRLS working residual and weight). The second derivative is never negative.
    fn terms(&self, eta: f64, y: f64) -> (f64, f64, f64);
    /// `terms` over a tile of observations (loss, derivative, weight into `l`, `g`, `h`).
    /// Families whose loss needs `exp` or `log` override it with a loop that vectorises:
    /// libm's scalar calls were most of a pass's time.
    fn terms_tile(&self, eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
        for i in 0..eta.len() {
            (l[i], g[i], h[i]) = self.terms(eta[i], y[i]);
        }
    }
    /// The mean response at `eta` (the inverse link).
    fn mean(&self, eta: f64) -> f64;
    /// Why `y` is not a response of this family, if it is not.
    fn check_response(&self, y: f64) -> Option<String>;
    /// The deviance of one observation (twice the loss above the saturated model's).
    fn deviance(&self, mu: f64, y: f64) -> f64;
}

impl std::fmt::Debug for dyn Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bernoulli responses in {0, 1} (the logit link): logistic regression.
pub struct Binomial;
/// Real responses (the identity link): least squares.
pub struct Gaussian;
/// Counts (the log link).
pub struct Poisson;

/// `1 / (1 + exp(-x))` without overflow.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `y log(y / mu)`, zero at `y = 0`.
fn xlogy_ratio(y: f64, mu: f64) -> f64 {
    if y == 0.0 {
        0.0
    } else {
        y * (y / mu).ln()
    }
}

impl Family for Binomial {
    fn name(&self) -> &'static str {
        "binomial"
    }
    fn terms(&self, eta: f64, y: f64) -> (f64, f64, f64) {
        // One exp serves both the loss and the mean (the loop's cost is exp and log1p).
        let e = (-eta.abs()).exp();
        let softplus = eta.max(0.0) + e.ln_1p();
        let mu = if eta >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        (softplus - y * eta, mu - y, mu * (1.0 - mu))
    }
    fn terms_tile(&self, eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
        dispatch(
            logistic::<false>,
            logistic_avx2,
            logistic_avx512,
            eta,
            y,
            l,
            g,
            h,
        )
    }
    fn mean(&self, eta: f64) -> f64 {
        sigmoid(eta)
    }
    fn check_response(&self, y: f64) -> Option<String> {
        (y != 0.0 && y != 1.0).then(|| format!("{y} is not a class label 0 or 1"))
    }
    fn deviance(&self, mu: f64, y: f64) -> f64 {
        2.0 * (xlogy_ratio(y, mu) + xlogy_ratio(1.0 - y, 1.0 - mu))
    }
}

impl Family for Gaussian {
    fn name(&self) -> &'static str {
        "gaussian"
    }
    fn terms(&self, eta: f64, y: f64) -> (f64, f64, f64) {
        let r = eta - y;
        (0.5 * r * r, r, 1.0)
    }
    fn mean(&self, eta: f64) -> f64 {
        eta
    }
    fn check_response(&self, _: f64) -> Option<String> {
        None
    }
    fn deviance(&self, mu: f64, y: f64) -> f64 {
        (y - mu) * (y - mu)
    }
}

impl Family for Poisson {
    fn name(&self) -> &'static str {
        "poisson"
    }
    fn terms(&self, eta: f64, y: f64) -> (f64, f64, f64) {
        let mu = eta.exp();
        (mu - y * eta, mu - y, mu)
    }
    fn terms_tile(&self, eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
        dispatch(
            poisson::<false>,
            poisson_avx2,
            poisson_avx512,
            eta,
            y,
            l,
            g,
            h,
        )
    }
    fn mean(&self, eta: f64) -> f64 {
        eta.exp()
    }
    fn check_response(&self, y: f64) -> Option<String> {
        (y < 0.0).then(|| format!("{y} is a negative count"))
    }
    fn deviance(&self, mu: f64, y: f64) -> f64 {
        2.0 * (xlogy_ratio(y, mu) - (y - mu))
    }
}

type TileFn = fn(&[f64], &[f64], &mut [f64], &mut [f64], &mut [f64]);
type TileFnUnsafe = unsafe fn(&[f64], &[f64], &mut [f64], &mut [f64], &mut [f64]);

/// Runs the widest variant of a tile loop this CPU has.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    base: TileFn,
    avx2: TileFnUnsafe,
    avx512: TileFnUnsafe,
    eta: &[f64],
    y: &[f64],
    l: &mut [f64],
    g: &mut [f64],
    h: &mut [f64],
) {
    let n = eta.len();
    let (y, l, g, h) = (&y[..n], &mut l[..n], &mut g[..n], &mut h[..n]);
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F, AVX2 and FMA (checked at run time).
        return unsafe { avx512(eta, y, l, g, h) };
    }
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time).
        return unsafe { avx2(eta, y, l, g, h) };
    }
    base(eta, y, l, g, h)
}

/// The binomial terms, branch-free: one `exp` serves the loss and the mean.
#[inline(always)]
fn logistic<const FMA: bool>(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
    for i in 0..eta.len() {
        let t = eta[i];
        let e = exp1::<FMA>(-t.abs());
        let softplus = t.max(0.0) + log1p_unit::<FMA>(e);
        let inv = 1.0 / (1.0 + e);
        let mu = if t >= 0.0 { inv } else { e * inv };
        l[i] = softplus - y[i] * t;
        g[i] = mu - y[i];
        h[i] = mu * (1.0 - mu);
    }
}

#[inline(always)]
fn poisson<const FMA: bool>(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
    for i in 0..eta.len() {
        let mu = exp1::<FMA>(eta[i]);
        l[i] = mu - y[i] * eta[i];
        g[i] = mu - y[i];
        h[i] = mu;
    }
}

macro_rules! variants {
    ($base:ident, $avx2:ident, $avx512:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx2(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
            $base::<true>(eta, y, l, g, h)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn $avx512(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
            $base::<true>(eta, y, l, g, h)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unsafe fn $avx2(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
            $base::<false>(eta, y, l, g, h)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unsafe fn $avx512(eta: &[f64], y: &[f64], l: &mut [f64], g: &mut [f64], h: &mut [f64]) {
            $base::<false>(eta, y, l, g, h)
        }
    };
}

variants!(logistic, logistic_avx2, logistic_avx512);
variants!(poisson, poisson_avx2, poisson_avx512);

static FAMILIES: LazyLock<HashMap<&'static str, &'static dyn Family>> = LazyLock::new(|| {
    let all: [&'static dyn Family; 3] = [&Binomial, &Gaussian, &Poisson];
    all.into_iter().map(|f| (f.name(), f)).collect()
});

/// The family named `name` (R's names are accepted too: `binomial`, `gaussian`, `poisson`).
pub fn family(name: &str) -> Option<&'static dyn Family> {
    FAMILIES.get(name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derivatives `terms` gives match central differences of its loss.
    #[test]
    fn derivatives_match_finite_differences() {
        for f in [&Binomial as &dyn Family, &Gaussian, &Poisson] {
            for (eta, y) in [(-3.0, 0.0), (0.4, 1.0), (2.5, 1.0), (-0.7, 0.0)] {
                let h = 1e-5;
                let (_, g, w) = f.terms(eta, y);
                let (lp, gp, _) = f.terms(eta + h, y);
                let (lm, gm, _) = f.terms(eta - h, y);
                assert!(
                    (g - (lp - lm) / (2.0 * h)).abs() < 1e-6,
                    "{} gradient",
                    f.name()
                );
                assert!(
                    (w - (gp - gm) / (2.0 * h)).abs() < 1e-6,
                    "{} weight",
                    f.name()
                );
                assert!(w >= 0.0);
            }
        }
    }

    /// The vectorised tiles give what the scalar terms give (to rounding).
    #[test]
    fn tiles_match_the_scalar_terms() {
        let eta: Vec<f64> = (0..1000).map(|i| (i as f64 - 500.0) / 37.0).collect();
        let y: Vec<f64> = (0..1000).map(|i| (i % 2) as f64).collect();
        for f in [&Binomial as &dyn Family, &Poisson, &Gaussian] {
            let (mut l, mut g, mut h) = (vec![0.0; 1000], vec![0.0; 1000], vec![0.0; 1000]);
            f.terms_tile(&eta, &y, &mut l, &mut g, &mut h);
            for i in 0..1000 {
                let (a, b, c) = f.terms(eta[i], y[i]);
                let close =
                    |u: f64, v: f64| (u - v).abs() <= 4.0 * f64::EPSILON * v.abs().max(1e-300);
                assert!(
                    close(l[i], a) && close(g[i], b) && close(h[i], c),
                    "{} at {}",
                    f.name(),
                    eta[i]
                );
            }
        }
    }

    #[test]
    fn logistic_loss_does_not_overflow() {
        let (l, g, _) = Binomial.terms(800.0, 0.0);
        assert_eq!(l, 800.0);
        assert_eq!(g, 1.0);
        let (l, _, _) = Binomial.terms(-800.0, 0.0);
        assert_eq!(l, 0.0);
    }
}
