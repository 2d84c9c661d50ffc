//! A cluster whose workers are Slurm batch jobs, as dask-jobqueue's `SLURMCluster` makes
//! one: the scheduler runs on this node (listening on every interface, reached by this
//! node's host name), each worker is one job running `libdask worker`. The job script is
//! written to `worker.sbatch` in the cluster's directory, where users can read and adapt it,
//! and each job's output goes to `worker-<job id>.log` beside it. Dropped, the cluster
//! cancels its jobs (`scancel`: Slurm sends them SIGTERM, on which a worker hands its results
//! to its peers and leaves) and stops the scheduler.
//!
//! Adaptive (`SlurmOptions::adapt`), [`SlurmCluster::adapt_step`] turns the scheduler's
//! advice into jobs: more while tasks wait, pending ones cancelled when no longer wanted,
//! and the jobs of the idle workers the scheduler retired cancelled.
//!
//! With TLS the certificates are made in the cluster's directory, which workers on other
//! nodes must see: keep it on a filesystem the nodes share (the default is under the
//! current directory, as Slurm users' job directories usually are).

use super::adaptive::{Adaptive, Scale};
use super::cluster::{LocalCluster, LocalClusterOptions};
use super::scheduler::state::AdaptRule;
use crate::error::{Error, Result};
use crate::runtime::Client;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What the workers' jobs ask Slurm for.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    pub workers: usize,
    /// CPUs per job (`--cpus-per-task`), also the worker's threads.
    pub cpus_per_worker: usize,
    /// Memory per job in bytes (`--mem`), also the worker's memory limit.
    pub mem_per_worker: u64,
    /// The jobs' time limit, in Slurm's `--time` format ("1:00:00").
    pub time: String,
    pub partition: Option<String>,
    pub account: Option<String>,
    /// Mutual TLS with a fresh CA and certificates.
    pub tls: bool,
    /// The cluster's directory: job script, job logs, the scheduler's files.
    pub dir: PathBuf,
    /// Scale between bounds as the scheduler asks (`workers` is then ignored: `min` jobs
    /// are submitted at the start); see [`SlurmCluster::adapt_step`].
    pub adapt: Option<Adaptive>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            workers: 1,
            cpus_per_worker: 1,
            mem_per_worker: 1 << 30,
            time: "1:00:00".into(),
            partition: None,
            account: None,
            tls: false,
            dir: PathBuf::from(format!("libdask-slurm-{}", std::process::id())),
            adapt: None,
        }
    }
}

/// A running scheduler and the Slurm jobs of its workers.
pub struct SlurmCluster {
    /// Every job submitted (each still in squeue is cancelled at the end).
    jobs: Vec<String>,
    /// Jobs submitted whose worker has not joined yet.
    pending: Vec<String>,
    /// Jobs whose worker has joined.
    joined: HashSet<String>,
    adapt: Option<Adaptive>,
    cpus_per_worker: usize,
    /// The adaptive loop's own connection to the scheduler.
    adapt_client: Option<Client>,
    /// Since when fewer workers than those joined and pending have been wanted (pending
    /// jobs are cancelled only once that has lasted the idle grace period: a queue that
    /// empties between two graphs does not cancel the jobs the next one needs).
    fewer_wanted_since: Option<std::time::Instant>,
    scheduler: LocalCluster,
    script: PathBuf,
    dir: PathBuf,
}

/// Runs a Slurm command; its standard output, or an error with its standard error.
fn slurm(program: &str, args: &[&str]) -> Result<String> {
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

/// A shell word: `s` in single quotes, its own single quotes closed and escaped.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The batch script of one worker job of `opts` against `scheduler`.
fn job_script(opts: &SlurmOptions, scheduler: &LocalCluster, dir: &Path) -> String {
    let mib = opts.mem_per_worker.div_ceil(1 << 20).max(1);
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("#SBATCH --job-name=libdask-worker\n");
    s.push_str(&format!(
        "#SBATCH --cpus-per-task={}\n",
        opts.cpus_per_worker
    ));
    s.push_str(&format!("#SBATCH --mem={mib}M\n"));
    s.push_str(&format!("#SBATCH --time={}\n", opts.time));
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(a) = &opts.account {
        s.push_str(&format!("#SBATCH --account={a}\n"));
    }
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        dir.join("worker-%j.log").display()
    ));
    let mut command = vec![
        quoted(&scheduler.program().display().to_string()),
        "worker".into(),
        quoted(scheduler.address()),
        "--nthreads".into(),
        opts.cpus_per_worker.to_string(),
        "--memory-limit".into(),
        (mib << 20).to_string(),
        "--name".into(),
        "slurm-$SLURM_JOB_ID".into(),
        "--death-timeout".into(),
        "60".into(),
    ];
    command.extend(scheduler.worker_tls_args().iter().map(|a| quoted(a)));
    s.push_str("# The worker leaves cleanly on the SIGTERM of scancel or of the time limit.\n");
    s.push_str(&format!("exec {}\n", command.join(" ")));
    s
}

impl SlurmCluster {
    /// Starts the scheduler, writes the job script and submits `opts.workers` jobs (they
    /// join when Slurm starts them: see [`SlurmCluster::wait_for_workers`]).
    pub fn start(opts: SlurmOptions) -> Result<SlurmCluster> {
        if let Some(a) = &opts.adapt {
            a.check()?;
        }
        if (opts.workers == 0 && opts.adapt.is_none()) || opts.cpus_per_worker == 0 {
            return Err(Error::invalid(
                "a Slurm cluster needs at least one worker of at least one CPU",
            ));
        }
        let dir = std::path::absolute(&opts.dir)
            .map_err(|e| Error::Io(format!("{}: {e}", opts.dir.display())))?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?;
        let scheduler = LocalCluster::start(LocalClusterOptions {
            n_workers: 0,
            tls: opts.tls,
            host: "0.0.0.0".into(),
            dir: Some(dir.join("scheduler")),
            worker_timeout: 30.0,
            ..LocalClusterOptions::default()
        })?;
        let script = dir.join("worker.sbatch");
        std::fs::write(&script, job_script(&opts, &scheduler, &dir))
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", script.display())))?;
        let mut cluster = SlurmCluster {
            jobs: Vec::new(),
            pending: Vec::new(),
            joined: HashSet::new(),
            adapt: opts.adapt,
            cpus_per_worker: opts.cpus_per_worker,
            adapt_client: None,
            fewer_wanted_since: None,
            scheduler,
            script,
            dir,
        };
        let first = opts.adapt.map_or(opts.workers, |a| a.min);
        for _ in 0..first {
            cluster.submit()?;
        }
        Ok(cluster)
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
        self.jobs.push(id.clone());
        self.pending.push(id.clone());
        Ok(id)
    }

    /// One step of adaptive scaling (call it every `interval`; `libdask slurm --adapt`
    /// does): asks the scheduler how many workers it wants, submits jobs (at most
    /// `max_pending` waiting to start) or cancels pending ones, and cancels the jobs of the
    /// idle workers the scheduler has told to retire. Returns what it did, if anything.
    pub fn adapt_step(&mut self) -> Result<Option<String>> {
        let Some(a) = self.adapt else {
            return Ok(None);
        };
        if self.adapt_client.is_none() {
            self.adapt_client = Some(self.scheduler.client()?);
        }
        let client = self.adapt_client.as_ref().expect("made above");
        let advice = client.adapt_advice(&AdaptRule {
            min: a.min,
            max: a.max,
            threads_per_worker: self.cpus_per_worker,
            idle_grace: a.idle_grace,
        })?;
        let mut did = Vec::new();
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
            self.cancel_jobs(&retired)?;
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
                    .get_or_insert_with(std::time::Instant::now)
                    .elapsed()
                    < a.idle_grace => {}
            Scale::Start(n) => {
                let ids = (0..n).map(|_| self.submit()).collect::<Result<Vec<_>>>()?;
                did.push(format!("submitted {}", ids.join(" ")));
            }
            Scale::CancelPending(n) => {
                let gone = self.pending.split_off(self.pending.len() - n);
                let ids: Vec<&str> = gone.iter().map(String::as_str).collect();
                self.cancel_jobs(&ids)?;
                self.fewer_wanted_since = None;
                did.push(format!("cancelled pending {}", gone.join(" ")));
            }
        }
        Ok((!did.is_empty()).then(|| format!("{before}: {}", did.join("; "))))
    }

    /// `scancel`s these jobs (those already ended are skipped).
    fn cancel_jobs(&self, ids: &[&str]) -> Result<()> {
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

    /// The scheduler's address.
    pub fn address(&self) -> &str {
        self.scheduler.address()
    }

    /// The job ids of the workers submitted.
    pub fn jobs(&self) -> &[String] {
        &self.jobs
    }

    /// The batch script each worker job runs.
    pub fn script(&self) -> &Path {
        &self.script
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The scheduler's side, for TLS files and clients.
    pub fn scheduler(&self) -> &LocalCluster {
        &self.scheduler
    }

    /// A new client of this cluster.
    pub fn client(&self) -> Result<Client> {
        self.scheduler.client()
    }

    /// Waits until `n` workers have joined (jobs may wait in Slurm's queue first).
    pub fn wait_for_workers(&mut self, n: usize, timeout: Duration) -> Result<()> {
        self.scheduler.wait_for_workers(n, timeout)
    }

    /// Cancels every job of this cluster and waits (up to 30 s) for them to end (done on
    /// drop).
    pub fn cancel(&mut self) -> Result<()> {
        if self.jobs.is_empty() {
            return Ok(());
        }
        // The adaptive loop's connection goes first: the scheduler outlives it.
        self.adapt_client = None;
        let ids: Vec<&str> = self.jobs.iter().map(String::as_str).collect();
        self.cancel_jobs(&ids)?;
        // scancel only asks: wait (bounded) for the jobs to end while the scheduler still
        // runs, so each worker retires on Slurm's SIGTERM rather than being dropped by a
        // scheduler that closes first.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match squeue_ids() {
                Ok(q) if self.jobs.iter().any(|j| q.contains(j)) => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
        self.jobs.clear();
        self.pending.clear();
        Ok(())
    }
}

impl Drop for SlurmCluster {
    /// The jobs first: the scheduler stops after this, when its field is dropped.
    fn drop(&mut self) {
        if let Err(e) = self.cancel() {
            eprintln!(
                "libdask slurm: could not cancel jobs {}: {e}",
                self.jobs.join(" ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn shell_words_keep_their_quotes() {
        assert_eq!(quoted("tcp://h:1"), "'tcp://h:1'");
        assert_eq!(quoted("it's"), r"'it'\''s'");
    }
}
