//! The validated policy: what the rest of the server reads.
//!
//! Values here have passed every check in `load.rs`: durations are parsed and within bounds, group
//! lists are non-empty and name no people, regexes and globs are compiled. The structs are plain
//! data with public fields; the one invariant that spans them (profile names are unique and
//! indexed) lives in [`super::Policy`], whose fields are private.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Something a grant lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Open a terminal (`pods/exec`).
    Exec,
    /// Read and follow pod logs (`pods/log`).
    Logs,
    /// Forward a port (`pods/portforward`). Not supported yet.
    Portforward,
    /// Start an ephemeral debug container. Not supported yet.
    Debug,
}

impl Capability {
    /// Every capability, in a fixed order.
    pub const ALL: [Capability; 4] = [
        Capability::Exec,
        Capability::Logs,
        Capability::Portforward,
        Capability::Debug,
    ];

    /// The name used in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Exec => "exec",
            Capability::Logs => "logs",
            Capability::Portforward => "portforward",
            Capability::Debug => "debug",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Capability`]s (a bit set: `Copy`, and subset checks cost one instruction).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapabilitySet(u8);

impl CapabilitySet {
    /// The empty set.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// Whether `cap` is in the set.
    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// Adds `cap`.
    pub fn insert(&mut self, cap: Capability) {
        self.0 |= cap.bit();
    }

    /// Whether every member of `self` is in `other`.
    pub fn is_subset(self, other: CapabilitySet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in [`Capability::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = CapabilitySet::EMPTY;
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

impl fmt::Debug for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for CapabilitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.iter().map(Capability::as_str).collect();
        write!(f, "[{}]", names.join(", "))
    }
}

/// One validated access profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Unique DNS-label name, e.g. `payments-debug`.
    pub name: String,
    /// Shown on the request form.
    pub description: String,
    /// Namespaces the profile reaches (non-empty).
    pub namespaces: Vec<String>,
    /// `matchLabels` that a pod must carry; empty means every pod in the namespaces.
    pub pod_selector: BTreeMap<String, String>,
    /// What a grant allows (non-empty).
    pub capabilities: CapabilitySet,
    /// Kubernetes groups impersonated while a grant is active (each `keyhole:…`).
    pub kubernetes_groups: Vec<String>,
    /// Duration offered by default (≤ `max_duration`).
    pub default_duration: Duration,
    /// Longest grant (≤ 24h).
    pub max_duration: Duration,
    /// How terminals start.
    pub exec: ExecSpec,
    /// Close a terminal after this long without traffic.
    pub idle_timeout: Option<Duration>,
    /// IdP groups whose members may request the profile (non-empty).
    pub request_groups: Vec<String>,
    /// Who approves, and how many.
    pub approval: Approval,
    /// Rules that approve at once; any one matching is enough.
    pub auto_approve: Vec<AutoApproveRule>,
}

/// How terminals of a profile start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The argv run in the container.
    pub command: Vec<String>,
    /// `false` means strict mode: only `allowed_commands`, each as a non-interactive exec.
    pub interactive: bool,
    /// Strict mode: argv prefixes that may be run.
    pub allowed_commands: Vec<Vec<String>>,
}

/// The default exec command: bash when the image has it, otherwise sh.
pub const DEFAULT_EXEC_COMMAND: [&str; 3] = [
    "/bin/sh",
    "-c",
    "command -v bash >/dev/null 2>&1 && exec bash || exec sh",
];

/// Who approves a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// IdP groups whose members may approve (non-empty).
    pub groups: Vec<String>,
    /// Distinct approvals needed (≥ 1).
    pub required: u32,
    /// A pending request expires after this long.
    pub pending_timeout: Duration,
}

/// An auto-approve rule; every condition must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoApproveRule {
    /// The requester is in any of these groups.
    pub groups: Vec<String>,
    /// The requested duration is at most this (already capped at the profile maximum).
    pub max_duration: Duration,
    /// The request needs at most these capabilities; `None` means any.
    pub capabilities: Option<CapabilitySet>,
}

/// What a command rule does with a matching line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Block the line (it never reaches the pod's shell) and log the attempt.
    Deny,
    /// Let the line through even if a later rule would deny it.
    Allow,
    /// Let the line through and mark it in the audit log.
    Audit,
}

/// Body format of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Keyhole's own JSON event.
    #[default]
    Generic,
    /// A Slack-compatible `{"text": …}` body.
    Slack,
}

/// Events a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// A request was created and waits for approval (or was auto-approved).
    RequestCreated,
    /// A request was approved.
    RequestApproved,
    /// A request was denied.
    RequestDenied,
    /// The requester cancelled a pending request.
    RequestCancelled,
    /// A pending request expired.
    RequestExpired,
    /// A grant was revoked.
    GrantRevoked,
    /// A grant reached its end.
    GrantExpired,
}

/// Where a webhook's URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookUrl {
    /// Written in the policy.
    Literal(url::Url),
    /// Read from this environment variable when sending (kept out of the policy because it is a secret).
    Env(String),
}

/// One webhook target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where to POST.
    pub url: WebhookUrl,
    /// Body format.
    pub format: WebhookFormat,
    /// Subscribed events (non-empty).
    pub events: Vec<WebhookEvent>,
}
