//! C ABI: plugins, shared libraries of C operations that a worker loads by name.
//!
//! A task that travels names its operation; a C operation exists on a worker only if that
//! worker registered it too. A plugin is the unit that does so: a shared library exporting
//! `dask_plugin_init`, which registers its operations with `dask_op_register` — the same
//! calls a C program makes. The `libdask` program exports its `dask_*` functions, so a plugin
//! built without `-ldask` calls into the worker that loaded it; a client process loads the
//! same file with `dask_plugin_load` to build graphs of those operations.

use super::{c_str, clear_callback_error, dask_status, guard, status_name, take_callback_error};
use crate::error::{Error, Result};
use crate::runtime::{op_count, op_names_since};
use parking_lot::Mutex;
use std::ffi::{c_char, CString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The function a plugin exports under the name `dask_plugin_init`: registers the plugin's
/// operations with `dask_op_register` and returns 0, or returns non-zero after
/// `dask_error_set("why")`. Called once per process, on the loading thread.
#[allow(non_camel_case_types)]
pub type dask_plugin_init_fn = Option<unsafe extern "C" fn() -> i32>;

/// Plugins loaded in this process (canonical paths): a second load is a no-op, as the
/// operations it would register exist already. A plain list (there are few), whose buffers
/// a leak checker sees as reachable from the static.
static LOADED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: as above.
        unsafe { std::ffi::CStr::from_ptr(e) }
            .to_string_lossy()
            .into_owned()
    }
}

/// Loads the plugin at `path` and returns the names of the operations it registered. The
/// library stays loaded for the rest of the process (its operations are never unregistered).
pub(crate) fn load_plugin(path: &Path) -> Result<Vec<String>> {
    let shown = path.display().to_string();
    let canonical = path
        .canonicalize()
        .map_err(|e| Error::NotFound(format!("plugin '{shown}': {e}")))?;
    let mut loaded = LOADED.lock();
    if loaded.contains(&canonical) {
        return Ok(Vec::new());
    }
    let c_path = CString::new(canonical.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid(format!("plugin '{shown}': the path contains a NUL byte")))?;
    // SAFETY: a valid path; loading runs the library's constructors, which is what loading
    // a plugin means.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(Error::invalid(format!(
            "plugin '{shown}' cannot be loaded: {}",
            dl_error()
        )));
    }
    // SAFETY: a live handle and a NUL-terminated name.
    let sym = unsafe { libc::dlsym(handle, c"dask_plugin_init".as_ptr()) };
    if sym.is_null() {
        // SAFETY: the handle came from dlopen above and nothing of it is in use.
        unsafe { libc::dlclose(handle) };
        return Err(Error::invalid(format!(
            "plugin '{shown}' exports no dask_plugin_init function"
        )));
    }
    // SAFETY: the plugin contract: `dask_plugin_init` has the type `dask_plugin_init_fn`.
    let init: unsafe extern "C" fn() -> i32 = unsafe { std::mem::transmute(sym) };
    let before = op_count();
    clear_callback_error();
    // SAFETY: per the contract above.
    let rc = unsafe { init() };
    let message = take_callback_error();
    // The library stays loaded even on failure: operations registered before the failure
    // point into it.
    loaded.push(canonical);
    let names = op_names_since(before);
    if rc != 0 {
        return Err(Error::invalid(format!(
            "plugin '{shown}': dask_plugin_init failed: {}",
            message.unwrap_or_else(|| format!("it returned {} ({rc})", status_name(rc)))
        )));
    }
    Ok(names)
}

/// Loads every `*.so` file directly inside `dir` (the worker's allow-listed plugin directory),
/// in name order; returns each file with the operations it registered. A directory or file
/// that every user may write to is refused: code is only loaded from places its owner
/// controls.
pub(crate) fn load_plugin_dir(dir: &Path) -> Result<Vec<(PathBuf, Vec<String>)>> {
    let shown = dir.display();
    let meta = std::fs::metadata(dir)
        .map_err(|e| Error::NotFound(format!("plugin directory '{shown}': {e}")))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "plugin directory '{shown}' is not a directory"
        )));
    }
    refuse_world_writable(dir, &meta)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io(format!("plugin directory '{shown}': {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "so") && p.is_file())
        .collect();
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let meta = std::fs::metadata(&f)
            .map_err(|e| Error::Io(format!("plugin '{}': {e}", f.display())))?;
        refuse_world_writable(&f, &meta)?;
        let names = load_plugin(&f)?;
        out.push((f, names));
    }
    Ok(out)
}

fn refuse_world_writable(p: &Path, meta: &std::fs::Metadata) -> Result<()> {
    if meta.permissions().mode() & 0o002 != 0 {
        return Err(Error::invalid(format!(
            "'{}' is writable by every user: no plugin is loaded from it",
            p.display()
        )));
    }
    Ok(())
}

/// Loads the plugin (shared library) at `path` and runs its `dask_plugin_init`, which
/// registers its operations in this process (see `dask_plugin_init_fn`). Loading the same
/// file again does nothing. A client loads the plugins its workers load (`libdask worker
/// --plugin-dir DIR`) to build graphs of their operations. Thread-safe; `path` is borrowed
/// for the call only (nothing to free); the library stays loaded for the rest of the process.
///
/// # Safety
/// `path` is a NUL-terminated string; the file is trusted code (it runs in this process).
#[no_mangle]
pub unsafe extern "C" fn dask_plugin_load(path: *const c_char) -> dask_status {
    guard(|| {
        // SAFETY: per the contract.
        let path = unsafe { c_str(path, "path") }?;
        load_plugin(Path::new(path)).map(|_| ())
    })
}
