//! C ABI: generalized linear models (`dask::glm`): a versioned params struct, fitting over
//! chunked arrays, the coefficients into caller buffers, lazy predictions, fit diagnostics.

use super::array::{dask_array, put_operand};
use super::client::dask_client;
use super::handle::{self, handle_type, Shell};
use super::versioned::{read_fields, write_fields};
use super::{c_str, dask_status, guard, guard_void, out};
use crate::array::{Array, Operand};
use crate::error::{Error, Result};
use crate::glm::{fit, Glm, Options, Penalty, Solver};

/// A fitted model. Opaque; immutable, so it may be shared between threads.
pub struct dask_glm_model(Shell<Glm>);
handle_type!(dask_glm_model, Glm, 0x6461_736b_676c_6d6d, "dask_glm_model");

/// How to fit (a versioned input struct: `dask_glm_params_init(&p, sizeof p)` first, then set
/// fields). Strings are read during `dask_glm_fit` only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
#[allow(non_snake_case)] // `C` is scikit-learn's name for it
pub struct dask_glm_params {
    /// `sizeof(dask_glm_params)` as the caller was compiled; set by `dask_glm_params_init`.
    pub struct_size: u32,
    /// Nonzero: fit an intercept (never penalised). Default 1.
    pub fit_intercept: u32,
    /// `"binomial"` (logistic regression), `"gaussian"` (least squares) or `"poisson"`;
    /// NULL: `"binomial"`.
    pub family: *const std::ffi::c_char,
    /// `"none"`, `"l2"`, `"l1"` or `"elasticnet"`; NULL: `"l2"` for binomial (scikit-learn's
    /// `LogisticRegression`), `"none"` for the others.
    pub penalty: *const std::ffi::c_char,
    /// `"newton"`, `"lbfgs"`, `"gradient_descent"`, `"proximal_grad"`, `"admm"` or `"cd"`
    /// (coordinate descent on the Gram matrix: one pass over the data; gaussian only); NULL:
    /// `"lbfgs"`.
    pub solver: *const std::ffi::c_char,
    /// The penalty's strength as scikit-learn's `C` (> 0), or as dask-glm's `lambda` (>= 0):
    /// the objective is `sum(loss) + lambda * R(beta)`, `C = 1 / lambda`. Set at most one;
    /// the other stays at its default, `-1` (unset). Both unset: `C = 1`.
    pub C: f64,
    pub lambda: f64,
    /// The L1 share of an elastic net, in [0, 1]. Default 0.5.
    pub l1_ratio: f64,
    /// Largest KKT residual (without L1: the gradient's largest entry) of the objective
    /// divided by the total sample weight, accepted as converged. Default 1e-4.
    pub tol: f64,
    /// Most iterations. Default 100.
    pub max_iter: u32,
}

fn params_defaults(struct_size: u32) -> dask_glm_params {
    dask_glm_params {
        struct_size,
        fit_intercept: 1,
        family: std::ptr::null(),
        penalty: std::ptr::null(),
        solver: std::ptr::null(),
        C: -1.0,
        lambda: -1.0,
        l1_ratio: 0.5,
        tol: 1e-4,
        max_iter: 100,
    }
}

macro_rules! params_fields {
    ($m:ident, $ptr:expr, $size:expr, $src:expr) => {
        $m!(
            $ptr,
            $size,
            dask_glm_params,
            $src,
            [
                fit_intercept,
                family,
                penalty,
                solver,
                C,
                lambda,
                l1_ratio,
                tol,
                max_iter
            ]
        )
    };
}

/// Fills `*params` (whose `struct_size` bytes are the caller's `sizeof`) with the defaults
/// and sets its `struct_size`. Any thread; nothing to free.
///
/// # Safety
/// `params` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_params_init(
    params: *mut dask_glm_params,
    struct_size: usize,
) -> dask_status {
    guard(|| {
        if params.is_null() {
            return Err(Error::NullArgument("params is NULL".into()));
        }
        super::versioned::check_size(struct_size, 8, "dask_glm_params")?;
        // SAFETY: per the contract, `struct_size` bytes are writable.
        let filled = unsafe { super::versioned::zero_unknown(params, struct_size) };
        let defaults = params_defaults(struct_size as u32);
        params_fields!(write_fields, params, filled, defaults);
        // SAFETY: `struct_size` (4 bytes at offset 0) is within the caller's struct.
        unsafe {
            std::ptr::addr_of_mut!((*params).struct_size).write_unaligned(struct_size as u32)
        };
        Ok(())
    })
}

fn text(p: *const std::ffi::c_char, what: &str) -> Result<Option<String>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string field is NUL-terminated, per the contract.
    Ok(Some(unsafe { c_str(p, what) }?.to_string()))
}

/// The family name and options of a caller's params (NULL: all defaults).
unsafe fn read_params(params: *const dask_glm_params) -> Result<(String, Options)> {
    let p = if params.is_null() {
        params_defaults(std::mem::size_of::<dask_glm_params>() as u32)
    } else {
        // SAFETY: per the contract.
        let size = unsafe { super::versioned::struct_size(params, 8, "dask_glm_params") }?;
        // SAFETY: per the contract.
        unsafe { super::versioned::check_unknown_zero(params, size, "dask_glm_params") }?;
        params_fields!(read_fields, params, size, params_defaults(size as u32))
    };
    let family = text(p.family, "params.family")?.unwrap_or_else(|| "binomial".into());
    let penalty = match text(p.penalty, "params.penalty")? {
        Some(name) => Penalty::parse(&name, p.l1_ratio)?,
        None if family == "binomial" => Penalty::L2,
        None => Penalty::None,
    };
    let solver = match text(p.solver, "params.solver")? {
        Some(name) => Solver::parse(&name)?,
        None => Solver::Lbfgs,
    };
    let set = |v: f64| (v != -1.0).then_some(v);
    Ok((
        family,
        Options {
            penalty,
            c: set(p.C),
            lambda: set(p.lambda),
            solver,
            tol: p.tol,
            max_iter: p.max_iter as usize,
            fit_intercept: p.fit_intercept != 0,
            sample_stride: None,
        },
    ))
}

fn array_of(op: &Operand, what: &str) -> Result<Array> {
    match op {
        Operand::Array(a) => Ok(a.clone()),
        Operand::Block(b) => Operand::Block(b.clone()).into_array(),
        // A whole sparse matrix: row blocks of about 2^20 stored entries, one task each.
        Operand::Sparse(c) if c.ndim() == 2 && c.shape()[0] > 0 => {
            let (n, p) = (c.shape()[0], c.shape()[1]);
            let per_row = c.nnz().max(1) as f64 / n as f64;
            let rows = ((1u64 << 20) as f64 / per_row).round().clamp(1.0, n as f64) as usize;
            Array::from_sparse_blocks(c, &[rows, p.max(1)])
        }
        _ => Err(Error::invalid(format!("{what} must be an array"))),
    }
}

/// Fits a model to the rows of `x` (n × p, dense or sparse: a sparse `x`'s stored entries are
/// all that is read) and `y` (n), with `sample_weight` (n) or NULL,
/// on `client` (the embedded pool or a cluster). `params` NULL means all defaults
/// (logistic regression as scikit-learn's). Blocks until fitted; not converging within
/// `max_iter` is not an error: read `dask_glm_fit_info`. `*out_model` is owned by the caller
/// (`dask_glm_model_free`). The arrays are borrowed for the call. Any thread.
///
/// # Safety
/// `client`, `x`, `y` are live handles, `sample_weight` NULL or live, `params` NULL or
/// initialised by `dask_glm_params_init`; `out_model` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_fit(
    client: *const dask_client,
    params: *const dask_glm_params,
    x: *const dask_array,
    y: *const dask_array,
    sample_weight: *const dask_array,
    out_model: *mut *mut dask_glm_model,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_model, "out_model") }?;
        let c = unsafe { handle::get(client) }?;
        let (family, options) = unsafe { read_params(params) }?;
        let xa = array_of(unsafe { handle::get(x) }?, "x")?;
        let ya = array_of(unsafe { handle::get(y) }?, "y")?;
        let wa = if sample_weight.is_null() {
            None
        } else {
            Some(array_of(
                unsafe { handle::get(sample_weight) }?,
                "sample_weight",
            )?)
        };
        let model = fit(c, &family, &xa, &ya, wa.as_ref(), &options)?;
        *slot = handle::new_handle(model);
        Ok(())
    })
}

/// Frees a model: its ownership ends here. NULL is a no-op. Any thread, but not while another
/// thread still uses it; arrays it predicted stay valid.
///
/// # Safety
/// `model` is NULL or a model handle.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_model_free(model: *mut dask_glm_model) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(model) })
}

/// The number of coefficients (columns of X) into `*out_n`. `model` is borrowed for the call;
/// nothing to free. Any thread.
///
/// # Safety
/// `model` is live; `out_n` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_n_features(
    model: *const dask_glm_model,
    out_n: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let m = unsafe { handle::get(model) }?;
        *unsafe { out(out_n, "out_n") }? = m.n_features();
        Ok(())
    })
}

/// The number of classes of a classifier into `*out_k` (2 for binary), 0 for a regression.
/// `model` is borrowed for the call; nothing to free. Any thread.
///
/// # Safety
/// `model` is live; `out_k` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_n_classes(
    model: *const dask_glm_model,
    out_k: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let m = unsafe { handle::get(model) }?;
        *unsafe { out(out_k, "out_k") }? = m.classes().map_or(0, |c| c.len());
        Ok(())
    })
}

/// Copies the coefficients, row-major `rows × n_features` as scikit-learn's `coef_`, into
/// `out_coef` (`len` must be `rows * dask_glm_n_features`), and the `rows` intercepts into
/// `out_intercept` (NULL: not wanted; zeros without one). `rows` is 1 for a regression or a
/// binary classifier (the second class's log-odds) and `dask_glm_n_classes` for a
/// multinomial classifier (one row per class). Copies, nothing to free. Any thread.
///
/// # Safety
/// `model` is live; `out_coef` holds `len` doubles; `out_intercept` NULL or holds `rows`.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_coef(
    model: *const dask_glm_model,
    out_coef: *mut f64,
    len: usize,
    out_intercept: *mut f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let m = unsafe { handle::get(model) }?;
        if len != m.coef().len() {
            return Err(Error::Shape(format!(
                "the model has {} coefficients ({} rows of {}); the buffer holds {len}",
                m.coef().len(),
                m.intercept().len(),
                m.n_features()
            )));
        }
        if out_coef.is_null() {
            return Err(Error::NullArgument("out_coef is NULL".into()));
        }
        // SAFETY: per the contract, `out_coef` holds `len` doubles.
        unsafe { std::slice::from_raw_parts_mut(out_coef, len) }.copy_from_slice(m.coef());
        if !out_intercept.is_null() {
            let b = m.intercept();
            // SAFETY: per the contract, `out_intercept` holds one double per row.
            unsafe { std::slice::from_raw_parts_mut(out_intercept, b.len()) }.copy_from_slice(b);
        }
        Ok(())
    })
}

/// How a fit went (a versioned output struct: pass `sizeof(dask_glm_info)`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct dask_glm_info {
    /// Bytes the library filled.
    pub struct_size: u32,
    /// Nonzero when the KKT residual reached `tol` within `max_iter`.
    pub converged: u32,
    pub n_iter: u64,
    /// Passes over the data.
    pub passes: u64,
    /// The objective divided by the total sample weight, at the result.
    pub objective: f64,
    /// The KKT residual at the result.
    pub kkt_residual: f64,
}

/// Fills `*info` (of the caller's `struct_size` bytes) with the fit's diagnostics. `model` is
/// borrowed for the call; nothing to free. Any thread.
///
/// # Safety
/// `model` is live; `info` valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_fit_info(
    model: *const dask_glm_model,
    info: *mut dask_glm_info,
    struct_size: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let m = unsafe { handle::get(model) }?;
        if info.is_null() {
            return Err(Error::NullArgument("info is NULL".into()));
        }
        super::versioned::check_size(struct_size, 8, "dask_glm_info")?;
        let i = m.info();
        let filled = unsafe { super::versioned::zero_unknown(info, struct_size) };
        let src = dask_glm_info {
            struct_size: filled as u32,
            converged: i.converged as u32,
            n_iter: i.n_iter as u64,
            passes: i.passes as u64,
            objective: i.objective,
            kkt_residual: i.kkt_residual,
        };
        write_fields!(
            info,
            filled,
            dask_glm_info,
            src,
            [
                struct_size,
                converged,
                n_iter,
                passes,
                objective,
                kkt_residual
            ]
        );
        Ok(())
    })
}

/// The class labels of a classifier, in increasing order, into `out_classes` (`len` must be
/// `dask_glm_n_classes`): column `k` of `predict_proba` is about `out_classes[k]`; for a
/// binary model the coefficients are the second class's log-odds. An error for a regression.
/// `model` is borrowed for the call; nothing to free. Any thread.
///
/// # Safety
/// `model` is live; `out_classes` holds `len` doubles.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_classes(
    model: *const dask_glm_model,
    out_classes: *mut f64,
    len: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let m = unsafe { handle::get(model) }?;
        let c = m
            .classes()
            .ok_or_else(|| Error::invalid("the model is a regression: it has no classes"))?;
        if len != c.len() {
            return Err(Error::Shape(format!(
                "the model has {} classes; the buffer holds {len}",
                c.len()
            )));
        }
        if out_classes.is_null() {
            return Err(Error::NullArgument("out_classes is NULL".into()));
        }
        // SAFETY: per the contract, `len` doubles.
        unsafe { std::slice::from_raw_parts_mut(out_classes, len) }.copy_from_slice(c);
        Ok(())
    })
}

/// Which prediction.
pub type dask_glm_predict_kind = u32;
/// Labels (classifiers) or the mean response (regressions): `predict`.
pub const DASK_GLM_PREDICT: dask_glm_predict_kind = 0;
/// n × n_classes class probabilities (classifiers): `predict_proba`.
pub const DASK_GLM_PREDICT_PROBA: dask_glm_predict_kind = 1;
/// The linear predictor `X beta + intercept` (n; n × n_classes for a multinomial model):
/// `decision_function`.
pub const DASK_GLM_DECISION_FUNCTION: dask_glm_predict_kind = 2;

/// A lazy array of predictions for the rows of `x` (chunked like `x`'s rows). `*out_array`
/// is owned by the caller (`dask_array_free`); `x` is borrowed for the call. Any thread.
///
/// # Safety
/// `model` and `x` are live; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_predict(
    model: *const dask_glm_model,
    kind: dask_glm_predict_kind,
    x: *const dask_array,
    out_array: *mut *mut dask_array,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        let m = unsafe { handle::get(model) }?;
        let xa = array_of(unsafe { handle::get(x) }?, "x")?;
        let a = match kind {
            DASK_GLM_PREDICT => m.predict(&xa)?,
            DASK_GLM_PREDICT_PROBA => m.predict_proba(&xa)?,
            DASK_GLM_DECISION_FUNCTION => m.decision_function(&xa)?,
            k => return Err(Error::invalid(format!("unknown prediction kind {k}"))),
        };
        put_operand(slot, Operand::Array(a))
    })
}

/// The model's score on (`x`, `y`) into `*out_score`: accuracy for classifiers, R² for
/// gaussian, D² (share of the null deviance explained) for Poisson. Computes on `client`;
/// blocks. The handles are borrowed for the call; nothing to free. Any thread.
///
/// # Safety
/// `client`, `model`, `x`, `y` are live; `out_score` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_glm_score(
    client: *const dask_client,
    model: *const dask_glm_model,
    x: *const dask_array,
    y: *const dask_array,
    out_score: *mut f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_score, "out_score") }?;
        let c = unsafe { handle::get(client) }?;
        let m = unsafe { handle::get(model) }?;
        let xa = array_of(unsafe { handle::get(x) }?, "x")?;
        let ya = array_of(unsafe { handle::get(y) }?, "y")?;
        *slot = m.score(c, &xa, &ya)?;
        Ok(())
    })
}
