//! Chunk grids: per-axis block sizes, regular or irregular, like `dask.array`'s `chunks`.

use crate::error::{Error, Result};

/// Default target size of an automatically chosen block (`chunks="auto"`).
pub const AUTO_BLOCK_BYTES: usize = 128 << 20;

/// Most elements an array may have: the bytes of any dtype then fit in `isize`, the largest
/// size Rust (and C's `ptrdiff_t`) can address. An array above it is refused when it is made,
/// not when something later multiplies its shape.
pub const MAX_ELEMENTS: usize = isize::MAX as usize / 8;

/// Most blocks an array may have. Each block is a task and a few words of bookkeeping; a
/// grid of more blocks is a chunking mistake (chunks of 1 along a long axis), refused up
/// front with a message saying so instead of exhausting memory on the bookkeeping.
pub const MAX_BLOCKS: usize = 1 << 28;

/// The block sizes along each axis.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chunks(Vec<Vec<usize>>);

/// The number of elements of `shape`, checked against [`MAX_ELEMENTS`].
pub fn checked_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| {
            Error::Shape(format!(
                "an array of shape {shape:?} is too large: at most {MAX_ELEMENTS} elements \
                 (2^60 - 1) can be addressed"
            ))
        })
}

/// Checks a grid of `grid` blocks against [`MAX_BLOCKS`].
fn check_grid(grid: &[usize], shape: &[usize]) -> Result<()> {
    let blocks = grid
        .iter()
        .try_fold(1usize, |acc, &g| acc.checked_mul(g))
        .filter(|&b| b <= MAX_BLOCKS);
    if blocks.is_none() {
        return Err(Error::Shape(format!(
            "chunking an array of shape {shape:?} into {grid:?} blocks gives more than \
             {MAX_BLOCKS} blocks: choose larger chunks"
        )));
    }
    Ok(())
}

/// `n` copies of `v` in a vector whose memory may be refused (an error, not an abort).
fn filled(n: usize, v: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| Error::Memory(format!("cannot allocate the sizes of {n} blocks")))?;
    out.resize(n, v);
    Ok(out)
}

impl Chunks {
    /// Blocks of `block` elements per axis (the last block of an axis may be smaller).
    pub fn regular(shape: &[usize], block: &[usize]) -> Result<Chunks> {
        if block.len() != shape.len() {
            return Err(Error::Shape(format!(
                "chunk shape {block:?} has {} dimensions, the array {}",
                block.len(),
                shape.len()
            )));
        }
        checked_len(shape)?;
        let mut grid = Vec::with_capacity(shape.len());
        for (&n, &b) in shape.iter().zip(block) {
            if b == 0 && n > 0 {
                return Err(Error::Shape(format!(
                    "chunk size 0 for an axis of length {n}"
                )));
            }
            grid.push(if n == 0 { 1 } else { n.div_ceil(b) });
        }
        check_grid(&grid, shape)?;
        let mut axes = Vec::with_capacity(shape.len());
        for (&n, &b) in shape.iter().zip(block) {
            let b = b.max(1);
            let mut sizes = filled(n / b, b)?;
            if n % b != 0 {
                sizes.push(n % b);
            }
            if n == 0 {
                sizes = vec![0];
            }
            axes.push(sizes);
        }
        Ok(Chunks(axes))
    }

    /// Explicit (possibly irregular) block sizes per axis; they must add up to `shape`.
    pub fn from_sizes(shape: &[usize], sizes: Vec<Vec<usize>>) -> Result<Chunks> {
        if sizes.len() != shape.len() {
            return Err(Error::Shape(format!(
                "chunks for {} dimensions given for a {}-d array",
                sizes.len(),
                shape.len()
            )));
        }
        checked_len(shape)?;
        for (axis, (s, &n)) in sizes.iter().zip(shape).enumerate() {
            let total = s.iter().try_fold(0usize, |acc, &k| acc.checked_add(k));
            if total != Some(n) || s.is_empty() {
                return Err(Error::Shape(format!(
                    "chunks {s:?} of axis {axis} do not add up to its length {n}"
                )));
            }
        }
        let grid: Vec<usize> = sizes.iter().map(Vec::len).collect();
        check_grid(&grid, shape)?;
        Ok(Chunks(sizes))
    }

    /// Blocks of about `target_bytes` (Dask's `chunks="auto"`): the largest block dimension is
    /// halved until the block fits, which keeps blocks balanced across axes.
    pub fn auto(shape: &[usize], itemsize: usize, target_bytes: usize) -> Result<Chunks> {
        checked_len(shape)?;
        let mut block: Vec<usize> = shape.iter().map(|&n| n.max(1)).collect();
        let limit = (target_bytes / itemsize.max(1)).max(1);
        // The product fits: it is at most the array's length (checked above), or 1 per axis.
        while block.iter().product::<usize>() > limit {
            let (i, _) = block
                .iter()
                .enumerate()
                .max_by_key(|(_, &b)| b)
                .expect("non-empty");
            block[i] = block[i].div_ceil(2);
        }
        Chunks::regular(shape, &block)
    }

    /// One block covering the whole array.
    pub fn single(shape: &[usize]) -> Chunks {
        Chunks(shape.iter().map(|&n| vec![n]).collect())
    }

    pub fn ndim(&self) -> usize {
        self.0.len()
    }

    /// Sizes along `axis`.
    pub fn axis(&self, axis: usize) -> &[usize] {
        &self.0[axis]
    }

    pub fn axes(&self) -> &[Vec<usize>] {
        &self.0
    }

    pub fn shape(&self) -> Vec<usize> {
        self.0.iter().map(|s| s.iter().sum()).collect()
    }

    /// Number of blocks along each axis.
    pub fn grid(&self) -> Vec<usize> {
        self.0.iter().map(Vec::len).collect()
    }

    pub fn nblocks(&self) -> usize {
        self.grid().iter().product()
    }

    /// Shape of the block at grid position `idx`.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter().enumerate().map(|(a, &i)| self.0[a][i]).collect()
    }

    /// Start of every block along `axis`, plus the end.
    pub fn offsets(&self, axis: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.0[axis].len() + 1);
        let mut acc = 0;
        out.push(0);
        for &s in &self.0[axis] {
            acc += s;
            out.push(acc);
        }
        out
    }

    /// Where the block with row-major number `linear` starts in the array.
    pub fn block_offset(&self, linear: usize) -> Vec<usize> {
        self.unravel(linear)
            .iter()
            .enumerate()
            .map(|(ax, &k)| self.0[ax][..k].iter().sum())
            .collect()
    }

    /// Grid position of the block with row-major number `linear`.
    pub fn unravel(&self, mut linear: usize) -> Vec<usize> {
        let grid = self.grid();
        let mut idx = vec![0; grid.len()];
        for a in (0..grid.len()).rev() {
            idx[a] = linear % grid[a];
            linear /= grid[a];
        }
        idx
    }

    /// Row-major number of the block at grid position `idx`.
    pub fn ravel(&self, idx: &[usize]) -> usize {
        let grid = self.grid();
        idx.iter().zip(&grid).fold(0, |acc, (&i, &g)| acc * g + i)
    }
}

/// Iterates over all positions of a grid in row-major order.
pub fn grid_positions(grid: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = grid.iter().product();
    (0..total).map(move |mut linear| {
        let mut idx = vec![0; grid.len()];
        for a in (0..grid.len()).rev() {
            idx[a] = linear % grid[a];
            linear /= grid[a];
        }
        idx
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_irregular_and_auto() {
        let c = Chunks::regular(&[10, 7], &[4, 7]).unwrap();
        assert_eq!(c.axes(), &[vec![4, 4, 2], vec![7]]);
        assert_eq!(c.nblocks(), 3);
        assert_eq!(c.offsets(0), vec![0, 4, 8, 10]);
        assert_eq!(c.unravel(2), vec![2, 0]);
        assert!(Chunks::from_sizes(&[5], vec![vec![2, 2]]).is_err());
        let a = Chunks::auto(&[100_000, 1000], 8, 8 << 20).unwrap();
        let block: usize = a.axes().iter().map(|s| s[0]).product();
        assert!(
            block * 8 <= 8 << 20 && block * 8 > 2 << 20,
            "{:?}",
            a.grid()
        );
        assert_eq!(Chunks::regular(&[0], &[5]).unwrap().axes(), &[vec![0]]);
    }

    #[test]
    fn huge_shapes_and_grids_are_refused_before_anything_is_allocated() {
        let err = |r: Result<Chunks>| r.unwrap_err().to_string();
        assert!(err(Chunks::regular(&[1 << 36], &[1])).contains("choose larger chunks"));
        assert!(err(Chunks::auto(&[1 << 59], 1, AUTO_BLOCK_BYTES)).contains("blocks"));
        assert!(err(Chunks::auto(&[1 << 60], 8, AUTO_BLOCK_BYTES)).contains("too large"));
        assert!(err(Chunks::regular(&[usize::MAX / 2, 2], &[1, 1])).contains("too large"));
        assert!(err(Chunks::regular(
            &[usize::MAX, usize::MAX],
            &[usize::MAX, usize::MAX]
        ))
        .contains("too large"));
        assert!(
            err(Chunks::regular(&[1 << 33, 1 << 33], &[1 << 33, 1 << 33])).contains("too large")
        );
        assert!(err(Chunks::from_sizes(&[4], vec![vec![usize::MAX, 5]])).contains("add up"));
        // The largest allowed still works (lazily: nothing is allocated for the elements).
        assert!(Chunks::regular(&[1 << 29, 1 << 30], &[1 << 16, 1 << 16]).is_ok());
    }
}
