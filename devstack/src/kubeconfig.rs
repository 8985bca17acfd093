//! A kubeconfig for the running devstack: one cluster (CA embedded as
//! `certificate-authority-data`) and the contexts `admin` and `gateway`.

use base64::Engine as _;
use serde_json::json;

/// What goes into the kubeconfig.
#[derive(Debug, Clone)]
pub struct KubeconfigParams<'a> {
    /// `https://127.0.0.1:<port>`.
    pub server: &'a str,
    /// PEM of the CA that signed the server certificate.
    pub ca_pem: &'a str,
    /// Token of the `admin` context (cluster-admin).
    pub admin_token: &'a str,
    /// Token of the `gateway` context (the keyhole gateway service account).
    pub gateway_token: &'a str,
    /// Default namespace of both contexts.
    pub namespace: &'a str,
}

/// Renders the kubeconfig YAML; `current-context` is `admin`.
pub fn render(p: &KubeconfigParams<'_>) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(p.ca_pem);
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "devstack", "cluster": {"server": p.server, "certificate-authority-data": ca}}],
        "users": [
            {"name": "devstack-admin", "user": {"token": p.admin_token}},
            {"name": "keyhole-gateway", "user": {"token": p.gateway_token}},
        ],
        "contexts": [
            {"name": "admin", "context": {"cluster": "devstack", "user": "devstack-admin", "namespace": p.namespace}},
            {"name": "gateway", "context": {"cluster": "devstack", "user": "keyhole-gateway", "namespace": p.namespace}},
        ],
        "current-context": "admin",
        "preferences": {},
    });
    let yaml = serde_yaml::to_string(&config).expect("kubeconfig serializes");
    format!(
        "# Written by devstack (loopback only, not a real cluster). Regenerated at every start.\n{yaml}"
    )
}
