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
use leptos_router::path;

use crate::components::error_view::ErrorView;
use crate::components::layout::Layout;
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

/// The root component: session context, router and layout.
#[component]
fn App() -> impl IntoView {
    session::provide_session();
    view! {
        <Router>
            <Layout>
                <ErrorBoundary fallback=|errors| view! { <ErrorView errors/> }>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/pods") view=MyGrantsPage/>
                    <Route path=path!("/grants/:grant/pods") view=PodsPage/>
                    <Route path=path!("/grants/:grant/pods/:ns/:pod") view=TerminalPage/>
                    <Route path=path!("/grants/:grant/pods/:ns/:pod/logs") view=LogsPage/>
                    <Route path=path!("/requests") view=RequestsPage/>
                    <Route path=path!("/requests/:id") view=RequestDetailPage/>
                    <Route path=path!("/approvals") view=ApprovalsPage/>
                    <Route path=path!("/sessions") view=SessionsPage/>
                    <Route path=path!("/admin/policy") view=PolicyPage/>
                </Routes>
                </ErrorBoundary>
            </Layout>
        </Router>
    }
}
