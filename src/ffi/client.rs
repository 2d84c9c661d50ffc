//! C ABI: configuration and clients.

use super::handle::{self, handle_type, Shell};
use super::{dask_status, guard, guard_void, out};
use crate::error::Error;
use crate::runtime::{Client, Config};
use std::ffi::c_void;
use std::sync::Arc;

/// A client: the runtime (the embedded thread pool, or a cluster). Opaque. All functions taking a
/// client are thread-safe.
pub struct dask_client(Shell<Client>);
handle_type!(dask_client, Client, 0x6461_736b_636c_6e74, "dask_client");

/// A plain callback with user data, called from any thread (see each use).
#[allow(non_camel_case_types)]
pub type dask_callback_fn = Option<unsafe extern "C" fn(ctx: *mut c_void)>;

/// Client configuration, a versioned struct: fill it with `dask_config_init(&cfg, sizeof cfg)`,
/// then set fields. Fields are only ever appended; the library reads only those the caller's
/// `struct_size` covers (the others keep their defaults), so a program compiled against an
/// older header keeps working (see "Versioned structs" at the top of this header).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct dask_config {
    /// `sizeof(dask_config)` as the caller was compiled; set by `dask_config_init`.
    pub struct_size: u32,
    /// Worker threads; 0 means one per available core.
    pub threads: u32,
    /// Bytes the client may hold in memory before spilling to disk; 0: no limit.
    pub memory_limit: u64,
    /// Fractions of the limit (0: the default): spill least recently used values past
    /// `memory_target` of managed memory (0.6) or `memory_spill` of process memory (0.7);
    /// start no new task past `memory_pause` of process memory (0.8).
    pub memory_target: f64,
    pub memory_spill: f64,
    pub memory_pause: f64,
    /// Directory for spill files (a fresh subdirectory is made in it and removed when the
    /// client is freed); NULL: the system's temporary directory. Copied by `dask_client_new`.
    pub spill_dir: *const std::ffi::c_char,
    /// Bytes of spill files allowed on disk; 0: no limit but the disk's.
    pub disk_limit: u64,
    /// `DASK_COMPRESSION_*` for spill files and for network messages.
    pub spill_compression: u32,
    pub network_compression: u32,
    /// The memory limit as a fraction of the machine's memory, used when `memory_limit` is 0
    /// (0: no limit).
    pub memory_fraction: f64,
    /// A scheduler to connect to (`"tcp://host:8786"`, `"tls://host:8786"`); NULL: the
    /// embedded thread pool. With an address, every call of this client runs on that
    /// cluster; `threads` and the memory fields then size the client's own small pool (host
    /// tasks and local work). Copied by `dask_client_new`.
    pub address: *const std::ffi::c_char,
    /// PEM files for `tls://` addresses: the cluster's CA, this client's certificate and its
    /// key (`libdask certs --out DIR` makes them). NULL: none. Copied (read) by
    /// `dask_client_new`.
    pub tls_ca: *const std::ffi::c_char,
    pub tls_cert: *const std::ffi::c_char,
    pub tls_key: *const std::ffi::c_char,
    /// Nonzero: refuse plain `tcp://` addresses.
    pub require_encryption: u32,
}

/// The defaults of every field (what `dask_config_init` writes).
fn config_defaults(struct_size: u32) -> dask_config {
    dask_config {
        struct_size,
        threads: 0,
        memory_limit: 0,
        memory_target: 0.0,
        memory_spill: 0.0,
        memory_pause: 0.0,
        spill_dir: std::ptr::null(),
        disk_limit: 0,
        spill_compression: DASK_COMPRESSION_AUTO,
        network_compression: DASK_COMPRESSION_AUTO,
        memory_fraction: 0.0,
        address: std::ptr::null(),
        tls_ca: std::ptr::null(),
        tls_cert: std::ptr::null(),
        tls_key: std::ptr::null(),
        require_encryption: 0,
    }
}

macro_rules! config_fields {
    ($m:ident, $ptr:expr, $size:expr, $src:expr) => {
        super::versioned::$m!(
            $ptr,
            $size,
            dask_config,
            $src,
            [
                threads,
                memory_limit,
                memory_target,
                memory_spill,
                memory_pause,
                spill_dir,
                disk_limit,
                spill_compression,
                network_compression,
                memory_fraction,
                address,
                tls_ca,
                tls_cert,
                tls_key,
                require_encryption,
            ]
        )
    };
}

/// Compress frames when a sample shows it pays (the default).
pub const DASK_COMPRESSION_AUTO: u32 = 0;
/// Compress every frame that shrinks.
pub const DASK_COMPRESSION_LZ4: u32 = 1;
/// Never compress.
pub const DASK_COMPRESSION_NONE: u32 = 2;

/// What the client's store holds: a versioned output struct (see `dask_client_memory_stats`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct dask_memory_stats {
    /// Bytes the library filled (set by the call).
    pub struct_size: u32,
    /// Bytes of payload held by stored values.
    pub managed_bytes: u64,
    /// Stored values holding a payload.
    pub values: u64,
    /// Resident memory of the process that is not stored values, and all of it.
    pub unmanaged_bytes: u64,
    pub process_bytes: u64,
    /// Spill files on disk: bytes, and the values whose only copy they are.
    pub spilled_bytes: u64,
    pub spilled_values: u64,
    /// Values moved out of memory so far: count, in-memory bytes, seconds spent.
    pub spill_count: u64,
    pub spill_bytes: u64,
    pub spill_seconds: f64,
    /// Values read back from disk so far.
    pub unspill_count: u64,
    pub unspill_bytes: u64,
    pub unspill_seconds: f64,
    /// Values that cannot be serialized and stay in memory.
    pub unspillable_values: u64,
    /// True while new tasks wait for memory to fall (the pause threshold).
    pub paused: bool,
    /// Spill files written so far, and their bytes on disk: each value is written once, however
    /// often it is read back and goes out again (`spill_count` counts every time it goes out).
    pub files_written: u64,
    pub file_bytes_written: u64,
}

/// Fills the caller's config of `struct_size` bytes (pass `sizeof(dask_config)` as compiled)
/// with the defaults (one thread per core, no memory limit) and sets its `struct_size`. Only
/// the fields that `struct_size` covers are written; bytes past the library's own
/// `dask_config` are zeroed. Any thread. The library keeps no pointer to `cfg`: it is written
/// during the call only, and there is nothing to free.
///
/// # Safety
/// `cfg` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_config_init(
    cfg: *mut dask_config,
    struct_size: usize,
) -> dask_status {
    guard(|| {
        if cfg.is_null() {
            return Err(Error::NullArgument("cfg is NULL".into()));
        }
        if struct_size < 8 || struct_size > u32::MAX as usize {
            return Err(Error::invalid(format!(
                "struct_size {struct_size}: pass sizeof(dask_config)"
            )));
        }
        // SAFETY: per the contract, `struct_size` bytes are writable.
        let filled = unsafe { super::versioned::zero_unknown(cfg, struct_size) };
        let defaults = config_defaults(struct_size as u32);
        config_fields!(write_fields, cfg, filled, defaults);
        // SAFETY: `struct_size` (4 bytes at offset 0) is within the caller's struct.
        unsafe { std::ptr::addr_of_mut!((*cfg).struct_size).write_unaligned(struct_size as u32) };
        Ok(())
    })
}

/// The config a caller passed, read field by field as far as its `struct_size` goes.
///
/// # Safety
/// `cfg` is NULL or a config whose `struct_size` bytes are readable.
pub(crate) unsafe fn read_config(cfg: *const dask_config) -> crate::error::Result<dask_config> {
    // SAFETY: per the contract.
    let size = unsafe { super::versioned::struct_size(cfg, 8, "dask_config") }.map_err(|e| {
        Error::invalid(format!(
            "{e}; call dask_config_init(&cfg, sizeof cfg) first"
        ))
    })?;
    // SAFETY: per the contract.
    unsafe { super::versioned::check_unknown_zero(cfg, size, "dask_config") }?;
    Ok(config_fields!(
        read_fields,
        cfg,
        size,
        config_defaults(size as u32)
    ))
}

/// The Rust configuration of a full `dask_config`.
/// An optional string field of `dask_config`.
fn text_field(p: *const std::ffi::c_char, name: &str) -> crate::error::Result<Option<String>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL string field is NUL-terminated, per the contract.
    let s = unsafe { std::ffi::CStr::from_ptr(p) };
    s.to_str()
        .map(|s| Some(s.to_string()))
        .map_err(|_| Error::invalid(format!("dask_config.{name} is not UTF-8")))
}

/// The TLS settings of a config.
fn security_of(c: &dask_config) -> crate::error::Result<crate::distributed::Security> {
    use crate::distributed::Security;
    let files = (
        text_field(c.tls_ca, "tls_ca")?,
        text_field(c.tls_cert, "tls_cert")?,
        text_field(c.tls_key, "tls_key")?,
    );
    let mut s = match files {
        (None, None, None) => Security::plain(),
        (Some(ca), Some(cert), Some(key)) => Security::from_files(
            std::path::Path::new(&ca),
            std::path::Path::new(&cert),
            std::path::Path::new(&key),
        )?,
        _ => {
            return Err(Error::invalid(
                "dask_config: TLS needs all three of tls_ca, tls_cert and tls_key",
            ))
        }
    };
    s.require_encryption = c.require_encryption != 0;
    Ok(s)
}

pub(crate) fn config_of(c: &dask_config) -> crate::error::Result<Config> {
    use crate::memory::MemoryConfig;
    use crate::protocol::Compression;
    let d = MemoryConfig::default();
    let or = |v: f64, default: f64| if v == 0.0 { default } else { v };
    let spill_dir = text_field(c.spill_dir, "spill_dir")?.map(std::path::PathBuf::from);
    let limit = if c.memory_limit > 0 {
        Some(c.memory_limit as usize)
    } else if c.memory_fraction != 0.0 {
        if !(c.memory_fraction > 0.0 && c.memory_fraction <= 1.0) {
            return Err(Error::invalid(format!(
                "dask_config.memory_fraction {} is not in (0, 1]",
                c.memory_fraction
            )));
        }
        Some(
            MemoryConfig::limit_fraction(c.memory_fraction).ok_or_else(|| {
                Error::NotImplemented("the machine's memory size is not known here".into())
            })?,
        )
    } else {
        None
    };
    Ok(Config {
        threads: c.threads as usize,
        memory: MemoryConfig {
            limit,
            target: or(c.memory_target, d.target),
            spill: or(c.memory_spill, d.spill),
            pause: or(c.memory_pause, d.pause),
            spill_dir,
            disk_limit: (c.disk_limit > 0).then_some(c.disk_limit),
            spill_compression: Compression::from_code(c.spill_compression)?,
            network_compression: Compression::from_code(c.network_compression)?,
        },
        address: text_field(c.address, "address")?,
        security: security_of(c)?,
    })
}

/// Starts a client: a pool of worker threads, or — with `cfg->address` — a connection to the
/// cluster's scheduler there (every call of the client then runs on the cluster; the
/// handshake and, for `tls://`, mutual TLS happen here, and their failures are this call's
/// error). `cfg` may be NULL (defaults); it is read during the call only (strings copied). On success `*out_client` is a new client, owned by
/// the caller: free it with `dask_client_free`. Any thread.
///
/// # Safety
/// `cfg` is NULL or a config set up by `dask_config_init`; `out_client` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_new(
    cfg: *const dask_config,
    out_client: *mut *mut dask_client,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_client, "out_client") }?;
        *slot = std::ptr::null_mut();
        let config = if cfg.is_null() {
            Config::default()
        } else {
            // SAFETY: per the contract.
            config_of(&unsafe { read_config(cfg) }?)?
        };
        *slot = handle::new_handle(Client::new(config)?);
        Ok(())
    })
}

/// Starts the client a program gets when it names none (the bindings' default client): a
/// client of the cluster at `DASK_SCHEDULER_ADDRESS` when that environment variable is set
/// (TLS files from `DASK_TLS_CA`, `DASK_TLS_CERT`, `DASK_TLS_KEY`; `DASK_REQUIRE_ENCRYPTION`),
/// as `libdask local-cluster -- COMMAND` sets them; otherwise the embedded pool with one
/// thread per core. On success `*out_client` is a new client, owned by the caller: free it
/// with `dask_client_free`. Any thread.
///
/// # Safety
/// `out_client` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_new_default(out_client: *mut *mut dask_client) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let slot = unsafe { out(out_client, "out_client") }?;
        *slot = std::ptr::null_mut();
        *slot = handle::new_handle(Client::new(Config::from_env()?)?);
        Ok(())
    })
}

/// Closes a client: stops its threads (running tasks finish first) and cancels every task
/// that has not finished; futures stay valid and report `DASK_ERR_CANCELLED`. NULL is a
/// no-op. Call it from any thread, but only once no other thread uses the client: it must not race
/// with other calls on it. Ownership of the client ends here; futures and values obtained through
/// it remain owned by the caller and are still freed with their own `dask_*_free`.
///
/// # Safety
/// `client` is NULL or a client from `dask_client_new`, not used after this call.
#[no_mangle]
pub unsafe extern "C" fn dask_client_free(client: *mut dask_client) {
    // SAFETY: per the contract.
    guard_void(|| unsafe { handle::free(client) })
}

/// The number of worker threads. Thread-safe. Writes `*out_threads` only; nothing to free.
///
/// # Safety
/// `client` is a live client; `out_threads` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_threads(
    client: *const dask_client,
    out_threads: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        *unsafe { out(out_threads, "out_threads") }? = c.threads();
        Ok(())
    })
}

/// Runs up to `max` queued host tasks (tasks of operations registered with `DASK_OP_HOST`) on
/// the calling thread, and writes how many ran to `*out_ran` (may be NULL). Call it from the
/// host's event loop, on the thread where host code may run. Waiting on a future from a
/// non-pool thread runs host tasks too. Writes `*out_ran` only; nothing to free.
///
/// # Safety
/// `client` is a live client; `out_ran` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_run_host_tasks(
    client: *const dask_client,
    max: usize,
    out_ran: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        c.check_process()?; // a fork's child must not run its parent's queued host tasks
        let ran = c.run_host_tasks(max);
        // SAFETY: per the contract.
        if let Some(slot) = unsafe { out_ran.as_mut() } {
            *slot = ran;
        }
        Ok(())
    })
}

/// Sets the function called each time a host task is queued, or clears it (`notify` NULL).
/// It is called from any thread, possibly concurrently, and must only signal the host's event
/// loop (e.g. Julia passes `uv_async_send` with its `AsyncCondition` handle as `ctx`), never
/// run host code itself. `ctx` must stay valid until the notifier is replaced or the client
/// freed.
///
/// # Safety
/// `client` is a live client; `notify` is NULL or a function safe to call from any thread.
#[no_mangle]
pub unsafe extern "C" fn dask_client_set_host_notify(
    client: *const dask_client,
    notify: dask_callback_fn,
    ctx: *mut c_void,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let notify = notify.map(|f| {
            let ctx = SendPtr(ctx);
            Arc::new(move || {
                let ctx = &ctx;
                // SAFETY: the caller promised `f` may be called from any thread with `ctx`.
                unsafe { f(ctx.0) }
            }) as crate::runtime::HostNotify
        });
        c.set_host_notify(notify);
        Ok(())
    })
}

/// Bits a host reference token's host id is shifted by: a token is `host << 48 | n`.
pub const DASK_HOST_TAG_SHIFT: u32 = 48;
const _: () = assert!(DASK_HOST_TAG_SHIFT == crate::runtime::HOST_TAG_SHIFT);

/// A release callback (a `dask_release_fn`) that only queues its `ctx` as a token: pass it,
/// with a token of your own cast to a pointer as `ctx`, wherever the library takes a release
/// callback for a host object (`dask_value_wrap_buffer`, `dask_value_from_opaque`). The
/// library may drop its last reference on any thread; the host learns of it on its own
/// thread from `dask_host_refs_released` and unroots the object there (Julia and R objects
/// must not be touched from other threads). A token's top 16 bits name its host (any id
/// the host picks, e.g. a letter), so hosts sharing a process drain only their own tokens.
/// Any thread. `token` is kept as a number only (never dereferenced, never freed).
///
/// # Safety
/// None: `token` is never dereferenced.
#[no_mangle]
pub unsafe extern "C" fn dask_host_ref_release(token: *mut c_void) {
    crate::runtime::release_host_ref(token as usize as u64);
}

/// Writes up to `capacity` tokens of `host` (tokens whose top 16 bits are `host`) released
/// through `dask_host_ref_release` since the last call, oldest first, to `out_tokens`, and
/// their number to `*out_n`. Call it from the host's own thread (e.g. after waiting on a
/// future, and from its event loop). The tokens are copied into the caller's `out_tokens` and
/// removed from the library's queue, so each is returned once; nothing to free.
///
/// # Safety
/// `out_tokens` has room for `capacity` values (may be NULL when `capacity` is 0); `out_n`
/// is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn dask_host_refs_released(
    host: u16,
    out_tokens: *mut u64,
    capacity: usize,
    out_n: *mut usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let n = unsafe { out(out_n, "out_n") }?;
        if capacity > 0 && out_tokens.is_null() {
            return Err(crate::error::Error::NullArgument("out_tokens".into()));
        }
        let tokens = crate::runtime::take_released_host_refs(host, capacity);
        for (i, t) in tokens.iter().enumerate() {
            // SAFETY: `out_tokens` has room for `capacity` >= tokens.len() values.
            unsafe { *out_tokens.add(i) = *t };
        }
        *n = tokens.len();
        Ok(())
    })
}

/// Reads the store's counters into the caller's `dask_memory_stats` of `struct_size` bytes
/// (pass `sizeof(dask_memory_stats)`): the fields that size covers are written, and
/// `struct_size` is set to the bytes filled. Thread-safe. The caller's struct is written during the
/// call only; nothing to free.
///
/// # Safety
/// `client` is a live client; `out_stats` is valid for writes of `struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn dask_client_memory_stats(
    client: *const dask_client,
    out_stats: *mut dask_memory_stats,
    struct_size: usize,
) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let c = unsafe { handle::get(client) }?;
        let size = super::versioned::check_size(struct_size, 4, "dask_memory_stats")?;
        if out_stats.is_null() {
            return Err(Error::NullArgument("out_stats is NULL".into()));
        }
        let s = c.memory_stats();
        let stats = dask_memory_stats {
            struct_size: 0,
            managed_bytes: s.managed_bytes as u64,
            values: s.values as u64,
            unmanaged_bytes: s.unmanaged_bytes as u64,
            process_bytes: s.process_bytes as u64,
            spilled_bytes: s.spilled_bytes,
            spilled_values: s.spilled_values as u64,
            spill_count: s.spill_count,
            spill_bytes: s.spill_bytes,
            spill_seconds: s.spill_nanos as f64 * 1e-9,
            unspill_count: s.unspill_count,
            unspill_bytes: s.unspill_bytes,
            unspill_seconds: s.unspill_nanos as f64 * 1e-9,
            unspillable_values: s.unspillable_values as u64,
            paused: s.paused,
            files_written: s.files_written,
            file_bytes_written: s.file_bytes_written,
        };
        // SAFETY: `size` bytes are writable per the contract.
        let filled = unsafe { super::versioned::zero_unknown(out_stats, size) };
        super::versioned::write_fields!(
            out_stats,
            filled,
            dask_memory_stats,
            stats,
            [
                managed_bytes,
                values,
                unmanaged_bytes,
                process_bytes,
                spilled_bytes,
                spilled_values,
                spill_count,
                spill_bytes,
                spill_seconds,
                unspill_count,
                unspill_bytes,
                unspill_seconds,
                unspillable_values,
                paused,
                files_written,
                file_bytes_written,
            ]
        );
        // SAFETY: the first 4 bytes are the caller's struct_size.
        unsafe { out_stats.cast::<u32>().write_unaligned(filled as u32) };
        Ok(())
    })
}

/// A host pointer handed to callbacks on other threads; the C caller vouches for that.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut c_void);
// SAFETY: the C contract of every function taking a `ctx` says it is used from any thread.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}
