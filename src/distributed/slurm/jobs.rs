//! A Slurm cluster's jobs: submitted, waiting to start, joined; and the adaptive step that
//! matches them to the scheduler's advice.

use crate::distributed::adaptive::{Adaptive, Scale};
use crate::distributed::scheduler::state::AdaptRule;
use crate::error::{Error, Result};
use crate::runtime::Client;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs a Slurm command; its standard output, or an error with its standard error.
pub(super) fn slurm(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        Error::Io(format!(
            "cannot run {program} ({e}): is Slurm installed and on the PATH?"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Io(format!(
            "{program} {}: {} {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The ids of the jobs in Slurm's queue (pending or running).
fn squeue_ids() -> Result<HashSet<String>> {
    Ok(slurm("squeue", &["-h", "-o", "%i"])?
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// The job of a worker named by its job script (`slurm-<job id>`).
fn job_of(worker: &str) -> Option<&str> {
    worker.strip_prefix("slurm-")
}

/// The jobs of one cluster (behind a mutex: the adaptive loop and callers share them).
pub(super) struct Jobs {
    pub script: PathBuf,
    /// Every job submitted (each still in squeue is cancelled at the end).
    pub all: Vec<String>,
    /// Jobs submitted whose worker has not joined yet.
    pub pending: Vec<String>,
    /// Jobs whose worker has joined.
    joined: HashSet<String>,
    /// Since when fewer workers than those joined and pending have been wanted (pending
    /// jobs are cancelled only once that has lasted the idle grace period: a queue that
    /// empties between two graphs does not cancel the jobs the next one needs).
    fewer_wanted_since: Option<Instant>,
    /// Workers connected at the last adaptive step.
    pub connected: usize,
}

impl Jobs {
    pub fn new(script: PathBuf) -> Jobs {
        Jobs {
            script,
            all: Vec::new(),
            pending: Vec::new(),
            joined: HashSet::new(),
            fewer_wanted_since: None,
            connected: 0,
        }
    }

    /// Submits one more worker job.
    pub fn submit(&mut self) -> Result<String> {
        let script = self.script.display().to_string();
        let out = slurm("sbatch", &["--parsable", &script])?;
        // `--parsable` prints "<job id>" or "<job id>;<cluster>".
        let id = out.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Io(format!("sbatch printed {out:?}, not a job id")));
        }
        self.all.push(id.clone());
        self.pending.push(id.clone());
        Ok(id)
    }

    /// One adaptive step: asks the scheduler (through `client`) how many workers it wants,
    /// submits jobs (at most `max_pending` waiting to start) or cancels pending ones, and
    /// cancels the jobs of the idle workers the scheduler has told to retire. Returns what
    /// it did, if anything.
    pub fn step(&mut self, client: &Client, a: &Adaptive, cpus: usize) -> Result<Option<String>> {
        let advice = client.adapt_advice(&AdaptRule {
            min: a.min,
            max: a.max,
            threads_per_worker: cpus,
            idle_grace: a.idle_grace,
        })?;
        let mut did = Vec::new();
        self.connected = advice.workers.len();
        for name in &advice.workers {
            if let Some(job) = job_of(name) {
                self.joined.insert(job.to_string());
            }
        }
        let joined = &self.joined;
        self.pending.retain(|j| !joined.contains(j));
        // A retiring worker's job ends when the worker leaves; cancelling it makes sure.
        let retired: Vec<&str> = advice.retiring.iter().filter_map(|n| job_of(n)).collect();
        if !retired.is_empty() {
            cancel_jobs(&retired)?;
            did.push(format!(
                "idle workers let go: {}",
                advice.retiring.join(" ")
            ));
        }
        if !self.pending.is_empty() {
            // Jobs that ended before their worker joined (see their logs) wait no more.
            let queued = squeue_ids()?;
            self.pending.retain(|j| queued.contains(j));
        }
        let before = format!(
            "target {} workers ({} connected, {} pending)",
            advice.target,
            advice.workers.len(),
            self.pending.len()
        );
        let scale = a.plan(advice.target, advice.workers.len(), self.pending.len());
        if !matches!(scale, Scale::CancelPending(_)) {
            self.fewer_wanted_since = None;
        }
        match scale {
            Scale::Stay => {}
            Scale::CancelPending(_)
                if self
                    .fewer_wanted_since
                    .get_or_insert_with(Instant::now)
                    .elapsed()
                    < a.idle_grace => {}
            Scale::Start(n) => {
                let ids = (0..n).map(|_| self.submit()).collect::<Result<Vec<_>>>()?;
                did.push(format!("submitted {}", ids.join(" ")));
            }
            Scale::CancelPending(n) => {
                let gone = self.pending.split_off(self.pending.len() - n);
                let ids: Vec<&str> = gone.iter().map(String::as_str).collect();
                cancel_jobs(&ids)?;
                self.fewer_wanted_since = None;
                did.push(format!("cancelled pending {}", gone.join(" ")));
            }
        }
        Ok((!did.is_empty()).then(|| format!("{before}: {}", did.join("; "))))
    }

    /// Cancels every job and waits (up to 30 s) for them to leave the queue.
    pub fn cancel_all(&mut self) -> Result<()> {
        if self.all.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = self.all.iter().map(String::as_str).collect();
        cancel_jobs(&ids)?;
        // scancel only asks: wait (bounded) for the jobs to end while the scheduler still
        // runs, so each worker retires on Slurm's SIGTERM rather than being dropped by a
        // scheduler that closes first.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match squeue_ids() {
                Ok(q) if self.all.iter().any(|j| q.contains(j)) => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
        self.all.clear();
        self.pending.clear();
        Ok(())
    }
}

/// `scancel`s these jobs (those already ended are skipped).
fn cancel_jobs(ids: &[&str]) -> Result<()> {
    let queued = squeue_ids()?;
    let live: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|j| queued.contains(*j))
        .collect();
    if !live.is_empty() {
        slurm("scancel", &live)?;
    }
    Ok(())
}
