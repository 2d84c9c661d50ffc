//! C ABI: row expressions (`dask::table::Expr`) for table filters, built node by node.
//!
//! Every builder leaves its operands untouched (they are borrowed for the call, to reuse or free) and
//! returns a new expression: `x > 3 and name in ("a", "b")` is
//! `dask_expr_column("x")`, `dask_expr_int(3)`, `dask_expr_compare(.., DASK_CMP_GT, ..)`, …,
//! `dask_expr_and(..)`. Building copies the operands' nodes, so an expression made by
//! chaining n steps costs O(n²) in all; a filter of many alternatives is one `isin`.

use super::handle::{self, handle_type, Shell};
use super::{c_str, dask_status, guard, guard_void, out, owned_c_string, slice};
use crate::error::{Error, Result};
use crate::table::{col, lit, CmpOp, Expr, Scalar};
use std::ffi::c_char;

/// A row expression. Opaque; immutable, so it may be shared between threads.
pub struct dask_expr(Shell<Expr>);
handle_type!(dask_expr, Expr, 0x6461_736b_6578_7072, "dask_expr");

/// Comparisons for `dask_expr_compare`.
pub type dask_cmp_op = u32;
pub const DASK_CMP_EQ: dask_cmp_op = 1;
pub const DASK_CMP_NE: dask_cmp_op = 2;
pub const DASK_CMP_LT: dask_cmp_op = 3;
pub const DASK_CMP_LE: dask_cmp_op = 4;
pub const DASK_CMP_GT: dask_cmp_op = 5;
pub const DASK_CMP_GE: dask_cmp_op = 6;

fn cmp_op(op: dask_cmp_op) -> Result<CmpOp> {
    Ok(match op {
        DASK_CMP_EQ => CmpOp::Eq,
        DASK_CMP_NE => CmpOp::Ne,
        DASK_CMP_LT => CmpOp::Lt,
        DASK_CMP_LE => CmpOp::Le,
        DASK_CMP_GT => CmpOp::Gt,
        DASK_CMP_GE => CmpOp::Ge,
        other => {
            return Err(Error::invalid(format!(
                "comparison {other} (DASK_CMP_EQ … DASK_CMP_GE are 1 … 6)"
            )))
        }
    })
}

/// The expression behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or an expression handle.
pub(crate) unsafe fn expr_arg<'a>(ptr: *const dask_expr) -> Result<&'a Expr> {
    // SAFETY: per the contract.
    unsafe { handle::get(ptr) }
}

fn put(slot: *mut *mut dask_expr, e: Expr) -> Result<()> {
    // SAFETY: callers pass their out-pointer argument, valid per their contract.
    let slot = unsafe { out(slot, "out_expr") }?;
    *slot = handle::new_handle(e);
    Ok(())
}

/// The literal an expression argument must be.
unsafe fn literal_arg(ptr: *const dask_expr, what: &str) -> Result<Scalar> {
    // SAFETY: per the caller's contract.
    let e = unsafe { expr_arg(ptr) }?;
    e.as_literal()
        .cloned()
        .ok_or_else(|| Error::invalid(format!("{what} must be a literal, not {e}")))
}

/// The column `name` (copied). `*out_expr` is owned by the caller (`dask_expr_free`). Any thread.
///
/// # Safety
/// `name` is a NUL-terminated string; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_column(
    name: *const c_char,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| put(out_expr, col(unsafe { c_str(name, "name") }?)))
}

/// An integer literal. It takes its column's type when it fits it exactly (NumPy's rule for
/// Python scalars); compared with a date column it counts days, with a timestamp column the
/// column's unit. `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_int(value: i64, out_expr: *mut *mut dask_expr) -> dask_status {
    guard(|| put(out_expr, lit(value)))
}

/// A float literal. `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_float(value: f64, out_expr: *mut *mut dask_expr) -> dask_status {
    guard(|| put(out_expr, lit(value)))
}

/// A boolean literal. `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_bool(value: bool, out_expr: *mut *mut dask_expr) -> dask_status {
    guard(|| put(out_expr, lit(value)))
}

/// A string literal (copied): compared with string and dictionary columns as text, with
/// date and timestamp columns as an ISO 8601 date or time ("2024-03-01",
/// "2024-03-01T12:00:00"). `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `value` is a NUL-terminated UTF-8 string; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_string(
    value: *const c_char,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| put(out_expr, lit(unsafe { c_str(value, "value") }?)))
}

/// The null literal: a comparison with it is null, so a filter keeps no row by it (use
/// `dask_expr_is_null` to find nulls). `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_null(out_expr: *mut *mut dask_expr) -> dask_status {
    guard(|| put(out_expr, lit(Scalar::Null)))
}

/// `a op b` (`op` one of `DASK_CMP_*`). Null where either side is null. `a` and `b` are
/// borrowed for the call; `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a`, `b` live expression handles; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_compare(
    a: *const dask_expr,
    op: dask_cmp_op,
    b: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        let op = cmp_op(op)?;
        // SAFETY: per the contract.
        let (a, b) = unsafe { (expr_arg(a)?.clone(), expr_arg(b)?.clone()) };
        put(out_expr, a.cmp(op, b))
    })
}

/// The ufunc `name` (as in `dask_ufunc_get`: "exp", "log", "sqrt", "add", "multiply",
/// "power", …) applied to the `nargs` expressions `args`, elementwise over the rows: a
/// computed value for `dask_table_with_column`, or an operand of a comparison in a filter.
/// NumPy's types: an integer or float literal takes its column's type where it fits (NEP 50);
/// null where any column read is null. An unknown ufunc or a wrong operand type is an error
/// when the expression is used. The operands are borrowed for the call; `*out_expr` is
/// owned by the caller. Any thread.
///
/// # Safety
/// `name` a NUL-terminated string; `args` holds `nargs` live expression handles;
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_call(
    name: *const c_char,
    args: *const *const dask_expr,
    nargs: usize,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let name = unsafe { c_str(name, "name") }?;
        // SAFETY: per the contract.
        let args = unsafe { slice(args, nargs, "args") }?
            .iter()
            // SAFETY: per the contract, each a live expression handle.
            .map(|&a| unsafe { expr_arg(a) }.cloned())
            .collect::<Result<Vec<Expr>>>()?;
        if args.is_empty() {
            return Err(Error::invalid(format!("{name}: no operands")));
        }
        put(out_expr, Expr::call(name, args))
    })
}

/// `a and b`, three-valued (`false and null` is false, `true and null` null). The operands
/// are borrowed for the call; `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a`, `b` live expression handles; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_and(
    a: *const dask_expr,
    b: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let (a, b) = unsafe { (expr_arg(a)?.clone(), expr_arg(b)?.clone()) };
        put(out_expr, a.and(b))
    })
}

/// `a or b`, three-valued (`true or null` is true). The operands are borrowed for the
/// call; `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a`, `b` live expression handles; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_or(
    a: *const dask_expr,
    b: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let (a, b) = unsafe { (expr_arg(a)?.clone(), expr_arg(b)?.clone()) };
        put(out_expr, a.or(b))
    })
}

/// `not a` (null stays null). `a` is borrowed for the call; `*out_expr` is owned by the caller.
/// Any thread.
///
/// # Safety
/// `a` a live expression handle; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_not(
    a: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| put(out_expr, unsafe { expr_arg(a) }?.clone().not()))
}

/// True where `a` is null (never null itself). `a` is borrowed for the call;
/// `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a` a live expression handle; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_is_null(
    a: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| put(out_expr, unsafe { expr_arg(a) }?.clone().is_null()))
}

/// True where `a` is one of the `n` literals `values` (a null in the list matches nothing;
/// n = 0 matches no row). Every value must be a literal expression. The arguments are
/// borrowed for the call; `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a` a live expression handle; `values` NULL (n = 0) or `n` live expression handles;
/// `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_isin(
    a: *const dask_expr,
    values: *const *const dask_expr,
    n: usize,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let a = unsafe { expr_arg(a) }?.clone();
        let values = unsafe { slice(values, n, "values") }?
            .iter()
            .enumerate()
            // SAFETY: per the contract.
            .map(|(i, &v)| unsafe { literal_arg(v, &format!("values[{i}]")) })
            .collect::<Result<Vec<_>>>()?;
        put(out_expr, a.isin(values))
    })
}

/// `lo <= a <= hi`, both ends included (pandas' `between`); `lo` and `hi` are literals.
/// The arguments are borrowed for the call; `*out_expr` is owned by the caller. Any thread.
///
/// # Safety
/// `a`, `lo`, `hi` live expression handles; `out_expr` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_between(
    a: *const dask_expr,
    lo: *const dask_expr,
    hi: *const dask_expr,
    out_expr: *mut *mut dask_expr,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let a = unsafe { expr_arg(a) }?.clone();
        let (lo, hi) = unsafe { (literal_arg(lo, "lo")?, literal_arg(hi, "hi")?) };
        put(out_expr, a.between(lo, hi))
    })
}

/// The expression as text (`(x > 3) and (name in ["a", "b"])`), in a new string the caller
/// frees with `dask_string_free` (owned by the caller). Any thread.
///
/// # Safety
/// `e` a live expression handle; `out_string` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_to_string(
    e: *const dask_expr,
    out_string: *mut *mut c_char,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_string, "out_string") }?;
        let text = unsafe { expr_arg(e) }?.to_string();
        *slot = owned_c_string(&text);
        Ok(())
    })
}

/// Frees an expression (NULL is a no-op): the caller's ownership of it ends. Tables filtered
/// by it keep their own copy. Any thread, once per handle, not while another thread still
/// uses it.
///
/// # Safety
/// `e` is NULL or an expression handle.
#[no_mangle]
pub unsafe extern "C" fn dask_expr_free(e: *mut dask_expr) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(e) })
}
