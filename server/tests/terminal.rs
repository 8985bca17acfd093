//! The browser terminal end to end: real WebSockets (tokio-tungstenite) against the real
//! server, which execs through the embedded devstack cluster as the impersonate-only gateway
//! with exactly the RBAC of `deploy/rbac/`.

mod common;

use std::time::{Duration, Instant};

use common::access::{create, get, post};
use common::{Browser, Options, TestServer, WsStream, ws_connect};
use futures::{SinkExt, StreamExt};
use keyhole_protocol::terminal::{CloseReason, ServerMsg};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const CHECKOUT: &str = "payments/checkout-7d9f-abc12";

/// A grant of `profile` for alice (auto-approved by the built-in policy).
async fn grant(alice: &mut Browser, profile: &str, secs: i64) -> String {
    let (status, body) = create(alice, profile, secs, "INC-4211 checkout 500s").await;
    assert_eq!(status, 201, "{body}");
    body["grant"]["id"]
        .as_str()
        .expect("auto-approved grant")
        .to_owned()
}

fn term_path(grant: &str, pod: &str, query: &str) -> String {
    format!("/api/grants/{grant}/pods/{pod}/terminal{query}")
}

async fn open(ts: &TestServer, b: &Browser, grant: &str, pod: &str, query: &str) -> WsStream {
    ws_connect(
        &ts.url,
        &term_path(grant, pod, query),
        b.session_cookie().as_deref(),
        Some(&ts.url),
    )
    .await
    .expect("terminal should open")
}

/// What a session has shown so far.
#[derive(Default)]
struct Seen {
    output: String,
    control: Vec<ServerMsg>,
    closed: bool,
}

/// Reads until `done(seen)` or the socket closes; panics after `limit`.
async fn read_until(
    ws: &mut WsStream,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out; output so far: {:?} {:?}",
                    seen.output, seen.control
                )
            });
        match msg {
            Some(Ok(Message::Binary(b))) => seen.output.push_str(&String::from_utf8_lossy(&b)),
            Some(Ok(Message::Text(t))) => seen.control.push(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                seen.closed = true;
                return;
            }
            _ => {}
        }
    }
}

async fn send(ws: &mut WsStream, text: &str) {
    ws.send(Message::Binary(text.as_bytes().to_vec().into()))
        .await
        .unwrap();
}

/// Opens a terminal on the checkout pod and reads until its first control message (`hello`).
async fn open_hello(ts: &TestServer, b: &Browser, grant: &str, query: &str) -> (WsStream, Seen) {
    let mut ws = open(ts, b, grant, CHECKOUT, query).await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        !s.control.is_empty()
    })
    .await;
    (ws, seen)
}

fn closed_reason(seen: &Seen) -> Option<CloseReason> {
    seen.control.iter().find_map(|m| match m {
        ServerMsg::Closed { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[tokio::test]
async fn echo_resize_exit_and_audit() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let (mut ws, mut seen) = open_hello(&ts, &alice, &g, "?cols=100&rows=30").await;
    let ServerMsg::Hello {
        session_id,
        pod,
        container,
        expires_at,
        recorded,
        dev_cluster,
    } = seen.control[0].clone()
    else {
        panic!("first message must be hello: {:?}", seen.control);
    };
    assert_eq!((pod.as_str(), container.as_str()), (CHECKOUT, "app"));
    assert!(expires_at > 0);
    // Nothing records sessions yet; the test server runs on the development stand-in cluster.
    assert!(!recorded, "no session is recorded yet");
    assert!(dev_cluster, "the stand-in cluster is named as such");

    send(&mut ws, "echo hi-$((6*7))\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        s.output.contains("hi-42")
    })
    .await;
    send(&mut ws, "stty size\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        s.output.contains("30 100")
    })
    .await;

    // Resize, then the PTY reports the new size.
    ws.send(Message::Text(
        r#"{"type":"resize","cols":120,"rows":40}"#.into(),
    ))
    .await
    .unwrap();
    // A malformed control frame is a notice, not the end of the session.
    ws.send(Message::Text("{nonsense".into())).await.unwrap();
    send(&mut ws, "stty size\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        s.output.contains("40 120")
    })
    .await;
    assert!(
        seen.control
            .iter()
            .any(|m| matches!(m, ServerMsg::Notice { .. })),
        "{:?}",
        seen.control
    );

    send(&mut ws, "exit 3\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| s.closed).await;
    assert!(
        seen.control.contains(&ServerMsg::Exit { code: 3 }),
        "{:?}",
        seen.control
    );
    assert_eq!(closed_reason(&seen), Some(CloseReason::Exited));

    // The session row is complete.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let store = keyhole::store::Store::connect(&ts.db_url).await.unwrap();
    let row = store
        .terminal_session(&session_id)
        .await
        .unwrap()
        .expect("session row");
    assert_eq!(row.end_reason.map(CloseReason::as_str), Some("exited"));
    assert_eq!(row.grant_id, g);
    assert_eq!(
        (
            row.namespace.as_str(),
            row.pod.as_str(),
            row.container.as_str()
        ),
        ("payments", "checkout-7d9f-abc12", "app")
    );
    assert!(row.bytes_in > 20 && row.bytes_out > 20, "{row:?}");
    store.close().await;

    // Kubernetes saw alice, her grant's group and the grant/session extras — not the gateway.
    let events = devstack::audit::read_events(&ts.dir.join("devstack/audit.log")).unwrap();
    let exec = events
        .iter()
        .find(|e| e.is_pod_subresource("exec") && e.response_status.code == 101)
        .expect("an exec in the audit log");
    assert_eq!(
        exec.user.username,
        "system:serviceaccount:keyhole:keyhole-gateway"
    );
    let who = exec.impersonated_user.as_ref().expect("impersonated user");
    assert_eq!(who.username, "alice@example.test");
    assert!(
        who.groups.contains(&"keyhole:payments-debug".to_owned()),
        "{who:?}"
    );
    assert!(!who.groups.iter().any(|g| g == "system:masters"));
    assert_eq!(
        who.extra.get("keyhole.dev/grant-id"),
        Some(&vec![g.clone()])
    );
    assert_eq!(
        who.extra.get("keyhole.dev/session-id"),
        Some(&vec![session_id.clone()])
    );
    assert!(who.extra.contains_key("keyhole.dev/reason"));
}

#[tokio::test]
async fn refused_before_upgrade() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let mut bob = ts.login("bob").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let cookie = alice.session_cookie();
    let path = term_path(&g, CHECKOUT, "");
    let refuse = |cookie: Option<String>, origin: Option<String>, path: String| {
        let url = ts.url.clone();
        async move {
            match ws_connect(&url, &path, cookie.as_deref(), origin.as_deref()).await {
                Ok(_) => panic!("{path} must be refused"),
                Err(refusal) => refusal,
            }
        }
    };
    let me = Some(ts.url.clone());
    // No session.
    assert_eq!(refuse(None, me.clone(), path.clone()).await.0, 401);
    // Wrong or missing Origin (cross-site WebSocket hijacking).
    let (status, body) = refuse(
        cookie.clone(),
        Some("http://evil.test".into()),
        path.clone(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("cross-origin"), "{body}");
    assert_eq!(refuse(cookie.clone(), None, path.clone()).await.0, 403);
    // Someone else's grant looks like no grant.
    assert_eq!(
        refuse(bob.session_cookie(), me.clone(), path.clone())
            .await
            .0,
        404
    );
    assert_eq!(
        refuse(cookie.clone(), me.clone(), term_path("nope", CHECKOUT, ""))
            .await
            .0,
        404
    );
    // A pod outside the profile, a pod that does not exist, an unknown container.
    let (status, body) = refuse(
        cookie.clone(),
        me.clone(),
        term_path(&g, "search/search-api-0", ""),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("outside the grant"), "{body}");
    assert_eq!(
        refuse(
            cookie.clone(),
            me.clone(),
            term_path(&g, "payments/nope-0", "")
        )
        .await
        .0,
        404
    );
    assert_eq!(
        refuse(
            cookie.clone(),
            me.clone(),
            term_path(&g, CHECKOUT, "?container=db")
        )
        .await
        .0,
        400
    );
    // A profile without exec.
    let logs_only = grant(&mut alice, "payments-logs", 600).await;
    let (status, body) = refuse(
        cookie.clone(),
        me.clone(),
        term_path(&logs_only, CHECKOUT, ""),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Revoked.
    let (status, body) = post(
        &mut bob,
        &format!("/api/grants/{g}/revoke"),
        json!({"reason": "done"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refuse(cookie.clone(), me.clone(), path.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("revoked"), "{body}");
    // Expired.
    let short = grant(&mut alice, "payments-debug", 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = refuse(cookie.clone(), me.clone(), term_path(&short, CHECKOUT, "")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired"), "{body}");
    drop(bob);
}

#[tokio::test]
async fn revoke_closes_a_live_session_within_a_second() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let mut bob = ts.login("bob").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let mut ws = open(&ts, &alice, &g, CHECKOUT, "").await;
    let mut seen = Seen::default();
    send(&mut ws, "echo ready-$((1+1))\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        s.output.contains("ready-2")
    })
    .await;
    let t0 = Instant::now();
    let (status, body) = post(
        &mut bob,
        &format!("/api/grants/{g}/revoke"),
        json!({"reason": "incident over"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    read_until(&mut ws, &mut seen, Duration::from_secs(3), |s| s.closed).await;
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    assert_eq!(closed_reason(&seen), Some(CloseReason::Revoked));
    let message = seen.control.iter().find_map(|m| match m {
        ServerMsg::Closed { message, .. } => Some(message.clone()),
        _ => None,
    });
    assert!(message.unwrap().contains("incident over"));
}

#[tokio::test]
async fn expiry_warns_then_closes() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 3).await;
    let mut ws = open(&ts, &alice, &g, CHECKOUT, "").await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, Duration::from_secs(6), |s| s.closed).await;
    assert!(
        seen.control
            .iter()
            .any(|m| matches!(m, ServerMsg::Notice { text, .. } if text.contains("expires in"))),
        "{:?}",
        seen.control
    );
    assert_eq!(closed_reason(&seen), Some(CloseReason::Expired));
}

#[tokio::test]
async fn shutdown_closes_sessions_with_a_notice() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let (mut ws, mut seen) = open_hello(&ts, &alice, &g, "").await;
    let reader = tokio::spawn(async move {
        read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| s.closed).await;
        seen
    });
    tokio::time::timeout(Duration::from_secs(10), ts.stop())
        .await
        .expect("graceful stop");
    let seen = reader.await.unwrap();
    assert_eq!(closed_reason(&seen), Some(CloseReason::ServerShutdown));
}

#[tokio::test]
async fn pods_and_logs_of_a_grant() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let (status, body) = get(&mut alice, &format!("/api/grants/{g}/pods")).await;
    assert_eq!(status, 200, "{body}");
    let pods: Vec<(String, String)> = body["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["namespace"].as_str().unwrap().to_owned(),
                p["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        pods.contains(&("payments".into(), "checkout-7d9f-abc12".into())),
        "{pods:?}"
    );
    assert!(pods.iter().all(|(ns, _)| ns == "payments"), "{pods:?}");
    let ledger = body["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ledger-0")
        .unwrap();
    assert_eq!(ledger["containers"], json!(["ledger", "sidecar"]));
    assert_eq!(ledger["phase"], "Running");

    let res = alice
        .get(&format!("/api/grants/{g}/pods/{CHECKOUT}/logs?tail=3"))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(!text.is_empty() && text.lines().count() <= 3, "{text}");

    // Someone else cannot list them.
    let mut carol = ts.login("carol").await;
    assert_eq!(
        get(&mut carol, &format!("/api/grants/{g}/pods")).await.0,
        404
    );
}

#[tokio::test]
async fn oversized_frames_end_the_session() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let (mut ws, mut seen) = open_hello(&ts, &alice, &g, "").await;
    let ServerMsg::Hello { session_id, .. } = seen.control[0].clone() else {
        panic!("hello first")
    };
    let big = vec![b'x'; keyhole_protocol::terminal::MAX_CLIENT_FRAME + 1];
    let _ = ws.send(Message::Binary(big.into())).await;
    read_until(&mut ws, &mut seen, Duration::from_secs(5), |s| s.closed).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let store = keyhole::store::Store::connect(&ts.db_url).await.unwrap();
    let row = store.terminal_session(&session_id).await.unwrap().unwrap();
    assert_eq!(
        row.end_reason.map(CloseReason::as_str),
        Some("error"),
        "{row:?}"
    );
    assert_eq!(row.bytes_in, 0);
    store.close().await;
}

/// A browser that stops reading while the pod floods output must not keep the exec alive:
/// revocation still ends the session (exec aborted, row completed) promptly.
#[tokio::test]
async fn revoke_ends_a_session_whose_browser_stopped_reading() {
    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let mut bob = ts.login("bob").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let (mut ws, seen) = open_hello(&ts, &alice, &g, "").await;
    let ServerMsg::Hello { session_id, .. } = seen.control[0].clone() else {
        panic!("hello first")
    };
    send(&mut ws, "yes keyhole-backpressure\r").await;
    // Stop reading: the socket buffers fill up and the relay stops reading the exec.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    let (status, body) = post(
        &mut bob,
        &format!("/api/grants/{g}/revoke"),
        json!({"reason": "stalled"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let store = keyhole::store::Store::connect(&ts.db_url).await.unwrap();
    let row = loop {
        let row = store.terminal_session(&session_id).await.unwrap().unwrap();
        if row.ended_at.is_some() || t0.elapsed() > Duration::from_secs(5) {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = t0.elapsed();
    assert_eq!(
        row.end_reason.map(CloseReason::as_str),
        Some("revoked"),
        "{row:?}"
    );
    assert!(took < Duration::from_secs(2), "ended after {took:?}");
    // Backpressure: 2 s of `yes` through devstack is ~100 MB when nothing holds it back (≈ 50 MB/s);
    // with it, the gateway relays only what fits in the sockets' kernel buffers (~4 MB here).
    assert!(row.bytes_out > 0);
    assert!(
        row.bytes_out < 16 << 20,
        "read {} bytes for a browser that stopped reading",
        row.bytes_out
    );
    store.close().await;
    drop(ws);
}

/// An idle session gets WebSocket pings on both sockets (so proxies with an idle timeout keep
/// it open) and stays usable: the exec's pongs do not disturb its output.
#[tokio::test]
async fn idle_sessions_get_keepalive_pings_and_stay_usable() {
    let ts = TestServer::start_with(Options {
        env: vec![("KEYHOLE_TERMINAL_KEEPALIVE_SECONDS", "1")],
        ..Default::default()
    })
    .await;
    let mut alice = ts.login("alice").await;
    let g = grant(&mut alice, "payments-debug", 1800).await;
    let mut ws = open(&ts, &alice, &g, CHECKOUT, "").await;
    let mut seen = Seen::default();
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        !s.output.is_empty()
    })
    .await;
    let (mut pings, t0) = (0, Instant::now());
    while t0.elapsed() < Duration::from_millis(3500) {
        let left = Duration::from_millis(3500).saturating_sub(t0.elapsed());
        match tokio::time::timeout(left, ws.next()).await {
            Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
            Ok(Some(Ok(_))) => {}
            Ok(other) => panic!("session ended while idle: {other:?}"),
            Err(_) => break,
        }
    }
    assert!((2..=4).contains(&pings), "{pings} pings in 3.5 s at 1 s");
    send(&mut ws, "echo still-$((40+2))\r").await;
    read_until(&mut ws, &mut seen, Duration::from_secs(10), |s| {
        s.output.contains("still-42")
    })
    .await;
    assert!(!seen.closed);
}
