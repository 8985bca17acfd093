//! Requests and reviews: create, read, approve (N-of-M), deny or cancel, expire.

use sqlx::{Any, Transaction};

use crate::domain::{Grant, RequestState};
use keyhole_protocol::access::{AccessEventKind, Verdict};

use super::super::{Store, StoreError};
use super::{
    AccessEventRow, ApproveOutcome, NewRequest, REQUEST_COLS, RequestRow, ReviewRow, Reviewer,
    insert_event, insert_grant, request_row, scheduler_event,
};
use sqlx::Row;

impl Store {
    /// Stores a new request in `state` (`pending`, or `approved` with its `grant` when policy
    /// approved it at once), with its audit rows.
    pub async fn insert_request(
        &self,
        r: &NewRequest,
        state: RequestState,
        grant: Option<&Grant>,
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
        .bind(state.as_str())
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

    /// The reviews of a request, oldest first.
    pub async fn reviews(&self, request_id: &str) -> Result<Vec<ReviewRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT reviewer, reviewer_email, reviewer_name, reviewer_kube_user, verdict, \
             comment, at FROM access_reviews WHERE request_id = $1 ORDER BY at, reviewer",
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
                    reviewer_kube_user: r.try_get("reviewer_kube_user")?,
                    verdict: parse_verdict(&r.try_get::<String, _>("verdict")?)?,
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
        grant: &Grant,
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
            return Ok(ApproveOutcome::NotPending(
                self.request_state_at(id, now).await?,
            ));
        }
        // Distinct people: neither the same subject nor the same Kubernetes user name
        // (what the cluster's audit log will name) may count twice.
        let seen: Option<(String,)> = sqlx::query_as(
            "SELECT verdict FROM access_reviews WHERE request_id = $1 \
             AND (reviewer = $2 OR reviewer_kube_user = $3) LIMIT 1",
        )
        .bind(id)
        .bind(reviewer.subject)
        .bind(reviewer.kube_user)
        .fetch_optional(&mut *tx)
        .await?;
        if seen.is_some() {
            tx.rollback().await?;
            return Ok(ApproveOutcome::AlreadyReviewed);
        }
        insert_review(&mut tx, id, reviewer, Verdict::Approve, comment, now).await?;
        let (approvals, required): (i64, i64) = sqlx::query_as(
            "SELECT approvals, required_approvals FROM access_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let mut event = AccessEventRow {
            at: now,
            kind: AccessEventKind::RequestReviewed,
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
        event.kind = AccessEventKind::RequestApproved;
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
        to: RequestState,
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
        .bind(to.as_str())
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
            sqlx::query(
                "DELETE FROM access_reviews WHERE request_id = $1 \
                 AND (reviewer = $2 OR reviewer_kube_user = $3)",
            )
            .bind(id)
            .bind(reviewer.subject)
            .bind(reviewer.kube_user)
            .execute(&mut *tx)
            .await?;
            insert_review(&mut tx, id, reviewer, Verdict::Deny, comment, now).await?;
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Some(()))
    }

    /// The state of a request as of `now`: `expired` for a pending one past its deadline.
    pub async fn request_state_at(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<RequestState>, StoreError> {
        Ok(self.request(id).await?.map(|r| r.state_at(now)))
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
                    &scheduler_event(now, AccessEventKind::RequestExpired, &r.new.id, None),
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
}

async fn insert_review(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    reviewer: &Reviewer<'_>,
    verdict: Verdict,
    comment: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO access_reviews (request_id, reviewer, reviewer_email, reviewer_name, \
         verdict, comment, at, reviewer_kube_user) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(reviewer.subject)
    .bind(reviewer.email)
    .bind(reviewer.name)
    .bind(verdict_str(verdict))
    .bind(comment)
    .bind(now)
    .bind(reviewer.kube_user)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored spelling of a verdict.
fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Approve => "approve",
        Verdict::Deny => "deny",
    }
}

/// A stored verdict; an unknown one is `Corrupt`.
fn parse_verdict(s: &str) -> Result<Verdict, StoreError> {
    match s {
        "approve" => Ok(Verdict::Approve),
        "deny" => Ok(Verdict::Deny),
        other => Err(StoreError::Corrupt(format!("review verdict {other:?}"))),
    }
}
