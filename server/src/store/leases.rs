//! What the access re-check (`access::lease`) asks the database about open streams, in
//! batches: the state of their grants, whether their web sessions still exist, and moving the
//! idle deadline of web sessions that hold an open terminal.

use keyhole_protocol::access::GrantState;
use sqlx::Row;

use super::{Store, StoreError};

/// How many ids one query carries.
const BATCH: usize = 500;

/// A grant's state as the re-check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStatus {
    /// Grant id.
    pub id: String,
    /// Holder (IdP subject).
    pub subject: String,
    /// The stored state, parsed; `None` for a value this version does not know (the
    /// re-check then ends the lease as unverifiable: fail closed).
    pub state: Option<GrantState>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// Who revoked it (IdP subject).
    pub revoked_by: Option<String>,
}

/// `$first, $first+1, …` for `n` ids.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The states of these grants (missing ids are simply absent).
    pub async fn grant_statuses(&self, ids: &[String]) -> Result<Vec<GrantStatus>, StoreError> {
        let _timer = self.metrics().db_timer("lease_grant_statuses");
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let sql = format!(
                "SELECT id, subject, state, expires_at, revoke_reason, revoked_by FROM grants \
                 WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(self.pool()).await? {
                out.push(GrantStatus {
                    id: row.try_get("id")?,
                    subject: row.try_get("subject")?,
                    state: GrantState::parse(&row.try_get::<String, _>("state")?),
                    expires_at: row.try_get("expires_at")?,
                    revoke_reason: row.try_get("revoke_reason")?,
                    revoked_by: row.try_get("revoked_by")?,
                });
            }
        }
        Ok(out)
    }

    /// Which of these web sessions (tower-sessions record ids) still exist and have not
    /// reached their expiry at `now`.
    pub async fn live_web_sessions(
        &self,
        ids: &[String],
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let _timer = self.metrics().db_timer("lease_live_web_sessions");
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let sql = format!(
                "SELECT id FROM web_sessions WHERE expiry_date > $1 AND id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(now);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(self.pool()).await? {
                out.push(row.try_get("id")?);
            }
        }
        Ok(out)
    }

    /// Moves the expiry of these live web sessions to `until` (never backwards): an open
    /// terminal is activity, so its web session does not reach the idle timeout under it.
    pub async fn touch_web_sessions(
        &self,
        ids: &[String],
        now: i64,
        until: i64,
    ) -> Result<(), StoreError> {
        let _timer = self.metrics().db_timer("lease_touch_web_sessions");
        for chunk in ids.chunks(BATCH) {
            let sql = format!(
                "UPDATE web_sessions SET expiry_date = $1 WHERE expiry_date > $2 \
                 AND expiry_date < $1 AND id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(until).bind(now);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(self.pool()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_from_first() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
    }
}
