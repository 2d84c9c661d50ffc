//! The built-in ufunc table.

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
        make("subtract", 2, Some(0), nums!(binary, Sub)),
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
        make("floor", 1, None, floats!(unary, Floor)),
        make("ceil", 1, None, floats!(unary, Ceil)),
        make("rint", 1, None, floats!(unary, Rint)),
        make("trunc", 1, None, floats!(unary, Trunc)),
        make("cbrt", 1, None, floats!(unary, Cbrt)),
        make("exp2", 1, None, floats!(unary, Exp2)),
        make("reciprocal", 1, None, floats!(unary, Reciprocal)),
        make("hypot", 2, None, floats!(binary, Hypot)),
        make("fmod", 2, None, floats!(binary, Fmod)),
        make("copysign", 2, None, floats!(binary, Copysign)),
        make("maximum", 2, None, with_bool!(binary, Maximum, nums)),
        make("minimum", 2, None, with_bool!(binary, Minimum, nums)),
        make("fmax", 2, None, with_bool!(binary, FMax, nums)),
        make("fmin", 2, None, with_bool!(binary, FMin, nums)),
        make("isnan", 1, None, with_bool!(unary, IsNan, nums)),
        make("isinf", 1, None, with_bool!(unary, IsInf, nums)),
        make("isfinite", 1, None, with_bool!(unary, IsFinite, nums)),
        make("equal", 2, None, with_bool!(binary, Equal, nums)),
        make("not_equal", 2, None, with_bool!(binary, NotEqual, nums)),
        make("less", 2, None, with_bool!(binary, Less, nums)),
        make("less_equal", 2, None, with_bool!(binary, LessEqual, nums)),
        make("greater", 2, None, with_bool!(binary, Greater, nums)),
        make(
            "greater_equal",
            2,
            None,
            with_bool!(binary, GreaterEqual, nums),
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
        ("round", "rint"),
        ("bitwise_not", "invert"),
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
