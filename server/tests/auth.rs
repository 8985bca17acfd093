//! OIDC login against the development IdP through real HTTP: the full flow
//! with PKCE, every bad-input case of the issue, CSRF and Origin checks,
//! sessions that survive a restart, and the IdP being down at start.

mod common;

use common::{Browser, Options, TestServer, idp_login, location, param, with_param};
use devstack::idp::IdTokenOverride;
use serde_json::json;

/// Asserts the browser has no session and the last auth event is a failure.
async fn assert_refused(s: &TestServer, b: &mut Browser, callback: &str, code: &str) {
    let res = b.get_abs(callback).await;
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.starts_with(&format!("/login?error={code}")), "{loc}");
    assert_eq!(
        b.get("/api/me").await.status(),
        401,
        "no session after {code}"
    );
    let events = s.auth_events().await;
    assert_eq!(events[0].kind, "login_failed", "{events:?}");
    assert!(events[0].detail.starts_with(code), "{events:?}");
}

#[tokio::test]
async fn full_flow_with_pkce_gives_identity_roles_and_csrf() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let authorize = b.start_login("/requests?tab=mine").await;
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&authorize, "code_challenge").is_some());
    assert!(param(&authorize, "state").is_some());
    assert!(param(&authorize, "nonce").is_some());
    let callback = idp_login(&authorize, "alice").await;
    assert!(
        param(&callback, "iss").is_some(),
        "the dev IdP sends RFC 9207 iss"
    );
    let before = b.session_cookie();
    let res = b.get_abs(&callback).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/requests?tab=mine");
    assert_ne!(before, b.session_cookie(), "session id rotated at login");

    let res = b.get("/api/me").await;
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["name"], "Alice Engineer");
    assert_eq!(me["groups"], json!(["oncall-payments"]));
    assert_eq!(me["roles"], json!(["engineer"]));
    assert_eq!(me["csrf_token"].as_str().unwrap().len(), 64);
    let events = s.auth_events().await;
    assert_eq!(events[0].kind, "login_succeeded");

    // Cookie attributes.
    let mut b2 = s.client();
    let res = b2.get("/auth/login").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("keyhole_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
}

#[tokio::test]
async fn roles_for_lead_and_auditor() {
    let s = TestServer::start().await;
    for (user, role) in [("bob", "lead"), ("carol", "auditor")] {
        let mut b = s.login(user).await;
        let me: serde_json::Value = b.get("/api/me").await.json().await.unwrap();
        assert!(
            me["roles"].as_array().unwrap().contains(&json!(role)),
            "{user}: {me}"
        );
    }
}

#[tokio::test]
async fn wrong_or_missing_state_is_refused() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let callback = b.authorize("alice", "/").await;
    assert_refused(
        &s,
        &mut b,
        &with_param(&callback, "state", "forged"),
        "state_mismatch",
    )
    .await;
    // The real state is single-use too: it was consumed by the failed attempt? No —
    // only the state that matched is consumed; a forged one leaves it. Use it now,
    // then replay it.
    let res = b.get_abs(&callback).await;
    assert_eq!(location(&res), "/");
    let mut b2 = s.client();
    let _ = b2.start_login("/").await;
    let no_state = callback.split("state=").next().unwrap().to_owned();
    assert_refused(&s, &mut b2, &no_state, "state_mismatch").await;
}

#[tokio::test]
async fn replayed_callback_is_refused() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let callback = b.authorize("alice", "/").await;
    assert_eq!(b.get_abs(&callback).await.status(), 303);
    // Same browser, same callback again: the state was consumed.
    let mut attacker = s.client();
    attacker.set_session_cookie(&b.session_cookie().unwrap());
    let res = attacker.get_abs(&callback).await;
    assert!(location(&res).starts_with("/login?error=state_mismatch"));
}

#[tokio::test]
async fn replayed_code_is_refused_by_the_idp() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let first = b.authorize("alice", "/").await;
    assert_eq!(location(&b.get_abs(&first).await), "/");
    // A second login in flight gives a valid state; pair it with the used code.
    let mut b2 = s.client();
    let authorize = b2.start_login("/").await;
    let second_state = param(&authorize, "state").unwrap();
    let forged = with_param(&first, "state", &second_state);
    assert_refused(&s, &mut b2, &forged, "token_exchange_failed").await;
}

/// Makes a spoiled ID token for the test IdP to hand out.
type Spoiler = Box<dyn Fn(&TestServer) -> IdTokenOverride>;

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let s = TestServer::start().await;
    let cases: Vec<(&str, Spoiler)> = vec![
        (
            "nonce mismatch",
            Box::new(|_| IdTokenOverride::Tampered(json!({"nonce": "other"}))),
        ),
        ("wrong signature", Box::new(|_| IdTokenOverride::WrongKey)),
        (
            "expired",
            Box::new(|s: &TestServer| {
                let mut c = s.idp().id_token_claims(common::CLIENT_ID, "alice").unwrap();
                c["exp"] = json!(1_000_000);
                c["iat"] = json!(999_000);
                IdTokenOverride::Raw(s.idp().mint_id_token(c))
            }),
        ),
        (
            "wrong audience",
            Box::new(|s: &TestServer| {
                let mut c = s.idp().id_token_claims(common::CLIENT_ID, "alice").unwrap();
                c["aud"] = json!("some-other-client");
                IdTokenOverride::Raw(s.idp().mint_id_token(c))
            }),
        ),
    ];
    for (name, make) in cases {
        let mut b = s.client();
        let callback = b.authorize("alice", "/").await;
        s.idp().set_next_id_token_override(make(&s));
        let res = b.get_abs(&callback).await;
        let loc = location(&res);
        assert!(
            loc.starts_with("/login?error=id_token_invalid"),
            "{name}: {loc}"
        );
        assert_eq!(b.get("/api/me").await.status(), 401, "{name}: no session");
    }
    let events = s.auth_events().await;
    assert!(
        events.iter().take(4).all(|e| e.kind == "login_failed"),
        "{events:?}"
    );
}

#[tokio::test]
async fn access_denied_and_issuer_mismatch() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let authorize = b.start_login("/").await;
    let state = param(&authorize, "state").unwrap();
    let cb = format!("{}/auth/callback?error=access_denied&state={state}", s.url);
    assert_refused(&s, &mut b, &cb, "access_denied").await;

    let mut b = s.client();
    let callback = b.authorize("alice", "/").await;
    assert_refused(
        &s,
        &mut b,
        &with_param(&callback, "iss", "http://evil.test"),
        "issuer_mismatch",
    )
    .await;
}

#[tokio::test]
async fn rotated_idp_key_is_picked_up() {
    let s = TestServer::start().await;
    s.idp().rotate_signing_key().await.unwrap();
    let mut b = s.login("alice").await;
    assert_eq!(b.get("/api/me").await.status(), 200);
}

#[tokio::test]
async fn open_redirect_through_return_to_is_impossible() {
    let s = TestServer::start().await;
    for evil in [
        "https://evil.test/",
        "//evil.test/x",
        "/\\evil.test",
        "http:evil.test",
        "javascript:alert(1)",
    ] {
        let mut b = s.client();
        let callback = b.authorize("alice", evil).await;
        let res = b.get_abs(&callback).await;
        assert_eq!(location(&res), "/", "{evil}");
    }
}

#[tokio::test]
async fn csrf_and_origin_are_required_for_state_changes() {
    let s = TestServer::start().await;
    let mut b = s.login("alice").await;
    let origin = s.url.clone();
    let csrf = b.csrf.clone();
    let res = b
        .post_with("/auth/logout", json!({}), Some(&origin), None)
        .await;
    assert_eq!(res.status(), 403, "no CSRF header");
    let res = b
        .post_with("/auth/logout", json!({}), Some(&origin), Some("wrong"))
        .await;
    assert_eq!(res.status(), 403, "wrong CSRF token");
    let res = b
        .post_with(
            "/auth/logout",
            json!({}),
            Some("http://evil.test"),
            Some(&csrf),
        )
        .await;
    assert_eq!(res.status(), 403, "cross-site Origin");
    assert_eq!(b.get("/api/me").await.status(), 200, "still signed in");
    let res = b.post("/auth/logout", json!({})).await;
    assert_eq!(res.status(), 200);
    let out: serde_json::Value = res.json().await.unwrap();
    let redirect = out["redirect_to"].as_str().unwrap();
    assert!(
        redirect.starts_with(&format!("{}/logout", s.idp().issuer())),
        "RP-initiated logout: {redirect}"
    );
    assert!(redirect.contains("id_token_hint="));
    assert_eq!(b.get("/api/me").await.status(), 401);
    assert_eq!(s.auth_events().await[0].kind, "logout");
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let s = TestServer::start().await;
    let b = s.login("bob").await;
    let cookie = b.session_cookie().unwrap();
    let (idp, dir) = s.stop().await;
    // Same port is not guaranteed; the session lives in the database.
    let s2 = TestServer::start_with(Options {
        dir: Some(dir),
        idp: Some(idp),
        ..Default::default()
    })
    .await;
    let mut b2 = s2.client();
    b2.set_session_cookie(&cookie);
    let res = b2.get("/api/me").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn idp_unreachable_at_start() {
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let s = TestServer::start_with(Options {
        issuer_override: Some(issuer),
        ..Default::default()
    })
    .await;
    let mut b = s.client();
    assert_eq!(b.get("/healthz").await.status(), 200, "the server starts");
    let res = b.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    let res = b.get("/auth/login?return_to=/x").await;
    assert!(location(&res).starts_with("/login?error=idp_unreachable"));
    let info: serde_json::Value = b.get("/api/info").await.json().await.unwrap();
    assert_eq!(info["idp_ready"], false);
}
