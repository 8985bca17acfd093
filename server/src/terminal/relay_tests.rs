//! The relay alone: no sockets, no devstack, Tokio's clock paused. A fake browser (channels),
//! a fake exec (a pipe for output, a stdin that accepts only what the test allows) and a real
//! lease registry.

use std::io;
use std::sync::{Arc, Mutex};
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
use crate::terminal::hooks::{AllowAll, FilterDecision, NoRecorder};

/// A stdin that takes `room` items (keeping them in `seen`), then never becomes ready.
struct Stdin {
    room: usize,
    seen: Arc<Mutex<Vec<ToPod>>>,
}

impl ExecInput for Stdin {
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.room > 0 {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
    fn start_send(&mut self, item: ToPod) -> io::Result<()> {
        self.room -= 1;
        self.seen.lock().unwrap().push(item);
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
    to_pod: Arc<Mutex<Vec<ToPod>>>,
    relay: tokio::task::JoinHandle<Ended>,
}

/// A filter that blocks every line starting with `rm `.
struct BlockRm;

impl LineFilter for BlockRm {
    fn check(&mut self, line: &str) -> FilterDecision {
        if line.starts_with("rm ") {
            FilterDecision::Block {
                message: "rm is not allowed here".into(),
            }
        } else {
            FilterDecision::Allow
        }
    }
}

/// Starts a relay for a grant `g` ending in `grant_left`, with an idle timeout.
fn rig(stdin_room: usize, grant_left: Duration, idle: Option<Duration>) -> Rig {
    rig_with(stdin_room, grant_left, idle, Box::new(AllowAll))
}

/// [`rig`] with a line filter.
fn rig_with(
    stdin_room: usize,
    grant_left: Duration,
    idle: Option<Duration>,
    filter: Box<dyn LineFilter>,
) -> Rig {
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
            recorded: false,
            dev_cluster: false,
        },
        lease,
        core: TerminalCore::new(now, now + grant_left, idle),
        filter,
        recorder: Box::new(NoRecorder),
        keepalive: Duration::from_secs(30),
    };
    let (to_relay, inbound) = mpsc::unbounded();
    let (sink, from_relay) = mpsc::unbounded();
    let (pod_out, relay_side) = tokio::io::duplex(64 * 1024);
    let to_pod = Arc::new(Mutex::new(Vec::new()));
    let exec = ExecIo {
        stdin: Stdin {
            room: stdin_room,
            seen: to_pod.clone(),
        },
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
        to_pod,
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
    assert_eq!(
        *r.to_pod.lock().unwrap(),
        [ToPod::Resize {
            cols: 120,
            rows: 40
        }],
        "the resize reached the pod"
    );
}

#[tokio::test(start_paused = true)]
async fn the_browser_closing_ends_the_session() {
    let r = rig(usize::MAX, Duration::from_secs(3600), None);
    r.to_relay.unbounded_send(Inbound::Closed).unwrap();
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::ClientClosed);
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_the_browser_and_the_pod() {
    let mut r = rig(usize::MAX, Duration::from_secs(3600), None);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(*r.to_pod.lock().unwrap(), [ToPod::Ping]);
    r.to_relay.unbounded_send(Inbound::Closed).unwrap();
    r.relay.await.unwrap();
    let mut pings = 0;
    while let Some(m) = r.from_relay.next().await {
        pings += usize::from(matches!(m, Outbound::Ping));
    }
    assert_eq!(pings, 1);
}

/// The exec connection is lost (a failed keepalive ends the output stream): the session ends
/// at once, with an unknown exit code after the short wait for a status.
#[tokio::test(start_paused = true)]
async fn a_lost_exec_connection_ends_the_session() {
    let mut r = rig(usize::MAX, Duration::from_secs(3600), None);
    drop(r.pod_out);
    let t0 = tokio::time::Instant::now();
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::Exited);
    assert!(t0.elapsed() <= STATUS_GRACE + Duration::from_millis(10));
    let mut exit = None;
    while let Some(m) = r.from_relay.next().await {
        if let Outbound::Control(ServerMsg::Exit { code }) = m {
            exit = Some(code);
        }
    }
    assert_eq!(exit, Some(-1));
}

/// The browser's socket fails (its keepalive ping cannot be written): the session ends.
#[tokio::test(start_paused = true)]
async fn a_lost_browser_ends_the_session() {
    let r = rig(usize::MAX, Duration::from_secs(3600), None);
    drop(r.from_relay);
    let ended = r.relay.await.unwrap();
    assert_eq!(ended.reason, CloseReason::ClientClosed);
    assert!(ended.message.contains("went away"), "{}", ended.message);
}

#[tokio::test(start_paused = true)]
async fn a_blocked_line_never_reaches_the_pod_and_the_user_is_told() {
    let mut r = rig_with(
        usize::MAX,
        Duration::from_secs(3600),
        None,
        Box::new(BlockRm),
    );
    r.to_relay
        .unbounded_send(Inbound::Bytes(b"rm -rf /data\r".to_vec()))
        .unwrap();
    r.to_relay
        .unbounded_send(Inbound::Bytes(b"ls\r".to_vec()))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    r.to_relay.unbounded_send(Inbound::Closed).unwrap();
    r.relay.await.unwrap();
    let sent: Vec<u8> = r
        .to_pod
        .lock()
        .unwrap()
        .iter()
        .filter_map(|t| match t {
            ToPod::Stdin(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    // The line is discarded in the shell (Ctrl-U instead of Enter); the next one runs.
    assert_eq!(sent, b"rm -rf /data\x15ls\r");
    let mut warned = false;
    while let Some(m) = r.from_relay.next().await {
        if let Outbound::Control(ServerMsg::Notice { text, .. }) = m {
            warned |= text.contains("rm is not allowed here");
        }
    }
    assert!(warned, "the user was told why");
}
