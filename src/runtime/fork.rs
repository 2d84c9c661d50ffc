//! Forked processes. `fork()` copies a process with only the forking thread: a client's pool
//! threads do not exist in the child, so anything waiting there for them would wait forever
//! (R's `parallel::mclapply` forks after a `compute()`). Clients and runs remember the process
//! that made them; used in another process they fail at once with a clear error instead. A
//! child makes its own client (`dask_client_new`), which starts its own threads.

use crate::error::{Error, Result};

/// This process's id.
pub(crate) fn current() -> u32 {
    std::process::id()
}

/// Fails when the calling process is not `owner`, the process that made the `what`.
pub(crate) fn check(owner: u32, what: &str) -> Result<()> {
    let here = current();
    if here == owner {
        return Ok(());
    }
    Err(Error::InvalidHandle(format!(
        "this {what} belongs to process {owner}, and this is process {here} (a fork of it): \
         its threads do not exist here; make a new client in this process"
    )))
}
