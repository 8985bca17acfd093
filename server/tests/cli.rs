//! The `keyhole` binary's bad-input behaviour: one line on stderr, exit 2.

use std::process::Command;

fn keyhole() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhole"));
    // The environment of whoever runs the tests must not decide their outcome.
    for var in [
        "KEYHOLE_CONFIG",
        "KEYHOLE_DEV",
        "KEYHOLE_DEV_UNSAFE",
        "KEYHOLE_LISTEN",
        "KUBERNETES_SERVICE_HOST",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keyhole-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run_serve(config: &std::path::Path, extra_env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = keyhole();
    cmd.args(["serve", "--config"]).arg(config);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_and_help() {
    let out = keyhole().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("keyhole "));
    let out = keyhole().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("serve"));
}

#[test]
fn unknown_config_key_exits_2_naming_key_and_file() {
    let p = tmp("bad.toml", "listen = \"127.0.0.1:0\"\nlisten_prot = 1\n");
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("listen_prot") && err.contains("bad.toml") && err.contains("line 2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn malformed_toml_exits_2() {
    let p = tmp("broken.toml", "[oidc\nissuer = 1\n");
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.toml"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn port_in_use_exits_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let p = tmp("ok.toml", &format!("listen = \"{addr}\"\n"));
    let (code, err) = run_serve(&p, &[("KEYHOLE_DEV", "true")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot listen on") && err.contains(&addr.to_string()),
        "{err}"
    );
}

#[test]
fn unreadable_dist_exits_2_with_how_to_build() {
    let p = tmp(
        "ok.toml",
        "listen = \"127.0.0.1:0\"\ndist_dir = \"/nonexistent/dist\"\n",
    );
    let data = p.parent().unwrap().join("data");
    let (code, err) = run_serve(
        &p,
        &[
            ("KEYHOLE_DATA_DIR", data.to_str().unwrap()),
            ("KEYHOLE_DEV", "true"),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("web app not found") && err.contains("make build"),
        "{err}"
    );
}

#[test]
fn policy_check_warns_that_command_rules_are_not_enforced() {
    let policy = "version: 1
profiles:
  - name: web-debug
    namespaces: [web]
    capabilities: [exec]
    kubernetes_groups: [\"keyhole:web-debug\"]
    max_duration: 1h
    request: { groups: [oncall] }
    approval: { groups: [leads] }
command_rules:
  - name: no-rm
    action: deny
    programs: [rm]
";
    let p = tmp("rules.yaml", policy);
    let out = keyhole()
        .args(["policy", "check"])
        .arg(&p)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "valid: {stderr}");
    assert!(stdout.contains("ok: 1 profiles"), "{stdout}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("command_rules are not enforced by this version of Keyhole"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(
        warning.starts_with(&format!("{}:11:", p.display())) && warning.contains(": warning: "),
        "names the file and the line: {warning}"
    );

    // Without command rules there is nothing to warn about.
    let plain = tmp(
        "plain.yaml",
        &policy[..policy.find("command_rules").unwrap()],
    );
    let out = keyhole()
        .args(["policy", "check"])
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not enforced"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `keyhole serve` with `args` and `env` in an empty directory (no `dist/`, no `data/`).
fn serve_in_empty_dir(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("keyhole-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = keyhole();
    cmd.arg("serve").args(args).current_dir(&dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn serve_without_config_or_dev_exits_2_naming_the_sections_and_the_fixes() {
    let (code, err) = serve_in_empty_dir(&[], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no [kubernetes] and no [oidc] section") && err.contains("--dev"),
        "{err}"
    );
    assert!(err.contains("in_cluster = true"), "how to configure: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn a_config_without_kubernetes_is_refused_without_dev() {
    let p = tmp(
        "prod.toml",
        "listen = \"127.0.0.1:0\"\n[oidc]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"k\"\nclient_secret = \"s\"\n",
    );
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("prod.toml") && err.contains("no [kubernetes] section"),
        "{err}"
    );
    assert!(!err.contains("[oidc] section"), "{err}");
    assert!(err.contains("--dev"), "{err}");
}

#[test]
fn dev_inside_a_kubernetes_cluster_exits_2() {
    let (code, err) = serve_in_empty_dir(&["--dev"], &[("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST") && err.contains("KEYHOLE_DEV_UNSAFE"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn dev_on_a_non_loopback_address_exits_2() {
    let (code, err) = serve_in_empty_dir(
        &[],
        &[("KEYHOLE_DEV", "true"), ("KEYHOLE_LISTEN", "0.0.0.0:0")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("0.0.0.0:0 is not a loopback address"), "{err}");
}

#[test]
fn dev_override_lets_startup_proceed() {
    // With the override the refusals are passed, and startup goes on to the next check (no
    // web app here), before anything is started.
    let (code, err) = serve_in_empty_dir(
        &["--dev"],
        &[
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            ("KEYHOLE_LISTEN", "0.0.0.0:0"),
            ("KEYHOLE_DEV_UNSAFE", "i-know-this-exposes-the-gateway-host"),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web app not found"), "{err}");
    // Anything but the exact phrase is an error.
    let (code, err) = serve_in_empty_dir(&["--dev"], &[("KEYHOLE_DEV_UNSAFE", "yes")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("KEYHOLE_DEV_UNSAFE"), "{err}");
}

#[test]
fn keyhole_dev_must_be_a_boolean() {
    let (code, err) = serve_in_empty_dir(&[], &[("KEYHOLE_DEV", "yes")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("KEYHOLE_DEV") && err.contains("expected true or false"),
        "{err}"
    );
}
