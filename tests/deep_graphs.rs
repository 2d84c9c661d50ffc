//! Graphs a user can make arbitrarily long: iterative algorithms build elementwise chains of
//! 10^5–10^6 operations (`x = x + 1` in a loop), and wide-and-deep lattices. Building,
//! computing and freeing them must neither overflow the stack nor take memory or time that
//! grows faster than the chain: every walk is iterative and long chains fuse into bounded
//! kernels. Each result is checked against a sequential evaluation of the same recurrence.

mod common;

use common::client;
use dask::array::{Array, ChunkSpec};
use dask::runtime::{Arg, Graph, Operation, Task};
use dask::DType;
use std::sync::Arc;

/// `x + 1` applied `n` times to a chunked array of `len` elements, then summed.
fn add_chain(n: usize, len: usize, chunk: usize) {
    let x0 = Array::arange(
        0.0,
        len as f64,
        1.0,
        DType::Float64,
        &ChunkSpec::Regular(vec![chunk]),
    )
    .unwrap();
    let mut x = x0.clone();
    for _ in 0..n {
        x = x.binary("add", 1.0).unwrap();
    }
    let total = x.sum(None).unwrap().compute(client()).unwrap();
    // Sequential: each element i becomes i + n; the values are exact in float64.
    let expected: f64 = (0..len).map(|i| (i + n) as f64).sum();
    assert_eq!(total.as_slice::<f64>().unwrap(), &[expected]);

    let blocks = x.compute(client()).unwrap();
    let want: Vec<f64> = (0..len).map(|i| (i + n) as f64).collect();
    assert_eq!(blocks.as_slice::<f64>().unwrap(), &want[..]);
    // Dropping the last handle frees the whole chain (iteratively).
    drop(x);
    drop(x0);
}

#[test]
fn a_chain_of_100_000_adds_computes_and_frees() {
    add_chain(100_000, 1000, 300);
}

#[test]
fn a_chain_of_a_million_adds_computes_and_frees() {
    add_chain(1_000_000, 64, 64);
}

#[test]
fn a_long_chain_never_computed_is_freed_without_recursion() {
    let mut x = Array::ones(&[4], DType::Int64, &ChunkSpec::Regular(vec![2])).unwrap();
    for _ in 0..1_000_000 {
        x = x.binary("multiply", 1i64).unwrap();
    }
    drop(x);
}

#[test]
fn a_chain_of_mixed_ufuncs_and_casts_matches_a_sequential_loop() {
    // x -> (x * 1.0001 + 0.5).floor() as int64 ... alternating, 20,000 steps.
    let len = 257;
    let mut x = Array::arange(
        0.0,
        len as f64,
        1.0,
        DType::Float64,
        &ChunkSpec::Regular(vec![64]),
    )
    .unwrap();
    let mut reference: Vec<f64> = (0..len).map(|i| i as f64).collect();
    for step in 0..20_000 {
        match step % 4 {
            0 => {
                x = x.binary("multiply", 0.999).unwrap();
                reference.iter_mut().for_each(|v| *v *= 0.999);
            }
            1 => {
                x = x.binary("add", 3.0).unwrap();
                reference.iter_mut().for_each(|v| *v += 3.0);
            }
            2 => {
                x = x.astype(DType::Float32).astype(DType::Float64);
                reference.iter_mut().for_each(|v| *v = *v as f32 as f64);
            }
            _ => {
                x = x
                    .unary("sqrt")
                    .unwrap()
                    .binary("multiply", x.clone())
                    .unwrap();
                reference.iter_mut().for_each(|v| *v *= v.sqrt());
                // Keep values bounded: x = x / (1 + x) * 100
                x = x
                    .binary("true_divide", x.binary("add", 1.0).unwrap())
                    .unwrap()
                    .binary("multiply", 100.0)
                    .unwrap();
                reference
                    .iter_mut()
                    .for_each(|v| *v = *v / (1.0 + *v) * 100.0);
            }
        }
    }
    let got = x.compute(client()).unwrap();
    assert_eq!(got.as_slice::<f64>().unwrap(), &reference[..]);
}

#[test]
fn a_wide_and_deep_lattice_of_arrays_matches_a_sequential_evaluation() {
    // 64 arrays per layer, 400 layers; each array of a layer is the sum of two neighbours
    // of the previous layer (mod 1000 to stay exact), so every node has two consumers.
    let width = 64;
    let depth = 400;
    let mut layer: Vec<Array> = (0..width)
        .map(|i| Array::full(&[10], i as i64, DType::Int64, &ChunkSpec::Regular(vec![5])).unwrap())
        .collect();
    let mut reference: Vec<i64> = (0..width as i64).collect();
    for _ in 0..depth {
        layer = (0..width)
            .map(|i| {
                layer[i]
                    .binary("add", layer[(i + 1) % width].clone())
                    .unwrap()
                    .binary("remainder", 1000i64)
                    .unwrap()
            })
            .collect();
        reference = (0..width)
            .map(|i| (reference[i] + reference[(i + 1) % width]) % 1000)
            .collect();
    }
    let total = Array::stack(&layer, 0).unwrap().sum(Some(&[1])).unwrap();
    let got = total.compute(client()).unwrap();
    let want: Vec<i64> = reference.iter().map(|v| v * 10).collect();
    assert_eq!(got.as_slice::<i64>().unwrap(), &want[..]);
}

#[test]
fn a_deep_and_wide_task_graph_runs_and_frees() {
    // 200 tasks wide, 2,000 deep: every task sums two tasks of the previous layer.
    let sum = Operation::named("sum").unwrap();
    let (width, depth) = (200usize, 2_000usize);
    let mut g = Graph::new();
    let mut prev: Vec<_> = (0..width)
        .map(|i| g.add(Task::new(sum.clone(), vec![Arg::value(i as i64)])))
        .collect();
    let mut reference: Vec<i64> = (0..width as i64).collect();
    for _ in 0..depth {
        prev = (0..width)
            .map(|i| {
                g.add(Task::new(
                    sum.clone(),
                    vec![Arg::Task(prev[i]), Arg::Task(prev[(i + 7) % width])],
                ))
            })
            .collect();
        reference = (0..width)
            .map(|i| reference[i].wrapping_add(reference[(i + 7) % width]))
            .collect();
    }
    let futures = client().compute(g, &prev).unwrap();
    for (f, want) in futures.iter().zip(&reference) {
        assert_eq!(f.result().unwrap().as_i64(), Some(*want));
    }
    drop(futures);
}

#[test]
fn a_chain_of_a_million_single_task_dependencies_runs() {
    // On a cluster every link is a round trip through the scheduler (~140 us here): the
    // chain is 100,000 long there, to stay within the suite's time.
    let n: i64 = if std::env::var_os("DASK_SCHEDULER_ADDRESS").is_some() {
        println!("on a cluster: a chain of 100,000 (each link a scheduler round trip)");
        100_000
    } else {
        1_000_000
    };
    let sum = Operation::named("sum").unwrap();
    let mut g = Graph::new();
    let mut last = g.add(Task::new(sum.clone(), vec![Arg::value(0i64)]));
    for _ in 0..n {
        last = g.add(Task::new(
            sum.clone(),
            vec![Arg::Task(last), Arg::value(1i64)],
        ));
    }
    let f = client().compute(g, &[last]).unwrap().remove(0);
    assert_eq!(f.result().unwrap().as_i64(), Some(n));
    let _ = Arc::new(f);
}
