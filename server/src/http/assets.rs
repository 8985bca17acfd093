//! The built web app (`dist/`): SPA fallback and the Content-Security-Policy.
//!
//! The fallback answers every path that is not a file in `dist/` with `index.html`, so the
//! client router can render it: with 200 for the app's own routes ([`APP_ROUTES`], deep links
//! keep working) and with 404 for anything else (the app then shows its not-found page, and
//! crawlers, link checkers and monitors see a real 404).
//!
//! Trunk injects one inline `<script type="module">` that loads the wasm. A
//! strict CSP forbids inline scripts, so instead of loosening it with
//! `'unsafe-inline'` we hash each inline script of `index.html` at startup and
//! allow exactly those hashes.

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

/// The web app found on disk, with the CSP that fits it.
#[derive(Debug, Clone)]
pub struct WebAssets {
    /// The `dist/` directory.
    pub dir: PathBuf,
    /// The full `Content-Security-Policy` header value.
    pub csp: String,
}

/// Why the web app cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// `dist/index.html` is missing or unreadable.
    #[error(
        "web app not found: cannot read {path}: {reason}. Build it with `make build` (or `npm run build:web`), or set dist_dir / KEYHOLE_DIST_DIR"
    )]
    Missing {
        /// The index file looked for.
        path: String,
        /// The OS error.
        reason: String,
    },
}

impl WebAssets {
    /// Checks `dir/index.html` and computes the CSP.
    pub fn load(dir: &Path) -> Result<WebAssets, AssetsError> {
        let index = dir.join("index.html");
        let html = std::fs::read_to_string(&index).map_err(|e| AssetsError::Missing {
            path: index.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(WebAssets {
            dir: dir.to_owned(),
            csp: csp_for(&html),
        })
    }
}

/// The client-side routes of the web app, as written in the router of `app/src/main.rs`
/// (`:name` is one non-empty path segment). A test keeps the two lists equal.
pub const APP_ROUTES: &[&str] = &[
    "/",
    "/login",
    "/pods",
    "/grants/:grant/pods",
    "/grants/:grant/pods/:ns/:pod",
    "/grants/:grant/pods/:ns/:pod/logs",
    "/requests",
    "/requests/:id",
    "/approvals",
    "/sessions",
    "/admin/policy",
];

/// `true` when `path` (without the query) is one of [`APP_ROUTES`]. One trailing slash is
/// ignored, as the client router ignores it.
pub fn is_app_route(path: &str) -> bool {
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() && !p.ends_with('/') => p,
        _ => path,
    };
    APP_ROUTES.iter().any(|route| route_matches(route, path))
}

fn route_matches(route: &str, path: &str) -> bool {
    let mut want = route.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// The CSP for a given `index.html`.
///
/// - `script-src 'self' 'wasm-unsafe-eval'` + hashes: our JS files, the wasm
///   module, and Trunk's inline loader — nothing else.
/// - `style-src 'unsafe-inline'`: xterm.js writes `<style>` elements for its
///   themes and Leptos sets `style` attributes; styles cannot run code.
/// - `connect-src 'self'`: the API, Server-Sent Events and the terminal
///   WebSocket are same-origin (CSP 'self' covers ws: and wss: of our host).
/// - `frame-ancestors 'none'`: no clickjacking.
pub fn csp_for(html: &str) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for script in inline_scripts(html) {
        let digest = Sha256::digest(script.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        script_src.push_str(&format!(" 'sha256-{b64}'"));
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let body = &after[body_start..body_start + close];
        if !tag.contains(" src=") && !body.trim().is_empty() {
            out.push(body);
        }
        rest = &after[body_start + close + "</script>".len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<script src="/x.js"></script><script type="module">init()</script>"#;
        assert_eq!(inline_scripts(html), vec!["init()"]);
        let csp = csp_for(html);
        // sha256("init()") in base64
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
    }

    #[test]
    fn app_routes_and_unknown_paths() {
        for known in [
            "/",
            "/login",
            "/requests",
            "/requests/",
            "/requests/01HZX",
            "/grants/g1/pods",
            "/grants/g1/pods/payments/ledger-0",
            "/grants/g1/pods/payments/ledger-0/logs",
            "/admin/policy",
        ] {
            assert!(is_app_route(known), "{known}");
        }
        for unknown in [
            "/no/such/page",
            "/requests/1/2",
            "/requests//",
            "/grants//pods",
            "/grants/g1/pods/payments",
            "/grants/g1/pods/payments/ledger-0/shell",
            "/admin",
            "/login/x",
            "//",
            "/api",
        ] {
            assert!(!is_app_route(unknown), "{unknown}");
        }
    }

    /// [`APP_ROUTES`] is exactly the set of `path!(…)` routes of the app's router.
    #[test]
    fn app_routes_match_the_router() {
        let main = include_str!("../../../app/src/main.rs");
        let mut in_router: Vec<String> = main
            .split("path!(\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
            .collect();
        in_router.sort();
        let mut here: Vec<String> = APP_ROUTES.iter().map(|r| (*r).to_owned()).collect();
        here.sort();
        assert_eq!(
            in_router, here,
            "APP_ROUTES in server/src/http/assets.rs must list the routes of app/src/main.rs"
        );
    }

    #[test]
    fn missing_dist_says_how_to_build() {
        let err = WebAssets::load(Path::new("/nonexistent/dist"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("make build"), "{err}");
    }
}
