//! Parallel work inside one task — copying blocks into a gathered result, the rows of a sparse
//! product, the lz4 blocks of a large frame, the spiller's lanes — runs on the client's own
//! pool through this one helper, and never on threads of its own.
//!
//! The calling thread always does its share; idle pool threads join in (each helper runs the
//! same body, which takes its work from a shared counter or queue), and a helper that starts
//! after the work is done does nothing. The caller therefore never waits for a helper that has
//! not started, so the helper cannot deadlock a busy pool: with every thread busy, the caller
//! simply does all the work itself. Inside a task, the work stops being handed out once the
//! task is cancelled.
//!
//! Which pool: a pool thread's own; on the spiller thread, its client's pool; on any other
//! thread, the default pool (that of the most recently created client, as Dask's default
//! client); with no client at all, the calling thread alone.
//!
//! This sits below every other module: the runtime provides the pool (the [`Lanes`] trait)
//! and installs it per thread.

use parking_lot::{Condvar, Mutex, RwLock};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// A pool that can lend idle threads.
pub(crate) trait Lanes: Send + Sync {
    /// Threads of the pool.
    fn width(&self) -> usize;
    /// Hands `helpers` runs of `job` to threads of the pool that are or become idle.
    fn offer(&self, helpers: usize, job: Arc<dyn HelpJob>);
}

/// A piece of parallel work a pool thread can join.
pub(crate) trait HelpJob: Send + Sync {
    fn help(&self);
}

thread_local! {
    static LANES: RefCell<Option<Arc<dyn Lanes>>> = const { RefCell::new(None) };
    /// The cancel flag of the task running on this thread, if any.
    static CANCEL: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
}

/// The pool for parallel work started outside any pool, with the process it runs in (a
/// forked child has no such threads: its work then runs serially).
static DEFAULT: RwLock<Option<(u32, Weak<dyn Lanes>)>> = RwLock::new(None);

/// Makes `lanes` the pool of the calling thread (a pool's worker, the spiller) until changed.
pub(crate) fn set_thread_lanes(lanes: Option<Arc<dyn Lanes>>) {
    LANES.with(|l| *l.borrow_mut() = lanes);
}

/// Makes `lanes` the pool of threads that have none of their own (the newest client's).
pub(crate) fn set_default_lanes(lanes: Weak<dyn Lanes>) {
    *DEFAULT.write() = Some((crate::runtime::fork::current(), lanes));
}

fn current_lanes() -> Option<Arc<dyn Lanes>> {
    LANES.with(|l| l.borrow().clone()).or_else(|| {
        DEFAULT
            .read()
            .as_ref()
            .filter(|(pid, _)| *pid == crate::runtime::fork::current())
            .and_then(|(_, lanes)| lanes.upgrade())
    })
}

/// Threads available to parallel work from this thread (1 with no pool).
pub(crate) fn width() -> usize {
    current_lanes().map_or(1, |l| l.width().max(1))
}

/// Runs `f` with `flag` as the calling thread's task cancel flag (the scheduler wraps each
/// task's body in this).
pub(crate) fn with_cancel_flag<R>(flag: &AtomicBool, f: impl FnOnce() -> R) -> R {
    /// Puts the previous flag back even when `f` panics, so the thread never keeps a pointer
    /// to a flag that outlives its task.
    struct Restore(*const AtomicBool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CANCEL.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CANCEL.with(|c| c.replace(flag as *const AtomicBool)));
    f()
}

struct ScopeState {
    open: bool,
    active: usize,
    panic: Option<Box<dyn Any + Send>>,
}

/// One call of `lanes` as the pool sees it.
struct Scope {
    /// The body, valid while `open` (the caller is still inside `lanes`).
    body: *const (dyn Fn() + Sync + 'static),
    state: Mutex<ScopeState>,
    finished: Condvar,
}

// SAFETY: `body` is only dereferenced while the caller of `lanes` keeps the closure alive
// (`open`), and the closure is `Sync`.
unsafe impl Send for Scope {}
// SAFETY: as above.
unsafe impl Sync for Scope {}

impl HelpJob for Scope {
    fn help(&self) {
        {
            let mut st = self.state.lock();
            if !st.open {
                return;
            }
            st.active += 1;
        }
        // SAFETY: the scope is open, so the caller is inside `lanes` and the body is alive
        // until `active` falls back to zero (the caller waits for that before returning).
        let r = catch_unwind(AssertUnwindSafe(|| unsafe { (*self.body)() }));
        let mut st = self.state.lock();
        st.active -= 1;
        if let Err(p) = r {
            st.panic.get_or_insert(p);
        }
        if st.active == 0 {
            self.finished.notify_all();
        }
    }
}

/// Runs `body` on the calling thread and on up to `max - 1` idle threads of the pool at once;
/// returns when every run that started has returned. `body` takes its work from shared state
/// (a counter, a queue) and returns when none is left. A panic in any run is resumed here.
pub(crate) fn lanes(max: usize, body: &(dyn Fn() + Sync)) {
    let pool = match current_lanes() {
        Some(p) if max > 1 && p.width() > 1 => p,
        _ => return body(),
    };
    let helpers = max.min(pool.width()) - 1;
    // SAFETY (lifetime): the scope is closed, and every run that started has returned, before
    // this function returns; runs that start later see the scope closed and skip the body.
    let body: *const (dyn Fn() + Sync + '_) = body;
    let body: *const (dyn Fn() + Sync + 'static) = unsafe { std::mem::transmute(body) };
    let scope = Arc::new(Scope {
        body,
        state: Mutex::new(ScopeState {
            open: true,
            active: 0,
            panic: None,
        }),
        finished: Condvar::new(),
    });
    pool.offer(helpers, scope.clone());
    // SAFETY: the body is alive: it is the caller's argument.
    let mine = catch_unwind(AssertUnwindSafe(|| unsafe { (*scope.body)() }));
    let panic = {
        let mut st = scope.state.lock();
        st.open = false;
        while st.active > 0 {
            scope.finished.wait(&mut st);
        }
        st.panic.take()
    };
    if let Err(p) = mine {
        resume_unwind(p);
    }
    if let Some(p) = panic {
        resume_unwind(p);
    }
}

/// Calls `f(i)` for every `i` in `0..n`, spread over the pool as [`lanes`]; items are claimed
/// one at a time, so uneven items balance. Returns false when the calling task was cancelled
/// before every item ran (the rest were not started).
pub(crate) fn for_each(n: usize, f: impl Fn(usize) + Sync) -> bool {
    let flag = CANCEL.with(Cell::get);
    // SAFETY: as in `cancelled`: the calling task's node outlives this call, and the helpers
    // only run inside it.
    let flag: Option<&AtomicBool> = unsafe { flag.as_ref() };
    let stop = || flag.is_some_and(|f| f.load(Ordering::Relaxed));
    let next = AtomicUsize::new(0);
    lanes(n, &|| loop {
        if stop() {
            return;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            return;
        }
        f(i);
    });
    !stop() || next.load(Ordering::Relaxed) >= n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_task_body_leaves_no_cancel_flag_behind() {
        let flag = AtomicBool::new(true);
        let r = catch_unwind(AssertUnwindSafe(|| {
            with_cancel_flag(&flag, || {
                if flag.load(Ordering::Relaxed) {
                    panic!("task body")
                }
            })
        }));
        assert!(r.is_err());
        assert!(CANCEL.with(Cell::get).is_null());
        // With no flag left behind, parallel work on this thread is not "cancelled".
        assert!(for_each(3, |_| {}));
    }
}
