//! The exact impersonation headers, as an API server sees them: a mock Kubernetes API on
//! loopback records every request the gateway's client makes for a grant (pod list, log,
//! exec upgrade) and the test compares the headers with the grant, one by one. The gateway's
//! own kubeconfig asks to impersonate an admin; that must never reach the API server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyhole::domain::{Grant, GrantState};
use keyhole::kube::{ExecParams, KubeGateway};
use kube::api::LogParams;

type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

/// A mock API server: pod lists are empty, logs say one line, exec is refused (after its
/// headers were seen). Every request's `impersonate-*` headers are recorded in order.
async fn mock_api() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().fallback(move |req: Request| {
        let record = record.clone();
        async move {
            let path = req.uri().path().to_owned();
            let headers = req
                .headers()
                .iter()
                .filter(|(n, _)| n.as_str().starts_with("impersonate-"))
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            record.lock().unwrap().push((path.clone(), headers));
            if path.ends_with("/pods") {
                let list = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"#;
                (StatusCode::OK, [("content-type", "application/json")], list).into_response()
            } else if path.ends_with("/log") {
                (StatusCode::OK, "one line\n").into_response()
            } else {
                let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"no"}"#;
                (StatusCode::FORBIDDEN, [("content-type", "application/json")], status).into_response()
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn grant() -> Grant {
    Grant {
        id: "grant-1".into(),
        request_id: "request-1".into(),
        subject: "devidp-alice".into(),
        kube_user: "keyhole:alice@example.test".into(),
        profile: "payments-debug".into(),
        kubernetes_groups: vec!["keyhole:payments-debug".into(), "keyhole:readers".into()],
        namespaces: vec!["payments".into()],
        pod_selector: BTreeMap::new(),
        pod: None,
        capabilities: Default::default(),
        reason: "INC-4211\ncheckout 500s".into(),
        starts_at: 0,
        expires_at: i64::MAX,
        idle_timeout: None,
        exec_command: vec!["sh".into()],
        interactive: true,
        holder_email: None,
        holder_name: None,
        state: GrantState::Active,
        ended_at: None,
        revoked_by: None,
        revoke_reason: None,
    }
}

#[tokio::test]
async fn every_call_for_a_grant_carries_exactly_its_identity() {
    let (url, seen) = mock_api().await;
    let mut base = kube::Config::new(url.parse().unwrap());
    // A kubeconfig that impersonates someone on its own: stripped by the gateway.
    base.auth_info.impersonate = Some("cluster-admin-person".into());
    base.auth_info.impersonate_groups = Some(vec!["system:masters".into()]);
    base.read_timeout = Some(Duration::from_secs(5));
    let gateway = KubeGateway::from_kube_config(base).unwrap();
    let g = grant();
    let user = gateway.for_grant(&g, "session-1").unwrap();

    user.list_pods(&g).await.unwrap();
    let log = user
        .log_stream("payments", "checkout-0", &LogParams::default())
        .await
        .unwrap();
    drop(log);
    let exec = user
        .exec_tty(&ExecParams {
            namespace: "payments".into(),
            pod: "checkout-0".into(),
            container: "app".into(),
            command: vec!["sh".into()],
            cols: 80,
            rows: 24,
        })
        .await;
    assert!(exec.is_err(), "the mock refuses exec");

    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.ends_with("/namespaces/payments/pods")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("/pods/checkout-0/log")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.ends_with("/pods/checkout-0/exec")),
        "{paths:?}"
    );
    let expected: Vec<(String, String)> = [
        ("impersonate-user", "keyhole:alice@example.test"),
        ("impersonate-group", "keyhole:payments-debug"),
        ("impersonate-group", "keyhole:readers"),
        // Header names are case-insensitive and travel in lower case; the API server
        // unescapes `%2f` like `%2F`.
        ("impersonate-extra-keyhole.dev%2fgrant-id", "grant-1"),
        ("impersonate-extra-keyhole.dev%2fsession-id", "session-1"),
        // Control characters never reach a header.
        (
            "impersonate-extra-keyhole.dev%2freason",
            "INC-4211?checkout 500s",
        ),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    for (path, headers) in &seen {
        let mut got = headers.clone();
        got.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(got, want, "headers of {path}");
    }
}

/// A grant whose profile names no Kubernetes group sends no `impersonate-group` at all (the
/// user then has only `system:authenticated`), never the gateway's own or an empty one.
#[tokio::test]
async fn no_groups_means_no_group_header() {
    let (url, seen) = mock_api().await;
    let gateway = KubeGateway::from_kube_config(kube::Config::new(url.parse().unwrap())).unwrap();
    let mut g = grant();
    g.kubernetes_groups.clear();
    gateway
        .for_grant(&g, "session-2")
        .unwrap()
        .list_pods(&g)
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for (path, headers) in &seen {
        assert!(
            headers.iter().all(|(n, _)| n != "impersonate-group"),
            "{path}: {headers:?}"
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "impersonate-user" && v == &g.kube_user)
        );
    }
}
