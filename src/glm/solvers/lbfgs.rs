//! Limited-memory BFGS: one pass (loss and gradient together) per trial point, the last
//! `MEMORY` steps shaping the direction, a backtracking line search. Written here rather
//! than taken from `argmin`: a trial must cost one fused pass that yields the loss and the
//! gradient at once, and only p-sized vectors are involved (the two-loop recursion is a few
//! lines).

use super::backtrack;
use super::newton::outcome;
use crate::error::Result;
use crate::glm::dense::{dot, norm_inf};
use crate::glm::kernel::Want;
use crate::glm::objective::{Curvature, Objective, Outcome, Stop};

const MEMORY: usize = 10;

pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    solve_from(obj, beta, Curvature::new(), stop)
}

/// `solve` with a memory to start from: pairs learned on a sample of the same objective (a
/// warm start) shape the first steps as they would have on the full data.
pub fn solve_from(
    obj: &mut Objective,
    beta: Vec<f64>,
    mut pairs: Curvature,
    stop: Stop,
) -> Result<Outcome> {
    if obj.l1 > 0.0 {
        return Err(crate::error::Error::invalid(
            "lbfgs does not take an L1 penalty; use solver proximal_grad or admm",
        ));
    }
    let mut beta = beta;
    let mut e = obj.eval(&beta, Want::Gradient)?;
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < stop.max_iter {
        if obj.kkt(&beta, &e.g) <= stop.tol {
            converged = true;
            break;
        }
        n_iter += 1;
        let mut d = direction(&e.g, &pairs);
        let mut slope = dot(&e.g, &d);
        if slope.is_nan() || slope >= 0.0 {
            pairs.clear();
            d = e.g.iter().map(|v| -v).collect();
            slope = dot(&e.g, &d);
        }
        // The first step has no curvature to go by: a unit step in the largest coordinate.
        let t = if pairs.is_empty() {
            1.0 / norm_inf(&d).max(1.0)
        } else {
            1.0
        };
        let Some((trial, et, _)) = backtrack(obj, &beta, &e, &d, slope, t, Want::Gradient)? else {
            return Ok(with(outcome(obj, beta, &e, n_iter, false), pairs));
        };
        let s: Vec<f64> = trial.iter().zip(&beta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = et.g.iter().zip(&e.g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if pairs.len() == MEMORY {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        beta = trial;
        e = et;
    }
    converged = converged || obj.kkt(&beta, &e.g) <= stop.tol;
    Ok(with(outcome(obj, beta, &e, n_iter, converged), pairs))
}

fn with(out: Outcome, curvature: Curvature) -> Outcome {
    Outcome { curvature, ..out }
}

/// `−H g` by the two-loop recursion over the stored pairs.
fn direction(g: &[f64], pairs: &Curvature) -> Vec<f64> {
    let mut q: Vec<f64> = g.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, &q);
        q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
        alphas.push(a);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}
