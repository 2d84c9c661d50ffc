//! Creation routines: each block is generated where it is needed, from its global offset, so
//! the values never depend on the chunking (the same seed gives the same numbers whatever the
//! chunks).

use crate::error::Result;
use crate::sparse::Coo;
use crate::value::Scalar;
use crate::value::{Buffer, DType};

/// What to fill blocks with.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateSpec {
    Full(Scalar),
    /// `start + i * step` over the flat (1-d) index.
    Arange {
        start: f64,
        step: f64,
    },
    /// `num` points from `start` to `stop` (inclusive when `endpoint`).
    Linspace {
        start: f64,
        stop: f64,
        num: usize,
        endpoint: bool,
    },
    /// Ones on the `k`-th diagonal of a 2-d array.
    Eye {
        k: i64,
    },
    /// Uniform in [low, high) from a counter-based generator keyed by (seed, flat index).
    Uniform {
        seed: u64,
        low: f64,
        high: f64,
    },
    /// Normal(mean, std) from the same generator (Box–Muller on two counters).
    Normal {
        seed: u64,
        mean: f64,
        std: f64,
    },
    /// Sparse (COO) blocks: each element is stored with probability `density`, with a value
    /// uniform in (0, 1]. Positions are drawn directly (geometric gaps between stored
    /// elements), never by testing every element.
    SparseUniform {
        seed: u64,
        density: f64,
    },
}

impl CreateSpec {
    pub fn name(&self) -> &'static str {
        match self {
            CreateSpec::Full(_) => "full",
            CreateSpec::Arange { .. } => "arange",
            CreateSpec::Linspace { .. } => "linspace",
            CreateSpec::Eye { .. } => "eye",
            CreateSpec::Uniform { .. } => "random.uniform",
            CreateSpec::Normal { .. } => "random.normal",
            CreateSpec::SparseUniform { .. } => "random.sparse",
        }
    }
}

/// The parameters of one creation task: the spec, the array's shape, the block's position.
#[derive(Debug, Clone)]
pub struct CreateBlock {
    pub spec: CreateSpec,
    pub dtype: DType,
    pub array_shape: Vec<usize>,
    pub offset: Vec<usize>,
    pub shape: Vec<usize>,
}

/// SplitMix64: a counter-based generator (each index hashed independently).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform double in [0, 1) for counter `i` of stream `seed`.
pub fn uniform01(seed: u64, i: u64) -> f64 {
    let h = splitmix(splitmix(seed) ^ i.wrapping_mul(0xd1b5_4a32_d192_ed03));
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Columns of a segment: each line (the elements that differ only in the last index) is cut
/// into segments with their own random stream, so a block only draws the segments it
/// overlaps, and the draws do not depend on the chunking.
const SEGMENT: usize = 1024;

/// A sparse random block (`CreateSpec::SparseUniform`) as a canonical float64 COO: lines in
/// row-major order, positions ascending within each line.
pub fn create_sparse_block(p: &CreateBlock) -> Result<Coo> {
    let CreateSpec::SparseUniform { seed, density } = p.spec else {
        return Err(crate::error::Error::invalid("not a sparse creation"));
    };
    let nd = p.shape.len();
    let mut positions: Vec<Vec<u64>> = vec![Vec::new(); nd];
    let mut values: Vec<f64> = Vec::new();
    let n: usize = p.shape.iter().product();
    if nd > 0 && n > 0 && density > 0.0 {
        let width = p.array_shape[nd - 1];
        let (c0, c1) = (p.offset[nd - 1], p.offset[nd - 1] + p.shape[nd - 1]);
        let log_keep = (1.0 - density).ln(); // -inf when density is 1: every gap is 0
        let lead = &p.shape[..nd - 1];
        let lines: usize = lead.iter().product();
        let mut idx = vec![0usize; nd - 1];
        for _ in 0..lines {
            // The line's global number, row-major over the leading axes.
            let line = idx
                .iter()
                .zip(&p.offset)
                .zip(&p.array_shape)
                .fold(0u64, |acc, ((&i, &o), &d)| acc * d as u64 + (i + o) as u64);
            for segment in c0 / SEGMENT..c1.div_ceil(SEGMENT) {
                let stream =
                    splitmix(seed ^ splitmix(line.wrapping_mul(0x2545_f491) ^ segment as u64));
                let end = ((segment + 1) * SEGMENT).min(width);
                let mut next = segment * SEGMENT; // first candidate position
                for draw in 0u64.. {
                    let gap = ((1.0 - uniform01(stream, draw)).ln() / log_keep).floor();
                    // `as` saturates: an enormous gap simply ends the segment.
                    next = next.saturating_add(if gap > 0.0 { gap as usize } else { 0 });
                    if next >= end {
                        break;
                    }
                    if next >= c0 && next < c1 {
                        for (axis, &i) in idx.iter().enumerate() {
                            positions[axis].push(i as u64);
                        }
                        positions[nd - 1].push((next - c0) as u64);
                        let flat = line * width as u64 + next as u64;
                        values.push(1.0 - uniform01(seed.wrapping_add(0x5eed), flat));
                    }
                    next += 1;
                }
            }
            for a in (0..nd - 1).rev() {
                idx[a] += 1;
                if idx[a] < lead[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }
    let nnz = values.len();
    let all: Vec<u64> = positions.into_iter().flatten().collect();
    Coo::from_canonical(
        &p.shape,
        crate::sparse::Coords::narrow(&p.shape, all),
        Buffer::from_vec(values, &[nnz])?,
        [0u8; 8],
    )
}

/// Generates one block (as float64 or the spec's natural type, then cast to the dtype).
pub fn create_block(p: &CreateBlock) -> Result<Buffer> {
    let n: usize = p.shape.iter().product();
    if let CreateSpec::Full(s) = p.spec {
        let mut b = Buffer::zeros(p.dtype, &p.shape)?;
        let elem = s.to_element(p.dtype);
        let isz = p.dtype.itemsize();
        if elem[..isz].iter().any(|&x| x != 0) {
            for chunk in b.as_mut_bytes()?.chunks_exact_mut(isz) {
                chunk.copy_from_slice(&elem[..isz]);
            }
        }
        return Ok(b);
    }
    if n == 0 {
        return Buffer::zeros(p.dtype, &p.shape); // an empty block of an empty axis
    }
    if let CreateSpec::SparseUniform { .. } = p.spec {
        return create_sparse_block(p)?.to_dense();
    }
    // Global flat index of each element of the block, in row-major order.
    let nd = p.shape.len();
    let mut strides = vec![1usize; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * p.array_shape[a + 1];
    }
    let mut values = Vec::with_capacity(n);
    crate::ufunc::kernel::for_each_run(&p.shape, 0, n, |_, run, idx| {
        let base: usize = idx
            .iter()
            .zip(&p.offset)
            .zip(&strides)
            .map(|((&i, &o), &s)| (i + o) * s)
            .sum();
        for j in 0..run {
            let flat = (base + j) as u64;
            let v = match &p.spec {
                CreateSpec::Full(_) | CreateSpec::SparseUniform { .. } => {
                    unreachable!("handled above")
                }
                CreateSpec::Arange { start, step } => start + flat as f64 * step,
                CreateSpec::Linspace {
                    start,
                    stop,
                    num,
                    endpoint,
                } => {
                    let div = if *endpoint {
                        num.saturating_sub(1)
                    } else {
                        *num
                    };
                    if div == 0 {
                        *start
                    } else if *endpoint && flat as usize == num - 1 {
                        *stop
                    } else {
                        start + (stop - start) * flat as f64 / div as f64
                    }
                }
                CreateSpec::Eye { k } => {
                    let (r, c) = (
                        (idx[0] + p.offset[0]) as i64,
                        (idx[1] + p.offset[1] + j) as i64,
                    );
                    (c - r == *k) as u8 as f64
                }
                CreateSpec::Uniform { seed, low, high } => {
                    low + (high - low) * uniform01(*seed, flat)
                }
                CreateSpec::Normal { seed, mean, std } => {
                    let u1 = 1.0 - uniform01(*seed, 2 * flat);
                    let u2 = uniform01(*seed, 2 * flat + 1);
                    mean + std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                }
            };
            values.push(v);
        }
    });
    let b = Buffer::from_vec(values, &p.shape)?;
    if let CreateSpec::Arange { start, step } = p.spec {
        // Integer aranges are exact: compute them in int64, not through float64.
        if !matches!(p.dtype, DType::Float32 | DType::Float64)
            && start.fract() == 0.0
            && step.fract() == 0.0
        {
            let exact: Vec<i64> = (0..n)
                .map(|i| {
                    start as i64 + (p.offset.first().copied().unwrap_or(0) + i) as i64 * step as i64
                })
                .collect();
            return crate::ufunc::kernel::cast_block(&Buffer::from_vec(exact, &p.shape)?, p.dtype);
        }
    }
    crate::ufunc::kernel::cast_block(&b, p.dtype)
}
