//! The web session: what a browser's sign-in holds ([`WebSessionUser`]), its sliding idle
//! timeout and absolute lifetime, and the CSRF guard for state-changing requests. (A *terminal
//! session* is something else: `terminal::list`, table `terminal_sessions`.)
//!
//! Web sessions are `tower-sessions` records in our database (they survive a
//! restart). The idle timeout slides: an authenticated request re-saves the
//! session (at most about once a minute, see [`touch_interval`]), which moves the
//! record's expiry and the cookie's `Max-Age` to `now + idle`. The absolute
//! lifetime is checked here against the login time and caps that expiry, so
//! activity can never stretch a session beyond it.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::{Expiry, Session};

use super::oidc::PendingLogin;
use crate::error::AppError;
use crate::http::security::{check_csrf, check_origin};
use crate::state::AppState;

/// Session key of the signed-in user.
pub const USER_KEY: &str = "keyhole.user";
/// Session key of logins in flight (state → pending), at most a few.
pub const PENDING_KEY: &str = "keyhole.oidc.pending";
/// How many logins may be in flight per browser (several tabs).
pub const MAX_PENDING: usize = 5;
/// A login not completed within this many seconds is dropped.
pub const PENDING_TTL_SECS: i64 = 600;

/// The signed-in user as stored in the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebSessionUser {
    /// IdP subject.
    pub subject: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// IdP groups at login time.
    pub groups: Vec<String>,
    /// Unix seconds of login (for the absolute lifetime).
    pub login_at: i64,
    /// Per-session CSRF token (`X-Keyhole-CSRF`).
    pub csrf: String,
    /// The ID token, only as `id_token_hint` for RP-initiated logout.
    pub id_token: Option<String>,
    /// The Kubernetes user name (`Impersonate-User`), fixed at login from the
    /// configured claim and prefix. Empty in sessions from before it existed:
    /// those must sign in again.
    #[serde(default)]
    pub kube_user: String,
    /// Unix seconds of the last re-save (activity), from which the idle timeout runs.
    #[serde(default)]
    pub last_seen: i64,
}

impl WebSessionUser {
    /// Unix seconds when the session ends at the latest (absolute lifetime).
    pub fn absolute_end(&self, state: &AppState) -> i64 {
        self.login_at + state.config.session.absolute_lifetime.as_secs() as i64
    }

    /// Unix seconds when the idle timeout ends the session unless it is used again
    /// (never after [`WebSessionUser::absolute_end`]).
    pub fn idle_end(&self, state: &AppState) -> i64 {
        (self.last_seen + state.config.session.idle_timeout.as_secs() as i64)
            .min(self.absolute_end(state))
    }
}

/// How often activity re-saves a session: a quarter of the idle timeout, at most a
/// minute (so the idle timeout is honoured to within that, and a busy user costs one
/// database write a minute, not one per request).
pub fn touch_interval(idle: std::time::Duration) -> i64 {
    (idle.as_secs() / 4).min(60) as i64
}

/// Sets the session record's (and cookie's) expiry: the idle end, capped by the
/// absolute lifetime.
pub fn apply_expiry(session: &Session, user: &WebSessionUser, state: &AppState) {
    let at = time::OffsetDateTime::from_unix_timestamp(user.idle_end(state))
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    session.set_expiry(Some(Expiry::AtDateTime(at)));
}

/// Loads the session user, enforcing the absolute lifetime, and slides the idle
/// timeout: when the last re-save is older than [`touch_interval`], the user is
/// saved again with a new expiry (the session layer then writes the record and a
/// new cookie).
pub async fn load_user(
    session: &Session,
    state: &AppState,
) -> Result<Option<WebSessionUser>, AppError> {
    load(session, state, true).await
}

/// [`load_user`] for a request the browser makes by itself (header [`BACKGROUND_HEADER`]):
/// the limits hold, but it is not activity, so it does not move the idle timeout.
pub async fn peek_user(
    session: &Session,
    state: &AppState,
) -> Result<Option<WebSessionUser>, AppError> {
    load(session, state, false).await
}

/// A request header the app sets on fetches no person asked for (a live badge refreshing):
/// they do not count as activity for the idle timeout.
pub const BACKGROUND_HEADER: &str = "x-keyhole-background";

async fn load(
    session: &Session,
    state: &AppState,
    activity: bool,
) -> Result<Option<WebSessionUser>, AppError> {
    let user: Option<WebSessionUser> = session.get(USER_KEY).await.map_err(AppError::internal)?;
    let Some(mut user) = user else {
        return Ok(None);
    };
    let now = crate::store::now_unix();
    // A session from before the Kubernetes user name was stored at login has none: sign in again.
    if now >= user.absolute_end(state) || user.kube_user.is_empty() {
        session.flush().await.map_err(AppError::internal)?;
        return Ok(None);
    }
    if activity
        && (now - user.last_seen >= touch_interval(state.config.session.idle_timeout).max(1)
            || user.last_seen > now)
    {
        user.last_seen = now;
        session
            .insert(USER_KEY, &user)
            .await
            .map_err(AppError::internal)?;
        apply_expiry(session, &user, state);
    }
    Ok(Some(user))
}

/// Middleware for state-changing requests (anything but GET/HEAD/OPTIONS):
/// the `Origin` (when sent) must be ours and `X-Keyhole-CSRF` must match the
/// session's token. Applied to whole routers so no handler can forget it.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if let Err(e) = check_origin(req.headers(), &state.config.public_origin()) {
        return e.into_response();
    }
    let (mut parts, body) = req.into_parts();
    let Ok(session) = Session::from_request_parts(&mut parts, &state).await else {
        return AppError::Unauthenticated.into_response();
    };
    let user = match load_user(&session, &state).await {
        Ok(Some(u)) => u,
        Ok(None) => return AppError::Unauthenticated.into_response(),
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_csrf(&parts.headers, &user.csrf) {
        return e.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Logins in flight, keyed by `state`, with stale ones dropped.
pub async fn pending_logins(session: &Session) -> Result<BTreeMap<String, PendingLogin>, AppError> {
    let mut map: BTreeMap<String, PendingLogin> = session
        .get(PENDING_KEY)
        .await
        .map_err(AppError::internal)?
        .unwrap_or_default();
    let now = crate::store::now_unix();
    map.retain(|_, p| now - p.created_at < PENDING_TTL_SECS);
    Ok(map)
}

/// A same-origin path to return to after login, or `/`.
///
/// Only a path is accepted: it must start with a single `/`, and it must not
/// start with `//` or `/\` (browsers read both as another host), nor contain
/// control characters or a backslash anywhere. Anything else becomes `/`,
/// which makes an open redirect through `return_to` impossible.
pub fn safe_return_path(raw: Option<&str>) -> String {
    let Some(p) = raw else { return "/".into() };
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
        && !p.starts_with("/auth/")
        && p.len() <= 2048;
    if ok { p.to_owned() } else { "/".into() }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn return_paths_cannot_leave_the_origin() {
        assert_eq!(safe_return_path(Some("/requests?x=1")), "/requests?x=1");
        assert_eq!(
            safe_return_path(Some("/grants/1/pods/payments/ledger-0")),
            "/grants/1/pods/payments/ledger-0"
        );
        for bad in [
            "https://evil.test/",
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "evil.test",
            "/%0d%0aSet-Cookie",
            "javascript:alert(1)",
            "/\nx",
            "",
            "/auth/login",
            "http:/evil.test",
        ] {
            let got = safe_return_path(Some(bad));
            assert!(
                got == "/" || (bad == "/%0d%0aSet-Cookie" && got == bad),
                "{bad:?} -> {got:?}"
            );
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
