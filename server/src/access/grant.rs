//! The handle the terminal (and anything else that acts under a grant) uses: look up an active
//! grant, and hear when one ends.
//!
//! This is the access broker's whole contract with the terminal:
//!
//! 1. Before opening an exec stream, call [`Access::active_grant`] with the grant id from the
//!    URL and the caller's IdP subject. It answers only for the grant's own holder; anyone
//!    else gets [`GrantError::NotFound`], the same as for an id that does not exist, so ids
//!    cannot be probed. The returned [`ActiveGrant`] is a snapshot of the profile *as it was
//!    approved* (a later policy edit never widens a live grant) and says whom to impersonate.
//! 2. Before that check, take a [`super::Lease`] ([`Access::lease`]) and close the stream when
//!    it ends: on revocation or expiry (events, in-process and from other replicas), on logout,
//!    when the periodic re-check against the database finds the grant over, or when access
//!    cannot be verified for longer than the grace period (`lease.rs`).
//!
//! With PostgreSQL, events also reach every other replica (`fanout.rs`, LISTEN/NOTIFY), so a
//! revocation made on one replica closes sessions held open by another.

use std::collections::BTreeMap;
use std::time::Duration;

use keyhole_protocol::access::GrantState;
use tokio::sync::broadcast;

use super::Access;
use crate::policy::CapabilitySet;
use crate::store::{GrantRow, StoreError, now_unix};

/// An active grant: everything needed to open a session under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveGrant {
    /// The grant's id (send it as `Impersonate-Extra-keyhole.dev%2Fgrant-id`).
    pub id: String,
    /// The request it came from.
    pub request_id: String,
    /// The holder's IdP subject.
    pub subject: String,
    /// `Impersonate-User`: the holder's e-mail, else their subject.
    pub kube_user: String,
    /// The profile's name.
    pub profile: String,
    /// `Impersonate-Group`: the profile's Kubernetes groups at approval time.
    pub kubernetes_groups: Vec<String>,
    /// Namespaces the grant reaches.
    pub namespaces: Vec<String>,
    /// Only pods with all these labels (empty: every pod in `namespaces`).
    pub pod_selector: BTreeMap<String, String>,
    /// Narrowed to this one pod `(namespace, name)`, if the request asked for it.
    pub pod: Option<(String, String)>,
    /// What the grant allows.
    pub capabilities: CapabilitySet,
    /// The request's reason (for the recording's header).
    pub reason: String,
    /// Unix seconds: approval time.
    pub starts_at: i64,
    /// Unix seconds: the grant ends here; close every stream at this time at the latest.
    pub expires_at: i64,
    /// Close a terminal after this long without traffic.
    pub idle_timeout: Option<Duration>,
    /// The argv to exec in the container.
    pub exec_command: Vec<String>,
    /// `false`: strict mode (only the profile's allowed commands, non-interactive).
    pub interactive: bool,
}

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
    /// The active grant `grant_id` of `subject`. Fails closed: any doubt is an error.
    pub async fn active_grant(
        &self,
        grant_id: &str,
        subject: &str,
    ) -> Result<ActiveGrant, GrantError> {
        let row = self.inner.store.grant(grant_id).await?;
        // Someone else's grant looks exactly like a missing one.
        let row = row
            .filter(|g| g.subject == subject)
            .ok_or(GrantError::NotFound)?;
        match GrantState::parse(&row.state) {
            Some(GrantState::Active) if row.expires_at > now_unix() => Ok(active(row)),
            // Past its end but not yet swept by the scheduler: already over.
            Some(GrantState::Active) | Some(GrantState::Expired) => Err(GrantError::Expired),
            Some(GrantState::Revoked) => Err(GrantError::Revoked {
                reason: row.revoke_reason.unwrap_or_default(),
            }),
            None => Err(GrantError::Store(StoreError::Corrupt(format!(
                "grant {grant_id} has state {:?}",
                row.state
            )))),
        }
    }

    /// A receiver of every grant revocation and expiry from now on.
    pub fn grant_events(&self) -> broadcast::Receiver<GrantEvent> {
        self.inner.grant_events.subscribe()
    }
}

fn active(row: GrantRow) -> ActiveGrant {
    let capabilities = row
        .capabilities
        .iter()
        .filter_map(|c| serde_json::from_value(serde_json::Value::String(c.clone())).ok())
        .collect();
    ActiveGrant {
        pod: row.pod_namespace.zip(row.pod_name),
        id: row.id,
        request_id: row.request_id,
        subject: row.subject,
        kube_user: row.kube_user,
        profile: row.profile,
        kubernetes_groups: row.kubernetes_groups,
        namespaces: row.namespaces,
        pod_selector: row.pod_selector,
        capabilities,
        reason: row.reason,
        starts_at: row.starts_at,
        expires_at: row.expires_at,
        idle_timeout: row
            .idle_timeout_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64)),
        exec_command: row.exec_command,
        interactive: row.interactive,
    }
}
