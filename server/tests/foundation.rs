//! The server skeleton through real HTTP: health probes, SPA fallback,
//! security headers, JSON 404 for unknown API routes.

mod common;

use common::{INLINE_SCRIPT, TestServer};

#[tokio::test]
async fn healthz_readyz_and_spa_fallback() {
    let s = TestServer::start().await;
    let mut c = s.client();
    let res = c.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let res = c.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    // Deep links get index.html with 200, so the client router can take over.
    for path in ["/", "/grants/1/pods/payments/ledger-0", "/no/such/page"] {
        let res = c.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().contains("fixture"), "{path}");
    }
}

#[tokio::test]
async fn security_headers_on_pages_and_api() {
    use base64::Engine;
    use sha2::Digest;
    let s = TestServer::start().await;
    let mut c = s.client();
    for path in ["/", "/healthz", "/api/session"] {
        let res = c.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        let hash =
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(INLINE_SCRIPT));
        assert!(
            csp.contains(&format!("'sha256-{hash}'")),
            "inline loader allowed by hash: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn unknown_api_route_is_json_404() {
    let s = TestServer::start().await;
    let mut c = s.client();
    let res = c.get("/api/nope").await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn missing_dist_is_a_clear_startup_error() {
    let dir = std::env::temp_dir().join(format!("keyhole-nodist-{}", uuid::Uuid::new_v4()));
    let config = keyhole::config::Config::load(
        None,
        vec![
            ("KEYHOLE_DEV".into(), "true".into()),
            (
                "KEYHOLE_DIST_DIR".into(),
                dir.join("dist").display().to_string(),
            ),
            ("KEYHOLE_DATA_DIR".into(), dir.display().to_string()),
        ],
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = keyhole::run(config, listener, async {}).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("web app not found") && msg.contains("make build"),
        "{msg}"
    );
}
