//! The built-in ufunc table.

use super::extra_ops::*;
use super::loops::*;
use super::registry::{Loop, Ufunc};
use crate::value::{DType, Element};

macro_rules! unary {
    ($op:ty; $($t:ty),*) => {
        vec![$(Loop::rust(&[<$t>::DTYPE, <<$op as UnaryOp<$t>>::Out>::DTYPE], unary_loop::<$t, $op>)),*]
    };
}
macro_rules! binary {
    ($op:ty; $($t:ty),*) => {
        vec![$(Loop::rust(
            &[<$t>::DTYPE, <$t>::DTYPE, <<$op as BinaryOp<$t>>::Out>::DTYPE],
            binary_loop::<$t, $op>,
        )),*]
    };
}

// Loop orders follow NumPy: smallest types first, so resolution picks the tightest loop.
macro_rules! ints { ($m:ident, $op:ty) => { $m!($op; i8, u8, i16, u16, i32, u32, i64, u64) }; }
macro_rules! nums { ($m:ident, $op:ty) => { $m!($op; i8, u8, i16, u16, i32, u32, i64, u64, f32, f64) }; }
macro_rules! floats { ($m:ident, $op:ty) => { $m!($op; f32, f64) }; }
macro_rules! with_bool {
    ($m:ident, $op:ty, $rest:ident) => {{
        let mut v = $m!($op; B8);
        v.extend($rest!($m, $op));
        v
    }};
}

fn make(name: &str, nin: usize, identity: Option<i64>, loops: Vec<Loop>) -> Ufunc {
    Ufunc::new(name, nin, identity, loops, true).expect("built-in ufuncs are well-formed")
}

pub(super) fn builtins() -> Vec<Ufunc> {
    let mut v = vec![
        make("add", 2, Some(0), with_bool!(binary, Add, nums)),
        make("subtract", 2, None, nums!(binary, Sub)),
        make("multiply", 2, Some(1), with_bool!(binary, Mul, nums)),
        make("true_divide", 2, None, floats!(binary, TrueDiv)).with_ints_to_double(),
        make("floor_divide", 2, None, nums!(binary, FloorDiv)),
        make("power", 2, None, nums!(binary, Pow)),
        make("remainder", 2, None, nums!(binary, Mod)),
        // Integer division and power that fail where the result is undefined (for hosts
        // that raise there: Julia), instead of NumPy's 0. See `fault`.
        make(
            "checked_floor_divide",
            2,
            None,
            nums!(binary, CheckedFloorDiv),
        ),
        make("checked_remainder", 2, None, nums!(binary, CheckedMod)),
        make("checked_fmod", 2, None, nums!(binary, CheckedRem)),
        make("checked_power", 2, None, nums!(binary, CheckedPow)),
        make("negative", 1, None, nums!(unary, Neg)),
        make("absolute", 1, None, with_bool!(unary, Abs, nums)),
        make("sign", 1, None, nums!(unary, Sign)),
        make("square", 1, None, nums!(unary, Square)),
        make("exp", 1, None, {
            // float64 `exp` has a vectorised kernel of its own.
            vec![
                Loop::rust(&[DType::Float32, DType::Float32], unary_loop::<f32, Exp>),
                Loop::rust(&[DType::Float64, DType::Float64], super::fastmath::EXP_F64),
            ]
        }),
        make("expm1", 1, None, floats!(unary, Expm1)),
        make("log", 1, None, floats!(unary, Log)),
        make("log1p", 1, None, floats!(unary, Log1p)),
        make("log2", 1, None, floats!(unary, Log2)),
        make("log10", 1, None, floats!(unary, Log10)),
        make("sqrt", 1, None, floats!(unary, Sqrt)),
        make("sin", 1, None, floats!(unary, Sin)),
        make("cos", 1, None, floats!(unary, Cos)),
        make("tan", 1, None, floats!(unary, Tan)),
        make("arcsin", 1, None, floats!(unary, Arcsin)),
        make("arccos", 1, None, floats!(unary, Arccos)),
        make("arctan", 1, None, floats!(unary, Arctan)),
        make("arctan2", 2, None, floats!(binary, Atan2)),
        make("sinh", 1, None, floats!(unary, Sinh)),
        make("cosh", 1, None, floats!(unary, Cosh)),
        make("tanh", 1, None, floats!(unary, Tanh)),
        make(
            "floor",
            1,
            None,
            int_then_float(with_bool!(unary, Identity, ints), floats!(unary, Floor)),
        ),
        make(
            "ceil",
            1,
            None,
            int_then_float(with_bool!(unary, Identity, ints), floats!(unary, Ceil)),
        ),
        make("rint", 1, None, floats!(unary, Rint)),
        make(
            "trunc",
            1,
            None,
            int_then_float(with_bool!(unary, Identity, ints), floats!(unary, Trunc)),
        ),
        make("cbrt", 1, None, floats!(unary, Cbrt)),
        make("exp2", 1, None, floats!(unary, Exp2)),
        make(
            "reciprocal",
            1,
            None,
            int_then_float(ints!(unary, IntReciprocal), floats!(unary, Reciprocal)),
        ),
        make("hypot", 2, Some(0), floats!(binary, Hypot)),
        make(
            "fmod",
            2,
            None,
            int_then_float(ints!(binary, IntFmod), floats!(binary, Fmod)),
        ),
        make("copysign", 2, None, floats!(binary, Copysign)),
        make("maximum", 2, None, with_bool!(binary, Maximum, nums)),
        make("minimum", 2, None, with_bool!(binary, Minimum, nums)),
        make("fmax", 2, None, with_bool!(binary, FMax, nums)),
        make("fmin", 2, None, with_bool!(binary, FMin, nums)),
        make("isnan", 1, None, with_bool!(unary, IsNan, nums)),
        make("isinf", 1, None, with_bool!(unary, IsInf, nums)),
        make("isfinite", 1, None, with_bool!(unary, IsFinite, nums)),
        make(
            "equal",
            2,
            None,
            exact_mix("equal", with_bool!(binary, Equal, nums)),
        ),
        make(
            "not_equal",
            2,
            None,
            exact_mix("not_equal", with_bool!(binary, NotEqual, nums)),
        ),
        make(
            "less",
            2,
            None,
            exact_mix("less", with_bool!(binary, Less, nums)),
        ),
        make(
            "less_equal",
            2,
            None,
            exact_mix("less_equal", with_bool!(binary, LessEqual, nums)),
        ),
        make(
            "greater",
            2,
            None,
            exact_mix("greater", with_bool!(binary, Greater, nums)),
        ),
        make(
            "greater_equal",
            2,
            None,
            exact_mix("greater_equal", with_bool!(binary, GreaterEqual, nums)),
        ),
        make(
            "logical_and",
            2,
            Some(1),
            with_bool!(binary, LogicalAnd, nums),
        ),
        make(
            "logical_or",
            2,
            Some(0),
            with_bool!(binary, LogicalOr, nums),
        ),
        make(
            "logical_xor",
            2,
            Some(0),
            with_bool!(binary, LogicalXor, nums),
        ),
        make("logical_not", 1, None, with_bool!(unary, LogicalNot, nums)),
        make("bitwise_and", 2, Some(-1), with_bool!(binary, BitAnd, ints)),
        make("bitwise_or", 2, Some(0), with_bool!(binary, BitOr, ints)),
        make("bitwise_xor", 2, Some(0), with_bool!(binary, BitXor, ints)),
        make("invert", 1, None, with_bool!(unary, Invert, ints)),
        make("left_shift", 2, None, ints!(binary, Shl)),
        make("right_shift", 2, None, ints!(binary, Shr)),
    ];
    // `where(cond, a, b)` is a ternary ufunc here, so it fuses like the others.
    let mut where_loops = Vec::new();
    macro_rules! where_for { ($($t:ty),*) => { $(where_loops.push(Loop::rust(
        &[DType::Bool, <$t>::DTYPE, <$t>::DTYPE, <$t>::DTYPE], where_loop::<$t>));)* }; }
    where_for!(B8, i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);
    v.push(make("where", 3, None, where_loops));
    v.extend(super::kleene::ufuncs());
    v.extend(more_builtins());
    let floor_divide = v
        .iter()
        .find(|u| u.name() == "floor_divide")
        .expect("floor_divide is built in");
    v.push(divmod(floor_divide));
    // `checked_integral(x, lo, hi)`: x, failing unless a whole number in [lo, hi).
    v.push(make(
        "checked_integral",
        3,
        None,
        vec![
            Loop::rust(&[DType::Float32; 4], checked_integral_loop::<f32>),
            Loop::rust(&[DType::Float64; 4], checked_integral_loop::<f64>),
        ],
    ));
    // `checked_nan(y, a, b)`: y, failing where a function made NaN out of numbers a, b.
    v.push(make(
        "checked_nan",
        3,
        None,
        vec![
            Loop::rust(&[DType::Float32; 4], checked_nan_loop::<f32>),
            Loop::rust(&[DType::Float64; 4], checked_nan_loop::<f64>),
        ],
    ));
    // NumPy's aliases.
    for (alias, of) in [
        ("divide", "true_divide"),
        ("mod", "remainder"),
        ("abs", "absolute"),
        ("bitwise_not", "invert"),
        ("asin", "arcsin"),
        ("acos", "arccos"),
        ("atan", "arctan"),
        ("atan2", "arctan2"),
        ("asinh", "arcsinh"),
        ("acosh", "arccosh"),
        ("atanh", "arctanh"),
        ("pow", "power"),
        ("bitwise_invert", "invert"),
        ("bitwise_left_shift", "left_shift"),
        ("bitwise_right_shift", "right_shift"),
        ("degrees", "rad2deg"),
        ("radians", "deg2rad"),
        ("conj", "conjugate"),
        // C's pow() without NumPy's scalar fast path (power with the Python scalar 0.5 is a
        // square root there, see kernel::Program::apply): for the bindings, whose languages
        // compute (-0.0)^0.5 as 0.0 and (-Inf)^0.5 by their own rules.
        ("c_power", "power"),
    ] {
        let u = v
            .iter()
            .find(|u| u.name() == of)
            .expect("alias target exists");
        let mut copy = make(alias, u.nin(), u.identity(), u.loops().to_vec());
        if alias == "divide" {
            copy = copy.with_ints_to_double();
        }
        v.push(copy);
    }
    v
}

/// Comparison loops with the exact int64/uint64 pair inserted after the uint64 loop.
fn exact_mix(name: &str, mut loops: Vec<Loop>) -> Vec<Loop> {
    let at = loops
        .iter()
        .position(|l| l.inputs()[0] == DType::Float32)
        .unwrap_or(loops.len());
    for (k, l) in super::mixed::exact_int_compare(name)
        .into_iter()
        .enumerate()
    {
        loops.insert(at + k, l);
    }
    loops
}

fn int_then_float(mut ints: Vec<Loop>, floats: Vec<Loop>) -> Vec<Loop> {
    ints.extend(floats);
    ints
}

/// The rest of NumPy's ufuncs: inverse hyperbolics, logs of sums, angles, float parts,
/// integer functions, the multiple-output ufuncs and the products (gufuncs).
fn more_builtins() -> Vec<Ufunc> {
    let mut v = vec![
        make("arcsinh", 1, None, floats!(unary, Arcsinh)),
        make("arccosh", 1, None, floats!(unary, Arccosh)),
        make("arctanh", 1, None, floats!(unary, Arctanh)),
        make("logaddexp", 2, None, floats!(binary, Logaddexp)),
        make("logaddexp2", 2, None, floats!(binary, Logaddexp2)),
        make("deg2rad", 1, None, floats!(unary, Deg2rad)),
        make("rad2deg", 1, None, floats!(unary, Rad2deg)),
        make("fabs", 1, None, floats!(unary, Fabs)),
        make("positive", 1, None, nums!(unary, Identity)),
        make("signbit", 1, None, floats!(unary, Signbit)),
        make("spacing", 1, None, floats!(unary, Spacing)),
        make("nextafter", 2, None, floats!(binary, Nextafter)),
        make("heaviside", 2, None, floats!(binary, Heaviside)),
        // float64 only, as NumPy's: every input computes in float64.
        make("float_power", 2, None, binary!(FloatPower; f64)),
        make("gcd", 2, Some(0), ints!(binary, Gcd)),
        make("lcm", 2, None, ints!(binary, Lcm)),
        make("bitwise_count", 1, None, ints!(unary, BitwiseCount)),
        make("ldexp", 2, None, super::mixed::ldexp_loops()),
        make("conjugate", 1, None, nums!(unary, Identity)),
        make(
            "round",
            1,
            None,
            int_then_float(ints!(unary, Identity), floats!(unary, Rint)),
        ),
        // The outputs of the multiple-output ufuncs, one ufunc each.
        make("frexp_mantissa", 1, None, floats!(unary, FrexpMantissa)),
        make("frexp_exponent", 1, None, floats!(unary, FrexpExponent)),
        make("modf_fraction", 1, None, floats!(unary, ModfFraction)),
        make("modf_integral", 1, None, floats!(unary, ModfIntegral)),
    ];
    let with_parts = |name: &str, nin: usize, parts: &[&str], v: &[Ufunc]| {
        let first = v.iter().find(|u| u.name() == parts[0]);
        let loops = first.map(|u| u.loops().to_vec()).unwrap_or_default();
        make(name, nin, None, loops).with_parts(parts)
    };
    v.push(with_parts(
        "frexp",
        1,
        &["frexp_mantissa", "frexp_exponent"],
        &v,
    ));
    v.push(with_parts(
        "modf",
        1,
        &["modf_fraction", "modf_integral"],
        &v,
    ));
    // The array products as generalized ufuncs: resolution as `multiply` (bool matmul is
    // bool), the work done by the chunked products.
    for (name, signature) in [
        ("matmul", "(n?,k),(k,m?)->(n?,m?)"),
        ("vecdot", "(n),(n)->()"),
        ("matvec", "(m,n),(n)->(m)"),
        ("vecmat", "(n),(n,m)->(m)"),
    ] {
        v.push(make(name, 2, None, with_bool!(binary, Mul, nums)).with_core(signature));
    }
    v
}

/// `divmod`: `floor_divide` and `remainder` as one call (its loops are theirs).
pub(super) fn divmod(floor_divide: &Ufunc) -> Ufunc {
    make("divmod", 2, None, floor_divide.loops().to_vec())
        .with_parts(&["floor_divide", "remainder"])
}
