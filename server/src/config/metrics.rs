//! `[metrics]`: the bearer token that `/metrics` requires. Without a token `/metrics` is not
//! served at all (fail closed): an unauthenticated metrics page would show who is working on
//! what, and when.
//!
//! The token comes from `metrics.token` (better: `KEYHOLE_METRICS_TOKEN`) or from the file
//! `metrics.token_file` (e.g. a mounted Kubernetes secret), read once at start. It is a
//! [`Secret`]: never in `Debug` output, logs or error messages.

use std::path::PathBuf;

use serde::Deserialize;

use super::Secret;

/// Shortest accepted token, in characters.
pub(super) const MIN_TOKEN_LEN: usize = 16;
/// Longest accepted token, in characters.
pub(super) const MAX_TOKEN_LEN: usize = 1024;

/// `[metrics]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    token: Option<Secret>,
    token_file: Option<PathBuf>,
}

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsConfig {
    /// The bearer token `/metrics` requires; `None` = `/metrics` is not served (404).
    pub token: Option<Secret>,
}

impl RawMetrics {
    /// Resolves the token; `Err((key, message))` names the key and never holds the token.
    pub(super) fn validate(self) -> Result<MetricsConfig, (String, String)> {
        let (key, token) = match (self.token, self.token_file) {
            (Some(_), Some(_)) => {
                return Err((
                    "metrics".into(),
                    "set either metrics.token (KEYHOLE_METRICS_TOKEN) or metrics.token_file, \
                     not both"
                        .into(),
                ));
            }
            (None, None) => return Ok(MetricsConfig::default()),
            (Some(token), None) => ("metrics.token", token.expose().trim().to_owned()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    (
                        "metrics.token_file".to_owned(),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                ("metrics.token_file", text.trim().to_owned())
            }
        };
        check_token(&token).map_err(|m| (key.to_owned(), m))?;
        Ok(MetricsConfig {
            token: Some(Secret::new(token)),
        })
    }
}

/// A token must fit an `Authorization` header and be long enough not to be guessed.
fn check_token(token: &str) -> Result<(), String> {
    let n = token.chars().count();
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&n) {
        return Err(format!(
            "the token must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters long \
             (e.g. `openssl rand -hex 32`)"
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "the token must be printable ASCII without spaces (it is sent in a header)".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(token: Option<&str>, file: Option<PathBuf>) -> RawMetrics {
        RawMetrics {
            token: token.map(Secret::new),
            token_file: file,
        }
    }

    #[test]
    fn no_token_means_no_metrics() {
        assert_eq!(raw(None, None).validate().unwrap().token, None);
    }

    #[test]
    fn a_token_is_trimmed_and_checked_without_being_echoed() {
        let c = raw(Some(" 0123456789abcdef\n"), None).validate().unwrap();
        assert_eq!(c.token.unwrap().expose(), "0123456789abcdef");
        for bad in ["short-token", "0123456789 abcdef", "0123456789abcdéf", ""] {
            let (key, message) = raw(Some(bad), None).validate().unwrap_err();
            assert_eq!(key, "metrics.token");
            assert!(bad.is_empty() || !message.contains(bad), "{message}");
        }
    }

    #[test]
    fn a_token_file_is_read_and_both_sources_are_refused() {
        let dir = std::env::temp_dir().join(format!("keyhole-metrics-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "s3cret-metrics-token-value\n").unwrap();
        let c = raw(None, Some(file.clone())).validate().unwrap();
        assert_eq!(c.token.unwrap().expose(), "s3cret-metrics-token-value");
        let (key, message) = raw(Some("0123456789abcdef"), Some(file.clone()))
            .validate()
            .unwrap_err();
        assert_eq!(key, "metrics");
        assert!(!message.contains("s3cret"), "{message}");
        let (key, message) = raw(None, Some(dir.join("missing"))).validate().unwrap_err();
        assert_eq!(key, "metrics.token_file");
        assert!(message.contains("missing"), "{message}");
        std::fs::write(&file, "tiny\n").unwrap();
        let (_, message) = raw(None, Some(file)).validate().unwrap_err();
        assert!(!message.contains("tiny"), "{message}");
    }

    #[test]
    fn the_environment_sets_the_token_and_debug_never_shows_it() {
        let env = [
            ("KEYHOLE_DEV", "true"),
            ("KEYHOLE_METRICS_TOKEN", "env-metrics-token-0123456789"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = super::super::Config::load(None, env).unwrap();
        let token = config.metrics.token.as_ref().unwrap();
        assert_eq!(token.expose(), "env-metrics-token-0123456789");
        let debug = format!("{config:?}");
        assert!(!debug.contains("env-metrics-token"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }
}
