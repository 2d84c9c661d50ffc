//! Block kernels of linear algebra: `tensordot` of block pairs, summed. Matrix products go
//! through ndarray's `general_mat_mul` (the `matrixmultiply` kernels, or the system BLAS when
//! the crate is built with the `blas` feature).

use crate::error::{Error, Result};
use crate::ufunc::kernel::cast_block;
use crate::ufunc::promote::promote;
use crate::value::block::{contiguous, transpose_block};
use crate::value::{Buffer, DType, Element};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, LinalgScalar, ShapeBuilder};

#[cfg(feature = "blas")]
extern crate blas_src;

/// Sets OpenBLAS up for the pool, once, when a pool starts (before any task runs).
///
/// OpenBLAS would start its own threads inside every product (block products, the GLM
/// passes' tiles), on top of the pool's threads, which already run them in parallel: one
/// thread per call is right. And it picks its kernels from the CPU's model, which virtual
/// machines often hide: it then runs its Prescott (SSE3) kernels, 2-4x slower here than the
/// AVX-512 ones. The kernels are chosen when OpenBLAS loads, before any code of ours runs, so
/// all this can do is say so, once, with the remedy (scripts/openblas-coretype).
pub(crate) fn single_threaded_blas() {
    #[cfg(feature = "blas")]
    {
        extern "C" {
            fn openblas_set_num_threads(n: std::ffi::c_int);
            fn openblas_get_corename() -> *const std::ffi::c_char;
        }
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: a plain setter of OpenBLAS.
            unsafe { openblas_set_num_threads(1) };
            // SAFETY: OpenBLAS returns a static NUL-terminated name.
            let core = unsafe { std::ffi::CStr::from_ptr(openblas_get_corename()) };
            let core = core.to_string_lossy().to_ascii_lowercase();
            if let Some(better) = better_openblas_core(&core) {
                eprintln!(
                    "libdask: OpenBLAS runs its {core} kernels on this CPU (it did not recognise \
                     the CPU model); matrix products run several times faster with \
                     OPENBLAS_CORETYPE={better} set before the process starts"
                );
            }
        });
    }
}

/// The OpenBLAS kernel set to suggest when OpenBLAS runs `core` on a CPU that can do better
/// (the same choice as scripts/openblas-coretype).
#[cfg(feature = "blas")]
fn better_openblas_core(core: &str) -> Option<&'static str> {
    if core != "prescott" || std::env::var_os("OPENBLAS_CORETYPE").is_some() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use std::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
            return Some("SkylakeX");
        }
        if has!("avx2") && has!("fma") {
            return Some("Haswell");
        }
    }
    None
}

/// True when block products go through a system BLAS.
pub fn uses_blas() -> bool {
    cfg!(feature = "blas")
}

/// The 2-d view (rows = product of the first `split` axes) of `b`, without copying when its
/// layout allows it (C-contiguous, or the transpose of a C-contiguous matrix).
fn view2<'a, T: Element + LinalgScalar>(b: &'a Buffer, split: usize) -> Option<ArrayView2<'a, T>> {
    let rows: usize = b.shape()[..split].iter().product();
    let cols: usize = b.shape()[split..].iter().product();
    if b.is_c_contiguous() {
        return ArrayView2::from_shape((rows, cols), b.as_slice::<T>().ok()?).ok();
    }
    // Transposed matrix: the column group varies slowest.
    let perm: Vec<usize> = (split..b.ndim()).chain(0..split).collect();
    let t = transpose_block(b, &perm).ok()?;
    if t.is_c_contiguous() && t.dtype() == T::DTYPE {
        // SAFETY: `t` is a C-contiguous view of `b`'s storage (shared, kept alive by `b` for
        // 'a) holding `cols * rows` elements of `T`, suitably aligned (checked when `b` was made).
        let v = unsafe { ArrayView2::from_shape_ptr((cols, rows), t.as_ptr() as *const T) };
        return Some(v.reversed_axes());
    }
    None
}

fn mat_sum<T: Element + LinalgScalar>(
    pairs: &[(Buffer, Buffer)],
    free_a: usize,
    free_b_axes: usize,
    shape: &[usize],
) -> Result<Buffer> {
    let (a0, b0) = &pairs[0];
    let m: usize = a0.shape()[..free_a].iter().product();
    let n: usize = b0.shape()[b0.ndim() - free_b_axes..].iter().product();
    let mut c = Array2::<T>::zeros((m, n).f());
    let mut c_std = Array2::<T>::zeros((m, n));
    let use_std = m < n;
    for (a, b) in pairs {
        let a_owned;
        let av = match view2::<T>(a, free_a) {
            Some(v) => v,
            None => {
                a_owned = contiguous(a)?;
                view2::<T>(&a_owned, free_a).expect("contiguous")
            }
        };
        let split_b = b.ndim() - free_b_axes;
        let b_owned;
        let bv = match view2::<T>(b, split_b) {
            Some(v) => v,
            None => {
                b_owned = contiguous(b)?;
                view2::<T>(&b_owned, split_b).expect("contiguous")
            }
        };
        if av.ncols() != bv.nrows() {
            return Err(Error::Shape(format!(
                "tensordot: contracted sizes differ ({} vs {})",
                av.ncols(),
                bv.nrows()
            )));
        }
        if use_std {
            general_mat_mul(T::one(), &av, &bv, T::one(), &mut c_std);
        } else {
            general_mat_mul(T::one(), &av, &bv, T::one(), &mut c);
        }
    }
    let out = if use_std {
        c_std
    } else {
        c.as_standard_layout().into_owned()
    };
    let data = out.into_raw_vec_and_offset().0;
    Buffer::from_vec(data, shape)
}

/// `sum_i tensordot(a_i, b_i, (axes_a, axes_b))` over block pairs `[a_0, b_0, a_1, b_1, …]`.
pub fn tensordot_blocks(bs: &[&Buffer], axes_a: &[usize], axes_b: &[usize]) -> Result<Buffer> {
    let (a0, b0) = (bs[0], bs[1]);
    let dtype = promote(a0.dtype(), b0.dtype());
    let work = if dtype == DType::Bool {
        DType::Int64
    } else {
        dtype
    };
    let free_a: Vec<usize> = (0..a0.ndim()).filter(|k| !axes_a.contains(k)).collect();
    let free_b: Vec<usize> = (0..b0.ndim()).filter(|k| !axes_b.contains(k)).collect();
    let shape: Vec<usize> = free_a
        .iter()
        .map(|&k| a0.shape()[k])
        .chain(free_b.iter().map(|&k| b0.shape()[k]))
        .collect();
    let perm_a: Vec<usize> = free_a.iter().chain(axes_a).copied().collect();
    let perm_b: Vec<usize> = axes_b.iter().chain(&free_b).copied().collect();
    let pairs = bs
        .chunks(2)
        .map(|p| {
            Ok((
                transpose_block(&cast_block(p[0], work)?, &perm_a)?,
                transpose_block(&cast_block(p[1], work)?, &perm_b)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = match work {
        DType::Float64 => mat_sum::<f64>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Float32 => mat_sum::<f32>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Int64 => mat_sum::<i64>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Int32 => mat_sum::<i32>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Int16 => mat_sum::<i16>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Int8 => mat_sum::<i8>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::UInt64 => mat_sum::<u64>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::UInt32 => mat_sum::<u32>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::UInt16 => mat_sum::<u16>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::UInt8 => mat_sum::<u8>(&pairs, free_a.len(), free_b.len(), &shape)?,
        DType::Bool => unreachable!("bool works in int64"),
    };
    cast_block(&out, dtype)
}
