//! `/admin/policy`: the effective policy, read-only, and how its last reload went.

use keyhole_protocol::access::PolicyView;
use keyhole_protocol::api::Role;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_live::format_time;
use crate::api;
use crate::components::guard::RequireRole;

/// `/admin/policy`.
#[component]
pub(crate) fn PolicyPage() -> impl IntoView {
    view! { <RequireRole roles=vec![Role::Admin]><Policy/></RequireRole> }
}

#[component]
fn Policy() -> impl IntoView {
    let view_ = RwSignal::new(None::<Result<PolicyView, String>>);
    spawn_local(async move {
        view_.set(Some(
            api::get::<PolicyView>("/api/policy")
                .await
                .map_err(|e| e.to_string()),
        ));
    });
    move || {
        match view_.get() {
        None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <div class="alert alert-error" role="alert">{e}</div> }.into_any(),
        Some(Ok(p)) => view! {
            <section class="page-head">
                <h1>"Effective policy"</h1>
                <p class="muted"><code>{p.origin.clone()}</code> " · " {p.profiles} " profile(s)"</p>
            </section>
            {if p.reload_ok {
                view! { <div class="alert alert-info" role="status" data-testid="reload-status">
                    "Last reload at " {format_time(p.reload_at)} " succeeded."</div> }.into_any()
            } else {
                view! { <div class="alert alert-error" role="alert" data-testid="reload-status">
                    "The reload at " {format_time(p.reload_at)} " failed; the last good policy stays in force."</div> }.into_any()
            }}
            {(!p.reload_messages.is_empty()).then(|| view! {
                <ul class="card mono small">{p.reload_messages.iter().map(|m| view! { <li>{m.clone()}</li> }).collect_view()}</ul>
            })}
            // Scrolls sideways on narrow screens: focusable, so the keyboard can scroll it too.
            <pre class="card policy-source" data-testid="policy-source" tabindex="0" role="region"
                aria-label="Policy source">{p.source.clone()}</pre>
        }.into_any(),
    }
    }
}
