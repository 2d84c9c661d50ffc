//! Reduction kernels: the per-chunk step of a reduction fused onto the chunk's elementwise
//! program, the combination of partial results (a tree across chunks), and the final step.
//!
//! Float sums are pairwise (like NumPy) inside a tile and then added per tile; means and
//! variances combine (count, mean, M2) triples with Chan's formula, which stays accurate where
//! the textbook `E[x²] - E[x]²` cancels catastrophically.

use crate::error::{Error, Result};
use crate::ufunc::elem::Num;
use crate::ufunc::kernel::{for_each_run, Sink};
use crate::ufunc::loops::B8;
use crate::value::{Buffer, DType, Element};

pub use crate::ufunc::reduce_op::{sum_dtype, ReduceOp, UfuncRef};

/// A partial reduction: one buffer (monoids) or several (count and sum for means; count,
/// mean and M2 for variances), all shaped like the block with reduced axes of length 1.
#[derive(Debug, Clone)]
pub struct Partial {
    pub op: ReduceOp,
    pub bufs: Vec<Buffer>,
}

/// Pairwise summation (NumPy's scheme): blocks of 128 summed with 8 accumulators, halves
/// summed recursively. Error grows as O(log n) instead of O(n).
pub fn pairwise_sum<T: Num>(xs: &[T]) -> T {
    if xs.len() <= 128 {
        let mut acc = [T::ZERO; 8];
        let chunks = xs.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            for k in 0..8 {
                acc[k] = T::add(acc[k], c[k]);
            }
        }
        let mut s = T::add(
            T::add(T::add(acc[0], acc[1]), T::add(acc[2], acc[3])),
            T::add(T::add(acc[4], acc[5]), T::add(acc[6], acc[7])),
        );
        for &x in rest {
            s = T::add(s, x);
        }
        s
    } else {
        let half = (xs.len() / 2) / 8 * 8;
        T::add(pairwise_sum(&xs[..half]), pairwise_sum(&xs[half..]))
    }
}

/// A monoid over element type `T`.
trait Monoid<T: Copy> {
    fn identity() -> T;
    fn combine(a: T, b: T) -> T;
    fn fold(acc: T, xs: &[T]) -> T {
        xs.iter().fold(acc, |a, &x| Self::combine(a, x))
    }
}

struct SumM;
impl<T: Num> Monoid<T> for SumM {
    fn identity() -> T {
        T::ZERO
    }
    fn combine(a: T, b: T) -> T {
        T::add(a, b)
    }
    fn fold(acc: T, xs: &[T]) -> T {
        T::add(acc, pairwise_sum(xs))
    }
}
struct ProdM;
impl<T: Num> Monoid<T> for ProdM {
    fn identity() -> T {
        T::ONE
    }
    fn combine(a: T, b: T) -> T {
        T::mul(a, b)
    }
}
struct MinM;
struct MaxM;
macro_rules! minmax_identity {
    ($($t:ty: $lo:expr, $hi:expr);*) => {$(
        impl Monoid<$t> for MinM {
            fn identity() -> $t { $hi }
            fn combine(a: $t, b: $t) -> $t { <$t as Num>::minimum(a, b) }
        }
        impl Monoid<$t> for MaxM {
            fn identity() -> $t { $lo }
            fn combine(a: $t, b: $t) -> $t { <$t as Num>::maximum(a, b) }
        }
    )*};
}
minmax_identity!(i8: i8::MIN, i8::MAX; i16: i16::MIN, i16::MAX; i32: i32::MIN, i32::MAX;
    i64: i64::MIN, i64::MAX; u8: 0, u8::MAX; u16: 0, u16::MAX; u32: 0, u32::MAX; u64: 0, u64::MAX;
    f32: f32::NEG_INFINITY, f32::INFINITY; f64: f64::NEG_INFINITY, f64::INFINITY);
impl Monoid<B8> for MinM {
    fn identity() -> B8 {
        B8(1)
    }
    fn combine(a: B8, b: B8) -> B8 {
        B8::of(a.get() && b.get())
    }
}
impl Monoid<B8> for MaxM {
    fn identity() -> B8 {
        B8(0)
    }
    fn combine(a: B8, b: B8) -> B8 {
        B8::of(a.get() || b.get())
    }
}
/// Where an element of a block lands in the partial (reduced axes collapse to 0).
struct Layout {
    shape: Vec<usize>,
    partial_shape: Vec<usize>,
    /// Element strides of the partial for each block axis (0 on reduced axes).
    out_strides: Vec<usize>,
    inner_reduced: bool,
    out_len: usize,
}

impl Layout {
    fn new(shape: &[usize], reduced: &[bool]) -> Layout {
        let partial_shape: Vec<usize> = shape
            .iter()
            .zip(reduced)
            .map(|(&n, &r)| if r { 1 } else { n })
            .collect();
        let mut out_strides = vec![0usize; shape.len()];
        let mut step = 1;
        for a in (0..shape.len()).rev() {
            out_strides[a] = if reduced[a] { 0 } else { step };
            step *= partial_shape[a];
        }
        Layout {
            shape: shape.to_vec(),
            out_len: partial_shape.iter().product(),
            partial_shape,
            out_strides,
            inner_reduced: reduced.last().copied().unwrap_or(true),
        }
    }
}

/// Folds tiles of a monoid into the partial's accumulator.
struct MonoidSink<T: Element + Copy, M: Monoid<T>> {
    layout: Layout,
    acc: Vec<T>,
    _m: std::marker::PhantomData<M>,
}

impl<T: Element + Copy, M: Monoid<T>> Sink for MonoidSink<T, M> {
    fn tile(&mut self, data: &[u8], start: usize, len: usize, _: bool) {
        // SAFETY: `len` elements of the program's output dtype, which is `T` (the reduction
        // appended the cast), 8-byte aligned.
        let xs = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const T, len) };
        if self.layout.out_len == 1 {
            self.acc[0] = M::fold(self.acc[0], xs);
            return;
        }
        let (acc, layout) = (&mut self.acc, &self.layout);
        for_each_run(&layout.shape, start, start + len, |at, run, idx| {
            let off: usize = idx
                .iter()
                .zip(&layout.out_strides)
                .map(|(&i, &s)| i * s)
                .sum();
            let vals = &xs[at..at + run];
            if layout.inner_reduced {
                acc[off] = M::fold(acc[off], vals);
            } else {
                for (a, &v) in acc[off..off + run].iter_mut().zip(vals) {
                    *a = M::combine(*a, v);
                }
            }
        });
    }
}

/// Counts non-zero booleans into int64 counters.
struct CountSink {
    layout: Layout,
    acc: Vec<i64>,
}

impl Sink for CountSink {
    fn tile(&mut self, data: &[u8], start: usize, len: usize, _: bool) {
        let xs = &data[..len];
        let (acc, layout) = (&mut self.acc, &self.layout);
        for_each_run(&layout.shape, start, start + len, |at, run, idx| {
            let off: usize = idx
                .iter()
                .zip(&layout.out_strides)
                .map(|(&i, &s)| i * s)
                .sum();
            let vals = &xs[at..at + run];
            if layout.inner_reduced {
                acc[off] += vals.iter().map(|&b| (b != 0) as i64).sum::<i64>();
            } else {
                for (a, &v) in acc[off..off + run].iter_mut().zip(vals) {
                    *a += (v != 0) as i64;
                }
            }
        });
    }
}

/// Accumulates (count, sum) or (count, mean, M2) of float64 values.
struct MomentSink {
    layout: Layout,
    with_m2: bool,
    count: Vec<f64>,
    first: Vec<f64>,
    m2: Vec<f64>,
}

/// Chan et al.: merges (n_b, mean_b, m2_b) into (n_a, mean_a, m2_a).
fn merge_moments(
    n_a: &mut f64,
    mean_a: &mut f64,
    m2_a: &mut f64,
    n_b: f64,
    mean_b: f64,
    m2_b: f64,
) {
    if n_b == 0.0 {
        return;
    }
    let n = *n_a + n_b;
    let delta = mean_b - *mean_a;
    *mean_a += delta * n_b / n;
    *m2_a += m2_b + delta * delta * *n_a * n_b / n;
    *n_a = n;
}

impl Sink for MomentSink {
    fn tile(&mut self, data: &[u8], start: usize, len: usize, _: bool) {
        // SAFETY: `len` float64 values (the reduction appended the cast), 8-byte aligned.
        let xs = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const f64, len) };
        let with_m2 = self.with_m2;
        let (count, first, m2, layout) =
            (&mut self.count, &mut self.first, &mut self.m2, &self.layout);
        for_each_run(&layout.shape, start, start + len, |at, run, idx| {
            let off: usize = idx
                .iter()
                .zip(&layout.out_strides)
                .map(|(&i, &s)| i * s)
                .sum();
            let vals = &xs[at..at + run];
            if layout.inner_reduced {
                let s = pairwise_sum(vals);
                if with_m2 {
                    let mean = s / run as f64;
                    let dev: f64 = pairwise_sum(
                        &vals
                            .iter()
                            .map(|&x| (x - mean) * (x - mean))
                            .collect::<Vec<_>>(),
                    );
                    merge_moments(
                        &mut count[off],
                        &mut first[off],
                        &mut m2[off],
                        run as f64,
                        mean,
                        dev,
                    );
                } else {
                    // Counts of a plain mean are set once the block is done (below).
                    first[off] += s;
                }
            } else {
                // Each element is a new observation of its own output: slice-wise updates
                // the compiler vectorises.
                let (c, f) = (&mut count[off..off + run], &mut first[off..off + run]);
                if with_m2 {
                    let q = &mut m2[off..off + run];
                    for (((c, f), q), &x) in
                        c.iter_mut().zip(f.iter_mut()).zip(q.iter_mut()).zip(vals)
                    {
                        *c += 1.0;
                        let delta = x - *f;
                        *f += delta / *c;
                        *q += delta * (x - *f);
                    }
                } else {
                    let _ = c;
                    for (f, &x) in f.iter_mut().zip(vals) {
                        *f += x;
                    }
                }
            }
        });
    }
}

/// Folds tiles with a ufunc's own (t, t) -> t loop. A run along a reduced inner axis is
/// folded by halving (pairs combined with one vectorised loop call per level), then into the
/// accumulator; runs along a kept axis combine element-wise with the accumulators.
struct UfuncSink {
    layout: Layout,
    lp: crate::ufunc::Loop,
    isz: usize,
    acc: Vec<u8>,
}

impl UfuncSink {
    fn call(&self, a: *const u8, b: *const u8, out: *mut u8, n: usize) {
        let mut args = [a as *mut u8, b as *mut u8, out];
        let s = self.isz as isize;
        // SAFETY: `n` contiguous elements of the loop's type each; `out` never aliases.
        let ran = unsafe { self.lp.run(&mut args, n, &[s, s, s]) };
        // Reductions take ufuncs with an identity; no loop of those raises faults.
        debug_assert!(ran.is_ok(), "a reduction loop faulted: {ran:?}");
    }

    fn fold_run(&self, vals: &[u8], n: usize) -> Vec<u8> {
        let isz = self.isz;
        let mut cur = vals[..n * isz].to_vec();
        let mut m = n;
        while m > 1 {
            let h = m / 2;
            let mut next = vec![0u8; (h + m % 2) * isz];
            self.call(cur.as_ptr(), cur[h * isz..].as_ptr(), next.as_mut_ptr(), h);
            if m % 2 == 1 {
                next[h * isz..].copy_from_slice(&cur[(m - 1) * isz..m * isz]);
            }
            cur = next;
            m = h + m % 2;
        }
        cur
    }
}

impl Sink for UfuncSink {
    fn tile(&mut self, data: &[u8], start: usize, len: usize, _: bool) {
        let isz = self.isz;
        let mut updates: Vec<(usize, Vec<u8>, usize)> = Vec::new();
        for_each_run(&self.layout.shape, start, start + len, |at, run, idx| {
            let off: usize = idx
                .iter()
                .zip(&self.layout.out_strides)
                .map(|(&i, &s)| i * s)
                .sum();
            let vals = &data[at * isz..(at + run) * isz];
            if self.layout.inner_reduced {
                updates.push((off, self.fold_run(vals, run), 1));
            } else {
                updates.push((off, vals.to_vec(), run));
            }
        });
        for (off, vals, n) in updates {
            let mut out = vec![0u8; n * isz];
            self.call(
                self.acc[off * isz..].as_ptr(),
                vals.as_ptr(),
                out.as_mut_ptr(),
                n,
            );
            self.acc[off * isz..(off + n) * isz].copy_from_slice(&out);
        }
    }
}

fn ufunc_partial(
    r: UfuncRef,
    dtype: DType,
    layout: Layout,
    pshape: &[usize],
    feed: impl FnOnce(&mut dyn Sink) -> Result<()>,
) -> Result<Vec<Buffer>> {
    let lp = r.fold_loop(dtype)?;
    let identity =
        crate::value::Scalar::Int(r.ufunc().identity().expect("checked by UfuncRef::of"))
            .to_element(dtype);
    let isz = dtype.itemsize();
    let mut b = Buffer::zeros(dtype, pshape)?;
    let mut acc = vec![0u8; layout.out_len * isz];
    for e in acc.chunks_exact_mut(isz) {
        e.copy_from_slice(&identity[..isz]);
    }
    let mut sink = UfuncSink {
        layout,
        lp,
        isz,
        acc,
    };
    feed(&mut sink)?;
    b.as_mut_bytes()?.copy_from_slice(&sink.acc);
    Ok(vec![b])
}

fn ufunc_combine(r: UfuncRef, parts: &[&Partial]) -> Result<Buffer> {
    let first = &parts[0].bufs[0];
    let dtype = first.dtype();
    let lp = r.fold_loop(dtype)?;
    let n = first.len();
    let s = dtype.itemsize() as isize;
    let mut acc = crate::value::block::contiguous(first)?;
    for p in &parts[1..] {
        let other = crate::value::block::contiguous(&p.bufs[0])?;
        let mut out = Buffer::zeros(dtype, first.shape())?;
        let mut args = [
            acc.as_ptr() as *mut u8,
            other.as_ptr() as *mut u8,
            out.as_mut_bytes()?.as_mut_ptr(),
        ];
        // SAFETY: three distinct contiguous buffers of `n` elements of the loop's type.
        unsafe { lp.run(&mut args, n, &[s, s, s]) }?;
        acc = out;
    }
    Ok(acc)
}

fn buffer_of<T: Element>(v: Vec<T>, shape: &[usize]) -> Result<Buffer> {
    Buffer::from_vec(v, shape)
}

/// Runs `feed(sink)` (which evaluates the chunk's program into the sink) and returns the
/// chunk's partial. `dtype` is the dtype of the values fed (already `op.input_dtype`).
#[allow(unreachable_patterns)] // the macro's fallback arm is unreachable for full dtype lists
pub fn reduce_block(
    op: ReduceOp,
    dtype: DType,
    shape: &[usize],
    reduced: &[bool],
    feed: impl FnOnce(&mut dyn Sink) -> Result<()>,
) -> Result<Partial> {
    let layout = Layout::new(shape, reduced);
    let pshape = layout.partial_shape.clone();
    let n = layout.out_len;
    macro_rules! monoid {
        ($m:ty, $($d:ident => $t:ty),*) => {
            match dtype {
                $(DType::$d => {
                    let mut sink = MonoidSink::<$t, $m> { layout, acc: vec![<$m as Monoid<$t>>::identity(); n], _m: Default::default() };
                    feed(&mut sink)?;
                    vec![buffer_of(sink.acc, &pshape)?]
                })*
                other => return Err(Error::DType(format!("{} is not defined for {}", op.name(), other.name()))),
            }
        };
    }
    let bufs = match op {
        ReduceOp::Sum => monoid!(SumM, Int64 => i64, UInt64 => u64, Float32 => f32, Float64 => f64),
        ReduceOp::Prod => {
            monoid!(ProdM, Int64 => i64, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Min => {
            monoid!(MinM, Bool => B8, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64,
            UInt8 => u8, UInt16 => u16, UInt32 => u32, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Max => {
            monoid!(MaxM, Bool => B8, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64,
            UInt8 => u8, UInt16 => u16, UInt32 => u32, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Any => monoid!(MaxM, Bool => B8),
        ReduceOp::All => monoid!(MinM, Bool => B8),
        ReduceOp::Ufunc(r) => ufunc_partial(r, dtype, layout, &pshape, feed)?,
        ReduceOp::CountNonzero => {
            let mut sink = CountSink {
                layout,
                acc: vec![0; n],
            };
            feed(&mut sink)?;
            vec![buffer_of(sink.acc, &pshape)?]
        }
        ReduceOp::Mean | ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let with_m2 = op != ReduceOp::Mean;
            let mut sink = MomentSink {
                layout,
                with_m2,
                count: vec![0.0; n],
                first: vec![0.0; n],
                m2: vec![0.0; if with_m2 { n } else { 0 }],
            };
            feed(&mut sink)?;
            if !with_m2 {
                // Every output of a block sees the same number of elements: the product of
                // the reduced extents.
                let per: usize = shape
                    .iter()
                    .zip(reduced)
                    .filter(|(_, &r)| r)
                    .map(|(&n, _)| n)
                    .product();
                sink.count.fill(per as f64);
            }
            let mut bufs = vec![
                buffer_of(sink.count, &pshape)?,
                buffer_of(sink.first, &pshape)?,
            ];
            if with_m2 {
                bufs.push(buffer_of(sink.m2, &pshape)?);
            }
            bufs
        }
    };
    Ok(Partial { op, bufs })
}

fn combine_monoid<T: Element + Copy, M: Monoid<T>>(parts: &[&Partial]) -> Result<Buffer> {
    let first = &parts[0].bufs[0];
    let mut acc: Vec<T> = first.as_slice::<T>()?.to_vec();
    for p in &parts[1..] {
        for (a, &b) in acc.iter_mut().zip(p.bufs[0].as_slice::<T>()?) {
            *a = M::combine(*a, b);
        }
    }
    Buffer::from_vec(acc, first.shape())
}

/// Combines partials of the same shape (from chunks along the reduced axes) into one.
#[allow(unreachable_patterns)] // as in `reduce_block`
pub fn combine(parts: &[&Partial]) -> Result<Partial> {
    let op = parts
        .first()
        .ok_or_else(|| Error::invalid("nothing to combine"))?
        .op;
    if parts
        .iter()
        .any(|p| p.bufs[0].shape() != parts[0].bufs[0].shape())
    {
        return Err(Error::Shape("partials of different shapes".into()));
    }
    let dtype = parts[0].bufs[0].dtype();
    macro_rules! monoid {
        ($m:ty, $($d:ident => $t:ty),*) => {
            match dtype {
                $(DType::$d => vec![combine_monoid::<$t, $m>(parts)?],)*
                other => return Err(Error::DType(format!("{} partials of {}", op.name(), other.name()))),
            }
        };
    }
    let bufs = match op {
        ReduceOp::Ufunc(r) => vec![ufunc_combine(r, parts)?],
        ReduceOp::Sum | ReduceOp::CountNonzero => {
            monoid!(SumM, Int64 => i64, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Prod => {
            monoid!(ProdM, Int64 => i64, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Min | ReduceOp::All => {
            monoid!(MinM, Bool => B8, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64,
            UInt8 => u8, UInt16 => u16, UInt32 => u32, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Max | ReduceOp::Any => {
            monoid!(MaxM, Bool => B8, Int8 => i8, Int16 => i16, Int32 => i32, Int64 => i64,
            UInt8 => u8, UInt16 => u16, UInt32 => u32, UInt64 => u64, Float32 => f32, Float64 => f64)
        }
        ReduceOp::Mean => {
            let shape = parts[0].bufs[0].shape().to_vec();
            let mut count = parts[0].bufs[0].as_slice::<f64>()?.to_vec();
            let mut sum = parts[0].bufs[1].as_slice::<f64>()?.to_vec();
            for p in &parts[1..] {
                for (c, &x) in count.iter_mut().zip(p.bufs[0].as_slice::<f64>()?) {
                    *c += x;
                }
                for (s, &x) in sum.iter_mut().zip(p.bufs[1].as_slice::<f64>()?) {
                    *s += x;
                }
            }
            vec![
                Buffer::from_vec(count, &shape)?,
                Buffer::from_vec(sum, &shape)?,
            ]
        }
        ReduceOp::Var { .. } | ReduceOp::Std { .. } => {
            let shape = parts[0].bufs[0].shape().to_vec();
            let mut n = parts[0].bufs[0].as_slice::<f64>()?.to_vec();
            let mut mean = parts[0].bufs[1].as_slice::<f64>()?.to_vec();
            let mut m2 = parts[0].bufs[2].as_slice::<f64>()?.to_vec();
            for p in &parts[1..] {
                let (pn, pm, pq) = (
                    p.bufs[0].as_slice::<f64>()?,
                    p.bufs[1].as_slice::<f64>()?,
                    p.bufs[2].as_slice::<f64>()?,
                );
                for i in 0..n.len() {
                    merge_moments(&mut n[i], &mut mean[i], &mut m2[i], pn[i], pm[i], pq[i]);
                }
            }
            vec![
                Buffer::from_vec(n, &shape)?,
                Buffer::from_vec(mean, &shape)?,
                Buffer::from_vec(m2, &shape)?,
            ]
        }
    };
    Ok(Partial { op, bufs })
}

/// Turns a (fully combined) partial into the result block of dtype `out`, with `shape`.
pub fn finalize(p: &Partial, out: DType, shape: &[usize]) -> Result<Buffer> {
    let values: Buffer = match p.op {
        ReduceOp::Mean => {
            let (n, s) = (p.bufs[0].as_slice::<f64>()?, p.bufs[1].as_slice::<f64>()?);
            Buffer::from_vec(
                n.iter().zip(s).map(|(&n, &s)| s / n).collect::<Vec<f64>>(),
                shape,
            )?
        }
        ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => {
            let (n, q) = (p.bufs[0].as_slice::<f64>()?, p.bufs[2].as_slice::<f64>()?);
            let take_sqrt = matches!(p.op, ReduceOp::Std { .. });
            let v: Vec<f64> = n
                .iter()
                .zip(q)
                .map(|(&n, &q)| {
                    // NumPy: M2 / max(n - ddof, 0), so NaN for no data or constant data and
                    // inf otherwise when ddof >= n.
                    let var = q / (n - ddof).max(0.0);
                    if take_sqrt {
                        var.sqrt()
                    } else {
                        var
                    }
                })
                .collect();
            Buffer::from_vec(v, shape)?
        }
        _ => {
            let b = &p.bufs[0];
            reshape_contiguous(b, shape)?
        }
    };
    crate::ufunc::kernel::cast_block(&values, out)
}

/// The same contiguous data under another shape of equal size.
pub fn reshape_contiguous(b: &Buffer, shape: &[usize]) -> Result<Buffer> {
    if b.len() != shape.iter().product::<usize>() {
        return Err(Error::Shape(format!(
            "cannot view {:?} as {shape:?}",
            b.shape()
        )));
    }
    crate::value::block::reshape_block(b, shape)
}
