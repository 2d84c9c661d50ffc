//! Typed n-dimensional buffers: the form in which array blocks cross task and language
//! boundaries (pointer, dtype, shape, byte strides), DuckDB-vector style rather than
//! element by element. Memory is Rust-owned, mapped by the library (blocks read back from
//! spill files, `huge`), or lent by the host with a release callback.

use super::dtype::{DType, Element};
use super::huge::{HugeBlock, HUGE_FROM};
use crate::error::{Error, Result};
use std::sync::Arc;

/// The memory behind one or more buffers. Immutable once shared: values are published to the
/// store and may be read by many tasks at once.
pub struct Storage {
    ptr: *mut u8,
    len: usize,
    owner: Owner,
}

enum Owner {
    /// Keeps a Rust allocation (a `Vec<T>` moved into a box, so its heap pointer is stable).
    Rust(#[allow(dead_code)] Box<dyn Send + Sync>),
    /// A large block mapped by the library (`huge`), recycled or unmapped when dropped.
    Mapped(#[allow(dead_code)] HugeBlock),
    /// Host memory: the callback gives it back when the last reference goes.
    Foreign(Option<Box<dyn FnOnce() + Send + Sync>>),
}

// SAFETY: the storage is never mutated once shared (mutation needs `Arc::get_mut`, i.e. unique
// ownership), and the owner that frees it is itself Send + Sync.
unsafe impl Send for Storage {}
// SAFETY: see above; shared access is read-only.
unsafe impl Sync for Storage {}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Owner::Foreign(release) = &mut self.owner {
            if let Some(release) = release.take() {
                release();
            }
        }
    }
}

impl Storage {
    fn from_vec<T: Send + Sync + 'static>(v: Vec<T>) -> Storage {
        let mut boxed = Box::new(v);
        let len = boxed.len() * std::mem::size_of::<T>();
        let ptr = boxed.as_mut_ptr() as *mut u8;
        Storage {
            ptr,
            len,
            owner: Owner::Rust(boxed),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the storage holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.owner {
            Owner::Rust(_) | Owner::Mapped(_) => "owned",
            Owner::Foreign(_) => "borrowed",
        };
        write!(f, "Storage({} bytes, {kind})", self.len)
    }
}

/// A typed view (dtype, shape, byte strides, offset) of shared storage.
#[derive(Debug, Clone)]
pub struct Buffer {
    dtype: DType,
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
    storage: Arc<Storage>,
}

/// C-order (row-major) byte strides for `shape`.
pub fn c_strides(shape: &[usize], itemsize: usize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = itemsize as isize;
    for (s, &n) in strides.iter_mut().zip(shape).rev() {
        *s = step;
        step *= n.max(1) as isize;
    }
    strides
}

fn element_count(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |acc, &n| {
        acc.checked_mul(n)
            .ok_or_else(|| Error::Shape(format!("shape {shape:?} has too many elements")))
    })
}

/// `n` zeroed u64 words, or an error when the memory is not there (rather than aborting the
/// host process, as an infallible allocation would). Large blocks come from the allocator's
/// zeroed pages, so nothing is written until used.
fn zeroed_words(n: usize) -> Result<Vec<u64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u64>(n)
        .map_err(|_| Error::Memory(format!("{n} words cannot be allocated")))?;
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<u64>();
    if p.is_null() {
        return Err(Error::Memory(format!(
            "cannot allocate {} bytes",
            n.saturating_mul(8)
        )));
    }
    // SAFETY: `p` holds `n` zeroed u64s from the global allocator with u64's array layout,
    // which is what a Vec<u64> of capacity `n` owns.
    Ok(unsafe { Vec::from_raw_parts(p, n, n) })
}

impl Buffer {
    /// A zero-filled, C-contiguous buffer (an `Error::Memory` when the memory is not there).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Buffer> {
        Buffer::zeros_in(dtype, shape, false)
    }

    /// A buffer whose every byte the caller writes before anything reads it (a block read
    /// back from a spill file or the network): from 2 MiB on, in 2 MiB pages (`huge`), which
    /// such a fill writes 7x faster than fresh 4 KiB pages here, and reusing a recently
    /// dropped block of the same size, so its contents before the fill are unspecified
    /// (zeros, or a dropped block's bytes; smaller buffers are zeroed). Not for every block:
    /// where free memory is fragmented, the kernel compacts it on the first write (stalls of
    /// up to 0.4 s were seen for a 160 MB sparse result), a price the spill read pays for its
    /// throughput but array kernels, which showed no gain, do not.
    pub(crate) fn to_fill(dtype: DType, shape: &[usize]) -> Result<Buffer> {
        Buffer::zeros_in(dtype, shape, true)
    }

    fn zeros_in(dtype: DType, shape: &[usize], huge_pages: bool) -> Result<Buffer> {
        let bytes = element_count(shape)?
            .checked_mul(dtype.itemsize())
            .ok_or_else(|| Error::Shape(format!("shape {shape:?} is too large")))?;
        let huge = (huge_pages && bytes >= HUGE_FROM).then(|| super::huge::to_fill(bytes));
        let storage = match huge {
            Some(Some(block)) => Storage {
                ptr: block.ptr(),
                len: bytes,
                owner: Owner::Mapped(block),
            },
            _ => {
                // u64 words keep every dtype aligned.
                let mut storage = Storage::from_vec(zeroed_words(bytes.div_ceil(8))?);
                storage.len = bytes;
                storage
            }
        };
        Ok(Buffer {
            dtype,
            shape: shape.to_vec(),
            strides: c_strides(shape, dtype.itemsize()),
            offset: 0,
            storage: Arc::new(storage),
        })
    }

    /// Takes ownership of `data` without copying, as a C-contiguous array of `shape`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Buffer> {
        let n = element_count(shape)?;
        if n != data.len() {
            return Err(Error::Shape(format!(
                "{} elements do not fill shape {shape:?} ({n} elements)",
                data.len()
            )));
        }
        Ok(Buffer {
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            strides: c_strides(shape, std::mem::size_of::<T>()),
            offset: 0,
            storage: Arc::new(Storage::from_vec(data)),
        })
    }

    /// Wraps host memory without copying. `release` runs once, when the last buffer or value
    /// referring to the memory is dropped (possibly on a pool thread).
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` bytes, suitably aligned for `dtype`, and neither
    /// freed nor written until `release` is called.
    pub unsafe fn from_foreign(
        ptr: *const u8,
        len: usize,
        dtype: DType,
        shape: &[usize],
        strides: Option<&[isize]>,
        release: Option<Box<dyn FnOnce() + Send + Sync>>,
    ) -> Result<Buffer> {
        let storage = Arc::new(Storage {
            ptr: ptr as *mut u8,
            len,
            owner: Owner::Foreign(release),
        });
        if ptr.is_null() && len > 0 {
            return Err(Error::NullArgument("buffer data pointer is NULL".into()));
        }
        if !(ptr as usize).is_multiple_of(dtype.itemsize()) {
            return Err(Error::invalid(format!(
                "buffer data pointer is not aligned for {}",
                dtype.name()
            )));
        }
        let strides = match strides {
            Some(s) if s.len() != shape.len() => {
                return Err(Error::Shape(format!(
                    "{} strides given for {} dimensions",
                    s.len(),
                    shape.len()
                )))
            }
            Some(s) => s.to_vec(),
            None => c_strides(shape, dtype.itemsize()),
        };
        let buffer = Buffer {
            dtype,
            shape: shape.to_vec(),
            strides,
            offset: 0,
            storage,
        };
        buffer.check_extent()?;
        Ok(buffer)
    }

    /// Checks that every element the shape and strides can reach lies inside the storage.
    fn check_extent(&self) -> Result<()> {
        let n = element_count(&self.shape)?;
        if n == 0 {
            return Ok(());
        }
        let (mut lo, mut hi) = (self.offset as isize, self.offset as isize);
        for (&dim, &stride) in self.shape.iter().zip(&self.strides) {
            let reach = (dim as isize - 1)
                .checked_mul(stride)
                .ok_or_else(|| Error::Shape("strides overflow".into()))?;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
            if stride % self.dtype.itemsize() as isize != 0 {
                return Err(Error::invalid(format!(
                    "stride {stride} is not a multiple of the {} item size",
                    self.dtype.name()
                )));
            }
        }
        let end = hi + self.dtype.itemsize() as isize;
        if lo < 0 || end as usize > self.storage.len {
            return Err(Error::Shape(format!(
                "shape {:?} with strides {:?} reaches outside the {} bytes given",
                self.shape, self.strides, self.storage.len
            )));
        }
        Ok(())
    }

    /// Another view of the same storage: `offset` is in bytes from this view's first element;
    /// the new view must stay inside the storage (checked).
    pub fn view(&self, shape: &[usize], strides: &[isize], offset: isize) -> Result<Buffer> {
        if shape.len() != strides.len() {
            return Err(Error::Shape(
                "view: shape and strides differ in length".into(),
            ));
        }
        let start = self.offset as isize + offset;
        let empty = shape.contains(&0);
        if start < 0 && !empty {
            return Err(Error::Shape("view starts before the storage".into()));
        }
        let view = Buffer {
            dtype: self.dtype,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset: if empty { 0 } else { start as usize },
            storage: self.storage.clone(),
        };
        view.check_extent()?;
        Ok(view)
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Byte strides, one per dimension.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of the underlying storage (shared with other views).
    pub fn storage_len(&self) -> usize {
        self.storage.len
    }

    /// Address of element (0, …, 0).
    pub fn as_ptr(&self) -> *const u8 {
        self.storage.ptr.wrapping_add(self.offset)
    }

    /// True when the elements are laid out densely in C (row-major) order.
    pub fn is_c_contiguous(&self) -> bool {
        let expected = c_strides(&self.shape, self.dtype.itemsize());
        self.shape
            .iter()
            .zip(self.strides.iter().zip(&expected))
            .all(|(&n, (&s, &e))| n <= 1 || s == e)
    }

    /// The elements as a slice, when the buffer is C-contiguous and of element type `T`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        if self.dtype != T::DTYPE {
            return Err(Error::DType(format!(
                "buffer holds {}, not {}",
                self.dtype.name(),
                T::DTYPE.name()
            )));
        }
        if !self.is_c_contiguous() {
            return Err(Error::invalid("buffer is not C-contiguous"));
        }
        let n = self.len();
        if n == 0 {
            return Ok(&[]);
        }
        // SAFETY: construction checked alignment and that all `n` elements lie inside the
        // storage, which lives as long as `self` and is immutable while shared.
        Ok(unsafe { std::slice::from_raw_parts(self.as_ptr() as *const T, n) })
    }

    /// The bytes of a C-contiguous buffer nobody else holds yet (e.g. just created by `zeros`).
    pub fn as_mut_bytes(&mut self) -> Result<&mut [u8]> {
        if !self.is_c_contiguous() {
            return Err(Error::invalid("buffer is not C-contiguous"));
        }
        if !Arc::get_mut(&mut self.storage)
            .is_some_and(|s| matches!(s.owner, Owner::Rust(_) | Owner::Mapped(_)))
        {
            return Err(Error::invalid(
                "buffer is shared or borrowed, and therefore read-only",
            ));
        }
        let n = self.len() * self.dtype.itemsize();
        if n == 0 {
            return Ok(&mut []);
        }
        // SAFETY: uniquely owned Rust storage (checked above); construction checked that the
        // `n` bytes of a contiguous buffer lie inside it.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.as_ptr() as *mut u8, n) })
    }

    /// Mutable elements of a buffer nobody else holds yet (e.g. just created by `zeros`).
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        self.as_slice::<T>()?;
        let n = self.len();
        let bytes = self.as_mut_bytes()?;
        if n == 0 {
            return Ok(&mut []);
        }
        // SAFETY: `as_slice` checked dtype and alignment for `T`; the bytes are exactly the
        // `n` elements and uniquely borrowed.
        Ok(unsafe { std::slice::from_raw_parts_mut(bytes.as_mut_ptr() as *mut T, n) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_views() {
        let b = Buffer::from_vec((0..6).map(|x| x as f64).collect(), &[2, 3]).unwrap();
        assert_eq!(b.strides(), &[24, 8]);
        assert!(b.is_c_contiguous());
        assert_eq!(b.as_slice::<f64>().unwrap()[4], 4.0);
        assert!(b.as_slice::<i64>().is_err());
        assert!(Buffer::from_vec(vec![1i32; 5], &[2, 3]).is_err());
    }

    #[test]
    fn foreign_extent_is_checked_and_release_runs_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RELEASED: AtomicUsize = AtomicUsize::new(0);
        let data = [1.0f64; 4];
        let r = Box::new(|| {
            RELEASED.fetch_add(1, Ordering::SeqCst);
        });
        // SAFETY: `data` outlives the buffer.
        let bad = unsafe {
            Buffer::from_foreign(data.as_ptr() as _, 32, DType::Float64, &[5], None, Some(r))
        };
        assert!(matches!(bad, Err(Error::Shape(_))));
        assert_eq!(
            RELEASED.load(Ordering::SeqCst),
            1,
            "release runs even on error"
        );
        // SAFETY: as above; a negative stride walks backwards from the last element.
        let ok = unsafe {
            Buffer::from_foreign(
                data.as_ptr() as _,
                32,
                DType::Float64,
                &[2, 2],
                Some(&[16, 8]),
                None,
            )
        }
        .unwrap();
        assert_eq!(ok.as_slice::<f64>().unwrap(), &[1.0; 4]);
    }
}
