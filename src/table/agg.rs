//! Aggregations of table columns, as a user names them (`agg::sum("x")`, `agg::var("x")`),
//! and the parameters that carry a whole aggregation (its group keys too) to the tasks that
//! run it.
//!
//! Semantics follow Arrow and polars, which our columns are: nulls are skipped; NaN is a
//! float value, so it propagates through sum, mean, var and std, while min and max ignore it
//! unless a group holds nothing else. Integer sums are exact (an int64 sum that does not fit
//! is an error, never a wrapped number); `count` counts non-null values, `n_unique` distinct
//! non-null values (-0.0 and 0.0 are one value, every NaN another).

use crate::error::Result;
use crate::value::{Params, ParamsReader, ParamsWriter};
use std::sync::Arc;

/// An aggregation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFn {
    /// Sum of the values: int64 for booleans and signed integers, uint64 for unsigned
    /// ones, float64 for floats. A group with no values sums to 0.
    Sum,
    /// Mean as float64; null for a group with no values.
    Mean,
    /// Least value, of the column's type (a dictionary column's value type).
    Min,
    /// Greatest value, as `Min`.
    Max,
    /// Values that are not null (int64).
    Count,
    /// Values that are null (int64).
    NullCount,
    /// Distinct values that are not null (int64).
    NUnique,
    /// Variance with `ddof` delta degrees of freedom (pandas' default is 1): float64, null
    /// for a group of `ddof` values or fewer.
    Var { ddof: u32 },
    /// Standard deviation: the square root of `Var`.
    Std { ddof: u32 },
}

impl AggFn {
    /// The name used in default output names and messages.
    pub fn label(&self) -> &'static str {
        match self {
            AggFn::Sum => "sum",
            AggFn::Mean => "mean",
            AggFn::Min => "min",
            AggFn::Max => "max",
            AggFn::Count => "count",
            AggFn::NullCount => "null_count",
            AggFn::NUnique => "n_unique",
            AggFn::Var { .. } => "var",
            AggFn::Std { .. } => "std",
        }
    }

    /// The function called `name` (the labels above; `var` and `std` with ddof 1).
    pub fn from_label(name: &str) -> Option<AggFn> {
        Some(match name {
            "sum" => AggFn::Sum,
            "mean" => AggFn::Mean,
            "min" => AggFn::Min,
            "max" => AggFn::Max,
            "count" => AggFn::Count,
            "null_count" => AggFn::NullCount,
            "n_unique" | "nunique" => AggFn::NUnique,
            "var" => AggFn::Var { ddof: 1 },
            "std" => AggFn::Std { ddof: 1 },
            _ => return None,
        })
    }

    fn code(&self) -> (u8, u32) {
        match *self {
            AggFn::Sum => (0, 0),
            AggFn::Mean => (1, 0),
            AggFn::Min => (2, 0),
            AggFn::Max => (3, 0),
            AggFn::Count => (4, 0),
            AggFn::NullCount => (5, 0),
            AggFn::NUnique => (6, 0),
            AggFn::Var { ddof } => (7, ddof),
            AggFn::Std { ddof } => (8, ddof),
        }
    }

    fn from_code(code: u8, ddof: u32) -> Option<AggFn> {
        Some(match code {
            0 => AggFn::Sum,
            1 => AggFn::Mean,
            2 => AggFn::Min,
            3 => AggFn::Max,
            4 => AggFn::Count,
            5 => AggFn::NullCount,
            6 => AggFn::NUnique,
            7 => AggFn::Var { ddof },
            8 => AggFn::Std { ddof },
            _ => return None,
        })
    }
}

/// One output column: `func` of `column`, named `column_func` unless given a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agg {
    pub(crate) func: AggFn,
    pub(crate) column: String,
    pub(crate) name: String,
    /// A group holding a null gives null (R without `na.rm`, Julia's `sum` over `missing`)
    /// instead of the aggregate of its other values (Arrow, SQL, pandas, polars).
    pub(crate) keep_nulls: bool,
}

impl Agg {
    pub fn new(func: AggFn, column: &str) -> Agg {
        Agg {
            func,
            column: column.to_string(),
            name: format!("{column}_{}", func.label()),
            keep_nulls: false,
        }
    }

    /// The same aggregation giving null for a group that holds a null (R's and Julia's
    /// rule) when `yes`; sum, mean, min, max, var and std only (the counts count nulls or
    /// skip them by definition).
    pub fn keep_nulls(mut self, yes: bool) -> Agg {
        self.keep_nulls = yes;
        self
    }

    /// The same aggregation with output column `name`.
    pub fn alias(mut self, name: &str) -> Agg {
        self.name = name.to_string();
        self
    }

    pub fn func(&self) -> AggFn {
        self.func
    }

    pub fn column(&self) -> &str {
        &self.column
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a group holding a null gives null (see [`Agg::keep_nulls`]).
    pub fn keeps_nulls(&self) -> bool {
        self.keep_nulls
    }
}

pub fn sum(column: &str) -> Agg {
    Agg::new(AggFn::Sum, column)
}

pub fn mean(column: &str) -> Agg {
    Agg::new(AggFn::Mean, column)
}

pub fn min(column: &str) -> Agg {
    Agg::new(AggFn::Min, column)
}

pub fn max(column: &str) -> Agg {
    Agg::new(AggFn::Max, column)
}

pub fn count(column: &str) -> Agg {
    Agg::new(AggFn::Count, column)
}

pub fn null_count(column: &str) -> Agg {
    Agg::new(AggFn::NullCount, column)
}

pub fn n_unique(column: &str) -> Agg {
    Agg::new(AggFn::NUnique, column)
}

/// Sample variance (ddof 1, as pandas and R's `var`).
pub fn var(column: &str) -> Agg {
    Agg::new(AggFn::Var { ddof: 1 }, column)
}

/// Sample standard deviation (ddof 1).
pub fn std(column: &str) -> Agg {
    Agg::new(AggFn::Std { ddof: 1 }, column)
}

/// A whole aggregation: group keys (none: one row for the table), whether rows with a null
/// key are dropped (pandas' and R's default) or make a group of their own, and the outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AggSpec {
    pub keys: Vec<String>,
    pub dropna: bool,
    pub aggs: Vec<Agg>,
}

pub(crate) const AGG_TAG: &str = "table.agg";

impl Params for AggSpec {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        AGG_TAG
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.usize(self.keys.len());
        for k in &self.keys {
            w.str(k);
        }
        w.bool(self.dropna);
        w.usize(self.aggs.len());
        for a in &self.aggs {
            let (code, ddof) = a.func.code();
            w.u8(code);
            w.u32(ddof);
            w.str(&a.column);
            w.str(&a.name);
            w.bool(a.keep_nulls);
        }
    }
}

pub(crate) fn decode_agg(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    let keys = (0..r.count()?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let dropna = r.bool()?;
    let n = r.count()?;
    let mut aggs = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let (code, ddof) = (r.u8()?, r.u32()?);
        let func = AggFn::from_code(code, ddof)
            .ok_or_else(|| r.corrupt(format!("aggregation code {code}")))?;
        let column = r.str()?.to_string();
        let name = r.str()?.to_string();
        let keep_nulls = r.bool()?;
        aggs.push(Agg {
            func,
            column,
            name,
            keep_nulls,
        });
    }
    Ok(Arc::new(AggSpec { keys, dropna, aggs }))
}

/// What a `table.distinct` task keeps: the distinct rows of `keys` + `column` (for
/// `n_unique`), rows with a null key dropped when `dropna`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DistinctSpec {
    pub keys: Vec<String>,
    pub column: String,
    pub dropna: bool,
}

pub(crate) const DISTINCT_TAG: &str = "table.distinct";

impl Params for DistinctSpec {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn tag(&self) -> &'static str {
        DISTINCT_TAG
    }
    fn encode(&self, w: &mut ParamsWriter) {
        w.usize(self.keys.len());
        for k in &self.keys {
            w.str(k);
        }
        w.str(&self.column);
        w.bool(self.dropna);
    }
}

pub(crate) fn decode_distinct(r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
    let keys = (0..r.count()?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Result<Vec<_>>>()?;
    let column = r.str()?.to_string();
    let dropna = r.bool()?;
    Ok(Arc::new(DistinctSpec {
        keys,
        column,
        dropna,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_and_truncations_are_errors() {
        let spec = AggSpec {
            keys: vec!["k".into(), "city".into()],
            dropna: false,
            aggs: vec![
                sum("x"),
                var("y").alias("v"),
                Agg::new(AggFn::Std { ddof: 0 }, "y").keep_nulls(true),
            ],
        };
        let mut w = ParamsWriter::default();
        spec.encode(&mut w);
        let (bytes, buffers) = w.finish();
        let back = decode_agg(&mut ParamsReader::new(&bytes, buffers.clone(), "a test")).unwrap();
        assert_eq!(back.as_any().downcast_ref::<AggSpec>(), Some(&spec));
        for cut in 0..bytes.len() {
            let r = decode_agg(&mut ParamsReader::new(
                &bytes[..cut],
                buffers.clone(),
                "a test",
            ));
            assert!(r.is_err(), "a spec cut at {cut} bytes decoded");
        }
        assert_eq!(spec.aggs[2].name(), "y_std");
        assert_eq!(AggFn::from_label("nunique"), Some(AggFn::NUnique));
    }
}
