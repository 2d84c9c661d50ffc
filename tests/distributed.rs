//! Distributed mode against real processes: a scheduler and worker processes of the
//! `libdask` program on this machine (`LocalCluster`), checked against the same work on the
//! embedded thread pool — graphs, futures, scatter/map, dense and sparse arrays, errors,
//! worker loss, TLS and its refusals.

use dask::array::{Array, ChunkSpec, Operand, Scalar};
use dask::distributed::{LocalCluster, LocalClusterOptions, Role, Security, TemporaryCerts};
use dask::{Arg, Client, Config, Error, Graph, Operation, Task, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cluster(n_workers: usize, threads: usize, tls: bool) -> LocalCluster {
    LocalCluster::start(LocalClusterOptions {
        n_workers,
        threads_per_worker: threads,
        tls,
        worker_timeout: 5.0,
        ..LocalClusterOptions::default()
    })
    .expect("a local cluster starts")
}

fn local() -> Client {
    Client::new(Config::with_threads(2)).unwrap()
}

fn sum_op() -> Operation {
    Operation::named("sum").unwrap()
}

/// A layered graph of `sum` tasks over integers: every task reads up to three tasks of the
/// layer before.
fn layered_graph(layers: usize, width: usize) -> (Graph, Vec<dask::TaskId>) {
    let mut g = Graph::new();
    let mut prev: Vec<dask::TaskId> = (0..width)
        .map(|i| {
            g.add(Task::new(
                sum_op(),
                vec![Arg::value(i as i64), Arg::value(1i64)],
            ))
        })
        .collect();
    for l in 1..layers {
        prev = (0..width)
            .map(|i| {
                let args = (0..3)
                    .map(|k| Arg::Task(prev[(i * 7 + k * 3 + l) % width]))
                    .collect();
                g.add(Task::new(sum_op(), args))
            })
            .collect();
    }
    (g, prev)
}

fn int(f: &dask::Future) -> i64 {
    match &*f.result().unwrap() {
        Value::Int(i) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

fn ints(client: &Client, layers: usize, width: usize) -> Vec<i64> {
    let (g, outs) = layered_graph(layers, width);
    client
        .compute(g, &outs)
        .unwrap()
        .iter()
        .map(|f| match &*f.result().unwrap() {
            Value::Int(i) => *i,
            other => panic!("not an int: {other:?}"),
        })
        .collect()
}

/// The (first failed task, message) of each future, which must have failed.
fn task_errors(fs: &[dask::Future]) -> Vec<(String, String)> {
    fs.iter()
        .map(|f| match f.result() {
            Err(Error::Task(e)) => (e.key().to_string(), e.message().to_string()),
            other => panic!("expected a task error, got {other:?}"),
        })
        .collect()
}

fn buffer_f64(b: &dask::Buffer) -> Vec<f64> {
    b.as_slice::<f64>().unwrap().to_vec()
}

#[test]
fn graphs_futures_scatter_map_and_arrays_match_the_thread_pool() {
    let c = cluster(2, 2, false);
    let remote = c.client().unwrap();
    let here = local();
    assert_eq!(remote.cluster_workers().unwrap().len(), 2);
    assert_eq!(remote.threads(), 4, "the cluster's threads");

    // Graphs and futures.
    assert_eq!(ints(&remote, 6, 40), ints(&here, 6, 40));

    // Keyed graphs: the same keys in two computations are two computations.
    for round in 0..2i64 {
        let mut g = Graph::new();
        let a = g
            .add_keyed(
                "a",
                Task::new(sum_op(), vec![Arg::value(round), Arg::value(10i64)]),
            )
            .unwrap();
        let b = g
            .add_keyed(
                "b",
                Task::new(sum_op(), vec![Arg::key("a"), Arg::value(5i64)]),
            )
            .unwrap();
        let fs = remote.compute(g, &[a, b]).unwrap();
        assert_eq!(fs[0].key(), "a");
        assert_eq!(int(&fs[1]), round + 15);
    }

    // Scatter once, map over it.
    let shared = remote.scatter(Value::Int(1000)).unwrap();
    let items: Vec<Arc<Value>> = (0..20).map(|i| Arc::new(Value::Int(i))).collect();
    let fs = remote
        .map(
            &sum_op(),
            items.clone(),
            std::slice::from_ref(&shared),
            None,
        )
        .unwrap();
    let got: Vec<i64> = fs.iter().map(int).collect();
    let want: Vec<i64> = (0..20).map(|i| i + 1000).collect();
    assert_eq!(got, want);
    assert_eq!(int(&shared), 1000, "scattered data reads back");

    // A later graph reads an earlier future (its data stays on the workers).
    let mut g = Graph::new();
    let t = g.add(Task::new(
        sum_op(),
        vec![Arg::Future(fs[3].clone()), Arg::value(1i64)],
    ));
    assert_eq!(int(&remote.compute(g, &[t]).unwrap()[0]), 1004);

    // Dense arrays: (x + 1).sum() and a matrix product, bit for bit as on the pool.
    let x = Array::random_normal(
        7,
        0.0,
        1.0,
        &[300, 200],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![50, 40]),
    )
    .unwrap();
    let y = x.binary("add", Operand::Scalar(Scalar::from(1.0))).unwrap();
    let s_remote = buffer_f64(&y.sum(None).unwrap().compute(&remote).unwrap());
    let s_local = buffer_f64(&y.sum(None).unwrap().compute(&here).unwrap());
    assert_eq!(s_remote[0].to_bits(), s_local[0].to_bits());
    let xt = x.transpose(&[1, 0]).unwrap();
    let p_remote = buffer_f64(&x.matmul(&xt).unwrap().compute(&remote).unwrap());
    let p_local = buffer_f64(&x.matmul(&xt).unwrap().compute(&here).unwrap());
    assert_eq!(p_remote.len(), 300 * 300);
    let worst = p_remote
        .iter()
        .zip(&p_local)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-9, "matmul differs by {worst}");

    // Persist, then compute from the persisted blocks.
    let persisted = y.persist(&remote).unwrap();
    let again = buffer_f64(&persisted.sum(None).unwrap().compute(&remote).unwrap());
    assert_eq!(again[0].to_bits(), s_local[0].to_bits());

    // Sparse blocks.
    let sp = x.to_sparse(0.0);
    let coo_remote = sp.compute_sparse(&remote).unwrap();
    let coo_local = sp.compute_sparse(&here).unwrap();
    assert_eq!(coo_remote.nnz(), coo_local.nnz());

    // One task reading 30 blocks spread over both workers (a rechunk into one block): the
    // worker it runs on fetches the other's blocks in batched requests; the values match
    // the pool's bit for bit.
    let spread = Array::random_uniform(
        11,
        0.0,
        1.0,
        &[30 * 5000],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![5000]),
    )
    .unwrap();
    let persisted = spread.persist(&remote).unwrap();
    let blocks = persisted.submit_blocks(&remote).unwrap();
    let holders = remote.who_has(&blocks).unwrap();
    let data_addrs: Vec<String> = remote
        .cluster_workers()
        .unwrap()
        .into_iter()
        .map(|w| w.data_addr)
        .collect();
    assert!(holders.iter().all(|h| !h.is_empty()));
    assert!(holders.iter().flatten().all(|a| data_addrs.contains(a)));
    for addr in &data_addrs {
        let n = holders.iter().filter(|h| h.contains(addr)).count();
        assert!(
            n > 0,
            "{n} of 30 blocks on {addr}: spread over both workers"
        );
    }
    let one = persisted
        .rechunk(&ChunkSpec::Regular(vec![30 * 5000]))
        .unwrap();
    let got = buffer_f64(&one.compute(&remote).unwrap());
    let want = buffer_f64(&spread.compute(&here).unwrap());
    assert!(got
        .iter()
        .zip(&want)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(got.len(), want.len());
    assert!(
        here.who_has(&blocks).is_err(),
        "a pool client has no workers"
    );
}

/// A graph of more tasks than one `UpdateGraph` message holds goes in parts that the
/// scheduler starts on as they arrive; tasks reading across parts get the same answers.
#[test]
fn a_graph_sent_in_several_parts_matches_the_thread_pool() {
    let c = cluster(2, 1, false);
    let remote = c.client().unwrap();
    let here = local();
    // 5 layers of 9,000: parts of 20,000 tasks end inside layers 3 and 5.
    let want = ints(&here, 5, 9_000);
    assert_eq!(ints(&remote, 5, 9_000), want);
}

#[test]
fn errors_travel_back_with_the_task_that_failed_first() {
    let c = cluster(1, 1, false);
    let remote = c.client().unwrap();
    let here = local();
    let run = |client: &Client| {
        let mut g = Graph::new();
        let bad = g
            .add_keyed(
                "bad",
                Task::new(sum_op(), vec![Arg::value("text"), Arg::value(1i64)]),
            )
            .unwrap();
        let after = g
            .add_keyed(
                "after",
                Task::new(sum_op(), vec![Arg::key("bad"), Arg::value(1i64)]),
            )
            .unwrap();
        let fs = client.compute(g, &[bad, after]).unwrap();
        task_errors(&fs)
    };
    assert_eq!(run(&remote), run(&here));
    // A closure cannot travel: a clear error before anything is sent.
    let mut g = Graph::new();
    let t = g.add(Task::new(
        Operation::local(|_| Ok(Arc::new(Value::None))),
        vec![],
    ));
    let e = remote.compute(g, &[t]).unwrap_err();
    assert!(e.to_string().contains("cannot travel"), "{e}");
    // A message this client cannot send (a 17 MiB key: its header passes the 16 MiB limit)
    // ends the connection, and the error says so rather than blaming the scheduler.
    let mut g = Graph::new();
    let huge = "k".repeat(17 << 20);
    let t = g
        .add_keyed(&huge, Task::new(sum_op(), vec![Arg::value(1i64)]))
        .unwrap();
    let e = match remote.compute(g, &[t]) {
        Ok(fs) => fs[0].result().unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("sending to the scheduler") && e.contains("past the limit"),
        "{}",
        &e[..e.len().min(300)]
    );
}

#[test]
fn a_worker_killed_mid_graph_does_not_change_the_result() {
    let mut c = cluster(3, 1, false);
    let remote = c.client().unwrap();
    let x = Array::random_normal(
        11,
        0.0,
        1.0,
        &[3000, 2000],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![100, 100]),
    )
    .unwrap();
    let mut e = x
        .binary("multiply", Operand::Scalar(Scalar::from(0.5)))
        .unwrap();
    for op in ["exp", "log1p", "sqrt", "sin", "exp", "log1p", "cos", "exp"] {
        e = e.unary(op).unwrap();
    }
    let expr = e.sum(Some(&[1])).unwrap();
    let want = buffer_f64(&expr.compute(&local()).unwrap());
    // How long the whole takes here, so the worker dies about a third of the way in.
    let t0 = Instant::now();
    let first = buffer_f64(&expr.compute(&remote).unwrap());
    let whole = t0.elapsed();
    assert_eq!(first.len(), want.len());
    let t0 = Instant::now();
    let running = std::thread::spawn(move || expr.compute(&remote));
    std::thread::sleep(whole / 3);
    assert!(
        !running.is_finished(),
        "the graph ({whole:?}) finished before the worker was killed"
    );
    c.kill_worker(0).unwrap();
    let got = buffer_f64(&running.join().unwrap().unwrap());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.to_bits(), w.to_bits());
    }
    eprintln!(
        "computed in {whole:?}, and through the loss of a worker in {:?}",
        t0.elapsed()
    );
    assert!(
        c.log("scheduler").contains("disconnected"),
        "{}",
        c.log("scheduler")
    );
}

#[test]
fn tls_clusters_compute_and_refuse_strangers_on_both_sides() {
    let c = cluster(2, 1, true);
    assert!(c.address().starts_with("tls://"));
    let remote = c.client().unwrap();
    assert_eq!(ints(&remote, 4, 10), ints(&local(), 4, 10));

    let connect = |security: Security| {
        Client::new(Config {
            threads: 1,
            address: Some(c.address().to_string()),
            security,
            ..Config::default()
        })
    };
    // No certificate at all.
    let e = connect(Security::plain()).err().expect("refused");
    assert!(e.to_string().contains("needs TLS credentials"), "{e}");
    // A certificate from another CA.
    let other = TemporaryCerts::new(false).unwrap();
    let e = connect(other.security(Role::Client))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("unknown CA"), "{e}");
    // A worker's certificate presented by a client.
    let mine = c.certs().unwrap();
    let e = connect(mine.security(Role::Worker)).err().expect("refused");
    assert!(e.to_string().contains("certificate is a worker's"), "{e}");
    // An expired certificate.
    let expired = TemporaryCerts::new(true).unwrap();
    let mut creds = expired.client.clone();
    creds.ca_pem = mine.ca_pem.clone();
    let e = connect(Security::with_credentials(creds))
        .err()
        .expect("refused");
    assert!(
        e.to_string().contains("refused this side's certificate"),
        "{e}"
    );
    // Plain TCP to the TLS port.
    let plain = c.address().replace("tls://", "tcp://");
    let e = Client::new(Config {
        threads: 1,
        address: Some(plain),
        ..Config::default()
    })
    .err()
    .expect("refused");
    assert!(e.to_string().contains("is it a tls:// address?"), "{e}");
    // require_encryption refuses tcp:// on the client side.
    let mut strict = c.security();
    strict.require_encryption = true;
    let e = Client::new(Config {
        threads: 1,
        address: Some(c.address().replace("tls://", "tcp://")),
        security: strict,
        ..Config::default()
    })
    .err()
    .expect("refused");
    assert!(e.to_string().contains("encryption is required"), "{e}");
    // The scheduler logged the refusals.
    std::thread::sleep(Duration::from_millis(200));
    let log = c.log("scheduler");
    assert!(log.contains("refused a connection"), "{log}");
    for line in [
        "refused this side's certificate",
        "certificate is a worker's",
        "certificate has expired",
        "does not speak TLS",
    ] {
        assert!(
            log.contains(line),
            "the scheduler's log lacks '{line}':\n{log}"
        );
    }
}

#[test]
fn named_datasets_are_shared_between_clients_until_unpublished() {
    let c = cluster(2, 1, false);
    let writer = c.client().unwrap();
    let reader = c.client().unwrap();
    let x = Array::random_uniform(
        3,
        0.0,
        1.0,
        &[40, 30],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![16, 8]),
    )
    .unwrap();
    let want = buffer_f64(&x.compute(&local()).unwrap());
    x.publish(&writer, "x").unwrap();
    let e = x.publish(&writer, "x").unwrap_err();
    assert!(e.to_string().contains("exists already"), "{e}");
    assert_eq!(reader.list_datasets().unwrap(), vec!["x".to_string()]);
    // The writer goes away; the published data stays.
    drop(writer);
    let got = Array::from_dataset(&reader, "x").unwrap();
    assert_eq!(got.shape(), vec![40, 30]);
    assert_eq!(got.chunks().axes(), x.chunks().axes());
    assert_eq!(buffer_f64(&got.compute(&reader).unwrap()), want);
    reader.unpublish_dataset("x").unwrap();
    assert!(reader.list_datasets().unwrap().is_empty());
    let e = Array::from_dataset(&reader, "x").unwrap_err();
    assert!(e.to_string().contains("no dataset named 'x'"), "{e}");
    // The same calls on the embedded pool.
    let here = local();
    x.publish(&here, "y").unwrap();
    let y = Array::from_dataset(&here, "y").unwrap();
    assert_eq!(buffer_f64(&y.compute(&here).unwrap()), want);
    here.unpublish_dataset("y").unwrap();
}

/// The host-language part of a graph, as Julia and R functions join graphs: operations
/// registered as host-affine run on the thread that waits (here: the test's), never on a
/// worker.
fn host_ops() -> (Operation, Operation) {
    use std::sync::OnceLock;
    static OPS: OnceLock<(Operation, Operation)> = OnceLock::new();
    OPS.get_or_init(|| {
        let main = std::thread::current().id();
        dask::register_op("test.host_triple", true, move |inputs| {
            // Host tasks run on the host's thread, the one waiting on the result.
            if std::thread::current().id() != main {
                return Err("a host task ran on another thread".into());
            }
            let x = inputs[0].as_i64().ok_or("an integer")?;
            Ok(Arc::new(Value::from(3 * x)))
        })
        .unwrap();
        dask::register_op("test.host_fail", true, |_| Err("the host refused".into())).unwrap();
        (
            Operation::named("test.host_triple").unwrap(),
            Operation::named("test.host_fail").unwrap(),
        )
    })
    .clone()
}

#[test]
fn host_tasks_run_on_the_client_between_remote_tasks() {
    let (triple, fail) = host_ops();
    let c = cluster(2, 1, false);
    let remote = c.client().unwrap();
    let here = local();
    // remote -> host -> remote -> host, with crossings both ways and a host output.
    let run = |client: &Client| {
        let mut g = Graph::new();
        let n = 24;
        let a: Vec<_> = (0..n)
            .map(|i| {
                g.add(Task::new(
                    sum_op(),
                    vec![Arg::value(i as i64), Arg::value(1i64)],
                ))
            })
            .collect();
        let h: Vec<_> = a
            .iter()
            .map(|&t| g.add(Task::new(triple.clone(), vec![Arg::Task(t)])))
            .collect();
        let b: Vec<_> = (0..n)
            .map(|i| {
                g.add(Task::new(
                    sum_op(),
                    vec![Arg::Task(h[i]), Arg::Task(a[(i + 1) % n])],
                ))
            })
            .collect();
        let total = g.add(Task::new(
            sum_op(),
            b.iter().map(|&t| Arg::Task(t)).collect(),
        ));
        let last = g.add(Task::new(triple.clone(), vec![Arg::Task(total)]));
        let mut outs = b.clone();
        outs.push(last);
        let fs = client.compute(g, &outs).unwrap();
        fs.iter().map(int).collect::<Vec<_>>()
    };
    let got = run(&remote);
    assert_eq!(got, run(&here));
    let plain: i64 = (0..24i64).map(|i| 3 * (i + 1) + (i + 1) % 24 + 1).sum();
    assert_eq!(*got.last().unwrap(), 3 * plain);

    // A host result from an earlier computation, read by a later graph's remote task.
    let mut g = Graph::new();
    let t = g.add(Task::new(triple.clone(), vec![Arg::value(5i64)]));
    let earlier = remote.compute(g, &[t]).unwrap().remove(0);
    for _ in 0..2 {
        let mut g = Graph::new();
        let t = g.add(Task::new(
            sum_op(),
            vec![Arg::Future(earlier.clone()), Arg::value(1i64)],
        ));
        let f = remote.compute(g, &[t]).unwrap().remove(0);
        assert_eq!(int(&f), 16);
    }

    // A failing host task fails the remote tasks that read it, naming it, as on the pool.
    let errors = |client: &Client| {
        let mut g = Graph::new();
        let bad = g
            .add_keyed("host-bad", Task::new(fail.clone(), vec![Arg::value(1i64)]))
            .unwrap();
        let after = g
            .add_keyed(
                "after",
                Task::new(sum_op(), vec![Arg::key("host-bad"), Arg::value(1i64)]),
            )
            .unwrap();
        let fs = client.compute(g, &[after, bad]).unwrap();
        task_errors(&fs)
    };
    let got = errors(&remote);
    assert_eq!(got, errors(&here));
    assert_eq!(
        got[0],
        ("host-bad".to_string(), "the host refused".to_string())
    );
}

#[test]
fn lz4_compressed_messages_give_the_same_arrays() {
    let c = LocalCluster::start(LocalClusterOptions {
        n_workers: 2,
        threads_per_worker: 1,
        worker_timeout: 5.0,
        worker_args: vec!["--compression".into(), "lz4".into()],
        ..LocalClusterOptions::default()
    })
    .unwrap();
    let memory = dask::memory::MemoryConfig {
        network_compression: dask::protocol::Compression::Lz4,
        ..Default::default()
    };
    let remote = Client::new(Config {
        threads: 1,
        memory,
        address: Some(c.address().to_string()),
        ..Config::default()
    })
    .unwrap();
    let here = local();
    // Compressible blocks (a ramp repeated) that must move between the workers: a
    // transpose-and-add mixes blocks held by both; the product reads whole rows of them.
    let x = Array::arange(
        0.0,
        64.0,
        1.0,
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![16]),
    )
    .unwrap()
    .reshape(&[8, 8])
    .unwrap()
    .rechunk(&ChunkSpec::Regular(vec![4, 4]))
    .unwrap();
    let y = x
        .binary("add", Operand::Array(x.transpose(&[1, 0]).unwrap()))
        .unwrap()
        .matmul(&x)
        .unwrap();
    let got = buffer_f64(&y.compute(&remote).unwrap());
    assert_eq!(got, buffer_f64(&y.compute(&here).unwrap()));
    // And a scattered value read back through the compressed path.
    let big = Value::from(dask::Buffer::from_vec(vec![7.0f64; 100_000], &[100_000]).unwrap());
    let f = remote.scatter(big).unwrap();
    let back = f.result().unwrap();
    let Value::Buffer(b) = &*back else {
        panic!("a buffer comes back")
    };
    assert_eq!(buffer_f64(b), vec![7.0; 100_000]);
}

#[test]
fn a_worker_stopped_with_sigterm_hands_its_data_to_peers() {
    let mut c = cluster(3, 1, false);
    let remote = c.client().unwrap();
    // Scattered data has no lineage: had a worker left without handing it over, reading it
    // back would fail ("held only by a worker that was lost").
    let futures: Vec<dask::Future> = (0..30)
        .map(|i| remote.scatter(Value::Int(i * 7)).unwrap())
        .collect();
    // And a persisted array, whose blocks sit on every worker.
    let x = Array::random_normal(
        3,
        0.0,
        1.0,
        &[400, 300],
        dask::DType::Float64,
        &ChunkSpec::Regular(vec![50, 50]),
    )
    .unwrap();
    let want = buffer_f64(&x.sum(None).unwrap().compute(&local()).unwrap());
    let persisted = x.persist(&remote).unwrap();
    c.terminate_worker(0).unwrap();
    c.terminate_worker(1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while remote.cluster_workers().unwrap().len() > 1 {
        assert!(
            Instant::now() < deadline,
            "the scheduler saw the workers leave"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for (i, f) in futures.iter().enumerate() {
        assert_eq!(int(f), i as i64 * 7, "scattered value {i}");
    }
    let got = buffer_f64(&persisted.sum(None).unwrap().compute(&remote).unwrap());
    assert_eq!(got[0].to_bits(), want[0].to_bits());
    let log = c.log("worker");
    assert!(log.contains("handed"), "{log}");
}

#[test]
fn the_scheduler_asks_for_workers_while_tasks_wait_and_lets_idle_ones_go() {
    use dask::distributed::AdaptRule;
    let mut c = cluster(0, 1, false);
    let remote = c.client().unwrap();
    let rule = AdaptRule {
        min: 0,
        max: 3,
        threads_per_worker: 1,
        idle_grace: Duration::from_millis(300),
    };
    let advice = remote.adapt_advice(&rule).unwrap();
    assert_eq!(
        (advice.target, advice.workers.len()),
        (0, 0),
        "nothing to do"
    );
    // Eight roots wait with no worker: as many workers as allowed.
    let (g, outs) = layered_graph(3, 8);
    let futures = remote.compute(g, &outs).unwrap();
    let advice = remote.adapt_advice(&rule).unwrap();
    assert_eq!(advice.target, 3, "{advice:?}");
    for _ in 0..advice.target {
        c.add_worker().unwrap();
    }
    let got: Vec<i64> = futures.iter().map(int).collect();
    assert_eq!(got, ints(&local(), 3, 8));
    c.wait_for_workers(3, Duration::from_secs(20)).unwrap();
    // Values with no lineage, spread over the three workers.
    let scattered: Vec<dask::Future> = (0..12)
        .map(|i| remote.scatter(Value::Int(i * 5)).unwrap())
        .collect();
    let holders: std::collections::HashSet<String> = remote
        .who_has(&scattered)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(holders.len(), 3, "spread over every worker");
    // Idle past the grace period: two go, handing their values over; the last holder of
    // values a client still wants stays, whatever the minimum.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut retired = Vec::new();
    while remote.cluster_workers().unwrap().len() > 1 || retired.len() < 2 {
        assert!(Instant::now() < deadline, "retired {retired:?}");
        let advice = remote.adapt_advice(&rule).unwrap();
        assert!(advice.target >= 1, "{advice:?}");
        retired.extend(advice.retiring);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(retired.len(), 2, "{retired:?}");
    for (i, f) in scattered.iter().enumerate() {
        assert_eq!(int(f), i as i64 * 5, "scattered value {i}");
    }
    // Released, nothing holds the last one.
    drop(scattered);
    drop(futures);
    while !remote.cluster_workers().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the last worker did not go");
        let advice = remote.adapt_advice(&rule).unwrap();
        retired.extend(advice.retiring);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(retired.len(), 3, "{retired:?}");
    let log = c.log("worker");
    assert_eq!(log.matches("lets this idle worker go").count(), 3, "{log}");
}

/// A port nobody listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(args: &[&str], log: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_libdask"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn wait_exit(c: &mut std::process::Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(s) = c.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
    None
}

#[test]
fn workers_wait_death_timeout_for_a_scheduler_and_rejoin_one_that_returns() {
    let dir = std::env::temp_dir().join(format!("libdask-death-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // No scheduler at all: the worker gives up after --death-timeout, with an error.
    let port = free_port().to_string();
    let addr = format!("tcp://127.0.0.1:{port}");
    let t0 = Instant::now();
    let mut lonely = spawn(
        &["worker", &addr, "--death-timeout", "1", "--nthreads", "1"],
        &dir.join("lonely.log"),
    );
    let status = wait_exit(&mut lonely, Duration::from_secs(20)).expect("it exits");
    assert!(!status.success());
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    let text = std::fs::read_to_string(dir.join("lonely.log")).unwrap();
    assert!(text.contains("no scheduler at"), "{text}");

    // A scheduler that dies and comes back on the same address within the timeout.
    let sched_args = ["scheduler", "--host", "127.0.0.1", "--port", &port];
    let mut sched = spawn(&sched_args, &dir.join("s1.log"));
    let mut worker = spawn(
        &["worker", &addr, "--death-timeout", "20", "--nthreads", "1"],
        &dir.join("worker.log"),
    );
    let joined = |min: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(c) = Client::connect(&addr, Security::plain()) {
                if c.cluster_workers().map(|w| w.len()).unwrap_or(0) >= min {
                    return c;
                }
            }
            assert!(Instant::now() < deadline, "no worker joined");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    drop(joined(1));
    let _ = sched.kill();
    let _ = sched.wait();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the worker waits for a scheduler: {}",
        std::fs::read_to_string(dir.join("worker.log")).unwrap_or_default()
    );
    let mut sched = spawn(&sched_args, &dir.join("s2.log"));
    let c = joined(1);
    assert_eq!(ints(&c, 3, 10), ints(&local(), 3, 10));
    drop(c);
    let text = std::fs::read_to_string(dir.join("worker.log")).unwrap();
    assert!(text.contains("reconnected to the scheduler"), "{text}");
    // SIGTERM to the scheduler: it tells the worker to close, and both exit.
    unsafe {
        libc::kill(sched.id() as i32, libc::SIGTERM);
    }
    assert!(wait_exit(&mut sched, Duration::from_secs(10)).is_some());
    assert!(wait_exit(&mut worker, Duration::from_secs(10)).is_some());
    let _ = std::fs::remove_dir_all(&dir);
}
