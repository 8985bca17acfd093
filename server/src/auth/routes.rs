//! `/auth/login`, `/auth/callback`, `/auth/logout`, `/api/me`, `/api/info`.
//!
//! Failures during login never create a session; they are recorded in the
//! `auth_events` table and send the browser to `/login?error=<code>`, where
//! the app explains what happened.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use keyhole_protocol::api::{Me, ServerInfo, SessionInfo};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::session::{
    CurrentUser, MAX_PENDING, PENDING_KEY, SessionUser, USER_KEY, load_user, pending_logins,
    safe_return_path,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Routes under `/auth`.
pub fn router() -> Router<AppState> {
    // `/auth/logout` is a POST and so passes the global CSRF guard
    // (`auth::session::csrf_guard`, installed by `http::router`).
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
    session: Session,
    Query(q): Query<LoginQuery>,
) -> AppResult<Response> {
    let return_to = safe_return_path(q.return_to.as_deref());
    let provider = match state.auth.provider() {
        Ok(p) => p,
        Err(detail) => {
            // Try once more right now (the background loop may be sleeping).
            match state.auth.rediscover().await {
                Ok(p) => p,
                Err(_) => {
                    tracing::warn!(%detail, "login while the identity provider is unreachable");
                    return Ok(login_error_redirect("idp_unreachable", &return_to));
                }
            }
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

/// Completes a login. Every failure path records an event, creates no
/// session user, and redirects to the login page with a short code.
async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    let mut map = pending_logins(&session).await?;
    // The state is single-use whatever happens next.
    let pending = q.state.as_deref().and_then(|s| map.remove(s));
    session
        .insert(PENDING_KEY, &map)
        .await
        .map_err(AppError::internal)?;
    let return_to = pending
        .as_ref()
        .map(|p| p.return_to.clone())
        .unwrap_or_else(|| "/".into());

    let fail = |code: &'static str, detail: String| {
        let state = state.clone();
        let return_to = return_to.clone();
        async move {
            tracing::warn!(code, %detail, "login failed");
            state
                .store
                .record_auth_event("login_failed", None, &format!("{code}: {detail}"))
                .await?;
            Ok::<_, AppError>(login_error_redirect(code, &return_to))
        }
    };

    if let Some(err) = q.error.as_deref() {
        let code = if err == "access_denied" {
            "access_denied"
        } else {
            "idp_error"
        };
        let detail = format!(
            "IdP answered error={err} {}",
            q.error_description.as_deref().unwrap_or("")
        );
        return fail(code, detail).await;
    }
    let Some(pending) = pending else {
        return fail(
            "state_mismatch",
            "missing, unknown, expired or reused state".into(),
        )
        .await;
    };
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return fail("invalid_callback", "no authorization code".into()).await;
    };
    let provider = match state.auth.provider() {
        Ok(p) => p,
        Err(e) => return fail("idp_unreachable", e).await,
    };
    if let Some(iss) = q.iss.as_deref()
        && iss != provider.issuer()
    {
        return fail(
            "issuer_mismatch",
            format!("callback iss {iss:?} is not {:?}", provider.issuer()),
        )
        .await;
    }
    let (response, nonce) = match provider.finish(state.auth.http(), code, &pending).await {
        Ok(r) => r,
        Err(e) => return fail(e.code(), e.to_string()).await,
    };
    let identity = match provider.verify(&response, &nonce) {
        Ok(Some(id)) => id,
        Ok(None) => {
            // Unknown `kid`: the IdP may have rotated its keys. Refetch once.
            match state.auth.rediscover().await {
                Ok(fresh) => match fresh.verify(&response, &nonce) {
                    Ok(Some(id)) => id,
                    Ok(None) => {
                        return fail("id_token_invalid", "signed by an unknown key".into()).await;
                    }
                    Err(e) => return fail(e.code(), e.to_string()).await,
                },
                Err(e) => return fail("idp_unreachable", e).await,
            }
        }
        Err(e) => return fail(e.code(), e.to_string()).await,
    };
    if identity.groups_claim_missing {
        tracing::warn!(
            subject = %identity.subject,
            claim = %state.auth.config.groups_claim,
            "ID token has no groups claim; the user gets no groups (check the IdP's scopes or claim mapping)"
        );
    }
    // A fresh session id at login defeats session fixation.
    session.cycle_id().await.map_err(AppError::internal)?;
    session
        .remove::<serde_json::Value>(PENDING_KEY)
        .await
        .map_err(AppError::internal)?;
    let user = SessionUser {
        subject: identity.subject.clone(),
        email: identity.email.clone(),
        name: identity.name.clone(),
        groups: identity.groups.clone(),
        login_at: crate::store::now_unix(),
        csrf: random_token(),
        id_token: Some(identity.id_token.clone()),
    };
    session
        .insert(USER_KEY, &user)
        .await
        .map_err(AppError::internal)?;
    state
        .store
        .upsert_user(
            &user.subject,
            user.email.as_deref(),
            user.name.as_deref(),
            &user.groups,
        )
        .await?;
    state
        .store
        .record_auth_event(
            "login_succeeded",
            Some(&user.subject),
            &format!(
                "{} groups=[{}]",
                user.email.as_deref().unwrap_or("-"),
                user.groups.join(",")
            ),
        )
        .await?;
    tracing::info!(subject = %user.subject, email = ?user.email, "login succeeded");
    Ok(Redirect::to(&pending.return_to).into_response())
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
    session.flush().await.map_err(AppError::internal)?;
    let mut redirect_to = "/login?signed_out=1".to_owned();
    if let Some(user) = &user {
        state
            .store
            .record_auth_event("logout", Some(&user.subject), "signed out")
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
async fn me(State(state): State<AppState>, user: CurrentUser) -> Json<Me> {
    Json(me_of(&state, user))
}

/// `/api/me` if signed in, plus the public server facts; 200 either way.
async fn session_info(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Json<SessionInfo>> {
    let me = load_user(&session, &state).await?.map(|user| {
        let roles = state.auth.roles_for(&user.groups);
        let session_expires_at =
            user.login_at + state.config.session.absolute_lifetime.as_secs() as i64;
        me_of(
            &state,
            CurrentUser {
                user,
                roles,
                session_expires_at,
            },
        )
    });
    Ok(Json(SessionInfo {
        me,
        server: server_info(&state),
    }))
}

fn me_of(state: &AppState, user: CurrentUser) -> Me {
    Me {
        subject: user.user.subject.clone(),
        email: user.user.email.clone(),
        name: user.user.name.clone(),
        groups: user.user.groups.clone(),
        roles: user.roles.clone(),
        csrf_token: user.user.csrf.clone(),
        session_expires_at: user.session_expires_at,
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

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
