//! The error boundary's view: any `Err` rendered by a page ends up here
//! instead of a blank or broken page.

use leptos::prelude::*;

/// Lists the errors a page raised, with a way back.
#[component]
pub(crate) fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    super::set_title("Something went wrong");
    let list = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| view! { <li>{e.to_string()}</li> })
            .collect::<Vec<_>>()
    };
    view! {
        <section class="card narrow" role="alert" data-testid="error-view">
            <h1>"Something went wrong"</h1>
            <ul class="error-list">{list}</ul>
            <a class="btn btn-primary" href="/">"Back to the overview"</a>
        </section>
    }
}
