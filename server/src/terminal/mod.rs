//! The browser terminal: a granted pod's shell in a browser tab, through impersonated
//! `pods/exec`, plus the pod list and log streams of a grant.
//!
//! # Layout
//! - `routes.rs`: HTTP routes (pods, logs, the WebSocket upgrade); all checks before upgrade.
//! - `check.rs`: grant / capability / pod coverage checks shared by the routes.
//! - `start.rs`: opening a session (exec + session row) and running it.
//! - `ws.rs`: the axum WebSocket adapter (message mapping, close codes).
//! - `outbox.rs`: the relay's write side toward the browser (short queue, backpressure,
//!   cancel-safe flush); `to_pod.rs`: its write side toward the pod (polled, never awaited).
//! - `relay.rs`: the one `select!` loop per session; transport-free.
//! - `replicas.rs`: this process's heartbeat; session rows closed at stop or after a crash.
//! - `list.rs`: the terminal-session list (`GET /api/terminal-sessions`).
//! - `core.rs`: [`core::TerminalCore`], a terminal session's pure core (timers, line
//!   tracking, control parsing); no I/O.
//! - `hooks.rs`: the seams: [`LineFilter`] (command filter) and [`Recorder`].
//!
//! The wire protocol is `keyhole_protocol::terminal`; see docs/terminal.md.

mod check;
pub mod core;
mod hooks;
mod list;
mod outbox;
pub mod relay;
pub mod replicas;
pub mod routes;
mod start;
mod to_pod;
mod ws;

use std::sync::Arc;
use std::time::Duration;

pub use hooks::{
    AllowAll, DefaultHooks, FilterDecision, LineFilter, NoRecorder, Recorder, SessionHooks,
};

use crate::kube::KubeGateway;
use crate::metrics::Metrics;

/// The terminal module's handles, held in `AppState.terminal`.
#[derive(Clone)]
pub struct Terminal {
    /// The gateway's Kubernetes config (each use impersonates a grant holder).
    pub kube: KubeGateway,
    /// Creates each session's command filter and recorder.
    pub hooks: Arc<dyn SessionHooks>,
    /// Ping period for both sockets of a session (`terminal.keepalive_seconds`).
    pub keepalive: Duration,
    /// Open sessions, bytes, drops and close reasons (the server's registry).
    pub metrics: Metrics,
    /// The cluster is the development stand-in (`--dev`): its pods are local processes.
    pub dev_cluster: bool,
}

impl Terminal {
    /// With the default hooks (allow all, record nothing).
    pub fn new(kube: KubeGateway, keepalive: Duration, metrics: Metrics) -> Self {
        Self {
            kube,
            hooks: Arc::new(DefaultHooks),
            keepalive,
            metrics,
            dev_cluster: false,
        }
    }
}
