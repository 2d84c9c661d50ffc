//! What every long-running command shares: its tokio runtimes, how it is stopped (SIGTERM
//! and SIGINT), and the environment a command run inside a cluster gets.

use crate::error::{Error, Result};

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
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
pub(crate) fn scheduler_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io(format!("cannot start the scheduler's event loop: {e}")))
}

/// Lets SIGTERM and SIGINT through: a parent may have started us with them blocked (Julia's
/// runtime does, and a blocked mask is inherited), and they are how we are stopped.
pub(crate) fn unblock_stop_signals() {
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
pub(crate) async fn terminated() -> &'static str {
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

/// Set by SIGINT or SIGTERM while `libdask slurm` runs: it then cancels its jobs and exits.
pub(crate) static STOP_REQUESTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// SIGINT and SIGTERM set [`STOP_REQUESTED`] instead of ending the process, so the jobs are
/// cancelled before it exits.
pub(crate) fn catch_stop_signals() {
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

/// `command` (program and arguments) set up as a client of `cluster`: its address in
/// `DASK_SCHEDULER_ADDRESS` and, with TLS, the client's files in `DASK_TLS_CA`,
/// `DASK_TLS_CERT`, `DASK_TLS_KEY` (what the default client of every language reads).
pub(crate) fn command_of_cluster(
    command: &[String],
    cluster: &crate::distributed::LocalCluster,
) -> std::process::Command {
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

/// Waits for `child` (a command run inside a cluster), calling `tick` every 10 ms, and
/// passes a SIGINT or SIGTERM that reached us ([`STOP_REQUESTED`], with
/// [`catch_stop_signals`]) on to it as one SIGTERM: a terminal's Ctrl-C reached the command
/// too, but a SIGTERM sent to us alone (by mpirun or Slurm) did not. Its exit code (1 when
/// a signal ended it).
pub(crate) fn wait_passing_stop_on(child: &mut std::process::Child, mut tick: impl FnMut()) -> i32 {
    let mut forwarded = false;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code().unwrap_or(1),
            Ok(None) => {}
            Err(_) => return 1,
        }
        if STOP_REQUESTED.load(std::sync::atomic::Ordering::SeqCst) && !forwarded {
            // SAFETY: kill(2) on our own child.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            forwarded = true;
        }
        tick();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
