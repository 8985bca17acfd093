//! HTTP routes of the access broker. Each handler extracts, calls the service, maps the result;
//! the CSRF and Origin checks of every POST are the global guard's (`http::router`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use keyhole_protocol::access::{
    AccessRequest, CreateRequest, Grant, Page, PolicyView, ProfileInfo, ReviewBody, RevokeBody,
};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{AccessError, Caller, GrantScope, LeaseSpec, LiveEvent, RequestScope};
use crate::auth::FreshCaller;
use crate::error::{AppError, AppResult, JsonBody};
use crate::policy::ReviewDenied;
use crate::state::AppState;

/// How often an idle event stream sends a keep-alive comment (proxies drop silent streams).
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The routes, to be nested under `/api`.
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/profiles", get(profiles))
        .route("/requests", get(list_requests).post(create_request))
        .route("/requests/{id}", get(get_request))
        .route("/requests/{id}/approve", post(approve))
        .route("/requests/{id}/deny", post(deny))
        .route("/requests/{id}/cancel", post(cancel))
        .route("/grants", get(list_grants))
        .route("/grants/{id}/revoke", post(revoke))
        .route("/events", get(events))
        .route("/policy", get(policy))
        .route("/openapi.json", get(openapi))
}

impl From<AccessError> for AppError {
    fn from(e: AccessError) -> Self {
        let msg = e.to_string();
        match e {
            AccessError::Invalid(_) | AccessError::Denied(_) => AppError::Unprocessable(msg),
            AccessError::UnknownProfile(_)
            | AccessError::RequestNotFound
            | AccessError::GrantNotFound
            | AccessError::Review(ReviewDenied::UnknownProfile) => AppError::NotFound(msg),
            AccessError::Forbidden(_) | AccessError::Review(_) => AppError::Forbidden(msg),
            AccessError::AlreadyReviewed
            | AccessError::NotPending(_)
            | AccessError::GrantNotActive(_) => AppError::Conflict(msg),
            AccessError::Store(e) => AppError::internal(e),
        }
    }
}

#[derive(Deserialize)]
struct ScopeQuery {
    scope: Option<String>,
    /// `scope=visible` only: one requester's requests (IdP subject).
    requester: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Rows per page (1–500, default 100).
    limit: Option<String>,
}

impl ScopeQuery {
    /// The paging part of the query, for the list `list` (a cursor is only valid there).
    fn page(&self, list: &'static str) -> AppResult<super::PageQuery> {
        super::PageQuery::parse(list, self.cursor.as_deref(), self.limit.as_deref())
            .map_err(AppError::BadRequest)
    }
}

async fn profiles(State(s): State<AppState>, caller: Caller) -> Json<Vec<ProfileInfo>> {
    Json(s.access.profiles(&caller))
}

async fn create_request(
    State(s): State<AppState>,
    FreshCaller(caller): FreshCaller,
    JsonBody(b): JsonBody<CreateRequest>,
) -> AppResult<(axum::http::StatusCode, Json<AccessRequest>)> {
    let req = s.access.create_request(&caller, &b).await?;
    Ok((axum::http::StatusCode::CREATED, Json(req)))
}

async fn list_requests(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ScopeQuery>,
) -> AppResult<Json<Page<AccessRequest>>> {
    let (scope, list) = match q.scope.as_deref().unwrap_or("mine") {
        "mine" => (RequestScope::Mine, "requests:mine"),
        "pending" => (RequestScope::Pending, "requests:pending"),
        "all" => (RequestScope::All, "requests:all"),
        "visible" => (
            RequestScope::Visible {
                requester: q.requester.clone(),
            },
            "requests:visible",
        ),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown scope `{other}`: use mine, pending, all or visible"
            )));
        }
    };
    if q.requester.is_some() && !matches!(scope, RequestScope::Visible { .. }) {
        return Err(AppError::BadRequest(
            "requester= goes with scope=visible".into(),
        ));
    }
    let page = q.page(list)?;
    Ok(Json(s.access.list_requests(&caller, scope, &page).await?))
}

async fn get_request(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<AccessRequest>> {
    Ok(Json(s.access.get_request(&caller, &id).await?))
}

async fn approve(
    State(s): State<AppState>,
    FreshCaller(caller): FreshCaller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReviewBody>,
) -> AppResult<Json<AccessRequest>> {
    Ok(Json(s.access.approve(&caller, &id, &b.comment).await?))
}

async fn deny(
    State(s): State<AppState>,
    FreshCaller(caller): FreshCaller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReviewBody>,
) -> AppResult<Json<AccessRequest>> {
    Ok(Json(s.access.deny(&caller, &id, &b.comment).await?))
}

async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> AppResult<Json<AccessRequest>> {
    Ok(Json(s.access.cancel(&caller, &id).await?))
}

async fn list_grants(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ScopeQuery>,
) -> AppResult<Json<Page<Grant>>> {
    let (scope, list) = match q.scope.as_deref().unwrap_or("mine") {
        "mine" => (GrantScope::Mine, "grants:mine"),
        "active" => (GrantScope::Active, "grants:active"),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown scope `{other}`: use mine or active"
            )));
        }
    };
    let page = q.page(list)?;
    Ok(Json(s.access.list_grants(&caller, scope, &page).await?))
}

async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RevokeBody>,
) -> AppResult<Json<Grant>> {
    Ok(Json(s.access.revoke(&caller, &id, &b.reason).await?))
}

async fn policy(State(s): State<AppState>, caller: Caller) -> AppResult<Json<PolicyView>> {
    Ok(Json(s.access.policy_view(&caller)?))
}

async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// `GET /api/events`: Server-Sent Events of the changes the caller may see. Starts with a
/// `ready` event (so a client knows it is subscribed), sends `resync` if it fell behind (the
/// client should refetch), and ends when the server shuts down or the session's absolute
/// lifetime is over.
async fn events(
    State(s): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The stream must not outlive the web session it was opened with: it ends at logout, at
    // the session's end, when the re-check finds the session gone, and at shutdown.
    let lease = s.access.lease(LeaseSpec {
        web_session: caller.web_session_id(),
        session_ends_at: caller.session_ends_at(),
        ..Default::default()
    });
    let rx = s.access.live_events();
    let access = s.access.clone();
    let ready = futures::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let live = futures::stream::unfold((rx, lease), move |(mut rx, mut lease)| {
        let (access, caller) = (access.clone(), caller.clone());
        async move {
            loop {
                let next = tokio::select! {
                    _ = lease.ended() => return None,
                    r = rx.recv() => r,
                };
                let event = match next {
                    Ok(LiveEvent::Change(ev)) if access.may_see_event(&caller, &ev) => {
                        Event::default()
                            .event(ev.kind.as_str())
                            .json_data(&ev)
                            .unwrap_or_else(|_| Event::default().event("resync").data("{}"))
                    }
                    Ok(LiveEvent::Change(_)) => continue,
                    // We (or this replica) may have missed events: the page refetches.
                    Ok(LiveEvent::Resync) | Err(RecvError::Lagged(_)) => {
                        Event::default().event("resync").data("{}")
                    }
                    Err(RecvError::Closed) => return None,
                };
                return Some((Ok(event), (rx, lease)));
            }
        }
    });
    Sse::new(futures::StreamExt::chain(ready, live))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
