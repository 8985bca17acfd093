//! Notifications between replicas over PostgreSQL `LISTEN`/`NOTIFY`. SQLite has no such
//! thing and needs none: a SQLite database has exactly one Keyhole process.
//!
//! `NOTIFY` is delivered to every listening connection (including our own) once the sending
//! transaction commits; payloads are limited to 8,000 bytes. A listener whose connection
//! drops reconnects, but whatever was sent meanwhile is lost: [`Listener::recv`] reports
//! that as `Ok(None)` so the caller can re-check what it holds.

use sqlx::postgres::PgListener;

use super::{Store, StoreError};

/// The largest payload PostgreSQL accepts (bytes, less than its 8,000 limit for safety).
pub const MAX_PAYLOAD: usize = 7_900;

/// A `LISTEN` connection on one channel.
pub struct Listener {
    inner: PgListener,
}

impl Store {
    /// Whether other replicas can be reached (PostgreSQL).
    pub fn supports_notify(&self) -> bool {
        self.listen_url.is_some()
    }

    /// Sends `payload` on `channel` to every listener (a no-op on SQLite).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<(), StoreError> {
        if !self.supports_notify() {
            return Ok(());
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sends `payload` on `channel` inside the transaction `conn` is in: PostgreSQL delivers
    /// it when (and only if) the transaction commits. A no-op on SQLite.
    pub(crate) async fn notify_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        notify: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let Some((channel, payload)) = notify.filter(|_| self.supports_notify()) else {
            return Ok(());
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Opens a dedicated connection listening on `channel`; `None` on SQLite.
    pub async fn listen(&self, channel: &str) -> Result<Option<Listener>, StoreError> {
        let Some(url) = &self.listen_url else {
            return Ok(None);
        };
        let mut inner = PgListener::connect(url).await?;
        inner.listen(channel).await?;
        Ok(Some(Listener { inner }))
    }
}

impl Listener {
    /// The next payload; `Ok(None)` when the connection was lost (and will be re-opened by the
    /// next call): notifications may have been missed. `Err` when reconnecting failed.
    pub async fn recv(&mut self) -> Result<Option<String>, StoreError> {
        Ok(self.inner.try_recv().await?.map(|n| n.payload().to_owned()))
    }
}
