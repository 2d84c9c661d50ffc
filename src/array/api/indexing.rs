//! Indexing: basic slicing (slices, positions, new axes), integer-array indexing (`take`),
//! boolean-mask selection; all of them cut and assemble blocks (`Op::Assemble`).

use super::{check_axis, ChunkSpec};
use crate::array::chunks::Chunks;
use crate::array::index::{index_plan, resolve_index, resolve_slice, slice_plan};
use crate::array::node::{Array, AxisPlan, Op};
use crate::error::{Error, Result};
use crate::runtime::Client;
use crate::value::{DType, Index};

impl Array {
    pub(super) fn assemble(
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

    /// Elements at `indices` along `axis` (integer-array indexing, `take`).
    pub fn take(&self, indices: &[i64], axis: usize) -> Result<Array> {
        check_axis(axis, self.ndim())?;
        let n = self.shape()[axis];
        let mut resolved = Vec::new();
        resolved
            .try_reserve_exact(indices.len())
            .map_err(|_| Error::Memory(format!("cannot allocate {} indices", indices.len())))?;
        for &i in indices {
            resolved.push(resolve_index(n, i)?);
        }
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

    /// `x[mask]` with a 1-d mask along the first axis (NumPy's boolean index of one axis):
    /// the rows where the mask is true, in order. The mask is computed on `client` (its
    /// count sets the result's shape); the rows are taken lazily.
    fn select_rows(&self, mask: &Array, client: &Client) -> Result<Array> {
        if mask.shape()[0] != self.shape()[0] {
            return Err(Error::Shape(format!(
                "boolean index did not match indexed array along axis 0; size of axis is {} but \
                 size of corresponding boolean axis is {}",
                self.shape()[0],
                mask.shape()[0]
            )));
        }
        let m = mask.astype(DType::Bool).compute(client)?;
        let m = crate::value::block::contiguous(&m)?;
        let rows: Vec<i64> = m
            .as_slice::<crate::value::B8>()?
            .iter()
            .enumerate()
            .filter(|(_, b)| b.get())
            .map(|(i, _)| i as i64)
            .collect();
        self.take(&rows, 0)
    }

    /// Boolean-mask selection `x[mask]` (mask of the same shape): the selected elements in
    /// row-major order, as a 1-d array. How many elements each block contributes is not known
    /// until the mask is evaluated, so this persists the mask and counts it per block on
    /// `client` (the selection itself stays lazy). A 1-d mask on an array of more axes selects
    /// along the first axis.
    pub fn select(&self, mask: &Array, client: &Client) -> Result<Array> {
        // NumPy lets an empty 1-d mask index an axis of length 1 (it broadcasts): nothing.
        if mask.shape() == [0] && self.shape().first() == Some(&1) {
            return self.take(&[], 0);
        }
        if mask.ndim() == 1 && self.ndim() > 1 {
            return self.select_rows(mask, client);
        }
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
            crate::array::ops::OPS.count_block,
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
}
