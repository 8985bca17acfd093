//! Unit tests for loading and validation: every rule, and that errors point at the right line.

use crate::policy::{Policy, PolicyErrors, Severity};

/// A valid policy whose profile ends at line 13; tests replace or append lines.
const BASE: &str = "version: 1
roles:
  leads: [leads]
profiles:
  - name: web-debug
    namespaces: [web]
    capabilities: [exec]
    kubernetes_groups: [\"keyhole:web-debug\"]
    default_duration: 30m
    max_duration: 1h
    request: { groups: [oncall] }
    approval: { groups: [leads] }
    auto_approve: [{ groups: [oncall], max_duration: 10m }]
";

fn errors(src: &str) -> PolicyErrors {
    Policy::from_str(src, "p.yaml").expect_err("the policy should be rejected")
}

/// The first error's line and message.
fn first(src: &str) -> (usize, String) {
    let e = errors(src);
    let d = e.errors().next().expect("at least one error");
    (d.pos.line, d.message.clone())
}

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_base_policy_is_valid() {
    let p = Policy::from_str(BASE, "p.yaml").unwrap();
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
}

#[test]
fn email_addresses_in_group_lists_are_rejected_with_their_line() {
    let (line, msg) = first(&with(
        "groups: [oncall] }",
        "groups: [oncall, alice@example.com] }",
    ));
    assert_eq!(line, 11);
    assert!(msg.contains("`alice@example.com` names a person"), "{msg}");
    assert!(msg.contains("permissions go to IdP groups"), "{msg}");
    let (line, _) = first(&with("leads: [leads]", "leads: [leads, bob@corp]"));
    assert_eq!(line, 3);
}

#[test]
fn user_subjects_are_rejected_everywhere_groups_go() {
    for (from, to, line) in [
        (
            "approval: { groups: [leads] }",
            "approval: { groups: [\"user:bob\"] }",
            12,
        ),
        (
            "auto_approve: [{ groups: [oncall]",
            "auto_approve: [{ groups: [User:alice]",
            13,
        ),
        ("leads: [leads]", "leads: [\"User/carol\"]", 3),
    ] {
        let (l, msg) = first(&with(from, to));
        assert_eq!(l, line, "{msg}");
        assert!(msg.contains("names a person"), "{msg}");
    }
}

#[test]
fn the_error_is_printed_as_file_line_column() {
    let e = errors(&with("leads: [leads]", "leads: [leads, bob@corp]"));
    assert_eq!(
        e.to_string().lines().next().unwrap(),
        "p.yaml:3:18: roles.leads: `bob@corp` names a person; permissions go to IdP groups, never to individual users: put the person in a group and list the group here"
    );
}

#[test]
fn unknown_fields_are_errors_with_their_line() {
    let (line, msg) = first(&with(
        "    namespaces: [web]\n",
        "    namespaces: [web]\n    namespace: web\n",
    ));
    assert_eq!(line, 7, "the unknown key itself");
    assert!(msg.contains("unknown field `namespace`"), "{msg}");
    assert!(msg.starts_with("profiles[0]"), "{msg}");
    let (line, msg) = first(&format!("{BASE}extra: 1\n"));
    assert_eq!(line, 14);
    assert!(msg.starts_with("unknown field `extra`"), "{msg}");
    assert!(msg.contains("unknown field `extra`"), "{msg}");
}

#[test]
fn missing_and_mistyped_fields_are_errors() {
    let (_, msg) = first(&with("    max_duration: 1h\n", ""));
    assert!(msg.contains("missing field `max_duration`"), "{msg}");
    let (line, msg) = first(&with("capabilities: [exec]", "capabilities: [shell]"));
    assert_eq!(line, 7);
    assert!(msg.contains("shell"), "{msg}");
    let (line, _) = first(&with("version: 1", "version: 2"));
    assert_eq!(line, 1);
}

#[test]
fn durations_must_parse_and_fit() {
    let (line, msg) = first(&with("max_duration: 1h", "max_duration: an hour"));
    assert_eq!(line, 10);
    assert!(
        msg.contains("max_duration: `an hour` is not a duration"),
        "{msg}"
    );
    let (line, msg) = first(&with("default_duration: 30m", "default_duration: 2h"));
    assert_eq!(line, 9);
    assert!(
        msg.contains("default_duration 2h is longer than max_duration 1h"),
        "{msg}"
    );
    let (line, msg) = first(&with("max_duration: 1h", "max_duration: 25h"));
    assert_eq!(line, 10);
    assert!(msg.contains("longer than the limit of 24h"), "{msg}");
    let (_, msg) = first(&with("max_duration: 1h", "max_duration: 0s"));
    assert!(msg.contains("longer than zero"), "{msg}");
    let (line, _) = first(&with(
        "{ groups: [leads] }",
        "{ groups: [leads], pending_timeout: 5 }",
    ));
    assert_eq!(line, 12);
}

#[test]
fn huge_durations_are_errors_at_their_position_never_panics() {
    // Each duration field, with values a year and more, up to numbers that overflow u64.
    let cases = [
        ("max_duration: 1h", "max_duration: {}"),
        ("default_duration: 30m", "default_duration: {}"),
        ("max_duration: 10m }", "max_duration: {} }"),
        (
            "approval: { groups: [leads] }",
            "approval: { groups: [leads], pending_timeout: {} }",
        ),
        (
            "request: { groups: [oncall] }",
            "request: { groups: [oncall] }\n    idle_timeout: {}",
        ),
    ];
    for value in [
        "366d",
        "8761h",
        "99999999999999h",
        "9223372036854775807s",
        "18446744073709551615s",
        "99999999999999999999999d",
    ] {
        for (from, to) in cases {
            let src = with(from, &to.replace("{}", value));
            let e = errors(&src);
            let d = e
                .errors()
                .find(|d| d.message.contains(value))
                .unwrap_or_else(|| panic!("{value} in `{to}`: {e}"));
            // FILE:LINE:COL points at the value itself.
            let line_text = src.lines().nth(d.pos.line - 1).unwrap();
            assert_eq!(
                line_text.find(value).map(|c| c + 1),
                Some(d.pos.column),
                "{value}: {e}"
            );
            assert!(
                d.message.contains("longer than the limit of"),
                "{value}: {}",
                d.message
            );
            assert!(
                e.to_string()
                    .contains(&format!("p.yaml:{}:{}: ", d.pos.line, d.pos.column))
            );
        }
    }
    // A year exactly is fine where no lower limit applies.
    let p = Policy::from_str(
        &with(
            "approval: { groups: [leads] }",
            "approval: { groups: [leads], pending_timeout: 365d }",
        ),
        "p.yaml",
    )
    .unwrap();
    assert_eq!(
        p.profile("web-debug").unwrap().approval.pending_timeout,
        crate::policy::MAX_POLICY_DURATION
    );
}

#[test]
fn names_groups_and_counts_are_checked() {
    let (line, msg) = first(&with("name: web-debug", "name: Web_Debug"));
    assert_eq!(line, 5);
    assert!(msg.contains("DNS label"), "{msg}");
    let dup = BASE.replacen(
        "profiles:\n",
        &format!("profiles:\n{}", &BASE[BASE.find("  - name").unwrap()..]),
        1,
    );
    let (line, msg) = first(&dup);
    assert_eq!(line, 14);
    assert!(
        msg.contains("duplicate profile name `web-debug` (first at line 5)"),
        "{msg}"
    );
    let (line, msg) = first(&with("[\"keyhole:web-debug\"]", "[system:masters]"));
    assert_eq!(line, 8);
    assert!(msg.contains("must start with `keyhole:`"), "{msg}");
    let (_, msg) = first(&with("namespaces: [web]", "namespaces: []"));
    assert!(msg.contains("namespaces must list at least one"), "{msg}");
    let (line, msg) = first(&with(
        "request: { groups: [oncall] }",
        "request: { groups: [] }",
    ));
    assert_eq!(line, 11);
    assert!(
        msg.contains("request.groups must name at least one IdP group"),
        "{msg}"
    );
    let (_, msg) = first(&with(
        "{ groups: [leads] }",
        "{ groups: [leads], required: 0 }",
    ));
    assert!(
        msg.contains("approval.required must be at least 1"),
        "{msg}"
    );
    let (_, msg) = first(&with("[\"keyhole:web-debug\"]", "[\"keyhole:\"]"));
    assert!(msg.contains("keyhole:"), "{msg}");
}

#[test]
fn strict_mode_needs_allowed_commands() {
    let (line, msg) = first(&with(
        "    request:",
        "    exec: { interactive: false }\n    request:",
    ));
    assert_eq!(line, 11);
    assert!(msg.contains("needs allowed_commands"), "{msg}");
    let src = with(
        "    request:",
        "    exec: { interactive: false, allowed_commands: [[ps]] }\n    request:",
    );
    assert!(Policy::from_str(&src, "p.yaml").is_ok());
}

#[test]
fn features_not_enforced_yet_are_warned_about() {
    // Global command rules: one warning, at the first rule, naming the feature.
    let src = format!(
        "{BASE}command_rules:\n  - {{ name: no-rm, action: deny, programs: [rm] }}\n  - {{ name: a, action: audit, programs: [env] }}\n"
    );
    let p = Policy::from_str(&src, "p.yaml").unwrap();
    let w: Vec<String> = p
        .warnings()
        .iter()
        .map(|d| d.display("p.yaml").to_string())
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("p.yaml:15:")
            && w[0]
                .contains(": warning: command_rules are not enforced by this version of Keyhole"),
        "{w:?}"
    );
    assert!(w[0].contains("2 global rule(s)"), "{w:?}");
    // A strict-mode profile: its own warning, naming the profile.
    let src = with(
        "    request:",
        "    exec: { interactive: false, allowed_commands: [[ps]] }\n    request:",
    );
    let p = Policy::from_str(&src, "p.yaml").unwrap();
    let w: Vec<String> = p
        .warnings()
        .iter()
        .map(|d| d.display("p.yaml").to_string())
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("p.yaml:11:"), "{w:?}");
    assert!(w[0].contains("profile `web-debug`"), "{w:?}");
    assert!(
        w[0].contains("not enforced by this version of Keyhole"),
        "{w:?}"
    );
    // Without either, no such warning.
    let p = Policy::from_str(BASE, "p.yaml").unwrap();
    assert!(p.warnings().is_empty());
}

#[test]
fn command_rules_must_compile() {
    let rules = "command_rules:
  - { name: a, action: deny, pattern: '(oops' }
  - { name: b, action: deny, paths: ['/etc/[x'] }
  - { name: c, action: deny, paths: [etc/shadow] }
  - { name: d, action: audit, flags: [-r] }
  - { name: a, action: deny, programs: [rm], flags: [r] }
  - { name: e, action: block, programs: [rm] }
";
    let e = errors(&format!("{BASE}{rules}"));
    let lines: Vec<_> = e
        .errors()
        .map(|d| (d.pos.line, d.message.as_str()))
        .collect();
    // serde stops at the first type error (line 20), so fix it and look at the rest.
    assert!(lines[0].1.contains("block"), "{lines:?}");
    let e = errors(&format!("{BASE}{}", rules.replace("block", "deny")));
    let lines: Vec<_> = e
        .errors()
        .map(|d| (d.pos.line, d.message.clone()))
        .collect();
    let at = |n: usize, text: &str| lines.iter().any(|(l, m)| *l == n && m.contains(text));
    assert!(at(15, "pattern does not compile"), "{lines:?}");
    assert!(at(16, "does not parse"), "{lines:?}");
    assert!(at(17, "must be absolute"), "{lines:?}");
    assert!(
        at(18, "needs at least one of programs, paths or pattern"),
        "{lines:?}"
    );
    assert!(at(19, "duplicate rule name `a`"), "{lines:?}");
    assert!(at(19, "flag `r` must start with `-`"), "{lines:?}");
}

#[test]
fn webhooks_need_one_url() {
    let hooks = |body: &str| format!("{BASE}notifications:\n  webhooks:\n    - {body}\n");
    let ok = Policy::from_str(
        &hooks("{ url_env: HOOK, format: slack, events: [request_created] }"),
        "p.yaml",
    );
    assert_eq!(ok.unwrap().webhooks().len(), 1);
    let (line, msg) = first(&hooks(
        "{ url: 'https://x.test', url_env: HOOK, events: [grant_revoked] }",
    ));
    assert_eq!(line, 16);
    assert!(msg.contains("exactly one of `url` and `url_env`"), "{msg}");
    let (_, msg) = first(&hooks("{ url: 'ftp://x.test', events: [grant_revoked] }"));
    assert!(msg.contains("http or https"), "{msg}");
    let (_, msg) = first(&hooks("{ url: 'https://x.test', events: [] }"));
    assert!(msg.contains("at least one event"), "{msg}");
}

#[test]
fn doubtful_but_valid_things_are_warnings() {
    let src = with("capabilities: [exec]", "capabilities: [exec, portforward]").replace(
        "groups: [oncall], max_duration: 10m",
        "groups: [oncall, others], max_duration: 3h",
    );
    let p = Policy::from_str(&src, "p.yaml").unwrap();
    let w: Vec<_> = p
        .warnings()
        .iter()
        .map(|d| (d.pos.line, d.message.as_str()))
        .collect();
    assert!(
        w.iter()
            .all(|_| p.warnings().iter().all(|d| d.severity == Severity::Warning))
    );
    assert!(
        w.iter()
            .any(|(l, m)| *l == 7 && m.contains("`portforward` is not yet supported")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(l, m)| *l == 13 && m.contains("`others` is not in request.groups")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(l, m)| *l == 13 && m.contains("the profile's maximum applies")),
        "{w:?}"
    );
    // The rule's maximum is capped at the profile's.
    let rule = &p.profile("web-debug").unwrap().auto_approve[0];
    assert_eq!(rule.max_duration, std::time::Duration::from_secs(3600));
}

#[test]
fn json_policies_load_with_positions() {
    let json = r#"{
  "version": 1,
  "profiles": [{
    "name": "j", "namespaces": ["web"], "capabilities": ["logs"],
    "kubernetes_groups": ["keyhole:j"], "max_duration": "1h",
    "request": {"groups": ["g"]}, "approval": {"groups": ["a@b.c"]}
  }]
}"#;
    let e = Policy::from_str(json, "policy.json").unwrap_err();
    assert_eq!(e.diagnostics[0].pos.line, 6);
    let fixed = json.replace("a@b.c", "approvers");
    assert_eq!(
        Policy::from_str(&fixed, "policy.json")
            .unwrap()
            .profiles()
            .len(),
        1
    );
}

#[test]
fn every_problem_is_reported_at_once_and_sorted() {
    let src =
        with("max_duration: 1h", "max_duration: 1y").replace("leads: [leads]", "leads: [x@y]");
    let e = errors(&src);
    let lines: Vec<_> = e.errors().map(|d| d.pos.line).collect();
    assert_eq!(lines, [3, 10]);
}
