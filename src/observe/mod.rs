//! Seeing a computation: its progress as a terminal bar (`bar`). The dashboard, graph
//! pictures and performance reports of the same issue join this module.

mod bar;

pub use bar::{render, Bar};
