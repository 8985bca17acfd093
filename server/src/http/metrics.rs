//! `GET /metrics`: the Prometheus text exposition, for a scraper holding the metrics token.
//!
//! Fail closed: without a configured token (`[metrics]`, `KEYHOLE_METRICS_TOKEN`) the route
//! answers 404, so nothing is exposed by default. With one, only `Authorization: Bearer
//! <token>` is accepted (compared in constant time); a session cookie grants nothing, whoever
//! is signed in. Anything else is a 401 with `WWW-Authenticate: Bearer`. The token is never
//! logged. The database gauges are counted for each scrape.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::metrics::{CONTENT_TYPE, DbCounts};
use crate::state::AppState;
use crate::store::{Store, StoreError, now_unix};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

/// Whether `authorization` is `Bearer <token>` (scheme case-insensitive). Compares SHA-256
/// digests in constant time, so neither the token's bytes nor its length show in the timing.
pub fn bearer_matches(authorization: Option<&HeaderValue>, token: &str) -> bool {
    let Some(value) = authorization.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, given)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let given = Sha256::digest(given.trim().as_bytes());
    let expected = Sha256::digest(token.as_bytes());
    given.ct_eq(&expected).into()
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics.token else {
        return AppError::NotFound("no route /metrics".into()).into_response();
    };
    let authorization = headers.get(header::AUTHORIZATION);
    if !bearer_matches(authorization, token.expose()) {
        if authorization.is_some() {
            tracing::warn!("metrics scrape refused: wrong bearer token");
        }
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"keyhole metrics\"")],
            "the metrics token is required (Authorization: Bearer …)\n",
        )
            .into_response();
    }
    let db = db_counts(&state.store).await;
    match state.metrics.encode(&db) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Err(e) => AppError::internal(anyhow::anyhow!("encoding metrics: {e}")).into_response(),
    }
}

/// The scrape-time gauges; a count that fails is logged and left out of this scrape.
async fn db_counts(store: &Store) -> DbCounts {
    fn ok<T>(what: &str, r: Result<T, StoreError>) -> Option<T> {
        r.map_err(|e| tracing::warn!(error = %e, "metrics: cannot count {what}"))
            .ok()
    }
    let now = now_unix();
    DbCounts {
        grants_active: ok("active grants", store.count_active_grants(now).await),
        requests: ok("requests", store.count_requests_by_state(now).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(value: &str) -> bool {
        bearer_matches(
            Some(&HeaderValue::from_str(value).unwrap()),
            "0123456789abcdef",
        )
    }

    #[test]
    fn only_the_bearer_token_matches() {
        assert!(matches("Bearer 0123456789abcdef"));
        assert!(matches("bearer 0123456789abcdef"));
        assert!(!matches("Bearer 0123456789abcdeF"));
        assert!(!matches("Bearer 0123456789abcde"));
        assert!(!matches("Bearer 0123456789abcdef0"));
        assert!(!matches("Basic 0123456789abcdef"));
        assert!(!matches("0123456789abcdef"));
        assert!(!matches("Bearer"));
        assert!(!matches("Bearer "));
        assert!(!bearer_matches(None, "0123456789abcdef"));
    }
}
