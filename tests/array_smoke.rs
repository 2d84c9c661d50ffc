use dask::array::{Array, ChunkSpec, Index};
use dask::{Client, Config, DType};

#[test]
fn smoke() {
    let c = Client::new(Config::with_threads(2)).unwrap();
    let x = Array::random_uniform(
        1,
        0.0,
        1.0,
        &[100, 30],
        DType::Float64,
        &ChunkSpec::Regular(vec![30, 7]),
    )
    .unwrap();
    let dense = x.compute(&c).unwrap();
    let xs = dense.as_slice::<f64>().unwrap().to_vec();
    let y = x
        .unary("exp")
        .unwrap()
        .binary("multiply", 2.0)
        .unwrap()
        .binary("add", 1.0)
        .unwrap();
    let s = y.sum(None).unwrap();
    println!("tasks: {}", s.task_count().unwrap());
    let got = s.compute(&c).unwrap().as_slice::<f64>().unwrap()[0];
    let want: f64 = xs.iter().map(|v| v.exp() * 2.0 + 1.0).sum();
    assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
    let m = x.mean(Some(&[0])).unwrap().compute(&c).unwrap();
    let mv = m.as_slice::<f64>().unwrap();
    for j in 0..30 {
        let want: f64 = (0..100).map(|i| xs[i * 30 + j]).sum::<f64>() / 100.0;
        assert!((mv[j] - want).abs() < 1e-12, "col {j}");
    }
    let sl = x
        .slice(&[Index::Slice(Some(5), Some(90), 3), Index::At(4)])
        .unwrap()
        .compute(&c)
        .unwrap();
    let slv = sl.as_slice::<f64>().unwrap();
    let want: Vec<f64> = (5..90).step_by(3).map(|i| xs[i * 30 + 4]).collect();
    assert_eq!(slv, want.as_slice());
    let mm = x.matmul(&x.t()).unwrap().compute(&c).unwrap();
    let mmv = mm.as_slice::<f64>().unwrap();
    let w: f64 = (0..30).map(|k| xs[3 * 30 + k] * xs[7 * 30 + k]).sum();
    assert!((mmv[3 * 100 + 7] - w).abs() < 1e-12);
}
