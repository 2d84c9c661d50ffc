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

    pub(crate) fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}
