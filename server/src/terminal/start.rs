//! Opening a session: everything between "the grant allows exec" and the WebSocket upgrade
//! (pod check as the user, exec with a TTY, the session row), and then running it.
//!
//! Observability: each session has a `terminal` span (`session_id`, `user` = the Kubernetes
//! user, `grant_id`, `profile`, `namespace`, `pod`, `container`) from the pod check to the
//! completed row, so every log line of a session carries its id; the relay runs in it and in
//! the session's metric scope (bytes, drops), counted open by an [`OpenTerminal`] guard.

use std::io;
use std::task::{Context, Poll};

use axum::extract::ws::WebSocket;
use keyhole_protocol::terminal::{CloseReason, ServerMsg};
use tracing::Instrument as _;

use super::check::{covered_pod, kube_error, pick_container};
use super::core::TerminalCore;
use super::relay::{ExecInput, ExecIo, RelayContext, ToPod};
use super::routes::hello;
use super::ws;
use crate::access::Lease;
use crate::auth::Caller;
use crate::domain::Grant;
use crate::error::AppError;
use crate::kube::{ExecError, ExecParams, ExecTty, ExecWriter};
use crate::metrics::{Metrics, OpenTerminal};
use crate::state::AppState;
use crate::store::{NewTerminalSession, Store};

/// What the route hands over.
pub(super) struct StartRequest<'a> {
    /// The caller.
    pub caller: &'a Caller,
    /// Their checked grant (allows exec, interactive).
    pub grant: Grant,
    /// The stream's lease, taken before the grant check (so no revocation is missed).
    pub lease: Lease,
    /// Pod namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub pod: &'a str,
    /// Container asked for.
    pub container: Option<&'a str>,
    /// Initial size.
    pub cols: u16,
    /// Initial size.
    pub rows: u16,
}

/// A session whose exec is open, waiting for the upgrade.
pub(super) struct PreparedSession {
    ctx: RelayContext,
    exec: ExecIo<ExecWriter>,
    guard: ExecGuard,
    span: tracing::Span,
}

impl ExecInput for ExecWriter {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ExecWriter::poll_ready(self, cx)
    }

    fn start_send(&mut self, item: ToPod) -> io::Result<()> {
        match item {
            ToPod::Stdin(data) => self.start_send_stdin(&data),
            ToPod::Resize { cols, rows } => self.start_send_resize(cols, rows),
            ToPod::Ping => self.start_send_ping(),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ExecWriter::poll_flush(self, cx)
    }
}

/// Completes the session row however the session ends, including when the upgrade never
/// happens (the browser went away after the handshake). The exec itself ends when its
/// socket is dropped (with the relay, or with an abandoned [`PreparedSession`]): the API
/// server then stops the process's stream.
struct ExecGuard {
    store: Store,
    session_id: String,
    ended: Option<(CloseReason, u64, u64)>,
    metrics: Metrics,
    span: tracing::Span,
}

impl Drop for ExecGuard {
    fn drop(&mut self) {
        let (reason, bytes_in, bytes_out) = self.ended.unwrap_or((CloseReason::Error, 0, 0));
        self.metrics.terminal_closed(reason.as_str());
        let store = self.store.clone();
        let id = std::mem::take(&mut self.session_id);
        let task = async move {
            if let Err(e) = store
                .end_terminal_session(&id, reason, bytes_in, bytes_out)
                .await
            {
                tracing::error!(error = %e, session = %id, "cannot complete the session row");
            }
        };
        tokio::spawn(task.instrument(self.span.clone()));
    }
}

/// Checks the pod, opens the exec and records the session, in the session's span.
pub(super) async fn start_session(
    state: &AppState,
    req: StartRequest<'_>,
) -> Result<PreparedSession, AppError> {
    let session_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "terminal",
        session_id = %session_id,
        user = %req.grant.kube_user,
        grant_id = %req.grant.id,
        profile = %req.grant.profile,
        namespace = %req.namespace,
        pod = %req.pod,
        container = tracing::field::Empty,
    );
    open(state, req, session_id, span.clone())
        .instrument(span)
        .await
}

async fn open(
    state: &AppState,
    req: StartRequest<'_>,
    session_id: String,
    span: tracing::Span,
) -> Result<PreparedSession, AppError> {
    let (container, exec) = open_exec(state, &req, &session_id, &span).await?;
    let grant = &req.grant;
    let row = NewTerminalSession {
        id: &session_id,
        subject: &req.caller.subject,
        kube_user: &grant.kube_user,
        grant_id: &grant.id,
        namespace: req.namespace,
        pod: req.pod,
        container: &container,
    };
    if let Err(e) = state.store.insert_terminal_session(&row).await {
        // Fail closed: a session we cannot account for does not start (dropping the exec
        // closes its socket).
        tracing::error!(error = %e, "cannot record the terminal session");
        return Err(AppError::Unavailable(
            "the session cannot be recorded right now".into(),
        ));
    }
    tracing::info!(session = %session_id, grant = %grant.id, user = %grant.kube_user,
        pod = %format!("{}/{}", req.namespace, req.pod), %container, "terminal session started");
    let hello = hello(
        &state.terminal,
        &session_id,
        req.namespace,
        req.pod,
        &container,
        grant.expires_at,
    );
    Ok(PreparedSession {
        ctx: relay_context(state, grant, hello, req.lease),
        exec,
        guard: ExecGuard {
            store: state.store.clone(),
            session_id,
            ended: None,
            metrics: state.terminal.metrics.clone(),
            span: span.clone(),
        },
        span,
    })
}

/// Checks the pod (as the user) and opens the exec with a TTY: the container used, and the
/// exec's streams.
async fn open_exec(
    state: &AppState,
    req: &StartRequest<'_>,
    session_id: &str,
    span: &tracing::Span,
) -> Result<(String, ExecIo<ExecWriter>), AppError> {
    let grant = &req.grant;
    let kube = state
        .terminal
        .kube
        .for_grant(grant, session_id)
        .map_err(AppError::internal)?;
    let summary = covered_pod(grant, &kube, req.namespace, req.pod).await?;
    let container = pick_container(&summary, req.container)?;
    span.record("container", container.as_str());
    let ExecTty {
        output,
        input,
        status,
    } = kube
        .exec_tty(&ExecParams {
            namespace: req.namespace.to_owned(),
            pod: req.pod.to_owned(),
            container: container.clone(),
            command: grant.exec_command.clone(),
            cols: req.cols,
            rows: req.rows,
        })
        .await
        .map_err(|ExecError::Api(e)| kube_error(grant, e))?;
    let exec = ExecIo {
        stdin: input,
        stdout: Box::new(output),
        status,
    };
    Ok((container, exec))
}

/// The relay's context: the session's clock from the grant's end and idle limit, its hooks.
fn relay_context(state: &AppState, grant: &Grant, hello: ServerMsg, lease: Lease) -> RelayContext {
    let hooks = &state.terminal.hooks;
    RelayContext {
        hello,
        lease,
        core: TerminalCore::new(
            std::time::Instant::now(),
            crate::store::instant_of_unix(grant.expires_at),
            grant.idle_timeout,
        ),
        filter: hooks.filter(),
        recorder: hooks.recorder(),
        keepalive: state.terminal.keepalive,
    }
}

impl PreparedSession {
    /// Runs the relay over the upgraded socket until the session ends, in the session's span
    /// and metric scope, counted open meanwhile.
    pub(super) async fn run(self, socket: WebSocket) {
        let PreparedSession {
            ctx,
            exec,
            mut guard,
            span,
        } = self;
        async move {
            let _open: OpenTerminal = guard.metrics.terminal_opened();
            let meters = guard.metrics.relay();
            let ended = meters.scope(ws::serve(socket, ctx, exec)).await;
            tracing::info!(session = %guard.session_id, reason = ended.reason.as_str(),
                bytes_in = ended.bytes_in, bytes_out = ended.bytes_out, "terminal session ended");
            guard.ended = Some((ended.reason, ended.bytes_in, ended.bytes_out));
            // Completes the row and counts the close reason.
            drop(guard);
        }
        .instrument(span)
        .await;
    }
}
