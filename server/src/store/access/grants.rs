//! Grants (read, list, revoke, expire) and the audit rows of access transitions.

use sqlx::Row;

use crate::domain::Grant;
use keyhole_protocol::access::AccessEventKind;

use super::super::{Store, StoreError};
use super::{AccessEventRow, GRANT_COLS, grant_row, insert_event, scheduler_event};

impl Store {
    /// One grant.
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(&format!("SELECT {GRANT_COLS} FROM grants WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// The grant of a request, if it was approved.
    pub async fn grant_of_request(&self, request_id: &str) -> Result<Option<Grant>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLS} FROM grants WHERE request_id = $1"
        ))
        .bind(request_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(grant_row).transpose()
    }

    /// Revokes an active grant. `false` when it was not active. `notify` (channel, payload)
    /// is sent inside the same transaction (PostgreSQL), so other replicas hear of the
    /// revocation exactly when it commits.
    pub async fn revoke_grant(
        &self,
        id: &str,
        by: &str,
        reason: &str,
        now: i64,
        request_id: &str,
        notify: Option<(&str, &str)>,
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
            kind: AccessEventKind::GrantRevoked,
            actor: by.to_owned(),
            request_id: request_id.to_owned(),
            grant_id: Some(id.to_owned()),
            reason: Some(reason.to_owned()),
            comment: None,
        };
        insert_event(&mut tx, &event).await?;
        self.notify_in(&mut tx, notify).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves every active grant past its end to `expired`; returns them. For each, the
    /// notification `notify(grant)` (channel, payload) is sent inside its transaction.
    pub async fn expire_grants(
        &self,
        now: i64,
        notify: impl Fn(&Grant) -> Option<(String, String)>,
    ) -> Result<Vec<Grant>, StoreError> {
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
                let e = scheduler_event(
                    now,
                    AccessEventKind::GrantExpired,
                    &g.request_id,
                    Some(&g.id),
                );
                insert_event(&mut tx, &e).await?;
                let n = notify(&g);
                self.notify_in(&mut tx, n.as_ref().map(|(c, p)| (c.as_str(), p.as_str())))
                    .await?;
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
                    kind: {
                        let kind: String = r.try_get("kind")?;
                        AccessEventKind::parse(&kind).ok_or_else(|| {
                            StoreError::Corrupt(format!("access event kind {kind:?}"))
                        })?
                    },
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
