//! Tasks: an operation plus its arguments, each a value or a dependency.

use super::op::{lookup_op, Operation};
use super::scheduler::Future;
use crate::error::{Error, Result};
use crate::protocol::{WireArg, WireTask};
use crate::value::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Index of a task within its [`Graph`](super::Graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(pub(crate) u32);

impl TaskId {
    /// Position of the task in the graph, in insertion order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One argument of a task.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A literal value, shared (not copied) with the task.
    Value(Arc<Value>),
    /// The result of another task of the same graph, by id.
    Task(TaskId),
    /// The result of another task of the same graph, by key (resolved at submission; a
    /// missing key is an error before anything runs).
    Key(Arc<str>),
    /// The result of an earlier submission (scattered data, a previous graph's output).
    Future(Future),
}

impl Arg {
    /// A literal argument.
    pub fn value(v: impl Into<Value>) -> Arg {
        Arg::Value(Arc::new(v.into()))
    }

    /// A dependency on the task with key `key`.
    pub fn key(key: &str) -> Arg {
        Arg::Key(key.into())
    }
}

impl From<TaskId> for Arg {
    fn from(id: TaskId) -> Self {
        Arg::Task(id)
    }
}

impl From<&Future> for Arg {
    fn from(f: &Future) -> Self {
        Arg::Future(f.clone())
    }
}

/// An operation applied to arguments.
#[derive(Debug, Clone)]
pub struct Task {
    pub(crate) op: Operation,
    pub(crate) args: Vec<Arg>,
}

impl Task {
    pub fn new(op: Operation, args: Vec<Arg>) -> Task {
        Task { op, args }
    }

    pub fn op(&self) -> &Operation {
        &self.op
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }
}

impl Task {
    /// The task as a message for another process, under `key`. Operations travel by name
    /// (a Rust closure cannot travel: register it with `register_op`); arguments that are
    /// other tasks of the graph travel as their keys (`key_of`), values as themselves. A
    /// future of this process cannot travel (its value would have to be sent instead).
    pub fn to_wire(
        &self,
        key: &str,
        key_of: impl Fn(TaskId) -> Option<String>,
    ) -> Result<WireTask> {
        let op = match &self.op {
            Operation::Registered(def) => def.name().to_string(),
            Operation::Local { .. } => {
                return Err(Error::NotImplemented(format!(
                    "task '{key}' runs a Rust closure, which cannot travel to another process \
                     (register it as an operation with a name)"
                )))
            }
        };
        let args = self
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| match a {
                Arg::Value(v) => Ok(WireArg::Value(v.clone())),
                Arg::Key(k) => Ok(WireArg::Key(k.to_string())),
                Arg::Task(t) => key_of(*t).map(WireArg::Key).ok_or_else(|| {
                    Error::invalid(format!(
                        "argument {i} of task '{key}' is task #{} of the graph, which has no key",
                        t.index()
                    ))
                }),
                Arg::Future(f) => Err(Error::NotImplemented(format!(
                    "argument {i} of task '{key}' is the future '{}' of this process: send its \
                     value instead",
                    f.key()
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(WireTask {
            key: key.to_string(),
            op,
            args,
        })
    }

    /// A task from a message: the operation is looked up by name in this process (the
    /// library's own need `crate::catalog::ensure()` first), keys become key arguments.
    pub fn from_wire(w: &WireTask) -> Result<Task> {
        let op = Operation::Registered(lookup_op(&w.op)?);
        let args = w
            .args
            .iter()
            .map(|a| match a {
                WireArg::Value(v) => Arg::Value(v.clone()),
                WireArg::Key(k) => Arg::Key(k.as_str().into()),
            })
            .collect();
        Ok(Task { op, args })
    }
}

/// Runs a task that arrived as a message, all of whose arguments are values, on the calling
/// thread: what a worker does with a task it was sent. A panic in the operation is an
/// error, as in a pool.
pub fn run_wire_task(w: &WireTask) -> Result<Arc<Value>> {
    let task = Task::from_wire(w)?;
    let inputs = task
        .args
        .iter()
        .map(|a| match a {
            Arg::Value(v) => Ok(v.clone()),
            _ => Err(Error::invalid(format!(
                "task '{}' needs the result of another task; run it where that is",
                w.key
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    let failed = |msg: String| Error::Task(crate::error::TaskError::failed(w.key.clone(), msg));
    match catch_unwind(AssertUnwindSafe(|| task.op.call(&inputs))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(msg)) => Err(failed(msg)),
        Err(p) => Err(failed(format!(
            "panicked: {}",
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        ))),
    }
}
