//! Parallel work inside tasks — gathering a large array, a large sparse product, lz4 of large
//! frames, the spiller's lanes — runs on the client's own pool: no thread is ever started
//! besides the pool's workers and the spiller. The results are the same as sequential ones.
//!
//! One client in this binary, and the tests run one at a time (a lock), so the thread count
//! the monitor sees is the pool's, the spiller's and the test's own.

use dask::array::{Array, ChunkSpec};
use dask::memory::MemoryConfig;
use dask::protocol::{decode, encode, Compression};
use dask::{Buffer, Client, Config, DType, Value};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn threads_now() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Runs `f` while a monitor samples the process's thread count; returns the most seen, less
/// the monitor itself.
fn max_threads_during(f: impl FnOnce()) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(threads_now(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    f();
    stop.store(true, Ordering::Relaxed);
    monitor.join().unwrap();
    peak.load(Ordering::Relaxed) - 1
}

fn limited_client() -> Client {
    Client::new(Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(64 << 20),
            spill_compression: Compression::Lz4,
            ..MemoryConfig::default()
        },
        ..Config::default()
    })
    .unwrap()
}

#[test]
fn large_gathers_products_frames_and_spills_start_no_threads() {
    let _serial = SERIAL.lock();
    let client = limited_client();
    let before = threads_now();
    // 2 workers and the spiller, started with the client.
    let peak = max_threads_during(|| {
        // A 128 MiB array gathered into one buffer (parallel copy of its blocks).
        let x = Array::random_uniform(
            5,
            0.0,
            1.0,
            &[4096, 4096],
            DType::Float64,
            &ChunkSpec::Regular(vec![512, 4096]),
        )
        .unwrap();
        let whole = x.submit(&client).unwrap().result().unwrap();
        let blocks = x.compute(&client).unwrap();
        let w = whole.as_buffer().unwrap();
        assert_eq!(
            w.as_slice::<f64>().unwrap(),
            blocks.as_slice::<f64>().unwrap()
        );
        // A large sparse product called directly (rows split over the default pool).
        let a = Array::random_sparse(
            1,
            0.01,
            &[4000, 4000],
            &ChunkSpec::Regular(vec![4000, 4000]),
        )
        .unwrap()
        .compute_sparse(&client)
        .unwrap();
        let d = dask::sparse::DotArg::Sparse(&a);
        let p = dask::sparse::matmul(&d, &d, dask::sparse::ReturnType::Sparse).unwrap();
        let dense = dask::sparse::matmul(&d, &d, dask::sparse::ReturnType::Dense).unwrap();
        let (dask::sparse::DotResult::Sparse(p), dask::sparse::DotResult::Dense(dense)) =
            (p, dense)
        else {
            panic!("the product kinds asked for")
        };
        assert_eq!(
            p.to_dense().unwrap().as_slice::<f64>().unwrap(),
            dense.as_slice::<f64>().unwrap()
        );
        // A 32 MiB compressible frame: lz4 in 1 MiB blocks over the pool, and back.
        let v: Vec<u64> = (0..4 << 20).map(|i| i % 1000).collect();
        let value = Value::Buffer(Buffer::from_vec(v.clone(), &[4 << 20]).unwrap());
        let bytes = encode(&value, Compression::Lz4).unwrap().to_vec();
        assert!(bytes.len() < 16 << 20, "the frame compressed");
        let back = decode(&bytes, "frame").unwrap();
        assert_eq!(back.as_buffer().unwrap().as_slice::<u64>().unwrap(), &v[..]);
        // 256 MiB persisted under a 64 MiB limit: the spiller's lanes write.
        let big = Array::random_uniform(
            6,
            0.0,
            1.0,
            &[8192, 4096],
            DType::Float64,
            &ChunkSpec::Regular(vec![256, 4096]),
        )
        .unwrap();
        let kept = big.persist(&client).unwrap();
        let total = kept.sum(None).unwrap().compute(&client).unwrap();
        let want = big.sum(None).unwrap().compute(&client).unwrap();
        assert_eq!(
            total.as_slice::<f64>().unwrap(),
            want.as_slice::<f64>().unwrap()
        );
        assert!(client.memory_stats().spill_count > 0, "values were spilled");
    });
    assert!(
        peak <= before,
        "{peak} threads during the work, {before} before: parallel work started threads"
    );
}

#[test]
fn a_cancelled_gather_stops_handing_out_its_copies() {
    let _serial = SERIAL.lock();
    let client = Client::new(Config::with_threads(2)).unwrap();
    // Many blocks to gather: cancelling the gather mid-way ends it with a cancellation.
    let x = Array::full(
        &[8192, 4096],
        1.0,
        DType::Float64,
        &ChunkSpec::Regular(vec![64, 4096]),
    )
    .unwrap();
    let f = x.submit(&client).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    f.cancel();
    let r = f.result();
    assert!(
        r.as_ref()
            .err()
            .is_some_and(|e| e.to_string().contains("cancel")),
        "the gather ended cancelled: {:?}",
        r.map(|_| ())
    );
    // The pool is free again.
    let y = Array::ones(&[10], DType::Int64, &ChunkSpec::Regular(vec![5])).unwrap();
    assert_eq!(
        y.sum(None)
            .unwrap()
            .compute(&client)
            .unwrap()
            .as_slice::<i64>()
            .unwrap(),
        &[10]
    );
}
