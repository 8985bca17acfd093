//! Tests of the development OIDC issuer (`devstack::idp`), over real HTTP.
//!
//! The main flow is driven by `openidconnect` (a certified-shape relying
//! party) so that "the issuer works" means "a real RP accepts it"; the error
//! paths use a bare `reqwest` client that follows no redirects.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use devstack::idp::{self, IdTokenOverride, IdpClient, IdpOptions, IdpUser, RunningIdp};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse as _,
};
use reqwest::redirect::Policy;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const CLIENT_ID: &str = "keyhole";
const SECRET: &str = "keyhole-dev-secret";
const REDIRECT: &str = "http://127.0.0.1:8080/auth/callback";

async fn start_idp() -> RunningIdp {
    let client = IdpClient {
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        redirect_uris: vec![REDIRECT.into()],
    };
    let mut users = IdpUser::demo_users();
    users.push(IdpUser {
        username: "dave".into(),
        password: Some("dave-pw".into()),
        sub: "devidp-dave".into(),
        email: "dave@example.test".into(),
        name: "Dave Oncall-Lead".into(),
        groups: vec!["oncall-payments".into(), "leads-payments".into()],
    });
    let opts = IdpOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        clients: vec![client],
        users,
        ..IdpOptions::default()
    };
    idp::start(opts).await.expect("idp starts")
}

/// An HTTP client that, like a careful RP, never follows redirects.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(res: &reqwest::Response) -> url::Url {
    url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = B64.encode(rand::random::<[u8; 32]>());
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `GET /authorize` with sensible defaults; `extra` overrides or removes
/// (empty value) parameters.
async fn authorize(idp: &RunningIdp, challenge: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut params = vec![
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid email profile groups"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(p, _)| p != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let url = url::Url::parse_with_params(&format!("{}/authorize", idp.issuer()), &params).unwrap();
    http().get(url).send().await.unwrap()
}

/// The hidden `interaction` field of a login page.
fn interaction_of(html: &str) -> String {
    let start = html
        .find("name=\"interaction\" value=\"")
        .expect("interaction field")
        + 26;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn post_login(idp: &RunningIdp, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}/login", idp.issuer()))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Logs in through the form as a click-to-login user; returns the callback URL
/// and the `devidp_session` cookie.
async fn login(idp: &RunningIdp, challenge: &str, username: &str) -> (url::Url, String) {
    let page = authorize(idp, challenge, &[]).await;
    assert_eq!(page.status(), 200);
    let interaction = interaction_of(&page.text().await.unwrap());
    let res = post_login(
        idp,
        &[("interaction", &interaction), ("username", username)],
    )
    .await;
    assert_eq!(res.status(), 302);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("devidp_session=") && cookie.contains("HttpOnly"));
    (location(&res), cookie.split(';').next().unwrap().to_owned())
}

async fn token_request(
    idp: &RunningIdp,
    code: &str,
    verifier: &str,
    secret: &str,
) -> reqwest::Response {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    let url = format!("{}/token", idp.issuer());
    http()
        .post(url)
        .basic_auth(CLIENT_ID, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

// ---- an openidconnect relying party with a `groups` claim ----

#[derive(Debug, Deserialize, Serialize)]
struct Groups {
    #[serde(default)]
    groups: Vec<String>,
}
impl AdditionalClaims for Groups {}

type Fields = IdTokenFields<
    Groups,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type IdToken = openidconnect::IdToken<
    Groups,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type RpClient = openidconnect::Client<
    Groups,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<Fields, CoreTokenType>,
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

async fn rp(idp: &RunningIdp) -> (RpClient, openidconnect::reqwest::Client) {
    let http = openidconnect::reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(idp.issuer().to_owned()).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .expect("discovery");
    let client = RpClient::from_provider_metadata(
        meta,
        ClientId::new(CLIENT_ID.into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    (client, http)
}

/// Runs the whole flow with the RP, spoiling the ID token with `spoil`; returns
/// the verified groups or the verification error.
async fn rp_flow(
    idp: &RunningIdp,
    username: &str,
    spoil: Option<IdTokenOverride>,
) -> Result<Vec<String>, String> {
    let (client, http) = rp(idp).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    let interaction = interaction_of(&page.text().await.unwrap());
    let callback = location(
        &post_login(
            idp,
            &[("interaction", &interaction), ("username", username)],
        )
        .await,
    );
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(param(&callback, "iss").as_deref(), Some(idp.issuer()));

    if let Some(spoil) = spoil {
        idp.set_next_id_token_override(spoil);
    }
    let code = AuthorizationCode::new(param(&callback, "code").unwrap());
    let tokens = client
        .exchange_code(code)
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .map_err(|e| e.to_string())?;
    assert_eq!(
        claims.email().unwrap().as_str(),
        format!("{username}@example.test")
    );
    assert!(claims.email_verified().unwrap());
    assert_eq!(claims.preferred_username().unwrap().as_str(), username);

    // The access token works at /userinfo.
    let info: Value = reqwest::Client::new()
        .get(format!("{}/userinfo", idp.issuer()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims.subject().as_str());
    Ok(claims.additional_claims().groups.clone())
}

#[tokio::test]
async fn discovery_and_jwks() {
    let idp = start_idp().await;
    let meta: Value = reqwest::get(format!("{}/.well-known/openid-configuration", idp.issuer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], idp.issuer());
    assert!(!idp.issuer().ends_with('/'));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    let jwks: Value = reqwest::get(meta["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert_eq!(key["kid"], idp.signing_key_id());
    assert!(key.get("d").is_none(), "no private key material");
    idp.shutdown().await;
}

#[tokio::test]
async fn openidconnect_rp_completes_the_code_flow() {
    let idp = start_idp().await;
    assert_eq!(
        rp_flow(&idp, "alice", None).await.unwrap(),
        ["oncall-payments"]
    );
    assert_eq!(rp_flow(&idp, "carol", None).await.unwrap(), ["auditors"]);
}

#[tokio::test]
async fn rp_rejects_spoiled_id_tokens() {
    let idp = start_idp().await;
    let spoils = [
        (
            IdTokenOverride::Claims(json!({ "exp": 1_000_000 })),
            "Expired",
        ),
        (
            IdTokenOverride::Claims(json!({ "aud": "someone-else" })),
            "Invalid audiences",
        ),
        (
            IdTokenOverride::Claims(json!({ "nonce": "replayed" })),
            "Invalid nonce",
        ),
        (
            IdTokenOverride::Claims(json!({ "iss": "http://evil.test" })),
            "Invalid issuer",
        ),
        (IdTokenOverride::WrongKey, "Signature verification failed"),
        (
            IdTokenOverride::Tampered(json!({ "groups": ["leads-payments"] })),
            "Signature verification failed",
        ),
    ];
    for (spoil, expected) in spoils {
        let label = format!("{spoil:?}");
        let error = rp_flow(&idp, "alice", Some(spoil)).await.expect_err(&label);
        assert!(error.contains(expected), "{label}: {error}");
    }
    // The override applies once; the next login is normal again.
    assert!(rp_flow(&idp, "alice", None).await.is_ok());
}

#[tokio::test]
async fn minted_tokens_verify_and_key_rotation_changes_kid() {
    let idp = start_idp().await;
    let (client, _) = rp(&idp).await;
    let mut claims = idp.id_token_claims(CLIENT_ID, "bob").unwrap();
    claims["nonce"] = json!("n-9");
    let token: IdToken = idp.mint_id_token(claims).parse().unwrap();
    let verified = token
        .claims(&client.id_token_verifier(), &Nonce::new("n-9".into()))
        .unwrap();
    assert_eq!(verified.additional_claims().groups, ["leads-payments"]);
    assert!(
        token
            .claims(&client.id_token_verifier(), &Nonce::new("other".into()))
            .is_err()
    );

    let before = idp.signing_key_id();
    idp.rotate_signing_key().await.unwrap();
    assert_ne!(idp.signing_key_id(), before);
    // The RP fetched the JWKS before the rotation, so it cannot verify a token
    // with the new `kid` (a real RP must refetch the JWKS then).
    let mut claims = idp.id_token_claims(CLIENT_ID, "bob").unwrap();
    claims["nonce"] = json!("n-9");
    let token: IdToken = idp.mint_id_token(claims).parse().unwrap();
    assert!(
        token
            .claims(&client.id_token_verifier(), &Nonce::new("n-9".into()))
            .is_err()
    );
}

#[tokio::test]
async fn code_is_single_use_and_replay_revokes_the_token() {
    let idp = start_idp().await;
    let (verifier, challenge) = pkce();
    let (callback, _) = login(&idp, &challenge, "alice").await;
    let code = param(&callback, "code").unwrap();
    let first = token_request(&idp, &code, &verifier, SECRET).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let access: Value = first.json().await.unwrap();
    let userinfo = |token: String| {
        let url = format!("{}/userinfo", idp.issuer());
        async move {
            http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        userinfo(access["access_token"].as_str().unwrap().into()).await,
        200
    );

    let replay = token_request(&idp, &code, &verifier, SECRET).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        userinfo(access["access_token"].as_str().unwrap().into()).await,
        401
    );
}

#[tokio::test]
async fn wrong_pkce_verifier_or_secret_is_refused() {
    let idp = start_idp().await;
    let (verifier, challenge) = pkce();
    let (callback, _) = login(&idp, &challenge, "alice").await;
    let code = param(&callback, "code").unwrap();

    let bad_secret = token_request(&idp, &code, &verifier, "wrong").await;
    assert_eq!(bad_secret.status(), 401);
    assert!(bad_secret.headers().contains_key("www-authenticate"));
    assert_eq!(
        bad_secret.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let (other_verifier, _) = pkce();
    let bad_pkce = token_request(&idp, &code, &format!("{other_verifier}x"), SECRET).await;
    assert_eq!(
        bad_pkce.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The failed attempt used the code up.
    let retry = token_request(&idp, &code, &verifier, SECRET).await;
    assert_eq!(
        retry.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // client_secret_post works too.
    let (verifier, challenge) = pkce();
    let (callback, _) = login(&idp, &challenge, "bob").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &param(&callback, "code").unwrap()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", &verifier),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    ];
    let res = http()
        .post(format!("{}/token", idp.issuer()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_a_page_not_a_redirect() {
    let idp = start_idp().await;
    let (_, challenge) = pkce();
    for extra in [
        [("redirect_uri", "http://evil.test/cb")],
        [("redirect_uri", "http://localhost:8080/auth/callback")],
        [("redirect_uri", "")],
        [("client_id", "nobody")],
    ] {
        let res = authorize(&idp, &challenge, &extra).await;
        assert_eq!(res.status(), 400, "{extra:?}");
        assert!(!res.headers().contains_key("location"));
        assert!(res.text().await.unwrap().contains("id=\"error\""));
    }
}

#[tokio::test]
async fn request_errors_redirect_with_state() {
    let idp = start_idp().await;
    let (_, challenge) = pkce();
    for (extra, error) in [
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("scope", "email")], "invalid_scope"),
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let res = authorize(&idp, &challenge, &extra).await;
        assert_eq!(res.status(), 302, "{extra:?}");
        let to = location(&res);
        assert!(to.as_str().starts_with(REDIRECT));
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
        assert_eq!(param(&to, "iss").as_deref(), Some(idp.issuer()));
    }
}

#[tokio::test]
async fn login_page_cancel_and_passwords() {
    let idp = start_idp().await;
    let (_, challenge) = pkce();
    let page = authorize(&idp, &challenge, &[]).await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'")
            && csp.contains("form-action 'self' http://127.0.0.1:8080")
    );
    let html = page.text().await.unwrap();
    for needle in [
        "Development only",
        "value=\"alice\"",
        "Bob Lead",
        "carol@example.test",
        "id=\"cancel\"",
    ] {
        assert!(html.contains(needle), "login page lacks {needle}");
    }
    assert!(
        !html.contains("value=\"dave\""),
        "password users are not click-to-login"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained page"
    );
    let interaction = interaction_of(&html);

    // Users with a password must type it; failures keep the form usable.
    for form in [
        [("username", "dave"), ("password", "nope")],
        [("username", "mallory"), ("password", "x")],
    ] {
        let res = post_login(
            &idp,
            &[&[("interaction", interaction.as_str())][..], &form[..]].concat(),
        )
        .await;
        assert_eq!(res.status(), 401);
        assert!(res.text().await.unwrap().contains("id=\"error\""));
    }
    let no_password =
        post_login(&idp, &[("interaction", &interaction), ("username", "dave")]).await;
    assert_eq!(no_password.status(), 401);

    let cancel = post_login(&idp, &[("interaction", &interaction), ("action", "cancel")]).await;
    assert_eq!(cancel.status(), 302);
    let to = location(&cancel);
    assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
    // The form is single-use.
    let again = post_login(
        &idp,
        &[("interaction", &interaction), ("username", "alice")],
    )
    .await;
    assert_eq!(again.status(), 400);

    let page = authorize(&idp, &challenge, &[]).await;
    let interaction = interaction_of(&page.text().await.unwrap());
    let res = post_login(
        &idp,
        &[
            ("interaction", &interaction),
            ("username", "dave"),
            ("password", "dave-pw"),
        ],
    )
    .await;
    assert_eq!(res.status(), 302);
    assert!(param(&location(&res), "code").is_some());
}

#[tokio::test]
async fn session_skips_the_form_until_prompt_login_or_logout() {
    let idp = start_idp().await;
    let (_, challenge) = pkce();
    let (_, cookie) = login(&idp, &challenge, "bob").await;
    let with_cookie = |extra: &'static [(&'static str, &'static str)]| {
        let mut url = url::Url::parse(&format!("{}/authorize", idp.issuer())).unwrap();
        url.query_pairs_mut().extend_pairs([
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
        url.query_pairs_mut().extend_pairs(extra);
        http().get(url).header("cookie", cookie.clone()).send()
    };
    let silent = with_cookie(&[]).await.unwrap();
    assert_eq!(silent.status(), 302);
    assert!(param(&location(&silent), "code").is_some());
    assert_eq!(
        with_cookie(&[("prompt", "login")]).await.unwrap().status(),
        200
    );
    assert_eq!(
        with_cookie(&[("prompt", "none")]).await.unwrap().status(),
        302
    );

    // Logout to a registered origin redirects with state; a foreign one is refused.
    let logout = format!("{}/logout", idp.issuer());
    let foreign = [
        ("post_logout_redirect_uri", "http://evil.test/"),
        ("client_id", CLIENT_ID),
    ];
    let res = http().get(&logout).query(&foreign).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(!res.headers().contains_key("location"));
    let ok = [
        ("post_logout_redirect_uri", "http://127.0.0.1:8080/"),
        ("state", "bye"),
    ];
    let res = http()
        .get(&logout)
        .header("cookie", cookie.clone())
        .query(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"],
        "http://127.0.0.1:8080/?state=bye"
    );
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        with_cookie(&[]).await.unwrap().status(),
        200,
        "session ended"
    );
    let page = http().get(&logout).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("signed out"));
}

#[tokio::test]
async fn refuses_non_loopback_and_starts_fast() {
    let opts = IdpOptions {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..IdpOptions::default()
    };
    let err = idp::start(opts).await.unwrap_err().to_string();
    assert!(err.contains("loopback"), "{err}");

    let started = Instant::now();
    let idp = idp::start(IdpOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..IdpOptions::default()
    })
    .await
    .unwrap();
    // RSA keygen is optimised even in debug builds (see the workspace Cargo.toml).
    eprintln!("idp start took {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "start took {:?}",
        started.elapsed()
    );
    let issuer = idp.issuer().to_owned();
    idp.shutdown().await;
    assert!(
        reqwest::get(format!("{issuer}/jwks")).await.is_err(),
        "stopped"
    );
}
