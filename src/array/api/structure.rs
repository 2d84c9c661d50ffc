//! Restructuring: transposes, rechunking, reshape, concatenate and stack, map_blocks.

use super::{check_axis, ChunkSpec};
use crate::array::chunks::Chunks;
use crate::array::index::rechunk_plan;
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::runtime::OpDef;
use crate::ufunc::promote::promote_all;
use crate::value::{DType, Index};

impl Array {
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

    /// The array with a new shape of the same size (`-1` infers one length). Blocks are
    /// reshaped in place when their flat ranges line up; otherwise the array is rechunked
    /// along the first axis first (and made whole along the others).
    pub fn reshape(&self, shape: &[i64]) -> Result<Array> {
        let n = self.len();
        let new = crate::array::index::resolve_shape(n, shape)?;
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
        let dtypes: Vec<DType> = arrays.iter().map(Array::dtype).collect();
        let dtype = promote_all(&dtypes).expect("non-empty");
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
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
