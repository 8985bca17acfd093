//! Hot reload: watch the policy file and swap in each new valid version.
//!
//! The only part of the policy module with a clock, a file system and async. It polls the file's
//! modification time and size once a second (no inotify: polling also follows Kubernetes
//! ConfigMap mounts, which swap a symlink, and costs one `stat` per second). An invalid new
//! version is logged and recorded in [`ReloadStatus`] for the admin page, and the last good
//! policy stays in force: a typo in a reviewed file must not lock everyone out, nor let anyone in.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::{LoadError, Policy};

/// What happened at the last (re)load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadStatus {
    /// `true` when the last attempt gave a valid policy (now in force).
    pub ok: bool,
    /// When the attempt happened.
    pub at: OffsetDateTime,
    /// `FILE:LINE:COL: message` lines when `ok` is false; warnings when it is true.
    pub errors: Vec<String>,
}

/// The policy in force, shared by every request handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PolicyHandle {
    shared: Arc<RwLock<Shared>>,
}

#[derive(Debug)]
struct Shared {
    policy: Arc<Policy>,
    status: ReloadStatus,
}

impl PolicyHandle {
    /// Starts with `policy` in force and a successful status.
    pub fn new(policy: Policy) -> Self {
        log_warnings(&policy);
        let status = ReloadStatus {
            ok: true,
            at: OffsetDateTime::now_utc(),
            errors: warning_lines(&policy),
        };
        Self {
            shared: Arc::new(RwLock::new(Shared {
                policy: Arc::new(policy),
                status,
            })),
        }
    }

    /// The policy in force. Hold the `Arc` for one decision; ask again for the next one.
    pub fn current(&self) -> Arc<Policy> {
        // A poisoned lock only means a panic elsewhere while swapping two fields; the data is
        // still one consistent policy, so keep serving it.
        self.shared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .policy
            .clone()
    }

    /// The outcome of the last load or reload.
    pub fn last_reload(&self) -> ReloadStatus {
        self.shared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .status
            .clone()
    }

    /// Records a load attempt: a valid policy replaces the current one, an invalid one only
    /// updates the status. Returns the new status.
    pub fn apply(&self, result: Result<Policy, LoadError>) -> ReloadStatus {
        let at = OffsetDateTime::now_utc();
        let mut shared = self
            .shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(policy) => {
                log_warnings(&policy);
                let errors = warning_lines(&policy);
                tracing::info!(
                    origin = policy.origin(),
                    profiles = policy.profiles().len(),
                    "policy reloaded"
                );
                shared.policy = Arc::new(policy);
                shared.status = ReloadStatus {
                    ok: true,
                    at,
                    errors,
                };
            }
            Err(e) => {
                let errors = e.lines();
                tracing::error!(errors = %errors.join("\n"), "policy reload failed; keeping the last good policy");
                shared.status = ReloadStatus {
                    ok: false,
                    at,
                    errors,
                };
            }
        }
        shared.status.clone()
    }
}

/// Logs each warning of a policy being put in force (e.g. that its command rules are not
/// enforced by this version), so operators see them without running `keyhole policy check`.
fn log_warnings(policy: &Policy) {
    for line in warning_lines(policy) {
        tracing::warn!("policy: {line}");
    }
}

fn warning_lines(policy: &Policy) -> Vec<String> {
    policy
        .warnings()
        .iter()
        .map(|w| w.display(policy.origin()).to_string())
        .collect()
}

/// Polls `path` every second and applies each changed version to `handle`, calling `on_change`
/// with the new status after every attempt. Runs until the returned task is aborted.
pub fn spawn_reloader(
    handle: PolicyHandle,
    path: PathBuf,
    on_change: impl Fn(&ReloadStatus) + Send + 'static,
) -> JoinHandle<()> {
    spawn_reloader_every(handle, path, Duration::from_secs(1), on_change)
}

/// [`spawn_reloader`] with a chosen polling interval (tests use a short one).
pub fn spawn_reloader_every(
    handle: PolicyHandle,
    path: PathBuf,
    interval: Duration,
    on_change: impl Fn(&ReloadStatus) + Send + 'static,
) -> JoinHandle<()> {
    // The handle was loaded from this file just now: only later changes count. Taken before
    // spawning, so a change made before the task first runs is not mistaken for the baseline.
    let mut seen = stamp(&path);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let file = path.clone();
            let result = tokio::task::spawn_blocking(move || Policy::from_file(&file)).await;
            let Ok(result) = result else {
                continue; // the loader panicked; try again at the next change
            };
            on_change(&handle.apply(result));
        }
    })
}

/// What identifies a version of the file: modification time and size (`None` if unreadable).
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Loads the policy file (or the built-in demo policy) and, for a file,
/// starts watching it: a changed file is reloaded, an invalid one is logged
/// and the last good policy stays in force. An invalid file at startup is a
/// startup error: we fail closed rather than run without a policy.
pub fn load_and_watch(
    path: Option<&std::path::Path>,
) -> anyhow::Result<(PolicyHandle, Option<tokio::task::JoinHandle<()>>)> {
    let Some(path) = path else {
        tracing::info!("no policy file configured: using the built-in demo policy");
        return Ok((PolicyHandle::new(super::Policy::builtin()), None));
    };
    let policy =
        super::Policy::from_file(path).map_err(|e| anyhow::anyhow!("{}", e.lines().join("; ")))?;
    tracing::info!(file = %path.display(), profiles = policy.profiles().len(), "policy loaded");
    let handle = PolicyHandle::new(policy);
    let task = spawn_reloader(handle.clone(), path.to_owned(), |status| {
        if status.ok {
            tracing::info!("policy reloaded");
        } else {
            tracing::error!(errors = ?status.errors, "policy reload failed; keeping the last good policy");
        }
    });
    Ok((handle, Some(task)))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    const GOOD: &str = include_str!("../../../deploy/examples/policy.yaml");

    async fn wait_for(handle: &PolicyHandle, what: impl Fn(&ReloadStatus) -> bool) -> ReloadStatus {
        for _ in 0..300 {
            let status = handle.last_reload();
            if what(&status) {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("reloader did not get there: {:?}", handle.last_reload());
    }

    #[tokio::test]
    async fn policy_reload_keeps_the_last_good_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, GOOD).unwrap();
        let handle = PolicyHandle::new(Policy::from_file(&path).unwrap());
        let calls = Arc::new(Mutex::new(0));
        let counter = calls.clone();
        let task = spawn_reloader_every(
            handle.clone(),
            path.clone(),
            Duration::from_millis(10),
            move |_| {
                *counter.lock().unwrap() += 1;
            },
        );
        let before = handle.last_reload().at;

        std::fs::write(&path, format!("{GOOD}\nbogus: true\n")).unwrap();
        let status = wait_for(&handle, |s| !s.ok).await;
        assert!(
            status.errors[0].contains("unknown field `bogus`"),
            "{:?}",
            status.errors
        );
        assert!(status.at >= before);
        assert_eq!(
            handle.current().profiles().len(),
            3,
            "the last good policy stays"
        );

        let fewer = GOOD.replacen("name: search-debug", "name: search-debug-2", 1);
        std::fs::write(&path, fewer).unwrap();
        wait_for(&handle, |s| s.ok).await;
        assert!(handle.current().profile("search-debug-2").is_some());
        assert!(*calls.lock().unwrap() >= 2);

        std::fs::remove_file(&path).unwrap();
        let status = wait_for(&handle, |s| !s.ok).await;
        assert!(
            status.errors[0].starts_with("cannot read"),
            "{:?}",
            status.errors
        );
        assert!(handle.current().profile("search-debug-2").is_some());
        task.abort();
    }
}
