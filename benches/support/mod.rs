//! What the table benchmarks share: the data generator's mixer, the peers' Python runner
//! and this process's peak memory.

#![allow(dead_code)] // each benchmark uses its own part

/// SplitMix64's finaliser: the deterministic "random" values the datasets are made of.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What every peer script starts with: `best(f, n)`, the fastest of `n` runs of `f` and
/// its last result.
const PY_BEST: &str = r#"
import time
def best(f, n=10):
    b, r = 1e9, None
    for _ in range(n):
        t0 = time.perf_counter(); r = f(); b = min(b, time.perf_counter() - t0)
    return b, r
"#;

/// Runs `script` with the peers' Python (BENCH_PYTHON), its output shown with ours.
pub fn run_python(py: &str, script: &str) {
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(format!("{PY_BEST}{script}"))
        .output()
        .expect("BENCH_PYTHON runs");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

/// Peak resident memory of this process since it started or the last
/// [`reset_peak_rss`], in bytes.
pub fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Starts a new peak: VmHWM falls back to the current resident memory (Linux ≥ 4.0).
pub fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
}
