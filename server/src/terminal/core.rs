//! The transport-free core of one terminal session: the clock (expiry warning, expiry, idle),
//! the input line tracker that feeds the [`LineFilter`], the parsing of control frames and the
//! byte counters. It does no I/O and owns no tasks, so every rule is a plain `#[test]`; the
//! relay (`relay.rs`) only moves bytes between the socket, the exec stream and this struct.

use std::time::{Duration, Instant};

use keyhole_protocol::terminal::{ClientMsg, CloseReason, MAX_CLIENT_FRAME};

use super::hooks::{FilterDecision, LineFilter};

/// Warn this long before the grant ends.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(60);

/// Ctrl-U: the line-kill character; shells discard the typed line on it.
const KILL_LINE: u8 = 0x15;

/// A timer the relay sleeps on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Time to warn that the grant is about to end.
    Warn,
    /// The grant ends.
    Expire,
    /// The idle timeout might be reached.
    Idle,
}

/// What a fired timer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerAction {
    /// Show a warning.
    Notice(String),
    /// End the session.
    Close(CloseReason, String),
    /// Nothing (activity moved the idle deadline).
    Nothing,
}

/// What to do with a chunk of input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InputOutcome {
    /// Bytes to send to the pod.
    pub forward: Vec<u8>,
    /// Warnings for the user (blocked lines).
    pub blocked: Vec<String>,
}

/// One session's state.
#[derive(Debug)]
pub struct TerminalCore {
    /// When the session started (recorder times are relative to it).
    started: Instant,
    /// When the grant ends.
    expires: Instant,
    /// Whether the expiry warning was sent.
    warned: bool,
    /// Close after this long without traffic.
    idle_timeout: Option<Duration>,
    /// Last input or output.
    last_activity: Instant,
    /// Bytes browser → pod.
    pub bytes_in: u64,
    /// Bytes pod → browser.
    pub bytes_out: u64,
    /// The line typed so far.
    line: LineTracker,
}

impl TerminalCore {
    /// A session starting `now` under a grant that ends at `expires`.
    pub fn new(now: Instant, expires: Instant, idle_timeout: Option<Duration>) -> Self {
        Self {
            started: now,
            expires,
            warned: false,
            idle_timeout,
            last_activity: now,
            bytes_in: 0,
            bytes_out: 0,
            line: LineTracker::default(),
        }
    }

    /// Time since the start (for the recorder).
    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// The earliest pending timer.
    pub fn next_timer(&self) -> (Instant, Timer) {
        let mut next = (self.expires, Timer::Expire);
        if !self.warned {
            let warn = self
                .expires
                .checked_sub(EXPIRY_WARNING)
                .map_or(self.started, |w| w.max(self.started));
            if warn < next.0 {
                next = (warn, Timer::Warn);
            }
        }
        if let Some(idle) = self.idle_timeout {
            let at = self.last_activity + idle;
            if at < next.0 {
                next = (at, Timer::Idle);
            }
        }
        next
    }

    /// Handles a timer that fired at `now`.
    pub fn fire(&mut self, timer: Timer, now: Instant) -> TimerAction {
        match timer {
            Timer::Expire => TimerAction::Close(
                CloseReason::Expired,
                "The grant has expired; the session is closed. Request access again to continue."
                    .into(),
            ),
            Timer::Warn => {
                self.warned = true;
                let left = self.expires.saturating_duration_since(now).as_secs();
                TimerAction::Notice(format!(
                    "The grant expires in {left} s; the session will be closed then."
                ))
            }
            Timer::Idle => match self.idle_timeout {
                Some(idle) if now.saturating_duration_since(self.last_activity) >= idle => {
                    TimerAction::Close(
                        CloseReason::Idle,
                        format!(
                            "No activity for {} s; the session is closed.",
                            idle.as_secs()
                        ),
                    )
                }
                _ => TimerAction::Nothing,
            },
        }
    }

    /// Parses a text frame. A malformed one yields the notice to show, not an error: a buggy
    /// or hostile client must not be able to crash the session by sending junk.
    pub fn parse_control(&self, text: &str) -> Result<ClientMsg, String> {
        if text.len() > MAX_CLIENT_FRAME {
            return Err("control message too large; ignored".into());
        }
        match serde_json::from_str::<ClientMsg>(text) {
            Ok(ClientMsg::Resize { cols, rows }) if cols == 0 || rows == 0 => {
                Err("resize to zero columns or rows ignored".into())
            }
            Ok(msg) => Ok(msg),
            Err(e) => Err(format!("unknown control message ignored ({e})")),
        }
    }

    /// Input from the browser: tracks the line, lets the filter decide at each Enter.
    pub fn on_input(
        &mut self,
        now: Instant,
        data: &[u8],
        filter: &mut dyn LineFilter,
    ) -> InputOutcome {
        self.last_activity = now;
        let mut out = InputOutcome::default();
        for &b in data {
            if b == b'\r' || b == b'\n' {
                let line = self.line.take();
                match filter.check(&line) {
                    FilterDecision::Allow => out.forward.push(b),
                    FilterDecision::Block { message } => {
                        out.forward.push(KILL_LINE);
                        out.blocked.push(message);
                    }
                }
            } else {
                self.line.push(b);
                out.forward.push(b);
            }
        }
        self.bytes_in += out.forward.len() as u64;
        out
    }

    /// Output to the browser.
    pub fn on_output(&mut self, now: Instant, len: usize) {
        self.last_activity = now;
        self.bytes_out += len as u64;
    }
}

/// The current input line, reconstructed from keystrokes: printable bytes are appended,
/// Backspace removes one character, Ctrl-C/Ctrl-U clear, escape sequences (arrows, …) are
/// skipped. It is a best effort (the shell's own editing is invisible here); the command
/// filter's real input is this line plus the screen, which the filter module adds.
#[derive(Debug, Default)]
struct LineTracker {
    line: Vec<u8>,
    in_escape: bool,
}

/// Longest line kept; a longer paste still passes, only its tail is checked.
const MAX_LINE: usize = 8 * 1024;

impl LineTracker {
    fn push(&mut self, b: u8) {
        if self.in_escape {
            // CSI/SS3 sequences end with a letter or '~'.
            if b.is_ascii_alphabetic() || b == b'~' {
                self.in_escape = false;
            }
            return;
        }
        match b {
            0x1b => self.in_escape = true,
            0x7f | 0x08 => {
                // Remove one UTF-8 character.
                while let Some(c) = self.line.pop() {
                    if c & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            0x03 | 0x15 => self.line.clear(),
            b if b >= 0x20 || b == b'\t' => {
                if self.line.len() >= MAX_LINE {
                    self.line.drain(..MAX_LINE / 2);
                }
                self.line.push(b);
            }
            _ => {}
        }
    }

    fn take(&mut self) -> String {
        self.in_escape = false;
        String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terminal::hooks::AllowAll;

    struct BlockRm(Vec<String>);
    impl LineFilter for BlockRm {
        fn check(&mut self, line: &str) -> FilterDecision {
            self.0.push(line.to_owned());
            if line.starts_with("rm ") {
                FilterDecision::Block {
                    message: "rm is not allowed".into(),
                }
            } else {
                FilterDecision::Allow
            }
        }
    }

    #[test]
    fn timers_warn_then_expire() {
        let t0 = Instant::now();
        let mut s = TerminalCore::new(t0, t0 + Duration::from_secs(300), None);
        assert_eq!(s.next_timer(), (t0 + Duration::from_secs(240), Timer::Warn));
        let a = s.fire(Timer::Warn, t0 + Duration::from_secs(240));
        assert_eq!(
            a,
            TimerAction::Notice(
                "The grant expires in 60 s; the session will be closed then.".into()
            )
        );
        assert_eq!(
            s.next_timer(),
            (t0 + Duration::from_secs(300), Timer::Expire)
        );
        assert!(matches!(
            s.fire(Timer::Expire, t0 + Duration::from_secs(300)),
            TimerAction::Close(CloseReason::Expired, _)
        ));
    }

    #[test]
    fn short_grant_warns_at_once() {
        let t0 = Instant::now();
        let s = TerminalCore::new(t0, t0 + Duration::from_secs(10), None);
        assert_eq!(s.next_timer(), (t0, Timer::Warn));
    }

    #[test]
    fn idle_deadline_moves_with_activity() {
        let t0 = Instant::now();
        let idle = Duration::from_secs(10);
        let mut s = TerminalCore::new(t0, t0 + Duration::from_secs(3600), Some(idle));
        s.warned = true;
        assert_eq!(s.next_timer(), (t0 + idle, Timer::Idle));
        s.on_output(t0 + Duration::from_secs(5), 3);
        assert_eq!(s.fire(Timer::Idle, t0 + idle), TimerAction::Nothing);
        assert!(matches!(
            s.fire(Timer::Idle, t0 + Duration::from_secs(15)),
            TimerAction::Close(CloseReason::Idle, _)
        ));
        assert_eq!(s.bytes_out, 3);
    }

    #[test]
    fn filter_sees_lines_and_blocks_enter() {
        let t0 = Instant::now();
        let mut s = TerminalCore::new(t0, t0 + Duration::from_secs(3600), None);
        let mut f = BlockRm(Vec::new());
        let out = s.on_input(t0, b"ls -l\r", &mut f);
        assert_eq!(out.forward, b"ls -l\r");
        let out = s.on_input(t0, b"rm -rf /x\x7f\x7fy\r", &mut f);
        assert_eq!(out.forward, b"rm -rf /x\x7f\x7fy\x15");
        assert_eq!(out.blocked, ["rm is not allowed"]);
        s.on_input(t0, b"ec\x1b[Dho\x03pwd\r", &mut f);
        assert_eq!(f.0, ["ls -l", "rm -rf y", "pwd"]);
        assert_eq!(s.bytes_in, 6 + 13 + 12);
        let all = s.on_input(t0, b"x\n", &mut AllowAll);
        assert_eq!(all.forward, b"x\n");
    }

    #[test]
    fn control_frames() {
        let t0 = Instant::now();
        let s = TerminalCore::new(t0, t0, None);
        assert_eq!(
            s.parse_control(r#"{"type":"resize","cols":100,"rows":30}"#),
            Ok(ClientMsg::Resize {
                cols: 100,
                rows: 30
            })
        );
        assert!(s.parse_control("not json").is_err());
        assert!(s.parse_control(r#"{"type":"launch"}"#).is_err());
        assert!(
            s.parse_control(r#"{"type":"resize","cols":0,"rows":30}"#)
                .is_err()
        );
        assert!(s.parse_control(&"x".repeat(MAX_CLIENT_FRAME + 1)).is_err());
    }
}
