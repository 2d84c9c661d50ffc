//! Inner loops: the shape of NumPy's generic ufunc loops — argument pointers (inputs, then
//! the output), an element count, byte steps per argument, and user data. Built-in loops are
//! generic over an operation type and monomorphised per dtype; each has a fast path for
//! contiguous data and for a scalar operand (step 0), which the compiler vectorises.

use super::elem::{Float, Int, Num};
use crate::value::Element;
use std::ffi::c_void;
use std::mem::size_of;

/// A built-in inner loop. `args[i]` points at the first element of argument i (inputs then
/// output), `steps[i]` is its byte step; the output never aliases an input.
pub type LoopFn = unsafe fn(args: &[*mut u8], n: usize, steps: &[isize], data: *const c_void);

pub use crate::value::B8;

/// Element types a loop can be instantiated for.
pub trait Elem: Element + Copy {}
impl<T: Element + Copy> Elem for T {}

pub trait UnaryOp<T: Elem>: 'static {
    type Out: Elem;
    fn f(x: T) -> Self::Out;
}

pub trait BinaryOp<T: Elem>: 'static {
    type Out: Elem;
    fn f(a: T, b: T) -> Self::Out;
}

/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
#[inline(always)]
unsafe fn unary_body<T: Elem, Op: UnaryOp<T>>(args: &[*mut u8], n: usize, steps: &[isize]) {
    let (x, o) = (args[0] as *const T, args[1] as *mut Op::Out);
    if steps[0] == size_of::<T>() as isize && steps[1] == size_of::<Op::Out>() as isize {
        // SAFETY: contiguous and valid per the contract.
        let (x, o) = unsafe {
            (
                std::slice::from_raw_parts(x, n),
                std::slice::from_raw_parts_mut(o, n),
            )
        };
        for (o, &x) in o.iter_mut().zip(x) {
            *o = Op::f(x);
        }
    } else {
        for i in 0..n as isize {
            // SAFETY: strided access within the described extents.
            unsafe { *o.byte_offset(i * steps[1]) = Op::f(*x.byte_offset(i * steps[0])) };
        }
    }
}
/// The same loop compiled for AVX2 and FMA (bit-identical results: Rust never contracts
/// floating-point operations on its own).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn unary_avx2<T: Elem, Op: UnaryOp<T>>(args: &[*mut u8], n: usize, steps: &[isize]) {
    // SAFETY: forwarded contract.
    unsafe { unary_body::<T, Op>(args, n, steps) }
}

/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
pub unsafe fn unary_loop<T: Elem, Op: UnaryOp<T>>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    _: *const c_void,
) {
    #[cfg(target_arch = "x86_64")]
    if super::fastmath::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time); forwarded contract.
        return unsafe { unary_avx2::<T, Op>(args, n, steps) };
    }
    // SAFETY: forwarded contract.
    unsafe { unary_body::<T, Op>(args, n, steps) }
}

/// # Safety
/// As for [`unary_loop`].
#[inline(always)]
unsafe fn binary_body<T: Elem, Op: BinaryOp<T>>(args: &[*mut u8], n: usize, steps: &[isize]) {
    let (a, b, o) = (
        args[0] as *const T,
        args[1] as *const T,
        args[2] as *mut Op::Out,
    );
    let (t, u) = (size_of::<T>() as isize, size_of::<Op::Out>() as isize);
    // SAFETY (all branches): the pointers describe `n` elements with the given steps.
    unsafe {
        if steps[2] == u {
            let o = std::slice::from_raw_parts_mut(o, n);
            if steps[0] == t && steps[1] == t {
                let (a, b) = (
                    std::slice::from_raw_parts(a, n),
                    std::slice::from_raw_parts(b, n),
                );
                for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
                    *o = Op::f(a, b);
                }
                return;
            }
            if steps[0] == 0 && steps[1] == t {
                let (a, b) = (*a, std::slice::from_raw_parts(b, n));
                for (o, &b) in o.iter_mut().zip(b) {
                    *o = Op::f(a, b);
                }
                return;
            }
            if steps[0] == t && steps[1] == 0 {
                let (a, b) = (std::slice::from_raw_parts(a, n), *b);
                for (o, &a) in o.iter_mut().zip(a) {
                    *o = Op::f(a, b);
                }
                return;
            }
        }
        for i in 0..n as isize {
            *o.byte_offset(i * steps[2]) =
                Op::f(*a.byte_offset(i * steps[0]), *b.byte_offset(i * steps[1]));
        }
    }
}
/// The same loop compiled for AVX2 and FMA (bit-identical results: Rust never contracts
/// floating-point operations on its own).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn binary_avx2<T: Elem, Op: BinaryOp<T>>(args: &[*mut u8], n: usize, steps: &[isize]) {
    // SAFETY: forwarded contract.
    unsafe { binary_body::<T, Op>(args, n, steps) }
}

/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
pub unsafe fn binary_loop<T: Elem, Op: BinaryOp<T>>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    _: *const c_void,
) {
    #[cfg(target_arch = "x86_64")]
    if super::fastmath::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time); forwarded contract.
        return unsafe { binary_avx2::<T, Op>(args, n, steps) };
    }
    // SAFETY: forwarded contract.
    unsafe { binary_body::<T, Op>(args, n, steps) }
}

/// `where(cond, a, b)`: the one ternary loop.
///
/// # Safety
/// As for [`unary_loop`].
#[inline(always)]
unsafe fn where_body<T: Elem>(args: &[*mut u8], n: usize, steps: &[isize]) {
    let (c, a, b, o) = (
        args[0] as *const B8,
        args[1] as *const T,
        args[2] as *const T,
        args[3] as *mut T,
    );
    let t = size_of::<T>() as isize;
    // SAFETY: per the contract.
    unsafe {
        if steps[0] == 1
            && steps[3] == t
            && (steps[1] == t || steps[1] == 0)
            && (steps[2] == t || steps[2] == 0)
        {
            // Contiguous condition and output; each value operand contiguous or a scalar
            // (`where(x < 0.9, 0, x)`): branch-free selects the compiler vectorises.
            let o = std::slice::from_raw_parts_mut(o, n);
            let c = std::slice::from_raw_parts(c, n);
            let pick = |c: B8, a: T, b: T| if c.0 != 0 { a } else { b };
            match (steps[1] == 0, steps[2] == 0) {
                (false, false) => {
                    let (a, b) = (
                        std::slice::from_raw_parts(a, n),
                        std::slice::from_raw_parts(b, n),
                    );
                    for (((o, &c), &a), &b) in o.iter_mut().zip(c).zip(a).zip(b) {
                        *o = pick(c, a, b);
                    }
                }
                (true, false) => {
                    let (a, b) = (*a, std::slice::from_raw_parts(b, n));
                    for ((o, &c), &b) in o.iter_mut().zip(c).zip(b) {
                        *o = pick(c, a, b);
                    }
                }
                (false, true) => {
                    let (a, b) = (std::slice::from_raw_parts(a, n), *b);
                    for ((o, &c), &a) in o.iter_mut().zip(c).zip(a) {
                        *o = pick(c, a, b);
                    }
                }
                (true, true) => {
                    let (a, b) = (*a, *b);
                    for (o, &c) in o.iter_mut().zip(c) {
                        *o = pick(c, a, b);
                    }
                }
            }
            return;
        }
        for i in 0..n as isize {
            let pick = (*c.byte_offset(i * steps[0])).get();
            *o.byte_offset(i * steps[3]) = if pick {
                *a.byte_offset(i * steps[1])
            } else {
                *b.byte_offset(i * steps[2])
            };
        }
    }
}
/// The same loop compiled for AVX2 and FMA (bit-identical results: Rust never contracts
/// floating-point operations on its own).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn where_avx2<T: Elem>(args: &[*mut u8], n: usize, steps: &[isize]) {
    // SAFETY: forwarded contract.
    unsafe { where_body::<T>(args, n, steps) }
}

/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
pub unsafe fn where_loop<T: Elem>(args: &[*mut u8], n: usize, steps: &[isize], _: *const c_void) {
    #[cfg(target_arch = "x86_64")]
    if super::fastmath::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked at run time); forwarded contract.
        return unsafe { where_avx2::<T>(args, n, steps) };
    }
    // SAFETY: forwarded contract.
    unsafe { where_body::<T>(args, n, steps) }
}

macro_rules! unary_op {
    ($name:ident, $bound:ident, $out:ty, |$x:ident| $e:expr) => {
        pub struct $name;
        impl<T: Elem + $bound> UnaryOp<T> for $name {
            type Out = $out;
            #[inline(always)]
            fn f($x: T) -> $out {
                $e
            }
        }
    };
}

macro_rules! binary_op {
    ($name:ident, $bound:ident, $out:ty, |$a:ident, $b:ident| $e:expr) => {
        pub struct $name;
        impl<T: Elem + $bound> BinaryOp<T> for $name {
            type Out = $out;
            #[inline(always)]
            fn f($a: T, $b: T) -> $out {
                $e
            }
        }
    };
}

pub(crate) use {binary_op, unary_op};

// Arithmetic on every numeric type.
binary_op!(Add, Num, T, |a, b| T::add(a, b));
binary_op!(Sub, Num, T, |a, b| T::sub(a, b));
binary_op!(Mul, Num, T, |a, b| T::mul(a, b));
binary_op!(FloorDiv, Num, T, |a, b| T::floor_div(a, b));
binary_op!(Mod, Num, T, |a, b| T::modulo(a, b));
binary_op!(Pow, Num, T, |a, b| T::power(a, b));
binary_op!(CheckedFloorDiv, Num, T, |a, b| T::checked_floor_div(a, b));
binary_op!(CheckedMod, Num, T, |a, b| T::checked_modulo(a, b));
binary_op!(CheckedRem, Num, T, |a, b| T::checked_rem(a, b));
binary_op!(CheckedPow, Num, T, |a, b| T::checked_power(a, b));
binary_op!(Maximum, Num, T, |a, b| T::maximum(a, b));
binary_op!(Minimum, Num, T, |a, b| T::minimum(a, b));
binary_op!(FMax, Num, T, |a, b| T::fmax(a, b));
binary_op!(FMin, Num, T, |a, b| T::fmin(a, b));
unary_op!(Neg, Num, T, |x| T::neg(x));
unary_op!(Abs, Num, T, |x| T::abs(x));
unary_op!(Sign, Num, T, |x| T::sign(x));
unary_op!(Square, Num, T, |x| T::mul(x, x));
unary_op!(IsNan, Num, B8, |x| B8::of(T::is_nan(x)));
unary_op!(IsInf, Num, B8, |x| B8::of(T::is_inf(x)));
unary_op!(IsFinite, Num, B8, |x| B8::of(
    !T::is_nan(x) && !T::is_inf(x)
));

// Comparisons and logic on numbers, giving booleans.
binary_op!(Equal, Num, B8, |a, b| B8::of(a == b));
binary_op!(NotEqual, Num, B8, |a, b| B8::of(a != b));
binary_op!(Less, Num, B8, |a, b| B8::of(a < b));
binary_op!(LessEqual, Num, B8, |a, b| B8::of(a <= b));
binary_op!(Greater, Num, B8, |a, b| B8::of(a > b));
binary_op!(GreaterEqual, Num, B8, |a, b| B8::of(a >= b));
binary_op!(LogicalAnd, Num, B8, |a, b| B8::of(
    T::truthy(a) && T::truthy(b)
));
binary_op!(LogicalOr, Num, B8, |a, b| B8::of(
    T::truthy(a) || T::truthy(b)
));
binary_op!(LogicalXor, Num, B8, |a, b| B8::of(
    T::truthy(a) != T::truthy(b)
));
unary_op!(LogicalNot, Num, B8, |x| B8::of(!T::truthy(x)));

// Integers only.
binary_op!(BitAnd, Int, T, |a, b| T::bit_and(a, b));
binary_op!(BitOr, Int, T, |a, b| T::bit_or(a, b));
binary_op!(BitXor, Int, T, |a, b| T::bit_xor(a, b));
binary_op!(Shl, Int, T, |a, b| T::shl(a, b));
binary_op!(Shr, Int, T, |a, b| T::shr(a, b));
unary_op!(Invert, Int, T, |x| T::bit_not(x));

// Floats only.
binary_op!(TrueDiv, Float, T, |a, b| T::true_div(a, b));
binary_op!(Atan2, Float, T, |a, b| T::atan2(a, b));
unary_op!(Exp, Float, T, |x| T::exp(x));
unary_op!(Expm1, Float, T, |x| T::map(x, f64::exp_m1));
unary_op!(Log, Float, T, |x| T::ln(x));
unary_op!(Log1p, Float, T, |x| T::map(x, f64::ln_1p));
unary_op!(Log2, Float, T, |x| T::map(x, f64::log2));
unary_op!(Log10, Float, T, |x| T::map(x, f64::log10));
unary_op!(Sqrt, Float, T, |x| T::sqrt(x));
unary_op!(Sin, Float, T, |x| T::map(x, f64::sin));
unary_op!(Cos, Float, T, |x| T::map(x, f64::cos));
unary_op!(Tan, Float, T, |x| T::map(x, f64::tan));
unary_op!(Arcsin, Float, T, |x| T::map(x, f64::asin));
unary_op!(Arccos, Float, T, |x| T::map(x, f64::acos));
unary_op!(Arctan, Float, T, |x| T::map(x, f64::atan));
unary_op!(Sinh, Float, T, |x| T::map(x, f64::sinh));
unary_op!(Cosh, Float, T, |x| T::map(x, f64::cosh));
unary_op!(Tanh, Float, T, |x| T::map(x, f64::tanh));
unary_op!(Floor, Float, T, |x| T::floor(x));
unary_op!(Ceil, Float, T, |x| T::ceil(x));
unary_op!(Rint, Float, T, |x| T::rint(x));
unary_op!(Trunc, Float, T, |x| T::map(x, f64::trunc));
unary_op!(Cbrt, Float, T, |x| T::map(x, f64::cbrt));
unary_op!(Exp2, Float, T, |x| T::map(x, f64::exp2));
unary_op!(Reciprocal, Float, T, |x| T::true_div(T::ONE, x));
binary_op!(Hypot, Float, T, |a, b| T::map2(a, b, f64::hypot));
/// A checking ternary loop: copies its first argument and raises `fault` (see `fault`) when
/// `bad(x, a, b)` holds for any element. Fused after the operation it checks, it costs one
/// test per element.
///
/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
#[inline(always)]
unsafe fn checking_loop<T: Elem>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    bad: impl Fn(T, T, T) -> bool,
    fault: super::fault::Fault,
) {
    let mut faulted = false;
    for i in 0..n as isize {
        // SAFETY: per the contract, element i of each argument is valid.
        unsafe {
            let x = *(args[0].byte_offset(i * steps[0]) as *const T);
            let a = *(args[1].byte_offset(i * steps[1]) as *const T);
            let b = *(args[2].byte_offset(i * steps[2]) as *const T);
            faulted |= bad(x, a, b);
            *(args[3].byte_offset(i * steps[3]) as *mut T) = x;
        }
    }
    if faulted {
        super::fault::raise(fault);
    }
}

/// `checked_nan(y, a, b)`: `y`, faulting (`Fault::Domain`) where `y` is NaN although `a` and
/// `b` are not (a function's result outside its real domain; a unary function passes its
/// argument twice).
///
/// # Safety
/// As [`checking_loop`].
pub unsafe fn checked_nan_loop<T: Elem + Float>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    _: *const c_void,
) {
    let bad = |y: T, a: T, b: T| T::is_nan(y) && !T::is_nan(a) && !T::is_nan(b);
    // SAFETY: forwarded contract.
    unsafe { checking_loop(args, n, steps, bad, super::fault::Fault::Domain) }
}

/// `checked_integral(x, lo, hi)`: `x`, faulting (`Fault::Inexact`) unless it is a whole
/// number with `lo <= x < hi`, so that the conversion to an integer type spanning
/// `[lo, hi)` that follows is exact (Julia's `Int.(x)` and `round.(Int, x)` raise
/// `InexactError` otherwise; a plain cast would give some number).
///
/// # Safety
/// As [`checking_loop`].
pub unsafe fn checked_integral_loop<T: Elem + Float>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    _: *const c_void,
) {
    let bad = |x: T, lo: T, hi: T| !(T::map(x, f64::trunc) == x && lo <= x && x < hi);
    // SAFETY: forwarded contract.
    unsafe { checking_loop(args, n, steps, bad, super::fault::Fault::Inexact) }
}

// C's fmod: the remainder with the sign of the dividend (Rust's `%` on floats).
binary_op!(Fmod, Float, T, |a, b| T::map2(a, b, |x, y| x % y));
binary_op!(Copysign, Float, T, |a, b| T::map2(a, b, f64::copysign));

/// Boolean versions of the operations NumPy defines on bool ('??->?' loops).
pub mod boolean {
    use super::*;

    macro_rules! bool_binary {
        ($name:ident, |$a:ident, $b:ident| $e:expr) => {
            impl BinaryOp<B8> for $name {
                type Out = B8;
                #[inline(always)]
                fn f(a: B8, b: B8) -> B8 {
                    let ($a, $b) = (a.get(), b.get());
                    B8::of($e)
                }
            }
        };
    }
    bool_binary!(Add, |a, b| a || b);
    bool_binary!(Mul, |a, b| a && b);
    bool_binary!(Maximum, |a, b| a || b);
    bool_binary!(Minimum, |a, b| a && b);
    bool_binary!(FMax, |a, b| a || b);
    bool_binary!(FMin, |a, b| a && b);
    bool_binary!(BitAnd, |a, b| a && b);
    bool_binary!(BitOr, |a, b| a || b);
    bool_binary!(BitXor, |a, b| a != b);
    bool_binary!(Equal, |a, b| a == b);
    bool_binary!(NotEqual, |a, b| a != b);
    bool_binary!(Less, |a, b| !a & b);
    bool_binary!(LessEqual, |a, b| a <= b);
    bool_binary!(Greater, |a, b| a & !b);
    bool_binary!(GreaterEqual, |a, b| a >= b);
    bool_binary!(LogicalAnd, |a, b| a && b);
    bool_binary!(LogicalOr, |a, b| a || b);
    bool_binary!(LogicalXor, |a, b| a != b);

    impl UnaryOp<B8> for LogicalNot {
        type Out = B8;
        fn f(x: B8) -> B8 {
            B8::of(!x.get())
        }
    }
    impl UnaryOp<B8> for Invert {
        type Out = B8;
        fn f(x: B8) -> B8 {
            B8::of(!x.get())
        }
    }
    impl UnaryOp<B8> for Abs {
        type Out = B8;
        fn f(x: B8) -> B8 {
            x
        }
    }
    impl UnaryOp<B8> for IsNan {
        type Out = B8;
        fn f(_: B8) -> B8 {
            B8(0)
        }
    }
    impl UnaryOp<B8> for IsInf {
        type Out = B8;
        fn f(_: B8) -> B8 {
            B8(0)
        }
    }
    impl UnaryOp<B8> for IsFinite {
        type Out = B8;
        fn f(_: B8) -> B8 {
            B8(1)
        }
    }
}
