//! Ufunc dispatch across array kinds (NumPy's `__array_ufunc__`, NEP 13).
//!
//! Each kind has a priority. A call asks the kinds of its operands, highest priority first,
//! to implement the ufunc; a kind may decline (NotImplemented), and then the next is asked.
//! Nothing ever converts an operand to another kind behind the caller's back: a ufunc no kind
//! implements is an error that names the kinds.

use super::node::Array;
use super::operand::Operand;
use crate::error::{Error, Result};
use crate::ufunc::kernel::{apply_dense, DenseArg};
use crate::ufunc::Ufunc;
use crate::value::Buffer;
use parking_lot::RwLock;
use std::sync::{Arc, LazyLock};

/// An array kind's ufunc implementation.
pub trait ArrayKind: Send + Sync {
    fn name(&self) -> &str;
    /// Higher priority kinds are asked first.
    fn priority(&self) -> i32;
    /// True for operands of this kind.
    fn owns(&self, operand: &Operand) -> bool;
    /// The result, or `Ok(None)` to decline (NotImplemented).
    fn call(&self, ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Option<Operand>>;
}

/// Dense blocks: evaluated at once.
struct DenseKind;

impl ArrayKind for DenseKind {
    fn name(&self) -> &str {
        "dense"
    }
    fn priority(&self) -> i32 {
        0
    }
    fn owns(&self, operand: &Operand) -> bool {
        matches!(operand, Operand::Block(_))
    }
    fn call(&self, ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Option<Operand>> {
        if args
            .iter()
            .any(|a| matches!(a, Operand::Array(_) | Operand::Foreign(_)))
        {
            return Ok(None);
        }
        let dense: Vec<DenseArg> = args
            .iter()
            .map(|a| match a {
                Operand::Block(b) => DenseArg::Block(b),
                Operand::Scalar(s) => DenseArg::Scalar(*s),
                Operand::Array(_) | Operand::Foreign(_) | Operand::Sparse(_) => {
                    unreachable!("declined above")
                }
            })
            .collect();
        Ok(Some(Operand::Block(apply_dense(ufunc, &dense)?)))
    }
}

/// Lazy chunked arrays: a new node in the graph.
struct ChunkedKind;

impl ArrayKind for ChunkedKind {
    fn name(&self) -> &str {
        "chunked"
    }
    fn priority(&self) -> i32 {
        10
    }
    fn owns(&self, operand: &Operand) -> bool {
        matches!(operand, Operand::Array(_))
    }
    fn call(&self, ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Option<Operand>> {
        if args
            .iter()
            .any(|a| matches!(a, Operand::Foreign(_) | Operand::Sparse(_)))
        {
            return Ok(None);
        }
        Array::map_chunked(ufunc, args).map(|a| Some(Operand::Array(a)))
    }
}

/// Sparse (COO) arrays: sparse results where the fill value allows, never a silent densify.
struct SparseKind;

impl ArrayKind for SparseKind {
    fn name(&self) -> &str {
        "sparse"
    }
    fn priority(&self) -> i32 {
        20
    }
    fn owns(&self, operand: &Operand) -> bool {
        matches!(operand, Operand::Sparse(_))
    }
    fn call(&self, ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Option<Operand>> {
        use crate::sparse::{elementwise, SparseArg, SparseResult};
        if args.iter().any(|a| matches!(a, Operand::Array(_))) {
            return sparse_with_chunked(ufunc, args).map(Some);
        }
        let mut sparse_args = Vec::with_capacity(args.len());
        for a in args {
            sparse_args.push(match a {
                Operand::Sparse(s) => SparseArg::Sparse(s),
                Operand::Block(b) => SparseArg::Dense(b),
                Operand::Scalar(s) => SparseArg::Scalar(*s),
                Operand::Array(_) | Operand::Foreign(_) => return Ok(None),
            });
        }
        Ok(Some(match elementwise(ufunc, &sparse_args)? {
            SparseResult::Sparse(c) => Operand::Sparse(c),
            SparseResult::Dense(b) => Operand::Block(b),
        }))
    }
}

/// A whole sparse array with a chunked dense one: the result is dense (the sparse side's
/// fill meets every dense element), so the densify policy decides. Allowed, the sparse
/// operands join as dense chunked arrays; refused, the message says how to proceed.
fn sparse_with_chunked(ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Operand> {
    if !crate::sparse::auto_densify() {
        return Err(Error::invalid(format!(
            "ufunc '{}' of a sparse array and a chunked dense array gives a dense result, and \
             the densify policy is off: allow it with dask_sparse_set_auto_densify(true) \
             (Rust: sparse::set_auto_densify), or convert explicitly (dask_array_to_dense on \
             the sparse array, or dask_array_to_sparse on the chunked one)",
            ufunc.name()
        )));
    }
    let converted: Vec<Operand> = args
        .iter()
        .map(|a| match a {
            Operand::Sparse(s) => {
                let dense = s.to_dense()?;
                Ok(Operand::Array(Array::from_buffer(
                    &dense,
                    &super::api::ChunkSpec::Auto,
                )?))
            }
            other => Ok(other.clone()),
        })
        .collect::<Result<_>>()?;
    apply_ufunc(ufunc, &converted)
}

static KINDS: LazyLock<RwLock<Vec<Arc<dyn ArrayKind>>>> = LazyLock::new(|| {
    RwLock::new(vec![
        Arc::new(DenseKind),
        Arc::new(ChunkedKind),
        Arc::new(SparseKind),
    ])
});

/// How a kind registered from outside (C) implements ufuncs: the result, or `Ok(None)` to
/// decline.
pub type ForeignCall = dyn Fn(&Arc<Ufunc>, &[Operand]) -> Result<Option<Operand>> + Send + Sync;

/// Releases an object of a foreign kind (by address) once its last array is gone.
pub type ForeignRelease = dyn Fn(usize) + Send + Sync;

/// An array kind defined outside the library (e.g. registered from C with a vtable).
pub struct ForeignKind {
    pub name: String,
    pub priority: i32,
    pub call: Box<ForeignCall>,
    /// How its objects are let go (None: they need nothing).
    pub release: Option<Arc<ForeignRelease>>,
}

/// An array of a foreign kind: an object the library never looks into.
#[derive(Clone)]
pub struct ForeignArray {
    pub kind: Arc<ForeignKind>,
    pub object: Arc<crate::value::Opaque>,
}

impl std::fmt::Debug for ForeignArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<{} array at {:#x}>",
            self.kind.name,
            self.object.address()
        )
    }
}

impl ForeignArray {
    /// An array of `kind` over `object` (an address the kind understands); the array owns the
    /// object and the kind releases it with the last array.
    pub fn new(kind: &Arc<ForeignKind>, object: usize) -> ForeignArray {
        let release = kind
            .release
            .clone()
            .map(|f| Box::new(move || f(object)) as Box<dyn FnOnce() + Send + Sync>);
        ForeignArray {
            kind: kind.clone(),
            object: crate::value::Opaque::new(object, release),
        }
    }
}

/// Foreign kinds by id, in registration order (ids are what the C ABI hands out).
static FOREIGN_KINDS: RwLock<Vec<Arc<ForeignKind>>> = RwLock::new(Vec::new());

/// The foreign kind with id `id`.
pub fn foreign_kind(id: u32) -> Result<Arc<ForeignKind>> {
    FOREIGN_KINDS
        .read()
        .get(id as usize)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("no array kind with id {id}")))
}

struct ForeignKindImpl(Arc<ForeignKind>);

impl ArrayKind for ForeignKindImpl {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn priority(&self) -> i32 {
        self.0.priority
    }
    fn owns(&self, operand: &Operand) -> bool {
        matches!(operand, Operand::Foreign(f) if Arc::ptr_eq(&f.kind, &self.0))
    }
    fn call(&self, ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Option<Operand>> {
        (self.0.call)(ufunc, args)
    }
}

/// Registers a foreign kind; its arrays are `Operand::Foreign` values of it. Returns its id
/// (see [`foreign_kind`]).
pub fn register_foreign_kind(kind: Arc<ForeignKind>) -> Result<u32> {
    let mut ids = FOREIGN_KINDS.write();
    register_kind(Arc::new(ForeignKindImpl(kind.clone())))?;
    ids.push(kind);
    Ok(ids.len() as u32 - 1)
}

/// Adds an array kind (sparse arrays, kinds registered from C).
pub fn register_kind(kind: Arc<dyn ArrayKind>) -> Result<()> {
    let mut kinds = KINDS.write();
    if kinds.iter().any(|k| k.name() == kind.name()) {
        return Err(Error::AlreadyExists(format!(
            "array kind '{}' exists already",
            kind.name()
        )));
    }
    kinds.push(kind);
    Ok(())
}

/// Applies `ufunc` to `args`, dispatching to the highest-priority kind that implements it.
pub fn apply_ufunc(ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Operand> {
    if args.len() != ufunc.nin() {
        return Err(Error::invalid(format!(
            "ufunc '{}' takes {} inputs, got {}",
            ufunc.name(),
            ufunc.nin(),
            args.len()
        )));
    }
    if ufunc.nout() > 1 {
        return Err(Error::invalid(format!(
            "ufunc '{}' has {} outputs: call it through apply_ufunc_multi \
             (C: dask_ufunc_call_multi)",
            ufunc.name(),
            ufunc.nout()
        )));
    }
    if ufunc.core_signature().is_some() {
        let a = args[0].clone().into_array()?;
        let b = args[1].clone().into_array()?;
        return Ok(Operand::Array(Array::apply_gufunc(ufunc, &a, &b)?));
    }
    let mut kinds: Vec<Arc<dyn ArrayKind>> = KINDS
        .read()
        .iter()
        .filter(|k| args.iter().any(|a| k.owns(a)))
        .cloned()
        .collect();
    if kinds.is_empty() {
        // Scalars only: computed as 0-d blocks.
        let blocks: Vec<Operand> = args
            .iter()
            .map(|a| match a {
                Operand::Scalar(s) => {
                    let d = crate::ufunc::promote::scalar_default_dtype(s.kind());
                    let mut b = Buffer::zeros(d, &[])?;
                    b.as_mut_bytes()?
                        .copy_from_slice(&s.to_element(d)[..d.itemsize()]);
                    Ok(Operand::Block(b))
                }
                other => Ok(other.clone()),
            })
            .collect::<Result<_>>()?;
        return apply_ufunc(ufunc, &blocks);
    }
    kinds.sort_by_key(|k| -k.priority());
    for k in &kinds {
        if let Some(result) = k.call(ufunc, args)? {
            return Ok(result);
        }
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    Err(Error::NotImplemented(format!(
        "ufunc '{}' is not implemented for array kind(s) {}",
        ufunc.name(),
        names.join(", ")
    )))
}

/// Applies a ufunc with any number of outputs (`divmod`, `modf`, `frexp`: one result per
/// output, each computed by the ufunc of that output; a single-output ufunc gives one).
pub fn apply_ufunc_multi(ufunc: &Arc<Ufunc>, args: &[Operand]) -> Result<Vec<Operand>> {
    if ufunc.nout() == 1 {
        return Ok(vec![apply_ufunc(ufunc, args)?]);
    }
    ufunc
        .parts()?
        .iter()
        .map(|part| apply_ufunc(part, args))
        .collect()
}

impl Operand {
    /// The operand as a lazy array (a block or scalar becomes a one-block array).
    pub fn into_array(self) -> Result<Array> {
        match self {
            Operand::Array(a) => Ok(a),
            Operand::Block(b) => Array::from_buffer(
                &b,
                &super::api::ChunkSpec::Explicit(b.shape().iter().map(|&n| vec![n]).collect()),
            ),
            Operand::Scalar(s) => Operand::Block(scalar_block(s)?).into_array(),
            Operand::Foreign(f) => Err(Error::invalid(format!(
                "an array of kind '{}' is not a chunked array",
                f.kind.name
            ))),
            Operand::Sparse(_) => Err(Error::NotImplemented(
                "a sparse array is not a chunked array (convert it with to_dense first)".into(),
            )),
        }
    }

    /// The operand as a dense block, if it is one.
    pub fn into_block(self) -> Result<Buffer> {
        match self {
            Operand::Block(b) => Ok(b),
            Operand::Scalar(s) => scalar_block(s),
            Operand::Foreign(f) => Err(Error::invalid(format!(
                "the result is an array of kind '{}', not a dense block",
                f.kind.name
            ))),
            Operand::Array(_) => Err(Error::invalid(
                "the result is a lazy array: compute it to get a block",
            )),
            Operand::Sparse(_) => Err(Error::invalid(
                "the result is a sparse array: densify it explicitly (to_dense) to get a block",
            )),
        }
    }
}

fn scalar_block(s: crate::value::Scalar) -> Result<Buffer> {
    let d = crate::ufunc::promote::scalar_default_dtype(s.kind());
    let mut b = Buffer::zeros(d, &[])?;
    b.as_mut_bytes()?
        .copy_from_slice(&s.to_element(d)[..d.itemsize()]);
    Ok(b)
}
