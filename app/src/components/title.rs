//! Page titles: every route names its place in `document.title`, e.g. "Requests — Keyhole",
//! so tabs, history and screen readers say where the user is.

/// What every title ends with.
const PRODUCT: &str = "Keyhole";

/// Sets `document.title` to "`place` — Keyhole" ("Keyhole" alone for an empty `place`).
///
/// The router (`main.rs`) calls it for each route as the route renders; a page calls it again
/// once it knows more, e.g. `set_title(&format!("Request {profile}"))` after loading, or
/// `set_title("ledger-0 · 24m left")` on every tick of a countdown.
pub(crate) fn set_title(place: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&title_text(place));
    }
}

/// The full title for `place`.
fn title_text(place: &str) -> String {
    let place = place.trim();
    if place.is_empty() {
        PRODUCT.to_owned()
    } else {
        format!("{place} — {PRODUCT}")
    }
}

#[cfg(test)]
mod tests {
    use super::title_text;

    #[test]
    fn names_the_place_then_the_product() {
        assert_eq!(title_text("Requests"), "Requests — Keyhole");
        assert_eq!(title_text(" "), "Keyhole");
    }
}
