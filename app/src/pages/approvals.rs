//! `/approvals`: the lead's page. The pending queue (live: new requests appear without a
//! reload) with approve/deny and a comment, and the active grants they oversee, with revoke.

use keyhole_protocol::access::{AccessRequest, Grant, Page};
use keyhole_protocol::api::Role;
use keyhole_protocol::terminal::SessionInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_actions::{Decisions, ReviewBox, RevokeBox};
use super::access_live::{
    LoadMore, approvals, format_left, format_span, format_time, lifecycle, unix_now, use_clock,
    use_live_version,
};
use crate::api;
use crate::components::guard::RequireRole;
use crate::session::use_session;

/// `/approvals`.
#[component]
pub(crate) fn ApprovalsPage() -> impl IntoView {
    view! { <RequireRole roles=vec![Role::Lead, Role::Admin]><Approvals/></RequireRole> }
}

#[component]
fn Approvals() -> impl IntoView {
    let version = use_live_version();
    let now = use_clock();
    let pending = RwSignal::new(None::<Vec<AccessRequest>>);
    let grants = RwSignal::new(None::<Vec<Grant>>);
    // Pages opened so far of each list ("Load more"), and whether more exist.
    let (pending_pages, pending_more) = (RwSignal::new(1usize), RwSignal::new(false));
    let (grant_pages, grant_more) = (RwSignal::new(1usize), RwSignal::new(false));
    let error = RwSignal::new(None::<String>);
    let approves_none = RwSignal::new(false);
    let decision = RwSignal::new(None::<String>);
    provide_context(Decisions(decision));
    Effect::new(move |_| {
        version.track();
        let (np, ng) = (pending_pages.get(), grant_pages.get());
        spawn_local(async move {
            match api::get_pages::<AccessRequest>("/api/requests?scope=pending", np).await {
                Ok((r, more)) => {
                    pending.set(Some(r));
                    pending_more.set(more);
                }
                // An admin who approves no profile has no queue: say so, not an error.
                Err(api::ApiFailure::Http(403, _)) => {
                    approves_none.set(true);
                    pending.set(Some(Vec::new()));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            match api::get_pages::<Grant>("/api/grants?scope=active", ng).await {
                Ok((g, more)) => {
                    grants.set(Some(g));
                    grant_more.set(more);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    // Lists are keyed so that a live refresh keeps the items that did not
    // change — and with them a comment or revoke reason being typed. Only
    // the list's shape (loading / empty / not) rebuilds the surrounding view.
    let pending_shape = Memo::new(move |_| pending.with(|p| p.as_ref().map(Vec::is_empty)));
    let grants_shape = Memo::new(move |_| grants.with(|g| g.as_ref().map(Vec::is_empty)));
    view! {
        <section class="page-head">
            <h1>"Approvals"</h1>
            <p class="muted">"Requests for profiles you approve appear here as they arrive."</p>
        </section>
        {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        {move || decision.get().map(|m| view! {
            <div class="alert alert-info" role="status" data-testid="decision">{m}
                <button type="button" class="btn btn-small btn-ghost" on:click=move |_| decision.set(None)>"Dismiss"</button></div>
        })}
        <div class="access-columns">
            <section class="card" data-testid="pending-queue">
                <h2>"Pending"</h2>
                {move || match pending_shape.get() {
                    None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                    Some(true) if approves_none.get() => view! {
                        <p class="muted" data-testid="queue-empty">"You approve no profile, so no request waits for you. Active grants you may revoke are listed here."</p>
                    }.into_any(),
                    Some(true) => view! { <p class="muted" data-testid="queue-empty">"Nothing waits for you."</p> }.into_any(),
                    Some(false) => view! {
                        <ul class="request-list">
                            <For each=move || pending.get().unwrap_or_default() key=pending_key let:r>
                                <PendingItem r now version/>
                            </For>
                        </ul>
                    }.into_any(),
                }}
                <LoadMore more=pending_more pages=pending_pages/>
            </section>
            <section class="card" data-testid="active-grants">
                <h2>"Active grants"</h2>
                {move || match grants_shape.get() {
                    None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                    Some(true) => view! { <p class="muted">"No active grants."</p> }.into_any(),
                    Some(false) => view! {
                        <ul class="request-list">
                            <For each=move || grants.get().unwrap_or_default() key=|g| (g.id.clone(), g.state) let:g>
                                <GrantItem g now version/>
                            </For>
                        </ul>
                    }.into_any(),
                }}
                <LoadMore more=grant_more pages=grant_pages/>
            </section>
        </div>
    }
}

/// What makes a pending item's view change: its state, its reviews and
/// whether the viewer may still review it.
fn pending_key(r: &AccessRequest) -> (String, usize, bool, u32) {
    (
        r.id.clone(),
        r.reviews.len(),
        r.can_review,
        r.required_approvals,
    )
}

#[component]
fn PendingItem(r: AccessRequest, now: RwSignal<i64>, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let own = session
        .me()
        .is_some_and(|m| m.subject == r.requester.subject);
    let approvals_so_far = r.reviews.len();
    let deadline = r.pending_expires_at;
    let note = if own {
        Some("Your own request: another approver must decide.")
    } else if !r.can_review {
        Some("You have reviewed this request; it waits for more approvals.")
    } else {
        None
    };
    view! {
        <li class="request-item" data-testid="pending-item" data-id=r.id.clone()>
            <div class="row">
                <strong data-testid="requester">{r.requester.display().to_owned()}</strong>
                <span class="pill">{r.profile.clone()}</span>
                {r.pod.clone().map(|p| view! { <code class="small" data-testid="pending-pod">{format!("only {}/{}", p.namespace, p.name)}</code> })}
                <span class="muted small">{format_span(r.duration_seconds)} " · asked at " {format_time(r.created_at)}</span>
                <a class="small" href=format!("/requests/{}", r.id)>"Details"</a>
            </div>
            <p class="reason" data-testid="pending-reason">{r.reason.clone()}</p>
            <p class="muted small">
                {approvals_so_far} " of " {approvals(r.required_approvals)} " · expires in "
                {move || format_left(deadline - now.get())}
            </p>
            <Context r=r.clone()/>
            {match note {
                Some(n) => view! { <p class="hint">{n}</p> }.into_any(),
                None => view! { <ReviewBox request_id=r.id.clone() version/> }.into_any(),
            }}
        </li>
    }
}

/// What a reviewer needs to decide: what the profile grants, and the requester's recent
/// requests and terminal sessions (as far as the reviewer may see them).
#[component]
fn Context(r: AccessRequest) -> impl IntoView {
    let history = RwSignal::new(None::<Vec<AccessRequest>>);
    let sessions = RwSignal::new(None::<Vec<SessionInfo>>);
    let subject = js_sys::encode_uri_component(&r.requester.subject)
        .as_string()
        .unwrap_or_default();
    let this = r.id.clone();
    spawn_local(async move {
        let path = format!("/api/requests?scope=visible&requester={subject}&limit=6");
        if let Ok(p) = api::get::<Page<AccessRequest>>(&path).await {
            history.set(Some(
                p.items
                    .into_iter()
                    .filter(|x| x.id != this)
                    .take(5)
                    .collect(),
            ));
        }
        let path = format!("/api/terminal-sessions?scope=all&user={subject}&limit=5");
        if let Ok(p) = api::get::<Page<SessionInfo>>(&path).await {
            sessions.set(Some(p.items));
        }
    });
    let who = r.requester.display().to_owned();
    view! {
        <details class="context" data-testid="review-context">
            <summary>"What this grants, and " {who.clone()} "'s recent access"</summary>
            {r.profile_facts.clone().map(|f| view! {
                <dl class="facts" data-testid="profile-facts">
                    <dt>"Namespaces"</dt><dd>{f.namespaces.join(", ")}</dd>
                    <dt>"Allows"</dt><dd>{f.capabilities.join(", ")}</dd>
                    <dt>"Kubernetes groups"</dt><dd><code>{f.kubernetes_groups.join(", ")}</code></dd>
                    <dt>"Longest grant"</dt><dd>{format_span(f.max_duration_seconds)}</dd>
                </dl>
            })}
            <h3 class="small">"Recent requests"</h3>
            {move || match history.get() {
                None => view! { <p class="muted small">"Loading…"</p> }.into_any(),
                Some(h) if h.is_empty() => view! { <p class="muted small">"None before this one."</p> }.into_any(),
                Some(h) => view! {
                    <ul class="compact" data-testid="recent-requests">{h.into_iter().map(|x| {
                        let st = lifecycle(&x, unix_now());
                        view! { <li><a href=format!("/requests/{}", x.id)>{x.profile.clone()}</a> " "
                            <span class=st.class>{st.label}</span> " " <span class="muted">{format_time(x.created_at)} " · " {x.reason.clone()}</span></li> }
                    }).collect_view()}</ul>
                }.into_any(),
            }}
            <h3 class="small">"Recent terminal sessions"</h3>
            {move || match sessions.get() {
                None => view! { <p class="muted small">"Loading…"</p> }.into_any(),
                Some(v) if v.is_empty() => view! { <p class="muted small">"None."</p> }.into_any(),
                Some(v) => view! {
                    <ul class="compact" data-testid="recent-sessions">{v.into_iter().map(|x| view! {
                        <li><code>{format!("{}/{}", x.namespace, x.pod)}</code> " "
                            <span class="muted">{format_time(x.started_at)}</span></li>
                    }).collect_view()}</ul>
                }.into_any(),
            }}
        </details>
    }
}

#[component]
fn GrantItem(g: Grant, now: RwSignal<i64>, version: RwSignal<u32>) -> impl IntoView {
    let expires = g.expires_at;
    view! {
        <li class="request-item" data-testid="grant-item" data-id=g.id.clone()>
            <div class="row">
                <strong>{g.holder.display().to_owned()}</strong>
                <span class="pill">{g.profile.clone()}</span>
                <span class="muted small">"ends in "
                    <span class="countdown">{move || format_left(expires - now.get())}</span></span>
            </div>
            <p class="reason">{g.reason.clone()}</p>
            {g.can_revoke.then(|| view! { <RevokeBox grant_id=g.id.clone() version/> })}
        </li>
    }
}
