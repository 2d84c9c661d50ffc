//! The estimators, with scikit-learn's verbs: `fit`, then `coef`, `intercept`,
//! `decision_function`, `predict`, `predict_proba`, `score`. Predictions are lazy arrays
//! (chunked like X's rows), so they stream and run wherever X does.

use super::design::Design;
use super::family::{family, Family};
use super::objective::{Curvature, Objective, Outcome, Stop};
use super::penalty::{Penalty, Regularization};
use super::solvers;
use super::warm;
use crate::array::{Array, ChunkSpec, Operand};
use crate::error::{Error, Result};
use crate::runtime::Client;
use crate::ufunc::reduce_op::ReduceOp;
use crate::value::{Buffer, DType};

/// Which solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    Newton,
    Lbfgs,
    GradientDescent,
    ProximalGrad,
    Admm,
    /// Coordinate descent on the Gram matrix (gaussian only).
    CoordinateDescent,
}

impl Solver {
    pub const ALL: [Solver; 6] = [
        Solver::Newton,
        Solver::Lbfgs,
        Solver::GradientDescent,
        Solver::ProximalGrad,
        Solver::Admm,
        Solver::CoordinateDescent,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Solver::Newton => "newton",
            Solver::Lbfgs => "lbfgs",
            Solver::GradientDescent => "gradient_descent",
            Solver::ProximalGrad => "proximal_grad",
            Solver::Admm => "admm",
            Solver::CoordinateDescent => "cd",
        }
    }

    pub fn parse(name: &str) -> Result<Solver> {
        Solver::ALL
            .into_iter()
            .find(|s| s.name() == name || (name == "newton-cholesky" && *s == Solver::Newton))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown solver {name:?} (newton, lbfgs, gradient_descent, proximal_grad, admm, cd)"
                ))
            })
    }
}

/// How to fit. `c` and `lambda` are the same strength in scikit-learn's and dask-glm's
/// terms (`C = 1/λ`, see `penalty`); give at most one.
#[derive(Debug, Clone)]
pub struct Options {
    pub penalty: Penalty,
    pub c: Option<f64>,
    pub lambda: Option<f64>,
    pub solver: Solver,
    /// Largest KKT residual (the gradient's largest entry without L1) of the mean objective
    /// accepted as converged.
    pub tol: f64,
    pub max_iter: usize,
    pub fit_intercept: bool,
    /// newton and lbfgs on many rows first solve a sample (one row tile in `k` of every
    /// block) and start from its minimiser (see `glm::warm`): `None` chooses `k` from the
    /// data's size (no sample below ~800,000 rows), `Some(1)` turns the sample off. The
    /// result is the same optimum either way, to `tol`.
    pub sample_stride: Option<usize>,
}

impl Options {
    /// scikit-learn's `LogisticRegression()` defaults: L2 with `C = 1`, lbfgs, `tol = 1e-4`.
    pub fn logistic() -> Options {
        Options {
            penalty: Penalty::L2,
            c: None,
            lambda: None,
            solver: Solver::Lbfgs,
            tol: 1e-4,
            max_iter: 100,
            fit_intercept: true,
            sample_stride: None,
        }
    }

    /// An unpenalised fit (`LinearRegression()`, and Poisson regression by default here).
    pub fn unpenalised() -> Options {
        Options {
            penalty: Penalty::None,
            ..Options::logistic()
        }
    }

    fn check(&self) -> Result<()> {
        if self.tol.is_nan() || self.tol <= 0.0 {
            return Err(Error::invalid(format!(
                "tol must be positive, not {}",
                self.tol
            )));
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("max_iter must be at least 1"));
        }
        if !self.penalty.is_smooth()
            && !matches!(
                self.solver,
                Solver::ProximalGrad | Solver::Admm | Solver::CoordinateDescent
            )
        {
            return Err(Error::invalid(format!(
                "solver {} does not take an L1 penalty ({:?}); use proximal_grad or admm \
                 (or cd for the gaussian family)",
                self.solver.name(),
                self.penalty
            )));
        }
        Ok(())
    }
}

/// How a fit went.
#[derive(Debug, Clone)]
pub struct FitInfo {
    pub n_iter: usize,
    /// The objective on the mean scale, `(Σ sᵢ lossᵢ + λ R(β)) / Σ sᵢ`, at the result.
    pub objective: f64,
    pub converged: bool,
    /// The KKT residual at the result (≤ `tol` when converged).
    pub kkt_residual: f64,
    /// Passes over the data (ADMM counts each round of block solves as one).
    pub passes: usize,
    /// Passes over the warm start's samples (each reads one row tile in `sample_stride`;
    /// stride 1: no sample was solved), and whether the solver started from the sample's
    /// minimiser (see `glm::warm::sample_start` for when it does not).
    pub sample_passes: usize,
    pub sample_stride: usize,
    pub sample_used: bool,
    pub solver: Solver,
}

/// The warm start's part of a fit, for `FitInfo`.
#[derive(Debug, Clone, Copy)]
struct Sampled {
    passes: usize,
    stride: usize,
    used: bool,
}

impl Default for Sampled {
    fn default() -> Self {
        Sampled {
            passes: 0,
            stride: 1,
            used: false,
        }
    }
}

/// A fitted generalized linear model.
#[derive(Debug, Clone)]
pub struct Glm {
    family: &'static dyn Family,
    /// Row-major `rows × p` (scikit-learn's `coef_`): one row for a regression or a binary
    /// classifier, one per class for a multinomial one.
    coef: Vec<f64>,
    /// One per row of `coef` (zeros without an intercept).
    intercept: Vec<f64>,
    n_features: usize,
    /// Classification: the labels in increasing order (binary: the second counted as 1).
    classes: Option<Vec<f64>>,
    info: FitInfo,
}

/// What a fit knows before its first solver step: the family, the persisted data and, for a
/// classifier, its classes.
struct Prepared {
    family: &'static dyn Family,
    design: Design,
    classes: Option<Vec<f64>>,
    /// The binary model's positive label, or the multinomial model's labels.
    positive: Option<f64>,
    labels: Vec<f64>,
}

impl Prepared {
    fn new(
        client: &Client,
        family_name: &str,
        x: &Array,
        y: &Array,
        sample_weight: Option<&Array>,
        options: &Options,
    ) -> Result<Prepared> {
        options.check()?;
        let fam = family(family_name)
            .ok_or_else(|| Error::invalid(format!("unknown family {family_name:?}")))?;
        let design = Design::new(client, x, y, sample_weight)?;
        let classes = if fam.name() == "binomial" {
            let labels = design.labels()?;
            if labels.len() < 2 {
                return Err(Error::invalid(format!(
                    "y has one class only ({}); a classifier needs two",
                    labels.first().copied().unwrap_or(f64::NAN)
                )));
            }
            Some(labels)
        } else {
            None
        };
        let multinomial = classes.as_ref().is_some_and(|c| c.len() > 2);
        if multinomial && matches!(options.solver, Solver::Newton | Solver::Admm) {
            return Err(Error::invalid(format!(
                "solver {} does not fit multinomial logistic regression ({} classes): its \
                 Newton systems would be (classes × columns)²; use lbfgs, gradient_descent or \
                 proximal_grad",
                options.solver.name(),
                classes.as_ref().map_or(0, |c| c.len())
            )));
        }
        let (positive, labels) = match &classes {
            Some(c) if multinomial => (None, c.clone()),
            Some(c) => (Some(c[1]), Vec::new()),
            None => (None, Vec::new()),
        };
        Ok(Prepared {
            family: fam,
            design,
            classes,
            positive,
            labels,
        })
    }

    fn objective(&self, options: &Options, reg: Regularization) -> Result<Objective<'_>> {
        Objective::new(
            &self.design,
            self.family,
            options.fit_intercept,
            self.positive,
            self.labels.clone(),
            reg,
        )
    }

    fn model(&self, options: &Options, out: Outcome, passes: usize, sample: Sampled) -> Glm {
        let p = self.design.n_cols;
        let q = p + options.fit_intercept as usize;
        let rows = out.beta.chunks_exact(q);
        Glm {
            family: self.family,
            intercept: rows
                .clone()
                .map(|r| if options.fit_intercept { r[p] } else { 0.0 })
                .collect(),
            coef: rows.flat_map(|r| r[..p].iter().copied()).collect(),
            n_features: p,
            classes: self.classes.clone(),
            info: FitInfo {
                n_iter: out.n_iter,
                objective: out.objective,
                converged: out.converged,
                kkt_residual: out.residual,
                passes,
                sample_passes: sample.passes,
                sample_stride: sample.stride,
                sample_used: sample.used,
                solver: options.solver,
            },
        }
    }
}

fn stop(options: &Options) -> Stop {
    Stop {
        tol: options.tol,
        max_iter: options.max_iter,
    }
}

fn solve(solver: Solver, obj: &mut Objective, start: Vec<f64>, stop: Stop) -> Result<Outcome> {
    match solver {
        Solver::Newton => solvers::newton::solve(obj, start, stop),
        Solver::Lbfgs => solvers::lbfgs::solve(obj, start, stop),
        Solver::GradientDescent => solvers::gradient::solve(obj, start, stop),
        Solver::ProximalGrad => solvers::proximal::solve(obj, start, stop),
        Solver::Admm => solvers::admm::solve(obj, start, stop),
        Solver::CoordinateDescent => solvers::cd::solve(obj, start, stop),
    }
}

/// Fits `family` to the rows of X and y (weights optional). For `binomial`, y's distinct
/// values are the classes: two make a binary model (the second counted as 1), more a
/// multinomial (softmax) one, as scikit-learn's `LogisticRegression` does.
pub fn fit(
    client: &Client,
    family_name: &str,
    x: &Array,
    y: &Array,
    sample_weight: Option<&Array>,
    options: &Options,
) -> Result<Glm> {
    let reg = Regularization::new(options.penalty, options.c, options.lambda)?;
    let prep = Prepared::new(client, family_name, x, y, sample_weight, options)?;
    let mut obj = prep.objective(options, reg)?;
    let mut start = vec![0.0; obj.len()];
    let mut sampled = Sampled::default();
    let mut curvature = Curvature::new();
    let stride = options
        .sample_stride
        .unwrap_or_else(|| warm::auto_stride(prep.design.n_rows, obj.len()));
    if matches!(options.solver, Solver::Newton | Solver::Lbfgs) && stride > 1 {
        let solver = options.solver;
        let run = |o: &mut Objective, b: Vec<f64>, s: Stop| solve(solver, o, b, s);
        let w = warm::sample_start(&obj, stride, &start, stop(options), run);
        sampled = Sampled {
            passes: w.passes,
            stride,
            used: w.beta.is_some(),
        };
        if let Some(b) = w.beta {
            (start, curvature) = (b, w.curvature);
        }
    }
    let out = match options.solver {
        Solver::Lbfgs => solvers::lbfgs::solve_from(&mut obj, start, curvature, stop(options))?,
        s => solve(s, &mut obj, start, stop(options))?,
    };
    let passes = obj.passes;
    Ok(prep.model(options, out, passes, sampled))
}

/// Fits one model per penalty strength in `lambdas` (dask-glm's `λ`; give them decreasing,
/// as scikit-learn's `lasso_path` does), each started from the previous one's coefficients,
/// with X persisted once. With solver `cd` (gaussian) the data is read once for the whole
/// path. `options.c` and `options.lambda` must be unset.
pub fn fit_path(
    client: &Client,
    family_name: &str,
    x: &Array,
    y: &Array,
    sample_weight: Option<&Array>,
    options: &Options,
    lambdas: &[f64],
) -> Result<Vec<Glm>> {
    if options.c.is_some() || options.lambda.is_some() {
        return Err(Error::invalid(
            "a path takes its strengths from `lambdas`: leave C and lambda unset",
        ));
    }
    let regs = lambdas
        .iter()
        .map(|&l| Regularization::new(options.penalty, None, Some(l)))
        .collect::<Result<Vec<_>>>()?;
    let prep = Prepared::new(client, family_name, x, y, sample_weight, options)?;
    let mut models = Vec::with_capacity(regs.len());
    let mut start: Option<Vec<f64>> = None;
    // cd: the one pass's quadratic and the mean scale it learned.
    let mut quad: Option<(solvers::cd::Quadratic, f64)> = None;
    for reg in regs {
        let (out, passes) = if options.solver == Solver::CoordinateDescent {
            if quad.is_none() {
                let mut obj = prep.objective(options, reg)?;
                let q = solvers::cd::Quadratic::of(&mut obj)?;
                quad = Some((q, obj.scale));
            }
            let (q, scale) = quad.as_ref().expect("set above");
            let beta = start.take().unwrap_or_else(|| vec![0.0; q.len()]);
            let out = q.minimise(reg.l2() * scale, reg.l1() * scale, beta, stop(options));
            (out, usize::from(models.is_empty()))
        } else {
            let mut obj = prep.objective(options, reg)?;
            let beta = start.take().unwrap_or_else(|| vec![0.0; obj.len()]);
            let out = solve(options.solver, &mut obj, beta, stop(options))?;
            (out, obj.passes)
        };
        start = Some(out.beta.clone());
        models.push(prep.model(options, out, passes, Sampled::default()));
    }
    Ok(models)
}

/// The value of a float64 reduction to one element.
fn scalar_of(a: &Array, client: &Client) -> Result<f64> {
    let b = a.compute(client)?;
    b.as_slice::<f64>()?
        .first()
        .copied()
        .ok_or_else(|| Error::invalid("a reduction gave no value"))
}

fn ufunc(name: &str, args: &[Operand]) -> Result<Array> {
    Array::ufunc(name, args)?.into_array()
}

impl Glm {
    pub fn family(&self) -> &'static dyn Family {
        self.family
    }
    /// Row-major `rows × n_features`: one row for a regression or a binary classifier (the
    /// second class's log-odds), one per class for a multinomial classifier.
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }
    /// One intercept per row of `coef`.
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }
    /// Columns of X the model was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn info(&self) -> &FitInfo {
        &self.info
    }
    /// The class labels in increasing order (classification); for a binary model the second
    /// is the "positive" one.
    pub fn classes(&self) -> Option<&[f64]> {
        self.classes.as_deref()
    }

    fn check_x(&self, x: &Array) -> Result<()> {
        if x.ndim() != 2 || x.shape()[1] != self.n_features {
            return Err(Error::Shape(format!(
                "X has shape {:?}; the model was fitted on {} columns",
                x.shape(),
                self.n_features
            )));
        }
        Ok(())
    }

    /// Whether this is a multinomial classifier (one row of coefficients per class).
    fn multinomial(&self) -> bool {
        self.intercept.len() > 1
    }

    /// `X β + b` (n), or `X Wᵀ + b` (n × classes) for a multinomial model, lazily.
    pub fn decision_function(&self, x: &Array) -> Result<Array> {
        self.check_x(x)?;
        let (p, rows) = (self.n_features, self.intercept.len());
        let x = x.astype(DType::Float64);
        if !self.multinomial() {
            let coef = Array::from_buffer(
                &Buffer::from_vec(self.coef.clone(), &[p])?,
                &ChunkSpec::Regular(vec![p]),
            )?;
            return x.matmul(&coef)?.binary("add", self.intercept[0]);
        }
        // Wᵀ: p × classes.
        let mut wt = vec![0.0; p * rows];
        for (r, row) in self.coef.chunks_exact(p).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                wt[j * rows + r] = v;
            }
        }
        let wt = Array::from_buffer(
            &Buffer::from_vec(wt, &[p, rows])?,
            &ChunkSpec::Regular(vec![p, rows]),
        )?;
        let b = Array::from_buffer(
            &Buffer::from_vec(self.intercept.clone(), &[rows])?,
            &ChunkSpec::Regular(vec![rows]),
        )?;
        x.matmul(&wt)?.binary("add", &b)
    }

    /// The mean response: the probability of the second class (binary), the class
    /// probabilities (multinomial: n × classes, the softmax of the decision function), the
    /// prediction of a regression; lazily.
    pub fn mean(&self, x: &Array) -> Result<Array> {
        let eta = self.decision_function(x)?;
        if self.multinomial() {
            let top = eta.reduce(ReduceOp::Max, Some(&[1]), true, 8)?;
            let e = ufunc("subtract", &[(&eta).into(), (&top).into()])?.unary("exp")?;
            let total = e.reduce(ReduceOp::Sum, Some(&[1]), true, 8)?;
            return ufunc("divide", &[(&e).into(), (&total).into()]);
        }
        match self.family.name() {
            "binomial" => {
                let e = eta.unary("negative")?.unary("exp")?.binary("add", 1.0)?;
                ufunc("divide", &[1.0.into(), (&e).into()])
            }
            "poisson" => eta.unary("exp"),
            _ => Ok(eta),
        }
    }

    /// Class probabilities, n × classes (columns in the order of `classes`), for
    /// classifiers.
    pub fn predict_proba(&self, x: &Array) -> Result<Array> {
        if self.classes.is_none() {
            return Err(Error::invalid("predict_proba is for classifiers"));
        }
        if self.multinomial() {
            return self.mean(x);
        }
        let p1 = self.mean(x)?;
        let p0 = ufunc("subtract", &[1.0.into(), (&p1).into()])?;
        Array::stack(&[p0, p1], 1)
    }

    /// Labels (classifiers) or mean responses (regressions), lazily.
    pub fn predict(&self, x: &Array) -> Result<Array> {
        match self.classes.as_deref() {
            Some(&[c0, c1]) => {
                let eta = self.decision_function(x)?;
                let positive = eta.binary("greater", 0.0)?;
                Array::where_(&positive, c1, c0)
            }
            Some(labels) => {
                // The label of each row's largest score (the first on ties, as NumPy's
                // argmax): a one-hot row times the labels, exact since one term is nonzero.
                let k = labels.len();
                let best = self
                    .decision_function(x)?
                    .argmax(Some(1))?
                    .reshape(&[-1, 1])?;
                let codes = Array::arange(
                    0.0,
                    k as f64,
                    1.0,
                    DType::Int64,
                    &ChunkSpec::Regular(vec![k]),
                )?;
                let onehot = best.binary("equal", &codes)?.astype(DType::Float64);
                let values = Array::from_buffer(
                    &Buffer::from_vec(labels.to_vec(), &[k])?,
                    &ChunkSpec::Regular(vec![k]),
                )?;
                onehot.matmul(&values)
            }
            None => self.mean(x),
        }
    }

    /// Accuracy (classifiers), R² (gaussian) or D², the share of the null deviance
    /// explained (Poisson).
    pub fn score(&self, client: &Client, x: &Array, y: &Array) -> Result<f64> {
        if y.shape() != [x.shape()[0]] {
            return Err(Error::Shape(format!(
                "y has shape {:?}; X has {} rows",
                y.shape(),
                x.shape()[0]
            )));
        }
        let y = y.astype(DType::Float64);
        if self.classes.is_some() {
            let hit = self.predict(x)?.binary("equal", &y)?.astype(DType::Float64);
            return scalar_of(&hit.mean(None)?, client);
        }
        let mu = self.mean(x)?;
        let ybar = scalar_of(&y.mean(None)?, client)?;
        let dev = |m: Operand| -> Result<f64> {
            let d = match self.family.name() {
                "poisson" => {
                    // 2 (y log(y/μ) − (y − μ)), with y log y = 0 at y = 0.
                    let m_arr = match &m {
                        Operand::Array(a) => a.clone(),
                        Operand::Scalar(s) => {
                            y.binary("multiply", 0.0)?.binary("add", s.as_f64())?
                        }
                        _ => return Err(Error::invalid("unexpected operand")),
                    };
                    let ratio = ufunc("divide", &[(&y).into(), (&m_arr).into()])?;
                    let ylog = Array::where_(
                        &y.binary("greater", 0.0)?,
                        &ufunc("multiply", &[(&y).into(), (&ratio.unary("log")?).into()])?,
                        0.0,
                    )?;
                    let diff = ufunc("subtract", &[(&y).into(), (&m_arr).into()])?;
                    ufunc("subtract", &[(&ylog).into(), (&diff).into()])?.binary("multiply", 2.0)?
                }
                _ => ufunc("subtract", &[(&y).into(), m])?.unary("square")?,
            };
            scalar_of(&d.sum(None)?, client)
        };
        let resid = dev((&mu).into())?;
        let null = dev(ybar.into())?;
        Ok(1.0 - resid / null)
    }
}

/// scikit-learn's `LogisticRegression` (binary, or multinomial with more than two classes).
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    pub options: Options,
}

/// `LinearRegression` (with a penalty: ridge, lasso, elastic net).
#[derive(Debug, Clone)]
pub struct LinearRegression {
    pub options: Options,
}

/// Poisson regression (log link).
#[derive(Debug, Clone)]
pub struct PoissonRegression {
    pub options: Options,
}

impl Default for LogisticRegression {
    fn default() -> Self {
        LogisticRegression {
            options: Options::logistic(),
        }
    }
}

impl Default for LinearRegression {
    fn default() -> Self {
        LinearRegression {
            options: Options::unpenalised(),
        }
    }
}

impl Default for PoissonRegression {
    fn default() -> Self {
        PoissonRegression {
            options: Options::unpenalised(),
        }
    }
}

macro_rules! estimator {
    ($t:ty, $family:literal) => {
        impl $t {
            pub fn new(options: Options) -> Self {
                Self { options }
            }
            /// Fits the model to the rows of `x` (n × p) and `y` (n), with optional weights.
            pub fn fit(
                &self,
                client: &Client,
                x: &Array,
                y: &Array,
                sample_weight: Option<&Array>,
            ) -> Result<Glm> {
                fit(client, $family, x, y, sample_weight, &self.options)
            }
        }
    };
}

estimator!(LogisticRegression, "binomial");
estimator!(LinearRegression, "gaussian");
estimator!(PoissonRegression, "poisson");
