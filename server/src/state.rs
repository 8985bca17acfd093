//! Shared application state: a `Clone` struct of cheap handles, given to every
//! handler through axum's `State`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::access::Access;
use crate::auth::Auth;
use crate::config::Config;
use crate::http::assets::WebAssets;
use crate::policy::PolicyHandle;
use crate::store::Store;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// The built web app and its CSP.
    pub assets: Arc<WebAssets>,
    /// OIDC login and role mapping.
    pub auth: Arc<Auth>,
    /// The access policy (hot-reloaded; last good kept).
    pub policy: PolicyHandle,
    /// The access broker: requests, reviews, grants, live events.
    pub access: Access,
    /// Pods, logs and terminals (the impersonating Kubernetes client, session hooks).
    pub terminal: crate::terminal::Terminal,
    /// This server's Prometheus metrics (`/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Cancelled when the server shuts down; long-lived streams watch it.
    pub shutdown: CancellationToken,
}
