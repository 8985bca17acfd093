//! Semantic validation: raw model (`model.rs`) → validated types (`types.rs`).
//!
//! serde already rejected unknown fields and wrong types; this pass checks what types cannot say:
//! names are unique DNS labels, durations parse and fit (default ≤ max ≤ 24h), group lists are
//! non-empty and **name no person** (permissions go to IdP groups, so joining or leaving a group
//! is the whole on- and offboarding), Kubernetes groups are `keyhole:*`, regexes and globs
//! compile. Every finding carries the position of the node it is about. Findings that leave the
//! policy usable but probably wrong are warnings.

use std::collections::HashMap;
use std::time::Duration;

use super::duration::parse_duration;
use super::model::{DurationText, GroupName, RawPolicy};
use super::rules::CommandRule;
use super::span::{At, Diagnostic, Pos};
use super::types::{Capability, CapabilitySet, Profile, Webhook};
use super::validate_profile::profile;
use super::validate_rules::{command_rule, webhook};

/// The longest grant any profile may offer.
pub const MAX_GRANT: Duration = Duration::from_secs(24 * 3600);
/// `approval.pending_timeout` when the file gives none.
pub const DEFAULT_PENDING_TIMEOUT: Duration = Duration::from_secs(3600);

/// The UI-role group lists, validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleGroups {
    pub engineers: Vec<String>,
    pub leads: Vec<String>,
    pub auditors: Vec<String>,
    pub admins: Vec<String>,
}

/// Everything a valid file holds, before it is indexed into a `Policy`.
pub(crate) struct Validated {
    pub roles: RoleGroups,
    pub profiles: Vec<Profile>,
    pub command_rules: Vec<CommandRule>,
    pub webhooks: Vec<Webhook>,
}

/// Collects findings while validating.
#[derive(Default)]
pub(crate) struct Findings(pub Vec<Diagnostic>);

impl Findings {
    pub(crate) fn error(&mut self, pos: Pos, msg: impl Into<String>) {
        self.0.push(Diagnostic::error(pos, msg));
    }

    pub(crate) fn warn(&mut self, pos: Pos, msg: impl Into<String>) {
        self.0.push(Diagnostic::warning(pos, msg));
    }
}

/// Validates a parsed file. The result is usable only if no error was added to `out`.
pub(crate) fn validate(raw: &RawPolicy, out: &mut Findings) -> Validated {
    if *raw.version != 1 {
        out.error(
            raw.version.pos(),
            format!(
                "unsupported version {}: this Keyhole reads version 1",
                *raw.version
            ),
        );
    }
    let roles = RoleGroups {
        engineers: groups(&raw.roles.engineers, "roles.engineers", out),
        leads: groups(&raw.roles.leads, "roles.leads", out),
        auditors: groups(&raw.roles.auditors, "roles.auditors", out),
        admins: groups(&raw.roles.admins, "roles.admins", out),
    };
    if raw.profiles.is_empty() {
        out.warn(
            Pos::START,
            "the policy has no profiles: nobody can request access",
        );
    }
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    let mut profiles = Vec::new();
    for p in &raw.profiles {
        if let Some(first) = seen.insert(p.name.as_str(), p.name.pos()) {
            out.error(
                p.name.pos(),
                format!(
                    "duplicate profile name `{}` (first at line {})",
                    *p.name, first.line
                ),
            );
        }
        if let Some(profile) = profile(p, out) {
            profiles.push(profile);
        }
    }
    let mut seen: HashMap<&str, Pos> = HashMap::new();
    let mut command_rules = Vec::new();
    for r in &raw.command_rules {
        if let Some(first) = seen.insert(r.name.as_str(), r.name.pos()) {
            out.error(
                r.name.pos(),
                format!(
                    "duplicate rule name `{}` (first at line {})",
                    *r.name, first.line
                ),
            );
        }
        command_rules.extend(command_rule(r, out));
    }
    if let Some(first) = raw.command_rules.first() {
        out.warn(
            first.name.pos(),
            not_enforced_rules(raw.command_rules.len()),
        );
    }
    let webhooks = raw
        .notifications
        .iter()
        .flat_map(|n| &n.webhooks)
        .filter_map(|w| webhook(w, out))
        .collect();
    Validated {
        roles,
        profiles,
        command_rules,
        webhooks,
    }
}

/// The warning for a file with command rules: they are validated (and `keyhole policy test`
/// evaluates line cases against them), but this version's terminal does not apply them.
pub(crate) const COMMAND_RULES_NOT_ENFORCED: &str =
    "command_rules are not enforced by this version of Keyhole";

fn not_enforced_rules(n: usize) -> String {
    format!(
        "{COMMAND_RULES_NOT_ENFORCED}: the {n} global rule(s) are checked and used by \
         `keyhole policy test`, but terminals do not filter commands; do not rely on them"
    )
}

/// Checks every name in a group list: non-empty, trimmed, and not a person.
fn groups(list: &[At<GroupName>], field: &str, out: &mut Findings) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for g in list {
        let name = g.0.as_str();
        let lower = name.to_ascii_lowercase();
        if name.trim().is_empty() {
            out.error(g.pos(), format!("{field}: group names must not be empty"));
        } else if name.trim() != name {
            out.error(
                g.pos(),
                format!("{field}: group `{name}` has leading or trailing spaces"),
            );
        } else if name.contains('@') || lower.starts_with("user:") || lower.starts_with("user/") {
            out.error(
                g.pos(),
                format!(
                    "{field}: `{name}` names a person; permissions go to IdP groups, never to \
                     individual users: put the person in a group and list the group here"
                ),
            );
        } else if names.iter().any(|n| n == name) {
            out.warn(g.pos(), format!("{field}: group `{name}` is listed twice"));
        } else {
            names.push(name.to_owned());
        }
    }
    names
}

pub(crate) fn required_groups(
    list: &At<Vec<At<GroupName>>>,
    field: &str,
    out: &mut Findings,
) -> Vec<String> {
    if list.is_empty() {
        out.error(
            list.pos(),
            format!("{field} must name at least one IdP group"),
        );
        return Vec::new();
    }
    groups(list, field, out)
}

pub(crate) fn duration(
    text: &At<DurationText>,
    field: &str,
    out: &mut Findings,
) -> Option<Duration> {
    match parse_duration(&text.0) {
        Ok(d) if d.is_zero() => {
            out.error(text.pos(), format!("{field} must be longer than zero"));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            out.error(text.pos(), format!("{field}: {e}"));
            None
        }
    }
}

pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(crate) fn capabilities(
    list: &At<Vec<At<Capability>>>,
    field: &str,
    out: &mut Findings,
) -> CapabilitySet {
    let mut set = CapabilitySet::EMPTY;
    for cap in list.iter() {
        if set.contains(**cap) {
            out.warn(cap.pos(), format!("{field}: `{}` is listed twice", **cap));
        }
        set.insert(**cap);
    }
    if set.is_empty() {
        out.error(
            list.pos(),
            format!("{field} must list at least one capability"),
        );
    }
    set
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
