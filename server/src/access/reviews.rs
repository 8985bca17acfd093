//! Reviews: approving, denying and cancelling requests (revoking a grant is `grants.rs`).
//!
//! Each operation checks, in order: the thing exists and the caller may see it (else "not
//! found"), the caller may act (else "forbidden", e.g. one's own request), the input, then the
//! state machine (`domain::lifecycle`) on the state as read. The store repeats the state check inside
//! its transaction (`WHERE state = 'pending'`), so a race lost between the read and the write
//! is a conflict too, never a second decision.

use keyhole_protocol::access::{AccessEventKind, AccessRequest, RequestState};

use super::grants::build_grant;
use super::{Access, AccessError, Caller, check_text};
use crate::domain::lifecycle::{RequestAction, request_transition};
use crate::policy::{Policy, ReviewDenied};
use crate::store::{AccessEventRow, ApproveOutcome, RequestRow, Reviewer, now_unix};

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
}
