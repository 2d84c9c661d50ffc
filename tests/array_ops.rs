//! Elementwise operations, creation routines, random arrays, casting, `where`, masked
//! assignment and fusion, each checked against a plain dense evaluation on random shapes and
//! chunkings.

mod common;

use common::*;
use dask::array::{Array, ChunkSpec, Operand, ReduceOp, Scalar};
use dask::ufunc::loops::B8;
use dask::{Buffer, DType};

const F64: DType = DType::Float64;

/// A random shape (1 to 3 axes, lengths 0 to `hi`, mostly non-empty) and a random chunking.
fn shape_and_chunks(rng: &mut Rng, hi: usize) -> (Vec<usize>, ChunkSpec) {
    let nd = 1 + rng.below(3);
    let lo = if rng.coin(0.15) { 0 } else { 1 };
    let shape = random_shape(rng, nd, lo, hi);
    let chunks = if rng.coin(0.5) {
        random_chunks(rng, &shape)
    } else {
        random_regular(rng, &shape)
    };
    (shape, chunks)
}

/// Two shapes that broadcast together: a common output shape, each operand dropping some
/// leading axes and setting some lengths to 1.
fn broadcast_pair(rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let nd = 1 + rng.below(3);
    let lo = if rng.coin(0.1) { 0 } else { 1 };
    let out = random_shape(rng, nd, lo, 5);
    let one = |rng: &mut Rng| -> Vec<usize> {
        let drop = rng.below(nd + 1);
        out[drop..]
            .iter()
            .map(|&n| if rng.coin(0.3) { 1 } else { n })
            .collect()
    };
    (one(rng), one(rng))
}

// ---- unary ufuncs ---------------------------------------------------------------------------

type F = fn(f64) -> f64;

/// (name, reference, domain) of the float ufuncs with one input.
const UNARY: &[(&str, F, f64, f64)] = &[
    ("exp", f64::exp, -3.0, 3.0),
    ("expm1", f64::exp_m1, -3.0, 3.0),
    ("log", f64::ln, 0.01, 10.0),
    ("log1p", f64::ln_1p, -0.9, 10.0),
    ("log2", f64::log2, 0.01, 10.0),
    ("log10", f64::log10, 0.01, 10.0),
    ("sqrt", f64::sqrt, 0.0, 10.0),
    ("sin", f64::sin, -4.0, 4.0),
    ("cos", f64::cos, -4.0, 4.0),
    ("tan", f64::tan, -1.5, 1.5),
    ("arcsin", f64::asin, -1.0, 1.0),
    ("arccos", f64::acos, -1.0, 1.0),
    ("arctan", f64::atan, -5.0, 5.0),
    ("sinh", f64::sinh, -3.0, 3.0),
    ("cosh", f64::cosh, -3.0, 3.0),
    ("tanh", f64::tanh, -3.0, 3.0),
    ("floor", f64::floor, -5.0, 5.0),
    ("ceil", f64::ceil, -5.0, 5.0),
    ("rint", f64::round_ties_even, -5.0, 5.0),
    ("trunc", f64::trunc, -5.0, 5.0),
    ("cbrt", f64::cbrt, -5.0, 5.0),
    ("exp2", f64::exp2, -5.0, 5.0),
    ("reciprocal", |x| 1.0 / x, 0.1, 5.0),
    ("round", f64::round_ties_even, -5.0, 5.0),
    ("negative", |x| -x, -5.0, 5.0),
    ("absolute", f64::abs, -5.0, 5.0),
    ("abs", f64::abs, -5.0, 5.0),
    ("square", |x| x * x, -5.0, 5.0),
    (
        "sign",
        |x| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        -5.0,
        5.0,
    ),
];

#[test]
fn unary_float_ufuncs_match_std_on_random_chunkings() {
    let mut rng = Rng::new(1);
    for &(name, f, lo, hi) in UNARY {
        for _ in 0..3 {
            let (shape, chunks) = shape_and_chunks(&mut rng, 7);
            let x = rand_f64(&mut rng, &shape, lo, hi);
            let y = mk(&x, &chunks).unary(name).unwrap();
            assert_eq!(y.dtype(), F64, "{name}");
            assert_eq!(y.shape(), shape, "{name}");
            let want = x.map(f);
            assert_close(&fetch::<f64>(&y), &want, 1e-14, 1e-300, name);
        }
    }
}

#[test]
fn unary_float32_stays_float32() {
    let mut rng = Rng::new(2);
    for &(name, f, lo, hi) in UNARY {
        let shape = [3, 5];
        let x = rand_f64(&mut rng, &shape, lo, hi).map(|v| v as f32);
        let y = mk(&x, &ChunkSpec::Regular(vec![2, 2])).unary(name).unwrap();
        assert_eq!(y.dtype(), DType::Float32, "{name}");
        let want = x.map(|v| f(v as f64));
        let got = fetch::<f32>(&y).map(|v| v as f64);
        assert_close(&got, &want, 1e-6, 1e-6, name);
    }
}

#[test]
fn rint_rounds_half_to_even_and_nan_passes_through() {
    let x = Nd::new(&[7], vec![0.5, 1.5, 2.5, -0.5, -1.5, -2.5, f64::NAN]);
    let y = mk(&x, &ChunkSpec::Regular(vec![3])).unary("rint").unwrap();
    let want = Nd::new(&[7], vec![0.0, 2.0, 2.0, -0.0, -2.0, -2.0, f64::NAN]);
    assert_exact(&fetch::<f64>(&y), &want, "rint");
    for name in ["exp", "sqrt", "sin", "floor", "negative", "absolute"] {
        let y = mk(&x, &ChunkSpec::Regular(vec![4])).unary(name).unwrap();
        assert!(fetch::<f64>(&y).data[6].is_nan(), "{name}(nan)");
    }
}

#[test]
fn float_ufuncs_of_integers_give_float64() {
    // NumPy: int32 and int64 inputs of exp/sqrt/… use the float64 loop.
    let x = Nd::new(&[2, 3], vec![0i32, 1, 2, 3, 4, 9]);
    for (name, f) in [
        ("exp", f64::exp as F),
        ("sqrt", f64::sqrt),
        ("sin", f64::sin),
    ] {
        let y = mk(&x, &ChunkSpec::Regular(vec![1, 2])).unary(name).unwrap();
        assert_eq!(y.dtype(), F64, "{name}");
        assert_close(&fetch::<f64>(&y), &x.map(|v| f(v as f64)), 1e-15, 0.0, name);
    }
}

// ---- binary ufuncs --------------------------------------------------------------------------

/// NumPy's `npy_divmod` for doubles: (floor quotient, Python remainder).
fn npy_divmod(a: f64, b: f64) -> (f64, f64) {
    if b == 0.0 {
        return (a / b, f64::NAN);
    }
    let mut m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (floordiv, m)
}

type G = fn(f64, f64) -> f64;

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

const BINARY: &[(&str, G)] = &[
    ("add", |a, b| a + b),
    ("subtract", |a, b| a - b),
    ("multiply", |a, b| a * b),
    ("true_divide", |a, b| a / b),
    ("divide", |a, b| a / b),
    ("floor_divide", |a, b| npy_divmod(a, b).0),
    ("remainder", |a, b| npy_divmod(a, b).1),
    ("mod", |a, b| npy_divmod(a, b).1),
    ("power", |a, b| a.abs().powf(b)),
    ("maximum", nan_max),
    ("minimum", nan_min),
    ("fmax", f64::max),
    ("fmin", f64::min),
    ("arctan2", f64::atan2),
    ("hypot", f64::hypot),
    ("fmod", |a, b| a % b),
    ("copysign", f64::copysign),
];

#[test]
fn binary_float_ufuncs_broadcast_on_random_shapes() {
    let mut rng = Rng::new(3);
    for &(name, f) in BINARY {
        for _ in 0..6 {
            let (sa, sb) = broadcast_pair(&mut rng);
            let mut a = rand_f64(&mut rng, &sa, -4.0, 4.0);
            let b = rand_f64(&mut rng, &sb, -4.0, 4.0);
            if name == "power" {
                a = a.map(f64::abs);
            }
            if name.contains("max") || name.contains("min") {
                // NaNs: maximum/minimum propagate them, fmax/fmin ignore them.
                for v in a.data.iter_mut() {
                    if rng.coin(0.2) {
                        *v = f64::NAN;
                    }
                }
            }
            let (ca, cb) = (random_chunks(&mut rng, &sa), random_chunks(&mut rng, &sb));
            let got = mk(&a, &ca).binary(name, mk(&b, &cb)).unwrap();
            let want = zip2(&a, &b, f);
            assert_eq!(got.dtype(), F64, "{name}");
            let ctx = format!("{name} {sa:?} {sb:?}");
            assert_close(&fetch::<f64>(&got), &want, 1e-13, 1e-300, &ctx);
        }
    }
}

fn check_divmod(a: Vec<f64>, b: Vec<f64>) {
    let n = a.len();
    let (a, b) = (Nd::new(&[n], a), Nd::new(&[n], b));
    for (name, k) in [("floor_divide", 0), ("remainder", 1)] {
        let got = mk(&a, &ChunkSpec::Regular(vec![4]))
            .binary(name, mk(&b, &ChunkSpec::Regular(vec![3])))
            .unwrap();
        let want = zip2(&a, &b, |x, y| {
            let r = npy_divmod(x, y);
            if k == 0 {
                r.0
            } else {
                r.1
            }
        });
        assert_exact(&fetch::<f64>(&got), &want, name);
    }
}

#[test]
fn float_floor_divide_and_remainder_signs() {
    // -7.5 // 2 is -4 and -7.5 % 2 is 0.5; 7.5 % -2 is -0.5; 0.3 // 0.1 is 2.
    check_divmod(
        vec![-7.5, 7.5, 0.3, -0.0, 5.0, -3.0, 2.5],
        vec![2.0, -2.0, 0.1, 3.0, 0.5, 0.7, -0.75],
    );
}

#[test]
fn float_floor_divide_matches_numpy_at_rounding_edges() {
    // 1.0 // 0.1 is 9.0 in Python and NumPy (0.1 is slightly above 1/10) and 1.0 % 0.1 is
    // 0.09999999999999995: floor division and remainder must agree (a == q*b + r).
    check_divmod(vec![1.0, 2.0, -1.0], vec![0.1, 0.2, -0.1]);
}

#[test]
fn comparisons_and_logic_give_booleans() {
    let mut rng = Rng::new(4);
    type C = fn(f64, f64) -> bool;
    let cmps: &[(&str, C)] = &[
        ("less", |a, b| a < b),
        ("less_equal", |a, b| a <= b),
        ("greater", |a, b| a > b),
        ("greater_equal", |a, b| a >= b),
        ("equal", |a, b| a == b),
        ("not_equal", |a, b| a != b),
        ("logical_and", |a, b| a != 0.0 && b != 0.0),
        ("logical_or", |a, b| a != 0.0 || b != 0.0),
        ("logical_xor", |a, b| (a != 0.0) != (b != 0.0)),
    ];
    for &(name, f) in cmps {
        for _ in 0..4 {
            let (sa, sb) = broadcast_pair(&mut rng);
            // Small integers (as floats) so that equality happens; some NaNs and zeros.
            let mut a = rand_i64(&mut rng, &sa, -2, 2).map(|v| v as f64);
            let b = rand_i64(&mut rng, &sb, -2, 2).map(|v| v as f64);
            for v in a.data.iter_mut() {
                if rng.coin(0.15) {
                    *v = f64::NAN;
                }
            }
            let got = mk(&a, &random_chunks(&mut rng, &sa))
                .binary(name, mk(&b, &random_chunks(&mut rng, &sb)))
                .unwrap();
            assert_eq!(got.dtype(), DType::Bool, "{name}");
            assert_same(&fetch_bool(&got), &zip2(&a, &b, f), name);
        }
    }
    let x = Nd::new(
        &[6],
        vec![0.0, 1.5, f64::NAN, f64::INFINITY, -f64::INFINITY, -2.0],
    );
    type P = fn(f64) -> bool;
    let preds: &[(&str, P)] = &[
        ("isnan", f64::is_nan),
        ("isinf", f64::is_infinite),
        ("isfinite", f64::is_finite),
        ("logical_not", |v| v == 0.0),
    ];
    for &(name, f) in preds {
        let got = mk(&x, &ChunkSpec::Regular(vec![4])).unary(name).unwrap();
        assert_eq!(got.dtype(), DType::Bool);
        assert_same(&fetch_bool(&got), &x.map(f), name);
    }
}

#[test]
fn boolean_arithmetic_follows_numpy() {
    // bool + bool is logical or, bool * bool logical and (NumPy's '??->?' loops).
    let a = Nd::new(&[4], vec![false, false, true, true]);
    let b = Nd::new(&[4], vec![false, true, false, true]);
    let (xa, xb) = (
        mk_bool(&a, &ChunkSpec::Regular(vec![3])),
        mk_bool(&b, &ChunkSpec::Regular(vec![2])),
    );
    let add = xa.binary("add", &xb).unwrap();
    assert_eq!(add.dtype(), DType::Bool);
    assert_same(&fetch_bool(&add), &zip2(&a, &b, |x, y| x || y), "add");
    let mul = xa.binary("multiply", &xb).unwrap();
    assert_same(&fetch_bool(&mul), &zip2(&a, &b, |x, y| x && y), "mul");
    let xor = xa.binary("bitwise_xor", &xb).unwrap();
    assert_same(&fetch_bool(&xor), &zip2(&a, &b, |x, y| x != y), "xor");
    let inv = xa.unary("invert").unwrap();
    assert_same(&fetch_bool(&inv), &a.map(|x| !x), "invert");
    // bool + int scalar is int64 (NEP 50).
    let plus = xa.binary("add", 1i64).unwrap();
    assert_eq!(plus.dtype(), DType::Int64);
    assert_same(&fetch::<i64>(&plus), &a.map(|x| x as i64 + 1), "bool+1");
}

// ---- integers -------------------------------------------------------------------------------

/// Python's floor division and modulo for integers; NumPy returns 0 for a zero divisor.
fn py_floordiv(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    let q = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}
fn py_mod(a: i64, b: i64) -> i64 {
    if b == 0 {
        return 0;
    }
    a - py_floordiv(a, b) * b
}

#[test]
fn integer_arithmetic_python_division_and_bitwise() {
    let mut rng = Rng::new(5);
    type I = fn(i64, i64) -> i64;
    let ops: &[(&str, I)] = &[
        ("add", |a, b| a + b),
        ("subtract", |a, b| a - b),
        ("multiply", |a, b| a * b),
        ("floor_divide", py_floordiv),
        ("remainder", py_mod),
        ("maximum", i64::max),
        ("minimum", i64::min),
        ("bitwise_and", |a, b| a & b),
        ("bitwise_or", |a, b| a | b),
        ("bitwise_xor", |a, b| a ^ b),
        ("power", |a, b| a.pow(b.unsigned_abs() as u32)),
        ("left_shift", |a, b| a << b.unsigned_abs()),
        ("right_shift", |a, b| a >> b.unsigned_abs()),
    ];
    for &(name, f) in ops {
        for _ in 0..4 {
            let (sa, sb) = broadcast_pair(&mut rng);
            let a = rand_i64(&mut rng, &sa, -50, 50);
            let mut b = rand_i64(&mut rng, &sb, -6, 6);
            if matches!(name, "power" | "left_shift" | "right_shift") {
                b = b.map(i64::abs);
            }
            let got = mk(&a, &random_chunks(&mut rng, &sa))
                .binary(name, mk(&b, &random_chunks(&mut rng, &sb)))
                .unwrap();
            assert_eq!(got.dtype(), DType::Int64, "{name}");
            assert_same(&fetch::<i64>(&got), &zip2(&a, &b, f), name);
        }
    }
    // int32 operands stay int32, division by zero gives 0 as in NumPy.
    let a = Nd::new(&[6], vec![7i32, -7, 7, -7, 5, 0]);
    let b = Nd::new(&[6], vec![2i32, 2, -2, -2, 0, 0]);
    let xa = mk(&a, &ChunkSpec::Regular(vec![4]));
    let xb = mk(&b, &ChunkSpec::Regular(vec![5]));
    for (name, f) in [("floor_divide", py_floordiv as I), ("remainder", py_mod)] {
        let got = xa.binary(name, &xb).unwrap();
        assert_eq!(got.dtype(), DType::Int32);
        let want = zip2(&a, &b, |x, y| f(x as i64, y as i64) as i32);
        assert_same(&fetch::<i32>(&got), &want, name);
    }
    let inv = xa.unary("invert").unwrap();
    assert_same(&fetch::<i32>(&inv), &a.map(|v| !v), "invert");
    let neg = xa.unary("negative").unwrap();
    assert_same(&fetch::<i32>(&neg), &a.map(|v| -v), "negative");
    let sign = xa.unary("sign").unwrap();
    assert_same(&fetch::<i32>(&sign), &a.map(i32::signum), "sign");
    let abs = xa.unary("absolute").unwrap();
    assert_same(&fetch::<i32>(&abs), &a.map(i32::abs), "absolute");
}

#[test]
fn integer_true_divide_gives_float64() {
    // NumPy's true_divide has integer loops that return float64 ('bb->d', …, 'qq->d').
    let a = Nd::new(&[4], vec![1i64, -7, 9, 0]);
    let b = Nd::new(&[4], vec![3i64, 2, -4, 5]);
    let want = zip2(&a, &b, |x, y| x as f64 / y as f64);
    let got = mk(&a, &ChunkSpec::Regular(vec![3]))
        .binary("true_divide", mk(&b, &ChunkSpec::Regular(vec![2])))
        .unwrap();
    assert_eq!(got.dtype(), F64);
    assert_exact(&fetch::<f64>(&got), &want, "int64 / int64");
    let a32 = a.map(|v| v as i32);
    let b32 = b.map(|v| v as i32);
    let got = mk(&a32, &ChunkSpec::Regular(vec![3]))
        .binary("true_divide", mk(&b32, &ChunkSpec::Regular(vec![2])))
        .unwrap();
    assert_eq!(got.dtype(), F64);
    assert_exact(&fetch::<f64>(&got), &want, "int32 / int32");
}

#[test]
fn small_integer_true_divide_gives_float64() {
    let a = Nd::new(&[3], vec![1i8, -7, 100]);
    let b = Nd::new(&[3], vec![3i8, 3, 7]);
    let got = mk(&a, &ChunkSpec::Regular(vec![2]))
        .binary("true_divide", mk(&b, &ChunkSpec::Regular(vec![2])))
        .unwrap();
    assert_eq!(got.dtype(), F64, "int8 / int8 is float64 in NumPy");
    let want = zip2(&a, &b, |x, y| x as f64 / y as f64);
    assert_exact(&fetch::<f64>(&got), &want, "int8 / int8");
}

/// Integers wrap on overflow, as NumPy's fixed-width integers do (two's complement, no error
/// and no promotion to a wider type): int8 127 + 1 is -128, uint8 0 - 1 is 255, int64
/// MAX + 1 is MIN. Sums accumulate in int64/uint64 (so small types do not overflow there),
/// and int64 sums themselves wrap.
#[test]
fn integer_overflow_wraps() {
    let a8 = Nd::new(&[5], vec![127i8, -128, 100, -100, 64]);
    let x8 = mk(&a8, &ChunkSpec::Regular(vec![2]));
    let got = x8.binary("add", 1i64).unwrap();
    assert_eq!(got.dtype(), DType::Int8);
    assert_same(&fetch::<i8>(&got), &a8.map(|v| v.wrapping_add(1)), "i8+1");
    let got = x8.binary("multiply", &x8).unwrap();
    assert_same(&fetch::<i8>(&got), &a8.map(|v| v.wrapping_mul(v)), "i8*i8");
    let got = x8.unary("negative").unwrap();
    assert_same(&fetch::<i8>(&got), &a8.map(i8::wrapping_neg), "-i8");
    let got = x8.unary("absolute").unwrap();
    assert_same(&fetch::<i8>(&got), &a8.map(i8::wrapping_abs), "abs i8");

    let u8s = Nd::new(&[4], vec![0u8, 1, 255, 128]);
    let xu = mk(&u8s, &ChunkSpec::Regular(vec![3]));
    let got = xu.binary("subtract", 1i64).unwrap();
    assert_eq!(got.dtype(), DType::UInt8);
    assert_same(&fetch::<u8>(&got), &u8s.map(|v| v.wrapping_sub(1)), "u8-1");
    let got = xu.binary("add", &xu).unwrap();
    assert_same(&fetch::<u8>(&got), &u8s.map(|v| v.wrapping_add(v)), "u8+u8");

    let a64 = Nd::new(&[3], vec![i64::MAX, i64::MIN, 1 << 62]);
    let x64 = mk(&a64, &ChunkSpec::Regular(vec![2]));
    let got = x64.binary("add", 1i64).unwrap();
    assert_same(
        &fetch::<i64>(&got),
        &a64.map(|v| v.wrapping_add(1)),
        "i64+1",
    );
    let got = x64.binary("multiply", 4i64).unwrap();
    assert_same(
        &fetch::<i64>(&got),
        &a64.map(|v| v.wrapping_mul(4)),
        "i64*4",
    );
    let got = x64.binary("power", 3i64).unwrap();
    assert_same(
        &fetch::<i64>(&got),
        &a64.map(|v| v.wrapping_pow(3)),
        "i64**3",
    );

    // int32 * int32 stays int32 and wraps.
    let a32 = Nd::new(&[3], vec![1i32 << 20, -(1 << 30), 46341]);
    let x32 = mk(&a32, &ChunkSpec::Regular(vec![1]));
    let got = x32.binary("multiply", &x32).unwrap();
    assert_eq!(got.dtype(), DType::Int32);
    assert_same(
        &fetch::<i32>(&got),
        &a32.map(|v| v.wrapping_mul(v)),
        "i32^2",
    );
}

// ---- broadcasting and shape errors ----------------------------------------------------------

#[test]
fn broadcasting_5x1x4_with_3x1_on_various_chunkings() {
    let mut rng = Rng::new(6);
    let a = rand_f64(&mut rng, &[5, 1, 4], -1.0, 1.0);
    let b = rand_f64(&mut rng, &[3, 1], -1.0, 1.0);
    let want = zip2(&a, &b, |x, y| x * 10.0 + y);
    let chunkings_a = [
        ChunkSpec::Regular(vec![5, 1, 4]),
        ChunkSpec::Regular(vec![2, 1, 3]),
        ChunkSpec::Explicit(vec![vec![1, 3, 1], vec![1], vec![2, 1, 1]]),
    ];
    let chunkings_b = [
        ChunkSpec::Regular(vec![3, 1]),
        ChunkSpec::Regular(vec![1, 1]),
        ChunkSpec::Explicit(vec![vec![2, 1], vec![1]]),
    ];
    for ca in &chunkings_a {
        for cb in &chunkings_b {
            let x = mk(&a, ca).binary("multiply", 10.0).unwrap();
            let got = x.binary("add", mk(&b, cb)).unwrap();
            assert_eq!(got.shape(), vec![5, 3, 4]);
            assert_close(&fetch::<f64>(&got), &want, 1e-15, 0.0, "(5,1,4)+(3,1)");
            // Operand order does not matter for the shape.
            let got = mk(&b, cb).binary("add", &x).unwrap();
            assert_close(&fetch::<f64>(&got), &want, 1e-15, 0.0, "(3,1)+(5,1,4)");
        }
    }
}

#[test]
fn broadcasting_edge_cases() {
    let mut rng = Rng::new(7);
    // 0-d arrays, empty axes, size-1 axes on both sides.
    let cases: &[(&[usize], &[usize], &[usize])] = &[
        (&[], &[4], &[4]),
        (&[], &[], &[]),
        (&[0, 3], &[1, 3], &[0, 3]),
        (&[0, 3], &[3], &[0, 3]),
        (&[2, 0], &[2, 1], &[2, 0]),
        (&[1], &[0], &[0]),
        (&[4, 1], &[1, 5], &[4, 5]),
        (&[1, 1, 1], &[6], &[1, 1, 6]),
        (&[2, 1, 3], &[4, 1], &[2, 4, 3]),
    ];
    for &(sa, sb, out) in cases {
        let a = rand_f64(&mut rng, sa, 0.0, 1.0);
        let b = rand_f64(&mut rng, sb, 0.0, 1.0);
        let (ca, cb) = (random_chunks(&mut rng, sa), random_chunks(&mut rng, sb));
        let got = mk(&a, &ca).binary("subtract", mk(&b, &cb)).unwrap();
        assert_eq!(got.shape(), out.to_vec(), "{sa:?} - {sb:?}");
        assert_exact(&fetch::<f64>(&got), &zip2(&a, &b, |x, y| x - y), "bcast");
    }
    // Many random broadcastable pairs with a three-operand where.
    for _ in 0..20 {
        let (sa, sb) = broadcast_pair(&mut rng);
        let (sc, _) = broadcast_pair(&mut rng);
        if broadcast_shape(&[&sa, &sb, &sc]).is_none() {
            continue;
        }
        let a = rand_f64(&mut rng, &sa, 0.0, 1.0);
        let b = rand_f64(&mut rng, &sb, 0.0, 1.0);
        let c = rand_f64(&mut rng, &sc, 0.0, 1.0).map(|v| v < 0.5);
        let got = Array::where_(
            &mk_bool(&c, &random_chunks(&mut rng, &sc)),
            mk(&a, &random_chunks(&mut rng, &sa)),
            mk(&b, &random_chunks(&mut rng, &sb)),
        )
        .unwrap();
        let want = zip3(&c, &a, &b, |c, a, b| if c { a } else { b });
        assert_exact(&fetch::<f64>(&got), &want, "where bcast");
    }
}

#[test]
fn shape_and_dtype_mismatches_are_errors() {
    let x = mk(
        &Nd::new(&[3, 4], vec![1.0; 12]),
        &ChunkSpec::Regular(vec![2, 2]),
    );
    let y = mk(&Nd::new(&[5], vec![1.0; 5]), &ChunkSpec::Regular(vec![2]));
    let z = mk(
        &Nd::new(&[4, 3], vec![1.0; 12]),
        &ChunkSpec::Regular(vec![2, 2]),
    );
    assert!(x.binary("add", &y).is_err(), "(3,4)+(5,)");
    assert!(x.binary("multiply", &z).is_err(), "(3,4)*(4,3)");
    assert!(Array::where_(&x.binary("less", 0.5).unwrap(), &x, &y).is_err());
    let e = mk(
        &Nd::new(&[0], Vec::<f64>::new()),
        &ChunkSpec::Regular(vec![1]),
    );
    let two = mk(&Nd::new(&[2], vec![1.0, 2.0]), &ChunkSpec::Regular(vec![1]));
    assert!(e.binary("add", &two).is_err(), "(0,)+(2,)");
    // No loop for these dtypes.
    assert!(x.binary("bitwise_and", &x).is_err(), "float & float");
    assert!(x.binary("left_shift", 1i64).is_err(), "float << int");
    assert!(x.unary("invert").is_err(), "~float");
    // Unknown names and wrong arity.
    assert!(x.unary("no_such_ufunc").is_err());
    assert!(x.unary("add").is_err(), "add takes two inputs");
    assert!(x.binary("exp", &x).is_err(), "exp takes one input");
    assert!(Array::ufunc("where", &[(&x).into(), (&x).into()]).is_err());
    // Bad chunk specs.
    assert!(Array::zeros(&[4], F64, &ChunkSpec::Explicit(vec![vec![2, 1]])).is_err());
    assert!(Array::zeros(&[4, 2], F64, &ChunkSpec::Regular(vec![2])).is_err());
    assert!(Array::zeros(&[4], F64, &ChunkSpec::Regular(vec![0])).is_err());
    let b = Buffer::from_vec(vec![1.0f64; 6], &[6]).unwrap();
    assert!(Array::from_buffer(&b, &ChunkSpec::Explicit(vec![vec![3, 2]])).is_err());
    // compute_into with a wrongly sized buffer.
    let mut small = vec![0u8; 10];
    assert!(x.compute_into(client(), &mut small).is_err());
}

// ---- type promotion -------------------------------------------------------------------------

/// An array of `dtype` holding small values 0..n (as that dtype).
fn small_of(dtype: DType, n: usize, chunks: &ChunkSpec) -> Array {
    let v: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    mk(&Nd::new(&[n], v), chunks).astype(dtype)
}

#[test]
fn array_array_promotion_follows_numpy() {
    use DType::*;
    // np.result_type of two arrays.
    let table = [
        (Int32, Float32, Float64),
        (UInt8, Int8, Int16),
        (Int16, Float32, Float32),
        (UInt32, Int32, Int64),
        (UInt64, Int64, Float64),
        (UInt16, UInt64, UInt64),
        (Bool, Int8, Int8),
        (Bool, Float32, Float32),
        (Int8, Int8, Int8),
        (Float32, Float64, Float64),
        (UInt8, UInt16, UInt16),
        (Int8, UInt32, Int64),
        (Int64, Float32, Float64),
        (Bool, Bool, Bool),
    ];
    for (a, b, want) in table {
        let x = small_of(a, 5, &ChunkSpec::Regular(vec![2]));
        let y = small_of(b, 5, &ChunkSpec::Regular(vec![3]));
        for (p, q) in [(&x, &y), (&y, &x)] {
            let got = p.binary("add", q).unwrap();
            assert_eq!(got.dtype(), want, "{} + {}", a.name(), b.name());
            let vals = fetch_f64(&got);
            let want_vals: Vec<f64> = (0..5)
                .map(|i| {
                    let v = (i % 3) as f64;
                    if want == Bool {
                        (v != 0.0) as u8 as f64
                    } else {
                        let cast = |d: DType| {
                            if d == Bool {
                                (v != 0.0) as u8 as f64
                            } else {
                                v
                            }
                        };
                        cast(a) + cast(b)
                    }
                })
                .collect();
            assert_eq!(vals.data, want_vals, "{} + {}", a.name(), b.name());
        }
    }
    // Values that need the wider type: -3 (int8) + 250 (uint8) = 247 as int16.
    let x = mk(
        &Nd::new(&[2], vec![-3i8, 127]),
        &ChunkSpec::Regular(vec![1]),
    );
    let y = mk(
        &Nd::new(&[2], vec![250u8, 255]),
        &ChunkSpec::Regular(vec![2]),
    );
    let got = x.binary("add", &y).unwrap();
    assert_eq!(got.dtype(), Int16);
    assert_eq!(fetch::<i16>(&got).data, vec![247, 382]);
    // int32 + float32 -> float64 keeps integers above 2^24 exact.
    let big = (1i32 << 24) + 1;
    let x = mk(&Nd::new(&[1], vec![big]), &ChunkSpec::Regular(vec![1]));
    let y = mk(&Nd::new(&[1], vec![0.5f32]), &ChunkSpec::Regular(vec![1]));
    let got = x.binary("add", &y).unwrap();
    assert_eq!(got.dtype(), Float64);
    assert_eq!(fetch::<f64>(&got).data, vec![big as f64 + 0.5]);
}

#[test]
fn scalar_promotion_is_weak() {
    use DType::*;
    // (array dtype, scalar, result dtype): NEP 50, Python scalars are weak.
    let cases: Vec<(DType, Scalar, DType)> = vec![
        (Int32, Scalar::Float(1.5), Float64),
        (Int64, Scalar::Float(1.5), Float64),
        (UInt8, Scalar::Float(0.5), Float64),
        (Float32, Scalar::Float(1.5), Float32),
        (Float64, Scalar::Float(1.5), Float64),
        (Int32, Scalar::Int(3), Int32),
        (UInt8, Scalar::Int(3), UInt8),
        (Int8, Scalar::Int(3), Int8),
        (Float32, Scalar::Int(3), Float32),
        (Bool, Scalar::Int(3), Int64),
        (Bool, Scalar::Float(0.5), Float64),
        (Int16, Scalar::Bool(true), Int16),
        (Bool, Scalar::Bool(true), Bool),
    ];
    for (d, s, want) in cases {
        let x = small_of(d, 4, &ChunkSpec::Regular(vec![3]));
        let got = x.binary("add", s).unwrap();
        assert_eq!(got.dtype(), want, "{} + {s:?}", d.name());
        let got_r = Array::ufunc("add", &[Operand::Scalar(s), (&x).into()])
            .unwrap()
            .into_array()
            .unwrap();
        assert_eq!(got_r.dtype(), want, "{s:?} + {}", d.name());
        let vals = fetch_f64(&got);
        let sv = s.as_f64();
        let want_vals: Vec<f64> = (0..4)
            .map(|i| {
                let v = if d == Bool {
                    (i % 3 != 0) as u8 as f64
                } else {
                    (i % 3) as f64
                };
                if want == Bool {
                    ((v != 0.0) || (sv != 0.0)) as u8 as f64
                } else if want == Float32 {
                    (v as f32 + sv as f32) as f64
                } else {
                    v + sv
                }
            })
            .collect();
        assert_eq!(vals.data, want_vals, "{} + {s:?}", d.name());
        assert_eq!(fetch_f64(&got_r).data, want_vals, "{s:?} + {}", d.name());
    }
    // A float32 array plus a float scalar stays float32 (computed in float32).
    let x = mk(
        &Nd::new(&[2], vec![1.1f32, 2.2]),
        &ChunkSpec::Regular(vec![1]),
    );
    let got = x.binary("multiply", 0.1).unwrap();
    assert_eq!(
        fetch::<f32>(&got).data,
        vec![1.1f32 * 0.1f32, 2.2f32 * 0.1f32]
    );
    // Scalars on both sides: 2 - x and x - 2.
    let x = mk(
        &Nd::new(&[3], vec![1.0, 5.0, -2.0]),
        &ChunkSpec::Regular(vec![2]),
    );
    let l = Array::ufunc("subtract", &[2.0.into(), (&x).into()])
        .unwrap()
        .into_array()
        .unwrap();
    assert_eq!(fetch::<f64>(&l).data, vec![1.0, -3.0, 4.0]);
    // Only scalars: a dense 0-d result.
    let s = Array::ufunc("add", &[Operand::from(2i64), Operand::from(0.5)])
        .unwrap()
        .into_block()
        .unwrap();
    assert_eq!(s.dtype(), Float64);
    assert_eq!(s.as_slice::<f64>().unwrap(), &[2.5]);
}

#[test]
fn dense_blocks_mix_with_lazy_arrays() {
    let mut rng = Rng::new(8);
    let a = rand_f64(&mut rng, &[4, 3], -1.0, 1.0);
    let b = rand_f64(&mut rng, &[3], -1.0, 1.0);
    let bb = Buffer::from_vec(b.data.clone(), &b.shape).unwrap();
    // Lazy array with a dense block: lazy result.
    let got = Array::ufunc(
        "multiply",
        &[
            mk(&a, &ChunkSpec::Regular(vec![3, 2])).into(),
            bb.clone().into(),
        ],
    )
    .unwrap()
    .into_array()
    .unwrap();
    assert_exact(
        &fetch::<f64>(&got),
        &zip2(&a, &b, |x, y| x * y),
        "array*block",
    );
    // Dense blocks only: computed at once.
    let ab = Buffer::from_vec(a.data.clone(), &a.shape).unwrap();
    let got = Array::ufunc("subtract", &[ab.into(), bb.into()])
        .unwrap()
        .into_block()
        .unwrap();
    assert_eq!(got.shape(), &[4, 3]);
    assert_eq!(
        got.as_slice::<f64>().unwrap(),
        zip2(&a, &b, |x, y| x - y).data.as_slice()
    );
}

// ---- where, masked assignment, astype -------------------------------------------------------

#[test]
fn where_with_arrays_scalars_and_promotion() {
    let mut rng = Rng::new(9);
    for _ in 0..6 {
        let (shape, chunks) = shape_and_chunks(&mut rng, 6);
        let x = rand_f64(&mut rng, &shape, 0.0, 1.0);
        let cx = mk(&x, &chunks);
        let cond = cx.binary("less", 0.4).unwrap();
        let got = Array::where_(&cond, &cx, -1.0).unwrap();
        assert_eq!(got.dtype(), F64);
        let want = x.map(|v| if v < 0.4 { v } else { -1.0 });
        assert_exact(&fetch::<f64>(&got), &want, "where(x<.4, x, -1)");
        let got = Array::where_(&cond, 1.0, 0.0).unwrap();
        assert_eq!(got.shape(), shape);
        assert_exact(
            &fetch::<f64>(&got),
            &x.map(|v| (v < 0.4) as u8 as f64),
            "where(c, 1., 0.)",
        );
    }
    // int32 and float32 branches promote to float64; a float condition means "non-zero".
    let c = Nd::new(&[2, 3], vec![0.0, 1.0, -2.0, 0.0, f64::NAN, 0.5]);
    let a = Nd::new(&[2, 1], vec![10i32, 20]);
    let b = Nd::new(&[3], vec![0.5f32, 1.5, 2.5]);
    let got = Array::where_(
        &mk(&c, &ChunkSpec::Regular(vec![1, 2])),
        mk(&a, &ChunkSpec::Regular(vec![1, 1])),
        mk(&b, &ChunkSpec::Regular(vec![2])),
    )
    .unwrap();
    assert_eq!(got.dtype(), F64);
    let want = zip3(
        &c,
        &a,
        &b,
        |c, a, b| if c != 0.0 { a as f64 } else { b as f64 },
    );
    assert_exact(&fetch::<f64>(&got), &want, "where promotes");
    // int64 branches with an int scalar stay int64.
    let xi = Nd::new(&[5], vec![3i64, -1, 4, -1, 5]);
    let ci = mk(&xi, &ChunkSpec::Regular(vec![2]));
    let got = Array::where_(&ci.binary("greater", 0i64).unwrap(), &ci, 0i64).unwrap();
    assert_eq!(got.dtype(), DType::Int64);
    assert_same(&fetch::<i64>(&got), &xi.map(|v| v.max(0)), "relu");
}

#[test]
fn masked_assignment_with_set_where() {
    let mut rng = Rng::new(10);
    for _ in 0..6 {
        let (shape, chunks) = shape_and_chunks(&mut rng, 6);
        let x = rand_f64(&mut rng, &shape, 0.0, 1.0);
        let cx = mk(&x, &chunks);
        // x[x < 0.9] = 0
        let got = cx.set_where(&cx.binary("less", 0.9).unwrap(), 0.0).unwrap();
        assert_eq!(got.dtype(), F64);
        let want = x.map(|v| if v < 0.9 { 0.0 } else { v });
        assert_exact(&fetch::<f64>(&got), &want, "x[x<0.9]=0");
        // x[mask] = y, mask and y chunked differently from x.
        let y = rand_f64(&mut rng, &shape, 5.0, 6.0);
        let m = rand_f64(&mut rng, &shape, 0.0, 1.0).map(|v| v < 0.5);
        let got = cx
            .set_where(
                &mk_bool(&m, &random_chunks(&mut rng, &shape)),
                mk(&y, &random_chunks(&mut rng, &shape)),
            )
            .unwrap();
        let want = zip3(&m, &y, &x, |m, y, x| if m { y } else { x });
        assert_exact(&fetch::<f64>(&got), &want, "x[m]=y");
    }
    // The array keeps its dtype: an int array assigned a float takes it truncated, as NumPy.
    let xi = Nd::new(&[6], vec![1i32, -5, 7, 0, 9, -3]);
    let ci = mk(&xi, &ChunkSpec::Regular(vec![4]));
    let got = ci
        .set_where(&ci.binary("less", 0i64).unwrap(), 2.7)
        .unwrap();
    assert_eq!(got.dtype(), DType::Int32);
    assert_same(
        &fetch::<i32>(&got),
        &xi.map(|v| if v < 0 { 2 } else { v }),
        "int",
    );
    // A float32 value array into an int16 array.
    let xs = Nd::new(&[4], vec![1i16, 2, 3, 4]);
    let vs = Nd::new(&[4], vec![-1.9f32, 2.5, 100.2, 7.0]);
    let cs = mk(&xs, &ChunkSpec::Regular(vec![3]));
    let got = cs
        .set_where(
            &cs.binary("greater", 2i64).unwrap(),
            mk(&vs, &ChunkSpec::Regular(vec![2])),
        )
        .unwrap();
    assert_eq!(got.dtype(), DType::Int16);
    assert_eq!(fetch::<i16>(&got).data, vec![1, 2, 100, 7]);
}

#[test]
fn astype_conversions() {
    let f = Nd::new(&[8], vec![-2.7f64, -0.5, 0.0, 0.4, 1.5, 2.9, 100.0, -100.0]);
    let x = mk(&f, &ChunkSpec::Regular(vec![3]));
    // Float to int truncates toward zero.
    let got = x.astype(DType::Int32);
    assert_eq!(got.dtype(), DType::Int32);
    assert_same(
        &fetch::<i32>(&got),
        &f.map(|v| v.trunc() as i32),
        "f64->i32",
    );
    let got = x.astype(DType::Int64);
    assert_same(
        &fetch::<i64>(&got),
        &f.map(|v| v.trunc() as i64),
        "f64->i64",
    );
    // To bool: non-zero is true.
    let got = x.astype(DType::Bool);
    assert_same(&fetch_bool(&got), &f.map(|v| v != 0.0), "f64->bool");
    // Float64 to float32 rounds to nearest.
    let g = Nd::new(&[3], vec![0.1, 1.0 / 3.0, 1e10 + 0.5]);
    let got = mk(&g, &ChunkSpec::Regular(vec![2])).astype(DType::Float32);
    assert_same(&fetch::<f32>(&got), &g.map(|v| v as f32), "f64->f32");
    // Integer narrowing wraps modulo 2^bits (C casts, as NumPy).
    let i = Nd::new(&[6], vec![300i64, -129, 255, 256, -1, 127]);
    let xi = mk(&i, &ChunkSpec::Regular(vec![4]));
    let got = xi.astype(DType::UInt8);
    assert_same(
        &fetch::<u8>(&got),
        &i.map(|v| v.rem_euclid(256) as u8),
        "i64->u8",
    );
    let got = xi.astype(DType::Int8);
    assert_same(
        &fetch::<i8>(&got),
        &i.map(|v| {
            let r = v.rem_euclid(256);
            (if r > 127 { r - 256 } else { r }) as i8
        }),
        "i64->i8",
    );
    // Bool to float and int.
    let b = Nd::new(&[3], vec![true, false, true]);
    let xb = mk_bool(&b, &ChunkSpec::Regular(vec![2]));
    assert_eq!(fetch::<f64>(&xb.astype(F64)).data, vec![1.0, 0.0, 1.0]);
    assert_eq!(
        fetch::<u16>(&xb.astype(DType::UInt16)).data,
        vec![1u16, 0, 1]
    );
    // Same dtype: the same array; chained casts fuse and still compute right.
    assert_eq!(x.astype(F64).dtype(), F64);
    let chain = x.astype(DType::Int16).astype(DType::Float32).astype(F64);
    assert_exact(&fetch::<f64>(&chain), &f.map(|v| v.trunc()), "chain");
}

// ---- creation -------------------------------------------------------------------------------

#[test]
fn zeros_ones_full_in_every_dtype() {
    let shape = [3, 4];
    let chunkings = [
        ChunkSpec::Regular(vec![2, 3]),
        ChunkSpec::Explicit(vec![vec![1, 2], vec![4]]),
        ChunkSpec::Auto,
    ];
    for d in DType::ALL {
        for c in &chunkings {
            let z = Array::zeros(&shape, d, c).unwrap();
            assert_eq!(z.dtype(), d);
            assert_eq!(z.shape(), shape.to_vec());
            assert!(fetch_f64(&z).data.iter().all(|&v| v == 0.0), "{}", d.name());
            let o = Array::ones(&shape, d, c).unwrap();
            assert!(fetch_f64(&o).data.iter().all(|&v| v == 1.0), "{}", d.name());
            let f = Array::full(&shape, 7i64, d, c).unwrap();
            let want = if d == DType::Bool { 1.0 } else { 7.0 };
            assert!(
                fetch_f64(&f).data.iter().all(|&v| v == want),
                "{}",
                d.name()
            );
        }
    }
    // A float fill of an integer array truncates, a negative int fill of uint8 wraps.
    let f = Array::full(&[5], 2.5, DType::Int32, &ChunkSpec::Regular(vec![2])).unwrap();
    assert_eq!(fetch::<i32>(&f).data, vec![2; 5]);
    let f = Array::full(&[2], -1i64, DType::UInt8, &ChunkSpec::Regular(vec![1])).unwrap();
    assert_eq!(fetch::<u8>(&f).data, vec![255; 2]);
    let f = Array::full(&[2, 2], f64::NAN, F64, &ChunkSpec::Regular(vec![1, 1])).unwrap();
    assert!(fetch::<f64>(&f).data.iter().all(|v| v.is_nan()));
    // Empty and 0-d.
    let e = Array::zeros(&[0, 3], F64, &ChunkSpec::Regular(vec![2, 2])).unwrap();
    assert_eq!(fetch::<f64>(&e).shape, vec![0, 3]);
    let s = Array::full(&[], 4.5, F64, &ChunkSpec::Regular(vec![])).unwrap();
    assert_eq!(fetch::<f64>(&s).data, vec![4.5]);
}

/// NumPy's arange length: ceil((stop - start) / step), at least 0.
fn arange_len(start: f64, stop: f64, step: f64) -> usize {
    ((stop - start) / step).ceil().max(0.0) as usize
}

#[test]
fn arange_integer_and_float() {
    let int_cases: &[(i64, i64, i64)] = &[
        (0, 10, 1),
        (3, 17, 4),
        (10, 0, -3),
        (-5, 5, 2),
        (5, 5, 1),
        (5, 0, 1),
        (0, 1_000_003, 100_000),
    ];
    for &(start, stop, step) in int_cases {
        let mut want = Vec::new();
        let mut v = start;
        while (step > 0 && v < stop) || (step < 0 && v > stop) {
            want.push(v);
            v += step;
        }
        for c in [
            ChunkSpec::Regular(vec![3]),
            ChunkSpec::Regular(vec![1]),
            ChunkSpec::Auto,
        ] {
            let a = Array::arange(start as f64, stop as f64, step as f64, DType::Int64, &c);
            let a = a.unwrap();
            assert_eq!(fetch::<i64>(&a).data, want, "arange({start},{stop},{step})");
            let a32 = Array::arange(start as f64, stop as f64, step as f64, DType::Int32, &c);
            let w32: Vec<i32> = want.iter().map(|&v| v as i32).collect();
            assert_eq!(fetch::<i32>(&a32.unwrap()).data, w32);
        }
    }
    // Large int64 values are exact (not rounded through float64).
    let start = (1i64 << 53) + 1;
    let a = Array::arange(
        start as f64,
        start as f64 + 4.0,
        1.0,
        DType::Int64,
        &ChunkSpec::Regular(vec![2]),
    )
    .unwrap();
    let got = fetch::<i64>(&a).data;
    assert_eq!(got.len(), 4);
    assert!(got.windows(2).all(|w| w[1] - w[0] == 1), "{got:?}");
    let float_cases: &[(f64, f64, f64)] = &[
        (0.0, 1.0, 0.1),
        (-1.5, 2.0, 0.25),
        (2.0, -1.0, -0.3),
        (0.0, 1.0, 3.0),
        (1.0, 1.0, 0.5),
    ];
    for &(start, stop, step) in float_cases {
        let n = arange_len(start, stop, step);
        let want = Nd::new(&[n], (0..n).map(|i| start + i as f64 * step).collect());
        for c in [
            ChunkSpec::Regular(vec![4]),
            ChunkSpec::Explicit(vec![random_splits(&mut Rng::new(n as u64), n)]),
        ] {
            let a = Array::arange(start, stop, step, F64, &c).unwrap();
            assert_close(&fetch::<f64>(&a), &want, 1e-15, 1e-15, "arange float");
        }
    }
    assert!(Array::arange(0.0, 1.0, 0.0, F64, &ChunkSpec::Auto).is_err());
    assert!(Array::arange(0.0, 1.0, f64::NAN, F64, &ChunkSpec::Auto).is_err());
}

#[test]
fn linspace_with_and_without_endpoint() {
    let cases: &[(f64, f64, usize)] = &[
        (0.0, 1.0, 5),
        (-2.0, 3.0, 11),
        (1.0, -1.0, 4),
        (0.0, 1.0, 1),
        (0.0, 1.0, 0),
        (2.0, 2.0, 3),
    ];
    for &(start, stop, num) in cases {
        for endpoint in [true, false] {
            let div = if endpoint { num.saturating_sub(1) } else { num };
            let want: Vec<f64> = (0..num)
                .map(|i| {
                    if div == 0 {
                        start
                    } else {
                        start + (stop - start) / div as f64 * i as f64
                    }
                })
                .collect();
            for c in [ChunkSpec::Regular(vec![2]), ChunkSpec::Regular(vec![3])] {
                let a = Array::linspace(start, stop, num, endpoint, F64, &c).unwrap();
                let got = fetch::<f64>(&a);
                assert_close(
                    &got,
                    &Nd::new(&[num], want.clone()),
                    1e-14,
                    1e-15,
                    "linspace",
                );
                if endpoint && num > 1 {
                    assert_eq!(got.data[num - 1], stop, "the endpoint is exact");
                }
                assert!(got.data.first().is_none_or(|&v| v == start));
            }
        }
    }
    // An integer linspace truncates like NumPy's astype.
    let a = Array::linspace(
        0.0,
        10.0,
        4,
        true,
        DType::Int64,
        &ChunkSpec::Regular(vec![3]),
    );
    assert_eq!(fetch::<i64>(&a.unwrap()).data, vec![0, 3, 6, 10]);
}

#[test]
fn eye_with_offsets() {
    for (n, m) in [(4, 4), (3, 5), (5, 2), (1, 1), (0, 3)] {
        for k in -6..=6 {
            let want = Nd::from_fn(&[n, m], |i| (i[1] as i64 - i[0] as i64 == k) as u8 as f64);
            let mut rng = Rng::new((n * 100 + m * 10) as u64 + k as u64);
            for c in [
                ChunkSpec::Regular(vec![2, 2]),
                random_chunks(&mut rng, &[n, m]),
            ] {
                let e = Array::eye(n, m, k, F64, &c).unwrap();
                assert_exact(&fetch::<f64>(&e), &want, &format!("eye({n},{m},{k})"));
            }
        }
    }
    let e = Array::eye(3, 3, 0, DType::Int32, &ChunkSpec::Regular(vec![2, 1])).unwrap();
    assert_eq!(fetch::<i32>(&e).data, vec![1, 0, 0, 0, 1, 0, 0, 0, 1]);
}

// ---- random ---------------------------------------------------------------------------------

#[test]
fn random_values_do_not_depend_on_chunking() {
    let shape = [37, 23];
    let chunkings = [
        ChunkSpec::Auto,
        ChunkSpec::Regular(vec![37, 23]),
        ChunkSpec::Regular(vec![5, 7]),
        ChunkSpec::Regular(vec![1, 23]),
        random_chunks(&mut Rng::new(11), &shape),
        random_chunks(&mut Rng::new(12), &shape),
    ];
    for seed in [0u64, 1, 42, u64::MAX] {
        let u: Vec<Nd<f64>> = chunkings
            .iter()
            .map(|c| fetch::<f64>(&Array::random_uniform(seed, -2.0, 3.0, &shape, F64, c).unwrap()))
            .collect();
        let n: Vec<Nd<f64>> = chunkings
            .iter()
            .map(|c| fetch::<f64>(&Array::random_normal(seed, 1.0, 2.0, &shape, F64, c).unwrap()))
            .collect();
        for k in 1..chunkings.len() {
            assert_exact(&u[k], &u[0], "uniform across chunkings");
            assert_exact(&n[k], &n[0], "normal across chunkings");
        }
        // Rechunking afterwards or slicing does not change the values either.
        let r = Array::random_uniform(seed, -2.0, 3.0, &shape, F64, &chunkings[2])
            .unwrap()
            .rechunk(&chunkings[4])
            .unwrap();
        assert_exact(&fetch::<f64>(&r), &u[0], "rechunked");
    }
    // Different seeds give different streams; uniform and normal with one seed differ.
    let a =
        fetch::<f64>(&Array::random_uniform(1, 0.0, 1.0, &[100], F64, &ChunkSpec::Auto).unwrap());
    let b =
        fetch::<f64>(&Array::random_uniform(2, 0.0, 1.0, &[100], F64, &ChunkSpec::Auto).unwrap());
    assert!(a.data.iter().zip(&b.data).filter(|(x, y)| x == y).count() < 3);
    // No repeated values within one stream (a stuck generator would repeat).
    let mut sorted = a.data.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    assert_eq!(sorted.len(), 100);
}

#[test]
fn random_uniform_and_normal_statistics() {
    let n = 200_000usize;
    let (low, high) = (-3.0, 5.0);
    let u = Array::random_uniform(7, low, high, &[n], F64, &ChunkSpec::Regular(vec![30_000]));
    let u = fetch::<f64>(&u.unwrap()).data;
    assert!(
        u.iter().all(|&v| (low..high).contains(&v)),
        "in [low, high)"
    );
    let mean = u.iter().sum::<f64>() / n as f64;
    let sd = (high - low) / 12f64.sqrt();
    assert!(
        (mean - (low + high) / 2.0).abs() < 5.0 * sd / (n as f64).sqrt(),
        "uniform mean {mean}"
    );
    let var = u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    assert!(
        (var.sqrt() / sd - 1.0).abs() < 0.01,
        "uniform std {}",
        var.sqrt()
    );
    // Every tenth of the range gets about a tenth of the values.
    let mut bins = [0usize; 10];
    for v in &u {
        bins[((v - low) / (high - low) * 10.0) as usize] += 1;
    }
    for b in bins {
        assert!((b as f64 / n as f64 - 0.1).abs() < 0.005, "{bins:?}");
    }
    // Neighbours are uncorrelated.
    let corr: f64 = u
        .windows(2)
        .map(|w| (w[0] - mean) * (w[1] - mean))
        .sum::<f64>()
        / (n as f64 * var);
    assert!(corr.abs() < 0.01, "lag-1 correlation {corr}");

    let (mu, sigma) = (1.5, 0.5);
    let g = Array::random_normal(8, mu, sigma, &[n], F64, &ChunkSpec::Regular(vec![30_000]));
    let g = fetch::<f64>(&g.unwrap()).data;
    assert!(g.iter().all(|v| v.is_finite()));
    let mean = g.iter().sum::<f64>() / n as f64;
    assert!(
        (mean - mu).abs() < 5.0 * sigma / (n as f64).sqrt(),
        "normal mean {mean}"
    );
    let sd = (g.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    assert!((sd / sigma - 1.0).abs() < 0.01, "normal std {sd}");
    // About 68.3% within one sigma, 95.4% within two.
    let within =
        |k: f64| g.iter().filter(|&&v| (v - mu).abs() < k * sigma).count() as f64 / n as f64;
    assert!((within(1.0) - 0.6827).abs() < 0.005, "{}", within(1.0));
    assert!((within(2.0) - 0.9545).abs() < 0.003, "{}", within(2.0));

    // Float32 random arrays stay in range (high itself may be reached by rounding).
    let u32s = Array::random_uniform(9, 0.0, 1.0, &[1000], DType::Float32, &ChunkSpec::Auto);
    let u32s = fetch::<f32>(&u32s.unwrap()).data;
    assert!(u32s.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // A 3-d normal array has the shape asked for.
    let g3 = Array::random_normal(1, 0.0, 1.0, &[3, 0, 2], F64, &ChunkSpec::Auto).unwrap();
    assert_eq!(fetch::<f64>(&g3).shape, vec![3, 0, 2]);
}

// ---- fusion ---------------------------------------------------------------------------------

/// Combine tasks of a reduction tree with fan-in `k` over `n` partials (groups of one are
/// passed through).
fn combine_tasks(mut n: usize, k: usize) -> usize {
    let mut tasks = 0;
    while n > 1 {
        tasks += n / k + usize::from(n % k > 1);
        n = n.div_ceil(k);
    }
    tasks
}

#[test]
fn elementwise_chains_fuse_into_reductions() {
    for (len, block) in [(1000usize, 100usize), (1000, 7), (64, 64), (50, 3)] {
        let nblocks = len.div_ceil(block);
        let x = Array::random_uniform(3, 0.0, 1.0, &[len], F64, &ChunkSpec::Regular(vec![block]))
            .unwrap();
        let xs = fetch::<f64>(&x).data;
        let s = x
            .unary("exp")
            .unwrap()
            .binary("multiply", 2.0)
            .unwrap()
            .binary("add", 1.0)
            .unwrap()
            .sum(None)
            .unwrap();
        // create(N) + reduce(N) + combine tree + finalize: no elementwise tasks.
        let want_tasks = nblocks + nblocks + combine_tasks(nblocks, 8) + 1;
        assert_eq!(s.task_count().unwrap(), want_tasks, "{len}/{block}");
        let want: f64 = xs.iter().map(|v| v.exp() * 2.0 + 1.0).sum();
        let got = fetch::<f64>(&s).data[0];
        assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        // The same with a binary tree.
        let s2 = x
            .unary("exp")
            .unwrap()
            .binary("multiply", 2.0)
            .unwrap()
            .binary("add", 1.0)
            .unwrap()
            .reduce(ReduceOp::Sum, None, false, 2)
            .unwrap();
        let want_tasks = nblocks + nblocks + combine_tasks(nblocks, 2) + 1;
        assert_eq!(s2.task_count().unwrap(), want_tasks, "split_every=2");
        let got = fetch::<f64>(&s2).data[0];
        assert!((got - want).abs() <= 1e-12 * want);
    }
    // In-memory input: no creation tasks at all.
    let mut rng = Rng::new(12);
    let a = rand_f64(&mut rng, &[12, 10], 0.0, 1.0);
    let x = mk(&a, &ChunkSpec::Regular(vec![4, 5])); // 3 x 2 blocks
    let s = x
        .binary("multiply", &x)
        .unwrap()
        .binary("subtract", 0.5)
        .unwrap()
        .sum(Some(&[0]))
        .unwrap();
    // 6 partials; 2 output blocks, each combining 3 partials once, then finalised.
    assert_eq!(s.task_count().unwrap(), 6 + 2 + 2);
    let want = reduce_ref(&a.map(|v| v * v - 0.5), &[true, false], false, plain_sum);
    assert_close(&fetch::<f64>(&s), &want, 1e-13, 0.0, "sum axis 0");
    // An elementwise result that is computed itself: one fused task per block.
    let y = x
        .unary("sin")
        .unwrap()
        .binary("add", 1.0)
        .unwrap()
        .unary("sqrt")
        .unwrap();
    assert_eq!(y.task_count().unwrap(), 6);
    assert_close(
        &fetch::<f64>(&y),
        &a.map(|v| (v.sin() + 1.0).sqrt()),
        1e-15,
        0.0,
        "fused map",
    );
}

#[test]
fn shared_intermediates_compute_correctly() {
    let mut rng = Rng::new(13);
    let a = rand_f64(&mut rng, &[9, 7], -1.0, 1.0);
    let x = mk(&a, &ChunkSpec::Explicit(vec![vec![2, 4, 3], vec![3, 4]]));
    let y = x.binary("add", 1.0).unwrap();
    // y used twice by one consumer.
    let sq = y.binary("multiply", &y).unwrap().sum(None).unwrap();
    let want_sq: f64 = a.data.iter().map(|v| (v + 1.0) * (v + 1.0)).sum();
    let got = fetch::<f64>(&sq).data[0];
    assert!((got - want_sq).abs() < 1e-12 * want_sq.abs(), "(y*y).sum()");
    // y used by two reductions combined.
    let both = y
        .sum(None)
        .unwrap()
        .binary("add", y.max(None).unwrap())
        .unwrap();
    let ys: Vec<f64> = a.data.iter().map(|v| v + 1.0).collect();
    let want = ys.iter().sum::<f64>() + ys.iter().cloned().fold(f64::MIN, f64::max);
    let got = fetch::<f64>(&both).data[0];
    assert!((got - want).abs() < 1e-12 * want.abs(), "y.sum() + y.max()");
    // y both computed and reduced along an axis, and fed to a non-elementwise operation.
    let mixed = y
        .binary("subtract", y.mean(Some(&[0])).unwrap())
        .unwrap()
        .t()
        .binary("multiply", 2.0)
        .unwrap();
    let means = reduce_ref(&a.map(|v| v + 1.0), &[true, false], false, |g| {
        g.iter().sum::<f64>() / g.len() as f64
    });
    let want = Nd::from_fn(&[7, 9], |i| {
        (a.at(&[i[1], i[0]]) + 1.0 - means.data[i[0]]) * 2.0
    });
    assert_close(&fetch::<f64>(&mixed), &want, 1e-13, 1e-15, "centered.T*2");
    // A diamond: z = y * 2 and w = y + z, with y shared at two levels.
    let z = y.binary("multiply", 2.0).unwrap();
    let w = y.binary("add", &z).unwrap().binary("add", &x).unwrap();
    assert_close(
        &fetch::<f64>(&w),
        &a.map(|v| (v + 1.0) * 3.0 + v),
        1e-15,
        1e-15,
        "diamond",
    );
    // The same array as both operands.
    let d = x.binary("subtract", &x).unwrap();
    assert!(fetch::<f64>(&d).data.iter().all(|&v| v == 0.0));
}

#[test]
fn persist_and_compute_into() {
    let mut rng = Rng::new(14);
    let a = rand_f64(&mut rng, &[6, 5], 0.0, 1.0);
    let x = mk(&a, &ChunkSpec::Regular(vec![4, 2]));
    let y = x.unary("exp").unwrap().persist(client()).unwrap();
    assert!(y.is_computed());
    assert_eq!(
        y.task_count().unwrap(),
        0,
        "a persisted array needs no tasks"
    );
    assert_close(&fetch::<f64>(&y), &a.map(f64::exp), 1e-15, 0.0, "persisted");
    // Further work starts from the persisted blocks.
    let z = y.binary("add", 1.0).unwrap().sum(None).unwrap();
    let want: f64 = a.data.iter().map(|v| v.exp() + 1.0).sum();
    assert!((fetch::<f64>(&z).data[0] - want).abs() < 1e-12 * want);
    let mut out = vec![0u8; 30 * 8];
    y.compute_into(client(), &mut out).unwrap();
    let vals: Vec<f64> = out
        .chunks_exact(8)
        .map(|c| f64::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(vals, fetch::<f64>(&y).data);
}

#[test]
fn bool_buffers_read_as_bytes() {
    // Sanity of the helper itself: a boolean array built from B8 round-trips.
    let b = Nd::new(&[3], vec![B8::of(true), B8::of(false), B8::of(true)]);
    let x = mk(&b, &ChunkSpec::Regular(vec![2]));
    assert_eq!(x.dtype(), DType::Bool);
    assert_eq!(fetch_bool(&x).data, vec![true, false, true]);
}

#[test]
fn large_blocks_span_several_tiles() {
    // Blocks of several thousand elements are evaluated in tiles: broadcast operands,
    // transposed (strided) operands and casts must line up across tile boundaries.
    let mut rng = Rng::new(15);
    let (m, n) = (70, 90);
    let a = rand_f64(&mut rng, &[m, n], -1.0, 1.0);
    let row = rand_f64(&mut rng, &[n], -1.0, 1.0);
    let col = rand_f64(&mut rng, &[m, 1], -1.0, 1.0);
    let at = transpose_ref(&a, &[1, 0]);
    let ints = rand_i64(&mut rng, &[m, n], -100, 100).map(|v| v as i16);
    for chunks in [vec![70, 90], vec![64, 45], vec![33, 90]] {
        let ca = mk(&a, &ChunkSpec::Regular(chunks.clone()));
        let ct = mk(&at, &ChunkSpec::Regular(vec![chunks[1], chunks[0]])).t();
        let ci = mk(&ints, &ChunkSpec::Regular(chunks.clone()));
        let got = ca
            .binary("multiply", mk(&row, &ChunkSpec::Regular(vec![n])))
            .unwrap()
            .binary("add", mk(&col, &ChunkSpec::Regular(vec![7, 1])))
            .unwrap()
            .binary("subtract", &ct)
            .unwrap()
            .binary("add", &ci)
            .unwrap();
        let want = Nd::from_fn(&[m, n], |i| {
            a.at(i) * row.at(&[i[1]]) + col.at(&[i[0], 0]) - a.at(i) + ints.at(i) as f64
        });
        assert_close(&fetch::<f64>(&got), &want, 1e-14, 1e-14, "tiles");
        // Casts of strided views.
        let cast = ct.astype(DType::Float32).astype(DType::Int32);
        let want = a.map(|v| (v as f32) as i32);
        assert_same(&fetch::<i32>(&cast), &want, "cast of a transposed array");
    }
}

#[test]
fn set_where_with_broadcast_values() {
    let mut rng = Rng::new(16);
    let x = rand_f64(&mut rng, &[4, 3], 0.0, 1.0);
    let v = Nd::new(&[3], vec![-1.0, -2.0, -3.0]);
    let cx = mk(&x, &ChunkSpec::Regular(vec![3, 2]));
    let got = cx
        .set_where(
            &cx.binary("greater", 0.5).unwrap(),
            mk(&v, &ChunkSpec::Regular(vec![1])),
        )
        .unwrap();
    let want = Nd::from_fn(&[4, 3], |i| {
        if x.at(i) > 0.5 {
            v.at(&[i[1]])
        } else {
            x.at(i)
        }
    });
    assert_exact(&fetch::<f64>(&got), &want, "x[x>.5] = row");
}

// ---- checked integer ufuncs ----------------------------------------------------------------

/// The `checked_*` ufuncs agree with a plain evaluation where the integer result is defined
/// and fail the computation (never a placeholder value) where it is not; afterwards the same
/// thread computes normally (the fault does not linger).
#[test]
fn checked_integer_ufuncs_fail_where_the_result_is_undefined() {
    let chunks = ChunkSpec::Regular(vec![3]);
    let a = mk(&Nd::new(&[6], vec![-7i64, 7, 9, -9, 1, i64::MIN]), &chunks);
    let ok_b = mk(&Nd::new(&[6], vec![2i64, -2, 4, 4, 3, 1]), &chunks);
    let call = |name: &str, x: &Array, y: &Array| {
        Array::ufunc(name, &[x.into(), y.into()])
            .unwrap()
            .into_array()
            .unwrap()
    };
    let av = [-7i64, 7, 9, -9, 1, i64::MIN];
    let bv = [2i64, -2, 4, 4, 3, 1];
    // Python's floor division (exact in f64 for these small values; MIN / 1 is checked apart).
    let fd: Vec<i64> = av
        .iter()
        .zip(&bv)
        .map(|(&x, &y)| (x as f64 / y as f64).floor() as i64)
        .collect();
    let got = fetch::<i64>(&call("checked_floor_divide", &a, &ok_b)).data;
    assert_eq!((&got[..5], got[5]), (&fd[..5], i64::MIN));
    let rem: Vec<i64> = av
        .iter()
        .zip(&bv)
        .map(|(&x, &y)| x.wrapping_rem(y))
        .collect();
    assert_eq!(fetch::<i64>(&call("checked_fmod", &a, &ok_b)).data, rem);
    let pw = mk(&Nd::new(&[6], vec![0i64, 1, 2, 3, 4, 5]), &chunks);
    let want: Vec<i64> = av
        .iter()
        .zip(0u32..)
        .map(|(&x, e)| x.wrapping_pow(e))
        .collect();
    assert_eq!(fetch::<i64>(&call("checked_power", &a, &pw)).data, want);

    let zero = mk(&Nd::new(&[6], vec![1i64, 1, 1, 1, 0, 1]), &chunks);
    let minus_one = mk(&Nd::new(&[6], vec![1i64, 1, 1, 1, 1, -1]), &chunks);
    let negative = mk(&Nd::new(&[6], vec![1i64, 1, -1, 1, 1, 1]), &chunks);
    for (name, b, why) in [
        ("checked_floor_divide", &zero, "integer division by zero"),
        ("checked_remainder", &zero, "integer division by zero"),
        ("checked_fmod", &zero, "integer division by zero"),
        (
            "checked_floor_divide",
            &minus_one,
            "integer division overflow",
        ),
        ("checked_power", &negative, "integer to a negative power"),
    ] {
        let e = call(name, &a, b).compute(client()).expect_err(name);
        assert!(e.to_string().contains(why), "{name}: {e}");
    }
    // NumPy's own ufuncs keep NumPy's results, and the pool's threads carry no fault over.
    assert_eq!(fetch::<i64>(&call("floor_divide", &a, &zero)).data[4], 0);
    assert_eq!(fetch::<i64>(&call("add", &a, &ok_b)).data[0], -5);
}

/// `checked_nan(f(x), x, x)` passes `f(x)` through and fails where `f` made NaN out of a
/// number (sqrt of a negative), not where the NaN came in.
#[test]
fn checked_nan_fails_only_for_nan_made_from_numbers() {
    let chunks = ChunkSpec::Regular(vec![2]);
    let x = mk(&Nd::new(&[4], vec![4.0f64, f64::NAN, 0.25, 9.0]), &chunks);
    let sqrt = Array::ufunc("sqrt", &[(&x).into()])
        .unwrap()
        .into_array()
        .unwrap();
    let checked = |y: &Array, x: &Array| {
        Array::ufunc("checked_nan", &[y.into(), x.into(), x.into()])
            .unwrap()
            .into_array()
            .unwrap()
    };
    let got = fetch::<f64>(&checked(&sqrt, &x)).data;
    assert_eq!((got[0], got[2], got[3]), (2.0, 0.5, 3.0));
    assert!(got[1].is_nan(), "a NaN that came in goes out");
    let neg = mk(&Nd::new(&[4], vec![4.0f64, 1.0, -0.25, 9.0]), &chunks);
    let bad = Array::ufunc("sqrt", &[(&neg).into()])
        .unwrap()
        .into_array()
        .unwrap();
    let e = checked(&bad, &neg)
        .compute(client())
        .expect_err("sqrt(-0.25)");
    assert!(e.to_string().contains("real domain"), "{e}");
}

// ---- missing values (R's NA) ----------------------------------------------------------------

/// R's `NA_real_` (a NaN whose low word is 1954) survives the float kernels (what R itself
/// relies on), so `isna` still tells it from NaN after a chain of operations; comparisons
/// with it are missing, and Kleene's logic treats missing as unknown.
#[test]
fn r_na_survives_kernels_and_three_valued_logic_holds() {
    use dask::ufunc::kleene::{NA, R_NA_F64};
    let na = f64::from_bits(R_NA_F64);
    let chunks = ChunkSpec::Regular(vec![2]);
    let x = mk(&Nd::new(&[3], vec![0.5, na, 2.0]), &chunks);
    let ufunc = |name: &str, args: &[Operand]| -> Array {
        Array::ufunc(name, args).unwrap().into_array().unwrap()
    };
    let mut lost = Vec::new();
    for name in [
        "negative",
        "absolute",
        "exp",
        "log",
        "sqrt",
        "sin",
        "cos",
        "tan",
        "floor",
        "ceil",
        "rint",
        "trunc",
        "square",
        "expm1",
        "log1p",
        "log2",
        "log10",
        "tanh",
        "arctan",
        "cbrt",
        "exp2",
        "reciprocal",
        "sign",
    ] {
        let y = ufunc(name, &[(&x).into()]);
        let isna = fetch_bool(&ufunc("isna", &[(&y).into()])).data;
        if !isna[1] || isna[0] || isna[2] {
            lost.push(name);
        }
    }
    for name in [
        "add",
        "subtract",
        "multiply",
        "true_divide",
        "power",
        "maximum",
        "minimum",
        "hypot",
        "fmod",
        "remainder",
        "floor_divide",
        "arctan2",
    ] {
        for args in [[(&x).into(), 1.5.into()], [1.5.into(), (&x).into()]] {
            let y = ufunc(name, &args);
            let isna = fetch_bool(&ufunc("isna", &[(&y).into()])).data;
            if !isna[1] {
                lost.push(name);
            }
        }
    }
    assert!(lost.is_empty(), "R's NA became another NaN in: {lost:?}");
    // Comparisons: missing where an operand is NaN or NA; logic: Kleene's.
    let y = mk(&Nd::new(&[3], vec![1.0, 1.0, f64::NAN]), &chunks);
    let gt = ufunc("na_greater", &[(&x).into(), (&y).into()]);
    assert_eq!(fetch::<i32>(&gt).data, vec![0, NA, NA]);
    let t = mk(&Nd::new(&[3], vec![1i32, 0, NA]), &chunks);
    let and = ufunc("kleene_and", &[(&gt).into(), (&t).into()]);
    assert_eq!(fetch::<i32>(&and).data, vec![0, 0, NA]);
    let or = ufunc("kleene_or", &[(&gt).into(), (&t).into()]);
    assert_eq!(fetch::<i32>(&or).data, vec![1, NA, NA]);
    // any/all as max/min of ranks: all(c(FALSE, NA)) is FALSE, any(c(FALSE, NA)) is NA.
    let rank = ufunc("kleene_rank", &[(&gt).into()]);
    let any = rank.reduce(ReduceOp::Max, None, false, 4).unwrap();
    let any = ufunc("kleene_unrank", &[(&any).into()]);
    assert_eq!(fetch::<i32>(&any).data, vec![NA]);
    let all = rank.reduce(ReduceOp::Min, None, false, 4).unwrap();
    let all = ufunc("kleene_unrank", &[(&all).into()]);
    assert_eq!(fetch::<i32>(&all).data, vec![0]);
    // R's coercion of logicals/integers to double keeps NA.
    let d = ufunc("na_as_double", &[(&t).into()]);
    let d = fetch_bool(&ufunc("isna", &[(&d).into()])).data;
    assert_eq!(d, vec![false, false, true]);
}

/// NumPy refuses subtract, negative and sign on booleans (it does not compute them in int8).
#[test]
fn boolean_subtract_negative_and_sign_are_refused_as_in_numpy() {
    let b = mk(
        &Nd::new(&[3], vec![B8(1), B8(0), B8(1)]),
        &ChunkSpec::Regular(vec![2]),
    );
    for e in [
        b.binary("subtract", &b).unwrap_err(),
        b.unary("negative").unwrap_err(),
        b.unary("sign").unwrap_err(),
    ] {
        assert!(e.to_string().contains("not supported for booleans"), "{e}");
    }
    // A boolean with an integer still subtracts (in the integer's type), as in NumPy.
    let i = mk(
        &Nd::new(&[3], vec![5i8, 5, 5]),
        &ChunkSpec::Regular(vec![2]),
    );
    assert_eq!(
        fetch::<i8>(&i.binary("subtract", &b).unwrap()).data,
        vec![4, 5, 4]
    );
}
