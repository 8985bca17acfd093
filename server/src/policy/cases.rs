//! `keyhole policy test`: test cases for a policy, kept in git next to it.
//!
//! A cases file is YAML (or JSON) with four optional lists:
//!
//! ```yaml
//! requests:   # groups + request → auto | pending | denied
//!   - name: on-call gets 30 minutes at once
//!     groups: [oncall-payments]
//!     request: { profile: payments-debug, duration: 30m }   # capabilities: [logs] optional
//!     expect: auto
//! reviews:    # who may approve a profile (reviewer/requester subjects optional)
//!   - name: leads approve payments
//!     reviewer_groups: [leads-payments]
//!     profile: payments-debug
//!     expect_may_approve: true
//! lines:      # terminal line → allow | deny, with the simple matcher
//!   - profile: payments-debug
//!     line: rm -rf /data
//!     expect: deny
//! roles:      # groups → UI roles
//!   - groups: [leads-payments]
//!     expect_roles: [engineer, lead]
//! ```

use keyhole_protocol::api::Role;
use serde::Deserialize;

use super::duration::parse_duration;
use super::load::parse_document;
use super::span::{At, Diagnostic, Pos};
use super::types::Capability;
use super::{Policy, PolicyErrors, RequestDecision, RequestInput};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    #[serde(default)]
    requests: Vec<RequestCase>,
    #[serde(default)]
    reviews: Vec<ReviewCase>,
    #[serde(default)]
    lines: Vec<LineCase>,
    #[serde(default)]
    roles: Vec<RoleCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestCase {
    name: At<String>,
    groups: Vec<String>,
    request: CaseRequest,
    expect: Outcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    profile: String,
    duration: At<String>,
    #[serde(default)]
    capabilities: Option<Vec<Capability>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Auto,
    Pending,
    Denied,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewCase {
    name: At<String>,
    reviewer_groups: Vec<String>,
    profile: String,
    expect_may_approve: bool,
    /// With `requester`, the case goes through `check_review` (self-approval included).
    #[serde(default)]
    reviewer: Option<String>,
    #[serde(default)]
    requester: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineCase {
    #[serde(default)]
    name: Option<String>,
    profile: String,
    line: At<String>,
    expect: LineOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LineOutcome {
    Allow,
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleCase {
    #[serde(default)]
    name: Option<String>,
    groups: At<Vec<String>>,
    expect_roles: Vec<Role>,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// `requests`, `reviews`, `lines` or `roles`, and the case's name.
    pub name: String,
    /// Where the case starts in the cases file.
    pub pos: Pos,
    /// `None` when the case passed; otherwise what happened instead.
    pub failure: Option<String>,
}

/// Runs every case in `src` (a cases file named `origin`) against `policy`.
pub fn run_cases(
    policy: &Policy,
    src: &str,
    origin: &str,
) -> Result<Vec<CaseOutcome>, PolicyErrors> {
    let fail = |d: Diagnostic| PolicyErrors {
        origin: origin.to_owned(),
        diagnostics: vec![d],
    };
    let file: CasesFile = parse_document(src, origin).map_err(fail)?;
    let mut out = Vec::new();
    for case in &file.requests {
        let duration = parse_duration(&case.request.duration)
            .map_err(|e| fail(Diagnostic::error(case.request.duration.pos(), e)))?;
        let input = RequestInput {
            profile: &case.request.profile,
            duration,
            capabilities: case
                .request
                .capabilities
                .as_ref()
                .map(|c| c.iter().copied().collect()),
        };
        let got = policy.decide_request(&case.groups, &input);
        let outcome = match &got {
            RequestDecision::Denied { .. } => Outcome::Denied,
            RequestDecision::AutoApproved { .. } => Outcome::Auto,
            RequestDecision::Pending { .. } => Outcome::Pending,
        };
        let failure = (outcome != case.expect)
            .then(|| format!("expected {:?}, got {}", case.expect, describe(&got)).to_lowercase());
        out.push(outcome_of("requests", &case.name, case.name.pos(), failure));
    }
    for case in &file.reviews {
        let got = match (&case.reviewer, &case.requester) {
            (Some(reviewer), Some(requester)) => policy
                .check_review(reviewer, &case.reviewer_groups, requester, &case.profile)
                .map_err(|e| e.to_string()),
            _ => policy
                .may_approve(&case.reviewer_groups, &case.profile)
                .then_some(())
                .ok_or_else(|| "not in an approving group (or no such profile)".to_owned()),
        };
        let failure = match (&got, case.expect_may_approve) {
            (Ok(()), false) => Some("expected may_approve false, got true".to_owned()),
            (Err(why), true) => Some(format!("expected may_approve true, got false: {why}")),
            _ => None,
        };
        out.push(outcome_of("reviews", &case.name, case.name.pos(), failure));
    }
    for case in &file.lines {
        let name = case.name.clone().unwrap_or_else(|| (*case.line).clone());
        let failure = match policy.check_line(&case.profile, &case.line) {
            None => Some(format!("no profile named `{}`", case.profile)),
            Some(d) if d.allowed == (case.expect == LineOutcome::Allow) => None,
            Some(d) if d.allowed => Some("expected deny, got allow".to_owned()),
            Some(d) => Some(format!(
                "expected allow, got deny by {}",
                d.rule
                    .map_or("strict mode".to_owned(), |r| format!("rule `{r}`"))
            )),
        };
        out.push(outcome_of("lines", &name, case.line.pos(), failure));
    }
    for case in &file.roles {
        let name = case.name.clone().unwrap_or_else(|| case.groups.join(", "));
        let mut want = case.expect_roles.clone();
        want.sort();
        want.dedup();
        let got = policy.roles_for(&case.groups);
        let failure =
            (got != want).then(|| format!("expected roles {want:?}, got {got:?}").to_lowercase());
        out.push(outcome_of("roles", &name, case.groups.pos(), failure));
    }
    Ok(out)
}

fn describe(d: &RequestDecision) -> String {
    match d {
        RequestDecision::Denied { reason } => format!("denied ({reason})"),
        RequestDecision::AutoApproved { rule } => format!("auto (auto_approve[{rule}])"),
        RequestDecision::Pending {
            required_approvals, ..
        } => {
            format!("pending ({required_approvals} approval(s) needed)")
        }
    }
}

fn outcome_of(section: &str, name: &str, pos: Pos, failure: Option<String>) -> CaseOutcome {
    CaseOutcome {
        name: format!("{section}: {name}"),
        pos,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_CASES: &str = include_str!("../../../deploy/examples/policy-cases.yaml");

    #[test]
    fn example_cases_pass_against_the_example_policy() {
        let policy = Policy::from_str(super::super::builtin::SOURCE, "policy.yaml").unwrap();
        let results = run_cases(&policy, EXAMPLE_CASES, "policy-cases.yaml").unwrap();
        let failed: Vec<_> = results.iter().filter(|r| r.failure.is_some()).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        assert!(results.len() >= 20, "only {} cases", results.len());
    }

    #[test]
    fn failing_cases_say_what_happened_and_where() {
        let cases = "requests:\n  - name: wrong\n    groups: [auditors]\n    request: { profile: payments-debug, duration: 30m }\n    expect: auto\nlines:\n  - profile: payments-debug\n    line: ls\n    expect: deny\n";
        let results = run_cases(&Policy::builtin(), cases, "c.yaml").unwrap();
        assert_eq!(results[0].pos.line, 2);
        let why = results[0].failure.as_deref().unwrap();
        assert!(
            why.starts_with("expected auto, got denied (you are in none"),
            "{why}"
        );
        assert_eq!(
            results[1].failure.as_deref(),
            Some("expected deny, got allow")
        );
    }

    #[test]
    fn bad_cases_files_are_errors_with_positions() {
        let err = run_cases(
            &Policy::builtin(),
            "requests:\n  - name: x\n    grups: []\n",
            "c.yaml",
        )
        .unwrap_err();
        assert_eq!(err.diagnostics[0].pos.line, 3, "the unknown key");
        assert!(
            err.to_string()
                .starts_with("c.yaml:3:5: requests[0]: unknown field `grups`"),
            "{err}"
        );
        let bad_duration = "requests:\n  - name: x\n    groups: []\n    request: { profile: p, duration: soon }\n    expect: denied\n";
        let err = run_cases(&Policy::builtin(), bad_duration, "c.yaml").unwrap_err();
        assert_eq!(err.diagnostics[0].pos.line, 4);
    }
}
