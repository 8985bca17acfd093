//! 404 page.

use leptos::prelude::*;

/// Shown for unknown client-side routes.
#[component]
pub(crate) fn NotFound() -> impl IntoView {
    view! {
        <section class="card narrow center" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p class="muted">"There is nothing at this address. It may have moved, or the link is wrong."</p>
            <a class="btn btn-primary" href="/">"Go to the overview"</a>
        </section>
    }
}
