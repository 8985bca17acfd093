//! `/sessions`: terminal sessions. Everyone sees their own; approvers, auditors and admins can
//! switch to everyone they oversee, and approvers (and admins) revoke the grant of an open one
//! from here. Refreshed on every access event and every 5 s (sessions open and close without
//! one).

use keyhole_protocol::api::Role;
use keyhole_protocol::terminal::{CloseReason, SessionInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::access_actions::RevokeBox;
use super::access_live::{LoadMore, format_span, format_time, use_clock, use_live_version};
use crate::api;
use crate::session::use_session;

/// How often the list refreshes by itself (ms).
const REFRESH_MS: u64 = 5_000;

/// `/sessions`.
#[component]
pub(crate) fn SessionsPage() -> impl IntoView {
    let session = use_session();
    let overseer = Memo::new(move |_| {
        session.has(Role::Lead) || session.has(Role::Auditor) || session.has(Role::Admin)
    });
    let everyone = RwSignal::new(true);
    let open_only = RwSignal::new(false);
    // Client-side, over the pages loaded so far.
    let needle = RwSignal::new(String::new());
    // Pages opened so far ("Load more"), and whether more exist.
    let pages = RwSignal::new(1usize);
    let more = RwSignal::new(false);
    let version = use_live_version();
    let now = use_clock();
    let list = RwSignal::new(None::<Vec<SessionInfo>>);
    let error = RwSignal::new(None::<String>);
    // The timer only bumps a counter; the Effect below does the fetching.
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(
        move || tick.update(|t| *t = t.wrapping_add(1)),
        std::time::Duration::from_millis(REFRESH_MS),
    ) {
        on_cleanup(move || handle.clear());
    }
    Effect::new(move |_| {
        version.track();
        tick.track();
        let scope = if overseer.get() && everyone.get() {
            "all"
        } else {
            "mine"
        };
        let state = if open_only.get() { "open" } else { "any" };
        let path = format!("/api/terminal-sessions?scope={scope}&state={state}");
        let n = pages.get();
        spawn_local(async move {
            match api::get_pages::<SessionInfo>(&path, n).await {
                Ok((s, m)) => {
                    error.set(None);
                    list.set(Some(s));
                    more.set(m);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    });
    let shown = move || {
        let n = needle.get().trim().to_lowercase();
        list.get()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| n.is_empty() || matches(s, &n))
            .collect::<Vec<_>>()
    };
    let shape = Memo::new(move |_| list.with(|l| l.as_ref().map(Vec::is_empty)));
    view! {
        <section class="page-head">
            <h1>"Sessions"</h1>
            <p class="muted">"Terminal sessions: who opened a shell in which pod, under which grant, and how it ended."</p>
        </section>
        <div class="filters" data-testid="session-filters">
            {move || overseer.get().then(|| view! {
                <label><input type="checkbox" data-testid="filter-everyone"
                    prop:checked=move || everyone.get()
                    on:change=move |ev| everyone.set(event_target_checked(&ev)) />
                    " Everyone I oversee"</label>
            })}
            <label><input type="checkbox" data-testid="filter-open"
                prop:checked=move || open_only.get()
                on:change=move |ev| open_only.set(event_target_checked(&ev)) />
                " Open only"</label>
            <input type="search" class="filter-text" data-testid="filter-text"
                placeholder="Filter: user, profile, namespace, pod, reason to end"
                prop:value=move || needle.get()
                on:input=move |ev| needle.set(event_target_value(&ev)) />
        </div>
        {move || error.get().map(|e| view! { <div class="alert alert-error" role="alert">{e}</div> })}
        {move || match shape.get() {
            None => view! { <p class="muted loading">"Loading…"</p> }.into_any(),
            Some(true) => view! { <p class="muted" data-testid="sessions-empty">"No sessions."</p> }.into_any(),
            Some(false) => view! {
                <div class="table-scroll">
                <table class="table sessions" data-testid="sessions">
                    <thead><tr>
                        <th>"User"</th><th>"Profile"</th><th>"Pod"</th><th>"Started"</th>
                        <th>"Duration"</th><th>"State"</th><th>"Typed / output"</th><th><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        <For each=shown
                            key=|s| (s.id.clone(), s.live, s.can_revoke, s.ended_at)
                            let:s>
                            <SessionRow s now version/>
                        </For>
                    </tbody>
                </table>
                </div>
            }.into_any(),
        }}
        <LoadMore more pages/>
    }
}

#[component]
fn SessionRow(s: SessionInfo, now: RwSignal<i64>, version: RwSignal<u32>) -> impl IntoView {
    let started = s.started_at;
    let ended = s.ended_at;
    let duration = move || {
        format_span(
            ended
                .unwrap_or_else(|| now.get())
                .saturating_sub(started)
                .max(0),
        )
    };
    let (class, label) = match (s.live, s.end_reason) {
        (true, _) => ("pill pill-ok", "open"),
        (false, Some(reason)) => ("pill pill-ended", ended_words(reason)),
        (false, None) => ("pill pill-ended", "grant ended"),
    };
    view! {
        <tr data-testid="session-row" data-id=s.id.clone() data-live=s.live.to_string()>
            <td><strong data-testid="session-user">{s.user.display().to_owned()}</strong>
                // The id the Kubernetes audit log carries as `keyhole.dev/session-id`.
                <br/><code class="muted small" title=format!("keyhole.dev/session-id={}", s.id)>{s.id.chars().take(8).collect::<String>()}</code></td>
            <td><a href=format!("/requests/{}", s.request_id) title="The request: reason and reviews"><span class="pill">{s.profile.clone()}</span></a></td>
            <td><code>{format!("{}/{}", s.namespace, s.pod)}</code>
                <span class="muted small">{format!(" {}", s.container)}</span></td>
            <td>{format_date_time(started)}</td>
            <td data-testid="session-duration">{duration}</td>
            <td><span class=class data-testid="session-state">{label}</span></td>
            <td class="muted small">{bytes(s.bytes_in)} " typed · " {bytes(s.bytes_out)} " output"</td>
            <td class="actions">
                {s.can_revoke.then(|| view! { <RevokeBox grant_id=s.grant_id.clone() version/> })}
            </td>
        </tr>
    }
}

/// Whether `s` mentions `needle` (lower case) in who, what or where.
fn matches(s: &SessionInfo, needle: &str) -> bool {
    [
        Some(s.user.display()),
        s.user.email.as_deref(),
        Some(s.kube_user.as_str()),
        Some(s.profile.as_str()),
        Some(s.namespace.as_str()),
        Some(s.pod.as_str()),
        Some(s.container.as_str()),
        s.end_reason.map(ended_words),
    ]
    .into_iter()
    .flatten()
    .any(|f| f.to_lowercase().contains(needle))
}

/// How a session ended, in words.
fn ended_words(r: CloseReason) -> &'static str {
    match r {
        CloseReason::Expired => "grant ended",
        CloseReason::Revoked => "revoked",
        CloseReason::Idle => "idle timeout",
        CloseReason::ServerShutdown => "server restarted",
        CloseReason::Exited => "shell exited",
        CloseReason::ClientClosed => "closed by the user",
        CloseReason::Error => "failed",
        CloseReason::LoggedOut => "signed out",
        CloseReason::SessionExpired => "sign-in ended",
        CloseReason::Unverifiable => "access could not be verified",
        CloseReason::GatewayLost => "gateway lost",
    }
}

/// `Dec 3, 14:05` (today: `today 14:05`).
fn format_date_time(unix: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    let today = js_sys::Date::new_0();
    let same_day = d.get_full_year() == today.get_full_year()
        && d.get_month() == today.get_month()
        && d.get_date() == today.get_date();
    if same_day {
        format!("today {}", format_time(unix))
    } else {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS.get(d.get_month() as usize).copied().unwrap_or("");
        format!("{month} {}, {}", d.get_date(), format_time(unix))
    }
}

/// `512 B`, `3.4 KB`, `12.0 MB` (counted when a session ends; `–` while open).
fn bytes(n: u64) -> String {
    match n {
        0 => "–".into(),
        n if n < 1_000 => format!("{n} B"),
        n if n < 1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        n => format!("{:.1} MB", n as f64 / 1e6),
    }
}
