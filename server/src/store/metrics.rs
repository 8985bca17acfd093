//! The store's part in metrics: the handle its queries are timed with, and the counts that
//! `/metrics` reports at scrape time (`keyhole_grants_active`, `keyhole_requests{state}`).
//! Portable SQL, like the rest of the store.

use sqlx::Row;

use super::{Store, StoreError};
use crate::metrics::Metrics;

impl Store {
    /// This store, timing its queries into `metrics` (the server's registry).
    pub fn with_metrics(mut self, metrics: Metrics) -> Store {
        self.metrics = metrics;
        self
    }

    /// The server's metrics (a registry of its own for a store opened without them).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Grants that are active and not past their end at `now` (what `active_grant` accepts).
    pub async fn count_active_grants(&self, now: i64) -> Result<i64, StoreError> {
        let _timer = self.metrics.db_timer("count_active_grants");
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM grants WHERE state = 'active' AND expires_at > $1",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        Ok(n)
    }

    /// The number of access requests in each state at `now`; a pending request past its
    /// deadline counts as expired (as every read of it does), whether or not the scheduler has
    /// marked it yet. States without requests are absent.
    pub async fn count_requests_by_state(
        &self,
        now: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let _timer = self.metrics.db_timer("count_requests_by_state");
        let rows = sqlx::query(
            "SELECT CASE WHEN state = 'pending' AND pending_expires_at <= $1 THEN 'expired' \
             ELSE state END AS s, COUNT(*) AS n FROM access_requests GROUP BY 1",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in rows {
            counts.push((row.try_get("s")?, row.try_get("n")?));
        }
        Ok(counts)
    }
}
