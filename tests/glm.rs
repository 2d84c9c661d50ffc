//! GLMs checked independently of the solvers: optimality conditions evaluated by plain
//! loops here (gradient, or the KKT conditions with L1), least squares and ridge against a
//! direct solve of their normal equations, all solvers against each other, weights against
//! repeated rows, and predictions against the formulas applied by hand.

#![allow(clippy::needless_range_loop)] // the reference side is written as plain index loops

mod common;

use common::{client, Rng};
use dask::array::{Array, ChunkSpec};
use dask::glm::{
    fit_path, LinearRegression, LogisticRegression, Options, Penalty, PoissonRegression, Solver,
};
use dask::Buffer;

/// Row-major data with its chunked arrays.
struct Data {
    x: Vec<f64>,
    y: Vec<f64>,
    n: usize,
    p: usize,
}

impl Data {
    fn arrays(&self, rows_per_block: usize) -> (Array, Array) {
        let xb = Buffer::from_vec(self.x.clone(), &[self.n, self.p]).unwrap();
        let yb = Buffer::from_vec(self.y.clone(), &[self.n]).unwrap();
        (
            Array::from_buffer(&xb, &ChunkSpec::Regular(vec![rows_per_block, self.p])).unwrap(),
            Array::from_buffer(&yb, &ChunkSpec::Regular(vec![rows_per_block])).unwrap(),
        )
    }

    fn row(&self, r: usize) -> &[f64] {
        &self.x[r * self.p..(r + 1) * self.p]
    }
}

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// n rows of p standard-ish features, the response drawn from `family` around known
/// coefficients.
fn make(family: &str, n: usize, p: usize, seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let beta: Vec<f64> = (0..p).map(|j| 0.5 - (j as f64) / p as f64).collect();
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| rng.float(-1.5, 1.5)).collect();
        let eta: f64 = 0.3 + row.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>();
        y.push(match family {
            "binomial" => rng.coin(sigmoid(eta)) as u8 as f64,
            "poisson" => {
                // Knuth's method: counts with mean exp(eta).
                let l = (-eta.exp()).exp();
                let (mut k, mut prod) = (0.0, rng.unit());
                while prod > l {
                    k += 1.0;
                    prod *= rng.unit();
                }
                k
            }
            _ => eta + rng.float(-0.5, 0.5),
        });
        x.extend(row);
    }
    Data { x, y, n, p }
}

/// The gradient of the mean objective's smooth part (loss + L2) at (coef, intercept), by a
/// plain loop over the rows.
fn plain_gradient(family: &str, d: &Data, coef: &[f64], b0: f64, l2_mean: f64) -> Vec<f64> {
    let mut g = vec![0.0; d.p + 1];
    for r in 0..d.n {
        let x = d.row(r);
        let eta = b0 + x.iter().zip(coef).map(|(a, b)| a * b).sum::<f64>();
        let mu = match family {
            "binomial" => sigmoid(eta),
            "poisson" => eta.exp(),
            _ => eta,
        };
        let res = mu - d.y[r];
        for j in 0..d.p {
            g[j] += res * x[j];
        }
        g[d.p] += res;
    }
    let n = d.n as f64;
    g.iter_mut().for_each(|v| *v /= n);
    for j in 0..d.p {
        g[j] += l2_mean * coef[j];
    }
    g
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn options(solver: Solver, penalty: Penalty, lambda: Option<f64>, tol: f64) -> Options {
    Options {
        penalty,
        c: None,
        lambda,
        solver,
        tol,
        max_iter: 5000,
        fit_intercept: true,
        sample_stride: None,
    }
}

/// Solves a small dense system by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, piv);
        b.swap(c, piv);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    x
}

/// Least squares with an intercept and a ridge weight `lambda` on the coefficients, from
/// the normal equations of the augmented design.
fn ridge_direct(d: &Data, lambda: f64) -> Vec<f64> {
    let q = d.p + 1;
    let mut a = vec![vec![0.0; q]; q];
    let mut b = vec![0.0; q];
    for r in 0..d.n {
        let mut z = d.row(r).to_vec();
        z.push(1.0);
        for i in 0..q {
            b[i] += z[i] * d.y[r];
            for j in 0..q {
                a[i][j] += z[i] * z[j];
            }
        }
    }
    for (j, row) in a.iter_mut().enumerate().take(d.p) {
        row[j] += lambda;
    }
    solve(a, b)
}

fn all_coefs(m: &dask::glm::Glm) -> Vec<f64> {
    let mut v = m.coef().to_vec();
    v.extend(m.intercept());
    v
}

#[test]
fn least_squares_equals_the_direct_solve_for_every_solver() {
    let d = make("gaussian", 3000, 5, 1);
    let (x, y) = d.arrays(700);
    let want = ridge_direct(&d, 0.0);
    for solver in Solver::ALL {
        let m = LinearRegression::new(options(solver, Penalty::None, None, 1e-9))
            .fit(client(), &x, &y, None)
            .unwrap();
        eprintln!("{solver:?}: {:?}", m.info());
        assert!(m.info().converged, "{solver:?}: {:?}", m.info());
        let got = all_coefs(&m);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{solver:?}: {got:?} vs {want:?}");
        }
    }
}

#[test]
fn ridge_equals_its_closed_form() {
    let d = make("gaussian", 2000, 4, 2);
    let (x, y) = d.arrays(512);
    let lambda = 150.0;
    let want = ridge_direct(&d, lambda);
    // ADMM converges linearly, to the accuracy of its block solves: a looser tol.
    for (solver, tol) in [
        (Solver::Newton, 1e-10),
        (Solver::Lbfgs, 1e-10),
        (Solver::Admm, 1e-8),
    ] {
        let m = LinearRegression::new(options(solver, Penalty::L2, Some(lambda), tol))
            .fit(client(), &x, &y, None)
            .unwrap();
        eprintln!("{solver:?}: {:?}", m.info());
        assert!(m.info().converged, "{solver:?}: {:?}", m.info());
        let got = all_coefs(&m);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{solver:?}: {got:?} vs {want:?}");
        }
    }
    // C is the inverse of lambda.
    let mut o = options(Solver::Newton, Penalty::L2, None, 1e-10);
    o.c = Some(1.0 / lambda);
    let m = LinearRegression::new(o)
        .fit(client(), &x, &y, None)
        .unwrap();
    assert!((all_coefs(&m)[0] - want[0]).abs() < 1e-6);
}

#[test]
fn logistic_fits_are_optimal_and_all_smooth_solvers_agree() {
    let d = make("binomial", 4000, 6, 3);
    let (x, y) = d.arrays(900);
    let lambda = 2.0;
    let l2_mean = lambda / d.n as f64;
    let mut first: Option<Vec<f64>> = None;
    // (cd is for least squares only.)
    for solver in Solver::ALL
        .into_iter()
        .filter(|&s| s != Solver::CoordinateDescent)
    {
        let tol = 1e-7;
        let m = LogisticRegression::new(options(solver, Penalty::L2, Some(lambda), tol))
            .fit(client(), &x, &y, None)
            .unwrap();
        eprintln!("{solver:?}: {:?}", m.info());
        assert!(m.info().converged, "{solver:?}: {:?}", m.info());
        let g = plain_gradient("binomial", &d, m.coef(), m.intercept()[0], l2_mean);
        assert!(max_abs(&g) < 2.0 * tol, "{solver:?}: gradient {g:?}");
        let got = all_coefs(&m);
        match &first {
            None => first = Some(got),
            Some(f) => {
                for (a, b) in got.iter().zip(f) {
                    assert!((a - b).abs() < 1e-4, "{solver:?}: {got:?} vs {f:?}");
                }
            }
        }
    }
}

#[test]
fn poisson_fits_are_optimal() {
    let d = make("poisson", 3000, 4, 4);
    let (x, y) = d.arrays(1000);
    for solver in [Solver::Newton, Solver::Lbfgs] {
        let m = PoissonRegression::new(options(solver, Penalty::None, None, 1e-8))
            .fit(client(), &x, &y, None)
            .unwrap();
        eprintln!("{solver:?}: {:?}", m.info());
        assert!(m.info().converged, "{solver:?}: {:?}", m.info());
        let g = plain_gradient("poisson", &d, m.coef(), m.intercept()[0], 0.0);
        assert!(max_abs(&g) < 2e-8, "{solver:?}: {g:?}");
    }
}

/// With L1: every zero coefficient's gradient lies within ±λ₁ and every non-zero one's
/// equals −λ₁·sign; the intercept's gradient is zero.
#[test]
fn lasso_and_elastic_net_meet_the_kkt_conditions() {
    let d = make("gaussian", 2500, 8, 5);
    let (x, y) = d.arrays(600);
    for (penalty, lambda) in [
        (Penalty::L1, 300.0),
        (Penalty::ElasticNet { l1_ratio: 0.5 }, 500.0),
    ] {
        for solver in [
            Solver::ProximalGrad,
            Solver::Admm,
            Solver::CoordinateDescent,
        ] {
            let tol = 1e-7;
            let m = LinearRegression::new(options(solver, penalty, Some(lambda), tol))
                .fit(client(), &x, &y, None)
                .unwrap();
            eprintln!("{solver:?} {penalty:?}: {:?}", m.info());
            assert!(m.info().converged, "{solver:?} {penalty:?}: {:?}", m.info());
            let a = match penalty {
                Penalty::ElasticNet { l1_ratio } => l1_ratio,
                _ => 1.0,
            };
            let n = d.n as f64;
            let (l1, l2) = (lambda * a / n, lambda * (1.0 - a) / n);
            let g = plain_gradient("gaussian", &d, m.coef(), m.intercept()[0], l2);
            for (j, &c) in m.coef().iter().enumerate() {
                let r = if c == 0.0 {
                    (g[j].abs() - l1).max(0.0)
                } else {
                    (g[j] + l1 * c.signum()).abs()
                };
                assert!(
                    r < 1e-6,
                    "{solver:?} {penalty:?}: coef {j} = {c}, gradient {}",
                    g[j]
                );
            }
            assert!(g[d.p].abs() < 1e-6);
            assert!(
                m.coef().contains(&0.0),
                "the L1 part zeroes something: {:?}",
                m.coef()
            );
        }
    }
}

#[test]
fn integer_weights_equal_repeated_rows() {
    let d = make("binomial", 800, 3, 6);
    let mut rng = Rng::new(9);
    let w: Vec<f64> = (0..d.n).map(|_| rng.below(3) as f64).collect();
    let mut rep = Data {
        x: vec![],
        y: vec![],
        n: 0,
        p: d.p,
    };
    for r in 0..d.n {
        for _ in 0..w[r] as usize {
            rep.x.extend_from_slice(d.row(r));
            rep.y.push(d.y[r]);
            rep.n += 1;
        }
    }
    let (x, y) = d.arrays(256);
    let wa = Array::from_buffer(
        &Buffer::from_vec(w, &[d.n]).unwrap(),
        &ChunkSpec::Regular(vec![100]),
    )
    .unwrap();
    let o = options(Solver::Newton, Penalty::None, None, 1e-10);
    let weighted = LogisticRegression::new(o.clone())
        .fit(client(), &x, &y, Some(&wa))
        .unwrap();
    let (xr, yr) = rep.arrays(333);
    let repeated = LogisticRegression::new(o)
        .fit(client(), &xr, &yr, None)
        .unwrap();
    for (a, b) in all_coefs(&weighted).iter().zip(&all_coefs(&repeated)) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }
}

#[test]
fn predictions_follow_the_fitted_coefficients() {
    let mut d = make("binomial", 1000, 3, 7);
    // Labels other than 0/1 are kept and mapped back.
    d.y.iter_mut()
        .for_each(|v| *v = if *v == 1.0 { 7.0 } else { -2.0 });
    let (x, y) = d.arrays(300);
    let m = LogisticRegression::default()
        .fit(client(), &x, &y, None)
        .unwrap();
    assert_eq!(m.classes(), Some(&[-2.0, 7.0][..]));
    let proba = m.predict_proba(&x).unwrap().compute(client()).unwrap();
    assert_eq!(proba.shape(), &[d.n, 2]);
    let proba = proba.as_slice::<f64>().unwrap();
    let labels = m.predict(&x).unwrap().compute(client()).unwrap();
    let labels = labels.as_slice::<f64>().unwrap();
    let mut hits = 0;
    for r in 0..d.n {
        let eta = m.intercept()[0]
            + d.row(r)
                .iter()
                .zip(m.coef())
                .map(|(a, b)| a * b)
                .sum::<f64>();
        let p1 = sigmoid(eta);
        assert!((proba[2 * r + 1] - p1).abs() < 1e-12);
        assert!((proba[2 * r] - (1.0 - p1)).abs() < 1e-12);
        let want = if eta > 0.0 { 7.0 } else { -2.0 };
        assert_eq!(labels[r], want);
        hits += (want == d.y[r]) as usize;
    }
    let acc = m.score(client(), &x, &y).unwrap();
    assert!((acc - hits as f64 / d.n as f64).abs() < 1e-12);

    let g = make("gaussian", 500, 2, 8);
    let (gx, gy) = g.arrays(128);
    let lm = LinearRegression::default()
        .fit(client(), &gx, &gy, None)
        .unwrap();
    let ybar = g.y.iter().sum::<f64>() / g.n as f64;
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for r in 0..g.n {
        let f = lm.intercept()[0]
            + g.row(r)
                .iter()
                .zip(lm.coef())
                .map(|(a, b)| a * b)
                .sum::<f64>();
        ss_res += (g.y[r] - f).powi(2);
        ss_tot += (g.y[r] - ybar).powi(2);
    }
    let r2 = lm.score(client(), &gx, &gy).unwrap();
    assert!((r2 - (1.0 - ss_res / ss_tot)).abs() < 1e-10, "{r2}");
}

#[test]
fn bad_input_is_refused_with_a_message_naming_it() {
    let mut d = make("gaussian", 300, 2, 10);
    d.x[2 * 150 + 1] = f64::NAN;
    let (x, y) = d.arrays(100);
    let e = LinearRegression::default()
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("X[150, 1] is NaN"), "{e}");

    let mut d = make("poisson", 300, 2, 11);
    d.y[42] = -1.0;
    let (x, y) = d.arrays(100);
    let e = PoissonRegression::default()
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(
        e.to_string().contains("y[42]") && e.to_string().contains("negative"),
        "{e}"
    );

    let mut d = make("binomial", 300, 2, 12);
    d.y.iter_mut().for_each(|v| *v = 1.0);
    let (x, y) = d.arrays(100);
    let e = LogisticRegression::default()
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("one class"), "{e}");

    let d = make("gaussian", 300, 2, 13);
    let (x, _) = d.arrays(100);
    let short = Array::from_buffer(
        &Buffer::from_vec(vec![0.0; 299], &[299]).unwrap(),
        &ChunkSpec::Regular(vec![100]),
    )
    .unwrap();
    let e = LinearRegression::default()
        .fit(client(), &x, &short, None)
        .unwrap_err();
    assert!(e.to_string().contains("(300,)"), "{e}");

    let (x, y) = d.arrays(100);
    let e = LinearRegression::new(options(Solver::Newton, Penalty::L1, Some(1.0), 1e-6))
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("proximal_grad"), "{e}");
    let mut o = options(Solver::Lbfgs, Penalty::L2, Some(1.0), 1e-6);
    o.c = Some(1.0);
    let e = LinearRegression::new(o)
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("not both"), "{e}");

    // Collinear columns without a penalty: newton names the fix.
    let mut d = make("gaussian", 200, 2, 14);
    for r in 0..d.n {
        d.x[r * 2 + 1] = 2.0 * d.x[r * 2];
    }
    let (x, y) = d.arrays(64);
    let e = LinearRegression::new(options(Solver::Newton, Penalty::None, None, 1e-8))
        .fit(client(), &x, &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("L2"), "{e}");
}

#[test]
fn not_converging_is_reported_not_raised() {
    let d = make("binomial", 1000, 4, 15);
    let (x, y) = d.arrays(250);
    let mut o = options(Solver::GradientDescent, Penalty::None, None, 1e-12);
    o.max_iter = 3;
    let m = LogisticRegression::new(o)
        .fit(client(), &x, &y, None)
        .unwrap();
    assert!(!m.info().converged);
    assert_eq!(m.info().n_iter, 3);
    assert!(m.info().kkt_residual > 1e-12);
}

/// n rows of p features and a label among `labels` drawn from the softmax of known class
/// scores.
fn make_multiclass(n: usize, p: usize, labels: &[f64], seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let k = labels.len();
    let w: Vec<f64> = (0..k * p)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    let (mut x, mut y) = (Vec::with_capacity(n * p), Vec::with_capacity(n));
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| rng.float(-1.5, 1.5)).collect();
        let s: Vec<f64> = (0..k)
            .map(|c| 0.1 * c as f64 + (0..p).map(|j| w[c * p + j] * row[j]).sum::<f64>())
            .collect();
        let total: f64 = s.iter().map(|v| v.exp()).sum();
        let mut u = rng.unit() * total;
        let mut pick = k - 1;
        for (c, v) in s.iter().enumerate() {
            u -= v.exp();
            if u <= 0.0 {
                pick = c;
                break;
            }
        }
        y.push(labels[pick]);
        x.extend(row);
    }
    Data { x, y, n, p }
}

/// The softmax probabilities of row `r` under `coef` (classes × p) and `b` (classes).
fn plain_softmax(d: &Data, r: usize, coef: &[f64], b: &[f64]) -> Vec<f64> {
    let k = b.len();
    let s: Vec<f64> = (0..k)
        .map(|c| {
            b[c] + (0..d.p)
                .map(|j| coef[c * d.p + j] * d.row(r)[j])
                .sum::<f64>()
        })
        .collect();
    let top = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = s.iter().map(|v| (v - top).exp()).sum();
    s.iter().map(|v| (v - top).exp() / total).collect()
}

/// The gradient of the mean multinomial objective (cross-entropy + L2 on the coefficients)
/// in every coefficient and intercept, by plain loops.
fn plain_multinomial_gradient(
    d: &Data,
    labels: &[f64],
    coef: &[f64],
    b: &[f64],
    l2_mean: f64,
) -> Vec<f64> {
    let k = labels.len();
    let mut g = vec![0.0; k * (d.p + 1)];
    for r in 0..d.n {
        let pr = plain_softmax(d, r, coef, b);
        for c in 0..k {
            let res = pr[c] - (labels[c] == d.y[r]) as u8 as f64;
            for j in 0..d.p {
                g[c * d.p + j] += res * d.row(r)[j];
            }
            g[k * d.p + c] += res;
        }
    }
    g.iter_mut().for_each(|v| *v /= d.n as f64);
    for i in 0..k * d.p {
        g[i] += l2_mean * coef[i];
    }
    g
}

#[test]
fn multinomial_fits_are_optimal_and_predict_by_the_softmax() {
    let labels = [-1.0, 0.5, 2.0, 7.0];
    let d = make_multiclass(1500, 3, &labels, 21);
    let (x, y) = d.arrays(400);
    let lambda = 2.0;
    let mut fits = Vec::new();
    for solver in [Solver::Lbfgs, Solver::GradientDescent, Solver::ProximalGrad] {
        let m = LogisticRegression::new(options(solver, Penalty::L2, Some(lambda), 1e-8))
            .fit(client(), &x, &y, None)
            .unwrap();
        assert!(m.info().converged, "{solver:?}: {:?}", m.info());
        assert_eq!(m.classes(), Some(&labels[..]));
        assert_eq!((m.coef().len(), m.intercept().len()), (12, 4));
        let g = plain_multinomial_gradient(&d, &labels, m.coef(), m.intercept(), lambda / 1500.0);
        assert!(max_abs(&g) < 1e-6, "{solver:?}: gradient {g:?}");
        fits.push(all_coefs(&m));
    }
    for f in &fits[1..] {
        for (a, b) in f.iter().zip(&fits[0]) {
            assert!((a - b).abs() < 1e-4, "{f:?} vs {:?}", fits[0]);
        }
    }

    // Unpenalised: still a stationary point of the cross-entropy.
    let m = LogisticRegression::new(options(Solver::Lbfgs, Penalty::None, None, 1e-7))
        .fit(client(), &x, &y, None)
        .unwrap();
    let g = plain_multinomial_gradient(&d, &labels, m.coef(), m.intercept(), 0.0);
    assert!(max_abs(&g) < 1e-6, "gradient {g:?}");

    // Predictions, row by row from the fitted coefficients.
    let proba = m.predict_proba(&x).unwrap().compute(client()).unwrap();
    assert_eq!(proba.shape(), &[d.n, 4]);
    let proba = proba.as_slice::<f64>().unwrap();
    let scores = m.decision_function(&x).unwrap().compute(client()).unwrap();
    assert_eq!(scores.shape(), &[d.n, 4]);
    let pred = m.predict(&x).unwrap().compute(client()).unwrap();
    let pred = pred.as_slice::<f64>().unwrap();
    let mut hits = 0;
    for r in 0..d.n {
        let want = plain_softmax(&d, r, m.coef(), m.intercept());
        for c in 0..4 {
            assert!((proba[r * 4 + c] - want[c]).abs() < 1e-12, "row {r}");
        }
        let best = (0..4)
            .max_by(|&a, &b| want[a].total_cmp(&want[b]).then(b.cmp(&a)))
            .unwrap();
        assert_eq!(pred[r], labels[best], "row {r}");
        hits += (labels[best] == d.y[r]) as usize;
    }
    let acc = m.score(client(), &x, &y).unwrap();
    assert!((acc - hits as f64 / d.n as f64).abs() < 1e-12);
    assert!(acc > 0.4, "accuracy {acc}");

    // L1 through proximal gradient: the KKT conditions hold for every class's block.
    let l1 = 30.0;
    let m = LogisticRegression::new(options(Solver::ProximalGrad, Penalty::L1, Some(l1), 1e-8))
        .fit(client(), &x, &y, None)
        .unwrap();
    assert!(m.info().converged, "{:?}", m.info());
    let g = plain_multinomial_gradient(&d, &labels, m.coef(), m.intercept(), 0.0);
    let t = l1 / d.n as f64;
    for (i, &c) in m.coef().iter().enumerate() {
        let r = if c != 0.0 {
            (g[i] + t * c.signum()).abs()
        } else {
            (g[i].abs() - t).max(0.0)
        };
        assert!(r < 1e-6, "coef {i} = {c}: KKT residual {r}");
    }
    assert!(
        max_abs(&g[12..]) < 1e-6,
        "intercepts' gradient {:?}",
        &g[12..]
    );
    assert!(
        m.coef().contains(&0.0),
        "L1 zeroes some coefficient: {:?}",
        m.coef()
    );

    for solver in [Solver::Newton, Solver::Admm] {
        let e = LogisticRegression::new(options(solver, Penalty::L2, Some(1.0), 1e-6))
            .fit(client(), &x, &y, None)
            .unwrap_err();
        assert!(e.to_string().contains("lbfgs"), "{e}");
    }
}

/// X as a lazily transposed array (how a column-major host matrix arrives: its blocks are
/// strided) fits the same model as the row-major one; -0 and 0 are one label.
#[test]
fn strided_x_and_signed_zero_labels() {
    let mut d = make("binomial", 600, 3, 31);
    let (x, y) = d.arrays(200);
    let mut xt = vec![0.0; d.n * d.p];
    for r in 0..d.n {
        for j in 0..d.p {
            xt[j * d.n + r] = d.x[r * d.p + j];
        }
    }
    let strided = Array::from_buffer(
        &Buffer::from_vec(xt, &[d.p, d.n]).unwrap(),
        &ChunkSpec::Regular(vec![d.p, 200]),
    )
    .unwrap()
    .transpose(&[1, 0])
    .unwrap();
    let o = || options(Solver::Newton, Penalty::L2, Some(1.0), 1e-10);
    let want = LogisticRegression::new(o())
        .fit(client(), &x, &y, None)
        .unwrap();
    let got = LogisticRegression::new(o())
        .fit(client(), &strided, &y, None)
        .unwrap();
    for (a, b) in all_coefs(&got).iter().zip(all_coefs(&want)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // Persisted by the caller: its blocks are used as they are (strided ones are read
    // through a row-major copy per pass).
    let persisted = strided.persist(client()).unwrap();
    let got = LogisticRegression::new(o())
        .fit(client(), &persisted, &y, None)
        .unwrap();
    for (a, b) in all_coefs(&got).iter().zip(all_coefs(&want)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    d.y.iter_mut().step_by(2).for_each(|v| {
        if *v == 0.0 {
            *v = -0.0
        }
    });
    let (_, y) = d.arrays(200);
    let m = LogisticRegression::new(o())
        .fit(client(), &x, &y, None)
        .unwrap();
    assert_eq!(m.classes(), Some(&[0.0, 1.0][..]));
}

/// A sparse X (chunked COO blocks) fits the same models as its dense twin, with every
/// family, newton's Hessian included, multinomial and L1; predictions on it agree, and a
/// NaN among its stored entries is named by position.
#[test]
fn sparse_x_fits_as_its_dense_twin() {
    let mut rng = Rng::new(41);
    for (family, solver, penalty, lambda) in [
        ("binomial", Solver::Newton, Penalty::L2, Some(1.0)),
        ("poisson", Solver::Newton, Penalty::None, None),
        ("gaussian", Solver::Lbfgs, Penalty::L2, Some(5.0)),
        ("gaussian", Solver::ProximalGrad, Penalty::L1, Some(20.0)),
        ("gaussian", Solver::Admm, Penalty::L1, Some(20.0)),
    ] {
        let mut d = make(family, 900, 6, 42);
        d.x.iter_mut().for_each(|v| {
            if rng.unit() < 0.7 {
                *v = 0.0
            }
        });
        let (x, y) = d.arrays(256);
        let sx = x.to_sparse(0.0);
        assert!(sx.is_sparse());
        let tol = if solver == Solver::Newton || solver == Solver::Lbfgs {
            1e-10
        } else {
            1e-8
        };
        let o = options(solver, penalty, lambda, tol);
        let dense = dask::glm::fit(client(), family, &x, &y, None, &o).unwrap();
        let sparse = dask::glm::fit(client(), family, &sx, &y, None, &o).unwrap();
        for (a, b) in all_coefs(&sparse).iter().zip(all_coefs(&dense)) {
            assert!((a - b).abs() < 1e-6, "{family} {solver:?}: {a} vs {b}");
        }
        let pd = dense.predict(&x).unwrap().compute(client()).unwrap();
        let ps = sparse.predict(&sx).unwrap().compute(client()).unwrap();
        for (a, b) in ps
            .as_slice::<f64>()
            .unwrap()
            .iter()
            .zip(pd.as_slice::<f64>().unwrap())
        {
            assert!(
                (a - b).abs() < 1e-6 * (1.0 + b.abs()),
                "{family}: {a} vs {b}"
            );
        }
    }

    let labels = [0.0, 1.0, 2.0];
    let mut d = make_multiclass(900, 4, &labels, 43);
    d.x.iter_mut().for_each(|v| {
        if rng.unit() < 0.6 {
            *v = 0.0
        }
    });
    let (x, y) = d.arrays(300);
    let o = options(Solver::Lbfgs, Penalty::L2, Some(2.0), 1e-10);
    let dense = LogisticRegression::new(o.clone())
        .fit(client(), &x, &y, None)
        .unwrap();
    let sparse = LogisticRegression::new(o)
        .fit(client(), &x.to_sparse(0.0), &y, None)
        .unwrap();
    for (a, b) in all_coefs(&sparse).iter().zip(all_coefs(&dense)) {
        assert!((a - b).abs() < 1e-6, "multinomial: {a} vs {b}");
    }
    let g = plain_multinomial_gradient(&d, &labels, sparse.coef(), sparse.intercept(), 2.0 / 900.0);
    assert!(max_abs(&g) < 1e-8, "gradient {g:?}");

    d.x[5 * 4 + 2] = f64::NAN;
    let (x, y) = d.arrays(300);
    let e = LogisticRegression::default()
        .fit(client(), &x.to_sparse(0.0), &y, None)
        .unwrap_err();
    assert!(e.to_string().contains("X[5, 2] is NaN"), "{e}");
}

/// A path of decreasing penalties, each fit warm-started from the last: every model equals
/// an independent fit at its strength; with cd the data is read once for the whole path.
#[test]
fn penalty_paths_equal_independent_fits() {
    let d = make("gaussian", 2000, 10, 51);
    let (x, y) = d.arrays(500);
    let lambdas = [800.0, 400.0, 200.0, 100.0, 50.0, 10.0];
    for (solver, penalty) in [
        (Solver::CoordinateDescent, Penalty::L1),
        (
            Solver::CoordinateDescent,
            Penalty::ElasticNet { l1_ratio: 0.7 },
        ),
        (Solver::ProximalGrad, Penalty::L1),
    ] {
        // Each model against a fit by the other solver (first-order steps stop near 1e-7).
        let (tol, other) = match solver {
            Solver::CoordinateDescent => (1e-9, Solver::ProximalGrad),
            _ => (1e-7, Solver::CoordinateDescent),
        };
        let o = options(solver, penalty, None, tol);
        let path = fit_path(client(), "gaussian", &x, &y, None, &o, &lambdas).unwrap();
        assert_eq!(path.len(), lambdas.len());
        if solver == Solver::CoordinateDescent {
            let passes: usize = path.iter().map(|m| m.info().passes).sum();
            assert_eq!(passes, 1, "one pass for the whole path");
        }
        let zeros: Vec<usize> = path
            .iter()
            .map(|m| m.coef().iter().filter(|c| **c == 0.0).count())
            .collect();
        assert!(
            zeros[0] > zeros[lambdas.len() - 1],
            "zeros along the path: {zeros:?}"
        );
        for (m, &l) in path.iter().zip(&lambdas) {
            assert!(m.info().converged, "{solver:?} λ {l}: {:?}", m.info());
            let alone = LinearRegression::new(Options {
                lambda: Some(l),
                solver: other,
                tol: 1e-7,
                ..o.clone()
            })
            .fit(client(), &x, &y, None)
            .unwrap();
            assert!(
                alone.info().converged,
                "{other:?} λ {l}: {:?}",
                alone.info()
            );
            for (a, b) in all_coefs(m).iter().zip(all_coefs(&alone)) {
                assert!((a - b).abs() < 1e-5, "{solver:?} λ {l}: {a} vs {b}");
            }
        }
    }
    // Ridge by cd equals the closed form; cd is for the gaussian family only.
    let m = LinearRegression::new(options(
        Solver::CoordinateDescent,
        Penalty::L2,
        Some(30.0),
        1e-11,
    ))
    .fit(client(), &x, &y, None)
    .unwrap();
    for (a, b) in all_coefs(&m).iter().zip(ridge_direct(&d, 30.0)) {
        assert!((a - b).abs() < 1e-8, "{a} vs {b}");
    }
    let b = make("binomial", 300, 2, 52);
    let (bx, by) = b.arrays(100);
    let e = LogisticRegression::new(options(
        Solver::CoordinateDescent,
        Penalty::L2,
        Some(1.0),
        1e-6,
    ))
    .fit(client(), &bx, &by, None)
    .unwrap_err();
    assert!(e.to_string().contains("gaussian"), "{e}");
    let mut o = options(Solver::CoordinateDescent, Penalty::L1, Some(1.0), 1e-6);
    let e = fit_path(client(), "gaussian", &x, &y, None, &o, &lambdas).unwrap_err();
    assert!(e.to_string().contains("lambdas"), "{e}");
    o.lambda = None;
    assert_eq!(
        fit_path(client(), "gaussian", &x, &y, None, &o, &[])
            .unwrap()
            .len(),
        0
    );
}

fn sampled(o: &Options, stride: usize) -> Options {
    Options {
        sample_stride: Some(stride),
        ..o.clone()
    }
}

/// newton and lbfgs started from a sample's minimiser (one row tile in 8) reach the optimum a
/// cold start reaches, checked by the plain gradient, in no more passes over all the rows:
/// binary, Poisson, least squares, multinomial, sparse X, and rows sorted by class.
#[test]
fn sample_warm_starts_reach_the_same_optimum() {
    let mut rng = Rng::new(61);
    let mut sparse = make("binomial", 40_000, 6, 62);
    sparse.x.iter_mut().for_each(|v| {
        if rng.unit() < 0.7 {
            *v = 0.0
        }
    });
    let mut sorted = make("binomial", 40_000, 6, 63);
    let mut order: Vec<usize> = (0..sorted.n).collect();
    order.sort_by(|&a, &b| sorted.y[a].total_cmp(&sorted.y[b]));
    sorted = Data {
        x: order.iter().flat_map(|&r| sorted.row(r).to_vec()).collect(),
        y: order.iter().map(|&r| sorted.y[r]).collect(),
        ..sorted
    };
    let tol = 1e-9;
    let cases = [
        (
            "binomial",
            Solver::Newton,
            Penalty::L2,
            Some(1.0),
            make("binomial", 40_000, 6, 64),
            false,
        ),
        (
            "binomial",
            Solver::Lbfgs,
            Penalty::None,
            None,
            make("binomial", 40_000, 6, 65),
            false,
        ),
        (
            "poisson",
            Solver::Newton,
            Penalty::None,
            None,
            make("poisson", 40_000, 6, 66),
            false,
        ),
        (
            "gaussian",
            Solver::Lbfgs,
            Penalty::L2,
            Some(3.0),
            make("gaussian", 40_000, 6, 67),
            false,
        ),
        (
            "binomial",
            Solver::Lbfgs,
            Penalty::L2,
            Some(1.0),
            sparse,
            true,
        ),
        (
            "binomial",
            Solver::Newton,
            Penalty::None,
            None,
            sorted,
            false,
        ),
    ];
    for (family, solver, penalty, lambda, d, is_sparse) in cases {
        let (x, y) = d.arrays(16_384);
        let x = if is_sparse { x.to_sparse(0.0) } else { x };
        let o = options(solver, penalty, lambda, tol);
        let cold = dask::glm::fit(client(), family, &x, &y, None, &sampled(&o, 1)).unwrap();
        let warm = dask::glm::fit(client(), family, &x, &y, None, &sampled(&o, 8)).unwrap();
        let (ci, wi) = (cold.info(), warm.info());
        eprintln!("{family} {solver:?}: cold {ci:?}\n  warm {wi:?}");
        assert!(ci.converged && wi.converged, "{family} {solver:?}");
        assert!(wi.sample_used && wi.sample_stride == 8 && wi.sample_passes > 0);
        assert!(!ci.sample_used && ci.sample_stride == 1 && ci.sample_passes == 0);
        assert!(
            wi.passes <= ci.passes,
            "{family} {solver:?}: {wi:?} vs {ci:?}"
        );
        let l2_mean = lambda.unwrap_or(0.0) / d.n as f64;
        let g = plain_gradient(family, &d, warm.coef(), warm.intercept()[0], l2_mean);
        assert!(
            max_abs(&g) < 4.0 * tol,
            "{family} {solver:?}: gradient {g:?}"
        );
        for (a, b) in all_coefs(&warm).iter().zip(all_coefs(&cold)) {
            assert!((a - b).abs() < 1e-6, "{family} {solver:?}: {a} vs {b}");
        }
    }

    let labels = [0.0, 1.0, 2.0];
    let d = make_multiclass(40_000, 4, &labels, 68);
    let (x, y) = d.arrays(16_384);
    let o = options(Solver::Lbfgs, Penalty::L2, Some(2.0), tol);
    let cold = LogisticRegression::new(sampled(&o, 1))
        .fit(client(), &x, &y, None)
        .unwrap();
    let warm = LogisticRegression::new(sampled(&o, 8))
        .fit(client(), &x, &y, None)
        .unwrap();
    eprintln!(
        "multinomial: cold {:?}\n  warm {:?}",
        cold.info(),
        warm.info()
    );
    assert!(warm.info().converged && warm.info().sample_used);
    let g =
        plain_multinomial_gradient(&d, &labels, warm.coef(), warm.intercept(), 2.0 / d.n as f64);
    assert!(max_abs(&g) < 4.0 * tol, "multinomial gradient {g:?}");
    for (a, b) in all_coefs(&warm).iter().zip(all_coefs(&cold)) {
        assert!((a - b).abs() < 1e-6, "multinomial: {a} vs {b}");
    }
}

/// A sample that is separable while the whole data is not (its minimiser is at infinity, or
/// far out where the other rows' loss is huge) is not used as a start; the fit is still the
/// optimum.
#[test]
fn a_misleading_sample_is_not_used() {
    let mut rng = Rng::new(71);
    let (n, p, tile) = (20_000, 2, 2048);
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for r in 0..n {
        let x0 = rng.float(0.5, 1.5) * if rng.coin(0.5) { 1.0 } else { -1.0 };
        let x1 = rng.float(-1.0, 1.0);
        // Blocks of 16,384 rows: the sample's tiles (0, 8, 16, … of each block) are
        // separated by the sign of x0; every other row is a noisy draw.
        let in_sample = ((r % 16_384) / tile) % 8 == 0;
        y.push(if in_sample {
            (x0 > 0.0) as u8 as f64
        } else {
            rng.coin(sigmoid(0.5 * x0 + 0.2 * x1)) as u8 as f64
        });
        x.extend([x0, x1]);
    }
    let d = Data { x, y, n, p };
    let (xa, ya) = d.arrays(16_384);
    for solver in [Solver::Newton, Solver::Lbfgs] {
        let o = sampled(&options(solver, Penalty::None, None, 1e-9), 8);
        let m = LogisticRegression::new(o)
            .fit(client(), &xa, &ya, None)
            .unwrap();
        eprintln!("{solver:?}: {:?}", m.info());
        assert!(m.info().converged, "{solver:?}");
        assert!(!m.info().sample_used, "{solver:?}: {:?}", m.info());
        let g = plain_gradient("binomial", &d, m.coef(), m.intercept()[0], 0.0);
        assert!(max_abs(&g) < 4e-9, "{solver:?}: gradient {g:?}");
    }
}
