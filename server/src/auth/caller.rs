//! [`Caller`]: who is acting, with their IdP groups, UI roles and web session. It is the one
//! type every layer uses for "the signed-in user": handlers extract it ([`FromRequestParts`]
//! answers 401 without a valid web session), the access service decides on it, and tests and
//! benchmarks build it directly (without a web session).
//!
//! [`FreshCaller`] is a `Caller` whose IdP groups are recent enough to decide access on
//! (`session.groups_max_age_seconds`): the routes that request, approve or deny take it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use keyhole_protocol::api::Role;
use tower_sessions::Session;

use super::web_session::{BACKGROUND_HEADER, WebSessionUser, load_user, peek_user};
use crate::error::AppError;
use crate::state::AppState;

/// The signed-in user as every layer sees them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// IdP subject.
    pub subject: String,
    /// E-mail (display only).
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// IdP groups from the login token.
    pub groups: Vec<String>,
    /// UI roles from the current policy.
    pub roles: Vec<Role>,
    /// The Kubernetes user name (`Impersonate-User`), fixed at login from the configured
    /// claim and prefix. Self-approval and N-of-M are checked on it as well as on `subject`.
    pub kube_user: String,
    /// The web session the request came with (`None` outside HTTP: tests, benchmarks).
    pub web_session: Option<WebSessionRef>,
}

/// The caller's web session: what streams opened with it depend on.
#[derive(Clone)]
pub struct WebSessionRef {
    /// The session id, which is the cookie value: never log it (leases key on its hash).
    pub id: Option<String>,
    /// Unix seconds of the sign-in (the IdP groups are this old).
    pub login_at: i64,
    /// Unix seconds when the session ends at the latest (absolute lifetime).
    pub expires_at: i64,
    /// Unix seconds when the idle timeout ends it unless it is used again.
    pub idle_expires_at: i64,
}

impl std::fmt::Debug for WebSessionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSessionRef")
            .field("id", &self.id.as_ref().map(|_| "<redacted>"))
            .field("login_at", &self.login_at)
            .field("expires_at", &self.expires_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .finish()
    }
}

impl Caller {
    /// The caller of a loaded web session: roles from the current policy, and when the
    /// session ends.
    pub fn of_web_session(user: &WebSessionUser, id: Option<String>, state: &AppState) -> Caller {
        Caller {
            subject: user.subject.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            groups: user.groups.clone(),
            roles: state.auth.roles_for(&user.groups),
            kube_user: user.kube_user.clone(),
            web_session: Some(WebSessionRef {
                id,
                login_at: user.login_at,
                expires_at: user.absolute_end(state),
                idle_expires_at: user.idle_end(state),
            }),
        }
    }

    /// The name Kubernetes sees (`Impersonate-User`), fixed at login.
    pub fn kube_user(&self) -> &str {
        &self.kube_user
    }

    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The web session's absolute end (`None` outside HTTP).
    pub fn session_ends_at(&self) -> Option<i64> {
        self.web_session.as_ref().map(|s| s.expires_at)
    }

    /// The web session's id, for leases (`None` outside HTTP).
    pub fn web_session_id(&self) -> Option<String> {
        self.web_session.as_ref().and_then(|s| s.id.clone())
    }

    /// 403 unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(AppError::Forbidden(format!(
            "this needs the role {}; your IdP groups do not grant it",
            names.join(" or ")
        )))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(_, msg)| AppError::internal(anyhow::anyhow!(msg)))?;
        let background = parts.headers.contains_key(BACKGROUND_HEADER);
        let user = if background {
            peek_user(&session, state).await?
        } else {
            load_user(&session, state).await?
        }
        .ok_or(AppError::Unauthenticated)?;
        // Every log line of this request names who made it (the request span declares it).
        crate::http::observe::record_user(parts, &user.subject);
        let id = session.id().map(|id| id.to_string());
        Ok(Caller::of_web_session(&user, id, state))
    }
}

/// A [`Caller`] whose IdP groups were read at most `session.groups_max_age_seconds` ago, else
/// 401: deciding access on older groups needs a fresh sign-in, which re-reads them from the
/// IdP (and is invisible to a user whose IdP session is still open).
#[derive(Debug, Clone)]
pub struct FreshCaller(pub Caller);

impl FromRequestParts<AppState> for FreshCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let login_at = caller.web_session.as_ref().map_or(0, |s| s.login_at);
        let age = crate::store::now_unix().saturating_sub(login_at);
        if age > state.config.session.groups_max_age.as_secs() as i64 {
            return Err(AppError::Unauthenticated);
        }
        Ok(FreshCaller(caller))
    }
}
