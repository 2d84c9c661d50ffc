//! Opaque handles: a heap "shell" with a type-specific magic number around the Rust object.
//!
//! Freeing a handle drops the object, marks the shell dead and keeps the shell in a bounded
//! quarantine instead of returning it to the allocator, so a recently freed handle that is used
//! again is recognised (`DASK_ERR_INVALID_HANDLE`) rather than corrupting memory. A pointer to
//! a handle of another type is recognised the same way.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

const DEAD: u64 = 0xdead_dead_dead_dead;
/// How many freed shells are kept (about 100 KiB at most).
const QUARANTINE: usize = 4096;

static FREED: Mutex<VecDeque<Box<dyn Send>>> = Mutex::new(VecDeque::new());

/// The shell of a handle. `repr(C)` with the magic first, so every handle type keeps its
/// magic at offset 0 and a pointer of the wrong type is recognised without reading outside it.
#[repr(C)]
pub struct Shell<T> {
    magic: AtomicU64,
    inner: Option<T>,
}

/// Implemented by each exported handle type (a newtype around its shell).
pub(crate) trait Handle: Sized + Send + 'static {
    type Inner;
    const MAGIC: u64;
    const NAME: &'static str;
    fn wrap(shell: Shell<Self::Inner>) -> Self;
    fn shell(&self) -> &Shell<Self::Inner>;
    fn shell_mut(&mut self) -> &mut Shell<Self::Inner>;
}

macro_rules! handle_type {
    ($handle:ident, $inner:ty, $magic:expr, $name:expr) => {
        // The exported newtype must keep its shell, hence the magic, at offset 0.
        const _: () = assert!(std::mem::offset_of!($handle, 0) == 0);
        impl $crate::ffi::handle::Handle for $handle {
            type Inner = $inner;
            const MAGIC: u64 = $magic;
            const NAME: &'static str = $name;
            fn wrap(shell: $crate::ffi::handle::Shell<$inner>) -> Self {
                $handle(shell)
            }
            fn shell(&self) -> &$crate::ffi::handle::Shell<$inner> {
                &self.0
            }
            fn shell_mut(&mut self) -> &mut $crate::ffi::handle::Shell<$inner> {
                &mut self.0
            }
        }
    };
}
pub(crate) use handle_type;

/// A live handle by value (for handles the library lends on its own stack, never freed).
pub(crate) fn unboxed<H: Handle>(inner: H::Inner) -> H {
    H::wrap(Shell {
        magic: AtomicU64::new(H::MAGIC),
        inner: Some(inner),
    })
}

/// Boxes `inner` into a new handle owned by the caller.
pub(crate) fn new_handle<H: Handle>(inner: H::Inner) -> *mut H {
    Box::into_raw(Box::new(unboxed(inner)))
}

fn check<H: Handle>(h: &H) -> Result<()> {
    match h.shell().magic.load(Ordering::Acquire) {
        m if m == H::MAGIC => Ok(()),
        DEAD => Err(Error::InvalidHandle(format!(
            "this {} was freed already",
            H::NAME
        ))),
        _ => Err(Error::InvalidHandle(format!("not a {} handle", H::NAME))),
    }
}

/// The object behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a pointer obtained from this library (live or recently freed).
pub(crate) unsafe fn get<'a, H: Handle>(ptr: *const H) -> Result<&'a H::Inner> {
    // SAFETY: per the caller's contract the pointer is ours, so the shell is readable.
    let h = unsafe { ptr.as_ref() }
        .ok_or_else(|| Error::NullArgument(format!("{} is NULL", H::NAME)))?;
    check(h)?;
    h.shell()
        .inner
        .as_ref()
        .ok_or_else(|| Error::InvalidHandle(format!("this {} was freed already", H::NAME)))
}

/// Like [`get`], mutably (for handles used from one thread at a time, like graphs).
///
/// # Safety
/// As for [`get`], and no other reference to the handle is in use.
pub(crate) unsafe fn get_mut<'a, H: Handle>(ptr: *mut H) -> Result<&'a mut H::Inner> {
    // SAFETY: per the caller's contract.
    let h = unsafe { ptr.as_mut() }
        .ok_or_else(|| Error::NullArgument(format!("{} is NULL", H::NAME)))?;
    check(h)?;
    h.shell_mut()
        .inner
        .as_mut()
        .ok_or_else(|| Error::InvalidHandle(format!("this {} was freed already", H::NAME)))
}

/// Frees a handle: NULL is a no-op; a dead or foreign pointer is reported, not touched.
///
/// # Safety
/// `ptr` is NULL or a pointer obtained from this library.
pub(crate) unsafe fn free<H: Handle>(ptr: *mut H) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: per the caller's contract the pointer is ours.
    let h = unsafe { &mut *ptr };
    check(h)?;
    h.shell().magic.store(DEAD, Ordering::Release);
    let inner = h.shell_mut().inner.take();
    drop(inner);
    // SAFETY: the handle was created by `Box::into_raw` in `new_handle` and is freed once
    // (its magic is now DEAD, so a second free is rejected above while it is in quarantine).
    let shell: Box<dyn Send> = unsafe { Box::from_raw(ptr) };
    let mut freed = FREED.lock();
    if freed.len() >= QUARANTINE {
        freed.pop_front();
    }
    freed.push_back(shell);
    Ok(())
}
