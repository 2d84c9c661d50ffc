//! Tasks: an operation plus its arguments, each a value or a dependency.

use super::future::Future;
use super::op::Operation;
use crate::value::Value;
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
