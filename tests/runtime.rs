//! Integration tests of the runtime through the Rust API: results are checked against a
//! sequential evaluation of the same graph.

use dask::{
    register_op, wait_all, Arg, AsCompleted, Client, Config, Error, FutureStatus, Graph, Operation,
    Task, Value,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn client(threads: usize) -> Client {
    Client::new(Config::with_threads(threads)).unwrap()
}

fn sum_op() -> Operation {
    Operation::named("sum").unwrap()
}

/// A tiny deterministic generator so the tests need no extra crates.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Ops shared by the tests, registered once per process.
fn test_ops() -> &'static (Operation, Operation, Operation) {
    static OPS: OnceLock<(Operation, Operation, Operation)> = OnceLock::new();
    OPS.get_or_init(|| {
        // mix(a, b, ...) = (sum of inputs * 31 + count) mod 2^61: order-independent, cheap, and
        // sensitive to any wrong or missing input.
        let mix = register_op("test.mix", false, |inputs| {
            let mut acc: u64 = 0;
            for v in inputs {
                acc = acc.wrapping_add(v.as_i64().ok_or("mix takes ints")? as u64);
            }
            Ok(Arc::new(Value::Int(
                ((acc.wrapping_mul(31).wrapping_add(inputs.len() as u64)) % (1 << 61)) as i64,
            )))
        })
        .unwrap();
        let fail = register_op("test.fail", false, |_| {
            Err("boom: deliberate failure".to_string())
        })
        .unwrap();
        let sleep = register_op("test.sleep_ms", false, |inputs| {
            let ms = inputs.first().and_then(|v| v.as_i64()).unwrap_or(1);
            std::thread::sleep(Duration::from_millis(ms as u64));
            Ok(Arc::new(Value::Int(ms)))
        })
        .unwrap();
        let _ = (mix, fail, sleep);
        (
            Operation::named("test.mix").unwrap(),
            Operation::named("test.fail").unwrap(),
            Operation::named("test.sleep_ms").unwrap(),
        )
    })
}

fn mix_seq(inputs: &[i64]) -> i64 {
    let acc = inputs.iter().fold(0u64, |a, &v| a.wrapping_add(v as u64));
    ((acc.wrapping_mul(31).wrapping_add(inputs.len() as u64)) % (1 << 61)) as i64
}

/// A random DAG: task i depends on up to 3 earlier tasks (keyed, added in shuffled order so
/// keys are resolved forward and backward), plus a literal.
fn random_dag(n: usize, seed: u64) -> (Graph, Vec<i64>, Vec<String>) {
    let (mix, _, _) = test_ops();
    let mut rng = Rng(seed);
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut expected = Vec::with_capacity(n);
    for i in 0..n {
        let k = if i == 0 { 0 } else { rng.below(4) as usize };
        let d: Vec<usize> = (0..k).map(|_| rng.below(i as u64) as usize).collect();
        let mut inputs: Vec<i64> = d.iter().map(|&j| expected[j]).collect();
        inputs.push(i as i64);
        expected.push(mix_seq(&inputs));
        deps.push(d);
    }
    let keys: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut g = Graph::new();
    for &i in &order {
        let mut args: Vec<Arg> = deps[i].iter().map(|&j| Arg::key(&keys[j])).collect();
        args.push(Arg::value(i as i64));
        g.add_keyed(&keys[i], Task::new(mix.clone(), args)).unwrap();
    }
    (g, expected, keys)
}

#[test]
fn graph_results_match_sequential_evaluation_100k() {
    let c = client(2);
    let (g, expected, keys) = random_dag(100_000, 42);
    let outputs: Vec<_> = keys.iter().map(|k| g.id_of(k).unwrap()).collect();
    let futures = c.compute(g, &outputs).unwrap();
    wait_all(&futures, None).unwrap();
    for (i, f) in futures.iter().enumerate() {
        assert_eq!(f.result().unwrap().as_i64(), Some(expected[i]), "task {i}");
    }
}

#[test]
fn the_built_in_noop_and_identity_operations() {
    let c = client(2);
    let data: Arc<Value> = Arc::new(Value::from(vec![1u8, 2, 3]));
    let mut g = Graph::new();
    let id = g.add(Task::new(
        Operation::named("identity").unwrap(),
        vec![Arg::Value(data.clone())],
    ));
    let none = g.add(Task::new(
        Operation::named("noop").unwrap(),
        vec![Arg::Task(id)],
    ));
    let out = c.compute(g, &[id, none]).unwrap();
    // identity hands its input on, shared rather than copied.
    assert!(Arc::ptr_eq(&out[0].result().unwrap(), &data));
    assert!(matches!(*out[1].result().unwrap(), Value::None));
    let empty = c
        .submit(Task::new(Operation::named("identity").unwrap(), vec![]))
        .unwrap();
    assert!(empty.result().is_err(), "identity of nothing is an error");
}

#[test]
fn culled_outputs_only_and_intermediates_are_freed() {
    let c = client(2);
    let (g, expected, keys) = random_dag(20_000, 7);
    let last = g.id_of(&keys[19_999]).unwrap();
    let out = c.compute(g, &[last]).unwrap();
    assert_eq!(out[0].result().unwrap().as_i64(), Some(expected[19_999]));
}

#[test]
fn eight_threads_submit_concurrently() {
    let c = client(2);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let c = c.clone();
            s.spawn(move || {
                for round in 0..5 {
                    let (g, expected, keys) = random_dag(3_000, 1000 * t + round + 1);
                    let outs: Vec<_> = keys.iter().map(|k| g.id_of(k).unwrap()).collect();
                    let fs = c.compute(g, &outs).unwrap();
                    for (i, f) in fs.iter().enumerate() {
                        assert_eq!(f.result().unwrap().as_i64(), Some(expected[i]));
                    }
                }
            });
        }
    });
}

#[test]
fn a_failing_task_fails_its_dependents_with_the_original_message() {
    let c = client(2);
    let (mix, fail, _) = test_ops();
    let mut g = Graph::new();
    // A large graph: a wide layer, one failing task among it, then a reduction over all.
    let mut layer = Vec::new();
    for i in 0..10_000i64 {
        layer.push(g.add(Task::new(mix.clone(), vec![Arg::value(i)])));
    }
    let bad = g
        .add_keyed(
            "the-bad-one",
            Task::new(fail.clone(), vec![layer[17].into()]),
        )
        .unwrap();
    let ok_branch = g
        .add_keyed("ok-branch", Task::new(mix.clone(), vec![layer[3].into()]))
        .unwrap();
    let mut args: Vec<Arg> = layer.iter().map(|&t| t.into()).collect();
    args.push(bad.into());
    let total = g.add_keyed("total", Task::new(mix.clone(), args)).unwrap();
    let after = g
        .add_keyed("after", Task::new(mix.clone(), vec![total.into()]))
        .unwrap();
    let fs = c.compute(g, &[after, ok_branch, bad]).unwrap();
    let err = fs[0].result().unwrap_err();
    match &err {
        Error::Task(e) => {
            assert_eq!(e.key(), "the-bad-one");
            assert!(e.message().contains("boom: deliberate failure"));
            assert!(!e.is_cancelled());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fs[0].status(), FutureStatus::Error);
    assert_eq!(
        fs[1].result().unwrap().as_i64(),
        Some(mix_seq(&[mix_seq(&[3])]))
    );
    assert_eq!(fs[2].error().unwrap().key(), "the-bad-one");
}

#[test]
fn a_panicking_task_is_an_error_not_a_crash() {
    let c = client(2);
    let f = c
        .submit(Task::new(
            Operation::local(|_| panic!("kaboom in a task")),
            vec![],
        ))
        .unwrap();
    let err = f.result().unwrap_err().to_string();
    assert!(
        err.contains("panicked") && err.contains("kaboom in a task"),
        "{err}"
    );
    // The pool still works.
    let g = c
        .submit(Task::new(
            sum_op(),
            vec![Arg::value(2i64), Arg::value(3i64)],
        ))
        .unwrap();
    assert_eq!(g.result().unwrap().as_i64(), Some(5));
}

#[test]
fn cancelling_in_the_middle_of_a_running_graph() {
    let c = client(2);
    let (mix, _, sleep) = test_ops();
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = {
        let ran = ran.clone();
        Operation::local(move |inputs| {
            ran.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2));
            Ok(inputs
                .first()
                .cloned()
                .unwrap_or_else(|| Arc::new(Value::Int(0))))
        })
    };
    let mut g = Graph::new();
    // Chain of 2,000 slow tasks; an unrelated branch shares only the first task.
    let first = g.add(Task::new(sleep.clone(), vec![Arg::value(1i64)]));
    let mut prev = first;
    for _ in 0..2_000 {
        prev = g.add(Task::new(counted.clone(), vec![prev.into()]));
    }
    let side = g.add(Task::new(mix.clone(), vec![first.into()]));
    let fs = c.compute(g, &[prev, side]).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    fs[0].cancel();
    let err = fs[0].result().unwrap_err();
    assert!(
        matches!(&err, Error::Task(e) if e.is_cancelled()),
        "{err:?}"
    );
    assert_eq!(fs[0].status(), FutureStatus::Cancelled);
    let ran_at_cancel = ran.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    let ran_later = ran.load(Ordering::SeqCst);
    assert!(
        ran_later <= ran_at_cancel + 2,
        "tasks kept running after cancel: {ran_at_cancel} -> {ran_later}"
    );
    assert!(ran_later < 2_000);
    // The side branch, which shared only the first task, is unaffected.
    assert_eq!(fs[1].result().unwrap().as_i64(), Some(mix_seq(&[1])));
}

#[test]
fn dropping_the_last_future_cancels_work_only_it_needed() {
    let c = client(1);
    let (_, _, sleep) = test_ops();
    let blocker = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(100i64)]))
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = {
        let ran = ran.clone();
        Operation::local(move |_| {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(Arc::new(Value::None))
        })
    };
    let mut g = Graph::new();
    let a = g.add(Task::new(counted.clone(), vec![(&blocker).into()]));
    let b = g.add(Task::new(counted.clone(), vec![a.into()]));
    let fs = c.compute(g, &[b]).unwrap();
    drop(fs);
    blocker.wait();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ran.load(Ordering::SeqCst), 0, "released work must not run");
}

#[test]
fn scatter_and_map_share_data_without_copies_and_free_it_after() {
    let c = client(2);
    let big = dask::Buffer::from_vec(
        (0..1_000_000).map(|x| x as f64).collect::<Vec<f64>>(),
        &[1_000_000],
    )
    .unwrap();
    let data_ptr = big.as_ptr() as usize;
    let scattered = c.scatter(Value::Buffer(big)).unwrap();
    assert!(c.memory_stats().managed_bytes >= 8_000_000);
    let op = Operation::local(move |inputs| {
        let i = inputs[0].as_i64().unwrap() as usize;
        let b = inputs[1].as_buffer().unwrap();
        assert_eq!(
            b.as_ptr() as usize,
            data_ptr,
            "shared data must not be copied"
        );
        Ok(Arc::new(Value::Float(
            b.as_slice::<f64>().unwrap()[i * 1000],
        )))
    });
    let items: Vec<Arc<Value>> = (0..1000i64).map(|i| Arc::new(Value::Int(i))).collect();
    let fs = c
        .map(&op, items, std::slice::from_ref(&scattered), None)
        .unwrap();
    for (i, f) in fs.iter().enumerate() {
        assert_eq!(f.result().unwrap().as_f64(), Some((i * 1000) as f64));
    }
    drop(fs);
    drop(scattered);
    assert_eq!(
        c.memory_stats().managed_bytes,
        0,
        "released values leave the store"
    );
}

#[test]
fn progress_reaches_the_total_and_never_goes_back() {
    let c = client(2);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (mut g, _, keys) = random_dag(5_000, 3);
    let outs: Vec<_> = keys.iter().map(|k| g.id_of(k).unwrap()).collect();
    let s = seen.clone();
    g.set_progress(Arc::new(move |done, total| {
        s.lock().unwrap().push((done, total))
    }));
    let fs = c.compute(g, &outs).unwrap();
    wait_all(&fs, None).unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(*seen.last().unwrap(), (5_000, 5_000));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(seen.len() <= 1001);
}

#[test]
fn wait_timeouts_done_callbacks_and_as_completed() {
    // Enough threads for the slow task and the three timed ones to run side by side.
    let c = client(4);
    let (_, _, sleep) = test_ops();
    let slow = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(200i64)]))
        .unwrap();
    assert!(!slow.wait_timeout(Duration::from_millis(10)));
    assert!(matches!(
        slow.result_timeout(Duration::from_millis(1)),
        Err(Error::Timeout(_))
    ));
    let fired = Arc::new(AtomicUsize::new(0));
    let f2 = fired.clone();
    slow.add_done_callback(move |f| {
        assert!(f.is_done());
        f2.fetch_add(1, Ordering::SeqCst);
    });
    let fs: Vec<_> = [60i64, 5, 30]
        .iter()
        .map(|&ms| {
            c.submit(Task::new(sleep.clone(), vec![Arg::value(ms)]))
                .unwrap()
        })
        .collect();
    let order: Vec<i64> = AsCompleted::new(fs)
        .map(|f| f.result().unwrap().as_i64().unwrap())
        .collect();
    assert_eq!(order, [5, 30, 60]);
    slow.wait();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    // Already done: the callback runs at once, on this thread.
    let here = std::thread::current().id();
    let same = Arc::new(Mutex::new(None));
    let s2 = same.clone();
    slow.add_done_callback(move |_| *s2.lock().unwrap() = Some(std::thread::current().id()));
    assert_eq!(*same.lock().unwrap(), Some(here));
}

#[test]
fn waiting_inside_a_task_does_not_deadlock_the_pool() {
    let c = client(1);
    let inner_client = c.clone();
    let outer = Operation::local(move |_| {
        // One pool thread, and the task waits on work that needs that thread.
        let f = inner_client
            .submit(Task::new(
                sum_op(),
                vec![Arg::value(40i64), Arg::value(2i64)],
            ))
            .map_err(|e| e.to_string())?;
        f.result().map_err(|e| e.to_string())
    });
    let f = c.submit(Task::new(outer, vec![])).unwrap();
    assert_eq!(
        f.result_timeout(Duration::from_secs(10)).unwrap().as_i64(),
        Some(42)
    );
}

#[test]
fn host_tasks_run_on_the_waiting_host_thread() {
    let c = client(2);
    let host_thread = std::thread::current().id();
    let on_host = Operation::local_host(move |inputs| {
        assert_eq!(
            std::thread::current().id(),
            host_thread,
            "host task ran off the host thread"
        );
        Ok(Arc::new(Value::Int(inputs[0].as_i64().unwrap() * 10)))
    });
    let mut g = Graph::new();
    let a = g.add(Task::new(
        sum_op(),
        vec![Arg::value(1i64), Arg::value(2i64)],
    ));
    let h = g.add(Task::new(on_host.clone(), vec![a.into()]));
    let b = g.add(Task::new(sum_op(), vec![h.into(), Arg::value(5i64)]));
    let fs = c.compute(g, &[b]).unwrap();
    assert_eq!(fs[0].result().unwrap().as_i64(), Some(35));

    // Polling from an event loop instead of waiting.
    let notified = Arc::new(AtomicUsize::new(0));
    let n2 = notified.clone();
    c.set_host_notify(Some(Arc::new(move || {
        n2.fetch_add(1, Ordering::SeqCst);
    })));
    let f = c
        .submit(Task::new(on_host, vec![Arg::value(4i64)]))
        .unwrap();
    let start = Instant::now();
    while c.run_host_tasks(16) == 0 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    assert!(f.is_done());
    assert_eq!(f.result().unwrap().as_i64(), Some(40));
    assert!(notified.load(Ordering::SeqCst) >= 1);
    c.set_host_notify(None);
}

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[test]
fn futures_are_awaitable_on_two_executors() {
    let c = client(2);
    let (_, _, sleep) = test_ops();
    let f = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(20i64)]))
        .unwrap();
    assert_eq!(block_on(f).unwrap().as_i64(), Some(20));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let f1 = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(15i64)]))
        .unwrap();
    let f2 = c
        .submit(Task::new(
            sum_op(),
            vec![Arg::value(1i64), Arg::value(1i64)],
        ))
        .unwrap();
    let total = rt.block_on(async move {
        let a = tokio::spawn(f1).await.unwrap().unwrap();
        let b = f2.await.unwrap();
        a.as_i64().unwrap() + b.as_i64().unwrap()
    });
    assert_eq!(total, 17);
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn creating_and_dropping_clients_does_not_leak_threads() {
    let before = thread_count();
    for _ in 0..200 {
        let c = client(3);
        let f = c
            .submit(Task::new(sum_op(), vec![Arg::value(1i64)]))
            .unwrap();
        assert_eq!(f.result().unwrap().as_i64(), Some(1));
    }
    // Other tests run in parallel threads; allow their workers but not 200 * 3 leaked ones.
    let after = thread_count();
    assert!(
        after < before + 40,
        "threads before {before}, after {after}"
    );
}

#[test]
fn closing_a_client_cancels_pending_work() {
    let c = client(1);
    let (_, _, sleep) = test_ops();
    let running = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(50i64)]))
        .unwrap();
    let queued = c
        .submit(Task::new(sleep.clone(), vec![Arg::value(50i64)]))
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    drop(c);
    assert!(running.is_done() && queued.is_done());
    let err = queued.result().unwrap_err().to_string();
    assert!(err.contains("closed"), "{err}");
}

#[test]
fn closing_a_client_while_a_task_waits_inside_the_pool_does_not_hang() {
    let c = client(1);
    // A host task nobody will run, and a pool task that waits for it.
    let never = c
        .submit(Task::new(
            Operation::local_host(|_| Ok(Arc::new(Value::None))),
            vec![],
        ))
        .unwrap();
    let slot = Arc::new(Mutex::new(Some(never)));
    let waiting = Operation::local(move |_| {
        let f = slot.lock().unwrap().take().ok_or("ran twice")?;
        f.wait();
        Ok(Arc::new(Value::None))
    });
    let w = c.submit(Task::new(waiting, vec![])).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(c);
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(Duration::from_secs(10)).is_ok(),
        "closing the client hung"
    );
    assert!(w.is_done());
}
