//! Gives libdask.so a soname carrying the ABI version, so programs linked against
//! ABI 1 keep loading `libdask.so.1` when later, compatible releases are installed.
//!
//! The `libdask` program exports its `dask_*` functions (and only those): a worker's plugins
//! (`--plugin-dir`) call the C ABI of the very process that loads them, so the operations
//! they register land in the worker's own registry, not in a second copy of the library.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdask.so.1");
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=dask_*");
    println!("cargo:rerun-if-changed=build.rs");
}
