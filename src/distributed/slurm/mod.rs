//! A cluster whose workers are Slurm batch jobs, as dask-jobqueue's `SLURMCluster` makes
//! one: the scheduler runs on this node (listening on every interface, reached by this
//! node's host name), each worker is one job running `libdask worker`. The job script is
//! written to `worker.sbatch` in the cluster's directory, where users can read and adapt it,
//! and each job's output goes to `worker-<job id>.log` beside it. Dropped, the cluster
//! cancels its jobs (`scancel`: Slurm sends them SIGTERM, on which a worker hands its results
//! to its peers and leaves) and stops the scheduler.
//!
//! Adaptive (`SlurmOptions::adapt`), each step turns the scheduler's advice into jobs: more
//! while tasks wait, pending ones cancelled when no longer wanted, and the jobs of the idle
//! workers the scheduler retired cancelled. Steps are taken by the caller
//! ([`SlurmCluster::adapt_step`], as `libdask slurm --adapt` does from its main loop) or
//! by a loop on the cluster's own one-thread pool ([`SlurmCluster::start_adapting`], as
//! the C, Julia and R clusters do: their programs need not do anything).
//!
//! - `script`: the job script;
//! - `jobs`: the jobs and the adaptive step.
//!
//! With TLS the certificates are made in the cluster's directory, which workers on other
//! nodes must see: keep it on a filesystem the nodes share (the default is under the
//! current directory, as Slurm users' job directories usually are).

mod jobs;
mod script;

use super::adaptive::Adaptive;
use super::cluster::{LocalCluster, LocalClusterOptions};
use crate::error::{Error, Result};
use crate::runtime::{Client, Config, Future, Operation, Task};
use crate::value::Value;
use jobs::Jobs;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Start the workers as `srun` steps of the allocation this process runs in (under
    /// `salloc` or in a batch script) instead of as jobs of their own: they use its CPUs
    /// and memory, and live as long as it does (its time limit, partition and account).
    pub srun: bool,
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
            srun: false,
        }
    }
}

/// A running scheduler and the Slurm jobs of its workers.
pub struct SlurmCluster {
    jobs: Arc<Mutex<Jobs>>,
    adapt: Option<Adaptive>,
    cpus_per_worker: usize,
    /// The caller's adaptive steps' connection to the scheduler.
    adapt_client: Option<Client>,
    /// The adaptive loop, when the cluster adapts on its own.
    auto: Option<AutoAdapt>,
    /// The `srun` processes of workers started as steps of this allocation.
    steps: Vec<Child>,
    scheduler: LocalCluster,
    dir: PathBuf,
}

/// An adaptive loop running on a one-thread pool of its own until `stop` is set.
struct AutoAdapt {
    stop: Arc<AtomicBool>,
    done: Future,
    _pool: Client,
}

impl SlurmCluster {
    /// Starts the scheduler, writes the job script and submits `opts.workers` jobs (`min`
    /// when adaptive; they join when Slurm starts them: see
    /// [`SlurmCluster::wait_for_workers`]).
    pub fn start(opts: SlurmOptions) -> Result<SlurmCluster> {
        if let Some(a) = &opts.adapt {
            a.check()?;
        }
        if opts.srun {
            if opts.adapt.is_some() {
                return Err(Error::invalid(
                    "adaptive clusters submit jobs: inside an allocation (srun steps) the workers are fixed",
                ));
            }
            if std::env::var_os("SLURM_JOB_ID").is_none() {
                return Err(Error::invalid(
                    "srun steps need an allocation: run this under salloc or in a batch job (SLURM_JOB_ID is not set)",
                ));
            }
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
        std::fs::write(&script, script::job_script(&opts, &scheduler, &dir))
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", script.display())))?;
        let mut cluster = SlurmCluster {
            jobs: Arc::new(Mutex::new(Jobs::new(script))),
            adapt: opts.adapt,
            cpus_per_worker: opts.cpus_per_worker,
            adapt_client: None,
            auto: None,
            steps: Vec::new(),
            scheduler,
            dir,
        };
        if opts.srun {
            for i in 0..opts.workers {
                cluster.start_step(&opts, i)?;
            }
            return Ok(cluster);
        }
        let first = opts.adapt.map_or(opts.workers, |a| a.min);
        for _ in 0..first {
            cluster.submit()?;
        }
        Ok(cluster)
    }

    /// Starts worker `i` as an `srun` step (srun's own messages to `dir/srun-<i>.log`).
    fn start_step(&mut self, opts: &SlurmOptions, i: usize) -> Result<()> {
        let command = script::step_command(opts, &self.scheduler, &self.dir, i);
        let log_path = self.dir.join(format!("srun-{i}.log"));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| Error::Io(format!("cannot make {}: {e}", log_path.display())))?;
        let child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| Error::Io(e.to_string()))?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                Error::Io(format!(
                    "cannot run srun ({e}): is Slurm installed and on the PATH?"
                ))
            })?;
        self.steps.push(child);
        Ok(())
    }

    /// Submits one more worker job.
    pub fn submit(&self) -> Result<String> {
        self.jobs.lock().submit()
    }

    /// One step of adaptive scaling, taken by the caller (call it every `interval`;
    /// `libdask slurm --adapt` does): asks the scheduler how many workers it wants, submits
    /// jobs (at most `max_pending` waiting to start) or cancels pending ones, and cancels
    /// the jobs of the idle workers the scheduler has told to retire. Returns what it did,
    /// if anything.
    pub fn adapt_step(&mut self) -> Result<Option<String>> {
        let Some(a) = self.adapt else {
            return Ok(None);
        };
        if self.adapt_client.is_none() {
            self.adapt_client = Some(self.scheduler.client()?);
        }
        let client = self.adapt_client.as_ref().expect("made above");
        self.jobs.lock().step(client, &a, self.cpus_per_worker)
    }

    /// Makes the cluster adapt on its own: a loop takes a step every `interval` on a
    /// one-thread pool of the cluster's, until the cluster is dropped. Its errors (Slurm
    /// unreachable for a while, say) are printed and the loop goes on.
    pub fn start_adapting(&mut self) -> Result<()> {
        let Some(a) = self.adapt else {
            return Err(Error::invalid(
                "this Slurm cluster is not adaptive (no adapt bounds)",
            ));
        };
        if self.auto.is_some() {
            return Ok(());
        }
        let pool = Client::new(Config::with_threads(1))?;
        let advice = self.scheduler.client()?;
        let jobs = self.jobs.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let cpus = self.cpus_per_worker;
        let adapt_loop = Operation::local(move |_| {
            let mut last: Option<Instant> = None;
            while !stopped.load(Ordering::SeqCst) {
                if last.is_none_or(|t| t.elapsed() >= a.interval) {
                    last = Some(Instant::now());
                    if let Err(e) = jobs.lock().step(&advice, &a, cpus) {
                        eprintln!("libdask slurm: adaptive step: {e}");
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(Arc::new(Value::Int(0)))
        });
        let done = pool.submit(Task::new(adapt_loop, Vec::new()))?;
        self.auto = Some(AutoAdapt {
            stop,
            done,
            _pool: pool,
        });
        Ok(())
    }

    /// Whether the cluster scales between bounds.
    pub fn is_adaptive(&self) -> bool {
        self.adapt.is_some()
    }

    /// The workers connected at the last adaptive step, and the jobs waiting to start.
    pub fn counts(&self) -> (usize, usize) {
        let j = self.jobs.lock();
        (j.connected, j.pending.len())
    }

    /// The scheduler's address.
    pub fn address(&self) -> &str {
        self.scheduler.address()
    }

    /// The job ids of the workers submitted (those cancelled or ended included, until the
    /// cluster is cancelled).
    pub fn jobs(&self) -> Vec<String> {
        self.jobs.lock().all.clone()
    }

    /// The batch script each worker job runs.
    pub fn script(&self) -> PathBuf {
        self.jobs.lock().script.clone()
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

    /// Stops adapting, cancels every job of this cluster and waits (up to 30 s) for them to
    /// end (done on drop).
    pub fn cancel(&mut self) -> Result<()> {
        if let Some(auto) = self.auto.take() {
            auto.stop.store(true, Ordering::SeqCst);
            auto.done.wait();
        }
        // The adaptive steps' connection goes first: the scheduler outlives it.
        self.adapt_client = None;
        self.stop_steps();
        self.jobs.lock().cancel_all()
    }

    /// Ends the `srun` steps: Slurm sends each step's worker SIGTERM (`scancel --signal`;
    /// a SIGTERM to srun itself would cancel the step, killing the worker), the worker
    /// retires and its step ends; what is left after 30 s is killed.
    fn stop_steps(&mut self) {
        if self.steps.is_empty() {
            return;
        }
        let job = std::env::var("SLURM_JOB_ID").unwrap_or_default();
        let listed = jobs::slurm("squeue", &["-s", "-h", "-j", &job, "-o", "%i %j"]);
        let ours: Vec<String> = listed
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter(|(_, name)| name.trim() == script::step_name())
            .map(|(id, _)| id.trim().to_string())
            .collect();
        if !ours.is_empty() {
            let ids: Vec<&str> = ours.iter().map(String::as_str).collect();
            let mut args = vec!["--signal=TERM"];
            args.extend(ids);
            if let Err(e) = jobs::slurm("scancel", &args) {
                eprintln!("libdask slurm: could not signal the worker steps: {e}");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline
            && self
                .steps
                .iter_mut()
                .any(|c| matches!(c.try_wait(), Ok(None)))
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        for mut c in self.steps.drain(..) {
            if matches!(c.try_wait(), Ok(None)) {
                eprintln!("libdask slurm: a worker step did not end in 30 s: killing it");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for SlurmCluster {
    /// The jobs first: the scheduler stops after this, when its field is dropped.
    fn drop(&mut self) {
        if let Err(e) = self.cancel() {
            eprintln!(
                "libdask slurm: could not cancel jobs {}: {e}",
                self.jobs.lock().all.join(" ")
            );
        }
    }
}
