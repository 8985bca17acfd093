//! The development stand-ins of development mode (`keyhole serve --dev`, `dev = true`,
//! `KEYHOLE_DEV=true`): devstack's Kubernetes-compatible API server and its development OIDC
//! issuer, in-process on loopback ports, in place of the `[kubernetes]` or `[oidc]` section the
//! config leaves out. A configured section always wins: nothing is started for it.
//!
//! Compiled only with the `dev` feature (on by default; the production build is
//! `cargo build --release --locked -p keyhole --no-default-features`, which has no devstack at
//! all). Whether development mode may start at all is decided earlier, when the config is read
//! ([`crate::config::check_dev_mode`]).
//!
//! Nothing here changes the [`Config`]: the stand-ins return what they provide
//! ([`StandIns::kubernetes`], [`StandIns::oidc`]) and the composition root ([`crate::run`]) uses
//! that in place of the missing section.

use anyhow::Context;

use crate::config::{Config, KubernetesConfig, OidcConfig, Secret};

/// The stand-ins started for one server, and what they provide. Dropping it stops them.
pub struct StandIns {
    /// How to reach the embedded cluster (its kubeconfig, context `gateway`: the
    /// impersonate-only identity), when the config has no `[kubernetes]`.
    pub kubernetes: Option<KubernetesConfig>,
    /// The development IdP's relying-party settings, when the config has no `[oidc]`.
    pub oidc: Option<OidcConfig>,
    _cluster: Option<devstack::RunningKube>,
    _idp: Option<devstack::idp::RunningIdp>,
}

impl StandIns {
    /// Starts a stand-in for each of `[kubernetes]` and `[oidc]` that `config` leaves out
    /// (none when both are configured).
    pub async fn start(config: &Config) -> anyhow::Result<StandIns> {
        for refusal in &config.dev_unsafe {
            tracing::warn!(
                "development mode although {refusal} ({} is set): the development stand-ins \
                 are reachable through this gateway",
                crate::config::DEV_UNSAFE_VAR
            );
        }
        let (kubernetes, cluster) = match config.kubernetes {
            KubernetesConfig::Embedded => {
                let (running, kubeconfig) = start_dev_cluster(config).await?;
                // The embedded cluster is reached exactly like a real one: through a
                // kubeconfig, as the impersonate-only gateway.
                let kubernetes = KubernetesConfig::Kubeconfig {
                    path: kubeconfig,
                    context: Some("gateway".into()),
                };
                (Some(kubernetes), Some(running))
            }
            KubernetesConfig::InCluster | KubernetesConfig::Kubeconfig { .. } => (None, None),
        };
        let (oidc, idp) = match &config.oidc {
            None => {
                let (oidc, running) = start_dev_idp(config).await?;
                (Some(oidc), Some(running))
            }
            Some(_) => (None, None),
        };
        if kubernetes.is_none() && oidc.is_none() {
            tracing::info!(
                "development mode: [kubernetes] and [oidc] are both configured, so no \
                 development stand-in is started"
            );
        }
        Ok(StandIns {
            kubernetes,
            oidc,
            _cluster: cluster,
            _idp: idp,
        })
    }
}

/// devstack's Kubernetes-compatible API server, in-process on a loopback port, with the
/// built-in demo cluster. Writes a kubeconfig (contexts `admin` and `gateway`) under
/// `<data_dir>/devstack/` and returns its path.
pub async fn start_dev_cluster(
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
        "development mode, no [kubernetes] configured: using the built-in DEVELOPMENT cluster \
         (devstack; its pods are processes on this host; loopback only). \
         Try: kubectl --kubeconfig {} --context admin get pods",
        kubeconfig.display()
    );
    Ok((running, kubeconfig))
}

/// devstack's development OIDC issuer, in-process on a loopback port, with a client
/// registered for our callback. Returns the settings to use in place of `[oidc]`.
pub async fn start_dev_idp(
    config: &Config,
) -> anyhow::Result<(OidcConfig, devstack::idp::RunningIdp)> {
    tracing::warn!(
        "development mode, no [oidc] configured: using the built-in DEVELOPMENT identity \
         provider (demo users alice, bob, carol; no passwords). Never use this in production."
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
        username_claim: OidcConfig::DEFAULT_USERNAME_CLAIM.into(),
        username_prefix: String::new(),
    };
    Ok((oidc, running))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> Config {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Config::load(None, env).unwrap()
    }

    #[tokio::test]
    async fn configured_sections_win_over_the_stand_ins() {
        let c = config(&[
            ("KEYHOLE_DEV", "true"),
            ("KEYHOLE_KUBERNETES_KUBECONFIG", "/nonexistent/kubeconfig"),
            ("KEYHOLE_OIDC_ISSUER", "http://127.0.0.1:9"),
            ("KEYHOLE_OIDC_CLIENT_ID", "keyhole"),
            ("KEYHOLE_OIDC_CLIENT_SECRET", "s"),
        ]);
        assert!(c.dev);
        let s = StandIns::start(&c).await.unwrap();
        assert!(s.kubernetes.is_none() && s._cluster.is_none());
        assert!(s.oidc.is_none() && s._idp.is_none());
    }

    #[tokio::test]
    async fn a_missing_oidc_gets_the_dev_idp_and_a_configured_cluster_is_kept() {
        let c = config(&[
            ("KEYHOLE_DEV", "1"),
            ("KEYHOLE_KUBERNETES_KUBECONFIG", "/nonexistent/kubeconfig"),
        ]);
        let s = StandIns::start(&c).await.unwrap();
        assert!(s.kubernetes.is_none() && s._cluster.is_none());
        let oidc = s.oidc.as_ref().unwrap();
        assert_eq!(oidc.issuer, s._idp.as_ref().unwrap().issuer());
        assert_eq!(oidc.client_id, "keyhole-dev");
        // The config as read is unchanged.
        assert!(c.oidc.is_none());
    }
}
