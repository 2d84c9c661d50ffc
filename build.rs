//! Gives libdask.so a soname carrying the ABI version, so programs linked against
//! ABI 1 keep loading `libdask.so.1` when later, compatible releases are installed.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdask.so.1");
    println!("cargo:rerun-if-changed=build.rs");
}
