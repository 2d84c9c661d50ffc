//! Linear algebra and axis permutations: matmul, tensordot with arbitrary axes, transpose,
//! `.T` and swapaxes, against loop-based dense references.

mod common;

use common::*;
use dask::array::{Array, ChunkSpec};
use dask::DType;

const F64: DType = DType::Float64;

fn chunking(rng: &mut Rng, shape: &[usize]) -> ChunkSpec {
    match rng.below(3) {
        0 => random_chunks(rng, shape),
        1 => random_regular(rng, shape),
        _ => ChunkSpec::Explicit(shape.iter().map(|&n| vec![n]).collect()),
    }
}

#[test]
fn matmul_with_independent_chunkings() {
    let mut rng = Rng::new(200);
    for _ in 0..30 {
        let (m, k, n) = (1 + rng.below(12), 1 + rng.below(12), 1 + rng.below(12));
        let a = rand_f64(&mut rng, &[m, k], -1.0, 1.0);
        let b = rand_f64(&mut rng, &[k, n], -1.0, 1.0);
        let (ca, cb) = (chunking(&mut rng, &[m, k]), chunking(&mut rng, &[k, n]));
        let got = mk(&a, &ca).matmul(&mk(&b, &cb)).unwrap();
        assert_eq!(got.shape(), vec![m, n]);
        assert_eq!(got.dtype(), F64);
        let want = tensordot_ref(&a, &b, &[1], &[0]);
        let ctx = format!("({m},{k})@({k},{n}) {ca:?} {cb:?}");
        assert_close(&fetch::<f64>(&got), &want, 1e-12, 1e-12, &ctx);
    }
    // A long contraction (many block pairs, summed in a tree).
    let a = rand_f64(&mut rng, &[3, 61], -1.0, 1.0);
    let b = rand_f64(&mut rng, &[61, 4], -1.0, 1.0);
    for block in [1usize, 2, 5] {
        let got = mk(&a, &ChunkSpec::Regular(vec![2, block]))
            .matmul(&mk(&b, &ChunkSpec::Regular(vec![7, 3])))
            .unwrap();
        let want = tensordot_ref(&a, &b, &[1], &[0]);
        assert_close(&fetch::<f64>(&got), &want, 1e-12, 1e-12, "long k");
    }
}

#[test]
fn matmul_vectors_empty_and_size_one() {
    let mut rng = Rng::new(201);
    let a = rand_f64(&mut rng, &[4, 5], -1.0, 1.0);
    let v = rand_f64(&mut rng, &[5], -1.0, 1.0);
    let w = rand_f64(&mut rng, &[4], -1.0, 1.0);
    let ca = mk(&a, &ChunkSpec::Regular(vec![3, 2]));
    let cv = mk(&v, &ChunkSpec::Regular(vec![3]));
    let cw = mk(&w, &ChunkSpec::Regular(vec![1]));
    // (4,5) @ (5,) -> (4,)
    let got = ca.matmul(&cv).unwrap();
    assert_close(
        &fetch::<f64>(&got),
        &tensordot_ref(&a, &v, &[1], &[0]),
        1e-13,
        1e-14,
        "A@v",
    );
    // (4,) @ (4,5) -> (5,)
    let got = cw.matmul(&ca).unwrap();
    assert_close(
        &fetch::<f64>(&got),
        &tensordot_ref(&w, &a, &[0], &[0]),
        1e-13,
        1e-14,
        "w@A",
    );
    // (5,) @ (5,) -> ()
    let got = cv.matmul(&cv).unwrap();
    assert_eq!(got.shape(), Vec::<usize>::new());
    let want: f64 = v.data.iter().map(|x| x * x).sum();
    assert!((fetch::<f64>(&got).data[0] - want).abs() < 1e-13);
    // Empty contraction: zeros. Empty free axes: empty results.
    for (m, k, n) in [
        (3, 0, 2),
        (0, 3, 2),
        (3, 2, 0),
        (0, 0, 0),
        (1, 1, 1),
        (1, 5, 1),
    ] {
        let a = rand_f64(&mut rng, &[m, k], -1.0, 1.0);
        let b = rand_f64(&mut rng, &[k, n], -1.0, 1.0);
        let got = mk(&a, &ChunkSpec::Regular(vec![2, 2]))
            .matmul(&mk(&b, &ChunkSpec::Regular(vec![1, 3])))
            .unwrap();
        let want = tensordot_ref(&a, &b, &[1], &[0]);
        assert_close(
            &fetch::<f64>(&got),
            &want,
            1e-13,
            1e-14,
            &format!("({m},{k},{n})"),
        );
    }
}

#[test]
fn matmul_dtypes() {
    let mut rng = Rng::new(202);
    let a = rand_i64(&mut rng, &[5, 6], -20, 20);
    let b = rand_i64(&mut rng, &[6, 3], -20, 20);
    let exact = |x: &Nd<i64>, y: &Nd<i64>| {
        Nd::from_fn(&[x.shape[0], y.shape[1]], |i| {
            (0..x.shape[1])
                .map(|k| x.at(&[i[0], k]) * y.at(&[k, i[1]]))
                .sum::<i64>()
        })
    };
    // int64 @ int64 is exact int64.
    let got = mk(&a, &ChunkSpec::Regular(vec![2, 4]))
        .matmul(&mk(&b, &ChunkSpec::Regular(vec![3, 2])))
        .unwrap();
    assert_eq!(got.dtype(), DType::Int64);
    assert_same(&fetch::<i64>(&got), &exact(&a, &b), "i64@i64");
    // int32 @ int32 is int32.
    let (a32, b32) = (a.map(|v| v as i32), b.map(|v| v as i32));
    let got = mk(&a32, &ChunkSpec::Regular(vec![5, 1]))
        .matmul(&mk(&b32, &ChunkSpec::Regular(vec![4, 3])))
        .unwrap();
    assert_eq!(got.dtype(), DType::Int32);
    assert_same(
        &fetch::<i32>(&got),
        &exact(&a, &b).map(|v| v as i32),
        "i32@i32",
    );
    // int32 @ float32 is float64 (values exact here).
    let bf = b.map(|v| v as f32 * 0.5);
    let got = mk(&a32, &ChunkSpec::Regular(vec![2, 2]))
        .matmul(&mk(&bf, &ChunkSpec::Regular(vec![6, 1])))
        .unwrap();
    assert_eq!(got.dtype(), F64);
    let want = tensordot_ref(&a.map(|v| v as f64), &bf.map(|v| v as f64), &[1], &[0]);
    assert_exact(&fetch::<f64>(&got), &want, "i32@f32");
    // float32 @ float32 is float32.
    let af = rand_f64(&mut rng, &[4, 7], -1.0, 1.0).map(|v| v as f32);
    let bf = rand_f64(&mut rng, &[7, 2], -1.0, 1.0).map(|v| v as f32);
    let got = mk(&af, &ChunkSpec::Regular(vec![3, 3]))
        .matmul(&mk(&bf, &ChunkSpec::Regular(vec![2, 2])))
        .unwrap();
    assert_eq!(got.dtype(), DType::Float32);
    let want = tensordot_ref(&af.map(|v| v as f64), &bf.map(|v| v as f64), &[1], &[0]);
    assert_close(
        &fetch::<f32>(&got).map(|v| v as f64),
        &want,
        1e-5,
        1e-5,
        "f32@f32",
    );
    // bool @ bool is bool: "any (a and b)".
    let ab = rand_f64(&mut rng, &[3, 4], 0.0, 1.0).map(|v| v < 0.3);
    let bb = rand_f64(&mut rng, &[4, 5], 0.0, 1.0).map(|v| v < 0.3);
    let got = mk_bool(&ab, &ChunkSpec::Regular(vec![2, 3]))
        .matmul(&mk_bool(&bb, &ChunkSpec::Regular(vec![1, 5])))
        .unwrap();
    assert_eq!(got.dtype(), DType::Bool);
    let want = Nd::from_fn(&[3, 5], |i| {
        (0..4).any(|k| ab.at(&[i[0], k]) && bb.at(&[k, i[1]]))
    });
    assert_same(&fetch_bool(&got), &want, "bool@bool");
}

#[test]
fn tensordot_three_d_with_swapped_axes() {
    let mut rng = Rng::new(203);
    let a = rand_f64(&mut rng, &[4, 5, 6], -1.0, 1.0);
    let b = rand_f64(&mut rng, &[6, 3, 5], -1.0, 1.0);
    for _ in 0..6 {
        let ca = chunking(&mut rng, &[4, 5, 6]);
        let cb = chunking(&mut rng, &[6, 3, 5]);
        let (xa, xb) = (mk(&a, &ca), mk(&b, &cb));
        // Contract a's axes 1 and 2 with b's axes 2 and 0, in both listing orders.
        for (axes_a, axes_b) in [(vec![1, 2], vec![2, 0]), (vec![2, 1], vec![0, 2])] {
            let got = xa.tensordot(&xb, &axes_a, &axes_b).unwrap();
            assert_eq!(got.shape(), vec![4, 3]);
            let want = tensordot_ref(&a, &b, &axes_a, &axes_b);
            let ctx = format!("{axes_a:?}/{axes_b:?} {ca:?} {cb:?}");
            assert_close(&fetch::<f64>(&got), &want, 1e-12, 1e-13, &ctx);
        }
        // One axis: (4,5,6) . (6,3,5) over a2/b0 -> (4,5,3,5).
        let got = xa.tensordot(&xb, &[2], &[0]).unwrap();
        assert_close(
            &fetch::<f64>(&got),
            &tensordot_ref(&a, &b, &[2], &[0]),
            1e-12,
            1e-13,
            "one axis",
        );
    }
}

#[test]
fn tensordot_random_axes() {
    let mut rng = Rng::new(204);
    for _ in 0..40 {
        // a's shape, then a random set of a's axes contracted with a random placement of
        // matching axes in b, plus b's own free axes.
        let nda = 1 + rng.below(3);
        let sa = random_shape(&mut rng, nda, 1, 4);
        let ncontract = rng.below(nda + 1);
        let mut axes_a: Vec<usize> = (0..nda).collect();
        for i in (1..axes_a.len()).rev() {
            axes_a.swap(i, rng.below(i + 1));
        }
        axes_a.truncate(ncontract);
        let nfree_b = rng.below(3 - ncontract.min(2));
        let ndb = ncontract + nfree_b;
        let mut b_positions: Vec<usize> = (0..ndb).collect();
        for i in (1..b_positions.len()).rev() {
            b_positions.swap(i, rng.below(i + 1));
        }
        let axes_b: Vec<usize> = b_positions[..ncontract].to_vec();
        let mut sb = vec![0; ndb];
        for (&x, &y) in axes_a.iter().zip(&axes_b) {
            sb[y] = sa[x];
        }
        for &p in &b_positions[ncontract..] {
            sb[p] = 1 + rng.below(4);
        }
        let a = rand_f64(&mut rng, &sa, -1.0, 1.0);
        let b = rand_f64(&mut rng, &sb, -1.0, 1.0);
        let (ca, cb) = (chunking(&mut rng, &sa), chunking(&mut rng, &sb));
        let got = mk(&a, &ca)
            .tensordot(&mk(&b, &cb), &axes_a, &axes_b)
            .unwrap();
        let want = tensordot_ref(&a, &b, &axes_a, &axes_b);
        let ctx = format!("{sa:?}.{sb:?} over {axes_a:?}/{axes_b:?} {ca:?} {cb:?}");
        assert_eq!(got.shape(), want.shape, "{ctx}");
        assert_close(&fetch::<f64>(&got), &want, 1e-12, 1e-13, &ctx);
    }
}

#[test]
fn linalg_errors() {
    let a = mk(
        &Nd::new(&[2, 3, 4], vec![1.0; 24]),
        &ChunkSpec::Regular(vec![1, 2, 3]),
    );
    let b = mk(
        &Nd::new(&[4, 3], vec![1.0; 12]),
        &ChunkSpec::Regular(vec![2, 2]),
    );
    assert!(
        a.tensordot(&b, &[1, 2], &[1]).is_err(),
        "lists differ in length"
    );
    assert!(a.tensordot(&b, &[1], &[0]).is_err(), "3 vs 4");
    assert!(a.tensordot(&b, &[2, 2], &[0, 0]).is_err(), "repeated axis");
    assert!(a.tensordot(&b, &[3], &[0]).is_err(), "axis out of range");
    assert!(a.tensordot(&b, &[2], &[5]).is_err(), "axis out of range");
    // A stack of matrices: (2, 3, 4) @ (4, 3) is (2, 3, 3) (NumPy's stacking rules; the
    // values are checked in array_numpy_edges.rs); (2, 3, 4) @ (3, 4) does not fit.
    assert_eq!(a.matmul(&b).unwrap().shape(), vec![2, 3, 3]);
    let b_t = mk(
        &Nd::new(&[3, 4], vec![1.0; 12]),
        &ChunkSpec::Regular(vec![2, 2]),
    );
    assert!(a.matmul(&b_t).is_err(), "(2,3,4)@(3,4)");
    let c = mk(
        &Nd::new(&[3, 5], vec![1.0; 15]),
        &ChunkSpec::Regular(vec![2, 2]),
    );
    assert!(b.matmul(&b).is_err(), "(4,3)@(4,3)");
    assert!(c.matmul(&b).is_err(), "(3,5)@(4,3)");
    assert!(b.matmul(&c).is_ok(), "(4,3)@(3,5)");
}

// ---- transposes -----------------------------------------------------------------------------

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn transpose_every_permutation() {
    let mut rng = Rng::new(205);
    for nd in 0..=3 {
        for _ in 0..3 {
            let shape = random_shape(&mut rng, nd, 0, 5);
            let x = rand_f64(&mut rng, &shape, -1.0, 1.0);
            let chunks = random_chunks(&mut rng, &shape);
            let a = mk(&x, &chunks);
            for perm in permutations(nd) {
                let got = a.transpose(&perm).unwrap();
                let want = transpose_ref(&x, &perm);
                let ctx = format!("{shape:?} {perm:?} {chunks:?}");
                assert_exact(&fetch::<f64>(&got), &want, &ctx);
                // Followed by elementwise work with a C-ordered array of the same shape,
                // and by a reduction over the first axis.
                let other = rand_f64(&mut rng, &want.shape, -1.0, 1.0);
                let oc = random_chunks(&mut rng, &want.shape);
                let sum = got.binary("add", mk(&other, &oc)).unwrap();
                assert_exact(
                    &fetch::<f64>(&sum),
                    &zip2(&want, &other, |p, q| p + q),
                    &ctx,
                );
                if nd > 0 {
                    let red = got.sum(Some(&[0])).unwrap();
                    let mut flags = vec![false; nd];
                    flags[0] = true;
                    let want_red = reduce_ref(&want, &flags, false, plain_sum);
                    assert_close(&fetch::<f64>(&red), &want_red, 1e-13, 1e-14, &ctx);
                }
            }
        }
    }
}

#[test]
fn t_and_swapaxes() {
    let mut rng = Rng::new(206);
    let x = rand_f64(&mut rng, &[4, 3, 5], -1.0, 1.0);
    let c = ChunkSpec::Explicit(vec![vec![1, 3], vec![2, 1], vec![2, 2, 1]]);
    let a = mk(&x, &c);
    assert_exact(&fetch::<f64>(&a.t()), &transpose_ref(&x, &[2, 1, 0]), ".T");
    assert_exact(&fetch::<f64>(&a.t().t()), &x, ".T.T");
    for i in 0..3 {
        for j in 0..3 {
            let mut perm = vec![0, 1, 2];
            perm.swap(i, j);
            let got = a.swapaxes(i, j).unwrap();
            assert_exact(&fetch::<f64>(&got), &transpose_ref(&x, &perm), "swapaxes");
        }
    }
    assert!(a.swapaxes(0, 3).is_err());
    assert!(a.transpose(&[0, 0, 1]).is_err());
    assert!(a.transpose(&[0, 1]).is_err());
    assert!(a.transpose(&[0, 1, 3]).is_err());
    // x.T @ x: the transpose feeds the contraction (non-contiguous blocks).
    let m = rand_f64(&mut rng, &[7, 4], -1.0, 1.0);
    let cm = mk(&m, &ChunkSpec::Regular(vec![3, 3]));
    let got = cm.t().matmul(&cm).unwrap();
    let want = tensordot_ref(&m, &m, &[0], &[0]);
    assert_close(&fetch::<f64>(&got), &want, 1e-13, 1e-14, "x.T @ x");
    let got = cm.matmul(&cm.t()).unwrap();
    let want = tensordot_ref(&m, &m, &[1], &[1]);
    assert_close(&fetch::<f64>(&got), &want, 1e-13, 1e-14, "x @ x.T");
    // A transposed integer array keeps its dtype.
    let xi = Nd::new(&[2, 3], vec![1i16, 2, 3, 4, 5, 6]);
    let got = mk(&xi, &ChunkSpec::Regular(vec![1, 2])).t();
    assert_eq!(got.dtype(), DType::Int16);
    assert_same(&fetch::<i16>(&got), &transpose_ref(&xi, &[1, 0]), "int .T");
    // A 1-d transpose is the identity.
    let v = mk(
        &Nd::new(&[3], vec![1.0, 2.0, 3.0]),
        &ChunkSpec::Regular(vec![2]),
    );
    assert_eq!(fetch::<f64>(&v.t()).data, vec![1.0, 2.0, 3.0]);
    let _ = Array::eye(2, 2, 0, F64, &ChunkSpec::Auto).unwrap().t();
}
