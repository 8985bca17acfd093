//! Authentication events (login succeeded/failed, logout), stored until the
//! audit chain takes them over.

use super::{Store, StoreError, now_unix};

/// What happened at sign-in or sign-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEventKind {
    /// A user signed in.
    LoginSucceeded,
    /// A callback with a valid `state` failed (the detail says why).
    LoginFailed,
    /// A user signed out.
    Logout,
}

impl AuthEventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
        }
    }

    /// The kind stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::LoginSucceeded, Self::LoginFailed, Self::Logout]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One authentication event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    /// Unix seconds.
    pub at: i64,
    /// What happened.
    pub kind: AuthEventKind,
    /// The IdP subject, when known.
    pub subject: Option<String>,
    /// Human-readable detail (never a token or secret).
    pub detail: String,
}

impl Store {
    /// Appends an authentication event.
    pub async fn record_auth_event(
        &self,
        kind: AuthEventKind,
        subject: Option<&str>,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO auth_events (at, kind, subject, detail) VALUES ($1, $2, $3, $4)")
            .bind(now_unix())
            .bind(kind.as_str())
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
        rows.into_iter()
            .map(|(at, kind, subject, detail)| {
                Ok(AuthEvent {
                    at,
                    kind: AuthEventKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("auth event kind {kind:?}")))?,
                    subject,
                    detail,
                })
            })
            .collect()
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

    /// A user's e-mail and name from their last sign-in (`None`: never seen).
    pub async fn user_display(
        &self,
        subject: &str,
    ) -> Result<Option<(Option<String>, Option<String>)>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT email, name FROM users WHERE subject = $1")
                .bind(subject)
                .fetch_optional(self.pool())
                .await?;
        Ok(row)
    }
}
