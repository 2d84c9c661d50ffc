//! Basic indexing of sparse arrays against the same indexing of the dense array.

use dask::array::{Array, ChunkSpec, Index, Scalar};
use dask::sparse::Coo;
use dask::{Buffer, Client, Config};

#[test]
fn indexing_matches_the_dense_array() {
    let client = Client::new(Config::with_threads(2)).unwrap();
    let shape = [5usize, 6, 7];
    let n: usize = shape.iter().product();
    let vals: Vec<f64> = (0..n)
        .map(|i| {
            if (i * 7919) % 5 < 2 {
                i as f64 + 0.5
            } else {
                0.0
            }
        })
        .collect();
    let dense = Buffer::from_vec(vals, &shape).unwrap();
    let s = Coo::from_dense(&dense, Scalar::Float(0.0)).unwrap();
    let x = Array::from_buffer(&dense, &ChunkSpec::Regular(vec![2, 3, 4])).unwrap();
    let cases: Vec<Vec<Index>> = vec![
        vec![],
        vec![Index::At(1)],
        vec![Index::At(-1), Index::Slice(None, None, -2)],
        vec![Index::ALL, Index::Slice(Some(1), Some(5), 2), Index::At(3)],
        vec![
            Index::NewAxis,
            Index::Slice(Some(-3), None, 1),
            Index::NewAxis,
        ],
        vec![
            Index::Slice(Some(4), Some(1), -1),
            Index::ALL,
            Index::Slice(Some(2), Some(2), 1),
        ],
        vec![Index::At(0), Index::At(5), Index::At(6)],
    ];
    for idx in &cases {
        let got = s.index(idx).unwrap_or_else(|e| panic!("{idx:?}: {e}"));
        let want = x.slice(idx).unwrap().compute(&client).unwrap();
        assert_eq!(got.shape(), want.shape(), "{idx:?}");
        assert_eq!(
            got.to_dense().unwrap().as_slice::<f64>().unwrap(),
            dask::value::block::contiguous(&want)
                .unwrap()
                .as_slice::<f64>()
                .unwrap(),
            "{idx:?}"
        );
        let lin = got.linear();
        assert!(lin.windows(2).all(|w| w[0] < w[1]), "{idx:?}: canonical");
    }
    for bad in [
        vec![Index::At(5)],
        vec![Index::ALL, Index::ALL, Index::ALL, Index::ALL],
        vec![Index::Slice(None, None, 0)],
    ] {
        assert!(s.index(&bad).is_err(), "{bad:?} should fail");
    }
}
