//! Shared test harness: a devstack on 127.0.0.1:0 (HTTPS and plain HTTP) with an audit log in
//! a temporary directory, plus kube clients for its tokens.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use devstack::{KubeOptions, RunningKube};
use kube::Client;

/// A running devstack and its temporary state.
pub(crate) struct TestKube {
    /// The server.
    pub kube: RunningKube,
    /// The audit log file.
    pub audit: PathBuf,
    /// Temp dir holding state and audit log (deleted on drop).
    pub dir: tempfile::TempDir,
}

/// Who a client acts as.
#[derive(Default, Clone)]
pub(crate) struct As<'a> {
    /// Impersonate-User.
    pub user: Option<&'a str>,
    /// Impersonate-Group.
    pub groups: &'a [&'a str],
    /// Impersonate-Extra-*.
    pub extra: &'a [(&'a str, &'a str)],
}

impl TestKube {
    /// Starts the built-in cluster.
    pub(crate) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.log");
        let mut opts = KubeOptions::new(dir.path().join("state"));
        opts.http_listen = Some("127.0.0.1:0".parse().unwrap());
        opts.audit_log = Some(audit.clone());
        let kube = devstack::start_kube(opts).await.unwrap();
        Self { kube, audit, dir }
    }

    /// A kube client over HTTPS (trusting the generated CA) with `token`.
    pub(crate) fn client(&self, token: &str, who: As<'_>) -> Client {
        let mut cfg = kube::Config::new(self.kube.https_url.parse().unwrap());
        cfg.root_cert = Some(vec![self.kube.ca_der.clone()]);
        self.finish(cfg, token, who)
    }

    /// A kube client over plain HTTP.
    pub(crate) fn http_client(&self, token: &str, who: As<'_>) -> Client {
        let cfg = kube::Config::new(self.kube.http_url.as_ref().unwrap().parse().unwrap());
        self.finish(cfg, token, who)
    }

    fn finish(&self, mut cfg: kube::Config, token: &str, who: As<'_>) -> Client {
        cfg.default_namespace = "payments".into();
        cfg.auth_info.token = Some(token.to_owned().into());
        cfg.auth_info.impersonate = who.user.map(str::to_owned);
        if !who.groups.is_empty() {
            cfg.auth_info.impersonate_groups =
                Some(who.groups.iter().map(|g| (*g).to_owned()).collect());
        }
        if !who.extra.is_empty() {
            let mut extra: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in who.extra {
                extra
                    .entry((*k).to_owned())
                    .or_default()
                    .push((*v).to_owned());
            }
            cfg.auth_info.impersonate_user_extra = Some(extra);
        }
        cfg.read_timeout = Some(Duration::from_secs(20));
        Client::try_from(cfg).unwrap()
    }

    /// The admin client (HTTPS).
    pub(crate) fn admin(&self) -> Client {
        self.client(&self.kube.admin_token, As::default())
    }

    /// `host:port` of the plain HTTP listener.
    pub(crate) fn http_host(&self) -> String {
        self.kube
            .http_url
            .as_ref()
            .unwrap()
            .trim_start_matches("http://")
            .to_owned()
    }
}

/// Is `pid` gone (or a zombie nobody reaps)?
pub(crate) fn process_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state is the field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to `secs` for `cond`.
pub(crate) async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}
