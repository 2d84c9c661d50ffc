//! N-dimensional sparse arrays in COO format (pydata/sparse, natively): canonical sorted
//! coordinates in the smallest index type, any fill value, elementwise operations through the
//! ufunc tables, reductions, tensordot/matmul, and restructuring.

mod coo;
mod csr;
mod dot;
mod elementwise;
mod index;
mod matrix;
mod reduce;
mod spgemm;

pub(crate) use crate::value::coo::same_scalar;
pub use crate::value::coords;
pub use crate::value::{Coo, Coords};
pub use csr::{from_compressed, from_sprs, to_compressed, to_sprs, Compressed};
pub use dot::{matmul, tensordot, DotArg, DotResult, ReturnType};
pub use elementwise::{auto_densify, elementwise, set_auto_densify, SparseArg, SparseResult};
pub use reduce::{reduce, Reduced};
