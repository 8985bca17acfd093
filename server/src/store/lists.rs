//! The list queries behind the paged API lists (`GET /api/requests`, `/api/grants`,
//! `/api/terminal-sessions`): every filter, including *who may see the row*, is in the SQL, before the
//! `LIMIT`, so a page is never cut short by rows the caller may not see; and pages are keyset
//! pages, ordered by a stable key (time, then id, both descending) and continued after the last
//! key of the previous page, so paging returns every row exactly once even while rows are added.

use super::access::{GRANT_COLS, REQUEST_COLS, grant_row, request_row};
use super::{RequestRow, SessionListRow, Store, StoreError};
use crate::domain::Grant;

/// Which rows of a list. Every field that is set must hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter<'a> {
    /// Only the rows of this IdP subject (requester, grant holder, terminal user).
    pub owner: Option<&'a str>,
    /// Only rows in this state (`pending` for requests, `active` for grants).
    pub state: Option<&'a str>,
    /// Only rows whose deadline is after this time: a pending request's `pending_expires_at`,
    /// a grant's `expires_at` (so "pending" and "active" mean *still* pending or active).
    pub live_at: Option<i64>,
    /// Only the rows the viewer may see (`None`: no restriction, for auditors and admins).
    pub visible: Option<Visible<'a>>,
    /// Terminal sessions only: only the unfinished ones.
    pub open_only: bool,
}

/// The rows a viewer may see: those of `profiles`, and (when `own` is set) their own.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a> {
    /// The viewer's subject: their own rows are visible whatever the profile.
    pub own: Option<&'a str>,
    /// Profiles whose rows the viewer may see (the ones they approve).
    pub profiles: &'a [String],
}

/// Continue after this key: (time, id) of the last row of the previous page.
pub type After<'a> = Option<(i64, &'a str)>;

enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// A `WHERE` clause built from parts, with its arguments numbered as they are added.
#[derive(Default)]
struct Where<'a> {
    clauses: Vec<String>,
    args: Vec<Arg<'a>>,
}

impl<'a> Where<'a> {
    fn arg(&mut self, a: Arg<'a>) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    fn text(&mut self, v: &'a str) -> String {
        self.arg(Arg::Text(v))
    }

    fn int(&mut self, v: i64) -> String {
        self.arg(Arg::Int(v))
    }

    fn and(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// `col IN (…)`; an empty list matches nothing.
    fn any_of(&mut self, col: &str, values: &'a [String]) -> String {
        if values.is_empty() {
            return "1 = 0".into();
        }
        let marks: Vec<String> = values.iter().map(|v| self.text(v)).collect();
        format!("{col} IN ({})", marks.join(", "))
    }

    /// The common filters; `cols` = (owner, state, deadline, profile, time, id) column names.
    fn common(&mut self, f: &ListFilter<'a>, after: After<'a>, cols: [&str; 6]) {
        let [owner, state, deadline, profile, time, id] = cols;
        if let Some(o) = f.owner {
            let m = self.text(o);
            self.and(format!("{owner} = {m}"));
        }
        if let Some(s) = f.state {
            let m = self.text(s);
            self.and(format!("{state} = {m}"));
        }
        if let Some(t) = f.live_at {
            let m = self.int(t);
            self.and(format!("{deadline} > {m}"));
        }
        if let Some(v) = f.visible {
            let of_profiles = self.any_of(profile, v.profiles);
            match v.own {
                Some(me) => {
                    let m = self.text(me);
                    self.and(format!("({owner} = {m} OR {of_profiles})"));
                }
                None => self.and(of_profiles),
            }
        }
        if let Some((at, key)) = after {
            let (a, b, k) = (self.int(at), self.int(at), self.text(key));
            self.and(format!("({time} < {a} OR ({time} = {b} AND {id} < {k}))"));
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(*s),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

impl Store {
    /// One page of requests, newest first (`created_at`, then `id`, descending): at most
    /// `limit` rows after `after`.
    pub async fn request_page(
        &self,
        f: &ListFilter<'_>,
        after: After<'_>,
        limit: i64,
    ) -> Result<Vec<RequestRow>, StoreError> {
        let mut w = Where::default();
        w.common(
            f,
            after,
            [
                "requester",
                "state",
                "pending_expires_at",
                "profile",
                "created_at",
                "id",
            ],
        );
        let lim = w.int(limit);
        let sql = format!(
            "SELECT {REQUEST_COLS} FROM access_requests {} \
             ORDER BY created_at DESC, id DESC LIMIT {lim}",
            w.sql()
        );
        let rows = bind_all!(sqlx::query(&sql), &w.args)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(request_row).collect()
    }

    /// One page of grants, newest first (`starts_at`, then `id`, descending).
    pub async fn grant_page(
        &self,
        f: &ListFilter<'_>,
        after: After<'_>,
        limit: i64,
    ) -> Result<Vec<Grant>, StoreError> {
        let mut w = Where::default();
        w.common(
            f,
            after,
            [
                "subject",
                "state",
                "expires_at",
                "profile",
                "starts_at",
                "id",
            ],
        );
        let lim = w.int(limit);
        let sql = format!(
            "SELECT {GRANT_COLS} FROM grants {} ORDER BY starts_at DESC, id DESC LIMIT {lim}",
            w.sql()
        );
        let rows = bind_all!(sqlx::query(&sql), &w.args)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(grant_row).collect()
    }

    /// One page of terminal sessions with their grant's profile, state and holder, newest
    /// first (`started_at`, then `id`, descending). `state` and `live_at` are not used.
    pub async fn terminal_session_page(
        &self,
        f: &ListFilter<'_>,
        after: After<'_>,
        limit: i64,
    ) -> Result<Vec<SessionListRow>, StoreError> {
        let filter = ListFilter {
            state: None,
            live_at: None,
            ..*f
        };
        let mut w = Where::default();
        w.common(
            &filter,
            after,
            ["s.subject", "", "", "g.profile", "s.started_at", "s.id"],
        );
        if f.open_only {
            w.and("s.ended_at IS NULL".into());
        }
        let lim = w.int(limit);
        let sql = format!(
            "SELECT s.id, s.subject, s.kube_user, s.grant_id, s.namespace, s.pod, s.container, \
             s.started_at, s.ended_at, s.end_reason, s.bytes_in, s.bytes_out, \
             g.profile, g.request_id, g.state AS grant_state, g.expires_at AS grant_expires_at, \
             g.holder_name, g.holder_email \
             FROM terminal_sessions s JOIN grants g ON g.id = s.grant_id {} \
             ORDER BY s.started_at DESC, s.id DESC LIMIT {lim}",
            w.sql()
        );
        let rows: Vec<SessionListRow> = bind_all!(sqlx::query_as(&sql), &w.args)
            .fetch_all(self.pool())
            .await?;
        Ok(rows)
    }
}
