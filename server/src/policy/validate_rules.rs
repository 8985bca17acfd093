//! Validation of command rules and webhooks: the parts of the file besides profiles and roles.

use super::model::{RawCommandRule, RawWebhook};
use super::rules::{CommandRule, compile_glob, compile_pattern};
use super::span::At;
use super::types::{Webhook, WebhookUrl};
use super::validate::Findings;

/// Validates one command rule: something to match on, flags that look like flags, globs and a
/// pattern that compile. `None` if it has errors (they are in `out`).
pub(crate) fn command_rule(r: &RawCommandRule, out: &mut Findings) -> Option<CommandRule> {
    let name = r.name.as_str();
    let field = format!("command rule `{name}`");
    if name.trim().is_empty() {
        out.error(r.name.pos(), "command rule names must not be empty");
    }
    if r.programs.is_empty() && r.paths.is_empty() && r.pattern.is_none() {
        out.error(
            r.name.pos(),
            format!("{field} needs at least one of programs, paths or pattern"),
        );
    }
    let mut ok = true;
    let mut globs = Vec::new();
    for p in &r.paths {
        match compile_glob(p) {
            Ok(g) => globs.push(((**p).clone(), g)),
            Err(e) => {
                out.error(p.pos(), format!("{field}: {e}"));
                ok = false;
            }
        }
    }
    for f in &r.flags {
        if !f.starts_with('-') || f.as_str() == "-" || f.as_str() == "--" {
            out.error(
                f.pos(),
                format!("{field}: flag `{}` must start with `-` or `--`", **f),
            );
            ok = false;
        }
    }
    let pattern = match &r.pattern {
        Some(p) => match compile_pattern(p) {
            Ok(re) => Some(re),
            Err(e) => {
                out.error(p.pos(), format!("{field}: {e}"));
                ok = false;
                None
            }
        },
        None => None,
    };
    let message = r
        .message
        .clone()
        .unwrap_or_else(|| format!("blocked by command rule `{name}`"));
    let flags = r.flags.iter().map(|f| (**f).clone()).collect();
    if !ok {
        return None;
    }
    CommandRule::new(
        name.to_owned(),
        r.action,
        r.programs.clone(),
        flags,
        globs,
        pattern,
        message,
    )
    .inspect_err(|e| out.error(r.name.pos(), format!("{field}: {e}")))
    .ok()
}

/// Validates one webhook: exactly one URL source, an http(s) URL, at least one event.
pub(crate) fn webhook(w: &RawWebhook, out: &mut Findings) -> Option<Webhook> {
    if w.events.is_empty() {
        out.error(
            w.events.pos(),
            "webhook events must list at least one event",
        );
    }
    let url = match (&w.url, &w.url_env) {
        (Some(u), None) => match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                WebhookUrl::Literal(parsed)
            }
            Ok(_) => {
                out.error(u.pos(), "webhook url must be http or https");
                return None;
            }
            Err(e) => {
                out.error(u.pos(), format!("webhook url does not parse: {e}"));
                return None;
            }
        },
        (None, Some(var)) if !var.is_empty() => WebhookUrl::Env((**var).clone()),
        _ => {
            let pos = (w.url_env.as_ref())
                .or(w.url.as_ref())
                .map_or(w.events.pos(), At::pos);
            out.error(pos, "a webhook needs exactly one of `url` and `url_env`");
            return None;
        }
    };
    (!w.events.is_empty()).then(|| Webhook {
        url,
        format: w.format,
        events: (*w.events).clone(),
    })
}
