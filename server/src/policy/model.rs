//! The policy file as written: serde types that mirror `policy.yaml` one to one.
//!
//! These types are only the *shape* of the file. They keep source positions ([`At`]) so that
//! validation (`load.rs`) can point at the offending line, and their doc comments become the
//! descriptions in the published JSON Schema (`docs/policy.schema.json`), so they are written for
//! policy authors. Nothing outside this module tree sees them: the rest of the server uses the
//! validated [`super::Policy`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use super::duration::DURATION_PATTERN;
use super::span::At;
use super::types::{Capability, RuleAction, WebhookEvent, WebhookFormat};

/// A list of IdP group names (as they appear in the login token's groups claim).
pub(crate) type Groups = Vec<At<GroupName>>;

/// A Keyhole access policy: who may request which access to which pods, who approves it, and
/// which commands the terminal guardrail stops. Reference: docs/policy.md.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Keyhole access policy")]
pub(crate) struct RawPolicy {
    /// Format version of this file. Must be `1`.
    #[schemars(range(min = 1, max = 1))]
    pub version: At<u32>,
    /// Which IdP groups hold which UI role. A user may hold several roles.
    #[serde(default)]
    pub roles: RawRoles,
    /// The access profiles engineers may request.
    #[serde(default)]
    pub profiles: Vec<RawProfile>,
    /// Rules for the interactive command guardrail. The first matching `allow` or `deny` rule
    /// decides; `audit` rules only mark the line. A guardrail, not a security boundary. Not
    /// enforced by this version of Keyhole: validated and testable with `keyhole policy test`,
    /// but terminals do not filter commands yet.
    #[serde(default)]
    pub command_rules: Vec<RawCommandRule>,
    /// Where to send notifications about requests and grants.
    #[serde(default)]
    pub notifications: Option<RawNotifications>,
}

/// UI roles by IdP group. Anyone who may request at least one profile is an engineer anyway.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Roles")]
pub(crate) struct RawRoles {
    /// Groups whose members see the request pages even if no profile lists them.
    #[serde(default)]
    pub engineers: Groups,
    /// Groups whose members see the approval queue and live sessions. Approving a given profile
    /// still needs membership in that profile's `approval.groups`.
    #[serde(default)]
    pub leads: Groups,
    /// Groups whose members see every request, grant and terminal session (read-only).
    #[serde(default)]
    pub auditors: Groups,
    /// Groups whose members see the effective policy and its reload status.
    #[serde(default)]
    pub admins: Groups,
}

/// One access profile: a named bundle of namespaces, capabilities and Kubernetes groups that an
/// engineer can request for a limited time.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Profile")]
pub(crate) struct RawProfile {
    /// Unique name, a DNS label: lowercase letters, digits and `-`, at most 63 characters.
    pub name: At<String>,
    /// What the profile is for, shown on the request form.
    #[serde(default)]
    pub description: String,
    /// Namespaces the profile reaches (at least one).
    #[schemars(length(min = 1))]
    pub namespaces: At<Vec<At<String>>>,
    /// Only pods with all of these labels (Kubernetes `matchLabels`). Default: every pod.
    #[serde(default)]
    pub pod_selector: Option<At<BTreeMap<String, String>>>,
    /// What a grant allows. `portforward` and `debug` are accepted but not supported yet.
    #[schemars(length(min = 1))]
    pub capabilities: At<Vec<At<Capability>>>,
    /// Kubernetes groups impersonated while a grant is active. Each must start with `keyhole:`
    /// because the gateway's ClusterRole may only impersonate `keyhole:*` groups.
    #[schemars(length(min = 1))]
    pub kubernetes_groups: At<Vec<At<String>>>,
    /// Duration offered on the request form. Default: `max_duration`, capped at 1h.
    #[serde(default)]
    pub default_duration: Option<At<DurationText>>,
    /// Longest grant that may be requested. At most 24h.
    pub max_duration: At<DurationText>,
    /// How terminals are started.
    #[serde(default)]
    pub exec: Option<At<RawExec>>,
    /// Close a terminal after this long without input or output. Default: no idle limit.
    #[serde(default)]
    pub idle_timeout: Option<At<DurationText>>,
    /// Who may request this profile.
    pub request: At<RawRequest>,
    /// Who approves requests that no auto-approve rule covers.
    pub approval: At<RawApproval>,
    /// Rules that approve a request at once. A request is auto-approved if any rule matches.
    #[serde(default)]
    pub auto_approve: Vec<At<RawAutoApprove>>,
}

/// How terminals of a profile are started.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Exec")]
pub(crate) struct RawExec {
    /// The argv run in the container. Default: bash if the image has it, otherwise sh.
    #[serde(default)]
    pub command: Option<At<Vec<String>>>,
    /// `true` (default): an interactive shell, guarded by the command rules. `false`: strict
    /// mode, only the `allowed_commands` run, each as its own non-interactive exec.
    #[serde(default)]
    pub interactive: Option<At<bool>>,
    /// Strict mode only: argv prefixes that may be run, e.g. `[["ps", "aux"], ["cat", "/app/config.yaml"]]`.
    #[serde(default)]
    pub allowed_commands: Vec<At<Vec<String>>>,
}

/// Who may request a profile.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Request")]
pub(crate) struct RawRequest {
    /// IdP groups whose members may request the profile (at least one).
    #[schemars(length(min = 1))]
    pub groups: At<Groups>,
}

/// Who approves a profile, and how many of them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Approval")]
pub(crate) struct RawApproval {
    /// IdP groups whose members may approve or deny (at least one). The requester never
    /// approves their own request, even as a member.
    #[schemars(length(min = 1))]
    pub groups: At<Groups>,
    /// How many distinct approvers a request needs. Default 1.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub required: Option<At<u32>>,
    /// A request nobody decided on expires after this long. Default `1h`.
    #[serde(default)]
    pub pending_timeout: Option<At<DurationText>>,
}

/// An auto-approve rule: every condition given must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AutoApproveRule")]
pub(crate) struct RawAutoApprove {
    /// The requester is in any of these IdP groups.
    #[schemars(length(min = 1))]
    pub groups: At<Groups>,
    /// The requested duration is at most this. Default: the profile's `max_duration`.
    #[serde(default)]
    pub max_duration: Option<At<DurationText>>,
    /// The request needs no capability beyond these (e.g. `[logs]`). Default: any.
    #[serde(default)]
    pub capabilities: Option<At<Vec<At<Capability>>>>,
}

/// A command rule for the interactive guardrail. All given conditions must hold for the rule to
/// match a command; at least one of `programs`, `paths` and `pattern` is required.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CommandRule")]
pub(crate) struct RawCommandRule {
    /// Unique name, shown in the audit log.
    pub name: At<String>,
    /// What happens to a matching line.
    pub action: RuleAction,
    /// Program names (matched against the basename of the command's first word).
    #[serde(default)]
    pub programs: Vec<String>,
    /// Flags, any of which must be present. `-r` also matches combined short flags like `-rf`.
    #[serde(default)]
    pub flags: Vec<At<String>>,
    /// Path globs, any of which an argument must match (`*` stays within a directory, `**`
    /// crosses directories).
    #[serde(default)]
    pub paths: Vec<At<String>>,
    /// A regular expression (Rust `regex` syntax) searched for in the whole line.
    #[serde(default)]
    pub pattern: Option<At<String>>,
    /// Shown to the user (for `deny`) and written to the audit log.
    #[serde(default)]
    pub message: Option<String>,
}

/// Notification targets.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Notifications")]
pub(crate) struct RawNotifications {
    /// Webhooks called on request and grant events.
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
}

/// One webhook. Give exactly one of `url` and `url_env`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Webhook")]
pub(crate) struct RawWebhook {
    /// The http(s) URL to POST to.
    #[serde(default)]
    pub url: Option<At<String>>,
    /// Name of an environment variable holding the URL (Slack webhook URLs are secrets and do
    /// not belong in a file kept in git).
    #[serde(default)]
    pub url_env: Option<At<String>>,
    /// Body format. Default `generic`.
    #[serde(default)]
    pub format: WebhookFormat,
    /// Which events to send (at least one).
    #[schemars(length(min = 1))]
    pub events: At<Vec<WebhookEvent>>,
}

/// A duration such as `90s`, `30m`, `2h` or `1h30m` (units d, h, m, s; largest first).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct DurationText(pub String);

impl JsonSchema for DurationText {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 2,
            "pattern": DURATION_PATTERN,
            "description": "A duration such as `90s`, `30m`, `2h` or `1h30m` (units d, h, m, s; largest first).",
        })
    }
}

/// An IdP group name. Never a person: no e-mail addresses, no `user:` subjects.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct GroupName(pub String);

impl JsonSchema for GroupName {
    fn schema_name() -> Cow<'static, str> {
        "GroupName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "minLength": 1,
            "pattern": "^[^@]+$",
            "description": "An IdP group name. Permissions go to groups, never to people: e-mail addresses and `user:` subjects are rejected.",
        })
    }
}
