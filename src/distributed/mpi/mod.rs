//! A cluster inside an MPI job, the dask-mpi way: `mpirun -np N libdask mpi` or a C program
//! calling `dask_mpi_init`. One rank runs the scheduler, one may be the client's, the others
//! are workers. MPI carries only what a rank needs to join (the scheduler's address and,
//! with TLS, the certificate of its role) and the word to stop together; data moves over
//! the cluster's own transport like anywhere else.
//!
//! - `layout`: which rank does what;
//! - `invitation`: what the scheduler's rank sends every other rank;
//! - `world` (feature `mpi`): the few MPI calls, on the thread that initialised MPI;
//! - `rank` (feature `mpi`): a rank serving its role until the deciding rank says stop.

mod invitation;
mod layout;
#[cfg(feature = "mpi")]
mod rank;
#[cfg(feature = "mpi")]
mod world;

pub use invitation::Invitation;
pub use layout::{Layout, RankRole};
#[cfg(feature = "mpi")]
pub use rank::{join_as_client, run_command_line, serve_and_exit, ClientRank};
#[cfg(feature = "mpi")]
pub use world::World;

use std::path::PathBuf;
use std::time::Duration;

/// How the ranks of an MPI job make their cluster (`libdask mpi --help` has each option).
#[derive(Debug, Clone)]
pub struct MpiOptions {
    /// Mutual TLS with a CA made for this job; each rank gets its role's certificate from the
    /// scheduler's rank over MPI.
    pub tls: bool,
    /// Threads per worker (dask-mpi's default: one; MPI jobs usually have a rank per core).
    pub nthreads: usize,
    /// Each worker's memory limit in bytes (spills past it); `None`: no limit.
    pub memory_limit: Option<u64>,
    pub spill_dir: Option<PathBuf>,
    /// The scheduler's port; 0 (the default) takes a free one, so jobs sharing a node do
    /// not collide.
    pub port: u16,
    /// The name other nodes reach the scheduler's node by; empty: its host name.
    pub host: String,
    /// Where to write the scheduler's address (and with TLS the client's files) for
    /// clients outside the job.
    pub scheduler_file: Option<PathBuf>,
    pub worker_timeout: Duration,
    pub allowed_failures: u32,
}

impl Default for MpiOptions {
    fn default() -> Self {
        MpiOptions {
            tls: false,
            nthreads: 1,
            memory_limit: None,
            spill_dir: None,
            port: 0,
            host: String::new(),
            scheduler_file: None,
            worker_timeout: Duration::from_secs(10),
            allowed_failures: 3,
        }
    }
}

/// The error of a build without MPI.
pub fn not_built() -> crate::error::Error {
    crate::error::Error::NotImplemented(
        "this libdask was built without MPI: build it with `cargo build --release --features mpi` \
         (needs Open MPI's development files and libclang: apt install libopenmpi-dev \
         openmpi-bin libclang-dev)"
            .into(),
    )
}
