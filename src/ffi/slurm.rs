//! The C ABI of Slurm clusters (`dask_cluster_slurm`), their workers and adaptive scaling;
//! the handle is the `dask_cluster` of `cluster.rs`, so clients, addresses and TLS files
//! come from the same calls as a local cluster's.

use super::cluster::{dask_cluster, ClusterHandle, Kind};
use super::handle;
use super::{c_str, dask_status, guard, out};
use crate::distributed::{Adaptive, SlurmCluster, SlurmOptions};
use crate::error::{Error, Result};
use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

/// How `dask_cluster_slurm` asks Slurm for workers (a versioned input struct:
/// `dask_slurm_options_init(&o, sizeof o)` first, then set fields). The strings are copied
/// during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_slurm_options {
    /// `sizeof(dask_slurm_options)` as the caller was compiled; set by the init function.
    pub struct_size: u32,
    /// Nonzero: mutual TLS with a fresh CA, its files in `dir` (see `dask_cluster_tls_dir`).
    pub tls: u32,
    /// Worker jobs submitted at the start (default 1; ignored when adaptive).
    pub workers: usize,
    /// CPUs per job (`--cpus-per-task`), the worker's threads too; default 1.
    pub cpus_per_worker: usize,
    /// Memory per job in bytes (`--mem`), the worker's memory limit too; default 1 GiB.
    pub mem_per_worker: u64,
    /// The jobs' time limit in Slurm's format ("1:00:00", the default); NULL: the default.
    pub time: *const c_char,
    /// `--partition` and `--account`; NULL (the default): Slurm's defaults.
    pub partition: *const c_char,
    pub account: *const c_char,
    /// The cluster's directory (job script `worker.sbatch`, job logs, TLS files): on a
    /// filesystem the nodes share; NULL (the default): `./libdask-slurm-<pid>`.
    pub dir: *const c_char,
    /// Nonzero `adapt_max`: adaptive between `adapt_min` and `adapt_max` workers (default 0:
    /// a fixed `workers`). The cluster then adapts on its own, every second, on a one-thread
    /// pool of its own; `dask_cluster_adapt` takes a step at once and reports.
    pub adapt_min: usize,
    pub adapt_max: usize,
    /// Seconds a worker stays idle before the scheduler lets it go (default 10).
    pub idle_grace: f64,
    /// Jobs waiting to start, at most (default 4).
    pub max_pending: usize,
}

fn slurm_defaults(struct_size: u32) -> dask_slurm_options {
    let d = Adaptive::default();
    dask_slurm_options {
        struct_size,
        tls: 0,
        workers: 1,
        cpus_per_worker: 1,
        mem_per_worker: 1 << 30,
        time: std::ptr::null(),
        partition: std::ptr::null(),
        account: std::ptr::null(),
        dir: std::ptr::null(),
        adapt_min: 0,
        adapt_max: 0,
        idle_grace: d.idle_grace.as_secs_f64(),
        max_pending: d.max_pending,
    }
}

super::versioned::input_struct!(
    dask_slurm_options,
    slurm_defaults,
    init_slurm_options,
    read_slurm_options,
    [
        tls,
        workers,
        cpus_per_worker,
        mem_per_worker,
        time,
        partition,
        account,
        dir,
        adapt_min,
        adapt_max,
        idle_grace,
        max_pending
    ]
);

/// Fills `*options` (whose `struct_size` bytes are the caller's `sizeof`) with the defaults
/// and sets its `struct_size`. Any thread; nothing to free.
///
/// # Safety
/// `options` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_slurm_options_init(
    options: *mut dask_slurm_options,
    struct_size: usize,
) -> dask_status {
    // SAFETY: per the contract.
    guard(|| unsafe { init_slurm_options(options, struct_size) })
}

/// An optional string field: NULL is `None`.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn text(p: *const c_char, what: &str) -> Result<Option<String>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: per the contract.
    Ok(Some(unsafe { c_str(p, what) }?.to_string()))
}

/// The options as the library takes them.
///
/// # Safety
/// The pointers of `o` are NULL or NUL-terminated strings.
unsafe fn options_of(o: &dask_slurm_options) -> Result<SlurmOptions> {
    let mut opts = SlurmOptions {
        workers: o.workers,
        cpus_per_worker: o.cpus_per_worker,
        mem_per_worker: o.mem_per_worker,
        tls: o.tls != 0,
        ..SlurmOptions::default()
    };
    // SAFETY: per the contract.
    unsafe {
        if let Some(t) = text(o.time, "options.time")? {
            opts.time = t;
        }
        opts.partition = text(o.partition, "options.partition")?;
        opts.account = text(o.account, "options.account")?;
        if let Some(d) = text(o.dir, "options.dir")? {
            opts.dir = PathBuf::from(d);
        }
    }
    if o.adapt_max > 0 {
        let grace = Duration::try_from_secs_f64(o.idle_grace).map_err(|_| {
            Error::invalid(format!(
                "options.idle_grace: {} is not a number of seconds",
                o.idle_grace
            ))
        })?;
        let a = Adaptive {
            min: o.adapt_min,
            max: o.adapt_max,
            idle_grace: grace,
            max_pending: o.max_pending,
            ..Adaptive::default()
        };
        a.check()?;
        opts.adapt = Some(a);
    } else if o.adapt_min > 0 {
        return Err(Error::invalid(
            "options.adapt_min is set without adapt_max (adaptive needs both bounds)",
        ));
    }
    Ok(opts)
}

/// Starts a scheduler on this node (every interface, reached by this node's host name) and
/// submits the workers as Slurm batch jobs (`sbatch`; the script is written to
/// `<dir>/worker.sbatch`, each job's output to `<dir>/worker-<job>.log`), as dask-jobqueue's
/// `SLURMCluster`. Returns once the jobs are submitted: `dask_cluster_wait_for_workers`
/// waits for them to join. `options` may be NULL (the defaults: one worker of 1 CPU and
/// 1 GiB for an hour). `*out_cluster` is owned by the caller: `dask_cluster_free` cancels
/// the jobs (each worker retires on Slurm's SIGTERM) and stops the scheduler. Needs Slurm's
/// commands on the PATH. Any thread.
///
/// # Safety
/// `options` is NULL or set up by `dask_slurm_options_init`; `out_cluster` is valid for
/// writes.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_slurm(
    options: *const dask_slurm_options,
    out_cluster: *mut *mut dask_cluster,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_cluster, "out_cluster") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: per the contract.
        let o = unsafe { read_slurm_options(options) }?;
        // SAFETY: per the contract.
        let opts = unsafe { options_of(&o) }?;
        let mut cluster = SlurmCluster::start(opts)?;
        if cluster.is_adaptive() {
            cluster.start_adapting()?;
        }
        *slot = handle::new_handle(ClusterHandle::new(Kind::Slurm(Box::new(cluster))));
        Ok(())
    })
}

/// Waits until `n` workers have joined the cluster's scheduler (Slurm jobs may wait in the
/// queue first), at most `timeout_seconds`: `DASK_ERR_IO` naming how many joined when the
/// time runs out. The cluster is borrowed for the call; one thread at a time per cluster.
///
/// # Safety
/// `cluster` is a live cluster, not used concurrently by another thread.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_wait_for_workers(
    cluster: *mut dask_cluster,
    n: usize,
    timeout_seconds: f64,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get_mut(cluster) }?;
        let timeout = Duration::try_from_secs_f64(timeout_seconds).map_err(|_| {
            Error::invalid(format!(
                "timeout_seconds: {timeout_seconds} is not a duration"
            ))
        })?;
        match &mut c.cluster {
            Kind::Local(l) => l.wait_for_workers(n, timeout),
            Kind::Slurm(s) => s.wait_for_workers(n, timeout),
        }
    })
}

/// One step of an adaptive Slurm cluster now (it also takes one every second on its own):
/// the scheduler says from its queue how many workers it wants and retires idle ones; jobs
/// are submitted or cancelled to match. Writes the workers connected and the jobs waiting
/// to start (either pointer may be NULL).
/// `DASK_ERR_INVALID_ARGUMENT` for a cluster that is not adaptive. The cluster is borrowed
/// for the call; one thread at a time per cluster.
///
/// # Safety
/// `cluster` is a live cluster, not used concurrently by another thread; `out_workers` and
/// `out_pending` are NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_adapt(
    cluster: *mut dask_cluster,
    out_workers: *mut usize,
    out_pending: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get_mut(cluster) }?;
        let Kind::Slurm(s) = &mut c.cluster else {
            return Err(Error::invalid("only a Slurm cluster adapts"));
        };
        if !s.is_adaptive() {
            return Err(Error::invalid(
                "this Slurm cluster is not adaptive (set adapt_max in its options)",
            ));
        }
        s.adapt_step()?;
        let (workers, pending) = s.counts();
        // SAFETY: per the contract: NULL or writable.
        unsafe {
            if !out_workers.is_null() {
                out_workers.write(workers);
            }
            if !out_pending.is_null() {
                out_pending.write(pending);
            }
        }
        Ok(())
    })
}
