//! `GET`/`POST /logout`: RP-initiated logout (OpenID Connect RP-Initiated
//! Logout 1.0). Ends the IdP session, clears its cookie, then either redirects
//! to an allowed `post_logout_redirect_uri` or shows a "signed out" page.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::pages;
use super::state::{AppState, SESSION_COOKIE, Shared};

/// Parameters of the end-session request, by query (GET) or form (POST).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogoutParams {
    /// A previously issued ID token; identifies the client (expiry ignored).
    id_token_hint: Option<String>,
    /// Where to send the browser afterwards.
    post_logout_redirect_uri: Option<String>,
    /// Passed back on that redirect.
    state: Option<String>,
    /// Identifies the client when there is no `id_token_hint`.
    client_id: Option<String>,
}

/// `GET /logout`.
pub(crate) async fn logout_get(
    State(shared): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<LogoutParams>, QueryRejection>,
) -> Response {
    logout(
        &shared,
        &headers,
        params.map(|Query(p)| p).unwrap_or_default(),
    )
}

/// `POST /logout`.
pub(crate) async fn logout_post(
    State(shared): State<AppState>,
    headers: HeaderMap,
    params: Result<Form<LogoutParams>, FormRejection>,
) -> Response {
    logout(
        &shared,
        &headers,
        params.map(|Form(p)| p).unwrap_or_default(),
    )
}

fn logout(shared: &Shared, headers: &HeaderMap, params: LogoutParams) -> Response {
    if let Some(id) = super::authorize::session_cookie(headers) {
        shared.flows().sessions.remove(&id);
    }
    let mut response = match params.post_logout_redirect_uri.as_deref() {
        None => pages::signed_out(shared),
        Some(uri) => match allowed_target(shared, &params, uri) {
            Some(mut url) => {
                if let Some(state) = &params.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
            }
            // Never redirect to an unregistered target: that would be an open
            // redirector. The session is ended all the same.
            None => pages::error(
                shared,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "post_logout_redirect_uri is not allowed for this client; you are signed out",
            ),
        },
    };
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `uri` if its origin is the origin of one of the client's registered
/// redirect URIs. The client comes from `client_id` or the `aud` of a valid
/// `id_token_hint`; without either, any registered client's origins count.
fn allowed_target(shared: &Shared, params: &LogoutParams, uri: &str) -> Option<url::Url> {
    let url = url::Url::parse(uri).ok()?;
    if url.fragment().is_some() {
        return None;
    }
    let hinted = params
        .id_token_hint
        .as_deref()
        .and_then(|hint| shared.key().verify(hint))
        .and_then(|claims| match claims.get("aud")? {
            Value::String(aud) => Some(aud.clone()),
            Value::Array(auds) => auds.first()?.as_str().map(str::to_owned),
            _ => None,
        });
    let client_id = params.client_id.clone().or(hinted);
    let origin = url.origin().ascii_serialization();
    let allowed = shared
        .clients
        .iter()
        .filter(|c| client_id.as_ref().is_none_or(|id| *id == c.client_id))
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|r| url::Url::parse(r).ok())
        .any(|r| r.origin().ascii_serialization() == origin);
    allowed.then_some(url)
}
