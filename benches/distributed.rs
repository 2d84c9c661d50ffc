//! Distributed mode: a scheduler and 2 worker processes on loopback (`LocalCluster`), plain
//! TCP and TLS, against the embedded pool; the scheduler's state machine alone with 1,000
//! simulated workers.
//!
//! Reproduce: `cargo build --release --features blas && cargo bench --features blas --bench
//! distributed` (the `libdask` program must be built: `make build`), then the peer:
//! `python benches/peers/distributed_peer.py` (dask + distributed from PyPI in a venv).
//! Sections: `tasks`, `roundtrip`, `transfer`, `raw`, `w2w`, `array`, `scheduler` (default:
//! all).

use dask::array::{Array, ChunkSpec, Operand, Scalar};
use dask::distributed::scheduler::state::State;
use dask::distributed::{LocalCluster, LocalClusterOptions, WorkerInfo};
use dask::{wait_all, Client, Config, Graph, Operation, Task, Value};
use std::time::{Duration, Instant};

fn cluster(tls: bool) -> LocalCluster {
    LocalCluster::start(LocalClusterOptions {
        n_workers: 2,
        threads_per_worker: 1,
        tls,
        ..LocalClusterOptions::default()
    })
    .expect("a local cluster starts (build the libdask program first: make build)")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `n` independent no-op tasks in one graph: tasks per second (graph building included).
fn noop_tasks(client: &Client, n: usize) -> f64 {
    let noop = Operation::named("noop").unwrap();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut g = Graph::new();
        let ids: Vec<_> = (0..n)
            .map(|_| g.add(Task::new(noop.clone(), vec![])))
            .collect();
        let fs = client.compute(g, &ids).unwrap();
        wait_all(&fs, None).unwrap();
        best = best.min(t0.elapsed().as_secs_f64());
    }
    n as f64 / best
}

/// Submit one task and read its result, many times: the median round trip.
fn round_trip(client: &Client) -> Duration {
    let sum = Operation::named("sum").unwrap();
    let mut times = Vec::new();
    for i in 0..400i64 {
        let t0 = Instant::now();
        let f = client
            .submit(Task::new(
                sum.clone(),
                vec![dask::Arg::value(i), dask::Arg::value(1i64)],
            ))
            .unwrap();
        let v = f.result().unwrap();
        times.push(t0.elapsed());
        assert!(matches!(&*v, Value::Int(x) if *x == i + 1));
    }
    median(times[50..].to_vec())
}

/// `n` random float64 in 8 MiB blocks, computed and kept on the cluster's workers.
fn persisted_blocks(client: &Client, seed: u64, n: usize) -> Array {
    Array::random_uniform(
        seed,
        0.0,
        1.0,
        &[n],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![1 << 20]),
    )
    .unwrap()
    .persist(client)
    .unwrap()
}

/// Moves `gib` GiB of 8 MiB blocks from the workers to this process (into one new array):
/// bytes per second, best of 3.
fn transfer(client: &Client, gib: usize) -> f64 {
    let n = gib * 128 * (1 << 20); // float64 elements
    let x = persisted_blocks(client, 1, n);
    let mut t = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let b = x.compute(client).unwrap();
        t = t.min(t0.elapsed().as_secs_f64());
        assert_eq!(b.len(), n);
    }
    (n * 8) as f64 / t
}

/// Moves about `gib` GiB of 8 MiB blocks from one worker to the other: an array's blocks
/// are spread over both workers, then one task reads them all, so the worker it runs on
/// fetches every block the other holds. Bytes moved per second (the bytes counted from
/// where the scheduler says the blocks were, so an uneven spread is measured as it is).
fn worker_to_worker(client: &Client, gib: usize) -> f64 {
    let x = persisted_blocks(client, 3, gib * 256 * (1 << 20));
    let blocks = x.submit_blocks(client).unwrap();
    let holders = client.who_has(&blocks).unwrap();
    let noop = Operation::named("noop").unwrap();
    // Best of 3: each run fetches the blocks again (a worker does not keep what it fetched
    // for one task), so every run moves the same bytes.
    let mut t = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let f = client
            .submit(Task::new(
                noop.clone(),
                blocks
                    .iter()
                    .map(|b| dask::Arg::Future(b.clone()))
                    .collect(),
            ))
            .unwrap();
        f.result().unwrap();
        t = t.min(t0.elapsed().as_secs_f64());
    }
    // The task ran where most bytes were: the blocks the other worker held moved.
    let mut per_worker: std::collections::HashMap<&str, usize> = Default::default();
    for h in &holders {
        *per_worker.entry(h[0].as_str()).or_default() += 1;
    }
    let moved = per_worker.values().min().copied().unwrap_or(0) * (8 << 20);
    assert_eq!(per_worker.len(), 2, "the blocks are on both workers");
    moved as f64 / t
}

/// The raw loopback baseline: 1 GiB through one TCP connection in 8 MiB writes, read with
/// `read_exact` into one reused buffer (`fresh = false`) or into a new 8 MiB buffer per
/// block, all kept to the end as a worker keeps what it fetched (`fresh = true`: the kernel
/// then zeroes every page first). Bytes per second, best of 3.
fn raw_tcp(fresh: bool) -> f64 {
    use std::io::{Read, Write};
    const BLOCK: usize = 8 << 20;
    const BLOCKS: usize = 128;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sender = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let block = vec![1u8; BLOCK];
            for _ in 0..BLOCKS {
                s.write_all(&block).unwrap();
            }
        });
        let mut r = std::net::TcpStream::connect(addr).unwrap();
        let t0 = Instant::now();
        let mut reused = vec![0u8; BLOCK];
        let mut kept = Vec::new();
        for _ in 0..BLOCKS {
            if fresh {
                let mut b = vec![0u8; BLOCK];
                r.read_exact(&mut b).unwrap();
                kept.push(b);
            } else {
                r.read_exact(&mut reused).unwrap();
            }
        }
        best = best.min(t0.elapsed().as_secs_f64());
        sender.join().unwrap();
        drop(kept);
    }
    (BLOCK * BLOCKS) as f64 / best
}

/// `(x + 1).sum()` over 1e8 float64 in 1e7 chunks: seconds.
fn array_sum(client: &Client) -> f64 {
    let x = Array::random_uniform(
        2,
        0.0,
        1.0,
        &[100_000_000],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![10_000_000]),
    )
    .unwrap()
    .persist(client)
    .unwrap();
    let e = x
        .binary("add", Operand::Scalar(Scalar::from(1.0)))
        .unwrap()
        .sum(None)
        .unwrap();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        let _ = e.compute(client).unwrap();
        best = best.min(t0.elapsed().as_secs_f64());
    }
    best
}

/// The scheduler alone: `tasks` tasks (a layer of roots and a layer each reading two of
/// them) over `workers` simulated workers that finish at once; transitions per second.
fn simulated(workers: u64, tasks: usize) -> (f64, f64) {
    let mut s = State::new(3);
    for w in 1..=workers {
        s.add_worker(WorkerInfo {
            id: w,
            data_addr: format!("tcp://w{w}:1"),
            nthreads: 4,
        });
    }
    let half = tasks / 2;
    let mut graph = Vec::with_capacity(tasks);
    for i in 0..half {
        graph.push((format!("r{i}"), vec![], Vec::new()));
    }
    for i in 0..half {
        graph.push((
            format!("d{i}"),
            vec![format!("r{i}"), format!("r{}", (i + 1) % half)],
            Vec::new(),
        ));
    }
    let wanted: Vec<String> = (0..half).map(|i| format!("d{i}")).collect();
    let t0 = Instant::now();
    s.update_graph(1, graph, wanted);
    let mut done = 0usize;
    while done < tasks {
        let out = std::mem::take(&mut s.out);
        if out.is_empty() {
            panic!("stalled after {done} of {tasks}");
        }
        for (d, m) in out {
            if let (
                dask::distributed::scheduler::state::Dest::Worker(w),
                dask::distributed::msg::Msg::Compute { key, .. },
            ) = (d, m.msg)
            {
                s.finished(w, &key, 8, 1, None);
                done += 1;
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    (
        s.counters.transitions as f64 / secs,
        secs / tasks as f64 * 1e9,
    )
}

#[path = "plot/mod.rs"]
mod plot;

fn main() {
    let all: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |s: &str| all.is_empty() || all.iter().any(|a| a == s);
    let here = Client::new(Config::with_threads(2)).unwrap();
    let plain = cluster(false);
    let tls = cluster(true);
    let cp = plain.client().unwrap();
    let ct = tls.client().unwrap();
    if want("tasks") {
        let n = 100_000;
        println!("no-op tasks, {n} in one graph, 2 workers x 1 thread:");
        println!("  plain TCP {:>12.0} tasks/s", noop_tasks(&cp, n));
        println!("  TLS       {:>12.0} tasks/s", noop_tasks(&ct, n));
        println!(
            "  embedded  {:>12.0} tasks/s (2 threads)",
            noop_tasks(&here, n)
        );
    }
    if want("roundtrip") {
        println!("round trip of one submitted task (median of 350):");
        println!(
            "  plain TCP {:>8.1} us",
            round_trip(&cp).as_secs_f64() * 1e6
        );
        println!(
            "  TLS       {:>8.1} us",
            round_trip(&ct).as_secs_f64() * 1e6
        );
        println!(
            "  embedded  {:>8.1} us",
            round_trip(&here).as_secs_f64() * 1e6
        );
    }
    if want("transfer") {
        println!("1 GiB of 8 MiB blocks from the workers to the client:");
        println!(
            "  plain TCP {:>8.2} GiB/s",
            transfer(&cp, 1) / (1u64 << 30) as f64
        );
        println!(
            "  TLS       {:>8.2} GiB/s",
            transfer(&ct, 1) / (1u64 << 30) as f64
        );
    }
    if want("w2w") || want("raw") {
        let gib = (1u64 << 30) as f64;
        println!("raw loopback TCP, 1 GiB in 8 MiB blocks (the baseline):");
        println!("  into one buffer     {:>8.2} GiB/s", raw_tcp(false) / gib);
        println!("  into fresh buffers  {:>8.2} GiB/s", raw_tcp(true) / gib);
    }
    if want("w2w") {
        println!("about 1 GiB of 8 MiB blocks from one worker to the other:");
        println!(
            "  plain TCP {:>8.2} GiB/s",
            worker_to_worker(&cp, 1) / (1u64 << 30) as f64
        );
        println!(
            "  TLS       {:>8.2} GiB/s",
            worker_to_worker(&ct, 1) / (1u64 << 30) as f64
        );
    }
    if want("array") {
        println!("(x + 1).sum(), 1e8 float64 in 1e7 chunks, x persisted:");
        println!("  2 workers {:>8.3} s", array_sum(&cp));
        println!("  embedded  {:>8.3} s (2 threads)", array_sum(&here));
    }
    if want("scheduler") {
        println!("scheduler alone, simulated workers (finishing at once):");
        let mut series = Vec::new();
        for n in [100_000usize, 1_000_000] {
            let mut points = Vec::new();
            for w in [10u64, 30, 100, 300, 1000] {
                let (rate, per_task) = simulated(w, n);
                println!(
                    "  {n:>7} tasks, {w:>4} workers: {rate:>12.0} transitions/s, {per_task:>7.0} ns/task"
                );
                points.push((w as f64, per_task));
            }
            let label = if n >= 1_000_000 {
                format!("{}M tasks", n / 1_000_000)
            } else {
                format!("{}k tasks", n / 1000)
            };
            series.push(plot::Series { label, points });
        }
        let png =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/scheduler-scaling.png");
        plot::line_chart(&png, "workers", "ns per task", &series).expect("the chart is written");
        println!("  curve: {}", png.display());
    }
}
