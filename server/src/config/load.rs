//! Reading the config: the TOML file, then `KEYHOLE_*` overrides (`env.rs`), then the checks of
//! `Config::from_raw`. Parse errors name the file and line.

use std::path::Path;

use super::env::{BOOL_KEYS, DEV_UNSAFE_VAR, ENV_KEYS, check_dev_mode};
use super::{Config, ConfigError, RawConfig};

impl Config {
    /// Reads `file` (if any), applies `KEYHOLE_*` variables from `env`, validates, and, in
    /// development mode, applies [`check_dev_mode`] to `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (origin, mut table) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let table: toml::Table =
                    toml::from_str(&text).map_err(|e| parse_error(path, &e))?;
                // Parse once more into the typed raw layer, so unknown keys and
                // wrong types are reported with their line before env merges in.
                let _: RawConfig = toml::from_str(&text).map_err(|e| parse_error(path, &e))?;
                (path.display().to_string(), table)
            }
            None => ("defaults".to_owned(), toml::Table::new()),
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (name, value) in env.iter().cloned() {
            if !name.starts_with("KEYHOLE_")
                || name == "KEYHOLE_CONFIG"
                || name == "KEYHOLE_LOG"
                || name == DEV_UNSAFE_VAR
            {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| *n == name) else {
                return Err(ConfigError::Invalid {
                    origin: "environment".into(),
                    key: name,
                    message: "unknown KEYHOLE_ variable".into(),
                });
            };
            // Durations are whole seconds, booleans TOML's; everything else is a string.
            let value = if BOOL_KEYS.contains(key) {
                match value.trim() {
                    "true" | "1" => toml::Value::Boolean(true),
                    "false" | "0" => toml::Value::Boolean(false),
                    _ => {
                        return Err(ConfigError::Invalid {
                            origin: "environment".into(),
                            key: name,
                            message: format!("expected true or false (or 1 or 0), got {value:?}"),
                        });
                    }
                }
            } else if key.ends_with("_seconds") {
                match value.trim().parse::<i64>() {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => {
                        return Err(ConfigError::Invalid {
                            origin: "environment".into(),
                            key: name,
                            message: format!("expected a whole number of seconds, got {value:?}"),
                        });
                    }
                }
            } else {
                toml::Value::String(value)
            };
            set_dotted(&mut table, key, value);
        }
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                origin: format!("{origin} (with environment overrides)"),
                message: one_line(e.message()),
            })?;
        let mut config = Config::from_raw(raw, &origin)?;
        if config.dev {
            config.dev_unsafe = check_dev_mode(config.listen, &env)
                .map_err(|message| ConfigError::Refused { origin, message })?;
        }
        Ok(config)
    }
}

fn parse_error(path: &Path, e: &toml::de::Error) -> ConfigError {
    let message = match e.span() {
        Some(span) => {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", one_line(e.message()))
        }
        None => one_line(e.message()),
    };
    ConfigError::Parse {
        origin: path.display().to_string(),
        message,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().expect("non-empty key");
    let mut t = table;
    for p in parts {
        t = t
            .entry(p)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("config sections are tables");
    }
    t.insert(last.to_owned(), value);
}
