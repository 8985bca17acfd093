//! Guards: pages that need a session or a role render a clear view instead
//! of a broken page.

// `RequireRole` is first used by the role pages (approvals, audit) of the
// access issue; its generated props struct would warn until then.
#![allow(dead_code)]

use keyhole_protocol::api::Role;
use leptos::prelude::*;

use crate::session::{SessionState, hard_navigate, login_url_for_here, use_session};

/// Renders `children` for a signed-in user; otherwise sends them to login
/// (remembering this page), or shows why the session could not be checked.
#[component]
pub(crate) fn RequireSession(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    move || {
        match session.state.get() {
        SessionState::SignedIn(_) => children().into_any(),
        SessionState::Loading => view! { <p class="muted loading">"Checking your session…"</p> }.into_any(),
        SessionState::SignedOut => {
            hard_navigate(&login_url_for_here());
            view! { <p class="muted">"Redirecting to sign in…"</p> }.into_any()
        }
        SessionState::Error(e) => view! {
            <div class="card error-card" role="alert"><h1>"Keyhole is unreachable"</h1><p>{e}</p></div>
        }
        .into_any(),
    }
    }
}

/// Renders `children` only for users holding one of `roles`; others see a
/// "not allowed" view that says which role is needed.
#[component]
pub(crate) fn RequireRole(roles: Vec<Role>, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let needed = roles
        .iter()
        .map(|r| format!("{r:?}").to_lowercase())
        .collect::<Vec<_>>()
        .join(" or ");
    let roles = StoredValue::new(roles);
    view! {
        <RequireSession>
            {
                let needed = needed.clone();
                let children = children.clone();
                move || {
                    if roles.get_value().iter().any(|r| session.has(*r)) {
                        children().into_any()
                    } else {
                        view! {
                            <div class="card notice" role="alert" data-testid="not-allowed">
                                <h1>"Not allowed"</h1>
                                <p>"This page is for the " <strong>{needed.clone()}</strong>
                                   " role. Roles come from your identity provider's groups; ask your platform team if you need it."</p>
                                <a class="btn" href="/">"Back to overview"</a>
                            </div>
                        }
                        .into_any()
                    }
                }
            }
        </RequireSession>
    }
}
