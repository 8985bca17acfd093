//! Who is signed in: OIDC login (authorization code + PKCE + state + nonce),
//! browser sessions, and UI roles derived from IdP groups.
//!
//! - [`oidc`]: the relying party (discovery, authorize URL, code exchange,
//!   ID token verification). The only module that imports `openidconnect`.
//! - [`caller`]: [`Caller`], the signed-in user as every layer sees them (an extractor), and
//!   [`FreshCaller`] for routes that decide access on the user's IdP groups.
//! - [`web_session`]: what a web session (the browser's sign-in) holds, its idle and absolute
//!   limits, and the CSRF guard for state-changing requests.
//! - [`routes`]: `/auth/login`, `/auth/logout`, `/api/me`; `callback.rs`: `/auth/callback`,
//!   step by step.
//!
//! - [`ratelimit`]: failed logins per client address.
//! - [`untrusted`]: escaping and bounding IdP-supplied text before it is logged or stored.
//!
//! The identity provider may be down when Keyhole starts: [`Auth`] keeps
//! retrying discovery with backoff, `/readyz` reports it, and login answers
//! "identity provider unreachable" until it succeeds. Every discovery attempt,
//! whoever asks for it (the background loop, a login, a callback with an unknown
//! key id), goes through one gate: one attempt at a time, and after a failure
//! none until the backoff (1 s doubling to 30 s) has passed; success resets it.

mod callback;
pub mod caller;
pub mod oidc;
pub mod ratelimit;
pub mod routes;
pub mod untrusted;
pub mod web_session;

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use keyhole_protocol::api::Role;
use tokio_util::sync::CancellationToken;

pub use caller::{Caller, FreshCaller, WebSessionRef};

use crate::config::OidcConfig;
use oidc::Provider;

/// Maps IdP groups to UI roles. Implemented by the policy handle; a trait so
/// that `auth` does not depend on how policy is loaded or reloaded.
pub trait RoleSource: Send + Sync {
    /// The UI roles of a user with these IdP groups.
    fn roles_for(&self, groups: &[String]) -> Vec<Role>;
}

/// The relying party: configuration, the discovered provider (once reachable),
/// and the role mapping.
pub struct Auth {
    /// `[oidc]` settings (for the dev IdP, generated ones).
    pub config: OidcConfig,
    /// `true` when the development IdP (devstack) is in use.
    pub dev_idp: bool,
    /// HTTP client for the IdP: no redirects (SSRF), short timeouts.
    http: openidconnect::reqwest::Client,
    /// The discovered provider, or why there is none yet.
    provider: RwLock<Result<Arc<Provider>, String>>,
    /// IdP groups → UI roles.
    roles: Arc<dyn RoleSource>,
    /// Held while a discovery attempt runs: callers queue behind it and share its result.
    attempt: tokio::sync::Mutex<()>,
    /// When the next discovery attempt may start.
    backoff: Mutex<Backoff>,
    /// Failed logins per client address.
    pub failed_logins: ratelimit::FailedLogins,
    /// Logins started by browsers without a session (each creates a session row for its
    /// pending state), per client address: 120 a minute (so a flood from one address holds
    /// at most a few thousand rows before they expire).
    pub new_logins: ratelimit::FailedLogins,
}

/// Discovery retry pacing: after a failure no attempt until `next`; the delay doubles
/// (from [`Backoff::MIN`] to [`Backoff::MAX`]) while the IdP stays down; success resets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the next failure.
    delay: Duration,
    /// No attempt before this.
    next: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            delay: Self::MIN,
            next: None,
        }
    }
}

impl Backoff {
    /// First wait after a failure.
    pub const MIN: Duration = Duration::from_secs(1);
    /// Longest wait.
    pub const MAX: Duration = Duration::from_secs(30);

    /// Whether an attempt may start at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next.is_none_or(|t| now >= t)
    }

    /// The wait before the next attempt may start, from `now`.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next
            .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// An attempt failed at `now`.
    pub fn failed(&mut self, now: Instant) {
        self.next = Some(now + self.delay);
        self.delay = (self.delay * 2).min(Self::MAX);
    }

    /// An attempt succeeded: no waiting any more.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }
}

impl Auth {
    /// Creates the relying party; call [`Auth::spawn_discovery`] next.
    pub fn new(
        config: OidcConfig,
        dev_idp: bool,
        roles: Arc<dyn RoleSource>,
    ) -> anyhow::Result<Auth> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects opens the client up to SSRF.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Auth {
            config,
            dev_idp,
            http,
            provider: RwLock::new(Err("identity provider not contacted yet".into())),
            roles,
            attempt: tokio::sync::Mutex::new(()),
            backoff: Mutex::new(Backoff::default()),
            failed_logins: ratelimit::FailedLogins::default(),
            new_logins: ratelimit::FailedLogins::new(120, std::time::Duration::from_secs(60)),
        })
    }

    /// Discovers the provider now; on failure keeps retrying in the
    /// background (at the shared backoff's pace) until `shutdown`.
    pub async fn spawn_discovery(self: &Arc<Self>, shutdown: CancellationToken) {
        if self.rediscover().await.is_ok() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let wait = this
                    .backoff
                    .lock()
                    .expect("lock")
                    .wait(Instant::now())
                    .max(Duration::from_millis(50));
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                if this.provider().is_ok() || this.ensure_provider().await.is_ok() {
                    tracing::info!(issuer = %this.config.issuer, "identity provider reachable");
                    return;
                }
            }
        });
    }

    /// The provider; if discovery has not succeeded yet, one attempt through the
    /// shared gate (none while the backoff runs: then the last error at once).
    pub async fn ensure_provider(&self) -> Result<Arc<Provider>, String> {
        if let Ok(p) = self.provider() {
            return Ok(p);
        }
        let _turn = self.attempt.lock().await;
        // Whoever held the gate before us may have just succeeded.
        if let Ok(p) = self.provider() {
            return Ok(p);
        }
        self.attempt_locked().await
    }

    /// Fetches discovery and JWKS again, through the shared gate (also used when an ID
    /// token names an unknown `kid`, i.e. after the IdP rotated its keys).
    pub async fn rediscover(&self) -> Result<Arc<Provider>, String> {
        let _turn = self.attempt.lock().await;
        self.attempt_locked().await
    }

    /// One discovery attempt, unless the backoff forbids it. The gate is held.
    async fn attempt_locked(&self) -> Result<Arc<Provider>, String> {
        if !self.backoff.lock().expect("lock").ready(Instant::now()) {
            return Err(self
                .provider()
                .err()
                .unwrap_or_else(|| "identity provider unreachable (retrying)".into()));
        }
        match Provider::discover(&self.config, &self.http).await {
            Ok(p) => {
                let p = Arc::new(p);
                *self.provider.write().expect("lock") = Ok(Arc::clone(&p));
                self.backoff.lock().expect("lock").succeeded();
                Ok(p)
            }
            Err(e) => {
                let e = untrusted::bounded_to(&e, 500);
                let msg = format!("identity provider unreachable: {e}");
                tracing::warn!(issuer = %self.config.issuer, error = %e, "OIDC discovery failed");
                self.backoff.lock().expect("lock").failed(Instant::now());
                let mut slot = self.provider.write().expect("lock");
                if slot.is_err() {
                    *slot = Err(msg.clone());
                }
                Err(msg)
            }
        }
    }

    /// The provider, if discovery has succeeded.
    pub fn provider(&self) -> Result<Arc<Provider>, String> {
        self.provider.read().expect("lock").clone()
    }

    /// For `/readyz`.
    pub fn provider_status(&self) -> Result<(), String> {
        self.provider().map(|_| ())
    }

    /// The HTTP client used toward the IdP.
    pub fn http(&self) -> &openidconnect::reqwest::Client {
        &self.http
    }

    /// UI roles for a set of IdP groups, from the current policy.
    pub fn roles_for(&self, groups: &[String]) -> Vec<Role> {
        self.roles.roles_for(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::{Duration, Instant};

    #[test]
    fn backoff_grows_while_down_and_resets_on_success() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(b.ready(t0));
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..7 {
            b.failed(now);
            assert!(!b.ready(now));
            let w = b.wait(now);
            waits.push(w.as_secs());
            now += w;
            assert!(b.ready(now));
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        b.succeeded();
        assert!(b.ready(now));
        b.failed(now);
        assert_eq!(b.wait(now), Duration::from_secs(1), "reset after a success");
    }
}
