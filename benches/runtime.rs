//! Runtime overhead benchmarks through the Rust API.
//!
//! Reproduce: `cargo bench --bench runtime` (or `make bench`). Figures are the best of several
//! repetitions; graph construction is included in every timing.

use dask::{wait_all, Client, Config, Graph, Operation, Task, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPS: usize = 7;

fn best<F: FnMut() -> Duration>(mut f: F) -> Duration {
    (0..REPS).map(|_| f()).min().unwrap()
}

fn independent(client: &Client, n: usize) -> Duration {
    let noop = Operation::named("noop").unwrap();
    let start = Instant::now();
    let mut g = Graph::new();
    let ids: Vec<_> = (0..n)
        .map(|_| g.add(Task::new(noop.clone(), vec![])))
        .collect();
    let fs = client.compute(g, &ids).unwrap();
    wait_all(&fs, None).unwrap();
    let t = start.elapsed();
    drop(fs);
    t
}

fn reduction_tree(client: &Client, leaves: usize) -> (Duration, usize) {
    let noop = Operation::named("noop").unwrap();
    let start = Instant::now();
    let mut g = Graph::new();
    let mut level: Vec<_> = (0..leaves)
        .map(|_| g.add(Task::new(noop.clone(), vec![])))
        .collect();
    let mut tasks = leaves;
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                g.add(Task::new(
                    noop.clone(),
                    pair.iter().map(|&t| t.into()).collect(),
                ))
            })
            .collect();
        tasks += level.len();
    }
    let fs = client.compute(g, &level).unwrap();
    fs[0].wait();
    (start.elapsed(), tasks)
}

fn chain(client: &Client, n: usize) -> Duration {
    let noop = Operation::named("noop").unwrap();
    let start = Instant::now();
    let mut g = Graph::new();
    let mut prev = g.add(Task::new(noop.clone(), vec![]));
    for _ in 1..n {
        prev = g.add(Task::new(noop.clone(), vec![prev.into()]));
    }
    let fs = client.compute(g, &[prev]).unwrap();
    fs[0].wait();
    start.elapsed()
}

fn map_with_shared(client: &Client, n: usize, shared_bytes: usize) -> Duration {
    let shared = client
        .scatter(Value::Bytes(vec![7u8; shared_bytes].into()))
        .unwrap();
    // Reads one byte of the shared data: the work is constant, so any growth with the size
    // of the shared data would be copying.
    let op = Operation::local(|inputs| {
        let Value::Bytes(b) = &*inputs[1] else {
            return Err("bytes expected".into());
        };
        let i = inputs[0].as_i64().unwrap() as usize % b.len();
        Ok(Arc::new(Value::Int(b[i] as i64)))
    });
    best(|| {
        let items: Vec<Arc<Value>> = (0..n as i64).map(|i| Arc::new(Value::Int(i))).collect();
        let start = Instant::now();
        let fs = client
            .map(&op, items, std::slice::from_ref(&shared), None)
            .unwrap();
        wait_all(&fs, None).unwrap();
        let t = start.elapsed();
        drop(fs);
        t
    })
}

fn main() {
    let client = Client::new(Config::default()).unwrap();
    println!(
        "libdask runtime benchmarks (Rust API), {} threads",
        client.threads()
    );
    println!("reproduce: cargo bench --bench runtime");
    let n = 100_000;
    let t = best(|| independent(&client, n));
    println!(
        "independent no-op tasks: {n} in {:.1} ms = {:.2} M tasks/s (target >= 1.5 M/s)",
        t.as_secs_f64() * 1e3,
        n as f64 / t.as_secs_f64() / 1e6
    );
    let mut tasks = 0;
    let t = best(|| {
        let (t, k) = reduction_tree(&client, n);
        tasks = k;
        t
    });
    println!(
        "binary reduction tree: {tasks} tasks ({n} leaves) in {:.1} ms = {:.3} us/task (target < 1 us)",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e6 / tasks as f64
    );
    let len = 10_000;
    let t = best(|| chain(&client, len));
    println!(
        "chain: {len} dependent tasks in {:.2} ms = {:.3} us/task (target < 1 us)",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e6 / len as f64
    );
    for mb in [1usize, 200] {
        let t = map_with_shared(&client, n, mb << 20);
        println!(
            "map over {n} items with a {mb} MB scattered array: {:.1} ms ({:.2} M items/s)",
            t.as_secs_f64() * 1e3,
            n as f64 / t.as_secs_f64() / 1e6
        );
    }
}
