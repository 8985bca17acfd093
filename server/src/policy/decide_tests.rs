//! Unit tests for the decisions, on a small policy written for them.

use std::time::Duration;

use keyhole_protocol::api::Role;

use super::*;
use crate::policy::{Capability, DEFAULT_EXEC_COMMAND, Policy};

const POLICY: &str = r#"
version: 1
roles:
  engineers: [eng-all]
  leads: [leads]
  auditors: [audit]
  admins: [admins]
profiles:
  - name: db-debug
    namespaces: [db]
    capabilities: [exec, logs]
    kubernetes_groups: ["keyhole:db-debug"]
    max_duration: 2h
    request: { groups: [oncall, leads] }
    approval: { groups: [leads, dba], required: 2, pending_timeout: 20m }
    auto_approve:
      - { groups: [oncall], max_duration: 30m }
      - { groups: [leads], capabilities: [logs] }
  - name: db-strict
    namespaces: [db]
    capabilities: [exec]
    kubernetes_groups: ["keyhole:db-strict"]
    max_duration: 1h
    exec:
      interactive: false
      allowed_commands: [[ps, aux], [cat]]
    request: { groups: [oncall] }
    approval: { groups: [leads] }
command_rules:
  - { name: no-shadow, action: deny, paths: [/etc/shadow] }
"#;

fn policy() -> Policy {
    Policy::from_str(POLICY, "test.yaml").unwrap()
}

fn g(names: &[&str]) -> Vec<String> {
    names.iter().map(std::string::ToString::to_string).collect()
}

fn req(profile: &str, minutes: u64) -> RequestInput<'_> {
    RequestInput {
        profile,
        duration: Duration::from_secs(minutes * 60),
        capabilities: None,
    }
}

fn denied(reason: DenyReason) -> RequestDecision {
    RequestDecision::Denied { reason }
}

#[test]
fn roles_come_from_groups_and_requesters_are_engineers() {
    let p = policy();
    assert_eq!(p.roles_for(&g(&["eng-all"])), [Role::Engineer]);
    assert_eq!(
        p.roles_for(&g(&["oncall"])),
        [Role::Engineer],
        "may request, so engineer"
    );
    assert_eq!(
        p.roles_for(&g(&["dba"])),
        [],
        "approving alone makes no UI role"
    );
    assert_eq!(
        p.roles_for(&g(&["admins", "audit", "leads", "other"])),
        [Role::Engineer, Role::Lead, Role::Auditor, Role::Admin]
    );
    assert!(p.roles_for(&[]).is_empty());
}

#[test]
fn requestable_and_approvable_profiles() {
    let p = policy();
    let names = |v: Vec<&Profile>| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(p.requestable_profiles(&g(&["oncall"]))),
        ["db-debug", "db-strict"]
    );
    assert_eq!(names(p.requestable_profiles(&g(&["leads"]))), ["db-debug"]);
    assert!(p.requestable_profiles(&g(&["audit"])).is_empty());
    assert_eq!(names(p.approvable_profiles(&g(&["dba"]))), ["db-debug"]);
}

#[test]
fn request_checks_profile_requester_and_duration() {
    let p = policy();
    let oncall = g(&["oncall"]);
    assert_eq!(
        p.decide_request(&oncall, &req("nope", 10)),
        denied(DenyReason::UnknownProfile)
    );
    assert_eq!(
        p.decide_request(&g(&["audit"]), &req("db-debug", 10)),
        denied(DenyReason::NotRequester)
    );
    assert_eq!(
        p.decide_request(&oncall, &req("db-debug", 0)),
        denied(DenyReason::ZeroDuration)
    );
    assert_eq!(
        p.decide_request(&oncall, &req("db-debug", 121)),
        denied(DenyReason::TooLong {
            max: Duration::from_secs(7200)
        })
    );
    let mut strict_logs = req("db-strict", 10);
    strict_logs.capabilities = Some([Capability::Logs].into_iter().collect());
    assert_eq!(
        p.decide_request(&oncall, &strict_logs),
        denied(DenyReason::CapabilityNotInProfile)
    );
    let msg = denied(DenyReason::TooLong {
        max: Duration::from_secs(7200),
    });
    let RequestDecision::Denied { reason } = msg else {
        unreachable!()
    };
    assert_eq!(
        reason.to_string(),
        "the duration is longer than this profile's maximum of 2h"
    );
}

#[test]
fn auto_approve_needs_a_rule_to_match_fully() {
    let p = policy();
    let oncall = g(&["oncall"]);
    assert_eq!(
        p.decide_request(&oncall, &req("db-debug", 30)),
        RequestDecision::AutoApproved { rule: 0 }
    );
    // Over the rule's 30 minutes: waits for two approvers (N-of-M) with the profile's timeout.
    assert_eq!(
        p.decide_request(&oncall, &req("db-debug", 31)),
        RequestDecision::Pending {
            required_approvals: 2,
            pending_timeout: Duration::from_secs(1200)
        }
    );
    // Leads are auto-approved for logs only.
    let leads = g(&["leads"]);
    assert!(matches!(
        p.decide_request(&leads, &req("db-debug", 60)),
        RequestDecision::Pending { .. }
    ));
    let mut logs = req("db-debug", 120);
    logs.capabilities = Some([Capability::Logs].into_iter().collect());
    assert_eq!(
        p.decide_request(&leads, &logs),
        RequestDecision::AutoApproved { rule: 1 }
    );
    // Defaults: one approval, pending for an hour.
    assert_eq!(
        p.decide_request(&oncall, &req("db-strict", 10)),
        RequestDecision::Pending {
            required_approvals: 1,
            pending_timeout: Duration::from_secs(3600)
        }
    );
}

#[test]
fn approvers_come_from_the_profile() {
    let p = policy();
    assert!(p.may_approve(&g(&["dba"]), "db-debug"));
    assert!(p.may_approve(&g(&["x", "leads"]), "db-debug"));
    assert!(!p.may_approve(&g(&["dba"]), "db-strict"));
    assert!(!p.may_approve(&g(&["oncall"]), "db-debug"));
    assert!(!p.may_approve(&g(&["leads"]), "missing"));
}

#[test]
fn nobody_reviews_their_own_request() {
    let p = policy();
    let leads = g(&["leads"]);
    assert_eq!(p.check_review("bob", &leads, "alice", "db-debug"), Ok(()));
    assert_eq!(
        p.check_review("bob", &leads, "bob", "db-debug"),
        Err(ReviewDenied::OwnRequest)
    );
    assert_eq!(
        p.check_review("carol", &g(&["audit"]), "alice", "db-debug"),
        Err(ReviewDenied::NotApprover)
    );
    assert_eq!(
        p.check_review("bob", &leads, "alice", "gone"),
        Err(ReviewDenied::UnknownProfile)
    );
    assert_eq!(
        ReviewDenied::OwnRequest.to_string(),
        "you cannot review your own request"
    );
}

#[test]
fn lines_follow_the_profile_mode() {
    let p = policy();
    assert!(p.check_line("db-debug", "bash -l").unwrap().allowed);
    assert!(!p.check_line("db-debug", "cat /etc/shadow").unwrap().allowed);
    assert!(p.check_line("db-strict", "ps aux").unwrap().allowed);
    assert!(!p.check_line("db-strict", "bash").unwrap().allowed);
    assert!(
        !p.check_line("db-strict", "cat /etc/shadow")
            .unwrap()
            .allowed
    );
    assert!(p.check_line("missing", "ls").is_none());
}

#[test]
fn policy_values_are_filled_in() {
    let p = policy();
    let prof = p.profile("db-debug").unwrap();
    assert_eq!(
        prof.default_duration,
        Duration::from_secs(3600),
        "max capped at 1h"
    );
    assert!(prof.exec.interactive);
    assert_eq!(prof.exec.command, DEFAULT_EXEC_COMMAND.map(String::from));
    assert_eq!(prof.capabilities.to_string(), "[exec, logs]");
    assert_eq!(prof.auto_approve[1].max_duration, Duration::from_secs(7200));
}
