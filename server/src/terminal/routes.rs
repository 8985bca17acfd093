//! HTTP routes of the terminal module:
//! - `GET /api/grants/{grant}/pods`: the pods the grant covers;
//! - `GET /api/grants/{grant}/pods/{ns}/{pod}/logs?container=&follow=&tail=`: a log stream
//!   (`text/plain`, chunked; ends when the grant ends);
//! - `GET /api/grants/{grant}/pods/{ns}/{pod}/terminal?container=&cols=&rows=`: the terminal
//!   WebSocket. Session, Origin, grant, capability and pod are all checked **before** the
//!   upgrade (a refusal is a plain 4xx JSON response, never a 101), and the exec is opened
//!   before the upgrade too, so a Kubernetes denial is also a clear HTTP error;
//! - `GET /api/terminal-sessions?scope=&state=`: terminal sessions (`list.rs`).

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{AsyncReadExt, StreamExt};
use keyhole_protocol::terminal::{GrantPods, MAX_CLIENT_FRAME, ServerMsg};
use kube::api::LogParams;
use serde::Deserialize;

use super::check::{covered_pod, kube_error, pick_container, require_capability};
use super::start::{StartRequest, start_session};
use crate::access::LeaseSpec;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::http::security::require_origin;
use crate::policy::Capability;
use crate::state::AppState;

/// The terminal module's API routes (nested under `/api`).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/grants/{grant}/pods", get(list_pods))
        .route("/grants/{grant}/pods/{ns}/{pod}/logs", get(logs))
        .route("/grants/{grant}/pods/{ns}/{pod}/terminal", get(terminal))
        .route(
            "/terminal-sessions",
            get(super::list::list_terminal_sessions),
        )
}

async fn list_pods(
    State(state): State<AppState>,
    caller: Caller,
    Path(grant_id): Path<String>,
) -> AppResult<Json<GrantPods>> {
    let grant = state
        .access
        .active_grant(&grant_id, &caller.subject)
        .await?;
    let request_id = format!("list-{}", uuid::Uuid::new_v4());
    let kube = state
        .terminal
        .kube
        .for_grant(&grant, &request_id)
        .map_err(AppError::internal)?;
    let pods = kube
        .list_pods(&grant)
        .await
        .map_err(|e| kube_error(&grant, e))?;
    Ok(Json(GrantPods {
        grant_id: grant.id,
        profile: grant.profile,
        expires_at: grant.expires_at,
        kube_user: grant.kube_user,
        pods,
    }))
}

/// Query of the logs route.
#[derive(Debug, Deserialize)]
struct LogsQuery {
    container: Option<String>,
    #[serde(default)]
    follow: bool,
    tail: Option<i64>,
}

async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path((grant_id, ns, pod)): Path<(String, String, String)>,
    Query(q): Query<LogsQuery>,
) -> AppResult<Response> {
    // Taken before the check, so a revocation between check and stream is not missed.
    let mut lease = state.access.lease(stream_lease(&caller, &grant_id, true));
    let grant = state
        .access
        .active_grant(&grant_id, &caller.subject)
        .await?;
    require_capability(&grant, Capability::Logs)?;
    let request_id = format!("logs-{}", uuid::Uuid::new_v4());
    let kube = state
        .terminal
        .kube
        .for_grant(&grant, &request_id)
        .map_err(AppError::internal)?;
    let summary = covered_pod(&grant, &kube, &ns, &pod).await?;
    let container = pick_container(&summary, q.container.as_deref())?;
    let params = LogParams {
        container: Some(container),
        follow: q.follow,
        tail_lines: q.tail.filter(|t| *t > 0),
        ..Default::default()
    };
    let reader = kube
        .log_stream(&ns, &pod, &params)
        .await
        .map_err(|e| kube_error(&grant, e))?;
    let chunks = futures::stream::unfold(Box::pin(reader), |mut r| async move {
        let mut buf = vec![0u8; 8 * 1024];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), r))
            }
        }
    });
    // A followed log must stop when the grant ends, like a terminal.
    let expires = crate::store::instant_of_unix(grant.expires_at);
    let end = async move {
        tokio::select! {
            _ = lease.ended() => {}
            () = tokio::time::sleep_until(expires.into()) => {}
        }
    };
    let body = Body::from_stream(chunks.take_until(Box::pin(end)));
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // Let the browser render a followed log as it arrives.
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response())
}

/// Query of the terminal route.
#[derive(Debug, Deserialize)]
struct TerminalQuery {
    container: Option<String>,
    cols: Option<u16>,
    rows: Option<u16>,
}

async fn terminal(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((grant_id, ns, pod)): Path<(String, String, String)>,
    Query(q): Query<TerminalQuery>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    // A WebSocket upgrade is a GET, so the CSRF guard does not cover it: without this check
    // any site could open a shell with the user's cookie (cross-site WebSocket hijacking).
    require_origin(&headers, &state.config.public_origin())?;
    // Taken before the check, so a revocation between check and upgrade is not missed.
    let lease = state.access.lease(stream_lease(&caller, &grant_id, true));
    let grant = state
        .access
        .active_grant(&grant_id, &caller.subject)
        .await?;
    require_capability(&grant, Capability::Exec)?;
    if !grant.interactive {
        return Err(AppError::Forbidden(format!(
            "the profile {} allows only non-interactive commands (strict mode)",
            grant.profile
        )));
    }
    let session = start_session(
        &state,
        StartRequest {
            caller: &caller,
            grant,
            lease,
            namespace: &ns,
            pod: &pod,
            container: q.container.as_deref(),
            cols: q.cols.unwrap_or(80).clamp(2, 1000),
            rows: q.rows.unwrap_or(24).clamp(2, 1000),
        },
    )
    .await?;
    let ws = ws
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        // Small buffers: an idle session should cost little (see docs/performance.md).
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0);
    Ok(ws.on_upgrade(move |socket| session.run(socket)))
}

/// The lease of a stream that `caller` opens under `grant_id` from their web session;
/// an `activity` stream (a terminal, a followed log) keeps the web session from idling out
/// while it is open.
fn stream_lease(caller: &Caller, grant_id: &str, activity: bool) -> LeaseSpec {
    LeaseSpec {
        grant: Some((grant_id.to_owned(), caller.subject.clone())),
        grant_expires_at: None,
        web_session: caller.web_session_id(),
        session_ends_at: caller.session_ends_at(),
        keeps_session_alive: activity,
    }
}

/// `Hello` for a new session of `terminal`.
pub(super) fn hello(
    terminal: &super::Terminal,
    session_id: &str,
    ns: &str,
    pod: &str,
    container: &str,
    expires_at: i64,
) -> ServerMsg {
    ServerMsg::Hello {
        session_id: session_id.to_owned(),
        pod: format!("{ns}/{pod}"),
        container: container.to_owned(),
        expires_at,
        recorded: terminal.hooks.records(),
        dev_cluster: terminal.dev_cluster,
    }
}
