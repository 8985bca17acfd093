//! Streaming subresources: `exec` and `attach` (WebSocket, v5/v4 channel protocol), `log`
//! (plain or followed), and explicit refusals for what devstack does not do (SPDY,
//! portforward, ephemeral containers) so clients print a clear reason.

use axum::body::Body;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;

use super::AppState;
use super::status::ApiError;
use crate::cluster::{Container, Pod};
use crate::exec::frame::{Protocol, StreamParams};
use crate::exec::{process, session};
use crate::logs::{self, LogRequest};

/// Largest WebSocket message accepted from a client (stdin chunks are far smaller).
const MAX_MESSAGE: usize = 1 << 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exec,
    Attach,
}

/// `GET …/exec` (WebSocket).
pub async fn exec(
    state: State<AppState>,
    path: Path<(String, String)>,
    query: RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    stream(state, path, query, ws, Kind::Exec).await
}

/// `GET …/attach` (WebSocket). devstack has no container main process to attach to, so with
/// stdin it starts the pod's shell, and without stdin it follows the container's log — both
/// real processes, which is what `kubectl attach` needs to be demonstrated.
pub async fn attach(
    state: State<AppState>,
    path: Path<(String, String)>,
    query: RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    stream(state, path, query, ws, Kind::Attach).await
}

fn target<'a>(
    state: &'a AppState,
    ns: &str,
    name: &str,
    container: Option<&str>,
) -> Result<(&'a Pod, &'a Container), ApiError> {
    let pod = state
        .cluster
        .pod(ns, name)
        .ok_or_else(|| ApiError::pod_not_found(name))?;
    let container = pod
        .select_container(container)
        .map_err(ApiError::BadRequest)?;
    Ok((pod, container))
}

async fn stream(
    State(state): State<AppState>,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    kind: Kind,
) -> Result<Response, ApiError> {
    let mut params =
        StreamParams::parse(query.as_deref().unwrap_or_default()).map_err(ApiError::BadRequest)?;
    let (pod, container) = target(&state, &ns, &name, params.container.as_deref())?;
    match kind {
        Kind::Exec if params.command.is_empty() => {
            return Err(ApiError::BadRequest(
                "you must specify at least one command for the container".into(),
            ));
        }
        Kind::Exec => {}
        Kind::Attach if params.stdin => params.command = vec!["bash".into()],
        Kind::Attach => {
            let log = state.podfs.log_file(&ns, pod, &container.name);
            params.command = vec![
                "tail".into(),
                "-n".into(),
                "5".into(),
                "-F".into(),
                log.display().to_string(),
            ];
        }
    }
    let ws = ws.map_err(|_| ApiError::BadRequest("Upgrade request required".into()))?;
    let ws = ws.protocols(Protocol::NAMES);
    let protocol = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Protocol::from_name)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "unsupported WebSocket subprotocol: devstack speaks v5.channel.k8s.io and v4.channel.k8s.io".into(),
            )
        })?;

    let dir = state.podfs.pod_dir(&ns, &name);
    let pod_name = name.clone();
    let shutdown = state.shutdown.clone();
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let spec = process::Spec {
                argv: &params.command,
                dir: &dir,
                pod: &pod_name,
                tty: params.tty,
                stdin: params.stdin,
                stdout: params.stdout,
                stderr: params.stderr,
            };
            let started = process::spawn(&spec);
            let (sink, stream) = socket.split();
            session::run(sink, stream, protocol, params, started, shutdown).await;
        }))
}

/// `POST …/exec` / `…/attach`: kubectl's SPDY fallback. The pod and container are validated
/// first so the user sees the real problem, not just "no SPDY".
pub async fn spdy(
    State(state): State<AppState>,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params =
        StreamParams::parse(query.as_deref().unwrap_or_default()).map_err(ApiError::BadRequest)?;
    target(&state, &ns, &name, params.container.as_deref())?;
    Err(ApiError::BadRequest(
        "SPDY is not supported by devstack; use WebSocket (v5.channel.k8s.io), e.g. unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS".into(),
    ))
}

/// portforward and ephemeralcontainers.
pub async fn unsupported(Path((_, name)): Path<(String, String)>) -> ApiError {
    ApiError::BadRequest(format!(
        "pod {name}: portforward and ephemeral containers are not supported by devstack"
    ))
}

/// `GET …/log`.
pub async fn log(
    State(state): State<AppState>,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let q: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let (pod, container) = target(&state, &ns, &name, q.get("container").map(String::as_str))?;
    let flag = |k: &str| q.get(k).is_some_and(|v| v == "true" || v == "1");
    let number = |k: &str| -> Result<Option<usize>, ApiError> {
        q.get(k)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::BadRequest(format!("{k}: invalid value {v:?}")))
            })
            .transpose()
    };
    if flag("previous") {
        return Err(ApiError::BadRequest(format!(
            "previous terminated container \"{}\" in pod \"{name}\" not found",
            container.name
        )));
    }
    let req = LogRequest {
        follow: flag("follow"),
        tail_lines: number("tailLines")?,
        limit_bytes: number("limitBytes")?,
    };
    let path = state.podfs.log_file(&ns, pod, &container.name);
    let io = |e: std::io::Error| ApiError::Internal(format!("reading {}: {e}", path.display()));
    let body = if req.follow {
        Body::from_stream(
            logs::follow_log(
                &state.logs,
                &path,
                &container.name,
                &req,
                state.shutdown.clone(),
            )
            .await
            .map_err(io)?,
        )
    } else {
        Body::from(logs::read_log(&path, &req).await.map_err(io)?)
    };
    Ok(([(header::CONTENT_TYPE, "text/plain")], body).into_response())
}
