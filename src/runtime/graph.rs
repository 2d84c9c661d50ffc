//! Task graphs: many tasks with keys and dependencies, submitted in one call.
//!
//! Submission lowers a graph: keys are resolved (a missing key is an error), the tasks needed
//! by the requested outputs are found (the rest is culled), cycles are rejected, and the tasks
//! are numbered in a depth-first post-order from the outputs. That order is the priority:
//! each output's inputs are completed before work on the next output starts, which keeps
//! few intermediate results alive at a time (the idea behind Dask's `order`).

use super::progress::ProgressFn;
use super::scheduler::{NodeSpec, SpecInput};
use super::task::{Arg, Task, TaskId};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// A task graph under construction.
#[derive(Default)]
pub struct Graph {
    tasks: Vec<Task>,
    keys: Vec<Option<Arc<str>>>,
    by_key: HashMap<Arc<str>, TaskId>,
    progress: Option<ProgressFn>,
}

/// A graph lowered for execution: nodes in priority order and the outputs' node indices.
pub(crate) struct Plan {
    pub(crate) nodes: Vec<NodeSpec>,
    pub(crate) outputs: Vec<u32>,
    pub(crate) progress: Option<ProgressFn>,
    /// Hold back the run's tasks while this many outputs are finished and held.
    pub(crate) pace: Option<usize>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds an anonymous task; refer to it with the returned id.
    pub fn add(&mut self, task: Task) -> TaskId {
        let id = TaskId(self.tasks.len() as u32);
        self.tasks.push(task);
        self.keys.push(None);
        id
    }

    /// Adds a task under `key`, which other tasks may name in [`Arg::Key`]. Keys are unique.
    pub fn add_keyed(&mut self, key: &str, task: Task) -> Result<TaskId> {
        if self.by_key.contains_key(key) {
            return Err(Error::AlreadyExists(format!(
                "key '{key}' is in the graph already"
            )));
        }
        let key: Arc<str> = key.into();
        let id = self.add(task);
        self.keys[id.index()] = Some(key.clone());
        self.by_key.insert(key, id);
        Ok(id)
    }

    /// The id of the task with `key`.
    pub fn id_of(&self, key: &str) -> Option<TaskId> {
        self.by_key.get(key).copied()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The task with id `id` (graphs are data: they can be inspected before submission).
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.get(id.index())
    }

    /// The key of the task with id `id`, if it has one.
    pub fn key(&self, id: TaskId) -> Option<&str> {
        self.keys.get(id.index()).and_then(|k| k.as_deref())
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Attaches a progress callback (tasks finished, total) to the computation of this graph.
    pub fn set_progress(&mut self, progress: ProgressFn) {
        self.progress = Some(progress);
    }

    /// Removes the progress callback.
    pub fn clear_progress(&mut self) {
        self.progress = None;
    }

    fn describe(&self, i: usize) -> String {
        match &self.keys[i] {
            Some(k) => format!("'{k}'"),
            None => format!("#{i} ({})", self.tasks[i].op.name()),
        }
    }

    /// The dependency of argument `arg` of task `i`, if the argument is one.
    fn dep(&self, i: usize, arg: &Arg) -> Result<Option<usize>> {
        match arg {
            Arg::Task(id) if id.index() < self.tasks.len() => Ok(Some(id.index())),
            Arg::Task(id) => Err(Error::Graph(format!(
                "task {} refers to task #{}, but the graph has {} tasks",
                self.describe(i),
                id.index(),
                self.tasks.len()
            ))),
            Arg::Key(k) => match self.by_key.get(k) {
                Some(id) => Ok(Some(id.index())),
                None => Err(Error::Graph(format!(
                    "task {} depends on missing key '{k}'",
                    self.describe(i)
                ))),
            },
            Arg::Value(_) | Arg::Future(_) => Ok(None),
        }
    }

    /// Validates and orders the graph for computing `outputs`.
    pub(crate) fn lower(self, outputs: &[TaskId]) -> Result<Plan> {
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let n = self.tasks.len();
        let mut color = vec![WHITE; n];
        let mut position = vec![u32::MAX; n];
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for out in outputs {
            let root = out.index();
            if root >= n {
                return Err(Error::Graph(format!(
                    "output #{root} is not a task of this graph ({n} tasks)"
                )));
            }
            if color[root] != WHITE {
                continue;
            }
            color[root] = GREY;
            stack.push((root, 0));
            while let Some(top) = stack.last_mut() {
                let (t, pos) = *top;
                let args = &self.tasks[t].args;
                if pos < args.len() {
                    top.1 += 1;
                    let Some(d) = self.dep(t, &args[pos])? else {
                        continue;
                    };
                    match color[d] {
                        WHITE => {
                            color[d] = GREY;
                            stack.push((d, 0));
                        }
                        GREY => return Err(self.cycle_error(&stack, d)),
                        _ => {}
                    }
                } else {
                    color[t] = BLACK;
                    position[t] = order.len() as u32;
                    order.push(t);
                    stack.pop();
                }
            }
        }

        let mut tasks: Vec<Option<Task>> = self.tasks.into_iter().map(Some).collect();
        let mut nodes = Vec::with_capacity(order.len());
        for &t in &order {
            let task = tasks[t].take().expect("each task is ordered once");
            let inputs = task
                .args
                .into_iter()
                .map(|arg| match arg {
                    Arg::Value(v) => SpecInput::Value(v),
                    Arg::Task(id) => SpecInput::Local(position[id.index()]),
                    Arg::Key(k) => SpecInput::Local(position[self.by_key[&k].index()]),
                    Arg::Future(f) => SpecInput::Extern(f),
                })
                .collect();
            nodes.push(NodeSpec {
                key: self.keys[t].clone(),
                op: task.op,
                inputs,
            });
        }
        Ok(Plan {
            nodes,
            outputs: outputs.iter().map(|o| position[o.index()]).collect(),
            progress: self.progress,
            pace: None,
        })
    }

    fn cycle_error(&self, stack: &[(usize, usize)], back_to: usize) -> Error {
        let start = stack.iter().position(|&(t, _)| t == back_to).unwrap_or(0);
        let mut path: Vec<String> = stack[start..]
            .iter()
            .map(|&(t, _)| self.describe(t))
            .collect();
        path.push(self.describe(back_to));
        Error::Graph(format!(
            "cycle: {} (each depends on the next)",
            path.join(" -> ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Operation;

    fn noop(args: Vec<Arg>) -> Task {
        Task::new(Operation::named("noop").unwrap(), args)
    }

    #[test]
    fn lowering_culls_and_orders_dependencies_first() {
        let mut g = Graph::new();
        let a = g.add_keyed("a", noop(vec![])).unwrap();
        let _unused = g.add_keyed("unused", noop(vec![])).unwrap();
        let b = g.add_keyed("b", noop(vec![Arg::key("a")])).unwrap();
        let c = g.add_keyed("c", noop(vec![a.into(), b.into()])).unwrap();
        let plan = g.lower(&[c]).unwrap();
        let keys: Vec<_> = plan
            .nodes
            .iter()
            .map(|n| n.key.as_deref().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(plan.outputs, [2]);
    }

    #[test]
    fn cycles_and_missing_keys_are_errors() {
        let mut g = Graph::new();
        g.add_keyed("x", noop(vec![Arg::key("y")])).unwrap();
        let y = g.add_keyed("y", noop(vec![Arg::key("x")])).unwrap();
        let err = g.lower(&[y]).err().unwrap().to_string();
        assert!(
            err.contains("cycle") && err.contains("'x'") && err.contains("'y'"),
            "{err}"
        );

        let mut g = Graph::new();
        let z = g.add_keyed("z", noop(vec![Arg::key("nope")])).unwrap();
        let err = g.lower(&[z]).err().unwrap().to_string();
        assert!(err.contains("missing key 'nope'"), "{err}");

        let mut g = Graph::new();
        g.add_keyed("k", noop(vec![])).unwrap();
        assert!(g.add_keyed("k", noop(vec![])).is_err());
    }
}
