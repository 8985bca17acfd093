//! Keyhole: just-in-time, least-privilege debugging access to Kubernetes from
//! a browser tab.
//!
//! # Layout
//! - [`config`]: TOML + `KEYHOLE_*` env → validated [`config::Config`].
//! - [`http`]: router glue, static web app, security headers, health probes.
//! - [`auth`]: OIDC login, sessions, CSRF, roles from IdP groups.
//! - [`access`]: requests, approvals, time-bound grants, live events, webhooks.
//! - [`policy`]: the policy file (profiles, approvals, roles); pure decisions.
//! - [`store`]: SQLite/PostgreSQL state through one code path.
//! - [`kube`]: the Kubernetes client that impersonates grant holders.
//! - [`terminal`]: pods, logs and the browser terminal (WebSocket ↔ pods/exec).
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
pub mod error;
pub mod http;
pub mod kube;
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
use crate::config::{Config, KubernetesConfig, OidcConfig, Secret};
use crate::http::assets::WebAssets;
use crate::policy::{Policy, PolicyHandle};
use crate::state::AppState;
use crate::store::{SessionStore, Store};

/// Things that must live as long as the server (embedded dev services).
struct Guards {
    _idp: Option<devstack::idp::RunningIdp>,
    _cluster: Option<devstack::RunningKube>,
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
    let deletion = tokio::spawn(delete_expired_sessions(SessionStore::new(store.clone())));
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
    store.close().await;
    Ok(())
}

async fn build_state(
    mut config: Config,
    shutdown: CancellationToken,
) -> anyhow::Result<(AppState, Guards)> {
    let assets = WebAssets::load(&config.dist_dir)?;
    let store = Store::connect(config.database_url.expose())
        .await
        .context("cannot open the database")?;
    match store.end_orphan_terminal_sessions().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            sessions = n,
            "marked terminal sessions left open by a previous run as ended (reason: error)"
        ),
        Err(e) => tracing::warn!(error = %e, "could not close terminal sessions of a previous run"),
    }
    let (policy, reloader) = load_policy(&config)?;
    let cluster_guard = match config.kubernetes {
        KubernetesConfig::Embedded => {
            let (running, path) = start_dev_cluster(&config).await?;
            // From here on the embedded cluster is reached exactly like a real
            // one: through a kubeconfig, as the impersonate-only gateway.
            config.kubernetes = KubernetesConfig::Kubeconfig {
                path,
                context: Some("gateway".into()),
            };
            Some(running)
        }
        _ => None,
    };
    let keepalive = config.terminal.keepalive;
    let kube = kube::KubeGateway::from_config(&config.kubernetes)
        .await
        .context("cannot configure the Kubernetes client")?;
    let roles: Arc<dyn RoleSource> = Arc::new(policy.clone());
    let (oidc, dev_idp, idp_guard) = match &config.oidc {
        Some(oidc) => (oidc.clone(), false, None),
        None => {
            let (oidc, running) = start_dev_idp(&config).await?;
            (oidc, true, Some(running))
        }
    };
    let auth = Arc::new(Auth::new(oidc, dev_idp, roles)?);
    auth.spawn_discovery(shutdown.clone()).await;
    let access = access::Access::start(
        store.clone(),
        policy.clone(),
        config.public_url.clone(),
        shutdown.clone(),
    );
    let state = AppState {
        config: Arc::new(config),
        store,
        assets: Arc::new(assets),
        auth,
        policy,
        access,
        terminal: terminal::Terminal::new(kube, keepalive),
        shutdown,
    };
    Ok((
        state,
        Guards {
            _idp: idp_guard,
            _cluster: cluster_guard,
            reloader,
        },
    ))
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

/// The embedded default: devstack's Kubernetes-compatible API server,
/// in-process on a loopback port, with the built-in demo cluster. Writes a
/// kubeconfig (contexts `admin` and `gateway`) under `<data_dir>/devstack/`.
async fn start_dev_cluster(
    config: &Config,
) -> anyhow::Result<(devstack::RunningKube, std::path::PathBuf)> {
    let dir = config.data_dir.join("devstack");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let running = devstack::start_kube(devstack::KubeOptions {
        cluster: devstack::Cluster::builtin(),
        https_listen: "127.0.0.1:0".parse()?,
        http_listen: None,
        audit_log: Some(dir.join("audit.log")),
        state_dir: dir.clone(),
    })
    .await
    .context("cannot start the development cluster")?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, running.kubeconfig_yaml())
        .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
    tracing::warn!(
        server = %running.https_url,
        kubeconfig = %kubeconfig.display(),
        "no [kubernetes] configured: using the built-in DEVELOPMENT cluster (devstack; loopback only). \
         Try: kubectl --kubeconfig {} --context admin get pods",
        kubeconfig.display()
    );
    Ok((running, kubeconfig))
}

/// The embedded default: devstack's development OIDC issuer, in-process, on a
/// loopback port, with a client registered for our callback.
async fn start_dev_idp(config: &Config) -> anyhow::Result<(OidcConfig, devstack::idp::RunningIdp)> {
    tracing::warn!(
        "no [oidc] configured: using the built-in DEVELOPMENT identity provider \
         (demo users alice, bob, carol; no passwords). Never use this in production."
    );
    let redirect_url = config.public_url.join("auth/callback")?;
    let secret = format!("dev-{}", uuid::Uuid::new_v4().simple());
    let opts = devstack::idp::IdpOptions {
        listen: "127.0.0.1:0".parse()?,
        clients: vec![devstack::idp::IdpClient {
            client_id: "keyhole-dev".into(),
            client_secret: secret.clone(),
            redirect_uris: vec![redirect_url.to_string()],
        }],
        ..Default::default()
    };
    let running = devstack::idp::start(opts)
        .await
        .context("cannot start the development IdP")?;
    let oidc = OidcConfig {
        issuer: running.issuer().to_owned(),
        client_id: "keyhole-dev".into(),
        client_secret: Secret::new(secret),
        redirect_url,
        scopes: ["openid", "profile", "email", "groups"]
            .map(String::from)
            .to_vec(),
        groups_claim: "groups".into(),
    };
    Ok((oidc, running))
}
