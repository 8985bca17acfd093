//! The back channel: `POST /token` (authorization code grant only) and
//! `/userinfo`.

use std::time::Instant;

use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::keys::{SigningKey, b64_json};
use super::state::{AccessToken, AppState, Shared, random_token, secret_eq, unix_now};
use super::{IdTokenOverride, IdpClient, IdpUser};

/// Body of `POST /token`.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An OAuth error response from the token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
struct TokenError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    /// The client tried HTTP Basic, so a 401 must carry a Basic challenge.
    basic_challenge: bool,
}

impl TokenError {
    fn bad_request(error: &'static str, description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description,
            basic_challenge: false,
        }
    }

    fn invalid_grant(description: &'static str) -> Self {
        Self::bad_request("invalid_grant", description)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"devidp\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`: token responses must not
/// be cached anywhere (RFC 6749 §5.1).
fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// `POST /token`.
pub(crate) async fn token(
    State(shared): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return TokenError::bad_request("invalid_request", "malformed form body").into_response();
    };
    match exchange_code(&shared, &headers, form).await {
        Ok(body) => (StatusCode::OK, no_store(), Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn exchange_code(
    shared: &Shared,
    headers: &HeaderMap,
    form: TokenForm,
) -> Result<Value, TokenError> {
    let client = authenticate_client(shared, headers, &form)?;
    if form.grant_type.as_deref() != Some("authorization_code") {
        return Err(TokenError::bad_request(
            "unsupported_grant_type",
            "only authorization_code is supported",
        ));
    }
    let Some(code) = form.code else {
        return Err(TokenError::bad_request(
            "invalid_request",
            "code is required",
        ));
    };

    let (request, username, auth_time, access_token, id_token_override) = {
        let mut flows = shared.flows();
        let Some(grant) = flows.codes.get_mut(&code) else {
            return Err(TokenError::invalid_grant("unknown or expired code"));
        };
        if grant.redeemed {
            // A replayed code means it leaked: revoke what it bought.
            let revoked = grant.access_token.take();
            if let Some(token) = revoked {
                flows.access_tokens.remove(&token);
            }
            return Err(TokenError::invalid_grant("code already used"));
        }
        // Any redemption attempt uses the code up, including failed ones:
        // a guessed PKCE verifier gets exactly one try.
        grant.redeemed = true;
        if grant.request.client_id != client.client_id {
            return Err(TokenError::invalid_grant(
                "code was issued to another client",
            ));
        }
        if grant.expires_at <= Instant::now() {
            return Err(TokenError::invalid_grant("code expired"));
        }
        if form.redirect_uri.as_deref() != Some(grant.request.redirect_uri.as_str()) {
            return Err(TokenError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        if !pkce_matches(form.code_verifier.as_deref(), &grant.request.code_challenge) {
            return Err(TokenError::invalid_grant("PKCE verification failed"));
        }
        let access_token = random_token();
        grant.access_token = Some(access_token.clone());
        let (request, username, auth_time) = (
            grant.request.clone(),
            grant.username.clone(),
            grant.auth_time,
        );
        let expires_at = Instant::now() + shared.token_ttl;
        flows.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                username: username.clone(),
                expires_at,
            },
        );
        (
            request,
            username,
            auth_time,
            access_token,
            flows.next_id_token_override.take(),
        )
    };

    let Some(user) = shared.user(&username) else {
        return Err(TokenError::invalid_grant("user no longer exists"));
    };
    let mut claims = id_token_claims(shared, user, &request.client_id, auth_time);
    if let Some(nonce) = &request.nonce {
        claims["nonce"] = json!(nonce);
    }
    let id_token = sign_id_token(shared, &claims, id_token_override).await;
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": shared.token_ttl.as_secs(),
        "id_token": id_token,
        "scope": request.scope,
    }))
}

/// Signs the ID token, spoiled by the test hook if one is set.
async fn sign_id_token(shared: &Shared, claims: &Value, spoil: Option<IdTokenOverride>) -> String {
    let key = shared.key();
    match spoil {
        None => key.sign(claims),
        Some(IdTokenOverride::Claims(patch)) => {
            let mut claims = claims.clone();
            merge(&mut claims, &patch);
            key.sign(&claims)
        }
        Some(IdTokenOverride::Raw(token)) => token,
        Some(IdTokenOverride::WrongKey) => {
            // Same `kid` as the real key, so only a signature check catches it.
            let kid = key.kid().to_owned();
            match tokio::task::spawn_blocking(SigningKey::generate).await {
                Ok(Ok(rogue)) => rogue.sign_with_kid(claims, &kid),
                _ => "wrong-key-generation-failed".to_owned(),
            }
        }
        Some(IdTokenOverride::Tampered(patch)) => {
            let signed = key.sign(claims);
            let mut tampered = claims.clone();
            merge(&mut tampered, &patch);
            let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
            parts[1] = b64_json(&tampered);
            parts.join(".")
        }
    }
}

/// Shallow JSON merge: each key of `patch` replaces the same key of `target`;
/// a `null` removes it.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    let (Some(target), Some(patch)) = (target.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (k, v) in patch {
        if v.is_null() {
            target.remove(k);
        } else {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// The claims of an ID token for `user` and `client_id`, without `nonce`.
pub(crate) fn id_token_claims(
    shared: &Shared,
    user: &IdpUser,
    client_id: &str,
    auth_time: u64,
) -> Value {
    let now = unix_now();
    let mut claims = user_claims(user);
    let extra = json!({
        "iss": shared.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + shared.token_ttl.as_secs(),
        "auth_time": auth_time,
    });
    merge(&mut claims, &extra);
    claims
}

/// The identity claims, shared by the ID token and `/userinfo`.
fn user_claims(user: &IdpUser) -> Value {
    json!({
        "sub": user.sub,
        "email": user.email,
        "email_verified": true,
        "name": user.name,
        "preferred_username": user.username,
        "groups": user.groups,
    })
}

/// Client authentication: `client_secret_basic` or `client_secret_post`,
/// exactly one of them.
fn authenticate_client<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    form: &TokenForm,
) -> Result<&'a IdpClient, TokenError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim());
    let unauthorized = TokenError {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "client authentication failed",
        basic_challenge: basic.is_some(),
    };
    let (client_id, secret) = match (basic, &form.client_secret) {
        (Some(_), Some(_)) => {
            return Err(TokenError::bad_request(
                "invalid_request",
                "use exactly one client authentication method",
            ));
        }
        (Some(creds), None) => {
            let Some((id, secret)) = decode_basic(creds) else {
                return Err(unauthorized);
            };
            if form
                .client_id
                .as_ref()
                .is_some_and(|form_id| *form_id != id)
            {
                return Err(TokenError::bad_request(
                    "invalid_request",
                    "client_id does not match",
                ));
            }
            (id, secret)
        }
        (None, Some(secret)) => (form.client_id.clone().unwrap_or_default(), secret.clone()),
        (None, None) => return Err(unauthorized),
    };
    match shared.client(&client_id) {
        Some(client) if secret_eq(&secret, &client.client_secret) => Ok(client),
        _ => Err(unauthorized),
    }
}

/// Decodes `base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn decode_basic(creds: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(creds).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value.
fn form_decode(value: &str) -> String {
    // Prefix a key so `=` and `&` (which a conforming client percent-encodes
    // anyway) cannot split the value.
    url::form_urlencoded::parse(format!("v={}", value.replace('&', "%26")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// PKCE S256 (RFC 7636 §4.6): the verifier is 43–128 unreserved characters
/// and hashes to the challenge.
fn pkce_matches(verifier: Option<&str>, challenge: &str) -> bool {
    let Some(verifier) = verifier else {
        return false;
    };
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed && secret_eq(&B64.encode(Sha256::digest(verifier.as_bytes())), challenge)
}

/// `GET`/`POST /userinfo` with `Authorization: Bearer <access token>`.
pub(crate) async fn userinfo(State(shared): State<AppState>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let username = token.and_then(|token| {
        let flows = shared.flows();
        let access = flows.access_tokens.get(&token)?;
        (access.expires_at > Instant::now()).then(|| access.username.clone())
    });
    match username.as_deref().and_then(|name| shared.user(name)) {
        Some(user) => (StatusCode::OK, no_store(), Json(user_claims(user))).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_checks_s256_and_verifier_shape() {
        // The example from RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(Some(verifier), challenge));
        assert!(!pkce_matches(Some(&verifier.replace('d', "e")), challenge));
        assert!(!pkce_matches(None, challenge));
        assert!(!pkce_matches(Some("short"), challenge));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let creds = STANDARD.encode("my%20client:s%3Ac+r%26t");
        assert_eq!(
            decode_basic(&creds),
            Some(("my client".into(), "s:c r&t".into()))
        );
    }

    #[test]
    fn merge_sets_and_removes() {
        let mut v = json!({ "a": 1, "b": 2 });
        merge(&mut v, &json!({ "a": 3, "b": null, "c": 4 }));
        assert_eq!(v, json!({ "a": 3, "c": 4 }));
    }
}
