//! Linear algebra: tensordot and the matrix product, streamed chunk by chunk.

use super::{check_axis, ChunkSpec};
use crate::array::chunks::Chunks;
use crate::array::node::{Array, Op};
use crate::error::{Error, Result};
use crate::ufunc::promote::promote;

impl Array {
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

    /// Matrix product (`@`): 1-d and 2-d arrays through the block products, stacks of
    /// matrices as NumPy's `matmul` (leading axes broadcast).
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
            // Stacks of matrices (NumPy's rules: leading axes broadcast).
            (a, b) if a >= 1 && b >= 1 => {
                Array::apply_gufunc(&*crate::ufunc::ufunc("matmul")?, self, other)
            }
            (a, b) => Err(Error::Shape(format!(
                "matmul of {a}-d and {b}-d arrays: 0-d operands have no matrix axes"
            ))),
        }
    }
}
