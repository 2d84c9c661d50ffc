//! One pass over one row block: the loss, gradient and Hessian of the block's observations
//! at given coefficients, accumulated row tile by row tile so nothing the size of the block
//! (such as `Xβ`) is ever materialised. Everything a solver needs from the data comes from
//! here (or from `local`, ADMM's per-block solve), so only p-sized vectors and p×p matrices
//! leave a block.

use super::family::Family;
pub use super::sparse_pass::SparseRows;
use crate::value::{Buffer, Value};
use std::borrow::Cow;

/// Rows per tile: the tile of scaled rows for the Hessian stays in L1/L2 cache.
const TILE: usize = 256;
// A full pass's tiles fall where a sampled pass's do (see `SAMPLE_TILE`).
const _: () = assert!(SAMPLE_TILE.is_multiple_of(TILE));

/// How much a pass computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Want {
    Loss = 0,
    Gradient = 1,
    Hessian = 2,
}

/// What a pass needs besides the data.
#[derive(Debug, Clone)]
pub struct PassSpec {
    pub family: &'static dyn Family,
    /// Coefficients then, with `intercept`, the intercept last.
    pub beta: Vec<f64>,
    pub intercept: bool,
    /// For binary classification: the label counted as 1 (all others are 0).
    pub positive: Option<f64>,
    /// For multinomial classification: the sorted labels, one block of coefficients each
    /// (`beta` is then `labels.len()` blocks of the columns' coefficients and the intercept).
    /// Empty otherwise.
    pub labels: Vec<f64>,
    /// Check every value (finite X, y in the family's support) and name the first bad row.
    pub check: bool,
    /// The block's first row in the whole array (for messages).
    pub row0: usize,
    pub want: Want,
    /// Read the sample tiles (of `SAMPLE_TILE` rows) `phase`, `phase + stride`, … of the
    /// block (stride 1: every row). A pass with a stride above 1 is over a sample spread
    /// through every block (a warm start's data, see `glm::warm`); whole tiles keep the
    /// reads sequential.
    pub stride: usize,
    pub phase: usize,
}

/// Rows per sample tile: the unit a sampled pass keeps or skips, the same for every kernel
/// (whatever its own tile: each divides it, so a full pass's tiles are where they always
/// were), so a sample's rows are known without reading it.
pub const SAMPLE_TILE: usize = 2048;

/// The rows of a block of `n` a pass with `stride` and `phase` reads, as ranges (stride 1:
/// every row).
pub fn sample_ranges(
    n: usize,
    stride: usize,
    phase: usize,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    let stride = stride.max(1);
    (SAMPLE_TILE * (phase % stride)..n)
        .step_by(SAMPLE_TILE * stride)
        .map(move |s| s..(s + SAMPLE_TILE).min(n))
}

impl PassSpec {
    /// The tiles of at most `tile` rows a pass over a block of `n` rows reads, as (first
    /// row, rows).
    pub(super) fn tiles(&self, n: usize, tile: usize) -> impl Iterator<Item = (usize, usize)> {
        sample_ranges(n, self.stride, self.phase).flat_map(move |r| {
            r.clone()
                .step_by(tile)
                .map(move |s| (s, tile.min(r.end - s)))
        })
    }

    /// Whether row `r` is read.
    pub(super) fn keeps_row(&self, r: usize) -> bool {
        let stride = self.stride.max(1);
        (r / SAMPLE_TILE) % stride == self.phase % stride
    }
}

/// Sums over observations: weight, loss, gradient, Hessian (full, row-major), as plain
/// vectors so blocks' stats add up in any order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub weight: f64,
    pub loss: f64,
    pub grad: Vec<f64>,
    pub hess: Vec<f64>,
}

impl Stats {
    /// Adds `other` into `self` (stats of disjoint rows).
    pub fn add(&mut self, other: &Stats) {
        self.weight += other.weight;
        self.loss += other.loss;
        add_into(&mut self.grad, &other.grad);
        add_into(&mut self.hess, &other.hess);
    }
}

fn add_into(a: &mut Vec<f64>, b: &[f64]) {
    if a.is_empty() {
        a.extend_from_slice(b);
    } else {
        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
}

/// A block of X: dense rows of `ncols` values (borrowed, or a row-major copy of a strided
/// block), or a sparse block's entries by row.
pub enum Rows<'a> {
    Dense(Cow<'a, [f64]>),
    Sparse(SparseRows<'a>),
}

/// A dense block's values row by row: the block itself, or (for a strided block, such as a
/// transposed array persisted by the caller, which the design does not copy again) a
/// row-major copy made for this pass.
fn dense_rows(b: &Buffer) -> crate::error::Result<Cow<'_, [f64]>> {
    if b.is_c_contiguous() {
        return Ok(Cow::Borrowed(b.as_slice::<f64>()?));
    }
    Ok(Cow::Owned(
        crate::value::block::contiguous(b)?
            .as_slice::<f64>()?
            .to_vec(),
    ))
}

/// The design block's X, the response and the weights.
pub struct Block<'a> {
    pub x: Rows<'a>,
    pub ncols: usize,
    pub y: &'a [f64],
    pub w: Option<&'a [f64]>,
}

impl<'a> Block<'a> {
    /// Views over a task's input blocks (X dense or sparse), checking what the solver
    /// assumes of them.
    pub fn from_values(
        x: &'a Value,
        y: &'a Buffer,
        w: Option<&'a Buffer>,
    ) -> Result<Block<'a>, String> {
        let (x, shape) = match x {
            Value::Buffer(b) => (
                Rows::Dense(dense_rows(b).map_err(|e| format!("X's block: {e}"))?),
                b.shape(),
            ),
            Value::Sparse(c) => (Rows::Sparse(SparseRows::new(c)?), c.shape()),
            v => {
                return Err(format!(
                    "X's block is {}, not an array block",
                    v.kind_name()
                ))
            }
        };
        let (rows, ncols) = match shape {
            [r, c] => (*r, *c),
            s => return Err(format!("X's block has shape {s:?}, not (rows, columns)")),
        };
        let ys = y.as_slice::<f64>().map_err(|e| format!("y's block: {e}"))?;
        if ys.len() != rows {
            return Err(format!("a block of X has {rows} rows and y's {}", ys.len()));
        }
        let ws = match w {
            Some(w) => {
                let ws = w.as_slice::<f64>().map_err(|e| format!("weights: {e}"))?;
                if ws.len() != rows {
                    return Err(format!(
                        "a block of X has {rows} rows and the weights' {}",
                        ws.len()
                    ));
                }
                Some(ws)
            }
            None => None,
        };
        Ok(Block {
            x,
            ncols,
            y: ys,
            w: ws,
        })
    }

    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// Dense row `r` (dense blocks only).
    pub(super) fn row(&self, r: usize) -> &[f64] {
        match &self.x {
            Rows::Dense(x) => &x[r * self.ncols..(r + 1) * self.ncols],
            Rows::Sparse(_) => unreachable!("row() of a sparse block"),
        }
    }

    /// The response of row `r` as the family sees it.
    pub(super) fn response(&self, r: usize, positive: Option<f64>) -> f64 {
        let y = self.y[r];
        match positive {
            Some(c) => (y == c) as u8 as f64,
            None => y,
        }
    }

    /// The first row with a value the model cannot take, and why.
    fn check(&self, spec: &PassSpec) -> Result<(), String> {
        if let Rows::Sparse(s) = &self.x {
            if let Some(k) = s.vals.iter().position(|v| !v.is_finite()) {
                let r = s.indptr.partition_point(|&e| e <= k) - 1;
                return Err(format!(
                    "X[{}, {}] is {} (X must be finite)",
                    spec.row0 + r,
                    s.cols[k],
                    s.vals[k]
                ));
            }
        }
        for r in 0..self.rows() {
            let at = spec.row0 + r;
            if let Rows::Dense(_) = self.x {
                if let Some(j) = self.row(r).iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "X[{at}, {j}] is {} (X must be finite)",
                        self.row(r)[j]
                    ));
                }
            }
            let y = self.y[r];
            if !y.is_finite() {
                return Err(format!("y[{at}] is {y} (y must be finite)"));
            }
            if spec.positive.is_none() && spec.labels.is_empty() {
                if let Some(why) = spec.family.check_response(y) {
                    return Err(format!("y[{at}]: {why} ({} family)", spec.family.name()));
                }
            }
            if let Some(w) = self.w {
                if !(w[r] >= 0.0 && w[r].is_finite()) {
                    return Err(format!(
                        "sample_weight[{at}] is {} (weights must be finite and not negative)",
                        w[r]
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The block's stats at `spec.beta`.
pub fn block_stats(spec: &PassSpec, b: &Block) -> Result<Stats, String> {
    let q = b.ncols + spec.intercept as usize;
    let blocks = spec.labels.len().max(1);
    if spec.beta.len() != q * blocks {
        return Err(format!(
            "{} coefficients for {blocks} × ({} columns{})",
            spec.beta.len(),
            b.ncols,
            if spec.intercept {
                " and an intercept"
            } else {
                ""
            }
        ));
    }
    if spec.check {
        b.check(spec)?;
    }
    if !spec.labels.is_empty() && spec.want == Want::Hessian {
        return Err(super::softmax::NO_HESSIAN.into());
    }
    let x = match &b.x {
        Rows::Dense(x) => x.as_ref(),
        Rows::Sparse(s) => return super::sparse_pass::block_stats(spec, b, s),
    };
    if !spec.labels.is_empty() {
        return super::softmax::block_stats(spec, b, x);
    }
    let mut st = Stats::default();
    if spec.want >= Want::Gradient {
        st.grad = vec![0.0; q];
    }
    let hessian = spec.want == Want::Hessian;
    if hessian {
        st.hess = vec![0.0; q * q];
    }
    let mut tile = if hessian {
        vec![0.0; TILE * q]
    } else {
        Vec::new()
    };
    let (mut eta, mut y) = ([0.0; TILE], [0.0; TILE]);
    let (mut l, mut g, mut h) = ([0.0; TILE], [0.0; TILE], [0.0; TILE]);
    let n = b.rows();
    for (start, m) in spec.tiles(n, TILE) {
        // Xβ and Xᵀg of the tile as matrix-vector products: a dot product written as a
        // plain sum is one long chain of dependent adds (the pass ran at a third of this).
        let xt = ndarray::ArrayView2::from_shape(
            (m, b.ncols),
            &x[start * b.ncols..(start + m) * b.ncols],
        )
        .expect("the tile's rows lie in the block");
        let coef = ndarray::ArrayView1::from(&spec.beta[..b.ncols]);
        let b0 = if spec.intercept {
            spec.beta[b.ncols]
        } else {
            0.0
        };
        eta[..m].fill(b0);
        let mut eta_v = ndarray::ArrayViewMut1::from(&mut eta[..m]);
        ndarray::linalg::general_mat_vec_mul(1.0, &xt, &coef, 1.0, &mut eta_v);
        for (i, yi) in y[..m].iter_mut().enumerate() {
            *yi = b.response(start + i, spec.positive);
        }
        spec.family
            .terms_tile(&eta[..m], &y[..m], &mut l[..m], &mut g[..m], &mut h[..m]);
        match b.w {
            Some(w) => {
                for i in 0..m {
                    let s = w[start + i];
                    st.weight += s;
                    // A row of weight 0 takes no part, even where its loss is infinite.
                    (l[i], g[i], h[i]) = if s == 0.0 {
                        (0.0, 0.0, 0.0)
                    } else {
                        (s * l[i], s * g[i], s * h[i])
                    };
                }
            }
            None => st.weight += m as f64,
        }
        st.loss += l[..m].iter().sum::<f64>();
        if spec.want >= Want::Gradient {
            let gv = ndarray::ArrayView1::from(&g[..m]);
            let mut grad = ndarray::ArrayViewMut1::from(&mut st.grad[..b.ncols]);
            ndarray::linalg::general_mat_vec_mul(1.0, &xt.t(), &gv, 1.0, &mut grad);
            if spec.intercept {
                st.grad[b.ncols] += g[..m].iter().sum::<f64>();
            }
        }
        if hessian {
            for i in 0..m {
                let a = h[i].sqrt();
                let z = &mut tile[i * q..(i + 1) * q];
                z.iter_mut()
                    .zip(b.row(start + i))
                    .for_each(|(zj, xj)| *zj = a * xj);
                if spec.intercept {
                    z[b.ncols] = a;
                }
            }
            let z = ndarray::ArrayView2::from_shape((m, q), &tile[..m * q])
                .expect("the tile holds rows x q values");
            let mut hm = ndarray::ArrayViewMut2::from_shape((q, q), &mut st.hess[..])
                .expect("the Hessian holds q x q values");
            ndarray::linalg::general_mat_mul(1.0, &z.t(), &z, 1.0, &mut hm);
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glm::family::family;

    /// The tiled pass equals the textbook sums row by row, with weights and an intercept,
    /// across more than one tile.
    #[test]
    fn stats_match_row_by_row_sums() {
        let ncols = 3;
        let n = 600;
        let x: Vec<f64> = (0..n * ncols)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect();
        let y: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 4) as f64).collect();
        let beta = vec![0.3, -0.2, 0.1, 0.05];
        let fam = family("binomial").unwrap();
        let spec = PassSpec {
            family: fam,
            beta: beta.clone(),
            intercept: true,
            positive: None,
            labels: Vec::new(),
            check: true,
            row0: 0,
            want: Want::Hessian,
            stride: 1,
            phase: 0,
        };
        let b = Block {
            x: Rows::Dense(Cow::Borrowed(&x)),
            ncols,
            y: &y,
            w: Some(&w),
        };
        let st = block_stats(&spec, &b).unwrap();
        let (mut loss, mut grad, mut hess) = (0.0, vec![0.0; 4], vec![0.0; 16]);
        for r in 0..n {
            let mut z = x[r * 3..r * 3 + 3].to_vec();
            z.push(1.0);
            let eta: f64 = z.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let (l, g, h) = fam.terms(eta, y[r]);
            loss += w[r] * l;
            for j in 0..4 {
                grad[j] += w[r] * g * z[j];
                for k in 0..4 {
                    hess[j * 4 + k] += w[r] * h * z[j] * z[k];
                }
            }
        }
        assert!((st.loss - loss).abs() < 1e-9 * loss.abs());
        assert_eq!(st.weight, w.iter().sum::<f64>());
        for (a, b) in st.grad.iter().zip(&grad) {
            assert!((a - b).abs() < 1e-9);
        }
        for (a, b) in st.hess.iter().zip(&hess) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    /// A sampled pass (sample tiles 1, 4, 7, … of the block) equals a full pass over those
    /// rows alone, and `sample_ranges` names those rows.
    #[test]
    fn a_sampled_pass_reads_exactly_its_tiles() {
        let (n, p) = (SAMPLE_TILE * 10 + 77, 3);
        let x: Vec<f64> = (0..n * p)
            .map(|i| ((i * 29 % 97) as f64) / 40.0 - 1.2)
            .collect();
        let y: Vec<f64> = (0..n).map(|i| ((i * 7) % 5 < 2) as u8 as f64).collect();
        let spec = PassSpec {
            family: family("binomial").unwrap(),
            beta: vec![0.4, -0.3, 0.2, 0.1],
            intercept: true,
            positive: None,
            labels: Vec::new(),
            check: false,
            row0: 0,
            want: Want::Hessian,
            stride: 3,
            phase: 1,
        };
        let whole = Block {
            x: Rows::Dense(Cow::Borrowed(&x)),
            ncols: p,
            y: &y,
            w: None,
        };
        let sampled = block_stats(&spec, &whole).unwrap();
        let rows: Vec<usize> = (0..n).filter(|r| (r / SAMPLE_TILE) % 3 == 1).collect();
        assert_eq!(rows, sample_ranges(n, 3, 1).flatten().collect::<Vec<_>>());
        assert_eq!(sample_ranges(n, 1, 0).flatten().count(), n);
        let xs: Vec<f64> = rows
            .iter()
            .flat_map(|&r| x[r * p..(r + 1) * p].to_vec())
            .collect();
        let ys: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        let alone = block_stats(
            &PassSpec {
                stride: 1,
                phase: 0,
                ..spec.clone()
            },
            &Block {
                x: Rows::Dense(Cow::Borrowed(&xs)),
                ncols: p,
                y: &ys,
                w: None,
            },
        )
        .unwrap();
        assert_eq!(sampled.weight, rows.len() as f64);
        assert!((sampled.loss - alone.loss).abs() < 1e-12 * alone.loss);
        for (a, b) in sampled
            .grad
            .iter()
            .chain(&sampled.hess)
            .zip(alone.grad.iter().chain(&alone.hess))
        {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    /// A strided block (a transposed view) is read through a row-major copy: the same
    /// stats as the contiguous block.
    #[test]
    fn strided_blocks_read_as_rows() {
        let (n, p) = (300, 3);
        let x: Vec<f64> = (0..n * p)
            .map(|i| ((i * 13 % 17) as f64) / 8.0 - 1.0)
            .collect();
        let mut xt = vec![0.0; n * p];
        for r in 0..n {
            for j in 0..p {
                xt[j * n + r] = x[r * p + j];
            }
        }
        let t = Buffer::from_vec(xt, &[p, n]).unwrap();
        let strided = t.view(&[n, p], &[8, 8 * n as isize], 0).unwrap();
        assert!(!strided.is_c_contiguous());
        let y = Buffer::from_vec((0..n).map(|i| (i % 2) as f64).collect(), &[n]).unwrap();
        let spec = PassSpec {
            family: family("binomial").unwrap(),
            beta: vec![0.2, -0.1, 0.3, 0.05],
            intercept: true,
            positive: None,
            labels: Vec::new(),
            check: true,
            row0: 0,
            want: Want::Hessian,
            stride: 1,
            phase: 0,
        };
        let v = Value::Buffer(strided);
        let a = block_stats(&spec, &Block::from_values(&v, &y, None).unwrap()).unwrap();
        let c = Value::Buffer(Buffer::from_vec(x, &[n, p]).unwrap());
        let b = block_stats(&spec, &Block::from_values(&c, &y, None).unwrap()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_values_are_named_by_row() {
        let x = vec![1.0, f64::NAN];
        let y = vec![0.0];
        let spec = PassSpec {
            family: family("poisson").unwrap(),
            beta: vec![0.0, 0.0],
            intercept: false,
            positive: None,
            labels: Vec::new(),
            check: true,
            row0: 40,
            want: Want::Loss,
            stride: 1,
            phase: 0,
        };
        let e = block_stats(
            &spec,
            &Block {
                x: Rows::Dense(Cow::Borrowed(&x)),
                ncols: 2,
                y: &y,
                w: None,
            },
        )
        .unwrap_err();
        assert!(e.contains("X[40, 1] is NaN"), "{e}");
        let x = vec![1.0, 2.0];
        let y = vec![-1.0];
        let e = block_stats(
            &spec,
            &Block {
                x: Rows::Dense(Cow::Borrowed(&x)),
                ncols: 2,
                y: &y,
                w: None,
            },
        )
        .unwrap_err();
        assert!(e.contains("y[40]") && e.contains("negative count"), "{e}");
    }
}
