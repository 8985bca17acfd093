//! Who is signed in: OIDC login (authorization code + PKCE + state + nonce),
//! browser sessions, and UI roles derived from IdP groups.
//!
//! - [`oidc`]: the relying party (discovery, authorize URL, code exchange,
//!   ID token verification). The only module that imports `openidconnect`.
//! - [`session`]: what a session holds, the [`session::CurrentUser`] extractor
//!   and the CSRF guard for state-changing requests.
//! - [`routes`]: `/auth/login`, `/auth/callback`, `/auth/logout`, `/api/me`.
//!
//! The identity provider may be down when Keyhole starts: [`Auth`] keeps
//! retrying discovery with backoff, `/readyz` reports it, and login answers
//! "identity provider unreachable" until it succeeds.

pub mod oidc;
pub mod routes;
pub mod session;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use keyhole_protocol::api::Role;
use tokio_util::sync::CancellationToken;

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
        })
    }

    /// Discovers the provider now; on failure keeps retrying in the
    /// background (1 s doubling to 30 s) until `shutdown`.
    pub async fn spawn_discovery(self: &Arc<Self>, shutdown: CancellationToken) {
        if self.rediscover().await.is_ok() {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut delay = Duration::from_secs(1);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                if this.rediscover().await.is_ok() {
                    tracing::info!(issuer = %this.config.issuer, "identity provider reachable");
                    return;
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Fetches discovery and JWKS again (also used when an ID token names an
    /// unknown `kid`, i.e. after the IdP rotated its keys).
    pub async fn rediscover(&self) -> Result<Arc<Provider>, String> {
        match Provider::discover(&self.config, &self.http).await {
            Ok(p) => {
                let p = Arc::new(p);
                *self.provider.write().expect("lock") = Ok(Arc::clone(&p));
                Ok(p)
            }
            Err(e) => {
                let msg = format!("identity provider unreachable: {e}");
                tracing::warn!(issuer = %self.config.issuer, error = %e, "OIDC discovery failed");
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
