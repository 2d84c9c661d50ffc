//! A rank doing its part: the scheduler (listen, invite every other rank, serve), a worker,
//! or the client's side (a command, or the program that called `dask_mpi_init`), until the
//! deciding rank ([`Layout::decider`]) says stop — then every rank ends with its exit code.

use super::{Invitation, Layout, MpiOptions, RankRole, World};
use crate::distributed::cli::process::{
    catch_stop_signals, runtime, scheduler_runtime, terminated, wait_passing_stop_on,
};
use crate::distributed::cluster::host_name;
use crate::distributed::scheduler::server::{bind, serve, SchedulerOptions};
use crate::distributed::tls::{Credentials, Security, TemporaryCerts};
use crate::distributed::worker::{run_worker_until, WorkerOptions};
use crate::error::{Error, Result};
use crate::runtime::Client;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the client's side waits for every worker rank to join before it starts.
const WORKERS_JOIN_WITHIN: Duration = Duration::from_secs(60);

/// How often a serving rank looks for the deciding rank's "stop".
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// One line on stderr, in one write: mpirun merges the ranks' streams, and a line written in
/// pieces interleaves with other ranks' lines.
fn say(world: &World, what: impl std::fmt::Display) {
    let line = format!("libdask mpi: rank {}: {what}\n", world.rank());
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

/// `mpirun libdask mpi [-- COMMAND ARGS...]`: this rank's part; the job's exit code.
pub fn run_command_line(opts: &MpiOptions, command: &[String]) -> Result<i32> {
    // SAFETY: NULL argc/argv are what MPI_Init_thread accepts from a program that has none
    // to give (Open MPI reads its settings from the environment mpirun sets).
    let world = unsafe { World::init(std::ptr::null_mut(), std::ptr::null_mut()) }?;
    let layout = Layout::command_line(!command.is_empty());
    if let Err(e) = layout.check(world.size()) {
        // Said once, by rank 0; every rank fails.
        let rank = world.rank();
        world.finalize();
        return if rank == 0 { Err(e) } else { Ok(2) };
    }
    let code = match layout.role(world.rank()) {
        RankRole::Scheduler => run_scheduler(&world, layout, opts),
        RankRole::Worker => run_worker(&world, layout, opts),
        RankRole::Client => run_command(&world, layout, command),
    };
    world.finalize();
    Ok(code)
}

/// `dask_mpi_init` on every rank but the client's: serves as the scheduler or a worker until
/// the client's rank finishes, then ends the process (as dask-mpi's `initialize` does: the
/// program's code after the call runs on the client's rank only).
pub fn serve_and_exit(world: World, layout: Layout, opts: &MpiOptions) -> ! {
    // The program's rank carries the job's outcome: a serving rank ending with an error
    // code would make mpirun kill the program before it reports why.
    let _ = match layout.role(world.rank()) {
        RankRole::Scheduler => run_scheduler(&world, layout, opts),
        _ => run_worker(&world, layout, opts),
    };
    world.finalize_before_exit();
    std::process::exit(0)
}

/// The client's rank of a `dask_mpi_init` job, kept until the program finishes.
pub struct ClientRank {
    pub world: World,
    pub layout: Layout,
}

impl ClientRank {
    /// Tells the other ranks to stop with `code` and finalises MPI if we initialised it.
    pub fn finish(self, code: i32) {
        self.world.tell_stop(code);
        self.world.finalize();
    }
}

/// `dask_mpi_init` on the client's rank: a client of the job's scheduler, once every worker
/// rank has joined.
pub fn join_as_client(world: &World, layout: Layout) -> Result<Client> {
    let invitation = world.invitation(layout.scheduler)?;
    let client = Client::connect(&invitation.address, invitation.security())?;
    wait_for_workers(&client, layout.workers(world.size()).len())?;
    Ok(client)
}

fn wait_for_workers(client: &Client, n: usize) -> Result<()> {
    let deadline = Instant::now() + WORKERS_JOIN_WITHIN;
    loop {
        let have = client.cluster_workers()?.len();
        if have >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Io(format!(
                "{have} of the {n} worker ranks joined the scheduler in {WORKERS_JOIN_WITHIN:?} \
                 (their messages above say why)"
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The scheduler's rank. Listens on every interface, sends each rank its invitation (the
/// address as other nodes reach this one, and its role's certificate), then serves.
fn run_scheduler(world: &World, layout: Layout, opts: &MpiOptions) -> i32 {
    let others: Vec<i32> = (0..world.size()).filter(|&r| r != world.rank()).collect();
    let rt = match scheduler_runtime() {
        Ok(rt) => rt,
        Err(e) => return refuse_all(world, layout, &others, e),
    };
    let started = rt.block_on(async {
        let certs = if opts.tls {
            Some(TemporaryCerts::new(false)?)
        } else {
            None
        };
        let scheme = if certs.is_some() { "tls" } else { "tcp" };
        let host = if opts.host.is_empty() {
            host_name()?
        } else {
            opts.host.clone()
        };
        let sopts = SchedulerOptions {
            listen: format!("{scheme}://0.0.0.0:{}", opts.port),
            security: certs.as_ref().map_or_else(Security::plain, |c| {
                c.security(crate::distributed::Role::Scheduler)
            }),
            allowed_failures: opts.allowed_failures,
            worker_timeout: opts.worker_timeout,
            ..SchedulerOptions::default()
        };
        let (listener, addr) = bind(&sopts).await?;
        let address = format!("{scheme}://{host}:{}", addr.port);
        Ok::<_, Error>((listener, addr, sopts, address, certs))
    });
    let (listener, addr, sopts, address, certs) = match started {
        Ok(s) => s,
        Err(e) => return refuse_all(world, layout, &others, e),
    };
    for &r in &others {
        let credentials = certs.as_ref().map(|c| match layout.role(r) {
            RankRole::Client => &c.client,
            _ => &c.worker,
        });
        world.invite(r, &Ok(Invitation::new(&address, credentials)));
    }
    let workers = layout.workers(world.size());
    say(
        world,
        format!(
            "scheduler at {address}; workers on ranks {}",
            workers
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    if let Some(file) = &opts.scheduler_file {
        let client = certs.as_ref().map(|c| &c.client);
        if let Err(e) = write_scheduler_file(file, &address, client) {
            // Without the file no client can find the cluster; with COMMAND, it still can.
            if world.rank() == layout.decider() {
                return failed_to_start(world, layout, e);
            }
            say(world, &e);
        } else {
            say(world, format!("address written to {}", file.display()));
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let role = serve(listener, addr, sopts, stop_rx);
    let code = rt.block_on(serve_until_stopped(world, layout, role, stop_tx, true));
    if let Some(file) = &opts.scheduler_file {
        // The address is dead and the client's key of no further use.
        let _ = std::fs::remove_file(file);
        let _ = std::fs::remove_dir_all(tls_dir_of(file));
    }
    code
}

/// Where the scheduler file's TLS files go.
fn tls_dir_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.tls", file.display()))
}

/// The scheduler could not start: every rank hears why (and ends with an error) instead of
/// waiting for an invitation.
fn refuse_all(world: &World, layout: Layout, others: &[i32], e: Error) -> i32 {
    for &r in others {
        world.invite(r, &Err(e.to_string()));
    }
    failed_to_start(world, layout, format!("the scheduler cannot start: {e}"))
}

/// This rank could not take its part: said here; then the job ends as usual — the deciding
/// rank tells the others (exit code 1), any other waits to be told, so that no rank is
/// left sending to one that has gone.
fn failed_to_start(world: &World, layout: Layout, why: impl std::fmt::Display) -> i32 {
    say(world, why);
    if world.rank() == layout.decider() {
        world.tell_stop(1);
        return 1;
    }
    loop {
        if let Some(code) = world.heard_stop(layout.decider()) {
            return code;
        }
        std::thread::sleep(PROBE_EVERY);
    }
}

fn run_worker(world: &World, layout: Layout, opts: &MpiOptions) -> i32 {
    let invitation = match world.invitation(layout.scheduler) {
        Ok(i) => i,
        Err(e) => return failed_to_start(world, layout, e),
    };
    let mut wopts = WorkerOptions {
        scheduler: invitation.address.clone(),
        name: format!("mpi-rank-{}", world.rank()),
        nthreads: opts.nthreads,
        security: invitation.security(),
        ..WorkerOptions::default()
    };
    if let Some(limit) = opts.memory_limit {
        wopts.memory.limit = Some(limit as usize);
    }
    if let Some(dir) = &opts.spill_dir {
        // Ranks may share a node: a directory each.
        wopts.memory.spill_dir = Some(dir.join(format!("rank-{}", world.rank())));
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return failed_to_start(world, layout, e),
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let role = run_worker_until(wopts, async move {
        let _ = stop_rx.changed().await;
        "stopping"
    });
    let code = rt.block_on(serve_until_stopped(world, layout, role, stop_tx, false));
    // A task still running is abandoned: the job is over.
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

/// Runs `role` (which ends soon after `stop` turns true) on this thread while probing for
/// the deciding rank's "stop"; SIGINT and SIGTERM stop the role. Returns the job's exit
/// code: the decider's, or for the decider its role's outcome (which it tells the others).
/// `wait_on_stop`: on the decider's word, let the role finish (a scheduler closes at once);
/// otherwise drop it (a worker would try to hand its data to peers that are leaving too).
async fn serve_until_stopped(
    world: &World,
    layout: Layout,
    role: impl std::future::Future<Output = Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    wait_on_stop: bool,
) -> i32 {
    let mut role = std::pin::pin!(role);
    let mut signal = std::pin::pin!(terminated());
    let mut probe = tokio::time::interval(PROBE_EVERY);
    let decides = world.rank() == layout.decider();
    let (mut ended, mut signalled) = (false, false);
    loop {
        tokio::select! {
            r = &mut role, if !ended => {
                ended = true;
                let code = match r {
                    Ok(()) => 0,
                    Err(e) => {
                        say(world, format!("stopped on an error: {e}"));
                        1
                    }
                };
                if decides {
                    world.tell_stop(code);
                    return code;
                }
            }
            sig = &mut signal, if !signalled => {
                signalled = true;
                say(world, format!("{sig}: stopping"));
                let _ = stop.send(true);
            }
            _ = probe.tick() => {
                if let Some(code) = world.heard_stop(layout.decider()) {
                    let _ = stop.send(true);
                    if wait_on_stop && !ended {
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut role).await;
                    }
                    return code;
                }
            }
        }
    }
}

/// The command's rank: runs COMMAND as a client of the job's cluster once every worker rank
/// has joined, passes SIGINT and SIGTERM on to it, and ends the job with its exit code.
fn run_command(world: &World, layout: Layout, command: &[String]) -> i32 {
    catch_stop_signals();
    let code = command_code(world, layout, command);
    world.tell_stop(code);
    code
}

fn command_code(world: &World, layout: Layout, command: &[String]) -> i32 {
    let invitation = match world.invitation(layout.scheduler) {
        Ok(i) => i,
        Err(e) => {
            say(world, &e);
            return 1;
        }
    };
    let joined = Client::connect(&invitation.address, invitation.security())
        .and_then(|c| wait_for_workers(&c, layout.workers(world.size()).len()));
    if let Err(e) = joined {
        say(world, &e);
        return 1;
    }
    let mut cmd = std::process::Command::new(&command[0]);
    cmd.args(&command[1..])
        .env("DASK_SCHEDULER_ADDRESS", &invitation.address);
    // The client's certificate for COMMAND: files only this user reads, removed after.
    let tls_dir = std::env::temp_dir().join(format!("libdask-mpi-{}", std::process::id()));
    if let Some((ca, cert, key)) = &invitation.tls {
        let files = write_credentials(
            &tls_dir,
            &Credentials {
                ca_pem: ca.clone(),
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            },
        );
        match files {
            Ok([ca, cert, key]) => {
                cmd.env("DASK_TLS_CA", ca)
                    .env("DASK_TLS_CERT", cert)
                    .env("DASK_TLS_KEY", key);
            }
            Err(e) => {
                say(world, &e);
                return 1;
            }
        }
    }
    let code = match cmd.spawn() {
        Err(e) => {
            say(world, format!("cannot run {}: {e}", command[0]));
            127
        }
        Ok(mut child) => wait_passing_stop_on(&mut child, || {}),
    };
    let _ = std::fs::remove_dir_all(&tls_dir);
    code
}

/// The client's `ca.pem`, `client.pem`, `client-key.pem` in `dir` (0700; files 0600), by
/// absolute paths (a command may change directory).
fn write_credentials(dir: &Path, c: &Credentials) -> Result<[PathBuf; 3]> {
    let absolute = |p: PathBuf| {
        std::path::absolute(&p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
    };
    let [ca, cert, key] = c.write(dir, crate::distributed::Role::Client)?;
    Ok([absolute(ca)?, absolute(cert)?, absolute(key)?])
}

/// The scheduler file: the environment a client outside the job needs, one `NAME=value` per
/// line (`set -a; . FILE; set +a` in a shell), the client's TLS files in `FILE.tls/`.
/// Written to a temporary name and renamed, so a reader never sees half of it.
fn write_scheduler_file(file: &Path, address: &str, client: Option<&Credentials>) -> Result<()> {
    let mut text = format!("DASK_SCHEDULER_ADDRESS={address}\n");
    if let Some(c) = client {
        let [ca, cert, key] = write_credentials(&tls_dir_of(file), c)?;
        text += &format!(
            "DASK_TLS_CA={}\nDASK_TLS_CERT={}\nDASK_TLS_KEY={}\n",
            ca.display(),
            cert.display(),
            key.display()
        );
    }
    let tmp = PathBuf::from(format!("{}.part", file.display()));
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", file.display()));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, file).map_err(io)
}
