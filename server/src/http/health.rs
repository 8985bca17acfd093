//! Liveness (`/healthz`) and readiness (`/readyz`) probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use keyhole_protocol::api::{Health, HealthCheck};

use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving: no dependency is consulted.
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        checks: Vec::new(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Ready when the database answers and the identity provider's discovery
/// document has been loaded; 503 otherwise, with the failing checks.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ping = {
        let _timer = state.metrics.db_timer("readiness_ping");
        state.store.ping().await
    };
    let db = match ping {
        Ok(()) => HealthCheck {
            name: "database".into(),
            ok: true,
            detail: "ok".into(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database");
            HealthCheck {
                name: "database".into(),
                ok: false,
                detail: "database unreachable".into(),
            }
        }
    };
    let idp = match state.auth.provider_status() {
        Ok(()) => HealthCheck {
            name: "identity_provider".into(),
            ok: true,
            detail: "ok".into(),
        },
        Err(detail) => {
            // The IdP's error text (addresses, TLS and HTTP details) is for operators,
            // not for anonymous callers of a public probe.
            tracing::warn!(%detail, "readiness: identity provider");
            HealthCheck {
                name: "identity_provider".into(),
                ok: false,
                detail: "identity provider unreachable".into(),
            }
        }
    };
    let checks = vec![db, idp];
    let ready = checks.iter().all(|c| c.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if ready { "ok" } else { "not_ready" }.into(),
            checks,
            version: env!("CARGO_PKG_VERSION").into(),
        }),
    )
}
