//! Reductions: sums and the like over any axes (a tree of partial results), `ufunc.reduce`,
//! argmin/argmax, cumulative sums and products.

use super::check_axis;
use crate::array::chunks::Chunks;
use crate::array::node::{Array, Op};
use crate::array::CumOp;
use crate::array::{ChunkSpec, Index};
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
            if reduced[a] {
                return Err(Error::invalid(format!("duplicate value in 'axis': {a}")));
            }
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

    /// `ufunc.reduce(x, axes)` for any binary ufunc (NumPy's `reduce`): `add` is a sum,
    /// `bitwise_or` ORs, a ufunc with an identity folds as a tree with its own loop; one
    /// without (`subtract`, `power`, `arctan2`, …) folds in order along one axis, as NumPy,
    /// which also refuses it over several axes and over empty ones.
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
            "maximum" => ReduceOp::Max,
            "minimum" => ReduceOp::Min,
            // NumPy's fmax/fmin skip NaN (a slice of NaN only gives NaN).
            "fmax" => return self.nan_reduce(crate::array::NanOp::Max, axes, keepdims, 8),
            "fmin" => return self.nan_reduce(crate::array::NanOp::Min, axes, keepdims, 8),
            // Its loops give booleans whatever the input: fold the truth values.
            "logical_xor" if self.dtype() != DType::Bool => {
                return self.astype(DType::Bool).reduce_ufunc(name, axes, keepdims)
            }
            _ if u.identity().is_some() => {
                ReduceOp::Ufunc(crate::array::reduce_kernel::UfuncRef::of(&u)?)
            }
            _ => return self.reduce_in_order(&u, axes, keepdims),
        };
        self.reduce(op, axes, keepdims, 8)
    }

    /// `ufunc.reduce` for a ufunc without an identity: an in-order fold (the last row of
    /// `accumulate`) along one axis; several axes only for the ufuncs NumPy may reorder.
    fn reduce_in_order(
        &self,
        u: &std::sync::Arc<crate::ufunc::Ufunc>,
        axes: Option<&[usize]>,
        keepdims: bool,
    ) -> Result<Array> {
        let nd = self.ndim();
        let axes: Vec<usize> = match axes {
            None => (0..nd).collect(),
            Some(a) => {
                for (k, &x) in a.iter().enumerate() {
                    check_axis(x, nd)?;
                    if a[..k].contains(&x) {
                        return Err(Error::invalid(format!("duplicate value in 'axis': {x}")));
                    }
                }
                a.to_vec()
            }
        };
        if axes.is_empty() {
            return Ok(self.clone());
        }
        // Associative and commutative, without an integer identity.
        let reorderable = matches!(u.name(), "logaddexp" | "logaddexp2");
        if axes.len() > 1 && !reorderable {
            return Err(Error::invalid(format!(
                "reduction operation '{}' is not reorderable, so at most one axis may be \
                 specified",
                u.name()
            )));
        }
        let shape = self.shape();
        let kept: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
        let reduced_len: usize = axes.iter().map(|&a| shape[a]).product();
        let out_shape: Vec<i64> = (0..nd)
            .filter_map(|a| {
                if axes.contains(&a) {
                    keepdims.then_some(1)
                } else {
                    Some(shape[a] as i64)
                }
            })
            .collect();
        let op = CumOp::Ufunc(crate::array::reduce_kernel::UfuncRef::of_any(u)?);
        let dtype = op.dtype(self.dtype())?;
        if reduced_len == 0 {
            // logaddexp's identity is -inf (not an integer identity of the table).
            if matches!(u.name(), "logaddexp" | "logaddexp2") {
                let shape: Vec<usize> = out_shape.iter().map(|&n| n as usize).collect();
                return Array::full(&shape, f64::NEG_INFINITY, dtype, &ChunkSpec::Auto);
            }
            return Err(Error::invalid(format!(
                "zero-size array to reduction operation {} which has no identity",
                u.name()
            )));
        }
        // The reduced axes last, merged into one.
        let mut perm = kept.clone();
        perm.extend(&axes);
        let moved = self.transpose(&perm)?;
        let mut merged: Vec<i64> = kept.iter().map(|&a| shape[a] as i64).collect();
        merged.push(reduced_len as i64);
        let x = moved.reshape(&merged)?;
        let last = x.ndim() - 1;
        let scanned = x.cumulative(last, op)?;
        let mut index = vec![Index::ALL; last];
        index.push(Index::At(-1));
        scanned.slice(&index)?.reshape(&out_shape)
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
    /// `ufunc.accumulate(x, axis)` for any binary ufunc: cumsum, cumprod, cummax and cummin
    /// for add, multiply, maximum and minimum; the logical ufuncs on truth values (their
    /// loops give booleans); others folded in order with their `(t, t) -> t` loop.
    pub fn accumulate_ufunc(&self, name: &str, axis: usize) -> Result<Array> {
        let u = ufunc(name)?;
        if matches!(u.name(), "logical_and" | "logical_or" | "logical_xor")
            && self.dtype() != DType::Bool
        {
            return self.astype(DType::Bool).accumulate_ufunc(name, axis);
        }
        self.cumulative(axis, CumOp::for_ufunc(&u, self.dtype())?)
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
