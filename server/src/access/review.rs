//! Changing a request or a grant: approve, deny, cancel, revoke; and listing grants.
//!
//! Each operation checks, in order: the thing exists and the caller may see it (else "not
//! found"), the caller may act (else "forbidden", e.g. one's own request), the input, then the
//! state machine (`model.rs`) on the state as read. The store repeats the state check inside
//! its transaction (`WHERE state = 'pending'`), so a race lost between the read and the write
//! is a conflict too, never a second decision.

use keyhole_protocol::access::{AccessEventKind, AccessRequest, Grant, GrantState, RequestState};

use super::service::{AccessError, GrantScope, build_grant, check_text};
use super::view::{grant_view, may_revoke};
use super::{Access, Caller, GrantEvent};
use crate::domain::lifecycle::{GrantAction, RequestAction, grant_transition, request_transition};
use crate::policy::{Policy, ReviewDenied};
use crate::store::{AccessEventRow, ApproveOutcome, RequestRow, Reviewer, now_unix};
use keyhole_protocol::api::Role;

fn reviewer(caller: &Caller) -> Reviewer<'_> {
    Reviewer {
        subject: &caller.subject,
        kube_user: &caller.kube_user,
        email: caller.email.as_deref(),
        name: caller.name.as_deref(),
    }
}

/// The 409 for a request that is no longer pending.
fn not_pending(state: Option<RequestState>) -> AccessError {
    AccessError::NotPending(state.map_or("missing", RequestState::as_str).to_owned())
}

impl Access {
    /// Loads a request for review: visible, reviewable by the caller, still pending.
    async fn for_review(
        &self,
        caller: &Caller,
        policy: &Policy,
        id: &str,
        action: RequestAction,
    ) -> Result<RequestRow, AccessError> {
        let row = self.visible_request(caller, policy, id).await?;
        // The same person under another subject (a second IdP account with the same
        // Kubernetes user name) is still the requester: Kubernetes cannot tell them apart.
        if caller.kube_user == row.new.kube_user {
            return Err(AccessError::Review(ReviewDenied::OwnRequest));
        }
        policy
            .check_review(
                &caller.subject,
                &caller.groups,
                &row.new.requester,
                &row.new.profile,
            )
            .map_err(AccessError::Review)?;
        let state = row.state_at(now_unix());
        request_transition(state, action).map_err(|_| not_pending(Some(state)))?;
        Ok(row)
    }

    /// Approves a request. With enough distinct approvals it becomes `approved` and its grant
    /// starts now; otherwise the approval is recorded and the request stays pending.
    pub async fn approve(
        &self,
        caller: &Caller,
        id: &str,
        comment: &str,
    ) -> Result<AccessRequest, AccessError> {
        let comment = check_text("comment", comment, false)?;
        let policy = self.inner.policy.current();
        let row = self
            .for_review(caller, &policy, id, RequestAction::Approve)
            .await?;
        let profile = policy
            .profile(&row.new.profile)
            .ok_or(AccessError::RequestNotFound)?;
        let now = now_unix();
        let grant = build_grant(profile, &row.new, now);
        let outcome = self
            .inner
            .store
            .approve_request(id, &reviewer(caller), &comment, now, &grant)
            .await?;
        let by = Some((caller.subject.clone(), comment));
        match outcome {
            ApproveOutcome::AlreadyReviewed => return Err(AccessError::AlreadyReviewed),
            ApproveOutcome::NotPending(state) => return Err(not_pending(state)),
            ApproveOutcome::Recorded { approvals } => {
                tracing::info!(request = id, approvals, by = %caller.subject, "approval recorded");
                self.publish(
                    AccessEventKind::RequestReviewed,
                    &row.new,
                    RequestState::Pending,
                    None,
                    by,
                );
            }
            ApproveOutcome::Granted(g) => {
                tracing::info!(request = id, grant = %g.id, by = %caller.subject, "request approved");
                self.publish(
                    AccessEventKind::RequestApproved,
                    &row.new,
                    RequestState::Approved,
                    Some(g.id),
                    by,
                );
            }
        }
        self.request_view(caller, &policy, self.load(id).await?)
            .await
    }

    /// Denies a request, with a required comment. Final.
    pub async fn deny(
        &self,
        caller: &Caller,
        id: &str,
        comment: &str,
    ) -> Result<AccessRequest, AccessError> {
        let comment = check_text("comment", comment, true)?;
        let policy = self.inner.policy.current();
        let row = self
            .for_review(caller, &policy, id, RequestAction::Deny)
            .await?;
        let now = now_unix();
        let event = AccessEventRow {
            at: now,
            kind: AccessEventKind::RequestDenied,
            actor: caller.subject.clone(),
            request_id: id.to_owned(),
            grant_id: None,
            reason: None,
            comment: Some(comment.clone()),
        };
        let who = reviewer(caller);
        let moved = self
            .inner
            .store
            .close_request(
                id,
                RequestState::Denied,
                &caller.subject,
                Some((&who, &comment)),
                now,
                &event,
            )
            .await?;
        if moved.is_none() {
            return Err(not_pending(
                self.inner.store.request_state_at(id, now).await?,
            ));
        }
        tracing::info!(request = id, by = %caller.subject, "request denied");
        let by = Some((caller.subject.clone(), comment));
        self.publish(
            AccessEventKind::RequestDenied,
            &row.new,
            RequestState::Denied,
            None,
            by,
        );
        self.request_view(caller, &policy, self.load(id).await?)
            .await
    }

    /// Cancels one's own pending request.
    pub async fn cancel(&self, caller: &Caller, id: &str) -> Result<AccessRequest, AccessError> {
        let policy = self.inner.policy.current();
        let row = self.visible_request(caller, &policy, id).await?;
        if row.new.requester != caller.subject {
            return Err(AccessError::Forbidden(
                "only the requester can cancel a request".into(),
            ));
        }
        let now = now_unix();
        let state = row.state_at(now);
        request_transition(state, RequestAction::Cancel).map_err(|_| not_pending(Some(state)))?;
        let event = AccessEventRow {
            at: now,
            kind: AccessEventKind::RequestCancelled,
            actor: caller.subject.clone(),
            request_id: id.to_owned(),
            grant_id: None,
            reason: None,
            comment: None,
        };
        let moved = self
            .inner
            .store
            .close_request(
                id,
                RequestState::Cancelled,
                &caller.subject,
                None,
                now,
                &event,
            )
            .await?;
        if moved.is_none() {
            return Err(not_pending(
                self.inner.store.request_state_at(id, now).await?,
            ));
        }
        self.publish(
            AccessEventKind::RequestCancelled,
            &row.new,
            RequestState::Cancelled,
            None,
            None,
        );
        self.request_view(caller, &policy, self.load(id).await?)
            .await
    }

    /// One page of the grants in `scope`, newest first. Who may see what is part of the
    /// query, so a page is never cut short by grants the caller may not see.
    pub async fn list_grants(
        &self,
        caller: &Caller,
        scope: GrantScope,
        page: &super::PageQuery,
    ) -> Result<keyhole_protocol::access::Page<Grant>, AccessError> {
        use crate::store::{ListFilter, Visible};
        let policy = self.inner.policy.current();
        let now = now_unix();
        let approvable = super::service::approvable_names(&policy, caller);
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
        page.finish(
            rows,
            |g| (g.starts_at, g.id.as_str()),
            |g| Ok(grant_view(&policy, caller, g, now)),
        )
    }

    /// Revokes an active grant (approvers of its profile, admins), with a required reason.
    /// Every terminal under it is told at once through [`Access::grant_events`].
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
    ) -> Result<Grant, AccessError> {
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
        Ok(grant_view(&policy, caller, updated, now))
    }
}
