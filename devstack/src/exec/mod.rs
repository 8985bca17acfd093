//! `pods/exec` and `pods/attach` over WebSocket: real processes behind the Kubernetes channel
//! protocol.
//!
//! - [`frame`]: the wire protocol, no I/O (unit-tested).
//! - [`process`]: starting the process (PTY or pipes, own process group, pod environment).
//! - [`session`]: the relay between one socket and one process.

pub mod frame;
pub mod process;
pub mod session;
