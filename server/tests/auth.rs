//! OIDC login against the development IdP through real HTTP: the full flow
//! with PKCE, every bad-input case of the issue, CSRF and Origin checks,
//! sessions that survive a restart, and the IdP being down at start.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::access::{create_ok, get, post, test_policy};
use common::{Browser, Options, TestServer, idp_login, location, param, user, with_param};
use devstack::idp::{IdTokenOverride, IdpUser};
use keyhole::store::AuthEventKind;
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
    assert_eq!(events[0].kind, AuthEventKind::LoginFailed, "{events:?}");
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
    assert_eq!(events[0].kind, AuthEventKind::LoginSucceeded);

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

/// Rows in the `sessions` table.
async fn session_rows(s: &TestServer) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&s.db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// A callback without a valid state: refused, and nothing persisted (no event, no session
/// row, no cookie).
async fn assert_refused_silently(s: &TestServer, b: &mut Browser, callback: &str) {
    let (events, rows) = (s.auth_events().await.len(), session_rows(s).await);
    let res = b.get_abs(callback).await;
    assert_eq!(res.status(), 303);
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no session is created or changed"
    );
    let loc = location(&res);
    assert!(loc.starts_with("/login?error=state_mismatch"), "{loc}");
    assert_eq!(b.get("/api/me").await.status(), 401, "no session");
    assert_eq!(s.auth_events().await.len(), events, "no auth event");
    assert_eq!(session_rows(s).await, rows, "no session row");
}

#[tokio::test]
async fn wrong_or_missing_state_is_refused() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let callback = b.authorize("alice", "/").await;
    assert_refused_silently(&s, &mut b, &with_param(&callback, "state", "forged")).await;
    // The real state is single-use too: it was consumed by the failed attempt? No —
    // only the state that matched is consumed; a forged one leaves it. Use it now,
    // then replay it.
    let res = b.get_abs(&callback).await;
    assert_eq!(location(&res), "/");
    let mut b2 = s.client();
    let _ = b2.start_login("/").await;
    let no_state = callback.split("state=").next().unwrap().to_owned();
    assert_refused_silently(&s, &mut b2, &no_state).await;
}

/// Anyone can send `/auth/callback?error=…`: it must not grow the database or put attacker
/// text into log lines or rows. (Before: one session row and one auth event per call.)
#[tokio::test]
async fn callback_errors_without_state_persist_nothing() {
    let s = TestServer::start().await;
    let mut anon = s.client();
    for _ in 0..3 {
        let cb = format!(
            "{}/auth/callback?error=x%0Alevel%3DERROR%20forged&error_description={}",
            s.url,
            "A".repeat(5000)
        );
        assert_refused_silently(&s, &mut anon, &cb).await;
    }
    assert!(s.auth_events().await.is_empty());
    assert_eq!(session_rows(&s).await, 0);
}

/// The text a failed login stores comes from the IdP (through the browser): it is escaped
/// and bounded.
#[tokio::test]
async fn idp_error_text_is_escaped_and_bounded_in_events() {
    let s = TestServer::start().await;
    let mut b = s.client();
    let authorize = b.start_login("/").await;
    let state = param(&authorize, "state").unwrap();
    let cb = format!(
        "{}/auth/callback?error=access_denied%0Aforged&error_description={}%0D%1B[31m&state={state}",
        s.url,
        "B".repeat(5000)
    );
    let res = b.get_abs(&cb).await;
    assert!(location(&res).starts_with("/login?error=idp_error"));
    let events = s.auth_events().await;
    let detail = &events[0].detail;
    assert!(!detail.chars().any(char::is_control), "{detail:?}");
    assert!(detail.contains("\\u{a}forged"), "{detail:?}");
    assert!(detail.chars().count() < 600, "{}", detail.len());
}

/// Failed callbacks are limited per client address (10 a minute); then 429, and still
/// nothing is persisted. (Before: no limit.)
#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    let s = TestServer::start().await;
    let mut anon = s.client();
    let cb = format!("{}/auth/callback?error=access_denied", s.url);
    for i in 0..10 {
        let res = anon.get_abs(&cb).await;
        assert_eq!(res.status(), 303, "failure {i} is answered normally");
    }
    let res = anon.get_abs(&cb).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(res.headers()["retry-after"], "60");
    let text = res.text().await.unwrap();
    assert!(text.contains("Too many failed sign-ins"), "{text}");
    // The budget is per address: a real login callback from it waits too.
    let mut b = s.client();
    let callback = b.authorize("alice", "/").await;
    assert_eq!(b.get_abs(&callback).await.status(), 429);
    assert!(s.auth_events().await.is_empty());
    assert_eq!(session_rows(&s).await, 1, "only the pending login of `b`");
}

/// The Kubernetes user name is one configured claim: `email` needs `email_verified: true`,
/// and a token without the claim is refused. (Before: an unverified e-mail was impersonated,
/// and a missing one fell back to `sub`.)
#[tokio::test]
async fn the_username_claim_must_be_present_and_verified() {
    let s = TestServer::start().await;
    for (patch, code) in [
        (json!({"email_verified": false}), "email_unverified"),
        (json!({"email_verified": null}), "email_unverified"),
        (json!({"email": null}), "username_missing"),
    ] {
        let mut b = s.client();
        let callback = b.authorize("alice", "/").await;
        s.idp()
            .set_next_id_token_override(IdTokenOverride::Claims(patch.clone()));
        assert_refused(&s, &mut b, &callback, code).await;
    }
    let mut b = s.login("alice").await;
    let me: serde_json::Value = b.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["kube_user"], "alice@example.test");
}

/// `username_claim` and `username_prefix` (like `--oidc-username-prefix`) decide the name
/// grants impersonate, fixed at login.
#[tokio::test]
async fn username_claim_and_prefix_make_the_kubernetes_user() {
    let s = TestServer::start_with(Options {
        env: vec![
            ("KEYHOLE_OIDC_USERNAME_CLAIM", "sub"),
            ("KEYHOLE_OIDC_USERNAME_PREFIX", "keyhole:"),
        ],
        ..Default::default()
    })
    .await;
    let mut b = s.login("alice").await;
    let me: serde_json::Value = b.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["kube_user"], "keyhole:devidp-alice");
    assert_eq!(
        me["email"], "alice@example.test",
        "e-mail stays for display"
    );
    create_ok(&mut b, "payments-debug", 600).await;
    let (status, grants) = get(&mut b, "/api/grants?scope=mine").await;
    assert_eq!(status, 200, "{grants}");
    // A list, or a page of one (`items`).
    let first = grants.get("items").unwrap_or(&grants)[0].clone();
    assert_eq!(first["kube_user"], "keyhole:devidp-alice", "{grants}");
}

/// An IdP user with another subject but the same e-mail (a second account).
fn alias(of: &str, username: &str, groups: &[&str]) -> IdpUser {
    IdpUser {
        email: format!("{of}@example.test"),
        ..user(username, groups)
    }
}

/// Approvals are keyed by the identity Kubernetes sees: a second IdP account with the
/// requester's Kubernetes user name cannot approve, and two accounts with one Kubernetes user
/// name count once. (Before: both were keyed by `sub` only.)
#[tokio::test]
async fn approvals_are_keyed_by_the_kubernetes_user_too() {
    let s = TestServer::start_with(Options {
        extra_users: vec![
            alias("alice", "alice2", &["leads-payments"]),
            user("lena", &["leads-payments"]),
            alias("lena", "lena2", &["leads-payments"]),
        ],
        policy: Some(test_policy("")),
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let mut alice2 = s.login("alice2").await;
    let mut lena = s.login("lena").await;
    let mut lena2 = s.login("lena2").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "two-man", 600).await;
    let approve = format!("/api/requests/{id}/approve");
    let (_, req) = get(&mut alice2, &format!("/api/requests/{id}")).await;
    assert_eq!(req["can_review"], false, "{req}");
    let (status, err) = post(&mut alice2, &approve, json!({ "comment": "me" })).await;
    assert_eq!(status, 403, "self-approval under another subject: {err}");
    assert!(
        err["message"].as_str().unwrap().contains("own request"),
        "{err}"
    );

    let (status, req) = post(&mut lena, &approve, json!({ "comment": "one" })).await;
    assert_eq!(status, 200, "{req}");
    assert_eq!(req["state"], "pending");
    let (_, req) = get(&mut lena2, &format!("/api/requests/{id}")).await;
    assert_eq!(req["can_review"], false, "{req}");
    let (status, err) = post(&mut lena2, &approve, json!({ "comment": "two?" })).await;
    assert_eq!(
        status, 409,
        "the same Kubernetes user twice counts once: {err}"
    );
    let (_, req) = get(&mut alice, &format!("/api/requests/{id}")).await;
    assert_eq!(req["state"], "pending");

    let (status, req) = post(&mut bob, &approve, json!({ "comment": "two" })).await;
    assert_eq!(status, 200, "{req}");
    assert_eq!(req["state"], "approved");
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
        events
            .iter()
            .take(4)
            .all(|e| e.kind == AuthEventKind::LoginFailed),
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
    assert_eq!(s.auth_events().await[0].kind, AuthEventKind::Logout);
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
    // Anonymous callers learn that the IdP is down, not why (addresses, TLS, HTTP details).
    let idp = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "identity_provider")
        .unwrap();
    assert_eq!(idp["detail"], "identity provider unreachable", "{body}");
    let res = b.get("/auth/login?return_to=/x").await;
    assert!(location(&res).starts_with("/login?error=idp_unreachable"));
    let info: serde_json::Value = b.get("/api/info").await.json().await.unwrap();
    assert_eq!(info["idp_ready"], false);
}

/// A fake IdP that answers every request with 503 and counts them.
async fn counting_dead_idp() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    (url, hits)
}

/// While the IdP is down, logins do not each trigger a discovery attempt: one attempt per
/// backoff period, shared by every caller. (Before: one attempt per login.)
#[tokio::test]
async fn discovery_is_rate_limited_while_the_idp_is_down() {
    let (issuer, hits) = counting_dead_idp().await;
    let s = TestServer::start_with(Options {
        issuer_override: Some(issuer),
        ..Default::default()
    })
    .await;
    let mut probe = s.client();
    assert_eq!(probe.get("/healthz").await.status(), 200);
    let before = hits.load(Ordering::SeqCst);
    assert!(before >= 1, "the startup attempt reached the IdP");
    let started = Instant::now();
    let logins = (0..20).map(|_| {
        let mut b = s.client();
        async move { location(&b.get("/auth/login").await) }
    });
    for loc in futures::future::join_all(logins).await {
        assert!(loc.starts_with("/login?error=idp_unreachable"), "{loc}");
    }
    let attempts = hits.load(Ordering::SeqCst) - before;
    // One attempt may fall due during the burst (the first backoff is 1 s); not 20.
    assert!(
        attempts <= 2,
        "20 logins made {attempts} discovery attempts in {:?}",
        started.elapsed()
    );
}

/// The idle timeout slides with activity (the record's expiry and the cookie move), the
/// absolute lifetime does not. (Before: the session ended a fixed idle period after login.)
#[tokio::test]
async fn idle_timeout_slides_with_activity_and_the_absolute_lifetime_holds() {
    let s = TestServer::start_with(Options {
        env: vec![
            ("KEYHOLE_SESSION_IDLE_TIMEOUT_SECONDS", "3"),
            ("KEYHOLE_SESSION_ABSOLUTE_LIFETIME_SECONDS", "14"),
        ],
        ..Default::default()
    })
    .await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let mut idle = s.login("alice").await;
    let mut busy = s.login("bob").await;
    let me: serde_json::Value = busy.get("/api/me").await.json().await.unwrap();
    let (idle_end, abs_end) = (
        me["idle_expires_at"].as_i64().unwrap(),
        me["session_expires_at"].as_i64().unwrap(),
    );
    assert!(idle_end <= abs_end && abs_end - idle_end >= 10, "{me}");
    let safe = |t: f64| t < abs_end as f64 - 1.0;
    // Both active for 4.5 s (> idle): both stay signed in, and the cookie is re-issued.
    let t0 = Instant::now();
    let mut reissued = false;
    while t0.elapsed() < Duration::from_millis(4500) {
        for b in [&mut idle, &mut busy] {
            let res = b.get("/api/me").await;
            assert_eq!(res.status(), 200, "active at {:?}", t0.elapsed());
            reissued |= res.headers().get("set-cookie").is_some();
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(reissued, "activity re-saves the session (new Max-Age)");
    let me: serde_json::Value = busy.get("/api/me").await.json().await.unwrap();
    assert!(me["idle_expires_at"].as_i64().unwrap() > idle_end, "{me}");
    // `idle` stops; `busy` goes on.
    let stop = Instant::now();
    while stop.elapsed() < Duration::from_millis(4200) {
        let at = now();
        let status = busy.get("/api/me").await.status();
        if safe(at) {
            assert_eq!(status, 200, "busy at {:?}", t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(
        idle.get("/api/me").await.status(),
        401,
        "ended by the idle timeout"
    );
    // `busy` ends at the absolute lifetime however active.
    let mut ended_at = None;
    while now() < abs_end as f64 + 4.0 {
        let at = now();
        let status = busy.get("/api/me").await.status();
        if status == 401 {
            ended_at = Some(at);
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let ended_at = ended_at.expect("the absolute lifetime ends an active session");
    assert!(
        ended_at >= abs_end as f64 - 1.0,
        "ended {ended_at}, absolute end {abs_end}"
    );
}

/// With the default idle timeout, requests right after login do not re-save the session:
/// at most one write a minute per session.
#[tokio::test]
async fn sessions_are_not_resaved_on_every_request() {
    let s = TestServer::start().await;
    let mut b = s.login("alice").await;
    for _ in 0..3 {
        let res = b.get("/api/me").await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("set-cookie").is_none());
    }
}

/// Each login started by a browser without a session creates a session row (its pending
/// state): one address can start at most 120 a minute; browsers that already have a session
/// reuse their row and are not counted.
#[tokio::test]
async fn new_logins_are_rate_limited_per_address() {
    let s = TestServer::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/auth/login", s.url);
    for i in 0..120 {
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 303, "login {i} starts");
    }
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(session_rows(&s).await, 120);
    // The budget is per address, whatever the client.
    let mut b = s.client();
    let res = b.get("/auth/login").await;
    assert_eq!(
        res.status(),
        429,
        "a cookieless browser from this address waits too"
    );
}

/// A badge refreshing by itself (the app's background fetches) is not activity: it never keeps
/// an idle sign-in alive, however often it asks.
#[tokio::test]
async fn background_fetches_do_not_keep_an_idle_session_alive() {
    let s = TestServer::start_with(Options {
        env: vec![("KEYHOLE_SESSION_IDLE_TIMEOUT_SECONDS", "3")],
        ..Default::default()
    })
    .await;
    let mut bob = s.login("bob").await;
    let res = bob.get_background("/api/requests?scope=pending").await;
    assert_eq!(
        res.status(),
        200,
        "a background fetch is served while signed in"
    );
    let t0 = Instant::now();
    let mut ended = None;
    while t0.elapsed() < Duration::from_secs(8) {
        let status = bob
            .get_background("/api/requests?scope=pending")
            .await
            .status();
        if status == 401 {
            ended = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let ended = ended.expect("the idle timeout ended the session despite background fetches");
    assert!(
        ended >= Duration::from_secs(2),
        "not before the idle timeout: {ended:?}"
    );
}
