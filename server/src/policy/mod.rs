//! Access policy: who may request which access to which pods, who approves it, and which
//! commands the terminal guardrail stops.
//!
//! The policy is one YAML (or JSON) file kept in git and reviewed like code. This module reads
//! it, validates it into an immutable [`Policy`], and answers questions about it with pure
//! functions (no I/O, no async): the access service calls [`Policy::decide_request`] and
//! [`Policy::check_review`], the UI role mapping calls [`Policy::roles_for`]. Only `reload.rs`
//! touches the clock and the file system.
//!
//! # Layout
//!
//! - `model.rs`: the file's serde shape (and so the JSON Schema); `span.rs`: positions and
//!   [`Diagnostic`]s; `load.rs`: text → model; `validate.rs` (+ `validate_profile.rs`,
//!   `validate_rules.rs`): model → the validated types of `types.rs`.
//! - `decide.rs`: the decisions; `rules.rs`: command rules and a simple line matcher.
//! - `cases.rs`: `keyhole policy test`; `cli.rs`: `check` and `test`; `builtin.rs`: the demo
//!   policy; `schema.rs`: `docs/policy.schema.json`; `reload.rs`: hot reload.
//! - `*_tests.rs`: unit tests too long to sit at the end of the file they test.
//!
//! What this module does *not* own: request state, the no-self-approval bookkeeping across
//! reviews, and grants (all in `access`); the real terminal filter (`terminal::filter`).

use std::collections::HashMap;
use std::path::Path;

mod builtin;
mod cases;
mod cli;
mod decide;
mod duration;
mod load;
mod model;
mod reload;
mod rules;
mod schema;
mod span;
mod types;
mod validate;
mod validate_profile;
mod validate_rules;

pub use cases::{CaseOutcome, run_cases};
pub use cli::{cli_check, cli_test};
pub use decide::{DenyReason, RequestDecision, RequestInput, ReviewDenied};
pub use duration::{MAX_POLICY_DURATION, deadline, format_duration, parse_duration};
pub use load::{LoadError, PolicyErrors};
pub use reload::{
    PolicyHandle, ReloadStatus, load_and_watch, spawn_reloader, spawn_reloader_every,
};
pub use rules::{CommandRule, LineDecision, evaluate_line, evaluate_strict};
pub use schema::schema_json;
pub use span::{Diagnostic, Pos, Severity};
pub use types::{
    Approval, AutoApproveRule, Capability, CapabilitySet, DEFAULT_EXEC_COMMAND, ExecSpec, Profile,
    RuleAction, Webhook, WebhookEvent, WebhookFormat, WebhookUrl,
};
pub use validate::{DEFAULT_PENDING_TIMEOUT, MAX_GRANT};

use validate::{Findings, RoleGroups};

/// A validated, immutable policy. Cheap to share as `Arc<Policy>`; every method is pure.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it was read from (a path, or `<builtin policy>`), for messages.
    origin: String,
    /// The text as written, comments included: the admin page shows exactly what was reviewed.
    source: String,
    /// IdP groups per UI role.
    roles: RoleGroups,
    /// Profiles in file order.
    profiles: Vec<Profile>,
    /// Profile name → index into `profiles`, so decisions do not scan the list.
    by_name: HashMap<String, usize>,
    /// IdP group → indexes of the profiles it may request (sorted). Its keys are the groups
    /// whose members are engineers implicitly; it also spares `requestable_profiles` a scan.
    request_index: HashMap<String, Vec<usize>>,
    /// IdP group → indexes of the profiles it may approve (sorted).
    approve_index: HashMap<String, Vec<usize>>,
    /// Guardrail rules in file order.
    command_rules: Vec<CommandRule>,
    /// Notification targets.
    webhooks: Vec<Webhook>,
    /// Warnings found while loading (the policy is valid despite them).
    warnings: Vec<Diagnostic>,
}

impl Policy {
    /// Parses and validates policy text. `origin` names the source in diagnostics; a name ending
    /// in `.json` (or text starting with `{`) is read as JSON.
    pub fn from_str(src: &str, origin: &str) -> Result<Policy, PolicyErrors> {
        let fail = |diagnostics| PolicyErrors {
            origin: origin.to_owned(),
            diagnostics,
        };
        let raw: model::RawPolicy = load::parse_document(src, origin).map_err(|d| fail(vec![d]))?;
        let mut findings = Findings::default();
        let valid = validate::validate(&raw, &mut findings);
        let mut diagnostics = findings.0;
        diagnostics.sort_by_key(|d| d.pos);
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(fail(diagnostics));
        }
        let by_name = valid
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let request_index = group_index(&valid.profiles, |p| &p.request_groups);
        let approve_index = group_index(&valid.profiles, |p| &p.approval.groups);
        Ok(Policy {
            origin: origin.to_owned(),
            source: src.to_owned(),
            roles: valid.roles,
            profiles: valid.profiles,
            by_name,
            request_index,
            approve_index,
            command_rules: valid.command_rules,
            webhooks: valid.webhooks,
            warnings: diagnostics,
        })
    }

    /// Reads, parses and validates a policy file.
    pub fn from_file(path: &Path) -> Result<Policy, LoadError> {
        let src = load::read_text(path)?;
        Policy::from_str(&src, &path.display().to_string()).map_err(LoadError::Invalid)
    }

    /// The built-in demo policy (`deploy/examples/policy.yaml`, embedded at build time).
    pub fn builtin() -> Policy {
        builtin::policy()
    }

    /// Where the policy was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The policy text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// All profiles, in file order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile with this name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.by_name.get(name).map(|&i| &self.profiles[i])
    }

    /// The guardrail rules, in file order.
    pub fn command_rules(&self) -> &[CommandRule] {
        &self.command_rules
    }

    /// Notification targets.
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// Warnings found while loading.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
}

/// Maps each group to the (sorted) indexes of the profiles whose `groups_of` list names it.
fn group_index(
    profiles: &[Profile],
    groups_of: impl Fn(&Profile) -> &Vec<String>,
) -> HashMap<String, Vec<usize>> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        for g in groups_of(p) {
            index.entry(g.clone()).or_default().push(i);
        }
    }
    index
}
