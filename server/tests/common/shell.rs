//! Terminal helpers for tests that open shells: open one and wait for its prompt, wait for the
//! `closed` message.

use std::time::Duration;

use futures::StreamExt;
use keyhole_protocol::terminal::{CloseReason, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

use super::{Browser, WsStream, ws_connect};

/// Opens the terminal of `grant` on `pod` (`ns/name`) at `base` as `b` and waits for the
/// shell's first output.
pub(crate) async fn open_shell(base: &str, b: &Browser, grant: &str, pod: &str) -> WsStream {
    let path = format!("/api/grants/{grant}/pods/{pod}/terminal");
    let mut ws = ws_connect(base, &path, b.session_cookie().as_deref(), Some(base))
        .await
        .expect("terminal opens");
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(_)))) => return ws,
            Ok(Some(Ok(_))) => {}
            other => panic!("no shell: {other:?}"),
        }
    }
}

/// Reads until the `closed` control message and returns its reason and message; panics if
/// nothing arrives for `quiet` or the socket ends without one.
pub(crate) async fn wait_closed(ws: &mut WsStream, quiet: Duration) -> (CloseReason, String) {
    loop {
        let msg = tokio::time::timeout(quiet, ws.next())
            .await
            .expect("the terminal closes in time");
        match msg {
            Some(Ok(Message::Text(t))) => {
                if let Ok(ServerMsg::Closed { reason, message }) = serde_json::from_str(&t) {
                    return (reason, message);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("socket ended without `closed`: {other:?}"),
        }
    }
}

/// Types `line` and Enter.
pub(crate) async fn send_line(ws: &mut WsStream, line: &str) {
    use futures::SinkExt;
    ws.send(Message::Binary(format!("{line}\r").into_bytes().into()))
        .await
        .expect("input sent");
}

/// Reads terminal output until it contains `needle`; panics after `timeout`.
pub(crate) async fn read_output_until(ws: &mut WsStream, needle: &str, timeout: Duration) {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(_))) => {}
            other => panic!("no {needle:?} in the output {seen:?}: {other:?}"),
        }
    }
}
