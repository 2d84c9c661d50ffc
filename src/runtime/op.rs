//! Operations: the "what" of a task, referenced by id so that a graph stays plain data.
//!
//! The registry is process-wide and append-only: an operation, once registered, lives for the
//! rest of the process, which lets tasks hold `&'static OpDef` with no reference counting on
//! the hot path. Built-ins are registered on first use; hosts add C functions through the C ABI.

use crate::error::{Error, Result};
use crate::value::Value;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// What an operation computes: inputs in, one value out, or an error message.
pub type OpFn = dyn Fn(&[Arc<Value>]) -> std::result::Result<Arc<Value>, String> + Send + Sync;

/// Stable identifier of a registered operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(pub u32);

/// A registered operation.
pub struct OpDef {
    id: OpId,
    name: String,
    host_affine: bool,
    /// One of the library's own operations (every process that links the library has it,
    /// under the same name), not one a host registered.
    library: bool,
    func: Box<OpFn>,
}

impl OpDef {
    pub fn id(&self) -> OpId {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Host-affine operations run on the host's own thread (inside its waits and polls),
    /// never on pool threads: that is how Julia and R functions join graphs.
    pub fn is_host_affine(&self) -> bool {
        self.host_affine
    }
    /// True for the library's own operations (array, sparse, runtime built-ins): they exist
    /// under the same name in every process, so their tasks can run anywhere.
    pub fn is_library(&self) -> bool {
        self.library
    }
    pub(crate) fn call(&self, inputs: &[Arc<Value>]) -> std::result::Result<Arc<Value>, String> {
        (self.func)(inputs)
    }
}

impl std::fmt::Debug for OpDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpDef({}: {})", self.id.0, self.name)
    }
}

struct Registry {
    ops: Vec<&'static OpDef>,
    by_name: HashMap<String, OpId>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(|| {
    let mut registry = Registry {
        ops: Vec::new(),
        by_name: HashMap::new(),
    };
    for (name, func) in builtins() {
        registry
            .insert(name.to_string(), false, true, func)
            .expect("built-in names are unique");
    }
    RwLock::new(registry)
});

impl Registry {
    fn insert(
        &mut self,
        name: String,
        host_affine: bool,
        library: bool,
        func: Box<OpFn>,
    ) -> Result<OpId> {
        if name.is_empty() {
            return Err(Error::invalid("operation name is empty"));
        }
        if self.by_name.contains_key(&name) {
            return Err(Error::AlreadyExists(format!(
                "operation '{name}' is registered already"
            )));
        }
        let id = OpId(self.ops.len() as u32);
        let def: &'static OpDef = Box::leak(Box::new(OpDef {
            id,
            name: name.clone(),
            host_affine,
            library,
            func,
        }));
        self.ops.push(def);
        self.by_name.insert(name, id);
        Ok(id)
    }
}

/// Registers one of the library's own operations and returns its definition (modules such as
/// `array` register theirs on first use).
pub(crate) fn register_builtin<F>(name: &str, func: F) -> &'static OpDef
where
    F: Fn(&[Arc<Value>]) -> std::result::Result<Arc<Value>, String> + Send + Sync + 'static,
{
    let mut registry = REGISTRY.write();
    let id = registry
        .insert(name.to_string(), false, true, Box::new(func))
        .expect("library operation names are unique");
    registry.ops[id.0 as usize]
}

/// Registers an operation under a new, unique name.
pub fn register_op<F>(name: &str, host_affine: bool, func: F) -> Result<OpId>
where
    F: Fn(&[Arc<Value>]) -> std::result::Result<Arc<Value>, String> + Send + Sync + 'static,
{
    REGISTRY
        .write()
        .insert(name.to_string(), host_affine, false, Box::new(func))
}

/// The names of the library's own operations registered so far (see
/// [`OpDef::is_library`]), sorted.
pub fn library_op_names() -> Vec<String> {
    let mut names: Vec<String> = REGISTRY
        .read()
        .ops
        .iter()
        .filter(|d| d.library)
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names
}

/// How many operations are registered (the registry only grows, so operations registered
/// later are named by [`op_names_since`]).
pub fn op_count() -> usize {
    REGISTRY.read().ops.len()
}

/// The names of the operations registered after the first `n`.
pub fn op_names_since(n: usize) -> Vec<String> {
    REGISTRY
        .read()
        .ops
        .iter()
        .skip(n)
        .map(|d| d.name.clone())
        .collect()
}

/// The operation registered under `name`.
pub fn lookup_op(name: &str) -> Result<&'static OpDef> {
    let registry = REGISTRY.read();
    registry
        .by_name
        .get(name)
        .map(|id| registry.ops[id.0 as usize])
        .ok_or_else(|| Error::NotFound(format!("no operation named '{name}'")))
}

/// The operation with id `id`.
pub fn op_by_id(id: OpId) -> Result<&'static OpDef> {
    REGISTRY
        .read()
        .ops
        .get(id.0 as usize)
        .copied()
        .ok_or_else(|| Error::NotFound(format!("no operation with id {}", id.0)))
}

/// The operation of a task: a registered one (plain data: inspectable, fusable, sendable to
/// remote workers), or a Rust closure, a local-only convenience.
#[derive(Clone)]
pub enum Operation {
    Registered(&'static OpDef),
    Local { func: Arc<OpFn>, host_affine: bool },
}

impl Operation {
    /// The registered operation named `name`.
    pub fn named(name: &str) -> Result<Operation> {
        lookup_op(name).map(Operation::Registered)
    }

    /// A closure run on the pool (local-only: it cannot travel to remote workers).
    pub fn local<F>(func: F) -> Operation
    where
        F: Fn(&[Arc<Value>]) -> std::result::Result<Arc<Value>, String> + Send + Sync + 'static,
    {
        Operation::Local {
            func: Arc::new(func),
            host_affine: false,
        }
    }

    /// A closure run on the host thread (see [`OpDef::is_host_affine`]).
    pub fn local_host<F>(func: F) -> Operation
    where
        F: Fn(&[Arc<Value>]) -> std::result::Result<Arc<Value>, String> + Send + Sync + 'static,
    {
        Operation::Local {
            func: Arc::new(func),
            host_affine: true,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Operation::Registered(def) => def.name(),
            Operation::Local { .. } => "local",
        }
    }

    pub fn is_host_affine(&self) -> bool {
        match self {
            Operation::Registered(def) => def.host_affine,
            Operation::Local { host_affine, .. } => *host_affine,
        }
    }

    pub(crate) fn call(&self, inputs: &[Arc<Value>]) -> std::result::Result<Arc<Value>, String> {
        match self {
            Operation::Registered(def) => def.call(inputs),
            Operation::Local { func, .. } => func(inputs),
        }
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

type Builtin = (&'static str, Box<OpFn>);

/// The runtime's own operations. Array, sparse and other modules add theirs as they land.
fn builtins() -> Vec<Builtin> {
    vec![
        // Does nothing: the unit of scheduling overhead in benchmarks and a join point in graphs.
        (
            "noop",
            Box::new(|_: &[Arc<Value>]| Ok(Arc::new(Value::None))),
        ),
        // Returns its first input unchanged (shared, not copied).
        (
            "identity",
            Box::new(|inputs: &[Arc<Value>]| {
                inputs
                    .first()
                    .cloned()
                    .ok_or_else(|| "identity takes one input".to_string())
            }),
        ),
        // Sums numeric scalars: ints stay ints (wrapping on overflow), any float makes a float.
        (
            "sum",
            Box::new(|inputs: &[Arc<Value>]| sum_scalars(inputs).map(Arc::new)),
        ),
    ]
}

fn sum_scalars(inputs: &[Arc<Value>]) -> std::result::Result<Value, String> {
    let mut int_sum = 0i64;
    let mut float_sum = 0f64;
    let mut any_float = false;
    for (i, v) in inputs.iter().enumerate() {
        match **v {
            Value::Float(x) => {
                any_float = true;
                float_sum += x;
            }
            Value::Int(_) | Value::Bool(_) => {
                int_sum = int_sum.wrapping_add(v.as_i64().unwrap_or(0))
            }
            _ => return Err(format!("sum: input {i} is {}, not a number", v.kind_name())),
        }
    }
    Ok(if any_float {
        Value::Float(float_sum + int_sum as f64)
    } else {
        Value::Int(int_sum)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_unique_and_builtins_exist() {
        assert_eq!(lookup_op("noop").unwrap().name(), "noop");
        let id = register_op("op-test-unique", false, |_| Ok(Arc::new(Value::Int(7)))).unwrap();
        assert_eq!(op_by_id(id).unwrap().name(), "op-test-unique");
        assert!(matches!(
            register_op("op-test-unique", false, |_| Ok(Arc::new(Value::None))),
            Err(Error::AlreadyExists(_))
        ));
        assert!(matches!(lookup_op("no-such-op"), Err(Error::NotFound(_))));
    }

    #[test]
    fn sum_keeps_ints_and_rejects_non_numbers() {
        let ints = [Arc::new(Value::Int(2)), Arc::new(Value::Int(3))];
        assert!(matches!(sum_scalars(&ints), Ok(Value::Int(5))));
        let mixed = [Arc::new(Value::Int(2)), Arc::new(Value::Float(0.5))];
        assert!(matches!(sum_scalars(&mixed), Ok(Value::Float(x)) if x == 2.5));
        assert!(sum_scalars(&[Arc::new(Value::from("x"))]).is_err());
    }
}
