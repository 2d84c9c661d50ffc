//! Reductions: sums and the like over any axes (a tree of partial results), `ufunc.reduce`,
//! argmin/argmax, cumulative sums and products.

use super::check_axis;
use crate::array::chunks::Chunks;
use crate::array::node::{Array, Op};
use crate::array::CumOp;
use crate::error::{Error, Result};
use crate::ufunc::reduce_op::ReduceOp;
use crate::ufunc::ufunc;
use crate::value::DType;

impl Array {
    /// Reduces over `axes` (None: all). `split_every` is the fan-in of the combine tree.
    pub fn reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[usize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Result<Array> {
        op.check(self.dtype())?;
        let nd = self.ndim();
        let mut reduced = vec![axes.is_none(); nd];
        for &a in axes.unwrap_or(&[]) {
            check_axis(a, nd)?;
            reduced[a] = true;
        }
        let shape = self.shape();
        if !op.has_identity() && reduced.iter().zip(&shape).any(|(&r, &n)| r && n == 0) {
            return Err(Error::invalid(format!(
                "zero-size array to reduction operation {} which has no identity",
                op.name()
            )));
        }
        let sizes: Vec<Vec<usize>> = self
            .chunks()
            .axes()
            .iter()
            .zip(&reduced)
            .filter(|(_, &r)| keepdims || !r)
            .map(|(s, &r)| if r { vec![1] } else { s.clone() })
            .collect();
        let out_shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        let chunks = Chunks::from_sizes(&out_shape, sizes)?;
        Ok(Array::new(
            op.result_dtype(self.dtype()),
            chunks,
            Op::Reduce {
                input: self.clone(),
                op,
                axes: reduced,
                keepdims,
                split_every: split_every.max(2),
            },
        ))
    }

    /// `ufunc.reduce(x, axes)` for any binary ufunc with an identity (NumPy's `reduce`):
    /// `add` is a sum, `bitwise_or` ORs, a user ufunc folds with its own loop.
    pub fn reduce_ufunc(
        &self,
        name: &str,
        axes: Option<&[usize]>,
        keepdims: bool,
    ) -> Result<Array> {
        let u = ufunc(name)?;
        let op = match u.name() {
            "add" => ReduceOp::Sum,
            "multiply" => ReduceOp::Prod,
            "logical_and" => ReduceOp::All,
            "logical_or" => ReduceOp::Any,
            "maximum" | "fmax" => ReduceOp::Max,
            "minimum" | "fmin" => ReduceOp::Min,
            _ => ReduceOp::Ufunc(crate::array::reduce_kernel::UfuncRef::of(&u)?),
        };
        self.reduce(op, axes, keepdims, 8)
    }

    pub fn sum(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Sum, axes, false, 8)
    }
    pub fn prod(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Prod, axes, false, 8)
    }
    pub fn mean(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Mean, axes, false, 8)
    }
    pub fn min(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Min, axes, false, 8)
    }
    pub fn max(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Max, axes, false, 8)
    }
    pub fn var(&self, axes: Option<&[usize]>, ddof: f64) -> Result<Array> {
        self.reduce(ReduceOp::Var { ddof }, axes, false, 8)
    }
    pub fn std(&self, axes: Option<&[usize]>, ddof: f64) -> Result<Array> {
        self.reduce(ReduceOp::Std { ddof }, axes, false, 8)
    }
    pub fn any(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::Any, axes, false, 8)
    }
    pub fn all(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::All, axes, false, 8)
    }
    pub fn count_nonzero(&self, axes: Option<&[usize]>) -> Result<Array> {
        self.reduce(ReduceOp::CountNonzero, axes, false, 8)
    }

    fn arg_reduce(&self, max: bool, axis: Option<usize>) -> Result<Array> {
        if let Some(a) = axis {
            check_axis(a, self.ndim())?;
        }
        let shape = self.shape();
        if axis.map_or(self.is_empty(), |a| shape[a] == 0) {
            return Err(Error::invalid(
                "attempt to get argmin/argmax of an empty sequence",
            ));
        }
        let sizes: Vec<Vec<usize>> = match axis {
            None => vec![],
            Some(a) => self
                .chunks()
                .axes()
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != a)
                .map(|(_, s)| s.clone())
                .collect(),
        };
        let out_shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        Ok(Array::new(
            DType::Int64,
            Chunks::from_sizes(&out_shape, sizes)?,
            Op::ArgReduce {
                input: self.clone(),
                max,
                axis,
            },
        ))
    }

    /// Index of the smallest element (over the flattened array when `axis` is None).
    pub fn argmin(&self, axis: Option<usize>) -> Result<Array> {
        self.arg_reduce(false, axis)
    }
    pub fn argmax(&self, axis: Option<usize>) -> Result<Array> {
        self.arg_reduce(true, axis)
    }

    /// Cumulative sum along `axis`.
    pub fn cumsum(&self, axis: usize) -> Result<Array> {
        self.cumulative(axis, CumOp::Sum)
    }
    pub fn cumprod(&self, axis: usize) -> Result<Array> {
        self.cumulative(axis, CumOp::Prod)
    }
    /// The cumulative `op` along `axis` (`maximum.accumulate` for `CumOp::Max`, ...).
    pub fn cumulative(&self, axis: usize, op: CumOp) -> Result<Array> {
        check_axis(axis, self.ndim())?;
        Ok(Array::new(
            op.dtype(self.dtype())?,
            self.chunks().clone(),
            Op::Cumulative {
                input: self.clone(),
                op,
                axis,
            },
        ))
    }
}
