//! `/auth/callback`: the end of a login. Checked step by step: the address's failed-login
//! budget, the single-use `state`, the IdP's answer (error, code, issuer), the code exchange
//! (PKCE) and the ID token; then a fresh web session.
//!
//! A callback without a valid `state` (which anyone can send a browser to) persists nothing:
//! no session row, no event, one bounded log line. Any later failure is recorded in
//! `auth_events` and sends the browser to `/login?error=<code>`.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use tower_sessions::Session;

use super::oidc::{Identity, PendingLogin};
use super::ratelimit::PeerIp;
use super::routes::{login_error_redirect, too_many};
use super::untrusted::{bounded, bounded_to};
use super::web_session::{PENDING_KEY, USER_KEY, WebSessionUser, apply_expiry, pending_logins};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::AuthEventKind;

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
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
pub(super) async fn callback(
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

/// 429 for an address over its failed-login budget.
fn too_many_failures() -> Response {
    too_many(
        "Too many failed sign-ins from your network address. Wait a minute, then sign in again from the start page.\n",
    )
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
