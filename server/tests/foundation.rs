//! The server skeleton through real HTTP: health probes, SPA fallback (200 for the app's
//! routes, 404 with the page for anything else),
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
    for path in ["/", "/grants/1/pods/payments/ledger-0"] {
        let res = c.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.text().await.unwrap().contains("fixture"), "{path}");
    }
}

/// The web app's routes answer 200 with the page, anything else 404 with the same page (the
/// app shows its not-found view), and unknown API routes stay JSON 404s.
#[tokio::test]
async fn app_routes_200_unknown_paths_404_with_the_page() {
    let s = TestServer::start().await;
    let mut c = s.client();
    for path in [
        "/",
        "/login?return_to=%2Frequests",
        "/requests",
        "/requests/01J0000000000000000000000",
        "/pods",
        "/grants/g1/pods",
        "/grants/g1/pods/payments/ledger-0",
        "/grants/g1/pods/payments/ledger-0?container=sidecar",
        "/grants/g1/pods/payments/ledger-0/logs",
        "/approvals",
        "/sessions",
        "/admin/policy",
    ] {
        let res = c.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_html_page(res, path).await;
    }
    for path in [
        "/no/such/page",
        "/requests/1/extra",
        "/grants/g1",
        "/grants/g1/pods/payments/ledger-0/shell",
        "/admin",
        "/index.htm",
    ] {
        let res = c.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert_html_page(res, path).await;
    }
    // A real file of dist/ is still served as it is.
    let res = c.get("/index.html").await;
    assert_eq!(res.status(), 200);

    let res = c.get("/api/unknown").await;
    assert_eq!(res.status(), 404);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

async fn assert_html_page(res: reqwest::Response, path: &str) {
    let h = res.headers();
    let ct = h["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{path}: {ct}");
    // The page's own CSP (with the inline loader's hash) comes with it, 404 or not.
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("'sha256-"), "{path}: {csp}");
    assert!(res.text().await.unwrap().contains("fixture"), "{path}");
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
