//! Futures: reference-counted handles on a task's result.
//!
//! While a `Future` (or a clone) lives, its value stays in the store; when the last one is
//! dropped and no pending task needs the value, it is freed, and a task that has not run yet is
//! cancelled. Waiting blocks the calling thread without spinning; a pool thread waiting inside a
//! task runs other pool work meanwhile, and a host thread runs queued host tasks meanwhile.

use super::run::{Cell, FutureStatus, Waiter};
use crate::error::{Error, Result};
use crate::value::Value;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A handle on the result of a task (Dask's `Future`).
///
/// Also a `std::future::Future`: `.await` it on any executor.
pub struct Future {
    cell: Cell,
    /// Where this handle's async waker lives, registered once with the node.
    waker: Option<Arc<Mutex<Option<Waker>>>>,
}

impl Future {
    pub(crate) fn new(cell: Cell) -> Future {
        cell.add_handle();
        Future { cell, waker: None }
    }

    pub(crate) fn cell(&self) -> &Cell {
        &self.cell
    }

    /// Identifies the result this future refers to (equal for clones).
    pub(crate) fn identity(&self) -> (usize, usize) {
        (Arc::as_ptr(&self.cell.run) as usize, self.cell.idx as usize)
    }

    /// The task's key (the graph key, or a generated `op-run-index` name).
    pub fn key(&self) -> String {
        self.cell.key()
    }

    pub fn status(&self) -> FutureStatus {
        self.cell.status()
    }

    /// True once the task finished, failed or was cancelled.
    pub fn is_done(&self) -> bool {
        self.cell.is_terminal()
    }

    /// Blocks until the task is done.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// The progress of the computation this future belongs to: its tasks concluded (done,
    /// failed or cancelled) and its tasks in all. On a cluster, the computation's outputs
    /// (the cluster reports those, not every task).
    pub fn progress(&self) -> (usize, usize) {
        self.cell.run.concluded()
    }

    /// Like [`wait_timeout`](Self::wait_timeout) (`None`: no limit), drawing the
    /// computation's progress bar on `bar` meanwhile (see [`crate::observe::Bar`]).
    pub fn wait_showing_progress(
        &self,
        bar: &mut crate::observe::Bar,
        timeout: Option<Duration>,
    ) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let (done, total) = self.progress();
            bar.update(done, total);
            let step = Instant::now() + crate::observe::Bar::REDRAW_EVERY;
            let until = deadline.map_or(step, |d| d.min(step));
            if self.wait_until(Some(until)) {
                let (done, total) = self.progress();
                bar.finish(done, total);
                return true;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                bar.interrupt();
                return false;
            }
        }
    }

    /// Blocks until the task is done or `timeout` passed; true when done.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.cell.is_terminal() {
            return true;
        }
        if self.forked().is_err() {
            return false; // nothing will ever run it here: never wait (`result` says why)
        }
        // The executor that runs the task decides how a thread waits for it (a pool thread
        // runs other pool work meanwhile, a host thread runs host tasks). A paced run does
        // not hold back what the waited-on node needs.
        let run = &self.cell.run;
        run.wait_begins(self.cell.idx);
        let done = run.exec.wait(&self.cell, deadline);
        run.wait_ends();
        done
    }

    /// Waits for the task and returns its value, or the error it failed with.
    pub fn result(&self) -> Result<Arc<Value>> {
        self.wait();
        self.outcome()
    }

    /// Fails in a forked child of the process that runs this task (see `runtime::fork`):
    /// there it would never finish.
    pub fn check_process(&self) -> Result<()> {
        crate::runtime::fork::check(self.cell.run.pid, "future")
    }

    fn forked(&self) -> Result<()> {
        self.check_process()
    }

    /// Like [`result`](Self::result), giving up after `timeout` with [`Error::Timeout`].
    pub fn result_timeout(&self, timeout: Duration) -> Result<Arc<Value>> {
        if !self.is_done() {
            self.forked()?;
        }
        if !self.wait_timeout(timeout) {
            return Err(Error::Timeout(timeout));
        }
        self.outcome()
    }

    fn outcome(&self) -> Result<Arc<Value>> {
        if !self.cell.is_terminal() {
            self.forked()?;
        }
        match self.cell.outcome() {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(Error::Task(e)),
            None => Err(Error::invalid(format!(
                "future '{}' has no result",
                self.key()
            ))),
        }
    }

    /// The error the task failed (or was cancelled) with, once it is done.
    pub fn error(&self) -> Option<Arc<crate::error::TaskError>> {
        if !self.cell.is_terminal() {
            return None;
        }
        self.cell.failure()
    }

    /// Cancels the task if it has not finished, and the tasks that only it needed. Tasks that
    /// depend on it fail as cancelled. A running task finishes, but its result is dropped.
    pub fn cancel(&self) {
        self.cell.cancel();
    }

    /// Starts fetching a finished result that lives on a cluster's worker, so reading it
    /// soon after does not wait on the network (readers of many results overlap their
    /// transfers this way). Does nothing for results held in this process or not finished.
    pub fn prefetch(&self) {
        if self.cell.is_terminal() {
            self.cell.prefetch();
        }
    }

    /// Calls `callback` once the task is done: on the thread that finished it (usually a pool
    /// thread), or at once on this thread if it is done already. A panic in it is contained.
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future) + Send + 'static) {
        let me = self.clone();
        self.cell
            .add_waiter(Waiter::Callback(Box::new(move || callback(&me))));
    }
}

impl Clone for Future {
    fn clone(&self) -> Self {
        Future::new(self.cell.clone())
    }
}

impl Drop for Future {
    fn drop(&mut self) {
        self.cell.drop_handle();
    }
}

impl std::fmt::Debug for Future {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Future({}, {:?})", self.key(), self.status())
    }
}

impl std::future::Future for Future {
    type Output = Result<Arc<Value>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.cell.is_terminal() {
            return Poll::Ready(self.outcome());
        }
        match &self.waker {
            Some(slot) => *slot.lock() = Some(cx.waker().clone()),
            None => {
                let slot = Arc::new(Mutex::new(Some(cx.waker().clone())));
                self.waker = Some(slot.clone());
                self.cell.add_waiter(Waiter::Waker(slot));
            }
        }
        if self.cell.is_terminal() {
            return Poll::Ready(self.outcome());
        }
        Poll::Pending
    }
}

/// Waits until every future is done, or until `timeout` (None: forever) passes.
pub fn wait_all(futures: &[Future], timeout: Option<Duration>) -> Result<()> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    for f in futures {
        if !f.wait_until(deadline) {
            return Err(Error::Timeout(timeout.unwrap_or_default()));
        }
    }
    Ok(())
}

/// Yields futures in the order they finish (Dask's `as_completed`).
pub struct AsCompleted {
    futures: Vec<Option<Future>>,
    done: Receiver<usize>,
    left: usize,
}

impl AsCompleted {
    pub fn new(futures: Vec<Future>) -> AsCompleted {
        let (tx, rx) = crossbeam_channel::unbounded();
        for (i, f) in futures.iter().enumerate() {
            let tx = tx.clone();
            f.cell.add_waiter(Waiter::Callback(Box::new(move || {
                let _ = tx.send(i);
            })));
        }
        AsCompleted {
            left: futures.len(),
            futures: futures.into_iter().map(Some).collect(),
            done: rx,
        }
    }

    /// The index (in the list given) and future of the next one to finish; `Ok(None)` when all
    /// have been returned, [`Error::Timeout`] when none finished within `timeout`.
    pub fn next_timeout(&mut self, timeout: Option<Duration>) -> Result<Option<(usize, Future)>> {
        if self.left == 0 {
            return Ok(None);
        }
        let i = match timeout {
            None => self
                .recv_helping(None)
                .map_err(|_| Error::invalid("as_completed lost track of its futures"))?,
            Some(t) => self
                .recv_helping(Instant::now().checked_add(t))
                .map_err(|_| Error::Timeout(t))?,
        };
        self.left -= 1;
        let f = self.futures[i].take().expect("each future completes once");
        Ok(Some((i, f)))
    }

    /// Receives the next index; on a host thread, host tasks run while waiting.
    fn recv_helping(&self, deadline: Option<Instant>) -> std::result::Result<usize, ()> {
        let pending = self.futures.iter().flatten().find(|f| !f.is_done());
        loop {
            if let Ok(i) = self.done.try_recv() {
                return Ok(i);
            }
            // Wait on some pending future so host tasks and pool help keep flowing; bounded
            // slices keep us responsive to completions of the other futures.
            let slice = Instant::now() + Duration::from_millis(5);
            let until = deadline.map_or(slice, |d| d.min(slice));
            match pending {
                Some(f) if !f.is_done() => {
                    f.wait_until(Some(until));
                }
                _ => match self.done.recv_deadline(until) {
                    Ok(i) => return Ok(i),
                    Err(RecvTimeoutError::Disconnected) => return Err(()),
                    Err(RecvTimeoutError::Timeout) => {}
                },
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return self.done.try_recv().map_err(|_| ());
            }
        }
    }
}

impl Iterator for AsCompleted {
    type Item = Future;
    fn next(&mut self) -> Option<Future> {
        self.next_timeout(None).ok().flatten().map(|(_, f)| f)
    }
}
