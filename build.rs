//! Gives libdask.so a soname carrying the ABI version, so programs linked against
//! ABI 0 keep loading `libdask.so.0` when later, compatible releases are installed.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdask.so.0");
    println!("cargo:rerun-if-changed=build.rs");
}
