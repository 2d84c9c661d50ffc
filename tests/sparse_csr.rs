//! CSR/CSC conversions through sprs: round trips and agreement with the dense layout.

use dask::array::Scalar;
use dask::sparse::{from_compressed, from_sprs, to_compressed, to_sprs, Compressed, Coo};
use dask::Buffer;

fn example() -> (Coo, Vec<f64>) {
    let (rows, cols) = (7usize, 5usize);
    let dense: Vec<f64> = (0..rows * cols)
        .map(|i| {
            if (i * 7919) % 5 == 0 {
                (i as f64) - 10.0
            } else {
                0.0
            }
        })
        .collect();
    let b = Buffer::from_vec(dense.clone(), &[rows, cols]).unwrap();
    (Coo::from_dense(&b, Scalar::Float(0.0)).unwrap(), dense)
}

#[test]
fn csr_and_csc_match_the_dense_layout_and_round_trip() {
    let (s, dense) = example();
    let (rows, cols) = (7, 5);
    let (indptr, indices, data) = to_compressed(&s, Compressed::Rows).unwrap();
    let values = data.as_slice::<f64>().unwrap();
    assert_eq!(indptr.len(), rows + 1);
    for r in 0..rows {
        let mut cols_seen = Vec::new();
        for k in indptr[r]..indptr[r + 1] {
            assert_eq!(values[k], dense[r * cols + indices[k]]);
            cols_seen.push(indices[k]);
        }
        let want: Vec<usize> = (0..cols).filter(|&c| dense[r * cols + c] != 0.0).collect();
        assert_eq!(cols_seen, want, "row {r}");
    }
    let (cptr, cidx, cdata) = to_compressed(&s, Compressed::Cols).unwrap();
    let cvals = cdata.as_slice::<f64>().unwrap();
    for c in 0..cols {
        let want: Vec<usize> = (0..rows).filter(|&r| dense[r * cols + c] != 0.0).collect();
        assert_eq!(&cidx[cptr[c]..cptr[c + 1]], want.as_slice(), "column {c}");
        for k in cptr[c]..cptr[c + 1] {
            assert_eq!(cvals[k], dense[cidx[k] * cols + c]);
        }
    }
    for layout in [Compressed::Rows, Compressed::Cols] {
        let (p, i, d) = to_compressed(&s, layout).unwrap();
        let back = from_compressed((rows, cols), layout, p, i, &d).unwrap();
        assert_eq!(
            back.to_dense().unwrap().as_slice::<f64>().unwrap(),
            dense.as_slice()
        );
    }
    let m = to_sprs::<f64>(&s, Compressed::Rows).unwrap();
    assert_eq!(m.nnz(), s.nnz());
    let back = from_sprs(&m).unwrap();
    assert_eq!(back.linear(), s.linear());
}

#[test]
fn invalid_compressed_input_is_refused() {
    let data = Buffer::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    // Unsorted column indices in a row, and an index out of range.
    assert!(from_compressed((2, 3), Compressed::Rows, vec![0, 2, 2], vec![2, 0], &data).is_err());
    assert!(from_compressed((2, 3), Compressed::Rows, vec![0, 1, 2], vec![0, 3], &data).is_err());
    let (s, _) = example();
    let three_d = s.reshape(&[7, 5, 1]).unwrap();
    assert!(to_compressed(&three_d, Compressed::Rows).is_err());
}

/// Products with many result columns take the sort-based row product (more than 32k
/// columns), narrow ones the accumulator: both must agree with a dense evaluation.
#[test]
fn wide_and_narrow_sparse_products_match_dense() {
    use dask::sparse::{matmul, DotArg, DotResult, ReturnType};
    for cols in [50usize, 40_000] {
        let (m, k) = (6usize, 9usize);
        let a: Vec<f64> = (0..m * k)
            .map(|i| {
                if i % 3 == 0 {
                    (i % 7) as f64 - 2.0
                } else {
                    0.0
                }
            })
            .collect();
        let b: Vec<f64> = (0..k * cols)
            .map(|i| {
                if (i * 31) % 97 < 4 {
                    (i % 5) as f64 + 0.5
                } else {
                    0.0
                }
            })
            .collect();
        let sa = Coo::from_dense(
            &Buffer::from_vec(a.clone(), &[m, k]).unwrap(),
            Scalar::Float(0.0),
        )
        .unwrap();
        let sb = Coo::from_dense(
            &Buffer::from_vec(b.clone(), &[k, cols]).unwrap(),
            Scalar::Float(0.0),
        )
        .unwrap();
        let got =
            match matmul(&DotArg::Sparse(&sa), &DotArg::Sparse(&sb), ReturnType::Auto).unwrap() {
                DotResult::Sparse(c) => c.to_dense().unwrap(),
                DotResult::Dense(d) => d,
            };
        let got = got.as_slice::<f64>().unwrap();
        for i in 0..m {
            for j in 0..cols {
                let want: f64 = (0..k).map(|p| a[i * k + p] * b[p * cols + j]).sum();
                assert_eq!(got[i * cols + j], want, "cols {cols}: ({i}, {j})");
            }
        }
    }
}
