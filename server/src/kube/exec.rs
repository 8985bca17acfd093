//! `pods/exec` with a TTY and `pods/log` streams, as the impersonated user.
//!
//! The exec speaks the channel protocol (`v5.channel.k8s.io`, falling back to `v4`) directly
//! over the upgraded connection instead of kube-rs's `AttachedProcess`: kube-rs opens its
//! WebSocket with tungstenite's default config (a 128 KiB read buffer, zero-filled on the first
//! read, per session) and moves every keystroke and every output chunk through its own task and
//! 1 KiB pipes. Here the relay reads frames from the socket itself ([`ExecReader`]) and writes
//! stdin and resize frames into it ([`ExecWriter`]); no task, no pipe, a small read buffer.
//!
//! Wire format (see docs/kubernetes-exec.md §4 'Channels'): every binary message is
//! `[channel] + payload`; 0 stdin, 1 stdout, 2 stderr, 3 the final `metav1.Status` (JSON),
//! 4 resize (`{"Width":W,"Height":H}`). With a TTY stderr is merged into stdout, and stdin is
//! never half-closed (`[255, 0]`), so v4 and v5 behave the same for us.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::stream::{SplitSink, SplitStream};
use futures::{Sink, SinkExt, StreamExt};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, LogParams};
use kube::client::{Body, UpgradeConnectionError};
use kube::core::Resource;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self as ws, Bytes, Message};

use super::UserKube;

/// What to run where.
#[derive(Debug, Clone)]
pub struct ExecParams {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// argv.
    pub command: Vec<String>,
    /// Initial terminal size.
    pub cols: u16,
    /// Initial terminal size.
    pub rows: u16,
}

/// Why an exec could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The API server refused or failed (403 from RBAC, 404, …).
    #[error("the Kubernetes API refused the exec: {0}")]
    Api(#[source] kube::Error),
}

/// Subprotocols we speak, preferred first (one comma-separated header, as kube-rs sends).
const PROTOCOLS: &str = "v5.channel.k8s.io, v4.channel.k8s.io";

/// Channel bytes.
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const RESIZE: u8 = 4;

/// The exec socket's buffers. tungstenite's defaults are 128 KiB each and the read buffer is
/// zero-filled on the first read, i.e. 128 KiB per idle session. The API server sends output
/// in messages of a few KiB to 32 KiB; a bigger message only grows the buffer while it lasts.
/// Writes (keystrokes, resizes) go out at once (`write_buffer_size` 0). The write buffer's
/// limit stays unbounded: each write is awaited until flushed, so it holds at most one frame
/// (a paste of up to `MAX_CLIENT_FRAME` plus the channel byte).
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

type ExecSocket = WebSocketStream<TokioIo<Upgraded>>;

/// An open exec with a TTY: the three parts the relay drives.
pub struct ExecTty {
    /// Pod output (stdout; stderr merged by the TTY).
    pub output: ExecReader,
    /// Keystrokes and resizes toward the pod.
    pub input: ExecWriter,
    /// The exit status, once channel 3 has been read.
    pub status: ExecStatus,
}

/// The pod's output as an [`AsyncBufRead`] (one message buffered at a time, none while idle): payloads of channels 1 and 2; the Status on channel 3
/// is handed to [`ExecStatus`]; EOF when the socket closes.
pub struct ExecReader {
    socket: SplitStream<ExecSocket>,
    /// The rest of a message larger than the caller's buffer.
    pending: Bytes,
    status: Option<oneshot::Sender<i32>>,
    done: bool,
}

/// Writes stdin (channel 0) and resize (channel 4) messages.
pub struct ExecWriter {
    socket: SplitSink<ExecSocket, Message>,
}

/// Resolves to the exit code when the Status arrives (`None` if the stream ended without one).
pub type ExecStatus = Pin<Box<dyn std::future::Future<Output = Option<i32>> + Send>>;

impl UserKube {
    /// Starts `params.command` with a TTY (stdin + stdout; stderr is merged by the TTY) and
    /// sends the initial terminal size.
    pub async fn exec_tty(&self, params: &ExecParams) -> Result<ExecTty, ExecError> {
        self.exec_tty_inner(params).await.map_err(ExecError::Api)
    }

    async fn exec_tty_inner(&self, params: &ExecParams) -> Result<ExecTty, kube::Error> {
        let ap = AttachParams::interactive_tty().container(params.container.clone());
        let req = kube::core::Request::new(Pod::url_path(&(), Some(&params.namespace)))
            .exec(&params.pod, params.command.clone(), &ap)
            .map_err(kube::Error::BuildRequest)?;
        let (mut parts, body) = req.into_parts();
        let key = generate_key();
        let h = &mut parts.headers;
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        h.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_str(&key).map_err(|e| kube::Error::HttpError(e.into()))?,
        );
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOLS),
        );
        // Sent through the impersonating client: the upgrade carries the user's headers.
        let res = self
            .client
            .send(Request::from_parts(parts, Body::from(body)))
            .await?;
        let status = res.status();
        if status.is_client_error() || status.is_server_error() {
            return Err(api_error(status, res.into_body()).await);
        }
        verify_upgrade(&res, &key).map_err(kube::Error::UpgradeConnection)?;
        let upgraded = hyper::upgrade::on(res).await.map_err(|e| {
            kube::Error::UpgradeConnection(UpgradeConnectionError::GetPendingUpgrade(e))
        })?;
        let socket = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Client,
            Some(ws_config()),
        )
        .await;
        let (sink, stream) = socket.split();
        let (status_tx, status_rx) = oneshot::channel();
        let mut input = ExecWriter { socket: sink };
        input
            .resize(params.cols, params.rows)
            .await
            .map_err(|e| kube::Error::Service(e.into()))?;
        Ok(ExecTty {
            output: ExecReader {
                socket: stream,
                pending: Bytes::new(),
                status: Some(status_tx),
                done: false,
            },
            input,
            status: Box::pin(async move { status_rx.await.ok() }),
        })
    }

    /// A log stream of `container` in `namespace/pod`.
    pub async fn log_stream(
        &self,
        namespace: &str,
        pod: &str,
        params: &LogParams,
    ) -> Result<impl futures::AsyncBufRead + use<>, kube::Error> {
        Api::<Pod>::namespaced(self.client.clone(), namespace)
            .log_stream(pod, params)
            .await
    }
}

/// A 4xx/5xx answer to the upgrade as kube-rs reports it: `Error::Api` with the server's
/// `Status` (or one made from the body text).
async fn api_error(code: StatusCode, body: Body) -> kube::Error {
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return e,
    };
    let text = String::from_utf8_lossy(&bytes);
    let status = serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
        kube::core::Status::failure(text.trim(), "Failed to parse error data")
            .with_code(code.as_u16())
    });
    kube::Error::Api(status.boxed())
}

/// RFC 6455 checks on the 101 plus the subprotocol (as kube-rs's `Client::connect` does).
fn verify_upgrade(res: &http::Response<Body>, key: &str) -> Result<(), UpgradeConnectionError> {
    if res.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(UpgradeConnectionError::ProtocolSwitch(res.status()));
    }
    let h = res.headers();
    let is = |name: header::HeaderName, want: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case(want))
    };
    if !is(header::UPGRADE, "websocket") {
        return Err(UpgradeConnectionError::MissingUpgradeWebSocketHeader);
    }
    if !is(header::CONNECTION, "upgrade") {
        return Err(UpgradeConnectionError::MissingConnectionUpgradeHeader);
    }
    if h.get(header::SEC_WEBSOCKET_ACCEPT)
        .is_none_or(|v| v.as_bytes() != derive_accept_key(key.as_bytes()).as_bytes())
    {
        return Err(UpgradeConnectionError::SecWebSocketAcceptKeyMismatch);
    }
    match h
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .map(http::HeaderValue::as_bytes)
    {
        Some(b"v5.channel.k8s.io" | b"v4.channel.k8s.io") => Ok(()),
        _ => Err(UpgradeConnectionError::SecWebSocketProtocolMismatch),
    }
}

/// A resize message (channel 4): `{"Width":W,"Height":H}`.
fn resize_frame(cols: u16, rows: u16) -> Vec<u8> {
    let mut frame = vec![RESIZE];
    frame.extend_from_slice(format!(r#"{{"Width":{cols},"Height":{rows}}}"#).as_bytes());
    frame
}

/// The poll-based side of [`ExecWriter`], for a relay that must never block on the pod:
/// `poll_ready`, then one `start_send_*`, then `poll_flush` (as [`futures::Sink`]).
impl ExecWriter {
    /// Ready to take one frame.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket)
            .poll_ready(cx)
            .map_err(io::Error::other)
    }

    /// Takes keystrokes (channel 0).
    pub fn start_send_stdin(&mut self, data: &[u8]) -> io::Result<()> {
        let mut frame = Vec::with_capacity(data.len() + 1);
        frame.push(STDIN);
        frame.extend_from_slice(data);
        self.start_send(Message::Binary(frame.into()))
    }

    /// Takes a terminal size (channel 4).
    pub fn start_send_resize(&mut self, cols: u16, rows: u16) -> io::Result<()> {
        self.start_send(Message::Binary(resize_frame(cols, rows).into()))
    }

    /// Takes a WebSocket ping.
    pub fn start_send_ping(&mut self) -> io::Result<()> {
        self.start_send(Message::Ping(Bytes::new()))
    }

    fn start_send(&mut self, msg: Message) -> io::Result<()> {
        Pin::new(&mut self.socket)
            .start_send(msg)
            .map_err(io::Error::other)
    }

    /// Writes out what was taken.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket)
            .poll_flush(cx)
            .map_err(io::Error::other)
    }
}

impl ExecWriter {
    /// Sends a terminal size (channel 4) and waits until it is handed to the socket (the
    /// initial size, before the relay takes over the writer).
    pub async fn resize(&mut self, cols: u16, rows: u16) -> io::Result<()> {
        self.send(resize_frame(cols, rows)).await
    }

    async fn send(&mut self, frame: Vec<u8>) -> io::Result<()> {
        self.socket
            .send(Message::Binary(frame.into()))
            .await
            .map_err(io::Error::other)
    }
}

impl ExecReader {
    fn finish(&mut self) {
        self.done = true;
        self.status = None;
    }
}

impl AsyncBufRead for ExecReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while this.pending.is_empty() && !this.done {
            match ready!(this.socket.poll_next_unpin(cx)) {
                Some(Ok(Message::Binary(mut data))) => {
                    if data.is_empty() {
                        continue;
                    }
                    let channel = data.split_to(1)[0];
                    match channel {
                        STDOUT | STDERR => this.pending = data,
                        STATUS => {
                            if let Some(tx) = this.status.take() {
                                let code = serde_json::from_slice::<Status>(&data)
                                    .map(|s| exit_code(&s))
                                    .unwrap_or(1);
                                let _ = tx.send(code);
                            }
                        }
                        // Nothing else is sent to a client; ignore rather than fail.
                        _ => {}
                    }
                }
                // Close frame or end of stream: the process is gone.
                Some(Ok(Message::Close(_))) | None => this.finish(),
                // Pings are answered by tungstenite; text is not part of the binary protocols.
                Some(Ok(_)) => {}
                Some(Err(ws::Error::ConnectionClosed | ws::Error::AlreadyClosed)) => this.finish(),
                Some(Err(e)) => {
                    this.finish();
                    return Poll::Ready(Err(io::Error::other(e)));
                }
            }
        }
        // Empty only at the end of the stream.
        Poll::Ready(Ok(&this.pending[..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        if amt >= this.pending.len() {
            // Do not keep the consumed message's allocation alive while idle.
            this.pending = Bytes::new();
        } else {
            let _ = this.pending.split_to(amt);
        }
    }
}

impl AsyncRead for ExecReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let data = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = data.len().min(buf.remaining());
        buf.put_slice(&data[..n]);
        self.consume(n);
        Poll::Ready(Ok(()))
    }
}

/// The exit code in an exec's final status: 0 on `Success`, the `ExitCode` cause otherwise,
/// 1 if the status failed without one.
pub fn exit_code(status: &Status) -> i32 {
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|causes| {
            causes
                .iter()
                .find(|c| c.reason.as_deref() == Some("ExitCode"))
                .and_then(|c| c.message.as_deref())
                .and_then(|m| m.parse().ok())
        })
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_from_status() {
        let ok: Status = serde_json::from_str(r#"{"metadata":{},"status":"Success"}"#).unwrap();
        assert_eq!(exit_code(&ok), 0);
        let three: Status = serde_json::from_str(
            r#"{"metadata":{},"status":"Failure","reason":"NonZeroExitCode",
                "details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#,
        )
        .unwrap();
        assert_eq!(exit_code(&three), 3);
        let err: Status =
            serde_json::from_str(r#"{"metadata":{},"status":"Failure","message":"x"}"#).unwrap();
        assert_eq!(exit_code(&err), 1);
    }
}
