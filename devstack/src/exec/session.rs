//! One exec/attach WebSocket: relays stdin, resizes and output between the socket and the
//! process, then reports the exit Status on channel 3 and closes with 1000.
//!
//! Two loops, so neither direction can block the other (a process blocked writing output must
//! still get its stdin): a spawned input task (socket → stdin/resize) and the output loop
//! (process → socket) that also reaps the process and owns the socket's write half.
//! Backpressure: each loop awaits its write before reading more, so nothing buffers without
//! bound; reads are at most [`READ_CHUNK`] bytes.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message};
use futures::{FutureExt as _, Sink, SinkExt as _, Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

use super::frame::{self, ClientFrame, FrameError, Outcome, Protocol, StreamParams};
use super::process::{Input, Process, SpawnError, exit_code};

/// Largest single read from the process (one WebSocket message).
pub const READ_CHUNK: usize = 32 * 1024;
/// After the main process exits, output still arriving within this window is relayed; a
/// background child that keeps the pipes open longer is killed with the group.
const LINGER: Duration = Duration::from_millis(300);
/// How long to wait for the client's reply to our Close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// How the input side ended.
#[derive(Debug)]
enum InputEnd {
    /// The client closed or dropped the socket.
    Gone,
    /// The client broke the protocol; close with this code and reason.
    Violation(u16, &'static str),
}

/// Aborts the wrapped task when dropped, so an early return never leaks the input loop.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a session to completion. `started` is the spawn result, so a missing program is
/// reported in-band like a container runtime does.
pub async fn run<W, R>(
    mut sink: W,
    stream: R,
    protocol: Protocol,
    params: StreamParams,
    started: Result<Process, SpawnError>,
    shutdown: CancellationToken,
) where
    W: Sink<Message, Error = axum::Error> + Unpin + Send,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
{
    // Right after the upgrade: one empty message on the lowest writable channel.
    if send(&mut sink, &[params.first_channel()]).await.is_err() {
        return;
    }
    let mut process = match started {
        Ok(p) => p,
        Err(e) => {
            let outcome = match e.exit_code() {
                Some(code) => {
                    let channel = if params.stderr {
                        Some(frame::STDERR)
                    } else {
                        params.stdout.then_some(frame::STDOUT)
                    };
                    if let Some(ch) = channel {
                        let eol = if params.tty { "\r\n" } else { "\n" };
                        let _ = send(
                            &mut sink,
                            &frame::encode(ch, format!("devstack: {e}{eol}").as_bytes()),
                        )
                        .await;
                    }
                    Outcome::Exit {
                        code,
                        detail: e.to_string(),
                    }
                }
                None => Outcome::Internal(e.to_string()),
            };
            if finish(&mut sink, &outcome).await {
                let mut stream = stream;
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(m)) = stream.next().await {
                        if matches!(m, Message::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
            }
            return;
        }
    };

    let input = process.input.take();
    let stdin_wanted = params.stdin;
    let mut input_task = AbortOnDrop(tokio::spawn(pump_input(
        stream,
        input,
        protocol,
        stdin_wanted,
    )));
    let outcome =
        match pump_output(&mut sink, &mut process, &params, &mut input_task, &shutdown).await {
            Ok(outcome) => outcome,
            Err(Some((code, reason))) => {
                let _ = sink.send(close(code, reason)).await;
                return;
            }
            Err(None) => return,
        };
    // Kill leftovers before reporting, so the Status really is the end of everything.
    drop(process);
    if finish(&mut sink, &outcome).await {
        // The input loop ends when the client answers our Close.
        let _ = tokio::time::timeout(CLOSE_WAIT, &mut input_task.0).await;
    }
}

/// Relays output until the process has exited and its output is drained. `Err(None)` = the
/// client is gone; `Err(Some(code, reason))` = close the socket with that code.
async fn pump_output<W>(
    sink: &mut W,
    process: &mut Process,
    params: &StreamParams,
    input_task: &mut AbortOnDrop<InputEnd>,
    shutdown: &CancellationToken,
) -> Result<Outcome, Option<(u16, &'static str)>>
where
    W: Sink<Message, Error = axum::Error> + Unpin + Send,
{
    let mut out = process.stdout.take();
    let mut err: Option<Box<dyn AsyncRead + Send + Unpin>> = process
        .stderr
        .take()
        .map(|e| Box::new(e) as Box<dyn AsyncRead + Send + Unpin>);
    // With a TTY, output is the terminal: relay it if the client asked for stdout at all.
    let (send_out, send_err) = (params.stdout, params.stderr);
    let mut out_buf = vec![0u8; READ_CHUNK + 1];
    let mut err_buf = vec![0u8; READ_CHUNK + 1];
    out_buf[0] = frame::STDOUT;
    err_buf[0] = frame::STDERR;
    let mut exit = None;
    let linger = tokio::time::sleep(Duration::from_secs(86400));
    tokio::pin!(linger);

    loop {
        if let Some(status) = exit
            && out.is_none()
            && err.is_none()
        {
            return Ok(outcome_of(status, &params.command));
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err(Some((1001, "devstack is shutting down"))),
            end = &mut input_task.0 => {
                match end {
                    Ok(InputEnd::Violation(code, reason)) => return Err(Some((code, reason))),
                    // The client left: dropping the process kills its group.
                    Ok(InputEnd::Gone) | Err(_) => return Err(None),
                }
            }
            n = read_some(&mut out, &mut out_buf[1..]), if out.is_some() => match n {
                Ok(n) if n > 0 => {
                    if send_out && send(sink, &out_buf[..=n]).await.is_err() {
                        return Err(None);
                    }
                    if exit.is_some() { linger.as_mut().reset(tokio::time::Instant::now() + LINGER); }
                }
                // EOF, or EIO from a PTY whose last holder is gone.
                _ => out = None,
            },
            n = read_some(&mut err, &mut err_buf[1..]), if err.is_some() => match n {
                Ok(n) if n > 0 => {
                    if send_err && send(sink, &err_buf[..=n]).await.is_err() {
                        return Err(None);
                    }
                    if exit.is_some() { linger.as_mut().reset(tokio::time::Instant::now() + LINGER); }
                }
                _ => err = None,
            },
            status = process.child.wait(), if exit.is_none() => {
                exit = Some(status.map_err(|_| None)?);
                linger.as_mut().reset(tokio::time::Instant::now() + LINGER);
            }
            () = &mut linger, if exit.is_some() => {
                // Something else still holds the output open; the group kill will end it.
                out = None;
                err = None;
            }
        }
    }
}

/// Reads what is available: waits for the first chunk, then takes whatever else is already
/// buffered (a PTY hands out at most 4 KiB per read) without waiting, so bulk output goes out
/// in fewer, larger messages while a single keystroke echo is sent at once.
async fn read_some(
    reader: &mut Option<Box<dyn AsyncRead + Send + Unpin>>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let Some(r) = reader else {
        return std::future::pending().await;
    };
    let mut filled = r.read(buf).await?;
    while filled > 0 && buf.len() - filled >= 4096 {
        // `read` is cancel-safe, so a read that would block can simply be dropped.
        match r.read(&mut buf[filled..]).now_or_never() {
            Some(Ok(n)) if n > 0 => filled += n,
            _ => break,
        }
    }
    Ok(filled)
}

/// Socket → process, until the client closes or breaks the protocol.
async fn pump_input<R>(
    mut stream: R,
    mut input: Option<Input>,
    protocol: Protocol,
    stdin_wanted: bool,
) -> InputEnd
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send,
{
    while let Some(msg) = stream.next().await {
        let data = match msg {
            Ok(Message::Binary(data)) => data,
            // Pings are answered by the WebSocket layer; pongs need nothing.
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Text(_)) => return InputEnd::Violation(1003, "binary messages only"),
            Ok(Message::Close(_)) | Err(_) => return InputEnd::Gone,
        };
        match frame::decode(protocol, &data) {
            Ok(ClientFrame::Stdin(bytes)) if stdin_wanted => {
                let result = match &mut input {
                    Some(Input::Pty(w)) => w.write_all(bytes).await,
                    Some(Input::Pipe(w)) => w.write_all(bytes).await,
                    None => Ok(()),
                };
                if result.is_err() {
                    // The process closed its stdin; later input has nowhere to go.
                    input = None;
                }
            }
            Ok(ClientFrame::Resize(Some(size))) => {
                if let Some(Input::Pty(w)) = &input {
                    let _ = w.resize(pty_process::Size::new(size.height, size.width));
                }
            }
            Ok(ClientFrame::Close(frame::STDIN)) => match input.take() {
                // A terminal has no half-close; ^D is what EOF means to the program on it.
                Some(Input::Pty(mut w)) => {
                    let _ = w.write_all(b"\x04").await;
                    input = Some(Input::Pty(w));
                }
                // Dropping the pipe is the EOF.
                Some(Input::Pipe(_)) | None => {}
            },
            Ok(_) => {}
            Err(FrameError::ResizeTooLarge) => {
                return InputEnd::Violation(1009, "resize message too large");
            }
            Err(FrameError::BadClose) => {
                return InputEnd::Violation(1002, "malformed CLOSE message");
            }
        }
    }
    InputEnd::Gone
}

fn outcome_of(status: std::process::ExitStatus, argv: &[String]) -> Outcome {
    match exit_code(status) {
        0 => Outcome::Success,
        code => Outcome::Exit {
            code,
            detail: format!(
                "error executing command [{}], exit code {code}",
                argv.join(" ")
            ),
        },
    }
}

/// Status on channel 3, then Close(1000). False if the client is already gone.
async fn finish<W>(sink: &mut W, outcome: &Outcome) -> bool
where
    W: Sink<Message, Error = axum::Error> + Unpin + Send,
{
    let status = serde_json::to_vec(&frame::status(outcome)).expect("status serializes");
    send(sink, &frame::encode(frame::ERROR, &status))
        .await
        .is_ok()
        && sink.send(close(1000, "")).await.is_ok()
}

async fn send<W>(sink: &mut W, bytes: &[u8]) -> Result<(), axum::Error>
where
    W: Sink<Message, Error = axum::Error> + Unpin,
{
    sink.send(Message::Binary(Bytes::copy_from_slice(bytes)))
        .await
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
