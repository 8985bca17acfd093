//! The authorization matrix: every API route × {anonymous, engineer, lead, auditor, admin}
//! → expected status. Later issues add their routes to `ROUTES`.
//!
//! `/metrics` is served with a token here: a session (any role) never opens it, only the
//! bearer token does (`BEARER` rows send it, with the caller's cookies too).
//!
//! Paths may name ids created in setup: `{R1}`, `{R2}`, `{R3}` are pending requests of the
//! engineer (alice), `{G}` is an active grant of hers. Rows run top to bottom, and within a
//! row the roles left to right, so a row that changes state (bob approves `{R1}`) is seen by
//! the roles after him.

mod common;

use common::access::create_ok;
use common::{Browser, Options, TestServer, user};
use serde_json::{Value, json};

/// The `/metrics` token of the matrix server.
const METRICS_TOKEN: &str = "authz-matrix-metrics-token";

/// (method, path, body, [anonymous, engineer, lead, auditor, admin]).
const ROUTES: &[(&str, &str, &str, [u16; 5])] = &[
    ("GET", "/healthz", "", [200, 200, 200, 200, 200]),
    ("GET", "/api/info", "", [200, 200, 200, 200, 200]),
    ("GET", "/api/session", "", [200, 200, 200, 200, 200]),
    ("GET", "/api/me", "", [401, 200, 200, 200, 200]),
    ("GET", "/api/does-not-exist", "", [404, 404, 404, 404, 404]),
    // Metrics: the token, not the role.
    ("GET", "/metrics", "", [401, 401, 401, 401, 401]),
    (
        "BEARER",
        "/metrics",
        "wrong-token-0123456789",
        [401, 401, 401, 401, 401],
    ),
    (
        "BEARER",
        "/metrics",
        METRICS_TOKEN,
        [200, 200, 200, 200, 200],
    ),
    // Access broker.
    ("GET", "/api/openapi.json", "", [200, 200, 200, 200, 200]),
    ("GET", "/api/profiles", "", [401, 200, 200, 200, 200]),
    ("GET", "/api/requests", "", [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/requests?scope=mine",
        "",
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/requests?scope=pending",
        "",
        [401, 403, 200, 403, 403],
    ),
    (
        "GET",
        "/api/requests?scope=all",
        "",
        [401, 403, 403, 200, 200],
    ),
    // What each may see (the engineer: their own), optionally one requester's.
    (
        "GET",
        "/api/requests?scope=visible",
        "",
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/requests?scope=visible&requester=someone",
        "",
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/requests?scope=mine&requester=someone",
        "",
        [401, 400, 400, 400, 400],
    ),
    (
        "GET",
        "/api/requests?scope=bogus",
        "",
        [401, 400, 400, 400, 400],
    ),
    ("GET", "/api/requests/{R1}", "", [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/requests/no-such-id",
        "",
        [401, 404, 404, 404, 404],
    ),
    // Only those in the profile's request groups may request it (others: "no such profile").
    (
        "POST",
        "/api/requests",
        r#"{"profile":"payments-debug","reason":"matrix","duration_seconds":7200}"#,
        [401, 201, 201, 404, 404],
    ),
    ("POST", "/api/requests", "{}", [401, 400, 400, 400, 400]),
    // The requester may not review; bob approves; afterwards auditors and admins, who are
    // no approvers of payments-debug, are refused before the state is looked at.
    (
        "POST",
        "/api/requests/{R1}/approve",
        r#"{"comment":"ok"}"#,
        [401, 403, 200, 403, 403],
    ),
    (
        "POST",
        "/api/requests/{R2}/deny",
        r#"{"comment":"no"}"#,
        [401, 403, 200, 403, 403],
    ),
    (
        "POST",
        "/api/requests/{R3}/cancel",
        "{}",
        [401, 200, 403, 403, 403],
    ),
    (
        "POST",
        "/api/requests/no-such-id/approve",
        "{}",
        [401, 404, 404, 404, 404],
    ),
    ("GET", "/api/grants", "", [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/grants?scope=active",
        "",
        [401, 403, 200, 200, 200],
    ),
    // Pods, logs and the terminal of a grant: only its holder (others: "no such grant").
    ("GET", "/api/grants/{G}/pods", "", [401, 200, 404, 404, 404]),
    (
        "GET",
        "/api/grants/no-such-id/pods",
        "",
        [401, 404, 404, 404, 404],
    ),
    (
        "GET",
        "/api/grants/{G}/pods/payments/checkout-7d9f-abc12/logs?tail=2",
        "",
        [401, 200, 404, 404, 404],
    ),
    // A plain GET (no upgrade) of the terminal is a bad request once signed in.
    (
        "GET",
        "/api/grants/{G}/pods/payments/checkout-7d9f-abc12/terminal",
        "",
        [401, 400, 400, 400, 400],
    ),
    // "WS": a real WebSocket handshake with the session cookie and our Origin (101 = open).
    (
        "WS",
        "/api/grants/{G}/pods/payments/checkout-7d9f-abc12/terminal",
        "",
        [401, 101, 404, 404, 404],
    ),
    (
        "WS",
        "/api/grants/{G}/pods/search/search-api-0/terminal",
        "",
        [401, 403, 404, 404, 404],
    ),
    // Holder and auditor may not revoke; bob does; the admin may, but it is revoked already.
    (
        "POST",
        "/api/grants/{G}/revoke",
        r#"{"reason":"matrix"}"#,
        [401, 403, 200, 403, 409],
    ),
    // Revoked: the holder is refused before the upgrade.
    (
        "WS",
        "/api/grants/{G}/pods/payments/checkout-7d9f-abc12/terminal",
        "",
        [401, 403, 404, 404, 404],
    ),
    (
        "POST",
        "/api/grants/no-such-id/revoke",
        r#"{"reason":"x"}"#,
        [401, 404, 404, 404, 404],
    ),
    ("GET", "/api/events", "", [401, 200, 200, 200, 200]),
    (
        "GET",
        "/api/terminal-sessions",
        "",
        [401, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/api/terminal-sessions?scope=all",
        "",
        [401, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/terminal-sessions?scope=all&user=someone",
        "",
        [401, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/terminal-sessions?user=someone",
        "",
        [401, 400, 400, 400, 400],
    ),
    (
        "GET",
        "/api/terminal-sessions?scope=all&state=open",
        "",
        [401, 403, 200, 200, 200],
    ),
    (
        "GET",
        "/api/terminal-sessions?state=bogus",
        "",
        [401, 400, 400, 400, 400],
    ),
    (
        "GET",
        "/api/terminal-sessions?scope=everyone",
        "",
        [401, 400, 400, 400, 400],
    ),
    ("GET", "/api/policy", "", [401, 403, 403, 403, 200]),
    // Last: it ends the session of the user who calls it.
    ("POST", "/auth/logout", "{}", [401, 200, 200, 200, 200]),
];

async fn call(b: &mut Browser, method: &str, path: &str, body: &str) -> u16 {
    match method {
        "GET" => b.get(path).await.status().as_u16(),
        "POST" => {
            let body: Value = serde_json::from_str(body).unwrap_or(json!({}));
            b.post(path, body).await.status().as_u16()
        }
        // `body` is the bearer token.
        "BEARER" => b.get_bearer(path, body).await.status().as_u16(),
        "WS" => {
            let cookie = b.session_cookie();
            match common::ws_connect(&b.base, path, cookie.as_deref(), Some(&b.base)).await {
                Ok(_) => 101,
                Err((status, _)) => status,
            }
        }
        other => panic!("method {other}"),
    }
}

#[tokio::test]
async fn every_route_for_every_role() {
    let s = TestServer::start_with(Options {
        extra_users: vec![user("ada", &["platform-admins"])],
        env: vec![("KEYHOLE_METRICS_TOKEN", METRICS_TOKEN)],
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let ids = [
        ("{R1}", create_ok(&mut alice, "payments-debug", 7200).await),
        ("{R2}", create_ok(&mut alice, "payments-debug", 7200).await),
        ("{R3}", create_ok(&mut alice, "payments-debug", 7200).await),
        ("{G}", {
            let id = create_ok(&mut alice, "payments-debug", 600).await;
            let req: Value = alice
                .get(&format!("/api/requests/{id}"))
                .await
                .json()
                .await
                .unwrap();
            req["grant"]["id"].as_str().unwrap().to_owned()
        }),
    ];
    let mut users = [
        ("anonymous", s.client()),
        ("engineer", alice),
        ("lead", s.login("bob").await),
        ("auditor", s.login("carol").await),
        ("admin", s.login("ada").await),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in ROUTES {
        let path = ids
            .iter()
            .fold(path.to_string(), |p, (k, v)| p.replace(k, v));
        for (i, (who, b)) in users.iter_mut().enumerate() {
            let got = call(b, method, &path, body).await;
            if got != expected[i] {
                failures.push(format!(
                    "{method} {path} as {who}: expected {}, got {got}",
                    expected[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authz matrix:\n{}",
        failures.join("\n")
    );
}
