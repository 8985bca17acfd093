//! wasm-bindgen binding to xterm.js 6 and its fit and WebGL addons, loaded by `index.html` as
//! UMD globals (`Terminal`, `FitAddon.FitAddon`, `WebglAddon.WebglAddon`).
//!
//! Two traps (docs/development.md, Pitfalls 4 and 5): extern types need `#[derive(Clone)]`,
//! and bytes must be handed to `write` as a JS-owned `Uint8Array` (xterm parses asynchronously,
//! so a view into wasm memory would be overwritten before it is read).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// An xterm.js terminal.
    #[derive(Clone, Debug)]
    pub type Terminal;

    /// `new Terminal(options)`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: &JsValue) -> Terminal;

    /// Attaches the terminal to `parent`.
    #[wasm_bindgen(method)]
    pub fn open(this: &Terminal, parent: &web_sys::HtmlElement);

    /// Writes output bytes.
    #[wasm_bindgen(method, js_name = write)]
    pub fn write_bytes(this: &Terminal, data: &js_sys::Uint8Array);

    /// Writes a string (our own notices).
    #[wasm_bindgen(method, js_name = write)]
    pub fn write_str(this: &Terminal, data: &str);

    /// Registers the input callback (keystrokes, pastes); returns a disposable.
    #[wasm_bindgen(method, js_name = onData)]
    pub fn on_data(this: &Terminal, cb: &Closure<dyn FnMut(String)>) -> JsValue;

    /// Intercepts key events (return `false` to stop xterm handling one).
    #[wasm_bindgen(method, js_name = attachCustomKeyEventHandler)]
    pub fn attach_custom_key_event_handler(
        this: &Terminal,
        cb: &Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool>,
    );

    /// Loads an addon.
    #[wasm_bindgen(method, js_name = loadAddon)]
    pub fn load_addon(this: &Terminal, addon: &JsValue);

    /// Loads an addon that may throw (WebGL without WebGL2).
    #[wasm_bindgen(method, js_name = loadAddon, catch)]
    pub fn try_load_addon(this: &Terminal, addon: &JsValue) -> Result<(), JsValue>;

    /// Focuses the terminal.
    #[wasm_bindgen(method)]
    pub fn focus(this: &Terminal);

    /// Clears the screen and scrollback.
    #[wasm_bindgen(method)]
    pub fn reset(this: &Terminal);

    /// Frees everything.
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Terminal);

    /// The selected text.
    #[wasm_bindgen(method, js_name = getSelection)]
    pub fn get_selection(this: &Terminal) -> String;

    /// The live options object (assigning a property changes the option).
    #[wasm_bindgen(method, getter)]
    pub fn options(this: &Terminal) -> js_sys::Object;

    /// The terminal's root element (`.xterm`), once opened.
    #[wasm_bindgen(method, getter)]
    pub fn element(this: &Terminal) -> Option<web_sys::HtmlElement>;

    /// The hidden textarea that receives keystrokes (focus lives here).
    #[wasm_bindgen(method, getter)]
    pub fn textarea(this: &Terminal) -> Option<web_sys::HtmlElement>;

    /// Current columns.
    #[wasm_bindgen(method, getter)]
    pub fn cols(this: &Terminal) -> u16;

    /// Current rows.
    #[wasm_bindgen(method, getter)]
    pub fn rows(this: &Terminal) -> u16;

    /// The fit addon (sizes the terminal to its container).
    #[wasm_bindgen(js_namespace = FitAddon, js_name = FitAddon)]
    #[derive(Clone, Debug)]
    pub type XtermFitAddon;

    /// `new FitAddon.FitAddon()`.
    #[wasm_bindgen(constructor, js_namespace = FitAddon, js_class = FitAddon)]
    pub fn new() -> XtermFitAddon;

    /// Resizes the terminal to fill its element.
    #[wasm_bindgen(method, catch)]
    pub fn fit(this: &XtermFitAddon) -> Result<(), JsValue>;

    /// The WebGL renderer addon.
    #[wasm_bindgen(js_namespace = WebglAddon, js_name = WebglAddon)]
    #[derive(Clone, Debug)]
    pub type XtermWebglAddon;

    /// `new WebglAddon.WebglAddon()`; throws without WebGL2.
    #[wasm_bindgen(constructor, js_namespace = WebglAddon, js_class = WebglAddon, catch)]
    pub fn new() -> Result<XtermWebglAddon, JsValue>;
}

/// Sets one option of a live terminal (e.g. `disableStdin`, `cursorBlink`).
pub(crate) fn set_option(term: &Terminal, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(&term.options(), &JsValue::from_str(key), value);
}

/// Terminal options: our theme and font, a scrollback that stays modest in memory.
pub(crate) fn options() -> JsValue {
    let opts = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&opts, &JsValue::from_str(k), &v);
    };
    set("cursorBlink", JsValue::TRUE);
    set("scrollback", JsValue::from_f64(5000.0));
    set("fontSize", JsValue::from_f64(14.0));
    set(
        "fontFamily",
        JsValue::from_str("ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"),
    );
    let theme = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&theme, &"background".into(), &"#0b0f14".into());
    let _ = js_sys::Reflect::set(&theme, &"foreground".into(), &"#d7dde5".into());
    set("theme", theme.into());
    opts.into()
}
