//! The action boxes shared by the approval queue and the request page: review (approve or
//! deny with a comment), cancel, and revoke (with a reason).

use keyhole_protocol::access::{AccessRequest, Grant, RequestState, ReviewBody, RevokeBody};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_live::{csrf, format_time};
use crate::api;
use crate::session::use_session;

/// Where a page shows the outcome of a review, so that it stays visible after the reviewed
/// item leaves the list (the approval queue provides one).
#[derive(Clone, Copy)]
pub(super) struct Decisions(pub RwSignal<Option<String>>);

/// The confirmation of a review, in words.
fn decided(r: &AccessRequest) -> String {
    let who = r.requester.display();
    match (r.state, &r.grant) {
        (RequestState::Approved, Some(g)) => format!(
            "Approved: {who} has {} until {}.",
            r.profile,
            format_time(g.expires_at)
        ),
        (RequestState::Approved, None) => format!("Approved: {who}'s request for {}.", r.profile),
        (RequestState::Denied, _) => format!("Denied: {who}'s request for {}.", r.profile),
        _ => {
            let given = r.reviews.len();
            let left = (r.required_approvals as usize).saturating_sub(given);
            format!(
                "Your approval is recorded: {who}'s request for {} needs {left} more.",
                r.profile
            )
        }
    }
}

/// Approve or deny `request_id` with a comment; bumps `version` when done.
#[component]
pub(super) fn ReviewBox(request_id: String, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let comment = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = StoredValue::new(request_id);
    let local = RwSignal::new(None::<String>);
    let shown = use_context::<Decisions>().map_or(local, |d| d.0);
    let act = move |verb: &'static str| {
        let body = ReviewBody {
            comment: comment.get_untracked(),
        };
        let token = csrf(session);
        let path = format!("/api/requests/{}/{verb}", id.get_value());
        busy.set(true);
        spawn_local(async move {
            match api::post::<_, AccessRequest>(&path, &body, &token).await {
                Ok(r) => {
                    error.set(None);
                    shown.set(Some(decided(&r)));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
            version.update(|v| *v = v.wrapping_add(1));
        });
    };
    view! {
        {move || local.get().map(|m| view! { <div class="alert alert-info" role="status" data-testid="decision">{m}</div> })}
        <div class="review-box">
            <label class="field">
                <span>"Comment"</span>
                <textarea data-testid="review-comment" maxlength="1000" rows="2"
                    placeholder="Visible to the requester; required to deny"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            </label>
            <div class="actions">
                <button class="btn btn-primary" data-testid="approve" disabled=move || busy.get()
                    on:click=move |_| act("approve")>"Approve"</button>
                <button class="btn btn-danger" data-testid="deny"
                    disabled=move || busy.get() || comment.get().trim().is_empty()
                    on:click=move |_| act("deny")>"Deny"</button>
            </div>
            {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        </div>
    }
}

/// Cancel one's own pending request.
#[component]
pub(super) fn CancelButton(request_id: String, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(request_id);
    let cancel = move |_| {
        let token = csrf(session);
        let path = format!("/api/requests/{}/cancel", id.get_value());
        spawn_local(async move {
            if let Err(e) =
                api::post::<_, AccessRequest>(&path, &serde_json::json!({}), &token).await
            {
                error.set(Some(e.to_string()));
            }
            version.update(|v| *v = v.wrapping_add(1));
        });
    };
    view! {
        <button class="btn btn-ghost" data-testid="cancel" on:click=cancel>"Cancel request"</button>
        {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
    }
}

/// Revoke `grant_id` with a reason.
#[component]
pub(super) fn RevokeBox(grant_id: String, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let reason = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let id = StoredValue::new(grant_id);
    let revoke = move |_| {
        let body = RevokeBody {
            reason: reason.get_untracked(),
        };
        let token = csrf(session);
        let path = format!("/api/grants/{}/revoke", id.get_value());
        spawn_local(async move {
            match api::post::<_, Grant>(&path, &body, &token).await {
                Ok(_) => error.set(None),
                Err(e) => error.set(Some(e.to_string())),
            }
            version.update(|v| *v = v.wrapping_add(1));
        });
    };
    view! {
        <div class="revoke-box">
            <input type="text" data-testid="revoke-reason" maxlength="1000" placeholder="Reason to revoke"
                prop:value=move || reason.get()
                on:input=move |ev| reason.set(event_target_value(&ev)) />
            <button class="btn btn-danger" data-testid="revoke"
                disabled=move || reason.get().trim().is_empty() on:click=revoke>"Revoke"</button>
            {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        </div>
    }
}
