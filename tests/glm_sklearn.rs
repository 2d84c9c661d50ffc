//! GLM coefficients against scikit-learn's on a committed fixture (tests/glm_sklearn: the
//! data as CSV, scikit-learn's fitted coefficients in expected.csv, and make_fixture.py,
//! the script that made them): logistic (L2, none, L1), multinomial, Poisson, least
//! squares, ridge, lasso and elastic net, each with every solver that takes it.

mod common;

use common::client;
use dask::array::{Array, ChunkSpec};
use dask::glm::{fit, Options, Penalty, Solver};
use dask::Buffer;
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/glm_sklearn");

/// A CSV of numbers with a header: its header and rows.
fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(format!("{DIR}/{name}"))
        .unwrap_or_else(|e| panic!("{DIR}/{name}: {e}"));
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// X (n × p) and y of a data set, as arrays in blocks of 128 rows.
fn data(name: &str) -> (Array, Array) {
    let (header, rows) = read_csv(&format!("{name}.csv"));
    let p = header.len() - 1;
    let n = rows.len();
    let num = |s: &String| s.parse::<f64>().unwrap();
    let x: Vec<f64> = rows.iter().flat_map(|r| r[..p].iter().map(num)).collect();
    let y: Vec<f64> = rows.iter().map(|r| num(&r[p])).collect();
    (
        Array::from_buffer(
            &Buffer::from_vec(x, &[n, p]).unwrap(),
            &ChunkSpec::Regular(vec![128, p]),
        )
        .unwrap(),
        Array::from_buffer(
            &Buffer::from_vec(y, &[n]).unwrap(),
            &ChunkSpec::Regular(vec![128]),
        )
        .unwrap(),
    )
}

struct Case {
    data: String,
    family: String,
    penalty: Penalty,
    lambda: f64,
    /// One row per coefficient row: intercept then coefficients.
    rows: Vec<Vec<f64>>,
}

fn cases() -> BTreeMap<String, Case> {
    let (header, rows) = read_csv("expected.csv");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut out: BTreeMap<String, Case> = BTreeMap::new();
    for r in rows {
        let num = |i: usize| r[i].parse::<f64>().unwrap();
        let l1_ratio = num(col("l1_ratio"));
        let case = out.entry(r[col("case")].clone()).or_insert_with(|| Case {
            data: r[col("data")].clone(),
            family: r[col("family")].clone(),
            penalty: Penalty::parse(&r[col("penalty")], l1_ratio).unwrap(),
            lambda: num(col("lambda")),
            rows: Vec::new(),
        });
        case.rows
            .push((col("intercept")..header.len()).map(num).collect());
    }
    out
}

#[test]
fn coefficients_agree_with_scikit_learns() {
    let all = cases();
    assert_eq!(all.len(), 9, "the fixture's cases");
    for (name, case) in &all {
        let (x, y) = data(&case.data);
        let multinomial = case.rows.len() > 1;
        let mut solvers = if !case.penalty.is_smooth() {
            vec![Solver::ProximalGrad, Solver::Admm]
        } else if multinomial {
            vec![Solver::Lbfgs, Solver::GradientDescent]
        } else {
            vec![Solver::Newton, Solver::Lbfgs]
        };
        if case.family == "gaussian" {
            solvers.push(Solver::CoordinateDescent);
        }
        for solver in solvers {
            let options = Options {
                penalty: case.penalty,
                c: None,
                lambda: (case.penalty != Penalty::None).then_some(case.lambda),
                solver,
                // First-order steps near the optimum compare objective values that differ
                // by less than their rounding: 1e-7 is their reachable floor here.
                tol: if matches!(
                    solver,
                    Solver::Newton | Solver::Lbfgs | Solver::CoordinateDescent
                ) {
                    1e-10
                } else {
                    1e-7
                },
                max_iter: 20_000,
                fit_intercept: true,
                sample_stride: None,
            };
            let m = fit(client(), &case.family, &x, &y, None, &options)
                .unwrap_or_else(|e| panic!("{name} with {solver:?}: {e}"));
            assert!(m.info().converged, "{name} {solver:?}: {:?}", m.info());
            let p = m.n_features();
            assert_eq!(m.intercept().len(), case.rows.len(), "{name}");
            for (r, want) in case.rows.iter().enumerate() {
                let got: Vec<f64> = std::iter::once(m.intercept()[r])
                    .chain(m.coef()[r * p..(r + 1) * p].iter().copied())
                    .collect();
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() < 2e-6 * (1.0 + w.abs()),
                        "{name} with {solver:?}, row {r}: {got:?} vs scikit-learn's {want:?}"
                    );
                }
            }
        }
    }
}
