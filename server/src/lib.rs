//! Keyhole: just-in-time, least-privilege debugging access to Kubernetes from
//! a browser tab.
//!
//! # Layout
//! - [`config`]: TOML + `KEYHOLE_*` env → validated [`config::Config`].
//! - `dev` (feature `dev`): the development stand-ins of `--dev` (devstack's cluster, dev IdP).
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
//! Dependencies point one way: `http` → domain modules (`auth`, …) →
//! `policy`, `store` → `config`. Domain modules never import `http` routes.
//!
//! [`run`] is what `keyhole serve` calls, and what the integration tests call
//! on port 0.

#![forbid(unsafe_code)]

pub mod access;
pub mod auth;
pub mod config;
#[cfg(feature = "dev")]
pub mod dev;
pub mod error;
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
use tower_sessions::session_store::ExpiredDeletion;

use crate::auth::{Auth, RoleSource};
use crate::config::{Config, KubernetesConfig, OidcConfig};
use crate::http::assets::WebAssets;
use crate::policy::{Policy, PolicyHandle};
use crate::state::AppState;
use crate::store::{SessionStore, Store};

/// Things that must live as long as the server (development stand-ins, policy reloader).
struct Guards {
    _dev: Option<dev::StandIns>,
    reloader: Option<tokio::task::JoinHandle<()>>,
}

/// The startup error of a build without the `dev` feature asked for development mode.
const NO_DEV_FEATURE: &str = "development mode was asked for (--dev, dev = true or KEYHOLE_DEV), \
     but this build has no development stand-ins; it was built without the `dev` feature";

/// A build without the `dev` feature has no stand-ins: development mode is a startup error.
#[cfg(not(feature = "dev"))]
mod dev {
    use crate::config::{Config, KubernetesConfig, OidcConfig};

    pub struct StandIns {
        pub kubernetes: Option<KubernetesConfig>,
        pub oidc: Option<OidcConfig>,
    }

    impl StandIns {
        pub async fn start(_config: &Config) -> anyhow::Result<StandIns> {
            anyhow::bail!(super::NO_DEV_FEATURE)
        }
    }
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
    let deletion = tokio::spawn(delete_expired_sessions(SessionStore::new(store.clone())));
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
    if config.dev && !cfg!(feature = "dev") {
        anyhow::bail!(NO_DEV_FEATURE);
    }
    let assets = WebAssets::load(&config.dist_dir)?;
    let metrics = metrics::Metrics::new();
    let store = Store::connect(config.database_url.expose())
        .await
        .context("cannot open the database")?
        .with_metrics(metrics.clone());
    terminal::replicas::start(&store).await?;
    let (policy, reloader) = load_policy(&config)?;
    let stand_ins = if config.dev {
        Some(dev::StandIns::start(&config).await?)
    } else {
        None
    };
    let (kubernetes, oidc, dev_idp) = upstreams(&config, stand_ins.as_ref())?;
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
        terminal: terminal::Terminal::new(kube, keepalive, metrics.clone()),
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

/// Loads the policy file (or the built-in demo policy) and, for a file,
/// starts watching it: a changed file is reloaded, an invalid one is logged
/// and the last good policy stays in force. An invalid file at startup is a
/// startup error: we fail closed rather than run without a policy.
fn load_policy(
    config: &Config,
) -> anyhow::Result<(PolicyHandle, Option<tokio::task::JoinHandle<()>>)> {
    let Some(path) = &config.policy_file else {
        tracing::info!("no policy file configured: using the built-in demo policy");
        return Ok((PolicyHandle::new(Policy::builtin()), None));
    };
    let policy =
        Policy::from_file(path).map_err(|e| anyhow::anyhow!("{}", e.lines().join("; ")))?;
    tracing::info!(file = %path.display(), profiles = policy.profiles().len(), "policy loaded");
    let handle = PolicyHandle::new(policy);
    let task = policy::spawn_reloader(handle.clone(), path.clone(), |status| {
        if status.ok {
            tracing::info!("policy reloaded");
        } else {
            tracing::error!(errors = ?status.errors, "policy reload failed; keeping the last good policy");
        }
    });
    Ok((handle, Some(task)))
}

impl RoleSource for PolicyHandle {
    fn roles_for(&self, groups: &[String]) -> Vec<keyhole_protocol::api::Role> {
        self.current().roles_for(groups)
    }
}

/// Removes expired sessions every five minutes.
async fn delete_expired_sessions(sessions: SessionStore) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        tick.tick().await;
        if let Err(e) = sessions.delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
    }
}
