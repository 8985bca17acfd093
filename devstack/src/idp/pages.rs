//! The issuer's HTML pages: login, error and signed-out. Self-contained (no
//! fonts, scripts or images from anywhere) and served with a strict
//! `Content-Security-Policy`.
//!
//! The login page is a contract with tests that drive it with a plain HTTP
//! client, so its shape is stable: every form posts to `/login` and carries a
//! hidden `interaction` field; each click-to-login user is a submit button
//! `name="username" value="<username>"`; users with a password use the form
//! with `#username`, `#password` and `#login-submit`; `#cancel` posts
//! `action=cancel`; a failed login answers 401 with `#error`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::IdpUser;
use super::state::Shared;

/// Shared styling, inlined (the CSP allows inline styles and nothing else).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1d232a}\
.banner{background:#fff3cd;border:1px solid #e0b000;padding:.5rem .75rem;border-radius:4px;font-size:.9rem}\
button{display:block;width:100%;text-align:left;margin:.5rem 0;padding:.6rem .8rem;font:inherit;border:1px solid #9aa4ae;border-radius:4px;background:#f6f8fa;cursor:pointer}\
button small{display:block;color:#57606a}\
label{display:block;margin-top:.6rem}input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}\
#error{color:#b00020;font-weight:600}.cancel button{text-align:center;background:none}";

/// The `Content-Security-Policy` for every page: nothing may load, styles are
/// inline only, and forms may post to the issuer and (because a successful
/// login POST answers with a redirect, which `form-action` also governs) to
/// the origins of the registered redirect URIs.
pub(crate) fn csp(redirect_origins: &[String]) -> String {
    let mut form_action = String::from("'self'");
    for origin in redirect_origins {
        form_action.push(' ');
        form_action.push_str(origin);
    }
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Wraps `body` in a page and adds the security headers.
fn page(shared: &Shared, status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <p class=\"banner\" id=\"dev-banner\"><strong>Development only.</strong> \
         Keyhole devstack identity provider: anyone can sign in as a demo user. \
         Never use it in production.</p>{body}</body></html>",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&shared.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    // Login pages carry a one-time interaction id: never cache them, never
    // frame them, never leak the URL (it holds state and nonce) as a referrer.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The login page for one interaction, with an optional error message.
pub(crate) fn login(
    shared: &Shared,
    status: StatusCode,
    interaction: &str,
    client_id: &str,
    error: Option<&str>,
) -> Response {
    let hidden = format!(
        "<input type=\"hidden\" name=\"interaction\" value=\"{}\">",
        escape(interaction)
    );
    let mut body = format!("<h1>Sign in to {}</h1>", escape(client_id));
    if let Some(error) = error {
        body.push_str(&format!(
            "<p id=\"error\" role=\"alert\">{}</p>",
            escape(error)
        ));
    }
    let click_users: Vec<&IdpUser> = shared
        .users
        .iter()
        .filter(|u| u.password.is_none())
        .collect();
    if !click_users.is_empty() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/login\" id=\"demo-users\">{hidden}<p>Choose a demo user:</p>"
        ));
        for user in click_users {
            body.push_str(&format!(
                "<button type=\"submit\" name=\"username\" value=\"{u}\" id=\"user-{u}\">{name}\
                 <small>{email} &middot; {groups}</small></button>",
                u = escape(&user.username),
                name = escape(&user.name),
                email = escape(&user.email),
                groups = escape(&user.groups.join(", ")),
            ));
        }
        body.push_str("</form>");
    }
    if shared.users.iter().any(|u| u.password.is_some()) {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/login\" id=\"password-login\">{hidden}\
             <label for=\"username\">Username</label>\
             <input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
             <label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
             <button type=\"submit\" id=\"login-submit\">Sign in</button></form>"
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/login\" class=\"cancel\">{hidden}\
         <button type=\"submit\" name=\"action\" value=\"cancel\" id=\"cancel\">Cancel</button></form>"
    ));
    page(shared, status, "Sign in (development IdP)", &body)
}

/// An error page. Used where redirecting back would be unsafe (unknown client,
/// unregistered redirect URI) or impossible.
pub(crate) fn error(
    shared: &Shared,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    let body = format!(
        "<h1>Sign-in error</h1><p id=\"error\" role=\"alert\"><code>{}</code>: {}</p>",
        escape(error),
        escape(description)
    );
    page(shared, status, "Sign-in error (development IdP)", &body)
}

/// Shown after logout when there is nowhere to send the browser back to.
pub(crate) fn signed_out(shared: &Shared) -> Response {
    page(
        shared,
        StatusCode::OK,
        "Signed out (development IdP)",
        "<h1 id=\"signed-out\">You are signed out</h1><p>You can close this tab.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }

    #[test]
    fn csp_lists_redirect_origins() {
        let csp = csp(&["http://127.0.0.1:8080".to_owned()]);
        assert!(csp.contains("form-action 'self' http://127.0.0.1:8080;"));
        assert!(csp.starts_with("default-src 'none'"));
    }
}
