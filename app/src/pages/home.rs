//! The overview page: who you are, what your roles let you do.

use keyhole_protocol::api::Role;
use leptos::prelude::*;

use crate::components::guard::RequireSession;
use crate::session::use_session;

/// `/`.
#[component]
pub(crate) fn HomePage() -> impl IntoView {
    view! {
        <RequireSession>
            <Overview/>
        </RequireSession>
    }
}

#[component]
fn Overview() -> impl IntoView {
    let session = use_session();
    move || {
        session.me().map(|me| {
            let first = me
                .name
                .clone()
                .and_then(|n| n.split_whitespace().next().map(str::to_owned))
                .unwrap_or_else(|| me.subject.clone());
            let groups = if me.groups.is_empty() {
                "none".to_owned()
            } else {
                me.groups.join(", ")
            };
            let cards = role_cards(&me.roles);
            view! {
                <section class="page-head">
                    <h1 data-testid="welcome">"Welcome, " {first}</h1>
                    <p class="muted">"Your IdP groups: " <span data-testid="groups">{groups}</span></p>
                </section>
                <section class="grid">
                    {cards}
                </section>
            }
        })
    }
}

fn role_cards(roles: &[Role]) -> Vec<AnyView> {
    let mut cards = Vec::new();
    let card = |title: &'static str, role: &'static str, body: &'static str| {
        view! {
            <article class="card role-card">
                <span class="pill">{role}</span>
                <h2>{title}</h2>
                <p class="muted">{body}</p>
            </article>
        }
        .into_any()
    };
    if roles.contains(&Role::Engineer) {
        cards.push(card(
            "Request access",
            "engineer",
            "Ask for a profile with a reason and a duration. Once approved, open a terminal on a pod in your browser; access ends by itself.",
        ));
    }
    if roles.contains(&Role::Lead) {
        cards.push(card(
            "Review requests",
            "lead",
            "Approve or deny requests from your team with a comment, see who has a terminal open, and revoke grants.",
        ));
    }
    if roles.contains(&Role::Auditor) {
        cards.push(card(
            "Audit",
            "auditor",
            "See every terminal session, read-only: who opened a shell in which pod, under which request and grant, and how it ended.",
        ));
    }
    if roles.contains(&Role::Admin) {
        cards.push(card(
            "Policy",
            "admin",
            "See the effective policy and its last reload.",
        ));
    }
    if cards.is_empty() {
        cards.push(
            view! {
                <article class="card notice" data-testid="no-roles">
                    <h2>"No access yet"</h2>
                    <p class="muted">"None of your IdP groups is named in Keyhole's policy. Ask your platform team which group grants the access you need."</p>
                </article>
            }
            .into_any(),
        );
    }
    cards
}
