//! The log subscriber: `tracing` to stderr, as text or as JSON lines (`--log-format`,
//! `log_format`), filtered by `KEYHOLE_LOG`.
//!
//! Every line carries the spans it was logged in: `request` (method, route template,
//! `request_id`, the signed-in `user`) around each HTTP request (`http::observe`), and
//! `terminal` (`session_id`, `user`, `grant_id`, `profile`, `namespace`, `pod`, `container`)
//! around everything a terminal session does. In JSON, `span` is the innermost span and
//! `spans` the whole list, so `jq 'select(any(.spans[]?; .session_id == "…"))'` finds every
//! line of one terminal session. Nothing logs headers, cookies or tokens.

use std::io::IsTerminal as _;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// The filter when `KEYHOLE_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn,sqlx=warn";

/// Installs the process-wide subscriber (stderr) for `keyhole serve`.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("KEYHOLE_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only on a terminal: escape codes in a file would break `grep session_id=…`.
    let ansi = std::io::stderr().is_terminal();
    // `try_init` also routes the `log` records of dependencies into the subscriber.
    if build(format, filter, std::io::stderr, ansi)
        .try_init()
        .is_err()
    {
        eprintln!("keyhole: a log subscriber was already installed");
    }
}

/// The subscriber `init` installs, writing to `writer` without colours (tests capture the lines
/// with it).
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(format, filter, writer, false)
}

fn build<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Human => Box::new(builder.finish()),
    }
}
