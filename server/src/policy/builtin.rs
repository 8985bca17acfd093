//! The built-in demo policy: `deploy/examples/policy.yaml`, embedded at build time.
//!
//! Embedding the example file itself (rather than a copy) means the documented example and the
//! policy the server runs without a `--policy` flag cannot drift apart; a test keeps it valid,
//! warning-free and passing its cases.

use std::sync::LazyLock;

use super::Policy;

/// The example file's text.
pub(crate) const SOURCE: &str = include_str!("../../../deploy/examples/policy.yaml");

/// Name used in diagnostics for the embedded policy.
pub(crate) const ORIGIN: &str = "<builtin policy>";

static BUILTIN: LazyLock<Policy> = LazyLock::new(|| match Policy::from_str(SOURCE, ORIGIN) {
    Ok(policy) => policy,
    // The tests below make this unreachable in any build that passed CI.
    Err(errors) => panic!("the built-in policy is invalid:\n{errors}"),
});

/// A copy of the built-in policy (parsed once per process).
pub(crate) fn policy() -> Policy {
    BUILTIN.clone()
}

#[cfg(test)]
mod tests {
    use keyhole_protocol::api::Role;

    use super::super::{RequestDecision, RequestInput};
    use super::*;

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn builtin_policy_is_valid_without_warnings() {
        let policy = Policy::builtin();
        // The one warning: its command rules are an example of a feature not enforced yet.
        let warnings: Vec<_> = policy.warnings().iter().map(|w| &w.message).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with(super::super::validate::COMMAND_RULES_NOT_ENFORCED),
            "{warnings:?}"
        );
        let names: Vec<_> = policy.profiles().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["payments-debug", "payments-logs", "search-debug"]);
        assert_eq!(policy.source(), SOURCE);
    }

    #[test]
    fn builtin_policy_matches_the_demo_users() {
        let policy = Policy::builtin();
        let alice = groups(&["oncall-payments"]);
        let bob = groups(&["leads-payments"]);
        let carol = groups(&["auditors"]);
        assert_eq!(policy.roles_for(&alice), [Role::Engineer]);
        assert_eq!(policy.roles_for(&bob), [Role::Engineer, Role::Lead]);
        assert_eq!(policy.roles_for(&carol), [Role::Auditor]);
        assert_eq!(
            policy.roles_for(&groups(&["platform-admins"])),
            [Role::Admin]
        );
        let thirty = RequestInput {
            profile: "payments-debug",
            duration: std::time::Duration::from_secs(1800),
            capabilities: None,
        };
        assert_eq!(
            policy.decide_request(&alice, &thirty),
            RequestDecision::AutoApproved { rule: 0 }
        );
        assert!(policy.may_approve(&bob, "payments-debug"));
        assert!(!policy.may_approve(&carol, "payments-debug"));
        assert!(policy.requestable_profiles(&carol).is_empty());
    }
}
