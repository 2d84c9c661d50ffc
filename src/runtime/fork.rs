//! Forked processes. `fork()` copies a process with only the forking thread: a client's pool
//! threads do not exist in the child, so anything waiting there for them would wait forever
//! (R's `parallel::mclapply` forks after a `compute()`). Clients and runs remember the process
//! that made them; used in another process they fail at once with a clear error instead.
//!
//! Nor can a child start a runtime of its own while its parent had one running: the locks the
//! runtime uses (parking_lot's) keep process-wide state that the parent's threads were in the
//! middle of using at the fork, and a fresh pool in the child was seen to lose a wake-up and
//! hang. So a new client in such a child fails with a clear error too; a process that forks
//! before its first client, or after freeing them all, or starts its workers with exec
//! (R's PSOCK clusters, Julia's `addprocs`) is unaffected.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The process whose runtimes `LIVE` counts, and how many are running (pools not yet freed).
static OWNER: AtomicU32 = AtomicU32::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Records a runtime starting in this process; fails in a fork's child whose parent had
/// runtimes running (see the module notes).
pub(crate) fn runtime_starts() -> Result<()> {
    let here = current();
    let owner = OWNER.load(Ordering::SeqCst);
    if owner != 0 && owner != here && LIVE.load(Ordering::SeqCst) > 0 {
        return Err(Error::InvalidArgument(format!(
            "this is process {here}, a fork of process {owner} while it ran libdask's thread \
             pools: a new client cannot start safely here (the locks' shared state is the \
             parent's); fork before the first client or after freeing them all, or start \
             workers with exec (R: parallel::makeCluster(type = \"PSOCK\"))"
        )));
    }
    if owner != here {
        OWNER.store(here, Ordering::SeqCst);
        LIVE.store(0, Ordering::SeqCst);
    }
    LIVE.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// Records a runtime of this process stopping (its threads joined).
pub(crate) fn runtime_stops() {
    if OWNER.load(Ordering::SeqCst) == current() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// This process's id, remembered: every run and future checks it, and asking the kernel
/// each time (glibc no longer caches it) was a measurable share of a worker's short tasks.
/// A fork's child forgets it (`pthread_atfork`), so it is asked again there.
pub(crate) fn current() -> u32 {
    match PID.load(Ordering::Relaxed) {
        0 => {
            static FORGET_IN_CHILD: std::sync::Once = std::sync::Once::new();
            FORGET_IN_CHILD.call_once(|| {
                // SAFETY: registers a handler that only stores to an atomic, which is
                // async-signal-safe as a fork's child requires.
                unsafe { libc::pthread_atfork(None, None, Some(forget_pid)) };
            });
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

static PID: AtomicU32 = AtomicU32::new(0);

extern "C" fn forget_pid() {
    PID.store(0, Ordering::Relaxed);
}

/// Fails when the calling process is not `owner`, the process that made the `what`.
pub(crate) fn check(owner: u32, what: &str) -> Result<()> {
    let here = current();
    if here == owner {
        return Ok(());
    }
    Err(Error::InvalidHandle(format!(
        "this {what} belongs to process {owner}, and this is process {here} (a fork of it): \
         its threads do not exist here; make a new client in this process"
    )))
}
