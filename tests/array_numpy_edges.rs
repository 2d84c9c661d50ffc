//! Array operations at NumPy's edges (issue 16): each against a naive evaluation on plain
//! Rust data (`Nd`), or NumPy's documented outcome for an error.

mod common;

use common::*;
use dask::array::{Array, ChunkSpec, Index};
use dask::value::Scalar;
use dask::DType;

fn c(v: &[usize]) -> ChunkSpec {
    ChunkSpec::Regular(v.to_vec())
}

#[test]
fn an_empty_axis_list_reduces_nothing_and_duplicates_are_refused() {
    let x = Nd::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as i64 - 5);
    let a = mk(&x, &c(&[2, 3]));
    let same = fetch_i64(&a.sum(Some(&[])).unwrap());
    assert_eq!(same.shape, x.shape);
    assert_eq!(same.data, x.data);
    let err = a.sum(Some(&[1, 1])).unwrap_err().to_string();
    assert!(err.contains("duplicate"), "{err}");
}

#[test]
fn masked_assignment_keeps_unmasked_integers_exact_and_checks_its_operands() {
    let big = [(1i64 << 53) + 1, 5, i64::MAX - 1, -7];
    let x = Nd::new(&[4], big.to_vec());
    let m = Nd::new(&[4], vec![false, true, false, true]);
    let a = mk(&x, &c(&[3]));
    let mask = mk_bool(&m, &c(&[2]));
    let got = fetch_i64(&a.set_where(&mask, 0.0).unwrap());
    assert_eq!(got.data, vec![(1i64 << 53) + 1, 0, i64::MAX - 1, 0]);
    let u = Nd::new(&[2], vec![u64::MAX - 1, 3]);
    let au = mk(&u, &c(&[1]));
    let mu = mk_bool(&Nd::new(&[2], vec![false, true]), &c(&[2]));
    let got: Nd<u64> = fetch(&au.set_where(&mu, 9i64).unwrap());
    assert_eq!(got.data, vec![u64::MAX - 1, 9]);
    // Out of range for the dtype, NaN into integers, and operands of other shapes.
    let small = mk(&Nd::new(&[2], vec![1i8, 2]), &c(&[1]));
    assert!(small.set_where(&mu, Scalar::Int(300)).is_err());
    assert!(a.set_where(&mask, f64::NAN).is_err());
    let wrong = mk_bool(&Nd::new(&[2, 4], vec![true; 8]), &c(&[1, 4]));
    assert!(
        a.set_where(&wrong, 1i64).is_err(),
        "a mask that would widen the result"
    );
    let wide = mk(&Nd::new(&[2, 4], vec![1i64; 8]), &c(&[1, 4]));
    assert!(a.set_where(&mask, &wide).is_err());
}

#[test]
fn slice_steps_near_the_limits_of_i64() {
    let x = Nd::from_fn(&[10], |i| i[0] as i64);
    let a = mk(&x, &c(&[3]));
    for (start, stop, step, want) in [
        (None, None, i64::MAX, vec![0i64]),
        (None, None, i64::MIN, vec![9]),
        (Some(-1), None, i64::MIN + 1, vec![9]),
        (Some(i64::MIN), Some(i64::MAX), 4, vec![0, 4, 8]),
        (Some(i64::MAX), Some(i64::MIN), -3, vec![9, 6, 3, 0]),
        (Some(5), Some(2), i64::MAX, vec![]),
    ] {
        let s = a.slice(&[Index::Slice(start, stop, step)]).unwrap();
        assert_eq!(fetch_i64(&s).data, want, "{start:?}:{stop:?}:{step}");
    }
}

#[test]
fn concatenate_promotes_all_dtypes_at_once() {
    let a = mk(&Nd::new(&[2], vec![1u16, 65535]), &c(&[2]));
    let b = mk(&Nd::new(&[1], vec![-3i16]), &c(&[1]));
    let f = mk(&Nd::new(&[1], vec![0.5f32]), &c(&[1]));
    let r = Array::concatenate(&[a, b, f], 0).unwrap();
    assert_eq!(
        r.dtype(),
        DType::Float32,
        "NumPy: uint16, int16, float32 give float32"
    );
    let got: Nd<f32> = fetch(&r);
    assert_eq!(got.data, vec![1.0, 65535.0, -3.0, 0.5]);
}

#[test]
fn creation_and_reshape_refuse_what_numpy_refuses() {
    assert!(Array::arange(-5.0, 4.0, 3.0, DType::UInt8, &c(&[2])).is_err());
    assert!(Array::arange(250.0, 260.0, 1.0, DType::UInt8, &c(&[4])).is_err());
    let ok: Nd<u8> = fetch(&Array::arange(1.0, 8.0, 3.0, DType::UInt8, &c(&[2])).unwrap());
    assert_eq!(ok.data, vec![1, 4, 7]);
    let empty = mk(&Nd::new(&[0], Vec::<f64>::new()), &c(&[1]));
    assert!(empty.reshape(&[-1, 0]).is_err());
    assert_eq!(empty.reshape(&[3, 0]).unwrap().shape(), vec![3, 0]);
}

#[test]
fn stacked_matmul_broadcasts_like_numpy() {
    // (2, 3, 4) @ (4,) and (2, 1, 3, 4) @ (5, 4, 2): against loops.
    let a = Nd::from_fn(&[2, 3, 4], |i| {
        (i[0] * 12 + i[1] * 4 + i[2]) as f64 * 0.5 - 3.0
    });
    let v = Nd::from_fn(&[4], |i| i[0] as f64 - 1.5);
    let got = fetch_f64(&mk(&a, &c(&[1, 2, 3])).matmul(&mk(&v, &c(&[3]))).unwrap());
    assert_eq!(got.shape, vec![2, 3]);
    for i in 0..2 {
        for j in 0..3 {
            let want: f64 = (0..4).map(|k| a.at(&[i, j, k]) * v.at(&[k])).sum();
            assert!((got.at(&[i, j]) - want).abs() < 1e-12);
        }
    }
    let p = Nd::from_fn(&[2, 1, 3, 4], |i| {
        (i[0] * 7 + i[2] * 3 + i[3]) as i64 % 5 - 2
    });
    let q = Nd::from_fn(&[5, 4, 2], |i| (i[0] + 2 * i[1] + i[2]) as i64 % 4 - 1);
    let got = fetch_i64(
        &mk(&p, &c(&[1, 1, 2, 3]))
            .matmul(&mk(&q, &c(&[2, 4, 1])))
            .unwrap(),
    );
    assert_eq!(got.shape, vec![2, 5, 3, 2]);
    for b0 in 0..2 {
        for b1 in 0..5 {
            for i in 0..3 {
                for j in 0..2 {
                    let want: i64 = (0..4)
                        .map(|k| p.at(&[b0, 0, i, k]) * q.at(&[b1, k, j]))
                        .sum();
                    assert_eq!(got.at(&[b0, b1, i, j]), want);
                }
            }
        }
    }
    let bad = mk(&Nd::from_fn(&[2, 3, 5], |_| 1.0f64), &c(&[1, 3, 5]));
    assert!(mk(&a, &c(&[1, 3, 4])).matmul(&bad).is_err());
}

#[test]
fn a_one_dimensional_mask_selects_rows() {
    let x = Nd::from_fn(&[5, 3], |i| (i[0] * 3 + i[1]) as i64);
    let m = vec![true, false, true, true, false];
    let a = mk(&x, &c(&[2, 2]));
    let got = fetch_i64(
        &a.select(&mk_bool(&Nd::new(&[5], m.clone()), &c(&[3])), client())
            .unwrap(),
    );
    assert_eq!(got.shape, vec![3, 3]);
    let want: Vec<i64> = (0..5)
        .filter(|&r| m[r])
        .flat_map(|r| (0..3).map(move |k| (r * 3 + k) as i64))
        .collect();
    assert_eq!(got.data, want);
    let short = mk_bool(&Nd::new(&[4], vec![true; 4]), &c(&[4]));
    assert!(a.select(&short, client()).is_err());
}
