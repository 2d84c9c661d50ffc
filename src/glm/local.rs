//! ADMM's per-block step: the block's own problem `Lᵢ(β)/N + (ρ/2)‖β − v‖²`, solved to
//! high precision by Newton's method inside one task, over a block that stays in memory
//! for the whole solve (the data never leaves the worker holding it).

use super::dense::{axpy, cholesky_solve, dot, norm_inf};
use super::kernel::{block_stats, Block, PassSpec, Want};

/// Inner Newton iterations at most (the local problem is strongly convex: a few suffice).
const LOCAL_MAX_ITER: usize = 50;
const LOCAL_TOL: f64 = 1e-10;

/// Minimises the block's ADMM subproblem from `spec.beta`; `scale` is `1/N`.
pub fn solve_local(
    spec: &PassSpec,
    b: &Block,
    scale: f64,
    rho: f64,
    v: &[f64],
) -> Result<Vec<f64>, String> {
    let q = v.len();
    let eval = |beta: &[f64], want: Want| -> Result<(f64, Vec<f64>, Vec<f64>), String> {
        let s = PassSpec {
            beta: beta.to_vec(),
            want,
            check: false,
            ..spec.clone()
        };
        let st = block_stats(&s, b)?;
        let diff: Vec<f64> = beta.iter().zip(v).map(|(a, c)| a - c).collect();
        let f = st.loss * scale + 0.5 * rho * dot(&diff, &diff);
        let mut g = st.grad;
        let mut h = st.hess;
        g.iter_mut()
            .zip(&diff)
            .for_each(|(gj, dj)| *gj = *gj * scale + rho * dj);
        h.iter_mut().for_each(|x| *x *= scale);
        for j in 0..q {
            if !h.is_empty() {
                h[j * q + j] += rho;
            }
        }
        Ok((f, g, h))
    };
    let mut beta = spec.beta.clone();
    let (mut f, mut g, mut h) = eval(&beta, Want::Hessian)?;
    for _ in 0..LOCAL_MAX_ITER {
        if norm_inf(&g) <= LOCAL_TOL {
            break;
        }
        let neg: Vec<f64> = g.iter().map(|x| -x).collect();
        let d = cholesky_solve(&h, q, &neg).ok_or("the block's Newton system is singular")?;
        let slope = dot(&g, &d);
        // A full step is taken almost always; where rounding hides the decrease the block's
        // answer is as good as this precision allows, and the solve stops.
        let trial = axpy(&beta, 1.0, &d);
        let (ft, gt, ht) = eval(&trial, Want::Hessian)?;
        let mut t = 1.0;
        let mut found =
            (ft <= f + 1e-4 * slope + 16.0 * f64::EPSILON * f.abs()).then_some((trial, ft, gt, ht));
        while found.is_none() && t > 1e-4 {
            t *= 0.25;
            let trial = axpy(&beta, t, &d);
            let (ft, gt, ht) = eval(&trial, Want::Hessian)?;
            if ft <= f + 1e-4 * t * slope {
                found = Some((trial, ft, gt, ht));
            }
        }
        match found {
            Some((b, ft, gt, ht)) => {
                beta = b;
                (f, g, h) = (ft, gt, ht);
            }
            None => break,
        }
    }
    Ok(beta)
}
