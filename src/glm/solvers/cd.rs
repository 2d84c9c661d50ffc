//! Coordinate descent for least squares (the gaussian family) with any penalty. Its loss is
//! quadratic, so one pass gives the objective whole: its value, gradient and `XᵀX` at zero.
//! Coordinates are then minimised one at a time on that q×q model (soft-thresholding where
//! there is an L1 part) without touching the data again: scikit-learn's Lasso and
//! ElasticNet with a precomputed Gram matrix. A path of penalties reuses the one pass.

use super::newton::NEWTON_MAX_COLUMNS;
use crate::error::{Error, Result};
use crate::glm::kernel::Want;
use crate::glm::objective::{Objective, Outcome, Stop};

/// The unpenalised least-squares objective on the mean scale, `f0 + gᵀβ + ½ βᵀHβ`.
pub struct Quadratic {
    f0: f64,
    g: Vec<f64>,
    h: Vec<f64>,
    /// Which coordinates are penalised (all but the intercept).
    penalised: Vec<bool>,
}

impl Quadratic {
    /// One pass over the data of `obj` (gaussian only).
    pub fn of(obj: &mut Objective) -> Result<Quadratic> {
        let q = obj.len();
        let family = obj.spec().family.name();
        if family != "gaussian" || !obj.spec().labels.is_empty() {
            return Err(Error::invalid(format!(
                "solver cd is for the gaussian family (a quadratic loss), not {family}; \
                 use newton, lbfgs or proximal_grad"
            )));
        }
        if q > NEWTON_MAX_COLUMNS {
            return Err(Error::invalid(format!(
                "solver cd keeps a {q}x{q} Gram matrix; above {NEWTON_MAX_COLUMNS} \
                 coefficients use proximal_grad"
            )));
        }
        let e = obj.eval(&vec![0.0; q], Want::Hessian)?;
        let penalised: Vec<bool> = (0..q).map(|j| obj.is_penalised(j)).collect();
        let mut h = e.h;
        for j in (0..q).filter(|&j| penalised[j]) {
            h[j * q + j] -= obj.l2; // the L2 part is added back per penalty
        }
        Ok(Quadratic {
            f0: e.f,
            g: e.g,
            h,
            penalised,
        })
    }

    /// Coefficients (with the intercept).
    pub fn len(&self) -> usize {
        self.g.len()
    }

    /// Minimises `F(β) + l2 ½‖β‖² + l1 ‖β‖₁` (mean-scale weights, penalised coordinates
    /// only) from `beta` by cyclic coordinate descent.
    pub fn minimise(&self, l2: f64, l1: f64, mut beta: Vec<f64>, stop: Stop) -> Outcome {
        let q = self.g.len();
        let diag = |j: usize| self.h[j * q + j] + if self.penalised[j] { l2 } else { 0.0 };
        // grad = g + (H + l2·I_penalised) β, kept up to date coordinate by coordinate.
        let mut grad: Vec<f64> = (0..q)
            .map(|i| {
                self.g[i]
                    + (0..q).map(|j| self.h[i * q + j] * beta[j]).sum::<f64>()
                    + if self.penalised[i] { l2 * beta[i] } else { 0.0 }
            })
            .collect();
        let kkt = |beta: &[f64], grad: &[f64]| -> f64 {
            let mut worst: f64 = 0.0;
            for j in 0..q {
                let r = if !self.penalised[j] || l1 == 0.0 {
                    grad[j].abs()
                } else if beta[j] != 0.0 {
                    (grad[j] + l1 * beta[j].signum()).abs()
                } else {
                    (grad[j].abs() - l1).max(0.0)
                };
                worst = worst.max(r);
            }
            worst
        };
        let mut n_iter = 0;
        let mut residual = kkt(&beta, &grad);
        while residual > stop.tol && n_iter < stop.max_iter {
            n_iter += 1;
            for j in 0..q {
                let a = diag(j);
                if a <= 0.0 {
                    continue; // a column of zeros (unpenalised): nothing to fit
                }
                let z = a * beta[j] - grad[j];
                let new = if self.penalised[j] && l1 > 0.0 {
                    z.signum() * (z.abs() - l1).max(0.0) / a
                } else {
                    z / a
                };
                let delta = new - beta[j];
                if delta != 0.0 {
                    beta[j] = new;
                    for (i, gi) in grad.iter_mut().enumerate() {
                        *gi += self.h[i * q + j] * delta;
                    }
                    grad[j] += if self.penalised[j] { l2 * delta } else { 0.0 };
                }
            }
            residual = kkt(&beta, &grad);
        }
        let quad: f64 = (0..q)
            .map(|i| beta[i] * (self.g[i] + 0.5 * (grad[i] - self.g[i])))
            .sum();
        let pen: f64 = (0..q)
            .filter(|&j| self.penalised[j])
            .map(|j| l1 * beta[j].abs())
            .sum();
        Outcome {
            n_iter,
            objective: self.f0 + quad + pen,
            residual,
            converged: residual <= stop.tol,
            beta,
            curvature: Default::default(),
        }
    }
}

/// One fit: the pass, then coordinate descent at `obj`'s penalty.
pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    let quad = Quadratic::of(obj)?;
    Ok(quad.minimise(obj.l2, obj.l1, beta, stop))
}
