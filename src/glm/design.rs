//! The data of a fit, persisted once as row blocks (X with its columns in one chunk, y and
//! the weights chunked like X's rows), and the passes over it: each a graph of one task per
//! block, tree-reduced, so a pass runs on whatever the client runs on (the local pool, or a
//! cluster) and spills like any other work.

use super::kernel::{sample_ranges, PassSpec, Stats, Want};
use super::ops::{Coefs, Labels, LocalParams, PassParams, OPS};
use crate::array::{Array, ChunkSpec};
use crate::error::{Error, Result};
use crate::runtime::{Arg, Client, Future, Graph, Operation, Task, TaskId};
use crate::value::{DType, Params, Value};
use std::sync::Arc;

/// Inputs per tree-reduction task.
const FAN_IN: usize = 8;

/// X, y and the weights as persisted blocks.
pub struct Design {
    client: Client,
    x: Vec<Future>,
    y: Vec<Future>,
    w: Option<Vec<Future>>,
    /// First row of each block.
    row0: Vec<usize>,
    pub n_rows: usize,
    pub n_cols: usize,
}

fn rows_like(a: &Array, rows: &[usize], what: &str, n: usize) -> Result<Array> {
    if a.ndim() != 1 || a.shape()[0] != n {
        return Err(Error::Shape(format!(
            "{what} has shape {:?}; X has {n} rows, so {what} must have shape ({n},)",
            a.shape()
        )));
    }
    a.astype(DType::Float64)
        .rechunk(&ChunkSpec::Explicit(vec![rows.to_vec()]))
}

impl Design {
    /// Checks the shapes and persists the blocks on `client`.
    pub fn new(client: &Client, x: &Array, y: &Array, w: Option<&Array>) -> Result<Design> {
        if x.ndim() != 2 {
            return Err(Error::Shape(format!(
                "X must be 2-d (rows, columns), not of shape {:?}",
                x.shape()
            )));
        }
        let (n, p) = (x.shape()[0], x.shape()[1]);
        if n == 0 || p == 0 {
            return Err(Error::Shape(format!(
                "X of shape {:?} has no data",
                x.shape()
            )));
        }
        let rows = x.chunks().axis(0).to_vec();
        let xs = x
            .astype(DType::Float64)
            .rechunk(&ChunkSpec::Explicit(vec![rows.clone(), vec![p]]))?;
        // Dense blocks laid out row by row once, as they are persisted (sparse ones are
        // grouped by row already). Blocks the caller persisted are used as they are: a copy
        // would be a second stored value of the same data, counted twice against the memory
        // limit (a strided one is copied per pass instead: see `kernel::dense_rows`).
        let xs = if x.is_sparse() || xs.is_computed() {
            xs
        } else {
            Array::map_blocks(OPS.rows, &[xs], DType::Float64, None)?
        };
        let ys = rows_like(y, &rows, "y", n)?;
        let ws = w
            .map(|w| rows_like(w, &rows, "sample_weight", n))
            .transpose()?;
        let persist =
            |a: &Array| -> Result<Vec<Future>> { a.persist(client)?.submit_blocks(client) };
        let row0 = rows
            .iter()
            .scan(0, |at, &r| {
                let s = *at;
                *at += r;
                Some(s)
            })
            .collect();
        Ok(Design {
            client: client.clone(),
            x: persist(&xs)?,
            y: persist(&ys)?,
            w: ws.as_ref().map(persist).transpose()?,
            row0,
            n_rows: n,
            n_cols: p,
        })
    }

    /// Spill activity so far on the client (values written out plus values read back): a
    /// warm start's sample passes must not make blocks travel to and from disk.
    pub fn spill_traffic(&self) -> (usize, u64) {
        let m = self.client.memory_stats();
        (m.spilled_values, m.spill_count + m.unspill_count)
    }

    /// Rows a pass with `stride` and `phase` reads (see `kernel::sample_ranges`).
    pub fn sampled_rows(&self, stride: usize, phase: usize) -> usize {
        let ends = self.row0.iter().skip(1).chain([&self.n_rows]);
        self.row0
            .iter()
            .zip(ends)
            .map(|(&a, &b)| {
                sample_ranges(b - a, stride, phase)
                    .map(|r| r.len())
                    .sum::<usize>()
            })
            .sum()
    }

    pub fn blocks(&self) -> usize {
        self.x.len()
    }

    fn inputs(&self, i: usize, params: Arc<dyn Params>) -> Vec<Arg> {
        let mut args = vec![
            Arg::Value(Arc::new(Value::Params(params))),
            Arg::Future(self.x[i].clone()),
            Arg::Future(self.y[i].clone()),
        ];
        if let Some(w) = &self.w {
            args.push(Arg::Future(w[i].clone()));
        }
        args
    }

    /// Adds the tree that reduces `ids` with `op` and returns its root.
    fn tree(g: &mut Graph, mut ids: Vec<TaskId>, op: &'static crate::runtime::OpDef) -> TaskId {
        while ids.len() > 1 {
            ids = ids
                .chunks(FAN_IN)
                .map(|c| {
                    g.add(Task::new(
                        Operation::Registered(op),
                        c.iter().map(|&t| Arg::Task(t)).collect(),
                    ))
                })
                .collect();
        }
        ids[0]
    }

    fn run(&self, g: Graph, out: TaskId) -> Result<Arc<Value>> {
        let f = self.client.compute(g, &[out])?;
        f[0].result()
    }

    /// The stats of every row at `spec.beta` (`spec.row0` is set per block).
    pub fn pass(&self, spec: &PassSpec) -> Result<Stats> {
        let mut g = Graph::new();
        let ids = (0..self.blocks())
            .map(|i| {
                let s = PassSpec {
                    row0: self.row0[i],
                    ..spec.clone()
                };
                g.add(Task::new(
                    Operation::Registered(OPS.pass),
                    self.inputs(i, Arc::new(PassParams(s))),
                ))
            })
            .collect();
        let root = Self::tree(&mut g, ids, OPS.combine);
        let v = self.run(g, root)?;
        v.params::<Stats>()
            .cloned()
            .ok_or_else(|| Error::invalid("a GLM pass returned something other than stats"))
    }

    /// ADMM's block step on every block: block `i` starts from `starts[i]` towards
    /// `targets[i]`.
    pub fn admm_local(
        &self,
        spec: &PassSpec,
        scale: f64,
        rho: f64,
        starts: &[Vec<f64>],
        targets: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>> {
        let mut g = Graph::new();
        let ids: Vec<TaskId> = (0..self.blocks())
            .map(|i| {
                let p = LocalParams {
                    pass: PassSpec {
                        beta: starts[i].clone(),
                        row0: self.row0[i],
                        want: Want::Hessian,
                        ..spec.clone()
                    },
                    scale,
                    rho,
                    target: targets[i].clone(),
                };
                g.add(Task::new(
                    Operation::Registered(OPS.admm_local),
                    self.inputs(i, Arc::new(p)),
                ))
            })
            .collect();
        let fs = self.client.compute(g, &ids)?;
        fs.iter()
            .map(|f| {
                f.result()?
                    .params::<Coefs>()
                    .map(|c| c.0.clone())
                    .ok_or_else(|| Error::invalid("an ADMM block step returned no coefficients"))
            })
            .collect()
    }

    /// The distinct values of y, sorted (at most `ops::MAX_LABELS`).
    pub fn labels(&self) -> Result<Vec<f64>> {
        let mut g = Graph::new();
        let ids = self
            .y
            .iter()
            .map(|y| {
                g.add(Task::new(
                    Operation::Registered(OPS.labels),
                    vec![Arg::Future(y.clone())],
                ))
            })
            .collect();
        let root = Self::tree(&mut g, ids, OPS.labels_combine);
        let v = self.run(g, root)?;
        v.params::<Labels>()
            .map(|l| l.0.clone())
            .ok_or_else(|| Error::invalid("the labels pass returned no labels"))
    }
}
