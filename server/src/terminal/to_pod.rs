//! The relay's write side toward the pod: keystrokes, resizes and keepalive pings wait in a
//! short queue and are written by polling ([`PodQueue::poll_drive`]), never by an `await`
//! inside a `select!` branch. So a pod (or API server) that stops reading can delay nothing
//! but its own input: revocation, expiry, shutdown and pod output keep being served, and a
//! stall longer than [`INPUT_STALL`] ends the session.
//!
//! Backpressure: while the queue holds [`MAX_QUEUED`] bytes or more, the relay stops reading
//! the browser's socket.
//!
//! Metrics: input bytes handed to the exec stream (`keyhole_terminal_bytes_total
//! {direction="to_pod"}`), and a session cut by the input stall (`keyhole_relay_dropped_total
//! {queue="to_pod"}`), counted into the session's [`RelayMeters`] scope.

use std::collections::VecDeque;
use std::io;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use crate::metrics::RelayMeters;

/// The queue stops taking browser input at this size.
pub(super) const MAX_QUEUED: usize = 64 * 1024;

/// Input that the pod has not accepted for this long ends the session.
pub const INPUT_STALL: Duration = Duration::from_secs(60);

/// What goes to the pod's exec stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToPod {
    /// Keystrokes for the TTY.
    Stdin(Vec<u8>),
    /// A new terminal size.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// A keepalive ping on the exec connection.
    Ping,
}

impl ToPod {
    fn len(&self) -> usize {
        match self {
            ToPod::Stdin(b) => b.len(),
            ToPod::Resize { .. } | ToPod::Ping => 0,
        }
    }
}

/// The exec's write side, as a poll-based sink (the WebSocket toward the API server).
pub trait ExecInput: Send + Unpin {
    /// Ready to take one item.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Takes one item (after `poll_ready` said so).
    fn start_send(&mut self, item: ToPod) -> io::Result<()>;
    /// Writes out what was taken.
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Items waiting for the pod.
#[derive(Debug)]
pub struct PodQueue {
    items: VecDeque<ToPod>,
    bytes: usize,
    unflushed: bool,
    /// Since when something has been waiting.
    busy_since: Option<Instant>,
    /// The session's counters (none outside a session's scope).
    meters: Option<RelayMeters>,
}

impl Default for PodQueue {
    fn default() -> Self {
        PodQueue {
            items: VecDeque::new(),
            bytes: 0,
            unflushed: false,
            busy_since: None,
            meters: RelayMeters::current(),
        }
    }
}

/// A queue dropped while its input has waited [`INPUT_STALL`] or longer: the session was cut
/// because the pod stopped accepting input. (Tokio's clock, so a paused test clock counts.)
impl Drop for PodQueue {
    fn drop(&mut self) {
        let now = tokio::time::Instant::now().into_std();
        if let (Some(m), Some(deadline)) = (&self.meters, self.stall_deadline())
            && now >= deadline
        {
            m.stalled_to_pod();
        }
    }
}

impl PodQueue {
    /// Queues `item`.
    pub fn push(&mut self, item: ToPod, now: Instant) {
        if self.busy_since.is_none() {
            self.busy_since = Some(now);
        }
        self.bytes += item.len();
        self.items.push_back(item);
    }

    /// Something waits to be written or flushed.
    pub fn is_busy(&self) -> bool {
        !self.items.is_empty() || self.unflushed
    }

    /// Too much is waiting: stop reading browser input.
    pub fn is_full(&self) -> bool {
        self.bytes >= MAX_QUEUED
    }

    /// When the input has been waiting too long (`None` while nothing waits).
    pub fn stall_deadline(&self) -> Option<Instant> {
        self.busy_since.map(|t| t + INPUT_STALL)
    }

    /// Hands queued items to `io` and flushes; `Ready(Ok)` once everything is written.
    /// Cancel-safe: an item leaves the queue only when `io` took it.
    pub fn poll_drive<I: ExecInput>(
        &mut self,
        io: &mut I,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.items.is_empty() {
            ready!(io.poll_ready(cx))?;
            let item = self.items.pop_front().expect("non-empty");
            let len = item.len();
            self.bytes -= len;
            io.start_send(item)?;
            self.unflushed = true;
            if let (Some(m), true) = (&self.meters, len > 0) {
                m.to_pod(len);
            }
        }
        if self.unflushed {
            ready!(io.poll_flush(cx))?;
            self.unflushed = false;
        }
        self.busy_since = None;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    /// Accepts `room` items, then is never ready again.
    struct Stuck {
        room: usize,
        got: Vec<ToPod>,
    }

    impl ExecInput for Stuck {
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            if self.room > 0 {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
        fn start_send(&mut self, item: ToPod) -> io::Result<()> {
            self.room -= 1;
            self.got.push(item);
            Ok(())
        }
        fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn drives_in_order_and_keeps_what_was_not_taken() {
        let t0 = Instant::now();
        let mut q = PodQueue::default();
        q.push(ToPod::Stdin(b"ls".to_vec()), t0);
        q.push(ToPod::Resize { cols: 80, rows: 24 }, t0);
        q.push(ToPod::Stdin(vec![b'x'; MAX_QUEUED]), t0);
        assert!(q.is_full() && q.is_busy());
        assert_eq!(q.stall_deadline(), Some(t0 + INPUT_STALL));
        let mut io = Stuck {
            room: 2,
            got: Vec::new(),
        };
        let polled = poll_fn(|cx| Poll::Ready(q.poll_drive(&mut io, cx))).await;
        assert!(polled.is_pending());
        assert_eq!(io.got.len(), 2);
        assert!(q.is_full(), "the big item is still queued");
        io.room = 1;
        let polled = poll_fn(|cx| Poll::Ready(q.poll_drive(&mut io, cx))).await;
        assert!(matches!(polled, Poll::Ready(Ok(()))));
        assert!(!q.is_busy() && !q.is_full());
        assert_eq!(q.stall_deadline(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_input_bytes_and_a_session_cut_by_the_stall() {
        let metrics = crate::metrics::Metrics::new();
        metrics
            .relay()
            .scope(async {
                let mut q = PodQueue::default();
                q.push(ToPod::Stdin(b"ls\r".to_vec()), Instant::now());
                q.push(ToPod::Ping, Instant::now());
                q.push(ToPod::Stdin(b"pwd\r".to_vec()), Instant::now());
                let mut io = Stuck {
                    room: 2,
                    got: Vec::new(),
                };
                let polled = poll_fn(|cx| Poll::Ready(q.poll_drive(&mut io, cx))).await;
                assert!(polled.is_pending());
                // An ordinary end with input still queued is no stall.
                drop(PodQueue::default());
                tokio::time::advance(INPUT_STALL + Duration::from_secs(1)).await;
                drop(q);
            })
            .await;
        let sample = |s: &str| metrics.sample(s).unwrap();
        assert_eq!(
            sample("keyhole_terminal_bytes_total{direction=\"to_pod\"}"),
            3.0
        );
        assert_eq!(sample("keyhole_relay_dropped_total{queue=\"to_pod\"}"), 1.0);
    }
}
