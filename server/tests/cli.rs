//! The `keyhole` binary's bad-input behaviour: one line on stderr, exit 2.

use std::process::Command;

fn keyhole() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keyhole"))
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("keyhole-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run_serve(config: &std::path::Path, extra_env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = keyhole();
    cmd.args(["serve", "--config"]).arg(config);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_and_help() {
    let out = keyhole().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("keyhole "));
    let out = keyhole().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("serve"));
}

#[test]
fn unknown_config_key_exits_2_naming_key_and_file() {
    let p = tmp("bad.toml", "listen = \"127.0.0.1:0\"\nlisten_prot = 1\n");
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("listen_prot") && err.contains("bad.toml") && err.contains("line 2"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn malformed_toml_exits_2() {
    let p = tmp("broken.toml", "[oidc\nissuer = 1\n");
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.toml"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn port_in_use_exits_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let p = tmp("ok.toml", &format!("listen = \"{addr}\"\n"));
    let (code, err) = run_serve(&p, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot listen on") && err.contains(&addr.to_string()),
        "{err}"
    );
}

#[test]
fn unreadable_dist_exits_2_with_how_to_build() {
    let p = tmp(
        "ok.toml",
        "listen = \"127.0.0.1:0\"\ndist_dir = \"/nonexistent/dist\"\n",
    );
    let data = p.parent().unwrap().join("data");
    let (code, err) = run_serve(&p, &[("KEYHOLE_DATA_DIR", data.to_str().unwrap())]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("web app not found") && err.contains("make build"),
        "{err}"
    );
}
