//! The array API: creation, elementwise operations (through the ufunc dispatch), reductions,
//! linear algebra, indexing and restructuring, and computing.

use super::block::contiguous;
use super::chunks::{Chunks, AUTO_BLOCK_BYTES};
use super::create::CreateSpec;
use super::index::{index_plan, rechunk_plan, resolve_index, resolve_slice, slice_plan};
use super::kernel::{broadcast_shapes, for_each_run};
use super::lower::{lower_all, task_ids};
use super::node::{Arg, Array, AxisPlan, Op};
use super::reduce_kernel::ReduceOp;
use super::scalar::Scalar;
use crate::error::{Error, Result};
use crate::runtime::{Arg as GArg, AsCompleted, Client, Future, OpDef};
use crate::ufunc::promote::promote;
use crate::ufunc::{ufunc, Ufunc};
use crate::value::{Buffer, DType, Value};
use std::sync::Arc;

/// How to chunk a new array.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// Blocks of about 128 MiB (`chunks="auto"`).
    Auto,
    /// The same block shape everywhere (the last block of an axis may be smaller).
    Regular(Vec<usize>),
    /// Explicit block sizes per axis.
    Explicit(Vec<Vec<usize>>),
}

impl ChunkSpec {
    pub fn resolve(&self, shape: &[usize], dtype: DType) -> Result<Chunks> {
        match self {
            ChunkSpec::Auto => Chunks::auto(shape, dtype.itemsize(), AUTO_BLOCK_BYTES),
            ChunkSpec::Regular(b) => Chunks::regular(shape, b),
            ChunkSpec::Explicit(s) => Chunks::from_sizes(shape, s.clone()),
        }
    }
}

/// One index of `Array::slice`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Index {
    /// `start:stop:step` (None: the default bound).
    Slice(Option<i64>, Option<i64>, i64),
    /// A single position; the axis is dropped.
    At(i64),
    /// `np.newaxis`: a new axis of length 1.
    NewAxis,
}

impl Index {
    /// `:` (the whole axis).
    pub const ALL: Index = Index::Slice(None, None, 1);
}

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

fn check_axis(axis: usize, ndim: usize) -> Result<()> {
    if axis >= ndim {
        return Err(Error::invalid(format!(
            "axis {axis} is out of bounds for a {ndim}-d array"
        )));
    }
    Ok(())
}

/// The common refinement of several chunkings of one axis (the union of their boundaries).
fn refine(axes: &[&[usize]]) -> Vec<usize> {
    let mut cuts: Vec<usize> = Vec::new();
    for sizes in axes {
        let mut acc = 0;
        for &s in sizes.iter() {
            acc += s;
            cuts.push(acc);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        if c > prev {
            out.push(c - prev);
            prev = c;
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

impl Array {
    // ---- creation -------------------------------------------------------------------------

    fn created(
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
        spec: CreateSpec,
    ) -> Result<Array> {
        Ok(Array::new(
            dtype,
            chunks.resolve(shape, dtype)?,
            Op::Create(spec),
        ))
    }

    pub fn zeros(shape: &[usize], dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::full(shape, Scalar::Int(0), dtype, chunks)
    }

    pub fn ones(shape: &[usize], dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::full(shape, Scalar::Int(1), dtype, chunks)
    }

    pub fn full(
        shape: &[usize],
        value: impl Into<Scalar>,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(shape, dtype, chunks, CreateSpec::Full(value.into()))
    }

    /// `start, start+step, …` below `stop` (NumPy's `arange`).
    pub fn arange(
        start: f64,
        stop: f64,
        step: f64,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        if step == 0.0 || !step.is_finite() {
            return Err(Error::invalid("arange step must be finite and non-zero"));
        }
        let n = ((stop - start) / step).ceil().max(0.0) as usize;
        Self::created(&[n], dtype, chunks, CreateSpec::Arange { start, step })
    }

    pub fn linspace(
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(
            &[num],
            dtype,
            chunks,
            CreateSpec::Linspace {
                start,
                stop,
                num,
                endpoint,
            },
        )
    }

    /// An n x m array with ones on diagonal `k`.
    pub fn eye(n: usize, m: usize, k: i64, dtype: DType, chunks: &ChunkSpec) -> Result<Array> {
        Self::created(&[n, m], dtype, chunks, CreateSpec::Eye { k })
    }

    /// Uniform random numbers in [low, high); the same seed gives the same numbers whatever
    /// the chunking.
    pub fn random_uniform(
        seed: u64,
        low: f64,
        high: f64,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(
            shape,
            dtype,
            chunks,
            CreateSpec::Uniform { seed, low, high },
        )
    }

    /// Normally distributed random numbers; chunking-independent like `random_uniform`.
    pub fn random_normal(
        seed: u64,
        mean: f64,
        std: f64,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        Self::created(shape, dtype, chunks, CreateSpec::Normal { seed, mean, std })
    }

    /// An array over an existing buffer: its blocks are views of the buffer (no copy; a
    /// buffer wrapping host memory keeps that memory until the last block is dropped).
    pub fn from_buffer(b: &Buffer, chunks: &ChunkSpec) -> Result<Array> {
        let chunks = chunks.resolve(b.shape(), b.dtype())?;
        let mut blocks = Vec::with_capacity(chunks.nblocks());
        for i in 0..chunks.nblocks() {
            let idx = chunks.unravel(i);
            let sel: Vec<(usize, isize, usize)> = idx
                .iter()
                .enumerate()
                .map(|(ax, &k)| (chunks.offsets(ax)[k], 1, chunks.axis(ax)[k]))
                .collect();
            blocks.push(Arc::new(Value::Buffer(super::block::slice_block(b, &sel)?)));
        }
        Ok(Array::new(b.dtype(), chunks, Op::Blocks(blocks)))
    }

    /// An array whose blocks are produced by a registered operation: `op` is called once per
    /// block with one int64 buffer of shape (3, ndim) — the block's grid index, its shape and
    /// its offset in the array — and must return a block of `dtype` and that shape.
    pub fn from_block_fn(
        op: &'static OpDef,
        shape: &[usize],
        dtype: DType,
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        let chunks = chunks.resolve(shape, dtype)?;
        Ok(Array::new(dtype, chunks, Op::BlockFn { op }))
    }

    // ---- elementwise ----------------------------------------------------------------------

    /// Applies a ufunc (looked up by name) to operands; see [`apply_ufunc`].
    pub fn ufunc(name: &str, args: &[Operand]) -> Result<Operand> {
        super::dispatch::apply_ufunc(&ufunc(name)?, args)
    }

    /// `ufunc(self, other)` as an array (the usual binary-operator form).
    pub fn binary(&self, name: &str, other: impl Into<Operand>) -> Result<Array> {
        super::dispatch::apply_ufunc(&ufunc(name)?, &[self.into(), other.into()])?.into_array()
    }

    /// `ufunc(self)` as an array.
    pub fn unary(&self, name: &str) -> Result<Array> {
        super::dispatch::apply_ufunc(&ufunc(name)?, &[self.into()])?.into_array()
    }

    /// The chunked-array implementation of a ufunc: a lazy elementwise node; operands are
    /// broadcast and their chunks unified (rechunked to a common grid where they differ).
    pub(crate) fn map_chunked(u: &Arc<Ufunc>, args: &[Operand]) -> Result<Array> {
        let mut arrays: Vec<Array> = Vec::new();
        for a in args {
            match a {
                Operand::Array(x) => arrays.push(x.clone()),
                Operand::Block(b) => arrays.push(Array::from_buffer(
                    b,
                    &ChunkSpec::Explicit(b.shape().iter().map(|&n| vec![n]).collect()),
                )?),
                Operand::Scalar(_) => {}
                Operand::Foreign(f) => {
                    return Err(Error::invalid(format!(
                        "a chunked array cannot hold a '{}' array",
                        f.kind.name
                    )))
                }
                Operand::Sparse(_) => {
                    return Err(Error::NotImplemented(
                        "mixing a sparse array with a chunked array (make the chunked array's blocks sparse instead)".into(),
                    ))
                }
            }
        }
        let shapes: Vec<Vec<usize>> = arrays.iter().map(Array::shape).collect();
        let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        let shape = broadcast_shapes(&refs)?;
        let nd = shape.len();
        // Unified chunks per output axis from the operands that span it.
        let mut out_axes: Vec<Vec<usize>> = Vec::with_capacity(nd);
        for (ax, &len) in shape.iter().enumerate() {
            let spans: Vec<&[usize]> = arrays
                .iter()
                .filter_map(|x| {
                    let lead = nd - x.ndim();
                    (ax >= lead && x.shape()[ax - lead] == len).then(|| x.chunks().axis(ax - lead))
                })
                .collect();
            out_axes.push(if spans.is_empty() {
                vec![len]
            } else {
                refine(&spans)
            });
        }
        let mut converted = Vec::with_capacity(args.len());
        let mut dtypes = Vec::new();
        for a in args {
            match a {
                Operand::Scalar(s) => converted.push(Arg::Scalar(*s)),
                _ => {
                    let x = arrays.remove(0);
                    let lead = nd - x.ndim();
                    let wanted: Vec<Vec<usize>> = (0..x.ndim())
                        .map(|k| {
                            if x.shape()[k] == shape[lead + k] {
                                out_axes[lead + k].clone()
                            } else {
                                // A broadcast axis (length 1) is one block: the lowering
                                // reads its block 0, which must not be a zero-size block.
                                vec![1]
                            }
                        })
                        .collect();
                    let x = if wanted.as_slice() != x.chunks().axes() {
                        x.rechunk(&ChunkSpec::Explicit(wanted))?
                    } else {
                        x
                    };
                    dtypes.push(x.dtype());
                    converted.push(Arg::Array(x));
                }
            }
        }
        let operand_dtypes: Vec<DType> = converted
            .iter()
            .map(|a| match a {
                Arg::Array(x) => x.dtype(),
                Arg::Scalar(s) => super::lower::scalar_dtype(*s, &dtypes),
            })
            .collect();
        let out_dtype = u.resolve(&operand_dtypes)?.output();
        let chunks = Chunks::from_sizes(&shape, out_axes)?;
        Ok(Array::new(
            out_dtype,
            chunks,
            Op::Map {
                ufunc: u.clone(),
                args: converted,
            },
        ))
    }

    /// The array converted to `dtype` (lazy; fuses with neighbours).
    pub fn astype(&self, dtype: DType) -> Array {
        if dtype == self.dtype() {
            return self.clone();
        }
        Array::new(dtype, self.chunks().clone(), Op::Astype(self.clone()))
    }

    /// `where(cond, a, b)`.
    pub fn where_(cond: &Array, a: impl Into<Operand>, b: impl Into<Operand>) -> Result<Array> {
        super::dispatch::apply_ufunc(
            &ufunc("where")?,
            &[cond.astype(DType::Bool).into(), a.into(), b.into()],
        )?
        .into_array()
    }

    /// The masked assignment `x[mask] = value`, as a new array of the same dtype.
    pub fn set_where(&self, mask: &Array, value: impl Into<Operand>) -> Result<Array> {
        let value = match value.into() {
            Operand::Array(v) => Operand::Array(v.astype(self.dtype())),
            other => other,
        };
        Ok(Array::where_(mask, value, self)?.astype(self.dtype()))
    }

    // ---- reductions -----------------------------------------------------------------------

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
            _ => ReduceOp::Ufunc(super::reduce_kernel::UfuncRef::of(&u)?),
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
        self.cumulative(axis, false)
    }
    pub fn cumprod(&self, axis: usize) -> Result<Array> {
        self.cumulative(axis, true)
    }
    fn cumulative(&self, axis: usize, multiply: bool) -> Result<Array> {
        check_axis(axis, self.ndim())?;
        Ok(Array::new(
            super::cumulative::cum_dtype(self.dtype()),
            self.chunks().clone(),
            Op::Cumulative {
                input: self.clone(),
                multiply,
                axis,
            },
        ))
    }

    // ---- linear algebra -------------------------------------------------------------------

    /// `tensordot(self, other, axes=(axes_a, axes_b))`.
    pub fn tensordot(&self, other: &Array, axes_a: &[usize], axes_b: &[usize]) -> Result<Array> {
        if axes_a.len() != axes_b.len() {
            return Err(Error::Shape(
                "tensordot: the two axis lists differ in length".into(),
            ));
        }
        let (sa, sb) = (self.shape(), other.shape());
        for (&i, &j) in axes_a.iter().zip(axes_b) {
            check_axis(i, self.ndim())?;
            check_axis(j, other.ndim())?;
            if sa[i] != sb[j] {
                return Err(Error::Shape(format!(
                    "tensordot: axis {i} of shape {sa:?} and axis {j} of shape {sb:?} differ"
                )));
            }
        }
        let mut unique = axes_a.to_vec();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() != axes_a.len() {
            return Err(Error::invalid("tensordot: repeated axis"));
        }
        // The contracted axes of `other` follow `self`'s chunks.
        let mut wanted: Vec<Vec<usize>> = other.chunks().axes().to_vec();
        for (&i, &j) in axes_a.iter().zip(axes_b) {
            wanted[j] = self.chunks().axis(i).to_vec();
        }
        let other = if wanted.as_slice() != other.chunks().axes() {
            other.rechunk(&ChunkSpec::Explicit(wanted))?
        } else {
            other.clone()
        };
        let mut sizes: Vec<Vec<usize>> = (0..self.ndim())
            .filter(|k| !axes_a.contains(k))
            .map(|k| self.chunks().axis(k).to_vec())
            .collect();
        sizes.extend(
            (0..other.ndim())
                .filter(|k| !axes_b.contains(k))
                .map(|k| other.chunks().axis(k).to_vec()),
        );
        let shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        Ok(Array::new(
            promote(self.dtype(), other.dtype()),
            Chunks::from_sizes(&shape, sizes)?,
            Op::Tensordot {
                a: self.clone(),
                b: other,
                axes_a: axes_a.to_vec(),
                axes_b: axes_b.to_vec(),
                split_every: 4,
            },
        ))
    }

    /// Matrix product (`@`) of 1-d and 2-d arrays.
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        if let (Some(&k), Some(&k2)) = (self.shape().last(), other.shape().first()) {
            if (1..=2).contains(&self.ndim()) && (1..=2).contains(&other.ndim()) && k != k2 {
                return Err(Error::Shape(format!(
                    "matmul: the last axis of the first operand {:?} has length {k}, the \
                     first axis of the second {:?} has length {k2}",
                    self.shape(),
                    other.shape()
                )));
            }
        }
        match (self.ndim(), other.ndim()) {
            (2, 2) | (1, 2) => self.tensordot(other, &[self.ndim() - 1], &[0]),
            (2, 1) | (1, 1) => self.tensordot(other, &[self.ndim() - 1], &[0]),
            (a, b) => Err(Error::Shape(format!(
                "matmul of {a}-d and {b}-d arrays is not supported (1-d and 2-d only)"
            ))),
        }
    }

    /// The axes permuted: axis i of the result is axis `perm[i]` of this array.
    pub fn transpose(&self, perm: &[usize]) -> Result<Array> {
        let mut sorted = perm.to_vec();
        sorted.sort_unstable();
        if sorted != (0..self.ndim()).collect::<Vec<_>>() {
            return Err(Error::invalid(format!(
                "{perm:?} is not a permutation of the {} axes",
                self.ndim()
            )));
        }
        let sizes: Vec<Vec<usize>> = perm
            .iter()
            .map(|&p| self.chunks().axis(p).to_vec())
            .collect();
        let shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        Ok(Array::new(
            self.dtype(),
            Chunks::from_sizes(&shape, sizes)?,
            Op::Transpose {
                input: self.clone(),
                perm: perm.to_vec(),
            },
        ))
    }

    /// The axes reversed (`.T`).
    pub fn t(&self) -> Array {
        let perm: Vec<usize> = (0..self.ndim()).rev().collect();
        self.transpose(&perm).expect("a reversal is a permutation")
    }

    pub fn swapaxes(&self, a: usize, b: usize) -> Result<Array> {
        check_axis(a, self.ndim())?;
        check_axis(b, self.ndim())?;
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(a, b);
        self.transpose(&perm)
    }

    // ---- indexing and structure -----------------------------------------------------------

    fn assemble(
        &self,
        plans: Vec<AxisPlan>,
        out_axes: Vec<Vec<usize>>,
        drop_axes: Vec<usize>,
        new_axes: Vec<usize>,
    ) -> Result<Array> {
        let shape: Vec<usize> = out_axes.iter().map(|s| s.iter().sum()).collect();
        Ok(Array::new(
            self.dtype(),
            Chunks::from_sizes(&shape, out_axes)?,
            Op::Assemble {
                input: self.clone(),
                plans,
                drop_axes,
                new_axes,
            },
        ))
    }

    /// Basic indexing: one [`Index`] per axis (missing trailing ones mean `:`), plus
    /// `NewAxis` entries anywhere.
    pub fn slice(&self, index: &[Index]) -> Result<Array> {
        let consumed = index
            .iter()
            .filter(|i| !matches!(i, Index::NewAxis))
            .count();
        if consumed > self.ndim() {
            return Err(Error::invalid(format!(
                "too many indices ({consumed}) for a {}-d array",
                self.ndim()
            )));
        }
        let shape = self.shape();
        let mut plans = Vec::with_capacity(self.ndim());
        let mut out_axes: Vec<Vec<usize>> = Vec::new();
        let (mut drop_axes, mut new_axes) = (Vec::new(), Vec::new());
        let mut ax = 0;
        let full = std::iter::repeat_n(Index::ALL, self.ndim() - consumed);
        for idx in index.iter().copied().chain(full) {
            match idx {
                Index::NewAxis => {
                    new_axes.push(out_axes.len());
                    out_axes.push(vec![1]);
                }
                Index::At(i) => {
                    let i = resolve_index(shape[ax], i)?;
                    plans.push(index_plan(self.chunks().axis(ax), i));
                    drop_axes.push(ax);
                    ax += 1;
                }
                Index::Slice(start, stop, step) => {
                    let s = resolve_slice(shape[ax], start, stop, step)?;
                    let (plan, sizes) = slice_plan(self.chunks().axis(ax), s);
                    plans.push(plan);
                    out_axes.push(sizes);
                    ax += 1;
                }
            }
        }
        self.assemble(plans, out_axes, drop_axes, new_axes)
    }

    /// Recuts the array into new chunks.
    pub fn rechunk(&self, chunks: &ChunkSpec) -> Result<Array> {
        let new = chunks.resolve(&self.shape(), self.dtype())?;
        if &new == self.chunks() {
            return Ok(self.clone());
        }
        let plans = (0..self.ndim())
            .map(|ax| rechunk_plan(self.chunks().axis(ax), new.axis(ax)))
            .collect();
        self.assemble(plans, new.axes().to_vec(), vec![], vec![])
    }

    /// Elements at `indices` along `axis` (integer-array indexing, `take`).
    pub fn take(&self, indices: &[i64], axis: usize) -> Result<Array> {
        check_axis(axis, self.ndim())?;
        let n = self.shape()[axis];
        let resolved = indices
            .iter()
            .map(|&i| resolve_index(n, i))
            .collect::<Result<Vec<_>>>()?;
        let block = self
            .chunks()
            .axis(axis)
            .iter()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1);
        let mut plan: AxisPlan = Vec::new();
        let mut sizes = Vec::new();
        for group in resolved.chunks(block) {
            let pieces: Vec<_> = group
                .iter()
                .flat_map(|&i| index_plan(self.chunks().axis(axis), i).remove(0))
                .collect();
            sizes.push(pieces.len());
            plan.push(pieces);
        }
        if plan.is_empty() {
            let (p, s) = slice_plan(
                self.chunks().axis(axis),
                resolve_slice(n, Some(0), Some(0), 1)?,
            );
            plan = p;
            sizes = s;
        }
        let mut plans = Vec::new();
        let mut out_axes = Vec::new();
        for ax in 0..self.ndim() {
            if ax == axis {
                plans.push(plan.clone());
                out_axes.push(sizes.clone());
            } else {
                let (p, s) = slice_plan(
                    self.chunks().axis(ax),
                    resolve_slice(self.shape()[ax], None, None, 1)?,
                );
                plans.push(p);
                out_axes.push(s);
            }
        }
        self.assemble(plans, out_axes, vec![], vec![])
    }

    /// Boolean-mask selection `x[mask]` (mask of the same shape): the selected elements in
    /// row-major order, as a 1-d array. How many elements each block contributes is not known
    /// until the mask is evaluated, so this persists the mask and counts it per block on
    /// `client` (the selection itself stays lazy).
    pub fn select(&self, mask: &Array, client: &Client) -> Result<Array> {
        if mask.shape() != self.shape() {
            return Err(Error::Shape(format!(
                "boolean index of shape {:?} does not match {:?}",
                mask.shape(),
                self.shape()
            )));
        }
        // The blocks' selections are laid end to end, so the blocks must follow the row-major
        // order: each spans whole rows (all of axes 1..), as after dask's `ravel`.
        let rows: Vec<Vec<usize>> = (0..self.ndim())
            .map(|k| match k {
                0 => self.chunks().axis(0).to_vec(),
                _ => vec![self.shape()[k]],
            })
            .collect();
        let input = self.rechunk(&ChunkSpec::Explicit(rows))?;
        let mask = mask.astype(DType::Bool);
        let mask = if mask.chunks() != input.chunks() {
            mask.rechunk(&ChunkSpec::Explicit(input.chunks().axes().to_vec()))?
        } else {
            mask
        };
        let mask = mask.persist(client)?;
        let grid = input.chunks().grid();
        let ones = Chunks::from_sizes(&grid, grid.iter().map(|&g| vec![1; g]).collect())?;
        let counts = Array::map_blocks(
            super::ops::OPS.count_block,
            std::slice::from_ref(&mask),
            DType::Int64,
            Some(ones),
        )?
        .compute(client)?;
        let per_block: Vec<usize> = counts
            .as_slice::<i64>()?
            .iter()
            .map(|&c| c as usize)
            .collect();
        let total: usize = per_block.iter().sum();
        let chunks = Chunks::from_sizes(
            &[total],
            vec![if per_block.is_empty() {
                vec![0]
            } else {
                per_block
            }],
        )?;
        Ok(Array::new(self.dtype(), chunks, Op::Select { input, mask }))
    }

    /// The array with a new shape of the same size (`-1` infers one length). Blocks are
    /// reshaped in place when their flat ranges line up; otherwise the array is rechunked
    /// along the first axis first (and made whole along the others).
    pub fn reshape(&self, shape: &[i64]) -> Result<Array> {
        let n = self.len();
        let new = super::index::resolve_shape(n, shape)?;
        if new == self.shape() {
            return Ok(self.clone());
        }
        if n == 0 || self.ndim() == 0 || new.is_empty() {
            let x = self.rechunk(&ChunkSpec::Explicit(
                self.shape().iter().map(|&k| vec![k]).collect(),
            ))?;
            return Ok(Array::new(
                self.dtype(),
                Chunks::single(&new),
                Op::Reshape { input: x },
            ));
        }
        // Rows of the old and new shapes (flat sizes of everything after the first axis).
        let old_shape = self.shape();
        let r_old: usize = old_shape[1..].iter().product::<usize>().max(1);
        let r_new: usize = new[1..].iter().product::<usize>().max(1);
        let g = gcd(r_old, r_new);
        let unit = r_new / g; // old rows per block must be a multiple of this
        let rows: Vec<usize> = {
            let mut out = Vec::new();
            let mut acc = 0;
            for &c in self.chunks().axis(0) {
                acc += c;
                let cut = acc / unit * unit;
                let prev: usize = out.iter().sum();
                if cut > prev {
                    out.push(cut - prev);
                }
            }
            let covered: usize = out.iter().sum();
            if covered < old_shape[0] {
                out.push(old_shape[0] - covered);
            }
            out
        };
        let mut wanted = vec![rows.clone()];
        wanted.extend(old_shape[1..].iter().map(|&k| vec![k]));
        let x = if wanted.as_slice() != self.chunks().axes() {
            self.rechunk(&ChunkSpec::Explicit(wanted))?
        } else {
            self.clone()
        };
        let mut sizes = vec![rows.iter().map(|&r| r * r_old / r_new).collect::<Vec<_>>()];
        sizes.extend(new[1..].iter().map(|&k| vec![k]));
        Ok(Array::new(
            self.dtype(),
            Chunks::from_sizes(&new, sizes)?,
            Op::Reshape { input: x },
        ))
    }

    /// Joins arrays along an existing axis (dtypes promoted; other axes rechunked to match).
    pub fn concatenate(arrays: &[Array], axis: usize) -> Result<Array> {
        let first = arrays
            .first()
            .ok_or_else(|| Error::invalid("concatenate needs at least one array"))?;
        check_axis(axis, first.ndim())?;
        let dtype = arrays
            .iter()
            .map(Array::dtype)
            .reduce(promote)
            .expect("non-empty");
        let mut inputs = Vec::with_capacity(arrays.len());
        for a in arrays {
            if a.ndim() != first.ndim()
                || a.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .any(|(k, (&x, y))| k != axis && x != y)
            {
                return Err(Error::Shape(format!(
                    "concatenate: shapes {:?} and {:?} differ outside axis {axis}",
                    first.shape(),
                    a.shape()
                )));
            }
            let mut wanted = first.chunks().axes().to_vec();
            wanted[axis] = a.chunks().axis(axis).to_vec();
            let a = a.astype(dtype);
            inputs.push(if wanted.as_slice() != a.chunks().axes() {
                a.rechunk(&ChunkSpec::Explicit(wanted))?
            } else {
                a
            });
        }
        let mut sizes = first.chunks().axes().to_vec();
        // Inputs empty along the axis drop out; the others bring all their blocks (the
        // lowering walks their grids, zero-size blocks included).
        sizes[axis] = inputs
            .iter()
            .filter(|a| a.shape()[axis] > 0)
            .flat_map(|a| a.chunks().axis(axis).to_vec())
            .collect();
        if sizes[axis].is_empty() {
            sizes[axis] = vec![0];
            return inputs[0].rechunk(&ChunkSpec::Explicit(sizes));
        }
        let inputs: Vec<Array> = inputs.into_iter().filter(|a| a.shape()[axis] > 0).collect();
        let shape: Vec<usize> = sizes.iter().map(|s| s.iter().sum()).collect();
        Ok(Array::new(
            dtype,
            Chunks::from_sizes(&shape, sizes)?,
            Op::Concatenate { inputs, axis },
        ))
    }

    /// Joins arrays of one shape along a new axis.
    pub fn stack(arrays: &[Array], axis: usize) -> Result<Array> {
        let first = arrays
            .first()
            .ok_or_else(|| Error::invalid("stack needs at least one array"))?;
        if let Some((i, a)) = arrays
            .iter()
            .enumerate()
            .find(|(_, a)| a.shape() != first.shape())
        {
            return Err(Error::Shape(format!(
                "stack: all arrays must have one shape; array 0 has {:?}, array {i} {:?}",
                first.shape(),
                a.shape()
            )));
        }
        if axis > first.ndim() {
            return Err(Error::invalid(format!(
                "axis {axis} is out of bounds for stacking {}-d arrays",
                first.ndim()
            )));
        }
        let expanded = arrays
            .iter()
            .map(|a| {
                let mut idx = vec![Index::ALL; axis];
                idx.push(Index::NewAxis);
                a.slice(&idx)
            })
            .collect::<Result<Vec<_>>>()?;
        Array::concatenate(&expanded, axis)
    }

    /// Applies a registered operation to aligned blocks of `inputs` (which share this
    /// array's chunk grid); the results form an array of `dtype` with `chunks` (default: the
    /// first input's).
    pub fn map_blocks(
        op: &'static OpDef,
        inputs: &[Array],
        dtype: DType,
        chunks: Option<Chunks>,
    ) -> Result<Array> {
        let first = inputs
            .first()
            .ok_or_else(|| Error::invalid("map_blocks needs an input"))?;
        for x in inputs {
            if x.chunks().grid() != first.chunks().grid() {
                return Err(Error::Shape(
                    "map_blocks: inputs have different block grids (rechunk them first)".into(),
                ));
            }
        }
        let chunks = chunks.unwrap_or_else(|| first.chunks().clone());
        if chunks.grid() != first.chunks().grid() {
            return Err(Error::Shape(
                "map_blocks: output chunks must have the inputs' block grid".into(),
            ));
        }
        Ok(Array::new(
            dtype,
            chunks,
            Op::MapBlocks {
                op,
                inputs: inputs.to_vec(),
            },
        ))
    }

    // ---- sparse blocks ----------------------------------------------------------------------

    /// The array with sparse (COO) blocks: each block keeps the elements that differ from
    /// `fill` (dask's `x.map_blocks(sparse.COO)`). Operations then dispatch on the block kind.
    pub fn to_sparse(&self, fill: impl Into<Scalar>) -> Array {
        if self.is_sparse() {
            return self.clone();
        }
        Array::new(
            self.dtype(),
            self.chunks().clone(),
            Op::ToSparse {
                input: self.clone(),
                fill: fill.into(),
            },
        )
    }

    /// A chunked sparse array over a sparse array, cut into blocks of `block` (each block a
    /// slice of `coo`).
    pub fn from_sparse_blocks(coo: &crate::sparse::Coo, block: &[usize]) -> Result<Array> {
        let chunks = Chunks::regular(coo.shape(), block)?;
        let mut blocks = Vec::with_capacity(chunks.nblocks());
        for i in 0..chunks.nblocks() {
            let idx = chunks.unravel(i);
            let sel: Vec<(usize, isize, usize)> = idx
                .iter()
                .enumerate()
                .map(|(ax, &k)| (chunks.offsets(ax)[k], 1, chunks.axis(ax)[k]))
                .collect();
            blocks.push(Arc::new(Value::Sparse(coo.slice(&sel, &[])?)));
        }
        Ok(Array::with_kind(
            coo.dtype(),
            chunks,
            Op::Blocks(blocks),
            true,
        ))
    }

    /// The array with dense blocks (the explicit densify of a sparse array).
    pub fn to_dense(&self) -> Array {
        if !self.is_sparse() {
            return self.clone();
        }
        Array::new(
            self.dtype(),
            self.chunks().clone(),
            Op::ToDense {
                input: self.clone(),
            },
        )
    }

    /// A random sparse float64 array: each element is stored with probability `density`,
    /// with a value uniform in (0, 1] (same seed, same array, whatever the chunking). Blocks are
    /// generated sparse: the cost is in the stored elements, not the dense size.
    pub fn random_sparse(
        seed: u64,
        density: f64,
        shape: &[usize],
        chunks: &ChunkSpec,
    ) -> Result<Array> {
        if !(0.0..=1.0).contains(&density) {
            return Err(Error::invalid(format!(
                "density {density} is not in [0, 1]"
            )));
        }
        Self::created(
            shape,
            DType::Float64,
            chunks,
            CreateSpec::SparseUniform { seed, density },
        )
    }

    /// Computes a sparse array into one COO array (blocks placed at their offsets).
    pub fn compute_sparse(&self, client: &Client) -> Result<crate::sparse::Coo> {
        if !self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are dense: use compute, or to_sparse first",
            ));
        }
        let mut pieces: Vec<(Vec<usize>, crate::sparse::Coo)> = Vec::with_capacity(self.nblocks());
        let fs = self.run(client)?;
        let chunks = self.chunks().clone();
        for (i, f) in fs.into_iter().enumerate() {
            let v = f.result()?;
            let c = match &*v {
                Value::Sparse(c) => c.clone(),
                Value::Buffer(b) => crate::sparse::Coo::from_dense(b, Scalar::Float(0.0))?,
                other => {
                    return Err(Error::invalid(format!(
                        "block task returned {}",
                        other.kind_name()
                    )))
                }
            };
            let offset = chunks.block_offset(i);
            pieces.push((offset, c));
        }
        super::sparse_blocks::place(&pieces, &self.shape())
    }

    // ---- computing ------------------------------------------------------------------------

    /// Number of tasks of the optimised graph (after culling and fusion).
    pub fn task_count(&self) -> Result<usize> {
        Ok(lower_all(&[self])?.0.len())
    }

    /// Starts computing the array on `client` and returns one future per block (row-major),
    /// without waiting: Dask's `client.compute` on the blocks.
    pub fn submit_blocks(&self, client: &Client) -> Result<Vec<Future>> {
        self.run(client)
    }

    fn run(&self, client: &Client) -> Result<Vec<Future>> {
        let (graph, outs) = lower_all(&[self])?;
        let blocks = &outs[0];
        let ids = task_ids(blocks);
        let mut computed = client.compute(graph, &ids)?.into_iter();
        blocks
            .iter()
            .map(|b| match b {
                GArg::Task(_) => Ok(computed.next().expect("one future per task")),
                GArg::Future(f) => Ok(f.clone()),
                GArg::Value(v) => client.scatter(v.clone()),
                GArg::Key(_) => Err(Error::invalid("unexpected key in array graph")),
            })
            .collect()
    }

    /// Computes the blocks and keeps them in the client's store; the result is an array over
    /// those blocks (further operations start from them).
    pub fn persist(&self, client: &Client) -> Result<Array> {
        let fs = self.run(client)?;
        for f in &fs {
            // Waits without reading the value: a block spilled meanwhile stays on disk.
            f.wait();
            if let Some(e) = f.error() {
                return Err(Error::Task(e));
            }
        }
        Ok(Array::with_kind(
            self.dtype(),
            self.chunks().clone(),
            Op::Futures(fs),
            self.is_sparse(),
        ))
    }

    /// Computes the array into a new C-contiguous buffer.
    pub fn compute(&self, client: &Client) -> Result<Buffer> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: use compute_sparse, or densify explicitly with to_dense",
            ));
        }
        let mut out = Buffer::zeros(self.dtype(), &self.shape())?;
        let bytes = out.as_mut_bytes()?;
        self.compute_into(client, bytes)?;
        Ok(out)
    }

    /// Computes the array into `out` (C order, `len() * itemsize` bytes).
    pub fn compute_into(&self, client: &Client, out: &mut [u8]) -> Result<()> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: use compute_sparse, or densify explicitly with to_dense",
            ));
        }
        let isz = self.dtype().itemsize();
        if out.len() != self.len() * isz {
            return Err(Error::Shape(format!(
                "output buffer has {} bytes, the array needs {}",
                out.len(),
                self.len() * isz
            )));
        }
        let shape = self.shape();
        let ptr = out.as_mut_ptr() as usize;
        self.store(client, |_, offset, block| {
            copy_block_into(ptr as *mut u8, &shape, isz, offset, block)
        })
    }

    /// Computes the array and hands each block to `write(block_index, offset, block)` as it is
    /// finished, then lets it go: a result larger than memory can be written out.
    pub fn store(
        &self,
        client: &Client,
        mut write: impl FnMut(usize, &[usize], &Buffer) -> Result<()>,
    ) -> Result<()> {
        if self.is_sparse() {
            return Err(Error::invalid(
                "the array's blocks are sparse: store writes dense blocks; densify explicitly with to_dense",
            ));
        }
        let fs = self.run(client)?;
        let chunks = self.chunks().clone();
        let mut done = AsCompleted::new(fs);
        while let Some((idx, f)) = done.next_timeout(None)? {
            let v = f.result()?;
            drop(f);
            let b = v
                .as_buffer()
                .ok_or_else(|| Error::invalid(format!("block task returned {}", v.kind_name())))?;
            let offset = chunks.block_offset(idx);
            write(idx, &offset, b)?;
        }
        Ok(())
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Copies `block` into the C-contiguous array at `out` (of `shape`) at `offset`.
pub(super) fn copy_block_into(
    out: *mut u8,
    shape: &[usize],
    isz: usize,
    offset: &[usize],
    block: &Buffer,
) -> Result<()> {
    if block.is_empty() {
        return Ok(()); // nothing to copy (`for_each_run` needs a non-empty shape)
    }
    let b = contiguous(block)?;
    let bshape = b.shape().to_vec();
    let nd = shape.len();
    let mut strides = vec![1usize; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let src = b.as_ptr();
    for_each_run(&bshape, 0, b.len(), |at, run, idx| {
        let dst: usize = idx
            .iter()
            .zip(offset)
            .zip(&strides)
            .map(|((&i, &o), &s)| (i + o) * s)
            .sum();
        // SAFETY: the block lies inside the array (its offset and shape come from the grid)
        // and `out` holds the whole array.
        unsafe { std::ptr::copy_nonoverlapping(src.add(at * isz), out.add(dst * isz), run * isz) };
    });
    Ok(())
}
