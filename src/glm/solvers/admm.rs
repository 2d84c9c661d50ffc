//! Consensus ADMM over the row blocks (Boyd et al., "Distributed optimization and
//! statistical learning via ADMM", §7–8): each block solves its own problem near the
//! consensus `z` in one task where its data lives (`glm.admm_local`), `z` is then the
//! penalty's proximal step of the blocks' average, and each block's dual moves by its
//! disagreement. Only p-sized vectors travel. `ρ` is balanced against the residuals
//! (§3.4.1). Convergence is judged like every other solver's: by the KKT residual at `z`,
//! from one gradient pass per iteration.

use super::newton::outcome;
use crate::error::Result;
use crate::glm::kernel::Want;
use crate::glm::objective::{Objective, Outcome, Stop};

pub fn solve(obj: &mut Objective, beta: Vec<f64>, stop: Stop) -> Result<Outcome> {
    let blocks = obj.design().blocks();
    let nb = blocks as f64;
    let q = obj.len();
    let mut z = beta;
    let mut u = vec![vec![0.0; q]; blocks];
    let mut x = vec![z.clone(); blocks];
    let mut rho = 1.0 / nb;
    let mut e = obj.eval(&z, Want::Gradient)?;
    let mut n_iter = 0;
    let mut converged = false;
    while n_iter < stop.max_iter {
        if obj.kkt(&z, &e.g) <= stop.tol {
            converged = true;
            break;
        }
        n_iter += 1;
        let targets: Vec<Vec<f64>> = u
            .iter()
            .map(|ui| z.iter().zip(ui).map(|(a, b)| a - b).collect())
            .collect();
        let spec = obj.spec().clone();
        x = obj
            .design()
            .admm_local(&spec, obj.scale, rho, &x, &targets)?;
        obj.passes += 1;
        // z: the penalty's proximal step of the average of x + u, weight nb·ρ.
        let mut avg = vec![0.0; q];
        for (xi, ui) in x.iter().zip(&u) {
            for j in 0..q {
                avg[j] += (xi[j] + ui[j]) / nb;
            }
        }
        let w = nb * rho;
        let mut znew = avg;
        obj.prox(&mut znew, 1.0 / w);
        for (j, v) in znew.iter_mut().enumerate() {
            if obj.is_penalised(j) {
                *v /= 1.0 + obj.l2 / w;
            }
        }
        let mut primal = 0.0;
        for (xi, ui) in x.iter().zip(u.iter_mut()) {
            for j in 0..q {
                let r = xi[j] - znew[j];
                ui[j] += r;
                primal += r * r;
            }
        }
        let dual: f64 = rho
            * nb.sqrt()
            * znew
                .iter()
                .zip(&z)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
        let primal = primal.sqrt();
        z = znew;
        e = obj.eval(&z, Want::Gradient)?;
        if primal > 10.0 * dual {
            rho *= 2.0;
            u.iter_mut().flatten().for_each(|v| *v /= 2.0);
        } else if dual > 10.0 * primal {
            rho /= 2.0;
            u.iter_mut().flatten().for_each(|v| *v *= 2.0);
        }
    }
    converged = converged || obj.kkt(&z, &e.g) <= stop.tol;
    Ok(outcome(obj, z, &e, n_iter, converged))
}
