//! The one error type of the library. Every module returns it; `src/ffi/status.rs` maps each
//! variant to a `dask_status` code in one place, so C, Julia and R see the same categories.

use std::ffi::CString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, by category. Messages are written for the person reading them: they name
/// the argument, key or file involved.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// An argument was invalid (wrong value, wrong length, out of range).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A required pointer or handle was NULL.
    #[error("null argument: {0}")]
    NullArgument(String),
    /// A handle was freed already, or is not a handle of the expected type.
    #[error("invalid handle: {0}")]
    InvalidHandle(String),
    /// The submitted graph is malformed (cycle, missing key, duplicate key).
    #[error("invalid graph: {0}")]
    Graph(String),
    /// A task failed; carries the failing key and the original message.
    #[error("{0}")]
    Task(Arc<TaskError>),
    /// A wait ran out of time; the computation goes on.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A name was not found (operation, key).
    #[error("not found: {0}")]
    NotFound(String),
    /// A name is taken already (operation registration, graph key).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// Element type mismatch.
    #[error("dtype error: {0}")]
    DType(String),
    /// Shape mismatch.
    #[error("shape error: {0}")]
    Shape(String),
    /// The client was closed; no new work is accepted.
    #[error("client closed: {0}")]
    Closed(String),
    /// An operating-system error, with context.
    #[error("i/o error: {0}")]
    Io(String),
    /// No implementation exists for these operands (e.g. a ufunc an array kind lacks).
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// Stored or received data failed its checks (bad magic, checksum, lengths): a corrupt
    /// or truncated spill file or message. The message names the key or file.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Memory ran out and could not be freed by spilling (disk full, disk limit, values that
    /// cannot be serialized).
    #[error("out of memory: {0}")]
    Memory(String),
    /// Rust code panicked; the panic was contained.
    #[error("internal panic: {0}")]
    Panic(String),
}

/// Why a task produced no value: it failed (possibly because a dependency failed, in which case
/// `key` names the task that failed first) or it was cancelled.
#[derive(Debug)]
pub struct TaskError {
    key: String,
    message: String,
    cancelled: bool,
    /// The display text, kept NUL-terminated so the C ABI can lend it without allocating.
    c_text: CString,
}

impl TaskError {
    /// A failure of task `key` with `message`.
    pub fn failed(key: impl Into<String>, message: impl Into<String>) -> Arc<Self> {
        Self::build(key.into(), message.into(), false)
    }

    /// The cancellation of task `key`, with the reason.
    pub fn cancelled(key: impl Into<String>, reason: impl Into<String>) -> Arc<Self> {
        Self::build(key.into(), reason.into(), true)
    }

    fn build(key: String, message: String, cancelled: bool) -> Arc<Self> {
        let text = if cancelled {
            format!("task '{key}' was cancelled: {message}")
        } else {
            format!("task '{key}' failed: {message}")
        };
        let c_text = CString::new(text.replace('\0', " ")).unwrap_or_default();
        Arc::new(TaskError {
            key,
            message,
            cancelled,
            c_text,
        })
    }

    /// The key of the task that failed (or was cancelled) first.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The original message of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the task was cancelled rather than failed.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// The full text ("task 'k' failed: …") as a C string.
    pub fn c_text(&self) -> &std::ffi::CStr {
        &self.c_text
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.c_text.to_string_lossy())
    }
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}
