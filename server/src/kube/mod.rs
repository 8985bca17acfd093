//! The Kubernetes side of Keyhole: one gateway [`kube::Client`] (from in-cluster config or a
//! kubeconfig) shared by all users, and, per user action, a view of it that **impersonates**
//! the grant holder.
//!
//! The gateway's own identity may only impersonate (`deploy/rbac/gateway-clusterrole.yaml`);
//! every call it makes for a user carries
//! - `Impersonate-User`: the grant's `kube_user` (the holder's e-mail),
//! - `Impersonate-Group`: exactly the grant's `kubernetes_groups` (nothing else: an expired
//!   grant means its group is simply no longer sent),
//! - `Impersonate-Extra-keyhole.dev%2Fgrant-id`, `…%2Fsession-id`, `…%2Freason`, so the
//!   Kubernetes audit log ties each call to the person, the grant and the recording.
//!
//! Kubernetes RBAC then decides with the user's identity. Impersonation is a set of request
//! headers, so one client (one connection pool, one TLS config) serves every user: a
//! [`UserKube`] wraps the shared client in a service that adds that user's headers to each
//! request, including the exec WebSocket upgrade. The header names and values are exactly the
//! ones kube-rs derives from `AuthInfo` (`impersonate_headers`, tested against kube-rs).
//!
//! # Layout
//! - this file: [`KubeGateway`] (the shared client) and [`UserKube`] (an impersonating view);
//! - `pods.rs`: which pods a grant covers (list + selector + narrowing), pure filters tested alone;
//! - `exec.rs`: exec with a TTY (our own channel-protocol client, small buffers) and log streams.

mod exec;
mod pods;

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, Request, Response};
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};

pub use exec::{ExecError, ExecParams, ExecReader, ExecStatus, ExecTty, ExecWriter, exit_code};
pub use pods::{covers, summarize};

use crate::config::KubernetesConfig;
use crate::domain::Grant;

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
    /// The client could not be built from the config (TLS material, proxy, …).
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
}

/// The gateway's client; cheap to clone. Holds no user identity itself.
#[derive(Clone)]
pub struct KubeGateway {
    /// The gateway's own config (its ServiceAccount or kubeconfig user).
    base: kube::Config,
    /// One client for everyone, built from `base` (no impersonation of its own).
    client: kube::Client,
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
        Self::from_kube_config(base)
    }

    /// Builds the shared client from an existing gateway config (tests, benchmarks). Must be
    /// called inside a Tokio runtime (the client spawns its request buffer there).
    pub fn from_kube_config(mut base: kube::Config) -> Result<Self, KubeSetupError> {
        // Whatever the kubeconfig says, the gateway never impersonates on its own behalf.
        base.auth_info.impersonate = None;
        base.auth_info.impersonate_uid = None;
        base.auth_info.impersonate_groups = None;
        base.auth_info.impersonate_user_extra = None;
        let client = kube::Client::try_from(base.clone()).map_err(KubeSetupError::Client)?;
        Ok(Self { base, client })
    }

    /// A client acting as the holder of `grant`, tagged with `session_id`. It shares the
    /// gateway's connection pool; only the impersonation headers are its own.
    pub fn for_grant(&self, grant: &Grant, session_id: &str) -> Result<UserKube, kube::Error> {
        let headers = Arc::new(impersonate_headers(grant, session_id)?);
        let service = Impersonating {
            client: self.client.clone(),
            headers,
        };
        Ok(UserKube {
            client: kube::Client::new(service, self.base.default_namespace.clone()),
        })
    }
}

/// The impersonation headers for `grant`, exactly as kube-rs derives them from
/// `AuthInfo { impersonate, impersonate_groups, impersonate_user_extra }`:
/// `impersonate-user`, one `impersonate-group` per group (exactly the grant's groups; an empty
/// list sends none, so the user only has `system:authenticated`), and one
/// `impersonate-extra-<escaped key>` per value.
fn impersonate_headers(
    grant: &Grant,
    session_id: &str,
) -> Result<Vec<(HeaderName, HeaderValue)>, kube::Error> {
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|e| kube::Error::HttpError(http::Error::from(e)))
    };
    let mut headers = vec![(
        HeaderName::from_static("impersonate-user"),
        value(&grant.kube_user)?,
    )];
    for group in &grant.kubernetes_groups {
        headers.push((HeaderName::from_static("impersonate-group"), value(group)?));
    }
    for (key, v) in [
        (EXTRA_GRANT_ID, grant.id.as_str()),
        (EXTRA_SESSION_ID, session_id),
        (EXTRA_REASON, header_safe(&grant.reason).as_str()),
    ] {
        headers.push((extra_header_name(key)?, value(v)?));
    }
    Ok(headers)
}

/// `impersonate-extra-<key>` with the key percent-escaped like client-go (and kube-rs): every
/// byte but ASCII alphanumerics and ``!#$&'*+-.^_`|~`` (so `/` and `%` are escaped).
fn extra_header_name(key: &str) -> Result<HeaderName, kube::Error> {
    let mut name = String::from("impersonate-extra-");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b) {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderName::try_from(name).map_err(|e| kube::Error::HttpError(http::Error::from(e)))
}

/// A tower service that adds one user's impersonation headers to every request and sends it
/// through the shared gateway client.
#[derive(Clone)]
struct Impersonating {
    client: kube::Client,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl tower::Service<Request<Body>> for Impersonating {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, kube::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The shared client has its own buffer; readiness is awaited in `send`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        req.headers_mut()
            .extend(self.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let client = self.client.clone();
        Box::pin(async move { client.send(req).await })
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

    /// Our headers are exactly the ones kube-rs builds from the same `AuthInfo`.
    #[test]
    fn impersonation_headers_match_kube_rs() {
        use kube::client::ConfigExt;
        use std::collections::HashMap;

        let grant = Grant {
            id: "g-1".into(),
            kubernetes_groups: vec!["keyhole:payments-debug".into(), "keyhole:other".into()],
            reason: "INC-42: db slow é".into(),
            ..crate::domain::test_grant()
        };
        let ours = impersonate_headers(&grant, "sess-1").unwrap();
        let mut cfg = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
        cfg.auth_info.impersonate = Some(grant.kube_user.clone());
        cfg.auth_info.impersonate_groups = Some(grant.kubernetes_groups.clone());
        cfg.auth_info.impersonate_user_extra = Some(HashMap::from([
            (EXTRA_GRANT_ID.to_owned(), vec![grant.id.clone()]),
            (EXTRA_SESSION_ID.to_owned(), vec!["sess-1".to_owned()]),
            (EXTRA_REASON.to_owned(), vec![header_safe(&grant.reason)]),
        ]));
        // kube-rs adds them through its extra-headers layer; run a request through it.
        let layer = cfg.extra_headers_layer().unwrap();
        let svc = tower::service_fn(|req: Request<()>| async move {
            Ok::<_, std::convert::Infallible>(req.headers().clone())
        });
        let theirs = futures::executor::block_on(tower::ServiceExt::oneshot(
            tower::Layer::layer(&layer, svc),
            Request::new(()),
        ))
        .unwrap();
        let pairs = |h: Vec<(String, String)>| {
            let mut h = h;
            h.sort();
            h
        };
        let ours = pairs(
            ours.iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect(),
        );
        let theirs = pairs(
            theirs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                .collect(),
        );
        assert_eq!(ours, theirs);
        assert!(
            ours.iter()
                .any(|(k, _)| k == "impersonate-extra-keyhole.dev%2fgrant-id")
        );
        assert_eq!(
            ours.iter()
                .filter(|(k, _)| k == "impersonate-group")
                .count(),
            2
        );
    }
}
