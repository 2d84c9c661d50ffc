//! The `libdask scheduler`, `libdask worker` and `libdask certs` commands.
//!
//! Every setting comes, in this order of precedence, from the command line (`--port 8786`),
//! the environment (`DASK_SCHEDULER_PORT`, `DASK_WORKER_NTHREADS`, `DASK_TLS_CA`, …: `DASK_`,
//! the command for per-command settings, the option's name in capitals with `_` for `-`),
//! a config file (`--config FILE` or `DASK_CONFIG`; lines `scheduler.port = 8786`,
//! `worker.nthreads = 4`, `tls.ca = /path`; `#` starts a comment), then the default.

use super::scheduler::server::{bind, serve, SchedulerOptions};
use super::tls::{Security, TemporaryCerts};
use super::worker::{run_worker_until, WorkerOptions};
use crate::error::{Error, Result};
use crate::protocol::Compression;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Settings shared by the commands (TLS), looked up without the command's prefix.
const SHARED: [&str; 4] = ["tls-ca", "tls-cert", "tls-key", "require-encryption"];

struct Settings {
    command: &'static str,
    flags: HashMap<String, String>,
    positional: Vec<String>,
    file: HashMap<String, String>,
}

fn usage(command: &str) -> &'static str {
    match command {
        "scheduler" => {
            "usage: libdask scheduler [--host HOST] [--port PORT] [--tls-ca FILE --tls-cert FILE --tls-key FILE]
                         [--require-encryption] [--allowed-failures N] [--worker-timeout SECONDS]
                         [--health-port PORT] [--config FILE]
  Runs a scheduler. Defaults: host 0.0.0.0 (every interface), port 8786, plain TCP unless the
  TLS files are given. With --health-port, answers GET /health and /ready over plain HTTP on
  that port (Kubernetes probes). Stop it with SIGTERM or SIGINT."
        }
        "worker" => {
            "usage: libdask worker ADDRESS [--nthreads N] [--memory-limit SIZE] [--spill-dir DIR]
                      [--name NAME] [--listen-host HOST] [--death-timeout SECONDS] [--plugin-dir DIR]
                      [--compression auto|lz4|none] [--health-port PORT]
                      [--tls-ca FILE --tls-cert FILE --tls-key FILE] [--require-encryption] [--config FILE]
  Runs a worker of the scheduler at ADDRESS (tcp://host:port or tls://host:port). SIZE is
  bytes or a number with KiB, MiB, GiB, TiB (or kB, MB, GB, TB). DIR holds plugins (*.so
  files exporting dask_plugin_init), the only C operations the worker runs. Data sent to
  peers and clients is compressed per --compression (auto: none when the scheduler is on
  loopback, lz4 where it pays otherwise). With --health-port, answers GET /health (alive)
  and /ready (connected to its scheduler; 503 otherwise) over plain HTTP on that port.
  Stop it with SIGTERM."
        }
        _ => {
            "usage: libdask certs --out DIR
  Writes a new cluster CA (ca.pem) and a certificate and key per role (scheduler.pem,
  scheduler-key.pem, worker.pem, worker-key.pem, client.pem, client-key.pem) into DIR
  (made 0700; the files 0600)."
        }
    }
}

impl Settings {
    fn parse(command: &'static str, args: &[String]) -> Result<Settings> {
        let mut flags = HashMap::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if let Some(name) = a.strip_prefix("--") {
                if let Some((n, v)) = name.split_once('=') {
                    flags.insert(n.to_string(), v.to_string());
                } else if matches!(name, "require-encryption" | "help") {
                    flags.insert(name.to_string(), "true".to_string());
                } else {
                    let v = args
                        .get(i + 1)
                        .ok_or_else(|| Error::invalid(format!("--{name} needs a value")))?;
                    flags.insert(name.to_string(), v.clone());
                    i += 1;
                }
            } else {
                positional.push(a.clone());
            }
            i += 1;
        }
        let path = flags
            .get("config")
            .cloned()
            .or_else(|| std::env::var("DASK_CONFIG").ok());
        let mut file = HashMap::new();
        if let Some(path) = path {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Error::invalid(format!("config file '{path}': {e}")))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let (k, v) = line.split_once('=').ok_or_else(|| {
                    Error::invalid(format!(
                        "config file '{path}', line {}: expected 'name = value'",
                        n + 1
                    ))
                })?;
                file.insert(k.trim().replace('_', "-"), v.trim().to_string());
            }
        }
        Ok(Settings {
            command,
            flags,
            positional,
            file,
        })
    }

    /// A setting by its option name, with the documented precedence.
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.flags.get(name) {
            return Some(v.clone());
        }
        let shared = SHARED.contains(&name);
        let env = if shared {
            format!("DASK_{}", name.replace('-', "_").to_uppercase())
        } else {
            format!(
                "DASK_{}_{}",
                self.command.to_uppercase(),
                name.replace('-', "_").to_uppercase()
            )
        };
        if let Ok(v) = std::env::var(&env) {
            return Some(v);
        }
        let key = if shared {
            name.replacen("tls-", "tls.", 1)
        } else {
            format!("{}.{name}", self.command)
        };
        self.file.get(&key).cloned()
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        Ok(self.optional_number(name)?.unwrap_or(default))
    }

    /// A number that may be left unset.
    fn optional_number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("--{name}: '{v}' is not a number"))),
        }
    }

    fn seconds(&self, name: &str, default: f64) -> Result<Duration> {
        let s: f64 = self.number(name, default)?;
        if !(s.is_finite() && s > 0.0) {
            return Err(Error::invalid(format!(
                "--{name} must be a positive number of seconds"
            )));
        }
        Ok(Duration::from_secs_f64(s))
    }

    fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    }

    fn check_known(&self, known: &[&str]) -> Result<()> {
        for k in self.flags.keys() {
            if !known.contains(&k.as_str()) && k != "config" && k != "help" {
                return Err(Error::invalid(format!("unknown option --{k}")));
            }
        }
        Ok(())
    }

    fn security(&self) -> Result<Security> {
        let files = (
            self.get("tls-ca"),
            self.get("tls-cert"),
            self.get("tls-key"),
        );
        let mut s = match files {
            (Some(ca), Some(cert), Some(key)) => Security::from_files(
                &PathBuf::from(ca),
                &PathBuf::from(cert),
                &PathBuf::from(key),
            )?,
            (None, None, None) => Security::plain(),
            _ => {
                return Err(Error::invalid(
                    "TLS needs all three of --tls-ca, --tls-cert and --tls-key",
                ))
            }
        };
        s.require_encryption = self.flag("require-encryption");
        Ok(s)
    }
}

/// Parses a size: bytes, or a number with a unit (KiB, MiB, GiB, TiB; kB, MB, GB, TB).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| Error::invalid(format!("'{s}' is not a size")))?;
    let mult = match unit.trim().to_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        _ => return Err(Error::invalid(format!("'{s}': unknown unit '{unit}'"))),
    };
    Ok((n * mult) as u64)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dask-io")
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the network threads: {e}")))
}

/// The scheduler's one thread: its state machine is one loop, and with the connections'
/// readers and writers on other threads every message crossed threads twice (a wake-up and
/// a cross-thread free each way); on one thread a task's round trip is shorter
/// (benches/README.md, "the scheduler on one thread").
fn scheduler_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the scheduler's event loop: {e}")))
}

/// Lets SIGTERM and SIGINT through: a parent may have started us with them blocked (Julia's
/// runtime does, and a blocked mask is inherited), and they are how we are stopped.
fn unblock_stop_signals() {
    // SAFETY: plain libc calls on a local signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

/// Fires on SIGTERM or SIGINT.
async fn terminated() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

fn scheduler(s: &Settings) -> Result<()> {
    s.check_known(&[
        "host",
        "port",
        "tls-ca",
        "tls-cert",
        "tls-key",
        "require-encryption",
        "allowed-failures",
        "worker-timeout",
        "health-port",
    ])?;
    let security = s.security()?;
    let scheme = if security.credentials.is_some() {
        "tls"
    } else {
        "tcp"
    };
    let host = s.get("host").unwrap_or_else(|| "0.0.0.0".into());
    let port: u16 = s.number("port", 8786)?;
    let opts = SchedulerOptions {
        listen: format!("{scheme}://{host}:{port}"),
        security,
        allowed_failures: s.number("allowed-failures", 3)?,
        worker_timeout: s.seconds("worker-timeout", 10.0)?,
        ..SchedulerOptions::default()
    };
    let health_port: Option<u16> = s.optional_number("health-port")?;
    let rt = scheduler_runtime()?;
    rt.block_on(async {
        let (listener, addr) = bind(&opts).await?;
        if let Some(port) = health_port {
            // Ready as soon as it listens.
            let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
            super::health::start(&host, port, "scheduler", "scheduler", ready).await?;
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let sig = terminated().await;
            eprintln!("libdask scheduler: {sig}: shutting down");
            let _ = stop_tx.send(true);
        });
        serve(listener, addr, opts, stop_rx).await
    })
}

fn worker(s: &Settings) -> Result<()> {
    s.check_known(&[
        "nthreads",
        "memory-limit",
        "spill-dir",
        "name",
        "listen-host",
        "death-timeout",
        "plugin-dir",
        "compression",
        "tls-ca",
        "tls-cert",
        "tls-key",
        "require-encryption",
        "health-port",
    ])?;
    let scheduler = s
        .positional
        .first()
        .cloned()
        .or_else(|| s.get("scheduler"))
        .ok_or_else(|| Error::invalid("the scheduler's address is missing"))?;
    let mut opts = WorkerOptions {
        scheduler,
        nthreads: s.number("nthreads", 0)?,
        security: s.security()?,
        death_timeout: s.seconds("death-timeout", 60.0)?,
        listen_host: s.get("listen-host").unwrap_or_default(),
        ..WorkerOptions::default()
    };
    if let Some(n) = s.get("name") {
        opts.name = n;
    }
    if let Some(m) = s.get("memory-limit") {
        let bytes = parse_size(&m)?;
        if bytes > 0 {
            opts.memory.limit = Some(bytes as usize);
        }
    }
    opts.plugin_dir = s.get("plugin-dir").map(PathBuf::from);
    if let Some(c) = s.get("compression") {
        opts.compression = match c.to_lowercase().as_str() {
            "auto" => Compression::Auto,
            "lz4" => Compression::Lz4,
            "none" => Compression::None,
            _ => {
                return Err(Error::invalid(format!(
                    "--compression: '{c}' is not auto, lz4 or none"
                )))
            }
        };
    }
    if let Some(d) = s.get("spill-dir") {
        opts.memory.spill_dir = Some(PathBuf::from(d));
    }
    let health_port: Option<u16> = s.optional_number("health-port")?;
    let rt = runtime()?;
    rt.block_on(async {
        if let Some(port) = health_port {
            let host = if opts.listen_host.is_empty() {
                "0.0.0.0"
            } else {
                &opts.listen_host
            };
            // Ready while connected to the scheduler (the worker sets it).
            let ready = super::health::Readiness::default();
            let who = format!("worker {}", opts.name);
            super::health::start(host, port, "worker", &who, ready.clone()).await?;
            opts.ready = Some(ready);
        }
        // SIGTERM or SIGINT: a graceful exit (its data handed to peers first).
        run_worker_until(opts, terminated()).await
    })
}

fn certs(s: &Settings) -> Result<()> {
    s.check_known(&["out"])?;
    let out = s
        .get("out")
        .ok_or_else(|| Error::invalid("--out DIR is missing"))?;
    let certs = TemporaryCerts::new(false)?;
    for f in certs.write(&PathBuf::from(&out))? {
        println!("{}", f.display());
    }
    Ok(())
}

/// `command` (program and arguments) set up as a client of `cluster`: its address in
/// `DASK_SCHEDULER_ADDRESS` and, with TLS, the client's files in `DASK_TLS_CA`,
/// `DASK_TLS_CERT`, `DASK_TLS_KEY` (what the default client of every language reads).
fn command_of_cluster(command: &[String], cluster: &super::LocalCluster) -> std::process::Command {
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..])
        .env("DASK_SCHEDULER_ADDRESS", cluster.address());
    if let Some(dir) = cluster.certs_dir() {
        cmd.env("DASK_TLS_CA", dir.join("ca.pem"))
            .env("DASK_TLS_CERT", dir.join("client.pem"))
            .env("DASK_TLS_KEY", dir.join("client-key.pem"));
    }
    cmd
}

/// `libdask local-cluster [--workers N] [--threads N] [--tls] -- COMMAND ARGS...`: runs
/// COMMAND with a local cluster around it (its address in `DASK_SCHEDULER_ADDRESS`, and for
/// TLS the client's files in `DASK_TLS_CA`, `DASK_TLS_CERT`, `DASK_TLS_KEY`); the cluster
/// stops when COMMAND exits, whose exit code this returns.
pub fn local_cluster_main(args: &[String]) -> ExitCode {
    let (ours, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let usage = "usage: libdask local-cluster [--workers N] [--threads N] [--memory-limit SIZE] [--plugin-dir DIR] [--tls] -- COMMAND ARGS...";
    if command.is_empty() {
        eprintln!("{usage}");
        return ExitCode::from(2);
    }
    let mut opts = super::LocalClusterOptions::default();
    let mut i = 0;
    while i < ours.len() {
        let value = ours.get(i + 1).cloned().unwrap_or_default();
        let ok = match ours[i].as_str() {
            "--workers" => value.parse().map(|n| opts.n_workers = n).is_ok(),
            "--threads" => value.parse().map(|n| opts.threads_per_worker = n).is_ok(),
            "--memory-limit" => parse_size(&value).map(|n| opts.memory_limit = n).is_ok(),
            "--plugin-dir" => {
                opts.plugin_dir = Some(PathBuf::from(&value));
                !value.is_empty()
            }
            "--tls" => {
                opts.tls = true;
                i -= 1;
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("libdask local-cluster: bad option '{}'\n{usage}", ours[i]);
            return ExitCode::from(2);
        }
        i += 2;
    }
    let cluster = match super::LocalCluster::start(opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("libdask local-cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match command_of_cluster(command, &cluster).status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("libdask local-cluster: cannot run {}: {e}", command[0]);
            127
        }
    };
    drop(cluster);
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Set by SIGINT or SIGTERM while `libdask slurm` runs: it then cancels its jobs and exits.
static STOP_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// SIGINT and SIGTERM set [`STOP_REQUESTED`] instead of ending the process, so the jobs are
/// cancelled before it exits.
fn catch_stop_signals() {
    unblock_stop_signals();
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = request_stop as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
}

const SLURM_USAGE: &str =
    "usage: libdask slurm (--workers N | --adapt MIN:MAX [--idle-grace SECONDS] [--max-pending J])
                     [--cpus-per-worker C] [--mem-per-worker SIZE] [--time T]
                     [--partition P] [--account A] [--srun] [--tls] [--dir DIR]
                     [-- COMMAND ARGS...]
  Starts a scheduler on this node and N workers as Slurm batch jobs (the script they run:
  DIR/worker.sbatch; their output: DIR/worker-<job>.log; DIR defaults to
  ./libdask-slurm-<pid>). Each job asks for C CPUs (default 1), SIZE of memory (default
  1GiB; the worker's memory limit too) and the time limit T (default 1:00:00). With COMMAND,
  runs it with the scheduler's address in DASK_SCHEDULER_ADDRESS (and the client's TLS files
  in DASK_TLS_CA, DASK_TLS_CERT, DASK_TLS_KEY) and exits with its code; without, runs until
  SIGINT or SIGTERM. The jobs are cancelled (scancel) on the way out either way.
  With --adapt, the scheduler decides every second from its queue: one more job per C tasks
  waiting while no worker has a free thread (up to MAX, at most J jobs waiting to start,
  default 4), and workers idle for SECONDS (default 10) retire, down to MIN.
  With --srun (under salloc or in a batch job), the workers are srun steps of the
  allocation instead (its CPUs, memory and time; their output: DIR/worker-<job>.<step>.log).";

/// `libdask slurm ...` (see [`SLURM_USAGE`]).
pub fn slurm_main(args: &[String]) -> ExitCode {
    let (ours, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let mut opts = super::slurm::SlurmOptions::default();
    let (mut idle_grace, mut max_pending) = (None, None);
    let mut i = 0;
    while i < ours.len() {
        let value = ours.get(i + 1).cloned();
        let some = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let ok = match ours[i].as_str() {
            "--help" => {
                println!("{SLURM_USAGE}");
                return ExitCode::SUCCESS;
            }
            "--tls" => {
                opts.tls = true;
                i += 1;
                continue;
            }
            "--srun" => {
                opts.srun = true;
                i += 1;
                continue;
            }
            "--workers" => value
                .as_deref()
                .and_then(|v| v.parse().ok())
                .map(|n| opts.workers = n),
            "--cpus-per-worker" => value
                .as_deref()
                .and_then(|v| v.parse().ok())
                .map(|n| opts.cpus_per_worker = n),
            "--mem-per-worker" => value
                .as_deref()
                .and_then(|v| parse_size(v).ok())
                .map(|n| opts.mem_per_worker = n),
            "--time" => some(&value).map(|v| opts.time = v),
            "--partition" => some(&value).map(|v| opts.partition = Some(v)),
            "--account" => some(&value).map(|v| opts.account = Some(v)),
            "--dir" => some(&value).map(|v| opts.dir = PathBuf::from(v)),
            "--adapt" => value
                .as_deref()
                .and_then(|v| super::Adaptive::parse(v).ok())
                .map(|a| opts.adapt = Some(a)),
            "--idle-grace" => value
                .as_deref()
                .and_then(|v| v.parse::<f64>().ok())
                .and_then(|v| Duration::try_from_secs_f64(v).ok())
                .map(|d| idle_grace = Some(d)),
            "--max-pending" => value
                .as_deref()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .map(|n| max_pending = Some(n)),
            _ => None,
        };
        if ok.is_none() {
            eprintln!("libdask slurm: bad option '{}'\n{SLURM_USAGE}", ours[i]);
            return ExitCode::from(2);
        }
        i += 2;
    }
    match opts.adapt.as_mut() {
        Some(a) => {
            a.idle_grace = idle_grace.unwrap_or(a.idle_grace);
            a.max_pending = max_pending.unwrap_or(a.max_pending);
        }
        None if idle_grace.is_some() || max_pending.is_some() => {
            eprintln!(
                "libdask slurm: --idle-grace and --max-pending go with --adapt\n{SLURM_USAGE}"
            );
            return ExitCode::from(2);
        }
        None => {}
    }
    catch_stop_signals();
    let mut cluster = match super::slurm::SlurmCluster::start(opts.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("libdask slurm: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("libdask slurm: scheduler at {}", cluster.address());
    if opts.srun {
        eprintln!(
            "libdask slurm: {} workers started as srun steps of job {}",
            opts.workers,
            std::env::var("SLURM_JOB_ID").unwrap_or_default()
        );
    } else {
        eprintln!(
            "libdask slurm: {} worker jobs submitted ({}); their script: {}",
            cluster.jobs().len(),
            cluster.jobs().join(" "),
            cluster.script().display()
        );
    }
    if let Some(a) = &opts.adapt {
        eprintln!(
            "libdask slurm: adaptive, {} to {} workers (idle ones retire after {:?})",
            a.min, a.max, a.idle_grace
        );
    }
    let mut adapted = std::time::Instant::now();
    let mut adapt = |cluster: &mut super::slurm::SlurmCluster| {
        let every = opts.adapt.map_or(Duration::MAX, |a| a.interval);
        if adapted.elapsed() < every {
            return;
        }
        adapted = std::time::Instant::now();
        match cluster.adapt_step() {
            Ok(Some(did)) => eprintln!("libdask slurm: adapt: {did}"),
            Ok(None) => {}
            Err(e) => eprintln!("libdask slurm: adapt: {e}"),
        }
    };
    let code = if command.is_empty() {
        while !STOP_REQUESTED.load(std::sync::atomic::Ordering::SeqCst) {
            adapt(&mut cluster);
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("libdask slurm: stopping: cancelling the worker jobs");
        0
    } else {
        match command_of_cluster(command, cluster.scheduler()).spawn() {
            Err(e) => {
                eprintln!("libdask slurm: cannot run {}: {e}", command[0]);
                127
            }
            Ok(mut child) => {
                let mut forwarded = false;
                loop {
                    match child.try_wait() {
                        Ok(Some(status)) => break status.code().unwrap_or(1),
                        Ok(None) => {}
                        Err(_) => break 1,
                    }
                    if STOP_REQUESTED.load(std::sync::atomic::Ordering::SeqCst) && !forwarded {
                        // A terminal's Ctrl-C reached the command too; a SIGTERM sent to us
                        // alone is passed on.
                        // SAFETY: kill(2) on our own child.
                        unsafe {
                            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
                        }
                        forwarded = true;
                    }
                    adapt(&mut cluster);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    };
    drop(cluster);
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Runs `libdask <command> args...` for command in scheduler, worker, certs.
pub fn main(command: &str, args: &[String]) -> ExitCode {
    let command: &'static str = match command {
        "scheduler" => "scheduler",
        "worker" => "worker",
        _ => "certs",
    };
    unblock_stop_signals();
    let settings = match Settings::parse(command, args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("libdask {command}: {e}\n{}", usage(command));
            return ExitCode::from(2);
        }
    };
    if settings.flags.contains_key("help") {
        println!("{}", usage(command));
        return ExitCode::SUCCESS;
    }
    let result = match command {
        "scheduler" => scheduler(&settings),
        "worker" => worker(&settings),
        _ => certs(&settings),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Error::InvalidArgument(_)) => {
            eprintln!("libdask {command}: {e}\n{}", usage(command));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("libdask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8GiB").unwrap(), 8 << 30);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1_500_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn the_command_line_wins_over_the_config_file() {
        let dir = std::env::temp_dir().join(format!("libdask-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("config");
        std::fs::write(
            &f,
            "worker.nthreads = 3\nworker.name = from-file # comment\n",
        )
        .unwrap();
        let args: Vec<String> = [
            "tcp://x:1",
            "--config",
            f.to_str().unwrap(),
            "--nthreads",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = Settings::parse("worker", &args).unwrap();
        assert_eq!(s.get("nthreads").as_deref(), Some("5"));
        assert_eq!(s.get("name").as_deref(), Some("from-file"));
        assert_eq!(s.positional, vec!["tcp://x:1".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
