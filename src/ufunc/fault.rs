//! Faults met inside inner loops. A loop is a plain function over raw memory and cannot
//! return an error, so, like NumPy's floating-point status flags, a loop that meets an input
//! with no defined result records a fault on its thread, and whoever ran the loop reads it
//! right after (`Loop::run`) and fails with it. Only the `checked_*` ufuncs raise faults: the
//! NumPy-named ones keep NumPy's results (0 for an integer division by zero); the checked
//! ones serve hosts whose languages raise there (Julia's `DivideError` and `DomainError`).

use crate::error::{Error, Result};
use std::cell::Cell;

/// Why an integer operation has no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `x / 0`, `x % 0` on integers.
    DivideByZero,
    /// `MIN / -1`: the quotient does not fit the type.
    DivideOverflow,
    /// An integer to a negative power other than of 1 or -1: the result is not an integer.
    NegativePower,
    /// A real function given a number outside its domain (NaN out of numbers in).
    Domain,
    /// A float that is not a whole number within the target integer type's range.
    Inexact,
}

impl Fault {
    /// The message; hosts map it onto their own exception types, so it is stable.
    pub fn message(self) -> &'static str {
        match self {
            Fault::DivideByZero => "integer division by zero",
            Fault::DivideOverflow => "integer division overflow",
            Fault::NegativePower => "integer to a negative power",
            Fault::Domain => "argument outside the function's real domain (NaN from numbers)",
            Fault::Inexact => "value not exactly representable in the integer type",
        }
    }
}

thread_local! {
    static FAULT: Cell<Option<Fault>> = const { Cell::new(None) };
}

/// Records `fault` on this thread (the first one of a loop wins).
#[cold]
pub fn raise(fault: Fault) {
    FAULT.with(|c| {
        if c.get().is_none() {
            c.set(Some(fault))
        }
    });
}

/// Clears this thread's fault, failing with it if the loop that just ran raised one.
pub(crate) fn check() -> Result<()> {
    match FAULT.with(Cell::take) {
        None => Ok(()),
        Some(f) => Err(Error::InvalidArgument(f.message().to_string())),
    }
}
