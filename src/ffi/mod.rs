//! The C ABI. Filled in by the next files.
