//! The C ABI of clusters inside MPI jobs, the dask-mpi pattern: `dask_mpi_init` turns the
//! job's ranks into a scheduler and workers and gives rank 0 a client; `dask_mpi_finalize`
//! ends them. Exported by every build; a build without the `mpi` feature says so.

use super::client::dask_client;
use super::{dask_status, guard};
use std::ffi::{c_char, c_int};

/// Makes the MPI job this program runs in a cluster, and rank 0 its client (the dask-mpi
/// pattern): rank 1 runs the scheduler, ranks 2 and on are workers, so the job needs at
/// least 3 ranks (`mpirun -np 4 ./program` gives two workers).
///
/// - On rank 0 the call returns `DASK_OK` once every worker has joined, with `*out_client` a
///   new client of the job's scheduler, owned by the caller (`dask_client_free`); the program
///   goes on, and ends the cluster with `dask_mpi_finalize()` (called at exit otherwise).
/// - On every other rank the call does not return: the rank serves until rank 0 finishes,
///   finalises MPI and ends the process with status 0 (as dask-mpi's `initialize`). The
///   program's code after the call runs on rank 0 only.
///
/// MPI is initialised here (`MPI_Init_thread` with `argc`/`argv`, `MPI_THREAD_FUNNELED`)
/// unless the program already did; `argc` and `argv` may be NULL. MPI carries only the
/// scheduler's address, certificates and the word to stop: data moves over the cluster's
/// own connections. Settings come from the environment, as `libdask mpi`'s (`DASK_MPI_TLS=1`
/// for mutual TLS with a CA made for the job, `DASK_MPI_NTHREADS` threads per worker
/// (default 1), `DASK_MPI_MEMORY_LIMIT`, `DASK_MPI_SPILL_DIR`, `DASK_MPI_HOST`,
/// `DASK_MPI_PORT`, `DASK_MPI_SCHEDULER_FILE`) or `mpi.<option>` lines of `DASK_CONFIG`'s
/// file.
///
/// Errors, returned on every rank alike (and MPI finalised again if this call initialised
/// it): `DASK_ERR_INVALID_ARGUMENT` for fewer than 3 ranks or a bad setting,
/// `DASK_ERR_ALREADY_EXISTS` when called twice, `DASK_ERR_IO` when the scheduler cannot
/// start or a worker did not join in 60 s, `DASK_ERR_NOT_IMPLEMENTED` from a libdask built
/// without MPI (`--features mpi`).
///
/// `argc` and `argv` are only borrowed for the call. Call it once per process, from the
/// calling thread that will make every later MPI call of the program (usually `main`'s).
///
/// # Safety
/// `argc` and `argv` are NULL or `main`'s; `out_client` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_mpi_init(
    argc: *mut c_int,
    argv: *mut *mut *mut c_char,
    out_client: *mut *mut dask_client,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { super::out(out_client, "out_client") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: per the contract.
        let client = unsafe { with_mpi::init(argc, argv) }?;
        *slot = super::handle::new_handle(client);
        Ok(())
    })
}

/// On rank 0 after `dask_mpi_init`: tells the other ranks to stop (they exit) and finalises
/// MPI if `dask_mpi_init` initialised it (a program that called `MPI_Init` itself calls
/// `MPI_Finalize` itself, after this). Clients of the cluster fail from then on: free them
/// first. Called at exit when the program does not, so the other ranks never wait forever.
/// `DASK_ERR_CLOSED` when `dask_mpi_init` has not succeeded here or the cluster already
/// ended; `DASK_ERR_NOT_IMPLEMENTED` from a build without MPI. Call it on the calling thread
/// of `dask_mpi_init` (MPI's calls stay on that thread).
#[no_mangle]
pub extern "C" fn dask_mpi_finalize() -> dask_status {
    guard(with_mpi::finalize)
}

#[cfg(feature = "mpi")]
mod with_mpi {
    use crate::distributed::cli::mpi_options_from_env;
    use crate::distributed::mpi::{join_as_client, serve_and_exit, ClientRank, Layout, World};
    use crate::error::{Error, Result};
    use crate::runtime::Client;
    use parking_lot::Mutex;
    use std::ffi::{c_char, c_int};

    /// The client's rank, from `dask_mpi_init` to `dask_mpi_finalize`.
    static CLIENT_RANK: Mutex<Option<ClientRank>> = Mutex::new(None);
    /// `dask_mpi_init` has run in this process (at most once: MPI starts once).
    static STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    /// # Safety
    /// As `dask_mpi_init`'s.
    pub unsafe fn init(argc: *mut c_int, argv: *mut *mut *mut c_char) -> Result<Client> {
        let opts = mpi_options_from_env()?;
        if STARTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::AlreadyExists(
                "dask_mpi_init was already called in this process".into(),
            ));
        }
        // SAFETY: per the contract.
        let world = unsafe { World::init(argc, argv) }?;
        let layout = Layout::library();
        if let Err(e) = layout.check(world.size()) {
            world.finalize();
            return Err(e);
        }
        if world.rank() != layout.decider() {
            serve_and_exit(world, layout, &opts);
        }
        match join_as_client(&world, layout) {
            Ok(client) => {
                *CLIENT_RANK.lock() = Some(ClientRank { world, layout });
                // SAFETY: registering a plain extern "C" function.
                unsafe {
                    libc::atexit(finalize_at_exit);
                }
                Ok(client)
            }
            Err(e) => {
                // The other ranks must not wait for a client that is not coming.
                ClientRank { world, layout }.finish(1);
                Err(e)
            }
        }
    }

    pub fn finalize() -> Result<()> {
        let rank = CLIENT_RANK.lock().take().ok_or_else(|| {
            Error::Closed("no MPI cluster here: dask_mpi_init did not succeed, or it ended".into())
        })?;
        rank.finish(0);
        Ok(())
    }

    extern "C" fn finalize_at_exit() {
        if let Some(rank) = CLIENT_RANK.lock().take() {
            if !mpi::environment::is_finalized() {
                rank.finish(0);
            }
        }
    }
}

#[cfg(not(feature = "mpi"))]
mod with_mpi {
    use crate::distributed::mpi::not_built;
    use crate::error::Result;
    use crate::runtime::Client;
    use std::ffi::{c_char, c_int};

    /// # Safety
    /// Nothing is read.
    pub unsafe fn init(_: *mut c_int, _: *mut *mut *mut c_char) -> Result<Client> {
        Err(not_built())
    }

    pub fn finalize() -> Result<()> {
        Err(not_built())
    }
}
