//! The page frame: header with the product name, navigation for the user's
//! roles, the signed-in user and sign-out; a development-IdP banner.

use keyhole_protocol::api::Role;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::session::{SessionState, sign_out, use_session};

/// Wraps every page.
#[component]
pub(crate) fn Layout(children: Children) -> impl IntoView {
    let session = use_session();
    let dev_idp = move || session.info.get().is_some_and(|i| i.dev_idp);
    view! {
        <Show when=dev_idp>
            <div class="dev-banner" role="status" data-testid="dev-idp-banner">
                "Development identity provider: demo users, no passwords. Not for production."
            </div>
        </Show>
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">"Keyhole"</span>
            </A>
            <nav class="nav" aria-label="Main">
                <NavLinks/>
            </nav>
            <div class="user-area">
                <UserBadge/>
            </div>
        </header>
        <main class="content" id="main">{children()}</main>
        <footer class="footer">
            "Keyhole — just-in-time access to Kubernetes. Every session is tied to a person, a grant and a reason."
        </footer>
    }
}

#[component]
fn NavLinks() -> impl IntoView {
    let session = use_session();
    move || {
        session.me().map(|_| {
            let lead = session.has(Role::Lead);
            let auditor = session.has(Role::Auditor);
            let requester = session.has(Role::Engineer) || lead;
            let admin = session.has(Role::Admin);
            view! {
                <A href="/" exact=true>"Overview"</A>
                {requester.then(|| view! { <A href="/requests" exact=true attr:data-testid="nav-requests">"Requests"</A> })}
                {requester.then(|| view! { <A href="/pods" attr:data-testid="nav-pods">"Pods"</A> })}
                {(lead || admin).then(|| view! { <A href="/approvals" attr:data-testid="nav-approvals">"Approvals"</A> })}
                <A href="/sessions" attr:data-testid="nav-sessions">"Sessions"</A>
                {admin.then(|| view! { <A href="/admin/policy" attr:data-testid="nav-policy">"Policy"</A> })}
                {lead.then(|| view! { <span class="nav-role">"Lead"</span> })}
                {auditor.then(|| view! { <span class="nav-role">"Auditor"</span> })}
            }
        })
    }
}

#[component]
fn UserBadge() -> impl IntoView {
    let session = use_session();
    move || match session.state.get() {
        SessionState::SignedIn(me) => {
            let display = me
                .name
                .clone()
                .or(me.email.clone())
                .unwrap_or(me.subject.clone());
            let roles = me
                .roles
                .iter()
                .map(|r| format!("{r:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(" · ");
            let who = format!("Kubernetes user: {}", me.kube_user);
            let until = format!("signed in until {}", clock(me.idle_expires_at));
            let until_title = format!(
                "Keyhole signs you out after a period without activity (then at {}), and at {} at the latest.",
                clock(me.idle_expires_at),
                clock(me.session_expires_at)
            );
            view! {
                <div class="user" data-testid="user-badge">
                    <span class="avatar" aria-hidden="true">{initials(&display)}</span>
                    <span class="user-text">
                        <span class="user-name" data-testid="user-name" title=who>{display}</span>
                        <span class="user-roles" data-testid="user-roles">{roles}</span>
                        <span class="user-roles muted small" data-testid="session-until" title=until_title>{until}</span>
                    </span>
                    <button class="btn btn-ghost" data-testid="logout" on:click=move |_| sign_out(session)>
                        "Sign out"
                    </button>
                </div>
            }
            .into_any()
        }
        SessionState::Loading => view! { <span class="muted">"…"</span> }.into_any(),
        _ => view! { <a class="btn btn-primary" href="/login">"Sign in"</a> }.into_any(),
    }
}

/// A local time like `15:42`, from Unix seconds.
fn clock(unix: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}
