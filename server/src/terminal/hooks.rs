//! The two seams of the relay: a [`LineFilter`] that decides on each input line before its
//! Enter reaches the pod, and a [`Recorder`] that sees every byte both ways with its time and
//! every resize. Both are plain synchronous traits (no I/O in the relay's hot path: a real
//! recorder hands its events to a writer task). The defaults allow everything and record
//! nothing.

use std::time::Duration;

use keyhole_protocol::terminal::CloseReason;

/// What the filter decided about one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterDecision {
    /// Let Enter through.
    Allow,
    /// Discard the line in the pod's shell (Enter is replaced by Ctrl-U) and tell the user why.
    Block {
        /// Shown to the user as a warning notice.
        message: String,
    },
}

/// Decides on each input line when the user presses Enter.
pub trait LineFilter: Send {
    /// `line` is the text typed since the last Enter, as far as the input stream tells.
    fn check(&mut self, line: &str) -> FilterDecision;
}

/// The default filter: allows every line.
#[derive(Debug, Default)]
pub struct AllowAll;

impl LineFilter for AllowAll {
    fn check(&mut self, _line: &str) -> FilterDecision {
        FilterDecision::Allow
    }
}

/// Sees everything that passes through a session. `at` is the time since the session started.
pub trait Recorder: Send {
    /// Bytes from the browser, as forwarded to the pod.
    fn input(&mut self, at: Duration, data: &[u8]) {
        let _ = (at, data);
    }
    /// Bytes from the pod to the browser.
    fn output(&mut self, at: Duration, data: &[u8]) {
        let _ = (at, data);
    }
    /// The terminal was resized.
    fn resize(&mut self, at: Duration, cols: u16, rows: u16) {
        let _ = (at, cols, rows);
    }
    /// A marker (e.g. a blocked command).
    fn marker(&mut self, at: Duration, label: &str) {
        let _ = (at, label);
    }
    /// The session ended.
    fn finish(&mut self, at: Duration, reason: CloseReason) {
        let _ = (at, reason);
    }
}

/// The default recorder: records nothing.
#[derive(Debug, Default)]
pub struct NoRecorder;

impl Recorder for NoRecorder {}

/// Creates the filter and recorder of each new session (held in the app state, so the
/// recording and filtering modules can plug in without touching the relay).
pub trait SessionHooks: Send + Sync {
    /// A filter for a new session.
    fn filter(&self) -> Box<dyn LineFilter>;
    /// A recorder for a new session.
    fn recorder(&self) -> Box<dyn Recorder>;
    /// Whether sessions are recorded (the terminal bar says so only when they are).
    fn records(&self) -> bool {
        false
    }
}

/// Allow everything, record nothing.
#[derive(Debug, Default)]
pub struct DefaultHooks;

impl SessionHooks for DefaultHooks {
    fn filter(&self) -> Box<dyn LineFilter> {
        Box::new(AllowAll)
    }
    fn recorder(&self) -> Box<dyn Recorder> {
        Box::new(NoRecorder)
    }
}
