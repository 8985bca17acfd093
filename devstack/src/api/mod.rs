//! The HTTP surface: routes, shared state, and the admission middleware every request passes.
//!
//! - [`auth`]: bearer token → impersonation → RBAC → audit (one middleware).
//! - [`discovery`]: `/version`, `/api`, `/apis`, resource lists.
//! - [`pods`] + [`render`]: pods and namespaces, as JSON objects or `Table`s.
//! - [`streams`]: exec, attach, log (and clear refusals for SPDY, portforward, debug).
//! - [`reviews`]: SelfSubjectAccessReview (JSON and kubectl's protobuf) and SubjectAccessReview.
//! - [`request_info`], [`selector`], [`status`]: pure helpers.

pub mod auth;
pub mod discovery;
pub mod pods;
pub mod render;
pub mod request_info;
pub mod reviews;
pub mod selector;
pub mod status;
pub mod streams;

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};
use tokio_util::sync::CancellationToken;

use crate::audit::AuditLog;
use crate::cluster::Cluster;
use crate::logs::LogHub;
use crate::podfs::PodFs;
use status::ApiError;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

/// The shared part of [`AppState`].
pub struct Shared {
    /// Served objects, tokens and RBAC (read-only after start).
    pub cluster: Cluster,
    /// Where pods' working directories and logs live.
    pub podfs: PodFs,
    /// The audit log, if enabled.
    pub audit: Option<AuditLog>,
    /// Followed logs and their ticker.
    pub logs: Arc<LogHub>,
    /// Fires on shutdown; long-lived streams and sessions watch it.
    pub shutdown: CancellationToken,
    /// Shown as the namespaces' creation time.
    pub cluster_created: time::OffsetDateTime,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// All routes, behind the admission middleware.
pub fn router(state: AppState) -> Router {
    const POD: &str = "/api/v1/namespaces/{ns}/pods/{name}";
    Router::new()
        .route("/version", get(discovery::version))
        .route("/healthz", get(discovery::ok))
        .route("/livez", get(discovery::ok))
        .route("/readyz", get(discovery::ok))
        .route("/api", get(discovery::api_versions))
        .route("/apis", get(discovery::api_groups))
        .route("/api/v1", get(discovery::core_v1))
        .route(
            "/apis/authorization.k8s.io/v1",
            get(discovery::authorization_v1),
        )
        .route("/api/v1/namespaces", get(pods::list_namespaces))
        .route("/api/v1/namespaces/{ns}", get(pods::get_namespace))
        .route("/api/v1/pods", get(pods::list_all_pods))
        .route("/api/v1/namespaces/{ns}/pods", get(pods::list_pods))
        .route(POD, get(pods::get_pod))
        .route(
            &format!("{POD}/exec"),
            get(streams::exec).post(streams::spdy),
        )
        .route(
            &format!("{POD}/attach"),
            get(streams::attach).post(streams::spdy),
        )
        .route(&format!("{POD}/log"), get(streams::log))
        .route(&format!("{POD}/portforward"), any(streams::unsupported))
        .route(
            &format!("{POD}/ephemeralcontainers"),
            any(streams::unsupported),
        )
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            post(reviews::self_subject),
        )
        .route(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            post(reviews::subject),
        )
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::admit,
        ))
        .with_state(state)
}
