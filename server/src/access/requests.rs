//! Requests: what a caller may request (profiles, the policy view), creating a request (the
//! policy decides: pending, auto-approved or refused), listing and reading requests.

use std::time::Duration;

use keyhole_protocol::access::{
    AccessEventKind, AccessRequest, CreateRequest, Page, PodRef, PolicyView, ProfileInfo,
    RequestState,
};
use keyhole_protocol::api::Role;

use super::grants::build_grant;
use super::visibility::approvable_names;
use super::{Access, AccessError, Caller, PageQuery, check_text};
use crate::domain::Grant;
use crate::policy::{DenyReason, Policy, Profile, RequestDecision, RequestInput};
use crate::store::{AccessEventRow, ListFilter, NewRequest, Visible, now_unix};

/// `GET /api/requests?scope=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestScope {
    /// The caller's own requests.
    Mine,
    /// Pending requests the caller may review (approvers only).
    Pending,
    /// Every request (auditors and admins; read-only).
    All,
    /// Every request the caller may see: their own and those of profiles they approve
    /// (auditors and admins: all). With a requester, only theirs (a reviewer's context).
    Visible {
        /// Only this requester's (IdP subject).
        requester: Option<String>,
    },
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

/// The profile a request names, if the policy lets the caller request it. A profile the caller
/// may not request is "unknown" to them, like one that does not exist.
fn requested_profile<'p>(
    policy: &'p Policy,
    decision: &RequestDecision,
    name: &str,
) -> Result<&'p Profile, AccessError> {
    match (decision, policy.profile(name)) {
        (
            RequestDecision::Denied {
                reason: DenyReason::UnknownProfile | DenyReason::NotRequester,
            },
            _,
        )
        | (_, None) => Err(AccessError::UnknownProfile(name.to_owned())),
        (RequestDecision::Denied { reason }, _) => Err(AccessError::Denied(reason.clone())),
        (_, Some(p)) => Ok(p),
    }
}

/// A request narrowed to one pod: in one of the profile's namespaces, with a valid name.
fn check_pod(profile: &Profile, pod: &PodRef) -> Result<(), AccessError> {
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
    Ok(())
}

/// The request as stored: who asks, for what, and how many approvals it needs by when.
fn new_request(
    caller: &Caller,
    profile: &Profile,
    body: &CreateRequest,
    decision: &RequestDecision,
    reason: String,
    now: i64,
) -> NewRequest {
    let (required, timeout) = match decision {
        RequestDecision::Pending {
            required_approvals,
            pending_timeout,
        } => (*required_approvals, *pending_timeout),
        _ => (profile.approval.required, profile.approval.pending_timeout),
    };
    NewRequest {
        id: uuid::Uuid::new_v4().to_string(),
        requester: caller.subject.clone(),
        requester_email: caller.email.clone(),
        requester_name: caller.name.clone(),
        kube_user: caller.kube_user().to_owned(),
        profile: profile.name.clone(),
        reason,
        duration_seconds: body.duration_seconds,
        pod_namespace: body.pod.as_ref().map(|p| p.namespace.clone()),
        pod_name: body.pod.as_ref().map(|p| p.name.clone()),
        required_approvals: i64::from(required),
        created_at: now,
        pending_expires_at: crate::policy::deadline(now, timeout),
    }
}

/// The audit rows of a new request: created, and approved by the policy when a rule did.
fn creation_events(
    req: &NewRequest,
    decision: &RequestDecision,
    grant: Option<&Grant>,
    now: i64,
) -> Vec<AccessEventRow> {
    let mut events = vec![AccessEventRow {
        at: now,
        kind: AccessEventKind::RequestCreated,
        actor: req.requester.clone(),
        request_id: req.id.clone(),
        grant_id: None,
        reason: Some(req.reason.clone()),
        comment: None,
    }];
    if let (RequestDecision::AutoApproved { rule }, Some(g)) = (decision, grant) {
        events.push(AccessEventRow {
            at: now,
            kind: AccessEventKind::RequestApproved,
            actor: "policy".into(),
            request_id: req.id.clone(),
            grant_id: Some(g.id.clone()),
            reason: None,
            comment: Some(format!("auto-approve rule #{}", rule + 1)),
        });
    }
    events
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
        let profile = requested_profile(&policy, &decision, &body.profile)?;
        if let Some(pod) = &body.pod {
            check_pod(profile, pod)?;
        }
        let now = now_unix();
        let req = new_request(caller, profile, body, &decision, reason, now);
        let (state, grant) = match decision {
            RequestDecision::AutoApproved { .. } => (
                RequestState::Approved,
                Some(build_grant(profile, &req, now)),
            ),
            _ => (RequestState::Pending, None),
        };
        let events = creation_events(&req, &decision, grant.as_ref(), now);
        self.inner
            .store
            .insert_request(&req, state, grant.as_ref(), &events)
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
            RequestScope::Visible { ref requester } => {
                let overseer = caller.has(Role::Auditor) || caller.has(Role::Admin);
                ListFilter {
                    owner: requester.as_deref(),
                    visible: (!overseer).then_some(Visible {
                        own: Some(&caller.subject),
                        profiles: &approvable,
                    }),
                    ..Default::default()
                }
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
