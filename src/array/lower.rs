//! Lowering: a lazy array DAG becomes a task graph, one task per output block (or fewer:
//! elementwise chains fuse).
//!
//! Fusion rule: the blocks of an elementwise node that has a single consumer stay symbolic
//! (an expression over materialised blocks); the consumer inlines them. An elementwise
//! consumer grows the expression; a reduction compiles it into its per-chunk task; anything
//! else materialises it as one `array.fused` task per block, evaluated in cache-sized tiles.

use super::chunks::grid_positions;
use super::create::CreateBlock;
use super::node::{Arg, Array, Op};
use super::ops::{
    AssembleBlock, CumBlock, FinalizeBlock, FusedBlock, Piece, ReduceBlock, ReshapeBlock,
    TensordotBlock, TransposeBlock, OPS,
};
use super::reduce_kernel::ReduceOp;
use crate::error::Result;
use crate::runtime::{Arg as GArg, Graph, OpDef, Operation, Task, TaskId};
use crate::ufunc::kernel::{Program, Src};
use crate::ufunc::{ufunc, Ufunc};
use crate::value::Scalar;
use crate::value::{DType, Value};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

/// A block during lowering: materialised (a task, future or value), or an expression still
/// open to fusion.
#[derive(Clone)]
pub(crate) enum Slot {
    Ready(GArg),
    Fuse(Rc<Expr>),
}

/// An operand's lowered blocks, its shape and dtype.
type Lowered = (Vec<Slot>, Vec<usize>, DType);

pub(crate) enum Expr {
    Leaf {
        arg: GArg,
        dtype: DType,
    },
    Const(Scalar, DType),
    Map {
        ufunc: Arc<Ufunc>,
        args: Vec<Rc<Expr>>,
        /// Operations in this expression (what its compiled program will hold at most).
        size: usize,
    },
    Cast(Rc<Expr>, DType, usize),
}

/// Elementwise operations fused into one kernel at most: a chain longer than this (an
/// iterative algorithm's `x = x + 1` a million times) becomes a chain of kernels of this
/// size, so each task's program and registers stay small and the work stays linear.
pub(crate) const FUSE_LIMIT: usize = 128;

impl Expr {
    fn size(&self) -> usize {
        match self {
            Expr::Leaf { .. } | Expr::Const(..) => 0,
            Expr::Map { size, .. } | Expr::Cast(_, _, size) => *size,
        }
    }

    fn map(ufunc: Arc<Ufunc>, args: Vec<Rc<Expr>>) -> Rc<Expr> {
        let size = 1 + args.iter().map(|a| a.size()).sum::<usize>();
        Rc::new(Expr::Map { ufunc, args, size })
    }

    fn cast(inner: Rc<Expr>, dtype: DType) -> Rc<Expr> {
        let size = 1 + inner.size();
        Rc::new(Expr::Cast(inner, dtype, size))
    }

    /// The sub-expressions, taken out (for the iterative drop).
    fn take_children(&mut self) -> Vec<Rc<Expr>> {
        match self {
            Expr::Map { args, .. } => std::mem::take(args),
            Expr::Cast(inner, ..) => vec![std::mem::replace(
                inner,
                Rc::new(Expr::Const(Scalar::Bool(false), DType::Bool)),
            )],
            _ => Vec::new(),
        }
    }
}

impl Drop for Expr {
    fn drop(&mut self) {
        let mut stack = self.take_children();
        while let Some(e) = stack.pop() {
            if let Some(mut e) = Rc::into_inner(e) {
                stack.extend(e.take_children());
            }
        }
    }
}

fn arg_key(a: &GArg) -> (u8, usize, usize) {
    match a {
        GArg::Task(t) => (0, t.index(), 0),
        GArg::Future(f) => {
            let (p, i) = f.identity();
            (1, p, i)
        }
        GArg::Value(v) => (2, Arc::as_ptr(v) as *const u8 as usize, 0),
        GArg::Key(_) => (3, 0, 0),
    }
}

/// Compiles expressions into a program whose inputs are deduplicated leaves.
pub(crate) struct Compiler {
    pub(crate) program: Program,
    pub(crate) leaves: Vec<GArg>,
    seen: HashMap<(u8, usize, usize), Src>,
}

impl Compiler {
    pub(crate) fn new() -> Compiler {
        Compiler {
            program: Program::default(),
            leaves: Vec::new(),
            seen: HashMap::new(),
        }
    }

    /// Compiles `root` in post-order with an explicit stack (expressions may be deep).
    pub(crate) fn compile(&mut self, root: &Rc<Expr>) -> Result<Src> {
        // Compiled sub-expressions by address: an expression reached twice compiles once.
        let mut done: HashMap<*const Expr, Src> = HashMap::new();
        let mut stack: Vec<(&Rc<Expr>, bool)> = vec![(root, false)];
        while let Some((e, children_done)) = stack.pop() {
            let key = Rc::as_ptr(e);
            if done.contains_key(&key) {
                continue;
            }
            if !children_done {
                stack.push((e, true));
                match &**e {
                    Expr::Map { args, .. } => stack.extend(args.iter().rev().map(|a| (a, false))),
                    Expr::Cast(inner, ..) => stack.push((inner, false)),
                    _ => {}
                }
                continue;
            }
            let src = match &**e {
                Expr::Leaf { arg, dtype } => {
                    let k = arg_key(arg);
                    match self.seen.get(&k) {
                        Some(&s) => s,
                        None => {
                            let s = self.program.add_input(*dtype);
                            self.leaves.push(arg.clone());
                            self.seen.insert(k, s);
                            s
                        }
                    }
                }
                Expr::Const(s, d) => self.program.add_const(*s, *d),
                Expr::Cast(inner, d, _) => {
                    let s = done[&Rc::as_ptr(inner)];
                    self.program.cast(s, *d)
                }
                Expr::Map { ufunc, args, .. } => {
                    let srcs: Vec<Src> = args.iter().map(|a| done[&Rc::as_ptr(a)]).collect();
                    self.program.apply(ufunc, &srcs)?
                }
            };
            done.insert(key, src);
        }
        Ok(done[&Rc::as_ptr(root)])
    }
}

/// Hashes node ids (unique counters) by one multiplication: lowering a million-node chain
/// spends its time on the graph, not on SipHash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// cbindgen:ignore
type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
/// cbindgen:ignore
type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// cbindgen:ignore
pub(crate) struct Lowerer {
    pub(crate) graph: Graph,
    slots: IdMap<Vec<Slot>>,
    users: IdMap<usize>,
}

fn task(op: &'static OpDef, params: Value, args: Vec<GArg>) -> Task {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(GArg::Value(Arc::new(params)));
    all.extend(args);
    Task::new(Operation::Registered(op), all)
}

fn params<P: crate::value::Params>(p: P) -> Value {
    Value::Params(Arc::new(p))
}

use crate::ufunc::nep50::OperandType;

impl Lowerer {
    /// Prepares to lower `roots` (counting how many consumers each node has).
    pub(crate) fn new(roots: &[&Array]) -> Lowerer {
        let mut users: IdMap<usize> = IdMap::default();
        let mut stack: Vec<&Array> = roots.to_vec();
        for r in roots {
            *users.entry(r.node.id).or_default() += 1;
        }
        let mut visited = IdSet::default();
        while let Some(a) = stack.pop() {
            if !visited.insert(a.node.id) {
                continue;
            }
            for input in a.inputs() {
                *users.entry(input.node.id).or_default() += 1;
                stack.push(input);
            }
        }
        Lowerer {
            graph: Graph::new(),
            slots: IdMap::default(),
            users,
        }
    }

    fn add(&mut self, t: Task) -> GArg {
        GArg::Task(self.graph.add(t))
    }

    /// A task that passes the block made by a user operation on, after checking its dtype and
    /// shape (a wrong block must be an error, not memory written out of bounds).
    fn checked(&mut self, block: GArg, dtype: DType, shape: Vec<usize>) -> GArg {
        self.add(task(
            OPS.check,
            params(FinalizeBlock { dtype, shape }),
            vec![block],
        ))
    }

    /// Materialises a slot of a block with `shape`.
    pub(crate) fn materialize(&mut self, slot: &Slot, shape: &[usize]) -> Result<GArg> {
        match slot {
            Slot::Ready(a) => Ok(a.clone()),
            Slot::Fuse(e) => {
                let mut c = Compiler::new();
                let out = c.compile(e)?;
                c.program.finish(out);
                let p = FusedBlock {
                    program: c.program,
                    shape: shape.to_vec(),
                };
                Ok(self.add(task(OPS.fused, params(p), c.leaves)))
            }
        }
    }

    /// The blocks of `a`, materialised.
    pub(crate) fn blocks(&mut self, a: &Array) -> Result<Vec<GArg>> {
        let slots = self.lower(a)?;
        let chunks = a.chunks().clone();
        slots
            .iter()
            .enumerate()
            .map(|(i, s)| self.materialize(s, &chunks.block_shape(&chunks.unravel(i))))
            .collect()
    }

    fn expr_of(slot: &Slot, dtype: DType) -> Rc<Expr> {
        match slot {
            Slot::Fuse(e) => e.clone(),
            Slot::Ready(a) => Rc::new(Expr::Leaf {
                arg: a.clone(),
                dtype,
            }),
        }
    }

    /// Lowers `a` (memoised), returning one slot per block. The nodes below `a` that are not
    /// lowered yet are lowered first, in post-order found with an explicit stack: a chain of
    /// a million operations is a loop here, not a million nested calls.
    pub(crate) fn lower(&mut self, a: &Array) -> Result<Vec<Slot>> {
        if let Some(s) = self.slots.get(&a.node.id) {
            return Ok(s.clone());
        }
        let mut order: Vec<Array> = Vec::new();
        let mut expanded = IdSet::default();
        let mut stack: Vec<(Array, bool)> = vec![(a.clone(), false)];
        while let Some((x, inputs_pushed)) = stack.pop() {
            if inputs_pushed {
                order.push(x);
                continue;
            }
            if self.slots.contains_key(&x.node.id) || !expanded.insert(x.node.id) {
                continue;
            }
            let inputs: Vec<Array> = x.inputs().into_iter().cloned().collect();
            stack.push((x, true));
            for input in inputs.into_iter().rev() {
                if !self.slots.contains_key(&input.node.id) && !expanded.contains(&input.node.id) {
                    stack.push((input, false));
                }
            }
        }
        for x in &order {
            let slots = self.lower_node(x)?;
            self.slots.insert(x.node.id, slots);
        }
        Ok(self.slots[&a.node.id].clone())
    }

    /// Lowers one node whose inputs are lowered already.
    fn lower_node(&mut self, a: &Array) -> Result<Vec<Slot>> {
        let chunks = a.chunks().clone();
        let grid = chunks.grid();
        let shape = chunks.shape();
        let slots: Vec<Slot> = match &a.node.op {
            Op::Blocks(vs) => vs
                .iter()
                .map(|v| Slot::Ready(GArg::Value(v.clone())))
                .collect(),
            Op::Futures(fs) => fs
                .iter()
                .map(|f| Slot::Ready(GArg::Future(f.clone())))
                .collect(),
            Op::Create(spec) => grid_positions(&grid)
                .map(|idx| {
                    let offset: Vec<usize> = idx
                        .iter()
                        .enumerate()
                        .map(|(ax, &i)| chunks.offsets(ax)[i])
                        .collect();
                    let p = CreateBlock {
                        spec: spec.clone(),
                        dtype: a.dtype(),
                        array_shape: shape.clone(),
                        offset,
                        shape: chunks.block_shape(&idx),
                    };
                    Slot::Ready(self.add(task(OPS.create, params(p), vec![])))
                })
                .collect(),
            Op::Map { ufunc, args } => {
                let types: Vec<OperandType> = args
                    .iter()
                    .map(|x| match x {
                        Arg::Array(x) => OperandType::Array(x.dtype()),
                        Arg::Scalar(s) => OperandType::Scalar(*s),
                    })
                    .collect();
                let operand_dtypes = crate::ufunc::nep50::operand_dtypes(ufunc, &types)?;
                let mut per_arg: Vec<Option<Lowered>> = Vec::new();
                for x in args {
                    per_arg.push(match x {
                        Arg::Array(x) => Some((self.lower(x)?, x.shape(), x.dtype())),
                        Arg::Scalar(_) => None,
                    });
                }
                let nd = shape.len();
                grid_positions(&grid)
                    .map(|idx| {
                        let exprs = args
                            .iter()
                            .zip(&per_arg)
                            .zip(&operand_dtypes)
                            .map(|((x, lowered), &d)| match (x, lowered) {
                                (Arg::Scalar(s), _) => Rc::new(Expr::Const(*s, d)),
                                (Arg::Array(x), Some((slots, xshape, dt))) => {
                                    let lead = nd - xshape.len();
                                    let xidx: Vec<usize> = xshape
                                        .iter()
                                        .enumerate()
                                        .map(|(k, &n)| {
                                            if n == 1 && shape[lead + k] != 1 {
                                                0
                                            } else {
                                                idx[lead + k]
                                            }
                                        })
                                        .collect();
                                    Self::expr_of(&slots[x.chunks().ravel(&xidx)], *dt)
                                }
                                _ => unreachable!("arrays are lowered"),
                            })
                            .collect();
                        Slot::Fuse(Expr::map(ufunc.clone(), exprs))
                    })
                    .collect()
            }
            Op::Astype(x) => {
                let xs = self.lower(x)?;
                xs.iter()
                    .map(|s| Slot::Fuse(Expr::cast(Self::expr_of(s, x.dtype()), a.dtype())))
                    .collect()
            }
            Op::Reduce {
                input,
                op,
                axes,
                keepdims,
                split_every,
            } => self.lower_reduce(a, input, *op, axes, *keepdims, *split_every)?,
            Op::ArgReduce { input, max, axis } => self.lower_argreduce(a, input, *max, *axis)?,
            Op::Transpose { input, perm } => {
                let xs = self.blocks(input)?;
                let in_chunks = input.chunks().clone();
                grid_positions(&grid)
                    .map(|idx| {
                        let mut src = vec![0; idx.len()];
                        for (k, &p) in perm.iter().enumerate() {
                            src[p] = idx[k];
                        }
                        let b = xs[in_chunks.ravel(&src)].clone();
                        Slot::Ready(self.add(task(
                            OPS.transpose,
                            params(TransposeBlock { perm: perm.clone() }),
                            vec![b],
                        )))
                    })
                    .collect()
            }
            Op::Assemble {
                input,
                plans,
                drop_axes,
                new_axes,
            } => self.lower_assemble(a, input, plans, drop_axes, new_axes)?,
            Op::Concatenate { inputs, axis } => {
                let mut per_input = Vec::new();
                for x in inputs {
                    per_input.push(self.blocks(x)?);
                }
                grid_positions(&grid)
                    .map(|idx| {
                        let mut k = idx[*axis];
                        let mut which = 0;
                        while k >= inputs[which].chunks().grid()[*axis] {
                            k -= inputs[which].chunks().grid()[*axis];
                            which += 1;
                        }
                        let mut src = idx.clone();
                        src[*axis] = k;
                        Slot::Ready(per_input[which][inputs[which].chunks().ravel(&src)].clone())
                    })
                    .collect()
            }
            Op::Reshape { input } => {
                let xs = self.blocks(input)?;
                xs.into_iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let p = ReshapeBlock {
                            shape: chunks.block_shape(&chunks.unravel(i)),
                        };
                        Slot::Ready(self.add(task(OPS.reshape, params(p), vec![b])))
                    })
                    .collect()
            }
            Op::Tensordot {
                a: x,
                b: y,
                axes_a,
                axes_b,
                split_every,
            } => self.lower_tensordot(a, x, y, axes_a, axes_b, *split_every)?,
            Op::BlockFn { op } => (0..chunks.nblocks())
                .map(|i| -> Result<Slot> {
                    let idx = chunks.unravel(i);
                    let mut meta: Vec<i64> = idx.iter().map(|&k| k as i64).collect();
                    meta.extend(chunks.block_shape(&idx).iter().map(|&n| n as i64));
                    meta.extend(
                        idx.iter()
                            .enumerate()
                            .map(|(ax, &k)| chunks.offsets(ax)[k] as i64),
                    );
                    let meta = crate::value::Buffer::from_vec(meta, &[3, idx.len()])?;
                    let made = self.add(Task::new(
                        Operation::Registered(op),
                        vec![GArg::Value(Arc::new(Value::Buffer(meta)))],
                    ));
                    Ok(Slot::Ready(self.checked(
                        made,
                        a.dtype(),
                        chunks.block_shape(&idx),
                    )))
                })
                .collect::<Result<Vec<_>>>()?,
            Op::MapBlocks { op, inputs } => {
                let mut per_input = Vec::new();
                for x in inputs {
                    per_input.push(self.blocks(x)?);
                }
                (0..chunks.nblocks())
                    .map(|i| {
                        let args = per_input.iter().map(|bs| bs[i].clone()).collect();
                        let made = self.add(Task::new(Operation::Registered(op), args));
                        Slot::Ready(self.checked(
                            made,
                            a.dtype(),
                            chunks.block_shape(&chunks.unravel(i)),
                        ))
                    })
                    .collect()
            }
            Op::Cumulative { input, op, axis } => self.lower_cumulative(input, *op, *axis)?,
            Op::ToSparse { input, fill } => {
                let xs = self.blocks(input)?;
                let p = super::ops::ToSparse { fill: *fill };
                xs.into_iter()
                    .map(|x| Slot::Ready(self.add(task(OPS.to_sparse, params(p.clone()), vec![x]))))
                    .collect()
            }
            Op::ToDense { input } => {
                let xs = self.blocks(input)?;
                xs.into_iter()
                    .map(|x| {
                        Slot::Ready(
                            self.add(Task::new(Operation::Registered(OPS.to_dense), vec![x])),
                        )
                    })
                    .collect()
            }
            Op::Select { input, mask } => {
                let xs = self.blocks(input)?;
                let ms = self.blocks(mask)?;
                let tasks: Vec<GArg> = xs
                    .into_iter()
                    .zip(ms)
                    .map(|(x, m)| {
                        self.add(Task::new(Operation::Registered(OPS.select), vec![x, m]))
                    })
                    .collect();
                tasks.into_iter().map(Slot::Ready).collect()
            }
        };
        // A node several consumers read is materialised once rather than recomputed by each;
        // an expression that reached the fusion limit is materialised so that what builds on
        // it starts a new kernel.
        let shared = self.users.get(&a.node.id).copied().unwrap_or(0) > 1;
        let slots = if slots
            .iter()
            .any(|s| matches!(s, Slot::Fuse(e) if shared || e.size() >= FUSE_LIMIT))
        {
            slots
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    self.materialize(s, &chunks.block_shape(&chunks.unravel(i)))
                        .map(Slot::Ready)
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            slots
        };
        Ok(slots)
    }

    fn lower_reduce(
        &mut self,
        out: &Array,
        input: &Array,
        op: ReduceOp,
        axes: &[bool],
        keepdims: bool,
        split_every: usize,
    ) -> Result<Vec<Slot>> {
        let xs = self.lower(input)?;
        let in_chunks = input.chunks().clone();
        let in_grid = in_chunks.grid();
        let acc_in = op.input_dtype(input.dtype());
        // Per-chunk partials, with the chunk's elementwise work fused in.
        let mut partials = Vec::with_capacity(xs.len());
        for (i, s) in xs.iter().enumerate() {
            let shape = in_chunks.block_shape(&in_chunks.unravel(i));
            let mut c = Compiler::new();
            let e = Self::expr_of(s, input.dtype());
            let src = c.compile(&e)?;
            let src = if op == ReduceOp::CountNonzero {
                let ne = ufunc("not_equal")?;
                let zero = c.program.add_const(Scalar::Int(0), c.program.dtype_of(src));
                c.program.apply(&ne, &[src, zero])?
            } else {
                c.program.cast(src, acc_in)
            };
            c.program.finish(src);
            let p = ReduceBlock {
                program: c.program,
                shape,
                reduced: axes.to_vec(),
                op,
            };
            partials.push(self.add(task(OPS.reduce_block, params(p), c.leaves)));
        }
        // Tree-combine the partials of each output block (chunks along the reduced axes).
        let out_grid: Vec<usize> = in_grid
            .iter()
            .zip(axes)
            .map(|(&g, &r)| if r { 1 } else { g })
            .collect();
        let out_chunks = out.chunks().clone();
        let mut slots = Vec::new();
        for oidx in grid_positions(&out_grid) {
            let red_grid: Vec<usize> = in_grid
                .iter()
                .zip(axes)
                .map(|(&g, &r)| if r { g } else { 1 })
                .collect();
            let mut group: Vec<GArg> = grid_positions(&red_grid)
                .map(|ridx| {
                    let full: Vec<usize> = oidx
                        .iter()
                        .zip(&ridx)
                        .zip(axes)
                        .map(|((&o, &r), &red)| if red { r } else { o })
                        .collect();
                    partials[in_chunks.ravel(&full)].clone()
                })
                .collect();
            while group.len() > 1 {
                group = group
                    .chunks(split_every.max(2))
                    .map(|g| {
                        if g.len() == 1 {
                            g[0].clone()
                        } else {
                            self.add(Task::new(
                                Operation::Registered(OPS.reduce_combine),
                                g.to_vec(),
                            ))
                        }
                    })
                    .collect();
            }
            let final_idx: Vec<usize> = if keepdims {
                oidx.clone()
            } else {
                oidx.iter()
                    .zip(axes)
                    .filter(|(_, &r)| !r)
                    .map(|(&i, _)| i)
                    .collect()
            };
            let p = FinalizeBlock {
                dtype: out.dtype(),
                shape: out_chunks.block_shape(&final_idx),
            };
            slots.push(Slot::Ready(self.add(task(
                OPS.reduce_finalize,
                params(p),
                vec![group.remove(0)],
            ))));
        }
        Ok(slots)
    }

    fn lower_argreduce(
        &mut self,
        out: &Array,
        input: &Array,
        max: bool,
        axis: Option<usize>,
    ) -> Result<Vec<Slot>> {
        let xs = self.blocks(input)?;
        let in_chunks = input.chunks().clone();
        let shape = input.shape();
        let in_grid = in_chunks.grid();
        let reduced: Vec<bool> = (0..shape.len())
            .map(|k| axis.is_none_or(|a| a == k))
            .collect();
        let mut partials = Vec::new();
        for (i, x) in xs.into_iter().enumerate() {
            let idx = in_chunks.unravel(i);
            // A block empty along a reduced axis has no candidate (the other blocks of its
            // group do: the reduced axes are not empty).
            let bshape = in_chunks.block_shape(&idx);
            if bshape.iter().zip(&reduced).any(|(&n, &r)| r && n == 0) {
                partials.push(None);
                continue;
            }
            let offset: Vec<usize> = idx
                .iter()
                .enumerate()
                .map(|(ax, &b)| in_chunks.offsets(ax)[b])
                .collect();
            let p = super::argreduce::ArgBlock {
                max,
                axis,
                offset,
                array_shape: shape.clone(),
            };
            partials.push(Some(self.add(task(OPS.arg_block, params(p), vec![x]))));
        }
        let out_grid: Vec<usize> = in_grid
            .iter()
            .zip(&reduced)
            .map(|(&g, &r)| if r { 1 } else { g })
            .collect();
        let red_grid: Vec<usize> = in_grid
            .iter()
            .zip(&reduced)
            .map(|(&g, &r)| if r { g } else { 1 })
            .collect();
        let mut slots = Vec::new();
        for oidx in grid_positions(&out_grid) {
            let mut group: Vec<GArg> = grid_positions(&red_grid)
                .filter_map(|ridx| {
                    let full: Vec<usize> = oidx
                        .iter()
                        .zip(&ridx)
                        .zip(&reduced)
                        .map(|((&o, &r), &red)| if red { r } else { o })
                        .collect();
                    partials[in_chunks.ravel(&full)].clone()
                })
                .collect();
            while group.len() > 1 {
                group = group
                    .chunks(8)
                    .map(|g| {
                        if g.len() == 1 {
                            g[0].clone()
                        } else {
                            self.add(Task::new(
                                Operation::Registered(OPS.arg_combine),
                                g.to_vec(),
                            ))
                        }
                    })
                    .collect();
            }
            let final_idx: Vec<usize> = oidx
                .iter()
                .zip(&reduced)
                .filter(|(_, &r)| !r)
                .map(|(&i, _)| i)
                .collect();
            let p = FinalizeBlock {
                dtype: DType::Int64,
                shape: out.chunks().block_shape(&final_idx),
            };
            slots.push(Slot::Ready(self.add(task(
                OPS.arg_finalize,
                params(p),
                vec![group.remove(0)],
            ))));
        }
        Ok(slots)
    }

    fn lower_assemble(
        &mut self,
        out: &Array,
        input: &Array,
        plans: &[super::node::AxisPlan],
        _drop_axes: &[usize],
        _new_axes: &[usize],
    ) -> Result<Vec<Slot>> {
        let xs = self.blocks(input)?;
        let in_chunks = input.chunks().clone();
        let plan_grid: Vec<usize> = plans.iter().map(Vec::len).collect();
        let out_chunks = out.chunks().clone();
        let mut slots = Vec::with_capacity(out_chunks.nblocks());
        for (linear, pidx) in grid_positions(&plan_grid).enumerate() {
            let per_axis: Vec<&Vec<super::node::AxisPiece>> = pidx
                .iter()
                .enumerate()
                .map(|(ax, &i)| &plans[ax][i])
                .collect();
            let counts: Vec<usize> = per_axis.iter().map(|p| p.len()).collect();
            let assembled_shape: Vec<usize> = per_axis
                .iter()
                .map(|p| p.iter().map(|x| x.len).sum())
                .collect();
            let mut args: Vec<GArg> = Vec::new();
            let mut arg_of: HashMap<usize, usize> = HashMap::new();
            let mut pieces = Vec::new();
            for cidx in grid_positions(&counts) {
                let mut block = Vec::with_capacity(cidx.len());
                let mut sel = Vec::with_capacity(cidx.len());
                let mut at = Vec::with_capacity(cidx.len());
                for (ax, &c) in cidx.iter().enumerate() {
                    let p = &per_axis[ax][c];
                    block.push(p.block);
                    sel.push((p.start, p.step, p.len));
                    at.push(per_axis[ax][..c].iter().map(|x| x.len).sum());
                }
                let b = in_chunks.ravel(&block);
                let arg = *arg_of.entry(b).or_insert_with(|| {
                    args.push(xs[b].clone());
                    args.len() - 1
                });
                pieces.push(Piece { arg, sel, at });
            }
            let p = AssembleBlock {
                dtype: input.dtype(),
                pieces,
                assembled_shape,
                shape: out_chunks.block_shape(&out_chunks.unravel(linear)),
            };
            slots.push(Slot::Ready(self.add(task(OPS.assemble, params(p), args))));
        }
        Ok(slots)
    }

    fn lower_tensordot(
        &mut self,
        out: &Array,
        x: &Array,
        y: &Array,
        axes_a: &[usize],
        axes_b: &[usize],
        split_every: usize,
    ) -> Result<Vec<Slot>> {
        let xa = self.blocks(x)?;
        let yb = self.blocks(y)?;
        let (xc, yc) = (x.chunks().clone(), y.chunks().clone());
        let free_a: Vec<usize> = (0..x.ndim()).filter(|k| !axes_a.contains(k)).collect();
        let free_b: Vec<usize> = (0..y.ndim()).filter(|k| !axes_b.contains(k)).collect();
        let contracted_grid: Vec<usize> = axes_a.iter().map(|&k| xc.grid()[k]).collect();
        let out_grid = out.chunks().grid();
        let mut slots = Vec::new();
        for oidx in grid_positions(&out_grid) {
            let (ia, ib) = oidx.split_at(free_a.len());
            let mut products = Vec::new();
            for cidx in grid_positions(&contracted_grid) {
                let mut ax = vec![0; x.ndim()];
                for (k, &f) in free_a.iter().enumerate() {
                    ax[f] = ia[k];
                }
                for (k, &c) in axes_a.iter().enumerate() {
                    ax[c] = cidx[k];
                }
                let mut bx = vec![0; y.ndim()];
                for (k, &f) in free_b.iter().enumerate() {
                    bx[f] = ib[k];
                }
                for (k, &c) in axes_b.iter().enumerate() {
                    bx[c] = cidx[k];
                }
                products.push((xa[xc.ravel(&ax)].clone(), yb[yc.ravel(&bx)].clone()));
            }
            // Each task multiplies up to `split_every` block pairs and sums them; the sums
            // are then added in a tree: the contraction streams, chunk by chunk.
            let p = TensordotBlock {
                axes_a: axes_a.to_vec(),
                axes_b: axes_b.to_vec(),
            };
            let mut group: Vec<GArg> = products
                .chunks(split_every.max(1))
                .map(|pairs| {
                    let args = pairs
                        .iter()
                        .flat_map(|(a, b)| [a.clone(), b.clone()])
                        .collect();
                    self.add(task(OPS.tensordot, params(p.clone()), args))
                })
                .collect();
            while group.len() > 1 {
                group = group
                    .chunks(split_every.max(2))
                    .map(|g| {
                        if g.len() == 1 {
                            g[0].clone()
                        } else {
                            self.add(Task::new(Operation::Registered(OPS.add_blocks), g.to_vec()))
                        }
                    })
                    .collect();
            }
            slots.push(Slot::Ready(group.remove(0)));
        }
        Ok(slots)
    }

    fn lower_cumulative(
        &mut self,
        input: &Array,
        op: super::cumulative::CumOp,
        axis: usize,
    ) -> Result<Vec<Slot>> {
        let xs = self.blocks(input)?;
        let chunks = input.chunks().clone();
        let grid = chunks.grid();
        let p = CumBlock { axis, op };
        // An in-order fold (a ufunc's accumulate) scans each block from the previous one's
        // result: only the blocks that start an axis are scanned on their own.
        let in_order = matches!(op, super::cumulative::CumOp::Ufunc(_));
        let local: Vec<GArg> = grid_positions(&grid)
            .zip(xs)
            .map(|(idx, x)| {
                let first = !(0..idx[axis]).any(|k| chunks.axis(axis)[k] > 0);
                if in_order && !first {
                    x
                } else {
                    self.add(task(OPS.cum_block, params(p.clone()), vec![x]))
                }
            })
            .collect();
        let mut result: Vec<Option<GArg>> = vec![None; local.len()];
        for idx in grid_positions(&grid) {
            let i = chunks.ravel(&idx);
            // The running total comes from the nearest earlier block that has elements along
            // the axis (an empty block has no last row to carry).
            let earlier = (0..idx[axis]).rev().find(|&k| chunks.axis(axis)[k] > 0);
            result[i] = Some(if let Some(k) = earlier {
                let mut prev = idx.clone();
                prev[axis] = k;
                let prev = result[chunks.ravel(&prev)]
                    .clone()
                    .expect("earlier block along the axis");
                self.add(task(
                    OPS.cum_carry,
                    params(p.clone()),
                    vec![local[i].clone(), prev],
                ))
            } else {
                local[i].clone()
            });
        }
        Ok(result
            .into_iter()
            .map(|r| Slot::Ready(r.expect("every block")))
            .collect())
    }
}

/// Lowers `roots` into one graph; returns it with each root's materialised blocks.
pub(crate) fn lower_all(roots: &[&Array]) -> Result<(Graph, Vec<Vec<GArg>>)> {
    let mut l = Lowerer::new(roots);
    let mut outs = Vec::new();
    for r in roots {
        outs.push(l.blocks(r)?);
    }
    Ok((l.graph, outs))
}

/// Task ids among `args` (the outputs a graph must compute).
pub(crate) fn task_ids(args: &[GArg]) -> Vec<TaskId> {
    args.iter()
        .filter_map(|a| match a {
            GArg::Task(t) => Some(*t),
            _ => None,
        })
        .collect()
}
