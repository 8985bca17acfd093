//! Shared pieces of the access pages: live updates over Server-Sent Events, a ticking clock
//! for countdowns, and small formatters.

use keyhole_protocol::access::{AccessRequest, GrantState, RequestState, Verdict};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// Event names `GET /api/events` sends (plus `ready` after each (re)connect and `resync`).
const EVENTS: [&str; 10] = [
    "ready",
    "resync",
    "request_created",
    "request_reviewed",
    "request_approved",
    "request_denied",
    "request_cancelled",
    "request_expired",
    "grant_revoked",
    "grant_expired",
];

/// A counter that goes up on every live event the user may see (and on every reconnect), so
/// pages refetch when it changes. The stream closes when the page goes away.
pub(crate) fn use_live_version() -> RwSignal<u32> {
    let version = RwSignal::new(0u32);
    let Ok(source) = web_sys::EventSource::new("/api/events") else {
        return version;
    };
    let bump = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_: web_sys::MessageEvent| {
        version.update(|v| *v = v.wrapping_add(1));
    });
    for name in EVENTS {
        let _ = source.add_event_listener_with_callback(name, bump.as_ref().unchecked_ref());
    }
    // The browser reconnects by itself after an error; `ready` then triggers a refetch.
    let held = SendWrapper::new((source, bump));
    on_cleanup(move || {
        let (source, _bump) = held.take();
        source.close();
    });
    version
}

/// "Load more" under a paged list: shown while `more` rows exist; each click opens one more
/// page (the list then refetches that many pages).
#[component]
pub(super) fn LoadMore(more: RwSignal<bool>, pages: RwSignal<usize>) -> impl IntoView {
    move || {
        more.get().then(|| {
            view! {
                <button type="button" class="btn btn-small load-more" data-testid="load-more"
                    on:click=move |_| pages.update(|p| *p += 1)>"Load more"</button>
            }
        })
    }
}

/// Unix seconds now, updated every second (for countdowns).
pub(super) fn use_clock() -> RwSignal<i64> {
    let now = RwSignal::new(unix_now());
    if let Ok(handle) = set_interval_with_handle(
        move || now.set(unix_now()),
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    now
}

/// Unix seconds from the browser's clock.
pub(super) fn unix_now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// `1h 05m 09s`, `4m 10s`, `12s`.
pub(super) fn format_left(secs: i64) -> String {
    let s = secs.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// `2h`, `1h 30m`, `45m`, `90s`.
pub(super) fn format_span(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s}s"));
    }
    parts.join(" ")
}

/// A local time like `14:05`, from Unix seconds.
pub(super) fn format_time(unix: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix as f64 * 1000.0));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// The CSRF token of the signed-in user.
pub(super) fn csrf(session: crate::session::Session) -> String {
    session.me().map(|m| m.csrf_token).unwrap_or_default()
}

/// Where a request is in its one lifecycle (with its grant): pending → active → ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Status {
    /// Pill class.
    pub class: &'static str,
    /// One word: `pending`, `active`, `revoked`, `expired`, `denied`, `cancelled`.
    pub label: &'static str,
    /// Who and when, in words ("revoked by Bob Lead at 15:14: handover").
    pub detail: Option<String>,
    /// Whether the grant is usable now.
    pub active: bool,
}

/// The one status of a request and its grant at `now` (a grant past its end is expired even
/// before the server marks it).
pub(super) fn lifecycle(r: &AccessRequest, now: i64) -> Status {
    let ended = |label, detail: Option<String>| Status {
        class: "pill pill-ended",
        label,
        detail,
        active: false,
    };
    match (r.state, &r.grant) {
        (RequestState::Pending, _) => Status {
            class: "pill pill-pending",
            label: "pending",
            detail: Some(format!(
                "waiting for {} · expires {}",
                approvals(r.required_approvals),
                format_time(r.pending_expires_at)
            )),
            active: false,
        },
        (RequestState::Approved, Some(g)) if g.state == GrantState::Revoked => {
            let by = g.revoker.as_ref().map_or("an approver", |p| p.display());
            let at = g.revoked_at.map(format_time).unwrap_or_default();
            let why = g.revoke_reason.clone().unwrap_or_default();
            ended("revoked", Some(format!("revoked by {by} at {at}: {why}")))
        }
        (RequestState::Approved, Some(g))
            if g.state == GrantState::Active && now < g.expires_at =>
        {
            Status {
                class: "pill pill-ok",
                label: "active",
                detail: Some(format!("ends at {}", format_time(g.expires_at))),
                active: true,
            }
        }
        (RequestState::Approved, Some(g)) => ended(
            "expired",
            Some(format!("ended at {}", format_time(g.expires_at))),
        ),
        (RequestState::Approved, None) => ended("expired", None),
        (RequestState::Denied, _) => {
            let by = r.reviews.iter().rev().find(|v| v.verdict == Verdict::Deny);
            let detail = by.map(|v| {
                let mut d = format!(
                    "denied by {} at {}",
                    v.reviewer.display(),
                    format_time(v.at)
                );
                if !v.comment.is_empty() {
                    d.push_str(&format!(": {}", v.comment));
                }
                d
            });
            Status {
                class: "pill pill-bad",
                ..ended("denied", detail)
            }
        }
        (RequestState::Cancelled, _) => ended(
            "cancelled",
            r.decided_at
                .map(|t| format!("cancelled at {}", format_time(t))),
        ),
        (RequestState::Expired, _) => ended(
            "expired",
            Some("no decision before the request's deadline".into()),
        ),
    }
}

/// `1 approval`, `2 approvals`.
pub(super) fn approvals(n: u32) -> String {
    if n == 1 {
        "1 approval".into()
    } else {
        format!("{n} approvals")
    }
}
