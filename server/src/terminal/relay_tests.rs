//! The relay alone: no sockets, no devstack, Tokio's clock paused. A fake browser (channels),
//! a fake exec (a pipe for output, a stdin that accepts only what the test allows) and a real
//! lease registry.

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use keyhole_protocol::terminal::{CloseReason, ServerMsg};
use tokio::io::{AsyncWriteExt, BufReader, DuplexStream};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::access::lease::Leases;
use crate::access::{LeaseConfig, LeaseEnd, LeaseSpec};
use crate::terminal::hooks::{AllowAll, NoRecorder};

/// A stdin that takes `room` items, then never becomes ready.
struct Stdin {
    room: usize,
}

impl ExecInput for Stdin {
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.room > 0 {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
    fn start_send(&mut self, _item: ToPod) -> io::Result<()> {
        self.room -= 1;
        Ok(())
    }
    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Rig {
    leases: Arc<Leases>,
    to_relay: mpsc::UnboundedSender<Inbound>,
    from_relay: mpsc::UnboundedReceiver<Outbound>,
    pod_out: DuplexStream,
    relay: tokio::task::JoinHandle<Ended>,
}

/// Starts a relay for a grant `g` ending in `grant_left`, with an idle timeout.
fn rig(stdin_room: usize, grant_left: Duration, idle: Option<Duration>) -> Rig {
    let leases = Arc::new(Leases::new(
        LeaseConfig::default(),
        CancellationToken::new(),
    ));
    let lease = leases.open(LeaseSpec {
        grant: Some(("g".into(), "alice".into())),
        ..Default::default()
    });
    let now = Instant::now();
    let ctx = RelayContext {
        hello: ServerMsg::Hello {
            session_id: "s".into(),
            pod: "ns/pod".into(),
            container: "app".into(),
            expires_at: 0,
        },
        lease,
        core: TerminalCore::new(now, now + grant_left, idle),
        filter: Box::new(AllowAll),
        recorder: Box::new(NoRecorder),
        keepalive: Duration::from_secs(30),
    };
    let (to_relay, inbound) = mpsc::unbounded();
    let (sink, from_relay) = mpsc::unbounded();
    let (pod_out, relay_side) = tokio::io::duplex(64 * 1024);
    let exec = ExecIo {
        stdin: Stdin { room: stdin_room },
        stdout: Box::new(BufReader::new(relay_side)),
        status: Box::pin(std::future::pending()),
    };
    let sink = sink.sink_map_err(|_| ());
    let relay = tokio::spawn(run(ctx, inbound, Box::pin(sink), exec));
    Rig {
        leases,
        to_relay,
        from_relay,
        pod_out,
        relay,
    }
}

/// The `closed` message the browser got.
async fn closed(rx: &mut mpsc::UnboundedReceiver<Outbound>) -> Option<CloseReason> {
    while let Some(m) = rx.next().await {
        if let Outbound::Control(ServerMsg::Closed { reason, .. }) = m {
            return Some(reason);
        }
    }
    None
}

#[tokio::test(start_paused = true)]
async fn revoke_wins_while_the_pod_does_not_read_input() {
    let mut r = rig(0, Duration::from_secs(3600), None);
    for _ in 0..100 {
        r.to_relay
            .unbounded_send(Inbound::Bytes(vec![b'x'; 4096]))
            .unwrap();
    }
    // Let the relay take what it can: the pod-bound queue fills and stays full.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = tokio::time::Instant::now();
    assert_eq!(
        r.leases.end_grant(
            "g",
            &LeaseEnd::Revoked {
                reason: "incident over".into(),
                by: None
            }
        ),
        1
    );
    let ended = r.relay.await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(ended.reason, CloseReason::Revoked);
    assert!(ended.message.contains("incident over"));
    assert_eq!(closed(&mut r.from_relay).await, Some(CloseReason::Revoked));
}

#[tokio::test(start_paused = true)]
async fn input_the_pod_never_takes_ends_the_session_after_the_stall_limit() {
    let r = rig(0, Duration::from_secs(3600), None);
    r.to_relay
        .unbounded_send(Inbound::Bytes(b"ls\r".to_vec()))
        .unwrap();
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::Error);
    assert!(
        ended.message.contains("has not accepted input"),
        "{}",
        ended.message
    );
}

/// On the real clock: a pod that writes without pause keeps the runtime busy, and a paused
/// clock only moves when the runtime is idle.
#[tokio::test]
async fn expiry_wins_while_output_streams() {
    let r = rig(usize::MAX, Duration::from_millis(500), None);
    let mut pod_out = r.pod_out;
    let writer = tokio::spawn(async move {
        let chunk = vec![b'y'; 4096];
        while pod_out.write_all(&chunk).await.is_ok() {}
    });
    // The browser reads as it goes (the test's sink is unbounded).
    let mut from_relay = r.from_relay;
    let browser = tokio::spawn(async move { closed(&mut from_relay).await });
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::Expired);
    assert!(ended.bytes_out > 0);
    writer.abort();
    assert_eq!(browser.await.unwrap(), Some(CloseReason::Expired));
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_and_resize() {
    let mut r = rig(
        usize::MAX,
        Duration::from_secs(3600),
        Some(Duration::from_secs(5)),
    );
    r.to_relay
        .unbounded_send(Inbound::Text(
            r#"{"type":"resize","cols":120,"rows":40}"#.into(),
        ))
        .unwrap();
    r.to_relay
        .unbounded_send(Inbound::Text("junk".into()))
        .unwrap();
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::Idle);
    let mut notices = 0;
    while let Some(m) = r.from_relay.next().await {
        if let Outbound::Control(ServerMsg::Notice { text, .. }) = m {
            assert!(text.contains("unknown control message"), "{text}");
            notices += 1;
        }
    }
    assert_eq!(notices, 1, "the junk frame got a notice, the resize none");
}

#[tokio::test(start_paused = true)]
async fn the_browser_closing_ends_the_session() {
    let r = rig(usize::MAX, Duration::from_secs(3600), None);
    r.to_relay.unbounded_send(Inbound::Closed).unwrap();
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::ClientClosed);
}
