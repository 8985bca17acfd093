//! The front channel: `GET /authorize` and the login form's `POST /login`.
//!
//! Order of checks follows RFC 6749 §4.1.2.1: until the client and its exact
//! redirect URI are known, errors are shown on a page; never redirect to an
//! unverified URI (that would make the issuer an open redirector). After that,
//! errors go back to the client as `error=…&state=…&iss=…`.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::pages;
use super::state::{
    AppState, AuthRequest, INTERACTION_TTL, Interaction, SESSION_COOKIE, SESSION_TTL, Shared,
    random_token, secret_eq, unix_now,
};

/// Query of `/authorize`. Unknown parameters are ignored, as OIDC requires.
#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeParams {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    prompt: Option<String>,
}

/// Body of `POST /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    /// The hidden field naming the pending interaction.
    interaction: String,
    /// Which user; absent when cancelling.
    username: Option<String>,
    /// Only checked for users that have one.
    password: Option<String>,
    /// `cancel` to abort the login.
    action: Option<String>,
}

/// `GET /authorize`.
pub(crate) async fn authorize(
    State(shared): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return pages::error(
            &shared,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed query",
        );
    };
    let Some(client) = params.client_id.as_deref().and_then(|id| shared.client(id)) else {
        return pages::error(
            &shared,
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client_id is missing or unknown",
        );
    };
    // Exact string comparison: `localhost` and `127.0.0.1` are different URIs.
    let redirect_uri = match params.redirect_uri {
        Some(uri) if client.redirect_uris.contains(&uri) => uri,
        _ => {
            return pages::error(
                &shared,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "redirect_uri is missing or not registered for this client",
            );
        }
    };
    let state = params.state;
    let fail = |error: &str, description: &str| {
        let mut query = vec![("error", error), ("error_description", description)];
        if let Some(state) = &state {
            query.push(("state", state));
        }
        redirect(&shared, &redirect_uri, &query)
    };

    if params.response_type.as_deref() != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let scope = params.scope.unwrap_or_default();
    if !scope.split_ascii_whitespace().any(|s| s == "openid") {
        return fail("invalid_scope", "scope must include openid");
    }
    // PKCE is mandatory, S256 only (RFC 9700 §2.1.1); a missing method means
    // `plain`, which we refuse.
    let Some(code_challenge) = params.code_challenge else {
        return fail(
            "invalid_request",
            "PKCE is required: send code_challenge (S256)",
        );
    };
    if params.code_challenge_method.as_deref() != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if !is_s256_challenge(&code_challenge) {
        return fail(
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        );
    }
    let prompts: Vec<&str> = params
        .prompt
        .as_deref()
        .unwrap_or("")
        .split_ascii_whitespace()
        .collect();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }

    let request = AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope,
        state: state.clone(),
        nonce: params.nonce,
        code_challenge,
    };
    let session = session_user(&shared, &headers);
    match session {
        // An existing IdP session skips the form unless the client insists.
        Some((username, auth_time)) if !prompts.contains(&"login") => {
            let code = shared.flows().new_code(request, &username, auth_time);
            success(&shared, &redirect_uri, &code, state.as_deref(), None)
        }
        _ if prompts.contains(&"none") => {
            fail("login_required", "no session at the identity provider")
        }
        _ => {
            let interaction = random_token();
            let pending = Interaction {
                request,
                expires_at: std::time::Instant::now() + INTERACTION_TTL,
            };
            let mut flows = shared.flows();
            flows.purge(std::time::Instant::now());
            flows.interactions.insert(interaction.clone(), pending);
            drop(flows);
            pages::login(
                &shared,
                StatusCode::OK,
                &interaction,
                &client.client_id,
                None,
            )
        }
    }
}

/// `POST /login`: the user picked an account, typed a password, or cancelled.
pub(crate) async fn login(
    State(shared): State<AppState>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return pages::error(
            &shared,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed login form",
        );
    };
    let request = {
        let flows = shared.flows();
        match flows.interactions.get(&form.interaction) {
            Some(i) if i.expires_at > std::time::Instant::now() => i.request.clone(),
            _ => {
                drop(flows);
                return pages::error(
                    &shared,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "this sign-in form has expired or was already used; start again from the application",
                );
            }
        }
    };
    if form.action.as_deref() == Some("cancel") {
        shared.flows().interactions.remove(&form.interaction);
        let mut query = vec![
            ("error", "access_denied"),
            ("error_description", "the user cancelled the sign-in"),
        ];
        if let Some(state) = &request.state {
            query.push(("state", state));
        }
        return redirect(&shared, &request.redirect_uri, &query);
    }
    let user = form.username.as_deref().and_then(|name| shared.user(name));
    let authenticated = match (user, &form.password) {
        (None, _) => false,
        // Click-to-login demo user: no password to check.
        (Some(user), _) if user.password.is_none() => true,
        (Some(user), Some(given)) => secret_eq(given, user.password.as_deref().unwrap_or_default()),
        (Some(_), None) => false,
    };
    let Some(user) = user.filter(|_| authenticated) else {
        // One message for unknown users and wrong passwords: no user enumeration.
        return pages::login(
            &shared,
            StatusCode::UNAUTHORIZED,
            &form.interaction,
            &request.client_id,
            Some("Unknown user or wrong password."),
        );
    };

    let auth_time = unix_now();
    let (code, session) = {
        let mut flows = shared.flows();
        // Single use: a second POST of the same form finds nothing.
        flows.interactions.remove(&form.interaction);
        let session = flows.new_session(&user.username, auth_time);
        let code = flows.new_code(request.clone(), &user.username, auth_time);
        (code, session)
    };
    success(
        &shared,
        &request.redirect_uri,
        &code,
        request.state.as_deref(),
        Some(&session),
    )
}

/// The redirect that hands a code back, optionally setting the session cookie.
fn success(
    shared: &Shared,
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    session: Option<&str>,
) -> Response {
    let mut query = vec![("code", code)];
    if let Some(state) = state {
        query.push(("state", state));
    }
    let mut response = redirect(shared, redirect_uri, &query);
    if let Some(session) = session {
        // No `Secure`: the issuer is plain http on loopback, and non-browser
        // test clients would not send a Secure cookie back over http.
        let cookie = format!(
            "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
            SESSION_TTL.as_secs()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A 302 to a registered redirect URI with `query` and `iss` (RFC 9207) added
/// to whatever query it already has.
pub(crate) fn redirect(shared: &Shared, redirect_uri: &str, query: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        // Registered URIs are checked at start-up, so this cannot happen.
        return pages::error(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "bad redirect_uri",
        );
    };
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
        pairs.append_pair("iss", &shared.issuer);
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// The user and `auth_time` of the browser's live IdP session, if any.
pub(crate) fn session_user(shared: &Shared, headers: &HeaderMap) -> Option<(String, u64)> {
    let id = session_cookie(headers)?;
    let flows = shared.flows();
    let session = flows.sessions.get(&id)?;
    (session.expires_at > std::time::Instant::now())
        .then(|| (session.username.clone(), session.auth_time))
}

/// The value of the `devidp_session` cookie.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Whether `challenge` looks like base64url(SHA-256(verifier)): 43 characters
/// of the base64url alphabet.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
