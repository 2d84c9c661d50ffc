//! Ufuncs: NumPy's universal functions as dispatch tables.
//!
//! A ufunc is a name, an arity, an identity and a table of typed inner loops. Array kinds
//! (dense blocks, lazy chunked arrays, and later sparse arrays and kinds registered from C)
//! implement ufuncs over those loops; `crate::array::dispatch` picks the implementation of the
//! highest-priority kind among a call's inputs (NEP 13).

mod builtin;
pub mod cast;
pub mod elem;
mod exp_table;
pub mod extra_ops;
pub mod fastmath;
pub mod fault;
pub mod float_parts;
pub mod kernel;
pub mod kleene;
pub mod loops;
pub mod mixed;
pub mod nep50;
pub mod promote;
pub mod reduce_op;
mod registry;

pub use reduce_op::ReduceOp;
pub use registry::{
    register_ufunc, register_user_ufunc, ufunc, ufunc_names, ForeignLoopFn, Loop, Ufunc, UserLoop,
};
