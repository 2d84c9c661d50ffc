//! Tables: lazy, partitioned and columnar. A partition is an Arrow record batch (arrow-rs
//! arrays, nulls as validity bitmaps) held as a value in the store, so it spills, travels to
//! workers and reports progress like an array block.
//!
//! `lazy`: the lazy table; `expr`/`eval`: row expressions and their evaluation; `agg`,
//! `group`, `accumulate`, `reduce`: aggregations and group-by; `stream`: computing
//! partition by partition for a consumer; `ops`: the operations a
//! partition's tasks apply; this file: the column types a partition may hold. The wire
//! layout of a partition is in `protocol::table_codec`, reading files in `io`.

mod accumulate;
pub mod agg;
mod compute;
pub(crate) mod eval;
pub mod expr;
mod group;
mod lazy;
mod ops;
mod reduce;
mod sort;
mod stream;
mod to_array;

pub use agg::{Agg, AggFn};
pub use compute::evaluate;
pub use eval::evaluate_filter;
pub use expr::{col, lit, CmpOp, Expr, Scalar};
pub(crate) use group::{group_rows, take_rows};
pub(crate) use lazy::prefix_error;
pub use lazy::{Table, TablePart};
pub(crate) use ops::register_ops;
pub use reduce::GroupBy;
pub use sort::{NanOrder, SortOrder};
pub use stream::PartitionStream;

use arrow_schema::DataType;

/// Value types a dictionary-encoded column may have (its keys: any integer type).
pub(crate) const DICTIONARY_VALUE_TYPES: &[DataType] = &[DataType::Utf8, DataType::LargeUtf8];

/// Whether a partition's column may have type `t`: booleans, integers, floats, strings,
/// dates, timestamps and dictionary-encoded strings; the error names what is not.
pub fn check_type(t: &DataType) -> std::result::Result<(), String> {
    match t {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Date32
        | DataType::Timestamp(..) => Ok(()),
        DataType::Dictionary(k, v)
            if k.is_dictionary_key_type() && DICTIONARY_VALUE_TYPES.contains(v) =>
        {
            Ok(())
        }
        other => Err(format!(
            "the column type {other} is not supported in a table partition (booleans, \
             integers, floats, strings, date32, timestamps and dictionary-encoded strings are)"
        )),
    }
}
