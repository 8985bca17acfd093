//! The issuer's in-memory state: registered clients and users, pending login
//! interactions, authorization codes, access tokens and browser sessions.
//!
//! Everything lives in one `std::sync::Mutex`: no `.await` happens while it is
//! held and every critical section is a map lookup or insert.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore as _;

use super::keys::SigningKey;
use super::{IdTokenOverride, IdpClient, IdpUser};

/// How long an authorization code may be redeemed after it was issued.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(60);
/// How long a login form stays valid.
pub(crate) const INTERACTION_TTL: Duration = Duration::from_secs(600);
/// How long the IdP's own browser session lasts.
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Name of the IdP's session cookie. Cookies ignore the port, so this must
/// differ from the gateway's own cookie name when both run on 127.0.0.1.
pub(crate) const SESSION_COOKIE: &str = "devidp_session";

/// Shared by every handler through axum `State`.
pub(crate) type AppState = Arc<Shared>;

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub(crate) issuer: String,
    /// Registered relying parties.
    pub(crate) clients: Vec<IdpClient>,
    /// Users who may log in.
    pub(crate) users: Vec<IdpUser>,
    /// Lifetime of ID and access tokens.
    pub(crate) token_ttl: Duration,
    /// Value of the `Content-Security-Policy` header on every HTML page.
    pub(crate) csp: String,
    /// The current signing key. An `RwLock` so a test can rotate it.
    pub(crate) key: RwLock<Arc<SigningKey>>,
    /// Mutable per-flow state.
    pub(crate) flows: Mutex<Flows>,
}

impl Shared {
    /// The current signing key.
    pub(crate) fn key(&self) -> Arc<SigningKey> {
        Arc::clone(
            &self
                .key
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Locks the per-flow state; a panic elsewhere must not wedge the issuer.
    pub(crate) fn flows(&self) -> MutexGuard<'_, Flows> {
        self.flows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client registered under `client_id`.
    pub(crate) fn client(&self, client_id: &str) -> Option<&IdpClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The user who logs in as `username`.
    pub(crate) fn user(&self, username: &str) -> Option<&IdpUser> {
        self.users.iter().find(|u| u.username == username)
    }
}

/// A validated `/authorize` request waiting for the user to pick an account.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    /// The requesting client.
    pub(crate) client_id: String,
    /// Exactly one of the client's registered redirect URIs.
    pub(crate) redirect_uri: String,
    /// Space-separated scopes, including `openid`.
    pub(crate) scope: String,
    /// Passed back untouched on the redirect.
    pub(crate) state: Option<String>,
    /// Copied into the ID token.
    pub(crate) nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub(crate) code_challenge: String,
}

/// A login form shown to a browser.
#[derive(Debug)]
pub(crate) struct Interaction {
    /// The request the form completes.
    pub(crate) request: AuthRequest,
    /// Forms go stale after [`INTERACTION_TTL`].
    pub(crate) expires_at: Instant,
}

/// An issued authorization code.
#[derive(Debug)]
pub(crate) struct CodeGrant {
    /// The request the code answers.
    pub(crate) request: AuthRequest,
    /// Who logged in.
    pub(crate) username: String,
    /// When they logged in (seconds since the epoch), for `auth_time`.
    pub(crate) auth_time: u64,
    /// Codes are short-lived: [`CODE_TTL`].
    pub(crate) expires_at: Instant,
    /// Set at the first redemption attempt. A code is kept after use so that a
    /// replay can be recognised and the tokens it produced revoked
    /// (RFC 6749 §4.1.2).
    pub(crate) redeemed: bool,
    /// The access token issued for this code, revoked on replay.
    pub(crate) access_token: Option<String>,
}

/// An issued access token (only `/userinfo` accepts it).
#[derive(Debug)]
pub(crate) struct AccessToken {
    /// Whose token it is.
    pub(crate) username: String,
    /// When it stops working.
    pub(crate) expires_at: Instant,
}

/// The IdP's own browser session (behind the `devidp_session` cookie).
#[derive(Debug)]
pub(crate) struct Session {
    /// Who is logged in.
    pub(crate) username: String,
    /// When they logged in (seconds since the epoch).
    pub(crate) auth_time: u64,
    /// Sessions end after [`SESSION_TTL`].
    pub(crate) expires_at: Instant,
}

/// Mutable state, keyed by random opaque strings.
#[derive(Debug, Default)]
pub(crate) struct Flows {
    /// Login forms by interaction id.
    pub(crate) interactions: HashMap<String, Interaction>,
    /// Authorization codes by code.
    pub(crate) codes: HashMap<String, CodeGrant>,
    /// Access tokens by token.
    pub(crate) access_tokens: HashMap<String, AccessToken>,
    /// Browser sessions by cookie value.
    pub(crate) sessions: HashMap<String, Session>,
    /// Test hook: how to spoil the next ID token, if at all.
    pub(crate) next_id_token_override: Option<IdTokenOverride>,
}

impl Flows {
    /// Drops everything that has expired. Called on every insert, which keeps
    /// the maps bounded without a background task.
    pub(crate) fn purge(&mut self, now: Instant) {
        self.interactions.retain(|_, i| i.expires_at > now);
        // Keep redeemed codes a little longer than their lifetime so a late
        // replay still revokes the token it produced.
        self.codes.retain(|_, c| c.expires_at + CODE_TTL > now);
        self.access_tokens.retain(|_, t| t.expires_at > now);
        self.sessions.retain(|_, s| s.expires_at > now);
    }

    /// Starts a browser session for `username` and returns the cookie value.
    pub(crate) fn new_session(&mut self, username: &str, auth_time: u64) -> String {
        let now = Instant::now();
        self.purge(now);
        let id = random_token();
        let session = Session {
            username: username.to_owned(),
            auth_time,
            expires_at: now + SESSION_TTL,
        };
        self.sessions.insert(id.clone(), session);
        id
    }

    /// Issues a code for a completed login.
    pub(crate) fn new_code(
        &mut self,
        request: AuthRequest,
        username: &str,
        auth_time: u64,
    ) -> String {
        let now = Instant::now();
        self.purge(now);
        let code = random_token();
        let grant = CodeGrant {
            request,
            username: username.to_owned(),
            auth_time,
            expires_at: now + CODE_TTL,
            redeemed: false,
            access_token: None,
        };
        self.codes.insert(code.clone(), grant);
        code
    }
}

/// 256 random bits, base64url: codes, tokens, session and interaction ids.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Compares two secrets in constant time. Both sides are hashed first so that
/// not even the length of the expected secret leaks through timing.
pub(crate) fn secret_eq(given: &str, expected: &str) -> bool {
    use sha2::{Digest as _, Sha256};
    use subtle::ConstantTimeEq as _;
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given.ct_eq(&expected).into()
}
