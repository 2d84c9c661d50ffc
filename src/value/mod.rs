//! Values: what tasks take and produce, and what the store holds.
//!
//! A value is one of a few explicit kinds so that every later layer (spill, network, C ABI)
//! can handle each kind deliberately. Large payloads sit behind `Arc`, so handing a value to
//! many tasks never copies it.

pub mod block;
mod buffer;
pub mod coo;
pub mod coords;
pub mod dtype;
mod huge;
pub(crate) use huge::{bound_by_limit as huge_bound_by_limit, release_recycled};
pub mod index;
mod opaque;
mod params;
mod scalar;

/// Layout helpers shared with the array kernels.
pub mod buffer_layout {
    pub use super::buffer::c_strides;
}

pub use buffer::{Buffer, Storage};
pub use coo::Coo;
pub use coords::Coords;
pub use dtype::{DType, Element, B8};
pub use index::Index;
pub use opaque::{opaque_codec, register_opaque_codec, Opaque, OpaqueCodec};
pub use params::{
    decode_params, register_params, Params, ParamsDecoder, ParamsReader, ParamsWriter,
};
pub use scalar::{Scalar, ScalarKind};

use std::sync::Arc;

/// A task's input or result.
#[derive(Debug, Clone)]
pub enum Value {
    /// No value (what a task run for its effect returns).
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    /// Raw bytes, shared.
    Bytes(Arc<[u8]>),
    /// A typed n-dimensional buffer (pointer, dtype, shape, strides), owned or borrowed from
    /// the host with a release callback.
    Buffer(Buffer),
    /// Host data the library never looks into (a Julia closure, an R object); released
    /// through its callback when the last reference goes.
    Opaque(Arc<Opaque>),
    /// Parameters of a library operation (a chunk's slice, a fused kernel's program, a
    /// reduction's partial state): plain data with a stable tag, encoded and decoded like
    /// any other value (see `params`), so tasks that carry them travel and partials spill.
    Params(Arc<dyn Params>),
    /// A sparse (COO) block.
    Sparse(Coo),
    /// A table partition: an Arrow record batch (see `table`).
    Table(arrow_array::RecordBatch),
}

impl Value {
    /// Bytes of payload this value keeps alive (what the memory manager accounts).
    pub fn nbytes(&self) -> usize {
        match self {
            Value::None | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
            Value::Opaque(o) => o.nbytes(),
            Value::Params(p) => p.nbytes(),
            Value::Sparse(s) => s.nbytes(),
            Value::Table(t) => t.get_array_memory_size(),
            Value::Str(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Buffer(b) => b.storage_len(),
        }
    }

    /// A short name of the kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::None => "none",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Buffer(_) => "buffer",
            Value::Opaque(_) => "opaque",
            Value::Params(_) => "params",
            Value::Sparse(_) => "sparse",
            Value::Table(_) => "table",
        }
    }

    /// The value as an integer, when it is a bool or int, or a 0-d buffer of booleans or
    /// integers that int64 holds (the result of a full reduction, NumPy's `int(x.sum())`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            Value::Buffer(b) => match zero_d(b)? {
                Zero::Int(i) => Some(i),
                Zero::UInt(u) => i64::try_from(u).ok(),
                Zero::Float(_) => None,
            },
            _ => None,
        }
    }

    /// The value as a float, when it is a number or a 0-d buffer of numbers (the result of a
    /// full reduction).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(*b as i64 as f64),
            Value::Buffer(b) => Some(match zero_d(b)? {
                Zero::Int(i) => i as f64,
                Zero::UInt(u) => u as f64,
                Zero::Float(x) => x,
            }),
            _ => None,
        }
    }

    /// The parameters of type `T`, when the value holds them.
    pub fn params<T: 'static>(&self) -> Option<&T> {
        match self {
            Value::Params(p) => p.as_any().downcast_ref(),
            _ => None,
        }
    }

    /// The buffer, when the value is one.
    pub fn as_buffer(&self) -> Option<&Buffer> {
        match self {
            Value::Buffer(b) => Some(b),
            _ => None,
        }
    }
}

/// The element of a 0-d buffer, widened.
enum Zero {
    Int(i64),
    UInt(u64),
    Float(f64),
}

fn zero_d(b: &Buffer) -> Option<Zero> {
    if b.ndim() != 0 {
        return None;
    }
    let p = b.as_ptr();
    // SAFETY: a 0-d buffer holds one element of its dtype at `as_ptr`, aligned (checked when
    // the buffer was made).
    unsafe {
        Some(match b.dtype() {
            DType::Bool => Zero::Int((*p != 0) as i64),
            DType::Int8 => Zero::Int(*(p as *const i8) as i64),
            DType::Int16 => Zero::Int(*(p as *const i16) as i64),
            DType::Int32 => Zero::Int(*(p as *const i32) as i64),
            DType::Int64 => Zero::Int(*(p as *const i64)),
            DType::UInt8 => Zero::UInt(*p as u64),
            DType::UInt16 => Zero::UInt(*(p as *const u16) as u64),
            DType::UInt32 => Zero::UInt(*(p as *const u32) as u64),
            DType::UInt64 => Zero::UInt(*(p as *const u64)),
            DType::Float32 => Zero::Float(*(p as *const f32) as f64),
            DType::Float64 => Zero::Float(*(p as *const f64)),
        })
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.into())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v.into())
    }
}
impl From<Buffer> for Value {
    fn from(v: Buffer) -> Self {
        Value::Buffer(v)
    }
}
