//! Families of generalized linear models: what a model says about one observation given its
//! linear predictor `eta = x·β + b`. Each family is a small trait object found by its stable
//! name, so a block task that names it runs the same code in any process.

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

/// `log(1 + exp(x))` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

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
        let mu = sigmoid(eta);
        (softplus(eta) - y * eta, mu - y, mu * (1.0 - mu))
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

    #[test]
    fn logistic_loss_does_not_overflow() {
        let (l, g, _) = Binomial.terms(800.0, 0.0);
        assert_eq!(l, 800.0);
        assert_eq!(g, 1.0);
        let (l, _, _) = Binomial.terms(-800.0, 0.0);
        assert_eq!(l, 0.0);
    }
}
