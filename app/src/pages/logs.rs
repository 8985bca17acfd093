//! `/grants/{grant}/pods/{ns}/{pod}/logs`: a pod's log, optionally followed (the server
//! streams `text/plain`; we read the body as it arrives and keep the view at the bottom).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::components::guard::RequireSession;

/// Longest log text kept in the page; older text is dropped from the top.
const MAX_CHARS: usize = 512 * 1024;

/// The logs page.
#[component]
pub(crate) fn LogsPage() -> impl IntoView {
    view! {
        <RequireSession>
            <LogsView/>
        </RequireSession>
    }
}

#[component]
fn LogsView() -> impl IntoView {
    let params = use_params_map().get_untracked();
    let grant = params.get("grant").unwrap_or_default();
    let ns = params.get("ns").unwrap_or_default();
    let pod = params.get("pod").unwrap_or_default();
    let container = use_query_map().get_untracked().get("container");
    let text = RwSignal::new(String::new());
    let state = RwSignal::new("loading");
    let follow = RwSignal::new(true);
    let abort: SendWrapper<Rc<RefCell<Option<web_sys::AbortController>>>> =
        SendWrapper::new(Rc::new(RefCell::new(None)));
    let mut base = format!("/api/grants/{grant}/pods/{ns}/{pod}/logs?tail=500");
    if let Some(c) = &container {
        base.push_str(&format!("&container={c}"));
    }
    let load = {
        let abort = abort.clone();
        move |follow: bool| {
            if let Some(a) = abort.borrow_mut().take() {
                a.abort();
            }
            let Ok(ctrl) = web_sys::AbortController::new() else {
                return;
            };
            let signal = ctrl.signal();
            *abort.borrow_mut() = Some(ctrl);
            let url = format!("{base}&follow={follow}");
            text.set(String::new());
            state.set("loading");
            wasm_bindgen_futures::spawn_local(async move {
                let end = read_stream(&url, &signal, text, state).await;
                state.set(end);
            });
        }
    };
    let first = load.clone();
    Effect::new(move |_| first(follow.get()));
    on_cleanup(move || {
        if let Some(a) = abort.borrow_mut().take() {
            a.abort();
        }
    });
    let back = format!("/grants/{grant}/pods/{ns}/{pod}");
    let pods = format!("/grants/{grant}/pods");
    crate::components::set_title(&format!("Logs of {pod}"));
    view! {
        <section class="page-head logs-head">
            <h1>"Logs " <code>{format!("{ns}/{pod}")}</code></h1>
            <A href=pods attr:class="btn btn-ghost">"All pods"</A>
            <label class="follow">
                <input type="checkbox" prop:checked=move || follow.get()
                    on:change=move |ev| follow.set(event_target_checked(&ev))/>
                " follow"
            </label>
            <span class="muted" data-testid="logs-state">{move || state.get()}</span>
            <A href=back attr:class="btn">"Shell"</A>
        </section>
        // Focusable, so keyboard users can scroll it (WCAG 2.1.1).
        <pre class="logs" data-testid="logs" tabindex="0" role="region"
            aria-label=format!("Logs of {ns}/{pod}")>{move || text.get()}</pre>
    }
}

/// Reads `url` into `text` until the stream ends; returns the final state.
async fn read_stream(
    url: &str,
    signal: &web_sys::AbortSignal,
    text: RwSignal<String>,
    state: RwSignal<&'static str>,
) -> &'static str {
    let Some(window) = web_sys::window() else {
        return "error";
    };
    let init = web_sys::RequestInit::new();
    init.set_signal(Some(signal));
    let Ok(resp) = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await else {
        return "stopped";
    };
    let Ok(resp) = resp.dyn_into::<web_sys::Response>() else {
        return "error";
    };
    if !resp.ok() {
        let body = match resp.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()),
            Err(_) => None,
        };
        let message = body
            .and_then(|b| serde_json::from_str::<keyhole_protocol::error::ApiError>(&b).ok())
            .map(|e| e.message)
            .unwrap_or_else(|| format!("HTTP {}", resp.status()));
        text.set(message);
        return "refused";
    }
    let Some(body) = resp.body() else {
        return "ended";
    };
    let Ok(reader) = body
        .get_reader()
        .dyn_into::<web_sys::ReadableStreamDefaultReader>()
    else {
        return "error";
    };
    let Ok(decoder) = web_sys::TextDecoder::new() else {
        return "error";
    };
    state.set("streaming");
    loop {
        let Ok(chunk) = JsFuture::from(reader.read()).await else {
            return "stopped";
        };
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            return "ended";
        }
        let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else {
            return "error";
        };
        let Ok(bytes) = value.dyn_into::<js_sys::Uint8Array>() else {
            return "error";
        };
        let opts = web_sys::TextDecodeOptions::new();
        opts.set_stream(true);
        let piece = decoder
            .decode_with_buffer_source_and_options(&bytes, &opts)
            .unwrap_or_default();
        text.update(|t| {
            t.push_str(&piece);
            if t.len() > MAX_CHARS {
                let cut = t.len() - MAX_CHARS;
                let cut = (cut..t.len())
                    .find(|i| t.is_char_boundary(*i))
                    .unwrap_or(cut);
                t.drain(..cut);
            }
        });
    }
}
