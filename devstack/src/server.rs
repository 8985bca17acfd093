//! Starting and stopping the API server: loopback check, certificates, pod directories,
//! listeners (HTTPS, optionally plain HTTP for kube-rs tests), the log ticker.
//!
//! Designed for embedding: `keyhole` runs it in-process as its default cluster and tests start
//! it on port 0. Dropping [`RunningKube`] stops everything (sessions included: their processes
//! are killed); [`RunningKube::shutdown`] also waits for the listeners to finish.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState, Shared};
use crate::audit::AuditLog;
use crate::cluster::Cluster;
use crate::kubeconfig::{self, KubeconfigParams};
use crate::logs::LogHub;
use crate::podfs::PodFs;
use crate::tls;

/// Refusal to listen on a non-loopback address.
#[derive(Debug, thiserror::Error)]
#[error(
    "devstack refuses to listen on {0}: it serves well-known tokens and runs commands on this machine, \
     so it binds loopback addresses only (127.0.0.0/8 or ::1)"
)]
pub struct NotLoopback(pub SocketAddr);

/// What to start.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Served content.
    pub cluster: Cluster,
    /// HTTPS listen address (loopback; port 0 picks one).
    pub https_listen: SocketAddr,
    /// Optional plain-HTTP listener. kube-rs sends tokens over it; kubectl does not.
    pub http_listen: Option<SocketAddr>,
    /// Where to append audit events, if anywhere.
    pub audit_log: Option<PathBuf>,
    /// Pods' working directories and logs go under `<state_dir>/pods/`.
    pub state_dir: PathBuf,
}

impl KubeOptions {
    /// The built-in cluster on `127.0.0.1:0` (HTTPS only), no audit log.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            cluster: Cluster::builtin(),
            https_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: None,
            audit_log: None,
            state_dir: state_dir.into(),
        }
    }
}

/// A running devstack API server.
#[derive(Debug)]
pub struct RunningKube {
    /// `https://127.0.0.1:<port>`.
    pub https_url: String,
    /// `http://127.0.0.1:<port>` when a plain listener was asked for.
    pub http_url: Option<String>,
    /// The generated CA, PEM.
    pub ca_pem: String,
    /// The generated CA, DER (for `kube::Config::root_cert`).
    pub ca_der: Vec<u8>,
    /// Bearer token of the `admin` context (cluster-admin).
    pub admin_token: String,
    /// Bearer token of the `gateway` context (the keyhole gateway service account).
    pub gateway_token: String,
    /// The audit log file, if enabled.
    pub audit_log: Option<PathBuf>,
    /// The state directory.
    pub state_dir: PathBuf,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the API server.
pub async fn start_kube(opts: KubeOptions) -> anyhow::Result<RunningKube> {
    for addr in std::iter::once(opts.https_listen).chain(opts.http_listen) {
        if !addr.ip().is_loopback() {
            return Err(NotLoopback(addr).into());
        }
    }
    let token = |ctx: &str| {
        opts.cluster
            .token_for_context(ctx)
            .map(|t| t.token.clone())
            .with_context(|| format!("the cluster file has no token with `context: {ctx}`"))
    };
    let (admin_token, gateway_token) = (token("admin")?, token("gateway")?);
    let certs = tls::generate(Some(opts.https_listen.ip()))?;
    // Absolute, because it becomes HOME and the working directory of exec'd processes.
    std::fs::create_dir_all(&opts.state_dir)
        .with_context(|| format!("creating {}", opts.state_dir.display()))?;
    let state_dir = std::fs::canonicalize(&opts.state_dir)?;
    let podfs = PodFs::new(&state_dir);
    podfs.populate(&opts.cluster).with_context(|| {
        format!(
            "creating pod directories under {}",
            opts.state_dir.display()
        )
    })?;
    let audit = opts.audit_log.as_deref().map(AuditLog::open).transpose()?;

    let shutdown = CancellationToken::new();
    let logs = Arc::new(LogHub::default());
    let state = AppState(Arc::new(Shared {
        cluster: opts.cluster,
        podfs,
        audit,
        logs: logs.clone(),
        shutdown: shutdown.clone(),
        cluster_created: time::OffsetDateTime::now_utc() - time::Duration::days(3),
    }));
    let router = api::router(state);
    let mut tasks = vec![tokio::spawn(logs.run_ticker(shutdown.clone()))];

    let tcp = TcpListener::bind(opts.https_listen)
        .await
        .with_context(|| format!("binding {}", opts.https_listen))?;
    let https_addr = tcp.local_addr()?;
    // `tap_io` only so axum's `ConnectInfo<SocketAddr>` impl applies to our listener type.
    let listener = tls::TlsListener::new(tcp, certs.server_config.clone(), shutdown.clone())?;
    let listener = axum::serve::ListenerExt::tap_io(listener, |_| {});
    let app = router
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
        {
            tracing::error!(error = %e, "devstack HTTPS server failed");
        }
    }));

    let mut http_url = None;
    if let Some(addr) = opts.http_listen {
        let tcp = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        http_url = Some(format!("http://{}", tcp.local_addr()?));
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        let tcp = axum::serve::ListenerExt::tap_io(tcp, |s| {
            let _ = s.set_nodelay(true);
        });
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(tcp, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
            {
                tracing::error!(error = %e, "devstack HTTP server failed");
            }
        }));
    }

    Ok(RunningKube {
        https_url: format!("https://{https_addr}"),
        http_url,
        ca_pem: certs.ca_pem,
        ca_der: certs.ca_der,
        admin_token,
        gateway_token,
        audit_log: opts.audit_log,
        state_dir,
        shutdown,
        tasks,
    })
}

impl RunningKube {
    /// A kubeconfig with contexts `admin` (current) and `gateway`, CA embedded; default
    /// namespace `payments`.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&KubeconfigParams {
            server: &self.https_url,
            ca_pem: &self.ca_pem,
            admin_token: &self.admin_token,
            gateway_token: &self.gateway_token,
            namespace: "payments",
        })
    }

    /// Stops accepting, ends every stream and session, and waits for the listeners.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningKube {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
