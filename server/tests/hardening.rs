//! Access that cannot fail open: every open stream ends when what allowed it ends, even when
//! no notification arrives, when the user signs out, and when access cannot be verified.
//! Runs on SQLite in `make unit` and again on PostgreSQL in `make test-postgres`.

mod common;

use std::time::{Duration, Instant};

use common::access::{Sse, create};
use common::shell::{open_shell, wait_closed};
use common::{Options, TestServer};
use keyhole::access::{Access, LeaseConfig, LeaseEnd, LeaseSpec};
use keyhole::policy::{Policy, PolicyHandle};
use keyhole::store::Store;
use keyhole_protocol::terminal::CloseReason;
use serde_json::json;
use sqlx::Connection as _;
use tokio_util::sync::CancellationToken;

const POD: &str = "payments/checkout-7d9f-abc12";

/// Runs `sql` (with `$1` = `id`) on the server's database, behind Keyhole's back.
async fn behind_the_back(db_url: &str, sql: &str, id: &str) {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(db_url).await.unwrap();
    let n = sqlx::query(sql)
        .bind(id)
        .execute(&mut db)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1, "{sql}");
    let _ = db.close().await;
}

async fn grant(ts: &TestServer, user: &str) -> (common::Browser, String) {
    let mut b = ts.login(user).await;
    let (status, body) = create(&mut b, "payments-debug", 1800, "INC-9 hardening").await;
    assert_eq!(status, 201, "{body}");
    let g = body["grant"]["id"]
        .as_str()
        .expect("auto-approved grant")
        .to_owned();
    (b, g)
}

/// A grant revoked by writing to the database directly (no event, no notification at all)
/// closes the terminal within the re-check period. Before the re-check existed, the terminal
/// stayed open until the grant's own end.
#[tokio::test]
async fn a_grant_ended_behind_keyholes_back_closes_the_terminal_within_the_recheck() {
    let ts = TestServer::start_with(Options {
        env: vec![("KEYHOLE_ACCESS_RECHECK_SECONDS", "1")],
        ..Default::default()
    })
    .await;
    let (alice, g) = grant(&ts, "alice").await;
    let mut ws = open_shell(&ts.url, &alice, &g, POD).await;
    let t0 = Instant::now();
    behind_the_back(
        &ts.db_url,
        "UPDATE grants SET state = 'revoked', revoked_by = 'dba', \
         revoke_reason = 'ended in the database' WHERE id = $1",
        &g,
    )
    .await;
    let (reason, message) = wait_closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(reason, CloseReason::Revoked);
    assert!(message.contains("ended in the database"), "{message}");
    // Period 1 s, jittered by at most 20 %, plus the query.
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

/// Signing out ends the terminal, the followed log and the live view that web session opened
/// (within a second), and nothing of another session of the same user.
#[tokio::test]
async fn logout_ends_every_stream_of_that_web_session() {
    let ts = TestServer::start().await;
    let (mut alice, g) = grant(&ts, "alice").await;
    let mut other_tab = ts.login("alice").await;
    let mut ws = open_shell(&ts.url, &alice, &g, POD).await;
    let mut other_ws = open_shell(&ts.url, &other_tab, &g, POD).await;
    let mut events = Sse::open(&mut alice).await;
    let mut other_events = Sse::open(&mut other_tab).await;
    let mut log = alice
        .get(&format!("/api/grants/{g}/pods/{POD}/logs?follow=true"))
        .await;
    assert_eq!(log.status(), 200);
    let t0 = Instant::now();
    let res = alice.post("/auth/logout", json!({})).await;
    assert_eq!(res.status(), 200);
    let (reason, message) = wait_closed(&mut ws, Duration::from_secs(2)).await;
    assert_eq!(reason, CloseReason::LoggedOut, "{message}");
    assert!(
        events.ends_within(Duration::from_secs(1)).await,
        "live view ended"
    );
    let log_ended = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(Some(_)) = log.chunk().await {}
    })
    .await;
    assert!(log_ended.is_ok(), "log stream ended");
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    // The other sign-in of the same person is untouched.
    assert!(!other_events.ends_within(Duration::from_millis(300)).await);
    common::shell::send_line(&mut other_ws, "echo still-$((40+2))").await;
    common::shell::read_output_until(&mut other_ws, "still-42", Duration::from_secs(5)).await;
}

/// When the database cannot be asked for longer than the grace period, every lease ends as
/// "cannot verify access" instead of running unchecked.
#[tokio::test]
async fn an_unreachable_database_ends_streams_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(dir.path()).await;
    let store = Store::connect(&url).await.unwrap();
    let stop = CancellationToken::new();
    let access = Access::start_with(
        store.clone(),
        PolicyHandle::new(Policy::builtin()),
        "http://127.0.0.1:1".parse().unwrap(),
        stop.clone(),
        LeaseConfig {
            recheck: Duration::from_secs(1),
            grace: Duration::from_secs(2),
            idle: Duration::from_secs(60),
        },
    );
    let mut lease = access.lease(LeaseSpec {
        grant: Some(("some-grant".into(), "alice".into())),
        ..Default::default()
    });
    // The database goes away before the first re-check.
    store.close().await;
    let t0 = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(10), lease.ended())
        .await
        .expect("the lease ends");
    assert!(matches!(end, LeaseEnd::Unverifiable(_)), "{end:?}");
    assert_eq!(end.close_reason(), CloseReason::Unverifiable);
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "not before the grace period"
    );
    stop.cancel();
}

/// Access decisions are never taken on IdP groups older than `session.groups_max_age_seconds`:
/// requesting (and approving or denying) then needs a fresh sign-in, which reads the groups
/// from the IdP again.
#[tokio::test]
async fn stale_groups_need_a_fresh_sign_in_before_requesting_or_reviewing() {
    let ts = TestServer::start_with(Options {
        env: vec![("KEYHOLE_SESSION_GROUPS_MAX_AGE_SECONDS", "1")],
        ..Default::default()
    })
    .await;
    let mut alice = ts.login("alice").await;
    let mut bob = ts.login("bob").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = create(&mut alice, "payments-debug", 1800, "INC-10 stale").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = common::access::post(
        &mut bob,
        "/api/requests/does-not-matter/approve",
        json!({"comment": "ok"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let mut alice = ts.login("alice").await;
    let (status, body) = create(&mut alice, "payments-debug", 1800, "INC-10 fresh").await;
    assert_eq!(status, 201, "{body}");
}
