//! The `libdask scheduler`, `worker`, `certs`, `local-cluster`, `slurm` and `mpi` commands.
//!
//! Every setting comes, in this order of precedence, from the command line (`--port 8786`),
//! the environment (`DASK_SCHEDULER_PORT`, `DASK_WORKER_NTHREADS`, `DASK_TLS_CA`, …: `DASK_`,
//! the command for per-command settings, the option's name in capitals with `_` for `-`),
//! a config file (`--config FILE` or `DASK_CONFIG`; lines `scheduler.port = 8786`,
//! `worker.nthreads = 4`, `tls.ca = /path`; `#` starts a comment), then the default.

mod mpi;
pub(crate) mod process;
mod settings;
mod slurm;

use super::scheduler::server::{bind, serve, SchedulerOptions};
use super::tls::TemporaryCerts;
use super::worker::{run_worker_until, WorkerOptions};
use crate::error::{Error, Result};
use crate::protocol::Compression;
pub use mpi::{mpi_main, mpi_options_from_env};
use process::{command_of_cluster, runtime, scheduler_runtime, terminated, unblock_stop_signals};
pub use settings::parse_size;
use settings::Settings;
pub use slurm::slurm_main;
use std::path::PathBuf;
use std::process::ExitCode;

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
