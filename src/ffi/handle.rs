//! Opaque handles: a small heap "shell" with a type-specific magic number and a pointer to
//! the Rust object.
//!
//! Freeing a handle swaps its magic from live to dead with one compare-and-swap, so of two
//! threads freeing the same handle exactly one frees it and the other gets
//! `DASK_ERR_INVALID_HANDLE`. The object is dropped, and the shell (16 bytes) is kept in a
//! bounded quarantine instead of going back to the allocator, so a recently freed handle used
//! again is recognised rather than corrupting memory. A pointer to a handle of another type is
//! recognised the same way. Handles the library lends to a callback for the duration of a
//! call (task inputs, the operands of a C array kind) carry a "borrowed" magic: they work like
//! any other handle, but freeing one is refused.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

const DEAD: u64 = 0xdead_dead_dead_dead;
/// Xor-ed into a type's magic for handles lent by the library (never freed by the caller).
const BORROWED: u64 = 0x0000_0000_0000_00ff;
/// How many freed shells are kept: 65,536 shells of 16 bytes, 1 MiB at most. Use of a handle
/// freed longer ago than that cannot be told apart from a live one (best effort, like every
/// use-after-free check that does not keep memory forever).
const QUARANTINE: usize = 1 << 16;

struct FreedShell(#[allow(dead_code)] Box<ShellBytes>);

/// The shell's memory once its object is gone (kept only to keep the address taken).
#[repr(C)]
struct ShellBytes {
    magic: AtomicU64,
    inner: AtomicPtr<()>,
}

static FREED: Mutex<VecDeque<FreedShell>> = Mutex::new(VecDeque::new());

/// The shell of a handle. `repr(C)` with the magic first, so every handle type keeps its
/// magic at offset 0 and a pointer of the wrong type is recognised without reading outside it.
#[repr(C)]
pub struct Shell<T> {
    magic: AtomicU64,
    inner: AtomicPtr<T>,
}

impl<T> Drop for Shell<T> {
    fn drop(&mut self) {
        let p = *self.inner.get_mut();
        if !p.is_null() {
            // SAFETY: a non-null `inner` is the `Box` made in `shell_of`, owned by this shell.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// Implemented by each exported handle type (a newtype around its shell).
pub(crate) trait Handle: Sized + Send + 'static {
    type Inner;
    const MAGIC: u64;
    const NAME: &'static str;
    fn wrap(shell: Shell<Self::Inner>) -> Self;
    fn shell(&self) -> &Shell<Self::Inner>;
}

macro_rules! handle_type {
    ($handle:ident, $inner:ty, $magic:expr, $name:expr) => {
        // The exported newtype must keep its shell, hence the magic, at offset 0, and be
        // just the shell (freed handles are kept as bare 16-byte shells).
        const _: () = assert!(std::mem::offset_of!($handle, 0) == 0);
        const _: () = assert!(std::mem::size_of::<$handle>() == 16);
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
        }
    };
}
pub(crate) use handle_type;

fn shell_of<T>(magic: u64, inner: T) -> Shell<T> {
    Shell {
        magic: AtomicU64::new(magic),
        inner: AtomicPtr::new(Box::into_raw(Box::new(inner))),
    }
}

/// A handle the library lends for the duration of a call (task inputs, operands given to a C
/// array kind): on the library's stack, never boxed, and freeing it is refused.
pub(crate) fn borrowed<H: Handle>(inner: H::Inner) -> H {
    H::wrap(shell_of(H::MAGIC ^ BORROWED, inner))
}

/// Boxes `inner` into a new handle owned by the caller.
pub(crate) fn new_handle<H: Handle>(inner: H::Inner) -> *mut H {
    Box::into_raw(Box::new(H::wrap(shell_of(H::MAGIC, inner))))
}

fn check<H: Handle>(h: &H) -> Result<()> {
    match h.shell().magic.load(Ordering::Acquire) {
        m if m == H::MAGIC || m == H::MAGIC ^ BORROWED => Ok(()),
        DEAD => Err(Error::InvalidHandle(format!(
            "this {} was freed already",
            H::NAME
        ))),
        _ => Err(Error::InvalidHandle(format!("not a {} handle", H::NAME))),
    }
}

/// The live shell behind a handle pointer.
///
/// # Safety
/// `ptr` is NULL or a pointer obtained from this library (live, lent or recently freed).
unsafe fn shell<'a, H: Handle>(ptr: *const H) -> Result<&'a Shell<H::Inner>> {
    // SAFETY: per the caller's contract the pointer is ours, so the shell is readable.
    let h = unsafe { ptr.as_ref() }
        .ok_or_else(|| Error::NullArgument(format!("{} is NULL", H::NAME)))?;
    check(h)?;
    Ok(h.shell())
}

/// The object behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a pointer obtained from this library (live, lent or recently freed), and
/// no other thread frees it during the call.
pub(crate) unsafe fn get<'a, H: Handle>(ptr: *const H) -> Result<&'a H::Inner> {
    // SAFETY: per the contract.
    let p = unsafe { shell(ptr) }?.inner.load(Ordering::Acquire);
    // SAFETY: a live shell's `inner` is its boxed object, alive until the handle is freed.
    unsafe { p.as_ref() }
        .ok_or_else(|| Error::InvalidHandle(format!("this {} was freed already", H::NAME)))
}

/// Like [`get`], mutably (for handles used from one thread at a time, like graphs).
///
/// # Safety
/// As for [`get`], and no other reference to the handle's object is in use.
pub(crate) unsafe fn get_mut<'a, H: Handle>(ptr: *mut H) -> Result<&'a mut H::Inner> {
    // SAFETY: per the contract.
    let p = unsafe { shell(ptr) }?.inner.load(Ordering::Acquire);
    // SAFETY: as in `get`; exclusivity is the caller's promise.
    unsafe { p.as_mut() }
        .ok_or_else(|| Error::InvalidHandle(format!("this {} was freed already", H::NAME)))
}

/// True for a handle the library lent to a callback.
///
/// # Safety
/// As for [`get`].
pub(crate) unsafe fn is_borrowed<H: Handle>(ptr: *const H) -> Result<bool> {
    // SAFETY: per the contract.
    Ok(unsafe { shell(ptr) }?.magic.load(Ordering::Acquire) == H::MAGIC ^ BORROWED)
}

/// Frees a handle: NULL is a no-op; a dead, lent or foreign pointer is reported, not touched.
/// Of several threads freeing one handle at once, exactly one frees it.
///
/// # Safety
/// `ptr` is NULL or a pointer obtained from this library.
pub(crate) unsafe fn free<H: Handle>(ptr: *mut H) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: per the caller's contract the pointer is ours (read through shared access
    // only: another thread may be looking at the same shell).
    let h = unsafe { &*ptr };
    match h
        .shell()
        .magic
        .compare_exchange(H::MAGIC, DEAD, Ordering::AcqRel, Ordering::Acquire)
    {
        Ok(_) => {}
        Err(m) if m == H::MAGIC ^ BORROWED => {
            return Err(Error::invalid(format!(
                "this {} is lent by the library for the duration of a callback; \
                 it is not the caller's to free",
                H::NAME
            )))
        }
        Err(_) => return check(h),
    }
    let inner = h.shell().inner.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if !inner.is_null() {
        // SAFETY: the boxed object of a shell whose magic this thread moved to DEAD: nobody
        // else frees it.
        drop(unsafe { Box::from_raw(inner) });
    }
    // SAFETY: the handle was created by `Box::into_raw` in `new_handle` (a borrowed handle
    // never gets here) and is freed once: only the thread that won the swap above comes here.
    // Its object is gone, so only the 16 bytes of magic and null pointer are kept.
    let shell: Box<H> = unsafe { Box::from_raw(ptr) };
    let bytes: Box<ShellBytes> = {
        const { assert!(std::mem::size_of::<Shell<()>>() == std::mem::size_of::<ShellBytes>()) };
        let raw = Box::into_raw(shell);
        // SAFETY: every handle type is a newtype of `Shell<T>` at offset 0, `repr(C)` as
        // `ShellBytes` is (an AtomicU64 then an AtomicPtr), with a null `inner`, so nothing
        // is left to drop; the allocation's layout is that of `ShellBytes`.
        unsafe { Box::from_raw(raw.cast::<ShellBytes>()) }
    };
    let mut freed = FREED.lock();
    if freed.len() >= QUARANTINE {
        freed.pop_front();
    }
    freed.push_back(FreedShell(bytes));
    Ok(())
}
