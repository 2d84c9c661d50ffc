//! Large buffers filled right after they are allocated (a column decoded from a file, …)
//! ask the kernel for transparent huge pages: their first touch then costs one fault per
//! 2 MiB instead of one per 4 KiB. Where the system's THP mode is `madvise` (Debian's
//! default), that fault cost was the largest part of reading a large Parquet partition
//! (benches/README.md, "the column engine"). Advice only: nothing changes where THP is off.

/// Buffers smaller than this are left alone (a huge page would not fit them).
const WORTH_IT: usize = 4 << 20;

/// Advises huge pages for the whole pages inside `len` bytes from `start`.
pub(crate) fn advise(start: usize, len: usize) {
    if len < WORTH_IT {
        return;
    }
    const PAGE: usize = 4096;
    let from = start.next_multiple_of(PAGE);
    let to = (start + len) & !(PAGE - 1);
    if to > from {
        // SAFETY: the range lies inside an allocation the caller owns; MADV_HUGEPAGE changes
        // no contents and no mapping, only how later faults are served. A failure (THP
        // unsupported) leaves the memory as it was and is ignored.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}
