//! `dask::sparse` (COO arrays) checked against dense references.
//!
//! Every expected value comes from a plain row-major dense computation (`common::Nd<f64>`
//! holding values that are exact in the dtype under test, and loops written here or in
//! `tests/common`), never from the library. Inputs are random with fixed seeds: shapes of 1 to
//! 4 small axes, densities 0, 1%, 10%, 50% and 100%, dtypes float64, float32, int64, int32 and
//! bool, zero and non-zero fill values.

mod common;

use common::{
    close, concat_ref, python_slice, random_shape, size, slice_ref, tensordot_ref, transpose_ref,
    unravel, Nd, Rng,
};
use dask::array::{Index, ReduceOp, Scalar};
use dask::sparse::{
    auto_densify, elementwise, matmul, reduce, set_auto_densify, tensordot, Coo, Coords, DotArg,
    DotResult, Reduced, ReturnType, SparseArg, SparseResult,
};
use dask::ufunc::loops::B8;
use dask::ufunc::{ufunc, Ufunc};
use dask::{Buffer, DType};
use std::sync::Arc;

const DTYPES: [DType; 5] = [
    DType::Float64,
    DType::Float32,
    DType::Int64,
    DType::Int32,
    DType::Bool,
];
const DENSITIES: [f64; 5] = [0.0, 0.01, 0.1, 0.5, 1.0];

// ---- dtype helpers (NumPy's rules for the five dtypes, written out) -------------------------

fn is_float(dt: DType) -> bool {
    matches!(dt, DType::Float32 | DType::Float64)
}

fn is_int(dt: DType) -> bool {
    matches!(dt, DType::Int32 | DType::Int64)
}

/// `np.result_type(a, b)` for bool, int32, int64, float32, float64.
fn promote(a: DType, b: DType) -> DType {
    use DType::*;
    match (a, b) {
        _ if a == b => a,
        (Bool, x) | (x, Bool) => x,
        (Int32, Int64) | (Int64, Int32) => Int64,
        (Float32, Float64) | (Float64, Float32) => Float64,
        (Float32, _) | (_, Float32) => Float64, // an integer with float32
        _ => Float64,
    }
}

/// The dtype a Python scalar takes next to an array of dtype `dt` (NEP 50 "weak" scalars).
fn weak(s: Scalar, dt: DType) -> DType {
    match s {
        Scalar::Bool(_) => dt,
        Scalar::Int(_) if dt == DType::Bool => DType::Int64,
        Scalar::Int(_) => dt,
        Scalar::Float(_) if is_float(dt) => dt,
        Scalar::Float(_) => DType::Float64,
    }
}

/// `v` as the dtype stores it (float32 rounding, integer truncation, bool as 0/1).
fn repr(dt: DType, v: f64) -> f64 {
    match dt {
        DType::Float64 => v,
        DType::Float32 => v as f32 as f64,
        DType::Int64 => v as i64 as f64,
        DType::Int32 => v as i32 as f64,
        DType::Bool => (v != 0.0) as u8 as f64,
        other => panic!("dtype {other:?} not used here"),
    }
}

/// The raw bits of `v` stored as `dt` (zero-extended).
fn bits_of(dt: DType, v: f64) -> u64 {
    match dt {
        DType::Float64 => v.to_bits(),
        DType::Float32 => (v as f32).to_bits() as u64,
        DType::Int64 => v as i64 as u64,
        DType::Int32 => v as i32 as u32 as u64,
        DType::Bool => (v != 0.0) as u64,
        other => panic!("dtype {other:?} not used here"),
    }
}

fn scalar_of(dt: DType, v: f64) -> Scalar {
    match dt {
        DType::Bool => Scalar::Bool(v != 0.0),
        DType::Int32 | DType::Int64 => Scalar::Int(v as i64),
        _ => Scalar::Float(v),
    }
}

/// A dense buffer of dtype `dt` holding `x`.
fn buffer_of(x: &Nd<f64>, dt: DType) -> Buffer {
    let s = &x.shape;
    let d = &x.data;
    match dt {
        DType::Float64 => Buffer::from_vec(d.clone(), s),
        DType::Float32 => Buffer::from_vec(d.iter().map(|&v| v as f32).collect::<Vec<_>>(), s),
        DType::Int64 => Buffer::from_vec(d.iter().map(|&v| v as i64).collect::<Vec<_>>(), s),
        DType::Int32 => Buffer::from_vec(d.iter().map(|&v| v as i32).collect::<Vec<_>>(), s),
        DType::Bool => Buffer::from_vec(d.iter().map(|&v| B8::of(v != 0.0)).collect::<Vec<_>>(), s),
        other => panic!("dtype {other:?} not used here"),
    }
    .expect("buffer")
}

/// Raw pointer to element `idx` of a (possibly strided) buffer.
fn elem_ptr(b: &Buffer, idx: &[usize]) -> *const u8 {
    let off: isize = idx
        .iter()
        .zip(b.strides())
        .map(|(&i, &s)| i as isize * s)
        .sum();
    b.as_ptr().wrapping_offset(off)
}

/// Raw bits of every element of a buffer, row-major, zero-extended.
fn buffer_bits(b: &Buffer) -> Vec<u64> {
    let isz = b.dtype().itemsize();
    (0..size(b.shape()))
        .map(|k| {
            let p = elem_ptr(b, &unravel(k, b.shape()));
            let mut w = [0u8; 8];
            // SAFETY: `p` points at one element of `isz` bytes inside the buffer.
            unsafe { std::ptr::copy_nonoverlapping(p, w.as_mut_ptr(), isz) };
            u64::from_ne_bytes(w)
        })
        .collect()
}

/// Every element of a buffer as f64 (exact for the values used here).
fn values(b: &Buffer) -> Nd<f64> {
    let dt = b.dtype();
    let data = buffer_bits(b)
        .into_iter()
        .map(|w| match dt {
            DType::Float64 => f64::from_bits(w),
            DType::Float32 => f32::from_bits(w as u32) as f64,
            DType::Int64 => w as i64 as f64,
            DType::Int32 => w as u32 as i32 as f64,
            DType::Int16 => w as u16 as i16 as f64,
            DType::Int8 => w as u8 as i8 as f64,
            DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => w as f64,
            DType::Bool => {
                assert!(w <= 1, "bool element holds {w}");
                w as f64
            }
        })
        .collect();
    Nd::new(b.shape(), data)
}

fn dense_of(s: &Coo) -> Nd<f64> {
    values(&s.to_dense().expect("to_dense"))
}

// ---- random inputs --------------------------------------------------------------------------

/// How non-fill values are drawn.
#[derive(Clone, Copy, PartialEq)]
enum Vals {
    /// floats in [-4, 4), integers in [-9, 9].
    Wide,
    /// ±0.5, ±1, ±2 (floats) or ±1, ±2 (integers): products stay exact.
    Small,
}

fn rand_value(rng: &mut Rng, dt: DType, fill: f64, vals: Vals) -> f64 {
    loop {
        let v = match (dt, vals) {
            (DType::Bool, _) => 1.0 - repr(DType::Bool, fill),
            (DType::Float64, Vals::Wide) => rng.float(-4.0, 4.0),
            (DType::Float32, Vals::Wide) => rng.float(-4.0, 4.0) as f32 as f64,
            (_, Vals::Wide) => rng.int(-9, 9) as f64,
            (d, Vals::Small) => {
                let mag = if is_float(d) {
                    [0.5, 1.0, 2.0][rng.below(3)]
                } else {
                    [1.0, 2.0][rng.below(2)]
                };
                if rng.coin(0.5) {
                    -mag
                } else {
                    mag
                }
            }
        };
        if v != fill {
            return v;
        }
    }
}

/// A dense array whose elements differ from `fill` with probability `density`.
fn random_dense(
    rng: &mut Rng,
    shape: &[usize],
    dt: DType,
    density: f64,
    fill: f64,
    vals: Vals,
) -> Nd<f64> {
    let data = (0..size(shape))
        .map(|_| {
            if rng.coin(density) {
                rand_value(rng, dt, fill, vals)
            } else {
                fill
            }
        })
        .collect();
    Nd::new(shape, data)
}

/// A non-zero fill value for `dt`.
fn other_fill(dt: DType) -> f64 {
    match dt {
        DType::Float64 => 1.5,
        DType::Float32 => -2.5,
        DType::Int64 => 3.0,
        DType::Int32 => -2.0,
        _ => 1.0,
    }
}

fn sparse_of(x: &Nd<f64>, dt: DType, fill: f64) -> Coo {
    Coo::from_dense(&buffer_of(x, dt), scalar_of(dt, fill)).expect("from_dense")
}

/// A random sparse array and its dense twin.
fn random_sparse(
    rng: &mut Rng,
    shape: &[usize],
    dt: DType,
    density: f64,
    fill: f64,
    vals: Vals,
) -> (Coo, Nd<f64>) {
    let x = random_dense(rng, shape, dt, density, fill, vals);
    (sparse_of(&x, dt, fill), x)
}

/// A random shape of 1 to `max_ndim` axes with lengths in [lo, hi].
fn any_shape(rng: &mut Rng, max_ndim: usize, lo: usize, hi: usize) -> Vec<usize> {
    let ndim = 1 + rng.below(max_ndim);
    random_shape(rng, ndim, lo, hi)
}

// ---- checks ---------------------------------------------------------------------------------

/// Bytes per coordinate for `shape`, written out: u8 up to length 256, u16 up to 65536, ...
fn expected_width(shape: &[usize]) -> usize {
    let longest = shape.iter().copied().max().unwrap_or(0) as u64;
    if longest <= 1 << 8 {
        1
    } else if longest <= 1 << 16 {
        2
    } else if longest <= 1 << 32 {
        4
    } else {
        8
    }
}

/// The canonical-form invariants: coordinates in range, sorted row-major without duplicates,
/// no stored entry equal (bitwise) to the fill, the narrowest coordinate type, consistent
/// sizes.
fn check_canonical(s: &Coo, ctx: &str) {
    let (nd, nnz, shape) = (s.ndim(), s.nnz(), s.shape().to_vec());
    assert_eq!(nd, shape.len(), "{ctx}: ndim");
    assert_eq!(s.size(), size(&shape), "{ctx}: size");
    assert_eq!(s.coords().len(), nd * nnz, "{ctx}: coords length");
    let w = expected_width(&shape);
    assert_eq!(
        s.coords().width(),
        w,
        "{ctx}: coordinate width for {shape:?}"
    );
    let variant_ok = match s.coords() {
        Coords::U8(_) => w == 1,
        Coords::U16(_) => w == 2,
        Coords::U32(_) => w == 4,
        Coords::U64(_) => w == 8,
    };
    assert!(variant_ok, "{ctx}: coordinate variant for {shape:?}");
    assert_eq!(s.coords().nbytes(), nd * nnz * w, "{ctx}: coords nbytes");
    assert_eq!(
        s.nbytes(),
        nd * nnz * w + nnz * s.dtype().itemsize(),
        "{ctx}: nbytes"
    );
    assert_eq!(s.data().dtype(), s.dtype(), "{ctx}: data dtype");
    assert_eq!(s.data().shape(), &[nnz], "{ctx}: data shape");
    let want_density = if s.size() == 0 {
        0.0
    } else {
        nnz as f64 / s.size() as f64
    };
    assert_eq!(s.density(), want_density, "{ctx}: density");
    // Positions from the coordinates, row-major.
    let mut prev: Option<u64> = None;
    let lin = s.linear();
    assert_eq!(lin.len(), nnz, "{ctx}: linear length");
    for (i, &l) in lin.iter().enumerate() {
        let mut want = 0u64;
        for (a, &n) in shape.iter().enumerate() {
            let c = s.coord(a, i);
            assert!(
                c < n as u64,
                "{ctx}: coordinate {c} of entry {i} outside axis {a} ({n})"
            );
            assert_eq!(
                s.coords().get(a * nnz + i),
                c,
                "{ctx}: coords() and coord()"
            );
            want = want * n as u64 + c;
        }
        assert_eq!(l, want, "{ctx}: linear() of entry {i}");
        if let Some(p) = prev {
            assert!(
                p < l,
                "{ctx}: entries not sorted/unique at {i} ({p} then {l})"
            );
        }
        prev = Some(l);
    }
    let fill_bits = bits_of(s.dtype(), s.fill_value().as_f64());
    for (i, b) in buffer_bits(s.data()).into_iter().enumerate() {
        assert_ne!(b, fill_bits, "{ctx}: entry {i} stores the fill value");
    }
}

/// Elementwise comparison with tolerances (NaN equals NaN, infinities must match).
fn assert_values(got: &Nd<f64>, want: &Nd<f64>, rtol: f64, atol: f64, ctx: &str) {
    assert_eq!(got.shape, want.shape, "{ctx}: shape");
    for (i, (&g, &w)) in got.data.iter().zip(&want.data).enumerate() {
        assert!(
            close(g, w, rtol, atol),
            "{ctx}: element {:?} is {g}, expected {w}",
            unravel(i, &got.shape)
        );
    }
}

fn assert_exact(got: &Nd<f64>, want: &Nd<f64>, ctx: &str) {
    assert_values(got, want, 0.0, 0.0, ctx);
}

/// `s` is canonical, has dtype `dt`, and equals `want` densely with fill `fill`.
fn check_sparse(s: &Coo, want: &Nd<f64>, dt: DType, fill: f64, ctx: &str) {
    assert_eq!(s.dtype(), dt, "{ctx}: dtype");
    assert_eq!(s.shape(), want.shape.as_slice(), "{ctx}: shape");
    check_canonical(s, ctx);
    let f = s.fill_value().as_f64();
    assert!(
        close(f, repr(dt, fill), 0.0, 0.0),
        "{ctx}: fill {f}, expected {fill}"
    );
    assert_exact(&dense_of(s), want, ctx);
    let stored = want
        .data
        .iter()
        .filter(|&&v| bits_of(dt, v) != bits_of(dt, fill))
        .count();
    assert_eq!(s.nnz(), stored, "{ctx}: nnz");
}

fn expect_sparse(r: SparseResult, ctx: &str) -> Coo {
    match r {
        SparseResult::Sparse(c) => c,
        SparseResult::Dense(_) => panic!("{ctx}: dense result, expected sparse"),
    }
}

fn uf(name: &str) -> Arc<Ufunc> {
    ufunc(name).unwrap_or_else(|e| panic!("ufunc {name}: {e}"))
}

/// Dense reference of a broadcast n-ary operation.
fn zip_n(xs: &[&Nd<f64>], f: impl Fn(&[f64]) -> f64) -> Nd<f64> {
    let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape.as_slice()).collect();
    let shape = common::broadcast_shape(&shapes).expect("broadcastable");
    Nd::from_fn(&shape, |idx| {
        let args: Vec<f64> = xs.iter().map(|x| common::broadcast_at(x, idx)).collect();
        f(&args)
    })
}

// ---- the pydata/sparse 2017 example ---------------------------------------------------------

/// The example of the pydata/sparse announcement (2017): a 10^4 random array with entries
/// below 0.9 set to zero is stored in about 12 kB, and
/// `sparse.tensordot(s, s, axes=((1, 0, 3), (2, 1, 0))).sum(axis=1)` works on it.
#[test]
fn pydata_2017_log_example() {
    let mut rng = Rng::new(2017);
    let shape = [10, 10, 10, 10];
    let x = Nd::new(
        &shape,
        (0..10_000)
            .map(|_| {
                let v = rng.unit();
                if v < 0.9 {
                    0.0
                } else {
                    v
                }
            })
            .collect(),
    );
    let s = Coo::from_dense(&buffer_of(&x, DType::Float64), Scalar::Float(0.0)).unwrap();
    check_sparse(&s, &x, DType::Float64, 0.0, "2017 example");
    let dense_bytes = 10_000 * 8;
    assert!(
        s.nbytes() <= 12_888,
        "nbytes {} (nnz {})",
        s.nbytes(),
        s.nnz()
    );
    assert!(s.nbytes() * 5 < dense_bytes, "nbytes {}", s.nbytes());
    assert_eq!(s.nbytes(), s.nnz() * (4 + 8), "u8 coordinates and f64 data");
    assert!(matches!(s.coords(), Coords::U8(_)));

    let r = tensordot(
        &DotArg::Sparse(&s),
        &DotArg::Sparse(&s),
        &[1, 0, 3],
        &[2, 1, 0],
        ReturnType::Auto,
    )
    .unwrap();
    let t = match r {
        DotResult::Sparse(t) => t,
        DotResult::Dense(_) => panic!("sparse x sparse gave a dense result"),
    };
    let want_t = tensordot_ref(&x, &x, &[1, 0, 3], &[2, 1, 0]);
    assert_eq!(t.shape(), &[10, 10]);
    check_canonical(&t, "tensordot");
    assert_values(&dense_of(&t), &want_t, 1e-12, 0.0, "tensordot");
    let summed = match reduce(&t, ReduceOp::Sum, &[false, true]).unwrap() {
        Reduced::Sparse(c) => c,
        Reduced::Dense(_) => panic!("partial reduction gave a dense result"),
    };
    let want: Nd<f64> = Nd::from_fn(&[10], |i| (0..10).map(|j| want_t.at(&[i[0], j])).sum());
    assert_values(&dense_of(&summed), &want, 1e-12, 0.0, "sum(axis=1)");
}

// ---- construction, canonical form, round trips ----------------------------------------------

#[test]
fn from_dense_round_trips_every_dtype_and_density() {
    let mut rng = Rng::new(1);
    for dt in DTYPES {
        for density in DENSITIES {
            for ndim in 1..=4 {
                for fill in [0.0, other_fill(dt)] {
                    let shape = random_shape(&mut rng, ndim, 1, 6);
                    let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
                    let ctx = format!("{} {shape:?} density {density} fill {fill}", dt.name());
                    check_sparse(&s, &x, dt, fill, &ctx);
                    assert_eq!(s.ndim(), ndim);
                    // Each stored entry sits where the dense array has that value.
                    let data = values(s.data());
                    for i in 0..s.nnz() {
                        let idx: Vec<usize> = (0..ndim).map(|a| s.coord(a, i) as usize).collect();
                        assert_eq!(data.data[i], x.at(&idx), "{ctx}: entry {i}");
                    }
                    if density == 0.0 {
                        assert_eq!(s.nnz(), 0, "{ctx}");
                    }
                    if density == 1.0 {
                        assert_eq!(s.nnz(), size(&shape), "{ctx}");
                    }
                }
            }
        }
    }
}

#[test]
fn empty_and_zero_size_arrays() {
    for dt in DTYPES {
        for shape in [vec![0], vec![3, 0], vec![2, 0, 4], vec![3, 4], vec![]] {
            for fill in [0.0, other_fill(dt)] {
                let ctx = format!("{} {shape:?} fill {fill}", dt.name());
                let x = Nd::new(&shape, vec![fill; size(&shape)]);
                let s = sparse_of(&x, dt, fill);
                check_sparse(&s, &x, dt, fill, &ctx);
                assert_eq!(s.nnz(), 0, "{ctx}");
                assert_eq!(s.nbytes(), 0, "{ctx}");
                let t = Coo::from_triplets(
                    &shape,
                    &[],
                    &buffer_of(&Nd::new(&[0], vec![]), dt),
                    scalar_of(dt, fill),
                )
                .unwrap();
                check_sparse(&t, &x, dt, fill, &format!("{ctx} (triplets)"));
            }
        }
    }
}

#[test]
fn coordinate_width_is_the_smallest_that_fits() {
    for (len, width) in [
        (1usize, 1usize),
        (255, 1),
        (256, 1),
        (257, 2),
        (65_536, 2),
        (65_537, 4),
        (1 << 32, 4),
        ((1 << 32) + 1, 8),
    ] {
        let last = (len - 1) as u64;
        let data = Buffer::from_vec(vec![2.0f64, 3.0], &[2]).unwrap();
        let s = Coo::from_triplets(&[3, len], &[2, 0, last, 0], &data, Scalar::Float(0.0)).unwrap();
        let ctx = format!("length {len}");
        check_canonical(&s, &ctx);
        assert_eq!(s.coords().width(), width, "{ctx}");
        assert_eq!(s.nbytes(), 2 * 2 * width + 2 * 8, "{ctx}");
        // Sorted: (0, 0) = 3.0 first, then (2, last) = 2.0.
        assert_eq!(
            (s.coord(0, 0), s.coord(1, 0), s.coord(0, 1), s.coord(1, 1)),
            (0, 0, 2, last),
            "{ctx}"
        );
        assert_eq!(values(s.data()).data, vec![3.0, 2.0], "{ctx}");
    }
    // Restructuring re-narrows: (2, 256) is u8, its flattening (512,) is u16 and back.
    let mut rng = Rng::new(2);
    let (s, x) = random_sparse(&mut rng, &[2, 256], DType::Float64, 0.1, 0.0, Vals::Wide);
    assert!(matches!(s.coords(), Coords::U8(_)));
    let flat = s.reshape(&[512]).unwrap();
    assert!(matches!(flat.coords(), Coords::U16(_)));
    check_sparse(
        &flat,
        &Nd::new(&[512], x.data.clone()),
        DType::Float64,
        0.0,
        "flat",
    );
    let back = flat.reshape(&[256, 2]).unwrap();
    assert!(matches!(back.coords(), Coords::U8(_)));
    check_sparse(
        &back,
        &Nd::new(&[256, 2], x.data.clone()),
        DType::Float64,
        0.0,
        "back",
    );
}

/// Random triplets (with duplicates, in random order) against a dense accumulation.
#[test]
fn from_triplets_sums_duplicates() {
    let mut rng = Rng::new(3);
    for dt in DTYPES {
        for ndim in 1..=4 {
            for fill in [0.0, other_fill(dt)] {
                let shape = random_shape(&mut rng, ndim, 1, 5);
                let n = size(&shape);
                let nnz = rng.below(2 * n + 2);
                // Entries: random positions (many repeats), random values incl. the fill and
                // values cancelling each other.
                let pos: Vec<usize> = (0..nnz).map(|_| rng.below(n)).collect();
                let vals: Vec<f64> = (0..nnz)
                    .map(|_| {
                        if rng.coin(0.2) {
                            repr(dt, fill)
                        } else if dt == DType::Bool {
                            rng.below(2) as f64
                        } else if is_int(dt) {
                            rng.int(-3, 3) as f64
                        } else {
                            repr(dt, rng.float(-2.0, 2.0))
                        }
                    })
                    .collect();
                let mut coords = vec![0u64; ndim * nnz];
                for (i, &p) in pos.iter().enumerate() {
                    for (a, &c) in unravel(p, &shape).iter().enumerate() {
                        coords[a * nnz + i] = c as u64;
                    }
                }
                // Reference: the first value at a position, then the dtype's addition in input
                // order (float32 rounding each step, bool addition is logical or).
                let mut acc: Vec<Option<f64>> = vec![None; n];
                for (&p, &v) in pos.iter().zip(&vals) {
                    acc[p] = Some(match acc[p] {
                        None => v,
                        Some(a) => match dt {
                            DType::Bool => ((a != 0.0) || (v != 0.0)) as u8 as f64,
                            _ => repr(dt, a + v),
                        },
                    });
                }
                let want = Nd::new(&shape, acc.iter().map(|a| a.unwrap_or(fill)).collect());
                let s = Coo::from_triplets(
                    &shape,
                    &coords,
                    &buffer_of(&Nd::new(&[nnz], vals), dt),
                    scalar_of(dt, fill),
                )
                .unwrap();
                let ctx = format!("{} {shape:?} nnz {nnz} fill {fill}", dt.name());
                check_sparse(&s, &want, dt, fill, &ctx);
            }
        }
    }
}

#[test]
fn from_triplets_small_cases() {
    // Duplicates summed, unsorted input, one duplicate pair cancelling to the fill.
    let data = Buffer::from_vec(vec![1.0f64, 2.0, 5.0, -5.0, 4.0], &[5]).unwrap();
    let coords = [2u64, 0, 1, 1, 2, /* axis 1 */ 1, 0, 1, 1, 1];
    let s = Coo::from_triplets(&[3, 2], &coords, &data, Scalar::Float(0.0)).unwrap();
    let want = Nd::new(&[3, 2], vec![2.0, 0.0, 0.0, 0.0, 0.0, 5.0]);
    check_sparse(&s, &want, DType::Float64, 0.0, "cancelling duplicates");
    assert_eq!(s.nnz(), 2);

    // int32 and int64 duplicates sum in their own type.
    for dt in [DType::Int32, DType::Int64] {
        let data = buffer_of(&Nd::new(&[4], vec![7.0, -2.0, 7.0, 1.0]), dt);
        let s = Coo::from_triplets(&[4], &[3, 0, 3, 3], &data, Scalar::Int(0)).unwrap();
        check_sparse(
            &s,
            &Nd::new(&[4], vec![-2.0, 0.0, 0.0, 15.0]),
            dt,
            0.0,
            dt.name(),
        );
    }
    // bool duplicates: logical or.
    let data = buffer_of(&Nd::new(&[4], vec![1.0, 0.0, 0.0, 1.0]), DType::Bool);
    let s = Coo::from_triplets(&[3], &[0, 0, 1, 1], &data, Scalar::Bool(false)).unwrap();
    check_sparse(
        &s,
        &Nd::new(&[3], vec![1.0, 1.0, 0.0]),
        DType::Bool,
        0.0,
        "bool or",
    );

    // A 0-d array from triplets (no coordinates at all), duplicates summed.
    let data = Buffer::from_vec(vec![1.5f64, 2.0], &[2]).unwrap();
    let s = Coo::from_triplets(&[], &[], &data, Scalar::Float(0.0)).unwrap();
    check_sparse(&s, &Nd::new(&[], vec![3.5]), DType::Float64, 0.0, "0-d");

    // Fill 1.0: unlisted elements are 1, listed ones are their sum; entries equal to the fill
    // are dropped.
    let data = Buffer::from_vec(vec![1.0f64, 0.0, 3.0], &[3]).unwrap();
    let s = Coo::from_triplets(&[2, 2], &[0, 1, 1, 0, 0, 1], &data, Scalar::Float(1.0)).unwrap();
    check_sparse(
        &s,
        &Nd::new(&[2, 2], vec![1.0, 1.0, 0.0, 3.0]),
        DType::Float64,
        1.0,
        "fill 1",
    );
    assert_eq!(s.nnz(), 2);
}

#[test]
fn from_triplets_errors() {
    let data = Buffer::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
    let f = Scalar::Float(0.0);
    // A coordinate past the end of its axis.
    let e = Coo::from_triplets(&[3, 4], &[0, 2, 1, 4], &data, f).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("out of range") && msg.contains('4'),
        "unclear error: {msg}"
    );
    let e = Coo::from_triplets(&[3, 4], &[3, 0, 0, 0], &data, f).unwrap_err();
    assert!(e.to_string().contains("out of range"), "unclear error: {e}");
    // Wrong numbers of coordinates.
    for coords in [&[0u64, 1, 2][..], &[0, 1, 2, 3, 0][..], &[][..]] {
        let e = Coo::from_triplets(&[3, 4], coords, &data, f).unwrap_err();
        assert!(e.to_string().contains("coordinates"), "unclear error: {e}");
    }
    // Data must be 1-d.
    let data2 = Buffer::from_vec(vec![1.0f64, 2.0], &[1, 2]).unwrap();
    assert!(Coo::from_triplets(&[3, 4], &[0, 1, 0, 1], &data2, f).is_err());
}

#[test]
fn nan_fill_is_handled_bitwise() {
    // Fill NaN: NaN elements (the fill's bits) are not stored; another NaN payload is.
    let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
    assert!(other_nan.is_nan() && other_nan.to_bits() != f64::NAN.to_bits());
    let raw = vec![f64::NAN, 1.0, f64::NAN, other_nan, 0.0, -0.0];
    let b = Buffer::from_vec(raw.clone(), &[2, 3]).unwrap();
    let s = Coo::from_dense(&b, Scalar::Float(f64::NAN)).unwrap();
    check_canonical(&s, "NaN fill");
    assert_eq!(s.nnz(), 4, "1.0, the other NaN, 0.0 and -0.0 are stored");
    assert!(s.fill_value().as_f64().is_nan());
    let back = s.to_dense().unwrap();
    let want_bits: Vec<u64> = raw.iter().map(|v| v.to_bits()).collect();
    assert_eq!(buffer_bits(&back), want_bits, "round trip keeps every bit");

    // float32 too.
    let raw32 = vec![f32::NAN, 2.5f32, f32::NAN, f32::NAN];
    let b = Buffer::from_vec(raw32.clone(), &[4]).unwrap();
    let s = Coo::from_dense(&b, Scalar::Float(f64::NAN)).unwrap();
    check_canonical(&s, "NaN fill f32");
    assert_eq!(s.nnz(), 1);
    let want: Vec<u64> = raw32.iter().map(|v| v.to_bits() as u64).collect();
    assert_eq!(buffer_bits(&s.to_dense().unwrap()), want);

    // With fill 0.0, -0.0 survives the round trip with its sign.
    let raw = vec![0.0f64, -0.0, 3.0];
    let s = Coo::from_dense(
        &Buffer::from_vec(raw.clone(), &[3]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap();
    check_canonical(&s, "-0.0");
    let want: Vec<u64> = raw.iter().map(|v| v.to_bits()).collect();
    assert_eq!(buffer_bits(&s.to_dense().unwrap()), want);
}

#[test]
fn non_zero_fill_round_trips_and_all_fill_arrays() {
    let mut rng = Rng::new(4);
    for dt in DTYPES {
        let fill = other_fill(dt);
        // All elements equal to the fill: nothing stored.
        let x = Nd::new(&[3, 4, 2], vec![fill; 24]);
        let s = sparse_of(&x, dt, fill);
        check_sparse(&s, &x, dt, fill, &format!("{} all fill", dt.name()));
        assert_eq!(s.nnz(), 0);
        // All elements zero with a non-zero fill: everything stored.
        let z = Nd::new(&[3, 4, 2], vec![0.0; 24]);
        let s = sparse_of(&z, dt, fill);
        check_sparse(&s, &z, dt, fill, &format!("{} all zero", dt.name()));
        assert_eq!(s.nnz(), 24);
        // Mixed.
        let (s, x) = random_sparse(&mut rng, &[5, 3], dt, 0.3, fill, Vals::Wide);
        check_sparse(&s, &x, dt, fill, &format!("{} mixed", dt.name()));
    }
}

#[test]
fn astype_matches_dense_casts() {
    let mut rng = Rng::new(5);
    for from in DTYPES {
        for to in DTYPES {
            for fill in [0.0, other_fill(from)] {
                let shape = random_shape(&mut rng, 3, 1, 5);
                // Fractions too, so that float -> int truncates some values onto the fill.
                let x = Nd::new(
                    &shape,
                    (0..size(&shape))
                        .map(|_| {
                            if rng.coin(0.5) {
                                fill
                            } else if is_float(from) {
                                repr(from, (rng.float(-8.0, 8.0) * 4.0).round() / 4.0)
                            } else {
                                repr(from, rng.int(-5, 5) as f64)
                            }
                        })
                        .collect(),
                );
                let s = sparse_of(&x, from, fill);
                let c = s.astype(to).unwrap();
                let want = x.map(|v| repr(to, v));
                let ctx = format!("{} -> {} fill {fill}", from.name(), to.name());
                check_sparse(&c, &want, to, repr(to, fill), &ctx);
            }
        }
    }
}

// ---- elementwise ----------------------------------------------------------------------------

struct Unary {
    name: &'static str,
    f: fn(f64) -> f64,
    /// Exact after rounding to the result dtype (else compared with a tolerance).
    exact: bool,
    /// Computed in floating point (integers become float64).
    to_float: bool,
    /// Result is bool.
    to_bool: bool,
}

fn unaries() -> Vec<Unary> {
    fn u(name: &'static str, f: fn(f64) -> f64, exact: bool, to_float: bool) -> Unary {
        Unary {
            name,
            f,
            exact,
            to_float,
            to_bool: false,
        }
    }
    vec![
        u("negative", |x| -x, true, false),
        u("absolute", f64::abs, true, false),
        u("square", |x| x * x, true, false),
        u("sqrt", f64::sqrt, true, true),
        u("sin", f64::sin, false, true),
        u("expm1", f64::exp_m1, false, true),
        u("exp", f64::exp, false, true),
        u("cos", f64::cos, false, true),
        Unary {
            name: "logical_not",
            f: |x| (x == 0.0) as u8 as f64,
            exact: true,
            to_float: false,
            to_bool: true,
        },
        Unary {
            name: "isnan",
            f: |x| x.is_nan() as u8 as f64,
            exact: true,
            to_float: false,
            to_bool: true,
        },
    ]
}

fn tolerances(dt: DType, exact: bool) -> (f64, f64) {
    match (exact, dt) {
        (true, _) => (0.0, 0.0),
        (false, DType::Float32) => (4e-7, 1e-7),
        _ => (1e-14, 1e-15),
    }
}

#[test]
fn unary_ufuncs_match_dense() {
    let mut rng = Rng::new(6);
    for op in unaries() {
        let f = uf(op.name);
        for dt in DTYPES {
            if dt == DType::Bool && !op.to_bool && op.name != "absolute" {
                continue; // NumPy: float16 or TypeError; see bool_unary_results
            }
            let out = if op.to_bool {
                DType::Bool
            } else if op.to_float && !is_float(dt) {
                DType::Float64
            } else {
                dt
            };
            for density in DENSITIES {
                for fill in [0.0, other_fill(dt)] {
                    let shape = any_shape(&mut rng, 4, 1, 5);
                    let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
                    let ctx = format!(
                        "{}({} {shape:?} density {density} fill {fill})",
                        op.name,
                        dt.name()
                    );
                    let r = expect_sparse(
                        elementwise(&f, &[SparseArg::Sparse(&s)])
                            .unwrap_or_else(|e| panic!("{ctx}: {e}")),
                        &ctx,
                    );
                    let want = x.map(|v| repr(out, (op.f)(v)));
                    assert_eq!(r.dtype(), out, "{ctx}: dtype");
                    check_canonical(&r, &ctx);
                    let (rtol, atol) = tolerances(out, op.exact);
                    assert_values(&dense_of(&r), &want, rtol, atol, &ctx);
                    let new_fill = repr(out, (op.f)(fill));
                    assert!(
                        close(r.fill_value().as_f64(), new_fill, rtol, atol),
                        "{ctx}: fill {:?}, expected {new_fill}",
                        r.fill_value()
                    );
                    // Sparsity: only the input's stored positions can be stored.
                    assert!(r.nnz() <= s.nnz(), "{ctx}: nnz grew");
                }
            }
        }
    }
}

#[test]
fn fill_changing_unary_ufuncs() {
    // exp of a fill-0 array: fill 1, stored entries where the input is stored.
    let x = Nd::new(&[2, 3], vec![0.0, 1.0, 0.0, -2.0, 0.0, 0.0]);
    let s = sparse_of(&x, DType::Float64, 0.0);
    let r = expect_sparse(
        elementwise(&uf("exp"), &[SparseArg::Sparse(&s)]).unwrap(),
        "exp",
    );
    assert_eq!(r.fill_value(), Scalar::Float(1.0));
    assert_eq!(r.nnz(), 2);
    assert_values(&dense_of(&r), &x.map(f64::exp), 1e-15, 0.0, "exp");
    let r = expect_sparse(
        elementwise(&uf("cos"), &[SparseArg::Sparse(&s)]).unwrap(),
        "cos",
    );
    assert_eq!(r.fill_value(), Scalar::Float(1.0));
    assert_values(&dense_of(&r), &x.map(f64::cos), 1e-15, 1e-16, "cos");
    // sqrt keeps fill 0.
    let r = expect_sparse(
        elementwise(&uf("sqrt"), &[SparseArg::Sparse(&s)]).unwrap(),
        "sqrt",
    );
    assert_eq!(r.fill_value(), Scalar::Float(0.0));
    assert_values(&dense_of(&r), &x.map(f64::sqrt), 0.0, 0.0, "sqrt");
}

#[test]
fn bool_unary_results() {
    let x = Nd::new(&[4], vec![1.0, 0.0, 0.0, 1.0]);
    let s = sparse_of(&x, DType::Bool, 0.0);
    // Float functions of bools give a float dtype (NumPy picks float16, which libdask does not
    // have), with the right values.
    for (name, f) in [("sqrt", f64::sqrt as fn(f64) -> f64), ("exp", f64::exp)] {
        let r = expect_sparse(
            elementwise(&uf(name), &[SparseArg::Sparse(&s)]).unwrap(),
            name,
        );
        assert!(is_float(r.dtype()), "{name}: dtype {}", r.dtype().name());
        let want = x.map(|v| repr(r.dtype(), f(v)));
        assert_values(&dense_of(&r), &want, 1e-7, 0.0, name);
    }
}

struct Binary {
    name: &'static str,
    f: fn(f64, f64) -> f64,
    kind: BinKind,
}

#[derive(Clone, Copy, PartialEq)]
enum BinKind {
    /// Result in the promoted dtype.
    Arith,
    /// Result float (true division).
    Div,
    /// Result bool.
    Bool,
}

fn binaries() -> Vec<Binary> {
    fn b(name: &'static str, f: fn(f64, f64) -> f64, kind: BinKind) -> Binary {
        Binary { name, f, kind }
    }
    vec![
        b("add", |x, y| x + y, BinKind::Arith),
        b("subtract", |x, y| x - y, BinKind::Arith),
        b("multiply", |x, y| x * y, BinKind::Arith),
        b("true_divide", |x, y| x / y, BinKind::Div),
        b("maximum", f64::max, BinKind::Arith),
        b("minimum", f64::min, BinKind::Arith),
        b("less", |x, y| (x < y) as u8 as f64, BinKind::Bool),
        b("greater_equal", |x, y| (x >= y) as u8 as f64, BinKind::Bool),
        b("equal", |x, y| (x == y) as u8 as f64, BinKind::Bool),
        b("not_equal", |x, y| (x != y) as u8 as f64, BinKind::Bool),
        b(
            "logical_and",
            |x, y| (x != 0.0 && y != 0.0) as u8 as f64,
            BinKind::Bool,
        ),
        b(
            "logical_or",
            |x, y| (x != 0.0 || y != 0.0) as u8 as f64,
            BinKind::Bool,
        ),
    ]
}

fn binary_out(kind: BinKind, a: DType, b: DType) -> DType {
    let p = promote(a, b);
    match kind {
        BinKind::Arith => p,
        BinKind::Div if is_float(p) => p,
        BinKind::Div => DType::Float64,
        BinKind::Bool => DType::Bool,
    }
}

/// Checks `op(a, b)` of two sparse arrays against the dense reference.
fn check_binary(
    op: &Binary,
    (sa, xa, da, fa): (&Coo, &Nd<f64>, DType, f64),
    (sb, xb, db, fb): (&Coo, &Nd<f64>, DType, f64),
    ctx: &str,
) {
    let out = binary_out(op.kind, da, db);
    let r = expect_sparse(
        elementwise(
            &uf(op.name),
            &[SparseArg::Sparse(sa), SparseArg::Sparse(sb)],
        )
        .unwrap_or_else(|e| panic!("{ctx}: {e}")),
        ctx,
    );
    let want = common::zip2(xa, xb, |x, y| repr(out, (op.f)(x, y)));
    assert_eq!(r.dtype(), out, "{ctx}: dtype");
    check_canonical(&r, ctx);
    assert_exact(&dense_of(&r), &want, ctx);
    let new_fill = repr(out, (op.f)(fa, fb));
    assert!(
        close(r.fill_value().as_f64(), new_fill, 0.0, 0.0),
        "{ctx}: fill {:?}, expected {new_fill}",
        r.fill_value()
    );
}

#[test]
fn binary_sparse_sparse_same_shape() {
    let mut rng = Rng::new(7);
    for (op, _) in binaries()
        .iter()
        .flat_map(|op| (0..4).map(move |k| (op, k)))
    {
        for da in DTYPES {
            for db in DTYPES {
                if op.name == "subtract" && da == DType::Bool && db == DType::Bool {
                    continue; // NumPy: TypeError
                }
                let shape = any_shape(&mut rng, 4, 1, 5);
                let fa = if rng.coin(0.5) { 0.0 } else { other_fill(da) };
                let fb = if rng.coin(0.5) { 0.0 } else { other_fill(db) };
                let dena = DENSITIES[rng.below(5)];
                let denb = DENSITIES[rng.below(5)];
                let (sa, xa) = random_sparse(&mut rng, &shape, da, dena, fa, Vals::Wide);
                let (sb, xb) = random_sparse(&mut rng, &shape, db, denb, fb, Vals::Wide);
                let ctx = format!(
                    "{}({} fill {fa} density {dena}, {} fill {fb} density {denb}) {shape:?}",
                    op.name,
                    da.name(),
                    db.name()
                );
                check_binary(op, (&sa, &xa, da, fa), (&sb, &xb, db, fb), &ctx);
            }
        }
    }
}

#[test]
fn binary_sparse_sparse_broadcasting() {
    let mut rng = Rng::new(8);
    let pairs: [(&[usize], &[usize]); 6] = [
        (&[4, 1, 3], &[5, 3]),
        (&[3, 1], &[1, 4]),
        (&[2, 3, 4], &[4]),
        (&[2, 1, 4, 1], &[3, 1, 5]),
        (&[1], &[3, 2, 1]),
        (&[5, 3], &[4, 1, 3]),
    ];
    for (sha, shb) in pairs {
        for op in binaries() {
            for dt in [DType::Float64, DType::Int32, DType::Float32] {
                for (fa, fb) in [(0.0, 0.0), (0.0, other_fill(dt)), (other_fill(dt), 1.0)] {
                    let dena = DENSITIES[1 + rng.below(4)];
                    let denb = DENSITIES[1 + rng.below(4)];
                    let (sa, xa) = random_sparse(&mut rng, sha, dt, dena, fa, Vals::Wide);
                    let (sb, xb) = random_sparse(&mut rng, shb, dt, denb, fb, Vals::Wide);
                    let ctx = format!(
                        "{}({sha:?} fill {fa}, {shb:?} fill {fb}) {}",
                        op.name,
                        dt.name()
                    );
                    check_binary(&op, (&sa, &xa, dt, fa), (&sb, &xb, dt, fb), &ctx);
                }
            }
        }
    }
    // Shapes that do not broadcast.
    let a = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64, 0.0);
    let b = sparse_of(&Nd::new(&[4], vec![1.0; 4]), DType::Float64, 0.0);
    assert!(elementwise(&uf("add"), &[SparseArg::Sparse(&a), SparseArg::Sparse(&b)]).is_err());
}

#[test]
fn sparse_with_scalars() {
    let mut rng = Rng::new(9);
    let scalars = [
        Scalar::Int(2),
        Scalar::Int(-3),
        Scalar::Float(0.5),
        Scalar::Float(1.5),
        Scalar::Bool(true),
    ];
    for op in binaries() {
        for dt in DTYPES {
            for s in scalars {
                for scalar_first in [false, true] {
                    let sdt = weak(s, dt);
                    if op.name == "subtract" && dt == DType::Bool && sdt == DType::Bool {
                        continue;
                    }
                    let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
                    let shape = any_shape(&mut rng, 3, 1, 5);
                    let density = DENSITIES[rng.below(5)];
                    let (sp, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
                    let sv = repr(sdt, s.as_f64());
                    let out = binary_out(op.kind, dt, sdt);
                    let f = |v: f64| {
                        if scalar_first {
                            repr(out, (op.f)(sv, v))
                        } else {
                            repr(out, (op.f)(v, sv))
                        }
                    };
                    let args = if scalar_first {
                        [SparseArg::Scalar(s), SparseArg::Sparse(&sp)]
                    } else {
                        [SparseArg::Sparse(&sp), SparseArg::Scalar(s)]
                    };
                    let ctx = format!(
                        "{}({} fill {fill} density {density}, {s:?}) scalar first: {scalar_first}",
                        op.name,
                        dt.name()
                    );
                    let r = expect_sparse(
                        elementwise(&uf(op.name), &args).unwrap_or_else(|e| panic!("{ctx}: {e}")),
                        &ctx,
                    );
                    assert_eq!(r.dtype(), out, "{ctx}: dtype");
                    check_canonical(&r, &ctx);
                    assert_exact(&dense_of(&r), &x.map(f), &ctx);
                    assert!(
                        close(r.fill_value().as_f64(), f(fill), 0.0, 0.0),
                        "{ctx}: fill {:?}, expected {}",
                        r.fill_value(),
                        f(fill)
                    );
                }
            }
        }
    }
}

#[test]
fn sparse_plus_scalar_changes_the_fill() {
    let x = Nd::new(&[3, 3], vec![0.0, 2.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0]);
    let s = sparse_of(&x, DType::Float64, 0.0);
    let r = expect_sparse(
        elementwise(
            &uf("add"),
            &[SparseArg::Sparse(&s), SparseArg::Scalar(Scalar::Float(1.0))],
        )
        .unwrap(),
        "s + 1",
    );
    assert_eq!(r.fill_value(), Scalar::Float(1.0));
    // -1 + 1 = 0 is stored (it differs from the new fill); 2 + 1 = 3 too.
    assert_eq!(r.nnz(), 2);
    check_sparse(&r, &x.map(|v| v + 1.0), DType::Float64, 1.0, "s + 1");
    // s * 2 keeps fill 0 and the positions.
    let r = expect_sparse(
        elementwise(
            &uf("multiply"),
            &[SparseArg::Sparse(&s), SparseArg::Scalar(Scalar::Int(2))],
        )
        .unwrap(),
        "s * 2",
    );
    check_sparse(&r, &x.map(|v| v * 2.0), DType::Float64, 0.0, "s * 2");
    assert_eq!(r.linear(), s.linear());
}

#[test]
fn s_times_two_plus_s() {
    let mut rng = Rng::new(10);
    for dt in DTYPES {
        for density in DENSITIES {
            let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
            let shape = any_shape(&mut rng, 4, 1, 5);
            let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
            let ctx = format!("{} {shape:?} density {density} fill {fill}", dt.name());
            let twice = expect_sparse(
                elementwise(
                    &uf("multiply"),
                    &[SparseArg::Sparse(&s), SparseArg::Scalar(Scalar::Int(2))],
                )
                .unwrap(),
                &ctx,
            );
            let r = expect_sparse(
                elementwise(
                    &uf("add"),
                    &[SparseArg::Sparse(&twice), SparseArg::Sparse(&s)],
                )
                .unwrap(),
                &ctx,
            );
            // bool * 2 is int64 (NEP 50), int64 + bool stays int64.
            let out = if dt == DType::Bool { DType::Int64 } else { dt };
            let want = x.map(|v| repr(out, 2.0 * v + v));
            check_sparse(&r, &want, out, repr(out, 3.0 * fill), &ctx);
        }
    }
}

#[test]
fn comparisons_give_bool_sparse_arrays() {
    let mut rng = Rng::new(11);
    for dt in [DType::Float64, DType::Int64, DType::Int32, DType::Float32] {
        let (a, xa) = random_sparse(&mut rng, &[4, 5], dt, 0.3, 0.0, Vals::Wide);
        let (b, xb) = random_sparse(&mut rng, &[4, 5], dt, 0.3, 0.0, Vals::Wide);
        for (name, f) in [
            ("less", (|x, y| x < y) as fn(f64, f64) -> bool),
            ("greater", |x, y| x > y),
            ("less_equal", |x, y| x <= y),
            ("equal", |x, y| x == y),
        ] {
            let r = expect_sparse(
                elementwise(&uf(name), &[SparseArg::Sparse(&a), SparseArg::Sparse(&b)]).unwrap(),
                name,
            );
            let want = common::zip2(&xa, &xb, |x, y| f(x, y) as u8 as f64);
            let fill = f(0.0, 0.0) as u8 as f64;
            check_sparse(
                &r,
                &want,
                DType::Bool,
                fill,
                &format!("{name} {}", dt.name()),
            );
            // s > 0 with a scalar.
            let r = expect_sparse(
                elementwise(
                    &uf(name),
                    &[SparseArg::Sparse(&a), SparseArg::Scalar(Scalar::Int(0))],
                )
                .unwrap(),
                name,
            );
            let want = xa.map(|x| f(x, 0.0) as u8 as f64);
            check_sparse(&r, &want, DType::Bool, fill, &format!("{name} 0"));
        }
    }
}

#[test]
fn where_selects_elementwise() {
    let mut rng = Rng::new(12);
    let w = uf("where");
    for dt in DTYPES {
        for (shc, sha, shb) in [
            (&[3, 4][..], &[3, 4][..], &[3, 4][..]),
            (&[3, 1][..], &[4][..], &[2, 3, 4][..]),
        ] {
            let fc = if rng.coin(0.5) { 0.0 } else { 1.0 };
            let fa = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
            let (c, xc) = random_sparse(&mut rng, shc, DType::Bool, 0.4, fc, Vals::Wide);
            let (a, xa) = random_sparse(&mut rng, sha, dt, 0.5, fa, Vals::Wide);
            let (b, xb) = random_sparse(&mut rng, shb, dt, 0.5, 0.0, Vals::Wide);
            let ctx = format!("where {} {shc:?} {sha:?} {shb:?}", dt.name());
            let r = expect_sparse(
                elementwise(
                    &w,
                    &[
                        SparseArg::Sparse(&c),
                        SparseArg::Sparse(&a),
                        SparseArg::Sparse(&b),
                    ],
                )
                .unwrap_or_else(|e| panic!("{ctx}: {e}")),
                &ctx,
            );
            let want = zip_n(&[&xc, &xa, &xb], |v| if v[0] != 0.0 { v[1] } else { v[2] });
            let fill = if fc != 0.0 { fa } else { 0.0 };
            check_sparse(&r, &want, dt, fill, &ctx);
            // where(c, a, 0)
            let zero = scalar_of(dt, 0.0);
            let r = expect_sparse(
                elementwise(
                    &w,
                    &[
                        SparseArg::Sparse(&c),
                        SparseArg::Sparse(&a),
                        SparseArg::Scalar(zero),
                    ],
                )
                .unwrap_or_else(|e| panic!("{ctx} scalar: {e}")),
                &ctx,
            );
            let want = zip_n(&[&xc, &xa], |v| if v[0] != 0.0 { v[1] } else { 0.0 });
            check_sparse(&r, &want, dt, if fc != 0.0 { fa } else { 0.0 }, &ctx);
        }
    }
}

/// An operation that would densify: ufunc, operands, dense reference, result dtype, name.
type DensifyCase<'a> = (&'a Arc<Ufunc>, Vec<SparseArg<'a>>, Nd<f64>, DType, &'a str);

/// Sparse with dense operands, and the densify policy. One test function, because the policy
/// is process-wide.
#[test]
fn sparse_dense_operations_and_auto_densify() {
    assert!(!auto_densify(), "default policy");
    let mut rng = Rng::new(13);
    let mul = uf("multiply");
    let add = uf("add");

    // sparse * dense stays sparse when the fill is 0 (dense values that keep 0 * d == +0).
    for dt in DTYPES {
        for (shs, shd) in [
            (&[4, 3][..], &[4, 3][..]),
            (&[4, 3][..], &[5, 4, 3][..]),
            (&[5, 4, 3][..], &[3][..]),
            (&[5, 1, 3][..], &[4, 1][..]),
        ] {
            for density in DENSITIES {
                let (s, xs) = random_sparse(&mut rng, shs, dt, density, 0.0, Vals::Wide);
                let xd = random_dense(&mut rng, shd, dt, 1.0, 0.0, Vals::Wide);
                let xd = if dt == DType::Bool || is_int(dt) {
                    xd
                } else {
                    xd.map(f64::abs)
                };
                let d = buffer_of(&xd, dt);
                let ctx = format!("{} {shs:?} * dense {shd:?} density {density}", dt.name());
                let r = expect_sparse(
                    elementwise(&mul, &[SparseArg::Sparse(&s), SparseArg::Dense(&d)])
                        .unwrap_or_else(|e| panic!("{ctx}: {e}")),
                    &ctx,
                );
                let want = common::zip2(&xs, &xd, |x, y| repr(dt, x * y));
                check_sparse(&r, &want, dt, 0.0, &ctx);
                // Dense first.
                let r = expect_sparse(
                    elementwise(&mul, &[SparseArg::Dense(&d), SparseArg::Sparse(&s)])
                        .unwrap_or_else(|e| panic!("{ctx}: {e}")),
                    &ctx,
                );
                check_sparse(&r, &want, dt, 0.0, &ctx);
            }
        }
    }
    // sparse + constant dense stays sparse, with the new fill.
    let (s, xs) = random_sparse(&mut rng, &[3, 4], DType::Float64, 0.3, 0.0, Vals::Wide);
    let xd = Nd::new(&[4], vec![5.0; 4]);
    let d = buffer_of(&xd, DType::Float64);
    let r = expect_sparse(
        elementwise(&add, &[SparseArg::Sparse(&s), SparseArg::Dense(&d)]).unwrap(),
        "s + 5s",
    );
    check_sparse(
        &r,
        &common::zip2(&xs, &xd, |x, y| x + y),
        DType::Float64,
        5.0,
        "s + constant dense",
    );

    // Operations whose result would be dense: an error by default, naming the switch.
    let (s, xs) = random_sparse(&mut rng, &[3, 4], DType::Float64, 0.3, 0.0, Vals::Wide);
    let xd = random_dense(&mut rng, &[3, 4], DType::Float64, 1.0, 0.0, Vals::Wide);
    let d = buffer_of(&xd, DType::Float64);
    let mut nan_d = xd.clone();
    nan_d.data[5] = f64::NAN; // 0 * NaN = NaN: not one fill value
    let nd = buffer_of(&nan_d, DType::Float64);
    let (si, xsi) = random_sparse(&mut rng, &[2, 3, 4], DType::Int32, 0.3, 0.0, Vals::Wide);
    let xdi = random_dense(&mut rng, &[3, 4], DType::Int64, 0.7, 0.0, Vals::Wide);
    let di = buffer_of(&xdi, DType::Int64);
    let cases: Vec<DensifyCase> = vec![
        (
            &add,
            vec![SparseArg::Sparse(&s), SparseArg::Dense(&d)],
            common::zip2(&xs, &xd, |x, y| x + y),
            DType::Float64,
            "s + dense",
        ),
        (
            &mul,
            vec![SparseArg::Sparse(&s), SparseArg::Dense(&nd)],
            common::zip2(&xs, &nan_d, |x, y| x * y),
            DType::Float64,
            "s * dense with NaN",
        ),
        (
            &add,
            vec![SparseArg::Dense(&di), SparseArg::Sparse(&si)],
            common::zip2(&xdi, &xsi, |x, y| x + y),
            DType::Int64,
            "dense int64 + sparse int32 (broadcast)",
        ),
    ];
    for (f, args, _, _, ctx) in &cases {
        let e = elementwise(f, args).expect_err(ctx);
        let msg = e.to_string();
        assert!(
            msg.contains("set_auto_densify"),
            "{ctx}: message does not say how to allow it: {msg}"
        );
    }
    set_auto_densify(true);
    let xp = xd.map(f64::abs);
    let dp = buffer_of(&xp, DType::Float64);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(auto_densify());
        for (f, args, want, dt, ctx) in &cases {
            match elementwise(f, args).unwrap_or_else(|e| panic!("{ctx}: {e}")) {
                SparseResult::Dense(b) => {
                    assert_eq!(b.dtype(), *dt, "{ctx}: dtype");
                    assert_exact(&values(&b), want, ctx);
                }
                SparseResult::Sparse(_) => panic!("{ctx}: sparse result"),
            }
        }
        // Results that stay sparse are unaffected by the policy.
        let r = expect_sparse(
            elementwise(&mul, &[SparseArg::Sparse(&s), SparseArg::Dense(&dp)]).unwrap(),
            "s * dp",
        );
        check_sparse(
            &r,
            &common::zip2(&xs, &xp, |x, y| x * y),
            DType::Float64,
            0.0,
            "s * d (densify on)",
        );
    }));
    set_auto_densify(false);
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
    assert!(!auto_densify());
    let (f, args, _, _, ctx) = &cases[0];
    assert!(elementwise(f, args).is_err(), "{ctx}: policy restored");
}

/// `0.0 * negative` is `-0.0` in IEEE arithmetic: pydata/sparse compares the candidate fill
/// values with `==` (so -0.0 and 0.0 are one fill) and keeps `sparse * dense` sparse.
/// libdask compares them bitwise (src/sparse/elementwise.rs:147, `constant`), so any negative
/// float in the dense operand makes `s * d` "would densify": an error by default.
#[test]
fn sparse_times_dense_with_negative_values_stays_sparse() {
    let xs = Nd::new(&[2, 3], vec![0.0, 2.0, 0.0, 0.0, 0.0, -1.0]);
    let xd = Nd::new(&[2, 3], vec![-1.0, 3.0, 4.0, -2.0, 1.0, 5.0]);
    let s = sparse_of(&xs, DType::Float64, 0.0);
    let d = buffer_of(&xd, DType::Float64);
    let r = elementwise(
        &uf("multiply"),
        &[SparseArg::Sparse(&s), SparseArg::Dense(&d)],
    )
    .unwrap_or_else(|e| panic!("s * d: {e}"));
    let r = expect_sparse(r, "s * d");
    assert_values(
        &dense_of(&r),
        &common::zip2(&xs, &xd, |x, y| x * y),
        0.0,
        0.0,
        "s * d",
    );
}

// ---- reductions -----------------------------------------------------------------------------

const OPS: [ReduceOp; 8] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Mean,
    ReduceOp::Any,
    ReduceOp::All,
    ReduceOp::CountNonzero,
];

/// NumPy's result dtype of a reduction of `dt`.
fn reduce_out(op: ReduceOp, dt: DType) -> DType {
    match op {
        ReduceOp::Sum | ReduceOp::Prod if !is_float(dt) => DType::Int64,
        ReduceOp::Any | ReduceOp::All => DType::Bool,
        ReduceOp::CountNonzero => DType::Int64,
        ReduceOp::Mean if dt != DType::Float32 => DType::Float64,
        _ => dt,
    }
}

/// The reduction of one group (elements in row-major order): value and absolute tolerance.
fn fold_ref(op: ReduceOp, dt: DType, g: &[f64]) -> (f64, f64) {
    let mag: f64 = g.iter().map(|v| v.abs()).sum();
    let ftol = |scale: f64| match dt {
        DType::Float32 => 1e-5 * scale,
        _ => 1e-12 * scale,
    };
    match op {
        ReduceOp::Sum if !is_float(dt) => (
            g.iter().fold(0i64, |a, &v| a.wrapping_add(v as i64)) as f64,
            0.0,
        ),
        ReduceOp::Sum => (g.iter().sum(), ftol(mag)),
        ReduceOp::Prod if !is_float(dt) => (
            g.iter().fold(1i64, |a, &v| a.wrapping_mul(v as i64)) as f64,
            0.0,
        ),
        ReduceOp::Prod => (repr(dt, g.iter().product()), 0.0),
        ReduceOp::Min | ReduceOp::Max => {
            let nan = g.iter().any(|v| v.is_nan());
            let v = if nan {
                f64::NAN
            } else if op == ReduceOp::Min {
                g.iter().copied().fold(f64::INFINITY, f64::min)
            } else {
                g.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            };
            (v, 0.0)
        }
        ReduceOp::Mean => {
            let n = g.len() as f64;
            let m = g.iter().sum::<f64>() / n;
            (m, ftol(mag / n) + ftol(m.abs()))
        }
        ReduceOp::Any => (g.iter().any(|&v| v != 0.0) as u8 as f64, 0.0),
        ReduceOp::All => (g.iter().all(|&v| v != 0.0) as u8 as f64, 0.0),
        ReduceOp::CountNonzero => (g.iter().filter(|&&v| v != 0.0).count() as f64, 0.0),
        other => panic!("{other:?} not tested"),
    }
}

/// Checks `reduce(s, op, flags)` against the dense reduction of `x`.
fn check_reduce(s: &Coo, x: &Nd<f64>, dt: DType, op: ReduceOp, flags: &[bool], ctx: &str) {
    let out = reduce_out(op, dt);
    let (shape, gs) = common::groups(x, flags, false);
    let want: Vec<(f64, f64)> = gs.iter().map(|g| fold_ref(op, dt, g)).collect();
    let r = reduce(s, op, flags).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let got = match r {
        Reduced::Dense(b) => {
            assert!(flags.iter().all(|&f| f), "{ctx}: dense result");
            assert_eq!(b.dtype(), out, "{ctx}: dtype");
            values(&b)
        }
        Reduced::Sparse(c) => {
            assert!(!flags.iter().all(|&f| f), "{ctx}: sparse 0-d result");
            assert_eq!(c.dtype(), out, "{ctx}: dtype");
            check_canonical(&c, ctx);
            dense_of(&c)
        }
    };
    assert_eq!(got.shape, shape, "{ctx}: shape");
    for (i, (&g, &(w, tol))) in got.data.iter().zip(&want).enumerate() {
        assert!(
            close(g, w, 0.0, tol),
            "{ctx}: element {:?} is {g}, expected {w}",
            unravel(i, &shape)
        );
    }
}

/// All subsets of the axes of an `nd`-d array, as flags (the empty set too).
fn all_axis_sets(nd: usize) -> Vec<Vec<bool>> {
    (0..1usize << nd)
        .map(|m| (0..nd).map(|a| m >> a & 1 == 1).collect())
        .collect()
}

#[test]
fn reductions_match_dense() {
    let mut rng = Rng::new(14);
    for op in OPS {
        for dt in DTYPES {
            let vals = if op == ReduceOp::Prod {
                Vals::Small
            } else {
                Vals::Wide
            };
            let fills = if op == ReduceOp::Prod {
                vec![0.0, repr(dt, -1.0), 1.0]
            } else {
                vec![0.0, other_fill(dt)]
            };
            for density in DENSITIES {
                for &fill in &fills {
                    let shape = any_shape(&mut rng, 4, 1, 5);
                    let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, vals);
                    for flags in all_axis_sets(shape.len()) {
                        let ctx = format!(
                            "{op:?} {} {shape:?} density {density} fill {fill} axes {flags:?}",
                            dt.name()
                        );
                        check_reduce(&s, &x, dt, op, &flags, &ctx);
                    }
                }
            }
        }
    }
}

#[test]
fn sum_of_int32_is_int64_and_wraps_like_numpy() {
    let x = Nd::new(&[3], vec![2_000_000_000.0, 2_000_000_000.0, 0.0]);
    let s = sparse_of(&x, DType::Int32, 0.0);
    match reduce(&s, ReduceOp::Sum, &[true]).unwrap() {
        Reduced::Dense(b) => {
            assert_eq!(b.dtype(), DType::Int64);
            assert_eq!(b.as_slice::<i64>().unwrap(), &[4_000_000_000]);
        }
        Reduced::Sparse(_) => panic!("sparse 0-d"),
    }
    // int64 sums wrap.
    let b = Buffer::from_vec(vec![i64::MAX, 1, 0], &[3]).unwrap();
    let s = Coo::from_dense(&b, Scalar::Int(0)).unwrap();
    match reduce(&s, ReduceOp::Sum, &[true]).unwrap() {
        Reduced::Dense(b) => assert_eq!(b.as_slice::<i64>().unwrap(), &[i64::MIN]),
        Reduced::Sparse(_) => panic!("sparse 0-d"),
    }
    // Non-zero fill: 3 stored + 5 fills of 7 along each row.
    let x = Nd::new(&[2, 4], vec![7.0, 1.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]);
    let s = sparse_of(&x, DType::Int32, 7.0);
    check_reduce(&s, &x, DType::Int32, ReduceOp::Sum, &[false, true], "rows");
    check_reduce(&s, &x, DType::Int32, ReduceOp::Sum, &[true, true], "all");
}

#[test]
fn min_max_of_empty_reductions_are_errors() {
    for dt in DTYPES {
        let x = Nd::new(&[3, 0, 2], vec![]);
        let s = sparse_of(&x, dt, 0.0);
        for op in [ReduceOp::Min, ReduceOp::Max] {
            for flags in [
                [false, true, false],
                [true, true, true],
                [false, true, true],
            ] {
                let e = reduce(&s, op, &flags);
                assert!(
                    e.is_err(),
                    "{op:?} {} over {flags:?} of (3, 0, 2)",
                    dt.name()
                );
                let msg = e.unwrap_err().to_string();
                assert!(msg.contains("identity"), "unclear message: {msg}");
            }
            // Reducing a non-empty axis of an empty array is fine (an empty result).
            let ctx = format!("{op:?} {} axis 0 of (3, 0, 2)", dt.name());
            check_reduce(&s, &x, dt, op, &[true, false, false], &ctx);
        }
    }
}

/// Reductions with an identity over a zero-length axis give the identity (NumPy: sum 0,
/// any False, count_nonzero 0, mean NaN).
#[test]
fn reductions_over_zero_length_axes_give_the_identity() {
    zero_length_reductions(&[
        ReduceOp::Sum,
        ReduceOp::Any,
        ReduceOp::CountNonzero,
        ReduceOp::Mean,
    ]);
}

/// NumPy: `np.prod(np.zeros((3, 0, 2)), axis=1)` is all ones and `np.all` of nothing is True.
/// Reproduction: `reduce(&Coo::from_dense(&Buffer::from_vec(Vec::<f64>::new(), &[3, 0])?,
/// Scalar::Float(0.0))?, ReduceOp::Prod, &[false, true])` gives a sparse array with fill 0
/// (dense [0, 0, 0], expected [1, 1, 1]); over all axes the 0-d result is 0; `All` gives
/// false. Cause: src/sparse/reduce.rs `reduce_typed` uses `T::default()` as the new fill (and
/// the 0-d value) when the reduced size `m` is 0 (reduce.rs:133), instead of the operation's
/// identity.
#[test]
fn prod_and_all_over_zero_length_axes_give_the_identity() {
    zero_length_reductions(&[ReduceOp::Prod, ReduceOp::All]);
}

fn zero_length_reductions(ops: &[ReduceOp]) {
    for dt in DTYPES {
        for fill in [0.0, other_fill(dt)] {
            let x = Nd::new(&[3, 0, 2], vec![]);
            let s = sparse_of(&x, dt, fill);
            for &op in ops {
                for flags in [
                    [false, true, false],
                    [true, true, true],
                    [false, true, true],
                ] {
                    let ctx = format!("{op:?} {} fill {fill} axes {flags:?}", dt.name());
                    check_reduce(&s, &x, dt, op, &flags, &ctx);
                }
            }
        }
    }
}

#[test]
fn reductions_with_nan() {
    // NaN stored: min, max, sum, mean propagate it; any/all/count_nonzero count it as true.
    let x = Nd::new(&[2, 3], vec![0.0, f64::NAN, 0.0, 2.0, 0.0, -1.0]);
    let s = sparse_of(&x, DType::Float64, 0.0);
    for op in OPS {
        for flags in all_axis_sets(2) {
            check_reduce(
                &s,
                &x,
                DType::Float64,
                op,
                &flags,
                &format!("{op:?} {flags:?}"),
            );
        }
    }
    // NaN fill.
    let x = Nd::new(&[2, 3], vec![f64::NAN, 1.0, f64::NAN, 2.0, 3.0, 4.0]);
    let s = sparse_of(&x, DType::Float64, f64::NAN);
    assert_eq!(s.nnz(), 4);
    for op in OPS {
        for flags in all_axis_sets(2) {
            check_reduce(
                &s,
                &x,
                DType::Float64,
                op,
                &flags,
                &format!("NaN fill {op:?} {flags:?}"),
            );
        }
    }
}

#[test]
fn reduce_rejects_wrong_flag_counts() {
    let s = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64, 0.0);
    assert!(reduce(&s, ReduceOp::Sum, &[true]).is_err());
    assert!(reduce(&s, ReduceOp::Sum, &[true, false, true]).is_err());
}

// ---- tensordot / matmul ---------------------------------------------------------------------

fn dot_values(r: DotResult, want_sparse: bool, ctx: &str) -> (DType, Nd<f64>) {
    match r {
        DotResult::Sparse(c) => {
            assert!(want_sparse, "{ctx}: sparse result, expected dense");
            check_canonical(&c, ctx);
            assert_eq!(c.fill_value().as_f64(), 0.0, "{ctx}: fill");
            (c.dtype(), dense_of(&c))
        }
        DotResult::Dense(b) => {
            assert!(!want_sparse, "{ctx}: dense result, expected sparse");
            (b.dtype(), values(&b))
        }
    }
}

/// tensordot of `a` and `b` in every operand/return combination, against the dense reference.
fn check_tensordot(
    (sa, xa, da): (&Coo, &Nd<f64>, DType),
    (sb, xb, db): (&Coo, &Nd<f64>, DType),
    axes_a: &[usize],
    axes_b: &[usize],
    ctx: &str,
) {
    let out = promote(da, db);
    let want = tensordot_ref(xa, xb, axes_a, axes_b).map(|v| repr(out, v));
    let scale = tensordot_ref(&xa.map(f64::abs), &xb.map(f64::abs), axes_a, axes_b);
    let (rtol, atol_k) = match out {
        DType::Float32 => (0.0, 1e-6),
        DType::Float64 => (0.0, 1e-14),
        _ => (0.0, 0.0),
    };
    let ba = buffer_of(xa, da);
    let bb = buffer_of(xb, db);
    let operands: [(DotArg, DotArg, bool, &str); 3] = [
        (
            DotArg::Sparse(sa),
            DotArg::Sparse(sb),
            true,
            "sparse x sparse",
        ),
        (
            DotArg::Sparse(sa),
            DotArg::Dense(&bb),
            false,
            "sparse x dense",
        ),
        (
            DotArg::Dense(&ba),
            DotArg::Sparse(sb),
            false,
            "dense x sparse",
        ),
    ];
    for (a, b, auto_sparse, what) in &operands {
        for rt in [ReturnType::Auto, ReturnType::Sparse, ReturnType::Dense] {
            let ctx = format!("{ctx} {what} {rt:?}");
            let want_sparse = match rt {
                ReturnType::Auto => *auto_sparse,
                ReturnType::Sparse => true,
                ReturnType::Dense => false,
            };
            let r = tensordot(a, b, axes_a, axes_b, rt).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let (dtype, got) = dot_values(r, want_sparse, &ctx);
            assert_eq!(dtype, out, "{ctx}: dtype");
            assert_eq!(got.shape, want.shape, "{ctx}: shape");
            for (i, ((&g, &w), &m)) in got.data.iter().zip(&want.data).zip(&scale.data).enumerate()
            {
                assert!(
                    close(g, w, rtol, atol_k * m),
                    "{ctx}: element {:?} is {g}, expected {w}",
                    unravel(i, &got.shape)
                );
            }
        }
    }
}

#[test]
fn tensordot_3d_contracting_two_swapped_axes() {
    let mut rng = Rng::new(15);
    for da in DTYPES {
        for db in [da, DType::Float64, DType::Int32] {
            for density in DENSITIES {
                // a: (p, q, r), b: (r, s, q); contract a's (1, 2) with b's (2, 0).
                let (p, q, r, t) = (
                    1 + rng.below(4),
                    1 + rng.below(4),
                    1 + rng.below(4),
                    1 + rng.below(4),
                );
                let (sa, xa) = random_sparse(&mut rng, &[p, q, r], da, density, 0.0, Vals::Wide);
                let dens_b = DENSITIES[rng.below(5)];
                let (sb, xb) = random_sparse(&mut rng, &[r, t, q], db, dens_b, 0.0, Vals::Wide);
                let ctx = format!(
                    "{} ({p},{q},{r}) density {density} . {} ({r},{t},{q}) density {dens_b}",
                    da.name(),
                    db.name()
                );
                check_tensordot((&sa, &xa, da), (&sb, &xb, db), &[1, 2], &[2, 0], &ctx);
            }
        }
    }
}

/// Shapes of a and b, then their contracted axes.
type DotCase = (
    &'static [usize],
    &'static [usize],
    &'static [usize],
    &'static [usize],
);

#[test]
fn tensordot_various_axes() {
    let mut rng = Rng::new(16);
    let cases: [DotCase; 9] = [
        (&[2, 0], &[0, 3], &[1], &[0]),
        (&[0, 3], &[3, 2], &[1], &[0]),
        (&[3, 4], &[4, 5], &[1], &[0]),
        (&[3, 4], &[5, 4], &[1], &[1]),
        (&[2, 3, 4], &[4, 3, 2], &[0, 1, 2], &[2, 1, 0]),
        (&[2, 3, 4], &[3], &[1], &[0]),
        (&[4], &[4], &[0], &[0]),
        (&[2, 3], &[4, 5], &[], &[]),
        (&[2, 3, 2, 3], &[3, 2, 5], &[3, 2], &[0, 1]),
    ];
    for (sha, shb, axa, axb) in cases {
        for dt in [DType::Float64, DType::Int64, DType::Bool, DType::Float32] {
            let (sa, xa) = random_sparse(&mut rng, sha, dt, 0.4, 0.0, Vals::Wide);
            let (sb, xb) = random_sparse(&mut rng, shb, dt, 0.4, 0.0, Vals::Wide);
            let ctx = format!("{} {sha:?}{axa:?} . {shb:?}{axb:?}", dt.name());
            check_tensordot((&sa, &xa, dt), (&sb, &xb, dt), axa, axb, &ctx);
        }
    }
}

#[test]
fn tensordot_drops_cancelled_entries() {
    // [[1, 1]] @ [[1], [-1]] = [[0]]: the computed zero is not stored.
    let a = sparse_of(&Nd::new(&[1, 2], vec![1.0, 1.0]), DType::Float64, 0.0);
    let b = sparse_of(&Nd::new(&[2, 1], vec![1.0, -1.0]), DType::Float64, 0.0);
    match matmul(&DotArg::Sparse(&a), &DotArg::Sparse(&b), ReturnType::Auto).unwrap() {
        DotResult::Sparse(c) => {
            check_canonical(&c, "cancelled");
            assert_eq!(c.nnz(), 0);
            assert_eq!(c.shape(), &[1, 1]);
        }
        DotResult::Dense(_) => panic!("dense"),
    }
}

#[test]
fn matmul_2d_and_1d() {
    let mut rng = Rng::new(17);
    for dt in DTYPES {
        for density in DENSITIES {
            let (m, k, n) = (1 + rng.below(5), 1 + rng.below(5), 1 + rng.below(5));
            let (sa, xa) = random_sparse(&mut rng, &[m, k], dt, density, 0.0, Vals::Wide);
            let (sb, xb) = random_sparse(&mut rng, &[k, n], dt, 0.5, 0.0, Vals::Wide);
            let (sv, xv) = random_sparse(&mut rng, &[k], dt, 0.5, 0.0, Vals::Wide);
            let ctx = format!("{} ({m},{k}) density {density}", dt.name());
            let tol = if dt == DType::Float32 { 1e-6 } else { 1e-14 };
            for (b, xb, what) in [(&sb, &xb, "@ (k, n)"), (&sv, &xv, "@ (k,)")] {
                let want = tensordot_ref(&xa, xb, &[1], &[0]).map(|v| repr(dt, v));
                let r = matmul(&DotArg::Sparse(&sa), &DotArg::Sparse(b), ReturnType::Auto)
                    .unwrap_or_else(|e| panic!("{ctx} {what}: {e}"));
                let (dtype, got) = dot_values(r, true, &ctx);
                assert_eq!(dtype, dt, "{ctx} {what}");
                assert_values(&got, &want, tol, tol, &format!("{ctx} {what}"));
                let bd = buffer_of(xb, dt);
                let r = matmul(&DotArg::Sparse(&sa), &DotArg::Dense(&bd), ReturnType::Auto)
                    .unwrap_or_else(|e| panic!("{ctx} {what} dense: {e}"));
                let (_, got) = dot_values(r, false, &ctx);
                assert_values(&got, &want, tol, tol, &format!("{ctx} {what} dense"));
            }
            // 1-d @ 1-d: a 0-d result.
            let want = tensordot_ref(&xv, &xv, &[0], &[0]).map(|v| repr(dt, v));
            let r = matmul(&DotArg::Sparse(&sv), &DotArg::Sparse(&sv), ReturnType::Auto).unwrap();
            let (_, got) = dot_values(r, true, &ctx);
            assert_values(&got, &want, tol, tol, &format!("{ctx} (k,) @ (k,)"));
            // 1-d @ 2-d.
            let (su, xu) = random_sparse(&mut rng, &[m], dt, 0.5, 0.0, Vals::Wide);
            let want = tensordot_ref(&xu, &xa, &[0], &[0]).map(|v| repr(dt, v));
            let r = matmul(
                &DotArg::Sparse(&su),
                &DotArg::Sparse(&sa),
                ReturnType::Dense,
            )
            .unwrap();
            let (_, got) = dot_values(r, false, &ctx);
            assert_values(&got, &want, tol, tol, &format!("{ctx} (m,) @"));
        }
    }
    // 3-d operands are refused.
    let s3 = sparse_of(&Nd::new(&[2, 2, 2], vec![1.0; 8]), DType::Float64, 0.0);
    assert!(matmul(&DotArg::Sparse(&s3), &DotArg::Sparse(&s3), ReturnType::Auto).is_err());
}

#[test]
fn tensordot_errors() {
    let a = sparse_of(
        &Nd::new(&[2, 3], vec![1.0, 0.0, 2.0, 0.0, 0.0, 3.0]),
        DType::Float64,
        0.0,
    );
    let b = sparse_of(
        &Nd::new(&[3, 2], vec![1.0, 0.0, 2.0, 0.0, 0.0, 3.0]),
        DType::Float64,
        0.0,
    );
    let (da, db) = (DotArg::Sparse(&a), DotArg::Sparse(&b));
    // A non-zero fill value.
    let f1 = sparse_of(
        &Nd::new(&[3, 2], vec![1.0, 0.0, 1.0, 1.0, 1.0, 3.0]),
        DType::Float64,
        1.0,
    );
    for (x, y, axx, axy) in [
        (DotArg::Sparse(&a), DotArg::Sparse(&f1), [1], [0]),
        (DotArg::Sparse(&f1), DotArg::Sparse(&a), [0], [1]),
    ] {
        let e = tensordot(&x, &y, &axx, &axy, ReturnType::Auto).unwrap_err();
        assert!(e.to_string().contains("fill"), "unclear error: {e}");
    }
    let bd = buffer_of(&Nd::new(&[3, 2], vec![1.0; 6]), DType::Float64);
    let e = tensordot(
        &DotArg::Sparse(&f1),
        &DotArg::Dense(&bd),
        &[0],
        &[0],
        ReturnType::Auto,
    )
    .unwrap_err();
    assert!(e.to_string().contains("fill"), "unclear error: {e}");
    // Mismatched axes.
    assert!(
        tensordot(&da, &db, &[1], &[1], ReturnType::Auto).is_err(),
        "lengths 3 and 2"
    );
    assert!(
        tensordot(&da, &db, &[1, 0], &[0], ReturnType::Auto).is_err(),
        "2 axes and 1"
    );
    assert!(
        tensordot(&da, &db, &[2], &[0], ReturnType::Auto).is_err(),
        "axis 2 of a 2-d"
    );
    assert!(
        tensordot(&da, &db, &[1], &[5], ReturnType::Auto).is_err(),
        "axis 5 of a 2-d"
    );
    assert!(matmul(&db, &db, ReturnType::Auto).is_err(), "(3,2) @ (3,2)");
    // Two dense operands are not a sparse tensordot.
    let ad = buffer_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64);
    assert!(tensordot(
        &DotArg::Dense(&ad),
        &DotArg::Dense(&bd),
        &[1],
        &[0],
        ReturnType::Auto
    )
    .is_err());
}

// ---- restructuring --------------------------------------------------------------------------

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..n {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn transpose_every_permutation() {
    let mut rng = Rng::new(18);
    for ndim in 1..=4 {
        for perm in permutations(ndim) {
            for dt in DTYPES {
                let density = DENSITIES[rng.below(5)];
                let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
                let shape = random_shape(&mut rng, ndim, 1, 5);
                let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
                let ctx = format!("{} {shape:?} perm {perm:?}", dt.name());
                let t = s.transpose(&perm).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                check_sparse(&t, &transpose_ref(&x, &perm), dt, fill, &ctx);
            }
        }
    }
    let s = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64, 0.0);
    for bad in [&[0, 0][..], &[0][..], &[0, 1, 2][..], &[1, 2][..]] {
        assert!(s.transpose(bad).is_err(), "{bad:?}");
    }
}

/// A random shape with `n` elements and `parts` axes.
fn random_factorization(rng: &mut Rng, n: usize, parts: usize) -> Vec<usize> {
    let mut left = n;
    let mut out = Vec::new();
    for _ in 1..parts {
        let divisors: Vec<usize> = (1..=left).filter(|d| left.is_multiple_of(*d)).collect();
        let d = divisors[rng.below(divisors.len())];
        out.push(d);
        left /= d;
    }
    out.push(left);
    out
}

#[test]
fn reshape_matches_row_major_order() {
    let mut rng = Rng::new(19);
    for dt in DTYPES {
        for density in DENSITIES {
            let ndim = 1 + rng.below(4);
            let shape = random_shape(&mut rng, ndim, 1, 5);
            let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
            let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
            let n = size(&shape);
            for parts in 1..=5 {
                let to = random_factorization(&mut rng, n, parts);
                let ctx = format!("{} {shape:?} -> {to:?}", dt.name());
                let r = s.reshape(&to).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                check_sparse(&r, &Nd::new(&to, x.data.clone()), dt, fill, &ctx);
            }
            let mut bigger = shape.clone();
            bigger[0] += 1;
            assert!(s.reshape(&bigger).is_err(), "{shape:?} -> {bigger:?}");
        }
    }
    let s = sparse_of(&Nd::new(&[0, 3], vec![]), DType::Float64, 0.0);
    check_sparse(
        &s.reshape(&[3, 0, 2]).unwrap(),
        &Nd::new(&[3, 0, 2], vec![]),
        DType::Float64,
        0.0,
        "empty",
    );
}

/// A random Python index for an axis of length `n`: a slice (positive or negative step, bounds
/// possibly negative or out of range) or a single position.
fn random_index(rng: &mut Rng, n: usize) -> Index {
    let bound = |rng: &mut Rng| -> Option<i64> {
        if rng.coin(0.25) {
            None
        } else {
            Some(rng.int(-(n as i64) - 2, n as i64 + 2))
        }
    };
    match rng.below(5) {
        0 => Index::ALL,
        1 | 2 => {
            let (a, b) = (bound(rng), bound(rng));
            Index::Slice(a, b, rng.int(1, 3))
        }
        3 => {
            let (a, b) = (bound(rng), bound(rng));
            Index::Slice(a, b, -rng.int(1, 3))
        }
        _ if n > 0 => Index::At(rng.int(-(n as i64), n as i64 - 1)),
        _ => Index::ALL,
    }
}

/// The (start, step, len) triples and dropped axes of a Python index, resolved as NumPy does.
fn resolve(index: &[Index], shape: &[usize]) -> (Vec<(usize, isize, usize)>, Vec<usize>) {
    let mut sel = Vec::new();
    let mut drop = Vec::new();
    for (a, (ix, &n)) in index.iter().zip(shape).enumerate() {
        match *ix {
            Index::Slice(start, stop, step) => {
                let picked = python_slice(n, start, stop, step);
                let first = picked.first().copied().unwrap_or(0);
                sel.push((first, step as isize, picked.len()));
            }
            Index::At(i) => {
                let j = if i < 0 { i + n as i64 } else { i } as usize;
                sel.push((j, 1, 1));
                drop.push(a);
            }
            Index::NewAxis => unreachable!(),
        }
    }
    (sel, drop)
}

#[test]
fn slicing_matches_python_slices() {
    let mut rng = Rng::new(20);
    for dt in DTYPES {
        for density in DENSITIES {
            for _ in 0..12 {
                let ndim = 1 + rng.below(4);
                let shape = random_shape(&mut rng, ndim, 1, 6);
                let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
                let (s, x) = random_sparse(&mut rng, &shape, dt, density, fill, Vals::Wide);
                let index: Vec<Index> = shape.iter().map(|&n| random_index(&mut rng, n)).collect();
                let (sel, drop) = resolve(&index, &shape);
                let ctx = format!(
                    "{} {shape:?} [{index:?}] = {sel:?} drop {drop:?}",
                    dt.name()
                );
                let want = slice_ref(&x, &index).expect("valid index");
                let r = s
                    .slice(&sel, &drop)
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                check_sparse(&r, &want, dt, fill, &ctx);
            }
        }
    }
}

#[test]
fn slicing_fixed_cases() {
    let x = Nd::from_fn(&[4, 5], |i| {
        if (i[0] + i[1]) % 3 == 0 {
            0.0
        } else {
            (10 * i[0] + i[1]) as f64
        }
    });
    let s = sparse_of(&x, DType::Float64, 0.0);
    let cases: Vec<Vec<Index>> = vec![
        vec![Index::Slice(None, None, -1), Index::Slice(None, None, -1)],
        vec![Index::At(-1), Index::Slice(Some(4), Some(0), -2)],
        vec![Index::Slice(Some(1), Some(3), 1), Index::At(2)],
        vec![Index::At(0), Index::At(-1)],
        vec![Index::Slice(Some(3), Some(3), 1), Index::ALL],
        vec![Index::Slice(Some(-2), None, 1), Index::Slice(None, None, 2)],
    ];
    for index in cases {
        let (sel, drop) = resolve(&index, &[4, 5]);
        let want = slice_ref(&x, &index).unwrap();
        let r = s.slice(&sel, &drop).unwrap();
        check_sparse(&r, &want, DType::Float64, 0.0, &format!("{index:?}"));
    }
    assert!(s.slice(&[(0, 1, 4)], &[]).is_err(), "rank");
}

#[test]
fn concatenate_and_stack_match_dense() {
    let mut rng = Rng::new(21);
    for dt in DTYPES {
        for density in DENSITIES {
            let ndim = 1 + rng.below(4);
            let shape = random_shape(&mut rng, ndim, 1, 4);
            let fill = if rng.coin(0.5) { 0.0 } else { other_fill(dt) };
            let axis = rng.below(ndim);
            let nparts = 1 + rng.below(4);
            let mut parts = Vec::new();
            for _ in 0..nparts {
                let mut sh = shape.clone();
                sh[axis] = rng.below(4); // zero-length parts too
                parts.push(random_sparse(&mut rng, &sh, dt, density, fill, Vals::Wide));
            }
            let refs: Vec<&Coo> = parts.iter().map(|p| &p.0).collect();
            let xs: Vec<Nd<f64>> = parts.iter().map(|p| p.1.clone()).collect();
            let ctx = format!("{} concatenate {nparts} x {shape:?} axis {axis}", dt.name());
            let c = Coo::concatenate(&refs, axis).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            check_sparse(&c, &concat_ref(&xs, axis), dt, fill, &ctx);

            // stack: equal shapes, new axis anywhere in 0..=ndim.
            let mut parts = Vec::new();
            for _ in 0..nparts {
                parts.push(random_sparse(
                    &mut rng,
                    &shape,
                    dt,
                    density,
                    fill,
                    Vals::Wide,
                ));
            }
            for axis in 0..=ndim {
                let refs: Vec<&Coo> = parts.iter().map(|p| &p.0).collect();
                let expanded: Vec<Nd<f64>> = parts
                    .iter()
                    .map(|p| {
                        let mut sh = shape.clone();
                        sh.insert(axis, 1);
                        Nd::new(&sh, p.1.data.clone())
                    })
                    .collect();
                let ctx = format!("{} stack {nparts} x {shape:?} axis {axis}", dt.name());
                let c = Coo::stack(&refs, axis).unwrap_or_else(|e| panic!("{ctx}: {e}"));
                check_sparse(&c, &concat_ref(&expanded, axis), dt, fill, &ctx);
            }
            let refs: Vec<&Coo> = parts.iter().map(|p| &p.0).collect();
            assert!(Coo::stack(&refs, ndim + 1).is_err());
            assert!(Coo::concatenate(&refs, ndim).is_err());
        }
    }
}

#[test]
fn concatenate_errors() {
    let a = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64, 0.0);
    let b = sparse_of(&Nd::new(&[2, 4], vec![1.0; 8]), DType::Float64, 0.0);
    let c = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float64, 1.0);
    let d = sparse_of(&Nd::new(&[2, 3], vec![1.0; 6]), DType::Float32, 0.0);
    let e = sparse_of(&Nd::new(&[6], vec![1.0; 6]), DType::Float64, 0.0);
    assert!(Coo::concatenate(&[&a, &b], 1).is_ok());
    assert!(
        Coo::concatenate(&[&a, &b], 0).is_err(),
        "shapes differ off-axis"
    );
    assert!(
        Coo::concatenate(&[&a, &c], 0).is_err(),
        "fill values differ"
    );
    // Dtypes promote together (NumPy's result_type), as pydata/sparse does.
    let ad = Coo::concatenate(&[&a, &d], 0).expect("float64 and float32 join");
    assert_eq!(ad.dtype(), DType::Float64);
    assert_eq!(dense_of(&ad).data, vec![1.0; 12]);
    assert!(Coo::concatenate(&[&a, &e], 0).is_err(), "ranks differ");
    assert!(Coo::concatenate(&[], 0).is_err(), "nothing");
    assert!(
        Coo::stack(&[&a, &b], 0).is_err(),
        "stack of different shapes"
    );
    assert!(Coo::stack(&[], 0).is_err(), "nothing");
}

/// A dense operand with no elements: the candidate fill values form an empty buffer, and
/// src/sparse/elementwise.rs reads element 0 of it (`elem(&fills, 0)`): a segmentation fault,
/// (elementwise.rs:146), which kills the whole test binary. NumPy gives an empty (0, 3) result.
/// Reproduction: `elementwise(&ufunc("add")?, &[SparseArg::Sparse(&Coo::from_dense(&Buffer::from_vec(
/// Vec::<f64>::new(), &[0, 3])?, Scalar::Float(0.0))?), SparseArg::Dense(&Buffer::from_vec(
/// Vec::<f64>::new(), &[0, 3])?)])`.
#[test]
fn sparse_with_zero_size_dense_operand() {
    let empty = Nd::new(&[0, 3], vec![]);
    let s = sparse_of(&empty, DType::Float64, 0.0);
    let d = buffer_of(&empty, DType::Float64);
    let r = elementwise(&uf("add"), &[SparseArg::Sparse(&s), SparseArg::Dense(&d)]).unwrap();
    let r = expect_sparse(r, "(0, 3) + dense (0, 3)");
    assert_eq!(r.shape(), &[0, 3]);
    assert_eq!(r.nnz(), 0);
    // A sparse (3,) broadcast against a dense (0, 3).
    let (s, _) = random_sparse(
        &mut Rng::new(30),
        &[3],
        DType::Float64,
        1.0,
        0.0,
        Vals::Wide,
    );
    let r = elementwise(
        &uf("multiply"),
        &[SparseArg::Sparse(&s), SparseArg::Dense(&d)],
    )
    .unwrap();
    let r = expect_sparse(r, "(3,) * dense (0, 3)");
    assert_eq!(r.shape(), &[0, 3]);
    assert_eq!(r.nnz(), 0);
}

/// `slice` trusts its (start, step, len) triples: a zero step panics ("attempt to calculate the
/// remainder with a divisor of zero", src/sparse/coo.rs:315), and selections that leave
/// the axis, dropped axes of length other than 1 and dropped axes past the rank are accepted.
/// Reproduction: `Coo::from_dense(&Buffer::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?,
/// Scalar::Float(0.0))?.slice(&[(0, 0, 2)], &[])` panics; `.slice(&[(1, 1, 5)], &[])` returns a
/// (5,) array.
#[test]
fn slice_rejects_invalid_selections() {
    let s = sparse_of(&Nd::new(&[3], vec![1.0, 2.0, 3.0]), DType::Float64, 0.0);
    let step0 = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s.slice(&[(0, 0, 2)], &[]).is_err()
    }));
    assert!(matches!(step0, Ok(true)), "step 0: no error");
    assert!(
        s.slice(&[(1, 1, 5)], &[]).is_err(),
        "elements 1..6 of a length-3 axis"
    );
    assert!(s.slice(&[(7, 1, 2)], &[]).is_err(), "start past the end");
    assert!(s.slice(&[(2, -1, 4)], &[]).is_err(), "2, 1, 0, -1");
    assert!(
        s.slice(&[(0, 1, 2)], &[0]).is_err(),
        "dropped axis of length 2"
    );
    assert!(
        s.slice(&[(0, 1, 2)], &[3]).is_err(),
        "dropped axis 3 of a 1-d array"
    );
}

/// Strided and reversed dense buffers (views) as inputs.
#[test]
fn non_contiguous_dense_operands() {
    let mut rng = Rng::new(31);
    for dt in DTYPES {
        let isz = dt.itemsize() as isize;
        let x = random_dense(&mut rng, &[4, 3], dt, 0.5, 0.0, Vals::Wide);
        let b = buffer_of(&x, dt);
        // The transpose (3, 4) and the reversed rows (4, 3) as views.
        let xt = transpose_ref(&x, &[1, 0]);
        let bt = b.view(&[3, 4], &[isz, 3 * isz], 0).unwrap();
        let xr = Nd::from_fn(&[4, 3], |i| x.at(&[3 - i[0], i[1]]));
        let br = b.view(&[4, 3], &[-3 * isz, isz], 9 * isz).unwrap();
        for (view, want, what) in [(&bt, &xt, "transposed"), (&br, &xr, "reversed")] {
            let ctx = format!("{} {what}", dt.name());
            assert_exact(&values(view), want, &ctx);
            let s = Coo::from_dense(view, scalar_of(dt, 0.0)).unwrap();
            check_sparse(&s, want, dt, 0.0, &ctx);
            // As the dense operand of a product (values kept non-negative for floats).
            let (sp, xs) = random_sparse(&mut rng, &want.shape, dt, 0.5, 0.0, Vals::Wide);
            // For floats, the same layout over |values| + 1 (so that 0 * d stays +0).
            let pos_view;
            let (dense, xd) = if is_float(dt) {
                let xp = want.map(|v| repr(dt, v.abs() + 1.0));
                pos_view = if what == "transposed" {
                    buffer_of(&transpose_ref(&xp, &[1, 0]), dt)
                        .view(&[3, 4], &[isz, 3 * isz], 0)
                        .unwrap()
                } else {
                    let rows = Nd::from_fn(&[4, 3], |i| xp.at(&[3 - i[0], i[1]]));
                    buffer_of(&rows, dt)
                        .view(&[4, 3], &[-3 * isz, isz], 9 * isz)
                        .unwrap()
                };
                assert_exact(&values(&pos_view), &xp, &ctx);
                (&pos_view, xp)
            } else {
                (view, want.clone())
            };
            let r = expect_sparse(
                elementwise(
                    &uf("multiply"),
                    &[SparseArg::Sparse(&sp), SparseArg::Dense(dense)],
                )
                .unwrap_or_else(|e| panic!("{ctx}: {e}")),
                &ctx,
            );
            check_sparse(
                &r,
                &common::zip2(&xs, &xd, |a, b| repr(dt, a * b)),
                dt,
                0.0,
                &ctx,
            );
            // As a tensordot operand.
            let (sq, xq) = random_sparse(&mut rng, &[want.shape[1], 2], dt, 0.5, 0.0, Vals::Wide);
            let r = tensordot(
                &DotArg::Dense(dense),
                &DotArg::Sparse(&sq),
                &[1],
                &[0],
                ReturnType::Auto,
            )
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let (_, got) = dot_values(r, false, &ctx);
            let wantd = tensordot_ref(&xd, &xq, &[1], &[0]).map(|v| repr(dt, v));
            assert_values(&got, &wantd, 1e-6, 1e-6, &ctx);
        }
    }
}

// ---- issue 16: pydata/sparse's answers at the edges -------------------------------------------

#[test]
fn zero_d_operands_with_and_without_their_element_stored() {
    let add = ufunc("add").unwrap();
    let empty = Coo::from_dense(
        &Buffer::from_vec(vec![0.0f64], &[]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap();
    let two = Coo::from_dense(
        &Buffer::from_vec(vec![2.0f64], &[]).unwrap(),
        Scalar::Float(0.0),
    )
    .unwrap();
    assert_eq!((empty.nnz(), two.nnz()), (0, 1));
    for (a, b) in [
        (&empty, &two),
        (&two, &empty),
        (&two, &two),
        (&empty, &empty),
    ] {
        let want = dense_of(a).data[0] + dense_of(b).data[0];
        let SparseResult::Sparse(r) =
            elementwise(&add, &[SparseArg::Sparse(a), SparseArg::Sparse(b)]).unwrap()
        else {
            panic!("sparse + sparse is sparse");
        };
        assert_eq!(dense_of(&r).data, vec![want]);
    }
}

#[test]
fn variance_and_standard_deviation_count_the_fill() {
    let mut rng = Rng::new(16);
    for &fill in &[0.0, 1.5] {
        for case in 0..6 {
            let shape = random_shape(&mut rng, 1 + case % 3, 1, 5);
            let data: Vec<f64> = (0..size(&shape))
                .map(|_| {
                    if rng.coin(0.6) {
                        fill
                    } else {
                        rng.int(-4, 4) as f64 * 0.5
                    }
                })
                .collect();
            let x = Nd::new(&shape, data);
            let s = sparse_of(&x, DType::Float64, fill);
            let nd = shape.len();
            for axes in [None, Some(vec![0]), Some(vec![nd - 1])] {
                let flags: Vec<bool> = (0..nd)
                    .map(|a| axes.as_ref().is_none_or(|v| v.contains(&a)))
                    .collect();
                for ddof in [0.0, 1.0] {
                    let var = reduce(&s, ReduceOp::Var { ddof }, &flags).unwrap();
                    let std = reduce(&s, ReduceOp::Std { ddof }, &flags).unwrap();
                    let got = |r: Reduced| match r {
                        Reduced::Dense(b) => values(&b),
                        Reduced::Sparse(c) => dense_of(&c),
                    };
                    let (gv, gs) = (got(var), got(std));
                    // Naive: for each output position, the reduced elements' variance.
                    let out_shape: Vec<usize> =
                        (0..nd).filter(|&a| !flags[a]).map(|a| shape[a]).collect();
                    let want = Nd::from_fn(&out_shape, |o| {
                        let mut vals = Vec::new();
                        for i in 0..size(&shape) {
                            let idx = unravel(i, &shape);
                            let kept: Vec<usize> =
                                (0..nd).filter(|&a| !flags[a]).map(|a| idx[a]).collect();
                            if kept == o {
                                vals.push(x.data[i]);
                            }
                        }
                        let n = vals.len() as f64;
                        let mean = vals.iter().sum::<f64>() / n;
                        vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - ddof)
                    });
                    let ctx = format!("shape {shape:?} axes {axes:?} fill {fill} ddof {ddof}");
                    for (k, &w) in want.data.iter().enumerate() {
                        let (v, sd) = (gv.data[k], gs.data[k]);
                        assert!(
                            (v.is_nan() && w.is_nan()) || close(v, w, 1e-12, 1e-12),
                            "var {ctx}: {v} vs {w}"
                        );
                        assert!(
                            (sd.is_nan() && w.is_nan()) || close(sd, w.sqrt(), 1e-12, 1e-12),
                            "std {ctx}: {sd} vs {}",
                            w.sqrt()
                        );
                    }
                }
            }
        }
    }
}
