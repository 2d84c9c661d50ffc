//! Element casts between dtypes (what NumPy's `astype` does, with Rust's `as` semantics for
//! the unsafe directions: float to int saturates and NaN becomes 0; to bool is `x != 0`).

use super::loops::{unary_loop, LoopFn, UnaryOp, B8};
use crate::value::DType;

/// Converts one element type into another.
pub trait CastTo<D> {
    fn cast(self) -> D;
}

macro_rules! num_casts {
    ($($s:ty),*) => {
        $(num_casts!(@from $s; i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);)*
    };
    (@from $s:ty; $($d:ty),*) => {
        $(impl CastTo<$d> for $s { #[inline(always)] fn cast(self) -> $d { self as $d } })*
        impl CastTo<B8> for $s {
            #[inline(always)]
            fn cast(self) -> B8 {
                #[allow(clippy::float_cmp)]
                B8::of(self != (0 as $s))
            }
        }
        impl CastTo<$s> for B8 { #[inline(always)] fn cast(self) -> $s { self.get() as u8 as $s } }
    };
}
num_casts!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl CastTo<B8> for B8 {
    fn cast(self) -> B8 {
        B8::of(self.get())
    }
}

/// The cast from `S` to `D` as a unary operation.
pub struct Cast<D>(std::marker::PhantomData<D>);

impl<S, D> UnaryOp<S> for Cast<D>
where
    S: super::loops::Elem + CastTo<D>,
    D: super::loops::Elem,
{
    type Out = D;
    #[inline(always)]
    fn f(x: S) -> D {
        x.cast()
    }
}

macro_rules! dispatch_dst {
    ($s:ty, $dst:expr) => {
        match $dst {
            DType::Bool => unary_loop::<$s, Cast<B8>> as LoopFn,
            DType::Int8 => unary_loop::<$s, Cast<i8>>,
            DType::Int16 => unary_loop::<$s, Cast<i16>>,
            DType::Int32 => unary_loop::<$s, Cast<i32>>,
            DType::Int64 => unary_loop::<$s, Cast<i64>>,
            DType::UInt8 => unary_loop::<$s, Cast<u8>>,
            DType::UInt16 => unary_loop::<$s, Cast<u16>>,
            DType::UInt32 => unary_loop::<$s, Cast<u32>>,
            DType::UInt64 => unary_loop::<$s, Cast<u64>>,
            DType::Float32 => unary_loop::<$s, Cast<f32>>,
            DType::Float64 => unary_loop::<$s, Cast<f64>>,
        }
    };
}

/// The loop that casts `src` elements to `dst` (argument 0 in, argument 1 out).
pub fn cast_loop(src: DType, dst: DType) -> LoopFn {
    match src {
        DType::Bool => dispatch_dst!(B8, dst),
        DType::Int8 => dispatch_dst!(i8, dst),
        DType::Int16 => dispatch_dst!(i16, dst),
        DType::Int32 => dispatch_dst!(i32, dst),
        DType::Int64 => dispatch_dst!(i64, dst),
        DType::UInt8 => dispatch_dst!(u8, dst),
        DType::UInt16 => dispatch_dst!(u16, dst),
        DType::UInt32 => dispatch_dst!(u32, dst),
        DType::UInt64 => dispatch_dst!(u64, dst),
        DType::Float32 => dispatch_dst!(f32, dst),
        DType::Float64 => dispatch_dst!(f64, dst),
    }
}
