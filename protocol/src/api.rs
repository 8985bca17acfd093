//! REST API bodies.

use serde::{Deserialize, Serialize};

/// `GET /healthz` and `GET /readyz` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` or `not_ready`.
    pub status: String,
    /// Per-dependency state for `/readyz` (name → `ok` or a short error).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<HealthCheck>,
    /// The server's version (`CARGO_PKG_VERSION`).
    pub version: String,
}

/// One dependency's state in [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Dependency name, e.g. `database`, `identity_provider`.
    pub name: String,
    /// `true` when the dependency answered.
    pub ok: bool,
    /// A short human-readable detail.
    pub detail: String,
}

/// A UI role, derived from the user's IdP groups by policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Requests access and opens terminals.
    Engineer,
    /// Approves, denies, watches and revokes.
    Lead,
    /// Sees every request, grant and terminal session (read-only).
    Auditor,
    /// Sees the effective policy and its reload status.
    Admin,
}

impl Role {
    /// Every role, in the order the UI lists them.
    pub const ALL: [Role; 4] = [Role::Engineer, Role::Lead, Role::Auditor, Role::Admin];

    /// The wire name (`engineer`, `lead`, `auditor`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Engineer => "engineer",
            Role::Lead => "lead",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// `GET /api/me`: who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    /// The IdP subject (`sub`).
    pub subject: String,
    /// E-mail address (display; the Kubernetes user name is [`Me::kube_user`]).
    pub email: Option<String>,
    /// The Kubernetes user name grants impersonate (`Impersonate-User`): the configured
    /// claim, with the configured prefix, fixed at login.
    #[serde(default)]
    pub kube_user: String,
    /// Display name.
    pub name: Option<String>,
    /// IdP groups from the configured claim.
    pub groups: Vec<String>,
    /// UI roles granted by policy.
    pub roles: Vec<Role>,
    /// Token to send back in the `X-Keyhole-CSRF` header on every state-changing request.
    pub csrf_token: String,
    /// Unix seconds when the session ends at the latest (absolute lifetime).
    pub session_expires_at: i64,
    /// Unix seconds when the idle timeout ends the session unless it is used again
    /// (never later than `session_expires_at`). Activity moves it forward.
    #[serde(default)]
    pub idle_expires_at: i64,
    /// `true` when the server uses the built-in development identity provider.
    pub dev_idp: bool,
}

/// `GET /api/info`: public facts the login page needs before anyone signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Server version.
    pub version: String,
    /// `true` when the server uses the built-in development identity provider.
    pub dev_idp: bool,
    /// `true` when the identity provider's discovery document was loaded.
    pub idp_ready: bool,
    /// `true` when the cluster is the development stand-in (`--dev`): its "pods" are processes
    /// on the gateway's host. The app shows a banner on every page.
    #[serde(default)]
    pub dev_cluster: bool,
}

/// `GET /api/session`: what the app needs at start, in one call that never
/// fails for a missing session (so the browser logs no error for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The signed-in user, or `None`.
    pub me: Option<Me>,
    /// Public server facts.
    pub server: ServerInfo,
}
