//! Distributed mode: a scheduler and workers over TCP (optionally mutual TLS), behind the
//! same `Client` API. Tasks travel as data (operation names and encoded values, the frames
//! of `protocol`); nothing runs code from a message.
//!
//! - `msg`: the messages (msgpack headers + raw frames), with limits checked before
//!   allocating;
//! - `conn`: addresses, connecting and accepting with the versioned, role-checked handshake;
//! - `tls`: certificates and rustls configuration (one CA per cluster, a role per certificate);
//! - `scheduler`: the state machine and the scheduler process;
//! - `worker`: the worker process (the local runtime behind a data port);
//! - `client`: the client's remote backend;
//! - `graph_parts`: a graph sent to the scheduler in parts, each taken as it arrives;
//! - `cluster`: a scheduler and workers on this machine (`LocalCluster`);
//! - `adaptive`: an adaptive cluster's plan, from the scheduler's advice;
//! - `health`: `/health` and `/ready` over HTTP for orchestrators' probes;
//! - `slurm`: a scheduler here and workers as Slurm batch jobs (`SlurmCluster`);
//! - `mpi`: a cluster made of an MPI job's ranks (`libdask mpi`, `dask_mpi_init`);
//! - `cli`: the `libdask scheduler | worker | certs | local-cluster | slurm | mpi` commands.

pub mod adaptive;
pub mod cli;
pub(crate) mod client;
pub mod cluster;
pub mod conn;
mod graph_parts;
pub mod health;
pub mod mpi;
pub mod msg;
pub mod scheduler;
pub mod slurm;
pub mod tls;
pub mod worker;

pub use adaptive::{Adaptive, ClusterAdvice, Scale};
pub(crate) use client::RemoteBackend;
pub use cluster::{LocalCluster, LocalClusterOptions};
pub use msg::{Role, WorkerInfo};
pub use scheduler::server::SchedulerOptions;
pub use scheduler::state::AdaptRule;
pub use slurm::{SlurmCluster, SlurmOptions};
pub use tls::{Credentials, Security, TemporaryCerts};
pub use worker::WorkerOptions;
