//! The library's operations by stable name: what a process must have registered to run tasks
//! made by another (a worker, a replay of captured tasks). Each module registers its own on
//! first use; `ensure` registers them all at once.

/// Registers every operation and parameter type of the library.
pub fn ensure() {
    crate::array::register_ops();
    crate::glm::register_ops();
    crate::io::register_ops();
    crate::table::register_ops();
}

/// The names of the library's operations, all registered (sorted).
pub fn library_ops() -> Vec<String> {
    ensure();
    crate::runtime::library_op_names()
}
