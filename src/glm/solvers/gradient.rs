//! Gradient descent with a backtracking line search; the step grows again after each
//! accepted one, so it tracks the local curvature. Slow on ill-conditioned problems (that
//! is what newton and lbfgs are for), but each iteration is the cheapest there is.

use super::newton::outcome;
use super::{ARMIJO, MIN_STEP};
use crate::error::Result;
use crate::glm::dense::{axpy, dot};
use crate::glm::kernel::Want;
use crate::glm::objective::{Objective, Outcome, Stop};

pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    if obj.l1 > 0.0 {
        return Err(crate::error::Error::invalid(
            "gradient_descent does not take an L1 penalty; use solver proximal_grad or admm",
        ));
    }
    let mut beta = beta;
    let mut e = obj.eval(&beta, Want::Gradient)?;
    let mut t = 1.0;
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < stop.max_iter {
        if obj.kkt(&beta, &e.g) <= stop.tol {
            converged = true;
            break;
        }
        n_iter += 1;
        let gg = dot(&e.g, &e.g);
        loop {
            let trial = axpy(&beta, -t, &e.g);
            let et = obj.eval(&trial, Want::Gradient)?;
            if et.f <= e.f - ARMIJO * t * gg + super::rounding(e.f) {
                beta = trial;
                e = et;
                t *= 2.0;
                break;
            }
            t *= 0.5;
            if t < MIN_STEP {
                return Ok(outcome(obj, beta, &e, n_iter, false));
            }
        }
    }
    converged = converged || obj.kkt(&beta, &e.g) <= stop.tol;
    Ok(outcome(obj, beta, &e, n_iter, converged))
}
