//! The relay: one `select!` loop per terminal session, moving bytes between the browser and
//! the exec stream and ending the session when its lease ends (grant revoked or expired, web
//! session ended, access unverifiable), on idle timeout, exit, browser close or shutdown.
//!
//! It knows neither axum nor kube: the socket is a stream of [`Inbound`] and a sink of
//! [`Outbound`] (see `ws.rs`), the exec is an [`ExecIo`]. This loop polls all of them itself:
//! there is no task, channel or pipe between the browser's socket and the API server's, so a
//! keystroke and its echo each cost one wake-up of this task. Backpressure: pod output is read
//! only while the [`Outbox`] is idle (everything before was handed to the browser's socket),
//! so a slow browser stops us reading the exec stream, i.e. the API server's socket; browser
//! input is read only while the [`PodQueue`] is not full. No branch awaits a peer inside its
//! handler: both write sides are polled as branches of their own, so the lease, the timers and
//! shutdown always win within one turn of the loop.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{Sink, Stream, StreamExt};
use keyhole_protocol::terminal::{
    ClientMsg, CloseReason, MAX_CLIENT_FRAME, NoticeLevel, ServerMsg,
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use super::core::{TerminalCore, TimerAction};
use super::hooks::{LineFilter, Recorder};
use super::outbox::Outbox;
pub use super::to_pod::{ExecInput, INPUT_STALL, PodQueue, ToPod};
use crate::access::Lease;

/// The largest binary frame of pod output we send.
const READ_CHUNK: usize = 16 * 1024;
/// How long to wait for the exit status after the output ended.
const STATUS_GRACE: Duration = Duration::from_secs(2);
/// How long the last messages (`exit`, `closed`, close) may take to reach a slow browser.
const FINAL_SEND: Duration = Duration::from_millis(500);

/// What the browser sent.
#[derive(Debug)]
pub enum Inbound {
    /// A binary frame: keystrokes.
    Bytes(Vec<u8>),
    /// A text frame: a JSON control message.
    Text(String),
    /// The socket closed.
    Closed,
    /// Reading the socket failed (e.g. a frame over the size limit).
    Failed(String),
}

/// What to send to the browser.
#[derive(Debug)]
pub enum Outbound {
    /// A binary frame: terminal output.
    Bytes(Vec<u8>),
    /// A text frame: a control message.
    Control(ServerMsg),
    /// A WebSocket ping (keepalive through proxies).
    Ping,
    /// Close the socket (after everything queued before it), for this reason.
    Close(CloseReason),
}

/// The exec stream, independent of kube.
pub struct ExecIo<I> {
    /// The process's stdin (the TTY) and its size.
    pub stdin: I,
    /// The TTY's output. Buffered by the exec stream itself (one message at a time), so the
    /// relay holds no read buffer of its own while the pod is quiet.
    pub stdout: Box<dyn AsyncBufRead + Send + Unpin>,
    /// Resolves to the exit code when the process ends (`None` if unknown).
    pub status: StatusFuture,
}

/// Everything one session's relay needs besides the two streams.
pub struct RelayContext {
    /// First message to send.
    pub hello: ServerMsg,
    /// The session's hold on its grant and web session: ends on revocation, expiry, logout,
    /// a failed re-check or shutdown (`access::lease`).
    pub lease: Lease,
    /// The session's clock and counters.
    pub core: TerminalCore,
    /// The command filter.
    pub filter: Box<dyn LineFilter>,
    /// The recorder.
    pub recorder: Box<dyn Recorder>,
    /// Ping period for both sockets while the session is open.
    pub keepalive: Duration,
}

/// How a session ended.
#[derive(Debug, Clone)]
pub struct Ended {
    /// Why.
    pub reason: CloseReason,
    /// The message shown to the user.
    pub message: String,
    /// Bytes browser → pod.
    pub bytes_in: u64,
    /// Bytes pod → browser.
    pub bytes_out: u64,
}

/// Runs the session until it ends; always sends `closed` and `Close` (if the browser is
/// still there) before returning. The exec ends when `exec` is dropped here.
pub async fn run<S, O, I>(mut ctx: RelayContext, mut inbound: S, out: O, exec: ExecIo<I>) -> Ended
where
    S: Stream<Item = Inbound> + Unpin,
    O: Sink<Outbound> + Unpin,
    I: ExecInput,
{
    let mut out = Outbox::new(out);
    out.push(Outbound::Control(ctx.hello.clone()));
    let (reason, message) = relay_loop(&mut ctx, &mut inbound, &mut out, exec).await;
    let now = Instant::now();
    ctx.recorder.finish(ctx.core.elapsed(now), reason);
    // The browser may be gone or stalled; then these are dropped after a short wait, which is
    // fine: the session ends either way (the caller drops the exec and the socket).
    if reason != CloseReason::ClientClosed {
        let closed = ServerMsg::Closed {
            reason,
            message: message.clone(),
        };
        out.push(Outbound::Control(closed));
    }
    out.push(Outbound::Close(reason));
    let _ = tokio::time::timeout(FINAL_SEND, out.flush()).await;
    Ended {
        reason,
        message,
        bytes_in: ctx.core.bytes_in,
        bytes_out: ctx.core.bytes_out,
    }
}

/// Queues a notice without ever blocking the loop: a browser that stopped reading must not
/// delay a revocation or an expiry (the notice is dropped if it is that far behind).
fn notice<O: Sink<Outbound> + Unpin>(out: &mut Outbox<O>, level: NoticeLevel, text: String) {
    out.push_control(Outbound::Control(ServerMsg::Notice { level, text }));
}

/// What one event did: `Some` ends the session with this reason and message.
type Step = Option<(CloseReason, String)>;

/// One session's state while it runs, with one method per event of the loop. The two read
/// sources (pod output and exit status) stay outside, as the loop's own locals, so that each
/// `select!` branch borrows only its part.
struct Relay<'a, O, I> {
    ctx: &'a mut RelayContext,
    out: &'a mut Outbox<O>,
    stdin: I,
    to_pod: PodQueue,
    exit_code: Option<i32>,
    status_done: bool,
}

impl<O: Sink<Outbound> + Unpin, I: ExecInput> Relay<'_, O, I> {
    /// A timer of the core fired (expiry warning or end, idle warning or end).
    fn on_timer(&mut self, timer: super::core::Timer) -> Step {
        match self.ctx.core.fire(timer, Instant::now()) {
            TimerAction::Close(reason, message) => return Some((reason, message)),
            TimerAction::Notice(text) => notice(self.out, NoticeLevel::Warning, text),
            TimerAction::Nothing => {}
        }
        None
    }

    /// The pod has not taken queued input for [`INPUT_STALL`].
    fn on_input_stall(&self) -> Step {
        Some((
            CloseReason::Error,
            format!(
                "The pod has not accepted input for {} s; the session is closed.",
                INPUT_STALL.as_secs()
            ),
        ))
    }

    /// Proxies with an idle timeout (nginx: 60 s) see traffic both ways; browsers and the API
    /// server answer pings by themselves. A failed exec ping shows up as the end of output.
    /// Not queued behind stalled input.
    fn on_keepalive(&mut self) {
        self.out.push_control(Outbound::Ping);
        if !self.to_pod.is_busy() {
            self.to_pod.push(ToPod::Ping, Instant::now());
        }
    }

    /// The exit status arrived (output may still be draining).
    fn on_status(&mut self, code: Option<i32>) {
        self.status_done = true;
        self.exit_code = code;
    }

    /// A flush toward the browser finished.
    fn on_flushed(&self, sent: Result<(), ()>) -> Step {
        sent.err()
            .map(|()| (CloseReason::ClientClosed, "The browser went away.".into()))
    }

    /// The pod wrote `data`.
    fn on_output(&mut self, data: Vec<u8>) {
        let now = Instant::now();
        self.ctx.core.on_output(now, data.len());
        self.ctx.recorder.output(self.ctx.core.elapsed(now), &data);
        self.out.push(Outbound::Bytes(data));
    }

    /// The output ended: the process is gone; wait briefly for its status and end.
    async fn on_output_end(&mut self, status: &mut StatusFuture) -> Step {
        if !self.status_done {
            self.exit_code = tokio::time::timeout(STATUS_GRACE, status)
                .await
                .ok()
                .flatten();
        }
        let code = self.exit_code.unwrap_or(-1);
        self.out.push(Outbound::Control(ServerMsg::Exit { code }));
        Some((
            CloseReason::Exited,
            format!("The shell exited with code {code}."),
        ))
    }

    /// A write toward the pod finished.
    fn on_pod_written(&self, written: std::io::Result<()>) -> Step {
        written.err().map(|_| {
            (
                CloseReason::Error,
                "The pod's terminal stopped accepting input.".into(),
            )
        })
    }

    /// One message from the browser.
    fn on_inbound(&mut self, msg: Option<Inbound>) -> Step {
        match msg {
            Some(Inbound::Bytes(data)) => self.on_keys(data),
            Some(Inbound::Text(text)) => {
                match self.ctx.core.parse_control(&text) {
                    Ok(ClientMsg::Resize { cols, rows }) => {
                        let now = Instant::now();
                        self.ctx
                            .recorder
                            .resize(self.ctx.core.elapsed(now), cols, rows);
                        self.to_pod.push(ToPod::Resize { cols, rows }, now);
                    }
                    Err(text) => notice(self.out, NoticeLevel::Warning, text),
                }
                None
            }
            Some(Inbound::Failed(e)) => Some((
                CloseReason::Error,
                format!("The terminal connection failed: {e}"),
            )),
            Some(Inbound::Closed) | None => Some((
                CloseReason::ClientClosed,
                "The browser closed the terminal.".into(),
            )),
        }
    }

    /// Keystrokes: through the line filter, recorded, queued for the pod.
    fn on_keys(&mut self, data: Vec<u8>) -> Step {
        if data.len() > MAX_CLIENT_FRAME {
            return Some((CloseReason::Error, "Input frame too large.".into()));
        }
        let now = Instant::now();
        let outcome = self.ctx.core.on_input(now, &data, self.ctx.filter.as_mut());
        let at = self.ctx.core.elapsed(now);
        self.ctx.recorder.input(at, &outcome.forward);
        for message in outcome.blocked {
            self.ctx.recorder.marker(at, &format!("blocked: {message}"));
            notice(self.out, NoticeLevel::Warning, message);
        }
        if !outcome.forward.is_empty() {
            self.to_pod.push(ToPod::Stdin(outcome.forward), now);
        }
        None
    }
}

/// The exit status of the process.
pub type StatusFuture = Pin<Box<dyn Future<Output = Option<i32>> + Send>>;

/// The loop: waits for the first event, hands it to its [`Relay`] method, until one ends the
/// session. `biased`: the lease first, so a revocation wins over any amount of traffic.
async fn relay_loop<S, O, I>(
    ctx: &mut RelayContext,
    inbound: &mut S,
    out: &mut Outbox<O>,
    exec: ExecIo<I>,
) -> (CloseReason, String)
where
    S: Stream<Item = Inbound> + Unpin,
    O: Sink<Outbound> + Unpin,
    I: ExecInput,
{
    let ExecIo {
        stdin,
        mut stdout,
        mut status,
    } = exec;
    // Created once: a branch that is not rebuilt on every turn of the loop.
    let start = tokio::time::Instant::now() + ctx.keepalive;
    let mut keepalive = tokio::time::interval_at(start, ctx.keepalive);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut r = Relay {
        ctx,
        out,
        stdin,
        to_pod: PodQueue::default(),
        exit_code: None,
        status_done: false,
    };
    loop {
        let (deadline, timer) = r.ctx.core.next_timer();
        let stall = r.to_pod.stall_deadline();
        let step = tokio::select! {
            biased;
            end = r.ctx.lease.ended() => Some((end.close_reason(), end.message())),
            _ = tokio::time::sleep_until(deadline.into()) => r.on_timer(timer),
            _ = tokio::time::sleep_until(stall.unwrap_or(deadline).into()), if stall.is_some() => {
                r.on_input_stall()
            }
            _ = keepalive.tick() => {
                r.on_keepalive();
                None
            }
            code = &mut status, if !r.status_done => {
                r.on_status(code);
                None
            }
            // Before reading more output: what was read goes out on this same wake-up.
            sent = r.out.flush(), if r.out.needs_flush() => r.on_flushed(sent),
            // Cancel-safe: until `consume`, the data stays in the exec stream.
            read = stdout.fill_buf(), if r.out.is_idle() => {
                match read.map(|b| b[..b.len().min(READ_CHUNK)].to_vec()) {
                    Ok(data) if !data.is_empty() => {
                        stdout.consume(data.len());
                        r.on_output(data);
                        None
                    }
                    _ => r.on_output_end(&mut status).await,
                }
            }
            // Cancel-safe: an item leaves the queue only once the exec socket took it.
            written = poll_fn(|cx| r.to_pod.poll_drive(&mut r.stdin, cx)), if r.to_pod.is_busy() => {
                r.on_pod_written(written)
            }
            msg = inbound.next(), if !r.to_pod.is_full() => r.on_inbound(msg),
        };
        if let Some(end) = step {
            return end;
        }
    }
}

#[cfg(test)]
#[path = "relay_tests.rs"]
mod tests;
