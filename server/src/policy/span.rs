//! Source positions, and the diagnostics that carry them.
//!
//! Every problem in a policy file is reported as `FILE:LINE:COLUMN: message`, including the
//! semantic ones found after parsing (a duplicate name, a duration over the maximum, an e-mail
//! address where a group belongs). serde gives positions only for the errors it raises itself, so
//! the raw model wraps every value that validation may complain about in [`At`], which keeps the
//! node's start position from the YAML parser (`marked-yaml`).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use marked_yaml::Spanned;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;

/// A 1-based line and column in the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

impl Pos {
    /// The start of the file: used when a problem has no better place (e.g. an empty file).
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub(crate) fn of_marker(marker: Option<&marked_yaml::Marker>) -> Pos {
        marker.map_or(Pos::START, |m| Pos {
            line: m.line().max(1),
            column: m.column().max(1),
        })
    }
}

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The policy is rejected.
    Error,
    /// The policy loads, but something in it is probably not what the author meant.
    Warning,
}

/// One problem found in a policy (or cases) file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the offending key or value starts.
    pub pos: Pos,
    /// What is wrong, and where it helps, what to do instead.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn error(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            pos,
            message: message.into(),
        }
    }

    pub(crate) fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            pos,
            message: message.into(),
        }
    }

    /// `ORIGIN:LINE:COL: message` (warnings say so after the position).
    pub fn display<'a>(&'a self, origin: &'a str) -> impl fmt::Display + 'a {
        DisplayWithOrigin(self, origin)
    }
}

struct DisplayWithOrigin<'a>(&'a Diagnostic, &'a str);

impl fmt::Display for DisplayWithOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(d, origin) = self;
        write!(f, "{origin}:{}:{}: ", d.pos.line, d.pos.column)?;
        if d.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&d.message)
    }
}

/// A value read from the file together with the position where it starts.
///
/// Transparent for serde (the file has no trace of it) and for the JSON Schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub(crate) struct At<T>(Spanned<T>);

impl<T> At<T> {
    /// Where the value starts.
    pub(crate) fn pos(&self) -> Pos {
        Pos::of_marker(self.0.span().start())
    }
}

impl<T> Deref for At<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}
