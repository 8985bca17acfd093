//! The handle the terminal (and anything else that acts under a grant) uses: look up an active
//! grant, and hear when one ends.
//!
//! This is the access broker's whole contract with the terminal:
//!
//! 1. Before opening an exec stream, call [`Access::active_grant`] with the grant id from the
//!    URL and the caller's IdP subject. It answers only for the grant's own holder; anyone
//!    else gets [`GrantError::NotFound`], the same as for an id that does not exist, so ids
//!    cannot be probed. The returned [`Grant`] is a snapshot of the profile *as it was
//!    approved* (a later policy edit never widens a live grant) and says whom to impersonate.
//! 2. Before that check, take a [`super::Lease`] ([`Access::lease`]) and close the stream when
//!    it ends: on revocation or expiry (events, in-process and from other replicas), on logout,
//!    when the periodic re-check against the database finds the grant over, or when access
//!    cannot be verified for longer than the grace period (`lease.rs`).
//!
//! With PostgreSQL, events also reach every other replica (`fanout.rs`, LISTEN/NOTIFY), so a
//! revocation made on one replica closes sessions held open by another.

use tokio::sync::broadcast;

use super::Access;
use crate::domain::{Grant, GrantEnded};
use crate::store::{StoreError, now_unix};

/// A grant ended: every stream under it must close.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GrantEvent {
    /// Revoked by an approver or an admin.
    Revoked {
        /// The grant.
        grant_id: String,
        /// Why (shown to the holder).
        reason: String,
        /// Who revoked it (IdP subject).
        by: String,
    },
    /// Reached `expires_at`.
    Expired {
        /// The grant.
        grant_id: String,
    },
    /// Events from other replicas may have been missed (their connection dropped): every
    /// holder must re-check its grant with [`Access::active_grant`] (fail closed).
    Resync,
    /// A web session ended: every stream it opened must close.
    WebSessionEnded {
        /// The session's key (`lease::web_session_key`, never the id itself).
        session: String,
        /// Signed out (`true`) or timed out.
        logged_out: bool,
    },
}

impl GrantEvent {
    /// The grant concerned (`None` for [`GrantEvent::Resync`], which concerns all).
    pub fn grant_id(&self) -> Option<&str> {
        match self {
            GrantEvent::Revoked { grant_id, .. } | GrantEvent::Expired { grant_id } => {
                Some(grant_id)
            }
            GrantEvent::Resync | GrantEvent::WebSessionEnded { .. } => None,
        }
    }
}

/// Why there is no active grant.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// No such grant, or it belongs to someone else (same answer on purpose).
    #[error("there is no such grant")]
    NotFound,
    /// It reached its end.
    #[error("the grant has expired")]
    Expired,
    /// It was revoked.
    #[error("the grant was revoked: {reason}")]
    Revoked {
        /// Why it was revoked.
        reason: String,
    },
    /// The database could not answer; callers must fail closed.
    #[error("cannot check the grant: {0}")]
    Store(#[from] StoreError),
}

impl Access {
    /// The active grant `grant_id` of `subject`: the one check before anything acts under a
    /// grant. Fails closed: any doubt is an error.
    pub async fn active_grant(&self, grant_id: &str, subject: &str) -> Result<Grant, GrantError> {
        let grant = self.inner.store.grant(grant_id).await?;
        // Someone else's grant looks exactly like a missing one.
        let grant = grant
            .filter(|g| g.subject == subject)
            .ok_or(GrantError::NotFound)?;
        match grant.check_active(now_unix()) {
            Ok(()) => Ok(grant),
            Err(GrantEnded::Expired) => Err(GrantError::Expired),
            Err(GrantEnded::Revoked(reason)) => Err(GrantError::Revoked { reason }),
        }
    }

    /// A receiver of every grant revocation and expiry from now on.
    pub fn grant_events(&self) -> broadcast::Receiver<GrantEvent> {
        self.inner.grant_events.subscribe()
    }
}
