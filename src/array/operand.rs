//! Operands: what a ufunc call or an array operation takes — a lazy chunked array, a dense
//! block, a scalar, a sparse array, or an array of a kind registered from C — with the
//! conversions between them that are explicit (never a silent densify).

use super::node::Array;
use crate::value::{Buffer, Scalar};

/// An operand of a ufunc call: a lazy array, a dense block, or a scalar.
#[derive(Debug, Clone)]
pub enum Operand {
    Array(Array),
    Block(Buffer),
    Scalar(Scalar),
    /// An array of a kind registered from C (see `dispatch::ForeignKind`).
    Foreign(super::dispatch::ForeignArray),
    /// A sparse (COO) array.
    Sparse(crate::sparse::Coo),
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Self {
        Operand::Array(a.clone())
    }
}
impl From<Array> for Operand {
    fn from(a: Array) -> Self {
        Operand::Array(a)
    }
}
impl From<f64> for Operand {
    fn from(x: f64) -> Self {
        Operand::Scalar(Scalar::Float(x))
    }
}
impl From<i64> for Operand {
    fn from(x: i64) -> Self {
        Operand::Scalar(Scalar::Int(x))
    }
}
impl From<bool> for Operand {
    fn from(x: bool) -> Self {
        Operand::Scalar(Scalar::Bool(x))
    }
}
impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Self {
        Operand::Scalar(s)
    }
}
impl From<Buffer> for Operand {
    fn from(b: Buffer) -> Self {
        Operand::Block(b)
    }
}
