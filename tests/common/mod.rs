//! Shared helpers of the array test suites: a deterministic generator for inputs and chunkings,
//! a plain row-major dense array (`Nd`) with reference implementations of the array operations
//! written with simple loops, and the bridge to and from `dask::array::Array`.
//!
//! Nothing here calls into the library to compute an expected value: the reference side only
//! uses `Nd` and ordinary Rust arithmetic.

#![allow(dead_code)]

pub mod table;

use dask::array::{Array, ChunkSpec, Index};
use dask::ufunc::loops::B8;
use dask::value::Element;
use dask::{Buffer, Client, Config, DType};
use std::fmt::Debug;
use std::sync::OnceLock;

/// One client per test binary: two worker threads, as on the test machine — or, under
/// `libdask local-cluster` (`DASK_SCHEDULER_ADDRESS` set), a client of that cluster, so the
/// same suites check the cluster's answers (`make cluster-test`).
pub fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let mut config = Config::from_env().expect("the cluster's settings are usable");
        if config.address.is_none() {
            config.threads = 2;
        }
        Client::new(config).expect("client starts")
    })
}

// ---- deterministic generator ----------------------------------------------------------------

/// SplitMix64: small, deterministic, good enough for test inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5851_f42d_4c95_7f2d)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in [0, n) (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Uniform in [lo, hi] (inclusive).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    pub fn coin(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// A random shape of `ndim` axes with lengths in [lo, hi].
pub fn random_shape(rng: &mut Rng, ndim: usize, lo: usize, hi: usize) -> Vec<usize> {
    (0..ndim).map(|_| lo + rng.below(hi - lo + 1)).collect()
}

/// Random block sizes adding up to `n` (`[0]` for an empty axis), mostly positive.
pub fn random_splits(rng: &mut Rng, n: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let mut out = Vec::new();
    let mut left = n;
    // Bias towards several blocks: the largest block is at most about half the axis.
    let cap = (n / 2).max(1);
    while left > 0 {
        let s = 1 + rng.below(cap.min(left));
        out.push(s);
        left -= s;
    }
    // Now and then a block of length 0 (dask allows them anywhere).
    if rng.coin(0.1) {
        let at = rng.below(out.len() + 1);
        out.insert(at, 0);
    }
    out
}

/// A random irregular chunking of `shape`.
pub fn random_chunks(rng: &mut Rng, shape: &[usize]) -> ChunkSpec {
    ChunkSpec::Explicit(shape.iter().map(|&n| random_splits(rng, n)).collect())
}

/// A random regular chunking of `shape`.
pub fn random_regular(rng: &mut Rng, shape: &[usize]) -> ChunkSpec {
    ChunkSpec::Regular(shape.iter().map(|&n| 1 + rng.below(n.max(1))).collect())
}

/// The block sizes of a regular chunking, computed independently of the library.
pub fn regular_sizes(n: usize, b: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let mut v = vec![b; n / b];
    if !n.is_multiple_of(b) {
        v.push(n % b);
    }
    v
}

// ---- dense reference arrays -----------------------------------------------------------------

pub fn size(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major multi-index of flat position `flat`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for a in (0..shape.len()).rev() {
        idx[a] = flat % shape[a];
        flat /= shape[a];
    }
    idx
}

/// Row-major flat position of `idx`.
pub fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| {
        assert!(i < n, "index {idx:?} outside {shape:?}");
        acc * n + i
    })
}

/// A dense row-major array.
#[derive(Debug, Clone, PartialEq)]
pub struct Nd<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Copy> Nd<T> {
    pub fn new(shape: &[usize], data: Vec<T>) -> Nd<T> {
        assert_eq!(size(shape), data.len(), "data does not fill {shape:?}");
        Nd {
            shape: shape.to_vec(),
            data,
        }
    }
    pub fn from_fn(shape: &[usize], f: impl Fn(&[usize]) -> T) -> Nd<T> {
        let data = (0..size(shape)).map(|i| f(&unravel(i, shape))).collect();
        Nd::new(shape, data)
    }
    pub fn scalar(v: T) -> Nd<T> {
        Nd::new(&[], vec![v])
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    pub fn at(&self, idx: &[usize]) -> T {
        self.data[ravel(idx, &self.shape)]
    }
    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Nd<U> {
        Nd::new(&self.shape, self.data.iter().map(|&x| f(x)).collect())
    }
}

/// Random floats in [lo, hi).
pub fn rand_f64(rng: &mut Rng, shape: &[usize], lo: f64, hi: f64) -> Nd<f64> {
    Nd::new(shape, (0..size(shape)).map(|_| rng.float(lo, hi)).collect())
}

/// Random integers in [lo, hi].
pub fn rand_i64(rng: &mut Rng, shape: &[usize], lo: i64, hi: i64) -> Nd<i64> {
    Nd::new(shape, (0..size(shape)).map(|_| rng.int(lo, hi)).collect())
}

/// NumPy's broadcasting rule, written out: align on the right, lengths equal or 1.
pub fn broadcast_shape(shapes: &[&[usize]]) -> Option<Vec<usize>> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    for s in shapes {
        let lead = nd - s.len();
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[lead + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return None;
            }
        }
    }
    Some(out)
}

/// The element of `x` seen at output position `idx` when `x` is broadcast.
pub fn broadcast_at<T: Copy>(x: &Nd<T>, idx: &[usize]) -> T {
    let lead = idx.len() - x.ndim();
    let src: Vec<usize> = x
        .shape
        .iter()
        .enumerate()
        .map(|(k, &n)| if n == 1 { 0 } else { idx[lead + k] })
        .collect();
    x.at(&src)
}

pub fn zip2<A: Copy, B: Copy, C: Copy>(a: &Nd<A>, b: &Nd<B>, f: impl Fn(A, B) -> C) -> Nd<C> {
    let shape = broadcast_shape(&[&a.shape, &b.shape]).expect("broadcastable");
    Nd::from_fn(&shape, |i| f(broadcast_at(a, i), broadcast_at(b, i)))
}

pub fn zip3<A: Copy, B: Copy, C: Copy, D: Copy>(
    a: &Nd<A>,
    b: &Nd<B>,
    c: &Nd<C>,
    f: impl Fn(A, B, C) -> D,
) -> Nd<D> {
    let shape = broadcast_shape(&[&a.shape, &b.shape, &c.shape]).expect("broadcastable");
    Nd::from_fn(&shape, |i| {
        f(broadcast_at(a, i), broadcast_at(b, i), broadcast_at(c, i))
    })
}

/// The elements of each reduction group, in row-major order, shaped like the result.
pub fn groups<T: Copy>(x: &Nd<T>, reduced: &[bool], keepdims: bool) -> (Vec<usize>, Vec<Vec<T>>) {
    let out_shape: Vec<usize> = x
        .shape
        .iter()
        .zip(reduced)
        .filter(|(_, &r)| keepdims || !r)
        .map(|(&n, &r)| if r { 1 } else { n })
        .collect();
    let mut gs: Vec<Vec<T>> = vec![Vec::new(); size(&out_shape)];
    for (flat, &v) in x.data.iter().enumerate() {
        let idx = unravel(flat, &x.shape);
        let oidx: Vec<usize> = idx
            .iter()
            .zip(reduced)
            .filter(|(_, &r)| keepdims || !r)
            .map(|(&i, &r)| if r { 0 } else { i })
            .collect();
        gs[ravel(&oidx, &out_shape)].push(v);
    }
    (out_shape, gs)
}

/// A reduction computed group by group with `f`.
pub fn reduce_ref<T: Copy, R: Copy>(
    x: &Nd<T>,
    reduced: &[bool],
    keepdims: bool,
    f: impl Fn(&[T]) -> R,
) -> Nd<R> {
    let (shape, gs) = groups(x, reduced, keepdims);
    Nd::new(&shape, gs.iter().map(|g| f(g)).collect())
}

/// `axes` (None: all) as one flag per axis.
pub fn reduced_flags(ndim: usize, axes: Option<&[usize]>) -> Vec<bool> {
    (0..ndim)
        .map(|a| axes.is_none_or(|ax| ax.contains(&a)))
        .collect()
}

/// Indices selected by the Python slice `start:stop:step` on an axis of length `n`
/// (CPython's `PySlice_AdjustIndices`, then a plain loop).
pub fn python_slice(n: usize, start: Option<i64>, stop: Option<i64>, step: i64) -> Vec<usize> {
    assert!(step != 0);
    let n = n as i64;
    let (lower, upper) = if step > 0 { (0, n) } else { (-1, n - 1) };
    let adjust = |v: Option<i64>, default: i64| -> i64 {
        match v {
            None => default,
            Some(mut s) => {
                if s < 0 {
                    s += n;
                    if s < lower {
                        s = lower;
                    }
                } else if s > upper {
                    s = upper;
                }
                s
            }
        }
    };
    let start = adjust(start, if step < 0 { upper } else { lower });
    let stop = adjust(stop, if step < 0 { lower } else { upper });
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    out
}

/// Basic indexing, NumPy style; None when NumPy would raise (index out of range, too many
/// indices, zero step).
pub fn slice_ref<T: Copy>(x: &Nd<T>, index: &[Index]) -> Option<Nd<T>> {
    enum Out {
        Axis(usize, Vec<usize>),
        New,
    }
    let consumed = index
        .iter()
        .filter(|i| !matches!(i, Index::NewAxis))
        .count();
    if consumed > x.ndim() {
        return None;
    }
    let mut fixed = vec![None; x.ndim()];
    let mut outs = Vec::new();
    let mut ax = 0;
    let rest = vec![Index::ALL; x.ndim() - consumed];
    for idx in index.iter().chain(&rest) {
        match *idx {
            Index::NewAxis => outs.push(Out::New),
            Index::At(i) => {
                let n = x.shape[ax] as i64;
                let j = if i < 0 { i + n } else { i };
                if j < 0 || j >= n {
                    return None;
                }
                fixed[ax] = Some(j as usize);
                ax += 1;
            }
            Index::Slice(a, b, s) => {
                if s == 0 {
                    return None;
                }
                outs.push(Out::Axis(ax, python_slice(x.shape[ax], a, b, s)));
                ax += 1;
            }
        }
    }
    let shape: Vec<usize> = outs
        .iter()
        .map(|o| match o {
            Out::Axis(_, v) => v.len(),
            Out::New => 1,
        })
        .collect();
    Some(Nd::from_fn(&shape, |oidx| {
        let mut src: Vec<usize> = fixed.iter().map(|f| f.unwrap_or(0)).collect();
        for (o, &i) in outs.iter().zip(oidx) {
            if let Out::Axis(a, v) = o {
                src[*a] = v[i];
            }
        }
        x.at(&src)
    }))
}

/// Axis i of the result is axis `perm[i]` of `x`.
pub fn transpose_ref<T: Copy>(x: &Nd<T>, perm: &[usize]) -> Nd<T> {
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    Nd::from_fn(&shape, |idx| {
        let mut src = vec![0; idx.len()];
        for (k, &p) in perm.iter().enumerate() {
            src[p] = idx[k];
        }
        x.at(&src)
    })
}

/// `np.tensordot(a, b, axes=(axes_a, axes_b))` with plain loops (in f64).
pub fn tensordot_ref(a: &Nd<f64>, b: &Nd<f64>, axes_a: &[usize], axes_b: &[usize]) -> Nd<f64> {
    let free_a: Vec<usize> = (0..a.ndim()).filter(|k| !axes_a.contains(k)).collect();
    let free_b: Vec<usize> = (0..b.ndim()).filter(|k| !axes_b.contains(k)).collect();
    let shape: Vec<usize> = free_a
        .iter()
        .map(|&k| a.shape[k])
        .chain(free_b.iter().map(|&k| b.shape[k]))
        .collect();
    let contracted: Vec<usize> = axes_a.iter().map(|&k| a.shape[k]).collect();
    Nd::from_fn(&shape, |idx| {
        let mut s = 0.0;
        for c in 0..size(&contracted) {
            let cidx = unravel(c, &contracted);
            let mut ia = vec![0; a.ndim()];
            let mut ib = vec![0; b.ndim()];
            for (k, &f) in free_a.iter().enumerate() {
                ia[f] = idx[k];
            }
            for (k, &f) in free_b.iter().enumerate() {
                ib[f] = idx[free_a.len() + k];
            }
            for (k, (&x, &y)) in axes_a.iter().zip(axes_b).enumerate() {
                ia[x] = cidx[k];
                ib[y] = cidx[k];
            }
            s += a.at(&ia) * b.at(&ib);
        }
        s
    })
}

/// Running fold along `axis`.
pub fn cumulative_ref<T: Copy>(x: &Nd<T>, axis: usize, f: impl Fn(T, T) -> T) -> Nd<T> {
    let mut out = x.clone();
    for flat in 0..x.len() {
        let idx = unravel(flat, &x.shape);
        if idx[axis] > 0 {
            let mut prev = idx.clone();
            prev[axis] -= 1;
            let p = out.data[ravel(&prev, &x.shape)];
            out.data[flat] = f(p, x.data[flat]);
        }
    }
    out
}

/// Joins along `axis`.
pub fn concat_ref<T: Copy>(xs: &[Nd<T>], axis: usize) -> Nd<T> {
    let mut shape = xs[0].shape.clone();
    shape[axis] = xs.iter().map(|x| x.shape[axis]).sum();
    Nd::from_fn(&shape, |idx| {
        let mut k = idx[axis];
        for x in xs {
            if k < x.shape[axis] {
                let mut src = idx.to_vec();
                src[axis] = k;
                return x.at(&src);
            }
            k -= x.shape[axis];
        }
        unreachable!()
    })
}

/// Elements at `indices` (negative from the end) along `axis`.
pub fn take_ref<T: Copy>(x: &Nd<T>, indices: &[i64], axis: usize) -> Nd<T> {
    let n = x.shape[axis] as i64;
    let resolved: Vec<usize> = indices
        .iter()
        .map(|&i| (if i < 0 { i + n } else { i }) as usize)
        .collect();
    let mut shape = x.shape.clone();
    shape[axis] = resolved.len();
    Nd::from_fn(&shape, |idx| {
        let mut src = idx.to_vec();
        src[axis] = resolved[idx[axis]];
        x.at(&src)
    })
}

// ---- bridge to the library ------------------------------------------------------------------

/// An array over a copy of `x`, cut into `chunks`.
pub fn mk<T: Element>(x: &Nd<T>, chunks: &ChunkSpec) -> Array {
    let b = Buffer::from_vec(x.data.clone(), &x.shape).expect("buffer");
    Array::from_buffer(&b, chunks).expect("from_buffer")
}

pub fn mk_bool(x: &Nd<bool>, chunks: &ChunkSpec) -> Array {
    mk(&x.map(B8::of), chunks)
}

/// Reads element `idx` of a (possibly strided) buffer.
fn read_elem<T: Element>(b: &Buffer, idx: &[usize]) -> T {
    let off: isize = idx
        .iter()
        .zip(b.strides())
        .map(|(&i, &s)| i as isize * s)
        .sum();
    // SAFETY: `idx` is inside the buffer's shape, whose extent the buffer checked; the dtype
    // was checked to be `T`'s.
    unsafe { std::ptr::read_unaligned(b.as_ptr().offset(off) as *const T) }
}

fn bytes_of<T>(v: &[T]) -> &[u8] {
    // SAFETY: plain element data viewed as bytes.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// Computes `a` block by block with `store` (checking that every block arrives once, with the
/// dtype and shape its chunk grid says), assembles the result, and checks that `compute`
/// returns the same bytes.
pub fn fetch<T: Element + Default>(a: &Array) -> Nd<T> {
    assert_eq!(
        a.dtype(),
        T::DTYPE,
        "array dtype is {}, expected {}",
        a.dtype().name(),
        T::DTYPE.name()
    );
    let shape = a.shape();
    let chunks = a.chunks().clone();
    assert_eq!(chunks.shape(), shape);
    let mut data = vec![T::default(); size(&shape)];
    let mut seen = vec![false; chunks.nblocks()];
    a.store(client(), |i, offset, block| {
        assert!(!seen[i], "block {i} delivered twice");
        seen[i] = true;
        let gidx = chunks.unravel(i);
        let want_off: Vec<usize> = gidx
            .iter()
            .enumerate()
            .map(|(ax, &k)| chunks.offsets(ax)[k])
            .collect();
        assert_eq!(offset, want_off.as_slice(), "offset of block {i}");
        assert_eq!(
            block.shape(),
            chunks.block_shape(&gidx).as_slice(),
            "shape of block {i}"
        );
        assert_eq!(block.dtype(), T::DTYPE, "dtype of block {i}");
        for k in 0..block.len() {
            let bidx = unravel(k, block.shape());
            let gi: Vec<usize> = bidx.iter().zip(offset).map(|(&x, &o)| x + o).collect();
            data[ravel(&gi, &shape)] = read_elem::<T>(block, &bidx);
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("computing {a:?} failed: {e}"));
    assert!(seen.iter().all(|&s| s), "missing blocks");
    let dense = a.compute(client()).expect("compute");
    assert_eq!(dense.shape(), shape.as_slice());
    assert_eq!(
        bytes_of(dense.as_slice::<T>().expect("contiguous")),
        bytes_of(&data),
        "compute() and store() disagree"
    );
    Nd::new(&shape, data)
}

pub fn fetch_bool(a: &Array) -> Nd<bool> {
    fetch::<B8>(a).map(B8::get)
}

macro_rules! by_dtype {
    ($a:expr, $conv:expr) => {
        match $a.dtype() {
            DType::Bool => fetch::<B8>($a).map(|v| $conv(v.get() as u8)),
            DType::Int8 => fetch::<i8>($a).map($conv),
            DType::Int16 => fetch::<i16>($a).map($conv),
            DType::Int32 => fetch::<i32>($a).map($conv),
            DType::Int64 => fetch::<i64>($a).map($conv),
            DType::UInt8 => fetch::<u8>($a).map($conv),
            DType::UInt16 => fetch::<u16>($a).map($conv),
            DType::UInt32 => fetch::<u32>($a).map($conv),
            DType::UInt64 => fetch::<u64>($a).map($conv),
            DType::Float32 => fetch::<f32>($a).map($conv),
            DType::Float64 => fetch::<f64>($a).map($conv),
        }
    };
}

/// Any array's values as f64 (exact for every value of every dtype up to 2^53).
pub fn fetch_f64(a: &Array) -> Nd<f64> {
    fn conv<T: AsF64>(v: T) -> f64 {
        v.as_f64()
    }
    by_dtype!(a, conv)
}

/// Any integer or boolean array's values as i64 (u64 values reinterpreted).
pub fn fetch_i64(a: &Array) -> Nd<i64> {
    fn conv<T: AsF64>(v: T) -> i64 {
        v.as_i64()
    }
    assert!(
        !matches!(a.dtype(), DType::Float32 | DType::Float64),
        "fetch_i64 of a float array"
    );
    by_dtype!(a, conv)
}

pub trait AsF64: Copy {
    fn as_f64(self) -> f64;
    fn as_i64(self) -> i64;
}
macro_rules! as_f64 {
    ($($t:ty),*) => {$(impl AsF64 for $t {
        fn as_f64(self) -> f64 { self as f64 }
        fn as_i64(self) -> i64 { self as i64 }
    })*};
}
as_f64!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

// ---- comparisons ----------------------------------------------------------------------------

/// Equal, both NaN, or within `atol + rtol * |want|`.
pub fn close(got: f64, want: f64, rtol: f64, atol: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got == want || (got - want).abs() <= atol + rtol * want.abs()
}

pub fn assert_close(got: &Nd<f64>, want: &Nd<f64>, rtol: f64, atol: f64, ctx: &str) {
    assert_eq!(got.shape, want.shape, "{ctx}: shape");
    for (i, (&g, &w)) in got.data.iter().zip(&want.data).enumerate() {
        assert!(
            close(g, w, rtol, atol),
            "{ctx}: element {:?} is {g}, expected {w}",
            unravel(i, &got.shape)
        );
    }
}

pub fn assert_same<T: PartialEq + Debug + Copy>(got: &Nd<T>, want: &Nd<T>, ctx: &str) {
    assert_eq!(got.shape, want.shape, "{ctx}: shape");
    for (i, (g, w)) in got.data.iter().zip(&want.data).enumerate() {
        assert_eq!(g, w, "{ctx}: element {:?}", unravel(i, &got.shape));
    }
}

/// Exact equality of floats, NaN equal to NaN.
pub fn assert_exact(got: &Nd<f64>, want: &Nd<f64>, ctx: &str) {
    assert_close(got, want, 0.0, 0.0, ctx);
}

/// The chunk sizes of `a`, for messages.
pub fn chunks_of(a: &Array) -> Vec<Vec<usize>> {
    a.chunks().axes().to_vec()
}

/// Pairwise-free plain sum (the reference for float sums; compare with a tolerance).
pub fn plain_sum(xs: &[f64]) -> f64 {
    xs.iter().sum()
}
