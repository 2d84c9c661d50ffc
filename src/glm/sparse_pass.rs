//! The pass over a sparse row block (a chunk of a sparse X, stored as canonical COO, so its
//! entries already come grouped by row): `Xβ` and `Xᵀg` touch the stored entries only, and
//! the Hessian `XᵀWX` adds each row's outer product over its nonzeros (a cost of Σ nnz(row)²,
//! so newton suits rows with few nonzeros or a moderate p). Multinomial models take the
//! same route with one score per class.

use super::kernel::{Block, PassSpec, Stats, Want};
use super::softmax::class_of_row;
use crate::value::{Coo, Coords};
use std::borrow::Cow;

/// Rows per tile of family terms.
const TILE: usize = 256;
// A full pass's tiles fall where a sampled pass's do (see `kernel::SAMPLE_TILE`).
const _: () = assert!(super::kernel::SAMPLE_TILE.is_multiple_of(TILE));

/// A sparse block's stored entries by row: row `r`'s are `indptr[r]..indptr[r + 1]`.
pub struct SparseRows<'a> {
    pub indptr: Vec<usize>,
    /// The block's own column coordinates when they are stored as u32 (every block of up to
    /// 2^32 rows and columns), a converted copy otherwise.
    pub cols: Cow<'a, [u32]>,
    pub vals: &'a [f64],
}

/// Offsets of each row's entries from the row coordinates of canonical (row-major sorted)
/// COO entries.
fn row_offsets<T: Copy + Into<u64>>(row_of: &[T], rows: usize) -> Vec<usize> {
    let mut indptr = vec![0usize; rows + 1];
    for &r in row_of {
        indptr[r.into() as usize + 1] += 1;
    }
    for r in 0..rows {
        indptr[r + 1] += indptr[r];
    }
    indptr
}

impl<'a> SparseRows<'a> {
    /// The rows of a 2-d float64 COO block with fill value 0 (what the design persists).
    /// Built for every pass: a count over the row coordinates, with the column coordinates
    /// borrowed as they are stored (each entry looked up through `Coo::coord` cost a tenth
    /// of a sparse fit).
    pub fn new(c: &'a Coo) -> Result<SparseRows<'a>, String> {
        let (rows, cols) = match c.shape() {
            [r, k] => (*r, *k),
            s => return Err(format!("X's block has shape {s:?}, not (rows, columns)")),
        };
        if c.fill_value().as_f64() != 0.0 {
            return Err(format!(
                "a sparse X must have fill value 0, not {}",
                c.fill_value().as_f64()
            ));
        }
        if cols > u32::MAX as usize {
            return Err(format!("a sparse X of {cols} columns is too wide"));
        }
        let vals = c
            .data()
            .as_slice::<f64>()
            .map_err(|e| format!("X's sparse block: {e}"))?;
        let nnz = c.nnz();
        // Coordinates are stored axis by axis: rows first, then columns.
        let (indptr, cols): (Vec<usize>, Cow<'a, [u32]>) = match c.coords() {
            Coords::U8(v) => (
                row_offsets(&v[..nnz], rows),
                v[nnz..2 * nnz].iter().map(|&j| j as u32).collect(),
            ),
            Coords::U16(v) => (
                row_offsets(&v[..nnz], rows),
                v[nnz..2 * nnz].iter().map(|&j| j as u32).collect(),
            ),
            Coords::U32(v) => (
                row_offsets(&v[..nnz], rows),
                Cow::Borrowed(&v[nnz..2 * nnz]),
            ),
            Coords::U64(v) => (
                row_offsets(&v[..nnz], rows),
                v[nnz..2 * nnz].iter().map(|&j| j as u32).collect(),
            ),
        };
        Ok(SparseRows { indptr, cols, vals })
    }

    fn row(&self, r: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }
}

/// The block's stats at `spec.beta` (as `kernel::block_stats`, for a sparse X).
pub fn block_stats(spec: &PassSpec, b: &Block, x: &SparseRows) -> Result<Stats, String> {
    if !spec.labels.is_empty() {
        return multinomial(spec, b, x);
    }
    let p = b.ncols;
    let q = p + spec.intercept as usize;
    let b0 = if spec.intercept { spec.beta[p] } else { 0.0 };
    let mut st = Stats::default();
    if spec.want >= Want::Gradient {
        st.grad = vec![0.0; q];
    }
    let hessian = spec.want == Want::Hessian;
    if hessian {
        st.hess = vec![0.0; q * q];
    }
    let (mut eta, mut y) = ([0.0; TILE], [0.0; TILE]);
    let (mut l, mut g, mut h) = ([0.0; TILE], [0.0; TILE], [0.0; TILE]);
    let n = b.rows();
    for (start, m) in spec.tiles(n, TILE) {
        for i in 0..m {
            let (cols, vals) = x.row(start + i);
            eta[i] = b0
                + cols
                    .iter()
                    .zip(vals)
                    .map(|(&j, v)| v * spec.beta[j as usize])
                    .sum::<f64>();
            y[i] = b.response(start + i, spec.positive);
        }
        spec.family
            .terms_tile(&eta[..m], &y[..m], &mut l[..m], &mut g[..m], &mut h[..m]);
        for i in 0..m {
            let s = b.w.map_or(1.0, |w| w[start + i]);
            st.weight += s;
            if s == 0.0 {
                continue;
            }
            st.loss += s * l[i];
            if spec.want < Want::Gradient {
                continue;
            }
            let (cols, vals) = x.row(start + i);
            let gi = s * g[i];
            for (&j, v) in cols.iter().zip(vals) {
                st.grad[j as usize] += gi * v;
            }
            if spec.intercept {
                st.grad[p] += gi;
            }
            if hessian {
                let hi = s * h[i];
                for (&j, vj) in cols.iter().zip(vals) {
                    let row = &mut st.hess[j as usize * q..(j as usize + 1) * q];
                    for (&k, vk) in cols.iter().zip(vals) {
                        row[k as usize] += hi * vj * vk;
                    }
                    if spec.intercept {
                        row[p] += hi * vj;
                    }
                }
                if spec.intercept {
                    let last = &mut st.hess[p * q..];
                    for (&k, vk) in cols.iter().zip(vals) {
                        last[k as usize] += hi * vk;
                    }
                    last[p] += hi;
                }
            }
        }
    }
    Ok(st)
}

/// The softmax loss and gradient of a sparse block (see `softmax`).
fn multinomial(spec: &PassSpec, b: &Block, x: &SparseRows) -> Result<Stats, String> {
    let k = spec.labels.len();
    let p = b.ncols;
    let q = p + spec.intercept as usize;
    let gradient = spec.want >= Want::Gradient;
    let mut st = Stats::default();
    if gradient {
        st.grad = vec![0.0; k * q];
    }
    let mut e = vec![0.0; k];
    for r in (0..b.rows()).filter(|r| spec.keeps_row(*r)) {
        let y = b.y[r];
        let class = class_of_row(spec, y, r)?;
        let (cols, vals) = x.row(r);
        for (c, ec) in e.iter_mut().enumerate() {
            let w = &spec.beta[c * q..(c + 1) * q];
            *ec = if spec.intercept { w[p] } else { 0.0 }
                + cols
                    .iter()
                    .zip(vals)
                    .map(|(&j, v)| v * w[j as usize])
                    .sum::<f64>();
        }
        let s = b.w.map_or(1.0, |w| w[r]);
        st.weight += s;
        if s == 0.0 {
            continue;
        }
        let top = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let own = e[class] - top;
        let mut total = 0.0;
        for v in e.iter_mut() {
            *v = (*v - top).exp();
            total += *v;
        }
        st.loss += s * (total.ln() - own);
        if gradient {
            for (c, ec) in e.iter().enumerate() {
                let gc = s * (ec / total - (c == class) as u8 as f64);
                let grad = &mut st.grad[c * q..(c + 1) * q];
                for (&j, v) in cols.iter().zip(vals) {
                    grad[j as usize] += gc * v;
                }
                if spec.intercept {
                    grad[p] += gc;
                }
            }
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glm::family::family;
    use crate::glm::kernel::{block_stats as dense_stats, Rows};
    use crate::value::{Buffer, Scalar, Value};

    /// Row offsets and columns are right for every coordinate width: a block of 70,000 rows
    /// (u32 coordinates, borrowed) and of 300 (u16, converted), against the triplets given.
    #[test]
    fn rows_come_out_right_for_every_coordinate_width() {
        for rows in [300usize, 70_000] {
            let entries = [
                (0u64, 2u64, 1.5),
                (7, 0, -2.0),
                (7, 1, 3.0),
                (rows as u64 - 1, 2, 4.0),
            ];
            let coords: Vec<u64> = entries
                .iter()
                .map(|e| e.0)
                .chain(entries.iter().map(|e| e.1))
                .collect();
            let data = Buffer::from_vec(entries.iter().map(|e| e.2).collect(), &[4]).unwrap();
            let coo =
                crate::sparse::Coo::from_triplets(&[rows, 3], &coords, &data, Scalar::Float(0.0))
                    .unwrap();
            let sr = SparseRows::new(&coo).unwrap();
            assert_eq!(
                matches!(sr.cols, Cow::Borrowed(_)),
                rows > u16::MAX as usize
            );
            assert_eq!(sr.indptr.len(), rows + 1);
            for r in 0..rows {
                let want: Vec<(u32, f64)> = entries
                    .iter()
                    .filter(|e| e.0 == r as u64)
                    .map(|e| (e.1 as u32, e.2))
                    .collect();
                let (c, v) = sr.row(r);
                let got: Vec<(u32, f64)> = c.iter().copied().zip(v.iter().copied()).collect();
                assert_eq!(got, want, "row {r} of {rows}");
            }
        }
    }

    /// A sparse block's loss, gradient and Hessian equal its dense twin's (every family,
    /// weights, intercept, rows with no entries at all), and so do multinomial ones.
    #[test]
    fn sparse_stats_equal_dense_stats() {
        let (n, p) = (700, 5);
        let x: Vec<f64> = (0..n * p)
            .map(|i| {
                if (i * 7 + i / 3) % 5 < 3 || i / p % 11 == 0 {
                    0.0
                } else {
                    ((i * 37 % 101) as f64) / 50.0 - 1.0
                }
            })
            .collect();
        let w: Vec<f64> = (0..n).map(|i| (i % 4) as f64 * 0.5).collect();
        let dense = Buffer::from_vec(x.clone(), &[n, p]).unwrap();
        let coo = Coo::from_dense(&dense, Scalar::Float(0.0)).unwrap();
        let sparse_value = Value::Sparse(coo);
        let yb = |y: Vec<f64>| Buffer::from_vec(y, &[n]).unwrap();
        for (fam, y, labels) in [
            (
                "binomial",
                (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect(),
                vec![],
            ),
            ("poisson", (0..n).map(|i| (i % 4) as f64).collect(), vec![]),
            (
                "gaussian",
                (0..n).map(|i| (i % 7) as f64 - 3.0).collect(),
                vec![],
            ),
            (
                "binomial",
                (0..n).map(|i| (i % 3) as f64).collect(),
                vec![0.0, 1.0, 2.0],
            ),
        ] {
            let y: Vec<f64> = y;
            let k = labels.len().max(1);
            let spec = PassSpec {
                family: family(fam).unwrap(),
                beta: (0..k * (p + 1)).map(|i| 0.1 * i as f64 - 0.4).collect(),
                intercept: true,
                positive: None,
                labels: labels.clone(),
                check: true,
                row0: 0,
                stride: 1,
                phase: 0,
                want: if labels.is_empty() {
                    Want::Hessian
                } else {
                    Want::Gradient
                },
            };
            let y = yb(y);
            let wb = Buffer::from_vec(w.clone(), &[n]).unwrap();
            let sb = Block::from_values(&sparse_value, &y, Some(&wb)).unwrap();
            assert!(matches!(sb.x, Rows::Sparse(_)));
            let db = Block {
                x: Rows::Dense(std::borrow::Cow::Borrowed(&x)),
                ncols: p,
                y: y.as_slice::<f64>().unwrap(),
                w: Some(&w),
            };
            let (s, d) = (
                dense_stats(&spec, &sb).unwrap(),
                dense_stats(&spec, &db).unwrap(),
            );
            assert!((s.loss - d.loss).abs() < 1e-9 * d.loss.abs(), "{fam}");
            assert_eq!(s.weight, d.weight);
            for (a, b) in s.grad.iter().zip(&d.grad).chain(s.hess.iter().zip(&d.hess)) {
                assert!((a - b).abs() < 1e-9, "{fam} {labels:?}: {a} vs {b}");
            }
            assert_eq!((s.grad.len(), s.hess.len()), (d.grad.len(), d.hess.len()));
        }
    }
}
