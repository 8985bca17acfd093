//! The access broker's live side: Server-Sent Events, expiry within a second, grant events
//! for the terminal, concurrent approvals, and webhooks.

mod common;

use std::time::{Duration, Instant};

use common::access::{Sse, create, create_ok, get, post, test_policy, webhook_receiver};
use common::{Options, TestServer, user};
use keyhole::access::{Access, GrantError, GrantEvent};
use keyhole::auth::Caller;
use keyhole::policy::{Policy, PolicyHandle};
use keyhole_protocol::access::CreateRequest;
use keyhole_protocol::api::Role;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn leads_and_requesters_hear_about_changes_within_a_second() {
    let s = TestServer::start_with(Options {
        extra_users: vec![user("eve", &["oncall-payments"])],
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut eve = s.login("eve").await;
    let mut bob_events = Sse::open(&mut bob).await;
    let mut alice_events = Sse::open(&mut alice).await;
    let mut eve_events = Sse::open(&mut eve).await;

    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    let seen = bob_events.next_of("request_created", SECOND).await;
    let seen = seen.expect("the lead hears of the new request within a second");
    assert_eq!(seen["request_id"], id.as_str());
    assert_eq!(seen["state"], "pending");
    assert_eq!(seen["profile"], "payments-debug");

    let (status, _) = post(
        &mut bob,
        &format!("/api/requests/{id}/approve"),
        json!({ "comment": "ok" }),
    )
    .await;
    assert_eq!(status, 200);
    let approved = alice_events.next_of("request_approved", SECOND).await;
    let approved = approved.expect("the requester hears of the approval within a second");
    assert_eq!(approved["request_id"], id.as_str());
    assert!(approved["grant_id"].is_string());

    // Eve hears nothing of Alice's request: her first event is her own.
    let own = create_ok(&mut eve, "payments-debug", 7200).await;
    let (name, first) = eve_events.next(SECOND).await.unwrap();
    assert_eq!(
        (name.as_str(), first["request_id"].as_str()),
        ("request_created", Some(own.as_str()))
    );
}

#[tokio::test]
async fn grants_and_pending_requests_expire_within_a_second() {
    let s = TestServer::start_with(Options {
        policy: Some(test_policy("")),
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut events = Sse::open(&mut alice).await;
    let (status, req) = create(&mut alice, "quick", 2, "short").await;
    assert_eq!(
        (status, req["state"].as_str()),
        (201, Some("approved")),
        "{req}"
    );
    let expires_at = req["grant"]["expires_at"].as_i64().unwrap();
    let pending = create_ok(&mut alice, "quick", 600).await;

    // Both are due at about the same time; they may arrive in either order.
    let (mut ended, mut gone) = (None, None);
    while ended.is_none() || gone.is_none() {
        let (name, data) = events.next(4 * SECOND).await.expect("expiry events");
        match name.as_str() {
            "grant_expired" => {
                let late = keyhole::store::now_unix() - expires_at;
                assert!(late <= 1, "expired {late}s after its end");
                ended = Some(data);
            }
            "request_expired" => gone = Some(data),
            _ => {}
        }
    }
    assert_eq!(ended.unwrap()["request_id"], req["id"]);
    assert_eq!(gone.unwrap()["request_id"], pending.as_str());
    let (_, mine) = get(&mut alice, "/api/grants").await;
    assert_eq!(mine["items"][0]["state"], "expired");
    let (status, err) = post(
        &mut bob,
        &format!("/api/requests/{pending}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert!(err["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn two_leads_at_once_make_one_grant() {
    let s = TestServer::start_with(Options {
        extra_users: vec![user("lena", &["leads-payments"])],
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut lena = s.login("lena").await;
    for round in 0..5 {
        let id = create_ok(&mut alice, "payments-debug", 7200).await;
        let path = format!("/api/requests/{id}/approve");
        let (a, b) = tokio::join!(
            bob.post(&path, json!({ "comment": "bob" })),
            lena.post(&path, json!({ "comment": "lena" }))
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}");
    }
    let (_, grants) = get(&mut alice, "/api/grants").await;
    assert_eq!(
        grants["items"].as_array().unwrap().len(),
        5,
        "one grant per request"
    );
    let (_, reqs) = get(&mut alice, "/api/requests").await;
    for r in reqs["items"].as_array().unwrap() {
        assert_eq!(
            r["reviews"].as_array().unwrap().len(),
            1,
            "the loser left no review"
        );
    }
}

#[tokio::test]
async fn webhooks_are_sent_retried_and_never_block() {
    let (hooks, mut received) = webhook_receiver().await;
    let notifications = format!(
        "notifications:\n  webhooks:\n    - url: {hooks}/generic\n      events: [request_created, request_approved]\n    - url: {hooks}/slack\n      format: slack\n      events: [request_created]\n    - url: {hooks}/flaky\n      events: [request_created]\n"
    );
    let s = TestServer::start_with(Options {
        policy: Some(test_policy(&notifications)),
        ..Default::default()
    })
    .await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    post(
        &mut bob,
        &format!("/api/requests/{id}/approve"),
        json!({ "comment": "go" }),
    )
    .await;

    let mut got = Vec::new();
    // generic ×2, slack ×1, flaky ×2 (500, then a retry that succeeds).
    while got.len() < 5 {
        let next = tokio::time::timeout(5 * SECOND, received.recv()).await;
        got.push(next.expect("webhook within 5 s").unwrap());
    }
    let link = format!("{}/requests/{id}", s.url);
    let generic: Vec<_> = got.iter().filter(|(n, _)| n == "generic").collect();
    assert_eq!(generic[0].1["event"], "request_created");
    assert_eq!(generic[0].1["request"]["reason"], "INC-4211 checkout 500s");
    assert_eq!(generic[0].1["link"], link.as_str());
    assert_eq!(generic[1].1["event"], "request_approved");
    assert_eq!(generic[1].1["comment"], "go");
    let slack = &got.iter().find(|(n, _)| n == "slack").unwrap().1;
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("payments-debug") && text.contains(&link),
        "{text}"
    );
    assert_eq!(got.iter().filter(|(n, _)| n == "flaky").count(), 2);
}

fn caller(name: &str, groups: &[&str], roles: &[Role]) -> Caller {
    Caller {
        subject: format!("sub-{name}"),
        email: Some(format!("{name}@example.test")),
        name: None,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        roles: roles.to_vec(),
        kube_user: format!("{name}@example.test"),
        web_session: None,
    }
}

/// The terminal's view, without HTTP: `active_grant` and `grant_events`.
#[tokio::test]
async fn the_terminal_handle_sees_grants_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = keyhole::store::Store::connect(&format!("sqlite://{}/k.db", dir.path().display()))
        .await
        .unwrap();
    let policy = Policy::from_str(&test_policy(""), "test.yaml").unwrap();
    let stop = CancellationToken::new();
    let url = url::Url::parse("http://127.0.0.1:1/").unwrap();
    let access = Access::start(store, PolicyHandle::new(policy), url, stop.clone());
    let alice = caller("alice", &["oncall-payments"], &[Role::Engineer]);
    let bob = caller("bob", &["leads-payments"], &[Role::Lead]);
    let mut events = access.grant_events();
    let ask = |profile: &str, secs| CreateRequest {
        profile: profile.into(),
        reason: "INC-1".into(),
        duration_seconds: secs,
        pod: None,
    };

    let req = access
        .create_request(&alice, &ask("payments-debug", 600))
        .await
        .unwrap();
    let grant_id = req.grant.unwrap().id;
    let g = access.active_grant(&grant_id, "sub-alice").await.unwrap();
    assert_eq!(g.kube_user, "alice@example.test");
    assert_eq!(g.kubernetes_groups, ["keyhole:payments-debug"]);
    assert_eq!(g.namespaces, ["payments"]);
    assert!(g.interactive);
    assert_eq!(g.expires_at - g.starts_at, 600);
    assert!(matches!(
        access.active_grant(&grant_id, "sub-bob").await,
        Err(GrantError::NotFound)
    ));

    access.revoke(&bob, &grant_id, "over").await.unwrap();
    let ev = tokio::time::timeout(SECOND, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        GrantEvent::Revoked {
            grant_id: grant_id.clone(),
            reason: "over".into(),
            by: "sub-bob".into()
        }
    );
    assert!(matches!(
        access.active_grant(&grant_id, "sub-alice").await,
        Err(GrantError::Revoked { reason }) if reason == "over"
    ));

    let short = access
        .create_request(&alice, &ask("quick", 1))
        .await
        .unwrap();
    let short_id = short.grant.unwrap().id;
    let started = Instant::now();
    let ev = tokio::time::timeout(3 * SECOND, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ev,
        GrantEvent::Expired {
            grant_id: short_id.clone()
        }
    );
    assert!(started.elapsed() <= 2 * SECOND + Duration::from_millis(300));
    assert!(matches!(
        access.active_grant(&short_id, "sub-alice").await,
        Err(GrantError::Expired)
    ));
    stop.cancel();
}
