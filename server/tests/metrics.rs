//! `/metrics` against a real server: fail-closed access (404 without a token, 401 without the
//! bearer token whoever is signed in), the request id, route labels, and the numbers after
//! real requests and a real terminal session.

mod common;

use std::time::Duration;

use common::access::create;
use common::shell::{open_shell, read_output_until, send_line, wait_closed};
use common::{Options, TestServer};
use keyhole_protocol::terminal::CloseReason;

const TOKEN: &str = "test-metrics-token-0123456789";

async fn with_token(env: Vec<(&'static str, &'static str)>) -> TestServer {
    let mut env = env;
    env.push(("KEYHOLE_METRICS_TOKEN", TOKEN));
    TestServer::start_with(Options {
        env,
        ..Default::default()
    })
    .await
}

/// GET /metrics with an optional `Authorization` value: (status, headers, body).
async fn scrape_with(
    ts: &TestServer,
    auth: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().get(format!("{}/metrics", ts.url));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

/// The exposition, scraped with the right token.
async fn scrape(ts: &TestServer) -> String {
    let (status, _, body) = scrape_with(ts, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of one series (name plus labels, as exposed).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes until `series` has a value that `ok` accepts (the relay's guards drop just after
/// the browser sees `closed`); returns the last exposition.
async fn scrape_until(ts: &TestServer, series: &str, ok: impl Fn(f64) -> bool) -> String {
    for _ in 0..100 {
        let text = scrape(ts).await;
        if value(&text, series).is_some_and(&ok) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{series} never reached the expected value:\n{}",
        scrape(ts).await
    );
}

#[tokio::test]
async fn not_served_without_a_token() {
    let ts = TestServer::start().await;
    let (status, _, _) = scrape_with(&ts, None).await;
    assert_eq!(status, 404);
    let (status, _, _) = scrape_with(&ts, Some("Bearer anything-at-all-0123")).await;
    assert_eq!(status, 404);
    let mut alice = ts.login("alice").await;
    assert_eq!(alice.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn only_the_bearer_token_opens_it() {
    let ts = with_token(Vec::new()).await;
    let (status, headers, body) = scrape_with(&ts, None).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!body.contains("keyhole_"), "{body}");
    for wrong in [
        "Bearer test-metrics-token-012345678",
        "Bearer test-metrics-token-01234567890",
        "Basic dGVzdDp0ZXN0",
        TOKEN,
    ] {
        assert_eq!(scrape_with(&ts, Some(wrong)).await.0, 401, "{wrong}");
    }
    // A session grants nothing, whatever its roles: engineer, lead, auditor.
    for user in ["alice", "bob", "carol"] {
        let mut b = ts.login(user).await;
        assert_eq!(b.get("/metrics").await.status(), 401, "{user}");
    }
    let (status, headers, body) = scrape_with(&ts, Some(&format!("bearer {TOKEN}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(value(&body, "keyhole_terminals_open"), Some(0.0), "{body}");
    assert!(
        body.contains("# TYPE keyhole_terminal_bytes_total counter"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE keyhole_grants_active gauge"),
        "{body}"
    );
    assert!(!body.contains(TOKEN));
}

#[tokio::test]
async fn request_ids_and_route_labels() {
    let ts = with_token(Vec::new()).await;
    let http = reqwest::Client::new();
    let get = |path: &str, id: Option<&str>| {
        let mut req = http.get(format!("{}{path}", ts.url));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let res = get("/healthz", Some("trace-42.abc")).await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-42.abc");
    let long = "x".repeat(65);
    let res = get("/healthz", Some(&long)).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id != long && uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let res = get("/readyz", None).await.unwrap();
    assert!(res.headers().contains_key("x-request-id"));
    get("/api/requests/some-id-123", None).await.unwrap();
    // A deep link of the web app (200), and a path that is not one (404, the app's page).
    get("/requests/some-id-123?code=secret-code", None)
        .await
        .unwrap();
    get("/no/such/page", None).await.unwrap();
    get("/api/nope", None).await.unwrap();

    let text = scrape(&ts).await;
    let http_total = |m: &str, route: &str, status: u16| {
        let series = format!(
            "keyhole_http_requests_total{{method=\"{m}\",route=\"{route}\",status=\"{status}\"}}"
        );
        value(&text, &series)
    };
    // The harness polls /healthz while the server starts: at least our two.
    assert!(
        http_total("GET", "/healthz", 200).is_some_and(|n| n >= 2.0),
        "{text}"
    );
    // Route templates, never ids or query strings; no route matched: "unmatched".
    assert_eq!(
        http_total("GET", "/api/requests/{id}", 401),
        Some(1.0),
        "{text}"
    );
    assert_eq!(http_total("GET", "unmatched", 200), Some(1.0), "{text}");
    assert_eq!(http_total("GET", "unmatched", 404), Some(2.0), "{text}");
    assert!(!text.contains("some-id-123") && !text.contains("secret-code"));
    let ping = "keyhole_db_query_duration_seconds_count{query=\"readiness_ping\"}";
    assert_eq!(value(&text, ping), Some(1.0), "{text}");
}

#[tokio::test]
async fn pending_requests_and_decisions_are_counted() {
    let ts = with_token(Vec::new()).await;
    let mut alice = ts.login("alice").await;
    // Over the auto-approval limit (30 min): waits for a lead.
    let (status, body) = create(&mut alice, "payments-debug", 7200, "INC-1 metrics").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (201, Some("pending")),
        "{body}"
    );
    let text = scrape(&ts).await;
    assert_eq!(
        value(&text, "keyhole_requests{state=\"pending\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "keyhole_requests{state=\"approved\"}"),
        Some(0.0)
    );
    assert_eq!(value(&text, "keyhole_grants_active"), Some(0.0));
    let pending = "keyhole_access_decisions_total{decision=\"pending\",rule=\"none\"}";
    assert_eq!(value(&text, pending), Some(1.0), "{text}");

    // Within it: approved by the profile's first auto_approve rule, and a grant is active.
    let (status, body) = create(&mut alice, "payments-debug", 600, "INC-1 metrics").await;
    assert_eq!(
        (status, body["state"].as_str()),
        (201, Some("approved")),
        "{body}"
    );
    let (status, _) = create(&mut alice, "no-such-profile", 600, "INC-1 metrics").await;
    assert_eq!(status, 404);
    let text = scrape(&ts).await;
    let auto = "keyhole_access_decisions_total{decision=\"auto_approved\",\
                rule=\"payments-debug/auto_approve[0]\"}";
    assert_eq!(value(&text, auto), Some(1.0), "{text}");
    let refused = "keyhole_access_decisions_total{decision=\"refused\",rule=\"none\"}";
    assert_eq!(value(&text, refused), Some(1.0), "{text}");
    assert!(!text.contains("no-such-profile"));
    assert_eq!(
        value(&text, "keyhole_requests{state=\"pending\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "keyhole_requests{state=\"approved\"}"),
        Some(1.0)
    );
    assert_eq!(value(&text, "keyhole_grants_active"), Some(1.0));
    let count = "keyhole_db_query_duration_seconds_count{query=\"count_active_grants\"}";
    assert!(value(&text, count).is_some_and(|n| n >= 2.0), "{text}");
}

#[tokio::test]
async fn a_terminal_session_is_counted_open_then_closed_with_its_bytes() {
    // Re-check every second, so the lease queries run while the session is open.
    let ts = with_token(vec![("KEYHOLE_ACCESS_RECHECK_SECONDS", "1")]).await;
    let mut alice = ts.login("alice").await;
    let (status, body) = create(&mut alice, "payments-debug", 600, "INC-1 metrics").await;
    assert_eq!(status, 201, "{body}");
    let grant = body["grant"]["id"].as_str().unwrap().to_owned();
    let mut ws = open_shell(&ts.url, &alice, &grant, "payments/checkout-7d9f-abc12").await;
    scrape_until(&ts, "keyhole_terminals_open", |n| n == 1.0).await;
    send_line(&mut ws, "echo metrics-$((6*7))").await;
    read_output_until(&mut ws, "metrics-42", Duration::from_secs(10)).await;
    scrape_until(
        &ts,
        "keyhole_db_query_duration_seconds_count{query=\"lease_grant_statuses\"}",
        |n| n >= 1.0,
    )
    .await;
    send_line(&mut ws, "exit").await;
    let (reason, _) = wait_closed(&mut ws, Duration::from_secs(10)).await;
    assert_eq!(reason, CloseReason::Exited);

    let text = scrape_until(&ts, "keyhole_terminals_open", |n| n == 0.0).await;
    let closed = "keyhole_terminals_closed_total{reason=\"exited\"}";
    let text = if value(&text, closed).is_some() {
        text
    } else {
        scrape_until(&ts, closed, |n| n == 1.0).await
    };
    assert_eq!(value(&text, closed), Some(1.0), "{text}");
    let to_pod = value(&text, "keyhole_terminal_bytes_total{direction=\"to_pod\"}").unwrap();
    let to_browser = value(
        &text,
        "keyhole_terminal_bytes_total{direction=\"to_browser\"}",
    )
    .unwrap();
    // "echo metrics-$((6*7))\r" and "exit\r"; the prompt, the echo and the output.
    assert!(to_pod >= 27.0, "{to_pod}");
    assert!(to_browser > to_pod, "{to_browser}");
    assert_eq!(
        value(&text, "keyhole_relay_dropped_total{queue=\"to_pod\"}"),
        Some(0.0)
    );
}
