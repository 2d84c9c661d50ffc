//! Progress reporting for one computation: tasks finished out of the total.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Called with (tasks finished, total) as a computation advances, from whichever thread
/// finished a task (usually a pool thread). At most ~1000 calls per computation, the last one
/// with finished == total; calls are serialised and never go backwards.
pub type ProgressFn = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How many reports a computation makes at most (a progress bar needs no more).
const STEPS: usize = 1000;

pub(crate) struct Progress {
    total: usize,
    done: AtomicUsize,
    reported: Mutex<usize>,
    callback: ProgressFn,
}

impl Progress {
    pub(crate) fn new(total: usize, callback: ProgressFn) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            reported: Mutex::new(0),
            callback,
        }
    }

    /// Counts one finished task (done, failed or cancelled); reports when a step is crossed.
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::AcqRel) + 1;
        let crossed = done * STEPS / self.total.max(1) != (done - 1) * STEPS / self.total.max(1);
        if crossed || done == self.total {
            let mut reported = self.reported.lock();
            let now = self.done.load(Ordering::Acquire).min(self.total);
            if now > *reported {
                *reported = now;
                (self.callback)(now, self.total);
            }
        }
    }
}
