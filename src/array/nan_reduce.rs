//! NaN-skipping reductions (NumPy's `nansum`, `nanmean`, `nanmin`, `nanvar`, …; R's
//! `na.rm = TRUE`). Each is composed of the plain reductions over a masked operand: the
//! mask is elementwise, so it fuses into the reduction's per-block kernel and the data is
//! still read once (twice for the variance, as for `var`). Integer arrays hold no NaN: the
//! plain reduction is used.

use super::node::Array;
use super::reduce_kernel::ReduceOp;
use crate::error::Result;
use crate::value::DType;

/// Which NaN-skipping reduction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NanOp {
    Sum,
    Prod,
    Mean,
    Min,
    Max,
    Var { ddof: f64 },
    Std { ddof: f64 },
}

impl NanOp {
    /// The reduction it is for data without NaN.
    fn plain(self) -> ReduceOp {
        match self {
            NanOp::Sum => ReduceOp::Sum,
            NanOp::Prod => ReduceOp::Prod,
            NanOp::Mean => ReduceOp::Mean,
            NanOp::Min => ReduceOp::Min,
            NanOp::Max => ReduceOp::Max,
            NanOp::Var { ddof } => ReduceOp::Var { ddof },
            NanOp::Std { ddof } => ReduceOp::Std { ddof },
        }
    }
}

impl Array {
    /// Reduces over `axes` (None: all) ignoring NaN. As in NumPy, a slice with no number
    /// gives NaN for mean, min, max, var and std (0 for sum, 1 for prod), and var/std give
    /// NaN where fewer than `ddof` + 1 numbers remain.
    pub fn nan_reduce(
        &self,
        op: NanOp,
        axes: Option<&[usize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Result<Array> {
        if !matches!(self.dtype(), DType::Float32 | DType::Float64) {
            return self.reduce(op.plain(), axes, keepdims, split_every);
        }
        let nan = self.unary("isnan")?;
        let without = |fill: f64| Array::where_(&nan, fill, self);
        let reduce = |x: &Array, op: ReduceOp, keep: bool| x.reduce(op, axes, keep, split_every);
        let numbers = |keep: bool| reduce(&nan.unary("logical_not")?, ReduceOp::CountNonzero, keep);
        // Where a slice had no number, NaN instead of `x`.
        let nan_if_empty = |x: Array| -> Result<Array> {
            let empty = numbers(keepdims)?.binary("equal", 0i64)?;
            Array::where_(&empty, f64::NAN, x)
        };
        match op {
            NanOp::Sum => reduce(&without(0.0)?, ReduceOp::Sum, keepdims),
            NanOp::Prod => reduce(&without(1.0)?, ReduceOp::Prod, keepdims),
            NanOp::Min => nan_if_empty(reduce(&without(f64::INFINITY)?, ReduceOp::Min, keepdims)?),
            NanOp::Max => nan_if_empty(reduce(
                &without(f64::NEG_INFINITY)?,
                ReduceOp::Max,
                keepdims,
            )?),
            // Mean, var and std accumulate in float64 and give the input's float type, as
            // NumPy's (float32 in, float32 out).
            NanOp::Mean => reduce(&without(0.0)?, ReduceOp::Sum, keepdims)?
                .astype(DType::Float64)
                .binary("true_divide", numbers(keepdims)?)
                .map(|m| m.astype(self.dtype())),
            NanOp::Var { ddof } | NanOp::Std { ddof } => {
                // Two passes, as `var`: the mean (kept as a broadcastable shape), then the
                // squared deviations of the numbers.
                let x = self.astype(DType::Float64);
                let n_kept = numbers(true)?;
                let mean = reduce(&without(0.0)?.astype(DType::Float64), ReduceOp::Sum, true)?
                    .binary("true_divide", n_kept)?;
                let dev = Array::where_(&nan, 0.0, x.binary("subtract", mean)?)?;
                let squares = reduce(
                    &dev.binary("multiply", dev.clone())?,
                    ReduceOp::Sum,
                    keepdims,
                )?;
                let dof = numbers(keepdims)?
                    .astype(DType::Float64)
                    .binary("subtract", ddof)?;
                let none_left = dof.binary("less_equal", 0.0)?;
                let var = Array::where_(&none_left, f64::NAN, squares.binary("true_divide", dof)?)?;
                match op {
                    NanOp::Std { .. } => var.unary("sqrt"),
                    _ => Ok(var),
                }
                .map(|r| r.astype(self.dtype()))
            }
        }
    }
}
