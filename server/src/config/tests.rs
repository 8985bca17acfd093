//! Tests of config loading: defaults, errors naming key/file/line, env overrides, redaction.
use super::*;

/// Loads `text` as a config file in development mode (so it may leave out
/// `[kubernetes]` and `[oidc]`); see [`load_str_with`].
fn load_str(text: &str) -> Result<Config, ConfigError> {
    load_str_with(text, vec![("KEYHOLE_DEV".into(), "true".into())])
}

fn load_str_with(text: &str, env: Vec<(String, String)>) -> Result<Config, ConfigError> {
    let dir = std::env::temp_dir().join(format!("keyhole-cfg-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keyhole.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path), env)
}

/// No file, `env`, in development mode (so `[kubernetes]` and `[oidc]` may be left out).
fn load_dev(env: Vec<(String, String)>) -> Result<Config, ConfigError> {
    let dev = ("KEYHOLE_DEV".to_owned(), "true".to_owned());
    Config::load(None, std::iter::once(dev).chain(env))
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const OIDC_ENV: &[(&str, &str)] = &[
    ("KEYHOLE_OIDC_ISSUER", "http://127.0.0.1:9000"),
    ("KEYHOLE_OIDC_CLIENT_ID", "keyhole"),
    ("KEYHOLE_OIDC_CLIENT_SECRET", "s"),
];

#[test]
fn dev_defaults_are_the_embedded_stack() {
    let c = load_dev(Vec::new()).unwrap();
    assert!(c.dev && c.dev_unsafe.is_empty());
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
    let c = load_dev(vec![("KEYHOLE_LISTEN".into(), "127.0.0.1:9999".into())]).unwrap();
    assert_eq!(c.listen.port(), 9999);
    let err = load_dev(vec![("KEYHOLE_LISTN".into(), "x".into())]).unwrap_err();
    assert!(err.to_string().contains("KEYHOLE_LISTN"));
}

#[test]
fn secrets_are_redacted_in_debug() {
    let c = load_dev(vec![
        ("KEYHOLE_OIDC_ISSUER".into(), "http://127.0.0.1:9000".into()),
        ("KEYHOLE_OIDC_CLIENT_ID".into(), "keyhole".into()),
        (
            "KEYHOLE_OIDC_CLIENT_SECRET".into(),
            "hunter2-very-secret".into(),
        ),
    ])
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
        load_dev(Vec::new()).unwrap().terminal.keepalive,
        Duration::from_secs(30)
    );
    let c = load_str("[terminal]\nkeepalive_seconds = 45\n").unwrap();
    assert_eq!(c.terminal.keepalive, Duration::from_secs(45));
    let env = |v: &str| vec![("KEYHOLE_TERMINAL_KEEPALIVE_SECONDS".into(), v.into())];
    let c = load_dev(env("5")).unwrap();
    assert_eq!(c.terminal.keepalive, Duration::from_secs(5));
    let err = load_dev(env("soon")).unwrap_err().to_string();
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

#[test]
fn username_claim_and_prefix_from_file_or_env() {
    let base =
        "[oidc]\nissuer = \"http://127.0.0.1:9000\"\nclient_id = \"a\"\nclient_secret = \"s\"\n";
    let c = load_str(base).unwrap().oidc.unwrap();
    assert_eq!(c.username_claim, "email");
    assert_eq!(c.username_prefix, "");
    let c = load_str(&format!(
        "{base}username_claim = \"sub\"\nusername_prefix = \"keyhole:\"\n"
    ))
    .unwrap()
    .oidc
    .unwrap();
    assert_eq!(
        (c.username_claim.as_str(), c.username_prefix.as_str()),
        ("sub", "keyhole:")
    );
    let env = vec![
        ("KEYHOLE_OIDC_ISSUER".into(), "http://127.0.0.1:9000".into()),
        ("KEYHOLE_OIDC_CLIENT_ID".into(), "keyhole".into()),
        ("KEYHOLE_OIDC_CLIENT_SECRET".into(), "s".into()),
        (
            "KEYHOLE_OIDC_USERNAME_CLAIM".into(),
            "preferred_username".into(),
        ),
        ("KEYHOLE_OIDC_USERNAME_PREFIX".into(), "kh:".into()),
    ];
    let c = load_dev(env).unwrap().oidc.unwrap();
    assert_eq!(c.username_claim, "preferred_username");
    assert_eq!(c.username_prefix, "kh:");
    let err = load_str(&format!("{base}username_claim = \"\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("oidc.username_claim"), "{err}");
}

#[test]
fn session_lifetimes_default_and_from_env() {
    let c = load_dev(Vec::new()).unwrap();
    assert_eq!(c.session.idle_timeout, Duration::from_secs(30 * 60));
    assert_eq!(c.session.absolute_lifetime, Duration::from_secs(12 * 3600));
    let c = load_dev(vec![
        ("KEYHOLE_SESSION_IDLE_TIMEOUT_SECONDS".into(), "3".into()),
        (
            "KEYHOLE_SESSION_ABSOLUTE_LIFETIME_SECONDS".into(),
            "60".into(),
        ),
    ])
    .unwrap();
    assert_eq!(c.session.idle_timeout, Duration::from_secs(3));
    assert_eq!(c.session.absolute_lifetime, Duration::from_secs(60));
}

#[test]
fn without_dev_a_missing_section_is_refused_naming_it_and_the_fixes() {
    let err = Config::load(None, Vec::new()).unwrap_err();
    assert!(matches!(err, ConfigError::Refused { .. }), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("no [kubernetes] and no [oidc] section"),
        "{err}"
    );
    assert!(
        err.contains("in_cluster = true") && err.contains("client_id"),
        "{err}"
    );
    assert!(err.contains("keyhole serve --dev"), "{err}");

    let err = Config::load(None, env(OIDC_ENV)).unwrap_err().to_string();
    assert!(err.contains("no [kubernetes] section"), "{err}");
    assert!(!err.contains("[oidc] section"), "{err}");
    assert!(err.contains("--dev"), "{err}");

    let kubeconfig = env(&[("KEYHOLE_KUBERNETES_KUBECONFIG", "/etc/kubeconfig")]);
    let err = Config::load(None, kubeconfig.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no [oidc] section") && err.contains("--dev"),
        "{err}"
    );
    assert!(!err.contains("[kubernetes] section"), "{err}");

    // A file: the error names it.
    let err = load_str_with("[kubernetes]\nin_cluster = true\n", Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("keyhole.toml") && err.contains("no [oidc] section"),
        "{err}"
    );

    // A [kubernetes] that names no cluster is no [kubernetes].
    let err = load_str_with("[kubernetes]\nin_cluster = false\n", env(OIDC_ENV))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no [kubernetes] section"), "{err}");

    // Both configured: starts, not in development mode.
    let both = [kubeconfig, env(OIDC_ENV)].concat();
    let c = Config::load(None, both).unwrap();
    assert!(!c.dev);
    assert!(c.oidc.is_some());
    assert!(matches!(c.kubernetes, KubernetesConfig::Kubeconfig { .. }));
}

#[test]
fn a_context_without_a_kubeconfig_is_an_error_even_in_dev_mode() {
    let err = load_str("[kubernetes]\ncontext = \"prod\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kubernetes.context") && err.contains("kubeconfig"),
        "{err}"
    );
    let err = load_str("[kubernetes]\nin_cluster = true\ncontext = \"prod\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("kubernetes.context"), "{err}");
}

#[test]
fn dev_mode_from_the_file_or_the_environment() {
    let c = load_str_with("dev = true\n", Vec::new()).unwrap();
    assert!(c.dev);
    assert_eq!(c.kubernetes, KubernetesConfig::Embedded);
    assert!(c.oidc.is_none());
    for yes in ["true", "1", " true "] {
        let c = Config::load(None, env(&[("KEYHOLE_DEV", yes)])).unwrap();
        assert!(c.dev, "{yes:?}");
    }
    // The environment wins over the file, both ways.
    let err = load_str_with("dev = true\n", env(&[("KEYHOLE_DEV", "0")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no [kubernetes] and no [oidc] section"),
        "{err}"
    );
    let err = Config::load(None, env(&[("KEYHOLE_DEV", "false")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--dev"), "{err}");
    for bad in ["yes", "TRUE", "on", ""] {
        let err = Config::load(None, env(&[("KEYHOLE_DEV", bad)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KEYHOLE_DEV") && err.contains("expected true or false (or 1 or 0)"),
            "{bad:?}: {err}"
        );
    }
    let err = load_str_with("dev = \"yes\"\n", Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1") && err.contains("boolean"), "{err}");
}

#[test]
fn configured_sections_win_over_dev_mode() {
    let c = load_dev(
        [
            env(&[
                ("KEYHOLE_KUBERNETES_KUBECONFIG", "/etc/kubeconfig"),
                ("KEYHOLE_KUBERNETES_CONTEXT", "gateway"),
            ]),
            env(OIDC_ENV),
        ]
        .concat(),
    )
    .unwrap();
    assert!(c.dev);
    assert_eq!(
        c.kubernetes,
        KubernetesConfig::Kubeconfig {
            path: "/etc/kubeconfig".into(),
            context: Some("gateway".into())
        }
    );
    assert_eq!(c.oidc.unwrap().issuer, "http://127.0.0.1:9000");
}

#[test]
fn in_cluster_from_the_file_or_the_environment() {
    let c = load_str_with("[kubernetes]\nin_cluster = true\n", env(OIDC_ENV)).unwrap();
    assert_eq!(c.kubernetes, KubernetesConfig::InCluster);
    for yes in ["true", "1"] {
        let vars = [
            env(&[("KEYHOLE_KUBERNETES_IN_CLUSTER", yes)]),
            env(OIDC_ENV),
        ]
        .concat();
        let c = Config::load(None, vars).unwrap();
        assert_eq!(c.kubernetes, KubernetesConfig::InCluster, "{yes:?}");
    }
    let err = Config::load(None, env(&[("KEYHOLE_KUBERNETES_IN_CLUSTER", "maybe")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("KEYHOLE_KUBERNETES_IN_CLUSTER") && err.contains("expected true or false"),
        "{err}"
    );
    let err = Config::load(
        None,
        env(&[
            ("KEYHOLE_KUBERNETES_IN_CLUSTER", "true"),
            ("KEYHOLE_KUBERNETES_KUBECONFIG", "/etc/kubeconfig"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not both"), "{err}");
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn check_dev_mode_allows_loopback_outside_a_cluster() {
    assert_eq!(check_dev_mode(addr("127.0.0.1:8080"), &[]), Ok(Vec::new()));
    assert_eq!(check_dev_mode(addr("[::1]:8080"), &[]), Ok(Vec::new()));
    // Present but empty is not "in a cluster".
    let empty = env(&[("KUBERNETES_SERVICE_HOST", "")]);
    assert_eq!(
        check_dev_mode(addr("127.0.0.1:8080"), &empty),
        Ok(Vec::new())
    );
}

#[test]
fn check_dev_mode_refuses_inside_a_kubernetes_cluster() {
    let vars = env(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
    let err = check_dev_mode(addr("127.0.0.1:8080"), &vars).unwrap_err();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST is set (10.96.0.1)"),
        "{err}"
    );
    assert!(err.contains("run without --dev"), "{err}");
    assert!(
        err.contains("KEYHOLE_DEV_UNSAFE=i-know-this-exposes-the-gateway-host"),
        "{err}"
    );
}

#[test]
fn check_dev_mode_refuses_a_non_loopback_listen_address() {
    for a in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:8080"] {
        let err = check_dev_mode(addr(a), &[]).unwrap_err();
        assert!(
            err.contains(&format!("listen = {a} is not a loopback address")),
            "{err}"
        );
    }
    let vars = env(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
    let err = check_dev_mode(addr("0.0.0.0:8080"), &vars).unwrap_err();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST") && err.contains("loopback"),
        "both reasons: {err}"
    );
}

#[test]
fn check_dev_mode_override_needs_the_exact_phrase() {
    let vars = env(&[
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
        (DEV_UNSAFE_VAR, DEV_UNSAFE_PHRASE),
    ]);
    let overridden = check_dev_mode(addr("0.0.0.0:8080"), &vars).unwrap();
    assert_eq!(overridden.len(), 2, "{overridden:?}");
    for wrong in ["true", "1", "I-KNOW-THIS-EXPOSES-THE-GATEWAY-HOST", ""] {
        let vars = env(&[
            ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            (DEV_UNSAFE_VAR, wrong),
        ]);
        let err = check_dev_mode(addr("127.0.0.1:8080"), &vars).unwrap_err();
        assert!(
            err.contains(DEV_UNSAFE_VAR) && err.contains(DEV_UNSAFE_PHRASE),
            "{err}"
        );
        // Even where there is nothing to override.
        let vars = env(&[(DEV_UNSAFE_VAR, wrong)]);
        assert!(check_dev_mode(addr("127.0.0.1:8080"), &vars).is_err());
    }
}

#[test]
fn load_applies_the_dev_mode_check_to_its_environment_only_in_dev_mode() {
    let in_pod = env(&[("KUBERNETES_SERVICE_HOST", "10.96.0.1")]);
    let err = load_dev(in_pod.clone()).unwrap_err();
    assert!(matches!(err, ConfigError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"), "{err}");
    let err = load_dev(env(&[("KEYHOLE_LISTEN", "0.0.0.0:8080")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a loopback address"), "{err}");
    let err = load_str("dev = true\nlisten = \"0.0.0.0:8080\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a loopback address"), "{err}");
    // The override: starts, and remembers what it overrode (logged at start).
    let vars = [in_pod.clone(), env(&[(DEV_UNSAFE_VAR, DEV_UNSAFE_PHRASE)])].concat();
    let c = load_dev(vars).unwrap();
    assert_eq!(c.dev_unsafe.len(), 1, "{:?}", c.dev_unsafe);
    // Not in development mode: a pod on 0.0.0.0 is the normal production case.
    let prod = [
        in_pod,
        env(&[
            ("KEYHOLE_LISTEN", "0.0.0.0:8080"),
            ("KEYHOLE_KUBERNETES_IN_CLUSTER", "true"),
        ]),
        env(OIDC_ENV),
    ]
    .concat();
    let c = Config::load(None, prod).unwrap();
    assert!(!c.dev && c.dev_unsafe.is_empty());
    assert_eq!(c.kubernetes, KubernetesConfig::InCluster);
}
