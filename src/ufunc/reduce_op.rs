//! Reductions by name: what a reduction computes, the dtype it accumulates in and returns
//! (NumPy's rules), and `ufunc.reduce` for any binary ufunc with an identity. The kernels that
//! run them live with the arrays that reduce (dense blocks, sparse blocks).

use crate::error::{Error, Result};
use crate::value::DType;

/// What a reduction computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Any,
    All,
    CountNonzero,
    Mean,
    Var {
        ddof: f64,
    },
    Std {
        ddof: f64,
    },
    /// `ufunc.reduce` for any binary ufunc with an identity (bitwise_and, logical_xor, user
    /// ufuncs, …), folding with the ufunc's own loop.
    Ufunc(UfuncRef),
}

/// A ufunc usable in [`ReduceOp::Ufunc`]: an index into an append-only table, so reduction
/// parameters stay plain `Copy` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UfuncRef(u32);

static REDUCIBLE: parking_lot::RwLock<Vec<std::sync::Arc<crate::ufunc::Ufunc>>> =
    parking_lot::RwLock::new(Vec::new());

impl UfuncRef {
    /// The reference for a binary ufunc with an identity (else a clear error).
    pub fn of(u: &std::sync::Arc<crate::ufunc::Ufunc>) -> Result<UfuncRef> {
        if u.nin() != 2 || u.identity().is_none() {
            return Err(Error::invalid(format!(
                "reduce needs a binary ufunc with an identity; '{}' is not one",
                u.name()
            )));
        }
        Self::of_any(u)
    }

    /// The reference for any binary ufunc (in-order folds need no identity).
    pub fn of_any(u: &std::sync::Arc<crate::ufunc::Ufunc>) -> Result<UfuncRef> {
        if u.nin() != 2 || u.nout() != 1 {
            return Err(Error::invalid(format!(
                "'{}' is not a binary ufunc with one output",
                u.name()
            )));
        }
        let mut table = REDUCIBLE.write();
        if let Some(i) = table.iter().position(|x| std::sync::Arc::ptr_eq(x, u)) {
            return Ok(UfuncRef(i as u32));
        }
        table.push(u.clone());
        Ok(UfuncRef(table.len() as u32 - 1))
    }

    pub fn ufunc(self) -> std::sync::Arc<crate::ufunc::Ufunc> {
        REDUCIBLE.read()[self.0 as usize].clone()
    }

    /// The loop that folds elements of dtype `d`: (t, t) -> t.
    pub(crate) fn fold_loop(self, d: DType) -> Result<crate::ufunc::Loop> {
        let u = self.ufunc();
        let lp = u.resolve(&[d, d])?.clone();
        if lp.output() != lp.inputs()[0] || lp.inputs()[0] != lp.inputs()[1] {
            return Err(Error::DType(format!(
                "reduce with '{}' needs a loop of the form (t, t) -> t for {}",
                u.name(),
                d.name()
            )));
        }
        Ok(lp)
    }
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
            ReduceOp::CountNonzero => "count_nonzero",
            ReduceOp::Mean => "mean",
            ReduceOp::Var { .. } => "var",
            ReduceOp::Std { .. } => "std",
            ReduceOp::Ufunc(_) => "reduce",
        }
    }

    /// The dtype elements are converted to before accumulating (NumPy's accumulator types:
    /// integer sums in 64 bits, means and variances in float64).
    pub fn input_dtype(self, d: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod => sum_dtype(d),
            ReduceOp::Min | ReduceOp::Max => d,
            ReduceOp::Any | ReduceOp::All | ReduceOp::CountNonzero => DType::Bool,
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => DType::Float64,
            ReduceOp::Ufunc(r) => r.fold_loop(d).map(|l| l.output()).unwrap_or(d),
        }
    }

    /// The dtype of the final result for input dtype `d`.
    pub fn result_dtype(self, d: DType) -> DType {
        match self {
            ReduceOp::CountNonzero => DType::Int64,
            ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => match d {
                DType::Float32 => DType::Float32,
                _ => DType::Float64,
            },
            other => other.input_dtype(d),
        }
    }

    /// True when the reduction of nothing is defined (min and max of nothing are errors).
    pub fn has_identity(self) -> bool {
        !matches!(self, ReduceOp::Min | ReduceOp::Max)
    }

    /// Checks that the reduction is defined for input dtype `d` (a clear error up front).
    pub fn check(self, d: DType) -> Result<()> {
        if let ReduceOp::Ufunc(r) = self {
            r.fold_loop(d)?;
        }
        Ok(())
    }
}

/// NumPy's accumulator dtype for sum/prod.
pub fn sum_dtype(d: DType) -> DType {
    match d {
        DType::Bool | DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64 => DType::Int64,
        DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => DType::UInt64,
        f => f,
    }
}
