//! `GET /api/terminal-sessions?scope=mine|all&state=open|any&cursor=…&limit=…`: one page of terminal
//! sessions, newest first (100 by default, at most 500; `next_cursor` names the next page).
//! `mine` (default): the caller's own. `all`: every session the caller oversees, by the
//! same rule as requests and grants (their own, approvers of the grant's profile, auditors,
//! admins), applied in the query so a page is never cut short by sessions the caller may not
//! see; for a caller who oversees nobody it is a 403, as for `GET /api/grants?scope=active`.
//! `state=open` keeps the sessions that have not ended.

use axum::Json;
use axum::extract::{Query, State};
use keyhole_protocol::access::{GrantState, Page, Person};
use keyhole_protocol::api::Role;
use keyhole_protocol::terminal::SessionInfo;
use serde::Deserialize;

use crate::access::{Access, PageQuery};
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{ListFilter, SessionListRow, Visible, now_unix};

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionsQuery {
    scope: Option<String>,
    state: Option<String>,
    /// `scope=all` only: one user's sessions (IdP subject), e.g. a reviewer's context.
    user: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Rows per page (1–500, default 100).
    limit: Option<String>,
}

pub(super) async fn list_terminal_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SessionsQuery>,
) -> AppResult<Json<Page<SessionInfo>>> {
    let all = match q.scope.as_deref().unwrap_or("mine") {
        "mine" => false,
        "all" => true,
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown scope `{other}`: use mine or all"
            )));
        }
    };
    let open_only = match q.state.as_deref().unwrap_or("any") {
        "any" => false,
        "open" => true,
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown state `{other}`: use open or any"
            )));
        }
    };
    if q.user.is_some() && !all {
        return Err(AppError::BadRequest("user= goes with scope=all".into()));
    }
    if all && !state.access.oversees_any(&caller) {
        return Err(AppError::Forbidden(
            "only approvers, auditors and admins see other people's sessions".into(),
        ));
    }
    let list = match (all, open_only) {
        (false, false) => "sessions:mine",
        (false, true) => "sessions:mine:open",
        (true, false) => "sessions:all",
        (true, true) => "sessions:all:open",
    };
    let page = PageQuery::parse(list, q.cursor.as_deref(), q.limit.as_deref())
        .map_err(AppError::BadRequest)?;
    // Their own, plus (for `all`) the profiles they approve; auditors and admins see all.
    let approvable = state.access.approvable_profile_names(&caller);
    let overseer = caller.has(Role::Auditor) || caller.has(Role::Admin);
    let filter = ListFilter {
        owner: if all {
            q.user.as_deref()
        } else {
            Some(caller.subject.as_str())
        },
        visible: (all && !overseer).then_some(Visible {
            own: Some(&caller.subject),
            profiles: &approvable,
        }),
        open_only,
        ..Default::default()
    };
    let rows = state
        .store
        .terminal_session_page(&filter, page.after(), page.fetch_limit())
        .await
        .map_err(AppError::internal)?;
    let now = now_unix();
    let page = page.finish(
        rows,
        |r| (r.session.started_at, r.session.id.as_str()),
        |r| Ok::<_, AppError>(session_info(&state.access, &caller, r, now)),
    )?;
    Ok(Json(page))
}

/// A stored row as the caller sees it.
fn session_info(access: &Access, caller: &Caller, r: SessionListRow, now: i64) -> SessionInfo {
    let grant_active = r.grant_state == GrantState::Active && r.grant_expires_at > now;
    let live = r.session.ended_at.is_none() && grant_active;
    let s = r.session;
    SessionInfo {
        can_revoke: live && access.may_revoke_profile(caller, &r.profile),
        user: Person {
            subject: s.subject,
            email: r.holder_email,
            name: r.holder_name,
        },
        id: s.id,
        kube_user: s.kube_user,
        grant_id: s.grant_id,
        request_id: r.request_id,
        profile: r.profile,
        namespace: s.namespace,
        pod: s.pod,
        container: s.container,
        started_at: s.started_at,
        ended_at: s.ended_at,
        end_reason: s.end_reason,
        bytes_in: s.bytes_in.max(0) as u64,
        bytes_out: s.bytes_out.max(0) as u64,
        live,
    }
}
