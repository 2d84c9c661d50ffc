//! Spill I/O (issue 6): serialize + write and read + deserialize of 2 GiB of 8 MiB float64
//! blocks, random and compressible, with and without lz4, against plain file writes and reads
//! of the same bytes in the same run. No fsync (spill files are transient), as for the peers.
//! Reproduce: `cargo bench --features blas --bench spill` (files go to target/spill-bench);
//! peers: `python anchors.py spill`. Best of 3. Sections alone: `... --bench spill -- spiller`
//! (sections: plain, codecs, spiller, ooc; `random` or `compressible` picks one data kind).

use dask::protocol::{read_file, write_value, Compression};
use dask::value::{Buffer, Value};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const BLOCK: usize = 1 << 20; // f64 elements: 8 MiB
const BLOCKS: usize = 256; // 2 GiB

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Random doubles in [0, 1), or a compressible block (a few distinct values in runs, like
/// a mostly-constant or low-cardinality column).
fn blocks(compressible: bool) -> Vec<Value> {
    (0..BLOCKS)
        .map(|b| {
            let v: Vec<f64> = (0..BLOCK)
                .map(|i| {
                    let z = splitmix((b * BLOCK + i) as u64);
                    if compressible {
                        ((i / 64) % 4) as f64
                    } else {
                        (z >> 11) as f64 / (1u64 << 53) as f64
                    }
                })
                .collect();
            Value::Buffer(Buffer::from_vec(v, &[BLOCK]).unwrap())
        })
        .collect()
}

fn gib_per_s(secs: f64) -> f64 {
    (BLOCKS * BLOCK * 8) as f64 / (1u64 << 30) as f64 / secs
}

fn best(mut f: impl FnMut() -> f64) -> f64 {
    let ts: Vec<f64> = (0..3).map(|_| f()).collect();
    if std::env::var("SPILL_BENCH_ALL").is_ok() {
        eprintln!(
            "  runs: {:?}",
            ts.iter().map(|t| gib_per_s(*t)).collect::<Vec<_>>()
        );
    }
    ts.into_iter().fold(f64::INFINITY, f64::min)
}

/// Best write and best read time of three runs.
fn best_pair(mut f: impl FnMut() -> (f64, f64)) -> (f64, f64) {
    let runs: Vec<(f64, f64)> = (0..3).map(|_| f()).collect();
    if std::env::var("SPILL_BENCH_ALL").is_ok() {
        eprintln!(
            "  runs: {:?}",
            runs.iter()
                .map(|(w, r)| (gib_per_s(*w), gib_per_s(*r)))
                .collect::<Vec<_>>()
        );
    }
    runs.into_iter()
        .fold((f64::INFINITY, f64::INFINITY), |a, b| {
            (a.0.min(b.0), a.1.min(b.1))
        })
}

/// The spill path itself: the blocks handed to a client with a 256 MiB limit, written by its
/// background spiller (one value per core at a time), then read back through their futures.
/// Write time runs from the first value stored to the last one on disk.
fn through_a_client(dir: &Path, vals: &[Value], c: Compression) -> (f64, f64) {
    use dask::memory::MemoryConfig;
    use dask::{Client, Config};
    use std::sync::Arc;
    use std::time::Duration;
    let vals: Vec<Arc<Value>> = vals.iter().map(|v| Arc::new(v.clone())).collect();
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let client = Client::new(Config {
        threads: 0,
        memory: MemoryConfig {
            limit: Some(256 << 20),
            spill_dir: Some(dir.to_path_buf()),
            spill_compression: c,
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let t = Instant::now();
    let futures: Vec<_> = vals
        .into_iter()
        .map(|v| client.scatter(v).unwrap())
        .collect();
    // Everything goes: the bench's own copies keep the process above the spill threshold.
    let mut last = (0, t.elapsed());
    while last.1 < Duration::from_secs(60) {
        let n = client.memory_stats().spill_count;
        if n != last.0 {
            last = (n, t.elapsed());
        }
        if n as usize == BLOCKS || t.elapsed() - last.1 > Duration::from_millis(500) {
            break;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    let stats = client.memory_stats();
    assert_eq!(stats.spill_count as usize, BLOCKS, "{stats:?}");
    let w = last.1.as_secs_f64();
    if std::env::var("SPILL_BENCH_ALL").is_ok() {
        eprintln!(
            "  wall {w:.3} s, time inside spill writes {:.3} s",
            stats.spill_nanos as f64 * 1e-9
        );
    }
    let t = Instant::now();
    let back: Vec<_> = futures.iter().map(|f| f.result().unwrap()).collect();
    let r = t.elapsed().as_secs_f64();
    drop(back);
    (w, r)
}

fn path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{i}"))
}

/// Removes the previous run's files and flushes dirty pages first (untimed): overwriting
/// would add the cost of dropping cached pages, and earlier runs' dirty pages would throttle
/// this run's writes, to the write being measured.
fn fresh(dir: &Path) {
    for i in 0..BLOCKS {
        let _ = std::fs::remove_file(path(dir, i));
    }
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
}

fn write_all(dir: &Path, vals: &[Value], c: Compression) -> f64 {
    fresh(dir);
    let t = Instant::now();
    for (i, v) in vals.iter().enumerate() {
        let mut f = File::create(path(dir, i)).unwrap();
        write_value(v, &mut f, c).unwrap();
    }
    t.elapsed().as_secs_f64()
}

fn encode_all(vals: &[Value], c: Compression) -> f64 {
    let t = Instant::now();
    let mut stored = 0;
    for v in vals {
        let e = dask::protocol::encode(v, c).unwrap();
        stored += e.stored_bytes() + e.sealed_head().len();
    }
    assert!(stored > 0);
    t.elapsed().as_secs_f64()
}

fn read_all(dir: &Path, check: &[Value]) -> f64 {
    let t = Instant::now();
    let mut out = Vec::with_capacity(BLOCKS);
    for i in 0..BLOCKS {
        let len = std::fs::metadata(path(dir, i)).unwrap().len() as usize;
        out.push(read_file(&path(dir, i), len, "bench").unwrap());
    }
    let secs = t.elapsed().as_secs_f64();
    for i in [0, BLOCKS / 2, BLOCKS - 1] {
        match (&out[i], &check[i]) {
            (Value::Buffer(a), Value::Buffer(b)) => assert_eq!(
                a.as_slice::<f64>().unwrap(),
                b.as_slice::<f64>().unwrap(),
                "block {i} read back differs"
            ),
            _ => unreachable!(),
        }
    }
    secs
}

fn raw_write(dir: &Path, vals: &[Value]) -> f64 {
    fresh(dir);
    let t = Instant::now();
    for (i, v) in vals.iter().enumerate() {
        let Value::Buffer(b) = v else { unreachable!() };
        // SAFETY: a contiguous f64 buffer of BLOCK elements.
        let bytes = unsafe { std::slice::from_raw_parts(b.as_ptr(), BLOCK * 8) };
        File::create(path(dir, i))
            .unwrap()
            .write_all(bytes)
            .unwrap();
    }
    t.elapsed().as_secs_f64()
}

fn raw_read(dir: &Path) -> f64 {
    let t = Instant::now();
    let mut keep = Vec::with_capacity(BLOCKS);
    for i in 0..BLOCKS {
        let mut v = vec![0u8; BLOCK * 8];
        File::open(path(dir, i))
            .unwrap()
            .read_exact(&mut v)
            .unwrap();
        keep.push(v);
    }
    t.elapsed().as_secs_f64()
}

/// Sections named on the command line, or all.
fn wanted(section: &str) -> bool {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let kinds = ["random", "compressible"];
    let sections: Vec<&String> = names
        .iter()
        .filter(|n| !kinds.contains(&n.as_str()))
        .collect();
    let picked: Vec<&String> = names
        .iter()
        .filter(|n| kinds.contains(&n.as_str()))
        .collect();
    if kinds.contains(&section) {
        picked.is_empty() || picked.iter().any(|n| *n == section)
    } else {
        sections.is_empty() || sections.iter().any(|n| *n == section)
    }
}

fn main() {
    println!("libdask spill I/O benchmarks: {BLOCKS} blocks of 8 MiB float64 (2 GiB), no fsync");
    println!("reproduce: cargo bench --features blas --bench spill");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/spill-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for compressible in [false, true] {
        let kind = if compressible {
            "compressible"
        } else {
            "random"
        };
        if !wanted(kind) {
            continue;
        }
        let vals = blocks(compressible);
        if wanted("plain") {
            let w = best(|| raw_write(&dir, &vals));
            let r = best(|| raw_read(&dir));
            println!(
                "{kind:>12}: plain files          write {:.2} GiB/s, read {:.2} GiB/s",
                gib_per_s(w),
                gib_per_s(r)
            );
        }
        for (name, c) in [
            ("lz4 auto", Compression::Auto),
            ("no compression", Compression::None),
        ] {
            if !wanted("codecs") {
                break;
            }
            let w = best(|| write_all(&dir, &vals, c));
            let stored: u64 = (0..BLOCKS)
                .map(|i| std::fs::metadata(path(&dir, i)).unwrap().len())
                .sum();
            let r = best(|| read_all(&dir, &vals));
            let e = best(|| encode_all(&vals, c));
            println!(
                "{kind:>12}: {name:<18} encode only {:.2} GiB/s (serialize, compress, checksum)",
                gib_per_s(e)
            );
            println!(
                "{kind:>12}: {name:<18} write {:.2} GiB/s, read {:.2} GiB/s (on disk {:.0}% of raw)",
                gib_per_s(w),
                gib_per_s(r),
                100.0 * stored as f64 / (BLOCKS * BLOCK * 8) as f64
            );
        }
        for (name, c) in [
            ("lz4 auto", Compression::Auto),
            ("no compression", Compression::None),
        ] {
            if !wanted("spiller") {
                break;
            }
            let (w, r) = best_pair(|| through_a_client(&dir, &vals, c));
            println!(
                "{kind:>12}: spiller, {name:<9} write {:.2} GiB/s, read {:.2} GiB/s (a client's store)",
                gib_per_s(w),
                gib_per_s(r)
            );
        }
        // Plain files again, after the codecs: the page cache is then as full as it was for
        // them (the first plain run meets an emptier one).
        if wanted("plain") {
            let w = best(|| raw_write(&dir, &vals));
            println!(
                "{kind:>12}: plain files again    write {:.2} GiB/s",
                gib_per_s(w)
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    if wanted("ooc") {
        out_of_core();
    }
}

/// A transform 3x the memory limit persisted then reduced, with and without the limit.
fn out_of_core() {
    use dask::array::{Array, ChunkSpec};
    use dask::memory::MemoryConfig;
    use dask::{Client, Config, DType};
    const LIMIT: usize = 1 << 30;
    let n = 3usize << 27; // 3 GiB of float64 in 64 MiB blocks
    let run = |c: &Client| {
        let t = Instant::now();
        let x = Array::random_uniform(
            1,
            0.0,
            1.0,
            &[n],
            DType::Float64,
            &ChunkSpec::Regular(vec![1 << 23]),
        )
        .unwrap();
        let y = x.binary("multiply", 2.0).unwrap().persist(c).unwrap();
        let s = y
            .sum(None)
            .unwrap()
            .compute(c)
            .unwrap()
            .as_slice::<f64>()
            .unwrap()[0];
        (t.elapsed().as_secs_f64(), s)
    };
    let limited = Client::new(Config {
        threads: 0,
        memory: MemoryConfig {
            limit: Some(LIMIT),
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let (t_limited, s1) = run(&limited);
    let st = limited.memory_stats();
    drop(limited);
    let free = Client::new(Config::default()).unwrap();
    let (t_free, s2) = run(&free);
    assert_eq!(s1, s2);
    println!(
        "out-of-core: 3 GiB persisted + summed under a 1 GiB limit {t_limited:.2} s \
         (in memory {t_free:.2} s); moved out {:.1} GiB in {:.2} s (written to disk {:.1} GiB, \
         once each), read back {:.1} GiB in {:.2} s",
        st.spill_bytes as f64 / (1u64 << 30) as f64,
        st.spill_nanos as f64 * 1e-9,
        st.file_bytes_written as f64 / (1u64 << 30) as f64,
        st.unspill_bytes as f64 / (1u64 << 30) as f64,
        st.unspill_nanos as f64 * 1e-9
    );
}
