//! libdask: Dask's parallel-computing core in Rust, with a stable C ABI.
//!
//! The embedded default is a [`Client`] on a local work-stealing thread pool. Work is a graph
//! of tasks; a task is a registered operation applied to values or to other tasks' results.
//! Results live in the client's store and are reached through reference-counted [`Future`]s.
//!
//! ```
//! use dask::{Arg, Client, Config, Graph, Operation, Task};
//! let client = Client::new(Config::with_threads(2)).unwrap();
//! let sum = Operation::named("sum").unwrap();
//! let mut g = Graph::new();
//! let a = g.add_keyed("a", Task::new(sum.clone(), vec![Arg::value(1i64), Arg::value(2i64)])).unwrap();
//! let b = g.add_keyed("b", Task::new(sum, vec![Arg::key("a"), Arg::value(10i64)])).unwrap();
//! let out = client.compute(g, &[b]).unwrap();
//! assert_eq!(out[0].result().unwrap().as_i64(), Some(13));
//! # let _ = a;
//! ```

pub mod array;
pub mod catalog;
/// Distributed mode (Rust API; its C functions live in `ffi`).
/// cbindgen:ignore
pub mod distributed;
pub mod error;
pub mod failpoint;
pub mod ffi;
/// GLMs (Rust API; their C functions live in `ffi`).
/// cbindgen:ignore
pub mod glm;
pub mod io;
pub mod memory;
/// Progress bars (Rust API; their C functions live in `ffi`).
/// cbindgen:ignore
pub mod observe;
mod parallel;
pub mod protocol;
pub mod runtime;
pub mod sparse;
pub mod table;
pub mod ufunc;
pub mod value;

pub use error::{Error, Result, TaskError};
pub use runtime::{
    lookup_op, register_op, wait_all, Arg, AsCompleted, Client, Config, Future, FutureStatus,
    Graph, Operation, Task, TaskId,
};
pub use value::{Buffer, DType, Value};

/// The library version (the crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The ABI version: the `N` in the soname `libdask.so.N`. Bumped only on incompatible change.
pub const ABI_VERSION: u32 = 1;
