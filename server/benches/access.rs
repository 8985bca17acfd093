//! Approval → grant visible to the requester: `cargo bench -p keyhole --bench access`.
//!
//! End to end over real HTTP, as the browser sees it: a real server (`keyhole::run` on port 0,
//! SQLite, the dev IdP) with Alice and Bob signed in through the real OIDC flow, and Alice's
//! `GET /api/events` stream open. Each sample: Alice creates a request that needs a lead
//! (`POST /api/requests`, 2h > the 30 min auto-approve limit), then we time
//!
//! - **live request**: her POST sent → `request_created` on Bob's event stream;
//! - **approval → grant visible**: Bob's `POST /api/requests/{id}/approve` sent →
//!   `request_approved` (with the grant id) on Alice's stream. Target ≤ 1 s.
//!
//! The browser then fetches the request (one more GET); that is measured too
//! (**+ refetch**). Prints p50/p99/max over the samples.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use common::access::{Sse, create_ok};
use serde_json::json;

const SAMPLES: usize = 200;

fn report(name: &str, mut xs: Vec<Duration>) {
    xs.sort_unstable();
    let at = |q: f64| xs[((xs.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name:<36} p50 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}  (n = {})",
        at(0.50),
        at(0.99),
        xs[xs.len() - 1],
        xs.len()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = TestServer::start().await;
        let mut alice = s.login("alice").await;
        let mut bob = s.login("bob").await;
        let mut alice_events = Sse::open(&mut alice).await;
        let mut bob_events = Sse::open(&mut bob).await;
        let (mut live, mut approval, mut refetch) = (vec![], vec![], vec![]);
        for i in 0..SAMPLES + 10 {
            let t = Instant::now();
            let id = create_ok(&mut alice, "payments-debug", 7200).await;
            bob_events
                .next_of("request_created", Duration::from_secs(5))
                .await
                .expect("request_created");
            let created = t.elapsed();
            let path = format!("/api/requests/{id}/approve");
            let t = Instant::now();
            let res = bob.post(&path, json!({ "comment": "ok" })).await;
            assert_eq!(res.status(), 200);
            let ev = alice_events
                .next_of("request_approved", Duration::from_secs(5))
                .await
                .expect("request_approved");
            let seen = t.elapsed();
            assert_eq!(ev["request_id"], id.as_str());
            let req: serde_json::Value = alice
                .get(&format!("/api/requests/{id}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(req["grant"]["state"], "active");
            // The first few samples warm up connections and caches.
            if i >= 10 {
                live.push(created);
                approval.push(seen);
                refetch.push(t.elapsed());
            }
        }
        println!("access: {SAMPLES} samples, SQLite, one server, two signed-in users");
        report("new request → lead's stream", live);
        report("approval → grant event (requester)", approval);
        report("approval → event + refetch", refetch);
        s.stop().await;
    });
}
