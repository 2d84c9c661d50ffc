//! The C ABI of distributed mode beyond `dask_config.address`: a cluster on this machine
//! (`dask_cluster_local`), and named datasets shared by every client of one runtime.

use super::array::{array_arg, dask_array};
use super::client::{config_of, dask_client, dask_config, read_config};
use super::handle::{self, handle_type, Shell};
use super::{c_str, guard, guard_void, out};
use crate::array::Array;
use crate::distributed::{LocalCluster, LocalClusterOptions, SlurmCluster};
use crate::error::{Error, Result};
use crate::runtime::{Client, Config};
use std::ffi::{c_char, CString};

/// A cluster: a scheduler and worker processes of the `libdask` program on this machine, or a
/// scheduler here and workers as Slurm jobs.
pub struct ClusterHandle {
    pub(super) cluster: Kind,
    address: CString,
    tls_dir: Option<CString>,
}

pub(super) enum Kind {
    Local(Box<LocalCluster>),
    Slurm(Box<SlurmCluster>),
}

impl Kind {
    /// The scheduler's side (address, TLS files).
    fn scheduler(&self) -> &LocalCluster {
        match self {
            Kind::Local(c) => c,
            Kind::Slurm(c) => c.scheduler(),
        }
    }
}

impl ClusterHandle {
    pub(super) fn new(cluster: Kind) -> ClusterHandle {
        let s = cluster.scheduler();
        let address = CString::new(s.address()).expect("addresses have no NUL");
        let tls_dir = s
            .certs_dir()
            .map(|d| CString::new(d.to_string_lossy().into_owned()).unwrap_or_default());
        ClusterHandle {
            cluster,
            address,
            tls_dir,
        }
    }
}

/// A scheduler and its workers: processes on this machine (`dask_cluster_local`) or Slurm
/// jobs (`dask_cluster_slurm`). Opaque. Freeing it stops the processes (cancels the jobs).
pub struct dask_cluster(Shell<ClusterHandle>);
handle_type!(
    dask_cluster,
    ClusterHandle,
    0x6461_736b_636c_7374,
    "dask_cluster"
);

fn config_or_default(cfg: *const dask_config) -> Result<Config> {
    if cfg.is_null() {
        Ok(Config::default())
    } else {
        // SAFETY: the exported functions pass their caller's `cfg`, valid per their contract.
        config_of(&unsafe { read_config(cfg) }?)
    }
}

/// Starts a scheduler and `n_workers` worker processes with `threads_per_worker` threads each
/// on this machine (Dask's `LocalCluster`), and waits until every worker has joined. `cfg`
/// may be NULL: otherwise its `memory_limit` is each worker's, and a nonzero
/// `require_encryption` makes the cluster use mutual TLS with a fresh CA and certificates
/// (see `dask_cluster_tls_dir`). The `libdask` program is looked up in `$DASK_BIN`, beside
/// the library, or in `../bin` from it. `*out_cluster` is owned by the caller: free it with
/// `dask_cluster_free`, which stops the processes. Any thread.
///
/// # Safety
/// `cfg` is NULL or set up by `dask_config_init`; `out_cluster` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_local(
    n_workers: usize,
    threads_per_worker: usize,
    cfg: *const dask_config,
    out_cluster: *mut *mut dask_cluster,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_cluster, "out_cluster") }?;
        *slot = std::ptr::null_mut();
        if n_workers == 0 {
            return Err(Error::invalid("a cluster needs at least one worker"));
        }
        let config = config_or_default(cfg)?;
        let cluster = LocalCluster::start(LocalClusterOptions {
            n_workers,
            threads_per_worker: threads_per_worker.max(1),
            memory_limit: config.memory.limit.unwrap_or(0) as u64,
            tls: config.security.require_encryption,
            ..LocalClusterOptions::default()
        })?;
        *slot = handle::new_handle(ClusterHandle::new(Kind::Local(Box::new(cluster))));
        Ok(())
    })
}

/// The scheduler's address (`"tcp://127.0.0.1:PORT"` or `"tls://…"`), for `dask_config.address`
/// in this or another process. The string is owned by the cluster (valid until
/// `dask_cluster_free`; do not free it); NULL for a NULL or freed handle. Any thread.
///
/// # Safety
/// `cluster` is NULL or a cluster handle.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_address(cluster: *const dask_cluster) -> *const c_char {
    // SAFETY: per the contract.
    match unsafe { handle::get(cluster) } {
        Ok(c) => c.address.as_ptr(),
        Err(_) => std::ptr::null(),
    }
}

/// The directory holding a TLS cluster's certificates: `ca.pem`, and `<role>.pem` with
/// `<role>-key.pem` for the roles client, scheduler and worker (what a client in another
/// process passes as `tls_ca`, `tls_cert`, `tls_key`). NULL for a plain-TCP cluster.
/// Any thread. The string is owned by the cluster (valid until `dask_cluster_free`; do not
/// free it).
///
/// # Safety
/// `cluster` is NULL or a cluster handle.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_tls_dir(cluster: *const dask_cluster) -> *const c_char {
    // SAFETY: per the contract.
    match unsafe { handle::get(cluster) } {
        Ok(c) => c.tls_dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
        Err(_) => std::ptr::null(),
    }
}

/// A new client of the cluster (its address and, for TLS, the client certificate). `cfg` may
/// be NULL; its `address` and TLS fields are ignored, its others apply to the client's own
/// small pool. `*out_client` is owned by the caller (`dask_client_free`). Any thread.
///
/// # Safety
/// `cluster` is a live cluster; `cfg` NULL or set up by `dask_config_init`; `out_client` valid
/// for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_client(
    cluster: *const dask_cluster,
    cfg: *const dask_config,
    out_client: *mut *mut dask_client,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_client, "out_client") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: per the contract.
        let c = unsafe { handle::get(cluster) }?;
        let config = config_or_default(cfg)?;
        let client = Client::new(Config {
            address: Some(c.cluster.scheduler().address().to_string()),
            security: c.cluster.scheduler().security(),
            ..config
        })?;
        *slot = handle::new_handle(client);
        Ok(())
    })
}

/// Kills worker `index` (0-based, in start order) at once, as a crash would: for tests of
/// worker loss (a local cluster's; a Slurm cluster's workers are jobs: `scancel` them).
/// `DASK_ERR_INVALID_ARGUMENT` when there is no such running worker. The
/// cluster is borrowed for the call; call it from one thread at a time per cluster.
///
/// # Safety
/// `cluster` is a live cluster, not used concurrently by another thread.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_kill_worker(
    cluster: *mut dask_cluster,
    index: usize,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get_mut(cluster) }?;
        match &mut c.cluster {
            Kind::Local(l) => l.kill_worker(index),
            Kind::Slurm(_) => Err(Error::invalid(
                "the workers of a Slurm cluster are jobs: scancel one to stop it",
            )),
        }
    })
}

/// Stops the cluster's processes and frees the handle: ownership ends here (strings from
/// `dask_cluster_address`/`_tls_dir` become invalid). NULL is a no-op. Clients connected to
/// it see their pending futures fail ("the scheduler … closed"). Any thread, once no other
/// thread uses the cluster.
///
/// # Safety
/// `cluster` is NULL or a cluster handle, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn dask_cluster_free(cluster: *mut dask_cluster) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(cluster) })
}

/// Publishes `array` under `name` on the client's runtime (Dask's `publish_dataset`),
/// persisting it first if it is not computed: any client of the same cluster (a C program, a
/// Julia or R session) — or of the same embedded pool — gets it with `dask_array_from_dataset`
/// until it is unpublished. `DASK_ERR_INVALID_ARGUMENT` when the name is taken. Borrows its
/// arguments. Any thread.
///
/// # Safety
/// `client` and `array` are live handles; `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn dask_array_publish(
    client: *const dask_client,
    array: *const dask_array,
    name: *const c_char,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let a: &Array = unsafe { array_arg(array) }?;
        let name = unsafe { c_str(name, "name") }?;
        check_name(name)?;
        a.publish(c, name)
    })
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('\n') {
        return Err(Error::invalid(
            "a dataset name must be non-empty and on one line",
        ));
    }
    Ok(())
}

/// The array published under `name`. `*out_array` is owned by the caller
/// (`dask_array_free`); its blocks stay on the cluster until it is freed. Any thread.
///
/// # Safety
/// `client` is a live client; `name` a NUL-terminated string; `out_array` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_array_from_dataset(
    client: *const dask_client,
    name: *const c_char,
    out_array: *mut *mut dask_array,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_array, "out_array") }?;
        *slot = std::ptr::null_mut();
        let c = unsafe { handle::get(client) }?;
        let name = unsafe { c_str(name, "name") }?;
        let a = Array::from_dataset(c, name)?;
        super::array::put_operand(slot, crate::array::Operand::Array(a))
    })
}

/// The names of the published datasets, one per line, as a string value (`dask_value_bytes`
/// reads it). `*out_value` is owned by the caller (`dask_value_free`). Any thread.
///
/// # Safety
/// `client` is a live client; `out_value` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_list_datasets(
    client: *const dask_client,
    out_value: *mut *mut super::value::dask_value,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let names = c.list_datasets()?.join("\n");
        super::value::put_value(out_value, crate::value::Value::Str(names.into()))
    })
}

/// Forgets the dataset `name`; its data goes once no array or future holds it.
/// `DASK_ERR_INVALID_ARGUMENT` when there is none. `client` and `name` are borrowed for the
/// call. Any thread.
///
/// # Safety
/// `client` is a live client; `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn dask_client_unpublish_dataset(
    client: *const dask_client,
    name: *const c_char,
) -> super::dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let name = unsafe { c_str(name, "name") }?;
        c.unpublish_dataset(name)
    })
}
