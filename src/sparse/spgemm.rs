//! Sparse x sparse matrix products (Gustavson's row-by-row algorithm) written straight into
//! the result's canonical COO storage.
//!
//! Each row's products land in a dense accumulator row and their columns are marked in a
//! two-level bitmap; reading the bitmap back in order gives the row's columns sorted with no
//! comparison sort (our canonical form is sorted, unlike scipy's CSR product). The output is
//! allocated once at its upper bound (the number of products), in the coordinate width of
//! the result, and each range of rows writes its own part of it, on the machine's cores when
//! the call comes from a host thread; the parts are then closed up in place. A 10 M entry
//! result is never copied from buffer to buffer.

use super::matrix::{Csr, Index};
use crate::error::Result;
use crate::ufunc::elem::Num;
use crate::value::Coo;
use crate::value::Coords;
use crate::value::{Buffer, Element};
use std::ops::Range;

/// Widest result (in columns) computed with a dense accumulator row; wider ones sort.
const ACCUMULATOR_COLS: usize = 1 << 21;

/// How many entries of `a` ahead the rows of `b` are prefetched.
const PREFETCH_AHEAD: usize = 8;

/// Fewest products worth spreading over threads in a direct (not task) call.
const PARALLEL_PRODUCTS: usize = 1 << 20;

/// A stored coordinate of the result: the narrowest unsigned type of its shape, or u64 for
/// linear positions.
trait Coord: Copy + Default + Send + Sync + 'static {
    fn of(c: usize) -> Self;
    fn get(self) -> u64;
    fn into_coords(v: Vec<Self>) -> Coords;
}

macro_rules! coord {
    ($($t:ty => $variant:ident),*) => {$(
        impl Coord for $t {
            #[inline(always)]
            fn of(c: usize) -> Self {
                c as $t
            }
            #[inline(always)]
            fn get(self) -> u64 {
                self as u64
            }
            fn into_coords(v: Vec<Self>) -> Coords {
                Coords::$variant(v)
            }
        }
    )*};
}
coord!(u8 => U8, u16 => U16, u32 => U32, u64 => U64);

/// Hints the cache to load the line holding `x` (a no-op off x86-64). Any address is fine:
/// a prefetch never faults, so pointers just past the end are harmless.
#[inline(always)]
fn prefetch<T>(x: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults and reads nothing observable.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(x.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Where one range of rows writes its entries: row and column coordinates and values, or
/// linear positions (`r * linear_width + c`, in `cols`) and values.
struct Out<'o, T, C> {
    rows: &'o mut [C],
    cols: &'o mut [C],
    values: &'o mut [T],
    /// The result's columns when positions are stored linearised; 0 for (row, column).
    linear_width: usize,
    len: usize,
}

impl<T: Copy, C: Coord> Out<'_, T, C> {
    #[inline(always)]
    fn push(&mut self, r: usize, c: usize, v: T) {
        if self.linear_width > 0 {
            self.cols[self.len] = C::of(r * self.linear_width + c);
        } else {
            self.rows[self.len] = C::of(r);
            self.cols[self.len] = C::of(c);
        }
        self.values[self.len] = v;
        self.len += 1;
    }
}

/// Rows `rows` of `a @ b` with an accumulator row; returns the entries written.
fn rows_accumulated<T: Element + Num, I: Index, C: Coord>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    rows: Range<usize>,
    mut out: Out<T, C>,
) -> usize {
    let words = b.cols.div_ceil(64);
    let mut acc = vec![T::ZERO; b.cols];
    let mut bits = vec![0u64; words];
    let mut summary = vec![0u64; words.div_ceil(64)];
    let (bi, bv) = (&b.indices[..], &b.values[..]);
    let end = a.indptr[rows.end];
    for r in rows {
        let mut any = false;
        for p in a.indptr[r]..a.indptr[r + 1] {
            // The rows of `b` are read in random order: fetch the one needed a few entries
            // ahead while this one is multiplied (the loop is bound by memory latency).
            // Two stages: the row start of the entry twice as far ahead, the row itself of
            // the entry ahead (whose start is in cache by now).
            if p + 2 * PREFETCH_AHEAD < end {
                prefetch(
                    b.indptr
                        .as_ptr()
                        .wrapping_add(a.indices[p + 2 * PREFETCH_AHEAD].at()),
                );
            }
            if p + PREFETCH_AHEAD < end {
                let lo = b.indptr[a.indices[p + PREFETCH_AHEAD].at()];
                prefetch(bi.as_ptr().wrapping_add(lo));
                prefetch(bv.as_ptr().wrapping_add(lo));
                prefetch(bv.as_ptr().wrapping_add(lo + 8));
            }
            let (k, v) = (a.indices[p].at(), a.values[p]);
            let (lo, hi) = (b.indptr[k], b.indptr[k + 1]);
            any |= hi > lo;
            for (&c, &x) in bi[lo..hi].iter().zip(&bv[lo..hi]) {
                let c = c.at();
                acc[c] = T::add(acc[c], T::mul(v, x));
                bits[c >> 6] |= 1 << (c & 63);
                summary[c >> 12] |= 1 << ((c >> 6) & 63);
            }
        }
        if any {
            for (s, sw) in summary.iter_mut().enumerate() {
                let mut m = std::mem::take(sw);
                while m != 0 {
                    let word = (s << 6) | m.trailing_zeros() as usize;
                    m &= m - 1;
                    let mut bw = std::mem::take(&mut bits[word]);
                    while bw != 0 {
                        let c = (word << 6) | bw.trailing_zeros() as usize;
                        bw &= bw - 1;
                        let v = std::mem::replace(&mut acc[c], T::ZERO);
                        // Entries that cancel to zero are not stored (canonical form).
                        if v != T::ZERO {
                            out.push(r, c, v);
                        }
                    }
                }
            }
        }
    }
    out.len
}

/// Rows `rows` of `a @ b` for results too wide for an accumulator row: each row's products
/// are gathered as (column, value) pairs, sorted by column and summed run by run.
fn rows_sorted<T: Element + Num, I: Index, C: Coord>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    rows: Range<usize>,
    mut out: Out<T, C>,
) -> usize {
    let mut pairs: Vec<(usize, T)> = Vec::new();
    for r in rows {
        pairs.clear();
        for p in a.indptr[r]..a.indptr[r + 1] {
            let (k, v) = (a.indices[p].at(), a.values[p]);
            for q in b.indptr[k]..b.indptr[k + 1] {
                pairs.push((b.indices[q].at(), T::mul(v, b.values[q])));
            }
        }
        pairs.sort_unstable_by_key(|e| e.0);
        let mut it = pairs.iter().peekable();
        while let Some(&(c, mut v)) = it.next() {
            while let Some(&&(c2, v2)) = it.peek() {
                if c2 != c {
                    break;
                }
                v = T::add(v, v2);
                it.next();
            }
            if v != T::ZERO {
                out.push(r, c, v);
            }
        }
    }
    out.len
}

fn rows_into<T: Element + Num, I: Index, C: Coord>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    rows: Range<usize>,
    out: Out<T, C>,
) -> usize {
    if b.cols > ACCUMULATOR_COLS {
        rows_sorted(a, b, rows, out)
    } else {
        rows_accumulated(a, b, rows, out)
    }
}

/// `a @ b` as a canonical COO of `shape`: with `rows_and_cols`, `shape` is (rows, cols) and
/// rows and columns are the coordinates; otherwise they are linearised into `shape`.
pub(super) fn multiply<T: Element + Num, I: Index>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    shape: &[usize],
    rows_and_cols: bool,
) -> Result<Coo> {
    if !rows_and_cols {
        return multiply_as::<T, I, u64>(a, b, shape, false);
    }
    match Coords::width_for(shape) {
        1 => multiply_as::<T, I, u8>(a, b, shape, true),
        2 => multiply_as::<T, I, u16>(a, b, shape, true),
        4 => multiply_as::<T, I, u32>(a, b, shape, true),
        _ => multiply_as::<T, I, u64>(a, b, shape, true),
    }
}

fn multiply_as<T: Element + Num, I: Index, C: Coord>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    shape: &[usize],
    rows_and_cols: bool,
) -> Result<Coo> {
    // Upper bound of each row's entries (its number of products), as offsets.
    let mut start = Vec::with_capacity(a.rows + 1);
    start.push(0usize);
    for r in 0..a.rows {
        let products: usize = a.indices[a.indptr[r]..a.indptr[r + 1]]
            .iter()
            .map(|k| b.indptr[k.at() + 1] - b.indptr[k.at()])
            .sum();
        start.push(start[r] + products);
    }
    let total = start[a.rows];
    let ranges = split_rows(&start, total);

    // Rows, then columns, for (rows, cols) coordinates; linear positions otherwise. Each
    // range writes at its rows' offsets; closing up afterwards only moves entries left.
    let col_base = if rows_and_cols { total } else { 0 };
    let mut coords: Vec<C> = vec![C::default(); col_base + total];
    let mut values: Vec<T> = vec![T::ZERO; total];
    let written: Vec<usize> = {
        let (row_part, col_part) = coords.split_at_mut(col_base);
        let (mut rows_rest, mut cols_rest, mut vals_rest) = (row_part, col_part, &mut values[..]);
        let mut jobs = Vec::with_capacity(ranges.len());
        for rows in &ranges {
            let len = start[rows.end] - start[rows.start];
            let (r, rr) = std::mem::take(&mut rows_rest).split_at_mut(len.min(col_base));
            let (c, cr) = std::mem::take(&mut cols_rest).split_at_mut(len);
            let (v, vr) = std::mem::take(&mut vals_rest).split_at_mut(len);
            (rows_rest, cols_rest, vals_rest) = (rr, cr, vr);
            let out = Out {
                rows: r,
                cols: c,
                values: v,
                linear_width: if rows_and_cols { 0 } else { b.cols.max(1) },
                len: 0,
            };
            jobs.push((rows.clone(), out));
        }
        run_jobs(a, b, jobs, total)
    };
    let nnz: usize = written.iter().sum();
    let mut at = 0;
    for (rows, &n) in ranges.iter().zip(&written) {
        let from = start[rows.start];
        values.copy_within(from..from + n, at);
        coords.copy_within(from..from + n, at); // rows, or linear positions
        at += n;
    }
    values.truncate(nnz);
    let data = Buffer::from_vec(values, &[nnz])?;
    if !rows_and_cols {
        coords.truncate(nnz);
        let linear: Vec<u64> = coords.into_iter().map(Coord::get).collect();
        return Coo::from_sorted(shape, linear, data, [0u8; 8]);
    }
    // The columns after the closed-up rows (each move lands at or left of its source).
    let mut at = nnz;
    for (rows, &n) in ranges.iter().zip(&written) {
        let from = col_base + start[rows.start];
        coords.copy_within(from..from + n, at);
        at += n;
    }
    coords.truncate(2 * nnz);
    Coo::from_canonical(shape, C::into_coords(coords), data, [0u8; 8])
}

/// Row ranges of about equal numbers of products (a few per core), or one range when the
/// work is small or the caller is a pool worker (the pool already runs blocks side by side).
fn split_rows(start: &[usize], total: usize) -> Vec<Range<usize>> {
    let rows = start.len() - 1;
    let threads = crate::parallel::width();
    if threads == 1
        || crate::runtime::on_worker_thread()
        || total < PARALLEL_PRODUCTS
        || rows < 2 * threads
    {
        return std::iter::once(0..rows).collect();
    }
    let parts = threads * 4;
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let r = start.partition_point(|&s| s < total * k / parts).min(rows);
        if r > *bounds.last().expect("non-empty") {
            bounds.push(r);
        }
    }
    if *bounds.last().expect("non-empty") < rows {
        bounds.push(rows);
    }
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Runs the ranges (on the client's pool when there are several) and returns the entries
/// each wrote, in order.
fn run_jobs<T: Element + Num, I: Index, C: Coord>(
    a: &Csr<T, I>,
    b: &Csr<T, I>,
    jobs: Vec<(Range<usize>, Out<T, C>)>,
    total: usize,
) -> Vec<usize> {
    if jobs.len() == 1 || total == 0 {
        return jobs
            .into_iter()
            .map(|(rows, out)| rows_into(a, b, rows, out))
            .collect();
    }
    let n = jobs.len();
    type Slot<'o, T, C> = parking_lot::Mutex<Option<(Range<usize>, Out<'o, T, C>)>>;
    let slots: Vec<Slot<T, C>> = jobs
        .into_iter()
        .map(|j| parking_lot::Mutex::new(Some(j)))
        .collect();
    let written: Vec<std::sync::atomic::AtomicUsize> = (0..n)
        .map(|_| std::sync::atomic::AtomicUsize::new(0))
        .collect();
    // Every range runs even in a cancelled task: the caller needs all of them to assemble.
    crate::parallel::for_each(n, |i| {
        if let Some((rows, out)) = slots[i].lock().take() {
            written[i].store(
                rows_into(a, b, rows, out),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    });
    for (i, slot) in slots.iter().enumerate() {
        // Ranges a cancelled task did not hand out run here.
        if let Some((rows, out)) = slot.lock().take() {
            written[i].store(
                rows_into(a, b, rows, out),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
    }
    written
        .into_iter()
        .map(std::sync::atomic::AtomicUsize::into_inner)
        .collect()
}
