//! The Kubernetes side of Keyhole: one gateway [`kube::Config`] (from in-cluster config or a
//! kubeconfig) and, per user action, a client that **impersonates** the grant holder.
//!
//! The gateway's own identity may only impersonate (`deploy/rbac/gateway-clusterrole.yaml`);
//! every call it makes for a user carries
//! - `Impersonate-User`: the grant's `kube_user` (the holder's e-mail),
//! - `Impersonate-Group`: exactly the grant's `kubernetes_groups` (nothing else: an expired
//!   grant means its group is simply no longer sent),
//! - `Impersonate-Extra-keyhole.dev%2Fgrant-id`, `…%2Fsession-id`, `…%2Freason`, so the
//!   Kubernetes audit log ties each call to the person, the grant and the recording.
//!
//! Kubernetes RBAC then decides with the user's identity. kube-rs sends these headers on every
//! request including the WebSocket upgrade (`ExtraHeadersLayer`), so we only fill in
//! `AuthInfo`. Impersonation is per client, so each [`UserKube`] has its own client (and
//! connection pool); that costs a TLS handshake per terminal, which is noise next to a shell.
//!
//! # Layout
//! - this file: [`KubeGateway`] (config) and [`UserKube`] (an impersonating client);
//! - `pods.rs`: which pods a grant covers (list + selector + narrowing), pure filters tested alone;
//! - `exec.rs`: exec with a TTY and log streams.

mod exec;
mod pods;

use std::collections::HashMap;

use kube::config::{KubeConfigOptions, Kubeconfig};

pub use exec::{ExecError, ExecParams, ResizeSender, exit_code};
pub use pods::{covers, summarize};

use crate::access::ActiveGrant;
use crate::config::KubernetesConfig;

/// Extra keys (before escaping) the gateway sends as `Impersonate-Extra-*`.
pub const EXTRA_GRANT_ID: &str = "keyhole.dev/grant-id";
/// The terminal (or request) session id.
pub const EXTRA_SESSION_ID: &str = "keyhole.dev/session-id";
/// The grant's reason.
pub const EXTRA_REASON: &str = "keyhole.dev/reason";

/// Why the gateway's Kubernetes config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KubeSetupError {
    /// The kubeconfig could not be read or has no usable context.
    #[error("cannot load kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// kube's explanation.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Not running in a pod (or the ServiceAccount files are missing).
    #[error("cannot load the in-cluster config: {0}")]
    InCluster(#[source] kube::config::InClusterError),
    /// `Embedded` must be replaced by a kubeconfig before this is called.
    #[error("the embedded cluster must be started before the Kubernetes client is built")]
    EmbeddedNotStarted,
}

/// The gateway's connection settings; cheap to clone. Holds no user identity itself.
#[derive(Clone)]
pub struct KubeGateway {
    /// The gateway's own config (its ServiceAccount or kubeconfig user).
    base: kube::Config,
}

impl std::fmt::Debug for KubeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("KubeGateway")
            .field("cluster_url", &self.base.cluster_url)
            .finish_non_exhaustive()
    }
}

impl KubeGateway {
    /// Loads the gateway config from the server config.
    pub async fn from_config(cfg: &KubernetesConfig) -> Result<Self, KubeSetupError> {
        let base = match cfg {
            KubernetesConfig::Embedded => return Err(KubeSetupError::EmbeddedNotStarted),
            KubernetesConfig::InCluster => {
                kube::Config::incluster().map_err(KubeSetupError::InCluster)?
            }
            KubernetesConfig::Kubeconfig { path, context } => {
                let err = |source| KubeSetupError::Kubeconfig {
                    path: path.display().to_string(),
                    source,
                };
                let file = Kubeconfig::read_from(path).map_err(err)?;
                let options = KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .map_err(err)?
            }
        };
        Ok(Self::from_kube_config(base))
    }

    /// Wraps an existing gateway config (tests, benchmarks).
    pub fn from_kube_config(mut base: kube::Config) -> Self {
        // Whatever the kubeconfig says, the gateway never impersonates on its own behalf.
        base.auth_info.impersonate = None;
        base.auth_info.impersonate_groups = None;
        base.auth_info.impersonate_user_extra = None;
        Self { base }
    }

    /// A client acting as the holder of `grant`, tagged with `session_id`.
    pub fn for_grant(
        &self,
        grant: &ActiveGrant,
        session_id: &str,
    ) -> Result<UserKube, kube::Error> {
        let mut cfg = self.base.clone();
        cfg.auth_info.impersonate = Some(grant.kube_user.clone());
        // Exactly the grant's groups. An empty list would let Kubernetes derive none, which
        // is also what we want (the user then only has `system:authenticated`).
        cfg.auth_info.impersonate_groups = Some(grant.kubernetes_groups.clone());
        cfg.auth_info.impersonate_user_extra = Some(HashMap::from([
            (EXTRA_GRANT_ID.to_owned(), vec![grant.id.clone()]),
            (EXTRA_SESSION_ID.to_owned(), vec![session_id.to_owned()]),
            (EXTRA_REASON.to_owned(), vec![header_safe(&grant.reason)]),
        ]));
        Ok(UserKube {
            client: kube::Client::try_from(cfg)?,
        })
    }
}

/// A Kubernetes client that impersonates one grant holder.
#[derive(Clone)]
pub struct UserKube {
    client: kube::Client,
}

/// Makes free text a valid, short HTTP header value: printable ASCII only (others become `?`),
/// at most 200 characters. The reason is for humans reading the audit log; the grant id is
/// the exact link.
pub fn header_safe(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_become_header_values() {
        assert_eq!(header_safe("INC-42: db\nslow é"), "INC-42: db?slow ?");
        assert_eq!(header_safe(&"x".repeat(300)).len(), 200);
        assert!(http::HeaderValue::from_str(&header_safe("a\r\nb\0")).is_ok());
    }
}
