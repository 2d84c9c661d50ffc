//! Chunked arrays with sparse blocks: every chunk operation dispatches on the block kind; the
//! results are checked against the same computation on dense blocks.

use dask::array::{Array, ChunkSpec, Scalar};
use dask::{Client, Config, DType};
use std::sync::OnceLock;

fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| Client::new(Config::with_threads(2)).unwrap())
}

/// The dask 2017 log's pattern on a chunked array: x[x < 0.9] = 0, then blocks to COO.
fn sparse_and_dense() -> (Array, Array) {
    let c = client();
    let x = Array::random_uniform(
        3,
        0.0,
        1.0,
        &[120, 90],
        DType::Float64,
        &ChunkSpec::Regular(vec![50, 40]),
    )
    .unwrap();
    let mask = x.binary("less", 0.9).unwrap();
    let dense = x.set_where(&mask, 0.0).unwrap().persist(c).unwrap();
    let sparse = dense.to_sparse(0.0).persist(c).unwrap();
    assert!(sparse.is_sparse() && !dense.is_sparse());
    (sparse, dense)
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

#[test]
fn elementwise_on_sparse_blocks_matches_dense_blocks() {
    let c = client();
    let (s, d) = sparse_and_dense();
    let expr = |a: &Array| a.binary("multiply", 2.0).unwrap().binary("add", a).unwrap();
    let got = expr(&s);
    assert!(got.is_sparse(), "s * 2 + s keeps sparse blocks");
    let got = got.compute_sparse(c).unwrap();
    assert!(got.density() < 0.2);
    close(
        got.to_dense().unwrap().as_slice::<f64>().unwrap(),
        expr(&d).compute(c).unwrap().as_slice::<f64>().unwrap(),
    );
    // exp changes the fill value (exp(0) = 1): still sparse, still exact everywhere.
    let e = s.unary("exp").unwrap().compute_sparse(c).unwrap();
    assert_eq!(e.fill_value(), Scalar::Float(1.0));
    close(
        e.to_dense().unwrap().as_slice::<f64>().unwrap(),
        d.unary("exp")
            .unwrap()
            .compute(c)
            .unwrap()
            .as_slice::<f64>()
            .unwrap(),
    );
    // No silent densify: computing a sparse array as dense is an explicit step.
    assert!(s.compute(c).is_err());
    close(
        s.to_dense().compute(c).unwrap().as_slice::<f64>().unwrap(),
        d.compute(c).unwrap().as_slice::<f64>().unwrap(),
    );
}

#[test]
fn reductions_and_products_on_sparse_blocks_match_dense_blocks() {
    let c = client();
    let (s, d) = sparse_and_dense();
    for axes in [None, Some(vec![0]), Some(vec![1])] {
        for (sr, dr) in [
            (
                s.sum(axes.as_deref()).unwrap(),
                d.sum(axes.as_deref()).unwrap(),
            ),
            (
                s.max(axes.as_deref()).unwrap(),
                d.max(axes.as_deref()).unwrap(),
            ),
            (
                s.mean(axes.as_deref()).unwrap(),
                d.mean(axes.as_deref()).unwrap(),
            ),
            (
                s.count_nonzero(axes.as_deref())
                    .unwrap()
                    .astype(DType::Float64),
                d.count_nonzero(axes.as_deref())
                    .unwrap()
                    .astype(DType::Float64),
            ),
        ] {
            assert!(!sr.is_sparse(), "reductions give dense blocks");
            close(
                sr.compute(c).unwrap().as_slice::<f64>().unwrap(),
                dr.compute(c).unwrap().as_slice::<f64>().unwrap(),
            );
        }
    }
    let sp = s.matmul(&s.t()).unwrap();
    assert!(sp.is_sparse(), "sparse @ sparse stays sparse");
    let got = sp.compute_sparse(c).unwrap().to_dense().unwrap();
    close(
        got.as_slice::<f64>().unwrap(),
        d.matmul(&d.t())
            .unwrap()
            .compute(c)
            .unwrap()
            .as_slice::<f64>()
            .unwrap(),
    );
    let sliced = s
        .slice(&[
            dask::array::Index::Slice(Some(10), Some(100), 3),
            dask::array::Index::Slice(None, None, -1),
        ])
        .unwrap();
    let dsl = d
        .slice(&[
            dask::array::Index::Slice(Some(10), Some(100), 3),
            dask::array::Index::Slice(None, None, -1),
        ])
        .unwrap();
    close(
        sliced
            .compute_sparse(c)
            .unwrap()
            .to_dense()
            .unwrap()
            .as_slice::<f64>()
            .unwrap(),
        dsl.compute(c).unwrap().as_slice::<f64>().unwrap(),
    );
    let re = s.rechunk(&ChunkSpec::Regular(vec![30, 45])).unwrap();
    close(
        re.compute_sparse(c)
            .unwrap()
            .to_dense()
            .unwrap()
            .as_slice::<f64>()
            .unwrap(),
        d.compute(c).unwrap().as_slice::<f64>().unwrap(),
    );
}

#[test]
fn random_sparse_is_chunking_independent_with_the_density_asked() {
    let c = client();
    let a = Array::random_sparse(9, 0.01, &[300, 400], &ChunkSpec::Regular(vec![100, 100]))
        .unwrap()
        .compute_sparse(c)
        .unwrap();
    let b = Array::random_sparse(9, 0.01, &[300, 400], &ChunkSpec::Regular(vec![300, 70]))
        .unwrap()
        .compute_sparse(c)
        .unwrap();
    assert_eq!(a.linear(), b.linear());
    assert_eq!(
        a.data().as_slice::<f64>().unwrap(),
        b.data().as_slice::<f64>().unwrap()
    );
    assert!(
        (a.density() - 0.01).abs() < 0.003,
        "density {}",
        a.density()
    );
}

#[test]
fn random_sparse_in_three_dims_across_segments_and_extreme_densities() {
    let c = client();
    // The last axis (2500) spans several generator segments; chunks cut it off-boundary.
    for density in [0.0, 0.2, 1.0] {
        let shape = [3, 4, 2500];
        let whole = Array::random_sparse(4, density, &shape, &ChunkSpec::Regular(vec![3, 4, 2500]))
            .unwrap()
            .compute_sparse(c)
            .unwrap();
        let cut = Array::random_sparse(4, density, &shape, &ChunkSpec::Regular(vec![2, 3, 777]))
            .unwrap()
            .compute_sparse(c)
            .unwrap();
        assert_eq!(whole.linear(), cut.linear(), "density {density}");
        let vals = whole.data().as_slice::<f64>().unwrap();
        assert_eq!(vals, cut.data().as_slice::<f64>().unwrap());
        assert!(vals.iter().all(|&v| v > 0.0 && v <= 1.0));
        assert!(
            (whole.density() - density).abs() < 0.02,
            "asked {density}, got {}",
            whole.density()
        );
        // The dense view agrees with the sparse one.
        let dense = Array::random_sparse(4, density, &shape, &ChunkSpec::Regular(vec![2, 3, 777]))
            .unwrap()
            .to_dense()
            .compute(c)
            .unwrap();
        assert_eq!(
            whole.to_dense().unwrap().as_slice::<f64>().unwrap(),
            dense.as_slice::<f64>().unwrap()
        );
    }
}

#[test]
fn a_whole_sparse_matrix_times_a_chunked_array_is_a_chunked_product_from_rust_too() {
    use dask::array::Operand;
    use dask::sparse::ReturnType;
    let c = client();
    let (_, dense) = sparse_and_dense();
    let whole = dense.to_sparse(0.0).compute_sparse(c).unwrap();
    let y = Array::random_uniform(
        4,
        -1.0,
        1.0,
        &[90, 30],
        DType::Float64,
        &ChunkSpec::Regular(vec![40, 30]),
    )
    .unwrap();
    let product = Operand::Sparse(whole.clone())
        .matmul(&Operand::Array(y.clone()), ReturnType::Auto)
        .unwrap();
    let Operand::Array(p) = product else {
        panic!("a sparse matrix times a chunked array is a chunked array")
    };
    assert!(
        p.task_count().unwrap() > 2,
        "cut into sparse blocks along the contraction"
    );
    let got = p.to_dense().compute(c).unwrap();
    // Plain triple loop over the dense values.
    let (a, b) = (dense.compute(c).unwrap(), y.compute(c).unwrap());
    let (a, b) = (a.as_slice::<f64>().unwrap(), b.as_slice::<f64>().unwrap());
    let mut want = vec![0.0; 120 * 30];
    for i in 0..120 {
        for k in 0..90 {
            for j in 0..30 {
                want[i * 30 + j] += a[i * 90 + k] * b[k * 30 + j];
            }
        }
    }
    close(got.as_slice::<f64>().unwrap(), &want);
    // A fill other than 0 is refused with the product's own message.
    let ones = Operand::Sparse(dense.to_sparse(1.0).compute_sparse(c).unwrap());
    let err = ones
        .matmul(&Operand::Array(y), ReturnType::Auto)
        .unwrap_err()
        .to_string();
    assert!(err.contains("fill value 0"), "{err}");
}

/// Issue 16: a whole sparse array with a chunked dense one, and sparse vectors in products.
#[test]
fn whole_sparse_arrays_meet_chunked_dense_ones() {
    use dask::array::{apply_ufunc, Operand};
    use dask::sparse::{set_auto_densify, Coo, ReturnType};
    use dask::Buffer;
    let c = client();
    let v: Vec<f64> = vec![0.0, 2.0, 0.0, -1.5, 0.0];
    let coo = Coo::from_dense(
        &Buffer::from_vec(v.clone(), &[5]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap();
    let m: Vec<f64> = (0..15).map(|i| i as f64 * 0.5 - 3.0).collect();
    let dm = Array::from_buffer(
        &Buffer::from_vec(m.clone(), &[5, 3]).unwrap(),
        &ChunkSpec::Regular(vec![2, 2]),
    )
    .unwrap();
    // v @ M: (5,) @ (5, 3) is (3,); M^T @ v likewise.
    let r = Operand::Sparse(coo.clone())
        .matmul(&Operand::Array(dm.clone()), ReturnType::Auto)
        .unwrap();
    let got = r.into_array().unwrap().compute(c).unwrap();
    let want: Vec<f64> = (0..3)
        .map(|j| (0..5).map(|i| v[i] * m[i * 3 + j]).sum())
        .collect();
    assert_eq!(got.shape(), &[3]);
    close(got.as_slice::<f64>().unwrap(), &want);
    let mt = dm.transpose(&[1, 0]).unwrap();
    let r = Operand::Array(mt)
        .matmul(&Operand::Sparse(coo.clone()), ReturnType::Auto)
        .unwrap();
    let got = r.into_array().unwrap().compute(c).unwrap();
    assert_eq!(got.shape(), &[3]);
    close(got.as_slice::<f64>().unwrap(), &want);

    // Sparse + chunked dense: refused with the policy named, computed when allowed.
    let row = Array::from_buffer(
        &Buffer::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0], &[5]).unwrap(),
        &ChunkSpec::Regular(vec![2]),
    )
    .unwrap();
    let add = dask::ufunc::ufunc("add").unwrap();
    let args = [Operand::Sparse(coo), Operand::Array(row)];
    let err = apply_ufunc(&add, &args).unwrap_err().to_string();
    assert!(
        err.contains("densify") && err.contains("to_dense"),
        "names the policy and the ways out: {err}"
    );
    set_auto_densify(true);
    let r = apply_ufunc(&add, &args);
    set_auto_densify(false);
    let got = r.unwrap().into_array().unwrap().compute(c).unwrap();
    let want: Vec<f64> = v.iter().zip(1..).map(|(a, b)| a + b as f64).collect();
    close(got.as_slice::<f64>().unwrap(), &want);
}
