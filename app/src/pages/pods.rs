//! `/grants/{grant}/pods`: the pods an active grant covers (namespace, pod, containers,
//! status), each with a terminal per container and a logs link; `/pods`: the caller's active
//! grants, each leading there.

use keyhole_protocol::access::{Grant, GrantState};
use keyhole_protocol::terminal::{GrantPods, PodSummary};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api;
use crate::components::guard::RequireSession;
use crate::pages::terminal::format_left;

/// The pod picker.
#[component]
pub(crate) fn PodsPage() -> impl IntoView {
    view! {
        <RequireSession>
            <PodPicker/>
        </RequireSession>
    }
}

#[component]
fn PodPicker() -> impl IntoView {
    let grant = use_params_map()
        .get_untracked()
        .get("grant")
        .unwrap_or_default();
    let g = grant.clone();
    let pods = LocalResource::new(move || {
        let g = g.clone();
        async move { api::get::<GrantPods>(&format!("/api/grants/{g}/pods")).await }
    });
    view! {
        <section class="page-head">
            <h1>"Pods"</h1>
            <p class="muted">"Pick a pod to open a shell in it or read its logs. Each terminal session (who, which pod, when, how it ended) is listed for approvers and auditors; Kubernetes' audit log names you."</p>
        </section>
        <Suspense fallback=|| view! { <p class="muted loading">"Loading pods…"</p> }>
            {move || pods.get().map(|r| match r {
                Ok(gp) => view! { <PodTable gp/> }.into_any(),
                Err(e) => view! {
                    <div class="card error-card" role="alert" data-testid="pods-error">
                        <h2>"No pods"</h2><p>{e.to_string()}</p>
                    </div>
                }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn PodTable(gp: GrantPods) -> impl IntoView {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let left = format_left(gp.expires_at - now);
    let grant = gp.grant_id.clone();
    let filter = RwSignal::new(String::new());
    let pods = StoredValue::new(gp.pods);
    let rows = move || {
        let needle = filter.get().trim().to_lowercase();
        pods.get_value()
            .into_iter()
            .filter(|p| {
                needle.is_empty()
                    || p.name.to_lowercase().contains(&needle)
                    || p.namespace.to_lowercase().contains(&needle)
                    || p.node
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(&needle)
            })
            .map(|p| view! { <PodRow grant=grant.clone() pod=p now/> })
            .collect_view()
    };
    crate::components::set_title(&format!("Pods of {}", gp.profile));
    view! {
        <p class="muted" data-testid="grant-summary">
            "Profile " <strong>{gp.profile}</strong>
            " · as " <code>{gp.kube_user}</code> " · " {left} " left"
        </p>
        <label class="field filter">
            <span>"Filter"</span>
            <input type="search" data-testid="pod-filter" placeholder="pod, namespace or node"
                prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
        </label>
        <div class="table-scroll">
            <table class="table pods" data-testid="pods">
                <thead><tr><th>"Namespace"</th><th>"Pod"</th><th>"Status"</th><th>"Ready"</th>
                    <th>"Restarts"</th><th>"Age"</th><th>"Node"</th><th>"Containers"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// `45s`, `12m`, `3h`, `2d`: a pod's age, as kubectl shows it.
fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[component]
fn PodRow(grant: String, pod: PodSummary, now: i64) -> impl IntoView {
    let base = format!("/grants/{grant}/pods/{}/{}", pod.namespace, pod.name);
    let shells = pod
        .containers
        .iter()
        .map(|c| {
            let href = format!("{base}?container={c}");
            let label = c.clone();
            pod.exec.then(|| {
                view! { <A href=href attr:class="btn btn-primary" attr:data-testid="open-terminal">"Shell: " {label}</A> }
            })
        })
        .collect_view();
    let logs = pod
        .logs
        .then(|| view! { <A href=format!("{base}/logs") attr:class="btn">"Logs"</A> });
    let phase_class = format!("pill phase-{}", pod.phase.to_lowercase());
    view! {
        <tr data-testid="pod-row">
            <td>{pod.namespace.clone()}</td>
            <td><code>{pod.name.clone()}</code></td>
            <td><span class=phase_class>{pod.phase.clone()}</span></td>
            <td data-testid="pod-ready">{format!("{}/{}", pod.ready_containers, pod.containers.len())}</td>
            <td>{pod.restarts}</td>
            <td title=pod.created_at.map(super::access_live::format_time)>{pod.created_at.map(|t| age(now - t)).unwrap_or_default()}</td>
            <td class="small">{pod.node.clone().unwrap_or_default()}</td>
            <td>{pod.containers.join(", ")}</td>
            <td class="actions">{shells}{logs}</td>
        </tr>
    }
}

/// `/pods`: the caller's active grants, each leading to its pod picker.
#[component]
pub(crate) fn MyGrantsPage() -> impl IntoView {
    view! {
        <RequireSession>
            <MyGrants/>
        </RequireSession>
    }
}

#[component]
fn MyGrants() -> impl IntoView {
    let navigate = leptos_router::hooks::use_navigate();
    // Active grants are among the newest: a few pages of one's own grants hold them all.
    let grants = LocalResource::new(|| async {
        api::get_pages::<Grant>("/api/grants?scope=mine", 5)
            .await
            .map(|(g, _)| g)
    });
    view! {
        <section class="page-head">
            <h1>"Pods"</h1>
            <p class="muted">"Your active grants. Pick one to see the pods it covers."</p>
        </section>
        <Suspense fallback=|| view! { <p class="muted loading">"Loading grants…"</p> }>
            {move || grants.get().map(|r| match r {
                Ok(list) => {
                    let active: Vec<Grant> = list
                        .into_iter()
                        .filter(|g| g.state == GrantState::Active)
                        .collect();
                    // One active grant: straight to its pods (replacing this page in history).
                    if let [only] = active.as_slice() {
                        let to = format!("/grants/{}/pods", only.id);
                        let navigate = navigate.clone();
                        request_animation_frame(move || {
                            navigate(&to, leptos_router::NavigateOptions {
                                replace: true,
                                ..Default::default()
                            });
                        });
                    }
                    if active.is_empty() {
                        view! {
                            <p class="muted" data-testid="no-active-grants">
                                "No active grant. " <A href="/requests">"Request access"</A> " first."
                            </p>
                        }
                        .into_any()
                    } else {
                        active
                            .into_iter()
                            .map(|g| {
                                let left = format_left(g.expires_at - (js_sys::Date::now() / 1000.0) as i64);
                                view! {
                                    <article class="card" data-testid="active-grant">
                                        <h2>{g.profile.clone()}</h2>
                                        <p class="muted">{g.namespaces.join(", ")} " · " {left} " left"</p>
                                        <A href=format!("/grants/{}/pods", g.id) attr:class="btn btn-primary"
                                            attr:data-testid="open-pods">"Pods"</A>
                                    </article>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                }
                Err(e) => view! { <div class="card error-card" role="alert"><p>{e.to_string()}</p></div> }.into_any(),
            })}
        </Suspense>
    }
}
