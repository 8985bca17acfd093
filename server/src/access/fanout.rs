//! Access events across replicas. Every change is delivered in-process at once (the broadcast
//! channels in `mod.rs`) and, with PostgreSQL, also sent with `NOTIFY` on [`CHANNEL`]; every
//! replica `LISTEN`s and re-broadcasts what other replicas sent. So a revocation made on
//! replica A closes a terminal that replica B holds open, and a lead's queue on B updates when a
//! request is created on A. Webhooks are sent once, by the replica that made the change.
//!
//! Failure handling, fail closed: if the listening connection drops, notifications sent
//! meanwhile are lost, so after it is back every terminal is told to re-check its grant in the
//! database ([`GrantEvent::Resync`]) and live views to refetch ([`LiveEvent::Resync`]).
//!
//! A grant's end is announced **inside the transaction that ends it** (revoke, expire):
//! PostgreSQL delivers the `NOTIFY` exactly when the change commits, so it cannot be lost
//! between commit and send. Live-view events are queued and never block an API call. Neither
//! is what keeps access safe: every open stream is also re-checked against the database on a
//! timer (`lease.rs`).

use std::time::Duration;

use keyhole_protocol::access::AccessEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Access, GrantEvent, LiveEvent};
use crate::store::{MAX_NOTIFY_PAYLOAD, Store};

/// The PostgreSQL notification channel.
pub(super) const CHANNEL: &str = "keyhole_access_events";

/// Queued notifications waiting for the database.
const QUEUE: usize = 1024;

/// What travels between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub(super) enum Wire {
    /// A request or grant change, for live views.
    Access(AccessEvent),
    /// A grant or web session ended, for terminals, log streams and live views.
    Grant(GrantEvent),
}

/// One notification: the sending replica (to skip our own) and the event.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    origin: String,
    #[serde(flatten)]
    wire: Wire,
}

/// The sending side, held by the broker when the store is PostgreSQL.
pub(super) struct Fanout {
    origin: String,
    queue: mpsc::Sender<String>,
}

impl Fanout {
    /// Starts the sender (PostgreSQL only; `None` on SQLite). The listener is
    /// [`listen_loop`], started once the broker exists. The origin is the store's replica id.
    pub(super) fn start(store: &Store, shutdown: &CancellationToken) -> Option<Fanout> {
        if !store.supports_notify() {
            return None;
        }
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(send_loop(store.clone(), rx, shutdown.clone()));
        Some(Fanout {
            origin: store.replica_id().to_owned(),
            queue,
        })
    }

    /// The notification payload for `wire` (within PostgreSQL's size limit).
    fn payload(&self, wire: Wire) -> String {
        let mut envelope = Envelope {
            origin: self.origin.clone(),
            wire,
        };
        let mut payload = serde_json::to_string(&envelope).unwrap_or_default();
        if payload.len() > MAX_NOTIFY_PAYLOAD {
            // Only a revocation reason can be that long; the holder sees it shortened.
            if let Wire::Grant(GrantEvent::Revoked { reason, .. }) = &mut envelope.wire {
                let keep = reason.floor_char_boundary(1_000);
                reason.truncate(keep);
                reason.push('…');
            }
            payload = serde_json::to_string(&envelope).unwrap_or_default();
        }
        payload
    }

    /// Queues a live-view event (never blocks; a full queue drops it, and the views of other
    /// replicas catch up at their next refetch).
    fn send(&self, wire: Wire) {
        if self.queue.try_send(self.payload(wire)).is_err() {
            tracing::error!(
                "replica fan-out queue full; an access event reaches this replica only"
            );
        }
    }
}

impl Access {
    /// Sends a live-view event to the other replicas (no-op without PostgreSQL).
    pub(super) fn fan_out(&self, wire: Wire) {
        if let Some(f) = &self.inner.fanout {
            f.send(wire);
        }
    }

    /// Sends `wire` to the other replicas now, not through the queue (no-op without
    /// PostgreSQL). A failure is logged: the other replicas' re-check catches up.
    pub(super) async fn fan_out_now(&self, wire: Wire) {
        if let Some(f) = &self.inner.fanout
            && let Err(e) = self.inner.store.notify(CHANNEL, &f.payload(wire)).await
        {
            tracing::warn!(error = %e, "could not notify other replicas (their re-check will catch up)");
        }
    }

    /// The `(channel, payload)` announcing that a grant ended, to be sent inside the
    /// transaction that ends it (`None` without PostgreSQL).
    pub(super) fn grant_end_notification(&self, event: &GrantEvent) -> Option<(String, String)> {
        let f = self.inner.fanout.as_ref()?;
        Some((CHANNEL.to_owned(), f.payload(Wire::Grant(event.clone()))))
    }

    /// Everyone holding something may have missed events: open streams re-check their access
    /// in the database, live views refetch.
    fn resync(&self) {
        let _ = self.inner.grant_events.send(GrantEvent::Resync);
        let _ = self.inner.live.send(LiveEvent::Resync);
    }

    /// Delivers what another replica sent to this replica's listeners.
    fn deliver(&self, wire: Wire) {
        match wire {
            Wire::Access(ev) => {
                let _ = self.inner.live.send(LiveEvent::Change(ev));
            }
            Wire::Grant(ev) => {
                tracing::info!(
                    grant = ev.grant_id(),
                    ?ev,
                    "grant or web session ended (another replica)"
                );
                let _ = self.inner.grant_events.send(ev);
            }
        }
    }
}

async fn send_loop(store: Store, mut rx: mpsc::Receiver<String>, shutdown: CancellationToken) {
    loop {
        let payload = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = rx.recv() => match p { Some(p) => p, None => return },
        };
        let mut tries = 0;
        while let Err(e) = store.notify(CHANNEL, &payload).await {
            tries += 1;
            if tries == 3 {
                tracing::error!(error = %e, "could not send an access event to other replicas");
                break;
            }
            tokio::time::sleep(Duration::from_millis(200 * tries)).await;
        }
    }
}

/// Listens for other replicas' events until shutdown; reconnects with backoff and tells
/// terminals to re-check after any gap.
pub(super) async fn listen_loop(access: Access, shutdown: CancellationToken) {
    let Some(origin) = access.inner.fanout.as_ref().map(|f| f.origin.clone()) else {
        return;
    };
    let store = access.inner.store.clone();
    let mut backoff = Duration::from_millis(250);
    loop {
        let listener = tokio::select! {
            _ = shutdown.cancelled() => return,
            l = store.listen(CHANNEL) => l,
        };
        let mut listener = match listener {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other replicas' events; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(250);
        // Whatever was sent before we listened (again) is lost to us.
        access.resync();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                n = listener.recv() => n,
            };
            match next {
                Ok(Some(payload)) => match serde_json::from_str::<Envelope>(&payload) {
                    Ok(env) if env.origin == origin => {}
                    Ok(env) => access.deliver(env.wire),
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed replica event"),
                },
                // Reconnect ourselves (rather than let the listener do it) so the resync is
                // sent only once we listen again: nothing can slip in between.
                Ok(None) => {
                    tracing::warn!("lost the connection for replica events; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "replica event listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_round_trips() {
        let env = Envelope {
            origin: "a".into(),
            wire: Wire::Grant(GrantEvent::Revoked {
                grant_id: "g1".into(),
                reason: "done".into(),
                by: "bob".into(),
            }),
        };
        let text = serde_json::to_string(&env).unwrap();
        assert_eq!(
            text,
            r#"{"origin":"a","kind":"grant","event":{"type":"revoked","grant_id":"g1","reason":"done","by":"bob"}}"#
        );
        let back: Envelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back.wire, env.wire);
        let resync: Envelope =
            serde_json::from_str(r#"{"origin":"b","kind":"grant","event":{"type":"resync"}}"#)
                .unwrap();
        assert_eq!(resync.wire, Wire::Grant(GrantEvent::Resync));
    }
}
