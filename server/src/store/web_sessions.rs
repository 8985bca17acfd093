//! A `tower-sessions` store over our database, so sessions survive a restart
//! and are shared by every replica.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

use super::{Store, now_unix};

/// `tower_sessions::SessionStore` backed by the `web_sessions` table.
#[derive(Clone, Debug)]
pub struct WebSessionStore {
    store: Store,
}

impl WebSessionStore {
    /// Wraps the store.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl session_store::SessionStore for WebSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128-bit random; on the astronomically unlikely collision,
        // draw again rather than overwrite someone else's session.
        loop {
            let data = serde_json::to_string(&record.data).map_err(backend)?;
            let inserted = sqlx::query(
                "INSERT INTO web_sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a live record only. `tower-sessions` calls `save` for sessions it loaded (new
    /// ones go through `create`), so a record that was deleted meanwhile (logout in another
    /// tab, expiry) stays deleted: a request that loaded it just before cannot bring it back
    /// by re-saving it (the sliding idle timeout re-saves sessions on activity).
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        sqlx::query(
            "UPDATE web_sessions SET data = $2, expiry_date = $3 WHERE id = $1 AND expiry_date > $4",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .bind(now_unix())
        .execute(self.store.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expiry_date FROM web_sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(id.to_string())
        .bind(now_unix())
        .fetch_optional(self.store.pool())
        .await
        .map_err(backend)?;
        let Some((data, expiry)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(backend)?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expiry).map_err(backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for WebSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE expiry_date <= $1")
            .bind(now_unix())
            .execute(self.store.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl WebSessionStore {
    /// Removes expired web sessions every five minutes, until the task is aborted.
    pub fn spawn_expired_deletion(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
            loop {
                tick.tick().await;
                if let Err(e) = self.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired web sessions failed");
                }
            }
        })
    }
}
