//! `/version` and legacy discovery (`APIVersions`, `APIGroupList`, `APIResourceList`).
//!
//! Answering the legacy documents as plain `application/json` makes kubectl fall back from
//! aggregated discovery to per-group GETs: all devstack needs (docs/kubernetes-exec.md §12).

use axum::Json;
use axum::http::HeaderMap;
use serde_json::{Value, json};

/// The Kubernetes version devstack claims; the gcloud kubectl dispatcher picks
/// `kubectl.1.<minor>` from it.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.5",
        "gitCommit": "9894294ef13a5b32803e3ca2c0d620a088cc84d1",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T09:08:12Z",
        "goVersion": "go1.23.8",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `GET /version`.
pub async fn version() -> Json<Value> {
    Json(version_info())
}

/// `GET /healthz`, `/livez`, `/readyz`.
pub async fn ok() -> &'static str {
    "ok"
}

/// `GET /api`.
pub async fn api_versions(headers: HeaderMap) -> Json<Value> {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
    }))
}

/// `GET /apis`.
pub async fn api_groups() -> Json<Value> {
    let gv = json!({"groupVersion": "authorization.k8s.io/v1", "version": "v1"});
    Json(json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [{"name": "authorization.k8s.io", "versions": [gv.clone()], "preferredVersion": gv}],
    }))
}

fn subresource(name: &str, kind: &str, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": "", "namespaced": true, "kind": kind, "verbs": verbs})
}

/// `GET /api/v1`.
pub async fn core_v1() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
             "verbs": ["get", "list"], "shortNames": ["ns"]},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "verbs": ["get", "list"], "shortNames": ["po"], "categories": ["all"]},
            subresource("pods/attach", "PodAttachOptions", &["create", "get"]),
            subresource("pods/ephemeralcontainers", "Pod", &["get", "patch", "update"]),
            subresource("pods/exec", "PodExecOptions", &["create", "get"]),
            subresource("pods/log", "Pod", &["get"]),
            subresource("pods/portforward", "PodPortForwardOptions", &["create", "get"]),
        ],
    }))
}

/// `GET /apis/authorization.k8s.io/v1`.
pub async fn authorization_v1() -> Json<Value> {
    let review = |name: &str, kind: &str| json!({"name": name, "singularName": "", "namespaced": false, "kind": kind, "verbs": ["create"]});
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "authorization.k8s.io/v1",
        "resources": [
            review("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
            review("subjectaccessreviews", "SubjectAccessReview"),
        ],
    }))
}
