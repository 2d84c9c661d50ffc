//! A GLM fit out of core: X three times the memory limit (spilled between passes and read
//! back for each) gives the coefficients of the same fit on a client without a limit, and
//! the memory metrics show the spilling, and the process stays within the limit + 25%. Its own test binary, so the peak is this test's.

use dask::array::{Array, ChunkSpec};
use dask::glm::{LogisticRegression, Options, Solver};
use dask::memory::MemoryConfig;
use dask::{Client, Config, DType};

const LIMIT: usize = 128 << 20;
const P: usize = 20;
/// Rows making X three times the limit.
const N: usize = 3 * LIMIT / (8 * P);

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// X ~ N(0, 1) in 8 MiB blocks and y ~ Bernoulli(sigmoid(Xβ)): lazy, the same numbers on
/// every client.
fn data() -> (Array, Array) {
    let rows = (8 << 20) / (8 * P);
    let x = Array::random_normal(
        5,
        0.0,
        1.0,
        &[N, P],
        DType::Float64,
        &ChunkSpec::Regular(vec![rows, P]),
    )
    .unwrap();
    let beta = Array::random_normal(
        6,
        0.0,
        0.5,
        &[P],
        DType::Float64,
        &ChunkSpec::Regular(vec![P]),
    )
    .unwrap();
    let denominator = x
        .matmul(&beta)
        .unwrap()
        .unary("negative")
        .unwrap()
        .unary("exp")
        .unwrap()
        .binary("add", 1.0)
        .unwrap();
    let p = Array::ufunc("divide", &[1.0.into(), (&denominator).into()])
        .unwrap()
        .into_array()
        .unwrap();
    let u = Array::random_uniform(
        7,
        0.0,
        1.0,
        &[N],
        DType::Float64,
        &ChunkSpec::Regular(vec![rows]),
    )
    .unwrap();
    (x, u.binary("less", &p).unwrap().astype(DType::Float64))
}

fn fit(client: &Client) -> Vec<f64> {
    let (x, y) = data();
    let options = Options {
        solver: Solver::Newton,
        tol: 1e-8,
        // Both fits take the same path from zero (no warm start from a sample: the limited
        // client would skip it, its values being on disk), so they agree to rounding.
        sample_stride: Some(1),
        ..Options::logistic()
    };
    let m = LogisticRegression::new(options)
        .fit(client, &x, &y, None)
        .unwrap();
    assert!(m.info().converged, "{:?}", m.info());
    let mut v = m.coef().to_vec();
    v.push(m.intercept()[0]);
    v
}

#[test]
fn x_three_times_the_limit_fits_to_the_in_memory_coefficients() {
    let limited = Client::new(Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(LIMIT),
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let out_of_core = fit(&limited);
    let stats = limited.memory_stats();
    let peak = peak_rss();
    drop(limited);
    eprintln!(
        "peak resident {} MiB with a {} MiB limit; {stats:?}",
        peak >> 20,
        LIMIT >> 20
    );
    assert!(stats.spill_count > 0, "nothing was spilled: {stats:?}");
    assert!(stats.unspill_count > 0, "nothing was read back: {stats:?}");
    assert!(
        stats.spill_bytes >= 2 * LIMIT as u64,
        "X is 3x the limit: at least 2x must have gone to disk: {stats:?}"
    );

    assert!(
        peak < LIMIT + LIMIT / 4,
        "peak resident memory {} MiB is above the limit + 25%",
        peak >> 20
    );

    let in_memory = fit(&Client::new(Config::with_threads(2)).unwrap());
    for (a, b) in out_of_core.iter().zip(&in_memory) {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{out_of_core:?} vs {in_memory:?}"
        );
    }
}
