//! The authorization matrix: every API route × {anonymous, engineer, lead,
//! auditor} → expected status. Later issues add their routes to `ROUTES`.

mod common;

use common::{Browser, TestServer};
use serde_json::json;

/// (method, path, [anonymous, engineer, lead, auditor]).
const ROUTES: &[(&str, &str, [u16; 4])] = &[
    ("GET", "/healthz", [200, 200, 200, 200]),
    ("GET", "/api/info", [200, 200, 200, 200]),
    ("GET", "/api/session", [200, 200, 200, 200]),
    ("GET", "/api/me", [401, 200, 200, 200]),
    ("GET", "/api/does-not-exist", [404, 404, 404, 404]),
    // Last: it ends the session of the user who calls it.
    ("POST", "/auth/logout", [401, 200, 200, 200]),
];

async fn call(b: &mut Browser, method: &str, path: &str) -> u16 {
    match method {
        "GET" => b.get(path).await.status().as_u16(),
        "POST" => b.post(path, json!({})).await.status().as_u16(),
        other => panic!("method {other}"),
    }
}

#[tokio::test]
async fn every_route_for_every_role() {
    let s = TestServer::start().await;
    let mut users = [
        ("anonymous", s.client()),
        ("engineer", s.login("alice").await),
        ("lead", s.login("bob").await),
        ("auditor", s.login("carol").await),
    ];
    let mut failures = Vec::new();
    for (method, path, expected) in ROUTES {
        for (i, (who, b)) in users.iter_mut().enumerate() {
            let got = call(b, method, path).await;
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
