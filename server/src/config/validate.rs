//! Semantic checks of the raw config, one function per section; each error names its key
//! (`(key, message)`), and `Config::from_raw` adds the file or variable it came from.

use std::path::Path;
use std::time::Duration;

use url::Url;

use super::{
    KubernetesConfig, OidcConfig, RawDatabase, RawKubernetes, RawOidc, RawSession, Secret,
    SessionConfig,
};

/// A section's problem: the key and what is wrong with it.
type Invalid = (String, String);

/// Whole seconds at `key`: `default` when unset, else 1..=`max`.
pub(super) fn seconds(
    key: &str,
    value: Option<u64>,
    default: u64,
    max: u64,
) -> Result<Duration, Invalid> {
    let v = value.unwrap_or(default);
    if !(1..=max).contains(&v) {
        return Err((key.to_owned(), format!("must be between 1 and {max}")));
    }
    Ok(Duration::from_secs(v))
}

/// `[database] url`: SQLite or PostgreSQL; by default a SQLite file in the data directory.
pub(super) fn database_url(raw: RawDatabase, data_dir: &Path) -> Result<Secret, Invalid> {
    let Some(url) = raw.url else {
        return Ok(Secret::new(format!(
            "sqlite://{}",
            data_dir.join("keyhole.db").display()
        )));
    };
    let u = url.expose();
    if !(u.starts_with("sqlite:") || u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        return Err((
            "database.url".into(),
            "must start with sqlite: or postgres://".into(),
        ));
    }
    Ok(url)
}

/// `[session]`: idle timeout, absolute lifetime, group freshness, cookie name.
pub(super) fn session(raw: RawSession) -> Result<SessionConfig, Invalid> {
    const WEEK: u64 = 7 * 24 * 3600;
    let week = |key: &str, v: Option<u64>, default: u64| {
        let v = v.unwrap_or(default);
        if v == 0 || v > WEEK {
            return Err((
                key.to_owned(),
                "must be between 1 and 604800 (7 days)".to_owned(),
            ));
        }
        Ok(Duration::from_secs(v))
    };
    let idle = raw.idle_timeout_seconds.unwrap_or(30 * 60);
    if idle == 0 {
        return Err(("session.idle_timeout_seconds".into(), "must be > 0".into()));
    }
    let absolute_lifetime = week(
        "session.absolute_lifetime_seconds",
        raw.absolute_lifetime_seconds,
        12 * 3600,
    )?;
    let groups_max_age = week(
        "session.groups_max_age_seconds",
        raw.groups_max_age_seconds,
        3600,
    )?;
    let cookie_name = raw.cookie_name.unwrap_or_else(|| "keyhole_session".into());
    if cookie_name.is_empty()
        || !cookie_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err((
            "session.cookie_name".into(),
            "use letters, digits, '_' or '-'".into(),
        ));
    }
    Ok(SessionConfig {
        cookie_name,
        idle_timeout: Duration::from_secs(idle),
        absolute_lifetime,
        groups_max_age,
    })
}

/// `[kubernetes]`: in-cluster, a kubeconfig (and context), or nothing (embedded: only in
/// development mode, see [`missing_sections`]).
pub(super) fn kubernetes(raw: RawKubernetes) -> Result<KubernetesConfig, Invalid> {
    let fail = |key: &str, message: &str| Err((key.to_owned(), message.to_owned()));
    match (raw.in_cluster, raw.kubeconfig) {
        (Some(true), Some(_)) => fail(
            "kubernetes",
            "set either in_cluster = true or kubeconfig, not both",
        ),
        (Some(true), None) if raw.context.is_some() => fail(
            "kubernetes.context",
            "applies to a kubeconfig, not to in_cluster = true",
        ),
        (Some(true), None) => Ok(KubernetesConfig::InCluster),
        (_, Some(path)) => Ok(KubernetesConfig::Kubeconfig {
            path,
            context: raw.context,
        }),
        // A context alone would otherwise leave the section without a cluster.
        (_, None) if raw.context.is_some() => fail(
            "kubernetes.context",
            "needs kubernetes.kubeconfig (the file the context is in)",
        ),
        (_, None) => Ok(KubernetesConfig::Embedded),
    }
}

/// Outside development mode both `[kubernetes]` and `[oidc]` must be configured: a section left
/// out (or misspelt) must never start a development stand-in in its place.
pub(super) fn missing_sections(no_kubernetes: bool, no_oidc: bool) -> Result<(), String> {
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

/// `[oidc]`: the relying party's settings.
pub(super) fn oidc(o: RawOidc, public_url: &Url) -> Result<OidcConfig, Invalid> {
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

/// An `http://` or `https://` URL.
pub(super) fn parse_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?}: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("{text:?}: must be an http:// or https:// URL"));
    }
    Ok(url)
}
