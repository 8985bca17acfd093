//! `devstack` binary: `devstack serve` starts the Kubernetes-compatible API server and the
//! development OIDC issuer, writes a kubeconfig, and prints `devstack ready` once both listen.
//! Everything it does is local and for demos/tests only; it refuses non-loopback addresses.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use devstack::{Cluster, KubeOptions};

#[derive(Parser)]
#[command(
    name = "devstack",
    about = "Local stand-ins for Keyhole's demo and tests (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the fake Kubernetes API server and the dev OIDC issuer.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Cluster YAML (namespaces, pods, tokens, RBAC); default: the built-in demo cluster.
    #[arg(long, env = "DEVSTACK_CLUSTER")]
    cluster: Option<PathBuf>,
    /// HTTPS address of the Kubernetes API (loopback only).
    #[arg(long, default_value = "127.0.0.1:6443")]
    kube_listen: SocketAddr,
    /// Optional plain-HTTP address of the same API (kube-rs sends tokens over it; kubectl won't).
    #[arg(long)]
    kube_http_listen: Option<SocketAddr>,
    /// Address of the OIDC issuer (loopback only).
    #[arg(long, default_value = "127.0.0.1:9400")]
    idp_listen: SocketAddr,
    /// Where to write the kubeconfig (contexts `admin` and `gateway`).
    #[arg(long, default_value = ".devstack/kubeconfig")]
    kubeconfig_out: PathBuf,
    /// Where to append Kubernetes audit events (JSON lines).
    #[arg(long, default_value = ".devstack/audit.log")]
    audit_log: PathBuf,
    /// Pods' working directories and logs live here.
    #[arg(long, default_value = ".devstack/state")]
    state_dir: PathBuf,
    /// OIDC client registered for the Keyhole server.
    #[arg(long, default_value = "keyhole")]
    idp_client_id: String,
    /// Its secret (development only).
    #[arg(long, default_value = "keyhole-dev-secret")]
    idp_client_secret: String,
    /// Its redirect URI.
    #[arg(long, default_value = "http://127.0.0.1:8080/auth/callback")]
    idp_redirect_uri: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,devstack=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    if let Err(e) = serve(args).await {
        // `{:#}` prints the whole cause chain on one line.
        eprintln!("devstack: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cluster = match &args.cluster {
        Some(path) => Cluster::from_file(path)?,
        None => Cluster::builtin(),
    };
    let kube = devstack::start_kube(KubeOptions {
        cluster,
        https_listen: args.kube_listen,
        http_listen: args.kube_http_listen,
        audit_log: Some(args.audit_log.clone()),
        state_dir: args.state_dir.clone(),
    })
    .await?;
    if let Some(dir) = args
        .kubeconfig_out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&args.kubeconfig_out, kube.kubeconfig_yaml())
        .with_context(|| format!("writing {}", args.kubeconfig_out.display()))?;
    let idp = start_idp(&args).await?;

    println!("devstack: LOCAL DEMO/TEST STAND-INS — not a real cluster, not an identity provider.");
    println!(
        "  Loopback only. Well-known tokens. Commands you exec run as real processes on THIS machine."
    );
    println!("  Kubernetes API  {}", kube.https_url);
    if let Some(http) = &kube.http_url {
        println!("  (plain HTTP)    {http}");
    }
    println!(
        "  kubeconfig      {}   (contexts: admin, gateway)",
        args.kubeconfig_out.display()
    );
    println!(
        "                  try: KUBECONFIG={} kubectl get pods",
        args.kubeconfig_out.display()
    );
    println!("  OIDC issuer     {}", idp.issuer());
    println!("  audit log       {}", args.audit_log.display());
    println!("  pod state       {}", args.state_dir.display());
    println!("devstack ready");

    shutdown_signal().await;
    eprintln!("devstack: shutting down");
    kube.shutdown().await;
    idp.shutdown().await;
    Ok(())
}

async fn start_idp(args: &ServeArgs) -> anyhow::Result<devstack::idp::RunningIdp> {
    devstack::idp::start(devstack::idp::IdpOptions {
        listen: args.idp_listen,
        clients: vec![devstack::idp::IdpClient {
            client_id: args.idp_client_id.clone(),
            client_secret: args.idp_client_secret.clone(),
            redirect_uris: vec![args.idp_redirect_uri.clone()],
        }],
        ..Default::default()
    })
    .await
    .context("starting the OIDC issuer")
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}
