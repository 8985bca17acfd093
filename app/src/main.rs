//! Keyhole's browser app: Leptos, client-side rendered, built by Trunk.
//!
//! # Layout
//! - [`api`]: typed fetch wrappers over the `protocol` DTOs.
//! - [`session`]: who is signed in (context), CSRF token, 401 → login.
//! - [`components`]: layout (header, nav), guards, shared views.
//! - [`pages`]: one module per route.

#![forbid(unsafe_code)]

mod api;
mod components;
mod pages;
mod session;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::layout::Layout;
use crate::pages::{home::HomePage, login::LoginPage, not_found::NotFound};

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
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/login") view=LoginPage/>
                </Routes>
            </Layout>
        </Router>
    }
}
