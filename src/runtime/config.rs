//! Client configuration.

/// How a client is set up. `Config::default()` is the embedded default: a thread pool with one
/// thread per core.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Memory limit, spilling and pausing (none by default).
    pub memory: crate::memory::MemoryConfig,
    /// A scheduler to connect to (`tcp://host:port`, `tls://host:port`); `None`: the
    /// embedded thread pool. With an address, `threads` and `memory` size the client's own
    /// small pool (host tasks, local work); the cluster's workers have their own.
    pub address: Option<String>,
    /// TLS credentials and policy for `address`.
    pub security: crate::distributed::Security,
}

impl Config {
    /// The configuration with `threads` workers (0: one per core).
    pub fn with_threads(threads: usize) -> Config {
        Config {
            threads,
            ..Config::default()
        }
    }

    /// The configuration of a client made without one (a binding's default client): a
    /// client of the cluster at `DASK_SCHEDULER_ADDRESS` when it is set (with TLS from
    /// `DASK_TLS_CA`, `DASK_TLS_CERT`, `DASK_TLS_KEY`, and `DASK_REQUIRE_ENCRYPTION`), as
    /// Dask's `Client()` reads its scheduler address from its config; else the embedded pool.
    /// `libdask local-cluster -- COMMAND` sets these for COMMAND.
    pub fn from_env() -> crate::error::Result<Config> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(address) = var("DASK_SCHEDULER_ADDRESS") else {
            return Ok(Config::default());
        };
        let mut security = match (
            var("DASK_TLS_CA"),
            var("DASK_TLS_CERT"),
            var("DASK_TLS_KEY"),
        ) {
            (Some(ca), Some(cert), Some(key)) => {
                use std::path::Path;
                crate::distributed::Security::from_files(
                    Path::new(&ca),
                    Path::new(&cert),
                    Path::new(&key),
                )?
            }
            (None, None, None) => crate::distributed::Security::plain(),
            _ => return Err(crate::error::Error::invalid(
                "DASK_TLS_CA, DASK_TLS_CERT and DASK_TLS_KEY go together: set all three or none",
            )),
        };
        security.require_encryption = var("DASK_REQUIRE_ENCRYPTION")
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        Ok(Config {
            address: Some(address),
            security,
            ..Config::default()
        })
    }

    pub(crate) fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}
