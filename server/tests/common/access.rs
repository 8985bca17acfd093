//! Helpers for the access tests: requests, JSON, a Server-Sent Events reader, a webhook
//! receiver, and a policy with short durations.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Browser;

/// Creates a request; returns (status, body).
pub(crate) async fn create(
    b: &mut Browser,
    profile: &str,
    secs: i64,
    reason: &str,
) -> (u16, Value) {
    let res = b
        .post(
            "/api/requests",
            json!({ "profile": profile, "reason": reason, "duration_seconds": secs }),
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Creates a request that must succeed; returns its id.
pub(crate) async fn create_ok(b: &mut Browser, profile: &str, secs: i64) -> String {
    let (status, body) = create(b, profile, secs, "INC-4211 checkout 500s").await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// POSTs and returns (status, body).
pub(crate) async fn post(b: &mut Browser, path: &str, body: Value) -> (u16, Value) {
    let res = b.post(path, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// GETs and returns (status, body).
pub(crate) async fn get(b: &mut Browser, path: &str) -> (u16, Value) {
    let res = b.get(path).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A Server-Sent Events stream being read.
pub(crate) struct Sse {
    res: reqwest::Response,
    buf: String,
}

impl Sse {
    /// Opens `/api/events` and waits for its `ready` event.
    pub(crate) async fn open(b: &mut Browser) -> Sse {
        let res = b.get("/api/events").await;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut sse = Sse {
            res,
            buf: String::new(),
        };
        let (event, _) = sse.next(Duration::from_secs(5)).await.expect("ready event");
        assert_eq!(event, "ready");
        sse
    }

    /// The next event `(name, data)` within `timeout`, skipping keep-alive comments.
    pub(crate) async fn next(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() && name == "message" {
                    continue; // a keep-alive comment
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk())
                .await
                .ok()?;
            let bytes = chunk.ok()??;
            self.buf.push_str(&String::from_utf8_lossy(&bytes));
        }
    }

    /// Whether the server ends the stream within `timeout` (events meanwhile are skipped).
    pub(crate) async fn ends_within(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.res.chunk()).await {
                Err(_) => return false,
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None) | Err(_)) => return true,
            }
        }
    }

    /// The next event of kind `name` (others are skipped) within `timeout`.
    pub(crate) async fn next_of(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (n, data) = self.next(left).await?;
            if n == name {
                return Some(data);
            }
        }
    }
}

/// A webhook receiver on 127.0.0.1:0: every POST body arrives on the channel as
/// `(path, body)`. `/flaky` answers 500 to its first call and 200 afterwards.
pub(crate) async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<(String, Value)>) {
    use axum::extract::{Json, Path};
    use axum::http::StatusCode;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, rx) = mpsc::unbounded_channel();
    let flaky = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/{name}",
        axum::routing::post(move |Path(name): Path<String>, Json(body): Json<Value>| {
            let tx = tx.clone();
            let flaky = flaky.clone();
            async move {
                let _ = tx.send((name.clone(), body));
                if name == "flaky" && flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

/// A test policy: the demo's `payments-debug`, plus `quick` (auto-approves on-call for up to
/// 2s, pending requests expire after 2s) and `two-man` (two distinct approvals). `extra` is
/// appended (e.g. a `notifications:` section).
pub(crate) fn test_policy(extra: &str) -> String {
    format!(
        r#"version: 1
roles:
  leads: [leads-payments]
  auditors: [auditors]
  admins: [platform-admins]
profiles:
  - name: payments-debug
    namespaces: [payments]
    capabilities: [exec, logs]
    kubernetes_groups: ["keyhole:payments-debug"]
    max_duration: 2h
    request: {{ groups: [oncall-payments, leads-payments] }}
    approval: {{ groups: [leads-payments], required: 1, pending_timeout: 1h }}
    auto_approve:
      - {{ groups: [oncall-payments], max_duration: 30m }}
  - name: quick
    namespaces: [payments]
    capabilities: [exec]
    kubernetes_groups: ["keyhole:quick"]
    max_duration: 1h
    request: {{ groups: [oncall-payments] }}
    approval: {{ groups: [leads-payments], pending_timeout: 2s }}
    auto_approve:
      - {{ groups: [oncall-payments], max_duration: 2s }}
  - name: two-man
    namespaces: [payments]
    capabilities: [exec]
    kubernetes_groups: ["keyhole:two-man"]
    max_duration: 1h
    request: {{ groups: [oncall-payments] }}
    approval: {{ groups: [leads-payments], required: 2 }}
{extra}"#
    )
}
