//! Typed JSON calls to the Keyhole API, same-origin with the session cookie.
//! State-changing calls carry the CSRF token from `/api/me`.

use keyhole_protocol::error::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiFailure {
    /// 401: the session is gone; the app sends the user to login.
    Unauthenticated,
    /// Any other HTTP error, with the server's `{error, message}`.
    Http(u16, ApiError),
    /// The request did not complete (network down, server stopped).
    Network(String),
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthenticated => f.write_str("Your session has ended. Sign in again."),
            Self::Http(_, e) => f.write_str(&e.message),
            Self::Network(m) => write!(f, "Keyhole is unreachable ({m}). Check your connection."),
        }
    }
}

impl std::error::Error for ApiFailure {}

/// `GET path` → `T`.
pub(crate) async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    send("GET", path, None, None, false).await
}

/// `GET path` → `T`, for a fetch no person asked for (a badge refreshing on live events): the
/// server does not count it as activity, so it never keeps an idle sign-in alive.
pub(crate) async fn get_background<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    send("GET", path, None, None, true).await
}

/// A paged list (`path` already has its query string, e.g. `/api/requests?scope=mine`): the
/// first `pages` pages, following each `next_cursor`, and whether more rows exist after them.
/// The lists refetch all the pages the user has opened ("Load more") on every live change, so
/// what they see stays current and nothing is shown twice.
pub(crate) async fn get_pages<T: DeserializeOwned>(
    path: &str,
    pages: usize,
) -> Result<(Vec<T>, bool), ApiFailure> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..pages.max(1) {
        let url = match &cursor {
            // Cursors are base64url: safe in a query string as they are.
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page: keyhole_protocol::access::Page<T> = get(&url).await?;
        items.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok((items, cursor.is_some()))
}

/// `POST path` with a JSON body → `T`.
pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
    csrf: &str,
) -> Result<T, ApiFailure> {
    let json = serde_json::to_string(body).map_err(|e| ApiFailure::Network(e.to_string()))?;
    send("POST", path, Some(json), Some(csrf), false).await
}

async fn send<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
    csrf: Option<&str>,
    background: bool,
) -> Result<T, ApiFailure> {
    let net = |e: wasm_bindgen::JsValue| ApiFailure::Network(format!("{e:?}"));
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(b) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(b));
    }
    let req = Request::new_with_str_and_init(path, &init).map_err(net)?;
    let headers = req.headers();
    headers.set("Accept", "application/json").map_err(net)?;
    if body.is_some() {
        headers
            .set("Content-Type", "application/json")
            .map_err(net)?;
    }
    if let Some(token) = csrf {
        headers.set("X-Keyhole-CSRF", token).map_err(net)?;
    }
    if background {
        headers.set("X-Keyhole-Background", "1").map_err(net)?;
    }
    let window = web_sys::window().ok_or_else(|| ApiFailure::Network("no window".into()))?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| ApiFailure::Network("request failed".into()))?
        .dyn_into()
        .map_err(net)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(net)?)
        .await
        .map_err(net)?
        .as_string()
        .unwrap_or_default();
    if status == 401 {
        // The session ended (idle timeout, absolute lifetime, logout in
        // another tab): go to login, coming back here afterwards. The initial
        // session probe and logout handle 401 themselves.
        if path != "/api/session" && path != "/auth/logout" {
            crate::session::hard_navigate(&crate::session::login_url_for_here());
        }
        return Err(ApiFailure::Unauthenticated);
    }
    if !(200..300).contains(&status) {
        let err = serde_json::from_str::<ApiError>(&text).unwrap_or(ApiError {
            error: "http".into(),
            message: format!("The server answered {status}."),
        });
        return Err(ApiFailure::Http(status, err));
    }
    if path != "/api/session" && path != "/api/me" && path != "/auth/logout" {
        crate::session::note_activity();
    }
    serde_json::from_str(&text).map_err(|e| ApiFailure::Network(format!("bad response: {e}")))
}
