//! Large zeroed blocks straight from the kernel, in 2 MiB pages where it can give them.
//!
//! A block read back from a spill file is written once, as a whole, into fresh memory. In
//! 4 KiB pages every page's first write is a fault: filling fresh 8 MiB blocks runs at
//! 1.8 GiB/s on the benchmark machine, and at 13 GiB/s in 2 MiB pages (512 times fewer
//! faults). `Buffer::to_fill` says who uses them and why not everyone does.
//!
//! A fresh page still has to be zeroed by the kernel before the block can be filled, and on
//! the benchmark machine (a virtual machine) that is the largest cost of receiving a block
//! over loopback: zeroing ran at under 2 GiB/s, slower than the copy out of the socket. So a
//! dropped block is kept for a while (`Recycled`) and given to the next request of the same
//! size as it is, the way an allocator keeps freed memory in its free lists: a worker that
//! fetches, uses and drops blocks over and over fills the same pages again. Kept blocks are
//! marked `MADV_FREE` (the kernel takes them back without asking when it needs the memory),
//! are bounded in total (`keep_at_most`), go back to the system after `KEEP_FOR` unused, and
//! all at once when the memory manager trims (`release_recycled`).

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Blocks from this size on are mapped this way; smaller ones come from the allocator.
pub(super) const HUGE_FROM: usize = 2 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// An anonymous private mapping this value owns; recycled or unmapped on drop.
pub(super) struct HugeBlock {
    addr: usize,
    len: usize,
}

impl HugeBlock {
    pub(super) fn ptr(&self) -> *mut u8 {
        self.addr as *mut u8
    }
}

impl Drop for HugeBlock {
    fn drop(&mut self) {
        // The storage holding the block is being dropped: nothing refers to it any more.
        RECYCLED.lock().keep(Kept {
            addr: self.addr,
            len: self.len,
            since: Instant::now(),
        });
    }
}

/// How long a dropped block waits for a request of its size before it goes back.
const KEEP_FOR: Duration = Duration::from_secs(10);

/// A dropped block's mapping, waiting to be reused.
struct Kept {
    addr: usize,
    len: usize,
    since: Instant,
}

impl Kept {
    fn unmap(self) {
        // SAFETY: `addr..addr+len` is a mapping only this record refers to.
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
    }
}

/// Dropped blocks by length, oldest first in each list.
struct Recycled {
    by_len: BTreeMap<usize, Vec<Kept>>,
    bytes: usize,
}

static RECYCLED: Mutex<Recycled> = Mutex::new(Recycled {
    by_len: BTreeMap::new(),
    bytes: 0,
});

impl Recycled {
    fn keep(&mut self, block: Kept) {
        self.expire();
        if self.bytes + block.len > keep_at_most() {
            return block.unmap();
        }
        // SAFETY: the range is this record's mapping; MADV_FREE only lets the kernel drop
        // its pages' contents (they read as zeros then), which a block to be filled allows.
        unsafe { libc::madvise(block.addr as *mut libc::c_void, block.len, libc::MADV_FREE) };
        self.bytes += block.len;
        self.by_len.entry(block.len).or_default().push(block);
    }

    fn take(&mut self, len: usize) -> Option<Kept> {
        self.expire();
        let list = self.by_len.get_mut(&len)?;
        let block = list.pop()?; // the most recently dropped: its pages are the likeliest kept
        if list.is_empty() {
            self.by_len.remove(&len);
        }
        self.bytes -= block.len;
        Some(block)
    }

    /// Unmaps the blocks kept longer than `KEEP_FOR` (all of them with `all`).
    fn release(&mut self, all: bool) {
        let now = Instant::now();
        let mut freed = 0;
        self.by_len.retain(|_, list| {
            let old = list
                .iter()
                .take_while(|b| all || now.duration_since(b.since) > KEEP_FOR)
                .count();
            for b in list.drain(..old) {
                freed += b.len;
                b.unmap();
            }
            !list.is_empty()
        });
        self.bytes -= freed;
    }

    fn expire(&mut self) {
        if !self.by_len.is_empty() {
            self.release(false);
        }
    }
}

/// The most dropped-block bytes kept: a sixteenth of the machine's memory, at most 1 GiB,
/// and at most a sixteenth of the smallest memory limit a store of this process has (kept
/// blocks are resident until the kernel takes them: they count against the limit).
fn keep_at_most() -> usize {
    static AT_MOST: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let machine = *AT_MOST.get_or_init(|| {
        crate::memory::process::total_memory().map_or(0, |t| (t / 16).min(1 << 30))
    });
    machine.min(LIMITED_TO.load(std::sync::atomic::Ordering::Relaxed))
}

/// A sixteenth of the smallest memory limit set in this process (`bound_by_limit`).
static LIMITED_TO: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

/// A store with memory limit `limit` starts: from now on at most `limit / 16` bytes of
/// dropped blocks are kept for reuse (blocks kept beyond it go back at their next drop).
pub(crate) fn bound_by_limit(limit: usize) {
    LIMITED_TO.fetch_min(limit / 16, std::sync::atomic::Ordering::Relaxed);
}

/// Gives every kept block back to the system (the memory manager found the process's memory
/// high; `process::trim`).
pub(crate) fn release_recycled() {
    RECYCLED.lock().release(true);
}

/// `len` bytes starting on a 2 MiB boundary, marked for 2 MiB pages, for a caller that
/// writes every byte before reading any: a dropped block of the same size when one is kept
/// (its old contents, or zeros where the kernel took its pages), else a new zeroed mapping.
/// `None` when the system has no mapping to give (the caller falls back to the allocator).
#[cfg(target_os = "linux")]
pub(super) fn to_fill(len: usize) -> Option<HugeBlock> {
    // SAFETY: sysconf only reads its argument.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    let len = len.checked_next_multiple_of(page)?;
    if let Some(kept) = RECYCLED.lock().take(len) {
        return Some(HugeBlock {
            addr: kept.addr,
            len: kept.len,
        });
    }
    let span = len.checked_add(HUGE_PAGE)?; // room to slide to a 2 MiB boundary
                                            // SAFETY: a fresh anonymous mapping; failure is reported as MAP_FAILED.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    let start = p as usize;
    let addr = start.next_multiple_of(HUGE_PAGE);
    let end = addr + len;
    // SAFETY: the slack before `addr` and after `end` belongs to the mapping just made and is
    // not used; what remains is exactly `addr..end`. madvise only advises.
    unsafe {
        if addr > start {
            libc::munmap(start as *mut libc::c_void, addr - start);
        }
        if start + span > end {
            libc::munmap(end as *mut libc::c_void, start + span - end);
        }
        libc::madvise(addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
    Some(HugeBlock { addr, len })
}

#[cfg(not(target_os = "linux"))]
pub(super) fn to_fill(_: usize) -> Option<HugeBlock> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    fn bytes(block: &mut super::HugeBlock, len: usize) -> &mut [u8] {
        // SAFETY: the block holds `len` bytes (rounded up) and nothing else refers to it.
        unsafe { std::slice::from_raw_parts_mut(block.ptr(), len) }
    }

    #[test]
    fn new_blocks_are_aligned_zeroed_and_writable() {
        let len = (3 << 20) + 5;
        let mut block = super::to_fill(len).expect("a mapping");
        assert_eq!(block.ptr() as usize % super::HUGE_PAGE, 0);
        let b = bytes(&mut block, len);
        assert!(b.iter().all(|&b| b == 0));
        b.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        assert!(b.iter().enumerate().all(|(i, &b)| b == i as u8));
    }

    #[test]
    fn a_dropped_block_is_given_to_the_next_request_of_its_size_until_released() {
        // A length no other test asks for: the kept blocks are the process's.
        let len = (5 << 20) + 4096 * 3;
        let mut block = super::to_fill(len).expect("a mapping");
        bytes(&mut block, len).fill(7);
        let addr = block.ptr() as usize;
        drop(block);
        let other = super::to_fill(len + 4096).expect("a mapping");
        assert_ne!(
            other.ptr() as usize,
            addr,
            "another size gets its own block"
        );
        let mut again = super::to_fill(len).expect("a mapping");
        assert_eq!(again.ptr() as usize, addr, "the dropped block is reused");
        // Its old contents, or zeros where the kernel took the pages back.
        assert!(bytes(&mut again, len).iter().all(|&b| b == 7 || b == 0));
        drop(again);
        super::release_recycled();
        assert!(!super::RECYCLED.lock().by_len.contains_key(&len));
        let mut fresh = super::to_fill(len).expect("a mapping");
        assert!(
            bytes(&mut fresh, len).iter().all(|&b| b == 0),
            "a new mapping"
        );
    }
}
