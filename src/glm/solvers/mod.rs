//! The solvers, one file each. All minimise `Objective` from a starting point and stop on
//! the KKT residual (`tol`) or `max_iter`; none returns an error for not converging (the
//! outcome says so).

pub mod admm;
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
