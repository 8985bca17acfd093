//! `/requests/:id`: one request (the link in notifications), with its reviews and grant, and
//! what the viewer may do: review, cancel, revoke. Updated live.

use keyhole_protocol::access::{AccessRequest, GrantState, RequestState, Verdict};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::access_actions::{CancelButton, ReviewBox, RevokeBox};
use super::access_live::{
    format_left, format_span, format_time, grant_pill, request_pill, use_clock, use_live_version,
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
    let (class, label) = request_pill(r.state);
    let reviews = r.reviews.clone();
    let grant = r.grant.clone();
    view! {
        <section class="page-head">
            <h1>{r.profile.clone()} " for " {r.requester.display().to_owned()}</h1>
            <p><span class=class data-testid="request-state">{label}</span></p>
        </section>
        <article class="card" data-testid="request-detail">
            <p class="reason">{r.reason.clone()}</p>
            <p class="muted small">"Duration " {format_span(r.duration_seconds)} " · asked " {format_time(r.created_at)}
                {(r.state == RequestState::Pending).then(|| view! { " · expires " {format_time(r.pending_expires_at)} })}
                " · needs " {r.required_approvals} " approval(s)"</p>
            <h2>"Reviews"</h2>
            {if reviews.is_empty() {
                view! { <p class="muted">"None yet."</p> }.into_any()
            } else {
                view! { <ul class="review-list">{reviews.into_iter().map(|v| view! {
                    <li><strong>{v.reviewer.display().to_owned()}</strong> " "
                        {if v.verdict == Verdict::Approve { "approved" } else { "denied" }} " at " {format_time(v.at)}
                        {(!v.comment.is_empty()).then(|| view! { ": “" {v.comment.clone()} "”" })}</li>
                }).collect_view()}</ul> }.into_any()
            }}
            {r.can_review.then(|| view! { <ReviewBox request_id=r.id.clone() version/> })}
            {r.can_cancel.then(|| view! { <CancelButton request_id=r.id.clone() version/> })}
        </article>
        {grant.map(|g| {
            let expires = g.expires_at;
            let active = g.state == GrantState::Active;
            let (gc, gl) = grant_pill(g.state);
            view! {
                <article class="card" data-testid="grant-detail">
                    <h2>"Grant " <span class=gc>{gl}</span></h2>
                    {active.then(|| view! { <p>"Ends in " <strong class="countdown">{move || format_left(expires - now.get())}</strong></p> })}
                    <p class="muted small">"Kubernetes user " <code>{g.kube_user.clone()}</code> " · groups "
                        <code>{g.kubernetes_groups.join(", ")}</code> " · namespaces " {g.namespaces.join(", ")}</p>
                    {g.revoke_reason.clone().map(|why| view! { <p>"Revoked: " {why}</p> })}
                    {(active && g.can_revoke).then(|| view! { <RevokeBox grant_id=g.id.clone() version/> })}
                </article>
            }
        })}
    }
}
