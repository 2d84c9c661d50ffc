//! Cancelling a computation stops it: tasks of a cancelled computation that have not started
//! never start, whether the future is an array's gathered result, a reduction, or plain
//! graph outputs, and the pool is free for the next work at once.

use dask::array::{Array, ChunkSpec};
use dask::runtime::{lookup_op, register_op, Arg, Client, Config, Graph, Operation, Task};
use dask::{DType, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// The tests count started blocks in one counter: they run one at a time (the test harness
/// would run them side by side, and one's blocks would count as the other's).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A block function that counts its starts and takes about a millisecond.
fn counting_blocks() -> &'static dask::runtime::OpDef {
    static OP: OnceLock<&'static dask::runtime::OpDef> = OnceLock::new();
    OP.get_or_init(|| {
        register_op("test.cancel.block", false, |inputs| {
            STARTED.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
            let meta = inputs[0].as_buffer().ok_or("no metadata")?;
            let m = meta.as_slice::<i64>().map_err(|e| e.to_string())?;
            let nd = m.len() / 3;
            let shape: Vec<usize> = m[nd..2 * nd].iter().map(|&n| n as usize).collect();
            let n: usize = shape.iter().product();
            dask::Buffer::from_vec(vec![1.0f64; n], &shape)
                .map(|b| Arc::new(Value::Buffer(b)))
                .map_err(|e| e.to_string())
        })
        .unwrap();
        lookup_op("test.cancel.block").unwrap()
    })
}

/// Cancels `f` once some blocks ran, then checks that at most the tasks running at that
/// moment (one per thread) start afterwards.
fn cancel_midway(client: &Client, f: dask::Future, total: usize) {
    while STARTED.load(Ordering::SeqCst) < 8 {
        std::thread::sleep(Duration::from_micros(200));
    }
    f.cancel();
    let at_cancel = STARTED.load(Ordering::SeqCst);
    // The next task runs at once: the cancelled blocks are not in its way.
    let noop = Operation::named("noop").unwrap();
    client
        .submit(Task::new(noop, vec![]))
        .unwrap()
        .result()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let after = STARTED.load(Ordering::SeqCst);
    assert!(
        after <= at_cancel + client.threads(),
        "{} blocks started after the cancel (of {total}; {at_cancel} before it)",
        after - at_cancel
    );
    assert!(f.error().is_some_and(|e| e.is_cancelled()));
}

#[test]
fn a_cancelled_array_computation_starts_no_more_blocks() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let client = Client::new(Config::with_threads(2)).unwrap();
    for gathered in [true, false] {
        STARTED.store(0, Ordering::SeqCst);
        // 900 blocks, summed after a sin: the shape of the reported case.
        let x = Array::from_block_fn(
            counting_blocks(),
            &[12_000, 12_000],
            DType::Float64,
            &ChunkSpec::Regular(vec![400, 400]),
        )
        .unwrap();
        let s = x.unary("sin").unwrap().sum(None).unwrap();
        let f = if gathered {
            s.submit(&client).unwrap()
        } else {
            s.submit_blocks(&client).unwrap().remove(0)
        };
        cancel_midway(&client, f, 900);
    }
}

#[test]
fn a_cancelled_graph_output_starts_none_of_what_only_it_needed() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let client = Client::new(Config::with_threads(2)).unwrap();
    let counted = register_op("test.cancel.count", false, |_| {
        STARTED.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
        Ok(Arc::new(Value::Int(1)))
    })
    .unwrap();
    let count = Operation::Registered(dask::runtime::op_by_id(counted).unwrap());
    let sum = Operation::named("sum").unwrap();
    STARTED.store(0, Ordering::SeqCst);
    let mut g = Graph::new();
    let leaves: Vec<Arg> = (0..2000)
        .map(|_| Arg::Task(g.add(Task::new(count.clone(), vec![]))))
        .collect();
    let top = g.add(Task::new(sum, leaves));
    let f = client.compute(g, &[top]).unwrap().remove(0);
    cancel_midway(&client, f, 2000);
}

/// A task cut short by the cancel (its body sees the flag and gives up with an error of its
/// own, as a gather of blocks does) reports the cancel, not its own error: the caller asked
/// for the cancel, and the error is only its echo.
#[test]
fn a_task_that_fails_because_it_was_cancelled_reports_the_cancel() {
    static ENTERED: AtomicUsize = AtomicUsize::new(0);
    static RELEASE: AtomicUsize = AtomicUsize::new(0);
    let client = Client::new(Config::with_threads(2)).unwrap();
    let gives_up = register_op("test.cancel.gives_up", false, |_| {
        ENTERED.store(1, Ordering::SeqCst);
        while RELEASE.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_micros(200));
        }
        Err("the work was cut short".to_string())
    })
    .unwrap();
    let op = Operation::Registered(dask::runtime::op_by_id(gives_up).unwrap());
    let f = client.submit(Task::new(op, vec![])).unwrap();
    while ENTERED.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_micros(200));
    }
    f.cancel();
    RELEASE.store(1, Ordering::SeqCst);
    f.wait();
    let e = f.error().expect("the task did not succeed");
    assert!(e.is_cancelled(), "reported {e} instead of the cancel");
    assert!(f.result().is_err());
}
