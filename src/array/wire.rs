//! How the parameters of array tasks travel: each parameter type's stable tag, its encoding
//! and its decoder. Programs are described as data — ufuncs by name, loops by their dtype
//! signature — so a fused kernel decoded in another process resolves to the same loops; a
//! decoded program is checked (operands in range, each loop fed its own dtypes) before it
//! can reach a kernel.

use super::argreduce::{ArgBlock, ArgPartial};
use super::create::{CreateBlock, CreateSpec};
use super::ops::{
    AssembleBlock, CumBlock, FinalizeBlock, FusedBlock, Piece, ReduceBlock, ReshapeBlock,
    TensordotBlock, ToSparse, TransposeBlock,
};
use super::reduce_kernel::{Partial, ReduceOp, UfuncRef};
use crate::error::Result;
use crate::ufunc::kernel::{Instr, Program, Src};
use crate::value::Scalar;
use crate::value::{register_params, Buffer, DType, Params, ParamsReader, ParamsWriter};
use std::sync::Arc;

// ---- shared pieces ------------------------------------------------------------------------

fn scalar(w: &mut ParamsWriter, s: Scalar) {
    match s {
        Scalar::Bool(b) => {
            w.u8(0);
            w.bool(b)
        }
        Scalar::Int(i) => {
            w.u8(1);
            w.i64(i)
        }
        Scalar::Float(x) => {
            w.u8(2);
            w.f64(x)
        }
    }
}

fn read_scalar(r: &mut ParamsReader) -> Result<Scalar> {
    Ok(match r.u8()? {
        0 => Scalar::Bool(r.bool()?),
        1 => Scalar::Int(r.i64()?),
        2 => Scalar::Float(r.f64()?),
        k => return Err(r.corrupt(format!("scalar kind {k}"))),
    })
}

fn reduce_op(w: &mut ParamsWriter, op: ReduceOp) {
    let code = match op {
        ReduceOp::Sum => 0,
        ReduceOp::Prod => 1,
        ReduceOp::Min => 2,
        ReduceOp::Max => 3,
        ReduceOp::Any => 4,
        ReduceOp::All => 5,
        ReduceOp::CountNonzero => 6,
        ReduceOp::Mean => 7,
        ReduceOp::Var { .. } => 8,
        ReduceOp::Std { .. } => 9,
        ReduceOp::Ufunc(_) => 10,
    };
    w.u8(code);
    match op {
        ReduceOp::Var { ddof } | ReduceOp::Std { ddof } => w.f64(ddof),
        // By name: the ufunc table's order is this process's own.
        ReduceOp::Ufunc(u) => w.str(u.ufunc().name()),
        _ => {}
    }
}

fn read_reduce_op(r: &mut ParamsReader) -> Result<ReduceOp> {
    Ok(match r.u8()? {
        0 => ReduceOp::Sum,
        1 => ReduceOp::Prod,
        2 => ReduceOp::Min,
        3 => ReduceOp::Max,
        4 => ReduceOp::Any,
        5 => ReduceOp::All,
        6 => ReduceOp::CountNonzero,
        7 => ReduceOp::Mean,
        8 => ReduceOp::Var { ddof: r.f64()? },
        9 => ReduceOp::Std { ddof: r.f64()? },
        10 => {
            let name = r.str()?;
            ReduceOp::Ufunc(UfuncRef::of(&crate::ufunc::ufunc(name)?)?)
        }
        k => return Err(r.corrupt(format!("reduction code {k}"))),
    })
}

fn src(w: &mut ParamsWriter, s: Src) {
    let (kind, i) = match s {
        Src::Input(i) => (0, i),
        Src::Const(i) => (1, i),
        Src::Reg(i) => (2, i),
    };
    w.u8(kind);
    w.usize(i);
}

fn read_src(r: &mut ParamsReader) -> Result<Src> {
    let kind = r.u8()?;
    let i = r.usize()?;
    Ok(match kind {
        0 => Src::Input(i),
        1 => Src::Const(i),
        2 => Src::Reg(i),
        k => return Err(r.corrupt(format!("operand kind {k}"))),
    })
}

/// A fused program: inputs' dtypes, constants, instructions (ufunc applications by ufunc name
/// and loop signature, casts), output.
fn program(w: &mut ParamsWriter, p: &Program) {
    w.usize(p.inputs.len());
    p.inputs.iter().for_each(|&d| w.dtype(d));
    w.usize(p.consts.len());
    for (d, bytes) in &p.consts {
        w.dtype(*d);
        w.u64(u64::from_ne_bytes(*bytes));
    }
    w.usize(p.instrs.len());
    for instr in &p.instrs {
        match instr {
            Instr::Cast { src: s, to } => {
                w.u8(0);
                src(w, *s);
                w.dtype(*to);
            }
            Instr::Apply { ufunc, lp, args } => {
                w.u8(1);
                w.str(ufunc.name());
                let lp = &ufunc.loops()[*lp];
                w.usize(lp.inputs().len() + 1);
                lp.inputs().iter().for_each(|&d| w.dtype(d));
                w.dtype(lp.output());
                w.usize(args.len());
                args.iter().for_each(|&a| src(w, a));
            }
        }
    }
    match p.output {
        Some(s) => {
            w.bool(true);
            src(w, s)
        }
        None => w.bool(false),
    }
}

fn read_program(r: &mut ParamsReader) -> Result<Program> {
    let mut p = Program::default();
    let n = r.count()?;
    for _ in 0..n {
        p.inputs.push(r.dtype()?);
    }
    let n = r.count()?;
    for _ in 0..n {
        let d = r.dtype()?;
        p.consts.push((d, r.u64()?.to_ne_bytes()));
    }
    let n = r.count()?;
    for i in 0..n {
        let instr = match r.u8()? {
            0 => {
                let s = read_src(r)?;
                check_src(r, &p, s, i)?;
                Instr::Cast {
                    src: s,
                    to: r.dtype()?,
                }
            }
            1 => {
                let name = r.str()?;
                let ufunc = crate::ufunc::ufunc(name)?;
                let ntypes = r.count()?;
                let types = (0..ntypes)
                    .map(|_| r.dtype())
                    .collect::<Result<Vec<DType>>>()?;
                let lp = ufunc
                    .loops()
                    .iter()
                    .position(|l| {
                        l.inputs().len() + 1 == types.len()
                            && l.inputs() == &types[..types.len() - 1]
                            && l.output() == types[types.len() - 1]
                    })
                    .ok_or_else(|| {
                        r.corrupt(format!(
                            "ufunc '{name}' has no loop for {:?} in this process",
                            types.iter().map(|d| d.name()).collect::<Vec<_>>()
                        ))
                    })?;
                let nargs = r.count()?;
                let args = (0..nargs)
                    .map(|_| read_src(r))
                    .collect::<Result<Vec<Src>>>()?;
                if args.len() != ufunc.nin() {
                    return Err(
                        r.corrupt(format!("ufunc '{name}' applied to {} operands", args.len()))
                    );
                }
                // Each loop must get exactly its own types: kernels trust them.
                for (&a, &want) in args.iter().zip(ufunc.loops()[lp].inputs()) {
                    check_src(r, &p, a, i)?;
                    if p.dtype_of(a) != want {
                        return Err(r.corrupt(format!(
                            "ufunc '{name}' loop fed {} where it takes {}",
                            p.dtype_of(a).name(),
                            want.name()
                        )));
                    }
                }
                Instr::Apply { ufunc, lp, args }
            }
            k => return Err(r.corrupt(format!("instruction kind {k}"))),
        };
        p.instrs.push(instr);
    }
    p.output = if r.bool()? {
        let s = read_src(r)?;
        if !matches!(s, Src::Reg(_)) {
            return Err(r.corrupt("a program's output is not a register"));
        }
        check_src(r, &p, s, p.instrs.len())?;
        Some(s)
    } else {
        None
    };
    Ok(p)
}

/// An operand of instruction `at` must exist: an input, a constant, or an earlier register.
fn check_src(r: &ParamsReader, p: &Program, s: Src, at: usize) -> Result<()> {
    let ok = match s {
        Src::Input(i) => i < p.inputs.len(),
        Src::Const(i) => i < p.consts.len(),
        Src::Reg(i) => i < at,
    };
    if ok {
        Ok(())
    } else {
        Err(r.corrupt(format!(
            "instruction {at} reads {s:?}, which does not exist"
        )))
    }
}

// ---- the parameter types ------------------------------------------------------------------

macro_rules! params_impl {
    ($t:ty, $tag:literal, |$s:ident, $w:ident| $enc:block, |$r:ident| $dec:block $(, nbytes: |$n:ident| $nb:expr)?) => {
        impl Params for $t {
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
            fn tag(&self) -> &'static str {
                $tag
            }
            fn encode(&self, $w: &mut ParamsWriter) {
                let $s = self;
                $enc
            }
            $(fn nbytes(&self) -> usize {
                let $n = self;
                $nb
            })?
        }
        impl $t {
            fn decode($r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
                Ok(Arc::new($dec))
            }
        }
    };
}

params_impl!(
    FusedBlock,
    "array.fused",
    |s, w| {
        program(w, &s.program);
        w.usizes(&s.shape);
    },
    |r| {
        FusedBlock {
            program: read_program(r)?,
            shape: r.usizes()?,
        }
    }
);

params_impl!(
    ReduceBlock,
    "array.reduce_block",
    |s, w| {
        program(w, &s.program);
        w.usizes(&s.shape);
        w.bools(&s.reduced);
        reduce_op(w, s.op);
    },
    |r| {
        ReduceBlock {
            program: read_program(r)?,
            shape: r.usizes()?,
            reduced: r.bools()?,
            op: read_reduce_op(r)?,
        }
    }
);

params_impl!(
    FinalizeBlock,
    "array.finalize",
    |s, w| {
        w.dtype(s.dtype);
        w.usizes(&s.shape);
    },
    |r| {
        FinalizeBlock {
            dtype: r.dtype()?,
            shape: r.usizes()?,
        }
    }
);

params_impl!(
    AssembleBlock,
    "array.assemble",
    |s, w| {
        w.dtype(s.dtype);
        w.usize(s.pieces.len());
        for piece in &s.pieces {
            w.usize(piece.arg);
            w.usize(piece.sel.len());
            for &(start, step, len) in &piece.sel {
                w.usize(start);
                w.i64(step as i64);
                w.usize(len);
            }
            w.usizes(&piece.at);
        }
        w.usizes(&s.assembled_shape);
        w.usizes(&s.shape);
    },
    |r| {
        let dtype = r.dtype()?;
        let n = r.count()?;
        let mut pieces = Vec::with_capacity(n);
        for _ in 0..n {
            let arg = r.usize()?;
            let nsel = r.count()?;
            let sel = (0..nsel)
                .map(|_| Ok((r.usize()?, r.i64()? as isize, r.usize()?)))
                .collect::<Result<Vec<_>>>()?;
            pieces.push(Piece {
                arg,
                sel,
                at: r.usizes()?,
            });
        }
        AssembleBlock {
            dtype,
            pieces,
            assembled_shape: r.usizes()?,
            shape: r.usizes()?,
        }
    }
);

params_impl!(
    TransposeBlock,
    "array.transpose",
    |s, w| {
        w.usizes(&s.perm);
    },
    |r| { TransposeBlock { perm: r.usizes()? } }
);

params_impl!(
    ReshapeBlock,
    "array.reshape",
    |s, w| {
        w.usizes(&s.shape);
    },
    |r| { ReshapeBlock { shape: r.usizes()? } }
);

params_impl!(
    TensordotBlock,
    "array.tensordot",
    |s, w| {
        w.usizes(&s.axes_a);
        w.usizes(&s.axes_b);
    },
    |r| {
        TensordotBlock {
            axes_a: r.usizes()?,
            axes_b: r.usizes()?,
        }
    }
);

params_impl!(
    CumBlock,
    "array.cumulative",
    |s, w| {
        w.usize(s.axis);
        w.u8(s.op.code());
        if let super::cumulative::CumOp::Ufunc(u) = s.op {
            w.str(u.ufunc().name());
        }
    },
    |r| {
        let axis = r.usize()?;
        let code = r.u8()?;
        let name = if code == 4 { Some(r.str()?) } else { None };
        CumBlock {
            axis,
            op: super::cumulative::CumOp::from_code(code, name)?,
        }
    }
);

params_impl!(
    ToSparse,
    "array.to_sparse",
    |s, w| {
        scalar(w, s.fill);
    },
    |r| {
        ToSparse {
            fill: read_scalar(r)?,
        }
    }
);

params_impl!(
    CreateBlock,
    "array.create",
    |s, w| {
        match &s.spec {
            CreateSpec::Full(v) => {
                w.u8(0);
                scalar(w, *v);
            }
            CreateSpec::Arange { start, step } => {
                w.u8(1);
                w.f64(*start);
                w.f64(*step);
            }
            CreateSpec::Linspace {
                start,
                stop,
                num,
                endpoint,
            } => {
                w.u8(2);
                w.f64(*start);
                w.f64(*stop);
                w.usize(*num);
                w.bool(*endpoint);
            }
            CreateSpec::Eye { k } => {
                w.u8(3);
                w.i64(*k);
            }
            CreateSpec::Uniform { seed, low, high } => {
                w.u8(4);
                w.u64(*seed);
                w.f64(*low);
                w.f64(*high);
            }
            CreateSpec::Normal { seed, mean, std } => {
                w.u8(5);
                w.u64(*seed);
                w.f64(*mean);
                w.f64(*std);
            }
            CreateSpec::SparseUniform { seed, density } => {
                w.u8(6);
                w.u64(*seed);
                w.f64(*density);
            }
        }
        w.dtype(s.dtype);
        w.usizes(&s.array_shape);
        w.usizes(&s.offset);
        w.usizes(&s.shape);
    },
    |r| {
        let spec = match r.u8()? {
            0 => CreateSpec::Full(read_scalar(r)?),
            1 => CreateSpec::Arange {
                start: r.f64()?,
                step: r.f64()?,
            },
            2 => CreateSpec::Linspace {
                start: r.f64()?,
                stop: r.f64()?,
                num: r.usize()?,
                endpoint: r.bool()?,
            },
            3 => CreateSpec::Eye { k: r.i64()? },
            4 => CreateSpec::Uniform {
                seed: r.u64()?,
                low: r.f64()?,
                high: r.f64()?,
            },
            5 => CreateSpec::Normal {
                seed: r.u64()?,
                mean: r.f64()?,
                std: r.f64()?,
            },
            6 => CreateSpec::SparseUniform {
                seed: r.u64()?,
                density: r.f64()?,
            },
            k => return Err(r.corrupt(format!("creation kind {k}"))),
        };
        CreateBlock {
            spec,
            dtype: r.dtype()?,
            array_shape: r.usizes()?,
            offset: r.usizes()?,
            shape: r.usizes()?,
        }
    }
);

params_impl!(
    ArgBlock,
    "array.arg_block",
    |s, w| {
        w.bool(s.max);
        w.bool(s.axis.is_some());
        w.usize(s.axis.unwrap_or(0));
        w.usizes(&s.offset);
        w.usizes(&s.array_shape);
    },
    |r| {
        let max = r.bool()?;
        let has_axis = r.bool()?;
        let axis = r.usize()?;
        ArgBlock {
            max,
            axis: has_axis.then_some(axis),
            offset: r.usizes()?,
            array_shape: r.usizes()?,
        }
    }
);

params_impl!(ArgPartial, "array.arg_partial", |s, w| {
    w.bool(s.max);
    w.buffer(&s.values);
    w.i64s(&s.indices);
}, |r| {
    ArgPartial {
        max: r.bool()?,
        values: r.buffer()?,
        indices: r.i64s()?,
    }
}, nbytes: |s| s.values.storage_len() + s.indices.len() * 8);

params_impl!(Partial, "array.partial", |s, w| {
    reduce_op(w, s.op);
    w.usize(s.bufs.len());
    s.bufs.iter().for_each(|b| w.buffer(b));
}, |r| {
    let op = read_reduce_op(r)?;
    let n = r.count()?;
    Partial {
        op,
        bufs: (0..n).map(|_| r.buffer()).collect::<Result<Vec<Buffer>>>()?,
    }
}, nbytes: |s| s.bufs.iter().map(Buffer::storage_len).sum());

/// Registers the decoder of every array parameter type (with the array operations).
pub(super) fn register_decoders() {
    register_params("array.fused", FusedBlock::decode);
    register_params("array.reduce_block", ReduceBlock::decode);
    register_params("array.finalize", FinalizeBlock::decode);
    register_params("array.assemble", AssembleBlock::decode);
    register_params("array.transpose", TransposeBlock::decode);
    register_params("array.reshape", ReshapeBlock::decode);
    register_params("array.tensordot", TensordotBlock::decode);
    register_params("array.cumulative", CumBlock::decode);
    register_params("array.to_sparse", ToSparse::decode);
    register_params("array.create", CreateBlock::decode);
    register_params("array.arg_block", ArgBlock::decode);
    register_params("array.arg_partial", ArgPartial::decode);
    register_params("array.partial", Partial::decode);
}
