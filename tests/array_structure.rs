//! Indexing and restructuring: basic slicing (negative steps, newaxis, integer indices),
//! rechunk, reshape, concatenate, stack, take, boolean selection, map_blocks and
//! from_block_fn, against dense references.

mod common;

use common::*;
use dask::array::{Array, ChunkSpec, Chunks, Index};
use dask::{Buffer, DType, Value};
use std::sync::{Arc, OnceLock};

const F64: DType = DType::Float64;

/// Values that identify their position: element i is i (as f64).
fn iota(shape: &[usize]) -> Nd<f64> {
    Nd::new(shape, (0..size(shape)).map(|i| i as f64).collect())
}

fn random_index(rng: &mut Rng, shape: &[usize]) -> Vec<Index> {
    let mut out = Vec::new();
    let used = rng.below(shape.len() + 1);
    for &n in &shape[..used] {
        let n = n as i64;
        if n > 0 && rng.coin(0.25) {
            out.push(Index::At(rng.int(-n, n - 1)));
        } else {
            let bound = |rng: &mut Rng| {
                if rng.coin(0.3) {
                    None
                } else {
                    Some(rng.int(-n - 3, n + 3))
                }
            };
            let (a, b) = (bound(rng), bound(rng));
            let step = [-3, -2, -1, 1, 1, 2, 3][rng.below(7)];
            out.push(Index::Slice(a, b, step));
        }
    }
    for _ in 0..rng.below(3) {
        let at = rng.below(out.len() + 1);
        out.insert(at, Index::NewAxis);
    }
    out
}

#[test]
fn random_basic_indexing() {
    let mut rng = Rng::new(300);
    for round in 0..300 {
        let nd = 1 + round % 3;
        let lo = if round % 9 == 8 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 8);
        let x = iota(&shape);
        let chunks = random_chunks(&mut rng, &shape);
        let a = mk(&x, &chunks);
        let index = random_index(&mut rng, &shape);
        let ctx = format!("{shape:?} {chunks:?} [{index:?}]");
        let want = slice_ref(&x, &index).expect("valid index");
        let got = a.slice(&index).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_exact(&fetch::<f64>(&got), &want, &ctx);
    }
}

#[test]
fn negative_steps_newaxis_and_integer_indexing() {
    let x = iota(&[6, 5, 4]);
    let c = ChunkSpec::Explicit(vec![vec![2, 1, 3], vec![5], vec![1, 1, 2]]);
    let a = mk(&x, &c);
    use Index::*;
    const ALL: Index = Index::ALL;
    let cases: Vec<Vec<Index>> = vec![
        vec![Slice(None, None, -1)],
        vec![ALL, Slice(None, None, -2), Slice(Some(-1), None, -3)],
        vec![Slice(Some(4), Some(0), -1), At(-1), NewAxis],
        vec![
            NewAxis,
            At(2),
            NewAxis,
            Slice(Some(1), Some(-1), 1),
            NewAxis,
        ],
        vec![At(0), At(-5), At(3)],
        vec![Slice(Some(100), Some(-100), -1)],
        vec![Slice(Some(-100), Some(100), 4)],
        vec![Slice(Some(3), Some(3), 1)],
        vec![Slice(Some(2), Some(5), -1)],
        vec![NewAxis, NewAxis],
        vec![],
        vec![ALL, ALL, ALL, NewAxis],
        vec![Slice(Some(5), None, -2), Slice(None, Some(-6), -1)],
    ];
    for index in cases {
        let want = slice_ref(&x, &index).unwrap();
        let got = a.slice(&index).unwrap();
        assert_exact(&fetch::<f64>(&got), &want, &format!("{index:?}"));
    }
    // Slices of slices, then arithmetic with another chunking and a reduction.
    let s1 = vec![Slice(None, None, -1), NewAxis, Slice(Some(1), None, 2)];
    let s2 = vec![
        Slice(Some(1), Some(5), 2),
        At(0),
        ALL,
        Slice(None, None, -1),
    ];
    let first = slice_ref(&x, &s1).unwrap();
    let want = slice_ref(&first, &s2).unwrap();
    let got = a.slice(&s1).unwrap().slice(&s2).unwrap();
    assert_exact(&fetch::<f64>(&got), &want, "slice of slice");
    let y = rand_f64(&mut Rng::new(1), &want.shape, 0.0, 1.0);
    let yc = random_chunks(&mut Rng::new(2), &want.shape);
    let z = got
        .binary("multiply", mk(&y, &yc))
        .unwrap()
        .sum(Some(&[1]))
        .unwrap();
    let prod = zip2(&want, &y, |p, q| p * q);
    let wz = reduce_ref(&prod, &[false, true, false], false, plain_sum);
    assert_close(&fetch::<f64>(&z), &wz, 1e-13, 0.0, "slice*y summed");
    // 0-d arrays take only newaxis.
    let s = mk(&Nd::scalar(3.0), &ChunkSpec::Explicit(vec![]));
    assert_eq!(fetch::<f64>(&s.slice(&[NewAxis]).unwrap()).shape, vec![1]);
    assert_eq!(fetch::<f64>(&s.slice(&[]).unwrap()).data, vec![3.0]);
    assert!(s.slice(&[At(0)]).is_err());
}

#[test]
fn indexing_errors() {
    use Index::*;
    const ALL: Index = Index::ALL;
    let a = mk(&iota(&[3, 4]), &ChunkSpec::Regular(vec![2, 2]));
    assert!(a.slice(&[At(3)]).is_err());
    assert!(a.slice(&[At(-4)]).is_err());
    assert!(a.slice(&[ALL, At(4)]).is_err());
    assert!(a.slice(&[ALL, ALL, ALL]).is_err(), "too many indices");
    assert!(a.slice(&[Slice(None, None, 0)]).is_err(), "zero step");
    assert!(a.take(&[3], 0).is_err());
    assert!(a.take(&[-5], 1).is_err());
    assert!(a.take(&[0], 2).is_err());
    let e = mk(&iota(&[0, 2]), &ChunkSpec::Regular(vec![1, 1]));
    assert!(e.slice(&[At(0)]).is_err());
}

#[test]
fn rechunk_preserves_values() {
    let mut rng = Rng::new(301);
    for round in 0..40 {
        let nd = 1 + round % 3;
        let lo = if round % 7 == 6 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 9);
        let x = iota(&shape);
        let from = random_chunks(&mut rng, &shape);
        let to = match round % 3 {
            0 => random_chunks(&mut rng, &shape),
            1 => random_regular(&mut rng, &shape),
            _ => ChunkSpec::Auto,
        };
        let a = mk(&x, &from).binary("add", 0.5).unwrap();
        let r = a.rechunk(&to).unwrap();
        let want_chunks = to.resolve(&shape, F64).unwrap();
        assert_eq!(r.chunks(), &want_chunks, "{from:?} -> {to:?}");
        assert_exact(&fetch::<f64>(&r), &x.map(|v| v + 0.5), "rechunk");
        // Regular chunks are the block sizes NumPy-style dask would give.
        if let ChunkSpec::Regular(b) = &to {
            let sizes: Vec<Vec<usize>> = shape
                .iter()
                .zip(b)
                .map(|(&n, &k)| regular_sizes(n, k))
                .collect();
            assert_eq!(r.chunks().axes(), sizes.as_slice());
        }
    }
    // Rechunking to the same chunks is a no-op; to bad chunks an error.
    let a = mk(&iota(&[5, 4]), &ChunkSpec::Regular(vec![2, 3]));
    let same = a.rechunk(&ChunkSpec::Explicit(vec![vec![2, 2, 1], vec![3, 1]]));
    assert_eq!(same.unwrap().task_count().unwrap(), 0);
    assert!(a
        .rechunk(&ChunkSpec::Explicit(vec![vec![2, 2], vec![4]]))
        .is_err());
    assert!(a.rechunk(&ChunkSpec::Regular(vec![2])).is_err());
}

#[test]
fn reshape_cases() {
    let mut rng = Rng::new(302);
    let cases: &[(&[usize], &[i64])] = &[
        (&[6, 4], &[4, 6]),
        (&[6, 4], &[24]),
        (&[6, 4], &[-1]),
        (&[6, 4], &[2, 3, 4]),
        (&[6, 4], &[3, -1]),
        (&[6, 4], &[2, -1, 2]),
        (&[6, 4], &[1, 24]),
        (&[6, 4], &[24, 1]),
        (&[6, 4], &[6, 4]),
        (&[24], &[4, 6]),
        (&[24], &[2, 3, 4]),
        (&[2, 3, 4], &[6, 4]),
        (&[2, 3, 4], &[4, 6]),
        (&[2, 3, 4], &[24]),
        (&[2, 3, 4], &[2, 12]),
        (&[2, 3, 4], &[4, 3, 2]),
        (&[2, 3, 4], &[1, 2, 1, 12, 1]),
        (&[1, 5, 1], &[5]),
        (&[5], &[1, 5, 1]),
        (&[0, 3], &[3, 0]),
        (&[0, 3], &[0]),
        (&[0, 3], &[-1]),
        (&[4, 0], &[0, 2, 7]),
        (&[], &[1]),
        (&[], &[1, 1]),
        (&[1], &[]),
        (&[1, 1], &[]),
        (&[7, 3], &[3, 7]),
        (&[9, 2, 2], &[6, 6]),
    ];
    for &(from, to) in cases {
        let x = iota(from);
        let n = size(from) as i64;
        let known: i64 = to.iter().filter(|&&v| v >= 0).product();
        let want_shape: Vec<usize> = to
            .iter()
            .map(|&v| {
                if v < 0 {
                    (n / known.max(1)) as usize
                } else {
                    v as usize
                }
            })
            .collect();
        let want = Nd::new(&want_shape, x.data.clone());
        for _ in 0..4 {
            let chunks = random_chunks(&mut rng, from);
            let got = mk(&x, &chunks).reshape(to).unwrap();
            assert_eq!(got.shape(), want_shape, "{from:?} -> {to:?}");
            assert_exact(
                &fetch::<f64>(&got),
                &want,
                &format!("{from:?} -> {to:?} {chunks:?}"),
            );
            // Also from a lazy elementwise input.
            let got = mk(&x, &chunks)
                .binary("multiply", 2.0)
                .unwrap()
                .reshape(to)
                .unwrap();
            assert_exact(&fetch::<f64>(&got), &want.map(|v| v * 2.0), "lazy reshape");
        }
    }
    // Random shapes and factorisations.
    for _ in 0..60 {
        let nd = 1 + rng.below(3);
        let from = random_shape(&mut rng, nd, 1, 6);
        let n = size(&from);
        // Split n into up to three factors.
        let mut to = Vec::new();
        let mut left = n;
        for _ in 0..rng.below(3) {
            let divisors: Vec<usize> = (1..=left).filter(|d| left.is_multiple_of(*d)).collect();
            let d = divisors[rng.below(divisors.len())];
            to.push(d as i64);
            left /= d;
        }
        to.push(left as i64);
        if rng.coin(0.3) {
            let k = rng.below(to.len());
            to[k] = -1;
        }
        let x = iota(&from);
        let chunks = random_chunks(&mut rng, &from);
        let got = mk(&x, &chunks).reshape(&to).unwrap();
        assert_eq!(size(&got.shape()), n);
        let want = Nd::new(&got.shape(), x.data.clone());
        assert_exact(
            &fetch::<f64>(&got),
            &want,
            &format!("{from:?} -> {to:?} {chunks:?}"),
        );
    }
    let a = mk(&iota(&[6, 4]), &ChunkSpec::Regular(vec![4, 3]));
    assert!(a.reshape(&[5, 5]).is_err());
    assert!(a.reshape(&[-1, -1]).is_err());
    // Any negative length is the inferred one, as in NumPy (-2 acts as -1).
    assert_eq!(a.reshape(&[-2, 12]).unwrap().shape(), vec![2, 12]);
    assert!(a.reshape(&[-2, -1]).is_err());
    assert!(a.reshape(&[7, -1]).is_err());
}

#[test]
fn concatenate_and_stack() {
    let mut rng = Rng::new(303);
    for round in 0..30 {
        let nd = 1 + round % 3;
        let base = random_shape(&mut rng, nd, 1, 5);
        let axis = rng.below(nd);
        let k = 1 + rng.below(4);
        let parts: Vec<Nd<f64>> = (0..k)
            .map(|_| {
                let mut s = base.clone();
                s[axis] = rng.below(5); // sometimes empty
                rand_f64(&mut rng, &s, -1.0, 1.0)
            })
            .collect();
        let arrays: Vec<Array> = parts
            .iter()
            .map(|p| mk(p, &random_chunks(&mut rng, &p.shape)))
            .collect();
        let got = Array::concatenate(&arrays, axis).unwrap();
        let want = concat_ref(&parts, axis);
        assert_exact(
            &fetch::<f64>(&got),
            &want,
            &format!("concat {base:?} axis {axis}"),
        );
        // stack needs equal shapes.
        let same: Vec<Nd<f64>> = (0..k)
            .map(|_| rand_f64(&mut rng, &base, -1.0, 1.0))
            .collect();
        let arrays: Vec<Array> = same
            .iter()
            .map(|p| mk(p, &random_chunks(&mut rng, &p.shape)))
            .collect();
        for saxis in 0..=nd {
            let got = Array::stack(&arrays, saxis).unwrap();
            let expanded: Vec<Nd<f64>> = same
                .iter()
                .map(|p| {
                    let mut s = p.shape.clone();
                    s.insert(saxis, 1);
                    Nd::new(&s, p.data.clone())
                })
                .collect();
            let want = concat_ref(&expanded, saxis);
            assert_exact(&fetch::<f64>(&got), &want, &format!("stack axis {saxis}"));
        }
    }
    // Mixed dtypes promote as NumPy: int32 + float32 -> float64, int8 + uint8 -> int16.
    let a = Nd::new(&[2, 2], vec![1i32, 2, 3, 4]);
    let b = Nd::new(&[1, 2], vec![0.5f32, -1.5]);
    let got = Array::concatenate(
        &[
            mk(&a, &ChunkSpec::Regular(vec![1, 1])),
            mk(&b, &ChunkSpec::Regular(vec![1, 2])),
        ],
        0,
    )
    .unwrap();
    assert_eq!(got.dtype(), F64);
    assert_eq!(fetch::<f64>(&got).data, vec![1.0, 2.0, 3.0, 4.0, 0.5, -1.5]);
    let a = Nd::new(&[3], vec![-1i8, 2, -3]);
    let b = Nd::new(&[3], vec![255u8, 0, 7]);
    let (xa, xb) = (
        mk(&a, &ChunkSpec::Regular(vec![2])),
        mk(&b, &ChunkSpec::Regular(vec![1])),
    );
    let got = Array::stack(&[xa.clone(), xb.clone()], 1).unwrap();
    assert_eq!(got.dtype(), DType::Int16);
    assert_eq!(fetch::<i16>(&got).data, vec![-1, 255, 2, 0, -3, 7]);
    let flags = mk_bool(&Nd::new(&[3], vec![true, false, true]), &ChunkSpec::Auto);
    let got = Array::concatenate(&[flags, xa.clone()], 0).unwrap();
    assert_eq!(got.dtype(), DType::Int8);
    assert_eq!(fetch::<i8>(&got).data, vec![1, 0, 1, -1, 2, -3]);
    // All parts empty along the axis.
    let e = mk(&iota(&[0, 3]), &ChunkSpec::Regular(vec![1, 2]));
    let got = Array::concatenate(&[e.clone(), e.clone()], 0).unwrap();
    assert_eq!(fetch::<f64>(&got).shape, vec![0, 3]);
    // Errors.
    let m = mk(&iota(&[2, 3]), &ChunkSpec::Regular(vec![1, 2]));
    let n = mk(&iota(&[2, 4]), &ChunkSpec::Regular(vec![1, 2]));
    assert!(Array::concatenate(&[m.clone(), n.clone()], 0).is_err());
    assert!(Array::concatenate(&[m.clone(), n.clone()], 1).is_ok());
    assert!(
        Array::concatenate(&[m.clone(), xa.clone()], 0).is_err(),
        "ndim differs"
    );
    assert!(Array::concatenate(std::slice::from_ref(&m), 2).is_err());
    assert!(Array::concatenate(&[], 0).is_err());
    assert!(Array::stack(&[m.clone(), n], 0).is_err());
    assert!(Array::stack(std::slice::from_ref(&m), 3).is_err());
    assert!(Array::stack(&[], 0).is_err());
}

#[test]
fn take_with_negative_and_repeated_indices() {
    let mut rng = Rng::new(304);
    for round in 0..40 {
        let nd = 1 + round % 3;
        let shape = random_shape(&mut rng, nd, 1, 7);
        let axis = rng.below(nd);
        let n = shape[axis] as i64;
        let count = rng.below(12);
        let indices: Vec<i64> = (0..count).map(|_| rng.int(-n, n - 1)).collect();
        let x = iota(&shape);
        let chunks = random_chunks(&mut rng, &shape);
        let got = mk(&x, &chunks).take(&indices, axis).unwrap();
        let want = take_ref(&x, &indices, axis);
        let ctx = format!("{shape:?} {chunks:?} take {indices:?} axis {axis}");
        assert_exact(&fetch::<f64>(&got), &want, &ctx);
    }
    // Along an axis of an array with an empty other axis.
    let x = iota(&[0, 4]);
    let got = mk(&x, &ChunkSpec::Regular(vec![1, 3]))
        .take(&[3, -1, 0], 1)
        .unwrap();
    assert_eq!(fetch::<f64>(&got).shape, vec![0, 3]);
    // Integer dtype is kept.
    let xi = Nd::new(&[5], vec![10i64, 20, 30, 40, 50]);
    let got = mk(&xi, &ChunkSpec::Regular(vec![2]))
        .take(&[-1, 0, -1, 2], 0)
        .unwrap();
    assert_eq!(fetch::<i64>(&got).data, vec![50, 10, 50, 30]);
}

#[test]
fn boolean_selection() {
    let mut rng = Rng::new(305);
    for round in 0..30 {
        let nd = 1 + round % 3;
        let lo = if round % 8 == 7 { 0 } else { 1 };
        let shape = random_shape(&mut rng, nd, lo, 7);
        let x = rand_f64(&mut rng, &shape, 0.0, 1.0);
        let chunks = random_chunks(&mut rng, &shape);
        let a = mk(&x, &chunks);
        let p = [0.0, 0.3, 0.7, 1.1][round % 4];
        // x[x < p]
        let got = a.select(&a.binary("less", p).unwrap(), client()).unwrap();
        let want: Vec<f64> = x.data.iter().copied().filter(|&v| v < p).collect();
        assert_eq!(
            fetch::<f64>(&got).data,
            want,
            "x[x<{p}] {shape:?} {chunks:?}"
        );
        // A mask from another array with a different chunking.
        let m = rand_f64(&mut rng, &shape, 0.0, 1.0).map(|v| v < 0.5);
        let mc = random_chunks(&mut rng, &shape);
        let got = a.select(&mk_bool(&m, &mc), client()).unwrap();
        let want: Vec<f64> = x
            .data
            .iter()
            .zip(&m.data)
            .filter(|(_, &k)| k)
            .map(|(&v, _)| v)
            .collect();
        assert_eq!(fetch::<f64>(&got).data, want);
        // The selection stays lazy and composes.
        let s = got.binary("multiply", 2.0).unwrap().sum(None).unwrap();
        let ws: f64 = want.iter().map(|v| v * 2.0).sum();
        assert!((fetch::<f64>(&s).data[0] - ws).abs() < 1e-12 * (1.0 + ws.abs()));
    }
    // Integer data with a numeric (non-boolean) mask: non-zero selects.
    let xi = Nd::new(&[2, 3], vec![1i32, 2, 3, 4, 5, 6]);
    let mi = Nd::new(&[2, 3], vec![0i64, 7, 0, -1, 0, 1]);
    let got = mk(&xi, &ChunkSpec::Regular(vec![1, 2]))
        .select(&mk(&mi, &ChunkSpec::Regular(vec![2, 1])), client())
        .unwrap();
    assert_eq!(got.dtype(), DType::Int32);
    assert_eq!(fetch::<i32>(&got).data, vec![2, 4, 6]);
    // Mask of another shape: an error.
    let a = mk(&iota(&[2, 3]), &ChunkSpec::Regular(vec![1, 1]));
    let bad = mk_bool(
        &Nd::new(&[3, 2], vec![true; 6]),
        &ChunkSpec::Regular(vec![1, 1]),
    );
    assert!(a.select(&bad, client()).is_err());
}

// ---- map_blocks and from_block_fn -----------------------------------------------------------

/// Registered once per process: `x * 10 + y` of two f64 blocks of one shape.
fn combine_op() -> &'static dask::runtime::OpDef {
    static OP: OnceLock<&'static dask::runtime::OpDef> = OnceLock::new();
    OP.get_or_init(|| {
        dask::register_op("test.ten_x_plus_y", false, |inputs| {
            let x = inputs[0].as_buffer().ok_or("not a block")?;
            let y = inputs[1].as_buffer().ok_or("not a block")?;
            let read = |b: &Buffer| -> Vec<f64> {
                // Blocks may be strided views: read them element by element.
                let shape = b.shape().to_vec();
                (0..b.len())
                    .map(|i| {
                        let idx = unravel(i, &shape);
                        let off: isize = idx
                            .iter()
                            .zip(b.strides())
                            .map(|(&k, &s)| k as isize * s)
                            .sum();
                        // SAFETY: inside the block's checked extent; f64 data.
                        unsafe { std::ptr::read_unaligned(b.as_ptr().offset(off) as *const f64) }
                    })
                    .collect()
            };
            let v: Vec<f64> = read(x)
                .iter()
                .zip(read(y))
                .map(|(a, b)| a * 10.0 + b)
                .collect();
            let out = Buffer::from_vec(v, x.shape()).map_err(|e| e.to_string())?;
            Ok(Arc::new(Value::Buffer(out)))
        })
        .unwrap();
        dask::lookup_op("test.ten_x_plus_y").unwrap()
    })
}

/// A block whose elements are their global row-major positions (from the (3, ndim) int64
/// meta block: grid index, block shape, block offset).
fn position_op() -> &'static dask::runtime::OpDef {
    static OP: OnceLock<&'static dask::runtime::OpDef> = OnceLock::new();
    OP.get_or_init(|| {
        dask::register_op("test.positions", false, |inputs| {
            let meta = inputs[0].as_buffer().ok_or("no meta")?;
            let m = meta.as_slice::<i64>().map_err(|e| e.to_string())?;
            let nd = meta.shape()[1];
            let shape: Vec<usize> = m[nd..2 * nd].iter().map(|&v| v as usize).collect();
            let offset: Vec<usize> = m[2 * nd..].iter().map(|&v| v as usize).collect();
            let full = [4usize, 7, 3];
            let v: Vec<i64> = (0..size(&shape))
                .map(|i| {
                    let idx = unravel(i, &shape);
                    let g: Vec<usize> = idx.iter().zip(&offset).map(|(a, b)| a + b).collect();
                    ravel(&g, &full) as i64
                })
                .collect();
            let out = Buffer::from_vec(v, &shape).map_err(|e| e.to_string())?;
            Ok(Arc::new(Value::Buffer(out)))
        })
        .unwrap();
        dask::lookup_op("test.positions").unwrap()
    })
}

#[test]
fn map_blocks_and_block_functions() {
    let mut rng = Rng::new(306);
    let x = rand_f64(&mut rng, &[5, 6], 0.0, 1.0);
    let y = rand_f64(&mut rng, &[5, 6], 0.0, 1.0);
    let c = ChunkSpec::Explicit(vec![vec![2, 3], vec![1, 4, 1]]);
    let (xa, ya) = (mk(&x, &c), mk(&y, &c));
    if std::env::var_os("DASK_SCHEDULER_ADDRESS").is_some() {
        // On a cluster (`make cluster-test`), an operation registered only in this process
        // runs nowhere: the workers refuse it, naming it and how to provide it.
        let got = Array::map_blocks(combine_op(), &[xa, ya], F64, None).unwrap();
        let e = got.compute(client()).unwrap_err().to_string();
        assert!(
            e.contains("test.ten_x_plus_y") && e.contains("--plugin-dir"),
            "{e}"
        );
        return;
    }
    // Inputs can be lazy (their blocks are materialised first), including transposes.
    let xt = mk(
        &transpose_ref(&x, &[1, 0]),
        &ChunkSpec::Explicit(vec![vec![1, 4, 1], vec![2, 3]]),
    );
    for first in [xa.binary("add", 0.0).unwrap(), xt.t()] {
        let got = Array::map_blocks(combine_op(), &[first, ya.clone()], F64, None).unwrap();
        assert_eq!(got.chunks(), xa.chunks());
        assert_close(
            &fetch::<f64>(&got),
            &zip2(&x, &y, |a, b| a * 10.0 + b),
            1e-15,
            0.0,
            "map_blocks",
        );
    }
    // Grids must match.
    let other = mk(&y, &ChunkSpec::Regular(vec![5, 6]));
    assert!(Array::map_blocks(combine_op(), &[xa.clone(), other], F64, None).is_err());
    let wrong = Chunks::from_sizes(&[5, 6], vec![vec![5], vec![6]]).unwrap();
    assert!(Array::map_blocks(combine_op(), &[xa.clone(), ya.clone()], F64, Some(wrong)).is_err());
    assert!(Array::map_blocks(combine_op(), &[], F64, None).is_err());

    let shape = [4usize, 7, 3];
    for chunks in [
        ChunkSpec::Regular(vec![3, 2, 3]),
        random_chunks(&mut rng, &shape),
        ChunkSpec::Auto,
    ] {
        let a = Array::from_block_fn(position_op(), &shape, DType::Int64, &chunks).unwrap();
        let want = Nd::from_fn(&shape, |i| ravel(i, &shape) as i64);
        assert_same(
            &fetch::<i64>(&a),
            &want,
            &format!("from_block_fn {chunks:?}"),
        );
        // And downstream operations on it.
        let s = a.sum(Some(&[1])).unwrap();
        let ws = reduce_ref(&want, &[false, true, false], false, |g| {
            g.iter().sum::<i64>()
        });
        assert_same(&fetch::<i64>(&s), &ws, "sum of from_block_fn");
    }
}

#[test]
fn zero_size_blocks_inside_non_empty_axes() {
    // Dask allows blocks of length 0 in an axis that is not empty; every operation must
    // treat them as nothing.
    use Index::*;
    let mut rng = Rng::new(307);
    let x = rand_f64(&mut rng, &[5, 4], -1.0, 1.0);
    let c = ChunkSpec::Explicit(vec![vec![2, 0, 3], vec![0, 4, 0]]);
    let a = mk(&x, &c);
    assert_exact(&fetch::<f64>(&a), &x, "identity");
    let e = a.unary("exp").unwrap();
    assert_close(&fetch::<f64>(&e), &x.map(f64::exp), 1e-15, 0.0, "exp");
    let y = rand_f64(&mut rng, &[5, 4], -1.0, 1.0);
    let s = a
        .binary("add", mk(&y, &ChunkSpec::Regular(vec![3, 3])))
        .unwrap();
    assert_exact(&fetch::<f64>(&s), &zip2(&x, &y, |p, q| p + q), "add");
    for index in [
        vec![Slice(None, None, -1)],
        vec![Slice(Some(1), Some(4), 1), At(-1)],
        vec![At(2), NewAxis],
        vec![Index::ALL, Slice(None, None, -3)],
    ] {
        let want = slice_ref(&x, &index).unwrap();
        assert_exact(&fetch::<f64>(&a.slice(&index).unwrap()), &want, "slice");
    }
    let r = a.rechunk(&ChunkSpec::Explicit(vec![vec![1, 4, 0], vec![2, 0, 2]]));
    assert_exact(&fetch::<f64>(&r.unwrap()), &x, "rechunk");
    let rs = a.reshape(&[2, 10]).unwrap();
    assert_exact(
        &fetch::<f64>(&rs),
        &Nd::new(&[2, 10], x.data.clone()),
        "reshape",
    );
    assert_exact(&fetch::<f64>(&a.t()), &transpose_ref(&x, &[1, 0]), ".T");
    let m = a.matmul(&a.t()).unwrap();
    let want = tensordot_ref(&x, &x, &[1], &[1]);
    assert_close(&fetch::<f64>(&m), &want, 1e-13, 1e-14, "x @ x.T");
    let m = a.t().matmul(&a).unwrap();
    let want = tensordot_ref(&x, &x, &[0], &[0]);
    assert_close(&fetch::<f64>(&m), &want, 1e-13, 1e-14, "x.T @ x");
    let t = a.take(&[4, -5, 2], 0).unwrap();
    assert_exact(&fetch::<f64>(&t), &take_ref(&x, &[4, -5, 2], 0), "take");
    let sel = a
        .select(&a.binary("greater", 0.0).unwrap(), client())
        .unwrap();
    let want: Vec<f64> = x.data.iter().copied().filter(|&v| v > 0.0).collect();
    assert_eq!(fetch::<f64>(&sel).data, want);
    let cat = Array::concatenate(&[a.clone(), a.clone()], 1).unwrap();
    assert_exact(
        &fetch::<f64>(&cat),
        &concat_ref(&[x.clone(), x.clone()], 1),
        "concat",
    );
    for axis in 0..2 {
        let cs = a.cumsum(axis).unwrap();
        let want = cumulative_ref(&x, axis, |p, v| p + v);
        assert_close(&fetch::<f64>(&cs), &want, 1e-14, 1e-14, "cumsum");
        let am = a.argmax(Some(axis)).unwrap();
        let mut flags = [false, false];
        flags[axis] = true;
        let want = reduce_ref(&x, &flags, false, |g| {
            let mut best = 0;
            for (i, &v) in g.iter().enumerate() {
                if v > g[best] {
                    best = i;
                }
            }
            best as i64
        });
        assert_same(&fetch::<i64>(&am), &want, "argmax");
        let sm = a.sum(Some(&[axis])).unwrap();
        let want = reduce_ref(&x, &flags, false, plain_sum);
        assert_close(&fetch::<f64>(&sm), &want, 1e-14, 1e-14, "sum");
    }
}
