//! A warm start from a sample of the rows. On millions of rows, the early iterations of
//! Newton and L-BFGS only find the neighbourhood of the optimum, and a sample finds it as
//! well for a fraction of a pass per iteration: the solver then starts on the full data from
//! the sample's minimiser and needs a few passes instead of many. The full solve still
//! decides convergence by the full data's KKT residual: the warm start changes where the
//! solver starts, never what it accepts (a fit gives the same optimum with or without it).
//!
//! The sample is one tile of 2,048 rows in `stride` of every block: spread through the whole
//! data (rows sorted by class or by time still give a fair sample) and read sequentially.

use super::kernel::Want;
use super::objective::{Curvature, Objective, Outcome, Stop};
use crate::error::Result;

/// Rows a sample keeps at least, and per coefficient: its minimiser is then off the full
/// data's by sampling noise alone, which the full solve removes in a step or two.
const MIN_SAMPLE_ROWS: usize = 200_000;
const SAMPLE_ROWS_PER_COEF: usize = 500;
/// A sample of a quarter of the rows or more saves too little to pay for itself; one of
/// less than a sixteenth saves little more.
const MIN_STRIDE: usize = 4;
const MAX_STRIDE: usize = 16;
/// The sample is solved to this KKT residual at the loosest (the fit's own `tol` when it is
/// looser): sampling noise is ~1e-3 on the mean scale for 10⁵ rows, so more is wasted.
const SAMPLE_TOL: f64 = 1e-4;

/// The stride for `rows` rows and `q` coefficients: 1 (no warm start) when the data is too
/// small for a sample to save passes.
pub fn auto_stride(rows: usize, q: usize) -> usize {
    let need = MIN_SAMPLE_ROWS.max(SAMPLE_ROWS_PER_COEF * q);
    match (rows / need).min(MAX_STRIDE) {
        s if s >= MIN_STRIDE => s,
        _ => 1,
    }
}

/// What a sample solve gave: a start for the full solve (or none: see `sample_start`) and
/// the passes over samples it cost (each reads one row in `stride`).
pub struct Warm {
    pub beta: Option<Vec<f64>>,
    /// L-BFGS's memory at the sample's minimiser (empty for newton).
    pub curvature: Curvature,
    pub passes: usize,
}

/// Minimises `obj` over the sample (one tile in `stride`) with `solve`, from `start`, then
/// judges the result on a second, disjoint sample. No start when the sample gives no safe
/// or useful one: values on disk (see `Objective::sampled`), a sample of more than a
/// quarter of the rows (blocks too small to sample), an error (the data's own errors are
/// reported by the full solve, which checks every value), a sample solve that did not
/// converge, or a minimiser that fits the held-out rows worse than `start` does (a sample
/// that happens to be separable without a penalty sends its coefficients far out, where the
/// other rows' loss is huge).
pub fn sample_start(
    obj: &Objective,
    stride: usize,
    start: &[f64],
    stop: Stop,
    solve: impl FnOnce(&mut Objective, Vec<f64>, Stop) -> Result<Outcome>,
) -> Warm {
    let none = Warm {
        beta: None,
        curvature: Curvature::new(),
        passes: 0,
    };
    let design = obj.design();
    let (rows, held_rows) = (
        design.sampled_rows(stride, 0),
        design.sampled_rows(stride, stride / 2),
    );
    if design.spill_traffic().0 > 0 || rows * MIN_STRIDE > design.n_rows || held_rows == 0 {
        // Values on disk (a sample pass would bring whole blocks back for a fraction of
        // their rows), or blocks too small for a sample to be much smaller than the data.
        return none;
    }
    let share = |r: usize| r as f64 / design.n_rows as f64;
    let mut sample = obj.sampled(stride, 0, share(rows));
    let stop = Stop {
        tol: stop.tol.max(SAMPLE_TOL),
        ..stop
    };
    let out = solve(&mut sample, start.to_vec(), stop);
    let mut warm = Warm {
        passes: sample.passes,
        ..none
    };
    let out = match out {
        Ok(o) if o.converged && o.beta.iter().all(|b| b.is_finite()) => o,
        _ => return warm,
    };
    let mut held_out = obj.sampled(stride, stride / 2, share(held_rows));
    let mut value = |beta: &[f64]| -> Option<f64> {
        let e = held_out.eval(beta, Want::Loss).ok()?;
        Some(held_out.total(&e, beta))
    };
    let better = match (value(&out.beta), value(start)) {
        (Some(w), Some(s)) => w < s,
        _ => false,
    };
    warm.passes += held_out.passes;
    if better {
        warm.beta = Some(out.beta);
        warm.curvature = out.curvature;
    }
    warm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_data_gets_no_sample() {
        assert_eq!(auto_stride(100_000, 21), 1);
        assert_eq!(auto_stride(799_999, 21), 1);
        assert_eq!(auto_stride(800_000, 21), 4);
        assert_eq!(auto_stride(5_000_000, 21), 16);
        // Many coefficients need more rows per sample.
        assert_eq!(auto_stride(1_000_000, 1_001), 1);
    }
}
