//! Keyhole: just-in-time, least-privilege debugging access to Kubernetes from
//! a browser tab.
//!
//! # Layout
//! - [`config`]: TOML + `KEYHOLE_*` env → validated [`config::Config`].
//! - `dev` (feature `dev`): the development stand-ins of `--dev` (devstack's cluster, dev IdP);
//!   without the feature, `dev_disabled.rs` makes development mode a startup error.
//! - [`domain`]: the grant and the request/grant state machines; pure types.
//! - [`filter`]: understanding a command line (bash syntax tree → commands); pure, not enforced yet.
//! - [`http`]: router glue, static web app, security headers, health probes.
//! - [`auth`]: OIDC login, sessions, CSRF, roles from IdP groups.
//! - [`access`]: requests, approvals, time-bound grants, live events, webhooks.
//! - [`policy`]: the policy file (profiles, approvals, roles); pure decisions.
//! - [`store`]: SQLite/PostgreSQL state through one code path.
//! - [`kube`]: the Kubernetes client that impersonates grant holders.
//! - [`terminal`]: pods, logs and the browser terminal (WebSocket ↔ pods/exec).
//! - [`metrics`]: the Prometheus registry of one server; [`logging`]: the log subscriber.
//! - [`error`]: the HTTP error type.
//!
//! Dependencies point one way: `http` → feature modules (`auth`, `access`, `terminal`) →
//! `kube`, `store` → `domain`, `policy` → `config`. Feature modules never import `http` routes.
//!
//! This file is the composition root only: it builds the state, the routes and the background
//! tasks from the config (read once, never changed afterwards).
//!
//! [`run`] is what `keyhole serve` calls, and what the integration tests call
//! on port 0.

#![forbid(unsafe_code)]

pub mod access;
pub mod auth;
pub mod config;
#[cfg_attr(not(feature = "dev"), path = "dev_disabled.rs")]
pub mod dev;
pub mod domain;
pub mod error;
pub mod filter;
pub mod http;
pub mod kube;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod state;
pub mod store;
pub mod terminal;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{Auth, RoleSource};
use crate::config::{Config, KubernetesConfig, OidcConfig};
use crate::http::assets::WebAssets;
use crate::policy::PolicyHandle;
use crate::state::AppState;
use crate::store::{Store, WebSessionStore};

/// Things that must live as long as the server (development stand-ins, policy reloader).
struct Guards {
    _dev: Option<dev::StandIns>,
    reloader: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Guards {
    fn drop(&mut self) {
        if let Some(task) = self.reloader.take() {
            task.abort();
        }
    }
}

/// Builds everything from `config` and serves on `listener` until `shutdown`
/// resolves. Startup failures are returned before anything is served.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = CancellationToken::new();
    let (state, _guards) = build_state(config, token.clone()).await?;
    let store = state.store.clone();
    let deletion = WebSessionStore::new(store.clone()).spawn_expired_deletion();
    let heartbeat = terminal::replicas::spawn_heartbeat(store.clone(), token.clone());
    let app = http::router(state);
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "keyhole listening on http://{addr}");
    let stop = token.clone();
    // No Nagle: a terminal writes small frames back to back (an echo, then a notice), and the
    // second must not wait for the browser's delayed ACK of the first.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // The peer address (`ConnectInfo`) keys the failed-login rate limit (`auth::ratelimit`).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: closing sessions and connections");
            stop.cancel();
        })
        .await
        .context("server error")?;
    token.cancel();
    deletion.abort();
    heartbeat.abort();
    terminal::replicas::stop(&store).await;
    store.close().await;
    Ok(())
}

/// Builds everything from `config`, which is used as read: in development mode the
/// stand-ins' kubeconfig and IdP settings are used beside it, in place of the missing sections.
async fn build_state(
    config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<(AppState, Guards)> {
    let assets = WebAssets::load(&config.dist_dir)?;
    let metrics = metrics::Metrics::new();
    let store = Store::connect(config.database_url.expose())
        .await
        .context("cannot open the database")?
        .with_metrics(metrics.clone());
    terminal::replicas::start(&store).await?;
    let (policy, reloader) = policy::load_and_watch(config.policy_file.as_deref())?;
    let stand_ins = if config.dev {
        Some(dev::StandIns::start(&config).await?)
    } else {
        None
    };
    let (kubernetes, oidc, dev_idp) = upstreams(&config, stand_ins.as_ref())?;
    let dev_cluster = stand_ins.as_ref().is_some_and(|s| s.kubernetes.is_some());
    let keepalive = config.terminal.keepalive;
    let kube = kube::KubeGateway::from_config(&kubernetes)
        .await
        .context("cannot configure the Kubernetes client")?;
    let roles: Arc<dyn RoleSource> = Arc::new(policy.clone());
    let auth = Arc::new(Auth::new(oidc, dev_idp, roles)?);
    auth.spawn_discovery(shutdown.clone()).await;
    let access = access::Access::start_with(
        store.clone(),
        policy.clone(),
        config.public_url.clone(),
        shutdown.clone(),
        access::LeaseConfig {
            recheck: config.access.recheck,
            grace: config.access.verify_grace,
            idle: config.session.idle_timeout,
        },
    );
    let state = AppState {
        config: Arc::new(config),
        store,
        assets: Arc::new(assets),
        auth,
        policy,
        access,
        terminal: terminal::Terminal {
            dev_cluster,
            ..terminal::Terminal::new(kube, keepalive, metrics.clone())
        },
        metrics,
        shutdown,
    };
    Ok((
        state,
        Guards {
            _dev: stand_ins,
            reloader,
        },
    ))
}

/// What the gateway talks to: the configured `[kubernetes]` and `[oidc]`, or, for a section
/// the config leaves out, what a development stand-in provides. The last value is `true` when
/// the development IdP is the one in use.
fn upstreams(
    config: &Config,
    stand_ins: Option<&dev::StandIns>,
) -> anyhow::Result<(KubernetesConfig, OidcConfig, bool)> {
    let kubernetes = match stand_ins.and_then(|s| s.kubernetes.clone()) {
        Some(dev) => dev,
        None => config.kubernetes.clone(),
    };
    let (oidc, dev_idp) = match (stand_ins.and_then(|s| s.oidc.clone()), &config.oidc) {
        (Some(dev), _) => (dev, true),
        (None, Some(oidc)) => (oidc.clone(), false),
        // Config::from_raw refuses this outside development mode.
        (None, None) => anyhow::bail!("no [oidc] configured"),
    };
    Ok((kubernetes, oidc, dev_idp))
}

impl RoleSource for PolicyHandle {
    fn roles_for(&self, groups: &[String]) -> Vec<keyhole_protocol::api::Role> {
        self.current().roles_for(groups)
    }
}
