//! NaN-skipping reductions (nansum … nanstd) against group-by-group evaluations that drop
//! the NaN first: every axis subset of 1-3-d arrays with NaN sprinkled in (and whole slices
//! of NaN), keepdims, float32 and float64; integers reduce as the plain reductions.

mod common;

use common::*;
use dask::array::{ChunkSpec, NanOp, ReduceOp};
use dask::DType;

fn reference(op: NanOp, g: &[f64]) -> f64 {
    let v: Vec<f64> = g.iter().copied().filter(|x| !x.is_nan()).collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = |ddof: f64| {
        if n - ddof <= 0.0 {
            f64::NAN
        } else {
            v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - ddof)
        }
    };
    match op {
        NanOp::Sum => v.iter().sum(),
        NanOp::Prod => v.iter().product(),
        NanOp::Mean => mean, // NaN when empty
        NanOp::Min => v.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
        NanOp::Max => v.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
        NanOp::Var { ddof } => var(ddof),
        NanOp::Std { ddof } => var(ddof).sqrt(),
    }
}

const OPS: [NanOp; 9] = [
    NanOp::Sum,
    NanOp::Prod,
    NanOp::Mean,
    NanOp::Min,
    NanOp::Max,
    NanOp::Var { ddof: 0.0 },
    NanOp::Var { ddof: 1.0 },
    NanOp::Std { ddof: 0.0 },
    NanOp::Std { ddof: 1.0 },
];

/// Values near 1 (products stay finite), a third NaN, and the first slice along axis 0 all NaN.
fn data(shape: &[usize]) -> Nd<f64> {
    Nd::from_fn(shape, |idx| {
        if idx[0] == 0 || rng_at(idx).is_multiple_of(3) {
            f64::NAN
        } else {
            0.5 + (rng_at(idx) % 1000) as f64 / 1000.0
        }
    })
}

fn rng_at(idx: &[usize]) -> u64 {
    let mut r = Rng::new(
        idx.iter()
            .fold(7u64, |h, &i| h.wrapping_mul(31).wrapping_add(i as u64)),
    );
    r.next_u64()
}

#[test]
fn nan_reductions_skip_nan_over_every_axis_subset() {
    for shape in [vec![9], vec![7, 6], vec![5, 4, 6]] {
        let x = data(&shape);
        let chunks = ChunkSpec::Regular(shape.iter().map(|&n| n.div_ceil(2)).collect());
        for dtype in [DType::Float64, DType::Float32] {
            let a = mk(&x, &chunks).astype(dtype);
            let xs = if dtype == DType::Float32 {
                x.map(|v| v as f32 as f64)
            } else {
                x.clone()
            };
            let nd = shape.len();
            let subsets: Vec<Option<Vec<usize>>> = std::iter::once(None)
                .chain(
                    (1..1usize << nd).map(|m| Some((0..nd).filter(|a| m >> a & 1 == 1).collect())),
                )
                .collect();
            for axes in &subsets {
                for keepdims in [false, true] {
                    for op in OPS {
                        let ctx = format!(
                            "{op:?} over {axes:?} of {shape:?} {dtype:?} keepdims={keepdims}"
                        );
                        let r = a
                            .nan_reduce(op, axes.as_deref(), keepdims, 2)
                            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                        let flags = reduced_flags(nd, axes.as_deref());
                        let (want_shape, gs) = groups(&xs, &flags, keepdims);
                        assert_eq!(r.shape(), want_shape, "{ctx}");
                        // NumPy: every nan-reduction of float32 is float32.
                        assert_eq!(r.dtype(), dtype, "{ctx}");
                        let got = fetch_f64(&r);
                        let rtol = if dtype == DType::Float32 { 1e-5 } else { 1e-12 };
                        for (i, g) in gs.iter().enumerate() {
                            let want = reference(op, g);
                            assert!(
                                close(got.data[i], want, rtol, rtol),
                                "{ctx}: element {i} is {}, expected {want}",
                                got.data[i]
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn integers_reduce_as_the_plain_reductions() {
    let mut rng = Rng::new(5);
    let x = rand_i64(&mut rng, &[8, 5], -50, 50);
    let a = mk(&x, &ChunkSpec::Regular(vec![3, 2]));
    for (nan, plain) in [
        (NanOp::Sum, ReduceOp::Sum),
        (NanOp::Min, ReduceOp::Min),
        (NanOp::Mean, ReduceOp::Mean),
        (NanOp::Var { ddof: 1.0 }, ReduceOp::Var { ddof: 1.0 }),
    ] {
        let got = fetch_f64(&a.nan_reduce(nan, Some(&[0]), false, 8).unwrap());
        let want = fetch_f64(&a.reduce(plain, Some(&[0]), false, 8).unwrap());
        assert_eq!(got.data, want.data, "{nan:?}");
    }
}
