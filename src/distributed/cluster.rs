//! A cluster on this machine (Dask's `LocalCluster`): a scheduler and N worker processes of
//! the `libdask` program, for tests and laptops. Dropped, it stops them all (SIGTERM, then
//! SIGKILL) and removes its directory (logs, certificates).
//!
//! The program is found at `$DASK_BIN`, beside the library (`libdask.so`'s directory, or
//! `../bin` from it as installed), or beside the running program (and its parent directory,
//! where cargo puts binaries next to test programs in `deps/`).

use super::tls::{Security, TemporaryCerts};
use super::Role;
use crate::error::{Error, Result};
use crate::runtime::{Client, Config};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a local cluster is made.
#[derive(Debug, Clone)]
pub struct LocalClusterOptions {
    pub n_workers: usize,
    pub threads_per_worker: usize,
    /// Each worker's memory limit in bytes (0: none).
    pub memory_limit: u64,
    /// Mutual TLS with a fresh CA and certificates.
    pub tls: bool,
    /// Seconds without heartbeats before the scheduler gives a worker up.
    pub worker_timeout: f64,
    /// The workers' plugin directory (`libdask worker --plugin-dir`); unset, the workers read
    /// `DASK_WORKER_PLUGIN_DIR` like any worker.
    pub plugin_dir: Option<PathBuf>,
    /// More options for every worker (`["--compression", "lz4"]`).
    pub worker_args: Vec<String>,
    /// Where the scheduler listens: "127.0.0.1" (the default: this machine only), or
    /// "0.0.0.0" (every interface; the address given out then names this machine by its
    /// host name, for workers on other machines).
    pub host: String,
    /// The cluster's directory (logs, certificates), removed when the cluster is dropped; a
    /// new one under the temporary directory when unset. Workers on other machines need it
    /// on a filesystem they share for TLS.
    pub dir: Option<PathBuf>,
}

impl Default for LocalClusterOptions {
    fn default() -> Self {
        LocalClusterOptions {
            n_workers: 2,
            threads_per_worker: 1,
            memory_limit: 0,
            tls: false,
            worker_timeout: 10.0,
            plugin_dir: None,
            worker_args: Vec::new(),
            host: "127.0.0.1".into(),
            dir: None,
        }
    }
}

/// A running local cluster.
pub struct LocalCluster {
    address: String,
    scheduler: Option<Child>,
    workers: Vec<Option<Child>>,
    dir: PathBuf,
    certs: Option<TemporaryCerts>,
    program: PathBuf,
    opts: LocalClusterOptions,
}

fn library_dir() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let here = library_dir as *const ();
    // SAFETY: dladdr reads the address and fills `info`; the name it returns lives as long as
    // the library stays loaded (we copy it at once).
    let found = unsafe { libc::dladdr(here.cast(), &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(name.to_string_lossy().into_owned());
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    path.parent().map(Path::to_path_buf)
}

/// Where the `libdask` program is.
pub fn find_program() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("DASK_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::invalid(format!(
                "DASK_BIN names '{}', which is not a file",
                p.display()
            )))
        };
    }
    let mut candidates = Vec::new();
    if let Some(d) = library_dir() {
        candidates.push(d.join("libdask"));
        candidates.push(d.join("../bin/libdask"));
        candidates.push(d.join("../libdask"));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            candidates.push(d.join("libdask"));
            candidates.push(d.join("../libdask"));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::invalid(format!(
                "the libdask program was not found (looked at {}); set DASK_BIN to its path",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::Io(format!("no free port: {e}")))?;
    Ok(l.local_addr().map_err(|e| Error::Io(e.to_string()))?.port())
}

impl LocalCluster {
    /// Starts a scheduler and the workers, and waits until every worker has joined.
    pub fn start(opts: LocalClusterOptions) -> Result<LocalCluster> {
        let program = find_program()?;
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = opts.dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("libdask-cluster-{}-{n}", std::process::id()))
        });
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Io(format!("cannot make {}: {e}", dir.display())))?;
        let certs = if opts.tls {
            let c = TemporaryCerts::new(false)?;
            c.write(&dir.join("certs"))?;
            Some(c)
        } else {
            None
        };
        let port = free_port()?;
        let scheme = if opts.tls { "tls" } else { "tcp" };
        let advertised = match opts.host.as_str() {
            "0.0.0.0" => host_name()?,
            h => h.to_string(),
        };
        let address = format!("{scheme}://{advertised}:{port}");
        let mut cluster = LocalCluster {
            address,
            scheduler: None,
            workers: Vec::new(),
            dir,
            certs,
            program,
            opts: opts.clone(),
        };
        let mut cmd = cluster.command("scheduler", Role::Scheduler)?;
        cmd.args(["--host", &opts.host, "--port", &port.to_string()])
            .args(["--worker-timeout", &opts.worker_timeout.to_string()]);
        cluster.scheduler = Some(
            cmd.spawn()
                .map_err(|e| Error::Io(format!("cannot start the scheduler: {e}")))?,
        );
        // Wait for the port.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(Error::Io(format!(
                    "the scheduler did not start listening: {}",
                    cluster.log("scheduler")
                )));
            }
            if let Some(Ok(Some(status))) = cluster.scheduler.as_mut().map(|c| c.try_wait()) {
                return Err(Error::Io(format!(
                    "the scheduler exited ({status}): {}",
                    cluster.log("scheduler")
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for _ in 0..opts.n_workers {
            cluster.add_worker()?;
        }
        cluster.wait_for_workers(opts.n_workers, Duration::from_secs(30))?;
        Ok(cluster)
    }

    fn command(&self, what: &str, role: Role) -> Result<Command> {
        let mut cmd = Command::new(&self.program);
        cmd.arg(what);
        let log =
            std::fs::File::create(self.dir.join(format!("{what}-{}.log", self.workers.len())))
                .map_err(|e| Error::Io(format!("cannot make a log file: {e}")))?;
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        if self.certs.is_some() {
            let c = self.dir.join("certs");
            cmd.arg("--tls-ca")
                .arg(c.join("ca.pem"))
                .arg("--tls-cert")
                .arg(c.join(format!("{}.pem", role.name())))
                .arg("--tls-key")
                .arg(c.join(format!("{}-key.pem", role.name())));
        }
        Ok(cmd)
    }

    /// The options a worker of this cluster is started with besides its address: the TLS
    /// files of the worker role, when TLS is on.
    pub fn worker_tls_args(&self) -> Vec<String> {
        match self.certs_dir() {
            None => Vec::new(),
            Some(c) => [
                ("--tls-ca", c.join("ca.pem")),
                ("--tls-cert", c.join("worker.pem")),
                ("--tls-key", c.join("worker-key.pem")),
            ]
            .into_iter()
            .flat_map(|(flag, f)| [flag.to_string(), f.display().to_string()])
            .collect(),
        }
    }

    /// The `libdask` program the cluster runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Starts one more worker (it joins asynchronously).
    pub fn add_worker(&mut self) -> Result<()> {
        let mut cmd = self.command("worker", Role::Worker)?;
        cmd.arg(&self.address)
            .args(["--nthreads", &self.opts.threads_per_worker.to_string()])
            .args(["--name", &format!("local-{}", self.workers.len())])
            .args(["--death-timeout", "20"]);
        if self.opts.memory_limit > 0 {
            cmd.args(["--memory-limit", &self.opts.memory_limit.to_string()]);
        }
        if let Some(dir) = &self.opts.plugin_dir {
            cmd.arg("--plugin-dir").arg(dir);
        }
        cmd.args(&self.opts.worker_args);
        let child = cmd
            .spawn()
            .map_err(|e| Error::Io(format!("cannot start a worker: {e}")))?;
        self.workers.push(Some(child));
        Ok(())
    }

    /// Waits until `n` workers have joined the scheduler.
    pub fn wait_for_workers(&mut self, n: usize, timeout: Duration) -> Result<()> {
        let client = self.client()?;
        let deadline = Instant::now() + timeout;
        loop {
            let have = client.cluster_workers()?.len();
            if have >= n {
                return Ok(());
            }
            let exited = self
                .workers
                .iter_mut()
                .flatten()
                .any(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited {
                return Err(Error::Io(format!(
                    "a worker exited before joining: {}",
                    self.log("worker")
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Io(format!(
                    "{have} of {n} workers joined in {timeout:?}: {}",
                    self.log("worker")
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The scheduler's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// What a client of this cluster presents (its certificate when TLS is on).
    pub fn security(&self) -> Security {
        match &self.certs {
            Some(c) => c.security(Role::Client),
            None => Security::plain(),
        }
    }

    /// The directory of the certificate files (TLS only): `ca.pem`, `<role>.pem`,
    /// `<role>-key.pem`.
    pub fn certs_dir(&self) -> Option<PathBuf> {
        self.certs.as_ref().map(|_| self.dir.join("certs"))
    }

    /// The cluster's certificates (TLS only).
    pub fn certs(&self) -> Option<&TemporaryCerts> {
        self.certs.as_ref()
    }

    /// A new client of this cluster.
    pub fn client(&self) -> Result<Client> {
        Client::new(Config {
            threads: 1,
            address: Some(self.address.clone()),
            security: self.security(),
            ..Config::default()
        })
    }

    /// Process ids of the workers still running.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().flatten().map(|c| c.id()).collect()
    }

    /// Worker `i`'s process, no longer counted as running.
    fn take_worker(&mut self, i: usize) -> Result<Child> {
        self.workers
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| Error::invalid(format!("no running worker {i}")))
    }

    /// Kills worker `i` at once (SIGKILL), as a crash would.
    pub fn kill_worker(&mut self, i: usize) -> Result<()> {
        let mut c = self.take_worker(i)?;
        let _ = c.kill();
        let _ = c.wait();
        Ok(())
    }

    /// Stops worker `i` gracefully (SIGTERM: it hands the results only it holds to the other
    /// workers, then leaves) and waits for it to exit.
    pub fn terminate_worker(&mut self, i: usize) -> Result<()> {
        let mut c = self.take_worker(i)?;
        // SAFETY: kill(2) on a child we own.
        unsafe {
            libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
        }
        c.wait()
            .map_err(|e| Error::Io(format!("waiting for worker {i}: {e}")))?;
        Ok(())
    }

    /// The logs of the processes whose log names start with `what`.
    pub fn log(&self, what: &str) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with(what) && name.ends_with(".log") {
                    out.push_str(&format!("--- {name}\n"));
                    out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
                }
            }
        }
        out
    }
}

/// This machine's host name, as other machines of a cluster reach it.
pub(crate) fn host_name() -> Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if r != 0 || end == 0 {
        return Err(Error::Io(format!(
            "this machine's host name: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn stop(child: &mut Child) {
    // SAFETY: kill(2) on a child we own.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // The scheduler first: it tells its workers to close, so none of them hands data
        // to a peer that is about to go too.
        if let Some(c) = self.scheduler.as_mut() {
            stop(c);
        }
        for c in self.workers.iter_mut().flatten() {
            stop(c);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
