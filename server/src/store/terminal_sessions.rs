//! Terminal session rows (`terminal_sessions`): one per WebSocket terminal, written when it
//! opens and completed when it ends (with the reason and the byte counts).

use keyhole_protocol::access::GrantState;
use keyhole_protocol::terminal::CloseReason;
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{Store, StoreError, now_unix};

/// A terminal session as it starts.
#[derive(Debug, Clone)]
pub struct NewTerminalSession<'a> {
    /// The session id (also in the Kubernetes audit log as `keyhole.dev/session-id`).
    pub id: &'a str,
    /// IdP subject of the user.
    pub subject: &'a str,
    /// The Kubernetes user impersonated.
    pub kube_user: &'a str,
    /// The grant it runs under.
    pub grant_id: &'a str,
    /// Pod namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub pod: &'a str,
    /// Container.
    pub container: &'a str,
}

/// A stored terminal session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalSessionRow {
    /// Session id.
    pub id: String,
    /// IdP subject.
    pub subject: String,
    /// Kubernetes user.
    pub kube_user: String,
    /// Grant id.
    pub grant_id: String,
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds; `None` while running.
    pub ended_at: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<CloseReason>,
    /// Bytes from the browser to the pod.
    pub bytes_in: i64,
    /// Bytes from the pod to the browser.
    pub bytes_out: i64,
}

impl Store {
    /// Records a session that has just started.
    pub async fn insert_terminal_session(
        &self,
        s: &NewTerminalSession<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO terminal_sessions (id, subject, kube_user, grant_id, namespace, pod, \
             container, started_at, replica) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id)
        .bind(s.subject)
        .bind(s.kube_user)
        .bind(s.grant_id)
        .bind(s.namespace)
        .bind(s.pod)
        .bind(s.container)
        .bind(now_unix())
        .bind(self.replica_id())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Completes a session row: end time, reason and byte counts.
    pub async fn end_terminal_session(
        &self,
        id: &str,
        reason: CloseReason,
        bytes_in: u64,
        bytes_out: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE terminal_sessions SET ended_at = $1, end_reason = $2, bytes_in = $3, \
             bytes_out = $4 WHERE id = $5 AND ended_at IS NULL",
        )
        .bind(now_unix())
        .bind(reason.as_str())
        .bind(bytes_in as i64)
        .bind(bytes_out as i64)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One session by id.
    pub async fn terminal_session(
        &self,
        id: &str,
    ) -> Result<Option<TerminalSessionRow>, StoreError> {
        let row: Option<TerminalSessionRow> = sqlx::query_as(
            "SELECT id, subject, kube_user, grant_id, namespace, pod, container, started_at, \
             ended_at, end_reason, bytes_in, bytes_out FROM terminal_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row)
    }
}

/// A session with what the list needs from its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionListRow {
    /// The session.
    pub session: TerminalSessionRow,
    /// The grant's profile.
    pub profile: String,
    /// The request the grant came from.
    pub request_id: String,
    /// The grant's stored state.
    pub grant_state: GrantState,
    /// The grant's end, Unix seconds.
    pub grant_expires_at: i64,
    /// The holder's display name, when known.
    pub holder_name: Option<String>,
    /// The holder's e-mail, when known.
    pub holder_email: Option<String>,
}

/// A stored name of a closed set, parsed: an unknown one is a decode error (fail closed).
fn parsed<T>(row: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> sqlx::Result<T> {
    let s: String = row.try_get(col)?;
    parse(&s).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: format!("unknown value {s:?}").into(),
    })
}

impl FromRow<'_, AnyRow> for TerminalSessionRow {
    fn from_row(r: &AnyRow) -> sqlx::Result<Self> {
        let end_reason: Option<String> = r.try_get("end_reason")?;
        Ok(TerminalSessionRow {
            id: r.try_get("id")?,
            subject: r.try_get("subject")?,
            kube_user: r.try_get("kube_user")?,
            grant_id: r.try_get("grant_id")?,
            namespace: r.try_get("namespace")?,
            pod: r.try_get("pod")?,
            container: r.try_get("container")?,
            started_at: r.try_get("started_at")?,
            ended_at: r.try_get("ended_at")?,
            end_reason: match end_reason {
                Some(_) => Some(parsed(r, "end_reason", CloseReason::parse)?),
                None => None,
            },
            bytes_in: r.try_get("bytes_in")?,
            bytes_out: r.try_get("bytes_out")?,
        })
    }
}

impl FromRow<'_, AnyRow> for SessionListRow {
    fn from_row(r: &AnyRow) -> sqlx::Result<Self> {
        Ok(SessionListRow {
            session: TerminalSessionRow::from_row(r)?,
            profile: r.try_get("profile")?,
            request_id: r.try_get("request_id")?,
            grant_state: parsed(r, "grant_state", GrantState::parse)?,
            grant_expires_at: r.try_get("grant_expires_at")?,
            holder_name: r.try_get("holder_name")?,
            holder_email: r.try_get("holder_email")?,
        })
    }
}
