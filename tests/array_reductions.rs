//! Reductions (sum, prod, mean, min, max, var, std, any, all, count_nonzero), argmin/argmax and
//! cumulative sums/products, against group-by-group dense evaluations: every axis subset,
//! keepdims, several combine-tree fan-ins, irregular and empty chunks, NaN and integer
//! overflow.

mod common;

use common::*;
use dask::array::{Array, ChunkSpec, ReduceOp};
use dask::DType;

const F64: DType = DType::Float64;

/// Every subset of the axes of an `nd`-d array, as explicit lists.
fn axis_subsets(nd: usize) -> Vec<Vec<usize>> {
    (0..1usize << nd)
        .map(|m| (0..nd).filter(|a| m >> a & 1 == 1).collect())
        .collect()
}

/// NumPy's variance of a group: M2 / max(n - ddof, 0) (NaN for an empty group).
fn var_ref(g: &[f64], ddof: f64) -> f64 {
    let n = g.len() as f64;
    let mean = g.iter().sum::<f64>() / n;
    let m2: f64 = g.iter().map(|x| (x - mean) * (x - mean)).sum();
    m2 / (n - ddof).max(0.0)
}

fn nan_fold(g: &[f64], pick: fn(f64, f64) -> f64) -> f64 {
    if g.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    g.iter().copied().reduce(pick).expect("non-empty")
}

/// The reference value of `op` over one group (as f64), with the tolerance to compare at.
fn reference(op: ReduceOp, g: &[f64]) -> (f64, f64, f64) {
    let scale: f64 = g.iter().map(|v| v.abs()).sum::<f64>();
    match op {
        ReduceOp::Sum => (g.iter().sum(), 0.0, 1e-13 * scale),
        ReduceOp::Prod => (g.iter().product(), 1e-12, 0.0),
        ReduceOp::Mean => (
            g.iter().sum::<f64>() / g.len() as f64,
            0.0,
            1e-13 * scale / g.len().max(1) as f64,
        ),
        ReduceOp::Min => (nan_fold(g, f64::min), 0.0, 0.0),
        ReduceOp::Max => (nan_fold(g, f64::max), 0.0, 0.0),
        ReduceOp::Var { ddof } => (var_ref(g, ddof), 1e-10, 1e-14),
        ReduceOp::Std { ddof } => (var_ref(g, ddof).sqrt(), 1e-10, 1e-14),
        ReduceOp::Any => (g.iter().any(|&v| v != 0.0) as u8 as f64, 0.0, 0.0),
        ReduceOp::All => (g.iter().all(|&v| v != 0.0) as u8 as f64, 0.0, 0.0),
        ReduceOp::CountNonzero => (g.iter().filter(|&&v| v != 0.0).count() as f64, 0.0, 0.0),
        ReduceOp::Ufunc(_) => unreachable!("generic ufunc reductions have their own test"),
    }
}

fn result_dtype(op: ReduceOp) -> DType {
    match op {
        ReduceOp::Any | ReduceOp::All => DType::Bool,
        ReduceOp::CountNonzero => DType::Int64,
        _ => F64,
    }
}

const OPS: [ReduceOp; 13] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Mean,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Var { ddof: 0.0 },
    ReduceOp::Var { ddof: 1.0 },
    ReduceOp::Std { ddof: 0.0 },
    ReduceOp::Std { ddof: 2.0 },
    ReduceOp::Any,
    ReduceOp::All,
    ReduceOp::CountNonzero,
    ReduceOp::Var { ddof: 1.5 },
];

/// Checks one reduction of `x` (chunked by `chunks`) against the reference.
fn check(
    x: &Nd<f64>,
    chunks: &ChunkSpec,
    op: ReduceOp,
    axes: Option<&[usize]>,
    keepdims: bool,
    split_every: usize,
) {
    let ctx = format!(
        "{op:?} over {axes:?} of {:?} chunks {chunks:?} keepdims={keepdims} split_every={split_every}",
        x.shape
    );
    let flags = reduced_flags(x.ndim(), axes);
    let a = mk(x, chunks);
    let r = a.reduce(op, axes, keepdims, split_every);
    let empty_group = flags.iter().zip(&x.shape).any(|(&f, &n)| f && n == 0);
    if empty_group && matches!(op, ReduceOp::Min | ReduceOp::Max) {
        assert!(r.is_err(), "{ctx}: min/max of nothing must be an error");
        return;
    }
    let r = r.unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(r.dtype(), result_dtype(op), "{ctx}");
    let (shape, gs) = groups(x, &flags, keepdims);
    assert_eq!(r.shape(), shape, "{ctx}");
    let got = fetch_f64(&r);
    for (i, g) in gs.iter().enumerate() {
        let (want, rtol, atol) = reference(op, g);
        assert!(
            close(got.data[i], want, rtol, atol),
            "{ctx}: element {i} is {}, expected {want}",
            got.data[i]
        );
    }
}

#[test]
fn every_reduction_over_every_axis_subset() {
    let mut rng = Rng::new(100);
    for round in 0..24 {
        let nd = 1 + round % 3;
        let lo = if round % 5 == 4 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 6);
        // Values in [0.5, 1.5) (products stay tame), with exact zeros for any/all/count.
        let mut x = rand_f64(&mut rng, &shape, 0.5, 1.5);
        for v in x.data.iter_mut() {
            if rng.coin(0.2) {
                *v = 0.0;
            }
        }
        let chunks = if round % 2 == 0 {
            random_chunks(&mut rng, &shape)
        } else {
            random_regular(&mut rng, &shape)
        };
        for op in OPS {
            for axes in axis_subsets(nd) {
                for keepdims in [false, true] {
                    let split = [2, 3, 8][rng.below(3)];
                    check(&x, &chunks, op, Some(&axes), keepdims, split);
                }
            }
            check(&x, &chunks, op, None, false, 2);
            check(&x, &chunks, op, None, true, 8);
        }
    }
}

#[test]
fn convenience_methods_match_reduce() {
    let mut rng = Rng::new(101);
    let x = rand_f64(&mut rng, &[7, 5, 3], -1.0, 1.0);
    let c = ChunkSpec::Explicit(vec![vec![2, 2, 3], vec![1, 4], vec![3]]);
    let a = mk(&x, &c);
    type M = fn(&Array, Option<&[usize]>) -> dask::Result<Array>;
    let methods: [(M, ReduceOp); 9] = [
        (|a, ax| a.sum(ax), ReduceOp::Sum),
        (|a, ax| a.prod(ax), ReduceOp::Prod),
        (|a, ax| a.mean(ax), ReduceOp::Mean),
        (|a, ax| a.min(ax), ReduceOp::Min),
        (|a, ax| a.max(ax), ReduceOp::Max),
        (|a, ax| a.var(ax, 1.0), ReduceOp::Var { ddof: 1.0 }),
        (|a, ax| a.std(ax, 0.0), ReduceOp::Std { ddof: 0.0 }),
        (|a, ax| a.any(ax), ReduceOp::Any),
        (|a, ax| a.count_nonzero(ax), ReduceOp::CountNonzero),
    ];
    for (f, op) in methods {
        for axes in [None, Some(&[0usize][..]), Some(&[2, 0][..]), Some(&[1][..])] {
            let r = f(&a, axes).unwrap();
            let flags = reduced_flags(3, axes);
            let want = reduce_ref(&x, &flags, false, |g| reference(op, g).0);
            let (_, rtol, _) = reference(op, &[1.0]);
            assert_close(
                &fetch_f64(&r),
                &want,
                rtol.max(1e-13),
                1e-14,
                &format!("{op:?}"),
            );
        }
    }
    let all = a.all(Some(&[1])).unwrap();
    assert_same(
        &fetch_bool(&all),
        &reduce_ref(&x, &[false, true, false], false, |g| {
            g.iter().all(|&v| v != 0.0)
        }),
        "all",
    );
}

#[test]
fn many_blocks_and_deep_combine_trees() {
    let mut rng = Rng::new(102);
    let x = rand_f64(&mut rng, &[1000], -1.0, 1.0);
    for block in [1usize, 3, 7, 250] {
        for split in [2usize, 3, 8, 1000] {
            for op in OPS {
                if op == ReduceOp::Prod {
                    continue; // underflows to ~0 over 1000 values in (-1, 1); covered above
                }
                check(&x, &ChunkSpec::Regular(vec![block]), op, None, false, split);
            }
        }
    }
    let y = rand_f64(&mut rng, &[40, 30], -1.0, 1.0);
    for split in [2usize, 4] {
        for axes in axis_subsets(2) {
            check(
                &y,
                &ChunkSpec::Regular(vec![3, 4]),
                ReduceOp::Var { ddof: 1.0 },
                Some(&axes),
                false,
                split,
            );
            check(
                &y,
                &ChunkSpec::Regular(vec![3, 4]),
                ReduceOp::Sum,
                Some(&axes),
                true,
                split,
            );
        }
    }
}

#[test]
fn empty_arrays_and_size_one_axes() {
    // Reductions over a 0-length axis: sum 0, prod 1, mean NaN, any false, all true, count 0,
    // var NaN; min/max are errors.
    for shape in [
        vec![0usize],
        vec![0, 3],
        vec![3, 0],
        vec![2, 0, 4],
        vec![1, 1, 1],
    ] {
        let x = Nd::from_fn(&shape, |i| i.iter().sum::<usize>() as f64 + 1.0);
        let nd = shape.len();
        for chunks in [
            ChunkSpec::Regular(vec![2; nd]),
            ChunkSpec::Explicit(shape.iter().map(|&n| vec![n]).collect()),
        ] {
            for op in OPS {
                for axes in axis_subsets(nd) {
                    check(&x, &chunks, op, Some(&axes), false, 2);
                    check(&x, &chunks, op, Some(&axes), true, 8);
                }
                check(&x, &chunks, op, None, false, 8);
            }
        }
    }
    // A 0-d array reduces to itself.
    let s = mk(&Nd::scalar(2.5), &ChunkSpec::Explicit(vec![]));
    assert_eq!(fetch::<f64>(&s.sum(None).unwrap()).data, vec![2.5]);
    assert_eq!(fetch::<f64>(&s.max(None).unwrap()).data, vec![2.5]);
    assert_eq!(fetch::<f64>(&s.var(None, 0.0).unwrap()).data, vec![0.0]);
    // Zero-size blocks inside a non-empty axis.
    let x = Nd::new(&[5], vec![3.0, 1.0, 4.0, 1.0, 5.0]);
    let c = ChunkSpec::Explicit(vec![vec![2, 0, 3, 0]]);
    for op in OPS {
        check(&x, &c, op, None, false, 2);
    }
}

#[test]
fn var_with_ddof_at_least_n_follows_numpy() {
    // NumPy divides M2 by max(n - ddof, 0): inf for varying data, NaN for constant data.
    for (vals, ddof) in [
        (vec![1.0, 2.0], 2.0),
        (vec![1.0, 2.0], 3.0),
        (vec![4.0, 4.0], 2.0),
    ] {
        let x = Nd::new(&[2], vals);
        for op in [ReduceOp::Var { ddof }, ReduceOp::Std { ddof }] {
            check(&x, &ChunkSpec::Regular(vec![1]), op, None, false, 2);
        }
    }
}

#[test]
fn reduction_dtypes_follow_numpy() {
    use DType::*;
    let vals: Vec<i64> = vec![3, 0, 7, 1, 2, 0, 5, 6, 1];
    let base = Nd::new(&[3, 3], vals.clone());
    let c = ChunkSpec::Regular(vec![2, 2]);
    // (input dtype, op, result dtype)
    let table = [
        (Int32, ReduceOp::Sum, Int64),
        (Int8, ReduceOp::Sum, Int64),
        (UInt8, ReduceOp::Sum, UInt64),
        (UInt32, ReduceOp::Prod, UInt64),
        (Bool, ReduceOp::Sum, Int64),
        (Float32, ReduceOp::Sum, Float32),
        (Int16, ReduceOp::Prod, Int64),
        (Int32, ReduceOp::Mean, Float64),
        (Float32, ReduceOp::Mean, Float32),
        (Int64, ReduceOp::Var { ddof: 0.0 }, Float64),
        (Float32, ReduceOp::Std { ddof: 1.0 }, Float32),
        (Int8, ReduceOp::Min, Int8),
        (UInt16, ReduceOp::Max, UInt16),
        (Bool, ReduceOp::Max, Bool),
        (Float32, ReduceOp::Min, Float32),
        (Int32, ReduceOp::Any, Bool),
        (Float32, ReduceOp::All, Bool),
        (UInt8, ReduceOp::CountNonzero, Int64),
    ];
    for (d, op, want) in table {
        let a = mk(&base, &c).astype(d);
        let as_f = base.map(|v| {
            if d == Bool {
                (v != 0) as u8 as f64
            } else {
                v as f64
            }
        });
        for axes in [None, Some(&[1usize][..])] {
            let r = a.reduce(op, axes, false, 2).unwrap();
            assert_eq!(r.dtype(), want, "{op:?} of {}", d.name());
            let flags = reduced_flags(2, axes);
            let reference_vals = reduce_ref(&as_f, &flags, false, |g| reference(op, g).0);
            let rtol = if want == Float32 { 1e-6 } else { 1e-14 };
            let got = fetch_f64(&r);
            let got = if want == Bool {
                got.map(|v| (v != 0.0) as u8 as f64)
            } else {
                got
            };
            assert_close(
                &got,
                &reference_vals,
                rtol,
                0.0,
                &format!("{op:?} {}", d.name()),
            );
        }
    }
    // Integer sums are exact (no float round trip): values around 2^60.
    let big = Nd::new(&[4], vec![1i64 << 60, 3, (1 << 60) + 7, -(1 << 59)]);
    let s = mk(&big, &ChunkSpec::Regular(vec![1])).sum(None).unwrap();
    assert_eq!(
        fetch::<i64>(&s).data,
        vec![big.data.iter().fold(0i64, |a, &b| a.wrapping_add(b))]
    );
    // Small integer types accumulate in 64 bits: 100 x 100i8 is 10000, not a wrapped int8.
    let small = Nd::new(&[100], vec![100i8; 100]);
    let s = mk(&small, &ChunkSpec::Regular(vec![7])).sum(None).unwrap();
    assert_eq!(fetch::<i64>(&s).data, vec![10_000]);
    let s = mk(
        &Nd::new(&[3], vec![200u8, 200, 200]),
        &ChunkSpec::Regular(vec![2]),
    );
    assert_eq!(fetch::<u64>(&s.sum(None).unwrap()).data, vec![600]);
}

/// int64 (and uint64) sums and products wrap around on overflow, like NumPy's fixed-width
/// integers: no error, no promotion to float. The same holds for cumulative sums.
#[test]
fn integer_reductions_wrap_on_overflow() {
    let x = Nd::new(&[5], vec![i64::MAX, 1, 1, i64::MAX, 5]);
    let want = x.data.iter().fold(0i64, |a, &b| a.wrapping_add(b));
    for c in [ChunkSpec::Regular(vec![1]), ChunkSpec::Regular(vec![5])] {
        let a = mk(&x, &c);
        assert_eq!(fetch::<i64>(&a.sum(None).unwrap()).data, vec![want]);
        let p = x.data.iter().fold(1i64, |a, &b| a.wrapping_mul(b));
        assert_eq!(fetch::<i64>(&a.prod(None).unwrap()).data, vec![p]);
        let cs = a.cumsum(0).unwrap();
        let want_cs = cumulative_ref(&x, 0, i64::wrapping_add);
        assert_same(&fetch::<i64>(&cs), &want_cs, "cumsum wraps");
    }
    let u = Nd::new(&[3], vec![u64::MAX, 2, u64::MAX]);
    let s = mk(&u, &ChunkSpec::Regular(vec![2])).sum(None).unwrap();
    let want = u.data.iter().fold(0u64, |a, &b| a.wrapping_add(b));
    assert_eq!(fetch::<u64>(&s).data, vec![want]);
    // int32 values summed in int64 do not overflow.
    let y = Nd::new(&[3], vec![i32::MAX, i32::MAX, i32::MAX]);
    let s = mk(&y, &ChunkSpec::Regular(vec![2])).sum(None).unwrap();
    assert_eq!(fetch::<i64>(&s).data, vec![3 * i32::MAX as i64]);
}

#[test]
fn nan_propagates_through_reductions() {
    let mut rng = Rng::new(103);
    for _ in 0..12 {
        let nd = 1 + rng.below(3);
        let shape = random_shape(&mut rng, nd, 1, 6);
        let mut x = rand_f64(&mut rng, &shape, -1.0, 1.0);
        // A few NaNs, sometimes exactly one, sometimes in the first or last element.
        let k = rng.below(3);
        for _ in 0..=k {
            let i = rng.below(x.len());
            x.data[i] = f64::NAN;
        }
        if rng.coin(0.3) {
            x.data[0] = f64::NAN;
        }
        let chunks = random_chunks(&mut rng, &shape);
        for op in [
            ReduceOp::Sum,
            ReduceOp::Prod,
            ReduceOp::Mean,
            ReduceOp::Min,
            ReduceOp::Max,
            ReduceOp::Var { ddof: 0.0 },
            ReduceOp::Std { ddof: 1.0 },
            ReduceOp::CountNonzero,
            ReduceOp::Any,
            ReduceOp::All,
        ] {
            for axes in axis_subsets(shape.len()) {
                check(&x, &chunks, op, Some(&axes), false, 2);
            }
        }
    }
    // NaN alone in the last block, and the min/max neighbours around it.
    let x = Nd::new(&[6], vec![-5.0, 9.0, 1.0, 2.0, 3.0, f64::NAN]);
    for op in [ReduceOp::Min, ReduceOp::Max, ReduceOp::Sum, ReduceOp::Mean] {
        check(
            &x,
            &ChunkSpec::Explicit(vec![vec![5, 1]]),
            op,
            None,
            false,
            2,
        );
        check(&x, &ChunkSpec::Regular(vec![2]), op, None, false, 8);
    }
    // Infinities are ordinary values for min/max; inf - inf makes the sum NaN.
    let x = Nd::new(&[4], vec![f64::INFINITY, 1.0, f64::NEG_INFINITY, 0.0]);
    for op in [ReduceOp::Min, ReduceOp::Max, ReduceOp::Sum] {
        check(&x, &ChunkSpec::Regular(vec![1]), op, None, false, 2);
    }
}

#[test]
fn variance_is_accurate_with_a_large_offset() {
    // Values 1e9 + small noise: the textbook E[x^2] - E[x]^2 would lose everything.
    let mut rng = Rng::new(104);
    let x = rand_f64(&mut rng, &[5000], -1.0, 1.0).map(|v| 1e9 + v);
    let want = var_ref(&x.data, 1.0);
    for block in [1usize, 7, 1000, 5000] {
        let v = mk(&x, &ChunkSpec::Regular(vec![block]))
            .var(None, 1.0)
            .unwrap();
        let got = fetch::<f64>(&v).data[0];
        assert!((got - want).abs() < 1e-6 * want, "{block}: {got} vs {want}");
    }
}

// ---- argmin / argmax ------------------------------------------------------------------------

/// The first index of the minimum (or maximum) of a group; a NaN wins at its first position.
fn arg_ref(g: &[f64], max: bool) -> i64 {
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
}

fn check_arg(x: &Nd<f64>, chunks: &ChunkSpec, max: bool, axis: Option<usize>) {
    let ctx = format!(
        "arg{} axis {axis:?} of {:?} chunks {chunks:?}",
        if max { "max" } else { "min" },
        x.shape
    );
    let a = mk(x, chunks);
    let r = if max { a.argmax(axis) } else { a.argmin(axis) };
    let empty = match axis {
        None => x.is_empty(),
        Some(k) => x.shape[k] == 0,
    };
    if empty {
        assert!(
            r.is_err(),
            "{ctx}: arg-reduction of nothing must be an error"
        );
        return;
    }
    let r = r.unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert_eq!(r.dtype(), DType::Int64, "{ctx}");
    let flags = reduced_flags(x.ndim(), axis.as_ref().map(std::slice::from_ref));
    let want = reduce_ref(x, &flags, false, |g| arg_ref(g, max));
    assert_same(&fetch::<i64>(&r), &want, &ctx);
}

#[test]
fn argmin_argmax_with_ties_nans_and_axes() {
    let mut rng = Rng::new(105);
    for round in 0..30 {
        let nd = 1 + round % 3;
        let lo = if round % 7 == 6 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 6);
        // Small integers: plenty of ties, whose first occurrence must win.
        let mut x = rand_i64(&mut rng, &shape, -3, 3).map(|v| v as f64);
        if round % 3 == 0 {
            for v in x.data.iter_mut() {
                if rng.coin(0.1) {
                    *v = f64::NAN;
                }
            }
        }
        let chunks = random_chunks(&mut rng, &shape);
        for max in [false, true] {
            check_arg(&x, &chunks, max, None);
            for k in 0..nd {
                check_arg(&x, &chunks, max, Some(k));
            }
        }
    }
    // A 0-d array: index 0, as NumPy's argmax of a scalar (was a panic).
    let scalar = mk(&Nd::new(&[], vec![2.5f64]), &ChunkSpec::Auto);
    for a in [scalar.argmax(None).unwrap(), scalar.argmin(None).unwrap()] {
        assert_eq!(fetch::<i64>(&a).data, vec![0]);
    }
    // Integer and boolean inputs; zero-size blocks.
    let xi = Nd::new(&[2, 5], vec![4i32, -2, 9, 9, -2, 0, 0, 7, 7, -5]);
    let a = mk(&xi, &ChunkSpec::Explicit(vec![vec![1, 1], vec![2, 0, 3]]));
    let xf = xi.map(|v| v as f64);
    for max in [false, true] {
        for axis in [None, Some(0), Some(1)] {
            let r = if max { a.argmax(axis) } else { a.argmin(axis) }.unwrap();
            let flags = reduced_flags(2, axis.as_ref().map(std::slice::from_ref));
            let want = reduce_ref(&xf, &flags, false, |g| arg_ref(g, max));
            assert_same(&fetch::<i64>(&r), &want, "int arg");
        }
    }
    let b = Nd::new(&[5], vec![false, false, true, true, false]);
    let ab = mk_bool(&b, &ChunkSpec::Regular(vec![2]));
    assert_eq!(fetch::<i64>(&ab.argmax(None).unwrap()).data, vec![2]);
    assert_eq!(fetch::<i64>(&ab.argmin(None).unwrap()).data, vec![0]);
    // NaN first occurrence across blocks.
    let x = Nd::new(&[6], vec![1.0, -1.0, 5.0, f64::NAN, 0.0, f64::NAN]);
    for c in [ChunkSpec::Regular(vec![1]), ChunkSpec::Regular(vec![4])] {
        let a = mk(&x, &c);
        assert_eq!(fetch::<i64>(&a.argmin(None).unwrap()).data, vec![3]);
        assert_eq!(fetch::<i64>(&a.argmax(None).unwrap()).data, vec![3]);
    }
    // Errors, not panics.
    let a = mk(
        &Nd::new(&[2, 3], vec![0.0; 6]),
        &ChunkSpec::Regular(vec![1, 1]),
    );
    assert!(a.argmax(Some(2)).is_err());
    let e = mk(
        &Nd::new(&[0], Vec::<f64>::new()),
        &ChunkSpec::Regular(vec![1]),
    );
    assert!(e.argmin(None).is_err());
}

#[test]
fn reduction_axis_errors() {
    let a = mk(
        &Nd::new(&[2, 3], vec![1.0; 6]),
        &ChunkSpec::Regular(vec![1, 2]),
    );
    assert!(a.sum(Some(&[2])).is_err());
    assert!(a.mean(Some(&[0, 5])).is_err());
    assert!(a.cumsum(2).is_err());
    assert!(a.cumprod(7).is_err());
    let e = mk(
        &Nd::new(&[0, 3], Vec::<f64>::new()),
        &ChunkSpec::Regular(vec![1, 2]),
    );
    assert!(e.min(None).is_err());
    assert!(e.max(Some(&[0])).is_err());
    // Reducing the non-empty axis of an array with an empty axis is fine (an empty result).
    let r = e.min(Some(&[1])).unwrap();
    assert_eq!(fetch::<f64>(&r).shape, vec![0]);
}

// ---- cumulative -----------------------------------------------------------------------------

#[test]
fn cumsum_and_cumprod_along_each_axis() {
    let mut rng = Rng::new(106);
    for round in 0..24 {
        let nd = 1 + round % 3;
        let lo = if round % 6 == 5 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 7);
        let x = rand_f64(&mut rng, &shape, 0.5, 1.5);
        let chunks = if round % 2 == 0 {
            random_chunks(&mut rng, &shape)
        } else {
            random_regular(&mut rng, &shape)
        };
        let a = mk(&x, &chunks);
        for axis in 0..nd {
            let ctx = format!("axis {axis} of {shape:?} chunks {chunks:?}");
            let cs = a.cumsum(axis).unwrap();
            assert_eq!(cs.dtype(), F64);
            assert_close(
                &fetch::<f64>(&cs),
                &cumulative_ref(&x, axis, |p, v| p + v),
                1e-13,
                1e-13,
                &format!("cumsum {ctx}"),
            );
            let cp = a.cumprod(axis).unwrap();
            assert_close(
                &fetch::<f64>(&cp),
                &cumulative_ref(&x, axis, |p, v| p * v),
                1e-13,
                0.0,
                &format!("cumprod {ctx}"),
            );
            // Running maxima and minima: exact, in the input's dtype.
            let cmax = a.cumulative(axis, dask::array::CumOp::Max).unwrap();
            assert_eq!(cmax.dtype(), F64);
            assert_same(
                &fetch::<f64>(&cmax),
                &cumulative_ref(&x, axis, f64::max),
                &format!("cummax {ctx}"),
            );
            let cmin = a.cumulative(axis, dask::array::CumOp::Min).unwrap();
            assert_same(
                &fetch::<f64>(&cmin),
                &cumulative_ref(&x, axis, f64::min),
                &format!("cummin {ctx}"),
            );
        }
    }
    // cummax keeps integer dtypes and lets NaN through, as NumPy's maximum.accumulate and
    // R's cummax do.
    let xi = Nd::new(&[5], vec![3i8, -2, 7, 7, 1]);
    let c = mk(&xi, &ChunkSpec::Regular(vec![2]))
        .cumulative(0, dask::array::CumOp::Max)
        .unwrap();
    assert_eq!(c.dtype(), DType::Int8);
    assert_eq!(fetch::<i8>(&c).data, vec![3, 3, 7, 7, 7]);
    let xn = Nd::new(&[4], vec![1.0, f64::NAN, 3.0, 0.5]);
    let c = mk(&xn, &ChunkSpec::Regular(vec![1]))
        .cumulative(0, dask::array::CumOp::Min)
        .unwrap();
    let got = fetch::<f64>(&c).data;
    assert!(
        got[0] == 1.0 && got[1..].iter().all(|v| v.is_nan()),
        "{got:?}"
    );
    // Integer and boolean inputs accumulate in int64; float32 stays float32.
    let xi = Nd::new(&[3, 4], vec![1i32, -2, 3, 4, 5, 6, -7, 8, 9, 10, 11, -12]);
    let a = mk(&xi, &ChunkSpec::Explicit(vec![vec![1, 2], vec![3, 0, 1]]));
    let xl = xi.map(|v| v as i64);
    for axis in 0..2 {
        let cs = a.cumsum(axis).unwrap();
        assert_eq!(cs.dtype(), DType::Int64);
        assert_same(
            &fetch::<i64>(&cs),
            &cumulative_ref(&xl, axis, |p, v| p + v),
            "i32",
        );
        let cp = a.cumprod(axis).unwrap();
        assert_same(
            &fetch::<i64>(&cp),
            &cumulative_ref(&xl, axis, |p, v| p * v),
            "i32",
        );
    }
    let b = Nd::new(&[6], vec![true, false, true, true, false, true]);
    let cs = mk_bool(&b, &ChunkSpec::Regular(vec![4])).cumsum(0).unwrap();
    assert_eq!(cs.dtype(), DType::Int64);
    assert_eq!(fetch::<i64>(&cs).data, vec![1, 1, 2, 3, 3, 4]);
    let f = Nd::new(&[5], vec![0.5f32, 1.5, 2.5, 3.5, 4.5]);
    let cs = mk(&f, &ChunkSpec::Regular(vec![2])).cumsum(0).unwrap();
    assert_eq!(cs.dtype(), DType::Float32);
    assert_eq!(fetch::<f32>(&cs).data, vec![0.5, 2.0, 4.5, 8.0, 12.5]);
    // A NaN poisons everything after it along the axis, and nothing before.
    let x = Nd::new(&[2, 4], vec![1.0, 2.0, f64::NAN, 4.0, 5.0, 6.0, 7.0, 8.0]);
    for axis in 0..2 {
        let cs = mk(&x, &ChunkSpec::Regular(vec![1, 1]))
            .cumsum(axis)
            .unwrap();
        assert_exact(
            &fetch::<f64>(&cs),
            &cumulative_ref(&x, axis, |p, v| p + v),
            "cumsum nan",
        );
    }
}

#[test]
fn large_blocks_reduce_across_tiles() {
    // Blocks larger than one evaluation tile: partial rows at tile boundaries must land in the
    // right outputs for every axis subset.
    let mut rng = Rng::new(107);
    let x = rand_f64(&mut rng, &[37, 41, 5], -1.0, 1.0);
    for chunks in [vec![37, 41, 5], vec![20, 41, 5], vec![37, 13, 2]] {
        let c = ChunkSpec::Regular(chunks);
        for op in [
            ReduceOp::Sum,
            ReduceOp::Max,
            ReduceOp::Mean,
            ReduceOp::Var { ddof: 1.0 },
            ReduceOp::CountNonzero,
        ] {
            for axes in axis_subsets(3) {
                check(&x, &c, op, Some(&axes), false, 4);
            }
        }
        for axis in [None, Some(0), Some(1), Some(2)] {
            check_arg(&x, &c, true, axis);
        }
        let a = mk(&x, &c);
        for axis in 0..3 {
            assert_close(
                &fetch::<f64>(&a.cumsum(axis).unwrap()),
                &cumulative_ref(&x, axis, |p, v| p + v),
                1e-12,
                1e-12,
                "large cumsum",
            );
        }
    }
    // An elementwise chain with a cast fused into an integer reduction.
    let xi = rand_i64(&mut rng, &[50, 60], -1000, 1000).map(|v| v as i32);
    let s = mk(&xi, &ChunkSpec::Regular(vec![50, 60]))
        .binary("multiply", 3i64)
        .unwrap()
        .sum(Some(&[1]))
        .unwrap();
    let want = reduce_ref(&xi, &[false, true], false, |g| {
        g.iter().map(|&v| v as i64 * 3).sum::<i64>()
    });
    assert_same(&fetch::<i64>(&s), &want, "int sum");
}

/// `ufunc.reduce` with binary ufuncs that have an identity but no dedicated reduction:
/// folded with the ufunc's own loop, over every axis choice and a few chunkings.
#[test]
fn generic_ufunc_reduce_matches_a_sequential_fold() {
    let mut rng = Rng::new(77);
    for case in 0..12 {
        let shape = random_shape(&mut rng, 2, 0, 9);
        let x = rand_i64(&mut rng, &shape, -1000, 1000);
        let chunks = random_chunks(&mut rng, &shape);
        let a = mk(&x, &chunks);
        for (name, identity, f) in [
            (
                "bitwise_or",
                0i64,
                (|p: i64, q: i64| p | q) as fn(i64, i64) -> i64,
            ),
            ("bitwise_xor", 0, |p, q| p ^ q),
            ("bitwise_and", -1, |p, q| p & q),
        ] {
            for axes in [
                None,
                Some(vec![0usize]),
                Some(vec![1usize]),
                Some(vec![0usize, 1]),
            ] {
                let got = fetch_i64(&a.reduce_ufunc(name, axes.as_deref(), false).unwrap());
                let (r0, r1) = match &axes {
                    None => (true, true),
                    Some(v) => (v.contains(&0), v.contains(&1)),
                };
                let out_shape: Vec<usize> = [(shape[0], r0), (shape[1], r1)]
                    .iter()
                    .filter(|(_, r)| !r)
                    .map(|(n, _)| *n)
                    .collect();
                let want = Nd::from_fn(&out_shape, |oi| {
                    let mut acc = identity;
                    let mut k = 0;
                    for i in 0..shape[0] {
                        for j in 0..shape[1] {
                            let keep_i = r0 || oi.first() == Some(&i);
                            let keep_j = if r1 {
                                true
                            } else {
                                oi[if r0 { 0 } else { 1 }] == j
                            };
                            if keep_i && keep_j {
                                acc = f(acc, x.at(&[i, j]));
                                k += 1;
                            }
                        }
                    }
                    let _ = k;
                    acc
                });
                assert_eq!(
                    got.data, want.data,
                    "case {case} {name} {axes:?} shape {shape:?}"
                );
            }
        }
    }
    // logical_xor on booleans; and a ufunc without an identity is refused clearly.
    let b = Nd::from_fn(&[7, 5], |i| (i[0] * 3 + i[1]) % 4 == 0);
    let ab = mk_bool(&b, &ChunkSpec::Regular(vec![3, 2]));
    let got = fetch_bool(&ab.reduce_ufunc("logical_xor", Some(&[0]), false).unwrap());
    for j in 0..5 {
        let want = (0..7).fold(false, |acc, i| acc ^ b.at(&[i, j]));
        assert_eq!(got.at(&[j]), want);
    }
    // Without an identity: in order along one axis (across blocks), refused over several
    // (NumPy: not reorderable) and over an empty axis.
    let err = ab
        .reduce_ufunc("arctan2", None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not reorderable"), "{err}");
    let n = Nd::from_fn(&[7, 5], |i| (i[0] * 5 + i[1]) as i64 % 11 - 3);
    for (axis, chunks) in [(0, vec![3, 2]), (1, vec![2, 2]), (0, vec![1, 5])] {
        let an = mk(&n, &ChunkSpec::Regular(chunks.clone()));
        let got = fetch_i64(&an.reduce_ufunc("subtract", Some(&[axis]), false).unwrap());
        let other = 1 - axis;
        for j in 0..n.shape[other] {
            let at = |k: usize| {
                if axis == 0 {
                    n.at(&[k, j])
                } else {
                    n.at(&[j, k])
                }
            };
            let want = (1..n.shape[axis]).fold(at(0), |acc, k| acc - at(k));
            assert_eq!(got.at(&[j]), want, "subtract along {axis} in {chunks:?}");
        }
    }
    let empty = mk(
        &Nd::from_fn(&[0, 3], |_| 0i64),
        &ChunkSpec::Regular(vec![1, 3]),
    );
    let err = empty
        .reduce_ufunc("subtract", Some(&[0]), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no identity"), "{err}");
}
