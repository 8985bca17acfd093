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

mod metrics;
pub use metrics::MetricsConfig;

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

/// Environment variables that override file keys, and the key each sets.
/// Listed explicitly so a typo in a variable name can be reported too.
const ENV_KEYS: &[(&str, &str)] = &[
    ("KEYHOLE_DEV", "dev"),
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
    ("KEYHOLE_OIDC_USERNAME_CLAIM", "oidc.username_claim"),
    ("KEYHOLE_OIDC_USERNAME_PREFIX", "oidc.username_prefix"),
    (
        "KEYHOLE_SESSION_IDLE_TIMEOUT_SECONDS",
        "session.idle_timeout_seconds",
    ),
    (
        "KEYHOLE_SESSION_ABSOLUTE_LIFETIME_SECONDS",
        "session.absolute_lifetime_seconds",
    ),
    (
        "KEYHOLE_SESSION_GROUPS_MAX_AGE_SECONDS",
        "session.groups_max_age_seconds",
    ),
    ("KEYHOLE_POLICY_FILE", "policy.file"),
    ("KEYHOLE_KUBERNETES_KUBECONFIG", "kubernetes.kubeconfig"),
    ("KEYHOLE_KUBERNETES_CONTEXT", "kubernetes.context"),
    ("KEYHOLE_KUBERNETES_IN_CLUSTER", "kubernetes.in_cluster"),
    ("KEYHOLE_ACCESS_RECHECK_SECONDS", "access.recheck_seconds"),
    (
        "KEYHOLE_ACCESS_VERIFY_GRACE_SECONDS",
        "access.verify_grace_seconds",
    ),
    (
        "KEYHOLE_TERMINAL_KEEPALIVE_SECONDS",
        "terminal.keepalive_seconds",
    ),
    ("KEYHOLE_METRICS_TOKEN", "metrics.token"),
    ("KEYHOLE_METRICS_TOKEN_FILE", "metrics.token_file"),
];

/// Keys whose `KEYHOLE_*` variable is a boolean: `true`/`false` (TOML's spelling) or `1`/`0`.
const BOOL_KEYS: &[&str] = &["dev", "kubernetes.in_cluster"];

/// The variable that lets development mode start where [`check_dev_mode`] refuses it.
/// Environment only (not a config key, not a flag), and only with [`DEV_UNSAFE_PHRASE`].
pub const DEV_UNSAFE_VAR: &str = "KEYHOLE_DEV_UNSAFE";

/// The one value of [`DEV_UNSAFE_VAR`] that overrides the refusal.
pub const DEV_UNSAFE_PHRASE: &str = "i-know-this-exposes-the-gateway-host";

/// Decides whether development mode may start: it is refused inside a Kubernetes cluster
/// (`KUBERNETES_SERVICE_HOST` set, as in every pod) and when `listen` is not a loopback
/// address, because its stand-ins run demo "pods" as real processes on the gateway's host and
/// let anyone sign in as a demo user. `KEYHOLE_DEV_UNSAFE=i-know-this-exposes-the-gateway-host`
/// overrides; any other value of it is an error.
///
/// Pure: the environment is passed in (later entries win). Returns the overridden refusals
/// (empty when there was nothing to override), or the one-line error message.
pub fn check_dev_mode(listen: SocketAddr, env: &[(String, String)]) -> Result<Vec<String>, String> {
    let var = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut hazards = Vec::new();
    if let Some(host) = var("KUBERNETES_SERVICE_HOST").filter(|h| !h.trim().is_empty()) {
        hazards.push(format!(
            "KUBERNETES_SERVICE_HOST is set ({host}), so this runs inside a Kubernetes cluster"
        ));
    }
    if !listen.ip().is_loopback() {
        hazards.push(format!("listen = {listen} is not a loopback address"));
    }
    match var(DEV_UNSAFE_VAR) {
        Some(v) if v == DEV_UNSAFE_PHRASE => Ok(hazards),
        Some(v) => Err(format!(
            "{DEV_UNSAFE_VAR} is {v:?}; the only accepted value is {DEV_UNSAFE_PHRASE:?}"
        )),
        None if hazards.is_empty() => Ok(hazards),
        None => Err(format!(
            "development mode (--dev) refused: {}. Its stand-ins run demo pods as real processes              on this host and let anyone sign in as a demo user. Configure [kubernetes] and              [oidc] and run without --dev, or, if you really mean to expose this host, set              {DEV_UNSAFE_VAR}={DEV_UNSAFE_PHRASE}",
            hazards.join("; ")
        )),
    }
}

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
        let absolute = session.absolute_lifetime_seconds.unwrap_or(12 * 3600);
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
        let groups_max_age = session.groups_max_age_seconds.unwrap_or(3600);
        if groups_max_age == 0 || groups_max_age > 7 * 24 * 3600 {
            return Err(invalid(
                "session.groups_max_age_seconds",
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
        let recheck = raw.access.recheck_seconds.unwrap_or(5);
        if !(1..=300).contains(&recheck) {
            return Err(invalid(
                "access.recheck_seconds",
                "must be between 1 and 300".into(),
            ));
        }
        let verify_grace = raw.access.verify_grace_seconds.unwrap_or(30);
        if !(1..=3600).contains(&verify_grace) {
            return Err(invalid(
                "access.verify_grace_seconds",
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
            (Some(true), None) if raw.kubernetes.context.is_some() => {
                return Err(invalid(
                    "kubernetes.context",
                    "applies to a kubeconfig, not to in_cluster = true".into(),
                ));
            }
            (Some(true), None) => KubernetesConfig::InCluster,
            (_, Some(path)) => KubernetesConfig::Kubeconfig {
                path,
                context: raw.kubernetes.context,
            },
            // A context alone would otherwise leave the section without a cluster.
            (_, None) if raw.kubernetes.context.is_some() => {
                return Err(invalid(
                    "kubernetes.context",
                    "needs kubernetes.kubeconfig (the file the context is in)".into(),
                ));
            }
            (_, None) => KubernetesConfig::Embedded,
        };
        let metrics = raw.metrics.validate().map_err(|(k, m)| invalid(&k, m))?;
        let dev = raw.dev.unwrap_or(false);
        if !dev {
            missing_sections(kubernetes == KubernetesConfig::Embedded, oidc.is_none()).map_err(
                |message| ConfigError::Refused {
                    origin: origin.to_owned(),
                    message,
                },
            )?;
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
            session: SessionConfig {
                cookie_name,
                idle_timeout: Duration::from_secs(idle),
                absolute_lifetime: Duration::from_secs(absolute),
                groups_max_age: Duration::from_secs(groups_max_age),
            },
            policy_file: raw.policy.file,
            kubernetes,
            terminal: TerminalConfig {
                keepalive: Duration::from_secs(keepalive),
            },
            access: AccessConfig {
                recheck: Duration::from_secs(recheck),
                verify_grace: Duration::from_secs(verify_grace),
            },
            metrics,
        })
    }

    /// The origin (`scheme://host[:port]`) browsers send for our own pages.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// Outside development mode both `[kubernetes]` and `[oidc]` must be configured: a section left
/// out (or misspelt) must never start a development stand-in in its place.
fn missing_sections(no_kubernetes: bool, no_oidc: bool) -> Result<(), String> {
    let fix_kubernetes = "[kubernetes] with kubeconfig = \"…\" or in_cluster = true";
    let fix_oidc = "[oidc] with issuer, client_id and client_secret";
    let (missing, fix) = match (no_kubernetes, no_oidc) {
        (false, false) => return Ok(()),
        (true, false) => ("no [kubernetes] section", fix_kubernetes.to_owned()),
        (false, true) => ("no [oidc] section", fix_oidc.to_owned()),
        (true, true) => (
            "no [kubernetes] and no [oidc] section",
            format!("{fix_kubernetes}, and {fix_oidc}"),
        ),
    };
    Err(format!(
        "{missing}. Configure {fix} (see docs/operations.md), or, for a local demo, run \
         `keyhole serve --dev` to use the development stand-ins (built-in cluster and identity \
         provider)"
    ))
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
    let username_claim = o
        .username_claim
        .map(|c| c.trim().to_owned())
        .unwrap_or_else(|| OidcConfig::DEFAULT_USERNAME_CLAIM.into());
    if username_claim.is_empty() || username_claim.chars().any(char::is_control) {
        return Err((
            "oidc.username_claim".into(),
            "must name an ID token claim, e.g. \"email\" or \"sub\"".into(),
        ));
    }
    let username_prefix = o.username_prefix.unwrap_or_default();
    if username_prefix.len() > 64 || username_prefix.chars().any(char::is_control) {
        return Err((
            "oidc.username_prefix".into(),
            "at most 64 characters, no control characters (e.g. \"keyhole:\")".into(),
        ));
    }
    Ok(OidcConfig {
        issuer,
        client_id,
        client_secret,
        redirect_url,
        scopes,
        groups_claim: o.groups_claim.unwrap_or_else(|| "groups".into()),
        username_claim,
        username_prefix,
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
