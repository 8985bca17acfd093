//! Configuration: a TOML file plus `KEYHOLE_*` environment overrides, parsed once
//! into a validated [`Config`].
//!
//! The raw layer ([`RawConfig`]) mirrors the file as closely as possible and
//! rejects unknown keys; [`Config::from_raw`] then checks values and fills in
//! defaults. Errors name the key and the file (and the line, for TOML errors),
//! because a gateway that starts with a misspelt key silently ignored is a
//! gateway that runs with a default nobody chose.
//!
//! Secrets ([`Secret`]) never appear in `Debug` output or logs.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

/// A secret string (client secret, database password…) that redacts itself in
/// `Debug` and `Display`, so that logging a config can never leak it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is sent to its one consumer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The file as written, before validation. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    listen: Option<String>,
    public_url: Option<String>,
    dist_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    #[serde(default)]
    database: RawDatabase,
    oidc: Option<RawOidc>,
    #[serde(default)]
    session: RawSession,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    kubernetes: RawKubernetes,
    #[serde(default)]
    terminal: RawTerminal,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    keepalive_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    redirect_url: Option<String>,
    scopes: Option<Vec<String>>,
    groups_claim: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    cookie_name: Option<String>,
    idle_timeout_seconds: Option<u64>,
    absolute_lifetime_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubernetes {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    in_cluster: Option<bool>,
}

/// Validated configuration. Build it with [`Config::load`] or [`Config::from_raw`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL users reach Keyhole at; used for redirects, Origin checks and links.
    pub public_url: Url,
    /// The built web app (Trunk's `dist/`).
    pub dist_dir: PathBuf,
    /// Where the embedded defaults keep state (SQLite file, recordings, devstack).
    pub data_dir: PathBuf,
    /// Log output format.
    pub log_format: LogFormat,
    /// Database URL (`sqlite://…` or `postgres://…`); may hold a password.
    pub database_url: Secret,
    /// OIDC relying-party settings; `None` = start the development IdP in-process.
    pub oidc: Option<OidcConfig>,
    /// Browser session settings.
    pub session: SessionConfig,
    /// Policy file; `None` = the built-in demo policy.
    pub policy_file: Option<PathBuf>,
    /// Where the Kubernetes API is; `Embedded` = start devstack in-process.
    pub kubernetes: KubernetesConfig,
    /// `[terminal]`.
    pub terminal: TerminalConfig,
}

/// `[terminal]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalConfig {
    /// How often an idle terminal's sockets (browser and exec) get a WebSocket ping, so
    /// proxies with an idle timeout (nginx's default is 60 s) keep them open.
    pub keepalive: Duration,
}

/// `[oidc]`.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URL, compared as an exact string with the discovery document's.
    pub issuer: String,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret (`KEYHOLE_OIDC_CLIENT_SECRET`).
    pub client_secret: Secret,
    /// Redirect URL registered at the IdP.
    pub redirect_url: Url,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// ID token claim that carries the user's groups.
    pub groups_claim: String,
}

/// `[session]`.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Cookie name; distinct from the IdP's cookies (cookies ignore the port).
    pub cookie_name: String,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, however active.
    pub absolute_lifetime: Duration,
}

/// `[kubernetes]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubernetesConfig {
    /// Start devstack's Kubernetes-compatible API server in-process (demo only).
    Embedded,
    /// Use the pod's ServiceAccount (in-cluster config).
    InCluster,
    /// Use a kubeconfig file and optionally one of its contexts.
    Kubeconfig {
        /// Path of the kubeconfig.
        path: PathBuf,
        /// Context to use; `None` = the file's current context.
        context: Option<String>,
    },
}

/// A configuration problem, with the key and file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("{origin}: {message}")]
    Parse {
        /// File (or `environment`).
        origin: String,
        /// toml's message, one line, with line and column.
        message: String,
    },
    /// A value is present but wrong.
    #[error("{origin}: invalid value for `{key}`: {message}")]
    Invalid {
        /// File (or `environment`).
        origin: String,
        /// Dotted key, e.g. `oidc.issuer`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Environment variables that override file keys, and the key each sets.
/// Listed explicitly so a typo in a variable name can be reported too.
const ENV_KEYS: &[(&str, &str)] = &[
    ("KEYHOLE_LISTEN", "listen"),
    ("KEYHOLE_PUBLIC_URL", "public_url"),
    ("KEYHOLE_DIST_DIR", "dist_dir"),
    ("KEYHOLE_DATA_DIR", "data_dir"),
    ("KEYHOLE_LOG_FORMAT", "log_format"),
    ("KEYHOLE_DATABASE_URL", "database.url"),
    ("KEYHOLE_OIDC_ISSUER", "oidc.issuer"),
    ("KEYHOLE_OIDC_CLIENT_ID", "oidc.client_id"),
    ("KEYHOLE_OIDC_CLIENT_SECRET", "oidc.client_secret"),
    ("KEYHOLE_OIDC_REDIRECT_URL", "oidc.redirect_url"),
    ("KEYHOLE_OIDC_GROUPS_CLAIM", "oidc.groups_claim"),
    ("KEYHOLE_POLICY_FILE", "policy.file"),
    ("KEYHOLE_KUBERNETES_KUBECONFIG", "kubernetes.kubeconfig"),
    ("KEYHOLE_KUBERNETES_CONTEXT", "kubernetes.context"),
    (
        "KEYHOLE_TERMINAL_KEEPALIVE_SECONDS",
        "terminal.keepalive_seconds",
    ),
];

impl Config {
    /// Reads `file` (if any), applies `KEYHOLE_*` variables from `env`, validates.
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
        for (name, value) in env {
            if !name.starts_with("KEYHOLE_") || name == "KEYHOLE_CONFIG" || name == "KEYHOLE_LOG" {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| *n == name) else {
                return Err(ConfigError::Invalid {
                    origin: "environment".into(),
                    key: name,
                    message: "unknown KEYHOLE_ variable".into(),
                });
            };
            // Durations are whole seconds; everything else is a string.
            let value = if key.ends_with("_seconds") {
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
        Config::from_raw(raw, &origin)
    }

    /// Validates a raw config. `origin` names the file in errors.
    pub fn from_raw(raw: RawConfig, origin: &str) -> Result<Config, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            key: key.to_owned(),
            message,
        };
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            invalid(
                "listen",
                format!("{listen_text:?}: {e} (expected host:port, e.g. 127.0.0.1:8080)"),
            )
        })?;
        let public_text = raw.public_url.unwrap_or_else(|| format!("http://{listen}"));
        let public_url = parse_http_url(&public_text).map_err(|m| invalid("public_url", m))?;
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = match raw.database.url {
            Some(url) => {
                let u = url.expose();
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    return Err(invalid(
                        "database.url",
                        "must start with sqlite: or postgres://".into(),
                    ));
                }
                url
            }
            None => Secret::new(format!(
                "sqlite://{}",
                data_dir.join("keyhole.db").display()
            )),
        };
        let oidc = match raw.oidc {
            None => None,
            Some(o) => Some(validate_oidc(o, &public_url).map_err(|(k, m)| invalid(&k, m))?),
        };
        let session = RawSession { ..raw.session };
        let idle = session.idle_timeout_seconds.unwrap_or(30 * 60);
        let absolute = session.absolute_lifetime_seconds.unwrap_or(8 * 3600);
        if idle == 0 {
            return Err(invalid(
                "session.idle_timeout_seconds",
                "must be > 0".into(),
            ));
        }
        if absolute == 0 || absolute > 7 * 24 * 3600 {
            return Err(invalid(
                "session.absolute_lifetime_seconds",
                "must be between 1 and 604800 (7 days)".into(),
            ));
        }
        let cookie_name = session
            .cookie_name
            .unwrap_or_else(|| "keyhole_session".into());
        if cookie_name.is_empty()
            || !cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(
                "session.cookie_name",
                "use letters, digits, '_' or '-'".into(),
            ));
        }
        let keepalive = raw.terminal.keepalive_seconds.unwrap_or(30);
        if !(1..=3600).contains(&keepalive) {
            return Err(invalid(
                "terminal.keepalive_seconds",
                "must be between 1 and 3600".into(),
            ));
        }
        let kubernetes = match (raw.kubernetes.in_cluster, raw.kubernetes.kubeconfig) {
            (Some(true), Some(_)) => {
                return Err(invalid(
                    "kubernetes",
                    "set either in_cluster = true or kubeconfig, not both".into(),
                ));
            }
            (Some(true), None) => KubernetesConfig::InCluster,
            (_, Some(path)) => KubernetesConfig::Kubeconfig {
                path,
                context: raw.kubernetes.context,
            },
            (_, None) => KubernetesConfig::Embedded,
        };
        Ok(Config {
            listen,
            public_url,
            dist_dir: raw.dist_dir.unwrap_or_else(|| PathBuf::from("dist")),
            data_dir,
            log_format: raw.log_format.unwrap_or_default(),
            database_url,
            oidc,
            session: SessionConfig {
                cookie_name,
                idle_timeout: Duration::from_secs(idle),
                absolute_lifetime: Duration::from_secs(absolute),
            },
            policy_file: raw.policy.file,
            kubernetes,
            terminal: TerminalConfig {
                keepalive: Duration::from_secs(keepalive),
            },
        })
    }

    /// The origin (`scheme://host[:port]`) browsers send for our own pages.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

fn validate_oidc(o: RawOidc, public_url: &Url) -> Result<OidcConfig, (String, String)> {
    let req = |v: Option<String>, key: &str| {
        v.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            (
                format!("oidc.{key}"),
                "is required when [oidc] is present".to_owned(),
            )
        })
    };
    let issuer = req(o.issuer, "issuer")?;
    parse_http_url(&issuer).map_err(|m| ("oidc.issuer".to_owned(), m))?;
    let client_id = req(o.client_id, "client_id")?;
    let client_secret = o.client_secret.ok_or_else(|| {
        (
            "oidc.client_secret".to_owned(),
            "is required (or set KEYHOLE_OIDC_CLIENT_SECRET)".to_owned(),
        )
    })?;
    let redirect_url = match o.redirect_url {
        Some(s) => parse_http_url(&s).map_err(|m| ("oidc.redirect_url".to_owned(), m))?,
        None => public_url.join("auth/callback").expect("valid join"),
    };
    let scopes = o.scopes.unwrap_or_else(|| {
        ["openid", "profile", "email", "groups"]
            .map(String::from)
            .to_vec()
    });
    if !scopes.iter().any(|s| s == "openid") {
        return Err(("oidc.scopes".into(), "must include \"openid\"".into()));
    }
    Ok(OidcConfig {
        issuer,
        client_id,
        client_secret,
        redirect_url,
        scopes,
        groups_claim: o.groups_claim.unwrap_or_else(|| "groups".into()),
    })
}

fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{text:?}: must be an http:// or https:// URL"));
    }
    Ok(url)
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

#[cfg(test)]
mod tests;
