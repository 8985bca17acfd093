//! Tests of config loading: defaults, errors naming key/file/line, env overrides, redaction.
use super::*;

fn load_str(text: &str) -> Result<Config, ConfigError> {
    let dir = std::env::temp_dir().join(format!("keyhole-cfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keyhole.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), Vec::new())
}

#[test]
fn defaults_are_the_embedded_stack() {
    let c = Config::load(None, Vec::new()).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
    assert!(c.oidc.is_none());
    assert_eq!(c.kubernetes, KubernetesConfig::Embedded);
    assert_eq!(c.session.idle_timeout, Duration::from_secs(1800));
    assert!(c.database_url.expose().starts_with("sqlite://"));
}

#[test]
fn unknown_key_names_key_file_and_line() {
    let err = load_str("listen = \"127.0.0.1:1\"\nlisten_port = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("keyhole.toml"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("listen_port"), "{err}");
}

#[test]
fn malformed_toml_is_an_error_with_line() {
    let err = load_str("listen = \n").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn bad_value_names_the_key() {
    let err = load_str("listen = \"nope\"\n").unwrap_err().to_string();
    assert!(err.contains("`listen`"), "{err}");
    let err = load_str("[oidc]\nissuer = \"ftp://x\"\nclient_id = \"a\"\nclient_secret = \"s\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("oidc.issuer"), "{err}");
}

#[test]
fn env_overrides_file_and_unknown_env_is_rejected() {
    let c = Config::load(
        None,
        vec![("KEYHOLE_LISTEN".into(), "127.0.0.1:9999".into())],
    )
    .unwrap();
    assert_eq!(c.listen.port(), 9999);
    let err = Config::load(None, vec![("KEYHOLE_LISTN".into(), "x".into())]).unwrap_err();
    assert!(err.to_string().contains("KEYHOLE_LISTN"));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let c = Config::load(
        None,
        vec![
            ("KEYHOLE_OIDC_ISSUER".into(), "http://127.0.0.1:9000".into()),
            ("KEYHOLE_OIDC_CLIENT_ID".into(), "keyhole".into()),
            (
                "KEYHOLE_OIDC_CLIENT_SECRET".into(),
                "hunter2-very-secret".into(),
            ),
        ],
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert_eq!(
        c.oidc.unwrap().redirect_url.as_str(),
        "http://127.0.0.1:8080/auth/callback"
    );
}

#[test]
fn terminal_keepalive_from_file_or_env_within_bounds() {
    assert_eq!(
        Config::load(None, Vec::new()).unwrap().terminal.keepalive,
        Duration::from_secs(30)
    );
    let c = load_str("[terminal]\nkeepalive_seconds = 45\n").unwrap();
    assert_eq!(c.terminal.keepalive, Duration::from_secs(45));
    let env = |v: &str| vec![("KEYHOLE_TERMINAL_KEEPALIVE_SECONDS".into(), v.into())];
    let c = Config::load(None, env("5")).unwrap();
    assert_eq!(c.terminal.keepalive, Duration::from_secs(5));
    let err = Config::load(None, env("soon")).unwrap_err().to_string();
    assert!(err.contains("KEYHOLE_TERMINAL_KEEPALIVE_SECONDS"), "{err}");
    assert!(err.contains("whole number of seconds"), "{err}");
    let err = load_str("[terminal]\nkeepalive_seconds = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("terminal.keepalive_seconds"), "{err}");
    let err = load_str("[terminal]\nkeepalive = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("keepalive"), "{err}");
}
