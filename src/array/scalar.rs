//! Scalars as they mix with arrays (Python-like: bool, int, float; "weak" under NEP 50).

use crate::ufunc::cast::cast_loop;
use crate::ufunc::loops::B8;
use crate::ufunc::promote::ScalarKind;
use crate::value::{DType, Value};

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
        let (src, bytes) = match self {
            Scalar::Bool(b) => (DType::Bool, (B8::of(b).0 as u64).to_ne_bytes()),
            Scalar::Int(i) => (DType::Int64, i.to_ne_bytes()),
            Scalar::Float(x) => (DType::Float64, x.to_ne_bytes()),
        };
        let mut out = [0u8; 8];
        let mut args = [bytes.as_ptr() as *mut u8, out.as_mut_ptr()];
        // SAFETY: one element in, one element out, both buffers 8 bytes.
        unsafe { cast_loop(src, dtype)(&mut args, 1, &[0, 0], std::ptr::null()) };
        out
    }

    /// Reads element `bytes` of `dtype` as a scalar.
    pub fn from_element(bytes: &[u8], dtype: DType) -> Scalar {
        let mut padded = [0u8; 8];
        padded[..dtype.itemsize()].copy_from_slice(&bytes[..dtype.itemsize()]);
        match dtype {
            DType::Bool => Scalar::Bool(padded[0] != 0),
            DType::Float32 | DType::Float64 => Scalar::Float(f64::from_ne_bytes(Scalar::convert(
                &padded,
                dtype,
                DType::Float64,
            ))),
            DType::UInt64 => {
                let v = u64::from_ne_bytes(padded);
                if v > i64::MAX as u64 {
                    Scalar::Float(v as f64)
                } else {
                    Scalar::Int(v as i64)
                }
            }
            _ => Scalar::Int(i64::from_ne_bytes(Scalar::convert(
                &padded,
                dtype,
                DType::Int64,
            ))),
        }
    }

    fn convert(bytes: &[u8; 8], from: DType, to: DType) -> [u8; 8] {
        let mut out = [0u8; 8];
        let mut args = [bytes.as_ptr() as *mut u8, out.as_mut_ptr()];
        // SAFETY: one element each way, 8-byte buffers.
        unsafe { cast_loop(from, to)(&mut args, 1, &[0, 0], std::ptr::null()) };
        out
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
