//! The array products as generalized ufuncs: NumPy's `matmul`, `vecdot`, `matvec` and
//! `vecmat`, with their stacking rules (leading axes broadcast like any ufunc's). Matrices and
//! vectors of numbers go to the chunked block products (BLAS for floats); stacks and booleans
//! become an elementwise product summed over the core axis, which stays lazy and chunked.

use crate::array::node::Array;
use crate::error::{Error, Result};
use crate::ufunc::reduce_op::ReduceOp;
use crate::ufunc::Ufunc;
use crate::value::DType;

/// The shape with a length-1 axis inserted at `at`.
fn with_unit_axis(x: &Array, at: usize) -> Result<Array> {
    let mut shape: Vec<i64> = x.shape().iter().map(|&n| n as i64).collect();
    shape.insert(at, 1);
    x.reshape(&shape)
}

/// `sum(a * b, axis)` in the products' result dtype (sums of small integers wrap back into
/// it, as NumPy's loops do; booleans give "any").
fn multiply_sum(u: &Ufunc, a: &Array, b: &Array, axis_from_end: usize) -> Result<Array> {
    let out = u.resolve(&[a.dtype(), b.dtype()])?.output();
    let prod = a.binary("multiply", b)?;
    let axis = prod.ndim() - axis_from_end;
    let summed = prod.reduce(ReduceOp::Sum, Some(&[axis]), false, 8)?;
    Ok(summed.astype(out))
}

fn core_error(u: &Ufunc, a: &Array, b: &Array, what: &str) -> Error {
    Error::Shape(format!(
        "{}: {what} (operands of shapes {:?} and {:?}; signature {})",
        u.name(),
        a.shape(),
        b.shape(),
        u.core_signature().unwrap_or("")
    ))
}

impl Array {
    /// `u(a, b)` for a generalized ufunc of the products.
    pub fn apply_gufunc(u: &Ufunc, a: &Array, b: &Array) -> Result<Array> {
        let (na, nb) = (a.ndim(), b.ndim());
        let last = |x: &Array, k: usize| x.shape()[x.ndim() - k];
        match u.name() {
            "matmul" => {
                if na == 0 || nb == 0 {
                    return Err(core_error(u, a, b, "0-d operands have no core axes"));
                }
                let k_b = if nb == 1 { b.shape()[0] } else { last(b, 2) };
                if last(a, 1) != k_b {
                    return Err(core_error(u, a, b, "the contracted lengths differ"));
                }
                let numeric = a.dtype() != DType::Bool && b.dtype() != DType::Bool;
                if numeric && na <= 2 && nb <= 2 {
                    let out = u.resolve(&[a.dtype(), b.dtype()])?.output();
                    return Ok(a.matmul(b)?.astype(out));
                }
                // (…, n, k) @ (…, k, m): a[…, n, k, 1] * b[…, 1, k, m] summed over k.
                let a2 = if na == 1 {
                    with_unit_axis(a, 0)?
                } else {
                    a.clone()
                };
                let b2 = if nb == 1 {
                    with_unit_axis(b, 1)?
                } else {
                    b.clone()
                };
                let a3 = with_unit_axis(&a2, a2.ndim())?;
                let b3 = with_unit_axis(&b2, b2.ndim() - 2)?;
                let r = multiply_sum(u, &a3, &b3, 2)?;
                // Drop the axes the vectors gained.
                let mut shape: Vec<i64> = r.shape().iter().map(|&n| n as i64).collect();
                if nb == 1 {
                    shape.pop();
                }
                if na == 1 {
                    let at = shape.len() - if nb == 1 { 1 } else { 2 };
                    shape.remove(at);
                }
                r.reshape(&shape)
            }
            "vecdot" => {
                if na == 0 || nb == 0 || last(a, 1) != last(b, 1) {
                    return Err(core_error(u, a, b, "the vectors' lengths differ"));
                }
                multiply_sum(u, a, b, 1)
            }
            "matvec" => {
                if na < 2 || nb == 0 || last(a, 1) != last(b, 1) {
                    return Err(core_error(u, a, b, "needs (…, m, n) and (…, n)"));
                }
                let v = with_unit_axis(b, nb - 1)?;
                multiply_sum(u, a, &v, 1)
            }
            "vecmat" => {
                if na == 0 || nb < 2 || last(a, 1) != last(b, 2) {
                    return Err(core_error(u, a, b, "needs (…, n) and (…, n, m)"));
                }
                let v = with_unit_axis(a, na)?;
                multiply_sum(u, &v, b, 2)
            }
            other => Err(Error::NotImplemented(format!(
                "'{other}' is not a generalized ufunc of this library"
            ))),
        }
    }
}
