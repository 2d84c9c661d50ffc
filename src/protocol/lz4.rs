//! LZ4 frames as independent 1 MiB blocks, compressed and decompressed on the client's pool:
//! one 8 MiB frame goes through lz4 several times faster than as one block, and the spiller
//! usually runs while tasks are paused, with the cores free.
//!
//! Stored layout: block count (u32), each block's compressed length (u32), the blocks.

use crate::error::{Error, Result};
use parking_lot::Mutex;

/// Raw bytes per block.
const BLOCK: usize = 1 << 20;
/// Frames below this are done on the calling thread.
const PARALLEL_FROM: usize = 4 * BLOCK;

thread_local! {
    /// Set on threads whose caller already keeps every core busy.
    static ONE_CORE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the lz4 work it does kept on the calling thread: for callers that already
/// run one such thread per core (the spiller's lanes), where splitting each frame over the
/// cores again would only add threads to start and switch between.
pub(crate) fn on_this_core<R>(f: impl FnOnce() -> R) -> R {
    let was = ONE_CORE.replace(true);
    let r = f();
    ONE_CORE.set(was);
    r
}

/// Runs `f` over `items` on the client's pool (see `crate::parallel`), keeping the order of
/// the results.
fn parallel<T: Send, R: Send>(items: Vec<T>, total: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 || total < PARALLEL_FROM || ONE_CORE.get() {
        return items.into_iter().map(f).collect();
    }
    let n = items.len();
    let inputs: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let outputs: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let run = |i: usize| {
        if let Some(t) = inputs[i].lock().take() {
            *outputs[i].lock() = Some(f(t));
        }
    };
    // Frames are written and read whole: a cancelled task's leftovers run here.
    crate::parallel::for_each(n, run);
    (0..n).for_each(run);
    outputs
        .into_iter()
        .map(|o| o.into_inner().expect("every block was done"))
        .collect()
}

/// Worst-case compressed size of a block of `n` raw bytes (`LZ4_COMPRESSBOUND`).
fn bound(n: usize) -> usize {
    n + n / 255 + 16
}

/// `raw` compressed. Every block is compressed straight into the output, at its worst-case
/// offset, and the blocks are then moved together: one allocation per frame, never zeroed,
/// of which only the bytes lz4 writes are touched (a compressible 8 MiB frame becomes a few
/// pages), and no per-block buffers to allocate, copy and free.
pub(super) fn compress(raw: &[u8]) -> Vec<u8> {
    let blocks: Vec<&[u8]> = raw.chunks(BLOCK).collect();
    let head = 4 + 4 * blocks.len();
    let mut starts = Vec::with_capacity(blocks.len());
    let mut room = head;
    for b in &blocks {
        starts.push(room);
        room += bound(b.len());
    }
    let mut out: Vec<u8> = Vec::with_capacity(room);
    let base = out.as_mut_ptr() as usize;
    let jobs: Vec<(&[u8], usize)> = blocks.into_iter().zip(starts.iter().copied()).collect();
    let sizes = parallel(jobs, raw.len(), |(block, start)| {
        // SAFETY: a block is at most 1 MiB, so the sizes fit a C int; each job writes only
        // its own [start, start + bound) range of `out`'s capacity, disjoint from the others'.
        let n = unsafe {
            lz4::liblz4::LZ4_compress_default(
                block.as_ptr().cast(),
                (base + start) as *mut std::ffi::c_char,
                block.len() as std::ffi::c_int,
                bound(block.len()) as std::ffi::c_int,
            )
        };
        assert!(n > 0, "lz4 cannot fail with worst-case room");
        n as usize
    });
    let mut at = head;
    for (&len, &start) in sizes.iter().zip(&starts) {
        // SAFETY: `at <= start`, both inside the capacity; `copy` allows the overlap.
        unsafe { std::ptr::copy((base + start) as *const u8, (base + at) as *mut u8, len) };
        at += len;
    }
    let mut table = Vec::with_capacity(head);
    table.extend_from_slice(&(sizes.len() as u32).to_le_bytes());
    for &len in &sizes {
        table.extend_from_slice(&(len as u32).to_le_bytes());
    }
    // SAFETY: the table goes into the first `head` bytes of the capacity.
    unsafe { std::ptr::copy_nonoverlapping(table.as_ptr(), base as *mut u8, head) };
    // SAFETY: bytes [0, at) are all written: the table, then the packed blocks.
    unsafe { out.set_len(at) };
    out
}

/// Decompresses `stored` into `out` (exactly its length), checking every length.
pub(super) fn decompress(stored: &[u8], out: &mut [u8], what: &str) -> Result<()> {
    let corrupt = |why: String| Error::Corrupt(format!("{what}: lz4 frame: {why}"));
    let word = |at: usize| -> Result<usize> {
        stored
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| corrupt("truncated block table".into()))
    };
    let n = word(0)?;
    let expected = out.len().div_ceil(BLOCK);
    if n != expected {
        return Err(corrupt(format!("{n} blocks, expected {expected}")));
    }
    let mut at = 4 + 4 * n;
    let mut pieces: Vec<(&[u8], &mut [u8])> = Vec::with_capacity(n);
    for (k, dst) in out.chunks_mut(BLOCK).enumerate() {
        let len = word(4 + 4 * k)?;
        if len > bound(BLOCK) {
            return Err(corrupt(format!("a block of {len} compressed bytes")));
        }
        let src = stored
            .get(at..at + len)
            .ok_or_else(|| corrupt("a block runs past the frame".into()))?;
        at += len;
        pieces.push((src, dst));
    }
    if at != stored.len() {
        return Err(corrupt("trailing bytes".into()));
    }
    let total = out_len(&pieces);
    let results = parallel(pieces, total, |(src, dst)| {
        let want = dst.len();
        // LZ4_decompress_safe: bounds-checked on both sides, whatever the input.
        match lz4::block::decompress_to_buffer(src, Some(want as i32), dst) {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(format!("a block decoded to {got} bytes, not {want}")),
            Err(_) => Err("a block does not decode".into()),
        }
    });
    results
        .into_iter()
        .collect::<std::result::Result<(), String>>()
        .map_err(corrupt)
}

fn out_len(pieces: &[(&[u8], &mut [u8])]) -> usize {
    pieces.iter().map(|p| p.1.len()).sum()
}
