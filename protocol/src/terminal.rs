//! The terminal WebSocket (`GET /api/grants/{grant}/pods/{ns}/{pod}/terminal`) and the pod
//! routes that go with it.
//!
//! Framing: **binary** frames carry raw terminal bytes in both directions (keystrokes to the
//! pod, output to the browser); **text** frames carry one JSON control message each,
//! [`ClientMsg`] from the browser and [`ServerMsg`] from the server. Keeping bytes binary means
//! output is never re-encoded (no base64, no UTF-8 validation of partial sequences).

use serde::{Deserialize, Serialize};

/// Largest frame the server accepts from the browser (bytes). A paste bigger than this must be
/// split by the client; anything bigger is refused and the session closed.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// A control message from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The terminal's size changed (xterm.js `onResize`).
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
}

/// A control message from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message: the session is open.
    Hello {
        /// The terminal session's id (also sent to Kubernetes as
        /// `Impersonate-Extra-keyhole.dev/session-id`).
        session_id: String,
        /// `namespace/name` of the pod.
        pod: String,
        /// The container the shell runs in.
        container: String,
        /// Unix seconds when the grant (and so this session) ends.
        expires_at: i64,
        /// Whether this session is recorded (shown in the terminal bar, never claimed
        /// otherwise).
        #[serde(default)]
        recorded: bool,
        /// Whether the cluster is the development stand-in (its pods are local processes).
        #[serde(default)]
        dev_cluster: bool,
    },
    /// Something the user should see (e.g. "the grant expires in 60 s").
    Notice {
        /// How important it is.
        level: NoticeLevel,
        /// The text.
        text: String,
    },
    /// The process in the pod exited.
    Exit {
        /// Its exit code (`0` on success).
        code: i32,
    },
    /// Last message: the session is over; the socket closes right after.
    Closed {
        /// Why.
        reason: CloseReason,
        /// A sentence for the user.
        message: String,
    },
}

/// How important a [`ServerMsg::Notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    /// For information.
    Info,
    /// Something is about to end or was refused.
    Warning,
}

/// Why a terminal session ended (also stored as the session row's `end_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The grant reached its end.
    Expired,
    /// The grant was revoked.
    Revoked,
    /// No input or output for the idle timeout.
    Idle,
    /// The server is shutting down.
    ServerShutdown,
    /// The shell exited.
    Exited,
    /// The browser closed the socket.
    ClientClosed,
    /// Something failed (the message says what).
    Error,
    /// The user signed out of Keyhole (every stream of that web session ends).
    LoggedOut,
    /// The user's web session ended (idle timeout or absolute lifetime).
    SessionExpired,
    /// The grant could not be verified against the database for longer than the grace
    /// period: access ends rather than run unchecked (fail closed).
    Unverifiable,
    /// The gateway that served the session stopped without closing it (crash, kill); found
    /// and closed by a later start or another replica.
    GatewayLost,
}

impl CloseReason {
    /// The snake_case name (as in JSON and the database).
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Expired => "expired",
            CloseReason::Revoked => "revoked",
            CloseReason::Idle => "idle",
            CloseReason::ServerShutdown => "server_shutdown",
            CloseReason::Exited => "exited",
            CloseReason::ClientClosed => "client_closed",
            CloseReason::Error => "error",
            CloseReason::LoggedOut => "logged_out",
            CloseReason::SessionExpired => "session_expired",
            CloseReason::Unverifiable => "unverifiable",
            CloseReason::GatewayLost => "gateway_lost",
        }
    }

    /// Every reason, for exhaustive tests and parsing.
    pub const ALL: [CloseReason; 11] = [
        CloseReason::Expired,
        CloseReason::Revoked,
        CloseReason::Idle,
        CloseReason::ServerShutdown,
        CloseReason::Exited,
        CloseReason::ClientClosed,
        CloseReason::Error,
        CloseReason::LoggedOut,
        CloseReason::SessionExpired,
        CloseReason::Unverifiable,
        CloseReason::GatewayLost,
    ];

    /// The reason named `s` (its [`CloseReason::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether a client should try to reconnect after this (only after errors; a grant that
    /// ended or a shell that exited will not come back).
    pub fn may_reconnect(self) -> bool {
        matches!(
            self,
            CloseReason::Error | CloseReason::ServerShutdown | CloseReason::Unverifiable
        )
    }
}

/// One pod a grant covers (`GET /api/grants/{grant}/pods`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSummary {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Container names, the default container first.
    pub containers: Vec<String>,
    /// `status.phase` (`Running`, `Pending`, …).
    pub phase: String,
    /// Whether the grant allows a terminal (`exec`) on it.
    pub exec: bool,
    /// Whether the grant allows reading its logs.
    pub logs: bool,
    /// Unix seconds of the pod's creation (its age), when known.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Containers ready, of all (`ready_containers`/`containers.len()`).
    #[serde(default)]
    pub ready_containers: u32,
    /// Restarts of all its containers together.
    #[serde(default)]
    pub restarts: u32,
    /// The node it runs on, when scheduled.
    #[serde(default)]
    pub node: Option<String>,
}

/// The answer of `GET /api/grants/{grant}/pods`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantPods {
    /// The grant.
    pub grant_id: String,
    /// Its profile.
    pub profile: String,
    /// Unix seconds when it ends.
    pub expires_at: i64,
    /// The Kubernetes user the gateway acts as.
    pub kube_user: String,
    /// The pods, sorted by namespace and name.
    pub pods: Vec<PodSummary>,
}

/// `GET /api/terminal-sessions`: one terminal session as an overseer (or its user) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id (also `keyhole.dev/session-id` in the Kubernetes audit log).
    pub id: String,
    /// Who ran it.
    pub user: crate::access::Person,
    /// The Kubernetes user impersonated.
    pub kube_user: String,
    /// The grant it ran under.
    pub grant_id: String,
    /// The request that led to the grant (its reason and reviews).
    pub request_id: String,
    /// The grant's profile.
    pub profile: String,
    /// Pod namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds; `None` while open.
    pub ended_at: Option<i64>,
    /// Why it ended ([`CloseReason`] name), when it did.
    pub end_reason: Option<CloseReason>,
    /// Bytes typed (browser → pod), counted when the session ends.
    pub bytes_in: u64,
    /// Bytes shown (pod → browser), counted when the session ends.
    pub bytes_out: u64,
    /// Open now: not ended, and its grant is still active. (A session whose gateway stopped
    /// without closing it shows as not live once its grant ended.)
    pub live: bool,
    /// The caller may revoke its grant (approver of the profile, or admin) while it is live.
    pub can_revoke: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let m: ClientMsg =
            serde_json::from_str(r#"{"type":"resize","cols":80,"rows":24}"#).unwrap();
        assert_eq!(m, ClientMsg::Resize { cols: 80, rows: 24 });
        let s = serde_json::to_string(&ServerMsg::Closed {
            reason: CloseReason::ServerShutdown,
            message: "bye".into(),
        })
        .unwrap();
        assert_eq!(
            s,
            r#"{"type":"closed","reason":"server_shutdown","message":"bye"}"#
        );
        let s = serde_json::to_string(&ServerMsg::Exit { code: 3 }).unwrap();
        assert_eq!(s, r#"{"type":"exit","code":3}"#);
        assert_eq!(CloseReason::Revoked.as_str(), "revoked");
    }
}
