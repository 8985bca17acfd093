//! The OIDC relying party, on the `openidconnect` crate.
//!
//! Security decisions, each checked by a test:
//! - PKCE S256, `state` and `nonce` on every login; all three single-use.
//! - The ID token's signature (JWKS), `iss` (exact string), `aud`, `exp` and
//!   `nonce` are verified by `openidconnect`'s verifier; an unknown `kid`
//!   triggers one JWKS refetch (key rotation) and one retry.
//! - The authorization code is exchanged once and never retried: a replay
//!   makes the IdP revoke the tokens of the first exchange.
//! - The Kubernetes user name comes from one configured claim
//!   (`[oidc] username_claim`, default `email`, which also needs
//!   `email_verified: true`), with the configured prefix; a token without it
//!   is refused (no fallback to another claim).

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::OidcConfig;

/// Every claim that `openidconnect` does not model, so the groups claim can
/// have any configured name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    /// Claim name → value.
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type IdFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResp = StandardTokenResponse<IdFields, CoreTokenType>;
/// The client type `from_provider_metadata` returns, spelled out because of
/// our custom claims type.
type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResp,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A discovered identity provider.
pub struct Provider {
    client: OidcClient,
    /// RP-initiated logout endpoint, when the IdP offers one.
    pub end_session_endpoint: Option<Url>,
    /// The issuer, exactly as configured and discovered.
    issuer: String,
    /// Scopes to request.
    scopes: Vec<String>,
    /// Claim holding groups.
    groups_claim: String,
    /// Claim holding the Kubernetes user name.
    username_claim: String,
    /// Prepended to the user name.
    username_prefix: String,
}

/// What must be remembered between redirecting to the IdP and the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// CSRF `state` sent to the IdP.
    pub state: String,
    /// `nonce` expected in the ID token.
    pub nonce: String,
    /// PKCE verifier (its S256 challenge went to the IdP).
    pub pkce_verifier: String,
    /// Same-origin path to return to after login.
    pub return_to: String,
    /// Unix seconds; pending logins older than 10 minutes are dropped.
    pub created_at: i64,
}

/// The verified identity from an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `sub`.
    pub subject: String,
    /// `email`, if present.
    pub email: Option<String>,
    /// `name` (or `preferred_username`), if present.
    pub name: Option<String>,
    /// Groups from the configured claim (empty if the claim is missing).
    pub groups: Vec<String>,
    /// `true` if the groups claim was absent (logged: usually an IdP scope/mapper problem).
    pub groups_claim_missing: bool,
    /// The Kubernetes user name: `username_prefix` + the `username_claim` value.
    pub kube_user: String,
    /// The raw ID token, kept only as `id_token_hint` for RP-initiated logout.
    pub id_token: String,
}

/// Why a login could not be completed. Messages are for logs and the audit
/// table; the browser gets only the short code.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The token endpoint refused the code (replayed, expired, wrong verifier…).
    #[error("token exchange failed: {0}")]
    TokenExchange(String),
    /// No ID token in the token response.
    #[error("the token response has no ID token")]
    NoIdToken,
    /// Signature, issuer, audience, expiry or nonce check failed.
    #[error("ID token rejected: {0}")]
    IdToken(String),
    /// The configured user name claim is absent, empty or unusable.
    #[error("the ID token has no usable `{0}` claim for the Kubernetes user name")]
    UsernameMissing(String),
    /// The user name claim is `email` and the IdP does not say it is verified.
    #[error("the ID token's e-mail address is not verified (email_verified is not true)")]
    EmailUnverified,
}

impl LoginError {
    /// Short code for the login page.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TokenExchange(_) => "token_exchange_failed",
            Self::NoIdToken | Self::IdToken(_) => "id_token_invalid",
            Self::UsernameMissing(_) => "username_missing",
            Self::EmailUnverified => "email_unverified",
        }
    }
}

impl Provider {
    /// Discovery (exact issuer string) and JWKS.
    pub async fn discover(
        cfg: &OidcConfig,
        http: &openidconnect::reqwest::Client,
    ) -> Result<Provider, String> {
        let issuer = IssuerUrl::new(cfg.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, http)
            .await
            .map_err(|e| error_chain(&e))?;
        let end_session_endpoint = fetch_end_session(&cfg.issuer, http).await;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(cfg.client_id.clone()),
            Some(ClientSecret::new(cfg.client_secret.expose().to_owned())),
        )
        .set_redirect_uri(
            RedirectUrl::new(cfg.redirect_url.to_string()).map_err(|e| e.to_string())?,
        );
        Ok(Provider {
            client,
            end_session_endpoint,
            issuer: cfg.issuer.clone(),
            scopes: cfg.scopes.clone(),
            groups_claim: cfg.groups_claim.clone(),
            username_claim: cfg.username_claim.clone(),
            username_prefix: cfg.username_prefix.clone(),
        })
    }

    /// The IdP's issuer string.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Builds the authorize URL with fresh PKCE, state and nonce.
    pub fn begin(&self, return_to: String, force_login: bool) -> (Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        // `offline_access` (a refresh token) is asked for only when configured in `scopes`.
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(Scope::new(scope.clone()));
        }
        if force_login {
            req = req.add_prompt(CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = req.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            created_at: crate::store::now_unix(),
        };
        (url, pending)
    }

    /// Exchanges the code (once) and verifies the ID token.
    pub async fn finish(
        &self,
        http: &openidconnect::reqwest::Client,
        code: String,
        pending: &PendingLogin,
    ) -> Result<(TokenResp, Nonce), LoginError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginError::TokenExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(http)
            .await
            .map_err(|e| LoginError::TokenExchange(error_chain(&e)))?;
        Ok((response, Nonce::new(pending.nonce.clone())))
    }

    /// Verifies the ID token of a token response. `Ok(None)` means the token
    /// is signed by a key we do not know: the caller refetches JWKS and retries.
    pub fn verify(
        &self,
        response: &TokenResp,
        nonce: &Nonce,
    ) -> Result<Option<Identity>, LoginError> {
        let id_token = response.id_token().ok_or(LoginError::NoIdToken)?;
        let verifier = self.client.id_token_verifier();
        let claims = match id_token.claims(&verifier, nonce) {
            Ok(c) => c,
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(
                openidconnect::SignatureVerificationError::NoMatchingKey,
            )) => return Ok(None),
            Err(e) => return Err(LoginError::IdToken(e.to_string())),
        };
        let groups_value = claims.additional_claims().claims.get(&self.groups_claim);
        let groups: Vec<String> = match groups_value {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()));
        let kube_user = self.kube_user(claims)?;
        Ok(Some(Identity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            name,
            groups,
            groups_claim_missing: groups_value.is_none(),
            kube_user,
            id_token: id_token.to_string(),
        }))
    }

    /// The Kubernetes user name from the verified claims: the configured claim (a
    /// non-empty string without control characters, at most 256 bytes), prefixed.
    fn kube_user(
        &self,
        claims: &openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>,
    ) -> Result<String, LoginError> {
        let claim = self.username_claim.as_str();
        let value: Option<String> = match claim {
            "sub" => Some(claims.subject().as_str().to_owned()),
            "email" => {
                let email = claims.email().map(|e| e.as_str().to_owned());
                if email.as_deref().is_some_and(|e| !e.is_empty())
                    && claims.email_verified() != Some(true)
                {
                    return Err(LoginError::EmailUnverified);
                }
                email
            }
            "preferred_username" => claims.preferred_username().map(|u| u.as_str().to_owned()),
            "name" => claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            "phone_number" => claims.phone_number().map(|p| p.as_str().to_owned()),
            other => claims
                .additional_claims()
                .claims
                .get(other)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        };
        match value {
            Some(v) if !v.is_empty() && v.len() <= 256 && !v.chars().any(char::is_control) => {
                Ok(format!("{}{v}", self.username_prefix))
            }
            _ => Err(LoginError::UsernameMissing(claim.to_owned())),
        }
    }
}

/// `end_session_endpoint` is not part of the core metadata type; read it from
/// the raw discovery document. Absent or unreachable → no RP-initiated logout.
async fn fetch_end_session(issuer: &str, http: &openidconnect::reqwest::Client) -> Option<Url> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&http.get(url).send().await.ok()?.bytes().await.ok()?).ok()?;
    Url::parse(doc.get("end_session_endpoint")?.as_str()?).ok()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
