//! NumPy basic indexing of a sparse array (`s[1, ::2, None]`): slices, integer positions
//! (the axis is dropped) and new axes, resolved with the same rules as dense arrays.

use crate::error::{Error, Result};
use crate::value::index::{resolve_index, resolve_slice, Index};
use crate::value::Coo;

impl Coo {
    /// `self[idx]`: missing trailing entries mean `:`; `Index::NewAxis` inserts an axis of
    /// length 1. The result is a new canonical COO.
    pub fn index(&self, idx: &[Index]) -> Result<Coo> {
        let consumed = idx.iter().filter(|i| !matches!(i, Index::NewAxis)).count();
        if consumed > self.ndim() {
            return Err(Error::invalid(format!(
                "too many indices ({consumed}) for a {}-d array",
                self.ndim()
            )));
        }
        let mut sel = Vec::with_capacity(self.ndim());
        let mut drop = Vec::new();
        // The result's shape, with new axes where they were asked for.
        let mut shape = Vec::new();
        let mut axis = 0;
        for i in idx {
            match *i {
                Index::NewAxis => shape.push(1),
                Index::At(k) => {
                    let at = resolve_index(self.shape()[axis], k)?;
                    sel.push((at, 1, 1));
                    drop.push(axis);
                    axis += 1;
                }
                Index::Slice(start, stop, step) => {
                    let s = resolve_slice(self.shape()[axis], start, stop, step)?;
                    sel.push((s.start, s.step, s.len));
                    shape.push(s.len);
                    axis += 1;
                }
            }
        }
        for &n in &self.shape()[axis..] {
            sel.push((0, 1, n));
            shape.push(n);
        }
        let sliced = self.slice(&sel, &drop)?;
        if sliced.shape() == shape.as_slice() {
            Ok(sliced)
        } else {
            // Only new axes of length 1 differ: the same elements in the same order.
            sliced.reshape(&shape)
        }
    }
}
