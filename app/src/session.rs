//! The signed-in user, shared through context.
//!
//! `Session` loads `/api/me` once at start and again on demand. Pages that
//! need a user call [`use_session`]; a 401 anywhere sends the browser to
//! `/login?return_to=<current path>` (a same-origin path; the server checks it
//! again).

use keyhole_protocol::api::{Me, Role, ServerInfo, SessionInfo};
use leptos::prelude::*;

use crate::api::{self, ApiFailure};

/// What the app knows about the current user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SessionState {
    /// `/api/me` has not answered yet.
    Loading,
    /// Signed in.
    SignedIn(Me),
    /// No session.
    SignedOut,
    /// The server could not be reached.
    Error(String),
}

/// Session handle in context.
#[derive(Clone, Copy)]
pub(crate) struct Session {
    /// Current state.
    pub state: RwSignal<SessionState>,
    /// Public server facts (dev IdP banner, IdP readiness).
    pub info: RwSignal<Option<ServerInfo>>,
}

impl Session {
    /// The signed-in user, if any.
    pub(crate) fn me(&self) -> Option<Me> {
        match self.state.get() {
            SessionState::SignedIn(me) => Some(me),
            _ => None,
        }
    }

    /// `true` if the user holds `role`.
    pub(crate) fn has(&self, role: Role) -> bool {
        self.me().is_some_and(|m| m.roles.contains(&role))
    }

    /// Reloads `/api/session`.
    pub(crate) fn refresh(&self) {
        let (state, info) = (self.state, self.info);
        LAST_REFRESH.with(|t| t.set(js_sys::Date::now()));
        leptos::task::spawn_local(async move {
            match api::get::<SessionInfo>("/api/session").await {
                Ok(s) => {
                    info.set(Some(s.server));
                    state.set(s.me.map_or(SessionState::SignedOut, SessionState::SignedIn));
                }
                Err(ApiFailure::Unauthenticated) => state.set(SessionState::SignedOut),
                Err(e) => state.set(SessionState::Error(e.to_string())),
            }
        });
    }

    /// Fetches `/api/me` (a 401 sends the browser to login). The server counts it as
    /// activity, so the idle timeout starts again: the terminal page calls this every few
    /// minutes while it is open.
    pub(crate) fn refresh_me(&self) {
        let state = self.state;
        LAST_REFRESH.with(|t| t.set(js_sys::Date::now()));
        leptos::task::spawn_local(async move {
            if let Ok(me) = api::get::<Me>("/api/me").await {
                state.set(SessionState::SignedIn(me));
            }
        });
    }
}

thread_local! {
    /// The session handle, for [`note_activity`] (called outside any reactive owner).
    static CURRENT: std::cell::Cell<Option<Session>> = const { std::cell::Cell::new(None) };
    /// When `/api/session` or `/api/me` was last fetched (ms since the epoch).
    static LAST_REFRESH: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// How stale the shown "signed in until" may get while the user is active.
const REFRESH_AFTER_ACTIVITY_MS: f64 = 60_000.0;

/// Called after every successful API call: the server may have moved the idle timeout,
/// so at most once a minute the session is re-read to show the new end time. (Only real
/// activity leads here; the app never polls just to keep a session alive, except on the
/// terminal page.)
pub(crate) fn note_activity() {
    let due = LAST_REFRESH.with(|t| js_sys::Date::now() - t.get() >= REFRESH_AFTER_ACTIVITY_MS);
    if due && let Some(session) = CURRENT.with(std::cell::Cell::get) {
        session.refresh();
    }
}

/// Creates the session context and starts loading it.
pub(crate) fn provide_session() {
    let session = Session {
        state: RwSignal::new(SessionState::Loading),
        info: RwSignal::new(None),
    };
    session.refresh();
    CURRENT.with(|c| c.set(Some(session)));
    provide_context(session);
}

/// The session from context.
pub(crate) fn use_session() -> Session {
    expect_context::<Session>()
}

/// The URL of the login page that returns to the current location.
pub(crate) fn login_url_for_here() -> String {
    let loc = web_sys::window().map(|w| w.location());
    let path = loc
        .map(|l| {
            format!(
                "{}{}",
                l.pathname().unwrap_or_default(),
                l.search().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "/".into());
    format!("/login?return_to={}", js_sys::encode_uri_component(&path))
}

/// Full-page navigation (used for `/auth/*`, which the server handles).
pub(crate) fn hard_navigate(url: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(url);
    }
}

/// Signs out: ends the Keyhole session, then the IdP session if it offers that.
pub(crate) fn sign_out(session: Session) {
    let csrf = session.me().map(|m| m.csrf_token).unwrap_or_default();
    leptos::task::spawn_local(async move {
        #[derive(serde::Deserialize)]
        struct Out {
            redirect_to: String,
        }
        match api::post::<_, Out>("/auth/logout", &serde_json::json!({}), &csrf).await {
            Ok(out) => hard_navigate(&out.redirect_to),
            Err(_) => hard_navigate("/login?signed_out=1"),
        }
    });
}
