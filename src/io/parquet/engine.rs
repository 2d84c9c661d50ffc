//! `read_parquet`'s `engine=`: which of the `parquet` crate's readers decodes a column.
//!
//! `"arrow"` reads every column through the crate's Arrow record-batch reader. `"column"`
//! decodes each flat numeric column (ints, floats, dates, timestamps whose Parquet values are
//! the Arrow values bit for bit) with the crate's typed column readers straight into the
//! buffer the partition keeps — one allocation per column across the row groups, the column
//! chunk fetched with one read, the columns of a partition decoded side by side on the
//! client's pool — and leaves the others (strings, dictionaries, booleans, decimals, nested,
//! anything needing a conversion) to the Arrow reader. `"auto"` (the default) does what
//! measured fastest: see [`Engine::typed_for`]. Every engine gives the same table.

use crate::error::{Error, Result};
use arrow_schema::{DataType, TimeUnit};
use parquet::basic::{ConvertedType, LogicalType, TimeUnit as ParquetUnit, Type as Physical};
use parquet::schema::types::ColumnDescriptor;

/// Which reader decodes the columns of a Parquet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Per column, whichever reader measured faster for it (the default).
    #[default]
    Auto,
    /// The `parquet` crate's Arrow record-batch reader for every column.
    Arrow,
    /// The crate's typed column readers for every flat numeric column they decode exactly.
    Column,
}

impl Engine {
    /// The engine called `name`: "auto", "arrow" or "column".
    pub fn from_name(name: &str) -> Result<Engine> {
        match name {
            "auto" => Ok(Engine::Auto),
            "arrow" => Ok(Engine::Arrow),
            "column" => Ok(Engine::Column),
            other => Err(Error::invalid(format!(
                "unknown Parquet engine '{other}' (one of \"auto\", \"arrow\", \"column\")"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Arrow => "arrow",
            Engine::Column => "column",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Engine> {
        [Engine::Auto, Engine::Arrow, Engine::Column]
            .into_iter()
            .find(|e| e.code() == code)
    }

    /// Whether this engine decodes the column described by `leaf` (read as `arrow_type`)
    /// with the typed readers. Auto takes them for the columns they decode at all: on the
    /// benchmark's files they were as fast or faster for each such column, required or
    /// optional (benches/README.md, "the column engine") — except in reads the page index
    /// narrows, which auto leaves to the Arrow reader (see `read::engine_for`).
    pub(crate) fn typed_for(self, leaf: &ColumnDescriptor, arrow_type: &DataType) -> bool {
        match self {
            Engine::Arrow => false,
            Engine::Auto | Engine::Column => typed_decodes(leaf, arrow_type),
        }
    }
}

/// Whether the typed readers give `arrow_type`'s values bit for bit for this leaf column:
/// a top-level column (no repetition, at most one definition level) whose physical values
/// are the Arrow type's own (same width, same unit); anything the Arrow reader converts
/// (narrow ints, unit changes, INT96, decimals) is left to it.
pub(crate) fn typed_decodes(leaf: &ColumnDescriptor, arrow_type: &DataType) -> bool {
    if leaf.max_rep_level() != 0 || leaf.max_def_level() > 1 || leaf.path().parts().len() != 1 {
        return false;
    }
    let logical = leaf.logical_type_ref();
    if logical.is_none() && leaf.converted_type() != ConvertedType::NONE {
        return false;
    }
    let int = |bits: i8, signed: bool| matches!(logical, Some(LogicalType::Integer(t)) if t.bit_width == bits && t.is_signed == signed);
    match (leaf.physical_type(), arrow_type) {
        (Physical::INT32, DataType::Int32) => logical.is_none() || int(32, true),
        (Physical::INT32, DataType::UInt32) => int(32, false),
        (Physical::INT32, DataType::Date32) => matches!(logical, Some(LogicalType::Date)),
        (Physical::INT64, DataType::Int64) => logical.is_none() || int(64, true),
        (Physical::INT64, DataType::UInt64) => int(64, false),
        (Physical::INT64, DataType::Timestamp(unit, _)) => match logical {
            Some(LogicalType::Timestamp(t)) => matches!(
                (&t.unit, unit),
                (ParquetUnit::MILLIS, TimeUnit::Millisecond)
                    | (ParquetUnit::MICROS, TimeUnit::Microsecond)
                    | (ParquetUnit::NANOS, TimeUnit::Nanosecond)
            ),
            _ => false,
        },
        (Physical::FLOAT, DataType::Float32) | (Physical::DOUBLE, DataType::Float64) => {
            logical.is_none()
        }
        _ => false,
    }
}
