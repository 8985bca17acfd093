//! Webhook notifications: on new requests and decisions, POST a JSON body (Keyhole's own, or
//! Slack-compatible `{"text": …}`) with a link to the request.
//!
//! Sending never blocks an API call: [`Notifier::notify`] puts the notice on a bounded queue
//! (a full queue drops it, logged) and a background task delivers it, each delivery in its own
//! task with retries and exponential backoff. Redirects are not followed: a webhook URL that
//! redirects could otherwise be turned into a request to an internal address (SSRF).

use std::time::Duration;

use keyhole_protocol::access::{AccessEvent, AccessEventKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::policy::{PolicyHandle, WebhookEvent, WebhookFormat, WebhookUrl};

/// Deliveries waiting to be sent; beyond this, notices are dropped (and logged).
const QUEUE: usize = 1024;
/// Attempts per delivery (the first plus retries).
const ATTEMPTS: u32 = 5;
/// The first retry waits this long; each later one twice as long.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Per-attempt timeout.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What happened, with what a human reader of the notification needs.
#[derive(Debug, Clone)]
pub(super) struct Notice {
    /// The live event.
    pub event: AccessEvent,
    /// Requester's display name.
    pub requester: String,
    /// The request's reason.
    pub reason: String,
    /// Requested duration.
    pub duration_seconds: i64,
    /// Who acted and their comment or reason, for decisions and revocations.
    pub by_and_comment: Option<(String, String)>,
}

/// The sending side; cheap to hold.
pub(super) struct Notifier {
    tx: mpsc::Sender<Notice>,
}

impl Notifier {
    /// Starts the delivery task; it stops on `shutdown`.
    pub(super) fn spawn(
        policy: PolicyHandle,
        public_url: url::Url,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(deliver_all(rx, policy, public_url, shutdown));
        Notifier { tx }
    }

    /// Queues a notice; never waits.
    pub(super) fn notify(&self, notice: Notice) {
        if let Err(e) = self.tx.try_send(notice) {
            tracing::warn!(error = %e, "webhook queue full or closed; notification dropped");
        }
    }
}

fn webhook_event(kind: AccessEventKind) -> Option<WebhookEvent> {
    Some(match kind {
        AccessEventKind::RequestCreated => WebhookEvent::RequestCreated,
        AccessEventKind::RequestApproved => WebhookEvent::RequestApproved,
        AccessEventKind::RequestDenied => WebhookEvent::RequestDenied,
        AccessEventKind::RequestCancelled => WebhookEvent::RequestCancelled,
        AccessEventKind::RequestExpired => WebhookEvent::RequestExpired,
        AccessEventKind::GrantRevoked => WebhookEvent::GrantRevoked,
        AccessEventKind::GrantExpired => WebhookEvent::GrantExpired,
        AccessEventKind::RequestReviewed => return None,
    })
}

async fn deliver_all(
    mut rx: mpsc::Receiver<Notice>,
    policy: PolicyHandle,
    public_url: url::Url,
    shutdown: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; notifications are off");
            return;
        }
    };
    loop {
        let notice = tokio::select! {
            _ = shutdown.cancelled() => return,
            n = rx.recv() => match n { Some(n) => n, None => return },
        };
        let Some(kind) = webhook_event(notice.event.kind) else {
            continue;
        };
        let link = public_url
            .join(&format!("requests/{}", notice.event.request_id))
            .map(|u| u.to_string())
            .unwrap_or_default();
        for hook in policy.current().webhooks() {
            if !hook.events.contains(&kind) {
                continue;
            }
            let url = match &hook.url {
                WebhookUrl::Literal(u) => u.to_string(),
                WebhookUrl::Env(var) => match std::env::var(var) {
                    Ok(u) => u,
                    Err(_) => {
                        tracing::warn!(var, "webhook URL variable is not set; skipped");
                        continue;
                    }
                },
            };
            let body = body(hook.format, kind, &notice, &link);
            tokio::spawn(deliver(client.clone(), url, body));
        }
    }
}

/// One delivery with retries. The URL is not logged: it may carry a secret token.
async fn deliver(client: reqwest::Client, url: String, body: Value) {
    let mut wait = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        match client.post(&url).json(&body).send().await {
            Ok(res) if res.status().is_success() => return,
            Ok(res) => tracing::warn!(attempt, status = %res.status(), "webhook refused"),
            Err(e) => tracing::warn!(attempt, error = %e.without_url(), "webhook failed"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    tracing::error!(attempts = ATTEMPTS, "webhook delivery gave up");
}

/// The body for `format`.
fn body(format: WebhookFormat, kind: WebhookEvent, n: &Notice, link: &str) -> Value {
    let kind_name = n.event.kind.as_str();
    match format {
        WebhookFormat::Generic => json!({
            "event": kind_name,
            "request": {
                "id": n.event.request_id,
                "profile": n.event.profile,
                "requester": n.requester,
                "requester_subject": n.event.requester,
                "reason": n.reason,
                "duration_seconds": n.duration_seconds,
                "state": n.event.state,
            },
            "grant_id": n.event.grant_id,
            "by": n.by_and_comment.as_ref().map(|b| &b.0),
            "comment": n.by_and_comment.as_ref().map(|b| &b.1),
            "link": link,
            "at": n.event.at,
        }),
        WebhookFormat::Slack => {
            let what = match kind {
                WebhookEvent::RequestCreated => "requested",
                WebhookEvent::RequestApproved => "was approved for",
                WebhookEvent::RequestDenied => "was denied",
                WebhookEvent::RequestCancelled => "cancelled a request for",
                WebhookEvent::RequestExpired => "'s request expired for",
                WebhookEvent::GrantRevoked => "'s grant was revoked for",
                WebhookEvent::GrantExpired => "'s grant ended for",
            };
            // Everything a user (or the IdP) wrote is escaped: no links, no mentions, no
            // `<!channel>` pings smuggled in through a reason or a display name.
            let mut text = format!(
                "*{}* {what} `{}` ({} min): {}",
                slack_escape(&n.requester),
                slack_escape(&n.event.profile),
                n.duration_seconds / 60,
                slack_escape(&n.reason)
            );
            if let Some((_, c)) = n.by_and_comment.as_ref().filter(|b| !b.1.is_empty()) {
                // Every line quoted, so a comment cannot end the quote and pose as Keyhole.
                for line in slack_escape(c).lines() {
                    text.push_str(&format!("\n> {line}"));
                }
            }
            text.push_str(&format!("\n<{link}|Open in Keyhole>"));
            json!({ "text": text })
        }
    }
}

/// Slack's broadcast mentions, written as plain words (`link_names`); `<!here>` and the like are
/// already harmless once `<` is escaped.
const MENTIONS: [&str; 4] = ["channel", "here", "everyone", "group"];

/// Makes user-supplied text inert in a Slack `mrkdwn` message: `&`, `<` and `>` become
/// `&amp;`, `&lt;` and `&gt;` (so no `<link|…>`, `<@user>` or `<!channel>` control sequence
/// survives), and a zero-width space after the `@` of `@channel`, `@here`, `@everyone` and
/// `@group` keeps them from notifying anyone while they read the same.
pub(super) fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => {
                out.push('@');
                let rest = &text[i + 1..];
                if MENTIONS.iter().any(|m| {
                    rest.get(..m.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(m))
                }) {
                    out.push('\u{200B}');
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use keyhole_protocol::access::{AccessEvent, AccessEventKind, RequestState};

    use super::*;

    #[test]
    fn mrkdwn_control_characters_are_escaped() {
        assert_eq!(slack_escape("a & b < c > d"), "a &amp; b &lt; c &gt; d");
        assert_eq!(
            slack_escape("<https://evil.test|Approve here>"),
            "&lt;https://evil.test|Approve here&gt;"
        );
        assert_eq!(slack_escape("<@U123> <#C1>"), "&lt;@U123&gt; &lt;#C1&gt;");
        // Already-escaped text is escaped again: what the user typed is what Slack shows.
        assert_eq!(slack_escape("&lt;"), "&amp;lt;");
        assert_eq!(slack_escape("plain text, ünïcode"), "plain text, ünïcode");
    }

    #[test]
    fn mentions_are_neutralised() {
        for m in [
            "<!channel>",
            "<!here>",
            "<!everyone>",
            "<!subteam^S1>",
            "<!date^1|x>",
        ] {
            let out = slack_escape(m);
            assert!(!out.contains('<') && !out.contains('>'), "{m}: {out}");
        }
        for m in [
            "@channel",
            "@here",
            "@everyone",
            "@Channel",
            "@HERE",
            "ping @everyone!",
        ] {
            let out = slack_escape(m);
            assert!(out.contains("@\u{200B}"), "{m}: {out:?}");
            let lower = out.to_lowercase();
            for word in ["@channel", "@here", "@everyone"] {
                assert!(!lower.contains(word), "{m}: {out:?}");
            }
        }
        // Other @s (e-mail addresses) stay as they are.
        assert_eq!(slack_escape("alice@example.com"), "alice@example.com");
    }

    fn notice(requester: &str, reason: &str, comment: Option<&str>) -> Notice {
        Notice {
            event: AccessEvent {
                kind: AccessEventKind::RequestDenied,
                request_id: "r1".into(),
                grant_id: None,
                profile: "payments-debug".into(),
                requester: "sub".into(),
                state: RequestState::Denied,
                at: 0,
            },
            requester: requester.into(),
            reason: reason.into(),
            duration_seconds: 600,
            by_and_comment: comment.map(|c| ("bob".into(), c.into())),
        }
    }

    #[test]
    fn slack_bodies_escape_every_user_supplied_string() {
        let n = notice(
            "Mallory <!channel>",
            "urgent @here <https://evil.test|click> & more",
            Some("no\n<!everyone> line two\n@channel"),
        );
        let body = body(
            WebhookFormat::Slack,
            WebhookEvent::RequestDenied,
            &n,
            "https://keyhole.test/requests/r1",
        );
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("*Mallory &lt;!channel&gt;* was denied `payments-debug` (10 min): urgent @\u{200B}here &lt;https://evil.test|click&gt; &amp; more"), "{text}");
        // Only Keyhole's own link is a link.
        assert_eq!(text.matches('<').count(), 1, "{text}");
        assert!(
            text.ends_with("\n<https://keyhole.test/requests/r1|Open in Keyhole>"),
            "{text}"
        );
        // Every comment line stays inside the quote.
        assert!(
            text.contains("\n> no\n> &lt;!everyone&gt; line two\n> @\u{200B}channel\n<"),
            "{text}"
        );
        // The generic format is JSON: left as written.
        let generic = body_generic(&n);
        assert_eq!(generic["request"]["reason"], n.reason);
    }

    fn body_generic(n: &Notice) -> Value {
        body(WebhookFormat::Generic, WebhookEvent::RequestDenied, n, "l")
    }
}
