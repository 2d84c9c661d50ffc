//! The objective the solvers minimise, on the mean scale: `F(β) = (Σ sᵢ lossᵢ + λ R(β)) / N`
//! with `N = Σ sᵢ`. Dividing by `N` changes no minimiser and makes `tol` mean the same for
//! a thousand rows or a billion. The smooth part (loss and L2) comes from passes over the
//! data; the L1 part is handled by the solvers that can (`proximal_grad`, `admm`).

use super::dense::norm_inf;
use super::design::Design;
use super::family::Family;
use super::kernel::{PassSpec, Want};
use super::penalty::Regularization;
use crate::error::{Error, Result};

/// The smooth part at one point: value, gradient, and (when asked) the Hessian.
#[derive(Debug, Clone)]
pub struct Eval {
    pub f: f64,
    pub g: Vec<f64>,
    pub h: Vec<f64>,
}

pub struct Objective<'a> {
    design: &'a Design,
    spec: PassSpec,
    reg: Regularization,
    /// `1/N` (known after the first evaluation, like `l2` and `l1`).
    pub scale: f64,
    /// `λ·(1−α)/N` and `λ·α/N`: the L2 and L1 weights on the mean scale.
    pub l2: f64,
    pub l1: f64,
    /// Columns of X: in each block of `q` coefficients (one block, or one per class of a
    /// multinomial model) the first `p` are penalised; the intercept, last, is not.
    p: usize,
    q: usize,
    /// Passes over the data so far.
    pub passes: usize,
    /// For a sample: the client's spill traffic before its first pass. A sample pass reads a
    /// sixteenth of each block but makes a spilled block come back whole, so once blocks
    /// travel to and from disk the sample is given up (an error ends its solve).
    spill_baseline: Option<u64>,
}

impl<'a> Objective<'a> {
    /// The objective over `design`. Its first evaluation also checks every value of the
    /// data (finite X, y in the family's support, weights) and learns `N`, so checking
    /// costs no pass of its own.
    pub fn new(
        design: &'a Design,
        family: &'static dyn Family,
        intercept: bool,
        positive: Option<f64>,
        labels: Vec<f64>,
        reg: Regularization,
    ) -> Result<Objective<'a>> {
        let q = design.n_cols + intercept as usize;
        let blocks = labels.len().max(1);
        Ok(Objective {
            design,
            spec: PassSpec {
                family,
                beta: vec![0.0; q * blocks],
                intercept,
                positive,
                labels,
                check: true,
                row0: 0,
                want: Want::Loss,
                stride: 1,
                phase: 0,
            },
            reg,
            scale: f64::NAN,
            l2: f64::NAN,
            l1: f64::NAN,
            p: design.n_cols,
            q,
            passes: 0,
            spill_baseline: None,
        })
    }

    /// The same objective over the row tiles `phase`, `phase + stride`, … of every block,
    /// with the penalty scaled by `share` (the sample's share of the rows) so that its
    /// weight on the mean scale stays the full objective's: the sample's minimiser
    /// estimates the full one. The data is not checked (the full objective's first pass
    /// checks every value).
    pub fn sampled(&self, stride: usize, phase: usize, share: f64) -> Objective<'a> {
        Objective {
            design: self.design,
            spec: PassSpec {
                check: false,
                stride,
                phase,
                ..self.spec.clone()
            },
            reg: Regularization {
                lambda: self.reg.lambda * share,
                ..self.reg
            },
            scale: f64::NAN,
            l2: f64::NAN,
            l1: f64::NAN,
            p: self.p,
            q: self.q,
            passes: 0,
            spill_baseline: Some(self.design.spill_traffic().1),
        }
    }

    /// Learns `N` from the first pass's weight sum.
    fn learn_scale(&mut self, weight: f64) -> Result<()> {
        if weight.is_nan() || weight <= 0.0 {
            return Err(Error::invalid(
                "the sample weights sum to zero: nothing to fit",
            ));
        }
        self.scale = 1.0 / weight;
        self.l2 = self.reg.l2() * self.scale;
        self.l1 = self.reg.l1() * self.scale;
        self.spec.check = false;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.spec.beta.len()
    }

    /// Whether coefficient `j` is penalised (every one but the intercepts).
    pub fn is_penalised(&self, j: usize) -> bool {
        j % self.q < self.p
    }

    /// The penalised coefficients of `beta`.
    fn penalised<'b>(&'b self, beta: &'b [f64]) -> impl Iterator<Item = &'b f64> + 'b {
        beta.iter()
            .enumerate()
            .filter(|(j, _)| self.is_penalised(*j))
            .map(|(_, b)| b)
    }

    pub fn design(&self) -> &Design {
        self.design
    }

    /// The pass template (family, intercept, labels) for block steps (after the first
    /// evaluation: the data is checked by then).
    pub fn spec(&self) -> &PassSpec {
        &self.spec
    }

    /// The smooth part at `beta` (one pass over the data).
    pub fn eval(&mut self, beta: &[f64], want: Want) -> Result<Eval> {
        let spec = PassSpec {
            beta: beta.to_vec(),
            want,
            ..self.spec.clone()
        };
        let st = self.design.pass(&spec)?;
        self.passes += 1;
        if let Some(before) = self.spill_baseline {
            if self.design.spill_traffic().1 != before {
                return Err(Error::invalid(
                    "blocks moved to or from disk during a sample pass",
                ));
            }
        }
        if self.scale.is_nan() {
            self.learn_scale(st.weight)?;
        }
        let q = self.len();
        let mut f =
            st.loss * self.scale + 0.5 * self.l2 * self.penalised(beta).map(|b| b * b).sum::<f64>();
        if !f.is_finite() {
            f = f64::INFINITY;
        }
        let mut g = st.grad;
        g.iter_mut().for_each(|v| *v *= self.scale);
        for (j, (gj, bj)) in g.iter_mut().zip(beta).enumerate() {
            if self.is_penalised(j) {
                *gj += self.l2 * bj;
            }
        }
        let mut h = st.hess;
        h.iter_mut().for_each(|v| *v *= self.scale);
        if !h.is_empty() {
            for j in (0..q).filter(|&j| self.is_penalised(j)) {
                h[j * q + j] += self.l2;
            }
        }
        Ok(Eval { f, g, h })
    }

    /// `F` itself: the smooth part plus the L1 part.
    pub fn total(&self, e: &Eval, beta: &[f64]) -> f64 {
        e.f + self.l1 * self.penalised(beta).map(|b| b.abs()).sum::<f64>()
    }

    /// How far `beta` is from optimal: the largest violation of the KKT conditions (with no
    /// L1 part, the gradient's largest entry). Zero exactly at the minimiser.
    pub fn kkt(&self, beta: &[f64], g: &[f64]) -> f64 {
        if self.l1 == 0.0 {
            return norm_inf(g);
        }
        let mut worst: f64 = 0.0;
        for (j, (&b, &gj)) in beta.iter().zip(g).enumerate() {
            let r = if !self.is_penalised(j) {
                gj.abs()
            } else if b != 0.0 {
                (gj + self.l1 * b.signum()).abs()
            } else {
                (gj.abs() - self.l1).max(0.0)
            };
            worst = worst.max(r);
        }
        worst
    }

    /// The proximal step of the L1 part with step `t`: soft-thresholding of the penalised
    /// coefficients.
    pub fn prox(&self, v: &mut [f64], t: f64) {
        let k = self.l1 * t;
        for (j, x) in v.iter_mut().enumerate() {
            if self.is_penalised(j) {
                *x = x.signum() * (x.abs() - k).max(0.0);
            }
        }
    }
}

/// What a solver returns.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub beta: Vec<f64>,
    pub n_iter: usize,
    /// `F` at `beta`.
    pub objective: f64,
    /// The KKT residual at `beta` (see `Objective::kkt`).
    pub residual: f64,
    pub converged: bool,
    /// L-BFGS's last steps and gradient changes (empty for the other solvers): a warm start
    /// hands them on, so the full solve's first steps know the curvature already.
    pub curvature: Curvature,
}

/// L-BFGS's memory: `(s, y, 1/sᵀy)` per step, oldest first.
pub type Curvature = std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)>;

/// Stopping rules shared by the solvers.
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    pub tol: f64,
    pub max_iter: usize,
}
