//! The `kube` crate against devstack: lists, exec (pipes and TTY), stdin EOF, logs, access
//! reviews, impersonation and the audit trail it leaves.

mod common;

use std::time::Duration;

use common::{As, TestKube};
use futures::{AsyncBufReadExt as _, StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams, AttachedProcess, ListParams, LogParams, PostParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Output and final Status of a finished exec.
struct Finished {
    stdout: String,
    stderr: String,
    status: Option<Status>,
}

async fn finish(mut proc: AttachedProcess) -> Finished {
    let status = proc.take_status().unwrap();
    let mut out = proc.stdout();
    let mut err = proc.stderr();
    let read = |r: Option<_>| async move {
        let mut s = String::new();
        if let Some(mut r) = r {
            tokio::io::AsyncReadExt::read_to_string(&mut r, &mut s)
                .await
                .unwrap();
        }
        s
    };
    let (stdout, stderr) = tokio::join!(read(out.take()), read(err.take()));
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .unwrap();
    Finished {
        stdout,
        stderr,
        status,
    }
}

fn exit_code(status: &Option<Status>) -> i32 {
    let s = status.as_ref().expect("a status");
    if s.status.as_deref() == Some("Success") {
        return 0;
    }
    s.details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_ref()?.parse().ok())
        .unwrap_or(-1)
}

fn names(pods: &[Pod]) -> Vec<String> {
    pods.iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn lists_and_gets_pods_over_https() {
    let t = TestKube::start().await;
    let pods: Api<Pod> = Api::namespaced(t.admin(), "payments");
    let all = pods.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(&all.items), ["checkout-7d9f-abc12", "ledger-0"]);
    let by_label = pods
        .list(&ListParams::default().labels("app=checkout"))
        .await
        .unwrap();
    assert_eq!(names(&by_label.items), ["checkout-7d9f-abc12"]);
    let by_field = pods
        .list(&ListParams::default().fields("metadata.name=ledger-0"))
        .await
        .unwrap();
    assert_eq!(names(&by_field.items), ["ledger-0"]);
    let ledger = pods.get("ledger-0").await.unwrap();
    assert_eq!(ledger.status.unwrap().phase.as_deref(), Some("Running"));
    assert_eq!(ledger.spec.unwrap().containers.len(), 2);
    let missing = pods.get("nope").await.unwrap_err();
    assert!(
        missing.to_string().contains(r#"pods "nope" not found"#),
        "{missing}"
    );
    let ns: Api<Namespace> = Api::all(t.admin());
    assert!(
        names_ns(&ns.list(&ListParams::default()).await.unwrap().items)
            .contains(&"search".to_owned())
    );
    let version = t.admin().apiserver_version().await.unwrap();
    assert_eq!(
        (version.major.as_str(), version.minor.as_str()),
        ("1", "32")
    );
}

fn names_ns(items: &[Namespace]) -> Vec<String> {
    items
        .iter()
        .map(|n| n.metadata.name.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn exec_without_tty_separates_streams_and_reports_exit_code() {
    let t = TestKube::start().await;
    let pods: Api<Pod> = Api::namespaced(t.admin(), "payments");
    let cmd = [
        "sh",
        "-c",
        "echo out; echo err >&2; echo $HOSTNAME; test -f config/app.yaml && echo cfg; exit 3",
    ];
    let proc = pods
        .exec("checkout-7d9f-abc12", cmd, &AttachParams::default())
        .await
        .unwrap();
    let done = finish(proc).await;
    assert_eq!(done.stdout, "out\ncheckout-7d9f-abc12\ncfg\n");
    assert_eq!(done.stderr, "err\n");
    assert_eq!(exit_code(&done.status), 3);
    let status = done.status.unwrap();
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));

    let ok = pods
        .exec("checkout-7d9f-abc12", ["true"], &AttachParams::default())
        .await
        .unwrap();
    assert_eq!(exit_code(&finish(ok).await.status), 0);
}

#[tokio::test]
async fn exec_of_a_missing_program_fails_like_a_runtime() {
    let t = TestKube::start().await;
    let pods: Api<Pod> = Api::namespaced(
        t.http_client(&t.kube.admin_token, As::default()),
        "payments",
    );
    let proc = pods
        .exec("checkout-7d9f-abc12", ["foo"], &AttachParams::default())
        .await
        .unwrap();
    let done = finish(proc).await;
    assert_eq!(exit_code(&done.status), 127);
    let message = done.status.unwrap().message.unwrap();
    assert!(
        message.contains(r#"exec: "foo": executable file not found in $PATH"#),
        "{message}"
    );
}

#[tokio::test]
async fn exec_with_tty_sees_resize_and_exit_code() {
    let t = TestKube::start().await;
    let pods: Api<Pod> = Api::namespaced(t.admin(), "payments");
    let mut proc = pods
        .exec(
            "ledger-0",
            ["sh"],
            &AttachParams::interactive_tty().container("sidecar"),
        )
        .await
        .unwrap();
    let mut resize = proc.terminal_size().unwrap();
    futures::SinkExt::send(
        &mut resize,
        kube::api::TerminalSize {
            width: 101,
            height: 31,
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    stdin
        .write_all(b"stty size; echo \"T=$TERM\"\n")
        .await
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains("31 101") && seen.contains("T=xterm-256color")) {
        let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
            .await
            .expect("tty output")
            .unwrap();
        assert!(n > 0, "eof before the size: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    stdin.write_all(b"exit 5\n").await.unwrap();
    let status = proc.take_status().unwrap();
    tokio::spawn(async move { while stdout.read(&mut buf).await.is_ok_and(|n| n > 0) {} });
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .unwrap();
    assert_eq!(exit_code(&status), 5);
}

#[tokio::test]
async fn stdin_eof_ends_cat() {
    let t = TestKube::start().await;
    let pods: Api<Pod> =
        Api::namespaced(t.http_client(&t.kube.admin_token, As::default()), "search");
    let mut proc = pods
        .exec(
            "search-api-0",
            ["cat"],
            &AttachParams::default().stdin(true).stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = proc.stdin().unwrap();
    stdin.write_all(b"hello\nworld\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    let done = finish(proc).await;
    assert_eq!(done.stdout, "hello\nworld\n");
    assert_eq!(exit_code(&done.status), 0);
}

#[tokio::test]
async fn logs_tail_and_follow() {
    let t = TestKube::start().await;
    let pods: Api<Pod> = Api::namespaced(t.admin(), "payments");
    let two = pods
        .logs(
            "ledger-0",
            &LogParams {
                container: Some("sidecar".into()),
                tail_lines: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(two.lines().count(), 2);
    assert!(
        two.contains("INFO sidecar:") || two.contains("WARN sidecar:"),
        "{two}"
    );
    let ambiguous = pods
        .logs("ledger-0", &LogParams::default())
        .await
        .unwrap_err();
    assert!(
        ambiguous
            .to_string()
            .contains("a container name must be specified for pod ledger-0"),
        "{ambiguous}"
    );

    let params = LogParams {
        follow: true,
        tail_lines: Some(1),
        ..Default::default()
    };
    let stream = pods
        .log_stream("checkout-7d9f-abc12", &params)
        .await
        .unwrap();
    let lines: Vec<String> =
        tokio::time::timeout(Duration::from_secs(8), stream.lines().take(3).try_collect())
            .await
            .expect("the followed log grows")
            .unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.contains(" app: GET /")), "{lines:?}");
}

async fn can_i(client: kube::Client, verb: &str, ns: &str, sub: &str) -> bool {
    let api: Api<SelfSubjectAccessReview> = Api::all(client);
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.into()),
                verb: Some(verb.into()),
                resource: Some("pods".into()),
                subresource: Some(sub.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &review)
        .await
        .unwrap()
        .status
        .unwrap()
        .allowed
}

#[tokio::test]
async fn self_subject_access_reviews() {
    let t = TestKube::start().await;
    assert!(can_i(t.admin(), "create", "search", "exec").await);
    let alice = As {
        user: Some("alice@example.test"),
        groups: &["keyhole:payments-debug"],
        ..Default::default()
    };
    let gw = t.client(&t.kube.gateway_token, alice);
    assert!(can_i(gw.clone(), "create", "payments", "exec").await);
    assert!(can_i(gw.clone(), "get", "payments", "log").await);
    assert!(!can_i(gw.clone(), "create", "search", "exec").await);
    assert!(!can_i(gw, "create", "payments", "attach").await);
    // The gateway as itself may create reviews, but holds no pod rights.
    let gw_self = t.client(&t.kube.gateway_token, As::default());
    assert!(!can_i(gw_self, "get", "payments", "exec").await);
}

#[tokio::test]
async fn impersonation_without_rights_is_forbidden() {
    let t = TestKube::start().await;
    let alice = t.client(
        "devstack-alice-token",
        As {
            user: Some("bob@example.test"),
            ..Default::default()
        },
    );
    let err = Api::<Pod>::namespaced(alice, "payments")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(r#"users "bob@example.test" is forbidden: User "alice@example.test" cannot impersonate resource "users""#), "{msg}");
    let escalate = t.client(
        &t.kube.gateway_token,
        As {
            user: Some("x"),
            groups: &["system:masters"],
            ..Default::default()
        },
    );
    assert!(
        Api::<Pod>::namespaced(escalate, "payments")
            .list(&ListParams::default())
            .await
            .is_err()
    );
    let bad = t.client("not-a-token", As::default());
    let err = Api::<Pod>::namespaced(bad, "payments")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Unauthorized"), "{err}");
}

#[tokio::test]
async fn gateway_as_alice_can_exec_in_payments_only_and_the_audit_log_says_so() {
    let t = TestKube::start().await;
    let extra = [
        ("keyhole.dev/grant-id", "grant-42"),
        ("keyhole.dev/session-id", "sess-7"),
    ];
    let who = |groups| As {
        user: Some("alice@example.test"),
        groups,
        extra: &extra,
    };
    let gw = t.client(&t.kube.gateway_token, who(&["keyhole:payments-debug"]));
    let pods: Api<Pod> = Api::namespaced(gw.clone(), "payments");
    let proc = pods
        .exec(
            "checkout-7d9f-abc12",
            ["echo", "inside"],
            &AttachParams::default(),
        )
        .await
        .unwrap();
    assert_eq!(finish(proc).await.stdout, "inside\n");
    let search: Api<Pod> = Api::namespaced(gw, "search");
    assert!(
        search
            .exec("search-api-0", ["true"], &AttachParams::default())
            .await
            .is_err()
    );
    // Attach is not granted by the keyhole-debug role.
    assert!(
        pods.attach("checkout-7d9f-abc12", &AttachParams::default())
            .await
            .is_err()
    );

    let events = devstack::audit::read_events(&t.audit).unwrap();
    let execs: Vec<_> = events
        .iter()
        .filter(|e| e.is_pod_subresource("exec"))
        .collect();
    let allowed = execs
        .iter()
        .find(|e| e.response_status.code == 101)
        .expect("an exec that upgraded");
    assert_eq!(
        allowed.user.username,
        "system:serviceaccount:keyhole:keyhole-gateway"
    );
    let imp = allowed.impersonated_user.as_ref().unwrap();
    assert_eq!(imp.username, "alice@example.test");
    assert_eq!(
        imp.groups,
        ["keyhole:payments-debug", "system:authenticated"]
    );
    assert_eq!(imp.extra["keyhole.dev/grant-id"], ["grant-42"]);
    assert_eq!(imp.extra["keyhole.dev/session-id"], ["sess-7"]);
    assert_eq!(
        (allowed.verb.as_str(), allowed.decision()),
        ("get", Some("allow"))
    );
    assert!(
        allowed.request_uri.contains("command=echo&command=inside"),
        "{}",
        allowed.request_uri
    );
    assert!(allowed.annotations["authorization.k8s.io/reason"].contains("keyhole-payments-debug"));
    let denied = execs
        .iter()
        .find(|e| e.response_status.code == 403)
        .expect("the search exec was denied");
    assert_eq!(denied.object_ref.as_ref().unwrap().namespace, "search");
    assert_eq!(denied.decision(), Some("forbid"));
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = devstack::KubeOptions::new(dir.path());
    opts.https_listen = "0.0.0.0:0".parse().unwrap();
    let err = devstack::start_kube(opts).await.unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test]
async fn kubeconfig_has_both_contexts_and_the_ca() {
    let t = TestKube::start().await;
    let yaml = t.kube.kubeconfig_yaml();
    let cfg: kube::config::Kubeconfig = serde_yaml::from_str(&yaml).unwrap();
    let contexts: Vec<_> = cfg.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(contexts, ["admin", "gateway"]);
    let opts = kube::config::KubeConfigOptions {
        context: Some("gateway".into()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(cfg, &opts)
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    // The gateway context works over TLS with the embedded CA, and can only review.
    let _ = can_i(client.clone(), "get", "payments", "exec").await;
    assert!(
        Api::<Pod>::namespaced(client, "payments")
            .list(&ListParams::default())
            .await
            .is_err()
    );
}
