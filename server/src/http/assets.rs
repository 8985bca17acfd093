//! The built web app (`dist/`): SPA fallback and the Content-Security-Policy.
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
    fn missing_dist_says_how_to_build() {
        let err = WebAssets::load(Path::new("/nonexistent/dist"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("make build"), "{err}");
    }
}
