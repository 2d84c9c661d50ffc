//! Newton's method (IRLS for canonical links): each iteration is one pass accumulating the
//! gradient and XᵀWX, then a p×p Cholesky solve; a backtracking line search keeps it safe
//! far from the optimum (a full step is almost always taken near it).

use super::backtrack;
use crate::error::{Error, Result};
use crate::glm::dense::{cholesky_solve, dot};
use crate::glm::kernel::Want;
use crate::glm::objective::{Objective, Outcome, Stop};

/// Most coefficients newton takes: beyond, each block's p×p partial Hessian is too large
/// to move around (lbfgs needs only p-sized vectors).
pub const NEWTON_MAX_COLUMNS: usize = 2048;

pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    let q = obj.len();
    if q > NEWTON_MAX_COLUMNS {
        return Err(Error::invalid(format!(
            "newton solves a {q}x{q} system each iteration; above {NEWTON_MAX_COLUMNS} \
             coefficients use solver lbfgs"
        )));
    }
    if obj.l1 > 0.0 {
        return Err(Error::invalid(
            "newton does not take an L1 penalty; use solver proximal_grad or admm",
        ));
    }
    let mut beta = beta;
    let mut e = obj.eval(&beta, Want::Hessian)?;
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < stop.max_iter {
        if obj.kkt(&beta, &e.g) <= stop.tol {
            converged = true;
            break;
        }
        n_iter += 1;
        let neg: Vec<f64> = e.g.iter().map(|v| -v).collect();
        let d = cholesky_solve(&e.h, q, &neg).ok_or_else(|| {
            Error::invalid(
                "the Newton system XᵀWX is singular (collinear columns, or a separable \
                 problem without a penalty); add an L2 penalty",
            )
        })?;
        let slope = dot(&e.g, &d);
        match backtrack(obj, &beta, &e, &d, slope, 1.0, Want::Hessian)? {
            Some((next, en, _)) => (beta, e) = (next, en),
            None => return Ok(outcome(obj, beta, &e, n_iter, false)),
        }
    }
    converged = converged || obj.kkt(&beta, &e.g) <= stop.tol;
    Ok(outcome(obj, beta, &e, n_iter, converged))
}

pub(super) fn outcome(
    obj: &Objective,
    beta: Vec<f64>,
    e: &crate::glm::objective::Eval,
    n_iter: usize,
    converged: bool,
) -> Outcome {
    Outcome {
        objective: obj.total(e, &beta),
        residual: obj.kkt(&beta, &e.g),
        beta,
        n_iter,
        converged,
        curvature: Default::default(),
    }
}
