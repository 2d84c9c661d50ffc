//! `libdask mpi`: this rank's part of a cluster inside an MPI job.

use super::settings::{parse_size, Settings};
use crate::distributed::mpi::MpiOptions;
use crate::error::Result;
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const MPI_USAGE: &str =
    "usage: mpirun -np N libdask mpi [--tls] [--nthreads T] [--memory-limit SIZE] [--spill-dir DIR]
                             [--host HOST] [--port PORT] [--scheduler-file FILE]
                             [--worker-timeout SECONDS] [--config FILE] [-- COMMAND ARGS...]
  Makes the ranks of an MPI job one cluster: rank 0 runs the scheduler; with COMMAND, rank 1
  runs it as the cluster's client (the scheduler's address in DASK_SCHEDULER_ADDRESS, with
  --tls the client's files in DASK_TLS_CA, DASK_TLS_CERT, DASK_TLS_KEY) once every worker
  has joined, and every rank ends with its exit code; without COMMAND, rank 1 is a worker too
  and the job runs until mpirun is stopped (SIGINT or SIGTERM). The other ranks are workers
  of T threads each (default 1), spilling past SIZE (default: no limit) into DIR/rank-<r>.
  MPI carries only the scheduler's address and each rank's certificate (--tls: a CA made for
  this job) and the word to stop; data moves over the cluster's own TCP or TLS connections.
  The scheduler listens on PORT (default 0: a free one) and is reached as HOST (default: its
  node's host name). --scheduler-file writes the address (and with --tls the paths of the
  client's files, kept in FILE.tls/) as NAME=value lines for clients outside the job.
  Settings also come from DASK_MPI_<OPTION> variables and `mpi.<option> = value` lines of a
  config file; a C program calling dask_mpi_init reads the same.";

/// The options of `libdask mpi` (and of `dask_mpi_init`, from the environment alone).
fn options(s: &Settings) -> Result<MpiOptions> {
    s.check_known(&[
        "tls",
        "nthreads",
        "memory-limit",
        "spill-dir",
        "host",
        "port",
        "scheduler-file",
        "worker-timeout",
    ])?;
    let d = MpiOptions::default();
    let memory_limit = match s.get("memory-limit") {
        Some(v) => Some(parse_size(&v)?).filter(|&n| n > 0),
        None => None,
    };
    let nthreads = s.number("nthreads", d.nthreads)?;
    if nthreads == 0 {
        return Err(crate::error::Error::invalid(
            "--nthreads must be at least 1",
        ));
    }
    Ok(MpiOptions {
        tls: s.flag("tls"),
        nthreads,
        memory_limit,
        spill_dir: s.get("spill-dir").map(PathBuf::from),
        port: s.number("port", d.port)?,
        host: s.get("host").unwrap_or_default(),
        scheduler_file: s.get("scheduler-file").map(PathBuf::from),
        worker_timeout: s.seconds("worker-timeout", d.worker_timeout.as_secs_f64())?,
        allowed_failures: d.allowed_failures,
    })
}

/// `dask_mpi_init`'s options: `DASK_MPI_*` variables and the config file of `DASK_CONFIG`.
pub fn mpi_options_from_env() -> Result<MpiOptions> {
    options(&Settings::parse("mpi", &[])?)
}

/// `libdask mpi ...` (see [`MPI_USAGE`]).
pub fn mpi_main(args: &[String]) -> ExitCode {
    let (ours, command) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let settings = match Settings::parse("mpi", ours) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("libdask mpi: {e}\n{MPI_USAGE}");
            return ExitCode::from(2);
        }
    };
    if settings.flags.contains_key("help") {
        println!("{MPI_USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Some(extra) = settings.positional.first() {
        eprintln!("libdask mpi: unexpected '{extra}' (a command goes after --)\n{MPI_USAGE}");
        return ExitCode::from(2);
    }
    let opts = match options(&settings) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("libdask mpi: {e}\n{MPI_USAGE}");
            return ExitCode::from(2);
        }
    };
    run(&opts, command)
}

#[cfg(feature = "mpi")]
fn run(opts: &MpiOptions, command: &[String]) -> ExitCode {
    match crate::distributed::mpi::run_command_line(opts, command) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("libdask mpi: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "mpi"))]
fn run(_: &MpiOptions, _: &[String]) -> ExitCode {
    eprintln!("libdask mpi: {}", crate::distributed::mpi::not_built());
    ExitCode::FAILURE
}
