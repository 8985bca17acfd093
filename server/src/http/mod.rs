//! HTTP glue: merges the domain routers, serves the web app, adds the
//! security headers. Handlers live with their domain (`auth::routes`, …);
//! this module owns no business logic.
//!
//! - `observe.rs`: each request's span, request id and count; `metrics.rs`: `GET /metrics`.

pub mod assets;
mod health;
pub mod metrics;
pub mod observe;
pub mod security;

use axum::Router;
use axum::handler::HandlerWithoutStateExt;
use axum::http::header;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::error::AppError;
use crate::state::AppState;
use crate::store::WebSessionStore;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    // SPA: paths that are not files get index.html, with 200 for the app's routes (deep
    // links work) and 404 for anything else (the app shows its not-found page).
    let index = state.assets.dir.join("index.html");
    let spa = move |uri: Uri| spa_index(index.clone(), uri);
    let web = ServeDir::new(&state.assets.dir).fallback(spa.into_service());
    let api = Router::new()
        .merge(crate::auth::routes::api_router())
        .merge(crate::access::routes::api_router())
        .merge(crate::terminal::routes::api_router())
        .fallback(api_not_found);
    Router::new()
        .merge(health::router())
        .merge(metrics::router())
        .merge(crate::auth::routes::router())
        .nest("/api", api)
        .fallback_service(web)
        // Every state-changing request, wherever it is routed, must carry the
        // session's CSRF token and a same-origin Origin.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::web_session::csrf_guard,
        ))
        .layer(session_layer(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::headers,
        ))
        // Outermost: the request span covers every other layer, and the count sees the final
        // status. Applied per route, so axum's MatchedPath is known.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// Browser sessions: our own cookie name (the IdP's cookies reach us too,
/// since cookies ignore the port), HttpOnly, SameSite=Lax, Secure (browsers
/// accept Secure cookies on http://127.0.0.1 as well), idle expiry.
fn session_layer(state: &AppState) -> SessionManagerLayer<WebSessionStore> {
    let idle = time::Duration::seconds(state.config.session.idle_timeout.as_secs() as i64);
    SessionManagerLayer::new(WebSessionStore::new(state.store.clone()))
        .with_name(state.config.session.cookie_name.clone())
        .with_http_only(true)
        .with_secure(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// `index.html` for a path that is not a file of the web app: 200 for a route of the app
/// ([`assets::is_app_route`]), 404 otherwise. Read on every request, like the static files,
/// so a rebuilt `dist/` is picked up.
async fn spa_index(index: std::path::PathBuf, uri: Uri) -> Response {
    let status = if assets::is_app_route(uri.path()) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    match tokio::fs::read(&index).await {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The page names hashed assets; always ask for the current one.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response(),
        Err(e) => AppError::internal(anyhow::anyhow!("cannot read {}: {e}", index.display()))
            .into_response(),
    }
}

async fn api_not_found(uri: Uri) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        AppError::NotFound(format!("no API route {}", uri.path())),
    )
}
