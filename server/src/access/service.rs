//! Creating and listing requests, what a caller may request, and the policy view.
//!
//! These are the access operations as plain async functions on [`Access`]: no HTTP here, so the
//! routes stay thin and benchmarks can call them directly. Every failure is an
//! [`AccessError`] that says what was wrong in words a user can act on.

use std::time::Duration;

use keyhole_protocol::access::{
    AccessEventKind, AccessRequest, CreateRequest, Page, PolicyView, ProfileInfo, RequestState,
};
use keyhole_protocol::api::Role;

use super::{Access, Caller, PageQuery};
use crate::policy::{DenyReason, Policy, Profile, RequestDecision, RequestInput, ReviewDenied};
use crate::store::{
    AccessEventRow, GrantRow, ListFilter, NewRequest, StoreError, Visible, now_unix,
};

/// Longest reason, comment or revocation reason, in characters.
pub const MAX_TEXT: usize = 1000;

/// Why an access operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Bad input (empty reason, bad pod name, …): nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// No profile of that name that the caller may request. Profiles the caller may not
    /// request get the same answer, so their names do not leak.
    #[error("there is no profile named `{0}` that you may request")]
    UnknownProfile(String),
    /// The policy refused the request (duration, capabilities).
    #[error("{0}")]
    Denied(DenyReason),
    /// No such request, or not visible to the caller (same answer on purpose).
    #[error("there is no such request")]
    RequestNotFound,
    /// No such grant, or not visible to the caller (same answer on purpose).
    #[error("there is no such grant")]
    GrantNotFound,
    /// Visible, but the caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not review this request (their own, or not an approver).
    #[error("{0}")]
    Review(ReviewDenied),
    /// The caller already reviewed this request.
    #[error("you have already reviewed this request")]
    AlreadyReviewed,
    /// The request is no longer pending: decisions are final.
    #[error("the request is {0}; only pending requests can be changed")]
    NotPending(String),
    /// The grant is no longer active.
    #[error("the grant is {0}; only active grants can be revoked")]
    GrantNotActive(String),
    /// The database failed (logged; the user sees a generic message).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `GET /api/requests?scope=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestScope {
    /// The caller's own requests.
    Mine,
    /// Pending requests the caller may review (approvers only).
    Pending,
    /// Every request (auditors and admins; read-only).
    All,
}

/// `GET /api/grants?scope=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantScope {
    /// The caller's own grants.
    Mine,
    /// Active grants the caller may oversee (approvers of the profile, auditors, admins).
    Active,
}

/// The names of the profiles `caller` approves: the rows of these they may see and oversee.
pub(super) fn approvable_names(policy: &Policy, caller: &Caller) -> Vec<String> {
    policy
        .approvable_profiles(&caller.groups)
        .into_iter()
        .map(|p| p.name.clone())
        .collect()
}

/// Checks a free-text field: trimmed, 1–1000 characters (or 0–1000 when optional).
pub(super) fn check_text(field: &str, text: &str, required: bool) -> Result<String, AccessError> {
    let t = text.trim();
    if required && t.is_empty() {
        return Err(AccessError::Invalid(format!("{field} is required")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(AccessError::Invalid(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_owned())
}

/// A Kubernetes object name: a DNS subdomain (lowercase alphanumerics, `-`, `.`, ≤ 253).
fn is_k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The grant a request yields when approved at `now`: a snapshot of the profile, so later
/// policy edits never widen (or silently change) a live grant.
pub(super) fn build_grant(profile: &Profile, req: &NewRequest, now: i64) -> GrantRow {
    GrantRow {
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
        pod_namespace: req.pod_namespace.clone(),
        pod_name: req.pod_name.clone(),
        capabilities: profile
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        reason: req.reason.clone(),
        idle_timeout_seconds: profile.idle_timeout.map(|d| d.as_secs() as i64),
        exec_command: profile.exec.command.clone(),
        interactive: profile.exec.interactive,
        starts_at: now,
        expires_at: now.saturating_add(req.duration_seconds),
        state: "active".into(),
        ended_at: None,
        revoked_by: None,
        revoke_reason: None,
    }
}

impl Access {
    /// The profiles `caller` may request, with what policy would auto-approve for them.
    pub fn profiles(&self, caller: &Caller) -> Vec<ProfileInfo> {
        let policy = self.inner.policy.current();
        policy
            .requestable_profiles(&caller.groups)
            .into_iter()
            .map(|p| ProfileInfo {
                name: p.name.clone(),
                description: p.description.clone(),
                namespaces: p.namespaces.clone(),
                capabilities: p.capabilities.iter().map(|c| c.as_str().into()).collect(),
                kubernetes_groups: p.kubernetes_groups.clone(),
                default_duration_seconds: p.default_duration.as_secs() as i64,
                max_duration_seconds: p.max_duration.as_secs() as i64,
                auto_approve_up_to_seconds: p
                    .auto_approve
                    .iter()
                    .filter(|r| r.groups.iter().any(|g| caller.groups.contains(g)))
                    .filter(|r| r.capabilities.is_none_or(|c| p.capabilities.is_subset(c)))
                    .map(|r| r.max_duration.as_secs() as i64)
                    .max(),
                required_approvals: p.approval.required,
            })
            .collect()
    }

    /// Creates a request. Policy decides: refused, approved at once (a grant exists when this
    /// returns), or pending for approvers.
    pub async fn create_request(
        &self,
        caller: &Caller,
        body: &CreateRequest,
    ) -> Result<AccessRequest, AccessError> {
        let reason = check_text("reason", &body.reason, true)?;
        if body.duration_seconds <= 0 {
            return Err(AccessError::Denied(DenyReason::ZeroDuration));
        }
        let policy = self.inner.policy.current();
        let input = RequestInput {
            profile: &body.profile,
            duration: Duration::from_secs(body.duration_seconds as u64),
            capabilities: None,
        };
        let decision = policy.decide_request(&caller.groups, &input);
        self.inner
            .store
            .metrics()
            .access_decision(&body.profile, &decision);
        let profile = match (&decision, policy.profile(&body.profile)) {
            (
                RequestDecision::Denied {
                    reason: DenyReason::UnknownProfile | DenyReason::NotRequester,
                },
                _,
            )
            | (_, None) => return Err(AccessError::UnknownProfile(body.profile.clone())),
            (RequestDecision::Denied { reason }, _) => {
                return Err(AccessError::Denied(reason.clone()));
            }
            (_, Some(p)) => p,
        };
        if let Some(pod) = &body.pod {
            if !profile.namespaces.contains(&pod.namespace) {
                return Err(AccessError::Invalid(format!(
                    "namespace `{}` is not one of this profile's namespaces ({})",
                    pod.namespace,
                    profile.namespaces.join(", ")
                )));
            }
            if !is_k8s_name(&pod.name) {
                return Err(AccessError::Invalid(format!(
                    "`{}` is not a valid pod name",
                    pod.name
                )));
            }
        }
        let now = now_unix();
        let (required, timeout) = match decision {
            RequestDecision::Pending {
                required_approvals,
                pending_timeout,
            } => (required_approvals, pending_timeout),
            _ => (profile.approval.required, profile.approval.pending_timeout),
        };
        let req = NewRequest {
            id: uuid::Uuid::new_v4().to_string(),
            requester: caller.subject.clone(),
            requester_email: caller.email.clone(),
            requester_name: caller.name.clone(),
            kube_user: caller.kube_user().to_owned(),
            profile: profile.name.clone(),
            reason: reason.clone(),
            duration_seconds: body.duration_seconds,
            pod_namespace: body.pod.as_ref().map(|p| p.namespace.clone()),
            pod_name: body.pod.as_ref().map(|p| p.name.clone()),
            required_approvals: i64::from(required),
            created_at: now,
            pending_expires_at: crate::policy::deadline(now, timeout),
        };
        let auto = matches!(decision, RequestDecision::AutoApproved { .. });
        let grant = auto.then(|| build_grant(profile, &req, now));
        let mut events = vec![AccessEventRow {
            at: now,
            kind: "request_created".into(),
            actor: caller.subject.clone(),
            request_id: req.id.clone(),
            grant_id: None,
            reason: Some(reason),
            comment: None,
        }];
        if let (RequestDecision::AutoApproved { rule }, Some(g)) = (&decision, &grant) {
            events.push(AccessEventRow {
                at: now,
                kind: "request_approved".into(),
                actor: "policy".into(),
                request_id: req.id.clone(),
                grant_id: Some(g.id.clone()),
                reason: None,
                comment: Some(format!("auto-approve rule #{}", rule + 1)),
            });
        }
        let state = if auto {
            RequestState::Approved
        } else {
            RequestState::Pending
        };
        self.inner
            .store
            .insert_request(&req, state.as_str(), grant.as_ref(), &events)
            .await?;
        tracing::info!(request = %req.id, profile = %req.profile, requester = %req.requester,
            state = state.as_str(), "access requested");
        self.publish(
            AccessEventKind::RequestCreated,
            &req,
            state,
            grant.as_ref().map(|g| g.id.clone()),
            None,
        );
        self.request_view(caller, &policy, self.load(&req.id).await?)
            .await
    }

    /// One page of the requests in `scope`, newest first. Who may see what is part of the
    /// query, so a page is never cut short by rows the caller may not see.
    pub async fn list_requests(
        &self,
        caller: &Caller,
        scope: RequestScope,
        page: &PageQuery,
    ) -> Result<Page<AccessRequest>, AccessError> {
        let policy = self.inner.policy.current();
        let approvable = approvable_names(&policy, caller);
        let filter = match scope {
            RequestScope::Mine => ListFilter {
                owner: Some(&caller.subject),
                ..Default::default()
            },
            RequestScope::Pending => {
                if approvable.is_empty() {
                    return Err(AccessError::Forbidden(
                        "only approvers see the pending queue".into(),
                    ));
                }
                ListFilter {
                    state: Some("pending"),
                    live_at: Some(now_unix()),
                    visible: Some(Visible {
                        own: None,
                        profiles: &approvable,
                    }),
                    ..Default::default()
                }
            }
            RequestScope::All => {
                if !(caller.has(Role::Auditor) || caller.has(Role::Admin)) {
                    return Err(AccessError::Forbidden(
                        "only auditors and admins may list every request".into(),
                    ));
                }
                ListFilter::default()
            }
        };
        let rows = self
            .inner
            .store
            .request_page(&filter, page.after(), page.fetch_limit())
            .await?;
        let (rows, next_cursor) = page.cut(rows, |r| (r.new.created_at, r.new.id.as_str()));
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(self.request_view(caller, &policy, row).await?);
        }
        Ok(Page { items, next_cursor })
    }

    /// One request, if the caller may see it.
    pub async fn get_request(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<AccessRequest, AccessError> {
        let policy = self.inner.policy.current();
        let row = self.visible_request(caller, &policy, id).await?;
        self.request_view(caller, &policy, row).await
    }

    /// The policy in force and its last reload (admins only).
    pub fn policy_view(&self, caller: &Caller) -> Result<PolicyView, AccessError> {
        if !caller.has(Role::Admin) {
            return Err(AccessError::Forbidden(
                "only admins may read the effective policy".into(),
            ));
        }
        let policy = self.inner.policy.current();
        let status = self.inner.policy.last_reload();
        Ok(PolicyView {
            origin: policy.origin().to_owned(),
            source: policy.source().to_owned(),
            profiles: policy.profiles().len(),
            reload_ok: status.ok,
            reload_at: status.at.unix_timestamp(),
            reload_messages: status.errors,
        })
    }
}
