//! `/`: the dashboard. What needs you now, by role, updated live: your active grants (with a
//! countdown, "Open pods") and pending requests; for leads, the requests waiting for them; for
//! auditors, recent terminal sessions. Every card is a link to where the work is done. Claims
//! are only about what exists.

use keyhole_protocol::access::{AccessRequest, Page, RequestState};
use keyhole_protocol::api::Role;
use keyhole_protocol::terminal::SessionInfo;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_live::{format_left, format_time, lifecycle, use_clock, use_live_version};
use crate::api;
use crate::components::guard::RequireSession;
use crate::session::use_session;

/// `/`.
#[component]
pub(crate) fn HomePage() -> impl IntoView {
    view! {
        <RequireSession>
            <Dashboard/>
        </RequireSession>
    }
}

#[component]
fn Dashboard() -> impl IntoView {
    let session = use_session();
    let version = use_live_version();
    let now = use_clock();
    let roles = session.me().map(|m| m.roles).unwrap_or_default();
    let engineer = roles.contains(&Role::Engineer);
    let lead = roles.contains(&Role::Lead);
    let auditor = roles.contains(&Role::Auditor);
    let mine = RwSignal::new(None::<Vec<AccessRequest>>);
    let waiting = RwSignal::new(None::<Vec<AccessRequest>>);
    let sessions = RwSignal::new(None::<Vec<SessionInfo>>);
    Effect::new(move |_| {
        version.track();
        spawn_local(async move {
            if engineer
                && let Ok(p) =
                    api::get::<Page<AccessRequest>>("/api/requests?scope=mine&limit=50").await
            {
                mine.set(Some(p.items));
            }
            if lead {
                // An admin who approves no profile has no queue (403): nothing waits for them.
                let p =
                    api::get::<Page<AccessRequest>>("/api/requests?scope=pending&limit=50").await;
                waiting.set(Some(p.map(|p| p.items).unwrap_or_default()));
            }
            if auditor
                && let Ok(p) =
                    api::get::<Page<SessionInfo>>("/api/terminal-sessions?scope=all&limit=5").await
            {
                sessions.set(Some(p.items));
            }
        });
    });
    let first = session
        .me()
        .and_then(|me| me.name.clone().or(Some(me.subject)))
        .and_then(|n| n.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    let groups = session
        .me()
        .map(|me| {
            if me.groups.is_empty() {
                "none".to_owned()
            } else {
                me.groups.join(", ")
            }
        })
        .unwrap_or_default();
    view! {
        <section class="page-head">
            <h1 data-testid="welcome">"Welcome, " {first}</h1>
            <p class="muted">"Your IdP groups: " <span data-testid="groups">{groups}</span></p>
        </section>
        <section class="grid dashboard">
            {engineer.then(|| view! { <MyAccess mine now/> })}
            {lead.then(|| view! { <Waiting waiting/> })}
            {auditor.then(|| view! { <RecentSessions sessions/> })}
            {roles.contains(&Role::Admin).then(|| view! {
                <a class="card card-link" href="/policy" data-testid="card-policy">
                    <h2>"Policy"</h2>
                    <p class="muted">"The effective policy file and its last reload."</p>
                </a>
            })}
            {roles.is_empty().then(|| view! {
                <article class="card notice" data-testid="no-roles">
                    <h2>"No access yet"</h2>
                    <p class="muted">"None of your IdP groups is named in Keyhole's policy. Ask your platform team which group grants the access you need."</p>
                </article>
            })}
        </section>
    }
}

/// The engineer's card: active grants first (countdown, "Open pods"), then pending requests.
#[component]
fn MyAccess(mine: RwSignal<Option<Vec<AccessRequest>>>, now: RwSignal<i64>) -> impl IntoView {
    view! {
        <article class="card" data-testid="card-my-access">
            <h2><a href="/requests">"Your access"</a></h2>
            {move || match mine.get() {
                None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Some(rs) => {
                    let t = now.get_untracked();
                    let active: Vec<_> = rs
                        .iter()
                        .filter(|r| lifecycle(r, t).active)
                        .filter_map(|r| r.grant.clone().map(|g| (r.profile.clone(), g)))
                        .collect();
                    let pending: Vec<_> = rs.iter().filter(|r| r.state == RequestState::Pending).cloned().collect();
                    if active.is_empty() && pending.is_empty() {
                        return view! {
                            <p class="muted" data-testid="no-access">"No active grant and nothing pending."</p>
                            <a class="btn btn-primary" href="/requests">"Request access"</a>
                        }.into_any();
                    }
                    view! {
                        <ul class="compact">
                            {active.into_iter().map(|(profile, g)| {
                                let expires = g.expires_at;
                                view! {
                                    <li data-testid="active-grant-card">
                                        <strong>{profile}</strong> " "
                                        <span class="pill pill-ok">"active"</span>
                                        " ends in " <span class="countdown" data-testid="dashboard-countdown">{move || format_left(expires - now.get())}</span>
                                        " " <a class="btn btn-primary btn-small" href=format!("/grants/{}/pods", g.id)>"Open pods"</a>
                                    </li>
                                }
                            }).collect_view()}
                            {pending.into_iter().map(|r| view! {
                                <li data-testid="pending-card">
                                    <a href=format!("/requests/{}", r.id)><strong>{r.profile.clone()}</strong></a> " "
                                    <span class="pill pill-pending">"pending"</span>
                                    <span class="muted small">" asked at " {format_time(r.created_at)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </article>
    }
}

/// The lead's card: requests waiting for their review.
#[component]
fn Waiting(waiting: RwSignal<Option<Vec<AccessRequest>>>) -> impl IntoView {
    view! {
        <a class="card card-link" href="/approvals" data-testid="card-waiting">
            <h2>"Waiting for you"</h2>
            {move || match waiting.get() {
                None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Some(w) => {
                    let yours: Vec<_> = w.into_iter().filter(|r| r.can_review).collect();
                    if yours.is_empty() {
                        view! { <p class="muted" data-testid="waiting-count">"Nothing waits for your review."</p> }.into_any()
                    } else {
                        let n = yours.len();
                        view! {
                            <p data-testid="waiting-count"><strong>{n}</strong>
                                {if n == 1 { " request waits" } else { " requests wait" }} " for your review."</p>
                            <ul class="compact">{yours.into_iter().take(5).map(|r| view! {
                                <li>{r.requester.display().to_owned()} ": " <strong>{r.profile.clone()}</strong>
                                    <span class="muted small">" · " {r.reason.clone()}</span></li>
                            }).collect_view()}</ul>
                        }.into_any()
                    }
                }
            }}
        </a>
    }
}

/// The auditor's card: the latest terminal sessions.
#[component]
fn RecentSessions(sessions: RwSignal<Option<Vec<SessionInfo>>>) -> impl IntoView {
    view! {
        <a class="card card-link" href="/sessions" data-testid="card-sessions">
            <h2>"Recent terminal sessions"</h2>
            {move || match sessions.get() {
                None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
                Some(v) if v.is_empty() => view! { <p class="muted">"No terminal sessions yet."</p> }.into_any(),
                Some(v) => view! {
                    <ul class="compact">{v.into_iter().map(|s| view! {
                        <li>{s.user.display().to_owned()} " · " <code>{format!("{}/{}", s.namespace, s.pod)}</code>
                            <span class="muted small">" · " {format_time(s.started_at)}
                                {if s.live { " · open now" } else { "" }}</span></li>
                    }).collect_view()}</ul>
                }.into_any(),
            }}
        </a>
    }
}
