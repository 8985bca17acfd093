//! `GET /api/terminal-sessions`: who sees which terminal sessions, and how a session's row follows it
//! (open → ended with its reason and byte counts; a revoked grant's session is no longer live).

mod common;

use std::time::Duration;

use common::access::{create, get, post};
use common::shell::open_shell;
use common::{Browser, Options, TestServer, WsStream, user};
use futures::{SinkExt, StreamExt};
use keyhole_protocol::terminal::CloseReason;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const POD: &str = "payments/checkout-7d9f-abc12";

async fn grant(alice: &mut Browser) -> String {
    let (status, body) = create(alice, "payments-debug", 1800, "INC-9 sessions").await;
    assert_eq!(status, 201, "{body}");
    body["grant"]["id"].as_str().expect("grant").to_owned()
}

/// Opens a terminal and waits for the shell's first output.
async fn open(ts: &TestServer, b: &Browser, grant: &str) -> WsStream {
    open_shell(&ts.url, b, grant, POD).await
}

async fn sessions(b: &mut Browser, query: &str) -> Vec<Value> {
    let (status, body) = get(b, &format!("/api/terminal-sessions{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().expect("a list").clone()
}

/// Polls until the session `id` as `b` sees it satisfies `done`.
async fn until(b: &mut Browser, query: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        if let Some(s) = sessions(b, query).await.into_iter().find(|s| s["id"] == id)
            && done(&s)
        {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {id} never reached the expected state");
}

#[tokio::test]
async fn who_sees_which_sessions_and_how_they_end() {
    let ts = TestServer::start_with(Options {
        extra_users: vec![user("erin", &["oncall-payments"])],
        ..Default::default()
    })
    .await;
    let mut alice = ts.login("alice").await;
    let mut bob = ts.login("bob").await;
    let mut carol = ts.login("carol").await;
    let mut erin = ts.login("erin").await;
    let g = grant(&mut alice).await;
    let mut ws = open(&ts, &alice, &g).await;

    // Alice sees her own session, open.
    let mine = sessions(&mut alice, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    let s = &mine[0];
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["live"], true);
    assert_eq!(s["grant_id"], g.as_str());
    let (_, req) = get(
        &mut alice,
        &format!("/api/requests/{}", s["request_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        req["grant"]["id"],
        g.as_str(),
        "request_id names the grant's request"
    );
    assert_eq!(s["profile"], "payments-debug");
    assert_eq!(s["namespace"], "payments");
    assert_eq!(s["pod"], "checkout-7d9f-abc12");
    assert_eq!(s["user"]["email"], "alice@example.test");
    assert_eq!(s["kube_user"], "alice@example.test");
    assert_eq!(s["can_revoke"], false, "not her own grant to revoke");
    assert!(s["ended_at"].is_null());

    // Bob approves payments: he sees it among the open sessions and may revoke it.
    let open_now = sessions(&mut bob, "?scope=all&state=open").await;
    let s = open_now
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("bob sees it");
    assert_eq!(s["can_revoke"], true);
    // Carol audits: she sees it, but revoking is not hers.
    let all = sessions(&mut carol, "?scope=all").await;
    let s = all
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("carol sees it");
    assert_eq!(s["can_revoke"], false);
    // Erin is an engineer like Alice: none of her own, and nobody else's.
    assert!(sessions(&mut erin, "").await.is_empty());
    let (status, _) = get(&mut erin, "/api/terminal-sessions?scope=all").await;
    assert_eq!(status, 403);

    // Alice exits: the row says so, with what went through.
    ws.send(Message::Binary(b"exit\r".to_vec().into()))
        .await
        .unwrap();
    while let Some(Ok(m)) = ws.next().await {
        if matches!(m, Message::Close(_)) {
            break;
        }
    }
    let s = until(&mut alice, "", &id, |s| !s["ended_at"].is_null()).await;
    assert_eq!(s["live"], false);
    assert_eq!(s["end_reason"], "exited");
    assert!(s["bytes_out"].as_u64().unwrap() > 0);
    assert_eq!(s["bytes_in"], 5, "`exit` + Enter");
    assert!(
        sessions(&mut bob, "?scope=all&state=open")
            .await
            .iter()
            .all(|s| s["id"] != id.as_str()),
        "an ended session is not open"
    );

    // A second session under the same grant, then Bob revokes the grant.
    let _ws2 = open(&ts, &alice, &g).await;
    let open_now = sessions(&mut bob, "?scope=all&state=open").await;
    let second = open_now
        .iter()
        .find(|s| s["grant_id"] == g.as_str())
        .expect("the second session is open")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = post(
        &mut bob,
        &format!("/api/grants/{g}/revoke"),
        json!({"reason": "INC-9 resolved"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let s = until(&mut bob, "?scope=all", &second, |s| s["live"] == false).await;
    assert_eq!(s["can_revoke"], false);
    let s = until(&mut alice, "", &second, |s| !s["ended_at"].is_null()).await;
    assert_eq!(s["end_reason"], "revoked");
}

/// A session row left open by a process that died (no clean shutdown) is closed as
/// `gateway_lost` when Keyhole starts again, on SQLite and PostgreSQL alike: the row names
/// its process, and that process no longer says it is alive (`replicas`).
#[tokio::test]
async fn sessions_left_open_by_a_dead_process_are_closed_as_lost_at_start() {
    let ts = TestServer::start().await;
    let db_url = ts.db_url.clone();
    let (idp, dir) = ts.stop().await;
    let store = keyhole::store::Store::connect(&db_url).await.unwrap();
    store
        .insert_terminal_session(&keyhole::store::NewTerminalSession {
            id: "orphan-1",
            subject: "devidp-alice",
            kube_user: "alice@example.test",
            grant_id: "grant-of-a-dead-process",
            namespace: "payments",
            pod: "checkout-7d9f-abc12",
            container: "app",
        })
        .await
        .unwrap();
    store.close().await;
    let ts = TestServer::start_with(Options {
        dir: Some(dir),
        idp: Some(idp),
        database_url: Some(db_url.clone()),
        ..Default::default()
    })
    .await;
    // Serving means startup (and its clean-up) is done.
    assert_eq!(ts.client().get("/healthz").await.status(), 200);
    let store = keyhole::store::Store::connect(&ts.db_url).await.unwrap();
    let row = store.terminal_session("orphan-1").await.unwrap().unwrap();
    store.close().await;
    assert!(row.ended_at.is_some(), "{row:?}");
    assert_eq!(
        row.end_reason.map(CloseReason::as_str),
        Some("gateway_lost")
    );
}

/// A clean stop (SIGTERM) closes the rows of the sessions it ends, with `server_shutdown`.
#[tokio::test]
async fn a_clean_stop_closes_open_session_rows() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice).await;
    let _ws = open(&ts, &alice, &g).await;
    let listed = sessions(&mut alice, "?scope=mine&state=open").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    let db_url = ts.db_url.clone();
    ts.stop().await;
    let store = keyhole::store::Store::connect(&db_url).await.unwrap();
    let row = store.terminal_session(&id).await.unwrap().unwrap();
    store.close().await;
    assert!(row.ended_at.is_some(), "{row:?}");
    assert_eq!(
        row.end_reason.map(CloseReason::as_str),
        Some("server_shutdown")
    );
}
