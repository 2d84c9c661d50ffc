//! `libdask slurm`: a scheduler here, workers as Slurm jobs or steps.

use super::process::{
    catch_stop_signals, command_of_cluster, wait_passing_stop_on, STOP_REQUESTED,
};
use super::settings::parse_size;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    let mut opts = crate::distributed::slurm::SlurmOptions::default();
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
                .and_then(|v| crate::distributed::Adaptive::parse(v).ok())
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
    let mut cluster = match crate::distributed::slurm::SlurmCluster::start(opts.clone()) {
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
    let mut adapt = |cluster: &mut crate::distributed::slurm::SlurmCluster| {
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
            Ok(mut child) => wait_passing_stop_on(&mut child, || adapt(&mut cluster)),
        }
    };
    drop(cluster);
    ExitCode::from(code.clamp(0, 255) as u8)
}
