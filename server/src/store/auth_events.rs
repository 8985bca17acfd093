//! Authentication events (login succeeded/failed, logout), stored until the
//! audit chain takes them over.

use super::{Store, StoreError, now_unix};

/// One authentication event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    /// Unix seconds.
    pub at: i64,
    /// `login_succeeded`, `login_failed` or `logout`.
    pub kind: String,
    /// The IdP subject, when known.
    pub subject: Option<String>,
    /// Human-readable detail (never a token or secret).
    pub detail: String,
}

impl Store {
    /// Appends an authentication event.
    pub async fn record_auth_event(
        &self,
        kind: &str,
        subject: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO auth_events (at, kind, subject, detail) VALUES ($1, $2, $3, $4)")
            .bind(now_unix())
            .bind(kind)
            .bind(subject)
            .bind(detail)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest `limit` authentication events, newest first.
    pub async fn auth_events(&self, limit: i64) -> Result<Vec<AuthEvent>, StoreError> {
        let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT at, kind, subject, detail FROM auth_events ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, subject, detail)| AuthEvent {
                at,
                kind,
                subject,
                detail,
            })
            .collect())
    }

    /// Remembers a user's display data at login.
    pub async fn upsert_user(
        &self,
        subject: &str,
        email: Option<&str>,
        name: Option<&str>,
        groups: &[String],
    ) -> Result<(), StoreError> {
        let groups_json =
            serde_json::to_string(groups).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO users (subject, email, name, groups_json, last_login) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subject) DO UPDATE SET email = excluded.email, name = excluded.name, \
             groups_json = excluded.groups_json, last_login = excluded.last_login",
        )
        .bind(subject)
        .bind(email)
        .bind(name)
        .bind(groups_json)
        .bind(now_unix())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
