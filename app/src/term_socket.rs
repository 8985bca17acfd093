//! The browser side of one terminal: an xterm.js [`Terminal`] wired to the terminal
//! WebSocket (`keyhole_protocol::terminal`). Binary frames are terminal bytes both ways; text
//! frames are JSON control messages. A network blip (socket closed without a final `closed`
//! message, or `closed` with a reason that allows it) reconnects with backoff while the grant
//! lasts; a reconnect starts a new shell.
//!
//! Everything lives in one `Rc<RefCell<Option<Live>>>`; the page's cleanup takes it out,
//! which drops the closures (breaking their reference cycle), closes the socket and disposes
//! the terminal.
//!
//! **Leaving the terminal with the keyboard** (WCAG 2.1.2, no keyboard trap): Tab belongs to
//! the shell (completion), so **Esc then Tab** (or Shift+Tab) moves focus to the next (or
//! previous) element of the page instead. The Esc is sent to the shell at once, as always (vim
//! leaves insert mode without delay); only the Tab right after it is not sent: the key handler
//! returns `false`, so xterm.js ignores it and the browser moves focus. Once the session has
//! ended, a plain Tab leaves too.

use std::cell::Cell;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use keyhole_protocol::terminal::{ClientMsg, CloseReason, MAX_CLIENT_FRAME, ServerMsg};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, HtmlElement, MessageEvent, WebSocket};

use crate::xterm::{Terminal, XtermFitAddon, XtermWebglAddon, options, set_option};

/// Give up reconnecting after this many failed attempts in a row.
const MAX_ATTEMPTS: u32 = 5;

/// What the page shows about the session (all `Copy` signals).
#[derive(Clone, Copy)]
pub(crate) struct TermSignals {
    /// `connecting`, `connected`, `reconnecting`, `ended`.
    pub status: RwSignal<&'static str>,
    /// `(pod, container, expires_at)` from `hello`.
    pub info: RwSignal<Option<(String, String, i64)>>,
    /// `(recorded, dev_cluster)` from `hello`.
    pub flags: RwSignal<Option<(bool, bool)>>,
    /// The latest notice (cleared when the session ends).
    pub notice: RwSignal<Option<String>>,
    /// Set once the session is over.
    pub ended: RwSignal<Option<Ended>>,
}

/// How and when a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// The server's reason; `None` when the connection was lost (or never made) and could not
    /// be re-established.
    pub reason: Option<CloseReason>,
    /// A short headline.
    pub title: String,
    /// The server's sentence (names the revoker's reason for a revocation), or ours.
    pub message: String,
    /// Unix seconds, when the browser learnt of it.
    pub at: i64,
}

impl Ended {
    fn new(reason: Option<CloseReason>, title: &str, message: String) -> Self {
        Self {
            reason,
            title: title.into(),
            message,
            at: (js_sys::Date::now() / 1000.0) as i64,
        }
    }
}

impl TermSignals {
    /// Fresh signals.
    pub(crate) fn new() -> Self {
        Self {
            status: RwSignal::new("connecting"),
            info: RwSignal::new(None),
            flags: RwSignal::new(None),
            notice: RwSignal::new(None),
            ended: RwSignal::new(None),
        }
    }
}

/// The live terminal and socket.
pub(crate) struct Live {
    term: Terminal,
    fit: XtermFitAddon,
    ws: Option<WebSocket>,
    /// `/api/grants/{g}/pods/{ns}/{pod}/terminal` plus the container query.
    path: String,
    container: Option<String>,
    /// The session ended for good (no reconnect).
    final_end: bool,
    attempts: u32,
    last_size: (u16, u16),
    expires_at: Option<i64>,
    _on_data: Closure<dyn FnMut(String)>,
    _on_key: Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool>,
    on_resize: Closure<dyn FnMut()>,
    ws_handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

/// Shared handle.
pub(crate) type Shared = Rc<RefCell<Option<Live>>>;

/// Creates the terminal in `host`, exposes it as `window.__term`, and connects.
pub(crate) fn start(
    host: HtmlElement,
    shared: Shared,
    sig: TermSignals,
    path: String,
    container: Option<String>,
) {
    let term = Terminal::new(&options());
    let fit = XtermFitAddon::new();
    term.load_addon(&fit);
    term.open(&host);
    // WebGL when the browser has WebGL2, the DOM renderer otherwise.
    match XtermWebglAddon::new().and_then(|a| term.try_load_addon(&a)) {
        Ok(()) => {}
        Err(e) => web_sys::console::warn_2(&"WebGL renderer unavailable, using DOM:".into(), &e),
    }
    let _ = fit.fit();
    // Screen readers announce the way out (the hint below the terminal) with the terminal.
    if let Some(t) = term.textarea() {
        let _ = t.set_attribute("aria-describedby", "term-hint");
    }
    term.focus();
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__term".into(), &term);
    }
    let s = shared.clone();
    let on_data = Closure::new(move |data: String| send_bytes(&s, data.as_bytes()));
    term.on_data(&on_data);
    let on_key = key_handler(shared.clone(), term.clone());
    term.attach_custom_key_event_handler(&on_key);
    let s = shared.clone();
    let on_resize = Closure::<dyn FnMut()>::new(move || refit(&s));
    if let Some(w) = web_sys::window() {
        let _ = w.add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
    }
    *shared.borrow_mut() = Some(Live {
        last_size: (term.cols(), term.rows()),
        term,
        fit,
        ws: None,
        path,
        container,
        final_end: false,
        attempts: 0,
        expires_at: None,
        _on_data: on_data,
        _on_key: on_key,
        on_resize,
        ws_handlers: Vec::new(),
    });
    connect(&shared, sig);
}

/// Tears everything down (page cleanup).
pub(crate) fn stop(shared: &Shared) {
    let Some(live) = shared.borrow_mut().take() else {
        return;
    };
    if let Some(w) = web_sys::window() {
        let _ = w
            .remove_event_listener_with_callback("resize", live.on_resize.as_ref().unchecked_ref());
        let _ = js_sys::Reflect::delete_property(&w, &"__term".into());
    }
    if let Some(ws) = &live.ws {
        ws.set_onclose(None);
        let _ = ws.close();
    }
    live.term.dispose();
}

/// Starts over after the session ended (the user clicked "Reconnect").
pub(crate) fn reconnect(shared: &Shared, sig: TermSignals) {
    if let Some(live) = shared.borrow_mut().as_mut() {
        live.final_end = false;
        live.attempts = 0;
        live.term.reset();
        set_option(&live.term, "disableStdin", &JsValue::FALSE);
        set_option(&live.term, "cursorBlink", &JsValue::TRUE);
        live.term.focus();
    }
    sig.ended.set(None);
    connect(shared, sig);
}

/// The selected text, for the Copy button.
pub(crate) fn selection(shared: &Shared) -> String {
    shared
        .borrow()
        .as_ref()
        .map(|l| l.term.get_selection())
        .unwrap_or_default()
}

/// Sends text as input (the Paste button).
pub(crate) fn send_text(shared: &Shared, text: &str) {
    send_bytes(shared, text.as_bytes());
}

fn send_bytes(shared: &Shared, data: &[u8]) {
    if let Some(ws) = shared.borrow().as_ref().and_then(|l| l.ws.as_ref())
        && ws.ready_state() == WebSocket::OPEN
    {
        // `send` copies synchronously, so a view into wasm memory is fine here. Big pastes go
        // in pieces: the server refuses frames over `MAX_CLIENT_FRAME`.
        for piece in data.chunks(MAX_CLIENT_FRAME / 2) {
            let _ = ws.send_with_u8_array(piece);
        }
    }
}

fn send_resize(ws: &WebSocket, cols: u16, rows: u16) {
    if let Ok(text) = serde_json::to_string(&ClientMsg::Resize { cols, rows }) {
        let _ = ws.send_with_str(&text);
    }
}

/// Refits after the page's layout changed around the terminal (a notice or the end panel
/// appeared or went), once the DOM has been updated.
pub(crate) fn refit_soon(shared: &Shared) {
    let s = shared.clone();
    let cb = Closure::once_into_js(move || refit(&s));
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 0);
    }
}

fn refit(shared: &Shared) {
    let mut guard = shared.borrow_mut();
    let Some(live) = guard.as_mut() else { return };
    let _ = live.fit.fit();
    let size = (live.term.cols(), live.term.rows());
    if size != live.last_size {
        live.last_size = size;
        if let Some(ws) = live
            .ws
            .as_ref()
            .filter(|w| w.ready_state() == WebSocket::OPEN)
        {
            send_resize(ws, size.0, size.1);
        }
    }
}

/// Keys handled before xterm.js: Esc then Tab (or Shift+Tab) leaves the terminal (see the
/// module comment); after the end, Tab always leaves. Ctrl+Shift+C (or Ctrl+C with a
/// selection) copies; Ctrl+Shift+V pastes. Plain Ctrl+V is the browser's paste, which xterm
/// turns into input by itself. Returning `false` makes xterm.js ignore the event without
/// preventing the browser's default (for Tab: moving focus).
fn key_handler(
    shared: Shared,
    term: Terminal,
) -> Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool> {
    // The previous key was a plain Esc.
    let after_esc = Cell::new(false);
    Closure::new(move |ev: web_sys::KeyboardEvent| {
        if ev.type_() != "keydown" {
            return true;
        }
        let key = ev.key();
        let plain = !(ev.ctrl_key() || ev.alt_key() || ev.meta_key());
        if key == "Tab" && plain {
            let ended = shared.borrow().as_ref().is_none_or(|l| l.final_end);
            if after_esc.replace(false) || ended {
                return false;
            }
            return true;
        }
        // Modifiers alone (Shift before Shift+Tab) do not count as "the next key".
        if !matches!(
            key.as_str(),
            "Shift" | "Control" | "Alt" | "Meta" | "CapsLock"
        ) {
            after_esc.set(key == "Escape" && plain && !ev.shift_key());
        }
        if !(ev.ctrl_key() || ev.meta_key()) {
            return true;
        }
        let key = ev.key().to_lowercase();
        let selection = term.get_selection();
        if key == "c" && (ev.shift_key() || !selection.is_empty()) {
            copy(&selection);
            return false;
        }
        if key == "v" && ev.shift_key() {
            paste(shared.clone());
            return false;
        }
        true
    })
}

/// Writes `text` to the clipboard.
pub(crate) fn copy(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

/// Reads the clipboard and sends it as input.
pub(crate) fn paste(shared: Shared) {
    let Some(w) = web_sys::window() else { return };
    let promise = w.navigator().clipboard().read_text();
    wasm_bindgen_futures::spawn_local(async move {
        if let Ok(text) = wasm_bindgen_futures::JsFuture::from(promise).await
            && let Some(text) = text.as_string()
        {
            send_text(&shared, &text);
        }
    });
}

fn socket_url(live: &Live) -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let mut url = format!(
        "{scheme}://{}{}?cols={}&rows={}",
        loc.host().ok()?,
        live.path,
        live.term.cols(),
        live.term.rows()
    );
    if let Some(c) = &live.container {
        url.push_str("&container=");
        url.push_str(&String::from(js_sys::encode_uri_component(c)));
    }
    Some(url)
}

fn connect(shared: &Shared, sig: TermSignals) {
    let mut guard = shared.borrow_mut();
    let Some(live) = guard.as_mut() else { return };
    let Some(url) = socket_url(live) else { return };
    let Ok(ws) = WebSocket::new(&url) else {
        live.final_end = true;
        sig.status.set("ended");
        sig.ended.set(Some(Ended::new(
            None,
            "Cannot connect",
            "The terminal socket could not be opened.".into(),
        )));
        return;
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let s = shared.clone();
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        sig.status.set("connected");
        if let Some(l) = s.borrow_mut().as_mut() {
            l.attempts = 0;
        }
    });
    let s = shared.clone();
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Ok(ev) = ev.dyn_into::<MessageEvent>() else {
            return;
        };
        let data = ev.data();
        if let Some(buf) = data.dyn_ref::<ArrayBuffer>() {
            if let Some(l) = s.borrow().as_ref() {
                l.term.write_bytes(&Uint8Array::new(buf));
            }
        } else if let Some(text) = data.as_string()
            && let Ok(msg) = serde_json::from_str::<ServerMsg>(&text)
        {
            control(&s, sig, msg);
        }
    });
    let s = shared.clone();
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let code = ev
            .dyn_ref::<CloseEvent>()
            .map(web_sys::CloseEvent::code)
            .unwrap_or(0);
        closed(&s, sig, code);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    live.ws_handlers = vec![on_open, on_message, on_close];
    live.ws = Some(ws);
}

fn control(shared: &Shared, sig: TermSignals, msg: ServerMsg) {
    match msg {
        ServerMsg::Hello {
            pod,
            container,
            expires_at,
            recorded,
            dev_cluster,
            ..
        } => {
            if let Some(l) = shared.borrow_mut().as_mut() {
                l.expires_at = Some(expires_at);
                if l.attempts > 0 || sig.info.get_untracked().is_some() {
                    l.term.write_str(
                        "\r\n\x1b[2m[keyhole] reconnected: this is a new shell\x1b[0m\r\n",
                    );
                }
            }
            sig.info.set(Some((pod, container, expires_at)));
            sig.flags.set(Some((recorded, dev_cluster)));
            sig.notice.set(None);
        }
        ServerMsg::Notice { text, .. } => sig.notice.set(Some(text)),
        ServerMsg::Exit { .. } => {}
        ServerMsg::Closed { reason, message } => {
            if !reason.may_reconnect() {
                let title = match reason {
                    CloseReason::Expired => "The grant has expired",
                    CloseReason::Revoked => "The grant was revoked",
                    CloseReason::Idle => "Closed after inactivity",
                    CloseReason::Exited => "The shell exited",
                    CloseReason::LoggedOut => "You signed out",
                    CloseReason::SessionExpired => "Your sign-in has ended",
                    _ => "The session ended",
                };
                end(shared, sig, Ended::new(Some(reason), title, message));
            } else {
                sig.notice.set(Some(message));
            }
        }
    }
}

/// The session is over for good: freeze the terminal (output stays readable, selectable and
/// scrollable; input is off), clear notices, and tell the page.
fn end(shared: &Shared, sig: TermSignals, ended: Ended) {
    if let Some(l) = shared.borrow_mut().as_mut() {
        l.final_end = true;
        set_option(&l.term, "disableStdin", &JsValue::TRUE);
        set_option(&l.term, "cursorBlink", &JsValue::FALSE);
        // Hide the cursor (DECTCEM): nothing typed goes anywhere now. `reset` shows it again.
        l.term.write_str("\x1b[?25l");
    }
    sig.notice.set(None);
    sig.status.set("ended");
    sig.ended.set(Some(ended));
}

fn closed(shared: &Shared, sig: TermSignals, code: u16) {
    let (final_end, attempts, expired) = {
        let mut guard = shared.borrow_mut();
        let Some(l) = guard.as_mut() else { return };
        l.ws = None;
        let now = js_sys::Date::now() / 1000.0;
        let expired = l.expires_at.is_some_and(|e| (e as f64) <= now);
        l.attempts += 1;
        (l.final_end, l.attempts, expired)
    };
    if final_end {
        sig.status.set("ended");
        return;
    }
    if expired {
        end(
            shared,
            sig,
            Ended::new(
                Some(CloseReason::Expired),
                "The grant has expired",
                "The connection closed as the grant ended.".into(),
            ),
        );
        return;
    }
    if attempts > MAX_ATTEMPTS {
        end(
            shared,
            sig,
            Ended::new(
                None,
                "Connection lost",
                format!("The terminal could not be reconnected (close code {code})."),
            ),
        );
        return;
    }
    sig.status.set("reconnecting");
    let s = shared.clone();
    let retry = Closure::once_into_js(move || connect(&s, sig));
    let delay = 500 * (1 << attempts.min(4));
    if let Some(w) = web_sys::window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay);
    }
}
