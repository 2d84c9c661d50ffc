//! The ufunc registry: every ufunc by name, with its arity, identity and loop table (dtype
//! signature -> inner loop). Built-ins are registered on first use; C code adds user ufuncs.
//!
//! Type resolution is NumPy's: the loops are listed from the smallest to the largest types and
//! a call uses the first loop whose input types all its inputs cast to safely.

use super::loops::LoopFn;
use super::promote::can_cast_safely;
use crate::error::{Error, Result};
use crate::value::DType;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, LazyLock};

/// An inner loop supplied by C: NumPy's generic loop signature
/// (`char **args, npy_intp const *dimensions, npy_intp const *steps, void *data`), with the
/// count passed directly.
pub type ForeignLoopFn =
    unsafe extern "C" fn(args: *mut *mut u8, n: usize, steps: *const isize, data: *mut c_void);

#[derive(Clone, Copy)]
pub(crate) enum LoopImpl {
    Rust(LoopFn),
    Foreign { func: ForeignLoopFn, data: usize },
}

/// One typed implementation: input dtypes then the output dtype.
#[derive(Clone)]
pub struct Loop {
    types: Vec<DType>,
    imp: LoopImpl,
}

impl Loop {
    pub(crate) fn rust(types: &[DType], f: LoopFn) -> Loop {
        Loop {
            types: types.to_vec(),
            imp: LoopImpl::Rust(f),
        }
    }

    pub(crate) fn foreign(types: &[DType], func: ForeignLoopFn, data: *mut c_void) -> Loop {
        Loop {
            types: types.to_vec(),
            imp: LoopImpl::Foreign {
                func,
                data: data as usize,
            },
        }
    }

    /// The input dtypes.
    pub fn inputs(&self) -> &[DType] {
        &self.types[..self.types.len() - 1]
    }

    /// The output dtype.
    pub fn output(&self) -> DType {
        *self.types.last().expect("a loop has an output")
    }

    /// Runs the loop over `n` elements; fails with the fault a checked loop met (the output
    /// is then incomplete and must not be used).
    ///
    /// # Safety
    /// `args` (inputs then output) and `steps` describe `n` valid elements of the loop's types;
    /// the output does not alias an input.
    pub(crate) unsafe fn run(&self, args: &mut [*mut u8], n: usize, steps: &[isize]) -> Result<()> {
        match self.imp {
            // SAFETY: per the contract.
            LoopImpl::Rust(f) => unsafe { f(args, n, steps, std::ptr::null()) },
            LoopImpl::Foreign { func, data } => {
                // SAFETY: per the contract; the registrant promised a thread-safe loop.
                unsafe { func(args.as_mut_ptr(), n, steps.as_ptr(), data as *mut c_void) }
            }
        }
        super::fault::check()
    }
}

/// A universal function: elementwise over broadcast inputs.
pub struct Ufunc {
    name: String,
    nin: usize,
    identity: Option<i64>,
    loops: Vec<Loop>,
    builtin: bool,
    /// NumPy's true-division rule: integer and bool inputs divide as float64.
    ints_to_double: bool,
    /// A ufunc with several outputs (`divmod`, `modf`, `frexp`): the names of its parts,
    /// one single-output ufunc per output over the same input loops, so each output fuses
    /// and travels like any other ufunc's.
    parts: Vec<String>,
    /// A generalized ufunc computed by the array products (`matmul`, …): its core signature.
    core: Option<&'static str>,
}

impl std::fmt::Debug for Ufunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<ufunc '{}'>", self.name)
    }
}

impl Ufunc {
    pub(crate) fn new(
        name: &str,
        nin: usize,
        identity: Option<i64>,
        loops: Vec<Loop>,
        builtin: bool,
    ) -> Result<Ufunc> {
        if name.is_empty() {
            return Err(Error::invalid("ufunc name is empty"));
        }
        if nin == 0 || nin > 3 {
            return Err(Error::invalid(format!(
                "ufunc '{name}': {nin} inputs (1 to 3 supported)"
            )));
        }
        if loops.is_empty() {
            return Err(Error::invalid(format!("ufunc '{name}' has no loops")));
        }
        if let Some(l) = loops.iter().find(|l| l.types.len() != nin + 1) {
            return Err(Error::invalid(format!(
                "ufunc '{name}': a loop has {} types, expected {} inputs and 1 output",
                l.types.len(),
                nin
            )));
        }
        Ok(Ufunc {
            name: name.to_string(),
            nin,
            identity,
            loops,
            builtin,
            ints_to_double: false,
            parts: Vec::new(),
            core: None,
        })
    }

    /// Makes this a multiple-output ufunc whose outputs are the ufuncs named `parts`.
    pub(crate) fn with_parts(mut self, parts: &[&str]) -> Ufunc {
        self.parts = parts.iter().map(|p| p.to_string()).collect();
        self
    }

    /// Makes this a generalized ufunc with core signature `signature`.
    pub(crate) fn with_core(mut self, signature: &'static str) -> Ufunc {
        self.core = Some(signature);
        self
    }

    /// Number of outputs (NumPy's `nout`).
    pub fn nout(&self) -> usize {
        self.parts.len().max(1)
    }

    /// The single-output ufuncs giving each output of a multiple-output ufunc (empty for
    /// the others).
    pub fn parts(&self) -> Result<Vec<Arc<Ufunc>>> {
        self.parts.iter().map(|p| ufunc(p)).collect()
    }

    /// The core signature of a generalized ufunc (`matmul`: `(n?,k),(k,m?)->(n?,m?)`).
    pub fn core_signature(&self) -> Option<&'static str> {
        self.core
    }

    /// Marks the ufunc as true division (integer inputs resolve to the float64 loop).
    pub(crate) fn with_ints_to_double(mut self) -> Ufunc {
        self.ints_to_double = true;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of inputs.
    pub fn nin(&self) -> usize {
        self.nin
    }

    /// The identity for reductions (`add`: 0, `multiply`: 1, …), if the ufunc has one.
    pub fn identity(&self) -> Option<i64> {
        self.identity
    }

    /// True for the library's own ufuncs (false for user ufuncs registered from C).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    pub fn loops(&self) -> &[Loop] {
        &self.loops
    }

    /// The loop for inputs of dtypes `inputs`.
    pub fn resolve(&self, inputs: &[DType]) -> Result<&Loop> {
        if inputs.len() != self.nin {
            return Err(Error::invalid(format!(
                "ufunc '{}' takes {} inputs, got {}",
                self.name,
                self.nin,
                inputs.len()
            )));
        }
        // NumPy refuses these on booleans instead of computing them in int8.
        if self.builtin && inputs.iter().all(|&d| d == DType::Bool) {
            let instead = match self.name.as_str() {
                "subtract" => Some("bitwise_xor or logical_xor"),
                "negative" => Some("invert or logical_not"),
                "sign" | "positive" | "gcd" | "lcm" => Some("a cast to an integer type first"),
                _ => None,
            };
            if let Some(instead) = instead {
                return Err(Error::DType(format!(
                    "ufunc '{}' is not supported for booleans (as in NumPy): use {instead}",
                    self.name
                )));
            }
        }
        let integral = |d: DType| !matches!(d, DType::Float32 | DType::Float64);
        let wanted: Vec<DType> = if self.ints_to_double && inputs.iter().all(|&d| integral(d)) {
            vec![DType::Float64; inputs.len()]
        } else {
            inputs.to_vec()
        };
        self.loops
            .iter()
            .find(|l| {
                wanted
                    .iter()
                    .zip(l.inputs())
                    .all(|(&i, &t)| can_cast_safely(i, t))
            })
            .ok_or_else(|| {
                let names: Vec<_> = inputs.iter().map(|d| d.name()).collect();
                Error::DType(format!(
                    "ufunc '{}' is not supported for input types ({})",
                    self.name,
                    names.join(", ")
                ))
            })
    }
}

static UFUNCS: LazyLock<RwLock<HashMap<String, Arc<Ufunc>>>> = LazyLock::new(|| {
    let map = super::builtin::builtins()
        .into_iter()
        .map(|u| (u.name.clone(), Arc::new(u)))
        .collect();
    RwLock::new(map)
});

/// The ufunc named `name` (NumPy's names; `divide` is `true_divide`, `mod` is `remainder`).
pub fn ufunc(name: &str) -> Result<Arc<Ufunc>> {
    UFUNCS
        .read()
        .get(name)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no ufunc named '{name}'")))
}

/// Names of every registered ufunc, sorted.
pub fn ufunc_names() -> Vec<String> {
    let mut names: Vec<String> = UFUNCS.read().keys().cloned().collect();
    names.sort();
    names
}

/// One typed loop of a user ufunc: input dtypes then the output dtype, the C loop and its
/// user data.
pub struct UserLoop {
    pub types: Vec<DType>,
    pub func: ForeignLoopFn,
    pub data: *mut c_void,
}

/// Registers a ufunc implemented by C loops (NumPy's `PyUFunc_FromFuncAndData`): it then works
/// on dense and chunked arrays like a built-in, fusion included. The loops must be
/// thread-safe; `data` must stay valid for the rest of the process.
pub fn register_user_ufunc(
    name: &str,
    nin: usize,
    identity: Option<i64>,
    loops: Vec<UserLoop>,
) -> Result<Arc<Ufunc>> {
    let loops = loops
        .into_iter()
        .map(|l| Loop::foreign(&l.types, l.func, l.data))
        .collect();
    register_ufunc(Ufunc::new(name, nin, identity, loops, false)?)
}

/// Registers a user ufunc; names are unique.
pub fn register_ufunc(u: Ufunc) -> Result<Arc<Ufunc>> {
    let mut map = UFUNCS.write();
    if map.contains_key(&u.name) {
        return Err(Error::AlreadyExists(format!(
            "ufunc '{}' exists already",
            u.name
        )));
    }
    let u = Arc::new(u);
    map.insert(u.name.clone(), u.clone());
    Ok(u)
}
