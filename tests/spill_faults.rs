//! Spilling when things go wrong: a damaged or truncated spill file is an error naming the
//! value, never wrong data; a disk limit stops spilling with a message while values stay in
//! memory (and results stay right), and so does a full disk (a real ENOSPC on a small tmpfs); past the limit with nothing able to go to disk, tasks fail
//! with a clear out-of-memory error; one value larger than the target is spilled at once.

use dask::array::{Array, ChunkSpec};
use dask::error::Error;
use dask::memory::MemoryConfig;
use dask::{Client, Config, DType};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn limited(limit: usize, disk_limit: Option<u64>) -> Client {
    Client::new(Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(limit),
            disk_limit,
            spill_compression: dask::protocol::Compression::None,
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap()
}

fn data(elements: usize, block: usize) -> Array {
    Array::random_uniform(
        3,
        0.0,
        1.0,
        &[elements],
        DType::Float64,
        &ChunkSpec::Regular(vec![block]),
    )
    .unwrap()
}

fn total(a: &Array, c: &Client) -> dask::error::Result<f64> {
    Ok(a.sum(None)?.compute(c)?.as_slice::<f64>()?[0])
}

fn want(a: &Array) -> f64 {
    total(a, &Client::new(Config::with_threads(2)).unwrap()).unwrap()
}

/// Waits (a little) until the spiller has written `n` values.
fn spilled_at_least(c: &Client, n: usize) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if c.memory_stats().spilled_values >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn spill_files(c: &Client) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(c.spill_dir().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn damaged_and_truncated_spill_files_are_errors_naming_the_value() {
    for damage in ["flip", "truncate"] {
        let c = limited(32 * MIB, None);
        let x = data(8 * MIB, MIB); // 64 MiB in 8 MiB blocks
        let p = x.persist(&c).unwrap();
        assert!(spilled_at_least(&c, 2), "{damage}: nothing spilled");
        for f in spill_files(&c) {
            let mut bytes = std::fs::read(&f).unwrap();
            if damage == "flip" {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x40;
            } else {
                bytes.truncate(bytes.len() / 3);
            }
            std::fs::write(&f, bytes).unwrap();
        }
        match total(&p, &c) {
            Err(Error::Task(t)) => {
                let m = t.to_string();
                assert!(
                    m.contains("spilled value of"),
                    "{damage}: names the value: {m}"
                );
                let why = if damage == "flip" {
                    "checksum"
                } else {
                    "truncated"
                };
                assert!(m.contains(why), "{damage}: says why: {m}");
            }
            Err(e) => panic!("{damage}: unexpected error {e}"),
            Ok(v) => panic!("{damage}: damaged spill files gave a result ({v})"),
        }
    }
}

#[test]
fn a_disk_limit_stops_spilling_and_keeps_values_in_memory() {
    // 32 MiB of blocks, a 32 MiB limit, room for 8 MiB of spill files: values stay in memory
    // past the target (19.2 MiB), and the results are still right (blocks read back leave
    // again without new disk space).
    let c = limited(32 * MIB, Some(8 * MIB as u64 + 4096));
    let x = data(4 * MIB, MIB / 2); // 32 MiB in 4 MiB blocks
    let p = x.persist(&c).unwrap();
    assert!(spilled_at_least(&c, 2));
    let t = Instant::now();
    while c.spill_problem().is_none() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let problem = c.spill_problem().expect("the disk limit is reported");
    assert!(problem.contains("disk limit"), "{problem}");
    let s = c.memory_stats();
    assert!(s.spilled_bytes <= 8 * MIB as u64 + 4096, "{s:?}");
    assert!(s.managed_bytes > 0);
    assert_eq!(total(&p, &c).unwrap(), want(&x));
}

/// A small tmpfs, unmounted (after the client using it is gone) when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `None` where mounting is not allowed (not root, no mount namespace rights).
    fn mount(bytes: usize) -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("dask-full-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(SmallDisk(dir))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_full_disk_stops_spilling_with_a_clear_message_and_loses_nothing() {
    // A real ENOSPC: the spill directory on a 9 MiB filesystem, 32 MiB of 4 MiB blocks under
    // a 32 MiB limit. Two blocks fit; the third write fails part-way.
    let Some(disk) = SmallDisk::mount(9 * MIB) else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    let c = Client::new(Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(32 * MIB),
            spill_dir: Some(disk.0.clone()),
            spill_compression: dask::protocol::Compression::None,
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let x = data(4 * MIB, MIB / 2);
    let p = x.persist(&c).unwrap();
    let t = Instant::now();
    while c.spill_problem().is_none() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let problem = c.spill_problem().expect("the full disk is reported");
    assert!(problem.contains("is full"), "{problem}");
    assert!(!problem.contains("os error"), "no raw OS error: {problem}");
    // No partial file is left behind: the files on disk are exactly the spilled values.
    let s = c.memory_stats();
    let on_disk: u64 = spill_files(&c)
        .iter()
        .map(|f| f.metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, s.spilled_bytes, "{s:?}");
    assert!(s.spilled_values >= 1 && s.managed_bytes > 0, "{s:?}");
    assert_eq!(total(&p, &c).unwrap(), want(&x));
    drop(p);
    drop(c);
}

#[test]
fn past_the_limit_with_no_disk_left_tasks_fail_with_a_clear_error() {
    // 128 MiB of results under a 16 MiB limit with 4 MiB of disk: stored values must exceed
    // the limit, and the next tasks fail instead of exhausting the machine.
    let c = limited(16 * MIB, Some(4 * MIB as u64));
    let x = data(16 * MIB, MIB / 8); // 1 MiB blocks
    match x.persist(&c) {
        Err(Error::Task(t)) => {
            let m = t.to_string();
            assert!(m.contains("out of memory"), "{m}");
            assert!(m.contains("disk limit"), "says why spilling stopped: {m}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("128 MiB were kept under a 16 MiB limit with 4 MiB of disk"),
    }
}

#[test]
fn a_value_larger_than_the_target_is_spilled_at_once_and_read_back_exactly() {
    let c = limited(32 * MIB, None);
    let x = data(6 * MIB, 6 * MIB); // one 48 MiB block
    let p = x.persist(&c).unwrap();
    assert!(spilled_at_least(&c, 1), "{:?}", c.memory_stats());
    assert_eq!(c.memory_stats().managed_bytes, 0);
    assert_eq!(total(&p, &c).unwrap(), want(&x));
    // The block is read back once; the reduction's partial (8 bytes) may have been spilled
    // and read back too, as any value may under a process-wide memory threshold.
    let stats = c.memory_stats();
    let block = (6 * MIB * 8) as u64;
    assert!(
        stats.unspill_bytes >= block && stats.unspill_bytes < 2 * block,
        "{stats:?}"
    );
}

#[test]
fn reduction_partials_spill_and_read_back_like_any_value() {
    use dask::array::reduce_kernel::{Partial, ReduceOp};
    use dask::value::{Buffer, Value};
    use std::sync::Arc;
    dask::catalog::ensure();
    let c = limited(8 * MIB, None);
    // Sixteen 1 MiB partials (count, mean, M2 of a variance) under an 8 MiB limit.
    let partials: Vec<Value> = (0..16)
        .map(|k| {
            let bufs = (0..3)
                .map(|j| {
                    let v: Vec<f64> = (0..(MIB / 8 / 3))
                        .map(|i| (k * 7 + j * 3 + i) as f64)
                        .collect();
                    let n = v.len();
                    Buffer::from_vec(v, &[1, n]).unwrap()
                })
                .collect();
            Value::Params(Arc::new(Partial {
                op: ReduceOp::Var { ddof: 1.0 },
                bufs,
            }))
        })
        .collect();
    let futures: Vec<_> = partials
        .iter()
        .map(|p| c.scatter(p.clone()).unwrap())
        .collect();
    assert!(spilled_at_least(&c, 4), "partials went to disk");
    assert_eq!(
        c.memory_stats().unspillable_values,
        0,
        "no partial is pinned in memory"
    );
    for (f, want) in futures.iter().zip(&partials) {
        let got = f.result().unwrap();
        let (g, w) = (
            got.params::<Partial>().expect("a partial comes back"),
            want.params::<Partial>().unwrap(),
        );
        assert_eq!(g.op, w.op);
        for (gb, wb) in g.bufs.iter().zip(&w.bufs) {
            assert_eq!(gb.as_slice::<f64>().unwrap(), wb.as_slice::<f64>().unwrap());
        }
    }
    assert!(
        c.memory_stats().unspill_count > 0,
        "some were read back from disk"
    );
}

#[test]
fn a_value_read_back_goes_out_again_without_being_written_again() {
    let c = limited(64 * MIB, None);
    // 192 MiB in 24 blocks of 8 MiB, persisted under a 64 MiB limit, then summed twice.
    let x = data(24 * MIB, MIB);
    let p = x.persist(&c).unwrap();
    let want_total = want(&x);
    for _ in 0..2 {
        assert_eq!(total(&p, &c).unwrap(), want_total);
    }
    let s = c.memory_stats();
    let array_bytes = (24 * MIB * 8) as u64;
    assert!(
        s.unspill_count >= 24,
        "both passes read spilled blocks back: {s:?}"
    );
    assert!(
        s.spill_count > s.files_written,
        "blocks read back went out again without a write: {s:?}"
    );
    // Each block is written once (plus small partials that may have gone out too).
    assert!(
        s.file_bytes_written < array_bytes + array_bytes / 20,
        "{} bytes written for a {array_bytes}-byte array: {s:?}",
        s.file_bytes_written
    );
}
