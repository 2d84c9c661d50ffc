//! A one-shot wake-up flag that a thread can sleep on: the single blocking primitive of the
//! runtime. Idle workers, host threads waiting on futures, and workers waiting inside a task
//! all sleep on their own `Signal`, so whoever makes progress for them can wake exactly them.

use parking_lot::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub(crate) struct Signal {
    notified: Mutex<bool>,
    cv: Condvar,
}

impl Signal {
    /// Wakes the sleeper, or makes its next `wait` return at once.
    pub(crate) fn notify(&self) {
        *self.notified.lock() = true;
        self.cv.notify_one();
    }

    /// Sleeps until notified or until `deadline`; true when notified. Consumes the notification.
    pub(crate) fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut notified = self.notified.lock();
        while !*notified {
            match deadline {
                None => self.cv.wait(&mut notified),
                Some(d) => {
                    if self.cv.wait_until(&mut notified, d).timed_out() {
                        break;
                    }
                }
            }
        }
        std::mem::replace(&mut *notified, false)
    }
}
