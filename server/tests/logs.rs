//! JSON log lines (`--log-format json`) from a real server: the request span (route, request
//! id, signed-in user) and the terminal span (session id and the rest) are on every line they
//! cover, so one session's lines are found by its id; no cookie or token appears anywhere.
//! The subscriber is the one `keyhole serve` installs (`keyhole::logging`), writing to memory.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;
use common::access::create;
use common::shell::{read_output_until, send_line, wait_closed};
use futures::StreamExt;
use keyhole::config::LogFormat;
use keyhole_protocol::terminal::ServerMsg;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tracing_subscriber::EnvFilter;

/// Log lines captured in memory.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
    fn json(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// The fields of the span named `name` in a line's span list.
fn span<'a>(line: &'a Value, name: &str) -> Option<&'a Value> {
    line["spans"].as_array()?.iter().find(|s| s["name"] == name)
}

#[tokio::test]
async fn json_lines_carry_the_request_and_terminal_spans() {
    let lines = Lines::default();
    let writer = lines.clone();
    let filter = EnvFilter::new("info,keyhole=debug");
    tracing::subscriber::set_global_default(keyhole::logging::subscriber(
        LogFormat::Json,
        filter,
        move || writer.clone(),
    ))
    .unwrap();

    let ts = TestServer::start().await;
    let mut alice = ts.login("alice").await;
    let (status, body) = create(&mut alice, "payments-debug", 600, "INC-7 logs").await;
    assert_eq!(status, 201, "{body}");
    let grant = body["grant"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/grants/{grant}/pods/payments/checkout-7d9f-abc12/terminal");
    let cookie = alice.session_cookie().unwrap();
    let mut ws = common::ws_connect(&ts.url, &path, Some(&cookie), Some(&ts.url))
        .await
        .unwrap();
    let session_id = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if let Ok(ServerMsg::Hello { session_id, .. }) = serde_json::from_str(&t) {
                    break session_id;
                }
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no hello: {other:?}"),
        }
    };
    send_line(&mut ws, "echo logged").await;
    read_output_until(&mut ws, "logged", Duration::from_secs(10)).await;
    send_line(&mut ws, "exit").await;
    wait_closed(&mut ws, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let all = lines.json();
    let of_session: Vec<&Value> = all
        .iter()
        .filter(|l| span(l, "terminal").is_some_and(|s| s["session_id"] == session_id.as_str()))
        .collect();
    let messages: Vec<&str> = of_session
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"terminal session started")
            && messages.contains(&"terminal session ended"),
        "{messages:?}"
    );
    let ended = of_session
        .iter()
        .find(|l| l["fields"]["message"] == "terminal session ended")
        .unwrap();
    let terminal = span(ended, "terminal").unwrap();
    assert_eq!(terminal["user"], "alice@example.test");
    assert_eq!(terminal["grant_id"], grant.as_str());
    assert_eq!(terminal["profile"], "payments-debug");
    assert_eq!(terminal["namespace"], "payments");
    assert_eq!(terminal["pod"], "checkout-7d9f-abc12");
    assert_eq!(terminal["container"], "app");
    // Inside the upgrade request's span: its route template, id and signed-in user.
    let request = span(ended, "request").expect("request span");
    assert_eq!(
        request["route"],
        "/api/grants/{grant}/pods/{ns}/{pod}/terminal"
    );
    assert_eq!(request["method"], "GET");
    assert_eq!(request["user"], "devidp-alice", "{ended}");
    assert!(
        request["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    // Every request has its span; none of them logs a secret.
    assert!(
        all.iter()
            .any(|l| span(l, "request").is_some_and(|s| s["route"] == "/api/requests")),
        "no request line"
    );
    let text = lines.text();
    assert!(!text.contains(&cookie), "the session cookie was logged");
    assert!(!text.contains(&alice.csrf), "the CSRF token was logged");
}
