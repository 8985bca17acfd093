//! The `v5.channel.k8s.io` / `v4.channel.k8s.io` wire protocol, without I/O: request
//! parameters, client message decoding and the Status objects written on channel 3.
//! See docs/kubernetes-exec.md, §2 'Handshake and subprotocols' to §7 'Half-close'.

use serde::Deserialize;
use serde_json::{Value, json};

/// stdin, client → server.
pub const STDIN: u8 = 0;
/// stdout, server → client.
pub const STDOUT: u8 = 1;
/// stderr, server → client.
pub const STDERR: u8 = 2;
/// The final Status, server → client.
pub const ERROR: u8 = 3;
/// Terminal size JSON, client → server.
pub const RESIZE: u8 = 4;
/// v5 half-close `[255, channel]`, client → server.
pub const CLOSE: u8 = 255;

/// Larger resize messages are refused: a real one is about 25 bytes.
pub const MAX_RESIZE_BYTES: usize = 1024;

/// The negotiated subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `v5.channel.k8s.io`: adds the CLOSE channel.
    V5,
    /// `v4.channel.k8s.io`.
    V4,
}

impl Protocol {
    /// Server preference order, as offered to axum.
    pub const NAMES: [&'static str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

    /// Parses a negotiated protocol name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "v5.channel.k8s.io" => Some(Self::V5),
            "v4.channel.k8s.io" => Some(Self::V4),
            _ => None,
        }
    }
}

/// Query parameters of `exec` / `attach`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamParams {
    /// argv (exec only); one `command=` per element.
    pub command: Vec<String>,
    /// Container name; empty = the only container.
    pub container: Option<String>,
    /// Streams requested.
    pub stdin: bool,
    /// Streams requested.
    pub stdout: bool,
    /// Streams requested; forced off with `tty` (stderr is merged into the terminal).
    pub stderr: bool,
    /// Run under a PTY.
    pub tty: bool,
}

impl StreamParams {
    /// Parses the raw query. Tolerates kube-rs's leading `?&` (an empty first pair).
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut p = Self::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let flag = || v == "true" || v == "1";
            match k.as_ref() {
                "command" => p.command.push(v.into_owned()),
                "container" => p.container = Some(v.into_owned()),
                "stdin" => p.stdin = flag(),
                "stdout" => p.stdout = flag(),
                "stderr" => p.stderr = flag(),
                "tty" => p.tty = flag(),
                _ => {}
            }
        }
        if !(p.stdin || p.stdout || p.stderr) {
            return Err("you must specify at least 1 of stdin, stdout, stderr".into());
        }
        // The kubelet drops stderr when a TTY is requested rather than failing.
        if p.tty {
            p.stderr = false;
        }
        Ok(p)
    }

    /// The channel of the empty first frame: the lowest writable channel requested.
    pub fn first_channel(&self) -> u8 {
        if self.stdout {
            STDOUT
        } else if self.stderr {
            STDERR
        } else {
            ERROR
        }
    }
}

/// `TerminalSize` as Go serializes it (exported names, no tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// A decoded client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame<'a> {
    /// Bytes for the process's stdin.
    Stdin(&'a [u8]),
    /// The last size in a resize message (several may be concatenated, as a JSON stream).
    Resize(Option<TerminalSize>),
    /// v5 half-close of `channel`.
    Close(u8),
    /// Empty message, or a channel the client may not write to: ignored like the apiserver does.
    Ignored,
}

/// A client message that ends the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A v5 CLOSE that is not exactly `[255, 0..=4]`.
    #[error("malformed CLOSE message")]
    BadClose,
    /// A resize message larger than [`MAX_RESIZE_BYTES`].
    #[error("resize message too large")]
    ResizeTooLarge,
}

/// Decodes one binary client message.
pub fn decode(protocol: Protocol, msg: &[u8]) -> Result<ClientFrame<'_>, FrameError> {
    let Some((&channel, payload)) = msg.split_first() else {
        return Ok(ClientFrame::Ignored);
    };
    match channel {
        STDIN => Ok(ClientFrame::Stdin(payload)),
        RESIZE if payload.len() > MAX_RESIZE_BYTES => Err(FrameError::ResizeTooLarge),
        RESIZE => {
            // A JSON stream: `{"Width":..}\n` or several objects; garbage is ignored (the
            // apiserver's decoder stops handling resizes then, it does not kill the session).
            let sizes = serde_json::Deserializer::from_slice(payload).into_iter::<TerminalSize>();
            Ok(ClientFrame::Resize(sizes.map_while(Result::ok).last()))
        }
        CLOSE if protocol == Protocol::V5 => match payload {
            [ch] if *ch <= RESIZE => Ok(ClientFrame::Close(*ch)),
            _ => Err(FrameError::BadClose),
        },
        _ => Ok(ClientFrame::Ignored),
    }
}

/// `[channel] + payload`.
pub fn encode(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 1);
    v.push(channel);
    v.extend_from_slice(payload);
    v
}

/// How a process ended, as channel 3 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Success,
    /// Non-zero exit (signals as 128+n); `detail` is the Go-style error text.
    Exit {
        /// The exit code.
        code: i32,
        /// e.g. `error executing command [sh -c exit 3], exit code 3`.
        detail: String,
    },
    /// Something other than the process failed.
    Internal(String),
}

/// The Status JSON for channel 3 (no `kind`/`apiVersion`, like the apiserver's translator).
pub fn status(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Success => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exit { code, detail } => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: {detail}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Outcome::Internal(message) => json!({
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_tolerate_kube_rs_query() {
        let p = StreamParams::parse(
            "&stdout=true&stderr=true&container=app&command=sh&command=-c&command=echo%20hi",
        )
        .unwrap();
        assert_eq!(p.command, ["sh", "-c", "echo hi"]);
        assert_eq!(p.container.as_deref(), Some("app"));
        assert!(p.stdout && p.stderr && !p.stdin && !p.tty);
        assert_eq!(p.first_channel(), STDOUT);
        let tty = StreamParams::parse("stdin=true&tty=true&stderr=true&command=sh").unwrap();
        assert!(!tty.stderr && !tty.stdout);
        assert_eq!(tty.first_channel(), ERROR);
        assert!(StreamParams::parse("command=sh").is_err());
    }

    #[test]
    fn decodes_client_frames() {
        assert_eq!(
            decode(Protocol::V5, b"\x00hi"),
            Ok(ClientFrame::Stdin(b"hi"))
        );
        let r = decode(Protocol::V5, b"\x04{\"Width\":120,\"Height\":40}\n").unwrap();
        assert_eq!(
            r,
            ClientFrame::Resize(Some(TerminalSize {
                width: 120,
                height: 40
            }))
        );
        let two = decode(
            Protocol::V4,
            b"\x04{\"Width\":1,\"Height\":2}{\"Width\":3,\"Height\":4}",
        )
        .unwrap();
        assert_eq!(
            two,
            ClientFrame::Resize(Some(TerminalSize {
                width: 3,
                height: 4
            }))
        );
        assert_eq!(
            decode(Protocol::V5, b"\x04garbage"),
            Ok(ClientFrame::Resize(None))
        );
        assert_eq!(decode(Protocol::V5, &[255, 0]), Ok(ClientFrame::Close(0)));
        assert_eq!(decode(Protocol::V5, &[255]), Err(FrameError::BadClose));
        assert_eq!(
            decode(Protocol::V5, &[255, 0, 1]),
            Err(FrameError::BadClose)
        );
        assert_eq!(decode(Protocol::V5, &[255, 9]), Err(FrameError::BadClose));
        assert_eq!(decode(Protocol::V4, &[255, 0]), Ok(ClientFrame::Ignored));
        assert_eq!(decode(Protocol::V5, &[7, 1, 2]), Ok(ClientFrame::Ignored));
        assert_eq!(decode(Protocol::V5, b""), Ok(ClientFrame::Ignored));
        let big = encode(RESIZE, &vec![b' '; MAX_RESIZE_BYTES + 1]);
        assert_eq!(decode(Protocol::V5, &big), Err(FrameError::ResizeTooLarge));
    }

    #[test]
    fn status_shapes() {
        assert_eq!(
            status(&Outcome::Success).to_string(),
            r#"{"metadata":{},"status":"Success"}"#
        );
        let s = status(&Outcome::Exit {
            code: 3,
            detail: "x".into(),
        });
        assert_eq!(
            s["details"]["causes"][0],
            json!({"reason": "ExitCode", "message": "3"})
        );
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert!(s.get("code").is_none());
        assert_eq!(status(&Outcome::Internal("boom".into()))["code"], 500);
    }
}
