//! Penalties on the coefficients (never on the intercept), and their strength.
//!
//! The objective is `Σ sᵢ lossᵢ + λ R(β)` with sample weights `s`. scikit-learn writes the
//! same objective as `C Σ sᵢ lossᵢ + R(β)`, so `C = 1 / λ`; dask-glm's `lamduh` is `λ`.
//! `R` is `½‖β‖²` (L2), `‖β‖₁` (L1), or `α‖β‖₁ + ½(1 − α)‖β‖²` (elastic net, `α` = `l1_ratio`),
//! as in scikit-learn.

use crate::error::{Error, Result};

/// Which penalty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Penalty {
    None,
    L2,
    L1,
    ElasticNet { l1_ratio: f64 },
}

impl Penalty {
    /// The penalty named `name` (`none`, `l2`, `l1`, `elasticnet`/`elastic_net`).
    pub fn parse(name: &str, l1_ratio: f64) -> Result<Penalty> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "none" | "" => Penalty::None,
            "l2" => Penalty::L2,
            "l1" => Penalty::L1,
            "elasticnet" | "elastic_net" | "elastic-net" => {
                if !(0.0..=1.0).contains(&l1_ratio) {
                    return Err(Error::invalid(format!(
                        "l1_ratio must lie in [0, 1], not {l1_ratio}"
                    )));
                }
                Penalty::ElasticNet { l1_ratio }
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown penalty {other:?} (none, l2, l1, elasticnet)"
                )))
            }
        })
    }

    /// The share of the strength on `‖β‖₁`.
    pub fn l1_share(&self) -> f64 {
        match *self {
            Penalty::None | Penalty::L2 => 0.0,
            Penalty::L1 => 1.0,
            Penalty::ElasticNet { l1_ratio } => l1_ratio,
        }
    }

    /// False when the penalty has an L1 part (it then needs `proximal_grad` or `admm`).
    pub fn is_smooth(&self) -> bool {
        self.l1_share() == 0.0
    }
}

/// A penalty with its strength `λ` (on the summed loss).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regularization {
    pub penalty: Penalty,
    pub lambda: f64,
}

impl Regularization {
    /// `λ` from either `C` (scikit-learn) or `lambda` (dask-glm); giving both is an error, and
    /// giving neither means `C = 1` for a penalised model, as in scikit-learn.
    pub fn new(penalty: Penalty, c: Option<f64>, lambda: Option<f64>) -> Result<Regularization> {
        let lambda = match (c, lambda) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "give the penalty's strength as C or as lambda, not both (C = 1 / lambda)",
                ))
            }
            (Some(c), None) => {
                if c.is_nan() || c <= 0.0 {
                    return Err(Error::invalid(format!("C must be positive, not {c}")));
                }
                1.0 / c
            }
            (None, Some(l)) => {
                if !(l >= 0.0 && l.is_finite()) {
                    return Err(Error::invalid(format!(
                        "lambda must be finite and not negative, not {l}"
                    )));
                }
                l
            }
            (None, None) => 1.0,
        };
        let lambda = if penalty == Penalty::None {
            0.0
        } else {
            lambda
        };
        Ok(Regularization { penalty, lambda })
    }

    /// Weight of `½‖β‖²` in the summed objective.
    pub fn l2(&self) -> f64 {
        self.lambda * (1.0 - self.penalty.l1_share())
    }

    /// Weight of `‖β‖₁` in the summed objective.
    pub fn l1(&self) -> f64 {
        self.lambda * self.penalty.l1_share()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_is_the_inverse_of_lambda_and_both_at_once_is_refused() {
        let r = Regularization::new(Penalty::L2, Some(4.0), None).unwrap();
        assert_eq!(r.lambda, 0.25);
        assert_eq!(r.l2(), 0.25);
        assert!(Regularization::new(Penalty::L2, Some(1.0), Some(1.0)).is_err());
        assert!(Regularization::new(Penalty::L2, Some(0.0), None).is_err());
        let e = Regularization::new(Penalty::ElasticNet { l1_ratio: 0.3 }, None, Some(2.0));
        let e = e.unwrap();
        assert!((e.l1() - 0.6).abs() < 1e-15 && (e.l2() - 1.4).abs() < 1e-15);
        assert_eq!(
            Regularization::new(Penalty::None, None, Some(3.0))
                .unwrap()
                .lambda,
            0.0
        );
        assert!(Penalty::parse("elasticnet", 1.5).is_err());
        assert!(Penalty::parse("l3", 0.0).is_err());
    }
}
