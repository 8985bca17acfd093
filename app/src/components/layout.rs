//! The page frame: a skip link, the development banner, the header with the product name,
//! navigation for the user's roles (a menu button on narrow screens), the signed-in user and
//! sign-out, and the `main` landmark every page renders into.

use keyhole_protocol::access::{AccessRequest, Page};
use keyhole_protocol::api::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_location;
use wasm_bindgen::JsCast;

use crate::api;
use crate::pages::access_live::use_live_version;
use crate::session::{SessionState, sign_out, use_session};

/// The id of the `main` landmark (the skip link's target).
const MAIN_ID: &str = "main";
/// The id of the navigation (the menu button controls it).
const NAV_ID: &str = "main-nav";

/// Wraps every page.
#[component]
pub(crate) fn Layout(children: Children) -> impl IntoView {
    let session = use_session();
    let signed_in = move || session.me().is_some();
    let path = use_location().pathname;
    // The menu (narrow screens only): open or not; it closes when the route changes.
    let menu_open = RwSignal::new(false);
    Effect::new(move |_| {
        path.track();
        menu_open.set(false);
    });
    // After a client-side navigation (not the first page load), focus moves to `main`, as a
    // page load would reset it: screen readers then read the new page (its title is set by
    // the router), and the next Tab starts inside it rather than somewhere in the old page.
    Effect::new(move |prev: Option<String>| {
        let now = path.get();
        if prev.is_some_and(|p| p != now) {
            focus_main(false);
        }
        now
    });
    let toggle = NodeRef::<leptos::html::Button>::new();
    let close_on_escape = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Escape" && menu_open.get_untracked() {
            menu_open.set(false);
            if let Some(button) = toggle.get_untracked() {
                let _ = button.focus();
            }
        }
    };
    view! {
        <a class="skip-link" href=format!("#{MAIN_ID}") rel="external" data-testid="skip-link"
            on:click=skip_to_main>"Skip to content"</a>
        <DevBanner/>
        <header class="topbar" on:keydown=close_on_escape>
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                <span class="brand-name">"Keyhole"</span>
            </A>
            <Show when=signed_in>
                <button type="button" class="btn btn-ghost nav-toggle" node_ref=toggle
                    aria-controls=NAV_ID aria-expanded=move || menu_open.get().to_string()
                    data-testid="nav-toggle" on:click=move |_| menu_open.update(|o| *o = !*o)>
                    <span class="nav-toggle-icon" aria-hidden="true"></span>
                    "Menu"
                </button>
            </Show>
            <nav class="nav" class:open=move || menu_open.get() id=NAV_ID aria-label="Main"
                data-testid="nav">
                <NavLinks path/>
            </nav>
            <div class="user-area">
                <UserBadge/>
            </div>
        </header>
        <main class="content" id=MAIN_ID tabindex="-1">{children()}</main>
        <footer class="footer">
            "Keyhole — just-in-time access to Kubernetes. Every session is tied to a person, a grant and a reason."
        </footer>
    }
}

/// The skip link moves focus (and the view) to `main` without changing the URL; the router
/// leaves it alone (`rel="external"`), the browser's own jump is replaced by this.
fn skip_to_main(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    focus_main(true);
}

/// Moves focus to `main` (optionally scrolling it into view).
fn focus_main(scroll: bool) {
    let main = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(MAIN_ID))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(main) = main {
        let _ = main.focus();
        if scroll {
            main.scroll_into_view();
        }
    }
}

/// Says, on every page and before sign-in, which parts are development stand-ins: the
/// cluster (its "pods" are processes on this machine) and the identity provider.
#[component]
fn DevBanner() -> impl IntoView {
    let session = use_session();
    let dev_idp = move || session.info.get().is_some_and(|i| i.dev_idp);
    let dev_cluster = move || session.info.get().is_some_and(|i| i.dev_cluster);
    view! {
        <Show when=move || dev_idp() || dev_cluster()>
            // A landmark of its own (so nothing sits outside one), holding the note.
            <aside class="dev-banner" aria-labelledby="dev-banner-tag" data-testid="dev-banner">
                <strong class="dev-banner-tag" id="dev-banner-tag">"Development mode"</strong>
                <p class="dev-banner-text" role="note" aria-labelledby="dev-banner-tag">
                    <Show when=dev_cluster>
                        <span data-testid="dev-cluster-banner">
                            "The cluster is a development stand-in: its “pods” are local processes on this machine, not a real Kubernetes cluster."
                        </span>
                    </Show>
                    " "
                    <Show when=dev_idp>
                        <span data-testid="dev-idp-banner">
                            "Development identity provider: demo users, no passwords. Not for production."
                        </span>
                    </Show>
                </p>
            </aside>
        </Show>
    }
}

/// Which links the user's roles give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NavRoles {
    requester: bool,
    lead: bool,
    auditor: bool,
    admin: bool,
}

#[component]
fn NavLinks(path: Memo<String>) -> impl IntoView {
    let session = use_session();
    // Only a change of roles rebuilds the links (the session itself is re-read often).
    let roles = Memo::new(move |_| {
        session.me().map(|_| NavRoles {
            requester: session.has(Role::Engineer) || session.has(Role::Lead),
            lead: session.has(Role::Lead),
            auditor: session.has(Role::Auditor),
            admin: session.has(Role::Admin),
        })
    });
    move || {
        roles.get().map(|r| {
            view! {
                <NavLink href="/" label="Overview" testid="nav-overview" path current=|p| p == "/"/>
                {r.requester.then(|| view! {
                    <NavLink href="/requests" label="Requests" testid="nav-requests" path
                        current=is_requests_page/>
                    <NavLink href="/pods" label="Pods" testid="nav-pods" path current=is_pods_page/>
                })}
                {(r.lead || r.admin).then(|| view! { <ApprovalsLink path lead=r.lead/> })}
                <NavLink href="/sessions" label="Sessions" testid="nav-sessions" path
                    current=|p| p == "/sessions"/>
                {r.admin.then(|| view! {
                    <NavLink href="/admin/policy" label="Policy" testid="nav-policy" path
                        current=|p| p == "/admin/policy"/>
                })}
                {(r.lead || r.auditor).then(|| view! {
                    <span class="nav-roles">
                        {r.lead.then(|| view! { <span class="nav-role">"Lead"</span> })}
                        {r.auditor.then(|| view! { <span class="nav-role">"Auditor"</span> })}
                    </span>
                })}
            }
        })
    }
}

/// One link of the navigation; `aria-current="page"` (and its visible mark) where `current`
/// says the path belongs to it.
#[component]
fn NavLink(
    href: &'static str,
    label: &'static str,
    testid: &'static str,
    path: Memo<String>,
    current: fn(&str) -> bool,
) -> impl IntoView {
    view! {
        <a href=href data-testid=testid
            aria-current=move || path.with(|p| current(p)).then_some("page")>{label}</a>
    }
}

/// `/requests` and `/requests/:id` (not an unknown path below it: that is the not-found page).
fn is_requests_page(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["requests"] => true,
        ["requests", id] => !id.is_empty(),
        _ => false,
    }
}

/// `/pods` and a grant's pages: its pods, a terminal, logs.
fn is_pods_page(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["pods"] => true,
        ["grants", grant, "pods", rest @ ..] if !grant.is_empty() => {
            matches!(rest, [] | [_, _] | [_, _, "logs"]) && rest.iter().all(|s| !s.is_empty())
        }
        _ => false,
    }
}

/// How many pending requests the lead may review now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Waiting {
    count: usize,
    /// More pending requests exist than the one page counted.
    more: bool,
}

/// "Approvals", and for leads the live number of requests waiting for them: a badge, and
/// "Approvals (2 waiting)" for screen readers. Refetched on every live event.
#[component]
fn ApprovalsLink(path: Memo<String>, lead: bool) -> impl IntoView {
    let waiting = RwSignal::new(Waiting::default());
    if lead {
        let version = use_live_version();
        Effect::new(move |_| {
            let asked = version.get();
            spawn_local(async move {
                let Ok(page) = api::get_background::<Page<AccessRequest>>(
                    "/api/requests?scope=pending&limit=100",
                )
                .await
                else {
                    return;
                };
                // An answer to an older event must not overwrite a newer one.
                if version.get_untracked() == asked {
                    waiting.set(Waiting {
                        count: page.items.iter().filter(|r| r.can_review).count(),
                        more: page.next_cursor.is_some(),
                    });
                }
            });
        });
    }
    let number = move || {
        let w = waiting.get();
        if w.more {
            format!("{}+", w.count)
        } else {
            w.count.to_string()
        }
    };
    view! {
        <a href="/approvals" data-testid="nav-approvals"
            aria-current=move || (path.get() == "/approvals").then_some("page")>
            "Approvals"
            {move || (waiting.get().count > 0).then(|| view! {
                <span class="nav-count" aria-hidden="true" data-testid="nav-approvals-count">{number}</span>
                <span class="visually-hidden">{move || format!(" ({} waiting)", number())}</span>
            })}
        </a>
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

#[cfg(test)]
mod tests {
    use super::{is_pods_page, is_requests_page};

    #[test]
    fn nav_sections_cover_their_routes_only() {
        assert!(is_requests_page("/requests"));
        assert!(is_requests_page("/requests/abc"));
        assert!(!is_requests_page("/requests/abc/no/such/page"));
        assert!(is_pods_page("/pods"));
        assert!(is_pods_page("/grants/g/pods"));
        assert!(is_pods_page("/grants/g/pods/payments/ledger-0"));
        assert!(is_pods_page("/grants/g/pods/payments/ledger-0/logs"));
        assert!(!is_pods_page("/grants/g/pods/payments"));
        assert!(!is_pods_page("/grants/g/pods/payments/ledger-0/nope"));
    }
}
