//! `/requests/:id`: one request (the link in notifications), with its reviews and grant, and
//! what the viewer may do: review, cancel, revoke. Updated live.

use keyhole_protocol::access::{AccessRequest, RequestState, Verdict};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::access_actions::{CancelButton, ReviewBox, RevokeBox};
use super::access_live::{
    approvals, format_left, format_span, format_time, lifecycle, use_clock, use_live_version,
};
use crate::api::{self, ApiFailure};
use crate::components::guard::RequireSession;

/// `/requests/:id`.
#[component]
pub(crate) fn RequestDetailPage() -> impl IntoView {
    view! { <RequireSession><Detail/></RequireSession> }
}

#[component]
fn Detail() -> impl IntoView {
    let params = use_params_map();
    let version = use_live_version();
    let now = use_clock();
    let request = RwSignal::new(None::<Result<AccessRequest, String>>);
    Effect::new(move |_| {
        version.track();
        let id = params.with(|p| p.get("id")).unwrap_or_default();
        spawn_local(async move {
            let path = format!("/api/requests/{}", js_sys::encode_uri_component(&id));
            request.set(Some(match api::get::<AccessRequest>(&path).await {
                Ok(r) => Ok(r),
                Err(ApiFailure::Http(404, _)) => {
                    Err("There is no such request, or it is not yours to see.".into())
                }
                Err(e) => Err(e.to_string()),
            }));
        });
    });
    move || match request.get() {
        None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
        Some(Err(e)) => {
            view! { <div class="card notice" role="alert"><h2>"Not found"</h2><p>{e}</p></div> }
                .into_any()
        }
        Some(Ok(r)) => view! { <RequestCard r now version/> }.into_any(),
    }
}

#[component]
fn RequestCard(r: AccessRequest, now: RwSignal<i64>, version: RwSignal<u32>) -> impl IntoView {
    let reviews = r.reviews.clone();
    let grant = r.grant.clone();
    let pending = r.state == RequestState::Pending;
    let title = format!("{} for {}", r.profile, r.requester.display());
    crate::components::set_title(&format!("Request {}", r.profile));
    let stored = StoredValue::new(r.clone());
    // One status: pending → active → ended, with who and when; the review history is below.
    let status = move || stored.with_value(|r| lifecycle(r, now.get()));
    view! {
        <section class="page-head">
            <h1>{title}</h1>
            <p><span class=move || status().class data-testid="request-state">{move || status().label}</span>
                " " <span class="muted" data-testid="status-detail">{move || status().detail}</span></p>
        </section>
        <article class="card" data-testid="request-detail">
            <p class="reason">{r.reason.clone()}</p>
            <p class="muted small">"Duration " {format_span(r.duration_seconds)} " · asked at " {format_time(r.created_at)}
                {pending.then(|| view! { " · expires at " {format_time(r.pending_expires_at)} })}
                " · needs " {approvals(r.required_approvals)}</p>
            {r.can_review.then(|| view! { <ReviewBox request_id=r.id.clone() version/> })}
            {r.can_cancel.then(|| view! { <CancelButton request_id=r.id.clone() version/> })}
        </article>
        {grant.map(|g| {
            let expires = g.expires_at;
            let active = move || status().active;
            let revoke = g.can_revoke.then(|| g.id.clone());
            view! {
                <article class="card" data-testid="grant-detail">
                    <h2>"Access"</h2>
                    {move || active().then(|| view! { <p>"Ends in " <strong class="countdown">{move || format_left(expires - now.get())}</strong>
                        " (at " {format_time(expires)} ")"</p> })}
                    <dl class="facts">
                        <dt>"Kubernetes user"</dt><dd><code>{g.kube_user.clone()}</code></dd>
                        <dt>"Groups"</dt><dd><code>{g.kubernetes_groups.join(", ")}</code></dd>
                        <dt>"Namespaces"</dt><dd>{g.namespaces.join(", ")}</dd>
                        <dt>"Allows"</dt><dd>{g.capabilities.join(", ")}</dd>
                    </dl>
                    {move || active().then(|| revoke.clone().map(|id| view! { <RevokeBox grant_id=id version/> }))}
                </article>
            }
        })}
        <article class="card" data-testid="review-history">
            <h2>"Approval history"</h2>
            {if reviews.is_empty() {
                view! { <p class="muted">"No reviews."</p> }.into_any()
            } else {
                view! { <ul class="review-list">{reviews.into_iter().map(|v| view! {
                    <li><strong>{v.reviewer.display().to_owned()}</strong> " "
                        {if v.verdict == Verdict::Approve { "approved" } else { "denied" }} " at " {format_time(v.at)}
                        {(!v.comment.is_empty()).then(|| view! { ": “" {v.comment.clone()} "”" })}</li>
                }).collect_view()}</ul> }.into_any()
            }}
        </article>
    }
}
