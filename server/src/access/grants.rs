//! Grants: whether one is active (the handle the terminal and anything else that acts under a
//! grant uses), hearing when one ends, listing and revoking them.
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

use keyhole_protocol::access::{self as wire, AccessEventKind, GrantState, Page, RequestState};
use keyhole_protocol::api::Role;
use tokio::sync::broadcast;

use super::visibility::{grant_view, may_revoke};
use super::{Access, AccessError, Caller, check_text};
use crate::domain::lifecycle::{GrantAction, grant_transition};
use crate::domain::{Grant, GrantEnded};
use crate::policy::Profile;
use crate::store::{NewRequest, StoreError, now_unix};

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

/// `GET /api/grants?scope=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantScope {
    /// The caller's own grants.
    Mine,
    /// Active grants the caller may oversee (approvers of the profile, auditors, admins).
    Active,
}

/// The grant a request yields when approved at `now`: a snapshot of the profile, so later
/// policy edits never widen (or silently change) a live grant.
pub(super) fn build_grant(profile: &Profile, req: &NewRequest, now: i64) -> Grant {
    Grant {
        id: uuid::Uuid::new_v4().to_string(),
        request_id: req.id.clone(),
        subject: req.requester.clone(),
        holder_email: req.requester_email.clone(),
        holder_name: req.requester_name.clone(),
        kube_user: req.kube_user.clone(),
        profile: profile.name.clone(),
        kubernetes_groups: profile.kubernetes_groups.clone(),
        namespaces: profile.namespaces.clone(),
        pod_selector: profile.pod_selector.clone(),
        pod: req.pod_namespace.clone().zip(req.pod_name.clone()),
        capabilities: profile.capabilities,
        reason: req.reason.clone(),
        idle_timeout: profile.idle_timeout,
        exec_command: profile.exec.command.clone(),
        interactive: profile.exec.interactive,
        starts_at: now,
        expires_at: now.saturating_add(req.duration_seconds),
        state: GrantState::Active,
        ended_at: None,
        revoked_by: None,
        revoke_reason: None,
    }
}

impl Access {
    /// One page of the grants in `scope`, newest first. Who may see what is part of the
    /// query, so a page is never cut short by grants the caller may not see.
    pub async fn list_grants(
        &self,
        caller: &Caller,
        scope: GrantScope,
        page: &super::PageQuery,
    ) -> Result<Page<wire::Grant>, AccessError> {
        use crate::store::{ListFilter, Visible};
        let policy = self.inner.policy.current();
        let now = now_unix();
        let approvable = super::visibility::approvable_names(&policy, caller);
        let filter = match scope {
            GrantScope::Mine => ListFilter {
                owner: Some(&caller.subject),
                ..Default::default()
            },
            GrantScope::Active => {
                let overseer = caller.has(Role::Auditor) || caller.has(Role::Admin);
                if !overseer && approvable.is_empty() {
                    return Err(AccessError::Forbidden(
                        "only approvers, auditors and admins see every active grant".into(),
                    ));
                }
                ListFilter {
                    state: Some("active"),
                    live_at: Some(now),
                    visible: (!overseer).then_some(Visible {
                        own: None,
                        profiles: &approvable,
                    }),
                    ..Default::default()
                }
            }
        };
        let rows = self
            .inner
            .store
            .grant_page(&filter, page.after(), page.fetch_limit())
            .await?;
        let mut page = page.finish(
            rows,
            |g| (g.starts_at, g.id.as_str()),
            |g| Ok::<_, AccessError>(grant_view(&policy, caller, g, now)),
        )?;
        for g in &mut page.items {
            *g = self.named(g.clone()).await?;
        }
        Ok(page)
    }

    /// Revokes an active grant (approvers of its profile, admins), with a required reason.
    /// Every terminal under it is told at once through [`Access::grant_events`].
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
    ) -> Result<wire::Grant, AccessError> {
        let policy = self.inner.policy.current();
        let grant = self.visible_grant(caller, &policy, id).await?;
        if !may_revoke(&policy, caller, &grant.profile) {
            return Err(AccessError::Forbidden(
                "only approvers of this profile and admins can revoke its grants".into(),
            ));
        }
        let reason = check_text("reason", reason, true)?;
        let now = now_unix();
        let state = grant.state_at(now);
        grant_transition(state, GrantAction::Revoke)
            .map_err(|_| AccessError::GrantNotActive(state.as_str().into()))?;
        let store = &self.inner.store;
        let ended = GrantEvent::Revoked {
            grant_id: id.to_owned(),
            reason: reason.clone(),
            by: caller.subject.clone(),
        };
        let notify = self.grant_end_notification(&ended);
        let notify = notify.as_ref().map(|(c, p)| (c.as_str(), p.as_str()));
        if !store
            .revoke_grant(id, &caller.subject, &reason, now, &grant.request_id, notify)
            .await?
        {
            let now_state = store.grant(id).await?.map(|g| g.state_at(now));
            let now_state = now_state.unwrap_or(GrantState::Expired);
            return Err(AccessError::GrantNotActive(now_state.as_str().into()));
        }
        self.publish_grant_end(ended);
        let req = self.load(&grant.request_id).await?;
        self.publish(
            AccessEventKind::GrantRevoked,
            &req.new,
            RequestState::Approved,
            Some(id.to_owned()),
            Some((caller.subject.clone(), reason)),
        );
        let updated = store.grant(id).await?.ok_or(AccessError::GrantNotFound)?;
        self.named(grant_view(&policy, caller, updated, now)).await
    }
}
