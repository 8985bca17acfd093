//! The real `kubectl` (the gcloud dispatcher at /usr/bin/kubectl, which picks kubectl.1.32 from
//! `/version`) against devstack over TLS, with a generated kubeconfig and a fresh HOME and
//! cache per test.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::TestKube;

const KUBECTL: &str = "/usr/bin/kubectl";

/// `None` (after saying so loudly) when kubectl is not installed.
async fn setup() -> Option<(TestKube, tempfile::TempDir)> {
    if !Path::new(KUBECTL).exists() {
        eprintln!("SKIPPED: kubectl not installed at {KUBECTL}");
        return None;
    }
    let t = TestKube::start().await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("kubeconfig"), t.kube.kubeconfig_yaml()).unwrap();
    Some((t, home))
}

/// Runs kubectl with `args` (and optional stdin) off the async runtime.
async fn kubectl(home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let home = home.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(KUBECTL);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .arg("--kubeconfig")
            .arg(home.join("kubeconfig"))
            .arg("--cache-dir")
            .arg(home.join("cache"))
            .arg("--request-timeout=20s")
            .args(&args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("kubectl starts");
        if let Some(input) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test]
async fn kubectl_get_pods() {
    let Some((_t, home)) = setup().await else {
        return;
    };
    let out = kubectl(home.path(), &["get", "pods", "-n", "payments"], None).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("READY") && lines[0].contains("STATUS"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("checkout-7d9f-abc12")
            && lines[1].contains("1/1")
            && lines[1].contains("Running")
    );
    assert!(lines[2].starts_with("ledger-0") && lines[2].contains("2/2"));
}

#[tokio::test]
async fn kubectl_exec_output_and_exit_code() {
    let Some((_t, home)) = setup().await else {
        return;
    };
    let out = kubectl(
        home.path(),
        &[
            "exec",
            "checkout-7d9f-abc12",
            "--",
            "sh",
            "-c",
            "echo hi from $HOSTNAME; exit 4",
        ],
        None,
    )
    .await;
    assert_eq!(text(&out.stdout), "hi from checkout-7d9f-abc12\n");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("command terminated with exit code 4"));

    // stdin over v5 with half-close; the default container comes from the annotation.
    let out = kubectl(
        home.path(),
        &[
            "exec",
            "-i",
            "ledger-0",
            "--",
            "sh",
            "-c",
            "cat; echo \"[$HOSTNAME]\"",
        ],
        Some("piped\n"),
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        "piped\n[ledger-0]\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test]
async fn kubectl_logs() {
    let Some((_t, home)) = setup().await else {
        return;
    };
    let out = kubectl(home.path(), &["logs", "ledger-0", "--tail=3"], None).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.lines().all(|l| l.contains(" ledger: ")), "{stdout}");
    let out = kubectl(home.path(), &["logs", "ledger-0", "-c", "nope"], None).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("container nope is not valid for pod ledger-0"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn kubectl_auth_can_i_with_impersonation() {
    let Some((_t, home)) = setup().await else {
        return;
    };
    let base = [
        "auth",
        "can-i",
        "create",
        "pods",
        "--subresource=exec",
        "--as",
        "alice@example.test",
        "--as-group",
        "keyhole:payments-debug",
    ];
    let yes = kubectl(
        home.path(),
        &[&base[..], &["-n", "payments"]].concat(),
        None,
    )
    .await;
    assert_eq!(text(&yes.stdout).trim(), "yes", "{}", text(&yes.stderr));
    assert_eq!(yes.status.code(), Some(0));
    let no = kubectl(home.path(), &[&base[..], &["-n", "search"]].concat(), None).await;
    assert!(
        text(&no.stdout).trim().starts_with("no"),
        "{}{}",
        text(&no.stdout),
        text(&no.stderr)
    );
    assert_eq!(no.status.code(), Some(1));
    // The gateway context may impersonate for the same question.
    let gw = kubectl(
        home.path(),
        &[
            &["--context", "gateway"][..],
            &base[..],
            &["-n", "payments"],
        ]
        .concat(),
        None,
    )
    .await;
    assert_eq!(text(&gw.stdout).trim(), "yes", "{}", text(&gw.stderr));
}

#[tokio::test]
async fn kubectl_exec_denied_is_a_clear_forbidden() {
    let Some((_t, home)) = setup().await else {
        return;
    };
    let args = [
        "--context",
        "gateway",
        "--as",
        "alice@example.test",
        "--as-group",
        "keyhole:payments-debug",
        "-n",
        "search",
        "exec",
        "search-api-0",
        "--",
        "true",
    ];
    let out = kubectl(home.path(), &args, None).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(r#"pods "search-api-0" is forbidden: User "alice@example.test" cannot"#)
            && stderr.contains(r#"in the namespace "search""#),
        "{stderr}"
    );
}
