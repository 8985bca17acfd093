//! `/requests`: the engineer's page. A request form (profiles the user may request, a duration
//! slider capped by the policy, a reason) and "my requests and grants", updated live with a
//! countdown for each active grant.

use keyhole_protocol::access::{
    AccessRequest, CreateRequest, GrantState, PodRef, ProfileInfo, RequestState,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_live::{
    LoadMore, csrf, format_left, format_span, format_time, grant_pill, request_pill, use_clock,
    use_live_version,
};
use crate::api;
use crate::components::guard::RequireSession;
use crate::session::use_session;

/// `/requests`.
#[component]
pub(crate) fn RequestsPage() -> impl IntoView {
    view! { <RequireSession><Requests/></RequireSession> }
}

#[component]
fn Requests() -> impl IntoView {
    let version = use_live_version();
    let now = use_clock();
    let profiles = RwSignal::new(None::<Vec<ProfileInfo>>);
    let requests = RwSignal::new(None::<Vec<AccessRequest>>);
    // Pages of the list opened so far ("Load more"), and whether more exist.
    let pages = RwSignal::new(1usize);
    let more = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    spawn_local(async move {
        match api::get::<Vec<ProfileInfo>>("/api/profiles").await {
            Ok(p) => profiles.set(Some(p)),
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    Effect::new(move |_| {
        version.track();
        let n = pages.get();
        spawn_local(async move {
            match api::get_pages::<AccessRequest>("/api/requests?scope=mine", n).await {
                Ok((r, m)) => {
                    requests.set(Some(r));
                    more.set(m);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    view! {
        <section class="page-head">
            <h1>"Request access"</h1>
            <p class="muted">"Ask for a profile with a reason. The clock starts when it is approved; access ends by itself."</p>
        </section>
        {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        <div class="access-columns">
            {move || match profiles.get() {
                None => view! { <p class="muted loading">"Loading profiles…"</p> }.into_any(),
                Some(p) if p.is_empty() => view! {
                    <article class="card notice" data-testid="no-profiles">
                        <h2>"Nothing to request"</h2>
                        <p class="muted">"None of your IdP groups may request a profile."</p>
                    </article>
                }.into_any(),
                Some(p) => view! { <RequestForm profiles=p version/> }.into_any(),
            }}
            <section class="card" data-testid="my-requests">
                <h2>"My requests and grants"</h2>
                {move || match requests.get() {
                    None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                    Some(r) if r.is_empty() => view! { <p class="muted">"No requests yet."</p> }.into_any(),
                    Some(r) => view! {
                        <ul class="request-list">
                            {r.into_iter().map(|r| view! { <MyRequest r now/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                <LoadMore more pages/>
            </section>
        </div>
    }
}

#[component]
fn RequestForm(profiles: Vec<ProfileInfo>, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let profiles = StoredValue::new(profiles);
    let first = profiles.with_value(|p| p[0].clone());
    let selected = RwSignal::new(first.name.clone());
    let duration = RwSignal::new(first.default_duration_seconds);
    let reason = RwSignal::new(String::new());
    // Optional narrowing to one pod (least privilege below the profile's scope).
    let pod_ns = RwSignal::new(first.namespaces.first().cloned().unwrap_or_default());
    let pod_name = RwSignal::new(String::new());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let current = move || {
        let name = selected.get();
        profiles.with_value(|ps| ps.iter().find(|p| p.name == name).cloned())
    };
    let max = move || current().map_or(3600, |p| p.max_duration_seconds);
    // Minutes for long profiles, seconds for very short ones.
    let step = move || if max() >= 600 { 60 } else { 1 };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = CreateRequest {
            profile: selected.get_untracked(),
            reason: reason.get_untracked(),
            duration_seconds: duration.get_untracked(),
            pod: {
                let name = pod_name.get_untracked().trim().to_owned();
                (!name.is_empty()).then(|| PodRef {
                    namespace: pod_ns.get_untracked(),
                    name,
                })
            },
        };
        let token = csrf(session);
        busy.set(true);
        spawn_local(async move {
            match api::post::<_, AccessRequest>("/api/requests", &body, &token).await {
                Ok(r) => {
                    let text = match r.state {
                        RequestState::Approved => "Approved by policy: your grant is active.",
                        _ => "Sent for approval. You will see the decision here.",
                    };
                    outcome.set(Some(Ok(text.into())));
                    reason.set(String::new());
                    pod_name.set(String::new());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
            busy.set(false);
            version.update(|v| *v = v.wrapping_add(1));
        });
    };
    view! {
        <form class="card request-form" data-testid="request-form" on:submit=submit>
            <h2>"New request"</h2>
            <label class="field">
                <span>"Profile"</span>
                <select data-testid="profile-select" prop:value=move || selected.get()
                    on:change=move |ev| {
                        selected.set(event_target_value(&ev));
                        if let Some(p) = current() {
                            duration.set(p.default_duration_seconds);
                            pod_ns.set(p.namespaces.first().cloned().unwrap_or_default());
                        }
                    }>
                    {profiles.get_value().into_iter().map(|p| view! {
                        <option value=p.name.clone()>{p.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            {move || current().map(|p| view! {
                <p class="muted small">{p.description.clone()} " Namespaces: " {p.namespaces.join(", ")}
                    " · " {p.capabilities.join(", ")}</p>
            })}
            <label class="field">
                <span>"Duration: " <strong data-testid="duration-label">{move || format_span(duration.get())}</strong>
                    <span class="muted">" (max " {move || format_span(max())} ")"</span></span>
                <input type="range" data-testid="duration-slider" min=step max=max step=step
                    prop:value=move || duration.get().to_string()
                    on:input=move |ev| if let Ok(v) = event_target_value(&ev).parse() { duration.set(v) } />
            </label>
            {move || current().map(|p| match p.auto_approve_up_to_seconds {
                Some(a) if duration.get() <= a => view! {
                    <p class="hint ok" data-testid="auto-hint">"Approved at once (up to " {format_span(a)} " for you)."</p>
                }.into_any(),
                Some(a) => view! {
                    <p class="hint" data-testid="auto-hint">"Longer than " {format_span(a)} ": needs "
                        {p.required_approvals} " approval(s)."</p>
                }.into_any(),
                None => view! {
                    <p class="hint" data-testid="auto-hint">"Needs " {p.required_approvals} " approval(s)."</p>
                }.into_any(),
            })}
            <details class="field pod-scope" data-testid="pod-scope">
                <summary>"Only one pod (optional)"</summary>
                <div class="row">
                    <select data-testid="pod-namespace" prop:value=move || pod_ns.get()
                        on:change=move |ev| pod_ns.set(event_target_value(&ev))>
                        {move || current().map(|p| p.namespaces.into_iter().map(|ns| view! {
                            <option value=ns.clone()>{ns.clone()}</option>
                        }).collect_view())}
                    </select>
                    <input type="text" data-testid="pod-name" maxlength="253"
                        placeholder="pod name, e.g. checkout-7d9f-abc12"
                        prop:value=move || pod_name.get()
                        on:input=move |ev| pod_name.set(event_target_value(&ev)) />
                </div>
                <p class="muted small">"The grant then covers this pod only, whatever else the profile reaches."</p>
            </details>
            <label class="field">
                <span>"Reason"</span>
                <textarea data-testid="reason" maxlength="1000" rows="3" required
                    placeholder="e.g. INC-4211 checkout returns 500s"
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
            </label>
            <button type="submit" class="btn btn-primary" data-testid="submit-request"
                disabled=move || busy.get() || reason.get().trim().is_empty()>"Request access"</button>
            {move || outcome.get().map(|o| match o {
                Ok(t) => view! { <div class="alert alert-info" role="status" data-testid="request-sent">{t}</div> }.into_any(),
                Err(t) => view! { <div class="alert alert-error" role="alert" data-testid="request-error">{t}</div> }.into_any(),
            })}
        </form>
    }
}

#[component]
fn MyRequest(r: AccessRequest, now: RwSignal<i64>) -> impl IntoView {
    let (class, label) = request_pill(r.state);
    let last_comment = r
        .reviews
        .iter()
        .rev()
        .find(|v| !v.comment.is_empty())
        .map(|v| format!("{}: “{}”", v.reviewer.display(), v.comment));
    let grant = r.grant.clone().map(|g| {
        let expires = g.expires_at;
        let pods_href = format!("/grants/{}/pods", g.id);
        let revoked = g.revoke_reason.clone().map(|why| {
            view! { <span class="muted small" data-testid="revoke-note">" " {why}</span> }
        });
        let live = move || g.state == GrantState::Active && now.get() < expires;
        view! {
            <div class="grant-line" data-testid="grant">
                {move || if live() {
                    view! {
                        <span class="pill pill-ok" data-testid="grant-state">"active"</span>
                        " ends in " <strong class="countdown" data-testid="countdown">{move || format_left(expires - now.get())}</strong>
                        " " <a class="btn btn-primary btn-small" data-testid="open-pods" href=pods_href.clone()>"Open pods"</a>
                    }.into_any()
                } else {
                    let (c, l) = if g.state == GrantState::Active { grant_pill(GrantState::Expired) } else { grant_pill(g.state) };
                    view! { <span class=c data-testid="grant-state">{l}</span> }.into_any()
                }}
                {revoked}
            </div>
        }
    });
    view! {
        <li class="request-item" data-testid="my-request" data-state=r.state.as_str() data-id=r.id.clone()>
            <div class="row">
                <strong>{r.profile.clone()}</strong>
                {r.pod.clone().map(|p| view! { <code class="small" data-testid="request-pod">{format!("{}/{}", p.namespace, p.name)}</code> })}
                <span class=class data-testid="request-state">{label}</span>
                <span class="muted small">{format_span(r.duration_seconds)} " · " {format_time(r.created_at)}</span>
                <a class="small" href=format!("/requests/{}", r.id)>"Details"</a>
            </div>
            <p class="reason">{r.reason.clone()}</p>
            {last_comment.map(|c| view! { <p class="muted small" data-testid="review-note">{c}</p> })}
            {grant}
        </li>
    }
}
