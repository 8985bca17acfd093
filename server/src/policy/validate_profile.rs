//! Validation of one access profile (see `validate.rs` for the rules that apply file-wide).

use std::time::Duration;

use super::model::{RawAutoApprove, RawProfile};
use super::span::{At, Severity};
use super::types::{
    Approval, AutoApproveRule, Capability, CapabilitySet, DEFAULT_EXEC_COMMAND, ExecSpec, Profile,
};
use super::validate::{
    DEFAULT_PENDING_TIMEOUT, Findings, MAX_GRANT, capabilities, duration, is_dns_label,
    required_groups,
};

/// `default_duration` is `max_duration` capped at this when the file gives none.
const DEFAULT_DURATION_CAP: Duration = Duration::from_secs(3600);

/// Validates a profile; `None` if it has errors (they are in `out`).
pub(crate) fn profile(p: &RawProfile, out: &mut Findings) -> Option<Profile> {
    let errors_before = error_count(out);
    let name = p.name.as_str();
    let at = |field: &str| format!("profile `{name}`: {field}");
    if !is_dns_label(name) {
        out.error(
            p.name.pos(),
            format!(
                "profile name `{name}` must be a DNS label: lowercase letters, digits and `-`, \
                 at most 63 characters"
            ),
        );
    }
    check_scope(p, &at, out);
    let caps = capabilities(&p.capabilities, &at("capabilities"), out);
    let (default, max) = durations(p, &at, out);
    let idle_timeout = p
        .idle_timeout
        .as_ref()
        .and_then(|t| duration(t, &at("idle_timeout"), out));
    let exec = exec_spec(p, &at("exec"), out);
    let request_groups = required_groups(&p.request.groups, &at("request.groups"), out);
    let approval = approval(p, &at, out);
    let auto_approve = p
        .auto_approve
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let field = at(&format!("auto_approve[{i}]"));
            auto_rule(rule, &field, &request_groups, caps, max?, out)
        })
        .collect();
    if error_count(out) > errors_before {
        return None;
    }
    Some(Profile {
        name: name.to_owned(),
        description: p.description.clone(),
        namespaces: p.namespaces.iter().map(|n| (**n).clone()).collect(),
        pod_selector: p
            .pod_selector
            .as_ref()
            .map(|s| (**s).clone())
            .unwrap_or_default(),
        capabilities: caps,
        kubernetes_groups: p.kubernetes_groups.iter().map(|g| (**g).clone()).collect(),
        default_duration: default?,
        max_duration: max?,
        exec: exec?,
        idle_timeout,
        request_groups,
        approval: approval?,
        auto_approve,
    })
}

fn error_count(out: &Findings) -> usize {
    out.0
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

/// Namespaces, pod selector, capability support and Kubernetes groups.
fn check_scope(p: &RawProfile, at: &dyn Fn(&str) -> String, out: &mut Findings) {
    if p.namespaces.is_empty() {
        out.error(
            p.namespaces.pos(),
            at("namespaces must list at least one namespace"),
        );
    }
    for ns in p.namespaces.iter() {
        if !is_dns_label(ns) {
            let msg = format!("namespace `{}` is not a valid namespace name", **ns);
            out.error(ns.pos(), at(&msg));
        }
    }
    if let Some(sel) = &p.pod_selector
        && sel.keys().any(|k| k.trim().is_empty())
    {
        out.error(sel.pos(), at("pod_selector label names must not be empty"));
    }
    for cap in p.capabilities.iter() {
        if matches!(**cap, Capability::Portforward | Capability::Debug) {
            let msg = format!(
                "capability `{}` is not yet supported and grants nothing for now",
                **cap
            );
            out.warn(cap.pos(), at(&msg));
        }
    }
    if p.kubernetes_groups.is_empty() {
        out.error(
            p.kubernetes_groups.pos(),
            at("kubernetes_groups must name at least one group to impersonate"),
        );
    }
    for g in p.kubernetes_groups.iter() {
        // The gateway's ClusterRole allows impersonating `keyhole:*` groups only; any other
        // name would fail at the first exec, so say so while the file is still in review.
        if g.strip_prefix("keyhole:").is_none_or(str::is_empty) {
            let msg = format!(
                "Kubernetes group `{}` must start with `keyhole:` (e.g. `keyhole:{}`): the \
                 gateway may only impersonate `keyhole:*` groups",
                **g, *p.name
            );
            out.error(g.pos(), at(&msg));
        }
    }
}

/// `(default_duration, max_duration)`: each parsed, max ≤ 24h, default ≤ max.
fn durations(
    p: &RawProfile,
    at: &dyn Fn(&str) -> String,
    out: &mut Findings,
) -> (Option<Duration>, Option<Duration>) {
    let max = duration(&p.max_duration, &at("max_duration"), out);
    if let Some(m) = max
        && m > MAX_GRANT
    {
        let msg = format!(
            "max_duration {} is longer than the limit of 24h",
            p.max_duration.0
        );
        out.error(p.max_duration.pos(), at(&msg));
    }
    let Some(text) = &p.default_duration else {
        return (max.map(|m| m.min(DEFAULT_DURATION_CAP)), max);
    };
    let default = duration(text, &at("default_duration"), out);
    if let (Some(d), Some(m)) = (default, max)
        && d > m
    {
        let msg = format!(
            "default_duration {} is longer than max_duration {}",
            text.0, p.max_duration.0
        );
        out.error(text.pos(), at(&msg));
    }
    (default, max)
}

fn approval(p: &RawProfile, at: &dyn Fn(&str) -> String, out: &mut Findings) -> Option<Approval> {
    let groups = required_groups(&p.approval.groups, &at("approval.groups"), out);
    let required = p.approval.required.as_ref().map_or(1, |r| **r);
    if required == 0 {
        let pos = p
            .approval
            .required
            .as_ref()
            .map_or(p.approval.pos(), At::pos);
        out.error(
            pos,
            at("approval.required must be at least 1 (use auto_approve to skip approval)"),
        );
    }
    let pending_timeout = match &p.approval.pending_timeout {
        Some(t) => duration(t, &at("approval.pending_timeout"), out)?,
        None => DEFAULT_PENDING_TIMEOUT,
    };
    Some(Approval {
        groups,
        required,
        pending_timeout,
    })
}

fn auto_rule(
    rule: &RawAutoApprove,
    field: &str,
    request_groups: &[String],
    profile_caps: CapabilitySet,
    profile_max: Duration,
    out: &mut Findings,
) -> Option<AutoApproveRule> {
    let groups = required_groups(&rule.groups, &format!("{field}.groups"), out);
    for g in rule.groups.iter() {
        if !request_groups.iter().any(|r| *r == g.0) {
            out.warn(
                g.pos(),
                format!(
                    "{field}: `{}` is not in request.groups, so its members can never request \
                     this profile",
                    g.0
                ),
            );
        }
    }
    let max = match &rule.max_duration {
        Some(t) => {
            let d = duration(t, &format!("{field}.max_duration"), out)?;
            if d > profile_max {
                out.warn(
                    t.pos(),
                    format!(
                        "{field}: max_duration is longer than the profile's; the profile's \
                         maximum applies"
                    ),
                );
            }
            d.min(profile_max)
        }
        None => profile_max,
    };
    let caps = rule.capabilities.as_ref().map(|c| {
        let set = capabilities(c, &format!("{field}.capabilities"), out);
        if !set.is_subset(profile_caps) {
            out.warn(
                c.pos(),
                format!("{field}: capabilities name some the profile does not grant"),
            );
        }
        set
    });
    Some(AutoApproveRule {
        groups,
        max_duration: max,
        capabilities: caps,
    })
}

fn exec_spec(p: &RawProfile, field: &str, out: &mut Findings) -> Option<ExecSpec> {
    let default_command = || DEFAULT_EXEC_COMMAND.map(String::from).to_vec();
    let Some(raw) = &p.exec else {
        return Some(ExecSpec {
            command: default_command(),
            interactive: true,
            allowed_commands: Vec::new(),
        });
    };
    let command = match &raw.command {
        Some(c) if c.is_empty() || c.iter().any(String::is_empty) => {
            let msg = format!("{field}.command must be a non-empty argv without empty words");
            out.error(c.pos(), msg);
            return None;
        }
        Some(c) => (**c).clone(),
        None => default_command(),
    };
    let interactive = raw.interactive.as_ref().is_none_or(|i| **i);
    // Block mappings report their start after the first key, so point at a key when we can.
    let pos = raw.interactive.as_ref().map_or(raw.pos(), At::pos);
    for argv in &raw.allowed_commands {
        if argv.is_empty() || argv.iter().any(String::is_empty) {
            let msg = format!("{field}.allowed_commands entries must be non-empty argv lists");
            out.error(argv.pos(), msg);
        }
    }
    if !interactive && raw.allowed_commands.is_empty() {
        let msg = format!(
            "{field}: interactive: false needs allowed_commands (strict mode runs only listed \
             commands)"
        );
        out.error(pos, msg);
    }
    if !interactive {
        let msg = format!(
            "{field}: strict mode (interactive: false, allowed_commands) is not enforced by this \
             version of Keyhole: terminals of this profile are refused until it is"
        );
        out.warn(pos, msg);
    }
    if let Some(first) = raw.allowed_commands.first()
        && interactive
    {
        let msg =
            format!("{field}.allowed_commands only applies with interactive: false; it is ignored");
        out.warn(first.pos(), msg);
    }
    if !p.capabilities.iter().any(|c| **c == Capability::Exec) {
        let msg = format!("{field} is set but the profile has no `exec` capability");
        out.warn(pos, msg);
    }
    Some(ExecSpec {
        command,
        interactive,
        allowed_commands: raw.allowed_commands.iter().map(|a| (**a).clone()).collect(),
    })
}
