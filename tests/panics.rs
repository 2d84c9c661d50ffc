//! Panics outside a task's own body — finishing a task and storing its result, the worker
//! loop, the spiller — are contained: the thread lives on, the affected futures fail with an
//! error naming the cause (their dependents with them), and the client keeps working with
//! all its threads. Failure points (`dask::failpoint`) make the library panic on purpose.
//!
//! The failure points are process-wide, so the tests here run one at a time (a lock).

use dask::memory::MemoryConfig;
use dask::runtime::{register_op, Arg, Client, Config, Graph, Operation, Task};
use dask::{failpoint, Value};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;

static SERIAL: Mutex<()> = Mutex::new(());

fn sum() -> Operation {
    Operation::named("sum").unwrap()
}

/// An operation that waits until `n` copies of it run at once: it completes only when the
/// pool has `n` live workers.
fn rendezvous(n: usize) -> Operation {
    static OPS: OnceLock<Mutex<Vec<(usize, Operation)>>> = OnceLock::new();
    let ops = OPS.get_or_init(|| Mutex::new(Vec::new()));
    let mut ops = ops.lock();
    if let Some((_, op)) = ops.iter().find(|(k, _)| *k == n) {
        return op.clone();
    }
    let barrier = Arc::new(Barrier::new(n));
    let id = register_op(&format!("test.panics.rendezvous{n}"), false, move |_| {
        barrier.wait();
        Ok(Arc::new(Value::Int(1)))
    })
    .unwrap();
    let op = Operation::Registered(dask::runtime::op_by_id(id).unwrap());
    ops.push((n, op.clone()));
    op
}

/// All `threads` workers are alive: `threads` tasks that wait for each other complete.
fn assert_all_workers_alive(client: &Client) {
    let n = client.threads();
    let op = rendezvous(n);
    let mut g = Graph::new();
    let ids: Vec<_> = (0..n)
        .map(|_| g.add(Task::new(op.clone(), vec![])))
        .collect();
    for f in client.compute(g, &ids).unwrap() {
        assert!(
            f.result_timeout(Duration::from_secs(20)).is_ok(),
            "a worker thread was lost"
        );
    }
}

#[test]
fn a_panic_while_finishing_a_task_fails_it_and_its_dependents() {
    let _serial = SERIAL.lock();
    let client = Client::new(Config::with_threads(2)).unwrap();
    failpoint::arm("run.finish", 1);
    let mut g = Graph::new();
    let a = g.add(Task::new(sum(), vec![Arg::value(1i64), Arg::value(2i64)]));
    let b = g.add(Task::new(sum(), vec![Arg::Task(a), Arg::value(10i64)]));
    let out = client.compute(g, &[a, b]).unwrap();
    for f in &out {
        let err = f
            .result_timeout(Duration::from_secs(20))
            .expect_err("the task failed")
            .to_string();
        assert!(
            err.contains("internal error") && err.contains("run.finish"),
            "{err}"
        );
    }
    assert_eq!(failpoint::remaining("run.finish"), 0);
    // The client goes on, with both threads.
    let f = client
        .submit(Task::new(sum(), vec![Arg::value(40i64), Arg::value(2i64)]))
        .unwrap();
    assert_eq!(f.result().unwrap().as_i64(), Some(42));
    assert_all_workers_alive(&client);
}

#[test]
fn a_panic_in_the_worker_loop_does_not_lose_the_worker() {
    let _serial = SERIAL.lock();
    let client = Client::new(Config::with_threads(2)).unwrap();
    failpoint::arm("worker.loop", 5);
    // Work that keeps the workers going through their loops.
    for i in 0..50i64 {
        let f = client
            .submit(Task::new(sum(), vec![Arg::value(i), Arg::value(1i64)]))
            .unwrap();
        assert_eq!(
            f.result_timeout(Duration::from_secs(20)).unwrap().as_i64(),
            Some(i + 1)
        );
    }
    failpoint::arm("worker.loop", 0);
    assert_all_workers_alive(&client);
}

#[test]
fn a_panicking_spiller_fails_the_tasks_waiting_for_memory_instead_of_hanging() {
    let _serial = SERIAL.lock();
    let dir = std::env::temp_dir();
    let config = Config {
        threads: 2,
        memory: MemoryConfig {
            limit: Some(32 << 20),
            spill_dir: Some(dir),
            ..MemoryConfig::default()
        },
        ..Config::default()
    };
    let client = Client::new(config).unwrap();
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let make = register_op("test.panics.block", false, |_| {
        MADE.fetch_add(1, Ordering::SeqCst);
        let b = dask::Buffer::from_vec(vec![1.0f64; 1 << 20], &[1 << 20]).unwrap();
        Ok(Arc::new(Value::Buffer(b)))
    })
    .unwrap();
    let make = Operation::Registered(dask::runtime::op_by_id(make).unwrap());
    failpoint::arm("spiller.round", usize::MAX);
    // 64 MiB of blocks kept by their futures: past the pause threshold, with no spiller.
    let mut g = Graph::new();
    let ids: Vec<_> = (0..8)
        .map(|_| g.add(Task::new(make.clone(), vec![])))
        .collect();
    let futures = client.compute(g, &ids).unwrap();
    let mut failed = 0;
    for f in &futures {
        match f.result_timeout(Duration::from_secs(30)) {
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("spiller failed"), "{msg}");
                assert!(msg.contains("spiller.round"), "{msg}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "some tasks waited for memory and were told why");
    failpoint::arm("spiller.round", 0);
    drop(futures);
    // With the spiller working again, the same work completes (spilling as needed).
    let mut g = Graph::new();
    let ids: Vec<_> = (0..8)
        .map(|_| g.add(Task::new(make.clone(), vec![])))
        .collect();
    for f in client.compute(g, &ids).unwrap() {
        assert!(f.result_timeout(Duration::from_secs(30)).is_ok());
    }
    assert_all_workers_alive(&client);
}
