//! `/auth/login`, `/auth/logout`, `/api/me`, `/api/info` (`/auth/callback` is `callback.rs`).
//!
//! Failures during login never create a session; they are recorded in the
//! `auth_events` table and send the browser to `/login?error=<code>`, where
//! the app explains what happened. A callback without a valid `state` (which
//! anyone can send a browser to) persists nothing at all: no session row, no
//! event. Failed callbacks are rate-limited per client address
//! ([`super::ratelimit`]), and IdP-supplied text is escaped and bounded
//! ([`super::untrusted`]) before it reaches a log line or the database.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyhole_protocol::api::{Me, ServerInfo, SessionInfo};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Caller;
use super::ratelimit::PeerIp;
use super::web_session::{
    MAX_PENDING, PENDING_KEY, WebSessionUser, load_user, pending_logins, safe_return_path,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::AuthEventKind;

/// Routes under `/auth`.
pub fn router() -> Router<AppState> {
    // `/auth/logout` is a POST and so passes the global CSRF guard
    // (`auth::web_session::csrf_guard`, installed by `http::router`).
    Router::new()
        .route("/auth/login", get(login))
        .route("/auth/callback", get(super::callback::callback))
        .route("/auth/logout", post(logout))
}

/// Routes under `/api` owned by auth (nested by `http::router`).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/info", get(info))
        .route("/session", get(session_info))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
    /// `login` forces the IdP to show its form (switching users).
    prompt: Option<String>,
}

/// Starts a login: remembers PKCE verifier, state and nonce in the session and
/// redirects to the IdP.
async fn login(
    State(state): State<AppState>,
    PeerIp(peer): PeerIp,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    // A browser without a session gets a new session row for its pending login: bound how
    // fast one address can make them (a browser that has a session reuses its row).
    if session.id().is_none()
        && let Some(ip) = peer
    {
        let now = Instant::now();
        if !state.auth.new_logins.allowed(ip, now) {
            tracing::debug!(%ip, "too many new logins from this address: refused");
            return Ok(too_many_logins());
        }
        state.auth.new_logins.failed(ip, now);
    }
    let return_to = safe_return_path(q.return_to.as_deref());
    // One discovery attempt if it is due (shared with every other caller and the
    // background loop; none while the backoff runs).
    let provider = match state.auth.ensure_provider().await {
        Ok(p) => p,
        Err(detail) => {
            tracing::warn!(%detail, "login while the identity provider is unreachable");
            return Ok(login_error_redirect("idp_unreachable", &return_to));
        }
    };
    let (url, pending) = provider.begin(return_to, q.prompt.as_deref() == Some("login"));
    let mut map = pending_logins(&session).await?;
    while map.len() >= MAX_PENDING {
        let oldest = map
            .iter()
            .min_by_key(|(_, p)| p.created_at)
            .map(|(k, _)| k.clone())
            .expect("non-empty");
        map.remove(&oldest);
    }
    map.insert(pending.state.clone(), pending);
    session
        .insert(PENDING_KEY, map)
        .await
        .map_err(AppError::internal)?;
    Ok(Redirect::to(url.as_str()).into_response())
}

/// Where the browser should go after logout.
#[derive(Debug, Serialize)]
struct LogoutResponse {
    /// The IdP's end-session URL (RP-initiated logout), or `/login`.
    redirect_to: String,
}

/// Ends the session; tells the app where to send the browser to end the IdP
/// session too.
async fn logout(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Json<LogoutResponse>> {
    let user = load_user(&session, &state).await?;
    let session_id = session.id().map(|id| id.to_string());
    session.flush().await.map_err(AppError::internal)?;
    // Everything this web session opened (terminals, log streams, live views) ends now, on
    // every replica.
    if let Some(id) = session_id {
        state
            .access
            .end_web_session(&id, crate::access::LeaseEnd::LoggedOut)
            .await;
    }
    let mut redirect_to = "/login?signed_out=1".to_owned();
    if let Some(user) = &user {
        state
            .store
            .record_auth_event(AuthEventKind::Logout, Some(&user.subject), "signed out")
            .await?;
        if let Ok(p) = state.auth.provider()
            && let Some(mut end) = p.end_session_endpoint.clone()
        {
            {
                let mut q = end.query_pairs_mut();
                if let Some(hint) = &user.id_token {
                    q.append_pair("id_token_hint", hint);
                }
                q.append_pair("client_id", &state.auth.config.client_id);
                q.append_pair(
                    "post_logout_redirect_uri",
                    &format!("{}/login?signed_out=1", state.config.public_origin()),
                );
            }
            redirect_to = end.to_string();
        }
    }
    Ok(Json(LogoutResponse { redirect_to }))
}

/// The signed-in user, their roles and the CSRF token.
async fn me(State(state): State<AppState>, session: Session) -> AppResult<Json<Me>> {
    let user = load_user(&session, &state)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok(Json(me_of(&state, &session, &user)))
}

/// `/api/me` if signed in, plus the public server facts; 200 either way.
async fn session_info(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Json<SessionInfo>> {
    let me = load_user(&session, &state)
        .await?
        .map(|user| me_of(&state, &session, &user));
    Ok(Json(SessionInfo {
        me,
        server: server_info(&state),
    }))
}

/// `/api/me` for a loaded web session: the caller, plus the session's CSRF token (which
/// [`Caller`] does not carry, so that it never reaches a log line through it).
fn me_of(state: &AppState, session: &Session, user: &WebSessionUser) -> Me {
    let caller = Caller::of_web_session(user, session.id().map(|id| id.to_string()), state);
    Me {
        session_expires_at: caller.session_ends_at().unwrap_or(0),
        idle_expires_at: user.idle_end(state),
        subject: caller.subject,
        email: caller.email,
        name: caller.name,
        groups: caller.groups,
        roles: caller.roles,
        kube_user: caller.kube_user,
        csrf_token: user.csrf.clone(),
        dev_idp: state.auth.dev_idp,
    }
}

/// Public facts for the login page.
async fn info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(server_info(&state))
}

fn server_info(state: &AppState) -> ServerInfo {
    ServerInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        dev_idp: state.auth.dev_idp,
        idp_ready: state.auth.provider_status().is_ok(),
        dev_cluster: state.terminal.dev_cluster,
    }
}

/// To the login page, which explains `code`, keeping where the user was going.
pub(super) fn login_error_redirect(code: &str, return_to: &str) -> Response {
    let mut url = url::Url::parse("http://x/login").expect("static");
    url.query_pairs_mut()
        .append_pair("error", code)
        .append_pair("return_to", return_to);
    let path = format!("/login?{}", url.query().unwrap_or_default());
    Redirect::to(&path).into_response()
}

fn too_many_logins() -> Response {
    too_many(
        "Too many sign-ins started from your network address. Wait a minute, then try again.\n",
    )
}

/// 429 with `text`, retry after a minute. A plain page: this is a browser navigation, and the
/// app's login page would only send the user back here.
pub(super) fn too_many(text: &'static str) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (axum::http::header::RETRY_AFTER, "60"),
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
        ],
        text,
    )
        .into_response()
}
