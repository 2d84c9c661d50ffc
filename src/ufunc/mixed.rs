//! Loops whose operands have different types: int64 against uint64 compared exactly (NumPy 2's
//! `qQ->?` loops: through float64, 2**63 - 1 would equal 2**63), and float-with-int64
//! functions (`ldexp`). Strided and simple: they are rare next to the same-type loops.

use super::loops::{Elem, LoopFn, B8};
use super::registry::Loop;
use crate::value::Element;
use std::ffi::c_void;

/// A binary operation on operands of two types.
pub trait MixedOp<A: Elem, B: Elem>: 'static {
    type Out: Elem;
    fn f(a: A, b: B) -> Self::Out;
}

/// # Safety
/// `args` and `steps` describe `n` valid elements per argument, the output not aliasing.
pub unsafe fn mixed_loop<A: Elem, B: Elem, Op: MixedOp<A, B>>(
    args: &[*mut u8],
    n: usize,
    steps: &[isize],
    _: *const c_void,
) {
    let (a, b, o) = (
        args[0] as *const A,
        args[1] as *const B,
        args[2] as *mut Op::Out,
    );
    for i in 0..n as isize {
        // SAFETY: element i of each argument is valid per the contract.
        unsafe {
            *o.byte_offset(i * steps[2]) =
                Op::f(*a.byte_offset(i * steps[0]), *b.byte_offset(i * steps[1]));
        }
    }
}

/// The loop `(A, B) -> Op::Out`.
pub fn mixed<A: Elem, B: Elem, Op: MixedOp<A, B>>() -> Loop {
    Loop::rust(
        &[A::DTYPE, B::DTYPE, <Op::Out as Element>::DTYPE],
        mixed_loop::<A, B, Op> as LoopFn,
    )
}

/// Comparisons of any two integers, exactly (both widened to i128).
macro_rules! exact_compare {
    ($($name:ident: $cmp:tt),*) => {$(
        pub struct $name;
        impl MixedOp<i64, u64> for $name {
            type Out = B8;
            #[inline(always)]
            fn f(a: i64, b: u64) -> B8 { B8::of((a as i128) $cmp (b as i128)) }
        }
        impl MixedOp<u64, i64> for $name {
            type Out = B8;
            #[inline(always)]
            fn f(a: u64, b: i64) -> B8 { B8::of((a as i128) $cmp (b as i128)) }
        }
    )*};
}
exact_compare!(Equal: ==, NotEqual: !=, Less: <, LessEqual: <=, Greater: >, GreaterEqual: >=);

/// The two exact loops of a comparison, to place after the uint64 loop and before float32.
pub fn exact_int_compare(name: &str) -> Vec<Loop> {
    macro_rules! both {
        ($op:ty) => {
            vec![mixed::<i64, u64, $op>(), mixed::<u64, i64, $op>()]
        };
    }
    match name {
        "equal" => both!(Equal),
        "not_equal" => both!(NotEqual),
        "less" => both!(Less),
        "less_equal" => both!(LessEqual),
        "greater" => both!(Greater),
        "greater_equal" => both!(GreaterEqual),
        _ => Vec::new(),
    }
}

/// `ldexp(x, e)`: x · 2^e with one rounding (C's `ldexp`).
pub struct Ldexp;
impl MixedOp<f64, i32> for Ldexp {
    type Out = f64;
    fn f(x: f64, e: i32) -> f64 {
        super::float_parts::ldexp(x, e as i64)
    }
}
impl MixedOp<f32, i32> for Ldexp {
    type Out = f32;
    fn f(x: f32, e: i32) -> f32 {
        super::float_parts::ldexp_f32(x, e as i64)
    }
}
impl MixedOp<f64, i64> for Ldexp {
    type Out = f64;
    fn f(x: f64, e: i64) -> f64 {
        super::float_parts::ldexp(x, e)
    }
}
impl MixedOp<f32, i64> for Ldexp {
    type Out = f32;
    fn f(x: f32, e: i64) -> f32 {
        super::float_parts::ldexp_f32(x, e)
    }
}

/// The loops of `ldexp`: float32 and float64 mantissas with an int64 exponent (smaller
/// integer exponents cast to it).
pub fn ldexp_loops() -> Vec<Loop> {
    // int32 exponents first, as NumPy's table: a Python integer exponent must fit int32.
    vec![
        mixed::<f32, i32, Ldexp>(),
        mixed::<f64, i32, Ldexp>(),
        mixed::<f32, i64, Ldexp>(),
        mixed::<f64, i64, Ldexp>(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_and_uint64_compare_exactly() {
        assert!(!<Equal as MixedOp<i64, u64>>::f(i64::MAX, 1 << 63).get());
        assert!(<Less as MixedOp<i64, u64>>::f(-1, 0).get());
        assert!(<Greater as MixedOp<u64, i64>>::f(u64::MAX, i64::MAX).get());
        assert!(<Equal as MixedOp<u64, i64>>::f(5, 5).get());
    }
}
