//! The GLM's block tasks as registered operations with plain-data parameters, so a fit's
//! graphs travel to workers like any array graph: `glm.pass` (one block's stats),
//! `glm.combine` (stats added up a tree), `glm.admm_local` (ADMM's block step),
//! `glm.labels` / `glm.labels_combine` (the distinct labels of y).

use super::family::family;
use super::kernel::{block_stats, Block, PassSpec, Stats, Want};
use super::local::solve_local;
use crate::error::Result;
use crate::runtime::{register_builtin, OpDef};
use crate::value::{register_params, Buffer, Params, ParamsReader, ParamsWriter, Value};
use std::sync::{Arc, LazyLock};

/// Most distinct labels a classification response may have.
pub const MAX_LABELS: usize = 1024;

/// Parameters of `glm.pass`.
#[derive(Debug, Clone)]
pub struct PassParams(pub PassSpec);

/// Parameters of `glm.admm_local`: the pass's, plus `1/N`, `ρ` and the block's target `v`.
#[derive(Debug, Clone)]
pub struct LocalParams {
    pub pass: PassSpec,
    pub scale: f64,
    pub rho: f64,
    pub target: Vec<f64>,
}

/// A p-sized result: ADMM's block solution.
#[derive(Debug, Clone)]
pub struct Coefs(pub Vec<f64>);

/// The distinct labels seen (sorted).
#[derive(Debug, Clone)]
pub struct Labels(pub Vec<f64>);

fn write_f64s(w: &mut ParamsWriter, v: &[f64]) {
    w.usize(v.len());
    v.iter().for_each(|&x| w.f64(x));
}

fn read_f64s(r: &mut ParamsReader) -> Result<Vec<f64>> {
    let n = r.count()?;
    (0..n).map(|_| r.f64()).collect()
}

fn write_vec(w: &mut ParamsWriter, v: &[f64]) {
    w.buffer(&Buffer::from_vec(v.to_vec(), &[v.len()]).expect("a 1-d buffer"));
}

fn read_vec(r: &mut ParamsReader) -> Result<Vec<f64>> {
    let b = r.buffer()?;
    Ok(b.as_slice::<f64>()
        .map_err(|_| r.corrupt("a vector is not float64"))?
        .to_vec())
}

fn write_spec(w: &mut ParamsWriter, s: &PassSpec) {
    w.str(s.family.name());
    write_f64s(w, &s.beta);
    w.bool(s.intercept);
    w.bool(s.positive.is_some());
    w.f64(s.positive.unwrap_or(0.0));
    write_f64s(w, &s.labels);
    w.bool(s.check);
    w.usize(s.row0);
    w.u8(s.want as u8);
    w.usize(s.stride);
    w.usize(s.phase);
}

fn read_spec(r: &mut ParamsReader) -> Result<PassSpec> {
    let name = r.str()?.to_string();
    let fam = family(&name).ok_or_else(|| r.corrupt(format!("unknown family {name:?}")))?;
    let beta = read_f64s(r)?;
    let intercept = r.bool()?;
    let has_positive = r.bool()?;
    let positive = r.f64()?;
    let labels = read_f64s(r)?;
    let check = r.bool()?;
    let row0 = r.usize()?;
    let want = match r.u8()? {
        0 => Want::Loss,
        1 => Want::Gradient,
        2 => Want::Hessian,
        k => return Err(r.corrupt(format!("pass kind {k}"))),
    };
    let stride = r.usize()?;
    let phase = r.usize()?;
    Ok(PassSpec {
        family: fam,
        beta,
        intercept,
        positive: has_positive.then_some(positive),
        labels,
        check,
        row0,
        want,
        stride,
        phase,
    })
}

macro_rules! params {
    ($t:ty, $tag:literal, |$s:ident, $w:ident| $enc:block, |$r:ident| $dec:block) => {
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
        }
        impl $t {
            fn decode($r: &mut ParamsReader) -> Result<Arc<dyn Params>> {
                Ok(Arc::new($dec))
            }
        }
    };
}

params!(
    PassParams,
    "glm.pass",
    |s, w| { write_spec(w, &s.0) },
    |r| { PassParams(read_spec(r)?) }
);

params!(
    LocalParams,
    "glm.admm_local",
    |s, w| {
        write_spec(w, &s.pass);
        w.f64(s.scale);
        w.f64(s.rho);
        write_f64s(w, &s.target);
    },
    |r| {
        LocalParams {
            pass: read_spec(r)?,
            scale: r.f64()?,
            rho: r.f64()?,
            target: read_f64s(r)?,
        }
    }
);

params!(
    Stats,
    "glm.stats",
    |s, w| {
        w.f64(s.weight);
        w.f64(s.loss);
        write_vec(w, &s.grad);
        write_vec(w, &s.hess);
    },
    |r| {
        Stats {
            weight: r.f64()?,
            loss: r.f64()?,
            grad: read_vec(r)?,
            hess: read_vec(r)?,
        }
    }
);

params!(Coefs, "glm.coefs", |s, w| { write_f64s(w, &s.0) }, |r| {
    Coefs(read_f64s(r)?)
});

params!(Labels, "glm.labels", |s, w| { write_f64s(w, &s.0) }, |r| {
    Labels(read_f64s(r)?)
});

/// The registered GLM operations.
pub struct GlmOps {
    pub pass: &'static OpDef,
    pub combine: &'static OpDef,
    pub admm_local: &'static OpDef,
    pub labels: &'static OpDef,
    pub labels_combine: &'static OpDef,
    pub rows: &'static OpDef,
}

fn param<'a, T: 'static>(
    inputs: &'a [Arc<Value>],
    what: &str,
) -> std::result::Result<&'a T, String> {
    inputs
        .first()
        .and_then(|v| v.params::<T>())
        .ok_or_else(|| format!("{what}: missing parameters"))
}

fn buffer<'a>(
    inputs: &'a [Arc<Value>],
    i: usize,
    what: &str,
) -> std::result::Result<&'a Buffer, String> {
    let v = inputs
        .get(i)
        .ok_or_else(|| format!("{what}: missing input {i}"))?;
    v.as_buffer()
        .ok_or_else(|| format!("{what}: input {i} is {}, not a dense block", v.kind_name()))
}

/// X, y and (when given) the weights of a block task.
fn block<'a>(inputs: &'a [Arc<Value>], what: &str) -> std::result::Result<Block<'a>, String> {
    let w = if inputs.len() > 3 {
        Some(buffer(inputs, 3, what)?)
    } else {
        None
    };
    let x = inputs.get(1).ok_or_else(|| format!("{what}: missing X"))?;
    Block::from_values(x, buffer(inputs, 2, what)?, w)
}

fn out<T: Params>(v: T) -> std::result::Result<Arc<Value>, String> {
    Ok(Arc::new(Value::Params(Arc::new(v))))
}

pub static OPS: LazyLock<GlmOps> = LazyLock::new(|| {
    register_params("glm.pass", PassParams::decode);
    register_params("glm.admm_local", LocalParams::decode);
    register_params("glm.stats", Stats::decode);
    register_params("glm.coefs", Coefs::decode);
    register_params("glm.labels", Labels::decode);
    GlmOps {
        pass: register_builtin("glm.pass", |inputs| {
            let p = param::<PassParams>(inputs, "glm.pass")?;
            out(block_stats(&p.0, &block(inputs, "glm.pass")?)?)
        }),
        combine: register_builtin("glm.combine", |inputs| {
            let mut total = Stats::default();
            for v in inputs {
                total.add(
                    v.params::<Stats>()
                        .ok_or("glm.combine: an input is not block stats")?,
                );
            }
            out(total)
        }),
        admm_local: register_builtin("glm.admm_local", |inputs| {
            let p = param::<LocalParams>(inputs, "glm.admm_local")?;
            let b = block(inputs, "glm.admm_local")?;
            out(Coefs(solve_local(&p.pass, &b, p.scale, p.rho, &p.target)?))
        }),
        labels: register_builtin("glm.labels", |inputs| {
            let y = buffer(inputs, 0, "glm.labels")?;
            let ys = y.as_slice::<f64>().map_err(|e| format!("y: {e}"))?;
            let mut seen: Vec<f64> = Vec::new();
            for &v in ys {
                let v = v + 0.0; // -0 and 0 are one label
                if v.is_nan() {
                    return Err("y holds NaN, which is not a class label".into());
                }
                if let Err(at) = seen.binary_search_by(|s| s.total_cmp(&v)) {
                    seen.insert(at, v);
                    if seen.len() > MAX_LABELS {
                        return Err(format!("y has more than {MAX_LABELS} distinct labels"));
                    }
                }
            }
            out(Labels(seen))
        }),
        // A block's rows as one C-contiguous run (a lazily transposed X, as a column-major
        // host matrix arrives, is strided), made once when the design is persisted.
        rows: register_builtin("glm.rows", |inputs| {
            let b = buffer(inputs, 0, "glm.rows")?;
            Ok(Arc::new(Value::Buffer(
                crate::value::block::contiguous(b).map_err(|e| e.to_string())?,
            )))
        }),
        labels_combine: register_builtin("glm.labels_combine", |inputs| {
            let mut all: Vec<f64> = Vec::new();
            for v in inputs {
                all.extend(
                    &v.params::<Labels>()
                        .ok_or("glm.labels_combine: not labels")?
                        .0,
                );
            }
            all.sort_by(f64::total_cmp);
            all.dedup();
            if all.len() > MAX_LABELS {
                return Err(format!("y has more than {MAX_LABELS} distinct labels"));
            }
            out(Labels(all))
        }),
    }
});

/// Registers the GLM operations and parameter types.
pub fn register_ops() {
    LazyLock::force(&OPS);
}
