//! Gradient descent with a backtracking line search; the step grows again after each
//! accepted one, so it tracks the local curvature. Slow on ill-conditioned problems (that
//! is what newton and lbfgs are for), but each iteration is the cheapest there is.

use super::backtrack;
use super::newton::outcome;
use crate::error::Result;
use crate::glm::dense::dot;
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
        let down: Vec<f64> = e.g.iter().map(|v| -v).collect();
        let slope = -dot(&e.g, &e.g);
        match backtrack(obj, &beta, &e, &down, slope, t, Want::Gradient)? {
            // The step grows again after each accepted one.
            Some((next, en, taken)) => (beta, e, t) = (next, en, 2.0 * taken),
            None => return Ok(outcome(obj, beta, &e, n_iter, false)),
        }
    }
    converged = converged || obj.kkt(&beta, &e.g) <= stop.tol;
    Ok(outcome(obj, beta, &e, n_iter, converged))
}
