//! Accelerated proximal gradient (FISTA) for penalties with an L1 part: a gradient step on
//! the smooth part, soft-thresholding for the L1 part, the step found by backtracking on
//! the quadratic upper bound, and momentum restarted whenever the objective goes up.

use super::newton::outcome;
use super::MIN_STEP;
use crate::error::Result;
use crate::glm::dense::dot;
use crate::glm::kernel::Want;
use crate::glm::objective::{Objective, Outcome, Stop};

pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    let mut x = beta;
    let mut ex = obj.eval(&x, Want::Gradient)?;
    let mut fx = obj.total(&ex, &x);
    let mut y = x.clone();
    let mut ey = ex.clone();
    let mut momentum = 1.0f64;
    let mut step = 1.0;
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < stop.max_iter {
        if obj.kkt(&x, &ex.g) <= stop.tol {
            converged = true;
            break;
        }
        n_iter += 1;
        let (next, enext) = loop {
            let mut z: Vec<f64> = y.iter().zip(&ey.g).map(|(a, g)| a - step * g).collect();
            obj.prox(&mut z, step);
            let ez = obj.eval(&z, Want::Gradient)?;
            let d: Vec<f64> = z.iter().zip(&y).map(|(a, b)| a - b).collect();
            if ez.f <= ey.f + dot(&ey.g, &d) + dot(&d, &d) / (2.0 * step) {
                break (z, ez);
            }
            step *= 0.5;
            if step < MIN_STEP {
                return Ok(outcome(obj, x, &ex, n_iter, false));
            }
        };
        let fnext = obj.total(&enext, &next);
        let restart = fnext > fx;
        let m_next = (1.0 + (1.0 + 4.0 * momentum * momentum).sqrt()) / 2.0;
        if restart {
            momentum = 1.0;
            y = next.clone();
            ey = enext.clone();
        } else {
            let c = (momentum - 1.0) / m_next;
            momentum = m_next;
            y = next.iter().zip(&x).map(|(a, b)| a + c * (a - b)).collect();
            ey = if c == 0.0 {
                enext.clone()
            } else {
                obj.eval(&y, Want::Gradient)?
            };
        }
        if !restart || fnext <= fx {
            x = next;
            ex = enext;
            fx = fnext;
        }
        step *= 1.25; // let the step grow back where the curvature allows
    }
    converged = converged || obj.kkt(&x, &ex.g) <= stop.tol;
    Ok(outcome(obj, x, &ex, n_iter, converged))
}
