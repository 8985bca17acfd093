//! Access requests, reviews, grants and their audit rows.
//!
//! Every state change is one transaction whose first statement is a conditional write
//! (`UPDATE … WHERE state = 'pending'`): on SQLite it takes the write lock at once (no
//! deferred-transaction upgrade deadlock), on PostgreSQL it locks the row. So two approvers
//! clicking at once are serialised, the second sees the first's result, and the UNIQUE
//! constraint on `grants.request_id` backs that up: one request, at most one grant.
//!
//! The state *rules* live in `access::model`; this module only performs the moves it is given.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError};

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
    /// `pending`, `approved`, …
    pub state: String,
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
    /// `approve` or `deny`.
    pub verdict: String,
    /// Comment.
    pub comment: String,
    /// When.
    pub at: i64,
}

/// A grant (new or stored): a snapshot of the profile at approval time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// Opaque id.
    pub id: String,
    /// The request it came from.
    pub request_id: String,
    /// Holder's IdP subject.
    pub subject: String,
    /// Holder's e-mail.
    pub holder_email: Option<String>,
    /// Holder's name.
    pub holder_name: Option<String>,
    /// `Impersonate-User`.
    pub kube_user: String,
    /// Profile name.
    pub profile: String,
    /// `Impersonate-Group`s.
    pub kubernetes_groups: Vec<String>,
    /// Namespaces.
    pub namespaces: Vec<String>,
    /// Pod label selector.
    pub pod_selector: BTreeMap<String, String>,
    /// One pod: namespace.
    pub pod_namespace: Option<String>,
    /// One pod: name.
    pub pod_name: Option<String>,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// The request's reason.
    pub reason: String,
    /// Idle limit for terminals.
    pub idle_timeout_seconds: Option<i64>,
    /// Exec argv.
    pub exec_command: Vec<String>,
    /// Interactive shells allowed.
    pub interactive: bool,
    /// Approval time.
    pub starts_at: i64,
    /// End time.
    pub expires_at: i64,
    /// `active`, `revoked`, `expired`.
    pub state: String,
    /// When it was revoked or expired.
    pub ended_at: Option<i64>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Why.
    pub revoke_reason: Option<String>,
}

/// One audit row of a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEventRow {
    /// When.
    pub at: i64,
    /// `request_created`, `request_approved`, `grant_revoked`, …
    pub kind: String,
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
    Granted(Box<GrantRow>),
    /// This reviewer already reviewed the request.
    AlreadyReviewed,
    /// The request is not pending (its current state), or is past its pending deadline.
    NotPending(String),
}

const REQUEST_COLS: &str = "id, requester, requester_email, requester_name, kube_user, profile, \
    reason, duration_seconds, pod_namespace, pod_name, required_approvals, created_at, \
    pending_expires_at, state, approvals, decided_at, decided_by";

const GRANT_COLS: &str = "id, request_id, subject, holder_email, holder_name, kube_user, profile, \
    kubernetes_groups, namespaces, pod_selector, pod_namespace, pod_name, capabilities, reason, \
    idle_timeout_seconds, exec_command, interactive, starts_at, expires_at, state, ended_at, \
    revoked_by, revoke_reason";

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn request_row(r: &AnyRow) -> Result<RequestRow, StoreError> {
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
        state: r.try_get("state")?,
        approvals: r.try_get("approvals")?,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
    })
}

fn grant_row(r: &AnyRow) -> Result<GrantRow, StoreError> {
    Ok(GrantRow {
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
        pod_namespace: r.try_get("pod_namespace")?,
        pod_name: r.try_get("pod_name")?,
        capabilities: from_json(&r.try_get::<String, _>("capabilities")?)?,
        reason: r.try_get("reason")?,
        idle_timeout_seconds: r.try_get("idle_timeout_seconds")?,
        exec_command: from_json(&r.try_get::<String, _>("exec_command")?)?,
        interactive: r.try_get::<i64, _>("interactive")? != 0,
        starts_at: r.try_get("starts_at")?,
        expires_at: r.try_get("expires_at")?,
        state: r.try_get("state")?,
        ended_at: r.try_get("ended_at")?,
        revoked_by: r.try_get("revoked_by")?,
        revoke_reason: r.try_get("revoke_reason")?,
    })
}

async fn insert_event(
    tx: &mut Transaction<'static, Any>,
    e: &AccessEventRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_events (at, kind, actor, request_id, grant_id, reason, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at)
    .bind(&e.kind)
    .bind(&e.actor)
    .bind(&e.request_id)
    .bind(&e.grant_id)
    .bind(&e.reason)
    .bind(&e.comment)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_grant(tx: &mut Transaction<'static, Any>, g: &GrantRow) -> Result<(), StoreError> {
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
    .bind(&g.pod_namespace)
    .bind(&g.pod_name)
    .bind(json(&g.capabilities)?)
    .bind(&g.reason)
    .bind(g.idle_timeout_seconds)
    .bind(json(&g.exec_command)?)
    .bind(i64::from(g.interactive))
    .bind(g.starts_at)
    .bind(g.expires_at)
    .bind(&g.state)
    .bind(g.ended_at)
    .bind(&g.revoked_by)
    .bind(&g.revoke_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Stores a new request in `state` (`pending`, or `approved` with its `grant` when policy
    /// approved it at once), with its audit rows.
    pub async fn insert_request(
        &self,
        r: &NewRequest,
        state: &str,
        grant: Option<&GrantRow>,
        events: &[AccessEventRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let auto = grant.is_some();
        sqlx::query(&format!(
            "INSERT INTO access_requests ({REQUEST_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, 0, $15, $16)"
        ))
        .bind(&r.id)
        .bind(&r.requester)
        .bind(&r.requester_email)
        .bind(&r.requester_name)
        .bind(&r.kube_user)
        .bind(&r.profile)
        .bind(&r.reason)
        .bind(r.duration_seconds)
        .bind(&r.pod_namespace)
        .bind(&r.pod_name)
        .bind(r.required_approvals)
        .bind(r.created_at)
        .bind(r.pending_expires_at)
        .bind(state)
        .bind(auto.then_some(r.created_at))
        .bind(auto.then_some("policy"))
        .execute(&mut *tx)
        .await?;
        if let Some(g) = grant {
            insert_grant(&mut tx, g).await?;
        }
        for e in events {
            insert_event(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One request.
    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(request_row).transpose()
    }

    /// Requests, newest first: of one requester, and/or in one state; at most `limit`.
    pub async fn requests(
        &self,
        requester: Option<&str>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests \
             WHERE ($1 IS NULL OR requester = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(requester)
        .bind(state)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(request_row).collect()
    }

    /// The reviews of a request, oldest first.
    pub async fn reviews(&self, request_id: &str) -> Result<Vec<ReviewRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT reviewer, reviewer_email, reviewer_name, verdict, comment, at \
             FROM access_reviews WHERE request_id = $1 ORDER BY at, reviewer",
        )
        .bind(request_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReviewRow {
                    reviewer: r.try_get("reviewer")?,
                    reviewer_email: r.try_get("reviewer_email")?,
                    reviewer_name: r.try_get("reviewer_name")?,
                    verdict: r.try_get("verdict")?,
                    comment: r.try_get("comment")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    /// Records an approval. When it is the `required`-th, the request becomes `approved` and
    /// `grant` is stored, in the same transaction.
    pub async fn approve_request(
        &self,
        id: &str,
        reviewer: &Reviewer<'_>,
        comment: &str,
        now: i64,
        grant: &GrantRow,
    ) -> Result<ApproveOutcome, StoreError> {
        let mut tx = self.pool().begin().await?;
        // First statement is the conditional write: it serialises concurrent reviews.
        let bumped = sqlx::query(
            "UPDATE access_requests SET approvals = approvals + 1 \
             WHERE id = $1 AND state = 'pending' AND pending_expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if bumped == 0 {
            tx.rollback().await?;
            return Ok(ApproveOutcome::NotPending(self.state_at(id, now).await?));
        }
        let seen: Option<(String,)> = sqlx::query_as(
            "SELECT verdict FROM access_reviews WHERE request_id = $1 AND reviewer = $2",
        )
        .bind(id)
        .bind(reviewer.subject)
        .fetch_optional(&mut *tx)
        .await?;
        if seen.is_some() {
            tx.rollback().await?;
            return Ok(ApproveOutcome::AlreadyReviewed);
        }
        insert_review(&mut tx, id, reviewer, "approve", comment, now).await?;
        let (approvals, required): (i64, i64) = sqlx::query_as(
            "SELECT approvals, required_approvals FROM access_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let mut event = AccessEventRow {
            at: now,
            kind: "request_reviewed".into(),
            actor: reviewer.subject.to_owned(),
            request_id: id.to_owned(),
            grant_id: None,
            reason: None,
            comment: Some(comment.to_owned()),
        };
        if approvals < required {
            insert_event(&mut tx, &event).await?;
            tx.commit().await?;
            return Ok(ApproveOutcome::Recorded { approvals });
        }
        sqlx::query(
            "UPDATE access_requests SET state = 'approved', decided_at = $2, decided_by = $3 \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(now)
        .bind(reviewer.subject)
        .execute(&mut *tx)
        .await?;
        insert_grant(&mut tx, grant).await?;
        event.kind = "request_approved".into();
        event.grant_id = Some(grant.id.clone());
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(ApproveOutcome::Granted(Box::new(grant.clone())))
    }

    /// Ends a pending request with `to` (`denied` or `cancelled`), recording a deny review
    /// when `review` is given. `None` when it was not pending; the caller re-reads the state.
    pub async fn close_request(
        &self,
        id: &str,
        to: &str,
        by: &str,
        review: Option<(&Reviewer<'_>, &str)>,
        now: i64,
        event: &AccessEventRow,
    ) -> Result<Option<()>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE access_requests SET state = $2, decided_at = $3, decided_by = $4 \
             WHERE id = $1 AND state = 'pending' AND pending_expires_at > $3",
        )
        .bind(id)
        .bind(to)
        .bind(now)
        .bind(by)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        if let Some((reviewer, comment)) = review {
            // An earlier approval by the same person is replaced by their final word.
            sqlx::query("DELETE FROM access_reviews WHERE request_id = $1 AND reviewer = $2")
                .bind(id)
                .bind(reviewer.subject)
                .execute(&mut *tx)
                .await?;
            insert_review(&mut tx, id, reviewer, "deny", comment, now).await?;
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Some(()))
    }

    /// The state of a request as of `now`: `expired` for a pending one past its deadline.
    pub async fn state_at(&self, id: &str, now: i64) -> Result<String, StoreError> {
        Ok(match self.request(id).await? {
            Some(r) if r.state == "pending" && r.new.pending_expires_at <= now => "expired".into(),
            Some(r) => r.state,
            None => "missing".into(),
        })
    }

    /// Moves every pending request past its deadline to `expired`; returns them.
    pub async fn expire_requests(&self, now: i64) -> Result<Vec<RequestRow>, StoreError> {
        let due = sqlx::query(&format!(
            "SELECT {REQUEST_COLS} FROM access_requests \
             WHERE state = 'pending' AND pending_expires_at <= $1"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut done = Vec::new();
        for row in &due {
            let r = request_row(row)?;
            let mut tx = self.pool().begin().await?;
            let moved = sqlx::query(
                "UPDATE access_requests SET state = 'expired', decided_at = $2, \
                 decided_by = 'scheduler' WHERE id = $1 AND state = 'pending'",
            )
            .bind(&r.new.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                insert_event(
                    &mut tx,
                    &scheduler_event(now, "request_expired", &r.new.id, None),
                )
                .await?;
                tx.commit().await?;
                done.push(r);
            } else {
                tx.rollback().await?;
            }
        }
        Ok(done)
    }

    /// One grant.
    pub async fn grant(&self, id: &str) -> Result<Option<GrantRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// The grant of a request, if it was approved.
    pub async fn grant_of_request(&self, request_id: &str) -> Result<Option<GrantRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLS} FROM grants WHERE request_id = $1"
        ))
        .bind(request_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// Grants, newest first: of one holder and/or in one state; at most `limit`.
    pub async fn grants(
        &self,
        subject: Option<&str>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<GrantRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {GRANT_COLS} FROM grants \
             WHERE ($1 IS NULL OR subject = $1) AND ($2 IS NULL OR state = $2) \
             ORDER BY starts_at DESC, id DESC LIMIT $3"
        ))
        .bind(subject)
        .bind(state)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(grant_row).collect()
    }

    /// Revokes an active grant. `false` when it was not active.
    pub async fn revoke_grant(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: i64,
        request_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE grants SET state = 'revoked', ended_at = $2, revoked_by = $3, \
             revoke_reason = $4 WHERE id = $1 AND state = 'active' AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .bind(reason)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let event = AccessEventRow {
            at: now,
            kind: "grant_revoked".into(),
            actor: by.to_owned(),
            request_id: request_id.to_owned(),
            grant_id: Some(id.to_owned()),
            reason: Some(reason.to_owned()),
            comment: None,
        };
        insert_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves every active grant past its end to `expired`; returns them.
    pub async fn expire_grants(&self, now: i64) -> Result<Vec<GrantRow>, StoreError> {
        let due = sqlx::query(&format!(
            "SELECT {GRANT_COLS} FROM grants WHERE state = 'active' AND expires_at <= $1"
        ))
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut done = Vec::new();
        for row in &due {
            let g = grant_row(row)?;
            let mut tx = self.pool().begin().await?;
            let moved = sqlx::query(
                "UPDATE grants SET state = 'expired', ended_at = $2 \
                 WHERE id = $1 AND state = 'active'",
            )
            .bind(&g.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 1 {
                let e = scheduler_event(now, "grant_expired", &g.request_id, Some(&g.id));
                insert_event(&mut tx, &e).await?;
                tx.commit().await?;
                done.push(g);
            } else {
                tx.rollback().await?;
            }
        }
        Ok(done)
    }

    /// Audit rows of one request (or all, newest `limit`), oldest first.
    pub async fn access_events(
        &self,
        request_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccessEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, kind, actor, request_id, grant_id, reason, comment FROM access_events \
             WHERE ($1 IS NULL OR request_id = $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(request_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(AccessEventRow {
                    at: r.try_get("at")?,
                    kind: r.try_get("kind")?,
                    actor: r.try_get("actor")?,
                    request_id: r.try_get("request_id")?,
                    grant_id: r.try_get("grant_id")?,
                    reason: r.try_get("reason")?,
                    comment: r.try_get("comment")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }
}

async fn insert_review(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    reviewer: &Reviewer<'_>,
    verdict: &str,
    comment: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_reviews (request_id, reviewer, reviewer_email, reviewer_name, \
         verdict, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(reviewer.subject)
    .bind(reviewer.email)
    .bind(reviewer.name)
    .bind(verdict)
    .bind(comment)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn scheduler_event(
    now: i64,
    kind: &str,
    request_id: &str,
    grant_id: Option<&str>,
) -> AccessEventRow {
    AccessEventRow {
        at: now,
        kind: kind.into(),
        actor: "scheduler".into(),
        request_id: request_id.to_owned(),
        grant_id: grant_id.map(str::to_owned),
        reason: None,
        comment: None,
    }
}
