//! Leases: every open stream (terminal, log stream, live view) holds a [`Lease`] that ends,
//! with a reason, as soon as what allowed the stream no longer does. Fail closed: a lease
//! never depends on one message arriving.
//!
//! A lease ends when
//! - its grant is revoked or expires: at once on the grant event (in-process, or from another
//!   replica through `NOTIFY`, which is sent inside the transaction that ended the grant);
//! - its web session ends: at once on logout ([`Access::end_web_session`]); at its absolute
//!   end by its own timer; or when the re-check finds the session gone;
//! - the **re-check** finds it over: every `recheck` (default 5 s, jittered ±20 %) one task
//!   per replica asks the database, in one batched query per kind, for the state of every
//!   grant and web session that open streams depend on. This bounds the slow path whatever
//!   happens to notifications. After a lost `LISTEN` connection, or a lagged event receiver,
//!   the re-check runs at once;
//! - the database cannot be asked for longer than `grace` (default 30 s): every lease ends as
//!   [`LeaseEnd::Unverifiable`] instead of running unchecked;
//! - the server shuts down.
//!
//! The registry is a map of small entries (ids and a `oneshot` sender); a stream waits on
//! [`Lease::ended`], which is cancel-safe, so a relay can poll it in its `select!` loop.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyhole_protocol::terminal::CloseReason;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use super::{Access, GrantEvent};
use crate::store::instant_of_unix;

/// How the re-check behaves (`[access]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Re-check every open stream against the database this often (jittered ±20 %).
    pub recheck: Duration,
    /// End every stream when the database could not be asked for this long.
    pub grace: Duration,
    /// The web session idle timeout: a web session holding an open terminal has its expiry
    /// moved this far ahead at each re-check.
    pub idle: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            recheck: Duration::from_secs(5),
            grace: Duration::from_secs(30),
            idle: Duration::from_secs(30 * 60),
        }
    }
}

/// What a stream depends on.
#[derive(Debug, Clone, Default)]
pub struct LeaseSpec {
    /// `(grant id, holder's IdP subject)`: the grant must stay active and theirs.
    pub grant: Option<(String, String)>,
    /// Unix seconds when the grant ends (the lease ends then at the latest).
    pub grant_expires_at: Option<i64>,
    /// The web session (its record id) that opened the stream; it must stay signed in.
    pub web_session: Option<String>,
    /// Unix seconds when the web session ends at the latest (absolute lifetime).
    pub session_ends_at: Option<i64>,
    /// The stream is activity: its web session's idle deadline moves while it is open
    /// (terminals, not live views).
    pub keeps_session_alive: bool,
}

/// Why a lease ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseEnd {
    /// The grant was revoked.
    Revoked {
        /// The reason given.
        reason: String,
        /// Who revoked it (IdP subject), when known.
        by: Option<String>,
    },
    /// The grant reached its end.
    Expired,
    /// The grant no longer exists for this holder.
    GrantGone,
    /// The user signed out.
    LoggedOut,
    /// The web session timed out or was removed.
    SessionExpired,
    /// Access could not be verified for longer than the grace period.
    Unverifiable(String),
    /// The server is stopping.
    Shutdown,
}

impl LeaseEnd {
    /// The terminal close reason for this end.
    pub fn close_reason(&self) -> CloseReason {
        match self {
            LeaseEnd::Revoked { .. } | LeaseEnd::GrantGone => CloseReason::Revoked,
            LeaseEnd::Expired => CloseReason::Expired,
            LeaseEnd::LoggedOut => CloseReason::LoggedOut,
            LeaseEnd::SessionExpired => CloseReason::SessionExpired,
            LeaseEnd::Unverifiable(_) => CloseReason::Unverifiable,
            LeaseEnd::Shutdown => CloseReason::ServerShutdown,
        }
    }

    /// A sentence for the user.
    pub fn message(&self) -> String {
        match self {
            LeaseEnd::Revoked { reason, .. } => format!("The grant was revoked: {reason}"),
            LeaseEnd::Expired => {
                "The grant has expired; the session is closed. Request access again to continue."
                    .into()
            }
            LeaseEnd::GrantGone => "The grant no longer exists; the session is closed.".into(),
            LeaseEnd::LoggedOut => "You signed out; the session is closed.".into(),
            LeaseEnd::SessionExpired => {
                "Your Keyhole sign-in has ended; sign in again to continue.".into()
            }
            LeaseEnd::Unverifiable(_) => "Keyhole cannot verify your access right now (its \
                 database is unreachable), so the session is closed. Try again in a moment."
                .into(),
            LeaseEnd::Shutdown => {
                "Keyhole is restarting; the session is closed. Reconnect in a moment.".into()
            }
        }
    }
}

/// A short, non-secret key for a web session id (the id itself is the cookie's value and
/// never leaves this process; the key may travel between replicas).
pub fn web_session_key(session_id: &str) -> String {
    hex::encode(&Sha256::digest(session_id.as_bytes())[..16])
}

pub(super) struct Entry {
    pub(super) grant: Option<(String, String)>,
    pub(super) web_session: Option<String>,
    session_key: Option<String>,
    keeps_session_alive: bool,
    tx: oneshot::Sender<LeaseEnd>,
}

/// The registry of open leases; one per replica, inside [`Access`].
pub(crate) struct Leases {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    pub(super) shutdown: CancellationToken,
    pub(super) config: LeaseConfig,
}

/// An open stream's hold on its access. Dropping it unregisters it.
pub struct Lease {
    id: u64,
    leases: Arc<Leases>,
    rx: oneshot::Receiver<LeaseEnd>,
    /// The earliest fixed end (grant expiry or the session's absolute end), and which.
    deadline: Option<(Pin<Box<Sleep>>, LeaseEnd)>,
    ended: Option<LeaseEnd>,
}

impl Lease {
    /// Resolves when the lease ends (at once, again, after it has ended). Cancel-safe.
    pub async fn ended(&mut self) -> LeaseEnd {
        if let Some(end) = &self.ended {
            return end.clone();
        }
        let end = match &mut self.deadline {
            Some((sleep, at_deadline)) => tokio::select! {
                biased;
                r = &mut self.rx => r.unwrap_or(LeaseEnd::Shutdown),
                () = sleep.as_mut() => at_deadline.clone(),
            },
            None => (&mut self.rx).await.unwrap_or(LeaseEnd::Shutdown),
        };
        self.ended = Some(end.clone());
        end
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut map) = self.leases.entries.lock() {
            map.remove(&self.id);
        }
    }
}

impl Leases {
    pub(crate) fn new(config: LeaseConfig, shutdown: CancellationToken) -> Leases {
        Leases {
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
            shutdown,
            config,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        // A panic while holding this lock cannot leave an entry half-written; keep going.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a stream.
    pub(crate) fn open(self: &Arc<Self>, spec: LeaseSpec) -> Lease {
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let grant_deadline = spec.grant_expires_at.map(|t| (t, LeaseEnd::Expired));
        let session_deadline = spec.session_ends_at.map(|t| (t, LeaseEnd::SessionExpired));
        let deadline = match (grant_deadline, session_deadline) {
            (Some(g), Some(s)) => Some(if s.0 < g.0 { s } else { g }),
            (g, s) => g.or(s),
        }
        .map(|(at, end)| {
            (
                Box::pin(tokio::time::sleep_until(Instant::from_std(
                    instant_of_unix(at),
                ))),
                end,
            )
        });
        let entry = Entry {
            session_key: spec.web_session.as_deref().map(web_session_key),
            grant: spec.grant,
            web_session: spec.web_session,
            keeps_session_alive: spec.keeps_session_alive,
            tx,
        };
        if self.shutdown.is_cancelled() {
            let _ = entry.tx.send(LeaseEnd::Shutdown);
        } else {
            self.lock().insert(id, entry);
        }
        Lease {
            id,
            leases: Arc::clone(self),
            rx,
            deadline,
            ended: None,
        }
    }

    /// Ends every lease for which `decide` returns an end.
    pub(super) fn end_where(&self, mut decide: impl FnMut(&Entry) -> Option<LeaseEnd>) -> usize {
        let mut map = self.lock();
        let ids: Vec<(u64, LeaseEnd)> = map
            .iter()
            .filter_map(|(id, e)| decide(e).map(|end| (*id, end)))
            .collect();
        for (id, end) in &ids {
            if let Some(e) = map.remove(id) {
                let _ = e.tx.send(end.clone());
            }
        }
        ids.len()
    }

    /// Ends the leases under `grant_id`.
    pub(crate) fn end_grant(&self, grant_id: &str, end: &LeaseEnd) -> usize {
        self.end_where(|e| {
            (e.grant.as_ref().map(|(g, _)| g.as_str()) == Some(grant_id)).then(|| end.clone())
        })
    }

    /// Ends the leases opened by the web session with key `key` ([`web_session_key`]).
    pub(super) fn end_session_key(&self, key: &str, end: &LeaseEnd) -> usize {
        self.end_where(|e| (e.session_key.as_deref() == Some(key)).then(|| end.clone()))
    }

    /// How many leases are open.
    pub(crate) fn open_count(&self) -> usize {
        self.lock().len()
    }

    /// What the re-check must ask about: grant ids, web session ids, and the web sessions to
    /// keep alive.
    pub(super) fn snapshot(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let map = self.lock();
        let mut grants = HashSet::new();
        let mut sessions = HashSet::new();
        let mut alive = HashSet::new();
        for e in map.values() {
            if let Some((g, _)) = &e.grant {
                grants.insert(g.clone());
            }
            if let Some(s) = &e.web_session {
                sessions.insert(s.clone());
                if e.keeps_session_alive {
                    alive.insert(s.clone());
                }
            }
        }
        (
            grants.into_iter().collect(),
            sessions.into_iter().collect(),
            alive.into_iter().collect(),
        )
    }
}

impl Access {
    /// Registers an open stream; see the module docs for when it ends.
    pub fn lease(&self, spec: LeaseSpec) -> Lease {
        self.inner.leases.open(spec)
    }

    /// How many streams hold a lease on this replica.
    pub fn open_leases(&self) -> usize {
        self.inner.leases.open_count()
    }

    /// A web session ended (signed out): its streams close here at once, and on the other
    /// replicas through a notification (and there at the next re-check at the latest).
    pub async fn end_web_session(&self, session_id: &str, end: LeaseEnd) {
        let key = web_session_key(session_id);
        let n = self.inner.leases.end_session_key(&key, &end);
        if n > 0 {
            tracing::info!(
                streams = n,
                "closed the streams of a web session that ended"
            );
        }
        self.fan_out_now(super::fanout::Wire::Grant(GrantEvent::WebSessionEnded {
            session: key,
            logged_out: end == LeaseEnd::LoggedOut,
        }))
        .await;
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
