//! The solvers, one file each. All minimise `Objective` from a starting point and stop on
//! the KKT residual (`tol`) or `max_iter`; none returns an error for not converging (the
//! outcome says so).

pub mod admm;
pub mod cd;
pub mod gradient;
pub mod lbfgs;
pub mod newton;
pub mod proximal;

/// Armijo's sufficient-decrease constant.
pub(super) const ARMIJO: f64 = 1e-4;
/// Smallest step a line search tries before it gives up.
pub(super) const MIN_STEP: f64 = 1e-12;

/// What rounding can hide in an objective of size `f`: near the optimum a step's decrease
/// falls below it, and a line search that insists on seeing the decrease would shrink the
/// step to nothing while the gradient is still above `tol`.
pub(super) fn rounding(f: f64) -> f64 {
    16.0 * f64::EPSILON * f.abs()
}

/// Backtracking from step `t` along `d` (whose slope at `beta` is `slope`) until Armijo's
/// condition holds up to rounding, evaluating each trial point as `want` asks: the accepted
/// point, its evaluation and its step, or `None` once the step falls below `MIN_STEP`.
pub(super) fn backtrack(
    obj: &mut crate::glm::objective::Objective,
    beta: &[f64],
    e: &crate::glm::objective::Eval,
    d: &[f64],
    slope: f64,
    mut t: f64,
    want: crate::glm::kernel::Want,
) -> crate::error::Result<Option<(Vec<f64>, crate::glm::objective::Eval, f64)>> {
    while t >= MIN_STEP {
        let trial = crate::glm::dense::axpy(beta, t, d);
        let et = obj.eval(&trial, want)?;
        if et.f <= e.f + ARMIJO * t * slope + rounding(e.f) {
            return Ok(Some((trial, et, t)));
        }
        t *= 0.5;
    }
    Ok(None)
}
