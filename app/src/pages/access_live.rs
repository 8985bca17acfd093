//! Shared pieces of the access pages: live updates over Server-Sent Events, a ticking clock
//! for countdowns, and small formatters.

use keyhole_protocol::access::{GrantState, RequestState};
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

/// CSS class and label of a request state pill.
pub(super) fn request_pill(state: RequestState) -> (&'static str, &'static str) {
    match state {
        RequestState::Pending => ("pill pill-pending", "pending"),
        RequestState::Approved => ("pill pill-ok", "approved"),
        RequestState::Denied => ("pill pill-bad", "denied"),
        RequestState::Cancelled => ("pill", "cancelled"),
        RequestState::Expired => ("pill", "expired"),
    }
}

/// CSS class and label of a grant state pill.
pub(super) fn grant_pill(state: GrantState) -> (&'static str, &'static str) {
    match state {
        GrantState::Active => ("pill pill-ok", "active"),
        GrantState::Revoked => ("pill pill-bad", "revoked"),
        GrantState::Expired => ("pill", "expired"),
    }
}

/// The CSRF token of the signed-in user.
pub(super) fn csrf(session: crate::session::Session) -> String {
    session.me().map(|m| m.csrf_token).unwrap_or_default()
}
