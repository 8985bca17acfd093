//! `KEYHOLE_*` environment variables: which config key each one sets, and the development-mode
//! refusals (inside a cluster, on a non-loopback address) with their one override.

use std::net::SocketAddr;

/// Environment variables that override file keys, and the key each sets.
/// Listed explicitly so a typo in a variable name can be reported too.
pub(super) const ENV_KEYS: &[(&str, &str)] = &[
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
pub(super) const BOOL_KEYS: &[&str] = &["dev", "kubernetes.in_cluster"];

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
