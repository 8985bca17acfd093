//! The relay's write side toward the browser: a short queue in front of a [`Sink`], written
//! by the relay's own task (no writer task, no channel: a pod's echo goes out on the same
//! wake-up that read it).
//!
//! Backpressure: the relay reads pod output only while the outbox [is idle](Outbox::is_idle),
//! i.e. everything before was handed to the socket (the kernel's send buffer). A browser that
//! stops reading therefore stops us reading the exec stream, and the memory one slow browser
//! can make us hold is one output frame plus a few control messages.
//!
//! Metrics: bytes handed to the socket (`keyhole_terminal_bytes_total{direction="to_browser"}`)
//! and messages dropped for a browser that stopped reading (`keyhole_relay_dropped_total
//! {queue="to_browser"}`: notices over [`CONTROL_QUEUE`], and whatever is still queued when the
//! session ends), counted into the session's [`RelayMeters`] scope.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, ready};

use futures::{Sink, SinkExt};

use super::relay::Outbound;
use crate::metrics::RelayMeters;

/// Control messages (notices) queued while the browser is not reading; later ones are
/// dropped so a stalled browser never delays a revocation or an expiry.
const CONTROL_QUEUE: usize = 16;

/// The queue plus the sink.
pub(super) struct Outbox<O> {
    sink: O,
    queue: VecDeque<Outbound>,
    /// Something was handed to the sink and not flushed yet.
    unflushed: bool,
    /// The sink failed: the browser is gone.
    failed: bool,
    /// The session's counters (none outside a session's scope).
    meters: Option<RelayMeters>,
}

impl<O> Outbox<O>
where
    O: Sink<Outbound> + Unpin,
{
    /// An empty outbox in front of `sink`.
    pub(super) fn new(sink: O) -> Self {
        Self {
            sink,
            queue: VecDeque::new(),
            unflushed: false,
            failed: false,
            meters: RelayMeters::current(),
        }
    }

    /// Nothing queued and nothing unflushed: the relay may read more pod output.
    pub(super) fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.unflushed
    }

    /// Something waits to be written (and the sink has not failed).
    pub(super) fn needs_flush(&self) -> bool {
        !self.failed && !self.is_idle()
    }

    /// Queues a message unconditionally (pod output when idle; the final messages).
    pub(super) fn push(&mut self, msg: Outbound) {
        self.queue.push_back(msg);
    }

    /// Queues a control message unless the browser is already that far behind.
    pub(super) fn push_control(&mut self, msg: Outbound) {
        if self.queue.len() < CONTROL_QUEUE {
            self.queue.push_back(msg);
        } else if let Some(m) = &self.meters {
            m.dropped_to_browser(1);
        }
    }

    /// Writes everything queued and flushes. Cancel-safe: a message leaves the queue only
    /// once the sink took it, and a pending flush is resumed by the next call. `Err` means
    /// the browser's socket failed.
    pub(super) async fn flush(&mut self) -> Result<(), ()> {
        if self.failed {
            return Err(());
        }
        let result = poll_fn(|cx| {
            while !self.queue.is_empty() {
                ready!(self.sink.poll_ready_unpin(cx)).map_err(|_| ())?;
                if let Some(msg) = self.queue.pop_front() {
                    let bytes = match &msg {
                        Outbound::Bytes(b) => b.len(),
                        _ => 0,
                    };
                    self.sink.start_send_unpin(msg).map_err(|_| ())?;
                    self.unflushed = true;
                    if let (Some(m), true) = (&self.meters, bytes > 0) {
                        m.to_browser(bytes);
                    }
                }
            }
            if self.unflushed {
                ready!(self.sink.poll_flush_unpin(cx)).map_err(|_| ())?;
                self.unflushed = false;
            }
            Poll::Ready(Ok(()))
        })
        .await;
        if result.is_err() {
            self.failed = true;
            self.queue.clear();
        }
        result
    }
}

/// What the browser never got because it stopped reading (the final messages after their
/// short wait) counts as dropped. A failed socket has cleared the queue: nothing to count.
impl<O> Drop for Outbox<O> {
    fn drop(&mut self) {
        if let (Some(m), false) = (&self.meters, self.queue.is_empty()) {
            m.dropped_to_browser(self.queue.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use futures::{FutureExt, StreamExt};
    use keyhole_protocol::terminal::CloseReason;

    #[tokio::test]
    async fn writes_in_order_and_reports_idle() {
        let (tx, mut rx) = mpsc::unbounded::<Outbound>();
        let mut outbox = Outbox::new(tx);
        assert!(outbox.is_idle());
        outbox.push(Outbound::Bytes(b"one".to_vec()));
        outbox.push_control(Outbound::Close(CloseReason::Exited));
        assert!(outbox.needs_flush());
        outbox.flush().await.unwrap();
        assert!(outbox.is_idle());
        assert!(matches!(rx.next().await, Some(Outbound::Bytes(b)) if b == b"one"));
        assert!(matches!(rx.next().await, Some(Outbound::Close(_))));
    }

    #[tokio::test]
    async fn a_full_sink_keeps_the_message_and_bounds_control_messages() {
        // A channel with room for one message per sender: the second write must wait.
        let (tx, mut rx) = mpsc::channel::<Outbound>(0);
        let mut outbox = Outbox::new(tx);
        outbox.push(Outbound::Bytes(vec![1]));
        outbox.push(Outbound::Bytes(vec![2]));
        assert!(
            outbox.flush().now_or_never().is_none(),
            "blocked on a full sink"
        );
        assert!(!outbox.is_idle());
        for _ in 0..100 {
            outbox.push_control(Outbound::Close(CloseReason::Idle));
        }
        // Draining the receiver lets everything through, in order, bounded.
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = rx.next().await {
                got.push(m);
            }
            got
        });
        outbox.flush().await.unwrap();
        drop(outbox);
        let got = reader.await.unwrap();
        assert!(matches!(&got[0], Outbound::Bytes(b) if b == &[1]));
        assert!(matches!(&got[1], Outbound::Bytes(b) if b == &[2]));
        assert!(got.len() <= 2 + CONTROL_QUEUE, "control messages bounded");
    }

    #[tokio::test]
    async fn a_failed_sink_is_reported_once_and_stays_failed() {
        let (tx, rx) = mpsc::unbounded::<Outbound>();
        drop(rx);
        let mut outbox = Outbox::new(tx);
        outbox.push(Outbound::Bytes(vec![1]));
        assert!(outbox.flush().await.is_err());
        assert!(!outbox.needs_flush());
        assert!(outbox.flush().await.is_err());
    }

    #[tokio::test]
    async fn counts_bytes_sent_and_messages_dropped_in_a_session_scope() {
        let metrics = crate::metrics::Metrics::new();
        metrics
            .relay()
            .scope(async {
                let (tx, mut rx) = mpsc::channel::<Outbound>(0);
                let mut outbox = Outbox::new(tx);
                outbox.push(Outbound::Bytes(b"hello".to_vec()));
                let (sent, got) = futures::join!(outbox.flush(), rx.next());
                assert!(sent.is_ok() && got.is_some());
                // The browser stops reading: the next frame waits, notices over the limit are
                // dropped, and what is still queued at the end is dropped too.
                outbox.push(Outbound::Bytes(vec![1]));
                outbox.push(Outbound::Bytes(vec![2]));
                assert!(outbox.flush().now_or_never().is_none());
                for _ in 0..CONTROL_QUEUE + 3 {
                    outbox.push_control(Outbound::Ping);
                }
                drop(outbox);
            })
            .await;
        let sample = |s: &str| metrics.sample(s).unwrap();
        assert_eq!(
            sample("keyhole_terminal_bytes_total{direction=\"to_browser\"}"),
            6.0
        );
        // 4 notices over the limit (one frame already went out, one waits in the queue), then
        // the 1 frame and 15 notices left in the queue.
        assert_eq!(
            sample("keyhole_relay_dropped_total{queue=\"to_browser\"}"),
            20.0
        );
    }
}
