//! Element types. The numbering is part of the C ABI (`dask_dtype`), so it never changes.

use crate::error::{Error, Result};

/// The element type of a typed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum DType {
    /// One byte, 0 or 1.
    Bool = 1,
    Int8 = 2,
    Int16 = 3,
    Int32 = 4,
    Int64 = 5,
    UInt8 = 6,
    UInt16 = 7,
    UInt32 = 8,
    UInt64 = 9,
    Float32 = 10,
    Float64 = 11,
}

impl DType {
    /// Every dtype, in ABI order.
    pub const ALL: [DType; 11] = [
        DType::Bool,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::UInt16,
        DType::UInt32,
        DType::UInt64,
        DType::Float32,
        DType::Float64,
    ];

    /// Size of one element in bytes.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::Int8 | DType::UInt8 => 1,
            DType::Int16 | DType::UInt16 => 2,
            DType::Int32 | DType::UInt32 | DType::Float32 => 4,
            DType::Int64 | DType::UInt64 | DType::Float64 => 8,
        }
    }

    /// NumPy's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::UInt16 => "uint16",
            DType::UInt32 => "uint32",
            DType::UInt64 => "uint64",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
        }
    }

    /// The dtype with ABI code `code`, or a clear error.
    pub fn from_code(code: u32) -> Result<DType> {
        DType::ALL
            .iter()
            .copied()
            .find(|d| *d as u32 == code)
            .ok_or_else(|| Error::DType(format!("unknown dtype code {code}")))
    }
}

/// Rust element types that a buffer of the matching dtype can be viewed as.
/// `bool` is deliberately absent: foreign bytes other than 0/1 would be undefined behaviour,
/// so boolean buffers are read as `u8`.
pub trait Element: Copy + Send + Sync + 'static {
    /// The dtype whose elements have this Rust type.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => { $(impl Element for $t { const DTYPE: DType = DType::$d; })* };
}
element!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, u8 => UInt8, u16 => UInt16,
         u32 => UInt32, u64 => UInt64, f32 => Float32, f64 => Float64);

/// Storage of a boolean element: one byte, 0 or 1 (any non-zero byte reads as true).
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct B8(pub u8);

impl Element for B8 {
    const DTYPE: DType = DType::Bool;
}

impl B8 {
    pub fn of(b: bool) -> B8 {
        B8(b as u8)
    }
    pub fn get(self) -> bool {
        self.0 != 0
    }
}

/// The inclusive range of an integer dtype, exactly (None for bool and floats).
pub fn int_range(d: DType) -> Option<(i128, i128)> {
    Some(match d {
        DType::Int8 => (i8::MIN as i128, i8::MAX as i128),
        DType::Int16 => (i16::MIN as i128, i16::MAX as i128),
        DType::Int32 => (i32::MIN as i128, i32::MAX as i128),
        DType::Int64 => (i64::MIN as i128, i64::MAX as i128),
        DType::UInt8 => (0, u8::MAX as i128),
        DType::UInt16 => (0, u16::MAX as i128),
        DType::UInt32 => (0, u32::MAX as i128),
        DType::UInt64 => (0, u64::MAX as i128),
        _ => return None,
    })
}

/// The smallest and largest value of an integer or bool dtype, as floats (float dtypes give
/// the infinities).
pub fn int_bounds(d: DType) -> (f64, f64) {
    match (d, int_range(d)) {
        (DType::Bool, _) => (0.0, 1.0),
        (_, Some((lo, hi))) => (lo as f64, hi as f64),
        _ => (f64::NEG_INFINITY, f64::INFINITY),
    }
}
