//! Reading a policy (or cases) file: YAML or JSON text → typed raw model, with positions.
//!
//! One parser for both formats: JSON is YAML's flow style, so `marked-yaml` reads it and keeps
//! the start position of every node. JSON gets one extra pass through `serde_json` first so that
//! a JSON syntax error reads like one. serde errors (unknown field, wrong type, missing field)
//! come back with the node's position and the path of the offending key; semantic validation is
//! in `validate.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use marked_yaml::{LoadError as YamlError, LoaderOptions};
use serde::de::DeserializeOwned;

use super::span::{Diagnostic, Pos, Severity};

/// A policy that could not be loaded because of what is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors {
    /// The file name (or other origin) the positions refer to.
    pub origin: String,
    /// Every problem found, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyErrors {
    /// Only the errors (the warnings that came with them are in `diagnostics` too).
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for PolicyErrors {
    /// One `ORIGIN:LINE:COL: message` line per diagnostic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}", d.display(&self.origin))?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

/// Why a policy file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid policy.
    #[error("{0}")]
    Invalid(PolicyErrors),
}

impl LoadError {
    /// Every diagnostic as `ORIGIN:LINE:COL: message` strings (an unreadable file gives one line).
    pub fn lines(&self) -> Vec<String> {
        match self {
            LoadError::Unreadable { .. } => vec![self.to_string()],
            LoadError::Invalid(errors) => errors
                .diagnostics
                .iter()
                .map(|d| d.display(&errors.origin).to_string())
                .collect(),
        }
    }
}

/// Reads a file as text, for the loaders.
pub(crate) fn read_text(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

/// Whether the text should be read as JSON (by name, or by its first character).
fn looks_like_json(src: &str, origin: &str) -> bool {
    origin.to_ascii_lowercase().ends_with(".json") || src.trim_start().starts_with('{')
}

/// Parses `src` (YAML or JSON) into `T`, or says where and why it does not fit.
pub(crate) fn parse_document<T: DeserializeOwned>(
    src: &str,
    origin: &str,
) -> Result<T, Diagnostic> {
    let owned;
    let mut text = src;
    if looks_like_json(src, origin) {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(src) {
            let pos = Pos {
                line: e.line().max(1),
                column: e.column().max(1),
            };
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            return Err(Diagnostic::error(pos, format!("invalid JSON: {msg}")));
        }
        // Valid JSON has raw tabs only between tokens, where YAML forbids them; a space keeps
        // every line and column where it was.
        owned = src.replace('\t', " ");
        text = &owned;
    }
    if text.trim().is_empty() {
        return Err(Diagnostic::error(Pos::START, "the file is empty"));
    }
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .toplevel_mapping();
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(yaml_error)?;
    marked_yaml::from_node(&node).map_err(|e| {
        let pos = Pos::of_marker(e.start_mark().as_ref());
        // For an unknown field the path ends with the field itself; the message names it.
        let path = match &*e {
            marked_yaml::Error::UnknownFieldError(field, _, _) => e.path().map(|p| {
                p.strip_suffix(field.as_str())
                    .map_or(p, |rest| rest.strip_suffix('.').unwrap_or(rest))
            }),
            _ => e.path(),
        };
        let message = match path.filter(|p| !p.is_empty() && *p != ".") {
            Some(path) => format!("{path}: {}", describe(&e)),
            None => describe(&e),
        };
        Diagnostic::error(pos, message)
    })
}

/// serde's messages, with marked-yaml's capitalisation brought in line with ours.
fn describe(e: &marked_yaml::FromNodeError) -> String {
    let text = e.to_string();
    let text = match e.path() {
        Some(path) => text
            .strip_prefix(path)
            .and_then(|t| t.strip_prefix(": "))
            .unwrap_or(&text)
            .to_owned(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

fn yaml_error(e: YamlError) -> Diagnostic {
    let at = |m: &marked_yaml::Marker| Pos::of_marker(Some(m));
    match e {
        YamlError::TopLevelMustBeMapping(m) => Diagnostic::error(
            at(&m),
            "the top level must be a mapping (`version: 1`, `profiles: …`)",
        ),
        YamlError::TopLevelMustBeSequence(m) => {
            Diagnostic::error(at(&m), "the top level must be a list")
        }
        YamlError::UnexpectedAnchor(m) => Diagnostic::error(
            at(&m),
            "YAML anchors and aliases are not supported: write values out so reviewers see them",
        ),
        YamlError::MappingKeyMustBeScalar(m) => {
            Diagnostic::error(at(&m), "mapping keys must be plain strings")
        }
        YamlError::UnexpectedTag(m) => Diagnostic::error(at(&m), "YAML tags are not supported"),
        YamlError::ScanError(m, err) => {
            Diagnostic::error(at(&m), format!("YAML syntax error: {}", err.info()))
        }
        YamlError::DuplicateKey(inner) => {
            let first = Pos::of_marker(inner.prev_key.span().start());
            Diagnostic::error(
                Pos::of_marker(inner.key.span().start()),
                format!(
                    "duplicate key `{}` (first at line {})",
                    inner.key.as_str(),
                    first.line
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::super::span::At;
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: At<String>,
        #[serde(default)]
        #[allow(dead_code)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        n: u32,
    }

    fn err(src: &str, origin: &str) -> Diagnostic {
        parse_document::<Doc>(src, origin).unwrap_err()
    }

    #[test]
    fn values_keep_their_position() {
        let doc: Doc = parse_document("# c\nname:   x\n", "p.yaml").unwrap();
        assert_eq!(doc.name.pos(), Pos { line: 2, column: 9 });
        assert_eq!(*doc.name, "x");
    }

    #[test]
    fn unknown_fields_point_at_their_line_and_path() {
        let d = err("name: x\nitems:\n  - n: 1\n  - n: 2\n    m: 3\n", "p.yaml");
        assert_eq!((d.pos.line, d.pos.column), (5, 5), "the key itself");
        assert!(
            d.message.starts_with("items[1]: unknown field `m`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let d = err("name: x\nitems:\n  - n: lots\n", "p.yaml");
        assert_eq!((d.pos.line, d.pos.column), (3, 8), "{}", d.message);
        assert!(d.message.contains("items[0].n"), "{}", d.message);
    }

    #[test]
    fn syntax_and_duplicate_keys_are_errors() {
        let d = err("name: x\nname: y\n", "p.yaml");
        assert_eq!(d.pos.line, 2);
        assert!(d.message.contains("duplicate key `name`"), "{}", d.message);
        let d = err("name: [x\n", "p.yaml");
        assert!(d.message.starts_with("YAML syntax error"), "{}", d.message);
        let d = err("- a\n", "p.yaml");
        assert!(d.message.contains("top level must be a mapping"));
        assert_eq!(err("", "p.yaml").message, "the file is empty");
    }

    #[test]
    fn json_is_accepted_with_positions_and_tabs() {
        let doc: Doc = parse_document(
            "{\n\t\"name\": \"x\",\n\t\"items\": [{\"n\": 1}]\n}",
            "p.json",
        )
        .unwrap();
        assert_eq!(doc.name.pos().line, 2);
        let d = err("{\n  \"name\": \"x\",\n  \"oops\": 1\n}", "p.json");
        assert_eq!(d.pos.line, 3, "{}", d.message);
        let d = err("{\n  \"name\": \"x\",,\n}", "p.json");
        assert_eq!(d.pos.line, 2);
        assert!(d.message.starts_with("invalid JSON"), "{}", d.message);
    }
}
