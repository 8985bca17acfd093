//! `/grants/{grant}/pods/{ns}/{pod}`: a shell in the pod (deep-linkable), with a status bar
//! (pod, container, user, time left, connection), copy/paste, and a clear end screen.

use std::cell::RefCell;
use std::rc::Rc;

use keyhole_protocol::terminal::GrantPods;
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use send_wrapper::SendWrapper;

use crate::api;
use crate::components::guard::RequireSession;
use crate::session::use_session;
use crate::term_socket::{self, Shared, TermSignals};

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
    on_cleanup(move || {
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

    view! {
        <section class="term-page">
            <div class="term-bar" data-testid="term-bar">
                <A href=pods_href.clone() attr:class="btn btn-ghost">"← Pods"</A>
                <span class="term-field"><span class="muted">"pod "</span><strong data-testid="term-pod">{pod_label}</strong></span>
                <span class="term-field"><span class="muted">"container "</span>{container_label}</span>
                <span class="term-field"><span class="muted">"as "</span><span data-testid="term-user">{user}</span></span>
                <span class="term-field"><span class="muted">"time left "</span><strong data-testid="term-left">{left}</strong></span>
                <span class=move || format!("term-status status-{}", sig.status.get()) data-testid="term-status">{move || sig.status.get()}</span>
                <span class="term-actions">
                    <button class="btn btn-ghost" title="Copy the selection (Ctrl+Shift+C)"
                        on:click=move |_| term_socket::copy(&term_socket::selection(&copy_shared))>"Copy"</button>
                    <button class="btn btn-ghost" title="Paste (Ctrl+Shift+V)"
                        on:click=move |_| term_socket::paste((*paste_shared).clone())>"Paste"</button>
                    <A href=logs_href attr:class="btn btn-ghost">"Logs"</A>
                </span>
            </div>
            {move || sig.notice.get().map(|n| view! {
                <div class="term-notice" role="status" data-testid="term-notice">{n}</div>
            })}
            <div class="term-wrap">
                <div class="term-host" node_ref=host data-testid="terminal"></div>
                {move || sig.ended.get().map(|(title, message, may_retry)| {
                    let retry = retry_shared.clone();
                    view! {
                        <div class="term-ended" role="alert" data-testid="term-ended">
                            <h2>{title}</h2>
                            <p>{message}</p>
                            <div class="term-ended-actions">
                                <A href=pods_href.clone() attr:class="btn">"Back to pods"</A>
                                {may_retry.then(|| view! {
                                    <button class="btn btn-primary" data-testid="term-reconnect"
                                        on:click=move |_| term_socket::reconnect(&retry, sig)>"Open a new shell"</button>
                                })}
                            </div>
                        </div>
                    }
                })}
            </div>
        </section>
    }
}
