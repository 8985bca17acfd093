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
            <p class="muted">"Pick a pod to open a shell in it or read its logs. Your grant, and each terminal session (who, which pod, when, how it ended), are logged."</p>
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
    let left = format_left(gp.expires_at - (js_sys::Date::now() / 1000.0) as i64);
    let grant = gp.grant_id.clone();
    let rows = gp
        .pods
        .into_iter()
        .map(|p| view! { <PodRow grant=grant.clone() pod=p/> })
        .collect_view();
    view! {
        <p class="muted" data-testid="grant-summary">
            "Grant " <code>{gp.grant_id.clone()}</code> " · profile " <strong>{gp.profile}</strong>
            " · as " <code>{gp.kube_user}</code> " · " {left} " left"
        </p>
        <table class="table pods" data-testid="pods">
            <thead><tr><th>"Namespace"</th><th>"Pod"</th><th>"Status"</th><th>"Containers"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn PodRow(grant: String, pod: PodSummary) -> impl IntoView {
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
