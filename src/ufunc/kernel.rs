//! Fused elementwise kernels: a small program of ufunc applications over a block's inputs,
//! evaluated in cache-sized tiles. `sum(exp(x) * 2 + 1)` becomes one program per chunk that
//! reads each element of `x` once and writes no intermediate chunk: every intermediate lives in
//! a tile-sized register that stays in cache.

use super::cast::cast_loop;
use super::nep50::OperandType;
use super::Ufunc;
use crate::error::{Error, Result};
use crate::value::{Buffer, DType, Scalar};
use std::sync::Arc;

/// Elements per tile: 16 KiB of float64 per register keeps a few registers in L1/L2.
pub const TILE: usize = 2048;

/// Where an instruction reads an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Src {
    /// Block input i of the task.
    Input(usize),
    /// Constant i of the program (a scalar already in its dtype).
    Const(usize),
    /// The result of instruction i.
    Reg(usize),
}

/// One step of a program; instruction i writes register i.
#[derive(Debug, Clone)]
pub enum Instr {
    Cast {
        src: Src,
        to: DType,
    },
    Apply {
        ufunc: Arc<Ufunc>,
        lp: usize,
        args: Vec<Src>,
    },
}

/// A fused elementwise program (plain data: it travels as a task parameter).
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub inputs: Vec<DType>,
    pub consts: Vec<(DType, [u8; 8])>,
    pub instrs: Vec<Instr>,
    pub output: Option<Src>,
}

impl Program {
    /// The operands an instruction reads.
    fn operands(instr: &Instr) -> &[Src] {
        match instr {
            Instr::Cast { src, .. } => std::slice::from_ref(src),
            Instr::Apply { args, .. } => args,
        }
    }

    /// Which tile register each instruction writes, and how many registers there are: a
    /// register is reused once the last instruction reading it has run, so a chain of any
    /// length runs in a few registers. An instruction's register differs from those of its
    /// operands (loops never write over their inputs).
    pub fn register_slots(&self) -> (Vec<usize>, usize) {
        let n = self.instrs.len();
        let mut last_use: Vec<Option<usize>> = vec![None; n];
        for (i, instr) in self.instrs.iter().enumerate() {
            for src in Self::operands(instr) {
                if let Src::Reg(k) = *src {
                    last_use[k] = Some(i);
                }
            }
        }
        if let Some(Src::Reg(out)) = self.output {
            last_use[out] = Some(usize::MAX); // the result is read after the program
        }
        let mut slot_of = vec![0usize; n];
        let mut free: Vec<usize> = Vec::new();
        let mut nslots = 0;
        for (i, instr) in self.instrs.iter().enumerate() {
            slot_of[i] = free.pop().unwrap_or_else(|| {
                nslots += 1;
                nslots - 1
            });
            for (j, src) in Self::operands(instr).iter().enumerate() {
                if let Src::Reg(k) = *src {
                    let repeated = Self::operands(instr)[..j].contains(src);
                    if last_use[k] == Some(i) && !repeated {
                        free.push(slot_of[k]);
                    }
                }
            }
            if last_use[i].is_none() {
                free.push(slot_of[i]); // computed but never read
            }
        }
        (slot_of, nslots)
    }

    /// The dtype an operand has.
    pub fn dtype_of(&self, s: Src) -> DType {
        match s {
            Src::Input(i) => self.inputs[i],
            Src::Const(i) => self.consts[i].0,
            Src::Reg(i) => match &self.instrs[i] {
                Instr::Cast { to, .. } => *to,
                Instr::Apply { ufunc, lp, .. } => ufunc.loops()[*lp].output(),
            },
        }
    }

    pub fn out_dtype(&self) -> DType {
        self.dtype_of(self.output.expect("program has an output"))
    }

    /// Sets the output, copying an input or constant into a register if needed (the
    /// evaluator always writes its result from a register).
    pub fn finish(&mut self, out: Src) {
        let out = match out {
            Src::Reg(_) => out,
            other => {
                let dt = self.dtype_of(other);
                self.instrs.push(Instr::Cast { src: other, to: dt });
                Src::Reg(self.instrs.len() - 1)
            }
        };
        self.output = Some(out);
    }

    pub fn add_input(&mut self, dtype: DType) -> Src {
        self.inputs.push(dtype);
        Src::Input(self.inputs.len() - 1)
    }

    pub fn add_const(&mut self, s: Scalar, dtype: DType) -> Src {
        let bytes = s.to_element(dtype);
        if let Some(i) = self.consts.iter().position(|c| *c == (dtype, bytes)) {
            return Src::Const(i);
        }
        self.consts.push((dtype, bytes));
        Src::Const(self.consts.len() - 1)
    }

    /// NumPy computes a float power with the scalar exponent 0.5 as a square root (so
    /// `(-inf) ** 0.5` is NaN and `(-0.0) ** 0.5` is -0.0 there, unlike C's `pow`): the
    /// operand to take the root of when `ufunc(args)` is such a power.
    fn square_root_instead(&self, ufunc: &Ufunc, args: &[Src]) -> Option<Src> {
        if !ufunc.is_builtin() || !matches!(ufunc.name(), "power" | "pow") {
            return None;
        }
        let &[base, Src::Const(k)] = <&[Src; 2]>::try_from(args).ok()? else {
            return None;
        };
        let (d, bytes) = self.consts[k];
        let half = match d {
            DType::Float32 => f32::from_ne_bytes(bytes[..4].try_into().ok()?) == 0.5,
            DType::Float64 => f64::from_ne_bytes(bytes) == 0.5,
            _ => false,
        };
        let float_base = matches!(self.dtype_of(base), DType::Float32 | DType::Float64);
        (half && float_base).then_some(base)
    }

    /// Appends `src` cast to `to` (nothing when it has that dtype already).
    pub fn cast(&mut self, src: Src, to: DType) -> Src {
        if self.dtype_of(src) == to {
            return src;
        }
        self.instrs.push(Instr::Cast { src, to });
        Src::Reg(self.instrs.len() - 1)
    }

    /// Appends `ufunc(args…)`, resolving the loop from the operands' dtypes and casting them
    /// to the loop's input types.
    pub fn apply(&mut self, ufunc: &Arc<Ufunc>, args: &[Src]) -> Result<Src> {
        if let Some(root) = self.square_root_instead(ufunc, args) {
            return self.apply(&super::ufunc("sqrt")?, &[root]);
        }
        let dtypes: Vec<DType> = args.iter().map(|&a| self.dtype_of(a)).collect();
        let lp = ufunc.resolve(&dtypes)?;
        let lp_index = ufunc
            .loops()
            .iter()
            .position(|l| std::ptr::eq(l, lp))
            .expect("resolved loop is in the table");
        let wanted: Vec<DType> = lp.inputs().to_vec();
        let args: Vec<Src> = args
            .iter()
            .zip(wanted)
            .map(|(&a, t)| self.cast(a, t))
            .collect();
        self.instrs.push(Instr::Apply {
            ufunc: ufunc.clone(),
            lp: lp_index,
            args,
        });
        Ok(Src::Reg(self.instrs.len() - 1))
    }
}

/// Receives the program's result tile by tile.
pub trait Sink {
    /// Where the tile starting at element `start` may be written directly (a contiguous
    /// output), if anywhere.
    fn direct(&mut self, _start: usize) -> Option<*mut u8> {
        None
    }
    /// Tile `[start, start+len)` of the result: `data` holds its elements contiguously in
    /// the program's output dtype, 8-byte aligned (empty when it was written through `direct`).
    fn tile(&mut self, data: &[u8], start: usize, len: usize, written_directly: bool);
}

/// How an input block feeds tiles.
enum Feed {
    /// Same shape as the output and C-contiguous: tiles are slices of it.
    Contig(*const u8),
    /// One element, broadcast everywhere.
    Splat(*const u8),
    /// Broadcast or strided: elements are gathered into a scratch tile.
    Gather {
        base: *const u8,
        strides: Vec<isize>,
        scratch: Vec<u64>,
    },
}

/// Byte strides of `b` when broadcast to `shape` (0 on broadcast axes), or an error.
pub fn broadcast_strides(b: &Buffer, shape: &[usize]) -> Result<Vec<isize>> {
    let nd = shape.len();
    if b.ndim() > nd {
        return Err(Error::Shape(format!(
            "cannot broadcast shape {:?} to {shape:?}",
            b.shape()
        )));
    }
    let lead = nd - b.ndim();
    let mut strides = vec![0isize; nd];
    for (k, (&n, &s)) in b.shape().iter().zip(b.strides()).enumerate() {
        let target = shape[lead + k];
        if n == target {
            strides[lead + k] = if n == 1 { 0 } else { s };
        } else if n != 1 {
            return Err(Error::Shape(format!(
                "cannot broadcast shape {:?} to {shape:?}",
                b.shape()
            )));
        }
    }
    Ok(strides)
}

pub use crate::value::block::for_each_run;

fn gather(
    base: *const u8,
    strides: &[isize],
    shape: &[usize],
    isz: usize,
    start: usize,
    len: usize,
    out: *mut u8,
) {
    let nd = shape.len();
    for_each_run(shape, start, start + len, |at, run, idx| {
        let off: isize = idx.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum();
        let inner = if nd == 0 { 0 } else { strides[nd - 1] };
        // SAFETY: offsets come from the buffer's validated shape and strides; `out` has room
        // for the tile.
        unsafe {
            let src = base.offset(off);
            let dst = out.add(at * isz);
            if inner == isz as isize {
                std::ptr::copy_nonoverlapping(src, dst, run * isz);
            } else {
                for j in 0..run {
                    std::ptr::copy_nonoverlapping(
                        src.offset(j as isize * inner),
                        dst.add(j * isz),
                        isz,
                    );
                }
            }
        }
    });
}

/// Evaluates `program` over blocks `inputs` broadcast to `shape`, feeding `sink`.
pub fn eval(
    program: &Program,
    inputs: &[&Buffer],
    shape: &[usize],
    sink: &mut dyn Sink,
) -> Result<()> {
    if inputs.len() != program.inputs.len() {
        return Err(Error::invalid(format!(
            "kernel takes {} blocks, got {}",
            program.inputs.len(),
            inputs.len()
        )));
    }
    let n: usize = shape.iter().product();
    let mut feeds = Vec::with_capacity(inputs.len());
    for (b, &dt) in inputs.iter().zip(&program.inputs) {
        if b.dtype() != dt {
            return Err(Error::DType(format!(
                "kernel input is {}, expected {}",
                b.dtype().name(),
                dt.name()
            )));
        }
        let strides = broadcast_strides(b, shape)?;
        feeds.push(if b.shape() == shape && b.is_c_contiguous() {
            Feed::Contig(b.as_ptr())
        } else if b.len() == 1 {
            Feed::Splat(b.as_ptr())
        } else {
            Feed::Gather {
                base: b.as_ptr(),
                strides,
                scratch: vec![0u64; TILE],
            }
        });
    }
    let out_reg = match program.output {
        Some(Src::Reg(r)) => r,
        _ => {
            return Err(Error::invalid(
                "kernel output must be a register (use Program::finish)",
            ))
        }
    };
    let (slot_of, nslots) = program.register_slots();
    let mut regs: Vec<Vec<u64>> = (0..nslots).map(|_| vec![0u64; TILE]).collect();
    let last_reg = program.instrs.len().checked_sub(1);
    let mut start = 0;
    while start < n {
        let len = TILE.min(n - start);
        let mut input_ptrs: Vec<(*const u8, isize)> = Vec::with_capacity(feeds.len());
        for (f, &dt) in feeds.iter_mut().zip(&program.inputs) {
            let isz = dt.itemsize();
            input_ptrs.push(match f {
                // SAFETY: `start < n` elements of a contiguous block of `n` elements.
                Feed::Contig(p) => (unsafe { p.add(start * isz) }, isz as isize),
                Feed::Splat(p) => (*p, 0),
                Feed::Gather {
                    base,
                    strides,
                    scratch,
                    ..
                } => {
                    gather(
                        *base,
                        strides,
                        shape,
                        isz,
                        start,
                        len,
                        scratch.as_mut_ptr() as *mut u8,
                    );
                    (scratch.as_ptr() as *const u8, isz as isize)
                }
            });
        }
        let mut direct = false;
        for (i, instr) in program.instrs.iter().enumerate() {
            let out_dt = program.dtype_of(Src::Reg(i));
            let out_ptr = match (Some(i) == last_reg && out_reg == i)
                .then(|| sink.direct(start))
                .flatten()
            {
                Some(p) => {
                    direct = true;
                    p
                }
                None => regs[slot_of[i]].as_mut_ptr() as *mut u8,
            };
            let operand = |s: Src| -> (*mut u8, isize) {
                match s {
                    Src::Input(k) => (input_ptrs[k].0 as *mut u8, input_ptrs[k].1),
                    Src::Const(k) => (program.consts[k].1.as_ptr() as *mut u8, 0),
                    Src::Reg(k) => (
                        regs[slot_of[k]].as_ptr() as *mut u8,
                        program.dtype_of(Src::Reg(k)).itemsize() as isize,
                    ),
                }
            };
            match instr {
                Instr::Cast { src, to } => {
                    let (p, step) = operand(*src);
                    let mut args = [p, out_ptr];
                    // SAFETY: `len` elements in and out; registers hold TILE elements.
                    unsafe {
                        cast_loop(program.dtype_of(*src), *to)(
                            &mut args,
                            len,
                            &[step, out_dt.itemsize() as isize],
                            std::ptr::null(),
                        )
                    };
                }
                Instr::Apply { ufunc, lp, args } => {
                    let mut ptrs: Vec<*mut u8> = Vec::with_capacity(args.len() + 1);
                    let mut steps: Vec<isize> = Vec::with_capacity(args.len() + 1);
                    for &a in args {
                        let (p, s) = operand(a);
                        ptrs.push(p);
                        steps.push(s);
                    }
                    ptrs.push(out_ptr);
                    steps.push(out_dt.itemsize() as isize);
                    // SAFETY: operands hold `len` elements of the loop's types (casts were
                    // inserted when the program was built); the output register is distinct.
                    unsafe { ufunc.loops()[*lp].run(&mut ptrs, len, &steps) }
                        .map_err(|e| Error::invalid(format!("{}: {e}", ufunc.name())))?;
                }
            }
        }
        let isz = program.out_dtype().itemsize();
        let data: &[u8] = if direct {
            &[]
        } else {
            // SAFETY: the output register holds TILE u64 slots, of which the first `len`
            // elements of `isz` bytes were just written.
            unsafe {
                std::slice::from_raw_parts(regs[slot_of[out_reg]].as_ptr() as *const u8, len * isz)
            }
        };
        sink.tile(data, start, len, direct);
        start += len;
    }
    Ok(())
}

/// Writes the result into a new C-contiguous block.
pub struct BlockSink {
    pub buffer: Buffer,
    ptr: *mut u8,
    isz: usize,
}

impl BlockSink {
    pub fn new(dtype: DType, shape: &[usize]) -> Result<BlockSink> {
        let mut buffer = Buffer::zeros(dtype, shape)?;
        let ptr = buffer.as_mut_bytes()?.as_mut_ptr();
        Ok(BlockSink {
            buffer,
            ptr,
            isz: dtype.itemsize(),
        })
    }
}

impl Sink for BlockSink {
    fn direct(&mut self, start: usize) -> Option<*mut u8> {
        // SAFETY: `start` is within the block (the evaluator's tiles cover [0, n)).
        Some(unsafe { self.ptr.add(start * self.isz) })
    }
    fn tile(&mut self, data: &[u8], start: usize, len: usize, written_directly: bool) {
        if !written_directly {
            debug_assert_eq!(data.len(), len * self.isz);
            // SAFETY: the block has room for `len` elements from `start`.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.ptr.add(start * self.isz),
                    data.len(),
                )
            };
        }
    }
}

/// Evaluates `program` into a new block of `shape`.
pub fn eval_block(program: &Program, inputs: &[&Buffer], shape: &[usize]) -> Result<Buffer> {
    let mut sink = BlockSink::new(program.out_dtype(), shape)?;
    eval(program, inputs, shape, &mut sink)?;
    Ok(sink.buffer)
}

/// The broadcast shape of `shapes` (NumPy rules), or an error naming them.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let nd = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; nd];
    for s in shapes {
        let lead = nd - s.len();
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[lead + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return Err(Error::Shape(format!(
                    "shapes {:?} cannot be broadcast together",
                    shapes.iter().map(|s| s.to_vec()).collect::<Vec<_>>()
                )));
            }
        }
    }
    Ok(out)
}

/// `b` converted to `dtype` (a new C-contiguous block), or `b` itself when it has that dtype.
pub fn cast_block(b: &Buffer, dtype: DType) -> Result<Buffer> {
    if b.dtype() == dtype {
        return Ok(b.clone());
    }
    let mut p = Program::default();
    let x = p.add_input(b.dtype());
    let y = p.cast(x, dtype);
    p.finish(y);
    eval_block(&p, &[b], b.shape())
}

/// An operand of a ufunc applied to dense blocks at once: a block, or a (weak) scalar.
pub enum DenseArg<'a> {
    Block(&'a Buffer),
    Scalar(Scalar),
}

/// `u(args…)` over dense blocks broadcast together, scalars taking NEP 50's weak dtypes: a
/// one-instruction program evaluated into a new block.
pub fn apply_dense(u: &Arc<Ufunc>, args: &[DenseArg]) -> Result<Buffer> {
    let blocks: Vec<&Buffer> = args
        .iter()
        .filter_map(|a| match a {
            DenseArg::Block(b) => Some(*b),
            DenseArg::Scalar(_) => None,
        })
        .collect();
    let shapes: Vec<&[usize]> = blocks.iter().map(|b| b.shape()).collect();
    let shape = broadcast_shapes(&shapes)?;
    let types: Vec<OperandType> = args
        .iter()
        .map(|a| match a {
            DenseArg::Block(b) => OperandType::Array(b.dtype()),
            DenseArg::Scalar(s) => OperandType::Scalar(*s),
        })
        .collect();
    let dtypes = super::nep50::operand_dtypes(u, &types)?;
    let mut p = Program::default();
    let mut srcs = Vec::with_capacity(args.len());
    for (a, &d) in args.iter().zip(&dtypes) {
        srcs.push(match a {
            DenseArg::Block(b) => p.add_input(b.dtype()),
            DenseArg::Scalar(s) => p.add_const(*s, d),
        });
    }
    let out = p.apply(u, &srcs)?;
    p.finish(out);
    eval_block(&p, &blocks, &shape)
}
