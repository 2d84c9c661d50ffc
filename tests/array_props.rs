//! Property-based tests (proptest, fixed seed, 64 cases each): broadcasting, slicing,
//! rechunking and reductions on random small shapes (up to 3-d), random irregular chunkings
//! and random indices, compared with the dense reference.

mod common;

use common::*;
use dask::array::{ChunkSpec, Index, ReduceOp};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x5eed_da5c),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Block sizes adding up to `n`: candidate sizes in 0..=n taken until they reach `n` (so
/// some blocks have length 0, which dask allows), the rest in one last block.
fn splits(n: usize) -> BoxedStrategy<Vec<usize>> {
    if n == 0 {
        return Just(vec![0]).boxed();
    }
    prop::collection::vec(0..=n, 1..=n)
        .prop_map(move |cands| {
            let mut out = Vec::new();
            let mut left = n;
            for c in cands {
                if left == 0 {
                    break;
                }
                let s = c.min(left);
                out.push(s);
                left -= s;
            }
            if left > 0 {
                out.push(left);
            }
            out
        })
        .boxed()
}

fn chunks_for(shape: &[usize]) -> impl Strategy<Value = ChunkSpec> {
    shape
        .iter()
        .map(|&n| splits(n))
        .collect::<Vec<_>>()
        .prop_map(ChunkSpec::Explicit)
}

fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..=5, 1..=3)
}

/// A shape, a chunking and data for it (values in [-4, 4), some NaN when `nans`).
fn chunked(nans: bool) -> impl Strategy<Value = (Nd<f64>, ChunkSpec)> {
    shape().prop_flat_map(move |s| {
        let n = size(&s);
        let value = if nans {
            prop_oneof![9 => -4.0f64..4.0, 1 => Just(f64::NAN)].boxed()
        } else {
            (-4.0f64..4.0).boxed()
        };
        (
            prop::collection::vec(value, n).prop_map({
                let s = s.clone();
                move |d| Nd::new(&s, d)
            }),
            chunks_for(&s),
        )
    })
}

/// An operand shape that broadcasts to `out`: some leading axes dropped, some lengths 1.
fn operand_shape(out: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let nd = out.len();
    (0..=nd, prop::collection::vec(any::<bool>(), nd)).prop_map(move |(drop, ones)| {
        out[drop..]
            .iter()
            .zip(&ones[drop..])
            .map(|(&n, &one)| if one { 1 } else { n })
            .collect()
    })
}

fn data_and_chunks(s: Vec<usize>) -> impl Strategy<Value = (Nd<f64>, ChunkSpec)> {
    let n = size(&s);
    (
        prop::collection::vec(-4.0f64..4.0, n).prop_map({
            let s = s.clone();
            move |d| Nd::new(&s, d)
        }),
        chunks_for(&s),
    )
}

fn broadcast_operands() -> impl Strategy<Value = ((Nd<f64>, ChunkSpec), (Nd<f64>, ChunkSpec))> {
    shape()
        .prop_flat_map(|out| (operand_shape(out.clone()), operand_shape(out)))
        .prop_flat_map(|(sa, sb)| (data_and_chunks(sa), data_and_chunks(sb)))
}

fn index_for(shape: Vec<usize>) -> impl Strategy<Value = Vec<Index>> {
    let per_axis: Vec<BoxedStrategy<Index>> = shape
        .iter()
        .map(|&n| {
            let n = n as i64;
            let bound = prop::option::of(-n - 2..=n + 2);
            let step = prop_oneof![-3i64..=-1, 1i64..=3];
            let slice = (bound.clone(), bound, step)
                .prop_map(|(a, b, s)| Index::Slice(a, b, s))
                .boxed();
            if n > 0 {
                prop_oneof![3 => slice, 1 => (-n..n).prop_map(Index::At)].boxed()
            } else {
                slice
            }
        })
        .collect();
    let nd = shape.len();
    (per_axis, 0..=nd, prop::collection::vec(0..=nd, 0..=2)).prop_map(|(mut idx, used, newaxes)| {
        idx.truncate(used);
        for p in newaxes {
            let p = p.min(idx.len());
            idx.insert(p, Index::NewAxis);
        }
        idx
    })
}

fn sliced() -> impl Strategy<Value = (Vec<usize>, ChunkSpec, Vec<Index>)> {
    shape().prop_flat_map(|s| (Just(s.clone()), chunks_for(&s), index_for(s)))
}

const OPS: [ReduceOp; 10] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Mean,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Var { ddof: 0.0 },
    ReduceOp::Std { ddof: 1.0 },
    ReduceOp::Any,
    ReduceOp::All,
    ReduceOp::CountNonzero,
];

/// Reference value of a reduction over one group, NumPy semantics.
fn reduce_group(op: ReduceOp, g: &[f64]) -> f64 {
    let n = g.len() as f64;
    let nan = g.iter().any(|v| v.is_nan());
    let var = |ddof: f64| {
        let mean = g.iter().sum::<f64>() / n;
        g.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - ddof).max(0.0)
    };
    match op {
        ReduceOp::Sum => g.iter().sum(),
        ReduceOp::Prod => g.iter().product(),
        ReduceOp::Mean => g.iter().sum::<f64>() / n,
        ReduceOp::Min if nan => f64::NAN,
        ReduceOp::Max if nan => f64::NAN,
        ReduceOp::Min => g.iter().copied().fold(f64::INFINITY, f64::min),
        ReduceOp::Max => g.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ReduceOp::Var { ddof } => var(ddof),
        ReduceOp::Std { ddof } => var(ddof).sqrt(),
        ReduceOp::Any => g.iter().any(|&v| v != 0.0) as u8 as f64,
        ReduceOp::All => g.iter().all(|&v| v != 0.0) as u8 as f64,
        ReduceOp::CountNonzero => g.iter().filter(|&&v| v != 0.0).count() as f64,
        ReduceOp::Ufunc(_) => {
            unreachable!("generic ufunc reductions are tested in array_reductions")
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn broadcasting_matches_dense(((a, ca), (b, cb)) in broadcast_operands(), op in 0usize..5) {
        let (name, f): (&str, fn(f64, f64) -> f64) = [
            ("add", (|x, y| x + y) as fn(f64, f64) -> f64),
            ("subtract", |x, y| x - y),
            ("multiply", |x, y| x * y),
            ("maximum", f64::max),
            ("less", |x, y| (x < y) as u8 as f64),
        ][op];
        let got = mk(&a, &ca).binary(name, mk(&b, &cb)).unwrap();
        let want = zip2(&a, &b, f);
        prop_assert_eq!(got.shape(), want.shape.clone());
        let got = fetch_f64(&got);
        for (g, w) in got.data.iter().zip(&want.data) {
            prop_assert_eq!(g, w);
        }
    }

    #[test]
    fn slicing_matches_dense((shape, chunks, index) in sliced()) {
        let x = Nd::new(&shape, (0..size(&shape)).map(|i| i as f64).collect());
        let a = mk(&x, &chunks);
        let want = slice_ref(&x, &index).expect("generated indices are valid");
        let got = a.slice(&index).unwrap();
        prop_assert_eq!(got.shape(), want.shape.clone());
        prop_assert_eq!(fetch::<f64>(&got).data, want.data.clone());
        // Slicing a lazy elementwise result gives the same as computing then slicing.
        let lazy = a.binary("multiply", -1.0).unwrap().slice(&index).unwrap();
        prop_assert_eq!(fetch::<f64>(&lazy).data, want.map(|v| -v).data);
    }

    #[test]
    fn rechunking_preserves_values(
        (x, from, to) in shape().prop_flat_map(|s| {
            let n = size(&s);
            (
                prop::collection::vec(-4.0f64..4.0, n).prop_map({
                    let s = s.clone();
                    move |d| Nd::new(&s, d)
                }),
                chunks_for(&s),
                chunks_for(&s),
            )
        })
    ) {
        let r = mk(&x, &from).rechunk(&to).unwrap();
        prop_assert_eq!(r.chunks(), &to.resolve(&x.shape, dask::DType::Float64).unwrap());
        prop_assert_eq!(fetch::<f64>(&r).data, x.data.clone());
    }

    #[test]
    fn reductions_match_dense(
        (x, chunks) in chunked(true),
        op in 0usize..OPS.len(),
        mask in 0usize..8,
        all_axes in any::<bool>(),
        keepdims in any::<bool>(),
        split_every in 2usize..=5,
    ) {
        let op = OPS[op];
        let nd = x.ndim();
        let axes: Vec<usize> = (0..nd).filter(|a| mask >> a & 1 == 1).collect();
        let axes = if all_axes { None } else { Some(axes.as_slice()) };
        let flags = reduced_flags(nd, axes);
        let r = mk(&x, &chunks).reduce(op, axes, keepdims, split_every);
        let empty = flags.iter().zip(&x.shape).any(|(&f, &n)| f && n == 0);
        if empty && matches!(op, ReduceOp::Min | ReduceOp::Max) {
            prop_assert!(r.is_err());
            return Ok(());
        }
        let r = r.unwrap();
        let (shape, gs) = groups(&x, &flags, keepdims);
        prop_assert_eq!(r.shape(), shape);
        let got = fetch_f64(&r);
        for (g, group) in got.data.iter().zip(&gs) {
            let want = reduce_group(op, group);
            let scale: f64 = group.iter().map(|v| v.abs()).sum::<f64>().max(1.0);
            prop_assert!(
                close(*g, want, 1e-12, 1e-12 * scale),
                "{:?} over {:?}: {} vs {}", op, axes, g, want
            );
        }
    }

    #[test]
    fn arg_reductions_match_dense((x, chunks) in chunked(true), axis in 0usize..4) {
        let nd = x.ndim();
        let axis = (axis < nd).then_some(axis);
        let a = mk(&x, &chunks);
        let empty = axis.map_or(x.is_empty(), |k| x.shape[k] == 0);
        for max in [false, true] {
            let r = if max { a.argmax(axis) } else { a.argmin(axis) };
            if empty {
                prop_assert!(r.is_err());
                continue;
            }
            let flags = reduced_flags(nd, axis.as_ref().map(std::slice::from_ref));
            let want = reduce_ref(&x, &flags, false, |g| {
                if let Some(i) = g.iter().position(|v| v.is_nan()) {
                    return i as i64;
                }
                let mut best = 0;
                for (i, &v) in g.iter().enumerate() {
                    if (max && v > g[best]) || (!max && v < g[best]) {
                        best = i;
                    }
                }
                best as i64
            });
            prop_assert_eq!(fetch::<i64>(&r.unwrap()).data, want.data);
        }
    }
}
