//! Every HTTP request's span and count: a `request` span (method, route template,
//! `request_id`, and `user` once the [`CurrentUser`](crate::auth::session::CurrentUser)
//! extractor knows it) around the whole handling, the `x-request-id` echoed in the response,
//! and `keyhole_http_requests_total{method, route, status}`.
//!
//! The span travels in the request's extensions ([`RequestSpan`]), so the user is recorded into
//! it wherever it is extracted, even under the spans of inner layers (tower-sessions adds one).
//!
//! The route is axum's [`MatchedPath`] (`/api/grants/{grant}/pods`), never the path itself,
//! so neither ids nor query strings (which may carry an OAuth `code`) reach logs or labels;
//! requests no route matched are `unmatched`. Headers are never logged.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::state::AppState;

/// The request id header, read and echoed.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest incoming request id that is kept, in bytes.
pub const MAX_REQUEST_ID: usize = 64;

/// The route label and span field of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The request's span, in its extensions.
#[derive(Clone, Debug)]
pub struct RequestSpan(pub tracing::Span);

/// Records the signed-in user (IdP subject) into the request's span.
pub fn record_user(parts: &Parts, subject: &str) {
    if let Some(RequestSpan(span)) = parts.extensions.get::<RequestSpan>() {
        span.record("user", subject);
    }
}

/// An incoming request id worth keeping: 1–64 printable ASCII characters, no spaces. Anything
/// else (long, control characters, non-ASCII) could forge or bloat log lines, and is
/// replaced by a fresh id.
pub fn accept_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= MAX_REQUEST_ID
        && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| text.to_owned())
}

/// The middleware (outermost layer of the router, applied per route).
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = accept_request_id(req.headers().get(REQUEST_ID))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %request_id,
        user = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestSpan(span.clone()));
    let start = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    span.in_scope(|| {
        let elapsed_ms = start.elapsed().as_millis() as u64;
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), elapsed_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request");
        }
    });
    state.metrics.http_request(&method, &route, status.as_u16());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(raw: &[u8]) -> Option<String> {
        accept_request_id(Some(&HeaderValue::from_bytes(raw).unwrap()))
    }

    #[test]
    fn short_printable_ids_are_kept() {
        assert_eq!(accept(b"abc-123").as_deref(), Some("abc-123"));
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(accept(uuid.as_bytes()).as_deref(), Some(uuid));
        let max = "x".repeat(MAX_REQUEST_ID);
        assert_eq!(accept(max.as_bytes()), Some(max));
    }

    #[test]
    fn long_empty_or_unprintable_ids_are_replaced() {
        assert_eq!(accept_request_id(None), None);
        assert_eq!(accept(b""), None);
        assert_eq!(accept("x".repeat(MAX_REQUEST_ID + 1).as_bytes()), None);
        for bad in [&b"two words"[..], b"tab\there", b"caf\xc3\xa9", b"nul\x01"] {
            assert_eq!(
                accept_request_id(HeaderValue::from_bytes(bad).ok().as_ref()),
                None
            );
        }
    }
}
