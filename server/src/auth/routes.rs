//! `/auth/login`, `/auth/callback`, `/auth/logout`, `/api/me`, `/api/info`.
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
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Caller;
use super::oidc::{Identity, PendingLogin};
use super::ratelimit::PeerIp;
use super::untrusted::{bounded, bounded_to};
use super::web_session::{
    MAX_PENDING, PENDING_KEY, USER_KEY, WebSessionUser, apply_expiry, load_user, pending_logins,
    safe_return_path,
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
        .route("/auth/callback", get(callback))
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

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// RFC 9207 issuer identification; checked when present.
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Completes a login. Every failure path with a valid `state` records an event,
/// creates no session user, and redirects to the login page with a short code.
/// Without a valid `state` nothing is written at all.
async fn callback(
    State(state): State<AppState>,
    PeerIp(peer): PeerIp,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    if let Some(ip) = peer
        && !state.auth.failed_logins.allowed(ip, Instant::now())
    {
        tracing::debug!(%ip, "too many failed logins from this address: callback refused");
        return Ok(too_many_failures());
    }
    let note_failure = || {
        if let Some(ip) = peer {
            state.auth.failed_logins.failed(ip, Instant::now());
        }
    };
    let Some(pending) = take_pending_login(&session, &q).await? else {
        // Anyone can send a browser here (or call it in a loop): no session row, no
        // event, one bounded log line.
        note_failure();
        tracing::info!(
            peer = ?peer,
            idp_error = q.error.as_deref().map(bounded).unwrap_or_default(),
            "login callback without a valid state refused (missing, unknown, expired or reused)"
        );
        return Ok(login_error_redirect("state_mismatch", "/"));
    };
    match verified_identity(&state, q, &pending).await {
        Ok(identity) => {
            start_web_session(&state, &session, &identity).await?;
            Ok(Redirect::to(&pending.return_to).into_response())
        }
        Err(LoginFailure { code, detail }) => {
            note_failure();
            let detail = bounded_to(&detail, 1000);
            tracing::warn!(code, %detail, "login failed");
            state
                .store
                .record_auth_event(
                    AuthEventKind::LoginFailed,
                    None,
                    &format!("{code}: {detail}"),
                )
                .await?;
            Ok(login_error_redirect(code, &pending.return_to))
        }
    }
}

/// Why a login failed: the code the login page explains, and a detail for the log.
struct LoginFailure {
    code: &'static str,
    detail: String,
}

impl LoginFailure {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        LoginFailure {
            code,
            detail: detail.into(),
        }
    }
}

/// The login in flight that the callback's `state` names, removed (single-use whatever
/// happens next). `None` for a missing, unknown, expired or reused state.
async fn take_pending_login(
    session: &Session,
    q: &CallbackQuery,
) -> AppResult<Option<PendingLogin>> {
    let mut map = pending_logins(session).await?;
    let Some(pending) = q.state.as_deref().and_then(|s| map.remove(s)) else {
        return Ok(None);
    };
    session
        .insert(PENDING_KEY, &map)
        .await
        .map_err(AppError::internal)?;
    Ok(Some(pending))
}

/// The IdP's answer, checked: no error, a code, the right issuer, the code exchanged (PKCE)
/// and the ID token verified (signature, nonce, audience, expiry; keys refetched once on an
/// unknown key id).
async fn verified_identity(
    state: &AppState,
    q: CallbackQuery,
    pending: &PendingLogin,
) -> Result<Identity, LoginFailure> {
    if let Some(err) = q.error.as_deref() {
        let code = if err == "access_denied" {
            "access_denied"
        } else {
            "idp_error"
        };
        let detail = format!(
            "IdP answered error={} {}",
            bounded(err),
            bounded(q.error_description.as_deref().unwrap_or(""))
        );
        return Err(LoginFailure::new(code, detail));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Err(LoginFailure::new(
            "invalid_callback",
            "no authorization code",
        ));
    };
    let provider = state
        .auth
        .ensure_provider()
        .await
        .map_err(|e| LoginFailure::new("idp_unreachable", e))?;
    if let Some(iss) = q.iss.as_deref()
        && iss != provider.issuer()
    {
        let detail = format!(
            "callback iss \"{}\" is not {:?}",
            bounded(iss),
            provider.issuer()
        );
        return Err(LoginFailure::new("issuer_mismatch", detail));
    }
    let oidc_failure = |e: super::oidc::LoginError| LoginFailure::new(e.code(), e.to_string());
    let (response, nonce) = provider
        .finish(state.auth.http(), code, pending)
        .await
        .map_err(oidc_failure)?;
    if let Some(identity) = provider.verify(&response, &nonce).map_err(oidc_failure)? {
        return Ok(identity);
    }
    // Unknown `kid`: the IdP may have rotated its keys. Refetch once.
    let fresh = state
        .auth
        .rediscover()
        .await
        .map_err(|e| LoginFailure::new("idp_unreachable", e))?;
    fresh
        .verify(&response, &nonce)
        .map_err(oidc_failure)?
        .ok_or_else(|| LoginFailure::new("id_token_invalid", "signed by an unknown key"))
}

/// Signs `identity` in: a fresh session id (defeats session fixation), the web-session user
/// with its CSRF token and expiry, the user's display data, and the audit event.
async fn start_web_session(
    state: &AppState,
    session: &Session,
    identity: &Identity,
) -> AppResult<()> {
    if identity.groups_claim_missing {
        tracing::warn!(
            subject = %bounded(&identity.subject),
            claim = %state.auth.config.groups_claim,
            "ID token has no groups claim; the user gets no groups (check the IdP's scopes or claim mapping)"
        );
    }
    session.cycle_id().await.map_err(AppError::internal)?;
    session
        .remove::<serde_json::Value>(PENDING_KEY)
        .await
        .map_err(AppError::internal)?;
    let now = crate::store::now_unix();
    let user = WebSessionUser {
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        name: identity.name.clone(),
        groups: identity.groups.clone(),
        login_at: now,
        csrf: random_token(),
        id_token: Some(identity.id_token.clone()),
        kube_user: identity.kube_user.clone(),
        last_seen: now,
    };
    session
        .insert(USER_KEY, &user)
        .await
        .map_err(AppError::internal)?;
    apply_expiry(session, &user, state);
    state
        .store
        .upsert_user(
            &user.subject,
            user.email.as_deref().map(bounded).as_deref(),
            user.name.as_deref().map(bounded).as_deref(),
            &user.groups,
        )
        .await?;
    let detail = bounded_to(
        &format!(
            "{} kube_user={} groups=[{}]",
            user.email.as_deref().unwrap_or("-"),
            user.kube_user,
            user.groups.join(",")
        ),
        1000,
    );
    state
        .store
        .record_auth_event(AuthEventKind::LoginSucceeded, Some(&user.subject), &detail)
        .await?;
    tracing::info!(subject = %bounded(&user.subject), kube_user = %bounded(&user.kube_user),
        "login succeeded");
    Ok(())
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
    }
}

fn login_error_redirect(code: &str, return_to: &str) -> Response {
    let mut url = url::Url::parse("http://x/login").expect("static");
    url.query_pairs_mut()
        .append_pair("error", code)
        .append_pair("return_to", return_to);
    let path = format!("/login?{}", url.query().unwrap_or_default());
    Redirect::to(&path).into_response()
}

/// 429 for an address over its failed-login budget. A plain page: this is a browser
/// navigation, and the app's login page would only send the user back here.
fn too_many_failures() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (axum::http::header::RETRY_AFTER, "60"),
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
        ],
        "Too many failed sign-ins from your network address. Wait a minute, then sign in again from the start page.\n",
    )
        .into_response()
}

fn too_many_logins() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (axum::http::header::RETRY_AFTER, "60"),
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
        ],
        "Too many sign-ins started from your network address. Wait a minute, then try again.\n",
    )
        .into_response()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
