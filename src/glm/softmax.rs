//! The multinomial (softmax) pass over one row block: with `K` classes the linear predictor
//! of a row is a K-vector `η = Wx + b`, the loss `log Σₖ exp ηₖ − η_y`, and its gradient in
//! `W` the outer product of `softmax(η) − e_y` with `x`. Tile by tile, `η` is one matrix
//! product (rows × K) and the gradient another, so the pass stays a pair of dgemms and one
//! vectorised `exp` however many classes there are.

use super::kernel::{Block, PassSpec, Stats, Want};
use crate::ufunc::fastmath::exp_f64;
use ndarray::{s, ArrayView2, ArrayViewMut2};

/// Rows per tile (a tile's `η` is `TILE × K` values). Measured on 1M × 50, 10 classes
/// (benches/glm.rs multinomial, lbfgs): 256 rows 3.58 s, 2048 rows 2.68 s, 8192 rows 2.92 s —
/// the products need tall tiles to run at dgemm speed.
const TILE: usize = 2048;
// A full pass's tiles fall where a sampled pass's do (see `kernel::SAMPLE_TILE`).
const _: () = assert!(super::kernel::SAMPLE_TILE.is_multiple_of(TILE));

/// The position of `y` among the sorted `labels`.
fn class_of(labels: &[f64], y: f64) -> Option<usize> {
    let y = y + 0.0; // -0 is the label 0
    labels.binary_search_by(|l| l.total_cmp(&y)).ok()
}

/// The class of row `r` of a block (`spec.labels` sorted), or why it has none.
pub(super) fn class_of_row(spec: &PassSpec, y: f64, r: usize) -> Result<usize, String> {
    class_of(&spec.labels, y).ok_or_else(|| {
        format!(
            "y[{}] = {y} is not one of the {} labels the model was set up with",
            spec.row0 + r,
            spec.labels.len()
        )
    })
}

/// Why a multinomial pass takes no Hessian (checked in `kernel::block_stats`).
pub(super) const NO_HESSIAN: &str = "multinomial logistic regression has no Newton step here \
     (its Hessian is (classes × columns)²): use lbfgs";

/// The block's loss and gradient at `spec.beta` (`K` blocks of `q` coefficients: the
/// columns' then the intercept). There is no Hessian: it is `(K·q)²`, and the solvers that
/// need one are refused before any pass.
pub fn block_stats(spec: &PassSpec, b: &Block, x: &[f64]) -> Result<Stats, String> {
    let k = spec.labels.len();
    let p = b.ncols;
    let q = p + spec.intercept as usize;
    let coef = ArrayView2::from_shape((k, q), &spec.beta).map_err(|e| e.to_string())?;
    let weights = coef.slice(s![.., ..p]);
    let gradient = spec.want >= Want::Gradient;
    let mut st = Stats::default();
    if gradient {
        st.grad = vec![0.0; k * q];
    }
    let mut eta = vec![0.0; TILE * k];
    let mut e = vec![0.0; TILE * k];
    let mut class = vec![0usize; TILE];
    let n = b.rows();
    for (start, m) in spec.tiles(n, TILE) {
        let xt = ArrayView2::from_shape((m, p), &x[start * p..(start + m) * p])
            .expect("the tile's rows lie in the block");
        for row in eta[..m * k].chunks_exact_mut(k) {
            for (c, v) in row.iter_mut().enumerate() {
                *v = if spec.intercept { coef[[c, p]] } else { 0.0 };
            }
        }
        {
            let mut ev = ArrayViewMut2::from_shape((m, k), &mut eta[..m * k])
                .expect("the tile holds rows × classes values");
            ndarray::linalg::general_mat_mul(1.0, &xt, &weights.t(), 1.0, &mut ev);
        }
        for (i, c) in class[..m].iter_mut().enumerate() {
            let y = b.y[start + i];
            *c = class_of_row(spec, y, start + i)?;
        }
        // Shifted by each row's largest value, every exp lies in (0, 1]: no overflow, and
        // log Σ exp η = max + log Σ exp(η − max).
        for row in eta[..m * k].chunks_exact_mut(k) {
            let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.iter_mut().for_each(|v| *v -= top);
        }
        exp_f64(&eta[..m * k], &mut e[..m * k]);
        for i in 0..m {
            let s = match b.w {
                Some(w) => w[start + i],
                None => 1.0,
            };
            st.weight += s;
            let row = &mut e[i * k..(i + 1) * k];
            let total: f64 = row.iter().sum();
            if s != 0.0 {
                st.loss += s * (total.ln() - eta[i * k + class[i]]);
            }
            if gradient {
                let scale = s / total;
                row.iter_mut().for_each(|v| *v *= scale);
                row[class[i]] -= s;
            }
        }
        if gradient {
            let g = ArrayView2::from_shape((m, k), &e[..m * k])
                .expect("the tile holds rows × classes values");
            let mut all = ArrayViewMut2::from_shape((k, q), &mut st.grad[..])
                .expect("the gradient holds classes × q values");
            let mut gw = all.slice_mut(s![.., ..p]);
            ndarray::linalg::general_mat_mul(1.0, &g.t(), &xt, 1.0, &mut gw);
            if spec.intercept {
                for row in g.rows() {
                    for c in 0..k {
                        st.grad[c * q + p] += row[c];
                    }
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

    /// The tiled pass equals the textbook softmax sums row by row, with weights and
    /// intercepts, across more than one tile.
    #[test]
    fn stats_match_row_by_row_sums() {
        let (p, k, n) = (3, 4, 2500);
        let x: Vec<f64> = (0..n * p)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect();
        let labels = vec![-1.0, 2.0, 3.5, 10.0];
        let y: Vec<f64> = (0..n).map(|i| labels[(i * 7 + i / 5) % k]).collect();
        let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 4) as f64).collect();
        let beta: Vec<f64> = (0..k * (p + 1))
            .map(|i| ((i * 13 % 7) as f64 - 3.0) / 4.0)
            .collect();
        let spec = PassSpec {
            family: family("binomial").unwrap(),
            beta: beta.clone(),
            intercept: true,
            positive: None,
            labels: labels.clone(),
            check: true,
            row0: 0,
            stride: 1,
            phase: 0,
            want: Want::Gradient,
        };
        let blk = Block {
            x: crate::glm::kernel::Rows::Dense(std::borrow::Cow::Borrowed(&x)),
            ncols: p,
            y: &y,
            w: Some(&w),
        };
        let st = crate::glm::kernel::block_stats(&spec, &blk).unwrap();
        let (mut loss, mut grad) = (0.0, vec![0.0; k * (p + 1)]);
        for r in 0..n {
            let mut z = x[r * p..(r + 1) * p].to_vec();
            z.push(1.0);
            let eta: Vec<f64> = (0..k)
                .map(|c| (0..=p).map(|j| beta[c * (p + 1) + j] * z[j]).sum())
                .collect();
            let lse = eta.iter().map(|v| v.exp()).sum::<f64>().ln();
            let yc = labels.iter().position(|&l| l == y[r]).unwrap();
            loss += w[r] * (lse - eta[yc]);
            for c in 0..k {
                let pr = (eta[c] - lse).exp() - (c == yc) as u8 as f64;
                for j in 0..=p {
                    grad[c * (p + 1) + j] += w[r] * pr * z[j];
                }
            }
        }
        assert!(
            (st.loss - loss).abs() < 1e-9 * loss.abs(),
            "{} {loss}",
            st.loss
        );
        assert_eq!(st.weight, w.iter().sum::<f64>());
        for (a, b) in st.grad.iter().zip(&grad) {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
        let hess = PassSpec {
            want: Want::Hessian,
            ..spec.clone()
        };
        assert!(crate::glm::kernel::block_stats(&hess, &blk)
            .unwrap_err()
            .contains("lbfgs"));
        let unknown = vec![7.0; n];
        let e = crate::glm::kernel::block_stats(&spec, &Block { y: &unknown, ..blk }).unwrap_err();
        assert!(e.contains("y[0] = 7"), "{e}");
    }
}
