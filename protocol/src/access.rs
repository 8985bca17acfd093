//! Bodies of the access API: profiles, requests, reviews, grants and live events.
//!
//! Times are Unix seconds (`i64`) and ids are opaque strings, so this module needs nothing
//! beyond serde and builds for wasm32. The server's state machine (`server/src/access/model.rs`)
//! uses [`RequestState`] and [`GrantState`] from here, so the app and the server can never
//! disagree on a state's spelling.

use serde::{Deserialize, Serialize};

/// Where a request stands. `Pending` is the only state that changes; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for approvers.
    Pending,
    /// Approved (by policy or by enough approvers); a grant exists.
    Approved,
    /// An approver said no.
    Denied,
    /// The requester withdrew it.
    Cancelled,
    /// Nobody decided before the pending timeout.
    Expired,
}

/// Where a grant stands. `Active` is the only state that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// In force until `expires_at`.
    Active,
    /// Ended early by an approver or an admin.
    Revoked,
    /// Reached `expires_at`.
    Expired,
}

impl RequestState {
    /// The spelling used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Denied,
            Self::Cancelled,
            Self::Expired,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

impl GrantState {
    /// The spelling used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Revoked, Self::Expired]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// `GET /api/profiles`: one profile the caller may request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// Unique name, e.g. `payments-debug`.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Namespaces it reaches.
    pub namespaces: Vec<String>,
    /// `exec`, `logs`, …
    pub capabilities: Vec<String>,
    /// Kubernetes groups impersonated while a grant is active.
    pub kubernetes_groups: Vec<String>,
    /// Duration the form offers first.
    pub default_duration_seconds: i64,
    /// Longest duration that may be requested.
    pub max_duration_seconds: i64,
    /// For this caller: requests up to this long are approved at once (`None`: never).
    pub auto_approve_up_to_seconds: Option<i64>,
    /// Distinct approvals a request needs when not auto-approved.
    pub required_approvals: u32,
}

/// A single pod, to narrow a request below the profile's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodRef {
    /// Namespace (must be one of the profile's).
    pub namespace: String,
    /// Pod name.
    pub name: String,
}

/// `POST /api/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The profile's name.
    pub profile: String,
    /// Why (1–1000 characters); shown to approvers and kept in the audit log.
    pub reason: String,
    /// How long the grant should last, counted from approval.
    pub duration_seconds: i64,
    /// Optionally only one pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodRef>,
}

/// `POST /api/requests/{id}/approve` and `/deny`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewBody {
    /// Up to 1000 characters; required to deny.
    #[serde(default)]
    pub comment: String,
}

/// `POST /api/grants/{id}/revoke`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeBody {
    /// Why (1–1000 characters).
    #[serde(default)]
    pub reason: String,
}

/// A person as the lists show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// IdP subject.
    pub subject: String,
    /// E-mail, when known.
    pub email: Option<String>,
    /// Display name, when known.
    pub name: Option<String>,
}

impl Person {
    /// Name, else e-mail, else subject.
    pub fn display(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.subject)
    }
}

/// What a reviewer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Counts towards the required approvals.
    Approve,
    /// Ends the request.
    Deny,
}

/// One review of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Who.
    pub reviewer: Person,
    /// Approve or deny.
    pub verdict: Verdict,
    /// Their comment (may be empty for an approval).
    pub comment: String,
    /// When (Unix seconds).
    pub at: i64,
}

/// A request as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Opaque id.
    pub id: String,
    /// Who asked.
    pub requester: Person,
    /// The profile's name.
    pub profile: String,
    /// Why.
    pub reason: String,
    /// Requested length of the grant.
    pub duration_seconds: i64,
    /// Narrowed to one pod, if asked.
    pub pod: Option<PodRef>,
    /// Where it stands.
    pub state: RequestState,
    /// When it was made.
    pub created_at: i64,
    /// A pending request expires at this time.
    pub pending_expires_at: i64,
    /// When it left `pending`.
    pub decided_at: Option<i64>,
    /// `policy` for auto-approval, else the deciding person's subject.
    pub decided_by: Option<String>,
    /// Distinct approvals needed.
    pub required_approvals: u32,
    /// The reviews so far, oldest first.
    pub reviews: Vec<Review>,
    /// The grant, once approved.
    pub grant: Option<Grant>,
    /// The caller may approve or deny it now.
    pub can_review: bool,
    /// The caller may cancel it now.
    pub can_cancel: bool,
    /// What the profile grants, as the policy says now (for reviewers deciding; `None` when
    /// the profile is gone from the policy).
    #[serde(default)]
    pub profile_facts: Option<ProfileFacts>,
}

/// What a profile grants, for someone deciding on a request for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFacts {
    /// The profile's description.
    pub description: String,
    /// Namespaces it reaches.
    pub namespaces: Vec<String>,
    /// What it allows (`exec`, `logs`, …).
    pub capabilities: Vec<String>,
    /// The Kubernetes groups impersonated while a grant is active.
    pub kubernetes_groups: Vec<String>,
    /// The longest grant it allows, in seconds.
    pub max_duration_seconds: i64,
}

/// A grant as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Opaque id (the terminal's URLs carry it).
    pub id: String,
    /// The request it came from.
    pub request_id: String,
    /// Who holds it.
    pub holder: Person,
    /// The Kubernetes user name impersonated.
    pub kube_user: String,
    /// The profile's name.
    pub profile: String,
    /// Kubernetes groups impersonated.
    pub kubernetes_groups: Vec<String>,
    /// Namespaces reached.
    pub namespaces: Vec<String>,
    /// Narrowed to one pod, if asked.
    pub pod: Option<PodRef>,
    /// `exec`, `logs`, …
    pub capabilities: Vec<String>,
    /// The request's reason.
    pub reason: String,
    /// Where it stands.
    pub state: GrantState,
    /// Approval time.
    pub starts_at: i64,
    /// End time (approval + duration).
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Who revoked it (subject).
    pub revoked_by: Option<String>,
    /// Who revoked it, with their name and e-mail when known (from their last sign-in).
    #[serde(default)]
    pub revoker: Option<Person>,
    /// Why.
    pub revoke_reason: Option<String>,
    /// The caller may revoke it now.
    pub can_revoke: bool,
}

/// What happened, in a live event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEventKind {
    /// A new request (pending or auto-approved).
    RequestCreated,
    /// An approval that was not yet enough (N-of-M).
    RequestReviewed,
    /// Approved; a grant exists.
    RequestApproved,
    /// Denied.
    RequestDenied,
    /// Cancelled by the requester.
    RequestCancelled,
    /// Expired while pending.
    RequestExpired,
    /// A grant was revoked.
    GrantRevoked,
    /// A grant reached its end.
    GrantExpired,
}

impl AccessEventKind {
    /// snake_case name (also the SSE `event:` field).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestCreated => "request_created",
            Self::RequestReviewed => "request_reviewed",
            Self::RequestApproved => "request_approved",
            Self::RequestDenied => "request_denied",
            Self::RequestCancelled => "request_cancelled",
            Self::RequestExpired => "request_expired",
            Self::GrantRevoked => "grant_revoked",
            Self::GrantExpired => "grant_expired",
        }
    }

    /// Every kind, for exhaustive tests and parsing.
    pub const ALL: [AccessEventKind; 8] = [
        Self::RequestCreated,
        Self::RequestReviewed,
        Self::RequestApproved,
        Self::RequestDenied,
        Self::RequestCancelled,
        Self::RequestExpired,
        Self::GrantRevoked,
        Self::GrantExpired,
    ];

    /// The kind named `s` (its [`AccessEventKind::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// `GET /api/events`: one Server-Sent Event's `data`. It names what changed; clients fetch the
/// details they are allowed to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// What happened.
    pub kind: AccessEventKind,
    /// The request concerned.
    pub request_id: String,
    /// The grant concerned, if any.
    pub grant_id: Option<String>,
    /// The profile's name.
    pub profile: String,
    /// The requester's subject.
    pub requester: String,
    /// The request's state after the event.
    pub state: RequestState,
    /// When (Unix seconds).
    pub at: i64,
}

/// One page of a list (`GET /api/requests`, `/api/grants`, `/api/terminal-sessions`): newest first.
/// Ask for the next page with `?cursor=<next_cursor>` (same scope and filters); `next_cursor`
/// is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page (at most the `limit` asked for: 100 by default, 500 at most).
    pub items: Vec<T>,
    /// Opaque; pass it back unchanged to get the next page.
    pub next_cursor: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            next_cursor: None,
        }
    }
}

/// `GET /api/policy` (admins): the policy in force and the last reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    /// Where it was read from.
    pub origin: String,
    /// The text as written (comments included).
    pub source: String,
    /// How many profiles.
    pub profiles: usize,
    /// `true` when the last (re)load succeeded.
    pub reload_ok: bool,
    /// When the last (re)load was tried (Unix seconds).
    pub reload_at: i64,
    /// Errors of a failed reload, or warnings of a good one (`FILE:LINE:COL: message`).
    pub reload_messages: Vec<String>,
}
