//! Access requests, reviews, grants and their audit rows.
//!
//! Every state change is one transaction whose first statement is a conditional write
//! (`UPDATE … WHERE state = 'pending'`): on SQLite it takes the write lock at once (no
//! deferred-transaction upgrade deadlock), on PostgreSQL it locks the row. So two approvers
//! clicking at once are serialised, the second sees the first's result, and the UNIQUE
//! constraint on `grants.request_id` backs that up: one request, at most one grant.
//!
//! The state *rules* live in `domain::lifecycle`; this module only performs the moves it is given.
//!
//! # Layout
//! - this file: the row types and the helpers both halves share;
//! - `requests.rs`: requests and reviews (create, approve, deny/cancel, expire);
//! - `grants.rs`: grants (read, revoke, expire) and the audit rows.

mod grants;
mod requests;

use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::StoreError;
use crate::domain::{Grant, GrantState, RequestState};
use crate::policy::Capability;
use keyhole_protocol::access::{AccessEventKind, Verdict};

/// A new request, as the service built it.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Opaque id.
    pub id: String,
    /// Requester's IdP subject.
    pub requester: String,
    /// Requester's e-mail.
    pub requester_email: Option<String>,
    /// Requester's display name.
    pub requester_name: Option<String>,
    /// The Kubernetes user a grant will impersonate.
    pub kube_user: String,
    /// Profile name.
    pub profile: String,
    /// Why.
    pub reason: String,
    /// Grant length.
    pub duration_seconds: i64,
    /// Narrowed to one pod: namespace.
    pub pod_namespace: Option<String>,
    /// Narrowed to one pod: name.
    pub pod_name: Option<String>,
    /// Distinct approvals needed.
    pub required_approvals: i64,
    /// Creation time.
    pub created_at: i64,
    /// A pending request expires then.
    pub pending_expires_at: i64,
}

/// A stored request.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// What was asked.
    pub new: NewRequest,
    /// The stored state (see `RequestRow::state_at` for the effective one).
    pub state: RequestState,
    /// Approvals so far.
    pub approvals: i64,
    /// When it left `pending`.
    pub decided_at: Option<i64>,
    /// Who decided (`policy`, `scheduler`, or a subject).
    pub decided_by: Option<String>,
}

/// A stored review.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    /// Reviewer's subject.
    pub reviewer: String,
    /// Reviewer's e-mail.
    pub reviewer_email: Option<String>,
    /// Reviewer's name.
    pub reviewer_name: Option<String>,
    /// Reviewer's Kubernetes user name (`None` for reviews stored before it was kept).
    pub reviewer_kube_user: Option<String>,
    /// Approve or deny.
    pub verdict: Verdict,
    /// Comment.
    pub comment: String,
    /// When.
    pub at: i64,
}

/// One audit row of a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEventRow {
    /// When.
    pub at: i64,
    /// What happened.
    pub kind: AccessEventKind,
    /// IdP subject, or `policy` / `scheduler`.
    pub actor: String,
    /// The request.
    pub request_id: String,
    /// The grant, if any.
    pub grant_id: Option<String>,
    /// The request's or revocation's reason.
    pub reason: Option<String>,
    /// A reviewer's comment.
    pub comment: Option<String>,
}

/// A reviewer, as stored with their review.
#[derive(Debug, Clone)]
pub struct Reviewer<'a> {
    /// IdP subject.
    pub subject: &'a str,
    /// Kubernetes user name: approvals are distinct by subject *and* by this.
    pub kube_user: &'a str,
    /// E-mail.
    pub email: Option<&'a str>,
    /// Name.
    pub name: Option<&'a str>,
}

/// What an approval did.
#[derive(Debug, Clone)]
pub enum ApproveOutcome {
    /// Recorded; `approvals` of the required count so far.
    Recorded {
        /// Approvals so far.
        approvals: i64,
    },
    /// The last required approval: the request is approved and this grant exists.
    Granted(Box<Grant>),
    /// This reviewer already reviewed the request.
    AlreadyReviewed,
    /// The request is not pending (its current state), or is past its pending deadline.
    NotPending(Option<RequestState>),
}

pub(super) const REQUEST_COLS: &str = "id, requester, requester_email, requester_name, kube_user, profile, \
    reason, duration_seconds, pod_namespace, pod_name, required_approvals, created_at, \
    pending_expires_at, state, approvals, decided_at, decided_by";

pub(super) const GRANT_COLS: &str = "id, request_id, subject, holder_email, holder_name, kube_user, profile, \
    kubernetes_groups, namespaces, pod_selector, pod_namespace, pod_name, capabilities, reason, \
    idle_timeout_seconds, exec_command, interactive, starts_at, expires_at, state, ended_at, \
    revoked_by, revoke_reason";

pub(super) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn request_row(r: &AnyRow) -> Result<RequestRow, StoreError> {
    Ok(RequestRow {
        new: NewRequest {
            id: r.try_get("id")?,
            requester: r.try_get("requester")?,
            requester_email: r.try_get("requester_email")?,
            requester_name: r.try_get("requester_name")?,
            kube_user: r.try_get("kube_user")?,
            profile: r.try_get("profile")?,
            reason: r.try_get("reason")?,
            duration_seconds: r.try_get("duration_seconds")?,
            pod_namespace: r.try_get("pod_namespace")?,
            pod_name: r.try_get("pod_name")?,
            required_approvals: r.try_get("required_approvals")?,
            created_at: r.try_get("created_at")?,
            pending_expires_at: r.try_get("pending_expires_at")?,
        },
        state: parse_state(r.try_get("state")?)?,
        approvals: r.try_get("approvals")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
    })
}

/// A stored request state; an unknown one is `Corrupt` (fail closed).
fn parse_state(s: String) -> Result<RequestState, StoreError> {
    RequestState::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("request state {s:?}")))
}

impl RequestRow {
    /// The state as of `now`: a pending request past its deadline is expired already.
    pub fn state_at(&self, now: i64) -> RequestState {
        match self.state {
            RequestState::Pending if self.new.pending_expires_at <= now => RequestState::Expired,
            s => s,
        }
    }
}

/// A `grants` row as the domain type; an unknown state or capability is `Corrupt`.
pub(super) fn grant_row(r: &AnyRow) -> Result<Grant, StoreError> {
    let state: String = r.try_get("state")?;
    let capabilities: Vec<Capability> = from_json(&r.try_get::<String, _>("capabilities")?)?;
    let pod_namespace: Option<String> = r.try_get("pod_namespace")?;
    let pod_name: Option<String> = r.try_get("pod_name")?;
    let idle: Option<i64> = r.try_get("idle_timeout_seconds")?;
    Ok(Grant {
        id: r.try_get("id")?,
        request_id: r.try_get("request_id")?,
        subject: r.try_get("subject")?,
        holder_email: r.try_get("holder_email")?,
        holder_name: r.try_get("holder_name")?,
        kube_user: r.try_get("kube_user")?,
        profile: r.try_get("profile")?,
        kubernetes_groups: from_json(&r.try_get::<String, _>("kubernetes_groups")?)?,
        namespaces: from_json(&r.try_get::<String, _>("namespaces")?)?,
        pod_selector: from_json(&r.try_get::<String, _>("pod_selector")?)?,
        pod: pod_namespace.zip(pod_name),
        capabilities: capabilities.into_iter().collect(),
        reason: r.try_get("reason")?,
        idle_timeout: idle.map(|s| Duration::from_secs(s.max(0) as u64)),
        exec_command: from_json(&r.try_get::<String, _>("exec_command")?)?,
        interactive: r.try_get::<i64, _>("interactive")? != 0,
        starts_at: r.try_get("starts_at")?,
        expires_at: r.try_get("expires_at")?,
        state: GrantState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("grant state {state:?}")))?,
        ended_at: r.try_get("ended_at")?,
        revoked_by: r.try_get("revoked_by")?,
        revoke_reason: r.try_get("revoke_reason")?,
    })
}

pub(super) async fn insert_event(
    tx: &mut Transaction<'static, Any>,
    e: &AccessEventRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_events (at, kind, actor, request_id, grant_id, reason, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(e.kind.as_str())
    .bind(&e.actor)
    .bind(&e.request_id)
    .bind(&e.grant_id)
    .bind(&e.reason)
    .bind(&e.comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_grant(
    tx: &mut Transaction<'static, Any>,
    g: &Grant,
) -> Result<(), StoreError> {
    let capabilities: Vec<&str> = g.capabilities.iter().map(Capability::as_str).collect();
    let (pod_namespace, pod_name) = g.pod.clone().unzip();
    sqlx::query(&format!(
        "INSERT INTO grants ({GRANT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    ))
    .bind(&g.id)
    .bind(&g.request_id)
    .bind(&g.subject)
    .bind(&g.holder_email)
    .bind(&g.holder_name)
    .bind(&g.kube_user)
    .bind(&g.profile)
    .bind(json(&g.kubernetes_groups)?)
    .bind(json(&g.namespaces)?)
    .bind(json(&g.pod_selector)?)
    .bind(pod_namespace)
    .bind(pod_name)
    .bind(json(&capabilities)?)
    .bind(&g.reason)
    .bind(g.idle_timeout.map(|d| d.as_secs() as i64))
    .bind(json(&g.exec_command)?)
    .bind(i64::from(g.interactive))
    .bind(g.starts_at)
    .bind(g.expires_at)
    .bind(g.state.as_str())
    .bind(g.ended_at)
    .bind(&g.revoked_by)
    .bind(&g.revoke_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) fn scheduler_event(
    now: i64,
    kind: AccessEventKind,
    request_id: &str,
    grant_id: Option<&str>,
) -> AccessEventRow {
    AccessEventRow {
        at: now,
        kind,
        actor: "scheduler".into(),
        request_id: request_id.to_owned(),
        grant_id: grant_id.map(str::to_owned),
        reason: None,
        comment: None,
    }
}
