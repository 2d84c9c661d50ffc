//! Host tasks: work that must run on the host language's own thread (R is single-threaded;
//! Julia cannot run code on foreign threads). Ready host-affine tasks wait here until a host
//! thread waits on a future (it runs them while it waits) or polls `run_host_tasks` from its
//! event loop; an optional notifier tells the host that something was queued.

use super::pool::run_job;
use crate::runtime::scheduler::Job;
use crate::runtime::signal::Signal;
use parking_lot::{Mutex, RwLock};
use std::collections::VecDeque;
use std::sync::Arc;

/// Called (from any thread) each time a host task is queued; e.g. `uv_async_send` for Julia.
pub type HostNotify = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
pub(crate) struct HostQueue {
    jobs: Mutex<VecDeque<Job>>,
    waiters: Mutex<Vec<Arc<Signal>>>,
    notify: RwLock<Option<HostNotify>>,
}

impl HostQueue {
    pub(crate) fn push(&self, job: Job) {
        self.jobs.lock().push_back(job);
        for s in self.waiters.lock().iter() {
            s.notify();
        }
        let notify = self.notify.read().clone();
        if let Some(notify) = notify {
            notify();
        }
    }

    pub(crate) fn pop(&self) -> Option<Job> {
        self.jobs.lock().pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.jobs.lock().len()
    }

    pub(crate) fn clear(&self) {
        let drained: Vec<Job> = self.jobs.lock().drain(..).collect();
        drop(drained);
    }

    pub(crate) fn set_notify(&self, notify: Option<HostNotify>) {
        *self.notify.write() = notify;
    }

    /// Registers a waiting host thread, woken when a host task is queued.
    pub(crate) fn add_waiter(&self, s: &Arc<Signal>) {
        let mut waiters = self.waiters.lock();
        if !waiters.iter().any(|w| Arc::ptr_eq(w, s)) {
            waiters.push(s.clone());
        }
    }

    pub(crate) fn remove_waiter(&self, s: &Arc<Signal>) {
        self.waiters.lock().retain(|w| !Arc::ptr_eq(w, s));
    }

    /// Runs up to `max` queued host tasks on the calling thread; returns how many ran.
    pub(crate) fn run_pending(&self, max: usize) -> usize {
        let mut ran = 0;
        while ran < max {
            match self.pop() {
                Some(job) => {
                    run_job(job);
                    ran += 1;
                }
                None => break,
            }
        }
        ran
    }
}

/// Host objects the library no longer references, by the host's own token. A host object
/// lent to the library (a rooted Julia array wrapped without copying, an R object carried
/// by a task) may be let go on any thread, but only the host's own thread may unroot it:
/// the release only queues the token, and the host drains the queue on its thread. A token
/// carries its host's id in its top 16 bits, so that two hosts in one process (R calling
/// Julia, say) each drain only their own.
static RELEASED_HOST_REFS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Bits a token's host id is shifted by.
pub(crate) const HOST_TAG_SHIFT: u32 = 48;

/// Queues `token` as released (any thread).
pub fn release_host_ref(token: u64) {
    RELEASED_HOST_REFS.lock().push(token);
}

/// Takes up to `max` released tokens of `host` (their top 16 bits), oldest first.
pub fn take_released_host_refs(host: u16, max: usize) -> Vec<u64> {
    let mut q = RELEASED_HOST_REFS.lock();
    let mut taken = Vec::new();
    q.retain(|&t| {
        if taken.len() < max && (t >> HOST_TAG_SHIFT) as u16 == host {
            taken.push(t);
            false
        } else {
            true
        }
    });
    taken
}
