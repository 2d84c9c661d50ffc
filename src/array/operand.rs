//! Operands: what a ufunc call or an array operation takes — a lazy chunked array, a dense
//! block, a scalar, a sparse array, or an array of a kind registered from C — with the
//! conversions between them that are explicit (never a silent densify).

use super::nan_reduce::NanOp;
use super::node::Array;
use crate::error::{Error, Result};
use crate::sparse::{self, DotArg, DotResult, Reduced, ReturnType};
use crate::ufunc::ReduceOp;
use crate::value::{Buffer, Coo, Index, Scalar};

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

// ---- operations on any operand ------------------------------------------------------------
//
// The policy of which implementation an operation takes — a chunked graph, a whole sparse
// array, a sparse matrix cut into blocks to meet a chunked one — lives here, so the C ABI
// and Rust callers get the same behaviour.

/// Rows (or columns) per block when a whole sparse matrix is cut to meet a chunked operand.
const SPARSE_ROWS: usize = 4096;

/// A 2-d sparse matrix with fill 0: its products are sums over its entries alone, so it can
/// be cut into blocks (other fills give the product's own clear error).
fn cuttable(s: &Coo) -> bool {
    s.ndim() == 2 && s.fill_value().as_f64() == 0.0
}

fn dot_operand(r: DotResult) -> Operand {
    match r {
        DotResult::Sparse(c) => Operand::Sparse(c),
        DotResult::Dense(b) => Operand::Block(b),
    }
}

impl Operand {
    /// The lazy chunked array, or an error saying what this operand is instead.
    pub fn as_array(&self) -> Result<&Array> {
        match self {
            Operand::Array(a) => Ok(a),
            Operand::Block(_) => Err(Error::invalid(
                "this is a dense block, not a chunked array (wrap it as one: into_array)",
            )),
            Operand::Foreign(f) => Err(Error::NotImplemented(format!(
                "this operation is not implemented for arrays of kind '{}'",
                f.kind.name
            ))),
            Operand::Scalar(_) => Err(Error::invalid("this is a scalar, not an array")),
            Operand::Sparse(_) => Err(Error::NotImplemented(
                "this operation is not implemented for sparse arrays".into(),
            )),
        }
    }

    /// True for an array held whole in memory (a sparse array or a dense block), whose
    /// products are computed at once rather than as a graph.
    fn is_whole(&self) -> bool {
        matches!(self, Operand::Sparse(_) | Operand::Block(_))
    }

    /// An operand of a sparse product: sparse, or a dense block.
    fn dot_arg(&self) -> Result<DotArg<'_>> {
        match self {
            Operand::Sparse(s) => Ok(DotArg::Sparse(s)),
            Operand::Block(b) => Ok(DotArg::Dense(b)),
            _ => Err(Error::NotImplemented(
                "products of sparse arrays take sparse arrays or dense blocks (compute chunked arrays first)"
                    .into(),
            )),
        }
    }

    /// Reduces over `axes` (None: all): a lazy reduction of a chunked array, or the
    /// reduction of a whole sparse array (sparse or dense as its fill allows).
    pub fn reduce(
        &self,
        op: ReduceOp,
        axes: Option<&[usize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Result<Operand> {
        let Operand::Sparse(s) = self else {
            return Ok(Operand::Array(self.as_array()?.reduce(
                op,
                axes,
                keepdims,
                split_every,
            )?));
        };
        let nd = s.ndim();
        let mut flags = vec![axes.is_none(); nd];
        for &a in axes.unwrap_or(&[]) {
            if a >= nd {
                return Err(Error::invalid(format!(
                    "axis {a} is out of bounds for a {nd}-d array"
                )));
            }
            if flags[a] {
                return Err(Error::invalid(format!("duplicate value in 'axis': {a}")));
            }
            flags[a] = true;
        }
        let r = sparse::reduce(s, op, &flags)?;
        let keep_shape: Vec<usize> = s
            .shape()
            .iter()
            .zip(&flags)
            .map(|(&n, &r)| if r { 1 } else { n })
            .collect();
        Ok(match r {
            Reduced::Dense(b) if keepdims => {
                Operand::Block(crate::value::block::reshape_block(&b, &keep_shape)?)
            }
            Reduced::Dense(b) => Operand::Block(b),
            Reduced::Sparse(c) if keepdims => Operand::Sparse(c.reshape(&keep_shape)?),
            Reduced::Sparse(c) => Operand::Sparse(c),
        })
    }

    /// The NaN-skipping reductions (nansum … nanstd) of a chunked array.
    pub fn nan_reduce(
        &self,
        op: NanOp,
        axes: Option<&[usize]>,
        keepdims: bool,
        split_every: usize,
    ) -> Result<Operand> {
        if let Operand::Sparse(_) = self {
            return Err(Error::NotImplemented(
                "NaN-skipping reductions of sparse arrays".into(),
            ));
        }
        Ok(Operand::Array(self.as_array()?.nan_reduce(
            op,
            axes,
            keepdims,
            split_every,
        )?))
    }

    /// `tensordot(self, other, axes=(axes_a, axes_b))`: lazy for chunked arrays; computed at
    /// once when either side is a whole sparse array (`return_type` as pydata/sparse).
    pub fn tensordot(
        &self,
        other: &Operand,
        axes_a: &[usize],
        axes_b: &[usize],
        return_type: ReturnType,
    ) -> Result<Operand> {
        if self.is_whole() || other.is_whole() {
            return Ok(dot_operand(sparse::tensordot(
                &self.dot_arg()?,
                &other.dot_arg()?,
                axes_a,
                axes_b,
                return_type,
            )?));
        }
        Ok(Operand::Array(self.as_array()?.tensordot(
            other.as_array()?,
            axes_a,
            axes_b,
        )?))
    }

    /// The matrix product `self @ other`. A whole sparse matrix meeting a chunked array is
    /// cut into sparse blocks lined up with the chunked operand along the contracted axis, and
    /// the product is chunked (the sparse side is never densified).
    pub fn matmul(&self, other: &Operand, return_type: ReturnType) -> Result<Operand> {
        // A 1-d sparse vector against a chunked array: as a one-row (or one-column) matrix,
        // the added axis dropped from the product (NumPy's matmul rule for vectors).
        match (self, other) {
            (Operand::Sparse(v), Operand::Array(y))
                if v.ndim() == 1 && (1..=2).contains(&y.ndim()) =>
            {
                let row = Operand::Sparse(v.reshape(&[1, v.shape()[0]])?);
                let r = row.matmul(other, return_type)?.into_array()?;
                let shape: Vec<i64> = r.shape()[1..].iter().map(|&n| n as i64).collect();
                return Ok(Operand::Array(r.reshape(&shape)?));
            }
            (Operand::Array(x), Operand::Sparse(v))
                if v.ndim() == 1 && (1..=2).contains(&x.ndim()) =>
            {
                let col = Operand::Sparse(v.reshape(&[v.shape()[0], 1])?);
                let r = self.matmul(&col, return_type)?.into_array()?;
                let n = r.ndim();
                let shape: Vec<i64> = r.shape()[..n - 1].iter().map(|&n| n as i64).collect();
                return Ok(Operand::Array(r.reshape(&shape)?));
            }
            _ => {}
        }
        match (self, other) {
            (Operand::Sparse(s), Operand::Array(y)) if cuttable(s) && y.ndim() >= 1 => {
                let k = y.chunks().axis(0).first().copied().unwrap_or(1).max(1);
                let x = Array::from_sparse_blocks(s, &[s.shape()[0].clamp(1, SPARSE_ROWS), k])?;
                return Ok(Operand::Array(x.matmul(y)?));
            }
            (Operand::Array(x), Operand::Sparse(s)) if cuttable(s) && x.ndim() >= 1 => {
                let k = x
                    .chunks()
                    .axis(x.ndim() - 1)
                    .first()
                    .copied()
                    .unwrap_or(1)
                    .max(1);
                let y = Array::from_sparse_blocks(s, &[k, s.shape()[1].clamp(1, SPARSE_ROWS)])?;
                return Ok(Operand::Array(x.matmul(&y)?));
            }
            (Operand::Sparse(s), Operand::Array(_)) | (Operand::Array(_), Operand::Sparse(s))
                if !cuttable(s) && s.ndim() == 2 =>
            {
                return Err(Error::invalid(format!(
                    "a product of a sparse array needs fill value 0, not {}",
                    s.fill_value().as_f64()
                )));
            }
            _ => {}
        }
        // Stacks of matrices (more than 2 axes, or a vector against a stack): NumPy's
        // broadcasting matmul, whose result is dense, on the densified operands (as
        // pydata/sparse computes them).
        let nd = |o: &Operand| match o {
            Operand::Sparse(s) => Some(s.ndim()),
            Operand::Block(b) => Some(b.ndim()),
            Operand::Array(a) => Some(a.ndim()),
            _ => None,
        };
        if let (Some(na), Some(nb)) = (nd(self), nd(other)) {
            if na > 2 || nb > 2 {
                let dense = |o: &Operand| -> Result<Array> {
                    match o {
                        Operand::Sparse(s) => Operand::Block(s.to_dense()?).into_array(),
                        other => other
                            .as_array()
                            .cloned()
                            .or_else(|_| other.clone().into_array()),
                    }
                };
                return Ok(Operand::Array(dense(self)?.matmul(&dense(other)?)?));
            }
        }
        if self.is_whole() || other.is_whole() {
            return Ok(dot_operand(sparse::matmul(
                &self.dot_arg()?,
                &other.dot_arg()?,
                return_type,
            )?));
        }
        Ok(Operand::Array(self.as_array()?.matmul(other.as_array()?)?))
    }

    /// The axes permuted (`None`: reversed, `.T`).
    pub fn transpose(&self, perm: Option<&[usize]>) -> Result<Operand> {
        if let Operand::Sparse(s) = self {
            let p: Vec<usize> = match perm {
                Some(p) => p.to_vec(),
                None => (0..s.ndim()).rev().collect(),
            };
            return Ok(Operand::Sparse(s.transpose(&p)?));
        }
        let a = self.as_array()?;
        Ok(Operand::Array(match perm {
            Some(p) => a.transpose(p)?,
            None => a.t(),
        }))
    }

    /// Basic indexing (`x[2:10:-1, 3, newaxis]`).
    pub fn slice(&self, index: &[Index]) -> Result<Operand> {
        if let Operand::Sparse(s) = self {
            return Ok(Operand::Sparse(s.index(index)?));
        }
        Ok(Operand::Array(self.as_array()?.slice(index)?))
    }

    /// A new shape of the same size (one `-1` inferred).
    pub fn reshape(&self, shape: &[i64]) -> Result<Operand> {
        if let Operand::Sparse(s) = self {
            let new = crate::value::index::resolve_shape(s.size(), shape)?;
            return Ok(Operand::Sparse(s.reshape(&new)?));
        }
        Ok(Operand::Array(self.as_array()?.reshape(shape)?))
    }
}
