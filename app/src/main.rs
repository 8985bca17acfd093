//! Keyhole's browser app: Leptos, client-side rendered, built by Trunk.
//!
//! # Layout
//! - [`api`]: typed fetch wrappers over the `protocol` DTOs.
//! - [`session`]: who is signed in (context), CSRF token, 401 → login.
//! - [`components`]: layout (header, nav), guards, shared views.
//! - [`pages`]: one module per route.
//! - [`xterm`], [`term_socket`]: the xterm.js binding and the terminal WebSocket client.

#![forbid(unsafe_code)]
// A binary: `pub` marks what a module offers to the others (Leptos components are `pub fn` by
// convention); nothing is reachable from outside the crate anyway.
#![allow(unreachable_pub)]

mod api;
mod components;
mod pages;
mod session;
mod term_socket;
mod xterm;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_params_map;
use leptos_router::path;

use crate::components::error_view::ErrorView;
use crate::components::layout::Layout;
use crate::components::set_title;
use crate::pages::{
    approvals::ApprovalsPage, policy::PolicyPage, request_detail::RequestDetailPage,
    requests::RequestsPage, sessions::SessionsPage,
};
use crate::pages::{home::HomePage, login::LoginPage, not_found::NotFound};
use crate::pages::{logs::LogsPage, pods::MyGrantsPage, pods::PodsPage, terminal::TerminalPage};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The root component: session context, router and layout. Each route names its place in
/// the window title ([`set_title`]); pages refine it once they know more.
#[component]
fn App() -> impl IntoView {
    session::provide_session();
    view! {
        <Router>
            <Layout>
                <ErrorBoundary fallback=|errors| view! { <ErrorView errors/> }>
                <Routes fallback=|| { set_title("Page not found"); view! { <NotFound/> } }>
                    // Keep in step with APP_ROUTES in server/src/http/assets.rs (a server test
                    // compares the two): the server answers 404 for any other path.
                    <Route path=path!("/") view=|| { set_title("Overview"); view! { <HomePage/> } }/>
                    <Route path=path!("/login") view=|| { set_title("Sign in"); view! { <LoginPage/> } }/>
                    <Route path=path!("/pods") view=|| { set_title("Pods"); view! { <MyGrantsPage/> } }/>
                    <Route path=path!("/grants/:grant/pods") view=|| { set_title("Pods"); view! { <PodsPage/> } }/>
                    <Route path=path!("/grants/:grant/pods/:ns/:pod") view=|| {
                        set_title(&format!("{} · Terminal", param("pod")));
                        view! { <TerminalPage/> }
                    }/>
                    <Route path=path!("/grants/:grant/pods/:ns/:pod/logs") view=|| {
                        set_title(&format!("{} · Logs", param("pod")));
                        view! { <LogsPage/> }
                    }/>
                    <Route path=path!("/requests") view=|| { set_title("Requests"); view! { <RequestsPage/> } }/>
                    <Route path=path!("/requests/:id") view=|| { set_title("Request"); view! { <RequestDetailPage/> } }/>
                    <Route path=path!("/approvals") view=|| { set_title("Approvals"); view! { <ApprovalsPage/> } }/>
                    <Route path=path!("/sessions") view=|| { set_title("Sessions"); view! { <SessionsPage/> } }/>
                    <Route path=path!("/admin/policy") view=|| { set_title("Policy"); view! { <PolicyPage/> } }/>
                </Routes>
                </ErrorBoundary>
            </Layout>
        </Router>
    }
}

/// A parameter of the current route (empty when absent).
fn param(name: &str) -> String {
    use_params_map()
        .with_untracked(|p| p.get(name))
        .unwrap_or_default()
}
