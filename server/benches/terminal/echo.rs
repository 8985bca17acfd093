//! Keystroke echo over several paths at once, measured as paired samples: every path has a
//! `cat` on a raw TTY open, and each key goes to every path in turn (rotating which goes
//! first), so a change in the machine's load hits all paths alike instead of whichever
//! block of keys happened to run then. On a small VM the absolute numbers swing by 2× with
//! load; the pairing is what makes the ratios comparable.

use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, Stream, StreamExt};
use kube::api::AttachedProcess;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{Error, Message};

/// One open `cat`, reached some way.
pub(crate) enum EchoPath {
    /// A WebSocket where a key is sent as `prefix + key` and echoed in a binary frame.
    Ws {
        /// The socket.
        ws: Box<dyn WsLike>,
        /// Bytes before the key (the exec channel byte for the raw protocol).
        prefix: Vec<u8>,
    },
    /// kube-rs's `AttachedProcess` (its own task and pipes between us and the socket).
    Attached {
        /// Kept alive for the streams.
        _process: AttachedProcess,
        /// stdin.
        stdin: Box<dyn AsyncWrite + Unpin + Send>,
        /// stdout.
        stdout: Box<dyn AsyncRead + Unpin + Send>,
    },
}

/// A WebSocket of any transport.
pub(crate) trait WsLike:
    Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin + Send
{
}
impl<T> WsLike for T where
    T: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin + Send
{
}

impl EchoPath {
    /// An `AttachedProcess` running `cat` (already `stty raw -echo`).
    pub(crate) fn attached(mut process: AttachedProcess) -> Self {
        let stdin = Box::new(process.stdin().expect("stdin"));
        let stdout = Box::new(process.stdout().expect("stdout"));
        Self::Attached {
            _process: process,
            stdin,
            stdout,
        }
    }

    /// Sends one key and waits for its echo.
    pub(crate) async fn key(&mut self, key: u8) -> Duration {
        let t = Instant::now();
        match self {
            Self::Ws { ws, prefix } => {
                let mut frame = prefix.clone();
                frame.push(key);
                ws.send(Message::Binary(frame.into())).await.expect("send");
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Binary(b))) if b.contains(&key) => break,
                        Some(Ok(_)) => {}
                        other => panic!("echo failed: {other:?}"),
                    }
                }
            }
            Self::Attached { stdin, stdout, .. } => {
                stdin.write_all(&[key]).await.expect("stdin");
                stdin.flush().await.expect("flush");
                let mut buf = [0u8; 4096];
                loop {
                    let n = stdout.read(&mut buf).await.expect("stdout");
                    assert!(n > 0, "echo ended");
                    if buf[..n].contains(&key) {
                        break;
                    }
                }
            }
        }
        t.elapsed()
    }
}

/// Sends `keys` keys to each path in turn; returns the samples per path.
pub(crate) async fn paired(paths: &mut [EchoPath], keys: usize) -> Vec<Vec<Duration>> {
    let n = paths.len();
    let mut samples = vec![Vec::with_capacity(keys); n];
    for i in 0..keys {
        // Keys cycle through a..z so an echo cannot be mistaken for an earlier one.
        let key = b'a' + (i % 26) as u8;
        for j in 0..n {
            let p = (i + j) % n;
            samples[p].push(paths[p].key(key).await);
        }
    }
    samples
}
