//! argmin / argmax: per block the best value and its global index, combined across blocks
//! (ties and NaNs resolve to the first occurrence, as in NumPy).

use crate::error::{Error, Result};
use crate::ufunc::kernel::for_each_run;
use crate::ufunc::loops::B8;
use crate::value::block::contiguous;
use crate::value::{Buffer, DType, Element};

/// Parameters of the per-block step.
#[derive(Debug, Clone)]
pub struct ArgBlock {
    pub max: bool,
    pub axis: Option<usize>,
    pub offset: Vec<usize>,
    pub array_shape: Vec<usize>,
}

/// Best values (in the input dtype) and their global indices, shaped like the result.
#[derive(Debug, Clone)]
pub struct ArgPartial {
    pub max: bool,
    pub values: Buffer,
    pub indices: Vec<i64>,
}

trait Ordered: Element + Copy {
    fn is_nan(self) -> bool;
    fn gt(self, o: Self) -> bool;
}
macro_rules! ordered {
    ($($t:ty),*) => {$(impl Ordered for $t {
        #[allow(clippy::float_cmp)]
        fn is_nan(self) -> bool { self != self }
        fn gt(self, o: Self) -> bool { self > o }
    })*};
}
ordered!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
impl Ordered for B8 {
    fn is_nan(self) -> bool {
        false
    }
    fn gt(self, o: Self) -> bool {
        self.get() & !o.get()
    }
}

/// True when `cand` beats the incumbent `best` (a NaN wins, and keeps winning).
fn better<T: Ordered>(cand: T, best: T, max: bool) -> bool {
    if best.is_nan() {
        return false;
    }
    if cand.is_nan() {
        return true;
    }
    if max {
        cand.gt(best)
    } else {
        best.gt(cand)
    }
}

fn block_typed<T: Ordered>(p: &ArgBlock, b: &Buffer) -> Result<ArgPartial> {
    let c = contiguous(b)?;
    let xs = c.as_slice::<T>()?;
    let shape = c.shape().to_vec();
    let nd = shape.len();
    let mut gstrides = vec![1i64; nd];
    for a in (0..nd.saturating_sub(1)).rev() {
        gstrides[a] = gstrides[a + 1] * p.array_shape[a + 1] as i64;
    }
    let out_shape: Vec<usize> = match p.axis {
        None => vec![],
        Some(k) => shape
            .iter()
            .enumerate()
            .filter(|&(a, _)| a != k)
            .map(|(_, &n)| n)
            .collect(),
    };
    let m: usize = out_shape.iter().product();
    let mut best: Vec<Option<(T, i64)>> = vec![None; m];
    let n = xs.len();
    if n == 0 {
        // An empty block: an empty result, or no candidate at all (its group has others).
        return if m == 0 {
            Ok(ArgPartial {
                max: p.max,
                values: Buffer::from_vec(Vec::<T>::new(), &out_shape)?,
                indices: vec![],
            })
        } else {
            Err(Error::invalid(
                "attempt to get argmin/argmax of an empty sequence",
            ))
        };
    }
    if nd == 0 {
        // A 0-d array: its one element is at index 0 (NumPy's argmax of a scalar).
        return Ok(ArgPartial {
            max: p.max,
            values: Buffer::from_vec(vec![xs[0]], &[])?,
            indices: vec![0],
        });
    }
    for_each_run(&shape, 0, n, |at, run, idx| {
        for j in 0..run {
            let mut gi = idx.to_vec();
            gi[nd - 1] += j;
            let v = xs[at + j];
            let (slot, index) = match p.axis {
                None => (
                    0,
                    gi.iter()
                        .zip(&p.offset)
                        .zip(&gstrides)
                        .map(|((&i, &o), &s)| (i + o) as i64 * s)
                        .sum(),
                ),
                Some(k) => {
                    let mut off = 0usize;
                    for (a, &i) in gi.iter().enumerate() {
                        if a != k {
                            off = off * shape[a] + i;
                        }
                    }
                    (off, (gi[k] + p.offset[k]) as i64)
                }
            };
            match best[slot] {
                Some((bv, _)) if !better(v, bv, p.max) => {}
                _ => best[slot] = Some((v, index)),
            }
        }
    });
    if best.iter().any(Option::is_none) {
        return Err(Error::invalid(
            "attempt to get argmin/argmax of an empty sequence",
        ));
    }
    let (values, indices): (Vec<T>, Vec<i64>) =
        best.into_iter().map(|b| b.expect("checked")).unzip();
    Ok(ArgPartial {
        max: p.max,
        values: Buffer::from_vec(values, &out_shape)?,
        indices,
    })
}

fn combine_typed<T: Ordered>(parts: &[&ArgPartial]) -> Result<ArgPartial> {
    let mut values = parts[0].values.as_slice::<T>()?.to_vec();
    let mut indices = parts[0].indices.clone();
    for p in &parts[1..] {
        for (i, (&v, &ix)) in p.values.as_slice::<T>()?.iter().zip(&p.indices).enumerate() {
            // Partials do not come in index order (blocks of a grid interleave in the flat
            // order), so a tie goes to the smaller index: the first occurrence.
            let tie = !better(values[i], v, p.max) && ix < indices[i];
            if better(v, values[i], p.max) || tie {
                values[i] = v;
                indices[i] = ix;
            }
        }
    }
    Ok(ArgPartial {
        max: parts[0].max,
        values: Buffer::from_vec(values, parts[0].values.shape())?,
        indices,
    })
}

macro_rules! by_dtype {
    ($d:expr, $f:ident, $($a:expr),*) => {
        match $d {
            DType::Bool => $f::<B8>($($a),*),
            DType::Int8 => $f::<i8>($($a),*),
            DType::Int16 => $f::<i16>($($a),*),
            DType::Int32 => $f::<i32>($($a),*),
            DType::Int64 => $f::<i64>($($a),*),
            DType::UInt8 => $f::<u8>($($a),*),
            DType::UInt16 => $f::<u16>($($a),*),
            DType::UInt32 => $f::<u32>($($a),*),
            DType::UInt64 => $f::<u64>($($a),*),
            DType::Float32 => $f::<f32>($($a),*),
            DType::Float64 => $f::<f64>($($a),*),
        }
    };
}

pub fn arg_block(p: &ArgBlock, b: &Buffer) -> Result<ArgPartial> {
    by_dtype!(b.dtype(), block_typed, p, b)
}

pub fn arg_combine(parts: &[&ArgPartial]) -> Result<ArgPartial> {
    let first = parts
        .first()
        .ok_or_else(|| Error::invalid("nothing to combine"))?;
    by_dtype!(first.values.dtype(), combine_typed, parts)
}

pub fn arg_finalize(p: &ArgPartial, shape: &[usize]) -> Result<Buffer> {
    Buffer::from_vec(p.indices.clone(), shape)
}
