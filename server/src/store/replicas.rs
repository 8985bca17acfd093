//! Which gateway process serves which terminal session, so that sessions a process left open
//! when it died are closed by someone (`gateway_lost`), on SQLite and PostgreSQL alike.
//!
//! Every process registers a row in `replicas` at start ([`Store::register_replica`]) and
//! refreshes `last_seen` on the access re-check timer ([`Store::replica_heartbeat`]). A session
//! row carries the id of the process that opened it. [`Store::end_lost_terminal_sessions`]
//! closes every open row whose process has not been seen for a while (or that predates this
//! bookkeeping); at a clean stop, [`Store::end_own_terminal_sessions`] closes this process's
//! own rows with `server_shutdown`.

use super::{Store, StoreError};

impl Store {
    /// Registers this process (idempotent).
    pub async fn register_replica(&self, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO replicas (id, started_at, last_seen) VALUES ($1, $2, $2) \
             ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
        )
        .bind(self.replica_id())
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks this process alive at `now` (re-registering it if another replica removed it as
    /// stale, e.g. after a long database outage).
    pub async fn replica_heartbeat(&self, now: i64) -> Result<(), StoreError> {
        self.register_replica(now).await
    }

    /// Closes open terminal sessions whose process was last seen before `stale_before` (or is
    /// unknown) with reason `gateway_lost`, and forgets such processes; returns how many
    /// sessions were closed.
    pub async fn end_lost_terminal_sessions(
        &self,
        now: i64,
        stale_before: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE terminal_sessions SET ended_at = $1, end_reason = 'gateway_lost' \
             WHERE ended_at IS NULL AND (replica IS NULL OR replica NOT IN \
             (SELECT id FROM replicas WHERE last_seen >= $2))",
        )
        .bind(now)
        .bind(stale_before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM replicas WHERE last_seen < $1")
            .bind(stale_before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Closes every session this process still has open (a clean stop), with `reason`.
    pub async fn end_own_terminal_sessions(
        &self,
        now: i64,
        reason: keyhole_protocol::terminal::CloseReason,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE terminal_sessions SET ended_at = $1, end_reason = $2 \
             WHERE ended_at IS NULL AND replica = $3",
        )
        .bind(now)
        .bind(reason.as_str())
        .bind(self.replica_id())
        .execute(self.pool())
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM replicas WHERE id = $1")
            .bind(self.replica_id())
            .execute(self.pool())
            .await?;
        Ok(done)
    }
}
