//! Sparse x sparse products at sizes that take the kernels' other paths: rows split over
//! threads (a direct call with over a million products), results too wide for an accumulator
//! row (sorted rows), and linearised results (operands keeping several axes). Each is checked
//! against a naive product over the triplets, and the threaded call against the same product
//! run as one block task (one thread): the arithmetic per row is the same, so the two agree
//! bit for bit.

use dask::array::{Array, Scalar};
use dask::sparse::{self, Coo, DotArg, DotResult, ReturnType};
use dask::{Buffer, Client, Config};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| Client::new(Config::with_threads(2)).unwrap())
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `nnz` random entries (duplicates summed by `from_triplets`) with values in (0, 1].
fn random(seed: u64, shape: &[usize], nnz: usize) -> Coo {
    let nd = shape.len();
    let mut coords = vec![0u64; nd * nnz];
    for i in 0..nnz {
        for (a, &n) in shape.iter().enumerate() {
            coords[a * nnz + i] = splitmix(seed ^ splitmix((i * nd + a) as u64)) % n as u64;
        }
    }
    let data: Vec<f64> = (0..nnz as u64)
        .map(|i| 1.0 - (splitmix(!seed ^ i) >> 11) as f64 / (1u64 << 53) as f64)
        .collect();
    Coo::from_triplets(
        shape,
        &coords,
        &Buffer::from_vec(data, &[nnz]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap()
}

/// Entries of `x` as (row, column) -> value, with rows over the first `split` axes.
fn as_matrix(x: &Coo, split: usize) -> Vec<(u64, u64, f64)> {
    let vals = x.data().as_slice::<f64>().unwrap();
    (0..x.nnz())
        .map(|i| {
            let (mut r, mut c) = (0u64, 0u64);
            for a in 0..x.ndim() {
                if a < split {
                    r = r * x.shape()[a] as u64 + x.coord(a, i);
                } else {
                    c = c * x.shape()[a] as u64 + x.coord(a, i);
                }
            }
            (r, c, vals[i])
        })
        .collect()
}

/// The product of `a` (rows over all but its last `k` axes) and `b` (rows over its first
/// `k` axes), as linear position -> value, summed naively.
fn naive(a: &Coo, b: &Coo, k: usize) -> BTreeMap<u64, f64> {
    let (ma, mb) = (as_matrix(a, a.ndim() - k), as_matrix(b, k));
    let n: u64 = b.shape()[k..].iter().map(|&d| d as u64).product();
    let mut by_row: BTreeMap<u64, Vec<(u64, f64)>> = BTreeMap::new();
    for &(r, c, v) in &mb {
        by_row.entry(r).or_default().push((c, v));
    }
    let mut out = BTreeMap::new();
    for &(i, kk, v) in &ma {
        for &(j, w) in by_row.get(&kk).map(Vec::as_slice).unwrap_or(&[]) {
            *out.entry(i * n + j).or_insert(0.0) += v * w;
        }
    }
    out
}

fn check(got: &Coo, want: &BTreeMap<u64, f64>, ctx: &str) {
    let lin = got.linear();
    assert!(lin.windows(2).all(|w| w[0] < w[1]), "{ctx}: not canonical");
    assert_eq!(lin.len(), want.len(), "{ctx}: stored entries");
    for ((l, g), (wl, w)) in lin
        .iter()
        .zip(got.data().as_slice::<f64>().unwrap())
        .zip(want)
    {
        assert_eq!(l, wl, "{ctx}: position");
        assert!((g - w).abs() <= 1e-12 * w.abs(), "{ctx}: {g} vs {w} at {l}");
    }
}

fn sparse_result(r: DotResult) -> Coo {
    match r {
        DotResult::Sparse(c) => c,
        DotResult::Dense(_) => panic!("sparse x sparse gave a dense result"),
    }
}

#[test]
fn threaded_product_matches_naive_and_the_single_task_bit_for_bit() {
    // 200k entries each over 20k x 20k: about 2 M products, enough to split the rows.
    let a = random(1, &[20_000, 20_000], 200_000);
    let b = random(2, &[20_000, 20_000], 200_000);
    let direct = sparse_result(
        sparse::matmul(&DotArg::Sparse(&a), &DotArg::Sparse(&b), ReturnType::Auto).unwrap(),
    );
    check(&direct, &naive(&a, &b, 1), "direct");
    let task = Array::from_sparse_blocks(&a, &[20_000, 20_000])
        .unwrap()
        .matmul(&Array::from_sparse_blocks(&b, &[20_000, 20_000]).unwrap())
        .unwrap()
        .compute_sparse(client())
        .unwrap();
    assert_eq!(task.linear(), direct.linear());
    assert_eq!(
        task.data().as_slice::<f64>().unwrap(),
        direct.data().as_slice::<f64>().unwrap()
    );
    // Row blocks computed as tasks and placed back together agree too.
    let blocks = Array::from_sparse_blocks(&a, &[3_000, 20_000])
        .unwrap()
        .matmul(&Array::from_sparse_blocks(&b, &[20_000, 20_000]).unwrap())
        .unwrap()
        .compute_sparse(client())
        .unwrap();
    assert_eq!(blocks.linear(), direct.linear());
    assert_eq!(
        blocks.data().as_slice::<f64>().unwrap(),
        direct.data().as_slice::<f64>().unwrap()
    );
}

#[test]
fn results_wider_than_an_accumulator_row_are_sorted_per_row() {
    // 3 M columns: over the accumulator limit.
    let a = random(3, &[40, 60], 600);
    let b = random(4, &[60, 3_000_000], 5_000);
    let r = sparse_result(
        sparse::matmul(&DotArg::Sparse(&a), &DotArg::Sparse(&b), ReturnType::Auto).unwrap(),
    );
    assert_eq!(r.shape(), &[40, 3_000_000]);
    check(&r, &naive(&a, &b, 1), "wide");
}

#[test]
fn linearised_results_with_rows_split_over_threads() {
    // Operands keep two axes each: result positions are linearised rows and columns.
    let a = random(5, &[200, 100, 50], 10_000);
    let b = random(6, &[50, 100, 120], 12_000);
    let r = sparse_result(
        sparse::tensordot(
            &DotArg::Sparse(&a),
            &DotArg::Sparse(&b),
            &[2],
            &[0],
            ReturnType::Auto,
        )
        .unwrap(),
    );
    assert_eq!(r.shape(), &[200, 100, 100, 120]);
    check(&r, &naive(&a, &b, 1), "linearised");
}
