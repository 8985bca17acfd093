//! The sign-in page: one button to the identity provider, and clear messages
//! for every way a login can fail (the server redirects here with `?error=`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::session::{SessionState, use_session};

/// Human text for the server's login error codes.
fn error_text(code: &str) -> &'static str {
    match code {
        "access_denied" => "Sign-in was cancelled at the identity provider. Nothing was changed.",
        "idp_unreachable" => {
            "The identity provider is unreachable right now. Keyhole keeps retrying; try again in a moment."
        }
        "state_mismatch" => "That sign-in link expired or was already used. Start again.",
        "issuer_mismatch" => {
            "The sign-in response came from an unexpected identity provider and was refused."
        }
        "token_exchange_failed" => {
            "The identity provider refused to complete the sign-in (the code may have expired or been used twice). Start again."
        }
        "id_token_invalid" => "The identity provider's answer failed verification and was refused.",
        "invalid_callback" => "The sign-in response was incomplete. Start again.",
        "username_missing" => {
            "Your identity provider did not send the account name Keyhole uses for Kubernetes (the configured username claim). Ask your administrator to check the IdP's claims."
        }
        "email_unverified" => {
            "Your identity provider does not mark your e-mail address as verified, and Keyhole uses it as your Kubernetes user name. Verify it at the identity provider, then sign in again."
        }
        _ => "Sign-in failed. Start again.",
    }
}

/// `/login`.
#[component]
pub(crate) fn LoginPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let signed_out = move || query.with(|q| q.get("signed_out").is_some());
    let return_to = move || {
        query
            .with(|q| q.get("return_to"))
            .unwrap_or_else(|| "/".into())
    };
    let href = move || {
        format!(
            "/auth/login?return_to={}",
            js_sys::encode_uri_component(&return_to())
        )
    };
    let href_switch = move || format!("{}&prompt=login", href());
    let idp_down = move || session.info.get().is_some_and(|i| !i.idp_ready);
    view! {
        <section class="login">
            <div class="card login-card">
                <div class="login-mark" aria-hidden="true"></div>
                <h1>"Sign in to Keyhole"</h1>
                <p class="muted">"Just-in-time access to production Kubernetes. Request a profile, get a time-limited terminal, leave an audit trail."</p>
                {move || error().map(|code| view! {
                    <div class="alert alert-error" role="alert" data-testid="login-error">{error_text(&code)}</div>
                })}
                <Show when=signed_out>
                    <div class="alert alert-info" role="status" data-testid="signed-out">"You are signed out."</div>
                </Show>
                <Show when=idp_down>
                    <div class="alert alert-warn" role="status">"The identity provider is unreachable; Keyhole is retrying."</div>
                </Show>
                {move || match session.state.get() {
                    SessionState::SignedIn(me) => view! {
                        <p>"Signed in as " <strong>{me.name.or(me.email).unwrap_or(me.subject)}</strong> "."</p>
                        <a class="btn btn-primary btn-block" href="/">"Continue"</a>
                        <a class="btn btn-ghost btn-block" rel="external" href=href_switch>"Sign in as someone else"</a>
                    }.into_any(),
                    _ => view! {
                        <a class="btn btn-primary btn-block" rel="external" data-testid="login-button" href=href>
                            "Sign in with your identity provider"
                        </a>
                    }.into_any(),
                }}
                <p class="fineprint">"Access is granted to IdP groups through a reviewed policy, never to individuals."</p>
            </div>
        </section>
    }
}
