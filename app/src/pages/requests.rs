//! `/requests`: the engineer's page. A request form (profiles the user may request, duration
//! presets and a slider capped by the policy, a reason; prefilled from
//! `?profile=&namespace=&pod=&reason=`, which "Request again" links use) and "my requests and
//! grants", each with one lifecycle status, updated live with a countdown for active grants.

use keyhole_protocol::access::{AccessRequest, CreateRequest, PodRef, ProfileInfo, RequestState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::access_live::{
    LoadMore, approvals, csrf, format_left, format_span, format_time, lifecycle, use_clock,
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
                Some(p) => view! { <RequestForm profiles=p version requests/> }.into_any(),
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

/// Durations offered as one click (seconds), besides the slider; those over the profile's
/// maximum are left out and the maximum itself is offered last.
const PRESETS: [i64; 4] = [15 * 60, 30 * 60, 3600, 2 * 3600];

#[component]
fn RequestForm(
    profiles: Vec<ProfileInfo>,
    version: RwSignal<u32>,
    requests: RwSignal<Option<Vec<AccessRequest>>>,
) -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let asked = move |k: &str| query.with_untracked(|q| q.get(k)).filter(|v| !v.is_empty());
    let profiles = StoredValue::new(profiles);
    // "Request again" links prefill the form: `?profile=&namespace=&pod=&reason=`.
    let first = profiles.with_value(|ps| {
        asked("profile")
            .and_then(|name| ps.iter().find(|p| p.name == name).cloned())
            .unwrap_or_else(|| ps[0].clone())
    });
    let selected = RwSignal::new(first.name.clone());
    let duration = RwSignal::new(first.default_duration_seconds);
    let reason = RwSignal::new(asked("reason").unwrap_or_default());
    // Optional narrowing to one pod (least privilege below the profile's scope).
    let pod_ns = RwSignal::new(
        asked("namespace")
            .filter(|ns| first.namespaces.contains(ns))
            .or_else(|| first.namespaces.first().cloned())
            .unwrap_or_default(),
    );
    let pod_name = RwSignal::new(asked("pod").unwrap_or_default());
    let outcome = RwSignal::new(None::<Result<(String, String), String>>);
    let invalid = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let now = use_clock();
    let current = move || {
        let name = selected.get();
        profiles.with_value(|ps| ps.iter().find(|p| p.name == name).cloned())
    };
    let max = move || current().map_or(3600, |p| p.max_duration_seconds);
    // Minutes for long profiles, seconds for very short ones.
    let step = move || if max() >= 600 { 60 } else { 1 };
    // The "sent for approval" notice stays only while that request is pending.
    Effect::new(move |_| {
        let Some(Ok((id, _))) = outcome.get() else {
            return;
        };
        let decided = requests.with(|rs| {
            rs.as_ref().is_some_and(|rs| {
                rs.iter()
                    .any(|r| r.id == id && r.state != RequestState::Pending)
            })
        });
        if decided {
            outcome.set(None);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if reason.get_untracked().trim().is_empty() {
            // Inline, next to the field; the button stays enabled so the reason is reachable.
            invalid.set(true);
            focus("reason");
            return;
        }
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
                    outcome.set(Some(Ok((r.id, text.into()))));
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
        <form class="card request-form" data-testid="request-form" on:submit=submit novalidate>
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
                <div class="profile-facts" data-testid="profile-facts">
                    <p class="muted small">{p.description.clone()}</p>
                    <dl class="facts">
                        <dt>"Namespaces"</dt><dd data-testid="profile-namespaces">{p.namespaces.join(", ")}</dd>
                        <dt>"Allows"</dt><dd data-testid="profile-capabilities">{p.capabilities.join(", ")}</dd>
                    </dl>
                </div>
            })}
            <fieldset class="field duration">
                <legend>"Duration: " <strong data-testid="duration-label">{move || format_span(duration.get())}</strong>
                    <span class="muted" data-testid="ends-at">{move || format!(" · ends at {} if approved now", format_time(now.get() + duration.get()))}</span></legend>
                <div class="presets" role="group" aria-label="Duration presets">
                    {move || {
                        let m = max();
                        let mut opts: Vec<i64> = PRESETS.into_iter().filter(|p| *p < m).collect();
                        opts.push(m);
                        opts.into_iter().map(|secs| {
                            let label = if secs == m { format!("{} (max)", format_span(secs)) } else { format_span(secs) };
                            view! {
                                <button type="button" class="btn btn-small preset" data-testid="duration-preset"
                                    aria-pressed=move || (duration.get() == secs).to_string()
                                    on:click=move |_| duration.set(secs)>{label}</button>
                            }
                        }).collect_view()
                    }}
                </div>
                <input type="range" data-testid="duration-slider" min=step max=max step=step
                    aria-label="Duration in seconds"
                    prop:value=move || duration.get().to_string()
                    on:input=move |ev| if let Ok(v) = event_target_value(&ev).parse() { duration.set(v) } />
            </fieldset>
            {move || current().map(|p| match p.auto_approve_up_to_seconds {
                Some(a) if duration.get() <= a => view! {
                    <p class="hint ok" data-testid="auto-hint">"Approved at once (up to " {format_span(a)} " for you)."</p>
                }.into_any(),
                Some(a) => view! {
                    <p class="hint" data-testid="auto-hint">"Longer than " {format_span(a)} ": needs "
                        {approvals(p.required_approvals)} "."</p>
                }.into_any(),
                None => view! {
                    <p class="hint" data-testid="auto-hint">"Needs " {approvals(p.required_approvals)} "."</p>
                }.into_any(),
            })}
            <details class="field pod-scope" data-testid="pod-scope" open=!pod_name.get_untracked().is_empty()>
                <summary>"Only one pod (optional)"</summary>
                <div class="row">
                    <select data-testid="pod-namespace" aria-label="Pod namespace" prop:value=move || pod_ns.get()
                        on:change=move |ev| pod_ns.set(event_target_value(&ev))>
                        {move || current().map(|p| p.namespaces.into_iter().map(|ns| view! {
                            <option value=ns.clone()>{ns.clone()}</option>
                        }).collect_view())}
                    </select>
                    <input type="text" data-testid="pod-name" maxlength="253" aria-label="Pod name"
                        placeholder="pod name, e.g. checkout-7d9f-abc12"
                        prop:value=move || pod_name.get()
                        on:input=move |ev| pod_name.set(event_target_value(&ev)) />
                </div>
                <p class="muted small">"The grant then covers this pod only, whatever else the profile reaches."</p>
            </details>
            <label class="field">
                <span>"Reason"</span>
                <textarea id="reason" data-testid="reason" maxlength="1000" rows="3" required
                    aria-invalid=move || invalid.get().to_string()
                    aria-describedby="reason-error"
                    placeholder="e.g. INC-4211 checkout returns 500s"
                    prop:value=move || reason.get()
                    on:input=move |ev| {
                        reason.set(event_target_value(&ev));
                        invalid.set(false);
                    }></textarea>
            </label>
            <p id="reason-error" class="field-error" data-testid="reason-error" aria-live="polite">
                {move || invalid.get().then_some("Say why you need access: approvers and auditors read it.")}
            </p>
            <button type="submit" class="btn btn-primary" data-testid="submit-request"
                aria-disabled=move || busy.get().to_string()
                disabled=move || busy.get()>"Request access"</button>
            {move || outcome.get().map(|o| match o {
                Ok((_, t)) => view! { <div class="alert alert-info" role="status" data-testid="request-sent">{t}</div> }.into_any(),
                Err(t) => view! { <div class="alert alert-error" role="alert" data-testid="request-error">{t}</div> }.into_any(),
            })}
        </form>
    }
}

/// Moves keyboard focus to the element with `id`.
fn focus(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    {
        let _ = el.focus();
    }
}

#[component]
fn MyRequest(r: AccessRequest, now: RwSignal<i64>) -> impl IntoView {
    let last_comment = r
        .reviews
        .iter()
        .rev()
        .find(|v| !v.comment.is_empty())
        .map(|v| format!("{}: “{}”", v.reviewer.display(), v.comment));
    let grant = r.grant.clone();
    let r = StoredValue::new(r);
    // One status per request: pending → active → ended (revoked / expired / denied / cancelled).
    let status = move || r.with_value(|r| lifecycle(r, now.get()));
    view! {
        <li class="request-item" data-testid="my-request"
            data-state=move || status().label data-id=r.with_value(|r| r.id.clone())>
            <div class="row">
                <strong>{r.with_value(|r| r.profile.clone())}</strong>
                {r.with_value(|r| r.pod.clone()).map(|p| view! { <code class="small" data-testid="request-pod">{format!("{}/{}", p.namespace, p.name)}</code> })}
                <span class=move || status().class data-testid="request-state">{move || status().label}</span>
                <span class="muted small">{r.with_value(|r| format_span(r.duration_seconds))} " · asked "
                    {r.with_value(|r| format_time(r.created_at))}</span>
                <a class="small" href=r.with_value(|r| format!("/requests/{}", r.id))>"Details"</a>
            </div>
            <p class="reason">{r.with_value(|r| r.reason.clone())}</p>
            // The countdown line says when an active grant ends; other states say who and when.
            <p class="muted small" data-testid="status-detail">{move || { let st = status(); (!st.active).then_some(st.detail).flatten() }}</p>
            {last_comment.map(|c| view! { <p class="muted small" data-testid="review-note">{c}</p> })}
            {grant.map(|g| {
                let expires = g.expires_at;
                let pods_href = format!("/grants/{}/pods", g.id);
                move || status().active.then(|| view! {
                    <div class="grant-line" data-testid="grant">
                        "Ends in " <strong class="countdown" data-testid="countdown">{move || format_left(expires - now.get())}</strong>
                        " (at " {format_time(expires)} ") " <a class="btn btn-primary btn-small" data-testid="open-pods" href=pods_href.clone()>"Open pods"</a>
                    </div>
                })
            })}
        </li>
    }
}
