//! `libdask`: the library's command-line tool.
//!
//!   libdask version
//!   libdask scheduler [options]          a scheduler (see `libdask scheduler --help`)
//!   libdask worker ADDRESS [options]     a worker of that scheduler
//!   libdask certs --out DIR              a CA and a certificate per role, for TLS
//!   libdask local-cluster [opts] -- CMD  runs CMD with a scheduler and workers around it
//!   libdask replay-tasks [--require-all] <dir or file>...
//!
//! `replay-tasks` reads tasks captured with `DASK_CAPTURE_TASKS` (see the runtime's
//! capture), decodes each in this fresh process, runs it here and checks that its result
//! is identical, byte for byte, to the one recorded where it first ran. With
//! `--require-all`, every library operation must have been seen at least once.
//!
//! One exception: block products through a system BLAS (OpenBLAS) are not bit-reproducible
//! from one process to the next (its kernels' paths depend on the memory's alignment), so
//! their floating-point results must agree to within a few rounding errors of the largest
//! magnitude instead.

use dask::protocol::{decode, decode_task, encode, Compression};

/// The scheduler and workers allocate and free small objects (task records, keys, messages)
/// at every transition, from several threads: mimalloc's thread-local free lists serve them
/// faster than glibc's arenas (benches/README.md, "no-op tasks"). Only this program's
/// choice: the library leaves the allocator of the processes that link it alone.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn files(paths: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let p = Path::new(p);
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            entries.sort();
            out.extend(entries.into_iter().filter(|e| e.is_file()));
        } else {
            out.push(p.to_path_buf());
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    replayed: usize,
    mismatched: usize,
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, what: &str) -> Result<&'a [u8], String> {
    let len_end = *at + 8;
    let len = bytes
        .get(*at..len_end)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8")) as usize)
        .ok_or_else(|| format!("{what}: truncated record"))?;
    let body = bytes
        .get(len_end..len_end + len)
        .ok_or_else(|| format!("{what}: truncated record"))?;
    *at = len_end + len;
    Ok(body)
}

/// Same dtype and shape, and every float element within 64 rounding errors of the largest
/// recorded magnitude (a different summation order, not a different computation).
fn within_rounding(got: &dask::Value, want: &dask::Value) -> bool {
    use dask::value::{DType, Value};
    let (Value::Buffer(g), Value::Buffer(w)) = (got, want) else {
        return false;
    };
    if g.dtype() != w.dtype() || g.shape() != w.shape() {
        return false;
    }
    fn close<T: Copy + Into<f64>>(g: &[T], w: &[T], eps: f64) -> bool {
        let scale = w.iter().map(|&x| x.into().abs()).fold(0.0, f64::max);
        g.len() == w.len()
            && g.iter()
                .zip(w)
                .all(|(&a, &b)| (a.into() - b.into()).abs() <= 64.0 * eps * scale)
    }
    let (Ok(g), Ok(w)) = (
        dask::value::block::contiguous(g),
        dask::value::block::contiguous(w),
    ) else {
        return false;
    };
    match g.dtype() {
        DType::Float64 => matches!((g.as_slice::<f64>(), w.as_slice::<f64>()),
            (Ok(a), Ok(b)) if close(a, b, f64::EPSILON)),
        DType::Float32 => matches!((g.as_slice::<f32>(), w.as_slice::<f32>()),
            (Ok(a), Ok(b)) if close(a, b, f32::EPSILON as f64)),
        _ => false,
    }
}

/// A GLM block pass's sums (weight, loss, gradient, Hessian) equal up to rounding: OpenBLAS's
/// small products sum in an order that depends on where a block's rows start in memory
/// (a block recorded as a view into a larger buffer replays from a fresh allocation).
fn stats_within_rounding(got: &dask::Value, want: &dask::Value) -> bool {
    let (Some(g), Some(w)) = (
        got.params::<dask::glm::Stats>(),
        want.params::<dask::glm::Stats>(),
    ) else {
        return false;
    };
    let close = |a: &[f64], b: &[f64]| {
        let scale = b.iter().map(|x| x.abs()).fold(0.0, f64::max);
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 64.0 * f64::EPSILON * scale)
    };
    g.weight == w.weight
        && close(&[g.loss], &[w.loss])
        && close(&g.grad, &w.grad)
        && close(&g.hess, &w.hess)
}

fn replay(paths: &[String], require_all: bool) -> Result<bool, String> {
    dask::catalog::ensure();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut ok = true;
    let mut skipped = 0usize;
    let list = files(paths);
    if list.is_empty() {
        return Err("no capture files found".into());
    }
    for file in list {
        let what = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|e| format!("{what}: {e}"))?;
        let mut at = 0;
        while at < bytes.len() {
            let task_bytes = take(&bytes, &mut at, &what)?;
            let result_bytes = take(&bytes, &mut at, &what)?;
            let (task, used) = match decode_task(task_bytes, &what) {
                Ok(t) => t,
                // A task of a library operation that names something only its host process
                // had (a user ufunc registered from C) cannot run here: counted, not failed.
                Err(dask::Error::NotFound(why)) => {
                    skipped += 1;
                    if skipped <= 3 {
                        println!("skipped (needs a host registration): {why}");
                    }
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            if used != task_bytes.len() {
                return Err(format!("{what}: a task record has trailing bytes"));
            }
            let t = tally.entry(task.op.clone()).or_default();
            t.replayed += 1;
            let recorded = decode(result_bytes, &what).map_err(|e| e.to_string())?;
            let same = match dask::runtime::run_wire_task(&task) {
                Ok(v) => {
                    let got = encode(&v, Compression::None).map(|e| e.to_vec());
                    let want = encode(&recorded, Compression::None).map(|e| e.to_vec());
                    matches!((got, want), (Ok(g), Ok(w)) if g == w)
                        || (task.op == "array.tensordot"
                            && dask::array::uses_blas()
                            && within_rounding(&v, &recorded))
                        || (task.op == "glm.pass"
                            && dask::array::uses_blas()
                            && stats_within_rounding(&v, &recorded))
                }
                Err(e) => {
                    eprintln!("task '{}' ({}) failed here: {e}", task.key, task.op);
                    false
                }
            };
            if !same {
                t.mismatched += 1;
                ok = false;
                eprintln!(
                    "task '{}' ({}): the result here differs from the recorded one",
                    task.key, task.op
                );
            }
        }
    }
    println!("{:<28} {:>9} {:>11}", "operation", "replayed", "mismatched");
    for (op, t) in &tally {
        println!("{op:<28} {:>9} {:>11}", t.replayed, t.mismatched);
    }
    let missing: Vec<String> = dask::catalog::library_ops()
        .into_iter()
        .filter(|op| !tally.contains_key(op))
        .collect();
    if !missing.is_empty() {
        println!("never captured: {}", missing.join(", "));
        if require_all {
            ok = false;
        }
    }
    if skipped > 0 {
        println!("{skipped} tasks skipped: they name user ufuncs or kinds of their host process");
    }
    let total: usize = tally.values().map(|t| t.replayed).sum();
    println!(
        "{total} tasks of {} operations replayed in a fresh process: {}",
        tally.len(),
        if ok { "all identical" } else { "FAILED" }
    );
    Ok(ok)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("version") => {
            println!("libdask {} (ABI {})", dask::VERSION, dask::ABI_VERSION);
            ExitCode::SUCCESS
        }
        Some(c @ ("scheduler" | "worker" | "certs")) => dask::distributed::cli::main(c, &args[1..]),
        Some("local-cluster") => dask::distributed::cli::local_cluster_main(&args[1..]),
        Some("slurm") => dask::distributed::cli::slurm_main(&args[1..]),
        Some("mpi") => dask::distributed::cli::mpi_main(&args[1..]),
        Some("replay-tasks") => {
            let require_all = args.iter().any(|a| a == "--require-all");
            let paths: Vec<String> = args[1..]
                .iter()
                .filter(|a| !a.starts_with("--"))
                .cloned()
                .collect();
            match replay(&paths, require_all) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("libdask replay-tasks: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!(
                "usage: libdask version | libdask scheduler [options] | libdask worker ADDRESS [options]\n       \
                 | libdask certs --out DIR | libdask local-cluster [options] -- COMMAND ARGS...\n       \
                 | libdask slurm --workers N [options] [-- COMMAND ARGS...]\n       \
                 | mpirun -np N libdask mpi [options] [-- COMMAND ARGS...]\n       \
                 | libdask replay-tasks [--require-all] <dir or file>...\n\
                 (`libdask <command> --help` for the options)"
            );
            ExitCode::from(2)
        }
    }
}
