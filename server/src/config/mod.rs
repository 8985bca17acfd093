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
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

mod env;
mod load;
mod metrics;
mod validate;

pub use env::{DEV_UNSAFE_PHRASE, DEV_UNSAFE_VAR, check_dev_mode};

pub use metrics::MetricsConfig;
use validate::{parse_http_url, seconds};

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
    /// Human-readable lines (the default); `text` or `human`.
    #[default]
    #[serde(alias = "text")]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The file as written, before validation. Unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Development mode (`--dev`, `KEYHOLE_DEV`); see [`Config::dev`].
    dev: Option<bool>,
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
    #[serde(default)]
    access: RawAccess,
    #[serde(default)]
    metrics: metrics::RawMetrics,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccess {
    recheck_seconds: Option<u64>,
    verify_grace_seconds: Option<u64>,
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
    username_claim: Option<String>,
    username_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    cookie_name: Option<String>,
    idle_timeout_seconds: Option<u64>,
    absolute_lifetime_seconds: Option<u64>,
    groups_max_age_seconds: Option<u64>,
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
    /// Development mode (`keyhole serve --dev`, `dev = true`, `KEYHOLE_DEV=true`): the
    /// development stand-ins (devstack's in-process cluster, the development IdP) take the place
    /// of a missing `[kubernetes]` or `[oidc]`. Without it a missing section is a startup error.
    pub dev: bool,
    /// In development mode, the refusals of [`check_dev_mode`] that `KEYHOLE_DEV_UNSAFE`
    /// overrode (logged as warnings at start); normally empty.
    pub dev_unsafe: Vec<String>,
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
    /// OIDC relying-party settings; `None` = no `[oidc]`, which only development mode
    /// accepts (the development IdP stands in).
    pub oidc: Option<OidcConfig>,
    /// Browser session settings.
    pub session: SessionConfig,
    /// Policy file; `None` = the built-in demo policy.
    pub policy_file: Option<PathBuf>,
    /// Where the Kubernetes API is; `Embedded` = no `[kubernetes]`, which only development
    /// mode accepts (devstack's cluster stands in).
    pub kubernetes: KubernetesConfig,
    /// `[terminal]`.
    pub terminal: TerminalConfig,
    /// `[access]`: how open streams are re-checked.
    pub access: AccessConfig,
    /// `[metrics]`: the token `/metrics` requires (none = not served).
    pub metrics: MetricsConfig,
}

/// `[access]`: how every open stream (terminal, log stream, live view) is re-checked against
/// the database, besides the notifications that end it at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessConfig {
    /// Re-check every open stream's grant and web session this often (jittered ±20 %).
    pub recheck: Duration,
    /// When the database cannot be asked for this long, every open stream ends
    /// ("cannot verify access") instead of running unchecked.
    pub verify_grace: Duration,
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
    /// ID token claim whose value (after [`OidcConfig::username_prefix`]) is the Kubernetes
    /// user name (`Impersonate-User`). `email` (the default) also requires `email_verified`.
    pub username_claim: String,
    /// Prepended to the claim's value, like the API server's `--oidc-username-prefix`
    /// (e.g. `keyhole:`), so RBAC bindings made for the person directly do not apply
    /// through the gateway. Empty = none.
    pub username_prefix: String,
}

impl OidcConfig {
    /// Defaults for the claims and prefix: `email`, no prefix (what the dev IdP setup uses).
    pub const DEFAULT_USERNAME_CLAIM: &'static str = "email";
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
    /// The IdP groups of a session are at most this old when it requests, approves or denies
    /// access; older ones need a fresh sign-in (groups come from the ID token at login).
    pub groups_max_age: Duration,
}

/// `[kubernetes]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubernetesConfig {
    /// No `[kubernetes]` section: only in development mode, where devstack's
    /// Kubernetes-compatible API server is started in-process in its place (demo only).
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
    /// The configuration is valid but Keyhole refuses to start with it: a required section is
    /// missing outside development mode, or development mode is asked for where it is unsafe.
    #[error("{origin}: {message}")]
    Refused {
        /// File (or `defaults`).
        origin: String,
        /// What is missing or unsafe, and how to fix it.
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

impl Config {
    /// Validates a raw config. `origin` names the file in errors.
    pub fn from_raw(raw: RawConfig, origin: &str) -> Result<Config, ConfigError> {
        let invalid = |(key, message): (String, String)| ConfigError::Invalid {
            origin: origin.to_owned(),
            key,
            message,
        };
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|e| {
            invalid((
                "listen".into(),
                format!("{listen_text:?}: {e} (expected host:port, e.g. 127.0.0.1:8080)"),
            ))
        })?;
        let public_text = raw.public_url.unwrap_or_else(|| format!("http://{listen}"));
        let public_url =
            parse_http_url(&public_text).map_err(|m| invalid(("public_url".into(), m)))?;
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = validate::database_url(raw.database, &data_dir).map_err(invalid)?;
        let oidc = match raw.oidc {
            None => None,
            Some(o) => Some(validate::oidc(o, &public_url).map_err(invalid)?),
        };
        let session = validate::session(raw.session).map_err(invalid)?;
        let terminal = TerminalConfig {
            keepalive: seconds(
                "terminal.keepalive_seconds",
                raw.terminal.keepalive_seconds,
                30,
                3600,
            )
            .map_err(invalid)?,
        };
        let access = AccessConfig {
            recheck: seconds("access.recheck_seconds", raw.access.recheck_seconds, 5, 300)
                .map_err(invalid)?,
            verify_grace: seconds(
                "access.verify_grace_seconds",
                raw.access.verify_grace_seconds,
                30,
                3600,
            )
            .map_err(invalid)?,
        };
        let kubernetes = validate::kubernetes(raw.kubernetes).map_err(invalid)?;
        let metrics = raw.metrics.validate().map_err(invalid)?;
        let dev = raw.dev.unwrap_or(false);
        if !dev {
            validate::missing_sections(kubernetes == KubernetesConfig::Embedded, oidc.is_none())
                .map_err(|message| ConfigError::Refused {
                    origin: origin.to_owned(),
                    message,
                })?;
        }
        Ok(Config {
            dev,
            dev_unsafe: Vec::new(),
            listen,
            public_url,
            dist_dir: raw.dist_dir.unwrap_or_else(|| PathBuf::from("dist")),
            data_dir,
            log_format: raw.log_format.unwrap_or_default(),
            database_url,
            oidc,
            session,
            policy_file: raw.policy.file,
            kubernetes,
            terminal,
            access,
            metrics,
        })
    }

    /// The origin (`scheme://host[:port]`) browsers send for our own pages.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests;
