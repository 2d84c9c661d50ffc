//! Sparse (COO) workloads (issue 5). Reproduce: `cargo bench --features blas --bench sparse`
//! (or `make bench`); the peers: `python anchors.py sparse`. Best of 3.

use dask::array::{Array, ChunkSpec, ReduceOp, Scalar};
use dask::sparse::{self, Coo, DotArg, DotResult, ReturnType, SparseArg};
use dask::{Buffer, Client, Config, DType};
use std::time::{Duration, Instant};

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut t_best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let r = f();
        let e = t.elapsed();
        if e < t_best {
            t_best = e;
            out = Some(r);
        }
    }
    (t_best, out.expect("ran"))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uniform(seed: u64, i: u64) -> f64 {
    (splitmix(seed ^ splitmix(i)) >> 11) as f64 / (1u64 << 53) as f64
}

/// `shape`-shaped COO with about `density` of the elements stored (distinct positions).
fn random_coo(seed: u64, shape: &[usize], density: f64) -> Coo {
    let size: usize = shape.iter().product();
    let nnz = (size as f64 * density) as usize;
    let mut picked: Vec<u64> = (0..nnz as u64)
        .map(|k| (uniform(seed, k) * size as f64) as u64)
        .collect();
    picked.sort_unstable();
    picked.dedup();
    let nd = shape.len();
    let mut coords = vec![0u64; nd * picked.len()];
    for (i, &l) in picked.iter().enumerate() {
        let mut rest = l;
        for a in (0..nd).rev() {
            coords[a * picked.len() + i] = rest % shape[a] as u64;
            rest /= shape[a] as u64;
        }
    }
    let data: Vec<f64> = (0..picked.len() as u64)
        .map(|k| uniform(seed + 1, k))
        .collect();
    let n = data.len();
    Coo::from_triplets(
        shape,
        &coords,
        &Buffer::from_vec(data, &[n]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap()
}

fn sum_axis1(r: DotResult) -> f64 {
    match r {
        DotResult::Sparse(c) => match sparse::reduce(&c, ReduceOp::Sum, &[false, true]).unwrap() {
            sparse::Reduced::Sparse(c) => c.data().as_slice::<f64>().unwrap().iter().sum(),
            sparse::Reduced::Dense(b) => b.as_slice::<f64>().unwrap().iter().sum(),
        },
        DotResult::Dense(b) => b.as_slice::<f64>().unwrap().iter().sum(),
    }
}

/// Sections named on the command line (`cargo bench --bench sparse -- csr`), or all.
fn wanted(section: &str) -> bool {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    names.is_empty() || names.iter().any(|n| n == section)
}

fn main() {
    let client = Client::new(Config::default()).unwrap();
    println!("libdask sparse benchmarks, {} threads", client.threads());
    println!("reproduce: cargo bench --features blas --bench sparse");

    if wanted("seed") {
        // The 2017 log's example.
        let xs: Vec<f64> = (0..10_000u64)
            .map(|i| uniform(0, i))
            .map(|v| if v < 0.9 { 0.0 } else { v })
            .collect();
        let x = Buffer::from_vec(xs, &[10, 10, 10, 10]).unwrap();
        let s = Coo::from_dense(&x, Scalar::Float(0.0)).unwrap();
        println!(
            "seed example: dense nbytes 80000, COO nbytes {} (nnz {}, coordinates {} bytes each)",
            s.nbytes(),
            s.nnz(),
            s.coords().width()
        );
    }
    let s = random_coo(0, &[60, 60, 60, 60], 0.01);
    if wanted("tensordot") {
        let (t, r) = best(|| {
            sum_axis1(
                sparse::tensordot(
                    &DotArg::Sparse(&s),
                    &DotArg::Sparse(&s),
                    &[1, 0, 3],
                    &[2, 1, 0],
                    ReturnType::Auto,
                )
                .unwrap(),
            )
        });
        println!(
            "60^4 1% (nnz {}): tensordot + sum(axis=1): {:.1} ms (checksum {r:.6e})",
            s.nnz(),
            t.as_secs_f64() * 1e3
        );
    }
    if wanted("elementwise") {
        let mul = dask::ufunc::ufunc("multiply").unwrap();
        let add = dask::ufunc::ufunc("add").unwrap();
        let (t, nnz) = best(|| {
            let twice = match sparse::elementwise(
                &mul,
                &[SparseArg::Sparse(&s), SparseArg::Scalar(Scalar::Float(2.0))],
            )
            .unwrap()
            {
                sparse::SparseResult::Sparse(c) => c,
                _ => unreachable!(),
            };
            match sparse::elementwise(&add, &[SparseArg::Sparse(&twice), SparseArg::Sparse(&s)])
                .unwrap()
            {
                sparse::SparseResult::Sparse(c) => c.nnz(),
                _ => unreachable!(),
            }
        });
        println!(
            "60^4 1%: s * 2 + s: {:.1} ms (nnz {nnz})",
            t.as_secs_f64() * 1e3
        );
        // Operands with different stored positions: the union path.
        let u = random_coo(7, &[60, 60, 60, 60], 0.01);
        let (t, nnz) = best(|| {
            match sparse::elementwise(&add, &[SparseArg::Sparse(&s), SparseArg::Sparse(&u)])
                .unwrap()
            {
                sparse::SparseResult::Sparse(c) => c.nnz(),
                _ => unreachable!(),
            }
        });
        println!(
            "60^4 1%: s + u (u with other positions): {:.1} ms (nnz {nnz})",
            t.as_secs_f64() * 1e3
        );
    }
    if wanted("sum") {
        let (t, _) =
            best(|| sparse::reduce(&s, ReduceOp::Sum, &[true, false, true, false]).unwrap());
        println!(
            "60^4 1%: s.sum(axis=(0, 2)): {:.1} ms",
            t.as_secs_f64() * 1e3
        );
    }
    if wanted("csr") {
        // CSR x CSR 100k x 100k, 1e6 entries each: A split into row blocks computed in parallel.
        let a = random_coo(1, &[100_000, 100_000], 1e-4);
        let b = random_coo(2, &[100_000, 100_000], 1e-4);
        let blocks = client.threads() * 4;
        let rows = 100_000usize.div_ceil(blocks);
        let a_arr = Array::from_sparse_blocks(&a, &[rows, 100_000]).unwrap();
        let b_arr = Array::from_sparse_blocks(&b, &[100_000, 100_000]).unwrap();
        let (t, nnz) = best(|| {
            a_arr
                .matmul(&b_arr)
                .unwrap()
                .compute_sparse(&client)
                .unwrap()
                .nnz()
        });
        println!(
            "CSR x CSR 100k x 100k, 1e6 nnz each ({blocks} row blocks): {:.1} ms (result nnz {nnz})",
            t.as_secs_f64() * 1e3
        );
        let (t, _) = best(|| a_arr.matmul(&b_arr).unwrap().persist(&client).unwrap());
        println!(
            "same, result kept as {blocks} row blocks (persist): {:.1} ms",
            t.as_secs_f64() * 1e3
        );
        let (t, _) = best(|| {
            sparse::matmul(&DotArg::Sparse(&a), &DotArg::Sparse(&b), ReturnType::Auto).unwrap()
        });
        println!(
            "same product, one COO, direct call (rows split over the cores): {:.1} ms",
            t.as_secs_f64() * 1e3
        );
    }
    if wanted("chunked") {
        // A 20000 x 20000 chunked array at 1% density, built block by block, summed over axis 0.
        let big = Array::random_sparse(
            5,
            0.01,
            &[20_000, 20_000],
            &ChunkSpec::Regular(vec![2_000, 20_000]),
        )
        .unwrap();
        let (t, total) = best(|| {
            big.sum(Some(&[0]))
                .unwrap()
                .sum(None)
                .unwrap()
                .compute(&client)
                .unwrap()
                .as_slice::<f64>()
                .unwrap()[0]
        });
        println!(
            "20000 x 20000 at 1%, built block by block, sum(axis=0): {:.3} s (total {total:.6e})",
            t.as_secs_f64()
        );
        // The log's way: dense random blocks, small values zeroed, map_blocks(COO).
        let x = Array::random_uniform(
            5,
            0.0,
            1.0,
            &[20_000, 20_000],
            DType::Float64,
            &ChunkSpec::Regular(vec![2_000, 20_000]),
        )
        .unwrap();
        let keep = x.binary("less", 0.99).unwrap();
        let sparse = x.set_where(&keep, 0.0).unwrap().to_sparse(0.0);
        let (t, total) = best(|| {
            sparse
                .sum(Some(&[0]))
                .unwrap()
                .sum(None)
                .unwrap()
                .compute(&client)
                .unwrap()
                .as_slice::<f64>()
                .unwrap()[0]
        });
        println!(
            "20000 x 20000 at 1%, dense blocks then map_blocks(to_sparse), sum(axis=0): {:.3} s \
             (total {total:.6e})",
            t.as_secs_f64()
        );
    }
}
