//! `/grants/{grant}/pods/{ns}/{pod}`: a shell in the pod (deep-linkable), with a status bar
//! (pod, container, user, time left, recorded or not, connection), copy/paste, and, once the
//! session is over, a panel below the terminal that says what ended it, who and when, and
//! where to go next ("Request again" with the same profile, pod and reason). The output stays
//! readable, selectable and scrollable after the end: nothing covers it.
//!
//! The page title follows the session: `<pod> · 24m left — Keyhole`, then `<pod> · ended —
//! Keyhole`.

use std::cell::RefCell;
use std::rc::Rc;

use keyhole_protocol::access::{Grant, GrantState};
use keyhole_protocol::terminal::{CloseReason, GrantPods};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use send_wrapper::SendWrapper;

use super::access_live::format_time;
use crate::api;
use crate::components::guard::RequireSession;
use crate::components::set_title;
use crate::session::use_session;
use crate::term_socket::{self, Ended, Shared, TermSignals};

/// The new-request form (`RequestsPage`); "Request again" adds `profile`, `namespace`, `pod`
/// and `reason` to prefill it.
const REQUEST_FORM: &str = "/requests";

/// The terminal page.
#[component]
pub(crate) fn TerminalPage() -> impl IntoView {
    view! {
        <RequireSession>
            <TerminalView/>
        </RequireSession>
    }
}

/// How often an open terminal re-fetches `/api/me` (well inside the 30 min default idle
/// timeout, and past the server's once-a-minute re-save threshold).
const SESSION_PING_MS: i32 = 3 * 60 * 1000;

/// Time left for the page title, at minute precision: `1h 05m`, `24m`, `<1m`.
pub(crate) fn format_left_minutes(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else if secs >= 60 {
        format!("{}m", secs / 60)
    } else {
        "<1m".into()
    }
}

/// The new-request form, prefilled to ask for the same access again.
fn request_again_href(
    profile: Option<&str>,
    namespace: &str,
    pod: &str,
    reason: Option<&str>,
) -> String {
    let enc = |v: &str| String::from(js_sys::encode_uri_component(v));
    let mut q = Vec::new();
    if let Some(p) = profile {
        q.push(format!("profile={}", enc(p)));
    }
    q.push(format!("namespace={}", enc(namespace)));
    q.push(format!("pod={}", enc(pod)));
    if let Some(r) = reason {
        q.push(format!("reason={}", enc(r)));
    }
    format!("{REQUEST_FORM}?{}", q.join("&"))
}

/// This grant as the caller's grant list shows it (profile, reason, state, who revoked it).
async fn find_grant(id: String) -> Option<Grant> {
    let (grants, _) = api::get_pages::<Grant>("/api/grants?scope=mine&limit=100", 5)
        .await
        .ok()?;
    grants.into_iter().find(|g| g.id == id)
}

/// Seconds as `12m 05s`.
pub(crate) fn format_left(secs: i64) -> String {
    if secs <= 0 {
        "expired".into()
    } else if secs >= 3600 {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

#[component]
fn TerminalView() -> impl IntoView {
    let params = use_params_map().get_untracked();
    let grant = params.get("grant").unwrap_or_default();
    let ns = params.get("ns").unwrap_or_default();
    let pod = params.get("pod").unwrap_or_default();
    let container = use_query_map().get_untracked().get("container");
    let path = format!("/api/grants/{grant}/pods/{ns}/{pod}/terminal");
    let pods_href = format!("/grants/{grant}/pods");
    let logs_href = format!("/grants/{grant}/pods/{ns}/{pod}/logs");

    let sig = TermSignals::new();
    let shared: Shared = Rc::new(RefCell::new(None));
    let host = NodeRef::<html::Div>::new();
    let now = RwSignal::new(js_sys::Date::now() / 1000.0);
    let clock = SendWrapper::new(Rc::new(RefCell::new(None::<i32>)));
    // An open terminal is activity: re-fetch /api/me every few minutes so the idle
    // timeout does not sign the user out under a running shell (the cookie's expiry
    // moves too, and the header's "signed in until" stays right).
    let session = use_session();
    let keepalive = SendWrapper::new(Rc::new(RefCell::new(None::<i32>)));
    {
        let ping = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || session.refresh_me());
        if let Some(w) = web_sys::window()
            && let Ok(id) = w.set_interval_with_callback_and_timeout_and_arguments_0(
                wasm_bindgen::JsCast::unchecked_ref(ping.as_ref()),
                SESSION_PING_MS,
            )
        {
            *keepalive.borrow_mut() = Some(id);
        }
        ping.forget();
    }

    // Who Kubernetes sees (from the pod list; also a check that the grant is usable).
    let grant_id = grant.clone();
    let who = LocalResource::new(move || {
        let g = grant_id.clone();
        async move { api::get::<GrantPods>(&format!("/api/grants/{g}/pods")).await }
    });

    // The grant itself (profile and reason for "Request again"; who revoked it and when),
    // fetched at the start and again once the session has ended.
    let is_ended = Memo::new(move |_| sig.ended.with(Option::is_some));
    let grant_id = grant.clone();
    let grant_info = LocalResource::new(move || {
        let _ = is_ended.get();
        find_grant(grant_id.clone())
    });

    // The page title: `<pod> · 24m left — Keyhole` (the suffix is set_title's), changing once a minute.
    let title_pod = pod.clone();
    let title = Memo::new(move |_| {
        if is_ended.get() {
            format!("{title_pod} · ended")
        } else if let Some((_, _, exp)) = sig.info.get() {
            let left = format_left_minutes(exp - now.get() as i64);
            format!("{title_pod} · {left} left")
        } else {
            title_pod.clone()
        }
    });
    Effect::new(move |_| set_title(&title.get()));

    // A notice or the end panel changes the terminal's height: refit it.
    let refit_shared = SendWrapper::new(shared.clone());
    Effect::new(move |_| {
        let _ = (sig.notice.with(Option::is_some), is_ended.get());
        term_socket::refit_soon(&refit_shared);
    });

    let start_shared = shared.clone();
    let start_clock = clock.clone();
    host.on_load(move |el| {
        term_socket::start(el.into(), start_shared, sig, path, container);
        let tick = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
            now.set(js_sys::Date::now() / 1000.0);
        });
        if let Some(w) = web_sys::window()
            && let Ok(id) = w.set_interval_with_callback_and_timeout_and_arguments_0(
                wasm_bindgen::JsCast::unchecked_ref(tick.as_ref()),
                1000,
            )
        {
            *start_clock.borrow_mut() = Some(id);
        }
        tick.forget();
    });
    let cleanup = SendWrapper::new(shared.clone());
    let own_title = format!("{pod} ");
    on_cleanup(move || {
        // Only our own title: the next page may already have set its one.
        let doc = web_sys::window().and_then(|w| w.document());
        if doc.is_some_and(|d| d.title().starts_with(&own_title)) {
            set_title("");
        }
        term_socket::stop(&cleanup);
        if let (Some(w), Some(id)) = (web_sys::window(), clock.borrow_mut().take()) {
            w.clear_interval_with_handle(id);
        }
        if let (Some(w), Some(id)) = (web_sys::window(), keepalive.borrow_mut().take()) {
            w.clear_interval_with_handle(id);
        }
    });

    let left = move || {
        sig.info
            .get()
            .map(|(_, _, exp)| format_left(exp - now.get() as i64))
            .unwrap_or_else(|| "…".into())
    };
    let user = move || {
        who.get()
            .and_then(std::result::Result::ok)
            .map(|g| g.kube_user)
            .unwrap_or_default()
    };
    let pod_label = {
        let fallback = format!("{ns}/{pod}");
        move || {
            sig.info
                .get()
                .map(|(p, _, _)| p)
                .unwrap_or_else(|| fallback.clone())
        }
    };
    let container_label = move || sig.info.get().map(|(_, c, _)| c).unwrap_or_default();
    let copy_shared = SendWrapper::new(shared.clone());
    let paste_shared = SendWrapper::new(shared.clone());
    let retry_shared = SendWrapper::new(shared.clone());
    let recorded = move || {
        sig.flags.get().map(|(recorded, _)| {
            if recorded {
                view! { <span class="pill term-rec term-rec-on" data-testid="term-recorded"
                    title="Keystrokes and output of this session are recorded">"recorded"</span> }
            } else {
                view! { <span class="pill term-rec" data-testid="term-recorded"
                    title="Keyhole does not record this session's keystrokes or output (who opened it, on which pod and when is logged)">"not recorded"</span> }
            }
        })
    };
    let dev_label = move || {
        sig.flags.get().filter(|(_, dev)| *dev).map(|_| view! {
            <span class="pill pill-pending term-dev" data-testid="term-dev"
                title="The development stand-in cluster (devstack): this pod is a local process on the Keyhole server's machine, not a container">
                "dev stand-in: local process"
            </span>
        })
    };
    let end_ns = ns.clone();
    let end_pod = pod.clone();
    let end_panel = move || {
        sig.ended.get().map(|ended| {
            let grant = grant_info.get().flatten();
            let expires = sig.info.get_untracked().map(|(_, _, e)| e);
            view! {
                <EndPanel ended grant expires ns=end_ns.clone() pod=end_pod.clone()
                    pods_href=pods_href.clone() retry=retry_shared.clone() sig/>
            }
        })
    };

    view! {
        <section class="term-page" data-ended=move || is_ended.get().to_string()>
            // A heading for screen readers and the page outline; the bar shows the same facts.
            <h1 class="visually-hidden">"Terminal on " {pod_label.clone()}</h1>
            <div class="term-bar" data-testid="term-bar">
                <A href=format!("/grants/{grant}/pods") attr:class="btn btn-ghost">"← Pods"</A>
                <span class="term-field"><span class="muted">"pod "</span><strong data-testid="term-pod">{pod_label}</strong></span>
                <span class="term-field"><span class="muted">"container "</span>{container_label}</span>
                <span class="term-field"><span class="muted">"as "</span><span data-testid="term-user">{user}</span></span>
                {move || if is_ended.get() {
                    let at = sig.ended.get().map(|e| format_time(e.at)).unwrap_or_default();
                    view! { <span class="term-field"><span class="muted">"ended "</span><strong data-testid="term-ended-at">{at}</strong></span> }.into_any()
                } else {
                    view! { <span class="term-field"><span class="muted">"time left "</span><strong data-testid="term-left">{left}</strong></span> }.into_any()
                }}
                {recorded}
                {dev_label}
                <span class=move || format!("term-status status-{}", sig.status.get()) data-testid="term-status">{move || sig.status.get()}</span>
                <span class="term-actions">
                    <button class="btn btn-ghost" title="Copy the selection (Ctrl+Shift+C)"
                        on:click=move |_| term_socket::copy(&term_socket::selection(&copy_shared))>"Copy"</button>
                    <button class="btn btn-ghost" title="Paste (Ctrl+Shift+V)" disabled=move || is_ended.get()
                        on:click=move |_| term_socket::paste((*paste_shared).clone())>"Paste"</button>
                    <A href=logs_href attr:class="btn btn-ghost">"Logs"</A>
                </span>
            </div>
            {move || sig.notice.get().map(|n| view! {
                <div class="term-notice" role="status" data-testid="term-notice">{n}</div>
            })}
            <div class="term-wrap">
                <div class="term-host" node_ref=host data-testid="terminal"></div>
            </div>
            <p class="term-hint muted small" id="term-hint" data-testid="term-hint">
                {move || if is_ended.get() {
                    view! { <kbd>"Tab"</kbd>" leaves the terminal ("<kbd>"Shift+Tab"</kbd>" goes back)." }.into_any()
                } else {
                    view! { <kbd>"Esc"</kbd>" then "<kbd>"Tab"</kbd>" leaves the terminal ("<kbd>"Shift+Tab"</kbd>" goes back)." }.into_any()
                }}
            </p>
            {end_panel}
        </section>
    }
}

/// Below the terminal once the session is over: what ended it, who and when, and what to do.
#[component]
fn EndPanel(
    ended: Ended,
    grant: Option<Grant>,
    expires: Option<i64>,
    ns: String,
    pod: String,
    pods_href: String,
    retry: SendWrapper<Shared>,
    sig: TermSignals,
) -> impl IntoView {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let grant_over = matches!(
        ended.reason,
        Some(CloseReason::Revoked | CloseReason::Expired)
    ) || grant
        .as_ref()
        .is_some_and(|g| g.state != GrantState::Active)
        || expires.is_some_and(|e| e <= now);
    // What ended it, who and when. A revocation names the revoker, the time and their
    // reason (from the grant); otherwise the server's sentence and the time.
    let message = ended.message.clone();
    let revoked = grant
        .as_ref()
        .filter(|g| ended.reason == Some(CloseReason::Revoked) && g.revoked_by.is_some());
    let message = revoked.is_none().then(|| {
        view! { <p data-testid="term-ended-message">{message}</p> }
    });
    let detail = match (ended.reason, revoked) {
        (_, Some(g)) => {
            // Their name from their last sign-in, else the IdP subject.
            let by = g.revoker.as_ref().map_or_else(
                || g.revoked_by.clone().unwrap_or_default(),
                |p| p.display().to_owned(),
            );
            let at = format_time(g.revoked_at.unwrap_or(ended.at));
            let why = g
                .revoke_reason
                .clone()
                .map(|r| view! { ": “"<span data-testid="term-ended-reason">{r}</span>"”" });
            view! { <p data-testid="term-ended-who">"Revoked by "<strong>{by}</strong>" at "{at}{why}</p> }.into_any()
        }
        (Some(CloseReason::Expired), _) => {
            let at = format_time(expires.unwrap_or(ended.at));
            view! { <p data-testid="term-ended-who">"The grant ended at "{at}", as approved."</p> }
                .into_any()
        }
        _ => {
            let at = format_time(ended.at);
            view! { <p data-testid="term-ended-who">"Ended at "{at}"."</p> }.into_any()
        }
    };
    let again = request_again_href(
        grant.as_ref().map(|g| g.profile.as_str()),
        &ns,
        &pod,
        grant.as_ref().map(|g| g.reason.as_str()),
    );
    let reconnect_label = match ended.reason {
        Some(CloseReason::Exited | CloseReason::Idle) => "Open a new shell",
        _ => "Reconnect",
    };
    // May the user get a shell again under this grant? After errors (`may_reconnect`), a
    // lost connection, a shell that exited or an idle close, while the grant lasts.
    let may_reconnect = !grant_over
        && match ended.reason {
            None => true,
            Some(r) => r.may_reconnect() || matches!(r, CloseReason::Exited | CloseReason::Idle),
        };
    let signed_out = matches!(
        ended.reason,
        Some(CloseReason::LoggedOut | CloseReason::SessionExpired)
    );
    let primary = if signed_out {
        view! { <a class="btn btn-primary" href="/login" data-testid="term-sign-in">"Sign in again"</a> }.into_any()
    } else if may_reconnect {
        view! {
            <button class="btn btn-primary" data-testid="term-reconnect"
                on:click=move |_| term_socket::reconnect(&retry, sig)>{reconnect_label}</button>
        }
        .into_any()
    } else {
        view! { <A href=again.clone() attr:class="btn btn-primary" attr:data-testid="term-request-again">"Request again"</A> }.into_any()
    };
    let secondary = if may_reconnect && !signed_out {
        view! { <A href=pods_href attr:class="btn" attr:data-testid="term-back-pods">"Back to pods"</A> }.into_any()
    } else {
        view! { <A href="/requests" attr:class="btn" attr:data-testid="term-back-requests">"Back to requests"</A> }.into_any()
    };
    let tone = match ended.reason {
        Some(CloseReason::Revoked | CloseReason::Expired) | None => "term-ended term-ended-bad",
        _ => "term-ended",
    };
    view! {
        <div class=tone role="alert" data-testid="term-ended"
            data-reason=ended.reason.map(CloseReason::as_str).unwrap_or("connection_lost")>
            <div class="term-ended-text">
                <h2>{ended.title}</h2>
                {message}
                {detail}
                <p class="muted small">"The output above stays here: scroll, select and copy it."</p>
            </div>
            <div class="term-ended-actions">{primary}{secondary}</div>
        </div>
    }
}
