//! The Kubernetes audit log: one `audit.k8s.io/v1` `Event` per request, as JSON lines.
//!
//! `user` is the authenticated caller (the gateway's service account) and `impersonatedUser` the
//! identity it acted as, with the impersonated `extra` (`keyhole.dev/grant-id`, …) — exactly
//! where a real apiserver records them. [`read_events`] parses the file back for tests.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::rbac::UserInfo;

/// Failure to write or read the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened, written or read.
    #[error("audit log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not an audit event.
    #[error("audit log {path} line {line}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// An `audit.k8s.io/v1` Event (the fields devstack fills).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Always `Event`.
    pub kind: String,
    /// Always `audit.k8s.io/v1`.
    pub api_version: String,
    /// Always `Metadata`.
    pub level: String,
    /// Unique per request.
    #[serde(rename = "auditID")]
    pub audit_id: String,
    /// `ResponseComplete`, or `ResponseStarted` for long-running requests (exec, follow).
    pub stage: String,
    /// Path and query as sent; for exec the command line is only visible here.
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    /// The RBAC verb (`get` for a WebSocket exec).
    pub verb: String,
    /// The authenticated caller.
    pub user: UserInfo,
    /// Who the caller acted as, when it impersonated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impersonated_user: Option<UserInfo>,
    /// Client addresses.
    #[serde(rename = "sourceIPs", default)]
    pub source_ips: Vec<String>,
    /// The client's User-Agent.
    #[serde(default)]
    pub user_agent: String,
    /// The object acted on, for resource requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ref: Option<ObjectRef>,
    /// The HTTP status (101 for a successful exec upgrade).
    pub response_status: ResponseStatus,
    /// RFC 3339 with microseconds.
    pub request_received_timestamp: String,
    /// RFC 3339 with microseconds.
    pub stage_timestamp: String,
    /// `authorization.k8s.io/decision` (`allow`/`forbid`) and `authorization.k8s.io/reason`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// `objectRef` of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Plural resource.
    pub resource: String,
    /// Namespace, if namespaced.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Object name, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// API group, empty for core.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_group: String,
    /// API version.
    pub api_version: String,
    /// Subresource, e.g. `exec`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subresource: String,
}

/// `responseStatus` of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseStatus {
    /// Always empty.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// HTTP status code.
    pub code: u16,
}

impl AuditEvent {
    /// The identity the request was authorized as: the impersonated user if any.
    pub fn effective_user(&self) -> &UserInfo {
        self.impersonated_user.as_ref().unwrap_or(&self.user)
    }

    /// True for `pods/<subresource>` requests, e.g. `is_pod_subresource("exec")`.
    pub fn is_pod_subresource(&self, subresource: &str) -> bool {
        self.object_ref
            .as_ref()
            .is_some_and(|o| o.resource == "pods" && o.subresource == subresource)
    }

    /// The authorization decision annotation (`allow` or `forbid`).
    pub fn decision(&self) -> Option<&str> {
        self.annotations
            .get("authorization.k8s.io/decision")
            .map(String::as_str)
    }
}

/// An append-only audit file shared by all requests.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    /// A std mutex: each write is one small `write_all` with no `.await` inside.
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    /// Opens (creating, appending) the file.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Io {
                path: path.into(),
                source,
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Io {
                path: path.into(),
                source,
            })?;
        Ok(Self {
            path: path.into(),
            file: Mutex::new(file),
        })
    }

    /// Appends one event as a JSON line. Failures are logged, never fatal to the request.
    pub fn write(&self, event: &AuditEvent) {
        let mut line = serde_json::to_vec(event).expect("audit events serialize");
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = file.write_all(&line) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write audit event");
        }
    }
}

/// Reads every event of an audit log file (missing file = no events).
pub fn read_events(path: &Path) -> Result<Vec<AuditEvent>, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AuditError::Io {
                path: path.into(),
                source,
            });
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| AuditError::Parse {
                path: path.into(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Timestamps as the apiserver writes them (`2026-11-27T12:00:00.123456Z`).
pub(crate) fn micro_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}
