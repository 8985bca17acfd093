//! A development OpenID Connect issuer: the code flow with PKCE, RS256 ID
//! tokens, a click-to-login page of demo users. **Development and tests only**:
//! it binds loopback addresses only, keeps everything in memory, and lets
//! anyone sign in as a demo user.
//!
//! `make run` starts it inside the Keyhole server when no `[oidc]` section is
//! configured, and the server's integration tests use it to test login. The
//! browser tests use a real third-party provider instead (`end2end/idp/`), so
//! that the gateway's login is also proven against code this team didn't write.
//!
//! # Endpoints
//!
//! | path | what |
//! |---|---|
//! | `/.well-known/openid-configuration` | discovery |
//! | `/jwks` | the RS256 public key, with `kid` |
//! | `GET /authorize` | checks the request, then shows the login page (or, with a live IdP session and no `prompt=login`, redirects at once) |
//! | `POST /login` | the login page's forms |
//! | `POST /token` | authorization code grant; `client_secret_basic` or `client_secret_post` |
//! | `GET`/`POST /userinfo` | claims for a bearer access token |
//! | `GET`/`POST /logout` | ends the IdP session; `post_logout_redirect_uri` must share an origin with a registered redirect URI |
//!
//! # Driving the login page with an HTTP client
//!
//! `GET /authorize?...` answers 200 with a page whose forms post to `/login`
//! and carry a hidden `interaction` field. Post `interaction=<id>&username=alice`
//! (plus `password=…` for users that have one) and the answer is a 302 to
//! `redirect_uri?code=…&state=…&iss=…`, with a `devidp_session` cookie.
//! Post `interaction=<id>&action=cancel` for `error=access_denied`.
//! A wrong password gives 401 and the page again, with `#error`.
//!
//! # Layout
//!
//! - [`keys`] holds the RSA key, the JWKS and compact JWS signing.
//! - [`state`] holds clients, users and the in-memory flows (codes, tokens, sessions).
//! - [`authorize`] serves `/authorize` and `/login`.
//! - [`token`] serves `/token` and `/userinfo`.
//! - [`logout`] serves `/logout`.
//! - [`pages`] renders the HTML pages with their security headers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::response::Json;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod authorize;
mod keys;
mod logout;
mod pages;
mod state;
mod token;

use keys::SigningKey;
use state::{AppState, Flows, Shared};

/// How to start the issuer.
#[derive(Debug, Clone)]
pub struct IdpOptions {
    /// Where to listen. Must be a loopback address (the issuer lets anyone log
    /// in); port 0 picks a free port, see [`RunningIdp::issuer`].
    pub listen: SocketAddr,
    /// The relying parties allowed to use the issuer.
    pub clients: Vec<IdpClient>,
    /// Who may log in; empty means [`IdpUser::demo_users`].
    pub users: Vec<IdpUser>,
    /// Lifetime of ID tokens and access tokens.
    pub id_token_ttl: Duration,
}

impl Default for IdpOptions {
    /// `127.0.0.1:9400`, no clients, the demo users, 300 s tokens.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9400)),
            clients: Vec::new(),
            users: Vec::new(),
            id_token_ttl: Duration::from_secs(300),
        }
    }
}

/// A registered relying party (a confidential client).
#[derive(Clone)]
pub struct IdpClient {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`, compared in constant time.
    pub client_secret: String,
    /// Redirect URIs, compared as exact strings (`localhost` and `127.0.0.1`
    /// are different). Their origins are also where logout may send users.
    pub redirect_uris: Vec<String>,
}

impl std::fmt::Debug for IdpClient {
    // The secret stays out of logs, even development ones.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// Someone who can log in.
#[derive(Clone)]
pub struct IdpUser {
    /// Login name; also the `preferred_username` claim.
    pub username: String,
    /// `None`: click-to-login on the login page. `Some`: the user types it.
    pub password: Option<String>,
    /// The `sub` claim: stable and unique.
    pub sub: String,
    /// The `email` claim (always `email_verified: true`).
    pub email: String,
    /// The `name` claim.
    pub name: String,
    /// The `groups` claim.
    pub groups: Vec<String>,
}

impl std::fmt::Debug for IdpUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpUser")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("sub", &self.sub)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("groups", &self.groups)
            .finish()
    }
}

impl IdpUser {
    /// alice (engineer, `oncall-payments`), bob (lead, `leads-payments`) and
    /// carol (auditor, `auditors`), all click-to-login, emails
    /// `<name>@example.test`.
    pub fn demo_users() -> Vec<IdpUser> {
        let user = |username: &str, name: &str, group: &str| IdpUser {
            username: username.to_owned(),
            password: None,
            sub: format!("devidp-{username}"),
            email: format!("{username}@example.test"),
            name: name.to_owned(),
            groups: vec![group.to_owned()],
        };
        vec![
            user("alice", "Alice Engineer", "oncall-payments"),
            user("bob", "Bob Lead", "leads-payments"),
            user("carol", "Carol Auditor", "auditors"),
        ]
    }
}

/// Test support: how the token endpoint should spoil the **next** ID token it
/// issues (one token only), so a relying party's rejection paths can be tested.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IdTokenOverride {
    /// Merge these claims into the real ones before signing (a `null` value
    /// removes the claim): e.g. `{"exp": 1}`, `{"aud": "other"}`, `{"nonce": "x"}`.
    Claims(Value),
    /// Send this string as the ID token, verbatim.
    Raw(String),
    /// Sign the real claims with a key that is not in the JWKS, but name the
    /// real key's `kid` in the header.
    WrongKey,
    /// Sign the real claims, then swap in a payload with these claims merged,
    /// keeping the original signature.
    Tampered(Value),
}

/// A running issuer. Dropping it stops the server (so does [`Self::shutdown`],
/// which also waits for it).
#[derive(Debug)]
pub struct RunningIdp {
    /// The issuer identifier, e.g. `http://127.0.0.1:9400` (no trailing
    /// slash); relying parties must use exactly this string.
    pub issuer: String,
    /// Everything the handlers share, for the test hooks.
    shared: AppState,
    /// Fires the graceful shutdown.
    stop: Option<oneshot::Sender<()>>,
    /// The server task.
    task: Option<JoinHandle<()>>,
}

impl RunningIdp {
    /// The issuer identifier (see [`Self::issuer`] the field).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Stops accepting connections and waits (at most 5 s) for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            // Graceful shutdown waits for open connections; don't let a
            // client that never hangs up hold the caller forever.
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// **Test-only.** Signs arbitrary claims with the issuer's real key (and
    /// `kid`), for forging expired, wrong-audience or wrong-nonce tokens.
    pub fn mint_id_token(&self, claims: Value) -> String {
        self.shared.key().sign(&claims)
    }

    /// **Test-only.** The claims the token endpoint would put in an ID token
    /// for `username` and `client_id` right now (without `nonce`): a valid
    /// starting point to modify and pass to [`Self::mint_id_token`]. `None` if
    /// there is no such user.
    pub fn id_token_claims(&self, client_id: &str, username: &str) -> Option<Value> {
        let user = self.shared.user(username)?;
        Some(token::id_token_claims(
            &self.shared,
            user,
            client_id,
            state::unix_now(),
        ))
    }

    /// **Test-only.** Makes the token endpoint spoil the next ID token it
    /// issues; later ones are normal again.
    pub fn set_next_id_token_override(&self, spoil: IdTokenOverride) {
        self.shared.flows().next_id_token_override = Some(spoil);
    }

    /// **Test-only.** The `kid` of the current signing key.
    pub fn signing_key_id(&self) -> String {
        self.shared.key().kid().to_owned()
    }

    /// **Test-only.** Replaces the signing key, as a restart would: the JWKS
    /// then holds only the new key, and new tokens name its new `kid`.
    pub async fn rotate_signing_key(&self) -> anyhow::Result<()> {
        let key = tokio::task::spawn_blocking(SigningKey::generate).await??;
        *self
            .shared
            .key
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }
}

impl Drop for RunningIdp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Generates a signing key, binds `opts.listen` and serves the issuer in a
/// background task.
///
/// Fails if the address is not loopback, a client or user is malformed or
/// duplicated, or the port cannot be bound.
pub async fn start(opts: IdpOptions) -> anyhow::Result<RunningIdp> {
    anyhow::ensure!(
        opts.listen.ip().is_loopback(),
        "the development IdP refuses to listen on {}: it lets anyone sign in as a demo user, \
         so it binds loopback addresses only (127.0.0.1 or [::1])",
        opts.listen
    );
    let redirect_origins = check_clients(&opts.clients)?;
    let users = if opts.users.is_empty() {
        IdpUser::demo_users()
    } else {
        opts.users
    };
    for (i, user) in users.iter().enumerate() {
        anyhow::ensure!(
            !user.username.is_empty(),
            "an IdP user has an empty username"
        );
        anyhow::ensure!(
            users[..i]
                .iter()
                .all(|u| u.username != user.username && u.sub != user.sub),
            "IdP user {:?} is defined twice (username or sub)",
            user.username
        );
    }
    if opts.clients.is_empty() {
        tracing::warn!("development IdP started with no clients: nobody can log in through it");
    }

    let key = tokio::task::spawn_blocking(SigningKey::generate).await??;
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("development IdP: cannot listen on {}", opts.listen))?;
    let addr = listener.local_addr()?;
    let issuer = format!("http://{addr}");
    let shared = Arc::new(Shared {
        issuer: issuer.clone(),
        clients: opts.clients,
        users,
        token_ttl: opts.id_token_ttl,
        csp: pages::csp(&redirect_origins),
        key: RwLock::new(Arc::new(key)),
        flows: Mutex::new(Flows::default()),
    });

    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(Arc::clone(&shared));
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(error) = serve.await {
            tracing::error!(%error, "development IdP stopped");
        }
    });
    tracing::info!(%issuer, "development IdP listening (development only)");
    Ok(RunningIdp {
        issuer,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Checks the clients and returns the origins of their redirect URIs.
fn check_clients(clients: &[IdpClient]) -> anyhow::Result<Vec<String>> {
    let mut origins = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let id = &client.client_id;
        anyhow::ensure!(!id.is_empty(), "an IdP client has an empty client_id");
        anyhow::ensure!(
            clients[..i].iter().all(|c| c.client_id != *id),
            "IdP client {id:?} is defined twice"
        );
        for uri in &client.redirect_uris {
            let url = url::Url::parse(uri)
                .with_context(|| format!("IdP client {id:?}: bad redirect URI {uri:?}"))?;
            anyhow::ensure!(
                matches!(url.scheme(), "http" | "https") && url.fragment().is_none(),
                "IdP client {id:?}: redirect URI {uri:?} must be http(s) without a fragment"
            );
            let origin = url.origin().ascii_serialization();
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    }
    Ok(origins)
}

/// All routes. Handlers live beside their routes in the submodules.
fn router(shared: AppState) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/login", post(authorize::login))
        .route("/token", post(token::token))
        .route("/userinfo", get(token::userinfo).post(token::userinfo))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .with_state(shared)
}

/// `GET /.well-known/openid-configuration`.
async fn discovery(State(shared): State<AppState>) -> Json<Value> {
    let issuer = &shared.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "groups"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss", "aud", "sub", "exp", "iat", "auth_time", "nonce",
            "email", "email_verified", "name", "preferred_username", "groups",
        ],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

/// `GET /jwks`: only the current key (a rotation drops the old one, as a
/// restart would).
async fn jwks(State(shared): State<AppState>) -> Json<Value> {
    Json(json!({ "keys": [shared.key().jwk()] }))
}
