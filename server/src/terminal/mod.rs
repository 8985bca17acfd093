//! The browser terminal: a granted pod's shell in a browser tab, through impersonated
//! `pods/exec`, plus the pod list and log streams of a grant.
//!
//! # Layout
//! - `routes.rs`: HTTP routes (pods, logs, the WebSocket upgrade); all checks before upgrade.
//! - `check.rs`: grant / capability / pod coverage checks shared by the routes.
//! - `start.rs`: opening a session (exec + session row) and running it.
//! - `ws.rs`: the axum WebSocket adapter (message mapping, close codes).
//! - `outbox.rs`: the relay's write side (short queue, backpressure, cancel-safe flush).
//! - `relay.rs`: the one `select!` loop per session; transport-free.
//! - `sessions.rs`: the session list (`GET /api/sessions`).
//! - `session.rs`: the session core (timers, line tracking, control parsing); no I/O.
//! - `hooks.rs`: the seams: [`LineFilter`] (command filter) and [`Recorder`].
//!
//! The wire protocol is `keyhole_protocol::terminal`; see docs/terminal.md.

mod check;
mod hooks;
mod outbox;
pub mod relay;
pub mod routes;
pub mod session;
mod sessions;
mod start;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use hooks::{
    AllowAll, DefaultHooks, FilterDecision, LineFilter, NoRecorder, Recorder, SessionHooks,
};

use crate::access::GrantEvent;
use crate::kube::KubeGateway;

/// The terminal module's handles, held in `AppState.terminal`.
#[derive(Clone)]
pub struct Terminal {
    /// The gateway's Kubernetes config (each use impersonates a grant holder).
    pub kube: KubeGateway,
    /// Creates each session's command filter and recorder.
    pub hooks: Arc<dyn SessionHooks>,
    /// Ping period for both sockets of a session (`terminal.keepalive_seconds`).
    pub keepalive: Duration,
}

impl Terminal {
    /// With the default hooks (allow all, record nothing).
    pub fn new(kube: KubeGateway, keepalive: Duration) -> Self {
        Self {
            kube,
            hooks: Arc::new(DefaultHooks),
            keepalive,
        }
    }
}

/// Resolves when the grant `grant_id` ends (revoked, expired, or `expires_at` reached) or the
/// server shuts down. For streams other than the terminal (logs).
pub(crate) async fn grant_end(
    mut events: broadcast::Receiver<GrantEvent>,
    grant_id: String,
    expires_at: i64,
    shutdown: CancellationToken,
) {
    let deadline = routes::instant_of(expires_at);
    let ours = async {
        loop {
            match events.recv().await {
                Ok(ev) if ev.grant_id() == Some(&grant_id) => return,
                // We may have missed ours: end (the client can reconnect and be checked
                // again); log streams are cheap to reopen.
                Ok(GrantEvent::Resync) => return,
                Ok(_) => {}
                // Lagged: the same. Closed: the broker is gone.
                Err(_) => return,
            }
        }
    };
    tokio::select! {
        _ = ours => {}
        _ = tokio::time::sleep_until(deadline.into()) => {}
        _ = shutdown.cancelled() => {}
    }
}
