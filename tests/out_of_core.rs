//! Out-of-core: with a 1 GiB memory limit, a 4 GiB random array is summed, and a chunk-by-chunk
//! transform of it (4 GiB, four times the limit) is persisted and then reduced. Results equal
//! the same computations on a client without a limit; spilling happened; the process's peak
//! resident memory stays below limit + 25%. Its own test binary, so the peak is this test's.

use dask::array::{Array, ChunkSpec};
use dask::memory::MemoryConfig;
use dask::{Client, Config, DType};

const LIMIT: usize = 1 << 30;

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// `n` uniform float64 in 64 MiB blocks (the same numbers for every client).
fn input(n: usize) -> Array {
    Array::random_uniform(
        11,
        0.0,
        1.0,
        &[n],
        DType::Float64,
        &ChunkSpec::Regular(vec![1 << 23]),
    )
    .unwrap()
}

fn sums(client: &Client) -> (f64, f64) {
    // 2^29 float64 = 4 GiB in 64 MiB blocks.
    let n = 1usize << 29;
    let x = input(n);
    let total = x
        .sum(None)
        .unwrap()
        .compute(client)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()[0];
    let y = x
        .binary("multiply", 2.0)
        .unwrap()
        .binary("add", 1.0)
        .unwrap()
        .persist(client)
        .unwrap();
    let reduced = y
        .sum(None)
        .unwrap()
        .compute(client)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()[0];
    (total, reduced)
}

#[test]
fn four_gib_through_a_one_gib_limit() {
    let limited = Client::new(Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(LIMIT),
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let dir = limited.spill_dir().expect("a limit has a spill directory");
    if std::env::var("OOC_TRACE").is_ok() {
        let c = limited.clone();
        std::thread::spawn(move || loop {
            let s = c.memory_stats();
            eprintln!(
                "rss {:5} MiB managed {:5} MiB paused {} spills {} unspills {}",
                s.process_bytes >> 20,
                s.managed_bytes >> 20,
                s.paused,
                s.spill_count,
                s.unspill_count
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        });
    }
    assert!(dir.is_dir());
    let (total, reduced) = sums(&limited);
    let stats = limited.memory_stats();
    let peak = peak_rss();
    drop(limited);
    eprintln!("peak resident {} MiB; {stats:?}", peak >> 20);
    assert!(
        !dir.exists(),
        "the spill directory is removed with the client"
    );

    assert!(stats.spill_count > 0, "nothing was spilled: {stats:?}");
    assert!(stats.unspill_count > 0, "nothing was read back: {stats:?}");
    assert!(
        stats.spill_bytes >= 2 << 30,
        "at least 2 GiB must have gone to disk: {stats:?}"
    );
    assert!(
        peak < LIMIT + LIMIT / 4,
        "peak resident memory {} MiB is above the limit + 25% ({} MiB)",
        peak >> 20,
        (LIMIT + LIMIT / 4) >> 20
    );

    // The same computations without a limit (streamed, nothing kept) give the same numbers.
    let free = Client::new(Config::with_threads(2)).unwrap();
    let n = 1usize << 29;
    let x = input(n);
    let want_total = x
        .sum(None)
        .unwrap()
        .compute(&free)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()[0];
    let want_reduced = x
        .binary("multiply", 2.0)
        .unwrap()
        .binary("add", 1.0)
        .unwrap()
        .sum(None)
        .unwrap()
        .compute(&free)
        .unwrap()
        .as_slice::<f64>()
        .unwrap()[0];
    assert_eq!(total, want_total);
    assert!(
        (reduced - want_reduced).abs() <= 1e-12 * want_reduced,
        "{reduced} vs {want_reduced}"
    );
    // And the transform's sum is what the mathematics says of the first sum.
    assert!((reduced - (2.0 * total + n as f64)).abs() <= 1e-9 * reduced);
}
