//! Who may see what, and stored rows → API types.
//!
//! Visibility is one rule for requests and grants alike: the requester (holder), approvers of
//! the profile, auditors and admins. Anyone else gets "not found", never "forbidden", so that
//! request and grant ids cannot be probed.

use keyhole_protocol::access::{
    self as wire, AccessRequest, GrantState, Person, PodRef, ProfileFacts, RequestState, Review,
};
use keyhole_protocol::api::Role;

use super::{Access, AccessError, Caller};
use crate::domain::Grant;
use crate::policy::Policy;
use crate::store::{RequestRow, now_unix};

/// Whether `caller` may see things of `owner` under `profile`.
pub(super) fn may_see(policy: &Policy, caller: &Caller, owner: &str, profile: &str) -> bool {
    caller.subject == owner
        || caller.has(Role::Auditor)
        || caller.has(Role::Admin)
        || policy.may_approve(&caller.groups, profile)
}

/// Whether `caller` may revoke a grant of `profile`: an approver of it, or an admin.
pub(super) fn may_revoke(policy: &Policy, caller: &Caller, profile: &str) -> bool {
    caller.has(Role::Admin) || policy.may_approve(&caller.groups, profile)
}

/// The names of the profiles `caller` approves: the rows of these they may see and oversee.
pub(super) fn approvable_names(policy: &Policy, caller: &Caller) -> Vec<String> {
    policy
        .approvable_profiles(&caller.groups)
        .into_iter()
        .map(|p| p.name.clone())
        .collect()
}

impl Access {
    /// Whether `caller` may see what `owner` does under `profile` (their terminal sessions,
    /// for instance): the same rule as for requests and grants.
    pub fn may_see_owned(&self, caller: &Caller, owner: &str, profile: &str) -> bool {
        may_see(&self.inner.policy.current(), caller, owner, profile)
    }

    /// Whether `caller` may revoke grants of `profile`.
    pub fn may_revoke_profile(&self, caller: &Caller, profile: &str) -> bool {
        may_revoke(&self.inner.policy.current(), caller, profile)
    }

    /// The names of the profiles `caller` approves (whose sessions, requests and grants they
    /// may see), for list queries.
    pub fn approvable_profile_names(&self, caller: &Caller) -> Vec<String> {
        approvable_names(&self.inner.policy.current(), caller)
    }

    /// Whether `caller` oversees anyone: an auditor, an admin, or an approver of some profile.
    pub fn oversees_any(&self, caller: &Caller) -> bool {
        caller.has(Role::Auditor)
            || caller.has(Role::Admin)
            || !self
                .inner
                .policy
                .current()
                .approvable_profiles(&caller.groups)
                .is_empty()
    }
}

impl Access {
    /// A request that must exist.
    pub(super) async fn load(&self, id: &str) -> Result<RequestRow, AccessError> {
        self.inner
            .store
            .request(id)
            .await?
            .ok_or(AccessError::RequestNotFound)
    }

    /// A request the caller may see, else "not found".
    pub(super) async fn visible_request(
        &self,
        caller: &Caller,
        policy: &Policy,
        id: &str,
    ) -> Result<RequestRow, AccessError> {
        match self.inner.store.request(id).await? {
            Some(r) if may_see(policy, caller, &r.new.requester, &r.new.profile) => Ok(r),
            _ => Err(AccessError::RequestNotFound),
        }
    }

    /// A grant the caller may see, else "not found".
    pub(super) async fn visible_grant(
        &self,
        caller: &Caller,
        policy: &Policy,
        id: &str,
    ) -> Result<Grant, AccessError> {
        match self.inner.store.grant(id).await? {
            Some(g) if may_see(policy, caller, &g.subject, &g.profile) => Ok(g),
            _ => Err(AccessError::GrantNotFound),
        }
    }

    /// The API view of a request, with its reviews, its grant and what the caller may do.
    pub(super) async fn request_view(
        &self,
        caller: &Caller,
        policy: &Policy,
        row: RequestRow,
    ) -> Result<AccessRequest, AccessError> {
        let now = now_unix();
        let state = row.state_at(now);
        let reviews = self.inner.store.reviews(&row.new.id).await?;
        let grant = match state {
            RequestState::Approved => self.inner.store.grant_of_request(&row.new.id).await?,
            _ => None,
        };
        let reviewed = reviews.iter().any(|r| {
            r.reviewer == caller.subject
                || r.reviewer_kube_user.as_deref() == Some(caller.kube_user())
        });
        let pending = state == RequestState::Pending;
        let can_review = pending
            && !reviewed
            && caller.kube_user() != row.new.kube_user
            && policy
                .check_review(
                    &caller.subject,
                    &caller.groups,
                    &row.new.requester,
                    &row.new.profile,
                )
                .is_ok();
        let n = row.new;
        let profile_facts = policy.profile(&n.profile).map(|p| ProfileFacts {
            description: p.description.clone(),
            namespaces: p.namespaces.clone(),
            capabilities: p
                .capabilities
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            kubernetes_groups: p.kubernetes_groups.clone(),
            max_duration_seconds: p.max_duration.as_secs() as i64,
        });
        Ok(AccessRequest {
            profile_facts,
            can_cancel: pending && n.requester == caller.subject,
            can_review,
            grant: match grant {
                Some(g) => Some(self.named(grant_view(policy, caller, g, now)).await?),
                None => None,
            },
            reviews: reviews
                .into_iter()
                .map(|r| Review {
                    reviewer: Person {
                        subject: r.reviewer,
                        email: r.reviewer_email,
                        name: r.reviewer_name,
                    },
                    verdict: r.verdict,
                    comment: r.comment,
                    at: r.at,
                })
                .collect(),
            id: n.id,
            requester: Person {
                subject: n.requester,
                email: n.requester_email,
                name: n.requester_name,
            },
            profile: n.profile,
            reason: n.reason,
            duration_seconds: n.duration_seconds,
            pod: n
                .pod_namespace
                .zip(n.pod_name)
                .map(|(namespace, name)| PodRef { namespace, name }),
            state,
            created_at: n.created_at,
            pending_expires_at: n.pending_expires_at,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
            required_approvals: n.required_approvals.max(0) as u32,
        })
    }
}

/// The API view of a grant.
pub(super) fn grant_view(policy: &Policy, caller: &Caller, g: Grant, now: i64) -> wire::Grant {
    let state = g.state_at(now);
    wire::Grant {
        can_revoke: state == GrantState::Active && may_revoke(policy, caller, &g.profile),
        pod: g.pod.map(|(namespace, name)| PodRef { namespace, name }),
        holder: Person {
            subject: g.subject,
            email: g.holder_email,
            name: g.holder_name,
        },
        id: g.id,
        request_id: g.request_id,
        kube_user: g.kube_user,
        profile: g.profile,
        kubernetes_groups: g.kubernetes_groups,
        namespaces: g.namespaces,
        capabilities: g
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        reason: g.reason,
        state,
        starts_at: g.starts_at,
        expires_at: g.expires_at,
        revoked_at: (state == GrantState::Revoked)
            .then_some(g.ended_at)
            .flatten(),
        revoker: g.revoked_by.as_ref().map(|s| Person {
            subject: s.clone(),
            email: None,
            name: None,
        }),
        revoked_by: g.revoked_by,
        revoke_reason: g.revoke_reason,
    }
}

impl Access {
    /// `g` with its revoker's name and e-mail from their last sign-in, when known.
    pub(super) async fn named(&self, mut g: wire::Grant) -> Result<wire::Grant, AccessError> {
        if let Some(p) = &mut g.revoker
            && let Some((email, name)) = self.inner.store.user_display(&p.subject).await?
        {
            p.email = email;
            p.name = name;
        }
        Ok(g)
    }
}
