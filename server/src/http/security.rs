//! Security headers on every response, and the CSRF / Origin checks that
//! state-changing requests and WebSocket upgrades must pass.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::AppError;
use crate::state::AppState;

/// The header that carries the per-session CSRF token. A cross-site HTML form
/// cannot set custom headers, and a cross-site `fetch` with one triggers a CORS
/// preflight that we never approve.
pub const CSRF_HEADER: &str = "x-keyhole-csrf";

/// Adds the security headers to every response.
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/auth/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&state.assets.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` browsers send
    // `Origin: null` on same-origin POSTs, which would defeat our Origin check.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if state.config.public_url.scheme() == "https" {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    if is_api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Checks that a request comes from our own pages: the `Origin` header, when
/// present, must be the public origin exactly. Used for state-changing API
/// calls and for WebSocket upgrades (cross-site WebSocket hijacking).
pub fn check_origin(headers: &HeaderMap, public_origin: &str) -> Result<(), AppError> {
    match headers.get(header::ORIGIN) {
        None => Ok(()),
        Some(v) if v.as_bytes() == public_origin.as_bytes() => Ok(()),
        Some(v) => Err(AppError::Forbidden(format!(
            "cross-origin request refused (Origin {:?} is not {public_origin})",
            String::from_utf8_lossy(v.as_bytes())
        ))),
    }
}

/// Like [`check_origin`], but the header is required (WebSocket upgrades from
/// browsers always send it; a missing one means a non-browser client, which
/// must not ride on a browser session cookie).
pub fn require_origin(headers: &HeaderMap, public_origin: &str) -> Result<(), AppError> {
    if headers.get(header::ORIGIN).is_none() {
        return Err(AppError::Forbidden("missing Origin header".into()));
    }
    check_origin(headers, public_origin)
}

/// Constant-time check of the CSRF header against the session's token.
pub fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), AppError> {
    let got = headers
        .get(CSRF_HEADER)
        .map(http::HeaderValue::as_bytes)
        .unwrap_or_default();
    if !expected.is_empty() && constant_time_eq(got, expected.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "missing or wrong X-Keyhole-CSRF header; reload the page".into(),
        ))
    }
}

/// Compares without an early exit, so timing reveals nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_rules() {
        let mut h = HeaderMap::new();
        assert!(check_origin(&h, "http://127.0.0.1:8080").is_ok());
        assert!(require_origin(&h, "http://127.0.0.1:8080").is_err());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(require_origin(&h, "http://127.0.0.1:8080").is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.test"));
        assert!(check_origin(&h, "http://127.0.0.1:8080").is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&h, "http://127.0.0.1:8080").is_err());
    }

    #[test]
    fn csrf_rules() {
        let mut h = HeaderMap::new();
        assert!(check_csrf(&h, "tok").is_err());
        h.insert(CSRF_HEADER, HeaderValue::from_static("tok"));
        assert!(check_csrf(&h, "tok").is_ok());
        assert!(check_csrf(&h, "tok2").is_err());
        assert!(check_csrf(&h, "").is_err());
    }
}
