//! The scheduler: its state machine (`state`, no sockets) and the process around it
//! (`server`).

pub mod server;
pub mod state;
