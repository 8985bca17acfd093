//! Two replicas on one PostgreSQL database: what one replica decides reaches the other's
//! terminals and live views (LISTEN/NOTIFY). Runs in `make test-postgres`; with SQLite (one
//! process per database by design) there is nothing to test and it says so.

mod common;

use std::time::{Duration, Instant};

use common::access::{Sse, create, post};
use common::shell::{open_shell, wait_closed};
use common::{Options, TestServer};
use futures::StreamExt;
use keyhole_protocol::terminal::CloseReason;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const POD: &str = "payments/checkout-7d9f-abc12";

fn postgres() -> bool {
    if std::env::var("POSTGRES_TEST_URL").is_ok() {
        return true;
    }
    eprintln!("skipped: needs PostgreSQL (make test-postgres)");
    false
}

#[tokio::test]
async fn a_revocation_on_one_replica_closes_the_terminal_on_another() {
    if !postgres() {
        return;
    }
    let a = TestServer::start().await;
    let b = TestServer::start_with(Options {
        database_url: Some(a.db_url.clone()),
        ..Default::default()
    })
    .await;
    // Alice works on replica B; Bob, a lead, revokes on replica A.
    let mut alice = b.login("alice").await;
    let mut bob = a.login("bob").await;
    let (status, body) = create(&mut alice, "payments-debug", 1800, "INC-7 replicas").await;
    assert_eq!(status, 201, "{body}");
    let grant = body["grant"]["id"].as_str().expect("grant").to_owned();
    let mut events = Sse::open(&mut alice).await;
    let mut ws = open_shell(&b.url, &alice, &grant, POD).await;
    let t0 = Instant::now();
    let (status, body) = post(
        &mut bob,
        &format!("/api/grants/{grant}/revoke"),
        json!({"reason": "revoked on replica A"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (reason, message) = wait_closed(&mut ws, Duration::from_secs(3)).await;
    let took = t0.elapsed();
    assert_eq!(reason, CloseReason::Revoked);
    assert!(message.contains("revoked on replica A"), "{message}");
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    // Alice's live view on B heard about it too.
    let seen = events
        .next_of("grant_revoked", Duration::from_secs(3))
        .await
        .expect("B's event stream got the revocation made on A");
    assert_eq!(seen["grant_id"], grant.as_str());
}

/// Fail closed: when a replica's LISTEN connection drops, notifications sent meanwhile are
/// lost, so once it listens again every terminal re-checks its grant in the database. Here the
/// grant is ended behind Keyhole's back (no event at all), then B's listener is killed: the
/// session must close because of the re-check alone.
#[tokio::test]
async fn a_lost_listener_connection_makes_terminals_recheck_their_grant() {
    if !postgres() {
        return;
    }
    // A re-check period far longer than the test: only the reconnect can close the session.
    let a = TestServer::start_with(Options {
        env: vec![("KEYHOLE_ACCESS_RECHECK_SECONDS", "300")],
        ..Default::default()
    })
    .await;
    let mut alice = a.login("alice").await;
    let (status, body) = create(&mut alice, "payments-debug", 1800, "INC-8 resync").await;
    assert_eq!(status, 201, "{body}");
    let grant = body["grant"]["id"].as_str().expect("grant").to_owned();
    let mut ws = open_shell(&a.url, &alice, &grant, POD).await;
    let mut events = Sse::open(&mut alice).await;
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&a.db_url)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE grants SET state = 'revoked', revoked_by = 'dba', revoke_reason = 'ended in the database' WHERE id = $1",
    )
    .bind(&grant)
    .execute(&mut db)
    .await
    .unwrap();
    // Nothing was announced: the session is still open.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) if t.contains("\"closed\"") => return,
                    Some(Ok(_)) => {}
                    _ => return,
                }
            }
        })
        .await
        .is_err(),
        "closed before the listener was lost"
    );
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert!(killed >= 1, "found the listener connection");
    let (reason, message) = wait_closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(reason, CloseReason::Revoked);
    assert!(message.contains("ended in the database"), "{message}");
    // Live views are told to refetch too.
    assert!(
        events
            .next_of("resync", Duration::from_secs(5))
            .await
            .is_some(),
        "the event stream asks the page to refetch"
    );
}
