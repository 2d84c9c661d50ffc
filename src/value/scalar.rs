//! Scalars as they mix with arrays (Python-like: bool, int, float; "weak" under NEP 50).
//! Converted to and from elements with the casts' own rules (Rust's `as`: floats to integers
//! saturate and NaN becomes 0; anything to bool is `x != 0`; bool to numbers is 0 or 1).

use super::{DType, Value, B8};

/// The Python kind of a scalar operand (what NEP 50's weak promotion looks at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Bool,
    Int,
    Float,
}

/// A scalar operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    pub fn kind(self) -> ScalarKind {
        match self {
            Scalar::Bool(_) => ScalarKind::Bool,
            Scalar::Int(_) => ScalarKind::Int,
            Scalar::Float(_) => ScalarKind::Float,
        }
    }

    /// The scalar as one element of `dtype`, in native byte order (8 bytes, zero-padded).
    pub fn to_element(self, dtype: DType) -> [u8; 8] {
        macro_rules! put {
            ($v:expr) => {{
                let b = $v.to_ne_bytes();
                let mut out = [0u8; 8];
                out[..b.len()].copy_from_slice(&b);
                out
            }};
        }
        macro_rules! from {
            ($x:expr) => {
                match dtype {
                    DType::Bool => put!(B8::of($x != Default::default()).0),
                    DType::Int8 => put!($x as i8),
                    DType::Int16 => put!($x as i16),
                    DType::Int32 => put!($x as i32),
                    DType::Int64 => put!($x as i64),
                    DType::UInt8 => put!($x as u8),
                    DType::UInt16 => put!($x as u16),
                    DType::UInt32 => put!($x as u32),
                    DType::UInt64 => put!($x as u64),
                    DType::Float32 => put!($x as f32),
                    DType::Float64 => put!($x as f64),
                }
            };
        }
        match self {
            Scalar::Bool(b) => from!(b as u8),
            Scalar::Int(i) => from!(i),
            #[allow(clippy::float_cmp)]
            Scalar::Float(x) => from!(x),
        }
    }

    /// Reads element `bytes` of `dtype` as a scalar.
    pub fn from_element(bytes: &[u8], dtype: DType) -> Scalar {
        let mut padded = [0u8; 8];
        padded[..dtype.itemsize()].copy_from_slice(&bytes[..dtype.itemsize()]);
        macro_rules! get {
            ($t:ty) => {
                <$t>::from_ne_bytes(
                    padded[..std::mem::size_of::<$t>()]
                        .try_into()
                        .expect("size"),
                )
            };
        }
        match dtype {
            DType::Bool => Scalar::Bool(padded[0] != 0),
            DType::Int8 => Scalar::Int(get!(i8) as i64),
            DType::Int16 => Scalar::Int(get!(i16) as i64),
            DType::Int32 => Scalar::Int(get!(i32) as i64),
            DType::Int64 => Scalar::Int(get!(i64)),
            DType::UInt8 => Scalar::Int(get!(u8) as i64),
            DType::UInt16 => Scalar::Int(get!(u16) as i64),
            DType::UInt32 => Scalar::Int(get!(u32) as i64),
            DType::UInt64 => {
                let v = get!(u64);
                if v > i64::MAX as u64 {
                    Scalar::Float(v as f64)
                } else {
                    Scalar::Int(v as i64)
                }
            }
            DType::Float32 => Scalar::Float(get!(f32) as f64),
            DType::Float64 => Scalar::Float(get!(f64)),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(x) => x,
        }
    }

    pub fn to_value(self) -> Value {
        match self {
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Int(i),
            Scalar::Float(x) => Value::Float(x),
        }
    }
}

impl From<f64> for Scalar {
    fn from(x: f64) -> Self {
        Scalar::Float(x)
    }
}
impl From<i64> for Scalar {
    fn from(x: i64) -> Self {
        Scalar::Int(x)
    }
}
impl From<bool> for Scalar {
    fn from(x: bool) -> Self {
        Scalar::Bool(x)
    }
}
