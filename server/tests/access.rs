//! The access broker over real HTTP: requests, reviews, grants, bad input, visibility.
//! Live behaviour (events, expiry, concurrency, webhooks) is in `access_live.rs`.

mod common;

use common::access::{create, create_ok, get, post, test_policy};
use common::{Options, TestServer, user};
use serde_json::json;

async fn server_with(users: &[(&str, &[&str])], policy: Option<String>) -> TestServer {
    TestServer::start_with(Options {
        extra_users: users.iter().map(|(n, g)| user(n, g)).collect(),
        policy,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn on_call_gets_a_short_grant_at_once() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let (status, profiles) = get(&mut alice, "/api/profiles").await;
    assert_eq!(status, 200);
    let debug = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "payments-debug")
        .unwrap();
    assert_eq!(debug["max_duration_seconds"], 7200);
    assert_eq!(debug["auto_approve_up_to_seconds"], 1800);

    let (status, req) = create(&mut alice, "payments-debug", 1800, "INC-4211 checkout 500s").await;
    assert_eq!(status, 201, "{req}");
    assert_eq!(req["state"], "approved");
    assert_eq!(req["decided_by"], "policy");
    let grant = &req["grant"];
    assert_eq!(grant["state"], "active");
    assert_eq!(
        grant["kubernetes_groups"],
        json!(["keyhole:payments-debug"])
    );
    assert_eq!(grant["kube_user"], "alice@example.test");
    assert_eq!(
        grant["expires_at"].as_i64().unwrap() - grant["starts_at"].as_i64().unwrap(),
        1800
    );
    let (_, mine) = get(&mut alice, "/api/grants?scope=mine").await;
    assert_eq!(mine["items"][0]["id"], grant["id"]);

    // Audit rows: who, what, when, why.
    let store = keyhole::store::Store::connect(&s.db_url).await.unwrap();
    let events = store.access_events(req["id"].as_str(), 10).await.unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["request_created", "request_approved"]);
    assert_eq!(events[0].actor, "devidp-alice");
    assert_eq!(events[0].reason.as_deref(), Some("INC-4211 checkout 500s"));
    assert_eq!(events[1].actor, "policy");
}

#[tokio::test]
async fn a_lead_approves_a_long_request_once() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    let (_, req) = get(&mut alice, &format!("/api/requests/{id}")).await;
    assert_eq!(req["state"], "pending");
    assert_eq!(req["can_cancel"], true);
    assert_eq!(req["can_review"], false);

    let (status, queue) = get(&mut bob, "/api/requests?scope=pending").await;
    assert_eq!(status, 200);
    assert_eq!(queue["items"][0]["id"], id.as_str());
    assert_eq!(queue["items"][0]["can_review"], true);
    assert!(queue["next_cursor"].is_null());

    // Alice is no approver of her own request.
    let (status, err) = post(
        &mut alice,
        &format!("/api/requests/{id}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "{err}");

    let (status, req) = post(
        &mut bob,
        &format!("/api/requests/{id}/approve"),
        json!({ "comment": "go ahead" }),
    )
    .await;
    assert_eq!(status, 200, "{req}");
    assert_eq!(req["state"], "approved");
    assert_eq!(req["reviews"][0]["comment"], "go ahead");
    assert_eq!(req["reviews"][0]["reviewer"]["subject"], "devidp-bob");
    let grant = &req["grant"];
    assert_eq!(grant["state"], "active");
    assert_eq!(grant["can_revoke"], true);
    assert_eq!(
        grant["expires_at"].as_i64().unwrap() - grant["starts_at"].as_i64().unwrap(),
        7200
    );

    // The decision is final.
    for action in ["approve", "deny", "cancel"] {
        let who = if action == "cancel" {
            &mut alice
        } else {
            &mut bob
        };
        let (status, err) = post(
            who,
            &format!("/api/requests/{id}/{action}"),
            json!({ "comment": "again" }),
        )
        .await;
        assert_eq!(status, 409, "{action}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains("approved"),
            "{err}"
        );
    }
    let (_, req) = get(&mut alice, &format!("/api/requests/{id}")).await;
    assert_eq!(req["grant"]["id"], grant["id"]);
}

#[tokio::test]
async fn deny_needs_a_comment_and_is_final() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    let path = format!("/api/requests/{id}/deny");
    let (status, err) = post(&mut bob, &path, json!({ "comment": "  " })).await;
    assert_eq!((status, err["error"].as_str()), (422, Some("invalid")));
    let (status, req) = post(&mut bob, &path, json!({ "comment": "use payments-logs" })).await;
    assert_eq!(status, 200);
    assert_eq!(req["state"], "denied");
    let (_, seen) = get(&mut alice, &format!("/api/requests/{id}")).await;
    assert_eq!(seen["state"], "denied");
    assert_eq!(seen["reviews"][0]["verdict"], "deny");
    assert_eq!(seen["reviews"][0]["comment"], "use payments-logs");
    assert!(seen["grant"].is_null());
    let (status, _) = post(&mut bob, &format!("/api/requests/{id}/approve"), json!({})).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn the_requester_cancels_and_then_nothing_moves() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    let cancel = format!("/api/requests/{id}/cancel");
    let (status, _) = post(&mut bob, &cancel, json!({})).await;
    assert_eq!(status, 403, "only the requester cancels");
    let (status, req) = post(&mut alice, &cancel, json!({})).await;
    assert_eq!((status, req["state"].as_str()), (200, Some("cancelled")));
    let (status, err) = post(&mut alice, &cancel, json!({})).await;
    assert_eq!(status, 409, "{err}");
    let (status, err) = post(&mut bob, &format!("/api/requests/{id}/approve"), json!({})).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["message"].as_str().unwrap().contains("cancelled"));
    let (_, queue) = get(&mut bob, "/api/requests?scope=pending").await;
    assert_eq!(queue["items"], json!([]));
}

#[tokio::test]
async fn two_distinct_approvers_are_needed_for_two_man_profiles() {
    let s = server_with(&[("lena", &["leads-payments"])], Some(test_policy(""))).await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut lena = s.login("lena").await;
    let id = create_ok(&mut alice, "two-man", 600).await;
    let approve = format!("/api/requests/{id}/approve");
    let (status, req) = post(&mut bob, &approve, json!({ "comment": "one" })).await;
    assert_eq!(status, 200);
    assert_eq!(req["state"], "pending");
    assert_eq!(req["required_approvals"], 2);
    assert_eq!(req["can_review"], false, "bob already reviewed");
    let (status, err) = post(&mut bob, &approve, json!({ "comment": "again" })).await;
    assert_eq!(status, 409, "the same approver twice does not count: {err}");
    let (status, req) = post(&mut lena, &approve, json!({ "comment": "two" })).await;
    assert_eq!(status, 200);
    assert_eq!(req["state"], "approved");
    assert_eq!(req["reviews"].as_array().unwrap().len(), 2);
    assert_eq!(req["grant"]["state"], "active");
}

#[tokio::test]
async fn nobody_approves_their_own_request() {
    // dave is on call AND a lead: he may request and approve payments-debug, but never both.
    let s = server_with(&[("dave", &["oncall-payments", "leads-payments"])], None).await;
    let mut dave = s.login("dave").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut dave, "payments-debug", 7200).await;
    let (_, req) = get(&mut dave, &format!("/api/requests/{id}")).await;
    assert_eq!(req["can_review"], false);
    for action in ["approve", "deny"] {
        let (status, err) = post(
            &mut dave,
            &format!("/api/requests/{id}/{action}"),
            json!({ "comment": "lgtm" }),
        )
        .await;
        assert_eq!(status, 403, "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("own request"),
            "{err}"
        );
    }
    let (_, req) = get(&mut dave, &format!("/api/requests/{id}")).await;
    assert_eq!(req["state"], "pending");
    assert_eq!(req["reviews"], json!([]));
    let (status, req) = post(&mut bob, &format!("/api/requests/{id}/approve"), json!({})).await;
    assert_eq!((status, req["state"].as_str()), (200, Some("approved")));
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let mut carol = s.login("carol").await;
    let long = "x".repeat(1001);
    let cases: &[(&str, i64, &str, u16, &str)] = &[
        ("no-such-profile", 600, "why", 404, "no profile named"),
        ("payments-debug", 7201, "why", 422, "maximum of 2h"),
        ("payments-debug", 0, "why", 422, "longer than zero"),
        ("payments-debug", -5, "why", 422, "longer than zero"),
        ("payments-debug", 600, "", 422, "reason is required"),
        ("payments-debug", 600, "   ", 422, "reason is required"),
        ("payments-debug", 600, &long, 422, "longer than 1000"),
    ];
    for (profile, secs, reason, status, text) in cases {
        let (got, err) = create(&mut alice, profile, *secs, reason).await;
        assert_eq!(got, *status, "{profile} {secs}: {err}");
        assert!(err["message"].as_str().unwrap().contains(text), "{err}");
    }
    // Carol may request nothing: the profile is "not found" to her, not "forbidden".
    let (got, _) = create(&mut carol, "payments-debug", 600, "audit").await;
    assert_eq!(got, 404);
    let (got, err) = post(
        &mut alice,
        "/api/requests",
        json!({ "profile": "payments-debug" }),
    )
    .await;
    assert_eq!((got, err["error"].as_str()), (400, Some("bad_request")));
    let (got, _) = post(
        &mut alice,
        "/api/requests",
        json!({ "profile": "payments-debug", "reason": "r", "duration_seconds": 60,
                "pod": { "namespace": "search", "name": "x" } }),
    )
    .await;
    assert_eq!(got, 422, "pod outside the profile's namespaces");
    let (_, mine) = get(&mut alice, "/api/requests").await;
    assert_eq!(mine["items"], json!([]), "nothing was created");
    // Exactly 1000 characters is fine.
    let (got, _) = create(&mut alice, "payments-debug", 600, &"y".repeat(1000)).await;
    assert_eq!(got, 201);
}

#[tokio::test]
async fn other_peoples_ids_do_not_exist() {
    let s = server_with(&[("eve", &["oncall-payments"])], None).await;
    let mut alice = s.login("alice").await;
    let mut eve = s.login("eve").await;
    let pending = create_ok(&mut alice, "payments-debug", 7200).await;
    let auto = create_ok(&mut alice, "payments-debug", 600).await;
    let (_, req) = get(&mut alice, &format!("/api/requests/{auto}")).await;
    let grant = req["grant"]["id"].as_str().unwrap().to_owned();
    let unknown = "00000000-0000-4000-8000-000000000000";
    for id in [pending.as_str(), unknown] {
        let (status, _) = get(&mut eve, &format!("/api/requests/{id}")).await;
        assert_eq!(status, 404);
        for action in ["approve", "deny", "cancel"] {
            let (status, err) = post(
                &mut eve,
                &format!("/api/requests/{id}/{action}"),
                json!({ "comment": "x" }),
            )
            .await;
            assert_eq!(status, 404, "{action} {id}: {err}");
            assert_eq!(err["message"], "there is no such request");
        }
    }
    let (status, _) = post(
        &mut eve,
        &format!("/api/grants/{grant}/revoke"),
        json!({ "reason": "x" }),
    )
    .await;
    assert_eq!(status, 404);
    let (_, listed) = get(&mut eve, "/api/requests").await;
    assert_eq!(listed["items"], json!([]));
    let (_, req) = get(&mut alice, &format!("/api/requests/{pending}")).await;
    assert_eq!(req["state"], "pending", "nothing changed");
}

#[tokio::test]
async fn approvers_revoke_with_a_reason() {
    let s = TestServer::start().await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let id = create_ok(&mut alice, "payments-debug", 600).await;
    let (_, req) = get(&mut alice, &format!("/api/requests/{id}")).await;
    let grant = req["grant"]["id"].as_str().unwrap().to_owned();
    let revoke = format!("/api/grants/{grant}/revoke");
    let (status, _) = post(&mut alice, &revoke, json!({ "reason": "done" })).await;
    assert_eq!(status, 403, "holders are not approvers");
    let (status, _) = post(&mut bob, &revoke, json!({ "reason": "" })).await;
    assert_eq!(status, 422);
    let (_, active) = get(&mut bob, "/api/grants?scope=active").await;
    assert_eq!(active["items"][0]["id"], grant.as_str());
    let (status, g) = post(&mut bob, &revoke, json!({ "reason": "incident over" })).await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["state"], "revoked");
    assert_eq!(g["revoke_reason"], "incident over");
    assert_eq!(g["revoked_by"], "devidp-bob");
    let (status, _) = post(&mut bob, &revoke, json!({ "reason": "again" })).await;
    assert_eq!(status, 409);
    let (_, mine) = get(&mut alice, "/api/grants").await;
    assert_eq!(mine["items"][0]["state"], "revoked");
    let (_, active) = get(&mut bob, "/api/grants?scope=active").await;
    assert_eq!(active["items"], json!([]));
}

#[tokio::test]
async fn admins_read_the_effective_policy() {
    let s = server_with(&[("ada", &["platform-admins"])], Some(test_policy(""))).await;
    let mut ada = s.login("ada").await;
    let mut bob = s.login("bob").await;
    let (status, view) = get(&mut ada, "/api/policy").await;
    assert_eq!(status, 200);
    assert!(view["source"].as_str().unwrap().contains("name: two-man"));
    assert_eq!(view["profiles"], 3);
    assert_eq!(view["reload_ok"], true);
    assert!(view["origin"].as_str().unwrap().ends_with("policy.yaml"));
    let (status, _) = get(&mut bob, "/api/policy").await;
    assert_eq!(status, 403);
    let (status, doc) = get(&mut bob, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
}

/// Every page of `path` (which has a query string) with `limit` rows per page: all rows, in
/// order, after checking each page's size and that only the last one lacks a `next_cursor`.
async fn all_pages(b: &mut common::Browser, path: &str, limit: usize) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let (status, page) = get(b, &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        let items = page["items"].as_array().expect("items").clone();
        assert!(items.len() <= limit, "{url}: {} rows", items.len());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_some() {
            assert_eq!(items.len(), limit, "only the last page is short");
        }
        rows.extend(items);
        if cursor.is_none() {
            return rows;
        }
    }
    panic!("{path}: paging never ended");
}

/// Ids, checked to be distinct.
fn distinct_ids(rows: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    let ids: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), rows.len(), "a row came twice");
    ids
}

#[tokio::test]
async fn lists_filter_before_paging_and_page_every_row_exactly_once() {
    // Two search profiles that bob (a payments lead) does not approve; zed requests them.
    let search = "  - name: search-debug
    namespaces: [search]
    capabilities: [exec]
    kubernetes_groups: [\"keyhole:search-debug\"]
    max_duration: 1h
    request: { groups: [oncall-search] }
    approval: { groups: [leads-search] }
  - name: search-logs
    namespaces: [search]
    capabilities: [logs]
    kubernetes_groups: [\"keyhole:search-logs\"]
    max_duration: 1h
    request: { groups: [oncall-search] }
    approval: { groups: [leads-search] }
    auto_approve:
      - { groups: [oncall-search] }
";
    let s = server_with(&[("zed", &["oncall-search"])], Some(test_policy(search))).await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut carol = s.login("carol").await;
    let mut zed = s.login("zed").await;

    // Bob's rows first (the oldest): three pending requests and two grants of payments-debug.
    let mut mine_pending = std::collections::BTreeSet::new();
    for _ in 0..3 {
        mine_pending.insert(create_ok(&mut alice, "payments-debug", 7200).await);
    }
    let mut mine_grants = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let id = create_ok(&mut alice, "payments-debug", 600).await;
        let (_, req) = get(&mut alice, &format!("/api/requests/{id}")).await;
        mine_grants.insert(req["grant"]["id"].as_str().unwrap().to_owned());
    }
    // Then more rows than the old fixed limits (500 requests and grants, 200 sessions) that
    // bob may not see, all newer, many within the same second.
    const HIDDEN: usize = 560;
    let mut hidden_grants = Vec::new();
    for _ in 0..HIDDEN {
        create_ok(&mut zed, "search-debug", 600).await;
        let (status, req) = create(&mut zed, "search-logs", 600, "rotate logs").await;
        assert_eq!(status, 201, "{req}");
        hidden_grants.push(req["grant"]["id"].as_str().unwrap().to_owned());
    }
    // Terminal sessions: one under alice's grant, then 210 under zed's.
    let store = keyhole::store::Store::connect(&s.db_url).await.unwrap();
    let alice_grant = mine_grants.iter().next().unwrap().clone();
    let mut rows = vec![("z-alice".to_owned(), "devidp-alice", alice_grant)];
    for (i, grant) in hidden_grants.iter().take(210).enumerate() {
        rows.push((format!("a-{i:04}"), "devidp-zed", grant.clone()));
    }
    for (id, subject, grant) in &rows {
        store
            .insert_terminal_session(&keyhole::store::NewTerminalSession {
                id,
                subject,
                kube_user: "someone@example.test",
                grant_id: grant,
                namespace: "payments",
                pod: "checkout-7d9f-abc12",
                container: "app",
            })
            .await
            .unwrap();
    }
    store.close().await;

    // Bob sees exactly his profile's rows, however many newer rows he may not see.
    let pending = all_pages(&mut bob, "/api/requests?scope=pending", 2).await;
    assert_eq!(distinct_ids(&pending), mine_pending);
    let active = all_pages(&mut bob, "/api/grants?scope=active", 100).await;
    assert_eq!(distinct_ids(&active), mine_grants);
    let (_, first) = get(&mut bob, "/api/requests?scope=pending").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3, "{first}");
    let sessions = all_pages(&mut bob, "/api/terminal-sessions?scope=all", 100).await;
    assert_eq!(distinct_ids(&sessions), ["z-alice".to_owned()].into());

    // The auditor sees everything; paging returns every row once, newest first.
    let requests = all_pages(&mut carol, "/api/requests?scope=all", 97).await;
    assert_eq!(distinct_ids(&requests).len(), 5 + 2 * HIDDEN);
    let times: Vec<i64> = requests
        .iter()
        .map(|r| r["created_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let grants = all_pages(&mut carol, "/api/grants?scope=active", 500).await;
    assert_eq!(distinct_ids(&grants).len(), 2 + HIDDEN);
    let sessions = all_pages(&mut carol, "/api/terminal-sessions?scope=all", 7).await;
    assert_eq!(distinct_ids(&sessions).len(), 211);
    let mine = all_pages(&mut zed, "/api/requests?scope=mine", 500).await;
    assert_eq!(distinct_ids(&mine).len(), 2 * HIDDEN);
    let (_, default) = get(&mut zed, "/api/requests").await;
    assert_eq!(
        default["items"].as_array().unwrap().len(),
        100,
        "default limit"
    );
    let (_, most) = get(&mut zed, "/api/grants?limit=500").await;
    assert_eq!(
        most["items"].as_array().unwrap().len(),
        500,
        "maximum limit"
    );

    // Bad paging input is a 400 that says what is wrong.
    let (_, page) = get(&mut zed, "/api/requests?scope=mine&limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    for (path, text) in [
        (
            "/api/requests?cursor=not-a-cursor".to_owned(),
            "invalid cursor",
        ),
        ("/api/grants?cursor=%21%21".to_owned(), "invalid cursor"),
        (
            "/api/terminal-sessions?cursor=bm9wZQ".to_owned(),
            "invalid cursor",
        ),
        (format!("/api/grants?cursor={cursor}"), "another list"),
        (
            format!("/api/requests?scope=all&cursor={cursor}"),
            "another list",
        ),
        ("/api/requests?limit=0".to_owned(), "from 1 to 500"),
        ("/api/grants?limit=501".to_owned(), "from 1 to 500"),
        (
            "/api/terminal-sessions?limit=lots".to_owned(),
            "from 1 to 500",
        ),
    ] {
        let (status, err) = get(&mut carol, &path).await;
        assert_eq!(status, 400, "{path}: {err}");
        assert_eq!(err["error"], "bad_request", "{path}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(text),
            "{path}: {err}"
        );
    }
}

/// A reviewer's context: one requester's requests and terminal sessions, limited to what the
/// reviewer may see; and what the profile grants, on the request itself.
#[tokio::test]
async fn reviewers_see_the_requesters_history_and_what_the_profile_grants() {
    let s = server_with(&[("dave", &["engineering"])], None).await;
    let mut alice = s.login("alice").await;
    let mut bob = s.login("bob").await;
    let mut carol = s.login("carol").await;
    let id = create_ok(&mut alice, "payments-debug", 7200).await;
    create_ok(&mut alice, "payments-debug", 600).await;

    let (_, req) = get(&mut bob, &format!("/api/requests/{id}")).await;
    let facts = &req["profile_facts"];
    assert_eq!(facts["namespaces"], json!(["payments"]));
    assert_eq!(
        facts["kubernetes_groups"],
        json!(["keyhole:payments-debug"])
    );
    assert_eq!(facts["max_duration_seconds"], 7200);
    assert!(
        facts["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("exec"))
    );

    let q = "/api/requests?scope=visible&requester=devidp-alice&limit=5";
    for who in [&mut bob, &mut carol] {
        let (status, page) = get(who, q).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{page}");
        assert!(
            items
                .iter()
                .all(|r| r["requester"]["subject"] == "devidp-alice")
        );
    }
    // Bob's own requests are not alice's.
    let (_, page) = get(&mut bob, "/api/requests?scope=visible&requester=devidp-bob").await;
    assert_eq!(page["items"], json!([]));
    // An engineer sees only their own, whoever they ask about.
    let mut dave = s.login("dave").await;
    let (status, page) = get(&mut dave, q).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"], json!([]));

    let (status, page) = get(
        &mut bob,
        "/api/terminal-sessions?scope=all&user=devidp-alice&limit=5",
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page["items"].is_array());
}
