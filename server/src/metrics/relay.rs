//! What a terminal session's relay counts: bytes each way and drops, plus the open-terminal
//! guard.
//!
//! The relay (`terminal/relay.rs`) builds its two write queues itself and knows nothing of
//! metrics, so the queues find their counters in a task-local scope that the session's task
//! enters ([`RelayMeters::scope`]): `Outbox::new` and `PodQueue::default` take a copy when
//! they are created (one lookup per session, nothing per frame). Outside a scope (unit tests,
//! benches) they count nothing. The counters belong to the server's own registry; the scope is
//! per task, so servers sharing a process never mix their numbers.

use std::future::Future;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

tokio::task_local! {
    static RELAY: RelayMeters;
}

/// The relay's counters (clones of the registry's series; cheap to clone).
#[derive(Clone, Debug)]
pub struct RelayMeters {
    pub(super) to_pod_bytes: Counter,
    pub(super) to_browser_bytes: Counter,
    pub(super) to_pod_dropped: Counter,
    pub(super) to_browser_dropped: Counter,
}

impl RelayMeters {
    /// Runs `fut` (a session's relay) with these counters in scope.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        RELAY.scope(self, fut).await
    }

    /// The counters of the scope the current task runs in, if any.
    pub fn current() -> Option<RelayMeters> {
        RELAY.try_with(Clone::clone).ok()
    }

    /// `n` bytes of input were handed to the pod's exec stream.
    pub fn to_pod(&self, n: usize) {
        self.to_pod_bytes.inc_by(n as u64);
    }

    /// `n` bytes of output were handed to the browser's socket.
    pub fn to_browser(&self, n: usize) {
        self.to_browser_bytes.inc_by(n as u64);
    }

    /// `n` messages for the browser were dropped (it stopped reading).
    pub fn dropped_to_browser(&self, n: usize) {
        self.to_browser_dropped.inc_by(n as u64);
    }

    /// A session was cut because the pod stopped accepting its input.
    pub fn stalled_to_pod(&self) {
        self.to_pod_dropped.inc();
    }
}

/// A terminal counted in `keyhole_terminals_open` until this is dropped, whichever way the
/// session ends (including a panic unwinding through it).
#[derive(Debug)]
pub struct OpenTerminal {
    gauge: Gauge,
}

impl OpenTerminal {
    pub(super) fn new(gauge: Gauge) -> Self {
        gauge.inc();
        OpenTerminal { gauge }
    }
}

impl Drop for OpenTerminal {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
