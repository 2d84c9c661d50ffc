//! GLM fits against scikit-learn on the same data: logistic regression on 5,000,000 × 20
//! float64 with known coefficients, every solver, at the peer's tolerance, each with its
//! final objective; and (`multinomial`) 10-class softmax regression on 1,000,000 × 50. The
//! data is written to a file the peer script reads, so both fit the very same rows.
//!
//! Run: `cargo bench --features blas --bench glm [-- --data PATH] [SOLVER ...]`, then
//! `python benches/peers/glm_peer.py PATH` in a venv with scikit-learn (and dask-glm);
//! `cargo bench --features blas --bench glm -- multinomial [--data PATH]`, then
//! `python benches/peers/glm_peer.py --multinomial PATH`;
//! `cargo bench --features blas --bench glm -- lasso_path [--data PATH]` (1,000,000 × 100,
//! 10 penalties, warm starts), then `python benches/peers/glm_peer.py --lasso-path PATH`;
//! `cargo bench --features blas --bench glm -- out_of_core` (40,000,000 × 20 under a 2 GiB
//! memory limit: time, spilling and peak resident memory);
//! `cargo bench --features blas --bench glm -- sparse [--data PATH]` (1,000,000 × 1,000 with
//! 1% stored, chunked COO), then `python benches/peers/glm_peer.py --sparse PATH` (scipy CSR).

use dask::array::{Array, ChunkSpec};
use dask::glm::{LogisticRegression, Options, Penalty, Solver};
use dask::{Client, Config, DType};
use std::io::Write;
use std::time::Instant;

const N: usize = 5_000_000;
const P: usize = 20;
const ROWS: usize = 500_000;

/// Multinomial: rows, columns, classes.
const MN: usize = 1_000_000;
const MP: usize = 50;
const MK: usize = 10;

/// Sparse: rows, columns, the fraction of entries stored, rows per block.
const SN: usize = 1_000_000;
const SP: usize = 1_000;
const SDENSITY: f64 = 0.01;
const SROWS: usize = 100_000;

/// Logistic regression on a chunked sparse X (values uniform in (0, 1], 1% stored); y is
/// drawn from the model with coefficients in [-2, 2) by a plain loop over the stored entries.
/// The data file holds nnz, then rows, columns and values of the entries, then y (all
/// float64), what the peer turns into a scipy CSR matrix.
fn sparse(client: &Client, data: Option<&str>) {
    let x = Array::random_sparse(
        21,
        SDENSITY,
        &[SN, SP],
        &ChunkSpec::Regular(vec![SROWS, SP]),
    )
    .unwrap()
    .persist(client)
    .unwrap();
    let coo = x.compute_sparse(client).unwrap();
    let vals = coo.data().as_slice::<f64>().unwrap();
    let beta: Vec<f64> = (0..SP)
        .map(|j| (j * 7919 % 1000) as f64 / 250.0 - 2.0)
        .collect();
    let mut eta = vec![-0.5; SN];
    for (k, v) in vals.iter().enumerate() {
        eta[coo.coord(0, k) as usize] += v * beta[coo.coord(1, k) as usize];
    }
    let mut state = 0x853c_49e6_748f_ea9bu64;
    let y: Vec<f64> = eta
        .iter()
        .map(|e| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            (u < 1.0 / (1.0 + (-e).exp())) as u8 as f64
        })
        .collect();
    if let Some(path) = data {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut put = |v: f64| f.write_all(&v.to_le_bytes()).unwrap();
        put(coo.nnz() as f64);
        for axis in 0..2 {
            (0..coo.nnz()).for_each(|k| put(coo.coord(axis, k) as f64));
        }
        vals.iter().for_each(|&v| put(v));
        y.iter().for_each(|&v| put(v));
        println!("data written to {path} (nnz, rows, columns, values, y; float64)");
    }
    let y = Array::from_buffer(
        &dask::Buffer::from_vec(y, &[SN]).unwrap(),
        &ChunkSpec::Regular(vec![SROWS]),
    )
    .unwrap()
    .persist(client)
    .unwrap();
    println!(
        "sparse logistic regression {SN} x {SP}, {} stored ({:.0}%), C = 1, tol = 1e-6, {} threads:",
        coo.nnz(),
        100.0 * SDENSITY,
        client.threads()
    );
    for solver in [Solver::Lbfgs, Solver::Newton] {
        fit_c1(client, &x, &y, solver, 500);
    }
}

fn write_data(client: &Client, path: &str, arrays: &[&Array]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for a in arrays {
        let b = a.compute(client).unwrap();
        for v in b.as_slice::<f64>().unwrap() {
            f.write_all(&v.to_le_bytes()).unwrap();
        }
    }
    println!("data written to {path} (X row-major, then y; float64 little-endian)");
}

/// 10 classes: y is the argmax of `X Wᵀ` plus Gumbel noise, an exact draw from the softmax.
fn multinomial(client: &Client, data: Option<&str>) {
    let x = Array::random_normal(
        11,
        0.0,
        1.0,
        &[MN, MP],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS / 5, MP]),
    )
    .unwrap()
    .persist(client)
    .unwrap();
    let wt = Array::random_normal(
        12,
        0.0,
        0.3,
        &[MP, MK],
        DType::Float64,
        &ChunkSpec::Regular(vec![MP, MK]),
    )
    .unwrap();
    let u = Array::random_uniform(
        13,
        1e-300,
        1.0,
        &[MN, MK],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS / 5, MK]),
    )
    .unwrap();
    let gumbel = u
        .unary("log")
        .unwrap()
        .unary("negative")
        .unwrap()
        .unary("log")
        .unwrap()
        .unary("negative")
        .unwrap();
    let scores = x.matmul(&wt).unwrap();
    let noisy = Array::ufunc("add", &[(&scores).into(), (&gumbel).into()])
        .unwrap()
        .into_array()
        .unwrap();
    let y = noisy
        .argmax(Some(1))
        .unwrap()
        .astype(DType::Float64)
        .persist(client)
        .unwrap();
    if let Some(path) = data {
        write_data(client, path, &[&x, &y]);
    }
    println!(
        "multinomial logistic regression {MN} x {MP}, {MK} classes, C = 1, tol = 1e-6, {} threads:",
        client.threads()
    );
    for solver in [Solver::Lbfgs, Solver::ProximalGrad] {
        fit_c1(client, &x, &y, solver, 300);
    }
}

/// The lasso path's penalties on scikit-learn's mean scale (`alpha`; libdask's `λ = α n`).
const ALPHAS: [f64; 10] = [0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.001];

/// Least squares on centred data (no intercept, as `lasso_path` takes it): 1,000,000 × 100,
/// y from 10 nonzero coefficients plus noise; one fit per penalty, warm-started.
fn lasso_path(client: &Client, data: Option<&str>) {
    let (n, p) = (1_000_000, 100);
    let x = Array::random_normal(
        21,
        0.0,
        1.0,
        &[n, p],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS / 10, p]),
    )
    .unwrap()
    .persist(client)
    .unwrap();
    let beta: Vec<f64> = (0..p)
        .map(|j| {
            if j % 10 == 0 {
                1.0 - j as f64 / 100.0
            } else {
                0.0
            }
        })
        .collect();
    let beta = Array::from_buffer(
        &dask::Buffer::from_vec(beta, &[p]).unwrap(),
        &ChunkSpec::Regular(vec![p]),
    )
    .unwrap();
    let noise = Array::random_normal(
        22,
        0.0,
        1.0,
        &[n],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS / 10]),
    )
    .unwrap();
    let y = Array::ufunc(
        "add",
        &[(&x.matmul(&beta).unwrap()).into(), (&noise).into()],
    )
    .unwrap()
    .into_array()
    .unwrap()
    .persist(client)
    .unwrap();
    if let Some(path) = data {
        write_data(client, path, &[&x, &y]);
    }
    println!(
        "lasso path {n} x {p}, {} penalties, tol = 1e-6, {} threads:",
        ALPHAS.len(),
        client.threads()
    );
    let lambdas: Vec<f64> = ALPHAS.iter().map(|a| a * n as f64).collect();
    for solver in [Solver::CoordinateDescent, Solver::ProximalGrad] {
        let options = Options {
            penalty: Penalty::L1,
            c: None,
            lambda: None,
            solver,
            tol: 1e-6,
            max_iter: 1000,
            fit_intercept: false,
            sample_stride: sample_stride(),
        };
        let t0 = Instant::now();
        let path =
            dask::glm::fit_path(client, "gaussian", &x, &y, None, &options, &lambdas).unwrap();
        let t = t0.elapsed().as_secs_f64();
        let passes: usize = path.iter().map(|m| m.info().passes).sum();
        let nonzeros: Vec<usize> = path
            .iter()
            .map(|m| m.coef().iter().filter(|c| **c != 0.0).count())
            .collect();
        println!(
            "  {:<17} {:>7.3} s  passes {:>5}  converged {}  nonzeros {:?}",
            solver.name(),
            t,
            passes,
            path.iter().all(|m| m.info().converged),
            nonzeros
        );
        let objectives: Vec<String> = path
            .iter()
            .map(|m| format!("{:.8}", m.info().objective))
            .collect();
        println!("    objectives {}", objectives.join(" "));
    }
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Logistic regression on 40,000,000 × 20 (6.4 GB) with a 2 GiB memory limit: X is spilled
/// as it is persisted and read back for every pass.
fn out_of_core() {
    const LIMIT: usize = 2 << 30;
    let (n, p) = (40_000_000, 20);
    let client = Client::new(Config {
        memory: dask::memory::MemoryConfig {
            limit: Some(LIMIT),
            ..dask::memory::MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let x = Array::random_normal(
        31,
        0.0,
        1.0,
        &[n, p],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS, p]),
    )
    .unwrap();
    // X and y are made and persisted (spilling as they go) before the fit is timed, so the
    // fit's figure is the passes over spilled blocks, not the drawing of normal numbers.
    let t_made = Instant::now();
    let x = x.persist(&client).unwrap();
    let beta = Array::random_normal(
        32,
        0.0,
        0.5,
        &[p],
        DType::Float64,
        &ChunkSpec::Regular(vec![p]),
    )
    .unwrap();
    let e = x
        .matmul(&beta)
        .unwrap()
        .unary("negative")
        .unwrap()
        .unary("exp")
        .unwrap()
        .binary("add", 1.0)
        .unwrap();
    let prob = Array::ufunc("divide", &[1.0.into(), (&e).into()])
        .unwrap()
        .into_array()
        .unwrap();
    let u = Array::random_uniform(
        33,
        0.0,
        1.0,
        &[n],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS]),
    )
    .unwrap();
    let y = u
        .binary("less", &prob)
        .unwrap()
        .astype(DType::Float64)
        .persist(&client)
        .unwrap();
    let made = t_made.elapsed().as_secs_f64();
    println!(
        "logistic regression {n} x {p} ({:.1} GB) under a {} GiB limit, newton, C = 1e6, \
         tol = 1e-6, {} threads:",
        (n * p * 8) as f64 / 1e9,
        LIMIT >> 30,
        client.threads()
    );
    let options = Options {
        penalty: Penalty::L2,
        c: Some(1e6),
        lambda: None,
        solver: Solver::Newton,
        tol: 1e-6,
        max_iter: 100,
        fit_intercept: true,
        sample_stride: sample_stride(),
    };
    let t0 = Instant::now();
    let m = LogisticRegression::new(options)
        .fit(&client, &x, &y, None)
        .unwrap();
    report(Solver::Newton, t0.elapsed().as_secs_f64(), m.info());
    println!("  (X and y drawn and persisted before the fit: {made:.1} s)");
    let st = client.memory_stats();
    println!(
        "  {} spill files written ({:.1} GB), values moved out {} times ({:.1} GB), read back \
         {} times ({:.1} GB, {:.1} s); peak resident {:.2} GiB ({:.2}x the limit)",
        st.files_written,
        st.file_bytes_written as f64 / 1e9,
        st.spill_count,
        st.spill_bytes as f64 / 1e9,
        st.unspill_count,
        st.unspill_bytes as f64 / 1e9,
        st.unspill_nanos as f64 / 1e9,
        peak_rss() as f64 / (1u64 << 30) as f64,
        peak_rss() as f64 / LIMIT as f64
    );
}

/// An L2 logistic fit at C = 1, tol = 1e-6 (the sparse and multinomial cases), reported.
fn fit_c1(client: &Client, x: &Array, y: &Array, solver: Solver, max_iter: usize) {
    let options = Options {
        penalty: Penalty::L2,
        c: Some(1.0),
        lambda: None,
        solver,
        tol: 1e-6,
        max_iter,
        fit_intercept: true,
        sample_stride: sample_stride(),
    };
    let t0 = Instant::now();
    let m = LogisticRegression::new(options)
        .fit(client, x, y, None)
        .unwrap();
    report(solver, t0.elapsed().as_secs_f64(), m.info());
}

fn report(solver: Solver, t: f64, i: &dask::glm::FitInfo) {
    let sample = if i.sample_stride > 1 && i.sample_passes == 0 {
        "  (no sample solved: values on disk)".to_string()
    } else if i.sample_stride > 1 {
        format!(
            "  (+ {} passes over 1/{} of the rows first{})",
            i.sample_passes,
            i.sample_stride,
            if i.sample_used { "" } else { ", not used" }
        )
    } else {
        String::new()
    };
    println!(
        "  {:<17} {:>7.3} s  objective {:.10}  iterations {:>4}  passes {:>4}  converged {}{sample}",
        solver.name(),
        t,
        i.objective,
        i.n_iter,
        i.passes,
        i.converged
    );
}

/// `--sample-stride K`: the warm start's sample (1 = none; default: chosen by the library).
fn sample_stride() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--sample-stride")?;
    Some(
        args.get(at + 1)
            .and_then(|k| k.parse().ok())
            .expect("--sample-stride takes a whole number"),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = args
        .iter()
        .position(|a| a == "--data")
        .and_then(|i| args.get(i + 1).cloned());
    if args.iter().any(|a| a == "out_of_core") {
        return out_of_core();
    }
    let client = Client::new(Config::default()).unwrap();
    if args.iter().any(|a| a == "multinomial") {
        return multinomial(&client, data.as_deref());
    }
    if args.iter().any(|a| a == "sparse") {
        return sparse(&client, data.as_deref());
    }
    if args.iter().any(|a| a == "lasso_path") {
        return lasso_path(&client, data.as_deref());
    }
    let x = Array::random_normal(
        1,
        0.0,
        1.0,
        &[N, P],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS, P]),
    )
    .unwrap()
    .persist(&client)
    .unwrap();
    // y ~ Bernoulli(sigmoid(X β)), β from a normal draw as in the peer's script.
    let beta = Array::random_normal(
        2,
        0.0,
        1.0,
        &[P],
        DType::Float64,
        &ChunkSpec::Regular(vec![P]),
    )
    .unwrap();
    let eta = x.matmul(&beta).unwrap();
    let p = Array::ufunc(
        "divide",
        &[
            1.0.into(),
            (&eta
                .unary("negative")
                .unwrap()
                .unary("exp")
                .unwrap()
                .binary("add", 1.0)
                .unwrap())
                .into(),
        ],
    )
    .unwrap()
    .into_array()
    .unwrap();
    let u = Array::random_uniform(
        3,
        0.0,
        1.0,
        &[N],
        DType::Float64,
        &ChunkSpec::Regular(vec![ROWS]),
    )
    .unwrap();
    let y = u
        .binary("less", &p)
        .unwrap()
        .astype(DType::Float64)
        .persist(&client)
        .unwrap();
    if let Some(path) = &data {
        write_data(&client, path, &[&x, &y]);
    }
    println!(
        "logistic regression {N} x {P}, C = 1e6, tol = 1e-6, {} threads:",
        client.threads()
    );
    let only: Vec<&String> = args
        .iter()
        .skip(1)
        .filter(|a| Solver::parse(a).is_ok())
        .collect();
    for solver in Solver::ALL
        .into_iter()
        .filter(|&s| s != Solver::CoordinateDescent)
    {
        if !only.is_empty() && !only.iter().any(|a| a.as_str() == solver.name()) {
            continue;
        }
        let options = Options {
            penalty: Penalty::L2,
            c: Some(1e6),
            lambda: None,
            solver,
            tol: 1e-6,
            // ADMM and gradient descent converge linearly: capped so the run stays short;
            // their objective at the cap is what is compared.
            max_iter: match solver {
                Solver::Admm => 30,
                Solver::GradientDescent => 100,
                _ => 200,
            },
            fit_intercept: true,
            sample_stride: sample_stride(),
        };
        let t0 = Instant::now();
        let m = LogisticRegression::new(options)
            .fit(&client, &x, &y, None)
            .unwrap();
        report(solver, t0.elapsed().as_secs_f64(), m.info());
    }
}
